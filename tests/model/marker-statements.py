#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Prints, for each [M:<step>] marker in the files named, a fingerprint of
the code it marks: "<marker> <file> <sha1, 10 hex> <statement>", one line
each (the file as named).

The marked code is the code on the marker's line, or the first code after
the comment that holds the marker, and on to the end of its paragraph (a
blank line, the next marker, or the end of the enclosing block; at most 30
lines), comments removed and whitespace collapsed. tests/model/markers.sum
keeps the fingerprints the model was last reviewed against, so that an edit
under a marker (an exchange made a load and a store, a store-release made
plain) turns check-markers.sh red until someone looks at the model step.
"""
import hashlib, re, sys

MARK = re.compile(r"\[M:[a-z0-9-]+\]")


def strip_comments(line, state):
    """Returns the code part of line; state[0] is True inside a block comment."""
    out = ""
    i = 0
    while i < len(line):
        if state[0]:
            j = line.find("*/", i)
            if j < 0:
                return out
            state[0] = False
            i = j + 2
        else:
            j = line.find("/*", i)
            k = line.find("//", i)
            if k >= 0 and (j < 0 or k < j):
                return out + line[i:k]
            if j < 0:
                return out + line[i:]
            out += line[i:j]
            state[0] = True
            i = j + 2
    return out


def statements(path):
    lines = open(path).read().split("\n")
    # code part of every line, with the comment state carried along
    state = [False]
    code = []
    for ln in lines:
        code.append(strip_comments(ln, state).strip())
    res = []
    for n, ln in enumerate(lines):
        for m in MARK.findall(ln):
            # the marked statement: the code on the marker's line, if any,
            # then on until a line ends it (";", or a block's closing brace)
            parts, depth, i = [], 0, n
            if not code[n]:
                i = n + 1
                while i < len(lines) and not code[i]:
                    i += 1
            while i < len(lines) and i < n + 30:
                c = code[i]
                if depth == 0 and parts and (not lines[i].strip() or
                                             (i > n and MARK.search(lines[i]))):
                    break  # a blank line or the next step ends the paragraph
                if c:
                    d = depth + c.count("{") - c.count("}")
                    if d < 0:
                        break  # the enclosing block ends
                    parts.append(c)
                    depth = d
                i += 1
            stmt = " ".join(" ".join(parts).split())
            res.append((m, hashlib.sha1(stmt.encode()).hexdigest()[:10], stmt))
    return res


for p in sys.argv[1:]:
    for m, h, stmt in statements(p):
        print(m, p, h, stmt)
