/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The module's producer environment for the protocol code (see
 * proto/mpmcring_produce.h for what each function must do). Included by
 * the files that reserve and reclaim; everything here may run in NMI.
 */
#ifndef _MPMCRING_ENV_H
#define _MPMCRING_ENV_H

#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/bitmap.h>
#include <linux/lockdep.h>

#include "internal.h"

struct mpr_env {
	struct mpmcring *ring;
};

/*
 * The reclaim bit, bit 0 of a word that counts: taking it and letting it
 * go each add one, so the word also says how many reclaims began
 * (mpmcring_reclaim_after() waits on that). Whoever takes it has
 * preemption off (producers by reservation, everyone else by
 * mpmcring_reclaim()), so it is never held by a task the scheduler put
 * aside: a producer that finds it taken loses at most the time one
 * bounded reclaim takes.
 */
static inline bool mpr_env_trylock(struct mpr_env *e)
{
	unsigned long *word = &e->ring->reclaim_lock;
	unsigned long v = READ_ONCE(*word);
	int tries;

	lockdep_assert_preemption_disabled();
	/*
	 * [W9] pairs with [W8] in mpmcring_reclaim_after(): a fully ordered
	 * compare-and-swap (not only acquire), so the slots this reclaim
	 * loads are loaded after any look at the word that missed it. A
	 * lost compare-and-swap with the bit free means another reclaim
	 * began and ended meanwhile: again, a few times, as a test-and-set
	 * would have won.
	 */
	for (tries = 0; tries < 4 && !(v & 1); tries++)
		if (try_cmpxchg(word, &v, v + 1))
			return true;
	return false;
}

static inline void mpr_env_unlock(struct mpr_env *e)
{
	unsigned long *word = &e->ring->reclaim_lock;

	/*
	 * Only the holder writes the word. Release, paired with the
	 * load-acquire in mpmcring_reclaim_after(): the reclaim's stores
	 * (reclaim_pos) before the count that says it ended.
	 */
	smp_store_release(word, READ_ONCE(*word) + 1);
}

/*
 * A reclaim can only find more space when a consumer moved the head or
 * committed, or when the last one stopped at its walk bound. The head is
 * cheap to look at; commits (plain stores in the slots) are not, so when
 * the head has not moved a producer reclaims again only after
 * MPMCRING_RECLAIM_GAP_NS. A flood of refused records is then not a flood
 * of reclaims, and a commit frees its space within microseconds.
 */
static inline bool mpr_env_reclaim_due(struct mpr_env *e, __u64 head)
{
	struct mpmcring *ring = e->ring;

	return READ_ONCE(ring->reclaim_more) ||
	       head != READ_ONCE(ring->reclaim_head) ||
	       ktime_get_mono_fast_ns() - READ_ONCE(ring->reclaim_ns) >=
	       MPMCRING_RECLAIM_GAP_NS;
}

static inline void mpr_env_reclaimed(struct mpr_env *e, __u64 head, bool more)
{
	WRITE_ONCE(e->ring->reclaim_head, head);
	/* NMI-safe clock: reclaims run in any context. */
	WRITE_ONCE(e->ring->reclaim_ns, ktime_get_mono_fast_ns());
	WRITE_ONCE(e->ring->reclaim_more, more);
}

/* A reservation (or admit) refused for room at r: mpmcring_refused_at(). */
static inline void mpr_env_refused(struct mpr_env *e, __u64 r)
{
	mpmcring_refused_at(e->ring, r);
}

static inline bool mpr_env_refused_at(struct mpr_env *e, __u64 r)
{
	return READ_ONCE(e->ring->refused_reclaim) == r;
}

static inline unsigned int mpr_env_next_slot(struct mpr_env *e, unsigned int i)
{
	return mpmcring_next_slot(e->ring, i);
}

static inline __u64 *mpr_env_kernel_claim(struct mpr_env *e, unsigned int i)
{
	return test_bit(i, e->ring->read_slots) ? &e->ring->read_claims[i] :
						   NULL;
}

/*
 * Under the reclaim bit, the one writer of leases: a slot a new consumer
 * took since the last reclaim starts a new lease here, not at attach, so
 * that attach never waits for the bit.
 */
static inline struct mpr_lease *mpr_env_lease(struct mpr_env *e,
					      unsigned int i)
{
	struct mpr_lease *ls = &e->ring->leases[i];

	/* [M:lease-reset] Pairs with the barrier before set_bit(slots_used)
	 * at attach.
	 */
	smp_rmb();
	if (test_bit(i, e->ring->lease_fresh) &&
	    test_and_clear_bit(i, e->ring->lease_fresh)) {
		ls->seen = MPMCRING_SLOT_IDLE;
		ls->head = MPMCRING_SLOT_IDLE;
	}
	return ls;
}

/* Under the reclaim bit, the one writer of the floor lease. */
static inline struct mpr_floor *mpr_env_floor(struct mpr_env *e)
{
	return &e->ring->floor;
}

static inline __u64 mpr_env_now_ms(struct mpr_env *e)
{
	return jiffies64_to_msecs(get_jiffies_64());
}

static inline void mpr_env_revoked(struct mpr_env *e, unsigned int i,
				   __u64 records)
{
	atomic64_inc(&e->ring->revoked_claims);
	atomic64_add(records, &e->ring->revoked_records);
}

static inline void mpr_env_overwritten(struct mpr_env *e, u64 records,
				       u64 bytes)
{
	mpmcring_count(e->ring, overwritten_records, records);
	mpmcring_count(e->ring, overwritten_bytes, bytes);
}

/* A repaired head can make records ready: the tick wakes sleepers. */
static inline void mpr_env_repaired(struct mpr_env *e)
{
	mpmcring_count(e->ring, head_repairs, 1);
	WRITE_ONCE(e->ring->wake_missed, 1);
}

static inline void mpr_env_racing(struct mpr_env *e)
{
}

/* A reservation closed its CPU's chunk: the filler is a finished record. */
static inline void mpr_env_chunk_closed(struct mpr_env *e, u64 pos, u64 bytes)
{
	mpmcring_filler_closed(e->ring, pos, bytes);
}

#include "mpmcring_chunk.h"

#endif /* _MPMCRING_ENV_H */
