// SPDX-License-Identifier: GPL-2.0-only
/*
 * Producers: reserve, write in place, commit. Safe in every context (task,
 * softirq, hardirq, NMI): no locks, no sleeping, a bounded number of
 * compare-and-swaps. The protocol steps are in proto/mpmcring_proto.h; this
 * file adds the per-context bookkeeping, the counters and the wakeups.
 *
 * Preemption stays disabled from a context's first outstanding reservation
 * to its last commit (a per-(CPU, interrupt level) count says which is the
 * last): a task the scheduler put aside with a reservation in hand would
 * hold up reclaim at that record for every producer. A reservation must
 * therefore be committed or discarded in the context that made it, without
 * sleeping in between. Nothing about memory safety depends on that: reclaim
 * never frees a record whose stamp is not written (see mpr_reclaim()).
 * mpmcring_output() finishes its record before it returns: its first
 * attempt keeps preemption off over its own reserve, copy and commit and
 * needs no count (an interrupt nesting there finishes its own records
 * before it returns; a reservation this context holds keeps its count).
 */
#include <linux/string.h>
#include <linux/irq_work.h>
#include <kunit/visibility.h>

#include "env.h"

/* Counts n refused records by reason and class; any context. */
void mpmcring_count_drop(struct mpmcring *ring, int reason, u32 prio,
			 unsigned int n)
{
	mpmcring_count(ring, dropped[reason][prio], n);
	mpr_atomic_add(&ring->view.meta->lost_dropped, n);
}

/*
 * A record refused for room, counted or not (a blocking writer waits):
 * every watermark counts as reached while the head stays where it is now
 * (mpmcring_ready()), and the first refusal at a head is an edge for
 * sleepers, as a commit is: no commit may come to wake them, with the
 * ring refusing (a file's watermark its records cannot reach). Only with
 * sleepers: a consumer that polls later sees the next refusal's mark (a
 * writer that waits for room makes none: it marks its own,
 * mpmcring_refused_writer_waits()), and in a flood the consumers' head
 * line stays out of the refusals. The mark (mpmcring_refused_mark())
 * asks the tick for the wakeup (mpmcring_backstop()), as a commit that
 * woke nobody does. On a chunked ring, a chunk its CPU stopped filling
 * may be what holds the ring up: mpmcring_chunks_unpin() closes it, so
 * that consumers get past it (the refusal stands: what they free later
 * makes the room). Any context, preemption on or off.
 */
static void mpmcring_refused_for_room(struct mpmcring *ring)
{
	if (ring->chunk_bytes)
		mpmcring_chunks_unpin(ring);
	/*
	 * No barrier: a sleeper queued meanwhile has looked at the ring
	 * after queueing ([W2]) and found it not ready; the next refusal
	 * marks it, and the tick wakes it.
	 */
	if (waitqueue_active(&ring->wq))
		mpmcring_refused_mark(ring);
}

/*
 * True once the ring's destroy began; looked at with preemption off, before
 * the reservation. A reservation keeps preemption off until its commit
 * (see the top of this file), and a preemption-off region is an RCU
 * read-side section to synchronize_rcu(): [D4] pairs with [D3] in
 * mpmcring_destroy(). A producer that found the ring open has committed
 * before the destroy's grace period ends, so before consumers are told the
 * end; one that looks later is refused with -EPIPE and writes nothing.
 * Without it a module producing into a ring another one owns (found by
 * name) went on committing records after the end, which no consumer
 * reads, and counted them as sent. Not a drop of the ring: no record
 * reached it, and the producer is told.
 */
static __always_inline bool mpmcring_closed(struct mpmcring *ring)
{
	return unlikely(READ_ONCE(ring->closing));
}

static unsigned int *mpmcring_depth(struct mpmcring *ring)
{
	return this_cpu_ptr(ring->depth) + interrupt_context_level();
}

/*
 * The bookkeeping of n records reserved at pos, preemption off: one for
 * the reservations a caller commits later (mpmcring_reserve_from(),
 * mpmcring_reserve()); mpmcring_output()'s first attempt, which commits
 * before it returns, writes its header itself and skips the rest.
 * Counts them for this context, writes their headers, fills rsv. Only this
 * context touches its count; an interrupt that nests here adds and takes
 * away its own before it returns. The context's first reservation keeps
 * preemption off until its last commit; nested ones do not add to it.
 */
