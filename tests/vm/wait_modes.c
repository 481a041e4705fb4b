// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every way users wait for records wakes them for a record committed after
 * they last looked, with no system call in between: poll, epoll level- and
 * edge-triggered, EPOLLEXCLUSIVE, io_uring poll (one-shot and multishot)
 * and blocking read(2). And writers waiting for room (POLLOUT) the same
 * ways are woken when consumers free some, though consumers free it with
 * plain stores that nothing tells the kernel about.
 *
 * Each test is a ping-pong: a record is written only after the consumer
 * took the previous one, so the consumer goes back to sleep between records
 * and every record races its sleep. The consumers drain through the mapping
 * until -EAGAIN before they wait: edge-triggered epoll and io_uring's
 * multishot poll never call ->poll in between, which is what used to lose
 * wakeups. A wait that times out while a record is waiting is a lost
 * wakeup; poll(2) never times out with the file ready (it looks again
 * after its timer), so there a wait that slept out its time with no
 * wakeup sent is (vm_poll_lost_by()). The writers' POLLOUT waits the same,
 * with the count of room wakeups (vm_poll_lost_by() on VM_ROOM_WAKEUPS; ABI 1.4). Each
 * drain for a poll(2) writer waits until it sleeps, so that every cycle's
 * room needs its wakeup; for the edge-triggered and multishot writers every
 * other drain does (room_drain_waits()). And three of the readers' waits
 * on a ring with chunks, records waiting behind another CPU's open chunk
 * (pingpong_chunked()).
 */
#define _GNU_SOURCE /* sched_setaffinity(), before the first libc header */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <liburing.h>

#include "kselftest_harness.h"
#include "mpmcring.h"
#include "pingpong.h"
#include "vmtest.h"

/* Far longer than any wakeup takes: hitting it means a lost wakeup. */
#define LOST_MS 5000

enum wait_mode {
	W_POLL,
	W_EPOLL_LT,
	W_EPOLL_ET,
	W_EPOLL_ET_EXCL,
	W_URING_ONESHOT,
	W_URING_MULTISHOT,
};

struct waiter {
	enum wait_mode mode;
	int fd, ep;
	short events; /* POLLIN or POLLOUT */
	struct io_uring ur;
	bool armed;
};

static int waiter_init_for(struct waiter *w, int fd, enum wait_mode mode, short events)
{
	struct epoll_event ev = { .events = events };

	*w = (struct waiter){ .mode = mode, .fd = fd, .ep = -1, .events = events };
	switch (mode) {
	case W_POLL:
		return 0;
	case W_EPOLL_LT:
	case W_EPOLL_ET:
	case W_EPOLL_ET_EXCL:
		if (mode != W_EPOLL_LT)
			ev.events |= EPOLLET;
		if (mode == W_EPOLL_ET_EXCL)
			ev.events |= EPOLLEXCLUSIVE;
		w->ep = epoll_create1(EPOLL_CLOEXEC);
		if (w->ep < 0)
			return -errno;
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev)) {
			int err = -errno;

			close(w->ep);
			w->ep = -1;
			return err;
		}
		return 0;
	default:
		return io_uring_queue_init(8, &w->ur, 0);
	}
}

static int waiter_init(struct waiter *w, int fd, enum wait_mode mode)
{
	return waiter_init_for(w, fd, mode, POLLIN);
}

static void waiter_fini(struct waiter *w)
{
	if (w->ep >= 0)
		close(w->ep);
	if (w->mode == W_URING_ONESHOT || w->mode == W_URING_MULTISHOT)
		io_uring_queue_exit(&w->ur);
}

/* 1 when woken readable, 0 on timeout, -errno on error. */
static int waiter_wait(struct waiter *w, int ms)
{
	struct __kernel_timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	struct pollfd pfd = { .fd = w->fd, .events = w->events };
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct epoll_event ev;
	int n;

	switch (w->mode) {
	case W_POLL:
		n = poll(&pfd, 1, ms);
		return n < 0 ? -errno : n;
	case W_EPOLL_LT:
	case W_EPOLL_ET:
	case W_EPOLL_ET_EXCL:
		n = epoll_wait(w->ep, &ev, 1, ms);
		return n < 0 ? -errno : n;
	default:
		break;
	}
	if (!w->armed) {
		sqe = io_uring_get_sqe(&w->ur);
		if (!sqe)
			return -EBUSY;
		if (w->mode == W_URING_MULTISHOT)
			io_uring_prep_poll_multishot(sqe, w->fd, w->events);
		else
			io_uring_prep_poll_add(sqe, w->fd, w->events);
		n = io_uring_submit(&w->ur);
		if (n != 1)
			return n < 0 ? n : -EIO;
		w->armed = true;
	}
	n = io_uring_wait_cqe_timeout(&w->ur, &cqe, &ts);
	if (n == -ETIME)
		return 0;
	if (n)
		return n;
	n = cqe->res;
	/* A multishot poll stays armed while the kernel says MORE. */
	if (w->mode == W_URING_ONESHOT || !(cqe->flags & IORING_CQE_F_MORE))
		w->armed = false;
	io_uring_cqe_seen(&w->ur, cqe);
	return n < 0 ? n : (n & w->events) ? 1 : -EIO;
}

