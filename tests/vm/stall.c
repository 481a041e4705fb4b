// SPDX-License-Identifier: GPL-2.0-only
/*
 * A stopped consumer cannot stop collection. A consumer process claims a
 * batch and is stopped (SIGSTOP) while producers run in every context
 * (kthread, softirq, hardirq, NMI) and two other consumers keep consuming.
 * Its claim pins reclaim, the ring fills and producers drop; once the claim
 * has stood still for the ring's claim timeout the kernel revokes it, and
 * reclaim passes it: the whole ring is room again. Resumed (SIGCONT), the
 * consumer's commit says -ESTALE, and every record is accounted for:
 * delivered once, or revoked (counted by the kernel and by the consumer
 * alike).
 */
#include <assert.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "mpmcring.h"
#include "vmtest.h"

#define RING "/dev/mpmcring-stall"
/*
 * The claim timeout: far longer than a slow guest needs to fill the ring
 * behind the stopped claim (producers pace themselves by the clock, a few
 * thousand records a second: a fraction of a second for 64 KiB). That is a
 * margin, not a guarantee: drops come before the revocation only if the
 * ring fills before the claim is TIMEOUT_MS old (see the drops step).
 */
#define TIMEOUT_MS 10000

/*
 * How long each step may wait, on the clock (vm_now_ns()), not by counted
 * loops: a loop's body slows down with the guest. Each limit is far beyond
 * what its step takes on a slow guest (a fraction of a second, except the
 * revocation: TIMEOUT_MS), and together they stay inside the test's own
 * timeout with a margin, so that a step that never happens fails with its
 * message, and the steps after it still run and report, rather than the
 * whole test being killed as "terminated by timeout".
 */
#define TEST_S 240		       /* its TEST_F_TIMEOUT */
#define CLAIM_MS 10000		       /* the stopping consumer gets a batch */
#define FILL_MS 20000		       /* records in the ring for it to claim */
#define LIST_MS 20000		       /* its claim listed with an age */
#define DROPS_MS 20000		       /* the pinned ring fills: drops */
#define REVOKE_MS (TIMEOUT_MS + 20000) /* the claim revoked */
#define ROOM_MS 30000		       /* reclaim passes the revoked claim */
#define ADMIT_MS 10000		       /* producers commit again */
#define RESUME_MS 10000		       /* the resumed consumer's report */
#define DRAIN_MS 10000		       /* the others drain what is left */
#define STEPS_MS                                                                                \
	(CLAIM_MS + FILL_MS + LIST_MS + DROPS_MS + REVOKE_MS + ROOM_MS + ADMIT_MS + RESUME_MS + \
	 DRAIN_MS)
/* insmod, fork, joins, rmmod, and a host that stalls the guest for a while */
#define MARGIN_MS 60000
static_assert(STEPS_MS + MARGIN_MS <= TEST_S * 1000,
	      "the steps' limits must fit inside the test's timeout, with a margin");

struct held_report {
	int held;
	int read_ret; /* reading more before committing, once resumed */
	int commit_ret;
	uint64_t revoked;
};

/* The consumer that stops: claims a batch, reports it, stops, commits. */
static void stalling_consumer(int wr)
{
	struct mpmcring *r = mpmcring_open(RING, 0);
	struct mpmcring_consumer *c = r ? mpmcring_consumer_new(r) : NULL;
	struct held_report rep = { 0 };
	struct mpmcring_batch b;
	struct mpmcring_lost lost = MPMCRING_OPTS(mpmcring_lost);
	uint64_t end = vm_deadline_ms(CLAIM_MS);

	if (!c)
		_exit(2);
	for (;;) {
		rep.held = mpmcring_read_batch(c, &b, 64, 1 << 20);
		if (rep.held > 0 || vm_now_ns() >= end)
			break;
		usleep(1000);
	}
	if (rep.held <= 0 || write(wr, &rep, sizeof(rep)) != sizeof(rep))
		_exit(3);
	raise(SIGSTOP);
	/* Revoked meanwhile: reading more on the old claim is refused. */
	rep.read_ret = mpmcring_read_batch(c, &b, 64, 1 << 20);
	rep.commit_ret = mpmcring_commit(c);
	mpmcring_take_lost(c, &lost);
	rep.revoked = lost.revoked;
	if (write(wr, &rep, sizeof(rep)) != sizeof(rep))
		_exit(4);
	_exit(0);
}

