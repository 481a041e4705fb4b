# SPDX-License-Identifier: GPL-2.0-only
"""Kernel reports: finding them on a guest's console (KASAN, KCSAN, UBSAN,
lockdep, WARNING, BUG, Oops, soft and hard lockups, RCU stalls, hung
tasks) and in kmemleak's list, and telling which are ours.

Our guests load only this project's modules, so a frame or an address in
the kernel's module area is our code or our static data, named or not.
The module also lists the address ranges of the objects it allocates
(`/sys/kernel/debug/mpmcring/objects`, format in docs/testing.md), which
init.sh copies to the results port: a race on an address in one of them,
while it was alive, is a race on our object.
"""
import bisect
import os
import re

from parse import stamp_of, strip_stamp

OURS_RE = re.compile(r"mpmcring|\bmpr_\w")
SEPARATOR_RE = re.compile(r"^={20,}\s*$")
BOXED_RE = re.compile(r"BUG: KASAN|BUG: KCSAN|UBSAN:")
REPORT_RE = re.compile(
    r"BUG: KASAN|BUG: KCSAN|\bBUG:|^WARNING:|kernel BUG at|\bOops\b|"
    r"general protection fault|UBSAN:|possible circular locking dependency|"
    # x86's die() for every trap: "int3: 0000 [#1] PREEMPT SMP",
    # "invalid opcode: 0000 [#1]", "divide error: 0000 [#1]", ...
    r"^[a-z][a-z0-9 ]*: [0-9a-f]{4} \[#\d+\]|"
    r"inconsistent lock state|possible recursive locking|"
    r"sleeping function called from invalid context|suspicious RCU usage|"
    r"INFO: task .* blocked|Kernel panic - not syncing|"
    r"NMI received for unknown reason|Uhhuh\. NMI|"
    # RCU CPU stall warnings (normal and expedited grace periods)
    r"rcu: INFO: \S+ (?:self-)?detected (?:expedited )?stalls? on CPU|"
    r"rcu: INFO: \S+ detected expedited stalls|"
    # tasks RCU (tracepoint and ftrace paths wait on it): no "rcu: " prefix
    r"INFO: rcu_tasks\w* detected stalls on tasks|"
    # an uninitialised lock: lockdep turns off after it
    r"INFO: trying to register non-static key|"
    # the hard lockup detector (soft lockups print "BUG: soft lockup")
    r"Watchdog detected hard LOCKUP")
# Reports after which the guest's kernel is not to be trusted (an Oops of
# any trap, a BUG_ON, a panic): they fail the guest whatever code they
# name. Our guests run nothing but our tests; a base-kernel crash under
# them is still a run that did not test what it claims.
FATAL_RE = re.compile(r"\bOops\b|general protection fault|kernel BUG at|"
                      r"Kernel panic - not syncing|^[a-z][a-z0-9 ]*: [0-9a-f]{4} \[#\d+\]")
LOCKDEP_REPORT_RE = re.compile(
    r"possible circular locking dependency|inconsistent lock state|"
    r"possible recursive locking|suspicious RCU usage|bad unlock balance|"
    r"lock held when returning to user space|held lock freed|"
    r"possible irq lock inversion|circular locking|"
    r"turning off the locking correctness validator|too low!")

# Lines that continue the report before them rather than start a new one.
CONTINUES_RE = re.compile(r"possible circular|inconsistent lock|possible recursive")
MAX_REPORT_LINES = 200

# Frames: "func+0x1a/0x40 [module]", "? func+0x...", "[<ffffffff...>] func+0x..",
# "RIP: 0010:func+0x...", or an address no symbol names ("0xffffffffa0012345").
FRAME_RE = re.compile(r"(?:^|[\s:>])(?:\?\s+)?([A-Za-z_.][\w.]*\+0x[0-9a-f]+/0x[0-9a-f]+"
                      r"(?:\s+\[\w+\])?|0x[0-9a-f]{16}\b)")
# The kernel's module area on x86_64 (MODULES_VADDR..MODULES_END), with or
# without room for KASLR: the kernel image itself ends below it.
MODULE_AREA = (0xffffffffa0000000, 0xffffffffff000000)

