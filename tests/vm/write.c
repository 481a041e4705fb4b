// SPDX-License-Identifier: GPL-2.0-only
/*
 * Userspace producers (write(2), writev(2)) and their liveness: a writer
 * polling for POLLOUT is woken when consumers free space (they free it with
 * plain stores, which nothing tells the kernel about: the housekeeping
 * tick finds it and wakes the writer; one that slept out its wait with no
 * room wakeup counted fails; a read(2) that frees room wakes it itself,
 * and so does a mapped consumer's commit, told by room_at to ask);
 * a blocked writer gets
 * EPIPE when the ring is destroyed and EINTR on a signal; a record that can
 * never fit (too big for the ring, over MPMCRING_WRITE_MAX, more than its
 * class may ever use, too many segments) fails at once instead of waiting
 * on an empty ring.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include <linux/userfaultfd.h>

#include "kselftest_harness.h"
#include "mpmcring.h"
#include "vmtest.h"

#define RING "/dev/mpmcring-wr"

FIXTURE(wr)
{
	int fd;
	struct mpmcring_layout l;
};

/* 64 KiB; a low-class record needs 60% of the ring free. */
FIXTURE_SETUP(wr)
{
	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen", "ring=wr create=1 size=65536 threads=0 "
						   "autostart=0 watermarks=60,12,0"));
	self->fd = open(RING, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->fd, 0);
	ASSERT_EQ(0, ioctl(self->fd, MPMCRING_IOC_INFO, &self->l));
}

FIXTURE_TEARDOWN(wr)
{
	if (self->fd >= 0)
		close(self->fd);
	vm_rmmod("mpmcring_loadgen");
}

/*
 * Fills the ring with 56-byte records of the file's class until a write
 * would block, then with 1-byte ones (the smallest write(2) makes): no
 * record of the class fits after.
 */
static int fill(int fd)
{
	char rec[56] = { 0 };
	int n = 0, fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	while (write(fd, rec, sizeof(rec)) == sizeof(rec))
		n++;
	while (write(fd, rec, 1) == 1)
		n++;
	fcntl(fd, F_SETFL, fl);
	return n;
}

/* Consumes every record there is. */
static int drain(struct mpmcring_consumer *c)
{
	struct mpmcring_record rec;
	int n = 0;

	while (mpmcring_read(c, &rec) == 0) {
		n++;
		mpmcring_commit(c);
	}
	return n;
}

/* The POLLOUT wait: far longer than the tick that sends its wakeup. */
#define POLLOUT_MS 10000

/*
 * poll(2) looks again after its timer, and the ring has room by then: a
 * lost wakeup returns 1 too, only after POLLOUT_MS. So the wait is lost
 * when it returned that late, the drain came by half of it, and the
 * kernel sent no room wakeup meanwhile (the poll sleeper's lost:
 * vm_poll_lost_by() on VM_ROOM_WAKEUPS).
 */
TEST_F(wr, pollout_wakes_when_consumers_free_space)
{
	struct mpmcring *r = mpmcring_open(RING, 0);
	struct mpmcring_consumer *c = r ? mpmcring_consumer_new(r) : NULL;
	struct pollfd pfd = { .fd = self->fd, .events = POLLOUT };
	struct vm_sent freed = { 0 }; /* the test's drain */
	struct vm_poll_sleeper p = { .fd = self->fd,
				     .ms = POLLOUT_MS,
				     .events = POLLOUT,
				     .sent = &freed,
				     .which = VM_ROOM_WAKEUPS };
	pthread_t th;

	ASSERT_NE(NULL, c);
	ASSERT_GE(self->l.abi_minor, MPMCRING_ABI_MINOR_ROOM_WAKEUPS)
	TH_LOG("the module is of ABI 1.%u: no room wakeup count", self->l.abi_minor);
	ASSERT_GT(fill(self->fd), 0);
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	ASSERT_EQ(0, pthread_create(&th, NULL, vm_poll_sleeper_thread, &p));
	ASSERT_TRUE(vm_wait_asleep(&p.tid));
	EXPECT_GT(drain(c), 0);
	vm_sent_mark(&freed, 1);
	pthread_join(th, NULL);
	EXPECT_NE(UINT64_MAX, p.count0);
	EXPECT_EQ(1, p.ret) TH_LOG("the poller was not woken when space came back");
	EXPECT_TRUE(p.revents & POLLOUT);
	EXPECT_FALSE(p.lost)
	TH_LOG("the poller slept out its %d ms (%llu ms) with room back and no room wakeup sent",
	       POLLOUT_MS, (unsigned long long)p.waited_ms);
	/* Only the tick's room wakeup ends that wait: counted. */
	EXPECT_LT(p.count0, vm_ring_wakeups(self->fd, VM_ROOM_WAKEUPS));
	mpmcring_consumer_free(c);
	mpmcring_close(r);
}

/*
 * POLLOUT after EAGAIN means the refused write fits now: with room for a
 * 56-byte record but not a 1,000-byte one, a non-blocking writer of the
 * large record must not be told "writable" and "EAGAIN" in turn (it would
 * spin). A write that gets in lowers the promise back to the smallest
 * record.
 */
TEST_F(wr, pollout_promises_room_for_the_refused_write)
{
	struct mpmcring *r = mpmcring_open(RING, 0);
	struct mpmcring_consumer *c = r ? mpmcring_consumer_new(r) : NULL;
	struct pollfd pfd = { .fd = self->fd, .events = POLLOUT };
	static char big[1000];
	char small[56] = { 0 };
	struct mpmcring_record rec;
	int fl = fcntl(self->fd, F_GETFL);
	void *nowhere;

	ASSERT_NE(NULL, c);
	ASSERT_GT(fill(self->fd), 0);
	/* The oldest record (56 bytes) consumed: room for one like it. */
	ASSERT_EQ(0, mpmcring_read(c, &rec));
	ASSERT_EQ(sizeof(small), rec.len);
	mpmcring_commit(c);
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, fl | O_NONBLOCK));
	EXPECT_EQ(1, poll(&pfd, 1, 0)) TH_LOG("no room for the freed record's size");
	EXPECT_EQ(-1, write(self->fd, big, sizeof(big)));
	EXPECT_EQ(EAGAIN, errno);
	pfd.revents = 0;
	EXPECT_EQ(0, poll(&pfd, 1, 0))
	TH_LOG("POLLOUT (revents %#x) with too little room for the write just refused",
	       pfd.revents);
	/* Still refused: poll was right. */
	EXPECT_EQ(-1, write(self->fd, big, sizeof(big)));
	EXPECT_EQ(EAGAIN, errno);
	/* A write that ends otherwise (here EFAULT) forgets it too. */
	nowhere = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, nowhere);
	EXPECT_EQ(-1, write(self->fd, nowhere, sizeof(small)));
	EXPECT_EQ(EFAULT, errno);
	munmap(nowhere, 4096);
	EXPECT_EQ(1, poll(&pfd, 1, 0)) TH_LOG("no POLLOUT after a write ended in EFAULT");
	EXPECT_EQ(-1, write(self->fd, big, sizeof(big)));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	/* The small one fits; after it, POLLOUT is about small records again. */
	EXPECT_EQ(sizeof(small), write(self->fd, small, sizeof(small)));
	ASSERT_EQ(0, mpmcring_read(c, &rec));
	ASSERT_EQ(sizeof(small), rec.len);
	mpmcring_commit(c);
	EXPECT_EQ(1, poll(&pfd, 1, 0))
	TH_LOG("no POLLOUT with room for a 56-byte record after a write got in");
	/* Room for the 1,000 bytes: POLLOUT, and the write gets in. */
	EXPECT_GT(drain(c), 0);
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(sizeof(big), write(self->fd, big, sizeof(big)));
	fcntl(self->fd, F_SETFL, fl);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
}

/*
 * A poller whose file was refused a large write sleeps through the room
 * for small records (the tick wakes it, it looks and sleeps again) and is
 * woken once the large one fits. Lost when it slept out its wait with no
 * room wakeup counted after the drain that made the room.
 */
