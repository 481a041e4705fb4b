# SPDX-License-Identifier: GPL-2.0-only
"""The end of a run: every failure with its logs, every skip the inventory
allowed (by name, with its reason), what the inventory was checked
against, the base-kernel notes, a line per group and the last line,
"N passed, N failed, N skipped"."""
from boot import BOOT_RETRIES
from common import R, excerpt, progress, rel
from judge import CLOCK_NOTES, NOTES


def print_summary(kernels, scope_text, allowed, stale, edits=()):
    fails = R.failures()
    if fails:
        print("\n======== failures ========")
        for name, _, detail, logs in fails:
            print("FAIL %s" % name)
            for l in excerpt(detail, 60).splitlines():
                print("    " + l)
            for lg in logs:
                print("    log: %s" % rel(lg))
    if allowed:
        print("\n======== skipped, as tests/inventory.txt allows ========")
        for name, reason in allowed:
            print("skip %s: %s" % (name, reason))
    if edits:
        # After the failures, where a reader who renamed or added a test
        # looks: every line to change at once, kernels grouped.
        print("\n======== tests/inventory.txt and this run disagree: to match it ========")
        for l in edits:
            print(l)
    print("\n======== summary ========")
    if scope_text:
        print("inventory: %s" % scope_text)
    for s in stale:
        print("note: tests/inventory.txt:%d allows %s to skip, and it did not skip in this run"
              % (s.lineno, s.name))
    if NOTES:
        print("notes: base-kernel reports (counted, not failures): %s" % ", ".join(
            "%s %d" % (k, len(v)) for k, v in NOTES.items()))
    for kid in sorted(CLOCK_NOTES):
        print(CLOCK_NOTES[kid])
    for kid, why in sorted(BOOT_RETRIES.items()):
        print("note: %s was booted twice: its first boot's kernel died of %s" % (kid, why))
    groups = ["deps", "host/", "lint/", "build/", "inventory"] + ["%s/" % k for k in kernels]
    for g in groups:
        c = R.count(g)
        if sum(c.values()):
            print("%-16s passed %d, failed %d, skipped %d" % (
                g.rstrip("/"), c["pass"], c["fail"], c["skip"]))
    c = R.count()
    progress("done")
    print("%d passed, %d failed, %d skipped" % (c["pass"], c["fail"], c["skip"]))
    return 1 if c["fail"] or not R.tests else 0
