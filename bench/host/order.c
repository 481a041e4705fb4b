// SPDX-License-Identifier: GPL-2.0-only
/*
 * The order the implementations run in, round by round: a Williams design.
 * Over a block of rounds (n of them for n implementations, 2n when n is
 * odd) each implementation runs once at every place of the order, and
 * each runs right after each other one exactly as often as right before
 * it. A plain rotation did the first but not the second: ours ran right
 * before the same peer in all but one round of every n, so whatever a run
 * leaves behind for the next (a warm cache, a CPU's frequency, a busy
 * hypervisor) moved that ratio the same way in most rounds, and the
 * median of the per-round ratios took the bias whole (helper-282).
 */
#include "order.h"

/* Place j of the first round: 0, 1, n-1, 2, n-2, 3 ... */
static unsigned int hb_order_first(unsigned int n, unsigned int j)
{
	return j % 2 ? (j + 1) / 2 : (n - j / 2) % n;
}

unsigned int hb_order_block(unsigned int n)
{
	return n % 2 ? 2 * n : n;
}

unsigned int hb_order_at(unsigned int n, unsigned int round, unsigned int slot)
{
	unsigned int r = round % hb_order_block(n);

	/* An odd n takes the n rounds again, each read backwards. */
	if (r >= n) {
		r -= n;
		slot = n - 1 - slot;
	}
	return (hb_order_first(n, slot) + r) % n;
}
