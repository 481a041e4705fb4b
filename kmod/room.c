// SPDX-License-Identifier: GPL-2.0-only
/*
 * Writers waiting for room: a write(2) blocked on a full ring, a poller
 * waiting for POLLOUT, a non-blocking write refused for room. Room comes
 * from reclaim, which frees what consumers committed; consumers commit
 * with plain stores, so the kernel hears of a commit only from
 *
 *   - the housekeeping tick (mpmcring_backstop()), every MPMCRING_TICK_MS:
 *     the guarantee;
 *   - a read(2) that committed, or whose claim moved the head over
 *     discarded records only (read.c), a slot let go (DETACH, a file's
 *     release);
 *   - a mapped consumer whose commit may have been the last one holding
 *     the room back (MPMCRING_IOC_ROOM): meta->room_at tells it where
 *     that is.
 *
 * out_waiters has a bit per class in which a writer waits. room_at is the
 * reclaim_pos at which a waiting writer's record fits: each writer going
 * to wait puts its own there unless an earlier one stands that reclaim has
 * not reached yet. It is never cleared: a target reclaim has passed asks
 * nothing of consumers (their claims all begin past it) and the next
 * writer replaces it; one whose writer found room after all, or gave up,
 * costs at most a call per claim lying under it.
 */
#include <linux/bitmap.h>
#include <linux/poll.h>
#include <kunit/visibility.h>

#include "internal.h"

/* room_at's compare-and-swap tries: a lost race leaves it to the tick. */
#define MPMCRING_ROOM_AT_TRIES	4

u64 mpmcring_free_bytes(struct mpmcring *ring)
{
	struct mpr_pos s;

	mpr_positions(&ring->view, &s);
	/*
	 * reclaim_pos is loaded before prod_pos: reclaims and reservations
	 * between the two loads can make the difference exceed the data
	 * size, and free space "wrap" to nearly 2^64 (a spurious POLLOUT).
	 */
	if (s.prod - s.reclaim >= ring->view.data_size)
		return 0;
	return ring->view.data_size - (s.prod - s.reclaim);
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_free_bytes);

/*
 * Overwrite mode: whether a producer that finds no free space could evict
 * its way in: the record at the head is finished and nothing claimed lies
 * before it (reclaim has caught up with the head).
 */
static bool mpmcring_evictable(struct mpmcring *ring)
{
	const struct mpr_view *v = &ring->view;
	struct mpr_rec rec;
	struct mpr_pos s;
	int st;

	mpr_positions(v, &s);
	/* user-writable: the head is used only once it is sane. */
	if (!mpr_head_sane(v, &s) || s.head != s.reclaim || s.head == s.prod)
		return false;
	st = mpr_record_at(v, s.head, s.prod, &rec);
	return st == MPR_REC_COMMITTED || st == MPR_REC_DISCARDED;
}

/**
 * mpmcring_room() - could a record of this class and size be reserved now
 * @ring: the ring
 * @prio: its class
 * @need: its bytes of ring space
 *
 * Return: true when it fits under the class's watermark, or in overwrite
 * mode (where classes have none) when eviction can make room.
 */
bool mpmcring_room(struct mpmcring *ring, u32 prio, u64 need)
{
	if (ring->layout.mode == MPMCRING_MODE_OVERWRITE)
		return mpmcring_free_bytes(ring) >= need || mpmcring_evictable(ring);
	/*
	 * ring->reserve_limit[prio] (data_size - watermark) in free bytes:
	 * used + need <= limit, without the subtraction that could wrap.
	 */
	return mpmcring_free_bytes(ring) >= ring->layout.watermark[prio] + need;
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_room);

/* The smallest record write(2) makes: the least room worth a wakeup. */
u64 mpmcring_min_need(struct mpmcring *ring)
{
	return mpr_rec_size(&ring->view, 1);
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_min_need);

/*
 * The reclaim_pos at which need bytes of class prio fit with the producers
 * where they are now: free = data_size - (prod - reclaim) >= watermark +
 * need. In overwrite mode, where classes have no watermark, free >= need,
 * or reclaim at the head (then the oldest records can be evicted): the
 * head, if it is sane and earlier. Never 0 (which says "no writer ever waited"): 1
 * instead, one byte later. Producers that reserve meanwhile make it too
 * early: the writer, woken to find no room, waits again with a new one.
 */
