// SPDX-License-Identifier: GPL-2.0-only
/*
 * libmpmcring over a host ring, one thread: ordering, batches, consume's
 * stop-and-resume, peek, discards, loss reporting, priorities (and
 * admission's answers against reservations'), overwrite
 * mode, 2^64 wrap, corrupt consumer state and its repair, claims a
 * co-tenant's writes let reclaim pass (every entry point's fast path),
 * claims revoked while they are made, the announce written before the
 * head, a head off its granule, and claims of 0 records.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tap.h"
#include "hostring.h"
#include "internal.h"
#include "mpmcring_testrec.h"
#include "revoker.h"

struct fixture {
	struct hostring h;
	struct mpmcring *r;
	struct mpmcring_consumer *c;
};

static int fx_init(struct fixture *f, struct hostring_params p)
{
	if (!p.producers)
		p.producers = 2;
	if (hostring_init(&f->h, &p))
		return -1;
	f->r = mpmcring__open_memory(f->h.cons, f->h.ro, &f->h.layout);
	if (f->r) {
		f->c = mpmcring_consumer_new(f->r);
		if (f->c)
			return 0;
		mpmcring_close(f->r);
	}
	hostring_destroy(&f->h);
	return -1;
}

static void fx_fini(struct fixture *f)
{
	mpmcring_consumer_free(f->c);
	mpmcring_close(f->r);
	hostring_destroy(&f->h);
}

/* Produces one self-checking record as producer idx. */
static int put(struct fixture *f, unsigned int idx, uint32_t len, unsigned int prio, uint64_t seq)
{
	uint64_t pos;
	int err = hostring_reserve(&f->h, idx, len, prio, &pos);

	if (err)
		return err;
	mpr_testrec_fill(hostring_payload(&f->h, pos), len, idx, MPR_CTX_USER, prio, seq);
	hostring_commit(&f->h, idx, pos, len);
	return 0;
}

static int rec_seq(const struct mpmcring_record *rec)
{
	if (mpr_testrec_check(rec->data, rec->len))
		return -1;
	return (int)((const struct mpr_testrec *)rec->data)->seq;
}

static void t_order_and_content(struct tap *t)
{
	struct fixture f;
	struct mpmcring_record rec;
	int i;

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
	CHECK_EQ(t, mpmcring_read(f.c, &rec), -EAGAIN);
	for (i = 0; i < 10; i++)
		CHECK_EQ(t, put(&f, 0, 24 + i, MPMCRING_PRIO_NORMAL, i), 0);
	CHECK_EQ(t, mpmcring_avail_bytes(f.r) > 0, 1);
	for (i = 0; i < 10; i++) {
		CHECK_EQ(t, mpmcring_read(f.c, &rec), 0);
		CHECK_EQ(t, rec.len, 24 + i);
		CHECK_EQ(t, rec_seq(&rec), i);
		mpmcring_commit(f.c);
	}
	CHECK_EQ(t, mpmcring_read(f.c, &rec), -EAGAIN);
	CHECK_EQ(t, mpmcring_avail_bytes(f.r), 0);
	fx_fini(&f);
}

static void t_batch_limits(struct tap *t)
{
	struct fixture f;
	struct mpmcring_batch b;
	struct mpmcring_record rec;
	int i, n, seen = 0;

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 8192 }), "init");
	for (i = 0; i < 10; i++)
		CHECK_EQ(t, put(&f, 0, 100, MPMCRING_PRIO_CRITICAL, i), 0);
	CHECK_EQ(t, mpmcring_read_batch(f.c, &b, 4, SIZE_MAX), 4);
	CHECK_EQ(t, b.bytes, 400);
	while (mpmcring_batch_next(&b, &rec))
		CHECK_EQ(t, rec_seq(&rec), seen++);
	CHECK_EQ(t, seen, 4);
	/* Bytes bound the batch, but the first record always comes. */
	CHECK_EQ(t, mpmcring_read_batch(f.c, &b, 100, 10), 1);
	CHECK_EQ(t, mpmcring_read_batch(f.c, &b, 100, 250), 2);
	mpmcring_commit(f.c);
	n = mpmcring_read_batch(f.c, &b, 100, SIZE_MAX);
	CHECK_EQ(t, n, 3);
	seen = 7;
	while (mpmcring_batch_next(&b, &rec))
		CHECK_EQ(t, rec_seq(&rec), seen++);
	mpmcring_commit(f.c);
	CHECK_EQ(t, mpmcring_read_batch(f.c, &b, 0, 1), -EINVAL);
	fx_fini(&f);
}

/*
 * mpmcring_read_many(): the same claims as mpmcring_read_batch(), every
 * record handed out at once; discarded records skipped, bytes bounding all
 * but the first, a second claim while holding the first, one at a time.
 */
static void t_read_many(struct tap *t)
{
	struct fixture f;
	struct mpmcring_record recs[8];
	uint64_t pos;
	int i, n;

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 8192 }), "init");
	CHECK_EQ(t, mpmcring_read_many(f.c, recs, 8, SIZE_MAX), -EAGAIN);
	for (i = 0; i < 12; i++) {
		if (i == 2 || i == 3) {
			/* Two discarded records inside the first claim. */
			CHECK_EQ(t, hostring_reserve(&f.h, 0, 40, MPMCRING_PRIO_CRITICAL, &pos), 0);
			hostring_discard(&f.h, 0, pos);
		}
		CHECK_EQ(t, put(&f, 0, 100 + i, MPMCRING_PRIO_CRITICAL, i), 0);
	}
	n = mpmcring_read_many(f.c, recs, 5, SIZE_MAX);
	CHECK_EQ(t, n, 5);
	for (i = 0; i < n; i++) {
		CHECK_EQ(t, recs[i].len, 100 + i);
		CHECK_EQ(t, rec_seq(&recs[i]), i);
	}
	/* Holding: the next claim adds to it; bytes bound all but the first. */
	CHECK_EQ(t, mpmcring_read_many(f.c, recs, 8, 1), 1);
	CHECK_EQ(t, rec_seq(&recs[0]), 5);
	CHECK_EQ(t, mpmcring_read_many(f.c, recs, 8, 106 + 107 + 50), 2);
	CHECK_EQ(t, rec_seq(&recs[1]), 7);
	CHECK_EQ(t, mpmcring_commit(f.c), 0);
	/* One at a time, and the rest at once. */
	CHECK_EQ(t, mpmcring_read_many(f.c, recs, 1, SIZE_MAX), 1);
	CHECK_EQ(t, rec_seq(&recs[0]), 8);
	CHECK_EQ(t, mpmcring_commit(f.c), 0);
	CHECK_EQ(t, mpmcring_read_many(f.c, recs, 8, SIZE_MAX), 3);
	CHECK_EQ(t, rec_seq(&recs[2]), 11);
	CHECK_EQ(t, mpmcring_commit(f.c), 0);
	CHECK_EQ(t, mpmcring_read_many(f.c, recs, 8, SIZE_MAX), -EAGAIN);
	CHECK_EQ(t, mpmcring_read_many(f.c, recs, 0, SIZE_MAX), -EINVAL);
	fx_fini(&f);
}

struct stopper {
	int seen[32];
	int calls;
	int stop_at;
};

static int stop_cb(void *ctx, const struct mpmcring_record *rec)
{
	struct stopper *s = ctx;
	int seq = rec_seq(rec);

	if (seq >= 0 && seq < 32)
		s->seen[seq]++;
	return ++s->calls == s->stop_at ? -ECANCELED : 0;
}

static void t_consume_stop_resume(struct tap *t)
{
	struct fixture f;
	struct stopper s = { .stop_at = 3 };
	int i, total = 0, n;

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 8192 }), "init");
	for (i = 0; i < 10; i++)
		CHECK_EQ(t, put(&f, 0, 40, MPMCRING_PRIO_CRITICAL, i), 0);
	CHECK_EQ(t, mpmcring_consume(f.c, 100, stop_cb, &s), -ECANCELED);
	/* The rest of the claim comes first next time, nothing twice. */
	while ((n = mpmcring_consume(f.c, 4, stop_cb, &s)) > 0)
		total += n;
	CHECK_EQ(t, n, 0);
	CHECK_EQ(t, total, 7);
	for (i = 0; i < 10; i++)
		CHECK_EQ(t, s.seen[i], 1);
	/* Everything was committed: the head passed all of it. */
	CHECK_EQ(t, f.h.v.cons->slots[0].start & 1, 1);
	fx_fini(&f);
}

/*
 * A claim longer than what consume keeps from its walk (64 records): every
 * committed record comes exactly once, in order, whichever record fn stops
 * at (inside the kept ones, at their last, just past them, at the claim's
 * end), with discarded records between and after them; and the claim is
 * committed once all of it is delivered.
 */
struct long_claim {
	int next;  /* the seq expected next */
	int wrong; /* records out of order, twice, or damaged */
	int calls;
	int stop_at; /* the call that returns -ECANCELED; 0: none */
};

static int long_claim_cb(void *ctx, const struct mpmcring_record *rec)
{
	struct long_claim *lc = ctx;

	if (rec_seq(rec) != lc->next)
		lc->wrong++;
	lc->next++;
	return ++lc->calls == lc->stop_at ? -ECANCELED : 0;
}

/* Produces total records, discarded ones between them and three after. */
static void long_claim_fill(struct tap *t, struct fixture *f, int total)
{
	uint64_t pos;
	int i;

	for (i = 0; i < total + 3; i++) {
		if (i % 7 == 3 || i >= total) {
			CHECK_EQ(t, hostring_reserve(&f->h, 0, 16, MPMCRING_PRIO_CRITICAL, &pos),
				 0);
			hostring_discard(&f->h, 0, pos);
		}
		if (i < total)
			CHECK_EQ(t, put(f, 0, 40 + i % 5, MPMCRING_PRIO_CRITICAL, i), 0);
	}
}

static void t_consume_long_claim(struct tap *t)
{
	/* { records, the call fn stops at (0: none) } */
	static const int cases[][2] = { { 150, 0 },  { 150, 1 },   { 150, 63 },	 { 150, 64 },
					{ 150, 65 }, { 150, 100 }, { 150, 149 }, { 150, 150 },
					{ 50, 0 },   { 50, 1 },	   { 50, 49 },	 { 50, 50 } };
	unsigned int k;

	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct long_claim lc = { .stop_at = cases[k][1] };
		int total = cases[k][0], n, got, rounds = 0;
		struct fixture f;

		REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 65536 }), "init");
		long_claim_fill(t, &f, total);
		n = mpmcring_consume(f.c, 200, long_claim_cb, &lc);
		if (lc.stop_at) {
			CHECK_EQ(t, n, -ECANCELED);
			got = lc.stop_at;
			/* The rest comes first, in calls of at most 40. */
			while ((n = mpmcring_consume(f.c, 40, long_claim_cb, &lc)) > 0 &&
			       ++rounds < 10)
				got += n;
		} else {
			got = n;
			n = mpmcring_consume(f.c, 200, long_claim_cb, &lc);
		}
		CHECK_EQ(t, n, 0);
		CHECK_EQ(t, got, total);
		CHECK_EQ(t, lc.next, total);
		CHECK_EQ(t, lc.wrong, 0);
		/* All committed: the slot is idle, nothing is left to read. */
		CHECK_EQ(t, f.h.v.cons->slots[0].start & 1, 1);
		CHECK_EQ(t, mpmcring_avail_bytes(f.r), 0);
		CHECK_EQ(t, f.h.v.cons->head, f.h.v.meta->prod_pos);
		fx_fini(&f);
	}
}

/*
 * A claim revoked while consume's callback runs, its space then written by
 * producers: fn never gets a record the claim did not hold, and consume
 * says -ESTALE. The new records either start where the claimed ones did
 * (each claimed record's stamp replaced) or elsewhere (stamps of the old
 * records left as they were, over new bytes): only the lease tells.
 */
struct revoked_mid {
	struct fixture *f;
	uint32_t new_len; /* the payload of the records written over the claim */
	int calls;
	int foreign; /* records fn got that the claim never held */
};

static int revoked_mid_cb(void *ctx, const struct mpmcring_record *rec)
{
	struct revoked_mid *m = ctx;
	int i;

	if (rec_seq(rec) != m->calls)
		m->foreign++;
	if (m->calls++ == 0) {
		/* What the kernel's revocation does ([R6]), then reclaim ([R5]). */
		__atomic_fetch_or(&m->f->h.v.cons->slots[0].start, MPMCRING_SLOT_REVOKED,
				  __ATOMIC_SEQ_CST);
		hostring_reclaim(&m->f->h);
		for (i = 0; i < 40 && !put(m->f, 1, m->new_len, MPMCRING_PRIO_CRITICAL, 1000 + i);
		     i++)
			;
	}
	return 0;
}

static void t_consume_revoked_midway(struct tap *t)
{
	static const uint32_t new_lens[] = { 248, 100, 60 };
	unsigned int k;

	for (k = 0; k < sizeof(new_lens) / sizeof(new_lens[0]); k++) {
		struct revoked_mid m = { .new_len = new_lens[k] };
		struct fixture f;
		int i;

		m.f = &f;
		REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
		for (i = 0; i < 8; i++)
			CHECK_EQ(t, put(&f, 0, 248, MPMCRING_PRIO_CRITICAL, i), 0);
		CHECK_EQ(t, mpmcring_consume(f.c, 64, revoked_mid_cb, &m), -ESTALE);
		CHECK_EQ(t, m.calls, 1);
		CHECK_EQ(t, m.foreign, 0);
		fx_fini(&f);
	}
}

