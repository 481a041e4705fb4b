// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * A poller: one consumer in each of several rings behind one epoll
 * descriptor, so that a program sleeps in one place for all of them. Rings
 * over plain memory (no descriptor) are consumed on every call instead.
 * A ring's end is told by its meta page's state word on a module of ABI
 * 1.3 or later (no system call), by its file's hangup on older ones.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "internal.h"

/*
 * Records one ring gives per poll, at most: the others get their turn. A
 * variable only so that a test can lower it (internal.h).
 */
unsigned int mpr_lib_poll_ring_max = 1U << 16;
/*
 * -EBUSY retries per ring per poll: records are there, others take them. A
 * variable only so that a test can lower it (internal.h) and reach the
 * pass that gives up on -EBUSY without a million discarded records.
 */
unsigned int mpr_lib_poll_busy_tries = 64;

struct mpr_poll_ring {
	struct mpmcring_poller *p;
	struct mpmcring *r;
	struct mpmcring_consumer *c;
	mpmcring_record_fn fn;
	void *ctx;
	int stop;     /* fn's negative value, which ended the last consume */
	bool drained; /* the last pass ended on an empty ring, not a cap or race */
	bool gone;    /* destroyed and drained, or removed: out of the epoll set */
	bool removed; /* mpmcring_poller_remove(): no ring, no consumer; reusable */
	/*
	 * The call (p->calls) that gave the ring its pass already: for the
	 * records its consumer held, or after the state word said DEAD.
	 */
	unsigned long passed_call;
	/* The call whose pass of this ring its callback stopped (0: none). */
	unsigned long stopped_call;
};

/*
 * rings holds pointers, so that a ring's entry never moves: a callback may
 * add rings to its own poller while the pass that called it holds the
 * entry of the ring it feeds (review-18c S3-S2). events grows only before
 * epoll_wait, never while the pass walks it.
 */
struct mpmcring_poller {
	int epfd;
	unsigned int batch;
	unsigned int n, cap;	/* rings */
	unsigned int ev_cap;	/* events */
	bool in_poll;		/* a poll or consume runs: its callbacks may not poll */
	bool freed;		/* mpmcring_poller_free() inside a callback: freed on return */
	const void *poll_frame; /* the entry point's frame (see mpr_consumer_free()) */
	unsigned long calls;	/* poll and consume calls so far */
	struct mpr_poll_ring **rings;
	struct epoll_event *events;
};

/*
 * One pass over the rings: what it consumed, and the first consume error
 * with its message, kept because the rings after it are still consumed
 * and their calls may set the thread's message again (review-18d D-S9).
 */
struct mpr_poll_pass {
	long total;
	int err;
	char msg[256];
};

static void mpr_poll_failed(struct mpr_poll_pass *ps, int err, unsigned int idx)
{
	if (ps->err)
		return;
	ps->err = err;
	snprintf(ps->msg, sizeof(ps->msg), "poller ring %u: %s", idx, mpmcring_errmsg());
}

#define MPR_MSG_IN_POLL(call)                                                               \
	call ": called from inside a callback of this poller (or after a callback left it " \
	     "by longjmp, which the poller does not survive): return from the callback "    \
	     "first; mpmcring_poller_add() may be called there"

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

/*
 * Attaches r to the free entry idx (removed, or new): a consumer, and the
 * epoll set. On failure the entry stays free. Returns idx or -errno.
 */
static int mpr_poll_attach(struct mpmcring_poller *p, unsigned int idx, struct mpmcring *r,
			   mpmcring_record_fn fn, void *ctx,
			   const struct mpmcring_consumer_opts *opts)
{
	struct mpr_poll_ring *pr = p->rings[idx];
	struct mpmcring_consumer *c = mpmcring_consumer_new_opts(r, opts);

	if (!c)
		return -errno;
	if (r->fd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = idx };

		if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, r->fd, &ev) < 0) {
			int err = errno;

			mpr_consumer_free(c, __builtin_frame_address(0));
			return mpr_lib_error(err, "adding the ring to the poller's epoll set: %s",
					     strerror(err));
		}
	}
	c->poller_owned = true;
	*pr = (struct mpr_poll_ring){ .p = p, .r = r, .c = c, .fn = fn, .ctx = ctx };
	c->owner_slot = &pr->c;
	return (int)idx;
}

