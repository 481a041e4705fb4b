# SPDX-License-Identifier: GPL-2.0-only
"""Unit tests of reports.py: which kernel reports are ours (make
check-harness runs them before it plants anything)."""
import os
import tempfile
import unittest

from reports import Ownership, lockdep_off_cause, scan_leaks, scan_reports


def console(text):
    """Console lines with printk stamps, as the guest's ttyS0 has them."""
    return ["[   42.%06d] %s" % (i, l) for i, l in enumerate(text.strip("\n").split("\n"))]


SEP = "=" * 66
# The list as it was on the 6.1 kcsan kernel ("kcsan"): its entries are the
# examples these tests need (a value change, a race on struct page).
KNOWN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "kcsan-6.1",
                     "kcsan-known-races.txt")
LIST = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    "kcsan-known-races.txt")

# The example: both racing accesses in base-kernel list helpers,
# called straight from our create and destroy.
KCSAN_LIST = """
%s
BUG: KCSAN: data-race in __list_add_valid / __list_del_entry_valid

write to 0xffff888004f1b9a8 of 8 bytes by task 211 on cpu 1:
 __list_del_entry_valid+0x9c/0x110
 mpmcring_destroy+0x1a4/0x2c0 [mpmcring]
 basic_destroy_twice+0x55/0xa0 [mpmcring_test]
 kunit_try_run_case+0x8e/0x140

read to 0xffff888004f1b9a8 of 8 bytes by task 212 on cpu 0:
 __list_add_valid+0x2b/0x100
 mpmcring_create+0x2f0/0x520 [mpmcring]
 kunit_try_run_case+0x8e/0x140

value changed: 0xffff888004f1b9a8 -> 0xdead000000000100

Reported by Kernel Concurrency Sanitizer on:
CPU: 0 PID: 212 Comm: kunit_try_catch Not tainted 6.1.0 #1
%s
""" % (SEP, SEP)

# A base-kernel race our syscall only led to, deep down the stack.
KCSAN_DEEP = """
%s
BUG: KCSAN: data-race in tick_nohz_idle_stop_tick / tick_nohz_next_event

write to 0xffff88807dc1e4a0 of 8 bytes by task 0 on cpu 1:
 tick_nohz_idle_stop_tick+0x1c4/0x6b0
 do_idle+0x1a5/0x200
 cpu_startup_entry+0x1d/0x20
 start_secondary+0x10b/0x130

read to 0xffff88807dc1e4a0 of 8 bytes by task 230 on cpu 0:
 tick_nohz_next_event+0x8e/0x230
 tick_nohz_get_sleep_length+0x9a/0x110
 menu_select+0x2d4/0x8a0
 schedule+0x73/0xf0
 schedule_timeout+0x98/0x160
 mpmcring_wait_for_records+0x1d3/0x300 [mpmcring]
 mpr_fop_poll+0x11/0x20 [mpmcring]

Reported by Kernel Concurrency Sanitizer on:
CPU: 0 PID: 230 Comm: wakeup Not tainted 6.1.0 #1
%s
""" % (SEP, SEP)

# Our code makes the access itself, behind a memcpy.
KCSAN_HELPER = """
%s
BUG: KCSAN: data-race in __tsan_read8 / memcpy

read to 0xffff888003a10040 of 8 bytes by task 300 on cpu 0:
 memcpy+0x30/0x60
 mpr_copy_record+0x44/0x90 [mpmcring]
 do_syscall_64+0x3a/0x90

write to 0xffff888003a10040 of 8 bytes by task 301 on cpu 1:
 __tsan_write8+0x20/0x30
 something_else+0x1/0x2
 a+0x1/0x2
 b+0x1/0x2
 c+0x1/0x2
%s
""" % (SEP, SEP)

# Deep base-kernel stacks, but the racing address is in our object.
KCSAN_OBJECT = """
%s
BUG: KCSAN: data-race in add_wait_queue / remove_wait_queue

write to 0xffff888003a20118 of 8 bytes by task 400 on cpu 0:
 add_wait_queue+0x30/0x60
 ep_ptable_queue_proc+0x44/0x90
 a+0x1/0x2
 b+0x1/0x2
 c+0x1/0x2

read to 0xffff888003a20118 of 8 bytes by task 401 on cpu 1:
 remove_wait_queue+0x20/0x30
 x+0x1/0x2
 y+0x1/0x2
 z+0x1/0x2
 w+0x1/0x2
%s
""" % (SEP, SEP)

# A race on our module's static data, found in a base-kernel helper.
KCSAN_STATIC = """
%s
BUG: KCSAN: data-race in __bitmap_clear / __bitmap_set

write to 0xffffffffa0012340 of 8 bytes by task 500 on cpu 0:
 __bitmap_set+0x30/0x60
 p+0x1/0x2
 q+0x1/0x2
 r+0x1/0x2
 s+0x1/0x2

write to 0xffffffffa0012340 of 8 bytes by task 501 on cpu 1:
 __bitmap_clear+0x20/0x30
 t+0x1/0x2
 u+0x1/0x2
 v+0x1/0x2
 w+0x1/0x2
%s
""" % (SEP, SEP)

