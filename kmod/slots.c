// SPDX-License-Identifier: GPL-2.0-only
/*
 * Consumer slots: each attached consumer owns one slot in the consumer area.
 * The kernel hands slots out and takes them back when the file that
 * attached them is released, which is how a consumer killed while holding
 * records stops holding them: its claim ends with its file.
 */
#include <linux/bitmap.h>
#include <kunit/visibility.h>

#include "internal.h"

/**
 * mpmcring_slot_attach() - give a consumer a slot
 * @ring: the ring
 *
 * Return: the slot index, or -EUSERS when every slot is taken.
 */
int mpmcring_slot_attach(struct mpmcring *ring)
{
	unsigned int n = ring->layout.max_consumers, i;
	struct mpmcring_slot *slot;

	spin_lock(&ring->slots_lock);
	i = find_first_zero_bit(ring->slots_used, n);
	if (i >= n) {
		spin_unlock(&ring->slots_lock);
		return -EUSERS;
	}
	slot = &ring->view.cons->slots[i];
	WRITE_ONCE(slot->start, MPMCRING_SLOT_IDLE);
	WRITE_ONCE(slot->held_records, 0);
	WRITE_ONCE(slot->consumed_records, 0);
	WRITE_ONCE(slot->consumed_bytes, 0);
	/*
	 * The slot reads idle before reclaimers take it into account. The
	 * consumer's first announce comes after this bit in its own program
	 * order, and its claim cmpxchg publishes both ([C2] with [R3]).
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
 * consumed (they left the ring through its claim) and as abandoned.
 */
void mpmcring_slot_detach(struct mpmcring *ring, unsigned int i)
{
	struct mpmcring_slot *slot = &ring->view.cons->slots[i];
	/* user-writable: only tested for idleness and counted, never used. */
	u64 start = READ_ONCE(slot->start);
	u64 held = READ_ONCE(slot->held_records);

	if (!(start & MPMCRING_SLOT_IDLE)) {
		atomic64_inc(&ring->abandoned_claims);
		/* user-writable: at most one record per granule of the ring. */
		atomic64_add(min(held, ring->view.stamp_mask + 1),
			     &ring->abandoned_records);
	}
	/* [C3] for the departed consumer: pairs with [R4]. */
	smp_store_release(&slot->start, MPMCRING_SLOT_IDLE);
	spin_lock(&ring->slots_lock);
	clear_bit(i, ring->slots_used);
	spin_unlock(&ring->slots_lock);
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_slot_detach);
