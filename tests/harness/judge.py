# SPDX-License-Identifier: GPL-2.0-only
"""Turning what a finished guest left (its results port and its console)
into results:

  <k>/insmod/<module>, <k>/rmmod/<module>, <k>/rmmod
  <k>/kunit/<suite>/<case>    (and <k>/kunit/<suite> when the document is bad)
  <k>/vm/<prog>/<test>        (and <k>/vm/<prog> when the program is)
  <k>/boot                    the guest ran to its end in time
  <k>/reports                 no console report names our code
  <k>/lockdep                 lockdep still on at the end (lockdep kernels)
  <k>/leaks                   kmemleak finds no leak of ours (kmemleak kernels)
  <k>/objects                 the module listed its objects (KCSAN kernels)
  <k>/taint                   the kernel took no W, B or D taint during the run
"""
import os
import re
import signal

from common import (ALL_KERNELS, GUEST_CPUS, KCSAN_KERNELS, LOGS, R, REPO, TEST_KERNELS, excerpt,
                    host_tsc_khz, progress, read_lines, rel, say_line, tail)
from boot import GUEST_CPU, boot_timeout, vm_timeout
from marker_token import GUEST_PATH, TOKEN_FILE, read_token
from parse import console_kunit_cases, kunit_case_logs, parse_results, tap_level, tap_problems
from reports import (DROPPED_RE, MAX_REPORT_LINES, Ownership, lockdep_off_cause, scan_leaks,
                     scan_reports)

# Base-kernel reports seen, per kernel: the summary counts them.
NOTES = {}
KNOWN_RACES = os.path.join(REPO, "tests", "kcsan-known-races.txt")


def step_end(sec):
    """How a guest's step ended, for a failure message."""
    if sec["rc"] is None:
        return "did not finish: the guest stopped in it"
    return "failed (exit status %d)" % sec["rc"]


def exit_meaning(rc):
    """What a shell exit status says about how a program ended."""
    if rc == 126:
        return "could not be run (exit status 126: not executable?)"
    if rc == 127:
        return "could not be run (exit status 127: not found)"
    if rc > 128:
        try:
            name = signal.Signals(rc - 128).name
        except ValueError:
            name = "?"
        return "killed by signal %d (%s)" % (rc - 128, name)
    return "exited with status %d" % rc


def forged_problem(lines):
    """A step's output held results-port framing without this boot's
    token: its END, its results, or the guest's DONE could be forged."""
    return ("forged framing: %d line(s) look like results-port markers but lack this "
            "boot's token (tests/harness/marker_token.py), first: %s" % (
                len(lines), lines[0][:120]))


def token_lost(kid, token, info, sections, done, stray):
    """Why no line of the results port counted as init's, when none did
    though marker-like lines are there: the token did not reach init, or
    the runner has none (marker_token.py). None when some marker carried
    this boot's token (then untokened framing is forged), or when the port
    holds no marker-like line at all (init never wrote: <k>/boot's other
    causes). Either way the guest fails: this says which side to look at
    rather than blaming init or the programs."""
    if info or sections or done or not stray:
        return None
    why = token_lost_why(kid, token, stray)
    return why + "; " + untokened_end(stray)


def untokened_end(stray):
    """Whether the untokened markers (init's own when the token is lost)
    reach init's DONE, framed as parse_results frames tokened ones: a token
    loss plus a panic must not read as a token problem only."""
    open_sec, done = None, False
    for l in stray:
        words = re.sub(r" tok=\S*$", "", l).split()
        kind = words[1] if len(words) > 1 else ""
        if kind == "BEGIN" and len(words) > 3:
            open_sec, done = words[2:4], False
        elif kind == "END" and open_sec is not None and words[2:4] == open_sec:
            open_sec = None
        elif kind == "DONE" and open_sec is None:
            done = True
    if done:
        return "the untokened markers reach init's DONE: the guest otherwise ran to its end"
    why = "the untokened markers have no DONE either: the guest did not reach its end"
    if open_sec is not None:
        why += " (last untokened BEGIN without its END: %s)" % " ".join(open_sec)
    return why


