# SPDX-License-Identifier: GPL-2.0-only
"""Booting the guests: one qemu (TCG) per kernel, its console on ttyS0
(build/logs/<k>/console.log) and the tests' results on ttyS1
(results.log, framed by tests/harness/init.sh with this boot's token:
marker_token.py), stopped at its timeout with a dump of where its vCPUs
were (hang.py)."""
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time

from common import (ALL_KERNELS, GUEST_CMDLINE_COMMON, GUEST_CPUS, KASAN_KERNELS, LOGS,
                    TEST_KERNELS, env_int, env_list, guest_tsc_words, progress, read_lines,
                    rel)
from hang import where_stuck
from marker_token import TOKEN_FILE, initrd_with_token, new_token, write_token
from parse import strip_stamp
from reports import OURS_RE, REPORT_RE


def vm_timeout(kid):
    """A guest's wall-clock limit: what a hung guest costs. The test
    kernels' guests ended after 701-769 s in green runs of make check on
    2 busy cores and once went past 900 s in their last step (the kcsan
    guest's kmemleak scan, 2026-12-05: slow, not hung; qemu's CPU time,
    GUEST_CPU, now tells slow from starved); then after 836, 901 and
    1056 s in three fresh-clone CI runs of one afternoon (the last with
    four room-wakeup tests more, about 30 s of it, and most of its tests
    a third slower on a busier host), so 1500 s; the stock ones ended in
    180-350 s, against 600. On a machine about twice as slow (a
    Firecracker guest with 2 vCPUs, fresh-clone CI of 2026-12-07) they
    ended after debug 1051 s, kcsan-6.12 1142 s (76% of 1500), stock
    6.1, 6.12 and 6.12-rt 418 (70% of 600), 257 and 308 s: slow, not
    hung (qemu used 603 and 816 s of host CPU in the test kernels'), so
    2100 s and 900 s, against a false red on a busier runner. A hung
    guest costs its limit instead of its run: two guests at a time in
    run.py's order, all five hung take 3900 s (2700 with the old
    limits), which keeps even that red run within the runner's 90
    minutes here (about 82)."""
    return env_int("MPMCRING_VM_TIMEOUT", 2100 if kid in TEST_KERNELS else 900)


def boot_timeout():
    return env_int("MPMCRING_BOOT_TIMEOUT", 150)


def guest_slots():
    """How many guests run at once: MPMCRING_GUESTS, else one per host CPU
    (a TCG guest with 2 vCPUs keeps about 1.3 host CPUs busy: two on two
    CPUs finish sooner than one after the other)."""
    return max(1, env_int("MPMCRING_GUESTS", min(len(ALL_KERNELS), os.cpu_count() or 1)))


def guest_order(guests):
    """Started heavy, light, heavy, light...: two sanitizer kernels side by
    side slow each other's sleep/wake tests the most."""
    heavy = [k for k in guests if k in TEST_KERNELS]
    light = [k for k in guests if k not in TEST_KERNELS]
    order = []
    while heavy or light:
        order += heavy[:1] + light[:1]
        heavy, light = heavy[1:], light[1:]
    return order


def kernel_cmdline(kid):
    test_timeout = env_int("MPMCRING_TEST_TIMEOUT", 400)
    cmdline = ["console=ttyS0", "panic=-1", "panic_on_warn=0", "nokaslr",
               "mpmcring_test_timeout=%d" % test_timeout] + GUEST_CMDLINE_COMMON
    # The guest's TSC rate given, not measured (common.host_tsc_khz()).
    cmdline += guest_tsc_words()
    if kid in KASAN_KERNELS:  # elsewhere they would be init's arguments
        cmdline += ["kasan.fault=report", "kasan_multi_shot"]
    if kid in TEST_KERNELS:
        # The sanitizers make each sleep/wake cycle ~10x slower; 10^4
        # cycles there still cross every interleaving they sample (and
        # tests/vm/wait_modes.c covers every waiting mode besides), the
        # stock kernels run the full 10^5 (tests/vm/wakeup.c).
        cmdline.append("MPMCRING_WAKE_CYCLES=10000")
    if kid in ("stock-6.1", "stock-6.12"):
        # Full preemption from boot (PREEMPT_DYNAMIC; voluntary is their
        # default): tests/vm/destroy_end needs it, and switching it at run
        # time retargets every cond_resched()-style call site while other
        # vCPUs run through them, where qemu's MTTCG can execute a stale
        # int3 and wedge a vCPU (seen: an RCU stall in force_qs_rnp right
        # after the switch back, then rmmod hung in synchronize_rcu()).
        cmdline.append("preempt=full")
    if kid == "stock-6.12":
        # Debian builds x32 in but leaves it off: on here, so that
        # ev.x32_numbered_syscalls_are_recorded sees x32 calls that are
        # taken, and the other kernels those that fail with ENOSYS.
        cmdline.append("syscall.x32=y")
    only = env_list("MPMCRING_VM_TESTS")
    if only:
        cmdline.append("mpmcring_tests=%s" % ",".join(only))
    # Extra words for every guest's command line (kmemleak=off, say, to see
    # what a detector costs).
    cmdline += os.environ.get("MPMCRING_CMDLINE", "").split()
    return cmdline


