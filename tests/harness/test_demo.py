# SPDX-License-Identifier: GPL-2.0-only
"""Unit tests of demo.py: which kernel reports in make demo's console fail
it (make check-harness runs them; the demo-warn plant runs the real one)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import common
import demo
import boot

THEIRS = ["[   40.1] WARNING: CPU: 1 PID: 7 at kernel/time/tick-sched.c:1 tick_x+0x1/0x2",
          "[   40.1] Modules linked in: mpmcring_events(OE) mpmcring(OE)",
          "[   40.1] Call Trace:", "[   40.1]  <TASK>", "[   40.1]  tick_x+0x1/0x2",
          "[   40.1]  </TASK>", "[   40.1] ---[ end trace 0000000000000000 ]---"]
OURS = ["[   41.2] WARNING: CPU: 0 PID: 1 at kmod/produce.c:1 mpmcring_reserve+0x1/0x2 [mpmcring]",
        "[   41.2] Call Trace:", "[   41.2]  <TASK>", "[   41.2]  mpmcring_reserve+0x1/0x2 [mpmcring]",
        "[   41.2]  </TASK>", "[   41.2] ---[ end trace 0000000000000000 ]---"]
# The demo's own output, which names mpmcring everywhere
HEAD = ["### the kernel log", "$ dmesg | grep -cE \"$pattern\"   (lines of kernel reports)"]
AFTER = ["mpmcring-demo: FAILED at step_flood", "$ rmmod mpmcring", "mpmcring-demo: ok"]
NOLOG = HEAD + ["0"]  # init found no report line: no log printed


def counted(log):
    """init's count line for a log: the lines its grep -c matches."""
    return HEAD + [str(sum(1 for l in log if demo.COUNTED_RE.search(l)))]


def console(log, end=True):
    return (counted(log) + [demo.LOG_BEGIN] + log + ([demo.LOG_END] if end else []) + AFTER)


# A crash of ours in PID 1 (the demo's write(2)): printed at error level,
# so on the console, and init never gets to print the kernel log.
OOPS = ["[    3.1] BUG: kernel NULL pointer dereference, address: 0000000000000000",
        "[    3.1] Oops: 0000 [#1] PREEMPT SMP NOPTI",
        "[    3.1] CPU: 0 PID: 1 Comm: init Tainted: G           OE      6.1.0-57-amd64 #1",
        "[    3.1] RIP: 0010:mpmcring_write+0x10/0x100 [mpmcring]",
        "[    3.1] Call Trace:", "[    3.1]  <TASK>",
        "[    3.1]  mpmcring_write+0x10/0x100 [mpmcring]", "[    3.1]  </TASK>",
        "[    3.1] ---[ end trace 0000000000000000 ]---",
        "[    3.2] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000009"]


def judged(lines):
    """(problems, ours, theirs) as counts."""
    return tuple(len(x) for x in demo.judge(lines))


