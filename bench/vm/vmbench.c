// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-VM benchmarks with in-kernel producers (the load generator). Under
 * qemu TCG the CPU is emulated, so only ratios taken in the same run mean
 * anything; every comparison interleaves its variants and repeats them.
 *
 *   vmbench [-r REPS] [-n RECORDS]
 *
 * Defaults from the environment when set (the guest's init hands kernel
 * command-line words to it): MPMCRING_VMBENCH_REPS, MPMCRING_VMBENCH_RECORDS.
 *
 * 1. Producer cost: ns per record of one kthread producer (measured by the
 *    kernel, first to last record) with no consumer, with a consumer busy
 *    reading, and with a consumer asleep in epoll, level- and
 *    edge-triggered (it drains through the mapping, then sleeps again).
 * 2. Consume: records/s reading a full ring zero-copy in batches of 64 vs
 *    read(2) copying one record per call, at 64 B, 1 KiB and 4 KiB; both
 *    touch every payload byte.
 * 3. Scaling: records/s with 1..N kthread producers (one per vCPU), each
 *    number with a reservation per record and with chunks of 4 KiB,
 *    alternating, which goes first too (chunked/not: the median of the
 *    same-repetition ratios; drops summed over all runs).
 *
 * Output: a table per part, and one "BENCH {json}" line per measurement.
 */
#include <pthread.h>
#include <sys/epoll.h>

#include "mpmcring.h"
#include "../../tests/vm/vmtest.h"

#define RING "/dev/mpmcring-vb"
#define MAX_REPS 15

static unsigned int reps = 5;
static uint64_t nrec = 100000;

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

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int lg_load(const char *params)
{
	char all[512];
	int err;

	snprintf(all, sizeof(all), "ring=vb create=1 size=33554432 autostart=0 %s", params);
	err = vm_insmod("mpmcring_loadgen", all);
	if (err)
		fprintf(stderr, "vmbench: insmod mpmcring_loadgen %s: %s\n", all, strerror(-err));
	return err;
}

/* ---- 1. producer cost under three kinds of consumer ---- */

enum consumer_kind { NONE, BUSY, ASLEEP, ASLEEP_ET, NR_KINDS };
static const char *const kind_names[] = { "no consumer", "busy consumer", "asleep in epoll",
					  "asleep, epoll ET" };

struct cons_arg {
	enum consumer_kind kind;
	volatile int stop;
	uint64_t got, wakes;
};

static void *consumer_thread(void *p)
{
	struct cons_arg *a = p;
	struct mpmcring *r = mpmcring_open(RING, 0);
	struct mpmcring_consumer *c = r ? mpmcring_consumer_new(r) : NULL;
	struct epoll_event ev = { .events = EPOLLIN };
	struct mpmcring_batch b;
	struct mpmcring_record rec;
	int ep = -1;

	if (!c)
		return NULL;
	if (a->kind == ASLEEP || a->kind == ASLEEP_ET) {
		if (a->kind == ASLEEP_ET)
			ev.events |= EPOLLET;
		ep = epoll_create1(0);
		epoll_ctl(ep, EPOLL_CTL_ADD, mpmcring_fd(r), &ev);
	}
	while (!a->stop) {
		if (mpmcring_read_batch(c, &b, 64, SIZE_MAX) > 0) {
			while (mpmcring_batch_next(&b, &rec))
				a->got++;
			mpmcring_commit(c);
			continue;
		}
		if (ep >= 0 && epoll_wait(ep, &ev, 1, 50) == 1)
			a->wakes++;
	}
	if (ep >= 0)
		close(ep);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	return NULL;
}

/*
 * One load-generator run of `threads` kthreads, `count` 64 B records each,
 * beside a consumer of the given kind; fills lg with the final counters.
 * Returns the consumer's wakeup count.
 */
static uint64_t lg_run(long threads, uint64_t count, enum consumer_kind kind, unsigned int chunk,
		       struct lg_stats *lg)
{
	struct cons_arg a = { .kind = kind };
	char params[160];
	pthread_t th;

	snprintf(params, sizeof(params),
		 "threads=%ld count=%llu len_min=64 len_max=64 prio_mix=0:0:100 chunk_bytes=%u",
		 threads, (unsigned long long)count, chunk);
	if (lg_load(params))
		exit(1);
	if (kind != NONE)
		pthread_create(&th, NULL, consumer_thread, &a);
	vm_sleep_ms(50); /* the consumer is asleep (or spinning) first */
	if (lg_control("start") || !lg_wait_finished(600) || lg_read_stats(lg))
		exit(1);
	a.stop = 1;
	if (kind != NONE)
		pthread_join(th, NULL);
	vm_rmmod("mpmcring_loadgen");
	return a.wakes;
}

