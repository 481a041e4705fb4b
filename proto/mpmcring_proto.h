/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The mpmcring protocol, written once: the module, the userspace library and
 * the host harness all run these functions over the layout in
 * uapi/linux/mpmcring.h. docs/protocol.md has the prose and the diagrams.
 *
 * Barrier pairs, named here and at each site:
 *   [P2] producer: header + payload, then stamp store-release
 *        pairs with [C1]: consumer stamp load-acquire, then header + payload
 *        and with [R2]: reclaimer stamp load-acquire, then header
 *   [C2] consumer: claim announce, then the claim cmpxchg on head
 *        pairs with [R3]: reclaimer loads head (acquire), then the claims
 *   [C3] consumer: reads of its records, then the fully ordered exchange
 *        of its slot's start to idle (commit)
 *        pairs with [R4]: reclaimer slot load-acquire, then reclaim_pos
 *   [C4] consumer: reads of its records, then the look at its slot's start
 *        (the commit's exchange, or an acquire fence and a load)
 *        pairs with [R6]: reclaimer revocation cmpxchg on the slot's start,
 *        then the reclaim_pos store-release [R5] that lets producers
 *        overwrite
 *   [C5] consumer: reads of its records, then an acquire fence and a
 *        load of reclaim_pos (kernel-owned) before the commit
 *        pairs with [R5] through [P4]: a producer writes into space only
 *        after it saw reclaim_pos pass it, so a reclaim_pos still at or
 *        before the claim's start means no producer wrote there before
 *        the reads. This catches a claim reclaim had already passed when
 *        it was made (a co-tenant wrote the head back), which no
 *        revocation marks. The producer is the middle of a causality
 *        chain (reclaimer, producer, consumer: WRC): between its
 *        reclaim_pos load and its writes it needs a cumulative barrier,
 *        which the fully ordered reservation cmpxchg in mpr_reserve()
 *        gives; [P4]'s acquire alone would not on a machine that is not
 *        multi-copy atomic.
 *   [R5] reclaimer: reclaim_pos store-release
 *        pairs with [P4]: producer reclaim_pos load-acquire, then writes
 *        into the space it frees
 *   [L1] consumer: lost_*_taken load-acquire, then the loss total
 *        pairs with [L2]: another consumer read the total, then its
 *        fully ordered cmpxchg stored it in lost_*_taken
 *
 * Trust: the consumer area (head, slots, loss counters) is writable by every
 * process that maps the ring. Whenever kernel code reads it, the value is
 * clamped against kernel-owned positions before use ("user-writable:"
 * comments below). The kernel never takes a length, offset or pointer from
 * there, so garbage can cost drops or wrong data for consumers, never an
 * out-of-bounds access, an overlapping reservation or a hang. What keeps a
 * reservation safe is kernel-only: reclaim frees space only by walking the
 * stamps from reclaim_pos over finished records, so it never passes a record
 * still being written, whatever the head and the slots say.
 */
#ifndef MPMCRING_PROTO_H
#define MPMCRING_PROTO_H

#include "mpmcring_atomic.h"
#include <linux/mpmcring.h>

/* How many times a consumer retries a claim that lost a race. */
#define MPR_CLAIM_TRIES		256
/* Records one claim walks past what it may take (discarded ones). */
#define MPR_CLAIM_WALK		1024
/*
 * How many times a producer retries a reservation that lost a race. (The
 * host tests build a copy with a smaller value to reach the contention-drop
 * path on demand.)
 */
#ifndef MPR_RESERVE_TRIES
#define MPR_RESERVE_TRIES	128
#endif
/* Records an overwriting producer evicts per attempt at most. */
#define MPR_OVERWRITE_WALK	4096
/*
 * Records one reclaim walks at most: what bounds it in any context (about
 * 12 us on a 2026 x86 core, bench/reclaim/reclaim_cost.c).
 */
#define MPR_RECLAIM_WALK	2048

/*
 * What reading records needs of a view. The reclaim walk copies it
 * (mpr_walker_init()) and keeps the copy in registers across its acquire
 * loads, where fields read through the view would be loaded again after
 * each one; the claim walks and a look at one record read the view's own
 * (struct mpr_view's walk), each field where it is used: they have more
 * values than registers, and a field read in place costs what a spilled
 * copy's reload does.
 */
struct mpr_walker {
	const unsigned char *data;
	__u64 *stamps;
	__u64 data_mask;
	__u64 size_add;		/* see mpr_rec_size() */
	__u64 size_mask;	/* ~(granule - 1) */
	__u32 gshift;
	__u32 max_record;
};

/* Where one ring's pieces are, as the side running the code sees them. */
struct mpr_view {
	struct mpmcring_cons_area *cons;
	struct mpmcring_meta *meta;
	struct mpmcring_slot_info *slot_info;
	__u64 *stamps;
	unsigned char *data;	/* data_size bytes, mapped twice back to back */
	__u64 data_size;
	__u64 data_mask;
	__u64 stamp_mask;	/* stamps - 1 */
	__u64 gmask;		/* granule - 1 */
	__u64 size_add;		/* header + granule - 1: see mpr_rec_size() */
	__u32 gshift;		/* log2(granule) */
	__u32 max_record;
	__u32 max_consumers;
	__u32 mode;
	__u32 claim_timeout_ms;	/* 0: claims never expire */
	struct mpr_walker walk;	/* the same values, for mpr_walk_at() */
};

/*
 * Points a view at a ring's two pieces: the consumer area and the
 * read-only piece (meta page, slot info, stamps, data twice), as the layout
 * places them. The caller has checked the layout.
 */
static inline void mpr_view_init(struct mpr_view *v,
				 const struct mpmcring_layout *l, void *cons,
				 void *ro)
{
	unsigned char *base = (unsigned char *)ro;

	v->cons = (struct mpmcring_cons_area *)cons;
	v->meta = (struct mpmcring_meta *)base;
	v->slot_info = (struct mpmcring_slot_info *)(base + l->slot_info_offset);
	v->stamps = (__u64 *)(base + l->stamps_offset);
	v->data = base + l->data_offset;
	v->data_size = l->data_size;
	v->data_mask = l->data_size - 1;
	v->gshift = l->granule_shift;
	v->gmask = (1ULL << l->granule_shift) - 1;
	v->size_add = MPMCRING_HDR_SIZE + v->gmask;
	v->stamp_mask = (l->data_size >> l->granule_shift) - 1;
	v->max_record = l->max_record;
	v->max_consumers = l->max_consumers;
	v->mode = l->mode;
	v->claim_timeout_ms = (l->features & MPMCRING_FEAT_LEASE) ?
			      l->claim_timeout_ms : 0;
	v->walk.data = v->data;
	v->walk.stamps = v->stamps;
	v->walk.data_mask = v->data_mask;
	v->walk.size_add = v->size_add;
	v->walk.size_mask = ~v->gmask;
	v->walk.gshift = v->gshift;
	v->walk.max_record = v->max_record;
}

/* A record as the walkers see it. */
struct mpr_rec {
	__u64 pos;
	__u64 size;		/* bytes of ring space, header and padding included */
	__u64 hdr;		/* the header word as read (union mpr_hdr_word) */
	const unsigned char *payload;	/* where its payload lies (not NONE) */
	__u32 len;		/* payload bytes */
	__u8 prio;
	__u8 flags;
	int state;		/* MPR_REC_* */
};

enum {
	MPR_REC_NONE = 0,	/* no finished record starts here (yet) */
	/* The stamp states themselves: mpr_record_at() returns them as is. */
	MPR_REC_COMMITTED = MPMCRING_STAMP_COMMITTED,
	MPR_REC_DISCARDED = MPMCRING_STAMP_DISCARDED,
	MPR_REC_BAD,		/* stamped, but the header does not fit */
};

/* One claim: [start, end) now belongs to the claiming consumer. */
struct mpr_claim {
	__u64 start;
	__u64 end;
	__u32 records;		/* committed records inside (discards skipped) */
	__u64 bytes;		/* their payload bytes */
	struct mpr_rec first;	/* the first committed record */
	/*
	 * Where the first claim of discarded records only that the call
	 * made began, MPMCRING_SLOT_IDLE (odd: never a position) if none:
	 * the head moved over them and nothing was handed over, so no
	 * commit will ask for the room they held (mpr_room_wanted()).
	 */
	__u64 skipped;
};

/* True when lo <= x <= hi on the position circle (wrap-safe). */
static inline bool mpr_between(__u64 lo, __u64 x, __u64 hi)
{
	return x - lo <= hi - lo;
}

/* True when a comes before b (wrap-safe, positions less than 2^63 apart). */
static inline bool mpr_before(__u64 a, __u64 b)
{
	return (__s64)(a - b) < 0;
}

/*
 * The producers' refusal word (kernel memory: the module's ring, the host
 * harness's): reclaim_pos when a reservation was last refused for room,
 * odd until one was. Moves forward only and is written once per position,
 * so a flood of refusals writes its line once. Pairs with nothing: two
 * racing stores may leave the older until the next refusal.
 */
static inline void mpr_refusal_note(__u64 *word, __u64 r)
{
	__u64 old = MPR_READ_ONCE(*word);

	if ((old & 1) || mpr_before(old, r))
		MPR_WRITE_ONCE(*word, r);
}

static inline bool mpr_aligned(const struct mpr_view *v, __u64 pos)
{
	return !(pos & v->gmask);
}

/*
 * Header and payload rounded up to the granule. The walker's size_mask is
 * ~gmask, kept: one and with it, where ~gmask is a load, a not and an and.
 */
static inline __u64 mpr_rec_size(const struct mpr_view *v, __u32 len)
{
	return ((__u64)len + v->size_add) & v->walk.size_mask;
}

static inline __u64 *mpr_stamp(const struct mpr_view *v, __u64 pos)
{
	return &v->stamps[(pos >> v->gshift) & v->stamp_mask];
}

/*
 * A header is written and read as the one 64-bit word it is: one store for
 * the producer, one load for a walker, and never half of an old header
 * with half of a new one.
 */
union mpr_hdr_word {
	struct mpmcring_rec_hdr h;
	__u64 w;
};

_Static_assert(sizeof(union mpr_hdr_word) == MPMCRING_HDR_SIZE &&
	       sizeof(struct mpmcring_rec_hdr) == MPMCRING_HDR_SIZE,
	       "a record header is one 64-bit word");

static inline __u64 *mpr_hdr(const struct mpr_view *v, __u64 pos)
{
	return (__u64 *)(v->data + (pos & v->data_mask));
}

static inline void *mpr_payload(const struct mpr_view *v, __u64 pos)
{
	return v->data + (pos & v->data_mask) + MPMCRING_HDR_SIZE;
}

/* The three positions, as one consistent snapshot. */
struct mpr_pos {
	__u64 reclaim;
	__u64 head;	/* user-writable: check with mpr_head_sane() */
	__u64 prod;
};

/*
 * Loads the positions oldest first. Each only grows, and reclaim <= head <=
 * prod held when each was read, so the snapshot keeps reclaim <= head <=
 * prod unless the head is corrupt.
 */
static MPR_ALWAYS_INLINE void mpr_positions(const struct mpr_view *v,
					    struct mpr_pos *s)
{
	struct mpmcring_meta *m = v->meta;
	struct mpmcring_cons_area *cons = v->cons;

	/* [M:positions] Pairs with [R5]. */
	s->reclaim = MPR_LOAD_ACQUIRE(&m->reclaim_pos);
	/* Pairs with [C2]. user-writable: mpr_head_sane() before use. */
	s->head = MPR_LOAD_ACQUIRE(&cons->head);
	/* After the head: prod is never older than it. */
	s->prod = MPR_LOAD_ACQUIRE(&m->prod_pos);
}

/* A head outside [reclaim, prod], or between granules, is corrupt. */
static inline bool mpr_head_sane(const struct mpr_view *v,
				 const struct mpr_pos *s)
{
	/* [M:head-sane] */
	return mpr_aligned(v, s->head) && mpr_between(s->reclaim, s->head, s->prod);
}

static MPR_ALWAYS_INLINE void mpr_walker_init(struct mpr_walker *w,
					      const struct mpr_view *v)
{
	w->data = v->data;
	w->stamps = v->stamps;
	w->data_mask = v->data_mask;
	w->size_add = v->size_add;
	w->size_mask = ~v->gmask;
	w->gshift = v->gshift;
	w->max_record = v->max_record;
}

/*
 * Whether a granule's stamp, xored with the granule's position, says a
 * finished record starts there: committed (the likely one) or discarded.
 * Any other value is a record being written, space not yet reserved, or a
 * stamp of an earlier lap. The position must be granule-aligned: off the
 * granule by k, a stamp reads as its state ^ k (mpr_walk_at()).
 */
static MPR_ALWAYS_INLINE bool mpr_stamp_finished(__u64 state)
{
	/* [M:stamp-finished] */
	return mpr_likely(state == MPMCRING_STAMP_COMMITTED) ||
	       state == MPMCRING_STAMP_DISCARDED;
}

/*
 * Reads the record that starts at pos, if a finished one does; it must fit
 * in the room bytes from pos. The stamp carries the full position, so a
 * stamp left by an earlier lap never matches, and payload bytes are never
 * taken for a header: the header is read only after the stamp vouches for
 * it. pos must be granule-aligned (every caller starts from a checked
 * position and adds record sizes); then stamp ^ pos is the stamp's state
 * exactly when the stamp is pos | state, and has high bits set otherwise.
 * Off the granule by k it is state ^ k: a discarded record's stamp at A
 * reads as committed at A + 3. So the alignment checks of the head
 * (mpr_head_sane(), mpr_claim_one()) are what make this test sound.
 */
static MPR_ALWAYS_INLINE int mpr_walk_at(const struct mpr_walker *w, __u64 pos,
					 __u64 room, struct mpr_rec *rec)
{
	__u64 off = pos & w->data_mask;
	union mpr_hdr_word u;
	__u64 state;

	/* [M:record-at] [C1] pairs with [P2]: the header and payload are
	 * visible. The stamp of pos's granule, as mpr_stamp() finds it.
	 */
	state = MPR_LOAD_ACQUIRE(&w->stamps[off >> w->gshift]) ^ pos;
	rec->pos = pos;
	if (!mpr_stamp_finished(state))
		return rec->state = MPR_REC_NONE;

	/* The space may be reused under a walker that has not claimed it. */
	u.w = MPR_READ_SPECULATIVE(*(const __u64 *)(w->data + off));
	rec->hdr = u.w;
	rec->payload = w->data + off + MPMCRING_HDR_SIZE;
	rec->len = u.h.len;
	rec->prio = u.h.prio;
	rec->flags = u.h.flags;
	rec->size = ((__u64)u.h.len + w->size_add) & w->size_mask;
	if (u.h.len > w->max_record || rec->size > room)
		return rec->state = MPR_REC_BAD;
	return rec->state = (int)state;
}

/* mpr_walk_at() for one look: the record must end at or before bound. */
static MPR_ALWAYS_INLINE int mpr_record_at(const struct mpr_view *v, __u64 pos,
					   __u64 bound, struct mpr_rec *rec)
{
	return mpr_walk_at(&v->walk, pos, bound - pos, rec);
}

/* ---------------------------------------------------------------------
 * Consumer side: the library, the kernel's read(2) and kernel tests.
 */

/*
 * After a won compare-and-swap of the head from h by a consumer that held
 * nothing: whether reclaim had already passed h. Returns 0 when it had not
 * (the claim stands). Otherwise it is no claim at all and the announce is
 * released: 1 when the caller tries again, -ESTALE when a revocation had
 * marked the announce meanwhile (the kernel counted a revoked claim, and
 * the records the head moved over are gone: the caller reports them).
 */
static MPR_ALWAYS_INLINE int mpr_claim_drop_passed(const struct mpr_view *v,
						   __u64 *announce, __u64 h)
{
	/*
	 * [M:claim-passed] A head written back by a co-tenant can make the
	 * compare succeed on space reclaim has freed. The load pairs with
	 * [R5]; the cmpxchg before it is fully ordered. The commit checks
	 * again ([C5]) for a reclaim that passes the claim later.
	 */
	if (mpr_likely(!mpr_before(h, MPR_LOAD_ACQUIRE(&v->meta->reclaim_pos))))
		return 0;
	/*
	 * An exchange, not a store: a revocation between the cmpxchg and
	 * here marked the announce, and counted a claim the consumer must
	 * hear of. [C4] pairs with [R6], as at the commit.
	 */
	if (mpr_xchg(announce, MPMCRING_SLOT_IDLE) & MPMCRING_SLOT_REVOKED)
		return -ESTALE;
	return 1;
}

/*
 * Where a claim hands the committed records it takes, when the caller wants
 * them all (fn(ctx, i, rec) for the i-th, inlined into the walk when fn is
 * a constant); a NULL sink keeps the first only, in c->first.
 */
struct mpr_claim_sink {
	void (*fn)(void *ctx, __u32 i, const struct mpr_rec *rec);
	void *ctx;
};

/*
 * The walks take a sink by value (fn NULL: none), so that a constant fn is
 * known as one through their loops, and called directly, inlined.
 */
static MPR_ALWAYS_INLINE struct mpr_claim_sink
mpr_sink_of(const struct mpr_claim_sink *out)
{
	return out ? *out : (struct mpr_claim_sink){ NULL, NULL };
}

/* What one claim attempt (mpr_claim_attempt()) came to, when nothing. */
enum {
	MPR_CLAIM_AGAIN = 0,	/* lost a race, or took only discarded ones */
	MPR_CLAIM_STOP = -1,	/* final: *why says why (MPR_REC_*) */
	/*
	 * Final: revoked while it was made, on space reclaim had passed
	 * (mpr_claim_drop_passed()); c->records says how many records the
	 * head moved over, lost.
	 */
	MPR_CLAIM_STALE = -2,
	/*
	 * As MPR_CLAIM_AGAIN, but the head moved over discarded records
	 * only, from c->start on (by a caller that holds nothing): no commit
	 * follows that would ask for the room they held (mpr_room_wanted()).
	 */
	MPR_CLAIM_SKIPPED = -3,
};

/*
 * The claim itself, once a walk found the records [h, e) at the head h:
 * the announce, the compare-and-swap that moves the head from h to e, and
 * the look for a reclaim that had passed h. Every claim takes these steps
 * here, in this order (mpr_claim_attempt(), mpr_claim_one()): the model's
 * markers cover them once for all. Returns 1 when the claim stands,
 * MPR_CLAIM_AGAIN (a lost race, a head reclaim had passed) or
 * MPR_CLAIM_STALE (c->records = n: revoked while it was made).
 */
static MPR_ALWAYS_INLINE int mpr_claim_take(const struct mpr_view *v,
					    __u64 *announce, bool holding,
					    __u64 h, __u64 e, __u32 n,
					    struct mpr_claim *c,
					    bool *announced)
{
	int passed;

	/*
	 * The announce goes out before the claim takes effect. The walk
	 * before it needed none: while the head stays at h, reclaim frees
	 * nothing at or after h (mpr_claim_drop_passed() below catches a
	 * head a co-tenant wrote back). [M:claim-announce]
	 */
	if (!holding) {
		MPR_WRITE_ONCE(*announce, h);
		*announced = true;
	}
	/* [M:claim-cas] [C2] pairs with [R3]: the announce is visible to
	 * anyone who sees this claim.
	 */
	if (mpr_cmpxchg(&v->cons->head, h, e) != h)
		return MPR_CLAIM_AGAIN;
	if (holding)
		return 1;
	passed = mpr_claim_drop_passed(v, announce, h);
	if (mpr_likely(!passed))
		return 1;
	*announced = false;
	if (passed > 0)
		return MPR_CLAIM_AGAIN;
	c->records = n;
	return MPR_CLAIM_STALE;
}

/*
 * One attempt at a claim (see mpr_claim_into()): the walk over finished
 * records from the head, then the compare-and-swap that moves the head
 * past them. Returns the records claimed (> 0), MPR_CLAIM_AGAIN,
 * MPR_CLAIM_STALE, or MPR_CLAIM_STOP with *why: MPR_REC_NONE (nothing
 * finished at the head), MPR_REC_BAD (inconsistent positions or framing),
 * MPR_REC_COMMITTED (the first record exceeds a hard max_bytes).
 * *announced tracks whether announce holds a start this claim wrote (to be
 * cleared if it fails). max_recs is at least 1 (mpr_claim_into() checks;
 * the library's entry points reject 0 first): the walk takes the first
 * record before it looks at max_recs. A claim of discarded records only
 * returns MPR_CLAIM_AGAIN, or MPR_CLAIM_SKIPPED with c->start when the
 * caller holds nothing.
 */
static MPR_ALWAYS_INLINE int mpr_claim_attempt(const struct mpr_view *v,
					       __u64 *announce, bool holding,
					       __u32 max_recs, __u64 max_bytes,
					       bool hard_bytes,
					       struct mpr_claim *c,
					       struct mpr_claim_sink out,
					       bool *announced, int *why)
{
	__u64 *headp = &v->cons->head;
	__u64 h, p, e, room, bytes = 0;
	__u32 n = 0, walked = 0;
	struct mpr_pos pos;
	struct mpr_rec rec;
	int st, taken;

	mpr_positions(v, &pos);
	if (!mpr_head_sane(v, &pos)) {
		*why = MPR_REC_BAD;
		return MPR_CLAIM_STOP;
	}
	h = pos.head;
	p = pos.prod;
	if (h == p) {
		*why = MPR_REC_NONE;
		return MPR_CLAIM_STOP;
	}

	/*
	 * Committed records from the head on, up to max_recs of them, their
	 * payload up to max_bytes (the first whatever its size unless
	 * hard_bytes), and up to prod_pos; discarded ones are passed, at
	 * most MPR_CLAIM_WALK of them. One record at a time, each checked as
	 * mpr_walk_at() says, the likeliest case first. The view's walker,
	 * not a copy: the loop has more values than registers, and a field
	 * read where it is used costs what a spilled copy's reload does.
	 * [M:claim-walk]
	 */
	e = h;
	room = p - h;	/* p - e: what the walk may still take */
	do {
		st = mpr_walk_at(&v->walk, e, room, &rec);
		if (mpr_likely(st == MPR_REC_COMMITTED)) {
			if (bytes + rec.len > max_bytes && (n || hard_bytes))
				break;
			if (out.fn)
				out.fn(out.ctx, n, &rec);
			else if (!n)
				c->first = rec;
			bytes += rec.len;
			n++;
		} else if (st != MPR_REC_DISCARDED ||
			   walked++ == MPR_CLAIM_WALK) {
			break;
		}
		e += rec.size;
		room -= rec.size;
	} while (n < max_recs && room);

	if (e == h) {
		/* Nothing here; report only what a stable head shows. */
		if (MPR_LOAD_ACQUIRE(headp) != h)	/* [M:claim-recheck] */
			return MPR_CLAIM_AGAIN;
		*why = st;
		return MPR_CLAIM_STOP;
	}

	taken = mpr_claim_take(v, announce, holding, h, e, n, c, announced);
	if (mpr_unlikely(taken <= 0))
		return taken;
	if (!n) {
		/*
		 * Only discarded records: nothing to hand over, and no commit
		 * that would ask for the room they held. An exchange, not a
		 * store: the caller's load of room_at comes after it ([C6],
		 * as after a commit). A caller that holds a claim asks at its
		 * commit: that claim begins before these.
		 */
		if (!holding) {	/* [M:claim-discards] */
			mpr_xchg(announce, MPMCRING_SLOT_IDLE);
			*announced = false;
			c->start = h;
			return MPR_CLAIM_SKIPPED;
		}
		return MPR_CLAIM_AGAIN;
	}
	c->start = h;
	c->end = e;
	c->records = n;
	c->bytes = bytes;
	return n;
}

/*
 * mpr_claim_attempt() cut down to its most common case, for consumers that
 * take records one at a time and hold nothing: the committed record at the
 * head, claimed by the same mpr_claim_take(). Returns 1 when it claimed it,
 * MPR_CLAIM_STOP (*why MPR_REC_NONE) when the ring is empty,
 * MPR_CLAIM_STALE (c->records 1) when it was revoked while it was made
 * (as in mpr_claim_attempt()), and MPR_CLAIM_AGAIN for anything else (a
 * discarded or unfinished record, a corrupt head, a lost race, a head
 * reclaim had passed): the caller then goes the whole way,
 * mpr_claim_from() with *announced.
 *
 * prod_seen is a prod_pos this consumer loaded before, kept in its own
 * memory: it stands in for prod_pos while it is at or past reclaim_pos
 * and the head and its record fit below it. prod_pos only grows, so
 * [reclaim, prod_seen] lies inside [reclaim, prod_pos] and every check
 * decides as a fresh load would; whenever prod_seen is not enough, a fresh
 * one is loaded and kept. A consumer behind the producers then does not
 * pull the producers' line over once per record.
 */
static MPR_ALWAYS_INLINE int mpr_claim_one(const struct mpr_view *v,
					   __u64 *announce, __u64 *prod_seen,
					   struct mpr_claim *c,
					   bool *announced, int *why)
{
	struct mpmcring_meta *m = v->meta;
	__u64 *headp = &v->cons->head;
	struct mpr_pos pos;
	struct mpr_rec rec;
	int taken;

	/* Pairs with [R5]. */
	pos.reclaim = MPR_LOAD_ACQUIRE(&m->reclaim_pos);
	/* Pairs with [C2]. */
	pos.head = MPR_LOAD_ACQUIRE(headp);
	pos.prod = *prod_seen;
	/*
	 * The head on a granule, and reclaim <= head < prod_seen: what a
	 * sane head with something after it looks like against a fresh
	 * prod_pos. The granule check is load-bearing: mpr_walk_at() is
	 * sound only at an aligned position (a head written to A + 3 over a
	 * discarded record would otherwise be read as a committed record).
	 * user-writable: a head off the granule is corrupt, and the whole
	 * way reports it (prod_seen refreshed all the same, as the model's
	 * step does: loaded after the head).
	 */
	if (mpr_unlikely(pos.head & v->gmask)) {
		*prod_seen = MPR_LOAD_ACQUIRE(&m->prod_pos);
		return MPR_CLAIM_AGAIN;
	}
	if (mpr_unlikely((__s64)(pos.prod - pos.reclaim) <= 0 ||
			 pos.head - pos.reclaim >= pos.prod - pos.reclaim)) {
		/* Loaded after the head, as mpr_positions() does. */
		pos.prod = MPR_LOAD_ACQUIRE(&m->prod_pos);
		*prod_seen = pos.prod;
		/*
		 * mpr_head_sane() with the granule checked above, and "not
		 * empty", in one test: head - reclaim < prod - reclaim. When
		 * it fails, head == prod is the empty ring; any other head
		 * is outside [reclaim, prod], and the whole way reports it:
		 * never "empty".
		 */
		if (mpr_unlikely(pos.head - pos.reclaim >=
				 pos.prod - pos.reclaim)) {
			if (pos.head != pos.prod)
				return MPR_CLAIM_AGAIN;
			*why = MPR_REC_NONE;
			return MPR_CLAIM_STOP;
		}
	}
	/* One record: the view's fields, each read where it is used. */
	if (mpr_unlikely(mpr_walk_at(&v->walk, pos.head, pos.prod - pos.head,
				     &rec) != MPR_REC_COMMITTED)) {
		/*
		 * Not finished yet, and the head still there: nothing to
		 * claim. Anything else (a discarded record, a stale
		 * prod_seen, a moved head) goes the whole way.
		 */
		if (rec.state == MPR_REC_NONE &&
		    MPR_LOAD_ACQUIRE(headp) == pos.head) {
			*why = MPR_REC_NONE;
			return MPR_CLAIM_STOP;
		}
		return MPR_CLAIM_AGAIN;
	}
	taken = mpr_claim_take(v, announce, false, pos.head,
			       pos.head + rec.size, 1, c, announced);
	if (mpr_unlikely(taken <= 0))
		return taken;
	c->first = rec;
	c->start = pos.head;
	c->end = pos.head + rec.size;
	c->records = 1;
	c->bytes = rec.len;
	return 1;
}

/*
 * mpr_claim_into() after a first attempt of the caller's own that came to
 * MPR_CLAIM_AGAIN or MPR_CLAIM_STOP (then it starts over): announced is
 * what that attempt left. max_recs >= 1, as for mpr_claim_attempt().
 * c->skipped is set whatever it returns, for its own attempts only: one
 * the caller made before is the caller's to look at.
 */
static MPR_ALWAYS_INLINE int mpr_claim_from(const struct mpr_view *v,
					    __u64 *announce, bool holding,
					    __u32 max_recs, __u64 max_bytes,
					    bool hard_bytes,
					    struct mpr_claim *c,
					    struct mpr_claim_sink out,
					    bool announced)
{
	int tries, n = MPR_CLAIM_AGAIN, why = MPR_REC_NONE;

	c->skipped = MPMCRING_SLOT_IDLE;
	for (tries = 0; tries < MPR_CLAIM_TRIES; tries++) {
		n = mpr_claim_attempt(v, announce, holding, max_recs, max_bytes,
				      hard_bytes, c, out, &announced, &why);
		if (mpr_unlikely(n == MPR_CLAIM_SKIPPED)) {
			if (c->skipped == MPMCRING_SLOT_IDLE)
				c->skipped = c->start;
			n = MPR_CLAIM_AGAIN;
		}
		if (n != MPR_CLAIM_AGAIN)
			break;
	}
	if (n > 0)
		return n;
	if (n == MPR_CLAIM_STALE)	/* the announce is already idle */
		return -ESTALE;
	if (announced)	/* [M:claim-release] */
		MPR_STORE_RELEASE(announce, MPMCRING_SLOT_IDLE);
	if (n == MPR_CLAIM_AGAIN)
		return -EBUSY;
	if (why == MPR_REC_BAD)
		return -EBADMSG;
	/* A committed record stopped the walk: too big for a hard max_bytes. */
	return why == MPR_REC_COMMITTED ? -EMSGSIZE : -EAGAIN;
}

/*
 * Claims up to max_recs records holding at most max_bytes of payload,
 * starting at the ring's head. With hard_bytes clear, the first record is
 * claimed whatever its size. announce is where the claim's start is kept
 * for reclaim to see: a consumer slot's start, or a kernel-memory word
 * (read(2)). holding says whether it already holds an older claim (then it
 * stays as it is: it covers this one too). out, when not NULL, receives
 * each committed record claimed, in order (max_recs of them at most);
 * c->first is then left alone.
 *
 * Returns the number of records claimed (> 0), or -EINVAL when max_recs is
 * 0, -EAGAIN when there is nothing to claim, -EMSGSIZE when the first
 * record exceeds a hard max_bytes, -EBADMSG when the ring's positions are
 * inconsistent, -EBUSY when other consumers kept winning the race (or
 * the tries went on long runs of discarded records), -ESTALE when reclaim
 * revoked the claim while it was being made and freed its space
 * (c->records says how many records the head moved over: they are gone,
 * counted by the kernel as a revoked claim; the caller counts them as
 * lost).
 *
 * A caller that holds older claims keeps, as the start it commits with
 * (mpr_commit()), the oldest start of all it holds: a head written back
 * by a co-tenant can give a later claim a start below the first.
 *
 * Whatever it returns, c->skipped says where the first claim of discarded
 * records only began (MPMCRING_SLOT_IDLE: none): the head moved over them,
 * so a writer waiting for their room is woken by the caller (the kernel's
 * kick, the library's MPMCRING_IOC_ROOM), not by a commit.
 */
static MPR_ALWAYS_INLINE int mpr_claim_into(const struct mpr_view *v,
					    __u64 *announce, bool holding,
					    __u32 max_recs, __u64 max_bytes,
					    bool hard_bytes,
					    struct mpr_claim *c,
					    const struct mpr_claim_sink *out)
{
	if (mpr_unlikely(!max_recs)) {
		c->skipped = MPMCRING_SLOT_IDLE;
		return -EINVAL;
	}
	return mpr_claim_from(v, announce, holding, max_recs, max_bytes,
			      hard_bytes, c, mpr_sink_of(out), false);
}

static MPR_ALWAYS_INLINE int mpr_claim(const struct mpr_view *v,
				       __u64 *announce, bool holding,
				       __u32 max_recs, __u64 max_bytes,
				       bool hard_bytes, struct mpr_claim *c)
{
	return mpr_claim_into(v, announce, holding, max_recs, max_bytes,
			      hard_bytes, c, NULL);
}

/*
 * Steps through claimed records: fills rec with the next committed record in
 * [*cur, end) and moves *cur past it. Returns false at the end. Claimed
 * records cannot change while the lease holds, so this re-reads what
 * mpr_claim() checked; the checks stay, because a revoked claim's space may
 * be rewritten under it. It reads the view's walker, not a copy: it
 * mostly stops at the first record, and copying the walker per call cost
 * more than reading its fields where they are used.
 */
static MPR_ALWAYS_INLINE bool mpr_claim_next(const struct mpr_view *v,
					     __u64 *cur, __u64 end,
					     struct mpr_rec *rec)
{
	__u64 e = *cur;

	while (e != end) {
		int st = mpr_walk_at(&v->walk, e, end - e, rec);

		if (st != MPR_REC_COMMITTED && st != MPR_REC_DISCARDED)
			break;
		e += rec->size;
		if (st == MPR_REC_COMMITTED) {
			*cur = e;
			return true;
		}
	}
	*cur = e;
	return false;
}

/*
 * Whether reclaim has freed the space at start, where the claim a consumer
 * holds begins (its own copy: the announce is user-writable): then
 * producers may have written over what was read from it. Call after the
 * record reads and an acquire fence.
 */
static inline bool mpr_claim_passed(const struct mpr_view *v, __u64 start)
{
	return mpr_before(start, MPR_READ_ONCE(v->meta->reclaim_pos));
}

/*
 * Releases everything the claim holds with one exchange: the commit.
 * start is where the claim begins, as mpr_claim() returned it. Returns
 * whether the claim was revoked or passed by reclaim (then what was read
 * from it may have been overwritten meanwhile). One word decides a
 * revocation: the kernel revokes with a compare-and-swap on the same
 * start. reclaim_pos is looked at before the exchange: after it, reclaim
 * may rightly pass the space at once.
 */
static inline bool mpr_commit(const struct mpr_view *v, __u64 *announce,
			      __u64 start)
{
	bool passed;

	/* [M:commit-passed] [C5] pairs with [R5] through [P4]: the record
	 * reads come before.
	 */
	MPR_ACQUIRE_FENCE();
	passed = mpr_claim_passed(v, start);
	/* [M:commit] [C3] pairs with [R4], [C4] with [R6]: the record reads
	 * come before.
	 */
	return (mpr_xchg(announce, MPMCRING_SLOT_IDLE) & MPMCRING_SLOT_REVOKED) ||
	       passed;
}

/*
 * The meta page's room_at, loaded after a commit (mpr_commit()) or a claim
 * of discarded records only (mpr_claim_attempt(): c->skipped): where a
 * writer that waited for room wants reclaim_pos (kept once reached: then
 * no claim begins before it), 0 when no writer ever waited (and under a
 * kernel older than ABI 1.5). m is the view's meta pointer, loaded by
 * the caller before the commit: the commit's exchange makes the compiler
 * load again what it has not kept in a register.
 */
static MPR_ALWAYS_INLINE __u64 mpr_room_at(const struct mpmcring_meta *m)
{
	/*
	 * [C6] pairs with [W5]: after the commit's exchange (or the one
	 * that released the announce of a claim of discarded records
	 * only), in one order.
	 */
	return MPR_LOAD_SEQ_CST(&m->room_at);
}

/*
 * After the commit of a claim that began at start, with room_at at (from
 * mpr_room_at()): whether a writer may wait for room that claim held back,
 * so that the consumer asks the kernel to reclaim and wake it
 * (MPMCRING_IOC_ROOM) rather than leave it to the tick. A claim that
 * began at or past at held none of that room; with the head short of it,
 * the room is not all claimed yet, and the consumer whose claim reaches
 * it asks. user-writable: the head decides only whether to make a system
 * call; a wrong one costs a call or leaves the writer to the tick.
 */
static inline bool mpr_room_wanted(const struct mpr_view *v, __u64 start,
				   __u64 at)
{
	return at && mpr_before(start, at) &&
	       !mpr_before(MPR_READ_ONCE(v->cons->head), at);
}

/*
 * Whether the claim held through announce, beginning at start, was revoked
 * or passed so far: to validate what was read before acting on it, without
 * committing.
 */
static inline bool mpr_claim_revoked(const struct mpr_view *v,
				     const __u64 *announce, __u64 start)
{
	/* [M:lease-check] [C4] pairs with [R6], [C5] with [R5]: the record
	 * reads come before.
	 */
	MPR_ACQUIRE_FENCE();
	return (MPR_READ_ONCE(*announce) & MPMCRING_SLOT_REVOKED) ||
	       mpr_claim_passed(v, start);
}

/*
 * Takes the losses nobody has reported yet: moves *taken up to *total and
 * returns the difference, so each loss reaches exactly one consumer.
 *
 * *taken is read before *total: every value it holds is a total some
 * consumer read, so a total read after it is never behind it, and a
 * compare-and-swap never moves it back. Read the other way round, a total
 * read before another consumer moved *taken past it would move *taken
 * back, and the next consumer would take those losses again (seen:
 * tests/host/lost_take_test, tests/vm/overload.c).
 */
static inline __u64 mpr_take_lost(__u64 *total, __u64 *taken)
{
	int tries;

	for (tries = 0; tries < MPR_CLAIM_TRIES; tries++) {
		/* [L1] pairs with [L2]: the total after it is at least its value. */
		__u64 k = MPR_LOAD_ACQUIRE(taken);
		__u64 t = MPR_READ_ONCE(*total);

		if (t == k)
			return 0;
		/*
		 * [L2] pairs with [L1]: fully ordered, after the read of the
		 * total it stores. user-writable: taken past total is
		 * garbage, moved back to the total, 0 lost.
		 */
		if (mpr_cmpxchg(taken, k, t) == k)
			return mpr_before(k, t) ? t - k : 0;
	}
	return 0;
}

/*
 * Adds the committed records and payload bytes in [from, to) to *records
 * and *bytes, stopping at the first unfinished record or once *walk_left
 * records (discarded ones too) are walked; *walk_left is what is left.
 * Returns where it stopped.
 */
static inline __u64 mpr_count_records(const struct mpr_view *v, __u64 from,
				      __u64 to, __u64 *walk_left,
				      __u64 *records, __u64 *bytes)
{
	struct mpr_rec rec;

	while (from != to && *walk_left) {
		int st = mpr_record_at(v, from, to, &rec);

		if (st != MPR_REC_COMMITTED && st != MPR_REC_DISCARDED)
			break;
		(*walk_left)--;
		if (st == MPR_REC_COMMITTED) {
			(*records)++;
			*bytes += rec.len;
		}
		from += rec.size;
	}
	return from;
}

/* ---------------------------------------------------------------------
 * Shared with the producer side (mpmcring_produce.h).
 */

/*
 * What reclaim remembers of one consumer slot, in memory only the producer
 * side writes: the claim start it last saw there, since when, and the head
 * at that moment. A claim is a lease: standing still for claim_timeout_ms
 * ends it. A new start counts as a new claim only when it is not behind
 * that head: an honest consumer claims at the head after releasing all it
 * held, while a start moving about behind the head releases nothing and
 * must not restart the lease.
 */
struct mpr_lease {
	__u64 seen;		/* MPMCRING_SLOT_IDLE when idle */
	__u64 since_ms;
	__u64 head;		/* the head when seen changed (IDLE: never) */
};

/*
 * The ring's floor lease, beside the slots' (mpr_floor_lease()). Slot
 * leases are per slot, and a start that moves to the head restarts its
 * slot's: slots taking turns holding the oldest claim, or one slot at the
 * head while a head written back holds the floor, would keep reclaim where
 * it is for as long as a co-tenant keeps at it. A floor lease starts with
 * mark at the highest head reclaim has gone by, and ends when reclaim
 * reaches mark (the next one starts). In kernel memory, under the reclaim
 * lock.
 */
struct mpr_floor {
	__u64 top;		/* the highest head reclaim went by (IDLE: none) */
	__u64 mark;		/* top when this lease started (IDLE: none) */
	__u64 since_ms;
};

/*
 * A producer's chunk of the ring (mpmcring_chunk.h): records are reserved
 * in [fill, end) on fill alone. In kernel memory (the module: per CPU and
 * interrupt level) or the host harness's.
 */
struct mpr_chunk {
	__u64 fill;	/* where the next record goes; == end: closed */
	__u64 end;
	__u64 max_used;	/* the class limit it was reserved under */
	__u64 seen;	/* the fill the module's unpin scans last saw move */
	__u64 seen_at;	/* and when (jiffies) */
	__u32 busy;	/* its owner is in mpr_chunk_reserve_slow() */
};

/* Each chunk on a line of its own (the sides lay them out so). */
#define MPR_CHUNK_STRIDE	64

/*
 * Why a reservation failed: the caller counts it. MPR_FAIL_BUSY (overwrite
 * mode: its last round found the reclaim bit taken) is counted as
 * contention; a caller that may wait (write(2)) waits for the bit.
 */
enum {
	MPR_FAIL_FULL = 1,
	MPR_FAIL_PRIORITY,
	MPR_FAIL_CONTENTION,
	MPR_FAIL_BUSY,
};

#endif /* MPMCRING_PROTO_H */
