// SPDX-License-Identifier: GPL-2.0-only
/*
 * Producers and consumers on real threads over a host ring, running the
 * module's protocol code and the library. Checks, for every record: it is
 * delivered at most once, only if it was committed, intact, in each
 * producer's order as seen by each consumer; and at the end that every
 * record is accounted for: delivered, dropped or overwritten.
 *
 *   stress_test [-p producers] [-c consumers] [-n records/producer]
 *               [-s ring bytes] [-o] (overwrite mode) [-b batch]
 *               [-l min len] [-L max len] [-S stall every N records]
 *               [-r] (producers retry a full ring, as blocking writers do)
 *               [-C] (expect drops for contention: producers yield between
 *               reading prod_pos and the cmpxchg, built with one try)
 *               [-T ms] (claims are leases of ms) [-H every] (a consumer
 *               stalls for 3 leases in the middle of every Nth batch)
 *               [-G ns] (the module's reclaim throttle: with the head
 *               unmoved, a reclaim is due only ns after the last one)
 *               [-M] (every other record low-priority: refusals by
 *               priority, most of them with reclaim not due under -G)
 *               [-K bytes] (chunked reservation: each producer fills
 *               chunks of this size, proto/mpmcring_chunk.h)
 *               [-X] (with -K: a thread closes producers' chunks at random
 *               times while they fill them, as the module's tick would)
 *
 * Consumers claim by mpmcring_read_batch(), mpmcring_read_many() and
 * mpmcring_consume() in turn (consume's callback stopping it now and then).
 * With leases, a consumer that stalled learns at commit that its claim was
 * revoked: only what a commit confirms counts as delivered (and must be
 * intact); what a revoked claim held counts as revoked, the same number
 * the producer side counted.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hostring.h"
#include "internal.h"
#include "mpmcring_testrec.h"

static struct {
	unsigned int producers, consumers, batch, stall_every;
	uint64_t records, size;
	uint32_t min_len, max_len;
	bool overwrite, retry, contention, mixed, closer;
	uint64_t chunk;
	unsigned int lease_ms, hold_every;
	uint64_t reclaim_gap_ns;
} opt = {
	.producers = 3,
	.consumers = 3,
	.batch = 16,
	.records = 200000,
	.size = 1 << 16,
	.min_len = 24,
	.max_len = 300,
};

static struct hostring ring;
static struct mpmcring *lib;
static uint8_t **committed; /* [producer][seq], written by its producer */
static uint8_t **seen;	    /* [producer][seq], atomic increments */
static int producers_left;
static uint64_t bad_records, out_of_order, delivered, revoked, stale_commits;
static uint64_t unrevoked_holds; /* hold_claim() gave up waiting for the revocation */
static uint64_t closes;		 /* chunks the -X thread closed */
static uint64_t after_revoked;	 /* consume called fn after fn saw its claim revoked */

static uint32_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)*s;
}

