// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sleeping consumers: no wakeup is ever lost (a consumer that sleeps with a
 * record waiting would sleep out its whole wait: see vmtest.h for how each
 * way of waiting shows that), from write(2) producers and
 * from kernel producers in hardirq and NMI context; a watermark holds a
 * consumer asleep until enough bytes are ready; poll, epoll and select all
 * work on the device file.
 */
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include "kselftest_harness.h"
#include "mpmcring.h"
#include "pingpong.h"
#include "vmtest.h"

/* Tests that need more than the harness's default 30 s. */
FIXTURE(slow)
{
	uint64_t t0;
};

FIXTURE_SETUP(slow)
{
	self->t0 = vm_now_ns();
}

/* Each case's time in its log, for sizing CI: printed, never judged. */
FIXTURE_TEARDOWN(slow)
{
	TH_LOG("%.1f s", (vm_now_ns() - self->t0) / 1e9);
}

/* Far longer than any wakeup takes: hitting it means a lost wakeup. */
#define LOST_MS 5000

/* The ping-pong's wait (pingpong.h): the library's, poll(2). */
static int ring_wait(void *ring, int ms)
{
	return mpmcring_wait(ring, ms);
}

/*
 * Ping-pong through the ring: each record is written only after the
 * consumer read the previous one, so the consumer goes back to sleep
 * between records and every record races its sleep.
 */
/* MPMCRING_WAKE_CYCLES overrides the 10^5 (the KCSAN kernel is slow). */
TEST_F_TIMEOUT(slow, write_pingpong_100k, 600)
{
	const char *env = getenv("MPMCRING_WAKE_CYCLES");
	struct mpmcring *r = mpmcring_open(NULL, 0);
	struct vm_pingpong_wait w = {
		.name = "poll", .lost_shows_late = true, .wait = ring_wait, .ctx = r
	};

	ASSERT_NE(NULL, r) TH_LOG("%s", mpmcring_errmsg());
	vm_pingpong_run(_metadata, r, &w, env ? strtoull(env, NULL, 0) : 100000, LOST_MS);
	mpmcring_close(r);
}

/* epoll_wait_owed(): the producers finished, and no wakeup is owed. */
#define NOT_OWED 2
/* How often a wait looks whether the producers finished. */
#define OWED_SLICE_MS 100

/*
 * One sleep of the consumer below: epoll_wait() for up to LOST_MS in all,
 * as OWED_SLICE_MS slices. Returns what epoll_wait() returns (1 woken, 0
 * timed out after LOST_MS, < 0 an error), or NOT_OWED once the producers
 * have finished (every commit done and visible: the load generator stores
 * each producer's count with release after its commits) with fewer than
 * thr bytes ready. No commit comes after that, and only this consumer moves
 * the head, so the ring stays below thr: no wakeup is owed, and a single
 * LOST_MS wait would have timed out with fewer than thr bytes ready, which
 * is no lost wakeup either. (With a watermark the last records never
 * reach it: that wait was 5 s of every run.) With thr or more ready the
 * wait goes on to its LOST_MS as before, so a wakeup that never comes still
 * times out with the bytes ready. Between slices epoll keeps what the ring
 * reported (ep_poll_callback() queues it whether or not anyone waits), so
 * a wakeup is never missed at a slice's edge.
 */
static int epoll_wait_owed(int ep, struct epoll_event *ev, struct mpmcring *r, uint64_t thr)
{
	uint64_t t0 = vm_now_ns(), ms;
	struct lg_stats lg;
	int n;

	for (;;) {
		ms = (vm_now_ns() - t0) / 1000000;
		if (ms >= LOST_MS)
			return 0;
		ms = LOST_MS - ms;
		n = epoll_wait(ep, ev, 1, ms < OWED_SLICE_MS ? ms : OWED_SLICE_MS);
		if (n != 0)
			return n;
		if (lg_read_stats(&lg) == 0 && lg.finished && mpmcring_avail_bytes(r) < thr)
			return NOT_OWED;
	}
}

/*
 * A consumer asleep in epoll (edge-triggered: it drains through the mapping
 * and sleeps again with no system call between), woken by hardirq and NMI
 * producers. A wait that times out while enough is ready is a lost wakeup,
 * whenever it happens.
 */
