#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make check-harness: proves that the runner (tests/harness/run.py) goes red
# for each kind of fault it exists to catch, each for its own reason.
#
# First the runner's own unit tests (tests/harness/test_*.py: parsing,
# report ownership, the inventory), no guest. Then the plants. Plants go
# into scratch copies of the tree (tracked files plus untracked ones git
# does not ignore); plants that need the same kernel share one copy and one
# guest, and each is checked by a pattern only it can produce (its own
# test's name, or our function it planted named in the report):
#
#   guest "debug" (the debug kernel):
#     kunit-expect    a KUnit case expecting 1 == 2
#     warn            WARN() in mpr_plant_warn()
#     lockdep         mutexes A->B then B->A in mpr_plant_lock_*(): a splat
#                     naming our code, and lockdep off for the rest (debug/lockdep)
#     kasan-oob       one byte written past a kmalloc'd buffer
#     leak            4 kmalloc'd objects dropped in mpr_plant_leak(): kmemleak
#     rcu-stall       mpr_plant_rcu_reader() inside rcu_read_lock() for 25 s
#                     while a grace period (call_rcu) waits for it
#     soft-lockup     mpr_plant_spin() with preemption off for 45 s (RCU
#                     stall warnings held back meanwhile: see the plant)
#     hung-task       mpr_plant_hung() asleep uninterruptibly for 8 s while
#                     the hung-task detector waits 2 s (see the plant)
#     vm-fail         a VM test program with a failing ASSERT
#     vm-crash        a VM test program killed by SIGSEGV after 1 of 2 results
#     vm-missing      tests/vm/params.c deleted: the inventory misses it
#     kunit-unlisted  tests/kunit/lifetime.o dropped from Kbuild: its suite
#                     never registers, the inventory misses it
#     kunit-renamed   a KUnit case renamed, its suite's count kept: the
#                     inventory misses the old name, does not list the new
#   guest "kcsan-6.12" (the kcsan-6.12 kernel):
#     kcsan-race      two kthreads racing on a plain variable in mpr_plant_hammer()
#     kcsan-helper    two kthreads racing on our kmalloc'd bitmap through
#                     __bitmap_set() and __bitmap_clear(): only base-kernel
#                     functions in the report's header, our code one frame
#                     below (the frame rule alone makes it ours)
#     kcsan-object    two kthreads racing on a record in a real ring's data
#                     area through snprintf("%pV"): lib/vsprintf.c makes
#                     both accesses, our code five or more frames below,
#                     deeper than the frame rule looks: the module's
#                     objects list alone makes it ours
#     taint           add_taint(TAINT_WARN) with nothing on the console: no
#                     report to scan, only the kernel's taint says so
#                     (kcsan-6.12/taint; KCSAN's reports taint nothing)
#   guest "nokunit" (the debug kernel):
#     kunit-unbuilt   Kbuild's CONFIG_KUNIT test fails (as on a kernel
#                     without KUnit): no test module, every suite missing
#     vm-renamed      a VM test renamed, its program's count kept: as
#                     kunit-renamed
#     one-cpu         maxcpus=1 on the guest's command line (MPMCRING_CMDLINE):
#                     the tests would run on one of the two CPUs qemu gave
#   guest "stuck-boot" (the debug kernel, stopped before init; in the
#   nokunit copy, whose modules are built already):
#     stuck-boot      MPMCRING_BOOT_TIMEOUT=2 makes the boot look stuck
#                     before init: the runner must stop it and fail debug/boot
#   guest "stock" (stock-6.1: the fast kernel, and it has sysrq), programs
#   from tests/harness/plants/:
#     forged-end      a program that passes and exits 0 but prints the END
#                     line of its own section (rc=0) and DONE, without this
#                     boot's token (and with any token it could find)
#     noexec          a passing program packed without its exec bit: it must
#                     fail (exit 126), not be passed over
#     panic           the kernel panics (sysrq) after a program's last
#                     result, all passed: the guest never reaches its end
#     demo-warn       make demo's guest (run by make check with stock-6.1)
#                     logs a warning naming our code below the console's
#                     level, after one of the base kernel's: the demo must
#                     fail for the first and only note the second
#
# Sharing a guest is sound because each plant is judged by its own
# evidence: a failure only it causes, or its own function named in the
# report of its kind. A plant that stops a later one from running (a guest
# that dies) leaves that one's evidence missing, and it fails. Order
# matters where a detector stops: lockdep turns itself off at its first
# report and after a KASAN report, so the lockdep plant comes first.
#
# A plant passes when the runner of its copy exits non-zero, its last line
# counts a failure, and every pattern of the plant matches a line of the
# output. A shared guest passes only when the runner finished and each
# test that failed is one a plant of it expects (none the plants do not
# explain).
# Prints one line per plant, then "N passed, N failed"; exits non-zero when
# any plant stayed green (or went red for another reason).
# Logs: build/logs/selfcheck/<guest>.log. MPMCRING_KEEP=1 keeps the copies;
# MPMCRING_SELFCHECK=<guest,...> runs only those guests (unit: the unit tests);
# MPMCRING_SELFCHECK_GUESTS=<n> guests at once (default 2).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
LOGDIR="$REPO/build/logs/selfcheck"
mkdir -p "$LOGDIR"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/selfcheck.XXXXXX")
cleanup() { [ "${MPMCRING_KEEP:-0}" = 1 ] || rm -rf "$SCRATCH"; }
trap cleanup EXIT
ONLY=${MPMCRING_SELFCHECK:-}
wanted() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }
# A name no guest has would run nothing and pass.
for g in ${ONLY//,/ }; do
	case $g in
	unit | debug | kcsan-6.12 | nokunit | stuck-boot | stock) ;;
	*)
		echo "error: MPMCRING_SELFCHECK: no guest '$g' (unit, debug, kcsan-6.12, nokunit, stuck-boot, stock)" >&2
		exit 2
		;;
	esac
