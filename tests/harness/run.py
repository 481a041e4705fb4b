#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The mpmcring test runner (make check).

Stages: deps, test kernels (cached), modules for every kernel
(W=1, warnings fail), DKMS installs on the stock kernels, VM test programs,
initramfs per kernel, then one qemu guest per kernel, as many at once as
the host has CPUs: the test kernels (debug: KASAN, lockdep, UBSAN; kcsan:
KCSAN) run the KUnit suites and the VM tests, the stock Debian kernels run
the VM tests. While the guests run, the host tests and the static checks.

Every result is one test with a name:
  host/<test>                        tests/host/run.sh (TAP)
  lint/<check>                       scripts/lint.sh: checkpatch, kernel-doc,
                                     sparse, clang-format, cppcheck
  build/kernel-<k>, build/<k>        the test kernel, the modules for <k>
  build/vm/<prog>                    a VM test program
  <k>/boot                           the guest ran to the end in time
  <k>/insmod/<module>                a module loaded
  <k>/kunit/<suite>/<case>           one KUnit case (KTAP from debugfs)
  <k>/vm/<prog>/<test>               one kselftest-harness test (TAP)
  <k>/dkms                           stock kernels: dkms add/build/install
  <k>/rmmod/<module>, <k>/rmmod      a module unloaded; none left behind
  <k>/reports                        no kernel report (KASAN, KCSAN,
                                     lockdep, WARNING, ...) names our code
Extra tests named <k>/kunit/<suite> or <k>/vm/<prog> fail when a document
has no plan, ends early, or a program exits non-zero for no failed test.

