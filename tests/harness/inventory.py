# SPDX-License-Identifier: GPL-2.0-only
"""The inventory (tests/inventory.txt, format at its top): what must run on
each kernel and on the host, every KUnit case and VM test by its name.
After every stage has run, the results are compared with it; a test that
went missing (deleted, renamed, or never reached), a test nobody listed, a
test that ran twice and a skip nobody allowed each fail as
inventory/<where>/<what>, naming it, and the lines that would make the
inventory match the run are collected for the summary."""
import fnmatch
import os

from common import ALL_KERNELS, rel

KINDS = ("kernels", "kunit", "vm", "step", "host", "lint", "skip")
# Results under <k>/ that say how a stage went rather than what ran.
NOT_STEPS = ("initramfs", "kunit")


# Kinds whose entries name one test of a suite or program each.
CASE_KINDS = ("kunit", "vm")


class Entry:
    def __init__(self, kind, kernels, name, lineno, reason="", case=None, text=""):
        self.kind, self.kernels, self.name = kind, kernels, name
        self.lineno, self.reason, self.case = lineno, reason, case
        self.text = text  # the line as written, for a hint to remove it


class Inventory:
    def __init__(self, path):
        self.path = path
        self.groups = {}
        self.entries = []  # kunit, vm, step, host, lint
        self.skips = []
        self.errors = []
        self._load()

    def _error(self, lineno, msg):
        self.errors.append("%s:%d: %s" % (rel(self.path), lineno, msg))

    def _load(self):
        try:
            with open(self.path) as f:
                text = f.read()
        except OSError as e:
            self.errors.append("cannot read the inventory %s: %s" % (rel(self.path), e))
            return
        lines = []
        for n, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            lines.append((n, line.split()))
        # Groups first: an entry may name a group defined further down.
        raw_groups = {}
        for n, w in lines:
            if w[0] == "kernels":
                if len(w) != 3:
                    self._error(n, "want: kernels <group> <kernel,group,...>")
                elif w[1] in raw_groups or w[1] in ALL_KERNELS:
                    self._error(n, "group %s defined twice or named like a kernel" % w[1])
                else:
                    raw_groups[w[1]] = (n, w[2].split(","))
        for g in raw_groups:
            self.groups[g] = self._expand(raw_groups, g, raw_groups[g][0], ())
        seen = {}
        for n, w in lines:
            kind = w[0]
            if kind not in KINDS:
                self._error(n, "unknown kind %r (one of: %s)" % (kind, ", ".join(KINDS)))
                continue
            if kind == "kernels":
                continue
            if kind in ("host", "lint"):
                if len(w) != 2:
                    self._error(n, "want: %s <name>" % kind)
                    continue
                e = Entry(kind, {kind}, w[1], n)
            elif kind == "skip":
                if len(w) < 4:
                    self._error(n, "want: skip <kernels|host|lint> <test> <reason>")
                    continue
                where = {w[1]} if w[1] in ("host", "lint") else self._kernels(w[1], n)
                self.skips.append(Entry(kind, where, w[2], n, " ".join(w[3:])))
                continue
            elif kind == "step":
                if len(w) != 3:
                    self._error(n, "want: step <kernels> <step>")
                    continue
                e = Entry(kind, self._kernels(w[1], n), w[2], n)
            else:
                what = "suite> <case" if kind == "kunit" else "program> <test"
                if len(w) < 4:
                    self._error(n, "want: %s <kernels> <%s>" % (kind, what))
                    continue
                if len(w) == 4 and w[3].isdigit():
                    # The old format counted cases: a test could replace
                    # another and keep the count.
                    self._error(n, "a number of cases: list each %s by its name instead, one "
                                "line each (want: %s <kernels> <%s>)" % (
                                    "case" if kind == "kunit" else "test", kind, what))
                    continue
                e = Entry(kind, self._kernels(w[1], n), w[2], n, case=" ".join(w[3:]),
                          text=" ".join(w))
            again = {}
            for k in sorted(e.kernels):
                key = (kind, k, e.name, e.case)
                if key in seen:
                    again.setdefault(seen[key], []).append(k)
                seen[key] = n
            for other, ks in sorted(again.items()):
                self._error(n, "%s %s%s is listed for %s already on line %d" % (
                    kind, e.name, " " + e.case if e.case else "", ",".join(ks), other))
            self.entries.append(e)

    def _expand(self, raw, name, lineno, trail):
        if name in trail:
            self._error(lineno, "group %s contains itself" % name)
            return set()
        out = set()
        for w in raw[name][1]:
            if w in ALL_KERNELS:
                out.add(w)
            elif w in raw:
                out |= self._expand(raw, w, raw[name][0], trail + (name,))
            else:
                self._error(raw[name][0], "unknown kernel or group %r (kernels: %s)" % (
                    w, ", ".join(ALL_KERNELS)))
        return out

    def _kernels(self, spec, lineno):
        out = set()
        for w in spec.split(","):
            if w in ALL_KERNELS:
                out.add(w)
            elif w in self.groups:
                out |= self.groups[w]
            else:
                self._error(lineno, "unknown kernel or group %r" % w)
        return out

    def expected(self, kind, where):
        """{name: Entry} of one kind on one kernel (or "host"/"lint");
        for kunit and vm {suite or program: {case: Entry}}."""
        if kind in CASE_KINDS:
            out = {}
            for e in self.entries:
                if e.kind == kind and where in e.kernels:
                    out.setdefault(e.name, {})[e.case] = e
            return out
        return {e.name: e for e in self.entries if e.kind == kind and where in e.kernels}

    def kernels_spec(self, kernels):
        """A set of kernels as an entry would write it: a group that is
        exactly that set, else groups inside it and the kernels left."""
        left = set(kernels)
        if not left:
            return ""
        by_size = sorted(self.groups.items(), key=lambda g: (-len(g[1]), g[0]))
        for name, ks in by_size:
            if ks == left:
                return name
        words = []
        for name, ks in by_size:
            if ks and ks <= left:
                words.append(name)
                left -= ks
        words += [k for k in ALL_KERNELS if k in left]
        return ",".join(words)

    def skip_for(self, where, name):
        """The skip entry that allows `name` (below <where>/) to skip there."""
        for s in self.skips:
            if where in s.kernels and fnmatch.fnmatchcase(name, s.name):
                return s
        return None


