// SPDX-License-Identifier: GPL-2.0-only
/*
 * The producer/consumer farm of the concurrency and trust suites.
 */
#include <linux/delay.h>
#include <linux/kcsan-checks.h>
#include <linux/bitmap.h>
#include <linux/slab.h>
#include <linux/cpumask.h>
#include <linux/sched.h>

#include "farm.h"

#define FARM_TIMER_NS	100000
#define FARM_TIMER_BATCH 3

static u32 farm_len(struct farm *f, struct farm_producer *p)
{
	u32 span = f->len_max - f->len_min + 1;

	return f->len_min + mpr_testrec_mix((u32)p->seq ^ (p->id << 20)) % span;
}

/* Marks granules of [pos, pos + size) in flight; counts any overlap. */
static void farm_mark(struct farm *f, u64 pos, u32 len, bool set)
{
	u64 g = pos >> f->v->gshift;
	u64 n = mpr_rec_size(f->v, len) >> f->v->gshift;
	u64 i;

	for (i = 0; i < n; i++) {
		unsigned long bit = (g + i) & f->v->stamp_mask;

		if (set) {
			if (test_and_set_bit(bit, f->inflight))
				atomic64_inc(&f->overlaps);
		} else {
			clear_bit(bit, f->inflight);
		}
	}
}

/* Returns false when the ring refused the record (counted as dropped). */
static bool farm_produce_one(struct farm *f, struct farm_producer *p)
{
	struct mpmcring_rsv rsv;
	u32 len = farm_len(f, p);

	p->attempted++;
	if (mpmcring_reserve(f->ring, len, MPMCRING_F_PRIO(MPMCRING_PRIO_CRITICAL), &rsv)) {
		p->dropped++;
		p->seq++;
		return false;
	}
	if (p->ctx == MPR_CTX_TASK)
		WRITE_ONCE(p->in_rsv, true);
	farm_mark(f, rsv.pos, len, true);
	mpr_testrec_fill(rsv.data, len, p->id, p->ctx, MPMCRING_PRIO_CRITICAL, p->seq);
	if (f->stall && p->id == 0)
		f->stall(f, p, rsv.pos);
	/*
	 * Inside the reservation now and then for longer than the hrtimer's
	 * period, so that the timers' closes meet it (close_in_timers).
	 */
	if (f->close_in_timers && p->ctx == MPR_CTX_TASK && !(p->seq % 16))
		udelay(FARM_TIMER_NS / 1000 * 3);
	set_bit(p->seq, f->committed_map[p->id]);
	farm_mark(f, rsv.pos, len, false);
	/* Cleared with preemption still off: true only inside the window. */
	if (p->ctx == MPR_CTX_TASK)
		WRITE_ONCE(p->in_rsv, false);
	mpmcring_commit(&rsv);
	p->committed++;
	p->seq++;
	return true;
}

static bool farm_producer_done(struct farm *f, struct farm_producer *p)
{
	if (p->attempted < f->per_producer && !READ_ONCE(f->stop))
		return false;
	if (!p->done) {
		p->done = true;
		atomic_dec(&f->producers_left);
	}
	return true;
}

static int farm_thread(void *arg)
{
	struct farm_producer *p = arg;
	struct farm *f = p->farm;

	while (!kthread_should_stop()) {
		if (farm_producer_done(f, p)) {
			schedule_timeout_interruptible(HZ / 50);
			continue;
		}
		/*
		 * A refused record: the ring is full until a consumer commits,
		 * and the consumer may be waiting for this CPU. Spinning on
		 * would spend every attempt while the ring is full (seen on
		 * the KCSAN kernel: all 1500 of a kthread's records refused,
		 * "no record from context 0"), and the check that every
		 * context gets records through would test the scheduler.
		 */
		if (!farm_produce_one(f, p))
			usleep_range(20, 50);
		else if (!(p->attempted % 32))
			cond_resched();
	}
	return 0;
}

/*
 * A timer producer's close of every chunk (close_in_timers): this CPU's
 * task-level chunk first, counted when this close was the one that closed
 * it while its producer was between reserve and commit.
 */
