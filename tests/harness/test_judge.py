# SPDX-License-Identifier: GPL-2.0-only
"""Unit tests of judge.py's checks that need no guest."""
import contextlib
import io
import os
import shutil
import tempfile
import unittest

import judge
from common import GUEST_CPUS, R
from judge import judge_detectors
from marker_token import write_token
from reports import Ownership, Report
from test_parse import OVERFLOW, kunit_results

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
        debug = ARMED + " lockdep=on kmemleak=on"
        self.assertIn("kcsan: absent", verdict("kcsan-6.12", debug))
        self.assertIsNone(verdict("kcsan-6.12", debug + " kcsan=on"))

    def test_debug_needs_lockdep_and_kmemleak(self):
        self.assertIn("kmemleak: absent", verdict("debug", ARMED + " lockdep=on"))
        self.assertIn("lockdep: absent", verdict("kcsan-6.12", ARMED + " kmemleak=on kcsan=on"))
        self.assertIsNone(verdict("debug", ARMED + " lockdep=on kmemleak=on"))

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
                judge.judge_reports("kcsan-6.12", console, Ownership(), "console.log")
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

    def test_lost_console_lines_fail(self):
        # helper-274: a report lost with them would go unjudged.
        status, detail, _ = self.judge(["[   12.5] ** 37 printk messages dropped **"])
        self.assertEqual(status, "fail")
        self.assertIn("the console lost lines (** 37 printk messages dropped **)", detail)

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


