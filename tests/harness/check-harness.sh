#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make check-harness: the runner's own checks (selfcheck.sh: its unit tests,
# then faults planted in scratch copies, each of which must turn the run
# red) and the bugs planted in the protocol model (tests/model/plant.sh).
# Both run even when the first fails; the last line adds up their counts,
# so that CI reads one total.
#
# The two run at once: selfcheck.sh runs two guests at a time (a TCG
# guest of make check used 0.6 to 0.9 host CPUs on average, less while it
# boots or sleeps), and the model's plants (each a compiler, then a
# search, on one CPU; one per CPU at once) use what the guests leave,
# below their priority (MPMCRING_PLANT_NICE, default 10: the guests'
# plants have wall-clock windows, the model's plants no time limit). The
# plants' lines are printed after selfcheck.sh's, as before.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
log=$top/build/logs/check-harness
mkdir -p "$log"
status=0 p=0 f=0 s=0
# Its own process group, so that an interrupt stops its compilers and
# searches too, not only the shell that runs them.
nice_n=${MPMCRING_PLANT_NICE:-10}
[[ "$nice_n" =~ ^([0-9]|1[0-9])$ ]] ||
	{ echo "error: MPMCRING_PLANT_NICE must be a niceness from 0 to 19, not '$nice_n'" >&2; exit 2; }
setsid nice -n "$nice_n" bash "$top/tests/model/plant.sh" >"$log/plant.log" 2>&1 &
plants=$!
trap 'kill -TERM -- -"$plants" 2>/dev/null; exit 130' INT
trap 'kill -TERM -- -"$plants" 2>/dev/null; exit 143' TERM
echo "check-harness: the model's plants run beside selfcheck.sh (their lines come at the end; log build/logs/check-harness/plant.log)"
bash "$top/tests/harness/selfcheck.sh" 2>&1 | tee "$log/selfcheck.log" || status=1
wait "$plants" || status=1
cat "$log/plant.log"
for name in selfcheck plant; do
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log/$name.log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "error: $name.sh printed no result line (log: build/logs/check-harness/$name.log)"
		f=$((f + 1)) status=1
		continue
	fi
	read -r lp _ lf _ ls _ <<<"${line//,/}"
	p=$((p + lp)) f=$((f + lf)) s=$((s + ${ls:-0}))
done
[ "$f" -eq 0 ] || status=1
echo "$p passed, $f failed, $s skipped"
exit "$status"
