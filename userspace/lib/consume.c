// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Reading records in place. A claim moves the shared head over finished
 * records with one compare-and-swap; the records stay valid until the
 * consumer commits, which is one exchange on its own slot's start. Every
 * position and length read from shared memory is checked by the protocol
 * code before it is used, so a corrupt ring yields -EBADMSG, never a crash.
 *
 * A claim is a lease (MPMCRING_FEAT_LEASE): one that stands still longer
 * than the ring's claim timeout is revoked, and producers may overwrite it.
 * The commit, and mpmcring_validate() before it, tell the consumer so
 * (-ESTALE): then what it read from those records must be thrown away.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "internal.h"

/* What read, read_batch, commit and consume say when fn calls them. */
#define MPR_MSG_IN_CONSUME(call)                                                             \
	call ": called from inside mpmcring_consume()'s callback on the consumer it feeds: " \
	     "return from the callback (a negative value stops consume) and call it then; "  \
	     "or a callback left consume by longjmp, which the consumer does not survive: "  \
	     "only mpmcring_consumer_free() is left"

/*
 * The total a consumer may stop looking at: total once the shared "taken"
 * counter is at or past it, by this consumer's take or another's. A take
 * that lost MPR_CLAIM_TRIES swaps gives up, and what it left must be
 * taken at the next call, not only once the total moves again: the
 * consumers that won may never ask again. user-writable: taken garbage
 * past the total only makes this consumer wait for the next move, as
 * before; garbage behind it is moved up by the next take.
 */
static uint64_t mpr_lib_lost_seen(__u64 *taken, uint64_t total, uint64_t seen)
{
	return mpr_before(MPR_READ_ONCE(*taken), total) ? seen : total;
}

/*
 * Takes unreported losses, only when the consumer asks: one that never
 * asks must not swallow reports meant for the others. The totals live on
 * a read-mostly line; only when they moved since this consumer last looked
 * (or its last take gave up) does it touch the shared "taken" counters.
 */
static void mpr_lib_take_lost(struct mpmcring_consumer *c)
{
	const struct mpr_view *v = &c->r->v;
	uint64_t d = MPR_READ_ONCE(v->meta->lost_dropped);
	uint64_t o = MPR_READ_ONCE(v->meta->lost_overwritten);

	if (d != c->seen_dropped) {
		c->lost.dropped +=
			mpr_take_lost(&v->meta->lost_dropped, &v->cons->lost_dropped_taken);
		c->seen_dropped =
			mpr_lib_lost_seen(&v->cons->lost_dropped_taken, d, c->seen_dropped);
	}
	if (o != c->seen_overwritten) {
		c->lost.overwritten +=
			mpr_take_lost(&v->meta->lost_overwritten, &v->cons->lost_overwritten_taken);
		c->seen_overwritten =
			mpr_lib_lost_seen(&v->cons->lost_overwritten_taken, o, c->seen_overwritten);
	}
}

/* The rare outcomes of a claim: a revoked claim, a corrupt ring. */
static int mpr_lib_claim_revoked(void)
{
	return mpr_lib_error(
		ESTALE,
		"the consumer's claim was revoked (held past the ring's claim timeout): commit before reading more");
}

/* After -EBADMSG: the kernel moves a head that cannot be right (bounded
 * work), then one more claim. */
static MPR_SLOW_PATH int mpr_lib_claim_repair(struct mpmcring_consumer *c, unsigned int max_records,
					      uint64_t max_bytes, struct mpr_claim *cl,
					      const struct mpr_claim_sink *out)
{
	int n = -EBADMSG;

	if (c->r->fd >= 0) {
		ioctl(c->r->fd, MPMCRING_IOC_REPAIR);
		n = mpr_claim_into(&c->r->v, &c->slot->start, c->holding, max_records, max_bytes,
				   false, cl, out);
	}
	if (n == -EBADMSG)
		return mpr_lib_error(
			EBADMSG,
			"the ring's consumer state is corrupt (head outside the ring or a record that does not fit)");
	return n;
}

/*
 * The other failures of a claim, each with its message: -EAGAIN on every
 * idle loop, so a constant one (no formatting).
 */
static MPR_SLOW_PATH int mpr_lib_claim_failed(int n)
{
	if (n == -EAGAIN)
		return mpr_lib_fail(EAGAIN, MPR_MSG_EMPTY);
	if (n == -EBUSY)
		return mpr_lib_fail(
			EBUSY,
			"records are ready, but other consumers won the race for them every time, or the claim passed a long run of discarded records: claim again at once");
	return mpr_lib_error(-n, "claiming records: %s", strerror(-n));
}

/*
 * A claim revoked while it was made (mpr_claim_drop_passed()): the records
 * the head moved over are gone, and the kernel counted a revoked claim.
 */
static MPR_SLOW_PATH int mpr_lib_claim_stale(struct mpmcring_consumer *c, __u32 records)
{
	c->lost.revoked += records;
	return mpr_lib_error(
		ESTALE,
		"the consumer's claim was revoked while it was being made (the consumer stood still past the ring's claim timeout, %u ms): its records are lost, counted as revoked; claim again",
		c->r->v.claim_timeout_ms);
}

/*
 * The consumer's own counts after a claim of n records, and where its claim
 * begins: the commit checks reclaim_pos against our copy (the slot's start
 * is user-writable). The oldest start of what it holds: see mpr_claim_into().
 */
static MPR_ALWAYS_INLINE void mpr_lib_claimed(struct mpmcring_consumer *c, unsigned int n,
					      const struct mpr_claim *cl)
{
	if (!c->holding || mpr_before(cl->start, c->claim_start))
		c->claim_start = cl->start;
	c->holding = true;
	c->held_records += n;
	c->held_bytes += cl->bytes;
	/* Informational: the kernel counts these if this process dies. */
	MPR_WRITE_ONCE(c->slot->held_records, c->held_records);
}

