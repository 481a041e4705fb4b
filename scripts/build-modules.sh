#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Builds every module of the project (whatever *.ko the top-level Kbuild
# makes) for one kernel, with W=1, out of the source tree, with module BTF
# where the kernel has BTF (scripts/module-btf.sh):
#
#   scripts/build-modules.sh <kernel-id> <KDIR> <outdir>
#
# kernel-id: debug, kcsan-6.12, stock-6.1, stock-6.12 or stock-6.12-rt (a name
# for messages). The sources (Kbuild, kmod/, proto/, uapi/, tests/kunit/)
# are synced into <outdir>/src, copying only files whose content changed,
# so a second build recompiles only what changed. Warnings are errors
# (-Werror), so an object that warned is never left behind looking built.
# The modules end up in <outdir>/*.ko, the log in <outdir>/build.log.
# Exits non-zero, showing the log, on any compiler or modpost warning or error.
# MPMCRING_SPARSE=1 also runs sparse on every file (C=2); its warnings fail
# the build the same way.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -eq 3 ] || die "usage: build-modules.sh <kernel-id> <KDIR> <outdir>"
kid=$1 kdir=$2 out=$3
case "$kid" in
debug | kcsan-6.12 | stock-6.1 | stock-6.12 | stock-6.12-rt) ;;
*) die "unknown kernel id '$kid' (debug, kcsan-6.12, stock-6.1, stock-6.12, stock-6.12-rt)" ;;
esac
[ -f "$kdir/Makefile" ] || die "$kid: KDIR $kdir has no Makefile (kernel headers or build tree missing)"
[ -f "$kdir/Module.symvers" ] || die "$kid: KDIR $kdir has no Module.symvers"

mkdir -p "$out/src"
out=$(cd "$out" && pwd)
src="$out/src"
log="$out/build.log"

# The module sources, relative to the repository.
mapfile -t files < <(module_sources)

# Sync: copy what differs (a fresh mtime makes Kbuild rebuild it), drop
# sources that are gone from the repository, keep everything else.
declare -A want=()
for f in "${files[@]}"; do
	want[$f]=1
	if ! cmp -s "$REPO/$f" "$src/$f"; then
		mkdir -p "$src/$(dirname "$f")"
		cp "$REPO/$f" "$src/$f"
	fi
done
while IFS= read -r f; do
	[ -n "${want[$f]:-}" ] || rm -f "$src/$f" "$src/${f%.c}.o"
done < <(cd "$src" && find . -type f \( -name '*.[ch]' -o -name Kbuild -o -name Makefile \) \
	! -name '*.mod.c' | sed 's|^\./||')

rm -f "$out"/*.ko "$src"/*.ko
status=0
extra=()
[ "${MPMCRING_SPARSE:-0}" = 1 ] && extra=(C=2 CHECK="sparse -Wno-unknown-attribute")
make -C "$kdir" M="$src" W=1 KCFLAGS=-Werror "${extra[@]}" -j"$JOBS" modules >"$log" 2>&1 || status=$?

# Anything that warned is a failure even when make succeeded (modpost
# warnings, say). Kbuild prints "warning:" (compiler) or "WARNING:" (modpost).
warnings=$(grep -E '(^|[^A-Za-z])([Ww]arning|WARNING|error|ERROR)[: ]' "$log" \
	| grep -vE '^make(\[[0-9]+\])?: (Entering|Leaving)' || true)
if [ "$status" -ne 0 ] || [ -n "$warnings" ]; then
	echo "---- $log ----" >&2
	tail -n 60 "$log" >&2
	echo "---- end of $log ----" >&2
	if [ "$status" -ne 0 ]; then
		die "$kid: building the modules failed (make exit $status)"
	fi
	die "$kid: the module build printed warnings"
fi

mapfile -t kos < <(find "$src" -name '*.ko' | LC_ALL=C sort)
[ "${#kos[@]}" -gt 0 ] || die "$kid: the build made no module (log: $log)"
cp "${kos[@]}" "$out/"
# Module BTF (BPF kfuncs) from the kernel's own base BTF, as a user's build
# gets it (scripts/module-btf.sh says when a kernel has none). The guest
# boots /boot/vmlinuz-<release>: its BTF is the base.
outs=()
for ko in "${kos[@]}"; do outs+=("$out/$(basename "$ko")"); done
bash "$REPO/scripts/module-btf.sh" "$kdir" "${outs[@]}" 2>>"$log" ||
	die "$kid: adding module BTF failed (log: $log)"
for ko in "${kos[@]}"; do
	printf '%s\n' "$out/$(basename "$ko")"
done