static __always_inline void mpmcring_reserved(struct mpmcring *ring, u64 pos,
					      const u32 *lens, unsigned int n,
					      u32 prio, u8 rec_flags,
					      struct mpmcring_rsv *rsv)
{
	struct mpr_view *v = &ring->view;
	unsigned int level = interrupt_context_level();
	unsigned int *depth = this_cpu_ptr(ring->depth) + level;
	bool first = !*depth;
	unsigned int i;

	*depth += n;
	for (i = 0; i < n; i++) {
		mpr_write_hdr(v, pos, lens[i], prio, rec_flags);
		rsv[i].data = mpr_payload(v, pos);
		rsv[i].len = lens[i];
		rsv[i].ring = ring;
		rsv[i].pos = pos;
		/* For mpmcring_unpin()'s check of the caller's contract. */
		if (IS_ENABLED(CONFIG_DEBUG_PREEMPT))
			rsv[i].level = level;
		pos += mpr_rec_size(v, lens[i]);
	}
	if (!first)
		preempt_enable();
}

/*
 * This CPU's chunk for this interrupt level (chunked rings), preemption
 * off: nothing else on this CPU fills it meanwhile (an interrupt that
 * nests has a level, and so a chunk, of its own).
 */
static struct mpr_chunk *mpmcring_chunk(struct mpmcring *ring)
{
	return mpmcring_chunk_at(this_cpu_ptr(ring->chunks),
				 interrupt_context_level());
}

/*
 * Reserves n records of the given payload lengths with one compare-and-swap
 * (chunked rings: in this CPU's chunk, mpr_chunk_reserve()).
 * count_drops is false for a blocking writer that will retry: it waits, it
 * does not drop. lost: the races a first attempt of the caller's own lost
 * (mpmcring_reserve()), or -1 when it made none. Lost races are -EAGAIN,
 * or -EBUSY when an overwrite ring's last round found the reclaim bit
 * taken (MPR_FAIL_BUSY): both counted as contention; the exported entry
 * points say -EAGAIN for both, write(2) waits for the bit on -EBUSY.
 */
static int mpmcring_reserve_from(struct mpmcring *ring, const u32 *lens,
				 unsigned int n, u32 prio, u8 rec_flags,
				 bool count_drops, struct mpmcring_rsv *rsv,
				 int lost)
{
	struct mpr_view *v = &ring->view;
	struct mpr_env env = { .ring = ring };
	u64 need = 0, pos;
	unsigned int i;
	int ret;

	if (!n || n > MPMCRING_BATCH_MAX || prio >= MPMCRING_NR_PRIO)
		return -EINVAL;
	/*
	 * An early look, so that a record too big for a ring whose destroy
	 * began is not counted as its drop; the look below decides.
	 */
	if (mpmcring_closed(ring))
		return -EPIPE;
	for (i = 0; i < n; i++) {
		/* A record carries at least one byte: read(2) returns 0 at EOF. */
		if (!lens[i])
			return -EINVAL;
		if (lens[i] > v->max_record) {
			if (count_drops)
				mpmcring_count_drop(ring, MPMCRING_DROP_TOO_BIG,
						    prio, n);
			return -EMSGSIZE;
		}
		need += mpr_rec_size(v, lens[i]);
	}

	preempt_disable();
	/* [D4] pairs with [D3] in mpmcring_destroy(): see mpmcring_closed(). */
	if (mpmcring_closed(ring)) {
		preempt_enable();
		return -EPIPE;
	}
	if (ring->chunk_bytes)
		ret = mpr_chunk_reserve(v, &env, mpmcring_chunk(ring),
					ring->chunk_bytes, need,
					ring->reserve_limit[prio],
					ring->chunk_open_max, &pos);
	else if (lost < 0)
		ret = mpr_reserve(v, &env, need, ring->reserve_limit[prio],
				  &pos);
	else
		ret = mpr_reserve_slow(v, &env, need, ring->reserve_limit[prio],
				       &pos, lost);
	if (ret) {
		if (ret == MPR_FAIL_FULL || ret == MPR_FAIL_PRIORITY)
			mpmcring_refused_for_room(ring);
		if (count_drops)
			mpmcring_count_drop(ring, ret == MPR_FAIL_FULL ?
					    MPMCRING_DROP_FULL :
					    ret == MPR_FAIL_PRIORITY ?
					    MPMCRING_DROP_PRIORITY :
					    MPMCRING_DROP_CONTENTION, prio, n);
		preempt_enable();
		if (ret == MPR_FAIL_BUSY)
			return -EBUSY;
		return ret == MPR_FAIL_CONTENTION ? -EAGAIN : -ENOSPC;
	}
	mpmcring_reserved(ring, pos, lens, n, prio, rec_flags, rsv);
	return 0;
}

