# SPDX-License-Identifier: GPL-2.0-only
"""What runs on the host while the guests boot: the host tests
(tests/host/run.sh, TAP: host/<test>) and the static checks
(scripts/lint.sh, one test each: lint/<check>)."""
import os

from common import LOGS, R, REPO, env_int, excerpt, progress, run, tail
from parse import tap_level, tap_problems

LINT_CHECKS = ["checkpatch", "kernel-doc", "sparse-6.1", "sparse-6.12", "clang-format",
               "cppcheck"]


def host_enabled():
    return os.environ.get("MPMCRING_HOST", "1") != "0"


def lint_enabled():
    return os.environ.get("MPMCRING_LINT", "1") != "0"


def niced(cmd):
    """cmd at niceness MPMCRING_HOST_NICE (default 10; 0: as the runner).

    The host tests and checks run beside the guests and take what the
    guests leave: a guest's limits are wall-clock ones (its timeout, the
    detectors' stall and hung-task times), the host tests' are generous.
    At the same priority the two sanitizer guests took 769 and 910 s of
    their 900 on 2 busy cores; with the host's at 10, 452 and 541 s, and
    make check ended 3 minutes sooner (the guests leave CPU idle while
    they sleep, which the host tests fill)."""
    n = env_int("MPMCRING_HOST_NICE", 10)
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
