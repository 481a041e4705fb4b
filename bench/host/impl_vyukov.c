// SPDX-License-Identifier: GPL-2.0-only
/*
 * A bounded MPMC queue after Dmitry Vyukov's design: a power-of-two array of
 * cells, each a sequence number followed by one record. A producer owns
 * ticket t once its compare-and-swap moves the enqueue counter past t, and
 * may write cell t & mask when its sequence reads t; it publishes with a
 * release store of t + 1. A consumer owns ticket t the same way on the
 * dequeue counter, reads the cell once its sequence reads t + 1 and hands it
 * back with t + capacity.
 *
 * Batched consume (an extension of the original): one compare-and-swap
 * claims up to HB_BATCH consecutive cells that are all ready.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

struct vyq {
	uint64_t enq __attribute__((aligned(HB_CACHELINE)));
	uint64_t deq __attribute__((aligned(HB_CACHELINE)));
	unsigned char *cells __attribute__((aligned(HB_CACHELINE)));
	uint64_t mask;
	size_t stride; /* 8-byte sequence + the record */
	uint32_t size;
	unsigned int producers;
	unsigned char *warm;
};

static inline uint64_t *vy_seq(struct vyq *q, uint64_t t)
{
	return (uint64_t *)(q->cells + (t & q->mask) * q->stride);
}

static inline unsigned char *vy_data(struct vyq *q, uint64_t t)
{
	return q->cells + (t & q->mask) * q->stride + 8;
}

static inline bool vy_enqueue(struct vyq *q, const unsigned char *src)
{
	uint64_t t = __atomic_load_n(&q->enq, __ATOMIC_RELAXED);

	for (;;) {
		uint64_t s = __atomic_load_n(vy_seq(q, t), __ATOMIC_ACQUIRE);
		int64_t d = (int64_t)(s - t);

		if (d == 0) {
			if (__atomic_compare_exchange_n(&q->enq, &t, t + 1, true, __ATOMIC_RELAXED,
							__ATOMIC_RELAXED))
				break;
		} else if (d < 0) {
			return false; /* full: the cell is a lap behind */
		} else {
			t = __atomic_load_n(&q->enq, __ATOMIC_RELAXED);
		}
	}
	memcpy(vy_data(q, t), src, q->size);
	__atomic_store_n(vy_seq(q, t), t + 1, __ATOMIC_RELEASE);
	return true;
}

/* Claims up to max ready cells; returns how many, first ticket in *first. */
static inline unsigned int vy_claim(struct vyq *q, unsigned int max, uint64_t *first)
{
	uint64_t t = __atomic_load_n(&q->deq, __ATOMIC_RELAXED);

	for (;;) {
		unsigned int n = 0;
		uint64_t s = 0;

		while (n < max) {
			s = __atomic_load_n(vy_seq(q, t + n), __ATOMIC_ACQUIRE);
			if (s != t + n + 1)
				break;
			n++;
		}
		if (n) {
			if (__atomic_compare_exchange_n(&q->deq, &t, t + n, true, __ATOMIC_RELAXED,
							__ATOMIC_RELAXED)) {
				*first = t;
				return n;
			}
			continue; /* t was reloaded by the failed CAS */
		}
		if ((int64_t)(s - (t + 1)) < 0)
			return 0; /* empty: not written yet */
		t = __atomic_load_n(&q->deq, __ATOMIC_RELAXED);
	}
}

static inline void vy_release(struct vyq *q, uint64_t t)
{
	__atomic_store_n(vy_seq(q, t), t + q->mask + 1, __ATOMIC_RELEASE);
}

static void *vy_create(const struct hb_cfg *cfg)
{
	struct vyq *q = aligned_alloc(HB_CACHELINE, sizeof(*q));
	uint64_t count = cfg->ring_bytes / cfg->size, i;

	if (!q)
		return NULL;
	memset(q, 0, sizeof(*q));
	q->stride = 8 + ((cfg->size + 7) & ~7u);
	q->mask = count - 1;
	q->size = cfg->size;
	q->producers = cfg->producers;
	q->cells = aligned_alloc(HB_CACHELINE, (count * q->stride + HB_CACHELINE - 1) &
						       ~(uint64_t)(HB_CACHELINE - 1));
	q->warm = aligned_alloc(HB_CACHELINE, (size_t)cfg->size * HB_BATCH);
	if (!q->cells || !q->warm) {
		free(q->cells);
		free(q->warm);
		free(q);
		return NULL;
	}
	for (i = 0; i < count; i++)
		*vy_seq(q, i) = i;
	return q;
}

static void vy_destroy(void *ring)
{
	struct vyq *q = ring;

	free(q->cells);
	free(q->warm);
	free(q);
}

static int vy_consumer_init(void *ring, struct hb_worker *w)
{
	return hb_copy_consumer_init(((struct vyq *)ring)->size, w);
}

HB_INLINE bool vy_send(void *ring, unsigned int idx, const unsigned char *src, uint32_t size)
{
	(void)idx;
	(void)size;
	return vy_enqueue(ring, src);
}

/* Copies out (like the other peers), hands the cells back, then looks. */
HB_INLINE unsigned int vy_take(void *ring, void *cs, bool batch, struct hb_seen *seen,
			       uint32_t size)
{
	struct vyq *q = ring;
	unsigned char *dst = cs;
	uint64_t t;
	unsigned int n = vy_claim(q, batch ? HB_BATCH : 1, &t), i;

	for (i = 0; i < n; i++) {
		memcpy(dst + (size_t)i * size, vy_data(q, t + i), size);
		vy_release(q, t + i);
	}
	for (i = 0; i < n; i++)
		hb_rec_take(seen, dst + (size_t)i * size, size, q->producers);
	return n;
}

static void vy_produce(void *ring, struct hb_worker *w)
{
	hb_produce_loop(ring, w, ((struct vyq *)ring)->size, vy_send);
}

static void vy_consume(void *ring, struct hb_worker *w, bool batch)
{
	hb_consume_loop(ring, w, batch, ((struct vyq *)ring)->size, vy_take);
}

static int vy_single(void *ring, uint64_t n, bool batch, struct hb_seen *seen)
{
	struct vyq *q = ring;

	return hb_single_loop("vyukov", ring, q->warm, n, batch, seen, q->size, vy_send, vy_take);
}

const struct hb_impl hb_vyukov = {
	.name = "vyukov",
	.desc = "Vyukov bounded MPMC queue (written here), batch claim by one CAS, copy in and out",
	.create = vy_create,
	.destroy = vy_destroy,
	.consumer_init = vy_consumer_init,
	.consumer_fini = hb_copy_consumer_fini,
	.produce = vy_produce,
	.consume = vy_consume,
	.single = vy_single,
};
