// SPDX-License-Identifier: GPL-2.0-only
/*
 * After a callback stops mpmcring_consume() (a negative return): the next
 * consume delivers what is ready and commits what is done, and a poller
 * neither sleeps on records its consumer holds nor drops a destroyed ring
 * that still has records, nor passes a consumer the program holds records
 * of to consume. Each of these failed before the fix in
 * consume.c and poll.c (helper-171's review, 2026-12-04).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <time.h>

#include "tap.h"
#include "hostring.h"
#include "internal.h"

static int put(struct hostring *h, uint32_t len, unsigned char fill)
{
	uint64_t pos;
	int err = hostring_reserve(h, 0, len, MPMCRING_PRIO_CRITICAL, &pos);

	if (err)
		return err;
	memset(hostring_payload(h, pos), fill, len);
	hostring_commit(h, 0, pos, len);
	return 0;
}

/* What the callbacks stop with: no value the library returns itself. */
#define STOP (-ERANGE)

struct cnt {
	int records;
	int stop_at;	    /* the call that returns STOP */
	unsigned char last; /* the fill byte of the last record seen */
};

static int cnt_fn(void *ctx, const struct mpmcring_record *rec)
{
	struct cnt *s = ctx;

	s->last = ((const unsigned char *)rec->data)[0];
	return ++s->records == s->stop_at ? STOP : 0;
}

/*
 * A ring over process memory with nrec records (fill bytes 1, 2, ...),
 * and for the poller cases a poller of it whose device file a pipe stands
 * in for: never readable, as when no kernel wakeup comes.
 */
struct fix {
	struct hostring h;
	bool h_made;
	struct mpmcring *r;
	struct mpmcring_poller *p;
	int fds[2];
};

static bool fix_init(struct fix *f, int nrec, bool poller, unsigned int batch, struct cnt *s)
{
	const struct mpmcring_poller_opts *o =
		batch ? &MPMCRING_OPTS(mpmcring_poller_opts, .batch = batch) : NULL;
	int i;

	memset(f, 0, sizeof(*f));
	f->fds[0] = f->fds[1] = -1;
	if (hostring_init(&f->h, &(struct hostring_params){ .size = 4096, .producers = 1 }))
		return false;
	f->h_made = true;
	f->r = mpmcring__open_memory(f->h.cons, f->h.ro, &f->h.layout);
	if (!f->r)
		return false;
	for (i = 1; i <= nrec; i++)
		if (put(&f->h, 16, (unsigned char)i))
			return false;
	if (!poller)
		return true;
	f->p = mpmcring_poller_new(o);
	if (!f->p || mpmcring_poller_add(f->p, f->r, cnt_fn, s, NULL) || pipe(f->fds))
		return false;
	f->r->fd = f->fds[0]; /* closed by mpmcring_close() */
	return !epoll_ctl(mpmcring_poller_epoll_fd(f->p), EPOLL_CTL_ADD, f->fds[0],
			  &(struct epoll_event){ .events = EPOLLIN, .data.u32 = 0 });
}

static void fix_fini(struct fix *f)
{
	if (f->p)
		mpmcring_poller_free(f->p);
	if (f->r)
		mpmcring_close(f->r);
	else if (f->fds[0] >= 0)
		close(f->fds[0]);
	if (f->fds[1] >= 0)
		close(f->fds[1]);
	if (f->h_made)
		hostring_destroy(&f->h);
}

/*
 * fn stops at the last record of consume's claim; a record is ready after
 * it. The next consume commits that claim (0, fn not called), the one
 * after delivers the ready record; it used to find the claim "pending"
 * with nothing left and say 0 at every call (none ready).
 */
