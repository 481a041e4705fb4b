# SPDX-License-Identifier: GPL-2.0-only
"""Unit tests of boot.py's steps that need no qemu."""
import os
import shlex
import subprocess
import tempfile
import time
import unittest

import boot
from marker_token import read_token, token_cpio

HERE = os.path.dirname(os.path.abspath(__file__))


class BootScratch(unittest.TestCase):
    def test_no_scratch_folder_left_on_an_early_error(self):
        # Review-harn17 nit: boot() made its scratch folder (which holds
        # the token's initrd) before its try, so an error writing
        # qemu.cmd left the folder behind.
        with tempfile.TemporaryDirectory() as d:
            saved, tempfile.tempdir = tempfile.tempdir, d
            try:
                with self.assertRaises(OSError):
                    boot.boot("stock-6.1", "vmlinuz", "initrd", os.path.join(d, "no-such-dir"))
            finally:
                tempfile.tempdir = saved
            self.assertEqual(os.listdir(d), [])

    def test_qemu_cmd_says_how_to_boot_with_the_token(self):
        # qemu.cmd boots the initramfs as built; the judged boot had the
        # token's archive in front: the file says how to make that initrd,
        # and that recipe works, read as the shell reads it (a folder with
        # a space in its name: review-harn18 nit 14).
        with tempfile.TemporaryDirectory(prefix="mpr boot ") as d:
            initrd = os.path.join(d, "initrd")
            with open(initrd, "wb") as f:
                f.write(b"\x1f\x8b initramfs")
            saved = boot.initrd_with_token
            boot.initrd_with_token = stop_here
            try:
                with self.assertRaises(OSError):
                    boot.boot("stock-6.1", "vmlinuz", initrd, d)
            finally:
                boot.initrd_with_token = saved
            with open(os.path.join(d, "qemu.cmd")) as f:
                recipe = [l for l in f.read().splitlines() if "marker_token.py" in l]
            self.assertEqual(len(recipe), 1, recipe)
            words = shlex.split(recipe[0].split("python3 ", 1)[1])
            self.assertEqual(words[:3], ["tests/harness/marker_token.py", initrd,
                                         os.path.join(d, "token")])
            out = os.path.join(d, "with-token")
            subprocess.run(["python3", os.path.join(HERE, "marker_token.py"), words[1], words[2],
                            out], check=True)
            with open(out, "rb") as f:
                # boot() wrote this boot's token before it stopped
                self.assertEqual(f.read(), token_cpio(read_token(d)) + b"\x1f\x8b initramfs")


def stop_here(*_):
    raise OSError("stopped before qemu")


# The stock 6.12 guest of a full check (2026-12-02; its whole console,
# CRLF and trailing blanks dropped): its
# kernel died 5.7 s into boot, before init, of an int3 qemu's MTTCG ran
# after the kernel had patched it away (the Code: line has 66 90 there).
with open(os.path.join(HERE, "fixtures", "stock-6.12-stale-int3.console.log")) as f:
    STALE_INT3 = f.read().splitlines()


def read(path):
    with open(path) as f:
        return f.read()


def edited(old, new, lines=STALE_INT3):
    out = [l.replace(old, new) for l in lines]
    assert out != lines, old
    return out


