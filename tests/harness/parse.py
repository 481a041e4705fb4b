# SPDX-License-Identifier: GPL-2.0-only
"""Reading what tests print: TAP and KTAP documents, the sections of a
guest's results port (tests/harness/init.sh frames them), console lines."""
import re

from common import read_lines

RESULT_RE = re.compile(r"^(not ok|ok)\b(?:\s+(\d+))?(?:\s*-?\s*([^#]*?))?\s*(?:#\s*(.*))?$")
PLAN_RE = re.compile(r"^1\.\.(\d+)\b")
# Document furniture, not a test's own output.
HEADER_RE = re.compile(r"^(K?TAP version \d+|1\.\.\d+\b|# Subtest: |# Starting \d+ tests)")
# "[   12.345678] " and, with CONFIG_PRINTK_CALLER, "[T123] " after it.
STAMP_RE = re.compile(r"^\[\s*(\d+\.\d+)\]\s?(?:\[\s*[CT]\d+\]\s?)?")


def tap_problems(plan, results, bail):
    """What is wrong with a TAP document as a whole (not its tests)."""
    problems = []
    if plan is None:
        problems.append("no TAP plan")
    elif len(results) < plan:
        problems.append("ended early: %d of %d results" % (len(results), plan))
    elif len(results) > plan:
        problems.append("%d results for a plan of %d" % (len(results), plan))
    # Each number once, 1..n in order: a test that printed twice, or
    # results pasted from elsewhere, must not pass for one that never ran.
    nums = [r["num"] for r in results]
    if nums != list(range(1, len(nums) + 1)):
        problems.append("result numbers out of sequence: %s" % (
            ", ".join(str(n) for n in nums[:20]) + (" ..." if len(nums) > 20 else "")))
    if bail:
        problems.append(bail)
    return problems


def indent_of(line):
    return len(line) - len(line.lstrip(" "))


def tap_level(lines, level):
    """Plan and results at one indentation level of a (K)TAP document.

    Returns (plan, results, bail) where results are dicts with num, name,
    status (pass/fail/skip), directive and detail (the lines that came
    before the result line since the previous result of this level: the
    test's own diagnostics and nested subtests)."""
    plan = None
    results = []
    pending = []
    bail = None
    for raw in lines:
        line = raw.rstrip()
        if not line.strip():
            continue
        ind = indent_of(line)
        text = line.strip()
        if ind == level and text.startswith("Bail out!"):
            bail = text
        if ind == level and plan is None and PLAN_RE.match(text):
            plan = int(PLAN_RE.match(text).group(1))
            continue
        m = RESULT_RE.match(text) if ind == level else None
        if m:
            directive = (m.group(4) or "").strip()
            if m.group(1) == "not ok":
                status = "fail"
            elif directive.upper().startswith("SKIP"):
                status = "skip"
            else:
                status = "pass"
            results.append({
                "num": int(m.group(2)) if m.group(2) else len(results) + 1,
                "name": (m.group(3) or "").strip(),
                "status": status, "directive": directive,
                "detail": "\n".join(pending)})
            pending = []
        elif ind >= level and not HEADER_RE.match(text):
            pending.append(line)
    return plan, results, bail


def strip_stamp(line):
    return STAMP_RE.sub("", line.rstrip("\r\n"), count=1)


def stamp_of(line):
    """The printk time of a console line in seconds, or None."""
    m = STAMP_RE.match(line)
    return float(m.group(1)) if m else None


MARK = "@@MPMCRING"


def looks_like_marker(line):
    return line.startswith(MARK + " ")