static u64 mpmcring_room_target(struct mpmcring *ring, u32 prio, u64 need)
{
	const struct mpr_view *v = &ring->view;
	struct mpr_pos s;
	u64 at;

	mpr_positions(v, &s);
	if (ring->layout.mode != MPMCRING_MODE_OVERWRITE) {
		at = s.prod + ring->layout.watermark[prio] + need - v->data_size;
	} else {
		at = s.prod + need - v->data_size;
		/* user-writable: the head is used only once it is sane. */
		if (mpr_head_sane(v, &s) && mpr_before(s.head, at))
			at = s.head;
	}
	return at ?: 1;
}

/*
 * Puts at in room_at unless reclaim reached it already (the writer's look
 * after this finds the room) or an earlier target stands there that
 * reclaim has not reached. A kernel word (the meta page is read-only to
 * userspace): no clamping. Bounded; a race lost every time leaves another
 * writer's target there, and the tick.
 */
static void mpmcring_room_at_lower(struct mpmcring *ring, u64 at)
{
	struct mpmcring_meta *m = ring->view.meta;
	u64 cur = READ_ONCE(m->room_at), old;
	int tries;

	/* Reached already: nothing to ask for (and an unreached one stays). */
	if (!mpr_before(READ_ONCE(m->reclaim_pos), at))
		return;
	for (tries = 0; tries < MPMCRING_ROOM_AT_TRIES; tries++) {
		if (cur == at || (cur && mpr_before(cur, at) &&
				  mpr_before(READ_ONCE(m->reclaim_pos), cur)))
			return;
		old = cmpxchg(&m->room_at, cur, at);
		if (old == cur)
			return;
		cur = old;
	}
}

/**
 * mpmcring_want_room() - a writer found no room and will wait for it
 * @ring: the ring
 * @prio: the writer's class
 * @need: the bytes of ring space its write needs
 *
 * Sets the class's bit in out_waiters, so that the tick (and read(2), and
 * MPMCRING_IOC_ROOM) wake POLLOUT once the class has room, including for
 * edge-triggered and io_uring waiters that will not poll on their own;
 * puts where @need fits in room_at. The caller then reclaims and looks
 * for room once more before it sleeps or says EAGAIN: see [W5].
 */
void mpmcring_want_room(struct mpmcring *ring, u32 prio, u64 need)
{
	if (!(READ_ONCE(ring->out_waiters) & BIT(prio)))
		set_bit(prio, &ring->out_waiters);
	/*
	 * [W7] pairs with [W6] in mpmcring_room_kick(): the bit before the
	 * target, so that the kick a consumer asks for once it saw the
	 * target sees the bit. (The compare-and-swap that stores the target
	 * is fully ordered too; where none stores it, [W5] orders the bit
	 * before the reclaim: tests/model/room.pml has either one suffice.)
	 */
	smp_mb();
	mpmcring_room_at_lower(ring, mpmcring_room_target(ring, prio, need));
	/*
	 * [W5] pairs with [C6] (a consumer's commit, an exchange of its
	 * slot's start, then its load of room_at): room_at and the bit
	 * before the reclaim that follows reads the slots' starts ([W8]:
	 * one that began after this). Either that reclaim sees the commit,
	 * or the consumer sees room_at and asks for a reclaim
	 * (MPMCRING_IOC_ROOM) whose kick sees the bit. Not one already
	 * running (it may have read the slot before the commit):
	 * mpmcring_reclaim_after(). Best effort past its bound (a holder
	 * whose CPU the hypervisor took), for IOCB_NOWAIT, and where one
	 * walk stops short of the target (MPR_RECLAIM_WALK records): the
	 * tick frees the rest. Checked by tests/model/room.pml.
	 */
	smp_mb();
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_want_room);

/**
 * mpmcring_want_room_or_room() - ask to be woken, then look once more
 * @ring: the ring
 * @prio: the writer's class
 * @need: the bytes of ring space its write needs
 *
 * @nowait: IOCB_NOWAIT: do not wait for a reclaim another runs
 *
 * What every writer that found no room does before it sleeps or says
 * EAGAIN: mpmcring_want_room(), then ([W5]) a reclaim that began after it
 * and one more look. Waits up to MPMCRING_RECLAIM_WAIT_NS for a reclaim
 * another runs, unless @nowait. Process context.
 *
 * Return: whether the record fits now.
 */
