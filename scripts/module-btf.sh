#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Module BTF for an out-of-tree build against a headers package:
#
#   scripts/module-btf.sh <KDIR> <module.ko>...
#
# BPF programs reach the module's kfuncs through its BTF. Kbuild makes module
# BTF only when the kernel tree has a vmlinux to split it from, and Debian's
# headers packages ship none ("Skipping BTF generation ... unavailability of
# vmlinux"). This adds it afterwards, as Kbuild would have: pahole encodes
# the module's types on top of the kernel's base BTF, and resolve_btfids
# fills the module's BTF id sets (the kfunc set) from it.
#
# The base BTF must be the very kernel the module will load into:
#   MPMCRING_BTF_BASE          a file (raw BTF or an ELF with .BTF), if set;
#   /sys/kernel/btf/vmlinux    when KDIR is the running kernel's;
#   /boot/vmlinuz-<release>    decompressed, its .BTF taken (cached);
#   <KDIR>/vmlinux             a full build tree.
# resolve_btfids: MPMCRING_RESOLVE_BTFIDS, KDIR's tools/bpf, Debian's
# linux-kbuild packages (any version reads the same .BTF_ids format), PATH.
#
# Without any of these the modules stay as they are, working without BPF
# producers; the script says so once and exits 0. Set MPMCRING_BTF=0 to skip
# it, MPMCRING_BTF=1 to make a missing piece an error.
set -euo pipefail

die() { printf 'error: %s\n' "$*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: module-btf.sh <KDIR> <module.ko>..."
kdir=$1
shift
want=${MPMCRING_BTF:-auto}
[ "$want" = 0 ] && exit 0

# Says once why there is no BTF; an error when it was asked for.
without() {
	printf 'mpmcring: modules built WITHOUT BTF: %s; they work, but BPF programs cannot produce into rings (README: BPF producers)\n' "$*" >&2
	[ "$want" = 1 ] && exit 1
	exit 0
}

conf=$kdir/include/config/auto.conf
grep -qs '^CONFIG_DEBUG_INFO_BTF_MODULES=y' "$conf" ||
	without "the kernel at $kdir has no CONFIG_DEBUG_INFO_BTF_MODULES"
# The release modules load into (Debian's kernel.release file holds the
# upstream version instead).
rel=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$kdir/include/generated/utsrelease.h" 2>/dev/null || true)
command -v pahole >/dev/null || without "pahole is not installed (Debian: dwarves)"

btfids=${MPMCRING_RESOLVE_BTFIDS:-}
if [ -z "$btfids" ]; then
	for f in "$kdir/tools/bpf/resolve_btfids/resolve_btfids" \
		$(ls -d /usr/lib/linux-kbuild-*/tools/bpf/resolve_btfids/resolve_btfids 2>/dev/null | sort -V -r) \
		"$(command -v resolve_btfids || true)"; do
		if [ -n "$f" ] && [ -x "$f" ]; then
			btfids=$f
			break
		fi
	done
fi
[ -n "$btfids" ] || without "no resolve_btfids (Debian: linux-kbuild-6.12 or newer has one; or set MPMCRING_RESOLVE_BTFIDS)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The .BTF of a bzImage: find the compressed kernel inside, decompress it,
# keep the section. Cached by the image's hash when a cache is writable.
btf_from_image() {
	local image=$1 out=$2 off magic tool
	for magic in '\xfd\x37\x7a\x58\x5a\x00:xz' '\x28\xb5\x2f\xfd:zstd' \
		'\x1f\x8b\x08:gzip' '\x02\x21\x4c\x18:lz4' '\x5d\x00\x00\x00:lzma' \
		'BZh:bzip2'; do
		tool=${magic##*:}
		command -v "$tool" >/dev/null || continue
		for off in $(LC_ALL=C grep -obUaP "${magic%:*}" "$image" 2>/dev/null | cut -d: -f1 | head -n 8); do
			tail -c +$((off + 1)) "$image" | "$tool" -dc 2>/dev/null >"$tmp/vmlinux" || true
			if [ "$(head -c 4 "$tmp/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ] &&
				objcopy -O binary --only-section=.BTF "$tmp/vmlinux" "$out" 2>/dev/null &&
				[ -s "$out" ]; then
				rm -f "$tmp/vmlinux"
				return 0
			fi
		done
	done
	rm -f "$tmp/vmlinux"
	return 1
}

base=${MPMCRING_BTF_BASE:-}
if [ -z "$base" ] && [ -n "$rel" ] && [ "$rel" = "$(uname -r)" ] && [ -r /sys/kernel/btf/vmlinux ]; then
	base=/sys/kernel/btf/vmlinux
fi
if [ -z "$base" ] && [ -n "$rel" ] && [ -r "/boot/vmlinuz-$rel" ]; then
	# DKMS may run this with no HOME (a kernel update from a unit).
	cache=${MPMCRING_CACHE:-${XDG_CACHE_HOME:-${HOME:-/var/cache}/.cache}/mpmcring}/bpf
	key=$(sha256sum <"/boot/vmlinuz-$rel" | cut -c1-16)
	cached=$cache/$rel-$key.btf
	if [ -s "$cached" ]; then
		base=$cached
	elif btf_from_image "/boot/vmlinuz-$rel" "$tmp/base.btf"; then
		base=$tmp/base.btf
		if mkdir -p "$cache" 2>/dev/null && cp "$tmp/base.btf" "$cached.tmp" 2>/dev/null; then
			mv "$cached.tmp" "$cached"
		fi
	fi
fi
if [ -z "$base" ] && [ -f "$kdir/vmlinux" ]; then
	base=$kdir/vmlinux
fi
[ -n "$base" ] || without "no base BTF for ${rel:-$kdir} (not the running kernel, no readable /boot/vmlinuz-$rel, no vmlinux in $kdir; or set MPMCRING_BTF_BASE)"

# pahole's options for module BTF, by pahole's version, as the kernel's own
# build picks them for the same pahole.
ver=$(pahole --version | sed 's/^v//; s/\.//')
flags=(-J)
[ "$ver" -ge 121 ] && flags+=(--btf_gen_floats)
[ "$ver" -ge 124 ] && grep -qs '^CONFIG_PAHOLE_HAS_LANG_EXCLUDE=y' "$conf" && flags+=(--lang_exclude=rust)

for ko in "$@"; do
	# A module that already has BTF (Kbuild found a vmlinux) is done.
	if readelf -S "$ko" | grep -q ' \.BTF '; then
		continue
	fi
	LLVM_OBJCOPY=objcopy pahole "${flags[@]}" --btf_base "$base" "$ko" >"$tmp/log" 2>&1 ||
		{ cat "$tmp/log" >&2; die "pahole could not encode BTF for $ko"; }
	"$btfids" -b "$base" "$ko" >"$tmp/log" 2>&1 ||
		{ cat "$tmp/log" >&2; die "resolve_btfids failed for $ko"; }
done
printf 'mpmcring: module BTF for %s (base: %s)\n' "${rel:-$kdir}" "$base" >&2
