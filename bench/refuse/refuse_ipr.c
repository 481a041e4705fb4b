// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a refused reservation costs against an accepted one, in
 * instructions (issue 12): the protocol's producer code on the host
 * (hostring), one thread, under callgrind. Each stretch of n operations is
 * dumped with its label (ipr.sh's way); divide the dump's count by n.
 *
 *   valgrind --tool=callgrind --callgrind-out-file=DIR/refuse.out \
 *            refuse_ipr [-n OPS]
 *
 * Stretches, 56-byte payloads (64 B records), low class:
 *   accepted   reserve + commit into a ring with room (no reclaim)
 *   refused    reserve refused by priority, the ring at the low class's
 *              watermark, with the module's reclaim throttle (head
 *              unmoved, within the gap: what a flood sees)
 *   refused-unthrottled  the same with every reclaim due (the host
 *              tests' env): two reclaims, each a slot scan, per refusal
 * Counts do not depend on the machine's load.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hostring.h"

#include "callgrind_shim.h"

#define LEN 56

static void init(struct hostring *h, uint64_t size, uint64_t gap)
{
	struct hostring_params p = {
		.size = size,
		.producers = 1,
		.max_consumers = 1,
		.reclaim_gap_ns = gap,
	};

	if (hostring_init(h, &p))
		exit(2);
}

static void accepted(unsigned long n)
{
	struct hostring h;
	unsigned long i;
	uint64_t pos;

	/* Room for every record below the low watermark (half the ring). */
	init(&h, 1ull << 26, 0);
	if (n * 64 > (1ull << 25))
		exit(2);
	CALLGRIND_ZERO_STATS;
	for (i = 0; i < n; i++) {
		if (hostring_reserve(&h, 0, LEN, MPMCRING_PRIO_LOW, &pos))
			exit(1);
		hostring_commit(&h, 0, pos, LEN);
	}
	CALLGRIND_DUMP_STATS_AT("refuse accepted");
	hostring_destroy(&h);
}

static void refused(unsigned long n, uint64_t gap, const char *label)
{
	struct hostring h;
	unsigned long i;
	uint64_t pos;

	init(&h, 1 << 16, gap);
	while (!hostring_reserve(&h, 0, LEN, MPMCRING_PRIO_LOW, &pos))
		hostring_commit(&h, 0, pos, LEN);
	/* A consumer holds a claim at the head: nothing to free. */
	h.v.cons->slots[0].start = h.v.cons->head;
	hostring_reclaim(&h);
	CALLGRIND_ZERO_STATS;
	for (i = 0; i < n; i++)
		if (hostring_reserve(&h, 0, LEN, MPMCRING_PRIO_LOW, &pos) != -ENOSPC)
			exit(1);
	CALLGRIND_DUMP_STATS_AT(label);
	if (h.prod[0].dropped[MPMCRING_DROP_PRIORITY][MPMCRING_PRIO_LOW] != n + 1 ||
	    h.v.meta->lost_dropped != n + 1)
		exit(1);
	printf("%s: %lu refused, %llu due checks\n", label, n, (unsigned long long)h.due_checks);
	hostring_destroy(&h);
}

int main(int argc, char **argv)
{
	unsigned long n = 100000;
	int opt;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n' || !(n = strtoul(optarg, NULL, 0))) {
			fprintf(stderr, "usage: refuse_ipr [-n OPS]\n");
			return 2;
		}
	}
	if (!RUNNING_ON_VALGRIND)
		fprintf(stderr,
			"refuse_ipr: counts instructions under valgrind --tool=callgrind\n");
	accepted(n);
	refused(n, 1ull << 62, "refuse refused");
	refused(n, 0, "refuse refused-unthrottled");
	return 0;
}
