#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# scripts/module-btf.sh must never fail a module build that did not ask
# for BTF (MPMCRING_BTF unset: DKMS building for a new kernel, perhaps from
# a unit with no HOME), and must never leave a module half encoded. With
# stub tools first in PATH that fail (pahole, or resolve_btfids after
# pahole changed the file), run with no HOME: exit 0, one "WITHOUT BTF"
# line, and each .ko byte-identical to what it was. With MPMCRING_BTF=1
# the same failures are errors. So are failures the script cannot foresee
# (an unbound variable, a command failing inside a function), injected as
# bash functions through the environment. With tools that succeed, the
# modules are replaced. With no MPMCRING_BTF_BASE, the base comes out of the kernel
# image (MPMCRING_BOOT) and is cached only where the user has a cache: with
# no HOME, nothing is written outside the test's directory. A cache that
# another user owns or can write (sudo -E keeps the caller's HOME) is
# neither read nor written, and entries of removed kernels are pruned.
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

# Stubs: pahole (version, then encode: append to the file a line naming
# the base's checksum, and fail when told), resolve_btfids (append, fail
# when told).
mkdir "$t/bin"
cat >"$t/pahole.stub" <<'STUB'
#!/bin/sh
[ "$1" = --version ] && { echo v1.24; exit 0; }
base=
while [ $# -gt 1 ]; do
	[ "$1" = --btf_base ] && base=$2
	shift
done
echo "pahole-was-here base=$(cksum <"$base" | cut -d' ' -f1)" >>"$1"
[ "${STUB_PAHOLE_FAILS:-0}" = 1 ] && { echo "pahole: stub failure" >&2; exit 1; }
exit 0
STUB
cp "$t/pahole.stub" "$t/bin/pahole"
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
	! compgen -G "$t/*.btf-tmp" >/dev/null || fail "$1: left a working copy behind"
}
one_without_line() {
	if [ "$(wc -l <"$t/err")" -ne 1 ] || ! grep -q 'WITHOUT BTF' "$t/err"; then
		fail "$1: want one WITHOUT BTF line, got: $(cat "$t/err")"
	fi
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

# Tools that succeed: both modules replaced by their encoded copies, on
# top of the base BTF whose checksum is $1.
encoded() {
	for m in a b; do
		tail -n 2 "$t/$m.ko" | tr -d '\0' | grep -q "pahole-was-here base=$1\$" ||
			fail "$2: $m.ko not encoded on the expected base: $(cat "$t/err")"
		tail -n 1 "$t/$m.ko" | grep -q btfids-was-here || fail "$2: $m.ko ids not resolved"
	done
	grep -q 'module BTF for 0.0.0-mpmcring-test' "$t/err" || fail "$2: no summary line"
}
cp "$t/pahole.stub" "$t/bin/pahole"
chmod +x "$t/bin/pahole"
run "" || fail "tools succeed: exit $?: $(cat "$t/err")"
encoded "$(cksum <"$t/base.btf" | cut -d' ' -f1)" "tools succeed"

# Failures nobody anticipated, which the script cannot have a check for:
# bash functions passed in the environment stand in for the script's own
# code going wrong where a command of that name runs. An unbound variable
# (set -u) in a function called in a condition (grep, the config check),
# which skips the ERR trap and errexit alike; and a failing command inside
# a function called plainly (cp, once the first module's working copy is
# made), which exits without the ERR trap unless it is inherited. Auto
# mode: exit 0, one WITHOUT BTF line naming an unexpected failure, modules
# byte-identical. MPMCRING_BTF=1: an error that says so, modules the same.
for case in unbound_variable failing_command; do
	# shellcheck disable=SC2016 # expanded by the script's shell, not here
	if [ $case = unbound_variable ]; then
		inject='BASH_FUNC_grep%%=() { command grep "$@" && : "$mpmcring_test_unset"; }'
	else
		inject='BASH_FUNC_cp%%=() { command cp "$@"; false; }'
	fi
	rc=0
	run "" "$inject" || rc=$?
	[ $rc -eq 0 ] || fail "$case, auto mode: exit $rc: $(cat "$t/err")"
	if [ "$(grep -c 'WITHOUT BTF' "$t/err")" -ne 1 ] || ! grep -q 'WITHOUT BTF: unexpected failure' "$t/err"; then
		fail "$case, auto mode: want one WITHOUT BTF line, an unexpected failure, got: $(cat "$t/err")"
	fi
	unchanged "$case, auto mode"
	rc=0
	run 1 "$inject" || rc=$?
	[ $rc -ne 0 ] || fail "$case, MPMCRING_BTF=1: exit 0"
	grep -q 'unexpected failure' "$t/err" || fail "$case, MPMCRING_BTF=1: not reported: $(cat "$t/err")"
	unchanged "$case, MPMCRING_BTF=1"
done

# The base from the kernel image, as DKMS finds it for a kernel that is not
# the running one. A bzImage is a boot stub, then the compressed vmlinux:
# here a few junk bytes, then a gzipped ELF whose .BTF is allocated, as
# vmlinux's is (objcopy -O binary copies only allocated sections).
mkdir "$t/boot" "$t/tmp" "$t/home"
printf 'vmlinux BTF of %s\n' "$t" >"$t/vmlinux.btf"
objcopy --add-section .BTF="$t/vmlinux.btf" --set-section-flags .BTF=alloc,readonly,contents \
	"$t/orig.ko" "$t/vmlinux"
{
	printf 'MZ boot stub\n'
	gzip -c "$t/vmlinux"
} >"$t/boot/vmlinuz-0.0.0-mpmcring-test"
vmlinux_btf=$(cksum <"$t/vmlinux.btf" | cut -d' ' -f1)
# run_image <env...>: as run with no MPMCRING_BTF_BASE; the script's own
# temporary files under $t/tmp; the base it used in $base.
run_image() {
	cp "$t/orig.ko" "$t/a.ko"
	cp "$t/orig.ko" "$t/b.ko"
	env -u HOME -u XDG_CACHE_HOME -u MPMCRING_CACHE -u MPMCRING_BTF -u MPMCRING_BTF_BASE \
		PATH="$t/bin:$PATH" TMPDIR="$t/tmp" MPMCRING_BOOT="$t/boot" \
		MPMCRING_RESOLVE_BTFIDS="$t/bin/resolve_btfids" "$@" \
		bash "$top/scripts/module-btf.sh" "$kdir" "$t/a.ko" "$t/b.ko" 2>"$t/err" ||
		fail "base from the image ($*): exit $?: $(cat "$t/err")"
	base=$(sed -n 's/^mpmcring: module BTF for .* (base: \(.*\))$/\1/p' "$t/err")
	[ -z "$(ls -A "$t/tmp")" ] || fail "base from the image ($*): left $(ls "$t/tmp") in TMPDIR"
}
# No HOME, no cache: twice, each time the BTF comes out of the image. A
# cache written anywhere else would be found by the second run.
for i in 1 2; do
	run_image
	encoded "$vmlinux_btf" "base from the image, no HOME, run $i"
	case $base in
	"$t"/tmp/*) ;;
	*)
		# A stray cache: say where, and take it away.
		case ${base##*/} in 0.0.0-mpmcring-test-*.btf) rm -f -- "$base" ;; esac
		fail "base from the image, no HOME, run $i: used $base, outside $t/tmp" ;;
	esac
