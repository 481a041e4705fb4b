# SPDX-License-Identifier: GPL-2.0-only
"""What runs on the host while the guests boot: the host tests
(tests/host/run.sh, TAP: host/<test>) and the static checks
(scripts/lint.sh, one test each: lint/<check>)."""
import os
import sys

from common import LOGS, R, REPO, env_int, excerpt, progress, run, tail
from parse import tap_level, tap_problems

LINT_CHECKS = ["checkpatch", "kernel-doc", "sparse-6.1", "sparse-6.12", "clang-format",
               "cppcheck"]


def host_enabled():
    return os.environ.get("MPMCRING_HOST", "1") != "0"


def lint_enabled():
    return os.environ.get("MPMCRING_LINT", "1") != "0"


def host_nice():
    """MPMCRING_HOST_NICE: the niceness of the host tests and checks, 0 to
    19 (default 0: the runner's own). run.main() asks first, so that a bad
    value stops the run before anything runs."""
    v = os.environ.get("MPMCRING_HOST_NICE", "")
    if not v:
        return 0
    if not v.isdigit() or int(v) > 19:
        sys.exit("error: MPMCRING_HOST_NICE=%r is not a niceness from 0 to 19" % v)
    return int(v)


def niced(cmd):
    """cmd at host_nice().

    Measured on 2 cores (2026-12-05): with the host tests and checks at 10
    the guests went first and ended far sooner (debug 452 s, kcsan-6.12
    541 s, against 701-769 s and one past its 900 s at the same priority),
    but in a fresh clone, where the model's verifiers and the Debian
    package are built from nothing, those two host tests got so little
    CPU beside two guests that both ran past their 900 s limits
    (MPMCRING_HOST_TEST_TIMEOUT). The whole run is CPU-bound either way;
    only who waits changes. So the default is 0, and the test kernels'
    guests have the longer timeout instead (boot.vm_timeout())."""
    n = host_nice()
    return ["nice", "-n", str(n)] + cmd if n > 0 else cmd


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
    rc, out = run(niced([script]), log=log)
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
        # A check that hangs must not hang make check without its summary.
        limit = env_int("MPMCRING_LINT_TIMEOUT", 1200)
        rc, out = run(niced(["bash", os.path.join(REPO, "scripts/lint.sh"), check]), log=log,
                      timeout=limit)
        if rc == 124:
            out += "timed out after %ds (MPMCRING_LINT_TIMEOUT)\n" % limit
        R.add("lint/%s" % check, "pass" if rc == 0 else "fail", tail(out, 40), [log])
