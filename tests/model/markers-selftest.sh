#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Proves that tests/model/check-markers.sh goes red when the code and the
# model drift apart: in scratch copies of proto/, kmod/ and docs/, a marked
# step is removed, a marker renamed, a marked function renamed, and a marker
# moved into another function; check-markers.sh must fail for each, naming
# the marker. Prints one line per case, then "N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
base=$top/build/model/markers-selftest

# case | file | python replacement (old -> new, must match once) | marker named
cases=(
"step-removed|proto/mpmcring_proto.h|the [M:commit] comment and exchange (mpr_commit's return)=>return passed;|[M:commit]"
"marker-renamed|proto/mpmcring_produce.h|[M:lease-revoke]=>[M:lease-revocation]|[M:lease-revoke]"
"function-renamed|proto/mpmcring_proto.h|static inline bool mpr_commit(=>static inline bool mpr_commit_claim(|[M:commit]"
"marker-moved|proto/mpmcring_produce.h|/* [M:reclaim-store] [R5] pairs with [P4]. */=>/* [R5] pairs with [P4]. */|[M:reclaim-store]"
)

passed=0 failed=0
for c in "${cases[@]}"; do
	IFS='|' read -r name file edit marker <<<"$c"
	d=$base/$name
	rm -rf "$d"
	mkdir -p "$d/docs"
	cp -r "$top/proto" "$top/kmod" "$d/"
	cp "$top/docs/protocol.md" "$d/docs/"
	if [ "$name" = step-removed ]; then
		# the whole marked statement goes, with its comment
		python3 - "$d/$file" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
pat = re.compile(r"\t/\* \[M:commit\].*?\*/\n\treturn \(mpr_xchg\(announce, MPMCRING_SLOT_IDLE\) & MPMCRING_SLOT_REVOKED\) \|\|\n\t+ *passed;\n", re.S)
s2, n = pat.subn("\treturn passed;\n", s)
assert n == 1, n
open(p, "w").write(s2)
PY
	elif [ "$name" = marker-moved ]; then
		python3 - "$d/$file" "${edit%%=>*}" "${edit#*=>}" <<'PY'
import sys
p, old, new = sys.argv[1:4]
s = open(p).read()
assert s.count(old) == 1
s = s.replace(old, new)
# the marker, put back in another function (mpr_overwrite)
anchor = "\t/* [M:overwrite-walk] */\n"
assert s.count(anchor) == 1
s = s.replace(anchor, anchor + "\t/* [M:reclaim-store] */\n")
open(p, "w").write(s)
PY
	else
		python3 - "$d/$file" "${edit%%=>*}" "${edit#*=>}" <<'PY'
import sys
p, old, new = sys.argv[1:4]
s = open(p).read()
assert s.count(old) == 1, old
open(p, "w").write(s.replace(old, new))
PY
	fi
	if out=$(MODEL_TOP=$d bash "$here/check-markers.sh" 2>&1); then
		failed=$((failed + 1))
		printf 'FAIL   %-18s check-markers.sh stayed green: %s\n' "$name" "$out"
	elif ! grep -qF "$marker" <<<"$out"; then
		failed=$((failed + 1))
		printf 'FAIL   %-18s red, but without naming %s:\n' "$name" "$marker"
		sed 's/^/       | /' <<<"$out"
	else
		passed=$((passed + 1))
		printf 'ok     %-18s red, names %s\n' "$name" "$marker"
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
