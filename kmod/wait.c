// SPDX-License-Identifier: GPL-2.0-only
/*
 * Waking sleeping consumers, in every waiting mode users have: poll and
 * select, epoll level- and edge-triggered (EPOLLEXCLUSIVE too), io_uring
 * poll (multishot too) and blocking read(2).
 *
 * Edge-triggered epoll and io_uring's multishot poll call ->poll once per
 * wakeup and never while the consumer drains the ring through its mapping,
 * so nothing can be armed from ->poll. Whether to wake is decided at commit
 * time instead, by every producer that finds the wait queue non-empty:
 *
 *   a commit at pos wakes when the consumers had caught up with it: when
 *   some watermark class k (wake at 2^k bytes; k = 0 is "any record") has
 *   head + 2^k > pos (the record starts inside the first 2^k bytes past the
 *   head) and head + 2^k <= prod_pos (that many bytes are reserved).
 *
 * A record that finishes while consumers are still busy before it wakes
 * nobody: they will reach it. A consumer sleeps only after finding no
 * finished record at the head, so the commit of the record at the head
 * always finds head == pos, however late it comes after records behind it
 * committed: that is the wakeup it needs. For a watermark of 2^k the
 * crossing happens at a reservation; the record that made it starts inside
 * the window, so its commit (or the head record's, whichever is later)
 * wakes. Consumers moving the head never make a file ready (readiness
 * needs a finished record at the head and bytes past it; claims only take
 * both away), so commits are the only edges.
 *
 * The head is user-writable: a co-tenant sharing the consumer area could
 * write one that suppresses these wakeups. So a commit that finds sleepers
 * and wakes none marks the ring, and the housekeeping tick (every
 * MPMCRING_TICK_MS while files are open) wakes everyone once if marked: a
 * corrupt head can delay a wakeup by one tick, never lose it.
 *
 * The store-buffering handshake: a producer stores its stamp, then looks at
 * the wait queue ([W1], a full barrier in wq_has_sleeper()); a sleeper puts
 * itself on the queue, then looks at the ring ([W2], a full barrier). One of
 * them sees the other. Where the sleeper stays queued (epoll, io_uring), the
 * consumer's claim cmpxchg that moved the head is its barrier: the producer
 * sees the new head, or the consumer sees the stamp.
 *
 * Wakeups go through irq_work: producers may run in NMI or with scheduler
 * locks held, where waking directly could deadlock.
 *
 * tests/model/wake.pml checks the handshake and the edge rule (no sleeper
 * left with a record ready for its class) on a memory that reorders
 * stores.
 */
#include <linux/sched.h>
#include <linux/poll.h>
#include <linux/log2.h>
#include <linux/bits.h>

#include <kunit/visibility.h>

#include "internal.h"

/**
 * mpmcring_wake_class() - the watermark class of a watermark
 * @watermark: bytes a sleeper wants ready before it is woken (0: any)
 *
 * Return: k such that 2^k is @watermark rounded down to a power of two
 * (0 for 0 and 1).
 */
u32 mpmcring_wake_class(u64 watermark)
{
	return watermark ? ilog2(watermark) : 0;
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_wake_class);

/*
 * Whether a commit at distance d0 from the head, d1 reserved, is an edge:
 * some class k of mask has d0 < 2^k <= d1 (tests/model/wake.pml's rule;
 * KUnit wake_due_is_the_window compares them).
 */
VISIBLE_IF_KUNIT bool mpmcring_wake_due(u64 d0, u64 d1, u64 mask)
{
	unsigned int lo, hi;

	if (!d1 || d0 >= d1)
		return false;
	lo = d0 ? fls64(d0) : 0;	/* classes with 2^k > d0 */
	hi = fls64(d1) - 1;		/* classes with 2^k <= d1 */
	return lo <= hi && (mask & GENMASK_ULL(hi, lo));
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_wake_due);

/**
 * mpmcring_wake_check() - after a commit or discard, wake who needs it
 * @ring: the ring
 * @pos: position of the record just finished
 *
 * Any context. Called by mpmcring_maybe_wake() once it found a sleeper on
 * the wait queue (its [W1] full barrier comes first).
 */
