// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring_wake: who wakes sleeping consumers, decided at commit time, and
 * when the housekeeping tick wakes (and counts waking) writers waiting for room.
 *
 * A sleeper here is a wait queue entry that stays queued and counts its
 * wakeups, as edge-triggered epoll's and io_uring's multishot poll's do:
 * nobody calls ->poll between wakeups, so nothing may depend on re-arming.
 */
#include <kunit/test.h>
#include <linux/wait.h>
#include <linux/irq_work.h>
#include <linux/poll.h>

#include "util.h"

/* One housekeeping tick's backstop, then the sleeper's wakeups so far. */
#define KT_TICK_WAKES(test, ring, s, n)                          \
	do {                                                     \
		mpmcring_backstop(ring);                         \
		KUNIT_EXPECT_EQ(test, kt_wakes(s), n);           \
	} while (0)

/*
 * The outside review's case: A reserves [0, 64), B reserves [64, 8192) and
 * commits; a sleeper that wants 4 KiB is woken on B (A is unfinished, so
 * it is not ready) and sleeps on; A commits. Now 8 KiB wait behind a
 * finished head: the sleeper must be woken.
 */
static void wake_watermark_behind_unfinished(struct kunit *test)
{
	struct mpmcring_params p = { .size = 16384 };
	struct mpmcring *ring = kt_ring(test, &p);
	struct mpmcring_rsv a, b;
	struct kt_sleeper s;
	int after_b;

	kt_sleep(&s, ring, 12);	/* 4096 bytes */
	KUNIT_ASSERT_EQ(test, mpmcring_reserve(ring, 56, MPMCRING_F_PRIO(2), &a), 0);
	KUNIT_ASSERT_EQ(test, mpmcring_reserve(ring, 8192 - 64 - 8,
					       MPMCRING_F_PRIO(2), &b), 0);
	mpmcring_commit(&b);
	after_b = kt_wakes(&s);
	KUNIT_EXPECT_FALSE(test, mpmcring_ready(ring, 12));
	mpmcring_commit(&a);
	KUNIT_EXPECT_TRUE(test, mpmcring_ready(ring, 12));
	KUNIT_EXPECT_GT_MSG(test, kt_wakes(&s), after_b,
			    "the commit that made the sleeper ready woke nobody");
	kt_wake_up(&s);
	mpmcring_destroy(ring);
}

/*
 * An edge-triggered sleeper drains through the mapping and sleeps again
 * without a system call: every record committed after it looked must still
 * wake it, whether reserved and committed or sent with mpmcring_output()
 * (its own commit path: every other cycle).
 */
static void wake_edge_triggered_every_cycle(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	struct kt_sleeper s;
	char buf[64];
	struct kc c;
	int i;

	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	kt_sleep(&s, ring, 0);
	for (i = 0; i < 200; i++) {
		KUNIT_ASSERT_EQ(test, i % 2 ? kt_output(ring, 32, 1, 1, 0, i) :
					      kt_produce(ring, 32, 1, 1, 0, i), 0);
		KUNIT_ASSERT_EQ_MSG(test, kt_wakes(&s), i + 1, "cycle %d: no wakeup", i);
		KUNIT_ASSERT_EQ(test, kc_read(&c, buf, sizeof(buf)), 32);
		KUNIT_ASSERT_EQ(test, kc_read(&c, buf, sizeof(buf)), -EAGAIN);
	}
	kt_wake_up(&s);
	kc_detach(&c);
	mpmcring_destroy(ring);
}

/*
 * A record before the head's is still being written while later ones
 * commit (half of them through mpmcring_output()): they wake nobody
 * (nothing is ready); the late one wakes.
 */
static void wake_late_record_at_head(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	struct mpmcring_rsv a;
	struct kt_sleeper s;
	int i;

	kt_sleep(&s, ring, 0);
	KUNIT_ASSERT_EQ(test, mpmcring_reserve(ring, 16, MPMCRING_F_PRIO(2), &a), 0);
	for (i = 0; i < 10; i++)
		KUNIT_ASSERT_EQ(test, i % 2 ? kt_output(ring, 32, 2, 1, 0, i) :
					      kt_produce(ring, 32, 2, 1, 0, i), 0);
	KUNIT_EXPECT_EQ(test, kt_wakes(&s), 0);
	mpmcring_commit(&a);
	KUNIT_EXPECT_EQ(test, kt_wakes(&s), 1);
	kt_wake_up(&s);
	mpmcring_destroy(ring);
}

