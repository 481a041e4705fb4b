// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring_lease: a stopped consumer cannot stop collection. A claim that
 * stands still past the ring's claim timeout is revoked: reclaim stops
 * honouring it, the revocation is published where the consumer reads it,
 * and what it held is counted. Also what reclaim must never do: run with
 * preemption on, move anything when only statistics are asked for, or walk
 * without bound; and the smallest ring a page size allows.
 *
 * The rings here have no open files, so no housekeeping tick: the cases
 * call reclaim themselves and time is theirs to control.
 */
#include <kunit/test.h>
#include <linux/delay.h>

#include "util.h"

/* Fills the ring with 56-byte records until a reservation fails. */
static int kt_fill(struct mpmcring *ring, u64 seq)
{
	int n = 0;

	while (!kt_produce(ring, 56, MPMCRING_PRIO_CRITICAL, 1, 0, seq + n))
		n++;
	return n;
}

/*
 * Fills the ring, has c hold its first n records and other take all the
 * rest: reclaim frees nothing until c lets go. Returns c's claim start.
 */
static u64 kt_hold_rest_taken(struct kunit *test, struct mpmcring *ring,
			      struct kc *c, struct kc *other, u32 n)
{
	struct mpr_claim cl;
	char buf[64];

	KUNIT_ASSERT_EQ(test, kt_fill(ring, 0), 64);
	KUNIT_ASSERT_EQ(test, kc_claim(c, n, &cl), (int)n);
	while (kc_read(other, buf, sizeof(buf)) == 56)
		;
	return cl.start;
}

static void lease_stalled_claim_revoked(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096, .claim_timeout_ms = 200 };
	struct mpmcring *ring = kt_ring(test, &p);
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	struct mpmcring_stats *st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	struct mpr_claim cl;
	struct kc stalled, other;
	char buf[64];
	int n;

	KUNIT_ASSERT_NOT_NULL(test, st);
	KUNIT_EXPECT_TRUE(test, mpmcring_layout(ring)->features & MPMCRING_FEAT_LEASE);
	KUNIT_ASSERT_EQ(test, kc_attach(&stalled, ring), 0);
	KUNIT_ASSERT_EQ(test, kc_attach(&other, ring), 0);
	KUNIT_ASSERT_EQ(test, kt_fill(ring, 0), 64);
	/* The stalled consumer holds 8 records; the other drains the rest. */
	KUNIT_ASSERT_EQ(test, kc_claim(&stalled, 8, &cl), 8);
	WRITE_ONCE(stalled.slot->held_records, 8);
	while (kc_read(&other, buf, sizeof(buf)) == 56)
		;
	/* The held claim pins reclaim: nothing more fits. */
	mpmcring_reclaim(ring);
	KUNIT_EXPECT_EQ(test, kt_produce(ring, 56, 2, 1, 0, 100), -ENOSPC);
	KUNIT_EXPECT_FALSE(test, mpr_claim_revoked(stalled.v, &stalled.slot->start, stalled.start));

	msleep(300);
	mpmcring_reclaim(ring);
	KUNIT_EXPECT_TRUE(test, mpr_claim_revoked(stalled.v, &stalled.slot->start, stalled.start));
	KUNIT_EXPECT_EQ(test, READ_ONCE(v->slot_info[stalled.idx].revoked), cl.start);
	KUNIT_EXPECT_EQ(test, READ_ONCE(v->slot_info[stalled.idx].revocations), 1ULL);
	/* Producers got the whole ring back. */
	n = kt_fill(ring, 1000);
	KUNIT_EXPECT_EQ(test, n, 64);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->revoked_claims, 1ULL);
	KUNIT_EXPECT_EQ(test, st->revoked_records, 8ULL);

	/* The stalled consumer comes back: its claim is gone, it can go on. */
	KUNIT_EXPECT_TRUE(test, kc_commit(&stalled));
	KUNIT_EXPECT_EQ(test, kc_read(&stalled, buf, sizeof(buf)), 56);
	KUNIT_EXPECT_EQ(test, ((struct mpr_testrec *)buf)->seq, 1000ULL);
	kc_detach(&stalled);
	kc_detach(&other);
	/* Detached after revocation: not counted again as abandoned. */
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->abandoned_claims, 0ULL);
	mpmcring_destroy(ring);
}

/*
 * n low records (the low class holds 32 at most, half the ring); stalled
 * claims the first 8 and other takes the rest, then stalled stands past
 * its timeout with nothing refused: kept, since no more than half the
 * ring lies behind it.
 */
static void kt_low_claim_stalled(struct kunit *test, struct mpmcring *ring,
				 struct kc *stalled, struct kc *other, int n)
{
	struct mpr_claim cl;
	char buf[64];
	int i;

	KUNIT_ASSERT_EQ(test, mpmcring_layout(ring)->watermark[MPMCRING_PRIO_LOW], 2048ULL);
	KUNIT_ASSERT_EQ(test, kc_attach(stalled, ring), 0);
	KUNIT_ASSERT_EQ(test, kc_attach(other, ring), 0);
	for (i = 0; i < n; i++)
		KUNIT_ASSERT_EQ(test, kt_produce(ring, 56, MPMCRING_PRIO_LOW, 1, 0, i), 0);
	KUNIT_ASSERT_EQ(test, kc_claim(stalled, 8, &cl), 8);
	WRITE_ONCE(stalled->slot->held_records, 8);
	while (kc_read(other, buf, sizeof(buf)) == 56)
		;
	mpmcring_reclaim(ring);		/* the lease begins */
	msleep(300);
	mpmcring_reclaim(ring);
	/* Not an assert: the ring must still be destroyed (its name is reused). */
	KUNIT_EXPECT_FALSE_MSG(test, mpr_claim_revoked(stalled->v, &stalled->slot->start,
						       stalled->start),
			       "revoked with %d of 64 records behind it, nothing refused", n);
}