class StaleInt3BeforeInit(unittest.TestCase):
    def test_the_seen_crash(self):
        self.assertEqual(boot.stale_int3_before_init(STALE_INT3, []),
                         "an int3 at sched_clock_cpu+0x9/0x190 that was no longer there "
                         "(byte 66 now), before init")

    def test_the_6_1_header(self):
        self.assertIsNotNone(boot.stale_int3_before_init(edited("Oops: int3: 0000",
                                                                "int3: 0000"), []))

    def test_not_once_init_wrote_anything(self):
        # Only init.sh writes to the results port, before any insmod.
        self.assertIsNone(boot.stale_int3_before_init(STALE_INT3, ["@@MPMC"]))

    def test_not_an_int3_still_in_the_code(self):
        self.assertIsNone(boot.stale_int3_before_init(edited("53 66 <90>", "53 cc <90>"), []))

    def test_not_another_report_first(self):
        i = next(i for i, l in enumerate(STALE_INT3) if "Oops: int3" in l)
        warned = STALE_INT3[:i] + ["[    5.1] WARNING: CPU: 0 PID: 1 at kernel/foo.c:1 bar+0x1/0x2"]
        self.assertIsNone(boot.stale_int3_before_init(warned + STALE_INT3[i:], []))
        self.assertIsNone(boot.stale_int3_before_init(edited("0000 [#1]", "0000 [#2]"), []))
        self.assertIsNone(boot.stale_int3_before_init(
            edited("Oops: int3: 0000", "Oops: general protection fault: 0000"), []))

    def test_not_a_tainted_kernel(self):
        self.assertIsNone(boot.stale_int3_before_init(
            edited("rcu_preempt Not tainted", "rcu_preempt Tainted: G           O"), []))

    def test_not_with_any_module(self):
        # Nothing loads a module before init here: one listed is not this.
        self.assertIsNone(boot.stale_int3_before_init(
            edited("Modules linked in:", "Modules linked in: virtio_net"), []))
        self.assertIsNone(boot.stale_int3_before_init(
            [l for l in STALE_INT3 if "Modules linked in:" not in l], []))

    def test_not_without_its_end(self):
        self.assertIsNone(boot.stale_int3_before_init(
            [l for l in STALE_INT3 if "---[ end trace" not in l], []))

    def test_not_with_a_module_or_our_name(self):
        self.assertIsNone(boot.stale_int3_before_init(
            edited("Modules linked in:", "Modules linked in: mpmcring"), []))
        self.assertIsNone(boot.stale_int3_before_init(
            edited("rcu_gp_kthread+0x116/0x1b0", "mpr_reserve+0x16/0x1b0"), []))

    def test_not_a_rip_and_code_of_someone_else(self):
        i = next(i for i, l in enumerate(STALE_INT3) if "Code:" in l)
        apart = STALE_INT3[:i] + ["[    5.7] CPU: 0 something else"] + STALE_INT3[i:]
        self.assertIsNone(boot.stale_int3_before_init(apart, []))
        self.assertIsNone(boot.stale_int3_before_init(
            [l for l in STALE_INT3 if "RIP:" not in l], []))
        self.assertIsNone(boot.stale_int3_before_init(edited(" 00 e9 b8", " e9 b8"), []))

    def test_not_with_another_report_before_the_panic(self):
        i = next(i for i, l in enumerate(STALE_INT3) if "Call Trace:" in l)
        other = "[    5.71] WARNING: CPU: 0 PID: 1 at kernel/foo.c:1 bar+0x1/0x2"
        self.assertIsNone(boot.stale_int3_before_init(
            STALE_INT3[:i] + [other] + STALE_INT3[i:], []))
        i = next(i for i, l in enumerate(STALE_INT3) if "Kernel panic" in l)
        self.assertIsNone(boot.stale_int3_before_init(
            STALE_INT3[:i] + ["[    5.72] Oops: int3: 0000 [#2] PREEMPT SMP NOPTI"] +
            STALE_INT3[i:], []))

    def test_not_another_panic(self):
        self.assertIsNone(boot.stale_int3_before_init(
            edited("not syncing: Fatal exception in interrupt", "not syncing: Attempted to kill init"),
            []))

    def test_not_after_init_ran(self):
        i = next(i for i, l in enumerate(STALE_INT3) if "Oops: int3" in l)
        self.assertIsNone(boot.stale_int3_before_init(
            STALE_INT3[:i] + ["[    5.6] Run /init as init process"] + STALE_INT3[i:], []))

    def test_not_a_rip_without_a_symbol(self):
        self.assertIsNone(boot.stale_int3_before_init(
            edited("RIP: 0010:sched_clock_cpu+0x9/0x190", "RIP: 0010:0xffffffffc0001234"), []))

    def test_not_a_console_cut_short(self):
        for mark in ("Code:", "Modules linked in:", "---[ end trace", "Kernel panic"):
            i = next(i for i, l in enumerate(STALE_INT3) if mark in l)
            self.assertIsNone(boot.stale_int3_before_init(STALE_INT3[:i], []), mark)