static void farm_timer_close(struct farm *f)
{
	struct farm_producer *owner = NULL;
	unsigned int i;
	bool inside;

	if (!f->ring->chunks)
		return;
	for (i = 0; i < f->nprod; i++)
		if (f->prod[i].ctx == MPR_CTX_TASK && f->prod[i].cpu == smp_processor_id())
			owner = &f->prod[i];
	/* An interrupt on its CPU: it cannot commit before this returns. */
	inside = owner && READ_ONCE(owner->in_rsv);
	if (mpmcring_chunk_close(f->ring,
				 mpmcring_chunk_at(this_cpu_ptr(f->ring->chunks), 0)) &&
	    inside)
		atomic64_inc(&f->timer_closes_in_rsv);
	mpmcring_chunks_close(f->ring);
}

/*
 * Whether a timer producer runs again: while it has records to make, and
 * with close_in_timers while any producer has (the softirq timers'
 * included, the slowest: its closes go on until every producer is done;
 * farm_finish() stops it after).
 */
static bool farm_timer_again(struct farm_producer *p)
{
	struct farm *f = p->farm;

	if (!farm_producer_done(f, p))
		return true;
	return f->close_in_timers && !READ_ONCE(f->stop) &&
	       atomic_read(&f->producers_left);
}

static enum hrtimer_restart farm_hrtimer(struct hrtimer *t)
{
	struct farm_producer *p = container_of(t, struct farm_producer, hrt);
	int i;

	for (i = 0; i < FARM_TIMER_BATCH && !farm_producer_done(p->farm, p); i++)
		farm_produce_one(p->farm, p);
	if (p->farm->close_in_timers)
		farm_timer_close(p->farm);
	if (!farm_timer_again(p))
		return HRTIMER_NORESTART;
	hrtimer_forward_now(t, ns_to_ktime(FARM_TIMER_NS));
	return HRTIMER_RESTART;
}

static void farm_timer(struct timer_list *t)
{
	struct farm_producer *p = from_timer(p, t, tl);
	int i;

	for (i = 0; i < FARM_TIMER_BATCH * 8 && !farm_producer_done(p->farm, p); i++)
		farm_produce_one(p->farm, p);
	if (p->farm->close_in_timers)
		farm_timer_close(p->farm);
	if (farm_timer_again(p))
		mod_timer(&p->tl, jiffies + 1);
}

static void farm_check_record(struct farm_consumer *c, const void *data, u32 len)
{
	struct farm *f = c->farm;
	const struct mpr_testrec *r = data;
	/*
	 * Read once: with the consumer area under attack a producer may be
	 * rewriting this record (see consumer_area_attacked), and an index
	 * checked in one read and used from another could leave the bitmap.
	 */
	u16 producer = READ_ONCE(r->producer);
	u64 seq = READ_ONCE(r->seq);

	if (mpr_testrec_check(data, len) || producer >= f->nprod || seq >= f->per_producer) {
		atomic64_inc(&f->bad);
		return;
	}
	if (c->last[producer] > seq)
		atomic64_inc(&f->out_of_order);
	c->last[producer] = seq + 1;
	if (test_and_set_bit(seq, f->seen[producer]))
		atomic64_inc(&f->duplicates);
	if (!test_bit(seq, f->committed_map[producer]))
		atomic64_inc(&f->ghosts);
	c->records++;
}

static int farm_consumer_thread(void *arg)
{
	struct farm_consumer *c = arg;
	struct farm *f = c->farm;
	struct mpr_claim cl;
	struct mpr_rec rec;
	int idle = 0, n;
	u64 cur;

	while (!kthread_should_stop()) {
		n = kc_claim(&c->kc, f->batch, &cl);
		if (n > 0) {
			cur = cl.start;
			/* See consumer_area_attacked in farm.h. */
			if (f->consumer_area_attacked)
				kcsan_disable_current();
			while (mpr_claim_next(f->v, &cur, cl.end, &rec))
				farm_check_record(c, mpr_payload(f->v, rec.pos), rec.len);
			if (f->consumer_area_attacked)
				kcsan_enable_current();
			kc_commit(&c->kc);
			idle = 0;
			continue;
		}
		if (n == -EBADMSG)
			atomic64_inc(&f->corrupt);
		else if (n != -EAGAIN && n != -EBUSY)
			atomic64_inc(&f->bad);
		if (++idle > 16)
			usleep_range(50, 200);
		else
			cond_resched();
	}
	return 0;
}

