/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for the tests that run inside the test VMs: load and unload the
 * load generator, read its counters and the ring's, and check records.
 * The modules live in $MPMCRING_MODDIR (default /lib/mpmcring).
 */
#ifndef MPMCRING_VMTEST_H
#define MPMCRING_VMTEST_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/mpmcring.h>
#include "mpmcring_testrec.h"

#define LG_STATS "/sys/kernel/debug/mpmcring_loadgen/stats"
#define LG_CONTROL "/sys/kernel/debug/mpmcring_loadgen/control"

static inline const char *vm_moddir(void)
{
	const char *d = getenv("MPMCRING_MODDIR");

	return d ? d : "/lib/mpmcring";
}

/* Loads a module from the module directory with parameters; 0 or -errno. */
static inline int vm_insmod(const char *name, const char *params)
{
	char path[256];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s.ko", vm_moddir(), name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params ? params : "", 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

static inline int vm_rmmod(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

/* /dev/kmsg opened at its end: what the kernel logs next is the test's. */
static inline int vm_kmsg_open_at_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/*
 * The next kernel log message read from fd, in rec: the text after the
 * record's "prio,seq,ts,flags;" header, up to its first newline; NULL once
 * nothing is left. Records the kernel overwrote before this read are
 * skipped (EPIPE; the next read returns the oldest one left).
 */
static inline char *vm_kmsg_next(int fd, char *rec, size_t size)
{
	char *msg, *nl;
	ssize_t n;

	for (;;) {
		n = read(fd, rec, size - 1);
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			return NULL;
		rec[n] = 0;
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = 0;
		return msg;
	}
}

/* Whether a message logged since vm_kmsg_open_at_end() holds want. */
static inline bool vm_kmsg_has(int fd, const char *want)
{
	char rec[2048], *msg;
	bool found = false;

	while ((msg = vm_kmsg_next(fd, rec, sizeof(rec))))
		found |= strstr(msg, want) != NULL;
	return found;
}

static inline void vm_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static inline uint64_t vm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * What a ping-pong writer has sent: how many records, and when (monotonic)
 * its last write(2) returned. A waiter whose wait of ms timed out asks
 * whether the record it waited for was sent well before the wait's
 * deadline: by start + ms / 2 (vm_sent_lost_by()). Then it was committed,
 * and its wakeup due, half the wait before the kernel's deadline (which
 * is at least start + ms: it starts counting after the caller read the
 * clock), and a timeout is a lost wakeup whatever the guest's speed. Not
 * the deadline itself: a commit only starts the wakeup, which goes on
 * through irq_work (a kthread on PREEMPT_RT) or io_uring's task_work, and
 * a record committed just before the deadline can time its waiter out
 * with nothing lost. A record sent later (a writer the guest did not run
 * for that long) is no wakeup lost: the waiter waits again. A real lost
 * wakeup has its record sent microseconds after the waiter's drain, so
 * the margin costs no detection.
 * poll(2) cannot show a lost wakeup as a timeout at all: do_poll() polls
 * every file once more after its timer fired, so a waiter whose wakeup
 * was lost returns 1 after the full wait (vm_poll_lost_by() tells that
 * from a wakeup). epoll_wait() and io_uring return the timeout.
 */
struct vm_sent {
	uint64_t count, at_ns;
};

static inline void vm_sent_mark(struct vm_sent *s, uint64_t count)
{
	__atomic_store_n(&s->at_ns, vm_now_ns(), __ATOMIC_RELAXED);
	__atomic_store_n(&s->count, count, __ATOMIC_RELEASE);
}

/* Whether record seq (0-based) had been sent by deadline_ns. */
static inline bool vm_sent_before(const struct vm_sent *s, uint64_t seq, uint64_t deadline_ns)
{
	return __atomic_load_n(&s->count, __ATOMIC_ACQUIRE) > seq &&
	       __atomic_load_n(&s->at_ns, __ATOMIC_RELAXED) < deadline_ns;
}

/*
 * Whether a wait of ms for record seq, started at start_ns, that timed out
 * lost a wakeup: the record was sent by start + ms / 2 (see above).
 */
static inline bool vm_sent_lost_by(const struct vm_sent *s, uint64_t seq, uint64_t start_ns,
				   uint64_t ms)
{
	return vm_sent_before(s, seq, start_ns + ms / 2 * 1000000ULL);
}

/* Which wakeup count of struct mpmcring_stats vm_ring_wakeups() reads. */
enum vm_wakeups {
	VM_WAKEUPS,	 /* .wakeups: sent to sleeping consumers */
	VM_ROOM_WAKEUPS, /* .room_wakeups: sent to writers waiting for room
			  * (ABI 1.4: the tests check MPMCRING_ABI_MINOR_ROOM_WAKEUPS) */
};

/*
 * The ring's count of wakeups of the kind which (through fd), or UINT64_MAX
 * when it cannot be read (errno tells).
 */
static inline uint64_t vm_ring_wakeups(int fd, enum vm_wakeups which)
{
	struct mpmcring_stats st = { 0 };

	if (ioctl(fd, MPMCRING_IOC_STATS, &st))
		return UINT64_MAX;
	return which == VM_ROOM_WAKEUPS ? st.room_wakeups : st.wakeups;
}

/*
 * Whether a poll(2) wait of ms for record seq on the ring fd, started at
 * start_ns with the ring's count of which wakeups at count0
 * (vm_ring_wakeups(); UINT64_MAX: unknown, and then no wait counts as
 * lost), that returned ready lost a wakeup: poll(2) re-checks the file
 * after its timer fired, so there a lost wakeup returns ready, not a
 * timeout, once ms have passed (above). Lost when it returned at start +
 * ms or later, with the record sent by start + ms / 2 (the rule for a
 * timeout, vm_sent_lost_by()), and the kernel sent no wakeup meanwhile.
 * The last part is what the waiter's own timing cannot tell: a waiter
 * woken on time but not run for seconds after (a loaded host stalls a
 * vCPU, and the guest cannot see it) returns as late as one never woken;
 * the kernel counts each wakeup before it sends it. Call it as soon as the
 * wait returned.
 *
 * A consumer's wait for records counts VM_WAKEUPS. A writer's wait for
 * room (POLLOUT) counts VM_ROOM_WAKEUPS, and its "record" is drain seq of
 * s (a vm_sent that counts the frees; 0-based, like a record): those
 * wakeups come from the housekeeping tick, one tick (MPMCRING_TICK_MS,
 * 100 ms) after the free at most, far inside the margin of ms / 2 (or
 * from the read(2) that freed the room, sooner).
 */
static inline bool vm_poll_lost_by(const struct vm_sent *s, uint64_t seq, uint64_t start_ns,
				   uint64_t ms, int fd, enum vm_wakeups which, uint64_t count0)
{
	return vm_now_ns() - start_ns >= ms * 1000000ULL && vm_sent_lost_by(s, seq, start_ns, ms) &&
	       count0 != UINT64_MAX && vm_ring_wakeups(fd, which) == count0;
}

/*
 * A thread asleep in one poll(2) of fd for events, up to ms:
 * vm_poll_sleeper_thread() is its thread function. It publishes its thread id in
 * tid (vm_wait_asleep() waits on that), polls, records what poll(2)
 * returned (ret, revents) and how long it took (waited_ms), then sets done.
 * With sent set, the wait is for the first mark of *sent (vm_sent_mark()),
 * and the sleeper reads the ring's count of which wakeups into count0
 * before it publishes tid (so before the test, waiting for it asleep, can
 * mark), and sets lost as soon as poll(2) returned: vm_poll_lost_by().
 */
struct vm_poll_sleeper {
	/* Set by the test. */
	int fd, ms;
	short events;
	const struct vm_sent *sent;
	enum vm_wakeups which;
	/* Set by the thread. */
	uint64_t count0;
	pid_t tid;
	int ret;
	short revents;
	uint64_t waited_ms;
	bool lost;
	int done;
};

static inline void *vm_poll_sleeper_thread(void *arg)
{
	struct vm_poll_sleeper *s = arg;
	struct pollfd pfd = { .fd = s->fd, .events = s->events };
	uint64_t t0;

	if (s->sent)
		s->count0 = vm_ring_wakeups(s->fd, s->which);
	__atomic_store_n(&s->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	t0 = vm_now_ns();
	s->ret = poll(&pfd, 1, s->ms);
	s->lost = s->sent && s->ret == 1 &&
		  vm_poll_lost_by(s->sent, 0, t0, s->ms, s->fd, s->which, s->count0);
	s->waited_ms = (vm_now_ns() - t0) / 1000000;
	s->revents = pfd.revents;
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * A thread writing n records of len bytes (at most VM_WRITER_MAX) to fd
 * with write(2), blocking or not as fd is, each numbered in its first
 * four bytes: vm_writer_thread() is its thread function. It publishes its
 * thread id in tid (vm_wait_asleep() waits on that), counts each record
 * that got in (written), and sets done when it stops: after n, or at the
 * first write that failed.
 */
#define VM_WRITER_MAX (3 * 4096)
struct vm_writer {
	/* Set by the test. */
	int fd;
	unsigned int n;
	size_t len;
	/* Set by the thread. */
	pid_t tid;
	unsigned int written;
	int done;
};

static inline void *vm_writer_thread(void *arg)
{
	struct vm_writer *w = arg;
	char rec[VM_WRITER_MAX] = { 0 };
	unsigned int i;

	__atomic_store_n(&w->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	for (i = 0; i < w->n && w->len <= sizeof(rec); i++) {
		memcpy(rec, &i, sizeof(i));
		if (write(w->fd, rec, w->len) != (ssize_t)w->len)
			break;
		__atomic_store_n(&w->written, i + 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Writes "start" or "stop" to the load generator's control file. */
static inline int lg_control(const char *cmd)
{
	int fd = open(LG_CONTROL, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, cmd, strlen(cmd));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* The load generator's counters: per producer and in total. */
struct lg_stats {
	unsigned int producers;
	uint64_t attempted[64], committed[64], dropped[64];
	uint64_t elapsed_ns[64]; /* first to last record, kernel clock */
	uint64_t outputs[64];	 /* of attempted, through mpmcring_output() */
	char ctx[64][16];
	uint64_t total_attempted, total_committed, total_dropped;
	int finished;
};

static inline int lg_read_stats(struct lg_stats *s)
{
	FILE *f = fopen(LG_STATS, "r");
	char line[256];

	if (!f)
		return -errno;
	memset(s, 0, sizeof(*s));
	while (fgets(line, sizeof(line), f)) {
		unsigned int id;
		int cpu, done;
		char ctx[16];
		unsigned long long a, c, d, e = 0, o = 0;

		if (sscanf(line, "%u %15s %d %llu %llu %llu %d %llu %llu", &id, ctx, &cpu, &a, &c,
			   &d, &done, &e, &o) >= 7 &&
		    id < 64) {
			s->elapsed_ns[id] = e;
			s->outputs[id] = o;
			s->attempted[id] = a;
			s->committed[id] = c;
			s->dropped[id] = d;
			snprintf(s->ctx[id], sizeof(s->ctx[id]), "%s", ctx);
			if (id + 1 > s->producers)
				s->producers = id + 1;
		} else if (sscanf(line, "total %llu %llu %llu", &a, &c, &d) == 3) {
			s->total_attempted = a;
			s->total_committed = c;
			s->total_dropped = d;
		} else {
			sscanf(line, "finished %d", &s->finished);
		}
	}
	fclose(f);
	return 0;
}

/* Waits until every producer attempted its count; false after timeout_s. */
static inline bool lg_wait_finished(int timeout_s)
{
	struct lg_stats s;
	int i;

	for (i = 0; i < timeout_s * 20; i++) {
		if (!lg_read_stats(&s) && s.finished)
			return true;
		vm_sleep_ms(50);
	}
	return false;
}

/*
 * Reads from fd until want bytes arrived or timeout_ms passed without any;
 * how many arrived.
 */
static inline size_t vm_read_until(int fd, char *buf, size_t want, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t len = 0;
	ssize_t n;

	while (len < want && poll(&p, 1, timeout_ms) == 1) {
		n = read(fd, buf + len, want - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	return len;
}

/* The state letter ('S' asleep) of the stat file at path, or 0. */
static inline char vm_stat_state(const char *path)
{
	char line[256], *p;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return 0;
	p = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
	fclose(f);
	return p && p[1] ? p[2] : 0;
}

/* A thread of ours: its state letter from /proc ('S' asleep), or 0. */
static inline char vm_task_state(pid_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	return vm_stat_state(path);
}

/* A deadline ms from now, on the clock vm_now_ns() reads. */
static inline uint64_t vm_deadline_ms(uint64_t ms)
{
	return vm_now_ns() + ms * 1000000ULL;
}

/*
 * Waits until process pid (single-threaded: a child we ran) is asleep ('S')
 * on two looks 100 ms apart: blocked in the kernel, not merely slow,
 * however slowly the guest runs it. False if that has not happened by
 * deadline_ns (vm_now_ns()'s clock): callers pick a deadline inside their
 * test's timeout, so that a program that never sleeps fails by name.
 */
static inline bool vm_wait_proc_asleep(pid_t pid, uint64_t deadline_ns)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	do {
		if (vm_stat_state(path) == 'S') {
			vm_sleep_ms(100);
			if (vm_stat_state(path) == 'S')
				return true;
		}
		vm_sleep_ms(100);
	} while (vm_now_ns() < deadline_ns);
	return false;
}

/*
 * Runs argv[0] (a path; argv NULL-terminated) in a child with stdout on
 * out_fd and stderr on err_fd (-1: the test's own). close_fd, the read
 * end of out_fd's pipe, is closed in the child, so the pipe ends when the
 * child and the test close their write ends. The child's pid, or -1; the
 * child exits 127 when the exec fails.
 */
static inline pid_t vm_spawn(const char *const argv[], int out_fd, int err_fd, int close_fd)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	dup2(out_fd, STDOUT_FILENO);
	if (err_fd >= 0)
		dup2(err_fd, STDERR_FILENO);
	close(close_fd);
	close(out_fd);
	if (err_fd > STDERR_FILENO && err_fd != out_fd)
		close(err_fd);
	execv(argv[0], (char *const *)argv);
	dprintf(STDERR_FILENO, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/*
 * Waits until child pid exits, looking every 50 ms, or until deadline_ns;
 * then kills (SIGKILL) and reaps one still running, so no test leaves a
 * child behind. Whether it exited by itself; its wait status in *status.
 */
static inline bool vm_wait_exit(pid_t pid, int *status, uint64_t deadline_ns)
{
	pid_t done;

	do {
		done = waitpid(pid, status, WNOHANG);
		if (done < 0 && errno == EINTR)
			continue;
		if (done)
			return done == pid;
		vm_sleep_ms(50);
	} while (vm_now_ns() < deadline_ns);
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	return false;
}

/*
 * Fills the ring behind fd (non-blocking) with copies of rec until process
 * pid, its only consumer, which writes what it reads to a pipe nobody
 * reads, is blocked with the ring full behind it: the ring refuses a
 * write (EAGAIN), pid is asleep on two looks, and the ring still refuses
 * one after that. Only its write to the full pipe sleeps with records
 * waiting. Fullness is part of the wait, not a check after it: a slow
 * guest may run pid only after the ring filled, and it then drains the
 * ring into the pipe before it blocks; the loop fills the ring again and
 * converges. False if that has not happened by deadline_ns, or on a write
 * error other than EAGAIN (errno tells).
 */
static inline bool vm_fill_until_blocked(int fd, const void *rec, size_t len, pid_t pid,
					 uint64_t deadline_ns)
{
	for (;;) {
		while (write(fd, rec, len) >= 0)
			if (vm_now_ns() >= deadline_ns)
				return false;
		if (errno != EAGAIN)
			return false;
		if (!vm_wait_proc_asleep(pid, deadline_ns))
			return false;
		if (write(fd, rec, len) < 0) {
			if (errno == EAGAIN)
				return true;
			return false;
		}
		if (vm_now_ns() >= deadline_ns)
			return false;
	}
}

/*
 * Waits (up to 10 s) until the thread whose id *tid will hold is asleep in
 * the kernel: the handshake for "it is blocked now", instead of a sleep.
 */
static inline bool vm_wait_asleep(const pid_t *tid)
{
	int i;

	for (i = 0; i < 1000; i++) {
		pid_t t = __atomic_load_n(tid, __ATOMIC_ACQUIRE);

		if (t && vm_task_state(t) == 'S')
			return true;
		vm_sleep_ms(10);
	}
	return false;
}

/*
 * Whether the thread whose id is *tid, asleep in poll(2) for a hangup that
 * the kernel has sent by now (a destroy sends it before it returns), slept
 * through it: it has not set *done (its wait returned) by due_ns, and it
 * is asleep ('S') on two looks 100 ms apart after that. poll(2) itself
 * cannot show a lost hangup: it looks again after its timer, finds the
 * ring dead, and returns 1 with POLLHUP, only late. A waiter woken on time
 * but not run since (a vCPU the loaded host did not run) is runnable
 * ('R'), not asleep; one woken whose ->poll did not report the hangup and
 * that went back to sleep is a lost hangup too. The waiter must not sleep
 * anywhere between its poll(2) and *done.
 */
static inline bool vm_slept_through_hangup(const pid_t *tid, const int *done, uint64_t due_ns)
{
	pid_t t = __atomic_load_n(tid, __ATOMIC_ACQUIRE);
	int k;

	while (!__atomic_load_n(done, __ATOMIC_ACQUIRE) && vm_now_ns() < due_ns)
		vm_sleep_ms(10);
	for (k = 0; k < 2; k++) {
		if (k)
			vm_sleep_ms(100);
		if (__atomic_load_n(done, __ATOMIC_ACQUIRE) || !t || vm_task_state(t) != 'S')
			return false;
	}
	return true;
}

/* The consumer slot that process pid has attached, if any (first 64 looked at). */
static inline bool vm_consumer_slot(int fd, pid_t pid, struct mpmcring_consumer_info *out)
{
	struct mpmcring_consumer_info info[64];
	struct mpmcring_consumers req = { .max = 64, .info = (uintptr_t)info };
	unsigned int i;

	if (ioctl(fd, MPMCRING_IOC_CONSUMERS, &req))
		return false;
	for (i = 0; i < req.count && i < 64; i++)
		if (info[i].pid == (uint32_t)pid) {
			*out = info[i];
			return true;
		}
	return false;
}

static inline int ring_stats(int fd, struct mpmcring_stats *st)
{
	return ioctl(fd, MPMCRING_IOC_STATS, st) ? -errno : 0;
}

static inline uint64_t stats_dropped(const struct mpmcring_stats *st)
{
	uint64_t n = 0;
	int r, c;

	for (r = 0; r < MPMCRING_NR_DROP; r++)
		for (c = 0; c < MPMCRING_NR_PRIO; c++)
			n += st->dropped[r][c];
	return n;
}

/*
 * Exactly-once bookkeeping shared between processes: one byte per
 * (producer, seq), in memory mapped before fork.
 */
struct seen_map {
	unsigned int producers;
	uint64_t per_producer;
	uint8_t *counts;
	uint64_t *bad;	 /* corrupt records */
	uint64_t *order; /* a consumer saw a producer out of order */
	uint64_t *delivered;
	uint64_t *spans;       /* ring bytes of the records delivered */
	uint64_t *by_consumer; /* delivered by each consumer (SEEN_CONSUMERS) */
	uint64_t *gone;	       /* each consumer has left its loop (SEEN_CONSUMERS) */
};
#define SEEN_CONSUMERS 8

#endif /* MPMCRING_VMTEST_H */
