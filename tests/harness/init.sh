#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# /init of the test guests (busybox sh). Loads mpmcring.ko, runs the KUnit
# suites (when the kernel has KUnit and mpmcring_test.ko is here), runs every
# test program in /tests, unloads every module, and powers off.
#
# Results go to the second serial port (ttyS1), never mixed with the kernel's
# console on ttyS0, framed by lines the host runner parses:
#
#   @@MPMCRING INFO <key>=<value> tok=<token>
#   @@MPMCRING BEGIN <section> <name> t=<uptime> tok=<token>
#   ...output of that step (KTAP, TAP, messages)...
#   @@MPMCRING END <section> <name> rc=<exit status> t=<uptime> tok=<token>
#   @@MPMCRING DONE tok=<token>
#
# <token> is this boot's, from the file /mpmcring-token the host packed in
# front of the initramfs (tests/harness/marker_token.py says why a file and
# not the command line). init reads and deletes it before anything runs, and
# never exports it: a test program that prints a marker line cannot give it
# the token, so the host takes that line for the program's output, never for
# the end of its section (and fails the section for it). Without the file
# (the benchmark scripts boot this init too) markers carry no token, and the
# first says so: "@@MPMCRING INFO token=missing" (token=empty when the file
# held none).
#
# Sections: insmod <module>, kunit <suite>, vm <program>, rmmod <module>,
# leftover modules, and what the host needs to judge kernel reports:
# symbols <module> (our modules' lines of /proc/kallsyms, taken before each
# unload where kmemleak runs: it prints an unloaded module's frames as bare
# addresses),
# objects <when> (the address ranges of our objects, when the module lists
# them), kmemleak scan (its list after a scan at the very end), lockdep
# state (whether lockdep is still on at the end), taint check (the taint
# bits at the start and at the end). A section without END is
# where the guest died or hung.
#
# Knobs from the kernel command line (the kernel hands unknown name=value
# words to init as environment): mpmcring_test_timeout=<seconds> for each
# test program, mpmcring_tests=<a,b> to run only those programs.

PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH

# PID 1 only waits; the steps run in its child. Every orphan that exits
# signals PID 1 (SIGCHLD): busybox timeout's watcher is one after every
# program, and the sweep after each program makes more. busybox sh's
# printf, interrupted by a signal before the tty took its first byte,
# drops its line: the "BEGIN vm" marker right after a sweep was lost
# twice (the runner failed closed on it), and the same printf loses lines
# into a full pipe while background children exit (busybox 1.35 on the
# host). The child's own children all end while it waits for them, so no
# signal comes while it writes. Keep the sweep: this is not its fault.
# The child is not PID 1: a program could kill it (none does); that ends
# the boot without DONE, a failure.
# pid1-begin
if [ "$$" = 1 ]; then
	/bin/sh "$0" "$@"
	echo "mpmcring-init: the steps ended without a reboot (status $?)" >&2
	/bin/busybox reboot -f
	/bin/busybox poweroff -f
	exec /bin/busybox sleep 1000000
fi
# pid1-end

/bin/busybox mkdir -p /proc /sys /dev /tmp /bin /sbin /usr/bin /usr/sbin
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev 2>/dev/null	# already there with DEVTMPFS_MOUNT
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp

MODDIR=/lib/mpmcring
TESTDIR=/tests
OUT=/dev/ttyS1
TEST_TIMEOUT=${mpmcring_test_timeout:-400}
ONLY=${mpmcring_tests:-}

finish() {
	# The last close of the port waits until its output has left it.
	exec 3>&-
	sync
	reboot -f
	poweroff -f
	sleep 1000000
}

# The per-boot token (marker_token.py), kept in init's shell only. unset
# first: a TOKEN=... word on the kernel command line comes in exported,
# and every program would inherit the token (test_marker_token.py runs
# this block).
# token-begin
unset TOKEN
TOKEN=
TOKEN_FILE=missing
if [ -f /mpmcring-token ]; then
	TOKEN_FILE=empty
	read -r TOKEN </mpmcring-token
	rm -f /mpmcring-token
fi
# token-end

if ! exec 3>>"$OUT"; then
	echo "mpmcring-init: cannot open $OUT: results have nowhere to go" >/dev/console
	finish
fi
stty -F "$OUT" raw -echo 2>/dev/null

# mark-begin
# A marker is one line, whatever its arguments hold: a line break (any the
# runner splits lines on: read_lines()) in a file name or in a value read
# from /proc would split it, and the part after the break, ending with the
# token, would read as a marker of its own; "@@MPMCRING" inside a value
# would be taken for where the marker starts (parse.py's split_marker()
# takes the last). So every byte that is not printable ASCII becomes "?",
# and "@@MPMCRING" "@?MPMCRING": joined onto one line, never dropped. Only
# such a value costs a fork (test_marker_token.py runs this block).
mark() {
	mark_line="$*"
	case "$mark_line" in
	*[![:print:]]* | *@@MPMCRING*)
		mark_line=$(printf '%s' "$mark_line" | tr -c ' -~' '?' |
			sed 's/@@MPMCRING/@?MPMCRING/g')
		;;
	esac
	printf '%s\n' "@@MPMCRING $mark_line${TOKEN:+ tok=$TOKEN}" >&3
}
# Without the token no marker counts and the runner fails the boot: say
# that init had none, and whether its file was missing or empty
# (judge.py's token_lost tells these from a wrong token).
[ -n "$TOKEN" ] || mark INFO token=$TOKEN_FILE
# mark-end
# Section markers carry the uptime, so the host can tell where time went.
now() { read -r up _ </proc/uptime; echo "t=$up"; }

