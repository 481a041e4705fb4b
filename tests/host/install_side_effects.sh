#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# An install changes nothing it was not asked to change:
# - make install DESTDIR=... runs no ldconfig, udevadm, depmod, modprobe or
#   dkms; installing to the live system runs ldconfig and has udev reload
#   and re-apply its rules (each tool here is a stand-in that logs);
# - a second make install keeps the admin's changes under /etc (the rule's
#   group unless MPMCRING_GROUP is given again, the module options) and
#   says so; uninstall leaves a changed file in place;
# - make dkms-src copies the module sources only (no build/, no .git);
# - DKMS installs the load generator only when asked;
# - make check's DKMS step uses a private DKMS tree, never the host's;
# - scripts/deps.sh demo asks for the demo's packages only (no 6.12
#   kernels, no clang, no DPDK), deps.sh kernels for the test kernels'
#   build only (each also in check's list), deps.sh check says what it installs and
#   that a 6.12 kernel becomes the boot default, before it installs; demo
#   says the same of the 6.1 image it installs on the host.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install_side_effects: $*" >&2; exit 1; }

fake="$tmp/bin"
log="$tmp/calls.log"
mkdir -p "$fake"
for tool in ldconfig udevadm depmod modprobe dkms apt-get apt update-grub; do
	printf '#!/bin/sh\necho "%s $*" >>"%s"\nexit 0\n' "$tool" "$log" >"$fake/$tool"
	chmod +x "$fake/$tool"
done
# dpkg-query that knows no package: everything is "missing".
printf '#!/bin/sh\nexit 0\n' >"$fake/dpkg-query"
chmod +x "$fake/dpkg-query"
: >"$log"

PATH="$fake:$PATH" make -s -C "$top" install DESTDIR="$tmp/dest" PREFIX=/usr >/dev/null
[ ! -s "$log" ] || fail "make install DESTDIR=... ran: $(cat "$log")"

live="$tmp/live"
PATH="$fake:$PATH" make -s -C "$top" install PREFIX="$live/usr" UDEVRULESDIR="$live/udev" \
	MODPROBEDIR="$live/modprobe" >/dev/null
grep -q '^ldconfig' "$log" || fail "make install to the live system did not run ldconfig"
grep -q '^udevadm control --reload' "$log" || fail "it did not reload udev's rules: $(cat "$log")"
grep -q "^udevadm trigger --action=change --sysname-match=mpmcring\*" "$log" ||
	fail "it did not re-apply the rule to existing devices: $(cat "$log")"
! grep -q '^\(depmod\|modprobe\|dkms\)' "$log" || fail "make install touched modules: $(cat "$log")"
: >"$log"
PATH="$fake:$PATH" make -s -C "$top" install MPMCRING_LIVE=0 PREFIX="$live/usr" \
	UDEVRULESDIR="$live/udev" MODPROBEDIR="$live/modprobe" >/dev/null
[ ! -s "$log" ] || fail "MPMCRING_LIVE=0 still ran: $(cat "$log")"

# A second make install keeps what the admin changed under /etc: the udev
# rule's group (unless MPMCRING_GROUP is given again) and the module options.
etc="$tmp/etc"
inst() { PATH="$fake:$PATH" make -s -C "$top" install DESTDIR="$etc" PREFIX=/usr "$@" 2>&1; }
inst MPMCRING_GROUP=mpmcring >/dev/null
rule="$etc/etc/udev/rules.d/99-mpmcring.rules" conf="$etc/etc/modprobe.d/mpmcring.conf"
grep -q 'GROUP="mpmcring", MODE="0660"' "$rule" || fail "MPMCRING_GROUP=mpmcring: $(cat "$rule")"
echo 'options mpmcring size=64M' >>"$conf"
said=$(inst)
grep -q 'GROUP="mpmcring", MODE="0660"' "$rule" ||
	fail "a second make install (no MPMCRING_GROUP) reset the device group: $(grep GROUP "$rule")"
grep -q '^options mpmcring size=64M' "$conf" ||
	fail "a second make install overwrote the admin's $(basename "$conf")"
grep -q "kept.*mpmcring.conf" <<<"$said" || fail "no word that mpmcring.conf was kept: $said"
grep -q "kept.*99-mpmcring.rules" <<<"$said" || fail "no word that the rule was kept: $said"
# Asked again, explicitly: the rule follows; the options stay the admin's.
inst MPMCRING_GROUP=falco >/dev/null
grep -q 'GROUP="falco", MODE="0660"' "$rule" || fail "MPMCRING_GROUP=falco not applied: $(cat "$rule")"
grep -q '^options mpmcring size=64M' "$conf" || fail "MPMCRING_GROUP=falco overwrote $conf"
# An identical file is left alone, silently.
said=$(inst MPMCRING_GROUP=falco)
! grep -q "99-mpmcring.rules" <<<"$said" || fail "an install over an identical rule said: $said"
# uninstall removes only what is unchanged from ours.
PATH="$fake:$PATH" make -s -C "$top" uninstall DESTDIR="$etc" PREFIX=/usr >/dev/null 2>&1
[ -f "$conf" ] || fail "make uninstall removed the admin's changed $conf"

