# SPDX-License-Identifier: GPL-2.0-only
"""Tables and files from the statistics (stats.py): text, Markdown, CSV,
JSON. Rates in Mrecords/s; CV as a percentage; ratios ours/peer (above 1:
ours is faster)."""
import csv
import json

from stats import mix_name


def _impls(summary, ours="ours"):
    names = []
    for entry in summary.values():
        for impl in entry["impls"]:
            if impl not in names:
                names.append(impl)
    if ours in names:
        names.remove(ours)
        names.insert(0, ours)
    return names


def _pct(x):
    return "%3.0f%%" % (100 * x) if x < 9.995 else "big"


def tables(summary, md=False, which="all", ours="ours"):
    """One table per consume mode: each implementation's median rate and
    CV, then ours/peer (median of same-round ratios) and its CV. ours: the
    implementation the ratios are of (stats.summarize()'s)."""
    impls = _impls(summary, ours)
    peers = impls[1:]
    out = []
    for mode, title in (("single", "Single-record consume"), ("batch", "Batched consume (32)")):
        keys = [k for k in summary if k[3] == mode]
        if not keys:
            continue
        out.append("")
        out.append("%s: median Mrec/s (CV over rounds); %s/peer: median of same-round ratios "
                   "(CV)%s; share: CPU share of %s" %
                   (title, ours, ", clean runs only" if which == "clean" else "", ours))
        out.append("")
        head = ["mix", "size"] + impls + [ours + "/" + p for p in peers] + ["share"]
        if md:
            out.append("| " + " | ".join(head) + " |")
            out.append("|---|---:|" + "---:|" * (len(head) - 2))
        else:
            out.append("%-6s %5s " % ("mix", "size") +
                       " ".join("%-15s" % h for h in head[2:]))
        for k in keys:
            e = summary[k]
            cells = []
            for impl in impls:
                s = e["impls"].get(impl, {}).get(which)
                cells.append("-" if not s or not s["n"] else
                             "%.2f (%s)" % (s["median"] / 1e6, _pct(s["cv"]).strip()))
            for p in peers:
                s = e["ratios"].get(p, {}).get(which)
                if not s or not s["n"]:
                    cells.append("-")
                    continue
                txt = "%.2fx (%s)" % (s["median"], _pct(s["cv"]).strip())
                cells.append(("*%s*" % txt) if md and s["median"] < 1 else txt)
            cells.append("%.2f" % e["impls"].get(ours, {}).get("cpu_share", 0))
            if md:
                out.append("| %s | %d | " % (mix_name(k), k[2]) + " | ".join(cells) + " |")
            else:
                out.append("%-6s %4dB " % (mix_name(k), k[2]) +
                           " ".join("%-15s" % c for c in cells))
    if md:
        out.append("")
        out.append("(*...*: %s slower)" % ours)
    return "\n".join(out) + "\n"


def verdicts(summary, which="all", limit=0.10, ours="ours"):
    """Counts a reader wants first: ahead or not, and spreads within limit."""
    impls = _impls(summary, ours)
    lines = []
    n = len(summary)
    rate_ok = sum(1 for e in summary.values() for s in e["impls"].values()
                  if s[which]["n"] and s[which]["cv"] <= limit)
    rate_all = sum(1 for e in summary.values() for s in e["impls"].values() if s[which]["n"])
    lines.append("rate CV <= %d%%: %d of %d (configuration, implementation) pairs" %
                 (100 * limit, rate_ok, rate_all))
    for p in impls[1:]:
        rs = [e["ratios"][p][which] for e in summary.values()
              if p in e["ratios"] and e["ratios"][p][which]["n"]]
        ahead = sum(1 for s in rs if s["median"] > 1)
        tight = sum(1 for s in rs if s["cv"] <= limit)
        worst = min((s["median"] for s in rs), default=0)
        lines.append("%s/%s: ahead in %d of %d configurations (worst %.2fx); ratio CV <= "
                     "%d%% in %d of %d" % (ours, p, ahead, len(rs), worst, 100 * limit, tight, len(rs)))
    lines.append("configurations: %d" % n)
    return "\n".join(lines) + "\n"


def summary_csv(path, summary):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["mix", "producers", "consumers", "size", "mode", "impl", "runs",
                    "median_rps", "cv_rps", "min_rps", "max_rps", "ours_over_impl",
                    "ratio_cv", "ratio_min", "ratio_max", "cpu_share", "clean_runs",
                    "clean_median_rps", "clean_cv_rps", "clean_ratio", "clean_ratio_cv",
                    "transfer_ns"])
        for k, e in summary.items():
            for impl, s in e["impls"].items():
                r = e["ratios"].get(impl)
                a, c = s["all"], s["clean"]
                ra = r["all"] if r else {"median": 1.0, "cv": 0.0, "min": 1.0, "max": 1.0}
                rc = r["clean"] if r else {"median": 1.0, "cv": 0.0, "n": c["n"]}
                w.writerow([mix_name(k), k[0], k[1], k[2], k[3], impl, a["n"],
                            "%.0f" % a["median"], "%.4f" % a["cv"], "%.0f" % a["min"],
                            "%.0f" % a["max"], "%.4f" % ra["median"], "%.4f" % ra["cv"],
                            "%.4f" % ra["min"], "%.4f" % ra["max"], "%.3f" % s["cpu_share"],
                            c["n"], "%.0f" % c["median"], "%.4f" % c["cv"],
                            "%.4f" % rc["median"], "%.4f" % rc["cv"],
                            "%.1f" % s["transfer_ns"]])


def summary_json(path, summary, machine):
    doc = {"machine": machine, "configurations": []}
    for k, e in summary.items():
        doc["configurations"].append({"mix": mix_name(k), "producers": k[0], "consumers": k[1],
                                      "size": k[2], "mode": k[3], "impls": e["impls"],
                                      "ratios": e["ratios"]})
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def ipr_table(ipr, md=False):
    impls = []
    for impl, _ in ipr:
        if impl not in impls and impl != "none":
            impls.append(impl)
    size = next(iter(ipr.values()))["size"] if ipr else 0
    out = ["", "Instructions per %d-byte record, produce + consume on one thread "
           "(callgrind; ring only = minus the benchmark's own work, \"none\")" % size, ""]
    head = ["impl", "single", "ring only", "batch (32)", "ring only"]
    if md:
        out += ["| " + " | ".join(head) + " |", "|---|---:|---:|---:|---:|"]
    else:
        out.append("%-12s %10s %10s %11s %10s" % tuple(head))
    for impl in impls:
        s, b = ipr.get((impl, "single")), ipr.get((impl, "batch"))
        cells = ["%.1f" % x["per_record"] if x else "-" for x in (s,)] + \
                ["%.1f" % s["ring_only"] if s and s["ring_only"] is not None else "-"] + \
                ["%.1f" % b["per_record"] if b else "-"] + \
                ["%.1f" % b["ring_only"] if b and b["ring_only"] is not None else "-"]
        if md:
            out.append("| %s | %s |" % (impl, " | ".join(cells)))
        else:
            out.append("%-12s %10s %10s %11s %10s" % tuple([impl] + cells))
    base = ipr.get(("none", "single"))
    if base:
        out.append("")
        out.append("none (fill, look at, count a record; no ring): %.1f single, %.1f batch" %
                   (base["per_record"], ipr[("none", "batch")]["per_record"]))
    return "\n".join(out) + "\n"