# 6.1's page_type race, our mmap three frames down one stack.
KCSAN_PAGE_TYPE = """
%s
BUG: KCSAN: data-race in page_add_file_rmap / validate_page_before_insert

read-write (marked) to 0xffffea00001c6f30 of 4 bytes by task 320 on cpu 1:
 page_add_file_rmap+0x4e/0x2c0
 do_set_pte+0x1a0/0x260
 filemap_map_pages+0x3ee/0x6c0

read to 0xffffea00001c6f30 of 4 bytes by task 321 on cpu 0:
 validate_page_before_insert+0x2a/0x90
 insert_pages+0x1c2/0x460
 mpmcring_mmap+0x3a1/0x560 [mpmcring]
 mmap_region+0x6c5/0xb60
%s
""" % (SEP, SEP)

SOFT_LOCKUP = """
watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [kunit_try_catch:97]
Modules linked in: mpmcring_test(O+) mpmcring(O)
CPU: 1 PID: 97 Comm: kunit_try_catch Tainted: G    B      O L     6.1.192 #1
RIP: 0010:mpr_plant_spin+0x2c/0x50 [mpmcring_test]
Call Trace:
 <TASK>
 plant_soft_lockup+0x9/0x10 [mpmcring_test]
 kunit_try_run_case+0x8e/0x140
 </TASK>
"""

RCU_STALL = """
rcu: INFO: rcu_preempt self-detected stall on CPU
rcu: \t0-....: (15001 ticks this GP) idle=8a4/1/0x4000000000000000 softirq=2/2 fqs=3711
\t(t=15002 jiffies g=1397 q=21 ncpus=2)
CPU: 0 PID: 98 Comm: kunit_try_catch Tainted: G    B      O       6.1.192 #1
RIP: 0010:mpr_plant_rcu_reader+0x31/0x60 [mpmcring_test]
Call Trace:
 <IRQ>
 rcu_sched_clock_irq+0x5b4/0xe30
 </IRQ>
 <TASK>
 plant_rcu_stall+0x9/0x10 [mpmcring_test]
 </TASK>
"""

BASE_WARN = """
WARNING: CPU: 0 PID: 1 at kernel/foo.c:12 foo+0x1/0x2
Modules linked in: mpmcring(O)
Call Trace:
 <TASK>
 bar+0x1/0x2
 </TASK>
---[ end trace 0000000000000000 ]---
"""


# From the kcsan guest (main, 00:50): a latch reader's value change, our
# reservation calling ktime_get_mono_fast_ns() for a timestamp.
KCSAN_UNKNOWN_ORIGIN = """
%s
BUG: KCSAN: data-race in ktime_get_mono_fast_ns+0x6e/0x104

race at unknown origin, with read to 0xffffffff81caac18 of 8 bytes by task 234 on cpu 0:
 ktime_get_mono_fast_ns+0x6e/0x104
 mpmcring_reserve_prio+0xaf6/0xe9f [mpmcring]
 mpmcring_reserve+0x46/0x59 [mpmcring]
 ev_reserve+0x5d/0xb2 [mpmcring_events]

value changed: 0x000000026544accf -> 0x00000002654ac74f
%s
""" % (SEP, SEP)

# From the same guest: select's own wakeup protocol, our wake_up() 4 frames down.
KCSAN_POLLWAKE = """
%s
BUG: KCSAN: data-race in poll_schedule_timeout.constprop.0 / pollwake

write to 0xffffc90000173c50 of 4 bytes by interrupt on cpu 0:
 pollwake+0x9d/0xe9
 __wake_up_common+0xab/0x108
 __wake_up_common_lock+0x64/0x8e
 mpmcring_wake_in+0x61/0x68 [mpmcring]
 mpmcring_wake_work+0x1a/0x21 [mpmcring]

read to 0xffffc90000173c50 of 4 bytes by task 463 on cpu 1:
 poll_schedule_timeout.constprop.0+0x5a/0xd0
 do_sys_poll+0x55d/0x6a0
 __x64_sys_poll+0x5e/0x1d0
 do_syscall_64+0x35/0x43
%s
""" % (SEP, SEP)


