# SPDX-License-Identifier: GPL-2.0-only
"""Unit tests of inventory.py: what fails when the results and the
inventory disagree (make check-harness runs them)."""
import os
import tempfile
import unittest

import inventory
from judge import exit_meaning

TEXT = """# a comment
kernels test debug,kcsan-6.12
kernels stock stock-6.1
kernels all test,stock
kunit test suite_a c1
kunit test suite_a c2
vm all prog one
vm all prog two
vm debug,stock-6.1 other x
step all boot
step stock dkms
host plain/lib_test
lint checkpatch
skip stock-6.1 vm/prog/two the guest is too small
"""


def results(**over):
    """A run where everything in TEXT ran once, as it should."""
    r = []
    for k in ("debug", "kcsan-6.12", "stock-6.1"):
        r += [("%s/boot" % k, "pass", "", ())]
        if k != "stock-6.1":
            r += [("%s/kunit/suite_a/c1" % k, "pass", "", ()),
                  ("%s/kunit/suite_a/c2" % k, "pass", "", ())]
        else:
            r += [("%s/dkms" % k, "pass", "", ())]
        two = "skip" if k == "stock-6.1" else "pass"
        r += [("%s/vm/prog/one" % k, "pass", "", ()), ("%s/vm/prog/two" % k, two, "small", ())]
        if k != "kcsan-6.12":
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
        self.scope = inventory.Scope(["debug", "kcsan-6.12", "stock-6.1"], [], True, True)

    def tearDown(self):
        os.unlink(self.path)

    def check(self, tests, scope=None, edits=None):
        return inventory.check(self.inv, scope or self.scope, tests, edits)

    def names(self, problems):
        return sorted(p[0] for p in problems)

    def test_all_there(self):
        self.assertEqual(self.inv.errors, [])
        problems, allowed, stale = self.check(results())
        self.assertEqual(problems, [])
        self.assertEqual(allowed, [("stock-6.1/vm/prog/two", "the guest is too small")])
        self.assertEqual(stale, [])

    def test_edits_empty_when_all_there(self):
        edits = []
        inventory.check(self.inv, self.scope, results(), edits)
        self.assertEqual(edits, [])

    def test_missing_suite_program_step_host_lint(self):
        drop = ("kcsan-6.12/kunit/suite_a/", "debug/vm/other/", "stock-6.1/dkms", "host/", "lint/")
        tests = [t for t in results() if not t[0].startswith(drop)]
        problems, _, _ = self.check(tests)
        self.assertEqual(self.names(problems), [
            "inventory/debug/vm/other", "inventory/host", "inventory/kcsan-6.12/kunit/suite_a",
            "inventory/lint", "inventory/stock-6.1/dkms"])
        self.assertTrue(all("missing" in p[1] for p in problems))

    def test_no_host_test_at_all_is_one_failure(self):
        tests = [t for t in results() if not t[0].startswith("host/")]
        tests.append(("host/run.sh", "fail", "tests/host/run.sh is not executable", ()))
        problems, _, _ = self.check(tests)
        self.assertEqual(self.names(problems), ["inventory/host"])

    def test_case_missing(self):
        tests = [t for t in results() if t[0] != "debug/kunit/suite_a/c2"]
        problems, _, _ = self.check(tests)
        self.assertEqual(self.names(problems), ["inventory/debug/kunit/suite_a/c2"])
        self.assertIn("missing: tests/inventory.txt:6 expects it", problems[0][1])

    def test_renamed_test_keeps_count_and_fails(self):
        # Review of issue 17, must-fix 4: one test replacing another kept
        # the count, and the run passed.
        ren = {"debug/vm/prog/two": "debug/vm/prog/three",
               "kcsan-6.12/kunit/suite_a/c2": "kcsan-6.12/kunit/suite_a/c3"}
        tests = [(ren.get(n, n), s, d, l) for n, s, d, l in results()]
        edits = []
        problems, _, _ = self.check(tests, edits=edits)
        self.assertEqual(self.names(problems), [
            "inventory/debug/vm/prog/three", "inventory/debug/vm/prog/two",
            "inventory/kcsan-6.12/kunit/suite_a/c2", "inventory/kcsan-6.12/kunit/suite_a/c3"])
        p = dict(problems)
        self.assertIn("add the line: vm debug prog three", p["inventory/debug/vm/prog/three"])
        self.assertIn("missing: tests/inventory.txt:8 expects it",
                      p["inventory/debug/vm/prog/two"])
        self.assertIn("add: kunit kcsan-6.12 suite_a c3", edits)
        self.assertIn("add: vm debug prog three", edits)
        # Lines that cover more kernels than the test vanished from are
        # kept for the others.
        self.assertTrue(any(e.endswith("kunit test suite_a c2: did not run on kcsan-6.12; keep it "
                                       "for debug") for e in edits), edits)

    def test_removed_everywhere_and_added_everywhere(self):
        tests = [(n.replace("/prog/two", "/prog/deux"), s, d, l) for n, s, d, l in results()]
        edits = []
        self.check(tests, edits=edits)
        self.assertEqual(edits, ["remove %s:8: vm all prog two" % inventory.rel(self.path),
                                 "add: vm all prog deux"])

    def test_program_skipped_whole(self):
        # Review should-fix 15: "1..0 # SKIP" was "did not run".
        tests = [t for t in results() if not t[0].startswith("debug/vm/other/")]
        tests.append(("debug/vm/other", "skip", "no BPF", ()))
        problems, _, _ = self.check(tests)
        self.assertEqual(self.names(problems), ["inventory/debug/vm/other",
                                                "inventory/debug/vm/other"])
        self.assertEqual(sorted(p[1].split(":")[0] for p in problems),
                         ["missing", "unexpected skip"])
        with open(self.path, "a") as f:
            f.write("skip debug vm/other no BPF on this kernel\n")
        self.inv = inventory.Inventory(self.path)
        problems, allowed, _ = self.check(tests)
        self.assertEqual(problems, [])
        self.assertEqual(allowed, [("stock-6.1/vm/prog/two", "the guest is too small"),
                                   ("debug/vm/other", "no BPF on this kernel")])

    def test_host_cases_of_a_test_skipped_whole(self):
        # A host test's cases are listed; when the test skipped as a
        # whole, as a skip line allows, they did not run, as allowed.
        with open(self.path, "a") as f:
            f.write("host plain/gave_up\nhost plain/gave_up/t_case\n")
        self.inv = inventory.Inventory(self.path)
        ran = results() + [("host/plain/gave_up", "pass", "", ()),
                           ("host/plain/gave_up/t_case", "pass", "", ())]
        self.assertEqual(self.check(ran)[0], [])
        skipped = results() + [("host/plain/gave_up", "skip", "no breakpoints", ())]
        problems, _, _ = self.check(skipped)
        # The skip is what fails (its cases did not run because of it).
        self.assertEqual(problems, [
            ("inventory/host/plain/gave_up", "unexpected skip: no breakpoints, and no skip line "
             "in tests/inventory.txt allows it")])
        with open(self.path, "a") as f:
            f.write("skip host */gave_up no breakpoints here\n")
        self.inv = inventory.Inventory(self.path)
        problems, allowed, _ = self.check(skipped)
        self.assertEqual(problems, [])
        self.assertIn(("host/plain/gave_up", "no breakpoints here"), allowed)
        # Passing, it must still have run its cases.
        problems, _, _ = self.check(ran[:-1])
        self.assertEqual(self.names(problems), ["inventory/host/plain/gave_up/t_case"])

    def test_whole_suite_missing_gives_no_removal_hints(self):
        tests = [t for t in results() if not t[0].startswith("kcsan-6.12/kunit/")]
        edits = []
        problems, _, _ = self.check(tests, edits=edits)
        self.assertEqual(self.names(problems), ["inventory/kcsan-6.12/kunit/suite_a"])
        self.assertEqual(edits, [])

    def test_ran_twice(self):
        tests = results() + [("debug/vm/prog/one", "pass", "", ())]
        problems, _, _ = self.check(tests)
        self.assertEqual(self.names(problems), ["inventory/debug/vm/prog/one"])
        self.assertIn("ran 2 times", problems[0][1])

    def test_counts_are_refused(self):
        with open(self.path, "a") as f:
            f.write("vm all write 7\n")
        inv = inventory.Inventory(self.path)
        self.assertEqual(len(inv.errors), 1, inv.errors)
        self.assertIn("list each test by its name", inv.errors[0])

    def test_kernels_spec(self):
        self.assertEqual(self.inv.kernels_spec({"debug", "kcsan-6.12", "stock-6.1"}), "all")
        self.assertEqual(self.inv.kernels_spec({"debug", "kcsan-6.12"}), "test")
        self.assertEqual(self.inv.kernels_spec({"debug", "stock-6.1"}), "stock,debug")

    def test_unexpected(self):
        tests = results() + [("kcsan-6.12/vm/other/x", "pass", "", ()),
                             ("debug/kunit/suite_b/c", "pass", "", ()),
                             ("debug/rmmod/mpmcring_loadgen", "pass", "", ()),
                             ("host/asan/new", "pass", "", ())]
        problems, _, _ = self.check(tests)
        self.assertEqual(self.names(problems), [
            "inventory/debug/kunit/suite_b", "inventory/debug/rmmod/mpmcring_loadgen",
            "inventory/host/asan/new", "inventory/kcsan-6.12/vm/other"])
        self.assertTrue(all("unexpected" in p[1] for p in problems))
        self.assertIn("add the lines:\nkunit debug suite_b c", dict(problems)[
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
        tests = [t for t in results() if not t[0].startswith("kcsan-6.12/")]
        problems, _, _ = self.check(tests)
        self.assertEqual(self.names(problems), ["inventory/kcsan-6.12"])
        self.assertIn("build/kernel-kcsan-6.12", problems[0][1])
        tests += [("kcsan-6.12/boot", "fail", "stuck", ()), ("kcsan-6.12/reports", "pass", "", ())]
        problems, _, _ = self.check(tests)
        self.assertEqual(self.names(problems), ["inventory/kcsan-6.12"])
        self.assertIn("kcsan-6.12/boot above", problems[0][1])
        # Init got its first INFO lines out, then died: the guest's own
        # checks of what it had (detectors, cpus) ran, its tests did not.
        tests += [("kcsan-6.12/detectors", "pass", "", ()), ("kcsan-6.12/cpus", "fail", "died", ())]
        problems, _, _ = self.check(tests)
        self.assertEqual(self.names(problems), ["inventory/kcsan-6.12"])
        self.assertIn("kcsan-6.12/boot above", problems[0][1])

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

    def test_demo_step(self):
        with open(self.path, "a") as f:
            f.write("step stock-6.1 demo\n")
        inv = inventory.Inventory(self.path)
        tests = results()
        problems, _, _ = inventory.check(inv, self.scope, tests)
        self.assertEqual(self.names(problems), ["inventory/stock-6.1/demo"])
        # MPMCRING_DEMO=0: not asked for, not missing, and the summary says so
        scope = inventory.Scope(["debug", "kcsan-6.12", "stock-6.1"], [], True, True, False)
        problems, _, _ = inventory.check(inv, scope, tests)
        self.assertEqual(problems, [])
        self.assertIn("no demo (MPMCRING_DEMO=0)", scope.describe(inv))
        problems, _, _ = inventory.check(inv, self.scope,
                                         tests + [("stock-6.1/demo", "pass", "", ())])
        self.assertEqual(problems, [])
        # The demo's result alone does not hide a stock guest that never ran
        tests = [t for t in tests if not t[0].startswith("stock-6.1/")]
        tests += [("stock-6.1/boot", "fail", "stuck", ()), ("stock-6.1/demo", "pass", "", ())]
        problems, _, _ = inventory.check(inv, self.scope, tests)
        self.assertEqual(self.names(problems), ["inventory/stock-6.1"])

    def test_bad_lines(self):
        with open(self.path, "a") as f:
            f.write("kunit nosuch suite_c c\nvm all prog one\nkunit all x\nfoo bar\n")
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



class InventoryLines(unittest.TestCase):
    """Review-harn17 nit: logs without their token file (older runs,
    copied artifacts) gave no lines and no word why."""

    def ran(self, token, results=True):
        import contextlib
        import io

        import common
        import inventory_lines
        import judge
        from marker_token import write_token
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "stock-6.1"))
            if results:
                with open(os.path.join(d, "stock-6.1", "results.log"), "w") as f:
                    f.write("@@MPMCRING BEGIN vm p t=1 tok=%s\n1..1\nok 1 a\n"
                            "@@MPMCRING END vm p rc=0 t=2 tok=%s\n" % (TOK, TOK))
            if token:
                write_token(os.path.join(d, "stock-6.1"), token)
            err = io.StringIO()
            # ran_tests() gives common and judge a results object of its
            # own: the other tests' stays theirs.
            saved = common.R, judge.R
            try:
                with contextlib.redirect_stderr(err):
                    tests, _ = inventory_lines.ran_tests(d, "stock-6.1")
            finally:
                common.R, judge.R = saved
        return tests, err.getvalue()

    def test_lines_with_the_token(self):
        self.assertEqual(self.ran(TOK), ({("vm", "p", "a")}, ""))

    def test_no_token_file_warns(self):
        tests, err = self.ran(None)
        self.assertEqual(tests, set())
        self.assertIn("stock-6.1: no token file", err)

    def test_no_logs_no_warning(self):
        # Review-harn18 nit 13: a guest that left no results.log has no
        # token to miss.
        self.assertEqual(self.ran(None, results=False), (set(), ""))

    def test_cut_kunit_log_names_its_case_and_keeps_stdout_clean(self):
        # Issue 17: a 6.1 case whose debugfs log was cut is listed by its
        # own name (from the console), not as "ok 2 basic_b"; the judge's
        # note that it was cut goes to stderr, not among the lines.
        import contextlib
        import io

        import common
        import inventory_lines
        import judge
        from marker_token import write_token
        from test_parse import OVERFLOW, kunit_results
        text, console = kunit_results("mpmcring_basic", OVERFLOW)
        with tempfile.TemporaryDirectory() as d:
            k = os.path.join(d, "debug")
            os.makedirs(k)
            with open(os.path.join(k, "results.log"), "w") as f:
                f.write("@@MPMCRING INFO kernel=6.1.0-57-amd64 tok=%s\n"
                        "@@MPMCRING BEGIN kunit mpmcring_basic t=1 tok=%s\n%s"
                        "@@MPMCRING END kunit mpmcring_basic rc=0 t=2 tok=%s\n" % (
                            TOK, TOK, text, TOK))
            with open(os.path.join(k, "console.log"), "w") as f:
                f.write("".join(l + "\n" for l in console))
            write_token(k, TOK)
            out, err = io.StringIO(), io.StringIO()
            saved = common.R, judge.R
            try:
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    tests, _ = inventory_lines.ran_tests(d, "debug")
            finally:
                common.R, judge.R = saved
        self.assertEqual(tests, {("kunit", "mpmcring_basic", "basic_" + c) for c in "abc"})
        self.assertEqual(out.getvalue(), "")
        self.assertEqual(err.getvalue(), "")  # a cut case fails: no note


TOK = "0123456789abcdef0123456789abcdef"


if __name__ == "__main__":
    unittest.main()
