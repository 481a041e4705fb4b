// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring_concurrency: producers in kthreads on every CPU, in hrtimers
 * (hardirq) and in timers (softirq), racing verifying consumers. In
 * drop-newest mode every committed record must be delivered exactly once,
 * intact and in its producer's order; nothing may overlap; the counters
 * must add up. Also: positions crossing 2^64 under load, overwrite mode,
 * and a producer stalled between reserve and commit.
 */
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/kthread.h>

#include "farm.h"

#define CONC_RECORDS 1500

/* Runs the farm on a new ring; returns the final production position. */
static u64 conc_run(struct kunit *test, struct mpmcring_params *p,
		    struct farm *f, bool exact)
{
	struct mpmcring *ring = kt_ring(test, p);
	u64 end;

	KUNIT_ASSERT_EQ(test, farm_init(test, f, ring, CONC_RECORDS, true), 0);
	farm_start_consumers(f, 2);
	farm_start_producers(f);
	farm_finish(f);
	farm_check(test, f, exact);
	farm_cleanup(f);
	end = READ_ONCE(mpmcring_kunit_view(ring)->meta->prod_pos);
	mpmcring_destroy(ring);
	return end;
}

static void conc_all_contexts(struct kunit *test)
{
	struct mpmcring_params p = { .size = 16384 };
	struct farm *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	conc_run(test, &p, f, true);
}

static void conc_cross_2_64(struct kunit *test)
{
	struct mpmcring_params p = {
		.size = 8192, .granule = 16,
		.initial_pos = (u64)0 - 40 * 8192,
	};
	struct farm *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	f->len_max = 400;
	/* Long enough to have wrapped past zero. */
	KUNIT_EXPECT_LT(test, conc_run(test, &p, f, true), p.initial_pos);
}

static void conc_batches(struct kunit *test)
{
	struct mpmcring_params p = { .size = 32768, .granule = 32 };
	struct farm *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	f->batch = 64;
	f->len_min = 100;
	f->len_max = 1000;
	conc_run(test, &p, f, true);
}

/* Overwrite mode: what is delivered is exact; the rest was overwritten. */
static void conc_overwrite(struct kunit *test)
{
	struct mpmcring_params p = { .size = 8192, .mode = MPMCRING_MODE_OVERWRITE };
	struct farm *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	struct mpmcring *ring;
	struct mpmcring_stats *st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	u64 committed = 0, delivered = 0;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, f);
	KUNIT_ASSERT_NOT_NULL(test, st);
	ring = kt_ring(test, &p);
	KUNIT_ASSERT_EQ(test, farm_init(test, f, ring, CONC_RECORDS, true), 0);
	farm_start_consumers(f, 1);
	farm_start_producers(f);
	farm_finish(f);
	farm_check(test, f, false);
	for (i = 0; i < f->nprod; i++)
		committed += f->prod[i].committed;
	for (i = 0; i < f->ncons; i++)
		delivered += f->cons[i].records;
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->overwritten_records + delivered +
			st->in_ring_records, committed);
	KUNIT_EXPECT_EQ(test, mpmcring_kunit_view(ring)->meta->lost_overwritten,
			st->overwritten_records);
	farm_cleanup(f);
	mpmcring_destroy(ring);
}

/*
 * Producer 0 stops between reserve and commit now and then. While it
 * stands there, the head must not pass its record: consumers may take
 * everything before it and nothing after it.
 */
static void conc_stall_hook(struct farm *f, struct farm_producer *p, u64 pos)
{
	int i;

	if (p->seq % 100)
		return;
	for (i = 0; i < 20; i++) {
		u64 head = READ_ONCE(f->v->cons->head);

		if (mpr_before(pos, head))
			f->stall_violations++;
		udelay(500);
	}
}

static void conc_stalled_producer(struct kunit *test)
{
	struct mpmcring_params p = { .size = 16384 };
	struct farm *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	f->stall = conc_stall_hook;
	conc_run(test, &p, f, true);
}

struct conc_churn {
	struct mpmcring *ring;
	unsigned long attached; /* attaches that got a slot */
};

/* Attaches and detaches a slot until stopped. */
static int conc_slot_churn(void *arg)
{
	struct conc_churn *c = arg;
	int i;

	while (!kthread_should_stop()) {
		i = mpmcring_slot_attach(c->ring, false);
		if (i >= 0) {
			WRITE_ONCE(c->attached, c->attached + 1);
			mpmcring_slot_detach(c->ring, i);
		}
		cond_resched();
	}
	return 0;
}

/*
 * The statistics count attached slots while consumers attach and detach,
 * without the slots' lock: each word loaded once, marked (helper-270:
 * bitmap_weight()'s plain loads raced with set_bit() and clear_bit()).
 * What this case is for is the kcsan guest's judge: 18 KCSAN reports
 * there in its second with bitmap_weight(). Its own checks only hold
 * that the churn ran and that one slot never counts as more (whether the
 * two threads overlap is the scheduler's: on one CPU they take turns).
 */
static void conc_stats_while_slots_churn(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	struct mpmcring_stats *st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	struct conc_churn c = { .ring = ring };
	unsigned long deadline = jiffies + HZ;
	struct task_struct *t;
	unsigned int more = 0;

	if (!st) {
		mpmcring_destroy(ring);
		KUNIT_FAIL(test, "no memory");
		return;
	}
	t = kthread_run(conc_slot_churn, &c, "mpmcring_churn");
	if (IS_ERR(t)) {
		mpmcring_destroy(ring);
		KUNIT_FAIL(test, "no thread: %ld", PTR_ERR(t));
		return;
	}
	while (time_before(jiffies, deadline)) {
		mpmcring_get_stats(ring, st);
		more += st->consumers > 1;
		cond_resched();
	}
	kthread_stop(t);
	KUNIT_EXPECT_EQ(test, more, 0U);
	KUNIT_EXPECT_GT(test, READ_ONCE(c.attached), 0UL);
	mpmcring_destroy(ring);
}

static struct kunit_case conc_cases[] = {
	KUNIT_CASE(conc_all_contexts),
	KUNIT_CASE(conc_cross_2_64),
	KUNIT_CASE(conc_batches),
	KUNIT_CASE(conc_overwrite),
	KUNIT_CASE(conc_stalled_producer),
	KUNIT_CASE(conc_stats_while_slots_churn),
	{}
};

static struct kunit_suite conc_suite = {
	.name = "mpmcring_concurrency",
	.test_cases = conc_cases,
};
kunit_test_suite(conc_suite);
