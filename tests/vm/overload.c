// SPDX-License-Identifier: GPL-2.0-only
/*
 * Overload: every record accounted for. With producers in every context,
 * consumers in threads and processes (one killed mid-batch), in both ring
 * modes, at a quiescent point:
 *
 *   attempted (load generator) = produced + dropped (ring's counters)
 *   produced  = delivered (consumers' count) + abandoned + overwritten
 *               + in ring
 *   losses reported to consumers = drops + overwrites    (exactly once)
 *
 * and a flood of low-priority records never costs a critical one while
 * the critical reserve has room.
 *
 * MPMCRING_CONSERVATION_RECORDS sets how many records a run attempts
 * (default 10^6).
 */
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "mpmcring.h"
#include "vmtest.h"

#define RING "/dev/mpmcring-ovl"
#define MAX_PROD 16
#define MAX_SEQ (3u << 20)

/*
 * What the consumers' looks at the ring found while the load ran (from its
 * start to its stop, the window the rates are taken over), logged, not
 * judged. Whether bytes were reserved past the head is read just after a
 * look that found nothing to claim: a later sample, not the look's own.
 */
struct looks {
	uint64_t batches, records;
	uint64_t empty;	     /* -EAGAIN, nothing reserved past the head */
	uint64_t unfinished; /* -EAGAIN, bytes reserved: the head's record unfinished */
	uint64_t busy;	     /* -EBUSY: others' claims won every retry (or many discards) */
	uint64_t waits;	     /* mpmcring_wait() calls (one after each look above) */
	uint64_t wait_ns;    /* wall time in them: their CPU, asleep, or waiting for a CPU */
	uint64_t cpu_ns;     /* the consumer's own CPU time */
};

struct shared {
	uint8_t seen[MAX_PROD][MAX_SEQ];
	uint64_t delivered, dup, bad, lost_dropped, lost_overwritten, lost_revoked;
	struct looks looks; /* every consumer's, added up as each ends */
	int counting;	    /* the load runs: looks are counted */
	int done;
};

static struct shared *sh;

static uint64_t target_records(void)
{
	const char *e = getenv("MPMCRING_CONSERVATION_RECORDS");

	return e ? strtoull(e, NULL, 0) : 1000000;
}

/* What reading a record found: applied only if the commit confirms it. */
struct got {
	bool bad;
	uint16_t producer;
	uint64_t seq;
};

static void peek_record(const struct mpmcring_record *rec, struct got *g)
{
	const struct mpr_testrec *r = rec->data;

	g->bad = mpr_testrec_check(rec->data, rec->len) || r->producer >= MAX_PROD ||
		 r->seq >= MAX_SEQ;
	g->producer = g->bad ? 0 : r->producer;
	g->seq = g->bad ? 0 : r->seq;
}

static void deliver(const struct got *r)
{
	if (r->bad) {
		__atomic_fetch_add(&sh->bad, 1, __ATOMIC_RELAXED);
		return;
	}
	if (__atomic_fetch_add(&sh->seen[r->producer][r->seq], 1, __ATOMIC_RELAXED))
		__atomic_fetch_add(&sh->dup, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&sh->delivered, 1, __ATOMIC_RELAXED);
}

static void take_lost(struct mpmcring_consumer *c)
{
	struct mpmcring_lost l = MPMCRING_OPTS(mpmcring_lost);

	mpmcring_take_lost(c, &l);
	__atomic_fetch_add(&sh->lost_dropped, l.dropped, __ATOMIC_RELAXED);
	__atomic_fetch_add(&sh->lost_overwritten, l.overwritten, __ATOMIC_RELAXED);
	__atomic_fetch_add(&sh->lost_revoked, l.revoked, __ATOMIC_RELAXED);
}