def token_lost_why(kid, token, stray):
    """token_lost()'s diagnosis: which side lost the token."""
    where = rel(os.path.join(LOGS, kid, TOKEN_FILE))
    if not token:
        return ("no token for this boot (%s missing or empty): none of the %d marker "
                "line(s) on the results port can count as init's; the runner writes it "
                "before the boot (boot.py)" % (where, len(stray)))
    if any(l.split()[1:3] == ["INFO", "token=missing"] for l in stray):
        return ("init found no /%s, so none of its %d marker line(s) carries this boot's "
                "token: the token's archive in front of the initramfs was not unpacked (check "
                "that this kernel unpacks concatenated initramfs archives, and "
                "marker_token.py's token_cpio(): test_marker_token.py)" % (
                    GUEST_PATH, len(stray)))
    if any(l.split()[1:3] == ["INFO", "token=empty"] for l in stray):
        return ("init found /%s empty, so none of its %d marker line(s) carries this boot's "
                "token: the archive was unpacked but the file had no token in it (check "
                "marker_token.py's token_cpio(): test_marker_token.py)" % (
                    GUEST_PATH, len(stray)))
    others = sorted({m.group(1) for m in (re.search(r" tok=(\S+)$", l) for l in stray) if m})
    if others:
        return ("init's markers carry another token (%s) than this boot's (%s, in %s): "
                "the token file was rewritten during the boot, or these logs are of "
                "another boot" % (", ".join("tok=" + t for t in others[:3]), token, where))
    return ("no marker carries a token: none of the %d marker line(s) has one, and init "
            "did not say its token file was missing (an init.sh without the token?)" %
            len(stray))


def judge_kunit(kid, sec, console, logs, release=None):
    """<k>/kunit/<suite>/<case> from the suite's debugfs results, split
    into its cases' logs by parse.kunit_case_logs(). A case whose log was
    cut (6.1 keeps 511 bytes of it), or whose result line is not surely
    its own (one a case's output could have printed), fails, and says
    why. Lines the runner cannot give to a case are shown as no case's and
    fail the suite; the cases from there on take their results from the
    console (as before the split), the suite failing all the same.
    release: the guest's kernel (init.sh's INFO kernel), which says how
    much of a log KUnit keeps."""
    suite = sec["name"]
    base = "%s/kunit/%s" % (kid, suite)
    lines = sec["lines"]
    problems = [forged_problem(sec["forged"])] if sec["forged"] else []
    if sec["rc"] is None:
        problems.append("results were cut off (the guest died)")
    elif sec["rc"] != 0:
        problems.append("reading the results failed (rc=%d)" % sec["rc"])
    doc = kunit_case_logs(lines, suite, release, sec.get("odd_breaks", False))
    level, plan = doc["level"], doc["plan"]
    if level is None:
        R.add(base, "fail", "no KTAP suite header in the results\n" + excerpt("\n".join(lines)),
              logs)
        return
    _, _, bail = tap_level(lines, level)
    top_plan, top, _ = tap_level(lines, 0)
    fallback = []

    def from_console(num):
        if not fallback:
            fallback.append(console_kunit_cases(console, suite))
        return fallback[0].get(num)

    results = []
    for c in doc["cases"]:
        results.append(c)
        name = "%s/%s" % (base, c["name"] or "#%d" % c["num"])
        if c["why"]:
            # The split could not be trusted for this case (a cut log, a
            # forged or doubtful result line): a fail, never from the
            # console, whose lines anything in the guest can write.
            what = "the bytes kept" if c["cut"] else "its log"
            R.add(name, "fail", "%s\n%s:\n%s" % (c["why"], what, excerpt(c["detail"])), logs)
            continue
        detail = c["detail"] if c["status"] == "fail" else c["directive"]
        R.add(name, c["status"], excerpt(detail), logs)
    lost = doc["unattributed"]
    if lost:
        problems.append("the debugfs results cannot be split into the cases' logs from case %d "
                        "on: %s; these lines belong to no case the runner can name:\n%s" % (
                            lost["num"], lost["why"], excerpt(lost["text"], 20)))
        for num in range(lost["num"], plan + 1):
            r = from_console(num)
            if r:
                results.append(r)
                R.add("%s/%s" % (base, r["name"] or "#%d" % num), r["status"],
                      "(from the console: the debugfs log could not be split by case)\n" +
                      excerpt(r["detail"] if r["status"] == "fail" else r["directive"]), logs)
            else:
                problems.append("case %d of %d has no result" % (num, plan))
    if plan is None:
        problems.append("no plan")
    _, extra, _ = tap_level(doc["rest"], level)
    if extra:
        problems.append("%d result(s) after the last of the plan's %d cases, first: %s" % (
            len(extra), plan, extra[0]["name"]))
    if bail:
        problems.append(bail)
    if not top or top[-1]["status"] == "fail":
        if not problems and not any(r["status"] == "fail" for r in results):
            problems.append("the suite failed without a failed case%s" % (
                "" if top else " (no suite result)"))
    if problems:
        R.add(base, "fail", "; ".join(problems) + "\n" + excerpt("\n".join(lines), 40), logs)


