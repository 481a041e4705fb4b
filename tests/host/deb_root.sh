#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Run by deb_test.sh as root, chrooted in a copy-on-write copy of the
# host's Debian root (an overlay whose writes go to a tmpfs that vanishes
# with the test's mount namespace), with a clean environment:
#
#   deb_root.sh DIR VERSION
#
# DIR holds the four .debs and examples/consumer.c. Installs them with
# dpkg -i as a user would and uses them (the ldconfig trigger, pkg-config,
# the CLI, the module DKMS builds from the postinst, the udev rule), builds
# the module for other kernels the way installing their headers package
# would (/etc/kernel/header_postinst.d/dkms), removes and purges everything
# and checks that nothing is left; then installs mpmcring-dkms once more
# with the load generator opted in (MPMCRING_DKMS_LOADGEN=1 in dpkg's
# environment, which dpkg passes to the maintainer scripts) and removes it
# without. Every failure is one line "FAIL: ..." (deb_test.sh shows it
# with the log's tail).
#
# Each kernel with headers gets one DKMS build (they take most of the
# time). DKMS's framework.conf in the copy is this test's own
# (autoinstall_all_kernels: the postinst builds for every kernel with
# headers, whatever kernel the host runs and whatever /boot holds; no
# modprobe_on_install or other host setting). The postinst builds for P
# (the newest kernel), the header_postinst hook for the others but one,
# the opted-in install for that last one L (with two kernels, L is P).
# Until its turn a kernel has no headers: its /lib/modules/<rel>/build
# link is moved aside (the headers stay in /usr/src), as before its
# headers package is installed.
# No pipefail: `ldconfig -p | grep -q` would fail when grep, done, closes
# the pipe before ldconfig has written everything (SIGPIPE).
set -eu
d=$1 ver=$2
pkgs=(mpmcring-dkms libmpmcring2 libmpmcring-dev mpmcring-tools)
debs=()
for p in "${pkgs[@]}"; do debs+=("$(echo "$d/${p}_${ver}_"*.deb)"); done
step() { echo "== $(date +%T) $*"; }
fail() { echo "FAIL: $*"; exit 1; }
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
# The test's own files: the copy's /tmp is the host's, with whatever lies
# there (a directory named like one of them failed the test).
w=$(mktemp -d)

# The kernels DKMS can build for: those with headers (what common.postinst
# and dkms_autoinstaller check: /lib/modules/<rel>/build/include).
with_headers() {
	local r
	for r in /lib/modules/*; do
		[ -e "$r/build/include" ] && echo "${r##*/}"
	done | sort -V
}
# The modules DKMS installed for kernel $1, one line, sorted, without the
# compression suffix (.ko.xz for 6.12).
installed() {
	(cd "/lib/modules/$1/updates/dkms" 2>/dev/null && ls -- mpmcring*.ko*) |
		sed 's/\.ko\..*$/.ko/' | sort | tr '\n' ' ' || true
}
# Kernel $1 has exactly the default modules, installed by DKMS, for it.
check_built() {
	local r=$1 m v
	dkms status -m mpmcring -v "$ver" -k "$r" | grep -q ": installed" ||
		fail "dkms status has no installed mpmcring for $r: $(dkms status mpmcring | tr '\n' ';')"
	[ "$(installed "$r")" = "mpmcring.ko mpmcring_events.ko " ] ||
		fail "/lib/modules/$r/updates/dkms holds '$(installed "$r")', not mpmcring.ko and mpmcring_events.ko (the load generator is opt-in)"
	for m in "/lib/modules/$r/updates/dkms"/mpmcring*.ko*; do
		v=$(modinfo -F vermagic "$m")
		[ "${v%% *}" = "$r" ] || fail "$m has vermagic '$v', not $r"
	done
	modinfo -k "$r" -F filename mpmcring | grep -q "^/lib/modules/$r/updates/dkms/" ||
		fail "depmod did not run for $r: modinfo -k $r mpmcring finds $(modinfo -k "$r" -F filename mpmcring 2>&1)"
}
# The lines of stdin that name an existing path.
existing() {
	local f
	while read -r f; do
		if [ -e "$f" ] || [ -L "$f" ]; then echo "$f"; fi
	done
}
# Paths a package's data holds (absolute, directories end in /).
deb_paths() { dpkg-deb --fsys-tarfile "$1" | tar -t | sed 's|^\./|/|; /^\/$/d'; }

step "the copy's DKMS settings are the test's own"
rm -rf /etc/dkms/framework.conf.d
printf 'autoinstall_all_kernels="y"\n' >/etc/dkms/framework.conf

step "nothing of mpmcring installed before"
for p in "${pkgs[@]}"; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$s" in
	"" | *not-installed) ;;
	*) fail "$p is installed on the host ('$s'): the test needs a root without it (dpkg --purge $p)" ;;
	esac
