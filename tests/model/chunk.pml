/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A Promela model of chunked reservation (proto/mpmcring_chunk.h): owners
 * that reserve their records from chunks of their own, opened with one
 * compare-and-swap on prod_pos; a same-level re-entry on the first owner's
 * chunk (a tracing program on its CPU that produces into the same ring),
 * which runs to its end while that owner waits, starting at any of the
 * owner's steps; closers that close any chunk at any moment (the module's
 * tick, its unpin scans, the jiffy's and the stuck head's, destroy: which
 * chunk a scan picks is a subset of that choice, so within these bounds
 * the model's safety covers each rule; that a stuck ring gets going again
 * is liveness, which the tick's close of every chunk ensures and the
 * cases of tests/kunit/chunk.c show for each rule); a producer that
 * reserves alone. Each
 * model step is one access to a shared word, as the code makes it, and
 * positions are bytes that wrap (the ring starts just below the wrap, as
 * a u64 ring may start just below 2^64). tests/model/chunks.sh checks it;
 * docs/model.md ("Chunks") has what it shows.
 *
 * The properties, on a ring with no consumers and no reclaim (what a chunk
 * changes is who takes which part of [head, prod_pos); claims and reclaim
 * stop at a chunk's unfilled space as at any record being written):
 *   - no two reservations, records or fillers, share a granule, and none
 *     lies past the ring's capacity (asserted as each is taken);
 *   - at the end, once destroy has closed every chunk, every granule up to
 *     prod_pos belongs to a record or a filler: no chunk's rest is left
 *     unframed, where claims and reclaim would stop for good.
 *
 * Memory is sequentially consistent here. The pair [K1]/[K2] orders the
 * opener's stores of end and fill and a closer's loads of them; the
 * closer's pass-over test (no open chunk has chunk_bytes or more left) is
 * what makes any pair it reads safe, and -DK_ANY_ORDER lets the opener
 * store them, and the closers load them, in either order, to show it.
 * Class limits (max_used) are left out: only the owner and its same-CPU
 * re-entries read them, in program order.
 *
 * Plants (chunks.sh builds one verifier for each, -D<name>):
 *   PLANT_CLOSE_ALL      a closer closes whatever fill and end it reads:
 *                        no pass-over of an opener's window
 *   PLANT_NO_BUSY        no busy word: a re-entry in the owner's slow path
 *                        opens a chunk of its own there
 *   PLANT_OPEN_OPEN      the owner opens a new chunk whether or not the
 *                        old one closed
 *   PLANT_LOOK_ANY_ROOM  the first look takes room of chunk_bytes or more
 *   PLANT_LOOK_NOT_BUSY  the first look does not keep off a busy chunk
 * The last three alone are no bug (chunks.sh checks that they pass): the
 * first look's two tests each keep a re-entry out of the opener's window,
 * and under the rules the close before an opening always closes.
 *
 * Bounds: one closer with at most CLOSES closes, one re-entry, two chunks
 * of an owner's history; a record alone tries TRIES times (the code:
 * MPR_RESERVE_TRIES, with reclaim rounds, which this ring without
 * consumers has no use for). The closer's pass-over argument does not
 * depend on how stale its pair is (the chunk size is fixed for the ring's
 * life), which these bounds cannot show for every staleness. Nothing ties
 * this model to the code by markers (tests/model/check-markers.sh covers
 * mpmcring.pml): a change to mpmcring_chunk.h updates it by hand.
 */

#ifndef B
#define B	4	/* chunk_bytes, in granules */
#endif
#ifndef CAP
#define CAP	14	/* the ring's capacity, in granules */
#endif
#ifndef START
#define START	250	/* the first position: positions wrap at 256 */
#endif
#ifndef NOWN
#define NOWN	2	/* owners, a chunk each */
#endif
#ifndef RECS
#define RECS	2	/* reservations by owner 0 */
#endif
#ifndef RECS1
#define RECS1	1	/* reservations by each other owner */
#endif
#ifndef IRQ
#define IRQ	1	/* re-entries on chunk 0 (0 or 1) */
#endif
#ifndef CLOSES
#define CLOSES	2	/* closes by the closer, at most */
#endif
#ifndef ALONE
#define ALONE	0	/* records a producer without chunks reserves */
#endif
#ifndef MAXNEED
#define MAXNEED	3	/* a record takes 1 .. MAXNEED granules */
#endif
#define TRIES	4	/* MPR_CHUNK_TRIES */

