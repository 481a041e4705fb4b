#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The mpmcring test runner (make check).

A test's path, file by file:
  build.py      deps, test kernels (cached), modules for every kernel (W=1,
                warnings fail), DKMS installs on the stock kernels, VM test
                programs, one initramfs per kernel (init.sh is its /init)
  boot.py       one qemu guest per kernel, as many at once as the host has
                CPUs; hang.py names where a stuck guest's vCPUs were
  host.py       meanwhile on the host: host tests and static checks
  demo.py       then make demo (scripts/demo.sh) on stock 6.1, judged too
  parse.py      TAP/KTAP and the guest's results port
  reports.py    kernel reports on the console and kmemleak's list; ours or not
  judge.py      a finished guest's sections and reports into results
  inventory.py  what ran against tests/inventory.txt
  summary.py    failures, allowed skips, totals

The test kernels (debug: 6.1 with KASAN, lockdep, UBSAN, kmemleak;
kcsan-6.12: 6.12 with KCSAN, lockdep, UBSAN, kmemleak) run the KUnit
suites and the VM tests, the stock Debian kernels run the VM tests.

Every result is one test with a name:
  host/<test>                        tests/host/run.sh (TAP)
  lint/<check>                       scripts/lint.sh: checkpatch, kernel-doc,
                                     sparse, clang-format, cppcheck
  build/kernel-<k>, build/<k>        the test kernel, the modules for <k>
  build/vm/<prog>                    a VM test program
  <k>/boot                           the guest ran to the end in time
  <k>/detectors                      the guest armed the detectors it needs
  <k>/cpus                           the guest has every vCPU qemu gave it
  <k>/insmod/<module>                a module loaded
  <k>/kunit/<suite>/<case>           one KUnit case (KTAP from debugfs)
  <k>/vm/<prog>/<test>               one kselftest-harness test (TAP)
  <k>/dkms                           stock kernels: dkms add/build/install
                                     in a private tree (build/dkms/<k>)
  <k>/rmmod/<module>, <k>/rmmod      a module unloaded; none left behind
  <k>/reports                        no kernel report (KASAN, KCSAN, UBSAN,
                                     lockdep, WARNING, BUG, Oops, soft or
                                     hard lockup, RCU stall, hung task)
                                     names our code
  <k>/lockdep                        lockdep still on at the end of the guest
  <k>/leaks                          kmemleak finds no leak of our code
  stock-6.1/demo                     make demo got through, and no kernel
                                     report names our code
  inventory/...                      something missing, unlisted, run
                                     twice, or skipped without leave
Extra tests named <k>/kunit/<suite> or <k>/vm/<prog> fail when a document
has no plan, ends early, or a program exits non-zero (or is killed by a
signal) for no failed test.

The inventory, tests/inventory.txt, lists what must run: per kernel every
KUnit case and VM test by name, every guest step, every host test and
static check, and the skips allowed with their reasons. When the knobs
below ask for a subset, only that subset is required, and the summary
says so. When the run and the inventory disagree, the summary lists the
inventory lines to add and remove for them to match.

