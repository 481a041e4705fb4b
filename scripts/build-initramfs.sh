#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Packs a guest initramfs: busybox-static, an init script, modules and test
# programs, as a gzip'd newc cpio.
#
#   scripts/build-initramfs.sh -o <out.cpio.gz> [-i <init script>]
#                              [-m <module.ko>]... [-t <program>]...
#                              [-b <program>]...
#
# init defaults to tests/harness/init.sh and becomes /init; modules go to
# /lib/mpmcring/, test programs (static binaries) to /tests/, tools (-b,
# static binaries such as the mpmcring CLI) to /bin/.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out= init="$REPO/tests/harness/init.sh"
mods=() progs=() tools=()
while getopts "o:i:m:t:b:" opt; do
	case "$opt" in
	o) out=$OPTARG ;;
	i) init=$OPTARG ;;
	m) mods+=("$OPTARG") ;;
	t) progs+=("$OPTARG") ;;
	b) tools+=("$OPTARG") ;;
	*) die "usage: build-initramfs.sh -o OUT [-i INIT] [-m MODULE.ko]... [-t PROGRAM]... [-b TOOL]..." ;;
	esac
done
[ -n "$out" ] || die "build-initramfs.sh: -o OUT is required"
[ -f "$init" ] || die "no init script $init"

busybox=
for b in /bin/busybox /usr/bin/busybox; do
	if [ -x "$b" ] && file -L "$b" 2>/dev/null | grep -q 'statically linked'; then
		busybox=$b
		break
	fi
done
if [ -z "$busybox" ] && [ -x /bin/busybox ] && ! command -v file >/dev/null 2>&1; then
	busybox=/bin/busybox	# no file(1) to ask: busybox-static's path
fi
[ -n "$busybox" ] || die "no statically linked busybox (install busybox-static: scripts/deps.sh)"

stage=$(mktemp -d "${TMPDIR:-/tmp}/mpmcring-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,lib/mpmcring,tests}
cp "$busybox" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
install -m 0755 "$init" "$stage/init"
for m in "${mods[@]}"; do
	[ -f "$m" ] || die "no module $m"
	cp "$m" "$stage/lib/mpmcring/"
done
for p in "${progs[@]}"; do
	[ -f "$p" ] || die "no test program $p"
	install -m 0755 "$p" "$stage/tests/"
done
for p in "${tools[@]}"; do
	[ -f "$p" ] || die "no tool $p"
	install -m 0755 "$p" "$stage/bin/"
done

mkdir -p "$(dirname "$out")"
(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc -R 0:0 --quiet) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