def judge_vm(kid, sec, logs):
    prog = sec["name"]
    base = "%s/vm/%s" % (kid, prog)
    lines = sec["lines"]
    plan, results, bail = tap_level(lines, 0)
    # kselftest_harness.h (6.1) prints "ok N # SKIP reason" with no name:
    # take it from the "#  RUN  name ..." line before.
    for r in results:
        if not r["name"]:
            m = None
            for l in r["detail"].splitlines():
                m = re.match(r"^#\s+RUN\s+(\S+)", l.strip()) or m
            r["name"] = m.group(1) if m else "#%d" % r["num"]
    failed = False
    for r in results:
        detail = r["detail"] if r["status"] == "fail" else r["directive"]
        R.add("%s/%s" % (base, r["name"]), r["status"], excerpt(detail), logs)
        failed |= r["status"] == "fail"
    problems = [forged_problem(sec["forged"])] if sec["forged"] else []
    rc = sec["rc"]
    if rc is None:
        problems.append("did not finish (the guest died or hung here)")
    elif rc in (124, 137, 143):
        problems.append("timed out (rc=%d)" % rc)
    problems += tap_problems(plan, results, bail)
    skipped_all = plan == 0 and rc == 4
    if skipped_all and not problems:
        # kselftest's "1..0 # SKIP <why>" (exit 4): the program skipped as
        # a whole; a skip like any other, allowed by an inventory skip line
        # naming vm/<prog> or failed as unexpected.
        why = next((l.split("# SKIP", 1)[1].strip() for l in lines if "# SKIP" in l), "")
        R.add(base, "skip", why or "the program skipped all its tests (1..0, exit 4)", logs)
    if rc not in (None, 0, 124, 137, 143) and not failed and not skipped_all:
        problems.append(exit_meaning(rc))
    elif rc is not None and rc > 128 and rc not in (137, 143):
        problems.append(exit_meaning(rc))
    if problems:
        R.add(base, "fail", "; ".join(problems) + "\n" + excerpt(tail("\n".join(lines), 30)), logs)


def judge_boot(kid, status, secs, where, sections, done, forged, console, logs, lost=None):
    """<k>/boot: did the guest get to its end, framed by init.sh alone?
    forged: marker-like lines without the token outside the programs'
    and suites' sections (those fail as their own). lost: token_lost()'s
    finding, when not one marker carried the token (then those lines are
    init's own, not forged)."""
    logdir = os.path.join(LOGS, kid)
    if status == "ok" and done and not forged:
        R.add("%s/boot" % kid, "pass")
        return
    if status == "ok" and done:
        R.add("%s/boot" % kid, "fail", forged_problem(forged) + "\n" + "\n".join(forged[:10]),
              logs)
        return
    if status in ("timeout", "stuck-boot"):
        why = ("the guest did not finish within %ds (MPMCRING_VM_TIMEOUT)" % vm_timeout(kid)
               if status == "timeout" else
               "the kernel did not start init within %ds (MPMCRING_BOOT_TIMEOUT)" %
               boot_timeout())
        if where:
            why += "; when stopped: " + ", ".join(where) + " (registers: %s)" % rel(
                os.path.join(logdir, "hang-registers.txt"))
    elif status != "ok":
        why = "qemu failed (%s): see %s" % (status, rel(os.path.join(logdir, "qemu.log")))
    elif lost:
        why = lost
    else:
        why = "the guest stopped before the end (panic or init died)"
    if lost and not why.startswith(lost):
        why += "; " + lost
    open_secs = [s for s in sections if s["rc"] is None]
    if open_secs:
        why += "; it was in: %s %s" % (open_secs[-1]["kind"], open_secs[-1]["name"])
    if forged and not lost:
        why += "; and " + forged_problem(forged)
    R.add("%s/boot" % kid, "fail", why + "\nconsole tail:\n" + tail("\n".join(console), 25),
          logs)


# How far a guest's uptime may run ahead of the host's count of its run
# (a TSC calibrated a little off under TCG runs a little fast): a quarter
# and a minute; a jumped clock is hours ahead.
CLOCK_SLACK = 60


def clock_jump(secs, sections):
    """Where a guest's clock ran ahead of the host's: the first step that
    began or ended at an uptime past the host's seconds of running the
    guest, as (step, "t0" or "t1", uptime), or None. Likely its TSC
    jumped with the host's: the guests trust it (tsc=reliable), and a host
    whose own TSC is unstable can jump hours."""
    if secs is None:
        return None
    limit = secs * 1.25 + CLOCK_SLACK
    for sec in sections:
        for key in ("t0", "t1"):
            t = sec.get(key)
            if t is not None and t > limit:
                return sec, key, t
    return None


# A guest's TSC rate as its kernel took it (at boot, then refined when
# it was measured), and what the PIT/HPET check beside it said (the x86
# kernel's own lines, arch/x86/kernel/tsc.c).
TSC_RATE_RE = re.compile(r"\btsc: (?:Detected|Refined TSC clocksource calibration:) "
                         r"([0-9]+\.[0-9]+) MHz")
TSC_PIT_HPET_RE = re.compile(r"\btsc: PIT calibration deviates from (?:HPET|PMTIMER): "
                             r"([0-9]+) ([0-9]+)")
