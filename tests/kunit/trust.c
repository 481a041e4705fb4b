// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring_trust: what userspace controls must not hurt the kernel.
 *
 * Payload bytes forging headers for future positions are never taken for
 * records. Garbage written into every user-writable word while producers
 * run causes no report, no overlapping reservation and no hang, and the
 * ring works again once the garbage stops.
 */
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/random.h>
#include <linux/jiffies.h>

#include "farm.h"

/* Fills a payload with headers a consumer at each granule would accept. */
static void trust_forge(void *payload, u32 len)
{
	struct mpmcring_rec_hdr fake = { .prio = MPMCRING_PRIO_CRITICAL };
	u32 off;

	for (off = 0; off + sizeof(fake) <= len; off += 8) {
		fake.len = 24 + off % 200;
		memcpy((u8 *)payload + off, &fake, sizeof(fake));
	}
}

/*
 * Lap 1 fills the ring with payloads made of valid-looking headers. In lap
 * 2 a producer is caught between its position cmpxchg and its header
 * store, right where lap 1's payload lies: the consumer must see nothing
 * there, however long it looks, and then exactly the real record.
 */
static void trust_forged_headers(struct kunit *test)
{
	static const u32 lap1[] = { 56, 2040, 1976 };	/* 64 + 2048 + 1984 */
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	struct mpmcring_rsv rsv;
	char *buf, real[64];
	int i, bad = 0;
	struct kc c;
	u64 pos;

	buf = kunit_kzalloc(test, 2048, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	for (i = 0; i < ARRAY_SIZE(lap1); i++) {
		KUNIT_ASSERT_EQ(test, mpmcring_reserve(ring, lap1[i], MPMCRING_F_PRIO(2), &rsv), 0);
		trust_forge(rsv.data, lap1[i]);
		mpmcring_commit(&rsv);
		KUNIT_ASSERT_EQ(test, kc_read(&c, buf, 2048), (int)lap1[i]);
	}
	/* Lap 2: 72 bytes, so the next record starts on lap 1's payload. */
	KUNIT_ASSERT_EQ(test, kt_produce(ring, 64, 2, 1, 0, 0), 0);
	KUNIT_ASSERT_EQ(test, kc_read(&c, buf, 2048), 64);
	mpr_testrec_fill(real, sizeof(real), 2, 0, 2, 1);

	KUNIT_ASSERT_EQ(test, kt_reserve_raw(ring, sizeof(real), &pos), 0);
	/* Frozen: the bytes at pos are a forged header, the stamp is old. */
	for (i = 0; i < 200; i++)
		bad += kc_read(&c, buf, 2048) != -EAGAIN;
	kt_publish_raw(ring, pos, sizeof(real), real);

	KUNIT_EXPECT_EQ(test, pos, 4096ULL + 72);
	KUNIT_EXPECT_EQ_MSG(test, bad, 0, "a forged header was taken for a record");
	KUNIT_EXPECT_EQ(test, kc_read(&c, buf, 2048), (int)sizeof(real));
	KUNIT_EXPECT_EQ(test, mpr_testrec_check(buf, sizeof(real)), 0);
	KUNIT_EXPECT_EQ(test, kc_read(&c, buf, 2048), -EAGAIN);
	KUNIT_EXPECT_EQ(test, READ_ONCE(v->cons->head), READ_ONCE(v->meta->prod_pos));
	kc_detach(&c);
	mpmcring_destroy(ring);
}

/* A stamp from an earlier lap never vouches for this lap's position. */
static void trust_stale_stamp(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	struct mpmcring_rsv rsv;
	char buf[64];
	struct kc c;
	int i;

	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	/* 64 records of 64 bytes: a full lap, each granule's stamp set. */
	for (i = 0; i < 64; i++) {
		KUNIT_ASSERT_EQ(test, kt_produce(ring, 56, 2, 1, 0, i), 0);
		KUNIT_ASSERT_EQ(test, kc_read(&c, buf, sizeof(buf)), 56);
	}
	/* Same offset, next lap: header bytes identical, stamp one lap old. */
	KUNIT_ASSERT_EQ(test, mpmcring_reserve(ring, 56, MPMCRING_F_PRIO(2), &rsv), 0);
	KUNIT_EXPECT_EQ(test, *mpr_stamp(v, rsv.pos),
			(rsv.pos - 4096) | MPMCRING_STAMP_COMMITTED);
	KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), -EAGAIN);
	mpmcring_discard(&rsv);
	KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), -EAGAIN);
	kc_detach(&c);
	mpmcring_destroy(ring);
}

struct garbage {
	const struct mpr_view *v;
	const struct farm *farm;	/* producers_left: those not done */
	bool producing;			/* the farm's producers started */
	u64 writes, writes_producing;
};

