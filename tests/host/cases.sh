# SPDX-License-Identifier: GPL-2.0-only
# cases <test> <log>: the cases inside a test, as "ok|not ok <case>[ # SKIP
# why]" lines, so that each is a result of its own, by name (host/<test>/
# <case>), and the inventory notices one deleted or renamed as it does a
# KUnit case: the TAP lines of the plain build's unit tests (tests/host/
# tap.h; the sanitizer builds run the same cases), and the top-level tests
# of go test -v (its skips as skips, which the inventory must allow).
# Sourced by run.sh and by cases_test.sh.
cases() {
	case $1 in
	plain/*)
		awk '/^(not )?ok [0-9]+ [A-Za-z0-9_]+$/ { print ($1 == "ok" ? "ok" : "not ok"), $NF }' "$2"
		;;
	go/test_race)
		# Top-level only ("--- X: Name (1.00s)" at column 0); each
		# package's lines come together, its "ok|FAIL <path>" line last.
		# A skip's reason is the test's own last log line, printed
		# before its "--- SKIP" line (go test -v); log lines belong to
		# the test a "=== RUN|CONT|NAME|PAUSE <name>" or a top-level
		# "--- X: <name>" line named last (a subtest's are not its
		# parent's); a subtest's indented result is no log line.
		awk '/^=== RUN / { said[$3] = "" }
			/^=== (RUN|CONT|NAME|PAUSE) / { cur = $3; next }
			/^[ \t]+--- (PASS|FAIL|SKIP|BENCH): / { next }
			/^[ \t]+[^ \t]/ { l = $0; sub(/^[ \t]+/, "", l); said[cur] = l; next }
			/^--- (PASS|FAIL|SKIP): [A-Za-z0-9_]+ / {
				st = $2; t[++n] = $3; s[n] = st; why[n] = (st == "SKIP:") ? said[$3] : ""
				cur = $3
				next
			}
			/^(ok|FAIL)[ \t]+[^ \t]+\/[^ \t]+/ {
				k = split($2, p, "/")
				for (i = 1; i <= n; i++)
					print (s[i] == "FAIL:" ? "not ok" : "ok"), p[k] "/" t[i] \
						(s[i] == "SKIP:" ? " # SKIP " (why[i] == "" ? "(no reason given)" : why[i]) : "")
				n = 0
				split("", said)
			}' "$2"
		;;
	esac
}
