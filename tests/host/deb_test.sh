#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The Debian packages: dpkg-buildpackage builds mpmcring-dkms,
# libmpmcring2, libmpmcring-dev and mpmcring-tools from a copy of the tree;
# lintian reports nothing (every tag fails the test: explain it here and
# allow it, or fix it); then the packages are unpacked into a root and used
# as a user would: a consumer built with pkg-config against
# libmpmcring-dev, linked to libmpmcring.so.2, run; the tool run; the DKMS
# package carries its source, dkms.conf and the scripts that call dkms, and
# those scripts build, install and remove the module for a stock kernel
# with DKMS in a mount namespace where DKMS's paths are private. (Not done:
# dpkg -i of the packages into a Debian root, whose udev rule, ldconfig
# trigger and module would then be used in a guest: the test guests are
# busybox, without dpkg, and a Debian root needs debootstrap.)
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
# mpmcring-dkms's maintainer scripts, run as dpkg would run them (postinst
# configure, then prerm remove), with DKMS's paths made private: in a mount
# namespace, /usr/src is a scratch directory holding the package's source
# and the host's kernel headers (bind-mounted), /var/lib/dkms and
# /lib/modules are empty tmpfs but for one kernel's build link. So the
# package's DKMS step (dh-dkms's postinst: dkms add, build, install,
# depmod; signing) really runs against that kernel's headers,
# nothing of the host changes, and the result is checked in there.
# The kernel: the running one if its headers are here, else the first
# installed one that has them (DKMS's postinst then builds for the kernels
# in /lib/modules, as in a chroot: here only that one).
rel=$(uname -r)
[ -d "/lib/modules/$rel/build" ] ||
	rel=$(ls /lib/modules | while read -r r; do [ -d "/lib/modules/$r/build" ] && echo "$r"; done | sed -n 1p)
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null && [ -d "/lib/modules/$rel/build" ]; then
	cp -a "$root/usr/src/mpmcring-$ver" "$tmp/mpmcring-src"
	cat >"$tmp/ns.sh" <<NS
set -eu
mkdir -p "$tmp/usrsrc/mpmcring-$ver"
for d in /usr/src/linux-*; do
	[ -d "\$d" ] || continue
	mkdir -p "$tmp/usrsrc/\${d##*/}"
	mount --bind "\$d" "$tmp/usrsrc/\${d##*/}"
done
cp -a "$tmp/mpmcring-src/." "$tmp/usrsrc/mpmcring-$ver/"
build=\$(readlink -f "/lib/modules/$rel/build")
mount --rbind "$tmp/usrsrc" /usr/src
mount -t tmpfs none /var/lib/dkms
mount -t tmpfs none /lib/modules
mkdir -p "/lib/modules/$rel"
ln -s "\$build" "/lib/modules/$rel/build"
sh "$tmp/ctl/postinst" configure
dkms status mpmcring
ls "/lib/modules/$rel/updates/dkms"
for m in /lib/modules/$rel/updates/dkms/*.ko*; do modinfo -F vermagic "\$m"; done
sh "$tmp/ctl/prerm" remove
echo "after prerm: \$(ls /lib/modules/$rel/updates/dkms 2>/dev/null | wc -l) modules, \$(dkms status mpmcring | wc -l) dkms entries"
NS
	mkdir -p "$top/build/host"
	unshare -m --propagation private bash "$tmp/ns.sh" >"$tmp/dkms.log" 2>&1 ||
		{ cp "$tmp/dkms.log" "$top/build/host/deb-dkms.log"; false; } ||
		fail "mpmcring-dkms's postinst/prerm (private DKMS paths) failed:"$'\n'"$(tail -n 30 "$tmp/dkms.log")"
	grep -q "^mpmcring/$ver, $rel, [^:]*: installed" "$tmp/dkms.log" ||
		fail "postinst did not install the module for $rel:"$'\n'"$(tail -n 30 "$tmp/dkms.log")"
	for m in mpmcring mpmcring_events; do
		grep -q "^$m\.ko" "$tmp/dkms.log" || fail "postinst installed no $m.ko: $(cat "$tmp/dkms.log")"
	done
	! grep -q '^mpmcring_loadgen\.ko' "$tmp/dkms.log" ||
		fail "the package installs the load generator by default"
	grep -q "^$rel " "$tmp/dkms.log" || fail "the modules are not built for $rel"
	grep -q '^after prerm: 0 modules, 0 dkms entries' "$tmp/dkms.log" ||
		fail "prerm left modules or DKMS state behind: $(grep '^after prerm' "$tmp/dkms.log")"
	cp "$tmp/dkms.log" "$top/build/host/deb-dkms.log"
	dkms_step="DKMS step of postinst/prerm run for $rel (build/host/deb-dkms.log)"
else
	fail "not root, no unshare or no headers for $rel: mpmcring-dkms's DKMS step cannot run"
fi
echo "deb_test: 4 packages built, lintian clean, used from an unpacked root; $dkms_step"
