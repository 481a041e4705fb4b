/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for the KUnit suites: rings made for a test, and a kernel-side
 * consumer that runs the same claim/commit protocol as the library.
 */
#ifndef MPMCRING_KUNIT_UTIL_H
#define MPMCRING_KUNIT_UTIL_H

#include <kunit/test.h>
#include <linux/irq_work.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/wait.h>

#include "env.h"
#include "mpmcring_testrec.h"

/* A consumer attached to one slot. */
struct kc {
	struct mpmcring *ring;
	const struct mpr_view *v;
	struct mpmcring_slot *slot;
	int idx;
	bool holding;
	u64 start;	/* where the claim held begins */
};

static inline int kc_attach(struct kc *c, struct mpmcring *ring)
{
	c->ring = ring;
	c->v = mpmcring_kunit_view(ring);
	c->idx = mpmcring_slot_attach(ring, false);
	if (c->idx < 0)
		return c->idx;
	c->slot = &c->v->cons->slots[c->idx];
	c->holding = false;
	return 0;
}

static inline void kc_detach(struct kc *c)
{
	if (c->idx >= 0)
		mpmcring_slot_detach(c->ring, c->idx);
	c->idx = -1;
}

/* Claims up to max records; the claim stays held until kc_commit(). */
static inline int kc_claim(struct kc *c, u32 max, struct mpr_claim *cl)
{
	int n = mpr_claim(c->v, &c->slot->start, c->holding, max, U64_MAX, false, cl);

	/* The oldest start of what it holds: see mpr_claim(). */
	if (n > 0 && (!c->holding || mpr_before(cl->start, c->start)))
		c->start = cl->start;
	if (n > 0)
		c->holding = true;
	return n;
}

/* Commits; returns whether the claim had been revoked. */
static inline bool kc_commit(struct kc *c)
{
	c->holding = false;
	return mpr_commit(c->v, &c->slot->start, c->start);
}

/* Reads one record into buf (at most cap bytes); returns its length. */
static inline int kc_read(struct kc *c, void *buf, u32 cap)
{
	struct mpr_claim cl;
	struct mpr_rec rec;
	u64 cur;
	int n = kc_claim(c, 1, &cl);

	if (n < 0)
		return n;
	cur = cl.start;
	if (!mpr_claim_next(c->v, &cur, cl.end, &rec)) {
		kc_commit(c);
		return -EBADMSG;
	}
	memcpy(buf, mpr_payload(c->v, rec.pos), min(rec.len, cap));
	kc_commit(c);
	return rec.len;
}

/* Drops of every reason and class. */
static inline u64 kt_dropped(const struct mpmcring_stats *st)
{
	u64 n = 0;
	int r, c;

	for (r = 0; r < MPMCRING_NR_DROP; r++)
		for (c = 0; c < MPMCRING_NR_PRIO; c++)
			n += st->dropped[r][c];
	return n;
}

/*
 * The reclaim bit, taken and let go as the module does (kmod/env.h: the
 * word counts, one added at each), by a test that stands in for a holder.
 * Preemption off while held, as for a real one, is the caller's.
 */
static inline bool kt_bit_take(struct mpmcring *ring)
{
	unsigned long v = READ_ONCE(ring->reclaim_lock);

	return !(v & 1) && try_cmpxchg(&ring->reclaim_lock, &v, v + 1);
}

static inline void kt_bit_let_go(struct mpmcring *ring)
{
	/* Release, as mpr_env_unlock(): the holder's stores first. */
	smp_store_release(&ring->reclaim_lock,
			  READ_ONCE(ring->reclaim_lock) + 1);
}

/*
 * A ring size for chunks of chunk bytes: every possible CPU's four
 * interrupt levels' chunks take at most a quarter of it (the module's cap
 * would shrink the chunk otherwise).
 */
static inline u64 kt_chunked_size(u32 chunk)
{
	return max_t(u64, roundup_pow_of_two(16ULL * chunk * num_possible_cpus()),
		     65536);
}

/*
 * Parameters of a chunked ring for the farms (chunks of chunk bytes). The
 * low class's watermark is a quarter of the ring, the others 0: chunks
 * open while the ring, one chunk more, stays within the other three
 * quarters. With the default watermarks (half the ring) a backlog on a
 * slow kernel sends every record alone; with none, an opening never
 * reclaims (its limit would be the critical records' own), which takes
 * one of a chunked ring's head reads out of the test.
 */
static inline void kt_chunked_params(struct mpmcring_params *p, u32 chunk)
{
	*p = (struct mpmcring_params){
		.size = kt_chunked_size(chunk),
		.chunk_bytes = chunk,
		.flags = MPMCRING_CREATE_WATERMARKS,
	};
	p->watermark[MPMCRING_PRIO_LOW] = p->size / 4;
}

/*
 * Creates a ring named for the test; fails the test if it cannot. Claims
 * are leases only where the test asks for a timeout: elsewhere a consumer
 * kthread the (sanitizer, emulated) machine leaves unscheduled for seconds
 * must not lose its claim and break an exact count.
 */
