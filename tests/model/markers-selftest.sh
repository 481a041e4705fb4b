#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Proves that tests/model/check-markers.sh goes red when the code and the
# model drift apart: in scratch copies of proto/, kmod/, docs/, the Go
# package, the library and the model, a marked step is removed, a marker
# renamed, a marked function renamed, a marker moved into another function
# or just below its own, the code under a marker changed (a store-release
# made plain, a fence removed; in the Go package, an exchange made a load),
# a marker the model lacks put in the Go package, and the model's step
# markers removed (its header still lists them all); check-markers.sh must
# fail for each, naming the marker (or saying what is wrong). Prints one
# line per case, then "N passed, N failed".
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
"below-function|proto/mpmcring_proto.h|(see the case)|[M:head-sane] is in no function"
"release-made-plain|proto/mpmcring_produce.h|MPR_STORE_RELEASE(&m->reclaim_pos, freed);=>MPR_WRITE_ONCE(m->reclaim_pos, freed);|[M:reclaim-store] in proto/mpmcring_produce.h: was"
"fence-removed|proto/mpmcring_proto.h|	MPR_ACQUIRE_FENCE();\n	passed = =>	passed = |[M:commit-passed] in proto/mpmcring_proto.h: was"
"go-exchange-made-load|go/mpmcring/view.go|			if atomic.SwapUint64(announce, slotIdle)&slotRevoked != 0 {=>			if atomic.LoadUint64(announce)&slotRevoked != 0 {|[M:claim-passed] in go/mpmcring/view.go: was"
"go-unknown-marker|go/mpmcring/view.go|// [M:claim-passed] A head=>// [M:claim-passes] A head|in go/mpmcring or userspace/lib, not in the model"
"model-header-only|tests/model/mpmcring.pml|(see the case)|in the protocol code (proto/, kmod/), not in the model"
)

passed=0 failed=0
for c in "${cases[@]}"; do
	IFS='|' read -r name file edit marker <<<"$c"
	d=$base/$name
	rm -rf "$d"
	mkdir -p "$d/docs"
	cp -r "$top/proto" "$top/kmod" "$d/"
	mkdir -p "$d/go" "$d/userspace"
	cp -r "$top/go/mpmcring" "$d/go/"
	cp -r "$top/userspace/lib" "$d/userspace/"
	cp "$top/docs/protocol.md" "$d/docs/"
	mkdir -p "$d/tests/model"
	cp "$here/mpmcring.pml" "$d/tests/model/"
	if [ "$name" = model-header-only ]; then
		# every step marker below the header comment goes
		awk 'body { gsub(/\[M:[a-z0-9-]+\]/, "") } { print }
			!body && /^ \*\/$/ { body = 1 }' "$here/mpmcring.pml" >"$d/$file"
	elif [ "$name" = below-function ]; then
		# the marker leaves mpr_head_sane() for the line after its "}"
		python3 - "$d/$file" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
old = "\t/* [M:head-sane] */\n\treturn mpr_aligned(v, s->head) && mpr_between(s->reclaim, s->head, s->prod);\n}\n"
assert s.count(old) == 1
s = s.replace(old, "\treturn mpr_aligned(v, s->head) && mpr_between(s->reclaim, s->head, s->prod);\n}\n/* [M:head-sane] */\n")
open(p, "w").write(s)
PY
	elif [ "$name" = step-removed ]; then
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
old, new = old.replace("\\n", "\n"), new.replace("\\n", "\n")
s = open(p).read()
assert s.count(old) == 1, old
open(p, "w").write(s.replace(old, new))
PY
	fi
	if out=$(MODEL_TOP=$d bash "$here/check-markers.sh" "$d/tests/model/mpmcring.pml" 2>&1); then
		failed=$((failed + 1))
		printf 'FAIL   %-22s check-markers.sh stayed green: %s\n' "$name" "$out"
	elif ! grep -qF "$marker" <<<"$out"; then
		failed=$((failed + 1))
		printf 'FAIL   %-22s red, but without naming %s:\n' "$name" "$marker"
		sed 's/^/       | /' <<<"$out"
	else
		passed=$((passed + 1))
		printf 'ok     %-22s red, names %s\n' "$name" "$marker"
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