# The host CPU time each guest's qemu used (user + system, seconds; both
# boots of a guest booted twice, a boot stopped at a timeout up to its
# stop): the runner's guests, host tests and checks share the host's
# CPUs, and a guest's wall time alone does not say whether it was slow or
# starved.
GUEST_CPU = {}


def reap(p, block=False):
    """The CPU seconds qemu used, once it has exited (p.returncode set);
    None while it runs (block: waits for it). os.wait4(), not p.wait():
    only it gives this child's own resource usage (guests run at once).
    Where nobody can wait for it (the runner started with SIGCHLD
    ignored: the kernel reaps it), 0.0 once p.poll() says it ended."""
    try:
        pid, status, usage = os.wait4(p.pid, 0 if block else os.WNOHANG)
    except ChildProcessError:
        return 0.0 if p.poll() is not None else None
    if pid == 0:
        return None
    p.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def wait_guest(p, t0, timeout, results, cpu=None):
    """Waits for qemu to exit: "ok" when it did (whatever its status),
    "timeout" at the guest's timeout, "stuck-boot" when the kernel has not
    started init (no INFO line on the results port) within boot_timeout().
    Once it exited, cpu (a list) gets the CPU seconds it used."""
    started = False
    while True:
        used = reap(p)
        if used is not None:
            if cpu is not None:
                cpu.append(used)
            return "ok"
        time.sleep(0.5)
        elapsed = time.monotonic() - t0
        if elapsed >= timeout:
            return "timeout"
        if not started and elapsed >= boot_timeout():
            started = any(l.startswith("@@MPMCRING INFO kernel=") for l in read_lines(results))
            if not started:
                return "stuck-boot"


def boot(kid, image, initrd, logdir, system_map=None):
    """Runs one guest; returns (status, seconds, where) with status
    ok/timeout/stuck-boot/error:<rc>; where tells the vCPUs' places when
    it was stopped."""
    console = os.path.join(logdir, "console.log")
    results = os.path.join(logdir, "results.log")
    t = time.monotonic()
    tmp = None
    try:
        # A scratch folder: the monitor socket (a short path: sun_path is
        # small), asked only on a hang, and the initrd with this boot's
        # token.
        tmp = tempfile.mkdtemp(prefix="mpr-boot.")
        sock = os.path.join(tmp, "m")
        cmd = ["qemu-system-x86_64", "-accel", "tcg,thread=multi", "-smp", str(GUEST_CPUS),
               "-m", "3G", "-nodefaults", "-display", "none", "-no-reboot",
               "-kernel", image, "-initrd", initrd, "-append", " ".join(kernel_cmdline(kid)),
               "-serial", "file:" + console, "-serial", "file:" + results]
        with open(os.path.join(logdir, "qemu.cmd"), "w") as f:
            # The initramfs as built (init.sh runs without a token then),
            # and how to make the initrd the judged boot had.
            f.write(" ".join(shlex.quote(c) for c in cmd) + "\n")
            f.write("# The judged boot's initrd had its token in front: python3 "
                    "tests/harness/marker_token.py %s %s <out>, then -initrd <out>\n" % (
                        shlex.quote(initrd),
                        shlex.quote(os.path.join(logdir, TOKEN_FILE))))
        token = new_token()
        write_token(logdir, token)
        with_token = initrd_with_token(initrd, token, os.path.join(tmp, "initrd"))
        cmd[cmd.index("-initrd") + 1] = with_token
        cmd += ["-monitor", "unix:%s,server=on,wait=off" % sock]
        with open(os.path.join(logdir, "qemu.log"), "w") as qlog:
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=qlog,
                                 stderr=subprocess.STDOUT)
            cpu = []
            status = wait_guest(p, t, vm_timeout(kid), results, cpu)
            if status != "ok":
                where = where_stuck(sock, logdir, image, system_map)
                p.kill()
                # What it used until stopped: slow or starved?
                GUEST_CPU[kid] = GUEST_CPU.get(kid, 0.0) + (reap(p, block=True) or 0.0)
                p.wait()
                return status, time.monotonic() - t, where
            rc = p.returncode
            GUEST_CPU[kid] = GUEST_CPU.get(kid, 0.0) + cpu[0]
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return ("ok" if rc == 0 else "error:%d" % rc), time.monotonic() - t, []