/* Consumers busy behind the head: producers wake nobody, per record. */
static void wake_no_storm_while_busy(struct kunit *test)
{
	struct mpmcring_params p = { .size = 65536 };
	struct mpmcring *ring = kt_ring(test, &p);
	struct kt_sleeper s;
	int i;

	kt_sleep(&s, ring, 0);
	for (i = 0; i < 500; i++)
		KUNIT_ASSERT_EQ(test, kt_produce(ring, 32, 2, 1, 0, i), 0);
	/* Only the first record found the consumers caught up. */
	KUNIT_EXPECT_EQ(test, kt_wakes(&s), 1);
	kt_wake_up(&s);
	mpmcring_destroy(ring);
}

/*
 * A co-tenant writes a head that suppresses the commit-time wakeup; the
 * housekeeping tick's backstop wakes the sleeper anyway.
 */
static void wake_backstop_after_corrupt_head(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	struct kt_sleeper s;

	kt_sleep(&s, ring, 0);
	/* Aligned and plausible, but not where the next record starts. */
	WRITE_ONCE(v->cons->head, READ_ONCE(v->meta->prod_pos) + 8);
	KUNIT_ASSERT_EQ(test, kt_produce(ring, 32, 2, 1, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, kt_wakes(&s), 0);
	KT_TICK_WAKES(test, ring, &s, 1);
	/* Marked once: a second tick with nothing new wakes nobody. */
	KT_TICK_WAKES(test, ring, &s, 1);
	kt_wake_up(&s);
	mpmcring_destroy(ring);
}

/*
 * A co-tenant writes the head back to records the others took, once they
 * sleep, and no commit follows (producers only refused: the ring is full
 * up to that head): the tick wakes the sleepers once the head stood still
 * for a tick, and once only while it stays (helper-177's review: before,
 * nobody was ever woken and collection stopped for good).
 */
static void wake_backstop_head_written_back(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	u64 first = READ_ONCE(v->meta->prod_pos);
	struct kt_sleeper s;
	int i;

	for (i = 0; i < 8; i++)
		KUNIT_ASSERT_EQ(test, kt_produce(ring, 32, 2, 1, 0, i), 0);
	kt_drain(ring);
	kt_sleep(&s, ring, 0);
	/* Caught up; a tick sees the head, then it goes back. */
	KT_TICK_WAKES(test, ring, &s, 0);
	WRITE_ONCE(v->cons->head, first);
	KT_TICK_WAKES(test, ring, &s, 0);
	/* It stood still for a tick with records behind it: woken. */
	KT_TICK_WAKES(test, ring, &s, 1);
	KT_TICK_WAKES(test, ring, &s, 1);
	kt_wake_up(&s);
	mpmcring_destroy(ring);
}

/*
 * A watermark the ring cannot reach with the records it gets: half the
 * ring, low-priority records of 40 bytes, the low class's limit half the
 * ring; they stop at 2016 bytes. Once one is refused for room, the file
 * is ready (helper-177's review: it slept for good while every record was
 * dropped); once the head moves, the watermark counts again.
 */
static void wake_unreachable_watermark_ready_when_refused(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	u32 k = mpmcring_wake_class(2048);
	struct kt_sleeper s;
	int i = 0;

	/* Asleep: refusals are marked only with sleepers to tell. */
	kt_sleep(&s, ring, k);
	while (!kt_produce(ring, 40, MPMCRING_PRIO_LOW, 1, 0, i) && i < 1000)
		i++;
	KUNIT_ASSERT_GT(test, i, 0);
	KUNIT_EXPECT_TRUE(test, mpmcring_ready(ring, k));
	kt_drain(ring);
	mpmcring_reclaim(ring);
	KUNIT_ASSERT_EQ(test, kt_produce(ring, 40, MPMCRING_PRIO_LOW, 1, 0, i), 0);
	KUNIT_EXPECT_FALSE(test, mpmcring_ready(ring, k));
	KUNIT_EXPECT_TRUE(test, mpmcring_ready(ring, 0));
	kt_wake_up(&s);
	mpmcring_destroy(ring);
}

/*
 * The same watermark with a sleeper, and a tick between the last record
 * that fits and the first refused: the tick woke it for the commits (not
 * ready then), and no commit comes after the refusal. The first refusal at
 * a head is an edge of its own (helper-178's review: the sleeper was never
 * woken again); a second refusal at the same head is not.
 */
static void wake_refusal_after_a_tick_wakes(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	u64 rs = mpr_rec_size(v, 40), lim = ring->reserve_limit[MPMCRING_PRIO_LOW];
	u32 k = mpmcring_wake_class(2048);
	struct kt_sleeper s;
	int i = 0;

	kt_sleep(&s, ring, k);
	while (READ_ONCE(v->meta->prod_pos) - READ_ONCE(v->meta->reclaim_pos) + rs <= lim &&
	       i < 1000)
		KUNIT_ASSERT_EQ(test, kt_produce(ring, 40, MPMCRING_PRIO_LOW, 1, 0, i++), 0);
	KT_TICK_WAKES(test, ring, &s, 1);
	KUNIT_EXPECT_FALSE(test, mpmcring_ready(ring, k));
	KUNIT_EXPECT_EQ(test, kt_produce(ring, 40, MPMCRING_PRIO_LOW, 1, 0, i), -ENOSPC);
	KT_TICK_WAKES(test, ring, &s, 2);
	KUNIT_EXPECT_TRUE(test, mpmcring_ready(ring, k));
	KUNIT_EXPECT_EQ(test, kt_produce(ring, 40, MPMCRING_PRIO_LOW, 1, 0, i), -ENOSPC);
	mpmcring_backstop(ring);
	KT_TICK_WAKES(test, ring, &s, 2);
	kt_wake_up(&s);
	mpmcring_destroy(ring);
}

/* Nobody asleep: a commit costs no wakeup, and marks nothing. */
static void wake_nobody_asleep(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	struct mpmcring_stats *st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, st);
	KUNIT_ASSERT_EQ(test, kt_produce(ring, 32, 2, 1, 0, 0), 0);
	irq_work_sync(&ring->wake_work);
	KUNIT_EXPECT_EQ(test, READ_ONCE(ring->wake_missed), 0);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->wakeups, 0ULL);
	mpmcring_destroy(ring);
}

