# SPDX-License-Identifier: GPL-2.0-only
"""Unit tests of common.py that need no guest."""
import os
import subprocess
import unittest

import common

LIB_SH = os.path.join(common.REPO, "scripts", "lib.sh")


def lib_sh_value(name):
    """A variable of scripts/lib.sh, as bash sees it after sourcing it."""
    p = subprocess.run(["bash", "-c", '. "$1" && printf "%s" "${!2-(unset)}"', "-", LIB_SH, name],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       check=False)
    if p.returncode != 0:
        raise AssertionError("sourcing scripts/lib.sh failed (%d): %s"
                             % (p.returncode, p.stderr.decode("utf-8", "replace")))
    return p.stdout.decode()


class GuestCmdline(unittest.TestCase):
    def test_common_words_match_lib_sh(self):
        # The words on every guest's command line are defined twice: the
        # runner's guests take common.py's, the benchmark and demo scripts'
        # guests (scripts/bench-*.sh, scripts/demo.sh) take lib.sh's. A word
        # added to one only (as tsc=reliable once was) leaves the other's
        # guests without it.
        shell = lib_sh_value("GUEST_CMDLINE_COMMON")
        self.assertNotEqual(shell, "(unset)", "scripts/lib.sh no longer sets GUEST_CMDLINE_COMMON")
        self.assertEqual(shell.split(), common.GUEST_CMDLINE_COMMON,
                         "GUEST_CMDLINE_COMMON differs: scripts/lib.sh has %r, "
                         "tests/harness/common.py has %r" % (shell, common.GUEST_CMDLINE_COMMON))

    def test_test_kernels_match_lib_sh(self):
        # .ci/run builds lib.sh's test kernels early, make check
        # common.py's: a kernel in one list only is built for nothing, or
        # not early.
        shell = lib_sh_value("TEST_KERNELS")
        self.assertNotEqual(shell, "(unset)", "scripts/lib.sh no longer sets TEST_KERNELS")
        self.assertEqual(tuple(shell.split()), common.TEST_KERNELS,
                         "TEST_KERNELS differs: scripts/lib.sh has %r, "
                         "tests/harness/common.py has %r" % (shell, common.TEST_KERNELS))

    def test_lib_sh_value_reads_a_variable(self):
        # The helper itself: a variable lib.sh sets is read, one it does not
        # is told apart from an empty one.
        self.assertEqual(os.path.realpath(lib_sh_value("REPO")), os.path.realpath(common.REPO))
        self.assertEqual(lib_sh_value("MPMCRING_NO_SUCH_VARIABLE"), "(unset)")


if __name__ == "__main__":
    unittest.main()
