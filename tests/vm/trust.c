// SPDX-License-Identifier: GPL-2.0-only
/*
 * The trust model from the user's side of the device file: a file opened
 * read-only observes and nothing else, one opened write-only writes and
 * nothing else; one file cannot take every consumer
 * slot; a failed ATTACH gives its slot back; userspace writes stay below
 * the critical class unless the ring's owner says otherwise; ATTACH never
 * waits behind a sleeping read(2); and what read(2) returns is never torn,
 * whatever a co-tenant writes into the consumer area while read(2) is stuck
 * in a page fault and producers lap the ring.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <linux/userfaultfd.h>

#include "kselftest_harness.h"
#include "mpmcring.h"
#include "vmtest.h"

#define RING "/dev/mpmcring-trust"

FIXTURE(trust)
{
	int fd;
	struct mpmcring_layout l;
};

FIXTURE_SETUP(trust)
{
	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen",
			       "ring=trust create=1 size=65536 threads=0 autostart=0"));
	self->fd = open(RING, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->fd, 0);
	ASSERT_EQ(0, ioctl(self->fd, MPMCRING_IOC_INFO, &self->l));
}

FIXTURE_TEARDOWN(trust)
{
	close(self->fd);
	vm_rmmod("mpmcring_loadgen");
}

static uint64_t consumers_now(int fd)
{
	struct mpmcring_stats st;

	return ring_stats(fd, &st) ? UINT64_MAX : st.consumers;
}

TEST_F(trust, read_only_file_observes_only)
{
	int ro = open(RING, O_RDONLY | O_CLOEXEC);
	struct mpmcring_consumer_info info[4];
	struct mpmcring_consumers list = { .max = 4, .info = (uintptr_t)info };
	struct pollfd pfd = { .events = POLLIN };
	struct mpmcring_stats st;
	char rec[24] = "seen, never taken", buf[64];
	uint32_t idx = 0, prio = MPMCRING_PRIO_LOW;
	uint64_t wm = 0;

	ASSERT_GE(ro, 0);
	ASSERT_EQ(sizeof(rec), write(self->fd, rec, sizeof(rec)));
	/* Consuming changes what other consumers get: not for observers. */
	EXPECT_EQ(-1, read(ro, buf, sizeof(buf)));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, ioctl(ro, MPMCRING_IOC_ATTACH, &idx));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, ioctl(ro, MPMCRING_IOC_REPAIR));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, ioctl(ro, MPMCRING_IOC_SET_PRIO, &prio));
	EXPECT_EQ(EPERM, errno);
	/* Observing works. */
	EXPECT_EQ(0, ioctl(ro, MPMCRING_IOC_INFO, &self->l));
	EXPECT_EQ(0, ioctl(ro, MPMCRING_IOC_SET_WATERMARK, &wm));
	ASSERT_EQ(0, ring_stats(ro, &st));
	EXPECT_EQ(1, st.in_ring_records);
	EXPECT_EQ(0, st.consumers);
	EXPECT_EQ(0, ioctl(ro, MPMCRING_IOC_CONSUMERS, &list));
	EXPECT_EQ(0, list.count);
	pfd.fd = ro;
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_TRUE(pfd.revents & POLLIN);
	EXPECT_FALSE(pfd.revents & POLLOUT);
	/* The record is still there for a real consumer. */
	EXPECT_EQ(sizeof(rec), read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, rec, sizeof(rec)));
	close(ro);
}

/*
 * A file opened write-only writes, and sets its class, but does not
 * consume: it cannot map the ring (that takes FMODE_READ), so ATTACH
 * would only take slots from real consumers (before: it took them, up to
 * max_per_file an open), and REPAIR and ROOM are consumers' calls too.
 */
TEST_F(trust, write_only_file_writes_only)
{
	int wo = open(RING, O_WRONLY | O_CLOEXEC);
	uint32_t idx = 0, prio = MPMCRING_PRIO_LOW;
	char rec[16] = "written", buf[64];

	ASSERT_GE(wo, 0);
	EXPECT_EQ(-1, ioctl(wo, MPMCRING_IOC_ATTACH, &idx));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, ioctl(wo, MPMCRING_IOC_DETACH, &idx));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, ioctl(wo, MPMCRING_IOC_REPAIR));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, ioctl(wo, MPMCRING_IOC_ROOM));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(0, consumers_now(self->fd));
	EXPECT_EQ(0, ioctl(wo, MPMCRING_IOC_SET_PRIO, &prio));
	EXPECT_EQ(sizeof(rec), write(wo, rec, sizeof(rec)));
	EXPECT_EQ(-1, read(wo, buf, sizeof(buf)));
	EXPECT_EQ(EBADF, errno);
	/* What it wrote is there for a real consumer. */
	EXPECT_EQ(sizeof(rec), read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, rec, sizeof(rec)));
	close(wo);
}

