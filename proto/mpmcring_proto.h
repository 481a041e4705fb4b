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
	__u32 gshift;		/* log2(granule) */
	__u32 max_record;
	__u32 max_consumers;
	__u32 mode;
	__u32 claim_timeout_ms;	/* 0: claims never expire */
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
	v->stamp_mask = (l->data_size >> l->granule_shift) - 1;
	v->max_record = l->max_record;
	v->max_consumers = l->max_consumers;
	v->mode = l->mode;
	v->claim_timeout_ms = (l->features & MPMCRING_FEAT_LEASE) ?
			      l->claim_timeout_ms : 0;
}

/* A record as the walkers see it. */
struct mpr_rec {
	__u64 pos;
	__u64 size;		/* bytes of ring space, header and padding included */
	__u32 len;		/* payload bytes */
	__u8 prio;
	__u8 flags;
	int state;		/* MPR_REC_* */
};

enum {
	MPR_REC_NONE = 0,	/* no finished record starts here (yet) */
	MPR_REC_COMMITTED,
	MPR_REC_DISCARDED,
	MPR_REC_BAD,		/* stamped, but the header does not fit */
};

/* One claim: [start, end) now belongs to the claiming consumer. */
struct mpr_claim {
	__u64 start;
	__u64 end;
	__u32 records;		/* committed records inside (discards skipped) */
	__u64 bytes;		/* their payload bytes */
	struct mpr_rec first;	/* the first committed record */
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

static inline bool mpr_aligned(const struct mpr_view *v, __u64 pos)
{
	return !(pos & ((1ULL << v->gshift) - 1));
}

static inline __u64 mpr_rec_size(const struct mpr_view *v, __u32 len)
{
	__u64 g = 1ULL << v->gshift;

	return ((__u64)MPMCRING_HDR_SIZE + len + g - 1) & ~(g - 1);
}

static inline __u64 *mpr_stamp(const struct mpr_view *v, __u64 pos)
{
	return &v->stamps[(pos >> v->gshift) & v->stamp_mask];
}

static inline struct mpmcring_rec_hdr *mpr_hdr(const struct mpr_view *v,
					       __u64 pos)
{
	return (struct mpmcring_rec_hdr *)(v->data + (pos & v->data_mask));
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
static inline void mpr_positions(const struct mpr_view *v, struct mpr_pos *s)
{
	/* [M:positions] Pairs with [R5]. */
	s->reclaim = MPR_LOAD_ACQUIRE(&v->meta->reclaim_pos);
	/* Pairs with [C2]. */
	s->head = MPR_LOAD_ACQUIRE(&v->cons->head);
	/* After the head: prod is never older than it. */
	s->prod = MPR_LOAD_ACQUIRE(&v->meta->prod_pos);
}

/* A head outside [reclaim, prod], or between granules, is corrupt. */
static inline bool mpr_head_sane(const struct mpr_view *v,
				 const struct mpr_pos *s)
{
	/* [M:head-sane] */
	return mpr_aligned(v, s->head) && mpr_between(s->reclaim, s->head, s->prod);
}

/*
 * Reads the record that starts at pos, if a finished one does; it must end
 * at or before bound. The stamp carries the full position, so a stamp left by
 * an earlier lap never matches, and payload bytes are never taken for a
 * header: the header is read only after the stamp vouches for it.
 */
static inline int mpr_record_at(const struct mpr_view *v, __u64 pos,
				__u64 bound, struct mpr_rec *rec)
{
	const struct mpmcring_rec_hdr *hdr = mpr_hdr(v, pos);
	/* [M:record-at] [C1] pairs with [P2]: the header and payload are visible. */
	__u64 stamp = MPR_LOAD_ACQUIRE(mpr_stamp(v, pos));
	__u32 len;

	rec->pos = pos;
	if (stamp == (pos | MPMCRING_STAMP_COMMITTED))
		rec->state = MPR_REC_COMMITTED;
	else if (stamp == (pos | MPMCRING_STAMP_DISCARDED))
		rec->state = MPR_REC_DISCARDED;
	else
		return rec->state = MPR_REC_NONE;

	/* The space may be reused under a walker that has not claimed it. */
	len = MPR_READ_SPECULATIVE(hdr->len);
	rec->prio = MPR_READ_SPECULATIVE(hdr->prio);
	rec->flags = MPR_READ_SPECULATIVE(hdr->flags);
	if (len > v->max_record || mpr_rec_size(v, len) > bound - pos)
		return rec->state = MPR_REC_BAD;
	rec->len = len;
	rec->size = mpr_rec_size(v, len);
	return rec->state;
}

/* ---------------------------------------------------------------------
 * Consumer side: the library, the kernel's read(2) and kernel tests.
 */

/*
 * Claims up to max_recs records holding at most max_bytes of payload,
 * starting at the ring's head. With hard_bytes clear, the first record is
 * claimed whatever its size. announce is where the claim's start is kept
 * for reclaim to see: a consumer slot's start, or a kernel-memory word
 * (read(2)). holding says whether it already holds an older claim (then it
 * stays as it is: it covers this one too).
 *
 * Returns the number of records claimed (> 0), or -EAGAIN when there is
 * nothing to claim, -EMSGSIZE when the first record exceeds a hard
 * max_bytes, -EBADMSG when the ring's positions are inconsistent, -EBUSY when
 * other consumers kept winning the race, -ESTALE when reclaim revoked the
 * claim while it was being made and freed its space (c->records says how
 * many records the head moved over: they are gone, counted by the kernel
 * as a revoked claim; the caller counts them as lost).
 *
 * A caller that holds older claims keeps, as the start it commits with
 * (mpr_commit()), the oldest start of all it holds: a head written back
 * by a co-tenant can give a later claim a start below the first.
 */
static inline int mpr_claim(const struct mpr_view *v, __u64 *announce,
			    bool holding,
			    __u32 max_recs, __u64 max_bytes, bool hard_bytes,
			    struct mpr_claim *c)
{
	__u64 *headp = &v->cons->head;
	int tries;

	for (tries = 0; tries < MPR_CLAIM_TRIES; tries++) {
		struct mpr_pos pos;
		__u64 h, p, e, bytes = 0;
		__u32 n = 0, walked = 0;
		bool too_big = false, bad = false;
		struct mpr_rec rec;

		mpr_positions(v, &pos);
		if (!mpr_head_sane(v, &pos))
			return -EBADMSG;
		h = pos.head;
		p = pos.prod;
		e = h;
		if (h == p)
			break;
		if (!holding)	/* [M:claim-announce] */
			MPR_WRITE_ONCE(*announce, h);

		/* [M:claim-walk] Discarded records do not count in n: bound them too. */
		while (n < max_recs && e != p && walked++ < max_recs + MPR_CLAIM_WALK) {
			int st = mpr_record_at(v, e, p, &rec);

			if (st == MPR_REC_NONE)
				break;
			if (st == MPR_REC_BAD) {
				bad = true;
				break;
			}
			if (st == MPR_REC_COMMITTED) {
				if (bytes + rec.len > max_bytes &&
				    (n > 0 || hard_bytes)) {
					too_big = n == 0;
					break;
				}
				if (!n++)
					c->first = rec;
				bytes += rec.len;
			}
			e += rec.size;
		}

		if (e == h) {
			/* Nothing here; report only what a stable head shows. */
			if (MPR_LOAD_ACQUIRE(headp) != h)	/* [M:claim-recheck] */
				continue;
			if (!holding)	/* [M:claim-release] */
				MPR_STORE_RELEASE(announce, MPMCRING_SLOT_IDLE);
			if (bad)
				return -EBADMSG;
			return too_big ? -EMSGSIZE : -EAGAIN;
		}

		/* [M:claim-cas] [C2] pairs with [R3]: the announce is
		 * visible to anyone who sees this claim.
		 */
		if (mpr_cmpxchg(headp, h, e) != h)
			continue;
		/*
		 * [M:claim-passed] A head written back by a co-tenant can
		 * make the compare succeed on space reclaim has freed: not a
		 * claim at all.
		 * The commit checks again ([C5]) for a reclaim that passes it
		 * later.
		 */
		if (!holding && mpr_before(h, MPR_LOAD_ACQUIRE(&v->meta->reclaim_pos))) {
			/*
			 * An exchange, not a store: a revocation between the
			 * cmpxchg and here marked the announce, and counted a
			 * claim the consumer must hear of. [C4] pairs with
			 * [R6], as at the commit.
			 */
			if (mpr_xchg(announce, MPMCRING_SLOT_IDLE) &
			    MPMCRING_SLOT_REVOKED) {
				c->records = n;
				return -ESTALE;
			}
			continue;
		}
		if (!n) {
			/* Only discarded records: nothing to hand over. */
			if (!holding)
				MPR_STORE_RELEASE(announce, MPMCRING_SLOT_IDLE);
			continue;
		}
		c->start = h;
		c->end = e;
		c->records = n;
		c->bytes = bytes;
		return n;
	}
	if (!holding)
		MPR_STORE_RELEASE(announce, MPMCRING_SLOT_IDLE);
	return tries < MPR_CLAIM_TRIES ? -EAGAIN : -EBUSY;
}

/*
 * Steps through claimed records: fills rec with the next committed record in
 * [*cur, end) and moves *cur past it. Returns false at the end. Claimed
 * records cannot change, so this only re-reads what mpr_claim() checked.
 */
static inline bool mpr_claim_next(const struct mpr_view *v, __u64 *cur,
				  __u64 end, struct mpr_rec *rec)
{
	while (*cur != end) {
		int st = mpr_record_at(v, *cur, end, rec);

		if (st != MPR_REC_COMMITTED && st != MPR_REC_DISCARDED)
			return false;
		*cur += rec->size;
		if (st == MPR_REC_COMMITTED)
			return true;
	}
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
 */
static inline __u64 mpr_take_lost(__u64 *total, __u64 *taken)
{
	int tries;

	for (tries = 0; tries < MPR_CLAIM_TRIES; tries++) {
		__u64 t = MPR_READ_ONCE(*total);
		__u64 k = MPR_READ_ONCE(*taken);

		if (t == k)
			return 0;
		if (mpr_cmpxchg(taken, k, t) == k)
			/* user-writable: taken past total is garbage, 0 lost */
			return mpr_before(k, t) ? t - k : 0;
	}
	return 0;
}

/*
 * Counts committed records and payload bytes in [from, to), stopping at the
 * first unfinished record or after max_walk records. Returns where it stopped.
 */
static inline __u64 mpr_count_records(const struct mpr_view *v, __u64 from,
				      __u64 to, __u64 max_walk,
				      __u64 *records, __u64 *bytes)
{
	struct mpr_rec rec;

	*records = 0;
	*bytes = 0;
	while (from != to && max_walk--) {
		int st = mpr_record_at(v, from, to, &rec);

		if (st != MPR_REC_COMMITTED && st != MPR_REC_DISCARDED)
			break;
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

/* Why a reservation failed: the caller counts it. */
enum {
	MPR_FAIL_FULL = 1,
	MPR_FAIL_PRIORITY,
	MPR_FAIL_CONTENTION,
};

#endif /* MPMCRING_PROTO_H */
