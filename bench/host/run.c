// SPDX-License-Identifier: GPL-2.0-only
/*
 * One timed run: a fresh ring, a warm-up through it on this thread (faults
 * its pages in, warms the caches the same way for every implementation),
 * then the producers and consumers on their own threads, pinned one per CPU
 * as below, released together by a barrier. The time is from the first
 * thread past the barrier to the last thread done. Afterwards every record is accounted for; a missing,
 * duplicated or damaged record ends the program.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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

static pthread_barrier_t start;

static void *thread_main(void *arg)
{
	struct hb_worker *w = arg;
	struct hb_run *run = w->run;
	const struct hb_impl *im = run->impl;

	if (!w->producer) {
		/* Allocated here: on this thread's CPU, in its own arena. */
		w->seen = calloc(1, sizeof(*w->seen));
		if (!w->seen)
			w->err = -ENOMEM;
		else if (im->consumer_init)
			w->err = im->consumer_init(w->ring, w);
	}
	pthread_barrier_wait(&start);
	w->t_start = hb_now();
	if (!w->err) {
		if (w->producer) {
			im->produce(w->ring, w);
			__atomic_fetch_sub(&run->producers_left, 1, __ATOMIC_RELEASE);
		} else {
			im->consume(w->ring, w, run->cfg->batch);
		}
	} else if (w->producer) {
		__atomic_fetch_sub(&run->producers_left, 1, __ATOMIC_RELEASE);
	}
	w->t_end = hb_now();
	return NULL;
}

static uint64_t sum_squares(uint64_t n)
{
	uint64_t s = 0, i;

	for (i = 0; i < n; i++)
		s += i * i;
	return s;
}

int hb_verify(const char *who, const struct hb_cfg *cfg, struct hb_seen **seen, unsigned int nseen,
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
	for (p = 0; p < cfg->producers; p++) {
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

/* Warm-up records: two ring's worth, capped. */
static uint64_t warmup_records(const struct hb_cfg *cfg)
{
	uint64_t n = 2 * cfg->ring_bytes / cfg->size;

	return n > 131072 ? 131072 : n;
}

int hb_run_once(const struct hb_impl *impl, const struct hb_cfg *cfg, unsigned int rep,
		struct hb_result *res)
{
	unsigned int nthreads = cfg->producers + cfg->consumers, i, k, c;
	struct hb_run run = { .cfg = cfg, .impl = impl };
	struct hb_worker *w;
	struct hb_seen *warm, **seen;
	pthread_t *th;
	pthread_attr_t attr;
	uint64_t *sent, warm_n;
	double t0 = 0, t1 = 0;
	char who[128];
	void *ring;

	snprintf(who, sizeof(who), "%s %uP%uC %uB %s rep %u", impl->name, cfg->producers,
		 cfg->consumers, cfg->size, cfg->batch ? "batch" : "single", rep);
	ring = impl->create(cfg);
	w = aligned_alloc(HB_CACHELINE, sizeof(*w) * nthreads);
	th = calloc(nthreads, sizeof(*th));
	seen = calloc(cfg->consumers, sizeof(*seen));
	sent = calloc(cfg->producers, sizeof(*sent));
	warm = calloc(1, sizeof(*warm));
	if (!ring || !w || !th || !seen || !sent || !warm) {
		fprintf(stderr, "hostbench: %s: out of memory setting up the ring\n", who);
		exit(2);
	}

	/* Warm-up on this thread, checked like the real thing. */
	warm_n = warmup_records(cfg);
	if (impl->single(ring, warm_n, cfg->batch, warm)) {
		fprintf(stderr, "hostbench: %s: warm-up failed\n", who);
		exit(1);
	}
	{
		struct hb_cfg one = *cfg;

		one.producers = 1;
		if (hb_verify(who, &one, &warm, 1, &warm_n))
			exit(1);
	}

	/*
	 * Producers take CPUs from the first, consumers from the last: two
	 * threads of the same role share a CPU only when the role has more
	 * threads than there are CPUs. (rte_ring and ck_ring make a thread
	 * wait for a peer of its role that reserved before it; with both on
	 * one CPU that wait lasts until the scheduler switches: a convoy of
	 * one record per time slice, which no fixed-count run survives.)
	 */
	memset(w, 0, sizeof(*w) * nthreads);
	run.producers_left = cfg->producers;
	run.oversubscribed = nthreads > hb_ncpus();
	for (i = 0, k = 0; k < nthreads; i++) {
		if (i < cfg->producers) {
			w[k].producer = true;
			w[k].idx = i;
			w[k].todo =
				cfg->records / cfg->producers + (i < cfg->records % cfg->producers);
			sent[i] = w[k].todo;
			k++;
		}
		if (i < cfg->consumers) {
			w[k].producer = false;
			w[k].idx = i;
			k++;
		}
	}
	pthread_barrier_init(&start, NULL, nthreads + 1);
	for (k = 0; k < nthreads; k++) {
		cpu_set_t set;

		w[k].run = &run;
		w[k].ring = ring;
		w[k].cpu = w[k].producer ? hb_cpu(w[k].idx)
					 : hb_cpu(hb_ncpus() - 1 - w[k].idx % hb_ncpus());
		pthread_attr_init(&attr);
		if (w[k].cpu >= 0) {
			CPU_ZERO(&set);
			CPU_SET(w[k].cpu, &set);
			if (pthread_attr_setaffinity_np(&attr, sizeof(set), &set)) {
				w[k].cpu = -1;
				if (!pin_failed_told)
					fprintf(stderr,
						"hostbench: cannot pin threads; running unpinned\n");
				pin_failed_told = true;
			}
		}
		if (pthread_create(&th[k], &attr, thread_main, &w[k])) {
			/* Pinning may be refused at start: try without. */
			pthread_attr_destroy(&attr);
			pthread_attr_init(&attr);
			w[k].cpu = -1;
			if (pthread_create(&th[k], &attr, thread_main, &w[k])) {
				fprintf(stderr, "hostbench: %s: cannot start a thread\n", who);
				exit(2);
			}
		}
		pthread_attr_destroy(&attr);
	}
	pthread_barrier_wait(&start);
	for (k = 0; k < nthreads; k++)
		pthread_join(th[k], NULL);
	pthread_barrier_destroy(&start);

	memset(res, 0, sizeof(*res));
	for (k = 0, c = 0; k < nthreads; k++) {
		if (w[k].err) {
			fprintf(stderr, "hostbench: %s: %s %u failed to start (%d)\n", who,
				w[k].producer ? "producer" : "consumer", w[k].idx, w[k].err);
			exit(2);
		}
		/* From the first thread that started to the last done. */
		if (!k || w[k].t_start < t0)
			t0 = w[k].t_start;
		if (w[k].t_end > t1)
			t1 = w[k].t_end;
		if (w[k].producer) {
			res->full_tries += w[k].fails;
		} else {
			res->empty_tries += w[k].fails;
			seen[c++] = w[k].seen;
		}
	}
	if (hb_verify(who, cfg, seen, c, sent))
		exit(1);

	res->impl = impl->name;
	res->cfg = *cfg;
	res->rep = rep;
	res->seconds = t1 - t0;
	res->rate = cfg->records / res->seconds;

	for (k = 0; k < nthreads; k++) {
		if (!w[k].producer && impl->consumer_fini)
			impl->consumer_fini(ring, &w[k]);
		free(w[k].seen);
	}
	impl->destroy(ring);
	free(w);
	free(th);
	free(seen);
	free(sent);
	free(warm);
	return 0;
}
