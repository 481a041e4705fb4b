// SPDX-License-Identifier: GPL-2.0-only
/*
 * One timed run of one implementation at one configuration:
 *
 *   1. a fresh ring, and a warm-up through it on this thread (faults its
 *      pages in, warms the caches the same way for every implementation);
 *   2. the producers and consumers on their own threads, pinned as below,
 *      released together by a barrier;
 *   3. warm_ms of running unmeasured (start-up, the ring filling), then the
 *      window: the records the consumers took in run_ms, and what the
 *      machine did meanwhile (machine.c);
 *   4. the producers told to stop, the consumers drain the ring, and every
 *      record sent is accounted for (check.c): a missing, duplicated or
 *      damaged record ends the program.
 *
 * A run lasts a fixed time, whatever the implementation's speed, and is
 * measured in its steady state only: neither the start nor the drain are
 * in the window.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "bench.h"

static int cpus[CPU_SETSIZE];
static unsigned int ncpus;
static bool pin_failed_told;

double hb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void hb_yield(void)
{
	sched_yield();
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* First CPU of the core this one belongs to (itself when not SMT). */
static int core_first(int cpu)
{
	char path[96];
	FILE *f;
	int first = cpu;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list",
		 cpu);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%d", &first) != 1)
			first = cpu;
		fclose(f);
	}
	return first;
}

/* The CPUs this process may use: one per physical core first, then the
 * SMT siblings, so that threads fill cores before sharing them. */
static void find_cpus(void)
{
	cpu_set_t set;
	int c, pass;

	if (ncpus)
		return;
	if (sched_getaffinity(0, sizeof(set), &set)) {
		cpus[ncpus++] = -1;
		return;
	}
	for (pass = 0; pass < 2; pass++)
		for (c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &set) && (core_first(c) == c) == !pass)
				cpus[ncpus++] = c;
	if (!ncpus)
		cpus[ncpus++] = -1;
}

unsigned int hb_ncpus(void)
{
	find_cpus();
	return cpus[0] < 0 ? 1 : ncpus;
}

int hb_cpu(unsigned int i)
{
	find_cpus();
	return cpus[i % ncpus];
}

int hb_copy_consumer_init(uint32_t size, struct hb_worker *w)
{
	w->priv = aligned_alloc(HB_CACHELINE, (size_t)size * HB_BATCH);
	return w->priv ? 0 : -ENOMEM;
}

void hb_copy_consumer_fini(void *ring, struct hb_worker *w)
{
	(void)ring;
	free(w->priv);
}

static pthread_barrier_t start;