static void t_consume_after_stop_at_claim_end(struct tap *t)
{
	struct cnt s = { .stop_at = 1 };
	struct mpmcring_consumer *c = NULL;
	struct fix f;
	int n;

	if (fix_init(&f, 2, false, 0, &s))
		c = mpmcring_consumer_new(f.r);
	if (c) {
		CHECK_EQ(t, mpmcring_consume(c, 1, cnt_fn, &s), STOP);
		CHECK_EQ(t, s.records, 1);
		CHECK_EQ(t, mpmcring_consume(c, 1, cnt_fn, &s), 0);
		CHECK_EQ(t, s.records, 1);
		CHECK_EQ(t, f.h.v.cons->slots[0].consumed_records, 1);
		n = mpmcring_consume(c, 1, cnt_fn, &s);
		CHECK(t, n == 1, "consume returned %d with a record ready (records %d)", n,
		      s.records);
		CHECK_EQ(t, s.last, 2);
		/* Both claims committed, each record counted consumed once. */
		CHECK_EQ(t, f.h.v.cons->slots[0].consumed_records, 2);
		mpmcring_consumer_free(c);
	} else {
		CHECK(t, 0, "set-up: %s", mpmcring_errmsg());
	}
	fix_fini(&f);
}

/* Stops at every 4th record: the last of each claim of at most 4. */
static int stop4_fn(void *ctx, const struct mpmcring_record *rec)
{
	struct cnt *s = ctx;

	s->last = ((const unsigned char *)rec->data)[0];
	return ++s->records % 4 ? 0 : STOP;
}

/*
 * fn stops at the end of every claim, call after call (a callback that
 * stops at the record ending each burst): every claim is committed by the
 * call after its stop, so the slot's consumed count keeps up and reclaim
 * with it. Claiming anew while holding the stopped claim, consume never
 * committed: 0 consumed after 100 records, the ring stalled until the
 * lease revoked the lot (helper-176's review).
 */
static void t_consume_stopping_at_every_claim_end_commits(struct tap *t)
{
	struct cnt s = { 0 };
	struct mpmcring_consumer *c = NULL;
	int calls = 0, stops = 0, n, lag = 0;
	bool last_stopped = false;
	uint64_t consumed;
	struct fix f;

	if (fix_init(&f, 100, false, 0, &s))
		c = mpmcring_consumer_new(f.r);
	if (!c) {
		CHECK(t, 0, "set-up: %s", mpmcring_errmsg());
		fix_fini(&f);
		return;
	}
	while (calls++ < 1000) {
		int before = s.records;

		n = mpmcring_consume(c, 4, stop4_fn, &s);
		consumed = f.h.v.cons->slots[0].consumed_records;
		/* At most the claim a stop left is uncommitted; none after a commit. */
		lag += (uint64_t)s.records - consumed > (n == STOP ? 4 : 0);
		if (n == STOP)
			stops++;
		else if (n < 0 || (n == 0 && s.records == before && !last_stopped))
			break; /* none ready (a 0 after a stop only committed) */
		last_stopped = n == STOP;
	}
	CHECK(t, n == 0, "the last consume returned %d, not 0 (none ready)", n);
	CHECK_EQ(t, s.records, 100);
	CHECK_EQ(t, stops, 25);
	CHECK_EQ(t, f.h.v.cons->slots[0].consumed_records, 100);
	CHECK(t, lag == 0,
	      "%d calls returned with more delivered records uncommitted than one claim", lag);
	CHECK(t, f.h.v.cons->slots[0].start == MPMCRING_SLOT_IDLE,
	      "the consumer still holds a claim");
	mpmcring_consumer_free(c);
	fix_fini(&f);
}

/*
 * The same through a poller on a destroyed ring (state word DEAD): the pass
 * after the stop found "0" and dropped the ring as destroyed and drained,
 * a record still in it, delivered to nobody and counted nowhere.
 */
static void t_poller_dead_ring_dropped_with_records(struct tap *t)
{
	struct cnt s = { .stop_at = 1 };
	int n = 0, i, got = 0;
	struct fix f;

	if (fix_init(&f, 2, true, 1, &s)) {
		hostring_end(&f.h);
		CHECK_EQ(t, mpmcring_poller_poll(f.p, 100), STOP);
		for (i = 0; i < 4; i++) {
			n = mpmcring_poller_poll(f.p, 100);
			if (n < 0)
				break;
			got += n;
		}
		CHECK_EQ(t, n, -EPIPE);
		CHECK_EQ(t, got, 1);
		CHECK(t, s.records == 2,
		      "ring dropped as drained with %llu bytes unread; fn saw %d",
		      (unsigned long long)mpmcring_avail_bytes(f.r), s.records);
	} else {
		CHECK(t, 0, "set-up: %s", mpmcring_errmsg());
	}
	fix_fini(&f);
}

