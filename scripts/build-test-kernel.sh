#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Builds one test kernel (debug or kcsan) from Debian's linux-source package:
# tinyconfig + tests/kconfig/common.config + tests/kconfig/<flavour>.config,
# with tests/kernel-patches applied to the source. The result is cached
# outside the repository under a key that hashes the source package
# version, the fragments, the patches and this script, so a second run (or
# a fresh clone on the same machine) skips the build.
#
# Prints the build directory (usable as KDIR for module builds) on stdout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

flavour=${1:?usage: build-test-kernel.sh debug|kcsan}
frag="$REPO/tests/kconfig/$flavour.config"
[ -f "$frag" ] || die "no config fragment $frag"

srcver=$(pkg_version "$TEST_KERNEL_SRC_PKG")
[ -n "$srcver" ] || die "$TEST_KERNEL_SRC_PKG is not installed (run scripts/deps.sh)"

# The key: what the kernel is built from and how (this script's recipe).
key=$( (echo "$srcver"; cat "$REPO/tests/kconfig/common.config" "$frag" "$0";
	kernel_patches | xargs -r cat; gcc --version | head -n 1) | sha256sum | cut -c1-16)
out="$MPMCRING_CACHE/kernels/$flavour-$key"

if [ -f "$out/.mpmcring-done" ]; then
	echo "$out"
	exit 0
fi

src=$(linux_source_dir)
mkdir -p "$MPMCRING_CACHE/kernels"
say "building $flavour test kernel ($srcver, key $key) with -j$JOBS"
rm -rf "$out"
mkdir -p "$out"
log="$out/build.log"
{
	make -C "$src" O="$out" tinyconfig
	"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" \
		"$REPO/tests/kconfig/common.config" "$frag"
	make -C "$src" O="$out" olddefconfig
} >"$log" 2>&1 || { tail -n 30 "$log" >&2; die "configuring the $flavour kernel failed (log: $log)"; }

# Every option the fragments ask for must have survived dependency resolution:
# a silently dropped KASAN or KUNIT would make the tests prove nothing.
missing=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=n) opt=${line%%=*}
		grep -qx "$opt=y" "$out/.config" && { echo "not unset: $opt" >&2; missing=1; } ;;
	CONFIG_*) grep -qx "$line" "$out/.config" || { echo "not set: $line" >&2; missing=1; } ;;
	esac
done < <(cat "$REPO/tests/kconfig/common.config" "$frag")
[ "$missing" = 0 ] || die "the $flavour kernel config lost options from the fragments"

if ! make -C "$src" O="$out" -j"$JOBS" bzImage modules >>"$log" 2>&1; then
	tail -n 40 "$log" >&2
	die "building the $flavour kernel failed (log: $log)"
fi
[ -f "$out/Module.symvers" ] || die "no Module.symvers in $out"
touch "$out/.mpmcring-done"
say "built $flavour test kernel in $out"
echo "$out"
