#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# run.sh's cases (tests/host/cases.sh) on made-up logs: the plain build's
# TAP cases, and go test -v's top-level tests with their skip reasons (a
# parent that skips after its subtests logged gives none of theirs, nor
# does a parallel test skipped after another's subtest result).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fails=0
# shellcheck source=cases.sh
. "$here/cases.sh"

# expect <test> <log> <want>: cases' output on <log> must be <want>.
expect() {
	local got
	got=$(cases "$1" "$2")
	if [ "$got" != "$3" ]; then
		printf 'FAIL: cases %s:\n--- want\n%s\n--- got\n%s\n' "$1" "$3" "$got"
		fails=$((fails + 1))
	fi
}

cat >"$t/tap.log" <<'TAP'
1..3
ok 1 t_first
# a comment
not ok 2 t_second
ok 3 t_third # SKIP not a case name
ok 4 t_fourth
TAP
expect plain/x_test "$t/tap.log" "ok t_first
not ok t_second
ok t_fourth"

# As go test -v 1.19 prints them (1.20 says "=== NAME" for "=== CONT").
cat >"$t/go.log" <<'GO'
=== RUN   TestParentSkipsAfterSubtests
=== RUN   TestParentSkipsAfterSubtests/a
    x_test.go:6: subtest a says this
--- SKIP: TestParentSkipsAfterSubtests (0.00s)
    --- PASS: TestParentSkipsAfterSubtests/a (0.00s)
=== RUN   TestParentSkipsWithReason
=== RUN   TestParentSkipsWithReason/a
    x_test.go:11: subtest a says this
=== CONT  TestParentSkipsWithReason
    x_test.go:12: the parent's reason
--- SKIP: TestParentSkipsWithReason (0.00s)
    --- PASS: TestParentSkipsWithReason/a (0.00s)
=== RUN   TestPlainSkip
    x_test.go:16: first
    x_test.go:17: plain reason
--- SKIP: TestPlainSkip (0.00s)
=== RUN   TestFails
    x_test.go:20: broken
--- FAIL: TestFails (0.00s)
FAIL
FAIL	example.com/m/one	0.003s
=== RUN   TestPlainSkip
--- SKIP: TestPlainSkip (0.00s)
=== RUN   TestPasses
=== PAUSE TestPasses
=== RUN   TestParallelSkip
=== PAUSE TestParallelSkip
=== CONT  TestPasses
=== RUN   TestPasses/sub
=== CONT  TestParallelSkip
--- PASS: TestPasses (0.00s)
    --- PASS: TestPasses/sub (0.00s)
--- SKIP: TestParallelSkip (0.00s)
PASS
ok  	example.com/m/two	0.003s
GO
expect go/test_race "$t/go.log" "ok one/TestParentSkipsAfterSubtests # SKIP (no reason given)
ok one/TestParentSkipsWithReason # SKIP x_test.go:12: the parent's reason
ok one/TestPlainSkip # SKIP x_test.go:17: plain reason
not ok one/TestFails
ok two/TestPlainSkip # SKIP (no reason given)
ok two/TestPasses
ok two/TestParallelSkip # SKIP (no reason given)"

echo "cases_test: $fails failed"
[ "$fails" = 0 ]
