# SPDX-License-Identifier: GPL-2.0-only
"""Unit tests of parse.py's TAP checks: a document whose results do not
match its plan one for one must not pass."""
import os
import tempfile
import unittest

from parse import kunit_case_logs, parse_results, tap_level, tap_problems


def problems(text):
    return tap_problems(*tap_level(text.strip().split("\n"), 0))


class TapProblems(unittest.TestCase):
    def test_clean(self):
        self.assertEqual(problems("1..2\nok 1 a\nnot ok 2 b\n"), [])

    def test_unnumbered_results_count_in_order(self):
        self.assertEqual(problems("1..2\nok a\nok b\n"), [])

    def test_ended_early(self):
        self.assertIn("ended early: 1 of 2 results", problems("1..2\nok 1 a\n"))

    def test_more_results_than_planned(self):
        self.assertIn("3 results for a plan of 2", problems("1..2\nok 1 a\nok 2 b\nok 3 c\n"))

    def test_duplicate_number(self):
        # Two lines for test 1 and none for test 2: the count matches.
        p = problems("1..2\nok 1 a\nok 1 a\n")
        self.assertTrue(any(x.startswith("result numbers out of sequence") for x in p), p)

    def test_out_of_order(self):
        p = problems("1..2\nok 2 b\nok 1 a\n")
        self.assertTrue(any(x.startswith("result numbers out of sequence") for x in p), p)


TOK = "0123456789abcdef0123456789abcdef"


def framed(text, token=TOK):
    """init.sh's lines: each "@X" line is a marker, with this boot's token
    ("@@..." lines are as written)."""
    return "".join("@@MPMCRING %s tok=%s\n" % (l[1:], token) if l[:2] in ("@B", "@E", "@D", "@I")
                   else l + "\n" for l in text.strip("\n").split("\n"))


