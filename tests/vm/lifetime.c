// SPDX-License-Identifier: GPL-2.0-only
/*
 * Lifetimes seen from userspace: the module cannot be unloaded while a
 * ring is open or mapped; a named ring destroyed under a mapping stays
 * readable until the last unmap, its sleepers see POLLHUP (a poll(2)
 * sleeper is woken by it, not by its timer) and its readers end-of-file
 * once it is drained; a poller driven from the program's own
 * epoll loop (mpmcring_poller_consume() only) sees the end too, through
 * the meta page's state word and without a system call while idle, and
 * gets every record first; a consumer freed after a stopped consume leaves
 * the rest counted as abandoned.
 */
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "kselftest_harness.h"
#include "mpmcring.h"
#include "vmtest.h"

FIXTURE(lt)
{
	int unused;
};

FIXTURE_SETUP(lt)
{
}

FIXTURE_TEARDOWN(lt)
{
	vm_rmmod("mpmcring_loadgen");
	/* Leave the module loaded for the tests that follow. */
	vm_insmod("mpmcring", NULL);
}

TEST_F(lt, module_stays_while_open_or_mapped)
{
	struct mpmcring_layout l;
	void *ro;
	int fd = open("/dev/mpmcring", O_RDWR | O_CLOEXEC);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, ioctl(fd, MPMCRING_IOC_INFO, &l));
	EXPECT_NE(0, vm_rmmod("mpmcring")); /* open: refused */
	ro = mmap(NULL, l.ro_size, PROT_READ, MAP_SHARED, fd, MPMCRING_OFF_RO);
	ASSERT_NE(MAP_FAILED, ro);
	close(fd);
	EXPECT_NE(0, vm_rmmod("mpmcring")); /* mapped: refused */
	EXPECT_EQ(MPMCRING_MAGIC, ((const struct mpmcring_meta *)ro)->layout.magic);
	munmap(ro, l.ro_size);
	EXPECT_EQ(0, vm_rmmod("mpmcring")); /* neither: gone */
	EXPECT_NE(0, access("/dev/mpmcring", F_OK));
	EXPECT_EQ(0, vm_insmod("mpmcring", NULL));
}