/* An edge-triggered waiter that counts the wakeups it gets. */
struct wm_waiter {
	int ep;
	int stop;
	unsigned int woken;
};

static void *wm_wait(void *p)
{
	struct wm_waiter *w = p;
	struct epoll_event ev;

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE))
		if (epoll_wait(w->ep, &ev, 1, 20) == 1)
			__atomic_fetch_add(&w->woken, 1, __ATOMIC_RELAXED);
	return NULL;
}

/*
 * A read-only file may set its own watermark, and a lower one wakes the
 * ring's readers (the file may be ready with no commit to say so). The
 * wakeup reaches every waiter on the ring, so an unchanged or higher
 * watermark wakes nobody, and lowering it again and again wakes them at
 * most twice a tick (100 ms: once at once, once at the tick). Before,
 * each SET_WATERMARK on a ring with a record ready woke every
 * edge-triggered consumer (and after a first fix, each lowering: 100 of
 * 100 here, seen).
 */
TEST_F(trust, read_only_watermark_wakes_readers_rarely)
{
	int ro = open(RING, O_RDONLY | O_CLOEXEC), ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	struct wm_waiter w = { 0 };
	uint64_t zero = 0, high = 4096, t0, ms;
	char rec[16] = "ready";
	unsigned int bound;
	pthread_t th;
	int i;

	ASSERT_GE(ro, 0);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(sizeof(rec), write(self->fd, rec, sizeof(rec)));
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->fd, &ev));
	/*
	 * Ready when added: one event. The tick wakes readers once for a
	 * head that stood still with a record ready (mpmcring_backstop()):
	 * taken too, until 300 ms bring nothing.
	 */
	for (i = 0; i < 20 && epoll_wait(ep, &ev, 1, 300) == 1; i++)
		;
	ASSERT_EQ(0, epoll_wait(ep, &ev, 1, 0));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, ioctl(ro, MPMCRING_IOC_SET_WATERMARK, &zero)); /* unchanged */
		EXPECT_EQ(0, epoll_wait(ep, &ev, 1, 0)) TH_LOG("woken by an unchanged watermark");
	}
	EXPECT_EQ(0, ioctl(ro, MPMCRING_IOC_SET_WATERMARK, &high));
	EXPECT_EQ(0, epoll_wait(ep, &ev, 1, 0)) TH_LOG("woken by a higher watermark");
	/*
	 * Lowered and raised 100 times while a waiter counts its wakeups,
	 * each lowering given up to 5 ms to reach it (wakeups it has not
	 * taken yet would count as one).
	 */
	w.ep = ep;
	ASSERT_EQ(0, pthread_create(&th, NULL, wm_wait, &w));
	t0 = vm_now_ns();
	for (i = 0; i < 100; i++) {
		unsigned int before = __atomic_load_n(&w.woken, __ATOMIC_RELAXED);
		int k;

		EXPECT_EQ(0, ioctl(ro, MPMCRING_IOC_SET_WATERMARK, &zero));
		for (k = 0; k < 5 && __atomic_load_n(&w.woken, __ATOMIC_RELAXED) == before; k++)
			vm_sleep_ms(1);
		EXPECT_EQ(0, ioctl(ro, MPMCRING_IOC_SET_WATERMARK, &high));
	}
	vm_sleep_ms(250); /* the tick's part lands */
	ms = (vm_now_ns() - t0) / 1000000;
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	/*
	 * Per 100 ms one at once and one at the tick (for the lowerings the
	 * limit held back), and a tick's slack.
	 */
	bound = 2 * (unsigned int)(ms / 100) + 3;
	TH_LOG("%u wakeups in %llu ms of 100 lowerings (at most %u)", w.woken,
	       (unsigned long long)ms, bound);
	EXPECT_LE(1, w.woken) TH_LOG("no lowering woke the ET waiter");
	EXPECT_GE(bound, w.woken);
	close(ep);
	close(ro);
}

