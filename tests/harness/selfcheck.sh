#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make check-harness: proves that the runner (tests/harness/run.py) goes red
# for each kind of fault it exists to catch. Each plant goes into its own
# scratch copy of the tree (tracked files plus untracked ones git does not
# ignore), and the runner of that copy runs on the one kernel that matters:
#
#   kunit-expect   a KUnit case expecting 1 == 2            (debug kernel)
#   kasan-oob      a KUnit case writing one byte past a
#                  kmalloc'd buffer through a volatile index (debug: KASAN)
#   kcsan-race     two kthreads racing on a plain variable
#                  in mpr_plant_hammer() for a second        (kcsan: KCSAN)
#   vm-fail        a VM test program with a failing ASSERT   (debug kernel)
#   stuck-boot     no plant: MPMCRING_BOOT_TIMEOUT=2 makes the boot look
#                  stuck before init; the runner must stop the guest there
#                  and fail debug/boot                       (debug kernel)
#
# A plant passes when the runner exits non-zero, its last line counts a
# failure, and its output names the expected failing test and reason.
# Prints one line per plant, then "N passed, N failed"; exits non-zero
# when any plant stayed green (or went red for another reason).
# Logs: build/logs/selfcheck/<plant>.log. MPMCRING_KEEP=1 keeps the copies.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
LOGDIR="$REPO/build/logs/selfcheck"
mkdir -p "$LOGDIR"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/selfcheck.XXXXXX")
cleanup() { [ "${MPMCRING_KEEP:-0}" = 1 ] || rm -rf "$SCRATCH"; }
trap cleanup EXIT

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

# A KUnit plant: a new suite file in the test module.
plant_kunit() {
	local dst=$1 file=$2
	cat >"$dst/tests/kunit/$file.c"
	printf '\n# planted by tests/harness/selfcheck.sh\nmpmcring_test-y += tests/kunit/%s.o\n' \
		"$file" >>"$dst/Kbuild"
}

plant_kunit_expect() {
	plant_kunit "$1" zz_plant_expect <<'EOF'
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

plant_kasan_oob() {
	plant_kunit "$1" zz_plant_kasan <<'EOF'
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

plant_kcsan_race() {
	plant_kunit "$1" zz_plant_kcsan <<'EOF'
// SPDX-License-Identifier: GPL-2.0-only
/* Planted by selfcheck.sh: two threads race on a plain variable. */
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>

static unsigned long mpr_plant_shared;

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

static void plant_kcsan_race(struct kunit *test)
{
	struct task_struct *t[2];
	int i;

	for (i = 0; i < 2; i++) {
		t[i] = kthread_create(mpr_plant_hammer, NULL, "mpr_plant/%d", i);
		KUNIT_ASSERT_FALSE(test, IS_ERR(t[i]));
		kthread_bind(t[i], i % num_online_cpus());
	}
	for (i = 0; i < 2; i++)
		wake_up_process(t[i]);
	msleep(1500);
	for (i = 0; i < 2; i++)
		kthread_stop(t[i]);
}

static struct kunit_case plant_kcsan_cases[] = {
	KUNIT_CASE(plant_kcsan_race),
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
	cat >"$1/tests/vm/zz_plant_fail.c" <<'EOF'
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

plant_nothing() {
	:
}

passed=0 failed=0
# check <name> <kernel> <vm tests to run> <plant function> <pattern>...:
# every pattern (extended regex) must match a line of the runner's output.
# PLANT_ENV: extra NAME=value words for the runner's environment.
check() {
	local name=$1 kernel=$2 vmtests=$3 plant=$4
	shift 4
	local dst="$SCRATCH/$name" log="$LOGDIR/$name.log" rc=0 last missing=()
	copy_tree "$dst"
	"$plant" "$dst"
	local t0=$SECONDS
	# shellcheck disable=SC2086 # PLANT_ENV is words on purpose
	env ${PLANT_ENV:-} MPMCRING_KERNELS="$kernel" MPMCRING_HOST=0 MPMCRING_LINT=0 \
		MPMCRING_DEPS=0 MPMCRING_VM_TESTS="$vmtests" \
		python3 "$dst/tests/harness/run.py" >"$log" 2>&1 </dev/null || rc=$?
	last=$(tail -n 1 "$log")
	for pat in "$@"; do
		grep -qE -- "$pat" "$log" || missing+=("$pat")
	done
	if [ "$rc" -ne 0 ] && [[ "$last" =~ ^[0-9]+\ passed,\ [1-9][0-9]*\ failed ]] &&
		[ "${#missing[@]}" -eq 0 ]; then
		passed=$((passed + 1))
		printf 'ok     %-13s red on %s as planted (%s) [%ds]\n' "$name" "$kernel" "$last" \
			$((SECONDS - t0))
	else
		failed=$((failed + 1))
		printf 'FAIL   %-13s on %s: runner exit %d, last line "%s"' "$name" "$kernel" "$rc" "$last"
		[ "${#missing[@]}" -eq 0 ] || printf '; output lacks: %s' "${missing[*]}"
		printf '\n       log: %s\n' "$log"
		grep -E '^(FAIL|==>|note:)' "$log" | tail -n 15 | sed 's/^/       | /'
		# The scratch copy goes away: show the failures' details here.
		sed -n '/^======== failures ========$/,/^======== summary ========$/p' "$log" |
			head -n 60 | sed 's/^/       | /'
	fi
}

check kunit-expect debug device_smoke plant_kunit_expect \
	'^FAIL +debug/kunit/mpmcring_plant_expect/plant_expect_fails\b'
check kasan-oob debug device_smoke plant_kasan_oob \
	'^FAIL +debug/reports\b' 'BUG: KASAN: slab-out-of-bounds in plant_kasan_oob'
check kcsan-race kcsan device_smoke plant_kcsan_race \
	'^FAIL +kcsan/reports\b' 'BUG: KCSAN: data-race in mpr_plant_hammer'
check vm-fail debug zz_plant_fail plant_vm_fail \
	'^FAIL +debug/vm/zz_plant_fail/global\.plant_fails\b'
PLANT_ENV=MPMCRING_BOOT_TIMEOUT=2 check stuck-boot debug device_smoke plant_nothing \
	'^FAIL +debug/boot +\(the kernel did not start init within 2s'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
