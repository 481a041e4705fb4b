/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A Promela model of the room wakeup: a write(2) producer that found no
 * room asks to be woken (kmod/room.c: mpmcring_want_room_or_room()), a
 * mapped consumer's commit frees the room it waits behind and asks for
 * it when the meta page's room_at says a writer waits (the library's
 * mpr_lib_room(): MPMCRING_IOC_ROOM, mpmcring_room_kick()), and reclaims
 * that run meanwhile (a kernel producer's, the tick's) hold the reclaim
 * bit. tests/model/wakeups.sh checks it; docs/model.md has what it shows.
 *
 * The property: no lost wakeup. The tick is left out on purpose (it wakes
 * every writer within 100 ms): with it gone, a writer asleep at the end
 * with nobody left to wake it is an invalid end state, and spin reports
 * the interleaving. A writer is woken or finds the room itself.
 *
 * With -DLAST_WANT the writer is a non-blocking write(2)'s last want
 * (after MPMCRING_WRITE_LOOKS looks): EAGAIN with its bit and target set
 * and no reclaim or look after them, its poller waiting for POLLOUT.
 * A commit that came before the target was visible is left to the tick
 * then; the property is that a consumer that saw the target wakes it
 * (an assertion after the kick). Without the look, [W5]'s barrier no
 * longer orders the bit before anything, and [W7] is what does.
 *
 * Memory is weaker than spin's sequential consistency here: each
 * process's stores to the shared words sit in a buffer, one per word, and
 * reach memory in any order (Mem), as a store buffer that does not keep
 * their order would (the kernel's memory model allows more). A full
 * barrier waits for the process's own buffer to drain; an exchange is a
 * store straight to memory (a full barrier on both sides). So the
 * store-buffering pair [W5]/[C6] and the message-passing pair [W7]/[W6]
 * (the writer's side) can fail when a barrier is planted out. Loads are
 * not reordered: [W6] (the kick's barrier before it loads out_waiters)
 * cannot be planted out here.
 *
 * One writer, one consumer (a mapped one: read(2) kicks after every
 * commit, which asks more often, never less), one record held. The claim
 * of discarded records only ([M:claim-discards]) releases its announce
 * with the same exchange and asks the same way as the commit below.
 *
 * Plants (wakeups.sh builds one verifier for each, -D<name>):
 *   PLANT_RECLAIM_BEST_EFFORT  the writer's reclaim after [W5] gives up
 *                              when another reclaim holds the bit (the
 *                              module before this model: that one may
 *                              have read the slot before the commit)
 *   PLANT_NO_W5                no barrier between room_at and the
 *                              writer's reclaim
 *   PLANT_NO_W7                no barrier between out_waiters and room_at
 *                              (with LAST_WANT: otherwise [W5]'s barrier
 *                              orders the bit before the writer's
 *                              reclaim, and the plant changes nothing)
 *   PLANT_C6_RELEASE           the commit a store-release, not an
 *                              exchange: room_at may be loaded first
 *   PLANT_NO_ASK               the consumer never asks (only the tick
 *                              would wake the writer)
 */

#define IDLE 0
#define HELD 1

byte start = HELD;	/* the consumer's slot: the claim the writer waits behind */
bit room_at;		/* the meta page: a writer waits for room */
bit out_waiters;	/* the writer's class bit */
bit room;		/* reclaim_pos went past the held record */
bit rbit;		/* the reclaim bit */
bit woken;		/* a wake_up_poll() the writer's wait has seen */
bit writer_done;	/* LAST_WANT: the writer's bit and target are set */

/* Stores not yet in memory: one per word, drained in any order. */
bit pend_ow, pend_ra, pend_start;

/* A full barrier: this process's stores reach memory first. */
#define MB_WRITER	(pend_ow == 0 && pend_ra == 0)
#define MB_CONSUMER	(pend_start == 0)

/* mpr_reclaim() under the bit: frees the record if its claim ended. */
inline reclaim_locked() {
	if
	:: start == IDLE -> room = 1
	:: else -> skip
	fi;
	rbit = 0
}

/*
 * mpmcring_room_backstop(): wakes the class if it has room and its bit
 * is set, taking the bit.
 */
inline backstop() {
	atomic {
		if
		:: room && out_waiters -> out_waiters = 0; woken = 1
		:: else -> skip
		fi
	}
}

active proctype Mem() {
end:	do
	:: atomic { pend_ow -> out_waiters = 1; pend_ow = 0 }
	:: atomic { pend_ra -> room_at = 1; pend_ra = 0 }
	:: atomic { pend_start -> start = IDLE; pend_start = 0 }
	od
}

/* The writer: found no room for its record; wants it, then looks. */
active proctype Writer() {
	bit got;

	/* mpmcring_want_room(): [W7] the bit, a full barrier, the target */
	pend_ow = 1;
#ifndef PLANT_NO_W7
	MB_WRITER;
#endif
	pend_ra = 1;
	/* [W5]: room_at before the reclaim loads the slot */
#ifndef PLANT_NO_W5
	MB_WRITER;
#endif
#ifdef LAST_WANT
	writer_done = 1
#else
#ifdef PLANT_RECLAIM_BEST_EFFORT
	/* mpmcring_reclaim(): once, if the bit is free */
	atomic {
		if
		:: rbit == 0 -> rbit = 1; got = 1
		:: else -> got = 0
		fi
	};
#else
	/* mpmcring_reclaim_after(): after a reclaim running now */
	atomic { rbit == 0 -> rbit = 1 };
	got = 1;
#endif
	if
	:: got -> reclaim_locked()
	:: else -> skip
	fi;
	/* the look: room found, or asleep until a wakeup */
	if
	:: room -> skip
	:: else -> woken
	fi
#endif
}

/*
 * The consumer: commits the claim the writer waits behind and, seeing
 * room_at, asks for the room (MPMCRING_IOC_ROOM).
 */
active proctype Consumer() {
	/* [C6]: the commit's exchange, then room_at */
#ifdef PLANT_C6_RELEASE
	pend_start = 1;
#else
	start = IDLE;
#endif
#ifndef PLANT_NO_ASK
	if
	:: room_at ->
		/* mpmcring_room_kick(): [W6] a full barrier, out_waiters */
		MB_CONSUMER;
		if
		:: out_waiters ->
			/* mpmcring_reclaim_after(), then the backstop */
			atomic { rbit == 0 -> rbit = 1 };
			reclaim_locked();
			backstop()
		:: else -> skip
		fi;
#ifdef LAST_WANT
		/* It saw the target, so the poller is owed its wakeup. */
		assert(woken)
#else
		skip
#endif
	:: else -> skip
	fi
#endif
}

/*
 * A reclaim of someone else's (a kernel producer that found the ring
 * full, the tick's without its backstop), at any moment: it may read
 * the slot before the commit and free nothing, holding the bit while
 * the writer's reclaim would run.
 */
active proctype Reclaimer() {
	bit seen;

	atomic {
		if
		:: rbit == 0 -> rbit = 1
		:: else -> goto out
		fi
	};
	seen = (start == IDLE);
	if
	:: seen -> room = 1
	:: else -> skip
	fi;
	rbit = 0;
out:	skip
}