/*
 * After the commit of a claim that began at start, or a claim of discarded
 * records only that did (mpr_lib_room_skipped()), with room_at set (at): a
 * writer may wait for room the claim held, and then the kernel reclaims
 * and wakes it (best effort: the ioctl's errors change nothing, errno
 * included; the tick backs it up). Over plain memory there is no kernel
 * and nobody waits. The commit calls it last (a jump): nothing of the
 * commit's is kept across it.
 */
static MPR_SLOW_PATH int mpr_lib_room(struct mpmcring_consumer *c, __u64 start, __u64 at)
{
	int saved;

	if (c->r->fd >= 0 && mpr_room_wanted(&c->r->v, start, at)) {
		saved = errno;
		ioctl(c->r->fd, MPMCRING_IOC_ROOM);
		errno = saved;
	}
	return 0;
}

/*
 * After a claim of discarded records only that began at skipped (struct
 * mpr_claim): nothing of it is handed over, so no commit asks for the room
 * it held; a writer may wait for that room, and is asked for as after a
 * commit (mpr_lib_room()). When the same call then claimed records from
 * start on (claimed), a target past start lies in that claim, whose
 * commit asks: not twice.
 */
static MPR_SLOW_PATH void mpr_lib_room_skipped(struct mpmcring_consumer *c, __u64 skipped,
					       bool claimed, __u64 start)
{
	/* [C6] pairs with [W5]: after the claim's exchange of the announce. */
	__u64 at = mpr_room_at(c->r->v.meta);

	if (at && !(claimed && mpr_before(start, at)))
		mpr_lib_room(c, skipped, at);
}

/* After a claim that returned n: see mpr_lib_room_skipped(). */
static MPR_ALWAYS_INLINE void mpr_lib_skipped(struct mpmcring_consumer *c,
					      const struct mpr_claim *cl, int n)
{
	if (mpr_unlikely(cl->skipped != MPMCRING_SLOT_IDLE))
		mpr_lib_room_skipped(c, cl->skipped, n > 0, cl->start);
}

/*
 * The whole claim behind the entry points: the revocation check, the claim
 * (after a first attempt of the caller's own: announced is what it left),
 * one repair through the kernel on -EBADMSG, the consumer's counts.
 */
static MPR_ALWAYS_INLINE int mpr_lib_claim(struct mpmcring_consumer *c, unsigned int max_records,
					   uint64_t max_bytes, struct mpr_claim *cl,
					   const struct mpr_claim_sink *out, bool announced)
{
	const struct mpr_view *v = &c->r->v;
	int n;

	/* A revoked claim protects nothing: what it would cover is not ours. */
	if (c->holding && mpr_claim_revoked(v, &c->slot->start, c->claim_start))
		return mpr_lib_claim_revoked();
	n = mpr_claim_from(v, &c->slot->start, c->holding, max_records, max_bytes, false, cl,
			   mpr_sink_of(out), announced);
	mpr_lib_skipped(c, cl, n);
	if (mpr_unlikely(n == -EBADMSG)) {
		n = mpr_lib_claim_repair(c, max_records, max_bytes, cl, out);
		mpr_lib_skipped(c, cl, n);
	}
	if (mpr_unlikely(n == -ESTALE))
		return mpr_lib_claim_stale(c, cl->records);
	if (n < 0)
		return mpr_lib_claim_failed(n);
	mpr_lib_claimed(c, n, cl);
	return n;
}

/*
 * The common case of every entry point, inlined there: a consumer that
 * holds nothing makes one attempt. Returns the records claimed, 0 when the
 * caller must go the whole way (mpr_lib_claim(), with *announced), or, for
 * the caller to hand to mpr_lib_claim_fast_failed(), MPR_CLAIM_STOP (an
 * empty ring) or MPR_CLAIM_STALE (revoked while it was made).
 */
static MPR_ALWAYS_INLINE int mpr_lib_claim_fast(struct mpmcring_consumer *c,
						unsigned int max_records, uint64_t max_bytes,
						struct mpr_claim *cl,
						const struct mpr_claim_sink *out, bool *announced)
{
	int why, n;

	*announced = false;
	/* in_consume: fn of a consume that holds nothing yet (its loss record). */
	if (mpr_unlikely(c->holding | c->in_consume))
		return 0;
	if (max_records == 1) {
		n = mpr_claim_one(&c->r->v, &c->slot->start, &c->prod_seen, cl, announced, &why);
		if (n > 0 && out)
			out->fn(out->ctx, 0, &cl->first);
	} else
		n = mpr_claim_attempt(&c->r->v, &c->slot->start, false, max_records, max_bytes,
				      false, cl, mpr_sink_of(out), announced, &why);
	if (mpr_likely(n > 0)) {
		/* Held nothing before: the counts start over, the claim too. */
		c->holding = true;
		c->claim_start = cl->start;
		c->held_records = n;
		c->held_bytes = cl->bytes;
		/* Informational: the kernel counts these if this process dies. */
		MPR_WRITE_ONCE(c->slot->held_records, n);
		return n;
	}
	if (mpr_unlikely(n == MPR_CLAIM_STALE))
		return n;
	if (n == MPR_CLAIM_STOP && why == MPR_REC_NONE && !*announced)
		return n;
	/* Discarded records only, from cl->start on: the whole way may claim none. */
	if (n == MPR_CLAIM_SKIPPED)
		mpr_lib_room_skipped(c, cl->start, false, 0);
	return 0;
}

/*
 * What the entry points return for mpr_lib_claim_fast()'s MPR_CLAIM_STOP
 * and MPR_CLAIM_STALE: a call they make last (a jump), so that nothing of
 * theirs is kept across it.
 */