TEST_F(wr, pollout_waiter_for_a_refused_write_wakes_when_it_fits)
{
	struct mpmcring *r = mpmcring_open(RING, 0);
	struct mpmcring_consumer *c = r ? mpmcring_consumer_new(r) : NULL;
	struct vm_poll_sleeper p = { .fd = self->fd, .ms = POLLOUT_MS, .events = POLLOUT };
	int fl = fcntl(self->fd, F_GETFL);
	struct mpmcring_record rec;
	static char big[1000];
	uint64_t count1;
	pthread_t th;

	ASSERT_NE(NULL, c);
	ASSERT_GE(self->l.abi_minor, MPMCRING_ABI_MINOR_ROOM_WAKEUPS);
	ASSERT_GT(fill(self->fd), 0);
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, fl | O_NONBLOCK));
	EXPECT_EQ(-1, write(self->fd, big, sizeof(big)));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, pthread_create(&th, NULL, vm_poll_sleeper_thread, &p));
	ASSERT_TRUE(vm_wait_asleep(&p.tid));
	/* Room for a small record: three ticks, and the poller sleeps on. */
	ASSERT_EQ(0, mpmcring_read(c, &rec));
	mpmcring_commit(c);
	usleep(3 * 100 * 1000);
	EXPECT_EQ(0, __atomic_load_n(&p.done, __ATOMIC_ACQUIRE))
	TH_LOG("POLLOUT (revents %#x) with room for 64 bytes, the refused write needs %zu",
	       p.revents, sizeof(big) + 8);
	count1 = vm_ring_wakeups(self->fd, VM_ROOM_WAKEUPS);
	EXPECT_GT(drain(c), 0);
	pthread_join(th, NULL);
	EXPECT_EQ(1, p.ret);
	EXPECT_TRUE(p.revents & POLLOUT);
	EXPECT_FALSE(p.waited_ms >= POLLOUT_MS &&
		     vm_ring_wakeups(self->fd, VM_ROOM_WAKEUPS) == count1)
	TH_LOG("the poller slept out its %d ms with room back and no room wakeup sent", POLLOUT_MS);
	EXPECT_EQ(sizeof(big), write(self->fd, big, sizeof(big)));
	fcntl(self->fd, F_SETFL, fl);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
}

/*
 * A write refused at one class says nothing of room at another: after
 * SET_PRIO to a class the refused write could never fit in, POLLOUT
 * comes back with room for small records (it once stayed off for good).
 */
TEST_F(wr, pollout_after_set_prio_forgets_the_refused_write)
{
	struct mpmcring *r = mpmcring_open(RING, 0);
	struct mpmcring_consumer *c = r ? mpmcring_consumer_new(r) : NULL;
	struct pollfd pfd = { .fd = self->fd, .events = POLLOUT };
	size_t len = self->l.data_size - self->l.watermark[MPMCRING_PRIO_LOW];
	uint32_t low = MPMCRING_PRIO_LOW;
	int fl = fcntl(self->fd, F_GETFL);
	static char big[65536];

	ASSERT_NE(NULL, c);
	ASSERT_LT(len, sizeof(big));
	ASSERT_GT(fill(self->fd), 0);
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, fl | O_NONBLOCK));
	/* Fits a normal record's limit, not a low one's. */
	EXPECT_EQ(-1, write(self->fd, big, len));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, ioctl(self->fd, MPMCRING_IOC_SET_PRIO, &low));
	EXPECT_GT(drain(c), 0);
	EXPECT_EQ(1, poll(&pfd, 1, 0)) TH_LOG("no POLLOUT on an empty ring");
	EXPECT_EQ(-1, write(self->fd, big, len));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	fcntl(self->fd, F_SETFL, fl);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
}

struct writer {
	int fd;
	ssize_t ret;
	int err;
	pid_t tid;
};