/* A writer asleep for room: counts the wakeups that carry EPOLLOUT. */
struct kt_writer {
	struct wait_queue_entry entry;
	atomic_t wakes;
};

static int kt_writer_fn(struct wait_queue_entry *e, unsigned int mode,
			int sync, void *key)
{
	struct kt_writer *w = container_of(e, struct kt_writer, entry);

	if (key_to_poll(key) & EPOLLOUT)
		atomic_inc(&w->wakes);
	return 0;
}

/*
 * Whether the case has failed so far: a case that stops at its first
 * failing step keeps its log inside 6.1's 512 bytes of a case's log.
 */
static bool kt_failed(struct kunit *test)
{
	return READ_ONCE(test->status) == KUNIT_FAILURE;
}

/*
 * The tick counts a room wakeup (room_wakeups) only when it sends one: the
 * VM tests call a writer that slept out its wait with the count unmoved a
 * lost wakeup. Ring full, a writer of the critical class registered as
 * waiting: the tick sends nothing, counts nothing, and keeps the writer
 * registered. A consumer frees space: the tick counts one and wakes it,
 * once; with nobody registered any more the next tick counts nothing.
 */
static void wake_room_counted_when_sent(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	struct mpmcring_stats *st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	struct kt_writer w;
	char buf[64];
	struct kc c;
	int n = 0;

	KUNIT_ASSERT_NOT_NULL(test, st);
	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	while (!kt_produce(ring, 56, MPMCRING_PRIO_CRITICAL, 1, 0, n))
		n++;
	KUNIT_ASSERT_GT(test, n, 0);
	irq_work_sync(&ring->wake_work);
	atomic_set(&w.wakes, 0);
	init_waitqueue_func_entry(&w.entry, kt_writer_fn);
	add_wait_queue(&ring->wq_out, &w.entry);
	set_bit(MPMCRING_PRIO_CRITICAL, &ring->out_waiters);

	mpmcring_backstop(ring);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ_MSG(test, st->room_wakeups, 0ULL, "counted, ring full");
	KUNIT_EXPECT_EQ(test, atomic_read(&w.wakes), 0);
	KUNIT_EXPECT_TRUE_MSG(test, test_bit(MPMCRING_PRIO_CRITICAL, &ring->out_waiters),
			      "writer unregistered, not woken");
	if (kt_failed(test))
		goto out;

	while (n--) {
		KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), 56);
		if (kt_failed(test))
			goto out;	/* w is queued: no return from here */
	}
	mpmcring_reclaim(ring);
	mpmcring_backstop(ring);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->room_wakeups, 1ULL);
	KUNIT_EXPECT_EQ(test, atomic_read(&w.wakes), 1);
	KUNIT_EXPECT_EQ(test, READ_ONCE(ring->out_waiters), 0UL);
	if (kt_failed(test))
		goto out;

	/* Nobody registered: a tick with room to spare sends and counts nothing. */
	mpmcring_backstop(ring);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->room_wakeups, 1ULL);
	KUNIT_EXPECT_EQ(test, atomic_read(&w.wakes), 1);