/*
 * The same in a claim longer than consume keeps from its walk: revoked
 * while fn holds a kept record (the 64th) or a re-walked one (the 71st),
 * its space written or not: fn is not called again, consume says -ESTALE.
 */
struct long_revoked {
	struct fixture *f;
	int revoke_at;	  /* the call of fn that revokes */
	uint32_t new_len; /* 0: nothing written over the claim */
	int calls, after;
	bool revoked;
};

static int long_revoked_cb(void *ctx, const struct mpmcring_record *rec)
{
	struct long_revoked *m = ctx;
	int i;

	(void)rec;
	if (m->revoked)
		m->after++;
	if (m->calls++ == m->revoke_at) {
		__atomic_fetch_or(&m->f->h.v.cons->slots[0].start, MPMCRING_SLOT_REVOKED,
				  __ATOMIC_SEQ_CST);
		hostring_reclaim(&m->f->h);
		m->revoked = mpmcring_validate(m->f->c) == -ESTALE;
		for (i = 0; m->new_len && i < 400 &&
			    !put(m->f, 1, m->new_len, MPMCRING_PRIO_CRITICAL, 1000 + i);
		     i++)
			;
	}
	return 0;
}

static void t_consume_long_claim_revoked(struct tap *t)
{
	/* { fn's call that revokes, payload written over the claim (0: none) } */
	static const int cases[][2] = { { 63, 0 }, { 70, 0 }, { 63, 100 }, { 70, 60 } };
	unsigned int k;

	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct fixture f;
		struct long_revoked m = { .f = &f,
					  .revoke_at = cases[k][0],
					  .new_len = (uint32_t)cases[k][1] };
		int i;

		REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 16384 }), "init");
		for (i = 0; i < 100; i++)
			CHECK_EQ(t, put(&f, 0, 120, MPMCRING_PRIO_CRITICAL, i), 0);
		CHECK_EQ(t, mpmcring_consume(f.c, 100, long_revoked_cb, &m), -ESTALE);
		CHECK_EQ(t, m.revoked, 1);
		CHECK_EQ(t, m.calls, m.revoke_at + 1);
		CHECK_EQ(t, m.after, 0);
		fx_fini(&f);
	}
}

/*
 * The same between calls: consume stopped by fn, the claim revoked (its
 * space then written, or not yet) before the next call, which hands out
 * nothing of it: the records are the revoked claim's, counted as lost.
 */
static int stop_first_cb(void *ctx, const struct mpmcring_record *rec)
{
	(void)rec;
	return ++*(int *)ctx == 1 ? -ECANCELED : 0;
}

static void t_consume_revoked_between_calls(struct tap *t)
{
	static const uint32_t new_lens[] = { 0, 248, 100 }; /* 0: not written */
	unsigned int k;

	for (k = 0; k < sizeof(new_lens) / sizeof(new_lens[0]); k++) {
		struct fixture f;
		int i, calls = 0;

		REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
		for (i = 0; i < 8; i++)
			CHECK_EQ(t, put(&f, 0, 248, MPMCRING_PRIO_CRITICAL, i), 0);
		CHECK_EQ(t, mpmcring_consume(f.c, 64, stop_first_cb, &calls), -ECANCELED);
		__atomic_fetch_or(&f.h.v.cons->slots[0].start, MPMCRING_SLOT_REVOKED,
				  __ATOMIC_SEQ_CST);
		hostring_reclaim(&f.h);
		for (i = 0; new_lens[k] && i < 40 &&
			    !put(&f, 1, new_lens[k], MPMCRING_PRIO_CRITICAL, 1000 + i);
		     i++)
			;
		CHECK_EQ(t, mpmcring_consume(f.c, 64, stop_first_cb, &calls), -ESTALE);
		CHECK_EQ(t, calls, 1);
		fx_fini(&f);
	}
}

/*
 * mpmcring_read() takes the rest of a stopped consume only while the claim
 * stands: revoked between the calls, it says -ESTALE as consume does and
 * hands out nothing. It used to walk the rest, where a producer's payload
 * written over the next record's header (its stamp still there) read as a
 * record: here a 100-byte one where the claim had 248.
 */
static void t_read_of_revoked_consume_rest(struct tap *t)
{
	struct mpmcring_record rec;
	struct fixture f;
	uint64_t pos, *hdr;
	int i, calls = 0;

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
	pos = f.h.v.meta->prod_pos;
	for (i = 0; i < 8; i++)
		CHECK_EQ(t, put(&f, 0, 248, MPMCRING_PRIO_CRITICAL, i), 0);
	CHECK_EQ(t, mpmcring_consume(f.c, 64, stop_first_cb, &calls), -ECANCELED);
	__atomic_fetch_or(&f.h.v.cons->slots[0].start, MPMCRING_SLOT_REVOKED, __ATOMIC_SEQ_CST);
	hdr = (uint64_t *)(f.h.v.data + ((pos + 256) & f.h.v.data_mask));
	*hdr = (*hdr & ~0xffffffffULL) | 100;
	CHECK_EQ(t, mpmcring_read(f.c, &rec), -ESTALE);
	CHECK_EQ(t, mpmcring_commit(f.c), -ESTALE);
	fx_fini(&f);
}

/*
 * While fn holds a record, the claim goes on after it: peek from fn shows
 * the next one (and a free from fn counts only the rest as abandoned).
 */
struct peek_in_fn {
	struct fixture *f;
	int calls, wrong;
};

static int peek_in_fn_cb(void *ctx, const struct mpmcring_record *rec)
{
	struct peek_in_fn *p = ctx;
	struct mpmcring_record next;
	int ret = mpmcring_peek(p->f->c, &next);

	if (rec_seq(rec) != p->calls)
		p->wrong++;
	if (rec_seq(rec) < 9 ? ret || rec_seq(&next) != rec_seq(rec) + 1 : ret != -EAGAIN)
		p->wrong++;
	p->calls++;
	return 0;
}

static void t_consume_peek_in_fn(struct tap *t)
{
	struct fixture f;
	struct peek_in_fn p = { .f = &f };
	int i;

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
	for (i = 0; i < 10; i++)
		CHECK_EQ(t, put(&f, 0, 40, MPMCRING_PRIO_CRITICAL, i), 0);
	CHECK_EQ(t, mpmcring_consume(f.c, 64, peek_in_fn_cb, &p), 10);
	CHECK_EQ(t, p.calls, 10);
	CHECK_EQ(t, p.wrong, 0);
	fx_fini(&f);
}

static void t_peek_and_discard(struct tap *t)
{
	struct fixture f;
	struct mpmcring_record rec, peeked;
	uint64_t pos[3];
	uint32_t lens[3] = { 32, 32, 32 };
	int i;

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
	CHECK_EQ(t, hostring_reserve_batch(&f.h, 0, lens, 3, 2, pos), 0);
	for (i = 0; i < 3; i++)
		mpr_testrec_fill(hostring_payload(&f.h, pos[i]), 32, 0, 0, 2, i);
	/* Out of order: the last first, the middle one discarded. */
	hostring_commit(&f.h, 0, pos[2], 32);
	hostring_discard(&f.h, 0, pos[1]);
	CHECK_EQ(t, mpmcring_peek(f.c, &peeked), -EAGAIN);
	CHECK_EQ(t, mpmcring_read(f.c, &rec), -EAGAIN);
	hostring_commit(&f.h, 0, pos[0], 32);
	CHECK_EQ(t, mpmcring_peek(f.c, &peeked), 0);
	CHECK_EQ(t, rec_seq(&peeked), 0);
	CHECK_EQ(t, mpmcring_read(f.c, &rec), 0);
	CHECK(t, rec.data == peeked.data, "peek and read differ");
	mpmcring_commit(f.c);
	CHECK_EQ(t, mpmcring_peek(f.c, &peeked), 0);
	CHECK_EQ(t, rec_seq(&peeked), 2);
	CHECK_EQ(t, mpmcring_read(f.c, &rec), 0);
	CHECK_EQ(t, rec_seq(&rec), 2);
	mpmcring_commit(f.c);
	CHECK_EQ(t, mpmcring_read(f.c, &rec), -EAGAIN);
	fx_fini(&f);
}

/* Drops reach exactly one consumer. */
static void t_lost_exactly_once(struct tap *t)
{
	struct fixture f;
	struct mpmcring_consumer *c2;
	struct mpmcring_record rec;
	struct mpmcring_lost l1 = MPMCRING_OPTS(mpmcring_lost);
	struct mpmcring_lost l2 = MPMCRING_OPTS(mpmcring_lost);
	int i, drops = 0;

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
	c2 = mpmcring_consumer_new(f.r);
	if (!c2) {
		fx_fini(&f);
		REQUIRE(t, 0, "second consumer");
	}
	for (i = 0; i < 100; i++)
		drops += put(&f, 0, 56, MPMCRING_PRIO_CRITICAL, i) != 0;
	CHECK_EQ(t, drops, 100 - 64);
	CHECK_EQ(t, hostring_dropped(&f.h), drops);
	CHECK_EQ(t, mpmcring_read(f.c, &rec), 0);
	mpmcring_take_lost(f.c, &l1);
	mpmcring_take_lost(c2, &l2);
	CHECK_EQ(t, l1.dropped, drops);
	CHECK_EQ(t, l2.dropped, 0);
	mpmcring_take_lost(f.c, &l1);
	CHECK_EQ(t, l1.dropped, 0);
	mpmcring_consumer_free(c2);
	fx_fini(&f);
}

/* Low records stop at their watermark; critical ones fill the ring. */
static void t_priority_watermarks(struct tap *t)
{
	struct fixture f;
	struct hostring_producer *pr;
	int low = 0, normal = 0, crit = 0;

	REQUIRE(t,
		!fx_init(&f, (struct hostring_params){ .size = 4096,
						       .watermarks = true,
						       .wm = { 2048, 1024, 0 } }),
		"init");
	while (!put(&f, 0, 56, MPMCRING_PRIO_LOW, low))
		low++;
	while (!put(&f, 0, 56, MPMCRING_PRIO_NORMAL, normal))
		normal++;
	while (!put(&f, 0, 56, MPMCRING_PRIO_CRITICAL, crit))
		crit++;
	CHECK_EQ(t, low, 32);	 /* until 2048 bytes are left */
	CHECK_EQ(t, normal, 16); /* until 1024 */
	CHECK_EQ(t, crit, 16);	 /* until full */
	pr = &f.h.prod[0];
	CHECK_EQ(t, pr->dropped[MPMCRING_DROP_PRIORITY][MPMCRING_PRIO_LOW], 1);
	CHECK_EQ(t, pr->dropped[MPMCRING_DROP_PRIORITY][MPMCRING_PRIO_NORMAL], 1);
	CHECK_EQ(t, pr->dropped[MPMCRING_DROP_FULL][MPMCRING_PRIO_CRITICAL], 1);
	/* A flood of low records never takes the critical reserve. */
	CHECK_EQ(t, put(&f, 0, 56, MPMCRING_PRIO_LOW, 99), -ENOSPC);
	fx_fini(&f);
}

/* Consumes up to n records from a ring's consumer: how many it took. */
static unsigned int take(struct fixture *f, unsigned int n)
{
	struct mpmcring_batch b;
	struct mpmcring_record rec;
	unsigned int got = 0;
	int k;

	while (got < n) {
		k = mpmcring_read_batch(f->c, &b, n - got < 64 ? n - got : 64, 0);
		if (k <= 0)
			break;
		while (mpmcring_batch_next(&b, &rec))
			got++;
		mpmcring_commit(f->c);
	}
	return got;
}

/* Producer 0 of two rings counted the same drops, by reason and class. */
static bool same_drops(const struct fixture *a, const struct fixture *b)
{
	return !memcmp(a->h.prod[0].dropped, b->h.prod[0].dropped, sizeof(a->h.prod[0].dropped));
}

/*
 * hostring_admit(), which is the module's mpmcring_admit() (proto's
 * mpr_admit()), refuses a record exactly when a reservation made in its
 * place refuses it, for the same reason: two rings driven by the same
 * random steps, one asking admit before each record and reserving only
 * when told 0, the other reserving straight away, both consumed alike now
 * and then (so that the full ring's reclaims find room, and many small
 * records take a reclaim past its walk bound). With the module's throttle
 * off and on (a gap no test outlasts, so its decisions follow the head and
 * the walk bound, alike in both rings). The rings stay the same ring.
 */