done
# What `make install` and `make dkms-install` (README) leave on a
# developer's machine would stand in for the packages: out of the copy
# (the host keeps them), said here.
if [ -n "$(dkms status mpmcring)" ]; then
	echo "the host's DKMS has mpmcring ($(dkms status mpmcring | tr '\n' ';')): removed in the copy"
	rm -rf /var/lib/dkms/mpmcring /usr/src/mpmcring-*
	for r in /lib/modules/*/updates/dkms; do rm -f "$r"/mpmcring*.ko*; done
fi
left=$(find /usr/local /etc/mpmcring -name '*mpmcring*' 2>/dev/null || true)
if [ -n "$left" ] || [ -e /etc/mpmcring ]; then
	echo "a make install on the host (removed in the copy): $(echo "$left" | tr '\n' ' ')"
	rm -rf /etc/mpmcring $left
	ldconfig
fi
# What exists before, to tell after the purge what dpkg added.
for b in "${debs[@]}"; do deb_paths "$b"; done | sort -u >"$w"/paths
existing <"$w"/paths >"$w"/before

hide() { mv "/lib/modules/$1/build" "/lib/modules/$1/.build-hidden"; }
unhide() { mv "/lib/modules/$1/.build-hidden" "/lib/modules/$1/build"; }
kernels=$(with_headers)
pk=$(echo "$kernels" | tail -n 1)
rest=$(echo "$kernels" | grep -vxF -- "$pk" || true)
[ -n "$rest" ] ||
	fail "DKMS needs two kernels with headers in /lib/modules, found '$kernels' (scripts/deps.sh check installs the stock ones)"
if [ "$(echo "$rest" | wc -l)" -ge 2 ]; then
	l=$(echo "$rest" | tail -n 1)
	hooks=$(echo "$rest" | sed '$d')
else
	l=$pk hooks=$rest
fi
echo "kernels: postinst $pk; header_postinst hook $(echo "$hooks" | tr '\n' ' '); load generator $l"
for r in $rest; do hide "$r"; done

step "dpkg -i ${debs[*]##*/}"
dpkg -i "${debs[@]}" >"$w"/dpkg-i.log 2>&1 || {
	cat "$w"/dpkg-i.log
	fail "dpkg -i of the four packages failed: $(grep -E 'depends on|dependency|error' "$w"/dpkg-i.log | head -n 5 | tr '\n' ';') (a Depends not installed by scripts/deps.sh check: add it there)"
}
cat "$w"/dpkg-i.log
for p in "${pkgs[@]}"; do
	s=$(dpkg-query -W -f='${Status}' "$p")
	[ "$s" = "install ok installed" ] || fail "dpkg-query says '$s' for $p"
done

step "the library: ldconfig trigger, pkg-config, a consumer"
ldconfig -p | grep -qE "libmpmcring\.so\.2 .*=> (/usr)?/lib/$ma/libmpmcring\.so\.2$" ||
	fail "ldconfig -p does not list /usr/lib/$ma/libmpmcring.so.2: libmpmcring2's ldconfig trigger did not run"
env | grep '^PKG_CONFIG' && fail "a PKG_CONFIG variable is set"
flags=$(pkg-config --cflags --libs mpmcring) || fail "pkg-config --cflags --libs mpmcring failed"
echo "pkg-config: $flags"
# shellcheck disable=SC2086 # the flags are words
cc -std=c11 -Wall -Wextra -Werror -o "$w"/consumer "$d/consumer.c" $flags ||
	fail "examples/consumer.c does not build with pkg-config's flags from libmpmcring-dev"
readelf -d "$w"/consumer | grep -q 'NEEDED.*\[libmpmcring\.so\.2\]' ||
	fail "the consumer is not linked to libmpmcring.so.2"
ldd "$w"/consumer | grep -qE "libmpmcring\.so\.2 => (/usr)?/lib/$ma/libmpmcring\.so\.2 " ||
	fail "the consumer does not load the installed library: $(ldd "$w"/consumer | grep mpmcring)"
out=$("$w"/consumer "$w"/no-such-ring 2>&1) && fail "the consumer ran without a ring"
echo "consumer: $out"
echo "$out" | grep -q 'no such device' || fail "the consumer said '$out', not 'no such device'"

step "the tool"
[ "$(command -v mpmcring)" = /usr/bin/mpmcring ] || fail "mpmcring is not /usr/bin/mpmcring: $(command -v mpmcring)"
/usr/bin/mpmcring --version | grep -q "^mpmcring $ver" ||
	fail "mpmcring --version says '$(/usr/bin/mpmcring --version 2>&1)', not mpmcring $ver"
/usr/bin/mpmcring list --json >"$w"/list.json || fail "mpmcring list --json failed"
head -c 200 "$w"/list.json

step "DKMS: the postinst built for $pk"
grep -q '^Building for ' "$w"/dpkg-i.log ||
	fail "the postinst did not say which kernels it builds for (dh-dkms's common.postinst not run?)"