out:
	remove_wait_queue(&ring->wq_out, &w.entry);
	kc_detach(&c);
	mpmcring_destroy(ring);
}

/*
 * room_at (ABI 1.5): a writer going to wait puts there the reclaim_pos at
 * which its record fits, unless an earlier target stands that reclaim has
 * not reached (several waiters: the earliest); a kick that frees nothing
 * changes nothing; once reclaim passed the target, the next writer's
 * replaces it, even a later one (a passed target would keep consumers from
 * asking for it: their claims all begin past it); a target reclaim
 * reached already is not put there (it would displace one still wanted).
 */
static void wake_room_at_tracks_the_earliest_writer(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	const u32 crit = MPMCRING_PRIO_CRITICAL;
	struct mpmcring_meta *m = ring->view.meta;
	u64 prod, wm = ring->layout.watermark[crit];
	char buf[64];
	struct kc c;
	int n = 0;

	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	while (!kt_produce(ring, 56, crit, 1, 0, n))
		n++;
	KUNIT_ASSERT_GT(test, n, 0);
	prod = READ_ONCE(m->prod_pos);
	KUNIT_EXPECT_EQ(test, READ_ONCE(m->room_at), 0ULL);

	mpmcring_want_room(ring, crit, 64);
	KUNIT_EXPECT_EQ(test, READ_ONCE(m->room_at), prod + wm + 64 - 4096);
	mpmcring_want_room(ring, crit, 128);	/* later: the earlier stands */
	KUNIT_EXPECT_EQ(test, READ_ONCE(m->room_at), prod + wm + 64 - 4096);
	mpmcring_want_room(ring, crit, 16);	/* earlier: put there */
	KUNIT_EXPECT_EQ(test, READ_ONCE(m->room_at), prod + wm + 16 - 4096);

	mpmcring_room_kick(ring);	/* nothing freed: nobody woken */
	KUNIT_EXPECT_EQ(test, READ_ONCE(m->room_at), prod + wm + 16 - 4096);
	KUNIT_EXPECT_TRUE(test, test_bit(crit, &ring->out_waiters));

	KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), 56);
	mpmcring_room_kick(ring);	/* room for the class: woken */
	KUNIT_EXPECT_EQ(test, READ_ONCE(ring->out_waiters), 0UL);
	KUNIT_EXPECT_LE(test, prod + wm + 16 - 4096, READ_ONCE(m->reclaim_pos));

	/* Reclaim passed the target: a later one replaces it. */
	mpmcring_want_room(ring, crit, 128);
	KUNIT_EXPECT_EQ(test, READ_ONCE(m->room_at), prod + wm + 128 - 4096);
	/* One reclaim reached already asks nothing: the unreached one stays. */
	mpmcring_want_room(ring, crit, 16);
	KUNIT_EXPECT_EQ(test, READ_ONCE(m->room_at), prod + wm + 128 - 4096);

	kc_detach(&c);
	mpmcring_destroy(ring);
}