static void epoll_kernel_producers(struct __test_metadata *_metadata, const char *params,
				   uint64_t wm, uint32_t evflags)
{
	struct mpmcring *r;
	struct mpmcring_consumer *c;
	struct mpmcring_record rec;
	struct epoll_event ev = { .events = EPOLLIN | evflags };
	struct lg_stats lg;
	uint64_t got = 0, wakes = 0, lost = 0, short_wakes = 0, t_finished = 0;
	int ep, n;
	bool finished = false;

	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen", params));
	r = mpmcring_open("/dev/mpmcring-wake", 0);
	ASSERT_NE(NULL, r) TH_LOG("%s", mpmcring_errmsg());
	c = mpmcring_consumer_new(r);
	ASSERT_NE(NULL, c);
	/* The kernel wakes at wm rounded down to a power of two; the checks
	 * below use wm itself. */
	ASSERT_EQ(0, wm & (wm - 1));
	if (wm)
		ASSERT_EQ(0, mpmcring_set_watermark(r, wm));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, mpmcring_fd(r), &ev));
	ASSERT_EQ(0, lg_control("start"));
	for (;;) {
		while (mpmcring_read(c, &rec) == 0) {
			EXPECT_EQ(0, mpr_testrec_check(rec.data, rec.len));
			got++;
			EXPECT_EQ(0, mpmcring_commit(c));
		}
		/*
		 * Done producing: one more drain takes what is left, and
		 * on a chunked ring what a tick's close then frees (records
		 * behind a chunk left open, and the chunks' fillers), each
		 * close waking the consumer as a commit does.
		 */
		if (finished && !mpmcring_avail_bytes(r))
			break;
		/* Bounded: a level-triggered wait may return at once. */
		if (finished && vm_now_ns() - t_finished > 2 * LOST_MS * 1000000ull) {
			TH_LOG("%llu bytes still in the ring %d ms after the producers finished",
			       (unsigned long long)mpmcring_avail_bytes(r), 2 * LOST_MS);
			break;
		}
		if (!finished) {
			finished = lg_read_stats(&lg) == 0 && lg.finished;
			if (finished) {
				t_finished = vm_now_ns();
				continue;
			}
		}
		n = epoll_wait_owed(ep, &ev, r, wm ? wm : 1);
		ASSERT_GE(n, 0);
		if (n == NOT_OWED)
			continue;
		if (n == 1) {
			wakes++;
			/* Never woken with less than the watermark ready. */
			if (wm && mpmcring_avail_bytes(r) < wm)
				short_wakes++;
		} else if (mpmcring_avail_bytes(r) >= (wm ? wm : 1)) {
			lost++;
			/* Nothing more will wake it: what is left stays unread. */
			if (finished)
				break;
		}
	}
	ASSERT_EQ(0, lg_read_stats(&lg));
	TH_LOG("committed %llu, read %llu, woken %llu times",
	       (unsigned long long)lg.total_committed, (unsigned long long)got,
	       (unsigned long long)wakes);
	EXPECT_EQ(0, lost);
	EXPECT_EQ(0, short_wakes);
	EXPECT_EQ(lg.total_committed, got);
	EXPECT_GT(wakes, 0);
	if (strstr(params, "chunk_bytes=")) {
		struct mpmcring_stats st;

		/* Chunks were used and closed. */
		ASSERT_EQ(0, mpmcring_get_stats(r, &st));
		EXPECT_GT(st.chunk_filler_bytes, 0);
	}
	close(ep);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	EXPECT_EQ(0, vm_rmmod("mpmcring_loadgen"));
}

TEST_F_TIMEOUT(slow, hardirq_and_nmi_producers_wake_epoll, 300)
{
	epoll_kernel_producers(_metadata,
			       "ring=wake create=1 size=1048576 threads=0 hrtimer=1 nmi=1 "
			       "count=3000 timer_ns=300000 timer_batch=1 autostart=0",
			       0, 0);
}

