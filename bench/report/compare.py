#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Whether two hostbench runs agree: the issue's check of `make bench` run
twice from a fresh clone.

    compare.py DIR_A DIR_B [--tolerance 0.10] [--far 0.5] [--markdown]

reads each run's summary.csv (report.py) and, for every configuration
(mix, size, consume mode) and peer, compares ours' same-round ratio over
that peer (the median of per-round ratios, ours_over_impl) between the
runs: they agree when |log(B / A)| <= log(1 + tolerance), the same
verdict whichever run is A. A configuration or ratio missing (or zero) in
either run is named on stderr and counted as not agreeing. It prints each
configuration's ratios, then how many (configuration, peer) pairs agree
within the tolerance, per peer and in all. It refuses two runs whose
ratios are of different implementations (report.py --ours), and says so
on stderr when their options or machines differ.

hostbench measures the line transfer between two CPUs before each round
(runs.csv, transfer_ns): where the hypervisor placed the vCPUs decides it
(53 against 184-304 ns on two placements of 12-02), and every contended
rate with it. Since f122b31 it is the median of 8 lines: on the machine
of bench/RESULTS.md's "Each line its own transfer cost" each line also
has a cost of its own, so one configuration's rounds on one placement
part by 25-75% (max over min; the run's rounds 54-62 ns from the tenth
to the ninetieth percentile). A configuration ran on one placement in
both runs when every round of both measured within a factor 1 + --far of
that configuration's median over both runs' rounds, and the two runs'
medians are within a factor 1 + --far / 4 of each other (a whole
configuration on another placement in one run moves its median, where
single rounds in both only widen the band); the pairs are counted again
over those configurations. Counts in bench/RESULTS.md before that
section came from the earlier test (the largest round over the smallest
at most 1.25, on a probe of one line).

