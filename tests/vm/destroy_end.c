// SPDX-License-Identifier: GPL-2.0-only
/*
 * The end of a destroyed ring (mpmcring_destroy(), barrier pair [D1]/[D2]):
 * read(2) says "destroyed and empty" (returns 0) only when no record
 * committed before the end is left in the ring.
 *
 * A consumer that finds the ring empty, is preempted, and looks at the end
 * only after a record was committed and the ring destroyed (a grace period
 * and more), must not stop there: it must have looked at the end before it
 * looked at the ring. The test puts read(2) in that place every time: its
 * program (bpf/destroy_end.bpf.c) holds read(2) at the mutex_unlock() after
 * the empty claim until a high-priority thread on the same CPU waits for
 * that mutex; the unlock wakes it, and it keeps the CPU (preemption on:
 * preempt=full, set here through the scheduler's debugfs file) while the
 * record is written and the ring destroyed. Needs a kernel with BPF and
 * BTF: the stock kernels.
 *
 * The thread that tells the test the end, asleep in poll(2) through the
 * destroy, is woken by the hangup, not by its timer.
 *
 * And poll leaves no record under the watermark behind a hangup, and a file
 * that can get no slot for read(2) reads the destroyed ring's end, not
 * EDQUOT or EUSERS.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <poll.h>
#include <sys/utsname.h>
#include <bpf/libbpf.h>

#include "kselftest_harness.h"
#include "mpmcring.h"
#include "vmtest.h"
#include "destroy_end.skel.h"

#define RING "destroyend"
#define DEV "/dev/mpmcring-" RING
#define LOADGEN_ARGS "ring=" RING " create=1 size=65536 threads=0 autostart=0"
#define PREEMPT_FILE "/sys/kernel/debug/sched/preempt"
#define RT_RUNTIME_FILE "/proc/sys/kernel/sched_rt_runtime_us"
#define HOLD_MAX_NS 3000000000ULL
#define WAIT_MS 10000
#define CYCLES 4

static int pin_to(long cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* Waits (1 ms naps, up to ms) for *flag set; 0 once it is. */
static int await_flag(const int *flag, int ms)
{
	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE) && ms-- > 0)
		vm_sleep_ms(1);
	return __atomic_load_n(flag, __ATOMIC_ACQUIRE) ? 0 : -1;
}

static void set_flag(int *flag)
{
	__atomic_store_n(flag, 1, __ATOMIC_RELEASE);
}

/* Reads a small file into buf; 0 or -1. */
static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

struct cycle {
	struct destroy_end_bpf *p;
	int fd;	      /* the consumer's file, O_NONBLOCK: read(2) by both */
	int write_fd; /* the producer's */
	int watch_fd; /* the watcher polls it for POLLHUP */
	pid_t watch_tid;
	int watch_done; /* the watcher's poll(2) returned */
	/* steps, in order */
	int hog_has_cpu, written, dead_seen;
	/* what each saw */
	int hog_read_errno, hog_ran_out, first_read_after_end, end;
	__u64 delivered;
};

/*
 * The high-priority thread on the consumer's CPU: once the consumer is
 * held at the unlock, it reads too (and waits for the mutex: the hold ends,
 * the unlock wakes it, the consumer is preempted), then keeps the CPU until
 * the ring's end was seen.
 */
static void *hog_main(void *arg)
{
	struct sched_param sp = { .sched_priority = 10 };
	struct cycle *y = arg;
	char buf[64];
	uint64_t end;

	if (pin_to(0) || pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp))
		return (void *)1;
	if (await_flag((const int *)&y->p->bss->cons_at_unlock, WAIT_MS))
		return (void *)2;
	y->hog_read_errno = read(y->fd, buf, sizeof(buf)) < 0 ? errno : 0;
	set_flag(&y->hog_has_cpu);
	end = now_ms() + WAIT_MS;
	while (!__atomic_load_n(&y->dead_seen, __ATOMIC_ACQUIRE) && now_ms() < end)
		;
	y->hog_ran_out = !__atomic_load_n(&y->dead_seen, __ATOMIC_ACQUIRE);
	return NULL;
}