class KcsanOwnership(unittest.TestCase):
    def one(self, text, own=None):
        reps = scan_reports(console(text), own)
        self.assertEqual(len(reps), 1, [r.header for r in reps])
        return reps[0]

    def test_helper_called_from_ours(self):
        r = self.one(KCSAN_LIST)
        self.assertTrue(r.ours)
        self.assertIn("mpmcring_destroy", r.where)
        self.assertIn("frame 2", r.where)

    def test_deep_base_kernel_race_is_a_note(self):
        self.assertFalse(self.one(KCSAN_DEEP).ours)

    def test_generic_helpers_are_skipped(self):
        r = self.one(KCSAN_HELPER)
        self.assertTrue(r.ours)
        self.assertIn("mpr_copy_record", r.where)

    def test_address_in_our_object_while_alive(self):
        own = Ownership()
        # born at 40 s, freed at 50 s: the report is stamped 42.x s
        own.add_objects(["# mpmcring objects 1",
                         "ffff888003a20000 ffff888003a20400 40000000000 50000000000 ring r1"])
        r = self.one(KCSAN_OBJECT, own)
        self.assertTrue(r.ours)
        self.assertIn("ring r1", r.where)

    def test_address_in_a_freed_object_is_not_ours(self):
        own = Ownership()
        own.add_objects(["ffff888003a20000 ffff888003a20400 10000000000 20000000000 ring r1"])
        self.assertFalse(self.one(KCSAN_OBJECT, own).ours)
        self.assertFalse(self.one(KCSAN_OBJECT).ours)

    # The file as kmod/objects.c prints it: freed objects first, then live.
    OBJECTS_FILE = ["# mpmcring objects 1",
                    "ffff888003a10000 ffff888003a10400 30000000000 31000000000 ring gone",
                    "ffff888003a20000 ffff888003a20400 40000000000 - ring r1",
                    "ffffc90000400000 ffffc90000c00000 40000000001 - data r1",
                    "# dropped 0", "# untracked 0"]

    def test_only_base_kernel_frames_on_our_live_object(self):
        """No frame of ours in either stack (add_wait_queue from epoll,
        remove_wait_queue): the address alone makes it ours."""
        self.assertFalse(self.one(KCSAN_OBJECT).ours)  # no frame rule applies
        own = Ownership()
        info = own.add_objects(self.OBJECTS_FILE, 45.0)
        self.assertEqual((info["header"], info["entries"], info["dropped"], info["untracked"],
                          len(info["keys"]), len(info["freed"])),
                         ("# mpmcring objects 1", 3, 0, 0, 3, 1))
        r = self.one(KCSAN_OBJECT, own)
        self.assertTrue(r.ours)
        self.assertIn("address 0xffff888003a20118 is in our ring r1", r.where)

    def test_address_outside_our_objects_is_not_ours(self):
        own = Ownership()
        own.add_objects(self.OBJECTS_FILE, 45.0)
        # The same report, its address one byte past the ring's end and
        # inside the ring freed long before.
        for addr in ("0xffff888003a20400", "0xffff888003a10118"):
            text = KCSAN_OBJECT.replace("0xffff888003a20118", addr)
            self.assertFalse(self.one(text, own).ours, addr)

    def test_object_gone_from_a_later_read_died_before_it(self):
        own = Ownership()
        own.add_objects(self.OBJECTS_FILE, 35.0)  # r1 alive at this read...
        # ...absent from the next one (the module was unloaded and loaded
        # again): freed by 41 s, so a race reported at 42 s on memory the
        # kernel has handed to someone else is not ours.
        own.add_objects(["# mpmcring objects 1",
                         "ffff888003b00000 ffff888003b00400 40500000000 - ring default"], 41.0)
        self.assertFalse(self.one(KCSAN_OBJECT, own).ours)
        own = Ownership()
        own.add_objects(self.OBJECTS_FILE, 35.0)
        own.add_objects(self.OBJECTS_FILE, 41.0)  # still there: still ours
        self.assertTrue(self.one(KCSAN_OBJECT, own).ours)

    def test_alive_in_one_read_freed_in_the_next(self):
        """Both lines of the same object are kept: the later one, with its
        death, decides (the old list kept "alive" forever)."""
        own = Ownership()
        own.add_objects(["ffff888003a20000 ffff888003a20400 10000000000 - ring r1"], 15.0)
        own.add_objects(["ffff888003a20000 ffff888003a20400 10000000000 20000000000 ring r1"],
                        25.0)
        self.assertFalse(self.one(KCSAN_OBJECT, own).ours)

    def test_unload_ends_every_object(self):
        own = Ownership()
        own.add_objects(self.OBJECTS_FILE, 35.0)
        own.module_gone(40.5)  # rmmod mpmcring at 40.5 s, report at 42 s
        self.assertFalse(self.one(KCSAN_OBJECT, own).ours)
        own = Ownership()
        own.add_objects(self.OBJECTS_FILE, 35.0)
        own.module_gone(41.5)  # within the second's grace
        self.assertTrue(self.one(KCSAN_OBJECT, own).ours)

    def test_objects_file_counts(self):
        info = Ownership().add_objects(["# mpmcring objects 1", "# dropped 7",
                                        "# untracked 2"])
        self.assertEqual((info["entries"], info["dropped"], info["untracked"]), (0, 7, 2))

    def test_address_in_our_module_data(self):
        r = self.one(KCSAN_STATIC)
        self.assertTrue(r.ours)
        self.assertIn("module", r.where)

    def test_known_base_kernel_race(self):
        self.assertTrue(self.one(KCSAN_PAGE_TYPE).ours)  # frame 3 is ours...
        own = Ownership()
        self.assertEqual(own.add_known_races(KNOWN, "kcsan"), [])
        r = self.one(KCSAN_PAGE_TYPE, own)
        self.assertFalse(r.ours)  # ...but the known-races list calls it the base kernel's
        self.assertIn("kcsan-known-races.txt:", r.known)
        own = Ownership()
        own.add_known_races(KNOWN, "debug")  # listed for kcsan only
        self.assertTrue(self.one(KCSAN_PAGE_TYPE, own).ours)

    def test_known_race_at_unknown_origin(self):
        """A value-change report names one function, with its offset: the
        list names it with "-" for the other side."""
        self.assertTrue(self.one(KCSAN_UNKNOWN_ORIGIN).ours)  # frame 2 is ours...
        own = Ownership()
        self.assertEqual(own.add_known_races(KNOWN, "kcsan"), [])
        r = self.one(KCSAN_UNKNOWN_ORIGIN, own)
        self.assertFalse(r.ours)  # ...the list says whose it is
        self.assertIn("tk_fast_mono", r.known)
        own.add_objects(["ffffffff81caac00 ffffffff81caac40 1 - ring r"])
        self.assertTrue(self.one(KCSAN_UNKNOWN_ORIGIN, own).ours)  # our memory: ours

    def test_known_pollwake_race(self):
        self.assertIn("frame 4", self.one(KCSAN_POLLWAKE).where)
        own = Ownership()
        own.add_known_races(KNOWN, "kcsan")
        self.assertFalse(self.one(KCSAN_POLLWAKE, own).ours)
        own = Ownership()
        own.add_known_races(KNOWN, "debug")
        self.assertTrue(self.one(KCSAN_POLLWAKE, own).ours)

    def test_known_race_on_other_memory_is_not_excused(self):
        # Review should-fix 10: an entry names the memory its evidence is
        # about; the same two functions racing elsewhere are not excused.
        own = Ownership()
        own.add_known_races(KNOWN, "kcsan")
        heap = KCSAN_POLLWAKE.replace("0xffffc90000173c50", "0xffff888004f1b9a8")
        r = self.one(heap, own)
        self.assertTrue(r.ours)
        self.assertIn("frame 4", r.where)
        self.assertIsNone(r.known)
        self.assertIn("kcsan-known-races.txt:", self.one(KCSAN_POLLWAKE, own).known)

    def test_the_list_names_only_the_kcsan_kernel(self):
        """An entry for a kernel the runner does not have (the 6.1 kcsan
        kernel's, once) would excuse nothing and say nothing."""
        self.assertEqual(Ownership().add_known_races(LIST, "kcsan-6.12"), [])
        with open(LIST) as f:
            kernels = {k for l in f if l.split() and not l.startswith("#")
                       for k in l.split()[2].split(",")}
        self.assertEqual(kernels, {"kcsan-6.12"})

    def test_an_entry_for_a_function_the_kernel_lacks_is_an_error(self):
        """6.12 inlines timekeeping_get_ns(): an entry naming it could never
        match, and the race would fail the run as ours."""
        fd, smap = tempfile.mkstemp()
        with os.fdopen(fd, "w") as f:
            f.write("ffffffff8113bff5 T ktime_get\nffffffff8113c3ed t timekeeping_advance\n"
                    "ffffffff81100000 t poll_schedule_timeout.constprop.0\n"
                    "ffffffff81100100 T pollwake\n"
                    "ffffffff81a00000 d do_nanosleep\n")  # data: no function
        try:
            own = Ownership()
            self.assertEqual(own.add_known_races(KNOWN, "kcsan"), [])
            errors = own.known_races_unmatchable(smap)
        finally:
            os.unlink(smap)
        named = sorted(e.split(" is no function")[0].split(": ")[-1] for e in errors)
        # The fixture's six entries name eleven functions and one "-";
        # three of them are in the map above.
        self.assertEqual(named, ["do_nanosleep", "hrtimer_wakeup", "hrtimer_wakeup",
                                 "ktime_get_mono_fast_ns", "page_add_file_rmap",
                                 "schedule_hrtimeout_range_clock", "timekeeping_get_ns",
                                 "validate_page_before_insert"])
        self.assertTrue(all("can never match" in e for e in errors), errors)
        self.assertIn("cannot read", Ownership().known_races_unmatchable("/nonexistent")[0])

    def test_known_races_file_wants_a_memory_kind(self):
        fd, path = tempfile.mkstemp()
        with os.fdopen(fd, "w") as f:
            f.write("a b kcsan stack why\nc d kcsan disk why\ne f kcsan\n")
        try:
            errors = Ownership().add_known_races(path, "kcsan")
        finally:
            os.unlink(path)
        self.assertEqual(len(errors), 2, errors)
        self.assertIn("memory 'disk'", errors[0])

    def test_known_race_on_our_object_is_ours(self):
        own = Ownership()
        own.add_known_races(KNOWN, "kcsan")
        own.add_objects(["ffffea00001c6000 ffffea00001c7000 1 - data r"])
        self.assertTrue(self.one(KCSAN_PAGE_TYPE, own).ours)

    def test_stamp_is_kept(self):
        self.assertAlmostEqual(self.one(KCSAN_LIST).when, 42.000001, places=5)