int mpmcring_poller_add(struct mpmcring_poller *p, struct mpmcring *r, mpmcring_record_fn fn,
			void *ctx, const struct mpmcring_consumer_opts *opts)
{
	struct mpr_poll_ring *pr;
	unsigned int idx;
	int ret;

	if (!r || !fn)
		return mpr_lib_error(EINVAL, "mpmcring_poller_add: a ring and a function, please");
	if (p->freed)
		return mpr_lib_error(
			EINVAL,
			"mpmcring_poller_add: a callback freed the poller: it is gone once the poll returns");
	/*
	 * A removed ring's entry is reused, so that a poller whose rings come
	 * and go stays as large as the most it held at once. Its entry never
	 * moves or is freed before mpmcring_poller_free(): a callback adding
	 * here cannot pull one from under the pass.
	 */
	for (idx = 0; idx < p->n; idx++)
		if (p->rings[idx]->removed)
			return mpr_poll_attach(p, idx, r, fn, ctx, opts);
	if (p->n == INT32_MAX)
		return mpr_lib_error(
			ENOSPC, "mpmcring_poller_add: the poller holds %u rings already", p->n);
	if (p->n == p->cap) {
		unsigned int cap = p->cap ? 2 * p->cap : 4;
		struct mpr_poll_ring **rings = realloc(p->rings, cap * sizeof(*rings));

		if (!rings)
			return mpr_lib_error(ENOMEM, "out of memory");
		p->rings = rings;
		p->cap = cap;
	}
	pr = calloc(1, sizeof(*pr));
	if (!pr)
		return mpr_lib_error(ENOMEM, "out of memory");
	p->rings[p->n] = pr;
	ret = mpr_poll_attach(p, p->n, r, fn, ctx, opts);
	if (ret < 0) {
		free(pr);
		return ret;
	}
	p->n++;
	return ret;
}

/* fn's value, kept apart from consume's errors: a negative value stops. */
static int mpr_poll_fn(void *ctx, const struct mpmcring_record *rec)
{
	struct mpr_poll_ring *pr = ctx;
	int ret = pr->fn(pr->ctx, rec);

	/* fn freed the poller: its consume stops here (mpr_poll_ring()). */
	if (pr->p->freed)
		return -ECANCELED;
	if (ret < 0)
		pr->stop = ret;
	return ret;
}

/*
 * Consumes what ring idx has now: 0, or fn's negative value (which ends
 * the pass). A consume error goes into the pass and the pass goes on: one
 * ring that keeps failing must not starve the others. pr->drained says
 * whether it stopped because the ring had nothing left for this consumer;
 * the cap and lost -EBUSY races leave records behind.
 */
static int mpr_poll_ring(struct mpmcring_poller *p, unsigned int idx, struct mpr_poll_pass *ps)
{
	struct mpr_poll_ring *pr = p->rings[idx];
	unsigned int done = 0, busy = 0;
	int n;

	pr->drained = false;
	while (done < mpr_lib_poll_ring_max) {
		pr->stop = 0;
		/* The cap holds within a consume too: batch has no bound. */
		n = mpmcring_consume(pr->c,
				     p->batch < mpr_lib_poll_ring_max - done
					     ? p->batch
					     : mpr_lib_poll_ring_max - done,
				     mpr_poll_fn, pr);
		if (p->freed)
			return -ECANCELED; /* the pass ends; the entry point frees p */
		/*
		 * The record it stopped at was consumed. An earlier ring's
		 * error (-ESTALE: what its fn saw must be thrown away) wins:
		 * fn knows that it stopped, the program not that one failed.
		 */
		if (pr->stop) {
			pr->stopped_call = p->calls;
			return ps->err ? mpr_lib_error(-ps->err, "%s", ps->msg) : pr->stop;
		}
		if (n == -EBUSY && busy++ < mpr_lib_poll_busy_tries)
			continue;
		if (n == -EBUSY)
			break; /* the others are draining it: next poll */
		if (n < 0) {
			mpr_poll_failed(ps, n, idx);
			break;
		}
		/* Only the commit of a claim fn stopped at the end of: go on. */
		if (n == 0 && pr->c->stop_committed)
			continue;
		if (n == 0) {
			pr->drained = true;
			break;
		}
		done += (unsigned int)n;
		ps->total += n;
	}
	return 0;
}