static void *blocking_write(void *arg)
{
	struct writer *w = arg;
	char rec[56] = { 1 };

	__atomic_store_n(&w->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	w->ret = write(w->fd, rec, sizeof(rec));
	w->err = errno;
	return NULL;
}

/*
 * A read(2) that frees room while a writer sleeps for it wakes the writer
 * itself (a write(2) and read(2) pair moved one ring a tick before): the
 * room wakeup is counted by the time read(2) returns. Best effort, so a
 * round may miss it on a correct kernel: the writer's own timeout (a
 * tick) firing between the read's commit and its reclaim writes into the
 * room first, and a reclaim already running takes the freed room out of
 * the read's hands. Rounds whose read(2) took over 20 ms (a vCPU the host
 * stalled, which widens that window) decide nothing; of the first five
 * others, at least three must count the wakeup in the read. Without the
 * read's wakeup none does, but for a tick landing in the same window.
 */
#define RW_ROUNDS 20

/* Takes the oldest record, one way or another: its length, or <= 0. */
typedef ssize_t (*rw_take_fn)(void *ctx);

/*
 * The rounds both tests below run: a writer of RW_ROUNDS 56-byte records
 * sleeps for room on a full ring; take frees the oldest record (56 bytes,
 * room for the writer's); the round counts when the room wakeup was
 * counted by the time take returned. what names take in the messages.
 */
static void rw_interrupt(int sig)
{
	(void)sig;
}

static void rw_rounds(struct __test_metadata *_metadata, int fd, rw_take_fn take, void *ctx,
		      const char *what)
{
	struct vm_writer w = { .fd = fd, .n = RW_ROUNDS, .len = 56 };
	unsigned int i, k, decided = 0, woke = 0;
	uint64_t c0, c1, t0, deadline, start = vm_now_ns();
	pthread_t th;

	ASSERT_GT(fill(fd), 0);
	ASSERT_EQ(0, pthread_create(&th, NULL, vm_writer_thread, &w));
	for (i = 0; i < RW_ROUNDS; i++) {
		deadline = vm_now_ns() + 10000000000ULL;
		while (__atomic_load_n(&w.written, __ATOMIC_ACQUIRE) < i && vm_now_ns() < deadline)
			vm_sleep_ms(1);
		ASSERT_EQ(i, __atomic_load_n(&w.written, __ATOMIC_ACQUIRE));
		ASSERT_TRUE(vm_wait_asleep(&w.tid));
		c0 = vm_ring_wakeups(fd, VM_ROOM_WAKEUPS);
		t0 = vm_now_ns();
		ASSERT_EQ(56, take(ctx));
		if (vm_now_ns() - t0 > 20000000ULL)
			continue;
		c1 = vm_ring_wakeups(fd, VM_ROOM_WAKEUPS);
		woke += c1 > c0;
		if (++decided == 5)
			break;
	}
	/*
	 * Free the writer of its other records. take never blocks, so a writer
	 * left asleep with the ring drained under it shows as one, not as the
	 * test's timeout: it is interrupted (its write(2) fails with EINTR and
	 * it stops) and the count below says where it stopped.
	 */
	deadline = vm_now_ns() + 10000000000ULL;
	while (__atomic_load_n(&w.written, __ATOMIC_ACQUIRE) < w.n && vm_now_ns() < deadline)
		if (take(ctx) <= 0)
			vm_sleep_ms(1);
	if (__atomic_load_n(&w.done, __ATOMIC_ACQUIRE)) {
		if (w.written < w.n)
			TH_LOG("the writer's write %u of %u failed", w.written + 1, w.n);
	} else if (__atomic_load_n(&w.written, __ATOMIC_ACQUIRE) < w.n) {
		struct sigaction sa = { .sa_handler = rw_interrupt }; /* no SA_RESTART */

		TH_LOG("the writer still sleeps at %u of %u records, the ring drained 10 s ago",
		       __atomic_load_n(&w.written, __ATOMIC_ACQUIRE), w.n);
		ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
		for (k = 0; k < 1000 && !__atomic_load_n(&w.done, __ATOMIC_ACQUIRE); k++) {
			pthread_kill(th, SIGUSR1);
			vm_sleep_ms(10);
		}
	}
	pthread_join(th, NULL);
	/* Printed, never judged: what the rounds cost, for the timeout below. */
	TH_LOG("%u rounds, %u decided, %.1f s", i, decided, (vm_now_ns() - start) / 1e9);
	EXPECT_EQ(w.n, w.written);
	EXPECT_EQ(5, decided) TH_LOG("only %u %s of %u took under 20 ms", decided, what, i);
	EXPECT_LE(3, woke)
	TH_LOG("%u of %u %s that freed room for a sleeping writer counted a wakeup", woke, decided,
	       what);
}

/* A read(2) of one record; the file is non-blocking (-1 on a drained ring). */
static ssize_t rw_take_by_read(void *ctx)
{
	char buf[64];

	return read(*(int *)ctx, buf, sizeof(buf));
}

/*
 * 120 s, not the harness's 30: each round may wait up to 10 s for the
 * writer's record and 10 s for it to sleep again, the drain 10 s more.
 * In the fresh-clone CI of 2026-12-05 (debug kernel) this test was killed
 * at 30 s, its loadgen ring left for the rest of the program to trip on;
 * alone its rounds take 0.3 s there. Whether that was a host that slow or
 * a writer never woken is not known: the drain no longer blocks, and the
 * log line says which next time.
 */
TEST_F_TIMEOUT(wr, read_that_frees_room_wakes_a_blocked_writer, 120)
{
	int rfd = open(RING, O_RDWR | O_NONBLOCK | O_CLOEXEC);

	ASSERT_GE(rfd, 0);
	ASSERT_GE(self->l.abi_minor, MPMCRING_ABI_MINOR_ROOM_WAKEUPS);
	rw_rounds(_metadata, self->fd, rw_take_by_read, &rfd, "read(2)s");
	close(rfd);
}

/* The library's read and commit: the commit asks for room. */
static ssize_t rw_take_mapped(void *ctx)
{
	struct mpmcring_consumer *c = ctx;
	struct mpmcring_record rec;

	if (mpmcring_read(c, &rec))
		return -1;
	return mpmcring_commit(c) ? -1 : (ssize_t)rec.len;
}

/*
 * The same with a mapped consumer, whose commit is a plain store the
 * kernel does not see: the library's commit asks for the room
 * (MPMCRING_IOC_ROOM) when the meta page's room_at says a writer waits
 * for what the claim held. Without the ask, none of the commits counts a
 * wakeup, but for a tick landing in the same window.
 */
TEST_F_TIMEOUT(wr, mapped_commit_that_frees_room_wakes_a_blocked_writer, 120)
{
	struct mpmcring *r = mpmcring_open(RING, 0);
	struct mpmcring_consumer *c = r ? mpmcring_consumer_new(r) : NULL;

	ASSERT_NE(NULL, c);
	ASSERT_GE(self->l.abi_minor, MPMCRING_ABI_MINOR_ROOM_AT);
	rw_rounds(_metadata, self->fd, rw_take_mapped, c, "mapped commits");
	mpmcring_consumer_free(c);
	mpmcring_close(r);
}

/*
 * A claim that moves the head over discarded records only hands nothing
 * over, and no commit follows that would ask for the room they held: the
 * claim asks itself (read(2): the kernel's kick; a mapped consumer:
 * MPMCRING_IOC_ROOM where room_at says a writer waits there). So a writer
 * asleep on a ring full of discarded records (the load generator's
 * discard_every=1) is woken by the consumer's look, not by the tick 100 ms
 * later: its room wakeup is counted by the time the look returns. Rounds
 * whose look took over 20 ms (a vCPU the host stalled) decide nothing; of
 * the first five others, at least four must count it (the ask is not best
 * effort here: the writer's bit is set, nothing else holds the room; one
 * round is left to a reclaim of the tick's running under the look).
 * Without the claim's ask none does, but for a tick landing in the look.
 */
#define SKIP_LOADGEN                                                              \
	"ring=wr create=1 size=65536 threads=1 count=2000 len_min=48 len_max=48 " \
	"prio_mix=0:100:0 discard_every=1 watermarks=60,12,0"

/*
 * The writer of the rounds below: one record of len bytes on fd, asleep
 * for room once this returns. On the heap: a failed ASSERT leaves the
 * thread its record.
 */
static void room_writer_start(struct __test_metadata *_metadata, int fd, size_t len,
			      struct vm_writer **wp, pthread_t *th)
{
	struct vm_writer *w = calloc(1, sizeof(*w));

	ASSERT_NE(NULL, w);
	*w = (struct vm_writer){ .fd = fd, .n = 1, .len = len };
	*wp = w;
	ASSERT_EQ(0, pthread_create(th, NULL, vm_writer_thread, w));
	ASSERT_TRUE(vm_wait_asleep(&w->tid)) TH_LOG("the writer found room");
}

/* Woken at once or by the tick, the writer's record arrives (after what). */
static void room_writer_end(struct __test_metadata *_metadata, struct vm_writer *w, pthread_t th,
			    const char *after)
{
	uint64_t deadline = vm_now_ns() + 10000000000ULL;

	while (!__atomic_load_n(&w->done, __ATOMIC_ACQUIRE) && vm_now_ns() < deadline)
		vm_sleep_ms(1);
	ASSERT_EQ(1, __atomic_load_n(&w->written, __ATOMIC_ACQUIRE))
	TH_LOG("the writer still sleeps 10 s after %s", after);
	pthread_join(th, NULL);
	free(w);
}

/* The rounds' verdict: 5 decided of rounds, 4 of them counting the wakeup. */
static void room_verdict(struct __test_metadata *_metadata, unsigned int rounds,
			 unsigned int decided, unsigned int woke, const char *what)
{
	EXPECT_EQ(5, decided) TH_LOG("only %u %s of %u took under 20 ms", decided, what, rounds);
	EXPECT_LE(4, woke)
	TH_LOG("%u of %u %s counted the writer's room wakeup by the time they returned", woke,
	       decided, what);
}

/* One round's ring, made anew: the load generator has filled it. */
struct skip_ring {
	int wfd; /* the writer's, blocking */
	int rfd; /* read(2)'s, non-blocking */
	struct mpmcring *r;
	struct mpmcring_consumer *c;
};

static void skip_close(struct skip_ring *s)
{
	mpmcring_consumer_free(s->c);
	mpmcring_close(s->r);
	if (s->rfd >= 0)
		close(s->rfd);
	if (s->wfd >= 0)
		close(s->wfd);
	*s = (struct skip_ring){ .wfd = -1, .rfd = -1 };
}

/* Makes the round's ring anew (the load generator's params) and opens it. */
static void skip_open(struct __test_metadata *_metadata, struct skip_ring *s, const char *params)
{
	skip_close(s);
	vm_rmmod("mpmcring_loadgen");
	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen", params));
	ASSERT_TRUE(lg_wait_finished(30));
	s->wfd = open(RING, O_RDWR | O_CLOEXEC);
	s->rfd = open(RING, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	s->r = mpmcring_open(RING, 0);
	s->c = s->r ? mpmcring_consumer_new(s->r) : NULL;
	ASSERT_GE(s->wfd, 0);
	ASSERT_GE(s->rfd, 0);
	ASSERT_NE(NULL, s->c) TH_LOG("%s", mpmcring_errmsg());
}

/* What the consumer's look takes: a record's length, or -errno. */
typedef ssize_t (*skip_take_fn)(struct skip_ring *s);

static ssize_t skip_take_read(struct skip_ring *s)
{
	char buf[64];
	ssize_t n = read(s->rfd, buf, sizeof(buf));

	return n < 0 ? -errno : n;
}

static ssize_t skip_take_mapped(struct skip_ring *s)
{
	struct mpmcring_record rec;
	int n = mpmcring_read(s->c, &rec);

	if (n)
		return n;
	return mpmcring_commit(s->c) ? -errno : (ssize_t)rec.len;
}

static void skip_rounds(struct __test_metadata *_metadata, struct skip_ring *s, skip_take_fn take,
			const char *what)
{
	unsigned int i, decided = 0, woke = 0;
	uint64_t c0, c1, t0, t1;
	struct vm_writer *w;
	pthread_t th;
	ssize_t got;

	for (i = 0; i < 20 && decided < 5; i++) {
		skip_open(_metadata, s, SKIP_LOADGEN);
		room_writer_start(_metadata, s->wfd, 56, &w, &th);
		c0 = vm_ring_wakeups(s->wfd, VM_ROOM_WAKEUPS);
		t0 = vm_now_ns();
		got = take(s);
		t1 = vm_now_ns();
		c1 = vm_ring_wakeups(s->wfd, VM_ROOM_WAKEUPS);
		ASSERT_NE(UINT64_MAX, c0);
		ASSERT_NE(UINT64_MAX, c1);
		ASSERT_TRUE(got == -EAGAIN || got == -EBUSY)
		TH_LOG("the look past the discarded records: %zd", got);
		room_writer_end(_metadata, w, th, "the discarded records were passed");
		ASSERT_EQ(56, take(s));
		if (t1 - t0 > 20000000ULL)
			continue;
		woke += c1 > c0;
		decided++;
	}
	room_verdict(_metadata, i, decided, woke, what);
}

static void skip_test(struct __test_metadata *_metadata, int *fixture_fd, skip_take_fn take,
		      const char *what)
{
	struct skip_ring s = { .wfd = -1, .rfd = -1 };

	/* Each round makes the ring anew: the fixture's goes first. */
	close(*fixture_fd);
	*fixture_fd = -1;
	skip_rounds(_metadata, &s, take, what);
	skip_close(&s);
}

TEST_F_TIMEOUT(wr, read_past_discarded_records_wakes_a_blocked_writer, 120)
{
	ASSERT_GE(self->l.abi_minor, MPMCRING_ABI_MINOR_ROOM_WAKEUPS);
	skip_test(_metadata, &self->fd, skip_take_read, "read(2)s");
}

TEST_F_TIMEOUT(wr, mapped_read_past_discarded_records_wakes_a_blocked_writer, 120)
{
	ASSERT_GE(self->l.abi_minor, MPMCRING_ABI_MINOR_ROOM_AT);
	skip_test(_metadata, &self->fd, skip_take_mapped, "mapped reads");
}

/*
 * read(2) asks for the room an attempt released before anything can
 * return. A claim that moved the head over discarded records and then
 * found the next record longer than the part of the buffer it had
 * faulted in (another consumer took the record the fault-in was sized
 * for) goes round again, and that round may fail: the buffer faults past
 * what the first round needed (-EFAULT). The skip was once kept for a
 * kick at the end that such a return never reached, and a writer waiting
 * for the discarded records' room slept until the tick.
 *
 * Forced here. The load generator writes D C C D C C ... (every third
 * reservation discarded, each length a function of its sequence); a
 * mapped consumer takes records (at most KICK_POSITION_BYTES of them)
 * until a committed X stands at the head with a discarded D and then a
 * longer committed Y after it; a writer sleeps for more room than the
 * fill left and all of those free (its own look reclaims what the
 * consumer took). read(2)'s buffer starts len(X) bytes before the end of
 * a page that userfaultfd holds back, and a PROT_NONE page follows: the
 * fault-in for X waits in the fault, and meanwhile the consumer takes and
 * commits X (room_at, the writer's target, lies past it: the commit does
 * not ask). Then the fault is answered: the claim passes D and stops at
 * Y (-EMSGSIZE, longer than what was faulted in), and the next round's
 * fault-in for Y reaches the PROT_NONE page: -EFAULT, Y not taken (the
 * head at Y, read_faults unchanged). The first round's kick has
 * reclaimed past D by the time read(2) returns.
 *
 * Rounds as above: of the first five whose read(2) returned within 20 ms
 * of the answer, at least four. One is left to a tick: it clears the
 * writer's bit when the writer's class has room for the smallest record
 * (it has), and a kick that finds no bit set reclaims nothing until the
 * writer looks again. Without the kick, reclaim passes D in a round only
 * when the tick or the writer's own 100 ms timeout lands in the
 * microseconds between the skip and the return.
 */
#define KICK_LEN_MIN 24
#define KICK_LEN_MAX 200
/* The round's load generator, with KICK_LEN_MIN and KICK_LEN_MAX. */
#define KICK_LOADGEN                                                   \
	"ring=wr create=1 size=65536 threads=1 count=2000 len_min=%d " \
	"len_max=%d prio_mix=0:100:0 discard_every=3 watermarks=60,12,0"
/* What the positioning may take: with X, D and the fill's rest, < the writer's. */
#define KICK_POSITION_BYTES 8192
#define KICK_WRITER_LEN VM_WRITER_MAX

/* The load generator's payload length of its record seq. */
static uint32_t kick_len(uint16_t producer, uint64_t seq)
{
	return mpr_testrec_len(producer, seq, KICK_LEN_MIN, KICK_LEN_MAX);
}

/* One committed record's sequence and producer, its length checked. */
static void kick_rec(struct __test_metadata *_metadata, const struct mpmcring_record *rec,
		     struct mpr_testrec *t)
{
	ASSERT_LE(sizeof(*t), rec->len);
	memcpy(t, rec->data, sizeof(*t));
	ASSERT_NE(0, t->seq % 3)
	TH_LOG("record %llu was to be discarded", (unsigned long long)t->seq);
	ASSERT_EQ(kick_len(t->producer, t->seq), rec->len)
	TH_LOG("record %llu: not the load generator's length", (unsigned long long)t->seq);
}

/* The ring's size of a record of len payload bytes. */
static uint64_t kick_size(uint32_t len, uint64_t gmask)
{
	return (MPMCRING_HDR_SIZE + len + gmask) & ~gmask;
}

/*
 * Takes records with c until a committed X (sequence 3j + 2) stands at
 * the head and the committed record after the discarded 3j + 3 is longer:
 * X's sequence and producer.
 */
static void kick_position(struct __test_metadata *_metadata, struct mpmcring_consumer *c,
			  uint64_t *xseq, uint16_t *producer)
{
	struct mpmcring_record rec;
	struct mpr_testrec t;
	uint64_t want = 1, taken = 0;

	while (taken < KICK_POSITION_BYTES) {
		ASSERT_EQ(0, mpmcring_read(c, &rec)) TH_LOG("%s", mpmcring_errmsg());
		kick_rec(_metadata, &rec, &t);
		ASSERT_EQ(want, t.seq) TH_LOG("the ring does not start D C C D C C");
		ASSERT_EQ(0, mpmcring_commit(c));
		taken += 2 * (MPMCRING_HDR_SIZE + KICK_LEN_MAX); /* with the D before it */
		want += t.seq % 3 == 1 ? 1 : 2;
		if (t.seq % 3 == 1 &&
		    kick_len(t.producer, t.seq + 3) > kick_len(t.producer, t.seq + 1)) {
			*xseq = t.seq + 1;
			*producer = t.producer;
			return;
		}
	}
	ASSERT_TRUE(0)
	TH_LOG("no X with a longer Y in the first %d bytes", KICK_POSITION_BYTES);
}

/* read(2) in a thread of its own; on the heap, as struct vm_writer. */
struct kick_reader {
	int fd;
	char *buf;
	size_t count;
	ssize_t ret;
	int err;
	uint64_t end_ns;
	int done;
};

static void *kick_reader_thread(void *arg)
{
	struct kick_reader *k = arg;

	k->ret = read(k->fd, k->buf, k->count);
	k->err = errno;
	k->end_ns = vm_now_ns();
	__atomic_store_n(&k->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A fresh page held back by uffd, a PROT_NONE one after it. */
static char *kick_area(struct __test_metadata *_metadata, int uffd, long page)
{
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	char *area =
		mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, area);
	ASSERT_EQ(0, mprotect(area + page, page, PROT_NONE));
	reg.range.start = (uintptr_t)area;
	reg.range.len = page;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg)) TH_LOG("%s", strerror(errno));
	return area;
}

/* One round: whether it decided, and whether reclaim had passed D. */
static void kick_round(struct __test_metadata *_metadata, struct skip_ring *s, int uffd, long page,
		       bool *decided, bool *moved)
{
	struct uffdio_zeropage zp = { 0 };
	struct mpmcring_stats st0, st1;
	struct mpmcring_layout l;
	struct mpmcring_record rec;
	struct kick_reader *k;
	struct mpr_testrec t;
	struct pollfd pfd;
	struct uffd_msg msg;
	struct vm_writer *w;
	uint64_t xseq, x_end, y_pos, gmask, t0, deadline;
	uint16_t producer;
	pthread_t th, rt;
	char params[160];
	char *area;

	snprintf(params, sizeof(params), KICK_LOADGEN, KICK_LEN_MIN, KICK_LEN_MAX);
	skip_open(_metadata, s, params);
	ASSERT_EQ(0, ioctl(s->rfd, MPMCRING_IOC_INFO, &l));
	gmask = (1ULL << l.granule_shift) - 1;

	kick_position(_metadata, s->c, &xseq, &producer);
	room_writer_start(_metadata, s->wfd, KICK_WRITER_LEN, &w, &th);
	area = kick_area(_metadata, uffd, page);
	k = calloc(1, sizeof(*k));
	ASSERT_NE(NULL, k);
	*k = (struct kick_reader){ .fd = s->rfd,
				   .buf = area + page - kick_len(producer, xseq),
				   .count = KICK_LEN_MAX };
	ASSERT_EQ(0, pthread_create(&rt, NULL, kick_reader_thread, k));

	/* read(2) faults in X's length: it waits in the fault. */
	pfd = (struct pollfd){ .fd = uffd, .events = POLLIN };
	ASSERT_EQ(1, poll(&pfd, 1, 10000)) TH_LOG("read(2) never faulted on its buffer");
	ASSERT_EQ(sizeof(msg), read(uffd, &msg, sizeof(msg)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	ASSERT_EQ((uintptr_t)area, msg.arg.pagefault.address & ~(uint64_t)(page - 1));
	ASSERT_TRUE(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE);

	/* Meanwhile X goes to the mapped consumer: D is at the head. */
	ASSERT_EQ(0, mpmcring_read(s->c, &rec)) TH_LOG("%s", mpmcring_errmsg());
	kick_rec(_metadata, &rec, &t);
	ASSERT_EQ(xseq, t.seq);
	x_end = rec.pos + kick_size(rec.len, gmask);
	y_pos = x_end + kick_size(kick_len(producer, xseq + 1), gmask);
	ASSERT_EQ(0, mpmcring_commit(s->c)) TH_LOG("%s", mpmcring_errmsg());
	ASSERT_EQ(0, ring_stats(s->rfd, &st0));
	ASSERT_GE(x_end, st0.reclaim_pos) TH_LOG("reclaim passed D before read(2) did");
	ASSERT_EQ(x_end, st0.head);

	zp.range.start = (uintptr_t)area;
	zp.range.len = page;
	t0 = vm_now_ns();
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_ZEROPAGE, &zp)) TH_LOG("%s", strerror(errno));
	deadline = t0 + 10000000000ULL;
	while (!__atomic_load_n(&k->done, __ATOMIC_ACQUIRE) && vm_now_ns() < deadline)
		vm_sleep_ms(1);
	ASSERT_TRUE(__atomic_load_n(&k->done, __ATOMIC_ACQUIRE))
	TH_LOG("read(2) had not returned 10 s after its fault was answered");
	ASSERT_EQ(0, pthread_join(rt, NULL));
	ASSERT_EQ(0, ring_stats(s->rfd, &st1));
	ASSERT_EQ(-1, k->ret)
	TH_LOG("read(2) returned %zd: the second round's fault-in was to fail", k->ret);
	ASSERT_EQ(EFAULT, k->err) TH_LOG("read(2): %s, not EFAULT", strerror(k->err));
	/* The path above, not another EFAULT: D passed, Y neither taken nor lost. */
	ASSERT_EQ(y_pos, st1.head) TH_LOG("read(2) was to pass D and stop at Y");
	ASSERT_EQ(st0.read_faults, st1.read_faults);
	ASSERT_EQ(0, mpmcring_read(s->c, &rec)) TH_LOG("%s", mpmcring_errmsg());
	kick_rec(_metadata, &rec, &t);
	ASSERT_EQ(xseq + 2, t.seq) TH_LOG("Y is not the next record");
	ASSERT_EQ(0, mpmcring_commit(s->c));

	/* All of it taken: the writer's record fits. */
	drain(s->c);
	room_writer_end(_metadata, w, th, "the ring was drained");
	ASSERT_EQ(0, munmap(area, 2 * page));
	*decided = k->end_ns - t0 <= 20000000ULL;
	*moved = st1.reclaim_pos > x_end;
	if (*decided && !*moved)
		TH_LOG("read(2) returned after %llu us, reclaim_pos (%llu) not past D (%llu)",
		       (unsigned long long)(k->end_ns - t0) / 1000,
		       (unsigned long long)st1.reclaim_pos, (unsigned long long)x_end);
	free(k);
}

TEST_F_TIMEOUT(wr, read_that_fails_after_passing_discarded_records_asks_for_room, 120)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct skip_ring s = { .wfd = -1, .rfd = -1 };
	unsigned int i, decided = 0, moved = 0;
	long page = sysconf(_SC_PAGESIZE);
	bool d, m;
	int uffd;

	ASSERT_GE(self->l.abi_minor, MPMCRING_ABI_MINOR_ROOM_WAKEUPS);
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	ASSERT_GE(uffd, 0) TH_LOG("userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	/* Each round makes the ring anew: the fixture's goes first. */
	close(self->fd);
	self->fd = -1;
	for (i = 0; i < 20 && decided < 5; i++) {
		kick_round(_metadata, &s, uffd, page, &d, &m);
		decided += d;
		moved += d && m;
	}
	skip_close(&s);
	close(uffd);
	EXPECT_EQ(5, decided) TH_LOG("only %u read(2)s of %u returned within 20 ms", decided, i);
	EXPECT_LE(4, moved)
	TH_LOG("in %u of %u read(2)s reclaim had passed the discarded record when it returned",
	       moved, decided);
}

/*
 * A consumer that lets go of a claim without committing it frees the room
 * the claim held, and the kernel hears of it, as it hears of a commit
 * that asks: MPMCRING_IOC_DETACH (mpmcring_consumer_free() of a consumer
 * whose stopped consume left records undelivered: abandoned) and the
 * release of the consumer's file (its ring closed with the claim held)
 * each kick. A writer asleep for room on a full ring whose records are all
 * in that claim is woken by the let-go, not by the tick or its own look
 * every 100 ms: its room wakeup is counted by the time the let-go returns,
 * and the claim was let go by the kernel (abandoned_claims), not committed
 * (a commit would ask for room itself). Rounds as for the discarded
 * records above: 4 of the first 5 that took under 20 ms (one left to the
 * tick or the writer's look landing in a let-go).
 */
enum letgo_way { LETGO_DETACH, LETGO_CLOSE };

/* Stops consume at its first record: the rest of the claim stays held. */
static int letgo_stop(void *ctx, const struct mpmcring_record *rec)
{
	(void)ctx;
	(void)rec;
	return -1;
}

static void letgo_rounds(struct __test_metadata *_metadata, int fd, enum letgo_way way,
			 const char *what)
{
	struct mpmcring *dr = mpmcring_open(RING, 0);
	struct mpmcring_consumer *drainer = dr ? mpmcring_consumer_new(dr) : NULL;
	unsigned int i, decided = 0, woke = 0;
	uint64_t c0, c1, t0, t1;
	struct mpmcring_stats st0, st1;
	struct mpmcring_consumer *c;
	struct vm_writer *w;
	struct mpmcring *r;
	pthread_t th;

	ASSERT_NE(NULL, drainer);
	for (i = 0; i < 20 && decided < 5; i++) {
		r = mpmcring_open(RING, 0);
		c = r ? mpmcring_consumer_new(r) : NULL;
		ASSERT_NE(NULL, c) TH_LOG("%s", mpmcring_errmsg());
		ASSERT_GT(fill(fd), 0);
		ASSERT_EQ(-1, mpmcring_consume(c, 1 << 16, letgo_stop, NULL));
		/* The claim holds every record: the head is at prod_pos. */
		ASSERT_EQ(0, mpmcring_avail_bytes(r));
		room_writer_start(_metadata, fd, 56, &w, &th);
		ASSERT_EQ(0, ring_stats(fd, &st0));
		c0 = vm_ring_wakeups(fd, VM_ROOM_WAKEUPS);
		t0 = vm_now_ns();
		if (way == LETGO_DETACH) {
			mpmcring_consumer_free(c);
			t1 = vm_now_ns();
			c1 = vm_ring_wakeups(fd, VM_ROOM_WAKEUPS);
			mpmcring_close(r);
		} else {
			/*
			 * c is leaked on purpose: freeing it after the close
			 * would touch the unmapped slot and the freed handle.
			 */
			mpmcring_close(r);
			t1 = vm_now_ns();
			c1 = vm_ring_wakeups(fd, VM_ROOM_WAKEUPS);
		}
		ASSERT_EQ(0, ring_stats(fd, &st1));
		ASSERT_NE(UINT64_MAX, c0);
		ASSERT_NE(UINT64_MAX, c1);
		ASSERT_EQ(st0.abandoned_claims + 1, st1.abandoned_claims)
		TH_LOG("the claim was not let go by the kernel");
		room_writer_end(_metadata, w, th, "the claim was let go");
		/* What the claim held went with it: the writer's record is left. */
		ASSERT_EQ(1, drain(drainer));
		if (t1 - t0 > 20000000ULL)
			continue;
		woke += c1 > c0;
		decided++;
	}
	mpmcring_consumer_free(drainer);
	mpmcring_close(dr);
	room_verdict(_metadata, i, decided, woke, what);
}

TEST_F_TIMEOUT(wr, detach_of_a_held_claim_wakes_a_blocked_writer, 120)
{
	ASSERT_GE(self->l.abi_minor, MPMCRING_ABI_MINOR_ROOM_WAKEUPS);
	letgo_rounds(_metadata, self->fd, LETGO_DETACH, "detaches");
}

TEST_F_TIMEOUT(wr, close_of_a_held_claim_wakes_a_blocked_writer, 120)
{
	ASSERT_GE(self->l.abi_minor, MPMCRING_ABI_MINOR_ROOM_WAKEUPS);
	letgo_rounds(_metadata, self->fd, LETGO_CLOSE, "closes");
}

/*
 * What a consumer that is not the library must know, from the uapi: while
 * a writer sleeps for room, the meta page's room_at is a reclaim_pos not
 * reached yet, at or before the one at which its record fits (free bytes
 * = data_size - (prod_pos - reclaim_pos) of at least the class's
 * watermark and the record): the earliest such target, which may be an
 * earlier writer's (here the fill's refused write). Once reclaim passed
 * that, the next writer to wait puts its own there, exactly. The
 * ioctl that asks for room takes a read-write file.
 */
TEST_F(wr, room_at_says_where_a_blocked_writer_fits)
{
	struct vm_writer w = { .fd = self->fd, .n = 2, .len = 56 };
	struct mpmcring *r = mpmcring_open(RING, 0);
	struct mpmcring_consumer *c = r ? mpmcring_consumer_new(r) : NULL;
	int rofd = open(RING, O_RDONLY | O_CLOEXEC);
	const struct mpmcring_meta *m;
	uint32_t prio = MPMCRING_PRIO_NORMAL;
	struct mpmcring_record rec;
	uint64_t want, at, deadline;
	char buf[56] = { 0 };
	int n = 0, fl;
	pthread_t th;
	void *ro;

	ASSERT_NE(NULL, c);
	ASSERT_GE(rofd, 0);
	ASSERT_GE(self->l.abi_minor, MPMCRING_ABI_MINOR_ROOM_AT);
	ASSERT_EQ(0, ioctl(self->fd, MPMCRING_IOC_SET_PRIO, &prio));
	ro = mmap(NULL, self->l.ro_size, PROT_READ, MAP_SHARED, rofd, MPMCRING_OFF_RO);
	ASSERT_NE(MAP_FAILED, ro);
	m = ro;
	EXPECT_EQ(0, __atomic_load_n(&m->room_at, __ATOMIC_SEQ_CST));
	EXPECT_EQ(-1, ioctl(rofd, MPMCRING_IOC_ROOM));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(0, ioctl(self->fd, MPMCRING_IOC_ROOM)); /* nobody waits: nothing */
	/* Full for 56-byte records. */
	fl = fcntl(self->fd, F_GETFL);
	fcntl(self->fd, F_SETFL, fl | O_NONBLOCK);
	while (write(self->fd, buf, sizeof(buf)) == sizeof(buf))
		n++;
	fcntl(self->fd, F_SETFL, fl);
	ASSERT_GT(n, 0);
	ASSERT_EQ(0, pthread_create(&th, NULL, vm_writer_thread, &w));
	ASSERT_TRUE(vm_wait_asleep(&w.tid));
	/* 56 bytes and the 8-byte header, over the normal class's watermark. */
	want = __atomic_load_n(&m->prod_pos, __ATOMIC_ACQUIRE) + self->l.watermark[prio] + 64 -
	       self->l.data_size;
	at = __atomic_load_n(&m->room_at, __ATOMIC_SEQ_CST);
	EXPECT_LT(__atomic_load_n(&m->reclaim_pos, __ATOMIC_ACQUIRE), at);
	EXPECT_LE(at, want);
	/* The oldest record freed: the writer's first gets in, its second waits. */
	ASSERT_EQ(0, mpmcring_read(c, &rec));
	ASSERT_EQ(0, mpmcring_commit(c));
	deadline = vm_now_ns() + 10000000000ULL;
	while (__atomic_load_n(&w.written, __ATOMIC_ACQUIRE) < 1 && vm_now_ns() < deadline)
		vm_sleep_ms(1);
	ASSERT_EQ(1, __atomic_load_n(&w.written, __ATOMIC_ACQUIRE));
	ASSERT_TRUE(vm_wait_asleep(&w.tid));
	want = __atomic_load_n(&m->prod_pos, __ATOMIC_ACQUIRE) + self->l.watermark[prio] + 64 -
	       self->l.data_size;
	EXPECT_EQ(want, __atomic_load_n(&m->room_at, __ATOMIC_SEQ_CST));
	EXPECT_LT(__atomic_load_n(&m->reclaim_pos, __ATOMIC_ACQUIRE), want);
	ASSERT_EQ(0, mpmcring_read(c, &rec));
	ASSERT_EQ(0, mpmcring_commit(c));
	pthread_join(th, NULL);
	EXPECT_EQ(2, w.written);
	/* Passed: no consumer's claim begins before it, so nobody asks. */
	EXPECT_LE(want, __atomic_load_n(&m->reclaim_pos, __ATOMIC_ACQUIRE));
	munmap(ro, self->l.ro_size);
	close(rofd);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
}

TEST_F(wr, blocked_writer_gets_epipe_when_the_ring_goes)
{
	struct writer w = { .fd = self->fd };
	pthread_t th;

	ASSERT_GT(fill(self->fd), 0);
	ASSERT_EQ(0, pthread_create(&th, NULL, blocking_write, &w));
	ASSERT_TRUE(vm_wait_asleep(&w.tid));
	/* The load generator created the ring: unloading it destroys it. */
	ASSERT_EQ(0, vm_rmmod("mpmcring_loadgen"));
	pthread_join(th, NULL);
	EXPECT_EQ(-1, w.ret);
	EXPECT_EQ(EPIPE, w.err);
}

static void on_signal(int sig)
{
	(void)sig;
}

TEST_F(wr, blocked_writer_gets_eintr_on_a_signal)
{
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART */
	struct writer w = { .fd = self->fd };
	pthread_t th;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_GT(fill(self->fd), 0);
	ASSERT_EQ(0, pthread_create(&th, NULL, blocking_write, &w));
	ASSERT_TRUE(vm_wait_asleep(&w.tid));
	ASSERT_EQ(0, pthread_kill(th, SIGUSR1));
	pthread_join(th, NULL);
	EXPECT_EQ(-1, w.ret);
	EXPECT_EQ(EINTR, w.err);
}

/*
 * The wakeups count says what was sent to sleeping consumers, and a writer
 * asleep for room is none. Writers slept on the readers' queue once: the
 * tick's look for stuck readers (records at a head that stood still, and
 * a sleeper queued) and a commit that found the queue taken then sent,
 * and counted, consumer wakeups with no consumer asleep, every head.
 */
TEST_F(wr, a_blocked_writer_is_no_sleeping_consumer)
{
	struct writer w = { .fd = self->fd };
	uint32_t low = MPMCRING_PRIO_LOW, normal = MPMCRING_PRIO_NORMAL;
	char rec[8] = { 2 };
	uint64_t count0;
	pthread_t th;
	int nfd;

	ASSERT_EQ(0, ioctl(self->fd, MPMCRING_IOC_SET_PRIO, &low));
	ASSERT_GT(fill(self->fd), 0);
	count0 = vm_ring_wakeups(self->fd, VM_WAKEUPS);
	ASSERT_NE(UINT64_MAX, count0);
	ASSERT_EQ(0, pthread_create(&th, NULL, blocking_write, &w));
	ASSERT_TRUE(vm_wait_asleep(&w.tid));
	/* Records at a head that stands still, for five ticks (100 ms). */
	vm_sleep_ms(500);
	EXPECT_EQ(count0, vm_ring_wakeups(self->fd, VM_WAKEUPS));
	/* A commit while only the writer sleeps: a normal record fits. */
	nfd = open(RING, O_WRONLY | O_CLOEXEC);
	ASSERT_GE(nfd, 0);
	ASSERT_EQ(0, ioctl(nfd, MPMCRING_IOC_SET_PRIO, &normal));
	ASSERT_EQ((ssize_t)sizeof(rec), write(nfd, rec, sizeof(rec)));
	vm_sleep_ms(500);
	EXPECT_EQ(count0, vm_ring_wakeups(self->fd, VM_WAKEUPS));
	/* Still waiting for room; the ring's end ends it. */
	EXPECT_EQ(0, __atomic_load_n(&w.ret, __ATOMIC_ACQUIRE));
	ASSERT_EQ(0, vm_rmmod("mpmcring_loadgen"));
	pthread_join(th, NULL);
	EXPECT_EQ(-1, w.ret);
	EXPECT_EQ(EPIPE, w.err);
	close(nfd);
}

/*
 * A writer told EAGAIN that then waits for POLLOUT (as Go's WriteContext
 * does, on a write-only file) makes no second refusal, and a reader
 * whose watermark lies past what the writer's class may fill would
 * sleep beside it for good, each waiting for the other: a writer that
 * waits for room makes every watermark count as reached. The refusal
 * used to mark the ring only while a reader slept (or while a file sat
 * on the readers' queue, as this write-only one no longer does). Then a
 * consumer's claim moves the head without freeing room: the mark, at the
 * old head, says nothing there, and the tick marks it again while the
 * writer waits.
 */
TEST_F(wr, a_waiting_writer_lets_readers_past_their_watermark)
{
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN };
	uint32_t low = MPMCRING_PRIO_LOW;
	uint64_t wm = self->l.data_size / 2;
	struct mpmcring_consumer *c;
	struct mpmcring_record rec;
	struct mpmcring *r;
	int wfd;

	wfd = open(RING, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_GE(wfd, 0);
	ASSERT_EQ(0, ioctl(wfd, MPMCRING_IOC_SET_PRIO, &low));
	ASSERT_GT(fill(wfd), 0);
	/* The low class stops under the watermark: 40% of the ring at most. */
	ASSERT_LT(self->l.data_size - self->l.watermark[MPMCRING_PRIO_LOW], wm);
	ASSERT_EQ(0, ioctl(self->fd, MPMCRING_IOC_SET_WATERMARK, &wm));
	EXPECT_EQ(1, poll(&pfd, 1, 3000)) TH_LOG("the reader sleeps beside the writer");
	EXPECT_EQ(POLLIN, pfd.revents);

	r = mpmcring_open(RING, 0);
	ASSERT_NE(NULL, r);
	c = mpmcring_consumer_new(r);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, mpmcring_read(c, &rec)); /* held: the head moves, no room */
	pfd.revents = 0;
	EXPECT_EQ(1, poll(&pfd, 1, 3000)) TH_LOG("the mark stayed at the old head");
	EXPECT_EQ(POLLIN, pfd.revents);
	EXPECT_EQ(0, mpmcring_commit(c));
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	close(wfd);
}