void mpmcring_wake_check(struct mpmcring *ring, u64 pos)
{
	const struct mpr_view *v = &ring->view;
	u64 head, prod;

	/* user-writable: only compared; see the backstop above. */
	head = READ_ONCE(v->cons->head);
	prod = READ_ONCE(v->meta->prod_pos);
	if (mpmcring_wake_due(pos - head, prod - head, READ_ONCE(ring->wake_mask))) {
		if (!irq_work_is_pending(&ring->wake_work))
			irq_work_queue(&ring->wake_work);
	} else if (!READ_ONCE(ring->wake_missed)) {
		WRITE_ONCE(ring->wake_missed, 1);
	}
}

/*
 * Readers' wakeups carry no key. They are sent for the lowest watermark
 * of any reader file, so each waiter must ask ->poll for its own file's:
 * epoll, poll(2) and read(2) do whatever the key, but io_uring's poll and
 * aio's IOCB_CMD_POLL take a key's events as the file's and post them
 * without asking (a file whose watermark was far completed at the first
 * record). Without a key they ask ->poll too; a POLLOUT-only waiter of a
 * read-write file is woken for nothing (its ->poll looks for room again:
 * bounded work) and sleeps on. An exclusive one would take
 * the one exclusive wakeup from the readers queued behind it (epoll
 * counts an unkeyed wakeup as delivered to any exclusive waiter), for
 * good: once one was queued (@keyed_wakeups, mpmcring_note_waiter()),
 * the wakeups are keyed EPOLLIN, and io_uring and aio polls of files with
 * a watermark of their own may complete early again (a cost, never a
 * loss: the consumer finds fewer records than its watermark).
 */
static void mpmcring_wake_readers(struct mpmcring *ring)
{
	if (READ_ONCE(ring->keyed_wakeups))
		wake_up_poll(&ring->wq, EPOLLIN | EPOLLRDNORM);
	else
		wake_up(&ring->wq);
}

/**
 * mpmcring_note_waiter() - note a reader file's waiter before it is queued
 * @ring: the ring
 * @events: the events it asks for (poll_requested_events())
 *
 * An exclusive waiter that asks for neither POLLIN nor POLLRDNORM sets
 * @keyed_wakeups for good (its events cannot change: EPOLL_CTL_MOD refuses
 * EPOLLEXCLUSIVE; io_uring's poll update queues again, through ->poll).
 * A wakeup that read the flag unset while such a waiter was being queued
 * loses no reader: one queued behind it was queued after the flag was set
 * (exclusive waiters go to the tail), and its ->poll looks at the ring
 * after [W2]'s full barrier. Either that look sees the record whose commit
 * sent the wakeup (the file is ready when queued), or the commit's [W1]
 * came after it, and the waker's load of the flag, later still, sees it
 * set: store buffering with a full barrier on both sides.
 */
void mpmcring_note_waiter(struct mpmcring *ring, __poll_t events)
{
	if ((events & EPOLLEXCLUSIVE) && !(events & (EPOLLIN | EPOLLRDNORM)) &&
	    !READ_ONCE(ring->keyed_wakeups))
		WRITE_ONCE(ring->keyed_wakeups, 1);
}

/**
 * mpmcring_wake_lowered() - a file's lowered watermark made it ready
 * @ring: the ring
 *
 * Its sleepers that will not poll again (edge-triggered) need a wakeup with
 * no commit to send it, and the wakeup reaches every reader on the ring.
 * Any file may lower its watermark, read-only ones too, as often as it
 * likes: so at once at most once per MPMCRING_TICK_MS for the ring, and
 * otherwise the tick's (@wake_missed, as for a commit that woke nobody).
 * Process context.
 */
void mpmcring_wake_lowered(struct mpmcring *ring)
{
	unsigned long last = READ_ONCE(ring->lowered_woke), now = jiffies;

	/*
	 * The compare-and-swap only picks one caller per tick; it pairs with
	 * nothing. The wakeup's own order is wake_up()'s against the
	 * sleeper's [W2]; a mark the tick misses now it finds a tick later.
	 */
	if (time_after_eq(now, last + msecs_to_jiffies(MPMCRING_TICK_MS)) &&
	    try_cmpxchg(&ring->lowered_woke, &last, now)) {
		mpmcring_wake_readers(ring);
		return;
	}
	if (!READ_ONCE(ring->wake_missed))
		WRITE_ONCE(ring->wake_missed, 1);
}

