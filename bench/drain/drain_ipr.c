// SPDX-License-Identifier: GPL-2.0-only
/*
 * What each of the library's ways to consume costs per record, in
 * instructions: the records of a full ring drained by one consumer, under
 * callgrind (ipr.sh's way: each stretch dumped with its label; divide its
 * count by n). The ring is filled by the protocol's producer code
 * (hostring) before each stretch; only the drain is counted, and the
 * consumer's own work is the same in every stretch (one byte and the
 * length of each record).
 *
 *   valgrind --tool=callgrind --callgrind-out-file=DIR/drain.out \
 *            drain_ipr [-n RECORDS] [-s PAYLOAD]
 *
 * Stretches: read (one record per claim, commit each), read_many, read_batch
 * + batch_next and consume, each with claims of 64 and 256 records and one
 * commit per claim. Counts do not depend on the machine's load.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostring.h"
#include "internal.h"

#include "callgrind_shim.h"

enum way { READ, READ_MANY, READ_BATCH, CONSUME };

static const char *const way_names[] = { "read", "read_many", "read_batch", "consume" };

struct drain {
	struct hostring h;
	struct mpmcring *r;
	struct mpmcring_consumer *c;
	unsigned long sum; /* the consumer's own work: kept, printed */
};

static void take(struct drain *d, const struct mpmcring_record *rec)
{
	d->sum += rec->len + ((const unsigned char *)rec->data)[0];
}

static int consume_fn(void *ctx, const struct mpmcring_record *rec)
{
	take(ctx, rec);
	return 0;
}

static void fill(struct drain *d, unsigned long n, uint32_t len)
{
	unsigned long i;
	uint64_t pos;

	for (i = 0; i < n; i++) {
		if (hostring_reserve(&d->h, 0, len, MPMCRING_PRIO_NORMAL, &pos)) {
			fprintf(stderr, "drain_ipr: the ring is full after %lu records\n", i);
			exit(2);
		}
		memset(hostring_payload(&d->h, pos), (int)i, len);
		hostring_commit(&d->h, 0, pos, len);
	}
}

/* One claim's worth: the records it took, 0 when the ring is empty. */
static int drain_once(struct drain *d, enum way way, unsigned int max, struct mpmcring_record *recs)
{
	struct mpmcring_record rec;
	struct mpmcring_batch b;
	int i, n;

	switch (way) {
	case READ:
		n = mpmcring_read(d->c, &rec);
		if (n)
			return n == -EAGAIN ? 0 : n;
		take(d, &rec);
		n = 1;
		break;
	case READ_MANY:
		n = mpmcring_read_many(d->c, recs, max, SIZE_MAX);
		for (i = 0; i < n; i++)
			take(d, &recs[i]);
		break;
	case READ_BATCH:
		n = mpmcring_read_batch(d->c, &b, max, SIZE_MAX);
		if (n > 0)
			while (mpmcring_batch_next(&b, &rec))
				take(d, &rec);
		break;
	default:
		return mpmcring_consume(d->c, max, consume_fn, d); /* commits */
	}
	if (n == -EAGAIN)
		return 0;
	if (n > 0 && mpmcring_commit(d->c))
		return -EIO;
	return n;
}

static void stretch(enum way way, unsigned int max, unsigned long n, uint32_t len)
{
	struct hostring_params p = { .size = 1ull << 26, .producers = 1, .max_consumers = 1 };
	struct mpmcring_record *recs = calloc(max, sizeof(*recs));
	struct drain d = { 0 };
	unsigned long got = 0;
	char label[64];
	int k;

	if (!recs || hostring_init(&d.h, &p))
		exit(2);
	d.r = mpmcring__open_memory(d.h.cons, d.h.ro, &d.h.layout);
	d.c = d.r ? mpmcring_consumer_new(d.r) : NULL;
	if (!d.c) {
		fprintf(stderr, "drain_ipr: %s\n", mpmcring_errmsg());
		exit(2);
	}
	fill(&d, n, len);
	snprintf(label, sizeof(label), "drain %s %u", way_names[way], max);
	CALLGRIND_ZERO_STATS;
	while ((k = drain_once(&d, way, max, recs)) > 0)
		got += (unsigned long)k;
	CALLGRIND_DUMP_STATS_AT(label);
	if (k < 0 || got != n) {
		fprintf(stderr, "drain_ipr: %s: %lu of %lu records (%d: %s)\n", label, got, n, k,
			mpmcring_errmsg());
		exit(1);
	}
	printf("%s: %lu records, sum %lu\n", label, got, d.sum);
	mpmcring_consumer_free(d.c);
	mpmcring_close(d.r);
	hostring_destroy(&d.h);
	free(recs);
}

int main(int argc, char **argv)
{
	static const unsigned int claims[] = { 64, 256 };
	unsigned long n = 50000;
	uint32_t len = 64;
	unsigned int i;
	int opt, way;

	while ((opt = getopt(argc, argv, "n:s:")) != -1) {
		if (opt == 'n')
			n = strtoul(optarg, NULL, 0);
		else if (opt == 's')
			len = (uint32_t)strtoul(optarg, NULL, 0);
		else
			return fprintf(stderr, "usage: drain_ipr [-n RECORDS] [-s PAYLOAD]\n"), 2;
	}
	if (!n || n > 200000 || !len || len > 4096)
		return fprintf(stderr, "drain_ipr: -n 1..200000, -s 1..4096\n"), 2;
	stretch(READ, 1, n, len);
	for (way = READ_MANY; way <= CONSUME; way++)
		for (i = 0; i < sizeof(claims) / sizeof(claims[0]); i++)
			stretch((enum way)way, claims[i], n, len);
	return 0;
}
