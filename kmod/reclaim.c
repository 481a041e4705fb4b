// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reclaim outside the producers' own path, and the housekeeping tick.
 *
 * Producers reclaim lazily, when the ring looks full. A consumer that met a
 * corrupt head asks for a repair, and while files are open a tick every
 * MPMCRING_TICK_MS reclaims too: that is what observes consumer claims
 * often enough for their leases to end on time (a stopped consumer cannot
 * stop collection), what lets writers polling for space see it, and what
 * backs up the wakeup decisions producers make from a user-writable head.
 *
 * The reclaim bit is taken only with preemption off, here as in producers:
 * a task preempted inside a reclaim would make every producer that needs
 * one fail until it ran again.
 */
#include <linux/jiffies.h>
#include <kunit/visibility.h>

#include "env.h"

static bool mpmcring_reclaim_once(struct mpmcring *ring)
{
	struct mpr_env env = { .ring = ring };
	bool ran = false;

	preempt_disable();
	if (mpr_env_trylock(&env)) {
		mpr_reclaim(&ring->view, &env);
		mpr_env_unlock(&env);
		ran = true;
	}
	preempt_enable();
	return ran;
}

/**
 * mpmcring_reclaim() - bring reclaim_pos up to date now
 * @ring: the ring
 *
 * Bounded work (MPR_RECLAIM_WALK records and the attached slots), any
 * context. Never waits: when another reclaim runs, that one does the work
 * (which may have read a slot before a commit the caller knows of: a
 * caller that must not miss it uses mpmcring_reclaim_after()).
 */
void mpmcring_reclaim(struct mpmcring *ring)
{
	mpmcring_reclaim_once(ring);
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_reclaim);

/**
 * mpmcring_reclaim_after() - a reclaim that began after this call, done
 * @ring: the ring
 *
 * For a caller that needs a reclaim to have read the slots after its own
 * full barrier (one already running may have read a slot before a commit
 * the caller must not miss): a writer after asking for room, the kick.
 * Runs one, or waits for one that another began after this call to end:
 * however many callers wait, one such reclaim serves them all. At most
 * MPMCRING_RECLAIM_WAIT_NS (holders have preemption off and bounded work;
 * the bound is for a holder whose CPU the hypervisor took). Process
 * context.
 *
 * Return: whether such a reclaim ended; false past the bound.
 */
bool mpmcring_reclaim_after(struct mpmcring *ring)
{
	/*
	 * [W8] pairs with [W9] in mpr_env_trylock(): the word after the
	 * caller's full barrier. A reclaim that takes the bit after this
	 * load (the word even: the next to begin; odd: the one after the
	 * holder) loads the slots after it; once the word reaches its end
	 * (acquire below: the reclaim's stores seen too), it is done.
	 */
	unsigned long s = READ_ONCE(ring->reclaim_lock);
	unsigned long done = s + 2 + (s & 1);
	u64 t0 = ktime_get_ns();

	for (;;) {
		/* Pairs with mpr_env_unlock()'s release: what it freed. */
		unsigned long w = smp_load_acquire(&ring->reclaim_lock);

		if ((long)(w - done) >= 0)
			return true;
		/* Free: this caller's own reclaim begins after the load. */
		if (!(w & 1) && mpmcring_reclaim_once(ring))
			return true;
		if (ktime_get_ns() - t0 > MPMCRING_RECLAIM_WAIT_NS)
			return false;
		cpu_relax();
	}
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_reclaim_after);

/**
 * mpmcring_repair() - check the head now, for a consumer that met -EBADMSG
 * @ring: the ring
 *
 * Return: true when a head that cannot be a record boundary was moved.
 */
bool mpmcring_repair(struct mpmcring *ring)
{
	struct mpr_env env = { .ring = ring };
	/* user-writable: only compared, never used as a position. */
	u64 before = READ_ONCE(ring->view.cons->head);
	int i;

	/*
	 * Throttled as producers' reclaims are: one that ran with this head
	 * less than MPMCRING_RECLAIM_GAP_NS ago repaired what a reclaim can
	 * (callers claim again either way), and a caller looping on REPAIR
	 * must not keep from producers the reclaim bit that eviction needs.
	 */
	if (!mpr_env_reclaim_due(&env, before))
		return false;
	/* A few tries: a producer may be reclaiming right now. */
	for (i = 0; i < 4 && !mpmcring_reclaim_once(ring); i++)
		cpu_relax();
	/* user-writable: as above; a co-tenant's store reads as a repair. */
	return READ_ONCE(ring->view.cons->head) != before;
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_repair);

/**
 * mpmcring_claim_age_ms() - how long a slot's claim has stood still
 * @ring: the ring
 * @slot: the slot
 * @start: the claim start the slot shows now
 *
 * Return: milliseconds since reclaim first saw @start in @slot; 0 when it
 * has not seen it yet.
 */
u64 mpmcring_claim_age_ms(struct mpmcring *ring, unsigned int slot, u64 start)
{
	const struct mpr_lease *ls = &ring->leases[slot];
	u64 now = jiffies64_to_msecs(get_jiffies_64());

	/*
	 * Written under the reclaim bit; a torn pair only misstates an age. A
	 * fresh slot's lease is the last owner's until the next reclaim.
	 */
	if (start & MPMCRING_SLOT_IDLE || test_bit(slot, ring->lease_fresh) ||
	    READ_ONCE(ls->seen) != start)
		return 0;
	return now - READ_ONCE(ls->since_ms);
}

static void mpmcring_tick_fn(struct timer_list *t)
{
	struct mpmcring *ring = from_timer(ring, t, tick);

	/* Records behind a chunk its CPU stopped filling wait at most this. */
	mpmcring_chunks_close(ring);
	mpmcring_reclaim_once(ring);
	mpmcring_backstop(ring);
	/* Stopped for good by mpmcring_tick_stop() once nr_open is 0. */
	if (READ_ONCE(ring->nr_open))
		mod_timer(&ring->tick,
			  jiffies + msecs_to_jiffies(MPMCRING_TICK_MS));
}

void mpmcring_tick_init(struct mpmcring *ring)
{
	mutex_init(&ring->open_lock);
	timer_setup(&ring->tick, mpmcring_tick_fn, 0);
}

/* A file opened: the first one starts the tick. */
void mpmcring_tick_start(struct mpmcring *ring)
{
	mutex_lock(&ring->open_lock);
	WRITE_ONCE(ring->nr_open, ring->nr_open + 1);
	if (ring->nr_open == 1)
		mod_timer(&ring->tick,
			  jiffies + msecs_to_jiffies(MPMCRING_TICK_MS));
	mutex_unlock(&ring->open_lock);
}

/* A file closed: the last one stops the tick. May sleep. */
void mpmcring_tick_stop(struct mpmcring *ring)
{
	mutex_lock(&ring->open_lock);
	WRITE_ONCE(ring->nr_open, ring->nr_open - 1);
	if (!ring->nr_open)
		/* Waits for a running tick; one it re-armed is deleted too. */
		del_timer_sync(&ring->tick);
	mutex_unlock(&ring->open_lock);
}