done
[ -z "$(ls -A "$t/home")" ] || fail "base from the image, no HOME: wrote to $t/home"
# MPMCRING_BTF_CACHE=0 (dkms.conf's, for root's kernel updates): no cache
# even with a HOME and an XDG cache.
run_image HOME="$t/home" XDG_CACHE_HOME="$t/home/xdg" MPMCRING_BTF_CACHE=0
encoded "$vmlinux_btf" "base from the image, MPMCRING_BTF_CACHE=0"
case $base in "$t"/tmp/*) ;; *) fail "base from the image, MPMCRING_BTF_CACHE=0: used $base" ;; esac
[ -z "$(ls -A "$t/home")" ] || fail "base from the image, MPMCRING_BTF_CACHE=0: wrote to $t/home"
# With a HOME: extracted once into its cache, then taken from there.
run_image HOME="$t/home"
encoded "$vmlinux_btf" "base from the image, HOME, first run"
case $base in "$t"/tmp/*) ;; *) fail "base from the image, HOME, first run: used $base" ;; esac
cached=$(ls "$t/home/.cache/mpmcring/bpf/0.0.0-mpmcring-test-"*.btf 2>/dev/null) ||
	fail "base from the image, HOME: nothing cached in $t/home/.cache/mpmcring/bpf"
cmp -s "$cached" "$t/vmlinux.btf" || fail "base from the image, HOME: the cache is not the image's .BTF"
run_image HOME="$t/home"
encoded "$vmlinux_btf" "base from the image, HOME, second run"
[ "$base" = "$cached" ] || fail "base from the image, HOME, second run: used $base, not the cache $cached"
# Kernels no longer installed lose their entries; so does the old image's
# entry of a kernel whose image changed.
touch "$t/home/.cache/mpmcring/bpf/9.9.9-gone-0123456789abcdef.btf" \
	"$t/home/.cache/mpmcring/bpf/0.0.0-mpmcring-test-0123456789abcdef.btf"
run_image HOME="$t/home"
[ "$base" = "$cached" ] || fail "base from the image, HOME, third run: used $base, not the cache $cached"
[ "$(ls -A "$t/home/.cache/mpmcring/bpf")" = "${cached##*/}" ] ||
	fail "base from the image, HOME: stale entries kept: $(ls -A "$t/home/.cache/mpmcring/bpf")"

