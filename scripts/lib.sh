# SPDX-License-Identifier: GPL-2.0-only
# Shared shell helpers for the build and test scripts (sourced, not run).

# Kernel builds, extracted sources and images live outside the repository so a
# fresh clone reuses them; the key of each entry hashes everything it depends on.
MPMCRING_CACHE=${MPMCRING_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mpmcring}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JOBS=${JOBS:-$(($(nproc) + 1))}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Words on every guest kernel's command line (tests/harness/common.py has the
# same; tests/harness/test_common.py fails when they differ). tsc=reliable:
# under qemu's TCG on a loaded host the clocksource watchdog sees the
# emulated TSC skew against the HPET and marks it unstable, which flips
# sched_clock's static key; MTTCG can run that text patching's int3 stale
# (seen on stock 6.12: "Oops: int3" in sched_clock_cpu right after "Marking
# TSC unstable"). The boot's own switch (sched_clock "Marking stable", a
# late initcall with every CPU up) still happens: tests/harness/boot.py
# boots a Debian kernel that died of it before init once more.
GUEST_CMDLINE_COMMON="tsc=reliable"

# The guest's TSC rate for its command line ("tsc_early_khz=N") when the
# host's kernel knows it exactly (flag tsc_known_freq) and "cpu MHz" is that
# rate, not a measured clock (no cpufreq, no flag aperfmperf); nothing
# otherwise. Under TCG a guest's TSC is the host's, and
# one that measures it at boot on a busy host was seen off by 6x, its
# clock and every timeout in it with it (tests/harness/common.py's
# host_tsc_khz(), which test_common.py holds this equal to).
#   guest_tsc_words [CPUINFO [CPUFREQ_POLICY]]
guest_tsc_words() {
	local cpuinfo=${1:-/proc/cpuinfo}
	local cpufreq=${2:-/sys/devices/system/cpu/cpufreq/policy0}

	[ -e "$cpufreq" ] && return 0
	awk '
		!flags && /^flags[ \t]*:/ {
			flags = 1
			sub(/^flags[ \t]*:/, "")
			n = split($0, w, /[ \t]+/)
			for (i = 1; i <= n; i++)
				if (w[i] == "tsc_known_freq")
					known = 1
				else if (w[i] == "aperfmperf")
					measured = 1
		}
		!rate && /^cpu MHz[ \t]*:[ \t]*[0-9]+(\.[0-9]*)?[ \t]*$/ {
			rate = 1
			v = $0
			sub(/^cpu MHz[ \t]*:[ \t]*/, "", v)
			mhz = v + 0
		}
		END {
			khz = int(mhz * 1000)
			if (known && !measured && khz > 0)
				printf "tsc_early_khz=%d\n", khz
		}' "$cpuinfo" 2>/dev/null || true
}
GUEST_CMDLINE_TSC=$(guest_tsc_words)

# The Debian package whose sources give checkpatch, kernel-doc and the
# selftest headers (and the 6.1 test kernels: see test_kernel_source).
TEST_KERNEL_SRC_PKG=${TEST_KERNEL_SRC_PKG:-linux-source-6.1}

# The test kernels: two, so that CI from nothing builds two kernels on its
# two cores, not three (README.md, "Testing"). Each is a list of
# config fragments (tests/kconfig/<fragment>.config) on one source package:
# debug checks (lockdep, kmemleak, UBSAN, fault injection) on both, with
# KASAN on 6.1 and KCSAN on 6.12 (the two cannot share a kernel).
#   test_kernel_source <kernel-id>      the package (linux-source-6.1, ...)
#   test_kernel_fragments <kernel-id>   its fragments, in order
# (tests/harness/common.py names them too: test_common.py holds the two
# lists equal.)
TEST_KERNELS="debug kcsan-6.12"
test_kernel_source() {
	case "$1" in
	debug) echo "$TEST_KERNEL_SRC_PKG" ;;
	kcsan-6.12) echo linux-source-6.12 ;;
	*) return 1 ;;
	esac
}
test_kernel_fragments() {
	case "$1" in
	debug) echo debug kasan ;;
	kcsan-6.12) echo debug kcsan ;;
	*) return 1 ;;
	esac
}

pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null; }

# Stock Debian kernels, by flavour: the release string of the newest
# installed image of that flavour (empty when none is installed).
stock_release() {
	local re
	case "$1" in
	stock-6.1) re='^vmlinuz-6\.1\.[0-9.-]+-amd64$' ;;
	stock-6.12) re='^vmlinuz-6\.12\.[0-9]+\+deb[0-9]+-amd64$' ;;
	stock-6.12-rt) re='^vmlinuz-6\.12\.[0-9]+\+deb[0-9]+-rt-amd64$' ;;
	*) return 1 ;;
	esac
	find /boot -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' 2>/dev/null \
		| grep -E "$re" | sed 's/^vmlinuz-//' | sort -V | tail -n 1
}

