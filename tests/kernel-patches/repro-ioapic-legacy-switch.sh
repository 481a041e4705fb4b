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
# switched to ioapic_chip, chip_data still NULL), reads the legacy PIC's
# mask register there, then sends the CPU to a halt loop with interrupts
# on and lets it run, so that the next IRQ 0 the PIC delivers is taken at
# exactly that point.
#
#   exit 1  the race: pic0's IRQ 0 unmasked there (imr bit 0 clear) and the
#           guest oopsed in io_apic_modify_irq (kcsan-6.12: NULL read at
#           0x12; debug: KASAN's null-ptr-deref), as CI's guest did
#   exit 0  closed: IRQ 0 masked there (imr bit 0 set) and no oops in 15 s
#   exit 2  anything else (a lookup or gdb step failed, or the two signs
#           disagree): not a verdict
#
# Needs gdb (not installed by scripts/deps.sh: a tool for this reproduction,
# not for the suite). About 15-30 s per kernel.
set -uo pipefail
fail() { echo "error: $*" >&2; exit 2; }
kdir=${1:?usage: repro-ioapic-legacy-switch.sh KDIR}
vmlinux=$kdir/vmlinux
image=$kdir/arch/x86/boot/bzImage
[ -f "$vmlinux" ] && [ -f "$image" ] || fail "no vmlinux or bzImage in $kdir"
command -v gdb >/dev/null || fail "gdb is not installed (apt-get install gdb)"

# The chip_data store: the first "mov %reg,0x30(%base)" after the store of
# &ioapic_chip to 0x18(%base) in mp_irqdomain_alloc() (struct irq_data:
# chip at 0x18, chip_data at 0x30, irq at 0x4). A kernel that stores the
# chip from a register (no instrumentation between) is not matched: exit 2.
chip=$(nm "$vmlinux" | awk '$3 == "ioapic_chip" { print $1 }')
read -r start size < <(nm -S "$vmlinux" | awk '$4 == "mp_irqdomain_alloc" { print $1, $2 }') ||
	fail "no mp_irqdomain_alloc in $vmlinux"
[ -n "$chip" ] || fail "no ioapic_chip in $vmlinux"
read -r addr base < <(objdump -d --no-show-raw-insn "$vmlinux" \
	--start-address=0x"$start" --stop-address="$(printf 0x%x $((0x$start + 0x$size)))" |
	awk -v chip="\$0x$chip" '
		!seen && index($0, "movq") && index($0, chip) && $NF ~ /,0x18\(%r[0-9a-z]+\)$/ {
			seen = 1; b = $NF; sub(/.*0x18\(/, "", b); sub(/\)/, "", b); next }
		seen && $2 == "mov" && $NF ~ ",0x30\\(" b "\\)$" {
			a = $1; sub(/:$/, "", a); print "0x" a, b; exit }') ||
	fail "no store of chip_data after one of &ioapic_chip in mp_irqdomain_alloc"
# A halt loop to send the CPU to: a hlt followed by a jmp (never a ret,
# which would return into mp_irqdomain_alloc's frame).
halt=$(objdump -d --no-show-raw-insn "$vmlinux" |
	awk 'h && $2 == "jmp" { print h; exit } { h = "" } $2 == "hlt" { h = $1; sub(/:$/, "", h); h = "0x" h }')
[ -n "$halt" ] || fail "no hlt; jmp loop in $vmlinux"

work=$(mktemp -d)
qemu_pid=
cleanup() {
	[ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
port=$((20000 + RANDOM % 20000))
reg=\$${base#%}
cat >"$work/gdb" <<EOF
set pagination off
set confirm off
set architecture i386:x86-64
target remote 127.0.0.1:$port
hbreak *$addr if *(unsigned int *)($reg + 4) == 0
continue
printf "STOPPED irq=%u chip=%#lx chip_data=%#lx\n", *(unsigned int *)($reg + 4), *(unsigned long *)($reg + 0x18), *(unsigned long *)($reg + 0x30)
monitor info pic
delete
set \$rip = $halt
printf "HALTING at %#lx\n", \$rip
detach
EOF
timeout 120 qemu-system-x86_64 -accel tcg,thread=multi -smp 2 -m 1G -nodefaults \
	-display none -no-reboot -kernel "$image" \
	-append 'console=ttyS0 panic=-1 nokaslr tsc=reliable' \
	-serial file:"$work/console.log" -gdb tcp:127.0.0.1:"$port" -S >/dev/null 2>&1 &
qemu_pid=$!
# gdb retries its connection while qemu starts (tcp auto-retry).
timeout 90 gdb -q -batch -x "$work/gdb" "$vmlinux" >"$work/gdb.out" 2>&1
stopped=$(grep -m1 "^STOPPED" "$work/gdb.out")
imr=$(awk '/^pic0:/ { for (i = 1; i <= NF; i++) if ($i ~ /^imr=/) { sub(/imr=/, "", $i); print $i } }' "$work/gdb.out")
if [ -z "$stopped" ] || [ -z "$imr" ] || ! grep -q "^HALTING" "$work/gdb.out"; then
	cat "$work/gdb.out" >&2
	fail "gdb did not stop there, read the PIC and move the CPU"
fi
echo "$stopped"
echo "pic0 imr=$imr (IRQ 0 $([ $((0x$imr & 1)) -eq 1 ] && echo masked || echo unmasked))"
# Many timer ticks (HZ=250) of guest time; the oops comes on the first.
for _ in $(seq 15); do
	grep -q "io_apic_modify_irq" "$work/console.log" 2>/dev/null && break
	sleep 1
done
if grep -q "io_apic_modify_irq" "$work/console.log"; then
	grep -m3 -E "BUG:|general protection|KASAN:|RIP:" "$work/console.log"
	[ $((0x$imr & 1)) -eq 0 ] || fail "an oops with IRQ 0 masked: not this race"
	echo "RACE: an IRQ 0 taken between the chip and chip_data stores oopsed"
	exit 1
fi
[ $((0x$imr & 1)) -eq 1 ] || fail "IRQ 0 unmasked there but no oops in 15 s: no verdict"
echo "closed: IRQ 0 is masked while its descriptor changes chip, and nothing oopsed"
