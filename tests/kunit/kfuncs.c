// SPDX-License-Identifier: GPL-2.0-only
/*
 * The BPF kfuncs (kmod/bpf.c) called directly, as a BPF program calls them
 * once the verifier let it: the test kernels have no BPF, and these cases
 * put the kfuncs' own code (the per-CPU staging pools, the lookups by id
 * under RCU, the bounds) under their KASAN, KCSAN and lockdep. What the
 * verifier refuses (a handle not from reserve, a write past a pointer's
 * size) is tests/vm/bpf.c's, on the stock kernels.
 */
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/preempt.h>
#include <linux/sched.h>

#include "internal.h"
#include "util.h"

/* A record the kfuncs produce: its number, then a fill the size implies. */
static void kf_fill(u8 *buf, u32 len, u32 seq)
{
	u32 i;

	for (i = 0; i < len; i++)
		buf[i] = (u8)(seq + i);
}

static bool kf_is(const u8 *buf, u32 len, u32 seq)
{
	u32 i;

	for (i = 0; i < len; i++)
		if (buf[i] != (u8)(seq + i))
			return false;
	return true;
}

static struct mpmcring *kf_ring(struct kunit *test, struct mpmcring_params *p)
{
	KUNIT_ASSERT_TRUE_MSG(test, mpmcring_bpf_ready(),
			      "the kfuncs have no buffers (mpmcring_bpf_init())");
	return kt_ring(test, p);
}

/*
 * output, reserve + write + commit and reserve + discard: the records
 * reach a consumer whole, in order, the unwritten bytes of a reservation
 * zero; the discarded one counts as discarded and reaches nobody.
 */
static void kfuncs_records_reach_consumers(struct kunit *test)
{
	struct mpmcring_params p = { .size = 65536 };
	struct mpmcring *ring = kf_ring(test, &p);
	/* Off the stack: KASAN's redzones make frames large. */
	struct mpmcring_stats *st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	u8 *in = kunit_kzalloc(test, 200, GFP_KERNEL);
	u8 *out = kunit_kzalloc(test, 256, GFP_KERNEL);
	struct mpmcring_bpf_rsv *rsv;
	u32 id = ring->layout.id;
	struct kc c;

	KUNIT_ASSERT_TRUE(test, st && in && out);
	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	kf_fill(in, 200, 1);
	KUNIT_EXPECT_EQ(test, mpmcring_bpf_admit(id, 200, 0), 0);
	KUNIT_EXPECT_EQ(test, mpmcring_bpf_output(id, in, 200, 0), 0);

	rsv = mpmcring_bpf_reserve(id, 100, MPMCRING_F_PRIO(MPMCRING_PRIO_CRITICAL));
	KUNIT_ASSERT_NOT_NULL(test, rsv);
	kf_fill(in, 40, 2);
	KUNIT_EXPECT_EQ(test, mpmcring_bpf_write(rsv, 0, in, 40), 0);
	KUNIT_EXPECT_EQ(test, mpmcring_bpf_write(rsv, 60, in, 40), 0);
	KUNIT_EXPECT_EQ(test, mpmcring_bpf_commit(rsv), 0);

	rsv = mpmcring_bpf_reserve(id, 16, 0);
	KUNIT_ASSERT_NOT_NULL(test, rsv);
	mpmcring_bpf_discard(rsv);

	KUNIT_EXPECT_EQ(test, kc_read(&c, out, 256), 200);
	KUNIT_EXPECT_TRUE(test, kf_is(out, 200, 1));
	KUNIT_EXPECT_EQ(test, kc_read(&c, out, 256), 100);
	KUNIT_EXPECT_TRUE(test, kf_is(out, 40, 2));
	KUNIT_EXPECT_TRUE(test, !memchr_inv(out + 40, 0, 20));
	KUNIT_EXPECT_TRUE(test, kf_is(out + 60, 40, 2));
	KUNIT_EXPECT_EQ(test, kc_read(&c, out, 256), -EAGAIN);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->discarded_records, 1ULL);
	kc_detach(&c);
	mpmcring_destroy(ring);
}

/*
 * What a verified program can still get wrong is refused, and nothing
 * reaches the ring: bad flags, empty records, NULL data, an id no ring
 * has, lengths over the bounds (reserve 4 KiB, output 64 KiB), a write
 * outside its reservation.
 */
