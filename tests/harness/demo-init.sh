#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# /init of the demo guest (make demo): loads mpmcring.ko and shows the
# product at work on the console. The host (scripts/demo.sh) takes the line
# "mpmcring-demo: ok" as success. Grow it step by step: each step is a
# function that returns non-zero when what it shows did not work.

PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH
/bin/busybox mkdir -p /proc /sys /dev /tmp /bin /sbin /usr/bin /usr/sbin
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
# Kernel messages only for real trouble; the demo's own output stays readable.
echo 4 >/proc/sys/kernel/printk

MODDIR=/lib/mpmcring
export MPMCRING_MODDIR=$MODDIR
DBG=/sys/kernel/debug/mpmcring/default

say() { echo; echo "### $*"; }
show() { echo "\$ $*"; "$@"; }

step_load() {
	say "loading the module on $(uname -r) ($(nproc) CPUs)"
	show insmod "$MODDIR/mpmcring.ko" || return 1
	show cat /proc/modules
}

step_device() {
	say "the device of the default ring"
	show ls -l /dev/mpmcring || return 1
}

step_layout() {
	say "its layout"
	show cat "$DBG/layout" || return 1
}

step_stats() {
	say "its counters"
	show cat "$DBG/stats" || return 1
}

step_roundtrip() {
	say "one record in through write(2), out through read(2)"
	echo "hello from the mpmcring demo" >/dev/mpmcring || return 1
	grep -E '^(produced_records|in_ring_records) ' "$DBG/stats"
	echo "\$ dd if=/dev/mpmcring bs=64k count=1"
	dd if=/dev/mpmcring bs=64k count=1 2>/dev/null || return 1
	grep -E '^(produced_records|consumed_records|in_ring_records) ' "$DBG/stats"
}

step_stat() {
	say "the ring as a user sees it: mpmcring stat"
	show mpmcring stat || return 1
}

# In-kernel producers in every context, through the exported API only:
# the load generator (kmod/loadgen) with its own ring, /dev/mpmcring-demo.
step_producers() {
	say "kernel producers: 2 kthreads, hrtimer (hardirq) and timer (softirq) producers"
	show insmod "$MODDIR/mpmcring_loadgen.ko" ring=demo create=1 size=262144 \
		threads=2 hrtimer=1 softirq=1 count=20000 rate=20000 len_min=32 \
		len_max=200 prio_mix=40:50:10 || return 1
	sleep 1
	say "while they produce (live counters, 3 refreshes)"
	echo "\$ mpmcring stat demo --watch=0.5   (interrupted after 1.6 s)"
	# Into a file: on a terminal --watch would clear the screen each time.
	mpmcring stat demo --watch=0.5 >/tmp/watch.txt &
	watcher=$!
	sleep 1.6
	kill -INT $watcher
	wait $watcher 2>/dev/null
	cat /tmp/watch.txt
	say "three records, as JSON lines for a log shipper"
	show mpmcring cat demo --json --count 3 || return 1
	say "three more as hex"
	show mpmcring cat demo --hex --count 3 || return 1
	say "drain the rest; losses (drops when the ring was full) are reported"
	mpmcring cat demo --count 1000000 >/tmp/records.txt 2>/tmp/losses.txt
	echo "consumed $(wc -l </tmp/records.txt) records"
	cat /tmp/losses.txt
	show mpmcring stat demo || return 1
	show rmmod mpmcring_loadgen || return 1
}

step_bench() {
	say "mpmcring bench: producers in every context, 2 consumer threads"
	show mpmcring bench --threads 2 --hrtimer --softirq --consumers 2 --count 50000 || return 1
}

step_unload() {
	say "unloading"
	show rmmod mpmcring || return 1
}

ok=1
for step in step_load step_device step_layout step_stats step_roundtrip step_stat \
	step_producers step_bench step_unload; do
	if ! $step; then
		echo "mpmcring-demo: FAILED at $step"
		ok=0
		break
	fi
done
[ $ok = 1 ] && echo && echo "mpmcring-demo: ok"
sync
reboot -f
poweroff -f