/* Reads until read(2) says end of file. */
static void *consumer_main(void *arg)
{
	struct cycle *y = arg;
	struct pollfd pfd = { .fd = y->fd, .events = POLLIN };
	char buf[64];
	ssize_t n;
	int i;

	if (pin_to(0))
		return (void *)1;
	__atomic_store_n(&y->p->bss->cons_tid, (__u32)syscall(SYS_gettid), __ATOMIC_RELEASE);
	y->end = 1;
	for (i = 0; i < 1000 && y->end == 1; i++) {
		n = read(y->fd, buf, sizeof(buf));
		if (!i)
			y->first_read_after_end = __atomic_load_n(&y->dead_seen, __ATOMIC_ACQUIRE);
		if (n > 0)
			y->delivered++;
		else if (!n)
			y->end = 0;
		else if (errno != EAGAIN)
			y->end = -errno;
		else if (poll(&pfd, 1, WAIT_MS) != 1)
			y->end = -ETIMEDOUT;
	}
	return NULL;
}

/* Writes the record once the hog holds the consumer's CPU. */
static void *producer_main(void *arg)
{
	struct cycle *y = arg;
	char rec[16] = "destroy_end rec";

	if (pin_to(1) || await_flag(&y->hog_has_cpu, WAIT_MS))
		return (void *)1;
	if (write(y->write_fd, rec, sizeof(rec)) != sizeof(rec))
		return (void *)2;
	set_flag(&y->written);
	return NULL;
}