/*
 * A ring with a file (a pipe stands in, never readable: no new records):
 * fn stops in the middle of a claim; the rest of the claim is held by the
 * poller's consumer. The next poll delivers it; it used to sleep in epoll,
 * where no wakeup comes for records behind the head.
 */
static void t_poller_sleeps_on_pending(struct tap *t)
{
	struct cnt s = { .stop_at = 1 };
	struct timespec a, b;
	struct fix f;
	long ms;
	int n;

	if (fix_init(&f, 5, true, 0, &s)) {
		/* As if the device said EPOLLIN: the first pass. */
		CHECK_EQ(t, mpmcring_poller_consume(f.p), STOP);
		CHECK_EQ(t, s.records, 1);
		clock_gettime(CLOCK_MONOTONIC, &a);
		n = mpmcring_poller_poll(f.p, 500);
		clock_gettime(CLOCK_MONOTONIC, &b);
		ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
		CHECK(t, n == 4, "poll returned %d after %ld ms with 4 claimed records undelivered",
		      n, ms);
		CHECK_EQ(t, s.records, 5);
		CHECK_EQ(t, s.last, 5);
	} else {
		CHECK(t, 0, "set-up: %s", mpmcring_errmsg());
	}
	fix_fini(&f);
}

/* Revokes the consumer's claim, as the kernel's reclaim does after the timeout. */
static void revoke_claim(struct fix *f)
{
	__atomic_fetch_or(&f->h.v.cons->slots[0].start, MPMCRING_SLOT_REVOKED, __ATOMIC_SEQ_CST);
}

/*
 * A ring of three records and a consumer whose consume fn stopped at the
 * first (s->stop_at 1): the other two claimed, undelivered. NULL after a
 * failed set-up, said as a failed check.
 */
static struct mpmcring_consumer *stopped_at_first(struct tap *t, struct fix *f, struct cnt *s)
{
	struct mpmcring_consumer *c = NULL;

	if (fix_init(f, 3, false, 0, s))
		c = mpmcring_consumer_new(f->r);
	if (!c) {
		CHECK(t, 0, "set-up: %s", mpmcring_errmsg());
		return NULL;
	}
	CHECK_EQ(t, mpmcring_consume(c, 8, cnt_fn, s), STOP);
	return c;
}

/*
 * fn stops at the last record of a claim; mpmcring_read() then finds
 * nothing (-EAGAIN): the consumer still holds the delivered claim. Once it
 * is revoked (the kernel's compare-and-swap sets REVOKED in the slot's
 * start), consume says -ESTALE once, committing it; it used to say so at
 * every call without committing, and a consume loop never got out.
 */
static void t_consume_estale_forever(struct tap *t)
{
	struct cnt s = { .stop_at = 1 };
	struct mpmcring_lost lost = { .sz = sizeof(lost) };
	struct mpmcring_consumer *c = NULL;
	struct mpmcring_record rec;
	int n1, n2, n3;
	struct fix f;

	if (fix_init(&f, 1, false, 0, &s))
		c = mpmcring_consumer_new(f.r);
	if (c) {
		CHECK_EQ(t, mpmcring_consume(c, 1, cnt_fn, &s), STOP);
		CHECK_EQ(t, mpmcring_read(c, &rec), -EAGAIN);
		/* Reclaim revokes the claim (as the kernel does after the timeout). */
		revoke_claim(&f);
		CHECK_EQ(t, put(&f.h, 16, 2), 0);
		n1 = mpmcring_consume(c, 8, cnt_fn, &s);
		n2 = mpmcring_consume(c, 8, cnt_fn, &s);
		n3 = mpmcring_consume(c, 8, cnt_fn, &s);
		CHECK_EQ(t, n1, -ESTALE);
		CHECK(t, n2 == 1 && n3 == 0,
		      "consume after the revoked claim: %d, %d, %d (want -ESTALE, 1, 0); fn saw %d",
		      n1, n2, n3, s.records);
		CHECK_EQ(t, s.records, 2);
		CHECK_EQ(t, s.last, 2);
		/* The first record, delivered before its claim was revoked: lost. */
		CHECK_EQ(t, mpmcring_take_lost(c, &lost), 0);
		CHECK_EQ(t, lost.revoked, 1);
		mpmcring_consumer_free(c);
	} else {
		CHECK(t, 0, "set-up: %s", mpmcring_errmsg());
	}
	fix_fini(&f);
}

