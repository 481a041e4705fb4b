# SPDX-License-Identifier: GPL-2.0-only
"""Unit tests of inventory.py: what fails when the results and the
inventory disagree (make check-harness runs them)."""
import os
import tempfile
import unittest

import inventory
from judge import exit_meaning

TEXT = """# a comment
kernels test debug,kcsan
kernels stock stock-6.1
kernels all test,stock
kunit test suite_a 2
vm all prog 2
vm debug,stock-6.1 other 1
step all boot
step stock dkms
host plain/lib_test
lint checkpatch
skip stock-6.1 vm/prog/two the guest is too small
"""


def results(**over):
    """A run where everything in TEXT ran once, as it should."""
    r = []
    for k in ("debug", "kcsan", "stock-6.1"):
        r += [("%s/boot" % k, "pass", "", ())]
        if k != "stock-6.1":
            r += [("%s/kunit/suite_a/c1" % k, "pass", "", ()),
                  ("%s/kunit/suite_a/c2" % k, "pass", "", ())]
        else:
            r += [("%s/dkms" % k, "pass", "", ())]
        two = "skip" if k == "stock-6.1" else "pass"
        r += [("%s/vm/prog/one" % k, "pass", "", ()), ("%s/vm/prog/two" % k, two, "small", ())]
        if k != "kcsan":
            r += [("%s/vm/other/x" % k, "pass", "", ())]
    r += [("host/plain/lib_test", "pass", "", ()), ("lint/checkpatch", "pass", "", ()),
          ("build/debug", "pass", "", ())]
    return r


class Inventory(unittest.TestCase):
    def setUp(self):
        fd, self.path = tempfile.mkstemp()
        with os.fdopen(fd, "w") as f:
            f.write(TEXT)
        self.inv = inventory.Inventory(self.path)
        self.scope = inventory.Scope(["debug", "kcsan", "stock-6.1"], [], True, True)

    def tearDown(self):
        os.unlink(self.path)

    def check(self, tests, scope=None):
        return inventory.check(self.inv, scope or self.scope, tests)

    def names(self, problems):
        return sorted(p[0] for p in problems)

    def test_all_there(self):
        self.assertEqual(self.inv.errors, [])
        problems, allowed, stale = self.check(results())
        self.assertEqual(problems, [])
        self.assertEqual(allowed, [("stock-6.1/vm/prog/two", "the guest is too small")])
        self.assertEqual(stale, [])

    def test_missing_suite_program_step_host_lint(self):
        drop = ("kcsan/kunit/suite_a/", "debug/vm/other/", "stock-6.1/dkms", "host/", "lint/")
        tests = [t for t in results() if not t[0].startswith(drop)]
        problems, _, _ = self.check(tests)
        self.assertEqual(self.names(problems), [
            "inventory/debug/vm/other", "inventory/host", "inventory/kcsan/kunit/suite_a",
            "inventory/lint", "inventory/stock-6.1/dkms"])
        self.assertTrue(all("missing" in p[1] for p in problems))

    def test_no_host_test_at_all_is_one_failure(self):
        tests = [t for t in results() if not t[0].startswith("host/")]
        tests.append(("host/run.sh", "fail", "tests/host/run.sh is not executable", ()))
        problems, _, _ = self.check(tests)
        self.assertEqual(self.names(problems), ["inventory/host"])

    def test_count_changed(self):
        tests = [t for t in results() if t[0] != "debug/kunit/suite_a/c2"]
        problems, _, _ = self.check(tests)
        self.assertEqual(self.names(problems), ["inventory/debug/kunit/suite_a"])
        self.assertIn("1 cases ran, tests/inventory.txt:5 expects 2", problems[0][1])

    def test_unexpected(self):
        tests = results() + [("kcsan/vm/other/x", "pass", "", ()),
                             ("debug/kunit/suite_b/c", "pass", "", ()),
                             ("debug/rmmod/mpmcring_loadgen", "pass", "", ()),
                             ("host/asan/new", "pass", "", ())]
        problems, _, _ = self.check(tests)
        self.assertEqual(self.names(problems), [
            "inventory/debug/kunit/suite_b", "inventory/debug/rmmod/mpmcring_loadgen",
            "inventory/host/asan/new", "inventory/kcsan/vm/other"])
        self.assertTrue(all("unexpected" in p[1] for p in problems))
        self.assertIn("add the line: kunit debug suite_b 1", dict(problems)[
            "inventory/debug/kunit/suite_b"])
        self.assertIn("add the line: host asan/new", dict(problems)["inventory/host/asan/new"])

    def test_unexpected_skip(self):
        tests = [(n, "skip" if n == "debug/vm/prog/one" else s, d, l)
                 for n, s, d, l in results()]
        problems, _, _ = self.check(tests)
        self.assertEqual(self.names(problems), ["inventory/debug/vm/prog/one"])

    def test_stale_skip_is_reported(self):
        tests = [(n, "pass" if n == "stock-6.1/vm/prog/two" else s, d, l)
                 for n, s, d, l in results()]
        problems, allowed, stale = self.check(tests)
        self.assertEqual((problems, allowed), ([], []))
        self.assertEqual([s.name for s in stale], ["vm/prog/two"])

    def test_kernel_that_never_booted_is_one_failure(self):
        tests = [t for t in results() if not t[0].startswith("kcsan/")]
        problems, _, _ = self.check(tests)
        self.assertEqual(self.names(problems), ["inventory/kcsan"])
        self.assertIn("build/kernel-kcsan", problems[0][1])
        tests += [("kcsan/boot", "fail", "stuck", ()), ("kcsan/reports", "pass", "", ())]
        problems, _, _ = self.check(tests)
        self.assertEqual(self.names(problems), ["inventory/kcsan"])
        self.assertIn("kcsan/boot above", problems[0][1])

    def test_subsets(self):
        scope = inventory.Scope(["debug"], ["other"], False, False)
        tests = [t for t in results() if t[0].startswith("debug/") and
                 not t[0].startswith("debug/vm/prog/")]
        problems, _, _ = self.check(tests, scope)
        self.assertEqual(problems, [])
        self.assertIn("kernels debug only", scope.describe(self.inv))
        # A program asked for that nothing knows of
        scope = inventory.Scope(["debug"], ["other", "nothere"], False, False)
        problems, _, _ = self.check(tests, scope)
        self.assertEqual(self.names(problems), ["inventory/debug/vm/nothere"])

    def test_bad_lines(self):
        with open(self.path, "a") as f:
            f.write("kunit nosuch suite_c 2\nvm all prog 3\nkunit all x zero\nfoo bar\n")
        inv = inventory.Inventory(self.path)
        self.assertEqual(len(inv.errors), 4, inv.errors)
        problems, _, _ = inventory.check(inv, self.scope, results())
        self.assertEqual(self.names(problems), ["inventory"])

    def test_the_real_inventory_parses(self):
        inv = inventory.Inventory(inventory.inventory_path())
        self.assertEqual(inv.errors, [])
        self.assertTrue(inv.entries)


class ExitStatus(unittest.TestCase):
    def test_meanings(self):
        self.assertEqual(exit_meaning(139), "killed by signal 11 (SIGSEGV)")
        self.assertIn("not executable", exit_meaning(126))
        self.assertEqual(exit_meaning(3), "exited with status 3")


if __name__ == "__main__":
    unittest.main()
