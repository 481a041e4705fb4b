/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The producer half of the mpmcring protocol (see mpmcring_proto.h for the
 * barrier pairs and the trust rules): reservation, publication, reclaim of
 * space and eviction in overwrite mode.
 *
 * The side that includes this defines struct mpr_env and these functions of
 * it first:
 *   unsigned int mpr_env_ninflight(struct mpr_env *e);
 *   struct mpr_inflight *mpr_env_inflight(struct mpr_env *e, unsigned int i);
 *       (NULL for an index with no entry)
 *   bool mpr_env_slot_active(struct mpr_env *e, unsigned int i);
 *   bool mpr_env_trylock(struct mpr_env *e);   (never waits)
 *   void mpr_env_unlock(struct mpr_env *e);
 *   void mpr_env_overwritten(struct mpr_env *e, __u64 records, __u64 bytes);
 *   void mpr_env_repaired(struct mpr_env *e);
 */
#ifndef MPMCRING_PRODUCE_H
#define MPMCRING_PRODUCE_H

#include "mpmcring_proto.h"

/*
 * Sets up the shared memory of a new ring, not yet visible to anyone: the
 * layout's mirror in the meta page, the three positions, every slot idle.
 * The stamps start zeroed: zero is no position's stamp.
 */
static inline void mpr_ring_init(const struct mpr_view *v,
				 const struct mpmcring_layout *l,
				 __u64 initial_pos)
{
	unsigned int i;

	v->meta->layout = *l;
	v->meta->prod_pos = initial_pos;
	v->meta->reclaim_pos = initial_pos;
	v->cons->head = initial_pos;
	for (i = 0; i < l->max_consumers; i++)
		v->cons->slots[i].start = MPMCRING_SLOT_IDLE;
}

/*
 * Recomputes reclaim_pos, the position before which nothing is in use: the
 * oldest of the head, every held consumer slot and every in-flight
 * reservation. Repairs a head that cannot be a record boundary. Called with
 * the env lock held (only one reclaimer runs at a time).
 */
static inline void mpr_reclaim(const struct mpr_view *v, struct mpr_env *env)
{
	struct mpmcring_meta *m = v->meta;
	struct mpmcring_cons_area *cons = v->cons;
	struct mpr_pos pos;
	__u64 r0, p, h, lo, s, e;
	bool head_in_flight = false, head_ok;
	unsigned int i, n = mpr_env_ninflight(env);
	struct mpr_rec rec;

	/*
	 * Head before prod_pos: a consumer may claim past any prod_pos read
	 * before its head, and such a head is no sign of corruption. The
	 * prod_pos load comes before the in-flight scan ([R1] with [P1]); the
	 * head load before the slots ([R3] with [C2]). reclaim_pos is written
	 * only here, under the env lock.
	 */
	mpr_positions(v, &pos);
	r0 = pos.reclaim;
	h = pos.head;		/* user-writable: checked below */
	p = pos.prod;
	lo = p;

	for (i = 0; i < n; i++) {
		struct mpr_inflight *inf = mpr_env_inflight(env, i);

		if (!inf)
			continue;
		/* [R2] pairs with [P3]: an idle entry means stamped. */
		s = MPR_LOAD_ACQUIRE(&inf->start);
		if (s & MPR_INFLIGHT_IDLE)
			continue;
		e = MPR_READ_ONCE(inf->end);
		/* A failed announce can leave s past p: never past p. */
		if (mpr_between(r0, s, p) && mpr_before(s, lo))
			lo = s;
		if (h - s < e - s)
			head_in_flight = true;
	}

	/*
	 * A legitimate head is a record boundary in [reclaim, prod]: the
	 * start of a finished record, the start of one in flight, or prod.
	 */
	head_ok = mpr_aligned(v, h) && mpr_between(r0, h, p);
	if (head_ok && h != p && !head_in_flight &&
	    mpr_record_at(v, h, p, &rec) == MPR_REC_NONE)
		head_ok = false;
	if (!head_ok) {
		/* Skip to prod_pos, the one boundary known for sure. */
		if (mpr_cmpxchg(&cons->head, h, p) == h)
			mpr_env_repaired(env);
	} else if (mpr_before(h, lo)) {
		lo = h;
	}

	for (i = 0; i < v->max_consumers; i++) {
		if (!mpr_env_slot_active(env, i))
			continue;
		/* [R4] pairs with [C3]. user-writable: clamped to [r0, p]. */
		s = MPR_LOAD_ACQUIRE(&cons->slots[i].start);
		if ((s & MPMCRING_SLOT_IDLE) || !mpr_aligned(v, s) ||
		    !mpr_between(r0, s, p))
			continue;	/* idle, or no position a claim can hold */
		if (mpr_before(s, lo))
			lo = s;
	}

	if (lo != r0)
		/* [R5] pairs with [P4]. */
		MPR_STORE_RELEASE(&m->reclaim_pos, lo);
}

