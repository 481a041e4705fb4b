#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Plots of a hostbench results folder with gnuplot (pngcairo or png):
#   rate_single.png, rate_batch.png    records/s by record size, a panel per mix
#   ratio_single.png, ratio_batch.png  ours/peer by record size, a panel per peer
#   ipr.png                            instructions per record (if ipr.csv)
#
#   plot.sh DIR
set -eu

dir=$1
sum="$dir/summary.csv"
[ -f "$sum" ] || { echo "plot: no $sum" >&2; exit 1; }
if ! command -v gnuplot >/dev/null 2>&1; then
	echo "plot: gnuplot is not installed: plots skipped" >&2
	exit 0
fi
term="pngcairo noenhanced size 1400,900 font ',10'"
gnuplot -e "set terminal pngcairo" >/dev/null 2>&1 || term="png noenhanced size 1400,900"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# summary.csv (bench/report/render.py): mix,producers,consumers,size,mode,
# impl,runs,median_rps,cv_rps,min_rps,max_rps,ours_over_impl,ratio_cv,
# ratio_min,ratio_max,...,base (the implementation the ratios are of,
# column 23; "ours" in files from before it) -> one file per series.
awk -F, -v t="$tmp" 'NR > 1 {
	base = $23 != "" ? $23 : "ours"
	print $4, $8 / 1e6, $10 / 1e6, $11 / 1e6 > (t "/rate." $5 "." $1 "." $6)
	if ($6 != base && $12 != "")
		print $4, $12, $14, $15 > (t "/ratio." $5 "." $6 "." $1)
	mixes[$1] = 1; impls[$6] = 1
} END {
	for (m in mixes) print m > (t "/mixes")
	for (i in impls) if (i != base) print i > (t "/peers")
	print base > (t "/base")
}' "$sum"
mixes=$(sort -V "$tmp/mixes" | tr '\n' ' ')
peers=$(sort "$tmp/peers" | tr '\n' ' ')
base=$(cat "$tmp/base")
impls="$base $peers"

layout() {	# panels -> "rows,cols"
	n=$1
	c=1
	while [ $((c * c)) -lt "$n" ]; do c=$((c + 1)); done
	r=$(((n + c - 1) / c))
	echo "$r,$c"
}

for mode in single batch; do
	ls "$tmp"/rate."$mode".* >/dev/null 2>&1 || continue
	what="one record per read"
	[ "$mode" = batch ] && what="batches of 32"

	g="$tmp/rate.$mode.gp"
	nm=$(echo $mixes | wc -w)
	{
		echo "set terminal $term"
		echo "set output '$dir/rate_$mode.png'"
		echo "set multiplot layout $(layout "$nm") title 'Records/s by record size, consume: $what (median, bars: min-max)'"
		echo "set logscale xy; set grid; set key top right; set xtics (16,64,256,1024,4096)"
		echo "set xlabel 'record bytes'; set ylabel 'Mrecords/s'"
		for m in $mixes; do
			echo "set title '$m'"
			printf "plot"
			sep=" "
			for i in $impls; do
				f="$tmp/rate.$mode.$m.$i"
				[ -f "$f" ] || continue
				printf "%s'%s' using 1:2:3:4 with yerrorlines title '%s'" "$sep" "$f" "$i"
				sep=", "
			done
			echo
		done
		echo "unset multiplot"
	} >"$g"
	gnuplot "$g"

	g="$tmp/ratio.$mode.gp"
	np=$(echo $peers | wc -w)
	{
		echo "set terminal $term"
		echo "set output '$dir/ratio_$mode.png'"
		echo "set multiplot layout $(layout "$np") title '$base / peer, records/s, consume: $what (median over rounds of the ratio within a round, bars: min-max; above 1: $base faster)'"
		echo "set logscale x; set logscale y; set grid; set key top left; set xtics (16,64,256,1024,4096)"
		echo "set yrange [*<0.5:2<*]"
		echo "set xlabel 'record bytes'; set ylabel '$base / peer'"
		for p in $peers; do
			echo "set title '$base / $p'"
			printf "plot 1 with lines lc rgb 'black' dt 2 notitle"
			for m in $mixes; do
				f="$tmp/ratio.$mode.$p.$m"
				[ -f "$f" ] || continue
				printf ", '%s' using 1:2:3:4 with yerrorlines title '%s'" "$f" "$m"
			done
			echo
		done
		echo "unset multiplot"
	} >"$g"
	gnuplot "$g"
done

if [ -f "$dir/ipr.csv" ]; then
	awk -F, 'NR > 1 && $1 != "none" { v[$1, $2] = $4; if (!($1 in s)) { s[$1] = 1; o[++n] = $1 } }
		END { for (k = 1; k <= n; k++) print o[k], v[o[k], "single"], v[o[k], "batch"] }' \
		"$dir/ipr.csv" >"$tmp/ipr.dat"
	gnuplot <<EOF
set terminal $term
set output '$dir/ipr.png'
set title 'Instructions per 64-byte record, produce + consume, one thread (callgrind)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics
set ylabel 'instructions / record'
set yrange [0:*]
plot '$tmp/ipr.dat' using 2:xtic(1) title 'one record at a time', '' using 3 title 'batches of 32'
EOF
fi
ls "$dir"/*.png 2>/dev/null | sed 's/^/plot: /'
