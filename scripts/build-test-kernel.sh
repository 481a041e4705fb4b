#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Builds one test kernel from a Debian linux-source package:
#
#   scripts/build-test-kernel.sh debug|kcsan-6.12
#
#   debug       linux-source-6.1,  KASAN, lockdep, UBSAN, kmemleak, fault injection
#   kcsan-6.12  linux-source-6.12, KCSAN (strict), lockdep, UBSAN, kmemleak,
#               fault injection
#
# Config: tinyconfig + tests/kconfig/common.config (every test kernel:
# console, initramfs, modules, KUnit, the lockup, stall and hung-task
# detectors) + the kernel's fragments (scripts/lib.sh:
# test_kernel_fragments) + tests/kconfig/<package>.config
# when there is one (options only that source has), with
# tests/kernel-patches/<package>/*.patch applied to the source. The result is
# cached outside the repository under a key that hashes the source package
# and its version, the fragments, the patches, this script and the compiler,
# so a second run (or a fresh clone on the same machine) skips the build.
#
# Prints the build directory (usable as KDIR for module builds) on stdout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kid=${1:?usage: build-test-kernel.sh debug|kcsan-6.12}
pkg=$(test_kernel_source "$kid") || die "unknown test kernel '$kid' (debug, kcsan-6.12)"
frags=("$REPO/tests/kconfig/common.config")
for f in $(test_kernel_fragments "$kid"); do
	frags+=("$REPO/tests/kconfig/$f.config")
done
[ -f "$REPO/tests/kconfig/$pkg.config" ] && frags+=("$REPO/tests/kconfig/$pkg.config")
for f in "${frags[@]}"; do
	[ -f "$f" ] || die "no config fragment $f"
done

srcver=$(pkg_version "$pkg")
[ -n "$srcver" ] || die "$pkg is not installed (run scripts/deps.sh)"

# The key: what the kernel is built from and how (this script's recipe).
key=$( (echo "$pkg $srcver"; cat "${frags[@]}" "$0"; kernel_patches "$pkg" | xargs -r cat
	gcc --version | head -n 1) | sha256sum | cut -c1-16)
out="$MPMCRING_CACHE/kernels/$kid-$key"

# The marker's time says when a run last used the entry: older builds of
# this kernel go (cache_prune), all but the last one used before this.
prune_older() {
	touch "$out/.mpmcring-done" 2>/dev/null || true
	cache_prune "$MPMCRING_CACHE/kernels" "$kid-" .mpmcring-done 1 "$out"
}

if [ -f "$out/.mpmcring-done" ]; then
	prune_older
	echo "$out"
	exit 0
fi

src=$(linux_source_dir "$pkg")
mkdir -p "$MPMCRING_CACHE/kernels"
say "building $kid test kernel ($pkg $srcver, key $key) with -j$JOBS"
rm -rf "$out"
mkdir -p "$out"
log="$out/build.log"
{
	make -C "$src" O="$out" tinyconfig
	"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "${frags[@]}"
	make -C "$src" O="$out" olddefconfig
} >"$log" 2>&1 || { tail -n 30 "$log" >&2; die "configuring the $kid kernel failed (log: $log)"; }

# Every option the fragments ask for must have survived dependency resolution:
# a silently dropped KASAN, KUNIT or detector would make the tests prove nothing.
missing=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=n) opt=${line%%=*}
		grep -qE "^$opt=[ym]$" "$out/.config" && { echo "not unset: $opt" >&2; missing=1; } ;;
	CONFIG_*) grep -qx "$line" "$out/.config" || { echo "not set: $line" >&2; missing=1; } ;;
	esac
done < <(cat "${frags[@]}")
[ "$missing" = 0 ] || die "the $kid kernel config lost options from the fragments"

t0=$SECONDS
if ! make -C "$src" O="$out" -j"$JOBS" bzImage modules >>"$log" 2>&1; then
	tail -n 40 "$log" >&2
	die "building the $kid kernel failed (log: $log)"
fi
[ -f "$out/Module.symvers" ] || die "no Module.symvers in $out"
prune_older
say "built $kid test kernel in $out ($((SECONDS - t0))s with -j$JOBS)"
echo "$out"