/*
 * fn stops consume at the first of three records; the two others stay
 * claimed, undelivered. mpmcring_peek() shows the next of them while the
 * claim stands and, once it is revoked, says -ESTALE as mpmcring_read()
 * does: their space may be written over while the old stamps stay. It
 * used to walk there and hand out whatever header it found.
 */
static void t_peek_revoked_pending_says_estale(struct tap *t)
{
	struct cnt s = { .stop_at = 1 };
	struct mpmcring_consumer *c;
	struct mpmcring_record rec;
	struct fix f;

	c = stopped_at_first(t, &f, &s);
	if (c) {
		CHECK_EQ(t, mpmcring_peek(c, &rec), 0);
		CHECK_EQ(t, rec.len, 16);
		CHECK_EQ(t, ((const unsigned char *)rec.data)[0], 2);
		revoke_claim(&f);
		CHECK_EQ(t, mpmcring_peek(c, &rec), -ESTALE);
		CHECK_EQ(t, mpmcring_read(c, &rec), -ESTALE);
		mpmcring_consumer_free(c);
	}
	fix_fini(&f);
}

/*
 * The same revoked claim, asked for a new one: mpmcring_read_batch() and
 * mpmcring_read_many() say -ESTALE, as read does (commit, then read
 * again), before any walk of the records' space. They used to say
 * -EINVAL ("take them first"), which only led there by way of read.
 */
static void t_new_claim_revoked_pending_says_estale(struct tap *t)
{
	struct cnt s = { .stop_at = 1 };
	struct mpmcring_consumer *c;
	struct mpmcring_record recs[4];
	struct mpmcring_batch b;
	struct fix f;

	c = stopped_at_first(t, &f, &s);
	if (c) {
		revoke_claim(&f);
		CHECK_EQ(t, mpmcring_read_batch(c, &b, 4, SIZE_MAX), -ESTALE);
		CHECK_EQ(t, mpmcring_read_many(c, recs, 4, SIZE_MAX), -ESTALE);
		/* The commit says so once and lets the claim go; then reads go on. */
		CHECK_EQ(t, mpmcring_commit(c), -ESTALE);
		CHECK_EQ(t, put(&f.h, 16, 9), 0);
		CHECK_EQ(t, mpmcring_read_many(c, recs, 4, SIZE_MAX), 1);
		CHECK_EQ(t, ((const unsigned char *)recs[0].data)[0], 9);
		mpmcring_consumer_free(c);
	}
	fix_fini(&f);
}

/*
 * One of a stopped consume's records taken with mpmcring_read() (handed
 * out), then the claim revoked: read_batch and consume say -ESTALE, as
 * Go's ReadBatch and Consume do; consume used to say -EINVAL after
 * walking the rest ("take those with mpmcring_read() too").
 */
static void t_handed_out_revoked_says_estale(struct tap *t)
{
	struct cnt s = { .stop_at = 1 };
	struct mpmcring_consumer *c;
	struct mpmcring_record rec;
	struct mpmcring_batch b;
	struct fix f;

	c = stopped_at_first(t, &f, &s);
	if (c) {
		CHECK_EQ(t, mpmcring_read(c, &rec), 0);
		CHECK_EQ(t, ((const unsigned char *)rec.data)[0], 2);
		revoke_claim(&f);
		CHECK_EQ(t, mpmcring_read_batch(c, &b, 4, SIZE_MAX), -ESTALE);
		CHECK_EQ(t, mpmcring_consume(c, 8, cnt_fn, &s), -ESTALE);
		CHECK_EQ(t, s.records, 1);
		mpmcring_consumer_free(c);
	}
	fix_fini(&f);
}

/*
 * The program took a record from the poller's consumer by hand
 * (mpmcring_read()): the poller must not hand that consumer to consume,
 * which refuses while it holds them (-EINVAL at every poll, never a
 * sleep: a retry loop would spin). It waits, as for any ring.
 */
