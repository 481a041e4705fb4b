#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Kbuild refuses a 32-bit kernel by name (ring positions are 64-bit words
# loaded, stored and compared-and-swapped whole), before it compiles
# anything; and `make clean`, which reads no kernel configuration, still
# works. Run against an installed kernel's headers with CONFIG_64BIT
# taken away on the command line, which overrides the configuration.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "kbuild_64bit_test: $*" >&2; exit 1; }

kdir=
for d in /lib/modules/*/build; do
	[ -e "$d/Makefile" ] && { kdir=$d; break; }
done
[ -n "$kdir" ] || fail "no kernel headers under /lib/modules/*/build (scripts/deps.sh installs them)"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
cp "$top/Kbuild" "$t/"
mkdir -p "$t/kmod"
cp "$top/kmod/main.c" "$t/kmod/"

if make -s -C "$kdir" M="$t" CONFIG_64BIT= modules >"$t/log" 2>&1; then
	fail "a build without CONFIG_64BIT succeeded"
fi
grep -q "mpmcring needs a 64-bit kernel (CONFIG_64BIT)" "$t/log" ||
	fail "no 'needs a 64-bit kernel' error; the build said: $(tail -3 "$t/log")"
[ -z "$(find "$t" -name '*.o' -print -quit)" ] || fail "objects were built before the refusal"
make -s -C "$kdir" M="$t" clean >"$t/clean.log" 2>&1 ||
	fail "make clean failed: $(tail -3 "$t/clean.log")"
echo "kbuild_64bit_test: ok ($kdir)"