TEST_F(lt, destroyed_named_ring_lives_until_last_unmap)
{
	struct mpmcring *r;
	struct mpmcring_consumer *c;
	struct mpmcring_record rec;
	struct pollfd pfd;
	struct lg_stats lg;
	uint64_t got = 0;
	char buf[512];
	int fd;

	ASSERT_EQ(0,
		  vm_insmod("mpmcring_loadgen", "ring=lt create=1 size=65536 threads=1 count=200 "
						"prio_mix=0:0:100 len_max=200"));
	ASSERT_TRUE(lg_wait_finished(100));
	ASSERT_EQ(0, lg_read_stats(&lg));
	r = mpmcring_open("/dev/mpmcring-lt", 0);
	ASSERT_NE(NULL, r);
	fd = open("/dev/mpmcring-lt", O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	c = mpmcring_consumer_new(r);
	ASSERT_NE(NULL, c);
	/* Read one record through each interface, then destroy the ring. */
	ASSERT_EQ(0, mpmcring_read(c, &rec));
	got++;
	mpmcring_commit(c);
	ASSERT_GT(read(fd, buf, sizeof(buf)), 0);
	got++;
	ASSERT_EQ(0, vm_rmmod("mpmcring_loadgen"));
	EXPECT_NE(0, access("/dev/mpmcring-lt", F_OK));

	/* Still mapped and intact: the rest of the records are there. */
	while (mpmcring_read(c, &rec) == 0) {
		EXPECT_EQ(0, mpr_testrec_check(rec.data, rec.len));
		got++;
		mpmcring_commit(c);
	}
	EXPECT_EQ(lg.total_committed, got);
	/* Drained and destroyed: sleepers hear a hangup, readers get EOF. */
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	EXPECT_EQ(1, poll(&pfd, 1, 1000));
	EXPECT_TRUE(pfd.revents & POLLHUP);
	EXPECT_EQ(0, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(-EPIPE, mpmcring_wait(r, 1000));
	EXPECT_EQ(-1, write(fd, buf, 8));
	EXPECT_EQ(EPIPE, errno);
	close(fd);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
}

/* The hangup's poll(2) wait, and when the sleeper counts as lost (below). */
#define LT_HUP_WAIT_MS 10000
#define LT_HUP_DUE_MS 2500

/*
 * A poll(2) sleeper on a drained ring is woken by the destroy's hangup.
 * (The test above polls only after the destroy: ->poll finds the ring dead
 * and nothing needs waking.) poll(2) cannot show a lost hangup by what it
 * returns: it looks again after its timer and returns 1 with POLLHUP, only
 * late. The destroy sends the hangup before it returns, so a sleeper still
 * asleep LT_HUP_DUE_MS after rmmod returned, its poll(2) not back, lost it
 * (vm_slept_through_hangup(); one woken but not run yet is runnable, not
 * asleep). No counter: a ring hangs up once, and the meta page's state word
 * already tells users it did; a count would be a test hook in the ABI.
 */
TEST_F(lt, poll_sleeper_hears_hangup)
{
	struct vm_poll_sleeper h = { .ms = LT_HUP_WAIT_MS, .events = POLLIN };
	pthread_t th;
	bool asleep, lost = false;
	int rm = -1;

	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen",
			       "ring=lt create=1 size=65536 threads=0 autostart=0"));
	h.fd = open("/dev/mpmcring-lt", O_RDONLY | O_CLOEXEC);
	ASSERT_GE(h.fd, 0);
	ASSERT_EQ(0, pthread_create(&th, NULL, vm_poll_sleeper_thread, &h));
	/* Asleep in poll(2): the hangup must wake it. */
	asleep = vm_wait_asleep(&h.tid);
	if (asleep)
		rm = vm_rmmod("mpmcring_loadgen");
	if (!rm)
		lost = vm_slept_through_hangup(&h.tid, &h.done, vm_deadline_ms(LT_HUP_DUE_MS));
	/* h is this frame's: the poller is done with it (LT_HUP_WAIT_MS at most) first. */
	pthread_join(th, NULL);
	close(h.fd);
	ASSERT_TRUE(asleep) TH_LOG("the poller never went to sleep in poll(2)");
	ASSERT_EQ(0, rm);
	EXPECT_FALSE(lost)
	TH_LOG("the poll(2) sleeper was still asleep %d ms after the destroy returned: hangup wakeup lost (its poll returned %d after %llu ms)",
	       LT_HUP_DUE_MS, h.ret, (unsigned long long)h.waited_ms);
	EXPECT_EQ(1, h.ret);
	EXPECT_TRUE(h.revents & POLLHUP);
}

static int lt_count(void *ctx, const struct mpmcring_record *rec)
{
	uint64_t *got = ctx;

	if (mpr_testrec_check(rec->data, rec->len))
		return -EBADMSG;
	++*got;
	return 0;
}

/*
 * The libbpf-style loop: the program waits on mpmcring_poller_epoll_fd() in
 * its own epoll set and calls mpmcring_poller_consume() per wakeup, never
 * mpmcring_poller_poll(). Once the ring is destroyed and drained, consume
 * must say -EPIPE and the descriptor must stop waking the program, or it
 * spins for ever.
 */
TEST_F(lt, poller_consume_ends_when_ring_destroyed)
{
	struct mpmcring_poller *p;
	struct epoll_event ev;
	struct mpmcring *r;
	struct lg_stats lg;
	uint64_t got = 0;
	int outer, i, n = 0;

	ASSERT_EQ(0,
		  vm_insmod("mpmcring_loadgen", "ring=lt create=1 size=65536 threads=1 count=200 "
						"prio_mix=0:0:100 len_max=200"));
	ASSERT_TRUE(lg_wait_finished(100));
	ASSERT_EQ(0, lg_read_stats(&lg));
	r = mpmcring_open("/dev/mpmcring-lt", 0);
	ASSERT_NE(NULL, r);
	p = mpmcring_poller_new(NULL);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, mpmcring_poller_add(p, r, lt_count, &got, NULL));
	outer = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_GE(outer, 0);
	ASSERT_EQ(0, epoll_ctl(outer, EPOLL_CTL_ADD, mpmcring_poller_epoll_fd(p),
			       &(struct epoll_event){ .events = EPOLLIN }));
	ASSERT_EQ(0, vm_rmmod("mpmcring_loadgen"));
	/* Bounded: 200 records come in one or two consumes, then the end. */
	for (i = 0; i < 50; i++) {
		if (epoll_wait(outer, &ev, 1, 1000) != 1)
			break; /* not readable: the program would sleep for ever */
		n = mpmcring_poller_consume(p);
		if (n < 0)
			break;
	}
	EXPECT_EQ(-EPIPE, n) TH_LOG("after %d wakeups: %d, %s", i, n, mpmcring_errmsg());
	EXPECT_EQ(lg.total_committed, got);
	EXPECT_EQ(1, mpmcring_poller_ring_gone(p, 0));
	/* Out of the set: nothing wakes the program any more. */
	EXPECT_EQ(0, epoll_wait(outer, &ev, 1, 0));
	EXPECT_EQ(-EPIPE, mpmcring_poller_poll(p, -1));
	close(outer);
	mpmcring_poller_free(p);
	mpmcring_close(r);
}