done

# The tree as it is now: tracked files and untracked ones not ignored.
copy_tree() {
	local dst=$1
	mkdir -p "$dst"
	if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
		(cd "$REPO" && git ls-files -z --cached --others --exclude-standard |
			while IFS= read -r -d '' f; do
				[ -e "$f" ] && printf '%s\0' "$f"
			done | tar --null -T - -cf -) | tar -xf - -C "$dst"
	else
		(cd "$REPO" && tar --exclude=./build --exclude=./.git -cf - .) | tar -xf - -C "$dst"
	fi
}

# ---------------------------------------------------------------- plants
# Each takes the copy's root. A KUnit plant adds a suite file to the test
# module and its line to the copy's inventory, so that only the planted
# fault is new.

plant_kunit() {	# <root> <file> <suite> <kernel>; the source on stdin
	local dst=$1 file=$2 suite=$3 kernel=$4 c
	cat >"$dst/tests/kunit/$file.c"
	printf '\n# planted by tests/harness/selfcheck.sh\nmpmcring_test-y += tests/kunit/%s.o\n' \
		"$file" >>"$dst/Kbuild"
	# One inventory line per case, named as the source's KUNIT_CASE()s.
	sed -n 's/^\s*KUNIT_CASE(\(\w*\)),$/\1/p' "$dst/tests/kunit/$file.c" |
		while read -r c; do
			printf 'kunit %s %s %s\n' "$kernel" "$suite" "$c"
		done >>"$dst/tests/inventory.txt"
}

plant_vm() {	# <root> <program> <kernel> <test>...; the source on stdin
	local dst=$1 prog=$2 kernel=$3 t
	shift 3
	cat >"$dst/tests/vm/$prog.c"
	for t in "$@"; do
		printf 'vm %s %s %s\n' "$kernel" "$prog" "$t" >>"$dst/tests/inventory.txt"
	done
}

plant_kunit_expect() {
	plant_kunit "$1" zz_plant_expect mpmcring_plant_expect debug <<'EOF'
// SPDX-License-Identifier: GPL-2.0-only
/* Planted by selfcheck.sh: an expectation that cannot hold. */
#include <kunit/test.h>

static void plant_expect_fails(struct kunit *test)
{
	volatile int one = 1;

	KUNIT_EXPECT_EQ(test, one, 2);
}

static struct kunit_case plant_expect_cases[] = {
	KUNIT_CASE(plant_expect_fails),
	{}
};

static struct kunit_suite plant_expect_suite = {
	.name = "mpmcring_plant_expect",
	.test_cases = plant_expect_cases,
};
kunit_test_suite(plant_expect_suite);
EOF
}

plant_warn() {
	plant_kunit "$1" zz_plant_warn mpmcring_plant_warn debug <<'EOF'
// SPDX-License-Identifier: GPL-2.0-only
/* Planted by selfcheck.sh: a WARN in our code. */
#include <kunit/test.h>
#include <linux/bug.h>

static noinline void mpr_plant_warn(void)
{
	volatile int one = 1;

	WARN(one, "planted by selfcheck.sh");
}

static void plant_warn(struct kunit *test)
{
	mpr_plant_warn();
}

static struct kunit_case plant_warn_cases[] = {
	KUNIT_CASE(plant_warn),
	{}
};

static struct kunit_suite plant_warn_suite = {
	.name = "mpmcring_plant_warn",
	.test_cases = plant_warn_cases,
};
kunit_test_suite(plant_warn_suite);
EOF
}

# Before kasan-oob in the module: a KASAN report turns lockdep off too.
plant_lockdep() {
	plant_kunit "$1" zz_plant_lockdep mpmcring_plant_lockdep debug <<'EOF'
// SPDX-License-Identifier: GPL-2.0-only
/* Planted by selfcheck.sh: A then B, later B then A (no deadlock needed). */
#include <kunit/test.h>
#include <linux/mutex.h>

static DEFINE_MUTEX(mpr_plant_lock_a);
static DEFINE_MUTEX(mpr_plant_lock_b);

static noinline void mpr_plant_lock_ab(void)
{
	mutex_lock(&mpr_plant_lock_a);
	mutex_lock(&mpr_plant_lock_b);
	mutex_unlock(&mpr_plant_lock_b);
	mutex_unlock(&mpr_plant_lock_a);
}

static noinline void mpr_plant_lock_ba(void)
{
	mutex_lock(&mpr_plant_lock_b);
	mutex_lock(&mpr_plant_lock_a);
	mutex_unlock(&mpr_plant_lock_a);
	mutex_unlock(&mpr_plant_lock_b);
}

static void plant_lockdep(struct kunit *test)
{
	mpr_plant_lock_ab();
	mpr_plant_lock_ba();
}

static struct kunit_case plant_lockdep_cases[] = {
	KUNIT_CASE(plant_lockdep),
	{}
};

static struct kunit_suite plant_lockdep_suite = {
	.name = "mpmcring_plant_lockdep",
	.test_cases = plant_lockdep_cases,
};
kunit_test_suite(plant_lockdep_suite);
EOF
}

plant_kasan_oob() {
	plant_kunit "$1" zz_plant_kasan mpmcring_plant_kasan debug <<'EOF'
// SPDX-License-Identifier: GPL-2.0-only
/* Planted by selfcheck.sh: one byte written past a kmalloc'd buffer. */
#include <kunit/test.h>
#include <linux/slab.h>

static void plant_kasan_oob(struct kunit *test)
{
	/* volatile: the compiler cannot see the overflow coming. */
	volatile size_t size = 13, idx;
	char *p = kmalloc(size, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);
	idx = size;
	p[idx] = 'x';
	kfree(p);
}

static struct kunit_case plant_kasan_cases[] = {
	KUNIT_CASE(plant_kasan_oob),
	{}
};

static struct kunit_suite plant_kasan_suite = {
	.name = "mpmcring_plant_kasan",
	.test_cases = plant_kasan_cases,
};
kunit_test_suite(plant_kasan_suite);
EOF
}

