#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The report of one hostbench results folder:

    report.py DIR [--size 64]

(--ours ours_chunk: every ratio of chunked reservation's runs instead)
reads DIR/runs.csv, DIR/machine.json and, when present, limits.csv,
scale.csv and the callgrind dumps DIR/callgrind/ipr.out.* (parse.py);
computes medians, spreads and same-round ratios (stats.py) and the
reservation-line model (model.py); writes DIR/summary.csv, summary.json,
table.txt, table.md, ipr.csv, ipr.txt and, for ours, the per-function
profiles profile-ours-*.txt (render.py); prints the tables.
"""
import argparse
import csv
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import model  # noqa: E402
import parse  # noqa: E402
import render  # noqa: E402
import stats  # noqa: E402


def profiles(dumps, folder):
    """callgrind_annotate of ours' dumps: where its instructions go. Returns
    the ring's own code per record, by entry point, per mode."""
    if not shutil.which("callgrind_annotate"):
        return {}
    api = {}
    for d in dumps:
        if d["impl"] != "ours":
            continue
        out = os.path.join(folder, "profile-ours-%s.txt" % d["mode"])
        with open(out, "w") as f:
            subprocess.run(["callgrind_annotate", "--inclusive=yes", d["file"]], stdout=f,
                           stderr=subprocess.DEVNULL, check=False)
        api[d["mode"]] = {k: v / d["records"] for k, v in parse.api_instructions(out).items()}
    return api


def api_table(api):
    """Instructions inside ours' entry points per record: the harness left out."""
    out = ["", "ours, instructions per record inside its entry points (inclusive: reclaim "
           "is inside reserve; the payload copy is memcpy)", ""]
    for mode, fns in api.items():
        parts = ", ".join("%s %.1f" % (k, v) for k, v in sorted(fns.items(), key=lambda x: -x[1]))
        out.append("%-6s %6.1f = %s" % (mode, sum(fns.values()), parts))
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--size", type=int, default=64, help="record size of the ipr runs")
    ap.add_argument("--ours", default="ours",
                    help="the implementation every ratio is of (ours_chunk: chunked reservation)")
    a = ap.parse_args()

    machine = parse.machine(os.path.join(a.dir, "machine.json"))
    head = "machine: %s\ncommand: %s\ndate: %s, load average before: %s\n" % (
        machine.get("machine", "?"), machine.get("command", "?"), machine.get("date", "?"),
        machine.get("load1_before", "?"))
    runs_csv = os.path.join(a.dir, "runs.csv")
    runs = parse.runs(runs_csv) if os.path.exists(runs_csv) else []
    if runs:
        # What each run's consumers did (hostbench -e; 0 where threads
        # outnumbered CPUs), not what was asked.
        waits = sorted({int(r["idle_ns"]) for r in runs})
        head += "a consumer that finds nothing waits %s ns before it looks again (-e)\n" % (
            " or ".join(str(w) for w in waits))
    text, md = head, head
    if runs:
        try:
            summary = stats.summarize(runs, ours=a.ours)
        except ValueError as e:
            sys.exit("report: %s: %s" % (runs_csv, e))
        render.summary_csv(os.path.join(a.dir, "summary.csv"), summary, a.ours)
        render.summary_json(os.path.join(a.dir, "summary.json"), summary, machine)
        o = a.ours
        text += render.tables(summary, ours=o) + "\n" + render.verdicts(summary, ours=o)
        text += "\nClean runs only (threads had their CPUs: share >= %.2f, steal < %.2f):\n" % (
            stats.CLEAN_SHARE, stats.CLEAN_STEAL)
        text += render.tables(summary, which="clean", ours=o) + "\n" + \
            render.verdicts(summary, "clean", ours=o)
        md += render.tables(summary, md=True, ours=o) + "\n" + render.verdicts(summary, ours=o)
        md += render.tables(summary, md=True, which="clean", ours=o) + "\n" + \
            render.verdicts(summary, "clean", ours=o)
    lim = parse.limits(os.path.join(a.dir, "limits.csv"))
    scl = parse.scale(os.path.join(a.dir, "scale.csv"))
    if lim and scl:
        text += model.table(lim, scl)
        md += model.table(lim, scl)
    dumps = parse.ipr_dumps(os.path.join(a.dir, "callgrind"))
    if dumps:
        ipr = stats.ipr(dumps, a.size)
        with open(os.path.join(a.dir, "ipr.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["impl", "mode", "size", "instructions_per_record", "ring_only"])
            for (impl, mode), v in ipr.items():
                w.writerow([impl, mode, a.size, "%.1f" % v["per_record"],
                            "" if v["ring_only"] is None else "%.1f" % v["ring_only"]])
        with open(os.path.join(a.dir, "ipr.txt"), "w") as f:
            f.write(render.ipr_table(ipr))
        text += render.ipr_table(ipr)
        md += render.ipr_table(ipr, md=True)
        api = profiles(dumps, a.dir)
        if api:
            text += api_table(api)
            md += api_table(api)
    with open(os.path.join(a.dir, "table.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(a.dir, "table.md"), "w") as f:
        f.write(md)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