/* Exported entry points: a reclaim bit found taken is a lost race too. */
static int mpmcring_busy_is_again(int err)
{
	return err == -EBUSY ? -EAGAIN : err;
}

int mpmcring_reserve_prio(struct mpmcring *ring, const u32 *lens,
			  unsigned int n, u32 prio, u8 rec_flags,
			  bool count_drops, struct mpmcring_rsv *rsv)
{
	return mpmcring_reserve_from(ring, lens, n, prio, rec_flags,
				     count_drops, rsv, -1);
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_reserve_prio);

/*
 * mpmcring_reserve() and mpmcring_output() past their first attempt, or for
 * anything that attempt does not take (bad flags or a zero length: refused
 * here; too big: refused and counted).
 */
static noinline int mpmcring_reserve_slow(struct mpmcring *ring, u32 len,
					  u32 flags, struct mpmcring_rsv *rsv,
					  int lost)
{
	if (flags & ~MPMCRING_F_PRIO_MASK)
		return -EINVAL;
	return mpmcring_busy_is_again(mpmcring_reserve_from(ring, &len, 1,
						MPMCRING_F_PRIO(flags), 0, true,
						rsv, lost));
}

/*
 * The common case of one record, one attempt, inline: what
 * mpmcring_reserve_from() does for one record. True when it reserved *pos,
 * preemption off; otherwise preemption is as it was and the caller goes the
 * whole way through mpmcring_reserve_slow(..., *lost), which refuses or
 * counts anything this did not take (bad flags or length, a ring that looks
 * full, a lost race) and goes on with the attempts left.
 *
 * chunked (a constant: each entry point is compiled twice, and picks by
 * the ring's chunk_bytes) makes the attempt a look at this CPU's open
 * chunk, as mpr_chunk_reserve()'s first look (*lost stays -1): the slow
 * path looks once more, then opens a chunk or reserves alone.
 */
static __always_inline bool mpmcring_reserve_first(struct mpmcring *ring,
						   u32 len, u32 flags,
						   u64 *pos, int *lost,
						   bool chunked)
{
	struct mpr_view *v = &ring->view;
	struct mpr_env env = { .ring = ring };
	u32 prio = MPMCRING_F_PRIO(flags);
	bool ok;

	*lost = -1;
	if (unlikely((flags & ~MPMCRING_F_PRIO_MASK) ||
		     prio >= MPMCRING_NR_PRIO || !len || len > v->max_record))
		return false;
	preempt_disable();
	/* [D4]; closed: the slow path refuses. */
	if (mpmcring_closed(ring))
		ok = false;
	else if (chunked)
		ok = mpr_chunk_take(mpmcring_chunk(ring), ring->chunk_bytes,
				    mpr_rec_size(v, len),
				    ring->reserve_limit[prio], pos);
	else
		ok = mpr_reserve_fast(v, &env, mpr_rec_size(v, len),
				      ring->reserve_limit[prio], pos, lost);
	if (unlikely(!ok)) {
		preempt_enable();
		return false;
	}
	return true;
}

static __always_inline int mpmcring_reserve_one(struct mpmcring *ring,
						u32 len, u32 flags,
						struct mpmcring_rsv *rsv,
						bool chunked)
{
	int lost;
	u64 pos;

	if (unlikely(!mpmcring_reserve_first(ring, len, flags, &pos, &lost,
					     chunked)))
		return mpmcring_reserve_slow(ring, len, flags, rsv, lost);
	mpmcring_reserved(ring, pos, &len, 1, MPMCRING_F_PRIO(flags), 0, rsv);
	return 0;
}

