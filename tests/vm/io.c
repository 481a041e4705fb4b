// SPDX-License-Identifier: GPL-2.0-only
/*
 * The device file as a copying interface and as an attack surface:
 * write/writev/read semantics and errors, priorities through write(2),
 * blocking writers and readers, hostile mappings and ioctls.
 */
#define _GNU_SOURCE /* mremap */
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <linux/sched.h>
#include <liburing.h>

#include "kselftest_harness.h"
#include "mpmcring.h"
#include "vmtest.h"

#define RING "/dev/mpmcring-io"

FIXTURE(io)
{
	int fd;
	struct mpmcring_layout l;
};

/* A fresh 64 KiB ring per test, from the load generator (no producers). */
FIXTURE_SETUP(io)
{
	ASSERT_EQ(0,
		  vm_insmod("mpmcring_loadgen",
			    "ring=io create=1 size=65536 threads=0 autostart=0 user_max_prio=2"));
	self->fd = open(RING, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->fd, 0);
	ASSERT_EQ(0, ioctl(self->fd, MPMCRING_IOC_INFO, &self->l));
}

FIXTURE_TEARDOWN(io)
{
	close(self->fd);
	vm_rmmod("mpmcring_loadgen");
}

static void set_prio(int fd, uint32_t prio)
{
	ioctl(fd, MPMCRING_IOC_SET_PRIO, &prio);
}

TEST_F(io, write_read_roundtrip)
{
	char in[3000], out[3000];
	size_t lens[] = { 0 + 1, 7, 8, 100, 2999 };
	unsigned int i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (char)(i * 7);
	for (i = 0; i < 5; i++)
		ASSERT_EQ((ssize_t)lens[i], write(self->fd, in + i, lens[i]));
	for (i = 0; i < 5; i++) {
		ASSERT_EQ((ssize_t)lens[i], read(self->fd, out, sizeof(out)));
		EXPECT_EQ(0, memcmp(in + i, out, lens[i]));
	}
	fcntl(self->fd, F_SETFL, O_NONBLOCK);
	EXPECT_EQ(-1, read(self->fd, out, sizeof(out)));
	EXPECT_EQ(EAGAIN, errno);
}

/*
 * The library's writes of an empty record: refused, nothing written. Its
 * write(2) returns 0 and writes no record, which mpmcring_write() used to
 * report as a record written.
 */
TEST_F(io, library_refuses_empty_records)
{
	struct mpmcring *r = mpmcring_open(RING, 0);
	char x = 'x', buf[8];
	struct iovec empty = { &x, 0 }, two[2] = { { &x, 1 }, { &x, 0 } };

	ASSERT_NE(NULL, r);
	EXPECT_EQ(-EINVAL, mpmcring_write(r, &x, 0));
	EXPECT_EQ(-EINVAL, mpmcring_writev(r, &empty, 1));
	EXPECT_EQ(-EINVAL, mpmcring_writev(r, two, 2));
	fcntl(self->fd, F_SETFL, O_NONBLOCK);
	EXPECT_EQ(-1, read(self->fd, buf, sizeof(buf))) TH_LOG("a record was written");
	EXPECT_EQ(EAGAIN, errno);
	mpmcring_close(r);
}

TEST_F(io, read_too_small_keeps_record)
{
	char buf[64] = "abcdefgh";

	ASSERT_EQ(8, write(self->fd, buf, 8));
	EXPECT_EQ(-1, read(self->fd, buf, 7));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_EQ(8, read(self->fd, buf, sizeof(buf)));
}

/*
 * readv(2) and io_uring's reads take one record into one buffer, as
 * read(2). With ->read alone the kernel called it per segment: two 64-byte
 * records came back joined as one 128-byte result, and a blocking readv
 * with one record took it into the first segment and slept for a second.
 * Room in more than one segment is refused (EINVAL) before anything is
 * claimed; a segment list whose room is in one segment reads one record.
 */
static void io_alarm(int sig)
{
	(void)sig;
}

