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
	# Opened read-write: read(2) consumes, so a read-only file gets EPERM
	# (it only observes: docs/trust.md). dd reads what the shell opened.
	echo "\$ dd bs=64k count=1 0<>/dev/mpmcring"
	dd bs=64k count=1 0<>/dev/mpmcring 2>/dev/null >/tmp/roundtrip || return 1
	cat /tmp/roundtrip
	grep -E '^(produced_records|consumed_records|in_ring_records) ' "$DBG/stats"
	[ "$(cat /tmp/roundtrip)" = "hello from the mpmcring demo" ] ||
		{ echo "read(2) returned something else than was written"; return 1; }
}

step_stat() {
	say "the ring as a user sees it: mpmcring stat"
	show mpmcring stat || return 1
}

# In-kernel producers in every context, through the exported API only:
# the load generator (kmod/loadgen) with its own ring, /dev/mpmcring-demo.
step_producers() {
	say "kernel producers: 2 kthreads, hrtimer (hardirq) and timer (softirq) ones, 20000 records each"
	show insmod "$MODDIR/mpmcring_loadgen.ko" ring=demo create=1 size=262144 \
		threads=2 hrtimer=1 softirq=1 count=20000 rate=20000 timer_batch=16 \
		len_min=32 len_max=200 prio_mix=40:50:10 || return 1
	sleep 0.3
	say "two records, as a hex dump"
	show mpmcring cat demo --hex --count 2 || return 1

	say "a consumer follows the ring (JSON lines, for a log shipper) while the counters update"
	echo "\$ mpmcring cat demo --follow --json >/tmp/records.json &"
	mpmcring cat demo --follow --json >/tmp/records.json 2>/tmp/cat.err &
	consumer=$!
	echo "\$ mpmcring stat demo --interval 1 --count 3   (key lines)"
	# Into a file: on a terminal --interval would clear the screen each time.
	mpmcring stat demo --interval 1 --count 3 >/tmp/watch.txt
	say "the rings here and who consumes them"
	show mpmcring list || return 1
	grep -E '^(fill|produced|consumed|dropped|per second)' /tmp/watch.txt
	sleep 3
	kill -INT $consumer
	wait $consumer || { echo "the consumer failed: $(cat /tmp/cat.err)"; return 1; }
	say "what the consumer wrote: the first lines, then a count"
	head -n 3 /tmp/records.json | cut -c 1-120
	n=$(grep -c '"len"' /tmp/records.json)
	echo "... $n records; $(grep -c '"lost"' /tmp/records.json) lines reporting losses"
	[ "$n" -gt 0 ] || { echo "the consumer read no record"; return 1; }
	say "the ring's counters now: every record produced, consumed or dropped by reason and class"
	show mpmcring stat demo || return 1
	show rmmod mpmcring_loadgen || return 1
}

step_bench() {
	say "mpmcring bench: 2 kthread and 2 hrtimer producers, 2 consumer threads"
	show mpmcring bench --threads 2 --hrtimer --consumers 2 --count 100000 || return 1
}

# Real kernel events: the events module (kmod/events) on the kernel's own
# tracepoints, into /dev/mpmcring-events, read as JSON lines.
step_events() {
	say "real kernel events: mpmcring_events.ko probes exec, fork, exit, open, connect"
	show insmod "$MODDIR/mpmcring_events.ko" || return 1
	echo "\$ mpmcring cat events --json --follow &   (its lines follow, as the commands run)"
	mpmcring cat events --json --follow 2>/tmp/events.err &
	consumer=$!
	sleep 0.5
	echo "\$ ls /lib/mpmcring"
	ls /lib/mpmcring
	sleep 0.3
	echo "\$ cat /proc/version"
	cat /proc/version
	sleep 0.3
	echo "\$ sh -c 'echo hello >/tmp/greeting'"
	sh -c 'echo hello >/tmp/greeting'
	sleep 0.3
	echo "\$ /bin/mpmcring --version   (busybox runs its own applets without exec, or as /proc/self/exe)"
	/bin/mpmcring --version
	sleep 1
	kill -INT $consumer
	wait $consumer || { echo "the consumer failed: $(cat /tmp/events.err)"; return 1; }
	# It read what the commands above made: exec, open, exit events.
	grep -q '^consumed_records [1-9]' /sys/kernel/debug/mpmcring/events/stats ||
		{ echo "no event was consumed"; return 1; }
	show rmmod mpmcring_events || return 1
}