/*
 * Chunked rings' own copy: compiled apart, the unchunked one keeps near its
 * old count (80 -> 82 guest instructions an event in mpmcring_output()).
 */
static noinline int mpmcring_reserve_chunked(struct mpmcring *ring, u32 len,
					     u32 flags,
					     struct mpmcring_rsv *rsv)
{
	return mpmcring_reserve_one(ring, len, flags, rsv, true);
}

/**
 * mpmcring_reserve() - reserve space for one record
 * @ring: the ring
 * @len: payload bytes, at most the ring's max_record
 * @flags: MPMCRING_F_PRIO(class), class one of %MPMCRING_PRIO_LOW,
 *	%MPMCRING_PRIO_NORMAL, %MPMCRING_PRIO_CRITICAL
 * @rsv: filled on success; @rsv->data is where the @len payload bytes go
 *
 * Lock-free and never sleeps: callable in any context, NMI included. The
 * reservation must be finished with mpmcring_commit() or mpmcring_discard()
 * in the same context, without sleeping; preemption stays disabled until
 * then. A reservation refused for room, contention or size is counted as
 * a drop of the ring, by reason and class (one refused because the ring is
 * being destroyed is not: see -EPIPE).
 *
 * Return: 0; -EMSGSIZE when @len is too big; -ENOSPC when the ring is full
 * or the free space is under the class watermark (in overwrite mode: when
 * eviction could not make room, a claim or an unfinished record pinning the
 * oldest data); -EAGAIN when other producers kept winning the race (in
 * overwrite mode also: another held the reclaim bit, took the room this
 * reservation's eviction made, or its walks stopped at their bounds, or a
 * consumer's claim moved the head first);
 * -EPIPE once the ring's destroy began (mpmcring_destroy(), by its owner:
 * a ring found with mpmcring_get_by_name() can go while it is held; not a
 * drop of the ring, which takes no more records: the caller counts it);
 * -EINVAL for bad @flags or a zero @len
 * (not counted as drops: they are the caller's errors).
 */
int mpmcring_reserve(struct mpmcring *ring, u32 len, u32 flags,
		     struct mpmcring_rsv *rsv)
{
	if (unlikely(ring->chunk_bytes))
		return mpmcring_reserve_chunked(ring, len, flags, rsv);
	return mpmcring_reserve_one(ring, len, flags, rsv, false);
}
EXPORT_SYMBOL_GPL(mpmcring_reserve);

/**
 * mpmcring_reserve_batch() - reserve several records with one atomic step
 * @ring: the ring
 * @lens: payload bytes of each record
 * @n: number of records, 1 to %MPMCRING_BATCH_MAX
 * @flags: as for mpmcring_reserve(), applying to every record
 * @rsv: array of @n reservations, filled on success
 *
 * All or nothing: the records are consecutive in the ring and each must be
 * finished with mpmcring_commit() or mpmcring_discard(), in any order, in
 * the reserving context. A failure counts @n drops (-EPIPE and -EINVAL
 * none, as for mpmcring_reserve()).
 *
 * Return: as mpmcring_reserve(); -EINVAL for @n out of range too.
 */
int mpmcring_reserve_batch(struct mpmcring *ring, const u32 *lens,
			   unsigned int n, u32 flags, struct mpmcring_rsv *rsv)
{
	if (flags & ~MPMCRING_F_PRIO_MASK)
		return -EINVAL;
	return mpmcring_busy_is_again(mpmcring_reserve_prio(ring, lens, n,
						MPMCRING_F_PRIO(flags), 0, true,
						rsv));
}
EXPORT_SYMBOL_GPL(mpmcring_reserve_batch);

