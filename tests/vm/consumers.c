// SPDX-License-Identifier: GPL-2.0-only
/*
 * Consumers against in-kernel producers in every context (the load
 * generator): order for one consumer; exactly-once delivery across threads
 * and processes; a consumer killed while holding a batch.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "mpmcring.h"
#include "vmtest.h"

#define RING "/dev/mpmcring-vmt"
/* The granule of the rings start_lg() creates (its granule=). */
#define SPAN_GRANULE 8

static struct seen_map *seen_new(unsigned int producers, uint64_t per_producer)
{
	size_t n = (size_t)producers * per_producer;
	struct seen_map *m =
		mmap(NULL, sizeof(*m) + (5 + 2 * SEEN_CONSUMERS) * sizeof(uint64_t) + n,
		     PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	m->producers = producers;
	m->per_producer = per_producer;
	m->bad = (uint64_t *)(m + 1);
	m->order = m->bad + 1;
	m->delivered = m->bad + 2;
	m->spans = m->bad + 4;
	m->by_consumer = m->bad + 5;
	m->gone = m->by_consumer + SEEN_CONSUMERS;
	m->counts = (uint8_t *)(m->gone + SEEN_CONSUMERS);
	return m;
}

static void seen_record(struct seen_map *m, const struct mpmcring_record *rec, uint64_t *last)
{
	const struct mpr_testrec *r = rec->data;

	if (mpr_testrec_check(rec->data, rec->len) || r->producer >= m->producers ||
	    r->seq >= m->per_producer) {
		__atomic_fetch_add(m->bad, 1, __ATOMIC_RELAXED);
		return;
	}
	if (last[r->producer] > r->seq)
		__atomic_fetch_add(m->order, 1, __ATOMIC_RELAXED);
	last[r->producer] = r->seq + 1;
	__atomic_fetch_add(&m->counts[r->producer * m->per_producer + r->seq], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(m->delivered, 1, __ATOMIC_RELAXED);
	/* Header and payload, to the granule (SPAN_GRANULE) */
	__atomic_fetch_add(m->spans,
			   (MPMCRING_HDR_SIZE + rec->len + SPAN_GRANULE - 1) &
				   ~(uint64_t)(SPAN_GRANULE - 1),
			   __ATOMIC_RELAXED);
}

struct consumer_arg {
	struct mpmcring *ring;
	struct seen_map *seen;
	volatile int *producers_done;
	int errors;
	unsigned int id;      /* index into seen->by_consumer */
	unsigned int gate_of; /* consumers that wait for each other (0: none) */
};

/*
 * Whether consumer i can still take part: it has not taken a record yet and
 * has not left (a consumer leaves only once the producers are done and it
 * found the ring empty, or on an error).
 */
static bool waiting_for(const struct seen_map *m, unsigned int i)
{
	return !__atomic_load_n(&m->by_consumer[i], __ATOMIC_RELAXED) &&
	       !__atomic_load_n(&m->gone[i], __ATOMIC_ACQUIRE);
}

/*
 * After its first batch a consumer waits until every other one has taken a
 * batch too, or has left: otherwise, on a slow guest, the consumers that
 * run first could empty the ring each time before a slow one (a process
 * still starting, a thread asleep in poll) found a record, and "every
 * consumer took part" would depend on the scheduler. The waiting consumers
 * take nothing, so the records wait in the ring for the others; the wait
 * ends when each of those took one or left empty-handed, which fails the
 * test below. From then on they race freely.
 * A consumer process killed by a signal never sets gone[]: the wait ends
 * after GATE_NS on the clock all the same, so that the test goes on and
 * names it (its exit status, its by_consumer[] of 0) instead of hanging.
 */
#define GATE_NS (60 * 1000000000ULL)

static void wait_for_the_others(const struct consumer_arg *a)
{
	uint64_t deadline = vm_now_ns() + GATE_NS;
	unsigned int i;

	for (i = 0; i < a->gate_of; i++)
		while (i != a->id && waiting_for(a->seen, i) && vm_now_ns() < deadline)
			usleep(100);
}

/* Consumes in batches until producers are done and nothing is left. */
static void *consume_all(void *p)
{
	struct consumer_arg *a = p;
	struct mpmcring_consumer *c = mpmcring_consumer_new(a->ring);
	uint64_t last[64] = { 0 };
	struct mpmcring_batch b;
	struct mpmcring_record rec;
	int n;

	if (!c) {
		a->errors++;
		__atomic_store_n(&a->seen->gone[a->id], 1, __ATOMIC_RELEASE);
		return NULL;
	}
	for (;;) {
		int done = __atomic_load_n(a->producers_done, __ATOMIC_ACQUIRE);

		n = mpmcring_read_batch(c, &b, 32, SIZE_MAX);
		if (n > 0) {
			bool first = !a->seen->by_consumer[a->id];

			while (mpmcring_batch_next(&b, &rec))
				seen_record(a->seen, &rec, last);
			if (mpmcring_commit(c))
				a->errors++;
			__atomic_fetch_add(&a->seen->by_consumer[a->id], n, __ATOMIC_RELAXED);
			if (first)
				wait_for_the_others(a);
			continue;
		}
		if (n != -EAGAIN && n != -EBUSY) {
			a->errors++;
			break;
		}
		if (done && n == -EAGAIN)
			break;
		mpmcring_wait(a->ring, 20);
	}
	mpmcring_consumer_free(c);
	__atomic_store_n(&a->seen->gone[a->id], 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Checks exactly-once delivery of everything the producers committed. */
static void check_exactly_once(struct __test_metadata *_metadata, struct seen_map *m,
			       const struct lg_stats *lg)
{
	uint64_t dup = 0, missing = 0, committed = 0;
	unsigned int p;
	uint64_t s;

	for (p = 0; p < lg->producers; p++) {
		uint64_t got = 0;

		for (s = 0; s < m->per_producer; s++) {
			uint8_t c = m->counts[p * m->per_producer + s];

			dup += c > 1;
			got += c > 0;
		}
		committed += lg->committed[p];
		/* Each committed record reached exactly one consumer. */
		missing += lg->committed[p] - got;
	}
	EXPECT_EQ(0, *m->bad);
	EXPECT_EQ(0, *m->order);
	EXPECT_EQ(0, dup);
	EXPECT_EQ(0, missing);
	EXPECT_EQ(committed, *m->delivered);
}

FIXTURE(lg)
{
	int fd;
	struct mpmcring *ring;
};

FIXTURE_SETUP(lg)
{
	self->fd = -1;
	self->ring = NULL;
}

FIXTURE_TEARDOWN(lg)
{
	mpmcring_close(self->ring);
	if (self->fd >= 0)
		close(self->fd);
	vm_rmmod("mpmcring_loadgen");
}

static int start_lg(struct __test_metadata *_metadata, const char *params)
{
	char all[512];
	int err;

	/*
	 * Exact delivery: no consumer may lose its claim because the guest
	 * (sanitizers, emulation) left it unscheduled for seconds. Leases
	 * have tests of their own (stall.c).
	 */
	snprintf(all, sizeof(all), "ring=vmt create=1 no_lease=1 granule=%d %s", SPAN_GRANULE,
		 params);
	err = vm_insmod("mpmcring_loadgen", all);
	if (err)
		TH_LOG("insmod mpmcring_loadgen %s: %s", all, strerror(-err));
	return err;
}

TEST_F_TIMEOUT(lg, single_consumer_order, 300)
{
	struct mpmcring_consumer *c;
	struct mpmcring_record rec;
	struct lg_stats lg;
	uint64_t next = 0, got = 0, gaps = 0;
	const struct mpr_testrec *r;
	int done = 0, n;

	ASSERT_EQ(0, start_lg(_metadata, "size=262144 threads=1 count=20000 autostart=0"));
	self->ring = mpmcring_open(RING, 0);
	ASSERT_NE(NULL, self->ring) TH_LOG("%s", mpmcring_errmsg());
	c = mpmcring_consumer_new(self->ring);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, lg_control("start"));
	for (;;) {
		n = mpmcring_read(c, &rec);
		if (n == 0) {
			r = rec.data;
			ASSERT_EQ(0, mpr_testrec_check(rec.data, rec.len));
			ASSERT_EQ(0, r->producer);
			/* In order; gaps only where the producer dropped. */
			ASSERT_LE(next, r->seq);
			gaps += r->seq - next;
			next = r->seq + 1;
			got++;
			mpmcring_commit(c);
			continue;
		}
		ASSERT_EQ(-EAGAIN, n);
		if (done)
			break;
		done = lg_read_stats(&lg) == 0 && lg.finished;
		if (!done)
			mpmcring_wait(self->ring, 50);
	}
	ASSERT_EQ(0, lg_read_stats(&lg));
	EXPECT_EQ(lg.committed[0], got);
	EXPECT_EQ(lg.dropped[0], gaps + (20000 - next));
	mpmcring_consumer_free(c);
}

/*
 * Three consumer threads here and two consumer processes race producers in
 * kthreads, softirq, hardirq and NMI context: every committed record
 * reaches exactly one of them, intact and in its producer's order.
 * chunks: loadgen's chunk_bytes= for the ring, or "".
 */
static void exactly_once(struct __test_metadata *_metadata, FIXTURE_DATA(lg) * self,
			 const char *chunks)
{
	const uint64_t count = 10000;
	char params[512];
	struct consumer_arg args[3];
	volatile int *done;
	struct seen_map *seen;
	struct lg_stats lg;
	struct mpmcring_stats st;
	uint64_t pos0;
	pthread_t th[3];
	pid_t kids[2];
	int i, status;

	/*
	 * 32 MiB holds every record (80000 of at most 312 bytes) even with no
	 * consumer: no producer can meet a full ring, so every producer's
	 * every record must arrive, in whatever order the scheduler runs
	 * them. (With 1 MiB a kthread could spend its whole burst against a
	 * full ring and commit nothing. Drops under load are overload.c's.)
	 * Every other burst goes through mpmcring_output(), whose first
	 * attempt commits without the per-context count: in every context,
	 * interrupted by the others.
	 */
	snprintf(params, sizeof(params),
		 "size=33554432 threads=2 hrtimer=1 softirq=1 nmi=1 count=10000 "
		 "len_max=300 timer_ns=100000 timer_batch=16 output_every=2 autostart=0 %s",
		 chunks);
	ASSERT_EQ(0, start_lg(_metadata, params));
	seen = seen_new(64, count);
	ASSERT_NE(NULL, seen);
	done = (volatile int *)(seen->bad + 3);
	for (i = 0; i < 2; i++) {
		kids[i] = fork();
		ASSERT_GE(kids[i], 0);
		if (!kids[i]) {
			prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
			struct consumer_arg a = {
				.seen = seen, .producers_done = done, .id = 3 + i, .gate_of = 5
			};

			a.ring = mpmcring_open(RING, 0);
			if (!a.ring) {
				__atomic_store_n(&seen->gone[a.id], 1, __ATOMIC_RELEASE);
				_exit(3);
			}
			consume_all(&a);
			mpmcring_close(a.ring);
			_exit(a.errors ? 4 : 0);
		}
	}
	self->ring = mpmcring_open(RING, 0);
	ASSERT_NE(NULL, self->ring) TH_LOG("%s", mpmcring_errmsg());
	/* Where the producers, not started yet, begin. */
	ASSERT_EQ(0, mpmcring_get_stats(self->ring, &st));
	pos0 = st.prod_pos;
	for (i = 0; i < 3; i++) {
		args[i] = (struct consumer_arg){ self->ring, seen, done, 0, i, 5 };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, consume_all, &args[i]));
	}
	ASSERT_EQ(0, lg_control("start"));
	ASSERT_TRUE(lg_wait_finished(500));
	/*
	 * Consumers stop at the first empty look once told the producers are
	 * done. Records committed behind a chunk left open become claimable
	 * only at the tick's close: so they are told only when everything
	 * committed has arrived, or after 10 s (the check below then fails).
	 */
	ASSERT_EQ(0, lg_read_stats(&lg));
	for (i = 0;
	     i < 1000 && __atomic_load_n(seen->delivered, __ATOMIC_RELAXED) < lg.total_committed;
	     i++)
		usleep(10000);
	__atomic_store_n(done, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, args[i].errors);
	}
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(kids[i], waitpid(kids[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	/* Every consumer, thread or process, took part. */
	for (i = 0; i < 5; i++) {
		TH_LOG("consumer %d (%s) delivered %llu", i, i < 3 ? "thread" : "process",
		       (unsigned long long)seen->by_consumer[i]);
		EXPECT_GT(seen->by_consumer[i], 0);
	}
	ASSERT_EQ(0, lg_read_stats(&lg));
	TH_LOG("%u producers: attempted %llu committed %llu dropped %llu delivered %llu",
	       lg.producers, (unsigned long long)lg.total_attempted,
	       (unsigned long long)lg.total_committed, (unsigned long long)lg.total_dropped,
	       (unsigned long long)*seen->delivered);
	check_exactly_once(_metadata, seen, &lg);
	/* Every producer, in every context, got every record in. */
	EXPECT_EQ(0, lg.total_dropped);
	for (i = 0; i < (int)lg.producers; i++) {
		if (lg.committed[i] != count)
			TH_LOG("producer %d (%s) committed %llu of %llu", i, lg.ctx[i],
			       (unsigned long long)lg.committed[i], (unsigned long long)count);
		EXPECT_EQ(count, lg.committed[i]);
		/* output_every=2: half of every producer's bursts. */
		if (!lg.outputs[i])
			TH_LOG("producer %d (%s) sent none through mpmcring_output()", i,
			       lg.ctx[i]);
		EXPECT_GT(lg.outputs[i], 0);
	}
	/* The ring's own counters tell the same story as the producers'. */
	ASSERT_EQ(0, mpmcring_get_stats(self->ring, &st));
	EXPECT_EQ(lg.total_committed, st.produced_records);
	EXPECT_EQ(lg.total_dropped, stats_dropped(&st));
	EXPECT_EQ(lg.total_attempted, st.produced_records + stats_dropped(&st));
	EXPECT_EQ(0, st.in_ring_records);
	/*
	 * Every byte prod_pos moved is a delivered record's or a chunk's
	 * filler (nothing was discarded or dropped), once every chunk is
	 * closed: the unfilled rests of those still open are neither yet,
	 * and the tick closes them within a tick or two.
	 */
	EXPECT_EQ(0, st.discarded_records);
	for (i = 0; i < 500 && st.prod_pos - pos0 != *seen->spans + st.chunk_filler_bytes; i++) {
		usleep(10000);
		ASSERT_EQ(0, mpmcring_get_stats(self->ring, &st));
	}
	TH_LOG("prod_pos moved %llu: records %llu, fillers %llu (chunks of %llu)",
	       (unsigned long long)(st.prod_pos - pos0), (unsigned long long)*seen->spans,
	       (unsigned long long)st.chunk_filler_bytes, (unsigned long long)st.chunk_bytes);
	EXPECT_EQ(st.prod_pos - pos0, *seen->spans + st.chunk_filler_bytes);
	if (*chunks) {
		EXPECT_EQ(4096, st.chunk_bytes);
		EXPECT_GT(st.chunk_filler_bytes, 0);
	} else {
		EXPECT_EQ(0, st.chunk_bytes);
		EXPECT_EQ(0, st.chunk_filler_bytes);
	}
}

TEST_F_TIMEOUT(lg, threads_and_processes_exactly_once, 600)
{
	exactly_once(_metadata, self, "");
}

/*
 * The same with chunked reservation: every producer fills its CPU's chunk
 * for its interrupt level (kthreads, timers, hrtimers and NMIs of one CPU
 * each their own), and the last chunks, left open when the producers
 * stop, are closed by the housekeeping tick: the consumers get every
 * record only through it.
 */
TEST_F_TIMEOUT(lg, chunked_exactly_once, 600)
{
	exactly_once(_metadata, self, "chunk_bytes=4096");
}

/*
 * A consumer process holding a claimed batch is killed: the others carry
 * on, producers get the space back, and the ring counts what it held.
 */
TEST_F_TIMEOUT(lg, sigkill_consumer_holding_batch, 300)
{
	struct mpmcring_consumer *c;
	struct mpmcring_record rec;
	struct mpmcring_stats st;
	struct lg_stats lg;
	uint64_t got = 0, wrote = 0;
	int pfd[2], held = 0, status, i;
	char buf[64];
	pid_t kid;

	ASSERT_EQ(0, start_lg(_metadata, "size=65536 threads=1 count=3000 prio_mix=0:0:100"));
	ASSERT_TRUE(lg_wait_finished(200));
	ASSERT_EQ(0, pipe(pfd));
	kid = fork();
	ASSERT_GE(kid, 0);
	if (!kid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		struct mpmcring *r = mpmcring_open(RING, 0);
		struct mpmcring_consumer *kc = r ? mpmcring_consumer_new(r) : NULL;
		struct mpmcring_batch b;
		int n = kc ? mpmcring_read_batch(kc, &b, 50, SIZE_MAX) : -1;

		/* Tell the parent how many it holds, then hold them forever. */
		if (write(pfd[1], &n, sizeof(n)) != sizeof(n))
			_exit(1);
		for (;;)
			pause();
	}
	ASSERT_EQ(sizeof(held), read(pfd[0], &held, sizeof(held)));
	ASSERT_EQ(50, held);
	self->ring = mpmcring_open(RING, 0);
	ASSERT_NE(NULL, self->ring);
	self->fd = mpmcring_fd(self->ring);
	c = mpmcring_consumer_new(self->ring);
	ASSERT_NE(NULL, c);
	/* The others carry on past the held batch. */
	while (mpmcring_read(c, &rec) == 0) {
		got++;
		mpmcring_commit(c);
	}
	/* But no space comes back while it holds the oldest records. */
	memset(buf, 0, sizeof(buf));
	fcntl(self->fd, F_SETFL, O_NONBLOCK);
	ioctl(self->fd, MPMCRING_IOC_SET_PRIO, &(uint32_t){ MPMCRING_PRIO_CRITICAL });
	while (write(self->fd, buf, sizeof(buf)) == sizeof(buf))
		wrote++;
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_LT(wrote, 4); /* at most the slack the producer left */

	ASSERT_EQ(0, kill(kid, SIGKILL));
	ASSERT_EQ(kid, waitpid(kid, &status, 0));
	ASSERT_EQ(0, mpmcring_get_stats(self->ring, &st));
	EXPECT_EQ(1, st.abandoned_claims);
	EXPECT_EQ(50, st.abandoned_records);
	/* Producers regain the space. */
	while (mpmcring_read(c, &rec) == 0)
		mpmcring_commit(c);
	for (i = 0; i < 500; i++)
		ASSERT_EQ(sizeof(buf), write(self->fd, buf, sizeof(buf)))
	TH_LOG("write %d: %s", i, strerror(errno));
	ASSERT_EQ(0, lg_read_stats(&lg));
	/* Loadgen records: read by us, or held by the killed one. */
	EXPECT_EQ(lg.total_committed, got + held);
	mpmcring_consumer_free(c);
}

TEST_HARNESS_MAIN
