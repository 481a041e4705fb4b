// SPDX-License-Identifier: GPL-2.0-only
/*
 * Consumer slots: each attached consumer owns one slot in the consumer area
 * and one entry of slot info in the read-only area. The kernel hands slots
 * out and takes them back when the file that attached them is released,
 * which is how a consumer killed while holding records stops holding them:
 * its claim ends with its file.
 */
#include <linux/bitmap.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <kunit/visibility.h>

#include "env.h"

/**
 * mpmcring_slot_attach() - give a consumer a slot
 * @ring: the ring
 * @read_slot: the slot is read(2)'s: its claims are kept in kernel memory
 *
 * Return: the slot index, or -EUSERS when every slot is taken.
 */
int mpmcring_slot_attach(struct mpmcring *ring, bool read_slot)
{
	unsigned int n = ring->layout.max_consumers, i;
	struct mpmcring_slot_info *info;
	struct mpmcring_slot *slot;

	/* [M:attach] (tests/model) */
	spin_lock(&ring->slots_lock);
	i = find_first_zero_bit(ring->slots_used, n);
	if (i >= n) {
		spin_unlock(&ring->slots_lock);
		return -EUSERS;
	}
	slot = &ring->view.cons->slots[i];
	info = &ring->view.slot_info[i];
	WRITE_ONCE(slot->start, MPMCRING_SLOT_IDLE);
	WRITE_ONCE(slot->held_records, 0);
	WRITE_ONCE(slot->consumed_records, 0);
	WRITE_ONCE(slot->consumed_bytes, 0);
	WRITE_ONCE(ring->read_claims[i], MPMCRING_SLOT_IDLE);
	WRITE_ONCE(info->revoked, MPMCRING_SLOT_IDLE);
	WRITE_ONCE(info->revocations, 0);
	WRITE_ONCE(info->pid, task_tgid_nr(current));
	/* The process itself, for the list: its number may be reused. */
	ring->slot_pids[i] = get_pid(task_tgid(current));
	WRITE_ONCE(info->flags, MPMCRING_SLOTF_ATTACHED |
		   (read_slot ? MPMCRING_SLOTF_READ : 0));
	if (read_slot)
		set_bit(i, ring->read_slots);
	/* The next reclaim starts the slot's lease anew (mpr_env_lease()). */
	set_bit(i, ring->lease_fresh);
	/*
	 * The slot reads idle, and its lease is marked fresh, before a
	 * reclaimer takes the slot into account: pairs with the smp_rmb() in
	 * mpr_env_lease() after the slots_used load. The consumer's first
	 * announce comes after this bit in its own program order.
	 */
	smp_mb__before_atomic();
	set_bit(i, ring->slots_used);
	spin_unlock(&ring->slots_lock);
	return i;
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_slot_attach);

/**
 * mpmcring_slot_detach() - take a slot back, ending whatever it holds
 * @ring: the ring
 * @i: a slot index attach returned
 *
 * Records the slot still held are lost to that consumer: they count as
 * consumed (they left the ring through its claim) and as abandoned, unless
 * its claim was revoked (then they were counted as revoked: the exchange
 * below and reclaim's compare-and-swap decide on one word). How many comes
 * from the consumer's own count, capped by the granules its claimed span
 * holds: the kernel cannot tell which claimed records were whose.
 */
void mpmcring_slot_detach(struct mpmcring *ring, unsigned int i)
{
	const struct mpr_view *v = &ring->view;
	struct mpmcring_slot *slot = &v->cons->slots[i];
	struct mpmcring_slot_info *info = &v->slot_info[i];
	bool read_slot = test_bit(i, ring->read_slots);
	struct pid *pid;
	struct mpr_pos s;
	u64 start, held, bound;

	/* [M:detach] (tests/model) */
	mpr_positions(v, &s);
	/* user-writable: held is only counted, capped. */
	held = read_slot ? 1 : READ_ONCE(slot->held_records);
	/* [C3] for the departed consumer: pairs with [R4]. */
	start = xchg(read_slot ? &ring->read_claims[i] : &slot->start,
		     MPMCRING_SLOT_IDLE);
	/* user-writable: only tested, counted and capped, never used. */
	bound = mpr_head_sane(v, &s) ? s.head : s.prod;
	/* A start at or past the head holds nothing yet. */
	if (!(start & (MPMCRING_SLOT_IDLE | MPMCRING_SLOT_REVOKED)) &&
	    mpr_aligned(v, start) && mpr_between(s.reclaim, start, s.prod) &&
	    mpr_before(start, bound)) {
		atomic64_inc(&ring->abandoned_claims);
		atomic64_add(mpr_held_capped(v, held, start, bound),
			     &ring->abandoned_records);
	}
	if (read_slot) {
		/*
		 * [C3] pairs with [R4]: the mapped word of a read(2) slot,
		 * which a co-tenant may have scribbled on, reads idle
		 * before the slot is free.
		 */
		smp_store_release(&slot->start, MPMCRING_SLOT_IDLE);
	}
	spin_lock(&ring->slots_lock);
	clear_bit(i, ring->slots_used);
	clear_bit(i, ring->read_slots);
	WRITE_ONCE(info->flags, 0);
	WRITE_ONCE(info->pid, 0);
	pid = ring->slot_pids[i];
	ring->slot_pids[i] = NULL;
	spin_unlock(&ring->slots_lock);
	put_pid(pid);
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_slot_detach);