class Judge(unittest.TestCase):
    def test_no_log_printed(self):
        self.assertEqual(judged(NOLOG + AFTER), (0, 0, 0))

    def test_lost_console_lines_fail(self):
        problems, ours, _ = demo.judge(NOLOG + ["** 12 printk messages dropped **"] + AFTER)
        self.assertEqual(problems, ["the console lost lines (** 12 printk messages dropped **): "
                                    "a report of our code may be among them"])
        self.assertEqual(ours, [])

    def test_theirs_is_a_note(self):
        problems, ours, theirs = demo.judge(console(THEIRS))
        self.assertEqual((problems, ours, len(theirs)), ([], [], 1))
        self.assertIn("note: a kernel report of the base kernel",
                      demo.describe(problems, ours, theirs)[0])

    def test_ours_fails(self):
        _, ours, theirs = demo.judge(console(THEIRS + OURS))
        self.assertEqual((len(ours), len(theirs)), (1, 1))
        self.assertIn("mpmcring_reserve", ours[0].header)

    def test_unended_report_does_not_run_into_the_demo_output(self):
        # No end-trace line: its block must stop at the log's end marker,
        # not take in the demo's lines that name mpmcring.
        self.assertEqual(judged(console(THEIRS[:1])), (0, 0, 1))

    def test_log_cut_short_is_still_judged(self):
        self.assertEqual(judged(counted(OURS[:2]) + [demo.LOG_BEGIN] + OURS[:2])[1], 1)

    def test_demo_text_outside_the_log_is_not_read(self):
        # Without a printk time a line is the demo's, not the kernel's.
        self.assertEqual(judged(NOLOG + ["WARNING: CPU: 0 PID: 1 at mpmcring text"] + AFTER),
                         (0, 0, 0))

    def test_console_report_outside_the_log_is_read(self):
        # The crash killed init: no log printed, the console has it.
        problems, ours, _ = demo.judge(HEAD[:1] + OOPS + ["mpmcring-demo: FAILED at x"])
        # BUG, Oops and the panic: each a report, each naming our frame
        self.assertEqual((problems, len(ours)), ([], 3))
        self.assertIn("mpmcring_write", demo.describe(problems, ours, [])[0])
        # Printed after init read the log: on the console only.
        self.assertEqual(judged(console(THEIRS) + OOPS)[1], 3)

    def test_report_on_console_and_in_log_counts_once(self):
        self.assertEqual(judged(OURS + console(OURS)), (0, 1, 0))

    def test_count_without_log_fails(self):
        # A kernel line inside init's echo garbles the begin marker.
        garbled = counted(THEIRS) + ["mpmcring-demo: kern[   41.3] rcu: x el log begin"] + THEIRS + \
            [demo.LOG_END] + AFTER
        problems, ours, _ = demo.judge(garbled)
        self.assertEqual((len(problems), ours), (1, []))
        self.assertIn("init counted 2 line(s) of kernel reports, the kernel log on the "
                      "console has 0", problems[0])

    def test_garbled_line_inside_the_log_fails(self):
        # A kernel line printed into the middle of init's copy of ours
        spliced = ["[   41.2] WARN[   41.3] rcu: x ING: CPU: 0 PID: 1 at mpmcring_reserve"] + OURS[1:]
        problems, ours, _ = demo.judge(counted(OURS) + [demo.LOG_BEGIN] + spliced +
                                       [demo.LOG_END] + AFTER)
        self.assertEqual(len(problems), 1)
        self.assertIn("init counted 2 line(s)", problems[0])

    def test_count_line_garbled_after_ok_fails(self):
        problems, _, _ = demo.judge(HEAD[:1] + ["$ dmesg | grep -c[  4.1] x"] + AFTER)
        self.assertEqual(len(problems), 1)
        # Without ok the demo failed already: nothing more to say
        self.assertEqual(judged(HEAD[:1] + AFTER[:2]), (0, 0, 0))

    def test_our_load_line_does_not_make_a_report_ours(self):
        # A base kernel's report without its end line, our module's load
        # messages after it: not ours for that.
        log = THEIRS[:1] + ["[   41.5] mpmcring: loading out-of-tree module taints kernel.",
                            "[   41.5] mpmcring_events: probes on 9 tracepoints"]
        self.assertEqual(judged(console(log)), (0, 0, 1))

    def test_ours_in_either_copy_is_ours(self):
        # A header that names no code; the frame of ours is below it.
        lockup = ["[   50.1] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [kworker/0:1:9]",
                  "[   50.1] Call Trace:", "[   50.1]  <TASK>",
                  "[   50.1]  mpmcring_reclaim+0x1/0x2 [mpmcring]", "[   50.1]  </TASK>"]
        # Whole on the console, cut short in init's copy: ours, once
        self.assertEqual(judged(console(lockup[:1]) + lockup)[1:], (1, 0))
        # Whole in init's copy, cut on the console
        self.assertEqual(judged(lockup[:1] + console(lockup))[1:], (1, 0))

    def test_same_header_at_another_time_is_another_report(self):
        ours = [l.replace("41.2", "42.0") for l in OURS]
        self.assertEqual(judged(console(OURS + ours))[1], 2)

    def test_more_report_lines_than_counted_is_whole(self):
        # Kernel lines only grow between init's count and its dmesg.
        self.assertEqual(judged(counted(THEIRS[:1]) + [demo.LOG_BEGIN] + THEIRS +
                                [demo.LOG_END] + AFTER), (0, 0, 1))

    def test_kernel_line_between_count_and_number(self):
        lines = HEAD + ["[   44.0] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:"] + \
            counted(THEIRS)[2:] + [demo.LOG_BEGIN] + THEIRS + [demo.LOG_END] + AFTER
        problems, ours, _ = demo.judge(lines)
        self.assertEqual((problems, ours), ([], []))

    def test_counted_words_are_inits(self):
        # demo-init.sh's kernel_log() greps for the same words
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, "demo-init.sh")) as f:
            init = re.search(r"^\tpattern='([^']*)'$", f.read(), re.M)
        self.assertIsNotNone(init)
        self.assertEqual(init.group(1), demo.COUNTED_RE.pattern)


