// SPDX-License-Identifier: GPL-2.0-only
/*
 * cdrain: the C library's side of the Go-vs-C consume benchmark
 * (bench/go/vm): drains N records from a ring with libmpmcring, zero-copy
 * in batches of 64 with one commit each, touching every payload word as
 * the Go side does. It times the drain as the Go side does: in pieces of
 * 256 records (as whole batches come), and prints the whole drain's time
 * and the median piece's seconds per record, from the first claim to the
 * last commit.
 *
 *   cdrain RING N      prints "cdrain <records> <seconds> <median s/record>"
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <mpmcring.h>

#define CHUNK 256 /* records per timed piece (bench/go/vm: chunk) */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of n values (n > 0); sorts them. */
static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	struct mpmcring *r;
	struct mpmcring_consumer *c;
	struct mpmcring_batch b;
	struct mpmcring_record rec;
	volatile uint64_t sink = 0;
	uint64_t n, got = 0, mark = 0;
	double t0, last, *per_rec;
	size_t pieces = 0;

	if (argc != 3)
		return fprintf(stderr, "usage: cdrain RING N\n"), 2;
	n = strtoull(argv[2], NULL, 0);
	r = mpmcring_open(argv[1], 0);
	c = r ? mpmcring_consumer_new(r) : NULL;
	if (!c)
		return fprintf(stderr, "cdrain: %s\n", mpmcring_errmsg()), 1;
	per_rec = malloc((n / CHUNK + 1) * sizeof(*per_rec));
	if (!per_rec)
		return fprintf(stderr, "cdrain: out of memory\n"), 1;
	t0 = last = now_s();
	while (got < n && mpmcring_read_batch(c, &b, 64, SIZE_MAX) > 0) {
		while (mpmcring_batch_next(&b, &rec)) {
			const uint64_t *w = rec.data;
			uint64_t s = 0;

			for (uint32_t i = 0; i < rec.len / 8; i++)
				s += w[i];
			sink += s;
			got++;
		}
		mpmcring_commit(c);
		if (got - mark >= CHUNK && pieces <= n / CHUNK) {
			double t = now_s();

			per_rec[pieces++] = (t - last) / (double)(got - mark);
			last = t;
			mark = got;
		}
	}
	t0 = now_s() - t0;
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	if (got != n) {
		fprintf(stderr, "cdrain: %llu of %llu records\n", (unsigned long long)got,
			(unsigned long long)n);
		return 1;
	}
	printf("cdrain %llu %.9f %.12f\n", (unsigned long long)got, t0,
	       pieces ? median(per_rec, pieces) : t0 / (double)got);
	free(per_rec);
	return 0;
}
