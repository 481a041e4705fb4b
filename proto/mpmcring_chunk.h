/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * Chunked reservation (docs/scaling.md, section 2): a producer takes a
 * chunk of the ring with one mpr_reserve() and reserves its records inside
 * it on a word of its own, so that prod_pos, the line every producer
 * writes, moves once per chunk instead of once per record.
 *
 * Records in a chunk are framed as every record is (header, payload, stamp
 * at commit). The rest of a chunk that cannot take the next record is
 * closed as one discarded record, what mpr_publish(DISCARDED) leaves for a
 * discarded reservation today. Until then the chunk's unfilled space has
 * no stamp: claims and reclaim stop there as at a record being written, so
 * neither side's rules change. What changes is how long a record can wait
 * for claimability behind an open chunk: until the chunk fills or someone
 * closes it (the owner, or a tick: mpr_chunk_close()).
 *
 * One context at a time opens a chunk and fills it (the host harness: one
 * producer thread per chunk; the module: one chunk per CPU and interrupt
 * level, used with preemption off); any context may close it. Both move fill by
 * compare-and-swap, and fill only grows: positions are never reused, so a
 * compare-and-swap on a fill value read from an earlier chunk fails.
 */
#ifndef MPMCRING_CHUNK_H
#define MPMCRING_CHUNK_H

#include "mpmcring_produce.h"

/*
 * The side that includes this defines, besides mpmcring_produce.h's:
 *   void mpr_env_chunk_closed(struct mpr_env *e, __u64 pos, __u64 bytes);
 *       (a reservation closed its chunk: the filler at pos, of bytes with
 *       its header, is finished, as a commit; the module counts it and
 *       runs its wake check for it)
 */

/*
 * The chunk size a ring can afford for producers chunks in all: at most a
 * quarter of the ring unfilled in open chunks, and a filler that is one
 * record the walkers accept (len <= max_record). Granule-aligned; 0 when
 * the ring is too small for chunks to pay (then reserve per record), and
 * for overwrite rings: eviction stops at a chunk's unfilled space, and a
 * chunk its CPU stopped filling would stop it until something closed it.
 */
static inline __u64 mpr_chunk_bytes(const struct mpr_view *v, __u64 want,
				    unsigned int chunks)
{
	__u64 cap = v->data_size / 4 / (chunks ? chunks : 1);

	if (v->mode == MPMCRING_MODE_OVERWRITE)
		return 0;
	if (want > cap)
		want = cap;
	if (want > (__u64)v->max_record + MPMCRING_HDR_SIZE)
		want = (__u64)v->max_record + MPMCRING_HDR_SIZE;
	want &= ~v->gmask;
	return want >= 4 * (MPMCRING_HDR_SIZE + ((__u64)1 << v->gshift)) ?
	       want : 0;
}

/*
 * A chunk before its first use: closed at the ring's first position, so
 * that every later chunk starts at or after its fill (the pass-over test
 * in mpr_chunk_close() relies on that; zero would be ahead of a ring that
 * starts just below 2^64).
 */
static inline void mpr_chunk_init(struct mpr_chunk *c, __u64 initial_pos)
{
	c->fill = initial_pos;
	c->end = initial_pos;
	c->max_used = 0;
	c->busy = 0;
	c->seen = initial_pos;
	c->seen_at = 0;
}

/*
 * Closes c if it is open: its rest becomes one discarded record, at *rest.
 * Returns the rest's bytes, header included, when this call closed it (a
 * granule at least), else 0. Any context may call it at any time
 * (chunk_bytes the size c was opened with): the owner filling c races with
 * it only on fill, and exactly one of them moves fill from any value. The
 * owner opens a chunk with a store of end, then one of fill: a closer can see
 * a new end with the old fill, the end of the chunk before, which is at or
 * below the new chunk's start. No open chunk has chunk_bytes or more left
 * (its first record is taken as it opens), so such a pair is passed over:
 * closing it would frame other producers' records as the filler.
 */
static inline __u64 mpr_chunk_close(const struct mpr_view *v,
				    struct mpr_chunk *c, __u64 chunk_bytes,
				    __u64 *rest)
{
	/* [K2] pairs with [K1]: end is the chunk's that fill belongs to,
	 * or a later one's, and the filler's header goes into space the
	 * opener's reservation took after [P4] (the compare-and-swap
	 * below, which reads that fill or a later one, orders it too).
	 * Which granules the filler frames rests on the pass-over alone:
	 * tests/model/chunk.pml checks it with end and fill in either
	 * order (K_ANY_ORDER).
	 */
	__u64 f = MPR_LOAD_ACQUIRE(&c->fill);
	__u64 end = MPR_READ_ONCE(c->end);

	if (f == end || end - f >= chunk_bytes ||
	    mpr_cmpxchg(&c->fill, f, end) != f)
		return 0;
	/* [f, end) is ours alone: granule-aligned, at least one granule. */
	mpr_write_hdr(v, f, (__u32)(end - f - MPMCRING_HDR_SIZE), 0, 0);
	mpr_publish(v, f, MPMCRING_STAMP_DISCARDED);
	*rest = f;
	return end - f;
}

