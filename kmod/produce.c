// SPDX-License-Identifier: GPL-2.0-only
/*
 * Producers: reserve, write in place, commit. Safe in every context (task,
 * softirq, hardirq, NMI): no locks, no sleeping, a bounded number of
 * compare-and-swaps. The protocol steps are in proto/mpmcring_proto.h; this
 * file adds the per-context bookkeeping, the counters and the wakeups.
 *
 * Each (CPU, interrupt level) pair has one in-flight entry. Preemption stays
 * disabled from a context's first outstanding reservation to its last commit
 * so that no other task can share the entry; interrupts nest on their own
 * levels' entries. A reservation must therefore be committed or discarded in
 * the context that made it, without sleeping in between.
 */
#include <linux/string.h>
#include <linux/irq_work.h>
#include <kunit/visibility.h>

#include "internal.h"

static u64 mpmcring_watermark(struct mpmcring *ring, u32 prio)
{
	/* Overwrite mode makes room by eviction, not by holding space back. */
	if (ring->layout.mode == MPMCRING_MODE_OVERWRITE)
		return 0;
	return ring->layout.watermark[prio];
}

/**
 * mpmcring_reclaim() - bring reclaim_pos up to date now
 * @ring: the ring
 *
 * Producers do this lazily when the ring looks full; statistics and a
 * consumer that met a corrupt head do it on demand. Never waits: when
 * another reclaim runs, that one does the work.
 */
void mpmcring_reclaim(struct mpmcring *ring)
{
	struct mpr_env env = { .ring = ring };

	if (mpr_env_trylock(&env)) {
		mpr_reclaim(&ring->view, &env);
		mpr_env_unlock(&env);
	}
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_reclaim);

static void mpmcring_count_drop(struct mpmcring *ring, int reason, u32 prio,
				unsigned int n)
{
	this_cpu_add(ring->stats->dropped[reason][prio], n);
	mpr_atomic_add(&ring->view.meta->lost_dropped, n);
}

/*
 * Reserves n records of the given payload lengths with one compare-and-swap.
 * count_drops is false for a blocking writer that will retry: it waits, it
 * does not drop.
 */
int mpmcring_reserve_prio(struct mpmcring *ring, const u32 *lens,
			  unsigned int n, u32 prio, u8 rec_flags,
			  bool count_drops, struct mpmcring_rsv *rsv)
{
	struct mpr_view *v = &ring->view;
	struct mpr_env env = { .ring = ring };
	struct mpr_inflight *inf;
	u64 need = 0, pos;
	unsigned int i;
	bool first;
	int ret;

	if (!n || prio >= MPMCRING_NR_PRIO)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (lens[i] > v->max_record) {
			if (count_drops)
				mpmcring_count_drop(ring, MPMCRING_DROP_TOO_BIG,
						    prio, n);
			return -EMSGSIZE;
		}
		need += mpr_rec_size(v, lens[i]);
	}

	preempt_disable();
	inf = this_cpu_ptr(ring->inflight) + interrupt_context_level();
	first = !inf->depth;
	ret = mpr_reserve(v, &env, inf, need, mpmcring_watermark(ring, prio),
			  prio, &pos);
	if (ret) {
		preempt_enable();
		if (count_drops)
			mpmcring_count_drop(ring, ret == MPR_FAIL_FULL ?
					    MPMCRING_DROP_FULL :
					    ret == MPR_FAIL_PRIORITY ?
					    MPMCRING_DROP_PRIORITY :
					    MPMCRING_DROP_CONTENTION, prio, n);
		return ret == MPR_FAIL_CONTENTION ? -EAGAIN : -ENOSPC;
	}
	inf->depth += n - 1;	/* mpr_reserve() counted one */
	for (i = 0; i < n; i++) {
		mpr_write_hdr(v, pos, lens[i], prio, rec_flags);
		rsv[i].data = mpr_payload(v, pos);
		rsv[i].len = lens[i];
		rsv[i].ring = ring;
		rsv[i].pos = pos;
		rsv[i].inflight = inf;
		pos += mpr_rec_size(v, lens[i]);
	}
	/* The context's first reservation keeps preemption off until its
	 * last commit; nested ones do not add to it.
	 */
	if (!first)
		preempt_enable();
	return 0;
}

/**
 * mpmcring_reserve() - reserve space for one record
 * @ring: the ring
 * @len: payload bytes, at most the ring's max_record
 * @flags: MPMCRING_F_PRIO(class), class one of %MPMCRING_PRIO_LOW,
 *	%MPMCRING_PRIO_NORMAL, %MPMCRING_PRIO_CRITICAL
 * @rsv: filled on success; @rsv->data is where the @len payload bytes go
 *
 * Lock-free and never sleeps: callable in any context, NMI included. The
 * reservation must be finished with mpmcring_commit() or mpmcring_discard()
 * in the same context, without sleeping; preemption stays disabled until
 * then. A failed reservation is counted as a drop by reason and class.
 *
 * Return: 0; -EMSGSIZE when @len is too big; -ENOSPC when the ring is full
 * or the free space is under the class watermark; -EAGAIN when other
 * producers kept winning the race; -EINVAL for bad @flags.
 */
