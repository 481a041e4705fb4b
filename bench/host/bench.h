/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hostbench: mpmcring's producer protocol (the host harness) and library
 * consumers, side by side in one process with the rings users run today:
 * DPDK rte_ring, Concurrency Kit ck_ring, a Vyukov bounded queue, BPF
 * ringbuf's algorithm and Falco's per-CPU rings with a merging reader.
 * It measures and writes raw rows; bench/report/ turns them into numbers.
 * One job per file:
 *
 *   bench.h        records, workers, the implementation interface, the loops
 *   main.c         options; runs the plan; writes the rows
 *   plan.c         the configurations (mixes, sizes, modes) and their order
 *   run.c          one timed run: threads, pinning, the measured window
 *   check.c        every record accounted for, exactly once
 *   machine.c      what else the machine did meanwhile: load, steal, CPU
 *   out.c          runs.csv and machine.json, raw
 *   ipr.c          instructions per record under callgrind (-I)
 *   limits.c       the machine's limits: line transfer, CAS, copy
 *   scale.c        reservation rate of 1, 2, 4 ... producers, no consumer
 *   impl_*.c       one implementation each
 *
 * Every implementation moves records of cfg->size bytes: a producer copies
 * a record from its own buffer into the ring, a consumer looks at a few
 * bytes of it (in place where the ring allows it, after copying out where
 * that is its API) and checks them. Each record carries its producer and
 * sequence number, so every run proves that every record arrived exactly
 * once.
 */
#ifndef HOSTBENCH_H
#define HOSTBENCH_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#define HB_MAX_THREADS 256
#define HB_BATCH 32 /* records per batched consume */
#define HB_CACHELINE 64
#define HB_TAIL_MAGIC 0x5a5aa5a5c3c33c3cULL

/* What one run does: the same for every implementation. */
struct hb_cfg {
	unsigned int producers, consumers;
	uint32_t size;	      /* record bytes (payload for the framed rings) */
	bool batch;	      /* batched consume (else one record at a time) */
	uint64_t ring_bytes;  /* ring memory, equal for all */
	unsigned int warm_ms; /* threads running, not measured yet */
	unsigned int run_ms;  /* the measured window */
	unsigned int idle_ns; /* a consumer that found nothing waits this long */
};

/* What a consumer saw, per producer (its own copy: no sharing). */
struct hb_seen {
	uint64_t next[HB_MAX_THREADS]; /* seq + 1 of the last record seen */
	uint64_t count[HB_MAX_THREADS];
	uint64_t sum[HB_MAX_THREADS];
	uint64_t sumsq[HB_MAX_THREADS];
	uint64_t records, bad, out_of_order, touch;
};

struct hb_run;

/* One thread of a run, alone on its cache lines. */
struct hb_worker {
	struct hb_run *run;
	void *ring;
	unsigned int idx; /* producer or consumer index */
	bool producer;
	int cpu; /* -1: not pinned */
	pthread_t thread;
	int tid;	      /* the kernel's id of the thread */
	uint64_t fails;	      /* full (producer) or empty (consumer) tries */
	struct hb_seen *seen; /* consumer */
	void *priv;	      /* implementation's per-thread state */
	int err;
	/* Progress, read by the timing thread: own line. */
	uint64_t done __attribute__((aligned(HB_CACHELINE))); /* sent or taken */
} __attribute__((aligned(HB_CACHELINE)));

struct hb_run {
	const struct hb_cfg *cfg;
	const struct hb_impl *impl;
	bool oversubscribed; /* more threads than CPUs */
	/* Set once, when producers are to stop; read by every producer. */
	int stop __attribute__((aligned(HB_CACHELINE)));
	/* Producers still running; consumers stop once it is 0 and the ring
	 * is empty. */
	int producers_left __attribute__((aligned(HB_CACHELINE)));
	char pad[HB_CACHELINE - sizeof(int)];
};

/*
 * An implementation. Its loops are whole functions so that nothing is
 * called through a pointer per record.
 */
struct hb_impl {
	const char *name;
	const char *desc;
	/* A ring holding cfg->ring_bytes of records; NULL on failure. */
	void *(*create)(const struct hb_cfg *cfg);
	void (*destroy)(void *ring);
	/* In the consumer thread, before the start: per-thread state. */
	int (*consumer_init)(void *ring, struct hb_worker *w);
	void (*consumer_fini)(void *ring, struct hb_worker *w);
	/* Sends records until the run stops (retrying a full ring). */
	void (*produce)(void *ring, struct hb_worker *w);
	/* Takes records until the producers are done and the ring is empty. */
	void (*consume)(void *ring, struct hb_worker *w, bool batch);
	/* One thread, producer index 0: n records, each produced then
	 * consumed (batch: HB_BATCH produced, then consumed in batches).
	 * The warm-up of every run and the instruction counts use it. */
	int (*single)(void *ring, uint64_t n, bool batch, struct hb_seen *seen);
};