static double producer_cost_once(enum consumer_kind kind, uint64_t *wakes)
{
	struct lg_stats lg;

	*wakes = lg_run(1, nrec, kind, 0, &lg);
	return (double)lg.elapsed_ns[0] / nrec;
}

static void bench_producer_cost(void)
{
	double cost[NR_KINDS][MAX_REPS], med[NR_KINDS], et_wakes[MAX_REPS];
	uint64_t wakes;
	unsigned int i, k;

	printf("\n== producer cost, one kthread, 64 B records, %llu per run, %u runs ==\n",
	       (unsigned long long)nrec, reps);
	for (i = 0; i < reps; i++)
		for (k = 0; k < NR_KINDS; k++) {
			cost[k][i] = producer_cost_once(k, &wakes);
			if (k == ASLEEP_ET)
				et_wakes[i] = wakes;
		}
	printf("%-18s %12s %10s\n", "consumer", "ns/record", "vs none");
	for (k = 0; k < NR_KINDS; k++)
		med[k] = median(cost[k], reps);
	for (k = 0; k < NR_KINDS; k++) {
		printf("%-18s %12.1f %10.3f\n", kind_names[k], med[k], med[k] / med[NONE]);
		printf("BENCH {\"part\":\"producer_cost\",\"consumer\":\"%s\",\"ns_per_record\":%.1f,\"ratio_vs_none\":%.4f}\n",
		       kind_names[k], med[k], med[k] / med[NONE]);
	}
	/*
	 * How often the ET consumer caught up and slept: a count that swings
	 * with the two threads' timing, so the median of every run, with its
	 * range, rather than one run's.
	 */
	med[0] = median(et_wakes, reps); /* sorts et_wakes: min first, max last */
	printf("(asleep, epoll ET: %.0f wakeups per run, median of %u runs, min %.0f, max %.0f)\n",
	       med[0], reps, et_wakes[0], et_wakes[reps - 1]);
}

/* ---- 2. zero-copy batches vs read(2) ---- */

static uint64_t fill(unsigned int len)
{
	char params[160];
	struct lg_stats lg;
	uint64_t n = (32ull << 20) / (len + 8) * 9 / 10;

	if (n > nrec)
		n = nrec;
	snprintf(params, sizeof(params),
		 "threads=1 count=%llu len_min=%u len_max=%u prio_mix=0:0:100",
		 (unsigned long long)n, len, len);
	if (lg_load(params) || lg_control("start") || !lg_wait_finished(600) || lg_read_stats(&lg))
		exit(1);
	return lg.total_committed;
}

static double consume_zero_copy(uint64_t n)
{
	struct mpmcring *r = mpmcring_open(RING, 0);
	struct mpmcring_consumer *c = r ? mpmcring_consumer_new(r) : NULL;
	struct mpmcring_batch b;
	struct mpmcring_record rec;
	volatile uint64_t sum = 0;
	uint64_t got = 0;
	double t0;

	if (!c)
		exit(1);
	t0 = now_ns();
	while (got < n && mpmcring_read_batch(c, &b, 64, SIZE_MAX) > 0) {
		while (mpmcring_batch_next(&b, &rec)) {
			const uint64_t *w = rec.data;
			uint64_t s = 0;

			for (uint32_t i = 0; i < rec.len / 8; i++)
				s += w[i];
			sum += s;
			got++;
		}
		mpmcring_commit(c);
	}
	t0 = now_ns() - t0;
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	return got == n ? got / (t0 / 1e9) : 0;
}