class ObjectsStep(unittest.TestCase):
    """<k>/objects: the address rule must not be silently off."""

    def judge(self, reads, insmod_rc=0):
        import common
        import judge
        common.R.tests, common.R.quiet = [], True
        secs = [{"kind": "insmod", "name": "mpmcring", "rc": insmod_rc, "lines": [],
                 "t0": 1.0, "t1": 2.0}]
        own = Ownership()
        got = []
        for i, lines in enumerate(reads):
            sec = {"kind": "objects", "name": "after-%d" % i, "rc": 0, "lines": lines,
                   "t0": 3.0 + i, "t1": 3.5 + i}
            secs.append(sec)
            got.append((sec, own.add_objects(lines, sec["t1"])))
        judge.judge_objects("debug", secs, got, [])
        (name, status, detail, _), = common.R.tests
        self.assertEqual(name, "debug/objects")
        return status, detail

    def test_listed(self):
        self.assertEqual(self.judge([KcsanOwnership.OBJECTS_FILE])[0], "pass")

    def test_no_file_fails(self):
        status, detail = self.judge([])
        self.assertEqual(status, "fail")
        self.assertIn("no read of /sys/kernel/debug/mpmcring/objects", detail)

    def test_untracked_fails(self):
        status, detail = self.judge([["# mpmcring objects 1",
                                      "ffff888003a20000 ffff888003a20400 1 - ring default",
                                      "# dropped 0", "# untracked 3"]])
        self.assertEqual(status, "fail")
        self.assertIn("3 object(s) went untracked", detail)

    def test_other_format_fails(self):
        status, detail = self.judge([["# mpmcring objects 2",
                                      "ffff888003a20000 ffff888003a20400 1 - ring default"]])
        self.assertEqual(status, "fail")
        self.assertIn("want '# mpmcring objects 1'", detail)

    def test_empty_list_fails(self):
        # Both counts present, so the empty list is this read's only fault.
        status, detail = self.judge([["# mpmcring objects 1", "# dropped 0", "# untracked 0"]])
        self.assertEqual(status, "fail")
        self.assertEqual(detail, "every read was empty: not even the default ring is listed")

    RING = "ffff888003a20000 ffff888003a20400 1 - ring default"

    def read(self, dropped, *freed):
        return ["# mpmcring objects 1", self.RING] + [
            "ffff888003b%05x ffff888003b%05x 2 3 slots r" % (n * 0x400, n * 0x400 + 0x400)
            for n in freed] + ["# dropped %d" % dropped, "# untracked 0"]

    def test_dropped_after_being_seen_passes(self):
        # Review should-fix 8: what a read listed freed may drop later.
        self.assertEqual(self.judge([self.read(0, 1, 2), self.read(2, 3)])[0], "pass")

    def test_dropped_unseen_fails(self):
        status, detail = self.judge([self.read(0, 1, 2), self.read(3, 3)])
        self.assertEqual(status, "fail")
        self.assertIn("objects after-1: 1 object(s) were freed and dropped", detail)
        status, detail = self.judge([self.read(5, 1)])
        self.assertIn("objects after-0: 5 object(s)", detail)

    LIVE = "ffff888003d00000 ffff888003d00400 2 - slots r"

    def test_live_object_dropped_after_being_seen_passes(self):
        # Listed alive, then freed and dropped before the next read: seen
        # (the later read ends its life), not an unseen object.
        first = self.read(0)[:2] + [self.LIVE] + self.read(0)[2:]
        self.assertEqual(self.judge([first, self.read(1)]), ("pass", ""))

    def test_dropped_count_missing_fails(self):
        # The count every unseen-object judgement rests on: a read without
        # it (another format, a cut read) is not a read of 0.
        for gone in ("# dropped", "# untracked"):
            status, detail = self.judge([[l for l in self.read(0, 1)
                                          if not l.startswith(gone)]])
            self.assertEqual(status, "fail", gone)
            self.assertIn("objects after-0: no '%s <n>' line" % gone, detail)

    def test_dropped_count_too_small_fails(self):
        # Entries 1 and 2 left the list (an entry leaves it only when
        # reused, which counts as dropped), but the count did not grow:
        # it is wrong, and unseen objects would hide behind it.
        status, detail = self.judge([self.read(0, 1, 2), self.read(1, 3)])
        self.assertEqual(status, "fail")
        self.assertIn("objects after-1: '# dropped' grew by 1 but 2 listed object(s) left the "
                      "list", detail)
        # Going down within one module instance: wrong too.
        status, detail = self.judge([self.read(0, 1, 2), self.read(2, 3), self.read(1, 3)])
        self.assertEqual(status, "fail")
        self.assertIn("objects after-2: '# dropped' went down from 2 to 1", detail)

    def test_reload_restarts_the_count(self):
        def reloaded(r):
            return [l.replace("ffff888003a2", "ffff888003c2") for l in r]
        self.assertEqual(self.judge([self.read(0, 1, 2), reloaded(self.read(0, 4))])[0], "pass")
        # The old instance's freed entries say nothing of the new one's.
        self.assertEqual(self.judge([self.read(0, 1, 2), reloaded(self.read(1, 4))])[0], "fail")

    def test_reload_at_the_same_address(self):
        # Review-harn18 nit 11: slab reuse gives the new instance's ring the
        # old one's address; its birth time tells them apart.
        def reloaded(r):
            return [l.replace(self.RING, self.RING.replace(" 1 - ", " 9 - ")) for l in r]
        self.assertEqual(self.judge([self.read(0, 1, 2), reloaded(self.read(0, 4))])[0], "pass")
        status, detail = self.judge([self.read(0, 1, 2), reloaded(self.read(1, 4))])
        self.assertEqual(status, "fail")
        self.assertIn("objects after-1: 1 object(s) were freed and dropped", detail)


