// SPDX-License-Identifier: GPL-2.0-only
/*
 * The machine's own limits, measured in the same process, against which
 * the rings' numbers are read:
 *   transfer   one cache line passed between two CPUs (ping-pong: each
 *              side waits for the other's store, then stores): ns per
 *              transfer. A reservation on a contended counter costs one.
 *   cas        compare-and-swap increments of one shared counter by P
 *              threads (P = the producer counts of the mixes): the most
 *              reservations per second any design with one shared
 *              reservation counter can make.
 *   copy       memcpy of one record into the next place of a 1 MiB area
 *              and a look at its first bytes, one thread: records/s (the
 *              payload copy at cache bandwidth).
 *   cross      one CPU writes 1 MiB, another then reads it all: GB/s of
 *              payload moving from one core's cache to another's, the
 *              bound on bytes/s of any 1P1C ring.
 *   lines      the transfer of 64 lines, each at another address, each
 *              measured twice: the fastest, median and slowest line, and
 *              how far a line's two measurements part. On the Intel Xeon
 *              of bench/RESULTS.md ("Each line its own transfer cost") a
 *              line's cost is its own, set by its physical address
 *              (likely where its home slice of the last-level cache
 *              sits), and a ring's rate follows its lines' in part: these
 *              rows show how far lines part on the machine of a run.
 */
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

/* The most timed rounds one lim_run_rounds() makes. */
#define LIM_ROUNDS 20

struct lim_thread {
	void (*body)(struct lim_thread *t); /* one round's loop */
	uint64_t *word;
	uint64_t n;
	unsigned int parity; /* ping-pong: 0 or 1 */
	unsigned int rounds;
	int cpu;
	pthread_barrier_t *bar;
	double t0[LIM_ROUNDS], t1[LIM_ROUNDS]; /* each round's start and end */
} __attribute__((aligned(HB_CACHELINE)));

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/*
 * n round trips. Each round moves the count on by 2n, so the next round
 * starts at parity 0 again, with the first thread's turn.
 */
static void pingpong(struct lim_thread *t)
{
	uint64_t i, v;

	for (i = 0; i < t->n; i++) {
		unsigned int spins = 0;

		/* Our turn when the count has our parity. */
		while (((v = __atomic_load_n(t->word, __ATOMIC_ACQUIRE)) & 1) != t->parity)
			if (++spins > 100000) { /* the peer is not running */
				hb_yield();
				spins = 0;
			}
		__atomic_store_n(t->word, v + 1, __ATOMIC_RELEASE);
	}
}

static void cas_loop(struct lim_thread *t)
{
	uint64_t i, v;

	for (i = 0; i < t->n; i++) {
		v = __atomic_load_n(t->word, __ATOMIC_RELAXED);
		while (!__atomic_compare_exchange_n(t->word, &v, v + 1, false, __ATOMIC_SEQ_CST,
						    __ATOMIC_RELAXED))
			;
	}
}

/* A thread: pinned once, then its rounds, each started with the others'. */
static void *lim_thread_main(void *arg)
{
	struct lim_thread *t = arg;
	unsigned int r;

	pin(t->cpu);
	for (r = 0; r < t->rounds; r++) {
		pthread_barrier_wait(t->bar);
		t->t0[r] = hb_now();
		t->body(t);
		t->t1[r] = hb_now();
	}
	return NULL;
}

/*
 * Runs n threads of body on one shared word (NULL: a line of its own),
 * rounds times over (at most LIM_ROUNDS) with the same threads; secs[r]:
 * round r's seconds from the first start to the last end.
 */
