#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Whether two hostbench runs agree: the issue's check of `make bench` run
twice from a fresh clone.

    compare.py DIR_A DIR_B [--tolerance 0.10] [--same-line 0.25] [--markdown]

reads each run's summary.csv (report.py) and, for every configuration
(mix, size, consume mode) and peer, compares ours' same-round ratio over
that peer (the median of per-round ratios, ours_over_impl) between the
runs: B / A - 1. Prints each configuration's ratios, then how many
(configuration, peer) pairs agree within the tolerance, per peer and in
all. Where both runs recorded the line transfer between the CPUs before
each round (transfer_ns; the vCPUs' placement on the host decides it),
it prints each configuration's and counts the pairs again over the
configurations whose transfer agreed within --same-line: the agreement
of runs on the same placement, which is what the benchmark controls.
--markdown prints the same as one table for bench/RESULTS.md instead.
Exits 0 whatever it finds: it reports, the reader judges (timings are
never a pass/fail test here).
"""
import argparse
import csv
import os
import sys


def ratios(folder):
    """({(mix, size, mode): {peer: ours/peer}}, {(mix, size, mode): transfer ns
    or 0}) from folder/summary.csv."""
    path = os.path.join(folder, "summary.csv")
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        sys.exit("compare: cannot read %s: %s (run report.py on that folder first)" % (path, e))
    out, line = {}, {}
    for r in rows:
        key = (r["mix"], int(r["size"]), r["mode"])
        if r["impl"] == "ours":
            line[key] = float(r.get("transfer_ns") or 0)
            continue
        out.setdefault(key, {})[r["impl"]] = float(r["ours_over_impl"])
    return out, line


def count(keys, peers, ra, rb, tol):
    """{peer: (within tol, compared)} over keys."""
    out = {}
    for p in peers:
        d = [rb[k][p] / ra[k][p] - 1 for k in keys
             if ra[k].get(p, 0) > 0 and rb[k].get(p) is not None]
        out[p] = (sum(abs(x) <= tol for x in d), len(d))
    return out


def print_counts(what, counts, tol):
    for p, (ok, n) in counts.items():
        print("%sours/%s: %d of %d configurations within %.0f%%" % (what, p, ok, n, tol * 100))
    ok = sum(c[0] for c in counts.values())
    n = sum(c[1] for c in counts.values())
    print("%sall peers: %d of %d (configuration, peer) pairs within %.0f%%" %
          (what, ok, n, tol * 100))


def rates(folder):
    """{(mix, size, mode): ours' median records/s} from folder/summary.csv."""
    with open(os.path.join(folder, "summary.csv"), newline="") as f:
        return {(r["mix"], int(r["size"]), r["mode"]): float(r["median_rps"])
                for r in csv.DictReader(f) if r["impl"] == "ours"}


def markdown(a, b, ra, rb, la, lb):
    """The table for bench/RESULTS.md: run A / run B in each cell."""
    keys = sorted(set(ra) & set(rb))
    peers = sorted({p for k in keys for p in ra[k] if p in rb[k]})
    qa, qb = rates(a), rates(b)
    lines = all(la.get(k) and lb.get(k) for k in keys)
    head = ["mix", "size", "consume", "ours Mrec/s"] + ["ours/%s" % p for p in peers]
    if lines:
        head.append("line ns")
    print("| " + " | ".join(head) + " |")
    print("|---|---:|---|" + "---:|" * (len(head) - 3))
    for k in keys:
        cells = [k[0], str(k[1]), k[2], "%.1f / %.1f" % (qa[k] / 1e6, qb[k] / 1e6)]
        for p in peers:
            x, y = ra[k].get(p), rb[k].get(p)
            cells.append("-" if x is None or y is None else "%.2fx / %.2fx" % (x, y))
        if lines:
            cells.append("%.0f / %.0f" % (la[k], lb[k]))
        print("| " + " | ".join(cells) + " |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--tolerance", type=float, default=0.10,
                    help="largest |B/A - 1| counted as agreeing (default 0.10)")
    ap.add_argument("--same-line", type=float, default=0.25,
                    help="largest |B/A - 1| of the line transfer for a configuration "
                    "to count as the same placement (default 0.25)")
    ap.add_argument("--markdown", action="store_true",
                    help="one markdown table: ours' rate and each ratio, run A / run B")
    args = ap.parse_args()
    (ra, la), (rb, lb) = ratios(args.a), ratios(args.b)
    if args.markdown:
        markdown(args.a, args.b, ra, rb, la, lb)
        return
    keys = sorted(set(ra) & set(rb))
    if not keys:
        sys.exit("compare: the two runs share no configuration")
    peers = sorted({p for k in keys for p in ra[k] if p in rb[k]})
    lines = all(la.get(k) and lb.get(k) for k in keys)
    print("ours / peer, run A -> run B (change); * beyond %.0f%%" % (args.tolerance * 100))
    print("%-5s %6s %-6s %-16s %s" % ("mix", "size", "mode", "line ns A -> B" if lines else "",
                                      "  ".join("%-24s" % p for p in peers)))
    same = []
    for k in keys:
        cells = []
        for p in peers:
            a, b = ra[k].get(p), rb[k].get(p)
            if a is None or b is None or a <= 0:
                cells.append("%-24s" % "-")
                continue
            d = b / a - 1
            cells.append("%-24s" % ("%.2fx -> %.2fx (%+.0f%%)%s" % (
                a, b, d * 100, "" if abs(d) <= args.tolerance else " *")))
        ln = ""
        if lines:
            ln = "%.0f -> %.0f" % (la[k], lb[k])
            if abs(lb[k] / la[k] - 1) <= args.same_line:
                same.append(k)
            else:
                ln += " moved"
        print("%-5s %5dB %-6s %-16s %s" % (k[0], k[1], k[2], ln, "  ".join(cells)))
    print()
    print_counts("", count(keys, peers, ra, rb, args.tolerance), args.tolerance)
    if lines:
        print()
        print("%d of %d configurations ran on the same placement in both runs (line transfer "
              "within %.0f%%):" % (len(same), len(keys), args.same_line * 100))
        if same:
            print_counts("  same placement: ", count(same, peers, ra, rb, args.tolerance),
                         args.tolerance)
    else:
        print("(no line transfer recorded in %s: runs from before hostbench wrote "
              "transfer_ns)" % (args.a if not all(la.get(k) for k in keys) else args.b))

if __name__ == "__main__":
    main()
