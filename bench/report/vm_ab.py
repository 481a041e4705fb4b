#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The before/after table of scripts/bench-vm-ab.sh:

    vm_ab.py DIR          (DIR/rounds/<n>-<A|B>/output.txt; writes DIR/summary.md)
    vm_ab.py --self-test

Reads the BENCH lines of each round's vmbench output (output.txt) and the
ET consumer's wakeup count. Only complete rounds count: both sides present,
each run ended with "rc=0" and printed every metric; an incomplete round is
named on stderr and left out. A rate or time of zero (vmbench prints 0 when
a run lost records) is an error, as is a folder without rounds.

Every vmbench number is already a median over its run's repetitions. Per
metric, the headline is the house statistic (stats.describe, as report.py
uses it): the median over rounds of the paired ratio after / before (round
n's B over round n's A, minutes apart, so a drift of the host touches
both), its coefficient of variation, min and max, and in how many rounds
it was above 1; beside it each side's median over the same rounds. "better"
says which way is good: ns/record lower, rates higher; the in-run ratios
(vs none, zero-copy over read(2), vs 1 producer) and the ET wakeup count
are shown as they are, and a ratio that is 1 in every run (the base of its
own ratio) is left out. Prints the table and writes it to DIR/summary.md,
which depends on nothing but the rounds. Timings are never pass/fail.
"""
import json
import math
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import stats  # noqa: E402

# (BENCH part, the field that names the row, the measured fields)
PARTS = (
    ("producer_cost", "consumer", ("ns_per_record", "ratio_vs_none")),
    ("consume", "bytes", ("zero_copy_rps", "read_rps", "ratio")),
    ("scaling", "threads", ("records_per_s", "ratio_vs_1")),
)
LOWER_BETTER = ("ns_per_record",)
HIGHER_BETTER = ("zero_copy_rps", "read_rps", "records_per_s")
# vmbench before 2026-12-05 printed one run's count ("in the last run"),
# since then the median of every run's.
ET_WAKEUPS = re.compile(r"\(asleep, epoll ET: (\d+) wakeups (?:in the last run|per run, median)")
ET_KEY = "producer_cost consumer=asleep, epoll ET et_wakeups"
END_OK = re.compile(r"^@@MPMCRING END vm vmbench rc=0\b", re.M)
ROUND = re.compile(r"(\d+)-([AB])")


class VmAbError(Exception):
    """Input the table cannot honestly be made from."""


def read_run(folder):
    """{metric name: value} of one bench-vm run, or None if it did not finish."""
    path = os.path.join(folder, "output.txt")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        text = f.read()
    if not END_OK.search(text):
        return None
    got = {}
    for line in text.splitlines():
        if not line.startswith("BENCH "):
            continue
        rec = json.loads(line[len("BENCH "):])
        for part, name, fields in PARTS:
            if rec.get("part") == part:
                for fld in fields:
                    got["%s %s=%s %s" % (part, name, rec[name], fld)] = float(rec[fld])
    m = ET_WAKEUPS.search(text)
    if m:
        got[ET_KEY] = float(m.group(1))
    return got


def read_rounds(folder):
    """{round: {side: metrics or None}} from DIR/rounds/<n>-<side>/."""
    top = os.path.join(folder, "rounds")
    if not os.path.isdir(top):
        raise VmAbError("%s: no rounds/ folder (not a bench-vm-ab.sh output)" % folder)
    rounds = {}
    for entry in os.listdir(top):
        m = ROUND.fullmatch(entry)
        if m:
            run = read_run(os.path.join(top, entry))
            rounds.setdefault(int(m.group(1)), {})[m.group(2)] = run
    return rounds


def complete_rounds(rounds, warn=sys.stderr):
    """The rounds with both sides finished, in numeric order; the rest named on warn."""
    names = set()
    for sides in rounds.values():
        for run in sides.values():
            names.update(run or {})
    keep = []
    for n in sorted(rounds):
        bad = [s for s in "AB" if not rounds[n].get(s) or not names <= set(rounds[n][s])]
        if bad:
            print("vm_ab.py: round %d left out: side %s missing, unfinished or short"
                  % (n, "/".join(bad)), file=warn)
        else:
            keep.append(n)
    return keep


def reduce(rounds, warn=sys.stderr):
    """(complete rounds, one row per metric in the order vmbench prints them)."""
    keep = complete_rounds(rounds, warn)
    if not keep:
        raise VmAbError("no complete round (both sides finished)")
    names = list(rounds[keep[0]]["A"])
    rows = []
    for k in names:
        a = [rounds[n]["A"][k] for n in keep]
        b = [rounds[n]["B"][k] for n in keep]
        field = k.rsplit(" ", 1)[1]
        for n, va, vb in zip(keep, a, b):
            for side, v in (("A", va), ("B", vb)):
                if v <= 0 and k != ET_KEY:
                    raise VmAbError("round %d side %s: %s is %g (a lost or failed run)"
                                    % (n, side, k, v))
        if set(a + b) == {1.0}:  # the base of its own ratio
            continue
        paired = [vb / va if va else float("nan") for va, vb in zip(a, b)]
        rows.append({
            "metric": k, "field": field, "rounds": keep,
            "before": stats.describe(a), "after": stats.describe(b),
            "paired": paired, "ratio": stats.describe(paired),
            "above_1": sum(1 for p in paired if p > 1),
            "better": ("lower" if field in LOWER_BETTER else
                       "higher" if field in HIGHER_BETTER else "-"),
        })
    return keep, rows


def unit(row):
    """(scale, format) for every value of a row: one unit per row."""
    if row["field"] in HIGHER_BETTER:
        low = min(row["before"]["min"], row["after"]["min"])
        return (1e6, "%.3f", " M") if low >= 1e5 else (1e3, "%.1f", " k")
    if row["field"] in LOWER_BETTER:
        return (1.0, "%.0f", " ns")
    if row["metric"] == ET_KEY:
        return (1.0, "%.0f", "")
    return (1.0, "%.3f", "")


def cv_cell(x):
    """A CV as the tables print it; "-" for one round (no spread measured)."""
    return "-" if math.isnan(x) else "%.2f" % x


def markdown(keep, rows):
    lines = ["Complete rounds: %s (N = %d)." % (",".join(map(str, keep)), len(keep)),
             "Each side's value is its median over those rounds; after/before is the",
             "median of the N paired ratios (stats.describe), with their CV and min-max.", "",
             "| metric | N | before | after | after/before | CV | min-max | above 1 | better |",
             "|---|---:|---:|---:|---:|---:|---:|---:|:---:|"]
    for r in rows:
        scale, f, u = unit(r)
        q = r["ratio"]
        lines.append("| %s | %d | %s%s | %s%s | **%.3f** | %s | %.3f-%.3f | %d/%d | %s |" % (
            r["metric"], q["n"], f % (r["before"]["median"] / scale), u,
            f % (r["after"]["median"] / scale), u, q["median"], cv_cell(q["cv"]), q["min"], q["max"],
            r["above_1"], q["n"], r["better"]))
    lines += ["", "Each side over the same rounds: median, CV, min-max.", "",
              "| metric | before | after |", "|---|---:|---:|"]
    for r in rows:
        scale, f, u = unit(r)
        cells = []
        for side in ("before", "after"):
            d = r[side]
            cells.append("%s%s, %s, %s-%s%s" % (f % (d["median"] / scale), u, cv_cell(d["cv"]),
                                                 f % (d["min"] / scale), f % (d["max"] / scale), u))
        lines.append("| %s | %s | %s |" % (r["metric"], cells[0], cells[1]))
    return "\n".join(lines) + "\n"


def fake_run(folder, ns, rps, finished=True):
    os.makedirs(folder)
    with open(os.path.join(folder, "output.txt"), "w") as f:
        f.write('BENCH {"part":"producer_cost","consumer":"no consumer","ns_per_record":%s,'
                '"ratio_vs_none":1.0}\n' % ns)
        if folder.endswith("-A"):  # both forms vmbench has printed
            f.write("(asleep, epoll ET: %d wakeups in the last run)\n" % (ns / 10))
        else:
            f.write("(asleep, epoll ET: %d wakeups per run, median of 5 runs, min 1, max %d)\n"
                    % (ns / 10, ns))
        f.write('BENCH {"part":"consume","bytes":64,"zero_copy_rps":%s,"read_rps":%s,'
                '"ratio":%s}\n' % (rps, rps / 10, 10.0))
        if finished:
            f.write("@@MPMCRING END vm vmbench rc=0 t=1.00\n")


def self_test():
    """Skewed rounds 1, 2, 3, 10 (median != mean, numeric order), two incomplete, a zero."""
    a = {1: 800.0, 2: 900.0, 3: 1000.0, 10: 3000.0}      # median 950, mean 1425
    ratio = {1: 0.5, 2: 0.6, 3: 0.7, 10: 2.0}            # median 0.65, mean 0.95
    with tempfile.TemporaryDirectory() as d:
        for n in a:
            fake_run(os.path.join(d, "rounds", "%d-A" % n), a[n], 4e6)
            fake_run(os.path.join(d, "rounds", "%d-B" % n), a[n] * ratio[n], 4e6 / ratio[n])
        fake_run(os.path.join(d, "rounds", "4-A"), 5000.0, 1e6)      # no B: left out
        fake_run(os.path.join(d, "rounds", "5-A"), 5000.0, 1e6)
        fake_run(os.path.join(d, "rounds", "5-B"), 5000.0, 1e6, finished=False)
        os.makedirs(os.path.join(d, "rounds", "6-A"))                # empty: left out
        log = tempfile.TemporaryFile("w+")
        keep, rows = reduce(read_rounds(d), warn=log)
        log.seek(0)
        warned = log.read()
        assert keep == [1, 2, 3, 10], keep
        assert "round 4 left out: side B" in warned and "round 5 " in warned, warned
        assert "round 6 left out: side A/B" in warned, warned
        by = {r["metric"]: r for r in rows}
        ns = by["producer_cost consumer=no consumer ns_per_record"]
        assert ns["paired"] == [0.5, 0.6, 0.7, 2.0], ns["paired"]
        assert abs(ns["ratio"]["median"] - 0.65) < 1e-9, ns["ratio"]
        assert (ns["ratio"]["min"], ns["ratio"]["max"], ns["ratio"]["n"]) == (0.5, 2.0, 4)
        assert abs(ns["before"]["median"] - 950) < 1e-9, ns["before"]
        assert abs(ns["after"]["median"] - 620) < 1e-9, ns["after"]
        assert (ns["above_1"], ns["better"]) == (1, "lower"), ns
        zc = by["consume bytes=64 zero_copy_rps"]
        assert abs(zc["ratio"]["median"] - (1 / 0.6 + 1 / 0.7) / 2) < 1e-9, zc["ratio"]
        assert zc["better"] == "higher" and zc["above_1"] == 3, zc
        assert "producer_cost consumer=no consumer ratio_vs_none" not in by
        assert abs(by[ET_KEY]["after"]["median"] - 62) < 1e-9, by[ET_KEY]
        table = markdown(keep, rows)
        assert "| consume bytes=64 zero_copy_rps | 4 | 4.000 M | " in table, table
        assert "| **0.650** | " in table, table
        # a zero rate in a complete round is an error, not a row
        fake = os.path.join(d, "rounds", "10-B", "output.txt")
        with open(fake) as f:
            text = f.read()
        with open(fake, "w") as f:
            f.write(re.sub(r'"zero_copy_rps":[0-9.e+]+', '"zero_copy_rps":0', text))
        try:
            reduce(read_rounds(d), warn=log)
        except VmAbError as e:
            assert "round 10 side B" in str(e), e
        else:
            raise AssertionError("a zero rate was accepted")
        shutil.rmtree(os.path.join(d, "rounds"))
        for bad in (d, os.path.join(d, "nothing")):
            try:
                read_rounds(bad)
            except VmAbError:
                pass
            else:
                raise AssertionError("no rounds/ accepted: " + bad)
    print("vm_ab.py self-test: ok")


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    folder = sys.argv[1]
    try:
        keep, rows = reduce(read_rounds(folder))
    except VmAbError as e:
        sys.exit("vm_ab.py: %s\n%s" % (e, __doc__.split("\n\n")[1]))
    table = markdown(keep, rows)
    with open(os.path.join(folder, "summary.md"), "w") as f:
        f.write(table)
    sys.stdout.write(table)


if __name__ == "__main__":
    main()