# KCSAN: one line per access, then its stack until a blank line.
KCSAN_ACCESS_RE = re.compile(
    r"^(?:read|write|read-write|race at)\b.* (?:to|of) (0x[0-9a-f]+) .*by ")
# Generic helpers that touch memory on their caller's behalf: the frames
# after them say whose access it is.
KCSAN_HELPER_RE = re.compile(
    r"^(?:__)?(?:mem(?:cpy|set|move|cmp)\w*|_?copy_(?:to|from)_user\w*|raw_copy_\w+|"
    r"(?:get|put)_user\w*|str\w+|__tsan_\w+|kcsan_\w+|__kcsan_\w+)\+")
# How deep into an access's stack (helpers skipped) our code makes the race
# ours: the function that made the access, and the ones that called it on
# our behalf (a list, bitmap or rbtree helper, the helper's own helper...).
# Deeper, our code is only the context a base-kernel race happened in (a
# syscall that ended in the scheduler, a page-table walk).
KCSAN_OUR_DEPTH = 4


class Ownership:
    """What the guest told about our code: symbols of our modules (for
    addresses printed after a module was unloaded) and the address ranges
    of our objects with their lifetimes."""

    def __init__(self):
        self.syms = []  # sorted (address, "name [module]")
        # {(start, end, born_s): [died_s or None, what]}
        self.objects = {}
        self.known = {}  # {(func, func): "file:line: why"}, KCSAN races of the base kernel
        self.known_in = {}  # {(func, func): {address class}} where each may be

    def add_known_races(self, path, kernel):
        """The base-kernel KCSAN races of tests/kcsan-known-races.txt that
        apply to this kernel. Returns the file's errors."""
        errors = []
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError as e:
            return ["cannot read %s: %s" % (path, e)]
        for n, l in enumerate(lines, 1):
            w = l.split()
            if not w or w[0].startswith("#"):
                continue
            if len(w) < 5:
                errors.append("%s:%d: want: <function> <function> <kernels> <memory> <why>"
                              % (path, n))
                continue
            classes = set(w[3].split(","))
            if not classes <= set(ADDRESS_CLASSES):
                errors.append("%s:%d: memory %r: want a comma list of %s" % (
                    path, n, w[3], ", ".join(ADDRESS_CLASSES)))
                continue
            if kernel in w[2].split(","):
                key = tuple(sorted(w[:2]))
                self.known[key] = "%s:%d: %s" % (os.path.basename(path), n, " ".join(w[4:]))
                self.known_in[key] = classes
        return errors

    def known_races_unmatchable(self, system_map):
        """The entries for this kernel naming a function its System.map
        does not have (inlined, renamed, a clone suffix the compiler chose
        otherwise): such an entry can never match a report, and the race it
        was for would fail the run as ours. Returns one error per name."""
        try:
            with open(system_map) as f:
                names = {w[2] for w in (l.split() for l in f)
                         if len(w) >= 3 and w[1] in "tTwW"}
        except OSError as e:
            return ["cannot read %s: %s (rebuild the kernel: remove its directory from "
                    "the cache)" % (system_map, e)]
        errors = []
        line = lambda entry: int(entry.split(": ", 1)[0].rsplit(":", 1)[1])
        for key, entry in sorted(self.known.items(), key=lambda kv: line(kv[1])):
            for fn in key:
                if fn != "-" and fn not in names:
                    errors.append("%s: %s is no function of this kernel (%s): the entry can "
                                  "never match; name the function KCSAN names in its report "
                                  "(System.map has it), or remove the entry"
                                  % (entry.split(": ", 1)[0], fn, system_map))
        return errors

    def known_race(self, header, accesses):
        """The known-races entry that calls this KCSAN report the base
        kernel's: its two functions listed for this kernel, and every
        racing address in memory of the kind the entry names. None if
        there is none."""
        pair = kcsan_pair(header)
        if pair not in self.known:
            return None
        if not accesses or any(address_class(a) not in self.known_in[pair]
                               for a, _ in accesses):
            return None
        return self.known[pair]

    def add_symbols(self, lines):
        """Lines of /proc/kallsyms for our modules: "addr type name [mod]"."""
        for l in lines:
            w = l.split()
            if len(w) >= 3 and w[1] in "tTwW":
                try:
                    a = int(w[0], 16)
                except ValueError:
                    continue
                if a:
                    name = w[2] + (" " + w[3] if len(w) > 3 else "")
                    self.syms.append((a, name))
        self.syms.sort()

    def add_objects(self, lines, read_at=None):
        """One read of the module's objects file (docs/testing.md), made at
        read_at (seconds of guest uptime; None: unknown). Every read is kept:
        an object seen alive earlier and absent from this read (freed and
        fallen out of the history, or of a module instance since unloaded)
        died before read_at. Returns what the read says of itself:
        {"header": the first line, "entries": n, "dropped": n, "untracked": n,
        "freed": {keys of the freed objects it lists}, "keys": {every key}};
        a count the read does not state is None, not 0."""
        info = {"header": None, "entries": 0, "dropped": None, "untracked": None,
                "freed": set()}
        seen = set()
        for l in lines:
            w = l.split()
            if not w:
                continue
            if l.startswith("#"):
                if info["header"] is None and info["entries"] == 0:
                    info["header"] = l.strip()
                if len(w) == 3 and w[1] in ("dropped", "untracked") and w[2].isdigit():
                    info[w[1]] = int(w[2])
                continue
            if len(w) < 5:
                continue
            try:
                start, end = int(w[0], 16), int(w[1], 16)
                born = int(w[2]) / 1e9
                died = None if w[3] == "-" else int(w[3]) / 1e9
            except ValueError:
                continue
            info["entries"] += 1
            key = (start, end, born)
            seen.add(key)
            if died is not None:
                info["freed"].add(key)
            old = self.objects.get(key)
            if old is None or old[0] is None:
                self.objects[key] = [died, " ".join(w[4:])]
        info["keys"] = seen
        if read_at is not None:
            for key, obj in self.objects.items():
                if obj[0] is None and key not in seen and key[2] <= read_at:
                    obj[0] = read_at
        return info

    def module_gone(self, at):
        """The module was unloaded by `at` (seconds of guest uptime): every
        object still alive at its last read died by then."""
        for key, obj in self.objects.items():
            if obj[0] is None and key[2] <= at:
                obj[0] = at

    def name(self, addr):
        """Our symbol at addr ("func+0x12 [module]"), or None."""
        i = bisect.bisect_right(self.syms, (addr, "\uffff")) - 1
        if i < 0 or addr - self.syms[i][0] > 0x10000:
            return None
        name, _, mod = self.syms[i][1].partition(" ")
        return "%s+0x%x%s" % (name, addr - self.syms[i][0], " " + mod if mod else "")

    def object_at(self, addr, when):
        """Our object that held addr at time `when` (seconds of guest
        uptime; None: at any time), described, or None. KCSAN prints a
        report after the race: a second's grace after the object's end."""
        for (start, end, born), (died, what) in self.objects.items():
            if start <= addr < end and (when is None or (
                    born <= when and (died is None or when <= died + 1.0))):
                return "%s [0x%x-0x%x)" % (what, start, end)
        return None