/*
 * A write-only file cannot read: it never reports POLLIN (it waits on the
 * writers' queue, which no commit wakes).
 */
TEST_F(wr, a_write_only_file_waits_for_no_records)
{
	struct pollfd wo = { .events = POLLIN | POLLOUT };
	struct pollfd rw = { .fd = self->fd, .events = POLLIN | POLLOUT };
	char rec[8] = { 3 };

	wo.fd = open(RING, O_WRONLY | O_CLOEXEC);
	ASSERT_GE(wo.fd, 0);
	ASSERT_EQ((ssize_t)sizeof(rec), write(wo.fd, rec, sizeof(rec)));
	EXPECT_EQ(1, poll(&wo, 1, 0));
	EXPECT_EQ(POLLOUT, wo.revents);
	/* The same ring, read-write: the record is there. */
	EXPECT_EQ(1, poll(&rw, 1, 0));
	EXPECT_EQ(POLLIN | POLLOUT, rw.revents);
	close(wo.fd);
}

/* On an empty ring, nothing may wait for space that can never come. */
TEST_F(wr, records_that_can_never_fit_fail_at_once)
{
	struct mpmcring_stats st;
	uint32_t low = MPMCRING_PRIO_LOW;
	struct iovec iov[MPMCRING_WRITEV_MAX + 1];
	static char big[MPMCRING_WRITE_MAX + 1];
	size_t fits = self->l.data_size - self->l.watermark[MPMCRING_PRIO_LOW];
	int i;

	/* Within max_record, but more than a low record may ever use. */
	ASSERT_LT(fits, self->l.max_record);
	ASSERT_EQ(0, ioctl(self->fd, MPMCRING_IOC_SET_PRIO, &low));
	EXPECT_EQ(-1, write(self->fd, big, fits));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_EQ(fits - 16, write(self->fd, big, fits - 16));
	/* Bigger than the ring's largest record. */
	EXPECT_EQ(-1, write(self->fd, big, self->l.max_record + 1));
	EXPECT_EQ(EMSGSIZE, errno);
	/* Too many records for one call (normal class: room for them). */
	low = MPMCRING_PRIO_NORMAL;
	ASSERT_EQ(0, ioctl(self->fd, MPMCRING_IOC_SET_PRIO, &low));
	for (i = 0; i < MPMCRING_WRITEV_MAX + 1; i++)
		iov[i] = (struct iovec){ big, 8 };
	EXPECT_EQ(-1, writev(self->fd, iov, MPMCRING_WRITEV_MAX + 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(8 * MPMCRING_WRITEV_MAX, writev(self->fd, iov, MPMCRING_WRITEV_MAX));
	ASSERT_EQ(0, ring_stats(self->fd, &st));
	/* Refused calls are the writer's errors, not the ring's losses. */
	EXPECT_EQ(0, stats_dropped(&st));
	EXPECT_EQ(1 + MPMCRING_WRITEV_MAX, st.produced_records);
}

/*
 * A refused write is an errno to the writer, who still holds the data: it
 * must not reach consumers as a lost record (lost_dropped), or a writer
 * retrying after EAGAIN would report every retry as a loss.
 */
TEST_F(wr, refused_writes_are_not_losses)
{
	const struct mpmcring_meta *meta;
	struct mpmcring_stats st;
	struct iovec iov[2];
	char rec[8] = { 0 };
	int i, fl = fcntl(self->fd, F_GETFL);

	ASSERT_GT(fill(self->fd), 0);
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, fl | O_NONBLOCK));
	for (i = 0; i < 5; i++) {
		EXPECT_EQ(-1, write(self->fd, rec, sizeof(rec)));
		EXPECT_EQ(EAGAIN, errno);
	}
	EXPECT_EQ(-1, write(self->fd, rec, self->l.max_record + 1));
	EXPECT_EQ(EMSGSIZE, errno);
	ASSERT_EQ(0, ring_stats(self->fd, &st));
	EXPECT_EQ(0, stats_dropped(&st));
	/* What consumers take as lost (the meta page, read-only). */
	meta = mmap(NULL, self->l.ro_size, PROT_READ, MAP_SHARED, self->fd, (off_t)MPMCRING_OFF_RO);
	ASSERT_NE(MAP_FAILED, meta);
	EXPECT_EQ(0, meta->lost_dropped);
	munmap((void *)meta, self->l.ro_size);
	/* An empty record would read as end of file through read(2). */
	iov[0] = (struct iovec){ rec, 4 };
	iov[1] = (struct iovec){ rec, 0 };
	EXPECT_EQ(-1, writev(self->fd, iov, 2));
	EXPECT_EQ(EINVAL, errno);
}

