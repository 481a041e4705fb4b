/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A Promela model of the consumers' wakeup (kmod/wait.c): producers
 * reserve, finish (commit or discard) out of order and, when the wait
 * queue has a sleeper, decide from the head and prod_pos whether their
 * record is an edge for a watermark class (mpmcring_wake_check()); one
 * consumer claims what is finished at the head and sleeps when nothing
 * is ready for its class (mpmcring_ready()). tests/model/wakeups.sh checks
 * it; docs/model.md ("The wakeups") says what it shows.
 *
 * The property: no lost wakeup. The tick's backstop is left out (it wakes
 * a marked ring within 100 ms): once the producers are done and memory
 * is quiet, a consumer asleep, not woken, while mpmcring_ready() holds for
 * its class is a violation (the assertion in Checker). A consumer asleep
 * with nothing ready for its class (a watermark not reached) is not.
 *
 * Memory as in room.pml: each process's stores wait in a buffer, one per
 * word, and reach memory in any order (Mem); a full barrier waits for the
 * process's own buffer to drain; a compare-and-swap stores straight to
 * memory. So the store-buffering pair [W1]/[W2], and for a consumer that
 * stays queued the claim's compare-and-swap in [W2]'s place, fail when
 * planted out.
 *
 * Ring: positions in granules from 0, no wrap and no reclaim (room is not
 * the question here). Producer i finishes one record of SZ(i) granules:
 * committed or discarded alike (the stamp is set either way, a walker
 * passes both, and both call mpmcring_maybe_wake()). The consumer's class
 * is K (watermark 2^K granules).
 *
 * Configurations (-D; wakeups.sh):
 *   (none)   a blocking read(2): prepare_to_wait(), [W2], the look, sleep
 *   ET       epoll edge-triggered (io_uring multishot alike): queued from
 *            the start, drains through the mapping, waits for an event,
 *            then ->poll says whether it is ready
 *   K=1      a watermark of 2 granules (producer 1's record 2 granules)
 *
 * Plants:
 *   PLANT_NO_W1            the producer's look at the queue may pass its
 *                          stamp (no full barrier in wq_has_sleeper())
 *   PLANT_NO_W2            the consumer's look at the ring may pass its
 *                          enqueue (no barrier in set_current_state())
 *   PLANT_CLAIM_RELAXED    (ET) the claim's head store may wait in the
 *                          buffer past the consumer's next look
 *   PLANT_HEAD_ONLY        only a record at the head is an edge (the
 *                          window of mpmcring_wake_due() gone)
 *   PLANT_NO_RESERVED      the edge does not ask for 2^k reserved bytes
 *                          but for 2^k committed ones (d1 measured to
 *                          the record's end): a watermark crossed by a
 *                          record finished before the crossing is missed
 */

#ifndef K
#define K 0
#endif
#define W (1 << K)	/* the watermark, granules */
#define NP 2
#if K > 0
#define SZ(i) (1 + (i == 1))
#define END 3
#else
#define SZ(i) 1
#define END 2
#endif

#define NONE 0
#define DONE 1		/* committed or discarded: a walker passes it */

byte prod;		/* prod_pos */
byte head;		/* the consumer area's head */
byte stamp[END + 1];	/* per granule: the stamp of the record there */
byte size_at[END + 1];	/* per granule: the size its header says */
bit queued;		/* the consumer is on the wait queue */
bit woken;		/* a wakeup it has not consumed */
bit asleep;		/* it waits for one now */
byte pdone;		/* producers done, their wake checks included */

/* Stores not yet in memory. */
byte pend_stamp[NP];	/* position + 1 */
bit pend_queued;
byte pend_head;		/* PLANT_CLAIM_RELAXED: the new head + 1 */

/*
 * mpmcring_ready(): a finished record at the head, 2^K reserved from it.
 * The consumer reads its own head store before it reaches memory.
 */
#define HEAD_C (pend_head != 0 -> pend_head - 1 : head)
#define READY_AT(h) (h != prod && prod - h >= W && stamp[h] != NONE)
#define READY READY_AT(head)
#define READY_C READY_AT(HEAD_C)

/* The wakeup (irq_work, then wake_up_poll()): under the queue's lock. */
inline wake() {
	atomic {
		if
		:: queued || pend_queued -> woken = 1
		:: else -> skip
		fi
	}
}

active proctype Mem() {
end:	do
	:: atomic { pend_stamp[0] -> stamp[pend_stamp[0] - 1] = DONE; pend_stamp[0] = 0 }
	:: atomic { pend_stamp[1] -> stamp[pend_stamp[1] - 1] = DONE; pend_stamp[1] = 0 }
	:: atomic { pend_queued -> queued = 1; pend_queued = 0 }
	:: atomic { pend_head -> head = pend_head - 1; pend_head = 0 }
	od
}

active [NP] proctype Producer() {
	byte pos, h, p, d0, d1;
	byte i = _pid - 1;

	/* the reservation's compare-and-swap on prod_pos, the header */
	atomic { pos = prod; prod = prod + SZ(i); size_at[pos] = SZ(i) };
	/* [P2] the stamp, a store-release (committed, or discarded) */
	pend_stamp[i] = pos + 1;
	/* mpmcring_maybe_wake(): [W1] a full barrier, then the queue */
#ifndef PLANT_NO_W1
	(pend_stamp[i] == 0);
#endif
	if
	:: queued ->
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
		:: d0 < d1 && d0 == 0 && d1 >= W -> wake()
#else
		:: d0 < d1 && d0 < W && d1 >= W -> wake()
#endif
		:: else -> skip	/* wake_missed: the tick's */
		fi
	:: else -> skip
	fi;
	pdone++
}

/*
 * Claims the record at the head, one at a time, while one is finished
 * there (a discarded one is passed the same way). The only consumer: its
 * compare-and-swap on the head always wins, a store straight to memory
 * (PLANT_CLAIM_RELAXED: into the buffer).
 */
inline drain() {
	do
	:: HEAD_C < prod && stamp[HEAD_C] != NONE ->
		atomic {
			h2 = HEAD_C;
#ifdef PLANT_CLAIM_RELAXED
			pend_head = h2 + size_at[h2] + 1
#else
			head = h2 + size_at[h2]
#endif
		}
	:: else -> break
	od
}

#ifndef ET
/* A blocking read(2): mpmcring_wait_readable(). */
active proctype Consumer() {
	byte h2;

	do
	:: HEAD_C == END -> break
	:: else ->
		if
		:: READY_C -> drain()
		:: else ->
			/* prepare_to_wait(): on the queue, [W2], the look */
			atomic { woken = 0; pend_queued = 1 };
#ifndef PLANT_NO_W2
			(pend_queued == 0);
#endif
			if
			:: READY_C -> skip
			:: else ->
				asleep = 1;
end_sleep:			woken;
				asleep = 0
			fi;
			/* finish_wait() */
			atomic { queued = 0; pend_queued = 0 }
		fi
	od
}
#else
/*
 * Edge-triggered epoll: on the queue from the start (ep_insert() polled
 * once: nothing ready then), drains through the mapping, then
 * epoll_wait() until an event, whose ->poll says whether it is ready.
 */
active proctype Consumer() {
	byte h2;

	queued = 1;
	do
	:: HEAD_C == END -> break
	:: else ->
		drain();
		if
		:: HEAD_C == END -> break
		:: else -> skip
		fi;
		asleep = 1;
end_sleep:	woken;
		atomic { asleep = 0; woken = 0 };
		/* ep_send_events(): ->poll; not ready: the event is gone */
		do
		:: READY_C -> break
		:: else ->
			asleep = 1;
end_again:		woken;
			atomic { asleep = 0; woken = 0 }
		od
	od
}
#endif

/* Once all else is done and quiet: asleep, not woken, with records ready. */
active proctype Checker() {
end:	atomic {
		pdone == NP && asleep && !woken && pend_stamp[0] == 0 &&
		pend_stamp[1] == 0 && pend_queued == 0 && pend_head == 0 ->
		assert(!READY)
	}
}
