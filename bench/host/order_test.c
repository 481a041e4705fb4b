// SPDX-License-Identifier: GPL-2.0-only
/*
 * hb_order_at() over one block of rounds, for 1 to 16 implementations:
 * each round runs every implementation once; each runs at every place
 * equally often; each runs right after each other one as often as right
 * before it (the same number for every ordered pair); and for an odd
 * number, every even number of rounds from the first already holds each
 * pair as often in one order as in the other.
 */
#include <stdio.h>
#include <string.h>

#include "order.h"

#define MAXN 16

/* Each even prefix of an odd n's block: a before b as often as b before a. */
static int check_prefixes(unsigned int n)
{
	unsigned int next[MAXN][MAXN], r, s, a, b;

	memset(next, 0, sizeof(next));
	for (r = 0; r < hb_order_block(n); r++) {
		for (s = 1; s < n; s++)
			next[hb_order_at(n, r, s - 1)][hb_order_at(n, r, s)]++;
		if (r % 2 == 0)
			continue;
		for (a = 0; a < n; a++)
			for (b = 0; b < n; b++)
				if (next[a][b] != next[b][a]) {
					printf("n %u, %u rounds: %u before %u %u times, after it %u\n",
					       n, r + 1, a, b, next[a][b], next[b][a]);
					return 1;
				}
	}
	return 0;
}

static int check(unsigned int n)
{
	unsigned int block = hb_order_block(n), r, s;
	unsigned int at[MAXN][MAXN], next[MAXN][MAXN];
	int bad = 0;

	memset(at, 0, sizeof(at));
	memset(next, 0, sizeof(next));
	for (r = 0; r < block; r++) {
		unsigned int seen[MAXN] = { 0 };

		for (s = 0; s < n; s++) {
			unsigned int i = hb_order_at(n, r, s);

			if (i >= n || seen[i]++) {
				printf("n %u round %u: place %u runs %u twice or out of range\n", n,
				       r, s, i);
				return 1;
			}
			at[i][s]++;
			if (s)
				next[hb_order_at(n, r, s - 1)][i]++;
		}
	}
	/* An odd n: every even number of rounds is even-handed in direction. */
	if (n % 2)
		bad |= check_prefixes(n);
	for (r = 0; r < n; r++)
		for (s = 0; s < n; s++) {
			if (at[r][s] != block / n) {
				printf("n %u: implementation %u at place %u %u times, not %u\n", n,
				       r, s, at[r][s], block / n);
				bad = 1;
			}
			if (r != s && next[r][s] != next[0][1]) {
				printf("n %u: %u right before %u %u times, 0 before 1 %u times\n",
				       n, r, s, next[r][s], next[0][1]);
				bad = 1;
			}
		}
	return bad;
}

int main(void)
{
	unsigned int n;
	int bad = 0;

	for (n = 1; n <= MAXN; n++)
		bad |= check(n);
	printf("order_test: %s\n", bad ? "FAIL" : "ok");
	return bad;
}
