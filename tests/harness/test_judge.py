# SPDX-License-Identifier: GPL-2.0-only
"""Unit tests of judge.py's checks that need no guest."""
import unittest

from common import R
from judge import judge_detectors

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


if __name__ == "__main__":
    unittest.main()