static void t_admit_agrees_with_reserve(struct tap *t)
{
	static const uint64_t gaps[] = { 0, 3600ULL * 1000000000 };
	unsigned int g, i, seed = 7, admitted = 0, refused = 0, disagree = 0, walk_bound = 0;
	unsigned int holds = 0;
	int ret;

	for (g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
		struct hostring_params p = { .size = 1 << 18, .reclaim_gap_ns = gaps[g] };
		unsigned int held_until = 0, pass_holds = 0;
		struct fixture a, b;

		REQUIRE(t, !fx_init(&a, p), "init a");
		if (fx_init(&b, p)) {
			fx_fini(&a);
			REQUIRE(t, 0, "init b");
		}
		for (i = 0; i < 60000; i++) {
			/* Mostly small, now and then one larger than a reclaim's
			 * walk frees at once (2048 small records): one that only
			 * a second round of reclaim makes room for. */
			unsigned int kind = rand_r(&seed) % 512;
			uint32_t len = MPR_TESTREC_MIN + (kind == 0    ? rand_r(&seed) % (120 << 10)
							  : kind < 128 ? rand_r(&seed) % 400
								       : rand_r(&seed) % 8);
			unsigned int prio = rand_r(&seed) % MPMCRING_NR_PRIO;
			int ra = hostring_admit(&a.h, 0, len, prio);
			int rb = put(&b, 0, len, prio, i);

			if (ra) {
				refused++;
			} else {
				admitted++;
				/* One thread: an admitted record must reserve. */
				ra = put(&a, 0, len, prio, i);
				disagree += ra != 0;
			}
			disagree += ra != rb;
			if (held_until && held_until == i) {
				/* A commit that moves no head: only the
				 * throttle's clock makes a reclaim due again. */
				mpmcring_commit(a.c);
				mpmcring_commit(b.c);
				held_until = 0;
			} else if (!held_until && rand_r(&seed) % 2048 == 0) {
				unsigned int n = rand_r(&seed) % 4096;

				/* Sometimes a claim held over the next steps
				 * first, then the rest taken. */
				if (rand_r(&seed) % 2) {
					struct mpmcring_batch ba, bb;
					int na = mpmcring_read_batch(a.c, &ba, 64, 0);

					disagree += na != mpmcring_read_batch(b.c, &bb, 64, 0);
					if (na > 0) {
						held_until = i + 1 + rand_r(&seed) % 4096;
						pass_holds++;
					}
				}
				if (!held_until)
					disagree += take(&a, n) != take(&b, n);
			}
			walk_bound += a.h.reclaim_more;
		}
		CHECK(t, pass_holds > 0, "a claim held over later steps");
		holds += pass_holds;
		CHECK_EQ(t, a.h.v.meta->prod_pos, b.h.v.meta->prod_pos);
		CHECK_EQ(t, a.h.v.meta->reclaim_pos, b.h.v.meta->reclaim_pos);
		CHECK_EQ(t, hostring_produced(&a.h), hostring_produced(&b.h));
		CHECK(t, same_drops(&a, &b), "the same refusals counted, by reason and class");
		fx_fini(&a);
		fx_fini(&b);
	}
	/*
	 * And the record only a second round of reclaim makes room for: a
	 * full ring of small records, all consumed, then one larger than
	 * what one reclaim's walk (2048 records) frees: admitted, as the
	 * reservation takes it.
	 */
	for (g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
		struct hostring_params p = { .size = 1 << 18, .reclaim_gap_ns = gaps[g] };
		struct fixture a;
		uint32_t big;

		REQUIRE(t, !fx_init(&a, p), "init");
		big = 3000 * (uint32_t)mpr_rec_size(&a.h.v, MPR_TESTREC_MIN);
		for (i = 0; !put(&a, 0, MPR_TESTREC_MIN, MPMCRING_PRIO_CRITICAL, i); i++)
			;
		CHECK(t, i > 4096, "%u records fill the ring", i);
		CHECK_EQ(t, take(&a, i), i);
		ret = hostring_admit(&a.h, 0, big, MPMCRING_PRIO_CRITICAL);
		CHECK_EQ(t, ret, 0);
		ret = put(&a, 0, big, MPMCRING_PRIO_CRITICAL, i);
		CHECK_EQ(t, ret, 0);
		fx_fini(&a);
	}
	/* And one that only a third round would make room for: refused, as
	 * the reservation refuses it. */
	for (g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
		struct hostring_params p = { .size = 1 << 20, .reclaim_gap_ns = gaps[g] };
		struct fixture a, b;
		uint32_t big;

		REQUIRE(t, !fx_init(&a, p), "init a");
		if (fx_init(&b, p)) {
			fx_fini(&a);
			REQUIRE(t, 0, "init b");
		}
		big = 5000 * (uint32_t)mpr_rec_size(&a.h.v, MPR_TESTREC_MIN);
		for (i = 0; !put(&a, 0, MPR_TESTREC_MIN, MPMCRING_PRIO_CRITICAL, i); i++)
			put(&b, 0, MPR_TESTREC_MIN, MPMCRING_PRIO_CRITICAL, i);
		/* The refusal that ended a's fill, in b too. */
		ret = put(&b, 0, MPR_TESTREC_MIN, MPMCRING_PRIO_CRITICAL, i);
		CHECK_EQ(t, ret, -ENOSPC);
		CHECK_EQ(t, take(&a, i), i);
		CHECK_EQ(t, take(&b, i), i);
		CHECK_EQ(t, hostring_admit(&a.h, 0, big, MPMCRING_PRIO_CRITICAL), -ENOSPC);
		CHECK_EQ(t, put(&b, 0, big, MPMCRING_PRIO_CRITICAL, i), -ENOSPC);
		CHECK(t, same_drops(&a, &b), "the third-round record counted alike");
		fx_fini(&a);
		fx_fini(&b);
	}
	printf("# admit: %u admitted, %u refused, %u steps after a reclaim stopped at its walk bound, %u claims held\n",
	       admitted, refused, walk_bound, holds);
	CHECK_EQ(t, disagree, 0);
	CHECK(t, admitted > 10000 && refused > 10000, "both answers given: %u admitted, %u refused",
	      admitted, refused);
	CHECK(t, walk_bound > 0, "a reclaim stopped at its walk bound");
}

/*
 * Overwrite mode: a full ring admits every class (a reservation makes room
 * by eviction), and asking evicts nothing, moves nothing, counts nothing.
 */
static void t_admit_overwrite_mode(struct tap *t)
{
	struct fixture f;
	struct mpmcring_meta *m;
	uint64_t prod, reclaim, head, evicted;
	unsigned int prio;
	int i;

	REQUIRE(t,
		!fx_init(&f,
			 (struct hostring_params){ .size = 4096, .mode = MPMCRING_MODE_OVERWRITE }),
		"init");
	m = f.h.v.meta;
	for (i = 0; i < 200; i++)
		CHECK_EQ(t, put(&f, 0, 56, MPMCRING_PRIO_LOW, i), 0);
	evicted = m->lost_overwritten;
	CHECK(t, evicted > 0, "the ring was filled past its size");
	prod = m->prod_pos;
	reclaim = m->reclaim_pos;
	head = f.h.v.cons->head;
	for (prio = 0; prio < MPMCRING_NR_PRIO; prio++)
		CHECK_EQ(t, hostring_admit(&f.h, 0, 56, prio), 0);
	CHECK_EQ(t, m->prod_pos, prod);
	CHECK_EQ(t, m->reclaim_pos, reclaim);
	CHECK_EQ(t, f.h.v.cons->head, head);
	CHECK_EQ(t, m->lost_overwritten, evicted);
	CHECK_EQ(t, hostring_dropped(&f.h), 0);
	fx_fini(&f);
}

/*
 * Overwrite mode: the newest data survives, evicted records are counted
 * and reported, a held claim is never overwritten, and a record of a
 * higher class is not evicted by a lower one.
 */
static void t_overwrite_mode(struct tap *t)
{
	uint64_t over;
	struct fixture f;
	struct mpmcring_consumer *c2;
	struct mpmcring_record held, rec;
	struct mpmcring_lost lost = MPMCRING_OPTS(mpmcring_lost);
	char copy[64];
	int i, first = -1, got = 0;

	REQUIRE(t,
		!fx_init(&f,
			 (struct hostring_params){ .size = 4096, .mode = MPMCRING_MODE_OVERWRITE }),
		"init");
	for (i = 0; i < 64 * 3; i++)
		CHECK_EQ(t, put(&f, 0, 56, MPMCRING_PRIO_NORMAL, i), 0);
	CHECK_EQ(t, f.h.overwritten_records, 128);
	CHECK_EQ(t, mpmcring_read(f.c, &held), 0);
	first = rec_seq(&held);
	CHECK_EQ(t, first, 128);
	memcpy(copy, held.data, 56);
	mpmcring_take_lost(f.c, &lost);
	CHECK_EQ(t, lost.overwritten, 128);
	/*
	 * Flood while the claim is held: the held record is the oldest in
	 * use, so no space can come back and every new record is dropped.
	 */
	c2 = mpmcring_consumer_new(f.r);
	for (i = 0; i < 64; i++)
		CHECK_EQ(t, put(&f, 0, 56, MPMCRING_PRIO_NORMAL, 500 + i), -ENOSPC);
	CHECK_EQ(t, memcmp(copy, held.data, 56), 0);
	CHECK_EQ(t, rec_seq(&held), 128);
	CHECK_EQ(t, hostring_dropped(&f.h), 64);
	CHECK_EQ(t, f.h.overwritten_records, 128);
	/* Committed: the flood now evicts the old unclaimed records. */
	mpmcring_commit(f.c);
	for (i = 0; i < 64 * 2; i++)
		CHECK_EQ(t, put(&f, 0, 56, MPMCRING_PRIO_NORMAL, 1000 + i), 0);
	while (mpmcring_read(c2, &rec) == 0) {
		CHECK(t, rec_seq(&rec) >= 1064, "old record survived: %d", rec_seq(&rec));
		got++;
		mpmcring_commit(c2);
	}
	CHECK_EQ(t, got, 64);
	/*
	 * The newest window, whatever the class: a critical record at the
	 * oldest end does not stall the recorder behind it.
	 */
	over = f.h.overwritten_records;
	CHECK_EQ(t, put(&f, 0, 56, MPMCRING_PRIO_CRITICAL, 7), 0);
	for (i = 0; i < 64; i++)
		CHECK_EQ(t, put(&f, 0, 56, MPMCRING_PRIO_LOW, 2000 + i), 0);
	CHECK_EQ(t, f.h.overwritten_records, over + 1);
	CHECK_EQ(t, mpmcring_read(c2, &rec), 0);
	CHECK_EQ(t, rec_seq(&rec), 2000);
	mpmcring_commit(c2);
	mpmcring_consumer_free(c2);
	fx_fini(&f);
}

/* A 4 KiB overwrite ring filled exactly: 64 records of 56 bytes. */
static int fx_full_overwrite(struct tap *t, struct fixture *f, unsigned int prio)
{
	int i;

	if (fx_init(f, (struct hostring_params){ .size = 4096, .mode = MPMCRING_MODE_OVERWRITE })) {
		CHECK(t, 0, "init of the full overwrite ring");
		return -1;
	}
	for (i = 0; i < 64; i++)
		CHECK_EQ(t, put(f, 0, 56, prio, i), 0);
	return 0;
}

/*
 * Overwrite mode while another holds the reclaim bit (the tick's reclaim,
 * another producer's eviction): the ring is not full, it only could not
 * evict this time, so the failure is a lost race (MPR_FAIL_BUSY: -EBUSY
 * here, counted as contention), never full. Once the bit is let go the same record goes in
 * by eviction. (Until the fix, this dropped as full: -ENOSPC.)
 */
static void t_overwrite_bit_taken(struct tap *t)
{
	struct fixture f;
	struct hostring_producer *p;
	unsigned int prio = MPMCRING_PRIO_NORMAL;

	if (fx_full_overwrite(t, &f, prio))
		return;
	p = &f.h.prod[0];
	CHECK_EQ(t, f.h.overwritten_records, 0);
	f.h.reclaim_lock = 1;
	CHECK_EQ(t, put(&f, 0, 56, prio, 64), -EBUSY);
	CHECK_EQ(t, p->dropped[MPMCRING_DROP_CONTENTION][prio], 1);
	CHECK_EQ(t, p->dropped[MPMCRING_DROP_FULL][prio], 0);
	CHECK_EQ(t, f.h.overwritten_records, 0);
	f.h.reclaim_lock = 0;
	CHECK_EQ(t, put(&f, 0, 56, prio, 65), 0);
	CHECK_EQ(t, f.h.overwritten_records, 1);
	CHECK_EQ(t, hostring_dropped(&f.h), 1);
	fx_fini(&f);
}

/* after_unlock hooks: another taker of the bit, another producer. */
static void take_bit(struct hostring *h, void *arg)
{
	(void)arg;
	h->reclaim_lock = 1;
}

struct steal {
	struct fixture *f;
	int left, err;
};

static void steal_room(struct hostring *h, void *arg)
{
	struct steal *s = arg;

	(void)h;
	if (s->left > 0 && !s->err) {
		s->left--;
		s->err = put(s->f, 1, 56, MPMCRING_PRIO_NORMAL, 9000 + s->left);
	}
}

/*
 * Overwrite mode, full only when its own eviction could not make room:
 * a held claim pins the oldest record, the first round's eviction is stuck,
 * the second round finds the bit taken: full (-ENOSPC), the honest answer
 * for a pinned ring, not contention. And a reservation whose evictions
 * made room that another producer took each time lost races: contention
 * (-EAGAIN), not full. (The first fix said contention for the one and
 * full for the other: helper-163's findings 1 and 2.)
 */