extern const struct hb_impl hb_ours, hb_rte, hb_ck, hb_vyukov, hb_bpfrb, hb_falco, hb_ours_chunk;

/* ---- records ----------------------------------------------------------- */

static inline uint32_t hb_check32(uint64_t seq, uint32_t producer)
{
	uint64_t x = (seq ^ ((uint64_t)producer << 40)) * 0x9e3779b97f4a7c15ULL;

	return (uint32_t)(x >> 32);
}

/* A producer's record buffer: a fixed pattern, then the changing fields. */
static inline void hb_rec_init(unsigned char *buf, uint32_t size)
{
	uint32_t i;

	for (i = 0; i < size; i++)
		buf[i] = (unsigned char)(i * 7 + 1);
}

static inline void hb_rec_fill(unsigned char *buf, uint32_t size, uint32_t producer, uint64_t seq)
{
	uint32_t chk = hb_check32(seq, producer);

	memcpy(buf, &seq, 8);
	memcpy(buf + 8, &producer, 4);
	memcpy(buf + 12, &chk, 4);
	if (size >= 24) {
		uint64_t tail = seq ^ HB_TAIL_MAGIC;

		memcpy(buf + size - 8, &tail, 8);
	}
}

/*
 * What a consumer does with a record: reads its first 16 and last 8 bytes
 * where it lies, checks them, and counts it for its producer.
 */
static inline void hb_rec_take(struct hb_seen *s, const unsigned char *p, uint32_t size,
			       unsigned int producers)
{
	uint64_t seq, tail = 0;
	uint32_t producer, chk;

	memcpy(&seq, p, 8);
	memcpy(&producer, p + 8, 4);
	memcpy(&chk, p + 12, 4);
	if (size >= 24)
		memcpy(&tail, p + size - 8, 8);
	s->records++;
	s->touch += seq + tail;
	if (producer >= producers || chk != hb_check32(seq, producer) ||
	    (size >= 24 && tail != (seq ^ HB_TAIL_MAGIC))) {
		s->bad++;
		return;
	}
	/* A consumer takes a producer's records in the order they were sent
	 * (every ring here keeps that order per producer). */
	if (seq < s->next[producer])
		s->out_of_order++;
	s->next[producer] = seq + 1;
	s->count[producer]++;
	s->sum[producer] += seq;
	s->sumsq[producer] += seq * seq;
}

/* ---- waiting ----------------------------------------------------------- */

static inline void hb_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

void hb_yield(void);

/*
 * The one policy every implementation uses on a full ring, and on an empty
 * one unless hostbench -e asks consumers to wait (hb_idle()):
 * exponential spinning (1, 2, 4 ... 512 pauses, so that a waiting thread
 * does not keep pulling the lines the working side needs); past that, when
 * threads outnumber CPUs, give the CPU away on every further try, else
 * keep spinning (a thread with a CPU of its own gains nothing by yielding
 * it, and on a shared machine would hand it to another process). The
 * caller sets *streak to 0 after a success.
 */
#define HB_SPIN_ROUNDS 10
static inline void hb_backoff(struct hb_worker *w, unsigned int *streak)
{
	unsigned int i;

	w->fails++;
	if (*streak < HB_SPIN_ROUNDS) {
		for (i = 0; i < 1u << *streak; i++)
			hb_relax();
		++*streak;
	} else if (w->run->oversubscribed) {
		hb_yield();
	} else {
		for (i = 0; i < 1u << (HB_SPIN_ROUNDS - 1); i++)
			hb_relax();
	}
}

double hb_now(void);

/*
 * The default: none (look again at once, hb_backoff()), the policy every
 * published table was measured with; -e sets a wait, at most HB_IDLE_MAX_NS
 * (longer ones measure the wait and each ring's capacity, not the ring).
 */
#define HB_IDLE_NS 0
#define HB_IDLE_MAX_NS 100000u

/*
 * A consumer that found nothing: waits cfg->idle_ns before it looks again,
 * as a real consumer sleeps until records arrive (a watermark, an epoll
 * wakeup), so that it comes back to records written a while ago rather
 * than taking each as it is committed, at the producers' heels (bench/
 * RESULTS.md, "the consumer at the producers' heels", has what that does
 * to the rates). idle_ns 0, or more threads than CPUs (the row then
 * records 0): hb_backoff().
 */
