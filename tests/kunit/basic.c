// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring_basic: single-threaded semantics of reserve, commit, discard and
 * claim; full and too-large records; what mpmcring_output() delivers,
 * counts and refuses, its slow path included (its fast path shows only in
 * bench/tcgprof's counts); what mpmcring_admit() answers and counts; wrap
 * contiguity at every offset; positions crossing 2^64; parameter checks;
 * when write(2) tries its reservation again;
 * consumed_records, the one derived statistic.
 */
#include <kunit/test.h>
#include <linux/slab.h>
#include <linux/limits.h>

#include "util.h"

static void basic_create_layout(struct kunit *test)
{
	long pages0 = atomic_long_read(&mpmcring_live_pages);
	struct mpmcring_params p = { .size = 8192, .granule = 16 };
	struct mpmcring *ring = kt_ring(test, &p);
	const struct mpmcring_layout *l = mpmcring_layout(ring);
	const struct mpr_view *v = mpmcring_kunit_view(ring);

	KUNIT_EXPECT_EQ(test, l->magic, MPMCRING_MAGIC);
	KUNIT_EXPECT_EQ(test, l->abi_major, MPMCRING_ABI_MAJOR);
	KUNIT_EXPECT_EQ(test, l->data_size, 8192ULL);
	KUNIT_EXPECT_EQ(test, l->granule_shift, 4U);
	KUNIT_EXPECT_EQ(test, l->max_record, 4096U - MPMCRING_HDR_SIZE);
	KUNIT_EXPECT_EQ(test, l->max_consumers, (u32)MPMCRING_DEF_CONSUMERS);
	KUNIT_EXPECT_EQ(test, l->watermark[MPMCRING_PRIO_LOW], 4096ULL);
	KUNIT_EXPECT_EQ(test, l->watermark[MPMCRING_PRIO_NORMAL], 1024ULL);
	KUNIT_EXPECT_EQ(test, l->watermark[MPMCRING_PRIO_CRITICAL], 0ULL);
	KUNIT_EXPECT_EQ(test, l->ro_size, l->data_offset + 2 * 8192ULL);
	/* The meta page mirrors the kernel's layout. */
	KUNIT_EXPECT_EQ(test, memcmp(&v->meta->layout, l, sizeof(*l)), 0);
	/* Double mapping: the byte after the end is the first byte. */
	v->data[0] = 0x5a;
	KUNIT_EXPECT_EQ(test, v->data[8192], 0x5a);
	mpmcring_destroy(ring);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&mpmcring_live_pages), pages0);
}

static void basic_commit_order(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	char buf[256];
	struct kc c;
	int i;

	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), -EAGAIN);
	for (i = 0; i < 5; i++)
		KUNIT_EXPECT_EQ(test, kt_produce(ring, 24 + 8 * i,
						 MPMCRING_PRIO_NORMAL, 1,
						 MPR_CTX_TASK, i), 0);
	for (i = 0; i < 5; i++) {
		struct mpr_testrec *r = (void *)buf;

		KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), 24 + 8 * i);
		KUNIT_EXPECT_EQ(test, mpr_testrec_check(buf, 24 + 8 * i), 0);
		KUNIT_EXPECT_EQ(test, r->seq, (u64)i);
	}
	KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), -EAGAIN);
	kc_detach(&c);
	mpmcring_destroy(ring);
}

/* A reserved, uncommitted record hides everything after it. */
static void basic_uncommitted_blocks(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	struct mpmcring_rsv a, b, d;
	char buf[64];
	struct kc c;
	int ra, rb, rd;

	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	ra = mpmcring_reserve(ring, 32, 0, &a);
	rb = mpmcring_reserve(ring, 32, 0, &b);
	rd = mpmcring_reserve(ring, 32, 0, &d);
	if (!rb) {
		mpr_testrec_fill(b.data, 32, 1, 0, 0, 1);
		mpmcring_commit(&b);
	}
	if (!rd)
		mpmcring_discard(&d);
	/* b is committed but a, before it, is not: nothing to read. */
	KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), -EAGAIN);
	if (!ra) {
		mpr_testrec_fill(a.data, 32, 1, 0, 0, 0);
		mpmcring_commit(&a);
	}
	KUNIT_EXPECT_EQ(test, ra, 0);
	KUNIT_EXPECT_EQ(test, rb, 0);
	KUNIT_EXPECT_EQ(test, rd, 0);
	KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), 32);
	KUNIT_EXPECT_EQ(test, ((struct mpr_testrec *)buf)->seq, 0ULL);
	KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), 32);
	KUNIT_EXPECT_EQ(test, ((struct mpr_testrec *)buf)->seq, 1ULL);
	/* The discarded record is skipped, not delivered. */
	KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), -EAGAIN);
	kc_detach(&c);
	mpmcring_destroy(ring);
}