/**
 * mpmcring_admit() - would the ring take a record now, asked before building it
 * @ring: the ring
 * @len: payload bytes of the record
 * @flags: as for mpmcring_reserve()
 *
 * For producers whose records cost more to build than to refuse (a BPF
 * program gathering fields with helper calls): the ring's own answer,
 * its class watermark and the reclaim a reservation would run included
 * (mpr_admit()), without taking space. A record refused here is counted as
 * dropped, by reason and class, as mpmcring_reserve() counts it, so on any
 * non-zero return the caller must not produce it (it would count as both),
 * and it should ask only for a record it will produce when told 0. @len
 * must be the record's length or less, never more: a longer one could be
 * refused, and counted, where the record itself fits. A 0 promises
 * nothing: other producers race for the same space, and the reservation
 * after it may still be refused (and is counted then). In overwrite mode
 * every record is admitted (its reservation evicts, and may still be
 * refused when eviction cannot make room). Any context; never waits.
 *
 * Return: 0; -ENOSPC when the free space is under the class watermark or
 * the ring is full; -EMSGSIZE when @len is too big (both counted); -EPIPE
 * once the ring's destroy began; -EINVAL for bad @flags or a zero @len
 * (these two not counted: see mpmcring_reserve()).
 */
int mpmcring_admit(struct mpmcring *ring, u32 len, u32 flags)
{
	struct mpr_view *v = &ring->view;
	struct mpr_env env = { .ring = ring };
	u32 prio = MPMCRING_F_PRIO(flags);
	int ret;

	if ((flags & ~MPMCRING_F_PRIO_MASK) || prio >= MPMCRING_NR_PRIO || !len)
		return -EINVAL;
	/* Early, as in mpmcring_reserve_from(); the look below decides. */
	if (mpmcring_closed(ring))
		return -EPIPE;
	if (len > v->max_record) {
		mpmcring_count_drop(ring, MPMCRING_DROP_TOO_BIG, prio, 1);
		return -EMSGSIZE;
	}
	/*
	 * Preemption off: the reclaim bit is taken only so. Closed: no
	 * reservation would be taken either ([D4]).
	 */
	preempt_disable();
	if (mpmcring_closed(ring)) {
		preempt_enable();
		return -EPIPE;
	}
	ret = mpr_admit(v, &env, mpr_rec_size(v, len),
			ring->reserve_limit[prio]);
	/*
	 * Inside the [D4] window: its unpinning may close a chunk, and
	 * destroy's grace period must wait for that to be finished.
	 */
	if (ret)
		mpmcring_refused_for_room(ring);
	preempt_enable();
	if (!ret)
		return 0;
	mpmcring_count_drop(ring, ret == MPR_FAIL_FULL ? MPMCRING_DROP_FULL :
			    MPMCRING_DROP_PRIORITY, prio, 1);
	return -ENOSPC;
}
EXPORT_SYMBOL_GPL(mpmcring_admit);

/*
 * Publishes the finished record of len payload bytes at pos, counts it,
 * wakes; preemption is off.
 */
static __always_inline void mpmcring_publish_record(struct mpmcring *ring,
						    u64 pos, u32 len,
						    u64 state)
{
	struct mpmcring_pcpu_stats *st = this_cpu_ptr(ring->stats);

	mpr_publish(&ring->view, pos, state);
	if (state == MPMCRING_STAMP_COMMITTED) {
		local64_inc(&st->produced_records);
		local64_add(len, &st->produced_bytes);
	} else {
		local64_inc(&st->discarded_records);
	}
	/* A discard can uncover finished records behind it: check too. */
	mpmcring_maybe_wake(ring, pos);
}

/* Ends one reservation's share of this context's preemption-off window. */
static void mpmcring_unpin(struct mpmcring_rsv *rsv)
{
	unsigned int *depth = mpmcring_depth(rsv->ring);

	/*
	 * A commit from another interrupt level than its reservation breaks
	 * the caller's contract (mpmcring_reserve()): it ends another
	 * context's window and leaves its own open. The level is the kernel
	 * caller's context, never userspace's to choose: checked on kernels
	 * built to catch preemption bugs.
	 */
	WARN_ON_ONCE(IS_ENABLED(CONFIG_DEBUG_PREEMPT) &&
		     rsv->level != interrupt_context_level());
	if (!--*depth)
		preempt_enable();
}

static void mpmcring_finish(struct mpmcring_rsv *rsv, u64 state)
{
	mpmcring_publish_record(rsv->ring, rsv->pos, rsv->len, state);
	mpmcring_unpin(rsv);
}

/**
 * mpmcring_commit() - publish a reserved record
 * @rsv: the reservation from mpmcring_reserve() or mpmcring_reserve_batch()
 *
 * Makes the record visible to consumers (a release store) and wakes
 * sleeping consumers through irq_work when they asked for it. Call in the
 * context that reserved.
 */
