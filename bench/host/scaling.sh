#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The scaling sweep, for a machine with more cores than the development
# one, in one command that fits a fixed time:
#
#   bash bench/host/scaling.sh bundle           # here: build hostbench and
#                                               # pack it with its libraries
#   OUT=dir bash bench/host/scaling.sh run [SCALE]
#
# bundle builds bench/results/build/hostbench and copies it, every shared
# library it loads and the dynamic loader into bench/results/bundle/, so it
# runs on a machine that has neither DPDK nor the same C library. run uses
# that bundle when it is there and builds with make otherwise (the bundle
# holds a copy of this script: bash BUNDLE/scaling.sh run works on a
# machine that has the bundle alone); it writes
# under $OUT:
#   machine.txt      CPUs, topology, kernel, load before and after
#   limits/          the machine's limits (line transfer, CAS/s of 1, 2, 4
#                    ... every CPU on one line, copy rates) and the
#                    producers-only reservation rate of 1, 2, 4 ... every
#                    CPU (limits.csv, scale.csv)
#   sweep/           ours against every peer and ours_chunk (chunked
#                    reservation), interleaved rounds of a fixed time:
#                    mixes 1x1 2x2 4x4 8x8 and 15P1C, 16/64/256 B, one
#                    record and batches (runs.csv)
#   *.log            each step's output
# SCALE "small" is the same sweep cut down (two mixes, one size, two
# rounds) to try the script on a small machine. Each step runs under a
# timeout, and runs.csv is written as runs end: a step cut short still
# leaves what it measured. Reports are made afterwards, where python3 is:
#   python3 bench/report/report.py $OUT/sweep
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
bundle="$top/bench/results/bundle"
# Run from a bundle's own copy (a machine with no checkout of ours): the
# binary and its libraries sit beside the script.
[ -x "$here/hostbench" ] && [ -d "$here/lib" ] && bundle=$here

make_bundle() {
	make -s -C "$top/bench" hostbench || exit 2
	rm -rf "$bundle"
	mkdir -p "$bundle/lib"
	cp "$top/bench/results/build/hostbench" "$bundle/"
	# Every library the binary loads, and the loader that loads them: the
	# bundle does not depend on the other machine's C library.
	ldd "$bundle/hostbench" | awk '/=> \//{print $3} /^\t\//{print $1}' |
		while read -r lib; do cp -L "$lib" "$bundle/lib/"; done
	ls "$bundle/lib" | grep -q '^ld-linux' || exit 2
	cp "$here/scaling.sh" "$bundle/"
	git -C "$top" describe --always --dirty >"$bundle/commit.txt"
	echo "bundle: $bundle ($(du -sh "$bundle" | cut -f1))"
}

hostbench() {
	if [ -x "$bundle/hostbench" ]; then
		"$bundle"/lib/ld-linux-x86-64.so.2 --library-path "$bundle/lib" \
			"$bundle/hostbench" "$@"
	else
		"$top/bench/results/build/hostbench" "$@"
	fi
}

describe() {
	echo "date: $(date -u +%FT%TZ)"
	echo "kernel: $(uname -r)"
	echo "cpus online: $(nproc)"
	echo "loadavg: $(cat /proc/loadavg)"
	grep -m1 'model name' /proc/cpuinfo
	command -v lscpu >/dev/null && lscpu
	for c in /sys/devices/system/cpu/cpu[0-9]*; do
		[ -r "$c/topology/core_id" ] || continue
		printf '%s core %s package %s siblings %s\n' "${c##*/}" \
			"$(cat "$c/topology/core_id")" \
			"$(cat "$c/topology/physical_package_id")" \
			"$(cat "$c/topology/thread_siblings_list")"
	done
	[ -r "$bundle/commit.txt" ] && echo "bundle commit: $(cat "$bundle/commit.txt")"
}

run_sweep() {
	local out=${OUT:?set OUT to the results folder} scale=${1:-full}
	local mixes sizes rounds warm ms

	mkdir -p "$out"
	if [ ! -x "$bundle/hostbench" ]; then
		make -s -C "$top/bench" hostbench >"$out/build.log" 2>&1 || {
			echo "scaling: build failed (see $out/build.log)" >&2
			exit 2
		}
	fi
	describe >"$out/machine.txt" 2>&1
	if [ "$scale" = small ]; then
		mixes=1x1,2x2 sizes=64 rounds=2 warm=20 ms=60
	else
		mixes=1x1,2x2,4x4,8x8,15x1 sizes=16,64,256 rounds=5 warm=30 ms=150
	fi
	# The limits first (short): the model needs them whatever happens
	# after. A one-run plan, then limits.csv and scale.csv.
	echo "== limits and producers-only scaling"
	timeout 120 bash -c "$(declare -f hostbench); bundle='$bundle' top='$top'; \
		hostbench -m 1x1 -s 64 -M single -r 1 -w 20 -t 50 -o '$out/limits'" \
		>"$out/limits.log" 2>&1
	echo "limits: exit $?"
	tail -n 30 "$out/limits.log"
	echo "== sweep: -m $mixes -s $sizes -r $rounds -w $warm -t $ms"
	timeout 330 bash -c "$(declare -f hostbench); bundle='$bundle' top='$top'; \
		hostbench -m $mixes -s $sizes -r $rounds -w $warm -t $ms -i all,ours_chunk -l \
		-o '$out/sweep'" \
		>"$out/sweep.log" 2>&1
	echo "sweep: exit $?"
	# One line per configuration and round (each round's sweep is a
	# process of its own): runs.csv and the report have the medians.
	grep '^\[' "$out/sweep.log"
	echo "loadavg after: $(cat /proc/loadavg)" >>"$out/machine.txt"
}

case "${1:-}" in
bundle) make_bundle ;;
run) shift; run_sweep "$@" ;;
*)
	echo "usage: $0 bundle | run [small]" >&2
	exit 2
	;;
esac
