#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Instructions per record under callgrind: one thread produces then consumes
# 64-byte records (single: one at a time; batch: 32 produced, one batch
# consumed), for each implementation, and for "none", the benchmark's own
# work on a record without any ring (subtracted for the "ring only" column). Two runs of N1 and N2 records; the
# difference of their totals over N2 - N1 cancels the setup (ring creation,
# warm-up, the process itself). Instruction counts do not depend on the
# machine's load, unlike times.
#
#   ipr.sh HOSTBENCH OUTDIR N1 N2   -> OUTDIR/ipr.csv, ipr.json, ipr.txt,
#                                      OUTDIR/callgrind/*.out (callgrind_annotate them)
set -eu

bin=$1 out=$2 n1=$3 n2=$4
size=64
impls="ours rte_ring ck_ring vyukov"
mkdir -p "$out/callgrind"

if ! command -v valgrind >/dev/null 2>&1; then
	echo "ipr: valgrind is not installed: instruction counts skipped" >&2
	exit 0
fi
[ "$n2" -gt "$n1" ] || { echo "ipr: N2 must be larger than N1" >&2; exit 2; }

# Total instructions of one run.
count() {	# impl mode records
	f="$out/callgrind/$1.$2.$3.out"
	flag=
	[ "$2" = batch ] && flag=-b
	if ! valgrind --tool=callgrind --callgrind-out-file="$f" \
		"$bin" -1 "$1" -n "$3" -s "$size" $flag >"$f.log" 2>&1; then
		echo "ipr: $1 $2 $3 records failed under callgrind, see $f.log" >&2
		exit 1
	fi
	awk '/^summary:/ { print $2; found = 1; exit } END { if (!found) exit 1 }' "$f"
}

csv="$out/ipr.csv"
echo "impl,mode,size,records_1,instructions_1,records_2,instructions_2,instructions_per_record" >"$csv"
# "none": the benchmark's own work per record (fill, look, count), no ring.
for mode in single batch; do
	for impl in none $impls; do
		echo "ipr: $impl $mode: $n1 and $n2 records under callgrind" >&2
		i1=$(count "$impl" "$mode" "$n1")
		i2=$(count "$impl" "$mode" "$n2")
		awk -v i="$impl" -v m="$mode" -v s="$size" -v n1="$n1" -v n2="$n2" \
			-v a="$i1" -v b="$i2" 'BEGIN {
			printf "%s,%s,%d,%d,%d,%d,%d,%.1f\n", i, m, s, n1, a, n2, b, (b - a) / (n2 - n1) }' >>"$csv"
	done
done

# Table (ratios: peer instructions / ours, above 1 means ours executes
# fewer) and JSON.
awk -F, -v txt="$out/ipr.txt" -v json="$out/ipr.json" '
NR == 1 { next }
{
	ipr[$1, $2] = $8
	if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
	row[NR - 1] = $0
	rows = NR - 1
}
END {
	hdr = sprintf("Instructions per %d-byte record, produce + consume on one thread (callgrind, difference of two runs)\n", 64)
	hdr = hdr sprintf("%-10s %10s %10s %10s %10s %10s %10s\n", "impl", "single", "ring only", "batch(32)", "ring only", "single", "batch")
	hdr = hdr sprintf("%-10s %10s %10s %10s %10s %10s %10s\n", "", "", "", "", "", "x ours", "x ours")
	for (k = 1; k <= n; k++) {
		i = order[k]
		if (i == "none")
			continue
		hdr = hdr sprintf("%-10s %10.1f %10.1f %10.1f %10.1f %9.2fx %9.2fx\n", i,
			ipr[i, "single"], ipr[i, "single"] - ipr["none", "single"],
			ipr[i, "batch"], ipr[i, "batch"] - ipr["none", "batch"],
			ipr[i, "single"] / ipr["ours", "single"],
			ipr[i, "batch"] / ipr["ours", "batch"])
	}
	hdr = hdr sprintf("baseline (fill, look at, count a record; no ring): %.1f instructions\n", ipr["none", "single"])
	hdr = hdr "ring only = total - baseline. x ours = total of that implementation / total of ours: above 1, ours executes fewer.\n"
	printf "%s", hdr
	printf "%s", hdr > txt
	printf "{\n  \"size\": 64,\n  \"method\": \"callgrind Ir, (I(N2) - I(N1)) / (N2 - N1)\",\n  \"results\": [" > json
	for (r = 1; r <= rows; r++) {
		split(row[r], f, ",")
		printf "%s\n    {\"impl\": \"%s\", \"mode\": \"%s\", \"records_1\": %s, \"instructions_1\": %s, \"records_2\": %s, \"instructions_2\": %s, \"instructions_per_record\": %s, \"over_ours\": %.3f}", \
			(r > 1 ? "," : ""), f[1], f[2], f[4], f[5], f[6], f[7], f[8], f[8] / ipr["ours", f[2]] > json
	}
	printf "\n  ]\n}\n" > json
}' "$csv"