struct draining {
	struct mpmcring *ring;
	uint64_t delivered, bad;
	int stop;
};

static void *draining_consumer(void *arg)
{
	struct draining *d = arg;
	struct mpmcring_consumer *c = mpmcring_consumer_new(d->ring);
	struct mpmcring_record rec;
	struct mpmcring_batch b;
	uint64_t n;

	if (!c) {
		__atomic_fetch_add(&d->bad, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	for (;;) {
		int got = mpmcring_read_batch(c, &b, 32, 1 << 16);

		if (got > 0) {
			for (n = 0; mpmcring_batch_next(&b, &rec); n++)
				if (mpr_testrec_check(rec.data, rec.len))
					__atomic_fetch_add(&d->bad, 1, __ATOMIC_RELAXED);
			if (mpmcring_commit(c))
				__atomic_fetch_add(&d->bad, 1, __ATOMIC_RELAXED);
			__atomic_fetch_add(&d->delivered, n, __ATOMIC_RELAXED);
			continue;
		}
		if (__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE))
			break;
		mpmcring_wait(d->ring, 20);
	}
	mpmcring_consumer_free(c);
	return NULL;
}

/*
 * What became of the child when its report did not come, into buf: its
 * exit status or signal, or that it still runs. A dead child closed the
 * pipe before it became waitable, so this waits a moment for it. Whether
 * it still runs.
 */
static bool child_fate(pid_t child, char *buf, size_t len)
{
	uint64_t end = vm_deadline_ms(1000);
	pid_t got;
	int status;

	while (!(got = waitpid(child, &status, WNOHANG)) && vm_now_ns() < end)
		vm_sleep_ms(10);
	if (got != child)
		snprintf(buf, len, "still runs");
	else if (WIFEXITED(status))
		snprintf(buf, len,
			 "exited with status %d (2: no ring or consumer, 3: no batch, "
			 "4: its report not written)",
			 WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "changed state (wait status %#x)", status);
	return got != child;
}

static uint64_t dropped_now(int fd)
{
	struct mpmcring_stats st;

	return ring_stats(fd, &st) ? 0 : stats_dropped(&st);
}

/* Waits up to ms (by the clock) for cond(fd) to hold; whether it did. */
static bool wait_for(int fd, bool (*cond)(int fd), uint64_t ms)
{
	uint64_t end = vm_deadline_ms(ms);

	while (!cond(fd)) {
		if (vm_now_ns() >= end)
			return cond(fd);
		vm_sleep_ms(20);
	}
	return true;
}

static bool revoked_one(int fd)
{
	struct mpmcring_stats st;

	return !ring_stats(fd, &st) && st.revoked_claims >= 1;
}

/* Nothing left to read and everything reclaimed: the ring is all room. */
static bool all_room(int fd)
{
	struct mpmcring_stats st;

	return !ring_stats(fd, &st) && !st.in_ring_records && st.head == st.prod_pos &&
	       st.reclaim_pos == st.prod_pos;
}

static uint64_t drops_mark;
static bool dropping(int fd)
{
	return dropped_now(fd) > drops_mark;
}

static uint64_t committed_mark;
static bool committing(int fd)
{
	struct lg_stats lg;

	(void)fd;
	return !lg_read_stats(&lg) && lg.total_committed > committed_mark;
}

static bool some_records(int fd)
{
	struct mpmcring_stats st;

	return !ring_stats(fd, &st) && st.in_ring_records >= 64;
}

static bool none_in_ring(int fd)
{
	struct mpmcring_stats st;

	return !ring_stats(fd, &st) && !st.in_ring_records;
}

FIXTURE(slow)
{
	int unused;
};

FIXTURE_SETUP(slow)
{
}

FIXTURE_TEARDOWN(slow)
{
	vm_rmmod("mpmcring_loadgen");
}

TEST_F_TIMEOUT(slow, stopped_consumer_cannot_stop_collection, TEST_S)
{
	struct draining d = { 0 };
	struct held_report rep;
	struct mpmcring_consumer_info info[8];
	struct mpmcring_consumers list = { .max = 8, .info = (uintptr_t)info };
	struct mpmcring_stats st;
	struct lg_stats lg;
	uint64_t age = 0, end;
	pthread_t th[2];
	int pipefd[2], status, fd, i;
	char fate[160] = "";
	ssize_t got;
	pid_t child;

	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen",
			       "ring=stall create=1 size=65536 claim_timeout_ms=10000 threads=1 "
			       "rate=2000 hrtimer=1 softirq=1 nmi=1 count=0 timer_ns=2000000 "
			       "timer_batch=2 len_min=24 len_max=120 prio_mix=0:0:100 "
			       "autostart=0"));
	d.ring = mpmcring_open(RING, 0);
	ASSERT_NE(NULL, d.ring) TH_LOG("%s", mpmcring_errmsg());
	fd = mpmcring_fd(d.ring);
	ASSERT_EQ(TIMEOUT_MS, mpmcring_get_layout(d.ring)->claim_timeout_ms);
	ASSERT_EQ(0, pipe(pipefd));
	/*
	 * Records for the consumer that stops to claim, then no producer
	 * until it is listed: a claim is revoked only under pressure (more
	 * than half the ring behind it; a ring with room holds nobody back),
	 * so with the producers stopped its claim stays listed however slowly
	 * the guest gets there, and the listing cannot race the revocation
	 * waited for below.
	 */
	ASSERT_EQ(0, lg_control("start"));
	wait_for(fd, some_records, FILL_MS);
	ASSERT_EQ(0, lg_control("stop"));
	ASSERT_EQ(0, ring_stats(fd, &st));
	ASSERT_GT(st.in_ring_records, 0) TH_LOG("no record in %d s", FILL_MS / 1000);

	child = fork();
	ASSERT_GE(child, 0);
	if (!child) {
		close(pipefd[0]);
		stalling_consumer(pipefd[1]);
	}
	close(pipefd[1]);
	/* Bounded: the child gives up after CLAIM_MS and exits (EOF). */
	got = read(pipefd[0], &rep, sizeof(rep));
	if (got != sizeof(rep) && child_fate(child, fate, sizeof(fate)))
		kill(child, SIGKILL);
	ASSERT_EQ(sizeof(rep), got)
	TH_LOG("the consumer reported no batch in %d s: it %s", CLAIM_MS / 1000, fate);
	ASSERT_EQ(child, waitpid(child, &status, WUNTRACED));
	ASSERT_TRUE(WIFSTOPPED(status));
	TH_LOG("consumer %d stopped holding %d records", child, rep.held);

	/*
	 * Listed: its slot, its pid, what it holds, and for how long (an age
	 * once a tick has seen the claim; waited for, bounded by LIST_MS).
	 */
	for (end = vm_deadline_ms(LIST_MS); !age && vm_now_ns() < end;) {
		vm_sleep_ms(50);
		ASSERT_EQ(0, ioctl(fd, MPMCRING_IOC_CONSUMERS, &list));
		for (i = 0; i < (int)list.count; i++)
			if ((pid_t)info[i].pid == child && !(info[i].start & 1)) {
				EXPECT_EQ(rep.held, info[i].held_records);
				age = info[i].claim_age_ms;
			}
	}
	EXPECT_GT(age, 0)
	TH_LOG("the stopped consumer's claim was never listed with an age (%d s)", LIST_MS / 1000);

	/* The others consume; the stopped claim pins reclaim: drops begin. */
	ASSERT_EQ(0, lg_control("start"));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, draining_consumer, &d));
	drops_mark = dropped_now(fd);
	/*
	 * Drops come first only while the claim is younger than TIMEOUT_MS:
	 * an older one is revoked at half full, before the ring fills (a
	 * margin of seconds against the fraction of a second it takes to
	 * fill). Its age when listed was taken at the first tick and says
	 * nothing of when the ring filled; the revoked claims count does: 1
	 * without a drop is the claim aged out first.
	 */
	EXPECT_TRUE(wait_for(fd, dropping, DROPS_MS))
	TH_LOG("the ring never filled in %d s (the claim was %llu ms old when listed, "
	       "revoked claims %d)",
	       DROPS_MS / 1000, (unsigned long long)age, revoked_one(fd));
	/* Revoked after the timeout, under that pressure. */
	EXPECT_TRUE(wait_for(fd, revoked_one, REVOKE_MS))
	TH_LOG("the claim was never revoked (%d s)", REVOKE_MS / 1000);
	/*
	 * Then the stopped claim no longer pins the ring: with the producers
	 * stopped and the others draining, reclaim reaches the producers'
	 * position while the stopped consumer still holds its claim, so the
	 * whole ring is room again. (Asserting instead that drops stop while
	 * the producers run asserts that two consumers keep up with them,
	 * which depends on the guest's speed, not on the revocation.)
	 */
	ASSERT_EQ(0, lg_control("stop"));
	EXPECT_TRUE(wait_for(fd, all_room, ROOM_MS))
	TH_LOG("reclaim never passed the revoked claim (%d s)", ROOM_MS / 1000);
	/* And the producers are admitted again: they commit past it. */
	ASSERT_EQ(0, lg_read_stats(&lg));
	committed_mark = lg.total_committed;
	ASSERT_EQ(0, lg_control("start"));
	EXPECT_TRUE(wait_for(fd, committing, ADMIT_MS))
	TH_LOG("no record committed in %d s after the revocation", ADMIT_MS / 1000);
	ASSERT_EQ(0, lg_control("stop"));

	/* Resumed: the commit says the records were taken away. */
	ASSERT_EQ(0, kill(child, SIGCONT));
	got = vm_read_until(pipefd[0], (char *)&rep, sizeof(rep), RESUME_MS);
	if (got != sizeof(rep) && child_fate(child, fate, sizeof(fate)))
		kill(child, SIGKILL);
	ASSERT_EQ(sizeof(rep), got)
	TH_LOG("the resumed consumer did not report in %d s: it %s", RESUME_MS / 1000, fate);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_EQ(-ESTALE, rep.read_ret);
	EXPECT_EQ(-ESTALE, rep.commit_ret);
	EXPECT_EQ(rep.held, rep.revoked);

	/* Producers stopped above (no producer mid-record): drain, count. */
	wait_for(fd, none_in_ring, DRAIN_MS);
	__atomic_store_n(&d.stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ASSERT_EQ(0, lg_read_stats(&lg));
	ASSERT_EQ(0, ring_stats(fd, &st));
	TH_LOG("committed %llu, delivered %llu, revoked %llu, dropped %llu",
	       (unsigned long long)lg.total_committed, (unsigned long long)d.delivered,
	       (unsigned long long)st.revoked_records, (unsigned long long)stats_dropped(&st));
	EXPECT_EQ(0, d.bad);
	EXPECT_EQ(1, st.revoked_claims);
	EXPECT_EQ(rep.revoked, st.revoked_records);
	EXPECT_EQ(0, st.in_ring_records);
	EXPECT_EQ(lg.total_committed, d.delivered + rep.revoked);
	EXPECT_EQ(lg.total_dropped, stats_dropped(&st));
	close(pipefd[0]);
	mpmcring_close(d.ring);
	EXPECT_EQ(0, vm_rmmod("mpmcring_loadgen"));
}

TEST_HARNESS_MAIN