void mpmcring_commit(struct mpmcring_rsv *rsv)
{
	mpmcring_finish(rsv, MPMCRING_STAMP_COMMITTED);
}
EXPORT_SYMBOL_GPL(mpmcring_commit);

/**
 * mpmcring_discard() - give a reservation up
 * @rsv: the reservation
 *
 * The space is skipped by consumers and freed with its neighbours; the
 * record counts as discarded, not as produced. Call in the context that
 * reserved.
 */
void mpmcring_discard(struct mpmcring_rsv *rsv)
{
	mpmcring_finish(rsv, MPMCRING_STAMP_DISCARDED);
}
EXPORT_SYMBOL_GPL(mpmcring_discard);

/*
 * mpmcring_output() past its first attempt: mpmcring_reserve()'s slow path,
 * which refuses and counts, then a counted reservation's copy and commit.
 */
static noinline int mpmcring_output_slow(struct mpmcring *ring,
					 const void *data, u32 len, u32 flags,
					 int lost)
{
	struct mpmcring_rsv rsv;
	int err;

	err = mpmcring_reserve_slow(ring, len, flags, &rsv, lost);
	if (err)
		return err;
	memcpy(rsv.data, data, len);
	mpmcring_commit(&rsv);
	return 0;
}

/*
 * mpmcring_output() for chunked rings (chunked true) or not. The copy and
 * the commit in the reservation's own preemption-off window: the record is
 * finished before this returns, so it needs none of the per-context count
 * (mpmcring_reserved()) that keeps a reservation's window open until its
 * commit. The header as mpmcring_reserved() writes it, the commit as
 * mpmcring_finish() publishes it.
 */
static __always_inline int mpmcring_output_one(struct mpmcring *ring,
					       const void *data, u32 len,
					       u32 flags, bool chunked)
{
	struct mpr_view *v = &ring->view;
	int lost;
	u64 pos;

	if (unlikely(!mpmcring_reserve_first(ring, len, flags, &pos, &lost,
					     chunked)))
		return mpmcring_output_slow(ring, data, len, flags, lost);
	mpr_write_hdr(v, pos, len, MPMCRING_F_PRIO(flags), 0);
	memcpy(mpr_payload(v, pos), data, len);
	mpmcring_publish_record(ring, pos, len, MPMCRING_STAMP_COMMITTED);
	preempt_enable();
	return 0;
}

/*
 * A record a caller refuses for its size, over the ring's max_record or
 * the caller's own bound (a BPF kfunc's: the staging buffer, the copy
 * with preemption off): -EMSGSIZE, counted as the ring's TOO_BIG drop;
 * -EPIPE once the ring's destroy began, not its drop (the early look of
 * mpmcring_reserve_from(); here it decides, as nothing is reserved). prio
 * is a valid class. Any context, inside an RCU read-side section or with
 * a reference to the ring: the destroy's grace period then comes after
 * the count.
 */
int mpmcring_refuse_too_big(struct mpmcring *ring, u32 prio)
{
	if (mpmcring_closed(ring))
		return -EPIPE;
	mpmcring_count_drop(ring, MPMCRING_DROP_TOO_BIG, prio, 1);
	return -EMSGSIZE;
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_refuse_too_big);

/* Chunked rings' own copy, as mpmcring_reserve_chunked(). */
static noinline int mpmcring_output_chunked(struct mpmcring *ring,
					    const void *data, u32 len,
					    u32 flags)
{
	return mpmcring_output_one(ring, data, len, flags, true);
}

/**
 * mpmcring_output() - copy one record into the ring
 * @ring: the ring
 * @data: payload
 * @len: payload bytes
 * @flags: as for mpmcring_reserve()
 *
 * Reserve, copy and commit in one call; any context.
 *
 * Return: as mpmcring_reserve().
 */
int mpmcring_output(struct mpmcring *ring, const void *data, u32 len,
		    u32 flags)
{
	if (unlikely(ring->chunk_bytes))
		return mpmcring_output_chunked(ring, data, len, flags);
	return mpmcring_output_one(ring, data, len, flags, false);
}
EXPORT_SYMBOL_GPL(mpmcring_output);
