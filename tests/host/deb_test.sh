#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The Debian packages: dpkg-buildpackage builds mpmcring-dkms,
# libmpmcring2, libmpmcring-dev and mpmcring-tools from a copy of the tree;
# the symbols file matches the exports; lintian reports nothing (every tag
# fails the test: explain it here and allow it, or fix it). Then the four
# are installed with dpkg -i, as a user would, into a copy-on-write copy of
# this Debian 12 root (in a mount namespace: an overlay of / whose writes go
# to a tmpfs, chrooted into; nothing of the host changes, which is checked)
# and used there (deb_root.sh): dpkg's state, the ldconfig trigger, a
# consumer built with pkg-config and run, the tool, the module built and
# installed by DKMS for each kernel with headers (stock 6.1, 6.12 and
# 6.12-rt after scripts/deps.sh check): from the postinst, from the
# header_postinst hook (headers installed after the package), and with the
# load generator opted in through dpkg's environment; the udev rule; then
# removed and purged, leaving nothing. The log: build/host/deb-root.log.
# Needs root, unshare and overlayfs.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "deb_test: $*" >&2; exit 1; }
for t in dpkg-buildpackage dh lintian pkg-config unshare chroot dkms; do
	command -v $t >/dev/null || fail "$t is not installed (scripts/deps.sh check installs it)"
done
[ -e /usr/share/perl5/Debian/Debhelper/Sequence/dkms.pm ] ||
	fail "dh-dkms is not installed (scripts/deps.sh check installs it)"

ver=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
arch=$(dpkg --print-architecture)
debs=$tmp
# A copy of the tree as git sees it (tracked and new files, nothing ignored).
mkdir "$tmp/src"
(cd "$top" && git ls-files -co --exclude-standard | tar cf - -T -) | tar xf - -C "$tmp/src"
(cd "$tmp/src" && dpkg-buildpackage -us -uc -b >"$tmp/build.log" 2>&1) ||
	fail "dpkg-buildpackage failed:"$'\n'"$(tail -n 30 "$tmp/build.log")"
# The symbols file lists exactly what the version script exports.
! grep -q 'dpkg-gensymbols: warning' "$debs/build.log" ||
	fail "debian/libmpmcring2.symbols and libmpmcring.map disagree:"$'\n'"$(grep -A20 'dpkg-gensymbols: warning' "$debs/build.log")"
for p in mpmcring-dkms_${ver}_all libmpmcring2_${ver}_$arch libmpmcring-dev_${ver}_$arch \
	 mpmcring-tools_${ver}_$arch; do
	[ -f "$debs/$p.deb" ] || fail "no $p.deb in $debs"
done

# lintian: no tag at all, informational ones included.
tags=$(lintian --tag-display-limit 0 -I "$debs/mpmcring_${ver}_$arch.changes" 2>&1 |
       grep -v 'running with root privileges' || true)
[ -z "$tags" ] || fail "lintian:"$'\n'"$tags"

# Declared, so that apt installs it (the install below has it anyway).
[[ " $(dpkg-deb -f "$debs/mpmcring-dkms_${ver}_all.deb" Depends | tr ',' ' ') " = *" dkms "* ]] ||
	fail "mpmcring-dkms does not depend on dkms"

# Installed and used in a copy-on-write copy of this root.
[ "$(id -u)" -eq 0 ] || fail "not root: dpkg -i into a copy of / needs a mount namespace and a chroot"
command -v setpriv >/dev/null || fail "setpriv (util-linux) is not installed"
# The copy is of / alone: a directory dpkg or DKMS writes that sits on
# another filesystem would be empty in it (or, bound in, the host's own).
for p in /etc /usr /usr/src /var /var/lib/dpkg /var/lib/dkms /lib/modules /boot /tmp; do
	[ ! -e "$p" ] || [ "$(findmnt -n -o TARGET -T "$p")" = / ] ||
		fail "$p is on a filesystem of its own ($(findmnt -n -o TARGET,SOURCE -T "$p")): the copy-on-write copy of / cannot hold it; run this test where / holds it, or skip the host tests' packaging test there"
