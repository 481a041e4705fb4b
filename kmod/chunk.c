// SPDX-License-Identifier: GPL-2.0-only
/*
 * Chunked reservation for rings created with chunk_bytes (docs/scaling.md):
 * each CPU has a chunk per interrupt level, filled by that level's
 * producers with preemption off (kmod/produce.c), and closed here, by the
 * housekeeping tick and by destroy, so that records committed behind a
 * chunk whose CPU went quiet become claimable, and by producers refused
 * for room (mpmcring_chunks_unpin()). The steps are in
 * proto/mpmcring_chunk.h.
 */
#include <kunit/visibility.h>

#include "env.h"

/**
 * mpmcring_chunks_init() - set a new ring up for chunked reservation
 * @ring: the ring, view initialised, not yet published
 * @want: the chunk size asked for (struct mpmcring_params.chunk_bytes)
 *
 * The chunk size is @want capped to a quarter of the ring over every
 * possible CPU and interrupt level, to the largest record, and to a
 * quarter of what the lowest class may fill (chunks open only within it).
 *
 * Return: 0 (nothing to do for @want 0), -EINVAL when a cap leaves less
 * than four records of the granule (a message says which), or -ENOMEM.
 */
int mpmcring_chunks_init(struct mpmcring *ring, u32 want)
{
	unsigned int n = num_possible_cpus() * MPMCRING_NR_LEVELS;
	u32 g = 1U << ring->view.gshift;
	/* mpr_chunk_bytes()'s least, four records of a granule each, aligned. */
	u32 least = round_up(4 * (MPMCRING_HDR_SIZE + g), g);
	u64 first = READ_ONCE(ring->view.meta->prod_pos);
	u64 quarter = ring->view.data_size / 4 / n;
	u64 biggest = (u64)ring->view.max_record + MPMCRING_HDR_SIZE;
	u64 room = ring->chunk_open_max / 4;
	unsigned int cpu, level;
	struct mpr_chunk *c;

	if (!want)
		return 0;
	if (ring->view.mode == MPMCRING_MODE_OVERWRITE) {
		pr_err("mpmcring: %s: chunk_bytes=%u: not with mode=overwrite (eviction would stop at a chunk its CPU stopped filling)\n",
		       ring->layout.name, want);
		return -EINVAL;
	}
	if ((want & ~(g - 1)) < least) {
		pr_err("mpmcring: %s: chunk_bytes=%u: at least %u (four records of the granule, %u)\n",
		       ring->layout.name, want, least, g);
		return -EINVAL;
	}
	/*
	 * A chunk opens only where the ring stays within the lowest class's
	 * limit with it: a chunk near that limit would open only on an
	 * empty ring, one above it never, every record going alone through
	 * the chunk's slow path. So at most a quarter of that room: a chunk
	 * opens while the ring is below three quarters of it.
	 */
	ring->chunk_bytes = mpr_chunk_bytes(&ring->view, min_t(u64, want, room), n);
	if (!ring->chunk_bytes) {
		u64 gm = ~((u64)g - 1);

		/* Every cap under the least: one fixed alone may not do. */
		pr_err("mpmcring: %s: chunk_bytes=%u: capped at %llu, under the least, %u, by:%s%s%s\n",
		       ring->layout.name, want, min3(quarter, biggest, room) & gm,
		       least,
		       (room & gm) < least ?
		       " [a quarter of the room the low class's watermark leaves: lower it]" : "",
		       (quarter & gm) < least ?
		       " [a quarter of the ring over every possible CPU's four interrupt levels: a larger ring]" : "",
		       (biggest & gm) < least ? " [the largest record]" : "");
		return -EINVAL;
	}
	/* A line per chunk: a scan's writes stay off the others. */
	BUILD_BUG_ON(sizeof(struct mpr_chunk) > MPR_CHUNK_STRIDE);
	ring->chunks = __alloc_percpu_gfp(MPMCRING_NR_LEVELS * MPR_CHUNK_STRIDE,
					  MPR_CHUNK_STRIDE, GFP_KERNEL_ACCOUNT);
	if (!ring->chunks)
		return -ENOMEM;
	mpmcring_for_each_chunk(ring, cpu, level, c)
		mpr_chunk_init(c, first);
	/* Before now: the first refusal may scan at once. */
	ring->unpinned = jiffies - 1;
	/* Odd, no position, and before the first: that one is scanned. */
	ring->unpin_pos = first - 1;
	return 0;
}

/**
 * mpmcring_chunk_close() - close one chunk if it is open
 * @ring: the ring, chunked
 * @c: one of its chunks (mpmcring_chunk_at())
 *
 * The chunk's unfilled rest becomes a discarded record, counted and
 * checked for wakeups as a commit is. Any context.
 *
 * Return: whether this call closed it. False: nothing to close (closed
 * or full), its opener between its two stores, or the compare-and-swap
 * lost to another closer or to a producer taking from it, which leaves
 * it open (mpr_chunk_close()).
 */
VISIBLE_IF_KUNIT bool mpmcring_chunk_close(struct mpmcring *ring,
					   struct mpr_chunk *c)
{
	u64 rest, bytes;

	/*
	 * Preemption off from the compare-and-swap to the stamp: a closer
	 * put aside in between (destroy; the tick on PREEMPT_RT runs in a
	 * thread) would leave an unstamped filler holding up the ring.
	 */
	preempt_disable();
	bytes = mpr_chunk_close(&ring->view, c, ring->chunk_bytes, &rest);
	if (bytes)
		mpmcring_filler_closed(ring, rest, bytes);
	preempt_enable();
	return bytes;
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_chunk_close);

