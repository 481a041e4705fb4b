# SPDX-License-Identifier: GPL-2.0-only
"""What runs on the host while the guests boot: the host tests
(tests/host/run.sh, TAP: host/<test>) and the static checks
(scripts/lint.sh, one test each: lint/<check>)."""
import os

from common import LOGS, R, REPO, excerpt, progress, run, tail
from parse import tap_level, tap_problems

LINT_CHECKS = ["checkpatch", "kernel-doc", "sparse-6.1", "sparse-6.12", "clang-format",
               "cppcheck"]


def host_enabled():
    return os.environ.get("MPMCRING_HOST", "1") != "0"


def lint_enabled():
    return os.environ.get("MPMCRING_LINT", "1") != "0"


def stage_host():
    script = os.path.join(REPO, "tests/host/run.sh")
    if not host_enabled():
        progress("host tests: skipped (MPMCRING_HOST=0)")
        return
    if not os.path.isfile(script):
        R.add("host/run.sh", "fail", "tests/host/run.sh is missing: no host test ran")
        return
    if not os.access(script, os.X_OK):
        R.add("host/run.sh", "fail", "tests/host/run.sh is not executable (chmod +x): "
              "no host test ran")
        return
    progress("host tests: tests/host/run.sh")
    log = os.path.join(LOGS, "host", "output.log")
    rc, out = run([script], log=log)
    lines = out.splitlines()
    plan, results, bail = tap_level(lines, 0)
    failed = False
    for r in results:
        detail = r["detail"] if r["status"] == "fail" else r["directive"]
        R.add("host/%s" % (r["name"] or "#%d" % r["num"]), r["status"], excerpt(detail), [log])
        failed |= r["status"] == "fail"
    problems = tap_problems(plan, results, bail)
    if rc != 0 and not failed:
        problems.append("exited with status %d" % rc)
    if problems:
        R.add("host/run.sh", "fail", "; ".join(problems) + "\n" + tail(out, 30), [log])


def stage_lint():
    """Static checks (scripts/lint.sh), one test each: lint/<check>."""
    if not lint_enabled():
        progress("static checks: skipped (MPMCRING_LINT=0)")
        return
    progress("static checks: scripts/lint.sh (%s)" % ", ".join(LINT_CHECKS))
    for check in LINT_CHECKS:
        log = os.path.join(LOGS, "lint", check + ".log")
        rc, out = run(["bash", os.path.join(REPO, "scripts/lint.sh"), check], log=log)
        R.add("lint/%s" % check, "pass" if rc == 0 else "fail", tail(out, 40), [log])
