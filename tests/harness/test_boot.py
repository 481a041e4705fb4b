# SPDX-License-Identifier: GPL-2.0-only
"""Unit tests of boot.py's steps that need no qemu."""
import os
import shlex
import subprocess
import tempfile
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


if __name__ == "__main__":
    unittest.main()


# The stock 6.12 guest of a full check (2026-12-02): its kernel died 5.7 s
# into boot, before init, of an int3 qemu's MTTCG ran after the kernel had
# patched it away (the Code: line has 66 90 there now).
STALE_INT3 = """\
[    5.701363] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI
[    5.701944] CPU: 1 UID: 0 PID: 18 Comm: rcu_preempt Not tainted 6.12.117+deb12-amd64 #1  Debian 6.12.117-1~deb12u1
[    5.702170] Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014
[    5.702295] RIP: 0010:sched_clock_cpu+0x9/0x190
[    5.702760] Code: 00 e9 b8 fe ff ff 66 66 2e 0f 1f 84 00 00 00 00 00 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 f3 0f 1e fa 41 54 55 53 66 <90> e8 41 ac f0 ff 48 03 05 a2 02 d2 01 48 89 c2 5b 48 89 d0 5d 41
[    5.715095] RSP: 0018:ffffc9000009be08 EFLAGS: 00000002
[    5.717773] Modules linked in:
[    5.718290] RIP: 0010:sched_clock_cpu+0x9/0x190
[    5.718592] Kernel panic - not syncing: Fatal exception in interrupt
""".splitlines()


class StaleInt3BeforeInit(unittest.TestCase):
    def test_the_seen_crash_is_qemus(self):
        why = boot.stale_int3_before_init(STALE_INT3, [])
        self.assertIn("sched_clock_cpu+0x9/0x190", why)
        self.assertIn("byte 66 now", why)

    def test_not_once_init_started(self):
        # init.sh's first marker comes before it loads anything of ours.
        self.assertIsNone(boot.stale_int3_before_init(
            STALE_INT3, ["@@MPMCRING INFO kernel=6.12.117+deb12-amd64 tok=x"]))
        self.assertIsNone(boot.stale_int3_before_init(
            STALE_INT3, ["@@MPMCRING INFO token=missing"]))

    def test_not_an_int3_still_in_the_code(self):
        live = [l.replace("53 66 <90>", "53 cc <90>") for l in STALE_INT3]
        self.assertIsNone(boot.stale_int3_before_init(live, []))

    def test_not_without_the_code_line(self):
        self.assertIsNone(boot.stale_int3_before_init(
            [l for l in STALE_INT3 if "Code:" not in l], []))

    def test_not_when_our_code_is_named(self):
        named = [l.replace("Modules linked in:", "Modules linked in: mpmcring")
                 for l in STALE_INT3]
        self.assertIsNone(boot.stale_int3_before_init(named, []))

    def test_not_another_crash(self):
        gpf = [l.replace("Oops: int3: 0000", "Oops: general protection fault: 0000")
               for l in STALE_INT3]
        self.assertIsNone(boot.stale_int3_before_init(gpf, []))


class BootedOnceMore(unittest.TestCase):
    """run_guest(): a first boot that died of the stale int3 is kept in
    boot-1/ and the guest booted again, once; the second's result stands."""

    def run_guest(self, consoles):
        boots = []

        def fake_boot(kid, image, initrd, logdir, system_map=None):
            with open(os.path.join(logdir, "console.log"), "w") as f:
                f.write(consoles[len(boots)])
            open(os.path.join(logdir, "results.log"), "w").close()
            boots.append(logdir)
            return "ok", 10.0, []

        with tempfile.TemporaryDirectory() as d:
            saved = boot.LOGS, boot.boot, dict(boot.BOOT_RETRIES)
            boot.LOGS, boot.boot = d, fake_boot
            boot.BOOT_RETRIES.clear()
            try:
                os.makedirs(os.path.join(d, "stock-6.12"))
                with open(os.path.join(d, "stock-6.12", "dkms.log"), "w") as f:
                    f.write("dkms")
                got = boot.run_guest("stock-6.12", None, "/boot/vmlinuz-6.12", "initrd")
                retries = dict(boot.BOOT_RETRIES)
                files = sorted(os.path.relpath(os.path.join(p, f), d)
                               for p, _, fs in os.walk(d) for f in fs)
            finally:
                boot.LOGS, boot.boot = saved[0], saved[1]
                boot.BOOT_RETRIES.clear()
                boot.BOOT_RETRIES.update(saved[2])
        return got, len(boots), retries, files

    def test_booted_again_once(self):
        crash = "\n".join(STALE_INT3) + "\n"
        got, n, retries, files = self.run_guest([crash, crash, crash])
        self.assertEqual(n, 2)
        self.assertEqual(got, ("ok", 20.0, []))
        self.assertIn("sched_clock_cpu", retries["stock-6.12"])
        self.assertEqual(files, ["stock-6.12/boot-1/console.log", "stock-6.12/boot-1/results.log",
                                 "stock-6.12/console.log", "stock-6.12/dkms.log",
                                 "stock-6.12/results.log"])

    def test_a_good_boot_is_not_repeated(self):
        got, n, retries, _ = self.run_guest(["[ 0.0] Linux version 6.12\n"])
        self.assertEqual((n, retries), (1, {}))