# Where an address lies in x86_64's kernel address space (4-level paging,
# no KASLR of the memory map: the guests boot with nokaslr): what a
# known-races entry may excuse. A race the entry names by its functions on
# memory of another kind is not the race the entry's evidence is about.
ADDRESS_CLASSES = {
    "heap": [(0xffff888000000000, 0xffffc88000000000)],  # the direct map: slab, pages
    "stack": [(0xffffc90000000000, 0xffffe90000000000)],  # vmalloc: VMAP_STACK stacks
    "page": [(0xffffea0000000000, 0xffffeb0000000000)],  # vmemmap: struct page
    "kernel": [(0xffffffff80000000, 0xffffffffa0000000)],  # the kernel image's data
}


def address_class(addr):
    for name, ranges in ADDRESS_CLASSES.items():
        if any(lo <= addr < hi for lo, hi in ranges):
            return name
    return None


def in_module_area(addr):
    return MODULE_AREA[0] <= addr < MODULE_AREA[1]


def frame_is_ours(frame):
    """Whether one frame ("func+0x../0x.. [mod]" or a bare address) is ours."""
    if OURS_RE.search(frame):
        return True
    if frame.startswith("0x"):
        return in_module_area(int(frame, 16))
    return False


def frames_of(line):
    return FRAME_RE.findall(line)