Knobs (environment):
  MPMCRING_KERNELS       comma list (default: debug,kcsan,stock-6.1,stock-6.12,stock-6.12-rt)
  MPMCRING_HOST=0        skip the host tests
  MPMCRING_LINT=0        skip the static checks (lint/*: scripts/lint.sh)
  MPMCRING_DEPS=0        skip scripts/deps.sh
  MPMCRING_VM_TIMEOUT    seconds for each guest (default: 900 test kernels, 600 stock)
  MPMCRING_BOOT_TIMEOUT  seconds for a kernel to start init (default 150): past
                         that the guest is stopped (see run_guest())
  MPMCRING_TEST_TIMEOUT  seconds for each test program inside a guest (default 400)
  MPMCRING_VM_TESTS      comma list: run only these VM test programs
  MPMCRING_GUESTS        guests that run at once (default: one per host CPU)

Reports: the console (ttyS0) is scanned for KASAN, KCSAN, UBSAN, lockdep,
WARNING, BUG, Oops and hung-task reports. One that names our code (mpmcring,
mpr_*) fails <k>/reports; the others are printed as notes. KCSAN reports are
ours when our code made one of the racing accesses (see names_ours()), not
when it is merely a caller further down the stack of a race between two
base-kernel functions.

A guest that hangs is stopped at its timeout; before that the qemu monitor
tells where each vCPU is (named with System.map, or for Debian's kernels by
asking /proc/kallsyms of a second short boot; guests boot with nokaslr) and
what its local APIC holds (build/logs/<kernel>/hang-registers.txt).

Logs: build/logs/<kernel>/{console.log,results.log,qemu.cmd,hang-registers.txt},
build/logs/host, build/modules/<kernel>/build.log. The last line is
"N passed, N failed, N skipped"; the exit status is non-zero on any failure.
"""
import concurrent.futures
import gzip
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(REPO, "build")
LOGS = os.path.join(BUILD, "logs")
ALL_KERNELS = ["debug", "kcsan", "stock-6.1", "stock-6.12", "stock-6.12-rt"]
TEST_KERNELS = ("debug", "kcsan")
GUEST_CPUS = 2
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


# ---------------------------------------------------------------- results

SALIENT_RE = re.compile(r"Expected|EXPECTATION|ASSERTION|error:|failed|timed out|"
                        r"did not|no result|ended early|report", re.I)


class Results:
    def __init__(self):
        self.tests = []  # (name, status, detail, logs)

    def add(self, name, status, detail="", logs=()):
        assert status in ("pass", "fail", "skip")
        self.tests.append((name, status, detail, tuple(logs)))
        tag = {"pass": "ok     ", "fail": "FAIL   ", "skip": "skip   "}[status]
        line = tag + name
        if status != "pass" and detail.strip():
            lines = detail.strip().splitlines()
            first = next((l for l in lines if SALIENT_RE.search(l)), lines[0]).strip()
            line += "  (" + first[:160] + ")"
        say_line(line)

    def count(self, prefix=None):
        c = {"pass": 0, "fail": 0, "skip": 0}
        for name, status, _, _ in self.tests:
            if prefix is None or name.startswith(prefix):
                c[status] += 1
        return c

    def failures(self):
        return [t for t in self.tests if t[1] == "fail"]


R = Results()


# ---------------------------------------------------------------- helpers

def run(cmd, log=None, timeout=None, env=None, cwd=REPO):
    """Runs cmd; returns (rc, output). Output also goes to log when given."""
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
        out, rc = p.stdout.decode("utf-8", "replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace") + "\n(timed out)\n"
        rc = 124
    except OSError as e:
        out, rc = "cannot run %s: %s\n" % (cmd[0], e), 127
    if log:
        os.makedirs(os.path.dirname(log), exist_ok=True)
        with open(log, "w") as f:
            f.write(out)
    return rc, out


def tail(text, n=40):
    lines = text.rstrip("\n").splitlines()
    return "\n".join(lines[-n:])


def env_int(name, default):
    v = os.environ.get(name, "")
    if not v:
        return default
    try:
        return int(v)
    except ValueError:
        sys.exit("error: %s=%r is not a number of seconds" % (name, v))


# ---------------------------------------------------------------- TAP/KTAP

RESULT_RE = re.compile(r"^(not ok|ok)\b(?:\s+(\d+))?(?:\s*-?\s*([^#]*?))?\s*(?:#\s*(.*))?$")
PLAN_RE = re.compile(r"^1\.\.(\d+)\b")
# Document furniture, not a test's own output.
HEADER_RE = re.compile(r"^(K?TAP version \d+|1\.\.\d+\b|# Subtest: |# Starting \d+ tests)")


def tap_problems(plan, results, bail):
    """What is wrong with a TAP document as a whole (not its tests)."""
    problems = []
    if plan is None:
        problems.append("no TAP plan")
    elif len(results) < plan:
        problems.append("ended early: %d of %d results" % (len(results), plan))
    if bail:
        problems.append(bail)
    return problems


def indent_of(line):
    return len(line) - len(line.lstrip(" "))


def tap_level(lines, level):
    """Plan and results at one indentation level of a (K)TAP document.

    Returns (plan, results, bail) where results are dicts with num, name,
    status (pass/fail/skip), directive and detail (the lines that came
    before the result line since the previous result of this level: the
    test's own diagnostics and nested subtests)."""
    plan = None
    results = []
    pending = []
    bail = None
    for raw in lines:
        line = raw.rstrip()
        if not line.strip():
            continue
        ind = indent_of(line)
        text = line.strip()
        if ind == level and text.startswith("Bail out!"):
            bail = text
        if ind == level and plan is None and PLAN_RE.match(text):
            plan = int(PLAN_RE.match(text).group(1))
            continue
        m = RESULT_RE.match(text) if ind == level else None
        if m:
            directive = (m.group(4) or "").strip()
            if m.group(1) == "not ok":
                status = "fail"
            elif directive.upper().startswith("SKIP"):
                status = "skip"
            else:
                status = "pass"
            results.append({
                "num": int(m.group(2)) if m.group(2) else len(results) + 1,
                "name": (m.group(3) or "").strip(),
                "status": status, "directive": directive,
                "detail": "\n".join(pending)})
            pending = []
        elif ind >= level and not HEADER_RE.match(text):
            pending.append(line)
    return plan, results, bail


# ---------------------------------------------------------------- reports

STAMP_RE = re.compile(r"^\[\s*\d+\.\d+\]\s?(?:\[\s*[CT]\d+\]\s?)?")
REPORT_RE = re.compile(
    r"BUG: KASAN|BUG: KCSAN|\bBUG:|^WARNING:|kernel BUG at|\bOops\b|"
    r"general protection fault|UBSAN:|possible circular locking dependency|"
    r"inconsistent lock state|possible recursive locking|"
    r"sleeping function called from invalid context|suspicious RCU usage|"
    r"INFO: task .* blocked|Kernel panic - not syncing|"
    r"NMI received for unknown reason|Uhhuh\. NMI")
OURS_RE = re.compile(r"mpmcring|\bmpr_\w")
SEPARATOR_RE = re.compile(r"^={20,}\s*$")
BOXED_RE = re.compile(r"BUG: KASAN|BUG: KCSAN|UBSAN:")
MAX_REPORT_LINES = 200


def strip_stamp(line):
    return STAMP_RE.sub("", line.rstrip("\r\n"), count=1)


KCSAN_ACCESS_RE = re.compile(r"^(?:read|write|read-write|race at)\b.* (?:to|of) 0x[0-9a-f]+ .*by ")
# Generic helpers that touch memory on their caller's behalf: a race in one
# of them belongs to the function that called it.
KCSAN_HELPER_RE = re.compile(
    r"^(?:__)?(?:mem(?:cpy|set|move|cmp)\w*|_?copy_(?:to|from)_user\w*|raw_copy_\w+|"
    r"(?:get|put)_user\w*|str\w+|__tsan_\w+|kcsan_\w+|__kcsan_\w+)\+")


def names_ours(block):
    """Whether a report is about our code.

    A KCSAN report names the two racing functions in its header and prints
    the stack of each access. The race is ours when our code made one of
    the accesses: our function is in the header, or it is the first frame
    of an access after generic helpers (memcpy, copy_to_user, ...) that
    acted for it. A race between two base-kernel functions that our code
    merely called into is the base kernel's (6.1's page_has_type() read in
    vm_insert_pages(), annotated with data_race() upstream since; poll and
    hrtimer paths our wakeups pass through): a note, not a failure.
    Every other report is ours when any line of it mentions our code (the
    "Modules linked in:" list aside)."""
    if "BUG: KCSAN" in block[0]:
        if OURS_RE.search(block[0]):
            return True
        for i, l in enumerate(block):
            if KCSAN_ACCESS_RE.match(l.strip()):
                for f in block[i + 1:]:
                    f = f.strip()
                    if not f or KCSAN_HELPER_RE.match(f):
                        continue
                    if OURS_RE.search(f):
                        return True
                    break
        return False
    return any(OURS_RE.search(l) for l in block
               if not l.lstrip().startswith("Modules linked in:"))


def scan_reports(console_lines):
    """Kernel reports in a console log: list of (names_ours, header, block)."""
    lines = [strip_stamp(l) for l in console_lines]
    reports = []
    i = 0
    while i < len(lines):
        if not REPORT_RE.search(lines[i]):
            i += 1
            continue
        # KASAN, KCSAN and UBSAN put their reports between two lines of
        # '='; the others end with the stack trace or the end-trace line.
        boxed = (i > 0 and SEPARATOR_RE.match(lines[i - 1]) is not None
                 and BOXED_RE.search(lines[i]) is not None)
        block = [lines[i]]
        j = i + 1
        while j < len(lines) and len(block) < MAX_REPORT_LINES:
            l = lines[j]
            if boxed and SEPARATOR_RE.match(l):
                j += 1
                break
            if not boxed and REPORT_RE.search(l) and not re.search(
                    r"possible circular|inconsistent lock|possible recursive", l):
                break  # the next report starts
            block.append(l)
            j += 1
            if not boxed and ("---[ end trace" in l or l.strip() == "</TASK>"):
                # A WARN's trace ends with the end-trace line; take it along.
                if j < len(lines) and "---[ end trace" in lines[j]:
                    block.append(lines[j])
                    j += 1
                break
        ours = names_ours(block)
        reports.append((ours, lines[i].strip(), block))
        i = j
    return reports


# ---------------------------------------------------------------- guest results

def parse_results(path):
    """Sections of a guest's results port: (info, sections, done)."""
    info, sections, done = {}, [], False
    cur = None
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except OSError:
        data = ""
    for raw in data.splitlines():
        line = raw.rstrip("\r")
        if line.startswith("@@MPMCRING "):
            words = line.split()
            kind = words[1] if len(words) > 1 else ""
            t = re.search(r"\bt=([0-9.]+)", line)
            t = float(t.group(1)) if t else None
            if kind == "INFO" and len(words) > 2:
                k, _, v = line.split(" ", 2)[2].partition("=")
                info[k] = v
            elif kind == "BEGIN" and len(words) > 3:
                cur = {"kind": words[2], "name": words[3], "lines": [], "rc": None,
                       "t0": t, "t1": None}
                sections.append(cur)
            elif kind == "END" and cur is not None:
                m = re.search(r"\brc=(-?\d+)", line)
                cur["rc"] = int(m.group(1)) if m else -1
                cur["t1"] = t
                cur = None
            elif kind == "DONE":
                done = True
            continue
        if cur is not None:
            cur["lines"].append(line)
    return info, sections, done


def console_kunit_cases(console_lines, suite):
    """Case results of one suite as the console printed them (a fallback
    for results debugfs lost: each case's debugfs log holds 512 bytes)."""
    lines = [strip_stamp(l) for l in console_lines]
    start = None
    for i, l in enumerate(lines):
        if l.strip() == "# Subtest: %s" % suite:
            start = i
    if start is None:
        return {}
    level = indent_of(lines[start])
    doc = []
    for l in lines[start + 1:]:
        if indent_of(l) < level and RESULT_RE.match(l.strip()):
            break
        doc.append(l)
    _, results, _ = tap_level(doc, level)
    return {r["num"]: r for r in results}


def excerpt(text, n=30):
    lines = [l for l in text.splitlines() if l.strip()]
    if len(lines) > n:
        lines = lines[:n] + ["    ... (%d more lines)" % (len(lines) - n)]
    return "\n".join(lines)


def judge_kunit(kid, sec, console, logs):
    suite = sec["name"]
    base = "%s/kunit/%s" % (kid, suite)
    lines = sec["lines"]
    level = None
    for l in lines:
        if l.strip() == "# Subtest: %s" % suite:
            level = indent_of(l)
            break
    problems = []
    if sec["rc"] is None:
        problems.append("results were cut off (the guest died)")
    elif sec["rc"] != 0:
        problems.append("reading the results failed (rc=%d)" % sec["rc"])
    if level is None:
        R.add(base, "fail", "no KTAP suite header in the results\n" + excerpt("\n".join(lines)),
              logs)
        return
    plan, results, bail = tap_level(lines, level)
    top_plan, top, _ = tap_level(lines, 0)
    fallback = None
    seen = set()
    for r in results:
        seen.add(r["num"])
        detail = r["detail"] if r["status"] == "fail" else r["directive"]
        R.add("%s/%s" % (base, r["name"] or "#%d" % r["num"]), r["status"], excerpt(detail), logs)
    if plan is None:
        problems.append("no plan")
    else:
        for num in range(1, plan + 1):
            if num in seen:
                continue
            if fallback is None:
                fallback = console_kunit_cases(console, suite)
            r = fallback.get(num)
            if r:
                results.append(r)
                R.add("%s/%s" % (base, r["name"] or "#%d" % num), r["status"],
                      "(from the console: the debugfs log was full)\n" + excerpt(r["detail"]), logs)
            else:
                problems.append("case %d of %d has no result (ended early)" % (num, plan))
    if bail:
        problems.append(bail)
    if not top or top[-1]["status"] == "fail":
        if not problems and not any(r["status"] == "fail" for r in results):
            problems.append("the suite failed without a failed case%s" % (
                "" if top else " (no suite result)"))
    if problems:
        R.add(base, "fail", "; ".join(problems) + "\n" + excerpt("\n".join(lines), 40), logs)


def judge_vm(kid, sec, logs):
    prog = sec["name"]
    base = "%s/vm/%s" % (kid, prog)
    lines = sec["lines"]
    plan, results, bail = tap_level(lines, 0)
    # kselftest_harness.h (6.1) prints "ok N # SKIP reason" with no name:
    # take it from the "#  RUN  name ..." line before.
    for r in results:
        if not r["name"]:
            m = None
            for l in r["detail"].splitlines():
                m = re.match(r"^#\s+RUN\s+(\S+)", l.strip()) or m
            r["name"] = m.group(1) if m else "#%d" % r["num"]
    failed = False
    for r in results:
        detail = r["detail"] if r["status"] == "fail" else r["directive"]
        R.add("%s/%s" % (base, r["name"]), r["status"], excerpt(detail), logs)
        failed |= r["status"] == "fail"
    problems = []
    rc = sec["rc"]
    if rc is None:
        problems.append("did not finish (the guest died or hung here)")
    elif rc in (124, 137, 143):
        problems.append("timed out (rc=%d)" % rc)
    problems += tap_problems(plan, results, bail)
    skipped_all = plan == 0 and rc == 4
    if rc not in (None, 0, 124, 137, 143) and not failed and not skipped_all:
        problems.append("exited with status %d" % rc)
    if problems:
        R.add(base, "fail", "; ".join(problems) + "\n" + excerpt(tail("\n".join(lines), 30)), logs)


# ---------------------------------------------------------------- stages

def stage_deps():
    if os.environ.get("MPMCRING_DEPS", "1") == "0":
        progress("deps: skipped (MPMCRING_DEPS=0)")
        return True
    progress("deps: scripts/deps.sh")
    rc, out = run(["bash", os.path.join(REPO, "scripts/deps.sh")],
                  log=os.path.join(LOGS, "deps.log"))
    if rc != 0:
        R.add("deps", "fail", tail(out), [os.path.join(LOGS, "deps.log")])
        return False
    return True


def stage_host():
    script = os.path.join(REPO, "tests/host/run.sh")
    if os.environ.get("MPMCRING_HOST", "1") == "0":
        progress("host tests: skipped (MPMCRING_HOST=0)")
        return
    if not (os.path.isfile(script) and os.access(script, os.X_OK)):
        progress("host tests: none (tests/host/run.sh is not there)")
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


def stock_release(kid):
    rc, out = run(["bash", "-c", '. "$1/scripts/lib.sh"; stock_release "$2"', "-", REPO, kid])
    return out.strip() if rc == 0 else ""


def stage_kernels(kernels):
    """KDIR and image of each kernel; a kernel that cannot be had is a failure."""
    found = {}
    for kid in kernels:
        if kid in TEST_KERNELS:
            progress("test kernel %s: scripts/build-test-kernel.sh %s (cached after the first build)"
                     % (kid, kid))
            log = os.path.join(LOGS, kid, "kernel-build.log")
            p = subprocess.run(["bash", os.path.join(REPO, "scripts/build-test-kernel.sh"), kid],
                               cwd=REPO, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            err = p.stderr.decode("utf-8", "replace")
            os.makedirs(os.path.dirname(log), exist_ok=True)
            with open(log, "w") as f:
                f.write(err)
            kdir = p.stdout.decode().strip().splitlines()[-1] if p.stdout.strip() else ""
            image = os.path.join(kdir, "arch/x86/boot/bzImage")
            if p.returncode != 0 or not os.path.isfile(image):
                R.add("build/kernel-%s" % kid, "fail", tail(err), [log])
                continue
            R.add("build/kernel-%s" % kid, "pass")
            found[kid] = (kdir, image)
        else:
            release = stock_release(kid)
            kdir = "/lib/modules/%s/build" % release
            image = "/boot/vmlinuz-%s" % release
            if not release or not os.path.isfile(image) or not os.path.isdir(kdir):
                R.add("build/kernel-%s" % kid, "fail",
                      "stock kernel %s: image or headers not installed (scripts/deps.sh)" % kid)
                continue
            progress("stock kernel %s: %s" % (kid, release))
            found[kid] = (kdir, image)
    return found


def stage_modules(kernels):
    mods = {}
    for kid, (kdir, _) in kernels.items():
        out = os.path.join(BUILD, "modules", kid)
        progress("modules for %s (W=1): scripts/build-modules.sh" % kid)
        rc, text = run(["bash", os.path.join(REPO, "scripts/build-modules.sh"), kid, kdir, out])
        log = os.path.join(out, "build.log")
        if rc != 0:
            R.add("build/%s" % kid, "fail", tail(text, 60), [log])
            continue
        kos = [l.strip() for l in text.splitlines() if l.strip().endswith(".ko")]
        R.add("build/%s" % kid, "pass")
        mods[kid] = kos
    return mods


LINT_CHECKS = ["checkpatch", "kernel-doc", "sparse-6.1", "sparse-6.12", "clang-format",
               "cppcheck"]


def stage_lint():
    """Static checks (scripts/lint.sh), one test each: lint/<check>."""
    if os.environ.get("MPMCRING_LINT", "1") == "0":
        progress("static checks: skipped (MPMCRING_LINT=0)")
        return
    progress("static checks: scripts/lint.sh (%s)" % ", ".join(LINT_CHECKS))
    for check in LINT_CHECKS:
        log = os.path.join(LOGS, "lint", check + ".log")
        rc, out = run(["bash", os.path.join(REPO, "scripts/lint.sh"), check], log=log)
        R.add("lint/%s" % check, "pass" if rc == 0 else "fail", tail(out, 40), [log])


def stage_dkms(kernels, mods):
    """Stock kernels boot the modules DKMS installed, as a user's machine
    would: <k>/dkms is dkms add/build/install against that kernel's headers.
    When DKMS fails the guest still boots the modules built above."""
    for kid in kernels:
        if kid in TEST_KERNELS or kid not in mods:
            continue
        release = stock_release(kid)
        out = os.path.join(BUILD, "dkms", kid)
        log = os.path.join(LOGS, kid, "dkms.log")
        progress("DKMS for %s: scripts/dkms-install.sh %s" % (kid, release))
        rc, text = run(["bash", os.path.join(REPO, "scripts/dkms-install.sh"), release, out],
                       log=log)
        kos = [l.strip() for l in text.splitlines() if l.strip().endswith(".ko")]
        if rc != 0 or not kos:
            R.add("%s/dkms" % kid, "fail", tail(text, 40), [log])
            continue
        R.add("%s/dkms" % kid, "pass")
        mods[kid] = kos


def stage_vm_tests():
    srcdir = os.path.join(REPO, "tests/vm")
    if not os.path.isdir(srcdir):
        return []
    progs = sorted(f[:-2] for f in os.listdir(srcdir) if f.endswith(".c"))
    only = [p for p in os.environ.get("MPMCRING_VM_TESTS", "").split(",") if p]
    if only:
        progs = [p for p in progs if p in only]
    progress("VM test programs: make -C tests/vm (%s)" % (", ".join(progs) or "none"))
    built = []
    for prog in progs:
        binary = os.path.join(BUILD, "vm", "bin", prog)
        log = os.path.join(LOGS, "vm-build", prog + ".log")
        rc, out = run(["make", "-C", srcdir, "--no-print-directory", binary], log=log)
        if rc != 0 or not os.path.isfile(binary):
            R.add("build/vm/%s" % prog, "fail", tail(out, 40), [log])
            continue
        R.add("build/vm/%s" % prog, "pass")
        built.append(binary)
    return built


def stage_cli():
    """Programs for the guests' /bin, linked statically for busybox: the
    mpmcring tool (tests/vm/cli.c runs it) and the README's consumer,
    examples/consumer.c, built with pkg-config against a `make install`
    tree as a user would (tests/vm/example.c runs it)."""
    out = os.path.join(BUILD, "static-cli")
    binary = os.path.join(out, "tools", "mpmcring")
    log = os.path.join(LOGS, "vm-build", "mpmcring-cli.log")
    progress("the mpmcring tool and the example consumer, static")
    built = []
    rc, text = run(["make", "-C", os.path.join(REPO, "userspace"), "--no-print-directory",
                    "BUILD=" + out, "TOOLS_STATIC=1", "tools"], log=log)
    if rc != 0 or not os.path.isfile(binary):
        R.add("build/vm/mpmcring-cli", "fail", tail(text, 40), [log])
    else:
        R.add("build/vm/mpmcring-cli", "pass")
        built.append(binary)

    dest = os.path.join(BUILD, "static-install")
    example = os.path.join(out, "mpmcring-consumer-example")
    log = os.path.join(LOGS, "vm-build", "consumer-example.log")
    script = (
        'set -e; rm -rf "$1"; make -s -C "$2/userspace" install DESTDIR="$1" PREFIX=/usr; '
        'export PKG_CONFIG_SYSROOT_DIR="$1" PKG_CONFIG_LIBDIR="$1/usr/lib/pkgconfig"; '
        'cc -std=c11 -O2 -Wall -Wextra -Werror -static -o "$3" "$2/examples/consumer.c" '
        '$(pkg-config --cflags --libs --static mpmcring)')
    rc, text = run(["bash", "-c", script, "-", dest, REPO, example], log=log)
    if rc != 0 or not os.path.isfile(example):
        R.add("build/vm/consumer-example", "fail", tail(text, 40), [log])
    else:
        R.add("build/vm/consumer-example", "pass")
        built.append(example)
    return built


def stage_initramfs(kid, kos, progs, tools=()):
    out = os.path.join(BUILD, "initramfs", kid + ".cpio.gz")
    cmd = ["bash", os.path.join(REPO, "scripts/build-initramfs.sh"), "-o", out,
           "-i", os.path.join(REPO, "tests/harness/init.sh")]
    for k in kos:
        cmd += ["-m", k]
    for p in progs:
        cmd += ["-t", p]
    for p in tools:
        cmd += ["-b", p]
    rc, text = run(cmd)
    if rc != 0:
        R.add("%s/initramfs" % kid, "fail", tail(text))
        return None
    return out


def vm_timeout(kid):
    return env_int("MPMCRING_VM_TIMEOUT", 900 if kid in TEST_KERNELS else 600)


def monitor_dump(sock_path, out_path):
    """Asks a hung guest's qemu monitor where its vCPUs are and what their
    local APICs hold; writes it all to out_path, returns the RIPs."""
    cmds = ["info registers -a"] + ["info lapic %d" % i for i in range(GUEST_CPUS)]
    data = b""

    def read_prompts(s, want):
        # Until the monitor has printed `want` prompts in all: one on
        # connecting, then one after each answer.
        nonlocal data
        end = time.monotonic() + 5
        while time.monotonic() < end and data.count(b"(qemu)") < want:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return
            if not chunk:
                return
            data += chunk

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(sock_path)
            read_prompts(s, 1)
            for i, cmd in enumerate(cmds):
                s.sendall(cmd.encode() + b"\n")
                read_prompts(s, i + 2)
    except OSError as e:
        data += ("\n(monitor: %s)\n" % e).encode()
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", data.decode("utf-8", "replace"))
    with open(out_path, "w") as f:
        f.write(text)
    return re.findall(r"RIP=([0-9a-f]{16})", text)


def symbolize(addrs, system_map):
    """Names kernel addresses with System.map (guests boot with nokaslr)."""
    syms = []
    try:
        with open(system_map) as f:
            for line in f:
                a, t, name = line.split()[:3]
                if t in "tTwW":
                    syms.append((int(a, 16), name))
    except (OSError, ValueError):
        syms = []
    if len(syms) < 1000:  # Debian's stock System.map is a placeholder
        return ["%s (no System.map to name it)" % a for a in addrs]
    syms.sort()
    out = []
    for a in addrs:
        v = int(a, 16)
        lo, hi = 0, len(syms)
        while lo < hi:
            mid = (lo + hi) // 2
            if syms[mid][0] <= v:
                lo = mid + 1
            else:
                hi = mid
        if lo and v - syms[lo - 1][0] < 0x100000 and v < 0xffffffffa0000000:
            out.append("%s <%s+0x%x>" % (a, syms[lo - 1][1], v - syms[lo - 1][0]))
        elif v >= 0xffffffffa0000000:
            out.append("%s <in a module>" % a)
        else:
            out.append("%s <user space>" % a if v < 0x800000000000 else a)
    return out


KALLSYMS_INIT = r"""#!/bin/busybox sh
/bin/busybox mkdir -p /proc
/bin/busybox mount -t proc proc /proc
for a in $(echo "$ADDRS" | /bin/busybox tr , " "); do
    /bin/busybox awk -v a="$a" '$1 <= a && $2 ~ /^[tTwW]$/ && $1 > b { b = $1; n = $3 }
        END { print "SYM", a, b, n }' /proc/kallsyms
done
/bin/busybox reboot -f
"""


def kallsyms_lookup(image, addrs, workdir):
    """Names kernel addresses for a kernel without a real System.map (Debian's
    stock ones) by booting it once more, with nokaslr as the tests did, and
    asking its /proc/kallsyms. Only on a hang; a few seconds."""
    stage = tempfile.mkdtemp(prefix="mpr-ksyms.", dir=workdir)
    try:
        initrd = os.path.join(stage, "initrd.cpio.gz")
        root = os.path.join(stage, "root")
        os.makedirs(os.path.join(root, "bin"))
        shutil.copy("/bin/busybox", os.path.join(root, "bin", "busybox"))
        with open(os.path.join(root, "init"), "w") as f:
            f.write(KALLSYMS_INIT)
        os.chmod(os.path.join(root, "init"), 0o755)
        cpio = subprocess.run("find . | cpio -o -H newc --quiet", shell=True, cwd=root,
                              stdout=subprocess.PIPE, check=True).stdout
        with gzip.open(initrd, "wb", compresslevel=1) as f:
            f.write(cpio)
        out = os.path.join(stage, "out.log")
        subprocess.run(["qemu-system-x86_64", "-accel", "tcg,thread=multi", "-smp", "1",
                        "-m", "512M", "-nodefaults", "-display", "none", "-no-reboot",
                        "-kernel", image, "-initrd", initrd, "-append",
                        "console=ttyS0 nokaslr quiet ADDRS=%s" % ",".join(addrs),
                        "-serial", "file:" + out], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        names = {}
        for line in read_lines(out):
            w = line.split()
            if len(w) == 4 and w[0] == "SYM":
                names[w[1]] = "%s+0x%x" % (w[3], int(w[1], 16) - int(w[2], 16))
        return names
    except (OSError, subprocess.SubprocessError, ValueError):
        return {}
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def boot(kid, image, initrd, logdir, system_map=None):
    """Runs one guest; returns (status, seconds, where) with status
    ok/timeout/error:<rc>; where tells the vCPUs' places on a timeout."""
    console = os.path.join(logdir, "console.log")
    results = os.path.join(logdir, "results.log")
    test_timeout = env_int("MPMCRING_TEST_TIMEOUT", 400)
    cmdline = ["console=ttyS0", "panic=-1", "panic_on_warn=0", "nokaslr",
               "mpmcring_test_timeout=%d" % test_timeout]
    if kid in TEST_KERNELS:
        cmdline += ["kasan.fault=report", "kasan_multi_shot"]
    if kid in TEST_KERNELS:
        # The sanitizers make each sleep/wake cycle ~10x slower; 10^4
        # cycles there still cross every interleaving they sample (and
        # tests/vm/wait_modes.c covers every waiting mode besides), the
        # stock kernels run the full 10^5 (tests/vm/wakeup.c).
        cmdline.append("MPMCRING_WAKE_CYCLES=10000")
    only = os.environ.get("MPMCRING_VM_TESTS", "")
    if only:
        cmdline.append("mpmcring_tests=%s" % only)
    cmd = ["qemu-system-x86_64", "-accel", "tcg,thread=multi", "-smp", str(GUEST_CPUS), "-m", "3G",
           "-nodefaults", "-display", "none", "-no-reboot",
           "-kernel", image, "-initrd", initrd, "-append", " ".join(cmdline),
           "-serial", "file:" + console, "-serial", "file:" + results]
    with open(os.path.join(logdir, "qemu.cmd"), "w") as f:
        f.write(" ".join(shlex.quote(c) for c in cmd) + "\n")
    # A monitor socket (short path: sun_path is small), asked only on a hang.
    mondir = tempfile.mkdtemp(prefix="mpr-mon.")
    sock = os.path.join(mondir, "m")
    cmd += ["-monitor", "unix:%s,server=on,wait=off" % sock]
    t = time.monotonic()
    try:
        with open(os.path.join(logdir, "qemu.log"), "w") as qlog:
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=qlog,
                                 stderr=subprocess.STDOUT)
            status = wait_guest(p, t, vm_timeout(kid), results)
            if status != "ok":
                dump = os.path.join(logdir, "hang-registers.txt")
                rips = monitor_dump(sock, dump)
                p.kill()
                p.wait()
                named = symbolize(rips, system_map) if system_map else rips
                if any("no System.map" in n for n in named):
                    kernel_rips = sorted(set(r for r in rips if r.startswith("ffffffff8")))
                    syms = kallsyms_lookup(image, kernel_rips, logdir) if kernel_rips else {}
                    named = ["%s <%s>" % (r, syms[r]) if r in syms else r for r in rips]
                where = ["vCPU%d at %s" % (i, w) for i, w in enumerate(named)]
                return status, time.monotonic() - t, where
            rc = p.returncode
    finally:
        shutil.rmtree(mondir, ignore_errors=True)
    return ("ok" if rc == 0 else "error:%d" % rc), time.monotonic() - t, []


def read_lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []


def boot_timeout():
    return env_int("MPMCRING_BOOT_TIMEOUT", 150)


def wait_guest(p, t0, timeout, results):
    """Waits for qemu to exit: "ok" when it did (whatever its status),
    "timeout" at the guest's timeout, "stuck-boot" when the kernel has not
    started init (no INFO line on the results port) within boot_timeout()."""
    started = False
    while True:
        try:
            p.wait(timeout=2)
            return "ok"
        except subprocess.TimeoutExpired:
            pass
        elapsed = time.monotonic() - t0
        if elapsed >= timeout:
            return "timeout"
        if not started and elapsed >= boot_timeout():
            started = any(l.startswith("@@MPMCRING INFO kernel=") for l in read_lines(results))
            if not started:
                return "stuck-boot"


def run_guest(kid, image, initrd):
    """Boots one guest to its end; returns boot()'s (status, seconds, where).

    A kernel that has not started init within boot_timeout() is stopped
    there, not at the guest's timeout, with the monitor's dump of where
    its vCPUs were: 6.1's rcu-tasks boot deadlock showed itself that way
    (tests/kernel-patches/linux-6.1-rcu-tasks-wait-unlocked.patch)."""
    logdir = os.path.join(LOGS, kid)
    for f in ("console.log", "results.log", "qemu.cmd", "qemu.log", "hang-registers.txt"):
        try:
            os.unlink(os.path.join(logdir, f))
        except FileNotFoundError:
            pass
    os.makedirs(logdir, exist_ok=True)
    progress("boot %s (timeout %ds): logs in %s" % (kid, vm_timeout(kid), rel(logdir)))
    if kid in TEST_KERNELS:
        system_map = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.dirname(image)))), "System.map")
    else:
        system_map = "/boot/System.map-" + os.path.basename(image)[len("vmlinuz-"):]
    return boot(kid, image, initrd, logdir, system_map)


def guest_slots():
    """How many guests run at once: MPMCRING_GUESTS, else one per host CPU
    (a TCG guest with 2 vCPUs keeps about 1.3 host CPUs busy: two on two
    CPUs finish sooner than one after the other)."""
    return max(1, env_int("MPMCRING_GUESTS", min(len(ALL_KERNELS), os.cpu_count() or 1)))


def step_end(sec):
    """How a guest's step ended, for a failure message."""
    if sec["rc"] is None:
        return "did not finish: the guest stopped in it"
    return "failed (exit status %d)" % sec["rc"]


def judge_guest(kid, kos, status, secs, where):
    """Turns one finished guest's results port and console into results."""
    logdir = os.path.join(LOGS, kid)
    console_log = os.path.join(logdir, "console.log")
    results_log = os.path.join(logdir, "results.log")
    logs = [results_log, console_log]
    console = read_lines(console_log)
    info, sections, done = parse_results(results_log)
    progress("%s: guest %s after %.0fs (kernel %s)" % (
        kid, "finished" if status == "ok" and done else "FAILED: " + status,
        secs, info.get("kernel", "?")))

    spent = ["%s %s %.0fs" % (x["kind"], x["name"], x["t1"] - x["t0"]) for x in sections
             if x["t0"] is not None and x["t1"] is not None and x["t1"] - x["t0"] >= 1]
    if spent:
        progress("%s: time in the guest: %s" % (kid, ", ".join(spent)))

    # The guest's own results, in the order it produced them.
    kunit_seen = False
    for sec in sections:
        kind, name = sec["kind"], sec["name"]
        if kind == "insmod":
            ok = sec["rc"] == 0
            R.add("%s/insmod/%s" % (kid, name), "pass" if ok else "fail",
                  "insmod %s\n%s" % (step_end(sec), excerpt("\n".join(sec["lines"])))
                  if not ok else "", logs)
        elif kind == "kunit":
            kunit_seen = True
            judge_kunit(kid, sec, console, logs)
        elif kind == "vm":
            judge_vm(kid, sec, logs)
        elif kind == "rmmod":
            ok = sec["rc"] == 0
            R.add("%s/rmmod/%s" % (kid, name), "pass" if ok else "fail",
                  "rmmod %s\n%s" % (step_end(sec), excerpt("\n".join(sec["lines"])))
                  if not ok else "", logs)
        elif kind == "leftover":
            ok = sec["rc"] == 0
            R.add("%s/rmmod" % kid, "pass" if ok else "fail",
                  "modules still loaded at the end:\n" + "\n".join(sec["lines"]) if not ok else "",
                  logs)

    has_test_module = any(os.path.basename(k) == "mpmcring_test.ko" for k in kos)
    loaded_test = any(s["kind"] == "insmod" and s["name"] == "mpmcring_test" and s["rc"] == 0
                      for s in sections)
    if has_test_module and loaded_test and not kunit_seen:
        R.add("%s/kunit" % kid, "fail",
              "mpmcring_test.ko loaded but no suite left results in /sys/kernel/debug/kunit",
              logs)

    # Did the guest get to the end?
    if status == "ok" and done:
        R.add("%s/boot" % kid, "pass")
    else:
        if status in ("timeout", "stuck-boot"):
            why = ("the guest did not finish within %ds (MPMCRING_VM_TIMEOUT)" % vm_timeout(kid)
                   if status == "timeout" else
                   "the kernel did not start init within %ds (MPMCRING_BOOT_TIMEOUT)" %
                   boot_timeout())
            if where:
                why += "; when stopped: " + ", ".join(where) + " (registers: %s)" % rel(
                    os.path.join(logdir, "hang-registers.txt"))
        elif status != "ok":
            why = "qemu failed (%s): see %s" % (status, rel(os.path.join(logdir, "qemu.log")))
        else:
            why = "the guest stopped before the end (panic or init died)"
        open_secs = [s for s in sections if s["rc"] is None]
        if open_secs:
            why += "; it was in: %s %s" % (open_secs[-1]["kind"], open_secs[-1]["name"])
        R.add("%s/boot" % kid, "fail", why + "\nconsole tail:\n" + tail("\n".join(console), 25),
              logs)

    # Kernel reports on the console: ours fail, the base kernel's are notes.
    reports = scan_reports(console)
    ours = [r for r in reports if r[0]]
    theirs = [r for r in reports if not r[0]]
    if ours:
        text = "%d report(s) name mpmcring code:\n" % len(ours)
        text += "\n".join("  " + r[1] for r in ours[:10])
        for r in ours[:3]:
            text += "\n---- %s\n%s" % (r[1], excerpt("\n".join(r[2]), 40))
        R.add("%s/reports" % kid, "fail", text, [console_log])
    else:
        R.add("%s/reports" % kid, "pass")
    if theirs:
        heads = []
        for r in theirs:
            if r[1] not in heads:
                heads.append(r[1])
        say_line("note: %s: %d kernel report(s) that do not name our code (not failures):" %
                 (kid, len(theirs)))
        for h in heads[:8]:
            say_line("note:   " + h[:200])


# ---------------------------------------------------------------- main

def main():
    kernels = [k.strip() for k in os.environ.get("MPMCRING_KERNELS", ",".join(ALL_KERNELS)).split(",")
               if k.strip()]
    bad = [k for k in kernels if k not in ALL_KERNELS]
    if bad:
        sys.exit("error: MPMCRING_KERNELS: unknown kernel(s) %s (known: %s)" %
                 (", ".join(bad), ", ".join(ALL_KERNELS)))
    os.makedirs(LOGS, exist_ok=True)
    progress("mpmcring check: kernels %s" % ", ".join(kernels))

    if stage_deps():
        found = stage_kernels(kernels)
        mods = stage_modules(found)
        stage_dkms(kernels, mods)
        progs = stage_vm_tests()
        tools = stage_cli()
        initrds = {}
        for kid in kernels:
            if kid in mods:
                initrds[kid] = stage_initramfs(kid, mods[kid], progs, tools)
        guests = [k for k in kernels if initrds.get(k)]
        slots = guest_slots()
        progress("guests: %s, %d at a time (MPMCRING_GUESTS)" % (", ".join(guests), slots))
        # Started heavy, light, heavy, light...: two sanitizer kernels side
        # by side slow each other's sleep/wake tests the most.
        heavy = [k for k in guests if k in TEST_KERNELS]
        light = [k for k in guests if k not in TEST_KERNELS]
        order = []
        while heavy or light:
            order += heavy[:1] + light[:1]
            heavy, light = heavy[1:], light[1:]
        with concurrent.futures.ThreadPoolExecutor(max_workers=slots) as pool:
            futs = {kid: pool.submit(run_guest, kid, found[kid][1], initrds[kid])
                    for kid in order}
            running = [(kid, futs[kid]) for kid in guests]
            # The host's own tests and checks while the guests run: a
            # guest leaves part of the host's CPUs idle.
            stage_host()
            stage_lint()
            for kid, fut in running:  # judged in kernel order
                judge_guest(kid, mods[kid], *fut.result())

    # Summary: failures with their logs, then one line per kernel.
    fails = R.failures()
    if fails:
        print("\n======== failures ========")
        for name, _, detail, logs in fails:
            print("FAIL %s" % name)
            for l in excerpt(detail, 60).splitlines():
                print("    " + l)
            for lg in logs:
                print("    log: %s" % lg)
    print("\n======== summary ========")
    groups = ["deps", "host/", "lint/", "build/"] + ["%s/" % k for k in kernels]
    for g in groups:
        c = R.count(g)
        if sum(c.values()):
            print("%-16s passed %d, failed %d, skipped %d" % (
                g.rstrip("/"), c["pass"], c["fail"], c["skip"]))
    c = R.count()
    progress("done")
    print("%d passed, %d failed, %d skipped" % (c["pass"], c["fail"], c["skip"]))
    return 1 if c["fail"] or not R.tests else 0


if __name__ == "__main__":
    sys.exit(main())
