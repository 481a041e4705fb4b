#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The host benchmark's statistics and its two-run comparison on made-up
rounds whose answer is known: one run gives no CV (not a steady one);
a verdict of ahead needs the ratio's spread clear of 1; a round a peer
took nothing in is counted; rows that appear twice are refused;
summary.json is JSON; a configuration or ratio one run lacks counts as
not agreeing, and agreement is the same whichever run is A. Run by
tests/host/run.sh."""
import contextlib
import csv
import io
import json
import math
import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402
import render  # noqa: E402
import stats  # noqa: E402


def row(impl, rnd, rate, size=64, mode="single", share=1.0):
    return {"producers": 1, "consumers": 1, "size": size, "mode": mode, "impl": impl,
            "round": rnd, "records_per_s": rate, "cpu_share": share, "steal": 0.0,
            "other_busy": 0.0, "nivcsw": 0, "load1": 0.0, "transfer_ns": 60.0}


def rounds(impl, rates, **kw):
    return [row(impl, i, r, **kw) for i, r in enumerate(rates)]


class Stats(unittest.TestCase):
    def test_one_run_has_no_cv(self):
        self.assertTrue(math.isnan(stats.cv([5.0])))
        s = stats.summarize(rounds("ours", [2e6]) + rounds("peer", [1e6]))
        v = render.verdicts(s)
        self.assertIn("rate CV <= 10%: 0 of 0", v)
        self.assertIn("2 more with one run, no CV", v)
        self.assertIn("ratio CV <= 10% in 0 of 0", v)
        # One round: ahead by its median, not beyond a spread never measured.
        self.assertIn("median ahead in 1 of 1 configurations (worst 2.00x); beyond the spread "
                      "(quartiles over rounds) ahead in 0, behind in 0, within it 0, one round "
                      "only in 1", v)

    def test_ahead_needs_the_spread_clear_of_one(self):
        # Median 1.05x, rounds from 0.5x to 1.6x: ahead by the median only.
        ours = [1.05, 1.05, 1.05, 1.05, 1.05, 1.05, 1.05]
        peer = [2.1, 1.9, 1.1, 1.0, 0.9, 0.7, 0.65]
        s = stats.summarize(rounds("ours", ours) + rounds("peer", peer))
        r = s[(1, 1, 64, "single")]["ratios"]["peer"]["all"]
        self.assertEqual(r["median"], 1.05)
        self.assertLess(r["q1"], 1)
        self.assertIn("median ahead in 1 of 1 configurations (worst 1.05x); beyond the "
                      "spread (quartiles over rounds) ahead in 0, behind in 0, within it 1",
                      render.verdicts(s))
        s = stats.summarize(rounds("ours", [3, 3, 3, 3]) + rounds("peer", [1, 1.1, 1.2, 1.3]))
        self.assertIn("ahead in 1, behind in 0, within it 0", render.verdicts(s))

    def test_round_the_peer_took_nothing_in_is_counted(self):
        s = stats.summarize(rounds("ours", [2, 2, 2]) + rounds("peer", [1, 0, 1]))
        e = s[(1, 1, 64, "single")]["ratios"]["peer"]
        self.assertEqual((e["all"]["n"], e["peer_zero"]), (2, 1))
        self.assertIn("1 rounds where peer took nothing", render.verdicts(s))

    def test_rows_twice_are_refused(self):
        with self.assertRaisesRegex(ValueError, "round 0 appears twice"):
            stats.summarize(rounds("ours", [1, 2]) + rounds("ours", [3]))

    def test_files_say_no_number_as_none(self):
        s = stats.summarize(rounds("ours", [2e6]) + rounds("peer", [1e6]))
        with tempfile.TemporaryDirectory() as d:
            render.summary_json(os.path.join(d, "s.json"), s, {})
            with open(os.path.join(d, "s.json")) as f:
                doc = json.load(f, parse_constant=lambda c: self.fail("not JSON: %s" % c))
            self.assertIsNone(doc["configurations"][0]["impls"]["ours"]["all"]["cv"])
            render.summary_csv(os.path.join(d, "s.csv"), s, "ours")
            with open(os.path.join(d, "s.csv"), newline="") as f:
                rows = {r["impl"]: r for r in csv.DictReader(f)}
        self.assertEqual((rows["ours"]["cv_rps"], rows["ours"]["ours_over_impl"],
                          rows["ours"]["base"]), ("", "", "ours"))
        self.assertEqual((rows["peer"]["ours_over_impl"], rows["peer"]["ratio_n"]),
                         ("2.0000", "1"))


def write_run(folder, ratios, base="ours", command="hostbench -q -o x", old=False):
    """A results folder as report.py leaves it: summary.csv with ratios
    {(size, mode): {peer: ratio or None}}, runs.csv, machine.json; old:
    as report.py wrote it before the base column (its own row 1.0000)."""
    os.makedirs(folder)
    with open(os.path.join(folder, "summary.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["mix", "size", "mode", "impl", "median_rps", "ours_over_impl", "ratio_cv"] +
                   ([] if old else ["base"]))
        for (size, mode), peers in ratios.items():
            w.writerow(["1P1C", size, mode, base, "1000", "1.0000" if old else "", "0.0000"] +
                       ([] if old else [base]))
            for p, r in peers.items():
                w.writerow(["1P1C", size, mode, p, "500", "" if r is None else r, "0.1000"] +
                           ([] if old else [base]))
    with open(os.path.join(folder, "runs.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["impl", "producers", "consumers", "size", "mode", "idle_ns"])
        w.writerow([base, 1, 1, 64, "single", 0])
    with open(os.path.join(folder, "machine.json"), "w") as f:
        json.dump(dict({"command": command, "machine": "m"},
                       **({} if old else {"impl_order": "williams"})), f)


class Compare(unittest.TestCase):
    def run_compare(self, a, b):
        with tempfile.TemporaryDirectory() as d:
            write_run(os.path.join(d, "a"), *a)
            write_run(os.path.join(d, "b"), *b)
            out, err = io.StringIO(), io.StringIO()
            sys.argv = ["compare.py", os.path.join(d, "a"), os.path.join(d, "b")]
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                compare.main()
            return out.getvalue(), err.getvalue()

    def test_missing_counts_as_not_agreeing(self):
        a = {(64, "single"): {"p": 1.0}, (256, "single"): {"p": 2.0}}
        b = {(64, "single"): {"p": 1.05}, (256, "single"): {"p": None},
             (1024, "batch"): {"p": 1.0}}
        out, err = self.run_compare((a,), (b,))
        self.assertIn("all peers: 1 of 3 (configuration, peer) pairs within a factor 1.10 "
                      "either way (2 missing in a run, counted as not)", out)
        self.assertIn("1P1C 1024B batch ran in run B only", err)
        self.assertIn("1P1C 256B single ours/p: no ratio in run B", err)

    def test_agreement_is_the_same_either_way(self):
        for x, y in ((1.0, 1.1), (1.1, 1.0), (1.0, 0.9091), (1.0, 0.905)):
            self.assertEqual(compare.agree(x, y, 0.10), compare.agree(y, x, 0.10), (x, y))
        self.assertTrue(compare.agree(1.0, 1.1, 0.10))
        self.assertFalse(compare.agree(1.0, 0.905, 0.10))

    def test_ratios_of_different_bases_are_refused(self):
        a = {(64, "single"): {"p": 1.0}}
        with self.assertRaises(SystemExit) as e:
            self.run_compare((a, "ours"), (a, "ours_chunk"))
        self.assertIn("run A's ratios are of ours, run B's of ours_chunk", str(e.exception))

    def test_different_options_are_said(self):
        a = {(64, "single"): {"p": 1.0}}
        _, err = self.run_compare((a, "ours", "hostbench -q -o A"),
                                  (a, "ours", "hostbench -q -e 3000 -o B"))
        self.assertIn("differ in their options: A '-q', B '-q -e 3000'", err)
        _, err = self.run_compare((a, "ours", "hostbench -q -o A"),
                                  (a, "ours", "hostbench -q -oB", True))
        self.assertIn("differ in their order of implementations: A 'williams', B 'rotation'",
                      err)
        self.assertNotIn("options", err)

    def test_old_files_name_their_base_by_its_own_row(self):
        a = {(64, "single"): {"p": 1.0, "ours": 0.5}}
        out, _ = self.run_compare((a, "ours_chunk", "c", True), (a, "ours_chunk", "c", True))
        self.assertIn("ours/ours: 1 of 1", out)
        self.assertIn("ours/p: 1 of 1", out)


if __name__ == "__main__":
    unittest.main()