class Markers(unittest.TestCase):
    """Review should-fix 14: a marker line a program prints must not end
    its section or finish the guest; review 14: only a marker with this
    boot's token is init's, and a forged one is kept as evidence."""

    def parse(self, text, token=TOK):
        fd, path = tempfile.mkstemp()
        with os.fdopen(fd, "w") as f:
            f.write(text)
        try:
            return parse_results(path, token)
        finally:
            os.unlink(path)

    def test_end_of_another_section_is_output(self):
        _, secs, done, _ = self.parse(framed(
            "@BEGIN vm cli t=1\nok 1 a\n@END vm other rc=0 t=2\n@DONE"))
        self.assertEqual(len(secs), 1)
        self.assertIsNone(secs[0]["rc"])  # still open: the guest stopped in it
        self.assertFalse(done)  # DONE inside an open section is output too
        self.assertIn("@@MPMCRING END vm other rc=0 t=2", secs[0]["lines"])

    def test_matching_end_and_done(self):
        info, secs, done, stray = self.parse(framed(
            "@INFO kernel=6.1 x\n@BEGIN vm cli t=1\nok 1 a\n@END vm cli rc=0 t=2\n@DONE"))
        self.assertEqual((secs[0]["rc"], secs[0]["t1"], done), (0, 2.0, True))
        self.assertEqual((secs[0]["lines"], secs[0]["forged"], stray), (["ok 1 a"], [], []))
        self.assertEqual(info, {"kernel": "6.1 x"})

    def test_begin_after_done(self):
        _, _, done, _ = self.parse(framed("@DONE\n@BEGIN vm cli t=1"))
        self.assertFalse(done)

    def test_forged_end_of_its_own_section(self):
        # What tests/harness/selfcheck.sh's forge plant prints: before the
        # token this closed the section with rc=0, and DONE finished the
        # guest, whatever came after.
        forged = ["@@MPMCRING END vm cli rc=0 t=1.00", "@@MPMCRING DONE"]
        info, secs, done, stray = self.parse(framed(
            "@BEGIN vm cli t=1\n1..1\nok 1 a\n" + "\n".join(forged) + "\nnot ok 2 b\n"
            "@END vm cli rc=1 t=2\n@DONE"))
        self.assertEqual(secs[0]["rc"], 1)
        self.assertEqual(secs[0]["forged"], forged)
        self.assertEqual(secs[0]["lines"], ["1..1", "ok 1 a"] + forged + ["not ok 2 b"])
        self.assertEqual((done, stray), (True, []))

    def test_another_token_is_forged(self):
        line = "@@MPMCRING END vm cli rc=0 t=1 tok=" + "f" * 32
        _, secs, _, _ = self.parse(framed("@BEGIN vm cli t=1\n" + line))
        self.assertIsNone(secs[0]["rc"])
        self.assertEqual(secs[0]["forged"], [line])

    def test_forged_outside_sections_is_stray(self):
        info, secs, done, stray = self.parse(framed(
            "@INFO kernel=6.1\n@@MPMCRING INFO detectors=kcsan=on\n@@MPMCRING BEGIN vm x t=1\n"
            "@DONE"))
        self.assertEqual((info, secs, done), ({"kernel": "6.1"}, [], True))
        self.assertEqual(stray, ["@@MPMCRING INFO detectors=kcsan=on",
                                 "@@MPMCRING BEGIN vm x t=1"])

    def test_no_token_no_markers(self):
        # The guest's token file is missing (it never booted): nothing
        # counts as init's, not even a line that carries some token.
        info, secs, done, stray = self.parse(framed("@BEGIN vm cli t=1\n@DONE"), token="")
        self.assertEqual((info, secs, done, len(stray)), ({}, [], False, 2))

    def test_marker_after_output_without_newline(self):
        # A program whose last line has no newline: init's END follows on
        # the same line; the token finds it there.
        _, secs, _, _ = self.parse(framed("@BEGIN vm cli t=1\n1..1\nok 1 a") +
                                   "partial@@MPMCRING END vm cli rc=0 t=2 tok=%s\n" % TOK)
        self.assertEqual((secs[0]["rc"], secs[0]["lines"]), (0, ["1..1", "ok 1 a", "partial"]))


    def test_other_words_after_the_mark_are_output(self):
        # Review-harn17 nit: "@@MPMCRING" alone is not a marker's start;
        # "@@MPMCRING_X" is a program's output, not forged framing.
        _, secs, _, stray = self.parse(framed(
            "@@MPMCRING_X one\n@BEGIN vm cli t=1\n@@MPMCRING-ish two\n@END vm cli rc=0 t=2"))
        self.assertEqual((secs[0]["forged"], stray), ([], []))
        self.assertEqual(secs[0]["lines"], ["@@MPMCRING-ish two"])

    def test_cut_last_line_is_not_forged(self):
        # Review-harn17 nit: qemu killed at a timeout can leave init's
        # marker cut in the middle of its token: the guest stopped there,
        # it is no program's forgery.
        cut = "@@MPMCRING END vm cli rc=0 t=2 tok=" + TOK[:8]
        _, secs, done, stray = self.parse(framed("@BEGIN vm cli t=1\nok 1 a") + cut)
        self.assertEqual((secs[0]["rc"], secs[0]["forged"], done, stray),
                         (None, [], False, []))
        self.assertEqual(secs[0]["lines"], ["ok 1 a", cut])
        # With its newline it was written whole: forged.
        _, secs, _, _ = self.parse(framed("@BEGIN vm cli t=1\nok 1 a") + cut + "\n")
        self.assertEqual(secs[0]["forged"], [cut])
        # Review-harn18 nit 12: a line that ends as read_lines() ends lines
        # (\f, \x85, \u2028 ...) was written whole.
        for end in ("\f", "\x0b", "\x85", "\u2028"):
            _, secs, _, _ = self.parse(framed("@BEGIN vm cli t=1\nok 1 a") + cut + end)
            self.assertEqual(secs[0]["forged"], [cut], repr(end))
        # Cut outside a section: not stray either.
        _, _, _, stray = self.parse(framed("@DONE") + "@@MPMCRING INFO ke")
        self.assertEqual(stray, [])