/*
 * Whether every ring was destroyed and drained, or removed (none ever
 * added: false, a poll is a timeout there).
 */
static bool mpr_poll_all_gone(const struct mpmcring_poller *p)
{
	unsigned int i;

	for (i = 0; i < p->n; i++)
		if (!p->rings[i]->gone)
			return false;
	return p->n > 0;
}

/*
 * Whether the ring's meta page tells its end (mpmcring_meta.state): a
 * module of ABI 1.3 or later keeps the word; an older one leaves it 0 (it
 * is padding there), and only its file's hangup tells.
 */
static bool mpr_poll_has_state(const struct mpmcring *r)
{
	return r->layout.abi_minor >= MPMCRING_ABI_MINOR_STATE;
}

/*
 * Whether a ring in the epoll set can tell its end only by hanging up
 * there: one of an older module. Rings with the state word need no look
 * at the set to tell a destroyed ring from an idle one.
 */
static bool mpr_poll_watching(const struct mpmcring_poller *p)
{
	unsigned int i;

	for (i = 0; i < p->n; i++)
		if (!p->rings[i]->gone && p->rings[i]->r->fd >= 0 &&
		    !mpr_poll_has_state(p->rings[i]->r))
			return true;
	return false;
}

/*
 * A ring destroyed and drained: out of the epoll set (left in, it would
 * report EPOLLHUP forever and keep the poller's descriptor readable, a
 * busy loop for a program that waits on it), and gone.
 */
static void mpr_poll_gone(struct mpmcring_poller *p, struct mpr_poll_ring *pr)
{
	if (pr->r->fd >= 0)
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, pr->r->fd, NULL);
	pr->gone = true;
}

/*
 * A ring whose callback stopped the last call goes after the others in
 * this one: each call would otherwise end at it first (a callback that
 * stops at every record), and the other rings' records would wait for
 * good (helper-176's review: two readable rings, 40 polls, the second
 * ring's callback never ran).
 */
static bool mpr_poll_deferred(const struct mpmcring_poller *p, const struct mpr_poll_ring *pr)
{
	return p->n > 1 && pr->stopped_call && pr->stopped_call == p->calls - 1;
}

/* The deferred rings' passes, at the end of a call. */
static int mpr_poll_pass_deferred(struct mpmcring_poller *p, struct mpr_poll_pass *ps)
{
	unsigned int i;
	int err;

	for (i = 0; i < p->n; i++) {
		struct mpr_poll_ring *pr = p->rings[i];

		bool dead;

		if (pr->gone || pr->passed_call == p->calls || !mpr_poll_deferred(p, pr))
			continue;
		/* [D6] as in mpr_poll_ended(): the word first, then the pass. */
		dead = mpr_poll_has_state(pr->r) &&
		       (MPR_LOAD_ACQUIRE(&pr->r->v.meta->state) & MPMCRING_STATE_DEAD);
		pr->passed_call = p->calls;
		err = mpr_poll_ring(p, i, ps);
		if (err)
			return err;
		if (dead && pr->drained)
			mpr_poll_gone(p, pr);
	}
	return 0;
}