/* Fill to the brim with critical records, then drain and fill again. */
static void basic_full_and_too_big(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	const struct mpmcring_layout *l = mpmcring_layout(ring);
	struct mpmcring_stats *st;
	struct mpmcring_rsv rsv;
	char *buf;
	struct kc c;
	int i, n = 0;

	st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	buf = kunit_kzalloc(test, l->max_record, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, st);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);

	/* 56-byte payloads take 64 bytes: exactly 64 fit in 4 KiB. */
	while (!kt_produce(ring, 56, MPMCRING_PRIO_CRITICAL, 1, 0, n))
		n++;
	KUNIT_EXPECT_EQ(test, n, 64);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->dropped[MPMCRING_DROP_FULL][MPMCRING_PRIO_CRITICAL], 1ULL);
	KUNIT_EXPECT_EQ(test, st->in_ring_records, 64ULL);
	KUNIT_EXPECT_EQ(test, st->produced_records, 64ULL);

	for (i = 0; i < n; i++)
		KUNIT_EXPECT_EQ(test, kc_read(&c, buf, 64), 56);
	/* All consumed: the whole ring is free again. */
	for (i = 0; i < 64; i++)
		KUNIT_EXPECT_EQ(test, kt_produce(ring, 56, MPMCRING_PRIO_CRITICAL,
						 1, 0, n + i), 0);
	for (i = 0; i < 64; i++)
		KUNIT_EXPECT_EQ(test, kc_read(&c, buf, 64), 56);

	/* The largest record fits; one byte more is refused and counted. */
	KUNIT_EXPECT_EQ(test, mpmcring_reserve(ring, l->max_record + 1,
					       MPMCRING_F_PRIO(2), &rsv), -EMSGSIZE);
	KUNIT_EXPECT_EQ(test, kt_produce(ring, l->max_record,
					 MPMCRING_PRIO_CRITICAL, 1, 0, 7), 0);
	KUNIT_EXPECT_EQ(test, kc_read(&c, buf, l->max_record), (int)l->max_record);
	KUNIT_EXPECT_EQ(test, mpr_testrec_check(buf, l->max_record), 0);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->dropped[MPMCRING_DROP_TOO_BIG][MPMCRING_PRIO_CRITICAL], 1ULL);
	/* 129 produced and read here; the ring's walk finds none left. */
	KUNIT_EXPECT_EQ(test, st->produced_records, 129ULL);
	KUNIT_EXPECT_EQ(test, st->in_ring_records, 0ULL);
	KUNIT_EXPECT_EQ(test, mpmcring_kunit_view(ring)->meta->lost_dropped, 2ULL);
	kc_detach(&c);
	mpmcring_destroy(ring);
}

/*
 * A record a caller refuses for its size (the BPF kfuncs' bounds) is the
 * ring's TOO_BIG drop while the ring is open; once its destroy began
 * (closing), -EPIPE and no drop (the kfuncs then say -ENOENT, no_ring).
 * closing is set by hand here, and cleared before the real destroy.
 */
static void basic_refuse_too_big(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	struct mpmcring_stats *st;

	st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, st);
	KUNIT_EXPECT_EQ(test, mpmcring_refuse_too_big(ring, MPMCRING_PRIO_LOW), -EMSGSIZE);
	WRITE_ONCE(ring->closing, true);
	KUNIT_EXPECT_EQ(test, mpmcring_refuse_too_big(ring, MPMCRING_PRIO_LOW), -EPIPE);
	WRITE_ONCE(ring->closing, false);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->dropped[MPMCRING_DROP_TOO_BIG][MPMCRING_PRIO_LOW], 1ULL);
	KUNIT_EXPECT_EQ(test, st->dropped[MPMCRING_DROP_TOO_BIG][MPMCRING_PRIO_NORMAL] +
				      st->dropped[MPMCRING_DROP_TOO_BIG][MPMCRING_PRIO_CRITICAL],
			0ULL);
	mpmcring_destroy(ring);
}