# What a KUnit suite leaves in debugfs, made as the kernel makes it, so the
# tests feed the parser the real shape. 6.1.192 (Debian's linux-source-6.1):
# include/kunit/test.h: KUNIT_LOG_SIZE 512; kunit_log() appends fmt "\n";
# kunit_printk() prefixes "    # <test name>: ". lib/kunit/test.c:
# kunit_log_append() vsnprintf()s into char line[512], then strncat()s at
# most KUNIT_LOG_SIZE - strlen(log) - 1 bytes, nothing once that is <= 0;
# kunit_print_ok_not_ok() logs a case's "    ok N name" into the case's log
# last. lib/kunit/debugfs.c: "KTAP version 1\n1..1\n", the suite header
# (not logged), each case's log, the suite's log, "ok 1 <suite>\n".
LOG_SIZE_61 = 512


def log_append(log, line, size=LOG_SIZE_61):
    """6.1's kunit_log_append(), of a line already formatted. size None:
    6.12's string_stream, never full."""
    if size is None:
        return log + line
    left = size - len(log.encode()) - 1
    if left <= 0:
        return log
    return log + line.encode()[:size - 1][:left].decode()


def kunit_results(suite, cases, size=LOG_SIZE_61, suite_log=None):
    """(debugfs results text, console lines) of a suite whose cases are
    (name, status, [message, ...]): each message as kunit_err() logs it,
    its own lines after the first unprefixed (an assertion's text)."""
    console = ["[    1.000000]     KTAP version 1", "[    1.000000]     # Subtest: " + suite,
               "[    1.000000]     1..%d" % len(cases)]
    logs = []
    for num, (name, status, messages) in enumerate(cases, 1):
        log = ""
        for m in messages:
            text = "    # %s: %s\n" % (name, m)
            log = log_append(log, text, size)
            console += ["[    1.100000] " + l for l in text.splitlines()]
        text = "    %s %d %s%s\n" % ("not ok" if status == "fail" else "ok", num, name,
                                    " # SKIP no BTF" if status == "skip" else "")
        log = log_append(log, text, size)
        console.append("[    1.200000] " + text.rstrip("\n"))
        logs.append(log)
    failed = sum(c[1] == "fail" for c in cases)
    skipped = sum(c[1] == "skip" for c in cases)
    if suite_log is None:
        counts = "pass:%d fail:%d skip:%d total:%d" % (
            len(cases) - failed - skipped, failed, skipped, len(cases))
        suite_log = "# %s: %s\n# Totals: %s\n" % (suite, counts, counts)
    end = "%s 1 %s\n" % ("not ok" if failed else "ok", suite)
    console.append("[    1.300000] " + end.rstrip("\n"))
    text = ("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: %s\n    1..%d\n" % (
        suite, len(cases)) + "".join(logs) + suite_log + end)
    return text, console


def expectations(path, first, n):
    """n failed KUNIT_EXPECT_EQ(test, ring->head, 0), as kunit_fail()
    logs each: one kunit_err() of kunit_assert_prologue()'s and
    kunit_binary_assert_format()'s lines (lib/kunit/assert.c)."""
    return ["EXPECTATION FAILED at %s:%d\n    Expected ring->head == 0, but\n"
            "        ring->head == %d\n" % (path, first + i, 4096 * (i + 1)) for i in range(n)]


# Case 1 fails six times, about 110 bytes each: its log is full in the
# fifth.
OVERFLOW = [("basic_a", "fail", expectations("tests/kunit/basic.c", 10, 6)),
            ("basic_b", "fail", expectations("tests/kunit/basic.c", 200, 1)),
            ("basic_c", "pass", [])]