plant_leak() {
	plant_kunit "$1" zz_plant_leak mpmcring_plant_leak debug <<'EOF'
// SPDX-License-Identifier: GPL-2.0-only
/* Planted by selfcheck.sh: memory allocated and forgotten. */
#include <kunit/test.h>
#include <linux/slab.h>

static void *volatile mpr_plant_sink;

static noinline void mpr_plant_leak(void)
{
	int i;

	for (i = 0; i < 4; i++)
		mpr_plant_sink = kmalloc(192, GFP_KERNEL);
	mpr_plant_sink = NULL;
}

static void plant_leak(struct kunit *test)
{
	mpr_plant_leak();
}

static struct kunit_case plant_leak_cases[] = {
	KUNIT_CASE(plant_leak),
	{}
};

static struct kunit_suite plant_leak_suite = {
	.name = "mpmcring_plant_leak",
	.test_cases = plant_leak_cases,
};
kunit_test_suite(plant_leak_suite);
EOF
}

plant_rcu_stall() {
	plant_kunit "$1" zz_plant_rcu mpmcring_plant_rcu debug <<'EOF'
// SPDX-License-Identifier: GPL-2.0-only
/*
 * Planted by selfcheck.sh: an RCU reader that does not end for 25 s while a
 * grace period waits for it (no stall is reported while none is asked for).
 */
#include <kunit/test.h>
#include <linux/jiffies.h>
#include <linux/rcupdate.h>

static struct rcu_head mpr_plant_head;

static void mpr_plant_rcu_done(struct rcu_head *head)
{
}

static noinline void mpr_plant_rcu_reader(void)
{
	unsigned long end = jiffies + 25 * HZ;

	call_rcu(&mpr_plant_head, mpr_plant_rcu_done);
	rcu_read_lock();
	while (time_before(jiffies, end))
		cpu_relax();
	rcu_read_unlock();
	rcu_barrier();
}

static void plant_rcu_stall(struct kunit *test)
{
	mpr_plant_rcu_reader();
}

static struct kunit_case plant_rcu_cases[] = {
	KUNIT_CASE(plant_rcu_stall),
	{}
};

static struct kunit_suite plant_rcu_suite = {
	.name = "mpmcring_plant_rcu",
	.test_cases = plant_rcu_cases,
};
kunit_test_suite(plant_rcu_suite);
EOF
}

plant_soft_lockup() {
	plant_kunit "$1" zz_plant_spin mpmcring_plant_spin debug <<'EOF'
// SPDX-License-Identifier: GPL-2.0-only
/*
 * Planted by selfcheck.sh: 45 s in the kernel with preemption off. RCU stall
 * warnings are held back meanwhile: the spinning CPU printing one touches
 * its own soft-lockup watchdog (the 8250 console does), which would hide
 * the soft lockup this plant is about; the RCU plant covers stalls.
 *
 * Why 45 s: the watchdog counts in units of 2^30 ns and reports only when
 * more than 2 x watchdog_thresh = 20 units (21.5 s) have passed since its
 * last touch, i.e. 21.5 to 23.6 s into the spin, and it looks every 4 s
 * (its hrtimer). A 25 s spin left a window of 1.4 to 3.5 s, shorter than
 * one look: CI missed the report. 45 s leaves at least five looks.
 */
#include <kunit/test.h>
#include <linux/jiffies.h>
#include <linux/preempt.h>

extern int rcu_cpu_stall_suppress;	/* kernel/rcu/rcu.h, exported */

static noinline void mpr_plant_spin(void)
{
	unsigned long end = jiffies + 45 * HZ;
	int suppress = READ_ONCE(rcu_cpu_stall_suppress);

	WRITE_ONCE(rcu_cpu_stall_suppress, 1);
	preempt_disable();
	while (time_before(jiffies, end))
		cpu_relax();
	preempt_enable();
	WRITE_ONCE(rcu_cpu_stall_suppress, suppress);
}

static void plant_soft_lockup(struct kunit *test)
{
	mpr_plant_spin();
}

static struct kunit_case plant_spin_cases[] = {
	KUNIT_CASE(plant_soft_lockup),
	{}
};

static struct kunit_suite plant_spin_suite = {
	.name = "mpmcring_plant_spin",
	.test_cases = plant_spin_cases,
};
kunit_test_suite(plant_spin_suite);
EOF
}