static void *producer(void *arg)
{
	unsigned int idx = (unsigned int)(uintptr_t)arg;
	uint64_t s = 88172645463325252ULL + idx, seq, pos;
	struct timespec stall = { 0, 20000 };

	for (seq = 0; seq < opt.records; seq++) {
		uint32_t len = opt.min_len + rnd(&s) % (opt.max_len - opt.min_len + 1);
		unsigned int prio =
			opt.mixed && seq % 2 ? MPMCRING_PRIO_LOW : MPMCRING_PRIO_CRITICAL;

		if (opt.chunk ? hostring_reserve_chunked(&ring, idx, len, prio, &pos)
			      : hostring_reserve(&ring, idx, len, prio, &pos)) {
			if (opt.retry) {
				/* Not a drop for the books: undo it, try again. */
				seq--;
				ring.prod[idx].dropped_retried++;
				sched_yield();
			}
			continue;
		}
		mpr_testrec_fill(hostring_payload(&ring, pos), len, idx, MPR_CTX_USER, prio, seq);
		/* A producer stalled between reserve and commit. */
		if (opt.stall_every && seq % opt.stall_every == 0)
			nanosleep(&stall, NULL);
		committed[idx][seq] = 1;
		hostring_commit(&ring, idx, pos, len);
	}
	/* Its last records become claimable: nothing else would close it. */
	hostring_chunk_close(&ring, idx);
	__atomic_fetch_sub(&producers_left, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* -X: closes the producers' chunks under them, at random times. */
static void *closer(void *arg)
{
	uint64_t s = 0x2545f4914f6cdd1dULL;
	unsigned int i;

	(void)arg;
	while (__atomic_load_n(&producers_left, __ATOMIC_ACQUIRE)) {
		struct timespec pause = { 0, rnd(&s) % 50000 };

		for (i = 0; i < opt.producers; i++)
			if (hostring_chunk_close(&ring, i))
				__atomic_fetch_add(&closes, 1, __ATOMIC_RELAXED);
		if (rnd(&s) % 4)
			sched_yield();
		else
			nanosleep(&pause, NULL);
	}
	return NULL;
}

/* What reading a record found, applied once the commit confirms it. */
struct seen_rec {
	bool bad;
	uint16_t producer;
	uint64_t seq;
};

#ifdef __SANITIZE_THREAD__
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
#define LEASE_READS_BEGIN() AnnotateIgnoreReadsBegin(__FILE__, __LINE__)
#define LEASE_READS_END() AnnotateIgnoreReadsEnd(__FILE__, __LINE__)
#else
#define LEASE_READS_BEGIN() ((void)0)
#define LEASE_READS_END() ((void)0)
#endif

static void read_record(const struct mpmcring_record *rec, struct seen_rec *out)
{
	const struct mpr_testrec *r = rec->data;

	/*
	 * With leases these reads race with producers overwriting a revoked
	 * claim, on purpose: they are thrown away unless the commit confirms
	 * the claim held (read, then validate), so ThreadSanitizer is told.
	 */
	if (opt.lease_ms)
		LEASE_READS_BEGIN();
	out->bad = mpr_testrec_check(rec->data, rec->len) || r->producer >= opt.producers ||
		   r->seq >= opt.records;
	out->producer = out->bad ? 0 : r->producer;
	out->seq = out->bad ? 0 : r->seq;
	if (opt.lease_ms)
		LEASE_READS_END();
}

static void count_record(const struct seen_rec *r, uint64_t *last)
{
	if (r->bad) {
		__atomic_fetch_add(&bad_records, 1, __ATOMIC_RELAXED);
		return;
	}
	/* Records of one producer sit in the ring in order: a consumer sees
	 * them in order (last[] holds seq + 1 of the previous one). */
	if (last[r->producer] > r->seq)
		__atomic_fetch_add(&out_of_order, 1, __ATOMIC_RELAXED);
	last[r->producer] = r->seq + 1;
	__atomic_fetch_add(&seen[r->producer][r->seq], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&delivered, 1, __ATOMIC_RELAXED);
}

/*
 * A consumer stalled half way through its claim: for three leases, and in
 * drop-newest mode on until the claim is revoked or no producer is left.
 * Producers that need the space this claim pins revoke it once it has
 * stood still a lease with half the ring behind it, so while any is left
 * the revocation comes, however the machine runs the threads: a fixed
 * stall left it to their speeds (producers descheduled through it never
 * pressed the claim, and a run could end with none revoked). Overwrite
 * mode evicts past held claims instead: a fixed stall there.
 * If revocation is broken it never comes, and producers that retry never
 * finish: the wait ends after HOLD_UNREVOKED_NS on the clock (2000 leases
 * of 5 ms, far beyond any machine's scheduling delay), is counted in
 * unrevoked_holds, and the run ends and fails by name instead of hanging.
 * After one such hold the later ones stall only the fixed three leases:
 * the failure is known, and a wait at each of a run's hundreds of holds
 * would take hours.
 */
#define HOLD_UNREVOKED_NS (10 * 1000000000ULL)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void hold_claim(struct mpmcring_consumer *c, const struct timespec *stall)
{
	const struct timespec nap = { 0, 100000 };
	uint64_t deadline;

	nanosleep(stall, NULL);
	if (opt.overwrite || __atomic_load_n(&unrevoked_holds, __ATOMIC_RELAXED))
		return;
	deadline = now_ns() + HOLD_UNREVOKED_NS;
	while (!mpmcring_validate(c) && __atomic_load_n(&producers_left, __ATOMIC_ACQUIRE)) {
		if (now_ns() > deadline) {
			__atomic_fetch_add(&unrevoked_holds, 1, __ATOMIC_RELAXED);
			return;
		}
		nanosleep(&nap, NULL);
	}
}

/*
 * mpmcring_consume()'s callback: reads each record as the other modes do,
 * stalls once past the first record of a held claim (consume checks the
 * lease between records: once fn saw the claim revoked, consume must not
 * hand it another), and now and then stops consume: the rest of the
 * claim comes first at the next call, and what all of those calls handed
 * out counts once a call returns >= 0 (its commit confirmed them).
 */
struct consume_ctx {
	struct mpmcring_consumer *c;
	struct seen_rec *got; /* batch of them */
	/*
	 * Handed out since consume last returned >= 0: one claim's records
	 * at most (consume claims only when it holds nothing), confirmed by
	 * the next call that returns >= 0, or thrown away by an -ESTALE.
	 */
	unsigned int n;
	unsigned int call_n; /* handed out in this call: at most batch */
	bool hold;
	unsigned int hold_at; /* the record fn stalls at: 1 .. batch - 1 */
	bool revoked;	      /* fn saw its claim revoked: consume must not call it again */
	const struct timespec *stall;
	uint64_t rnd;
};

static int consume_fn(void *arg, const struct mpmcring_record *rec)
{
	struct consume_ctx *x = arg;

	if (x->revoked)
		__atomic_fetch_add(&after_revoked, 1, __ATOMIC_RELAXED);
	if (x->hold && x->n == x->hold_at) {
		x->hold = false;
		hold_claim(x->c, x->stall);
		x->revoked = mpmcring_validate(x->c) == -ESTALE;
	}
	if (x->call_n++ >= opt.batch) { /* a call hands out at most max records */
		__atomic_fetch_add(&bad_records, 1, __ATOMIC_RELAXED);
		return -E2BIG;
	}
	if (x->n >= opt.batch) { /* more than one claim unconfirmed */
		__atomic_fetch_add(&bad_records, 1, __ATOMIC_RELAXED);
		return -E2BIG;
	}
	read_record(rec, &x->got[x->n++]);
	return rnd(&x->rnd) % 13 == 0 ? -ECANCELED : 0;
}

static void *consumer(void *arg)
{
	struct mpmcring_consumer *c = mpmcring_consumer_new(lib);
	uint64_t *last = calloc(opt.producers, sizeof(*last)), batches = 0;
	struct seen_rec *got = calloc(opt.batch, sizeof(*got));
	struct mpmcring_record *recs = calloc(opt.batch, sizeof(*recs));
	struct timespec stall = { 0, opt.lease_ms * 3000000L };
	uint64_t tries = 0;
	struct mpmcring_batch b;
	struct mpmcring_record rec;
	struct mpmcring_lost lost = MPMCRING_OPTS(mpmcring_lost);
	struct consume_ctx x = { .c = c,
				 .got = calloc(opt.batch, sizeof(*x.got)),
				 .stall = &stall,
				 .rnd = (uintptr_t)arg + 1 };
	int n, i, ret, mode;
	bool many;

	if (!c || !last || !got || !recs || !x.got) {
		fprintf(stderr, "consumer setup failed\n");
		exit(2);
	}
	for (;;) {
		bool done = !__atomic_load_n(&producers_left, __ATOMIC_ACQUIRE);

		/*
		 * Claims by read_batch, read_many and consume in turn: all
		 * under races. A stopped consume's claim is finished by
		 * consume first (the others refuse meanwhile).
		 */
		mode = x.n ? 2 : (int)(tries++ % 3);
		if (mode == 2) {
			/*
			 * A fresh claim (nothing pending): held this time, and
			 * where (inside the kept records, or past them when
			 * claims are longer)? A claim shorter than that is not
			 * held (nor one of a single record).
			 */
			if (!x.n) {
				x.hold = opt.hold_every && opt.batch > 1 &&
					 ++batches % opt.hold_every == 0;
				x.hold_at = opt.batch > 1 ? 1 + rnd(&x.rnd) % (opt.batch - 1) : 1;
				x.revoked = false;
			}
			x.call_n = 0;
			n = mpmcring_consume(c, opt.batch, consume_fn, &x);
			if (n == -ECANCELED)
				continue; /* stopped by fn: the rest is pending */
			if (n == -ESTALE) {
				/* Revoked: everything handed out since the last commit is thrown away. */
				__atomic_fetch_add(&stale_commits, 1, __ATOMIC_RELAXED);
				x.n = 0;
				continue;
			}
			if (n < 0 && x.n) {
				/* Holding, consume only delivers and commits: no other failure. */
				fprintf(stderr, "consume failed with %d holding %u records\n", n,
					x.n);
				__atomic_fetch_add(&bad_records, x.n, __ATOMIC_RELAXED);
				x.n = 0;
				continue;
			}
			if (n > 0 || x.n) {
				/* Committed: what fn got since the last commit stands. */
				for (i = 0; i < (int)x.n; i++)
					count_record(&x.got[i], last);
				x.n = 0;
				continue;
			}
			if (!n)
				n = -EAGAIN;
		}
		many = mode == 1;
		if (many)
			n = mpmcring_read_many(c, recs, opt.batch, SIZE_MAX);
		else if (!mode)
			n = mpmcring_read_batch(c, &b, opt.batch, SIZE_MAX);
		if (n > 0) {
			bool hold = opt.hold_every && ++batches % opt.hold_every == 0;

			for (i = 0; many ? i < n : mpmcring_batch_next(&b, &rec); i++) {
				/* Stalled half way: the rest may be overwritten. */
				if (hold && i == n / 2)
					hold_claim(c, &stall);
				read_record(many ? &recs[i] : &rec, &got[i]);
			}
			ret = mpmcring_commit(c);
			if (ret == -ESTALE) {
				/* Revoked: what was read is thrown away. */
				__atomic_fetch_add(&stale_commits, 1, __ATOMIC_RELAXED);
				continue;
			}
			for (i = 0; i < n; i++)
				count_record(&got[i], last);
			continue;
		}
		if (n == -ESTALE) {
			/*
			 * The claim was revoked while it was made (this thread
			 * stood still past the lease between the claim's steps:
			 * TSan on a loaded host), or one held was: its records
			 * are counted lost as revoked, the claim once, as a
			 * stale commit (the ring counted one revocation). As the
			 * API says: commit, then claim again.
			 */
			__atomic_fetch_add(&stale_commits, 1, __ATOMIC_RELAXED);
			ret = mpmcring_commit(c);
			if (ret && ret != -ESTALE) {
				fprintf(stderr, "commit after a revoked claim: %d (%s)\n", ret,
					mpmcring_errmsg());
				__atomic_fetch_add(&bad_records, 1, __ATOMIC_RELAXED);
				break;
			}
			continue;
		}
		if (n != -EAGAIN && n != -EBUSY) {
			fprintf(stderr, "%s: %d (%s)\n",
				mode == 2 ? "consume"
				: many	  ? "read_many"
					  : "read_batch",
				n, mpmcring_errmsg());
			__atomic_fetch_add(&bad_records, 1, __ATOMIC_RELAXED);
			break;
		}
		/* Producers finished before this empty look: nothing can come. */
		if (done && n == -EAGAIN)
			break;
		sched_yield();
	}
	mpmcring_take_lost(c, &lost);
	__atomic_fetch_add(&revoked, lost.revoked, __ATOMIC_RELAXED);
	free(recs);
	free(got);
	free(x.got);
	free(last);
	mpmcring_consumer_free(c);
	return NULL;
}

static uint64_t drop_reason(int reason)
{
	uint64_t n = 0;
	unsigned int i, c;

	for (i = 0; i < opt.producers; i++)
		for (c = 0; c < MPMCRING_NR_PRIO; c++)
			n += ring.prod[i].dropped[reason][c];
	return n;
}

static int parse(int argc, char **argv)
{
	int ch;

	while ((ch = getopt(argc, argv, "p:c:n:s:ob:l:L:S:rCT:H:G:MK:X")) != -1) {
		switch (ch) {
		case 'p':
			opt.producers = atoi(optarg);
			break;
		case 'c':
			opt.consumers = atoi(optarg);
			break;
		case 'n':
			opt.records = strtoull(optarg, NULL, 0);
			break;
		case 's':
			opt.size = strtoull(optarg, NULL, 0);
			break;
		case 'o':
			opt.overwrite = true;
			break;
		case 'b':
			opt.batch = atoi(optarg);
			break;
		case 'l':
			opt.min_len = atoi(optarg);
			break;
		case 'L':
			opt.max_len = atoi(optarg);
			break;
		case 'S':
			opt.stall_every = atoi(optarg);
			break;
		case 'r':
			opt.retry = true;
			break;
		case 'C':
			opt.contention = true;
			break;
		case 'T':
			opt.lease_ms = atoi(optarg);
			break;
		case 'H':
			opt.hold_every = atoi(optarg);
			break;
		case 'G':
			opt.reclaim_gap_ns = strtoull(optarg, NULL, 0);
			break;
		case 'M':
			opt.mixed = true;
			break;
		case 'K':
			opt.chunk = strtoull(optarg, NULL, 0);
			break;
		case 'X':
			opt.closer = true;
			break;
		default:
			return -1;
		}
	}
	if (!opt.producers || !opt.consumers || opt.min_len < MPR_TESTREC_MIN ||
	    opt.max_len < opt.min_len || (opt.hold_every && !opt.lease_ms) ||
	    (opt.closer && !opt.chunk))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct hostring_params hp = { 0 };
	pthread_t *th;
	uint64_t p, s, dup = 0, ghost = 0, lost = 0, dropped, overwritten, retried = 0;
	unsigned int i;
	int fail = 0;

	if (parse(argc, argv)) {
		fprintf(stderr, "usage: see the comment at the top of stress_test.c\n");
		return 2;
	}
	hp.size = opt.size;
	hp.producers = opt.producers;
	hp.mode = opt.overwrite ? MPMCRING_MODE_OVERWRITE : MPMCRING_MODE_DROP_NEWEST;
	hp.yield_in_reserve = opt.contention;
	hp.claim_timeout_ms = opt.lease_ms;
	hp.reclaim_gap_ns = opt.reclaim_gap_ns;
	hp.chunk_bytes = opt.chunk;
	if (hostring_init(&ring, &hp) ||
	    !(lib = mpmcring__open_memory(ring.cons, ring.ro, &ring.layout))) {
		fprintf(stderr, "ring setup failed\n");
		return 2;
	}
	committed = calloc(opt.producers, sizeof(*committed));
	seen = calloc(opt.producers, sizeof(*seen));
	for (i = 0; i < opt.producers; i++) {
		committed[i] = calloc(opt.records, 1);
		seen[i] = calloc(opt.records, 1);
	}
	producers_left = opt.producers;
	if (opt.chunk && !ring.chunk_bytes) {
		fprintf(stderr, "-K %llu: no chunks for this ring (too small, or overwrite mode)\n",
			(unsigned long long)opt.chunk);
		return 2;
	}
	th = calloc(opt.producers + opt.consumers + 1, sizeof(*th));
	for (i = 0; i < opt.consumers; i++)
		pthread_create(&th[i], NULL, consumer, NULL);
	for (i = 0; i < opt.producers; i++)
		pthread_create(&th[opt.consumers + i], NULL, producer, (void *)(uintptr_t)i);
	if (opt.closer)
		pthread_create(&th[opt.producers + opt.consumers], NULL, closer, NULL);
	for (i = 0; i < opt.producers + opt.consumers + opt.closer; i++)
		pthread_join(th[i], NULL);

	for (p = 0; p < opt.producers; p++) {
		for (s = 0; s < opt.records; s++) {
			dup += seen[p][s] > 1;
			ghost += seen[p][s] && !committed[p][s];
			lost += committed[p][s] && !seen[p][s];
		}
	}
	dropped = hostring_dropped(&ring);
	for (i = 0; i < opt.producers; i++)
		retried += ring.prod[i].dropped_retried;
	dropped -= retried;
	overwritten = ring.overwritten_records;
	printf("# %s: %u producers x %llu, %u consumers, ring %llu: delivered %llu, dropped %llu, overwritten %llu\n",
	       opt.overwrite ? "overwrite" : "drop-newest", opt.producers,
	       (unsigned long long)opt.records, opt.consumers, (unsigned long long)opt.size,
	       (unsigned long long)delivered, (unsigned long long)dropped,
	       (unsigned long long)overwritten);
#define EXPECT(cond, what)                            \
	do {                                          \
		if (!(cond)) {                        \
			printf("# FAIL: %s\n", what); \
			fail = 1;                     \
		}                                     \
	} while (0)
	EXPECT(!bad_records, "corrupt or misframed records delivered");
	EXPECT(!after_revoked,
	       "mpmcring_consume() handed fn records after fn saw the claim revoked");
	EXPECT(!out_of_order, "a consumer saw a producer's records out of order");
	EXPECT(!dup, "records delivered twice");
	EXPECT(!ghost, "records delivered that were never committed");
	EXPECT(lost == overwritten + revoked,
	       "committed records neither delivered nor counted as overwritten or revoked");
	/*
	 * The consumers know exactly what they lost; the producer side counts
	 * what each said it held when revoked, and also claims revoked half
	 * way, before they held anything: never more, sometimes less.
	 */
	EXPECT(ring.revoked_records <= revoked,
	       "the producer side counted more revoked records than the consumers lost");
	EXPECT(stale_commits <= ring.revoked_claims, "more stale commits than revoked claims");
	EXPECT(!unrevoked_holds,
	       "a held claim was not revoked in 10 s while producers waited for the space");
	/* Overwrite mode rarely lets a consumer hold much: no promise there. */
	EXPECT(!opt.hold_every || opt.overwrite || stale_commits,
	       "consumers stalled past their lease while producers waited, but no claim was revoked");
	EXPECT(!opt.overwrite ? !overwritten : 1, "records overwritten in drop-newest mode");
	EXPECT(hostring_produced(&ring) == delivered + overwritten + revoked,
	       "produced != delivered + overwritten + revoked");
	EXPECT(hostring_produced(&ring) + dropped == opt.records * opt.producers,
	       "attempts != produced + dropped");
	EXPECT(ring.v.meta->lost_dropped == dropped + retried, "loss total != drops");
	printf("# leases: %llu claims revoked, %llu records\n", (unsigned long long)stale_commits,
	       (unsigned long long)revoked);
	printf("# drops by reason (full, priority, contention, too big): %llu %llu %llu %llu; retried %llu\n",
	       (unsigned long long)drop_reason(MPMCRING_DROP_FULL),
	       (unsigned long long)drop_reason(MPMCRING_DROP_PRIORITY),
	       (unsigned long long)drop_reason(MPMCRING_DROP_CONTENTION),
	       (unsigned long long)drop_reason(MPMCRING_DROP_TOO_BIG), (unsigned long long)retried);
	EXPECT(hostring_waiting(&ring) == 0, "records left in the ring");
	if (opt.chunk)
		printf("# chunks of %llu bytes: %llu closed with room left, %llu of them by the closer\n",
		       (unsigned long long)ring.chunk_bytes, (unsigned long long)ring.chunk_fillers,
		       (unsigned long long)closes);
	/* How many closes happened is up to the scheduler: told, not judged
	 * (chunk_test checks the closes themselves). That chunks were used
	 * is not: the first reservation finds the ring empty. */
	if (opt.chunk) {
		unsigned int opened = 0;

		/* A chunk starts closed at the first position; one opened
		 * ends past it. */
		for (i = 0; i < opt.producers; i++)
			opened += hostring_chunk(&ring, i)->end != hp.initial_pos;
		printf("# producers that opened a chunk: %u of %u\n", opened, opt.producers);
		EXPECT(opened, "no producer ever opened a chunk");
	}
	EXPECT(!opt.contention || drop_reason(MPMCRING_DROP_CONTENTION),
	       "no reservation lost its race often enough to be dropped for contention");
	for (i = 0; i < opt.producers; i++) {
		free(committed[i]);
		free(seen[i]);
	}
	free(committed);
	free(seen);
	free(th);
	mpmcring_close(lib);
	hostring_destroy(&ring);
	return fail;
}