TEST_F(io, readv_takes_one_record_into_one_segment)
{
	char a[64], b[64], big[128], out[64];
	struct iovec two[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	struct iovec empty_and_one[2] = { { b, 0 }, { big, sizeof(big) } };
	struct io_uring ur;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct sigaction wake = { .sa_handler = io_alarm }; /* no SA_RESTART */

	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	ASSERT_EQ(64, write(self->fd, a, 64));
	ASSERT_EQ(64, write(self->fd, b, 64));

	/* Two records ready, room in two segments: refused, nothing taken. */
	EXPECT_EQ(-1, readv(self->fd, two, 2));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(64, read(self->fd, out, sizeof(out)));
	EXPECT_EQ(0, memcmp(out, a, 64));

	/*
	 * One record ready on a blocking file: refused at once, not a sleep
	 * (which an alarm would end with EINTR, rather than the test's
	 * timeout leave the ring to the tests after it).
	 */
	ASSERT_EQ(0, sigaction(SIGALRM, &wake, NULL));
	alarm(5);
	EXPECT_EQ(-1, readv(self->fd, two, 2));
	EXPECT_EQ(EINVAL, errno);
	alarm(0);

	/* The room in one segment, empty ones before it: one record. */
	memset(big, 0, sizeof(big));
	EXPECT_EQ(64, readv(self->fd, empty_and_one, 2));
	EXPECT_EQ(0, memcmp(big, b, 64));

	/* io_uring: a read and a two-segment readv, each one call. */
	ASSERT_EQ(0, io_uring_queue_init(4, &ur, 0));
	ASSERT_EQ(64, write(self->fd, a, 64));
	ASSERT_EQ(64, write(self->fd, b, 64));
	sqe = io_uring_get_sqe(&ur);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_readv(sqe, self->fd, two, 2, 0);
	ASSERT_EQ(1, io_uring_submit(&ur));
	ASSERT_EQ(0, io_uring_wait_cqe(&ur, &cqe));
	EXPECT_EQ(-EINVAL, cqe->res);
	io_uring_cqe_seen(&ur, cqe);
	sqe = io_uring_get_sqe(&ur);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_read(sqe, self->fd, big, sizeof(big), 0);
	ASSERT_EQ(1, io_uring_submit(&ur));
	ASSERT_EQ(0, io_uring_wait_cqe(&ur, &cqe));
	EXPECT_EQ(64, cqe->res);
	EXPECT_EQ(0, memcmp(big, a, 64));
	io_uring_cqe_seen(&ur, cqe);
	io_uring_queue_exit(&ur);
	ASSERT_EQ(64, read(self->fd, out, sizeof(out)));
	EXPECT_EQ(0, memcmp(out, b, 64));
}

/* Whether one of this process's threads is an io_uring worker (iou-wrk-PID). */
static bool io_worker_present(void)
{
	char path[300], comm[32]; /* a d_name is up to 255 bytes */
	struct dirent *e;
	bool found = false;
	DIR *d = opendir("/proc/self/task");

	if (!d)
		return true; /* cannot tell: the test fails, it does not pass */
	while (!found && (e = readdir(d))) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue; /* a thread that ended meanwhile */
		found = fgets(comm, sizeof(comm), f) && !strncmp(comm, "iou-wrk-", 8);
		fclose(f);
	}
	closedir(d);
	return found;
}

/*
 * RWF_NOWAIT and io_uring's tries (IOCB_NOWAIT) on a blocking file: a read
 * of the empty ring and a write to the full one answer EAGAIN at once, and
 * io_uring waits for the record, or for room, in ->poll, then makes the
 * read or write itself. Before the file had FMODE_NOWAIT, RWF_NOWAIT was
 * refused (EOPNOTSUPP, on every kernel). io_uring on 6.1 then waited in
 * ->poll once and, when woken, handed the read or write to a worker thread
 * (iou-wrk-PID), which sleeps in it if it cannot be done by then; 6.12's
 * io_uring makes its tries on a file without FMODE_NOWAIT too once ->poll
 * says ready, so there only the RWF_NOWAIT checks tell. Worker threads
 * stay a few seconds after their last request: the looks after each
 * completion see them.
 */