static void t_overwrite_full_or_lost(struct tap *t)
{
	unsigned int prio = MPMCRING_PRIO_NORMAL;
	struct hostring_producer *p;
	struct mpmcring_record held;
	struct steal st = { 0 };
	struct fixture f;
	int err;

	if (fx_full_overwrite(t, &f, prio))
		return;
	p = &f.h.prod[0];
	/* Pinned, then the bit taken. */
	CHECK_EQ(t, mpmcring_read(f.c, &held), 0);
	f.h.after_unlock = take_bit;
	err = put(&f, 0, 56, prio, 64);
	f.h.after_unlock = NULL;
	f.h.reclaim_lock = 0;
	CHECK_EQ(t, err, -ENOSPC);
	CHECK_EQ(t, p->dropped[MPMCRING_DROP_FULL][prio], 1);
	CHECK_EQ(t, p->dropped[MPMCRING_DROP_CONTENTION][prio], 0);
	CHECK_EQ(t, f.h.overwritten_records, 0);
	mpmcring_commit(f.c);

	/* Each round's room taken by producer 1 before the next check. */
	st.f = &f;
	st.left = 2;
	f.h.after_unlock = steal_room;
	f.h.hook_arg = &st;
	err = put(&f, 0, 56, prio, 65);
	f.h.after_unlock = NULL;
	CHECK_EQ(t, st.err, 0);
	CHECK_EQ(t, st.left, 0);
	CHECK_EQ(t, err, -EAGAIN);
	CHECK_EQ(t, p->dropped[MPMCRING_DROP_CONTENTION][prio], 1);
	CHECK_EQ(t, p->dropped[MPMCRING_DROP_FULL][prio], 1);
	CHECK_EQ(t, f.h.prod[1].produced, 2);
	/* The first round's room was the consumed record's, the second's
	 * an eviction. */
	CHECK_EQ(t, f.h.overwritten_records, 1);
	fx_fini(&f);
}

/* before_lock hook: the ring goes round twice (drained, refilled by
 * producer 1) between a reservation's look at prod_pos and its round. */
static void cycle_ring(struct hostring *h, void *arg)
{
	struct steal *s = arg;
	struct mpmcring_record rec;
	int round, i;

	(void)h;
	for (round = 0; round < 2 && !s->err; round++) {
		while (mpmcring_read(s->f->c, &rec) == 0)
			mpmcring_commit(s->f->c);
		hostring_reclaim(&s->f->h);
		for (i = 0; i < 64 && !s->err; i++)
			s->err = put(s->f, 1, 56, MPMCRING_PRIO_NORMAL, 7000 + i);
	}
	s->left++;
}

/*
 * Overwrite mode, the last two ways a ring that is not pinned could be
 * called full (helper-164's findings 1 and 3). A reservation whose look at
 * prod_pos is old by the time its round runs (an interrupt, a vCPU put
 * aside): reclaim_pos is then past what it needed by far, and the
 * difference must not wrap into "no room". And a reservation whose
 * eviction and reclaim stop at their walk bounds: more would make room, so
 * a lost race, and the next call gets in.
 */
static void t_overwrite_not_full(struct tap *t)
{
	unsigned int prio = MPMCRING_PRIO_NORMAL;
	uint32_t lens[2] = { 32768, 32768 };
	struct steal st = { 0 };
	struct fixture f;
	uint64_t pos[2];
	int i, err;

	if (fx_full_overwrite(t, &f, prio))
		return;
	st.f = &f;
	f.h.before_lock = cycle_ring;
	f.h.hook_arg = &st;
	err = put(&f, 0, 56, prio, 64);
	f.h.before_lock = NULL;
	CHECK_EQ(t, st.err, 0);
	CHECK_EQ(t, st.left, 2);
	CHECK_EQ(t, err, -EAGAIN);
	CHECK_EQ(t, f.h.prod[0].dropped[MPMCRING_DROP_CONTENTION][prio], 1);
	CHECK_EQ(t, f.h.prod[0].dropped[MPMCRING_DROP_FULL][prio], 0);
	fx_fini(&f);

	/* 16,384 one-byte records; two of 32 KiB need 4,096 of them gone,
	 * more than two rounds' walks reach (reclaim 2,048 a round). */
	REQUIRE(t,
		!fx_init(&f, (struct hostring_params){ .size = 262144,
						       .mode = MPMCRING_MODE_OVERWRITE }),
		"init");
	for (i = 0; i < 16384; i++) {
		CHECK_EQ(t, hostring_reserve(&f.h, 0, 1, prio, pos), 0);
		hostring_commit(&f.h, 0, pos[0], 1);
	}
	CHECK_EQ(t, f.h.overwritten_records, 0);
	err = hostring_reserve_batch(&f.h, 0, lens, 2, prio, pos);
	CHECK_EQ(t, err, -EAGAIN);
	CHECK_EQ(t, f.h.prod[0].dropped[MPMCRING_DROP_CONTENTION][prio], 2);
	CHECK_EQ(t, f.h.prod[0].dropped[MPMCRING_DROP_FULL][prio], 0);
	for (i = 0; i < 4 && err; i++)
		err = hostring_reserve_batch(&f.h, 0, lens, 2, prio, pos);
	CHECK_EQ(t, err, 0);
	fx_fini(&f);
}

/*
 * Overwrite mode, pinned far from the head (helper-165's finding 3): a
 * held claim on the oldest record, every later one consumed, an unfinished
 * record at the head. Reclaim frees nothing (the claim) and walks on over
 * 16,382 consumed records towards the head, stopping at its bound there:
 * that walk frees nothing, so it is no "more", and the answer is full.
 */
static void t_overwrite_pinned_far(struct tap *t)
{
	unsigned int prio = MPMCRING_PRIO_NORMAL;
	struct mpmcring_consumer *c2;
	struct mpmcring_record held, rec;
	uint64_t pos, open_pos;
	struct fixture f;
	int i, n = 0;

	REQUIRE(t,
		!fx_init(&f, (struct hostring_params){ .size = 262144,
						       .mode = MPMCRING_MODE_OVERWRITE }),
		"init");
	for (i = 0; i < 16383; i++) {
		CHECK_EQ(t, hostring_reserve(&f.h, 0, 1, prio, &pos), 0);
		hostring_commit(&f.h, 0, pos, 1);
	}
	CHECK_EQ(t, hostring_reserve(&f.h, 0, 1, prio, &open_pos), 0);
	CHECK_EQ(t, mpmcring_read(f.c, &held), 0);
	c2 = mpmcring_consumer_new(f.r);
	if (!c2) {
		fx_fini(&f);
		REQUIRE(t, 0, "second consumer");
	}
	while (c2 && mpmcring_read(c2, &rec) == 0) {
		mpmcring_commit(c2);
		n++;
	}
	CHECK_EQ(t, n, 16382);
	CHECK_EQ(t, hostring_reserve(&f.h, 0, 1, prio, &pos), -ENOSPC);
	CHECK_EQ(t, f.h.prod[0].dropped[MPMCRING_DROP_FULL][prio], 1);
	CHECK_EQ(t, f.h.prod[0].dropped[MPMCRING_DROP_CONTENTION][prio], 0);
	hostring_commit(&f.h, 0, open_pos, 1);
	mpmcring_commit(f.c);
	if (c2)
		mpmcring_consumer_free(c2);
	fx_fini(&f);
}

/*
 * Overwrite mode with classes (the outside review's case): one critical
 * record, then 10,000 normal ones and no consumer. The recorder keeps the
 * newest 64, overwrites the rest and drops nothing.
 */
static void t_overwrite_classes(struct tap *t)
{
	struct fixture f;
	struct mpmcring_record rec;
	int i, n = 0;

	REQUIRE(t,
		!fx_init(&f,
			 (struct hostring_params){ .size = 4096, .mode = MPMCRING_MODE_OVERWRITE }),
		"init");
	CHECK_EQ(t, put(&f, 0, 56, MPMCRING_PRIO_CRITICAL, 0), 0);
	for (i = 1; i <= 10000; i++)
		CHECK_EQ(t, put(&f, 0, 56, MPMCRING_PRIO_NORMAL, i), 0);
	CHECK_EQ(t, hostring_dropped(&f.h), 0);
	CHECK_EQ(t, f.h.overwritten_records, 10001 - 64);
	while (mpmcring_read(f.c, &rec) == 0) {
		CHECK_EQ(t, rec_seq(&rec), 10001 - 64 + n);
		n++;
		mpmcring_commit(f.c);
	}
	CHECK_EQ(t, n, 64);
	fx_fini(&f);
}

/* Positions run through 2^64 on the library's path too. */
static void t_wrap_2_64(struct tap *t)
{
	struct fixture f;
	struct mpmcring_record rec;
	uint64_t start = (uint64_t)0 - 2 * 4096 - 8;
	int i;

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 4096, .initial_pos = start }),
		"init");
	for (i = 0; i < 300; i++) {
		CHECK_EQ(t, put(&f, 0, 24 + (i * 37) % 500, MPMCRING_PRIO_CRITICAL, i), 0);
		CHECK_EQ(t, mpmcring_read(f.c, &rec), 0);
		CHECK_EQ(t, rec_seq(&rec), i);
		mpmcring_commit(f.c);
	}
	CHECK(t, f.h.v.meta->prod_pos < start, "did not cross 2^64");
	fx_fini(&f);
}

/*
 * Garbage in the consumer area: the library reports it, reservations never
 * overlap, and the reclaim repairs the head so the ring works again.
 */
static void t_corrupt_consumer_area(struct tap *t)
{
	struct fixture f;
	struct mpmcring_record rec;
	struct mpmcring_cons_area *cons;
	uint64_t head;
	int i, n = 0;

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
	cons = f.h.v.cons;
	for (i = 0; i < 4; i++)
		CHECK_EQ(t, put(&f, 0, 120, MPMCRING_PRIO_CRITICAL, i), 0);
	head = cons->head;
	cons->head = head + 3; /* misaligned */
	CHECK_EQ(t, mpmcring_read(f.c, &rec), -EBADMSG);
	cons->head = head + 8 * 4096; /* past prod_pos */
	CHECK_EQ(t, mpmcring_read(f.c, &rec), -EBADMSG);
	cons->head = head + 64; /* inside the first record */
	CHECK_EQ(t, mpmcring_read(f.c, &rec), -EAGAIN);
	/* Garbage in slots too: held positions past prod, odd, in range. */
	cons->slots[5].start = 0xdeadbeefdeadbee0ULL;
	cons->slots[6].start = head + 8;
	cons->slots[7].start = 12345;
	hostring_reclaim(&f.h);
	CHECK_EQ(t, f.h.repairs, 1);
	/* A head inside a record goes to that record's end, not to prod. */
	CHECK_EQ(t, cons->head, head + 128);
	cons->slots[6].start = MPMCRING_SLOT_IDLE;
	for (i = 1; i < 4; i++) {
		CHECK_EQ(t, mpmcring_read(f.c, &rec), 0);
		CHECK_EQ(t, rec_seq(&rec), i);
		mpmcring_commit(f.c);
	}
	/* Producers fill the ring; no record is torn or overlapping. */
	for (i = 100; !put(&f, 1, 120, MPMCRING_PRIO_CRITICAL, i); i++)
		;
	while (mpmcring_read(f.c, &rec) == 0) {
		CHECK_EQ(t, rec_seq(&rec), 100 + n);
		n++;
		mpmcring_commit(f.c);
	}
	CHECK(t, n >= 30, "only %d records after the repair", n);
	fx_fini(&f);
}

/* A held claim keeps its space: producers drop instead of reusing it. */
static void t_held_claim_blocks_reuse(struct tap *t)
{
	struct fixture f;
	struct mpmcring_record rec;
	int i, ok = 0;

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
	for (i = 0; i < 64; i++)
		CHECK_EQ(t, put(&f, 0, 56, MPMCRING_PRIO_CRITICAL, i), 0);
	CHECK_EQ(t, mpmcring_read(f.c, &rec), 0);
	CHECK_EQ(t, put(&f, 0, 56, MPMCRING_PRIO_CRITICAL, 64), -ENOSPC);
	mpmcring_commit(f.c);
	for (i = 0; i < 3; i++)
		ok += put(&f, 0, 56, MPMCRING_PRIO_CRITICAL, 65 + i) == 0;
	CHECK_EQ(t, ok, 1); /* exactly one record's space came back */
	fx_fini(&f);
}

/*
 * A co-tenant writes the head back below a claim a consumer holds; the
 * consumer claims again (records it gets a second time) and reclaim,
 * which knows only the first claim's start, frees the second's space.
 * The commit must say so: it checks the oldest start it holds (the model's
 * finding 6; with the first claim's start it returned 0).
 */
static void t_claim_below_held_start(struct tap *t)
{
	struct mpmcring_cons_area *cons;
	struct mpmcring_consumer *c2;
	struct mpmcring_batch b;
	struct fixture f;
	uint64_t h2;
	int i;

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
	cons = f.h.cons;
	c2 = mpmcring_consumer_new(f.r);
	if (!c2) {
		fx_fini(&f);
		REQUIRE(t, 0, "second consumer");
	}
	for (i = 0; i < 8; i++)
		CHECK_EQ(t, put(&f, 0, 56, MPMCRING_PRIO_CRITICAL, i), 0);
	CHECK_EQ(t, mpmcring_read_batch(c2, &b, 2, SIZE_MAX), 2);
	CHECK_EQ(t, mpmcring_commit(c2), 0);
	h2 = __atomic_load_n(&cons->head, __ATOMIC_ACQUIRE);
	CHECK_EQ(t, mpmcring_read_batch(c2, &b, 2, SIZE_MAX), 2);
	CHECK_EQ(t, mpmcring_commit(c2), 0);
	CHECK_EQ(t, mpmcring_read_batch(f.c, &b, 2, SIZE_MAX), 2); /* records 4, 5 */
	__atomic_store_n(&cons->head, h2, __ATOMIC_RELEASE);	   /* the co-tenant */
	CHECK_EQ(t, mpmcring_read_batch(f.c, &b, 2, SIZE_MAX), 2); /* 2, 3 again */
	hostring_reclaim(&f.h);
	CHECK(t, __atomic_load_n(&f.h.v.meta->reclaim_pos, __ATOMIC_ACQUIRE) > h2,
	      "reclaim passed the second claim's start");
	CHECK_EQ(t, mpmcring_commit(f.c), -ESTALE);
	mpmcring_consumer_free(c2);
	fx_fini(&f);
}