/* Tests that load their own ring: unloaded whatever happens. */
FIXTURE(own)
{
	int unused;
};

FIXTURE_SETUP(own)
{
}

FIXTURE_TEARDOWN(own)
{
	vm_rmmod("mpmcring_loadgen");
}

/*
 * Overwrite mode: a full ring takes writes by evicting the oldest records,
 * so POLLOUT stays set with no consumer at all (the flight recorder), and
 * every write gets in. A non-blocking write may still say EAGAIN when it
 * lost races past its retries: the housekeeping tick's reclaim held the
 * bit longer than the write waits (20 ms), which takes a guest vCPU put
 * aside by the host with the bit held. So: POLLOUT set before every try,
 * a new try after EAGAIN, and at most one write in ten saying EAGAIN (a
 * change that refused writes as a rule would go past that; the old
 * failure was one in 322).
 */
TEST_F(own, overwrite_mode_stays_writable)
{
	struct pollfd pfd = { .events = POLLOUT };
	int fd, i, tries, again = 0;
	char rec[56] = { 0 };
	ssize_t n;

	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen", "ring=wr create=1 size=16384 "
						   "mode=overwrite threads=0 autostart=0"));
	fd = open(RING, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	pfd.fd = fd;
	for (i = 0; i < 3 * 16384 / 64; i++) {
		for (tries = 0; tries < 100 && again < 3 * 16384 / 64 / 10; tries++) {
			ASSERT_EQ(1, poll(&pfd, 1, 0)) TH_LOG("record %d: not writable", i);
			ASSERT_TRUE(pfd.revents & POLLOUT);
			n = write(fd, rec, sizeof(rec));
			if (n >= 0 || errno != EAGAIN)
				break;
			again++;
			usleep(1000);
		}
		ASSERT_EQ(sizeof(rec), n)
		TH_LOG("record %d after %d tries (%d EAGAIN so far): %s", i, tries, again,
		       strerror(errno));
	}
	if (again)
		TH_LOG("%d writes said EAGAIN and got in on a new try", again);
	close(fd);
	EXPECT_EQ(0, vm_rmmod("mpmcring_loadgen"));
}