# Task names say who ran, not whose code: our CLI is named mpmcring.
TASK_NAME_RE = re.compile(r"\bComm: \S+|\btask:\S+|\bby task \S+|^\s*Hardware name:.*")


def first_ours(lines, own=None):
    """Our first frame in lines (the "Modules linked in:" list and task
    names aside), named where we can; None when no line is ours."""
    for l in lines:
        if l.lstrip().startswith("Modules linked in:"):
            continue
        l = TASK_NAME_RE.sub("", l)
        for f in frames_of(l):
            if frame_is_ours(f):
                if f.startswith("0x") and own is not None:
                    return own.name(int(f, 16)) or f + " (in our module area)"
                return f
        if OURS_RE.search(l):
            return l.strip()[:120]
    return None


def kcsan_accesses(block):
    """The accesses of a KCSAN report: (address, [frames]) each."""
    out = []
    cur = None
    for l in block[1:]:
        s = l.strip()
        m = KCSAN_ACCESS_RE.match(s)
        if m:
            cur = (int(m.group(1), 16), [])
            out.append(cur)
            continue
        if cur is None:
            continue
        if not s:
            cur = None
            continue
        cur[1].extend(frames_of(" " + s))
    return out


# "data-race in f / g", or "data-race in f+0x6e/0x104" for a race at
# unknown origin (KCSAN saw the value change, not the other access).
KCSAN_PAIR_RE = re.compile(r".*BUG: KCSAN: data-race in (\S+?)(?:\+0x[0-9a-f]+/0x[0-9a-f]+)?"
                           r"(?: / (\S+))?\s*$")


def kcsan_pair(header):
    """The key of tests/kcsan-known-races.txt for a KCSAN header: its two
    functions sorted, "-" for the other side of a race at unknown origin;
    None when the header is not of that form."""
    m = KCSAN_PAIR_RE.match(header)
    return tuple(sorted((m.group(1), m.group(2) or "-"))) if m else None


def kcsan_ours(block, when, own):
    """Why a KCSAN report is ours, or None when it is the base kernel's.

    Ours when our function is in its header; when our code is among the
    first KCSAN_OUR_DEPTH frames of either access's stack, generic helpers
    (memcpy, copy_to_user...) not counted: our code made the access or
    called the helper that did (`__list_add_valid` from `mpmcring_create`);
    when the racing address is in our module's static data; or when it lies
    in one of our objects while it was alive. A race between two
    base-kernel functions that our code called from further away (poll and
    hrtimer paths our wakeups pass through) is the base kernel's: a note,
    not a failure. So is a race tests/kcsan-known-races.txt names by its
    two functions, with the reason it is the base kernel's own (6.1's
    plain read of page->page_type in vm_insert_pages(), which our mmap
    calls), unless its address is ours."""
    if OURS_RE.search(block[0]):
        return "its header names our function"
    accesses = kcsan_accesses(block)
    for addr, _ in accesses:
        if in_module_area(addr):
            return "address 0x%x is in our module's data%s" % (
                addr, " (%s)" % own.name(addr) if own and own.name(addr) else "")
        obj = own.object_at(addr, when) if own else None
        if obj:
            return "address 0x%x is in our %s" % (addr, obj)
    if own and own.known_race(block[0], accesses):
        return None  # a known base-kernel race (tests/kcsan-known-races.txt)
    for addr, frames in accesses:
        depth = 0
        for f in frames:
            if KCSAN_HELPER_RE.match(f):
                continue
            depth += 1
            if depth > KCSAN_OUR_DEPTH:
                break
            if frame_is_ours(f):
                name = own.name(int(f, 16)) if f.startswith("0x") and own else None
                return "%s (frame %d of an access)" % (name or f, depth)
    return None


def report_ours(block, when=None, own=None):
    """Why a report is ours (a short text), or None.

    A KCSAN report: see kcsan_ours(). Every other report is ours when any
    line of it (the "Modules linked in:" list aside) shows our code: a
    frame of our modules, named or only an address in the module area."""
    if "BUG: KCSAN" in block[0]:
        return kcsan_ours(block, when, own)
    where = first_ours(block, own)
    if where is None and FATAL_RE.search(block[0]):
        return "a crash of the guest's kernel fails whatever it names"
    return where