/*
 * Runs calls idle mpmcring_poller_consume() calls in a child process that a
 * seccomp filter kills (SIGSYS) at its first system call but exit_group:
 * 0 when every call returned 0 without one, the signal that ended the
 * child, 100 + a call that returned something else, 99: no filter.
 */
static int lt_idle_consume_without_syscalls(struct mpmcring_poller *p, int calls)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit_group, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	pid_t pid;
	int i, st;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
			syscall(SYS_exit_group, 99);
		for (i = 0; i < calls; i++)
			if (mpmcring_poller_consume(p) != 0)
				syscall(SYS_exit_group, 100 + (i < 100 ? i : 100));
		syscall(SYS_exit_group, 0);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st);
}

/*
 * Issue 18 on a real ring: an idle poller's consume makes no system call
 * (a module of ABI 1.3 tells the end in the meta page, not through the
 * epoll set). Needs seccomp filters, which the tinyconfig test kernels
 * leave out (tests/inventory.txt lets it skip there only).
 */
TEST_F(lt, idle_poller_consume_makes_no_syscall)
{
	struct mpmcring_poller *p;
	struct mpmcring *r;
	uint64_t got = 0;
	int i, n = 0, ret;

	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen", "ring=lt create=1 size=65536 threads=1 count=20 "
						   "prio_mix=0:0:100 len_max=200"));
	ASSERT_TRUE(lg_wait_finished(100));
	r = mpmcring_open("/dev/mpmcring-lt", 0);
	ASSERT_NE(NULL, r) TH_LOG("%s", mpmcring_errmsg());
	p = mpmcring_poller_new(NULL);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, mpmcring_poller_add(p, r, lt_count, &got, NULL));
	for (i = 0; i < 50 && (n = mpmcring_poller_consume(p)) > 0; i++)
		;
	ASSERT_EQ(0, n) TH_LOG("%s", mpmcring_errmsg());
	ASSERT_EQ(20, got);
	ret = lt_idle_consume_without_syscalls(p, 1000);
	if (ret == 99) {
		mpmcring_poller_free(p);
		mpmcring_close(r);
		SKIP(return, "this kernel has no seccomp filters (CONFIG_SECCOMP_FILTER)");
	}
	EXPECT_EQ(0, ret) TH_LOG("the idle consume: %d (%d: killed at a system call)", ret, SIGSYS);
	/* The child's calls changed nothing: still idle, still there. */
	EXPECT_EQ(0, mpmcring_poller_consume(p));
	EXPECT_EQ(0, mpmcring_poller_ring_gone(p, 0));
	mpmcring_poller_free(p);
	mpmcring_close(r);
}

/*
 * The ring destroyed under an idle poller still ends it, though the idle
 * calls no longer ask the epoll set: the records written after its last
 * call come first, then -EPIPE, and the ring leaves the poller's epoll
 * set. The state word reads 0 before the destroy and MPMCRING_STATE_DEAD
 * after, in the caller's own mapping.
 */
