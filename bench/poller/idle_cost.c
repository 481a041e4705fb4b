// SPDX-License-Identifier: GPL-2.0-only
/*
 * What an idle mpmcring_poller_consume() costs (issue 18): the call a
 * program in its own epoll loop makes when nothing is ready. With rings
 * of ABI 1.3 the poller tells a destroyed ring from an idle one by the
 * meta page's state word, a load per ring; with rings of ABI 1.2 (the
 * word is not kept there) it asks its epoll set, one epoll_wait(2) per
 * call, as every ring did before. Both run here, the library's own code
 * over host rings whose "device" is a pipe that never becomes readable
 * (the way tests/host/api_test.c stands one in).
 *
 *   idle_cost [-n CALLS] [-k RINGS]
 *
 * Prints, per ABI and number of rings, the median ns per idle call over 7
 * rounds. A note for the documentation, never a pass/fail test: timings
 * on a shared machine drift, compare the rows of one run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "hostring.h"
#include "internal.h"

#define ROUNDS 7
#define MAX_RINGS 16

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int nop_fn(void *ctx, const struct mpmcring_record *rec)
{
	(void)ctx;
	(void)rec;
	return 0;
}

/* Median ns per idle consume of a poller over k rings of ABI 1.minor. */
static double idle_cost(unsigned int minor, unsigned int k, long calls)
{
	struct hostring h[MAX_RINGS];
	struct mpmcring *r[MAX_RINGS];
	int wfd[MAX_RINGS];
	struct mpmcring_poller *p = mpmcring_poller_new(NULL);
	double ns[ROUNDS], t0;
	unsigned int i;
	long c;
	int round;

	if (!p)
		exit(1);
	for (i = 0; i < k; i++) {
		struct mpmcring_layout l;
		int fds[2];

		if (hostring_init(&h[i],
				  &(struct hostring_params){ .size = 4096, .producers = 1 }) ||
		    pipe(fds))
			exit(1);
		l = h[i].layout;
		l.abi_minor = (__u16)minor;
		r[i] = mpmcring__open_memory(h[i].cons, h[i].ro, &l);
		if (!r[i] || mpmcring_poller_add(p, r[i], nop_fn, NULL, NULL) != (int)i)
			exit(1);
		r[i]->fd = fds[0];
		wfd[i] = fds[1];
		if (epoll_ctl(mpmcring_poller_epoll_fd(p), EPOLL_CTL_ADD, fds[0],
			      &(struct epoll_event){ .events = EPOLLIN, .data.u32 = i }))
			exit(1);
	}
	for (round = 0; round < ROUNDS; round++) {
		t0 = now_ns();
		for (c = 0; c < calls; c++)
			if (mpmcring_poller_consume(p) != 0)
				exit(1);
		ns[round] = (now_ns() - t0) / (double)calls;
	}
	mpmcring_poller_free(p);
	for (i = 0; i < k; i++) {
		close(wfd[i]);
		mpmcring_close(r[i]);
		hostring_destroy(&h[i]);
	}
	qsort(ns, ROUNDS, sizeof(ns[0]), cmp_double);
	return ns[ROUNDS / 2];
}

int main(int argc, char **argv)
{
	static const unsigned int rings[] = { 1, 4, 16 };
	long calls = 1000000;
	unsigned int i, only = 0;
	int opt;

	while ((opt = getopt(argc, argv, "n:k:")) != -1) {
		switch (opt) {
		case 'n':
			calls = atol(optarg);
			break;
		case 'k':
			only = (unsigned int)atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-n CALLS] [-k RINGS (1..%d)]\n", argv[0],
				MAX_RINGS);
			return 2;
		}
	}
	if (calls < 1 || only > MAX_RINGS)
		return 2;
	printf("# idle mpmcring_poller_consume(), median ns per call of %d rounds of %ld\n", ROUNDS,
	       calls);
	printf("%-6s %-34s %10s\n", "rings", "end told by", "ns/call");
	for (i = 0; i < sizeof(rings) / sizeof(rings[0]); i++) {
		if (only && rings[i] != only)
			continue;
		printf("%-6u %-34s %10.1f\n", rings[i], "epoll_wait(2) (ABI 1.2 ring)",
		       idle_cost(2, rings[i], calls / 10 ? calls / 10 : 1));
		printf("%-6u %-34s %10.1f\n", rings[i], "meta state word (ABI 1.3 ring)",
		       idle_cost(MPMCRING_ABI_MINOR, rings[i], calls));
	}
	return 0;
}