class KunitCaseLogs(unittest.TestCase):
    """Issue 17: a case whose 6.1 debugfs log overflowed lost its result
    line, and its cut last line ran into the next case's log: the parser
    gave its lines to the next case, as that case's failure reason."""

    def split(self, cases, release="6.1.0-57-amd64", size=LOG_SIZE_61, **kw):
        text, _ = kunit_results("mpmcring_basic", cases, size, **kw)
        return kunit_case_logs(text.splitlines(), "mpmcring_basic", release)

    def test_simulator_is_6_1(self):
        # The shape the issue is about: case 1's log is 511 bytes, cut,
        # without its result, and case 2's first line is glued to it.
        text, _ = kunit_results("mpmcring_basic", OVERFLOW)
        self.assertNotIn("not ok 1 basic_a", text)
        glued = [l for l in text.splitlines() if "# basic_a:" in l and "# basic_b:" in l]
        self.assertEqual(glued, ["    # basic_a: EXPECT    # basic_b: EXPECTATION FAILED at "
                                 "tests/kunit/basic.c:200"], text)

    def test_cut_log_is_its_own_case(self):
        doc = self.split(OVERFLOW)
        self.assertIsNone(doc["unattributed"])
        a, b, c = doc["cases"]
        self.assertEqual((a["num"], a["name"], a["status"], a["cut"]), (1, "basic_a", "fail", True))
        self.assertIn("cut at 511 bytes", a["why"])
        self.assertEqual(len(a["detail"].encode()), 511)
        self.assertIn("basic.c:10", a["detail"])
        self.assertNotIn("basic_b", a["detail"])
        self.assertEqual((b["name"], b["status"], b["cut"]), ("basic_b", "fail", False))
        self.assertTrue(b["detail"].startswith("    # basic_b: EXPECTATION FAILED at "
                                               "tests/kunit/basic.c:200"), b["detail"])
        self.assertNotIn("basic.c:1", b["detail"].replace("basic.c:200", ""))
        self.assertEqual((c["name"], c["status"]), ("basic_c", "pass"))
        self.assertEqual(doc["rest"], ["# mpmcring_basic: pass:1 fail:2 skip:0 total:3",
                                       "# Totals: pass:1 fail:2 skip:0 total:3"])

    def test_cut_inside_its_result_line(self):
        # A passing case whose log fills up inside "    ok 1 basic_a":
        # "    ok 1" glued to "    ok 2 basic_b" must not read as a pass
        # of a case named "ok 2 basic_b".
        for keep in range(1, len("    ok 1 basic_a\n")):
            pad = 511 - keep - len("    # basic_a: \n")
            cases = [("basic_a", "pass", ["x" * pad]), ("basic_b", "pass", []),
                     ("basic_c", "pass", [])]
            doc = self.split(cases)
            self.assertIsNone(doc["unattributed"], keep)
            self.assertEqual([(c["name"], c["status"]) for c in doc["cases"]],
                             [("basic_a", "fail"), ("basic_b", "pass"), ("basic_c", "pass")], keep)

    def test_two_cut_logs_in_a_row_and_the_last(self):
        cases = [(n, "fail", expectations("x.c", 1, 5)) for n in ("c_1", "c_2", "c_3")]
        doc = self.split(cases)
        self.assertIsNone(doc["unattributed"])
        self.assertEqual([(c["name"], c["cut"]) for c in doc["cases"]],
                         [("c_1", True), ("c_2", True), ("c_3", True)])
        self.assertEqual(doc["rest"], ["# mpmcring_basic: pass:0 fail:3 skip:0 total:3",
                                       "# Totals: pass:0 fail:3 skip:0 total:3"])

    def test_whole_logs_are_unchanged(self):
        cases = [("basic_a", "fail", expectations("x.c", 1, 1)), ("basic_b", "pass", []),
                 ("basic_c", "skip", [])]
        doc = self.split(cases)
        self.assertEqual([(c["num"], c["name"], c["status"], c["cut"]) for c in doc["cases"]],
                         [(1, "basic_a", "fail", False), (2, "basic_b", "pass", False),
                          (3, "basic_c", "skip", False)])
        self.assertIn("EXPECTATION FAILED at x.c:1", doc["cases"][0]["detail"])

    def test_6_12_logs_are_never_cut(self):
        # 6.12's string_stream: a long log is whole, and its length says
        # nothing.
        doc = self.split(OVERFLOW, release="6.12.117+deb12-amd64", size=None)
        self.assertIsNone(doc["unattributed"])
        self.assertEqual([(c["name"], c["status"], c["cut"]) for c in doc["cases"]],
                         [("basic_a", "fail", False), ("basic_b", "fail", False),
                          ("basic_c", "pass", False)])
        self.assertIn("basic.c:15", doc["cases"][0]["detail"])

    def test_no_guess_where_the_rule_is_unknown(self):
        # A cut log on a kernel whose log size the runner does not know,
        # or a 6.12 log without its result: the lines are no case's.
        for release in ("6.3.0", None, "6.12.117+deb12-amd64"):
            doc = self.split(OVERFLOW, release=release)
            # Case 1's log holds case 2's result line: case 1 fails,
            # and where case 2's log starts is not guessed.
            self.assertEqual([(c["num"], c["status"]) for c in doc["cases"]], [(1, "fail")],
                             release)
            self.assertIn("another case's result (not ok 2 basic_b)", doc["cases"][0]["why"])
            self.assertEqual(doc["unattributed"]["num"], 2, release)
            self.assertIn("ok 3 basic_c", doc["unattributed"]["text"])
            self.assertIn("case 1", doc["unattributed"]["why"])

    def test_cut_that_does_not_add_up_is_not_guessed(self):
        # A 6.1 log without its result that is not 511 bytes long: not a
        # cut KUnit makes; the runner does not pick a boundary.
        text, _ = kunit_results("mpmcring_basic", OVERFLOW)
        lines = text.splitlines()
        lines = [l.replace("ring->head == 4096", "ring->head == 40960") for l in lines]
        doc = kunit_case_logs(lines, "mpmcring_basic", "6.1.0-57-amd64")
        self.assertIsNotNone(doc["unattributed"])
        self.assertEqual(doc["cases"], [])