/*
 * Producers of the low class alone: their records stop at its limit (half
 * the ring by default), so a claim never has more than that behind it.
 * It used to take more than half the ring to count as holding producers
 * back: a stalled claim on a ring fed by low records was never revoked,
 * and every low record was refused for good. A refusal for room while
 * reclaim stands at the claim counts now; without one, a claim with half
 * the ring or less behind it is kept however long it stands.
 */
static void lease_stalled_claim_revoked_for_low_producers(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096, .claim_timeout_ms = 200 };
	struct mpmcring *ring = kt_ring(test, &p);
	struct mpmcring_stats *st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	const u32 low = MPMCRING_PRIO_LOW;
	struct kc stalled, other;
	int n = 24;

	KUNIT_ASSERT_NOT_NULL(test, st);
	/* 24 of the low class's 32 records: 3/8 of the ring behind the claim. */
	kt_low_claim_stalled(test, ring, &stalled, &other, n);
	/* The class's limit reached: refused while reclaim stands at the claim. */
	while (!kt_produce(ring, 56, low, 1, 0, n))
		n++;
	KUNIT_ASSERT_EQ(test, n, 32);
	mpmcring_reclaim(ring);
	KUNIT_EXPECT_TRUE_MSG(test, mpr_claim_revoked(stalled.v, &stalled.slot->start,
						      stalled.start),
			      "a stalled claim held the low class's whole limit");
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->revoked_claims, 1ULL);
	KUNIT_EXPECT_EQ(test, st->revoked_records, 8ULL);
	KUNIT_EXPECT_EQ(test, kt_produce(ring, 56, low, 1, 0, 100), 0);
	KUNIT_EXPECT_TRUE(test, kc_commit(&stalled));
	kc_detach(&stalled);
	kc_detach(&other);
	mpmcring_destroy(ring);
}

/*
 * A writer that waits for room by polling makes no reservation to be
 * refused: its wait is the pressure that lets a stalled claim in its way
 * go (mpmcring_refused_writer_waits()).
 */
static void lease_stalled_claim_revoked_for_a_waiting_writer(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096, .claim_timeout_ms = 200 };
	struct mpmcring *ring = kt_ring(test, &p);
	struct kc stalled, other;

	kt_low_claim_stalled(test, ring, &stalled, &other, 24);
	/* 1 KiB more does not fit the low class's 2 KiB: the writer waits. */
	KUNIT_EXPECT_FALSE(test, mpmcring_want_room_or_room(ring, MPMCRING_PRIO_LOW, 1024, false));
	mpmcring_reclaim(ring);
	KUNIT_EXPECT_TRUE_MSG(test, mpr_claim_revoked(stalled.v, &stalled.slot->start,
						      stalled.start),
			      "a writer waited behind a stalled claim");
	KUNIT_EXPECT_TRUE(test, kc_commit(&stalled));
	kc_detach(&stalled);
	kc_detach(&other);
	mpmcring_destroy(ring);
}

/*
 * The tick, while a class's waiting bit is set: the leases' pressure only
 * with a writer asleep on the writers' queue. The bit outlives a writer
 * that gave up (EAGAIN, a signal); pressure recorded for it would follow
 * reclaim forward and take every timed-out claim. The low class is full
 * to its limit here without a refusal, so nothing else presses.
 */
static void lease_tick_pressure_only_with_a_sleeping_writer(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096, .claim_timeout_ms = 200 };
	struct mpmcring *ring = kt_ring(test, &p);
	struct kc stalled, other;
	DECLARE_WAITQUEUE(w, current);

	kt_low_claim_stalled(test, ring, &stalled, &other, 32);
	/* A writer asked for room and went away: its bit stays. */
	mpmcring_want_room(ring, MPMCRING_PRIO_LOW, 64);
	KUNIT_ASSERT_TRUE(test, READ_ONCE(ring->out_waiters) & BIT(MPMCRING_PRIO_LOW));
	mpmcring_backstop(ring);
	KUNIT_ASSERT_TRUE(test, READ_ONCE(ring->out_waiters) & BIT(MPMCRING_PRIO_LOW));
	mpmcring_reclaim(ring);
	KUNIT_EXPECT_FALSE_MSG(test, mpr_claim_revoked(stalled.v, &stalled.slot->start,
						       stalled.start),
			       "revoked for a waiting bit nobody sleeps behind");
	/* Now one sleeps there. */
	add_wait_queue(&ring->wq_out, &w);
	mpmcring_backstop(ring);
	remove_wait_queue(&ring->wq_out, &w);
	mpmcring_reclaim(ring);
	KUNIT_EXPECT_TRUE_MSG(test, mpr_claim_revoked(stalled.v, &stalled.slot->start,
						      stalled.start),
			      "a writer slept behind a stalled claim, and the tick let it be");
	KUNIT_EXPECT_TRUE(test, kc_commit(&stalled));
	kc_detach(&stalled);
	kc_detach(&other);
	mpmcring_destroy(ring);
}

