// SPDX-License-Identifier: GPL-2.0-only
/*
 * Concurrency Kit ck_ring, multi-producer multi-consumer, on a buffer of
 * structs of the record size (CK_RING_PROTOTYPE, one type per size).
 * Producers call ck_ring_enqueue_mpmc_<type>(); consumers copy out with
 * ck_ring_dequeue_mpmc_<type>(). ck_ring has no batch dequeue: a batched
 * consumer dequeues up to HB_BATCH records one by one, then looks at them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <ck_ring.h>

#include "bench.h"

struct ckq {
	struct ck_ring ring; /* cache-line padded by ck */
	void *buf;
	uint32_t size;
	unsigned int producers;
	unsigned char *warm;
};

/*
 * ck_ring's functions are generated per record type: each size gets its
 * send and take (through the CK_DEFINE macro below), with the size a
 * constant the copies are specialised for, and instantiates the shared
 * loops with them.
 */
HB_INLINE unsigned int ck_take_common(struct ckq *q, unsigned char *dst, bool batch,
				      struct hb_seen *seen, const uint32_t size,
				      bool (*deq)(struct ck_ring *r, void *buf, void *dst))
{
	unsigned int n = 0, i, max = batch ? HB_BATCH : 1;

	while (n < max && deq(&q->ring, q->buf, dst + (size_t)n * size))
		n++;
	for (i = 0; i < n; i++)
		hb_rec_take(seen, dst + (size_t)i * size, size, q->producers);
	return n;
}

#define CK_SIZES(X) X(16) X(64) X(256) X(1024) X(4096)

#define CK_DEFINE(S)                                                                              \
	struct ck_rec##S {                                                                        \
		unsigned char b[S];                                                               \
	};                                                                                        \
	CK_RING_PROTOTYPE(rec##S, ck_rec##S)                                                      \
	static bool ck_deq##S(struct ck_ring *r, void *buf, void *dst)                            \
	{                                                                                         \
		return ck_ring_dequeue_mpmc_rec##S(r, buf, dst);                                  \
	}                                                                                         \
	HB_INLINE bool ck_send##S(void *ring, unsigned int idx, const unsigned char *src,         \
				  uint32_t size)                                                  \
	{                                                                                         \
		struct ckq *q = ring;                                                             \
		(void)idx;                                                                        \
		(void)size;                                                                       \
		return ck_ring_enqueue_mpmc_rec##S(&q->ring, q->buf,                              \
						   (struct ck_rec##S *)(uintptr_t)src);           \
	}                                                                                         \
	HB_INLINE unsigned int ck_take##S(void *ring, void *cs, bool batch, struct hb_seen *seen, \
					  uint32_t size)                                          \
	{                                                                                         \
		(void)size;                                                                       \
		return ck_take_common(ring, cs, batch, seen, S, ck_deq##S);                       \
	}                                                                                         \
	static void ck_produce##S(struct ckq *q, struct hb_worker *w)                             \
	{                                                                                         \
		hb_produce_loop(q, w, S, ck_send##S);                                             \
	}                                                                                         \
	static void ck_consume##S(struct ckq *q, struct hb_worker *w, bool batch)                 \
	{                                                                                         \
		hb_consume_loop(q, w, batch, S, ck_take##S);                                      \
	}                                                                                         \
	static int ck_single##S(struct ckq *q, uint64_t n, bool batch, struct hb_seen *seen)      \
	{                                                                                         \
		return hb_single_loop("ck_ring", q, q->warm, n, batch, seen, S, ck_send##S,       \
				      ck_take##S);                                                \
	}
CK_SIZES(CK_DEFINE)

static void *ck_create(const struct hb_cfg *cfg)
{
	struct ckq *q = aligned_alloc(HB_CACHELINE, sizeof(*q));
	unsigned int count = cfg->ring_bytes / cfg->size;

#define CK_KNOWN(S) || cfg->size == S
	if (!(0 CK_SIZES(CK_KNOWN))) {
		fprintf(stderr,
			"hostbench: ck_ring: no record type of %u bytes (16, 64, 256, 1024, 4096)\n",
			cfg->size);
		free(q);
		return NULL;
	}
	if (!q)
		return NULL;
	memset(q, 0, sizeof(*q));
	q->buf = aligned_alloc(HB_CACHELINE, (size_t)count * cfg->size);
	q->warm = aligned_alloc(HB_CACHELINE, (size_t)cfg->size * HB_BATCH);
	if (!q->buf || !q->warm) {
		free(q->buf);
		free(q->warm);
		free(q);
		return NULL;
	}
	/* count - 1 usable entries, like rte_ring. */
	ck_ring_init(&q->ring, count);
	q->size = cfg->size;
	q->producers = cfg->producers;
	return q;
}

static void ck_destroy(void *ring)
{
	struct ckq *q = ring;

	free(q->buf);
	free(q->warm);
	free(q);
}

static int ck_consumer_init(void *ring, struct hb_worker *w)
{
	return hb_copy_consumer_init(((struct ckq *)ring)->size, w);
}

#define CK_CASE_PRODUCE(S)           \
	case S:                      \
		ck_produce##S(q, w); \
		break;
#define CK_CASE_CONSUME(S)                  \
	case S:                             \
		ck_consume##S(q, w, batch); \
		break;
#define CK_CASE_SINGLE(S) \
	case S:           \
		return ck_single##S(q, n, batch, seen);

static void ck_produce(void *ring, struct hb_worker *w)
{
	struct ckq *q = ring;

	switch (q->size) {
		CK_SIZES(CK_CASE_PRODUCE)
	}
}

static void ck_consume(void *ring, struct hb_worker *w, bool batch)
{
	struct ckq *q = ring;

	switch (q->size) {
		CK_SIZES(CK_CASE_CONSUME)
	}
}

static int ck_single(void *ring, uint64_t n, bool batch, struct hb_seen *seen)
{
	struct ckq *q = ring;

	switch (q->size) {
		CK_SIZES(CK_CASE_SINGLE)
	}
	return -EINVAL;
}

const struct hb_impl hb_ck = {
	.name = "ck_ring",
	.desc = "Concurrency Kit ck_ring MPMC of record-size structs, copy in and out",
	.create = ck_create,
	.destroy = ck_destroy,
	.consumer_init = ck_consumer_init,
	.consumer_fini = hb_copy_consumer_fini,
	.produce = ck_produce,
	.consume = ck_consume,
	.single = ck_single,
};
