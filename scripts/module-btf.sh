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
#   /boot/vmlinuz-<release>    decompressed, its .BTF taken (cached in the
#                              user's cache, if any, and only if it is
#                              the effective user's own and nobody else
#                              can write it or a directory above it;
#                              entries of kernels no longer in /boot are
#                              removed; MPMCRING_BOOT replaces /boot);
#   <KDIR>/vmlinux             a full build tree.
# resolve_btfids: MPMCRING_RESOLVE_BTFIDS, KDIR's tools/bpf, Debian's
# linux-kbuild packages (any version reads the same .BTF_ids format), PATH.
#
# Without any of these the modules stay as they are, working without BPF
# producers; the script says so once and exits 0. So does any other
# failure on the way, foreseen or not (a command failing under set -e, in
# a function or not, or an unbound variable under set -u): the EXIT trap
# turns every such exit into that one line. pahole and resolve_btfids work
# on copies, and the modules are replaced only once every step succeeded
# for all of them: a failure before that leaves them as they were, and no
# module is ever left half done. MPMCRING_BTF=0 skips all this;
# MPMCRING_BTF=1 makes a missing piece or a failure an error. (A wrong
# command line is an error in any mode.)
set -euo pipefail

die() { printf 'error: %s\n' "$*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: module-btf.sh <KDIR> <module.ko>..."
kdir=$1
shift
want=${MPMCRING_BTF:-auto}
[ "$want" = 0 ] && exit 0

# Says once why there is no BTF; an error when it was asked for.
said=
without() {
	said=1
	printf 'mpmcring: modules built WITHOUT BTF: %s; they work, but BPF programs cannot produce into rings (README: BPF producers)\n' "$*" >&2
	[ "$want" = 1 ] && exit 1
	exit 0
}

# Every way out ends here, the unforeseen ones too: set -u exits without
# running the ERR trap, and set -e inside a function exits without running
# the caller's. It removes the working files, and an exit that did not come
# through without() becomes one: in auto mode a module without BTF (it
# works) instead of a failed build (no module at all after a kernel update).
# The ERR trap only notes where a command failed, for that message; with
# errtrace (-E) it also runs in functions, and in command substitutions,
# where the note stays in the subshell.
tmp=
copies=()
failed_at=
finish() {
	local status=$1
	trap - ERR
	set +eu
	[ -z "$tmp" ] || rm -rf "$tmp"
	rm -f "${copies[@]}"
	if [ "$status" -ne 0 ] && [ -z "$said" ]; then
		without "unexpected failure${failed_at:+ at scripts/module-btf.sh:$failed_at} (exit $status)"
	fi
}
trap 'finish $?' EXIT
set -E
noted() { failed_at="$1: ${2%%$'\n'*}"; }
trap 'noted "$LINENO" "$BASH_COMMAND"' ERR

conf=$kdir/include/config/auto.conf
grep -qs '^CONFIG_DEBUG_INFO_BTF_MODULES=y' "$conf" ||
	without "the kernel at $kdir has no CONFIG_DEBUG_INFO_BTF_MODULES"
# The release modules load into (Debian's kernel.release file holds the
# upstream version instead).
rel=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$kdir/include/generated/utsrelease.h" 2>/dev/null || true)
command -v pahole >/dev/null || without "pahole is not installed (Debian: dwarves)"

btfids=${MPMCRING_RESOLVE_BTFIDS:-}
if [ -z "$btfids" ]; then
	# shellcheck disable=SC2012 # Debian's paths, sorted by version
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

# Whether directory $1 may hold a cache root reads back: not a symlink,
# owned by the effective user, writable by nobody else. Anything else
# (under sudo -E, the caller's HOME) could hand root a base BTF of the
# caller's choosing or a link to write through.
own_dir() {
	local m
	[ -d "$1" ] && [ ! -L "$1" ] && [ -O "$1" ] || return 1
	m=$(stat -c %A -- "$1") || return 1
	[ "${m:5:1}" != w ] && [ "${m:8:1}" != w ]
}
# Whether a directory above the cache keeps others from renaming what is
# below it: ours or root's, and not writable by others unless root's and
# sticky (/tmp).
safe_parent() {
	local m o
	[ -d "$1" ] && [ ! -L "$1" ] || return 1
	o=$(stat -c %u -- "$1") && m=$(stat -c %A -- "$1") || return 1
	[ "$o" = "$(id -u)" ] || [ "$o" = 0 ] || return 1
	if [ "${m:5:1}" = w ] || [ "${m:8:1}" = w ]; then
		[ "$o" = 0 ] && [ "${m:9:1}" = t ]
	else
		return 0
	fi
}
# Prints the cache directory $1 (absolute), made if need be, when it and
# its parent own_dir() and every directory above safe_parent(); else fails,
# having made nothing under an unsafe parent.
cache_dir() {
	local d=$1 p
	case $d in /*) ;; *) d=$PWD/$d ;; esac
	p=${d%/*}
	while [ -n "$p" ] && [ ! -e "$p" ]; do
		p=${p%/*}
	done
	# The nearest existing directory and everything above it: only then
	# is it safe to make the missing ones.
	while [ -n "$p" ]; do
		safe_parent "$p" || return 1
		p=${p%/*}
	done
	safe_parent / || return 1
	(umask 077 && mkdir -p -- "$d") 2>/dev/null || return 1
	own_dir "$d" && own_dir "${d%/*}" || return 1
	p=${d%/*}
	p=${p%/*}
	while [ -n "$p" ]; do
		safe_parent "$p" || return 1
		p=${p%/*}
	done
	printf '%s\n' "$d"
}
# Keeps the cache to the kernels still installed: an entry whose image is
# gone, or changed (another key), goes.
prune_cache() {
	local f name r k
	for f in "$1"/*.btf; do
		if [ ! -f "$f" ] || [ -L "$f" ] || [ ! -O "$f" ]; then
			continue
		fi
		name=${f##*/}
		k=${name%.btf}
		k=${k##*-}
		r=${name%-"$k".btf}
		if [ ! -e "${MPMCRING_BOOT:-/boot}/vmlinuz-$r" ] || { [ "$r" = "$rel" ] && [ "$k" != "$key" ]; }; then
			rm -f -- "$f"
		fi
	done
}

base=${MPMCRING_BTF_BASE:-}
if [ -z "$base" ] && [ -n "$rel" ] && [ "$rel" = "$(uname -r)" ] && [ -r /sys/kernel/btf/vmlinux ]; then
	base=/sys/kernel/btf/vmlinux
fi
image=${MPMCRING_BOOT:-/boot}/vmlinuz-$rel
if [ -z "$base" ] && [ -n "$rel" ] && [ -r "$image" ]; then
	# The user's cache (MPMCRING_CACHE, as scripts/lib.sh, else the XDG
	# one). DKMS may run this with no HOME (a kernel update from a unit):
	# then no cache, and the image is read again next time rather than
	# leaving files in a place no package owns. Under sudo -E, HOME is the
	# caller's: cache_dir() then refuses it (see there).
	cache=${MPMCRING_CACHE:-}
	# MPMCRING_BTF_CACHE=0 (dkms.conf): none, whoever runs it.
	if [ "${MPMCRING_BTF_CACHE:-1}" = 0 ]; then
		cache=
	elif [ -z "$cache" ] && [ -n "${XDG_CACHE_HOME:-}" ]; then
		cache=$XDG_CACHE_HOME/mpmcring
	elif [ -z "$cache" ] && [ -n "${HOME:-}" ]; then
		cache=$HOME/.cache/mpmcring
	fi
	key=$(sha256sum <"$image" | cut -c1-16)
	dir=
	[ -z "$cache" ] || dir=$(cache_dir "$cache/bpf") || dir=
	cached=${dir:+$dir/$rel-$key.btf}
	if [ -n "$cached" ] && [ -f "$cached" ] && [ ! -L "$cached" ] && [ -O "$cached" ] &&
		[ -s "$cached" ]; then
		base=$cached
	elif btf_from_image "$image" "$tmp/base.btf"; then
		base=$tmp/base.btf
		# A new name (O_EXCL) in our own directory, renamed over the
		# entry: never written through a name someone else chose.
		if [ -n "$cached" ] && part=$(mktemp "$dir/.btf.XXXXXX" 2>/dev/null); then
			copies+=("$part")
			if cp "$tmp/base.btf" "$part" 2>/dev/null; then
				mv -f -T "$part" "$cached" 2>/dev/null || true
			fi
		fi
	fi
	[ -z "$dir" ] || prune_cache "$dir"
fi
if [ -z "$base" ] && [ -f "$kdir/vmlinux" ]; then
	base=$kdir/vmlinux
fi
[ -n "$base" ] || without "no base BTF for ${rel:-$kdir} (not the running kernel, no readable $image, no vmlinux in $kdir; or set MPMCRING_BTF_BASE)"

# pahole's options for module BTF, by pahole's version, as the kernel's own
# build picks them for the same pahole.
ver=$(pahole --version | sed 's/^v//; s/\.//')
case $ver in
'' | *[!0-9]*) without "cannot read pahole's version (\"$ver\")" ;;
esac
flags=(-J)
[ "$ver" -ge 121 ] && flags+=(--btf_gen_floats)
[ "$ver" -ge 124 ] && grep -qs '^CONFIG_PAHOLE_HAS_LANG_EXCLUDE=y' "$conf" && flags+=(--lang_exclude=rust)

