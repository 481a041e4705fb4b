# SPDX-License-Identifier: GPL-2.0-only
"""Unit tests of common.py that need no guest."""
import os
import subprocess
import tempfile
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


class HostTscKhz(unittest.TestCase):
    """The guests' TSC rate from the host's, only when the host's kernel
    knows it exactly: a guest that measures it at boot on a busy host can
    be off by 6x, and its clock with it. The runner's guests take
    common.py's words, the benchmark and demo guests lib.sh's: the two
    must agree on every cpuinfo."""

    KNOWN = ("processor\t: 0\ncpu MHz\t\t: 2596.120\n"
             "flags\t\t: fpu tsc constant_tsc tsc_known_freq nonstop_tsc\n"
             "processor\t: 1\ncpu MHz\t\t: 1200.000\n"
             "flags\t\t: fpu tsc constant_tsc nonstop_tsc\n")
    CASES = {
        "known": KNOWN,
        "unknown": "cpu MHz\t\t: 3400.000\nflags\t\t: fpu tsc constant_tsc\n",
        "no rate": "flags\t\t: tsc_known_freq\n",
        "no flags": "cpu MHz\t\t: 3400.000\n",
        "zero rate": "cpu MHz\t\t: 0.000\nflags\t\t: tsc_known_freq\n",
        "bad rate": "cpu MHz\t\t: 2.5.9\nflags\t\t: tsc_known_freq\n",
        "flag as a prefix": "cpu MHz\t\t: 3400.000\nflags\t\t: tsc_known_freq_x\n",
        "integer rate": "cpu MHz\t\t: 3400\nflags\t: tsc tsc_known_freq\n",
        "measured clock": "cpu MHz\t\t: 3400.000\nflags\t\t: tsc_known_freq aperfmperf\n",
    }

    def path(self, text):
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write(text)
        self.addCleanup(os.unlink, f.name)
        return f.name

    def no_cpufreq(self):
        return os.path.join(tempfile.gettempdir(), "mpr-test-no-such-cpufreq-policy")

    def shell_words(self, cpuinfo, cpufreq):
        p = subprocess.run(["bash", "-c", '. "$1" && guest_tsc_words "$2" "$3"', "-", LIB_SH,
                            cpuinfo, cpufreq], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, check=False)
        self.assertEqual(p.returncode, 0, p.stderr.decode("utf-8", "replace"))
        return p.stdout.decode().split()

    def test_known_frequency_given(self):
        path = self.path(self.KNOWN)
        self.assertEqual(common.host_tsc_khz(path, self.no_cpufreq()), 2596120)
        self.assertEqual(common.guest_tsc_words(path, self.no_cpufreq()),
                         ["tsc_early_khz=2596120"])

    def test_unknown_frequency_not_given(self):
        for name in ("unknown", "no rate", "no flags", "zero rate", "bad rate",
                     "flag as a prefix", "measured clock"):
            self.assertIsNone(common.host_tsc_khz(self.path(self.CASES[name]), self.no_cpufreq()),
                              name)
        self.assertIsNone(common.host_tsc_khz("/nonexistent/cpuinfo", self.no_cpufreq()))
        # Bytes that are no UTF-8 (a model name a hypervisor set) are no error.
        with tempfile.NamedTemporaryFile("wb", delete=False) as f:
            f.write(b"model name\t: \xff\xfe\n" + self.KNOWN.encode())
        self.addCleanup(os.unlink, f.name)
        self.assertEqual(common.host_tsc_khz(f.name, self.no_cpufreq()), 2596120)
        self.assertEqual(self.shell_words(f.name, self.no_cpufreq()), ["tsc_early_khz=2596120"])

    def test_cpufreq_hides_the_rate(self):
        # With cpufreq, "cpu MHz" is the core's current clock, not the TSC's.
        policy = tempfile.mkdtemp(prefix="mpr-test-policy0.")
        self.addCleanup(os.rmdir, policy)
        self.assertIsNone(common.host_tsc_khz(self.path(self.KNOWN), policy))
        self.assertEqual(self.shell_words(self.path(self.KNOWN), policy), [])

    def test_lib_sh_agrees(self):
        for name, text in sorted(self.CASES.items()):
            path = self.path(text)
            self.assertEqual(self.shell_words(path, self.no_cpufreq()),
                             common.guest_tsc_words(path, self.no_cpufreq()), name)
        self.assertEqual(self.shell_words("/nonexistent/cpuinfo", self.no_cpufreq()), [])
        self.assertEqual(lib_sh_value("GUEST_CMDLINE_TSC").split(), common.guest_tsc_words())


if __name__ == "__main__":
    unittest.main()
