/* SPDX-License-Identifier: GPL-2.0-only */
/* The order implementations run in within each round (order.c). */
#ifndef HB_ORDER_H
#define HB_ORDER_H

/* Rounds after which every place and every neighbour has come equally often. */
unsigned int hb_order_block(unsigned int n);
/* Which of n implementations (0 .. n-1) runs at place slot of round round. */
unsigned int hb_order_at(unsigned int n, unsigned int round, unsigned int slot);

#endif
