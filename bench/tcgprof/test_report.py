#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""report.py on a made-up profile whose answer is known: what an event
costs (traced minus the part's untraced baseline), robust to the kernel's
own work landing in one window; names from KSYM lines; code past every
symbol not taken for the function before it. Run by tests/host/run.sh."""
import contextlib
import io
import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402

K_FN = 0xffffffff81000000      # a kernel function the workload runs
K_NOISE = 0xffffffff81001000   # the kernel's own work (an RNG reseed)
K_LAST = 0xffffffff81002000    # the last kernel symbol
K_PAST = K_LAST + (1 << 20)    # code no symbol covers
M_FN = 0xffffffffc0000000      # our module's function
WORK = 100


def window(k, blocks, locked_column=True):
    """insn_prof's lines for window k: (address, instructions, runs on
    vCPU 0, runs on vCPU 1[, locked instructions]); without
    locked_column, as insn_prof wrote them before it counted those."""
    lines = ["window %d" % k]
    for b in blocks:
        addr, n, r0, r1 = b[:4]
        line = "%x %d %d %d %d 0 0 0 0 0 0" % (addr, n, r0 + r1, r0, r1)
        if locked_column:
            line += " %d" % (b[4] if len(b) > 4 else 0)
        lines.append(line)
    lines.append("end %d 0" % k)
    return lines


def meta(k, stretch, rep):
    return ('BENCH {"kind":"window","window":%d,"part":"drain","transport":"ring",'
            '"rep":%d,"stretch":"%s","work":%d}' % (k, rep, stretch, WORK))


class Report(unittest.TestCase):
    def run_report(self, windows, output, extra=()):
        with tempfile.TemporaryDirectory() as d:
            w, o = os.path.join(d, "w"), os.path.join(d, "o")
            with open(w, "w") as f:
                f.write("\n".join(windows) + "\n")
            with open(o, "w") as f:
                f.write("\n".join(output) + "\n")
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                report.main(["--windows", w, "--output", o, "--top", "20"] + list(extra))
            return out.getvalue()

    def profile(self, noise_in, traced_extra=(), locked_column=True):
        """Three repetitions: untraced runs K_FN 10 instructions a
        record; traced adds M_FN 5 and K_FN stays. noise_in: the windows
        where the kernel's own work (K_NOISE, 40 a record) lands."""
        windows, output = [], []
        for rep in range(3):
            for stretch in ("untraced", "traced"):
                k = 2 * rep + (stretch == "traced")
                blocks = [(K_FN, 10, WORK, 0, 1)]  # one locked instruction a run
                if stretch == "traced":
                    blocks.append((M_FN, 5, WORK, 0, 2))  # two more
                    # On vCPU 1 (a consumer, a kworker): not counted, nor its locks.
                    blocks.append((K_FN, 10, 0, 7 * WORK, 3))
                    blocks += traced_extra
                if k in noise_in:
                    blocks.append((K_NOISE, 40, WORK, 0))
                windows += window(k, blocks, locked_column)
                output.append(meta(k, stretch, rep))
                if stretch == "traced":
                    output += ["KSYM %d %x T kfn -" % (k, K_FN),
                               "KSYM %d %x T knoise -" % (k, K_NOISE),
                               "KSYM %d %x T klast -" % (k, K_LAST),
                               "KSYM %d %x t mfn [mpmcring_events]" % (k, M_FN)]
        return windows, output

    def test_event_cost_is_the_traced_minus_the_baseline(self):
        out = self.run_report(*self.profile(noise_in=()))
        self.assertIn("| drain | ring | traced | 5 | 5, 5, 5 | 2.00 |", out)
        self.assertIn("5.0  mfn [mpmcring_events]", out)

    def test_all_vcpus_counts_the_consumers_too(self):
        # vCPU 1's K_FN (70 a record) counts, and its locked instruction
        # in each of its 7 runs a record (21 more).
        out = self.run_report(*self.profile(noise_in=()), extra=["--all-vcpus"])
        self.assertIn("| drain | ring | traced | 75 | 75, 75, 75 | 23.00 |", out)
        self.assertIn("on every vCPU (--all-vcpus)", out)

    def test_noise_in_one_untraced_window_moves_nothing(self):
        out = self.run_report(*self.profile(noise_in=(0,)))
        self.assertIn("| drain | ring | traced | 5 | 5, 5, 5 |", out)

    def test_noise_in_one_traced_window_moves_its_repetition_only(self):
        out = self.run_report(*self.profile(noise_in=(3,)))
        self.assertIn("| drain | ring | traced | 5 | 5, 45, 5 |", out)
        # The per-function table is the median repetition's, not the noisy one.
        self.assertNotIn("knoise", out)

    def test_code_past_every_symbol_is_not_the_last_function(self):
        out = self.run_report(*self.profile(noise_in=(), traced_extra=[(K_PAST, 3, WORK, 0)]))
        self.assertIn("| drain | ring | traced | 8 | 8, 8, 8 |", out)
        self.assertIn("3.0  [unknown, past klast]", out)
        self.assertNotIn("klast\n", out)

    def test_a_profile_without_the_locked_column_says_so(self):
        out = self.run_report(*self.profile(noise_in=(), locked_column=False))
        self.assertIn("| drain | ring | traced | 5 | 5, 5, 5 | - |", out)

    def test_a_line_with_other_columns_fails(self):
        windows, output = self.profile(noise_in=())
        windows[1] += " 0"
        with self.assertRaises(SystemExit) as e:
            self.run_report(windows, output)
        self.assertIn("columns", str(e.exception))

    def test_windows_named_but_not_counted_fail(self):
        windows, output = self.profile(noise_in=())
        with self.assertRaises(SystemExit):
            self.run_report(windows[:3], output)


if __name__ == "__main__":
    unittest.main()
