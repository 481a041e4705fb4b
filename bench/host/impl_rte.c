// SPDX-License-Identifier: GPL-2.0-only
/*
 * DPDK rte_ring, multi-producer multi-consumer (the default sync mode), of
 * elements of the record size, on memory of our own (no EAL, no hugepages):
 * rte_ring_get_memsize_elem() + rte_ring_init(). Producers call
 * rte_ring_enqueue_elem(); consumers copy out with rte_ring_dequeue_elem()
 * or rte_ring_dequeue_burst_elem(..., HB_BATCH), then look at the copy.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "bench.h"

struct rte {
	struct rte_ring *r;
	uint32_t size;
	unsigned int producers;
	unsigned char *warm; /* the main thread's copy-out buffer */
};

static void *rte_create(const struct hb_cfg *cfg)
{
	struct rte *q = calloc(1, sizeof(*q));
	unsigned int count = cfg->ring_bytes / cfg->size;
	ssize_t bytes = rte_ring_get_memsize_elem(cfg->size, count);

	if (!q || bytes < 0)
		goto fail;
	q->r = aligned_alloc(HB_CACHELINE,
			     (bytes + HB_CACHELINE - 1) & ~(size_t)(HB_CACHELINE - 1));
	q->warm = aligned_alloc(HB_CACHELINE, (size_t)cfg->size * HB_BATCH);
	if (!q->r || !q->warm)
		goto fail;
	/* 0: multi-producer, multi-consumer; count - 1 usable entries. */
	if (rte_ring_init(q->r, "hostbench", count, 0)) {
		fprintf(stderr, "hostbench: rte_ring_init(%u entries of %u B) failed\n", count,
			cfg->size);
		goto fail;
	}
	q->size = cfg->size;
	q->producers = cfg->producers;
	return q;
fail:
	if (q) {
		free(q->r);
		free(q->warm);
	}
	free(q);
	return NULL;
}

static void rte_destroy(void *ring)
{
	struct rte *q = ring;

	free(q->r);
	free(q->warm);
	free(q);
}

static int rte_consumer_init(void *ring, struct hb_worker *w)
{
	return hb_copy_consumer_init(((struct rte *)ring)->size, w);
}

HB_INLINE bool rte_send(void *ring, unsigned int idx, const unsigned char *src, uint32_t size)
{
	(void)idx;
	/* rte_ring takes a non-const pointer but only reads from it. */
	return !rte_ring_enqueue_elem(((struct rte *)ring)->r, (void *)(uintptr_t)src, size);
}

HB_INLINE unsigned int rte_take(void *ring, void *cs, bool batch, struct hb_seen *seen,
				uint32_t size)
{
	struct rte *q = ring;
	unsigned char *dst = cs;
	unsigned int n, i;

	if (!batch)
		n = rte_ring_dequeue_elem(q->r, dst, size) ? 0 : 1;
	else
		n = rte_ring_dequeue_burst_elem(q->r, dst, size, HB_BATCH, NULL);
	for (i = 0; i < n; i++)
		hb_rec_take(seen, dst + (size_t)i * size, size, q->producers);
	return n;
}

static void rte_produce(void *ring, struct hb_worker *w)
{
	hb_produce_loop(ring, w, ((struct rte *)ring)->size, rte_send);
}

static void rte_consume(void *ring, struct hb_worker *w, bool batch)
{
	hb_consume_loop(ring, w, batch, ((struct rte *)ring)->size, rte_take);
}

static int rte_single(void *ring, uint64_t n, bool batch, struct hb_seen *seen)
{
	struct rte *q = ring;

	return hb_single_loop("rte_ring", ring, q->warm, n, batch, seen, q->size, rte_send,
			      rte_take);
}

const struct hb_impl hb_rte = {
	.name = "rte_ring",
	.desc = "DPDK rte_ring MP/MC of record-size elements, copy in and out",
	.create = rte_create,
	.destroy = rte_destroy,
	.consumer_init = rte_consumer_init,
	.consumer_fini = hb_copy_consumer_fini,
	.produce = rte_produce,
	.consume = rte_consume,
	.single = rte_single,
};
