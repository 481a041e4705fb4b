// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring_lifetime: creation that fails at any allocation returns a clean
 * -ENOMEM and leaks nothing; a destroyed ring stays valid while references
 * remain and is freed with the last one, taking no record from any
 * producer once destroyed; a ring is found by its id while
 * it is registered, and only then.
 *
 * Failures come from the kernel's fault injection: current->fail_nth fails
 * exactly the n-th injection point this thread reaches (slab and page
 * allocations), and no other thread's. GFP_KERNEL allocations are points
 * only once the guest set failslab and fail_page_alloc's ignore-gfp-wait to
 * N and fail_page_alloc's min-order to 0 (the test init does). Kernels
 * without CONFIG_FAULT_INJECTION skip the sweep.
 */
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>

#include "util.h"

#define LT_MAX_POINTS 4000

#ifdef CONFIG_FAULT_INJECTION
static void lt_fail_nth(unsigned int n)
{
	WRITE_ONCE(current->fail_nth, n);
}

static bool lt_reached(void)
{
	return READ_ONCE(current->fail_nth) == 0;
}
#else
static void lt_fail_nth(unsigned int n)
{
}

static bool lt_reached(void)
{
	return false;
}
#endif

/*
 * Creates a ring again and again, failing its 1st, 2nd, 3rd ... allocation,
 * until a creation gets through without reaching the armed one.
 */
static void lifetime_alloc_failures(struct kunit *test)
{
	struct mpmcring_params p = { .name = "kunit-fi", .size = 16384 };
	long pages0 = atomic_long_read(&mpmcring_live_pages);
	int failed = 0, leaks = 0, bad_err = 0;
	unsigned int n;

	if (!IS_ENABLED(CONFIG_FAULT_INJECTION))
		kunit_skip(test, "this kernel has no CONFIG_FAULT_INJECTION");
	for (n = 1; n < LT_MAX_POINTS; n++) {
		struct mpmcring *ring;
		bool injected;

		lt_fail_nth(n);
		ring = mpmcring_create(&p);
		injected = lt_reached();
		lt_fail_nth(0);

		if (IS_ERR(ring)) {
			failed++;
			bad_err += PTR_ERR(ring) != -ENOMEM;
		} else {
			mpmcring_destroy(ring);
		}
		leaks += atomic_long_read(&mpmcring_live_pages) != pages0;
		if (!injected)
			break;	/* fewer than n points: every one was failed once */
	}
	kunit_info(test, "%u allocation points, %d creations failed cleanly",
		   n - 1, failed);
	KUNIT_EXPECT_GT_MSG(test, failed, 10,
			    "few failures injected: does the guest set ignore-gfp-wait=N?");
	KUNIT_EXPECT_LT_MSG(test, n, LT_MAX_POINTS, "creation never got through");
	KUNIT_EXPECT_EQ_MSG(test, bad_err, 0, "a failure other than -ENOMEM");
	KUNIT_EXPECT_EQ_MSG(test, leaks, 0, "pages leaked by a failed creation");
	/* Nothing half-registered remains: the name is free. */
	KUNIT_EXPECT_NULL(test, mpmcring_get_by_name("kunit-fi"));
}