/**
 * mpmcring_refused_mark() - every watermark counts as reached at this head
 * @ring: the ring
 *
 * Marks @refused_head with the consumers' head as it is now, once per
 * head (mpmcring_ready()), and asks the tick to wake the readers asleep.
 * For a producer's refusal with readers asleep
 * (mpmcring_refused_for_room()) and for a writer about to wait for room
 * (mpmcring_refused_writer_waits()). Any context.
 */
void mpmcring_refused_mark(struct mpmcring *ring)
{
	/*
	 * user-writable: the head is kept to be compared only; racing
	 * stores leave one of them.
	 */
	u64 head = READ_ONCE(ring->view.cons->head);

	if (READ_ONCE(ring->refused_head) == head)
		return;
	WRITE_ONCE(ring->refused_head, head);
	/*
	 * [W3] pairs with [W2] and [W4]: the mark before the look at the
	 * readers' queue and before @wake_missed. A reader queued too late
	 * for this look finds the mark after its own barrier and does not
	 * sleep; one queued before it is seen here, and the tick, finding
	 * @wake_missed set, wakes it after the mark is visible (without the
	 * barrier the store could wait in this CPU's store buffer past the
	 * wakeup, and no later refusal at this head tells them again).
	 */
	smp_mb();
	/* After [W3]: a reader queued before it is seen. */
	if (waitqueue_active(&ring->wq) && !READ_ONCE(ring->wake_missed))
		WRITE_ONCE(ring->wake_missed, 1);
}

/**
 * mpmcring_refused_writer_waits() - a writer's last look found no room
 * @ring: the ring
 *
 * A producer's refusal marks the head only while readers sleep: a reader
 * that sleeps later sees the next refusal's mark. A writer that waits for
 * room (POLLOUT, a blocked write(2)) makes no next refusal: a reader whose
 * watermark the ring cannot reach before the writer's records would sleep
 * beside it for good, each waiting for the other. So its look marks the
 * head whether readers sleep or not (and the tick marks it again while
 * any writer still waits). The look is also the leases' pressure, as a
 * refused reservation is (mpmcring_refused_at(): a stalled claim in its
 * way is revoked once timed out), whether the writer then sleeps or says
 * EAGAIN: a refusal, once, like a producer's. Any context.
 */
void mpmcring_refused_writer_waits(struct mpmcring *ring)
{
	mpmcring_refused_mark(ring);
	mpmcring_refused_at(ring, READ_ONCE(ring->view.meta->reclaim_pos));
}

/**
 * mpmcring_ready() - is there something for a consumer of this class
 * @ring: the ring
 * @wake_class: the consumer's watermark class
 *
 * A watermark must not keep a consumer asleep while producers are refused
 * for want of room: records of a class stop at its limit, which may lie
 * below the watermark (the default low watermark half the ring, a
 * watermark of half the ring, 40-byte records: 2016 of 2048 bytes, for
 * good). So once the ring refused a record for room while the head stood
 * where it is now, any watermark is reached.
 *
 * Return: true when a finished record waits at the head and at least
 * 2^@wake_class bytes are reserved from there, or the ring refused one as
 * said; or when the head is corrupt (so the consumer wakes and meets the
 * error).
 */
bool mpmcring_ready(struct mpmcring *ring, u32 wake_class)
{
	const struct mpr_view *v = &ring->view;
	struct mpr_rec rec;
	struct mpr_pos s;

	mpr_positions(v, &s);
	/* user-writable: the head is used only once it is sane. */
	if (!mpr_head_sane(v, &s))
		return true;
	if (s.head == s.prod)
		return false;
	if (s.prod - s.head < (1ULL << wake_class) &&
	    READ_ONCE(ring->refused_head) != s.head)
		return false;
	return mpr_record_at(v, s.head, s.prod, &rec) != MPR_REC_NONE;
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_ready);

/**
 * mpmcring_wake_class_get() - count a file's watermark class in
 * @ring: the ring
 * @k: the class
 */
