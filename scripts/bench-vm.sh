#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench-vm: the in-kernel producer benchmarks (bench/vm/vmbench.c) in a
# qemu guest on Debian's stock kernel, with the load-generator module.
# TCG emulates the CPU: only the ratios vmbench prints mean anything.
#
#   scripts/bench-vm.sh
#
# Knobs: MPMCRING_BENCH_KERNEL (default stock-6.1), MPMCRING_BENCH_CPUS
# (vCPUs, default 2), MPMCRING_BENCH_REPS (repetitions of each comparison,
# default 5), MPMCRING_BENCH_RECORDS (records per measurement, default
# 100000), MPMCRING_BENCH_TIMEOUT (seconds, default 1500).
# Output: the tables on stdout; bench/results/vm/{output.txt,bench.jsonl}.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KID=${MPMCRING_BENCH_KERNEL:-stock-6.1}
CPUS=${MPMCRING_BENCH_CPUS:-2}
TIMEOUT=${MPMCRING_BENCH_TIMEOUT:-1500}
out="$REPO/bench/results/vm"
work="$REPO/build/bench-vm"
mkdir -p "$out" "$work"

if [[ $KID == stock-* ]]; then
	release=$(stock_release "$KID") || true
	[ -n "$release" ] || die "the $KID kernel is not installed (scripts/deps.sh installs it)"
	kdir=/lib/modules/$release/build image=/boot/vmlinuz-$release
else
	kdir=$("$REPO/scripts/build-test-kernel.sh" "$KID") image=$kdir/arch/x86/boot/bzImage
fi

say "modules for $KID"
mapfile -t kos < <("$REPO/scripts/build-modules.sh" "$KID" "$kdir" "$REPO/build/modules/$KID")
say "vmbench (static)"
make -s -C "$REPO/tests/vm" vmbench >/dev/null
args=()
for ko in "${kos[@]}"; do args+=(-m "$ko"); done
"$REPO/scripts/build-initramfs.sh" -o "$work/initramfs.cpio.gz" \
	-i "$REPO/tests/harness/init.sh" "${args[@]}" -t "$REPO/build/vm/bin/vmbench"

# init.sh runs every program in /tests; settings reach vmbench through the
# environment (the kernel hands name=value words to init).
REPS=${MPMCRING_BENCH_REPS:-5} RECORDS=${MPMCRING_BENCH_RECORDS:-100000}
say "booting $KID with $CPUS vCPUs (TCG); vmbench: $REPS repetitions of $RECORDS records"
rm -f "$work/console.log" "$work/results.log"
status=0
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 -accel tcg,thread=multi -smp "$CPUS" -m 2G \
	-nodefaults -display none -no-reboot -kernel "$image" -initrd "$work/initramfs.cpio.gz" \
	-append "console=ttyS0 $GUEST_CMDLINE_COMMON $GUEST_CMDLINE_TSC panic=-1 quiet mpmcring_test_timeout=$TIMEOUT MPMCRING_VMBENCH_REPS=$REPS MPMCRING_VMBENCH_RECORDS=$RECORDS" \
	-serial "file:$work/console.log" -serial "file:$work/results.log" </dev/null || status=$?
[ "$status" -ne 124 ] || die "the guest did not finish in ${TIMEOUT}s (MPMCRING_BENCH_TIMEOUT)"

# The vmbench section of the results port.
awk '/^@@MPMCRING BEGIN vm vmbench/ { on = 1; next } /^@@MPMCRING END vm vmbench/ { on = 0; print; next } on' \
	"$work/results.log" | tr -d '\r' >"$out/output.txt"
grep -v '^BENCH \|^@@' "$out/output.txt" || true
sed -n 's/^BENCH //p' "$out/output.txt" >"$out/bench.jsonl"
grep -q '^@@MPMCRING END vm vmbench rc=0 ' "$out/output.txt" ||
	die "vmbench failed in the guest (see $out/output.txt and $work/console.log)"
say "results: ${out#"$REPO"/}/output.txt, bench.jsonl"
