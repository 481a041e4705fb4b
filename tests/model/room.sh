#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Model-checks the room wakeup (tests/model/room.pml) with spin: the two
# writers the module has (one that looks again after asking, one that
# does not) must never be left asleep with nobody to wake them, and each
# bug planted below must be caught, with the interleaving that shows it.
# Prints TAP; exit status non-zero when any test fails. A few seconds.
#
#   tests/model/room.sh
#
# Environment: MODEL_OUT (build folder; default build/model/room).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${MODEL_OUT:-$top/build/model/room}

# name | spin -D flags | expected: pass, or what spin must report | what
configs=(
"room|-DNONE|pass|a writer that asked and looked again is woken or finds the room, with a reclaim of someone else's running at any moment"
"room-last-want|-DLAST_WANT|pass|a non-blocking write's last want (no look after it): a consumer that saw its target wakes its poller"
"plant-reclaim-best-effort|-DPLANT_RECLAIM_BEST_EFFORT|invalid end state|the writer's reclaim gives up while another runs (that one read the slot before the commit): the module before room.pml"
"plant-no-w5|-DPLANT_NO_W5|invalid end state|no [W5] barrier: the writer's reclaim misses the commit, the consumer misses the target"
"plant-c6-release|-DPLANT_C6_RELEASE|invalid end state|the commit a store-release: [C6]'s load of room_at passes it"
"plant-no-ask|-DPLANT_NO_ASK|invalid end state|the consumer never asks: only the tick would wake the writer"
"plant-no-w7|-DLAST_WANT -DPLANT_NO_W7|assertion violated|no [W7] barrier: the kick sees the target but not the bit"
)

echo "1..${#configs[@]}"
n=0 failed=0
for c in "${configs[@]}"; do
	IFS='|' read -r name defs expect what <<<"$c"
	n=$((n + 1))
	d=$out/$name
	rm -rf "$d"
	mkdir -p "$d"
	cp "$here/room.pml" "$d/"
	# shellcheck disable=SC2086 # defs is words on purpose
	if ! (cd "$d" && spin $defs -a room.pml >spin.log 2>&1 &&
		cc -w -O2 -DSAFETY -o pan pan.c >cc.log 2>&1); then
		echo "not ok $n - $name: the verifier did not build"
		sed 's/^/# /' "$d/spin.log" "$d/cc.log" | tail -n 20
		failed=1
		continue
	fi
	(cd "$d" && ./pan -m100000) >"$d/pan.log" 2>&1
	errors=$(grep -oE 'errors: [0-9]+' "$d/pan.log" | awk '{print $2}')
	states=$(awk '/states, stored/ {print $1; exit}' "$d/pan.log")
	got=$(grep -oE 'invalid end state \(|assertion violated' "$d/pan.log" | head -n 1)
	got=${got% (}
	# (a search stopped at its first error says "not completed" too)
	if [ "${errors:-1}" = 0 ] &&
		grep -qE 'max search depth too small|Search not completed' "$d/pan.log"; then
		echo "not ok $n - $name: the search did not complete"
		failed=1
	elif [ "$expect" = pass ] && [ "${errors:-1}" = 0 ]; then
		echo "ok $n - $name: $what (${states:-?} states)"
		continue
	elif [ "$expect" != pass ] && [ "$got" = "$expect" ]; then
		echo "ok $n - $name: caught ($expect): $what (${states:-?} states)"
		continue
	else
		echo "not ok $n - $name: $what: expected ${expect}, got ${got:-no error} (${states:-?} states)"
		failed=1
	fi
	if [ -f "$d/room.pml.trail" ]; then
		# shellcheck disable=SC2086
		(cd "$d" && spin $defs -t -p room.pml) >"$d/trail.txt" 2>&1
		echo "# the interleaving ($d/trail.txt):"
		grep -E '^ *[0-9]+:.*proc' "$d/trail.txt" | sed 's/^ */#   /' | tail -n 40
	fi
done
exit $failed