bool mpmcring_want_room_or_room(struct mpmcring *ring, u32 prio, u64 need,
				bool nowait)
{
	mpmcring_want_room(ring, prio, need);
	/* A reclaim begun after [W5]: see there. */
	if (nowait)
		mpmcring_reclaim(ring);
	else
		mpmcring_reclaim_after(ring);
	if (!mpmcring_room(ring, prio, need)) {
		/*
		 * Readers must not wait for a watermark beside it; and a
		 * writer that polls makes no reservation to be refused: its
		 * look is the leases' pressure (a stalled claim in its way
		 * is revoked once timed out).
		 */
		mpmcring_refused_writer_waits(ring);
		return false;
	}
	/*
	 * This reclaim may have freed what other writers wait for, and
	 * their targets may be gone from room_at (this one's replaced a
	 * passed one): wake those whose class has room, as a kick would.
	 */
	mpmcring_room_backstop(ring);
	return true;
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_want_room_or_room);

/*
 * A blocked write(2)'s wait condition: room for need, or else the class's
 * bit and room_at set (again: a wakeup for the smallest record took the
 * bit, and this writer sleeps on for a larger one), and one more look.
 */
bool mpmcring_room_or_want(struct mpmcring *ring, u32 prio, u64 need)
{
	return mpmcring_room(ring, prio, need) ||
	       mpmcring_want_room_or_room(ring, prio, need, false);
}

/**
 * mpmcring_room_backstop() - wake the writers whose class has room
 * @ring: the ring, just reclaimed
 *
 * The tick's part for writers, and a consumer's that released room
 * (read(2), MPMCRING_IOC_ROOM) while writers wait: wake those whose class has room
 * now, for the smallest record: a poller refused a larger one looks again
 * with its own need and, finding too little, asks again. One wakeup at
 * most per call, counted (room_wakeups) before it is sent, like the
 * consumers' wakeups: it may find no writer still asleep, or wake several;
 * a writer that slept out its wait with the count unmoved was never woken.
 * Callers may race: each class's bit is taken once (test_and_clear_bit).
 * Writers of other classes are woken too (one wakeup for all): they look
 * again and, finding no room, ask again.
 */
void mpmcring_room_backstop(struct mpmcring *ring)
{
	unsigned long want = READ_ONCE(ring->out_waiters), ready = 0;
	u32 prio;

	for_each_set_bit(prio, &want, MPMCRING_NR_PRIO)
		if (mpmcring_room(ring, prio, mpmcring_min_need(ring)) &&
		    test_and_clear_bit(prio, &ring->out_waiters))
			ready |= BIT(prio);
	if (ready) {
		mpmcring_count(ring, room_wakeups, 1);
		wake_up_poll(&ring->wq_out, EPOLLOUT | EPOLLWRNORM);
		wake_up_poll(&ring->wq, EPOLLOUT | EPOLLWRNORM);
	}
}

/**
 * mpmcring_room_kick() - a commit the kernel did not see may have made room
 * @ring: the ring
 *
 * read(2) after it committed (or its claim moved the head over discarded
 * records only, or it repaired the head), MPMCRING_IOC_ROOM for a mapped
 * consumer after the same, DETACH and a file's release after held claims were let
 * go: when writers wait, free what is committed and wake those whose
 * class has room now, at once, not at the tick (a write(2) producer paired
 * with a consumer would move one ring a tick). Bounded work: one reclaim
 * that began after the call (mpmcring_reclaim_after(): up to
 * MPMCRING_RECLAIM_WAIT_NS) and the room step. Process context.
 */
void mpmcring_room_kick(struct mpmcring *ring)
{
	/*
	 * [W6] pairs with [W7]: a consumer that saw a writer's target asks
	 * after it; the writer's bit, set before the target, is seen here.
	 */
	smp_mb();
	if (!READ_ONCE(ring->out_waiters))
		return;
	/*
	 * A reclaim that began after the commit: the writer's own, or a
	 * producer's, may be running and have read the slot before it.
	 */
	mpmcring_reclaim_after(ring);
	mpmcring_room_backstop(ring);
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_room_kick);