building=$(grep '^Building for ' "$w"/dpkg-i.log | sed 's/^Building for //; s/,/ /g; s/ and / /')
case " $building " in *" $pk "*) ;; *) fail "the postinst built for '$building', not for $pk" ;; esac
check_built "$pk"
echo "$pk: $(installed "$pk")"
for r in $rest; do
	[ -z "$(installed "$r")" ] && ! dkms status -m mpmcring -k "$r" | grep -qF "$r" ||
		fail "DKMS built for $r, whose headers were hidden"
done

for r in $hooks; do
	step "DKMS: headers installed for $r: /etc/kernel/header_postinst.d/dkms $r"
	unhide "$r"
	/etc/kernel/header_postinst.d/dkms "$r" || fail "/etc/kernel/header_postinst.d/dkms $r failed"
	check_built "$r"
	echo "$r: $(installed "$r")"
done

step "the udev rule"
rule=/lib/udev/rules.d/99-mpmcring.rules
grep -qx 'KERNEL=="mpmcring", SUBSYSTEM=="misc", OWNER="root", GROUP="root", MODE="0600"' "$rule" ||
	fail "$rule: $(cat "$rule" 2>&1)"
[ "$(dpkg -S "$rule")" = "mpmcring-dkms: $rule" ] || fail "dpkg -S $rule: $(dpkg -S "$rule" 2>&1)"
src=/usr/src/mpmcring-$ver
[ -f "$src/dkms.conf" ] && [ -f "$src/Kbuild" ] && [ -f "$src/kmod/main.c" ] ||
	fail "mpmcring-dkms lacks its source in $src"
[ ! -e "$src/build" ] && [ ! -e "$src/.git" ] || fail "mpmcring-dkms ships build/ or .git"

# Nothing left: no DKMS entry, no module, no library in ld.so's cache, no
# source, no file dpkg installed (a directory only if dpkg created it).
check_gone() {
	local r left=()
	[ -z "$(dkms status mpmcring 2>&1)" ] || left+=("dkms status: $(dkms status mpmcring 2>&1 | tr '\n' ';')")
	[ ! -e /var/lib/dkms/mpmcring ] || left+=("/var/lib/dkms/mpmcring")
	for r in /lib/modules/*; do
		r=${r##*/}
		[ -z "$(installed "$r")" ] || left+=("/lib/modules/$r/updates/dkms: $(installed "$r")")
	done
	! ldconfig -p | grep -q libmpmcring || left+=("in ldconfig -p: $(ldconfig -p | grep libmpmcring | tr -d '\t')")
	for r in /usr/src/mpmcring-*; do [ ! -e "$r" ] || left+=("$r"); done
	[ ${#left[@]} -eq 0 ] || fail "$1, left behind: $(printf '%s; ' "${left[@]}")"
}
step "dpkg -r"
dpkg -r "${pkgs[@]}" || fail "dpkg -r ${pkgs[*]} failed"
check_gone "after dpkg -r"
step "dpkg --purge"
dpkg --purge "${pkgs[@]}" || fail "dpkg --purge ${pkgs[*]} failed"
check_gone "after dpkg --purge"
for p in "${pkgs[@]}"; do
	s=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	[ -z "$s" ] || [ "$s" = "pn " ] || fail "after dpkg --purge, dpkg-query says '$s' for $p"
done
files_left=$(existing <"$w"/paths | sort | comm -23 - "$w"/before)
[ -z "$files_left" ] || fail "after dpkg --purge, files the packages installed are left: $(echo "$files_left" | tr '\n' ' ')"

# The load generator, opted in when installing, for kernel L only (the
# opt-in is dkms.conf's, the same for every kernel).
step "MPMCRING_DKMS_LOADGEN=1 dpkg -i mpmcring-dkms, headers for $l only"
for r in $kernels; do [ "$r" = "$l" ] || [ ! -e "/lib/modules/$r/build" ] || hide "$r"; done
[ -e "/lib/modules/$l/build" ] || unhide "$l"
MPMCRING_DKMS_LOADGEN=1 dpkg -i "${debs[0]}" || fail "MPMCRING_DKMS_LOADGEN=1 dpkg -i ${debs[0]##*/} failed"
[ "$(installed "$l")" = "mpmcring.ko mpmcring_events.ko mpmcring_loadgen.ko " ] ||
	fail "with MPMCRING_DKMS_LOADGEN=1 in dpkg's environment, $l got '$(installed "$l")', not the load generator too"
v=$(modinfo -F vermagic "$(echo "/lib/modules/$l/updates/dkms/mpmcring_loadgen.ko"*)")
[ "${v%% *}" = "$l" ] || fail "mpmcring_loadgen.ko has vermagic '$v', not $l"
step "dpkg -r mpmcring-dkms without the opt-in"
dpkg -r mpmcring-dkms || fail "dpkg -r mpmcring-dkms failed"
check_gone "after dpkg -r without the opt-in"
dpkg --purge mpmcring-dkms || fail "dpkg --purge mpmcring-dkms failed"
step "done"
echo "OK: dpkg -i, used, removed and purged without a trace; DKMS built the module for $pk from the postinst, for $(echo "$hooks" | tr '\n' ' ')from the header_postinst hook, for $l with the load generator opted in through dpkg's environment"
