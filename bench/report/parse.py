# SPDX-License-Identifier: GPL-2.0-only
"""Reading what hostbench and callgrind wrote, and nothing else.

   runs.csv       one row per run (bench/host/out.c)
   machine.json   the machine, the command, the date, the load before
   limits.csv     the machine's limits (bench/host/limits.c)
   scale.csv      producers-only reservation rates (bench/host/scale.c)
   ipr.out.N      callgrind dumps of `hostbench -I` (bench/host/ipr.c)
"""
import csv
import glob
import json
import os
import re

INT_FIELDS = ("producers", "consumers", "size", "ring_bytes", "warm_ms", "run_ms", "round",
              "slot", "records", "full_tries", "empty_tries", "nivcsw")
FLOAT_FIELDS = ("seconds", "records_per_s", "load1", "cpu_share", "other_busy", "steal")
# Columns a newer hostbench writes: 0 when an older runs.csv lacks them.
NEW_FLOAT_FIELDS = ("transfer_ns",)
NEW_INT_FIELDS = ("idle_ns",)


def runs(path):
    """The rows of runs.csv, typed."""
    out = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            for k in INT_FIELDS:
                row[k] = int(row[k])
            for k in FLOAT_FIELDS:
                row[k] = float(row[k])
            for k in NEW_FLOAT_FIELDS:
                row[k] = float(row.get(k) or 0)
            for k in NEW_INT_FIELDS:
                row[k] = int(row.get(k) or 0)
            out.append(row)
    return out


def machine(path):
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def limits(path):
    """limits.csv as a list of dicts (what, threads, size, value, unit)."""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["threads"] = int(r["threads"])
        r["size"] = int(r["size"])
        r["value"] = float(r["value"])
    return rows


def scale(path):
    """scale.csv: producers-only reservation rates (bench/host/scale.c)."""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["producers"] = int(r["producers"])
        r["size"] = int(r["size"])
        r["records_per_s"] = float(r["records_per_s"])
    return rows


LABEL = re.compile(r"^desc: Trigger: Client Request: ipr (\S+) (\S+) (\d+)")


def ipr_dumps(folder):
    """One dict per dump of `hostbench -I`: impl, mode, records, instructions, file."""
    out = []
    for path in sorted(glob.glob(os.path.join(folder, "ipr.out.*")),
                       key=lambda p: int(p.rsplit(".", 1)[1])):
        label = total = None
        with open(path) as f:
            for line in f:
                m = LABEL.match(line)
                if m:
                    label = m.groups()
                elif line.startswith("summary:"):
                    total = int(line.split()[1])
        if label and total is not None:
            out.append({"impl": label[0], "mode": label[1], "records": int(label[2]),
                        "instructions": total, "file": path})
    return out


# ours' entry points: the ring's own code, as a kernel producer and a
# library consumer call it (reclaim runs inside reserve).
API = ("hostring_reserve", "hostring_commit", "mpmcring_read", "mpmcring_read_batch",
       "mpmcring_batch_next", "mpmcring_read_many", "mpmcring_commit")
ANNOTATED = re.compile(r"^\s*([\d,]+) \(.*\)\s+\S*:([A-Za-z_]\w*)(\s|$)")


def api_instructions(profile_path):
    """{function: inclusive instructions} of ours' entry points and the
    payload copy, from a callgrind_annotate --inclusive=yes listing: a
    function's largest line is the whole of it (the others are the parts
    inlined from each source file)."""
    out = {}
    with open(profile_path) as f:
        for line in f:
            m = ANNOTATED.match(line)
            if not m:
                continue
            name = "memcpy" if "memcpy" in m.group(2) else m.group(2)
            if name in API or name == "memcpy":
                out[name] = max(out.get(name, 0), int(m.group(1).replace(",", "")))
    return out