Knobs (environment):
  MPMCRING_KERNELS       comma list (default: debug,kcsan-6.12,stock-6.1,stock-6.12,
                         stock-6.12-rt)
  MPMCRING_HOST=0        skip the host tests
  MPMCRING_LINT=0        skip the static checks (lint/*: scripts/lint.sh)
  MPMCRING_DEMO=0        skip make demo (stock-6.1/demo; runs when stock-6.1 does)
  MPMCRING_DEPS=0        skip scripts/deps.sh
  MPMCRING_VM_TIMEOUT    seconds for each guest (default: 2100 test kernels, 900 stock)
  MPMCRING_BOOT_TIMEOUT  seconds for a kernel to start init (default 150): past
                         that the guest is stopped (see boot.run_guest())
  MPMCRING_TEST_TIMEOUT  seconds for each test program inside a guest (default 400)
  MPMCRING_LINT_TIMEOUT  seconds for each static check (default 1200); each host
                         test has MPMCRING_HOST_TEST_TIMEOUT (tests/host/run.sh)
  MPMCRING_VM_TESTS      comma list: run only these VM test programs
  MPMCRING_GUESTS        guests that run at once (default: one per host CPU)
  MPMCRING_HOST_NICE     niceness of the host tests and static checks, which run
                         beside the guests (default 0; host.niced() says what 10
                         did)
  MPMCRING_INVENTORY     another inventory file
  MPMCRING_CMDLINE       extra words for the kernel command line of make check's
                         guests (one that leaves the tests fewer CPUs, maxcpus=1,
                         fails <k>/cpus)

Reports: the console (ttyS0) is scanned for kernel reports. One that names
our code (mpmcring, mpr_*, or a frame in the module area: our guests load
only our modules) fails <k>/reports; the others are counted and printed as
notes. A KCSAN report is ours when our code is within the first few frames
of either access, or when the racing address is our module's data or one
of our objects while it was alive (reports.py). At the end of each guest
init.sh asks kmemleak for a scan (<k>/leaks) and lockdep whether it is
still on (<k>/lockdep).

A guest that hangs is stopped at its timeout; before that the qemu monitor
tells where each vCPU is (named with System.map, or for Debian's kernels by
asking /proc/kallsyms of a second short boot; guests boot with nokaslr) and
what its local APIC holds (build/logs/<kernel>/hang-registers.txt).

Logs: build/logs/<kernel>/{console.log,results.log,qemu.cmd,hang-registers.txt}
(boot-1/: a first boot that died of qemu's stale int3 before init, docs/testing.md),
build/logs/host, build/modules/<kernel>/build.log. The last line is
"N passed, N failed, N skipped"; the exit status is non-zero on any failure.
"""
import concurrent.futures
import os
import sys
import traceback

from common import ALL_KERNELS, LOGS, R, TEST_KERNELS, env_list, progress
import boot
import build
import demo
import host
import inventory
import judge
import summary


def main():
    host.host_nice()  # a bad value stops the run here, not after the guests
    kernels = env_list("MPMCRING_KERNELS") or list(ALL_KERNELS)
    bad = [k for k in kernels if k not in ALL_KERNELS]
    if bad:
        sys.exit("error: MPMCRING_KERNELS: unknown kernel(s) %s (known: %s)" %
                 (", ".join(bad), ", ".join(ALL_KERNELS)))
    inv = inventory.Inventory(inventory.inventory_path())
    os.makedirs(LOGS, exist_ok=True)
    progress("mpmcring check: kernels %s" % ", ".join(kernels))

    scope_text, allowed, stale, edits = "", [], [], []
    try:
        scope_text, allowed, stale = run_stages(kernels, inv, edits)
    except Exception:  # a bug of the runner's own: still a red summary line
        R.add("harness", "fail", "the runner itself failed:\n" + traceback.format_exc())
    return summary.print_summary(kernels, scope_text, allowed, stale, edits)


def run_stages(kernels, inv, edits):
    """Every stage; returns what the summary says of the inventory, and
    appends to `edits` the inventory lines to change for this run."""
    scope_text, allowed, stale = "", [], []
    if build.stage_deps():
        found = build.stage_kernels(kernels)
        mods = build.stage_modules(found)
        build.stage_dkms(kernels, mods)
        progs = build.stage_vm_tests()
        tools = build.stage_cli()
        initrds = {}
        for kid in kernels:
            if kid in mods:
                initrds[kid] = build.stage_initramfs(kid, mods[kid], progs, tools)
        guests = [k for k in kernels if initrds.get(k)]
        judge.SYSTEM_MAPS.update((k, os.path.join(found[k][0], "System.map"))
                                 for k in guests if k in TEST_KERNELS)
        slots = boot.guest_slots()
        progress("guests: %s, %d at a time (MPMCRING_GUESTS)" % (", ".join(guests), slots))
        with concurrent.futures.ThreadPoolExecutor(max_workers=slots) as pool:
            futs = {kid: pool.submit(boot.run_guest, kid, found[kid][0], found[kid][1],
                                     initrds[kid])
                    for kid in boot.guest_order(guests)}
            # The host's own tests and checks while the guests run: a
            # guest leaves part of the host's CPUs idle. The static checks
            # run beside the host tests, not after them: the host tests are
            # one serial chain that outlasts the guests, and the checks
            # after it were a tail with one CPU busy (79 s from nothing).
            with concurrent.futures.ThreadPoolExecutor(max_workers=1) as lint_pool:
                lint = lint_pool.submit(host.stage_lint)
                host.stage_host()
                lint.result()
            for kid in guests:  # judged in kernel order
                judge.judge_guest(kid, mods[kid], *futs[kid].result())
        # make demo, alone once the guests are done (demo.py says why).
        demo.stage_demo([k for k in kernels if k in mods])

        # Did everything that must run, run?
        scope = inventory.Scope(kernels, env_list("MPMCRING_VM_TESTS"), host.host_enabled(),
                                host.lint_enabled(), demo.demo_enabled(kernels))
        problems, allowed, stale = inventory.check(inv, scope, R.tests, edits)
        for name, detail in problems:
            R.add(name, "fail", detail, [inv.path])
        if not problems:
            R.add("inventory", "pass")
        scope_text = scope.describe(inv)
    return scope_text, allowed, stale


if __name__ == "__main__":
    sys.exit(main())