/* At most this many looks at a chunk (each fails only to a closer). */
#define MPR_CHUNK_TRIES	4

/*
 * mpr_chunk_reserve() past its first look: a chunk that is closed, full,
 * of a looser class limit, or lost to a closer. Opens a new chunk and takes
 * the record from its start. The chunk's reservation is mpr_reserve()'s
 * first attempt alone, repeated while it loses races; it reclaims only
 * when open_max is below the record's limit and consumers have freed room
 * for the chunk (below). When the ring has no room for a chunk as it
 * stands, or the record is over half a chunk, the record is reserved alone
 * by mpr_reserve() (with its reclaim rounds), after the chunk is closed: a
 * producer's records keep increasing positions, and chunks refuse nothing
 * a record alone would get. (Reclaiming for a chunk on a ring that
 * consumers keep nearly full cost the 16-core run half its single-claim
 * rate: bench/RESULTS.md.)
 *
 * A chunk is opened only where the ring stays within open_max with it (the
 * lowest class limit), and records the limit it was opened under
 * (max_used): every class may use all of its space, so records of any
 * class fill it in turn. Past that fill records go alone: the classes'
 * reserves above it are spent record by record, never on chunks' unfilled
 * rests, which closers turn into fillers that hold their space until
 * consumers pass them (a flood of low records refused at their watermark,
 * each closing a chunk a critical record had opened, spent the whole
 * critical reserve on fillers: tests/vm/events.c).
 *
 * Re-entered at the same interrupt level (a tracing program attached to a
 * function this calls, mpr_reserve()'s or the wake check's, or probing
 * one of its instructions, that produces into the same ring), the inner
 * call finds busy and reserves alone: an inner chunk opened between the
 * outer's reservation of a chunk and its stores would be overwritten by
 * them, its rest never framed. The inline first look sends the inner call
 * here when it sees busy.
 */
static MPR_SLOW_PATH int mpr_chunk_reserve_slow(const struct mpr_view *v,
						struct mpr_env *env,
						struct mpr_chunk *c,
						__u64 chunk_bytes, __u64 need,
						__u64 max_used, __u64 open_max,
						__u64 *pos)
{
	__u64 open = max_used < open_max ? max_used : open_max;
	bool closed, reclaimed = false;
	int tries, lost, ret;
	__u64 s, n, h;

	if (MPR_READ_ONCE(c->busy))
		return mpr_reserve(v, env, need, max_used, pos);
	MPR_WRITE_ONCE(c->busy, 1);
	for (tries = 0; tries < MPR_CHUNK_TRIES; tries++) {
		/* [K2] pairs with [K1]. */
		__u64 f = MPR_LOAD_ACQUIRE(&c->fill);
		__u64 end = MPR_READ_ONCE(c->end);

		/* Closed, or not one to fill (the first look's test). */
		if (f == end || end - f >= chunk_bytes)
			break;
		if (max_used >= MPR_READ_ONCE(c->max_used) && need <= end - f) {
			if (mpr_cmpxchg(&c->fill, f, f + need) == f) {
				*pos = f;
				ret = 0;
				goto out;
			}
			continue;	/* a closer took the rest */
		}
		n = mpr_chunk_close(v, c, chunk_bytes, &s);
		if (n)
			mpr_env_chunk_closed(env, s, n);
	}
	/*
	 * Closed, as a rule: a failed compare-and-swap above was a
	 * closer's (the first look of a same-level re-entry sees busy and
	 * keeps off), which leaves it closed, so the loop ends there. Only
	 * when it is closed may a new one be opened: one still open after
	 * all (a caller that broke the rules above) is left to its closers
	 * and the record goes alone.
	 */
	n = mpr_chunk_close(v, c, chunk_bytes, &s);
	if (n)
		mpr_env_chunk_closed(env, s, n);
	closed = MPR_LOAD_ACQUIRE(&c->fill) == MPR_READ_ONCE(c->end);
	for (tries = 0; closed && need <= chunk_bytes / 2 &&
	     tries < MPR_CHUNK_TRIES; tries++) {
		if (mpr_reserve_fast(v, env, chunk_bytes, open, &s, &lost)) {
			MPR_WRITE_ONCE(c->end, s + chunk_bytes);
			MPR_WRITE_ONCE(c->max_used, open);
			/* [K1] pairs with [K2]: end and max_used before the
			 * fill that opens the chunk, and the space taken
			 * above (after [P4]) before a closer's filler in it.
			 */
			MPR_STORE_RELEASE(&c->fill, s + need);
			*pos = s;
			ret = 0;
			goto out;
		}
		if (lost)
			continue;
		/*
		 * No room for a chunk as reclaim last left the ring. Under
		 * the record's own limit that ends it (no reclaim for a
		 * chunk there: on a ring kept nearly full that cost the
		 * 16-core run half its rate). Under a lower open_max, a
		 * record of its class would reserve alone without
		 * reclaiming until its own limit, and reclaim_pos, left
		 * behind, would keep chunks closed for the fill between the
		 * two while consumers keep up: one reclaim, throttled as
		 * mpr_reserve()'s, when one up to the head would make room
		 * for the chunk (not for a backlog the consumers have not
		 * claimed: that would be a reclaim per record), then a look
		 * more if a try is left.
		 * user-writable: the head is only a hint, here and to the
		 * throttle; one past prod_pos reads as no room.
		 */
		if (open == max_used || reclaimed)
			break;
		reclaimed = true;
		h = MPR_READ_ONCE(v->cons->head);
		if (MPR_READ_ONCE(v->meta->prod_pos) + chunk_bytes - h > open)
			break;
		mpr_reclaim_if_due(v, env, h);
	}
	ret = mpr_reserve(v, env, need, max_used, pos);
out:
	MPR_WRITE_ONCE(c->busy, 0);
	return ret;
}