static void lim_run_rounds(void (*body)(struct lim_thread *t), unsigned int n, uint64_t iters,
			   unsigned int rounds, int (*cpu_of)(unsigned int), double *secs,
			   uint64_t *on)
{
	uint64_t *word = on ? on : aligned_alloc(HB_CACHELINE, HB_CACHELINE);
	struct lim_thread *t = aligned_alloc(HB_CACHELINE, sizeof(*t) * n);
	pthread_t *th = calloc(n, sizeof(*th));
	pthread_barrier_t bar;
	unsigned int i, r;

	if (rounds > LIM_ROUNDS) {
		fprintf(stderr, "hostbench: %u rounds asked for, at most %d\n", rounds, LIM_ROUNDS);
		exit(2);
	}
	if (!word || !t || !th) {
		fprintf(stderr, "hostbench: out of memory measuring the machine\n");
		exit(2);
	}
	*word = 0;
	pthread_barrier_init(&bar, NULL, n);
	for (i = 0; i < n; i++) {
		t[i] = (struct lim_thread){ .body = body,
					    .word = word,
					    .n = iters,
					    .parity = i & 1,
					    .rounds = rounds,
					    .cpu = cpu_of(i),
					    .bar = &bar };
		if (pthread_create(&th[i], NULL, lim_thread_main, &t[i])) {
			fprintf(stderr,
				"hostbench: cannot start a thread to measure the machine\n");
			exit(2);
		}
	}
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	for (r = 0; r < rounds; r++) {
		double t0 = t[0].t0[r], t1 = t[0].t1[r];

		for (i = 1; i < n; i++) {
			if (t[i].t0[r] < t0)
				t0 = t[i].t0[r];
			if (t[i].t1[r] > t1)
				t1 = t[i].t1[r];
		}
		secs[r] = t1 - t0;
	}
	pthread_barrier_destroy(&bar);
	if (!on)
		free(word);
	free(t);
	free(th);
}

/* Runs n threads of body once; returns seconds from the first start to the last end. */
static double lim_run(void (*body)(struct lim_thread *t), unsigned int n, uint64_t iters,
		      int (*cpu_of)(unsigned int))
{
	double secs;

	lim_run_rounds(body, n, iters, 1, cpu_of, &secs, NULL);
	return secs;
}

/* Ping-pong: the first and the last CPU (different cores when there are). */
static int pp_cpu(unsigned int i)
{
	return i ? hb_cpu(hb_ncpus() - 1) : hb_cpu(0);
}

/* CAS: the producers' CPUs. */
static int prod_cpu(unsigned int i)
{
	return hb_cpu(i);
}

static double copy_rate(uint32_t size, uint64_t n)
{
	uint64_t area = 1 << 20, slots = area / size, i, sum = 0;
	unsigned char *dst = aligned_alloc(HB_CACHELINE, area);
	unsigned char *src = aligned_alloc(HB_CACHELINE, size);
	double t0, t1;

	if (!dst || !src)
		exit(2);
	hb_rec_init(src, size);
	memset(dst, 0, area);
	t0 = hb_now();
	for (i = 0; i < n; i++) {
		unsigned char *d = dst + (i % slots) * size;
		uint64_t first;

		memcpy(src, &i, sizeof(i));
		memcpy(d, src, size);
		__asm__ __volatile__("" : : "r"(d) : "memory");
		memcpy(&first, d, sizeof(first));
		sum += first;
	}
	t1 = hb_now();
	free(dst);
	free(src);
	if (sum != n * (n - 1) / 2)
		fprintf(stderr, "hostbench: limits: copy check failed\n");
	return n / (t1 - t0);
}

struct cross {
	uint64_t *buf;
	size_t words;
	unsigned int rounds;
	pthread_barrier_t bar;
	double read_s;
	uint64_t sum;
};

static void *cross_writer(void *arg)
{
	struct cross *x = arg;
	unsigned int r;
	size_t i;

	pin(hb_cpu(0));
	for (r = 0; r < x->rounds; r++) {
		for (i = 0; i < x->words; i++)
			x->buf[i] = r + i;
		pthread_barrier_wait(&x->bar); /* written */
		pthread_barrier_wait(&x->bar); /* read */
	}
	return NULL;
}

static void *cross_reader(void *arg)
{
	struct cross *x = arg;
	uint64_t local[512] __attribute__((aligned(HB_CACHELINE)));
	unsigned int r;
	uint64_t sum = 0;
	double t0;
	size_t i;

	pin(hb_cpu(hb_ncpus() - 1));
	for (r = 0; r < x->rounds; r++) {
		pthread_barrier_wait(&x->bar);
		t0 = hb_now();
		/* Wide loads, as a record copy makes them. */
		for (i = 0; i < x->words; i += 512) {
			memcpy(local, x->buf + i, sizeof(local));
			__asm__ __volatile__("" : : "r"(local) : "memory");
			sum += local[i & 511];
		}
		x->read_s += hb_now() - t0;
		pthread_barrier_wait(&x->bar);
	}
	x->sum = sum;
	return NULL;
}