# A tool's output, shown only when BTF was asked for (otherwise the one
# WITHOUT BTF line says it all).
failed() {
	[ "$want" = 1 ] && cat "$tmp/log" >&2
	without "$*"
}

# Each module is encoded on a copy next to it, and every copy replaces its
# module only when both steps succeeded for all: a module is never left
# half done (.BTF without its resolved id sets, which the check below
# would then take for done).
done_kos=()
for ko in "$@"; do
	# A module that already has BTF (Kbuild found a vmlinux) is done.
	if readelf -S "$ko" | grep -q ' \.BTF '; then
		continue
	fi
	work=$ko.btf-tmp
	copies+=("$work")
	cp "$ko" "$work"
	LLVM_OBJCOPY=objcopy pahole "${flags[@]}" --btf_base "$base" "$work" >"$tmp/log" 2>&1 ||
		failed "pahole could not encode BTF for $ko"
	"$btfids" -b "$base" "$work" >"$tmp/log" 2>&1 ||
		failed "resolve_btfids failed for $ko"
	done_kos+=("$ko")
done
for ko in "${done_kos[@]}"; do
	mv "$ko.btf-tmp" "$ko"
done
printf 'mpmcring: module BTF for %s (base: %s)\n' "${rel:-$kdir}" "$base" >&2