/*
 * A start that moves about behind the head is no release: it must not
 * restart the lease (a co-tenant toggling its start would hold the ring
 * forever). Nor may a user-written count inflate what is counted.
 */
static void lease_toggling_start_is_no_release(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096, .claim_timeout_ms = 100 };
	struct mpmcring *ring = kt_ring(test, &p);
	struct mpmcring_stats *st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	unsigned long end;
	struct kc c, other;
	u64 s0;
	int k = 0;

	KUNIT_ASSERT_NOT_NULL(test, st);
	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	KUNIT_ASSERT_EQ(test, kc_attach(&other, ring), 0);
	s0 = kt_hold_rest_taken(test, ring, &c, &other, 4);
	/* Way past what the span can hold: the count is capped by it. */
	WRITE_ONCE(c.slot->held_records, 1ULL << 40);
	end = jiffies + msecs_to_jiffies(600);
	while (time_before(jiffies, end) && !(READ_ONCE(c.slot->start) &
					       MPMCRING_SLOT_REVOKED)) {
		WRITE_ONCE(c.slot->start, s0 + 8 * (k++ & 1));
		mpmcring_reclaim(ring);
		usleep_range(2000, 3000);
	}
	KUNIT_EXPECT_TRUE_MSG(test, READ_ONCE(c.slot->start) & MPMCRING_SLOT_REVOKED,
			      "a start moving behind the head kept its lease");
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->revoked_claims, 1ULL);
	/* The span from the start to the head holds 512 granules at most. */
	KUNIT_EXPECT_LE(test, st->revoked_records, 4096ULL / 8);
	KUNIT_EXPECT_TRUE(test, kc_commit(&c));
	kc_detach(&c);
	kc_detach(&other);
	mpmcring_destroy(ring);
}

/* The two slots of lease_slots_taking_turns(): one holds, one rests. */
static void kt_take_turns(struct kc *a, struct kc *b, int k, u64 s0, u64 head)
{
	struct kc *hold = (k & 1) ? a : b, *rest = (k & 1) ? b : a;

	/* user-writable: the co-tenant's stores. */
	WRITE_ONCE(hold->slot->start, s0);
	WRITE_ONCE(rest->slot->start, head);
}

/*
 * Two slots taking turns holding the oldest claim: each moves its start to
 * the head (a new claim there, which restarts its own lease) and back
 * long before its lease would end. Slot leases alone never end that; the
 * floor lease does, one timeout after reclaim saw the head past the claim.
 * With insane_head, the co-tenant also writes a head reclaim cannot use
 * (past prod_pos) before every reclaim, so that reclaim never sees a sane
 * head again: the floor lease goes by prod_pos then, where the repair puts
 * such a head.
 */
static void kt_slots_taking_turns(struct kunit *test, bool insane_head)
{
	struct mpmcring_params p = { .size = 4096, .claim_timeout_ms = 400 };
	struct mpmcring *ring = kt_ring(test, &p);
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	struct mpmcring_stats *st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	unsigned long t0, end;
	struct kc a, b, other;
	u64 s0, head, rp;
	bool revoked = false;
	int k = 0;

	KUNIT_ASSERT_NOT_NULL(test, st);
	KUNIT_ASSERT_EQ(test, kc_attach(&a, ring), 0);
	KUNIT_ASSERT_EQ(test, kc_attach(&b, ring), 0);
	KUNIT_ASSERT_EQ(test, kc_attach(&other, ring), 0);
	s0 = kt_hold_rest_taken(test, ring, &a, &other, 4);
	head = READ_ONCE(v->cons->head);
	WRITE_ONCE(b.slot->start, head);
	t0 = jiffies;
	end = t0 + msecs_to_jiffies(3000);
	/* Turns every 10 ms: no slot holds s0 for a fortieth of its lease. */
	while (time_before(jiffies, end) && !revoked) {
		kt_take_turns(&a, &b, k++, s0, head);
		if (insane_head)
			WRITE_ONCE(v->cons->head, READ_ONCE(v->meta->prod_pos) + 8);
		mpmcring_reclaim(ring);
		revoked = (READ_ONCE(a.slot->start) | READ_ONCE(b.slot->start)) &
			  MPMCRING_SLOT_REVOKED;
		usleep_range(10000, 11000);
	}
	KUNIT_EXPECT_TRUE_MSG(test, revoked,
			      "two slots taking turns held reclaim at %llu for %u ms",
			      s0, jiffies_to_msecs(jiffies - t0));
	mpmcring_reclaim(ring);
	rp = READ_ONCE(v->meta->reclaim_pos);
	KUNIT_EXPECT_NE(test, rp, s0);
	KUNIT_EXPECT_GT(test, kt_fill(ring, 100), 0);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_GE(test, st->revoked_claims, 1ULL);
	kc_detach(&a);
	kc_detach(&b);
	kc_detach(&other);
	mpmcring_destroy(ring);
}

static void lease_slots_taking_turns_revoked(struct kunit *test)
{
	kt_slots_taking_turns(test, false);
}

static void lease_slots_taking_turns_insane_head_revoked(struct kunit *test)
{
	kt_slots_taking_turns(test, true);
}

