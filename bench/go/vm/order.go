// SPDX-License-Identifier: GPL-2.0-only

package main

// The order the variants drain in, repetition by repetition: a Williams
// design, as the host benchmark's (bench/host/order.c, whose comment says
// why a rotation biased the same-repetition ratios). Over a block of
// orderBlock(n) repetitions each variant drains once at every place, and
// right after each other one as often as right before it; for an odd n
// every even number of repetitions already holds each pair as often in
// one order as in the other. Across repetitions, the last variant of one
// and the first of the next are neighbours too; nothing balances those
// (for six variants, variant v+2 always ends the repetition before the
// one variant v begins; for an odd count a row and its reverse follow
// each other, so every second edge has one variant drain twice in a
// row; the host benchmark's order is the same).

// orderBlock is the number of repetitions that balances n variants.
func orderBlock(n int) int {
	if n <= 1 {
		return 1
	}
	if n%2 == 1 {
		return 2 * n
	}
	return n
}

// orderAt is the variant (0..n-1) at place slot of repetition rep.
func orderAt(n, rep, slot int) int {
	if n <= 1 {
		return 0
	}
	r := rep % orderBlock(n)
	if n%2 == 1 {
		// Each row forwards, then backwards.
		if r%2 == 1 {
			slot = n - 1 - slot
		}
		r /= 2
	}
	// The first row: 0, 1, n-1, 2, n-2, 3 ...
	first := (n - slot/2) % n
	if slot%2 == 1 {
		first = (slot + 1) / 2
	}
	return (first + r) % n
}
