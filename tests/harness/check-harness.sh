#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make check-harness: the runner's own checks (selfcheck.sh: its unit tests,
# then faults planted in scratch copies, each of which must turn the run
# red) and the bugs planted in the protocol model (tests/model/plant.sh).
# Both run even when the first fails; the last line adds up their counts,
# so that CI reads one total.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
log=$top/build/logs/check-harness
mkdir -p "$log"
status=0 p=0 f=0 s=0
for part in "tests/harness/selfcheck.sh" "tests/model/plant.sh"; do
	name=$(basename "$part" .sh)
	bash "$top/$part" 2>&1 | tee "$log/$name.log" || status=1
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log/$name.log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "error: $part printed no result line (log: build/logs/check-harness/$name.log)"
		f=$((f + 1)) status=1
		continue
	fi
	read -r lp _ lf _ ls _ <<<"${line//,/}"
	p=$((p + lp)) f=$((f + lf)) s=$((s + ${ls:-0}))
done
[ "$f" -eq 0 ] || status=1
echo "$p passed, $f failed, $s skipped"
exit "$status"