static MPR_SLOW_PATH int mpr_lib_claim_fast_failed(struct mpmcring_consumer *c, int n,
						   __u32 records)
{
	if (n == MPR_CLAIM_STALE)
		return mpr_lib_claim_stale(c, records);
	return mpr_lib_fail(EAGAIN, MPR_MSG_EMPTY);
}

/*
 * struct mpmcring_record's len, prio, flags and reserved are the header's
 * eight bytes, in its order: the header word is copied in with one store,
 * reserved cleared (the ring's memory may hold anything there). reserved2
 * is room for later fields: 0 from this library.
 */
_Static_assert(offsetof(struct mpmcring_record, len) == 8 &&
		       offsetof(struct mpmcring_record, prio) == 12 &&
		       offsetof(struct mpmcring_record, flags) == 13 &&
		       offsetof(struct mpmcring_record, reserved) == 14 &&
		       offsetof(struct mpmcring_record, pos) == 16 &&
		       offsetof(struct mpmcring_rec_hdr, len) == 0 &&
		       offsetof(struct mpmcring_rec_hdr, prio) == 4 &&
		       offsetof(struct mpmcring_rec_hdr, flags) == 5 &&
		       offsetof(struct mpmcring_rec_hdr, reserved) == 6,
	       "struct mpmcring_record mirrors the record header");

static MPR_ALWAYS_INLINE void mpr_lib_record_set(struct mpmcring_record *rec,
						 const unsigned char *data, const struct mpr_rec *r)
{
	union mpr_hdr_word u = { .w = r->hdr };

	u.h.reserved = 0;
	rec->data = data;
	memcpy((unsigned char *)rec + offsetof(struct mpmcring_record, len), &u.w, sizeof(u.w));
	rec->pos = r->pos;
	memset(rec->reserved2, 0, sizeof(rec->reserved2));
}

static MPR_ALWAYS_INLINE void mpr_lib_record(const struct mpr_rec *r, struct mpmcring_record *rec)
{
	mpr_lib_record_set(rec, r->payload, r);
}

static MPR_ALWAYS_INLINE bool mpr_lib_next(struct mpmcring_consumer *c, __u64 *cur, __u64 end,
					   struct mpmcring_record *rec)
{
	struct mpr_rec r;

	if (!mpr_claim_next(&c->r->v, cur, end, &r))
		return false;
	mpr_lib_record(&r, rec);
	return true;
}

static bool mpr_lib_next_pending(struct mpmcring_consumer *c, struct mpmcring_record *rec)
{
	if (c->pending && mpr_lib_next(c, &c->pend_cur, c->pend_end, rec))
		return true;
	c->pending = false;
	return false;
}

/* Whether a claimed, undelivered record remains (without taking it). */
static bool mpr_lib_pending_left(struct mpmcring_consumer *c)
{
	struct mpmcring_record rec;
	__u64 cur = c->pend_cur;

	return c->pending && mpr_lib_next(c, &cur, c->pend_end, &rec);
}

/* mpmcring_read() past its first attempt, or with records pending. */
static MPR_SLOW_PATH int mpr_lib_read_slow(struct mpmcring_consumer *c, struct mpmcring_record *rec,
					   bool announced)
{
	struct mpr_claim cl;
	int n;

	if (c->in_consume)
		return mpr_lib_fail(EINVAL, MPR_MSG_IN_CONSUME("mpmcring_read"));
	/*
	 * The rest of a stopped consume, after the lease is checked as
	 * consume checks it: revoked, its space may be written over while the
	 * old stamps stay, and the walk could take a payload for a header.
	 */
	if (c->pending && c->holding &&
	    mpr_unlikely(mpr_claim_revoked(&c->r->v, &c->slot->start, c->claim_start)))
		return mpr_lib_claim_revoked();
	if (mpr_lib_next_pending(c, rec)) {
		c->handed_out = true;
		return 0;
	}
	n = mpr_lib_claim(c, 1, UINT64_MAX, &cl, NULL, announced);
	if (n < 0)
		return n;
	mpr_lib_record(&cl.first, rec);
	c->handed_out = true;
	return 0;
}

/*
 * The entry points with a fast path, up to mpmcring_read_batch(): a claim
 * fills struct mpr_claim exactly when it returns a count above zero, and
 * *why when it returns MPR_CLAIM_STOP; GCC cannot follow that through the
 * inlined walk and warns about what they read only then. Only here.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

int mpmcring_read(struct mpmcring_consumer *c, struct mpmcring_record *rec)
{
	struct mpr_claim cl;
	bool announced;
	int n;

	/* Each goes the whole way (mpr_lib_claim_fast() would refuse the two last). */
	if (mpr_unlikely(c->pending | c->holding | c->in_consume))
		return mpr_lib_read_slow(c, rec, false);
	n = mpr_lib_claim_fast(c, 1, UINT64_MAX, &cl, NULL, &announced);
	if (mpr_unlikely(n <= 0))
		return n ? mpr_lib_claim_fast_failed(c, n, cl.records)
			 : mpr_lib_read_slow(c, rec, announced);
	/* One record claimed: the claim already read its header. */
	mpr_lib_record(&cl.first, rec);
	c->handed_out = true;
	return 0;
}

/*
 * Whether read_batch or read_many (call) must refuse a new claim: from
 * fn of a consume on this consumer (-EINVAL), once the claim holding a
 * stopped consume's records is revoked (-ESTALE, as mpmcring_read() says
 * there, and before any walk of their space, which may hold other
 * records now), or while those records are undelivered (-EINVAL: the new
 * claim starts past them, and the caller's commit would drop them
 * unread). Pending records are held: the fast path announced nothing.
 * Sets the message; 0 when not refused.
 */
