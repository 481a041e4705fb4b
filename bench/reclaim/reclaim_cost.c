// SPDX-License-Identifier: GPL-2.0-only
/*
 * What one reclaim costs, the protocol's own code on the host (hostring):
 * reclaim is the one producer-side walk, it runs from any context (NMI
 * too), and it must stay bounded whatever the machine and the consumers.
 * It walks the stamps of the records it frees (at most MPR_RECLAIM_WALK)
 * and the attached consumer slots; it no longer scans per-CPU state, so
 * the number of CPUs does not enter (the in-flight table it replaced cost
 * 4 x nr_cpu_ids loads: 1,024 at 256 CPUs, from NMI).
 *
 *   reclaim_cost [-r REPS]
 *
 * Prints, per number of attached slots, the median ns of a reclaim that
 * frees a full walk of 64 B records, ns per record freed, and of one that
 * frees nothing (every slot holding a claim: the slot scan alone). Timings
 * on a shared machine drift: compare the rows of one run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hostring.h"
#include "internal.h"

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Produces n 56-byte records and claims them all (head moves past). */
static void produce_and_claim(struct hostring *h, unsigned int n)
{
	struct mpr_view *v = &h->v;
	uint64_t pos;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (hostring_reserve(h, 0, 56, MPMCRING_PRIO_CRITICAL, &pos))
			abort();
		hostring_commit(h, 0, pos, 56);
	}
	/* A consumer that claimed and committed everything. */
	v->cons->head = v->meta->prod_pos;
}

int main(int argc, char **argv)
{
	static const unsigned int slots[] = { 1, 62, 256, 1022 };
	unsigned int reps = 31, i, k;
	int opt;

	while ((opt = getopt(argc, argv, "r:")) != -1) {
		if (opt != 'r' || !(reps = atoi(optarg)) || reps > 1001) {
			fprintf(stderr, "usage: reclaim_cost [-r REPS (1-1001)]\n");
			return 2;
		}
	}
	printf("%8s %16s %16s %20s\n", "slots", "walk ns/reclaim", "ns/record freed",
	       "held: ns/reclaim");
	for (k = 0; k < sizeof(slots) / sizeof(slots[0]); k++) {
		struct hostring_params p = {
			.size = 1 << 20,
			.producers = 1,
			.max_consumers = slots[k],
		};
		double walk[1001], held[1001];
		struct hostring h;

		if (hostring_init(&h, &p))
			return 1;
		for (i = 0; i < reps; i++) {
			double t;
			unsigned int s;

			produce_and_claim(&h, MPR_RECLAIM_WALK);
			t = now_ns();
			hostring_reclaim(&h);
			walk[i] = now_ns() - t;
			if (h.v.meta->reclaim_pos != h.v.meta->prod_pos)
				abort(); /* the walk freed less than it should */
			/* Every slot holds a claim at the head: nothing to free. */
			produce_and_claim(&h, 16);
			for (s = 0; s < slots[k]; s++)
				h.v.cons->slots[s].start = h.v.meta->reclaim_pos;
			t = now_ns();
			hostring_reclaim(&h);
			held[i] = now_ns() - t;
			for (s = 0; s < slots[k]; s++)
				h.v.cons->slots[s].start = MPMCRING_SLOT_IDLE;
			hostring_reclaim(&h);
		}
		qsort(walk, reps, sizeof(double), cmp);
		qsort(held, reps, sizeof(double), cmp);
		printf("%8u %16.0f %16.2f %20.0f\n", slots[k], walk[reps / 2],
		       walk[reps / 2] / MPR_RECLAIM_WALK, held[reps / 2]);
		hostring_destroy(&h);
	}
	return 0;
}