/* Claims the next record alone; checks it is a test record seq, class prio. */
static void basic_expect_rec(struct kunit *test, struct kc *c, u32 len,
			     u32 prio, u64 seq)
{
	const struct mpr_testrec *r;
	struct mpr_claim cl;

	KUNIT_ASSERT_EQ(test, kc_claim(c, 1, &cl), 1);
	r = (const void *)cl.first.payload;
	KUNIT_EXPECT_EQ(test, cl.first.len, len);
	KUNIT_EXPECT_EQ(test, (u32)cl.first.prio, prio);
	KUNIT_EXPECT_EQ(test, mpr_testrec_check(r, len), 0);
	KUNIT_EXPECT_EQ(test, r->seq, seq);
	KUNIT_EXPECT_FALSE(test, kc_commit(c));
}

/*
 * mpmcring_output() reserves, copies and commits in a preemption-off window
 * of its own on its first attempt and goes through mpmcring_reserve()'s
 * slow path otherwise: either way it leaves the preemption count as it
 * found it (a reservation of the same context held across it too), and it
 * delivers, counts and refuses as mpmcring_reserve() does.
 */
static void basic_output(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	const struct mpmcring_layout *l = mpmcring_layout(ring);
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	const u32 crit = MPMCRING_F_PRIO(MPMCRING_PRIO_CRITICAL);
	int pc = preempt_count(), held;
	u64 reclaimed;
	struct mpmcring_stats *st;
	struct mpmcring_rsv rsv;
	char *rec;
	struct kc c;
	int i, err = 0, n;

	st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	rec = kunit_kzalloc(test, l->max_record + 1, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, st);
	KUNIT_ASSERT_NOT_NULL(test, rec);
	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);

	/* 56-byte payloads take 64 bytes: 64 fit, the 65th is refused. */
	for (n = 0; n <= 64; n++) {
		mpr_testrec_fill(rec, 56, 2, MPR_CTX_TASK,
				 MPMCRING_PRIO_CRITICAL, n);
		err = mpmcring_output(ring, rec, 56, crit);
		KUNIT_EXPECT_EQ(test, preempt_count(), pc);
		if (err)
			break;
	}
	KUNIT_EXPECT_EQ(test, err, -ENOSPC);
	KUNIT_EXPECT_EQ(test, n, 64);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->produced_records, 64ULL);
	KUNIT_EXPECT_EQ(test, st->produced_bytes, 64ULL * 56);
	KUNIT_EXPECT_EQ(test, st->dropped[MPMCRING_DROP_FULL][MPMCRING_PRIO_CRITICAL], 1ULL);
	for (i = 0; i < n; i++)
		basic_expect_rec(test, &c, 56, MPMCRING_PRIO_CRITICAL, i);

	/*
	 * Consumed, not yet reclaimed (a consumer's commit is one store the
	 * kernel does not see): the ring still looks full to the first
	 * attempt, and the slow path reclaims and writes.
	 */
	reclaimed = READ_ONCE(v->meta->reclaim_pos);
	KUNIT_EXPECT_GT(test, READ_ONCE(v->meta->prod_pos) + mpr_rec_size(v, 40) -
			reclaimed, ring->reserve_limit[MPMCRING_PRIO_NORMAL]);
	mpr_testrec_fill(rec, 40, 2, MPR_CTX_TASK, MPMCRING_PRIO_NORMAL, 64);
	KUNIT_EXPECT_EQ(test, mpmcring_output(ring, rec, 40,
					      MPMCRING_F_PRIO(MPMCRING_PRIO_NORMAL)), 0);
	KUNIT_EXPECT_EQ(test, preempt_count(), pc);
	KUNIT_EXPECT_EQ(test, READ_ONCE(v->meta->reclaim_pos), reclaimed + 4096);
	basic_expect_rec(test, &c, 40, MPMCRING_PRIO_NORMAL, 64);

	/* An output while this context holds a reservation, and after it. */
	KUNIT_ASSERT_EQ(test, mpmcring_reserve(ring, 24, crit, &rsv), 0);
	held = preempt_count();
	mpr_testrec_fill(rec, 32, 2, MPR_CTX_TASK, MPMCRING_PRIO_LOW, 66);
	KUNIT_EXPECT_EQ(test, mpmcring_output(ring, rec, 32,
					      MPMCRING_F_PRIO(MPMCRING_PRIO_LOW)), 0);
	KUNIT_EXPECT_EQ(test, preempt_count(), held);
	mpr_testrec_fill(rsv.data, 24, 1, MPR_CTX_TASK, MPMCRING_PRIO_CRITICAL, 65);
	mpmcring_commit(&rsv);
	KUNIT_EXPECT_EQ(test, preempt_count(), pc);
	basic_expect_rec(test, &c, 24, MPMCRING_PRIO_CRITICAL, 65);
	basic_expect_rec(test, &c, 32, MPMCRING_PRIO_LOW, 66);

	/* The caller's errors are refused, not counted; too big is counted. */
	KUNIT_EXPECT_EQ(test, mpmcring_output(ring, rec, 0, crit), -EINVAL);
	KUNIT_EXPECT_EQ(test, mpmcring_output(ring, rec, 8, MPMCRING_NR_PRIO), -EINVAL);
	KUNIT_EXPECT_EQ(test, mpmcring_output(ring, rec, 8, crit | 4), -EINVAL);
	KUNIT_EXPECT_EQ(test, mpmcring_output(ring, rec, l->max_record + 1, crit),
			-EMSGSIZE);
	KUNIT_EXPECT_EQ(test, preempt_count(), pc);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->produced_records, 67ULL);
	KUNIT_EXPECT_EQ(test, st->dropped[MPMCRING_DROP_TOO_BIG][MPMCRING_PRIO_CRITICAL], 1ULL);
	KUNIT_EXPECT_EQ(test, kt_dropped(st), 2ULL);
	KUNIT_EXPECT_EQ(test, st->in_ring_records, 0ULL);
	kc_detach(&c);
	mpmcring_destroy(ring);
}