/* Says when the ring's end is set: its wakeup reports POLLHUP. */
static void *watcher_main(void *arg)
{
	struct cycle *y = arg;
	struct pollfd pfd = { .fd = y->watch_fd, .events = 0 };
	int n;

	if (pin_to(1))
		return (void *)1;
	__atomic_store_n(&y->watch_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	n = poll(&pfd, 1, 2 * WAIT_MS);
	set_flag(&y->watch_done);
	if (n != 1 || !(pfd.revents & POLLHUP))
		return (void *)2;
	set_flag(&y->dead_seen);
	return NULL;
}

/*
 * How long after the destroy returned (it sends the hangup first) the
 * watcher may still be asleep: then it lost the hangup. poll(2) would not
 * say so: it looks again after its timer and returns 1 with POLLHUP, only
 * late (vm_slept_through_hangup()).
 */
#define HUP_DUE_MS 2500

FIXTURE(destroy_end)
{
	struct destroy_end_bpf *p;
	struct bpf_link *link;
	char preempt[64]; /* the mode to restore, or "" */
	char rt_runtime[32];
	const char *skipped; /* why the setup skipped */
	bool skip;	     /* it skipped by choice (a failed setup is a failure) */
};

FIXTURE_SETUP(destroy_end)
{
	char modes[128], *lp, *rp;
	struct utsname u;

	self->p = NULL;
	self->link = NULL;
	self->preempt[0] = self->rt_runtime[0] = '\0';
	self->skip = true;
	self->skipped = "no BTF here (/sys/kernel/btf/vmlinux): the kernel lacks BTF or BPF";
	if (access("/sys/kernel/btf/vmlinux", F_OK))
		SKIP(return, "%s", self->skipped);
	ASSERT_EQ(0, uname(&u));
	/*
	 * PREEMPT_RT runs softirqs and RCU's callbacks in per-CPU threads
	 * that the hog would starve, and the destroy waits for them.
	 */
	self->skipped = "PREEMPT_RT: the destroy needs per-CPU threads (softirq, RCU) "
			"that the test's SCHED_FIFO thread keeps off the consumer's CPU";
	if (strstr(u.version, "PREEMPT_RT"))
		SKIP(return, "%s", self->skipped);
	self->skip = false;
	ASSERT_GE(sysconf(_SC_NPROCESSORS_ONLN), 2);
	vm_rmmod("mpmcring_loadgen");
	/* Preemption on: a woken high-priority thread preempts at once. */
	if (!read_file(PREEMPT_FILE, modes, sizeof(modes))) {
		lp = strchr(modes, '(');
		rp = lp ? strchr(lp, ')') : NULL;
		ASSERT_NE(NULL, rp) TH_LOG("%s: %s", PREEMPT_FILE, modes);
		/*
		 * The harness boots with preempt=full: a switch at run time
		 * patches call sites under load, which qemu's TCG can get
		 * wrong (tests/harness/boot.py). Elsewhere, switch and restore.
		 */
		if (strncmp(lp + 1, "full)", 5)) {
			snprintf(self->preempt, sizeof(self->preempt), "%.*s", (int)(rp - lp - 1),
				 lp + 1);
			ASSERT_EQ(0, write_file(PREEMPT_FILE, "full"));
		}
	} else {
		ASSERT_NE(NULL, strstr(u.version, "PREEMPT "))
		TH_LOG("no %s and no PREEMPT: preemption cannot be turned on", PREEMPT_FILE);
	}
	/* The hog keeps its CPU as long as the destroy takes. */
	ASSERT_EQ(0, read_file(RT_RUNTIME_FILE, self->rt_runtime, sizeof(self->rt_runtime)));
	ASSERT_EQ(0, write_file(RT_RUNTIME_FILE, "-1"));
	self->p = destroy_end_bpf__open();
	ASSERT_NE(NULL, self->p);
	ASSERT_EQ(0, destroy_end_bpf__load(self->p))
	TH_LOG("the verifier refused destroy_end.bpf.c");
	self->p->bss->hold_max_ns = HOLD_MAX_NS;
	self->link = bpf_program__attach(self->p->progs.hold_read);
	ASSERT_NE(NULL, self->link);
}

FIXTURE_TEARDOWN(destroy_end)
{
	bpf_link__destroy(self->link);
	if (self->p)
		destroy_end_bpf__destroy(self->p);
	if (self->preempt[0])
		write_file(PREEMPT_FILE, self->preempt);
	if (self->rt_runtime[0])
		write_file(RT_RUNTIME_FILE, self->rt_runtime);
	vm_rmmod("mpmcring_loadgen");
}

/*
 * One ring: the consumer finds it empty and is preempted before it looks
 * at the end; meanwhile a record is written and the ring destroyed.
 * Returns whether the consumer really looked at the end only then.
 */
static int one_cycle(struct __test_metadata *_metadata, struct destroy_end_bpf *p)
{
	struct cycle y = { .p = p };
	pthread_t ht, ct, pt, wt;
	void *rv[4];
	char byte;
	int reached;

	/*
	 * Kernel work this thread queues (module load, files) goes to CPU 1,
	 * and what CPU 0 had queued runs now: none of it waits for the hog.
	 */
	ASSERT_EQ(0, pin_to(1));
	vm_sleep_ms(200);
	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen", LOADGEN_ARGS));
	/* read(2) consumes: a read-only file may not. */
	y.fd = open(DEV, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	y.write_fd = open(DEV, O_RDWR | O_CLOEXEC);
	y.watch_fd = open(DEV, O_RDONLY | O_CLOEXEC);
	ASSERT_GE(y.fd, 0);
	ASSERT_GE(y.write_fd, 0);
	ASSERT_GE(y.watch_fd, 0);
	/* Attaches the file's claim slot now: no other mutex in read(2) later. */
	ASSERT_EQ(-1, read(y.fd, &byte, 1));
	ASSERT_EQ(EAGAIN, errno);
	p->bss->cons_at_unlock = 0;
	p->bss->cons_ran_out = 0;

	ASSERT_EQ(0, pthread_create(&wt, NULL, watcher_main, &y));
	ASSERT_EQ(0, pthread_create(&ht, NULL, hog_main, &y));
	ASSERT_EQ(0, pthread_create(&pt, NULL, producer_main, &y));
	ASSERT_EQ(0, pthread_create(&ct, NULL, consumer_main, &y));
	/* The record was written before the destroy began. */
	EXPECT_EQ(0, await_flag(&y.written, WAIT_MS));
	/* The watcher sleeps in poll(2): the hangup must wake it. */
	EXPECT_TRUE(vm_wait_asleep(&y.watch_tid));
	ASSERT_EQ(0, vm_rmmod("mpmcring_loadgen"));
	EXPECT_FALSE(
		vm_slept_through_hangup(&y.watch_tid, &y.watch_done, vm_deadline_ms(HUP_DUE_MS)))
	TH_LOG("the watcher was still asleep in poll(2) %d ms after the destroy returned: hangup wakeup lost",
	       HUP_DUE_MS);
	ASSERT_EQ(0, pthread_join(wt, &rv[0]));
	ASSERT_EQ(0, pthread_join(ht, &rv[1]));
	ASSERT_EQ(0, pthread_join(pt, &rv[2]));
	ASSERT_EQ(0, pthread_join(ct, &rv[3]));
	EXPECT_EQ(NULL, rv[0]);
	EXPECT_EQ(NULL, rv[1]);
	EXPECT_EQ(NULL, rv[2]);
	EXPECT_EQ(NULL, rv[3]);

	reached = p->bss->cons_at_unlock && !p->bss->cons_ran_out && y.hog_read_errno == EAGAIN &&
		  !y.hog_ran_out && y.first_read_after_end;
	fprintf(stderr,
		"# consumer held %u (ran out %u), hog read errno %d, hog ran out %d, consumer's first read returned after the end %d: %llu delivered, end %d%s\n",
		p->bss->cons_at_unlock, p->bss->cons_ran_out, y.hog_read_errno, y.hog_ran_out,
		y.first_read_after_end, (unsigned long long)y.delivered, y.end,
		reached ? "" : " (the order was not reached)");
	EXPECT_EQ(0, y.end) TH_LOG("read(2) did not see the end of file");
	/* The record written before the destroy was read before the end. */
	EXPECT_EQ(1, y.delivered) TH_LOG("read(2) said end of file with a committed record unread");
	close(y.fd);
	close(y.write_fd);
	close(y.watch_fd);
	return reached;
}

TEST_F_TIMEOUT(destroy_end, read_ends_only_after_every_record, 180)
{
	int cycle, reached = 0;

	/*
	 * 6.1's harness runs the test even when its setup skipped or failed:
	 * only a skip by choice may end as one.
	 */
	if (!self->link && self->skip)
		SKIP(return, "%s", self->skipped);
	ASSERT_NE(NULL, self->link) TH_LOG("the setup failed (see above)");
	for (cycle = 0; cycle < CYCLES; cycle++)
		reached += one_cycle(_metadata, self->p);
	/* Otherwise the test showed nothing about the order. */
	EXPECT_GT(reached, 0) TH_LOG("no cycle held read(2) between its two looks");
}

/*
 * Once the ring is destroyed, no record will come to fill a watermark: poll
 * reports the record under it (POLLIN with POLLHUP), not "destroyed and
 * empty" (POLLHUP alone, the library's -EPIPE) with the record left.
 */
TEST(watermark_waits_no_more_once_destroyed)
{
	char rec[16] = "under watermark";
	struct mpmcring_consumer *c;
	struct mpmcring_batch b;
	struct mpmcring *r;
	int fd;

	vm_rmmod("mpmcring_loadgen");
	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen", LOADGEN_ARGS));
	r = mpmcring_open(DEV, 0);
	ASSERT_NE(NULL, r) TH_LOG("%s", mpmcring_errmsg());
	c = mpmcring_consumer_new(r);
	ASSERT_NE(NULL, c) TH_LOG("%s", mpmcring_errmsg());
	ASSERT_EQ(0, mpmcring_set_watermark(r, 4096)) TH_LOG("%s", mpmcring_errmsg());
	fd = open(DEV, O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(sizeof(rec), write(fd, rec, sizeof(rec)));
	/* Under the watermark: not ready while the ring lives. */
	EXPECT_EQ(0, mpmcring_wait(r, 0));
	ASSERT_EQ(0, vm_rmmod("mpmcring_loadgen"));
	EXPECT_EQ(1, mpmcring_wait(r, 1000))
	TH_LOG("destroyed with a record under the watermark: %s", mpmcring_errmsg());
	EXPECT_EQ(1, mpmcring_read_batch(c, &b, 64, 1 << 16));
	mpmcring_commit(c);
	EXPECT_EQ(-EPIPE, mpmcring_wait(r, 1000));
	close(fd);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
}

/*
 * A file that can get no slot for read(2) (it holds max_per_file attached
 * ones, or every slot of the ring is taken) reads a destroyed ring's end
 * of file once nothing is left to claim, and that end is final: a slot
 * that frees later finds nothing either. While a record is left, no slot
 * is still an error (EDQUOT, EUSERS): the record is there for a slot.
 */
TEST(read_without_a_slot_ends_once_destroyed)
{
	char rec[16] = "for a slot", buf[64];
	int reader, full, slotless, fd, fds[64], nfd = 0;
	struct mpmcring_layout l;
	struct mpmcring_stats st;
	uint32_t idx;

	vm_rmmod("mpmcring_loadgen");
	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen", LOADGEN_ARGS));
	/* O_NONBLOCK: a read(2) that should have ended must not sleep. */
	reader = open(DEV, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	full = open(DEV, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	slotless = open(DEV, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	ASSERT_GE(reader, 0);
	ASSERT_GE(full, 0);
	ASSERT_GE(slotless, 0);
	ASSERT_EQ(0, ioctl(reader, MPMCRING_IOC_INFO, &l));
	ASSERT_LT(l.max_per_file + 1, l.max_consumers);
	/* The reader's slot, attached on the empty ring. */
	ASSERT_EQ(-1, read(reader, buf, sizeof(buf)));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(sizeof(rec), write(reader, rec, sizeof(rec)));
	/* full takes max_per_file slots, files of their own take the rest. */
	fd = full;
	while (nfd < 64) {
		if (!ioctl(fd, MPMCRING_IOC_ATTACH, &idx))
			continue;
		if (errno != EDQUOT)
			break;
		fd = fds[nfd++] = open(DEV, O_RDWR | O_CLOEXEC);
		ASSERT_GE(fd, 0);
	}
	ASSERT_EQ(EUSERS, errno);
	ASSERT_EQ(0, ring_stats(reader, &st));
	ASSERT_EQ(l.max_consumers, st.consumers);
	/* While the ring lives, no slot is an error. */
	EXPECT_EQ(-1, read(full, buf, sizeof(buf)));
	EXPECT_EQ(EDQUOT, errno);
	EXPECT_EQ(-1, read(slotless, buf, sizeof(buf)));
	EXPECT_EQ(EUSERS, errno);

	ASSERT_EQ(0, vm_rmmod("mpmcring_loadgen"));
	/* Destroyed with a record left: still an error without a slot. */
	EXPECT_EQ(-1, read(full, buf, sizeof(buf)));
	EXPECT_EQ(EDQUOT, errno);
	EXPECT_EQ(-1, read(slotless, buf, sizeof(buf)));
	EXPECT_EQ(EUSERS, errno);
	/* The reader drains it, then ends. */
	EXPECT_EQ(sizeof(rec), read(reader, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, rec, sizeof(rec)));
	EXPECT_EQ(0, read(reader, buf, sizeof(buf)));
	/* Nothing left: the end without a slot too. */
	EXPECT_EQ(0, read(full, buf, sizeof(buf)))
	TH_LOG("at its quota on a destroyed, drained ring: %s", strerror(errno));
	EXPECT_EQ(0, read(slotless, buf, sizeof(buf)))
	TH_LOG("no slot free on a destroyed, drained ring: %s", strerror(errno));
	/* Final: with a slot free again (fds[0] holds one), still the end. */
	close(fds[0]);
	fds[0] = -1;
	EXPECT_EQ(0, read(slotless, buf, sizeof(buf)))
	TH_LOG("a slot freed after the end: %s", strerror(errno));
	while (nfd)
		close(fds[--nfd]);
	close(slotless);
	close(full);
	close(reader);
}

TEST_HARNESS_MAIN
