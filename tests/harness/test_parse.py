# SPDX-License-Identifier: GPL-2.0-only
"""Unit tests of parse.py's TAP checks: a document whose results do not
match its plan one for one must not pass."""
import os
import tempfile
import unittest

from parse import parse_results, tap_level, tap_problems


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


if __name__ == "__main__":
    unittest.main()
