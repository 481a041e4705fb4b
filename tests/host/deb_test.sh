#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The Debian packages: dpkg-buildpackage builds mpmcring-dkms,
# libmpmcring2, libmpmcring-dev and mpmcring-tools from a copy of the tree;
# lintian reports nothing (every tag fails the test: explain it here and
# allow it, or fix it); then the packages are unpacked into a root and used
# as a user would: a consumer built with pkg-config against
# libmpmcring-dev, linked to libmpmcring.so.2, run; the tool run; the DKMS
# package carries its source, dkms.conf and the scripts that call dkms.
# (Installing them with dpkg into a guest and building the module there
# with DKMS is not done yet: the test guests are busybox, without dpkg.)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "deb_test: $*" >&2; exit 1; }
for t in dpkg-buildpackage dh lintian pkg-config; do
	command -v $t >/dev/null || fail "$t is not installed (scripts/deps.sh check installs it)"
done
[ -e /usr/share/perl5/Debian/Debhelper/Sequence/dkms.pm ] ||
	fail "dh-dkms is not installed (scripts/deps.sh check installs it)"

# A copy of the tree as git sees it (tracked and new files, nothing ignored).
mkdir "$tmp/src"
(cd "$top" && git ls-files -co --exclude-standard | tar cf - -T -) | tar xf - -C "$tmp/src"
(cd "$tmp/src" && dpkg-buildpackage -us -uc -b >"$tmp/build.log" 2>&1) ||
	fail "dpkg-buildpackage failed:"$'\n'"$(tail -n 30 "$tmp/build.log")"
# The symbols file lists exactly what the version script exports.
! grep -q 'dpkg-gensymbols: warning' "$tmp/build.log" ||
	fail "debian/libmpmcring2.symbols and libmpmcring.map disagree:"$'\n'"$(grep -A20 'dpkg-gensymbols: warning' "$tmp/build.log")"
ver=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
arch=$(dpkg --print-architecture)
for p in mpmcring-dkms_${ver}_all libmpmcring2_${ver}_$arch libmpmcring-dev_${ver}_$arch \
	 mpmcring-tools_${ver}_$arch; do
	[ -f "$tmp/$p.deb" ] || fail "no $p.deb"
done

# lintian: no tag at all, informational ones included.
tags=$(lintian --tag-display-limit 0 -I "$tmp/mpmcring_${ver}_$arch.changes" 2>&1 |
       grep -v 'running with root privileges' || true)
[ -z "$tags" ] || fail "lintian:"$'\n'"$tags"

# Unpacked into a root, used.
root="$tmp/root"
for d in "$tmp"/*.deb; do dpkg -x "$d" "$root"; done
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
export PKG_CONFIG_SYSROOT_DIR="$root" PKG_CONFIG_LIBDIR="$root/usr/lib/$ma/pkgconfig"
cc -std=c11 -Wall -Wextra -Werror -o "$tmp/consumer" "$top/examples/consumer.c" \
	$(pkg-config --cflags --libs mpmcring) || fail "the example does not build against libmpmcring-dev"
readelf -d "$tmp/consumer" | grep -q 'NEEDED.*\[libmpmcring.so.2\]' ||
	fail "the example is not linked to libmpmcring.so.2"
out=$(LD_LIBRARY_PATH="$root/usr/lib/$ma" "$tmp/consumer" "$tmp/no-such-ring" 2>&1) &&
	fail "the example ran without a ring"
echo "$out" | grep -q 'no such device' || fail "the example said: $out"
"$root/usr/bin/mpmcring" --version | grep -q "^mpmcring $ver" || fail "mpmcring --version"
"$root/usr/bin/mpmcring" list --json >/dev/null || fail "mpmcring list --json"
src="$root/usr/src/mpmcring-$ver"
[ -f "$src/dkms.conf" ] && [ -f "$src/Kbuild" ] && [ -f "$src/kmod/main.c" ] ||
	fail "mpmcring-dkms lacks its source in /usr/src/mpmcring-$ver"
[ ! -e "$src/build" ] && [ ! -e "$src/.git" ] || fail "mpmcring-dkms ships build/ or .git"
dpkg-deb -e "$tmp/mpmcring-dkms_${ver}_all.deb" "$tmp/ctl"
grep -q 'common.postinst' "$tmp/ctl/postinst" || fail "mpmcring-dkms does not run DKMS on install"
grep -q '^Depends:.*dkms' "$tmp/ctl/control" || fail "mpmcring-dkms does not depend on dkms"
grep -qx 'KERNEL=="mpmcring", SUBSYSTEM=="misc", OWNER="root", GROUP="root", MODE="0600"' \
	"$root/lib/udev/rules.d/99-mpmcring.rules" || fail "udev rule"
echo "deb_test: 4 packages built, lintian clean, used from an unpacked root"