static double consume_read(uint64_t n, unsigned int len)
{
	int fd = open(RING, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	uint64_t *buf = malloc(len + 64), got = 0;
	volatile uint64_t sum = 0;
	double t0;

	if (fd < 0 || !buf)
		exit(1);
	t0 = now_ns();
	while (got < n && read(fd, buf, len + 64) == (ssize_t)len) {
		uint64_t s = 0;

		for (uint32_t i = 0; i < len / 8; i++)
			s += buf[i];
		sum += s;
		got++;
	}
	t0 = now_ns() - t0;
	close(fd);
	free(buf);
	return got == n ? got / (t0 / 1e9) : 0;
}

static void bench_consume(void)
{
	static const unsigned int lens[] = { 64, 1024, 4096 };
	double zc[MAX_REPS], rd[MAX_REPS], mz, mr;
	unsigned int i, l;
	uint64_t n;

	printf("\n== consume a full ring: zero-copy batches of 64 vs read(2), %u runs ==\n", reps);
	printf("%8s %16s %16s %10s\n", "bytes", "zero-copy rec/s", "read(2) rec/s", "ratio");
	for (l = 0; l < 3; l++) {
		for (i = 0; i < reps; i++) {
			n = fill(lens[l]);
			zc[i] = consume_zero_copy(n);
			vm_rmmod("mpmcring_loadgen");
			n = fill(lens[l]);
			rd[i] = consume_read(n, lens[l]);
			vm_rmmod("mpmcring_loadgen");
		}
		mz = median(zc, reps);
		mr = median(rd, reps);
		printf("%8u %16.0f %16.0f %10.2f\n", lens[l], mz, mr, mz / mr);
		printf("BENCH {\"part\":\"consume\",\"bytes\":%u,\"zero_copy_rps\":%.0f,\"read_rps\":%.0f,\"ratio\":%.4f}\n",
		       lens[l], mz, mr, mz / mr);
	}
}

/* ---- 3. producers on 1..N vCPUs ---- */

/* Records/s of one run: attempted over the slowest producer's time;
 * *dropped gains the run's drops. */
static double lg_rate(long threads, unsigned int chunk, uint64_t *dropped)
{
	struct lg_stats lg;
	uint64_t max = 0;
	unsigned int j;

	lg_run(threads, nrec / threads, BUSY, chunk, &lg);
	*dropped += lg.total_dropped;
	for (j = 0; j < lg.producers; j++)
		max = lg.elapsed_ns[j] > max ? lg.elapsed_ns[j] : max;
	return max ? lg.total_attempted / (max / 1e9) : 0;
}

/*
 * Producers on 1..N vCPUs, each number of them with a reservation per
 * record and with chunks of CHUNK_BYTES (the ring's one global step per
 * chunk: docs/scaling.md), the two alternating within each repetition,
 * and which of them goes first alternating between repetitions.
 */
#define CHUNK_BYTES 4096

static void bench_scaling(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	double rps[MAX_REPS], crps[MAX_REPS], ratio[MAX_REPS], base = 0, r, c, m;
	uint64_t drops, cdrops;
	unsigned int i;
	long t;

	printf("\n== producers on 1..%ld vCPUs, 64 B records, a busy consumer, %u runs;"
	       " chunks of %u B alternating ==\n",
	       ncpu, reps, CHUNK_BYTES);
	printf("%8s %16s %10s %18s %26s %24s\n", "threads", "records/s", "vs 1",
	       "chunked records/s", "chunked/not (min-max)", "dropped, all runs: not/chunked");
	for (t = 1; t <= ncpu; t++) {
		drops = cdrops = 0;
		for (i = 0; i < reps; i++) {
			/* Which goes first alternates too: an order effect
			 * lands on both sides. */
			if (i & 1) {
				crps[i] = lg_rate(t, CHUNK_BYTES, &cdrops);
				rps[i] = lg_rate(t, 0, &drops);
			} else {
				rps[i] = lg_rate(t, 0, &drops);
				crps[i] = lg_rate(t, CHUNK_BYTES, &cdrops);
			}
			ratio[i] = rps[i] ? crps[i] / rps[i] : 0;
		}
		r = median(rps, reps);
		c = median(crps, reps);
		m = median(ratio, reps); /* sorts: its ends are the range */
		if (t == 1)
			base = r;
		printf("%8ld %16.0f %10.2f %18.0f %12.3f (%.3f-%.3f) %9llu/%llu\n", t, r, r / base,
		       c, m, ratio[0], ratio[reps - 1], (unsigned long long)drops,
		       (unsigned long long)cdrops);
		printf("BENCH {\"part\":\"scaling\",\"threads\":%ld,\"records_per_s\":%.0f,"
		       "\"ratio_vs_1\":%.4f,\"chunk_bytes\":%u,\"chunked_records_per_s\":%.0f,"
		       "\"chunked_vs_not\":%.4f,\"chunked_vs_not_min\":%.4f,"
		       "\"chunked_vs_not_max\":%.4f,\"dropped\":%llu,\"chunked_dropped\":%llu}\n",
		       t, r, r / base, CHUNK_BYTES, c, m, ratio[0], ratio[reps - 1],
		       (unsigned long long)drops, (unsigned long long)cdrops);
	}
}

int main(int argc, char **argv)
{
	const char *env;
	int ch;

	env = getenv("MPMCRING_VMBENCH_REPS");
	if (env && *env)
		reps = atoi(env);
	env = getenv("MPMCRING_VMBENCH_RECORDS");
	if (env && *env)
		nrec = strtoull(env, NULL, 0);
	while ((ch = getopt(argc, argv, "r:n:")) != -1) {
		if (ch == 'r')
			reps = atoi(optarg);
		else if (ch == 'n')
			nrec = strtoull(optarg, NULL, 0);
		else
			return fprintf(stderr, "usage: vmbench [-r reps] [-n records]\n"), 2;
	}
	if (!reps || reps > MAX_REPS || !nrec)
		return fprintf(stderr, "vmbench: -r 1-%d, -n > 0\n", MAX_REPS), 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("vmbench: in-kernel producers under qemu TCG: compare ratios only\n");
	bench_producer_cost();
	bench_consume();
	bench_scaling();
	return 0;
}