/* Scribbles random values over every word userspace could write. */
static int trust_garbage_thread(void *arg)
{
	struct garbage *g = arg;
	u64 *words = (u64 *)g->v->cons;
	size_t n = (MPMCRING_CONS_HDR_SIZE +
		    g->v->max_consumers * sizeof(struct mpmcring_slot)) / 8;
	u64 p;

	while (!kthread_should_stop()) {
		size_t i = get_random_u32() % n;
		u32 kind = get_random_u32() % 4;

		p = READ_ONCE(g->v->meta->prod_pos);
		/* Mostly wild, sometimes plausible: near prod, aligned or not. */
		WRITE_ONCE(words[i], kind == 0 ? get_random_u64() :
				     kind == 1 ? p - (get_random_u32() % 8192) :
				     kind == 2 ? (p - (get_random_u32() % 8192)) & ~7ULL :
				     p + get_random_u32() % 64);
		g->writes++;
		/* From the producers' start until the last is done. */
		if (READ_ONCE(g->producing) && atomic_read(&g->farm->producers_left))
			g->writes_producing++;
		if (!(g->writes % 64))
			cond_resched();
	}
	return 0;
}

/*
 * Garbage in the consumer area while a farm runs (per_producer records
 * each); then exact again.
 */
static void trust_garbage_run(struct kunit *test, struct mpmcring_params *p,
			      u64 per_producer)
{
	struct mpmcring *ring = kt_ring(test, p);
	struct farm *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	struct farm *f2 = kunit_kzalloc(test, sizeof(*f2), GFP_KERNEL);
	struct garbage g = { .v = mpmcring_kunit_view(ring), .farm = f };
	struct task_struct *gt;
	struct mpmcring_stats *st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	KUNIT_ASSERT_NOT_NULL(test, f2);
	KUNIT_ASSERT_NOT_NULL(test, st);
	/* Phase 1: producers and a consumer run while garbage flies. */
	KUNIT_ASSERT_EQ(test, farm_init(test, f, ring, per_producer, true), 0);
	f->consumer_area_attacked = true;
	farm_start_consumers(f, 1);
	gt = kthread_run(trust_garbage_thread, &g, "mpmcring_garbage");
	KUNIT_ASSERT_FALSE(test, IS_ERR(gt));
	farm_start_producers(f);
	WRITE_ONCE(g.producing, true);
	farm_finish(f);
	kthread_stop(gt);
	kunit_info(test, "garbage writes %llu (%llu while producers ran), consumers met a corrupt head %lld times",
		   g.writes, g.writes_producing, atomic64_read(&f->corrupt));
	KUNIT_EXPECT_GT(test, g.writes_producing, 0ULL);
	KUNIT_EXPECT_EQ_MSG(test, atomic64_read(&f->overlaps), 0LL,
			    "reservations overlapped under garbage");
	KUNIT_EXPECT_EQ(test, atomic_read(&f->producers_left), 0);
	if (p->chunk_bytes) {
		kunit_info(test, "chunk filler bytes %llu while the garbage flew",
			   f->at_finish.chunk_filler_bytes);
		/*
		 * Chunked, and chunks closed while producers ran (by their
		 * owners, scans or both: the count does not tell).
		 */
		KUNIT_EXPECT_EQ(test, f->at_finish.chunk_bytes, (u64)p->chunk_bytes);
		KUNIT_EXPECT_GT(test, f->at_finish.chunk_filler_bytes, 0ULL);
	}
	farm_cleanup(f);

	/*
	 * The garbage stopped. The kernel repairs a head that cannot be
	 * right on its next look; one that garbage moved back onto old
	 * records is legal, so drain those before counting exactly again.
	 */
	mpmcring_get_stats(ring, st);
	kt_drain(ring);
	KUNIT_EXPECT_EQ(test, READ_ONCE(g.v->cons->head),
			READ_ONCE(g.v->meta->prod_pos));

	/* Phase 2: the ring works again, every record exactly once. */
	KUNIT_ASSERT_EQ(test, farm_init(test, f2, ring, 1000, true), 0);
	farm_start_consumers(f2, 2);
	farm_start_producers(f2);
	farm_finish(f2);
	farm_check(test, f2, true);
	farm_cleanup(f2);
	mpmcring_destroy(ring);
}

static void trust_garbage_consumer_area(struct kunit *test)
{
	struct mpmcring_params p = { .size = 16384 };

	trust_garbage_run(test, &p, 1000);
}

/*
 * The same on a chunked ring, where refused producers' unpin scans and an
 * opening's one reclaim read whatever head the garbage left (compared
 * only, or checked by mpr_head_sane()): a chunk closed for it costs its
 * rest (a filler), never an overlap while the garbage flies, nor a lost
 * or repeated record once it stops. How many of those reads met a garbage
 * head is not counted. The ring (kt_chunked_params()) is larger than the
 * unchunked case's (every possible CPU's chunks must fit a quarter of
 * it), so more records each: more refusals, more garbage met.
 */
static void trust_garbage_consumer_area_chunked(struct kunit *test)
{
	struct mpmcring_params p;

	kt_chunked_params(&p, 1024);
	trust_garbage_run(test, &p, 3000);
}

static struct kunit_case trust_cases[] = {
	KUNIT_CASE(trust_forged_headers),
	KUNIT_CASE(trust_stale_stamp),
	KUNIT_CASE(trust_garbage_consumer_area),
	KUNIT_CASE(trust_garbage_consumer_area_chunked),
	{}
};

static struct kunit_suite trust_suite = {
	.name = "mpmcring_trust",
	.test_cases = trust_cases,
};
kunit_test_suite(trust_suite);