/* One call copies at most MPMCRING_WRITE_MAX bytes with preemption off. */
TEST_F(own, write_max_per_call)
{
	static char big[MPMCRING_WRITE_MAX + 1];
	struct iovec iov[2] = { { big, MPMCRING_WRITE_MAX / 2 },
				{ big, MPMCRING_WRITE_MAX / 2 + 1 } };
	int fd;

	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen",
			       "ring=wr create=1 size=1048576 threads=0 autostart=0"));
	fd = open(RING, O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(MPMCRING_WRITE_MAX, write(fd, big, MPMCRING_WRITE_MAX));
	EXPECT_EQ(-1, write(fd, big, MPMCRING_WRITE_MAX + 1));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_EQ(-1, writev(fd, iov, 2));
	EXPECT_EQ(EMSGSIZE, errno);
	close(fd);
	EXPECT_EQ(0, vm_rmmod("mpmcring_loadgen"));
}

/* One side of a write-at-destroy cycle: what it wrote or read. */
struct wad_side {
	int fd;
	uint64_t n;	     /* records written (returned success) or read */
	uint64_t first_bad;  /* a record out of order, +1; 0 none */
	int err;	     /* the writer's errno at its end */
	uint64_t last_ok_ns; /* when the writer's last successful write returned */
	bool done;	     /* the thread is about to return */
};