/* GB/s read by one CPU of data another CPU just wrote. */
static double cross_rate(unsigned int rounds)
{
	struct cross x = { .words = (1 << 20) / 8, .rounds = rounds };
	pthread_t a, b;

	x.buf = aligned_alloc(HB_CACHELINE, 1 << 20);
	if (!x.buf)
		exit(2);
	pthread_barrier_init(&x.bar, NULL, 2);
	if (pthread_create(&a, NULL, cross_writer, &x) ||
	    pthread_create(&b, NULL, cross_reader, &x))
		exit(2);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	pthread_barrier_destroy(&x.bar);
	free(x.buf);
	return (double)rounds * (1 << 20) / x.read_s / 1e9;
}

#define LIM_LINES 64
#define LIM_LINE_TRIES 5

/*
 * One line's transfer: the fastest of a few ping-pongs of 1000 round trips
 * (0.1-0.5 ms each): a longer one spans the scheduler's time slices and
 * measures the load on a busy machine (a median of three of 20000 read
 * 425-4178 ns where the fastest of short ones read 237-248), the fastest
 * one the line. One pair of threads makes a line's tries; each line
 * starts a pair (two thread starts, well under a millisecond).
 */
static double line_ns(uint64_t *word, unsigned int tries)
{
	double secs[LIM_ROUNDS], best = 0;
	unsigned int k;

	lim_run_rounds(pingpong, 2, 1000, tries, pp_cpu, secs, word);
	for (k = 0; k < tries; k++)
		if (!k || secs[k] < best)
			best = secs[k];
	return best / (2.0 * 1000) * 1e9;
}