/* The positions, read once: a failed expectation prints their values. */
static u64 kt_reclaimed(const struct mpmcring_meta *m)
{
	return READ_ONCE(m->reclaim_pos);
}

static u64 kt_produced(const struct mpmcring_meta *m)
{
	return READ_ONCE(m->prod_pos);
}

/*
 * ->poll on a file of @ring that asks about @events only, as epoll does.
 * The file is a critical-class writer: the ring below is filled with
 * critical records (watermark 0), so that not even the smallest record
 * fits until reclaim runs.
 */
static __poll_t kt_poll(struct file *f, struct mpmcring_file *mf,
			struct mpmcring *ring, bool writable, __poll_t events)
{
	/* No queueing function: poll_wait() queues nothing. */
	struct poll_table_struct pt = { ._qproc = NULL, ._key = events };

	memset(mf, 0, sizeof(*mf));
	mf->ring = ring;
	mf->prio = MPMCRING_PRIO_CRITICAL;
	mf->reader = true;
	mf->writable = writable;
	mf->read_slot = -1;
	f->private_data = mf;
	return mpmcring_poll(f, &pt);
}

/*
 * ->poll reclaims on a full ring only for a caller that asks about writing:
 * consumers' commits are plain stores, so a POLLOUT poller would otherwise
 * wait for the tick, and a level-triggered EPOLLIN poller looping on a
 * full ring would hold the reclaim bit that evicting producers need. The
 * test opens no file, so no housekeeping tick reclaims behind it.
 */
static void wake_poll_reclaims_for_pollout_only(struct kunit *test)
{
	struct mpmcring_file *mf = kunit_kzalloc(test, sizeof(*mf), GFP_KERNEL);
	struct file *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	struct mpmcring_params p = { .size = 4096 };
	const u32 crit = MPMCRING_PRIO_CRITICAL;
	struct mpmcring_meta *m;
	struct mpmcring *ring;
	char buf[64];
	u64 prod;
	struct kc c;
	int n = 0, i;

	KUNIT_ASSERT_NOT_NULL(test, mf);
	KUNIT_ASSERT_NOT_NULL(test, f);
	ring = kt_ring(test, &p);
	m = ring->view.meta;
	c.idx = -1;
	KUNIT_EXPECT_EQ(test, kc_attach(&c, ring), 0);
	if (kt_failed(test))
		goto out;
	while (!kt_produce(ring, 56, crit, 1, 0, n))
		n++;
	KUNIT_EXPECT_GT(test, n, 0);
	for (i = 0; i < n; i++)
		KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), 56);
	prod = kt_produced(m);
	/* Consumed, not reclaimed: no room for even the smallest record. */
	KUNIT_EXPECT_EQ(test, kt_reclaimed(m), 0ULL);
	KUNIT_EXPECT_FALSE(test, mpmcring_room(ring, crit, mpmcring_min_need(ring)));
	KUNIT_EXPECT_EQ(test, READ_ONCE(ring->nr_open), 0U);
	if (kt_failed(test))
		goto out;

	KUNIT_EXPECT_EQ(test, kt_poll(f, mf, ring, true, EPOLLIN | EPOLLRDNORM), 0U);
	KUNIT_EXPECT_EQ(test, kt_reclaimed(m), 0ULL);
	/* A read-only file never says POLLOUT, so it has no reason to reclaim. */
	KUNIT_EXPECT_EQ(test, kt_poll(f, mf, ring, false, EPOLLOUT), 0U);
	KUNIT_EXPECT_EQ(test, kt_reclaimed(m), 0ULL);

	KUNIT_EXPECT_EQ(test, kt_poll(f, mf, ring, true, EPOLLIN | EPOLLOUT),
			EPOLLOUT | EPOLLWRNORM);
	KUNIT_EXPECT_EQ(test, kt_reclaimed(m), prod);
	/* Room found by its own reclaim: no writer bit left behind. */
	KUNIT_EXPECT_EQ(test, READ_ONCE(ring->out_waiters), 0UL);