/*
 * mpr_chunk_reserve()'s first look, inline also where a caller has a fast
 * path of its own (the module's chunked copies of mpmcring_output() and
 * mpmcring_reserve()): need bytes from the open chunk c for a record of
 * class limit max_used. True with *pos; false leaves c as it was, for
 * mpr_chunk_reserve() to decide (which looks once more before its slow
 * path).
 */
static MPR_ALWAYS_INLINE bool mpr_chunk_take(struct mpr_chunk *c,
					     __u64 chunk_bytes, __u64 need,
					     __u64 max_used, __u64 *pos)
{
	/* [K2] pairs with [K1]. */
	__u64 f = MPR_LOAD_ACQUIRE(&c->fill);
	__u64 room = MPR_READ_ONCE(c->end) - f;

	/*
	 * A probe at any instruction of the slow path can run this look at
	 * the same level, in the middle of the owner's work on c: busy sends
	 * it the slow way, which reserves alone (a compare-and-swap here
	 * would make the owner's close fail, and with the owner between its
	 * two stores, take other producers' space). Room of chunk_bytes or
	 * more is that window too (no open chunk has that much left), as is
	 * an earlier chunk's fill with a later one's end; and a compare-and-
	 * swap on a fill that moved meanwhile fails (fill never repeats).
	 */
	if (mpr_likely(need <= room && room < chunk_bytes &&
		       max_used >= MPR_READ_ONCE(c->max_used) &&
		       !MPR_READ_ONCE(c->busy)) &&
	    mpr_likely(mpr_cmpxchg(&c->fill, f, f + need) == f)) {
		*pos = f;
		return true;
	}
	return false;
}

/*
 * Reserves need bytes in the caller's chunk c (chunk_bytes from
 * mpr_chunk_bytes(), non-zero), opening a new one with mpr_reserve() when
 * c cannot take it. Returns 0 and the position, or what mpr_reserve()
 * returns. The caller writes the header and commits as for mpr_reserve().
 * max_used is the record's class limit, open_max the lowest of the ring's
 * class limits (mpr_reserve_limit()): a chunk opens only within both, so
 * every byte of it was admitted within every class's limit (a record
 * placed in it later may find the ring past its class's limit by then, as
 * records of its own class always could). A record of a class
 * with a lower limit than the chunk's (a caller whose open_max is not the
 * lowest) is not taken from it.
 * Never waits: MPR_CHUNK_TRIES looks at the chunk, as many attempts to
 * reserve a new one (one of them may be a throttled reclaim instead), then
 * at most one mpr_reserve().
 */
static MPR_ALWAYS_INLINE int mpr_chunk_reserve(const struct mpr_view *v,
					       struct mpr_env *env,
					       struct mpr_chunk *c,
					       __u64 chunk_bytes, __u64 need,
					       __u64 max_used, __u64 open_max,
					       __u64 *pos)
{
	if (mpr_likely(mpr_chunk_take(c, chunk_bytes, need, max_used, pos)))
		return 0;
	return mpr_chunk_reserve_slow(v, env, c, chunk_bytes, need, max_used,
				      open_max, pos);
}

#endif /* MPMCRING_CHUNK_H */
