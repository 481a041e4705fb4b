# SPDX-License-Identifier: GPL-2.0-only
"""make demo, judged (scripts/demo.sh runs this file on its console) and
run as a test (stock-6.1/demo): what a new user runs first must work,
and its console is judged as any guest's is (its CPU count is not: its
flood runs on the CPUs it has). make check runs it once the guests are
done, alone on the host: its flood step must see every marker exec, and
it shows the product, not the runner's load.

The guest's console shows errors only (printk level 4), so init prints
the whole kernel log between two marker lines whenever it holds a
report. Read are that stretch and, outside it, the console's kernel
lines (those with a printk time): an error-level report that kills init
is there only, and a report that ends without its end-of-trace line must
not run on into the demo's own output, which names mpmcring on every
page. A report naming our code fails the demo; so does a log on the
console with fewer report lines than init counted (a marker or a line
garbled, or the log never printed); the base kernel's reports are
notes, as in make check. scripts/demo.sh takes its verdict from here
(verdict()), so that a user's make demo is judged as make check's."""
import os
import re
import shutil
import sys

from common import LOGS, R, REPO, progress, read_lines, rel, run, tail
from parse import STAMP_RE, strip_stamp
from reports import DROPPED_RE, REPORT_RE, scan_reports

KERNEL = "stock-6.1"  # the kernel make check has the demo boot
CONSOLE = os.path.join(LOGS, "demo", "console.log")
LOG_BEGIN = "mpmcring-demo: kernel log begin"
LOG_END = "mpmcring-demo: kernel log end"
# init's count of report lines, the line after its dmesg | grep -c
COUNT_RE = re.compile(r"^\$ dmesg \| grep -cE .*\(lines of kernel reports\)$")
# What init counts (demo-init.sh's kernel_log(): the same words).
COUNTED_RE = re.compile(r"WARNING:|BUG:|Oops|general protection|Call Trace:")
# Our modules' own messages ("mpmcring: ..."): a report that ends without
# its end line must not be made ours by the module's load line below it.
OWN_MSG_RE = re.compile(r"^mpmcring(?:_[a-z]+)?: ")


def log_span(lines):
    """[begin, end) of the kernel log init printed (markers included), or
    None when it printed none."""
    try:
        i = lines.index(LOG_BEGIN)
    except ValueError:
        return None
    end = lines.index(LOG_END, i) + 1 if LOG_END in lines[i:] else len(lines)
    return i, end


def kernel_log(console):
    """The kernel log init printed, or [] when it printed none."""
    lines = [l.rstrip() for l in console]
    span = log_span(lines)
    if span is None:
        return []
    body = lines[span[0] + 1:span[1]]
    return body[:-1] if body and body[-1] == LOG_END else body


def count_problems(lines, log):
    """Whether the log on the console is the whole of what init counted:
    a kernel line printed into the middle of one of its lines garbles it."""
    i = next((i for i, l in enumerate(lines) if COUNT_RE.match(l)), None)
    # The number is init's next line; a kernel line may come between.
    n = next((l.strip() for l in lines[i + 1:] if not STAMP_RE.match(l)), "") \
        if i is not None else ""
    if not n.isdigit():
        if "mpmcring-demo: ok" in lines:
            return ["init's count of kernel report lines is not on the console whole"]
        return []  # init did not get there: the demo failed already
    found = sum(1 for l in log if COUNTED_RE.search(l))
    if found < int(n):
        return ["init counted %s line(s) of kernel reports, the kernel log on the console "
                "has %d: it is not whole (no line %r, or lines garbled)" % (n, found, LOG_BEGIN)]
    return []


def judge(console):
    """(problems, ours, theirs): what fails the demo besides reports of
    ours, and the kernel reports in the log init printed and in the
    console's kernel lines outside it. A report seen in both is counted
    once, and is ours when either copy is."""
    lines = [l.rstrip() for l in console]
    span = log_span(lines)
    outside = lines if span is None else lines[:span[0]] + lines[span[1]:]
    log = kernel_log(console)
    problems = count_problems(lines, log)
    # As make check's guests (judge.py): lost lines may hold a report.
    problems += ["the console lost lines (%s): a report of our code may be among them" %
                 m.group(0) for m in (DROPPED_RE.search(l) for l in lines) if m][:1]
    def kept(ls):
        return [l for l in ls if not OWN_MSG_RE.match(strip_stamp(l))]

    found = {}
    for r in scan_reports(kept(log)) + scan_reports(kept(l for l in outside if STAMP_RE.match(l))):
        key = (r.header, r.when)
        if key not in found or (r.ours and not found[key].ours):
            found[key] = r
    reports = list(found.values())
    return problems, [r for r in reports if r.ours], [r for r in reports if not r.ours]


def describe(problems, ours, theirs):
    """What a judged demo says, a line each."""
    out = list(problems)
    out += ["kernel report naming mpmcring code: %s [at %s]" % (r.header, r.where)
            for r in ours]
    out += ["note: a kernel report of the base kernel (not a failure): %s" % r.header
            for r in theirs]
    return out


def demo_enabled(kernels):
    return KERNEL in kernels and os.environ.get("MPMCRING_DEMO", "1") != "0"