class ReportsStep(unittest.TestCase):
    def test_repeated_reports_are_one_line_each(self):
        import common
        import judge
        common.R.tests, common.R.quiet = [], True
        lines = console(KCSAN_LIST + KCSAN_LIST + KCSAN_HELPER)
        judge.judge_reports("kcsan", lines, Ownership(), "console.log")
        (name, status, detail, _), = common.R.tests
        self.assertEqual((name, status), ("kcsan/reports", "fail"))
        self.assertIn("3 report(s) name mpmcring code, first: ", detail.splitlines()[0])
        ours = [l for l in detail.splitlines() if l.startswith("  ours: ")]
        self.assertEqual(len(ours), 2, ours)
        self.assertTrue(ours[0].endswith("(2 times)"), ours[0])
        self.assertIn("mpr_copy_record", ours[1])


class OtherReports(unittest.TestCase):
    def test_soft_lockup(self):
        reps = scan_reports(console(SOFT_LOCKUP))
        self.assertEqual(len(reps), 1)
        self.assertTrue(reps[0].ours)
        self.assertIn("mpr_plant_spin+0x2c/0x50 [mpmcring_test]", reps[0].line())

    def test_rcu_stall(self):
        reps = scan_reports(console(RCU_STALL))
        self.assertEqual(len(reps), 1)
        self.assertTrue(reps[0].ours)
        self.assertIn("mpr_plant_rcu_reader", reps[0].where)

    def test_modules_linked_in_does_not_make_it_ours(self):
        reps = scan_reports(console(BASE_WARN))
        self.assertEqual(len(reps), 1)
        self.assertFalse(reps[0].ours)

    def test_hard_lockup_and_hung_task_are_reports(self):
        text = ("NMI watchdog: Watchdog detected hard LOCKUP on cpu 1\n"
                "RIP: 0010:mpr_spin+0x1/0x2 [mpmcring]\n\n"
                "INFO: task insmod:80 blocked for more than 30 seconds.\n"
                " schedule+0x1/0x2\n </TASK>\n")
        reps = scan_reports(console(text))
        self.assertEqual([r.ours for r in reps], [True, False])

    def test_trap_oops_is_a_report_and_fails(self):
        # The events unload crash of a kcsan guest: a stale int3 in base
        # kernel code, no frame of ours; it must fail the guest anyway.
        text = ("int3: 0000 [#1] PREEMPT SMP\n"
                "CPU: 1 PID: 300 Comm: events Tainted: G O N 6.1.192 #1\n"
                "RIP: 0010:syscall_exit_to_user_mode_prepare+0xda/0x11e\n"
                "Modules linked in: mpmcring_events(O-) mpmcring(O)\n"
                "---[ end trace 0000000000000000 ]---\n"
                "Kernel panic - not syncing: Fatal exception in interrupt\n")
        reps = scan_reports(console(text))
        self.assertEqual(len(reps), 2)
        self.assertTrue(reps[0].header.startswith("int3: 0000 [#1]"))
        self.assertTrue(all(r.ours for r in reps))
        for head in ("invalid opcode: 0000 [#1] SMP", "divide error: 0000 [#1] SMP",
                     "stack segment: 0000 [#1] SMP"):
            self.assertEqual(len(scan_reports(console(head + "\n"))), 1, head)

    def test_base_warning_is_not_fatal(self):
        self.assertFalse(scan_reports(console(BASE_WARN))[0].ours)

    def test_report_inside_a_kcsan_box_is_its_own(self):
        lines = KCSAN_LIST.strip("\n").split("\n")
        k = lines.index("value changed: 0xffff888004f1b9a8 -> 0xdead000000000100")
        warn = ["WARNING: CPU: 1 PID: 9 at kmod/ring.c:10 mpr_foo+0x1/0x2 [mpmcring]",
                " mpr_foo+0x1/0x2 [mpmcring]", "---[ end trace 0000000000000000 ]---"]
        text = "\n".join(lines[:k] + warn + lines[k:])
        reps = scan_reports(console(text))
        heads = [r.header for r in reps]
        self.assertTrue(any(h.startswith("WARNING:") for h in heads), heads)

    def test_task_named_mpmcring_is_not_our_code(self):
        # Review should-fix 7: our CLI's name in "Comm:" is not a frame.
        text = ("WARNING: CPU: 0 PID: 7 at kernel/foo.c:12 foo+0x1/0x2\n"
                "CPU: 0 PID: 7 Comm: mpmcring Not tainted 6.1.0 #1\n"
                "task:mpmcring state:D stack:0 pid:7\n"
                "Call Trace:\n <TASK>\n bar+0x1/0x2\n </TASK>\n"
                "---[ end trace 0000000000000000 ]---\n")
        self.assertFalse(scan_reports(console(text))[0].ours)
        ours = text.replace(" bar+0x1/0x2", " mpmcring_read+0x1/0x2 [mpmcring]")
        self.assertIn("mpmcring_read", scan_reports(console(ours))[0].where)

    def test_tasks_rcu_stall_and_non_static_key(self):
        # Review should-fix 9: neither matched any report pattern.
        text = ("INFO: rcu_tasks detected stalls on tasks:\n"
                "000000003b5f5a8e: .. nvcsw: 2/2 holdout: 1 idle_cpu: -1/0\n"
                "task:events state:R running task\n"
                "Call Trace:\n <TASK>\n ev_probe+0x1/0x2 [mpmcring_events]\n </TASK>\n"
                "INFO: rcu_tasks_trace detected stalls on tasks:\n"
                "INFO: trying to register non-static key.\n"
                "The code is fine but needs lockdep annotation, or maybe\n"
                "Call Trace:\n <TASK>\n lockdep_init_map_type+0x1/0x2\n"
                " mpmcring_create+0x1/0x2 [mpmcring]\n </TASK>\n")
        reps = scan_reports(console(text))
        self.assertEqual([r.header.split(" detected")[0].split(".")[0] for r in reps],
                         ["INFO: rcu_tasks", "INFO: rcu_tasks_trace",
                          "INFO: trying to register non-static key"])
        self.assertTrue(reps[0].ours)
        self.assertIn("mpmcring_create", reps[2].where)

    def test_a_report_cut_at_the_limit_says_so(self):
        # Review should-fix 6: a long report was cut silently.
        long = "WARNING: CPU: 0 PID: 1 at kernel/foo.c:12 foo+0x1/0x2\n" + \
            "".join(" f%d+0x1/0x2\n" % n for n in range(300))
        r, = scan_reports(console(long))
        self.assertTrue(r.cut)
        self.assertFalse(scan_reports(console(BASE_WARN))[0].cut)

    def test_bare_module_address_is_ours(self):
        text = "BUG: unable to handle page fault for address: 0000000000000008\n" \
               "Call Trace:\n ? 0xffffffffa0001234\n </TASK>\n"
        self.assertTrue(scan_reports(console(text))[0].ours)

    def test_lockdep_off_cause(self):
        lines = console(BASE_WARN + "\nWARNING: possible circular locking dependency detected\n")
        self.assertEqual(lockdep_off_cause(lines, scan_reports(lines)),
                         "WARNING: possible circular locking dependency detected")
        kasan = console("%s\nBUG: KASAN: slab-out-of-bounds in foo+0x1/0x2\n%s\n" % (SEP, SEP))
        self.assertTrue(lockdep_off_cause(kasan, scan_reports(kasan)).startswith("BUG: KASAN"))
        self.assertIsNone(lockdep_off_cause(console(BASE_WARN), scan_reports(console(BASE_WARN))))