# How far off a guest's TSC rate may be before its clock is named: a
# tenth (a timeout a tenth short is still a timeout's worth).
TSC_SLACK = 0.10


def tsc_miscalibrated(console, host_khz=None):
    """Where a guest took its TSC rate wrong, as (guest kHz, right kHz,
    what said so), or None. Right is the host's rate when its kernel knows
    it exactly (under TCG the guest's TSC is the host's), else the guest's
    own HPET reading when it fell back to the PIT. A guest that takes its
    TSC for slower than it is runs its clock that much fast (tsc=reliable
    keeps it), and every timeout in it short by as much (the debug and
    stock-6.1 guests of 2026-12-06: 973 and 410 MHz for 2596)."""
    guest = hpet = None
    for line in console:
        m = TSC_RATE_RE.search(line)
        if m:
            guest = int(round(float(m.group(1)) * 1000))
        m = TSC_PIT_HPET_RE.search(line)
        if m and hpet is None:
            hpet = int(m.group(2))
    if not guest:
        return None
    right, said = host_khz, "the host's kernel"
    if not right:
        right, said = hpet, "the guest's HPET (or PM timer)"
    if not right or abs(guest - right) <= right * TSC_SLACK:
        return None
    return guest, right, said


# Per guest, the clock notes (printed again in the summary).
CLOCK_NOTES = {}


def note_clock_jump(kid, secs, sections, console=(), host_khz=None):
    """A note, not a verdict: the failures stand, for a rerun to settle;
    timeouts from the jump on (the test harnesses' alarms, soft lockups
    of thousands of seconds) are likely the jump's. A guest that took its
    TSC rate wrong is named whether or not its clock ran past the host's
    count: its timeouts were short all along."""
    found = clock_jump(secs, sections)
    wrong = tsc_miscalibrated(console, host_khz)
    if not found and not wrong:
        return
    cause = ("likely the host's TSC: the guests trust theirs, tsc=reliable")
    if wrong:
        guest, right, said = wrong
        if guest < right:
            how = ("%.1f times as fast as the host's, every timeout in it as much shorter"
                   % (right / float(guest)))
        else:
            how = ("%.1f times as slow as the host's, every timeout in it as much longer"
                   % (guest / float(right)))
        cause = ("the guest took its TSC for %.1f MHz where %s says %.1f: its clock ran %s"
                 % (guest / 1000.0, said, right / 1000.0, how))
    if found:
        sec, key, t = found
        where = ("before %s %s began (at uptime %.0f s)" if key == "t0" else
                 "during %s %s (it ended at uptime %.0f s)") % (sec["kind"], sec["name"], t)
        line = ("note: %s: the guest's clock jumped %s, though the host ran the guest for %d s "
                "in all: timeouts from there on may be the jump's, not the tests' (%s); a rerun "
                "settles it" % (kid, where, secs, cause))
    else:
        line = "note: %s: %s; a rerun settles it" % (kid, cause)
    CLOCK_NOTES[kid] = line
    say_line(line)


def note_theirs(kid, what, theirs):
    """Base-kernel reports: counted, printed as notes, never failures."""
    if not theirs:
        return
    NOTES.setdefault(kid, []).extend(r.header for r in theirs)
    heads = {}
    for r in theirs:
        # Counted by kind: an object's address says nothing here.
        h = re.sub(r"0x[0-9a-f]{8,}", "0x...", r.header[:200])
        h += " (known: %s)" % r.known if r.known else ""
        h += " (cut at %d lines: the rest was not judged)" % MAX_REPORT_LINES if r.cut else ""
        heads[h] = heads.get(h, 0) + 1
    say_line("note: %s: %d %s that do not name our code (not failures):" %
             (kid, len(theirs), what))
    for h, n in list(heads.items())[:8]:
        say_line("note:   %dx %s" % (n, h))


# The test kernels' System.map, by kernel id (run.py fills it): the
# known-races entries are checked against the functions the kernel has.
SYSTEM_MAPS = {}