/*
 * Overwrite mode: evicts the oldest unclaimed finished records, moving the
 * head over them, until the head reaches want. Stops at a record being
 * written, at a record of a higher class than prio, and after
 * MPR_OVERWRITE_WALK records. Called with the env lock held.
 */
static inline void mpr_overwrite(const struct mpr_view *v, struct mpr_env *env,
				 __u64 want, __u8 prio)
{
	struct mpmcring_meta *m = v->meta;
	struct mpr_pos pos;
	__u64 h, p, e, records = 0, bytes = 0;
	unsigned int walked = 0;
	struct mpr_rec rec;

	mpr_positions(v, &pos);
	/* user-writable: the head is used only once it is sane. */
	if (!mpr_head_sane(v, &pos))
		return;
	h = pos.head;
	p = pos.prod;
	e = h;
	while (mpr_before(e, want) && e != p && walked++ < MPR_OVERWRITE_WALK) {
		int st = mpr_record_at(v, e, p, &rec);

		if (st != MPR_REC_COMMITTED && st != MPR_REC_DISCARDED)
			break;
		if (st == MPR_REC_COMMITTED) {
			if (rec.prio > prio)
				break;
			records++;
			bytes += rec.len;
		}
		e += rec.size;
	}
	/* Losing to a consumer's claim is fine: the space frees either way. */
	if (e != h && mpr_cmpxchg(&v->cons->head, h, e) == h && records) {
		mpr_atomic_add(&m->lost_overwritten, records);
		mpr_env_overwritten(env, records, bytes);
	}
}

/*
 * Reserves need bytes of ring space, leaving at least wm bytes free, and
 * records it as in flight for this context. Returns 0 and the position, or
 * MPR_FAIL_*. Never waits: at most MPR_RESERVE_TRIES compare-and-swaps and
 * two rounds of reclaim.
 */
static inline int mpr_reserve(const struct mpr_view *v, struct mpr_env *env,
			      struct mpr_inflight *inf, __u64 need, __u64 wm,
			      __u8 prio, __u64 *pos)
{
	struct mpmcring_meta *m = v->meta;
	__u64 limit = v->data_size - wm;	/* in use after this, at most */
	int tries, rounds = 0;

	for (tries = 0; tries < MPR_RESERVE_TRIES; tries++) {
		/* [P4] pairs with [R5]; read before p so that r <= p. */
		__u64 r = MPR_LOAD_ACQUIRE(&m->reclaim_pos);
		__u64 p = MPR_READ_ONCE(m->prod_pos);

		if (p + need - r > limit) {
			if (rounds++ == 2) {
				if (!inf->depth)
					MPR_WRITE_ONCE(inf->start, MPR_INFLIGHT_IDLE);
				return p + need - r > v->data_size ?
					MPR_FAIL_FULL : MPR_FAIL_PRIORITY;
			}
			if (mpr_env_trylock(env)) {
				if (v->mode == MPMCRING_MODE_OVERWRITE)
					mpr_overwrite(v, env, p + need - limit, prio);
				mpr_reclaim(v, env);
				mpr_env_unlock(env);
			}
			tries--;	/* a reclaim round is not a lost race */
			continue;
		}

		MPR_WRITE_ONCE(inf->end, p + need);
		if (!inf->depth)
			/* Pairs with [R2]: whoever sees start sees end. */
			MPR_STORE_RELEASE(&inf->start, p);
		/* [P1] pairs with [R1]: fully ordered, the announce is first. */
		if (mpr_cmpxchg(&m->prod_pos, p, p + need) == p) {
			inf->depth++;
			*pos = p;
			return 0;
		}
	}
	if (!inf->depth)
		MPR_WRITE_ONCE(inf->start, MPR_INFLIGHT_IDLE);
	return MPR_FAIL_CONTENTION;
}

/* Writes the header of a record at pos (before its payload). */
static inline void mpr_write_hdr(const struct mpr_view *v, __u64 pos,
				 __u32 len, __u8 prio, __u8 flags)
{
	struct mpmcring_rec_hdr *hdr = mpr_hdr(v, pos);

	/* Marked: racing walkers may read it speculatively. */
	MPR_WRITE_ONCE(hdr->len, len);
	MPR_WRITE_ONCE(hdr->prio, prio);
	MPR_WRITE_ONCE(hdr->flags, flags);
	MPR_WRITE_ONCE(hdr->reserved, 0);
}

/*
 * Finishes the record at pos: stamps it committed or discarded, then ends
 * its in-flight entry. Must run in the context that reserved it.
 */
static inline void mpr_publish(const struct mpr_view *v,
			       struct mpr_inflight *inf, __u64 pos,
			       __u64 state)
{
	/* [P2] pairs with [C1]: header and payload are visible first. */
	MPR_STORE_RELEASE(mpr_stamp(v, pos), pos | state);
	if (--inf->depth == 0)
		/* [P3] pairs with [R2]: the stamp is visible first. */
		MPR_STORE_RELEASE(&inf->start, MPR_INFLIGHT_IDLE);
}

#endif /* MPMCRING_PRODUCE_H */
