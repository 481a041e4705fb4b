#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# vmlinux.h for BPF programs (CO-RE), from a Debian kernel's own BTF:
#
#   scripts/bpf-vmlinux.sh <release>      e.g. 6.1.0-57-amd64
#
# Prints the path of a vmlinux.h generated from /boot/vmlinuz-<release>.
# Debian's headers packages ship no vmlinux, so the image is decompressed
# with scripts/extract-vmlinux from linux-source (the cached tree of
# scripts/lib.sh) into an ELF that still carries the .BTF section, and
# `bpftool btf dump file ... format c` writes the header. Cached under
# $MPMCRING_CACHE/bpf/, keyed by the image's and bpftool's hashes, so a
# fresh clone on the same machine reuses it. The BPF make fragment
# (scripts/bpf.mk) calls this.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || die "usage: bpf-vmlinux.sh <kernel release>"
rel=$1
image=/boot/vmlinuz-$rel
[ -f "$image" ] || die "no kernel image $image (is linux-image-$rel installed?)"
command -v bpftool >/dev/null || die "bpftool is not installed (scripts/deps.sh installs it)"

key=$( (sha256sum <"$image"; bpftool version 2>/dev/null | sed -n 1p) | sha256sum | cut -c1-16)
out="$MPMCRING_CACHE/bpf/$rel-$key"
if [ ! -f "$out/vmlinux.h" ]; then
	src=$(linux_source_dir)
	say "vmlinux.h for $rel from $image"
	rm -rf "$out.tmp"
	mkdir -p "$out.tmp"
	"$src/scripts/extract-vmlinux" "$image" >"$out.tmp/vmlinux" ||
		die "extract-vmlinux could not decompress $image"
	readelf -S "$out.tmp/vmlinux" >"$out.tmp/sections"
	grep -q '\.BTF ' "$out.tmp/sections" ||
		die "$image has no .BTF section (a kernel without CONFIG_DEBUG_INFO_BTF)"
	bpftool btf dump file "$out.tmp/vmlinux" format c >"$out.tmp/vmlinux.h"
	rm -f "$out.tmp/vmlinux" "$out.tmp/sections"
	rm -rf "$out"
	mv "$out.tmp" "$out"
fi
echo "$out/vmlinux.h"
