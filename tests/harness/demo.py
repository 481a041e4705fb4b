# SPDX-License-Identifier: GPL-2.0-only
"""make demo, run as a test (stock-6.1/demo): what a new user runs first
must work, and it is checked as any guest is. It runs once the guests are
done, alone on the host: its flood step must see every marker exec, and it
shows the product, not the runner's load."""
import os

from common import LOGS, R, REPO, excerpt, progress, run, read_lines, tail
from reports import scan_reports

KERNEL = "stock-6.1"  # scripts/demo.sh's default kernel
CONSOLE = os.path.join(LOGS, "demo", "console.log")


def demo_enabled(kernels):
    return KERNEL in kernels and os.environ.get("MPMCRING_DEMO", "1") != "0"


def stage_demo(kernels):
    if not demo_enabled(kernels):
        progress("demo: skipped (%s)" % ("MPMCRING_DEMO=0" if KERNEL in kernels else
                                         "%s is not among MPMCRING_KERNELS" % KERNEL))
        return
    progress("demo: scripts/demo.sh (make demo) on %s" % KERNEL)
    log = os.path.join(LOGS, "demo", "output.log")
    if os.path.exists(CONSOLE):
        os.unlink(CONSOLE)  # a console left by an earlier run must not be judged
    # The guest has MPMCRING_DEMO_TIMEOUT (300 s) of its own; the rest is
    # the build of its modules and static tool.
    env = dict(os.environ, MPMCRING_DEPS="0")
    rc, out = run(["bash", os.path.join(REPO, "scripts/demo.sh")], log=log, env=env,
                  timeout=900)
    console = read_lines(CONSOLE) if os.path.exists(CONSOLE) else []
    ours = [r for r in scan_reports(console) if r.ours]
    problems = []
    if rc != 0:
        # The headline: the guest's own word on where it stopped, if any.
        where = [l.strip() for l in console if l.startswith("mpmcring-demo: FAILED")]
        problems.append("make demo failed (scripts/demo.sh %s)%s\n%s" % (
            "timed out" if rc == 124 else "exited with status %d" % rc,
            ": " + where[0] if where else "", tail(out, 40)))
    for r in ours[:3]:
        problems.append("kernel report naming mpmcring code: %s\n%s" % (
            r.header, excerpt("\n".join(r.block), 30)))
    if problems:
        R.add("%s/demo" % KERNEL, "fail", "\n".join(problems), [log, CONSOLE])
    else:
        R.add("%s/demo" % KERNEL, "pass")
