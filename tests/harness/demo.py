# SPDX-License-Identifier: GPL-2.0-only
"""make demo, judged (scripts/demo.sh runs this file on its console) and
run as a test (stock-6.1/demo): what a new user runs first must work,
and it is judged as any guest is. make check runs it once the guests are
done, alone on the host: its flood step must see every marker exec, and
it shows the product, not the runner's load.

The guest's console shows errors only (printk level 4), so init prints
the whole kernel log between two marker lines whenever it holds a
report; only that stretch is scanned: a report that ends without its
end-of-trace line must not run on into the demo's own output, which
names mpmcring on every page. A report naming our code fails the demo;
the base kernel's are notes, as in make check."""
import os
import sys

from common import LOGS, R, REPO, progress, read_lines, run, tail
from reports import scan_reports

KERNEL = "stock-6.1"  # the kernel make check has the demo boot
CONSOLE = os.path.join(LOGS, "demo", "console.log")
LOG_BEGIN = "mpmcring-demo: kernel log begin"
LOG_END = "mpmcring-demo: kernel log end"


def kernel_log(console):
    """The kernel log init printed, or [] when it printed none."""
    lines = [l.rstrip() for l in console]
    try:
        i = lines.index(LOG_BEGIN)
    except ValueError:
        return []
    end = lines.index(LOG_END, i) if LOG_END in lines[i:] else len(lines)
    return lines[i + 1:end]


def judge(console):
    """(ours, theirs): the kernel reports in the log init printed."""
    reports = scan_reports(kernel_log(console))
    return [r for r in reports if r.ours], [r for r in reports if not r.ours]


def describe(ours, theirs):
    """What a judged demo says of its reports, a line each."""
    out = ["kernel report naming mpmcring code: %s [at %s]" % (r.header, r.where)
           for r in ours]
    out += ["note: a kernel report of the base kernel (not a failure): %s" % r.header
            for r in theirs]
    return out


def demo_enabled(kernels):
    return KERNEL in kernels and os.environ.get("MPMCRING_DEMO", "1") != "0"


def run_demo():
    env = dict(os.environ, MPMCRING_DEPS="0", MPMCRING_DEMO_KERNEL=KERNEL)
    env.pop("MPMCRING_DEMO_TIMEOUT", None)
    if os.path.exists(CONSOLE):
        os.unlink(CONSOLE)  # a console left by an earlier run must not be judged
    # The guest has 300 s of its own (scripts/demo.sh); the rest is the
    # build of its modules and static tool.
    rc, out = run(["bash", os.path.join(REPO, "scripts/demo.sh")],
                  log=os.path.join(LOGS, "demo", "output.log"), env=env, timeout=900)
    return rc, out, read_lines(CONSOLE)


def stage_demo(kernels):
    """stock-6.1/demo, when stock-6.1's modules were built."""
    if not demo_enabled(kernels):
        progress("demo: skipped (%s)" % (
            "MPMCRING_DEMO=0" if KERNEL in kernels else
            "no modules for %s: not asked for, or they did not build" % KERNEL))
        return
    from boot import stale_int3_before_init  # the runner's, not demo.sh's
    progress("demo: scripts/demo.sh (make demo) on %s" % KERNEL)
    rc, out, console = run_demo()
    why = rc != 0 and stale_int3_before_init(console, [])
    if why:
        # Before our module loaded (the oops is of an untainted kernel):
        # once more, as boot.py does for the guests.
        progress("demo: the kernel died of %s before init; once more (docs/testing.md)" % why)
        rc, out, console = run_demo()
    ours, theirs = judge(console)
    logs = [os.path.join(LOGS, "demo", "output.log"), CONSOLE]
    if rc == 0 and not ours:
        R.add("%s/demo" % KERNEL, "pass")
        if theirs:
            progress("demo: " + "; ".join(describe([], theirs)))
        return
    where = [l.strip() for l in console if l.startswith("mpmcring-demo: FAILED")]
    head = "make demo failed (scripts/demo.sh %s)%s" % (
        "timed out" if rc == 124 else "exited with status %d" % rc,
        ": " + where[0] if where else "")
    detail = "\n".join([head] + describe(ours, theirs) + [tail(out, 40)])
    R.add("%s/demo" % KERNEL, "fail", detail, logs)


def main(argv):
    """demo.py CONSOLE_LOG: scripts/demo.sh's judge. Prints a line per
    report; exits 1 when one names our code."""
    ours, theirs = judge(read_lines(argv[1]))
    for line in describe(ours, theirs):
        print(line)
    return 1 if ours else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