/*
 * mpmcring_admit() answers as a reservation in its place would, takes no
 * space, reclaims what consumers gave back before it says no, and counts
 * each refusal once, by reason and class.
 */
static void basic_admit(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring_params po = { .size = 4096, .name = "kunit-ow",
				      .mode = MPMCRING_MODE_OVERWRITE };
	struct mpmcring *ring = kt_ring(test, &p), *ow;
	const struct mpmcring_layout *l = mpmcring_layout(ring);
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	const u32 low = MPMCRING_F_PRIO(MPMCRING_PRIO_LOW);
	const u32 normal = MPMCRING_F_PRIO(MPMCRING_PRIO_NORMAL);
	const u32 crit = MPMCRING_F_PRIO(MPMCRING_PRIO_CRITICAL);
	int pc = preempt_count();
	struct mpmcring_stats *st;
	char buf[64];
	struct kc c;
	int i, n = 0;
	u64 start;

	st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, st);
	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	/* 4 KiB: low keeps 2 KiB free, normal 512 bytes, critical none. */
	KUNIT_ASSERT_EQ(test, l->watermark[MPMCRING_PRIO_LOW], 2048ULL);

	start = READ_ONCE(v->meta->prod_pos);
	KUNIT_EXPECT_EQ(test, mpmcring_admit(ring, 56, low), 0);
	KUNIT_EXPECT_EQ(test, READ_ONCE(v->meta->prod_pos), start);
	/* Low's share: 32 records of 64 bytes; the 33rd low one is refused. */
	for (n = 0; n < 32; n++)
		KUNIT_ASSERT_EQ(test, kt_produce(ring, 56, MPMCRING_PRIO_CRITICAL,
						 1, 0, n), 0);
	KUNIT_EXPECT_EQ(test, mpmcring_admit(ring, 56, low), -ENOSPC);
	KUNIT_EXPECT_EQ(test, kt_produce(ring, 56, MPMCRING_PRIO_LOW, 1, 0, n),
			-ENOSPC);
	KUNIT_EXPECT_EQ(test, mpmcring_admit(ring, 56, normal), 0);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->dropped[MPMCRING_DROP_PRIORITY][MPMCRING_PRIO_LOW], 2ULL);
	KUNIT_EXPECT_EQ(test, kt_dropped(st), 2ULL);

	/* Full: the critical class too, as a full ring. */
	for (; n < 64; n++)
		KUNIT_ASSERT_EQ(test, kt_produce(ring, 56, MPMCRING_PRIO_CRITICAL,
						 1, 0, n), 0);
	KUNIT_EXPECT_EQ(test, mpmcring_admit(ring, 56, crit), -ENOSPC);
	KUNIT_EXPECT_EQ(test, mpmcring_admit(ring, l->max_record + 1, crit), -EMSGSIZE);
	/* The caller's errors: refused, not counted. */
	KUNIT_EXPECT_EQ(test, mpmcring_admit(ring, 0, crit), -EINVAL);
	KUNIT_EXPECT_EQ(test, mpmcring_admit(ring, 8, MPMCRING_NR_PRIO), -EINVAL);
	KUNIT_EXPECT_EQ(test, mpmcring_admit(ring, 8, crit | 4), -EINVAL);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->dropped[MPMCRING_DROP_FULL][MPMCRING_PRIO_CRITICAL], 1ULL);
	KUNIT_EXPECT_EQ(test, st->dropped[MPMCRING_DROP_TOO_BIG][MPMCRING_PRIO_CRITICAL], 1ULL);
	KUNIT_EXPECT_EQ(test, kt_dropped(st), 4ULL);
	KUNIT_EXPECT_EQ(test, v->meta->lost_dropped, 4ULL);

	/*
	 * Consumed, not yet reclaimed: the ring looks full until a reclaim,
	 * which the admission runs itself rather than refuse a record that
	 * fits.
	 */
	for (i = 0; i < n; i++)
		KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), 56);
	KUNIT_EXPECT_EQ(test, READ_ONCE(v->meta->reclaim_pos), start);
	KUNIT_EXPECT_EQ(test, mpmcring_admit(ring, 56, low), 0);
	KUNIT_EXPECT_EQ(test, READ_ONCE(v->meta->reclaim_pos), start + 4096);
	KUNIT_EXPECT_EQ(test, preempt_count(), pc);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, kt_dropped(st), 4ULL);
	KUNIT_EXPECT_EQ(test, st->produced_records, 64ULL);
	kc_detach(&c);
	mpmcring_destroy(ring);

	/* Overwrite mode: a full ring admits any class (it evicts). */
	ow = kt_ring(test, &po);
	for (n = 0; n < 64; n++)
		KUNIT_ASSERT_EQ(test, kt_produce(ow, 56, MPMCRING_PRIO_LOW, 1, 0, n), 0);
	KUNIT_EXPECT_EQ(test, mpmcring_admit(ow, 56, low), 0);
	KUNIT_EXPECT_EQ(test, kt_produce(ow, 56, MPMCRING_PRIO_LOW, 1, 0, n), 0);
	mpmcring_get_stats(ow, st);
	KUNIT_EXPECT_EQ(test, kt_dropped(st), 0ULL);
	mpmcring_destroy(ow);
}

