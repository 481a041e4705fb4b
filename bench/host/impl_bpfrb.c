// SPDX-License-Identifier: GPL-2.0-only
/*
 * BPF ring buffer's algorithm, rewritten here in userspace from its
 * documented behaviour (Documentation/bpf/ringbuf.rst, and what libbpf's
 * ring_buffer__consume() is documented to do); no code taken from either.
 *
 *   - One data area, a power of two, mapped twice back to back, so a record
 *     that wraps is contiguous. Two positions that only grow, each on its
 *     own line: the producer position and the consumer position.
 *   - Reservation is serialised by a spinlock (the kernel takes it with
 *     interrupts off; a BPF program in NMI context only tries it). Under
 *     it: read the consumer position, refuse the record if it would not
 *     fit, write the 8-byte header (length with the BUSY bit set), publish
 *     the new producer position with a release store, unlock.
 *   - Commit: an atomic exchange of the header's length without the BUSY
 *     bit (with the DISCARD bit for a discard).
 *   - One consumer: from its position up to the producer position, stop at
 *     the first record still BUSY, hand each finished record to the
 *     callback where it lies, and move the consumer position past it with
 *     a release store, record by record.
 *   - The wakeup logic (irq_work when the consumer had caught up) is left
 *     out: consumers here wait as every other ring's do (hb_idle()).
 *
 * It has one consumer by design. With more consumer threads, they take
 * turns with a try-lock around the consume step: what a program sharing
 * one ring among threads would have to do.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

#define RB_BUSY (1U << 31)
#define RB_DISCARD (1U << 30)
#define RB_HDR 8

struct rb_hdr {
	uint32_t len;	 /* payload bytes | RB_BUSY | RB_DISCARD */
	uint32_t pg_off; /* the kernel's page offset; unused here */
};

struct bpfrb {
	int lock __attribute__((aligned(HB_CACHELINE)));
	uint64_t prod_pos __attribute__((aligned(HB_CACHELINE)));
	uint64_t cons_pos __attribute__((aligned(HB_CACHELINE)));
	int cons_lock __attribute__((aligned(HB_CACHELINE))); /* more than one consumer */
	unsigned char *data __attribute__((aligned(HB_CACHELINE)));
	uint64_t size, mask;
	uint32_t rec;
	unsigned int producers;
	unsigned char *warm;
};

static inline uint64_t rb_round(uint32_t len)
{
	return ((uint64_t)len + RB_HDR + 7) & ~7ULL;
}

static inline void rb_lock(int *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(l, __ATOMIC_RELAXED))
			hb_relax();
}