plant_hung_task() {
	plant_kunit "$1" zz_plant_hung mpmcring_plant_hung debug <<'EOF'
// SPDX-License-Identifier: GPL-2.0-only
/*
 * Planted by selfcheck.sh: our code asleep uninterruptibly (D state) for 8 s.
 * The test kernels' hung-task detector waits 30 s and looks every 30 s, so
 * a report would come 30 to 60 s into the sleep: for the few seconds of this
 * plant it waits 2 s and looks every second (set through its sysctl files,
 * as an admin would), then gets its settings back.
 */
#include <kunit/test.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/sched.h>
#include <linux/string.h>

#define HUNG_WAIT "/proc/sys/kernel/hung_task_timeout_secs"
#define HUNG_LOOK "/proc/sys/kernel/hung_task_check_interval_secs"
#define HUNG_TOLD "/proc/sys/kernel/hung_task_warnings"

/*
 * Writes val (NULL: nothing) to a sysctl file; what was there goes to old
 * (24 bytes).
 */
static int mpr_plant_sysctl(const char *path, const char *val, char *old)
{
	struct file *f;
	loff_t pos = 0;
	ssize_t n;

	f = filp_open(path, O_RDONLY, 0);
	if (IS_ERR(f))
		return PTR_ERR(f);
	n = kernel_read(f, old, 23, &pos);
	filp_close(f, NULL);
	old[n > 0 ? n : 0] = 0;
	if (!val)
		return 0;
	f = filp_open(path, O_WRONLY, 0);
	if (IS_ERR(f))
		return PTR_ERR(f);
	pos = 0;
	n = kernel_write(f, val, strlen(val), &pos);
	filp_close(f, NULL);
	return n < 0 ? n : 0;
}

/*
 * Sleeps in 5 s pieces (each longer than the 2 s timeout plus the 1 s
 * look) until the detector has reported, its warnings count gone down,
 * for at most 60 s: on a starved guest one piece can end before the
 * detector looked twice, and the plant must not go green by chance.
 */
static noinline void mpr_plant_hung(void)
{
	char before[24], now[24];
	int i;

	if (mpr_plant_sysctl(HUNG_TOLD, NULL, before))
		before[0] = 0;
	for (i = 0; i < 12; i++) {
		schedule_timeout_uninterruptible(5 * HZ);
		if (mpr_plant_sysctl(HUNG_TOLD, NULL, now) || strcmp(now, before))
			break;
	}
	barrier();	/* no tail call: this frame stays on the stack */
}

static void plant_hung_task(struct kunit *test)
{
	char wait[24] = "", look[24] = "", told[24], scratch[24];
	int err;

	/* A count that goes down with each report (init.sh sets -1). */
	KUNIT_ASSERT_EQ(test, mpr_plant_sysctl(HUNG_TOLD, "1000", told), 0);
	err = mpr_plant_sysctl(HUNG_LOOK, "1", look);
	if (!err)
		err = mpr_plant_sysctl(HUNG_WAIT, "2", wait);
	KUNIT_EXPECT_EQ(test, err, 0);
	if (!err)
		mpr_plant_hung();
	/*
	 * Every setting read is put back, also when setting another failed:
	 * the rest of the guest must not run with a 2 s detector, whose
	 * reports on later programs' waits would read as unplanted.
	 */
	if (wait[0])
		KUNIT_EXPECT_EQ(test, mpr_plant_sysctl(HUNG_WAIT, wait, scratch), 0);
	if (look[0])
		KUNIT_EXPECT_EQ(test, mpr_plant_sysctl(HUNG_LOOK, look, scratch), 0);
	KUNIT_EXPECT_EQ(test, mpr_plant_sysctl(HUNG_TOLD, told, scratch), 0);
}

static struct kunit_case plant_hung_cases[] = {
	KUNIT_CASE(plant_hung_task),
	{}
};

static struct kunit_suite plant_hung_suite = {
	.name = "mpmcring_plant_hung",
	.test_cases = plant_hung_cases,
};
kunit_test_suite(plant_hung_suite);
EOF
}

plant_taint() {
	plant_kunit "$1" zz_plant_taint mpmcring_plant_taint kcsan-6.12 <<'EOF'
// SPDX-License-Identifier: GPL-2.0-only
/* Planted by selfcheck.sh: the kernel tainted W, and nothing printed. */
#include <kunit/test.h>
#include <linux/panic.h>

static void plant_taint_silent_warn(struct kunit *test)
{
	add_taint(TAINT_WARN, LOCKDEP_STILL_OK);
	KUNIT_EXPECT_TRUE(test, test_taint(TAINT_WARN));
}

static struct kunit_case plant_taint_cases[] = {
	KUNIT_CASE(plant_taint_silent_warn),
	{}
};

static struct kunit_suite plant_taint_suite = {
	.name = "mpmcring_plant_taint",
	.test_cases = plant_taint_cases,
};
kunit_test_suite(plant_taint_suite);
EOF
}