/*
 * consumed_records is derived from sums taken one after another: while
 * producers run, overwritten and in-ring records summed after produced can
 * outnumber it. The report must then say 0 consumed, not wrap to 2^64 - k,
 * and stay exact otherwise. Counts that moved between the sums are made
 * here by adding to the overwritten counter by hand.
 */
static void basic_stats_consumed_never_wraps(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	struct mpmcring_stats *st;
	char buf[32];
	struct kc c;
	int i;

	st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, st);
	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	for (i = 0; i < 3; i++)
		KUNIT_ASSERT_EQ(test, kt_produce(ring, 24, MPMCRING_PRIO_NORMAL,
						 1, 0, i), 0);
	for (i = 0; i < 2; i++)
		KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), 24);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->produced_records, 3ULL);
	KUNIT_EXPECT_EQ(test, st->in_ring_records, 1ULL);
	KUNIT_EXPECT_EQ(test, st->consumed_records, 2ULL);

	/* 3 - 2 - 1: exactly none consumed, by these sums. */
	mpmcring_count(ring, overwritten_records, 2);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->consumed_records, 0ULL);
	/* 3 - 3 - 1: below none. */
	mpmcring_count(ring, overwritten_records, 1);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->consumed_records, 0ULL);
	kc_detach(&c);
	mpmcring_destroy(ring);
}

/*
 * Every record of a sweep starts at a different granule offset and many
 * straddle the end of the data area: each must read back contiguous and
 * intact through the double mapping.
 */
