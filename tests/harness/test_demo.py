# SPDX-License-Identifier: GPL-2.0-only
"""Unit tests of demo.py: which kernel reports in make demo's console fail
it (make check-harness runs them; the demo-warn plant runs the real one)."""
import os
import subprocess
import sys
import tempfile
import unittest

import demo

THEIRS = ["[   40.1] WARNING: CPU: 1 PID: 7 at kernel/time/tick-sched.c:1 tick_x+0x1/0x2",
          "[   40.1] Modules linked in: mpmcring_events(OE) mpmcring(OE)",
          "[   40.1] Call Trace:", "[   40.1]  <TASK>", "[   40.1]  tick_x+0x1/0x2",
          "[   40.1]  </TASK>", "[   40.1] ---[ end trace 0000000000000000 ]---"]
OURS = ["[   41.2] WARNING: CPU: 0 PID: 1 at kmod/produce.c:1 mpmcring_reserve+0x1/0x2 [mpmcring]",
        "[   41.2] Call Trace:", "[   41.2]  <TASK>", "[   41.2]  mpmcring_reserve+0x1/0x2 [mpmcring]",
        "[   41.2]  </TASK>", "[   41.2] ---[ end trace 0000000000000000 ]---"]
# The demo's own output, which names mpmcring everywhere
AROUND = ["### the kernel log", "$ dmesg | grep -cE \"$pattern\"   (lines of kernel reports)", "7"]
AFTER = ["mpmcring-demo: FAILED at step_flood", "$ rmmod mpmcring", "mpmcring-demo: ok"]


def console(log, end=True):
    return (AROUND + [demo.LOG_BEGIN] + log + ([demo.LOG_END] if end else []) + AFTER)


class Judge(unittest.TestCase):
    def test_no_log_printed(self):
        self.assertEqual(demo.judge(AROUND + AFTER), ([], []))

    def test_theirs_is_a_note(self):
        ours, theirs = demo.judge(console(THEIRS))
        self.assertEqual(ours, [])
        self.assertEqual(len(theirs), 1)
        self.assertIn("note: a kernel report of the base kernel", demo.describe(ours, theirs)[0])

    def test_ours_fails(self):
        ours, theirs = demo.judge(console(THEIRS + OURS))
        self.assertEqual((len(ours), len(theirs)), (1, 1))
        self.assertIn("mpmcring_reserve", ours[0].header)

    def test_unended_report_does_not_run_into_the_demo_output(self):
        # No end-trace line: its block must stop at the log's end marker,
        # not take in the demo's lines that name mpmcring.
        ours, theirs = demo.judge(console(THEIRS[:1]))
        self.assertEqual((len(ours), len(theirs)), (0, 1))

    def test_log_cut_short_is_still_judged(self):
        ours, _ = demo.judge(AROUND + [demo.LOG_BEGIN] + OURS[:2])
        self.assertEqual(len(ours), 1)

    def test_report_outside_the_log_is_not_read(self):
        # The console's own copy is in the log too whenever init got there;
        # outside it only the demo's text can be.
        ours, theirs = demo.judge(AROUND + ["WARNING: mpmcring demo text"] + AFTER)
        self.assertEqual((ours, theirs), ([], []))

    def test_cli_exit_status(self):
        here = os.path.dirname(os.path.abspath(__file__))
        for log, want in ((THEIRS, 0), (THEIRS + OURS, 1)):
            with tempfile.NamedTemporaryFile("w", suffix=".log") as f:
                f.write("\n".join(console(log)) + "\n")
                f.flush()
                p = subprocess.run([sys.executable, os.path.join(here, "demo.py"), f.name],
                                   capture_output=True, text=True)
            self.assertEqual(p.returncode, want, p.stdout + p.stderr)


class Enabled(unittest.TestCase):
    def test_knob_and_kernel(self):
        old = os.environ.pop("MPMCRING_DEMO", None)
        try:
            self.assertTrue(demo.demo_enabled(["debug", "stock-6.1"]))
            self.assertFalse(demo.demo_enabled(["debug", "stock-6.12"]))
            os.environ["MPMCRING_DEMO"] = "0"
            self.assertFalse(demo.demo_enabled(["stock-6.1"]))
        finally:
            os.environ.pop("MPMCRING_DEMO", None)
            if old is not None:
                os.environ["MPMCRING_DEMO"] = old


if __name__ == "__main__":
    unittest.main()
