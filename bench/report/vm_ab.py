#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The before/after table of scripts/bench-vm-ab.sh:

    vm_ab.py DIR          (DIR/rounds/<n>-<A|B>/bench.jsonl, output.txt)
    vm_ab.py --self-test

Every vmbench number is already a median over its run's repetitions. Per
metric: the median over rounds of each side (A = before, B = after) with
its min-max, B/A of those medians, and the min-max of the paired ratios
(round n's B over round n's A: the two runs minutes apart, so a drift of
the host touches both). "better" says which way is good: ns/record lower,
rates higher; the in-run ratios (vs none, zero-copy over read(2), vs 1
producer) and the ET wakeup count are shown as they are, and a ratio that
is 1 in every run (the base of its own ratio) is left out. Writes
DIR/summary.md and DIR/summary.json and prints the table. Timings are
never pass/fail.
"""
import json
import os
import re
import statistics
import sys
import tempfile

# (BENCH part, the field that names the row, the measured fields)
PARTS = (
    ("producer_cost", "consumer", ("ns_per_record", "ratio_vs_none")),
    ("consume", "bytes", ("zero_copy_rps", "read_rps", "ratio")),
    ("scaling", "threads", ("records_per_s", "ratio_vs_1")),
)
LOWER_BETTER = ("ns_per_record",)
HIGHER_BETTER = ("zero_copy_rps", "read_rps", "records_per_s")
ET_WAKEUPS = re.compile(r"\(asleep, epoll ET: (\d+) wakeups in the last run\)")


def read_run(folder):
    """{metric name: value} of one round's bench-vm run."""
    got = {}
    with open(os.path.join(folder, "bench.jsonl")) as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            for part, name, fields in PARTS:
                if rec.get("part") == part:
                    for fld in fields:
                        got["%s %s=%s %s" % (part, name, rec[name], fld)] = float(rec[fld])
    out = os.path.join(folder, "output.txt")
    if os.path.exists(out):
        m = ET_WAKEUPS.search(open(out).read())
        if m:
            got["producer_cost consumer=asleep, epoll ET et_wakeups"] = float(m.group(1))
    return got


def read_rounds(folder):
    """{round: {side: metrics}} from DIR/rounds/<n>-<side>/."""
    rounds = {}
    for entry in os.listdir(os.path.join(folder, "rounds")):
        m = re.fullmatch(r"(\d+)-([AB])", entry)
        if m and os.path.exists(os.path.join(folder, "rounds", entry, "bench.jsonl")):
            run = read_run(os.path.join(folder, "rounds", entry))
            rounds.setdefault(int(m.group(1)), {})[m.group(2)] = run
    return rounds


def reduce(rounds):
    """One row per metric, in the order vmbench prints them."""
    names = []
    for n in sorted(rounds):
        for side in "AB":
            for k in rounds[n].get(side, {}):
                if k not in names:
                    names.append(k)
    rows = []
    for k in names:
        a = [rounds[n]["A"][k] for n in sorted(rounds) if k in rounds[n].get("A", {})]
        b = [rounds[n]["B"][k] for n in sorted(rounds) if k in rounds[n].get("B", {})]
        paired = [rounds[n]["B"][k] / rounds[n]["A"][k] for n in sorted(rounds)
                  if k in rounds[n].get("A", {}) and k in rounds[n].get("B", {})
                  and rounds[n]["A"][k]]
        field = k.rsplit(" ", 1)[1]
        if not a or not b or set(a + b) == {1.0}:  # none, or the base of its own ratio
            continue
        ma, mb = statistics.median(a), statistics.median(b)
        rows.append({
            "metric": k, "rounds": min(len(a), len(b)),
            "before": ma, "before_min": min(a), "before_max": max(a),
            "after": mb, "after_min": min(b), "after_max": max(b),
            "ratio": mb / ma if ma else float("nan"),
            "paired_min": min(paired) if paired else float("nan"),
            "paired_max": max(paired) if paired else float("nan"),
            "better": ("lower" if field in LOWER_BETTER else
                       "higher" if field in HIGHER_BETTER else "-"),
        })
    return rows


def fmt(v):
    if abs(v) >= 1e5:
        return "%.3f M" % (v / 1e6)
    if abs(v) >= 100:
        return "%.0f" % v
    return "%.3f" % v


def markdown(rows):
    lines = ["| metric | before (min-max) | after (min-max) | after/before | paired min-max | better |",
             "|---|---:|---:|---:|---:|:---:|"]
    for r in rows:
        lines.append("| %s | %s (%s-%s) | %s (%s-%s) | **%.3f** | %.3f-%.3f | %s |" % (
            r["metric"], fmt(r["before"]), fmt(r["before_min"]), fmt(r["before_max"]),
            fmt(r["after"]), fmt(r["after_min"]), fmt(r["after_max"]), r["ratio"],
            r["paired_min"], r["paired_max"], r["better"]))
    return "\n".join(lines) + "\n"


def self_test():
    """Two rounds of fake runs: the medians, the ratio and the pairing."""
    runs = {("1", "A"): 800.0, ("1", "B"): 600.0, ("2", "A"): 1000.0, ("2", "B"): 900.0}
    with tempfile.TemporaryDirectory() as d:
        for (n, side), ns in runs.items():
            os.makedirs(os.path.join(d, "rounds", n + "-" + side))
            with open(os.path.join(d, "rounds", n + "-" + side, "bench.jsonl"), "w") as f:
                f.write('{"part":"producer_cost","consumer":"no consumer","ns_per_record":%s,'
                        '"ratio_vs_none":1.0}\n' % ns)
            with open(os.path.join(d, "rounds", n + "-" + side, "output.txt"), "w") as f:
                f.write("(asleep, epoll ET: %d wakeups in the last run)\n" % (ns / 10))
        rows = {r["metric"]: r for r in reduce(read_rounds(d))}
    ns = rows["producer_cost consumer=no consumer ns_per_record"]
    assert (ns["before"], ns["after"], ns["better"]) == (900.0, 750.0, "lower"), ns
    assert abs(ns["ratio"] - 750 / 900) < 1e-9, ns
    assert (ns["paired_min"], ns["paired_max"]) == (0.75, 0.9), ns
    assert "producer_cost consumer=no consumer ratio_vs_none" not in rows
    assert rows["producer_cost consumer=asleep, epoll ET et_wakeups"]["after"] == 75.0
    print("vm_ab.py self-test: ok")


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    folder = sys.argv[1]
    rows = reduce(read_rounds(folder))
    if not rows:
        sys.exit("vm_ab.py: no paired rounds under %s/rounds" % folder)
    table = markdown(rows)
    with open(os.path.join(folder, "summary.md"), "w") as f:
        f.write(table)
    with open(os.path.join(folder, "summary.json"), "w") as f:
        json.dump(rows, f, indent=1)
        f.write("\n")
    sys.stdout.write(table)


if __name__ == "__main__":
    main()
