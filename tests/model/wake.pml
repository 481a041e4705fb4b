/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A Promela model of the consumers' wakeup (kmod/wait.c): producers
 * reserve, finish (commit or discard) out of order and, when the wait
 * queue has a sleeper, decide from the head and prod_pos whether their
 * record is an edge for a watermark class (mpmcring_wake_check()), and
 * queue the irq_work that wakes the queue; one consumer claims what is
 * finished at the head and waits when nothing is ready for its class
 * (mpmcring_ready()). tests/model/wakeups.sh checks it; docs/model.md
 * ("The wakeups") says what it shows.
 *
 * The property: no lost wakeup. The tick's backstop is left out (it wakes
 * a marked ring within 100 ms): once the producers are done, their
 * irq_work has run and memory is quiet, a consumer asleep, not woken,
 * while mpmcring_ready() holds for its class is a violation (the
 * assertion in Checker). A consumer asleep with nothing ready for its
 * class (a watermark not reached) is not. Only the end is judged: a
 * wakeup lost and then made up by a later commit is not seen.
 *
 * Memory as in room.pml: each process's stores wait in a buffer, one per
 * word, and reach memory in any order (Mem); a full barrier waits for the
 * process's own buffer to drain; a compare-and-swap stores straight to
 * memory. So the store-buffering pair [W1]/[W2] fails when either
 * barrier is planted out, and for a consumer that stays queued the
 * claim's compare-and-swap, which stands in [W2]'s place.
 *
 * Ring: positions in granules from 0, no wrap and no reclaim (room is not
 * the question here). NP producers (2 or 3) each finish one record:
 * committed or discarded alike (the stamp is set either way, a walker
 * passes both, and both call mpmcring_maybe_wake()). With K = 0 every
 * record is 1 granule; otherwise producer 0's is 1 and the others' 2. The
 * consumer's class is K (watermark 2^K granules): one consumer, one class
 * (wake_mask is that class); with EXCL two, below.
 *
 * The irq_work: a producer queues it unless pending; Work runs it later:
 * clears pending, a full barrier, then wake_up_poll() under the queue's
 * lock (irq_work_single()). A producer that saw it pending after [W1]
 * saw the queue after [W1] too: the pending work's wakeup comes after
 * the sleeper it saw was queued.
 *
 * Consumers (-D; wakeups.sh):
 *   (none)   read(2): claims any finished record at the head; none, it
 *            waits in mpmcring_wait_readable(): prepare_to_wait(), [W2]
 *            (set_current_state()'s barrier), mpmcring_ready() for its
 *            class, sleep; a wakeup takes it off the queue
 *            (autoremove_wake_function()), and it looks again
 *   POLL     poll(2) (and level-triggered epoll): ->poll queues it
 *            (poll_wait()), [W2] (the smp_mb() in mpmcring_poll()), and
 *            looks; not ready, it sleeps until woken and polls again
 *   ET       epoll edge-triggered (io_uring multishot alike): queued once
 *            (ep_insert()'s ->poll, the same barrier), drains through the
 *            mapping, waits for an event, then ->poll says whether it is
 *            ready; its claims' compare-and-swap is its barrier
 *   EXCL     two such consumers, each with EPOLLEXCLUSIVE on an epoll of
 *            its own, on the queue in the order they were added
 *            (add_wait_queue_exclusive() appends): a wakeup goes down the
 *            queue and stops at the first whose epoll had a thread on its
 *            own queue, in epoll_wait() with nothing ready
 *            (ep_poll_callback()'s ewake); each entry it reaches gets the
 *            event on its ready list all the same. Their claims race (a
 *            compare-and-swap each). The property: never every consumer
 *            asleep, none woken, with records ready for one
 *
 * Plants:
 *   PLANT_NO_W1            the producer's look at the queue may pass its
 *                          stamp (no full barrier in wq_has_sleeper())
 *   PLANT_NO_W2            the consumer's look at the ring may pass its
 *                          enqueue (read(2): set_current_state()'s
 *                          barrier; POLL, ET: mpmcring_poll()'s smp_mb())
 *   PLANT_CLAIM_RELAXED    (ET) the claim's head store may wait in the
 *                          buffer past the consumer's next look
 *   PLANT_HEAD_ONLY        only a record at the head is an edge (the
 *                          window of mpmcring_wake_due() gone)
 *   PLANT_NO_RESERVED      the edge does not ask for 2^k reserved bytes
 *                          but for 2^k finished up to the record's end
 *   PLANT_MIXED_CLASSES    (EXCL) consumer 0 waits for twice the
 *                          watermark: what docs/trust.md forbids
 *                          (exclusive waiters share a watermark), shown
 *                          to lose a wakeup when it is first on the queue
 */

#ifndef K
#define K 0
#endif
#ifdef EXCL
#if defined(POLL) || defined(PLANT_CLAIM_RELAXED)
#error "EXCL: edge-triggered waiters only, each claiming by compare-and-swap"
#endif
#define ET
#define NC 2
#else
#if defined(PLANT_MIXED_CLASSES)
#error "PLANT_MIXED_CLASSES needs EXCL (two consumers)"
#endif
#define NC 1
#endif
#ifndef NP
#define NP 2
#endif
#define W (1 << K)	/* the watermark, granules */
#if K == 0
#define SZ(i) 1
#define END NP
#else
#define SZ(i) (1 + (i > 0))
#define END (2 * NP - 1)
#endif

#define NONE 0
#define DONE 1		/* committed or discarded: a walker passes it */

byte prod;		/* prod_pos */
byte head;		/* the consumer area's head */
byte stamp[END + 1];	/* per granule: the stamp of the record there */
byte size_at[END + 1];	/* per granule: the size its header says */
/* Per consumer c: */
bit queued[NC];		/* on the wait queue */
bit woken[NC];		/* a wakeup it has not consumed */
bit asleep[NC];		/* it waits for one now */
bit pending;		/* the irq_work is queued and has not run */
bit working;		/* it runs: pending cleared, the wakeup not yet sent */
byte pdone;		/* producers done, their wake checks included */
byte qfirst = NC;	/* EXCL: the consumer added to the queue first */

/* Stores not yet in memory. */
byte pend_stamp[NP];	/* position + 1 */
bit pend_queued[NC];
byte pend_head;		/* PLANT_CLAIM_RELAXED: the new head + 1 */

/* Consumer c's watermark, granules. */
#ifdef PLANT_MIXED_CLASSES
#define WC(c) ((c) == 0 -> 2 * W : W)
#else
#define WC(c) W
#endif

/*
 * mpmcring_ready(): a finished record at the head, the class's watermark
 * reserved from it. A consumer reads its own head store before it
 * reaches memory.
 */
#define HEAD_C (pend_head != 0 -> pend_head - 1 : head)
#define READY_AT(h, w) (h != prod && prod - h >= w && stamp[h] != NONE)
#define READY(c) READY_AT(head, WC(c))
#define READY_C(c) READY_AT(HEAD_C, WC(c))
#define QUIET (pend_queued[0] == 0 && pend_queued[NC - 1] == 0 && \
	       pend_head == 0 && pend_stamp[0] == 0 && pend_stamp[1] == 0 && \
	       pend_stamp[NP - 1] == 0)

/* A full barrier on the consumer's side: its enqueue reaches memory. */
#ifdef PLANT_NO_W2
#define W2(c) skip
#else
#define W2(c) (pend_queued[c] == 0)
#endif

active proctype Mem() {
end:	do
	:: atomic { pend_stamp[0] -> stamp[pend_stamp[0] - 1] = DONE; pend_stamp[0] = 0 }
	:: atomic { pend_stamp[1] -> stamp[pend_stamp[1] - 1] = DONE; pend_stamp[1] = 0 }
#if NP > 2
	:: atomic { pend_stamp[2] -> stamp[pend_stamp[2] - 1] = DONE; pend_stamp[2] = 0 }
#endif
	:: atomic { pend_queued[0] -> queued[0] = 1; pend_queued[0] = 0 }
#if NC > 1
	:: atomic { pend_queued[1] -> queued[1] = 1; pend_queued[1] = 0 }
#endif
	:: atomic { pend_head -> head = pend_head - 1; pend_head = 0 }
	od
}

/* wake_up_poll() reaches consumer c's entry, if it is queued. */
inline wake_entry(c) {
	if
	:: queued[c] || pend_queued[c] ->
		woken[c] = 1;
#ifndef POLL
#ifndef ET
		queued[c] = 0;
		pend_queued[c] = 0
#endif
#endif
	:: else -> skip
	fi
}

/*
 * The irq_work: clears pending, a full barrier, then wake_up_poll()
 * under the queue's lock: an enqueue done under that lock is seen, done
 * or not yet drained. read(2)'s entry leaves the queue when woken. EXCL:
 * the walk goes in queue order and stops after the first entry whose
 * epoll had a thread waiting, judged before this event reached it.
 */
active proctype Work() {
#if NC > 1
	byte c0, c1;
	bit ew;
#endif
end:	do
	:: atomic { pending -> pending = 0; working = 1 };
		atomic {
			working = 0;
#if NC > 1
			c0 = (qfirst == 1 -> 1 : 0);
			c1 = 1 - c0;
			ew = (queued[c0] || pend_queued[c0]) && asleep[c0] &&
			     !woken[c0];
			wake_entry(c0);
			if
			:: ew -> skip
			:: else -> wake_entry(c1)
			fi
#else
			wake_entry(0)
#endif
		}
	od
}

active [NP] proctype Producer() {
	byte pos, h, p, d0, d1;
	byte i = _pid - 2;

	/* the reservation's compare-and-swap on prod_pos, the header */
	atomic { pos = prod; prod = prod + SZ(i); size_at[pos] = SZ(i) };
	/* [P2] the stamp, a store-release (committed, or discarded) */
	pend_stamp[i] = pos + 1;
	/* mpmcring_maybe_wake(): [W1] a full barrier, then the queue */
#ifndef PLANT_NO_W1
	(pend_stamp[i] == 0);
#endif
	if
	:: queued[0] || queued[NC - 1] ->
		/* mpmcring_wake_check(): the head, prod_pos, the window */
		h = head;
		p = prod;
		d0 = pos - h;
		d1 = p - h;
#ifdef PLANT_NO_RESERVED
		d1 = pos + SZ(i) - h;
#endif
		/*
		 * mpmcring_wake_due() for the one class: d0 < d1, 2^K > d0,
		 * 2^K <= d1 (unsigned: a head past pos makes d0 large)
		 */
		if
#ifdef PLANT_HEAD_ONLY
		:: d0 < d1 && d0 == 0 && d1 >= W ->
#else
		:: d0 < d1 && d0 < W && d1 >= W ->
#endif
#ifdef PLANT_MIXED_CLASSES
			/* wake_mask has both classes */
			pending = 1
		:: d0 < d1 && d0 < 2 * W && d1 >= 2 * W ->
#endif
			/* irq_work_queue() unless pending */
			pending = 1
		:: else -> skip	/* wake_missed: the tick's */
		fi
	:: else -> skip
	fi;
	pdone++
}

/*
 * Claims the record at the head if one is finished there (a discarded
 * one is passed the same way): a compare-and-swap on the head, a store
 * straight to memory (PLANT_CLAIM_RELAXED, one consumer: into the
 * buffer). read(2) claims one per call.
 */
#define CLAIMABLE (HEAD_C < prod && stamp[HEAD_C] != NONE)

inline claim() {
	atomic {
		if
		:: CLAIMABLE ->
			h2 = HEAD_C;
#ifdef PLANT_CLAIM_RELAXED
			pend_head = h2 + size_at[h2] + 1
#else
			head = h2 + size_at[h2]
#endif
		:: else -> skip
		fi
	}
}

inline drain() {
	do
	:: CLAIMABLE -> claim()
	:: else -> break
	od
}

/* Asleep until a wakeup it has not consumed. */
inline sleep(c) {
	asleep[c] = 1;
end_sleep:
	woken[c];
	atomic { asleep[c] = 0; woken[c] = 0 }
}

#if !defined(POLL) && !defined(ET)
/* read(2): mpmcring_read(), mpmcring_wait_readable(). */
active proctype Consumer() {
	byte h2;

	do
	:: HEAD_C == END -> break
	:: CLAIMABLE -> claim()
	:: else ->
		do
		:: /* prepare_to_wait(): on the queue unless on it, [W2] */
			atomic { woken[0] = 0; pend_queued[0] = !queued[0] };
			W2(0);
			if
			:: READY_C(0) -> break
			:: else -> sleep(0)
			fi
		od;
		/* finish_wait() */
		atomic { queued[0] = 0; pend_queued[0] = 0 }
	od
}
#elif defined(POLL)
/* poll(2): queued by each ->poll, off the queue when poll() returns. */
active proctype Consumer() {
	byte h2;

	do
	:: HEAD_C == END -> break
	:: else ->
		atomic { woken[0] = 0; pend_queued[0] = 1 };
		W2(0);
		if
		:: READY_C(0) -> skip
		:: else -> sleep(0)
		fi;
		atomic { queued[0] = 0; pend_queued[0] = 0 };
		drain()
	od
}
#else
/*
 * Edge-triggered epoll: queued by ep_insert()'s ->poll (an event pending
 * if ready then), drains through the mapping, then epoll_wait() until an
 * event, whose ->poll says whether it is ready.
 */
active [NC] proctype Consumer() {
	byte h2;
	byte c = _pid - 2 - NP;

	/* ep_insert(): added at the queue's tail */
	atomic {
		pend_queued[c] = 1;
		if
		:: qfirst == NC -> qfirst = c
		:: else -> skip
		fi
	};
	W2(c);
	if
	:: READY_C(c) -> woken[c] = 1
	:: else -> skip
	fi;
	do
	:: HEAD_C == END -> break
	:: else ->
		drain();
		if
		:: HEAD_C == END -> break
		:: else -> skip
		fi;
		sleep(c);
		/* ep_send_events(): ->poll; not ready: the event is gone */
		do
		:: READY_C(c) -> break
		:: else -> sleep(c)
		od
	od
}
#endif

/*
 * Once all else is done and quiet: every consumer asleep and not woken,
 * with records ready for one of them.
 */
#define LEFT(c) (asleep[c] && !woken[c])

active proctype Checker() {
end:	atomic {
		pdone == NP && !pending && !working && QUIET && LEFT(0) && LEFT(NC - 1) ->
		assert(!READY(0) && !READY(NC - 1))
	}
}