static inline void rb_unlock(int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

/* bpf_ringbuf_reserve(): NULL when the record does not fit. */
static inline void *rb_reserve(struct bpfrb *q, uint32_t len)
{
	uint64_t need = rb_round(len), cons, prod;
	struct rb_hdr *hdr;

	rb_lock(&q->lock);
	cons = __atomic_load_n(&q->cons_pos, __ATOMIC_ACQUIRE);
	prod = q->prod_pos;
	if (prod + need - cons > q->mask) {
		rb_unlock(&q->lock);
		return NULL;
	}
	hdr = (struct rb_hdr *)(q->data + (prod & q->mask));
	__atomic_store_n(&hdr->len, len | RB_BUSY, __ATOMIC_RELAXED);
	hdr->pg_off = 0;
	/* The header is written before the consumer can see the position. */
	__atomic_store_n(&q->prod_pos, prod + need, __ATOMIC_RELEASE);
	rb_unlock(&q->lock);
	return hdr + 1;
}

/* bpf_ringbuf_submit() / _discard(): the exchange is a full barrier. */
static inline void rb_commit(void *sample, bool discard)
{
	struct rb_hdr *hdr = (struct rb_hdr *)sample - 1;
	uint32_t len = __atomic_load_n(&hdr->len, __ATOMIC_RELAXED) & ~RB_BUSY;

	__atomic_exchange_n(&hdr->len, discard ? len | RB_DISCARD : len, __ATOMIC_SEQ_CST);
}

static void *rb_create(const struct hb_cfg *cfg)
{
	struct bpfrb *q = aligned_alloc(HB_CACHELINE, sizeof(*q));
	unsigned char *area;
	int fd;

	if (!q)
		return NULL;
	memset(q, 0, sizeof(*q));
	q->size = cfg->ring_bytes;
	q->mask = q->size - 1;
	q->rec = cfg->size;
	q->producers = cfg->producers;
	/* -1: one consumer, no lock; 0: free. */
	q->cons_lock = cfg->consumers > 1 ? 0 : -1;
	q->warm = aligned_alloc(HB_CACHELINE, HB_CACHELINE);
	/* The data area twice, back to back, as the kernel maps it. */
	area = mmap(NULL, 2 * q->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fd = memfd_create("bpfrb", MFD_CLOEXEC);
	if (!q->warm || area == MAP_FAILED || fd < 0 || ftruncate(fd, q->size) ||
	    mmap(area, q->size, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_SHARED, fd, 0) ==
		    MAP_FAILED ||
	    mmap(area + q->size, q->size, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_SHARED, fd, 0) ==
		    MAP_FAILED) {
		if (fd >= 0)
			close(fd);
		if (area != MAP_FAILED)
			munmap(area, 2 * q->size);
		free(q->warm);
		free(q);
		return NULL;
	}
	close(fd);
	q->data = area;
	return q;
}

static void rb_destroy(void *ring)
{
	struct bpfrb *q = ring;

	munmap(q->data, 2 * q->size);
	free(q->warm);
	free(q);
}

/* Reserve, copy the payload in, submit: what a BPF program does. */
HB_INLINE bool rb_send(void *ring, unsigned int idx, const unsigned char *src, uint32_t size)
{
	void *p = rb_reserve(ring, size);

	(void)idx;
	if (!p)
		return false;
	memcpy(p, src, size);
	rb_commit(p, false);
	return true;
}

/*
 * The consume step of ring_buffer__consume_n(): records in place, the
 * consumer position released after each. At most max records.
 */
HB_INLINE unsigned int rb_consume_n(struct bpfrb *q, unsigned int max, struct hb_seen *seen,
				    uint32_t size)
{
	uint64_t cons = __atomic_load_n(&q->cons_pos, __ATOMIC_ACQUIRE), prod;
	unsigned int n = 0;
	bool more;

	do {
		more = false;
		prod = __atomic_load_n(&q->prod_pos, __ATOMIC_ACQUIRE);
		while (cons < prod) {
			struct rb_hdr *hdr = (struct rb_hdr *)(q->data + (cons & q->mask));
			uint32_t len = __atomic_load_n(&hdr->len, __ATOMIC_ACQUIRE);

			if (len & RB_BUSY)
				return n;
			more = true;
			cons += rb_round(len & ~RB_DISCARD);
			if (!(len & RB_DISCARD)) {
				if ((len & ~RB_DISCARD) != size)
					seen->bad++;
				hb_rec_take(seen, (unsigned char *)(hdr + 1), size, q->producers);
				n++;
			}
			__atomic_store_n(&q->cons_pos, cons, __ATOMIC_RELEASE);
			if (n == max)
				return n;
		}
	} while (more);
	return n;
}

HB_INLINE unsigned int rb_take(void *ring, void *cs, bool batch, struct hb_seen *seen,
			       uint32_t size)
{
	struct bpfrb *q = ring;
	unsigned int n;

	(void)cs;
	if (q->cons_lock < 0)
		return rb_consume_n(q, batch ? HB_BATCH : 1, seen, size);
	/* Several consumer threads: one at a time. */
	if (__atomic_exchange_n(&q->cons_lock, 1, __ATOMIC_ACQUIRE))
		return 0;
	n = rb_consume_n(q, batch ? HB_BATCH : 1, seen, size);
	rb_unlock(&q->cons_lock);
	return n;
}

static void rb_produce(void *ring, struct hb_worker *w)
{
	hb_produce_loop(ring, w, ((struct bpfrb *)ring)->rec, rb_send);
}

static void rb_consume(void *ring, struct hb_worker *w, bool batch)
{
	hb_consume_loop(ring, w, batch, ((struct bpfrb *)ring)->rec, rb_take);
}

static int rb_single(void *ring, uint64_t n, bool batch, struct hb_seen *seen)
{
	struct bpfrb *q = ring;

	return hb_single_loop("bpf_ringbuf", ring, q->warm, n, batch, seen, q->rec, rb_send,
			      rb_take);
}

const struct hb_impl hb_bpfrb = {
	.name = "bpf_ringbuf",
	.desc = "BPF ringbuf's algorithm (written here): spinlocked reservation, busy bit in an 8-byte header, one consumer in place",
	.create = rb_create,
	.destroy = rb_destroy,
	.produce = rb_produce,
	.consume = rb_consume,
	.single = rb_single,
};
