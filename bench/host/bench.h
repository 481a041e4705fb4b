/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hostbench: mpmcring's producer protocol (the host harness) and library
 * consumers, side by side in one run with DPDK rte_ring, Concurrency Kit
 * ck_ring and a Vyukov bounded queue. What is shared by the files:
 *
 *   bench.h        records, workers, the implementation interface
 *   main.c         options, the matrix of configurations, interleaving
 *   run.c          one timed run: threads, pinning, checking every record
 *   report.c       medians, ratios, table, CSV and JSON
 *   limits.c       the machine's own limits: line transfer, CAS, copy
 *   impl_*.c       one implementation each: its producer and consumer loops
 *
 * Every implementation moves records of cfg->size bytes: a producer copies
 * a record from its own buffer into the ring, a consumer looks at a few
 * bytes of it (in place for mpmcring, after copying out for the others) and
 * checks them. Each record carries its producer and sequence number, so a
 * run proves that every record arrived exactly once.
 */
#ifndef HOSTBENCH_H
#define HOSTBENCH_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HB_MAX_THREADS 256
#define HB_BATCH 32 /* records per batched consume */
#define HB_CACHELINE 64
#define HB_TAIL_MAGIC 0x5a5aa5a5c3c33c3cULL

/* What one run does: the same for every implementation. */
struct hb_cfg {
	unsigned int producers, consumers;
	uint32_t size;	     /* record bytes (payload for mpmcring) */
	bool batch;	     /* batched consume (else one record at a time) */
	uint64_t records;    /* in all, over the producers */
	uint64_t ring_bytes; /* capacity in record bytes, equal for all */
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

/* One thread of a run. */
struct hb_worker {
	struct hb_run *run;
	void *ring;
	unsigned int idx; /* producer or consumer index */
	bool producer;
	int cpu;	      /* -1: not pinned */
	uint64_t todo;	      /* producer: records to send */
	uint64_t fails;	      /* full (producer) or empty (consumer) tries */
	struct hb_seen *seen; /* consumer */
	void *priv;	      /* implementation's per-thread state */
	double t_start, t_end;
	int err;
} __attribute__((aligned(HB_CACHELINE)));

struct hb_run {
	const struct hb_cfg *cfg;
	const struct hb_impl *impl;
	/* Producers still running; consumers stop once it is 0 and the ring
	 * is empty. Alone on its line. */
	int producers_left __attribute__((aligned(HB_CACHELINE)));
	int pad[HB_CACHELINE / sizeof(int) - 1];
	bool oversubscribed; /* more threads than CPUs */
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
	/* Sends w->todo records (retrying a full ring). */
	void (*produce)(void *ring, struct hb_worker *w);
	/* Takes records until the producers are done and the ring is empty. */
	void (*consume)(void *ring, struct hb_worker *w, bool batch);
	/* One thread, producer index 0: n records, each produced then
	 * consumed (batch: HB_BATCH produced, then consumed in one batch).
	 * The warm-up of every run and the instruction counts use it. */
	int (*single)(void *ring, uint64_t n, bool batch, struct hb_seen *seen);
};

extern const struct hb_impl hb_ours, hb_rte, hb_ck, hb_vyukov;

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
	/* One consumer claims in ring order: a producer's records reach it
	 * in the order they were sent. */
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
 * The one policy every implementation uses on a full or empty ring:
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

static inline bool hb_producers_done(const struct hb_run *r)
{
	return !__atomic_load_n(&r->producers_left, __ATOMIC_ACQUIRE);
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

/* A producer thread: w->todo records, waiting (hb_backoff) while full. */
HB_INLINE void hb_produce_loop(void *ring, struct hb_worker *w, uint32_t size, hb_send_fn send)
{
	unsigned char *src = aligned_alloc(HB_CACHELINE, size);
	unsigned int streak;
	uint64_t seq;

	if (!src) {
		w->err = -ENOMEM;
		return;
	}
	hb_rec_init(src, size);
	for (seq = 0; seq < w->todo; seq++) {
		hb_rec_fill(src, size, w->idx, seq);
		streak = 0;
		while (!send(ring, w->idx, src, size))
			hb_backoff(w, &streak);
	}
	free(src);
}

/* A consumer thread (state w->priv): until the ring is empty after every
 * producer finished, so nothing more can come. */
HB_INLINE void hb_consume_loop(void *ring, struct hb_worker *w, bool batch, uint32_t size,
			       hb_take_fn take)
{
	unsigned int streak = 0;

	for (;;) {
		bool done = hb_producers_done(w->run);

		if (take(ring, w->priv, batch, w->seen, size)) {
			streak = 0;
			continue;
		}
		if (done)
			break;
		hb_backoff(w, &streak);
	}
}

/* One thread (for callgrind): send a record (or HB_BATCH), take them back
 * with the consumer state cs, n records in all. */
HB_INLINE int hb_single_loop(const char *name, void *ring, void *cs, uint64_t n, bool batch,
			     struct hb_seen *seen, uint32_t size, hb_send_fn send, hb_take_fn take)
{
	unsigned char *src = aligned_alloc(HB_CACHELINE, size);
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

/* ---- run.c, report.c ---------------------------------------------------- */

struct hb_result {
	const char *impl;
	struct hb_cfg cfg;
	unsigned int rep;
	double seconds;
	double rate; /* records/s */
	uint64_t full_tries, empty_tries;
};

/* Runs one configuration once; exits the program if a record went missing. */
int hb_run_once(const struct hb_impl *impl, const struct hb_cfg *cfg, unsigned int rep,
		struct hb_result *res);
/* Checks what the consumers saw against what producers sent. */
int hb_verify(const char *who, const struct hb_cfg *cfg, struct hb_seen **seen, unsigned int nseen,
	      const uint64_t *sent);
unsigned int hb_ncpus(void);
int hb_cpu(unsigned int i);
double hb_now(void);

/* limits.c: the machine's limits, printed and written to DIR/limits.*. */
void hb_limits(const char *dir, const unsigned int *producers, unsigned int nprod,
	       const uint32_t *sizes, unsigned int nsizes, bool quick);

void hb_report_add(const struct hb_result *r);
void hb_report_write(const char *dir, const struct hb_impl *const *impls, unsigned int nimpls,
		     const char *cmdline);
void hb_report_config_line(const struct hb_impl *const *impls, unsigned int nimpls,
			   const struct hb_cfg *cfg, unsigned int done, unsigned int total);

#endif /* HOSTBENCH_H */