# The DKMS source: the module's files and the build files (the script the
# Makefile's modules target runs for module BTF among them), nothing else.
make -s -C "$top" dkms-src DESTDIR="$tmp/dkms" >/dev/null
src=$(echo "$tmp"/dkms/usr/src/mpmcring-*)
for f in Kbuild Makefile dkms.conf scripts/module-btf.sh kmod/main.c proto/mpmcring_proto.h \
	uapi/linux/mpmcring.h; do
	[ -f "$src/$f" ] || fail "dkms-src lacks $f"
done
extra=$(cd "$src" && find . -type f |
	grep -v '^\./\(Kbuild\|Makefile\|dkms\.conf\|scripts/module-btf\.sh\)$' |
	grep -v '^\./\(kmod\|proto\|uapi\|tests/kunit\)/.*\.[ch]$' |
	grep -v '^\./\(kmod\|proto\|uapi\|tests/kunit\)/\(.*/\)\?Kbuild$' || true)
[ -z "$extra" ] || fail "dkms-src copied more than the sources: $extra"
kb=$(du -sk "$src" | cut -f1)
[ "$kb" -lt 2048 ] || fail "dkms-src is ${kb} KiB"

# dkms.conf's CLEAN works in that tree (DKMS runs it before and after
# every build, and prints "bad exit status" to users when it fails).
rel1=$(ls /lib/modules | while read -r r; do [ -d "/lib/modules/$r/build" ] && echo "$r"; done | sed -n 1p)
if [ -n "$rel1" ]; then
	clean=$(kernel_source_dir=/lib/modules/$rel1/build && . "$top/dkms.conf" && echo "$CLEAN")
	(cd "$src" && eval "$clean") >"$tmp/clean.log" 2>&1 ||
		fail "dkms.conf's CLEAN ($clean) fails in the DKMS source tree:"$'\n'"$(tail -n 5 "$tmp/clean.log")"
fi

# dkms.conf: the load generator only when asked.
modules() { (kernel_source_dir=/x && . "$top/dkms.conf" && echo "${BUILT_MODULE_NAME[*]}"); }
[ "$(modules)" = "mpmcring mpmcring_events" ] || fail "DKMS installs by default: $(modules)"
[ "$(MPMCRING_DKMS_LOADGEN=1 modules)" = "mpmcring mpmcring_events mpmcring_loadgen" ] ||
	fail "MPMCRING_DKMS_LOADGEN=1 does not add the load generator: $(MPMCRING_DKMS_LOADGEN=1 modules)"

# make check's DKMS step (scripts/dkms-install.sh, from tests/harness/build.py)
# works in a private tree: every dkms call names its own source, DKMS and
# install trees under the output directory, install runs no depmod, the
# signing key is the tree's, and only the modules dkms.conf names come back
# (not another vendor's that lies in the same updates/dkms).
rel=$(ls /lib/modules | while read -r r; do [ -d "/lib/modules/$r/build" ] && echo "$r"; done | sed -n 1p)
if [ -n "$rel" ] && [ "$(id -u)" -eq 0 ]; then
	dk="$tmp/dkmsfake"
	mkdir -p "$dk"
	cat >"$dk/dkms" <<'FAKE'
#!/bin/bash
echo "dkms $* mok=${mok_signing_key:-} loadgen=${MPMCRING_DKMS_LOADGEN:-}" >>"$FAKE_LOG"
[ "$1" = --version ] && { echo dkms-fake; exit 0; }
inst=/lib/modules
while [ $# -gt 0 ]; do
	case "$1" in
	--installtree) inst=$2; shift ;;
	-k) rel=$2; shift ;;
	install) action=install ;;
	esac
	shift
done
if [ "${action:-}" = install ]; then
	mkdir -p "$inst/$rel/updates/dkms"
	for m in mpmcring mpmcring_events mpmcring_loadgen zfs; do
		echo "$m" >"$inst/$rel/updates/dkms/$m.ko"
	done
fi
exit 0
FAKE
	printf '#!/bin/sh
echo "%s "
' "$rel" >"$dk/modinfo"
	printf '#!/bin/sh