static inline void hb_idle(struct hb_worker *w, unsigned int *streak)
{
	double until;

	if (!w->run->cfg->idle_ns || w->run->oversubscribed) {
		hb_backoff(w, streak);
		return;
	}
	w->fails++;
	until = hb_now() + w->run->cfg->idle_ns * 1e-9;
	while (hb_now() < until)
		hb_relax();
}

static inline bool hb_stopping(const struct hb_run *r)
{
	return __atomic_load_n(&r->stop, __ATOMIC_RELAXED);
}

static inline bool hb_producers_done(const struct hb_run *r)
{
	return !__atomic_load_n(&r->producers_left, __ATOMIC_ACQUIRE);
}

/* Progress the timing thread reads: one writer, relaxed. */
static inline void hb_progress(struct hb_worker *w, uint64_t done)
{
	__atomic_store_n(&w->done, done, __ATOMIC_RELAXED);
}

/* ---- the loops every implementation shares ------------------------------ */

/*
 * An implementation supplies send (one record as producer idx: false when
 * the ring is full) and take (one record, or up to HB_BATCH when batch, for
 * the consumer state cs; each checked with hb_rec_take(); returns how many,
 * 0 when none was ready). The loops below are always inlined where an
 * implementation calls them with its own functions and, where it can, a
 * constant size, so each hot path compiles to that implementation's code
 * with no indirect call.
 */
typedef bool (*hb_send_fn)(void *ring, unsigned int idx, const unsigned char *src, uint32_t size);
typedef unsigned int (*hb_take_fn)(void *ring, void *cs, bool batch, struct hb_seen *seen,
				   uint32_t size);

#define HB_INLINE static inline __attribute__((always_inline))

/* A producer thread: records until the run stops, waiting (hb_backoff)
 * while the ring is full. w->done ends as the number sent. */
HB_INLINE void hb_produce_loop(void *ring, struct hb_worker *w, uint32_t size, hb_send_fn send)
{
	unsigned char *src = aligned_alloc(HB_CACHELINE, size < HB_CACHELINE ? HB_CACHELINE : size);
	unsigned int streak;
	uint64_t seq;

	if (!src) {
		w->err = -ENOMEM;
		return;
	}
	hb_rec_init(src, size);
	for (seq = 0; !hb_stopping(w->run); seq++) {
		hb_rec_fill(src, size, w->idx, seq);
		streak = 0;
		while (!send(ring, w->idx, src, size)) {
			if (hb_stopping(w->run))
				goto out; /* this one was not sent */
			hb_backoff(w, &streak);
		}
		hb_progress(w, seq + 1);
	}
out:
	hb_progress(w, seq);
	free(src);
}

/* A consumer thread (state w->priv): until the ring is empty after every
 * producer finished, so nothing more can come. */
HB_INLINE void hb_consume_loop(void *ring, struct hb_worker *w, bool batch, uint32_t size,
			       hb_take_fn take)
{
	unsigned int streak = 0, n;
	uint64_t taken = 0;

	for (;;) {
		bool done = hb_producers_done(w->run);

		n = take(ring, w->priv, batch, w->seen, size);
		if (n) {
			taken += n;
			hb_progress(w, taken);
			streak = 0;
			continue;
		}
		if (done)
			break;
		hb_idle(w, &streak);
	}
}

/* One thread (warm-up, callgrind): send a record (or HB_BATCH), take them
 * back with the consumer state cs, n records in all. */
HB_INLINE int hb_single_loop(const char *name, void *ring, void *cs, uint64_t n, bool batch,
			     struct hb_seen *seen, uint32_t size, hb_send_fn send, hb_take_fn take)
{
	unsigned char *src = aligned_alloc(HB_CACHELINE, size < HB_CACHELINE ? HB_CACHELINE : size);
	uint64_t seq = 0, got = 0;
	unsigned int i, k = batch ? HB_BATCH : 1;

	if (!src)
		return -ENOMEM;
	hb_rec_init(src, size);
	while (seq < n) {
		for (i = 0; i < k && seq < n; i++, seq++) {
			hb_rec_fill(src, size, 0, seq);
			if (!send(ring, 0, src, size))
				goto fail;
		}
		while (got < seq) {
			unsigned int m = take(ring, cs, batch, seen, size);

			if (!m)
				goto fail;
			got += m;
		}
	}
	free(src);
	return 0;
fail:
	fprintf(stderr, "hostbench: %s: single-thread run stuck at record %llu\n", name,
		(unsigned long long)seq);
	free(src);
	return -1;
}

