/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ping-pong of the wakeup tests (wakeup.c, wait_modes.c): the test
 * writes record i (8 bytes holding i) only after the consumer took record
 * i - 1, so the consumer goes back to sleep between records and every
 * record races its sleep. The consumer drains through the mapping until
 * -EAGAIN, then sleeps in its wait (struct vm_pingpong_wait: poll(2),
 * epoll, io_uring, ...): each test file keeps only its wait. A wait that
 * sleeps out its time with the record sent lost a wakeup (vmtest.h:
 * vm_sent_lost_by(), and vm_poll_lost_by() for poll(2)). The test runs
 * it with vm_pingpong_run(), which checks with kselftest_harness.h's
 * macros.
 */
#ifndef MPMCRING_PINGPONG_H
#define MPMCRING_PINGPONG_H

#include <pthread.h>
#include <sched.h>

#include "kselftest_harness.h"
#include "mpmcring.h"
#include "vmtest.h"

/*
 * How the consumer waits: wait(ctx, ms) returns 1 when woken (the ring
 * readable), 0 when ms passed, -errno on an error. lost_shows_late: the
 * wait is poll(2)'s kind (poll, ppoll, select: it looks at the file again
 * after its timer fired), whose lost wakeup shows as a late 1, not as a
 * timeout (vm_poll_lost_by()); the consumer then reads the ring's wakeup
 * count for each wait. Such a wait left false passes its lost wakeups as
 * late waits. init (given the ring's fd) and fini, when set, run in the
 * consumer's thread around its loop; init returns 0 or -errno, and when it
 * fails it has undone its own work (fini does not run). name names the
 * wait in messages. before_send, when set, runs in the writer before it
 * writes record i, given send_ctx (to choose where it writes from: its
 * CPU).
 */
struct vm_pingpong_wait {
	const char *name;
	bool lost_shows_late;
	int (*init)(void *ctx, int fd);
	int (*wait)(void *ctx, int ms);
	void (*fini)(void *ctx);
	void *ctx;
	void (*before_send)(void *send_ctx, uint64_t i);
	void *send_ctx;
};

struct vm_pingpong {
	struct mpmcring *ring;
	const struct vm_pingpong_wait *w;
	uint64_t n;
	int ms;		/* far longer than any wakeup takes */
	uint64_t acked; /* records the consumer has taken */
	struct vm_sent sent;
	uint64_t sleeps; /* waits that blocked and then found a record */
	uint64_t lost;	 /* waits that slept out ms with the record sent */
	uint64_t late;	 /* ready only after ms: printed, lost or not */
	uint64_t bad;
	char why[160]; /* what ended the consumer early: lost or bad */
	int done;      /* the consumer has left its loop */
	int stop;      /* the writer gave up: the consumer leaves at its next wait */
};

/*
 * The ring's wakeup count into *wakeups; false, with pp->why saying so,
 * when it could not be read.
 */
static inline bool vm_pingpong_wakeups(struct vm_pingpong *pp, uint64_t *wakeups)
{
	*wakeups = vm_ring_wakeups(mpmcring_fd(pp->ring), VM_WAKEUPS);
	if (*wakeups != UINT64_MAX)
		return true;
	snprintf(pp->why, sizeof(pp->why), "MPMCRING_IOC_STATS: %s", strerror(errno));
	return false;
}

/*
 * The consumer's ack: publishes next, the records it has taken, to
 * pp->acked, where the writer waits for it before it sends record next.
 * First, for a poll(2) wait, it reads the ring's wakeup count into
 * *wakeups: the count for vm_poll_lost_by() on the waits for record next.
 * Read before the ack, the ioctl is over before the writer can send that
 * record; read between the ack and the wait, it kept the consumer busy
 * while the record came, and the consumer seldom slept before it (a module
 * that dropped every 10th wakeup passed wait_modes' poll ping-pong). A
 * wakeup sent between the read and the wait only makes vm_poll_lost_by()
 * more careful. False, with why written, when the count could not be read
 * (acked all the same).
 */
