# SPDX-License-Identifier: GPL-2.0-only
"""Tables and files from the statistics (stats.py): text, Markdown, CSV,
JSON. Rates in Mrecords/s; CV as a percentage; ratios ours/peer (above 1:
ours is faster)."""
import csv
import json
import math

from stats import mix_name


# hostbench's own order of the implementations (plan.c): the rounds run
# them in an order that changes, the tables keep this one.
ORDER = ("ours", "rte_ring", "ck_ring", "vyukov", "bpf_ringbuf", "falco", "ours_chunk")


def _impls(summary, ours="ours"):
    names = []
    for entry in summary.values():
        for impl in entry["impls"]:
            if impl not in names:
                names.append(impl)
    seen = list(names)
    names.sort(key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), seen.index(n)))
    if ours in names:
        names.remove(ours)
        names.insert(0, ours)
    return names


def _pct(x):
    if math.isnan(x):
        return "  -"  # one run: no spread measured
    return "%3.0f%%" % (100 * x) if x < 9.995 else "big"


def _kept(s, which):
    """How many runs a clean cell kept (the table of all runs has them all)."""
    return ", %d" % s["n"] if which == "clean" else ""


def _num(fmt, x):
    """A CSV field: empty where there is no number (NaN)."""
    return "" if x is None or math.isnan(x) else fmt % x


def _json_safe(x):
    """NaN and infinities as null: json.dump would write NaN, which is not JSON."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    return x


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
        out.append("%s: median Mrec/s (CV over rounds%s); %s/peer: median of same-round "
                   "ratios (CV%s)%s; share: median CPU share of %s over all its runs" %
                   (title, ", clean runs kept" if which == "clean" else "", ours,
                    ", pairs kept" if which == "clean" else "",
                    ", clean runs only" if which == "clean" else "", ours))
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
                             "%.2f (%s%s)" % (s["median"] / 1e6, _pct(s["cv"]).strip(),
                                              _kept(s, which)))
            for p in peers:
                s = e["ratios"].get(p, {}).get(which)
                if not s or not s["n"]:
                    cells.append("-")
                    continue
                txt = "%.2fx (%s%s)" % (s["median"], _pct(s["cv"]).strip(), _kept(s, which))
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
    """Counts a reader wants first: ahead or not, and spreads within limit.
    A ratio is ahead beyond its spread when its lower quartile over rounds
    is above 1, behind when its upper quartile is below 1; a CV needs two
    runs or more (cells with one are counted apart)."""
    impls = _impls(summary, ours)
    lines = []
    n = len(summary)
    rates = [s[which] for e in summary.values() for s in e["impls"].values() if s[which]["n"]]
    spread = [s for s in rates if not math.isnan(s["cv"])]
    lines.append("rate CV <= %d%%: %d of %d (configuration, implementation) pairs%s" %
                 (100 * limit, sum(1 for s in spread if s["cv"] <= limit), len(spread),
                  "; %d more with one run, no CV" % (len(rates) - len(spread))
                  if len(rates) > len(spread) else ""))
    for p in impls[1:]:
        es = [e["ratios"][p] for e in summary.values()
              if p in e["ratios"] and e["ratios"][p][which]["n"]]
        rs = [e[which] for e in es]
        ahead = sum(1 for s in rs if s["median"] > 1)
        spread = [s for s in rs if not math.isnan(s["cv"])]
        clear = sum(1 for s in spread if s["q1"] > 1)
        behind = sum(1 for s in spread if s["q3"] < 1)
        tight = sum(1 for s in spread if s["cv"] <= limit)
        worst = "%.2fx" % min(s["median"] for s in rs) if rs else "-"
        zero = sum(e.get("peer_zero", 0) for e in es)
        lines.append("%s/%s: median ahead in %d of %d configurations (worst %s); beyond the "
                     "spread (quartiles over rounds) ahead in %d, behind in %d, within it %d%s; "
                     "ratio CV <= %d%% in %d of %d%s" %
                     (ours, p, ahead, len(rs), worst, clear, behind,
                      len(spread) - clear - behind,
                      ", one round only in %d" % (len(rs) - len(spread))
                      if len(rs) > len(spread) else "", 100 * limit, tight, len(spread),
                      "; %d rounds where %s took nothing (no ratio)" % (zero, p) if zero else ""))
    lines.append("configurations: %d" % n)
    return "\n".join(lines) + "\n"


def summary_csv(path, summary, ours="ours"):
    """One row per (configuration, implementation); the ratio fields are
    ours/impl, empty on ours' own row (base names it) and where there is
    no number."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["mix", "producers", "consumers", "size", "mode", "impl", "runs",
                    "median_rps", "cv_rps", "min_rps", "max_rps", "ours_over_impl",
                    "ratio_cv", "ratio_min", "ratio_max", "cpu_share", "clean_runs",
                    "clean_median_rps", "clean_cv_rps", "clean_ratio", "clean_ratio_cv",
                    "transfer_ns", "base", "ratio_n", "ratio_q1", "ratio_q3",
                    "peer_zero_rounds"])
        none = {"median": None, "cv": None, "min": None, "max": None, "n": "", "q1": None,
                "q3": None}
        for k, e in summary.items():
            for impl, s in e["impls"].items():
                r = e["ratios"].get(impl)
                a, c = s["all"], s["clean"]
                ra = r["all"] if r else none
                rc = r["clean"] if r else none
                w.writerow([mix_name(k), k[0], k[1], k[2], k[3], impl, a["n"],
                            _num("%.0f", a["median"]), _num("%.4f", a["cv"]),
                            _num("%.0f", a["min"]), _num("%.0f", a["max"]),
                            _num("%.4f", ra["median"]), _num("%.4f", ra["cv"]),
                            _num("%.4f", ra["min"]), _num("%.4f", ra["max"]),
                            "%.3f" % s["cpu_share"], c["n"], _num("%.0f", c["median"]),
                            _num("%.4f", c["cv"]), _num("%.4f", rc["median"]),
                            _num("%.4f", rc["cv"]), "%.1f" % s["transfer_ns"], ours,
                            ra["n"], _num("%.4f", ra["q1"]), _num("%.4f", ra["q3"]),
                            r["peer_zero"] if r else ""])


def summary_json(path, summary, machine):
    doc = {"machine": machine, "configurations": []}
    for k, e in summary.items():
        doc["configurations"].append({"mix": mix_name(k), "producers": k[0], "consumers": k[1],
                                      "size": k[2], "mode": k[3], "impls": e["impls"],
                                      "ratios": e["ratios"]})
    with open(path, "w") as f:
        json.dump(_json_safe(doc), f, indent=1, allow_nan=False)
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