/* Consumer state of the peers that copy records out: a batch buffer. */
int hb_copy_consumer_init(uint32_t size, struct hb_worker *w);
void hb_copy_consumer_fini(void *ring, struct hb_worker *w);

/* ---- run.c, check.c, machine.c --------------------------------------------- */

/* What the machine did during a run's window, besides the run. */
struct hb_noise {
	double load1;	    /* load average at the start */
	double steal;	    /* stolen CPU time / window, all CPUs together */
	double cpu_share;   /* worker CPU time / (threads x window) */
	double other_busy;  /* CPU time others used / (CPUs x window) */
	uint64_t nivcsw;    /* workers' involuntary context switches */
	double transfer_ns; /* a line between two CPUs, measured before the round */
};

struct hb_result {
	const char *impl;
	struct hb_cfg cfg;
	unsigned int round, slot; /* round, and place in the round's order */
	double seconds;		  /* the window */
	double rate;		  /* records/s taken in the window */
	uint64_t records;	  /* in all, window or not */
	uint64_t full_tries, empty_tries;
	struct hb_noise noise;
};

/* Runs one configuration once; exits the program if a record went missing. */
int hb_run_once(const struct hb_impl *impl, const struct hb_cfg *cfg, unsigned int round,
		unsigned int slot, struct hb_result *res);
/* Checks what the consumers saw against what producers sent. */
int hb_verify(const char *who, unsigned int producers, struct hb_seen **seen, unsigned int nseen,
	      const uint64_t *sent);
unsigned int hb_ncpus(void);
int hb_cpu(unsigned int i);

/* machine.c */
struct hb_machine_sample {
	double t;
	uint64_t steal_ticks, busy_ticks; /* all CPUs, from /proc/stat */
};
void hb_machine_sample(struct hb_machine_sample *s);
double hb_loadavg1(void);
/* CPU seconds a thread has run, and its involuntary context switches. */
double hb_thread_cpu(pthread_t t);
uint64_t hb_thread_nivcsw(pid_t tid);
void hb_machine_describe(char *buf, size_t len);
/* Waits until the machine is at most max_busy busy (0..1) over a window
 * of window_ms, at most max_wait_s seconds and one window (a look is not
 * cut short); returns the last look's busy share: above max_busy, the
 * wait ran out. */
double hb_wait_quiet(double max_busy, double max_wait_s, unsigned int window_ms);

/* plan.c */
struct hb_plan {
	unsigned int np[64], nc[64], nmix;
	uint32_t sizes[32];
	unsigned int nsizes;
	bool modes[2]; /* [0] single, [1] batch */
	unsigned int rounds;
	const struct hb_impl *impls[16];
	unsigned int nimpls;
};
void hb_plan_default_mixes(struct hb_plan *p, bool quick);
int hb_plan_parse_mixes(struct hb_plan *p, char *s);
int hb_plan_parse_sizes(struct hb_plan *p, char *s);
int hb_plan_parse_impls(struct hb_plan *p, char *s);
const struct hb_impl *hb_impl_named(const char *name);
/* The implementation that runs at place slot of round r (order.c). */
const struct hb_impl *hb_plan_order(const struct hb_plan *p, unsigned int r, unsigned int slot);

/* out.c */
void hb_out_open(const char *dir, const char *cmdline, const struct hb_plan *plan, bool quick,
		 unsigned int idle_ns, const char *order);
void hb_out_append(const char *dir);
void hb_out_run(const struct hb_result *r);
void hb_out_close(void);

/* limits.c: the machine's limits, printed and written to DIR/limits.csv. */
void hb_limits(const char *dir, bool quick);
/*
 * ns to pass a cache line between the first and the last CPU, now (0 with
 * one CPU or when no lines could be mapped; the median of a few lines:
 * each line's cost is also its address's, limits.c): where the hypervisor
 * placed this VM's vCPUs decides it, and it can change between runs
 * (53.6 against 243.7 ns in two runs of one day). On a VM with more than
 * 2 vCPUs it says nothing of the others.
 */
double hb_transfer_ns(void);
/* scale.c: reservation rate of 1, 2, 4 ... producers, DIR/scale.csv. */
void hb_scale(const char *dir, bool quick);

/* ipr.c: instructions per record of each implementation (under callgrind). */
int hb_ipr(const struct hb_plan *plan, uint32_t size, uint64_t records);
/* The records' own work without a ring ("none"), n records. */
void hb_none_loop(uint32_t size, uint64_t n, struct hb_seen *seen);

#endif /* HOSTBENCH_H */
