// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sleeping consumers. A consumer about to sleep arms the ring; a producer
 * that commits checks the arm and, only when it is set, queues an irq_work
 * (the one way to wake from any context, NMI included) that wakes the wait
 * queue. While nobody sleeps, producers pay one full barrier and one load.
 *
 * The handshake is the store-buffering pattern: the consumer stores the arm
 * then loads the ring, the producer stores its stamp then loads the arm.
 * Both sides put a full barrier in between ([W1] in produce.c, [W2] here),
 * so at least one of them sees the other's store and no wakeup is lost.
 */
#include <linux/sched.h>

#include "internal.h"

/**
 * mpmcring_ready() - is there something for a waiting consumer
 * @ring: the ring
 * @watermark: bytes that must be reserved past the head (0: any record)
 *
 * Return: true when a finished record waits at the head and at least
 * @watermark bytes have been reserved from there, or when the head is
 * corrupt (so the consumer wakes and meets the error).
 */
bool mpmcring_ready(struct mpmcring *ring, u64 watermark)
{
	const struct mpr_view *v = &ring->view;
	struct mpr_rec rec;
	struct mpr_pos s;

	mpr_positions(v, &s);
	/* user-writable: the head is used only once it is sane. */
	if (!mpr_head_sane(v, &s))
		return true;
	if (s.head == s.prod || s.prod - s.head < watermark)
		return false;
	return mpr_record_at(v, s.head, s.prod, &rec) != MPR_REC_NONE;
}

/**
 * mpmcring_arm_wakeup() - ask producers for a wakeup
 * @ring: the ring
 * @watermark: wake once this many bytes are reserved past the head
 *
 * The caller must already be on @ring->wq and must check mpmcring_ready()
 * again after this before sleeping.
 */
void mpmcring_arm_wakeup(struct mpmcring *ring, u64 watermark)
{
	unsigned long flags;

	spin_lock_irqsave(&ring->wake_lock, flags);
	if (watermark < ring->wake_bytes)
		WRITE_ONCE(ring->wake_bytes, watermark);
	WRITE_ONCE(ring->wake_armed, 1);
	spin_unlock_irqrestore(&ring->wake_lock, flags);
	/* [W2] pairs with [W1]: the arm is visible before we look again. */
	smp_mb();
}

/* irq_work: runs soon after a producer fired, in a context that may wake. */
void mpmcring_wake_work(struct irq_work *work)
{
	struct mpmcring *ring = container_of(work, struct mpmcring, wake_work);
	unsigned long flags;

	/*
	 * Every sleeper is on the queue before it arms, so all of them wake
	 * here and re-arm with their own watermarks if they sleep again.
	 */
	spin_lock_irqsave(&ring->wake_lock, flags);
	WRITE_ONCE(ring->wake_armed, 0);
	WRITE_ONCE(ring->wake_bytes, U64_MAX);
	spin_unlock_irqrestore(&ring->wake_lock, flags);
	wake_up_all(&ring->wq);
}
