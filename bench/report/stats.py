# SPDX-License-Identifier: GPL-2.0-only
"""The numbers a reader may trust, from the raw runs.

Per configuration (mix, size, mode) and implementation: the median
records/s over rounds, and its coefficient of variation (standard
deviation / mean) with min and max: how far one run may land from another.

Per configuration and peer: ours/peer, the ratio of the two runs of the
same round (seconds apart, so a drift of the machine touches both), its
median over rounds, its quartiles and its coefficient of variation. A
round where the peer took nothing has no ratio; how many is kept
(peer_zero). Fewer than two values give no CV (NaN), never a steady 0.

A run is "clean" when its threads had the CPUs to themselves during the
window (cpu_share >= CLEAN_SHARE) and the hypervisor stole next to nothing
(steal < CLEAN_STEAL): the same statistics over clean runs only say what
the rings do when nothing else interferes, and how many runs that left.
"""
import math
import statistics

CLEAN_SHARE = 0.95
CLEAN_STEAL = 0.02


def cv(values):
    """Standard deviation / mean; NaN for fewer than two values (no spread
    measured: not a steady result)."""
    if len(values) < 2:
        return math.nan
    mean = statistics.fmean(values)
    return statistics.stdev(values) / mean if mean else math.inf


def describe(values):
    """n, median, CV, min, max and the quartiles (NaN where there are too
    few values to say)."""
    if not values:
        return {"n": 0, "median": math.nan, "cv": math.nan, "min": math.nan,
                "max": math.nan, "q1": math.nan, "q3": math.nan}
    q1 = q3 = math.nan
    if len(values) >= 2:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return {"n": len(values), "median": statistics.median(values), "cv": cv(values),
            "min": min(values), "max": max(values), "q1": q1, "q3": q3}


def config_key(r):
    return (r["producers"], r["consumers"], r["size"], r["mode"])


def is_clean(r):
    return r["cpu_share"] >= CLEAN_SHARE and r["steal"] < CLEAN_STEAL


def mix_name(key):
    return "%dP%dC" % (key[0], key[1])


def summarize(runs, ours="ours"):
    """{config: {"impls": {impl: stats}, "ratios": {peer: stats}}}, configs in run order."""
    configs, order = {}, []
    for r in runs:
        k = config_key(r)
        if k not in configs:
            configs[k] = {}
            order.append(k)
        rounds = configs[k].setdefault(r["impl"], {})
        if r["round"] in rounds:
            raise ValueError("%s %s round %d appears twice (two runs' rows in one runs.csv?)"
                             % (mix_name(k) + " %dB %s" % (k[2], k[3]), r["impl"], r["round"]))
        rounds[r["round"]] = r
    out = {}
    for k in order:
        byimpl = configs[k]
        entry = {"impls": {}, "ratios": {}}
        for impl, rounds in byimpl.items():
            rs = list(rounds.values())
            clean = [r for r in rs if is_clean(r)]
            entry["impls"][impl] = {
                "all": describe([r["records_per_s"] for r in rs]),
                "clean": describe([r["records_per_s"] for r in clean]),
                "cpu_share": statistics.median(r["cpu_share"] for r in rs),
                "other_busy": statistics.median(r["other_busy"] for r in rs),
                "steal": statistics.median(r["steal"] for r in rs),
                "nivcsw": statistics.median(r["nivcsw"] for r in rs),
                "load1": statistics.median(r["load1"] for r in rs),
                "transfer_ns": statistics.median(r["transfer_ns"] for r in rs),
            }
        base = byimpl.get(ours, {})
        for impl, rounds in byimpl.items():
            if impl == ours:
                continue
            both = [(base[n], rounds[n]) for n in rounds if n in base]
            # A round the peer took nothing in has no ratio: counted, said.
            pairs = [(a, b) for a, b in both if b["records_per_s"] > 0]
            ratio = [a["records_per_s"] / b["records_per_s"] for a, b in pairs]
            clean = [a["records_per_s"] / b["records_per_s"] for a, b in pairs
                     if is_clean(a) and is_clean(b)]
            entry["ratios"][impl] = {"all": describe(ratio), "clean": describe(clean),
                                     "peer_zero": len(both) - len(pairs)}
        out[k] = entry
    return out


def ipr(dumps, size):
    """Instructions per record per (impl, mode), and "ring only" (minus none)."""
    per = {(d["impl"], d["mode"]): d["instructions"] / d["records"] for d in dumps}
    out = {}
    for (impl, mode), v in per.items():
        base = per.get(("none", mode))
        out[(impl, mode)] = {"per_record": v,
                             "ring_only": v - base if base is not None else None,
                             "size": size}
    return out
