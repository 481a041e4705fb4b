# SPDX-License-Identifier: GPL-2.0-only
"""The inventory (tests/inventory.txt, format at its top): what must run on
each kernel and on the host. After every stage has run, the results are
compared with it; a test that went missing, a count that changed, a test
nobody listed and a skip nobody allowed each fail as
inventory/<where>/<what>, naming it."""
import fnmatch
import os

from common import ALL_KERNELS, rel

KINDS = ("kernels", "kunit", "vm", "step", "host", "lint", "skip")
# Results under <k>/ that say how a stage went rather than what ran.
NOT_STEPS = ("initramfs", "kunit")


class Entry:
    def __init__(self, kind, kernels, name, count, lineno, reason=""):
        self.kind, self.kernels, self.name = kind, kernels, name
        self.count, self.lineno, self.reason = count, lineno, reason


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
                e = Entry(kind, {kind}, w[1], 1, n)
            elif kind == "skip":
                if len(w) < 4:
                    self._error(n, "want: skip <kernels|host|lint> <test> <reason>")
                    continue
                where = {w[1]} if w[1] in ("host", "lint") else self._kernels(w[1], n)
                self.skips.append(Entry(kind, where, w[2], None, n, " ".join(w[3:])))
                continue
            elif kind == "step":
                if len(w) != 3:
                    self._error(n, "want: step <kernels> <step>")
                    continue
                e = Entry(kind, self._kernels(w[1], n), w[2], 1, n)
            else:
                if len(w) != 4 or not w[3].isdigit() or int(w[3]) < 1:
                    self._error(n, "want: %s <kernels> <name> <number of cases, 1 or more>" %
                                kind)
                    continue
                e = Entry(kind, self._kernels(w[1], n), w[2], int(w[3]), n)
            again = {}
            for k in sorted(e.kernels):
                key = (kind, k, e.name)
                if key in seen:
                    again.setdefault(seen[key], []).append(k)
                seen[key] = n
            for other, ks in sorted(again.items()):
                self._error(n, "%s %s is listed for %s already on line %d" % (
                    kind, e.name, ",".join(ks), other))
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
        """{name: Entry} of one kind on one kernel (or "host"/"lint")."""
        return {e.name: e for e in self.entries if e.kind == kind and where in e.kernels}

    def skip_for(self, where, name):
        """The skip entry that allows `name` (below <where>/) to skip there."""
        for s in self.skips:
            if where in s.kernels and fnmatch.fnmatchcase(name, s.name):
                return s
        return None


class Scope:
    """What this run was asked to run (the knobs can ask for a subset)."""

    def __init__(self, kernels, vm_only, host, lint):
        self.kernels, self.vm_only, self.host, self.lint = kernels, vm_only, host, lint

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
        if parts:
            return "checked against the subset asked for: " + "; ".join(parts)
        n = lambda kind: len(set(e.name for e in inv.entries if e.kind == kind))
        return ("checked in full: %d kernels, %d KUnit suites, %d VM programs, %d host tests, "
                "%d static checks" % (len(self.kernels), n("kunit"), n("vm"), n("host"),
                                       n("lint")))


def split_kernel_results(kid, tests):
    """Results under <kid>/: {suite: cases} for kunit and vm, and steps."""
    kunit, vm, steps = {}, {}, {}
    for name, _status, _, _ in tests:
        if not name.startswith(kid + "/"):
            continue
        rest = name[len(kid) + 1:].split("/", 2)
        if rest[0] in ("kunit", "vm"):
            if len(rest) == 3:
                d = kunit if rest[0] == "kunit" else vm
                d[rest[1]] = d.get(rest[1], 0) + 1
            elif len(rest) == 2:
                d = kunit if rest[0] == "kunit" else vm
                d.setdefault(rest[1], 0)
        elif rest[0] not in NOT_STEPS:
            step = "/".join(rest)
            steps[step] = steps.get(step, 0) + 1
    return kunit, vm, steps


def compare(kind, where, want, got, unit, prefix):
    """Problems between the entries expected ({name: Entry}) and what ran
    ({name: count}); each named inventory/<prefix>/<name>."""
    out = []
    for name in sorted(set(want) | set(got)):
        e, g = want.get(name), got.get(name)
        label = "inventory/%s/%s" % (prefix, name)
        g = g or 0
        ran = ("%d %s" % (g, unit)) if unit else "once" if g == 1 else "%d times" % g
        if e is None:
            line = " ".join(w for w in (kind, where if kind not in ("host", "lint") else "",
                                        name, str(g) if unit else "") if w)
            out.append((label, "unexpected: it ran (%s) and tests/inventory.txt does not list "
                        "it; if it is new, add the line: %s" % (ran, line)))
        elif not g:
            out.append((label, "missing: tests/inventory.txt:%d expects it%s; it did not run" % (
                e.lineno, " with %d %s" % (e.count, unit) if unit else "")))
        elif g != e.count:
            out.append((label, "%s ran, tests/inventory.txt:%d expects %d" % (
                ran, e.lineno, e.count)))
    return out


def check(inv, scope, tests):
    """Compares the results with the inventory. Returns (problems, allowed,
    stale): problems are (result name, detail) to fail; allowed are
    (result name, reason) of skips the inventory allows; stale are skip
    entries that allowed nothing in this run."""
    problems = []
    allowed = []
    used = set()
    if inv.errors:
        return [("inventory", "\n".join(inv.errors))], [], []

    for kid in scope.kernels:
        kunit, vm, steps = split_kernel_results(kid, tests)
        want_kunit = inv.expected("kunit", kid)
        want_vm = inv.expected("vm", kid)
        want_steps = inv.expected("step", kid)
        if scope.vm_only:
            for p in scope.vm_only:
                if p not in want_vm and p not in vm:
                    problems.append(("inventory/%s/vm/%s" % (kid, p),
                                     "missing: MPMCRING_VM_TESTS asks for %s, no such program "
                                     "ran and the inventory does not list it" % p))
            want_vm = {p: c for p, c in want_vm.items() if p in scope.vm_only}
        if not kunit and not vm and set(steps) <= {"boot", "reports"}:
            n = len(want_kunit) + len(want_vm) + len(want_steps)
            why = ("%s/boot above: the guest never got to its tests" % kid if "boot" in steps
                   else "build/kernel-%s and build/%s above" % (kid, kid))
            problems.append(("inventory/%s" % kid,
                             "missing: nothing ran on %s (%d suites, programs and steps "
                             "expected): see %s" % (kid, n, why)))
            continue
        problems += compare("kunit", kid, want_kunit, kunit, "cases", kid + "/kunit")
        problems += compare("vm", kid, want_vm, vm, "tests", kid + "/vm")
        problems += compare("step", kid, want_steps, steps, "", kid)

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
        problems += compare(kind, kind, want, got, "", kind)

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
    return problems, allowed, stale


def inventory_path():
    return os.environ.get("MPMCRING_INVENTORY") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "inventory.txt")