/*
 * No slot at all: once the floor lease began past it, a head written back
 * before every reclaim to records the consumers took. Once the floor lease
 * ran out, each reclaim moves the head to the mark before it goes by it,
 * however often the co-tenant writes it back.
 */
static void lease_head_written_back_every_reclaim(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096, .claim_timeout_ms = 200 };
	struct mpmcring *ring = kt_ring(test, &p);
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	unsigned long t0, end;
	struct kc a, other;
	u64 s0, rp, top;

	KUNIT_ASSERT_EQ(test, kc_attach(&a, ring), 0);
	KUNIT_ASSERT_EQ(test, kc_attach(&other, ring), 0);
	s0 = kt_hold_rest_taken(test, ring, &a, &other, 4);
	top = READ_ONCE(v->cons->head);
	/* reclaim sees the head past everything; a's claim holds it at s0. */
	mpmcring_reclaim(ring);
	kc_commit(&a);
	t0 = jiffies;
	end = t0 + msecs_to_jiffies(2000);
	do {
		/* user-writable: the co-tenant's store. */
		WRITE_ONCE(v->cons->head, s0);
		mpmcring_reclaim(ring);
		rp = READ_ONCE(v->meta->reclaim_pos);
		if (rp == s0)
			usleep_range(5000, 6000);
	} while (time_before(jiffies, end) && rp == s0);
	KUNIT_EXPECT_NE_MSG(test, rp, s0,
			    "a head written back before every reclaim held it for %u ms",
			    jiffies_to_msecs(jiffies - t0));
	/* To the head reclaim had seen, and the head moved there. */
	KUNIT_EXPECT_EQ(test, rp, top);
	rp = READ_ONCE(v->cons->head);
	KUNIT_EXPECT_EQ(test, rp, top);
	KUNIT_EXPECT_GT(test, kt_fill(ring, 100), 0);
	kc_detach(&a);
	kc_detach(&other);
	mpmcring_destroy(ring);
}

/*
 * One slot restarting its own lease through the head: it writes the head
 * back to its claim and moves its start to the real head (a new claim
 * there), then puts both back (a start not behind the head reclaim saw
 * last: a new claim again). Each reclaim finds either the head or the slot
 * at the claim, and the slot's lease never runs out; the floor lease does,
 * one timeout after reclaim saw the real head.
 */
static void lease_restarted_through_the_head_revoked(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096, .claim_timeout_ms = 100 };
	struct mpmcring *ring = kt_ring(test, &p);
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	unsigned long t0, end;
	struct kc a, other;
	u64 s0, head, rp;
	int k = 0;

	KUNIT_ASSERT_EQ(test, kc_attach(&a, ring), 0);
	KUNIT_ASSERT_EQ(test, kc_attach(&other, ring), 0);
	s0 = kt_hold_rest_taken(test, ring, &a, &other, 4);
	head = READ_ONCE(v->cons->head);
	mpmcring_reclaim(ring);
	t0 = jiffies;
	end = t0 + msecs_to_jiffies(1000);
	while (time_before(jiffies, end) &&
	       READ_ONCE(v->meta->reclaim_pos) == s0 &&
	       !(READ_ONCE(a.slot->start) & MPMCRING_SLOT_REVOKED)) {
		/* user-writable: the co-tenant's stores. */
		if (k++ & 1) {
			WRITE_ONCE(a.slot->start, s0);
			WRITE_ONCE(v->cons->head, head);
		} else {
			WRITE_ONCE(v->cons->head, s0);
			WRITE_ONCE(a.slot->start, head);
		}
		mpmcring_reclaim(ring);
		usleep_range(5000, 6000);
	}
	mpmcring_reclaim(ring);
	rp = READ_ONCE(v->meta->reclaim_pos);
	KUNIT_EXPECT_NE_MSG(test, rp, s0,
			    "one slot toggling through the head held reclaim for %u ms",
			    jiffies_to_msecs(jiffies - t0));
	KUNIT_EXPECT_GT(test, kt_fill(ring, 100), 0);
	kc_detach(&a);
	kc_detach(&other);
	mpmcring_destroy(ring);
}

/*
 * A floor lease that runs out revokes the claims made before it began, not
 * one made since, however much of the ring lies behind that one: a
 * consumer that claimed half a timeout ago keeps its claim while the one
 * that held reclaim back is revoked.
 */
static void lease_floor_spares_later_claims(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096, .claim_timeout_ms = 1000 };
	struct mpmcring *ring = kt_ring(test, &p);
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	unsigned long t0, tb, end;
	struct mpr_claim cl;
	u64 s0, s1, rp;
	struct kc a, b;
	bool a_gone = false;

	KUNIT_ASSERT_EQ(test, kc_attach(&a, ring), 0);
	KUNIT_ASSERT_EQ(test, kc_attach(&b, ring), 0);
	KUNIT_ASSERT_EQ(test, kt_fill(ring, 0), 64);
	KUNIT_ASSERT_EQ(test, kc_claim(&a, 4, &cl), 4);
	s0 = cl.start;
	/* The floor lease begins here, its mark the head past a's claim. */
	mpmcring_reclaim(ring);
	t0 = jiffies;
	/* b's slot lease ends about 500 ms after the floor lease runs out. */
	msleep(500);
	KUNIT_ASSERT_EQ(test, kc_claim(&b, 4, &cl), 4);
	s1 = cl.start;
	tb = jiffies;
	end = t0 + msecs_to_jiffies(3000);
	while (time_before(jiffies, end) && !a_gone) {
		mpmcring_reclaim(ring);
		a_gone = READ_ONCE(a.slot->start) & MPMCRING_SLOT_REVOKED;
		if (!a_gone)
			usleep_range(5000, 6000);
	}
	KUNIT_ASSERT_TRUE_MSG(test, a_gone, "the claim at %llu stood %u ms", s0,
			      jiffies_to_msecs(jiffies - t0));
	KUNIT_EXPECT_FALSE_MSG(test, READ_ONCE(b.slot->start) & MPMCRING_SLOT_REVOKED,
			       "a claim %u ms old, made after the floor lease began, was revoked",
			       jiffies_to_msecs(jiffies - tb));
	rp = READ_ONCE(v->meta->reclaim_pos);
	KUNIT_EXPECT_EQ(test, rp, s1);
	KUNIT_EXPECT_FALSE(test, kc_commit(&b));
	kc_detach(&a);
	kc_detach(&b);
	mpmcring_destroy(ring);
}

