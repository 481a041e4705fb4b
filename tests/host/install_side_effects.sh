#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# An install changes nothing it was not asked to change:
# - make install DESTDIR=... runs no ldconfig, udevadm, depmod, modprobe or
#   dkms; installing to the live system runs ldconfig and has udev reload
#   and re-apply its rules (each tool here is a stand-in that logs);
# - make dkms-src copies the module sources only (no build/, no .git);
# - DKMS installs the load generator only when asked;
# - scripts/deps.sh demo asks for the demo's packages only (no 6.12
#   kernels, no clang, no DPDK), deps.sh check says what it installs and
#   that a 6.12 kernel becomes the boot default, before it installs.
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

# The DKMS source: the module's files and the build files, nothing else.
make -s -C "$top" dkms-src DESTDIR="$tmp/dkms" >/dev/null
src=$(echo "$tmp"/dkms/usr/src/mpmcring-*)
for f in Kbuild Makefile dkms.conf kmod/main.c proto/mpmcring_proto.h uapi/linux/mpmcring.h; do
	[ -f "$src/$f" ] || fail "dkms-src lacks $f"
done
extra=$(cd "$src" && find . -type f | grep -v '^\./\(Kbuild\|Makefile\|dkms\.conf\)$' |
	grep -v '^\./\(kmod\|proto\|uapi\|tests/kunit\)/.*\.[ch]$' |
	grep -v '^\./\(kmod\|proto\|uapi\|tests/kunit\)/\(.*/\)\?Kbuild$' || true)
[ -z "$extra" ] || fail "dkms-src copied more than the sources: $extra"
kb=$(du -sk "$src" | cut -f1)
[ "$kb" -lt 2048 ] || fail "dkms-src is ${kb} KiB"

# dkms.conf: the load generator only when asked.
modules() { (kernel_source_dir=/x && . "$top/dkms.conf" && echo "${BUILT_MODULE_NAME[*]}"); }
[ "$(modules)" = "mpmcring mpmcring_events" ] || fail "DKMS installs by default: $(modules)"
[ "$(MPMCRING_DKMS_LOADGEN=1 modules)" = "mpmcring mpmcring_events mpmcring_loadgen" ] ||
	fail "MPMCRING_DKMS_LOADGEN=1 does not add the load generator: $(MPMCRING_DKMS_LOADGEN=1 modules)"

# deps.sh: what each target needs, said before anything is installed.
: >"$log"
demo=$(PATH="$fake:$PATH" MPMCRING_DEPS_DRY_RUN=1 bash "$top/scripts/deps.sh" demo 2>&1)
echo "$demo" | grep -q 'linux-headers-amd64' || fail "deps.sh demo: $demo"
! echo "$demo" | grep -q 'linux-image-6.12\|clang\|dpdk\|bpftool' ||
	fail "deps.sh demo asks for more than the demo needs: $demo"
check=$(PATH="$fake:$PATH" MPMCRING_DEPS_DRY_RUN=1 bash "$top/scripts/deps.sh" check 2>&1)
echo "$check" | grep -q 'linux-image-6.12-amd64' || fail "deps.sh check: $check"
echo "$check" | grep -q 'GRUB' || fail "deps.sh check does not say the boot default changes: $check"
[ ! -s "$log" ] || fail "a dry run ran: $(cat "$log")"
grep -q 'deps.sh"\? demo' "$top/scripts/demo.sh" || fail "make demo does not ask for the demo's packages only"
echo "install_side_effects: ok"