LEAKS = """unreferenced object 0xffff888006f7d000 (size 192):
  comm "kunit_try_catch", pid 97, jiffies 4294912345 (age 12.345s)
  hex dump (first 32 bytes):
    6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b  kkkkkkkkkkkkkkkk
  backtrace:
    [<ffffffff812a1b2c>] __kmem_cache_alloc_node+0x1ac/0x2d0
    [<ffffffff81233e0f>] kmalloc_trace+0x1f/0x80
    [<ffffffffa0014a3c>] 0xffffffffa0014a3c
    [<ffffffffa0014a8e>] 0xffffffffa0014a8e
    [<ffffffff8166a0de>] kunit_try_run_case+0x8e/0x140
unreferenced object 0xffff888002d4c300 (size 64):
  comm "swapper/0", pid 1, jiffies 4294892345 (age 32.345s)
  backtrace (crc 1a2b3c4d):
    [<ffffffff812a1b2c>] __kmem_cache_alloc_node+0x1ac/0x2d0
    [<ffffffff81c1d00f>] acpi_os_allocate+0x1f/0x30
"""


class Interleaved(unittest.TestCase):
    """Two vCPUs print reports at once, line by line (review of the suite,
    issue 17, must-fix 2): each report is still judged, with every line
    that may be its own."""

    OUR_WARN = ["WARNING: CPU: 1 PID: 9 at lib/list_debug.c:62 __list_del_entry_valid+0x9c/0x110",
                "Modules linked in: mpmcring(O)", "Call Trace:", " <TASK>",
                " mpmcring_destroy+0x1a4/0x2c0 [mpmcring]", " </TASK>",
                "---[ end trace 0000000000000000 ]---"]

    def known(self):
        own = Ownership()
        self.assertEqual(own.add_known_races(KNOWN, "kcsan"), [])
        return own

    def test_our_warn_inside_a_known_race_box(self):
        box = KCSAN_POLLWAKE.strip("\n").split("\n")
        k = box.index("read to 0xffffc90000173c50 of 4 bytes by task 463 on cpu 1:")
        reps = scan_reports(console("\n".join(box[:k] + self.OUR_WARN + box[k:])),
                            self.known())
        self.assertEqual([r.header[:13] for r in reps], ["BUG: KCSAN: d", "WARNING: CPU:"])
        self.assertTrue(reps[1].ours, reps[1].block)  # the WARN: its trace names us
        self.assertIn("mpmcring_destroy", reps[1].where)
        self.assertFalse(reps[0].ours)  # the box: still the known race, whole
        self.assertIn(" do_sys_poll+0x55d/0x6a0", reps[0].block)

    def test_box_keeps_the_access_after_another_report(self):
        # The base-kernel WARN comes between the two accesses; the second
        # access, ours at frame 2, is after it.
        box = KCSAN_LIST.strip("\n").split("\n")
        k = box.index("read to 0xffff888004f1b9a8 of 8 bytes by task 212 on cpu 0:")
        body = box[:3] + box[k:]  # only the second access is ours
        k = body.index("read to 0xffff888004f1b9a8 of 8 bytes by task 212 on cpu 0:")
        base = BASE_WARN.strip("\n").split("\n")
        reps = scan_reports(console("\n".join(body[:k] + base + body[k:])))
        self.assertEqual(len(reps), 2)
        self.assertIn("frame 2 of an access", reps[0].where or "")
        self.assertFalse(reps[1].ours)  # the base WARN stays a note

    def test_line_between_separator_and_kasan_header(self):
        text = "\n".join([
            SEP, "mpmcring: ring r1 destroyed",
            "BUG: KASAN: use-after-free in remove_wait_queue+0x1c/0xa0",
            "Read of size 8 at addr ffff888004a1b9a8 by task poll/211", "Call Trace:", " <TASK>",
            " remove_wait_queue+0x1c/0xa0", " poll_freewait+0x4a/0xb0", " </TASK>", "",
            "Freed by task 210:", " kfree+0x8a/0x1a0", " ring_free+0x3d/0x90 [mpmcring]", SEP])
        reps = scan_reports(console(text))
        self.assertEqual(len(reps), 1)
        self.assertTrue(reps[0].ours)
        self.assertIn("ring_free", reps[0].where)

    def test_two_warnings_printed_at_once(self):
        # Both headers first, then the base one's trace, then ours.
        base = BASE_WARN.strip("\n").split("\n")
        lines = base[:1] + self.OUR_WARN[:1] + base[1:] + self.OUR_WARN[1:]
        reps = scan_reports(console("\n".join(lines)))
        self.assertEqual(len(reps), 2)
        ours = [r for r in reps if r.header.startswith("WARNING: CPU: 1")]
        self.assertTrue(ours[0].ours, ours[0].block)

    def test_panic_between_an_oops_and_its_trace(self):
        # kcsan guest (main, 03:02): the second int3 Oops's trace came
        # after the first CPU's panic line.
        text = "\n".join([
            "int3: 0000 [#2] PREEMPT SMP", "CPU: 0 PID: 301 Comm: events",
            "RIP: 0010:syscall_exit_to_user_mode_prepare+0xda/0x11e", "Call Trace:",
            "Kernel panic - not syncing: Fatal exception in interrupt", " <TASK>",
            " syscall_exit_to_user_mode+0xa/0x1f", " mpr_exit+0x1/0x2 [mpmcring]", " </TASK>",
            "Modules linked in: mpmcring(O)", "---[ end trace 0000000000000000 ]---"])
        reps = scan_reports(console(text))
        self.assertEqual(len(reps), 2)
        self.assertIn(" mpr_exit+0x1/0x2 [mpmcring]", reps[0].block)
        self.assertIn("mpr_exit", reps[0].where)

    def test_hung_task_owner_in_the_locks_list(self):
        # Review should-fix 6: a kworker waits on a mutex our events
        # module holds; only the locks list names our code.
        text = "\n".join([
            "INFO: task kworker/0:1:12 blocked for more than 30 seconds.",
            "      Not tainted 6.1.192 #1", "task:kworker/0:1 state:D stack:0 pid:12",
            "Call Trace:", " <TASK>", " __mutex_lock+0x8e/0x7b0",
            " tracepoint_probe_unregister+0x3a/0x300", " </TASK>", "",
            "Showing all locks held in the system:", "1 lock held by insmod/80:",
            " #0: ffffffff82a0b2a8 (tracepoints_mutex){+.+.}-{3:3}, at: "
            "ev_register_all+0x30/0x90 [mpmcring_events]", "",
            "=============================================", "",
            "WARNING: CPU: 0 PID: 1 at kernel/foo.c:12 foo+0x1/0x2"])
        reps = scan_reports(console(text))
        self.assertEqual(len(reps), 2)
        self.assertTrue(reps[0].ours)
        self.assertIn("ev_register_all", reps[0].where)
        self.assertFalse(reps[1].ours)

    def test_separator_closing_a_box_before_an_oops(self):
        # The kcsan guest (main, 03:02): a box closed right before an
        # int3 Oops; the box ends there, the Oops is its own.
        box = KCSAN_DEEP.strip("\n").split("\n")
        text = "\n".join(box[:-1] + [SEP, "int3: 0000 [#1] PREEMPT SMP", " foo+0x1/0x2",
                                      " </TASK>", "mpmcring: later"])
        reps = scan_reports(console(text))
        self.assertEqual(len(reps), 2)
        self.assertNotIn("int3: 0000 [#1] PREEMPT SMP", reps[0].block)
        self.assertFalse(reps[0].ours)


class Leaks(unittest.TestCase):
    def test_ours_named_with_the_symbols_taken_before_unload(self):
        own = Ownership()
        own.add_symbols(["ffffffffa0014a10 t mpr_plant_leak\t[mpmcring_test]",
                         "ffffffffa0014a70 t plant_leak\t[mpmcring_test]"])
        leaks = scan_leaks(LEAKS.splitlines(), own)
        self.assertEqual([l.ours for l in leaks], [True, False])
        self.assertIn("from mpr_plant_leak+0x2c [mpmcring_test]", leaks[0].header)
        self.assertIn("(size 192)", leaks[0].header)
        self.assertIn("from acpi_os_allocate", leaks[1].header)

    def test_ours_without_symbols(self):
        leaks = scan_leaks(LEAKS.splitlines())
        self.assertTrue(leaks[0].ours)


if __name__ == "__main__":
    unittest.main()