echo "depmod $*" >>"$FAKE_LOG"
' >"$dk/depmod"
	chmod +x "$dk"/*
	export FAKE_LOG="$tmp/dkms-calls.log"
	: >"$FAKE_LOG"
	kos=$(PATH="$dk:$PATH" bash "$top/scripts/dkms-install.sh" "$rel" "$tmp/dkmsout") ||
		fail "dkms-install.sh with a stand-in dkms failed"
	priv="$tmp/dkmsout/tree"
	while read -r call; do
		case "$call" in
		"dkms --version"*) continue ;;
		esac
		for opt in "--sourcetree $priv/source" "--dkmstree $priv/dkms" "--installtree $priv/install"; do
			case "$call" in
			*"$opt"*) ;;
			*) fail "make check's DKMS step works on the host's DKMS (no $opt): $call" ;;
			esac
		done
		case "$call" in
		*" install "*) case "$call" in *--no-depmod*) ;; *) fail "dkms install runs depmod on the host: $call" ;; esac ;;
		esac
		case "$call" in *"mok=$priv/mok.key"*) ;; *) fail "signs with the host's DKMS key: $call" ;; esac
	done <"$FAKE_LOG"
	grep -q ' install ' "$FAKE_LOG" || fail "no dkms install: $(cat "$FAKE_LOG")"
	! grep -q '^depmod' "$FAKE_LOG" || fail "depmod ran: $(cat "$FAKE_LOG")"
	want=$(printf '%s\n' "$tmp/dkmsout/mpmcring.ko" "$tmp/dkmsout/mpmcring_events.ko" \
		"$tmp/dkmsout/mpmcring_loadgen.ko")
	[ "$kos" = "$want" ] || fail "the guest gets other modules than dkms.conf's: $kos"
else
	echo "install_side_effects: not root or no kernel headers: the DKMS step not checked" >&2
fi

# deps.sh: what each target needs, said before anything is installed.
: >"$log"
# Outside a container (the images may be booted: Debian's initramfs and
# the GRUB note); in one, neither (the initramfs skipped, and said).
demo=$(PATH="$fake:$PATH" MPMCRING_DEPS_DRY_RUN=1 MPMCRING_DEPS_CONTAINER=0 \
	bash "$top/scripts/deps.sh" demo 2>&1)
grep -q 'linux-headers-amd64' <<<"$demo" || fail "deps.sh demo: $demo"
! grep -q 'linux-image-6.12\|clang\|dpdk\|bpftool' <<<"$demo" ||
	fail "deps.sh demo asks for more than the demo needs: $demo"
# The demo's linux-image-amd64 lands on the host too: say so before.
grep -q 'GRUB' <<<"$demo" || fail "deps.sh demo does not say the boot default may change: $demo"
! grep -q 'INITRD=No' <<<"$demo" || fail "deps.sh demo skips the initramfs outside a container: $demo"
check=$(PATH="$fake:$PATH" MPMCRING_DEPS_DRY_RUN=1 MPMCRING_DEPS_CONTAINER=0 \
	bash "$top/scripts/deps.sh" check 2>&1)
grep -q 'linux-image-6.12-amd64' <<<"$check" || fail "deps.sh check: $check"
grep -q 'GRUB' <<<"$check" || fail "deps.sh check does not say the boot default changes: $check"
# .ci/run builds the test kernels on these while the rest installs: they
# are what build-test-kernel.sh needs, all of them part of check's.
kern=$(PATH="$fake:$PATH" MPMCRING_DEPS_DRY_RUN=1 MPMCRING_DEPS_CONTAINER=0 \
	bash "$top/scripts/deps.sh" kernels 2>&1)
grep -q 'linux-source-6.1 linux-source-6.12' <<<"$kern" || fail "deps.sh kernels: $kern"
! grep -q 'linux-image\|qemu\|clang\|golang' <<<"$kern" ||
	fail "deps.sh kernels asks for more than the test kernels need: $kern"
for p in $(sed -n 's/.*not installed here: //p' <<<"$kern"); do
	grep -qw -- "$p" <<<"$check" || fail "deps.sh kernels asks for $p, which check does not"
done
grep -q 'deps.sh kernels' "$top/.ci/run" || fail ".ci/run does not install the kernels' packages first"
incont=$(PATH="$fake:$PATH" MPMCRING_DEPS_DRY_RUN=1 MPMCRING_DEPS_CONTAINER=1 \
	bash "$top/scripts/deps.sh" check 2>&1)
grep -q 'in a container: the kernel images get no initramfs' <<<"$incont" &&
	grep -q 'INITRD=No' <<<"$incont" && ! grep -q 'GRUB' <<<"$incont" ||
	fail "deps.sh check in a container does not say it skips the initramfs: $incont"
[ ! -s "$log" ] || fail "a dry run ran: $(cat "$log")"
grep -q 'deps.sh"\? demo' "$top/scripts/demo.sh" || fail "make demo does not ask for the demo's packages only"
echo "install_side_effects: ok"