class Report:
    def __init__(self, header, block, when, where, known=None, cut=False):
        self.header = header
        self.block = block
        self.when = when  # seconds of guest uptime, or None
        self.where = where  # why it is ours; None: the base kernel's
        self.known = known  # the known-races entry that calls it the base kernel's
        self.cut = cut  # its block reached MAX_REPORT_LINES before its end

    @property
    def ours(self):
        return self.where is not None

    def line(self):
        return self.header + ("  [at %s]" % self.where if self.where else "")


# How a report's trace ends: a WARN's end-trace line (right after its
# "</TASK>"), or the "</TASK>" of the one stack a report prints.
END_TRACE = "---[ end trace"
# A hung task's report goes on after its stack with the locks every task
# holds (the holder of the lock it waits for may be ours), up to a line
# of '='.
LOCKS_HELD_RE = re.compile(r"Showing all locks held in the system")


# One-line reports: no trace follows them (a user program's fault, an NMI
# nobody claimed).
# printk's line when its buffer overran before a console printed them (6.1
# and 6.12, legacy and nbcon consoles alike): the lines it stands for are
# lost, reports among them.
DROPPED_RE = re.compile(r"\*\* \d+ printk messages dropped \*\*")
ONE_LINE_RE = re.compile(r"^traps: |NMI received for unknown reason|Uhhuh\. NMI")


def is_header(line):
    return REPORT_RE.search(line) is not None


def opens_box(lines, k):
    """Whether lines[k] is the separator that opens a boxed report (KASAN,
    KCSAN, UBSAN) or the boxed report's header itself."""
    if BOXED_RE.search(lines[k]):
        return True
    return (SEPARATOR_RE.match(lines[k]) is not None and k + 1 < len(lines)
            and BOXED_RE.search(lines[k + 1]) is not None)


def box_end(lines, i):
    """Where the box whose header is lines[i] ends (the index after its
    closing separator). A separator right before the header of a report
    that opens with one (another box, lockdep's) opens that report and
    does not close this one; other reports printed inside the box do not
    end it either."""
    j = i + 1
    while j < len(lines) and j - i < MAX_REPORT_LINES:
        if SEPARATOR_RE.match(lines[j]) and not (
                j + 1 < len(lines) and (BOXED_RE.search(lines[j + 1]) or
                                        LOCKDEP_REPORT_RE.search(lines[j + 1]))):
            return j + 1
        j += 1
    return j


def locks_held_end(lines, j):
    """After a hung task's stack (lines[j] on): khungtaskd reports every
    hung task, then lists the locks every task holds, once, up to a line
    of '='. Returns the end of that list when it follows (past the other
    hung tasks' reports only), else j."""
    k = j
    while k < len(lines) and k - j < 5 * MAX_REPORT_LINES:
        if LOCKS_HELD_RE.search(lines[k]):
            while k < len(lines) and k - j < 5 * MAX_REPORT_LINES:
                k += 1
                if SEPARATOR_RE.match(lines[k - 1]):
                    return k
            return k
        if is_header(lines[k]) and "INFO: task" not in lines[k]:
            return j
        k += 1
    return j


def trace_end(lines, i, others_open=0):
    """Where the unboxed report whose header is lines[i] ends.

    With two CPUs, lines of reports printed at once interleave (each
    printk is whole, nothing says which CPU printed it: our kernels have no
    CONFIG_PRINTK_CALLER). So that no report loses its own lines to another
    one, a report runs on through any other report that starts inside it:
    through a boxed report whole, and past another unboxed header until as
    many traces have ended as reports were open (others_open: the reports
    printed before this one whose traces had not ended at its header).
    Lines that might belong to either report are judged with both: the
    fail-closed side."""
    open_reports = 1 + others_open
    hung = "INFO: task" in lines[i]
    j = i + 1
    while j < len(lines) and j - i < MAX_REPORT_LINES:
        l = lines[j]
        if opens_box(lines, j):
            j = box_end(lines, j + (0 if BOXED_RE.search(l) else 1))
            continue
        if is_header(l) and not CONTINUES_RE.search(l):
            open_reports += 1
        j += 1
        if END_TRACE in l or l.strip() == "</TASK>":
            if j < len(lines) and END_TRACE in lines[j]:
                j += 1  # a WARN's "</TASK>" and its end-trace line: one end
            if hung:
                j = locks_held_end(lines, j)
            open_reports -= 1
            if open_reports == 0:
                break
    return j


