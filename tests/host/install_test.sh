#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make install DESTDIR=...: the tree a package would ship, a consumer built
# against it with pkg-config as a user would, and a clean uninstall.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
fail() { echo "install_test: $*" >&2; exit 1; }
# The library's version, from its header: major.minor.patch.
libver=$(sed -n 's/^#define MPMCRING_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' \
	"$top/userspace/include/mpmcring.h" | paste -sd.)
major=${libver%%.*}
[ "$major" -ge 2 ] || fail "no library version in mpmcring.h: '$libver'"

# The top-level install: userspace, plus the udev rule and modprobe.d file.
make -s -C "$top" install DESTDIR="$dest" PREFIX=/usr MPMCRING_GROUP=mpmcring >/dev/null
for f in usr/lib/libmpmcring.so.$libver usr/lib/libmpmcring.a \
	 usr/lib/pkgconfig/mpmcring.pc usr/include/mpmcring.h \
	 usr/include/mpmcring/linux/mpmcring.h usr/bin/mpmcring \
	 usr/share/man/man1/mpmcring.1 usr/share/man/man3/libmpmcring.3 \
	 usr/share/man/man4/mpmcring.4 usr/share/man/man3/mpmcring_read_batch.3 \
	 etc/udev/rules.d/99-mpmcring.rules etc/modprobe.d/mpmcring.conf; do
	[ -f "$dest/$f" ] || fail "missing $f"
done
# The real file name carries the library's version, the soname its major.
[ "$(readlink "$dest/usr/lib/libmpmcring.so")" = libmpmcring.so.$major ] || fail "bad .so link"
[ "$(readlink "$dest/usr/lib/libmpmcring.so.$major")" = libmpmcring.so.$libver ] ||
	fail "bad soname link"
readelf -d "$dest/usr/lib/libmpmcring.so.$libver" | grep -q "SONAME.*\[libmpmcring.so.$major\]" ||
	fail "soname is not libmpmcring.so.$major"
# Only the public API is exported, versioned.
bad=$(nm -D --defined-only "$dest/usr/lib/libmpmcring.so.$libver" | awk '$2=="T"{print $3}' |
      grep -v '^mpmcring_' || true)
[ -z "$bad" ] || fail "exports beyond the API: $bad"
nm -D "$dest/usr/lib/libmpmcring.so.$libver" | grep -q "mpmcring_open@@LIBMPMCRING_$major.0" ||
	fail "symbols are not versioned"
grep -q '^prefix=/usr$' "$dest/usr/lib/pkgconfig/mpmcring.pc" || fail ".pc prefix"
# One man page per API function, each the library page.
for fn in $(sed -n 's/^[a-z].*[ *]\(mpmcring_[a-z_]*\)(.*/\1/p' "$top/userspace/include/mpmcring.h"); do
	grep -qx '.so man3/libmpmcring.3' "$dest/usr/share/man/man3/$fn.3" || fail "no man page for $fn"
	grep -q "$fn" "$dest/usr/share/man/man3/libmpmcring.3" || fail "libmpmcring.3 does not document $fn"
done
# The udev rule: the group asked for, group read-write; no placeholder left.
rules="$dest/etc/udev/rules.d/99-mpmcring.rules"
[ "$(grep -c 'GROUP="mpmcring", MODE="0660"' "$rules")" = 2 ] || fail "udev rule: $(cat "$rules")"
! grep -q @ "$rules" || fail "udev rule keeps a placeholder"
grep -q '^# options mpmcring' "$dest/etc/modprobe.d/mpmcring.conf" || fail "modprobe.d example"
# Without a group: root only.
make -s -C "$top" install DESTDIR="$dest/default" PREFIX=/usr >/dev/null
[ "$(grep -c 'GROUP="root", MODE="0600"' "$dest/default/etc/udev/rules.d/99-mpmcring.rules")" = 2 ] ||
	fail "default udev rule is not root-only 0600"
rm -rf "$dest/default"

# The README's consumer, built the way a user builds it.
export PKG_CONFIG_SYSROOT_DIR="$dest" PKG_CONFIG_LIBDIR="$dest/usr/lib/pkgconfig"
cc -std=c11 -Wall -Wextra -Werror -o "$dest/consumer" "$top/examples/consumer.c" \
	$(pkg-config --cflags --libs mpmcring)
# pkg-config's version is the library's (the soname's major), so
# --atleast-version works as users expect.
libver=$(sed -n 's/^#define MPMCRING_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' \
	"$top/userspace/include/mpmcring.h" | paste -sd.)
[ "$(pkg-config --modversion mpmcring)" = "$libver" ] ||
	fail "mpmcring.pc says version $(pkg-config --modversion mpmcring), the library is $libver"
pkg-config --atleast-version="${libver%%.*}" mpmcring || fail "pkg-config --atleast-version=${libver%%.*} fails"
# No module on the host: it must say so, not crash.
if out=$(LD_LIBRARY_PATH="$dest/usr/lib" "$dest/consumer" 2>&1); then
	fail "consumer ran without a ring"
fi
echo "$out" | grep -q "no such device" || fail "unexpected consumer output: $out"
man -l "$dest/usr/share/man/man3/libmpmcring.3" >/dev/null 2>&1 || fail "man page does not render"

make -s -C "$top" uninstall DESTDIR="$dest" PREFIX=/usr >/dev/null
left=$(find "$dest" -type f ! -name consumer)
[ -z "$left" ] || fail "uninstall left: $left"

# An admin's rule in its place is kept (the group install above was
# removed, whatever its group: make install wrote it).
mkdir -p "$dest/etc/udev/rules.d"
echo 'KERNEL=="mpmcring*", MODE="0666"' >"$dest/etc/udev/rules.d/99-mpmcring.rules"
make -s -C "$top" uninstall DESTDIR="$dest" PREFIX=/usr >/dev/null 2>&1
[ -f "$dest/etc/udev/rules.d/99-mpmcring.rules" ] || fail "uninstall removed an admin's udev rule"
echo "install_test: ok"