static void basic_wrap_every_offset(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	bool seen[4096 / 8] = { };
	char *buf;
	struct kc c;
	u64 seq;
	int covered = 0, i;

	buf = kunit_kzalloc(test, 2048, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	/*
	 * Records of 1000, 1008 and 1016 bytes in turn: cycles of 3024
	 * bytes land on every multiple of 16, the records inside them on
	 * the odd multiples of 8, so the sweep starts on all 512 granules.
	 */
	for (seq = 0; seq < 4 * 4096 / 8; seq++) {
		u64 pos = READ_ONCE(v->meta->prod_pos);
		u32 len = 1000 - MPMCRING_HDR_SIZE + 8 * (seq % 3);

		seen[(pos & 4095) / 8] = true;
		KUNIT_ASSERT_EQ(test, kt_produce(ring, len, 2, 1, 0, seq), 0);
		KUNIT_ASSERT_EQ(test, kc_read(&c, buf, 2048), (int)len);
		KUNIT_ASSERT_EQ(test, mpr_testrec_check(buf, len), 0);
		KUNIT_ASSERT_EQ(test, ((struct mpr_testrec *)buf)->seq, seq);
	}
	for (i = 0; i < ARRAY_SIZE(seen); i++)
		covered += seen[i];
	KUNIT_EXPECT_EQ(test, covered, (int)ARRAY_SIZE(seen));
	kc_detach(&c);
	mpmcring_destroy(ring);
}

/* Positions run through 2^64: nothing may compare offsets or overflow. */
static void basic_positions_cross_2_64(struct kunit *test)
{
	struct mpmcring_params p = {
		.size = 4096,
		.initial_pos = (u64)0 - 3 * 4096 - 64,
	};
	struct mpmcring *ring = kt_ring(test, &p);
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	struct mpmcring_stats *st;
	char buf[512];
	struct kc c;
	u64 seq, start = p.initial_pos;

	st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, st);
	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	for (seq = 0; seq < 200; seq++) {
		u32 len = 24 + (seq * 40) % 400;

		/* Keep the ring nearly full so checks run at the edge. */
		KUNIT_ASSERT_EQ(test, kt_produce(ring, len, 2, 1, 0, seq), 0);
		if (seq >= 4) {
			int got = kc_read(&c, buf, sizeof(buf));

			KUNIT_ASSERT_GT(test, got, 0);
			KUNIT_ASSERT_EQ(test, mpr_testrec_check(buf, got), 0);
			KUNIT_ASSERT_EQ(test, ((struct mpr_testrec *)buf)->seq, seq - 4);
		}
	}
	/* The positions really did wrap past zero. */
	KUNIT_EXPECT_LT(test, READ_ONCE(v->meta->prod_pos), start);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->produced_records, 200ULL);
	KUNIT_EXPECT_EQ(test, st->in_ring_records, 4ULL);
	kc_detach(&c);
	mpmcring_destroy(ring);
}

static void basic_bad_params(struct kunit *test)
{
	static const struct mpmcring_params bad[] = {
		{ .name = "x", .size = 4095 },
		{ .name = "x", .size = 2048 },
		{ .name = "x", .size = 2ULL << 30 },
		{ .name = "x", .size = 4096, .granule = 12 },
		{ .name = "x", .size = 4096, .granule = 128 },
		{ .name = "x", .size = 4096, .mode = 7 },
		{ .name = "x", .size = 4096, .max_consumers = 5000 },
		{ .name = "x", .size = 4096, .initial_pos = 4 },
		{ .name = "bad/name", .size = 4096 },
		{ .name = "", .size = 4096 },
		{ .name = "x", .size = 4096, .flags = MPMCRING_CREATE_WATERMARKS,
		  .watermark = { 100, 200, 0 } },
		{ .name = "x", .size = 4096, .flags = MPMCRING_CREATE_WATERMARKS,
		  .watermark = { 4096, 0, 0 } },
		{ .name = "x", .size = 4096, .flags = 0x80 },
	};
	struct mpmcring_params dup = { .name = "kunit-dup", .size = 4096 };
	struct mpmcring *a, *b;
	int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		KUNIT_EXPECT_EQ_MSG(test, PTR_ERR(mpmcring_create(&bad[i])),
				    -EINVAL, "case %d", i);
	a = kt_ring(test, &dup);
	b = mpmcring_create(&dup);
	KUNIT_EXPECT_EQ(test, PTR_ERR(b), -EEXIST);
	if (!IS_ERR(b))
		mpmcring_destroy(b);
	mpmcring_destroy(a);
}

/*
 * Overwrite mode while another holds the reclaim bit (the tick's reclaim,
 * another producer's eviction): the reservation could not evict, the ring
 * is not full, so the drop is contention (-EAGAIN from the exported call),
 * never full; with the bit free again the same record goes in by eviction.
 * The bit is taken as reclaim takes it, with preemption off.
 */