def scan_reports(console_lines, own=None):
    """Kernel reports in a console log, in order: a list of Report.

    Every report header starts a report, also one printed inside another
    report (another CPU's): the blocks of reports printed at once overlap,
    and each report is judged with its whole block."""
    stamps = [stamp_of(l) for l in console_lines]
    lines = [strip_stamp(l) for l in console_lines]
    reports = []
    ends = []  # where each unboxed report's block ends
    for i, l in enumerate(lines):
        if not is_header(l):
            continue
        if CONTINUES_RE.search(l) and any(e > i for e in ends) and not BOXED_RE.search(l):
            continue  # "possible circular locking..." under lockdep's WARNING line
        if BOXED_RE.search(l):
            # KASAN, KCSAN and UBSAN put their reports between two lines
            # of '=' (printed or not right above the header: another CPU's
            # line may come between).
            j = box_end(lines, i)
            block = lines[i:j]
            if len(block) > 1 and SEPARATOR_RE.match(block[-1]):
                block = block[:-1]
        else:
            j = i + 1 if ONE_LINE_RE.search(l) else trace_end(
                lines, i, sum(1 for e in ends if e > i))
            block = lines[i:j]
            ends.append(j)
        # Reached the limit before its end: said in its note, since a frame
        # of ours past the limit went unjudged.
        cut = len(block) >= MAX_REPORT_LINES
        where = report_ours(block, stamps[i], own)
        known = None
        if own and not where and "BUG: KCSAN" in l:
            known = own.known_race(l, kcsan_accesses(block))
        reports.append(Report(l.strip(), block, stamps[i], where, known, cut))
    return reports


# ---------------------------------------------------------------- kmemleak

LEAK_RE = re.compile(r"^unreferenced object (0x[0-9a-f]+) \(size (\d+)\):")
ALLOCATOR_RE = re.compile(r"_{0,2}(?:kmemleak_|kmem_cache_alloc|kmalloc|kzalloc|kcalloc|"
                          r"krealloc|kmemdup|kstrdup|kvmalloc|kvzalloc|vmalloc|vzalloc|"
                          r"alloc_pages|slab_|kmem_cache_|do_kmalloc|__vmalloc)")


def scan_leaks(lines, own=None):
    """kmemleak's list (/sys/kernel/debug/kmemleak): a Report per object,
    ours when its allocation's backtrace passes through our code."""
    leaks = []
    cur = None
    for l in lines:
        m = LEAK_RE.match(l.strip())
        if m:
            cur = [l.strip()]
            leaks.append(cur)
        elif cur is not None:
            cur.append(l.rstrip())
    out = []
    for block in leaks:
        bt = []
        seen = False
        for l in block:
            if l.strip().startswith("backtrace"):
                seen = True
            elif seen:
                bt.append(l)
        where = first_ours(bt, own)
        # The allocator's own frames say nothing: name the first frame of
        # the code that asked for the memory.
        caller = next((f for l in bt for f in frames_of(l)
                       if not ALLOCATOR_RE.match(f)), None)
        if caller and caller.startswith("0x") and own is not None:
            caller = own.name(int(caller, 16)) or caller
        header = block[0] + (" from %s" % caller if caller else "")
        out.append(Report(header, block, None, where))
    return out


# ---------------------------------------------------------------- lockdep

# Reports after which the kernel taints itself LOCKDEP_NOW_UNRELIABLE.
UNRELIABLE_RE = re.compile(r"BUG: KASAN|kernel BUG at|\bOops\b|general protection fault|"
                           r"BUG: unable to handle|Bad page|BUG: Bad rss")


def lockdep_off_cause(console_lines, reports):
    """Why lockdep may have turned itself off: the first lockdep report or
    lockdep message, else the first report that taints the kernel as
    unreliable for lockdep (KASAN, BUG, Oops), else None."""
    for l in console_lines:
        s = strip_stamp(l)
        if LOCKDEP_REPORT_RE.search(s):
            return s.strip()
    for r in reports:
        if UNRELIABLE_RE.search(r.header):
            return r.header
    return None