/*
 * A claim standing still in a ring that has room holds nobody back: it is
 * not revoked, however long it stands.
 */
static void lease_no_revocation_without_pressure(struct kunit *test)
{
	struct mpmcring_params p = { .size = 65536, .claim_timeout_ms = 50 };
	struct mpmcring *ring = kt_ring(test, &p);
	struct mpr_claim cl;
	struct kc c;

	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	KUNIT_ASSERT_EQ(test, kt_produce(ring, 56, 2, 1, 0, 0), 0);
	KUNIT_ASSERT_EQ(test, kc_claim(&c, 1, &cl), 1);
	mpmcring_reclaim(ring);
	msleep(200);
	mpmcring_reclaim(ring);
	KUNIT_EXPECT_FALSE(test, mpr_claim_revoked(c.v, &c.slot->start, c.start));
	KUNIT_EXPECT_FALSE(test, kc_commit(&c));
	kc_detach(&c);
	mpmcring_destroy(ring);
}

/*
 * A claim start past the head holds nothing: it is neither revoked nor, at
 * detach, counted as abandoned, whatever count the slot claims.
 */
static void lease_start_past_head_counts_nothing(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096, .claim_timeout_ms = 50 };
	struct mpmcring *ring = kt_ring(test, &p);
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	struct mpmcring_stats *st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	struct kc c;

	KUNIT_ASSERT_NOT_NULL(test, st);
	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	KUNIT_ASSERT_EQ(test, kt_fill(ring, 0), 64);
	/* A co-tenant: a start past the (unmoved) head, a huge count. */
	WRITE_ONCE(c.slot->start, READ_ONCE(v->cons->head) + 64);
	WRITE_ONCE(c.slot->held_records, 1ULL << 40);
	mpmcring_reclaim(ring);
	msleep(100);
	mpmcring_reclaim(ring);
	KUNIT_EXPECT_FALSE(test, READ_ONCE(c.slot->start) & MPMCRING_SLOT_REVOKED);
	kc_detach(&c);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->revoked_claims, 0ULL);
	KUNIT_EXPECT_EQ(test, st->abandoned_claims, 0ULL);
	KUNIT_EXPECT_EQ(test, st->abandoned_records, 0ULL);
	mpmcring_destroy(ring);
}

/* Claims that keep moving are never revoked, however long it runs. */
static void lease_moving_claims_kept(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096, .claim_timeout_ms = 50 };
	struct mpmcring *ring = kt_ring(test, &p);
	struct mpmcring_stats *st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	unsigned long end = jiffies + msecs_to_jiffies(400);
	char buf[64];
	struct kc c;
	u64 seq = 0;

	KUNIT_ASSERT_NOT_NULL(test, st);
	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	while (time_before(jiffies, end)) {
		KUNIT_ASSERT_EQ(test, kt_produce(ring, 56, 2, 1, 0, seq++), 0);
		KUNIT_ASSERT_EQ(test, kc_read(&c, buf, sizeof(buf)), 56);
		mpmcring_reclaim(ring);
		usleep_range(1000, 2000);
	}
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->revoked_claims, 0ULL);
	kc_detach(&c);
	mpmcring_destroy(ring);
}

/* MPMCRING_CREATE_NO_LEASE: a held claim is honoured forever. */
static void lease_off_holds_forever(struct kunit *test)
{
	struct mpmcring_params p = {
		.size = 4096, .claim_timeout_ms = 20,
		.flags = MPMCRING_CREATE_NO_LEASE,
	};
	struct mpmcring *ring = kt_ring(test, &p);
	struct mpr_claim cl;
	struct kc c;

	KUNIT_EXPECT_FALSE(test, mpmcring_layout(ring)->features & MPMCRING_FEAT_LEASE);
	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	KUNIT_ASSERT_EQ(test, kt_fill(ring, 0), 64);
	KUNIT_ASSERT_EQ(test, kc_claim(&c, 64, &cl), 64);
	mpmcring_reclaim(ring);
	msleep(100);
	mpmcring_reclaim(ring);
	KUNIT_EXPECT_EQ(test, kt_produce(ring, 56, 2, 1, 0, 100), -ENOSPC);
	kc_commit(&c);
	mpmcring_reclaim(ring);
	KUNIT_EXPECT_EQ(test, kt_produce(ring, 56, 2, 1, 0, 101), 0);
	kc_detach(&c);
	mpmcring_destroy(ring);
}