plant_kcsan() {
	plant_kunit "$1" zz_plant_kcsan mpmcring_plant_kcsan kcsan-6.12 <<'EOF'
// SPDX-License-Identifier: GPL-2.0-only
/*
 * Planted by selfcheck.sh: three races. In mpr_plant_hammer() our code makes
 * the racing accesses itself; in mpr_plant_bits_*() only lib/bitmap.c does,
 * on a bitmap we kmalloc'd (so that its address is no module's), called
 * from our code; in mpr_plant_fmt_*() only lib/vsprintf.c does, five or
 * more frames below ours (number(), vsnprintf(), pointer(), vsnprintf(),
 * snprintf()), writing into a record in a real ring's data area: only the
 * module's objects list can tell that the memory is ours.
 */
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/slab.h>

#include "util.h"

static unsigned long mpr_plant_shared;
static unsigned long *mpr_plant_bits;
static char *mpr_plant_rec;	/* a record in the data area of ring zz-plant */

static int mpr_plant_hammer(void *arg)
{
	unsigned long end = jiffies + HZ;

	while (!kthread_should_stop()) {
		if (time_before(jiffies, end)) {
			mpr_plant_shared++;	/* the race */
			cpu_relax();
		} else {
			msleep(10);
		}
	}
	return 0;
}

static int mpr_plant_bits_set(void *arg)
{
	unsigned long end = jiffies + HZ;
	/* volatile: not constants, so bitmap_set() calls __bitmap_set() */
	volatile unsigned int start = 3, len = 190;

	while (!kthread_should_stop()) {
		if (time_before(jiffies, end)) {
			bitmap_set(mpr_plant_bits, start, len);
			cpu_relax();
		} else {
			msleep(10);
		}
	}
	return 0;
}

static int mpr_plant_bits_clear(void *arg)
{
	unsigned long end = jiffies + HZ;
	volatile unsigned int start = 3, len = 190;

	while (!kthread_should_stop()) {
		if (time_before(jiffies, end)) {
			bitmap_clear(mpr_plant_bits, start, len);
			cpu_relax();
		} else {
			msleep(10);
		}
	}
	return 0;
}

/* "%pV": vsnprintf() formats the digits one call deeper. */
static void mpr_plant_fmt(char *buf, size_t size, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	snprintf(buf, size, "%pV", &vaf);
	va_end(args);
}

static int mpr_plant_fmt_thread(void *arg)
{
	unsigned long end = jiffies + HZ;
	volatile int v = 123456789;

	while (!kthread_should_stop()) {
		if (time_before(jiffies, end)) {
			mpr_plant_fmt(mpr_plant_rec, 48, "%d %d %d %d", v, v, v, v);
			cpu_relax();
		} else {
			msleep(10);
		}
	}
	return 0;
}

static void plant_race(struct kunit *test, int (*a)(void *), int (*b)(void *))
{
	struct task_struct *t[2];
	int i;

	for (i = 0; i < 2; i++) {
		t[i] = kthread_create(i ? b : a, NULL, "mpr_plant/%d", i);
		KUNIT_ASSERT_FALSE(test, IS_ERR(t[i]));
		kthread_bind(t[i], i % num_online_cpus());
	}
	for (i = 0; i < 2; i++)
		wake_up_process(t[i]);
	msleep(1500);
	for (i = 0; i < 2; i++)
		kthread_stop(t[i]);
}

static void plant_kcsan_race(struct kunit *test)
{
	plant_race(test, mpr_plant_hammer, mpr_plant_hammer);
}

static void plant_kcsan_helper_race(struct kunit *test)
{
	mpr_plant_bits = bitmap_zalloc(256, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, mpr_plant_bits);
	plant_race(test, mpr_plant_bits_set, mpr_plant_bits_clear);
	bitmap_free(mpr_plant_bits);
}

static void plant_kcsan_object_race(struct kunit *test)
{
	struct mpmcring_params p = { .name = "zz-plant", .size = 4096 };
	struct mpmcring_rsv rsv;
	struct mpmcring *ring = mpmcring_create(&p);

	KUNIT_ASSERT_FALSE(test, IS_ERR(ring));
	/* Committed, the record is left to the plant: nobody consumes it. */
	KUNIT_ASSERT_EQ(test, mpmcring_reserve(ring, 64, 0, &rsv), 0);
	mpmcring_commit(&rsv);
	mpr_plant_rec = rsv.data;
	plant_race(test, mpr_plant_fmt_thread, mpr_plant_fmt_thread);
	mpmcring_destroy(ring);
}

static struct kunit_case plant_kcsan_cases[] = {
	KUNIT_CASE(plant_kcsan_race),
	KUNIT_CASE(plant_kcsan_helper_race),
	KUNIT_CASE(plant_kcsan_object_race),
	{}
};

static struct kunit_suite plant_kcsan_suite = {
	.name = "mpmcring_plant_kcsan",
	.test_cases = plant_kcsan_cases,
};
kunit_test_suite(plant_kcsan_suite);
EOF
}

plant_vm_fail() {
	plant_vm "$1" zz_plant_fail debug global.plant_fails <<'EOF'
// SPDX-License-Identifier: GPL-2.0-only
/* Planted by selfcheck.sh: a VM test that fails. */
#include "kselftest_harness.h"

TEST(plant_fails)
{
	volatile int one = 1;

	ASSERT_EQ(2, one);
}

TEST_HARNESS_MAIN
EOF
}

plant_vm_crash() {
	plant_vm "$1" zz_plant_crash debug first second <<'EOF'
// SPDX-License-Identifier: GPL-2.0-only
/* Planted by selfcheck.sh: a test program that crashes half way. */
#include <signal.h>
#include <stdio.h>

int main(void)
{
	printf("TAP version 13\n1..2\nok 1 first\n");
	fflush(stdout);
	raise(SIGSEGV);
	printf("ok 2 second\n");
	return 0;
}
EOF
}

plant_vm_missing() {
	rm "$1/tests/vm/params.c"
}

plant_kunit_unlisted() {
	sed -i 's| tests/kunit/lifetime\.o||' "$1/Kbuild"
	! grep -q 'tests/kunit/lifetime\.o' "$1/Kbuild"
}

# A test renamed, the count kept: the inventory names each test, so the
# old name goes missing and the new one is unlisted (review of issue 17,
# must-fix 4: one test could replace another and pass).
plant_kunit_renamed() {
	sed -i 's/\bbasic_commit_order\b/basic_commit_order_renamed/' "$1/tests/kunit/basic.c"
	grep -q 'KUNIT_CASE(basic_commit_order_renamed)' "$1/tests/kunit/basic.c"
}

plant_vm_renamed() {
	sed -i 's/^TEST_F(dev, unknown_ioctl_enotty)$/TEST_F(dev, unknown_ioctl_renamed)/' \
		"$1/tests/vm/device_smoke.c"
	grep -q '^TEST_F(dev, unknown_ioctl_renamed)$' "$1/tests/vm/device_smoke.c"
}

# Programs of the "stock" guest, from tests/harness/plants/.
plant_vm_forge() {
	plant_vm "$1" zz_plant_forge stock-6.1 forged <"$1/tests/harness/plants/zz_plant_forge.c"
}
plant_vm_noexec() {
	plant_vm "$1" zz_plant_noexec stock-6.1 global.plant_runs \
		<"$1/tests/harness/plants/zz_plant_noexec.c"
	# shellcheck disable=SC2016 # the packer's $stage and $out, as written there
	# Only where the program is: the demo's initramfs (plant_demo_warn's
	# guest is this one) is packed by the same script, without it.
	sed -i '/^mkdir -p "\$(dirname "\$out")"$/i [ ! -e "$stage/tests/zz_plant_noexec" ] || chmod 0644 "$stage/tests/zz_plant_noexec"' \
		"$1/scripts/build-initramfs.sh"
	# shellcheck disable=SC2016
	grep -q '^\[ ! -e "$stage/tests/zz_plant_noexec" \] || chmod 0644 "$stage/tests/zz_plant_noexec"$' \
		"$1/scripts/build-initramfs.sh"
}
plant_vm_panic() {
	plant_vm "$1" zz_plant_panic stock-6.1 before_panic <"$1/tests/harness/plants/zz_plant_panic.c"
}
# The demo's guest (make check runs make demo where it runs stock-6.1): a
# warning naming our code in its kernel log, below the console's level.
# A base kernel's warning before it: a note, not the failure.
plant_demo_warn() {
	sed -i 's|^kernel_log() {$|&\n\techo "WARNING: CPU: 1 PID: 1 at kernel/time/tick-sched.c:1 tick_plant_theirs+0x1/0x2" >/dev/kmsg\n\techo "---[ end trace 0000000000000000 ]---" >/dev/kmsg\n\techo "WARNING: CPU: 0 PID: 1 at kmod/produce.c:1 mpr_plant_demo_warn+0x1/0x2 [mpmcring]" >/dev/kmsg|' \
		"$1/tests/harness/demo-init.sh"
	grep -q 'mpr_plant_demo_warn' "$1/tests/harness/demo-init.sh"
}