/**
 * mpmcring_chunks_close() - close every open chunk of a ring
 * @ring: the ring
 *
 * Each open chunk's rest becomes a discarded record, checked for wakeups
 * as a commit is. Races with producers filling their chunks are the
 * protocol's (mpr_chunk_close()). Any context that may touch every CPU's
 * memory: the tick, destroy. Bounded: possible CPUs times levels.
 *
 * Return: how many it closed.
 */
unsigned int mpmcring_chunks_close(struct mpmcring *ring)
{
	unsigned int cpu, level, n = 0;
	struct mpr_chunk *c;

	if (!ring->chunks)
		return 0;
	mpmcring_for_each_chunk(ring, cpu, level, c)
		n += mpmcring_chunk_close(ring, c);
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_chunks_close);

/**
 * mpmcring_unpin_stuck() - whether to close the chunks at a stuck head now
 * @ring: the ring, chunked
 * @r: its reclaim_pos as the caller read it (granule-aligned)
 * @head: the consumers' head as the caller read it (user-writable)
 *
 * For a refused producer: reclaim stopped at the consumers' head (@r ==
 * @head: no claim held) on an unfinished granule (kernel-only stamp), so
 * nothing in the ring can be claimed until what is there finishes, and a
 * chunk whose CPU went quiet does not finish soon. Only the kernel moves
 * reclaim_pos, so the head only filters. Pairs with nothing: a stale look
 * is one scan more or one left to the jiffy's. Any context.
 *
 * Return: true for one caller per such position: unpin_pos moves forward
 * only, to @r.
 */
VISIBLE_IF_KUNIT bool mpmcring_unpin_stuck(struct mpmcring *ring, u64 r,
					    u64 head)
{
	u64 at;

	if (r != head ||
	    mpr_stamp_finished(READ_ONCE(*mpr_stamp(&ring->view, r)) ^ r))
		return false;
	at = READ_ONCE(ring->unpin_pos);
	return (s64)(r - at) > 0 && try_cmpxchg(&ring->unpin_pos, &at, r);
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_unpin_stuck);

/*
 * The stuck head's scan: closes the chunks whose fill is r, and only
 * reads the others (no seen written: their owners' lines stay theirs).
 */
static unsigned int mpmcring_chunks_close_at(struct mpmcring *ring, u64 r)
{
	unsigned int cpu, level, n = 0;
	struct mpr_chunk *c;

	mpmcring_for_each_chunk(ring, cpu, level, c) {
		if (READ_ONCE(c->fill) == r && mpmcring_chunk_close(ring, c))
			n++;
	}
	return n;
}

/**
 * mpmcring_chunks_unpin() - close chunks that hold a full ring up
 * @ring: the ring, chunked
 *
 * For a reservation or an admit refused for room: a chunk whose CPU
 * stopped filling it stops reclaim and claims at its unfilled space, and
 * the ring fills behind it until the tick closes it. This closes every
 * chunk whose fill is where reclaim stopped or where the consumers' head
 * is (user-writable: only compared), and every chunk whose fill has not
 * moved for two jiffies or more, by the scans' look (so quiet for a
 * jiffy at least). A scan reads every CPU's chunks, so at
 * most one per jiffy for the ring, by whichever refused producer gets
 * there first. Besides, each time reclaim and the consumers' head stop
 * together at an unfinished granule where no caller looked yet, nothing
 * in the ring can be claimed until it finishes: a chunk whose fill is
 * there may be what holds it up, and one caller closes such chunks at
 * once (reading the others, writing none), not up to a jiffy later. Any
 * context; bounded: possible CPUs times levels. The refusal stands:
 * consumers make the room, once they get past.
 *
 * Return: how many chunks it closed.
 */
unsigned int mpmcring_chunks_unpin(struct mpmcring *ring)
{
	unsigned long last = READ_ONCE(ring->unpinned), now = jiffies;
	u64 r = READ_ONCE(ring->view.meta->reclaim_pos);
	u64 head = READ_ONCE(ring->view.cons->head);
	unsigned int cpu, level, n = 0;
	struct mpr_chunk *c;

	if (mpmcring_unpin_stuck(ring, r, head))
		return mpmcring_chunks_close_at(ring, r);
	/*
	 * One caller per jiffy, equal or not (time_after() would stop for
	 * 2^31 jiffies after a long pause on 32-bit); pairs with nothing.
	 */
	if (now == last || !try_cmpxchg(&ring->unpinned, &last, now))
		return 0;
	mpmcring_for_each_chunk(ring, cpu, level, c) {
		u64 f = READ_ONCE(c->fill);
		bool quiet = false;

		/*
		 * Scans can overlap (one interrupted, or longer than a
		 * jiffy): a stale seen is a missed or an extra close, which
		 * any time may make. Written only when it moved: a quiet
		 * chunk's line stays.
		 */
		if (f != READ_ONCE(c->seen)) {
			WRITE_ONCE(c->seen, f);
			WRITE_ONCE(c->seen_at, now);
		} else {
			quiet = now - (unsigned long)READ_ONCE(c->seen_at) >= 2;
		}
		if ((f == r || f == head || quiet) &&
		    mpmcring_chunk_close(ring, c))
			n++;
	}
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_chunks_unpin);