# The patches one source package needs for the test kernels (see each
# one's header), in the order they apply: tests/kernel-patches/<package>/.
kernel_patches() {
	local pkg=${1:-$TEST_KERNEL_SRC_PKG}
	ls "$REPO/tests/kernel-patches/$pkg"/*.patch 2>/dev/null | LC_ALL=C sort
}

# Drops old entries from a cache directory: of the complete entries
# <dir>/<prefix>* (those holding <marker>, whose time says when a run last
# used the entry: callers touch it), all but the ones named after the
# marker (what this run uses, and what a kept entry needs) and the <spare>
# used most recently besides them (1 for the test kernels: a second
# checkout on this machine, on another branch, keeps its kernel while the
# two alternate). Entries still being made (no marker yet, or a .tmp
# name) are left alone; one half removed (.pruning) is removed.
#   cache_prune <dir> <prefix> <marker> <spare> <keep>...
cache_prune() {
	local dir=$1 prefix=$2 marker=$3 spare=$4 m d k
	shift 4
	[ -n "$dir" ] && [ -n "$prefix" ] && [ -n "$marker" ] || return 0
	while IFS= read -r m; do
		d=${m%/"$marker"}
		case "$d" in *.tmp) continue ;; esac
		for k in "$@"; do
			[ "$d" = "$k" ] && continue 2
		done
		if [ "$spare" -gt 0 ]; then
			spare=$((spare - 1))
			continue
		fi
		# Renamed first: a removal cut short leaves a name the next
		# prune finishes, never an entry without its marker.
		say "removing an old cache entry: $d"
		mv -T -- "$d" "$d.pruning" 2>/dev/null || continue
	done < <(ls -dt "$dir/$prefix"*/"$marker" 2>/dev/null)
	for d in "$dir/$prefix"*.pruning; do
		if [ -d "$d" ]; then rm -rf -- "$d" 2>/dev/null || true; fi
	done
}

# The extracted and patched tree of a linux-source package (default
# TEST_KERNEL_SRC_PKG: checkpatch, kernel-doc, the selftest headers), made
# once into the cache. Prints its path.
linux_source_dir() {
	local pkg=${1:-$TEST_KERNEL_SRC_PKG} ver tarball src p phash
	ver=$(pkg_version "$pkg")
	[ -n "$ver" ] || die "$pkg is not installed (run scripts/deps.sh)"
	# Patched trees are kept apart, by the patches' contents.
	phash=$(kernel_patches "$pkg" | xargs -r cat | sha256sum | cut -c1-12)
	src="$MPMCRING_CACHE/src/$pkg-$ver-p$phash"
	if [ ! -f "$src/.mpmcring-extracted" ]; then
		tarball=$(ls /usr/src/"$pkg".tar.* 2>/dev/null | head -n 1)
		[ -n "$tarball" ] || die "no /usr/src/$pkg.tar.*"
		say "extracting $pkg $ver"
		rm -rf "$src" "$src.tmp"
		mkdir -p "$src.tmp"
		tar -xf "$tarball" -C "$src.tmp" --strip-components=1
		for p in $(kernel_patches "$pkg"); do
			patch -s -p1 -d "$src.tmp" <"$p" ||
				die "$(basename "$p") does not apply to $pkg $ver"
		done
		touch "$src.tmp/.mpmcring-extracted"
		mv "$src.tmp" "$src"
	fi
	touch "$src/.mpmcring-extracted" 2>/dev/null || true
	# Trees of older patches or versions go, but not one a cached test
	# kernel was built from (its build directory links to it: 'source');
	# another checkout's tree is one of those.
	local -a built=()
	for p in "$MPMCRING_CACHE"/kernels/*/source; do
		if [ -L "$p" ]; then built+=("$(readlink "$p")"); fi
	done
	cache_prune "$MPMCRING_CACHE/src" "$pkg-" .mpmcring-extracted 0 "$src" "${built[@]}"
	echo "$src"
}

# The module's sources (what Kbuild builds), relative to the repository,
# one per line, sorted: the module build and the DKMS package both take them.
# What DKMS builds from (make dkms-src, the .deb, make check's DKMS step):
# the module sources, the Makefile and dkms.conf, and the script the
# Makefile's modules target runs to give the modules BTF.
dkms_sources() {
	{ module_sources; echo Makefile; echo dkms.conf; echo scripts/module-btf.sh; } | LC_ALL=C sort
}

module_sources() {
	(cd "$REPO" && {
		echo Kbuild
		find kmod proto uapi tests/kunit -type f \( -name '*.[ch]' -o -name Kbuild \)
	} | LC_ALL=C sort)
}