/* What a mode waits in, for messages. */
static const char *waiter_name(enum wait_mode mode)
{
	switch (mode) {
	case W_POLL:
		return "poll";
	case W_EPOLL_LT:
	case W_EPOLL_ET:
	case W_EPOLL_ET_EXCL:
		return "epoll_wait";
	default:
		return "io_uring";
	}
}

/*
 * The ping-pong's wait (pingpong.h): the waiter, set up in the consumer's
 * thread. The mode is read before waiter_init() writes the waiter whole.
 */
static int pingpong_init(void *w, int fd)
{
	return waiter_init(w, fd, ((struct waiter *)w)->mode);
}

static int pingpong_wait(void *w, int ms)
{
	return waiter_wait(w, ms);
}

static void pingpong_fini(void *w)
{
	waiter_fini(w);
}

/* Takes whatever an earlier test left in the default ring. */
static void drain_default(struct mpmcring *r)
{
	struct mpmcring_consumer *c = mpmcring_consumer_new(r);
	struct mpmcring_record rec;

	while (c && mpmcring_read(c, &rec) == 0)
		mpmcring_commit(c);
	mpmcring_consumer_free(c);
}

/* n cycles on ring r, waiting in mode; before_send(send_ctx, i) if set. */
static void pingpong_on(struct __test_metadata *_metadata, struct mpmcring *r, enum wait_mode mode,
			uint64_t n, void (*before_send)(void *, uint64_t), void *send_ctx)
{
	struct waiter waiter = { .mode = mode };
	struct vm_pingpong_wait w = {
		.name = waiter_name(mode),
		/* Its lost wakeups show as late 1s (vm_poll_lost_by()). */
		.lost_shows_late = mode == W_POLL,
		.init = pingpong_init,
		.wait = pingpong_wait,
		.fini = pingpong_fini,
		.ctx = &waiter,
		.before_send = before_send,
		.send_ctx = send_ctx,
	};

	vm_pingpong_run(_metadata, r, &w, n, LOST_MS);
}

static void pingpong(struct __test_metadata *_metadata, enum wait_mode mode, uint64_t n)
{
	struct mpmcring *r = mpmcring_open(NULL, 0);

	ASSERT_NE(NULL, r) TH_LOG("%s", mpmcring_errmsg());
	drain_default(r);
	pingpong_on(_metadata, r, mode, n, NULL, NULL);
	mpmcring_close(r);
}

/*
 * Each cycle races a record against a sleep; an edge-triggered wait that
 * misses wakeups misses the second. Enough to sample the races, and cheap
 * on the sanitizer kernels (tests/vm/wakeup.c runs 10^5 cycles of poll).
 */
#define CYCLES 500

FIXTURE(wm)
{
	int unused;
};

FIXTURE_SETUP(wm)
{
}

FIXTURE_TEARDOWN(wm)
{
	vm_rmmod("mpmcring_loadgen");
}

TEST_F_TIMEOUT(wm, poll_pingpong, 300)
{
	pingpong(_metadata, W_POLL, CYCLES);
}

TEST_F_TIMEOUT(wm, epoll_level_triggered_pingpong, 300)
{
	pingpong(_metadata, W_EPOLL_LT, CYCLES);
}

TEST_F_TIMEOUT(wm, epoll_edge_triggered_pingpong, 300)
{
	pingpong(_metadata, W_EPOLL_ET, CYCLES);
}

TEST_F_TIMEOUT(wm, epoll_exclusive_edge_triggered_pingpong, 300)
{
	pingpong(_metadata, W_EPOLL_ET_EXCL, CYCLES);
}