class Scope:
    """What this run was asked to run (the knobs can ask for a subset)."""

    def __init__(self, kernels, vm_only, host, lint, demo=True):
        self.kernels, self.vm_only, self.host, self.lint = kernels, vm_only, host, lint
        self.demo = demo  # whether stock-6.1/demo (a step) was asked for

    def describe(self, inv):
        parts = []
        if sorted(self.kernels) != sorted(ALL_KERNELS):
            parts.append("kernels %s only (MPMCRING_KERNELS)" % ",".join(self.kernels))
        if self.vm_only:
            parts.append("VM programs %s only (MPMCRING_VM_TESTS)" % ",".join(self.vm_only))
        if not self.host:
            parts.append("no host tests (MPMCRING_HOST=0)")
        if not self.lint:
            parts.append("no static checks (MPMCRING_LINT=0)")
        if not self.demo and "stock-6.1" in self.kernels:
            parts.append("no demo (MPMCRING_DEMO=0)")
        if parts:
            return "checked against the subset asked for: " + "; ".join(parts)
        n = lambda kind: len(set(e.name for e in inv.entries if e.kind == kind))
        cases = lambda kind: len(set((e.name, e.case) for e in inv.entries if e.kind == kind))
        return ("checked in full: %d kernels, %d KUnit suites (%d cases), %d VM programs "
                "(%d tests), %d host tests, %d static checks" % (
                    len(self.kernels), n("kunit"), cases("kunit"), n("vm"), cases("vm"),
                    n("host"), n("lint")))


def split_kernel_results(kid, tests):
    """Results under <kid>/: {suite: {case: times run}} for kunit and vm
    (a suite whose document failed as a whole is there with what it ran),
    and {step: times}."""
    kunit, vm, steps = {}, {}, {}
    for name, _status, _, _ in tests:
        if not name.startswith(kid + "/"):
            continue
        rest = name[len(kid) + 1:].split("/", 2)
        if rest[0] in CASE_KINDS:
            d = kunit if rest[0] == "kunit" else vm
            if len(rest) == 3:
                cases = d.setdefault(rest[1], {})
                cases[rest[2]] = cases.get(rest[2], 0) + 1
            elif len(rest) == 2:
                d.setdefault(rest[1], {})
        elif rest[0] not in NOT_STEPS:
            step = "/".join(rest)
            steps[step] = steps.get(step, 0) + 1
    return kunit, vm, steps


