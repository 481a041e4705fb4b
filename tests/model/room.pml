/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A Promela model of the room wakeup: a write(2) producer that found no
 * room asks to be woken (kmod/room.c: mpmcring_want_room_or_room()), a
 * mapped consumer's commit frees the room it waits behind and asks for
 * it when the meta page's room_at says a writer waits (the library's
 * mpr_lib_room(): MPMCRING_IOC_ROOM, mpmcring_room_kick()), and reclaims
 * that run meanwhile (a kernel producer's, the tick's) hold the reclaim
 * bit. tests/model/wakeups.sh checks it; docs/model.md ("The wakeups")
 * has what it shows.
 *
 * The property: no lost wakeup. The tick is left out on purpose (it wakes
 * every writer within 100 ms): with it gone, a writer asleep at the end
 * with nobody left to wake it is an invalid end state, and spin reports
 * the interleaving. A writer is woken or finds the room itself. A
 * non-blocking write's poller is the same writer: it asks, reclaims and
 * looks the same way, and waits for POLLOUT instead of sleeping in the
 * write.
 *
 * Memory is weaker than spin's sequential consistency here: each
 * process's stores to the shared words sit in a buffer, one per word, and
 * reach memory in any order (Mem), as a store buffer that does not keep
 * their order would (the kernel's memory model allows more). A full
 * barrier waits for the process's own buffer to drain; a fully ordered
 * read-modify-write (the commit's exchange, the compare-and-swap that
 * stores room_at, the one that takes the reclaim bit) drains it and
 * stores straight to memory. Loads are not reordered: [W6] (the kick's
 * barrier before it loads out_waiters) cannot be planted out.
 *
 * The reclaim word counts (kmod/env.h): taking the bit and letting it go
 * each add one. mpmcring_reclaim_after() reads it after the caller's full
 * barrier ([W8]) and is done once a reclaim that took the bit after that
 * read ([W9]) has ended, its own or another's. Its time bound (a holder
 * whose CPU the hypervisor took) is not modelled.
 *
 * One writer, one consumer (a mapped one: read(2) kicks after every
 * commit, which asks more often, never less), one record held. The claim
 * of discarded records only ([M:claim-discards]) releases its announce
 * with the same exchange and asks the same way as the commit below. The
 * consumer asks whenever room_at is set: the library's further check
 * (its claim began before the target, the head reached it) is about
 * which consumer asks, and with one there is no other.
 *
 * With -DSTANDING, room_at already holds an earlier writer's target that
 * reclaim has not reached (that writer gone): mpmcring_room_at_lower()
 * stores nothing, and only [W5] and [W7] order the writer's bit.
 *
 * Plants (wakeups.sh builds one verifier for each, -D<name>):
 *   PLANT_RECLAIM_BEST_EFFORT  the writer's reclaim after [W5] gives up
 *                              when another holds the bit (the module
 *                              before this model: that one may have
 *                              read the slot before the commit)
 *   PLANT_AFTER_RUNNING        mpmcring_reclaim_after() takes the end of
 *                              the reclaim running when it looked, which
 *                              began before it
 *   PLANT_KICK_BEST_EFFORT     the kick's reclaim gives up when another
 *                              holds the bit
 *   PLANT_NO_W5, PLANT_NO_W7   the writer's barriers (both out, with
 *                              STANDING: either one orders the bit, and
 *                              the compare-and-swap that stores room_at
 *                              orders everything before it)
 *   PLANT_C6_RELEASE           the commit a store-release, not an
 *                              exchange: room_at may be loaded first
 *   PLANT_NO_ASK               the consumer never asks (only the tick
 *                              would wake the writer)
 */

#define IDLE 0
#define HELD 1

byte start = HELD;	/* the consumer's slot: the claim the writer waits behind */
#ifdef STANDING
bit room_at = 1;	/* the meta page: a writer waits for room */
#else
bit room_at;
#endif
bit out_waiters;	/* the writer's class bit */
bit room;		/* reclaim_pos went past the held record */
byte rword;		/* the reclaim word: odd while a reclaim runs */
bit woken;		/* a wake_up_poll() the writer's wait has seen */

/* Stores not yet in memory: one per word, drained in any order. */
bit pend_ow, pend_start;

/* A full barrier: this process's stores reach memory first. */
#define MB_WRITER	(pend_ow == 0)
#define MB_CONSUMER	(pend_start == 0)

/*
 * mpr_env_trylock(): [W9] a fully ordered compare-and-swap, if even: when
 * it succeeds, the caller's buffer (drained, mb) has reached memory first.
 */
inline trylock(got, drained) {
	atomic {
		if
		:: (rword & 1) == 0 && drained -> rword++; got = 1
		:: (rword & 1) == 1 -> got = 0
		fi
	}
}

/*
 * mpr_reclaim() under the bit: frees the record if its claim ended; then
 * mpr_env_unlock(), a store-release that adds one.
 */
inline reclaim_locked() {
	if
	:: start == IDLE -> room = 1
	:: else -> skip
	fi;
	rword++
}

/*
 * mpmcring_reclaim_after(): [W8] the word, after the caller's barrier;
 * done once it reaches the end of a reclaim that began after that load,
 * or after this caller's own.
 */
inline reclaim_after(s, done, got, drained) {
	s = rword;
#ifdef PLANT_AFTER_RUNNING
	done = s + 2 - (s & 1);
#else
	done = s + 2 + (s & 1);
#endif
	do
	:: rword >= done -> break
	:: (rword & 1) == 0 ->
		trylock(got, drained);
		if
		:: got -> reclaim_locked(); break
		:: else -> skip
		fi
	od
}

/* mpmcring_reclaim(): once, if the bit is free. */
inline reclaim_once(got, drained) {
	trylock(got, drained);
	if
	:: got -> reclaim_locked()
	:: else -> skip
	fi
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
	:: atomic { pend_start -> start = IDLE; pend_start = 0 }
	od
}

/* The writer: found no room for its record; wants it, then looks. */
active proctype Writer() {
	bit got;
	byte s, done;

	/* mpmcring_want_room(): the bit, [W7], the target, [W5] */
	pend_ow = 1;
#ifndef PLANT_NO_W7
	MB_WRITER;
#endif
#ifndef STANDING
	/* mpmcring_room_at_lower()'s compare-and-swap: fully ordered */
	atomic { MB_WRITER -> room_at = 1 };
#endif
#ifndef PLANT_NO_W5
	MB_WRITER;
#endif
#ifdef PLANT_RECLAIM_BEST_EFFORT
	reclaim_once(got, MB_WRITER);
#else
	reclaim_after(s, done, got, MB_WRITER);
#endif
	/* the look: room found, or asleep until a wakeup */
	if
	:: room -> skip
	:: else -> woken
	fi
}

/*
 * The consumer: commits the claim the writer waits behind and, seeing
 * room_at, asks for the room (MPMCRING_IOC_ROOM).
 */
active proctype Consumer() {
	bit got;
	byte s, done;

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
#ifdef PLANT_KICK_BEST_EFFORT
			reclaim_once(got, MB_CONSUMER);
#else
			reclaim_after(s, done, got, MB_CONSUMER);
#endif
			backstop()
		:: else -> skip
		fi
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
	bit got;

	trylock(got, true);
	if
	:: got ->
		/* the slot's load and the free as two steps */
		if
		:: start == IDLE -> got = 1
		:: else -> got = 0
		fi;
		if
		:: got -> room = 1
		:: else -> skip
		fi;
		rword++
	:: else -> skip
	fi
}