def last_line_cut(path):
    """Whether the file's last line has no line end: cut short, when qemu
    was killed while the guest was writing it. Line ends as read_lines()
    splits them (str.splitlines: \\f, \\v, \\x85... end a line too)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 4))
            end = f.read()
    except OSError:
        return False
    # The last character, decoded as read_lines() decodes it (a UTF-8
    # character is at most 4 bytes).
    last = end.decode("utf-8", "replace")[-1:]
    return bool(last) and last.splitlines(True) == last.splitlines()


def split_marker(line, token):
    """(output, marker) of one results-port line: marker is the text of
    init.sh's marker without its token, None when the line has none; output
    what came before it (a program's last line without its newline), None
    when nothing did. A marker is init's only when it ends with this boot's
    token; with no token every line is output."""
    suffix = " tok=" + token
    if token and line.endswith(suffix):
        at = line.rfind(MARK + " ")
        if at >= 0:
            return line[:at] or None, line[at:-len(suffix)]
    return line, None


# What str.splitlines() breaks a line at, besides \n.
ODD_BREAK_RE = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def parse_results(path, token):
    """Sections of a guest's results port: (info, sections, done, stray).

    Each section is a dict: kind, name, lines, rc (None when the guest
    never ended it), t0 and t1 (guest uptime at BEGIN and END), forged,
    odd_breaks (the file has line breaks other than \n: lines were split
    there, so they do not count its bytes).

    Only a marker with this boot's token is init.sh's (marker_token.py). A
    line that starts like one without it is output of the open section, and
    is kept in its "forged" list too, or in `stray` with no section open:
    something in the guest printed the framing, so what it framed cannot be
    trusted. A marker counts only where init.sh can have written it: END
    only for the section open (same kind and name), DONE only with no
    section open and no BEGIN after it; any other marker line is output of
    the open section (which stays unfinished). The file's last line, when
    it has no newline, was cut (qemu killed mid-write): not forged."""
    info, sections, done, stray = {}, [], False, []
    cur = None
    lines = read_lines(path)
    # read_lines() splits at \r, \r\n, U+0085, U+2028 and the like too:
    # then the lines no longer tell the file's bytes (parse.kunit_case_logs()
    # counts them), and each section says so.
    try:
        with open(path, "rb") as f:
            odd = bool(ODD_BREAK_RE.search(f.read().decode("utf-8", "replace")))
    except OSError:
        odd = False
    cut = len(lines) - 1 if last_line_cut(path) else -1
    for i, raw in enumerate(lines):
        out, marker = split_marker(raw.rstrip("\r"), token)
        if out is not None:
            if looks_like_marker(out) and i != cut:
                (cur["forged"] if cur is not None else stray).append(out)
            if cur is not None:
                cur["lines"].append(out)
        if marker is None:
            continue
        words = marker.split()
        kind = words[1] if len(words) > 1 else ""
        t = re.search(r"\bt=([0-9.]+)", marker)
        t = float(t.group(1)) if t else None
        if kind == "INFO" and len(words) > 2:
            k, _, v = marker.split(" ", 2)[2].partition("=")
            info[k] = v
        elif kind == "BEGIN" and len(words) > 3:
            cur = {"kind": words[2], "name": words[3], "lines": [], "rc": None,
                   "t0": t, "t1": None, "forged": [], "odd_breaks": odd}
            sections.append(cur)
            done = False
        elif kind == "END" and cur is not None and words[2:4] == [cur["kind"], cur["name"]]:
            m = re.search(r"\brc=(-?\d+)", marker)
            cur["rc"] = int(m.group(1)) if m else -1
            cur["t1"] = t
            cur = None
        elif kind == "DONE" and cur is None:
            done = True
        elif cur is not None:
            cur["lines"].append(marker)
    return info, sections, done, stray


# How much of a case's output KUnit keeps for its debugfs results file.
# 6.1 (include/kunit/test.h: KUNIT_LOG_SIZE 512, its NUL included) keeps
# each case's log, and the suite's, in a fixed buffer: kunit_log_append()
# (lib/kunit/test.c) appends what still fits, strncat() cutting the line
# that does not, and drops every later line, the case's own result line
# (the last thing logged for it) too. So a cut log is exactly 511 bytes,
# and the results file, which prints the cases' logs one after the other
# (lib/kunit/debugfs.c), runs the cut line into the next case's first
# one. 6.12 keeps the log in a string_stream: never cut (None). Both read
# in Debian's linux-source packages; other kernels' rule is not known
# here, and without it a log without its result line is no case's.
KUNIT_LOG_BYTES = {(6, 1): 511, (6, 12): None}


def kunit_log_limit(release):
    """(known, limit) for a kernel release ("6.1.0-57-amd64"): the most
    bytes a case's KUnit log holds, None when it is never cut; known is
    False when the runner does not know this kernel's rule."""
    m = re.match(r"(\d+)\.(\d+)", release or "")
    ver = (int(m.group(1)), int(m.group(2))) if m else None
    if ver not in KUNIT_LOG_BYTES:
        return False, None
    return True, KUNIT_LOG_BYTES[ver]


def _result_lines(data, pos, level, stop=None):
    """(start, end, text) of each whole line of data[:stop] (bytes) at or
    after pos that is a (K)TAP result at that indentation; pos counts as a
    line start (a cut log's successor starts mid-line). end is past its
    newline, which must lie before stop."""
    stop = len(data) if stop is None else stop
    start = pos
    while start < stop:
        end = data.find(b"\n", start, stop)
        if end < 0:
            return
        text = data[start:end].decode("utf-8", "replace").rstrip("\r")
        if indent_of(text) == level and RESULT_RE.match(text.strip()):
            yield start, end + 1, text
        start = end + 1


def _foreign(detail, name, level):
    """Why a case's log (detail, before its result line) cannot be wholly
    that case's, or None. KUnit prefixes every line a case logs with
    "# <its name>: " (kunit_printk(): a message's own later lines go
    unprefixed), so the log's first line must carry the case's own name,
    and no line at the case's level may carry another name."""
    first = detail.split("\n", 1)[0]
    if detail and not re.match(r" {%d}# %s[:.]" % (level, re.escape(name)), first):
        return ("its log does not start with its own \"# %s: \" line but with %r: its "
                "first lines may be another case's" % (name, first[:60]))
    for m in re.finditer(r"^ {%d}# (\S+?): " % level, detail, re.M):
        if m.group(1) != name and not m.group(1).startswith(name + "."):
            return ("its log holds a line of case %s (%r): the lines before its result "
                    "may be another case's" % (m.group(1), m.group(0)))
    return None


def _case_result(text, num):
    m = RESULT_RE.match(text.strip())
    directive = (m.group(4) or "").strip()
    if m.group(1) == "not ok":
        status = "fail"
    elif directive.upper().startswith("SKIP"):
        status = "skip"
    else:
        status = "pass"
    return {"num": num, "name": (m.group(3) or "").strip(), "status": status,
            "directive": directive}


def kunit_case_logs(lines, suite, release, odd_breaks=False):
    """A suite's KUnit debugfs results (lib/kunit/debugfs.c: a header, each
    case's log ending with its own result line, the suite's log, the
    suite's result) split into the cases' logs, by bytes: where a case's
    log has no result line, KUNIT_LOG_BYTES says whether it was cut (then
    its log is that many bytes, and the next case's starts right after,
    mid-line) or whether the runner cannot tell whose the lines are.

    A case whose result line may not be its own (repeated, another's
    first, a log that does not start with its own name), or whose log was
    cut, is a fail with `why` said; see docs/testing.md "KUnit results".
    odd_breaks: the lines were split at breaks other than \n (their
    bytes do not add up), so no cut is guessed.

    Returns a dict: level and plan (None when there is no suite header or
    plan), cases (in order: num, name, status, directive, detail, cut,
    why: None, or why the case fails whatever its line said), rest (the
    lines after the last case: the suite's log) and unattributed (None, or
    a dict: num, the first case without a log, why, and text, the lines
    the runner cannot give to a case)."""
    out = {"level": None, "plan": None, "cases": [], "rest": [], "unattributed": None}
    head = None
    for i, l in enumerate(lines):
        if l.strip() == "# Subtest: %s" % suite:
            out["level"] = level = indent_of(l)
            for j in range(i + 1, len(lines)):
                if indent_of(lines[j]) == level and PLAN_RE.match(lines[j].strip()):
                    out["plan"], head = int(PLAN_RE.match(lines[j].strip()).group(1)), j
                    break
            break
    if head is None:
        return out
    # The suite's own result line ends the file, at indentation 0.
    last = len(lines)
    while last > head + 1 and not lines[last - 1].strip():
        last -= 1
    if last > head + 1 and indent_of(lines[last - 1]) == 0 and RESULT_RE.match(
            lines[last - 1].strip()):
        last -= 1
    data = "".join(l + "\n" for l in lines[head + 1:last]).encode("utf-8")
    known, limit = kunit_log_limit(release)
    # How often each case-level result line appears: a case's own result
    # line must be there once (a case's output can print one too).
    # ("ok" or "not ok": either is that case's result.)
    def key(text):
        return RESULT_RE.match(text.strip()).group(2), _case_result(text, 0)["name"]

    seen = {}
    for _, _, text in _result_lines(data, 0, level):
        seen[key(text)] = seen.get(key(text), 0) + 1
    forged = ("a case's output must not print KTAP result lines, or the runner cannot "
              "tell which is its result")

    def fail_rest(num, why):
        # Where case num's log starts is not known: no guess. Nor then
        # where the case before ended: its result line may have been
        # printed by its own output (the real one cut off, or later).
        out["unattributed"] = {"num": num, "why": why,
                               "text": data[pos:].decode("utf-8", "replace")}
        doubt(why)

    def doubt(why):
        if out["cases"] and out["cases"][-1]["status"] != "fail":
            out["cases"][-1].update(status="fail", why=(
                "where its log ends is not known, as the next log is not whole: %s" % why))

    pos = 0
    for num in range(1, out["plan"] + 1):
        # On a kernel that cuts, a case's log with its result line fits in
        # `limit` bytes: look no further (NIT: no quadratic scan).
        stop = len(data) if limit is None else min(len(data), pos + limit)
        hit = next(_result_lines(data, pos, level, stop), None)
        if hit is not None and RESULT_RE.match(hit[2].strip()).group(2) == str(num):
            case = _case_result(hit[2], num)
            detail = data[pos:hit[0]].decode("utf-8", "replace")
            case.update(detail=detail, cut=False, why=None)
            # The line found mid-line (after a cut log) is not in `seen`.
            mid = pos > 0 and hit[0] == pos and data[pos - 1:pos] != b"\n"
            n = seen.get(key(hit[2]), 0) + mid
            if n > 1:
                case.update(status="fail", why="its results hold %d lines that look like its "
                            "result line (%s): %s" % (n, hit[2].strip()[:60], forged))
            elif limit is not None and hit[1] - pos >= limit:
                case.update(status="fail", why="its debugfs log fills all %d bytes KUnit keeps "
                            "of a case's log, so its last line may be output cut there rather "
                            "than its result: make the case print less" % limit)
            else:
                why = _foreign(detail, case["name"], level)
                if why:
                    case.update(status="fail", why=why)
                    doubt("case %d (%s): %s" % (num, case["name"], why))
            out["cases"].append(case)
            pos = hit[1]
            if case["why"] and n > 1:
                fail_rest(num + 1, "case %d's result line is not unique, so where case %d's "
                          "log starts is not known" % (num, num + 1))
                return out
            continue
        if hit is None and limit is not None and len(data) - pos >= limit:
            # No whole result line within the log's first `limit` bytes:
            # it was cut there, and the next case's log starts right after.
            # The kernel prefixes the case's own lines with its name.
            frag = data[pos:pos + limit].decode("utf-8", "replace")
            nxt = data[pos + limit:]
            ind = b" " * level
            starts = ((ind + b"# ", ind + b"ok ", ind + b"not ok ") if num < out["plan"]
                      else (b"#", b" ", b"ok", b"not ok"))
            if odd_breaks or "\ufffd" in frag or (nxt and not nxt.startswith(starts)):
                # Bytes the runner cannot count (a line break other than
                # \n, which the lines it is given no longer show; or not
                # UTF-8: the cut may have split a character), or the next
                # log would not start as a case's (or the suite's) does.
                fail_rest(num, "case %d's debugfs log has no result line within %d bytes, but "
                          "cutting it there does not leave the next log whole%s" % (
                              num, limit, " (the results hold line breaks other than \\n, so "
                              "their bytes cannot be counted)" if odd_breaks else ""))
                return out
            # A cut log holds at least its first line, "# <its name>: ",
            # and no line of another case (nor of one before it).
            m = re.match(r" {%d}# (\S+?): " % level, frag)
            name = m.group(1) if m else ""
            if m:
                why = _foreign(frag, name, level)
                if not why and name in [c["name"] for c in out["cases"]]:
                    why = "it would be case %d's, but case %s came before" % (num, name)
            else:
                why = "its first line is not a case's own: %r" % frag.split("\n", 1)[0][:60]
            if why:
                fail_rest(num, "case %d's debugfs log has no result line within %d bytes, and "
                          "the bytes there are not a cut log of one case: %s" % (num, limit, why))
                return out
            out["cases"].append({
                "num": num, "name": name, "status": "fail",
                "directive": "", "detail": frag, "cut": True,
                "why": "its debugfs log was cut at %d bytes (KUnit keeps %d bytes of a case's "
                       "log on kernel %s: 6.1's KUNIT_LOG_SIZE %d, its NUL included), so its "
                       "result and output cannot be read: make the case print less" % (
                           limit, limit, release or "?", limit + 1)})
            pos += limit
            continue
        if hit is None:
            why = "case %d has no result line in its debugfs log" % num
            if not known:
                why += (" (kernel %s: how much of a case's log KUnit keeps there is not known "
                        "to the runner, parse.py KUNIT_LOG_BYTES)" % (release or "unknown"))
            fail_rest(num, why)
            return out
        # A result line of another case where this one's should be.
        out["cases"].append({
            "num": num, "name": "", "status": "fail", "directive": "", "cut": False,
            "detail": data[pos:hit[1]].decode("utf-8", "replace"),
            "why": "its debugfs log holds a line that looks like another case's result "
                   "(%s) before its own: %s%s" % (hit[2].strip()[:60], forged, "" if known else (
                       " (or kernel %s cut the log: how much of a case's log KUnit keeps "
                       "there is not known to the runner, parse.py KUNIT_LOG_BYTES)" % (
                           release or "unknown")))})
        pos = hit[1]
        fail_rest(num + 1, "case %d's log holds another case's result line, so where case "
                  "%d's log starts is not known" % (num, num + 1))
        return out
    out["rest"] = data[pos:].decode("utf-8", "replace").splitlines()
    return out


def console_kunit_cases(console_lines, suite):
    """Case results of one suite as the console printed them: the
    fallback for cases whose debugfs results cannot be split by case (the
    suite fails then). Never for a cut case: anything in the guest can
    write to the console."""
    lines = [strip_stamp(l) for l in console_lines]
    start = None
    for i, l in enumerate(lines):
        if l.strip() == "# Subtest: %s" % suite:
            start = i
    if start is None:
        return {}
    level = indent_of(lines[start])
    doc = []
    for l in lines[start + 1:]:
        if indent_of(l) < level and RESULT_RE.match(l.strip()):
            break
        doc.append(l)
    _, results, _ = tap_level(doc, level)
    return {r["num"]: r for r in results}
