#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Builds and installs the module through DKMS for one installed Debian
# kernel, the way a user's machine would (dkms add, build, install with the
# package's dkms.conf, against /lib/modules/<release>/build), but into a
# private DKMS tree, and hands the installed modules to the test guest:
#
#   scripts/dkms-install.sh <release> <outdir>
#
# Nothing of the host's DKMS or kernels is touched: the sources, DKMS's
# state, the installed modules and the module signing key live under
# <outdir>/tree (dkms --sourcetree, --dkmstree, --installtree; mok_*
# variables), and depmod is not run (--no-depmod). /usr/src, /var/lib/dkms
# and /lib/modules/<release> are only read: the kernel's headers. So a
# packaged mpmcring-dkms stays as dpkg installed it, and the load generator,
# which the guests need and users opt into, reaches no host kernel.
#
# The private source is refreshed from this tree when it changed (a new
# tree replaces everything built from the old one); an unchanged source
# already installed for <release> is not built again (a second make check).
# The modules dkms.conf names (with the load generator: MPMCRING_DKMS_LOADGEN=1)
# are unpacked (xz or zstd on 6.12) into <outdir>/*.ko; their paths are
# printed, one per line. DKMS's make.log goes to <outdir>/dkms-make.log.
# Needs root (dkms install refuses otherwise) and the dkms package.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -eq 2 ] || die "usage: dkms-install.sh <release> <outdir>"
rel=$1 out=$2
[ "$(id -u)" -eq 0 ] || die "dkms-install.sh needs root (dkms install checks for it; it writes only under <outdir>)"
command -v dkms >/dev/null || die "dkms is not installed (scripts/deps.sh installs it)"
[ -d "/lib/modules/$rel/build" ] || die "no headers for $rel (linux-headers-$rel)"

name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"/\1/p' "$REPO/dkms.conf")
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$REPO/dkms.conf")
[ -n "$name" ] && [ -n "$ver" ] || die "dkms.conf lacks PACKAGE_NAME or PACKAGE_VERSION"
mkdir -p "$out"
out=$(cd "$out" && pwd)
tree=$out/tree
src=$tree/source/$name-$ver

# The guests need the load generator: opted in for every dkms call here.
export MPMCRING_DKMS_LOADGEN=1
# Signing as DKMS does it, with a key of this tree's, not /var/lib/dkms's.
export mok_signing_key=$tree/mok.key mok_certificate=$tree/mok.pub
dk() {
	dkms --sourcetree "$tree/source" --dkmstree "$tree/dkms" --installtree "$tree/install" "$@"
}

# What the package needs: the build files and the module sources only.
files() {
	dkms_sources
}
hash=$( (files | (cd "$REPO" && xargs sha256sum); dkms --version) | sha256sum | cut -c1-16)

if [ "$(cat "$src/.mpmcring-hash" 2>/dev/null)" != "$hash" ]; then
	rm -rf "$tree/source" "$tree/dkms" "$tree/install"
	mkdir -p "$src" "$tree/dkms" "$tree/install"
	files | (cd "$REPO" && xargs cp --parents -t "$src")
	echo "$hash" >"$src/.mpmcring-hash"
	dk add "$name/$ver" >/dev/null
fi
# dkms install wants the kernel's directory in the install tree.
mkdir -p "$tree/install/$rel"

rm -f "$out"/*.ko
log=$tree/dkms/$name/$ver/$rel/$(uname -m)/log/make.log
status=0
if dk status "$name/$ver" -k "$rel" 2>/dev/null | grep -q ': installed'; then
	echo "dkms: $name/$ver (source $hash) is already installed for $rel in $tree" >"$out/dkms.log"
else
	dk install --no-depmod "$name/$ver" -k "$rel" >"$out/dkms.log" 2>&1 || status=$?
fi
[ -f "$log" ] && cp "$log" "$out/dkms-make.log"
if [ "$status" -ne 0 ]; then
	tail -n 40 "$out/dkms.log" >&2
	[ -f "$log" ] && tail -n 40 "$log" >&2
	die "dkms install $name/$ver -k $rel (private tree $tree) failed (exit $status)"
fi

# The modules dkms.conf names, nothing else that may lie there.
names=$(kernel_source_dir=/lib/modules/$rel/build && . "$REPO/dkms.conf" &&
	echo "${BUILT_MODULE_NAME[*]}")
dir=$tree/install/$rel/updates/dkms
for m in $names; do
	f=$(ls "$dir/$m.ko" "$dir/$m.ko".* 2>/dev/null | head -1 || true)
	case "$f" in
	*.ko) cp "$f" "$out/$m.ko" ;;
	*.ko.xz) xz -dc "$f" >"$out/$m.ko" ;;
	*.ko.zst) zstd -qdc "$f" >"$out/$m.ko" ;;
	*.ko.gz) gzip -dc "$f" >"$out/$m.ko" ;;
	*) die "dkms install put no $m.ko under $dir" ;;
	esac
done
modinfo -F vermagic "$out/$name.ko" | grep -q "^$rel " ||
	die "the installed $name.ko is not built for $rel: $(modinfo -F vermagic "$out/$name.ko")"
for m in $names; do printf '%s\n' "$out/$m.ko"; done
