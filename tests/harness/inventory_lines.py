#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Prints tests/inventory.txt's kunit and vm lines for what a run's guests
ran: every KUnit case and VM test by name, on the kernels it ran on
(grouped as the inventory's groups allow). For writing the inventory from
a real run rather than by hand:

  python3 tests/harness/inventory_lines.py [build/logs]

It reads <logs>/<kernel>/results.log and console.log of every kernel
there, and names results exactly as the runner does (judge.py). A kernel
whose guest did not run everything (a subset run, a guest that died)
gives a subset: compare with the sources before using the lines.
"""
import contextlib
import os
import sys

import common
import inventory
import judge
from common import ALL_KERNELS, read_lines
from marker_token import read_token
from parse import parse_results


def ran_tests(logdir, kid):
    """{(kind, suite, case)} a kernel's guest ran, named as judge.py names
    results, and whether its guest reached its end."""
    common.R = judge.R = common.Results(quiet=True)
    console = read_lines(os.path.join(logdir, kid, "console.log"))
    token = read_token(os.path.join(logdir, kid))
    results = os.path.join(logdir, kid, "results.log")
    if not token and os.path.exists(results):
        # Only markers with the boot's token count: without it nothing does.
        print("warning: %s: no token file (%s): no marker counts, so nothing this guest "
              "ran is listed" % (kid, os.path.join(logdir, kid, "token")), file=sys.stderr)
    info, sections, done, _ = parse_results(results, token)
    # The judge's notes (a KUnit log cut) go with the comments, to stderr:
    # stdout is the lines to paste.
    with contextlib.redirect_stdout(sys.stderr):
        for sec in sections:
            if sec["kind"] == "kunit":
                judge.judge_kunit(kid, sec, console, (), info.get("kernel"))
            elif sec["kind"] == "vm":
                judge.judge_vm(kid, sec, ())
    out = set()
    for name, _, _, _ in judge.R.tests:
        w = name.split("/", 3)
        if len(w) == 4 and w[1] in inventory.CASE_KINDS:
            out.add((w[1], w[2], w[3]))
    return out, done


def main(argv):
    logdir = argv[1] if len(argv) > 1 else common.LOGS
    inv = inventory.Inventory(inventory.inventory_path())
    where = {}
    for kid in ALL_KERNELS:
        if not os.path.exists(os.path.join(logdir, kid, "results.log")):
            continue
        tests, done = ran_tests(logdir, kid)
        print("# %s: %d tests%s" % (kid, len(tests), "" if done else
                                    " (the guest did not reach its end: a subset)"),
              file=sys.stderr)
        for t in tests:
            where.setdefault(t, set()).add(kid)
    for kind in inventory.CASE_KINDS:
        for (k, suite, case), ks in sorted(where.items()):
            if k == kind:
                print("%s %s %s %s" % (kind, inv.kernels_spec(ks), suite, case))
    return 0 if where else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