static MPR_SLOW_PATH int mpr_lib_new_claim_refused(struct mpmcring_consumer *c, const char *call)
{
	if (c->in_consume)
		return mpr_lib_error(EINVAL, "%s" MPR_MSG_IN_CONSUME(""), call);
	if (c->pending && c->holding &&
	    mpr_claim_revoked(&c->r->v, &c->slot->start, c->claim_start))
		return mpr_lib_claim_revoked();
	if (c->handed_out && mpr_lib_pending_left(c))
		return mpr_lib_error(
			EINVAL,
			"%s: records an unfinished mpmcring_consume() claimed are still undelivered: take them with mpmcring_read() (the consumer also holds records from read, read_batch or read_many, so mpmcring_consume() is refused), then mpmcring_commit()",
			call);
	if (mpr_lib_pending_left(c))
		return mpr_lib_error(
			EINVAL,
			"%s: records an unfinished mpmcring_consume() claimed are still undelivered: take them with mpmcring_consume() or mpmcring_read() first",
			call);
	return 0;
}

/* Where mpmcring_read_many() has its claim put each record. */
struct mpr_lib_many {
	struct mpmcring_record *recs;
};

static MPR_ALWAYS_INLINE void mpr_lib_many_put(void *ctx, __u32 i, const struct mpr_rec *r)
{
	const struct mpr_lib_many *m = ctx;

	/* By index: an attempt that loses the race starts over at 0. */
	mpr_lib_record_set(&m->recs[i], r->payload, r);
}

static MPR_SLOW_PATH int mpr_lib_read_many_slow(struct mpmcring_consumer *c,
						struct mpmcring_record *recs,
						unsigned int max_records, size_t max_bytes,
						bool announced)
{
	struct mpr_lib_many m = { recs };
	const struct mpr_claim_sink sink = { mpr_lib_many_put, &m };
	struct mpr_claim cl;
	int n;

	n = mpr_lib_new_claim_refused(c, "mpmcring_read_many");
	if (n)
		return n;
	n = mpr_lib_claim(c, max_records, max_bytes, &cl, &sink, announced);
	if (n > 0)
		c->handed_out = true;
	return n;
}

int mpmcring_read_many(struct mpmcring_consumer *c, struct mpmcring_record *recs,
		       unsigned int max_records, size_t max_bytes)
{
	struct mpr_lib_many m = { recs };
	const struct mpr_claim_sink sink = { mpr_lib_many_put, &m };
	struct mpr_claim cl;
	bool announced;
	int n;

	if (!max_records)
		return mpr_lib_error(EINVAL, "mpmcring_read_many: max_records is 0");
	n = mpr_lib_claim_fast(c, max_records, max_bytes, &cl, &sink, &announced);
	if (mpr_unlikely(n <= 0))
		return n ? mpr_lib_claim_fast_failed(c, n, cl.records)
			 : mpr_lib_read_many_slow(c, recs, max_records, max_bytes, announced);
	c->handed_out = true;
	return n;
}

/*
 * mpmcring_read_batch()'s fast claim adds up the sizes of the records it
 * takes into the __u64 at ctx: when they fill the claim, [start, end)
 * holds no discarded record, and mpmcring_batch_next() need not tell them
 * apart (MPR_LIB_BATCH_DENSE).
 */
static MPR_ALWAYS_INLINE void mpr_lib_sizes_put(void *ctx, __u32 i, const struct mpr_rec *r)
{
	(void)i;
	*(__u64 *)ctx += r->size;
}

/*
 * priv[0] of a batch: every record in [cur, end) is committed; priv[1]:
 * how many records are still to be handed out; priv[2]: how many payload
 * bytes.
 */
#define MPR_LIB_BATCH_DENSE 1

/*
 * A batch of the claim cl, handed out: it carries the claim generation
 * (the commit ends it), whether it is dense (MPR_LIB_BATCH_DENSE) and its
 * count; its reserved fields are 0. Field by field: a compound literal
 * has GCC zero all 96 bytes first (rep stos) and then store most of them
 * again. priv[3] is not used, but zeroed: nothing of the caller's stack is
 * left in the batch.
 */
static MPR_ALWAYS_INLINE void mpr_lib_batch_set(struct mpmcring_consumer *c,
						struct mpmcring_batch *b,
						const struct mpr_claim *cl, bool dense)
{
	b->records = cl->records;
	b->reserved = 0;
	b->bytes = cl->bytes;
	b->reserved2[0] = 0;
	b->reserved2[1] = 0;
	b->c = c;
	b->cur = cl->start;
	b->end = cl->end;
	b->gen = c->gen;
	b->priv[0] = dense ? MPR_LIB_BATCH_DENSE : 0;
	b->priv[1] = cl->records;
	b->priv[2] = cl->bytes;
	b->priv[3] = 0;
	c->handed_out = true;
}

static MPR_SLOW_PATH int mpr_lib_read_batch_slow(struct mpmcring_consumer *c,
						 struct mpmcring_batch *b, unsigned int max_records,
						 size_t max_bytes, bool announced)
{
	struct mpr_claim cl;
	int n;

	n = mpr_lib_new_claim_refused(c, "mpmcring_read_batch");
	if (n)
		return n;
	n = mpr_lib_claim(c, max_records, max_bytes, &cl, NULL, announced);
	if (n < 0)
		return n;
	/* Its attempts may have been retried: not known to be dense. */
	mpr_lib_batch_set(c, b, &cl, false);
	return n;
}