static void t_poller_waits_while_program_holds_records(struct tap *t)
{
	struct mpmcring_record rec;
	struct cnt s = { 0 };
	struct fix f;

	if (fix_init(&f, 2, true, 0, &s)) {
		CHECK_EQ(t, mpmcring_read(mpmcring_poller_consumer(f.p, 0), &rec), 0);
		CHECK_EQ(t, mpmcring_poller_poll(f.p, 50), 0);
		CHECK_EQ(t, s.records, 0);
		CHECK_EQ(t, mpmcring_commit(mpmcring_poller_consumer(f.p, 0)), 0);
		CHECK_EQ(t, mpmcring_poller_consume(f.p), 1);
		CHECK_EQ(t, s.last, 2);
	} else {
		CHECK(t, 0, "set-up: %s", mpmcring_errmsg());
	}
	fix_fini(&f);
}

static int stop_every_fn(void *ctx, const struct mpmcring_record *rec)
{
	cnt_fn(ctx, rec);
	return STOP;
}

/*
 * Two rings with files, both readable (pipes stand in); ring 0's callback
 * stops at every record. Every poll ended at ring 0, which its held
 * records put first, before epoll was asked: ring 1's callback never ran
 * in 40 polls (helper-176's review). A ring whose callback stopped the
 * last call now goes last.
 */
static void poller_stopping_ring(struct tap *t, bool dead)
{
	struct cnt s[2] = { { 0 }, { 0 } };
	struct mpmcring_poller *p = NULL;
	struct fix f[2];
	bool ok = true;
	int i;

	memset(f, 0, sizeof(f));
	for (i = 0; i < 2; i++)
		ok = ok && fix_init(&f[i], 100, false, 0, NULL);
	if (ok)
		p = mpmcring_poller_new(NULL);
	for (i = 0; ok && p && i < 2; i++) {
		ok = mpmcring_poller_add(p, f[i].r, i ? cnt_fn : stop_every_fn, &s[i], NULL) == i &&
		     !pipe(f[i].fds) && write(f[i].fds[1], "x", 1) == 1;
		if (!ok)
			break;
		f[i].r->fd = f[i].fds[0]; /* closed by mpmcring_close() */
		ok = !epoll_ctl(
			mpmcring_poller_epoll_fd(p), EPOLL_CTL_ADD, f[i].fds[0],
			&(struct epoll_event){ .events = EPOLLIN, .data.u32 = (uint32_t)i });
	}
	if (ok && p && dead)
		hostring_end(&f[0].h); /* its state word says DEAD */
	if (ok && p) {
		for (i = 0; i < 40; i++)
			mpmcring_poller_poll(p, 100);
		CHECK(t, s[1].records == 100,
		      "ring 1's callback saw %d of its 100 records in 40 polls", s[1].records);
		CHECK(t, s[0].records >= 20, "ring 0's callback saw %d records in 40 polls",
		      s[0].records);
	} else {
		CHECK(t, 0, "set-up: %s", mpmcring_errmsg());
	}
	if (p)
		mpmcring_poller_free(p);
	for (i = 0; i < 2; i++)
		fix_fini(&f[i]);
}

static void t_poller_stopping_ring_starves_none(struct tap *t)
{
	poller_stopping_ring(t, false);
}

/*
 * The same with ring 0 destroyed: the pass the meta page's DEAD gives it
 * came before epoll was asked, and went first again (helper-179).
 */
static void t_poller_stopping_dead_ring_starves_none(struct tap *t)
{
	poller_stopping_ring(t, true);
}

int main(void)
{
	static const struct tap_test tests[] = {
		TAP_TEST(t_consume_after_stop_at_claim_end),
		TAP_TEST(t_consume_stopping_at_every_claim_end_commits),
		TAP_TEST(t_poller_dead_ring_dropped_with_records),
		TAP_TEST(t_poller_sleeps_on_pending),
		TAP_TEST(t_consume_estale_forever),
		TAP_TEST(t_peek_revoked_pending_says_estale),
		TAP_TEST(t_new_claim_revoked_pending_says_estale),
		TAP_TEST(t_handed_out_revoked_says_estale),
		TAP_TEST(t_poller_waits_while_program_holds_records),
		TAP_TEST(t_poller_stopping_ring_starves_none),
		TAP_TEST(t_poller_stopping_dead_ring_starves_none),
	};

	return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