static inline struct mpmcring *kt_ring(struct kunit *test,
				       struct mpmcring_params *p)
{
	struct mpmcring *ring;

	if (!p->name)
		p->name = "kunit";
	if (!p->claim_timeout_ms)
		p->flags |= MPMCRING_CREATE_NO_LEASE;
	ring = mpmcring_create(p);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(ring), "create: %ld", PTR_ERR(ring));
	return ring;
}

/* Produces one self-checking record; returns the reserve result. */
static inline int kt_produce(struct mpmcring *ring, u32 len, u32 prio,
			     u16 producer, u8 ctx, u64 seq)
{
	struct mpmcring_rsv rsv;
	int err = mpmcring_reserve(ring, len, MPMCRING_F_PRIO(prio), &rsv);

	if (err)
		return err;
	mpr_testrec_fill(rsv.data, len, producer, ctx, prio, seq);
	mpmcring_commit(&rsv);
	return 0;
}

/* The same record through mpmcring_output(), built on the stack first. */
static inline int kt_output(struct mpmcring *ring, u32 len, u32 prio,
			    u16 producer, u8 ctx, u64 seq)
{
	char buf[256];

	if (WARN_ON_ONCE(len > sizeof(buf)))
		return -E2BIG;
	mpr_testrec_fill(buf, len, producer, ctx, prio, seq);
	return mpmcring_output(ring, buf, len, MPMCRING_F_PRIO(prio));
}

/*
 * Reserves like mpmcring_reserve() but writes no header: the ring is frozen
 * in the moment after the position cmpxchg and before the header store,
 * with whatever bytes an earlier lap left there. Finish with
 * kt_publish_raw() in the same context; nothing in between may sleep.
 */
static inline int kt_reserve_raw(struct mpmcring *ring, u32 len, u64 *pos)
{
	struct mpr_env env = { .ring = ring };

	preempt_disable();
	/* No watermark: the whole ring. */
	if (mpr_reserve(&ring->view, &env, mpr_rec_size(&ring->view, len),
			ring->view.data_size, pos)) {
		preempt_enable();
		return -ENOSPC;
	}
	return 0;
}

static inline void kt_publish_raw(struct mpmcring *ring, u64 pos, u32 len,
				  const void *payload)
{
	mpr_write_hdr(&ring->view, pos, len, MPMCRING_PRIO_CRITICAL, 0);
	memcpy(mpr_payload(&ring->view, pos), payload, len);
	mpr_publish(&ring->view, pos, MPMCRING_STAMP_COMMITTED);
	preempt_enable();
}

/* Consumes and throws away everything until the head reaches prod_pos. */
static inline void kt_drain(struct mpmcring *ring)
{
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	struct mpr_claim cl;
	struct kc c;
	int i;

	if (kc_attach(&c, ring))
		return;
	for (i = 0; i < 100000; i++) {
		if (READ_ONCE(v->cons->head) == READ_ONCE(v->meta->prod_pos))
			break;
		if (kc_claim(&c, 64, &cl) > 0)
			kc_commit(&c);
		else
			mpmcring_reclaim(ring);	/* repairs a head that is wrong */
	}
	kc_detach(&c);
}

/*
 * A sleeper: a wait queue entry on the ring's readers' queue that stays
 * queued and counts its wakeups, as edge-triggered epoll's and io_uring's
 * multishot poll's do (wake.c, chunk.c).
 */
struct kt_sleeper {
	struct wait_queue_entry entry;
	struct mpmcring *ring;
	u32 class;
	atomic_t wakes;
};

static inline int kt_sleeper_fn(struct wait_queue_entry *e, unsigned int mode,
				int sync, void *key)
{
	struct kt_sleeper *s = container_of(e, struct kt_sleeper, entry);

	atomic_inc(&s->wakes);
	return 0;
}

static inline void kt_sleep(struct kt_sleeper *s, struct mpmcring *ring, u32 class)
{
	s->ring = ring;
	s->class = class;
	atomic_set(&s->wakes, 0);
	mpmcring_wake_class_get(ring, class);
	init_waitqueue_func_entry(&s->entry, kt_sleeper_fn);
	add_wait_queue(&ring->wq, &s->entry);
}

static inline void kt_wake_up(struct kt_sleeper *s)
{
	remove_wait_queue(&s->ring->wq, &s->entry);
	mpmcring_wake_class_put(s->ring, s->class);
}

/*
 * Wakeups delivered so far, once queued irq_work has run. irq_work_sync()
 * may sleep, and a case that holds a reservation open has preemption off:
 * then wait for the (self-IPI) irq_work by spinning, boundedly.
 */
static inline int kt_wakes(struct kt_sleeper *s)
{
	long spins = 100000000;

	if (preemptible())
		irq_work_sync(&s->ring->wake_work);
	else
		while (irq_work_is_busy(&s->ring->wake_work) && --spins)
			cpu_relax();
	return atomic_read(&s->wakes);
}

#endif /* MPMCRING_KUNIT_UTIL_H */