class Verdict(unittest.TestCase):
    """scripts/demo.sh's exit status, from demo.py's verdict()."""
    OK = NOLOG + ["mpmcring-demo: ok"]

    def rc(self, status, lines):
        return demo.verdict(status, lines, "console.log", 300)[0]

    def test_ok(self):
        self.assertEqual(self.rc(0, self.OK), 0)

    def test_timeout_after_ok_is_a_timeout(self):
        # A guest that said ok and then hung in its reboot
        self.assertEqual(self.rc(124, self.OK), 124)
        self.assertEqual(self.rc(137, self.OK), 124)

    def test_no_ok(self):
        self.assertEqual(self.rc(0, NOLOG + ["mpmcring-demo: FAILED at step_flood"]), 1)

    def test_ours_after_ok(self):
        rc, out = demo.verdict(0, console(OURS) + ["mpmcring-demo: ok"], "c.log", 300)
        self.assertEqual(rc, 1)
        self.assertTrue(any("kernel report naming mpmcring code" in l for l in out))

    def test_theirs_after_ok(self):
        rc, out = demo.verdict(0, console(THEIRS) + ["mpmcring-demo: ok"], "c.log", 300)
        self.assertEqual(rc, 0)
        self.assertTrue(out[0].startswith("note: "))

    def test_cli(self):
        here = os.path.dirname(os.path.abspath(__file__))
        for status, log, want in ((0, THEIRS, 0), (0, THEIRS + OURS, 1), (124, THEIRS, 124)):
            with tempfile.NamedTemporaryFile("w", suffix=".log") as f:
                f.write("\n".join(console(log) + ["mpmcring-demo: ok"]) + "\n")
                f.flush()
                p = subprocess.run([sys.executable, os.path.join(here, "demo.py"), str(status),
                                    f.name, "300"], capture_output=True, text=True)
            self.assertEqual(p.returncode, want, p.stdout + p.stderr)
        p = subprocess.run([sys.executable, os.path.join(here, "demo.py"), "x"],
                           capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("usage:", p.stderr)


# scripts/demo.sh's output when its guest ran out of time (verdict()'s line).
BOOTING = ("==> booting /boot/vmlinuz-6.1.0-57-amd64 under qemu (TCG, 2 CPUs)\n"
           "error: the guest did not finish in 300s (console log: build/logs/demo/console.log)\n")

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures",
                       "stock-6.12-stale-int3.console.log")