def judge_reports(kid, console, own, console_log):
    """<k>/reports: kernel reports on the console; ours fail, the base
    kernel's are counted notes. Returns every report."""
    errors = own.add_known_races(KNOWN_RACES, kid)
    if kid in SYSTEM_MAPS:
        errors += own.known_races_unmatchable(SYSTEM_MAPS[kid])
    reports = scan_reports(console, own)
    ours = [r for r in reports if r.ours]
    text = ""
    if ours:
        # One line per distinct report (a race repeats), first seen first.
        lines = {}
        for r in ours:
            lines[r.line()] = lines.get(r.line(), 0) + 1
        # The first line is the FAIL line's headline: name the first one.
        text = "%d report(s) name mpmcring code, first: %s\n" % (len(ours), ours[0].line())
        text += "\n".join("  ours: %s%s" % (l, "  (%d times)" % n if n > 1 else "")
                          for l, n in list(lines.items())[:40])
        if len(lines) > 40:
            text += "\n  ... and %d more distinct report(s): see the console log" % (
                len(lines) - 40)
        for r in ours[:3]:
            text += "\n---- %s\n%s" % (r.header, excerpt("\n".join(r.block), 40))
    # The console lost lines (printk's ring overran): a report of ours may
    # be among them, unjudged. Fails closed (after any report of ours,
    # whose line heads the failure).
    dropped = [m.group(0) for m in (DROPPED_RE.search(l) for l in console) if m]
    if dropped:
        text += "%sthe console lost lines (%s%s): a report of our code may be among them" % (
            "\n" if text else "", dropped[0],
            ", and %d more such line(s)" % (len(dropped) - 1) if len(dropped) > 1 else "")
    if errors:
        # Both: a broken list must not hide the reports that are ours.
        text = "\n".join(errors) + ("\n" + text if text else "")
    if text:
        R.add("%s/reports" % kid, "fail", text,
              [console_log] + ([KNOWN_RACES] if errors else []))
    else:
        R.add("%s/reports" % kid, "pass")
    note_theirs(kid, "kernel report(s)", [r for r in reports if not r.ours])
    note_known_races(kid, own, reports)
    return reports


def note_known_races(kid, own, reports):
    """How often each entry of tests/kcsan-known-races.txt for this kernel
    excused a report, and which excused none: an entry that matches
    nothing run after run is a stale excuse to remove (races come and go
    from run to run, so one run without it is a note, not a failure)."""
    if not own.known:
        return
    used = {}
    for r in reports:
        if r.known:
            used[r.known] = used.get(r.known, 0) + 1
    where = lambda entry: entry.split(": ", 1)[0]
    say_line("note: %s: known races (tests/kcsan-known-races.txt) matched: %s" % (
        kid, ", ".join("%s %dx" % (where(e), n) for e, n in sorted(used.items())) or "none"))
    unused = sorted(where(e) for e in own.known.values() if e not in used)
    if unused:
        say_line("note: %s: known races that matched no report in this run: %s" % (
            kid, ", ".join(unused)))


def judge_lockdep(kid, sec, console, reports, logs):
    """<k>/lockdep: lockdep turns itself off after its first report (and
    after KASAN, BUG or Oops): from then on no locking is checked, so the
    run must not look as if it had been."""
    if sec["rc"] == 0:
        R.add("%s/lockdep" % kid, "pass")
        return
    if sec["rc"] is None:
        R.add("%s/lockdep" % kid, "fail", "the guest died while reading lockdep's state", logs)
        return
    cause = lockdep_off_cause(console, reports)
    R.add("%s/lockdep" % kid, "fail",
          "lockdep turned itself off during the run, after: %s; locking after that point "
          "went unchecked\n%s" % (cause or "(no report on the console says why)",
                                   "\n".join(l.strip() for l in sec["lines"])), logs)


# The taint bits init.sh's taint step watches, and what sets each.
TAINTS = ((512, "W", "a WARNING"), (32, "B", "a bad page or a KASAN report"),
          (128, "D", "an Oops or a BUG"))
TAINTED_RE = re.compile(r"tainted: (\d+) at the start, (\d+) at the end$")


def judge_taint(kid, sec, reports, logs):
    """<k>/taint: a WARN, bad page or Oops taints the kernel whoever's code
    it was. The reports step fails those naming our code and notes the
    base kernel's; this one fails on the taint itself, so that a report
    the scan missed, or one the base kernel printed under our tests,
    fails too."""
    if sec["rc"] is None:
        R.add("%s/taint" % kid, "fail", "the guest died while reading its taint", logs)
        return
    m = None
    for line in sec["lines"]:
        m = TAINTED_RE.search(line.strip()) or m
    if m is None:
        R.add("%s/taint" % kid, "fail", "the taint step printed no 'tainted: A at the start, "
              "B at the end' line: the taint is unknown\n%s" % "\n".join(sec["lines"][-5:]),
              logs)
        return
    start, end = int(m.group(1)), int(m.group(2))
    early = ["%s (%s)" % (letter, what) for bit, letter, what in TAINTS if start & bit]
    if early:
        # Set at boot, before our first module: a new one of those is not seen.
        say_line("note: %s: the kernel was tainted %s before our first module: the taint "
                 "step cannot see those again (the console's reports still fail us)" % (
                     kid, ", ".join(early)))
    new = [(letter, what) for bit, letter, what in TAINTS if end & bit and not start & bit]
    if not new and sec["rc"] == 0:
        R.add("%s/taint" % kid, "pass")
        return
    if not new:
        R.add("%s/taint" % kid, "fail", "the taint step failed (rc=%d) with no new taint in "
              "its line: %s" % (sec["rc"], m.group(0)), logs)
        return
    seen = [r.line() for r in reports if not r.known]
    R.add("%s/taint" % kid, "fail",
          "the kernel tainted itself during the run: %s (%s); %s\n%s" % (
              ", ".join("%s (%s)" % nw for nw in new), m.group(0),
              "the console's reports (ours fail as <k>/reports):" if seen else
              "no report on the console says where: see the console log",
              "\n".join("  " + l for l in seen[:20])), logs)


