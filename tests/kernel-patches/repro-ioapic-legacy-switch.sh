#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Reproduces, on demand, the boot race that
# ioapic-mask-legacy-before-switch.patch closes (read its header first):
#
#   tests/kernel-patches/repro-ioapic-legacy-switch.sh KDIR
#
# KDIR: a test kernel's build directory (scripts/build-test-kernel.sh prints
# it). The script boots that kernel in qemu (TCG) under gdb, stops it at
# mp_irqdomain_alloc()'s store of chip_data for IRQ 0 (the chip already
# switched to ioapic_chip, chip_data still NULL), prints the legacy PIC's
# mask register there, then sends the CPU to a hlt with interrupts on, so
# that the next IRQ 0 the PIC delivers is taken at exactly that point.
#
# Unpatched: pic0's imr=fe (IRQ 0 live), the timer's next tick oopses in
# io_apic_modify_irq (CR2 0x12), as CI's kcsan-6.12 guest did; exit 1.
# Patched: imr=ff, nothing is delivered there, no oops; exit 0.
#
# Needs gdb (not installed by scripts/deps.sh: a tool for this reproduction,
# not for the suite). About 30 s per kernel.
set -euo pipefail
kdir=${1:?usage: repro-ioapic-legacy-switch.sh KDIR}
vmlinux=$kdir/vmlinux
image=$kdir/arch/x86/boot/bzImage
[ -f "$vmlinux" ] && [ -f "$image" ] || { echo "error: no vmlinux or bzImage in $kdir" >&2; exit 2; }
command -v gdb >/dev/null || { echo "error: gdb is not installed (apt-get install gdb)" >&2; exit 2; }

# The chip_data store: the first "mov %reg,0x30(%base)" after the store of
# &ioapic_chip to 0x18(%base) in mp_irqdomain_alloc() (struct irq_data:
# chip at 0x18, chip_data at 0x30, irq at 0x4).
chip=$(nm "$vmlinux" | awk '$3 == "ioapic_chip" { print $1 }')
start=$(nm "$vmlinux" | awk '$3 == "mp_irqdomain_alloc" { print $1 }')
[ -n "$chip" ] && [ -n "$start" ] || { echo "error: no ioapic_chip or mp_irqdomain_alloc in $vmlinux" >&2; exit 2; }
read -r addr base < <(objdump -d --no-show-raw-insn "$vmlinux" \
	--start-address=0x"$start" --stop-address="$(printf 0x%x $((0x$start + 0x800)))" |
	awk -v chip="\$0x$chip" '
		!seen && index($0, "movq") && index($0, chip) && $NF ~ /^.*,0x18\(%r[0-9a-z]+\)$/ {
			seen = 1; b = $NF; sub(/.*0x18\(/, "", b); sub(/\)/, "", b); next }
		seen && $2 == "mov" && $NF ~ ",0x30\\(" b "\\)$" {
			a = $1; sub(/:$/, "", a); print "0x" a, b; exit }')
[ -n "${addr:-}" ] || { echo "error: no chip_data store found in mp_irqdomain_alloc" >&2; exit 2; }

work=$(mktemp -d)
trap 'pkill -f "file:$work/console.log" 2>/dev/null || true; rm -rf "$work"' EXIT
cat >"$work/gdb" <<EOF
set pagination off
set confirm off
set architecture i386:x86-64
target remote :$((20000 + RANDOM % 20000))
hbreak *$addr if *(unsigned int *)(\$${base#%} + 4) == 0
continue
printf "stopped at the chip_data store for IRQ %u: chip=%#lx chip_data=%#lx\n", *(unsigned int *)(\$${base#%} + 4), *(unsigned long *)(\$${base#%} + 0x18), *(unsigned long *)(\$${base#%} + 0x30)
monitor info pic
delete
set \$rip = $(objdump -d --no-show-raw-insn "$vmlinux" | awk '$2 == "hlt" { a = $1; sub(/:$/, "", a); print "0x" a; exit }')
continue
EOF
port=$(awk '/target remote/ { sub(/.*:/, ""); print }' "$work/gdb")
timeout 90 qemu-system-x86_64 -accel tcg,thread=multi -smp 2 -m 1G -nodefaults \
	-display none -no-reboot -kernel "$image" \
	-append 'console=ttyS0 panic=-1 nokaslr tsc=reliable' \
	-serial file:"$work/console.log" -gdb tcp::"$port" -S >/dev/null 2>&1 &
sleep 1
# gdb's last continue returns only when the guest dies; 20 s of guest
# time is many timer ticks (HZ=250).
timeout 60 gdb -q -batch -x "$work/gdb" "$vmlinux" >"$work/gdb.out" 2>&1 || true
sleep 20
grep -E "^stopped|^pic0" "$work/gdb.out" || { cat "$work/gdb.out"; echo "error: gdb never stopped there" >&2; exit 2; }
if grep -q "io_apic_modify_irq" "$work/console.log"; then
	grep -E "BUG:|RIP:|CR2:" "$work/console.log" | head -3
	echo "RACE: an IRQ 0 taken between the chip and chip_data stores oopsed"
	exit 1
fi
echo "no oops: IRQ 0 is not delivered through the descriptor while it changes chip"