/*
 * Statistics observe: with a head inside a record they neither repair it
 * nor move reclaim_pos (files opened read-only can ask for them). A repair
 * does both.
 */
static void lease_stats_change_nothing(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	struct mpmcring_stats *st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	u64 head, reclaim;
	char buf[64];
	struct kc c;

	KUNIT_ASSERT_NOT_NULL(test, st);
	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	KUNIT_ASSERT_EQ(test, kt_produce(ring, 56, 2, 1, 0, 0), 0);
	KUNIT_ASSERT_EQ(test, kc_read(&c, buf, sizeof(buf)), 56);
	KUNIT_ASSERT_EQ(test, kt_produce(ring, 56, 2, 1, 0, 1), 0);
	head = READ_ONCE(v->cons->head);
	reclaim = READ_ONCE(v->meta->reclaim_pos);
	WRITE_ONCE(v->cons->head, head + 16);	/* inside record 1 */
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, READ_ONCE(v->cons->head), head + 16);
	KUNIT_EXPECT_EQ(test, READ_ONCE(v->meta->reclaim_pos), reclaim);
	KUNIT_EXPECT_EQ(test, st->head_repairs, 0ULL);
	KUNIT_EXPECT_TRUE(test, mpmcring_repair(ring));
	/* Moved to the end of the record it was inside, the next boundary. */
	KUNIT_EXPECT_EQ(test, READ_ONCE(v->cons->head), head + 64);
	KUNIT_EXPECT_EQ(test, READ_ONCE(v->meta->reclaim_pos), head);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->head_repairs, 1ULL);
	kc_detach(&c);
	mpmcring_destroy(ring);
}

/*
 * REPAIR is throttled as producers' reclaims are: asked for the head the
 * last reclaim saw, less than MPMCRING_RECLAIM_GAP_NS after it, it takes
 * no reclaim bit and repairs nothing (a caller looping on the ioctl would
 * keep the bit from producers that evict); past the gap it repairs. The
 * last reclaim's time is set here; a round whose call ended past the gap
 * (the host took the vCPU: interrupts off do not stop that) decides
 * nothing, and at most 50 are tried.
 */
static void lease_repair_throttled(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	unsigned long flags;
	u64 head, bad, t0, t1, shortest = U64_MAX;
	bool repaired, decided = false;
	char buf[64];
	struct kc c;
	int i;

	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	KUNIT_ASSERT_EQ(test, kt_produce(ring, 56, 2, 1, 0, 0), 0);
	KUNIT_ASSERT_EQ(test, kc_read(&c, buf, sizeof(buf)), 56);
	KUNIT_ASSERT_EQ(test, kt_produce(ring, 56, 2, 1, 0, 1), 0);
	head = READ_ONCE(v->cons->head);
	bad = head + 16;	/* inside record 1 */
	for (i = 0; i < 50 && !decided; i++) {
		WRITE_ONCE(v->cons->head, bad);
		local_irq_save(flags);
		WRITE_ONCE(ring->reclaim_head, bad);
		WRITE_ONCE(ring->reclaim_more, false);
		t0 = ktime_get_mono_fast_ns();
		WRITE_ONCE(ring->reclaim_ns, t0);
		repaired = mpmcring_repair(ring);
		t1 = ktime_get_mono_fast_ns();
		local_irq_restore(flags);
		shortest = min(shortest, t1 - t0);
		if (t1 - t0 >= MPMCRING_RECLAIM_GAP_NS)
			continue;
		decided = true;
		KUNIT_EXPECT_FALSE(test, repaired);
		KUNIT_EXPECT_EQ(test, READ_ONCE(v->cons->head), bad);
	}
	KUNIT_EXPECT_TRUE_MSG(test, decided,
			      "no REPAIR of %d ended within %llu ns (the shortest: %llu ns)", i,
			      (unsigned long long)MPMCRING_RECLAIM_GAP_NS,
			      (unsigned long long)shortest);
	kunit_info(test, "%d round(s); the shortest REPAIR %llu ns\n", i,
		   (unsigned long long)shortest);
	WRITE_ONCE(v->cons->head, bad);
	WRITE_ONCE(ring->reclaim_ns,
		   ktime_get_mono_fast_ns() - MPMCRING_RECLAIM_GAP_NS);
	KUNIT_EXPECT_TRUE(test, mpmcring_repair(ring));
	KUNIT_EXPECT_EQ(test, READ_ONCE(v->cons->head), head + 64);
	kc_detach(&c);
	mpmcring_destroy(ring);
}

/* The walk for in_ring_records stops at MPMCRING_STATS_WALK and says so. */
static void lease_stats_walk_bounded(struct kunit *test)
{
	/* 16 bytes a record (8 of header, 1 of payload, padding): room for n. */
	struct mpmcring_params p = { .size = 2 << 20, .granule = 8 };
	struct mpmcring *ring = kt_ring(test, &p);
	struct mpmcring_stats *st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	struct mpmcring_rsv rsv;
	u32 i, n = MPMCRING_STATS_WALK + 100;

	KUNIT_ASSERT_NOT_NULL(test, st);
	for (i = 0; i < n; i++) {
		KUNIT_ASSERT_EQ(test, mpmcring_reserve(ring, 1, MPMCRING_F_PRIO(2), &rsv), 0);
		mpmcring_commit(&rsv);
	}
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->produced_records, (u64)n);
	KUNIT_EXPECT_EQ(test, st->in_ring_records, (u64)MPMCRING_STATS_WALK);
	KUNIT_EXPECT_TRUE(test, st->flags & MPMCRING_STATS_IN_RING_PARTIAL);
	mpmcring_destroy(ring);
}

