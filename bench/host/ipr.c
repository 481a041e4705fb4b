// SPDX-License-Identifier: GPL-2.0-only
/*
 * Instructions per record, under callgrind: for each implementation and
 * consume mode, one thread produces and consumes records (the -1 loop: one
 * at a time, or 32 produced then consumed in batches), and callgrind counts
 * the instructions of exactly that stretch: its counters are zeroed after
 * the ring's setup and warm-up, and dumped, with a label, after the
 * records. "none" is the benchmark's own work on a record (fill it, look
 * at it, count it) without a ring; the report subtracts it ("ring only").
 * Instruction counts do not depend on the machine's load.
 *
 *   valgrind --tool=callgrind --callgrind-out-file=DIR/ipr.out \
 *            hostbench -I [-i IMPLS] [-n RECORDS] [-s SIZE]
 *
 * writes DIR/ipr.out.1, .2, ...: one dump per stretch, its label in the
 * "desc: Trigger: Client Request: ipr <impl> <mode> <records>" line, its
 * count in the "summary:" line, its profile for callgrind_annotate.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

#include "callgrind_shim.h"

/* The records' own work, no ring: fill, look, count. */
void hb_none_loop(uint32_t size, uint64_t n, struct hb_seen *seen)
{
	unsigned char *buf = aligned_alloc(HB_CACHELINE, size < HB_CACHELINE ? HB_CACHELINE : size);
	uint64_t seq;

	if (!buf)
		exit(2);
	hb_rec_init(buf, size);
	for (seq = 0; seq < n; seq++) {
		hb_rec_fill(buf, size, 0, seq);
		/* Keeps the compiler from folding fill into take. */
		__asm__ __volatile__("" : : "r"(buf) : "memory");
		hb_rec_take(seen, buf, size, 1);
	}
	free(buf);
}

static int stretch(const struct hb_impl *im, uint32_t size, bool batch, uint64_t n)
{
	struct hb_cfg cfg = {
		.producers = 1, .consumers = 1, .size = size, .batch = batch, .ring_bytes = 1 << 20
	};
	struct hb_seen *seen = calloc(1, sizeof(*seen)), *warm = calloc(1, sizeof(*warm));
	uint64_t warm_n = 2 * cfg.ring_bytes / size;
	const char *name = im ? im->name : "none";
	char label[128];
	void *ring = NULL;
	int rc = 0;

	if (!seen || !warm)
		exit(2);
	if (im) {
		ring = im->create(&cfg);
		if (!ring || im->single(ring, warm_n, batch, warm)) {
			fprintf(stderr, "hostbench: ipr: %s: setup failed\n", name);
			exit(2);
		}
	}
	snprintf(label, sizeof(label), "ipr %s %s %llu", name, batch ? "batch" : "single",
		 (unsigned long long)n);
	CALLGRIND_ZERO_STATS;
	if (im)
		rc = im->single(ring, n, batch, seen);
	else
		hb_none_loop(size, n, seen);
	CALLGRIND_DUMP_STATS_AT(label);
	if (rc || hb_verify(name, 1, &seen, 1, &n))
		exit(1);
	if (im)
		im->destroy(ring);
	free(seen);
	free(warm);
	return 0;
}

int hb_ipr(const struct hb_plan *plan, uint32_t size, uint64_t records)
{
	unsigned int i, b;

	if (!RUNNING_ON_VALGRIND)
		fprintf(stderr,
			"hostbench: -I counts instructions under valgrind --tool=callgrind; running without it\n");
	for (b = 0; b < 2; b++) {
		stretch(NULL, size, b, records);
		for (i = 0; i < plan->nimpls; i++)
			stretch(plan->impls[i], size, b, records);
	}
	return 0;
}
