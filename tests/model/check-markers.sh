#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The model (tests/model/mpmcring.pml) and the protocol code name the same
# steps with marker comments, [M:<step>]. This fails when a marker is in one
# and not the other, or missing from the traceability table in
# docs/protocol.md, so a change to the protocol shows which model step to
# revisit (and a model step cannot outlive the code it stands for). It also
# fails when a marker in the code no longer sits inside the function the
# table names for it (the function was renamed, or the step moved), and
# when a marker appears more than once in the code. The consumer steps'
# second implementations (go/mpmcring, userspace/lib) may carry markers
# too: each must be one of the model's, and their code is fingerprinted
# like the protocol code's (below). The model's markers
# count only below its header comment (which lists them all), at its steps.
# And it fails when the code a marker marks has changed since the model was
# last reviewed against it: tests/model/markers.sum keeps a fingerprint of
# each marked statement (marker-statements.py); after reviewing the model
# step, record the new code with --update.
#
# Usage: check-markers.sh [--update] [model.pml]   (default: the model next
# to this script)
# MODEL_TOP: the tree whose proto/, kmod/ and docs/ are checked (default:
# this checkout; tests/model/markers-selftest.sh points it at a scratch copy).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=${MODEL_TOP:-$(cd "$here/../.." && pwd)}
update=0
if [ "${1:-}" = --update ]; then
	update=1
	shift
fi
model=${1:-$here/mpmcring.pml}
sums=$here/markers.sum
sources=("$top"/proto/*.h "$top"/kmod/*.c "$top"/kmod/*.h)
# the consumer steps again, in the Go package and the library
others=()
for f in "$top"/go/mpmcring/*.go "$top"/userspace/lib/*.c "$top"/userspace/lib/*.h; do
	case $f in *_test.go) ;; *) [ -f "$f" ] && others+=("$f") ;; esac
done
# "<marker> <file from the top> <hash> <statement>", for both kinds
fingerprints() {
	(cd "$top" && python3 "$here/marker-statements.py" \
		"${sources[@]#"$top"/}" "${others[@]#"$top"/}") | sort
}

markers() { { grep -ohE '\[M:[a-z0-9-]+\]' "$@" 2>/dev/null || true; } | sort -u; }

if [ $update = 1 ]; then
	fingerprints >"$sums"
	echo "recorded $(wc -l <"$sums") marked statements in ${sums#"$top"/}"
	exit 0
fi

code=$(markers "${sources[@]}")
# the model's steps: below the header comment, which repeats every marker
pml=$(awk 'body { print } !body && /^ \*\/$/ { body = 1 }' "$model" | markers /dev/stdin)
doc=$(markers "$top/docs/protocol.md")

fail=0
report() {	# report <what> <list>
	[ -z "$2" ] && return 0
	fail=1
	echo "$1:"
	printf '%s\n' "$2" | sed 's/^/    /'
}
report "in the protocol code (proto/, kmod/), not in the model" "$(comm -23 <(echo "$code") <(echo "$pml"))"
report "in the model, not in the protocol code" "$(comm -13 <(echo "$code") <(echo "$pml"))"
report "in go/mpmcring or userspace/lib, not in the model" \
	"$(comm -23 <(markers "${others[@]}") <(echo "$pml"))"
report "in the model, not in docs/protocol.md's traceability table" "$(comm -23 <(echo "$pml") <(echo "$doc"))"
report "in docs/protocol.md, not in the model" "$(comm -13 <(echo "$pml") <(echo "$doc"))"
# Each marker in the code: once, and inside the function the table names.
where=$(awk '
	FNR == 1 || /^}/ { fn = "" }
	/^[A-Za-z_].*[A-Za-z_0-9]+\(/ && !/;[ \t]*$/ {
		line = $0
		sub(/\(.*/, "", line)
		n = split(line, w, /[ \t*]+/)
		fn = w[n]
	}
	{
		rest = $0
		while (match(rest, /\[M:[a-z0-9-]+\]/)) {
			print substr(rest, RSTART, RLENGTH), (fn == "" ? "-" : fn), FILENAME
			rest = substr(rest, RSTART + RLENGTH)
		}
	}' "${sources[@]}" 2>/dev/null)
dups=$(echo "$where" | awk '{print $1}' | sort | uniq -d)
report "more than once in the protocol code" "$dups"
table=$(grep -E '^\| `\[M:[a-z0-9-]+\]` \| `[A-Za-z_0-9]+`' "$top/docs/protocol.md" |
	sed -E 's/^\| `(\[M:[a-z0-9-]+\])` \| `([A-Za-z_0-9]+)`.*/\1 \2/')
moved=$(echo "$where" | while read -r m fn file; do
	[ -n "$m" ] || continue
	want=$(echo "$table" | awk -v m="$m" '$1 == m {print $2}')
	[ -z "$want" ] || [ "$want" = "$fn" ] ||
		echo "$m is in $([ "$fn" = - ] && echo no function || echo "$fn") (${file#"$top"/}), the table says $want"
done)
report "not where docs/protocol.md's table says" "$moved"
# The code under each marker: what the model was last reviewed against.
now=$(fingerprints)
changed=$(join -a 1 -a 2 -e - -o 0,1.2,2.2 \
	<(awk '{print $1 "@" $2, $3}' "$sums" 2>/dev/null | sort) \
	<(echo "$now" | awk '{print $1 "@" $2, $3}' | sort) |
	awk '$2 != $3 {print $1}' | sort -u | while read -r k; do
		m=${k%%@*} f=${k#*@}
		was=$(awk -v m="$m" -v f="$f" '$1 == m && $2 == f {$1 = $2 = $3 = ""; print substr($0, 4)}' "$sums" 2>/dev/null | head -c 160)
		is=$(echo "$now" | awk -v m="$m" -v f="$f" '$1 == m && $2 == f {$1 = $2 = $3 = ""; print substr($0, 4)}' | head -c 160)
		echo "$m in $f: was \"${was:-none}\", now \"${is:-none}\""
	done)
[ -z "$changed" ] ||
	changed="$changed
(review the model step for each, then: bash tests/model/check-markers.sh --update)"
report "the code under a marker changed since the model was reviewed against it (${sums#"$top"/})" "$changed"
if [ "$fail" = 0 ]; then
	echo "$(echo "$pml" | wc -l) markers, the same in the code, the model and docs/protocol.md"
fi
exit "$fail"
