# SPDX-License-Identifier: GPL-2.0-only
"""Unit tests of parse.py's TAP checks: a document whose results do not
match its plan one for one must not pass."""
import unittest

from parse import tap_level, tap_problems


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


if __name__ == "__main__":
    unittest.main()