#define M(x)	((x) & 255)	/* u64 arithmetic, in bytes */
#define AT(p)	M((p) - START)	/* a position's granule in own[] */

byte prod = START;
byte c_fill[NOWN];
byte c_end[NOWN];
bit c_busy[NOWN];
bit irq_on;		/* the re-entry runs: owner 0 waits */
byte own[CAP];		/* 0: free; 1: a record; 2: a filler */

/*
 * Takes [pos, pos + n) for what; inside the step that won it. A context's
 * own records (what 1) come at increasing positions.
 */
inline mark(pos, n, what)
{
	if
	:: what == 1 -> assert(AT(pos) >= nextat); nextat = AT(pos) + n
	:: else -> skip
	fi;
	k = 0;
	do
	:: k < n ->
		assert(AT(pos + k) < CAP);	/* within the ring */
		assert(own[AT(pos + k)] == 0);	/* nobody else's */
		own[AT(pos + k)] = what;
		k++
	:: else -> break
	od
}

/* The closer's loads of fill and end ([K2]: fill first). */
inline load_pair(j, f, e)
{
#ifdef K_ANY_ORDER
	if
	:: f = c_fill[j]; e = c_end[j]
	:: e = c_end[j]; f = c_fill[j]
	fi
#else
	f = c_fill[j];
	e = c_end[j]
#endif
}

/* mpr_chunk_close(): cl says whether this call closed it. */
inline chunk_close(j, cf, ce, cl)
{
	cl = 0;
	load_pair(j, cf, ce);
#ifdef PLANT_CLOSE_ALL
	if
	:: cf == ce -> skip
#else
	if
	:: cf == ce || M(ce - cf) >= B -> skip
#endif
	:: else ->
		atomic {
			if
			:: c_fill[j] == cf ->
				c_fill[j] = ce;
				mark(cf, M(ce - cf), 2);
				cl = 1
			:: else -> skip
			fi
		}
	fi
}

/* mpr_reserve_fast(): one attempt, no reclaim. */
inline reserve_fast(size, s, ok, lost)
{
	p = prod;
	if
	:: AT(p) + size > CAP -> ok = 0; lost = 0
	:: else ->
		atomic {
			if
			:: prod == p -> prod = M(p + size); s = p; ok = 1
			:: else -> ok = 0; lost = 1
			fi
		}
	fi
}

/* mpr_reserve(): a record alone (no reclaim here: nothing is claimed). */
inline reserve_alone(need)
{
	tries2 = 0;
	do
	:: tries2 < TRIES ->
		p = prod;
		if
		:: AT(p) + need > CAP -> break
		:: else ->
			atomic {
				if
				:: prod == p ->
					prod = M(p + need);
					mark(p, need, 1);
					got = 1
				:: else -> skip
				fi
			};
			if
			:: got -> break
			:: else -> tries2++
			fi
		fi
	:: else -> break
	od
}

/* The opener's stores: end, then fill ([K1]). */
inline open_stores(id, s, need)
{
#ifdef K_ANY_ORDER
	if
	:: c_end[id] = M(s + B);
	   atomic { c_fill[id] = M(s + need); mark(s, need, 1) }
	:: atomic { c_fill[id] = M(s + need); mark(s, need, 1) };
	   c_end[id] = M(s + B)
	fi
#else
	c_end[id] = M(s + B);
	atomic { c_fill[id] = M(s + need); mark(s, need, 1) }
#endif
}

/* mpr_chunk_reserve_slow() */
inline reserve_slow(id, need)
{
#ifdef PLANT_NO_BUSY
	if
	:: false -> skip
#else
	if
	:: c_busy[id] -> reserve_alone(need)
#endif
	:: else ->
#ifndef PLANT_NO_BUSY
		c_busy[id] = 1;
#endif
		tries = 0;
		do
		:: tries < TRIES ->
			f = c_fill[id];
			e = c_end[id];
			if
			:: f == e || M(e - f) >= B -> break
			:: else -> skip
			fi;
			if
			:: need <= M(e - f) ->
				atomic {
					if
					:: c_fill[id] == f ->
						c_fill[id] = M(f + need);
						mark(f, need, 1);
						got = 1
					:: else -> skip
					fi
				};
				if
				:: got -> break
				:: else -> tries++
				fi
			:: else -> chunk_close(id, cf, ce, cl); tries++
			fi
		:: else -> break
		od;
		if
		:: got -> skip
		:: else ->
			chunk_close(id, cf, ce, cl);
			f = c_fill[id];
			e = c_end[id];
#ifdef PLANT_OPEN_OPEN
			closed = 1;
#else
			closed = (f == e);
#endif
			tries = 0;
			do
			:: closed && need <= B / 2 && tries < TRIES ->
				reserve_fast(B, s, ok, lost);
				if
				:: ok -> open_stores(id, s, need); got = 1; break
				:: !ok && !lost -> break
				:: else -> tries++
				fi
			:: else -> break
			od;
			if
			:: got -> skip
			:: else -> reserve_alone(need)
			fi
		fi;
		c_busy[id] = 0
	fi
}