static void looks_add(const struct looks *lk)
{
	struct looks *all = &sh->looks;

	__atomic_fetch_add(&all->batches, lk->batches, __ATOMIC_RELAXED);
	__atomic_fetch_add(&all->records, lk->records, __ATOMIC_RELAXED);
	__atomic_fetch_add(&all->empty, lk->empty, __ATOMIC_RELAXED);
	__atomic_fetch_add(&all->unfinished, lk->unfinished, __ATOMIC_RELAXED);
	__atomic_fetch_add(&all->busy, lk->busy, __ATOMIC_RELAXED);
	__atomic_fetch_add(&all->waits, lk->waits, __ATOMIC_RELAXED);
	__atomic_fetch_add(&all->wait_ns, lk->wait_ns, __ATOMIC_RELAXED);
	__atomic_fetch_add(&all->cpu_ns, lk->cpu_ns, __ATOMIC_RELAXED);
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void *consumer(void *arg)
{
	struct mpmcring *r = arg;
	struct mpmcring_consumer *c = mpmcring_consumer_new(r);
	struct mpmcring_batch b;
	struct mpmcring_record rec;
	struct got got[64];
	/* Looks outside the load's window go to off, and are not logged. */
	struct looks lk = { 0 }, off = { 0 }, *cnt = &off;
	uint64_t t, cpu0 = 0;
	int n, i;

	if (!c) {
		__atomic_fetch_add(&sh->bad, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	for (;;) {
		int done = __atomic_load_n(&sh->done, __ATOMIC_ACQUIRE);
		bool on = __atomic_load_n(&sh->counting, __ATOMIC_RELAXED);

		if (on != (cnt == &lk)) {
			t = thread_cpu_ns();
			if (on)
				cpu0 = t;
			else
				lk.cpu_ns += t - cpu0;
			cnt = on ? &lk : &off;
		}
		n = mpmcring_read_batch(c, &b, 64, SIZE_MAX);
		if (n > 0) {
			cnt->batches++;
			cnt->records += (uint64_t)n;
			for (i = 0; mpmcring_batch_next(&b, &rec); i++)
				peek_record(&rec, &got[i]);
			/*
			 * A consumer slowed past its lease (the sanitizer
			 * kernels are slow) loses the claim: what it read is
			 * thrown away and counted as revoked.
			 */
			if (!mpmcring_commit(c))
				for (i = 0; i < n; i++)
					deliver(&got[i]);
			take_lost(c);
			continue;
		}
		if (done && n == -EAGAIN)
			break;
		if (n == -ESTALE) {
			/* Revoked while it was made (slowed in the claim
			 * itself): its records are counted as revoked. */
			take_lost(c);
			continue;
		}
		if (n != -EAGAIN && n != -EBUSY) {
			__atomic_fetch_add(&sh->bad, 1, __ATOMIC_RELAXED);
			break;
		}
		if (n == -EBUSY)
			cnt->busy++;
		else if (mpmcring_avail_bytes(r))
			cnt->unfinished++;
		else
			cnt->empty++;
		t = vm_now_ns();
		mpmcring_wait(r, 10);
		cnt->wait_ns += vm_now_ns() - t;
		cnt->waits++;
	}
	if (cnt == &lk)
		lk.cpu_ns += thread_cpu_ns() - cpu0;
	looks_add(&lk);
	take_lost(c);
	mpmcring_consumer_free(c);
	return NULL;
}

/* A consumer process that takes a batch and is killed holding it. */
static pid_t doomed_consumer(int *held)
{
	int pfd[2];
	pid_t kid;

	if (pipe(pfd))
		return -1;
	kid = fork();
	if (!kid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
		struct mpmcring *r = mpmcring_open(RING, 0);
		struct mpmcring_consumer *c = r ? mpmcring_consumer_new(r) : NULL;
		struct mpmcring_batch b;
		int n = -1;

		while (c && (n = mpmcring_read_batch(c, &b, 40, SIZE_MAX)) == -EAGAIN)
			mpmcring_wait(r, 10);
		if (write(pfd[1], &n, sizeof(n)) != sizeof(n))
			_exit(1);
		for (;;)
			pause();
	}
	if (kid > 0 && read(pfd[0], held, sizeof(*held)) != sizeof(*held))
		*held = -1;
	close(pfd[0]);
	close(pfd[1]);
	return kid;
}

/*
 * mode: the ring's; more: loadgen parameters added (chunk_bytes= for a
 * chunked ring), or "".
 */
static void conservation(struct __test_metadata *_metadata, const char *mode, const char *more)
{
	uint64_t target = target_records(), in_ring_delivered;
	struct mpmcring_stats st;
	struct mpmcring *r;
	struct lg_stats lg;
	char params[256];
	pthread_t th[2];
	pid_t kid, kid2;
	int held = 0, status, i;
	uint64_t t0, t1;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	/* Every other burst through mpmcring_output(): its drops count too. */
	snprintf(params, sizeof(params),
		 "ring=ovl create=1 size=131072 mode=%s threads=2 hrtimer=1 softirq=1 "
		 "nmi=1 count=0 len_min=24 len_max=64 prio_mix=0:0:100 timer_ns=50000 "
		 "timer_batch=8 output_every=2 autostart=0 %s",
		 mode, more);
	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen", params));
	r = mpmcring_open(RING, 0);
	ASSERT_NE(NULL, r) TH_LOG("%s", mpmcring_errmsg());
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, consumer, r));
	kid2 = fork();
	ASSERT_GE(kid2, 0);
	if (!kid2) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		struct mpmcring *r2 = mpmcring_open(RING, 0);

		if (r2)
			consumer(r2);
		_exit(r2 ? 0 : 3);
	}
	t0 = vm_now_ns();
	__atomic_store_n(&sh->counting, 1, __ATOMIC_RELAXED);
	ASSERT_EQ(0, lg_control("start"));
	kid = doomed_consumer(&held);
	ASSERT_GT(kid, 0);
	ASSERT_GT(held, 0);
	ASSERT_EQ(0, kill(kid, SIGKILL));
	ASSERT_EQ(kid, waitpid(kid, &status, 0));
	/* Run until the target, then stop: a quiescent point. */
	do {
		vm_sleep_ms(100);
		ASSERT_EQ(0, lg_read_stats(&lg));
	} while (lg.total_attempted < target);
	ASSERT_EQ(0, lg_control("stop"));
	__atomic_store_n(&sh->counting, 0, __ATOMIC_RELAXED);
	t1 = vm_now_ns();
	/*
	 * Consumers stop at their first empty look once done: records
	 * behind a chunk left open (a chunked ring) are claimable only
	 * once the ring's tick closes it (100 ms, about two at most).
	 */
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, mpmcring_get_stats(r, &st));
		/* A partial walk's 0 is no answer. */
		if (!st.in_ring_records && !(st.flags & MPMCRING_STATS_IN_RING_PARTIAL))
			break;
		vm_sleep_ms(20);
	}
	if (i == 100)
		TH_LOG("%llu records still in the ring 2 s after the producers stopped%s",
		       (unsigned long long)st.in_ring_records,
		       st.flags & MPMCRING_STATS_IN_RING_PARTIAL ? " (a partial walk)" : "");
	__atomic_store_n(&sh->done, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ASSERT_EQ(kid2, waitpid(kid2, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ASSERT_EQ(0, lg_read_stats(&lg));
	ASSERT_EQ(0, mpmcring_get_stats(r, &st));

	TH_LOG("%s: attempted %llu committed %llu dropped %llu delivered %llu overwritten %llu abandoned %llu in ring %llu",
	       mode, (unsigned long long)lg.total_attempted, (unsigned long long)lg.total_committed,
	       (unsigned long long)lg.total_dropped, (unsigned long long)sh->delivered,
	       (unsigned long long)st.overwritten_records, (unsigned long long)st.abandoned_records,
	       (unsigned long long)st.in_ring_records);
	in_ring_delivered = sh->delivered + st.in_ring_records;
	EXPECT_GE(lg.total_attempted, target);
	EXPECT_EQ(0, sh->bad);
	EXPECT_EQ(0, sh->dup);
	EXPECT_EQ(lg.total_attempted, st.produced_records + stats_dropped(&st));
	EXPECT_EQ(lg.total_committed, st.produced_records);
	EXPECT_EQ(lg.total_dropped, stats_dropped(&st));
	EXPECT_EQ(1, st.abandoned_claims);
	EXPECT_EQ(held, st.abandoned_records);
	/* Revoked records: as the consumers counted them (exact). */
	EXPECT_EQ(st.produced_records, in_ring_delivered + st.abandoned_records +
					       st.overwritten_records + sh->lost_revoked);
	EXPECT_LE(st.revoked_records, sh->lost_revoked);
	EXPECT_EQ(0, st.in_ring_records);
	/* Every loss reached exactly one consumer. */
	EXPECT_EQ(stats_dropped(&st), sh->lost_dropped);
	EXPECT_EQ(st.overwritten_records, sh->lost_overwritten);
	if (!strcmp(mode, "drop"))
		EXPECT_EQ(0, st.overwritten_records);
	/* A chunked ring's chunks were used and closed. */
	if (*more) {
		/* The size asked for (a cap would say the ring is too small). */
		EXPECT_EQ(2048, st.chunk_bytes);
		EXPECT_GT(st.chunk_filler_bytes, 0);
	} else {
		EXPECT_EQ(0, st.chunk_bytes);
	}
	for (i = 0; i < (int)lg.producers; i++) {
		if (!lg.committed[i])
			TH_LOG("producer %d (%s) got nothing in", i, lg.ctx[i]);
		EXPECT_GT(lg.committed[i], 0);
		if (!lg.outputs[i])
			TH_LOG("producer %d (%s) sent none through mpmcring_output()", i,
			       lg.ctx[i]);
		EXPECT_GT(lg.outputs[i], 0);
	}
	/*
	 * The rates behind the drop fraction, after the checks (a failure's
	 * excerpt shows those first). The run ends at a total of attempts,
	 * not at a time: producers whose refusals cost more attempt fewer
	 * a second and lose a smaller share at the same consumer rate.
	 * Not judged.
	 */
	TH_LOG("%s: %.2f s from start to stop: attempted %.0f/s, committed %.0f/s", mode,
	       (t1 - t0) / 1e9, lg.total_attempted * 1e9 / (double)(t1 - t0),
	       lg.total_committed * 1e9 / (double)(t1 - t0));
	TH_LOG("%s: consumers' looks from start to stop (3 consumers, read_batch of up to 64): %llu batches of %.1f records; %llu empty, %llu head unfinished, %llu busy; %llu waits, %.2f s in them; %.2f s of the consumers' CPU",
	       mode, (unsigned long long)sh->looks.batches,
	       sh->looks.batches ? (double)sh->looks.records / sh->looks.batches : 0.0,
	       (unsigned long long)sh->looks.empty, (unsigned long long)sh->looks.unfinished,
	       (unsigned long long)sh->looks.busy, (unsigned long long)sh->looks.waits,
	       sh->looks.wait_ns / 1e9, sh->looks.cpu_ns / 1e9);
	for (i = 0; i < (int)lg.producers; i++)
		TH_LOG("%s: producer %d (%s): attempted %llu committed %llu over %.2f s", mode, i,
		       lg.ctx[i], (unsigned long long)lg.attempted[i],
		       (unsigned long long)lg.committed[i], lg.elapsed_ns[i] / 1e9);
	mpmcring_close(r);
	EXPECT_EQ(0, vm_rmmod("mpmcring_loadgen"));
	munmap(sh, sizeof(*sh));
}

FIXTURE(ovl)
{
	int unused;
};

FIXTURE_SETUP(ovl)
{
}

FIXTURE_TEARDOWN(ovl)
{
	vm_rmmod("mpmcring_loadgen");
}

TEST_F_TIMEOUT(ovl, conservation_drop_newest, 900)
{
	conservation(_metadata, "drop", "");
}

/*
 * The same on a chunked ring (docs/scaling.md): each CPU's contexts fill
 * chunks of 2048 bytes while the ring is below the low watermark, and
 * records alone above it; drops, fillers and a killed consumer's claim
 * still add up exactly. (Overwrite rings take no chunks.)
 */
TEST_F_TIMEOUT(ovl, conservation_drop_newest_chunked, 900)
{
	conservation(_metadata, "drop", "chunk_bytes=2048");
}

TEST_F_TIMEOUT(ovl, conservation_overwrite, 900)
{
	conservation(_metadata, "overwrite", "");
}

/*
 * Low-priority producers flood a ring nobody reads. They stop at their
 * watermark, so critical records keep getting in until the ring is truly
 * full, and every one of them is then read back.
 */
TEST_F_TIMEOUT(ovl, critical_survives_low_flood, 300)
{
	struct mpmcring_stats st;
	struct mpmcring *r;
	struct mpmcring_consumer *c;
	struct mpmcring_record rec;
	uint64_t crit = 0, got_crit = 0, got = 0, seq;
	int fd, flooded = 0;

	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen",
			       "ring=ovl create=1 size=65536 threads=2 count=0 user_max_prio=2 "
			       "prio_mix=100:0:0 len_min=56 len_max=56"));
	r = mpmcring_open(RING, 0);
	ASSERT_NE(NULL, r);
	fd = mpmcring_fd(r);
	/* Wait until the flood hits the low watermark. */
	for (int i = 0; i < 200 && !flooded; i++) {
		vm_sleep_ms(20);
		ASSERT_EQ(0, mpmcring_get_stats(r, &st));
		flooded = st.dropped[MPMCRING_DROP_PRIORITY][MPMCRING_PRIO_LOW] > 1000;
	}
	ASSERT_TRUE(flooded);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	ASSERT_EQ(0, mpmcring_set_prio(r, MPMCRING_PRIO_CRITICAL));
	for (seq = 0; seq < 100000; seq++) {
		char rec56[56];

		mpr_testrec_fill(rec56, sizeof(rec56), 15, MPR_CTX_USER, MPMCRING_PRIO_CRITICAL,
				 seq);
		if (write(fd, rec56, sizeof(rec56)) < 0)
			break;
		crit++;
	}
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, lg_control("stop"));
	ASSERT_EQ(0, mpmcring_get_stats(r, &st));
	/* The low flood took at most half; critical filled the rest. */
	EXPECT_GE(crit * 64, 65536 / 2 - 64);
	/* The refused write was an EAGAIN to us, not a drop. */
	EXPECT_EQ(0, st.dropped[MPMCRING_DROP_FULL][MPMCRING_PRIO_CRITICAL]);
	EXPECT_EQ(0, st.dropped[MPMCRING_DROP_PRIORITY][MPMCRING_PRIO_CRITICAL]);
	c = mpmcring_consumer_new(r);
	ASSERT_NE(NULL, c);
	while (mpmcring_read(c, &rec) == 0) {
		const struct mpr_testrec *t = rec.data;

		EXPECT_EQ(0, mpr_testrec_check(rec.data, rec.len));
		if (t->producer == 15) {
			EXPECT_EQ(got_crit, t->seq);
			got_crit++;
		}
		got++;
		mpmcring_commit(c);
	}
	EXPECT_EQ(crit, got_crit);
	EXPECT_EQ(st.in_ring_records, got);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
}

TEST_HARNESS_MAIN