/*
 * The end told by the meta page, without a system call: each ring whose
 * state word says DEAD is consumed once more, and is gone if that pass
 * found it empty, as mpr_poll_event() does on a hangup (a pass cut short
 * by the cap or by lost races keeps it: the next call drains the rest).
 * [D6] pairs with [D5] in the kernel's mpmcring_destroy(): the word's
 * load-acquire first, then the pass, so "DEAD, then empty" is the end and
 * every record committed before the destroy was seen; an empty pass
 * before the load would prove nothing. Returns 0 or fn's negative value.
 */
static int mpr_poll_ended(struct mpmcring_poller *p, struct mpr_poll_pass *ps)
{
	unsigned int i;
	int err;

	/* p->n each time: a callback may add rings. */
	for (i = 0; i < p->n; i++) {
		struct mpr_poll_ring *pr = p->rings[i];

		/* A deferred ring's pass comes last, dead or not. */
		if (pr->gone || mpr_poll_deferred(p, pr) || !mpr_poll_has_state(pr->r) ||
		    !(MPR_LOAD_ACQUIRE(&pr->r->v.meta->state) & MPMCRING_STATE_DEAD))
			continue;
		err = mpr_poll_ring(p, i, ps);
		if (err)
			return err;
		pr->passed_call = p->calls;
		if (pr->drained)
			mpr_poll_gone(p, pr);
	}
	return 0;
}

/*
 * The count, or -EPIPE once nothing is left to wait for: every ring was
 * destroyed and drained (as mpmcring_wait() says for one ring). An epoll
 * wait on the empty set would sleep forever.
 */
static int mpr_poll_result(const struct mpmcring_poller *p, const struct mpr_poll_pass *ps)
{
	long total = ps->total;

	if (ps->err)
		return mpr_lib_error(-ps->err, "%s", ps->msg);
	if (total)
		return total > INT32_MAX ? INT32_MAX : (int)total;
	if (mpr_poll_all_gone(p))
		return mpr_lib_error(
			EPIPE,
			"every ring of the poller was destroyed and drained (or removed): it will never have records again");
	return 0;
}

/*
 * Consumes the ring of one event epoll gave, then takes it out of the set
 * if it hung up and this pass found it empty: destroyed, and drained
 * (mpr_poll_gone()). EPOLLIN is not
 * trusted to say whether the ring is empty: current modules set it on a
 * dead ring that holds any record, older ones only by the watermark (a
 * dead ring below it hung up without EPOLLIN), and the kernel's readiness
 * is not what this consumer can claim. Only a pass that found nothing
 * proves the ring drained. A pass cut short by the cap or by lost races
 * keeps the ring: EPOLLHUP is level-triggered, so the next call drains the
 * rest.
 */
static int mpr_poll_event(struct mpmcring_poller *p, const struct epoll_event *ev,
			  struct mpr_poll_pass *ps)
{
	struct mpr_poll_ring *pr = p->rings[ev->data.u32];
	int err;

	/*
	 * A ring given its pass after the state word said DEAD in this call
	 * had its turn: a second pass would take up to twice the cap from it.
	 */
	if (pr->gone || pr->passed_call == p->calls || mpr_poll_deferred(p, pr))
		return 0;
	err = mpr_poll_ring(p, ev->data.u32, ps);
	if (err)
		return err;
	if ((ev->events & EPOLLHUP) && pr->drained)
		mpr_poll_gone(p, pr);
	return 0;
}

/*
 * Room for an event per ring, grown here, where no callback runs (the pass
 * below walks the array). Short of memory, a smaller array still works:
 * epoll gives the rest of the ready rings to the next call.
 */
static int mpr_poll_events_room(struct mpmcring_poller *p)
{
	struct epoll_event *ev;

	if (p->ev_cap >= p->n)
		return 0;
	ev = realloc(p->events, p->cap * sizeof(*ev));
	if (ev) {
		p->events = ev;
		p->ev_cap = p->cap;
	}
	return p->ev_cap ? 0 : mpr_lib_error(ENOMEM, "out of memory");
}