TEST_F_TIMEOUT(wm, io_uring_poll_oneshot_pingpong, 300)
{
	pingpong(_metadata, W_URING_ONESHOT, CYCLES);
}

TEST_F_TIMEOUT(wm, io_uring_poll_multishot_pingpong, 300)
{
	pingpong(_metadata, W_URING_MULTISHOT, CYCLES);
}

struct reader {
	int fd;
	pid_t tid;
	uint64_t acked, bad;
	int stop;
	int done; /* the reader has left its loop (ended, or on a bad read) */
};

static void *blocking_reader(void *arg)
{
	struct reader *rd = arg;
	uint64_t v, next = 0;

	__atomic_store_n(&rd->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	while (!__atomic_load_n(&rd->stop, __ATOMIC_ACQUIRE)) {
		if (read(rd->fd, &v, sizeof(v)) != sizeof(v)) {
			rd->bad++;
			break;
		}
		if (v == UINT64_MAX)
			break; /* the writer's way of ending us */
		if (v != next)
			rd->bad++;
		next++;
		__atomic_store_n(&rd->acked, next, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&rd->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Whether the reader sleeps through record i, sent LOST_MS ago: it has
 * not taken it and is asleep ('S'), twice 100 ms apart. Its loop sleeps
 * only in read(2), and a read(2) woken for a record does not sleep again
 * before taking it, so this is a lost wakeup. A reader that has not taken
 * the record but runs, or waits for a CPU ('R'), or has not started yet,
 * is only slow: the guest's speed decides when it takes the record, not
 * whether, so the writer waits on.
 */
static bool reader_slept_through(const struct reader *rd, uint64_t i)
{
	pid_t tid = __atomic_load_n(&rd->tid, __ATOMIC_ACQUIRE);
	int k;

	for (k = 0; k < 2; k++) {
		if (k)
			vm_sleep_ms(100);
		if (!tid || vm_task_state(tid) != 'S' ||
		    __atomic_load_n(&rd->acked, __ATOMIC_ACQUIRE) > i)
			return false;
	}
	return true;
}

/*
 * How long a record may wait for a reader that neither takes it nor is
 * seen asleep through it (one stuck in 'D', or running and not reading):
 * far beyond any guest's delay, and well inside the test's timeout.
 */
#define READER_STUCK_NS (60 * 1000000000ULL)

/* read(2) sleeps in the kernel; each record must end its sleep. */
TEST_F_TIMEOUT(wm, blocking_read_pingpong, 300)
{
	struct reader rd = { 0 };
	uint64_t i, end = UINT64_MAX, lost = 0, t0;
	char stuck = 0;
	pthread_t th;
	int fd = open("/dev/mpmcring", O_RDWR | O_CLOEXEC);

	ASSERT_GE(fd, 0);
	{
		struct mpmcring *r = mpmcring_open(NULL, 0);

		ASSERT_NE(NULL, r);
		drain_default(r);
		mpmcring_close(r);
	}
	rd.fd = open("/dev/mpmcring", O_RDWR | O_CLOEXEC);
	ASSERT_GE(rd.fd, 0);
	ASSERT_EQ(0, pthread_create(&th, NULL, blocking_reader, &rd));
	for (i = 0; i < CYCLES && !lost && !__atomic_load_n(&rd.done, __ATOMIC_ACQUIRE); i++) {
		ASSERT_EQ(sizeof(i), write(fd, &i, sizeof(i)));
		t0 = vm_now_ns();
		/* A reader that left (bad read) takes nothing more: rd.bad names it. */
		while (__atomic_load_n(&rd.acked, __ATOMIC_ACQUIRE) <= i &&
		       !__atomic_load_n(&rd.done, __ATOMIC_ACQUIRE)) {
			if (vm_now_ns() - t0 > LOST_MS * 1000000ULL &&
			    reader_slept_through(&rd, i)) {
				lost++; /* the reader slept through a record */
				break;
			}
			if (vm_now_ns() - t0 > READER_STUCK_NS) {
				stuck = vm_task_state(__atomic_load_n(&rd.tid, __ATOMIC_ACQUIRE));
				if (!stuck)
					stuck = '?'; /* not started, or no /proc */
				break;
			}
			sched_yield();
		}
		/* Ends the test (and the reader we cannot join) by name. */
		ASSERT_EQ(0, stuck)
		TH_LOG("record %llu not taken in 60 s, the reader neither asleep nor done (state '%c')",
		       (unsigned long long)i, stuck);
	}
	__atomic_store_n(&rd.stop, 1, __ATOMIC_RELEASE);
	ASSERT_EQ(sizeof(end), write(fd, &end, sizeof(end)));
	pthread_join(th, NULL);
	EXPECT_EQ(0, lost);
	EXPECT_EQ(0, rd.bad)
	TH_LOG("the reader left on a bad read after %llu records", (unsigned long long)rd.acked);
	EXPECT_EQ(CYCLES, rd.acked);
	close(rd.fd);
	close(fd);
}

/* Two CPUs the writer may run on, and whether it has them. */
struct two_cpus {
	int cpu[2];
	bool ok;
};

/* The writer of a chunked ping-pong: record i from the pair's CPU i % 2. */
static void send_from_alternate_cpus(void *send_ctx, uint64_t i)
{
	struct two_cpus *two = send_ctx;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(two->cpu[i % 2], &set);
	if (sched_setaffinity(0, sizeof(set), &set) || sched_getcpu() != two->cpu[i % 2])
		two->ok = false;
}

/*
 * The same on a ring with chunks (docs/scaling.md, property 9), the writer
 * on two CPUs in turn: a record lands in its CPU's chunk, and when the
 * other CPU's chunk is open before it (about every other record: the tick
 * closes both at once), behind that chunk's unfilled rest, claimable only
 * once that chunk closes. The sleeper must be woken then: by the close
 * (KUnit chunk_close_wakes_a_reader_behind_it checks that the close
 * itself wakes) or by the tick's backstop, which this test cannot tell
 * apart. Fewer cycles: about half wait for a tick.
 */
static void pingpong_chunked(struct __test_metadata *_metadata, enum wait_mode mode, uint64_t n)
{
	struct two_cpus two = { .ok = true };
	struct mpmcring_stats st;
	struct mpmcring *r;
	cpu_set_t all;
	int cpu, k = 0;

	ASSERT_EQ(0, sched_getaffinity(0, sizeof(all), &all));
	for (cpu = 0; cpu < CPU_SETSIZE && k < 2; cpu++)
		if (CPU_ISSET(cpu, &all))
			two.cpu[k++] = cpu;
	ASSERT_EQ(2, k) TH_LOG("one CPU allowed: no chunk to wait behind");
	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen", "ring=wmchunk create=1 size=1048576 "
						   "chunk_bytes=4096 threads=0 autostart=0"));
	r = mpmcring_open("/dev/mpmcring-wmchunk", 0);
	ASSERT_NE(NULL, r) TH_LOG("%s", mpmcring_errmsg());
	pingpong_on(_metadata, r, mode, n, send_from_alternate_cpus, &two);
	EXPECT_EQ(0, sched_setaffinity(0, sizeof(all), &all));
	EXPECT_TRUE(two.ok)
	TH_LOG("the writer did not run on CPUs %d and %d in turn", two.cpu[0], two.cpu[1]);
	ASSERT_EQ(0, mpmcring_get_stats(r, &st));
	/* The ring took chunks (4096, or less on a guest of many CPUs)... */
	EXPECT_GT(st.chunk_bytes, 0);
	/* ...and write(2) filled them: closes left rests as fillers. */
	EXPECT_GT(st.chunk_filler_bytes, 0);
	mpmcring_close(r);
	EXPECT_EQ(0, vm_rmmod("mpmcring_loadgen"));
}

TEST_F_TIMEOUT(wm, poll_pingpong_chunked, 120)
{
	pingpong_chunked(_metadata, W_POLL, 20);
}

TEST_F_TIMEOUT(wm, epoll_edge_triggered_pingpong_chunked, 120)
{
	pingpong_chunked(_metadata, W_EPOLL_ET, 20);
}

TEST_F_TIMEOUT(wm, io_uring_poll_multishot_pingpong_chunked, 120)
{
	pingpong_chunked(_metadata, W_URING_MULTISHOT, 20);
}

/*
 * Writers: fill the ring until a write would block, wait for room the
 * given way, while the main thread frees the ring each time they are full.
 */
#define WRING "/dev/mpmcring-wm"
#define WCYCLES 30

struct room {
	enum wait_mode mode;
	int fd;
	pid_t tid;	      /* the writer's */
	int full;	      /* the writer is full and waits */
	struct vm_sent freed; /* the main thread's drains: how many, the last when */
	uint64_t cycles, lost, bad;
	const char *why; /* what made the writer stop, when bad */
	uint64_t late;	 /* waits that returned only after LOST_MS: printed, lost or not */
	int done;
};

/*
 * Room comes back through plain stores, so the writer's wakeup comes from
 * the housekeeping tick (MPMCRING_TICK_MS, 100 ms), which reclaims what
 * they freed. A wait that timed out is a lost wakeup if this cycle's drain
 * ended at least ROOM_TICKS_MS before its deadline (25 ticks); a drain
 * the guest ran later than that (a main thread it did not run for
 * seconds) leaves the writer waiting again. poll(2) does not time out
 * (it looks again after its timer, and finds the room): there a wait that
 * returned only after LOST_MS, its drain by then, with the ring's count of
 * room wakeups unmoved, is the lost wakeup (vm_poll_lost_by(), whose
 * margin of LOST_MS / 2 is ROOM_TICKS_MS).
 */
#define ROOM_TICKS_MS (LOST_MS / 2)

/*
 * Whether drain number drain (1-based) waits until the writer sleeps
 * first. poll(2)'s ->poll reclaims, so a poll writer drained before it
 * sleeps finds the room itself and tests no wakeup: every drain waits. An
 * edge-triggered epoll or multishot io_uring writer never calls ->poll
 * while it waits, so an early drain still needs the tick's wakeup: every
 * other drain is early (the race the tick closes), the rest wait.
 */
static bool room_drain_waits(enum wait_mode mode, uint64_t drain)
{
	return mode == W_POLL || drain % 2;
}

/*
 * ROOM_ASLEEP_MS for each drain to find the writer asleep, ROOM_ASLEEP_BUDGET_MS
 * for all of them: well inside the test's 120 s, so that "no drain found the
 * writer asleep" is a failure of its own, not a timeout.
 */
#define ROOM_ASLEEP_MS 1000
#define ROOM_ASLEEP_BUDGET_MS 20000

/* Waits for the writer to sleep, out of *budget_ms; whether it does. */
static bool room_drain_asleep(const pid_t *tid, uint64_t *budget_ms)
{
	uint64_t ms;

	for (ms = 0; ms < ROOM_ASLEEP_MS && *budget_ms >= 10; ms += 10) {
		pid_t t = __atomic_load_n(tid, __ATOMIC_ACQUIRE);

		if (t && vm_task_state(t) == 'S')
			return true;
		vm_sleep_ms(10);
		*budget_ms -= 10;
	}
	return false;
}

/*
 * Fills the ring until a write(2) of rec would block: 0, or -1 on any other
 * result. writev(2) first, a record a segment (all or nothing: EAGAIN when
 * the batch does not fit), then write(2) up to the last record, so the
 * ring ends as full as with write(2) alone, in about 50 system calls
 * instead of about a thousand (those were most of this test's time on the
 * debug kernels).
 */
static int room_fill(int fd, char *rec, size_t len)
{
	struct iovec iov[MPMCRING_WRITEV_MAX];
	ssize_t n, want = (ssize_t)(len * MPMCRING_WRITEV_MAX);
	int i;

	for (i = 0; i < MPMCRING_WRITEV_MAX; i++)
		iov[i] = (struct iovec){ .iov_base = rec, .iov_len = len };
	while ((n = writev(fd, iov, MPMCRING_WRITEV_MAX)) == want)
		;
	if (n != -1 || errno != EAGAIN)
		return -1;
	while ((n = write(fd, rec, len)) == (ssize_t)len)
		;
	return n == -1 && errno == EAGAIN ? 0 : -1;
}

/* A look at the ring for POLLOUT, without waiting. */
static bool room_writable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
}

static void *room_writer(void *arg)
{
	struct room *rm = arg;
	char rec[56] = { 0 };
	struct waiter w;
	uint64_t t0, room0;
	int n, refills;

	__atomic_store_n(&rm->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	if (waiter_init_for(&w, rm->fd, rm->mode, POLLOUT)) {
		rm->why = "its waiter did not set up";
		rm->bad++;
		goto out;
	}
	while (rm->cycles < WCYCLES) {
		/*
		 * The fill's writev(2) can fail EAGAIN with room left, and
		 * that registers the writer: a wakeup then posted for the
		 * room still there is stale, and an io_uring multishot poll
		 * posts it without looking again. Reap it before the wait
		 * that counts, then look: the last drain may still run (the
		 * writer refills as soon as it is woken), and its commits
		 * free room and wake the writer at once (room_at), so what
		 * was reaped may have been the wakeup for room that is there
		 * now. Fill again until a look after the reap says no room
		 * (that look also registers the writer again). A reap that
		 * never ends (64 events in a row) is that drain too: poll(2)
		 * is level-triggered and says writable at every look while the
		 * drain frees room (stock 6.1, fresh-clone CI of 2026-12-05:
		 * counted as bad then); fill again for it as well. In the
		 * other modes 64 events after a fill are a flood: bad.
		 */
		refills = 0;
		do {
			if (room_fill(rm->fd, rec, sizeof(rec))) {
				n = -1;
				break;
			}
			for (n = 0; n < 64 && waiter_wait(&w, 0) > 0; n++)
				;
		} while (((n == 64 && rm->mode == W_POLL) || (n < 64 && room_writable(rm->fd))) &&
			 ++refills < 1000);
		if (n < 0 || n == 64 || refills == 1000) {
			rm->why = n < 0	    ? "a fill failed"
				  : n == 64 ? "64 readiness events in a row after a fill"
					    : "1000 fills still left room";
			rm->bad++;
			break;
		}
		/* Read before the drain can come: it waits for full. */
		room0 = vm_ring_wakeups(rm->fd, VM_ROOM_WAKEUPS);
		if (room0 == UINT64_MAX) {
			rm->why = "no room wakeup count";
			rm->bad++;
			break;
		}
		__atomic_store_n(&rm->full, 1, __ATOMIC_RELEASE);
		do {
			t0 = vm_now_ns();
			n = waiter_wait(&w, LOST_MS);
		} while (n == 0 && !vm_sent_before(&rm->freed, rm->cycles,
						   t0 + (LOST_MS - ROOM_TICKS_MS) * 1000000ULL));
		if (n == 0) {
			rm->lost++; /* no wakeup though room came */
			break;
		}
		if (n < 0) {
			rm->why = "its wait failed";
			rm->bad++;
			break;
		}
		if (vm_now_ns() - t0 >= LOST_MS * 1000000ULL)
			rm->late++;
		/* poll(2) shows a lost wakeup as a late 1 (above). */
		if (rm->mode == W_POLL && vm_poll_lost_by(&rm->freed, rm->cycles, t0, LOST_MS,
							  rm->fd, VM_ROOM_WAKEUPS, room0)) {
			rm->lost++;
			break;
		}
		rm->cycles++;
	}
	waiter_fini(&w);
out:
	__atomic_store_n(&rm->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void room_pingpong(struct __test_metadata *_metadata, enum wait_mode mode)
{
	struct room rm = { .mode = mode };
	struct mpmcring *r;
	struct mpmcring_consumer *c;
	struct mpmcring_record rec;
	uint64_t drains = 0, waited = 0, asleep = 0, budget_ms = ROOM_ASLEEP_BUDGET_MS;
	pthread_t th;

	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen",
			       "ring=wm create=1 size=65536 threads=0 autostart=0"));
	r = mpmcring_open(WRING, 0);
	ASSERT_NE(NULL, r);
	ASSERT_GE(mpmcring_get_layout(r)->abi_minor, MPMCRING_ABI_MINOR_ROOM_WAKEUPS)
	TH_LOG("the module is of ABI 1.%u: no room wakeup count",
	       mpmcring_get_layout(r)->abi_minor);
	c = mpmcring_consumer_new(r);
	ASSERT_NE(NULL, c);
	rm.fd = open(WRING, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	ASSERT_GE(rm.fd, 0);
	ASSERT_EQ(0, pthread_create(&th, NULL, room_writer, &rm));
	while (!__atomic_load_n(&rm.done, __ATOMIC_ACQUIRE)) {
		if (!__atomic_exchange_n(&rm.full, 0, __ATOMIC_ACQ_REL)) {
			sched_yield();
			continue;
		}
		/*
		 * Drain once the writer sleeps (room_drain_waits()). It sleeps
		 * nowhere else once full.
		 */
		if (room_drain_waits(mode, drains + 1)) {
			waited++;
			if (room_drain_asleep(&rm.tid, &budget_ms))
				asleep++;
		}
		/* Room comes back through plain stores only. */
		while (mpmcring_read(c, &rec) == 0)
			mpmcring_commit(c);
		vm_sent_mark(&rm.freed, ++drains);
	}
	pthread_join(th, NULL);
	TH_LOG("%llu cycles, %llu of %llu drains that waited found the writer asleep (%llu ms of the wait budget left), %llu waits of %d ms or more",
	       (unsigned long long)rm.cycles, (unsigned long long)asleep,
	       (unsigned long long)waited, (unsigned long long)budget_ms,
	       (unsigned long long)rm.late, LOST_MS);
	EXPECT_EQ(0, rm.lost)
	TH_LOG("cycle %llu: the writer slept out its wait with room back",
	       (unsigned long long)rm.cycles);
	EXPECT_EQ(0, rm.bad)
	TH_LOG("cycle %llu: the writer stopped: %s", (unsigned long long)rm.cycles,
	       rm.why ? rm.why : "?");
	EXPECT_EQ(WCYCLES, rm.cycles);
	EXPECT_GT(asleep, 0)
	TH_LOG("no drain found the writer asleep within %d ms (%d ms in all): no wakeup was tested",
	       ROOM_ASLEEP_MS, ROOM_ASLEEP_BUDGET_MS);
	close(rm.fd);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	EXPECT_EQ(0, vm_rmmod("mpmcring_loadgen"));
}

TEST_F_TIMEOUT(wm, pollout_poll, 120)
{
	room_pingpong(_metadata, W_POLL);
}

TEST_F_TIMEOUT(wm, pollout_epoll_edge_triggered, 120)
{
	room_pingpong(_metadata, W_EPOLL_ET);
}

TEST_F_TIMEOUT(wm, pollout_io_uring_multishot, 120)
{
	room_pingpong(_metadata, W_URING_MULTISHOT);
}

/*
 * io_uring's poll takes a keyed wakeup's events for the file's and posts
 * them without asking ->poll again (epoll and poll(2) ask it). Readers'
 * wakeups are sent for the lowest watermark any reader file has: keyed
 * EPOLLIN, a commit that reached another file's watermark (a reader at
 * the default, class 0) completed the poll of a file whose watermark was
 * still far (before: at the first record, seen on both modes). The
 * readers' wakeups carry no key, so io_uring asks ->poll, which answers
 * for the file's own watermark. Each record here is a commit that wakes
 * the other reader (and the tick, for a head that stands still with a
 * record ready, wakes the readers once more within 300 ms); the poll
 * completes only once the watermark's bytes are in.
 */
static void uring_poll_watermark(struct __test_metadata *_metadata, enum wait_mode mode)
{
	uint64_t wm = 4096, in = 0;
	struct waiter w;
	char rec[64] = "below the watermark";
	int fd, other, i, n;

	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen",
			       "ring=wmark create=1 size=65536 threads=0 autostart=0"));
	fd = open("/dev/mpmcring-wmark", O_RDWR | O_CLOEXEC);
	other = open("/dev/mpmcring-wmark", O_RDONLY | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	ASSERT_GE(other, 0);
	ASSERT_EQ(0, ioctl(fd, MPMCRING_IOC_SET_WATERMARK, &wm));
	ASSERT_EQ(0, waiter_init(&w, fd, mode));
	ASSERT_EQ(0, waiter_wait(&w, 0)) TH_LOG("ready on an empty ring");
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(sizeof(rec), write(fd, rec, sizeof(rec)));
		in += sizeof(rec) + 8;
		n = waiter_wait(&w, i == 2 ? 300 : 0);
		EXPECT_EQ(0, n)
		TH_LOG("%s completed with %llu of %llu bytes in", waiter_name(mode),
		       (unsigned long long)in, (unsigned long long)wm);
	}
	while (in < wm) {
		ASSERT_EQ(sizeof(rec), write(fd, rec, sizeof(rec)));
		in += sizeof(rec) + 8;
	}
	EXPECT_EQ(1, waiter_wait(&w, LOST_MS)) TH_LOG("not woken with the watermark reached");
	waiter_fini(&w);
	close(other);
	close(fd);
	EXPECT_EQ(0, vm_rmmod("mpmcring_loadgen"));
}

TEST_F_TIMEOUT(wm, io_uring_poll_oneshot_keeps_the_files_watermark, 60)
{
	uring_poll_watermark(_metadata, W_URING_ONESHOT);
}

TEST_F_TIMEOUT(wm, io_uring_poll_multishot_keeps_the_files_watermark, 60)
{
	uring_poll_watermark(_metadata, W_URING_MULTISHOT);
}

/* A writer's wait for room: EPOLLOUT alone, exclusive, on a read-write file. */
struct excl_room {
	int ep;
	pid_t tid;
	int n; /* epoll_wait()'s return, once done */
	int done;
};

static void *excl_room_wait(void *arg)
{
	struct excl_room *x = arg;
	struct epoll_event ev;

	__atomic_store_n(&x->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	x->n = epoll_wait(x->ep, &ev, 1, 3 * LOST_MS);
	__atomic_store_n(&x->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Readers' wakeups carry no key (so that io_uring asks ->poll), and epoll
 * counts an unkeyed wakeup as taken by an exclusive waiter that is asleep,
 * whatever events it asked for. A writer of the low class waiting for room
 * (EPOLLOUT | EPOLLEXCLUSIVE on a read-write file, queued first) would
 * take every wakeup meant for an exclusive reader behind it, the tick's
 * too, while records of a higher class come in (seen: the reader was
 * never woken, with the writer's registration left unnoted). Once such a
 * waiter is queued, readers' wakeups are keyed EPOLLIN: the reader is
 * woken by the record.
 */
TEST_F_TIMEOUT(wm, epoll_exclusive_reader_behind_an_exclusive_room_waiter, 60)
{
	struct epoll_event out = { .events = EPOLLOUT | EPOLLEXCLUSIVE },
			   in = { .events = EPOLLIN | EPOLLEXCLUSIVE }, ev;
	struct excl_room x = { .ep = -1 };
	uint32_t low = MPMCRING_PRIO_LOW;
	uint64_t budget_ms = ROOM_ASLEEP_BUDGET_MS;
	struct mpmcring_consumer *c;
	struct mpmcring_record rec;
	struct mpmcring *r;
	char buf[56] = "low", normal[64] = "normal";
	int wfd, nfd, rfd, rep, held = 0;
	pthread_t th;

	ASSERT_EQ(
		0,
		vm_insmod(
			"mpmcring_loadgen",
			"ring=wmark create=1 size=65536 threads=0 autostart=0 watermarks=50,10,0"));
	r = mpmcring_open("/dev/mpmcring-wmark", 0);
	ASSERT_NE(NULL, r) TH_LOG("%s", mpmcring_errmsg());
	c = mpmcring_consumer_new(r);
	ASSERT_NE(NULL, c) TH_LOG("%s", mpmcring_errmsg());
	wfd = open("/dev/mpmcring-wmark", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	nfd = open("/dev/mpmcring-wmark", O_WRONLY | O_CLOEXEC);
	rfd = open("/dev/mpmcring-wmark", O_RDONLY | O_CLOEXEC);
	x.ep = epoll_create1(EPOLL_CLOEXEC);
	rep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_TRUE(wfd >= 0 && nfd >= 0 && rfd >= 0 && x.ep >= 0 && rep >= 0);
	/* The low class full, every record held: no room, nothing ready. */
	ASSERT_EQ(0, ioctl(wfd, MPMCRING_IOC_SET_PRIO, &low));
	ASSERT_EQ(0, room_fill(wfd, buf, sizeof(buf)));
	while (mpmcring_read(c, &rec) == 0)
		held++;
	ASSERT_LT(0, held);
	/* The room waiter first: the queue's walk meets it first. */
	ASSERT_EQ(0, epoll_ctl(x.ep, EPOLL_CTL_ADD, wfd, &out));
	ASSERT_EQ(0, epoll_ctl(rep, EPOLL_CTL_ADD, rfd, &in));
	ASSERT_EQ(0, epoll_wait(rep, &ev, 1, 0))
	TH_LOG("the reader is ready with every record held");
	ASSERT_EQ(0, pthread_create(&th, NULL, excl_room_wait, &x));
	EXPECT_TRUE(room_drain_asleep(&x.tid, &budget_ms)) TH_LOG("the room waiter never slept");
	/* A record of the normal class, which has room. */
	ASSERT_EQ(sizeof(normal), write(nfd, normal, sizeof(normal)));
	EXPECT_EQ(1, epoll_wait(rep, &ev, 1, LOST_MS))
	TH_LOG("the reader was not woken by the record (%d records held)", held);
	/* Room back: the writer's wait ends. */
	EXPECT_EQ(0, mpmcring_commit(c));
	pthread_join(th, NULL);
	EXPECT_EQ(1, x.n) TH_LOG("the room waiter was not woken by the room");
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	close(rep);
	close(x.ep);
	close(rfd);
	close(nfd);
	close(wfd);
	EXPECT_EQ(0, vm_rmmod("mpmcring_loadgen"));
}

TEST_HARNESS_MAIN