# Kills whatever a step left running (tests fork; PID 1 and this shell are
# spared).
sweep() { kill -9 -1 2>/dev/null; }

# symbols <module>: its functions' addresses, before it goes away, on the
# kernels with kmemleak (the only reader of them; /proc/kallsyms of a stock
# kernel takes seconds to read under TCG).
symbols() {
	[ -e /sys/kernel/debug/kmemleak ] || return 0
	mark BEGIN symbols "$1" "$(now)"
	awk -v m="[$1]" '$4 == m' /proc/kallsyms >&3 2>&3
	mark END symbols "$1" rc=$? "$(now)"
}

# objects <when>: the module's list of its objects' address ranges and
# lifetimes (docs/testing.md), on KCSAN kernels: only a KCSAN report is
# judged by its address. Elsewhere it would cost seconds a read (5-7 s on
# the debug kernel) for nothing.
OBJECTS=/sys/kernel/debug/mpmcring/objects
objects() {
	[ -e /sys/kernel/debug/kcsan ] && [ -r "$OBJECTS" ] || return 0
	mark BEGIN objects "$1" "$(now)"
	cat "$OBJECTS" >&3 2>&3
	mark END objects "$1" rc=$? "$(now)"
}

mark INFO kernel="$(uname -r)"
mark INFO cpus="$(nproc)"
mark INFO cmdline="$(cat /proc/cmdline)"
# Which detectors are armed (absent: the kernel has none of that kind).
detectors=
for f in /proc/sys/kernel/soft_watchdog /proc/sys/kernel/nmi_watchdog \
	/proc/sys/kernel/watchdog_thresh /proc/sys/kernel/hung_task_timeout_secs \
	/sys/module/rcupdate/parameters/rcu_cpu_stall_timeout /proc/sys/kernel/panic_on_warn; do
	[ -r "$f" ] && detectors="$detectors ${f##*/}=$(cat "$f")"
done
[ -e /sys/kernel/debug/kmemleak ] && detectors="$detectors kmemleak=on"
[ -e /proc/lockdep_stats ] && detectors="$detectors lockdep=on"
[ -e /sys/kernel/debug/kcsan ] && detectors="$detectors kcsan=on"
mark INFO detectors="${detectors# }"
# The kernel's taint before our first module: the taint step at the end
# compares.
taint_at_start=$(cat /proc/sys/kernel/tainted)

# insmod_section <module> [params]: one section, 0 when loaded.
insmod_section() {
	mark BEGIN insmod "$1" "$(now)"
	insmod "$MODDIR/$1.ko" ${2:+"$2"} >&3 2>&3 </dev/null
	rc=$?
	mark END insmod "$1" rc=$rc "$(now)"
	return $rc
}

insmod_section mpmcring
if [ -e /dev/mpmcring ]; then
	mark INFO device="$(ls -ld /dev/mpmcring)"
fi

# The hung-task detector stops after 10 reports by default: keep it on.
[ -w /proc/sys/kernel/hung_task_warnings ] && echo -1 >/proc/sys/kernel/hung_task_warnings

# Fault injection, where the kernel has it: GFP_KERNEL allocations and
# order-0 pages count as injection points, so a KUnit case that arms
# current->fail_nth can fail any allocation of the code under test.
# Probability stays 0: nothing fails unless a test arms fail_nth.
for fi in /sys/kernel/debug/failslab /sys/kernel/debug/fail_page_alloc; do
	[ -f "$fi/ignore-gfp-wait" ] && echo N >"$fi/ignore-gfp-wait"
done
[ -f /sys/kernel/debug/fail_page_alloc/min-order ] &&
	echo 0 >/sys/kernel/debug/fail_page_alloc/min-order

# KUnit: the suites run while the test module loads; each leaves a KTAP
# document in debugfs. Report only the suites that module added.
if [ -f "$MODDIR/mpmcring_test.ko" ]; then
	before=" $(ls /sys/kernel/debug/kunit 2>/dev/null | tr '\n' ' ') "
	insmod_section mpmcring_test
	for d in /sys/kernel/debug/kunit/*; do
		[ -f "$d/results" ] || continue
		suite=${d##*/}
		case "$before" in *" $suite "*) continue ;; esac
		mark BEGIN kunit "$suite" "$(now)"
		cat "$d/results" >&3 2>&3
		rc=$?
		mark END kunit "$suite" rc=$rc "$(now)"
	done
	# Its work is done: unloaded now, so the test programs see the main
	# module with no other user (lifetime.c unloads and reloads it).
	objects after-kunit
	symbols mpmcring_test
	mark BEGIN rmmod mpmcring_test "$(now)"
	rmmod mpmcring_test >&3 2>&3 </dev/null
	mark END rmmod mpmcring_test rc=$? "$(now)"
