// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * A poller: one consumer in each of several rings behind one epoll
 * descriptor, so that a program sleeps in one place for all of them. Rings
 * over plain memory (no descriptor) are consumed on every call instead.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "internal.h"

/* Records one ring gives per poll, at most: the others get their turn. */
#define MPR_POLL_RING_MAX (1U << 16)
/* -EBUSY retries per ring per poll: records are there, others take them. */
#define MPR_POLL_BUSY_TRIES 64

struct mpr_poll_ring {
	struct mpmcring *r;
	struct mpmcring_consumer *c;
	mpmcring_record_fn fn;
	void *ctx;
	int stop;  /* fn's non-zero value, which ended the last consume */
	bool gone; /* destroyed and drained: out of the epoll set */
};

struct mpmcring_poller {
	int epfd;
	unsigned int batch;
	unsigned int n, cap;
	struct mpr_poll_ring *rings;
	struct epoll_event *events; /* cap of them */
};

struct mpmcring_poller *mpmcring_poller_new(const struct mpmcring_poller_opts *opts)
{
	struct mpmcring_poller_opts o = { 0 };
	struct mpmcring_poller *p;

	if (mpr_lib_opts_check(opts, sizeof(o), "mpmcring_poller_opts"))
		return NULL;
	if (opts)
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	if (mpr_lib_opts_reserved(o.reserved, "mpmcring_poller_opts"))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p) {
		mpr_lib_error(ENOMEM, "out of memory");
		return NULL;
	}
	p->batch = o.batch ? o.batch : 64;
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p->epfd < 0) {
		mpr_lib_error(errno, "epoll_create1: %s", strerror(errno));
		free(p);
		return NULL;
	}
	return p;
}

int mpmcring_poller_add(struct mpmcring_poller *p, struct mpmcring *r, mpmcring_record_fn fn,
			void *ctx, const struct mpmcring_consumer_opts *opts)
{
	struct mpr_poll_ring *pr;

	if (!r || !fn)
		return mpr_lib_error(EINVAL, "mpmcring_poller_add: a ring and a function, please");
	if (p->n == p->cap) {
		unsigned int cap = p->cap ? 2 * p->cap : 4;
		struct mpr_poll_ring *rings = realloc(p->rings, cap * sizeof(*rings));
		struct epoll_event *ev;

		if (!rings)
			return mpr_lib_error(ENOMEM, "out of memory");
		p->rings = rings;
		ev = realloc(p->events, cap * sizeof(*ev));
		if (!ev)
			return mpr_lib_error(ENOMEM, "out of memory");
		p->events = ev;
		p->cap = cap;
	}
	pr = &p->rings[p->n];
	memset(pr, 0, sizeof(*pr));
	pr->c = mpmcring_consumer_new_opts(r, opts);
	if (!pr->c)
		return -errno;
	pr->r = r;
	pr->fn = fn;
	pr->ctx = ctx;
	if (r->fd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = p->n };

		if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, r->fd, &ev) < 0) {
			int err = errno;

			mpmcring_consumer_free(pr->c);
			return mpr_lib_error(err, "adding the ring to the poller's epoll set: %s",
					     strerror(err));
		}
	}
	return (int)p->n++;
}

/* fn's value, kept apart from consume's count: any non-zero value stops. */
static int mpr_poll_fn(void *ctx, const struct mpmcring_record *rec)
{
	struct mpr_poll_ring *pr = ctx;

	pr->stop = pr->fn(pr->ctx, rec);
	return pr->stop;
}

/* Consumes what ring pr has now: 0, or fn's non-zero value, or an error. */
static int mpr_poll_ring(struct mpmcring_poller *p, struct mpr_poll_ring *pr, long *total)
{
	unsigned int done = 0, busy = 0;
	int n;

	while (done < MPR_POLL_RING_MAX) {
		pr->stop = 0;
		n = mpmcring_consume(pr->c, p->batch, mpr_poll_fn, pr);
		if (pr->stop)
			return pr->stop; /* the record it stopped at was consumed */
		if (n == -EBUSY && busy++ < MPR_POLL_BUSY_TRIES)
			continue;
		if (n == -EBUSY)
			break; /* the others are draining it: next poll */
		if (n < 0)
			return n;
		if (n == 0)
			break;
		done += (unsigned int)n;
		*total += n;
	}
	return 0;
}

static int mpr_poll_result(long total)
{
	return total > INT32_MAX ? INT32_MAX : (int)total;
}

int mpmcring_poller_consume(struct mpmcring_poller *p)
{
	long total = 0;
	unsigned int i;
	int err;

	for (i = 0; i < p->n; i++) {
		if (p->rings[i].gone)
			continue;
		err = mpr_poll_ring(p, &p->rings[i], &total);
		if (err)
			return err;
	}
	return mpr_poll_result(total);
}

int mpmcring_poller_poll(struct mpmcring_poller *p, int timeout_ms)
{
	long total = 0;
	unsigned int i;
	int n, err;

	for (i = 0; i < p->n; i++) {
		/* Plain-memory rings cannot wake anyone: look each time. */
		if (p->rings[i].r->fd >= 0 || p->rings[i].gone)
			continue;
		err = mpr_poll_ring(p, &p->rings[i], &total);
		if (err)
			return err;
	}
	if (!p->cap)
		return 0;
	if (total)
		timeout_ms = 0;
	n = epoll_wait(p->epfd, p->events, (int)p->cap, timeout_ms < 0 ? -1 : timeout_ms);
	if (n < 0)
		return mpr_lib_error(errno, "epoll_wait: %s", strerror(errno));
	for (i = 0; i < (unsigned int)n; i++) {
		struct mpr_poll_ring *pr = &p->rings[p->events[i].data.u32];

		err = mpr_poll_ring(p, pr, &total);
		if (err)
			return err;
		/* Destroyed and drained: it would report EPOLLHUP forever. */
		if ((p->events[i].events & EPOLLHUP) && !(p->events[i].events & EPOLLIN)) {
			epoll_ctl(p->epfd, EPOLL_CTL_DEL, pr->r->fd, NULL);
			pr->gone = true;
		}
	}
	return mpr_poll_result(total);
}

int mpmcring_poller_epoll_fd(const struct mpmcring_poller *p)
{
	return p->epfd;
}

struct mpmcring_consumer *mpmcring_poller_consumer(struct mpmcring_poller *p, unsigned int idx)
{
	if (idx >= p->n) {
		mpr_lib_error(EINVAL, "the poller has no ring %u", idx);
		return NULL;
	}
	return p->rings[idx].c;
}

void mpmcring_poller_free(struct mpmcring_poller *p)
{
	unsigned int i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++)
		mpmcring_consumer_free(p->rings[i].c);
	close(p->epfd);
	free(p->rings);
	free(p->events);
	free(p);
}