/* Destroyed with a reference held: still valid, freed with the last put. */
static void lifetime_destroy_with_refs(struct kunit *test)
{
	long pages0 = atomic_long_read(&mpmcring_live_pages);
	struct mpmcring_params p = { .name = "kunit-ref", .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	struct mpmcring *ref = mpmcring_get_by_name("kunit-ref");
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	char buf[64];
	struct kc c;

	KUNIT_ASSERT_PTR_EQ(test, ref, ring);
	KUNIT_ASSERT_EQ(test, kt_produce(ring, 32, 2, 1, 0, 5), 0);
	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	/* [D6] as a consumer loads it: 0 while the ring lives. */
	KUNIT_EXPECT_EQ(test, smp_load_acquire(&v->meta->state), 0ULL);
	mpmcring_destroy(ring);
	/* The end is published in the meta page ([D5]), for the mapping. */
	KUNIT_EXPECT_EQ(test, smp_load_acquire(&v->meta->state), MPMCRING_STATE_DEAD);
	/* Gone from the registry, still readable through the reference. */
	KUNIT_EXPECT_NULL(test, mpmcring_get_by_name("kunit-ref"));
	KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), 32);
	KUNIT_EXPECT_EQ(test, ((struct mpr_testrec *)buf)->seq, 5ULL);
	KUNIT_EXPECT_EQ(test, READ_ONCE(v->cons->head), READ_ONCE(v->meta->prod_pos));
	kc_detach(&c);
	KUNIT_EXPECT_GT(test, atomic_long_read(&mpmcring_live_pages), pages0);
	mpmcring_put(ref);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&mpmcring_live_pages), pages0);
	/* The name can be used again. */
	ring = kt_ring(test, &p);
	mpmcring_destroy(ring);
}

/*
 * A module producing into a ring it found by name holds a reference, not a
 * say in when the owner destroys it: from the destroy on, every kernel
 * entry point refuses with -EPIPE and writes nothing, so no record lands
 * behind the end consumers were told ([D4] in kmod/produce.c), and none is
 * counted as produced or dropped.
 */
static void lifetime_producers_refused_once_destroyed(struct kunit *test)
{
	struct mpmcring_params p = { .name = "kunit-closed", .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	struct mpmcring *ref = mpmcring_get_by_name("kunit-closed");
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	u32 lens[2] = { 16, 24 };
	struct mpmcring_rsv rsv[2];
	struct mpmcring_stats st;
	char buf[64];
	u64 pos;
	struct kc c;
	int prio, err;

	KUNIT_ASSERT_PTR_EQ(test, ref, ring);
	KUNIT_ASSERT_EQ(test, kt_produce(ring, 32, 1, 1, 0, 7), 0);
	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	mpmcring_destroy(ring);
	pos = READ_ONCE(v->meta->prod_pos);
	for (prio = 0; prio < MPMCRING_NR_PRIO; prio++) {
		/*
		 * Taken anyway: given back before the check, which may
		 * sleep, so the reservation's preemption-off window closes.
		 */
		err = mpmcring_reserve(ref, 16, MPMCRING_F_PRIO(prio), rsv);
		if (!err)
			mpmcring_discard(rsv);
		KUNIT_EXPECT_EQ(test, err, -EPIPE);
		err = mpmcring_reserve_batch(ref, lens, 2, MPMCRING_F_PRIO(prio), rsv);
		if (!err) {
			mpmcring_discard(&rsv[0]);
			mpmcring_discard(&rsv[1]);
		}
		KUNIT_EXPECT_EQ(test, err, -EPIPE);
		KUNIT_EXPECT_EQ(test, mpmcring_output(ref, buf, 16, MPMCRING_F_PRIO(prio)),
				-EPIPE);
		KUNIT_EXPECT_EQ(test, mpmcring_admit(ref, 16, MPMCRING_F_PRIO(prio)), -EPIPE);
	}
	/* Too big for the ring too: refused as closed, not counted as a drop. */
	err = mpmcring_reserve(ref, v->max_record + 1, 0, rsv);
	if (!err)
		mpmcring_discard(rsv);
	KUNIT_EXPECT_EQ(test, err, -EPIPE);
	KUNIT_EXPECT_EQ(test, mpmcring_admit(ref, v->max_record + 1, 0), -EPIPE);
	KUNIT_EXPECT_EQ(test, READ_ONCE(v->meta->prod_pos), pos);
	mpmcring_get_stats(ref, &st);
	KUNIT_EXPECT_EQ(test, st.produced_records, 1ULL);
	KUNIT_EXPECT_EQ(test, kt_dropped(&st), 0ULL);
	/* What came before the destroy is still there, and nothing after. */
	KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), 32);
	KUNIT_EXPECT_EQ(test, ((struct mpr_testrec *)buf)->seq, 7ULL);
	KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), -EAGAIN);
	kc_detach(&c);
	mpmcring_put(ref);
}

