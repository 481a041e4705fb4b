#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The numbers of README.md from this folder's files.

    analyse.py spread RUN.csv.gz ...   each run's rate CV across rounds
                                       (median over configurations, per
                                       implementation; how many pairs
                                       within 10%), then how many ours/peer
                                       ratios (medians of the rounds) each
                                       two runs share within 10%
    analyse.py rte N ...               e5-rte-lines-N: rte_ring's rate
                                       against its two lines' probed cost
    analyse.py probe FILE ...          line-probe outputs: range, passes'
                                       correlation, lines repeating
"""
import collections
import csv
import gzip
import statistics as st
import sys


def rows_of(path):
    with gzip.open(path, "rt", newline="") as f:
        return list(csv.DictReader(f))


def rates(path):
    r = collections.defaultdict(dict)  # (cfg, impl) -> round -> rate
    for x in rows_of(path):
        cfg = (x["producers"], x["consumers"], x["size"], x["mode"])
        r[(cfg, x["impl"])][int(x["round"])] = float(x["records_per_s"])
    return r


def cv(v):
    return st.pstdev(v) / st.mean(v)


def spread(paths):
    data = {p: rates(p) for p in paths}
    keys = sorted(next(iter(data.values())))
    impls = sorted({k[1] for k in keys})
    for p in paths:
        r, n10, line = data[p], 0, []
        for i in impls:
            cvs = [cv(list(r[k].values())) for k in keys if k[1] == i]
            n10 += sum(c <= 0.10 for c in cvs)
            line.append("%s %.3f" % (i, st.median(cvs)))
        print(p, " ".join(line), "CV<=10%%: %d of %d" % (n10, len(keys)))
    rat = {}
    for p in paths:
        r, out = data[p], {}
        for c in sorted({k[0] for k in keys}):
            o = st.median(r[(c, "ours")].values())
            for i in impls:
                if i != "ours":
                    out[(c, i)] = o / st.median(r[(c, i)].values())
        rat[p] = out
    for a in range(len(paths)):
        for b in range(a + 1, len(paths)):
            A, B = rat[paths[a]], rat[paths[b]]
            n = sum(abs(A[k] / B[k] - 1) <= 0.10 for k in A)
            print(paths[a], paths[b], "%d of %d ratios within 10%%" % (n, len(A)))


def rte(ns):
    for n in ns:
        probes = [l.split() for l in open("e5-rte-lines-%s.probes.txt" % n)]
        rows = sorted((r for r in rows_of("e5-rte-lines-%s.csv.gz" % n) if r["impl"] == "rte_ring"),
                      key=lambda r: int(r["round"]))
        rate = [float(r["records_per_s"]) / 1e6 for r in rows]
        prod = [float(p[2]) for p in probes]
        cons = [float(p[3]) for p in probes]
        both = [x + y for x, y in zip(prod, cons)]
        print("run %s: rte_ring %.2f-%.2f Mrec/s; producer line %.0f-%.0f ns, consumer line "
              "%.0f-%.0f; correlation of the rate with both %.2f, producer %.2f, consumer %.2f" %
              (n, min(rate), max(rate), min(prod), max(prod), min(cons), max(cons),
               st.correlation(rate, both), st.correlation(rate, prod), st.correlation(rate, cons)))


def probe(paths):
    for p in paths:
        rows = [list(map(float, l.split()[1:])) for l in open(p)]
        mean = [st.mean(r) for r in rows]
        a = [(r[0] + r[2]) / 2 for r in rows]
        b = [(r[1] + r[3]) / 2 for r in rows]
        rep = [(max(r) - min(r)) / st.mean(r) for r in rows]
        print("%s: lines %.0f-%.0f ns, median %.0f; correlation of passes 0+2 with 1+3 %.2f; "
              "all four passes within 1%%: %d, 5%%: %d of %d" %
              (p, min(mean), max(mean), st.median(mean), st.correlation(a, b),
               sum(x <= 0.01 for x in rep), sum(x <= 0.05 for x in rep), len(rows)))


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("spread", "rte", "probe"):
        sys.exit(__doc__)
    {"spread": spread, "rte": rte, "probe": probe}[sys.argv[1]](sys.argv[2:])
