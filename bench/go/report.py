#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Medians and same-run ratios of the Go package's host benchmarks.

Reads the output of several runs of scripts/bench-go.sh's host part: each
run ("=== gobench run N") holds `go test -bench Consume` lines for the Go
package (BenchmarkConsume/<mode>/<size>) and chost's lines for the C
library measured the same way (BenchmarkConsumeC/<mode>/<size>). Prints,
per record size, the median ns/record of each with its min-max, and the
median (min-max) over runs of two ratios taken within a run:

  copy/zc      Go copying one record at a time / Go zero-copy batches
               (how many times faster zero-copy is)
  C/Go zc      C library zero-copy / Go zero-copy (above 1: Go is faster)

and, from BenchmarkWritePaths (64-byte records into a drained pipe), the
cost of WriteContext over Write within a run: ctx-background/write and
ctx-cancel/write (a cancellable context's goroutine per call).

  report.py RUNS.txt [OUT.json]
"""
import json
import re
import statistics
import sys

LINE = re.compile(r"^Benchmark(Consume|ConsumeC)/(\S+)/(\d+)-\d+\s+\d+\s+([0-9.]+) ns/op")
RUN = re.compile(r"^=== gobench run (\d+)")
WRITE = re.compile(r"^BenchmarkWritePaths/(\S+?)-\d+\s+\d+\s+([0-9.]+) ns/op")
COLS = [("Go", "zerocopy-batch"), ("Go", "copy"), ("C", "zerocopy-batch"), ("C", "copy")]


def stats(v):
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}


def main():
    runs, cur = [], None
    with open(sys.argv[1]) as f:
        for line in f:
            if RUN.match(line):
                cur = {}
                runs.append(cur)
                continue
            w = WRITE.match(line)
            if w and cur is not None:
                cur[("write", w.group(1))] = float(w.group(2))
                continue
            m = LINE.match(line)
            if m and cur is not None:
                lang = "C" if m.group(1) == "ConsumeC" else "Go"
                cur[(lang, m.group(2), int(m.group(3)))] = float(m.group(4))
    sizes = sorted({k[2] for r in runs for k in r if len(k) == 3})
    out = []
    print("ns/record, median (min-max) over %d runs; ratios taken within each run" % len(runs))
    print("%6s %20s %20s %20s %20s %18s %18s" % ("bytes", "Go zero-copy", "Go copy", "C zero-copy", "C copy",
                                                  "Go copy/zc", "C zc / Go zc"))
    for s in sizes:
        row = {"bytes": s}
        cells = []
        for lang, mode in COLS:
            v = [r[(lang, mode, s)] for r in runs if (lang, mode, s) in r]
            row["%s %s ns" % (lang, mode)] = stats(v)
            cells.append("%7.1f (%5.0f-%5.0f)" % (statistics.median(v), min(v), max(v)))
        both = [r for r in runs if all((l, m, s) in r for l, m in COLS)]
        zc = [r[("Go", "copy", s)] / r[("Go", "zerocopy-batch", s)] for r in both]
        gc = [r[("C", "zerocopy-batch", s)] / r[("Go", "zerocopy-batch", s)] for r in both]
        row["go_copy_over_zerocopy"] = stats(zc)
        row["c_zerocopy_over_go_zerocopy"] = stats(gc)
        out.append(row)
        print("%6d %s %7.2fx (%4.2f-%4.2f) %7.2fx (%4.2f-%4.2f)" % (
            s, " ".join(cells), statistics.median(zc), min(zc), max(zc),
            statistics.median(gc), min(gc), max(gc)))
    write_rows(runs, out)
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w") as f:
            json.dump(out, f, indent=1)


def write_rows(runs, out):
    """WriteContext against Write: medians and same-run ratios."""
    both = [r for r in runs if all(("write", m) in r for m in ("write", "ctx-background", "ctx-cancel"))]
    if not both:
        return
    print("\nBenchmarkWritePaths, 64-byte records, ns/call median (min-max) over %d runs" % len(both))
    row = {"bench": "WritePaths"}
    for m in ("write", "ctx-background", "ctx-cancel"):
        v = [r[("write", m)] for r in both]
        row[m + " ns"] = stats(v)
        print("  %-15s %8.1f (%5.0f-%5.0f)" % (m, statistics.median(v), min(v), max(v)))
    for m in ("ctx-background", "ctx-cancel"):
        v = [r[("write", m)] / r[("write", "write")] for r in both]
        row[m + "/write"] = stats(v)
        print("  %-15s %7.2fx (%4.2f-%4.2f) of Write, same-run ratio" % (m, statistics.median(v), min(v), max(v)))
    out.append(row)


if __name__ == "__main__":
    main()