--markdown prints the table for bench/RESULTS.md (ours' rate and each
ratio as "run A / run B"), then the same counts. Exits 0 whatever it finds:
it reports, the reader judges (timings are never a pass/fail test here).
"""
import argparse
import csv
import json
import math
import os
import sys


def read_csv(folder, name, hint):
    path = os.path.join(folder, name)
    try:
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
    except OSError as e:
        sys.exit("compare: cannot read %s: %s (%s)" % (path, e, hint))


def key_of(r):
    return (r["mix"] if "mix" in r else "%sP%sC" % (r["producers"], r["consumers"]),
            int(r["size"]), r["mode"])


class Run:
    """One results folder: ours' ratios over each peer, ours' rate, and the
    line transfer of each round, per configuration."""

    def __init__(self, folder):
        self.folder = folder
        self.ratio, self.rate, self.lines = {}, {}, {}
        self.waits = set()  # the consumers' idle waits (hostbench -e), ns
        rows = read_csv(folder, "summary.csv", "run report.py on that folder first")
        # report.py --ours names the implementation the ratios are of;
        # before the base column, its row had ours/itself: 1.0000, CV 0.
        bases = {r["base"] for r in rows if r.get("base")}
        if not bases:
            ones = {}
            for r in rows:
                one = r["ours_over_impl"] == "1.0000" and r.get("ratio_cv") == "0.0000"
                ones.setdefault(r["impl"], []).append(one)
            bases = {i for i, v in ones.items() if all(v)}
        if len(bases) != 1:
            sys.exit("compare: %s/summary.csv: which implementation the ratios are of is not "
                     "clear (%s): run report.py on that folder again" %
                     (folder, ", ".join(sorted(bases)) or "none"))
        self.base = bases.pop()
        for r in rows:
            k = key_of(r)
            if r["impl"] == self.base:
                self.rate[k] = float(r["median_rps"]) if r["median_rps"] else 0.0
            elif r["ours_over_impl"]:
                self.ratio.setdefault(k, {})[r["impl"]] = float(r["ours_over_impl"])
            else:
                self.ratio.setdefault(k, {})
        for r in read_csv(folder, "runs.csv", "the folder hostbench -o wrote"):
            self.waits.add(int(float(r.get("idle_ns") or 0)))
            if r["impl"] == self.base and r.get("transfer_ns"):
                v = float(r["transfer_ns"])
                if v > 0:
                    self.lines.setdefault(key_of(r), []).append(v)

    def about(self):
        """What the two runs must share to be compared: the command's
        options, the machine."""
        m = {}
        try:
            with open(os.path.join(self.folder, "machine.json")) as f:
                m = json.load(f)
        except (OSError, ValueError):
            pass
        cmd = str(m.get("command", "?")).split()
        # The output folder is the run's own.
        opts = " ".join(w for i, w in enumerate(cmd[1:], 1)
                        if not w.startswith("-o") and cmd[i - 1] != "-o")
        # Runs from before the balanced order rotated it (bench/host/order.c).
        return {"options": opts, "machine": str(m.get("machine", "?")),
                "order of implementations": str(m.get("impl_order", "rotation"))}

    def get(self, k, peer):
        """ours/peer, or None when missing or not positive."""
        v = self.ratio.get(k, {}).get(peer)
        return v if v is not None and v > 0 else None


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def same_placement(a, b, k, far):
    """True/False when both runs measured the line for k, else None."""
    la, lb = a.lines.get(k), b.lines.get(k)
    if not la or not lb:
        return None
    m = median(la + lb)
    ma, mb = median(la), median(lb)
    return (m / (1 + far) <= min(la + lb) and max(la + lb) <= m * (1 + far) and
            max(ma, mb) <= min(ma, mb) * (1 + far / 4))


def agree(x, y, tol):
    """Whether two ratios agree within tol, whichever run is called A:
    |log(y / x)| <= log(1 + tol)."""
    return abs(math.log(y / x)) <= math.log1p(tol) + 1e-12


def counts(a, b, keys, peers, tol):
    """{peer: (within tol, compared, missing)} over keys: a ratio missing
    (or not positive) in one run or both is missing, and not agreeing."""
    out = {}
    for p in peers:
        both = [k for k in keys if a.get(k, p) is not None and b.get(k, p) is not None]
        out[p] = (sum(agree(a.get(k, p), b.get(k, p), tol) for k in both), len(keys),
                  len(keys) - len(both))
    return out


def say_missing(a, b, keys, peers):
    """Names, on stderr, each (configuration, peer) ratio a run lacks."""
    for k in keys:
        for p in peers:
            gone = [n for n, r in (("A", a), ("B", b)) if r.get(k, p) is None]
            if gone:
                print("compare: %s %dB %s ours/%s: no ratio in run %s: counted as not "
                      "agreeing" % (k[0], k[1], k[2], p, " or ".join(gone)), file=sys.stderr)


def print_counts(prefix, c, tol):
    within = "within a factor %.2f either way" % (1 + tol)
    for p, (ok, n, gone) in c.items():
        print("%sours/%s: %d of %d configurations %s%s" % (
            prefix, p, ok, n, within, " (%d missing in a run, counted as not)" % gone
            if gone else ""))
    gone = sum(x[2] for x in c.values())
    print("%sall peers: %d of %d (configuration, peer) pairs %s%s" %
          (prefix, sum(x[0] for x in c.values()), sum(x[1] for x in c.values()), within,
           " (%d missing in a run, counted as not)" % gone if gone else ""))


def line_cell(a, b, k):
    la, lb = a.lines.get(k), b.lines.get(k)
    if not la or not lb:
        return "-"
    return "%.0f-%.0f / %.0f-%.0f" % (min(la), max(la), min(lb), max(lb))


def text(a, b, keys, peers, args, same):
    print("ours / peer, run A -> run B (B / A); * beyond a factor %.2f either way; line ns: "
          "each run's rounds, fastest-slowest (off: not on one placement, below)" %
          (1 + args.tolerance))
    print("%-5s %6s %-6s %-22s %s" % ("mix", "size", "mode", "line ns A / B",
                                      "  ".join("%-24s" % p for p in peers)))
    for k in keys:
        cells = []
        for p in peers:
            x, y = a.get(k, p), b.get(k, p)
            if x is None or y is None:
                cells.append("%-24s" % "-")
                continue
            cells.append("%-24s" % ("%.2fx -> %.2fx (%.2f)%s" % (
                x, y, y / x, "" if agree(x, y, args.tolerance) else " *")))
        ln = line_cell(a, b, k) + ("" if same.get(k) is not False else " off")
        print("%-5s %5dB %-6s %-22s %s" % (k[0], k[1], k[2], ln, "  ".join(cells)))


def markdown(a, b, keys, peers):
    head = ["mix", "size", "consume", "ours Mrec/s"] + ["ours/%s" % p for p in peers]
    head.append("line ns (fastest-slowest round)")
    print("| " + " | ".join(head) + " |")
    print("|---|---:|---|" + "---:|" * (len(head) - 3))
    for k in keys:
        ra, rb = a.rate.get(k), b.rate.get(k)
        cells = [k[0], str(k[1]), k[2],
                 "%.1f / %.1f" % (ra / 1e6, rb / 1e6) if ra and rb else "-"]
        for p in peers:
            x, y = a.get(k, p), b.get(k, p)
            cells.append("-" if x is None or y is None else "%.2fx / %.2fx" % (x, y))
        cells.append(line_cell(a, b, k))
        print("| " + " | ".join(cells) + " |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--tolerance", type=float, default=0.10,
                    help="two runs' ratios agree within a factor 1 + TOLERANCE either way: "
                    "|log(B/A)| <= log(1 + TOLERANCE) (default 0.10)")
    ap.add_argument("--far", type=float, default=0.5,
                    help="a round whose line transfer is off its configuration's median "
                    "over both runs by more than a factor 1 + FAR, or two runs' medians "
                    "apart by more than 1 + FAR / 4, ran on another placement "
                    "(default 0.5)")
    ap.add_argument("--markdown", action="store_true",
                    help="a markdown table: ours' rate and each ratio, run A / run B")
    args = ap.parse_args()
    if not args.far > 0:
        ap.error("--far must be above 0")
    if not args.tolerance >= 0:
        ap.error("--tolerance must be 0 or more")
    a, b = Run(args.a), Run(args.b)
    if a.base != b.base:
        sys.exit("compare: run A's ratios are of %s, run B's of %s (report.py --ours)" %
                 (a.base, b.base))
    if a.waits != b.waits:
        print("compare: the runs' consumers waited differently when they found nothing "
              "(hostbench -e, ns): A %s, B %s; their ratios differ by that too" %
              (sorted(a.waits), sorted(b.waits)), file=sys.stderr)
    about_a, about_b = a.about(), b.about()
    for what in ("options", "machine", "order of implementations"):
        x, y = about_a[what], about_b[what]
        if x != y:
            print("compare: the runs differ in their %s: A '%s', B '%s'; their ratios differ "
                  "by that too" % (what, x, y), file=sys.stderr)
    keys = sorted(set(a.ratio) | set(b.ratio))
    if not set(a.ratio) & set(b.ratio):
        sys.exit("compare: the two runs share no configuration")
    for k in keys:
        if k not in a.ratio or k not in b.ratio:
            print("compare: %s %dB %s ran in run %s only: counted as not agreeing" %
                  (k[0], k[1], k[2], "A" if k in a.ratio else "B"), file=sys.stderr)
    peers = sorted({p for k in keys for p in set(a.ratio.get(k, {})) | set(b.ratio.get(k, {}))})
    say_missing(a, b, keys, peers)
    same = {k: same_placement(a, b, k, args.far) for k in keys}
    if args.markdown:
        markdown(a, b, keys, peers)
    else:
        text(a, b, keys, peers, args, same)
    print()
    print_counts("", counts(a, b, keys, peers, args.tolerance), args.tolerance)
    measured = [k for k in keys if same[k] is not None]
    if not measured:
        print("line transfer not measured in both runs (one CPU, no ours, or a hostbench "
              "from before it wrote transfer_ns): no placement check")
        return
    kept = [k for k in measured if same[k]]
    print()
    print("%d of %d configurations measured ran on one placement in both runs (every "
          "round's line transfer within a factor %.2f of the configuration's median, the "
          "runs' medians within %.3f)%s" %
          (len(kept), len(measured), 1 + args.far, 1 + args.far / 4, ":" if kept else "."))
    if kept:
        print_counts("  one placement: ", counts(a, b, kept, peers, args.tolerance),
                     args.tolerance)


if __name__ == "__main__":
    main()