static void kfuncs_refuse_bad_calls(struct kunit *test)
{
	struct mpmcring_params p = { .size = 1 << 20 };
	struct mpmcring *ring = kf_ring(test, &p);
	struct mpmcring_stats *st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	u8 *big = kunit_kzalloc(test, MPMCRING_WRITE_MAX + 1, GFP_KERNEL);
	struct mpmcring_bpf_rsv *rsv;
	u32 id = ring->layout.id;

	KUNIT_ASSERT_TRUE(test, st && big);
	KUNIT_EXPECT_EQ(test, mpmcring_bpf_output(id, big, 8, 1ULL << 40), -EINVAL);
	KUNIT_EXPECT_EQ(test, mpmcring_bpf_output(id, big, 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, mpmcring_bpf_output(id, NULL, 8, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, mpmcring_bpf_output(id + 1000000, big, 8, 0), -ENOENT);
	KUNIT_EXPECT_EQ(test, mpmcring_bpf_output(id, big, MPMCRING_WRITE_MAX + 1, 0),
			-EMSGSIZE);
	KUNIT_EXPECT_EQ(test, mpmcring_bpf_admit(id, MPMCRING_WRITE_MAX + 1, 0), -EMSGSIZE);
	KUNIT_EXPECT_EQ(test, mpmcring_bpf_admit(id + 1000000, 8, 0), -ENOENT);
	KUNIT_EXPECT_NULL(test, mpmcring_bpf_reserve(id, 4097, 0));
	KUNIT_EXPECT_NULL(test, mpmcring_bpf_reserve(id, 0, 0));
	KUNIT_EXPECT_NULL(test, mpmcring_bpf_reserve(id + 1000000, 8, 0));

	rsv = mpmcring_bpf_reserve(id, 32, 0);
	KUNIT_ASSERT_NOT_NULL(test, rsv);
	KUNIT_EXPECT_EQ(test, mpmcring_bpf_write(rsv, 33, big, 0), -E2BIG);
	KUNIT_EXPECT_EQ(test, mpmcring_bpf_write(rsv, 16, big, 17), -E2BIG);
	KUNIT_EXPECT_EQ(test, mpmcring_bpf_write(rsv, U32_MAX, big, 2), -E2BIG);
	KUNIT_EXPECT_EQ(test, mpmcring_bpf_write(rsv, 0, NULL, 4), -EINVAL);
	KUNIT_EXPECT_EQ(test, mpmcring_bpf_write(rsv, 16, big, 16), 0);
	mpmcring_bpf_discard(rsv);

	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->produced_records, 0ULL);
	/* The two too-big records (output, admit) and reserve's are the ring's drops. */
	KUNIT_EXPECT_EQ(test, kt_dropped(st), 3ULL);
	mpmcring_destroy(ring);
}

/*
 * A CPU's 16 buffers are shared out by context: a task that may sleep
 * takes 8 at most, one that cannot 12 (the rest is kept for the contexts
 * that interrupt it). Given back, they are there again.
 */
static void kfuncs_buffers_per_context(struct kunit *test)
{
	struct mpmcring_params p = { .size = 65536 };
	struct mpmcring *ring = kf_ring(test, &p);
	struct mpmcring_bpf_rsv *held[16];
	u32 id = ring->layout.id;
	int sleeping = 0, not_sleeping = 0, i;

	/* Without it no caller is known to sleep: every task gets 8. */
	if (!IS_ENABLED(CONFIG_PREEMPT_COUNT)) {
		mpmcring_destroy(ring);
		kunit_skip(test, "no CONFIG_PREEMPT_COUNT: task context is not told apart");
	}
	/* One CPU's pool: the counts are per CPU. */
	migrate_disable();
	while (sleeping < ARRAY_SIZE(held) &&
	       (held[sleeping] = mpmcring_bpf_reserve(id, 64, 0)))
		sleeping++;
	preempt_disable();
	while (sleeping + not_sleeping < ARRAY_SIZE(held) &&
	       (held[sleeping + not_sleeping] = mpmcring_bpf_reserve(id, 64, 0)))
		not_sleeping++;
	preempt_enable();
	for (i = 0; i < sleeping + not_sleeping; i++)
		mpmcring_bpf_discard(held[i]);
	held[0] = mpmcring_bpf_reserve(id, 64, 0);
	migrate_enable();
	KUNIT_EXPECT_EQ(test, sleeping, 8);
	KUNIT_EXPECT_EQ(test, not_sleeping, 4);
	KUNIT_EXPECT_NOT_NULL(test, held[0]);
	if (held[0])
		mpmcring_bpf_discard(held[0]);
	mpmcring_destroy(ring);
}

/*
 * One thread's calls: its own counters, ok read by the test meanwhile.
 * The thread runs until kthread_stop(): one that ended on its own could
 * be reaped, its task freed, before kthread_stop() looked at it.
 */
struct kf_race {
	u32 id;
	u64 ok, gone, full, other;
};

/* Every kfunc in turn, on one id, until told to stop. */
static int kf_race_producer(void *arg)
{
	struct kf_race *r = arg;
	struct mpmcring_bpf_rsv *rsv;
	u8 buf[48];
	u32 seq = 0;
	int err;

	while (!kthread_should_stop()) {
		kf_fill(buf, sizeof(buf), seq);
		switch (seq++ % 3) {
		case 0:
			err = mpmcring_bpf_output(r->id, buf, sizeof(buf), 0);
			break;
		case 1:
			err = mpmcring_bpf_admit(r->id, sizeof(buf), 0);
			break;
		default:
			rsv = mpmcring_bpf_reserve(r->id, sizeof(buf), 0);
			if (!rsv) {
				err = -ENOENT;
				break;
			}
			err = mpmcring_bpf_write(rsv, 0, buf, sizeof(buf));
			if (err) {
				mpmcring_bpf_discard(rsv);
				break;
			}
			err = mpmcring_bpf_commit(rsv);
		}
		if (!err)
			WRITE_ONCE(r->ok, r->ok + 1);
		else if (err == -ENOENT)
			r->gone++;
		else if (err == -ENOSPC || err == -EAGAIN)
			r->full++;
		else
			r->other++;
		cond_resched();
	}
	return 0;
}

/*
 * The ring destroyed while two threads call every kfunc on its id without
 * pause, a consumer draining and checking each record: each call finds
 * the ring or is refused (-ENOENT, a NULL reservation), every record
 * arrives whole, and none touches the ring's memory after the destroy
 * freed it (KASAN), nor races the destroy unmarked (KCSAN).
 */
static void kfuncs_race_a_destroy(struct kunit *test)
{
	struct mpmcring_params p = { .name = "kunit-kfuncs", .size = 16384 };
	struct mpmcring *ring = kf_ring(test, &p);
	unsigned long deadline = jiffies + 20 * HZ;
	struct kf_race r[2] = {};
	struct task_struct *t[2];
	u64 ok = 0, gone = 0, full = 0, other = 0, read = 0, torn = 0;
	int i, n, started = 0;
	u8 buf[64];
	struct kc c;

	if (kc_attach(&c, ring)) {
		mpmcring_destroy(ring);
		KUNIT_FAIL(test, "no consumer slot");
		return;
	}
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		r[i].id = ring->layout.id;
		t[i] = kthread_run(kf_race_producer, &r[i], "mpmcring_kf/%d", i);
		if (IS_ERR(t[i]))
			break;
		started++;
	}
	KUNIT_EXPECT_EQ(test, started, (int)ARRAY_SIZE(t));
	while (READ_ONCE(r[0].ok) + READ_ONCE(r[1].ok) < 1000 &&
	       time_before(jiffies, deadline)) {
		n = kc_read(&c, buf, sizeof(buf));
		if (n == -EAGAIN) {
			cond_resched();
			continue;
		}
		read++;
		/* Each record is 48 bytes numbered from its first. */
		torn += n != 48 || !kf_is(buf, 48, buf[0]);
	}
	kc_detach(&c);
	mpmcring_destroy(ring);
	/* Calls after the destroy: each refused. */
	msleep(50);
	for (i = 0; i < started; i++) {
		kthread_stop(t[i]);
		ok += r[i].ok;
		gone += r[i].gone;
		full += r[i].full;
		other += r[i].other;
	}
	kunit_info(test, "%llu calls taken, %llu full, %llu refused as gone; %llu records read",
		   ok, full, gone, read);
	KUNIT_EXPECT_GE(test, ok, 1000ULL);
	KUNIT_EXPECT_GT(test, read, 0ULL);
	KUNIT_EXPECT_EQ(test, torn, 0ULL);
	KUNIT_EXPECT_GT(test, gone, 0ULL);
	KUNIT_EXPECT_EQ(test, other, 0ULL);
}

static struct kunit_case kfuncs_cases[] = {
	KUNIT_CASE(kfuncs_records_reach_consumers),
	KUNIT_CASE(kfuncs_refuse_bad_calls),
	KUNIT_CASE(kfuncs_buffers_per_context),
	KUNIT_CASE(kfuncs_race_a_destroy),
	{}
};

static struct kunit_suite kfuncs_suite = {
	.name = "mpmcring_kfuncs",
	.test_cases = kfuncs_cases,
};
kunit_test_suite(kfuncs_suite);