/* Waits up to timeout_ms, then consumes the rings epoll reports. */
static int mpr_poll_wait(struct mpmcring_poller *p, int timeout_ms, struct mpr_poll_pass *ps)
{
	int i, n, err;

	err = mpr_poll_events_room(p);
	if (err)
		return ps->err ? 0 : err; /* the pass's first error comes back */
	n = epoll_wait(p->epfd, p->events, (int)p->ev_cap, timeout_ms < 0 ? -1 : timeout_ms);
	if (n < 0 && ps->err)
		return 0; /* the pass's first error comes back */
	if (n < 0)
		return mpr_lib_error(errno, "epoll_wait: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		err = mpr_poll_event(p, &p->events[i], ps);
		if (err)
			return err;
	}
	return 0;
}

static int mpr_poller_consume(struct mpmcring_poller *p, struct mpr_poll_pass *ps)
{
	unsigned int i;
	int err;

	/* p->n each time: a callback may add rings, consumed in this pass too. */
	for (i = 0; i < p->n; i++) {
		if (p->rings[i]->gone || mpr_poll_deferred(p, p->rings[i]))
			continue;
		err = mpr_poll_ring(p, i, ps);
		if (err)
			return err;
	}
	err = mpr_poll_pass_deferred(p, ps);
	if (err)
		return err;
	/*
	 * Nothing ready: look for the end without sleeping. A program in its
	 * own epoll loop calls only this, never mpmcring_poller_poll(). The
	 * meta page tells a destroyed ring from an idle one with a load per
	 * ring (issue 18: the epoll_wait(2) that told it was nearly all of
	 * an idle call's cost, bench/RESULTS.md); only rings of older
	 * modules need the epoll set, one system call, only when idle. Also after a ring's error: a
	 * failing ring must not keep the destroyed ones in the set.
	 */
	if (!ps->total) {
		err = mpr_poll_ended(p, ps);
		if (err)
			return err;
	}
	if (!ps->total && mpr_poll_watching(p)) {
		err = mpr_poll_wait(p, 0, ps);
		if (err)
			return err;
	}
	return mpr_poll_result(p, ps);
}

/*
 * The poller's memory, its consumers ended already. One a callback ended
 * inside its consume is still there (pr->c) when that consume never
 * returned (a longjmp out of the callback): its memory goes now, unless
 * its consume still runs (then that consume frees it, and must not clear
 * an entry freed here).
 */
/*
 * Frees a consumer the poller lets go of (its entry about to be reused
 * or freed), or, while a consume of it still runs (ended inside its
 * callback), unties it: that consume frees it, after a longjmp the
 * program, and neither writes into the entry.
 */
static void mpr_poll_let_go(struct mpmcring_consumer *c, const void *here)
{
	if (c && !mpr_consumer_free(c, here)) {
		c->owner_slot = NULL;
		c->poller_owned = false;
	}
}

static void mpr_poller_release(struct mpmcring_poller *p, const void *here)
{
	unsigned int i;

	for (i = 0; i < p->n; i++) {
		mpr_poll_let_go(p->rings[i]->c, here);
		free(p->rings[i]);
	}
	close(p->epfd);
	free(p->rings);
	free(p->events);
	free(p);
}

/*
 * The end of a poll or consume call: its result, or -ECANCELED once the
 * poller's memory is freed when a callback freed the poller (no callback
 * runs now; the consumers ended then). here: the entry point's frame.
 */
static int mpr_poller_call_end(struct mpmcring_poller *p, int ret, const char *call,
			       const void *here)
{
	p->in_poll = false;
	if (!p->freed)
		return ret;
	mpr_poller_release(p, here);
	return mpr_lib_error(ECANCELED, "%s: a callback freed the poller: it is gone", call);
}

MPR_ENTRY_FRAME int mpmcring_poller_consume(struct mpmcring_poller *p)
{
	struct mpr_poll_pass ps = { 0 };
	int ret;

	if (p->in_poll)
		return mpr_lib_fail(EINVAL, MPR_MSG_IN_POLL("mpmcring_poller_consume"));
	p->in_poll = true;
	p->poll_frame = __builtin_frame_address(0);
	p->calls++;
	ret = mpr_poller_consume(p, &ps);
	return mpr_poller_call_end(p, ret, "mpmcring_poller_consume", __builtin_frame_address(0));
}