/* A producer thread holding the ring by name, as another module would. */
struct lt_race {
	struct mpmcring *ring;
	u64 committed;	/* mpmcring_output() said 0 */
	u64 dropped;	/* refused for room or contention */
	u64 closed;	/* refused with -EPIPE: then it stops producing */
	int other;	/* any other answer */
};

static int lt_race_producer(void *arg)
{
	struct lt_race *r = arg;
	u64 seq = 0;
	int err;

	while (!kthread_should_stop()) {
		if (r->closed || r->other) {
			schedule_timeout_interruptible(1);
			continue;
		}
		err = mpmcring_output(r->ring, &seq, sizeof(seq),
				      MPMCRING_F_PRIO(MPMCRING_PRIO_CRITICAL));
		if (!err)
			WRITE_ONCE(r->committed, ++seq);
		else if (err == -EPIPE)
			WRITE_ONCE(r->closed, r->closed + 1);
		else if (err == -ENOSPC || err == -EAGAIN)
			r->dropped++;
		else
			r->other = err;
		cond_resched();
	}
	return 0;
}

/*
 * The destroy racing a producer it does not control: the owner destroys
 * while another module's thread produces without pause and a consumer
 * reads. The consumer stops at the end it is told ("dead, then empty",
 * [D2]); every record the producer was told it committed must have been
 * delivered by then ([D3]/[D4]), and the producer is refused afterwards.
 * Before the reservations looked at @closing, the producer committed on
 * behind the end, and never heard of it.
 */
static void lifetime_destroy_racing_a_producer_by_name(struct kunit *test)
{
	struct mpmcring_params p = { .name = "kunit-race", .size = 16384 };
	struct mpmcring *ring = kt_ring(test, &p);
	struct lt_race r = { .ring = mpmcring_get_by_name("kunit-race") };
	unsigned long deadline;
	struct task_struct *t;
	u64 delivered = 0, seq, next = 0;
	bool dead, ended = false, destroyed = false;
	int n, misordered = 0;
	struct kc c;

	KUNIT_ASSERT_PTR_EQ(test, r.ring, ring);
	if (kc_attach(&c, ring)) {
		mpmcring_destroy(ring);
		mpmcring_put(r.ring);
		KUNIT_FAIL(test, "no consumer slot");
		return;
	}
	t = kthread_run(lt_race_producer, &r, "mpmcring_race");
	if (IS_ERR(t)) {
		kc_detach(&c);
		mpmcring_destroy(ring);
		mpmcring_put(r.ring);
		KUNIT_FAIL(test, "no producer thread: %ld", PTR_ERR(t));
		return;
	}
	deadline = jiffies + 20 * HZ;
	while (time_before(jiffies, deadline)) {
		/* The owner destroys once the producer is well under way. */
		if (!destroyed && READ_ONCE(r.committed) >= 2000) {
			mpmcring_destroy(ring);
			destroyed = true;
		}
		/* [D2]: dead first, then the look. */
		dead = smp_load_acquire(&ring->dead);
		n = kc_read(&c, &seq, sizeof(seq));
		if (n == -EAGAIN) {
			if (dead) {
				ended = true;
				break;
			}
			cond_resched();
			continue;
		}
		if (n != sizeof(seq)) {
			KUNIT_FAIL(test, "read: %d", n);
			break;
		}
		delivered++;
		/* One producer, drops skip no number: every one, in order. */
		misordered += seq != next;
		next = seq + 1;
		cond_resched();
	}
	if (!destroyed)
		mpmcring_destroy(ring);
	/* Time for a producer that did not hear of the end to go on. */
	msleep(50);
	kthread_stop(t);
	kc_detach(&c);
	mpmcring_put(r.ring);
	kunit_info(test, "%llu committed, %llu delivered, %llu dropped, %llu refused as closed",
		   r.committed, delivered, r.dropped, r.closed);
	KUNIT_EXPECT_TRUE_MSG(test, ended, "the consumer never saw the end");
	KUNIT_EXPECT_EQ(test, r.other, 0);
	KUNIT_EXPECT_EQ_MSG(test, r.committed, delivered,
			    "records committed behind the end consumers were told");
	KUNIT_EXPECT_EQ(test, misordered, 0);
	KUNIT_EXPECT_GE(test, r.closed, 1ULL);
}