/*
 * Every way into reclaim outside a producer runs it with preemption off:
 * a task preempted holding the reclaim bit would make every producer that
 * needs a reclaim fail. The bit's trylock asserts it (lockdep).
 */
static void lease_reclaim_never_preemptible(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	struct mpmcring_stats *st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, st);
	KUNIT_EXPECT_TRUE(test, preemptible() || !IS_ENABLED(CONFIG_PREEMPT_COUNT));
	kt_fill(ring, 0);
	mpmcring_reclaim(ring);
	/* Due, not throttled after the reclaim just now: its trylock runs. */
	WRITE_ONCE(ring->reclaim_more, true);
	mpmcring_repair(ring);
	mpmcring_get_stats(ring, st);
	mpmcring_backstop(ring);
	KUNIT_EXPECT_EQ(test, READ_ONCE(ring->reclaim_lock) & 1, 0UL);
	mpmcring_destroy(ring);
}

/*
 * Nested reservations in one context (an exception that reserves between
 * a reservation and its commit): the outer record stays protected, because
 * reclaim walks stamps and the outer one has none yet.
 */
static void lease_nested_same_level(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	struct mpmcring_rsv outer, inner;
	char buf[64];
	struct kc c;
	int n = 0;

	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	KUNIT_ASSERT_EQ(test, mpmcring_reserve(ring, 56, MPMCRING_F_PRIO(2), &outer), 0);
	KUNIT_ASSERT_EQ(test, mpmcring_reserve(ring, 56, MPMCRING_F_PRIO(2), &inner), 0);
	mpr_testrec_fill(inner.data, 56, 1, 0, 2, 1);
	mpmcring_commit(&inner);
	mpr_testrec_fill(outer.data, 56, 1, 0, 2, 0);
	/* Consumers and reclaim run; producers fill what they can. */
	kc_read(&c, buf, sizeof(buf));
	mpmcring_reclaim(ring);
	while (!kt_produce(ring, 56, 2, 2, 0, n))
		n++;
	KUNIT_EXPECT_EQ(test, READ_ONCE(v->meta->reclaim_pos), outer.pos);
	KUNIT_EXPECT_EQ(test, mpr_testrec_check(outer.data, 56), 0);
	mpmcring_commit(&outer);
	KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), 56);
	KUNIT_EXPECT_EQ(test, ((struct mpr_testrec *)buf)->seq, 0ULL);
	kc_detach(&c);
	mpmcring_destroy(ring);
}

/* On 16K and 64K pages the data area is at least one page. */
static void lease_min_size_follows_pages(struct kunit *test)
{
	struct mpmcring_params p = { .name = "kunit-small", .size = PAGE_SIZE / 2 };

	KUNIT_EXPECT_EQ(test, mpmcring_min_size(4096), 4096ULL);
	KUNIT_EXPECT_EQ(test, mpmcring_min_size(16384), 16384ULL);
	KUNIT_EXPECT_EQ(test, mpmcring_min_size(65536), 65536ULL);
	KUNIT_EXPECT_EQ(test, mpmcring_min_size(1024), 4096ULL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(mpmcring_create(&p)), -EINVAL);
}

/*
 * read(2) keeps its claim in kernel memory, but the task holding it can be
 * preempted or throttled for any time: its claim is leased like a mapped
 * consumer's, and the read learns of the revocation at its commit.
 */
static void lease_read_claim_revoked(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096, .claim_timeout_ms = 200 };
	struct mpmcring *ring = kt_ring(test, &p);
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	struct mpmcring_stats *st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	struct mpr_claim cl;
	struct kc other;
	char buf[64];
	int i;

	KUNIT_ASSERT_NOT_NULL(test, st);
	i = mpmcring_slot_attach(ring, true);
	KUNIT_ASSERT_GE(test, i, 0);
	KUNIT_ASSERT_EQ(test, kc_attach(&other, ring), 0);
	KUNIT_ASSERT_EQ(test, kt_fill(ring, 0), 64);
	/* read(2)'s claim of one record; its task is put aside here. */
	KUNIT_ASSERT_EQ(test, mpr_claim(v, &ring->read_claims[i], false, 1,
					U64_MAX, true, &cl), 1);
	while (kc_read(&other, buf, sizeof(buf)) == 56)
		;
	mpmcring_reclaim(ring);
	KUNIT_EXPECT_EQ(test, kt_produce(ring, 56, 2, 1, 0, 100), -ENOSPC);
	msleep(300);
	mpmcring_reclaim(ring);
	/* Producers got the whole ring back... */
	KUNIT_EXPECT_EQ(test, kt_fill(ring, 1000), 64);
	/* ...and the read is told its copy may be torn. */
	KUNIT_EXPECT_TRUE(test, mpr_commit(v, &ring->read_claims[i], cl.start));
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->revoked_claims, 1ULL);
	KUNIT_EXPECT_EQ(test, st->revoked_records, 1ULL);
	mpmcring_slot_detach(ring, i);
	kc_detach(&other);
	mpmcring_destroy(ring);
}