TEST_F(io, nowait_answers_at_once_and_io_uring_waits_in_poll)
{
	char rec[56], out[64]; /* 64 bytes of ring each */
	struct iovec in = { rec, sizeof(rec) }, iov = { out, sizeof(out) };
	struct io_uring ur;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int i;

	memset(rec, 'n', sizeof(rec));
	EXPECT_EQ(-1, preadv2(self->fd, &iov, 1, -1, RWF_NOWAIT));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(56, pwritev2(self->fd, &in, 1, -1, RWF_NOWAIT));
	EXPECT_EQ(56, preadv2(self->fd, &iov, 1, -1, RWF_NOWAIT));
	EXPECT_EQ(0, memcmp(out, rec, sizeof(rec)));

	/* A read of the empty ring waits; a write completes it. */
	ASSERT_EQ(0, io_uring_queue_init(4, &ur, 0));
	sqe = io_uring_get_sqe(&ur);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_read(sqe, self->fd, out, sizeof(out), 0);
	ASSERT_EQ(1, io_uring_submit(&ur));
	EXPECT_EQ(-EAGAIN, io_uring_peek_cqe(&ur, &cqe));
	EXPECT_FALSE(io_worker_present()) TH_LOG("the read sleeps in an io_uring worker");
	memset(rec, 'r', sizeof(rec));
	ASSERT_EQ(56, write(self->fd, rec, sizeof(rec)));
	ASSERT_EQ(0, io_uring_wait_cqe(&ur, &cqe));
	EXPECT_EQ(56, cqe->res);
	EXPECT_EQ(0, memcmp(out, rec, sizeof(rec)));
	io_uring_cqe_seen(&ur, cqe);
	/* Its retry, once ->poll said readable, was inline too. */
	EXPECT_FALSE(io_worker_present()) TH_LOG("an io_uring worker made the read");

	/* The full ring: a write waits for room; a read makes it. */
	set_prio(self->fd, MPMCRING_PRIO_CRITICAL);
	for (i = 0; i < 1024; i++)
		ASSERT_EQ(56, pwritev2(self->fd, &in, 1, -1, RWF_NOWAIT)) TH_LOG("record %d", i);
	EXPECT_EQ(-1, pwritev2(self->fd, &in, 1, -1, RWF_NOWAIT));
	EXPECT_EQ(EAGAIN, errno);
	sqe = io_uring_get_sqe(&ur);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_write(sqe, self->fd, rec, sizeof(rec), 0);
	ASSERT_EQ(1, io_uring_submit(&ur));
	EXPECT_EQ(-EAGAIN, io_uring_peek_cqe(&ur, &cqe));
	EXPECT_FALSE(io_worker_present()) TH_LOG("the write sleeps in an io_uring worker");
	ASSERT_EQ(56, read(self->fd, out, sizeof(out)));
	ASSERT_EQ(0, io_uring_wait_cqe(&ur, &cqe));
	EXPECT_EQ(56, cqe->res);
	io_uring_cqe_seen(&ur, cqe);
	EXPECT_FALSE(io_worker_present()) TH_LOG("an io_uring worker made the write");
	io_uring_queue_exit(&ur);
}

/* Submits sqe's request and returns its result. */
static int uring_result(struct io_uring *ur)
{
	struct io_uring_cqe *cqe;
	int res;

	if (io_uring_submit(ur) != 1 || io_uring_wait_cqe(ur, &cqe))
		return INT_MIN;
	res = cqe->res;
	io_uring_cqe_seen(ur, cqe);
	return res;
}

/*
 * io_uring's fixed buffers (IORING_OP_READ_FIXED, IORING_OP_WRITE_FIXED:
 * pinned pages the kernel hands over as a bio_vec array) carry one record
 * each way, across a page boundary of the buffer too; a fixed read too
 * short for the record leaves it; a fixed read of the empty ring waits in
 * ->poll for one. Both were refused with EINVAL.
 */
TEST_F(io, io_uring_fixed_buffers_carry_records)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char *buf =
		mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iovec reg = { buf, 4 * page };
	char *in, *out, plain[300];
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct io_uring ur;
	int i;

	ASSERT_NE(MAP_FAILED, buf);
	/* Small pages: the kernel joins a large folio's into one segment. */
	madvise(buf, 4 * page, MADV_NOHUGEPAGE);
	in = buf + page - 100;	    /* 300 bytes over the first boundary */
	out = buf + 3 * page - 150; /* and the third */
	for (i = 0; i < 300; i++)
		in[i] = (char)(i * 13 + 1);
	ASSERT_EQ(0, io_uring_queue_init(4, &ur, 0));
	ASSERT_EQ(0, io_uring_register_buffers(&ur, &reg, 1));

	sqe = io_uring_get_sqe(&ur);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_write_fixed(sqe, self->fd, in, 300, 0, 0);
	EXPECT_EQ(300, uring_result(&ur));

	/* Too short: refused, the record stays for the next read. */
	sqe = io_uring_get_sqe(&ur);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_read_fixed(sqe, self->fd, out, 299, 0, 0);
	EXPECT_EQ(-EMSGSIZE, uring_result(&ur));
	sqe = io_uring_get_sqe(&ur);
	ASSERT_NE(NULL, sqe);
	memset(out, 0, 400);
	io_uring_prep_read_fixed(sqe, self->fd, out, 400, 0, 0);
	EXPECT_EQ(300, uring_result(&ur));
	EXPECT_EQ(0, memcmp(in, out, 300));
	EXPECT_EQ(0, out[300]) TH_LOG("the read wrote past the record");

	/* The empty ring: the fixed read waits for the next record. */
	sqe = io_uring_get_sqe(&ur);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_read_fixed(sqe, self->fd, out, 400, 0, 0);
	ASSERT_EQ(1, io_uring_submit(&ur));
	EXPECT_EQ(-EAGAIN, io_uring_peek_cqe(&ur, &cqe));
	for (i = 0; i < 57; i++)
		plain[i] = (char)(i + 3);
	ASSERT_EQ(57, write(self->fd, plain, 57));
	ASSERT_EQ(0, io_uring_wait_cqe(&ur, &cqe));
	EXPECT_EQ(57, cqe->res);
	io_uring_cqe_seen(&ur, cqe);
	EXPECT_EQ(0, memcmp(plain, out, 57));

	/* And a fixed write is one record, read back by read(2). */
	sqe = io_uring_get_sqe(&ur);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_write_fixed(sqe, self->fd, in + 10, 200, 0, 0);
	EXPECT_EQ(200, uring_result(&ur));
	EXPECT_EQ(200, read(self->fd, plain, sizeof(plain)));
	EXPECT_EQ(0, memcmp(in + 10, plain, 200));
	EXPECT_FALSE(io_worker_present()) TH_LOG("an io_uring worker made a request");
	io_uring_queue_exit(&ur);
	munmap(buf, 4 * page);
}

