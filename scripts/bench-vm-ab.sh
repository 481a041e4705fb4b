#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench-vm-ab: `make bench-vm` on two revisions in one sitting, each
# with its own module, load generator, library and vmbench, on the same
# kernel, vCPUs, repetitions and records:
#
#   flock /tmp/mpmcring-vm.lock scripts/bench-vm-ab.sh [BEFORE [AFTER]]
#
# BEFORE defaults to c21c3e0 (main of 12-01 08:27), AFTER to HEAD. Each is
# cloned (git clone --shared) into build/vm-ab/<sha>; a kept clone is used
# again only while it still reaches its commit. Rounds alternate which side
# runs first (A B, B A, A B, ...), so a drift of the host falls on both.
# The guest command line and the measuring program are this tree's: its
# scripts/bench-vm.sh, scripts/lib.sh and bench/vm/vmbench.c are copied over
# each clone's, so both sides are measured and reported the same way
# (meta.txt records each clone's `git diff --stat` after the copy);
# MPMCRING_AB_OWN_SCRIPTS=1 keeps each clone's own (for a side whose library
# or tests/vm/vmtest.h this vmbench.c no longer builds against). Knobs: MPMCRING_AB_ROUNDS (rounds, default 3), MPMCRING_AB_OUT
# (default bench/results/vm-ab, not versioned), and scripts/bench-vm.sh's own
# (MPMCRING_BENCH_REPS, MPMCRING_BENCH_RECORDS, MPMCRING_BENCH_KERNEL,
# MPMCRING_BENCH_CPUS).
# Output: OUT/rounds/<n>-<A|B>/output.txt, OUT/meta.txt, and vm_ab.py's
# OUT/summary.md (the table on stdout). Everything is written into
# OUT.partial and moved to OUT only when every round finished; a failure
# names its round and side and leaves the finished rounds in OUT.partial.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

before=${1:-c21c3e0} after=${2:-HEAD}
ROUNDS=${MPMCRING_AB_ROUNDS:-3}
out=${MPMCRING_AB_OUT:-$REPO/bench/results/vm-ab}
out=${out%/}
case "$(realpath -m "$out")/" in
"$REPO"/bench/data/*) die "bench/data/ holds committed runs; write elsewhere (MPMCRING_AB_OUT)" ;;
esac
tmp=$out.partial

python3 "$REPO/bench/report/vm_ab.py" --self-test >/dev/null || die "vm_ab.py --self-test failed"

shallow=$(git -C "$REPO" rev-parse --is-shallow-repository)
declare -A sha dir
for side in A B; do
	[ $side = A ] && rev=$before || rev=$after
	if ! sha[$side]=$(git -C "$REPO" rev-parse -q --verify --short=12 "$rev^{commit}"); then
		[ "$shallow" = true ] &&
			die "no revision $rev in this shallow clone: git fetch --unshallow"
		die "no revision $rev"
	fi
	dir[$side]=$REPO/build/vm-ab/${sha[$side]}
	if [ -d "${dir[$side]}" ] &&
		! git -C "${dir[$side]}" cat-file -e "${sha[$side]}^{commit}" 2>/dev/null; then
		say "build/vm-ab/${sha[$side]} no longer reaches its commit: cloning it again"
		rm -rf "${dir[$side]}"
	fi
	if [ ! -d "${dir[$side]}" ]; then
		git clone -q --shared --no-checkout "$REPO" "${dir[$side]}"
	fi
	git -C "${dir[$side]}" checkout -q -f --detach "${sha[$side]}"
	git -C "${dir[$side]}" clean -q -fdx -e build/
	if [ "${MPMCRING_AB_OWN_SCRIPTS:-0}" != 1 ]; then
		cp "$REPO/scripts/bench-vm.sh" "$REPO/scripts/lib.sh" "${dir[$side]}/scripts/"
		cp "$REPO/bench/vm/vmbench.c" "${dir[$side]}/bench/vm/"
	fi
done

rm -rf "$tmp"
mkdir -p "$tmp/rounds"
{
	echo "before=$before ${sha[A]}"
	echo "after=$after ${sha[B]}"
	echo "tree=$(git -C "$REPO" describe --always --dirty)"
	echo "rounds=$ROUNDS reps=${MPMCRING_BENCH_REPS:-5}" \
		"records=${MPMCRING_BENCH_RECORDS:-100000}"
	echo "kernel=${MPMCRING_BENCH_KERNEL:-stock-6.1} cpus=${MPMCRING_BENCH_CPUS:-2}"
	if [ "${MPMCRING_AB_OWN_SCRIPTS:-0}" = 1 ]; then
		echo "scripts=own"
	else
		echo "scripts=this tree's bench-vm.sh, lib.sh, vmbench.c"
	fi
	for side in A B; do
		echo "clone $side git diff --stat:"
		git -C "${dir[$side]}" diff --stat | sed 's/^/  /'
	done
	echo "qemu=$(qemu-system-x86_64 --version | head -n 1)"
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	echo "host=$(nproc) CPUs, $cpu, $(uname -r); started $(date -u +%FT%TZ)"
} >"$tmp/meta.txt"

for ((n = 1; n <= ROUNDS; n++)); do
	order="A B"
	((n % 2)) || order="B A"
	for side in $order; do
		say "round $n/$ROUNDS: $side = ${sha[$side]}"
		t0=$(date +%s) load=$(cut -d' ' -f1-3 /proc/loadavg)
		if ! bash "${dir[$side]}/scripts/bench-vm.sh" >/dev/null; then
			echo "failed round=$n side=$side $(date -u +%FT%TZ)" >>"$tmp/meta.txt"
			die "failed in round $n side $side; rounds 1..$((n - 1)) kept in $tmp" \
				"(see ${dir[$side]}/bench/results/vm/output.txt; if this tree's" \
				"vmbench.c did not build there: MPMCRING_AB_OWN_SCRIPTS=1)"
		fi
		mkdir -p "$tmp/rounds/$n-$side"
		cp "${dir[$side]}/bench/results/vm/output.txt" "$tmp/rounds/$n-$side/"
		echo "round=$n side=$side sha=${sha[$side]} order=${order// /}" \
			"wall_s=$(($(date +%s) - t0)) load_before=$load" >>"$tmp/meta.txt"
	done
done
echo "finished $(date -u +%FT%TZ)" >>"$tmp/meta.txt"
python3 "$REPO/bench/report/vm_ab.py" "$tmp"
rm -rf "$out"
mv "$tmp" "$out"
say "bench-vm-ab: $out"