/* n pages, populated, for lines to probe. */
static unsigned char *lines_map(unsigned int n)
{
	void *a = mmap(NULL, (size_t)n * 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (a == MAP_FAILED) {
		static bool said;

		if (!said)
			perror("hostbench: mapping lines to probe (rounds' transfer_ns 0, limits' line rows left out)");
		said = true;
		return NULL;
	}
	return a;
}

/* Line i: line i % 64 of page i (many pages, every offset in a page). */
static uint64_t *line_at(unsigned char *area, unsigned int i)
{
	return (uint64_t *)(area + (size_t)i * 4096 + (i % 64) * HB_CACHELINE);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median_of(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * The transfer cost of LIM_LINES lines (line_at()), all measured once,
 * then all again: out[0..2] the fastest, median and slowest line (the
 * mean of its two), out[3] the median over lines of |first - second| /
 * mean. Lines apart by more than their own two measurements are lines
 * whose cost is their address's.
 */
static int line_spread(double out[4])
{
	double first[LIM_LINES], mean[LIM_LINES], part[LIM_LINES];
	unsigned char *area = lines_map(LIM_LINES);
	unsigned int i;

	if (!area)
		return -1;
	for (i = 0; i < LIM_LINES; i++)
		first[i] = line_ns(line_at(area, i), LIM_LINE_TRIES);
	for (i = 0; i < LIM_LINES; i++) {
		double again = line_ns(line_at(area, i), LIM_LINE_TRIES);

		mean[i] = (first[i] + again) / 2;
		part[i] = (first[i] > again ? first[i] - again : again - first[i]) / mean[i];
	}
	munmap(area, (size_t)LIM_LINES * 4096);
	qsort(mean, LIM_LINES, sizeof(*mean), cmp_double);
	out[0] = mean[0];
	out[1] = median_of(mean, LIM_LINES);
	out[2] = mean[LIM_LINES - 1];
	out[3] = median_of(part, LIM_LINES);
	return 0;
}

#define LIM_PROBE_LINES 8

/*
 * The median line of LIM_PROBE_LINES, each the fastest of 4 ping-pongs:
 * one line says as much of its own address as of the vCPUs' placement
 * (lines part by 1.25-1.9x on one placement: line_spread()), the median
 * of a few says the placement.
 */
double hb_transfer_ns(void)
{
	unsigned char *area;
	double v[LIM_PROBE_LINES];
	unsigned int i;

	if (hb_ncpus() < 2 || !(area = lines_map(LIM_PROBE_LINES)))
		return 0;
	for (i = 0; i < LIM_PROBE_LINES; i++)
		v[i] = line_ns(line_at(area, i), 4);
	munmap(area, (size_t)LIM_PROBE_LINES * 4096);
	return median_of(v, LIM_PROBE_LINES);
}

#define LIM_REPS 5
#define LIM_ROWS 64

static struct lim_row {
	const char *what, *unit;
	unsigned int threads;
	uint32_t size;
	double value;
} rows[LIM_ROWS];
static unsigned int nrows;

static void row(const char *what, unsigned int threads, uint32_t size, double value,
		const char *unit)
{
	if (nrows < LIM_ROWS)
		rows[nrows++] = (struct lim_row){ what, unit, threads, size, value };
}

static void write_rows(const char *dir)
{
	char path[4096];
	unsigned int i;
	FILE *f;

	snprintf(path, sizeof(path), "%s/limits.csv", dir);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(2);
	}
	fprintf(f, "what,threads,size,value,unit\n");
	for (i = 0; i < nrows; i++)
		fprintf(f, "%s,%u,%u,%.2f,%s\n", rows[i].what, rows[i].threads, rows[i].size,
			rows[i].value, rows[i].unit);
	fclose(f);
	snprintf(path, sizeof(path), "%s/limits.json", dir);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(2);
	}
	fprintf(f, "{\n  \"limits\": [");
	for (i = 0; i < nrows; i++)
		fprintf(f,
			"%s\n    {\"what\": \"%s\", \"threads\": %u, \"size\": %u, \"value\": %.2f, \"unit\": \"%s\"}",
			i ? "," : "", rows[i].what, rows[i].threads, rows[i].size, rows[i].value,
			rows[i].unit);
	fprintf(f, "\n  ]\n}\n");
	fclose(f);
}

void hb_limits(const char *dir, bool quick)
{
	uint64_t n_pp = quick ? 200000 : 1000000, n_cas = quick ? 500000 : 2000000;
	static const uint32_t sizes[] = { 16, 64, 256, 1024, 4096 };
	double v[LIM_REPS], pp, lines[4];
	unsigned int i, k, p;

	printf("\nMachine limits (median of %d):\n", LIM_REPS);

	if (hb_ncpus() > 1) {
		for (k = 0; k < LIM_REPS; k++)
			v[k] = lim_run(pingpong, 2, n_pp, pp_cpu) / (2.0 * n_pp) * 1e9;
		pp = median_of(v, LIM_REPS);
		printf("  cache line transfer between CPUs %d and %d, one line: %.1f ns\n",
		       pp_cpu(0), pp_cpu(1), pp);
		row("transfer", 2, 0, pp, "ns");
	}
	if (hb_ncpus() > 1 && !line_spread(lines)) {
		printf("  the same, %d lines at other addresses, each measured twice: fastest %.1f, median %.1f, slowest %.1f ns; a line's two measurements part by %.1f%% (median)\n",
		       LIM_LINES, lines[0], lines[1], lines[2], lines[3] * 100);
		row("line_fastest", 2, 0, lines[0], "ns");
		row("line_median", 2, 0, lines[1], "ns");
		row("line_slowest", 2, 0, lines[2], "ns");
		row("line_repeat", 2, 0, lines[3] * 100, "%");
	}
	if (hb_ncpus() > 1) {
		for (k = 0; k < LIM_REPS; k++)
			v[k] = cross_rate(quick ? 16 : 64);
		printf("  1 MiB written on CPU %d, then read on CPU %d: %.1f GB/s\n", hb_cpu(0),
		       hb_cpu(hb_ncpus() - 1), median_of(v, LIM_REPS));
		row("cross", 2, 1 << 20, median_of(v, LIM_REPS), "GB/s");
	}
	/* One shared counter, 1, 2, 4 ... threads and every CPU: the
	 * reservation line of any single-counter design (docs/scaling.md). */
	for (p = 1; p <= hb_ncpus();
	     p = p < hb_ncpus() && 2 * p > hb_ncpus() ? hb_ncpus() : 2 * p) {
		for (k = 0; k < LIM_REPS; k++)
			v[k] = p * n_cas / lim_run(cas_loop, p, n_cas, prod_cpu);
		printf("  CAS increments of one counter, %u thread%s: %.1f M/s\n", p,
		       p > 1 ? "s" : "", median_of(v, LIM_REPS) / 1e6);
		row("cas", p, 0, median_of(v, LIM_REPS), "ops/s");
		if (p == hb_ncpus())
			break;
	}
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t n = (quick ? 64ULL << 20 : 512ULL << 20) / sizes[i];

		for (k = 0; k < LIM_REPS; k++)
			v[k] = copy_rate(sizes[i], n);
		printf("  copy %5u B into a 1 MiB area, one thread: %.1f Mrecords/s (%.1f GB/s)\n",
		       sizes[i], median_of(v, LIM_REPS) / 1e6,
		       median_of(v, LIM_REPS) * sizes[i] / 1e9);
		row("copy", 1, sizes[i], median_of(v, LIM_REPS), "records/s");
	}
	write_rows(dir);
	fflush(stdout);
}
