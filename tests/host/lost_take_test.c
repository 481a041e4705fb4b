// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpr_take_lost() (proto/mpmcring_proto.h) raced: one thread adds losses
 * to the total as the kernel does, consumer threads take them, and every
 * loss must be taken exactly once: the sum of what they took equals the
 * total at the end. A consumer that read the total, then found the taken
 * counter moved past it by another consumer, must not move it back: the
 * next one would take those losses again.
 *
 *   lost_take_test [adds] [consumers]   (default 2000000, 3)
 */
#include <pthread.h>
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

int main(int argc, char **argv)
{
	uint64_t adds = argc > 1 ? strtoull(argv[1], NULL, 0) : 2000000, sum = 0, i;
	unsigned int n = argc > 2 ? (unsigned int)atoi(argv[2]) : 3, c;
	struct taker *t = calloc(n, sizeof(*t));

	if (!t || !n)
		return 2;
	for (c = 0; c < n; c++)
		if (pthread_create(&t[c].th, NULL, take, &t[c]))
			return 2;
	for (i = 0; i < adds; i++)
		__atomic_fetch_add(&total, 1 + (i & 3), __ATOMIC_RELAXED);
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	for (c = 0; c < n; c++) {
		pthread_join(t[c].th, NULL);
		sum += t[c].got;
	}
	/* What a consumer that comes last takes: nothing left behind. */
	sum += mpr_take_lost(&total, &taken);
	printf("lost_take_test: %llu losses added, %llu taken by %u consumers\n",
	       (unsigned long long)total, (unsigned long long)sum, n);
	if (sum != total) {
		printf("lost_take_test: FAIL: %lld losses taken %s\n",
		       (long long)(sum > total ? sum - total : total - sum),
		       sum > total ? "twice" : "by nobody");
		return 1;
	}
	free(t);
	return 0;
}