plant_kunit_unbuilt() {
	sed -i 's/^ifneq (\$(CONFIG_KUNIT),)$/ifneq ($(CONFIG_KUNIT_PLANTED_AWAY),)/' "$1/Kbuild"
	grep -q CONFIG_KUNIT_PLANTED_AWAY "$1/Kbuild"
}

# ---------------------------------------------------------------- checks

passed=0 failed=0

# guest <name> <kernel> <vm tests> <plant function>...: one copy with every
# plant, one run of its runner on one kernel; its exit status and seconds
# go to $SCRATCH/<name>.done (collect reads them). GUEST_ENV: extra
# NAME=value words for the runner's environment.
# GUEST_COPY=<guest>: run in that guest's copy, as it is, when it is there
# (its modules are built already).
declare -A RUNLOG=() RUNRC=() RUNSECS=()
guest() {
	local name=$1 kernel=$2 vmtests=$3 dst="$SCRATCH/$1" log="$LOGDIR/$1.log" rc=0 p
	shift 3
	if [ -n "${GUEST_COPY:-}" ] && [ -d "$SCRATCH/$GUEST_COPY" ]; then
		dst=$SCRATCH/$GUEST_COPY
	else
		copy_tree "$dst"
	fi
	for p in "$@"; do
		"$p" "$dst" || { echo "error: plant $p did not apply" >"$log"; return 1; }
	done
	local t0=$SECONDS
	# shellcheck disable=SC2086 # GUEST_ENV is words on purpose
	env ${GUEST_ENV:-} MPMCRING_KERNELS="$kernel" MPMCRING_HOST=0 MPMCRING_LINT=0 \
		MPMCRING_DEPS=0 MPMCRING_VM_TESTS="$vmtests" MPMCRING_GUESTS=1 \
		python3 "$dst/tests/harness/run.py" >"$log" 2>&1 </dev/null || rc=$?
	echo "$rc $((SECONDS - t0))" >"$SCRATCH/$name.done"
}

# collect <name>: the guest's exit status and seconds, once its run ended
# (a run that never wrote them, a plant that did not apply: status 255).
collect() {
	local name=$1 rc=255 secs=0
	[ -f "$SCRATCH/$name.done" ] && read -r rc secs <"$SCRATCH/$name.done"
	[ -f "$LOGDIR/$name.log" ] || echo "error: the guest's run left no log" >"$LOGDIR/$name.log"
	RUNLOG[$name]=$LOGDIR/$name.log RUNRC[$name]=$rc RUNSECS[$name]=$secs
}

# start <command>...: runs it in the background, MPMCRING_SELFCHECK_GUESTS
# (default 2) at once. A guest keeps less than one host CPU busy on average
# (make check's used 0.6-0.9): one after the other, the five took about 9
# minutes with a CPU idle much of it; the model's plants take what the
# guests leave (check-harness.sh).
# Each job is a process group of its own (set -m), so that an interrupt
# or a TERM stops its runner and that runner's qemu too: a background job
# ignores the terminal's interrupt, and its runner would go on judging in
# a scratch copy the EXIT trap deletes.
SLOTS=${MPMCRING_SELFCHECK_GUESTS:-2}
[[ "$SLOTS" =~ ^[1-9][0-9]*$ ]] ||
	{ echo "error: MPMCRING_SELFCHECK_GUESTS must be a positive number, not '$SLOTS'" >&2; exit 2; }
set -m
running=0 JOBPIDS=()
start() {
	if [ "$running" -ge "$SLOTS" ]; then
		wait -n || true
		running=$((running - 1))
	fi
	"$@" &
	JOBPIDS+=("$!")
	running=$((running + 1))
}
stop_jobs() {
	local p
	for p in "${JOBPIDS[@]}"; do
		kill -TERM -- -"$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
}
trap 'stop_jobs; exit 130' INT
trap 'stop_jobs; exit 143' TERM

