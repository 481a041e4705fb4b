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

typedef bool (*ck_enq_fn)(struct ck_ring *r, void *buf, const void *src);
typedef bool (*ck_deq_fn)(struct ck_ring *r, void *buf, void *dst);

/* The loops, written once; each size instantiates them with its own
 * (inlined) enqueue and dequeue. */
static inline __attribute__((always_inline)) void ck_produce_t(struct ckq *q, struct hb_worker *w,
							       const uint32_t size, ck_enq_fn enq)
{
	unsigned char *src = aligned_alloc(HB_CACHELINE, size);
	unsigned int streak;
	uint64_t seq;

	if (!src) {
		w->err = -ENOMEM;
		return;
	}
	hb_rec_init(src, size);
	for (seq = 0; seq < w->todo; seq++) {
		hb_rec_fill(src, size, w->idx, seq);
		streak = 0;
		while (!enq(&q->ring, q->buf, src))
			hb_backoff(w, &streak);
	}
	free(src);
}

static inline __attribute__((always_inline)) unsigned int ck_take_t(struct ckq *q,
								    unsigned char *dst, bool batch,
								    struct hb_seen *seen,
								    const uint32_t size,
								    ck_deq_fn deq)
{
	unsigned int n = 0, i, max = batch ? HB_BATCH : 1;

	while (n < max && deq(&q->ring, q->buf, dst + (size_t)n * size))
		n++;
	for (i = 0; i < n; i++)
		hb_rec_take(seen, dst + (size_t)i * size, size, q->producers);
	return n;
}

static inline __attribute__((always_inline)) void ck_consume_t(struct ckq *q, struct hb_worker *w,
							       bool batch, const uint32_t size,
							       ck_deq_fn deq)
{
	unsigned int streak = 0;

	for (;;) {
		bool done = hb_producers_done(w->run);

		if (ck_take_t(q, w->priv, batch, w->seen, size, deq)) {
			streak = 0;
			continue;
		}
		if (done)
			break;
		hb_backoff(w, &streak);
	}
}

static inline __attribute__((always_inline)) int ck_single_t(struct ckq *q, uint64_t n, bool batch,
							     struct hb_seen *seen,
							     const uint32_t size, ck_enq_fn enq,
							     ck_deq_fn deq)
{
	unsigned char *src = aligned_alloc(HB_CACHELINE, size);
	uint64_t seq = 0, got = 0;
	unsigned int i, k = batch ? HB_BATCH : 1;

	if (!src)
		return -ENOMEM;
	hb_rec_init(src, size);
	while (seq < n) {
		for (i = 0; i < k && seq < n; i++, seq++) {
			hb_rec_fill(src, size, 0, seq);
			if (!enq(&q->ring, q->buf, src))
				goto fail;
		}
		while (got < seq) {
			unsigned int m = ck_take_t(q, q->warm, batch, seen, size, deq);

			if (!m)
				goto fail;
			got += m;
		}
	}
	free(src);
	return 0;
fail:
	fprintf(stderr, "hostbench: ck_ring: single-thread run stuck at record %llu\n",
		(unsigned long long)seq);
	free(src);
	return -1;
}

#define CK_SIZES(X) X(16) X(64) X(256) X(1024) X(4096)

#define CK_DEFINE(S)                                                                            \
	struct ck_rec##S {                                                                      \
		unsigned char b[S];                                                             \
	};                                                                                      \
	CK_RING_PROTOTYPE(rec##S, ck_rec##S)                                                    \
	static bool ck_enq##S(struct ck_ring *r, void *buf, const void *src)                    \
	{                                                                                       \
		return ck_ring_enqueue_mpmc_rec##S(r, buf, (struct ck_rec##S *)(uintptr_t)src); \
	}                                                                                       \
	static bool ck_deq##S(struct ck_ring *r, void *buf, void *dst)                          \
	{                                                                                       \
		return ck_ring_dequeue_mpmc_rec##S(r, buf, dst);                                \
	}                                                                                       \
	static void ck_produce##S(struct ckq *q, struct hb_worker *w)                           \
	{                                                                                       \
		ck_produce_t(q, w, S, ck_enq##S);                                               \
	}                                                                                       \
	static void ck_consume##S(struct ckq *q, struct hb_worker *w, bool batch)               \
	{                                                                                       \
		ck_consume_t(q, w, batch, S, ck_deq##S);                                        \
	}                                                                                       \
	static int ck_single##S(struct ckq *q, uint64_t n, bool batch, struct hb_seen *seen)    \
	{                                                                                       \
		return ck_single_t(q, n, batch, seen, S, ck_enq##S, ck_deq##S);                 \
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
	struct ckq *q = ring;

	w->priv = aligned_alloc(HB_CACHELINE, (size_t)q->size * HB_BATCH);
	return w->priv ? 0 : -ENOMEM;
}

static void ck_consumer_fini(void *ring, struct hb_worker *w)
{
	(void)ring;
	free(w->priv);
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
	.consumer_fini = ck_consumer_fini,
	.produce = ck_produce,
	.consume = ck_consume,
	.single = ck_single,
};