/* The ring with this id, as a BPF producer's kfunc finds it. */
static struct mpmcring *lt_find_id(u32 id)
{
	struct mpmcring *ring;

	rcu_read_lock();
	ring = mpmcring_find_id(id);
	rcu_read_unlock();
	return ring;
}

/*
 * Two rings whose ids share mpmcring_find_id()'s first-look slot are each
 * found by their own id, whichever was registered last, and neither once
 * destroyed; the one left keeps the slot; an id never given out is not
 * found. Filler rings are created and destroyed until one lands in the
 * first ring's slot (ids are allocated cyclically: MPMCRING_ID_CACHE
 * creations when nothing else creates rings meanwhile, at most 1024 here).
 * Other rings (the default ring, any other module's) may share the slot
 * too: the checks of the slot's content allow for them.
 */
static void lifetime_find_id_shared_slot(struct kunit *test)
{
	struct mpmcring_params pa = { .name = "kunit-ida", .size = 4096 };
	struct mpmcring_params pb = { .name = "kunit-idb", .size = 4096 };
	struct mpmcring *a = kt_ring(test, &pa), *b = NULL;
	u32 ida = mpmcring_layout(a)->id, idb = 0;
	int i;

	KUNIT_EXPECT_PTR_EQ(test, lt_find_id(ida), a);
	for (i = 0; i < 1024 && !b; i++) {
		struct mpmcring *t = mpmcring_create(&pb);

		if (IS_ERR(t))
			break;
		idb = mpmcring_layout(t)->id;
		if (idb % MPMCRING_ID_CACHE == ida % MPMCRING_ID_CACHE)
			b = t;
		else
			mpmcring_destroy(t);
	}
	if (!b) {
		KUNIT_FAIL(test, "no ring in id %u's slot after %d creations", ida, i);
		mpmcring_destroy(a);
		return;
	}
	KUNIT_EXPECT_PTR_EQ(test, lt_find_id(idb), b);
	KUNIT_EXPECT_PTR_EQ(test, lt_find_id(ida), a);
	KUNIT_EXPECT_NULL(test, lt_find_id(idb + MPMCRING_ID_CACHE));
	KUNIT_EXPECT_NULL(test, lt_find_id(0));
	mpmcring_destroy(b);
	KUNIT_EXPECT_NULL(test, lt_find_id(idb));
	KUNIT_EXPECT_PTR_EQ(test, lt_find_id(ida), a);
	/* The slot went to a registered ring in it: a, or another one. */
	KUNIT_EXPECT_NOT_NULL(test, mpmcring_id_cached(ida));
	KUNIT_EXPECT_PTR_NE(test, mpmcring_id_cached(ida), b);
	mpmcring_destroy(a);
	KUNIT_EXPECT_NULL(test, lt_find_id(ida));
	/* Compared only: a is gone. */
	KUNIT_EXPECT_PTR_NE(test, mpmcring_id_cached(ida), a);
}

static struct kunit_case lifetime_cases[] = {
	KUNIT_CASE(lifetime_alloc_failures),
	KUNIT_CASE(lifetime_destroy_with_refs),
	KUNIT_CASE(lifetime_producers_refused_once_destroyed),
	KUNIT_CASE(lifetime_destroy_racing_a_producer_by_name),
	KUNIT_CASE(lifetime_find_id_shared_slot),
	{}
};

static struct kunit_suite lifetime_suite = {
	.name = "mpmcring_lifetime",
	.test_cases = lifetime_cases,
};
kunit_test_suite(lifetime_suite);
