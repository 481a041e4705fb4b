// SPDX-License-Identifier: GPL-2.0-only
/*
 * Falco's kernel-module rings and libscap's reader (falcosecurity/libs,
 * driver/ and userspace/libscap), rewritten here from their documented
 * behaviour; no code taken from either.
 *
 *   - One ring per CPU, written only by the probe running on that CPU with
 *     preemption off: one producer per ring. Here, one ring per producer
 *     thread, the ring memory shared out equally.
 *   - The ring's control block holds the producer's head, the reader's
 *     tail and the event counters side by side, as the driver's does.
 *   - An event starts with a header holding its timestamp and length. The
 *     producer checks the free space against the tail, writes the event,
 *     then publishes the new head (a write barrier before it). The buffer
 *     is mapped twice, so an event that wraps is contiguous.
 *   - One reader for all rings (libscap's next-event selection): it works
 *     on a snapshot [tail, head) of each ring, takes the next event of the
 *     ring whose next event is the oldest by timestamp, gives a ring's
 *     space back (moves its tail) once it has read its snapshot, and takes
 *     new snapshots of every ring when all are used up. Events are read in
 *     place.
 *   - libscap sleeps 0.5-30 ms when there is little to read; here the
 *     reader waits as every other consumer does (hb_idle(): spinning,
 *     or hostbench -e's wait).
 *
 * Timestamps come from the TSC where there is one (what a kernel probe's
 * clock read costs, roughly), else from clock_gettime().
 *
 * More consumer threads: the rings are shared out among them (ring i to
 * consumer i % C), each merging its own: time order then holds per
 * consumer only, and a consumer without a ring has nothing to do.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

struct fevt {
	uint64_t ts;
	uint32_t len; /* the whole event, header included, padded to 8 */
	uint32_t type;
};

/* The driver's per-ring control block: both sides' fields together. */
struct fring_info {
	uint64_t head; /* producer: end of the last event written */
	uint64_t tail; /* reader: end of the space given back */
	uint64_t n_evts;
};

struct fring {
	struct fring_info info __attribute__((aligned(HB_CACHELINE)));
	unsigned char *data __attribute__((aligned(HB_CACHELINE)));
};

/* The reader's view of one ring (libscap's per-device state). */
struct fdev {
	struct fring *r;
	uint64_t tail;	   /* where the space given back ends */
	uint64_t next;	   /* next event of the snapshot */
	uint64_t left;	   /* bytes of the snapshot not read yet */
	uint64_t lastread; /* bytes of the snapshot, to give back */
};

struct freader {
	unsigned int ndev;
	struct fdev dev[];
};

struct falco {
	struct fring *rings;
	unsigned int nrings;
	uint64_t size, mask; /* of each ring */
	uint32_t rec;
	unsigned int producers;
	struct freader *warm;
};

static inline uint64_t f_now(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_ia32_rdtsc();
#else
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
#endif
}

static inline uint64_t f_round(uint32_t size)
{
	return ((uint64_t)size + sizeof(struct fevt) + 7) & ~7ULL;
}

static struct freader *f_reader(struct falco *q, unsigned int idx, unsigned int nreaders)
{
	unsigned int i, n = 0;
	struct freader *rd;

	rd = calloc(1, sizeof(*rd) + q->nrings * sizeof(rd->dev[0]));
	if (!rd)
		return NULL;
	for (i = idx; i < q->nrings; i += nreaders) {
		rd->dev[n].r = &q->rings[i];
		rd->dev[n].tail = __atomic_load_n(&q->rings[i].info.tail, __ATOMIC_RELAXED);
		n++;
	}
	rd->ndev = n;
	return rd;
}