# A cache root must not trust (sudo -E keeps the caller's HOME): a
# directory of another user, one anyone may write, one reached through a
# symlink, and a HOME of another user with no cache in it yet. In each
# the caller planted an entry with a base BTF of their choosing and a
# symlink at the name the script once wrote through. The script must take
# the base from the image, and read, write or make nothing there.
key=$(sha256sum <"$t/boot/vmlinuz-0.0.0-mpmcring-test" | cut -c1-16)
echo "a file root owns" >"$t/victim"
plant() {
	mkdir -p "$1"
	printf 'planted base BTF\n' >"$1/0.0.0-mpmcring-test-$key.btf"
	ln -s "$t/victim" "$1/0.0.0-mpmcring-test-$key.btf.tmp"
}
snapshot() { find "$1" -printf '%p %y %s %u %m %l\n' | sort; }
hostile=(world_writable symlinked_dir)
plant "$t/hostile/world_writable/.cache/mpmcring/bpf"
chmod 0777 "$t/hostile/world_writable/.cache/mpmcring/bpf"
plant "$t/elsewhere/bpf"
mkdir -p "$t/hostile/symlinked_dir/.cache"
ln -s "$t/elsewhere" "$t/hostile/symlinked_dir/.cache/mpmcring"
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	hostile+=(other_users_cache other_users_home)
	plant "$t/hostile/other_users_cache/.cache/mpmcring/bpf"
	chown -R nobody "$t/hostile/other_users_cache/.cache"
	mkdir -p "$t/hostile/other_users_home"
	chown nobody "$t/hostile/other_users_home"
else
	echo "module_btf_test: not root: no directory of another user to test with (world-writable and symlinked ones are)" >&2
fi
for h in "${hostile[@]}"; do
	before=$(snapshot "$t/hostile"; snapshot "$t/elsewhere")
	run_image HOME="$t/hostile/$h"
	encoded "$vmlinux_btf" "cache $h"
	case $base in "$t"/tmp/*) ;; *) fail "cache $h: used $base" ;; esac
	[ "$(cat "$t/victim")" = "a file root owns" ] || fail "cache $h: wrote through the planted symlink"
	[ "$before" = "$(snapshot "$t/hostile"; snapshot "$t/elsewhere")" ] ||
		fail "cache $h: changed the caller's files: $(diff <(echo "$before") <(snapshot "$t/hostile"; snapshot "$t/elsewhere"))"
done
echo "module_btf_test: ok"
