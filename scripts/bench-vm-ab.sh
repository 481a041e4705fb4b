#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench-vm-ab: `make bench-vm` on two revisions in one sitting, rounds
# alternating A B A B ..., each revision with its own module, load generator,
# library and vmbench, on the same kernel, vCPUs, repetitions and records:
#
#   flock /tmp/mpmcring-vm.lock scripts/bench-vm-ab.sh [BEFORE [AFTER]]
#
# BEFORE defaults to c21c3e0 (main before the hot-path merge ef6452b),
# AFTER to HEAD. Each is cloned (git clone --shared) into build/vm-ab/<sha>.
# The guest command line is this tree's: its scripts/bench-vm.sh and
# scripts/lib.sh are copied over each clone's (c21c3e0's lack only the
# tsc=reliable word); MPMCRING_AB_OWN_SCRIPTS=1 keeps each clone's own.
# Knobs: MPMCRING_AB_ROUNDS (rounds, default 3), MPMCRING_AB_OUT (default
# bench/results/vm-ab), and scripts/bench-vm.sh's own (MPMCRING_BENCH_REPS,
# MPMCRING_BENCH_RECORDS, MPMCRING_BENCH_KERNEL, MPMCRING_BENCH_CPUS).
# Output: OUT/rounds/<n>-<A|B>/{output.txt,bench.jsonl}, OUT/meta.txt, and
# bench/report/vm_ab.py's OUT/summary.{md,json} (the table on stdout).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

before=${1:-c21c3e0} after=${2:-HEAD}
ROUNDS=${MPMCRING_AB_ROUNDS:-3}
out=${MPMCRING_AB_OUT:-$REPO/bench/results/vm-ab}
declare -A sha dir
for side in A B; do
	[ $side = A ] && rev=$before || rev=$after
	sha[$side]=$(git -C "$REPO" rev-parse --short=12 "$rev^{commit}") || die "no revision $rev"
	dir[$side]=$REPO/build/vm-ab/${sha[$side]}
	if [ ! -d "${dir[$side]}/.git" ]; then
		git clone -q --shared --no-checkout "$REPO" "${dir[$side]}"
	fi
	git -C "${dir[$side]}" checkout -q -f --detach "${sha[$side]}"
	git -C "${dir[$side]}" clean -q -fdx -e build/
	if [ "${MPMCRING_AB_OWN_SCRIPTS:-0}" != 1 ]; then
		cp "$REPO/scripts/bench-vm.sh" "$REPO/scripts/lib.sh" "${dir[$side]}/scripts/"
	fi
done

rm -rf "$out/rounds"
mkdir -p "$out/rounds"
{
	echo "before=$before ${sha[A]}"
	echo "after=$after ${sha[B]}"
	echo "rounds=$ROUNDS reps=${MPMCRING_BENCH_REPS:-5} records=${MPMCRING_BENCH_RECORDS:-100000}"
	echo "kernel=${MPMCRING_BENCH_KERNEL:-stock-6.1} cpus=${MPMCRING_BENCH_CPUS:-2}"
	echo "scripts=$([ "${MPMCRING_AB_OWN_SCRIPTS:-0}" = 1 ] && echo own || echo "this tree's bench-vm.sh, lib.sh")"
	echo "host=$(nproc) CPUs, $(uname -r); started $(date -u +%FT%TZ)"
} >"$out/meta.txt"

for ((n = 1; n <= ROUNDS; n++)); do
	for side in A B; do
		say "round $n/$ROUNDS: $side = ${sha[$side]}"
		r="$out/rounds/$n-$side"
		mkdir -p "$r"
		t0=$(date +%s) load=$(cut -d' ' -f1-3 /proc/loadavg)
		bash "${dir[$side]}/scripts/bench-vm.sh" >/dev/null
		cp "${dir[$side]}/bench/results/vm/"{output.txt,bench.jsonl} "$r/"
		c="${dir[$side]}/build/bench-vm/console.log"
		echo "round=$n side=$side sha=${sha[$side]} wall_s=$(($(date +%s) - t0)) load_before=$load" \
			"tsc_unstable=$(grep -c 'TSC unstable' "$c" || true)" >>"$out/meta.txt"
	done
done
echo "finished $(date -u +%FT%TZ)" >>"$out/meta.txt"
python3 "$REPO/bench/report/vm_ab.py" "$out"