static inline bool vm_pingpong_ack(struct vm_pingpong *pp, uint64_t next, uint64_t *wakeups)
{
	bool ok = true;

	*wakeups = 0;
	if (pp->w->lost_shows_late)
		ok = vm_pingpong_wakeups(pp, wakeups);
	__atomic_store_n(&pp->acked, next, __ATOMIC_RELEASE);
	return ok;
}

/*
 * One wait for record next, which the consumer found not there yet, with
 * the wakeup count *wakeups0 (poll(2) only) from before the record could
 * come. True to look again; false, with why written, when the wait lost
 * a wakeup or failed, or the wakeup count could not be read again. A timeout is lost only when the record was sent well
 * before the deadline (vm_sent_lost_by(); sent later, by a writer the
 * guest did not run for that long, the wait was right, and the consumer
 * waits again); poll(2) shows a lost wakeup as a late 1 instead
 * (vm_poll_lost_by()).
 */
static inline bool vm_pingpong_sleep(struct vm_pingpong *pp, uint64_t next, uint64_t *wakeups0)
{
	const struct vm_pingpong_wait *w = pp->w;
	uint64_t t0 = vm_now_ns();
	int n = w->wait(w->ctx, pp->ms);

	if (n == 1) {
		pp->sleeps++;
		if (vm_now_ns() - t0 >= pp->ms * 1000000ULL)
			pp->late++;
		if (w->lost_shows_late &&
		    vm_poll_lost_by(&pp->sent, next, t0, pp->ms, mpmcring_fd(pp->ring), VM_WAKEUPS,
				    *wakeups0))
			pp->lost++;
	} else if (n == 0) {
		if (vm_sent_lost_by(&pp->sent, next, t0, pp->ms))
			pp->lost++;
	} else {
		pp->bad++;
		snprintf(pp->why, sizeof(pp->why), "record %llu: %s: %s", (unsigned long long)next,
			 w->name, strerror(-n));
		return false;
	}
	if (pp->lost) {
		snprintf(pp->why, sizeof(pp->why),
			 "record %llu sent, no wakeup: %s %s after %llu ms",
			 (unsigned long long)next, w->name, n ? "ready" : "timed out",
			 (unsigned long long)(vm_now_ns() - t0) / 1000000);
		return false;
	}
	/*
	 * Nothing to read after the wait: a wakeup for the record before,
	 * still queued when poll first looked, may have ended it. The next
	 * wait compares with the count from now, or that wakeup would excuse
	 * a lost one.
	 */
	if (w->lost_shows_late && !vm_pingpong_wakeups(pp, wakeups0)) {
		pp->bad++;
		return false;
	}
	return true;
}

/*
 * Whether the consumer took record seq: its read returned err 0, and the
 * record is 8 bytes holding seq. False, with why written, if not.
 */
static inline bool vm_pingpong_took(struct vm_pingpong *pp, int err,
				    const struct mpmcring_record *rec, uint64_t seq)
{
	uint64_t v = 0;

	if (err) {
		snprintf(pp->why, sizeof(pp->why), "record %llu: mpmcring_read: %s",
			 (unsigned long long)seq, strerror(-err));
		return false;
	}
	if (rec->len == sizeof(v))
		memcpy(&v, rec->data, sizeof(v));
	if (rec->len == sizeof(v) && v == seq)
		return true;
	snprintf(pp->why, sizeof(pp->why), "record %llu: %u bytes, value %llu",
		 (unsigned long long)seq, (unsigned int)rec->len, (unsigned long long)v);
	return false;
}

/*
 * The consumer's thread. A round a record: ack the records taken
 * (vm_pingpong_ack()), then take record next, draining through the
 * mapping until -EAGAIN before each wait. The first lost wakeup or bad
 * record ends the consumer (and the writer): each lost one costs ms, after
 * a bad record every later one would be counted bad, and why names the
 * first.
 */