class Taint(unittest.TestCase):
    """<k>/taint: a W, B or D taint new since the start fails, whatever
    the console shows."""

    def judge(self, lines, rc, reports=()):
        R.tests, quiet, R.quiet = [], R.quiet, True
        try:
            judge.judge_taint("stock-6.1", {"lines": lines, "rc": rc}, list(reports), [])
        finally:
            R.quiet = quiet
        (name, status, detail, _), = R.tests
        self.assertEqual(name, "stock-6.1/taint")
        return status, detail

    def test_loading_our_modules_is_no_failure(self):
        # O and E (out-of-tree, unsigned), N (KUnit): what insmod does.
        self.assertEqual(self.judge(["tainted: 0 at the start, 274432 at the end"], 0)[0],
                         "pass")

    def test_a_new_warn_fails_with_no_report(self):
        status, detail = self.judge(["tainted: 4096 at the start, 4608 at the end"], 1)
        self.assertEqual(status, "fail")
        self.assertTrue(detail.startswith("the kernel tainted itself during the run: "
                                          "W (a WARNING) (tainted: 4096 at the start, "
                                          "4608 at the end); no report on the console"), detail)

    def test_bad_page_and_oops_are_named(self):
        status, detail = self.judge(["tainted: 0 at the start, 160 at the end"], 1)
        self.assertEqual(status, "fail")
        self.assertIn("B (a bad page or a KASAN report), D (an Oops or a BUG)", detail)

    def test_a_taint_from_before_the_run_is_not_new_and_is_noted(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = self.judge(["tainted: 512 at the start, 512 at the end"], 0)[0]
        self.assertEqual(status, "pass")
        self.assertIn("note: stock-6.1: the kernel was tainted W (a WARNING) before our first "
                      "module", out.getvalue())

    def test_the_reports_seen_are_listed(self):
        rep = Report("WARNING: CPU: 0 PID: 1 at mm/x.c:1 theirs+0x1/0x2", [], 1.0, None)
        status, detail = self.judge(["tainted: 0 at the start, 512 at the end"], 1, [rep])
        self.assertEqual(status, "fail")
        self.assertIn("the console's reports (ours fail as <k>/reports):\n  WARNING: CPU: 0 "
                      "PID: 1 at mm/x.c:1 theirs", detail)

    def test_no_line_or_no_end_fails(self):
        self.assertIn("the taint is unknown", self.judge(["cat: can't open"], 1)[1])
        self.assertIn("died", self.judge([], None)[1])
        # The guest's arithmetic and the line disagree: not a pass.
        self.assertEqual(self.judge(["tainted: 0 at the start, 0 at the end"], 1)[0], "fail")


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


def clock_notes(*calls):
    """judge.note_clock_jump() for each call's arguments, from no notes:
    the verdicts it added and what it printed."""
    judge.CLOCK_NOTES.clear()
    R.tests, saved = [], R.tests
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            for args in calls:
                judge.note_clock_jump(*args)
        return R.tests, out.getvalue()
    finally:
        R.tests = saved


class ClockJump(unittest.TestCase):
    """The fresh-machine check of 2026-12-03: two 6.12 guests' clocks
    jumped about 25440 s at one moment of the host; the tests running
    then timed out, and nothing said why."""

    def test_jump_is_found_where_it_happened(self):
        secs = [{"kind": "vm", "name": "trust", "t0": 233.8, "t1": 25677.1},
                {"kind": "vm", "name": "uapi_consumer", "t0": 25677.3, "t1": 25678.5}]
        sec, key, t = judge.clock_jump(520, secs)
        self.assertEqual((sec["name"], key, t), ("trust", "t1", 25677.1))

    def test_jump_in_the_last_step(self):
        sec, key, _ = judge.clock_jump(520, [{"kind": "vm", "name": "write", "t0": 118.0,
                                              "t1": 25624.5}])
        self.assertEqual((sec["name"], key), ("write", "t1"))

    def test_jump_before_a_step(self):
        sec, key, _ = judge.clock_jump(520, [{"kind": "vm", "name": "a", "t0": 10, "t1": 20},
                                             {"kind": "vm", "name": "b", "t0": 3000,
                                              "t1": None}])
        self.assertEqual((sec["name"], key), ("b", "t0"))

    def test_no_jump_in_a_slow_guest(self):
        secs = [{"kind": "insmod", "name": "mpmcring", "t0": 4.8, "t1": 4.9},
                {"kind": "vm", "name": "write", "t0": 141.6, "t1": 154.7}]
        self.assertIsNone(judge.clock_jump(160, secs))
        self.assertIsNone(judge.clock_jump(None, secs))

    def test_note_names_the_step_and_stays_a_note(self):
        verdicts, out = clock_notes(
            ("kcsan-6.12", 520, [{"kind": "vm", "name": "trust", "t0": 233.8, "t1": 25677.1}]),
            ("stock-6.1", 160, [{"kind": "vm", "name": "write", "t0": 141.6, "t1": 154.7}]))
        # A note only: no verdict added.
        self.assertEqual(verdicts, [])
        self.assertEqual(list(judge.CLOCK_NOTES), ["kcsan-6.12"])
        line = judge.CLOCK_NOTES["kcsan-6.12"]
        self.assertIn("jumped during vm trust (it ended at uptime 25677 s)", line)
        self.assertIn("for 520 s in all", line)
        self.assertEqual(out, line + "\n")
        judge.CLOCK_NOTES.clear()


class TscMiscalibrated(unittest.TestCase):
    """The fresh-clone CI runs of 2026-12-06: the stock-6.1 guest took
    its TSC for 410 MHz (the PIT's reading, HPET said 2594) on a 2596 MHz
    host; its clock ran 6.3 times fast, its tests timed out, and the note
    blamed the host's TSC."""

    CONSOLE = ["[    0.000000] tsc: Fast TSC calibration failed",
               "[    0.040000] tsc: PIT calibration deviates from HPET: 409916 2594338",
               "[    0.040000] tsc: Using PIT calibration value",
               "[    0.040000] tsc: Detected 409.916 MHz processor"]

    def test_pit_fallback_is_named(self):
        self.assertEqual(judge.tsc_miscalibrated(self.CONSOLE, 2596120),
                         (409916, 2596120, "the host's kernel"))
        # With no known host rate, the guest's own HPET reading says it.
        self.assertEqual(judge.tsc_miscalibrated(self.CONSOLE, None),
                         (409916, 2594338, "the guest's HPET (or PM timer)"))
        pm = [l.replace("HPET", "PMTIMER") for l in self.CONSOLE]
        self.assertEqual(judge.tsc_miscalibrated(pm, None),
                         (409916, 2594338, "the guest's HPET (or PM timer)"))

    def test_right_rate_is_no_note(self):
        given = ["[    0.000000] tsc: Detected 2596.120 MHz processor"]
        self.assertIsNone(judge.tsc_miscalibrated(given, 2596120))
        self.assertIsNone(judge.tsc_miscalibrated(given, None))
        self.assertIsNone(judge.tsc_miscalibrated([], 2596120))
        # A later refinement that got it right clears it.
        refined = self.CONSOLE + ["[    6.1] tsc: Refined TSC clocksource calibration: "
                                  "2595.998 MHz"]
        self.assertIsNone(judge.tsc_miscalibrated(refined, 2596120))

    def test_note_names_the_rate_with_or_without_a_jump(self):
        verdicts, _ = clock_notes(
            ("stock-6.1", 160, [{"kind": "vm", "name": "write", "t0": 141.6, "t1": 154.7}],
             self.CONSOLE, 2596120),
            ("debug", 520, [{"kind": "vm", "name": "trust", "t0": 233.8, "t1": 3000.0}],
             self.CONSOLE, 2596120))
        self.assertEqual(verdicts, [])
        self.assertEqual(sorted(judge.CLOCK_NOTES), ["debug", "stock-6.1"])
        for kid in ("debug", "stock-6.1"):
            line = judge.CLOCK_NOTES[kid]
            self.assertIn("the guest took its TSC for 409.9 MHz where the host's kernel says "
                          "2596.1: its clock ran 6.3 times as fast", line)
            self.assertNotIn("likely the host's TSC", line)
        self.assertIn("jumped during vm trust", judge.CLOCK_NOTES["debug"])
        # Taken too fast, the clock runs slow: said so, not "0.5 times as fast".
        clock_notes(("stock-6.12", 160, [], ["tsc: Detected 5192.240 MHz processor"], 2596120))
        self.assertIn("its clock ran 2.0 times as slow as the host's, every timeout in it as "
                      "much longer", judge.CLOCK_NOTES["stock-6.12"])
        judge.CLOCK_NOTES.clear()


# A guest's results port as init.sh writes it, every marker with tok (or
# none): "@" starts a marker.
INIT = ["@INFO kernel=6.1.0-57-amd64", "@INFO cpus=2", "@BEGIN insmod mpmcring t=1.0",
        "@END insmod mpmcring rc=0 t=1.2", "@BEGIN vm prog t=1.3", "TAP version 13", "1..1",
        "ok 1 a", "@END vm prog rc=0 t=2.0", "@DONE"]
TOK = "0123456789abcdef0123456789abcdef"


class StockGuestLogs(unittest.TestCase):
    """A scratch build/logs with a stock-6.1 guest's directory, judge.LOGS
    pointed at it, and the results kept apart from the real run's."""

    def setUp(self):
        self.saved = R.tests, R.quiet, judge.LOGS
        R.tests, R.quiet = [], True
        self.logs = tempfile.mkdtemp()
        judge.LOGS = self.logs
        os.makedirs(os.path.join(self.logs, "stock-6.1"))

    def tearDown(self):
        R.tests, R.quiet, judge.LOGS = self.saved
        shutil.rmtree(self.logs)

    def write_results(self, lines):
        """results.log of init's markers ("@..." lines, with TOK) and others as they are."""
        with open(os.path.join(self.logs, "stock-6.1", "results.log"), "w") as f:
            f.write("".join("@@MPMCRING %s tok=%s\n" % (l[1:], TOK) if l.startswith("@")
                            else l + "\n" for l in lines))


class TokenLost(StockGuestLogs):
    """Review-harn17 should-fix 1: when no marker carries this boot's
    token, <k>/boot says the token did not reach init (and which side
    lost it), not that init died and programs forged the framing."""

    def boot(self, lines, tok, host_token=TOK, status="ok"):
        logdir = os.path.join(self.logs, "stock-6.1")
        with open(os.path.join(logdir, "results.log"), "w") as f:
            for l in lines:
                f.write("@@MPMCRING %s%s\n" % (l[1:], " tok=" + tok if tok else "")
                        if l.startswith("@") else l + "\n")
        if host_token:
            write_token(logdir, host_token)
        with contextlib.redirect_stdout(io.StringIO()):
            judge.judge_guest("stock-6.1", [], status, 10, [])
        boot = [t for t in R.tests if t[0] == "stock-6.1/boot"]
        self.assertEqual(len(boot), 1, R.tests)
        self.assertEqual(boot[0][1], "fail")
        return boot[0][2].split("\nconsole tail:")[0]

    def test_the_token_passes(self):
        logdir = os.path.join(self.logs, "stock-6.1")
        self.write_results(INIT)
        write_token(logdir, TOK)
        with contextlib.redirect_stdout(io.StringIO()):
            judge.judge_guest("stock-6.1", [], "ok", 10, [])
        self.assertIn(("stock-6.1/boot", "pass"), [t[:2] for t in R.tests])

    def test_init_found_no_token_file(self):
        why = self.boot(["@INFO token=missing"] + INIT, None)
        self.assertIn("init found no /mpmcring-token", why)
        self.assertIn("marker_token.py", why)
        self.assertNotIn("forged", why)
        self.assertNotIn("init died", why)
        self.assertIn("the untokened markers reach init's DONE: the guest otherwise ran to "
                      "its end", why)

    def test_init_found_its_token_file_empty(self):
        # Review-harn18 nit 8: unpacked but empty is not "not unpacked".
        why = self.boot(["@INFO token=empty"] + INIT, None)
        self.assertIn("init found /mpmcring-token empty", why)
        self.assertNotIn("not unpacked", why)

    def test_another_token(self):
        why = self.boot(INIT, "f" * 32)
        self.assertIn("init's markers carry another token", why)
        self.assertIn("tok=" + "f" * 32, why)
        self.assertNotIn("forged", why)

    def test_no_token_on_the_host(self):
        why = self.boot(INIT, TOK, host_token=None)
        self.assertIn("no token for this boot", why)
        self.assertIn("stock-6.1/token", why)

    def test_markers_without_any_token(self):
        why = self.boot(INIT, None)
        self.assertIn("no marker carries a token", why)
        self.assertNotIn("forged", why)

    def test_lost_token_and_a_panic(self):
        # Review-harn18 should-fix 3: the untokened markers still say
        # where the guest stopped, so a panic is not hidden behind the
        # token's loss.
        why = self.boot(INIT[:INIT.index("ok 1 a") + 1], None)
        self.assertIn("no marker carries a token", why)
        self.assertIn("the untokened markers have no DONE either: the guest did not reach its "
                      "end (last untokened BEGIN without its END: vm prog)", why)
        self.assertNotIn("ran to its end", why)

    def test_lost_token_and_a_timeout(self):
        # Both causes are named: the timeout first, then the token's loss.
        why = self.boot(INIT[:INIT.index("ok 1 a") + 1], None, status="timeout")
        self.assertTrue(why.startswith("the guest did not finish within"), why)
        self.assertIn("; no marker carries a token", why)
        self.assertIn("last untokened BEGIN without its END: vm prog", why)

    def test_forgery_after_a_real_marker_is_still_forgery(self):
        # One tokened marker: the token did reach init; untokened framing
        # outside a section is forged, as before.
        logdir = os.path.join(self.logs, "stock-6.1")
        with open(os.path.join(logdir, "results.log"), "w") as f:
            f.write("@@MPMCRING INFO kernel=6.1 tok=%s\n@@MPMCRING DONE\n" % TOK)
        write_token(logdir, TOK)
        with contextlib.redirect_stdout(io.StringIO()):
            judge.judge_guest("stock-6.1", [], "ok", 10, [])
        boot = [t for t in R.tests if t[0] == "stock-6.1/boot"][0]
        self.assertIn("forged framing: 1 line(s)", boot[2])


class Cpus(StockGuestLogs):
    """A guest that brought up fewer CPUs than qemu gave it (an AP that did
    not start under TCG) ran every concurrency test on one CPU, where they
    prove much less, and passed: <k>/cpus holds init.sh's count to
    GUEST_CPUS, and says where to look when they differ."""

    def verdict(self, cpus_line, more=(), console=(), done=True, first_only=False):
        logdir = os.path.join(self.logs, "stock-6.1")
        lines = [l for l in INIT if not l.startswith("@INFO cpus=")]
        if not done:
            lines = lines[:lines.index("@BEGIN vm prog t=1.3")]
        if first_only:  # init died right after its first line
            lines = lines[:1]
        lines[1:1] = ([cpus_line] if cpus_line else []) + list(more)
        self.write_results(lines)
        with open(os.path.join(logdir, "console.log"), "w") as f:
            f.write("".join(l + "\n" for l in console))
        write_token(logdir, TOK)
        with contextlib.redirect_stdout(io.StringIO()):
            judge.judge_guest("stock-6.1", [], "ok" if done else "timeout", 10, [])
        found = [t for t in R.tests if t[0] == "stock-6.1/cpus"]
        self.assertEqual(len(found), 1, R.tests)
        return found[0][1:3]

    def test_every_cpu_up_passes(self):
        self.assertEqual(self.verdict("@INFO cpus=%d" % GUEST_CPUS)[0], "pass")

    def test_one_cpu_fails_and_quotes_the_console(self):
        status, why = self.verdict("@INFO cpus=1",
                                   console=["[    0.75] smp: Brought up 1 node, 1 CPU"])
        self.assertEqual(status, "fail")
        self.assertIn("may run on 1 CPU(s) (init.sh's nproc), of the %d qemu gave it"
                      % GUEST_CPUS, why)
        self.assertIn("console: [    0.75] smp: Brought up 1 node, 1 CPU", why)
        self.assertIn("no command-line word narrows them: a CPU that did not come up", why)
        self.assertNotIn("tests/kconfig", why)  # a stock kernel: Debian's config

    def test_every_cpu_up_but_init_narrowed(self):
        status, why = self.verdict("@INFO cpus=1",
                                   console=["[    0.75] smp: Brought up 1 node, 2 CPUs"])
        self.assertEqual(status, "fail")
        self.assertIn("every CPU came up, so init's affinity was narrowed", why)
        self.assertNotIn("did not come up", why)

    def test_a_narrowing_word_is_named(self):
        status, why = self.verdict("@INFO cpus=1",
                                   more=["@INFO cmdline=console=ttyS0 maxcpus=1 tsc=reliable"])
        self.assertEqual(status, "fail")
        self.assertIn("the kernel command line may narrow them: maxcpus=1 (MPMCRING_CMDLINE?)",
                      why)
        self.assertIn('the console has no "smp: Brought up" line', why)

    def test_narrowing_words(self):
        words = ("maxcpus=1 maxcpus_foo=1 maxcpus=%d nr-cpus=1 nr_cpus=8 possible_cpus=1 "
                 "nosmp nolapic nohz_full=1 isolcpus=1 isolcpus=domain,1 isolcpus=nohz,1 "
                 "isolcpus=managed_irq,1" % GUEST_CPUS)
        self.assertEqual(judge.narrowing_words(words),
                         ["maxcpus=1", "nr-cpus=1", "possible_cpus=1", "nosmp", "nolapic",
                          "isolcpus=1", "isolcpus=domain,1"])

    def test_an_empty_count_is_no_count(self):
        status, why = self.verdict("@INFO cpus=",
                                   console=["[    0.75] smp: Brought up 1 node, 2 CPUs"])
        self.assertEqual(status, "fail")
        self.assertIn("init.sh's nproc printed '', not a count", why)
        self.assertNotIn("console", why)

    def test_no_count_fails(self):
        status, why = self.verdict(None)
        self.assertEqual(status, "fail")
        self.assertIn("init.sh's INFO cpus line is missing, though init went on past it", why)

    def test_a_lost_count_line_in_a_guest_that_hung(self):
        # The count's line lost, init going on, then a hang: not "stopped before".
        status, why = self.verdict(None, done=False)
        self.assertEqual(status, "fail")
        self.assertIn("INFO cpus line is missing, though init went on past it", why)

    def test_init_stopped_before_counting_points_at_boot(self):
        status, why = self.verdict(None, done=False, first_only=True)
        self.assertEqual(status, "fail")
        self.assertIn("init stopped before it counted the CPUs: see stock-6.1/boot", why)


class KunitCutLog(unittest.TestCase):
    """Issue 17: on 6.1 a case's debugfs log holds 511 bytes; one that
    overflowed lost its result line, its cut line ran into the next case's
    log, and the runner showed its output as the next case's failure
    reason. A cut log is its case's, says it was cut, and its result comes
    from the console, whole; without one the case fails."""

    def setUp(self):
        self.saved = R.tests, R.quiet, judge.LOGS
        R.tests, R.quiet = [], True
        self.logs = tempfile.mkdtemp()
        judge.LOGS = self.logs
        os.makedirs(os.path.join(self.logs, "debug"))

    def tearDown(self):
        R.tests, R.quiet, judge.LOGS = self.saved
        shutil.rmtree(self.logs)

    def guest(self, cases, console=True, kernel="6.1.0-57-amd64", size=512, more=(), **kw):
        """judge_guest() of a guest whose only step is the suite; more:
        console lines after the kernel's."""
        text, lines = kunit_results("mpmcring_basic", cases, size, **kw)
        lines = lines + list(more)
        logdir = os.path.join(self.logs, "debug")
        with open(os.path.join(logdir, "results.log"), "w") as f:
            f.write("@@MPMCRING INFO kernel=%s tok=%s\n" % (kernel, TOK))
            f.write("@@MPMCRING BEGIN kunit mpmcring_basic t=1 tok=%s\n" % TOK)
            f.write(text)
            f.write("@@MPMCRING END kunit mpmcring_basic rc=0 t=2 tok=%s\n" % TOK)
            f.write("@@MPMCRING DONE tok=%s\n" % TOK)
        with open(os.path.join(logdir, "console.log"), "w") as f:
            f.write("".join(l + "\n" for l in lines) if console else "")
        write_token(logdir, TOK)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            judge.judge_guest("debug", [], "ok", 10, [])
        self.out = out.getvalue()
        return {t[0][len("debug/kunit/"):]: t[1:3] for t in R.tests
                if t[0].startswith("debug/kunit/")}

    def test_cut_output_is_not_the_next_cases_reason(self):
        got = self.guest(OVERFLOW)
        status, reason = got["mpmcring_basic/basic_b"]
        self.assertEqual(status, "fail")
        self.assertIn("basic.c:200", reason)
        for line in (10, 11, 12, 13):  # basic_a's expectations
            self.assertNotIn("basic.c:%d\n" % line, reason + "\n")
        status, reason = got["mpmcring_basic/basic_a"]
        self.assertEqual(status, "fail")
        self.assertIn("its debugfs log was cut at 511 bytes (KUnit keeps 511 bytes of a "
                      "case's log on kernel 6.1.0-57-amd64: 6.1's KUNIT_LOG_SIZE 512, its NUL "
                      "included), so its result and output cannot be read: make the case print "
                      "less\nthe bytes kept:\n    # basic_a: EXPECTATION FAILED at "
                      "tests/kunit/basic.c:10", reason)
        self.assertNotIn("basic.c:15", reason)  # what was cut is not read from the console
        self.assertEqual(got["mpmcring_basic/basic_c"][0], "pass")
        self.assertNotIn("mpmcring_basic", got)  # the suite itself is whole

    def test_cut_result_line_is_no_pass_of_another_name(self):
        # "    ok 1" cut, glued to "    ok 2 basic_b": not a case named
        # "ok 2 basic_b".
        pad = 511 - len("    ok 1") - len("    # basic_a: \n")
        got = self.guest([("basic_a", "pass", ["x" * pad]), ("basic_b", "pass", []),
                          ("basic_c", "pass", [])])
        self.assertEqual(sorted(got), ["mpmcring_basic/basic_a", "mpmcring_basic/basic_b",
                                       "mpmcring_basic/basic_c"])
        self.assertIn("cut at 511 bytes", got["mpmcring_basic/basic_a"][1])

    def test_cut_without_the_console_fails(self):
        got = self.guest(OVERFLOW, console=False)
        status, reason = got["mpmcring_basic/basic_a"]
        self.assertEqual(status, "fail")
        self.assertIn("cut at 511 bytes", reason)
        self.assertEqual(got["mpmcring_basic/basic_b"][0], "fail")
        self.assertEqual(got["mpmcring_basic/basic_c"][0], "pass")

    def test_passing_case_cut_without_the_console_fails(self):
        pad = 511 - len("    ok 1") - len("    # basic_a: \n")
        got = self.guest([("basic_a", "pass", ["x" * pad]), ("basic_b", "pass", []),
                          ("basic_c", "pass", [])], console=False)
        self.assertEqual(got["mpmcring_basic/basic_a"][0], "fail")

    def test_unknown_rule_names_no_case(self):
        # A kernel whose log size the runner does not know: the lines
        # after the last whole case are no case's, and the suite says so.
        got = self.guest(OVERFLOW, kernel="6.3.0")
        status, reason = got["mpmcring_basic"]
        self.assertEqual(status, "fail")
        self.assertIn("cannot be split into the cases' logs from case 2 on", reason)
        self.assertIn("belong to no case the runner can name", reason)
        # Case 1's log ends in case 2's result line: case 1 fails; the
        # cases after it take the console's results (as before the split).
        status, reason = got["mpmcring_basic/#1"]
        self.assertEqual(status, "fail")
        self.assertIn("not known to the runner", reason)
        self.assertEqual([got["mpmcring_basic/basic_" + c][0] for c in "bc"], ["fail", "pass"])
        got_b = got["mpmcring_basic/basic_b"][1]
        self.assertNotIn("basic.c:10\n", got_b + "\n")


    def test_cut_case_is_no_pass_from_a_forged_console(self):
        # Something in the guest writes "    ok 1 basic_a" to the console
        # after the suite (review poc C): the cut case still fails.
        got = self.guest(OVERFLOW, more=["[    9.000000]     # Subtest: mpmcring_basic",
                                         "[    9.000000]     ok 1 basic_a",
                                         "[    9.000000] ok 1 mpmcring_basic"])
        status, reason = got["mpmcring_basic/basic_a"]
        self.assertEqual(status, "fail")
        self.assertIn("cut at 511 bytes", reason)
        self.assertIn("make the case print less", reason)

    def test_6_12_forged_result_line_is_no_pass(self):
        msg = ("EXPECTATION FAILED at x.c:5\n    Expected a == b, but\n\nring said:\n"
               "    ok 2 basic_b\n")
        got = self.guest([("basic_a", "pass", []), ("basic_b", "fail", [msg]),
                          ("basic_c", "pass", [])], kernel="6.12.117", size=None)
        status, reason = got["mpmcring_basic/basic_b"]
        self.assertEqual(status, "fail")
        self.assertIn("2 lines that look like its result line", reason)
        self.assertEqual(got["mpmcring_basic"][0], "fail")

    def test_results_after_the_last_case_fail_the_suite(self):
        got = self.guest([("basic_a", "pass", [])], kernel="6.12.117", size=None,
                         suite_log="    ok 2 basic_b\n# Totals: pass:1 fail:0 skip:0 total:1\n")
        self.assertEqual(got["mpmcring_basic/basic_a"][0], "pass")
        status, reason = got["mpmcring_basic"]
        self.assertEqual(status, "fail")
        self.assertIn("1 result(s) after the last of the plan's 1 cases, first: basic_b", reason)

    def test_case_without_result_fails_the_suite(self):
        got = self.guest([("basic_a", "pass", []), ("basic_b", "pass", [])], console=False,
                         kernel="6.12.117", size=None,
                         suite_log="# Totals: pass:2 fail:0 skip:0 total:2\n")
        self.assertEqual(got["mpmcring_basic/basic_a"][0], "pass")
        # Drop basic_b's result: rewrite the results file and judge again.
        path = os.path.join(self.logs, "debug", "results.log")
        with open(path) as f:
            text = f.read().replace("    ok 2 basic_b\n", "")
        with open(path, "w") as f:
            f.write(text)
        R.tests = []
        with contextlib.redirect_stdout(io.StringIO()):
            judge.judge_guest("debug", [], "ok", 10, [])
        got = {t[0][len("debug/kunit/"):]: t[1:3] for t in R.tests
               if t[0].startswith("debug/kunit/")}
        status, reason = got["mpmcring_basic"]
        self.assertEqual(status, "fail")
        self.assertIn("case 2 of 2 has no result", reason)
        self.assertEqual(got["mpmcring_basic/basic_a"][0], "fail")  # its end is not known


if __name__ == "__main__":
    unittest.main()