# A flood of low-priority events (every syscall, catch-all) on every CPU
# into a small ring while a marker program runs every 10 ms: the ring
# refuses the flood (counted by class) and every marker exec arrives.
step_flood() {
	say "a flood: every syscall as a low-priority event, on every CPU, 256 KiB ring; /bin/true exec'd every 10 ms"
	show insmod "$MODDIR/mpmcring_events.ko" catchall=1 size=262144 || return 1
	mpmcring cat events --json --follow >/tmp/flood.json 2>/tmp/flood.err &
	consumer=$!
	flooders=
	for cpu in $(seq 1 "$(nproc)"); do
		dd if=/dev/zero of=/dev/null bs=1 2>/dev/null &
		flooders="$flooders $!"
	done
	echo "\$ for i in \$(seq 100); do /bin/true; sleep 0.01; done   (beside $(nproc) x dd bs=1)"
	for i in $(seq 100); do /bin/true; sleep 0.01; done
	kill $flooders
	wait $flooders 2>/dev/null
	sleep 1
	kill -INT $consumer
	wait $consumer || { echo "the consumer failed: $(cat /tmp/flood.err)"; return 1; }
	show mpmcring stat events || return 1
	# The tool's own sums by class (stat --json's "by_class"), as a user reads them.
	by_class=$(mpmcring stat events --json |
		sed -n 's/.*"by_class":{"low":\([0-9]*\),"normal":[0-9]*,"critical":\([0-9]*\)}.*/\1 \2/p')
	low=${by_class% *}
	crit=${by_class#* }
	echo "dropped by the ring while the events module was loaded: $low low-priority events, $crit critical"
	got=$(grep -c '"type":"exec".*"filename":"/bin/true"' /tmp/flood.json)
	echo "marker execs delivered: $got of 100; events read: $(grep -c '"type"' /tmp/flood.json)"
	grep '"filename":"/bin/true"' /tmp/flood.json | head -n 2 | cut -c 1-160
	show rmmod mpmcring_events || return 1
	# The flood was shed where it should be: low-priority events dropped
	# and counted, no critical one, every marker exec delivered.
	[ -n "$by_class" ] || { echo "mpmcring stat --json gave no drops by class"; return 1; }
	[ "$low" -gt 0 ] || { echo "the flood was not dropped: no low-priority drop counted"; return 1; }
	[ "$crit" = 0 ] || { echo "$crit critical events dropped while the flood ran"; return 1; }
	[ "$got" = 100 ]
}

step_unload() {
	say "unloading"
	show rmmod mpmcring || return 1
}

# The console shows only errors (printk level 4 above), so a warning
# would pass unseen: the kernel log is looked at after every run, also
# one that failed, and printed whole between two marker lines when it has
# a report. scripts/demo.sh judges it (tests/harness/demo.py): a report
# naming our code fails the demo, the base kernel's are notes.
kernel_log() {
	say "the kernel log"
	pattern='WARNING:|BUG:|Oops|general protection|Call Trace:'
	# Not echoed: the pattern's words on the console would read as a report.
	echo "\$ dmesg | grep -cE \"\$pattern\"   (lines of kernel reports)"
	n=$(dmesg | grep -cE "$pattern")
	echo "$n"
	[ "$n" = 0 ] && return
	echo "mpmcring-demo: kernel log begin"
	dmesg
	echo "mpmcring-demo: kernel log end"
}

ok=1
for step in step_load step_device step_layout step_stats step_roundtrip step_stat \
	step_producers step_bench step_events step_flood step_unload; do
	if ! $step; then
		echo "mpmcring-demo: FAILED at $step"
		ok=0
		break
	fi
done
kernel_log
[ $ok = 1 ] && echo && echo "mpmcring-demo: ok"
sync
reboot -f
poweroff -f