# expect <plant> <guest> <pattern>...: every pattern (extended regex) must
# match a line of that guest's output, which must have gone red. A pattern
# "^FAIL +<name>..." also says that a failure of <name> is this plant's.
declare -A EXPLAINS=()
expect() {
	local plant=$1 name=$2 log=${RUNLOG[$2]} rc=${RUNRC[$2]} last missing=() pat
	shift 2
	last=$(tail -n 1 "$log")
	for pat in "$@"; do
		grep -qE -- "$pat" "$log" || missing+=("$pat")
		if [[ "$pat" == '^FAIL +'* ]]; then
			pat=${pat#'^FAIL +'}
			pat=${pat%%' +\('*}
			EXPLAINS[$name]+="${EXPLAINS[$name]:+|}${pat%'\b'}"
		fi
	done
	if [ "$rc" -ne 0 ] && [[ "$last" =~ ^[0-9]+\ passed,\ [1-9][0-9]*\ failed ]] &&
		[ "${#missing[@]}" -eq 0 ]; then
		passed=$((passed + 1))
		printf 'ok     %-15s red in guest %s as planted\n' "$plant" "$name"
	else
		failed=$((failed + 1))
		printf 'FAIL   %-15s in guest %s: runner exit %d, last line "%s"' "$plant" "$name" \
			"$rc" "$last"
		[ "${#missing[@]}" -eq 0 ] || printf '; output lacks: %s' "${missing[*]}"
		printf '\n       log: %s\n' "$log"
	fi
}

# explained <guest>: every test that failed in the guest is one its plants
# expect to fail.
explained() {
	local name=$1 log=${RUNLOG[$1]} extra
	extra=$(grep -E '^FAIL +' "$log" | awk '{ print $2 }' | sort -u |
		grep -vxE "(${EXPLAINS[$name]})" || true)
	if ! tail -n 1 "$log" | grep -qE '^[0-9]+ passed, [0-9]+ failed'; then
		failed=$((failed + 1))
		printf 'FAIL   %-15s the runner did not finish (exit %d): %s\n' "$name-guest" \
			"${RUNRC[$name]}" "$log"
	elif [ -z "$extra" ]; then
		passed=$((passed + 1))
		printf 'ok     %-15s every failure in guest %s is a planted one (%s, %ds)\n' \
			"$name-guest" "$name" "$(tail -n 1 "$log")" "${RUNSECS[$name]}"
	else
		failed=$((failed + 1))
		printf 'FAIL   %-15s failures no plant explains:\n' "$name-guest"
		printf '%s\n' "$extra" | sed 's/^/       | /'
		sed -n '/^======== failures ========$/,/^======== summary ========$/p' "$log" |
			head -n 80 | sed 's/^/       | /'
	fi
}

T0=$SECONDS
# First the unit tests, alone with the plants as before the guests ran two
# at a time: test_init_pid1.py's scenario times a 0.3 s window.
if wanted unit; then
	if out=$(cd "$REPO/tests/harness" && python3 -m unittest discover -p 'test_*.py' 2>&1); then
		passed=$((passed + 1))
		printf 'ok     %-15s %s\n' unit-tests "$(printf '%s\n' "$out" | grep -E '^Ran ')"
	else
		failed=$((failed + 1))
		printf 'FAIL   %-15s the runner'"'"'s unit tests:\n' unit-tests
		printf '%s\n' "$out" | tail -n 40 | sed 's/^/       | /'
	fi
fi

# Then the guests, two at once, the longest first; each is judged below
# once all have ended. stuck-boot runs in nokunit's copy, after it,
# whatever became of nokunit (a plant that did not apply fails nokunit
# alone).
debug_guest() {
	guest debug debug zz_plant_fail,zz_plant_crash,params \
		plant_kunit_expect plant_warn plant_lockdep plant_kasan_oob plant_leak \
		plant_rcu_stall plant_soft_lockup plant_hung_task plant_vm_fail plant_vm_crash \
		plant_vm_missing plant_kunit_unlisted plant_kunit_renamed
}
nokunit_guests() {
	if wanted nokunit; then
		GUEST_ENV=MPMCRING_CMDLINE=maxcpus=1 \
			guest nokunit debug device_smoke plant_kunit_unbuilt plant_vm_renamed || true
	fi
	if wanted stuck-boot; then
		GUEST_ENV=MPMCRING_BOOT_TIMEOUT=2 GUEST_COPY=nokunit guest stuck-boot debug device_smoke
	fi
}
stock_guest() {
	guest stock stock-6.1 zz_plant_forge,zz_plant_noexec,zz_plant_panic \
		plant_vm_forge plant_vm_noexec plant_vm_panic plant_demo_warn
}
# The test kernels, before any guest: two guests on one kernel would each
# build it when it is not cached yet (scripts/build-test-kernel.sh takes no
# lock), one deleting the tree the other builds.
if wanted debug || wanted nokunit || wanted stuck-boot; then
	bash "$REPO/scripts/build-test-kernel.sh" debug >"$LOGDIR/kernel-debug.log" 2>&1 ||
		echo "error: the debug kernel did not build (log: $LOGDIR/kernel-debug.log): its guests will say so too" >&2
fi
wanted debug && start debug_guest
wanted kcsan-6.12 && start guest kcsan-6.12 kcsan-6.12 device_smoke plant_kcsan plant_taint
{ wanted nokunit || wanted stuck-boot; } && start nokunit_guests
wanted stock && start stock_guest

wait

if wanted debug; then
	collect debug
	expect kunit-expect debug '^FAIL +debug/kunit/mpmcring_plant_expect/plant_expect_fails\b'
	expect warn debug '^FAIL +debug/reports\b' '^FAIL +debug/taint\b' \
		'^ +ours: WARNING: CPU: [0-9]+ PID: [0-9]+ at .* mpr_plant_warn\+' \
		'^ +the kernel tainted itself during the run: .*W \(a WARNING\)'
	expect lockdep debug '^FAIL +debug/reports\b' '^FAIL +debug/lockdep\b' \
		'^ +ours: WARNING: possible circular locking dependency detected.*mpr_plant_lock_' \
		'^ +lockdep turned itself off during the run, after: WARNING: possible circular locking'
	expect kasan-oob debug '^FAIL +debug/reports\b' '^FAIL +debug/taint\b' \
		'^ +ours: BUG: KASAN: slab-out-of-bounds in plant_kasan_oob' \
		'^ +the kernel tainted itself during the run: .*B \(a bad page or a KASAN report\)'
	expect leak debug '^FAIL +debug/leaks\b' \
		'^ +ours: unreferenced object 0x[0-9a-f]+ \(size 192\): from mpr_plant_leak\+'
	expect rcu-stall debug '^FAIL +debug/reports\b' \
		'^ +ours: rcu: INFO: rcu_preempt (self-)?detected stalls? on CPU.*\[at .*mpr_plant_rcu_reader\+'
	expect soft-lockup debug '^FAIL +debug/reports\b' \
		'^ +ours: watchdog: BUG: soft lockup - CPU#[0-9]+ stuck for [0-9]+s!.*\[at .*mpr_plant_spin\+'
	expect hung-task debug '^FAIL +debug/reports\b' \
		'^ +ours: INFO: task [^ ]+ blocked for more than [0-9]+ seconds\..*\[at .*mpr_plant_hung\+'
	expect vm-fail debug '^FAIL +debug/vm/zz_plant_fail/global\.plant_fails\b'
	expect vm-crash debug \
		'^FAIL +debug/vm/zz_plant_crash +\(ended early: 1 of 2 results; killed by signal 11 \(SIGSEGV\)' \
		'^FAIL +inventory/debug/vm/zz_plant_crash/second +\(missing: '
	expect vm-missing debug '^FAIL +inventory/debug/vm/params +\(missing: '
	expect kunit-unlisted debug '^FAIL +inventory/debug/kunit/mpmcring_lifetime +\(missing: '
	expect kunit-renamed debug \
		'^FAIL +inventory/debug/kunit/mpmcring_basic/basic_commit_order +\(missing: ' \
		'^FAIL +inventory/debug/kunit/mpmcring_basic/basic_commit_order_renamed +\(unexpected: ' \
		'^add: kunit debug mpmcring_basic basic_commit_order_renamed$'
	explained debug
	[ "${MPMCRING_KEEP:-0}" = 1 ] || rm -rf "$SCRATCH/debug"
fi

if wanted kcsan-6.12; then
	collect kcsan-6.12
	expect kcsan-race kcsan-6.12 '^FAIL +kcsan-6\.12/reports\b' \
		'^ +ours: BUG: KCSAN: data-race in mpr_plant_hammer'
	expect kcsan-helper kcsan-6.12 '^FAIL +kcsan-6\.12/reports\b' \
		'^ +ours: BUG: KCSAN: data-race in __bitmap_(set|clear) / __bitmap_(set|clear) +\[at mpr_plant_bits_(set|clear)\+0x[0-9a-f]+/0x[0-9a-f]+ \[mpmcring_test\] \(frame 2 of an access\)\]'
	expect kcsan-object kcsan-6.12 '^FAIL +kcsan-6\.12/reports\b' \
		'^ +ours: BUG: KCSAN: data-race in [^[]+\[at address 0x[0-9a-f]+ is in our data zz-plant \[0x'
	expect taint kcsan-6.12 '^FAIL +kcsan-6\.12/taint\b' \
		'^ +the kernel tainted itself during the run: W \(a WARNING\) \(tainted: [0-9]+ at the start, [0-9]+ at the end\)'
	explained kcsan-6.12
	[ "${MPMCRING_KEEP:-0}" = 1 ] || rm -rf "$SCRATCH/kcsan-6.12"
fi

if wanted nokunit; then
	collect nokunit
	expect kunit-unbuilt nokunit \
		'^FAIL +inventory/debug/kunit/mpmcring_basic +\(missing: ' \
		'^FAIL +inventory/debug/insmod/mpmcring_test +\(missing: ' \
		'^FAIL +inventory/debug/(kunit/mpmcring_[a-z_]+|rmmod/mpmcring_test) +\(missing: '
	expect vm-renamed nokunit \
		'^FAIL +inventory/debug/vm/device_smoke/dev\.unknown_ioctl_enotty +\(missing: ' \
		'^FAIL +inventory/debug/vm/device_smoke/dev\.unknown_ioctl_renamed +\(unexpected: ' \
		'^add: vm debug device_smoke dev\.unknown_ioctl_renamed$'
	expect one-cpu nokunit '^FAIL +debug/cpus +\(the guest.s init may run on 1 CPU' \
		'^ +the guest.s init may run on 1 CPU.*the kernel command line may narrow them: maxcpus=1 '
	explained nokunit
fi

if wanted stuck-boot; then
	collect stuck-boot
	expect stuck-boot stuck-boot \
		'^FAIL +debug/boot +\(the kernel did not start init within 2s' \
		'^FAIL +inventory/debug +\(missing: nothing ran'
	explained stuck-boot
fi

if wanted stock; then
	collect stock
	expect forged-end stock \
		'^FAIL +stock-6.1/vm/zz_plant_forge +\(forged framing: 2 line\(s\) look like results-port markers but lack'
	expect noexec stock \
		'^FAIL +stock-6.1/vm/zz_plant_noexec +\(no TAP plan; could not be run \(exit status 126' \
		'^FAIL +inventory/stock-6.1/vm/zz_plant_noexec +\(missing: .* it did not run'
	expect panic stock \
		'^FAIL +stock-6.1/boot +\(the guest stopped before the end \(panic or init died\); it was in: vm zz_plant_panic' \
		'^FAIL +stock-6.1/vm/zz_plant_panic +\(did not finish' \
		'^FAIL +stock-6.1/reports +\([0-9]+ report\(s\) name mpmcring code, first: Kernel panic - not syncing: sysrq triggered crash +\[at a crash of the guest' \
		'^FAIL +inventory/stock-6.1/rmmod +\(missing: ' \
		'^FAIL +inventory/stock-6.1/rmmod/mpmcring +\(missing: ' \
		'^FAIL +inventory/stock-6.1/taint +\(missing: '
	expect demo-warn stock \
		'^FAIL +stock-6.1/demo +\(make demo failed \(scripts/demo.sh exited with status 1\)\)' \
		'^ +kernel report naming mpmcring code: WARNING: CPU: 0 PID: 1 at .* mpr_plant_demo_warn\+' \
		'^ +note: a kernel report of the base kernel \(not a failure\): WARNING: .* tick_plant_theirs\+'
	explained stock
	[ "${MPMCRING_KEEP:-0}" = 1 ] || rm -rf "$SCRATCH/stock"
fi
echo "check-harness: $((SECONDS - T0))s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