static void basic_overwrite_bit_taken(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096,
				     .mode = MPMCRING_MODE_OVERWRITE };
	struct mpmcring *ring = kt_ring(test, &p);
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	const u32 prio = MPMCRING_PRIO_NORMAL;
	u32 lens[2] = { 56, 56 };
	struct mpmcring_rsv rsv[2];
	int n, err = 0, err_out = 0, err_batch = 0, err_write = 0;
	struct mpmcring_stats *st;
	char buf[56] = { 0 };
	bool taken;

	st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, st);
	for (n = 0; n < 64; n++)
		KUNIT_ASSERT_EQ(test, kt_produce(ring, 56, prio, 1, 0, n), 0);
	KUNIT_EXPECT_EQ(test, READ_ONCE(v->meta->lost_overwritten), 0ULL);
	/*
	 * No file is open, so no tick: the bit is free to take. With it
	 * taken: the exported calls say -EAGAIN, the internal one write(2)
	 * uses -EBUSY (what it waits on), and it counts nothing.
	 */
	preempt_disable();
	taken = kt_bit_take(ring);
	if (taken) {
		err = kt_produce(ring, 56, prio, 1, 0, n++);
		err_out = mpmcring_output(ring, buf, 56,
					  MPMCRING_F_PRIO(prio));
		err_batch = mpmcring_reserve_batch(ring, lens, 2,
						   MPMCRING_F_PRIO(prio), rsv);
		/* Had either got in, its record is finished here. */
		if (!err_batch) {
			mpmcring_commit(&rsv[0]);
			mpmcring_commit(&rsv[1]);
		}
		err_write = mpmcring_reserve_prio(ring, lens, 1, prio, 0,
						  false, rsv);
		if (!err_write)
			mpmcring_commit(&rsv[0]);
		kt_bit_let_go(ring);
	}
	preempt_enable();
	KUNIT_ASSERT_TRUE(test, taken);
	KUNIT_EXPECT_EQ(test, err, -EAGAIN);
	KUNIT_EXPECT_EQ(test, err_out, -EAGAIN);
	KUNIT_EXPECT_EQ(test, err_batch, -EAGAIN);
	KUNIT_EXPECT_EQ(test, err_write, -EBUSY);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->dropped[MPMCRING_DROP_CONTENTION][prio], 4ULL);
	KUNIT_EXPECT_EQ(test, kt_dropped(st), 4ULL);
	KUNIT_EXPECT_EQ(test, READ_ONCE(v->meta->lost_overwritten), 0ULL);
	KUNIT_EXPECT_EQ(test, kt_produce(ring, 56, prio, 1, 0, n), 0);
	KUNIT_EXPECT_EQ(test, READ_ONCE(v->meta->lost_overwritten), 1ULL);
	mpmcring_destroy(ring);
}

/*
 * When an O_NONBLOCK write(2) tries its reservation again
 * (mpmcring_write_retry()): after -EAGAIN once; after -EBUSY (an overwrite
 * ring's reclaim bit taken) MPMCRING_WRITE_BUSY_RETRIES times, sleeping
 * while the bit is held, all the sleeps of one write together at least
 * until MPMCRING_WRITE_BUSY_WAIT_NS is spent and no more once it is; after
 * a full ring never. No file is open, so no tick takes the bit.
 */
