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
 *
 * For an odd n each row runs forwards and then backwards, in turn (rows
 * 0, 0 reversed, 1, 1 reversed ...), so that any even number of rounds
 * meets every pair as often in one order as in the other, a run shorter
 * than the block included (helper-283: all forward rows first kept a
 * run of fewer than n rounds one-sided). Across configurations in a
 * sweep, the last of one configuration's round and the first of the
 * next's are neighbours too; nothing balances those.
 */
#include "order.h"

/* Place j of the first round: 0, 1, n-1, 2, n-2, 3 ... */
static unsigned int hb_order_first(unsigned int n, unsigned int j)
{
	return j % 2 ? (j + 1) / 2 : (n - j / 2) % n;
}

unsigned int hb_order_block(unsigned int n)
{
	if (n <= 1)
		return 1;
	return n % 2 ? 2 * n : n;
}

unsigned int hb_order_at(unsigned int n, unsigned int round, unsigned int slot)
{
	unsigned int r = round % hb_order_block(n);

	if (n <= 1)
		return 0;
	if (n % 2) {
		if (r % 2)
			slot = n - 1 - slot;
		r /= 2;
	}
	return (hb_order_first(n, slot) + r) % n;
}