# What one boot writes in build/logs/<k>/ (the kernel's other stages
# write there too: dkms.log).
BOOT_FILES = ("console.log", "results.log", "qemu.cmd", "qemu.log", "hang-registers.txt", "token")

# The guests booted twice: kid -> what stopped the first boot. Printed by
# the summary (counted, not failures).
BOOT_RETRIES = {}

# The kernel's line as it starts init (not on a `quiet` console).
RUN_INIT = "Run /init as init process"

# x86's die() header, 6.12 ("Oops: int3: 0000 [#1] ...") and 6.1 ("int3: ...").
INT3_OOPS_RE = re.compile(r"^(?:Oops: )?int3: 0000 \[#1\]")
# show_ip(): RIP, then Code: with the 42 bytes before the trapping address
# and that one in <>; after an int3, the trapping address is the int3's + 1.
RIP_RE = re.compile(r"^RIP: [0-9a-f]{4}:(\w+\+0x[0-9a-f]+/0x[0-9a-f]+)\s*$")
CODE_RE = re.compile(r"^Code: (?:[0-9a-f]{2} ){41}([0-9a-f]{2}) <[0-9a-f]{2}>")


def stale_int3_before_init(console, results):
    """The reason to boot again, or None: Debian's kernel died of an int3
    that was no longer in its code, before init ran.

    Linux patches a static key or static call by writing an int3 over the
    site, then the new bytes, every CPU synchronised between the steps;
    qemu 7.2's MTTCG can keep running a block it translated while the int3
    was there (seen: stock 6.12, 5.7 s into boot, in sched_clock_cpu() as
    sched_clock was marked stable). The Code: line shows the bytes as they
    are when the oops is printed: not 0xcc where the int3 was says the one
    the vCPU ran was already gone. Nothing of ours has run before init:
    only init.sh writes to the results port (a byte there, and init ran),
    and it loads our modules (/lib/mpmcring, never loaded by the kernel
    itself). So only: the console's first report is that oops, the first
    (#1), before the kernel ran init, of an untainted kernel with no module
    loaded, whose RIP and Code: lines are its own, that names nothing of
    ours, and the next report is the panic it ends in. Anything else is
    judged as it is."""
    if results:
        return None
    lines = [strip_stamp(l) for l in console]
    first = next((i for i, l in enumerate(lines) if REPORT_RE.search(l)), None)
    if first is None or not INT3_OOPS_RE.match(lines[first]):
        return None
    if any(l.startswith(RUN_INIT) for l in lines[:first]):
        return None
    end = next((i for i in range(first + 1, len(lines))
                if lines[i].startswith("---[ end trace")), None)
    if end is None:
        return None
    block = lines[first:end + 1]
    if not (block[1].startswith("CPU: ") and " Not tainted " in block[1]):
        return None
    rip = next((i for i, l in enumerate(block) if l.startswith("RIP: ")), None)
    if rip is None or rip + 1 >= len(block):
        return None
    where, code = RIP_RE.match(block[rip]), CODE_RE.match(block[rip + 1])
    if not (where and code) or code.group(1) == "cc":
        return None
    if [l for l in block if l.startswith("Modules linked in:")] != ["Modules linked in:"]:
        return None
    if any(OURS_RE.search(l) for l in block):
        return None
    # No other report before the panic: a second oops or another CPU's
    # WARNING in between is judged, not booted away.
    after = next((l for l in lines[first + 1:] if REPORT_RE.search(l)), "")
    if not after.startswith("Kernel panic - not syncing: Fatal exception"):
        return None
    return "an int3 at %s that was no longer there (byte %s now), before init" % (
        where.group(1), code.group(1))