class Edits:
    """The lines that would make tests/inventory.txt match this run: tests
    that ran unlisted (to add, with the kernels they ran on) and listed
    tests that did not run while the rest of their suite did (to remove,
    or to narrow to fewer kernels)."""

    def __init__(self):
        self.add = {}  # (kind, suite, case): {kernel}
        self.gone = {}  # Entry: {kernel}

    def lines(self, inv, ran):
        out = []
        for e, ks in sorted(self.gone.items(), key=lambda x: x[0].lineno):
            covered = e.kernels & set(ran)
            if ks >= e.kernels:
                out.append("remove %s:%d: %s" % (rel(inv.path), e.lineno, e.text))
            elif ks >= covered:
                out.append("%s:%d: %s: did not run on %s (the kernels this run covered%s)" % (
                    rel(inv.path), e.lineno, e.text, inv.kernels_spec(ks),
                    "; remove it if it is gone" if covered else ""))
            else:
                out.append("%s:%d: %s: did not run on %s; keep it for %s" % (
                    rel(inv.path), e.lineno, e.text, inv.kernels_spec(ks),
                    inv.kernels_spec(e.kernels - ks)))
        for (kind, suite, case), ks in sorted(self.add.items()):
            out.append("add: %s %s %s %s" % (kind, inv.kernels_spec(ks), suite, case))
        return out


def compare_cases(kind, kid, want, got, edits, skipped=()):
    """Problems between the tests a kernel should run ({suite: {case:
    Entry}}) and those it ran ({suite: {case: times}}), each named
    inventory/<kid>/<kind>/<suite>[/<case>]. `skipped`: suites that
    skipped as a whole where a skip line allows it (their tests did not
    run, as allowed)."""
    out = []
    unit = "cases" if kind == "kunit" else "tests"
    for suite in sorted(set(want) | set(got)):
        w, g = want.get(suite, {}), got.get(suite)
        label = "inventory/%s/%s/%s" % (kid, kind, suite)
        if not w:
            for case in g:
                edits.add.setdefault((kind, suite, case), set()).add(kid)
            out.append((label, "unexpected: it ran (%d %s) and tests/inventory.txt does not "
                        "list it; if it is new, add the lines:\n%s" % (
                            len(g), unit, "\n".join("%s %s %s %s" % (kind, kid, suite, c)
                                                    for c in sorted(g)) or "(none ran)")))
            continue
        if not g and suite in skipped:
            continue
        if not g:
            # No hint to remove its lines: a whole suite or program that
            # did not run is more often a build or a boot gone wrong than
            # a suite deleted on purpose, and the failure names its lines.
            lines = sorted(e.lineno for e in w.values())
            out.append((label, "missing: tests/inventory.txt:%s expects its %d %s; it did not "
                        "run" % (lines[0] if len(lines) == 1 else "%d-%d" % (lines[0], lines[-1]),
                                 len(w), unit)))
            continue
        for case in sorted(set(w) | set(g)):
            e, n = w.get(case), g.get(case, 0)
            clabel = "%s/%s" % (label, case)
            if e is None:
                edits.add.setdefault((kind, suite, case), set()).add(kid)
                out.append((clabel, "unexpected: it ran and tests/inventory.txt does not list "
                            "it (renamed, or new?); add the line: %s %s %s %s" % (
                                kind, kid, suite, case)))
            elif not n:
                edits.gone.setdefault(e, set()).add(kid)
                out.append((clabel, "missing: tests/inventory.txt:%d expects it; it did not "
                            "run (if it was renamed or removed, change that line)" % e.lineno))
            elif n > 1:
                out.append((clabel, "ran %d times: tests/inventory.txt:%d expects it once "
                            "(two tests with one name?)" % (n, e.lineno)))
    return out


def compare(kind, where, want, got, prefix, skipped=()):
    """Problems between the entries expected ({name: Entry}) and what ran
    ({name: count}); each named inventory/<prefix>/<name>. `skipped`:
    tests that skipped as a whole: their cases (<name>/...) did not run,
    and the skip itself is judged on its own (allowed by a skip line, or
    an unexpected skip)."""
    out = []
    for name in sorted(set(want) | set(got)):
        e, g = want.get(name), got.get(name)
        if e is not None and not g and any(name.startswith(s + "/") for s in skipped):
            continue
        label = "inventory/%s/%s" % (prefix, name)
        g = g or 0
        ran = "once" if g == 1 else "%d times" % g
        if e is None:
            line = " ".join(w for w in (kind, where if kind not in ("host", "lint") else "",
                                        name) if w)
            out.append((label, "unexpected: it ran (%s) and tests/inventory.txt does not list "
                        "it; if it is new, add the line: %s" % (ran, line)))
        elif not g:
            out.append((label, "missing: tests/inventory.txt:%d expects it; it did not run" %
                        e.lineno))
        elif g != 1:
            out.append((label, "ran %s, tests/inventory.txt:%d expects it once" % (
                ran, e.lineno)))
    return out