static void basic_write_retry_bounds(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096,
				     .mode = MPMCRING_MODE_OVERWRITE };
	struct mpmcring *ring = kt_ring(test, &p);
	struct mpmcring_write_tries r = { 0 };
	unsigned int i, yes;
	u64 spent;

	KUNIT_EXPECT_TRUE(test, mpmcring_write_retry(ring, -EAGAIN, &r));
	KUNIT_EXPECT_FALSE(test, mpmcring_write_retry(ring, -EAGAIN, &r));
	KUNIT_EXPECT_FALSE(test, mpmcring_write_retry(ring, -ENOSPC, &r));
	KUNIT_EXPECT_FALSE(test, mpmcring_write_retry(ring, -EPIPE, &r));

	/* The bit free: every try at once, up to the bound, then no. */
	r = (struct mpmcring_write_tries){ 0 };
	for (i = 0, yes = 0; i < MPMCRING_WRITE_BUSY_RETRIES + 4; i++)
		yes += mpmcring_write_retry(ring, -EBUSY, &r);
	KUNIT_EXPECT_EQ(test, yes, (unsigned int)MPMCRING_WRITE_BUSY_RETRIES);
	/* -EAGAIN's one try is its own, not taken by -EBUSY's. */
	KUNIT_EXPECT_TRUE(test, mpmcring_write_retry(ring, -EAGAIN, &r));

	/*
	 * The bit held throughout, by this test while it sleeps: a stand-in
	 * for a holder whose CPU a hypervisor put aside (a real holder has
	 * preemption off). Nothing else waits for the bit, and no file is
	 * open, so no tick tries for it. The first try sleeps until the
	 * whole budget is spent (nothing else ends its wait here); the others
	 * find it spent and do not sleep: with a budget per try instead of
	 * per write they would add at least 7 budgets more. The count still
	 * bounds the tries.
	 */
	r = (struct mpmcring_write_tries){ 0 };
	KUNIT_ASSERT_TRUE(test, kt_bit_take(ring));
	KUNIT_EXPECT_TRUE(test, mpmcring_write_retry(ring, -EBUSY, &r));
	spent = r.waited_ns;
	KUNIT_EXPECT_GE(test, spent, (u64)MPMCRING_WRITE_BUSY_WAIT_NS);
	for (i = 1, yes = 1; i < MPMCRING_WRITE_BUSY_RETRIES + 4; i++)
		yes += mpmcring_write_retry(ring, -EBUSY, &r);
	kt_bit_let_go(ring);
	KUNIT_EXPECT_EQ(test, yes, (unsigned int)MPMCRING_WRITE_BUSY_RETRIES);
	KUNIT_EXPECT_EQ(test, r.busy, (unsigned int)MPMCRING_WRITE_BUSY_RETRIES);
	KUNIT_EXPECT_LT(test, r.waited_ns - spent,
			(u64)(MPMCRING_WRITE_BUSY_RETRIES - 1) *
			MPMCRING_WRITE_BUSY_WAIT_NS);
	mpmcring_destroy(ring);
}

/*
 * mpmcring_reclaim_after() counts on the reclaim word: bit 0 while a
 * reclaim runs, one added at take and one at let go. The bit free: the
 * caller's own reclaim runs (the word moves by two). The bit held
 * throughout (by this test, a stand-in for a holder whose CPU the
 * hypervisor took: a real one has preemption off): no reclaim began
 * after the call, so it gives up at its bound and says so, the word as
 * it was. (That one begun by another serves a waiter is
 * tests/model/room.pml's.) No file is open, so no tick takes the bit.
 */
static void basic_reclaim_after(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	unsigned long w = READ_ONCE(ring->reclaim_lock);
	u64 t0;

	KUNIT_ASSERT_EQ(test, w & 1, 0UL);
	KUNIT_EXPECT_TRUE(test, mpmcring_reclaim_after(ring));
	KUNIT_EXPECT_EQ(test, READ_ONCE(ring->reclaim_lock), w + 2);
	mpmcring_reclaim(ring);
	KUNIT_EXPECT_EQ(test, READ_ONCE(ring->reclaim_lock), w + 4);

	w = READ_ONCE(ring->reclaim_lock);
	if (kt_bit_take(ring)) {
		t0 = ktime_get_ns();
		KUNIT_EXPECT_FALSE(test, mpmcring_reclaim_after(ring));
		KUNIT_EXPECT_GE(test, ktime_get_ns() - t0,
				(u64)MPMCRING_RECLAIM_WAIT_NS);
		KUNIT_EXPECT_EQ(test, READ_ONCE(ring->reclaim_lock), w + 1);
		kt_bit_let_go(ring);
	} else {
		KUNIT_FAIL(test, "the reclaim bit is taken: %lu", w);
	}
	mpmcring_destroy(ring);
}

static struct kunit_case basic_cases[] = {
	KUNIT_CASE(basic_create_layout),
	KUNIT_CASE(basic_commit_order),
	KUNIT_CASE(basic_uncommitted_blocks),
	KUNIT_CASE(basic_full_and_too_big),
	KUNIT_CASE(basic_refuse_too_big),
	KUNIT_CASE(basic_output),
	KUNIT_CASE(basic_admit),
	KUNIT_CASE(basic_overwrite_bit_taken),
	KUNIT_CASE(basic_write_retry_bounds),
	KUNIT_CASE(basic_reclaim_after),
	KUNIT_CASE(basic_stats_consumed_never_wraps),
	KUNIT_CASE(basic_wrap_every_offset),
	KUNIT_CASE(basic_positions_cross_2_64),
	KUNIT_CASE(basic_bad_params),
	{}
};

static struct kunit_suite basic_suite = {
	.name = "mpmcring_basic",
	.test_cases = basic_cases,
};
kunit_test_suite(basic_suite);