def judge_leaks(kid, sec, console, own, logs):
    """<k>/leaks: kmemleak's scan at the end of the guest, after every
    module was unloaded. Leaks whose allocation passed through our code
    fail; the base kernel's are notes."""
    if sec["rc"] is None:
        R.add("%s/leaks" % kid, "fail", "the guest died during the kmemleak scan", logs)
        return
    if sec["rc"] != 0:
        why = [l for l in (s.strip() for s in console) if "kmemleak" in l.lower()]
        R.add("%s/leaks" % kid, "fail",
              "kmemleak could not scan (rc=%d): leaks go unseen\n%s\n%s" % (
                  sec["rc"], "\n".join(sec["lines"][-5:]), "\n".join(why[-5:])), logs)
        return
    leaks = scan_leaks(sec["lines"], own)
    ours = [r for r in leaks if r.ours]
    if ours:
        text = "kmemleak: %d object(s) leaked by our code:\n" % len(ours)
        text += "\n".join("  ours: " + r.line() for r in ours[:30])
        for r in ours[:2]:
            text += "\n---- %s\n%s" % (r.header, excerpt("\n".join(r.block), 30))
        R.add("%s/leaks" % kid, "fail", text, logs)
    else:
        R.add("%s/leaks" % kid, "pass")
    note_theirs(kid, "kmemleak leak(s)", [r for r in leaks if not r.ours])


def unseen_objects(reads):
    """What `# dropped` says, judged read by read within one module
    instance. An entry leaves the list only when it is reused, counted as
    dropped (kmod/objects.c), so from one read to the next the count must
    grow by at least the listed objects that left the list: less (or a
    count that goes down) is a wrong count. Growing by more means objects
    lived and fell out of the history between two reads, never seen: a
    race on one would be judged without the list. A read per guest
    section keeps this at 0; when it is not, read more often or keep a
    longer history (kmod/objects.c). An object a read listed, alive or
    freed, was seen: the later read ends its life."""
    problems = []
    prev_dropped, prev_keys = 0, set()
    for sec, info in reads:
        if sec["rc"] != 0 or "keys" not in info or info["dropped"] is None:
            continue
        if prev_keys and not prev_keys & info["keys"]:
            # The module was loaded again (lifetime.c): nothing of the old
            # instance is listed, not even its default ring; counts restart.
            prev_dropped, prev_keys = 0, set()
        where = "objects %s" % sec["name"]
        grew = info["dropped"] - prev_dropped
        left = len(prev_keys - info["keys"])
        if grew < 0:
            problems.append("%s: '# dropped' went down from %d to %d within one module "
                            "instance: the count is wrong" % (where, prev_dropped,
                                                              info["dropped"]))
        elif grew < left:
            problems.append("%s: '# dropped' grew by %d but %d listed object(s) left the list "
                            "(an entry leaves it only when reused, counted as dropped): the "
                            "count is wrong" % (where, grew, left))
        elif grew > left:
            problems.append("%s: %d object(s) were freed and dropped from the history since "
                            "the read before, unseen: races on them are judged without the "
                            "list" % (where, grew - left))
        prev_dropped, prev_keys = info["dropped"], info["keys"]
    return problems


def judge_objects(kid, sections, reads, logs):
    """<k>/objects (KCSAN kernels): the module listed its objects, whole,
    so a race on one of them is judged ours even with no frame of ours
    near it. Without the list that rule is silently off."""
    insmod = [s for s in sections if s["kind"] == "insmod" and s["name"] == "mpmcring"]
    if not insmod:
        return  # the guest never got that far: <k>/boot says why
    if not any(s["rc"] == 0 for s in insmod):
        R.add("%s/objects" % kid, "fail", "mpmcring.ko did not load: no objects list", logs)
        return
    problems = []
    if not reads:
        problems.append("no read of /sys/kernel/debug/mpmcring/objects: the module of a "
                        "KASAN/KCSAN kernel must list its objects (kmod/objects.c)")
    for sec, info in reads:
        where = "objects %s" % sec["name"]
        if sec["rc"] != 0:
            problems.append("%s: reading it %s" % (where, step_end(sec)))
        if info["header"] != "# mpmcring objects 1":
            problems.append("%s: first line %r, want '# mpmcring objects 1' (the format "
                            "of docs/testing.md)" % (where, info["header"]))
        for count in ("dropped", "untracked"):
            if sec["rc"] == 0 and info[count] is None:
                problems.append("%s: no '# %s <n>' line: the count is unknown, so what fell "
                                "out of the list or was never in it goes unjudged" %
                                (where, count))
        if info["untracked"]:
            problems.append("%s: %d object(s) went untracked (every entry was live): "
                            "races on them are judged without the list" %
                            (where, info["untracked"]))
    problems += unseen_objects(reads)
    if reads and not any(info["entries"] for _, info in reads):
        problems.append("every read was empty: not even the default ring is listed")
    if problems:
        R.add("%s/objects" % kid, "fail", "\n".join(problems), logs)
    else:
        R.add("%s/objects" % kid, "pass")