R612 = "6.12.117+deb12-amd64"


class KunitForgedResults(unittest.TestCase):
    """Review of harn19: a line a case's output prints that looks like a
    result line must never turn a failing case into a pass; a cut case
    fails; bytes are not miscounted. Each test fails when its check in
    parse.kunit_case_logs() is removed."""

    def split(self, cases, release="6.1.0-57-amd64", size=LOG_SIZE_61, **kw):
        text, _ = kunit_results("mpmcring_basic", cases, size, **kw)
        return kunit_case_logs(text.splitlines(), "mpmcring_basic", release)

    def statuses(self, doc):
        return [(c["name"], c["status"]) for c in doc["cases"]]

    def test_6_12_forged_own_result_line_fails(self):
        # Case 2 fails; its message holds "    ok 2 basic_b" (review poc A).
        msg = ("EXPECTATION FAILED at x.c:5\n    Expected a == b, but\n\nring said:\n"
               "    ok 2 basic_b\n")
        doc = self.split([("basic_a", "pass", []), ("basic_b", "fail", [msg]),
                          ("basic_c", "pass", [])], R612, None)
        self.assertEqual(self.statuses(doc), [("basic_a", "pass"), ("basic_b", "fail")])
        self.assertIn("its results hold 2 lines that look like its result line (ok 2 basic_b): "
                      "a case's output must not print KTAP result lines", doc["cases"][1]["why"])
        self.assertEqual(doc["unattributed"]["num"], 3)

    def test_6_12_forged_other_result_line_fails(self):
        # Case 2's message holds case 3's result line.
        msg = "EXPECTATION FAILED at x.c:5\n    ok 3 basic_c\n"
        doc = self.split([("basic_a", "pass", []), ("basic_b", "fail", [msg]),
                          ("basic_c", "pass", [])], R612, None)
        self.assertEqual([c["status"] for c in doc["cases"]], ["pass", "fail"])
        self.assertIn("looks like another case's result (ok 3 basic_c)", doc["cases"][1]["why"])
        self.assertEqual(doc["unattributed"]["num"], 3)

    def test_6_1_forged_result_line_in_cut_log_fails(self):
        # Case 2 fails and its log is cut; the kept bytes hold a forged
        # "    ok 2 basic_b" and end on a line boundary (review poc3 B2).
        filler = expectations("x.c", 10, 3)
        used = sum(len("    # basic_b: %s\n" % m) for m in filler)
        head = "ring said:\n    ok 2 basic_b\n"
        msg = head + "z" * (511 - used - len("    # basic_b: \n") - len(head))
        cases = [("basic_a", "pass", []), ("basic_b", "fail", filler + [msg]),
                 ("basic_c", "pass", [])]
        text, _ = kunit_results("mpmcring_basic", cases)
        self.assertNotIn("not ok 2", text)
        doc = kunit_case_logs(text.splitlines(), "mpmcring_basic", "6.1.0-57-amd64")
        self.assertEqual(self.statuses(doc)[:2], [("basic_a", "pass"), ("basic_b", "fail")])
        self.assertIn("where its log ends is not known", doc["cases"][1]["why"])
        self.assertIn("does not start with its own", doc["cases"][2]["why"])

    def test_6_1_forged_result_line_then_cut_into_the_next_fails(self):
        # The forged line, then more of case 2's failures, cut (poc B).
        msg = ("EXPECTATION FAILED at x.c:5\n    Expected a == b, but\n\nring said:\n"
               "    ok 2 basic_b\n")
        doc = self.split([("basic_a", "pass", []),
                          ("basic_b", "fail", [msg] + expectations("x.c", 10, 5)),
                          ("basic_c", "pass", [])])
        self.assertEqual(self.statuses(doc), [("basic_a", "pass"), ("basic_b", "fail")])
        self.assertEqual(doc["unattributed"]["num"], 3)

    def test_6_1_forged_result_line_filling_the_log_fails(self):
        # The forged line is the last of the 511 bytes: the real result
        # line did not fit.
        line = "    ok 1 basic_a\n"
        pad = 511 - len("    # basic_a: ") - len("\n") - len(line)
        doc = self.split([("basic_a", "fail", ["x" * pad + "\n" + line.rstrip("\n")]),
                          ("basic_b", "pass", [])])
        self.assertEqual(self.statuses(doc), [("basic_a", "fail"), ("basic_b", "pass")])
        self.assertIn("fills all 511 bytes", doc["cases"][0]["why"])

    def test_cut_case_fails_with_its_kept_bytes(self):
        doc = self.split(OVERFLOW)
        a = doc["cases"][0]
        self.assertEqual((a["status"], a["cut"]), ("fail", True))
        self.assertIn("its debugfs log was cut at 511 bytes (KUnit keeps 511 bytes of a case's "
                      "log on kernel 6.1.0-57-amd64: 6.1's KUNIT_LOG_SIZE 512, its NUL included), "
                      "so its result and output cannot be read: make the case print less",
                      a["why"])

    def test_exact_fit_cut_fails(self):
        # The log is full with a whole line: the result line is dropped
        # whole (keep=0), and the next log starts on a line boundary.
        pad = 511 - len("    # basic_a: \n")
        doc = self.split([("basic_a", "pass", ["x" * pad]), ("basic_b", "pass", []),
                          ("basic_c", "pass", [])])
        self.assertIsNone(doc["unattributed"])
        self.assertEqual([(c["name"], c["status"], c["cut"]) for c in doc["cases"]],
                         [("basic_a", "fail", True), ("basic_b", "pass", False),
                          ("basic_c", "pass", False)])

    def test_odd_line_breaks_are_not_counted(self):
        # \r\n in a cut log: the lines rejoined with \n are 21 bytes short,
        # and the window would take case 2's first line (review poc D2).
        first = "    # basic_b: hello\n"
        cases = [("basic_a", "fail", ["x\r\n" * len(first)] + expectations("x.c", 10, 5)),
                 ("basic_b", "pass", ["hello", "world"]), ("basic_c", "pass", [])]
        text, _ = kunit_results("mpmcring_basic", cases)
        with tempfile.NamedTemporaryFile("w", suffix=".log", newline="", delete=False) as f:
            f.write("@@MPMCRING BEGIN kunit mpmcring_basic t=1 tok=T\n%s"
                    "@@MPMCRING END kunit mpmcring_basic rc=0 t=2 tok=T\n" % text)
        try:
            _, secs, _, _ = parse_results(f.name, "T")
        finally:
            os.unlink(f.name)
        self.assertTrue(secs[0]["odd_breaks"])
        doc = kunit_case_logs(secs[0]["lines"], "mpmcring_basic", "6.1.0-57-amd64",
                              secs[0]["odd_breaks"])
        self.assertEqual(doc["cases"], [])
        self.assertIn("line breaks other than", doc["unattributed"]["why"])
        for brk in ("\r", "\x85", "\u2028", "\u2029"):
            with tempfile.NamedTemporaryFile("wb", suffix=".log", delete=False) as f:
                f.write(("@@MPMCRING BEGIN kunit s t=1 tok=T\na%sb\n" % brk).encode())
            try:
                self.assertTrue(parse_results(f.name, "T")[1][0]["odd_breaks"], repr(brk))
            finally:
                os.unlink(f.name)

    def test_cut_log_that_starts_as_the_case_before_fails_it(self):
        # Case 1 prints a forged "    ok 1 basic_a" and then fills its
        # 511 bytes (its real result line is dropped). What follows it
        # is no cut log of case 2: it starts with basic_a's lines.
        c1 = b"    # basic_a: hi\n    ok 1 basic_a\n"
        c1 += b"    # basic_a: " + b"y" * (511 - len(c1) - 16) + b"\n"
        c2 = b"    # basic_b: " + b"z" * 19 + b"\n"
        c2 += b"    # basic_b: " + b"z" * (511 - len(c2) - 15)
        self.assertEqual((len(c1), len(c2)), (511, 511))
        raw = (b"KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: mpmcring_basic\n"
               b"    1..3\n" + c1 + c2 + b"    ok 3 basic_c\nnot ok 1 mpmcring_basic\n")
        doc = kunit_case_logs(raw.decode().splitlines(), "mpmcring_basic", "6.1.0-57-amd64")
        self.assertEqual(self.statuses(doc), [("basic_a", "fail")])
        self.assertIn("not a cut log of one case", doc["cases"][0]["why"])
        self.assertEqual(doc["unattributed"]["num"], 2)

    def test_no_result_is_no_pass(self):
        # 6.12: case 3's result line missing (dropped on ENOMEM).
        text, _ = kunit_results("mpmcring_basic", [("basic_a", "pass", []),
                                                    ("basic_b", "pass", ["hi"]),
                                                    ("basic_c", "pass", ["lost"])], None)
        lines = [l for l in text.splitlines() if l != "    ok 3 basic_c"]
        doc = kunit_case_logs(lines, "mpmcring_basic", R612)
        self.assertEqual(doc["unattributed"]["num"], 3)
        self.assertIn("case 3 has no result line", doc["unattributed"]["why"])
        # Nor does the case before it keep a pass: where it ended is not known.
        self.assertEqual([c["status"] for c in doc["cases"]], ["pass", "fail"])

    def test_short_log_without_result_is_no_cut(self):
        # 6.1, the guest died inside case 2: fewer than 511 bytes, no result.
        text, _ = kunit_results("mpmcring_basic", [("basic_a", "pass", []),
                                                    ("basic_b", "pass", ["hi"])])
        lines = text.splitlines()
        lines = lines[:lines.index("    # basic_b: hi") + 1]
        doc = kunit_case_logs(lines, "mpmcring_basic", "6.1.0-57-amd64")
        self.assertEqual(doc["unattributed"]["num"], 2)
        self.assertEqual([c["cut"] for c in doc["cases"]], [False])

    def test_cut_that_splits_a_character_is_not_guessed(self):
        # Bytes that are not UTF-8 come back as U+FFFD (3 bytes each):
        # the runner's count is off, here by 6, so that the bytes after
        # its 511 still start like a case's log ("    # "). No boundary
        # is picked.
        kept = b"    # basic_a: " + b"\xff" * 3 + b"x" * 486 + b"\n    # "
        self.assertEqual(len(kept), 511)
        raw = (b"KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: mpmcring_basic\n"
               b"    1..2\n" + kept + b"    ok 2 basic_b\nok 1 mpmcring_basic\n")
        # As read_lines() gives them.
        lines = raw.decode("utf-8", "replace").splitlines()
        doc = kunit_case_logs(lines, "mpmcring_basic", "6.1.0-57-amd64")
        self.assertEqual(doc["cases"], [])
        self.assertEqual(doc["unattributed"]["num"], 1)


if __name__ == "__main__":
    unittest.main()
