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