# What each guest must have armed, as init.sh reads it: a detector that is
# off sees nothing, and a run without it must not pass for one with it.
# The hard lockup detector is not required: TCG has no PMU to drive it.
def required_detectors(kid):
    need = {"soft_watchdog": "nonzero", "hung_task_timeout_secs": "nonzero",
            "rcu_cpu_stall_timeout": "nonzero"}
    if kid in TEST_KERNELS:
        need.update(lockdep="on", kmemleak="on")
    if kid in KCSAN_KERNELS:
        need["kcsan"] = "on"
    return need


def judge_detectors(kid, text, logs):
    """<k>/detectors: every detector the guest needs is armed."""
    have = dict(w.partition("=")[::2] for w in text.split())
    bad = []
    for name, want in sorted(required_detectors(kid).items()):
        v = have.get(name)
        if v is None:
            bad.append("%s: absent" % name)
        elif want == "nonzero" and v.strip() in ("", "0"):
            bad.append("%s=%s: off" % (name, v))
        elif want == "on" and v != "on":
            bad.append("%s=%s" % (name, v))
    if bad:
        R.add("%s/detectors" % kid, "fail",
              "detectors not armed in the guest: %s (init.sh read: %s)" % (
                  ", ".join(bad), text or "nothing"), logs)
    else:
        R.add("%s/detectors" % kid, "pass")


def narrowing_words(cmdline):
    """Kernel command-line words that can leave init fewer CPUs than qemu
    gave: maxcpus=, nr_cpus= and possible_cpus= below GUEST_CPUS, nosmp,
    nolapic, and isolcpus= with its domain flag (also its default: no
    flags). nohz_full= does not move init; isolcpus=nohz,... neither."""
    found = []
    for word in cmdline.split():
        name, eq, value = word.partition("=")
        name = name.replace("-", "_")
        if name in ("maxcpus", "nr_cpus", "possible_cpus") and eq:
            if not value.isdigit() or int(value) < GUEST_CPUS:
                found.append(word)
        elif name in ("nosmp", "nolapic") and not eq:
            found.append(word)
        elif name == "isolcpus" and eq:
            flags = [v for v in value.split(",") if v and not v[0].isdigit()]
            if not flags or "domain" in flags:
                found.append(word)
    return found


def judge_cpus(kid, info, sections, done, console, logs):
    """<k>/cpus: the guest's tests run on every vCPU qemu gave it. One with
    fewer (an AP that did not start under TCG, a command-line word, a
    config change) runs the concurrency tests on one CPU, where they prove
    much less, and would pass. The count is init.sh's nproc: the CPUs init
    and the programs it starts may run on."""
    seen = info.get("cpus")
    if seen is None:
        if done or sections or "cmdline" in info or "detectors" in info:
            why = ("init.sh's INFO cpus line is missing, though init went on past it "
                   "(a line lost on the results port?)")
        else:
            why = "init stopped before it counted the CPUs: see %s/boot" % kid
        R.add("%s/cpus" % kid, "fail", why, logs)
        return
    seen = seen.strip()
    if seen == str(GUEST_CPUS):
        R.add("%s/cpus" % kid, "pass")
        return
    if not seen.isdigit():
        R.add("%s/cpus" % kid, "fail",
              "init.sh's nproc printed %r, not a count (is busybox's nproc applet there?)"
              % seen, logs)
        return
    why = ["the guest's init may run on %s CPU(s) (init.sh's nproc), of the %d qemu gave it "
           "(common.GUEST_CPUS)" % (seen, GUEST_CPUS)]
    brought = [l.strip() for l in console if "smp: Brought up" in l]
    why.append("console: %s" % brought[-1] if brought else
               "the console has no \"smp: Brought up\" line")
    words = narrowing_words(info.get("cmdline", ""))
    if words:
        why.append("the kernel command line may narrow them: %s (MPMCRING_CMDLINE?)"
                   % " ".join(words))
    elif int(seen) < GUEST_CPUS:
        up = re.search(r"smp: Brought up \d+ nodes?, (\d+) CPU", brought[-1]) if brought else None
        if up and int(up.group(1)) >= GUEST_CPUS:
            why.append("every CPU came up, so init's affinity was narrowed")
        else:
            why.append("no command-line word narrows them: a CPU that did not come up "
                       "(smpboot lines on the console)" +
                       (" or the kernel's config (CONFIG_SMP, CONFIG_NR_CPUS: "
                        "tests/kconfig/common.config)" if kid in TEST_KERNELS else ""))
    R.add("%s/cpus" % kid, "fail", "; ".join(why), logs)