static void *thread_main(void *arg)
{
	struct hb_worker *w = arg;
	struct hb_run *run = w->run;
	const struct hb_impl *im = run->impl;

	w->tid = (int)syscall(SYS_gettid);
	if (!w->producer) {
		/* Allocated here: on this thread's CPU, in its own arena. */
		w->seen = calloc(1, sizeof(*w->seen));
		if (!w->seen)
			w->err = -ENOMEM;
		else if (im->consumer_init)
			w->err = im->consumer_init(w->ring, w);
	}
	pthread_barrier_wait(&start);
	if (!w->err) {
		if (w->producer)
			im->produce(w->ring, w);
		else
			im->consume(w->ring, w, run->cfg->batch);
	}
	if (w->producer)
		__atomic_fetch_sub(&run->producers_left, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Warm-up records: two rings' worth, capped. */
static uint64_t warmup_records(const struct hb_cfg *cfg)
{
	uint64_t n = 2 * cfg->ring_bytes / cfg->size;

	return n > 131072 ? 131072 : n;
}

/*
 * What the timing thread samples at each end of the window: the records
 * taken, between two reads of the clock, t their midpoint (a few loads,
 * so the timing thread is seldom preempted between them); then the noise
 * measures, slower (a /proc read per thread), over their own interval.
 */
struct window_end {
	double t;
	uint64_t taken, nivcsw;
	double cpu;
	struct hb_machine_sample m;
};

static void window_sample(struct hb_worker *w, unsigned int n, struct window_end *e)
{
	unsigned int k;
	double t0;

	memset(e, 0, sizeof(*e));
	t0 = hb_now();
	for (k = 0; k < n; k++)
		if (!w[k].producer)
			e->taken += __atomic_load_n(&w[k].done, __ATOMIC_RELAXED);
	e->t = (t0 + hb_now()) / 2;
	for (k = 0; k < n; k++) {
		e->cpu += hb_thread_cpu(w[k].thread);
		e->nivcsw += hb_thread_nivcsw(w[k].tid);
	}
	hb_machine_sample(&e->m);
}

/*
 * Producers take CPUs from the first, consumers from the last: two threads
 * of the same role share a CPU only when the role has more threads than
 * there are CPUs. Threads are pinned: a thread the scheduler moves lands
 * on a CPU with cold caches and in the way of another thread.
 */
static void place(struct hb_worker *w, unsigned int nthreads)
{
	unsigned int k;

	for (k = 0; k < nthreads; k++)
		w[k].cpu = w[k].producer ? hb_cpu(w[k].idx)
					 : hb_cpu(hb_ncpus() - 1 - w[k].idx % hb_ncpus());
}

static void start_thread(struct hb_worker *w, const char *who)
{
	pthread_attr_t attr;
	cpu_set_t set;

	pthread_attr_init(&attr);
	if (w->cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		if (pthread_attr_setaffinity_np(&attr, sizeof(set), &set)) {
			w->cpu = -1;
			if (!pin_failed_told)
				fprintf(stderr,
					"hostbench: cannot pin threads; running unpinned\n");
			pin_failed_told = true;
		}
	}
	if (pthread_create(&w->thread, &attr, thread_main, w)) {
		/* Pinning may be refused at start: try without. */
		pthread_attr_destroy(&attr);
		pthread_attr_init(&attr);
		w->cpu = -1;
		if (pthread_create(&w->thread, &attr, thread_main, w)) {
			fprintf(stderr, "hostbench: %s: cannot start a thread\n", who);
			exit(2);
		}
	}
	pthread_attr_destroy(&attr);
}

static void warm_up(const struct hb_impl *impl, const struct hb_cfg *cfg, void *ring,
		    const char *who)
{
	struct hb_seen *warm = calloc(1, sizeof(*warm));
	uint64_t n = warmup_records(cfg);

	if (!warm) {
		fprintf(stderr, "hostbench: %s: out of memory\n", who);
		exit(2);
	}
	if (impl->single(ring, n, cfg->batch, warm) || hb_verify(who, 1, &warm, 1, &n)) {
		fprintf(stderr, "hostbench: %s: warm-up failed\n", who);
		exit(1);
	}
	free(warm);
}

int hb_run_once(const struct hb_impl *impl, const struct hb_cfg *cfg, unsigned int round,
		unsigned int slot, struct hb_result *res)
{
	unsigned int nthreads = cfg->producers + cfg->consumers, k, c, p;
	struct hb_run run = { .cfg = cfg, .impl = impl };
	struct window_end a, b;
	struct hb_seen **seen;
	struct hb_worker *w;
	uint64_t *sent, records = 0;
	double load1, window, noise_window, ticks = sysconf(_SC_CLK_TCK);
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int usable;
	char who[128];
	void *ring;

	snprintf(who, sizeof(who), "%s %uP%uC %uB %s round %u", impl->name, cfg->producers,
		 cfg->consumers, cfg->size, cfg->batch ? "batch" : "single", round);
	ring = impl->create(cfg);
	w = aligned_alloc(HB_CACHELINE, sizeof(*w) * nthreads);
	seen = calloc(cfg->consumers, sizeof(*seen));
	sent = calloc(cfg->producers, sizeof(*sent));
	if (!ring || !w || !seen || !sent) {
		fprintf(stderr, "hostbench: %s: out of memory setting up the ring\n", who);
		exit(2);
	}
	warm_up(impl, cfg, ring, who);

	memset(w, 0, sizeof(*w) * nthreads);
	run.producers_left = cfg->producers;
	run.oversubscribed = nthreads > hb_ncpus();
	for (k = 0, p = 0, c = 0; k < nthreads; k++) {
		/* Producers and consumers alternate in the array. */
		w[k].producer = (k % 2 == 0 && p < cfg->producers) || c == cfg->consumers;
		w[k].idx = w[k].producer ? p++ : c++;
		w[k].run = &run;
		w[k].ring = ring;
	}
	place(w, nthreads);
	pthread_barrier_init(&start, NULL, nthreads + 1);
	for (k = 0; k < nthreads; k++)
		start_thread(&w[k], who);
	load1 = hb_loadavg1();
	pthread_barrier_wait(&start);

	sleep_ms(cfg->warm_ms);
	window_sample(w, nthreads, &a);
	sleep_ms(cfg->run_ms);
	window_sample(w, nthreads, &b);
	__atomic_store_n(&run.stop, 1, __ATOMIC_RELAXED);

	for (k = 0; k < nthreads; k++)
		pthread_join(w[k].thread, NULL);
	pthread_barrier_destroy(&start);

	memset(res, 0, sizeof(*res));
	for (k = 0, c = 0; k < nthreads; k++) {
		if (w[k].err) {
			fprintf(stderr, "hostbench: %s: %s %u failed to start (%d)\n", who,
				w[k].producer ? "producer" : "consumer", w[k].idx, w[k].err);
			exit(2);
		}
		if (w[k].producer) {
			sent[w[k].idx] = w[k].done;
			records += w[k].done;
			res->full_tries += w[k].fails;
		} else {
			res->empty_tries += w[k].fails;
			seen[c++] = w[k].seen;
		}
	}
	if (hb_verify(who, cfg->producers, seen, c, sent))
		exit(1);

	window = b.t - a.t;
	usable = nthreads < hb_ncpus() ? nthreads : hb_ncpus();
	res->impl = impl->name;
	res->cfg = *cfg;
	/* The wait the consumers kept: none when threads outnumber CPUs. */
	if (run.oversubscribed)
		res->cfg.idle_ns = 0;
	res->round = round;
	res->slot = slot;
	res->seconds = window;
	res->rate = (b.taken - a.taken) / window;
	res->records = records;
	res->noise.load1 = load1;
	noise_window = b.m.t - a.m.t;
	res->noise.cpu_share = (b.cpu - a.cpu) / (usable * noise_window);
	res->noise.nivcsw = b.nivcsw - a.nivcsw;
	res->noise.steal = (b.m.steal_ticks - a.m.steal_ticks) / ticks / (online * noise_window);
	res->noise.other_busy = ((b.m.busy_ticks - a.m.busy_ticks) / ticks - (b.cpu - a.cpu)) /
				(online * noise_window);
	if (res->noise.other_busy < 0)
		res->noise.other_busy = 0; /* tick granularity */

	for (k = 0; k < nthreads; k++) {
		if (!w[k].producer && impl->consumer_fini)
			impl->consumer_fini(ring, &w[k]);
		free(w[k].seen);
	}
	impl->destroy(ring);
	free(w);
	free(seen);
	free(sent);
	return 0;
}