class StageDemo(unittest.TestCase):
    """stage_demo() with scripts/demo.sh faked: what it retries, passes,
    fails and says."""

    def setUp(self):
        import judge
        self.tmp = tempfile.mkdtemp()
        self.saved = (demo.run, demo.LOGS, demo.CONSOLE, common.R.quiet, len(common.R.tests),
                      dict(boot.BOOT_RETRIES), dict(judge.NOTES))
        demo.LOGS = self.tmp
        demo.CONSOLE = os.path.join(self.tmp, "demo", "console.log")
        os.makedirs(os.path.dirname(demo.CONSOLE))
        common.R.quiet = True
        self.runs = []
        import judge
        self.quiet = (demo.progress, judge.say_line)
        demo.progress = judge.say_line = lambda *a: None

    def tearDown(self):
        import judge
        (demo.run, demo.LOGS, demo.CONSOLE, common.R.quiet, n, retries, notes) = self.saved
        demo.progress, judge.say_line = self.quiet
        del common.R.tests[n:]
        boot.BOOT_RETRIES.clear()
        boot.BOOT_RETRIES.update(retries)
        judge.NOTES.clear()
        judge.NOTES.update(notes)
        shutil.rmtree(self.tmp)

    def fake(self, *boots):
        """scripts/demo.sh: each call the next (exit status, console lines)."""
        boots = list(boots)

        def run(cmd, log=None, timeout=None, env=None, cwd=None):
            rc, lines, out = (boots.pop(0) + (BOOTING,))[:3]
            self.runs.append(env)
            with open(demo.CONSOLE, "w") as f:
                f.write("\n".join(lines) + "\n" if lines else "")
            return rc, out
        demo.run = run

    def result(self):
        got = [t for t in common.R.tests[self.saved[4]:] if t[0] == "stock-6.1/demo"]
        self.assertEqual(len(got), 1)
        return got[0][1], got[0][2]

    def test_pass(self):
        self.fake((0, NOLOG + ["mpmcring-demo: ok"]))
        demo.stage_demo(["stock-6.1"])
        self.assertEqual(self.result()[0], "pass")
        self.assertEqual(len(self.runs), 1)

    def test_report_of_ours_fails_a_demo_that_got_through(self):
        self.fake((0, console(OURS)))
        demo.stage_demo(["stock-6.1"])
        status, detail = self.result()
        self.assertEqual(status, "fail")
        self.assertIn("kernel report naming mpmcring code: WARNING", detail)

    def test_stale_int3_before_our_module_is_booted_once_more(self):
        with open(FIXTURE) as f:
            crashed = f.read().splitlines()
        self.fake((1, crashed), (0, NOLOG + ["mpmcring-demo: ok"]))
        demo.stage_demo(["stock-6.1"])
        self.assertEqual(self.result()[0], "pass")
        self.assertEqual(len(self.runs), 2)
        self.assertIn("stock-6.1/demo", boot.BOOT_RETRIES)
        self.assertTrue(os.path.exists(os.path.join(self.tmp, "demo", "boot-1", "console.log")))

    def test_a_hang_before_init_is_booted_once_more(self):
        # A quiet boot (scripts/demo.sh): nothing on the console before init.
        for hung in ([], ["[    1.240150] ACPI Error: AE_NOT_FOUND"]):
            self.fake((124, hung), (0, NOLOG + ["mpmcring-demo: ok"]))
            demo.stage_demo(["stock-6.1"])
            self.assertEqual((self.result()[0], len(self.runs)), ("pass", 2), hung)
            self.assertIn("hang before init", boot.BOOT_RETRIES["stock-6.1/demo"])
            del common.R.tests[self.saved[4]:]
            self.runs.clear()

    def test_not_a_hang_after_init_or_before_qemu(self):
        for rc, lines, out in ((124, ["", "### loading the module on 6.1.0-57-amd64 (2 CPUs)",
                                      "$ insmod /lib/mpmcring/mpmcring.ko"], BOOTING),
                               (124, [], "building the modules\n"),
                               (124, [], "==> booting ... under qemu\n(timed out)\n"),
                               (1, [], BOOTING),
                               (124, console(OURS), BOOTING),
                               (124, ["[   30.1] watchdog: BUG: soft lockup - CPU#1 stuck for 22s!"],
                                BOOTING)):
            self.fake((rc, lines, out), (0, NOLOG + ["mpmcring-demo: ok"]))
            demo.stage_demo(["stock-6.1"])
            self.assertEqual((self.result()[0], len(self.runs)), ("fail", 1), (rc, out))
            self.assertNotIn("stock-6.1/demo", boot.BOOT_RETRIES)
            del common.R.tests[self.saved[4]:]
            self.runs.clear()

    def test_what_the_hang_rule_reads_is_what_the_demo_prints(self):
        # The timeout line is verdict()'s; init's headings are say()'s, and
        # the first comes before our module's load.
        self.assertTrue(demo.verdict(124, [], "log", 300)[1][-1].startswith(demo.GUEST_TIMED_OUT))
        with open(os.path.join(demo.REPO, "tests", "harness", "demo-init.sh")) as f:
            init = f.read()
        self.assertIn('say() { echo; echo "### $*"; }', init)
        load = init[init.index("step_load() {"):]
        self.assertLess(load.index("\tsay "), load.index("insmod"))
        self.assertLess(init.index("step_load() {"), init.index("\nstep_device() {"))
        self.assertIn("for step in step_load ", init)

    def test_a_crash_of_ours_is_not_booted_away(self):
        self.fake((1, HEAD[:1] + OOPS), (0, NOLOG + ["mpmcring-demo: ok"]))
        demo.stage_demo(["stock-6.1"])
        status, detail = self.result()
        self.assertEqual((status, len(self.runs)), ("fail", 1))
        self.assertIn("mpmcring_write", detail)
        self.assertEqual(boot.BOOT_RETRIES.get("stock-6.1/demo"), None)

    def test_timeout_is_named(self):
        # Also after ok: a guest that hung in its reboot did not get through.
        for rc in (124, 137):
            self.fake((rc, NOLOG + ["mpmcring-demo: ok"]))
            demo.stage_demo(["stock-6.1"])
            status, detail = self.result()
            self.assertEqual(status, "fail")
            self.assertTrue(detail.startswith("make demo failed (scripts/demo.sh timed out)"))
            del common.R.tests[self.saved[4]:]

    def test_failed_step_is_the_headline(self):
        self.fake((1, NOLOG + ["mpmcring-demo: FAILED at step_flood"]))
        demo.stage_demo(["stock-6.1"])
        self.assertTrue(self.result()[1].startswith(
            "make demo failed (scripts/demo.sh exited with status 1): "
            "mpmcring-demo: FAILED at step_flood"))

    def test_theirs_are_notes(self):
        import judge
        self.fake((0, console(THEIRS) + ["mpmcring-demo: ok"]))
        demo.stage_demo(["stock-6.1"])
        self.assertEqual(self.result()[0], "pass")
        self.assertEqual(len(judge.NOTES.get("stock-6.1", [])) - len(self.saved[6].get(
            "stock-6.1", [])), 1)

    def test_kernel_pinned(self):
        old = {k: os.environ.get(k) for k in ("MPMCRING_DEMO_KERNEL", "MPMCRING_DEMO_TIMEOUT")}
        os.environ.update(MPMCRING_DEMO_KERNEL="stock-6.12", MPMCRING_DEMO_TIMEOUT="1")
        try:
            self.fake((0, NOLOG + ["mpmcring-demo: ok"]))
            demo.stage_demo(["stock-6.1"])
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        self.assertEqual(self.runs[0]["MPMCRING_DEMO_KERNEL"], "stock-6.1")
        self.assertNotIn("MPMCRING_DEMO_TIMEOUT", self.runs[0])


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