out:
	kc_detach(&c);
	mpmcring_destroy(ring);
}

/* Queues nothing: lets ->poll see a caller that would wait. */
static void kt_poll_queue_none(struct file *f, wait_queue_head_t *wq, poll_table *pt)
{
}

/*
 * Readers' wakeups carry no key until an exclusive waiter asking for
 * neither POLLIN nor POLLRDNORM is queued on the readers' queue (epoll
 * would hand it the one exclusive wakeup): ->poll notes that waiter, and
 * only one that is queued, on a file that reads.
 */
static void wake_exclusive_room_waiter_keys_wakeups(struct kunit *test)
{
	static const struct {
		__poll_t events;
		bool queued, reader, keyed;
	} cases[] = {
		{ EPOLLIN | EPOLLEXCLUSIVE, true, true, false },
		{ EPOLLRDNORM | EPOLLEXCLUSIVE, true, true, false },
		{ EPOLLOUT, true, true, false },
		{ EPOLLOUT | EPOLLEXCLUSIVE, false, true, false },
		{ EPOLLOUT | EPOLLEXCLUSIVE, true, false, false },
		{ EPOLLOUT | EPOLLEXCLUSIVE, true, true, true },
		{ EPOLLHUP | EPOLLEXCLUSIVE, true, true, true },
	};
	struct mpmcring_file *mf = kunit_kzalloc(test, sizeof(*mf), GFP_KERNEL);
	struct file *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, mf);
	KUNIT_ASSERT_NOT_NULL(test, f);
	ring = kt_ring(test, &p);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct poll_table_struct pt = { ._key = cases[i].events };

		if (cases[i].queued)
			pt._qproc = kt_poll_queue_none;
		/* Set for good once set: each case starts unset. */
		WRITE_ONCE(ring->keyed_wakeups, 0);
		memset(mf, 0, sizeof(*mf));
		mf->ring = ring;
		mf->reader = cases[i].reader;
		mf->writable = true;
		mf->read_slot = -1;
		f->private_data = mf;
		mpmcring_poll(f, &pt);
		KUNIT_EXPECT_EQ_MSG(test, READ_ONCE(ring->keyed_wakeups), (int)cases[i].keyed,
				    "case %u: events %#x", i, (unsigned int)cases[i].events);
	}
	mpmcring_destroy(ring);
}

/*
 * mpmcring_free_bytes() loads reclaim_pos before prod_pos, so reclaims and
 * reservations between the loads can make prod - reclaim exceed the data
 * size: free space is 0 then, not nearly 2^64 (a spurious POLLOUT).
 * The positions are set by hand to what such a look sees, then put back.
 */
static void wake_free_bytes_never_wraps(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	struct mpmcring_meta *m = ring->view.meta;
	const u64 size = ring->view.data_size;
	static const u64 bases[] = { 0, 0ULL - 64 };
	int i;

	/* No file open, so no tick walks the positions set below. */
	KUNIT_EXPECT_EQ(test, READ_ONCE(ring->nr_open), 0U);
	for (i = 0; i < ARRAY_SIZE(bases); i++) {
		WRITE_ONCE(m->reclaim_pos, bases[i]);
		WRITE_ONCE(m->prod_pos, bases[i] + size - 64);
		KUNIT_EXPECT_EQ(test, mpmcring_free_bytes(ring), 64ULL);
		WRITE_ONCE(m->prod_pos, bases[i] + size);
		KUNIT_EXPECT_EQ(test, mpmcring_free_bytes(ring), 0ULL);
		WRITE_ONCE(m->prod_pos, bases[i] + size + 64);
		KUNIT_EXPECT_EQ(test, mpmcring_free_bytes(ring), 0ULL);
		KUNIT_EXPECT_FALSE(test, mpmcring_room(ring, MPMCRING_PRIO_CRITICAL,
						       mpmcring_min_need(ring)));
	}
	WRITE_ONCE(m->prod_pos, 0);
	WRITE_ONCE(m->reclaim_pos, 0);
	mpmcring_destroy(ring);
}