int farm_init(struct kunit *test, struct farm *f, struct mpmcring *ring,
	      u64 per_producer, bool timers)
{
	unsigned int cpu, i;

	f->ring = ring;
	f->v = mpmcring_kunit_view(ring);
	f->per_producer = per_producer;
	if (!f->len_min)
		f->len_min = MPR_TESTREC_MIN;
	if (!f->len_max)
		f->len_max = 200;
	if (!f->batch)
		f->batch = 8;
	atomic64_set(&f->bad, 0);
	f->inflight = kunit_kzalloc(test, BITS_TO_LONGS(f->v->stamp_mask + 1) *
				    sizeof(long), GFP_KERNEL);
	if (!f->inflight)
		return -ENOMEM;
	for_each_online_cpu(cpu) {
		if (f->nprod >= FARM_MAX_PRODUCERS - 2)
			break;
		f->prod[f->nprod].ctx = MPR_CTX_TASK;
		f->prod[f->nprod++].cpu = cpu;
		if (!timers)
			continue;
		f->prod[f->nprod].ctx = MPR_CTX_HARDIRQ;
		f->prod[f->nprod++].cpu = cpu;
		f->prod[f->nprod].ctx = MPR_CTX_SOFTIRQ;
		f->prod[f->nprod++].cpu = cpu;
	}
	for (i = 0; i < f->nprod; i++) {
		struct farm_producer *p = &f->prod[i];

		p->farm = f;
		p->id = i;
		f->seen[i] = kunit_kzalloc(test, BITS_TO_LONGS(per_producer) *
					   sizeof(long), GFP_KERNEL);
		f->committed_map[i] = kunit_kzalloc(test, BITS_TO_LONGS(per_producer) *
						    sizeof(long), GFP_KERNEL);
		if (!f->seen[i] || !f->committed_map[i])
			return -ENOMEM;
		if (p->ctx == MPR_CTX_HARDIRQ) {
			hrtimer_init(&p->hrt, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED_HARD);
			p->hrt.function = farm_hrtimer;
		} else if (p->ctx == MPR_CTX_SOFTIRQ) {
			timer_setup(&p->tl, farm_timer, TIMER_PINNED);
		}
	}
	atomic_set(&f->producers_left, f->nprod);
	mpmcring_get_stats(ring, &f->base);
	return 0;
}

void farm_start_consumers(struct farm *f, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n && i < FARM_MAX_CONSUMERS; i++) {
		struct farm_consumer *c = &f->cons[i];

		c->farm = f;
		if (kc_attach(&c->kc, f->ring))
			continue;
		c->task = kthread_run(farm_consumer_thread, c, "farm_cons/%u", i);
		if (IS_ERR(c->task)) {
			c->task = NULL;
			kc_detach(&c->kc);
			continue;
		}
		f->ncons++;
	}
}

static void farm_arm_hrtimer(void *arg)
{
	struct farm_producer *p = arg;

	hrtimer_start(&p->hrt, ns_to_ktime(FARM_TIMER_NS), HRTIMER_MODE_REL_PINNED_HARD);
}

void farm_start_producers(struct farm *f)
{
	unsigned int i;

	for (i = 0; i < f->nprod; i++) {
		struct farm_producer *p = &f->prod[i];

		switch (p->ctx) {
		case MPR_CTX_TASK:
			p->task = kthread_create_on_cpu(farm_thread, p, p->cpu, "farm_prod/%u");
			if (IS_ERR(p->task)) {
				p->task = NULL;
				p->done = true;
				atomic_dec(&f->producers_left);
				atomic64_inc(&f->bad);
			} else {
				wake_up_process(p->task);
			}
			break;
		case MPR_CTX_HARDIRQ:
			smp_call_function_single(p->cpu, farm_arm_hrtimer, p, 1);
			break;
		case MPR_CTX_SOFTIRQ:
			p->tl.expires = jiffies + 1;
			add_timer_on(&p->tl, p->cpu);
			break;
		}
	}
}