# The int3 trap's entry and handlers, as where_stuck() names a vCPU's
# place: 6.1's kprobe handler, finding the int3 gone, sends the CPU back
# to it (where qemu runs the stale one again), a loop through all these.
INT3_PLACE_RE = re.compile(r"<(?:asm_exc_int3|exc_int3|do_int3|poke_int3_handler|"
                           r"kprobe_int3_handler|get_kprobe|irqentry_nmi_enter|"
                           r"irqentry_nmi_exit)\+0x")


def stuck_in_int3_before_init(where, console):
    """The reason to boot again, or None: a Debian kernel stopped because
    it had not started init (stuck-boot: nothing on the results port, and
    its console says it never ran init, so nothing of ours had run), one
    of its vCPUs in the int3 trap when stopped. Taken as
    stale_int3_before_init()'s race ending in a hang, as it does on 6.1
    (seen on stock 6.1: its console silent from 1.2 s into boot, vCPU1 at
    asm_exc_int3, vCPU0 in hrtimer_start_range_ns)."""
    if any(strip_stamp(l).startswith(RUN_INIT) for l in console):
        return None
    at = next((w for w in where if INT3_PLACE_RE.search(w)), None)
    return "the int3 trap, hung before init (%s)" % at if at else None


def moved_boot(logdir, first, why):
    """Moves one boot's files from logdir to first, its qemu.cmd made to
    name them there (the console, the results port, the token)."""
    os.makedirs(first)
    for f in BOOT_FILES:
        if os.path.exists(os.path.join(logdir, f)):
            os.rename(os.path.join(logdir, f), os.path.join(first, f))
    cmd_file = os.path.join(first, "qemu.cmd")
    try:
        with open(cmd_file) as f:
            text = f.read()
    except FileNotFoundError:
        return
    for f in BOOT_FILES:
        text = text.replace(os.path.join(logdir, f), os.path.join(first, f))
    with open(cmd_file, "w") as f:
        f.write(text + "# Not judged: its kernel died of %s; booted again\n" % why)


def run_guest(kid, kdir, image, initrd):
    """Boots one guest to its end; returns boot()'s (status, seconds, where).

    A kernel that has not started init within boot_timeout() is stopped
    there, not at the guest's timeout, with the monitor's dump of where
    its vCPUs were: 6.1's rcu-tasks boot deadlock showed itself that way
    (tests/kernel-patches/linux-source-6.1/rcu-tasks-wait-unlocked.patch)."""
    logdir = os.path.join(LOGS, kid)
    for f in BOOT_FILES:
        try:
            os.unlink(os.path.join(logdir, f))
        except FileNotFoundError:
            pass
    os.makedirs(logdir, exist_ok=True)
    shutil.rmtree(os.path.join(logdir, "boot-1"), ignore_errors=True)
    progress("boot %s (timeout %ds): logs in %s" % (kid, vm_timeout(kid), rel(logdir)))
    if kid in TEST_KERNELS:
        system_map = os.path.join(kdir, "System.map")
    else:
        system_map = "/boot/System.map-" + os.path.basename(image)[len("vmlinuz-"):]
    status, secs, where = boot(kid, image, initrd, logdir, system_map)
    # Debian's kernels only: the test kernels carry our patches
    # (tests/kernel-patches/), which run before init.
    why = None
    if kid not in TEST_KERNELS:
        console = read_lines(os.path.join(logdir, "console.log"))
        if status == "ok":
            why = stale_int3_before_init(console,
                                         read_lines(os.path.join(logdir, "results.log")))
        elif status == "stuck-boot":
            why = stuck_in_int3_before_init(where, console)
    if not why:
        return status, secs, where
    # Once: a second crash is judged like any other.
    first = os.path.join(logdir, "boot-1")
    moved_boot(logdir, first, why)
    BOOT_RETRIES[kid] = "%s (%s)" % (why, rel(os.path.join(first, "console.log")))
    progress("%s: the kernel died of %s, as qemu's MTTCG makes it do (docs/testing.md); "
             "booting it once more" % (kid, BOOT_RETRIES[kid]))
    status, more, where = boot(kid, image, initrd, logdir, system_map)
    return status, secs + more, where
