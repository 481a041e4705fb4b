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
#include <stdint.h>
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

/* Claims into the consumer; repairs a corrupt head once through the kernel. */
static int mpr_lib_claim(struct mpmcring_consumer *c, unsigned int max_records, uint64_t max_bytes,
			 struct mpr_claim *cl)
{
	const struct mpr_view *v = &c->r->v;
	int n;

	/* A revoked claim protects nothing: what it would cover is not ours. */
	if (c->holding && mpr_claim_revoked(&c->r->v, &c->slot->start, c->claim_start))
		return mpr_lib_error(
			ESTALE,
			"the consumer's claim was revoked (held past the ring's claim timeout): commit before reading more");
	n = mpr_claim(v, &c->slot->start, c->holding, max_records, max_bytes, false, cl);
	if (n == -EBADMSG && c->r->fd >= 0) {
		/* The kernel moves a head that cannot be right (bounded work). */
		ioctl(c->r->fd, MPMCRING_IOC_REPAIR);
		n = mpr_claim(v, &c->slot->start, c->holding, max_records, max_bytes, false, cl);
	}
	if (n == -EBADMSG)
		return mpr_lib_error(
			EBADMSG,
			"the ring's consumer state is corrupt (head outside the ring or a record that does not fit)");
	if (n < 0) {
		errno = -n; /* -EAGAIN, -EBUSY, -EMSGSIZE: no message to format */
		return n;
	}
	if (!c->holding)
		c->claim_start = cl->start;
	c->holding = true;
	c->held_records += n;
	c->held_bytes += cl->bytes;
	/* Informational: the kernel counts these if this process dies. */
	MPR_WRITE_ONCE(c->slot->held_records, c->held_records);
	return n;
}

static void mpr_lib_record(struct mpmcring_consumer *c, const struct mpr_rec *r,
			   struct mpmcring_record *rec)
{
	rec->data = mpr_payload(&c->r->v, r->pos);
	rec->len = r->len;
	rec->prio = r->prio;
	rec->flags = r->flags;
	rec->reserved = 0;
	rec->pos = r->pos;
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

int mpmcring_read(struct mpmcring_consumer *c, struct mpmcring_record *rec)
{
	struct mpr_claim cl;
	int n;

	if (mpr_lib_next_pending(c, rec))
		return 0;
	n = mpr_lib_claim(c, 1, UINT64_MAX, &cl);
	if (n < 0)
		return n;
	/* One record claimed: the claim already read its header. */
	mpr_lib_record(c, &cl.first, rec);
	return 0;
}

int mpmcring_read_batch(struct mpmcring_consumer *c, struct mpmcring_batch *b,
			unsigned int max_records, size_t max_bytes)
{
	struct mpr_claim cl;
	int n;

	if (!max_records)
		return mpr_lib_error(EINVAL, "mpmcring_read_batch: max_records is 0");
	n = mpr_lib_claim(c, max_records, max_bytes, &cl);
	if (n < 0)
		return n;
	b->records = cl.records;
	b->bytes = cl.bytes;
	b->c = c;
	b->cur = cl.start;
	b->end = cl.end;
	return n;
}

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
		"the consumer held its records longer than the ring's claim timeout (%u ms): they were revoked and may have been overwritten",
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
			"the consumer held its records longer than the ring's claim timeout (%u ms): they were revoked and may have been overwritten; counted as lost (revoked)",
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
		n = mpr_lib_claim(c, max, UINT64_MAX, &cl);
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