int mpmcring_reserve(struct mpmcring *ring, u32 len, u32 flags,
		     struct mpmcring_rsv *rsv)
{
	if (flags & ~MPMCRING_F_PRIO_MASK)
		return -EINVAL;
	return mpmcring_reserve_prio(ring, &len, 1, MPMCRING_F_PRIO(flags), 0,
				     true, rsv);
}
EXPORT_SYMBOL_GPL(mpmcring_reserve);

/**
 * mpmcring_reserve_batch() - reserve several records with one atomic step
 * @ring: the ring
 * @lens: payload bytes of each record
 * @n: number of records, at least 1
 * @flags: as for mpmcring_reserve(), applying to every record
 * @rsv: array of @n reservations, filled on success
 *
 * All or nothing: the records are consecutive in the ring and each must be
 * finished with mpmcring_commit() or mpmcring_discard(), in any order, in
 * the reserving context. A failure counts @n drops.
 *
 * Return: as mpmcring_reserve().
 */
int mpmcring_reserve_batch(struct mpmcring *ring, const u32 *lens,
			   unsigned int n, u32 flags, struct mpmcring_rsv *rsv)
{
	if (flags & ~MPMCRING_F_PRIO_MASK)
		return -EINVAL;
	return mpmcring_reserve_prio(ring, lens, n, MPMCRING_F_PRIO(flags), 0,
				     true, rsv);
}
EXPORT_SYMBOL_GPL(mpmcring_reserve_batch);

/* Wakes sleeping consumers if they asked for it and enough is there. */
static void mpmcring_maybe_wake(struct mpmcring *ring, u64 end)
{
	u64 head;

	/* [W1] pairs with [W2] in wait.c: the stamp before the arm. */
	smp_mb();
	if (!READ_ONCE(ring->wake_armed))
		return;
	/* user-writable: only compared; a wrong value costs one wakeup. */
	head = READ_ONCE(ring->view.cons->head);
	if (end - head < READ_ONCE(ring->wake_bytes))
		return;
	if (xchg(&ring->wake_armed, 0)) {
		this_cpu_inc(ring->stats->wakeups);
		irq_work_queue(&ring->wake_work);
	}
}

static void mpmcring_finish(struct mpmcring_rsv *rsv, u64 state)
{
	struct mpmcring *ring = rsv->ring;
	struct mpr_inflight *inf = rsv->inflight;

	WARN_ON_ONCE(inf != this_cpu_ptr(ring->inflight) +
		     interrupt_context_level());
	mpr_publish(&ring->view, inf, rsv->pos, state);
	if (state == MPMCRING_STAMP_COMMITTED) {
		this_cpu_inc(ring->stats->produced_records);
		this_cpu_add(ring->stats->produced_bytes, rsv->len);
	} else {
		this_cpu_inc(ring->stats->discarded_records);
	}
	/* A discard can uncover finished records behind it: check too. */
	mpmcring_maybe_wake(ring, rsv->pos + mpr_rec_size(&ring->view, rsv->len));
	if (!inf->depth)
		preempt_enable();
}

/**
 * mpmcring_commit() - publish a reserved record
 * @rsv: the reservation from mpmcring_reserve() or mpmcring_reserve_batch()
 *
 * Makes the record visible to consumers (a release store) and wakes
 * sleeping consumers through irq_work when they asked for it. Call in the
 * context that reserved.
 */
void mpmcring_commit(struct mpmcring_rsv *rsv)
{
	mpmcring_finish(rsv, MPMCRING_STAMP_COMMITTED);
}
EXPORT_SYMBOL_GPL(mpmcring_commit);

/**
 * mpmcring_discard() - give a reservation up
 * @rsv: the reservation
 *
 * The space is skipped by consumers and freed with its neighbours; the
 * record counts as discarded, not as produced. Call in the context that
 * reserved.
 */
void mpmcring_discard(struct mpmcring_rsv *rsv)
{
	mpmcring_finish(rsv, MPMCRING_STAMP_DISCARDED);
}
EXPORT_SYMBOL_GPL(mpmcring_discard);

/**
 * mpmcring_output() - copy one record into the ring
 * @ring: the ring
 * @data: payload
 * @len: payload bytes
 * @flags: as for mpmcring_reserve()
 *
 * Reserve, copy and commit in one call; any context.
 *
 * Return: as mpmcring_reserve().
 */
int mpmcring_output(struct mpmcring *ring, const void *data, u32 len,
		    u32 flags)
{
	struct mpmcring_rsv rsv;
	int err;

	err = mpmcring_reserve(ring, len, flags, &rsv);
	if (err)
		return err;
	memcpy(rsv.data, data, len);
	mpmcring_commit(&rsv);
	return 0;
}
EXPORT_SYMBOL_GPL(mpmcring_output);
