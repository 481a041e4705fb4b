#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Instructions per record: hostbench -I under callgrind, one process for
# every implementation and consume mode; each measured stretch is dumped
# with its label (bench/host/ipr.c). bench/report/ reads the dumps.
#
#   ipr.sh HOSTBENCH OUTDIR RECORDS   -> OUTDIR/callgrind/ipr.out.N
set -eu

bin=$1 out=$2 n=$3
# An earlier run's dumps must not pass for this one's, skipped or failed.
rm -f "$out"/callgrind/ipr.out*
if ! command -v valgrind >/dev/null 2>&1; then
	echo "ipr: valgrind is not installed: instruction counts skipped" >&2
	exit 0
fi
mkdir -p "$out/callgrind"
if ! valgrind --tool=callgrind --callgrind-out-file="$out/callgrind/ipr.out" \
	"$bin" -I -n "$n" -s 64 >"$out/callgrind/ipr.log" 2>&1; then
	echo "ipr: hostbench -I failed under callgrind, see $out/callgrind/ipr.log" >&2
	exit 1
fi