/*
 * No ring added yet: the timeout passes as over idle rings (a loop around
 * mpmcring_poller_poll(p, -1) must sleep, not spin), on the empty epoll
 * set; a signal ends it (EINTR). 0: no record.
 */
static int mpr_poll_no_ring(struct mpmcring_poller *p, int timeout_ms)
{
	struct epoll_event ev;

	if (epoll_wait(p->epfd, &ev, 1, timeout_ms < 0 ? -1 : timeout_ms) < 0)
		return mpr_lib_error(errno, "epoll_wait: %s", strerror(errno));
	return 0;
}

static int mpr_poller_poll(struct mpmcring_poller *p, int timeout_ms, struct mpr_poll_pass *ps)
{
	/* calls counts this one: the first call goes in the rings' order. */
	unsigned int k, i, first = p->n ? (unsigned int)((p->calls - 1) % p->n) : 0;
	bool deferred = false;
	int err;

	/* p->n each time: a callback may add rings. */
	for (k = 0; k < p->n; k++) {
		struct mpr_poll_ring *pr;

		i = (first + k) % p->n;
		pr = p->rings[i];
		/*
		 * Plain-memory rings cannot wake anyone: look each time. Nor
		 * can records a stopped callback left to the ring's consumer
		 * (not those the program took from it by hand: consume
		 * refuses while it holds them): the head is past them, and no
		 * wakeup comes for them. Each call starts at another ring, and
		 * one whose callback stopped the last call goes last (after the
		 * epoll events too), so that one whose callback stops at every
		 * record does not keep the others waiting; a ring passed here
		 * is not passed again for its epoll event in this call.
		 */
		if (pr->gone || pr->passed_call == p->calls ||
		    (pr->r->fd >= 0 && (!pr->c->holding || pr->c->handed_out)))
			continue;
		if (mpr_poll_deferred(p, pr)) {
			deferred = true;
			continue;
		}
		pr->passed_call = p->calls;
		err = mpr_poll_ring(p, i, ps);
		if (err)
			return err;
	}
	if (!p->n)
		return mpr_poll_no_ring(p, timeout_ms);
	/* Rings the meta page says are dead: no sleep for them (nor for
	 * memory rings, which have no file to hang up). */
	if (!ps->total) {
		err = mpr_poll_ended(p, ps);
		if (err)
			return err;
	}
	if (!ps->total && !ps->err && mpr_poll_all_gone(p))
		return mpr_poll_result(p, ps); /* nothing left in the epoll set */
	/* No sleep when the pass has something to say already, or to do. */
	err = mpr_poll_wait(p, ps->total || ps->err || deferred ? 0 : timeout_ms, ps);
	if (err)
		return err;
	err = mpr_poll_pass_deferred(p, ps);
	if (err)
		return err;
	return mpr_poll_result(p, ps);
}

MPR_ENTRY_FRAME int mpmcring_poller_poll(struct mpmcring_poller *p, int timeout_ms)
{
	struct mpr_poll_pass ps = { 0 };
	int ret;

	if (p->in_poll)
		return mpr_lib_fail(EINVAL, MPR_MSG_IN_POLL("mpmcring_poller_poll"));
	p->in_poll = true;
	p->poll_frame = __builtin_frame_address(0);
	p->calls++;
	ret = mpr_poller_poll(p, timeout_ms, &ps);
	return mpr_poller_call_end(p, ret, "mpmcring_poller_poll", __builtin_frame_address(0));
}

int mpmcring_poller_epoll_fd(const struct mpmcring_poller *p)
{
	return p->epfd;
}

