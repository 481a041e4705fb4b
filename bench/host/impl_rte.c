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
	struct rte *q = ring;

	w->priv = aligned_alloc(HB_CACHELINE, (size_t)q->size * HB_BATCH);
	return w->priv ? 0 : -ENOMEM;
}

static void rte_consumer_fini(void *ring, struct hb_worker *w)
{
	(void)ring;
	free(w->priv);
}

static void rte_produce(void *ring, struct hb_worker *w)
{
	struct rte *q = ring;
	unsigned char *src = aligned_alloc(HB_CACHELINE, q->size);
	unsigned int streak;
	uint64_t seq;

	if (!src) {
		w->err = -ENOMEM;
		return;
	}
	hb_rec_init(src, q->size);
	for (seq = 0; seq < w->todo; seq++) {
		hb_rec_fill(src, q->size, w->idx, seq);
		streak = 0;
		while (rte_ring_enqueue_elem(q->r, src, q->size))
			hb_backoff(w, &streak);
	}
	free(src);
}

static inline unsigned int rte_take(struct rte *q, unsigned char *dst, bool batch,
				    struct hb_seen *seen)
{
	unsigned int n, i;

	if (!batch)
		n = rte_ring_dequeue_elem(q->r, dst, q->size) ? 0 : 1;
	else
		n = rte_ring_dequeue_burst_elem(q->r, dst, q->size, HB_BATCH, NULL);
	for (i = 0; i < n; i++)
		hb_rec_take(seen, dst + (size_t)i * q->size, q->size, q->producers);
	return n;
}

static void rte_consume(void *ring, struct hb_worker *w, bool batch)
{
	struct rte *q = ring;
	unsigned int streak = 0;

	for (;;) {
		bool done = hb_producers_done(w->run);

		if (rte_take(q, w->priv, batch, w->seen)) {
			streak = 0;
			continue;
		}
		if (done)
			break;
		hb_backoff(w, &streak);
	}
}

static int rte_single(void *ring, uint64_t n, bool batch, struct hb_seen *seen)
{
	struct rte *q = ring;
	unsigned char *src = aligned_alloc(HB_CACHELINE, q->size);
	uint64_t seq = 0, got = 0;
	unsigned int i, k = batch ? HB_BATCH : 1;

	if (!src)
		return -ENOMEM;
	hb_rec_init(src, q->size);
	while (seq < n) {
		for (i = 0; i < k && seq < n; i++, seq++) {
			hb_rec_fill(src, q->size, 0, seq);
			if (rte_ring_enqueue_elem(q->r, src, q->size))
				goto fail;
		}
		while (got < seq) {
			unsigned int m = rte_take(q, q->warm, batch, seen);

			if (!m)
				goto fail;
			got += m;
		}
	}
	free(src);
	return 0;
fail:
	fprintf(stderr, "hostbench: rte_ring: single-thread run stuck at record %llu\n",
		(unsigned long long)seq);
	free(src);
	return -1;
}

const struct hb_impl hb_rte = {
	.name = "rte_ring",
	.desc = "DPDK rte_ring MP/MC of record-size elements, copy in and out",
	.create = rte_create,
	.destroy = rte_destroy,
	.consumer_init = rte_consumer_init,
	.consumer_fini = rte_consumer_fini,
	.produce = rte_produce,
	.consume = rte_consume,
	.single = rte_single,
};
