// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpr_take_lost() (proto/mpmcring_proto.h) raced: one thread adds losses
 * to the total as the kernel does, consumer threads take them, and every
 * loss must be taken exactly once: the sum of what they took equals the
 * total at the end. A consumer that read the total, then found the taken
 * counter moved past it by another consumer, must not move it back: the
 * next one would take those losses again. Several rounds, each from zero,
 * the adding thread yielding now and then so that the consumers race each
 * other on two cores: the old order (total read first) failed 10 runs of
 * 10, in the first round. x86 keeps loads in order, so this cannot test
 * [L1]'s acquire itself, only the order of the two loads.
 *
 *   lost_take_test [adds per round] [consumers] [rounds]
 *                  (default 100000, 3, 5)
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mpmcring_proto.h"

static __u64 total, taken;
static int done;

struct taker {
	pthread_t th;
	uint64_t got;
};

static void *take(void *arg)
{
	struct taker *t = arg;

	while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE))
		t->got += mpr_take_lost(&total, &taken);
	t->got += mpr_take_lost(&total, &taken);
	return NULL;
}

/* One round: 0 when every loss was taken once. */
static int round_once(uint64_t adds, unsigned int n, struct taker *t, unsigned int r)
{
	uint64_t sum = 0, i;
	unsigned int c;

	total = taken = 0;
	done = 0;
	for (c = 0; c < n; c++) {
		t[c].got = 0;
		if (pthread_create(&t[c].th, NULL, take, &t[c]))
			return 2;
	}
	for (i = 0; i < adds; i++) {
		__atomic_fetch_add(&total, 1 + (i & 3), __ATOMIC_RELAXED);
		/* Now and then the consumers' turn: on two cores they race
		 * each other only while this thread lets them run. */
		if (!(i & 1023))
			sched_yield();
	}
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	for (c = 0; c < n; c++) {
		pthread_join(t[c].th, NULL);
		sum += t[c].got;
	}
	/* What a consumer that comes last takes: nothing left behind. */
	sum += mpr_take_lost(&total, &taken);
	printf("lost_take_test: round %u: %llu losses added, %llu taken by %u consumers\n", r,
	       (unsigned long long)total, (unsigned long long)sum, n);
	if (sum == total)
		return 0;
	printf("lost_take_test: FAIL: %lld losses taken %s\n",
	       (long long)(sum > total ? sum - total : total - sum),
	       sum > total ? "twice" : "by nobody");
	return 1;
}

int main(int argc, char **argv)
{
	uint64_t adds = argc > 1 ? strtoull(argv[1], NULL, 0) : 100000;
	unsigned int n = argc > 2 ? (unsigned int)atoi(argv[2]) : 3;
	unsigned int rounds = argc > 3 ? (unsigned int)atoi(argv[3]) : 5, r;
	struct taker *t = calloc(n ? n : 1, sizeof(*t));
	int ret = 0;

	if (!t || !n)
		ret = 2;
	for (r = 0; !ret && r < rounds; r++)
		ret = round_once(adds, n, t, r);
	free(t);
	return ret;
}