/* 0 when ring idx is in the poller; else -EINVAL, with the message. */
static int mpr_poll_idx_check(const struct mpmcring_poller *p, unsigned int idx, const char *call)
{
	if (idx >= p->n)
		return mpr_lib_error(EINVAL, "%s: the poller has no ring %u", call, idx);
	if (p->rings[idx]->removed)
		return mpr_lib_error(EINVAL, "%s: ring %u was removed from the poller", call, idx);
	return 0;
}

struct mpmcring_consumer *mpmcring_poller_consumer(struct mpmcring_poller *p, unsigned int idx)
{
	if (mpr_poll_idx_check(p, idx, "mpmcring_poller_consumer"))
		return NULL;
	if (p->freed) {
		mpr_lib_error(EINVAL, "mpmcring_poller_consumer: the poller was freed");
		return NULL;
	}
	return p->rings[idx]->c;
}

int mpmcring_poller_ring_gone(const struct mpmcring_poller *p, unsigned int idx)
{
	if (idx >= p->n)
		return mpr_lib_error(EINVAL, "mpmcring_poller_ring_gone: the poller has no ring %u",
				     idx);
	return p->rings[idx]->gone; /* removed ones too: no record comes from them */
}

MPR_ENTRY_FRAME int mpmcring_poller_remove(struct mpmcring_poller *p, unsigned int idx,
					   struct mpmcring_lost *lost)
{
	struct mpr_poll_ring *pr;
	int err;

	if (p->in_poll)
		return mpr_lib_fail(EINVAL, MPR_MSG_IN_POLL("mpmcring_poller_remove"));
	err = mpr_poll_idx_check(p, idx, "mpmcring_poller_remove");
	if (err)
		return err;
	pr = p->rings[idx];
	/* lost->sz checked first: a refused call takes nothing, removes nothing. */
	err = lost ? mpr_lib_lost_size_check(lost, "mpmcring_poller_remove") : 0;
	if (err)
		return err;
	/*
	 * Left in the set, a registration would wake the poller for an
	 * index that a later add reuses: refuse rather than leave it, and
	 * before the losses are taken, so that they stay for the next call.
	 */
	if (!pr->gone && pr->r->fd >= 0 && epoll_ctl(p->epfd, EPOLL_CTL_DEL, pr->r->fd, NULL) < 0 &&
	    errno != ENOENT) {
		err = errno;
		return mpr_lib_error(
			err,
			"mpmcring_poller_remove: taking ring %u out of the epoll set: %s (remove a ring before closing it); nothing was taken",
			idx, strerror(err));
	}
	/*
	 * The consumer's end before its losses: a claim its callback stopped
	 * in, found revoked by this last commit, is lost too.
	 */
	if (pr->c && !pr->c->ended)
		mpr_lib_end(pr->c);
	if (lost)
		mpmcring_take_lost(pr->c, lost); /* cannot fail: sz checked */
	mpr_poll_let_go(pr->c, __builtin_frame_address(0));
	*pr = (struct mpr_poll_ring){ .gone = true, .removed = true };
	return 0;
}

MPR_ENTRY_FRAME void mpmcring_poller_free(struct mpmcring_poller *p)
{
	const void *here = __builtin_frame_address(0);
	unsigned int i;

	if (!p)
		return;
	/*
	 * The consumers end now, as at mpmcring_consumer_free() (the one a
	 * callback runs in is freed by its consume on return), and the rings
	 * leave the pass. From inside a callback of this poller's poll or
	 * consume (deeper on the stack than its entry point; see
	 * mpr_consumer_free()) the entry point frees the memory on its way
	 * out, touching no ring; after a longjmp out of a callback (at or
	 * above its frame), now, also when a callback ended it before.
	 */
	if (!p->freed) {
		for (i = 0; i < p->n; i++) {
			struct mpr_poll_ring *pr = p->rings[i];

			/* Kept while its consume runs: it frees it, or we do. */
			if (mpr_consumer_free(pr->c, here))
				pr->c = NULL;
			pr->gone = true;
		}
		p->freed = true;
	}
	if (p->in_poll && (const char *)here < (const char *)p->poll_frame)
		return;
	mpr_poller_release(p, here);
}
