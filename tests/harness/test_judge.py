# SPDX-License-Identifier: GPL-2.0-only
"""Unit tests of judge.py's checks that need no guest."""
import contextlib
import io
import os
import tempfile
import unittest

import judge
from common import R
from judge import judge_detectors
from reports import Ownership

ARMED = "soft_watchdog=1 nmi_watchdog=0 hung_task_timeout_secs=30 rcu_cpu_stall_timeout=15"


def verdict(kid, text):
    before = len(R.failures())
    judge_detectors(kid, text, [])
    fails = R.failures()[before:]
    return fails[0][2] if fails else None


class Detectors(unittest.TestCase):
    def test_stock_armed(self):
        self.assertIsNone(verdict("stock-6.1", ARMED + " panic_on_warn=0"))

    def test_kcsan_off_fails(self):
        self.assertIn("kcsan: absent", verdict("kcsan", ARMED))
        self.assertIsNone(verdict("kcsan", ARMED + " kcsan=on"))

    def test_debug_needs_lockdep_and_kmemleak(self):
        self.assertIn("kmemleak: absent", verdict("debug", ARMED + " lockdep=on"))
        self.assertIsNone(verdict("debug-6.12", ARMED + " lockdep=on kmemleak=on"))

    def test_soft_lockup_detector_off_fails(self):
        text = ARMED.replace("soft_watchdog=1", "soft_watchdog=0")
        self.assertIn("soft_watchdog=0: off", verdict("stock-6.12", text))

    def test_nothing_read_fails(self):
        self.assertIn("hung_task_timeout_secs: absent", verdict("stock-6.12-rt", ""))


SEP = "=" * 66
POLLWAKE = [SEP, "BUG: KCSAN: data-race in poll_schedule_timeout.constprop.0 / pollwake", "",
            "write to 0xffffc90000173c50 of 4 bytes by interrupt on cpu 0:",
            " pollwake+0x9d/0xe9", " mpmcring_wake_in+0x61/0x68 [mpmcring]", SEP]
OUR_WARN = ["WARNING: CPU: 0 PID: 1 at kmod/ring.c:1 mpr_x+0x1/0x2 [mpmcring]",
            "---[ end trace 0000000000000000 ]---"]


class Reports(unittest.TestCase):
    def judge(self, console, known_file=None):
        R.tests, quiet, R.quiet = [], R.quiet, True
        out = io.StringIO()
        old = judge.KNOWN_RACES
        if known_file:
            judge.KNOWN_RACES = known_file
        try:
            with contextlib.redirect_stdout(out):
                judge.judge_reports("kcsan", console, Ownership(), "console.log")
        finally:
            judge.KNOWN_RACES, R.quiet = old, quiet
        (name, status, detail, _), = R.tests
        return status, detail, out.getvalue()

    def test_known_races_counted_and_unmatched_named(self):
        status, _, out = self.judge(POLLWAKE + POLLWAKE)
        self.assertEqual(status, "pass")
        self.assertRegex(out, r"known races \(tests/kcsan-known-races.txt\) matched: "
                              r"kcsan-known-races.txt:\d+ 2x")
        self.assertIn("known races that matched no report in this run: kcsan-known-races.txt:",
                      out)

    def test_broken_list_does_not_hide_our_reports(self):
        # Review should-fix 11: the list's error was the whole failure.
        fd, bad = tempfile.mkstemp()
        with os.fdopen(fd, "w") as f:
            f.write("pollwake do_sys_poll kcsan\n")
        try:
            status, detail, _ = self.judge(OUR_WARN, bad)
        finally:
            os.unlink(bad)
        self.assertEqual(status, "fail")
        self.assertIn("want: <function> <function> <kernels> <memory> <why>", detail)
        self.assertIn("ours: WARNING: CPU: 0 PID: 1 at kmod/ring.c:1 mpr_x", detail)


class WholeProgramSkip(unittest.TestCase):
    def test_skipped_all_is_a_skip_with_its_reason(self):
        R.tests, quiet, R.quiet = [], R.quiet, True
        try:
            judge.judge_vm("debug", {"name": "bpf", "rc": 4, "forged": [], "lines": [
                "TAP version 13", "1..0 # SKIP no BTF in this kernel"]}, [])
        finally:
            R.quiet = quiet
        self.assertEqual([t[:3] for t in R.tests],
                         [("debug/vm/bpf", "skip", "no BTF in this kernel")])


class ForgedMarkers(unittest.TestCase):
    """Review 14: a program that prints its own END (with rc=0) after a
    passing document fails, though every result and its exit say pass."""

    def setUp(self):
        self.saved = R.tests, R.quiet
        R.tests, R.quiet = [], True

    def tearDown(self):
        R.tests, R.quiet = self.saved

    def test_forged_end_fails_the_program(self):
        forged = ["@@MPMCRING END vm p rc=0 t=1.00", "@@MPMCRING DONE"]
        judge.judge_vm("stock-6.1", {"name": "p", "rc": 0, "forged": forged,
                                     "lines": ["TAP version 13", "1..1", "ok 1 a"] + forged}, [])
        self.assertEqual([t[:2] for t in R.tests],
                         [("stock-6.1/vm/p/a", "pass"), ("stock-6.1/vm/p", "fail")])
        self.assertIn("forged framing: 2 line(s) look like results-port markers but lack this "
                      "boot's token", R.tests[1][2])

    def test_forged_outside_a_program_fails_boot(self):
        judge.judge_boot("stock-6.1", "ok", 1, [], [], True, ["@@MPMCRING DONE"], [], [])
        self.assertEqual(R.tests[0][:2], ("stock-6.1/boot", "fail"))
        self.assertIn("forged framing: 1 line(s)", R.tests[0][2])

    def test_clean_boot_passes(self):
        judge.judge_boot("stock-6.1", "ok", 1, [], [], True, [], [], [])
        self.assertEqual(R.tests[0][:2], ("stock-6.1/boot", "pass"))


if __name__ == "__main__":
    unittest.main()