void mpmcring_wake_class_get(struct mpmcring *ring, u32 k)
{
	unsigned long flags;

	spin_lock_irqsave(&ring->wake_lock, flags);
	if (!ring->wake_refs[k]++)
		WRITE_ONCE(ring->wake_mask, ring->wake_mask | BIT_ULL(k));
	spin_unlock_irqrestore(&ring->wake_lock, flags);
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_wake_class_get);

/**
 * mpmcring_wake_class_put() - count a file's watermark class out
 * @ring: the ring
 * @k: the class
 */
void mpmcring_wake_class_put(struct mpmcring *ring, u32 k)
{
	unsigned long flags;

	spin_lock_irqsave(&ring->wake_lock, flags);
	if (!--ring->wake_refs[k])
		WRITE_ONCE(ring->wake_mask, ring->wake_mask & ~BIT_ULL(k));
	spin_unlock_irqrestore(&ring->wake_lock, flags);
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_wake_class_put);

static void mpmcring_wake_in(struct mpmcring *ring)
{
	mpmcring_count(ring, wakeups, 1);
	mpmcring_wake_readers(ring);
}

/* irq_work: runs soon after a producer fired, in a context that may wake. */
void mpmcring_wake_work(struct irq_work *work)
{
	mpmcring_wake_in(container_of(work, struct mpmcring, wake_work));
}

/*
 * Readers asleep while records wait at a head that stood still since the
 * last tick, for the lowest watermark class of the open files (each
 * sleeper looks at its own when woken). Only a lost wakeup leaves that:
 * a co-tenant that wrote the head back to records already taken, once
 * the others slept, left every record behind it unclaimed, and with
 * producers only refused (the ring full up to that head) no commit came
 * to wake anyone, for good.
 */
static bool mpmcring_readers_stuck(struct mpmcring *ring, u64 head)
{
	u64 mask = READ_ONCE(ring->wake_mask);

	return head == ring->tick_head && mask && wq_has_sleeper(&ring->wq) &&
	       mpmcring_ready(ring, __ffs64(mask));
}

/**
 * mpmcring_backstop() - the tick's part in wakeups
 * @ring: the ring
 *
 * Wakes readers once if a commit found them asleep and woke nobody since
 * the last tick (or a head was repaired), or if records wait at a head
 * that stood still for a tick with readers asleep; once per head either
 * way. Wakes writers that found no room, once their class has some: the
 * tick has just reclaimed what consumers committed (they commit with
 * plain stores, so nothing else tells the kernel); while one still waits,
 * marks the ring refused at its head (mpmcring_refused_mark()), and while
 * one sleeps on the writers' queue, records the leases' pressure.
 * The tick's only: its fields are not shared.
 */
void mpmcring_backstop(struct mpmcring *ring)
{
	/* user-writable: compared only, never used as a position. */
	u64 head;

	/*
	 * Writers first: one still waiting after this has its refusal
	 * marked again at the head as it is now (a consumer's claim moves
	 * the head without freeing room, and a refused producer may store an
	 * older head over the mark), and a reader asleep beside it is woken
	 * below, in this tick.
	 */
	if (READ_ONCE(ring->out_waiters)) {
		mpmcring_room_backstop(ring);
		if (READ_ONCE(ring->out_waiters))
			mpmcring_refused_mark(ring);
		/*
		 * The leases' pressure only for a writer really asleep on its
		 * queue: a class's bit outlives a writer that gave up (EAGAIN,
		 * a signal), and pressure recorded for it would follow
		 * reclaim and take every timed-out claim.
		 */
		if (READ_ONCE(ring->out_waiters) && wq_has_sleeper(&ring->wq_out))
			mpmcring_refused_at(ring,
					    READ_ONCE(ring->view.meta->reclaim_pos));
	}
	/* user-writable: only compared with the heads earlier ticks saw. */
	head = READ_ONCE(ring->view.cons->head);
	/*
	 * [W4] pairs with [W3] in mpmcring_refused_mark(): xchg, a full
	 * barrier.
	 */
	if ((READ_ONCE(ring->wake_missed) && xchg(&ring->wake_missed, 0)) ||
	    (head != ring->woke_head && mpmcring_readers_stuck(ring, head))) {
		mpmcring_wake_in(ring);
		ring->woke_head = head;
	}
	ring->tick_head = head;
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_backstop);