/* The temporaries, dead after a reservation: fewer states. */
inline forget()
{
	d_step {
		f = 0; e = 0; cf = 0; ce = 0; room = 0; p = 0; s = 0; k = 0;
		tries = 0; tries2 = 0; got = 0; ok = 0; lost = 0; cl = 0;
		closed = 0
	}
}

/* mpr_chunk_reserve(): the first look, then the slow path. */
inline chunk_reserve(id, need)
{
	got = 0;
	f = c_fill[id];
	e = c_end[id];
	room = M(e - f);
	if
#if defined(PLANT_LOOK_ANY_ROOM) && (defined(PLANT_LOOK_NOT_BUSY) || defined(PLANT_NO_BUSY))
	:: need <= room ->
#elif defined(PLANT_LOOK_ANY_ROOM)
	:: need <= room && !c_busy[id] ->
#elif defined(PLANT_LOOK_NOT_BUSY) || defined(PLANT_NO_BUSY)
	:: need <= room && room < B ->
#else
	:: need <= room && room < B && !c_busy[id] ->
#endif
		atomic {
			if
			:: c_fill[id] == f ->
				c_fill[id] = M(f + need);
				mark(f, need, 1);
				got = 1
			:: else -> skip
			fi
		}
	:: else -> skip
	fi;
	if
	:: got -> skip
	:: else -> reserve_slow(id, need)
	fi;
	forget()
}

#define LOCALS	byte f, e, cf, ce, room, p, s, need, k, tries, tries2, nextat; \
		bit got, ok, lost, cl, closed

/*
 * Owner 0 (the first process init runs: pid 1) waits while its re-entry
 * runs (same CPU, same level).
 */
proctype owner(byte id) provided (_pid != 1 || !irq_on)
{
	LOCALS;
	byte r = 0;

	do
	:: (id == 0 && r < RECS) || (id != 0 && r < RECS1) ->
		if
		:: need = 1
		:: MAXNEED >= 2 -> need = 2
		:: MAXNEED >= 3 -> need = 3
		fi;
		chunk_reserve(id, need);
		need = 0;
		r++
	:: else -> break
	od
}

/* A same-level re-entry on chunk 0, at any step of owner 0. */
proctype reentry()
{
	LOCALS;

	irq_on = 1;
	if
	:: need = 1
	:: MAXNEED >= 2 -> need = 2
	fi;
	chunk_reserve(0, need);
	irq_on = 0
}

/* Any context, any chunk, any moment. */
proctype closer()
{
	LOCALS;
	byte n = 0, j;

	do
	:: n < CLOSES ->
		select(j : 0 .. NOWN - 1);
		chunk_close(j, cf, ce, cl);
		d_step { cf = 0; ce = 0; cl = 0; j = 0; k = 0 };
		n++
	:: break
	od
}

proctype alone()
{
	LOCALS;
	byte r = 0;

	do
	:: r < ALONE ->
		if
		:: need = 1
		:: need = 2
		fi;
		got = 0;
		reserve_alone(need);
		r++
	:: else -> break
	od
}

init {
	LOCALS;
	byte j;

	atomic {
		j = 0;
		do
		:: j < NOWN -> c_fill[j] = START; c_end[j] = START; j++
		:: else -> break
		od;
		j = 0;
		do
		:: j < NOWN -> run owner(j); j++
		:: else -> break
		od;
		if
		:: IRQ -> run reentry()
		:: else -> skip
		fi;
		run closer();
		if
		:: ALONE -> run alone()
		:: else -> skip
		fi
	}
	_nr_pr == 1;
	/* destroy: every chunk closed, then the ring framed to prod_pos */
	j = 0;
	do
	:: j < NOWN -> chunk_close(j, cf, ce, cl); j++
	:: else -> break
	od;
	k = 0;
	do
	:: k < AT(prod) -> assert(own[k] != 0); k++
	:: else -> break
	od
}
