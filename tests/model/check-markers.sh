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
# when a marker appears more than once in the code.
#
# Usage: check-markers.sh [model.pml]   (default: the model next to this script)
# MODEL_TOP: the tree whose proto/, kmod/ and docs/ are checked (default:
# this checkout; tests/model/markers-selftest.sh points it at a scratch copy).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=${MODEL_TOP:-$(cd "$here/../.." && pwd)}
model=${1:-$here/mpmcring.pml}

markers() { grep -ohE '\[M:[a-z0-9-]+\]' "$@" 2>/dev/null | sort -u; }

code=$(markers "$top"/proto/*.h "$top"/kmod/*.c "$top"/kmod/*.h)
pml=$(markers "$model")
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
report "in the model, not in docs/protocol.md's traceability table" "$(comm -23 <(echo "$pml") <(echo "$doc"))"
report "in docs/protocol.md, not in the model" "$(comm -13 <(echo "$pml") <(echo "$doc"))"
# Each marker in the code: once, and inside the function the table names.
where=$(awk '
	FNR == 1 { fn = "" }
	/^[A-Za-z_].*[A-Za-z_0-9]+\(/ && !/;[ \t]*$/ {
		line = $0
		sub(/\(.*/, "", line)
		n = split(line, w, /[ \t*]+/)
		fn = w[n]
	}
	{
		rest = $0
		while (match(rest, /\[M:[a-z0-9-]+\]/)) {
			print substr(rest, RSTART, RLENGTH), fn, FILENAME
			rest = substr(rest, RSTART + RLENGTH)
		}
	}' "$top"/proto/*.h "$top"/kmod/*.c "$top"/kmod/*.h 2>/dev/null)
dups=$(echo "$where" | awk '{print $1}' | sort | uniq -d)
report "more than once in the protocol code" "$dups"
table=$(grep -E '^\| `\[M:[a-z0-9-]+\]` \| `[A-Za-z_0-9]+`' "$top/docs/protocol.md" |
	sed -E 's/^\| `(\[M:[a-z0-9-]+\])` \| `([A-Za-z_0-9]+)`.*/\1 \2/')
moved=$(echo "$where" | while read -r m fn file; do
	[ -n "$m" ] || continue
	want=$(echo "$table" | awk -v m="$m" '$1 == m {print $2}')
	[ -z "$want" ] || [ "$want" = "$fn" ] ||
		echo "$m is in ${fn:-no function} (${file#"$top"/}), the table says $want"
done)
report "not where docs/protocol.md's table says" "$moved"
if [ "$fail" = 0 ]; then
	echo "$(echo "$pml" | wc -l) markers, the same in the code, the model and docs/protocol.md"
fi
exit "$fail"
