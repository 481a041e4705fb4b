#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# scripts/module-btf.sh must never fail a module build that did not ask
# for BTF (MPMCRING_BTF unset: DKMS building for a new kernel, perhaps from
# a unit with no HOME), and must never leave a module half encoded. With
# stub tools first in PATH that fail (pahole, or resolve_btfids after
# pahole changed the file), run with no HOME: exit 0, one "WITHOUT BTF"
# line, and each .ko byte-identical to what it was. With MPMCRING_BTF=1
# the same failures are errors. With tools that succeed, the modules are
# replaced.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "module_btf_test: $*" >&2; exit 1; }
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT

# A kernel tree as the script reads it: config and release only.
kdir=$t/kdir
mkdir -p "$kdir/include/config" "$kdir/include/generated"
echo 'CONFIG_DEBUG_INFO_BTF_MODULES=y' >"$kdir/include/config/auto.conf"
echo '#define UTS_RELEASE "0.0.0-mpmcring-test"' >"$kdir/include/generated/utsrelease.h"
# Two modules: any ELF object without .BTF will do.
echo 'int mpmcring_test_symbol;' >"$t/m.c"
gcc -c -o "$t/a.ko" "$t/m.c"
cp "$t/a.ko" "$t/b.ko"
cp "$t/a.ko" "$t/orig.ko"
echo 'not really BTF' >"$t/base.btf"

# Stubs: pahole (version, then encode: append to the file, and fail when
# told), resolve_btfids (append, fail when told).
mkdir "$t/bin"
cat >"$t/bin/pahole" <<'STUB'
#!/bin/sh
[ "$1" = --version ] && { echo v1.24; exit 0; }
for f; do :; done
echo pahole-was-here >>"$f"
[ "${STUB_PAHOLE_FAILS:-0}" = 1 ] && { echo "pahole: stub failure" >&2; exit 1; }
exit 0
STUB
cat >"$t/bin/resolve_btfids" <<'STUB'
#!/bin/sh
for f; do :; done
echo btfids-was-here >>"$f"
[ "${STUB_BTFIDS_FAILS:-0}" = 1 ] && { echo "resolve_btfids: stub failure" >&2; exit 1; }
exit 0
STUB
chmod +x "$t/bin/pahole" "$t/bin/resolve_btfids"

# run <MPMCRING_BTF or ""> <env...>: the script's status; its stderr in $t/err.
run() {
	local want=$1
	shift
	cp "$t/orig.ko" "$t/a.ko"
	cp "$t/orig.ko" "$t/b.ko"
	env -u HOME -u XDG_CACHE_HOME -u MPMCRING_CACHE -u MPMCRING_BTF \
		${want:+MPMCRING_BTF=$want} PATH="$t/bin:$PATH" \
		MPMCRING_BTF_BASE="$t/base.btf" MPMCRING_RESOLVE_BTFIDS="$t/bin/resolve_btfids" "$@" \
		bash "$top/scripts/module-btf.sh" "$kdir" "$t/a.ko" "$t/b.ko" 2>"$t/err"
}
unchanged() {
	cmp -s "$t/orig.ko" "$t/a.ko" || fail "$1: a.ko changed"
	cmp -s "$t/orig.ko" "$t/b.ko" || fail "$1: b.ko changed"
	[ -z "$(ls "$t" | grep btf-tmp)" ] || fail "$1: left a working copy behind"
}
one_without_line() {
	[ "$(wc -l <"$t/err")" -eq 1 ] && grep -q 'WITHOUT BTF' "$t/err" ||
		fail "$1: want one WITHOUT BTF line, got: $(cat "$t/err")"
}

for case in pahole btfids; do
	var=STUB_PAHOLE_FAILS
	[ $case = btfids ] && var=STUB_BTFIDS_FAILS
	# Auto mode: a failure is a module without BTF, not a failed build.
	rc=0
	run "" "$var=1" || rc=$?
	[ $rc -eq 0 ] || fail "$case fails, auto mode: exit $rc: $(cat "$t/err")"
	one_without_line "$case fails, auto mode"
	unchanged "$case fails, auto mode"
	# Asked for: the same failure is an error, and still changes nothing.
	rc=0
	run 1 "$var=1" || rc=$?
	[ $rc -ne 0 ] || fail "$case fails, MPMCRING_BTF=1: exit 0"
	grep -q 'stub failure' "$t/err" || fail "$case fails, MPMCRING_BTF=1: the tool's message is not shown"
	unchanged "$case fails, MPMCRING_BTF=1"
done

# pahole whose version cannot be read: an unexpected failure, still exit 0.
printf '#!/bin/sh\nexit 3\n' >"$t/bin/pahole"
rc=0
run "" || rc=$?
[ $rc -eq 0 ] || fail "pahole --version fails, auto mode: exit $rc"
one_without_line "pahole --version fails"
unchanged "pahole --version fails"
chmod -x "$t/bin/pahole"

# Tools that succeed: both modules replaced by their encoded copies.
cat >"$t/bin/pahole" <<'STUB'
#!/bin/sh
[ "$1" = --version ] && { echo v1.24; exit 0; }
for f; do :; done
echo pahole-was-here >>"$f"
STUB
chmod +x "$t/bin/pahole"
run "" || fail "tools succeed: exit $?: $(cat "$t/err")"
for m in a b; do
	tail -n 2 "$t/$m.ko" | tr -d '\0' | grep -q pahole-was-here || fail "tools succeed: $m.ko not encoded"
	tail -n 1 "$t/$m.ko" | grep -q btfids-was-here || fail "tools succeed: $m.ko ids not resolved"
done
grep -q 'module BTF for 0.0.0-mpmcring-test' "$t/err" || fail "tools succeed: no summary line"
echo "module_btf_test: ok"