TEST_F(lt, idle_poller_sees_destroy_in_meta_page)
{
	const struct mpmcring_meta *meta;
	const struct mpmcring_layout *l;
	struct mpmcring_poller *p;
	struct epoll_event ev;
	struct mpmcring *r;
	struct lg_stats lg;
	uint64_t got = 0, seq;
	char buf[64];
	int outer, i, n = 0;
	void *ro;

	ASSERT_EQ(0,
		  vm_insmod("mpmcring_loadgen", "ring=lt create=1 size=65536 threads=1 count=200 "
						"prio_mix=0:0:100 len_max=200"));
	ASSERT_TRUE(lg_wait_finished(100));
	ASSERT_EQ(0, lg_read_stats(&lg));
	r = mpmcring_open("/dev/mpmcring-lt", 0);
	ASSERT_NE(NULL, r) TH_LOG("%s", mpmcring_errmsg());
	l = mpmcring_get_layout(r);
	ASSERT_GE(l->abi_minor, MPMCRING_ABI_MINOR_STATE)
	TH_LOG("the module is of ABI 1.%u: no state word", l->abi_minor);
	ro = mmap(NULL, l->ro_size, PROT_READ, MAP_SHARED, mpmcring_fd(r), MPMCRING_OFF_RO);
	ASSERT_NE(MAP_FAILED, ro);
	meta = ro;
	EXPECT_EQ(0, __atomic_load_n(&meta->state, __ATOMIC_ACQUIRE));
	p = mpmcring_poller_new(NULL);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, mpmcring_poller_add(p, r, lt_count, &got, NULL));
	outer = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_GE(outer, 0);
	ASSERT_EQ(0, epoll_ctl(outer, EPOLL_CTL_ADD, mpmcring_poller_epoll_fd(p),
			       &(struct epoll_event){ .events = EPOLLIN }));
	for (i = 0; i < 50 && (n = mpmcring_poller_consume(p)) > 0; i++)
		;
	ASSERT_EQ(0, n) TH_LOG("%s", mpmcring_errmsg());
	ASSERT_EQ(lg.total_committed, got);
	for (i = 0; i < 100; i++)
		ASSERT_EQ(0, mpmcring_poller_consume(p));
	/* Records after the poller's last call, then the destroy. */
	for (seq = 0; seq < 5; seq++) {
		mpr_testrec_fill(buf, sizeof(buf), 60, 0, MPMCRING_PRIO_NORMAL, seq);
		ASSERT_EQ(0, mpmcring_write(r, buf, sizeof(buf))) TH_LOG("%s", mpmcring_errmsg());
	}
	ASSERT_EQ(0, vm_rmmod("mpmcring_loadgen"));
	EXPECT_EQ(MPMCRING_STATE_DEAD, __atomic_load_n(&meta->state, __ATOMIC_ACQUIRE));
	for (i = 0; i < 50; i++) {
		n = mpmcring_poller_consume(p);
		if (n < 0)
			break;
	}
	EXPECT_EQ(-EPIPE, n) TH_LOG("after %d calls: %d, %s", i, n, mpmcring_errmsg());
	EXPECT_EQ(lg.total_committed + 5, got);
	EXPECT_EQ(1, mpmcring_poller_ring_gone(p, 0));
	/* Out of the set: nothing wakes the program any more. */
	EXPECT_EQ(0, epoll_wait(outer, &ev, 1, 0));
	EXPECT_EQ(-EPIPE, mpmcring_poller_poll(p, -1));
	close(outer);
	mpmcring_poller_free(p);
	munmap(ro, l->ro_size);
	mpmcring_close(r);
}

struct lt_race {
	struct mpmcring *w; /* the writer's handle */
	struct mpmcring_poller *p;
	uint64_t got, written;
	int consume_end, write_end;
};

/* A bound on the race's loops, so that a bug fails the test, not hangs it. */
#define LT_RACE_NS (60ULL * 1000000000ULL)

/* Writes records until the ring refuses (-EPIPE once it is destroyed). */
static void *lt_writer(void *arg)
{
	struct lt_race *x = arg;
	uint64_t t0 = vm_now_ns();
	char buf[64];
	int ret;

	while (vm_now_ns() - t0 < LT_RACE_NS) {
		mpr_testrec_fill(buf, sizeof(buf), 61, 0, MPMCRING_PRIO_NORMAL, x->written);
		ret = mpmcring_write(x->w, buf, sizeof(buf));
		if (ret < 0) {
			x->write_end = ret;
			return NULL;
		}
		x->written++;
	}
	return NULL;
}

/* Calls consume without sleeping until it ends. */
static void *lt_spinner(void *arg)
{
	struct lt_race *x = arg;
	uint64_t t0 = vm_now_ns();
	long calls;
	int n = 0;

	for (calls = 0; (calls & 4095) || vm_now_ns() - t0 < LT_RACE_NS; calls++) {
		n = mpmcring_poller_consume(x->p);
		if (n < 0)
			break;
	}
	x->consume_end = n;
	return NULL;
}

