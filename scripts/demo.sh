#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make demo: builds the module for Debian's stock 6.1 kernel, boots that
# kernel in qemu with a busybox initramfs whose init (tests/harness/demo-init.sh)
# loads the module and shows it at work: the device, the ring's layout and
# counters, a record through write(2)/read(2), kernel producers in every
# context with the mpmcring tool's live counters, JSON and hex output, loss
# reporting, mpmcring bench, then real kernel events (mpmcring_events.ko)
# as JSON lines while commands run, and a syscall flood that the ring
# refuses by priority while every marker exec arrives.
# The guest's console is printed here as it runs (and kept in
# build/logs/demo/console.log). Exits 0 when the guest got through.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KID=${MPMCRING_DEMO_KERNEL:-stock-6.1}
TIMEOUT=${MPMCRING_DEMO_TIMEOUT:-300}

[ "${MPMCRING_DEPS:-1}" = 0 ] || "$REPO/scripts/deps.sh" demo
release=$(stock_release "$KID") || true
[ -n "$release" ] || die "the $KID kernel is not installed (scripts/deps.sh installs it)"
kdir=/lib/modules/$release/build
image=/boot/vmlinuz-$release

out="$REPO/build/demo"
logdir="$REPO/build/logs/demo"
mkdir -p "$out" "$logdir"
say "building the modules for $release"
mapfile -t kos < <("$REPO/scripts/build-modules.sh" "$KID" "$kdir" "$REPO/build/modules/$KID")
args=()
for ko in "${kos[@]}"; do args+=(-m "$ko"); done
say "building the mpmcring tool (static, for the busybox guest)"
make -s -C "$REPO/userspace" BUILD="$REPO/build/static-cli" TOOLS_STATIC=1 tools >/dev/null
"$REPO/scripts/build-initramfs.sh" -o "$out/initramfs.cpio.gz" \
	-i "$REPO/tests/harness/demo-init.sh" "${args[@]}" -b "$REPO/build/static-cli/tools/mpmcring"

say "booting $image under qemu (TCG, 2 CPUs); the guest's console follows"
log="$logdir/console.log"
status=0
# --foreground: qemu stays in this process group, so that whoever stops
# this script (make check at its own limit, a ^C) stops qemu with it.
timeout --foreground -k 5 "$TIMEOUT" qemu-system-x86_64 -accel tcg,thread=multi -smp 2 -m 1G \
	-nodefaults -display none -no-reboot \
	-kernel "$image" -initrd "$out/initramfs.cpio.gz" \
	-append "console=ttyS0 $GUEST_CMDLINE_COMMON $GUEST_CMDLINE_TSC panic=-1 quiet" \
	-chardev stdio,id=con,signal=off -serial chardev:con </dev/null \
	| sed -u 's/\r$//; s/\r/\n/g' | tee "$log" || status=$?
echo
# The verdict (tests/harness/demo.py, where its tests are): the guest
# finished in time, said ok, and no kernel report names our code (the
# base kernel's are notes). Exits 0, 124 (timed out) or 1.
verdict=0
python3 "$REPO/tests/harness/demo.py" "$status" "$log" "$TIMEOUT" || verdict=$?
[ "$verdict" -eq 0 ] || exit "$verdict"
say "demo done (console log: ${log#"$REPO"/})"
