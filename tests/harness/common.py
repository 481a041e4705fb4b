# SPDX-License-Identifier: GPL-2.0-only
"""What every part of the runner shares: the tree's paths, the kernels it
knows, the list of results, how a command runs and how a line is printed."""
import os
import re
import signal
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(REPO, "build")
LOGS = os.path.join(BUILD, "logs")

# Every kernel the runner can test, in the order it reports them. The test
# kernels are built from Debian's linux-source packages with sanitizers and
# KUnit (scripts/build-test-kernel.sh); the stock ones are Debian's images.
ALL_KERNELS = ["debug", "kcsan-6.12", "stock-6.1", "stock-6.12", "stock-6.12-rt"]
TEST_KERNELS = ("debug", "kcsan-6.12")
# The one with KASAN (its command line has KASAN's words) and the one with
# KCSAN (it must have KCSAN armed): tests/kconfig/kasan.config and
# kcsan.config, as scripts/lib.sh's test_kernel_fragments gives them.
KASAN_KERNELS = ("debug",)
KCSAN_KERNELS = ("kcsan-6.12",)
GUEST_CPUS = 2
# On every guest's command line, as scripts/lib.sh's GUEST_CMDLINE_COMMON
# (why: there; test_common.py fails when they differ): the TSC trusted, so
# qemu's TCG never runs sched_clock's static key switch mid-test (the
# boot's own switch still runs: boot.py's stale_int3_before_init()).
GUEST_CMDLINE_COMMON = ["tsc=reliable"]
CPUFREQ_POLICY0 = "/sys/devices/system/cpu/cpufreq/policy0"


def host_tsc_khz(cpuinfo="/proc/cpuinfo", cpufreq=CPUFREQ_POLICY0):
    """The host's TSC rate in kHz when its kernel knows it exactly
    (tsc_known_freq: from the CPU or the hypervisor) and "cpu MHz" is the
    kernel's own rate, not a measured clock (no cpufreq, no aperfmperf:
    /proc/cpuinfo shows either's clock when there is one); else None. Under TCG a guest's TSC is the
    host's, and a guest that calibrates it at boot on a busy host can get
    it wrong: stock 6.1 and the debug kernel fell back to the PIT and took
    410 and 973 MHz for 2596, and with tsc=reliable their clocks then ran
    2.7 and 6.3 times fast for the whole run, every timeout in them short
    by as much (two fresh-clone CI runs, 2026-12-06). scripts/lib.sh's
    guest_tsc_words does the same for the benchmark and demo guests
    (test_common.py holds the two equal)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    flags = re.search(r"^flags[ \t]*:(.*)$", text, re.M)
    mhz = re.search(r"^cpu MHz[ \t]*:[ \t]*([0-9]+(?:\.[0-9]*)?)[ \t]*$", text, re.M)
    if (not flags or not mhz or "tsc_known_freq" not in flags.group(1).split()
            or "aperfmperf" in flags.group(1).split() or os.path.exists(cpufreq)):
        return None
    khz = int(float(mhz.group(1)) * 1000)
    return khz if khz > 0 else None


def guest_tsc_words(cpuinfo="/proc/cpuinfo", cpufreq=CPUFREQ_POLICY0):
    """The guest command line's words for the host's TSC rate: the rate
    given, not measured (host_tsc_khz()), or none."""
    khz = host_tsc_khz(cpuinfo, cpufreq)
    return ["tsc_early_khz=%d" % khz] if khz else []


T0 = time.monotonic()

OUT_LOCK = threading.Lock()


def say_line(line):
    """One whole line to stdout: guests' threads print too."""
    with OUT_LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def progress(msg):
    say_line("==> [%4ds] %s" % (time.monotonic() - T0, msg))


def rel(path):
    return os.path.relpath(path, REPO) if path.startswith(REPO + "/") else path


def env_int(name, default):
    v = os.environ.get(name, "")
    if not v:
        return default
    try:
        return int(v)
    except ValueError:
        sys.exit("error: %s=%r is not a number of seconds" % (name, v))


def env_list(name):
    """A comma list from the environment, empty when unset."""
    return [w.strip() for w in os.environ.get(name, "").split(",") if w.strip()]


def run(cmd, log=None, timeout=None, env=None, cwd=REPO):
    """Runs cmd; returns (rc, output). Output also goes to log when given.
    With a timeout, cmd runs in its own process group, and at the timeout
    the whole group is killed (rc 124): a make or a compiler it started
    must not go on running on the shared CPUs after the runner gave up."""
    try:
        p = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=timeout is not None)
    except OSError as e:
        out, rc = "cannot run %s: %s\n" % (cmd[0], e), 127
    else:
        try:
            raw, _ = p.communicate(timeout=timeout)
            rc = p.returncode
        except BaseException as e:  # the timeout, or the runner interrupted
            if timeout is not None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            else:
                p.kill()
            if not isinstance(e, subprocess.TimeoutExpired):
                p.wait()
                raise
            raw, _ = p.communicate()
            raw += b"\n(timed out)\n"
            rc = 124
        out = raw.decode("utf-8", "replace")
    if log:
        os.makedirs(os.path.dirname(log), exist_ok=True)
        with open(log, "w") as f:
            f.write(out)
    return rc, out


def init_block(*names):
    """The lines of tests/harness/init.sh between "# <name>-begin" and
    "# <name>-end", for each name in turn: what the unit tests run of it."""
    with open(os.path.join(REPO, "tests", "harness", "init.sh")) as f:
        text = f.read()
    return "".join(text.split("# %s-begin\n" % n, 1)[1].split("# %s-end\n" % n, 1)[0]
                   for n in names)


def read_lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []


def tail(text, n=40):
    lines = text.rstrip("\n").splitlines()
    return "\n".join(lines[-n:])


def excerpt(text, n=30):
    lines = [l for l in text.splitlines() if l.strip()]
    if len(lines) > n:
        lines = lines[:n] + ["    ... (%d more lines)" % (len(lines) - n)]
    return "\n".join(lines)


class Results:
    """Every result of the run, in the order they came: (name, status,
    detail, logs). Each is printed as it is added."""

    def __init__(self, quiet=False):
        self.tests = []
        self.quiet = quiet

    def add(self, name, status, detail="", logs=()):
        assert status in ("pass", "fail", "skip")
        self.tests.append((name, status, detail, tuple(logs)))
        if self.quiet:
            return
        tag = {"pass": "ok     ", "fail": "FAIL   ", "skip": "skip   "}[status]
        line = tag + name
        if status != "pass" and detail.strip():
            line += "  (" + first_salient(detail)[:160] + ")"
        say_line(line)

    def count(self, prefix=None):
        c = {"pass": 0, "fail": 0, "skip": 0}
        for name, status, _, _ in self.tests:
            if prefix is None or name.startswith(prefix):
                c[status] += 1
        return c

    def failures(self):
        return [t for t in self.tests if t[1] == "fail"]


SALIENT_RE = re.compile(r"Expected|EXPECTATION|ASSERTION|error:|failed|timed out|did not|"
                        r"no result|ended early|report|missing|unexpected|signal|forged", re.I)


def first_salient(detail):
    """The line of a failure's detail that says most about it."""
    lines = [l for l in detail.strip().splitlines() if l.strip()]
    if not lines:
        return ""
    return next((l for l in lines if SALIENT_RE.search(l)), lines[0]).strip()


R = Results()
