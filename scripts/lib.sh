# SPDX-License-Identifier: GPL-2.0-only
# Shared shell helpers for the build and test scripts (sourced, not run).

# Kernel builds, extracted sources and images live outside the repository so a
# fresh clone reuses them; the key of each entry hashes everything it depends on.
MPMCRING_CACHE=${MPMCRING_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mpmcring}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JOBS=${JOBS:-$(($(nproc) + 1))}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The Debian package that provides the test-kernel sources.
TEST_KERNEL_SRC_PKG=${TEST_KERNEL_SRC_PKG:-linux-source-6.1}

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

# The patches the test kernels need on top of linux-source (see each one's
# header), in the order they apply.
kernel_patches() {
	ls "$REPO"/tests/kernel-patches/*.patch 2>/dev/null | LC_ALL=C sort
}

# The extracted and patched linux-source tree (test kernels, checkpatch,
# kernel-doc, the selftest headers), made once into the cache. Prints its path.
linux_source_dir() {
	local ver tarball src p phash
	ver=$(pkg_version "$TEST_KERNEL_SRC_PKG")
	[ -n "$ver" ] || die "$TEST_KERNEL_SRC_PKG is not installed (run scripts/deps.sh)"
	# Patched trees are kept apart, by the patches' contents.
	phash=$(kernel_patches | xargs -r cat | sha256sum | cut -c1-12)
	src="$MPMCRING_CACHE/src/$TEST_KERNEL_SRC_PKG-$ver-p$phash"
	if [ ! -f "$src/.mpmcring-extracted" ]; then
		tarball=$(ls /usr/src/"$TEST_KERNEL_SRC_PKG".tar.* 2>/dev/null | head -n 1)
		[ -n "$tarball" ] || die "no /usr/src/$TEST_KERNEL_SRC_PKG.tar.*"
		say "extracting $TEST_KERNEL_SRC_PKG $ver"
		rm -rf "$src" "$src.tmp"
		mkdir -p "$src.tmp"
		tar -xf "$tarball" -C "$src.tmp" --strip-components=1
		for p in $(kernel_patches); do
			patch -s -p1 -d "$src.tmp" <"$p" ||
				die "$(basename "$p") does not apply to $TEST_KERNEL_SRC_PKG $ver"
		done
		touch "$src.tmp/.mpmcring-extracted"
		mv "$src.tmp" "$src"
	fi
	echo "$src"
}

# The module's sources (what Kbuild builds), relative to the repository,
# one per line, sorted: the module build and the DKMS package both take them.
module_sources() {
	(cd "$REPO" && {
		echo Kbuild
		find kmod proto uapi tests/kunit -type f \( -name '*.[ch]' -o -name Kbuild \)
	} | LC_ALL=C sort)
}
