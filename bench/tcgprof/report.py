#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Names where a profiled bench-events run's instructions went.

insn_prof.so (this folder) counts the guest's instructions per translation
block in windows that evbench opens and closes around each workload
(MPMCRING_EVB_PROFILE=1); evbench says what each window was (BENCH lines of
kind "window") and, while a transport was loaded, where our modules' and the
BPF programs' code lay, and once the kernel's own (KSYM lines: Debian's
System.map is a stub, and KASLR moves the kernel every boot). This names
every block: the kernel's, modules' and BPF programs' by the KSYM lines,
evbench's own by its symbol table.

For each transport it prints what one event cost, in every repetition and
by function in the median one: the traced window minus the part's untraced
baseline (per function, the median over its untraced windows), on the
workload's vCPU; and for a drain, what consuming one event cost on every
vCPU. The counts are the emulated CPU's (qemu64's) instructions, a `rep`
string instruction once per iteration, nearly the same however loaded the
host (timer ticks on the workload's vCPU grow with its wall time, 1-2%):
they say where the work is, not how long it takes on hardware (no cache,
atomic or fence cost). With an even number of repetitions the median is
the lower of the middle two, so that the by-function table, that
repetition's, adds up to it.

  report.py --windows insn_prof.txt --output output.txt --binary evbench [--top N]
"""
import argparse
import bisect
import collections
import json
import statistics
import subprocess
import sys

USER_TOP = 1 << 47
FUNCTION_MAX = 64 << 10  # no function here is larger
MAX_VCPUS = 8  # insn_prof.c's columns of runs by vCPU


class Symbols:
    """Sorted start addresses and names; a lookup gives the nearest below."""

    def __init__(self, pairs):
        pairs = sorted(pairs)
        self.addrs = [a for a, _ in pairs]
        self.names = [n for _, n in pairs]

    def name(self, addr):
        """The symbol at or below addr; None below the first, and a name
        that says so past the last by more than any function's size (no
        symbol ends are known: code with no symbol, a trampoline, would
        otherwise count as the function before it)."""
        i = bisect.bisect_right(self.addrs, addr) - 1
        if i < 0:
            return None
        if addr - self.addrs[i] > FUNCTION_MAX:
            return "[unknown, past %s]" % self.names[i]
        return self.names[i]

    def start(self, addr):
        i = bisect.bisect_right(self.addrs, addr) - 1
        return self.addrs[i] if i >= 0 else 0


def read_windows(path, vcpu):
    """Per window, by block start: instructions on every vCPU, on vCPU
    vcpu, and locked instructions on each; and whether the file has the
    locked column (insn_prof before it wrote 3 + MAX_VCPUS columns)."""
    wins, cur, columns = {}, None, set()
    with open(path) as f:
        for num, line in enumerate(f, 1):
            w = line.split()
            if not w:
                continue
            if w[0] == "window":
                cur = wins.setdefault(int(w[1]), tuple(collections.Counter() for _ in range(4)))
            elif w[0] == "end":
                cur = None
            elif cur is not None:
                if len(w) not in (3 + MAX_VCPUS, 4 + MAX_VCPUS):
                    sys.exit("report.py: %s:%d: %d columns, not insn_prof's %d (or %d, "
                             "before its locked column): was it built with another "
                             "MAX_VCPUS?" % (path, num, len(w), 4 + MAX_VCPUS, 3 + MAX_VCPUS))
                columns.add(len(w))
                addr, n, runs_all, runs_mine = int(w[0], 16), int(w[1]), int(w[2]), int(w[3 + vcpu])
                atomics = int(w[3 + MAX_VCPUS]) if len(w) > 3 + MAX_VCPUS else 0
                cur[0][addr] += n * runs_all
                cur[1][addr] += n * runs_mine
                cur[2][addr] += atomics * runs_all
                cur[3][addr] += atomics * runs_mine
    return wins, columns == {4 + MAX_VCPUS}


def read_output(path):
    """Window descriptions and the KSYM lines, by window."""
    meta, ksyms = {}, collections.defaultdict(list)
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if line.startswith("BENCH {"):
                d = json.loads(line[6:])
                if d.get("kind") == "window":
                    meta[d["window"]] = d
            elif line.startswith("KSYM "):
                w = line.split()
                if len(w) == 6:
                    ksyms[int(w[1])].append((int(w[2], 16), w[4], w[5]))
    return meta, ksyms


def binary_symbols(path):
    if not path:
        return Symbols([])
    out = subprocess.run(["nm", "-n", "--defined-only", path], capture_output=True,
                         text=True, check=True).stdout
    pairs = []
    for line in out.splitlines():
        w = line.split()
        if len(w) == 3 and w[1] in "tTwW":
            pairs.append((int(w[0], 16), w[2]))
    return Symbols(pairs)


def namer(kernel, ksym_lines, user):
    """A function naming an address for one window."""
    table = Symbols(kernel + [(addr, "%s %s" % (name, mod))
                              for addr, name, mod in ksym_lines])

    def name(addr):
        if addr < USER_TOP:
            n = user.name(addr)
            return "%s [evbench]" % n if n and not n.startswith("[") else "[user, elsewhere]"
        return table.name(addr) or "[kernel, unknown]"
    name.offset = lambda addr: addr - (user if addr < USER_TOP else table).start(addr)
    return name


def by_function(counts, name):
    out = collections.Counter()
    for addr, n in counts.items():
        out[name(addr)] += n
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--windows", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--binary", help="evbench, to name its own functions")
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--vcpu", type=int, default=0,
                    help="the workloads' vCPU (evbench pins them to CPU 0): traced and "
                         "untraced windows count it alone, so that what other CPUs run "
                         "meanwhile (consumers, kworkers) is left out; a drain's consume "
                         "counts every vCPU")
    ap.add_argument("--all-vcpus", action="store_true",
                    help="traced and untraced windows count every vCPU: the workload's "
                         "and its consumers' (their sleeping and waking too) together")
    ap.add_argument("--blocks", metavar="FUNCTION",
                    help="also list FUNCTION's blocks (offset, instructions, runs per event) "
                         "in each window that ran it: where inside it the count goes")
    a = ap.parse_args(argv)

    if not 0 <= a.vcpu < MAX_VCPUS - 1:
        ap.error("--vcpu: 0 to %d (insn_prof's last column is every vCPU past it)" %
                 (MAX_VCPUS - 2))
    wins, has_locked = read_windows(a.windows, a.vcpu)
    meta, ksyms = read_output(a.output)
    user = binary_symbols(a.binary)
    missing = sorted(set(meta) - set(wins))
    if missing or not meta:
        sys.exit("report.py: windows %s named by evbench but not counted (was the plugin "
                 "loaded?)" % (missing or "none"))
    kernel = [(addr, name) for lines in ksyms.values() for addr, name, mod in lines
              if mod == "-"]
    if not kernel:
        sys.exit("report.py: no KSYM lines: the run profiled no transport")

    # The modules' and programs' places a window uses: its own, else the
    # last printed before it (a drain's consume follows its fill's); an
    # untraced window ran none of them.
    last_ksym, names = [], {}
    for w in sorted(meta):
        if w in ksyms:
            last_ksym = [s for s in ksyms[w] if s[2] != "-"]
        m = meta[w]
        names[w] = namer(kernel, last_ksym if m["stretch"] != "untraced" else [], user)

    def every_vcpu(w):
        return a.all_vcpus or meta[w]["stretch"] == "consume"

    def counts(w):
        return wins[w][0 if every_vcpu(w) else 1]

    def atomics(w):
        """Locked instructions per unit of the window's work."""
        return sum(wins[w][2 if every_vcpu(w) else 3].values()) / meta[w]["work"]

    def per_fn(w):
        """Function -> instructions per unit of the window's work."""
        return {fn: n / meta[w]["work"] for fn, n in by_function(counts(w), names[w]).items()}

    # A part's untraced baseline, per function: the median over all its
    # untraced windows (each ran the same workload), so that the kernel's
    # own work landing in one of them (its random generator reseeding, a
    # slab grown) moves no repetition's figure.
    baseline, base_atomics = {}, {}
    for part in {m["part"] for m in meta.values()}:
        fns = [per_fn(w) for w, m in meta.items()
               if m["part"] == part and m["stretch"] == "untraced" and m["work"]]
        if fns:
            keys = set().union(*fns)
            baseline[part] = {k: statistics.median([f.get(k, 0.0) for f in fns]) for k in keys}
            base_atomics[part] = statistics.median(
                atomics(w) for w, m in meta.items()
                if m["part"] == part and m["stretch"] == "untraced" and m["work"])

    runs = collections.defaultdict(list)  # (part, transport, stretch) -> [(value, rows, w)]
    for w in sorted(meta):
        m = meta[w]
        if m["stretch"] == "untraced" or not m["work"]:
            continue
        rows, locked = per_fn(w), atomics(w)
        if m["stretch"] == "traced":
            if m["part"] not in baseline:
                continue
            base = baseline[m["part"]]
            rows = {k: rows.get(k, 0.0) - base.get(k, 0.0) for k in set(rows) | set(base)}
            locked -= base_atomics[m["part"]]
        runs[(m["part"], m["transport"], m["stretch"])].append((sum(rows.values()), rows, w,
                                                               locked))

    print("Guest instructions per event (insn_prof). traced: the traced workload's count "
          "on %s minus the part's untraced baseline (per function, the median "
          "over every untraced window of the part), per event; consume: a drain's "
          "consumers, every vCPU, per event. An event of the syscalls and drain parts is "
          "one openat recorded and three syscalls not (close, open(2), close). A `rep` "
          "string instruction counts once per iteration; the guest CPU is qemu64. Locked "
          "instructions: those with a LOCK prefix and xchg with memory (locked.h), "
          "counted the same way, in total only (\"-\": a profile from before insn_prof "
          "counted them); each takes a cache line's ownership on hardware, which these "
          "counts do not price." % ("every vCPU (--all-vcpus)" if a.all_vcpus
                                     else "its vCPU (%d)" % a.vcpu))
    print()
    print("| part | transport | stretch | instructions per event (median) | each repetition "
          "| locked instructions per event (median) |")
    print("|---|---|---|---:|---|---:|")
    for key in sorted(runs):
        v = [r[0] for r in runs[key]]
        locked = statistics.median_low([r[3] for r in runs[key]])
        print("| %s | %s | %s | %.0f | %s | %s |" % (key + (
            statistics.median_low(v), ", ".join("%.0f" % x for x in v),
            "%.2f" % locked if has_locked else "-")))
    if any(len(r) < 3 for r in runs.values()):
        print()
        print("(fewer than 3 repetitions: one window with the kernel's own work in it "
              "moves a figure by hundreds; MPMCRING_EVB_REPS=3 or more)")
    for key in sorted(runs):
        ordered = sorted(runs[key], key=lambda r: r[0])
        value, rows, w, _locked = ordered[(len(ordered) - 1) // 2]
        print()
        print("%s, %s, %s (the median repetition, %d), by function, per event:" %
              (key + (meta[w]["rep"],)))
        for fn, n in sorted(rows.items(), key=lambda kv: -abs(kv[1]))[:a.top]:
            print("  %9.1f  %s" % (n, fn))
        if a.blocks:
            mine = sorted((names[w].offset(addr), n, addr) for addr, n in counts(w).items()
                          if names[w](addr).split()[0] == a.blocks)
            if mine:
                print("  %s's blocks in that window: +offset, instructions per event" %
                      a.blocks)
                for off, n, _addr in mine:
                    print("    +0x%-5x %9.1f" % (off, n / meta[w]["work"]))

if __name__ == "__main__":
    main()
