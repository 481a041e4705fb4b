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
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>

#include "internal.h"

/*
 * Takes unreported losses, only when the consumer asks: one that never
 * asks must not swallow reports meant for the others. The totals live on
 * a read-mostly line; only when they moved since this consumer last looked
 * does it touch the shared "taken" counters.
 */
static void mpr_lib_take_lost(struct mpmcring_consumer *c)
{
	const struct mpr_view *v = &c->r->v;
	uint64_t d = MPR_READ_ONCE(v->meta->lost_dropped);
	uint64_t o = MPR_READ_ONCE(v->meta->lost_overwritten);

	if (d != c->seen_dropped) {
		c->lost.dropped +=
			mpr_take_lost(&v->meta->lost_dropped, &v->cons->lost_dropped_taken);
		c->seen_dropped = d;
	}
	if (o != c->seen_overwritten) {
		c->lost.overwritten +=
			mpr_take_lost(&v->meta->lost_overwritten, &v->cons->lost_overwritten_taken);
		c->seen_overwritten = o;
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
 * A claim revoked while it was made (mpr_claim_drop_passed()): the records
 * the head moved over are gone, and the kernel counted a revoked claim.
 */
static MPR_SLOW_PATH int mpr_lib_claim_stale(struct mpmcring_consumer *c,
					     const struct mpr_claim *cl)
{
	c->lost.revoked += cl->records;
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
	n = mpr_claim_from(v, &c->slot->start, c->holding, max_records, max_bytes, false, cl, out,
			   announced);
	if (mpr_unlikely(n == -EBADMSG))
		n = mpr_lib_claim_repair(c, max_records, max_bytes, cl, out);
	if (mpr_unlikely(n == -ESTALE))
		return mpr_lib_claim_stale(c, cl);
	if (n < 0) {
		errno = -n; /* -EAGAIN, -EBUSY, -EMSGSIZE: no message to format */
		return n;
	}
	mpr_lib_claimed(c, n, cl);
	return n;
}

/*
 * The common case of every entry point, inlined there: a consumer that
 * holds nothing makes one attempt. Returns the records claimed, -EAGAIN
 * for an empty ring, or 0 when the caller must go the whole way
 * (mpr_lib_claim(), with *announced).
 */
static MPR_ALWAYS_INLINE int mpr_lib_claim_fast(struct mpmcring_consumer *c,
						unsigned int max_records, uint64_t max_bytes,
						struct mpr_claim *cl,
						const struct mpr_claim_sink *out, bool *announced)
{
	int why, n;

	*announced = false;
	if (mpr_unlikely(c->holding))
		return 0;
	if (max_records == 1) {
		n = mpr_claim_one(&c->r->v, &c->slot->start, &c->prod_seen, cl, announced, &why);
		if (n > 0 && out)
			out->fn(out->ctx, 0, &cl->first);
	} else
		n = mpr_claim_attempt(&c->r->v, &c->slot->start, false, max_records, max_bytes,
				      false, cl, out, announced, &why);
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
		return mpr_lib_claim_stale(c, cl);
	if (n == MPR_CLAIM_STOP && why == MPR_REC_NONE && !*announced) {
		errno = EAGAIN;
		return -EAGAIN;
	}
	return 0;
}

/*
 * struct mpmcring_record's len, prio, flags and reserved are the header's
 * eight bytes, in its order: the header word is copied in with one store,
 * reserved cleared (the ring's memory may hold anything there).
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
}

static MPR_ALWAYS_INLINE void mpr_lib_record(struct mpmcring_consumer *c, const struct mpr_rec *r,
					     struct mpmcring_record *rec)
{
	mpr_lib_record_set(rec, mpr_payload(&c->r->v, r->pos), r);
}

static bool mpr_lib_next(struct mpmcring_consumer *c, __u64 *cur, __u64 end,
			 struct mpmcring_record *rec)
{
	struct mpr_rec r;

	if (!mpr_claim_next(&c->r->v, cur, end, &r))
		return false;
	mpr_lib_record(c, &r, rec);
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

	if (mpr_lib_next_pending(c, rec))
		return 0;
	n = mpr_lib_claim(c, 1, UINT64_MAX, &cl, NULL, announced);
	if (n < 0)
		return n;
	mpr_lib_record(c, &cl.first, rec);
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

	if (mpr_unlikely(c->pending))
		return mpr_lib_read_slow(c, rec, false);
	n = mpr_lib_claim_fast(c, 1, UINT64_MAX, &cl, NULL, &announced);
	if (mpr_unlikely(n <= 0))
		return n ? n : mpr_lib_read_slow(c, rec, announced);
	/* One record claimed: the claim already read its header. */
	mpr_lib_record(c, &cl.first, rec);
	return 0;
}

/* Where mpmcring_read_many() has its claim put each record. */
struct mpr_lib_many {
	struct mpmcring_record *recs;
	const unsigned char *data; /* the data area, plus the header */
	__u64 data_mask;
};

static MPR_ALWAYS_INLINE void mpr_lib_many_put(void *ctx, __u32 i, const struct mpr_rec *r)
{
	const struct mpr_lib_many *m = ctx;

	/* By index: an attempt that loses the race starts over at 0. */
	mpr_lib_record_set(&m->recs[i], m->data + (r->pos & m->data_mask), r);
}

static MPR_SLOW_PATH int mpr_lib_read_many_slow(struct mpmcring_consumer *c,
						struct mpmcring_record *recs,
						unsigned int max_records, size_t max_bytes,
						bool announced)
{
	struct mpr_lib_many m = { recs, c->r->v.data + MPMCRING_HDR_SIZE, c->r->v.data_mask };
	struct mpr_claim_sink sink = { mpr_lib_many_put, &m };
	struct mpr_claim cl;

	return mpr_lib_claim(c, max_records, max_bytes, &cl, &sink, announced);
}

int mpmcring_read_many(struct mpmcring_consumer *c, struct mpmcring_record *recs,
		       unsigned int max_records, size_t max_bytes)
{
	struct mpr_lib_many m = { recs, c->r->v.data + MPMCRING_HDR_SIZE, c->r->v.data_mask };
	struct mpr_claim_sink sink = { mpr_lib_many_put, &m };
	struct mpr_claim cl;
	bool announced;
	int n;

	if (!max_records)
		return mpr_lib_error(EINVAL, "mpmcring_read_many: max_records is 0");
	n = mpr_lib_claim_fast(c, max_records, max_bytes, &cl, &sink, &announced);
	if (mpr_unlikely(n <= 0))
		return n ? n : mpr_lib_read_many_slow(c, recs, max_records, max_bytes, announced);
	return n;
}

static MPR_SLOW_PATH int mpr_lib_read_batch_slow(struct mpmcring_consumer *c,
						 struct mpmcring_batch *b, unsigned int max_records,
						 size_t max_bytes, bool announced)
{
	struct mpr_claim cl;
	int n = mpr_lib_claim(c, max_records, max_bytes, &cl, NULL, announced);

	if (n < 0)
		return n;
	b->records = cl.records;
	b->bytes = cl.bytes;
	b->c = c;
	b->cur = cl.start;
	b->end = cl.end;
	return n;
}

int mpmcring_read_batch(struct mpmcring_consumer *c, struct mpmcring_batch *b,
			unsigned int max_records, size_t max_bytes)
{
	struct mpr_claim cl;
	bool announced;
	int n;

	if (!max_records)
		return mpr_lib_error(EINVAL, "mpmcring_read_batch: max_records is 0");
	n = mpr_lib_claim_fast(c, max_records, max_bytes, &cl, NULL, &announced);
	if (mpr_unlikely(n <= 0))
		return n ? n : mpr_lib_read_batch_slow(c, b, max_records, max_bytes, announced);
	b->records = cl.records;
	b->bytes = cl.bytes;
	b->c = c;
	b->cur = cl.start;
	b->end = cl.end;
	return n;
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

int mpmcring_batch_next(struct mpmcring_batch *b, struct mpmcring_record *rec)
{
	return mpr_lib_next(b->c, &b->cur, b->end, rec);
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

int mpmcring_commit(struct mpmcring_consumer *c)
{
	struct mpmcring_slot *s = c->slot;
	bool revoked;

	if (!c->holding)
		return 0;
	/*
	 * The exchange first: a revocation reads held_records to count what
	 * the claim held, so it stays set until the claim is gone.
	 */
	revoked = mpr_commit(&c->r->v, &s->start, c->claim_start);
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
	if (revoked)
		return mpr_lib_error(
			ESTALE,
			"the consumer's claim was revoked (held past the ring's claim timeout, %u ms) or its space was freed under it (another consumer wrote the shared head back): what was read may have been overwritten; counted as lost (revoked)",
			c->r->v.claim_timeout_ms);
	return 0;
}

int mpmcring_consume(struct mpmcring_consumer *c, unsigned int max, mpmcring_record_fn fn,
		     void *ctx)
{
	struct mpmcring_record rec;
	struct mpr_claim cl;
	unsigned int done = 0;
	int n, ret;

	if (!max)
		return mpr_lib_error(EINVAL, "mpmcring_consume: max is 0");
	if (c->lost_records && !c->pending) {
		ret = mpr_lib_lost_record(c, fn, ctx);
		if (ret)
			return ret;
	}
	if (!c->pending) {
		n = mpr_lib_claim(c, max, UINT64_MAX, &cl, NULL, false);
		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			return n;
		c->pend_cur = cl.start;
		c->pend_end = cl.end;
		c->pending = true;
	}
	while (done < max && mpr_lib_next_pending(c, &rec)) {
		done++;
		ret = fn(ctx, &rec);
		if (ret)
			return ret; /* the rest stays held for next time */
	}
	if (!mpr_lib_pending_left(c)) {
		ret = mpmcring_commit(c);
		if (ret)
			return ret; /* what fn saw may have been overwritten */
	}
	return done;
}

int mpmcring_peek(struct mpmcring_consumer *c, struct mpmcring_record *rec)
{
	const struct mpr_view *v = &c->r->v;
	uint64_t steps = v->stamp_mask + 1, h;
	struct mpr_rec mr;
	struct mpr_pos s;

	mpr_positions(v, &s);
	if (!mpr_head_sane(v, &s))
		return mpr_lib_error(
			EBADMSG, "the ring's consumer state is corrupt (head outside the ring)");
	h = s.head;
	/* Discarded records are skipped; at most one ring's worth. */
	while (h != s.prod && steps--) {
		int st = mpr_record_at(v, h, s.prod, &mr);

		if (st == MPR_REC_COMMITTED) {
			rec->data = mpr_payload(v, h);
			rec->len = mr.len;
			rec->prio = mr.prio;
			rec->flags = mr.flags;
			rec->reserved = 0;
			rec->pos = h;
			return 0;
		}
		if (st == MPR_REC_BAD)
			return mpr_lib_error(
				EBADMSG,
				"the ring's framing is corrupt (a record at the head does not fit)");
		if (st != MPR_REC_DISCARDED)
			break;
		h += mr.size;
	}
	errno = EAGAIN;
	return -EAGAIN;
}

uint64_t mpmcring_avail_bytes(const struct mpmcring *r)
{
	struct mpr_pos s;

	mpr_positions(&r->v, &s);
	return mpr_head_sane(&r->v, &s) ? s.prod - s.head : 0;
}

void mpmcring_take_lost(struct mpmcring_consumer *c, struct mpmcring_lost *lost)
{
	mpr_lib_take_lost(c);
	*lost = c->lost;
	c->lost.dropped = 0;
	c->lost.overwritten = 0;
	c->lost.revoked = 0;
}

int mpr_lib_lost_record(struct mpmcring_consumer *c, mpmcring_record_fn fn, void *ctx)
{
	struct mpmcring_record rec = { .flags = MPMCRING_REC_LOST };
	struct mpmcring_lost lost;

	mpmcring_take_lost(c, &lost);
	if (!lost.dropped && !lost.overwritten && !lost.revoked)
		return 0;
	rec.data = &lost;
	rec.len = sizeof(lost);
	return fn(ctx, &rec);
}