static void t_too_big(struct tap *t)
{
	struct fixture f;
	struct mpmcring_record rec;
	uint32_t max;

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
	max = f.h.layout.max_record;
	CHECK_EQ(t, put(&f, 0, max + 1, MPMCRING_PRIO_CRITICAL, 0), -EMSGSIZE);
	CHECK_EQ(t, f.h.prod[0].dropped[MPMCRING_DROP_TOO_BIG][MPMCRING_PRIO_CRITICAL], 1);
	CHECK_EQ(t, put(&f, 0, max, MPMCRING_PRIO_CRITICAL, 1), 0);
	CHECK_EQ(t, mpmcring_read(f.c, &rec), 0);
	CHECK_EQ(t, rec.len, max);
	CHECK_EQ(t, rec_seq(&rec), 1);
	mpmcring_commit(f.c);
	fx_fini(&f);
}

/*
 * Mixing consume and read_batch on one consumer: a batch claimed while
 * consume's records wait would skip them, and consume's commit would release
 * records handed out by read or read_batch. Both are refused (-EINVAL), and
 * every record still comes exactly once.
 */
static void t_mixing_loses_nothing(struct tap *t)
{
	struct fixture f;
	struct stopper s = { .stop_at = 1 };
	struct mpmcring_batch b;
	struct mpmcring_record rec;
	int i, n;

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 8192 }), "init");
	for (i = 0; i < 6; i++)
		CHECK_EQ(t, put(&f, 0, 40, MPMCRING_PRIO_CRITICAL, i), 0);
	/* consume stops after record 0: 1..5 stay held, undelivered. */
	CHECK_EQ(t, mpmcring_consume(f.c, 100, stop_cb, &s), -ECANCELED);
	CHECK_EQ(t, mpmcring_read_batch(f.c, &b, 3, SIZE_MAX), -EINVAL);
	s.stop_at = 0;
	CHECK_EQ(t, mpmcring_consume(f.c, 100, stop_cb, &s), 5);
	for (i = 0; i < 6; i++)
		CHECK_EQ(t, s.seen[i], 1);

	/* The other order: a batch held, consume must not commit it. */
	for (i = 6; i < 12; i++)
		CHECK_EQ(t, put(&f, 0, 40, MPMCRING_PRIO_CRITICAL, i), 0);
	CHECK_EQ(t, mpmcring_read_batch(f.c, &b, 3, SIZE_MAX), 3);
	n = mpmcring_consume(f.c, 100, stop_cb, &s);
	CHECK_EQ(t, n, -EINVAL);
	CHECK(t, strstr(mpmcring_errmsg(), "mpmcring_commit") != NULL, "message: %s",
	      mpmcring_errmsg());
	for (i = 6; i < 9; i++) {
		CHECK_EQ(t, mpmcring_batch_next(&b, &rec), 1);
		CHECK_EQ(t, rec_seq(&rec), i);
	}
	CHECK_EQ(t, mpmcring_commit(f.c), 0);
	/* A record from read is the caller's until it commits, too. */
	CHECK_EQ(t, mpmcring_read(f.c, &rec), 0);
	CHECK_EQ(t, rec_seq(&rec), 9);
	CHECK_EQ(t, mpmcring_consume(f.c, 100, stop_cb, &s), -EINVAL);
	CHECK_EQ(t, mpmcring_commit(f.c), 0);
	CHECK_EQ(t, mpmcring_consume(f.c, 100, stop_cb, &s), 2);
	for (i = 6; i < 12; i++)
		CHECK_EQ(t, s.seen[i], i < 10 ? 0 : 1);
	CHECK_EQ(t, mpmcring_read(f.c, &rec), -EAGAIN);

	/*
	 * A stop, then read takes one of the rest: consume is refused, and
	 * its message must not advise a commit, which would drop the others.
	 */
	for (i = 12; i < 16; i++)
		CHECK_EQ(t, put(&f, 0, 40, MPMCRING_PRIO_CRITICAL, i), 0);
	s.calls = 0;
	s.stop_at = 1;
	CHECK_EQ(t, mpmcring_consume(f.c, 100, stop_cb, &s), -ECANCELED);
	CHECK_EQ(t, mpmcring_read(f.c, &rec), 0);
	CHECK_EQ(t, rec_seq(&rec), 13);
	/* read_batch is refused too, and must not send it to consume. */
	CHECK_EQ(t, mpmcring_read_batch(f.c, &b, 3, SIZE_MAX), -EINVAL);
	CHECK(t, !strstr(mpmcring_errmsg(), "with mpmcring_consume()"), "message: %s",
	      mpmcring_errmsg());
	CHECK(t, strstr(mpmcring_errmsg(), "with mpmcring_read()"), "message: %s",
	      mpmcring_errmsg());
	CHECK_EQ(t, mpmcring_consume(f.c, 100, stop_cb, &s), -EINVAL);
	CHECK(t, strstr(mpmcring_errmsg(), "take those with mpmcring_read()"), "message: %s",
	      mpmcring_errmsg());
	for (i = 14; i < 16; i++) {
		CHECK_EQ(t, mpmcring_read(f.c, &rec), 0);
		CHECK_EQ(t, rec_seq(&rec), i);
	}
	CHECK_EQ(t, mpmcring_commit(f.c), 0);
	CHECK_EQ(t, mpmcring_read(f.c, &rec), -EAGAIN);
	fx_fini(&f);
}

/*
 * mpmcring_read_many() under the same rules as read_batch: refused while a
 * stopped consume's records wait (its claim would start past them, and the
 * commit after it would drop them), and consume refused while it holds
 * what read_many handed out. Every record comes exactly once.
 */
static void t_read_many_mixing_loses_nothing(struct tap *t)
{
	struct fixture f;
	struct stopper s = { .stop_at = 1 };
	struct mpmcring_record recs[4];
	int i, n;

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 8192 }), "init");
	for (i = 0; i < 6; i++)
		CHECK_EQ(t, put(&f, 0, 40, MPMCRING_PRIO_CRITICAL, i), 0);
	CHECK_EQ(t, mpmcring_consume(f.c, 100, stop_cb, &s), -ECANCELED);
	/* Whatever the count: max_records 1 takes the single-record path. */
	CHECK_EQ(t, mpmcring_read_many(f.c, recs, 1, SIZE_MAX), -EINVAL);
	CHECK(t, strstr(mpmcring_errmsg(), "mpmcring_read_many") != NULL, "message: %s",
	      mpmcring_errmsg());
	CHECK_EQ(t, mpmcring_read_many(f.c, recs, 4, SIZE_MAX), -EINVAL);
	s.stop_at = 0;
	CHECK_EQ(t, mpmcring_consume(f.c, 100, stop_cb, &s), 5);
	for (i = 0; i < 6; i++)
		CHECK_EQ(t, s.seen[i], 1);

	for (i = 6; i < 12; i++)
		CHECK_EQ(t, put(&f, 0, 40, MPMCRING_PRIO_CRITICAL, i), 0);
	CHECK_EQ(t, mpmcring_read_many(f.c, recs, 1, SIZE_MAX), 1);
	CHECK_EQ(t, rec_seq(&recs[0]), 6);
	CHECK_EQ(t, mpmcring_consume(f.c, 100, stop_cb, &s), -EINVAL);
	CHECK_EQ(t, mpmcring_commit(f.c), 0);
	n = mpmcring_read_many(f.c, recs, 3, SIZE_MAX);
	CHECK_EQ(t, n, 3);
	for (i = 0; i < n; i++)
		CHECK_EQ(t, rec_seq(&recs[i]), 7 + i);
	CHECK_EQ(t, mpmcring_consume(f.c, 100, stop_cb, &s), -EINVAL);
	CHECK_EQ(t, mpmcring_commit(f.c), 0);
	CHECK_EQ(t, mpmcring_consume(f.c, 100, stop_cb, &s), 2);
	for (i = 6; i < 12; i++)
		CHECK_EQ(t, s.seen[i], i < 10 ? 0 : 1);
	CHECK_EQ(t, mpmcring_read_many(f.c, recs, 4, SIZE_MAX), -EAGAIN);

	/* consume stopped at its last record: nothing waits, so read_many
	 * adds to the claim (the whole way), and consume may not commit it. */
	for (i = 12; i < 15; i++)
		CHECK_EQ(t, put(&f, 0, 40, MPMCRING_PRIO_CRITICAL, i), 0);
	s.stop_at = s.calls + 1;
	CHECK_EQ(t, mpmcring_consume(f.c, 1, stop_cb, &s), -ECANCELED);
	CHECK_EQ(t, s.seen[12], 1);
	n = mpmcring_read_many(f.c, recs, 4, SIZE_MAX);
	CHECK_EQ(t, n, 2);
	CHECK_EQ(t, rec_seq(&recs[0]), 13);
	CHECK_EQ(t, mpmcring_consume(f.c, 100, stop_cb, &s), -EINVAL);
	CHECK_EQ(t, mpmcring_commit(f.c), 0);
	CHECK_EQ(t, mpmcring_consume(f.c, 100, stop_cb, &s), 0);
	CHECK_EQ(t, s.seen[13] + s.seen[14], 0);
	fx_fini(&f);
}

/* A batch ends at the commit: its records are no longer the consumer's. */
static void t_batch_ends_at_commit(struct tap *t)
{
	struct fixture f;
	struct mpmcring_batch b;
	struct mpmcring_record rec;
	int i;

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
	for (i = 0; i < 4; i++)
		CHECK_EQ(t, put(&f, 0, 40, MPMCRING_PRIO_CRITICAL, i), 0);
	CHECK_EQ(t, mpmcring_read_batch(f.c, &b, 4, SIZE_MAX), 4);
	CHECK_EQ(t, mpmcring_batch_next(&b, &rec), 1);
	CHECK_EQ(t, mpmcring_commit(f.c), 0);
	CHECK_EQ(t, mpmcring_batch_next(&b, &rec), 0);
	fx_fini(&f);
}

/* mpmcring_errmsg() describes the last failure, never an older one. */
static void t_errmsg_follows_every_failure(struct tap *t)
{
	struct stopper s = { 0 };
	struct fixture f;
	struct mpmcring_record rec;
	uint64_t pos;
	char buf[64];

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
	CHECK_EQ(t, mpmcring_consume(f.c, 0, stop_cb, NULL), -EINVAL);
	CHECK_EQ(t, mpmcring_read(f.c, &rec), -EAGAIN);
	CHECK(t, strstr(mpmcring_errmsg(), "no record is ready") != NULL, "after read: %s",
	      mpmcring_errmsg());
	CHECK_EQ(t, mpmcring_consume(f.c, 0, stop_cb, NULL), -EINVAL);
	CHECK_EQ(t, mpmcring_read_many(f.c, &rec, 1, SIZE_MAX), -EAGAIN);
	CHECK(t, strstr(mpmcring_errmsg(), "no record is ready") != NULL, "after read_many: %s",
	      mpmcring_errmsg());
	CHECK_EQ(t, mpmcring_consume(f.c, 0, stop_cb, NULL), -EINVAL);
	CHECK_EQ(t, mpmcring_read_many(f.c, &rec, 4, SIZE_MAX), -EAGAIN);
	CHECK(t, strstr(mpmcring_errmsg(), "no record is ready") != NULL, "after read_many: %s",
	      mpmcring_errmsg());
	CHECK_EQ(t, mpmcring_consume(f.c, 0, stop_cb, NULL), -EINVAL);
	CHECK_EQ(t, mpmcring_peek(f.c, &rec), -EAGAIN);
	CHECK(t, strstr(mpmcring_errmsg(), "no record is ready") != NULL, "after peek: %s",
	      mpmcring_errmsg());
	CHECK_EQ(t, mpmcring_consume(f.c, 0, stop_cb, NULL), -EINVAL);
	pos = mpmcring_snoop_start(f.r);
	CHECK_EQ(t, mpmcring_snoop(f.r, &pos, buf, sizeof(buf), &rec), -EAGAIN);
	CHECK(t, strstr(mpmcring_errmsg(), "no record is ready") != NULL, "after snoop: %s",
	      mpmcring_errmsg());
	/* A callback's stop: the value is fn's, the message says so. */
	CHECK_EQ(t, put(&f, 0, 40, MPMCRING_PRIO_CRITICAL, 0), 0);
	s.stop_at = 1;
	CHECK_EQ(t, mpmcring_consume(f.c, 8, stop_cb, &s), -ECANCELED);
	CHECK_EQ(t, errno, ECANCELED);
	CHECK(t, strstr(mpmcring_errmsg(), "callback returned -125") != NULL, "after a stop: %s",
	      mpmcring_errmsg());
	fx_fini(&f);
}

static int count_cb(void *ctx, const struct mpmcring_record *rec)
{
	(void)rec;
	return ++*(int *)ctx; /* positive: "handled", not a stop */
}

/*
 * Only a negative callback value stops consume: a positive one would be
 * indistinguishable from a record count, and would leave the claim held.
 */