static inline void *vm_pingpong_consumer(void *arg)
{
	struct vm_pingpong *pp = arg;
	const struct vm_pingpong_wait *w = pp->w;
	struct mpmcring_consumer *c = mpmcring_consumer_new(pp->ring);
	struct mpmcring_record rec;
	uint64_t next = 0, wakeups0;
	int n;

	if (!c) {
		pp->bad++;
		snprintf(pp->why, sizeof(pp->why), "no consumer: %s", mpmcring_errmsg());
		goto out;
	}
	n = w->init ? w->init(w->ctx, mpmcring_fd(pp->ring)) : 0;
	if (n) {
		pp->bad++;
		snprintf(pp->why, sizeof(pp->why), "no %s waiter: %s", w->name, strerror(-n));
		goto out;
	}
	for (;;) {
		if (!vm_pingpong_ack(pp, next, &wakeups0)) {
			pp->bad++;
			break;
		}
		if (next == pp->n)
			break;
		while ((n = mpmcring_read(c, &rec)) == -EAGAIN)
			if (__atomic_load_n(&pp->stop, __ATOMIC_ACQUIRE) ||
			    !vm_pingpong_sleep(pp, next, &wakeups0))
				goto fini;
		if (!vm_pingpong_took(pp, n, &rec, next)) {
			pp->bad++;
			break;
		}
		n = mpmcring_commit(c);
		if (n) {
			pp->bad++;
			snprintf(pp->why, sizeof(pp->why), "record %llu: mpmcring_commit: %s",
				 (unsigned long long)next, strerror(-n));
			break;
		}
		next++;
	}
fini:
	if (w->fini)
		w->fini(w->ctx);
out:
	mpmcring_consumer_free(c);
	__atomic_store_n(&pp->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * The ping-pong of n records through ring, the consumer waiting with w for
 * up to ms each time, and its checks: no wakeup lost, no bad record, every
 * record written and taken, and the consumer slept at least once (a
 * ping-pong that never slept tested no wakeup). A failed write stops the
 * consumer (within ms) and is joined before the checks: nothing returns
 * while the consumer still uses pp or w.
 */
static inline void vm_pingpong_run(struct __test_metadata *_metadata, struct mpmcring *ring,
				   const struct vm_pingpong_wait *w, uint64_t n, int ms)
{
	struct vm_pingpong pp = { .ring = ring, .w = w, .n = n, .ms = ms };
	int fd = mpmcring_fd(ring);
	ssize_t wrote = sizeof(uint64_t);
	int werr = 0;
	pthread_t th;
	uint64_t i;

	ASSERT_EQ(0, pthread_create(&th, NULL, vm_pingpong_consumer, &pp));
	for (i = 0; i < pp.n; i++) {
		if (w->before_send)
			w->before_send(w->send_ctx, i);
		wrote = write(fd, &i, sizeof(i));
		if (wrote != sizeof(i)) {
			werr = wrote < 0 ? errno : 0;
			__atomic_store_n(&pp.stop, 1, __ATOMIC_RELEASE);
			break;
		}
		vm_sent_mark(&pp.sent, i + 1);
		while (__atomic_load_n(&pp.acked, __ATOMIC_ACQUIRE) <= i &&
		       !__atomic_load_n(&pp.done, __ATOMIC_ACQUIRE))
			sched_yield();
		if (__atomic_load_n(&pp.done, __ATOMIC_ACQUIRE))
			break;
	}
	pthread_join(th, NULL);
	TH_LOG("%llu of %llu records, the consumer slept %llu times, %llu of them %d ms or more",
	       (unsigned long long)pp.acked, (unsigned long long)pp.n,
	       (unsigned long long)pp.sleeps, (unsigned long long)pp.late, ms);
	EXPECT_EQ(sizeof(i), wrote)
	TH_LOG("record %llu: write: %s", (unsigned long long)i, strerror(werr));
	EXPECT_EQ(0, pp.lost) TH_LOG("%s", pp.why);
	EXPECT_EQ(0, pp.bad) TH_LOG("%s", pp.why);
	EXPECT_EQ(pp.n, pp.acked);
	EXPECT_GT(pp.sleeps, 0);
}

#endif /* MPMCRING_PINGPONG_H */