int mpmcring_read_batch(struct mpmcring_consumer *c, struct mpmcring_batch *b,
			unsigned int max_records, size_t max_bytes)
{
	__u64 sizes = 0;
	const struct mpr_claim_sink sink = { mpr_lib_sizes_put, &sizes };
	struct mpr_claim cl;
	bool announced;
	int n;

	if (!max_records)
		return mpr_lib_error(EINVAL, "mpmcring_read_batch: max_records is 0");
	/* One attempt: the sink saw each record it took, once. */
	n = mpr_lib_claim_fast(c, max_records, max_bytes, &cl, &sink, &announced);
	if (mpr_unlikely(n <= 0))
		return n ? mpr_lib_claim_fast_failed(c, n, cl.records)
			 : mpr_lib_read_batch_slow(c, b, max_records, max_bytes, announced);
	mpr_lib_batch_set(c, b, &cl, sizes == cl.end - cl.start);
	return n;
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/*
 * The next record of a dense batch: every record in [*cur, end)
 * committed, as the claim's walk found them. Their stamps were checked
 * then, and that walk's load-acquires ([C1]) ordered these header reads
 * after their publication. While the claim stands nothing in it changes
 * (only producers write the data, mapped read-only to every process), so
 * this reads the same headers the claim did. Once it is revoked producers
 * may write there: the records are then garbage (the commit says
 * -ESTALE), and a stamp check would not have kept them out either (a
 * granule's stamp stays until a record starting there is finished, while
 * a later record may already be written over it). Memory safety does not
 * rest on the stamps: every header is bounds-checked as mpr_walk_at()
 * checks it (len at most max_record, the record inside [*cur, end)), the
 * data is mapped twice back to back, and each step moves *cur forward by
 * a whole record. And it hands out no more than the *left records the
 * claim took there, nor more than the *bytes_left payload bytes: garbage
 * headers could chain many short records where the claim had a few, or
 * longer ones where it had headers and padding, and callers size arrays
 * by the batch's count and buffers by its bytes (the stamp walk finds only
 * records the claim took, so it never gave more records; bytes, see
 * mpr_lib_batch_next_mixed()). Past a bound the batch ends for good.
 */
static MPR_ALWAYS_INLINE bool mpr_lib_next_dense(struct mpmcring_consumer *c, __u64 *cur, __u64 end,
						 uint64_t *left, uint64_t *bytes_left,
						 struct mpmcring_record *rec)
{
	const struct mpr_walker *w = &c->r->v.walk;
	__u64 e = *cur, off = e & w->data_mask, size;
	struct mpr_rec r;
	union mpr_hdr_word u;

	/*
	 * The count ends a live claim's walk exactly at end; with garbage,
	 * whichever comes first (at end, the size check fails).
	 */
	if (!*left)
		return false;
	u.w = MPR_READ_SPECULATIVE(*(const __u64 *)(w->data + off));
	size = ((__u64)u.h.len + w->size_add) & w->size_mask;
	if (mpr_unlikely(u.h.len > w->max_record || size > end - e))
		return false;
	if (mpr_unlikely(u.h.len > *bytes_left)) {
		*left = 0;
		return false;
	}
	*bytes_left -= u.h.len;
	*cur = e + size;
	--*left;
	r.hdr = u.w;
	r.pos = e;
	mpr_lib_record_set(rec, w->data + off + MPMCRING_HDR_SIZE, &r);
	return true;
}

/*
 * A batch with discarded records in it: each record's stamp says which.
 * The stamps keep the count, not the bytes: a revoked claim's granule
 * keeps its stamp while a later record is written over it, so a stamped
 * start may show a longer header than the claim read there.
 */
static MPR_OWN_FRAME int mpr_lib_batch_next_mixed(struct mpmcring_batch *b,
						  struct mpmcring_record *rec)
{
	if (!mpr_lib_next(b->c, &b->cur, b->end, rec))
		return 0;
	if (mpr_unlikely(rec->len > b->priv[2])) {
		b->cur = b->end;
		return 0;
	}
	b->priv[2] -= rec->len;
	return 1;
}

int mpmcring_batch_next(struct mpmcring_batch *b, struct mpmcring_record *rec)
{
	/* After a commit the records belong to producers again. */
	if (b->gen != b->c->gen)
		return 0;
	/* Its own frame: the dense step needs no saved registers. */
	if (b->priv[0] != MPR_LIB_BATCH_DENSE)
		return mpr_lib_batch_next_mixed(b, rec);
	return mpr_lib_next_dense(b->c, &b->cur, b->end, &b->priv[1], &b->priv[2], rec);
}

int mpmcring_validate(struct mpmcring_consumer *c)
{
	if (!c->holding || !mpr_claim_revoked(&c->r->v, &c->slot->start, c->claim_start))
		return 0;
	return mpr_lib_error(
		ESTALE,
		"the consumer's claim was revoked (held past the ring's claim timeout, %u ms) or its space was freed under it (another consumer wrote the shared head back): what was read may have been overwritten",
		c->r->v.claim_timeout_ms);
}

/*
 * Releases every record the consumer holds, delivered or not; it holds a
 * claim. Inlined into mpmcring_commit(), whose common case it is.
 */
static MPR_ALWAYS_INLINE int mpr_lib_commit_held(struct mpmcring_consumer *c)
{
	struct mpmcring_slot *s = c->slot;
	struct mpmcring_meta *m = c->r->v.meta;
	bool revoked;
	__u64 at;

	/*
	 * The exchange first: a revocation reads held_records to count what
	 * the claim held, so it stays set until the claim is gone.
	 */
	revoked = mpr_commit(&c->r->v, &s->start, c->claim_start);
	at = mpr_room_at(m);
	/* Own cache line, informational: plain stores. */
	MPR_WRITE_ONCE(s->held_records, 0);
	if (!revoked) {
		MPR_WRITE_ONCE(s->consumed_records, s->consumed_records + c->held_records);
		MPR_WRITE_ONCE(s->consumed_bytes, s->consumed_bytes + c->held_bytes);
	} else {
		c->lost.revoked += c->held_records;
	}
	c->held_records = 0;
	c->held_bytes = 0;
	c->holding = false;
	c->pending = false;
	c->handed_out = false;
	c->gen++;
	if (revoked)
		return mpr_lib_error(
			ESTALE,
			"the consumer's claim was revoked (held past the ring's claim timeout, %u ms) or its space was freed under it (another consumer wrote the shared head back): what was read may have been overwritten; counted as lost (revoked)",
			c->r->v.claim_timeout_ms);
	/*
	 * A revoked claim held no room: reclaim had passed it. A claim that
	 * began at or past the target held none of it: the common case once
	 * a writer waited (the word keeps its last target), decided here.
	 */
	if (mpr_unlikely(at) && mpr_before(c->claim_start, at))
		return mpr_lib_room(c, c->claim_start, at);
	return 0;
}

/* Releases every record the consumer holds, delivered or not. */
int mpr_lib_commit(struct mpmcring_consumer *c)
{
	if (!c->holding)
		return 0;
	return mpr_lib_commit_held(c);
}

/*
 * The consumer's end (mpmcring_consumer_free()). What it delivered counts
 * as consumed. What a stopped mpmcring_consume() left undelivered was
 * read by nobody: it is abandoned, as the records of a consumer that died,
 * never in the slot's consumed_records (the ring's consumed_records, which
 * the kernel derives from the positions, has them all the same). On a
 * device the claim stays for MPMCRING_IOC_DETACH, with held_records saying
 * how many of its records are undelivered: the kernel counts them in
 * abandoned_records. Over plain memory, with no kernel, the claim is
 * released here and the slot's held_records keeps the count (the slot is
 * never attached again).
 */
void mpr_lib_end(struct mpmcring_consumer *c)
{
	struct mpmcring_slot *s = c->slot;
	uint64_t left = 0, left_bytes = 0;
	__u64 cur = c->pend_cur;
	struct mpr_rec r;

	/* Bounded by the claim: each step moves cur forward, toward pend_end. */
	while (c->pending && mpr_claim_next(&c->r->v, &cur, c->pend_end, &r)) {
		left++;
		left_bytes += r.len;
	}
	if (!c->holding || !left || left > c->held_records || left_bytes > c->held_bytes) {
		mpr_lib_commit(c); /* nothing undelivered: a plain commit */
		return;
	}
	/*
	 * held_records first: a revocation that reads it from now on counts
	 * only the undelivered ones as revoked. One already under way may
	 * have read the old count (reclaim reads held_records before its
	 * compare-and-swap on start): it then counts the delivered ones as
	 * revoked too, while they are added to consumed_records below. That
	 * window over-counts revoked_records by at most what was delivered
	 * (the kernel caps the count by the claim's span); it never
	 * under-counts.
	 */
	MPR_WRITE_ONCE(s->held_records, left);
	if (mpr_claim_revoked(&c->r->v, &s->start, c->claim_start)) {
		mpr_lib_commit(c); /* counted as revoked already */
		return;
	}
	MPR_WRITE_ONCE(s->consumed_records, s->consumed_records + c->held_records - left);
	MPR_WRITE_ONCE(s->consumed_bytes, s->consumed_bytes + c->held_bytes - left_bytes);
	if (c->r->fd < 0 && mpr_commit(&c->r->v, &s->start, c->claim_start))
		MPR_WRITE_ONCE(s->held_records, 0); /* revoked meanwhile */
	c->holding = false;
	c->pending = false;
}

/*
 * The caller's commit releases only what it was given: records a stopped
 * consume claimed and did not deliver would go unread and uncounted. One
 * head cannot release a prefix, so it is refused; the consumer's end
 * (mpmcring_consumer_free()) still releases them.
 */
/*
 * mpmcring_commit() from fn of a consume, with records a stopped consume
 * claimed (c->pending), or holding nothing: out of line, so the common
 * commit sets up no frame for the walk.
 */
static MPR_SLOW_PATH int mpr_lib_commit_unusual(struct mpmcring_consumer *c)
{
	if (c->in_consume)
		return mpr_lib_fail(EINVAL, MPR_MSG_IN_CONSUME("mpmcring_commit"));
	/* Revoked, they are lost anyway: the commit counts them all (revoked). */
	if (mpr_lib_pending_left(c) &&
	    !mpr_claim_revoked(&c->r->v, &c->slot->start, c->claim_start)) {
		if (c->handed_out)
			return mpr_lib_error(
				EINVAL,
				"mpmcring_commit: records a stopped mpmcring_consume() claimed are undelivered, and a commit would release them unread: take them with mpmcring_read() (the consumer also holds records from read, so mpmcring_consume() is refused), then commit");
		return mpr_lib_error(
			EINVAL,
			"mpmcring_commit: records a stopped mpmcring_consume() claimed are undelivered, and a commit would release them unread: call mpmcring_consume() or mpmcring_read() to take them");
	}
	return mpr_lib_commit(c);
}

int mpmcring_commit(struct mpmcring_consumer *c)
{
	/* The common case, a claim held and nothing else, tested at once. */
	if (mpr_unlikely(c->in_consume | c->pending | !c->holding))
		return mpr_lib_commit_unusual(c);
	return mpr_lib_commit_held(c);
}

static int mpr_lib_consume(struct mpmcring_consumer *c, unsigned int max, mpmcring_record_fn fn,
			   void *ctx);

/*
 * fn's negative value stops consume and is returned as it is (it may equal
 * a library errno): the message says it was fn's, so that it never shows
 * an older failure.
 */
static int mpr_lib_stopped(int ret)
{
	mpr_lib_error(
		ret == INT_MIN ? ECANCELED : -ret,
		"the callback returned %d: mpmcring_consume() stopped at that record (consumed); the rest of its claim, if any, is delivered first by the next mpmcring_consume() or mpmcring_read()",
		ret);
	return ret;
}

/* fn must not take or release this consumer's records: see in_consume. */
MPR_ENTRY_FRAME int mpmcring_consume(struct mpmcring_consumer *c, unsigned int max,
				     mpmcring_record_fn fn, void *ctx)
{
	int n;

	if (c->in_consume)
		return mpr_lib_fail(EINVAL, MPR_MSG_IN_CONSUME("mpmcring_consume"));
	c->in_consume = true;
	c->consume_frame = __builtin_frame_address(0);
	n = mpr_lib_consume(c, max, fn, ctx);
	if (mpr_unlikely(c->ended)) {
		/* fn freed it: ended already; the ring may be closed by now. */
		if (c->owner_slot)
			*c->owner_slot = NULL; /* its poller's entry */
		free(c);
		return mpr_lib_error(
			ECANCELED, "mpmcring_consume: the callback freed the consumer: it is gone");
	}
	c->in_consume = false;
	return n;
}

/*
 * The first records of consume's claim, kept by its walk: delivered from
 * here, the claim's records are walked once, not twice. Past these, the
 * rest of a long claim is walked again (mpr_lib_next_pending()). 2 KiB of
 * consume's stack, under the callback.
 */
#define MPR_LIB_SEEN 64

struct mpr_rec_seen {
	__u64 pos, end, hdr;
	const unsigned char *payload;
};

static MPR_ALWAYS_INLINE void mpr_lib_seen_put(void *ctx, __u32 i, const struct mpr_rec *r)
{
	struct mpr_rec_seen *s = ctx;

	/* By index: an attempt that loses the race starts over at 0. */
	if (i < MPR_LIB_SEEN)
		s[i] = (struct mpr_rec_seen){ r->pos, r->pos + r->size, r->hdr, r->payload };
}

/* Hands out a kept record: where the claim goes on from moves past it. */
static MPR_ALWAYS_INLINE void mpr_lib_seen_record(struct mpmcring_consumer *c,
						  const struct mpr_rec_seen *s,
						  struct mpmcring_record *rec)
{
	struct mpr_rec r = { .pos = s->pos, .hdr = s->hdr };

	c->pend_cur = s->end;
	mpr_lib_record_set(rec, s->payload, &r);
}

static int mpr_lib_consume(struct mpmcring_consumer *c, unsigned int max, mpmcring_record_fn fn,
			   void *ctx)
{
	struct mpmcring_record rec;
	struct mpr_claim cl;
	unsigned int done = 0;
	int n, ret;

	if (!max)
		return mpr_lib_error(EINVAL, "mpmcring_consume: max is 0");
	/*
	 * Its commit would release records the caller still reads in place;
	 * a revoked claim is the news that matters (commit it), told before
	 * any walk of what a stopped consume left, as read and Go's Consume
	 * tell it.
	 */
	if (c->handed_out && c->holding &&
	    mpr_claim_revoked(&c->r->v, &c->slot->start, c->claim_start))
		return mpr_lib_claim_revoked();
	if (c->handed_out && mpr_lib_pending_left(c))
		return mpr_lib_error(
			EINVAL,
			"mpmcring_consume: the consumer holds records from mpmcring_read(), and records a stopped mpmcring_consume() left undelivered: take those with mpmcring_read() too, then mpmcring_commit()");
	if (c->handed_out)
		return mpr_lib_error(
			EINVAL,
			"mpmcring_consume: the consumer holds records from mpmcring_read() or mpmcring_read_batch(): mpmcring_commit() them first (consume commits all it holds)");
	/*
	 * A claim with nothing left to deliver (fn stopped at its last
	 * record): committed now, and this call ends there, 0 (what fn saw is
	 * confirmed; none handed out now) or -ESTALE, claiming nothing new.
	 * Claiming anew while holding it, a callback that stops at every
	 * claim's end never committed (collection stalled until the lease
	 * threw it all away); committing it and going on, the new claim's
	 * -ESTALE would cover records already confirmed.
	 */
	c->stop_committed = false;
	if (c->holding && !mpr_lib_pending_left(c)) {
		c->stop_committed = true;
		return mpr_lib_commit(c);
	}
	if (c->lost_records && !c->pending) {
		ret = mpr_lib_lost_record(c, fn, ctx);
		if (mpr_unlikely(c->ended))
			return 0;
		if (ret < 0)
			return mpr_lib_stopped(ret);
	}
	if (!c->pending) {
		struct mpr_rec_seen seen[MPR_LIB_SEEN];
		const struct mpr_claim_sink sink = { mpr_lib_seen_put, seen };
		unsigned int kept;

		/* Holding nothing here: the claim is the call's only one. */
		n = mpr_lib_claim(c, max, UINT64_MAX, &cl, &sink, false);
		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			return n;
		c->pend_cur = cl.start;
		c->pend_end = cl.end;
		c->pending = true;
		/*
		 * The first records as the claim's walk saw them, not walked
		 * again: claimed records cannot change while the claim holds
		 * (what read_many hands out rests on the same). Only a
		 * revocation ends that, while fn runs: before each record
		 * after the first (the claim itself looked at reclaim), the
		 * lease is checked as mpmcring_validate() does. Revoked, the
		 * rest is not ours: nothing more is handed out, and the
		 * commit below says -ESTALE.
		 */
		kept = (unsigned int)n < MPR_LIB_SEEN ? (unsigned int)n : MPR_LIB_SEEN;
		while (done < kept) {
			if (done && mpr_unlikely(mpr_claim_revoked(&c->r->v, &c->slot->start,
								   c->claim_start))) {
				c->pending = false;
				break;
			}
			mpr_lib_seen_record(c, &seen[done++], &rec);
			ret = fn(ctx, &rec);
			if (mpr_unlikely(c->ended))
				return 0; /* freed inside fn: touch nothing more */
			if (ret < 0)
				return mpr_lib_stopped(ret); /* the rest stays held */
		}
		if (done == (unsigned int)n)
			c->pending = false; /* all delivered: only discards remain */
	}
	/*
	 * The rest of a long claim, or of a stopped consume's: walked again,
	 * each record after the lease is checked (fn, or the caller between
	 * calls, may have held the claim past its timeout).
	 */
	while (done < max) {
		if (mpr_unlikely(mpr_claim_revoked(&c->r->v, &c->slot->start, c->claim_start))) {
			c->pending = false;
			break;
		}
		if (!mpr_lib_next_pending(c, &rec))
			break;
		done++;
		ret = fn(ctx, &rec);
		if (mpr_unlikely(c->ended))
			return 0; /* freed inside fn: touch nothing more */
		/* Only a negative value stops: a positive one would read as a count. */
		if (ret < 0)
			return mpr_lib_stopped(ret); /* the rest stays held for next time */
	}
	if (!mpr_lib_pending_left(c)) {
		ret = mpr_lib_commit(c);
		if (ret)
			return ret; /* what fn saw may have been overwritten */
	}
	return done;
}

/*
 * The first committed record at or past the shared head, discarded ones
 * skipped (at most one ring's worth): 0 and *rec; -EBADMSG (the head or
 * the framing is corrupt: a claim says so too); -EAGAIN (none: the ring
 * is empty there, or the next record is not finished). No message set.
 */
int mpr_lib_look(const struct mpr_view *v, struct mpmcring_record *rec)
{
	uint64_t steps = v->stamp_mask + 1, h;
	struct mpr_rec mr;
	struct mpr_pos s;

	mpr_positions(v, &s);
	if (!mpr_head_sane(v, &s))
		return -EBADMSG;
	h = s.head;
	while (h != s.prod && steps--) {
		int st = mpr_record_at(v, h, s.prod, &mr);

		if (st == MPR_REC_COMMITTED) {
			mpr_lib_fill_record(rec, mpr_payload(v, h), &mr, h);
			return 0;
		}
		if (st == MPR_REC_BAD)
			return -EBADMSG;
		if (st != MPR_REC_DISCARDED)
			break;
		h += mr.size;
	}
	return -EAGAIN;
}

int mpmcring_peek(struct mpmcring_consumer *c, struct mpmcring_record *rec)
{
	__u64 cur = c->pend_cur;
	int ret;

	/*
	 * What a stopped mpmcring_consume() left undelivered is this
	 * consumer's next record (mpmcring_read() delivers it first), and the
	 * shared head is already past it: looking only there, peek would say
	 * -EAGAIN over records only this consumer can read. Its claim holds
	 * them while its lease stands, looked at first as read looks:
	 * revoked, their space may be written over while the old stamps
	 * stay, and the walk could take a producer's payload for a header.
	 */
	if (c->pending && c->holding &&
	    mpr_claim_revoked(&c->r->v, &c->slot->start, c->claim_start))
		return mpr_lib_claim_revoked();
	if (c->pending && mpr_lib_next(c, &cur, c->pend_end, rec))
		return 0;
	ret = mpr_lib_look(&c->r->v, rec);
	if (ret == -EBADMSG)
		return mpr_lib_error(
			EBADMSG,
			"the ring's consumer state or framing is corrupt (the head is outside the ring, or a record at the head does not fit)");
	if (ret)
		return mpr_lib_fail(EAGAIN, MPR_MSG_EMPTY);
	return 0;
}

uint64_t mpmcring_avail_bytes(const struct mpmcring *r)
{
	struct mpr_pos s;

	mpr_positions(&r->v, &s);
	return mpr_head_sane(&r->v, &s) ? s.prod - s.head : 0;
}

/* The first struct mpmcring_lost (library 2.0): what every caller has. */
#define MPR_LOST_SIZE_VER0 (offsetof(struct mpmcring_lost, revoked) + sizeof(uint64_t))

int mpr_lib_lost_size_check(const struct mpmcring_lost *lost, const char *call)
{
	if (!lost || lost->sz < MPR_LOST_SIZE_VER0)
		return mpr_lib_error(
			EINVAL,
			"%s: lost->sz is %zu: set it to sizeof(struct mpmcring_lost) (MPMCRING_OPTS(mpmcring_lost)); nothing was taken",
			call, lost ? lost->sz : 0);
	return 0;
}

int mpmcring_take_lost(struct mpmcring_consumer *c, struct mpmcring_lost *lost)
{
	size_t sz;
	int err;

	if (!c)
		return mpr_lib_error(EINVAL, "mpmcring_take_lost: no consumer (NULL)");
	err = mpr_lib_lost_size_check(lost, "mpmcring_take_lost");
	if (err)
		return err;
	mpr_lib_take_lost(c);
	sz = lost->sz < sizeof(*lost) ? lost->sz : sizeof(*lost);
	/* Past sz: a shorter caller's memory. Past our sizeof: left as it is. */
	c->lost.sz = lost->sz;
	memcpy(lost, &c->lost, sz);
	c->lost.dropped = 0;
	c->lost.overwritten = 0;
	c->lost.revoked = 0;
	return 0;
}

int mpr_lib_lost_record(struct mpmcring_consumer *c, mpmcring_record_fn fn, void *ctx)
{
	struct mpmcring_record rec = { .flags = MPMCRING_REC_LOST };
	struct mpmcring_lost lost = MPMCRING_OPTS(mpmcring_lost);

	mpmcring_take_lost(c, &lost);
	if (!lost.dropped && !lost.overwritten && !lost.revoked)
		return 0;
	rec.data = &lost;
	rec.len = sizeof(lost);
	return fn(ctx, &rec);
}
