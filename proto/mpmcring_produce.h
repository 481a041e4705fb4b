/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The producer half of the mpmcring protocol (see mpmcring_proto.h for the
 * barrier pairs and the trust rules): reservation, publication, reclaim of
 * space, leases on consumer claims, and eviction in overwrite mode.
 *
 * The side that includes this defines struct mpr_env and these functions of
 * it first:
 *   bool mpr_env_trylock(struct mpr_env *e);   (never waits; the module's
 *       is a fully ordered compare-and-swap, which its waiters rely on:
 *       kmod/env.h, [W9])
 *   void mpr_env_unlock(struct mpr_env *e);
 *   bool mpr_env_reclaim_due(struct mpr_env *e, __u64 head);
 *       (false: a reclaim now would find what the last one found)
 *   void mpr_env_reclaimed(struct mpr_env *e, __u64 head, bool more);
 *       (a reclaim saw this head; more: it stopped at its walk bound)
 *   unsigned int mpr_env_next_slot(struct mpr_env *e, unsigned int i);
 *       (the first attached slot index >= i; >= max_consumers when none)
 *   __u64 *mpr_env_kernel_claim(struct mpr_env *e, unsigned int i);
 *       (where slot i keeps its claim when that is kernel memory, else NULL)
 *   struct mpr_lease *mpr_env_lease(struct mpr_env *e, unsigned int i);
 *       (slot i's lease, reset first when a new consumer took the slot)
 *   struct mpr_floor *mpr_env_floor(struct mpr_env *e);
 *       (the ring's floor lease)
 *   __u64 mpr_env_now_ms(struct mpr_env *e);
 *   void mpr_env_revoked(struct mpr_env *e, unsigned int i, __u64 records);
 *   void mpr_env_overwritten(struct mpr_env *e, __u64 records, __u64 bytes);
 *   void mpr_env_repaired(struct mpr_env *e);
 *   void mpr_env_racing(struct mpr_env *e);
 *       (between reading prod_pos and the cmpxchg: nothing in the module;
 *       the host tests may yield there to make races happen)
 * Everything mpr_reclaim() and mpr_overwrite() touch in the env happens
 * under the env lock, so one reclaimer runs at a time.
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
	for (i = 0; i < l->max_consumers; i++) {
		v->cons->slots[i].start = MPMCRING_SLOT_IDLE;
		v->slot_info[i].revoked = MPMCRING_SLOT_IDLE;
	}
}

/*
 * How many records a consumer says it held, capped by the granules its
 * claimed span, from its start s to bound (the head), can hold.
 */
static inline __u64 mpr_held_capped(const struct mpr_view *v, __u64 held,
				    __u64 s, __u64 bound)
{
	/* user-writable: a count only; nothing past the head was claimed. */
	if (!mpr_before(s, bound))
		return 0;
	return held < (bound - s) >> v->gshift ? held : (bound - s) >> v->gshift;
}

/*
 * The floor lease's step at a reclaim (struct mpr_floor): top follows the
 * head as reclaim goes by it (bound: a sane head, else prod_pos, where the
 * repair sends it), and a new lease starts once reclaim has reached the
 * mark. Returns the position before which claims are revoked and a head is
 * moved on: the mark when the lease has run for the claim timeout without
 * reclaim reaching it, else r0, before which no start or head clamped to
 * [r0, p] lies (p - r0 is at most the ring's size: both are the kernel's).
 * Every record before the mark had been passed by the head when the lease
 * started: claimed, or skipped by a co-tenant that moved the head on
 * (which makes others miss records, all moving the head can do); so a
 * claim that still holds one, announced before its head cmpxchg, is at
 * least a timeout old, whichever slot holds it and however its start
 * moved. And an honest head only moves on: one behind the mark was written
 * back.
 */
static inline __u64 mpr_floor_lease(const struct mpr_view *v,
				    struct mpr_env *env, __u64 r0, __u64 bound,
				    __u64 now)
{
	struct mpr_floor *fl = mpr_env_floor(env);

	/*
	 * [M:floor-lease] top is never behind reclaim_pos (everything before
	 * it is freed), so mark and top stay in [reclaim_pos, prod_pos].
	 */
	if (fl->top == MPMCRING_SLOT_IDLE || mpr_before(fl->top, r0))
		fl->top = r0;
	if (mpr_before(fl->top, bound))
		fl->top = bound;
	if (fl->mark == MPMCRING_SLOT_IDLE || !mpr_before(r0, fl->mark)) {
		fl->mark = fl->top;
		fl->since_ms = now;
	}
	if (v->claim_timeout_ms && now - fl->since_ms >= v->claim_timeout_ms)
		return fl->mark;
	return r0;
}

/* The claims mpr_floor_head() follows, at most: bounded work. */
#define MPR_FLOOR_HEAD_TRIES 4

/*
 * A head behind the mark of a floor lease that ran out
 * (mpr_floor_lease()'s position) was written back (an honest head only
 * moves on): moves it to the mark, where the head was when the lease
 * began, before reclaim goes by it, so that a head written back before
 * every reclaim holds nothing, and consumers stop taking again what was
 * taken. Forward only, a few tries: a consumer's claim that moves the head
 * meanwhile is followed while it stays behind the mark. Returns the head
 * as it now stands, which reclaim goes by: freeing past a head left behind
 * would leave it behind reclaim_pos, garbage, and its repair would skip
 * what no one has read.
 */
static inline __u64 mpr_floor_head(const struct mpr_view *v,
				   struct mpr_env *env, __u64 r0, __u64 h,
				   __u64 mark)
{
	unsigned int tries;
	__u64 seen;

	/* [M:floor-head] */
	for (tries = 0; tries < MPR_FLOOR_HEAD_TRIES; tries++) {
		seen = mpr_cmpxchg(&v->cons->head, h, mark);
		if (seen == h) {
			mpr_env_repaired(env);
			return mark;
		}
		/* user-writable: followed only while sane and behind the mark. */
		if ((seen & v->gmask) || !mpr_between(r0, seen, mark) ||
		    seen == mark)
			return seen;
		h = seen;
	}
	return h;
}

/*
 * Lowers lo to the oldest claim a consumer still holds. A claim that stood
 * still for longer than the ring's claim timeout while it holds producers
 * back (more than half the ring lies behind it, or a producer was refused
 * for room while reclaim_pos stood at r0: a class's records stop at its
 * limit, which may be half the ring or less) is revoked
 * here, and so is one that starts before below (the mark of a floor
 * lease that ran out, else r0: mpr_floor_lease()) under the same pressure:
 * MPMCRING_SLOT_REVOKED goes into its start with one compare-and-swap,
 * before the caller frees any of its space, and from then on it holds
 * nothing. bound is where the claims end at most (the head, or prod_pos
 * when the head is garbage).
 *
 * read(2)'s claims, kept in kernel memory, are leased the same way: the
 * task holding one can be preempted or throttled for any time.
 *
 * What a revoked claim held is counted from the consumer's own count at
 * that moment (one record for read(2)); a consumer stopped half way
 * through a claim (announced, its compare-and-swap on the head still to
 * come and bound to fail) counts as a revoked claim of nothing, and never
 * hears of it: it held nothing.
 */
static inline __u64 mpr_claims_floor(const struct mpr_view *v,
				     struct mpr_env *env, __u64 r0, __u64 p,
				     __u64 bound, __u64 lo, __u64 now,
				     __u64 below)
{
	__u64 s, seen;
	__u32 timeout = v->claim_timeout_ms;
	unsigned int i;

	/* [M:claims-floor] */
	for (i = mpr_env_next_slot(env, 0); i < v->max_consumers;
	     i = mpr_env_next_slot(env, i + 1)) {
		__u64 *start = mpr_env_kernel_claim(env, i);
		struct mpr_lease *ls;
		__u64 held = 1;

		if (!start) {
			start = &v->cons->slots[i].start;
			/* user-writable: a count only, capped below. */
			held = MPR_READ_ONCE(v->cons->slots[i].held_records);
		}
		ls = mpr_env_lease(env, i);
		/*
		 * [M:floor-slot] [R4] pairs with [C3]. user-writable (a mapped
		 * slot): clamped to [r0, p].
		 */
		s = MPR_LOAD_ACQUIRE(start);
		if ((s & (MPMCRING_SLOT_IDLE | MPMCRING_SLOT_REVOKED)) ||
		    !mpr_aligned(v, s) || !mpr_between(r0, s, p)) {
			ls->seen = MPMCRING_SLOT_IDLE;	/* holds nothing */
			continue;
		}
		if (s != ls->seen) {
			/* [M:lease-since] A new claim only when not behind the
			 * last head.
			 */
			if (ls->head == MPMCRING_SLOT_IDLE ||
			    !mpr_before(s, ls->head))
				ls->since_ms = now;
			ls->seen = s;
			ls->head = bound;
		}
		/*
		 * [M:lease-expired] Revoked only with something claimed (a
		 * start at the head holds nothing yet, and a claim still to
		 * come from it would then hold records reclaim no longer
		 * protects).
		 */
		if (timeout &&
		    (p - s > v->data_size / 2 || mpr_env_refused_at(env, r0)) &&
		    mpr_before(s, bound) &&
		    (now - ls->since_ms >= timeout ||
		     mpr_before(s, below))) {
			/* [M:lease-revoke] [R6] pairs with [C4]: before [R5]
			 * frees the space.
			 */
			seen = mpr_cmpxchg(start, s, s | MPMCRING_SLOT_REVOKED);
			if (seen == s) {
				MPR_WRITE_ONCE(v->slot_info[i].revoked, s);
				MPR_WRITE_ONCE(v->slot_info[i].revocations,
					       v->slot_info[i].revocations + 1);
				/* [M:revoke-count] */
				mpr_env_revoked(env, i,
						mpr_held_capped(v, held, s, bound));
				ls->seen = MPMCRING_SLOT_IDLE;
				continue;	/* revoked: holds nothing now */
			}
			/* [M:revoke-lost] The consumer moved first: honour what it
			 * holds now.
			 */
			s = seen;
			if ((s & (MPMCRING_SLOT_IDLE | MPMCRING_SLOT_REVOKED)) ||
			    !mpr_aligned(v, s) || !mpr_between(r0, s, p))
				continue;
		}
		if (mpr_before(s, lo))
			lo = s;
	}
	return lo;
}

/*
 * The walk of mpr_reclaim(): over finished records from r0 towards to, at
 * most MPR_RECLAIM_WALK of them. Returns where it stopped; *freed is the
 * end of the last record that ends at or before lo, *walked how many it
 * passed, and *stop the state of the record it stopped at, and for
 * MPR_REC_BAD (stamped but not fitting before to) its len and size. Its
 * own function: the loop's values then stay in registers.
 *
 * Two legs of the same loop, so that no record pays for a comparison with
 * lo: the first walks what fits before lo (all of it freed), the second,
 * only when the bound lies past lo, walks on up to it without freeing. A
 * record that ends past lo stops the first leg as one that does not fit
 * (MPR_REC_BAD), and the second reads it again against the bound: the
 * walk decides every record as a single walk would, and stops where it
 * would.
 */
static MPR_OWN_FRAME __u64 mpr_reclaim_walk(const struct mpr_view *v,
					    __u64 r0, __u64 to, __u64 lo,
					    __u64 *freed, unsigned int *walked,
					    struct mpr_rec *stop)
{
	__u64 e = r0, f = r0, room = lo - r0;
	unsigned int left = MPR_RECLAIM_WALK;
	struct mpr_walker w;
	bool freeing = true;
	struct mpr_rec rec;

	mpr_walker_init(&w, v);
	/*
	 * [R2] pairs with [P2] (in mpr_walk_at()): a finished record's header
	 * is stable. Bounded by lo, then to, not prod_pos: a record that ends
	 * past to stops the walk as one that ends past prod_pos does.
	 * Needs r0 <= lo <= to (mpr_claims_floor() clamps lo to [r0, to]):
	 * lo past to would free past to. The model's step is one loop with lo
	 * compared per record (docs/model.md, Reductions); the marker covers
	 * this whole loop, legs and bound, so that a change to either turns
	 * check-markers.sh red. [M:reclaim-walk]
	 */
	for (;;) {	/* twice at most: freeing, then not */
		stop->state = MPR_REC_NONE;
		while (room) {	/* left > 0 here */
			int st = mpr_walk_at(&w, e, room, &rec);

			if (mpr_unlikely(st != MPR_REC_COMMITTED &&
					 st != MPR_REC_DISCARDED)) {
				stop->state = st;
				if (st == MPR_REC_BAD) {
					stop->len = rec.len;
					stop->size = rec.size;
				}
				break;
			}
			e += rec.size;
			if (!--left)
				break;	/* room is not looked at again */
			room -= rec.size;
		}
		if (!freeing)
			break;
		f = e;	/* every record so far ends at or before lo */
		freeing = false;
		/* On past lo only from lo itself or a record ending past it. */
		if (to == lo || !left || (room && stop->state != MPR_REC_BAD))
			break;
		room = to - e;
	}
	*freed = f;
	*walked = MPR_RECLAIM_WALK - left;
	return e;
}

/*
 * Moves reclaim_pos forward: over finished records only, walking their
 * stamps from reclaim_pos, and never past the head or a claim still held.
 * The walk is what makes reclaim safe whatever userspace wrote: a record
 * still being written has no matching stamp, so nothing at or after it is
 * freed. At most MPR_RECLAIM_WALK records per call. Repairs a head that
 * cannot be a record boundary. Called with the env lock held. True when
 * its freeing stopped at the walk bound short of the oldest claim (another
 * call would free more); a walk past that claim towards the head frees
 * nothing, so its bound is not "more".
 */
static inline bool mpr_reclaim(const struct mpr_view *v, struct mpr_env *env)
{
	struct mpmcring_meta *m = v->meta;
	struct mpr_pos pos;
	__u64 r0, h, p, bound, lo, e, to, freed, fix = 0;
	__u64 now = mpr_env_now_ms(env), below;
	unsigned int walked;
	struct mpr_rec rec;
	bool head_ok, more;

	/*
	 * The head before the claims ([R3] with [C2]): a claim that moved the
	 * head past what we saw was announced before it moved it.
	 * reclaim_pos is written only here, under the env lock.
	 */
	mpr_positions(v, &pos);
	r0 = pos.reclaim;
	h = pos.head;		/* user-writable: checked before use */
	p = pos.prod;
	head_ok = mpr_head_sane(v, &pos);
	below = mpr_floor_lease(v, env, r0, head_ok ? h : p, now);
	if (head_ok && mpr_before(h, below)) {
		/*
		 * [M:floor-bound] reclaim goes by the head as it now stands,
		 * and prod_pos loaded after it, as mpr_positions() does: a
		 * claim may have moved the head past the prod_pos loaded
		 * before, and a head judged against that one would be
		 * "repaired" backwards.
		 */
		pos.head = mpr_floor_head(v, env, r0, h, below);
		h = pos.head;
		pos.prod = MPR_LOAD_ACQUIRE(&m->prod_pos);
		p = pos.prod;
		head_ok = mpr_head_sane(v, &pos);
	}
	bound = head_ok ? h : p;
	lo = mpr_claims_floor(v, env, r0, p, bound, bound, now, below);

	/*
	 * Walk to lo, freeing; and on to the head when nothing yet proves it
	 * a record boundary (prod_pos, or a finished record starting there):
	 * a head inside a record is garbage. A head on an unfinished record
	 * is proved by reaching it. [M:reclaim-to-head]
	 */
	to = lo;
	if (head_ok && h != lo && h != p &&
	    mpr_record_at(v, h, p, &rec) == MPR_REC_NONE)
		to = h;
	e = mpr_reclaim_walk(v, r0, to, lo, &freed, &walked, &rec);
	/*
	 * No claim starts inside a record: a head there is garbage; the end
	 * of a record that fits before prod_pos is the next boundary.
	 * [M:reclaim-straddle]
	 */
	if (rec.state == MPR_REC_BAD && head_ok && to == h && e != to &&
	    rec.len <= v->max_record && rec.size <= p - e)
		fix = e + rec.size;
	if (freed != r0)
		/* [M:reclaim-store] [R5] pairs with [P4]. */
		MPR_STORE_RELEASE(&m->reclaim_pos, freed);
	/*
	 * More to free: the freeing leg itself stopped at the bound (e is
	 * freed), short of the oldest claim. A bound met on the way on to
	 * the head frees nothing, however often it is walked.
	 */
	more = walked == MPR_RECLAIM_WALK && e == freed && freed != lo;
	mpr_env_reclaimed(env, h, more);

	/*
	 * A head outside [reclaim, prod] or between granules goes to
	 * prod_pos, the one boundary known for sure. Losing the race to a
	 * claim is fine: the claim moved a sane head. [M:reclaim-repair]
	 */
	if (!head_ok)
		fix = p;
	if (fix && mpr_cmpxchg(&v->cons->head, h, fix) == h)
		mpr_env_repaired(env);
	return more;
}

/*
 * Overwrite mode: evicts the oldest unclaimed finished records, whatever
 * their class, moving the head over them until it reaches want: the ring
 * keeps the newest window. Stops at a record being written and after
 * MPR_OVERWRITE_WALK records. Called with the env lock held. True when it
 * stopped at its walk bound short of want (another call would evict more).
 */
static inline bool mpr_overwrite(const struct mpr_view *v,
				 struct mpr_env *env, __u64 want)
{
	struct mpmcring_meta *m = v->meta;
	struct mpr_pos pos;
	__u64 h, p, e, records = 0, bytes = 0;
	unsigned int walked = 0;
	struct mpr_rec rec;

	mpr_positions(v, &pos);
	/* user-writable: the head is used only once it is sane. */
	if (!mpr_head_sane(v, &pos))
		return false;
	h = pos.head;
	p = pos.prod;
	e = h;
	/* [M:overwrite-walk] */
	while (mpr_before(e, want) && e != p && walked++ < MPR_OVERWRITE_WALK) {
		int st = mpr_record_at(v, e, p, &rec);

		if (st != MPR_REC_COMMITTED && st != MPR_REC_DISCARDED)
			break;
		if (st == MPR_REC_COMMITTED) {
			records++;
			bytes += rec.len;
		}
		e += rec.size;
	}
	/* Losing to a consumer's claim is fine for the ring: the space frees
	 * either way; for the caller it is a lost race when the claim stopped
	 * short of want ("more"). [M:overwrite-cas]
	 */
	if (e != h) {
		__u64 seen = mpr_cmpxchg(&v->cons->head, h, e);

		/* user-writable: seen only decides the answer. */
		if (seen != h)
			return mpr_before(seen, want);
	}
	if (records) {
		mpr_atomic_add(&m->lost_overwritten, records);
		mpr_env_overwritten(env, records, bytes);
	}
	/* The loop's last test of the bound (false) counted one more. */
	return walked > MPR_OVERWRITE_WALK;
}

/*
 * What a class may have in use after a reservation, at most: the ring's
 * size less the free space its watermark keeps (none in overwrite mode,
 * which makes room by eviction). Fixed for a ring's life: the sides keep it
 * per class, so that a reservation reads one word for it.
 */
static inline __u64 mpr_reserve_limit(const struct mpr_view *v,
				      const struct mpmcring_layout *l,
				      unsigned int prio)
{
	if (l->mode == MPMCRING_MODE_OVERWRITE)
		return v->data_size;
	return v->data_size - l->watermark[prio];
}

/*
 * Why an overwrite reservation gave up after its rounds. Full only when the
 * last eviction it ran itself (evict, then reclaim, under the bit) left no
 * room for it and neither walk stopped at its bound nor lost its head to a
 * consumer: a claim or an unfinished record pins the oldest data. That
 * answer stands even when a later round found the bit taken. Otherwise it
 * lost races: MPR_FAIL_BUSY when its last round found the bit taken (the
 * tick's reclaim, read(2)'s, another producer's eviction: room may be
 * being made now), MPR_FAIL_CONTENTION when it made room and other
 * producers took it first, or its walks stopped at their bounds or lost
 * the head to a consumer (more would make room). Two rounds that both
 * found the bit taken are busy even on a pinned ring: it was never seen
 * pinned.
 */
static inline int mpr_overwrite_fail(bool stuck, bool busy)
{
	if (stuck)
		return MPR_FAIL_FULL;
	return busy ? MPR_FAIL_BUSY : MPR_FAIL_CONTENTION;
}

/*
 * mpr_reserve() past its first attempt: a ring that looks full (reclaim, at
 * most two rounds) or a lost race (retries). tries is the lost races so far.
 */
static MPR_SLOW_PATH int mpr_reserve_slow(const struct mpr_view *v,
					  struct mpr_env *env, __u64 need,
					  __u64 max_used, __u64 *pos, int tries)
{
	bool overwrite = v->mode == MPMCRING_MODE_OVERWRITE;
	struct mpmcring_meta *m = v->meta;
	bool stuck = false, busy = false;
	int rounds = 0;

	for (; tries < MPR_RESERVE_TRIES; tries++) {
		/* [M:reserve-load] [P4] pairs with [R5]; read before p so
		 * that r <= p.
		 */
		__u64 r = MPR_LOAD_ACQUIRE(&m->reclaim_pos);
		__u64 p = MPR_READ_ONCE(m->prod_pos);

		if (p + need - r > max_used) {	/* [M:reserve-full] */
			if (rounds++ == 2) {
				/*
				 * Refused for room at r: the leases' pressure;
				 * not for a record over its class's limit, which
				 * no reclaim could ever make fit.
				 */
				if ((!overwrite || stuck) && need <= max_used)
					mpr_env_refused(env, r);
				if (overwrite)	/* [M:reserve-busy] */
					return mpr_overwrite_fail(stuck, busy);
				return p + need - r > v->data_size ?
					MPR_FAIL_FULL : MPR_FAIL_PRIORITY;
			}
			/*
			 * Overwrite mode can always evict; otherwise a reclaim
			 * must be able to find more than the last one.
			 * user-writable: the head is only a hint here.
			 * [M:reserve-reclaim]
			 */
			busy = false;
			if (overwrite ||
			    mpr_env_reclaim_due(env, MPR_READ_ONCE(v->cons->head))) {
				if (mpr_env_trylock(env)) {
					__u64 want = p + need - max_used;
					bool more = overwrite &&
						    mpr_overwrite(v, env, want);

					more |= mpr_reclaim(v, env);
					/*
					 * Only the bit's holder moves
					 * reclaim_pos; it may be past want
					 * by far (p is old).
					 */
					stuck = overwrite && !more &&
						mpr_before(MPR_READ_ONCE(m->reclaim_pos),
							   want);
					mpr_env_unlock(env);
				} else {
					busy = overwrite;
				}
			}
			tries--;	/* a reclaim round is not a lost race */
			continue;
		}
		mpr_env_racing(env);
		/* [M:reserve-cas] Fully ordered: the [P4] load comes before
		 * the space is ours, and so (cumulatively) does the reclaim_pos
		 * store it saw: [C5] relies on that, so not an acquire-only
		 * or relaxed cmpxchg.
		 */
		if (mpr_cmpxchg(&m->prod_pos, p, p + need) == p) {
			*pos = p;
			return 0;
		}
	}
	return MPR_FAIL_CONTENTION;
}

/*
 * The first attempt of mpr_reserve(), for callers that inline it and take
 * the rest out of line: true when it reserved (*pos). Otherwise the caller
 * goes on with mpr_reserve_slow(..., *lost), *lost being the races this
 * attempt lost (0 or 1). It is the first pass of mpr_reserve_slow()'s
 * loop, where the model's steps (reserve-load, -full, -cas) are marked.
 */
static MPR_ALWAYS_INLINE bool mpr_reserve_fast(const struct mpr_view *v,
					       struct mpr_env *env, __u64 need,
					       __u64 max_used, __u64 *pos, int *lost)
{
	struct mpmcring_meta *m = v->meta;
	/* [P4] pairs with [R5]; read before p so that r <= p. */
	__u64 r = MPR_LOAD_ACQUIRE(&m->reclaim_pos);
	__u64 p = MPR_READ_ONCE(m->prod_pos);

	*lost = 0;
	if (mpr_unlikely(p + need - r > max_used))
		return false;
	mpr_env_racing(env);
	/* Fully ordered: the [P4] load comes before the space is ours. */
	if (mpr_unlikely(mpr_cmpxchg(&m->prod_pos, p, p + need) != p)) {
		*lost = 1;
		return false;
	}
	*pos = p;
	return true;
}

/*
 * Reserves need bytes of ring space, leaving at least the class watermark
 * free: max_used is the ring's size less it (mpr_reserve_limit()), the
 * bytes that may be in use after this reservation at most (until 815eaa6
 * this argument was the watermark itself: a caller not converted refuses
 * everything or ignores the watermark). Returns 0 and the position, or
 * MPR_FAIL_*. Never waits: at most
 * MPR_RESERVE_TRIES compare-and-swaps and two rounds of reclaim. The first
 * attempt is inlined; the rest is out of line, so the common case pays for
 * nothing it does not do.
 */
static MPR_ALWAYS_INLINE int mpr_reserve(const struct mpr_view *v,
					 struct mpr_env *env, __u64 need,
					 __u64 max_used, __u64 *pos)
{
	int lost;

	if (mpr_likely(mpr_reserve_fast(v, env, need, max_used, pos, &lost)))
		return 0;
	return mpr_reserve_slow(v, env, need, max_used, pos, lost);
}

/*
 * One reclaim, if the throttle says one is due (head: the consumers' head
 * as loaded, a hint only) and the reclaim bit is free; never waits.
 */
static inline void mpr_reclaim_if_due(const struct mpr_view *v,
				      struct mpr_env *env, __u64 head)
{
	if (mpr_env_reclaim_due(env, head) && mpr_env_trylock(env)) {
		mpr_reclaim(v, env);
		mpr_env_unlock(env);
	}
}

/*
 * Whether mpr_reserve() of need bytes under max_used would find room now,
 * for a producer that asks before it builds a record (mpmcring_admit()):
 * mpr_reserve_slow()'s full check and its two rounds of reclaim, throttled
 * alike, without the compare-and-swap. 0, or the MPR_FAIL_FULL /
 * MPR_FAIL_PRIORITY a reservation in its place would have returned (lost
 * races aside); tests/host/lib_test.c holds the two to the same answers.
 * Overwrite mode: always 0, a reservation there makes room by eviction,
 * which a question must not do. Its refusal is the leases' pressure, as a
 * reservation's is (mpr_env_refused()). It takes no space, so it is no
 * step of the model (whose refusals stand for it); the reclaim it may run
 * is that step. At most three looks.
 */
static inline int mpr_admit(const struct mpr_view *v, struct mpr_env *env,
			    __u64 need, __u64 max_used)
{
	struct mpmcring_meta *m = v->meta;
	int rounds = 0;
	__u64 used, r;

	if (v->mode == MPMCRING_MODE_OVERWRITE)
		return 0;
	for (;;) {
		/* [P4]'s order: reclaim_pos before prod_pos, so that r <= p. */
		r = MPR_LOAD_ACQUIRE(&m->reclaim_pos);
		used = MPR_READ_ONCE(m->prod_pos) + need - r;
		if (used <= max_used)
			return 0;
		if (rounds++ == 2)
			break;
		/* user-writable: the head is only a hint to the throttle. */
		mpr_reclaim_if_due(v, env, MPR_READ_ONCE(v->cons->head));
	}
	if (need <= max_used)	/* as the reservation's would */
		mpr_env_refused(env, r);
	return used > v->data_size ? MPR_FAIL_FULL : MPR_FAIL_PRIORITY;
}

/* Writes the header of a record at pos (before its payload). */
static MPR_ALWAYS_INLINE void mpr_write_hdr(const struct mpr_view *v,
					    __u64 pos, __u32 len, __u8 prio,
					    __u8 flags)
{
	union mpr_hdr_word u = {
		.h = { .len = len, .prio = prio, .flags = flags, .reserved = 0 }
	};

	/* [M:publish-hdr] One marked store: racing walkers may read it
	 * speculatively.
	 */
	MPR_WRITE_ONCE(*mpr_hdr(v, pos), u.w);
}

/* Finishes the record at pos: stamps it committed or discarded. */
static MPR_ALWAYS_INLINE void mpr_publish(const struct mpr_view *v,
					  __u64 pos, __u64 state)
{
	/* [M:publish-stamp] [P2] pairs with [C1] and [R2]: header and payload
	 * come first.
	 */
	MPR_STORE_RELEASE(mpr_stamp(v, pos), pos | state);
}

#endif /* MPMCRING_PRODUCE_H */
