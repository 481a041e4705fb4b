#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Installs the module through DKMS for one installed Debian kernel, the way a
# user's machine would, and hands the installed modules to the test guest:
#
#   scripts/dkms-install.sh <release> <outdir>
#
# The package source (/usr/src/mpmcring-<version>) is refreshed from this
# tree and re-added when it changed, then `dkms install -k <release>` builds
# and installs it under /lib/modules/<release>/updates/dkms (skipped when
# DKMS already installed this same source for that kernel). The installed files (xz- or
# zstd-compressed on 6.12) are unpacked into <outdir>/*.ko; their paths are
# printed, one per line. DKMS's own make.log goes to <outdir>/dkms-make.log.
# Needs root: DKMS writes /usr/src, /var/lib/dkms and /lib/modules.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -eq 2 ] || die "usage: dkms-install.sh <release> <outdir>"
rel=$1 out=$2
[ "$(id -u)" -eq 0 ] || die "dkms-install.sh needs root (DKMS installs into /usr/src and /lib/modules)"
command -v dkms >/dev/null || die "dkms is not installed (scripts/deps.sh installs it)"
[ -d "/lib/modules/$rel/build" ] || die "no headers for $rel (linux-headers-$rel)"

name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"/\1/p' "$REPO/dkms.conf")
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$REPO/dkms.conf")
[ -n "$name" ] && [ -n "$ver" ] || die "dkms.conf lacks PACKAGE_NAME or PACKAGE_VERSION"
src=/usr/src/$name-$ver

# What the package needs: the build files and the module sources only.
files() {
	{ module_sources; echo Makefile; echo dkms.conf; } | LC_ALL=C sort
}
hash=$( (files | (cd "$REPO" && xargs sha256sum); dkms --version) | sha256sum | cut -c1-16)

# A new source replaces the package (and what DKMS built of the old one for
# every kernel); the same source is kept, so a kernel it is already
# installed for is not built again (a second make check).
if [ "$(cat "$src/.mpmcring-hash" 2>/dev/null)" != "$hash" ]; then
	rm -rf "$src.new"
	mkdir -p "$src.new"
	files | (cd "$REPO" && xargs cp --parents -t "$src.new")
	echo "$hash" >"$src.new/.mpmcring-hash"
	dkms remove "$name/$ver" --all >/dev/null 2>&1 || true
	rm -rf "$src" "/var/lib/dkms/$name/$ver"
	mv "$src.new" "$src"
	dkms add "$name/$ver" >/dev/null
fi

mkdir -p "$out"
rm -f "$out"/*.ko
log=/var/lib/dkms/$name/$ver/$rel/$(uname -m)/log/make.log
status=0
if dkms status "$name/$ver" -k "$rel" 2>/dev/null | grep -q ': installed'; then
	echo "dkms: $name/$ver (source $hash) is already installed for $rel" >"$out/dkms.log"
else
	# The test guests need the load generator, which users opt into.
	MPMCRING_DKMS_LOADGEN=1 dkms install "$name/$ver" -k "$rel" >"$out/dkms.log" 2>&1 ||
		status=$?
fi
[ -f "$log" ] && cp "$log" "$out/dkms-make.log"
if [ "$status" -ne 0 ]; then
	tail -n 40 "$out/dkms.log" >&2
	[ -f "$log" ] && tail -n 40 "$log" >&2
	die "dkms install $name/$ver -k $rel failed (exit $status)"
fi

found=0
for f in "/lib/modules/$rel/updates/dkms/"*.ko*; do
	[ -f "$f" ] || continue
	base=$(basename "$f")
	case "$base" in
	*.ko) cp "$f" "$out/$base" ;;
	*.ko.xz) xz -dc "$f" >"$out/${base%.xz}" ;;
	*.ko.zst) zstd -qdc "$f" >"$out/${base%.zst}" ;;
	*.ko.gz) gzip -dc "$f" >"$out/${base%.gz}" ;;
	*) continue ;;
	esac
	found=$((found + 1))
done
[ "$found" -gt 0 ] || die "dkms install put no module under /lib/modules/$rel/updates/dkms"
modinfo -F vermagic "$out/$name.ko" | grep -q "^$rel " ||
	die "the installed $name.ko is not built for $rel: $(modinfo -F vermagic "$out/$name.ko")"
for f in "$out"/*.ko; do printf '%s\n' "$f"; done