done
# What the packages could change on the host, were the copy to leak: their
# files and state, and modules loaded into the running kernel.
host_state() {
	dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' 'mpmcring*' 'libmpmcring*' 2>/dev/null || true
	dkms status mpmcring 2>&1 || true
	ls -d /lib/modules/*/updates/dkms/mpmcring* /usr/src/mpmcring-* 2>&1 || true
	ldconfig -p | grep mpmcring || true
	if [ -r /proc/modules ]; then grep mpmcring /proc/modules || true; else echo "(no /proc/modules)"; fi
	find /etc /var/lib/dpkg/info /var/lib/dkms /lib/udev/rules.d /usr/lib /usr/bin \
		-newer "$tmp/stamp" -name '*mpmcring*' 2>&1 || true
}
touch "$tmp/stamp"
host_state >"$tmp/host.before"
mkdir "$tmp/d" "$tmp/cow"
cp "$debs"/*_"$ver"_*.deb "$top/examples/consumer.c" "$top/tests/host/deb_root.sh" "$tmp/d/"
# In new mount, PID, network, IPC and UTS namespaces (mounts private before
# any is made; everything dies with the test), with only the capabilities
# dpkg needs for files (an allow-list for the bounding set, the inheritable
# set emptied, so none comes back at exec: no module loading, no mknod, no
# sysctl), its own /proc with /proc/sys and sysrq read-only, an empty
# /sys, and a /dev of the few nodes a build uses: what dpkg and DKMS run
# in the copy cannot reach the host's kernel or devices by accident.
cat >"$tmp/ns.sh" <<NS
set -eu
c="$tmp/cow"
mount -t tmpfs -o mode=0755 mpmcring-deb-test "\$c"
mkdir "\$c/upper" "\$c/work" "\$c/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=\$c/upper,workdir=\$c/work" "\$c/root" ||
	{ echo "FAIL: no overlayfs mount (the copy-on-write root needs overlayfs)"; exit 1; }
mount -t proc proc "\$c/root/proc"
for p in sys sysrq-trigger; do
	[ -e "\$c/root/proc/\$p" ] || continue # a kernel without it
	mount --bind "\$c/root/proc/\$p" "\$c/root/proc/\$p"
	mount -o remount,bind,ro "\$c/root/proc/\$p"
done
mount -t tmpfs -o mode=0755 dev "\$c/root/dev"
for n in null zero full random urandom tty; do
	touch "\$c/root/dev/\$n"
	mount --bind "/dev/\$n" "\$c/root/dev/\$n"
done
ln -s /proc/self/fd "\$c/root/dev/fd"
mount -t tmpfs -o mode=0755 sys "\$c/root/sys"
mkdir -p "\$c/root$tmp/d"
mount --bind "$tmp/d" "\$c/root$tmp/d"
exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
	DEBIAN_FRONTEND=noninteractive \
	setpriv --inh-caps -all \
	--bounding-set -all,+chown,+dac_override,+dac_read_search,+fowner,+fsetid,+kill,+setuid,+setgid,+setfcap,+sys_chroot \
	chroot "\$c/root" /bin/bash "$tmp/d/deb_root.sh" "$tmp/d" "$ver"
NS
mkdir -p "$top/build/host"
log="$top/build/host/deb-root.log"
rc=0
unshare --mount --propagation private --pid --fork --kill-child --net --ipc --uts \
	bash "$tmp/ns.sh" >"$log" 2>&1 || rc=$?
host_state >"$tmp/host.after"
cmp -s "$tmp/host.before" "$tmp/host.after" ||
	fail "installing in the copy of / changed the host:"$'\n'"$(diff "$tmp/host.before" "$tmp/host.after")"
[ "$rc" -eq 0 ] && grep -q '^OK: ' "$log" ||
	fail "$(grep -m1 '^FAIL: ' "$log" || echo "the copy-on-write root failed (exit $rc)")"$'\n'"--- the last lines of $log:"$'\n'"$(tail -n 25 "$log")"
echo "deb_test: 4 packages built, lintian clean; in a copy-on-write copy of /, $(grep '^OK: ' "$log" | sed 's/^OK: //') (build/host/deb-root.log)"