void farm_finish(struct farm *f)
{
	unsigned int i, spins = 0;

	/* Producers end after their count (a minute at most under TCG). */
	while (atomic_read(&f->producers_left) && spins++ < 6000)
		usleep_range(10000, 20000);
	WRITE_ONCE(f->stop, true);
	for (i = 0; i < f->nprod; i++) {
		if (f->prod[i].ctx == MPR_CTX_HARDIRQ)
			hrtimer_cancel(&f->prod[i].hrt);
		else if (f->prod[i].ctx == MPR_CTX_SOFTIRQ)
			del_timer_sync(&f->prod[i].tl);
		else if (f->prod[i].task)
			kthread_stop(f->prod[i].task);
		f->prod[i].task = NULL;
	}
	mpmcring_get_stats(f->ring, &f->at_finish);
	/*
	 * Records behind a chunk left open wait for the ring's tick, which
	 * runs only while a file has the ring open (the farm has none):
	 * close the chunks as it would.
	 */
	mpmcring_chunks_close(f->ring);
	/* Consumers drain what is left. */
	for (spins = 0; spins < 1000; spins++) {
		u64 h = READ_ONCE(f->v->cons->head);

		if (h == READ_ONCE(f->v->meta->prod_pos))
			break;
		usleep_range(5000, 10000);
	}
	for (i = 0; i < FARM_MAX_CONSUMERS; i++) {
		if (f->cons[i].task)
			kthread_stop(f->cons[i].task);
		if (f->cons[i].task)
			kc_detach(&f->cons[i].kc);
		f->cons[i].task = NULL;
	}
}

void farm_check(struct kunit *test, struct farm *f, bool exact_delivery)
{
	struct mpmcring_stats *st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	u64 attempted = 0, committed = 0, dropped = 0, delivered = 0, missing = 0;
	unsigned int i, ctx_seen = 0;

	KUNIT_ASSERT_NOT_NULL(test, st);
	for (i = 0; i < f->nprod; i++) {
		attempted += f->prod[i].attempted;
		committed += f->prod[i].committed;
		dropped += f->prod[i].dropped;
		if (f->prod[i].committed)
			ctx_seen |= 1 << f->prod[i].ctx;
		missing += bitmap_weight(f->committed_map[i], f->per_producer) -
			   bitmap_weight(f->seen[i], f->per_producer);
	}
	for (i = 0; i < f->ncons; i++)
		delivered += f->cons[i].records;
	mpmcring_get_stats(f->ring, st);
	kunit_info(test, "producers %u consumers %u attempted %llu committed %llu dropped %llu delivered %llu",
		   f->nprod, f->ncons, attempted, committed, dropped, delivered);
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&f->producers_left), 0, "producers did not finish");
	KUNIT_EXPECT_EQ_MSG(test, atomic64_read(&f->bad), 0LL, "corrupt records or errors");
	KUNIT_EXPECT_EQ_MSG(test, atomic64_read(&f->corrupt), 0LL, "consumers met a corrupt head");
	KUNIT_EXPECT_EQ_MSG(test, f->stall_violations, 0ULL, "a consumer passed a stalled producer");
	KUNIT_EXPECT_EQ_MSG(test, atomic64_read(&f->duplicates), 0LL, "records delivered twice");
	KUNIT_EXPECT_EQ_MSG(test, atomic64_read(&f->ghosts), 0LL, "uncommitted records delivered");
	KUNIT_EXPECT_EQ_MSG(test, atomic64_read(&f->out_of_order), 0LL, "a producer's order broken");
	KUNIT_EXPECT_EQ_MSG(test, atomic64_read(&f->overlaps), 0LL, "overlapping reservations");
	/* The ring's own counters against the producers' and consumers'. */
	KUNIT_EXPECT_EQ(test, st->produced_records - f->base.produced_records, committed);
	KUNIT_EXPECT_EQ(test, kt_dropped(st) - kt_dropped(&f->base), dropped);
	KUNIT_EXPECT_EQ(test, attempted, committed + kt_dropped(st) - kt_dropped(&f->base));
	if (exact_delivery) {
		KUNIT_EXPECT_EQ_MSG(test, missing, 0ULL, "committed records never delivered");
		KUNIT_EXPECT_EQ(test, delivered, committed);
		KUNIT_EXPECT_EQ(test, st->in_ring_records, 0ULL);
	}
	KUNIT_EXPECT_GT_MSG(test, committed, 0ULL, "nothing was produced");
	/* Every context the farm ran in got records through. */
	for (i = 0; i < f->nprod; i++)
		KUNIT_EXPECT_TRUE_MSG(test, ctx_seen & (1 << f->prod[i].ctx),
				      "no record from context %u (producer %u: %llu committed, %llu refused)",
				      f->prod[i].ctx, i, f->prod[i].committed,
				      f->prod[i].dropped);
}

void farm_cleanup(struct farm *f)
{
	if (!READ_ONCE(f->stop))
		farm_finish(f);
}