/* The pid the consumer list gives for slot, or -1 when it is not listed. */
static long listed_pid(int fd, uint32_t slot)
{
	struct mpmcring_consumer_info info[16];
	struct mpmcring_consumers list = { .max = 16, .info = (uintptr_t)info };
	uint32_t i;

	if (ioctl(fd, MPMCRING_IOC_CONSUMERS, &list))
		return -1;
	for (i = 0; i < list.count; i++)
		if (info[i].slot == slot)
			return info[i].pid;
	return -1;
}

/*
 * The consumer list gives pids as the caller's pid namespace sees them: a
 * consumer in a new pid namespace finds itself as pid 1 there and its
 * parent's consumer as 0 (not visible), while from outside it is the pid
 * fork gave. The list used to give the initial namespace's pid to
 * everyone, so a consumer in a container could not find itself (mpmcring
 * cat took its own slot for another consumer's).
 */
TEST_F(io, consumers_list_pids_as_the_callers_namespace_sees_them)
{
	struct {
		uint32_t slot;
		long self, parent;
	} rep = { 0 };
	int in_pid[2], up[2], down[2], status;
	uint32_t mine;
	pid_t helper, inner = 0;
	char c;

	if (access("/proc/self/ns/pid", F_OK))
		SKIP(return, "this kernel has no pid namespaces (CONFIG_PID_NS)");
	ASSERT_EQ(0, ioctl(self->fd, MPMCRING_IOC_ATTACH, &mine));
	ASSERT_EQ(0, pipe(in_pid));
	ASSERT_EQ(0, pipe(up));
	ASSERT_EQ(0, pipe(down));
	helper = fork();
	ASSERT_GE(helper, 0);
	if (helper == 0) {
		/* The next child is pid 1 of a new namespace; it reports up. */
		pid_t in;

		close(down[1]); /* the test's close alone ends the wait below */
		if (unshare(CLONE_NEWPID))
			_exit(2);
		in = fork();
		if (in == 0) {
			int fd = open(RING, O_RDWR | O_CLOEXEC);

			if (fd < 0 || ioctl(fd, MPMCRING_IOC_ATTACH, &rep.slot))
				_exit(3);
			rep.self = listed_pid(fd, rep.slot);
			rep.parent = listed_pid(fd, mine);
			if (write(up[1], &rep, sizeof(rep)) != sizeof(rep))
				_exit(4);
			/* Attached until the test has looked from outside. */
			_exit(read(down[0], &c, 1) < 0 ? 5 : 0);
		}
		if (in < 0 || write(in_pid[1], &in, sizeof(in)) != sizeof(in))
			_exit(6);
		_exit(waitpid(in, &status, 0) == in && WIFEXITED(status) ? WEXITSTATUS(status) : 7);
	}
	close(in_pid[1]);
	close(up[1]);
	close(down[0]);
	ASSERT_EQ(sizeof(inner), read(in_pid[0], &inner, sizeof(inner)));
	ASSERT_EQ(sizeof(rep), read(up[0], &rep, sizeof(rep)));
	EXPECT_EQ(1, rep.self)
	TH_LOG("the consumer in its own pid namespace is listed as %ld", rep.self);
	EXPECT_EQ(0, rep.parent)
	TH_LOG("a consumer outside the namespace is listed inside it as %ld", rep.parent);
	EXPECT_EQ(inner, listed_pid(self->fd, rep.slot));
	EXPECT_EQ(getpid(), listed_pid(self->fd, mine));
	close(down[1]);
	ASSERT_EQ(helper, waitpid(helper, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
	TH_LOG("the helper's status %#x", status);
	close(in_pid[0]);
	close(up[0]);
}

/*
 * A consumer whose process is gone reads as pid 0, even while its pid
 * lives on as the process group of a process that inherited its file: the
 * number leads no thread group any more (a pipeline's leader that exited).
 */
TEST_F(io, consumers_list_a_gone_process_as_0)
{
	int up[2], down[2], status;
	pid_t leader, member = 0;
	uint32_t slot = 0;
	char c;

	ASSERT_EQ(0, pipe(up));
	ASSERT_EQ(0, pipe(down));
	leader = fork();
	ASSERT_GE(leader, 0);
	if (leader == 0) {
		pid_t m;

		close(down[1]);
		/* The group is ours; its member keeps the file, and the slot. */
		if (setpgid(0, 0) || ioctl(self->fd, MPMCRING_IOC_ATTACH, &slot))
			_exit(2);
		m = fork();
		if (m == 0)
			_exit(read(down[0], &c, 1) < 0 ? 3 : 0);
		if (m < 0 || write(up[1], &slot, sizeof(slot)) != sizeof(slot) ||
		    write(up[1], &m, sizeof(m)) != sizeof(m))
			_exit(4);
		_exit(0); /* the leader goes; its pid stays the group's */
	}
	close(up[1]);
	close(down[0]);
	ASSERT_EQ(sizeof(slot), read(up[0], &slot, sizeof(slot)));
	ASSERT_EQ(sizeof(member), read(up[0], &member, sizeof(member)));
	ASSERT_EQ(leader, waitpid(leader, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_EQ(leader, getpgid(member)) TH_LOG("the member left the leader's group");
	EXPECT_EQ(0, listed_pid(self->fd, slot))
	TH_LOG("the gone leader %d is listed as %ld", leader, listed_pid(self->fd, slot));
	close(down[1]); /* the member ends; it is not our child: init reaps it */
	close(up[0]);
}

/*
 * A consumer's pid, once its process is gone, names no one else: a process
 * given the same number later (clone3's set_tid, as pids wrap on a busy
 * machine) is not listed for the slot. The list looked the number up and
 * gave it to whoever held it now.
 */
TEST_F(io, consumers_list_no_later_process_under_a_reused_pid)
{
	struct clone_args args = { .exit_signal = SIGCHLD, .set_tid_size = 1 };
	int up[2], down[2], status;
	pid_t gone, again;
	uint32_t slot = 0;
	pid_t tid;
	char c;

	ASSERT_EQ(0, pipe(up));
	ASSERT_EQ(0, pipe(down));
	gone = fork();
	ASSERT_GE(gone, 0);
	if (gone == 0) {
		/* Attached through the fixture's file: the slot outlives us. */
		if (ioctl(self->fd, MPMCRING_IOC_ATTACH, &slot) ||
		    write(up[1], &slot, sizeof(slot)) != sizeof(slot))
			_exit(2);
		_exit(0);
	}
	close(up[1]); /* a child that fails ends the read below */
	ASSERT_EQ(sizeof(slot), read(up[0], &slot, sizeof(slot)));
	ASSERT_EQ(gone, waitpid(gone, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_EQ(0, listed_pid(self->fd, slot));

	tid = gone;
	args.set_tid = (uintptr_t)&tid;
	again = syscall(SYS_clone3, &args, sizeof(args));
	ASSERT_GE(again, 0) TH_LOG("clone3 with set_tid %d: %s", gone, strerror(errno));
	if (again == 0) {
		close(down[1]);
		_exit(read(down[0], &c, 1) < 0 ? 3 : 0);
	}
	close(down[0]);
	ASSERT_EQ(gone, again) TH_LOG("set_tid was not taken");
	EXPECT_EQ(0, listed_pid(self->fd, slot))
	TH_LOG("slot %u, attached by the gone %d, is listed as %ld, a later process", slot, gone,
	       listed_pid(self->fd, slot));
	close(down[1]);
	ASSERT_EQ(again, waitpid(again, &status, 0));
	close(up[0]);
}

/* Pages of [p, p + len) in memory. */
static size_t resident_pages(void *p, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), i, n = 0;
	unsigned char vec[64];

	if (len / page > sizeof(vec) || mincore(p, len, vec))
		return SIZE_MAX;
	for (i = 0; i < len / page; i++)
		n += vec[i] & 1;
	return n;
}

/*
 * read(2) faults in the part of the buffer the record at the head needs,
 * before claiming it: with no record there, that is nothing but the first
 * byte, not the whole buffer (a poller with a large buffer would touch, and
 * make resident, max_record bytes on every empty read).
 */
TEST_F(io, read_faults_in_what_the_record_needs)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len = self->l.max_record & ~(page - 1);
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *src;

	ASSERT_NE(MAP_FAILED, buf);
	/* One fault, one page: no huge folio filled at once. */
	madvise(buf, len, MADV_NOHUGEPAGE);
	ASSERT_GE(len / page, 4);
	ASSERT_LE(len / page, 64);
	ASSERT_EQ(0, resident_pages(buf, len));
	fcntl(self->fd, F_SETFL, O_NONBLOCK);
	EXPECT_EQ(-1, read(self->fd, buf, len));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_GE(1, resident_pages(buf, len))
	TH_LOG("an empty read touched %zu of %zu pages", resident_pages(buf, len), len / page);
	/* A record of two pages: those, not the rest. */
	src = calloc(2, page);
	ASSERT_NE(NULL, src);
	ASSERT_EQ((ssize_t)(2 * page), write(self->fd, src, 2 * page));
	EXPECT_EQ((ssize_t)(2 * page), read(self->fd, buf, len));
	EXPECT_EQ(2, resident_pages(buf, len));
	free(src);
	munmap(buf, len);
}

TEST_F(io, too_big_is_refused)
{
	struct mpmcring_stats st;
	char *big = calloc(1, self->l.max_record + 1);

	ASSERT_NE(NULL, big);
	EXPECT_EQ(-1, write(self->fd, big, self->l.max_record + 1));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_EQ((ssize_t)self->l.max_record, write(self->fd, big, self->l.max_record));
	ASSERT_EQ(0, ring_stats(self->fd, &st));
	/* The writer was told and still holds the data: not a drop. */
	EXPECT_EQ(0, st.dropped[MPMCRING_DROP_TOO_BIG][MPMCRING_PRIO_NORMAL]);
	EXPECT_EQ(1, st.produced_records);
	free(big);
}

TEST_F(io, writev_is_a_batch)
{
	char a[] = "one", b[] = "three", c[] = "seventeen";
	struct iovec iov[3] = { { a, 3 }, { b, 5 }, { c, 9 } };
	char *big = calloc(1, self->l.max_record + 1);
	struct iovec bad[2] = { { a, 3 }, { big, self->l.max_record + 1 } };
	char out[64];

	ASSERT_NE(NULL, big);
	ASSERT_EQ(17, writev(self->fd, iov, 3));
	/* All or nothing: one record too big, none written. */
	EXPECT_EQ(-1, writev(self->fd, bad, 2));
	EXPECT_EQ(EMSGSIZE, errno);
	ASSERT_EQ(3, read(self->fd, out, sizeof(out)));
	EXPECT_EQ(0, memcmp(out, "one", 3));
	ASSERT_EQ(5, read(self->fd, out, sizeof(out)));
	EXPECT_EQ(0, memcmp(out, "three", 5));
	ASSERT_EQ(9, read(self->fd, out, sizeof(out)));
	EXPECT_EQ(0, memcmp(out, "seventeen", 9));
	fcntl(self->fd, F_SETFL, O_NONBLOCK);
	EXPECT_EQ(-1, read(self->fd, out, sizeof(out)));
	free(big);
}

/* Full and non-blocking: EAGAIN at each class's watermark. */
TEST_F(io, nonblocking_full_and_priorities)
{
	struct mpmcring_stats st;
	char rec[56] = { 0 }; /* 64 bytes of ring each */
	int low = 0, normal = 0, crit = 0;

	fcntl(self->fd, F_SETFL, O_NONBLOCK);
	set_prio(self->fd, MPMCRING_PRIO_LOW);
	while (write(self->fd, rec, sizeof(rec)) > 0)
		low++;
	EXPECT_EQ(EAGAIN, errno);
	set_prio(self->fd, MPMCRING_PRIO_NORMAL);
	while (write(self->fd, rec, sizeof(rec)) > 0)
		normal++;
	set_prio(self->fd, MPMCRING_PRIO_CRITICAL);
	while (write(self->fd, rec, sizeof(rec)) > 0)
		crit++;
	/* 1024 records fill 64 KiB: low stops at 1/2, normal at 1/8 free. */
	EXPECT_EQ(512, low);
	EXPECT_EQ(384, normal);
	EXPECT_EQ(128, crit);
	ASSERT_EQ(0, ring_stats(self->fd, &st));
	/* Refused writes are errnos to the writer, not drops (write.c). */
	EXPECT_EQ(0, st.dropped[MPMCRING_DROP_PRIORITY][MPMCRING_PRIO_LOW]);
	EXPECT_EQ(0, st.dropped[MPMCRING_DROP_PRIORITY][MPMCRING_PRIO_NORMAL]);
	EXPECT_EQ(0, st.dropped[MPMCRING_DROP_FULL][MPMCRING_PRIO_CRITICAL]);
	EXPECT_EQ(1024, st.in_ring_records);
	EXPECT_EQ(-1, ioctl(self->fd, MPMCRING_IOC_SET_PRIO, &(uint32_t){ 3 }));
	EXPECT_EQ(EINVAL, errno);
}

struct blocked {
	int fd;
	ssize_t ret;
	int done;
	pid_t tid;
};

static void *blocking_write(void *arg)
{
	struct blocked *b = arg;
	char rec[56] = { 1 };

	__atomic_store_n(&b->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	b->ret = write(b->fd, rec, sizeof(rec));
	__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *blocking_read(void *arg)
{
	struct blocked *b = arg;
	char buf[64];

	__atomic_store_n(&b->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	b->ret = read(b->fd, buf, sizeof(buf));
	__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A blocking writer waits for space rather than dropping. */
TEST_F(io, blocking_writer_waits_for_space)
{
	struct blocked b = { .fd = self->fd };
	struct mpmcring_stats st;
	char rec[56] = { 0 }, buf[64];
	pthread_t th;
	int i;

	set_prio(self->fd, MPMCRING_PRIO_CRITICAL);
	for (i = 0; i < 1024; i++)
		ASSERT_EQ(56, write(self->fd, rec, sizeof(rec)));
	ASSERT_EQ(0, pthread_create(&th, NULL, blocking_write, &b));
	/* Handshake: the writer is asleep in the kernel, not yet done. */
	ASSERT_TRUE(vm_wait_asleep(&b.tid));
	EXPECT_EQ(0, __atomic_load_n(&b.done, __ATOMIC_ACQUIRE));
	ASSERT_EQ(56, read(self->fd, buf, sizeof(buf)));
	pthread_join(th, NULL);
	EXPECT_EQ(56, b.ret);
	ASSERT_EQ(0, ring_stats(self->fd, &st));
	EXPECT_EQ(0, stats_dropped(&st));
	EXPECT_EQ(1025, st.produced_records);
}

TEST_F(io, blocking_reader_waits_for_data)
{
	struct blocked b;
	pthread_t th;
	int fd2 = open(RING, O_RDWR | O_CLOEXEC);

	ASSERT_GE(fd2, 0);
	b = (struct blocked){ .fd = fd2 };
	ASSERT_EQ(0, pthread_create(&th, NULL, blocking_read, &b));
	ASSERT_TRUE(vm_wait_asleep(&b.tid));
	EXPECT_EQ(0, __atomic_load_n(&b.done, __ATOMIC_ACQUIRE));
	ASSERT_EQ(5, write(self->fd, "hello", 5));
	pthread_join(th, NULL);
	EXPECT_EQ(5, b.ret);
	close(fd2);
}

/*
 * Records of several pages landing while a reader with a large buffer
 * reads: a read that found the ring empty faults in one byte, and one
 * that then meets a record goes round again for it. Every record arrives,
 * in order, and no read says EMSGSIZE (the buffer holds any of them).
 */
TEST_F(io, reads_meeting_records_that_land_take_them_all)
{
	struct vm_writer s = { .fd = self->fd, .n = 200, .len = VM_WRITER_MAX - 100 };
	int rfd = open(RING, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	uint64_t deadline = vm_now_ns() + 20000000000ULL;
	static char buf[4 * 4096];
	unsigned int got = 0, id;
	pthread_t th;
	ssize_t n;

	ASSERT_GE(rfd, 0);
	ASSERT_LE(s.len, self->l.max_record);
	ASSERT_EQ(0, pthread_create(&th, NULL, vm_writer_thread, &s));
	/* Until all arrived, the writer stopped and the ring is empty, or 20 s. */
	while (got < s.n && vm_now_ns() < deadline) {
		int done = __atomic_load_n(&s.done, __ATOMIC_ACQUIRE);

		n = read(rfd, buf, sizeof(buf));
		if (n < 0 && errno == EAGAIN) {
			if (done)
				break;
			continue;
		}
		ASSERT_EQ((ssize_t)s.len, n) TH_LOG("record %u: %s", got, strerror(errno));
		memcpy(&id, buf, sizeof(id));
		ASSERT_EQ(got, id);
		got++;
	}
	pthread_join(th, NULL);
	EXPECT_EQ(s.n, s.written);
	EXPECT_EQ(s.n, got);
	close(rfd);
}

/* Every way to map more than allowed fails with the documented errno. */
TEST_F(io, hostile_mappings)
{
	const struct mpmcring_layout *l = &self->l;
	void *p, *ro;
	int rdonly;

	/* Wrong offsets and lengths: EINVAL. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd, 4096));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED,
		  mmap(NULL, l->ro_size + 4096, PROT_READ, MAP_SHARED, self->fd, MPMCRING_OFF_RO));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED,
		  mmap(NULL, l->ro_size - 4096, PROT_READ, MAP_SHARED, self->fd, MPMCRING_OFF_RO));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, l->cons_size + 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
				   self->fd, MPMCRING_OFF_CONS));
	EXPECT_EQ(EINVAL, errno);
	/* Private mappings would copy on write: EINVAL. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, l->cons_size, PROT_READ | PROT_WRITE, MAP_PRIVATE,
				   self->fd, MPMCRING_OFF_CONS));
	EXPECT_EQ(EINVAL, errno);
	/* Write or exec on the read-only part: EPERM. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, l->ro_size, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
				   MPMCRING_OFF_RO));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, l->ro_size, PROT_READ | PROT_EXEC, MAP_SHARED, self->fd,
				   MPMCRING_OFF_RO));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, l->cons_size, PROT_READ | PROT_EXEC, MAP_SHARED, self->fd,
				   MPMCRING_OFF_CONS));
	EXPECT_EQ(EPERM, errno);

	/* Mapped read-only, it cannot be made writable or executable. */
	ro = mmap(NULL, l->ro_size, PROT_READ, MAP_SHARED, self->fd, MPMCRING_OFF_RO);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-1, mprotect(ro, l->ro_size, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(-1, mprotect(ro, 4096, PROT_READ | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
	/* Nor grow. */
	p = mremap(ro, l->ro_size, l->ro_size + 4096, MREMAP_MAYMOVE);
	EXPECT_EQ(MAP_FAILED, p);
	/* The data is mapped twice: the byte after the end is the first. */
	EXPECT_EQ(0, memcmp((char *)ro + l->data_offset, (char *)ro + l->data_offset + l->data_size,
			    4096));
	munmap(ro, l->ro_size);

	/* A file opened read-only cannot map the consumer area writable. */
	rdonly = open(RING, O_RDONLY | O_CLOEXEC);
	ASSERT_GE(rdonly, 0);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, l->cons_size, PROT_READ | PROT_WRITE, MAP_SHARED, rdonly,
				   MPMCRING_OFF_CONS));
	EXPECT_EQ(EACCES, errno);
	p = mmap(NULL, l->cons_size, PROT_READ, MAP_SHARED, rdonly, MPMCRING_OFF_CONS);
	EXPECT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, mprotect(p, l->cons_size, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	munmap(p, l->cons_size);
	close(rdonly);
}

TEST_F(io, ioctls)
{
	uint32_t idx[100], n = 0, bogus = 5000, mine = 0;
	int fds[16], nfd = 0, fd = self->fd;
	unsigned int i;

	EXPECT_EQ(-1, ioctl(self->fd, _IO('R', 0xff)));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, MPMCRING_IOC_INFO, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	/*
	 * Slots until the ring has no more, each one distinct; each file
	 * takes max_per_file of them, then the next file goes on.
	 */
	while (n < 100) {
		if (ioctl(fd, MPMCRING_IOC_ATTACH, &idx[n]) == 0) {
			n++;
			mine += fd == self->fd;
			continue;
		}
		if (errno != EDQUOT || nfd == 16)
			break;
		fd = fds[nfd++] = open(RING, O_RDWR | O_CLOEXEC);
		ASSERT_GE(fd, 0);
	}
	EXPECT_EQ(EUSERS, errno);
	EXPECT_EQ(self->l.max_consumers, n);
	for (i = 1; i < n; i++)
		EXPECT_NE(idx[i - 1], idx[i]);
	/* Only this file's slots can be detached. */
	EXPECT_EQ(-1, ioctl(self->fd, MPMCRING_IOC_DETACH, &bogus));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, MPMCRING_IOC_DETACH, &idx[n - 1]));
	EXPECT_EQ(EINVAL, errno);
	for (i = 0; i < mine; i++)
		EXPECT_EQ(0, ioctl(self->fd, MPMCRING_IOC_DETACH, &idx[i]));
	EXPECT_EQ(-1, ioctl(self->fd, MPMCRING_IOC_DETACH, &idx[0]));
	while (nfd)
		close(fds[--nfd]);
	EXPECT_EQ(-1, ioctl(self->fd, MPMCRING_IOC_SET_WATERMARK,
			    &(uint64_t){ self->l.data_size / 2 + 1 }));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, ioctl(self->fd, MPMCRING_IOC_SET_WATERMARK,
			   &(uint64_t){ self->l.data_size / 2 }));
}

TEST_HARNESS_MAIN