static void *f_create(const struct hb_cfg *cfg)
{
	struct falco *q = calloc(1, sizeof(*q));
	unsigned int i, n = 1;

	if (!q)
		return NULL;
	while (n < cfg->producers)
		n *= 2;
	q->nrings = cfg->producers;
	q->size = cfg->ring_bytes / n; /* the same memory in all as one ring */
	q->mask = q->size - 1;
	q->rec = cfg->size;
	q->producers = cfg->producers;
	q->rings = aligned_alloc(HB_CACHELINE, q->nrings * sizeof(*q->rings));
	if (!q->rings || q->size < 64 * f_round(cfg->size))
		goto fail;
	memset(q->rings, 0, q->nrings * sizeof(*q->rings));
	for (i = 0; i < q->nrings; i++) {
		unsigned char *area =
			mmap(NULL, 2 * q->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int fd = memfd_create("falco", MFD_CLOEXEC);
		bool ok = area != MAP_FAILED && fd >= 0 && !ftruncate(fd, q->size) &&
			  mmap(area, q->size, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_SHARED, fd,
			       0) != MAP_FAILED &&
			  mmap(area + q->size, q->size, PROT_READ | PROT_WRITE,
			       MAP_FIXED | MAP_SHARED, fd, 0) != MAP_FAILED;

		if (fd >= 0)
			close(fd);
		if (!ok) {
			if (area != MAP_FAILED)
				munmap(area, 2 * q->size);
			goto fail;
		}
		q->rings[i].data = area;
	}
	q->warm = f_reader(q, 0, 1);
	if (!q->warm)
		goto fail;
	return q;
fail:
	if (q->rings)
		for (i = 0; i < q->nrings; i++)
			if (q->rings[i].data)
				munmap(q->rings[i].data, 2 * q->size);
	free(q->rings);
	free(q);
	return NULL;
}

static void f_destroy(void *ring)
{
	struct falco *q = ring;
	unsigned int i;

	for (i = 0; i < q->nrings; i++)
		munmap(q->rings[i].data, 2 * q->size);
	free(q->rings);
	free(q->warm);
	free(q);
}

/* The probe on CPU idx: the event into its own ring, or no room. */
HB_INLINE bool f_send(void *ring, unsigned int idx, const unsigned char *src, uint32_t size)
{
	struct falco *q = ring;
	struct fring *r = &q->rings[idx];
	uint64_t need = f_round(size);
	uint64_t head = __atomic_load_n(&r->info.head, __ATOMIC_RELAXED);
	uint64_t tail = __atomic_load_n(&r->info.tail, __ATOMIC_ACQUIRE);
	struct fevt *e;

	if (head + need - tail > q->size - 1)
		return false; /* the driver counts a drop; here the caller retries */
	e = (struct fevt *)(r->data + (head & q->mask));
	e->ts = f_now();
	e->len = need;
	e->type = 1;
	memcpy(e + 1, src, size);
	/* The event is written before the reader can see the head. */
	__atomic_store_n(&r->info.head, head + need, __ATOMIC_RELEASE);
	__atomic_store_n(&r->info.n_evts, r->info.n_evts + 1, __ATOMIC_RELAXED);
	return true;
}

/* Gives the read snapshot's space back to the producer. */
static inline void f_advance_tail(struct fdev *d)
{
	d->tail += d->lastread;
	d->lastread = 0;
	__atomic_store_n(&d->r->info.tail, d->tail, __ATOMIC_RELEASE);
}

/* New snapshots of every ring; false when they are all empty. */
static inline bool f_refill(struct freader *rd)
{
	bool any = false;
	unsigned int j;

	for (j = 0; j < rd->ndev; j++) {
		struct fdev *d = &rd->dev[j];

		if (d->lastread)
			f_advance_tail(d);
		d->next = d->tail;
		d->left = __atomic_load_n(&d->r->info.head, __ATOMIC_ACQUIRE) - d->tail;
		d->lastread = d->left;
		any |= d->left != 0;
	}
	return any;
}

/* libscap's next event: the oldest of the rings' next events. */
HB_INLINE const struct fevt *f_next(struct falco *q, struct freader *rd)
{
	unsigned int j, pass;

	for (pass = 0; pass < 2; pass++) {
		const struct fevt *best = NULL;
		struct fdev *bd = NULL;

		for (j = 0; j < rd->ndev; j++) {
			struct fdev *d = &rd->dev[j];
			const struct fevt *e;

			if (!d->left) {
				/* Read all of it: give the space back now. */
				if (d->lastread)
					f_advance_tail(d);
				continue;
			}
			e = (const struct fevt *)(d->r->data + (d->next & q->mask));
			if (!best || e->ts < best->ts) {
				best = e;
				bd = d;
			}
		}
		if (best) {
			bd->next += best->len;
			bd->left -= best->len;
			return best;
		}
		if (!pass && !f_refill(rd))
			return NULL;
	}
	return NULL;
}

HB_INLINE unsigned int f_take(void *ring, void *cs, bool batch, struct hb_seen *seen, uint32_t size)
{
	struct falco *q = ring;
	unsigned int n = 0, max = batch ? HB_BATCH : 1;
	const struct fevt *e;

	while (n < max && (e = f_next(q, cs))) {
		if (e->len != f_round(size))
			seen->bad++;
		hb_rec_take(seen, (const unsigned char *)(e + 1), size, q->producers);
		n++;
	}
	return n;
}

static int f_consumer_init(void *ring, struct hb_worker *w)
{
	struct falco *q = ring;

	w->priv = f_reader(q, w->idx, w->run->cfg->consumers);
	return w->priv ? 0 : -ENOMEM;
}

static void f_consumer_fini(void *ring, struct hb_worker *w)
{
	(void)ring;
	free(w->priv);
}

static void f_produce(void *ring, struct hb_worker *w)
{
	hb_produce_loop(ring, w, ((struct falco *)ring)->rec, f_send);
}

static void f_consume(void *ring, struct hb_worker *w, bool batch)
{
	hb_consume_loop(ring, w, batch, ((struct falco *)ring)->rec, f_take);
}

static int f_single(void *ring, uint64_t n, bool batch, struct hb_seen *seen)
{
	struct falco *q = ring;
	unsigned int j;
	int rc;

	rc = hb_single_loop("falco", ring, q->warm, n, batch, seen, q->rec, f_send, f_take);
	/* Read to the end: give it all back before other readers start. */
	for (j = 0; j < q->warm->ndev; j++)
		if (q->warm->dev[j].lastread && !q->warm->dev[j].left)
			f_advance_tail(&q->warm->dev[j]);
	return rc;
}

const struct hb_impl hb_falco = {
	.name = "falco",
	.desc = "Falco's per-CPU single-producer rings (written here), one reader merging them by timestamp, in place",
	.create = f_create,
	.destroy = f_destroy,
	.consumer_init = f_consumer_init,
	.consumer_fini = f_consumer_fini,
	.produce = f_produce,
	.consume = f_consume,
	.single = f_single,
};