static void t_consume_positive_return_is_not_a_stop(struct tap *t)
{
	struct fixture f;
	int i, calls = 0;

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
	for (i = 0; i < 5; i++)
		CHECK_EQ(t, put(&f, 0, 40, MPMCRING_PRIO_CRITICAL, i), 0);
	CHECK_EQ(t, mpmcring_consume(f.c, 100, count_cb, &calls), 5);
	CHECK_EQ(t, calls, 5);
	/* Committed: the slot holds nothing. */
	CHECK_EQ(t, f.h.v.cons->slots[0].start & 1, 1);
	fx_fini(&f);
}

/*
 * A commit after a stopped consume would release the undelivered rest of
 * its claim unread and uncounted: refused (-EINVAL), the records still come,
 * once each. Freeing the consumer, its end, still releases everything.
 */
static void t_commit_after_stopped_consume(struct tap *t)
{
	struct mpmcring_lost lost = MPMCRING_OPTS(mpmcring_lost);
	struct fixture f;
	struct stopper s = { .stop_at = 3 };
	struct mpmcring_record rec;
	int i;

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 8192 }), "init");
	for (i = 0; i < 10; i++)
		CHECK_EQ(t, put(&f, 0, 40, MPMCRING_PRIO_CRITICAL, i), 0);
	CHECK_EQ(t, mpmcring_consume(f.c, 64, stop_cb, &s), -ECANCELED);
	errno = 0;
	CHECK_EQ(t, mpmcring_commit(f.c), -EINVAL);
	CHECK_EQ(t, errno, EINVAL);
	CHECK(t, strstr(mpmcring_errmsg(), "undelivered") != NULL, "message: %s",
	      mpmcring_errmsg());
	/* Still held, not released: the slot's start is even. */
	CHECK_EQ(t, f.h.v.cons->slots[0].start & 1, 0);
	s.stop_at = 0;
	CHECK_EQ(t, mpmcring_consume(f.c, 64, stop_cb, &s), 7);
	for (i = 0; i < 10; i++)
		CHECK_EQ(t, s.seen[i], 1);
	CHECK_EQ(t, f.h.v.cons->slots[0].start & 1, 1);

	/* With one of the rest read too: only read can take the others. */
	for (i = 10; i < 14; i++)
		CHECK_EQ(t, put(&f, 0, 40, MPMCRING_PRIO_CRITICAL, i), 0);
	s.calls = 0;
	s.stop_at = 1;
	CHECK_EQ(t, mpmcring_consume(f.c, 64, stop_cb, &s), -ECANCELED);
	CHECK_EQ(t, mpmcring_read(f.c, &rec), 0);
	CHECK_EQ(t, rec_seq(&rec), 11);
	CHECK_EQ(t, mpmcring_commit(f.c), -EINVAL);
	CHECK(t, strstr(mpmcring_errmsg(), "mpmcring_read()") != NULL, "message: %s",
	      mpmcring_errmsg());
	for (i = 12; i < 14; i++) {
		CHECK_EQ(t, mpmcring_read(f.c, &rec), 0);
		CHECK_EQ(t, rec_seq(&rec), i);
	}
	CHECK_EQ(t, mpmcring_commit(f.c), 0);
	CHECK_EQ(t, mpmcring_read(f.c, &rec), -EAGAIN);

	/* Revoked meanwhile: the rest is lost anyway, and counted. */
	for (i = 18; i < 22; i++)
		CHECK_EQ(t, put(&f, 0, 40, MPMCRING_PRIO_CRITICAL, i), 0);
	s.calls = 0;
	CHECK_EQ(t, mpmcring_consume(f.c, 64, stop_cb, &s), -ECANCELED);
	__atomic_fetch_or(&f.h.v.cons->slots[0].start, MPMCRING_SLOT_REVOKED, __ATOMIC_SEQ_CST);
	CHECK_EQ(t, mpmcring_commit(f.c), -ESTALE);
	CHECK_EQ(t, mpmcring_take_lost(f.c, &lost), 0);
	CHECK_EQ(t, lost.revoked, 4);
	CHECK_EQ(t, mpmcring_read(f.c, &rec), -EAGAIN);

	/* The end of the consumer releases what a stopped consume left
	 * (abandoned: t_free_after_stopped_consume_abandons). */
	for (i = 22; i < 26; i++)
		CHECK_EQ(t, put(&f, 0, 40, MPMCRING_PRIO_CRITICAL, i), 0);
	s.calls = 0;
	CHECK_EQ(t, mpmcring_consume(f.c, 64, stop_cb, &s), -ECANCELED);
	mpmcring_consumer_free(f.c);
	CHECK_EQ(t, f.h.v.cons->slots[0].start & 1, 1);
	f.c = NULL;
	fx_fini(&f);
}

/*
 * Freeing a consumer after a stopped mpmcring_consume(): what fn saw, and
 * what mpmcring_read() took after the stop, counts as consumed; the rest,
 * read by nobody, is abandoned as if the consumer had died, never counted
 * as consumed. On a device MPMCRING_IOC_DETACH adds the slot's
 * held_records to abandoned_records; over plain memory the slot keeps the
 * count. Either way the claim ends: producers may reuse the space.
 */
static void t_free_after_stopped_consume_abandons(struct tap *t)
{
	struct fixture f;
	struct stopper s = { .stop_at = 3 };
	struct mpmcring_record rec;
	struct mpmcring_slot *slot;
	uint64_t consumed;
	int i;

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 8192 }), "init");
	for (i = 0; i < 10; i++)
		CHECK_EQ(t, put(&f, 0, 40, MPMCRING_PRIO_CRITICAL, i), 0);
	slot = &f.h.v.cons->slots[f.c->idx];
	CHECK_EQ(t, mpmcring_consume(f.c, 64, stop_cb, &s), -ECANCELED);
	mpmcring_consumer_free(f.c);
	CHECK_EQ(t, slot->start & 1, 1);
	CHECK_EQ(t, slot->consumed_records, 3);
	CHECK_EQ(t, slot->consumed_bytes, 3 * 40);
	CHECK_EQ(t, slot->held_records, 7);

	/* Stopped, then one more taken with read: four delivered. */
	f.c = mpmcring_consumer_new(f.r);
	CHECK(t, f.c != NULL, "second consumer");
	if (!f.c)
		return;
	slot = &f.h.v.cons->slots[f.c->idx];
	for (i = 10; i < 20; i++)
		CHECK_EQ(t, put(&f, 0, 40, MPMCRING_PRIO_CRITICAL, i), 0);
	s = (struct stopper){ .stop_at = 3 };
	CHECK_EQ(t, mpmcring_consume(f.c, 64, stop_cb, &s), -ECANCELED);
	CHECK_EQ(t, mpmcring_read(f.c, &rec), 0);
	CHECK_EQ(t, rec_seq(&rec), 13);
	mpmcring_consumer_free(f.c);
	CHECK_EQ(t, slot->start & 1, 1);
	CHECK_EQ(t, slot->consumed_records, 4);
	CHECK_EQ(t, slot->held_records, 6);

	/* Nothing undelivered (read, not committed): all consumed. */
	f.c = mpmcring_consumer_new(f.r);
	CHECK(t, f.c != NULL, "third consumer");
	if (!f.c)
		return;
	slot = &f.h.v.cons->slots[f.c->idx];
	for (i = 20; i < 22; i++)
		CHECK_EQ(t, put(&f, 0, 40, MPMCRING_PRIO_CRITICAL, i), 0);
	CHECK_EQ(t, mpmcring_read(f.c, &rec), 0);
	mpmcring_consumer_free(f.c);
	CHECK_EQ(t, slot->start & 1, 1);
	CHECK_EQ(t, slot->consumed_records, 1);
	CHECK_EQ(t, slot->held_records, 0);
	f.c = mpmcring_consumer_new(f.r);
	CHECK_EQ(t, mpmcring_read(f.c, &rec), 0);
	CHECK_EQ(t, rec_seq(&rec), 21);
	mpmcring_consumer_free(f.c);

	/*
	 * Revoked between the stop and the free (the consumer stood still
	 * past the claim timeout): the revocation counted the whole claim,
	 * held_records = 10, as revoked. The end must not add the three
	 * delivered to consumed_records as well, and leaves nothing held
	 * for detach to count as abandoned.
	 */
	f.c = mpmcring_consumer_new(f.r);
	CHECK(t, f.c != NULL, "fifth consumer");
	if (!f.c)
		return;
	slot = &f.h.v.cons->slots[f.c->idx];
	for (i = 30; i < 40; i++)
		CHECK_EQ(t, put(&f, 0, 40, MPMCRING_PRIO_CRITICAL, i), 0);
	s = (struct stopper){ .stop_at = 3 };
	CHECK_EQ(t, mpmcring_consume(f.c, 64, stop_cb, &s), -ECANCELED);
	consumed = slot->consumed_records;
	CHECK_EQ(t, slot->held_records, 10);
	__atomic_fetch_or(&slot->start, MPMCRING_SLOT_REVOKED, __ATOMIC_SEQ_CST);
	mpmcring_consumer_free(f.c);
	f.c = NULL;
	CHECK_EQ(t, slot->start, MPMCRING_SLOT_IDLE);
	CHECK_EQ(t, slot->consumed_records, consumed);
	CHECK_EQ(t, slot->held_records, 0);
	fx_fini(&f);
}

/*
 * After a stopped consume the shared head is past the undelivered rest of
 * its claim: peek must show this consumer's next record, the one read
 * delivers, not -EAGAIN over records only this consumer can read.
 */
static void t_peek_after_stopped_consume(struct tap *t)
{
	struct fixture f;
	struct stopper s = { .stop_at = 3 };
	struct mpmcring_record rec = { 0 }, peeked = { 0 };
	int i;

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 8192 }), "init");
	for (i = 0; i < 10; i++)
		CHECK_EQ(t, put(&f, 0, 40, MPMCRING_PRIO_CRITICAL, i), 0);
	CHECK_EQ(t, mpmcring_consume(f.c, 64, stop_cb, &s), -ECANCELED);
	for (i = 3; i < 10; i++) {
		CHECK_EQ(t, mpmcring_peek(f.c, &peeked), 0);
		CHECK_EQ(t, rec_seq(&peeked), i);
		CHECK_EQ(t, mpmcring_read(f.c, &rec), 0);
		CHECK_EQ(t, rec_seq(&rec), i);
		CHECK_EQ(t, rec.pos, peeked.pos);
		CHECK(t, rec.data == peeked.data, "peek and read differ");
	}
	CHECK_EQ(t, mpmcring_peek(f.c, &peeked), -EAGAIN);
	CHECK_EQ(t, mpmcring_commit(f.c), 0);
	/* Nothing pending: the head again. */
	CHECK_EQ(t, put(&f, 0, 40, MPMCRING_PRIO_CRITICAL, 10), 0);
	CHECK_EQ(t, mpmcring_peek(f.c, &peeked), 0);
	CHECK_EQ(t, rec_seq(&peeked), 10);
	CHECK_EQ(t, mpmcring_read(f.c, &rec), 0);
	CHECK_EQ(t, rec.pos, peeked.pos);
	fx_fini(&f);
}

struct reenter {
	struct mpmcring_consumer *c;
	int calls, seen[8];
	int read, batch, commit, consume; /* what the calls returned */
	int msg_ok;
};

static int reenter_cb(void *ctx, const struct mpmcring_record *rec)
{
	struct reenter *e = ctx;
	struct mpmcring_record r2;
	struct mpmcring_batch b;
	int seq = rec_seq(rec);

	if (seq >= 0 && seq < 8)
		e->seen[seq]++;
	if (e->calls++)
		return 0;
	/* The consumer is mid-consume: each of these would break it. */
	e->read = mpmcring_read(e->c, &r2);
	e->msg_ok = strstr(mpmcring_errmsg(), "inside mpmcring_consume()") != NULL;
	e->batch = mpmcring_read_batch(e->c, &b, 4, SIZE_MAX);
	e->commit = mpmcring_commit(e->c);
	e->consume = mpmcring_consume(e->c, 4, reenter_cb, e);
	return 0;
}

/*
 * A callback that reads, commits or consumes on the consumer feeding it
 * would take records consume then commits under it, or release the rest of
 * the claim: refused (-EINVAL), and every record still comes once.
 */
static void t_calls_from_callback_refused(struct tap *t)
{
	struct fixture f;
	struct reenter e = { 0 };
	struct mpmcring_record rec;
	int i;

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 8192 }), "init");
	e.c = f.c;
	for (i = 0; i < 4; i++)
		CHECK_EQ(t, put(&f, 0, 40, MPMCRING_PRIO_CRITICAL, i), 0);
	CHECK_EQ(t, mpmcring_consume(f.c, 64, reenter_cb, &e), 4);
	CHECK_EQ(t, e.read, -EINVAL);
	CHECK(t, e.msg_ok, "read's message names the callback");
	CHECK_EQ(t, e.batch, -EINVAL);
	CHECK_EQ(t, e.commit, -EINVAL);
	CHECK_EQ(t, e.consume, -EINVAL);
	CHECK_EQ(t, e.calls, 4);
	for (i = 0; i < 4; i++)
		CHECK_EQ(t, e.seen[i], 1);
	CHECK_EQ(t, f.h.v.cons->slots[0].start & 1, 1);
	/* Outside the callback the calls work again. */
	CHECK_EQ(t, put(&f, 0, 40, MPMCRING_PRIO_CRITICAL, 4), 0);
	CHECK_EQ(t, mpmcring_read(f.c, &rec), 0);
	CHECK_EQ(t, rec_seq(&rec), 4);
	CHECK_EQ(t, mpmcring_commit(f.c), 0);
	fx_fini(&f);
}