TEST_F(trust, one_file_cannot_take_every_slot)
{
	int other = open(RING, O_RDWR | O_CLOEXEC);
	uint32_t idx, i;

	ASSERT_GE(other, 0);
	ASSERT_LT(self->l.max_per_file, self->l.max_consumers);
	for (i = 0; i < self->l.max_per_file; i++)
		ASSERT_EQ(0, ioctl(self->fd, MPMCRING_IOC_ATTACH, &idx));
	EXPECT_EQ(-1, ioctl(self->fd, MPMCRING_IOC_ATTACH, &idx));
	EXPECT_EQ(EDQUOT, errno);
	EXPECT_EQ(self->l.max_per_file, consumers_now(self->fd));
	/* Others still get in; a detach makes room again. */
	EXPECT_EQ(0, ioctl(other, MPMCRING_IOC_ATTACH, &idx));
	EXPECT_EQ(0, ioctl(other, MPMCRING_IOC_DETACH, &idx));
	idx = 0;
	while (idx < self->l.max_consumers && ioctl(self->fd, MPMCRING_IOC_DETACH, &idx))
		idx++;
	EXPECT_EQ(0, ioctl(self->fd, MPMCRING_IOC_ATTACH, &idx));
	close(other);
}

/*
 * The slot read(2) attaches for its file is one of the file's
 * max_per_file: a file that reads cannot hold one slot more than a file
 * that maps, and read(2) says EDQUOT when the file has them all.
 */
TEST_F(trust, read_slot_counts_in_max_per_file)
{
	char rec[16] = "read me later", buf[64];
	uint32_t idx, i;

	ASSERT_LT(self->l.max_per_file, self->l.max_consumers);
	/* A read(2) that should have failed must not sleep on an empty ring. */
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(sizeof(rec), write(self->fd, rec, sizeof(rec)));
	for (i = 0; i < self->l.max_per_file; i++)
		ASSERT_EQ(0, ioctl(self->fd, MPMCRING_IOC_ATTACH, &idx));
	EXPECT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(EDQUOT, errno);
	EXPECT_EQ(self->l.max_per_file, consumers_now(self->fd));
	/* A detach makes room for read(2)'s slot; then ATTACH is refused. */
	ASSERT_EQ(0, ioctl(self->fd, MPMCRING_IOC_DETACH, &idx));
	EXPECT_EQ(sizeof(rec), read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, rec, sizeof(rec)));
	EXPECT_EQ(self->l.max_per_file, consumers_now(self->fd));
	EXPECT_EQ(-1, ioctl(self->fd, MPMCRING_IOC_ATTACH, &idx));
	EXPECT_EQ(EDQUOT, errno);
	EXPECT_EQ(self->l.max_per_file, consumers_now(self->fd));
	/*
	 * DETACH frees what ATTACH took, never read(2)'s slot: with every
	 * attached slot detached, each index is refused, one slot stays.
	 */
	for (idx = 0; idx < self->l.max_consumers; idx++)
		ioctl(self->fd, MPMCRING_IOC_DETACH, &idx);
	EXPECT_EQ(1, consumers_now(self->fd));
	for (idx = 0; idx < self->l.max_consumers; idx++) {
		EXPECT_EQ(-1, ioctl(self->fd, MPMCRING_IOC_DETACH, &idx));
		EXPECT_EQ(EINVAL, errno);
	}
	EXPECT_EQ(1, consumers_now(self->fd));
	for (i = 1; i < self->l.max_per_file; i++)
		EXPECT_EQ(0, ioctl(self->fd, MPMCRING_IOC_ATTACH, &idx));
	EXPECT_EQ(-1, ioctl(self->fd, MPMCRING_IOC_ATTACH, &idx));
	EXPECT_EQ(EDQUOT, errno);
}

TEST_F(trust, failed_attach_gives_the_slot_back)
{
	EXPECT_EQ(-1, ioctl(self->fd, MPMCRING_IOC_ATTACH, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, consumers_now(self->fd));
}

struct hammer {
	int fd;
	unsigned int max;
	int stop;
};

/* ATTACH into an unwritable address: attaches, then fails on put_user. */
static void *attach_bad_pointer(void *arg)
{
	struct hammer *h = arg;

	while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE))
		ioctl(h->fd, MPMCRING_IOC_ATTACH, (void *)8);
	return NULL;
}