fi

# Test programs, one at a time, each under a timeout. One that cannot be
# run says so (exit status 126) rather than disappearing from the results.
for t in "$TESTDIR"/*; do
	[ -f "$t" ] || continue
	name=${t##*/}
	if [ -n "$ONLY" ]; then
		case ",$ONLY," in *",$name,"*) ;; *) continue ;; esac
	fi
	mark BEGIN vm "$name" "$(now)"
	if [ -x "$t" ]; then
		(cd /tmp && MPMCRING_MODDIR=$MODDIR exec timeout -k 10 "$TEST_TIMEOUT" "$t") \
			>&3 2>&3 </dev/null
		rc=$?
	else
		echo "mpmcring-init: $t is not executable" >&3
		rc=126
	fi
	mark END vm "$name" rc=$rc "$(now)"
	sweep
	objects "after-$name"
done

# Unload everything, users first. A module that will not go is a failure.
# A module still in use may only be waiting for the last sweep's processes
# to finish exiting: wait for that a little (30 s at most) before giving up.
failed=" "
pass=0
waits=0
while [ $pass -lt 10 ]; do
	progress=0
	# /proc/modules: name size refcount users state address
	for m in $(awk '$3 == 0 { print $1 }' /proc/modules); do
		case "$failed" in *" $m "*) continue ;; esac
		[ "$m" = mpmcring ] && objects before-unload
		symbols "$m"
		mark BEGIN rmmod "$m" "$(now)"
		rmmod "$m" >&3 2>&3 </dev/null
		rc=$?
		mark END rmmod "$m" rc=$rc "$(now)"
		if [ $rc -eq 0 ]; then progress=1; else failed="$failed$m "; fi
	done
	if [ $progress -eq 1 ]; then
		pass=$((pass + 1))
	elif [ -n "$(awk '$3 != 0' /proc/modules)" ] && [ $waits -lt 30 ]; then
		waits=$((waits + 1))
		sleep 1
	else
		break
	fi
done
mark BEGIN leftover modules "$(now)"
left=$(cat /proc/modules)
rc=0
[ -n "$left" ] && { echo "$left" >&3; rc=1; }
mark END leftover modules rc=$rc "$(now)"

# kmemleak, on the kernels that have it: a scan after every module is gone,
# so a leak on unload counts too. The first scan after boot only records
# each object's checksum, and objects younger than 5 s are never reported:
# scan, wait, scan, then read the list. The second scan starts at least
# 6 s after the first did (every leak of ours is older than the first
# scan); the first takes 15-40 s on TCG, so the wait is what is left of
# the 6 s, usually none.
KMEMLEAK=/sys/kernel/debug/kmemleak
centis() { read -r up _ </proc/uptime; echo $((${up%.*} * 100 + 1${up#*.} - 100)); }
if [ -e "$KMEMLEAK" ]; then
	mark BEGIN kmemleak scan "$(now)"
	rc=0
	first=$(centis)
	echo scan >"$KMEMLEAK" 2>&3 || rc=$?
	left=$((first + 600 - $(centis)))
	[ $left -gt 0 ] && sleep $(((left + 99) / 100))
	[ $rc -eq 0 ] && { echo scan >"$KMEMLEAK" 2>&3 || rc=$?; }
	[ $rc -eq 0 ] && { cat "$KMEMLEAK" >&3 2>&3 || rc=$?; }
	mark END kmemleak scan rc=$rc "$(now)"
fi

# lockdep, on the kernels that have it: still on? It turns itself off after
# its first report (or a KASAN report, a BUG, an Oops), and from then on
# checks nothing.
if [ -r /proc/lockdep_stats ]; then
	mark BEGIN lockdep state "$(now)"
	grep -E 'debug_locks|lock-classes:|direct dependencies:' /proc/lockdep_stats >&3 2>&3
	on=$(awk '$1 == "debug_locks:" { print $2 }' /proc/lockdep_stats)
	mark END lockdep state rc=$([ "$on" = 1 ] && echo 0 || echo 1) "$(now)"
fi

# taint: a WARN, a bad page (KASAN's reports too) or an Oops taints the
# kernel (W, B, D), whoever's code it was. The console's reports are
# judged by whose code they name; a taint bit new since the start is
# judged apart, so that one the report scan did not see (a line lost, a
# shape it does not know) still fails. Out-of-tree (O), unsigned (E) and
# KUnit (N) taints are what loading our modules does.
mark BEGIN taint check "$(now)"
taint=$(cat /proc/sys/kernel/tainted)
echo "tainted: $taint_at_start at the start, $taint at the end" >&3
new=$((taint & ~taint_at_start & (32 | 128 | 512)))
mark END taint check rc=$([ "$new" = 0 ] && echo 0 || echo 1) "$(now)"

mark DONE
finish