/*
 * The destroy under a poller that never sleeps, while write(2) commits
 * records: every write that succeeded is consumed before consume says
 * -EPIPE. The end comes from the state word, stored after the grace
 * period that write(2)'s commits finish in ([D3]/[D4], then [D5]), and
 * looked at before the last empty pass ([D6]).
 */
TEST_F_TIMEOUT(lt, spinning_poller_gets_every_write_at_destroy, 180)
{
	struct lt_race x = { 0 };
	pthread_t tw, tc;
	struct lg_stats lg;
	struct mpmcring *r;

	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen", "ring=lt create=1 size=1048576 threads=1 "
						   "count=100 prio_mix=0:0:100 len_max=200"));
	ASSERT_TRUE(lg_wait_finished(100));
	ASSERT_EQ(0, lg_read_stats(&lg));
	r = mpmcring_open("/dev/mpmcring-lt", 0);
	ASSERT_NE(NULL, r) TH_LOG("%s", mpmcring_errmsg());
	x.w = mpmcring_open("/dev/mpmcring-lt", 0);
	ASSERT_NE(NULL, x.w) TH_LOG("%s", mpmcring_errmsg());
	x.p = mpmcring_poller_new(NULL);
	ASSERT_NE(NULL, x.p);
	ASSERT_EQ(0, mpmcring_poller_add(x.p, r, lt_count, &x.got, NULL));
	ASSERT_EQ(0, pthread_create(&tc, NULL, lt_spinner, &x));
	ASSERT_EQ(0, pthread_create(&tw, NULL, lt_writer, &x));
	vm_sleep_ms(300);
	ASSERT_EQ(0, vm_rmmod("mpmcring_loadgen"));
	pthread_join(tw, NULL);
	pthread_join(tc, NULL);
	EXPECT_EQ(-EPIPE, x.write_end);
	EXPECT_EQ(-EPIPE, x.consume_end) TH_LOG("%s", mpmcring_errmsg());
	EXPECT_GT(x.written, 0);
	EXPECT_EQ(lg.total_committed + x.written, x.got)
	TH_LOG("loadgen %llu + written %llu, consumed %llu", (unsigned long long)lg.total_committed,
	       (unsigned long long)x.written, (unsigned long long)x.got);
	EXPECT_EQ(1, mpmcring_poller_ring_gone(x.p, 0));
	mpmcring_poller_free(x.p);
	mpmcring_close(x.w);
	mpmcring_close(r);
}

static int lt_stop_at_3(void *ctx, const struct mpmcring_record *rec)
{
	int *seen = ctx;

	(void)rec;
	return ++*seen == 3 ? -ECANCELED : 0;
}

/*
 * A consumer's end after a stopped consume (a shutdown: fn sees a stop
 * flag, the program frees the consumer): the records the consume claimed
 * and did not deliver are gone for everyone, so the kernel counts them as
 * abandoned at the detach (the library leaves their count in the slot's
 * held_records), as for a consumer that died holding them.
 */
TEST_F(lt, consumer_freed_after_stopped_consume_abandons_the_rest)
{
	struct mpmcring_consumer *a, *b;
	struct mpmcring_record rec;
	struct mpmcring_stats st;
	struct lg_stats lg;
	struct mpmcring *r;
	int seen = 0;

	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen",
			       "ring=lt create=1 size=65536 threads=1 count=10 prio_mix=0:0:100"));
	ASSERT_TRUE(lg_wait_finished(100));
	ASSERT_EQ(0, lg_read_stats(&lg));
	ASSERT_EQ(10, lg.total_committed);
	r = mpmcring_open("/dev/mpmcring-lt", 0);
	ASSERT_NE(NULL, r) TH_LOG("%s", mpmcring_errmsg());
	a = mpmcring_consumer_new(r);
	ASSERT_NE(NULL, a);
	ASSERT_EQ(-ECANCELED, mpmcring_consume(a, 64, lt_stop_at_3, &seen));
	ASSERT_EQ(3, seen);
	mpmcring_consumer_free(a);
	ASSERT_EQ(0, mpmcring_get_stats(r, &st));
	EXPECT_EQ(1, st.abandoned_claims);
	EXPECT_EQ(7, st.abandoned_records);
	/* Gone for everyone: not handed to the next consumer. */
	b = mpmcring_consumer_new(r);
	ASSERT_NE(NULL, b);
	EXPECT_EQ(-EAGAIN, mpmcring_read(b, &rec));
	mpmcring_consumer_free(b);
	mpmcring_close(r);
}

TEST_HARNESS_MAIN