static void wake_classes(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, mpmcring_wake_class(0), 0U);
	KUNIT_EXPECT_EQ(test, mpmcring_wake_class(1), 0U);
	KUNIT_EXPECT_EQ(test, mpmcring_wake_class(4096), 12U);
	KUNIT_EXPECT_EQ(test, mpmcring_wake_class(8191), 12U);
	KUNIT_EXPECT_EQ(test, mpmcring_wake_class(1ULL << 30), 30U);
}

/*
 * The edge rule, as kmod/wait.c computes it (fls64(), GENMASK), against
 * its statement, the one tests/model/wake.pml checks: a commit d0 past
 * the head with d1 reserved wakes class k when d0 < 2^k <= d1. Every
 * pair up to 2^7 + 2 for masks of one and two classes, and the far end of
 * the 64-bit range.
 */
static bool kt_due(u64 d0, u64 d1, u64 mask)
{
	unsigned int k;

	for (k = 0; k < 64; k++)
		if ((mask & BIT_ULL(k)) && d0 < BIT_ULL(k) && BIT_ULL(k) <= d1)
			return true;
	return false;
}

/* One pair: counted in *bad when the two differ, the first one shown. */
static void kt_due_check(struct kunit *test, u64 d0, u64 d1, u64 mask,
			 unsigned int *bad)
{
	bool due = mpmcring_wake_due(d0, d1, mask);

	if (due != kt_due(d0, d1, mask) && !(*bad)++)
		KUNIT_FAIL(test, "d0 %llu d1 %llu mask %#llx: %d", d0, d1,
			   mask, due);
}

static void wake_due_is_the_window(struct kunit *test)
{
	static const u64 masks[] = { 0, BIT_ULL(0), BIT_ULL(1), BIT_ULL(3),
				     BIT_ULL(7), BIT_ULL(0) | BIT_ULL(6),
				     BIT_ULL(2) | BIT_ULL(5), BIT_ULL(12),
				     BIT_ULL(63) | BIT_ULL(1), ~0ULL };
	static const u64 far[] = { 0, 1, BIT_ULL(62), BIT_ULL(63) - 1,
				   BIT_ULL(63), BIT_ULL(63) + 1, U64_MAX - 1,
				   U64_MAX };
	unsigned int i, a, b, bad = 0;
	u64 d0, d1;

	for (i = 0; i < ARRAY_SIZE(masks); i++) {
		for (d0 = 0; d0 < 130; d0++)
			for (d1 = 0; d1 < 130; d1++)
				kt_due_check(test, d0, d1, masks[i], &bad);
		for (a = 0; a < ARRAY_SIZE(far); a++)
			for (b = 0; b < ARRAY_SIZE(far); b++)
				kt_due_check(test, far[a], far[b], masks[i],
					     &bad);
	}
	KUNIT_EXPECT_EQ(test, bad, 0U);
}

static struct kunit_case wake_cases[] = {
	KUNIT_CASE(wake_watermark_behind_unfinished),
	KUNIT_CASE(wake_edge_triggered_every_cycle),
	KUNIT_CASE(wake_late_record_at_head),
	KUNIT_CASE(wake_no_storm_while_busy),
	KUNIT_CASE(wake_backstop_after_corrupt_head),
	KUNIT_CASE(wake_backstop_head_written_back),
	KUNIT_CASE(wake_unreachable_watermark_ready_when_refused),
	KUNIT_CASE(wake_refusal_after_a_tick_wakes),
	KUNIT_CASE(wake_nobody_asleep),
	KUNIT_CASE(wake_room_counted_when_sent),
	KUNIT_CASE(wake_room_at_tracks_the_earliest_writer),
	KUNIT_CASE(wake_poll_reclaims_for_pollout_only),
	KUNIT_CASE(wake_exclusive_room_waiter_keys_wakeups),
	KUNIT_CASE(wake_free_bytes_never_wraps),
	KUNIT_CASE(wake_classes),
	KUNIT_CASE(wake_due_is_the_window),
	{}
};

static struct kunit_suite wake_suite = {
	.name = "mpmcring_wake",
	.test_cases = wake_cases,
};
kunit_test_suite(wake_suite);
