// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every record accounted for: what the consumers saw, added up, against
 * what each producer sent. A producer's records carry sequence numbers 0 ..
 * n-1, so the count, the sum and the sum of squares of the sequence
 * numbers seen must be those of 0 .. n-1: a lost record, a duplicate or a
 * record from the wrong lap changes at least one of them. Damaged records
 * (their checksums) and records out of order (per producer, per consumer)
 * were counted as they were taken.
 */
#include <stdio.h>

#include "bench.h"

static uint64_t sum_squares(uint64_t n)
{
	/* 0^2 + ... + (n-1)^2, modulo 2^64 as the consumers add them: the
	 * product is exact in 128 bits for any n a run reaches. */
	unsigned __int128 m = n;

	if (!n)
		return 0;
	return (uint64_t)(m * (m - 1) * (2 * m - 1) / 6);
}

int hb_verify(const char *who, unsigned int producers, struct hb_seen **seen, unsigned int nseen,
	      const uint64_t *sent)
{
	uint64_t total = 0, sent_total = 0, bad = 0, ooo = 0;
	unsigned int p, c;
	int err = 0;

	for (c = 0; c < nseen; c++) {
		total += seen[c]->records;
		bad += seen[c]->bad;
		ooo += seen[c]->out_of_order;
	}
	for (p = 0; p < producers; p++) {
		uint64_t n = 0, sum = 0, sq = 0, want = sent[p];

		sent_total += want;
		for (c = 0; c < nseen; c++) {
			n += seen[c]->count[p];
			sum += seen[c]->sum[p];
			sq += seen[c]->sumsq[p];
		}
		if (n != want || sum != want * (want - 1) / 2 || sq != sum_squares(want)) {
			fprintf(stderr,
				"hostbench: %s: producer %u sent %llu records, %llu arrived (sequence sums %s)\n",
				who, p, (unsigned long long)want, (unsigned long long)n,
				sum == want * (want - 1) / 2 && sq == sum_squares(want)
					? "match"
					: "differ: lost or duplicated records");
			err = -1;
		}
	}
	if (total != sent_total || bad || ooo) {
		fprintf(stderr,
			"hostbench: %s: %llu records sent, %llu delivered, %llu damaged, %llu out of order\n",
			who, (unsigned long long)sent_total, (unsigned long long)total,
			(unsigned long long)bad, (unsigned long long)ooo);
		err = -1;
	}
	return err;
}