def judge_guest(kid, kos, status, secs, where):
    """Turns one finished guest's results port and console into results."""
    logdir = os.path.join(LOGS, kid)
    console_log = os.path.join(logdir, "console.log")
    results_log = os.path.join(logdir, "results.log")
    logs = [results_log, console_log]
    console = read_lines(console_log)
    token = read_token(logdir)
    info, sections, done, stray = parse_results(results_log, token)
    cpu = GUEST_CPU.get(kid)
    progress("%s: guest %s after %.0fs (kernel %s%s)" % (
        kid, "finished" if status == "ok" and done else "FAILED: " + status,
        secs, info.get("kernel", "?"),
        "; qemu used %.0f s of host CPU" % cpu if cpu is not None else ""))
    if info.get("detectors"):
        progress("%s: detectors: %s" % (kid, info["detectors"]))
    if info and kid in ALL_KERNELS:
        judge_detectors(kid, info.get("detectors", ""), logs)
        judge_cpus(kid, info, sections, done, console, logs)

    spent = ["%s %s %.0fs" % (x["kind"], x["name"], x["t1"] - x["t0"]) for x in sections
             if x["t0"] is not None and x["t1"] is not None and x["t1"] - x["t0"] >= 1]
    if spent:
        progress("%s: time in the guest: %s" % (kid, ", ".join(spent)))

    # What the guest told about our code, for the reports below.
    own = Ownership()
    reads = []
    for sec in sections:
        if sec["kind"] == "symbols":
            own.add_symbols(sec["lines"])
        elif sec["kind"] == "objects":
            reads.append((sec, own.add_objects(sec["lines"], sec["t1"] or sec["t0"])))
        elif sec["kind"] == "rmmod" and sec["name"] == "mpmcring" and sec["rc"] == 0:
            own.module_gone(sec["t1"] or sec["t0"])
    if "kcsan=on" in info.get("detectors", "").split():
        judge_objects(kid, sections, reads, logs)

    # The guest's own results, in the order it produced them.
    kunit_seen = False
    later = []
    for sec in sections:
        kind, name = sec["kind"], sec["name"]
        if kind == "insmod":
            ok = sec["rc"] == 0
            R.add("%s/insmod/%s" % (kid, name), "pass" if ok else "fail",
                  "insmod %s\n%s" % (step_end(sec), excerpt("\n".join(sec["lines"])))
                  if not ok else "", logs)
        elif kind == "kunit":
            kunit_seen = True
            judge_kunit(kid, sec, console, logs, info.get("kernel"))
        elif kind == "vm":
            judge_vm(kid, sec, logs)
        elif kind == "rmmod":
            ok = sec["rc"] == 0
            R.add("%s/rmmod/%s" % (kid, name), "pass" if ok else "fail",
                  "rmmod %s\n%s" % (step_end(sec), excerpt("\n".join(sec["lines"])))
                  if not ok else "", logs)
        elif kind == "leftover":
            ok = sec["rc"] == 0
            R.add("%s/rmmod" % kid, "pass" if ok else "fail",
                  "modules still loaded at the end:\n" + "\n".join(sec["lines"]) if not ok else "",
                  logs)
        elif kind in ("lockdep", "kmemleak", "taint"):
            later.append(sec)

    has_test_module = any(os.path.basename(k) == "mpmcring_test.ko" for k in kos)
    loaded_test = any(s["kind"] == "insmod" and s["name"] == "mpmcring_test" and s["rc"] == 0
                      for s in sections)
    if has_test_module and loaded_test and not kunit_seen:
        R.add("%s/kunit" % kid, "fail",
              "mpmcring_test.ko loaded but no suite left results in /sys/kernel/debug/kunit",
              logs)

    forged = stray + [l for s in sections if s["kind"] not in ("kunit", "vm") for l in s["forged"]]
    note_clock_jump(kid, secs, sections, console, host_tsc_khz())
    judge_boot(kid, status, secs, where, sections, done, forged, console, logs,
               token_lost(kid, token, info, sections, done, stray))
    reports = judge_reports(kid, console, own, console_log)
    for sec in later:
        if sec["kind"] == "lockdep":
            judge_lockdep(kid, sec, console, reports, logs)
        elif sec["kind"] == "taint":
            judge_taint(kid, sec, reports, logs)
        else:
            judge_leaks(kid, sec, console, own, logs)