TEST_F_TIMEOUT(slow, hardirq_and_nmi_producers_wake_epoll_edge_triggered, 300)
{
	epoll_kernel_producers(_metadata,
			       "ring=wake create=1 size=1048576 threads=0 hrtimer=1 nmi=1 "
			       "count=3000 timer_ns=300000 timer_batch=1 autostart=0",
			       0, EPOLLET);
}

/*
 * The same on a chunked ring: each CPU's hardirq and NMI producers fill
 * chunks of their own, and records committed behind a chunk become
 * readable only when it is closed (its owner moving on, or the ring's
 * tick for one left open), so the consumer also sleeps with bytes in the
 * ring that it cannot read yet. No sleep may last LOST_MS with records
 * ready, and the last records, freed by the tick's close after the
 * producers finished, are read too. Which wakeup ends a sleep is not
 * seen here: with the close's own wake check taken out these still
 * pass (other producers' commits and the tick's backstop wake the
 * consumer within a tick); KUnit's chunk_close_wakes_a_reader_behind_it
 * is the test of that check.
 */
#define CHUNKED_WAKE_PARAMS                                          \
	"ring=wake create=1 size=1048576 threads=0 hrtimer=1 nmi=1 " \
	"count=3000 timer_ns=300000 timer_batch=1 chunk_bytes=4096 autostart=0"

TEST_F_TIMEOUT(slow, hardirq_and_nmi_producers_wake_epoll_chunked, 300)
{
	epoll_kernel_producers(_metadata, CHUNKED_WAKE_PARAMS, 0, 0);
}

TEST_F_TIMEOUT(slow, hardirq_and_nmi_producers_wake_epoll_edge_triggered_chunked, 300)
{
	epoll_kernel_producers(_metadata, CHUNKED_WAKE_PARAMS, 0, EPOLLET);
}

/* With a watermark the consumer sleeps until 8 KiB are ready. */
TEST_F_TIMEOUT(slow, watermark_holds_sleep, 300)
{
	epoll_kernel_producers(_metadata,
			       "ring=wake create=1 size=1048576 threads=0 hrtimer=1 "
			       "count=2000 len_min=56 len_max=56 timer_ns=200000 "
			       "timer_batch=1 autostart=0",
			       8192, 0);
}

TEST_F_TIMEOUT(slow, watermark_holds_sleep_edge_triggered, 300)
{
	epoll_kernel_producers(_metadata,
			       "ring=wake create=1 size=1048576 threads=0 hrtimer=1 "
			       "count=2000 len_min=56 len_max=56 timer_ns=200000 "
			       "timer_batch=1 autostart=0",
			       8192, EPOLLET);
}

TEST(poll_epoll_select)
{
	struct mpmcring *r = mpmcring_open(NULL, 0);
	struct mpmcring_consumer *c;
	struct mpmcring_record rec;
	struct pollfd pfd;
	fd_set rfds;
	struct timeval tv = { 0, 0 };
	uint64_t x = 42;
	int fd;

	ASSERT_NE(NULL, r);
	c = mpmcring_consumer_new(r);
	ASSERT_NE(NULL, c);
	while (mpmcring_read(c, &rec) == 0)
		mpmcring_commit(c);
	fd = mpmcring_fd(r);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	FD_ZERO(&rfds);
	FD_SET(fd, &rfds);
	EXPECT_EQ(0, select(fd + 1, &rfds, NULL, NULL, &tv));
	ASSERT_EQ(sizeof(x), write(fd, &x, sizeof(x)));
	EXPECT_EQ(1, poll(&pfd, 1, LOST_MS));
	EXPECT_TRUE(pfd.revents & POLLIN);
	FD_ZERO(&rfds);
	FD_SET(fd, &rfds);
	tv.tv_sec = 1;
	EXPECT_EQ(1, select(fd + 1, &rfds, NULL, NULL, &tv));
	EXPECT_EQ(1, mpmcring_wait(r, 0));
	ASSERT_EQ(0, mpmcring_read(c, &rec));
	EXPECT_EQ(42, *(const uint64_t *)rec.data);
	mpmcring_commit(c);
	EXPECT_EQ(0, mpmcring_wait(r, 10));
	mpmcring_consumer_free(c);
	mpmcring_close(r);
}

TEST_HARNESS_MAIN