def check(inv, scope, tests, edits=None):
    """Compares the results with the inventory. Returns (problems, allowed,
    stale): problems are (result name, detail) to fail; allowed are
    (result name, reason) of skips the inventory allows; stale are skip
    entries that allowed nothing in this run. When `edits` (a list) is
    given, the inventory lines to add and remove for this run to match are
    appended to it."""
    problems = []
    allowed = []
    used = set()
    if inv.errors:
        return [("inventory", "\n".join(inv.errors))], [], []
    found = Edits()

    for kid in scope.kernels:
        kunit, vm, steps = split_kernel_results(kid, tests)
        want_kunit = inv.expected("kunit", kid)
        want_vm = inv.expected("vm", kid)
        want_steps = inv.expected("step", kid)
        if not scope.demo:
            want_steps = {s: c for s, c in want_steps.items() if s != "demo"}
        if scope.vm_only:
            for p in scope.vm_only:
                if p not in want_vm and p not in vm:
                    problems.append(("inventory/%s/vm/%s" % (kid, p),
                                     "missing: MPMCRING_VM_TESTS asks for %s, no such program "
                                     "ran and the inventory does not list it" % p))
            want_vm = {p: c for p, c in want_vm.items() if p in scope.vm_only}
        # The demo is a guest of its own: it says nothing of this one's. What
        # init reads before its first step (detectors, cpus) is no test run.
        if not kunit and not vm and \
                set(steps) - {"demo"} <= {"boot", "reports", "detectors", "cpus"}:
            n = len(want_kunit) + len(want_vm) + len(want_steps)
            why = ("%s/boot above: the guest never got to its tests" % kid if "boot" in steps
                   else "build/kernel-%s and build/%s above" % (kid, kid))
            problems.append(("inventory/%s" % kid,
                             "missing: nothing ran on %s (%d suites, programs and steps "
                             "expected): see %s" % (kid, n, why)))
            continue
        skipped = set(n.split("/")[2] for n, status, _, _ in tests
                      if status == "skip" and n.count("/") == 2 and
                      n.startswith(kid + "/vm/") and inv.skip_for(kid, n[len(kid) + 1:]))
        problems += compare_cases("kunit", kid, want_kunit, kunit, found)
        problems += compare_cases("vm", kid, want_vm, vm, found, skipped)
        problems += compare("step", kid, want_steps, steps, kid)

    for kind, on in (("host", scope.host), ("lint", scope.lint)):
        if not on:
            continue
        got = {}
        for name, _, _, _ in tests:
            if name.startswith(kind + "/") and name != "host/run.sh":
                got[name[len(kind) + 1:]] = got.get(name[len(kind) + 1:], 0) + 1
        want = inv.expected(kind, kind)
        if want and not got:
            problems.append(("inventory/%s" % kind, "missing: none of the %d %s ran (see %s "
                             "above)" % (len(want), "host tests" if kind == "host" else
                                         "static checks", "host/run.sh" if kind == "host"
                                         else "lint/")))
            continue
        skipped = set(n[len(kind) + 1:] for n, status, _, _ in tests
                      if status == "skip" and n.startswith(kind + "/"))
        problems += compare(kind, kind, want, got, kind, skipped)

    for name, status, detail, _ in tests:
        if status != "skip":
            continue
        where, _, below = name.partition("/")
        s = inv.skip_for(where, below)
        if s is None:
            problems.append(("inventory/%s" % name,
                             "unexpected skip: %s, and no skip line in tests/inventory.txt "
                             "allows it" % (detail.strip() or "no reason given")))
        else:
            allowed.append((name, s.reason))
            used.add(s.lineno)
    ran = set(scope.kernels) | ({"host"} if scope.host else set()) | (
        {"lint"} if scope.lint else set())
    stale = [s for s in inv.skips if s.lineno not in used and s.kernels & ran]
    if edits is not None:
        edits.extend(found.lines(inv, scope.kernels))
    return problems, allowed, stale


def inventory_path():
    return os.environ.get("MPMCRING_INVENTORY") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "inventory.txt")