/* DETACH of every index, from the same file: catches a slot in between. */
static void *detach_everything(void *arg)
{
	struct hammer *h = arg;
	uint32_t i;

	while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE))
		for (i = 0; i < h->max; i++)
			ioctl(h->fd, MPMCRING_IOC_DETACH, &i);
	return NULL;
}

/*
 * A failed ATTACH gives its slot back only if this file still has it: a
 * thread of the same file may have detached it meanwhile, and another
 * process attached the same index. That process's slot must survive.
 */
/* Another process attaches and checks its slot stays its own; exit 0. */
static int attach_and_check(unsigned int rounds)
{
	struct mpmcring_consumer_info info[64];
	int fd = open(RING, O_RDWR | O_CLOEXEC), n, mine;
	unsigned int k;
	uint32_t idx;

	if (fd < 0)
		return 2;
	for (k = 0; k < rounds; k++) {
		struct mpmcring_consumers list = { .max = 64, .info = (uintptr_t)info };

		if (ioctl(fd, MPMCRING_IOC_ATTACH, &idx))
			return 3;
		sched_yield();
		if (ioctl(fd, MPMCRING_IOC_CONSUMERS, &list))
			return 4;
		for (n = 0, mine = 0; n < (int)list.count; n++)
			mine += info[n].slot == idx && (pid_t)info[n].pid == getpid();
		if (mine != 1)
			return 1; /* our slot was detached under us */
		if (ioctl(fd, MPMCRING_IOC_DETACH, &idx))
			return 5;
	}
	return 0;
}

/*
 * A failed ATTACH gives its slot back only if this file still has it: a
 * thread of the same file may have detached it meanwhile, and another
 * process attached the same index. That process's slot must survive.
 */
