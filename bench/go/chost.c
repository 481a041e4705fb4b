// SPDX-License-Identifier: GPL-2.0-only
/*
 * chost: the C library's side of the Go package's host benchmark
 * (scripts/bench-go.sh), measured exactly as BenchmarkConsume measures
 * the Go package (go/mpmcring/bench_test.go): an 8 MiB ring in process
 * memory filled by the module's producer code (hostring) with the clock
 * stopped, then drained, timed, one of two ways:
 *
 *   zerocopy-batch  mpmcring_read_batch of 64, read in place, one commit
 *   copy            mpmcring_read, copy the payload out, commit, per record
 *
 * touching every payload word, at 64 B, 1 KiB and 4 KiB. Prints lines in
 * go test's benchmark format (BenchmarkConsumeC/<mode>/<size>-1 N ns/op)
 * so that bench/go/report.py reads both.
 *
 *   chost [RECORDS [SIZE MODE]]   RECORDS per size and mode (default
 *                                 400000); only SIZE and MODE if given
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hostring.h"
#include "internal.h"

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Payloads start 8-aligned (granule 8): read as words, as the Go side does. */
static uint64_t sum_words(const void *d, uint32_t len)
{
	const uint64_t *w = d;
	uint64_t s = 0;
	uint32_t i;

	for (i = 0; i < len / 8; i++)
		s += w[i];
	return s;
}

static volatile uint64_t sink;

/* Out of line, so that callgrind counts them alone (scripts/bench-go.sh, ipr). */
static __attribute__((noinline)) uint64_t drain_zero_copy(struct mpmcring_consumer *c, uint64_t n)
{
	struct mpmcring_record rec;
	struct mpmcring_batch b;
	uint64_t got = 0, sum = 0;

	while (got < n) {
		int k = mpmcring_read_batch(c, &b, 64, SIZE_MAX);

		if (k <= 0)
			exit(1);
		while (mpmcring_batch_next(&b, &rec))
			sum += sum_words(rec.data, rec.len);
		got += k;
		if (mpmcring_commit(c))
			exit(1);
	}
	return sum;
}

static __attribute__((noinline)) uint64_t drain_copy(struct mpmcring_consumer *c, uint64_t n,
						     unsigned char *buf)
{
	struct mpmcring_record rec;
	uint64_t got, sum = 0;

	for (got = 0; got < n; got++) {
		if (mpmcring_read(c, &rec))
			exit(1);
		memcpy(buf, rec.data, rec.len);
		if (mpmcring_commit(c))
			exit(1);
		sum += sum_words(buf, rec.len);
	}
	return sum;
}

static double run(uint32_t size, int copying, uint64_t total)
{
	struct hostring_params p = { .size = 8 << 20, .producers = 1, .max_consumers = 8 };
	struct mpmcring_consumer *c;
	struct hostring h;
	struct mpmcring *r;
	unsigned char *payload = malloc(size), *buf = malloc(size);
	uint64_t done = 0, per_fill, pos, sum = 0;
	double t = 0, t0;
	uint32_t i;

	if (!payload || !buf || hostring_init(&h, &p))
		exit(1);
	for (i = 0; i < size; i++)
		payload[i] = (unsigned char)i;
	r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	c = r ? mpmcring_consumer_new(r) : NULL;
	if (!c)
		exit(1);
	per_fill = h.layout.data_size / mpr_rec_size(&h.v, size) * 9 / 10;
	while (done < total) {
		uint64_t n = total - done < per_fill ? total - done : per_fill;

		for (i = 0; i < n; i++) {
			if (hostring_reserve(&h, 0, size, MPMCRING_PRIO_CRITICAL, &pos))
				exit(1);
			memcpy(hostring_payload(&h, pos), payload, size);
			hostring_commit(&h, 0, pos, size);
		}
		t0 = now_ns();
		sum += copying ? drain_copy(c, n, buf) : drain_zero_copy(c, n);
		t += now_ns() - t0;
		done += n;
	}
	sink = sum;
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	hostring_destroy(&h);
	free(payload);
	free(buf);
	return t / total;
}

int main(int argc, char **argv)
{
	static const uint32_t sizes[] = { 64, 1024, 4096 };
	static const char *const modes[] = { "zerocopy-batch", "copy" };
	uint64_t total = argc > 1 ? strtoull(argv[1], NULL, 0) : 400000;
	unsigned int s;
	int m;

	for (s = 0; s < 3; s++)
		for (m = 0; m < 2; m++) {
			if (argc > 3 &&
			    (strtoul(argv[2], NULL, 0) != sizes[s] || strcmp(argv[3], modes[m])))
				continue;
			printf("BenchmarkConsumeC/%s/%u-1 %llu %.2f ns/op\n", modes[m], sizes[s],
			       (unsigned long long)total, run(sizes[s], m, total));
		}
	return 0;
}