/*
 * A co-tenant can make reclaim pass a claim without any revocation (here:
 * it writes the holder's start back to idle; or it writes the head back
 * over space reclaim freed). The holder's commit must still say that what
 * it read may have been overwritten: no torn data without being told.
 */
static void lease_commit_sees_reclaim_pass(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	struct mpr_claim cl;
	struct kc held, other;
	char buf[64];

	KUNIT_ASSERT_EQ(test, kc_attach(&held, ring), 0);
	KUNIT_ASSERT_EQ(test, kc_attach(&other, ring), 0);
	KUNIT_ASSERT_EQ(test, kt_fill(ring, 0), 64);
	KUNIT_ASSERT_EQ(test, kc_claim(&held, 4, &cl), 4);
	KUNIT_EXPECT_FALSE(test, mpr_claim_revoked(held.v, &held.slot->start,
						   held.start));
	WRITE_ONCE(held.slot->start, MPMCRING_SLOT_IDLE);	/* the co-tenant */
	while (kc_read(&other, buf, sizeof(buf)) == 56)
		;
	mpmcring_reclaim(ring);
	/* Producers now write over what the holder is reading. */
	KUNIT_EXPECT_GT(test, kt_fill(ring, 1000), 0);
	KUNIT_EXPECT_TRUE(test, mpr_claim_revoked(held.v, &held.slot->start,
						  held.start));
	KUNIT_EXPECT_TRUE(test, kc_commit(&held));
	kc_detach(&held);
	kc_detach(&other);
	mpmcring_destroy(ring);
}

/*
 * Attach never waits for the reclaim bit (a flood of overwriting producers
 * takes it on every reservation, and a test-and-set is not fair): the new
 * owner's lease starts at the next reclaim instead, not with the last
 * owner's age (the old code spun here for the bit, this CPU's own).
 */
static void lease_attach_never_waits(struct kunit *test)
{
	struct mpmcring_params p = { .size = 4096, .claim_timeout_ms = 200 };
	struct mpmcring *ring = kt_ring(test, &p);
	struct mpr_env env = { .ring = ring };
	struct mpr_claim cl;
	struct kc first, second, other;
	char buf[64];

	/* A first owner that claimed, committed and went. */
	KUNIT_ASSERT_EQ(test, kc_attach(&first, ring), 0);
	KUNIT_ASSERT_EQ(test, kc_attach(&other, ring), 0);
	KUNIT_ASSERT_EQ(test, kt_fill(ring, 0), 64);
	KUNIT_ASSERT_EQ(test, kc_claim(&first, 1, &cl), 1);
	mpmcring_reclaim(ring);
	KUNIT_EXPECT_FALSE(test, kc_commit(&first));
	kc_detach(&first);

	/* Attach with the bit held by someone else: returns at once. */
	preempt_disable();
	KUNIT_ASSERT_TRUE(test, mpr_env_trylock(&env));
	KUNIT_EXPECT_EQ(test, kc_attach(&second, ring), 0);
	mpr_env_unlock(&env);
	preempt_enable();

	/* The new owner's claim gets a lease of its own. */
	msleep(300);
	KUNIT_ASSERT_EQ(test, kc_claim(&second, 1, &cl), 1);
	while (kc_read(&other, buf, sizeof(buf)) == 56)
		;
	mpmcring_reclaim(ring);
	KUNIT_EXPECT_FALSE(test, mpr_claim_revoked(second.v, &second.slot->start,
						   second.start));
	KUNIT_EXPECT_FALSE(test, kc_commit(&second));
	kc_detach(&second);
	kc_detach(&other);
	mpmcring_destroy(ring);
}

static struct kunit_case lease_cases[] = {
	KUNIT_CASE(lease_stalled_claim_revoked),
	KUNIT_CASE(lease_stalled_claim_revoked_for_low_producers),
	KUNIT_CASE(lease_stalled_claim_revoked_for_a_waiting_writer),
	KUNIT_CASE(lease_tick_pressure_only_with_a_sleeping_writer),
	KUNIT_CASE(lease_moving_claims_kept),
	KUNIT_CASE(lease_toggling_start_is_no_release),
	KUNIT_CASE(lease_slots_taking_turns_revoked),
	KUNIT_CASE(lease_slots_taking_turns_insane_head_revoked),
	KUNIT_CASE(lease_head_written_back_every_reclaim),
	KUNIT_CASE(lease_restarted_through_the_head_revoked),
	KUNIT_CASE(lease_floor_spares_later_claims),
	KUNIT_CASE(lease_no_revocation_without_pressure),
	KUNIT_CASE(lease_start_past_head_counts_nothing),
	KUNIT_CASE(lease_off_holds_forever),
	KUNIT_CASE(lease_stats_change_nothing),
	KUNIT_CASE(lease_repair_throttled),
	KUNIT_CASE(lease_stats_walk_bounded),
	KUNIT_CASE(lease_reclaim_never_preemptible),
	KUNIT_CASE(lease_nested_same_level),
	KUNIT_CASE(lease_min_size_follows_pages),
	KUNIT_CASE(lease_read_claim_revoked),
	KUNIT_CASE(lease_commit_sees_reclaim_pass),
	KUNIT_CASE(lease_attach_never_waits),
	{}
};

static struct kunit_suite lease_suite = {
	.name = "mpmcring_lease",
	.test_cases = lease_cases,
};
kunit_test_suite(lease_suite);