#define WAD_LEN (48U << 10)

/* Writes numbered WAD_LEN records until the ring refuses (EPIPE). */
static void *wad_writer(void *arg)
{
	static char rec[WAD_LEN];
	struct wad_side *w = arg;

	for (;;) {
		memcpy(rec, &w->n, sizeof(w->n));
		if (write(w->fd, rec, sizeof(rec)) != sizeof(rec))
			break;
		w->last_ok_ns = vm_now_ns();
		__atomic_store_n(&w->n, w->n + 1, __ATOMIC_RELEASE);
	}
	w->err = errno;
	__atomic_store_n(&w->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* Reads (non-blocking, never asleep) until the end of file. */
static void *wad_reader(void *arg)
{
	static char buf[WAD_LEN + 4096];
	struct wad_side *r = arg;
	uint64_t seq;
	ssize_t got;

	for (;;) {
		got = read(r->fd, buf, sizeof(buf));
		if (got < 0 && errno == EAGAIN)
			continue;
		if (got <= 0)
			break;
		memcpy(&seq, buf, sizeof(seq));
		if (got != WAD_LEN || seq != r->n)
			r->first_bad = r->first_bad ?: r->n + 1;
		r->n++;
	}
	r->err = got ? errno : 0;
	__atomic_store_n(&r->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* Joins a side's thread, or false if it is still running at deadline_ns. */
static bool wad_join(pthread_t th, struct wad_side *s, uint64_t deadline_ns)
{
	while (!__atomic_load_n(&s->done, __ATOMIC_ACQUIRE)) {
		if (vm_now_ns() >= deadline_ns)
			return false;
		vm_sleep_ms(1);
	}
	return !pthread_join(th, NULL);
}

/*
 * A write(2) that returns success has a record a consumer reads before
 * its end of file, however the ring's destruction falls into it: the
 * consumer takes "destroyed, then empty" as the end, so a write that
 * commits after that would be lost and counted nowhere. The writer is
 * kept busy with large records (a long copy into the ring) and the reader
 * spins, so a destroy often lands between a write's check and its commit.
 */
TEST_F_TIMEOUT(own, write_at_destroy_is_read_or_refused, 150)
{
	struct wad_side w, r;
	pthread_t wt, rt;
	int cycle, lost = 0, overlapped = 0;
	uint64_t deadline, end, warm, destroy_ns;
	char extra[64];
	ssize_t got;

	/*
	 * Before the fix, 39 and 15 of these 100 cycles lost a record on
	 * 2-vCPU stock-6.1 and kcsan guests. A hundred, or 40 s; each cycle
	 * within 10 s + 10 s more, all inside the 150 s timeout.
	 */
	end = vm_deadline_ms(40000);
	for (cycle = 0; cycle < 100 && vm_now_ns() < end; cycle++) {
		ASSERT_EQ(0, vm_insmod("mpmcring_loadgen",
				       "ring=wr create=1 size=1048576 threads=0 autostart=0"));
		w = (struct wad_side){ .fd = open(RING, O_WRONLY | O_CLOEXEC) };
		r = (struct wad_side){ .fd = open(RING, O_RDWR | O_NONBLOCK | O_CLOEXEC) };
		ASSERT_GE(w.fd, 0);
		ASSERT_GE(r.fd, 0);
		ASSERT_EQ(0, pthread_create(&rt, NULL, wad_reader, &r));
		ASSERT_EQ(0, pthread_create(&wt, NULL, wad_writer, &w));
		/*
		 * Some records through first, at a point that varies; asleep,
		 * so the guest's two vCPUs are the writer's and the reader's.
		 */
		warm = 8 + (unsigned int)cycle % 7;
		deadline = vm_deadline_ms(10000);
		while (__atomic_load_n(&w.n, __ATOMIC_ACQUIRE) < warm && vm_now_ns() < deadline)
			vm_sleep_ms(1);
		ASSERT_GE(__atomic_load_n(&w.n, __ATOMIC_ACQUIRE), warm)
		TH_LOG("cycle %d: %llu of %llu records written in 10 s", cycle,
		       (unsigned long long)w.n, (unsigned long long)warm);
		destroy_ns = vm_now_ns();
		ASSERT_EQ(0, vm_rmmod("mpmcring_loadgen")); /* destroys the ring */
		deadline = vm_deadline_ms(10000);
		ASSERT_TRUE(wad_join(wt, &w, deadline))
		TH_LOG("cycle %d: the writer still writes 10 s after the destroy", cycle);
		ASSERT_TRUE(wad_join(rt, &r, deadline))
		TH_LOG("cycle %d: the reader still reads 10 s after the destroy", cycle);
		/* A write returned success after the destroy began: in its way. */
		overlapped += w.last_ok_ns > destroy_ns;
		EXPECT_EQ(EPIPE, w.err)
		TH_LOG("cycle %d: the writer ended with errno %d", cycle, w.err);
		EXPECT_EQ(0, r.err)
		TH_LOG("cycle %d: the reader ended with errno %d", cycle, r.err);
		EXPECT_EQ(0, r.first_bad)
		TH_LOG("cycle %d: record %llu out of order", cycle,
		       (unsigned long long)r.first_bad - 1);
		if (r.n != w.n && ++lost <= 5) {
			got = read(r.fd, extra, sizeof(extra));
			TH_LOG("cycle %d: %llu writes succeeded, %llu records read before the end of file; after it, read(2) returns %zd (errno %d: EMSGSIZE, a record)",
			       cycle, (unsigned long long)w.n, (unsigned long long)r.n, got,
			       got < 0 ? errno : 0);
		}
		close(w.fd);
		close(r.fd);
	}
	TH_LOG("%d cycles, %d with a write that succeeded after the destroy began", cycle,
	       overlapped);
	/* Else no destroy met a write, and the test tested nothing. */
	EXPECT_GT(overlapped, 0);
	EXPECT_EQ(0, lost)
	TH_LOG("%d of %d destroys lost a record whose write(2) succeeded", lost, cycle);
}

TEST_HARNESS_MAIN