/* How a test takes its first claim: each entry point's own fast path. */
enum claim_way { BY_READ, BY_READ_MANY, BY_READ_BATCH, BY_CONSUME, NR_WAYS };

static int hold_cb(void *ctx, const struct mpmcring_record *rec)
{
	(void)ctx;
	(void)rec;
	return -ECANCELED; /* stop (only a negative value does): the record stays held */
}

static int claim_by(struct mpmcring_consumer *c, enum claim_way way)
{
	struct mpmcring_record recs[4];
	struct mpmcring_batch b;
	int n;

	switch (way) {
	case BY_READ:
		return mpmcring_read(c, recs) == 0 ? 1 : -1;
	case BY_READ_MANY:
		return mpmcring_read_many(c, recs, 4, SIZE_MAX);
	case BY_READ_BATCH:
		return mpmcring_read_batch(c, &b, 4, SIZE_MAX);
	default:
		/* hold_cb stopped it: one record delivered and held; or its error */
		n = mpmcring_consume(c, 1, hold_cb, NULL);
		return n == -ECANCELED ? 1 : n < 0 ? n : -1;
	}
}

/*
 * A co-tenant can make reclaim pass a claim without any revocation (here it
 * writes the holder's start to idle). Whichever way the claim was taken, the
 * library kept where it begins, and validate and commit report -ESTALE
 * ([C5]): no torn data without being told.
 */
static void t_commit_sees_reclaim_pass(struct tap *t)
{
	enum claim_way way;

	for (way = 0; way < NR_WAYS; way++) {
		struct fixture f;
		struct mpmcring_consumer *other;
		struct mpmcring_record rec;
		int i, n;

		REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
		other = mpmcring_consumer_new(f.r);
		if (!other) {
			fx_fini(&f);
			REQUIRE(t, 0, "second consumer");
		}
		for (i = 0; !put(&f, 0, 56, MPMCRING_PRIO_CRITICAL, i); i++)
			;
		n = claim_by(f.c, way);
		CHECK(t, n >= 1, "way %d: claimed %d", way, n);
		CHECK_EQ(t, mpmcring_validate(f.c), 0);
		f.h.v.cons->slots[0].start = MPMCRING_SLOT_IDLE; /* the co-tenant */
		while (mpmcring_read(other, &rec) == 0)
			CHECK_EQ(t, mpmcring_commit(other), 0);
		hostring_reclaim(&f.h);
		/* Producers now write over what the holder read. */
		CHECK(t, !put(&f, 1, 56, MPMCRING_PRIO_CRITICAL, 1000),
		      "way %d: no space came back", way);
		CHECK_EQ(t, mpmcring_validate(f.c), -ESTALE);
		CHECK_EQ(t, mpmcring_commit(f.c), -ESTALE);
		mpmcring_consumer_free(other);
		fx_fini(&f);
	}
}

/*
 * A claim taken while holding another keeps the first one's start: a
 * reclaim that passes only the first (a co-tenant wrote the head back to
 * the second's start and the slot to idle) is still reported. consume is
 * refused over records read handed out (its commit would release them):
 * then only the first claim is held, and still reported.
 */
static void t_held_claim_keeps_first_start(struct tap *t)
{
	enum claim_way way;

	for (way = 0; way < NR_WAYS; way++) {
		struct fixture f;
		struct mpmcring_cons_area *cons;
		uint64_t second;
		int i, n;

		REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
		cons = f.h.v.cons;
		for (i = 0; i < 8; i++)
			CHECK_EQ(t, put(&f, 0, 56, MPMCRING_PRIO_CRITICAL, i), 0);
		CHECK_EQ(t, claim_by(f.c, BY_READ), 1);
		second = cons->head;
		n = claim_by(f.c, way);
		if (way == BY_CONSUME)
			CHECK_EQ(t, n, -EINVAL);
		else
			CHECK(t, n >= 1, "way %d: second claim: %d", way, n);
		cons->slots[0].start = MPMCRING_SLOT_IDLE; /* the co-tenant */
		cons->head = second;
		hostring_reclaim(&f.h);
		CHECK_EQ(t, f.h.v.meta->reclaim_pos, second);
		CHECK_EQ(t, mpmcring_validate(f.c), -ESTALE);
		CHECK_EQ(t, mpmcring_commit(f.c), -ESTALE);
		fx_fini(&f);
	}
}

/* During the claim's walk: what a co-tenant and reclaim do meanwhile. */
struct passer {
	struct fixture *f;
	int calls;
};

static void passer_put(void *ctx, __u32 i, const struct mpr_rec *rec)
{
	struct passer *ps = ctx;
	struct mpmcring_cons_area *cons = ps->f->h.v.cons;
	uint64_t h = cons->head;

	(void)rec;
	if (i || ps->calls++)
		return;
	/* The head moved on, reclaim freed all, the head written back. */
	cons->head = ps->f->h.v.meta->prod_pos;
	hostring_reclaim(&ps->f->h);
	cons->head = h;
}

/*
 * The claim's compare-and-swap can succeed on space reclaim has freed: a
 * co-tenant moved the head on and wrote it back while the claim walked
 * (the claim announces only after its walk). That is no claim: it must not
 * hand out the records, and its announce goes back to idle.
 */
static void t_claim_passed_is_no_claim(struct tap *t)
{
	struct fixture f;
	struct passer ps = { &f, 0 };
	struct mpr_claim_sink sink = { passer_put, &ps };
	struct mpr_claim cl;
	int i, n;

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
	for (i = 0; i < 8; i++)
		CHECK_EQ(t, put(&f, 0, 56, MPMCRING_PRIO_CRITICAL, i), 0);
	n = mpr_claim_into(&f.h.v, &f.h.v.cons->slots[0].start, false, 4, UINT64_MAX, false, &cl,
			   &sink);
	CHECK_EQ(t, ps.calls, 1);
	/* Retried from a head now behind reclaim_pos: corrupt, not a claim. */
	CHECK_EQ(t, n, -EBADMSG);
	CHECK_EQ(t, f.h.v.cons->slots[0].start, MPMCRING_SLOT_IDLE);
	fx_fini(&f);
}

/*
 * A claim revoked between its compare-and-swap and its claim-passed look
 * (f483eda, the model's finding 5), made to happen in one thread by
 * revoker.h, for every entry point. The claim must say so (-ESTALE, the
 * records counted lost as revoked), not retry and hide it.
 */
/* claim_by(), with what each entry point returns as it is. */
static int claim_raw(struct mpmcring_consumer *c, enum claim_way way)
{
	struct mpmcring_record recs[4];
	struct mpmcring_batch b;

	switch (way) {
	case BY_READ:
		return mpmcring_read(c, recs);
	case BY_READ_MANY:
		return mpmcring_read_many(c, recs, 4, SIZE_MAX);
	case BY_READ_BATCH:
		return mpmcring_read_batch(c, &b, 4, SIZE_MAX);
	default:
		return mpmcring_consume(c, 1, hold_cb, NULL);
	}
}

static void t_claim_revoked_while_made(struct tap *t)
{
	enum claim_way way;

	for (way = 0; way < NR_WAYS; way++) {
		struct mpmcring_lost lost = MPMCRING_OPTS(mpmcring_lost);
		struct fixture f;
		int i, n, err, want = way == BY_READ_MANY || way == BY_READ_BATCH ? 4 : 1;

		REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
		for (i = 0; i < 8; i++)
			CHECK_EQ(t, put(&f, 0, 56, MPMCRING_PRIO_CRITICAL, i), 0);
		if (revoker_arm(&f.h, REVOKE_AFTER_COTENANT)) {
			CHECK(t, false, "arming the revoker: %s", strerror(errno));
			fx_fini(&f);
			return;
		}
		n = claim_raw(f.c, way);
		err = errno;
		revoker_disarm();
		CHECK(t, n == -ESTALE && err == ESTALE, "way %d: %d, errno %d", way, n, err);
		/* Both faults, the second where the claim looks for a pass. */
		CHECK_EQ(t, revoker.faults, 2);
		CHECK(t, revoker.addr[1] == (void *)&f.h.v.meta->reclaim_pos,
		      "way %d: second fault at %p, not reclaim_pos", way, revoker.addr[1]);
		CHECK_EQ(t, f.h.v.cons->slots[0].start, MPMCRING_SLOT_IDLE);
		CHECK_EQ(t, mpmcring_take_lost(f.c, &lost), 0);
		CHECK_EQ(t, lost.revoked, want);
		CHECK_EQ(t, mpmcring_commit(f.c), 0); /* holds nothing */
		fx_fini(&f);
	}
}

/*
 * The announce is written before the compare-and-swap that moves the head
 * ([M:claim-announce] before [M:claim-cas]): a reclaim between the two
 * would otherwise see the head moved and the slot idle, and free records
 * the claim hands out. One thread shows the order: the consumer area is
 * mapped read-only, so the claim's first write into it faults, and the
 * handler notes where and maps it writable again. That write must be the
 * slot's start, not the head, for every entry point's fast path
 * (mpmcring_read() takes mpr_claim_one()) and for the whole way
 * (mpr_claim(), as read(2) and the library's retries take it).
 */
static struct {
	void *cons;
	size_t len;
	void *first; /* where the first write fault was */
	int faults;
} order;

static void order_fault(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (!order.faults++)
		order.first = si->si_addr;
	mprotect(order.cons, order.len, PROT_READ | PROT_WRITE);
}

static void t_announce_before_head(struct tap *t)
{
	struct sigaction sa = { .sa_sigaction = order_fault, .sa_flags = SA_SIGINFO }, old;
	int way;

	sigemptyset(&sa.sa_mask);
	REQUIRE(t, !sigaction(SIGSEGV, &sa, &old), "sigaction");
	for (way = 0; way <= NR_WAYS; way++) {
		struct mpmcring_cons_area *cons;
		struct fixture f;
		struct mpr_claim cl;
		uint64_t h;
		int i, n;

		/* Not REQUIRE: the handler is put back below. */
		if (fx_init(&f, (struct hostring_params){ .size = 4096 })) {
			CHECK(t, 0, "init");
			break;
		}
		cons = f.h.v.cons;
		for (i = 0; i < 8; i++)
			CHECK_EQ(t, put(&f, 0, 56, MPMCRING_PRIO_CRITICAL, i), 0);
		h = cons->head;
		order.cons = f.h.cons;
		order.len = f.h.layout.cons_size;
		order.faults = 0;
		order.first = NULL;
		CHECK_EQ(t, mprotect(order.cons, order.len, PROT_READ), 0);
		if (way == NR_WAYS) /* the whole way */
			n = mpr_claim(&f.h.v, &cons->slots[0].start, false, 1, UINT64_MAX, false,
				      &cl);
		else
			n = claim_by(f.c, (enum claim_way)way);
		CHECK(t, n >= 1, "way %d: claimed %d", way, n);
		CHECK(t, cons->head != h, "way %d: the head did not move", way);
		CHECK_EQ(t, cons->slots[0].start, h);
		CHECK(t, order.first == (void *)&cons->slots[0].start,
		      "way %d: first write into the consumer area at %p, not the slot's start %p (the head is at %p)",
		      way, order.first, (void *)&cons->slots[0].start, (void *)&cons->head);
		fx_fini(&f);
	}
	sigaction(SIGSEGV, &old, NULL);
}

/*
 * A head written between granules over a discarded record: mpr_walk_at()'s
 * stamp ^ pos test reads a discarded stamp at A as committed at A + 3, so
 * only the head's alignment check keeps the payload from being taken for a
 * record (mpr_claim_one()'s check on the cached prod_pos path included:
 * one read first makes prod_seen current). Every entry point reports the
 * corrupt head and leaves it where it is.
 */
static void t_misaligned_head_over_discard(struct tap *t)
{
	enum claim_way way;

	for (way = 0; way < NR_WAYS; way++) {
		struct mpmcring_record rec;
		struct fixture f;
		uint64_t pos;
		int i, n;

		REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 8192 }), "init");
		CHECK_EQ(t, put(&f, 0, 56, MPMCRING_PRIO_CRITICAL, 99), 0);
		CHECK_EQ(t, hostring_reserve(&f.h, 0, 40, MPMCRING_PRIO_CRITICAL, &pos), 0);
		hostring_discard(&f.h, 0, pos);
		for (i = 0; i < 20; i++)
			CHECK_EQ(t, put(&f, 0, 56, MPMCRING_PRIO_CRITICAL, i), 0);
		CHECK_EQ(t, mpmcring_read(f.c, &rec), 0);
		CHECK_EQ(t, rec_seq(&rec), 99);
		CHECK_EQ(t, mpmcring_commit(f.c), 0);
		CHECK_EQ(t, f.h.v.cons->head, pos);
		f.h.v.cons->head = pos + 3; /* the co-tenant */
		n = claim_raw(f.c, way);
		CHECK(t, n == -EBADMSG, "way %d: a head off its granule gave %d", way, n);
		CHECK_EQ(t, f.h.v.cons->head, pos + 3);
		fx_fini(&f);
	}
}

/*
 * A claim of at most 0 records claims nothing (-EINVAL): the walk takes its
 * first record before it looks at max_recs, so mpr_claim_into() checks.
 */
static void count_put(void *ctx, __u32 i, const struct mpr_rec *rec)
{
	(void)i;
	(void)rec;
	++*(int *)ctx;
}