class BootedOnceMore(unittest.TestCase):
    """run_guest(): a first boot of a Debian kernel that died of the stale
    int3 is kept in boot-1/ and the guest booted again, once; the second's
    result stands."""

    def run_guest(self, boots, kid="stock-6.12"):
        done = []

        def fake_boot(_kid, image, initrd, logdir, system_map=None):
            console, status, where = (boots[len(done)] + ([],))[:3]
            with open(os.path.join(logdir, "console.log"), "w") as f:
                f.write(console)
            open(os.path.join(logdir, "results.log"), "w").close()
            with open(os.path.join(logdir, "qemu.cmd"), "w") as f:
                f.write("qemu -serial file:%s -serial file:%s\n# ... %s <out>\n" % (
                    os.path.join(logdir, "console.log"), os.path.join(logdir, "results.log"),
                    shlex.quote(os.path.join(logdir, "token"))))
            with open(os.path.join(logdir, "token"), "w") as f:
                f.write("token-%d" % len(done))
            done.append(logdir)
            return status, 10.0, where

        with tempfile.TemporaryDirectory() as d:
            saved = boot.LOGS, boot.boot, dict(boot.BOOT_RETRIES)
            boot.LOGS, boot.boot = d, fake_boot
            boot.BOOT_RETRIES.clear()
            try:
                logdir = os.path.join(d, kid)
                os.makedirs(os.path.join(logdir, "boot-1"))  # an earlier run's
                with open(os.path.join(logdir, "boot-1", "console.log"), "w") as f:
                    f.write("an earlier run's first boot")
                with open(os.path.join(logdir, "dkms.log"), "w") as f:
                    f.write("dkms")
                got = boot.run_guest(kid, "/k", "/boot/vmlinuz-6.12", "initrd")
                retries = dict(boot.BOOT_RETRIES)
                files = {os.path.relpath(os.path.join(p, f), logdir): read(os.path.join(p, f))
                         for p, _, fs in os.walk(logdir) for f in fs}
            finally:
                boot.LOGS, boot.boot = saved[0], saved[1]
                boot.BOOT_RETRIES.clear()
                boot.BOOT_RETRIES.update(saved[2])
        return got, len(done), retries, files, logdir

    CRASH = "\n".join(STALE_INT3) + "\n"
    GOOD = "[    0.0] Linux version 6.12\n"

    def test_booted_again_once(self):
        got, n, retries, files, logdir = self.run_guest([(self.CRASH, "ok"), (self.GOOD, "ok")])
        self.assertEqual((got, n), (("ok", 20.0, []), 2))
        self.assertIn("sched_clock_cpu", retries["stock-6.12"])
        self.assertEqual(sorted(files), ["boot-1/console.log", "boot-1/qemu.cmd",
                                         "boot-1/results.log", "boot-1/token", "console.log",
                                         "dkms.log", "qemu.cmd", "results.log", "token"])
        self.assertEqual(files["boot-1/console.log"], self.CRASH)
        self.assertEqual(files["console.log"], self.GOOD)
        self.assertEqual((files["boot-1/token"], files["token"]), ("token-0", "token-1"))
        first = os.path.join(logdir, "boot-1")
        self.assertEqual(files["boot-1/qemu.cmd"].splitlines()[:2], [
            "qemu -serial file:%s/console.log -serial file:%s/results.log" % (first, first),
            "# ... %s <out>" % os.path.join(first, "token")])
        self.assertIn("Not judged", files["boot-1/qemu.cmd"])
        self.assertTrue(retries["stock-6.12"].endswith("boot-1/console.log)"), retries)

    def test_a_second_crash_stands(self):
        got, n, _, files, _ = self.run_guest([(self.CRASH, "ok"), (self.CRASH, "ok"),
                                              (self.GOOD, "ok")])
        self.assertEqual((got[0], n), ("ok", 2))
        self.assertEqual(files["console.log"], self.CRASH)

    def test_not_repeated_otherwise(self):
        for boots, kid in (([(self.GOOD, "ok")], "stock-6.12"),
                           ([(self.CRASH, "timeout")], "stock-6.12"),
                           ([(self.CRASH, "ok")], "debug")):
            got, n, retries, files, _ = self.run_guest(boots + [(self.GOOD, "ok")], kid)
            self.assertEqual((n, retries, got[0]), (1, {}, boots[0][1]), kid)
            self.assertNotIn("boot-1/console.log", files)

    HUNG = ("[    0.0] Linux version 6.1.0-57-amd64\n"
            "[    1.2] NET: Registered PF_INET protocol family\n")
    IN_INT3 = ["vCPU0 at ffffffff81155ce5 <hrtimer_start_range_ns+0x1d5>",
               "vCPU1 at ffffffff81c00ba0 <asm_exc_int3+0x0>"]

    def test_a_hang_in_the_int3_trap_before_init_boots_again(self):
        got, n, retries, files, _ = self.run_guest([(self.HUNG, "stuck-boot", self.IN_INT3),
                                                    (self.GOOD, "ok")], "stock-6.1")
        self.assertEqual((got[0], n), ("ok", 2))
        self.assertIn("vCPU1 at ffffffff81c00ba0 <asm_exc_int3+0x0>", retries["stock-6.1"])
        self.assertEqual(files["boot-1/console.log"], self.HUNG)

    def test_not_another_hang(self):
        elsewhere = [self.IN_INT3[0], "vCPU1 at ffffffff81c00ba0 <asm_sysvec_apic_timer+0x0>"]
        after_init = self.HUNG + "[    2.0] Run /init as init process\n"
        for boots, kid in (([(self.HUNG, "stuck-boot", elsewhere)], "stock-6.1"),
                           ([(after_init, "stuck-boot", self.IN_INT3)], "stock-6.1"),
                           ([(self.HUNG, "stuck-boot", self.IN_INT3)], "debug"),
                           ([(self.HUNG, "timeout", self.IN_INT3)], "stock-6.1")):
            got, n, retries, files, _ = self.run_guest(boots + [(self.GOOD, "ok")], kid)
            self.assertEqual((n, retries, got[0]), (1, {}, boots[0][1]), (kid, boots[0][1]))
            self.assertNotIn("boot-1/console.log", files)

    def test_6_1s_kprobe_loop_counts_as_the_trap(self):
        where = [self.IN_INT3[0], "vCPU1 at ffffffff81062a10 <kprobe_int3_handler+0x40>"]
        _, n, retries, _, _ = self.run_guest([(self.HUNG, "stuck-boot", where),
                                              (self.GOOD, "ok")], "stock-6.1")
        self.assertEqual(n, 2)
        self.assertIn("kprobe_int3_handler", retries["stock-6.1"])

    def test_the_summary_says_so(self):
        import io
        import contextlib
        import summary
        saved = dict(boot.BOOT_RETRIES)
        boot.BOOT_RETRIES["stock-6.12"] = "an int3 at x+0x9/0x10 (logs/stock-6.12/boot-1)"
        try:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                summary.print_summary(["stock-6.12"], "", [], [])
        finally:
            boot.BOOT_RETRIES.clear()
            boot.BOOT_RETRIES.update(saved)
        self.assertIn("note: stock-6.12 was booted twice: its first boot's kernel died of "
                      "an int3 at x+0x9/0x10 (logs/stock-6.12/boot-1)", out.getvalue())

class Reap(unittest.TestCase):
    """boot.reap(): a guest's own CPU time, with other children running."""

    def test_the_childs_own_cpu_time_and_status(self):
        spin = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"
        idle = subprocess.Popen(["sleep", "600"])
        busy = subprocess.Popen(["python3", "-c", spin + "raise SystemExit(3)"])
        try:
            self.assertIsNone(boot.reap(idle))
            deadline = time.monotonic() + 30
            used = None
            while used is None and time.monotonic() < deadline:
                used = boot.reap(busy)
                time.sleep(0.05)
            self.assertIsNotNone(used, "the busy child never ended")
            self.assertEqual(busy.returncode, 3)
            self.assertEqual(busy.wait(), 3)
            self.assertGreaterEqual(used, 0.3)
            self.assertIsNone(boot.reap(idle))
        finally:
            idle.kill()
            idle.wait()

    def test_a_stopped_guest_waited_for(self):
        idle = subprocess.Popen(["sleep", "600"])
        idle.kill()
        used = boot.reap(idle, block=True)
        self.assertIsNotNone(used)
        self.assertEqual(idle.returncode, -9)
        self.assertEqual(idle.wait(), -9)



if __name__ == "__main__":
    unittest.main()
