// SPDX-License-Identifier: GPL-2.0-only
/*
 * libmpmcring over a host ring, one thread: ordering, batches, consume's
 * stop-and-resume, peek, discards, loss reporting, priorities, overwrite
 * mode, 2^64 wrap, corrupt consumer state and its repair.
 */
#include <errno.h>
#include <string.h>

#include "tap.h"
#include "hostring.h"
#include "internal.h"
#include "mpmcring_testrec.h"

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
	if (!f->r)
		return -1;
	f->c = mpmcring_consumer_new(f->r);
	return f->c ? 0 : -1;
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

	CHECK(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
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

	CHECK(t, !fx_init(&f, (struct hostring_params){ .size = 8192 }), "init");
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

	CHECK(t, !fx_init(&f, (struct hostring_params){ .size = 8192 }), "init");
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

static void t_peek_and_discard(struct tap *t)
{
	struct fixture f;
	struct mpmcring_record rec, peeked;
	uint64_t pos[3];
	uint32_t lens[3] = { 32, 32, 32 };
	int i;

	CHECK(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
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

	CHECK(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
	c2 = mpmcring_consumer_new(f.r);
	CHECK(t, c2 != NULL, "second consumer");
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

	CHECK(t,
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

	CHECK(t,
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

	CHECK(t,
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

	CHECK(t, !fx_init(&f, (struct hostring_params){ .size = 4096, .initial_pos = start }),
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

	CHECK(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
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

	CHECK(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
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

	CHECK(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
	cons = f.h.cons;
	c2 = mpmcring_consumer_new(f.r);
	CHECK(t, c2 != NULL, "second consumer");
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

	CHECK(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
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

	CHECK(t, !fx_init(&f, (struct hostring_params){ .size = 8192 }), "init");
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

/* A batch ends at the commit: its records are no longer the consumer's. */
static void t_batch_ends_at_commit(struct tap *t)
{
	struct fixture f;
	struct mpmcring_batch b;
	struct mpmcring_record rec;
	int i;

	CHECK(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
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

	CHECK(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
	CHECK_EQ(t, mpmcring_consume(f.c, 0, stop_cb, NULL), -EINVAL);
	CHECK_EQ(t, mpmcring_read(f.c, &rec), -EAGAIN);
	CHECK(t, strstr(mpmcring_errmsg(), "no record is ready") != NULL, "after read: %s",
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

	CHECK(t, !fx_init(&f, (struct hostring_params){ .size = 4096 }), "init");
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

	CHECK(t, !fx_init(&f, (struct hostring_params){ .size = 8192 }), "init");
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

	/* The end of the consumer releases what a stopped consume left. */
	for (i = 22; i < 26; i++)
		CHECK_EQ(t, put(&f, 0, 40, MPMCRING_PRIO_CRITICAL, i), 0);
	s.calls = 0;
	CHECK_EQ(t, mpmcring_consume(f.c, 64, stop_cb, &s), -ECANCELED);
	mpmcring_consumer_free(f.c);
	CHECK_EQ(t, f.h.v.cons->slots[0].start & 1, 1);
	f.c = NULL;
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

	CHECK(t, !fx_init(&f, (struct hostring_params){ .size = 8192 }), "init");
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

static const struct tap_test tests[] = {
	TAP_TEST(t_order_and_content),
	TAP_TEST(t_batch_limits),
	TAP_TEST(t_consume_stop_resume),
	TAP_TEST(t_peek_and_discard),
	TAP_TEST(t_lost_exactly_once),
	TAP_TEST(t_priority_watermarks),
	TAP_TEST(t_overwrite_mode),
	TAP_TEST(t_overwrite_classes),
	TAP_TEST(t_wrap_2_64),
	TAP_TEST(t_corrupt_consumer_area),
	TAP_TEST(t_held_claim_blocks_reuse),
	TAP_TEST(t_claim_below_held_start),
	TAP_TEST(t_too_big),
	TAP_TEST(t_mixing_loses_nothing),
	TAP_TEST(t_batch_ends_at_commit),
	TAP_TEST(t_errmsg_follows_every_failure),
	TAP_TEST(t_consume_positive_return_is_not_a_stop),
	TAP_TEST(t_commit_after_stopped_consume),
	TAP_TEST(t_calls_from_callback_refused),
};

int main(void)
{
	return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