TEST_F(trust, failed_attach_never_detaches_another_files_slot)
{
	struct hammer h = { .fd = self->fd, .max = self->l.max_consumers };
	pthread_t th[2];
	int status;
	pid_t kid;

	ASSERT_EQ(0, pthread_create(&th[0], NULL, attach_bad_pointer, &h));
	ASSERT_EQ(0, pthread_create(&th[1], NULL, detach_everything, &h));
	kid = fork();
	ASSERT_GE(kid, 0);
	if (!kid)
		_exit(attach_and_check(3000));
	ASSERT_EQ(kid, waitpid(kid, &status, 0));
	__atomic_store_n(&h.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("1: another file took the slot from it");
}

TEST_F(trust, user_writes_stay_below_critical)
{
	uint32_t prio = MPMCRING_PRIO_CRITICAL;

	EXPECT_EQ(MPMCRING_PRIO_NORMAL, self->l.user_max_prio);
	EXPECT_EQ(-1, ioctl(self->fd, MPMCRING_IOC_SET_PRIO, &prio));
	EXPECT_EQ(EPERM, errno);
	prio = MPMCRING_PRIO_NORMAL;
	EXPECT_EQ(0, ioctl(self->fd, MPMCRING_IOC_SET_PRIO, &prio));
	prio = MPMCRING_PRIO_LOW;
	EXPECT_EQ(0, ioctl(self->fd, MPMCRING_IOC_SET_PRIO, &prio));
}

struct sleeper {
	int fd;
	pid_t tid;
	ssize_t ret;
};

static void *sleeping_read(void *arg)
{
	struct sleeper *s = arg;
	char buf[64];

	__atomic_store_n(&s->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	s->ret = read(s->fd, buf, sizeof(buf));
	return NULL;
}

/*
 * One thread sleeps in read(2) on an empty ring; another thread of the
 * same file attaches a consumer. It must not wait for the reader (that was
 * a task stuck in D state for as long as the ring stayed empty).
 */
TEST_F(trust, attach_does_not_wait_for_a_sleeping_read)
{
	struct sleeper s = { .fd = self->fd };
	pthread_t th;
	uint32_t idx;
	char rec[8] = "wake up";

	ASSERT_EQ(0, pthread_create(&th, NULL, sleeping_read, &s));
	ASSERT_TRUE(vm_wait_asleep(&s.tid)) TH_LOG("the reader never went to sleep");
	EXPECT_EQ(0, ioctl(self->fd, MPMCRING_IOC_ATTACH, &idx));
	EXPECT_EQ(0, ioctl(self->fd, MPMCRING_IOC_DETACH, &idx));
	ASSERT_EQ(sizeof(rec), write(self->fd, rec, sizeof(rec)));
	pthread_join(th, NULL);
	EXPECT_EQ(sizeof(rec), s.ret);
}

struct stuck_read {
	int fd;
	void *buf;
	ssize_t ret;
};

static void *stuck_read(void *arg)
{
	struct stuck_read *r = arg;

	r->ret = read(r->fd, r->buf, 4096);
	return NULL;
}

/*
 * read(2) is stuck in a page fault on the caller's buffer (userfaultfd)
 * while a co-tenant idles every consumer slot that looks held and
 * producers lap the ring twice (overwrite mode, so they do not need a
 * consumer). When the fault is resolved, read(2) must return one whole,
 * intact record. Its claim used to live in a user-writable slot: idled
 * under it, the space was reused and read(2) copied a torn record.
 */
TEST(read_copy_never_torn_by_cotenant)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_zeropage zero = { 0 };
	struct pollfd pfd = { .events = POLLIN };
	struct stuck_read r = { 0 };
	struct mpmcring_cons_area *cons;
	struct uffd_msg msg;
	struct mpmcring *co;
	char rec[200];
	uint64_t seq, lapped = 0;
	pthread_t th;
	long page = sysconf(_SC_PAGESIZE);
	int uffd, wfd, i;

	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen", "ring=trust create=1 size=16384 "
						   "mode=overwrite threads=0 autostart=0"));
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	ASSERT_GE(uffd, 0) TH_LOG("userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	r.buf = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r.buf);
	reg.range.start = (uintptr_t)r.buf;
	reg.range.len = page;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));

	r.fd = open(RING, O_RDWR | O_CLOEXEC);
	wfd = open(RING, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	co = mpmcring_open(RING, 0);
	ASSERT_GE(r.fd, 0);
	ASSERT_GE(wfd, 0);
	ASSERT_NE(NULL, co);
	mpr_testrec_fill(rec, 56, 1, 0, 1, 0);
	ASSERT_EQ(56, write(wfd, rec, 56));
	ASSERT_EQ(0, pthread_create(&th, NULL, stuck_read, &r));

	/* read(2) is now stuck on the buffer. */
	pfd.fd = uffd;
	ASSERT_EQ(1, poll(&pfd, 1, 10000));
	ASSERT_EQ(sizeof(msg), read(uffd, &msg, sizeof(msg)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);

	/* The co-tenant: every slot that holds something is set idle. */
	cons = mmap(NULL, mpmcring_get_layout(co)->cons_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    mpmcring_fd(co), MPMCRING_OFF_CONS);
	ASSERT_NE(MAP_FAILED, (void *)cons);
	for (i = 0; i < (int)mpmcring_get_layout(co)->max_consumers; i++)
		if (!(__atomic_load_n(&cons->slots[i].start, __ATOMIC_RELAXED) & 1))
			__atomic_store_n(&cons->slots[i].start, MPMCRING_SLOT_IDLE,
					 __ATOMIC_RELEASE);
	munmap(cons, mpmcring_get_layout(co)->cons_size);
	/* Producers lap the ring twice with records of another size. */
	for (seq = 1; lapped < 2 * 16384; seq++) {
		mpr_testrec_fill(rec, 100, 2, 0, 1, seq);
		if (write(wfd, rec, 100) == 100)
			lapped += 112;
	}
	zero.range.start = (uintptr_t)r.buf;
	zero.range.len = page;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_ZEROPAGE, &zero));
	pthread_join(th, NULL);
	ASSERT_GT(r.ret, 0) TH_LOG("read: %s", strerror(errno));
	EXPECT_EQ(0, mpr_testrec_check(r.buf, r.ret));
	close(uffd);
	close(wfd);
	close(r.fd);
	mpmcring_close(co);
	munmap(r.buf, page);
	EXPECT_EQ(0, vm_rmmod("mpmcring_loadgen"));
}

TEST_HARNESS_MAIN