static void t_claim_zero_records(struct tap *t)
{
	int handed = 0;
	struct mpr_claim_sink sink = { count_put, &handed };
	struct mpr_claim cl;
	struct fixture f;
	uint64_t h;
	int n;

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
	CHECK_EQ(t, put(&f, 0, 56, MPMCRING_PRIO_CRITICAL, 0), 0);
	CHECK_EQ(t, put(&f, 0, 56, MPMCRING_PRIO_CRITICAL, 1), 0);
	h = f.h.v.cons->head;
	n = mpr_claim(&f.h.v, &f.h.v.cons->slots[0].start, false, 0, UINT64_MAX, false, &cl);
	CHECK_EQ(t, n, -EINVAL);
	n = mpr_claim_into(&f.h.v, &f.h.v.cons->slots[0].start, false, 0, UINT64_MAX, false, &cl,
			   &sink);
	CHECK_EQ(t, n, -EINVAL);
	CHECK_EQ(t, handed, 0);
	CHECK_EQ(t, f.h.v.cons->head, h);
	CHECK_EQ(t, f.h.v.cons->slots[0].start, MPMCRING_SLOT_IDLE);
	fx_fini(&f);
}

/*
 * Where the claim walk (mpr_claim_attempt()) ends, at each of its bounds
 * exactly: the end of what is reserved (prod_pos) with the last record the
 * smallest there is (a 0-byte payload: one 8-byte granule, what a walk that
 * stops with room left to spare misses), the batch limit (max_recs one
 * below, at and above the records there), the byte limit, an unfinished or
 * discarded record last, and the walk ending exactly where the data area
 * wraps (at 2^64 too). Differential runs over random rings reach these
 * ends seldom: a walk that stopped with 8 bytes of room left failed 1 of
 * 20000 of them. One attempt each, on a fresh ring: the records claimed
 * and where the head went.
 */
struct walk_end_case {
	const char *what;
	uint64_t initial_pos;
	const char *kinds; /* a record each: c committed, d discarded, u unfinished */
	uint32_t lens[6];
	uint32_t max_recs;
	uint64_t max_bytes;
	int want;    /* records claimed */
	int upto;    /* the claim ends where record upto starts (prod_pos past the last) */
	int at_wrap; /* with initial_pos: the record that starts at the data's start */
};

static const struct walk_end_case walk_end_cases[] = {
	{ "the last record 8 bytes", 0, "cc", { 56, 0 }, 100, UINT64_MAX, 2, 2, -1 },
	{ "8-byte records only", 0, "cccc", { 0, 0, 0, 0 }, 100, UINT64_MAX, 4, 4, -1 },
	{ "a 16-byte record last", 0, "ccc", { 0, 0, 8 }, 100, UINT64_MAX, 3, 3, -1 },
	{ "max_recs one below the records", 0, "cccc", { 0, 0, 0, 0 }, 3, UINT64_MAX, 3, 3, -1 },
	{ "max_recs at the records", 0, "cccc", { 0, 0, 0, 0 }, 4, UINT64_MAX, 4, 4, -1 },
	{ "max_recs one above the records", 0, "cccc", { 0, 0, 0, 0 }, 5, UINT64_MAX, 4, 4, -1 },
	{ "max_recs 1, an 8-byte record after", 0, "cc", { 0, 0 }, 1, UINT64_MAX, 1, 1, -1 },
	{ "max_bytes at the payload", 0, "ccc", { 24, 16, 0 }, 100, 40, 3, 3, -1 },
	{ "max_bytes one below", 0, "ccc", { 24, 16, 0 }, 100, 39, 1, 1, -1 },
	{ "an unfinished record after the last", 0, "ccu", { 24, 0, 0 }, 100, UINT64_MAX, 2, 2, -1 },
	{ "a discarded 8-byte record last", 0, "ccd", { 24, 0, 0 }, 100, UINT64_MAX, 2, 3, -1 },
	/* 16 + 8 + 8 bytes from 3 * 4096 - 32: prod_pos is where the data wraps. */
	{ "ending where the data wraps", 3 * 4096 - 32, "ccc", { 8, 0, 0 }, 100, UINT64_MAX, 3, 3, 3 },
	{ "on past the wrap", 3 * 4096 - 24, "ccc", { 8, 0, 0 }, 100, UINT64_MAX, 3, 3, 2 },
	{ "max_recs ending at the wrap", 3 * 4096 - 24, "ccc", { 8, 0, 0 }, 2, UINT64_MAX, 2, 2, 2 },
	{ "ending at 2^64", (uint64_t)0 - 32, "ccc", { 8, 0, 0 }, 100, UINT64_MAX, 3, 3, 3 },
};

static void t_claim_walk_end(struct tap *t)
{
	size_t k;

	for (k = 0; k < sizeof(walk_end_cases) / sizeof(walk_end_cases[0]); k++) {
		const struct walk_end_case *wc = &walk_end_cases[k];
		int i, n, why = 0, nrec = (int)strlen(wc->kinds);
		struct mpr_claim cl = { 0 };
		bool announced = false;
		uint64_t pos[7], h;
		struct fixture f;

		REQUIRE(t,
			!fx_init(&f, (struct hostring_params){ .size = 4096,
							       .initial_pos = wc->initial_pos }),
			"init");
		h = f.h.v.cons->head;
		for (i = 0; i < nrec; i++) {
			CHECK_EQ(t,
				 hostring_reserve(&f.h, 0, wc->lens[i], MPMCRING_PRIO_CRITICAL,
						  &pos[i]),
				 0);
			if (wc->kinds[i] == 'c')
				hostring_commit(&f.h, 0, pos[i], wc->lens[i]);
			else if (wc->kinds[i] == 'd')
				hostring_discard(&f.h, 0, pos[i]);
		}
		pos[nrec] = f.h.v.meta->prod_pos;
		n = mpr_claim_attempt(&f.h.v, &f.h.v.cons->slots[0].start, false, wc->max_recs,
				      wc->max_bytes, false, &cl,
				      (struct mpr_claim_sink){ NULL, NULL }, &announced, &why);
		CHECK(t, n == wc->want && f.h.v.cons->head == pos[wc->upto],
		      "%s: %d records claimed, the head at +%llu; want %d, +%llu", wc->what, n,
		      (unsigned long long)(f.h.v.cons->head - h), wc->want,
		      (unsigned long long)(pos[wc->upto] - h));
		if (n > 0) {
			uint64_t want_bytes = 0;

			for (i = 0; i < wc->upto; i++)
				if (wc->kinds[i] == 'c')
					want_bytes += wc->lens[i];
			CHECK(t, cl.bytes == want_bytes && cl.first.pos == h,
			      "%s: bytes %llu, want %llu", wc->what, (unsigned long long)cl.bytes,
			      (unsigned long long)want_bytes);
		}
		if (n > 0)
			CHECK(t, cl.start == h && cl.end == pos[wc->upto] && cl.records == (__u32)n,
			      "%s: the claim [+%llu, +%llu) of %u", wc->what,
			      (unsigned long long)(cl.start - h), (unsigned long long)(cl.end - h),
			      cl.records);
		if (wc->initial_pos) /* the case's own layout */
			CHECK(t, !(pos[wc->at_wrap] & 4095), "%s: record %d at +%llu, not the wrap",
			      wc->what, wc->at_wrap, (unsigned long long)(pos[wc->at_wrap] & 4095));
		fx_fini(&f);
	}
}

/*
 * The claim walk's limit on discarded records (MPR_CLAIM_WALK) exactly:
 * that many, then a committed one, are one claim; one more discarded, and
 * the attempt moves the head over the limit's worth and claims nothing
 * (MPR_CLAIM_SKIPPED, from where they began: a room ask is due).
 */
static void t_claim_walk_discard_limit(struct tap *t)
{
	int extra;

	for (extra = 0; extra < 2; extra++) {
		struct mpr_claim cl = { 0 };
		bool announced = false;
		uint64_t pos, first = 0, h;
		struct fixture f;
		int i, n, why = 0;

		REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 32768 }), "init");
		h = f.h.v.cons->head;
		for (i = 0; i < MPR_CLAIM_WALK + extra; i++) {
			CHECK_EQ(t, hostring_reserve(&f.h, 0, 0, MPMCRING_PRIO_CRITICAL, &pos), 0);
			hostring_discard(&f.h, 0, pos);
			if (i == MPR_CLAIM_WALK)
				first = pos;
		}
		CHECK_EQ(t, put(&f, 0, 24, MPMCRING_PRIO_CRITICAL, 0), 0);
		n = mpr_claim_attempt(&f.h.v, &f.h.v.cons->slots[0].start, false, 100, UINT64_MAX,
				      false, &cl, (struct mpr_claim_sink){ NULL, NULL }, &announced,
				      &why);
		if (!extra)
			CHECK(t, n == 1 && f.h.v.cons->head == f.h.v.meta->prod_pos,
			      "%d discarded: %d claimed, the head at +%llu", MPR_CLAIM_WALK, n,
			      (unsigned long long)(f.h.v.cons->head - h));
		else
			CHECK(t,
			      n == MPR_CLAIM_SKIPPED && cl.start == h && f.h.v.cons->head == first,
			      "%d discarded: %d claimed from +%llu, the head at +%llu, want +%llu",
			      MPR_CLAIM_WALK + 1, n, (unsigned long long)(cl.start - h),
			      (unsigned long long)(f.h.v.cons->head - h),
			      (unsigned long long)(first - h));
		fx_fini(&f);
	}
}

/*
 * The walk's room bound, from the loose side: a last header that says more
 * than prod_pos leaves (corrupt, or a record being written over) stops the
 * walk before it; the stamps alone would let the head run past prod_pos.
 */
static void t_claim_walk_oversized_last(struct tap *t)
{
	struct mpr_claim cl = { 0 };
	bool announced = false;
	uint64_t pos[2], h;
	union mpr_hdr_word u;
	struct fixture f;
	int i, n, why = 0;

	REQUIRE(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
	h = f.h.v.cons->head;
	for (i = 0; i < 2; i++) {
		CHECK_EQ(t, hostring_reserve(&f.h, 0, 0, MPMCRING_PRIO_CRITICAL, &pos[i]), 0);
		hostring_commit(&f.h, 0, pos[i], 0);
	}
	/* The second record's header says 8 payload bytes: 16, 8 past prod_pos. */
	memcpy(&u.w, f.h.v.data + (pos[1] & f.h.v.data_mask), sizeof(u.w));
	u.h.len = 8;
	memcpy(f.h.v.data + (pos[1] & f.h.v.data_mask), &u.w, sizeof(u.w));
	n = mpr_claim_attempt(&f.h.v, &f.h.v.cons->slots[0].start, false, 100, UINT64_MAX, false,
			      &cl, (struct mpr_claim_sink){ NULL, NULL }, &announced, &why);
	CHECK(t, n == 1 && f.h.v.cons->head == pos[1], "%d claimed, head at +%llu; want 1, +%llu",
	      n, (unsigned long long)(f.h.v.cons->head - h), (unsigned long long)(pos[1] - h));
	fx_fini(&f);
}

static const struct tap_test tests[] = {
	TAP_TEST(t_order_and_content),
	TAP_TEST(t_batch_limits),
	TAP_TEST(t_read_many),
	TAP_TEST(t_consume_stop_resume),
	TAP_TEST(t_consume_long_claim),
	TAP_TEST(t_consume_revoked_midway),
	TAP_TEST(t_consume_revoked_between_calls),
	TAP_TEST(t_read_of_revoked_consume_rest),
	TAP_TEST(t_consume_long_claim_revoked),
	TAP_TEST(t_consume_peek_in_fn),
	TAP_TEST(t_peek_and_discard),
	TAP_TEST(t_lost_exactly_once),
	TAP_TEST(t_priority_watermarks),
	TAP_TEST(t_admit_agrees_with_reserve),
	TAP_TEST(t_admit_overwrite_mode),
	TAP_TEST(t_overwrite_mode),
	TAP_TEST(t_overwrite_bit_taken),
	TAP_TEST(t_overwrite_full_or_lost),
	TAP_TEST(t_overwrite_not_full),
	TAP_TEST(t_overwrite_pinned_far),
	TAP_TEST(t_overwrite_classes),
	TAP_TEST(t_wrap_2_64),
	TAP_TEST(t_corrupt_consumer_area),
	TAP_TEST(t_held_claim_blocks_reuse),
	TAP_TEST(t_claim_below_held_start),
	TAP_TEST(t_too_big),
	TAP_TEST(t_mixing_loses_nothing),
	TAP_TEST(t_read_many_mixing_loses_nothing),
	TAP_TEST(t_batch_ends_at_commit),
	TAP_TEST(t_errmsg_follows_every_failure),
	TAP_TEST(t_consume_positive_return_is_not_a_stop),
	TAP_TEST(t_commit_after_stopped_consume),
	TAP_TEST(t_free_after_stopped_consume_abandons),
	TAP_TEST(t_peek_after_stopped_consume),
	TAP_TEST(t_calls_from_callback_refused),
	TAP_TEST(t_commit_sees_reclaim_pass),
	TAP_TEST(t_held_claim_keeps_first_start),
	TAP_TEST(t_claim_passed_is_no_claim),
	TAP_TEST(t_claim_revoked_while_made),
	TAP_TEST(t_announce_before_head),
	TAP_TEST(t_misaligned_head_over_discard),
	TAP_TEST(t_claim_zero_records),
	TAP_TEST(t_claim_walk_end),
	TAP_TEST(t_claim_walk_discard_limit),
	TAP_TEST(t_claim_walk_oversized_last),
};

int main(void)
{
	return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