def run_demo():
    """scripts/demo.sh on KERNEL: (exit status, its output, the console)."""
    env = dict(os.environ, MPMCRING_DEPS="0", MPMCRING_DEMO_KERNEL=KERNEL)
    env.pop("MPMCRING_DEMO_TIMEOUT", None)
    if os.path.exists(CONSOLE):
        os.unlink(CONSOLE)  # a console left by an earlier run must not be judged
    # The guest has 300 s of its own (scripts/demo.sh); the rest is the
    # build of its modules and static tool.
    rc, out = run(["bash", os.path.join(REPO, "scripts/demo.sh")],
                  log=os.path.join(LOGS, "demo", "output.log"), env=env, timeout=900)
    return rc, out, read_lines(CONSOLE)


# verdict()'s line for a guest out of time (demo.sh prints it).
GUEST_TIMED_OUT = "error: the guest did not finish"


def hung_before_init(rc, out, console):
    """The reason to boot make demo's guest once more, or None: it ran out
    of time before its init said anything. The guest boots `quiet`
    (scripts/demo.sh), so its console shows neither the kernel's banner nor
    "Run /init": init's `### ` headings are what say init ran (and it
    loads our module after its first, tests/harness/demo-init.sh). The
    guest itself must have run out of its time (verdict() said so: not a
    build, nor demo.sh killed by run()'s limit), and the console must
    hold no kernel report. Taken as qemu's stale int3
    ending in a hang, as boot.py's stuck_in_int3_before_init() does with
    a monitor to ask; this guest has none."""
    if rc not in (124, 137) or GUEST_TIMED_OUT not in out:
        return None
    lines = [strip_stamp(l) for l in console]
    if any(l.startswith("### ") or REPORT_RE.search(l) for l in lines):
        return None
    return "a hang before init (%d console lines, none of init's)" % len(lines)


def stage_demo(kernels):
    """stock-6.1/demo, when stock-6.1's modules were built."""
    if not demo_enabled(kernels):
        progress("demo: skipped (%s)" % (
            "MPMCRING_DEMO=0" if KERNEL in kernels else
            "no modules for %s: not asked for, or they did not build" % KERNEL))
        return
    # The runner's, not demo.sh's: the summary names a second boot.
    from boot import BOOT_RETRIES, moved_boot, stale_int3_before_init
    from judge import note_theirs
    name = "%s/demo" % KERNEL
    progress("demo: scripts/demo.sh (make demo) on %s" % KERNEL)
    rc, out, console = run_demo()
    # Only an oops of an untainted kernel (our module taints it as it
    # starts to load, before any code of ours runs), or a timeout of a
    # kernel that never ran init.
    why = rc != 0 and (stale_int3_before_init(console, []) or
                       hung_before_init(rc, out, console))
    if why:
        first = os.path.join(LOGS, "demo", "boot-1")
        shutil.rmtree(first, ignore_errors=True)
        moved_boot(os.path.dirname(CONSOLE), first, why)  # as boot.py keeps a guest's
        BOOT_RETRIES[name] = "%s (%s)" % (why, rel(os.path.join(first, "console.log")))
        progress("demo: the kernel died of %s, as qemu's MTTCG makes it do "
                 "(docs/testing.md); once more" % BOOT_RETRIES[name])
        rc, out, console = run_demo()
    problems, ours, theirs = judge(console)
    note_theirs(KERNEL, "kernel report(s) in make demo", theirs)
    logs = [os.path.join(LOGS, "demo", "output.log"), CONSOLE]
    if rc == 0 and not ours and not problems:
        R.add(name, "pass")
        return
    where = [l.strip() for l in console if l.startswith("mpmcring-demo: FAILED")]
    head = "make demo failed (scripts/demo.sh %s)%s" % (
        "timed out" if rc in (124, 137) else "exited with status %d" % rc,
        ": " + where[0] if where else "")
    detail = "\n".join([head] + describe(problems, ours, theirs) + [tail(out, 40)])
    R.add(name, "fail", detail, logs)


def verdict(status, console, log, timeout):
    """scripts/demo.sh's verdict on its guest: (exit status, lines to
    print). status is qemu's under timeout(1): 124, or 137 when it had to
    be killed, means the guest ran out of time, also after it said ok (its
    reboot hung)."""
    problems, ours, theirs = judge(console)
    out = describe(problems, ours, theirs)
    if status in (124, 137):
        return 124, out + [GUEST_TIMED_OUT + " in %ss (console log: %s)" % (timeout, log)]
    if problems or ours:
        return 1, out + ["error: a kernel report names mpmcring code, or the kernel log is "
                         "not whole (console log: %s)" % log]
    if "mpmcring-demo: ok" not in [l.rstrip() for l in console]:
        return 1, out + ["error: the demo did not get through (console log: %s)" % log]
    return 0, out


def main(argv):
    """demo.py STATUS CONSOLE_LOG TIMEOUT: scripts/demo.sh's verdict."""
    if len(argv) != 4 or not argv[1].isdigit():
        sys.exit("usage: demo.py QEMU_STATUS CONSOLE_LOG TIMEOUT_S")
    rc, lines = verdict(int(argv[1]), read_lines(argv[2]), argv[2], argv[3])
    for line in lines:
        print(line, file=sys.stderr if line.startswith("error: ") else sys.stdout)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
