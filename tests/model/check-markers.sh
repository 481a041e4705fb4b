#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The model (tests/model/mpmcring.pml) and the protocol code name the same
# steps with marker comments, [M:<step>]. This fails when a marker is in one
# and not the other, or missing from the traceability table in
# docs/protocol.md, so a change to the protocol shows which model step to
# revisit (and a model step cannot outlive the code it stands for).
#
# Usage: check-markers.sh [model.pml]   (default: the model next to this script)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
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
if [ "$fail" = 0 ]; then
	echo "$(echo "$pml" | wc -l) markers, the same in the code, the model and docs/protocol.md"
fi
exit "$fail"
