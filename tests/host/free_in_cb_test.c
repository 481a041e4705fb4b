// SPDX-License-Identifier: GPL-2.0-only
/*
 * A callback that frees what runs it (review-gopoll18 M1): the consumer
 * from inside mpmcring_consume()'s fn, the poller from inside a poller
 * callback. The library used the freed memory on return (ASan:
 * heap-use-after-free in mpr_lib_consume() and mpr_poll_ring(); a crash or
 * silent garbage without it). Now the free ends the consumer at once
 * (claim released, slot given back) and the memory goes when the entry
 * point returns, which says -ECANCELED. A free after a longjmp out of the
 * callback (the documented way out) still frees at once: ASan's leak check
 * (run.sh sets detect_leaks=1) would see it otherwise. A poller's consumer
 * freed by the program is refused: the poller frees it.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <string.h>

#include "tap.h"
#include "hostring.h"
#include "internal.h"

static int put(struct hostring *h, uint32_t len, unsigned char fill)
{
	uint64_t pos;
	int err = hostring_reserve(h, 0, len, MPMCRING_PRIO_NORMAL, &pos);

	if (err)
		return err;
	memset(hostring_payload(h, pos), fill, len);
	hostring_commit(h, 0, pos, len);
	return 0;
}

static int ring(struct hostring *h)
{
	return hostring_init(h, &(struct hostring_params){ .size = 4096, .producers = 1 });
}

/* Records a new consumer of r reads now (its claims committed). */
static int drain(struct mpmcring *r)
{
	struct mpmcring_consumer *c = mpmcring_consumer_new(r);
	struct mpmcring_record rec;
	int n = 0;

	if (!c)
		return -1;
	while (mpmcring_read(c, &rec) == 0 && mpmcring_commit(c) == 0)
		n++;
	mpmcring_consumer_free(c);
	return n;
}

/*
 * Whether producers can fill and refill a 4096-byte ring 8 times over
 * while a consumer drains it (what is there first): a claim left behind
 * would pin reclaim and the ring would stay full. (One consumer: a memory ring's slot is never
 * attached again once freed.)
 */
static bool ring_flows(struct hostring *h, struct mpmcring *r)
{
	struct mpmcring_consumer *c = mpmcring_consumer_new(r);
	struct mpmcring_record rec;
	bool ok = c != NULL;
	int i;

	while (ok && !mpmcring_read(c, &rec)) /* what is there already */
		ok = !mpmcring_commit(c);
	for (i = 0; ok && i < 8 * 4096 / 64; i++)
		ok = !put(h, 40, 1) && !mpmcring_read(c, &rec) && !mpmcring_commit(c);
	mpmcring_consumer_free(c);
	return ok;
}

/* Two host rings and their handles, for the poller tests. */
static bool two_rings(struct tap *t, struct hostring h[2], struct mpmcring *r[2])
{
	int i;

	if (ring(&h[0])) {
		CHECK(t, 0, "init");
		return false;
	}
	if (ring(&h[1])) {
		CHECK(t, 0, "init");
		hostring_destroy(&h[0]);
		return false;
	}
	for (i = 0; i < 2; i++)
		r[i] = mpmcring__open_memory(h[i].cons, h[i].ro, &h[i].layout);
	return true;
}

static void two_rings_close(struct hostring h[2], struct mpmcring *r[2])
{
	int i;

	for (i = 0; i < 2; i++) {
		if (r[i])
			mpmcring_close(r[i]);
		hostring_destroy(&h[i]);
	}
}

static struct mpmcring_consumer *g_c;
static struct mpmcring_poller *g_p;
static int calls;

static int free_consumer_fn(void *ctx, const struct mpmcring_record *rec)
{
	(void)ctx;
	(void)rec;
	if (calls++ == 0)
		mpmcring_consumer_free(g_c);
	return 0;
}

static void t_consumer_free_in_consume_fn(struct tap *t)
{
	struct hostring h;
	struct mpmcring *r;
	int i, n;

	if (ring(&h)) {
		CHECK(t, 0, "init");
		return;
	}
	r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	g_c = r ? mpmcring_consumer_new(r) : NULL;
	CHECK(t, g_c, "consumer");
	if (!g_c)
		goto out;
	for (i = 0; i < 3; i++)
		CHECK_EQ(t, put(&h, 16, (unsigned char)i), 0);
	calls = 0;
	errno = 0;
	n = mpmcring_consume(g_c, 8, free_consumer_fn, NULL);
	CHECK_EQ(t, n, -ECANCELED);
	CHECK_EQ(t, errno, ECANCELED);
	CHECK_EQ(t, calls, 1); /* fn was not called again on the freed consumer */
	/* The claim's two undelivered records went with it; nothing is pinned. */
	CHECK_EQ(t, drain(r), 0);
	CHECK(t, ring_flows(&h, r), "the freed consumer's claim still pins the ring");
out:
	if (r)
		mpmcring_close(r);
	hostring_destroy(&h);
}

static int free_poller_fn(void *ctx, const struct mpmcring_record *rec)
{
	(void)ctx;
	(void)rec;
	if (calls++ == 0)
		mpmcring_poller_free(g_p);
	return 0;
}

/* Two rings, three records each; ring 0's fn frees the poller. */
static void poller_free_in_fn(struct tap *t, bool poll)
{
	struct hostring h[2];
	struct mpmcring *r[2] = { NULL, NULL };
	int i, j, n;

	if (!two_rings(t, h, r))
		return;
	g_p = mpmcring_poller_new(NULL);
	CHECK(t, g_p, "poller");
	for (i = 0; g_p && i < 2; i++) {
		CHECK(t, r[i] && mpmcring_poller_add(g_p, r[i], free_poller_fn, NULL, NULL) == i,
		      "ring %d", i);
		for (j = 0; j < 3; j++)
			CHECK_EQ(t, put(&h[i], 16, (unsigned char)j), 0);
	}
	if (!g_p || !r[0] || !r[1])
		goto out;
	calls = 0;
	errno = 0;
	n = poll ? mpmcring_poller_poll(g_p, 0) : mpmcring_poller_consume(g_p);
	CHECK_EQ(t, n, -ECANCELED);
	CHECK_EQ(t, errno, ECANCELED);
	CHECK_EQ(t, calls, 1);
	CHECK(t, strstr(mpmcring_errmsg(), "a callback freed the poller"), "message: %s",
	      mpmcring_errmsg());
	/* Ring 0's claim went with its consumer; ring 1's records wait. */
	CHECK_EQ(t, drain(r[0]), 0);
	CHECK_EQ(t, drain(r[1]), 3);
	CHECK(t, ring_flows(&h[0], r[0]), "ring 0 is pinned by the freed poller's consumer");
out:
	two_rings_close(h, r);
}

static void t_poller_free_in_poller_consume_fn(struct tap *t)
{
	poller_free_in_fn(t, false);
}

static void t_poller_free_in_poller_poll_fn(struct tap *t)
{
	poller_free_in_fn(t, true);
}

static jmp_buf jb;

static int jump_fn(void *ctx, const struct mpmcring_record *rec)
{
	(void)ctx;
	(void)rec;
	longjmp(jb, 1);
}

/* The documented way out after a longjmp: the free frees now (no leak). */
static void t_free_after_longjmp(struct tap *t)
{
	/* volatile: kept across the longjmps below. */
	struct mpmcring_consumer *volatile c = NULL;
	struct mpmcring_poller *volatile p = NULL;
	struct mpmcring *r = NULL;
	struct hostring h;

	if (ring(&h)) {
		CHECK(t, 0, "init");
		return;
	}
	r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	c = r ? mpmcring_consumer_new(r) : NULL;
	p = mpmcring_poller_new(NULL);
	CHECK(t, c && p && mpmcring_poller_add(p, r, jump_fn, NULL, NULL) == 0, "setup");
	if (!c || !p)
		goto out;
	CHECK_EQ(t, put(&h, 16, 1), 0);
	if (!setjmp(jb))
		mpmcring_consume(c, 8, jump_fn, NULL);
	CHECK_EQ(t, mpmcring_consume(c, 8, jump_fn, NULL), -EINVAL);
	mpmcring_consumer_free(c);
	c = NULL;
	CHECK_EQ(t, put(&h, 16, 2), 0);
	if (!setjmp(jb))
		mpmcring_poller_consume(p);
	CHECK_EQ(t, mpmcring_poller_consume(p), -EINVAL);
out:
	mpmcring_consumer_free(c);
	mpmcring_poller_free(p);
	if (r)
		mpmcring_close(r);
	hostring_destroy(&h);
}

/* Free, then leave fn by longjmp: a later free must still free (LSan). */
static int free_then_jump(void *ctx, const struct mpmcring_record *rec)
{
	(void)ctx;
	(void)rec;
	mpmcring_consumer_free(g_c);
	longjmp(jb, 1);
}

static int poller_free_then_jump(void *ctx, const struct mpmcring_record *rec)
{
	(void)ctx;
	(void)rec;
	mpmcring_poller_free(g_p);
	longjmp(jb, 1);
}

/* review-fix18 S4: a free asked for inside fn, then a longjmp out of fn. */
static void t_free_in_fn_then_longjmp(struct tap *t)
{
	struct mpmcring *r = NULL;
	struct hostring h;
	int fd;

	if (ring(&h)) {
		CHECK(t, 0, "init");
		return;
	}
	r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	g_c = r ? mpmcring_consumer_new(r) : NULL;
	g_p = mpmcring_poller_new(NULL);
	CHECK(t, g_c && g_p && mpmcring_poller_add(g_p, r, poller_free_then_jump, NULL, NULL) == 0,
	      "setup");
	if (!g_c || !g_p)
		goto out;
	CHECK_EQ(t, put(&h, 16, 1), 0);
	if (!setjmp(jb))
		mpmcring_consume(g_c, 8, free_then_jump, NULL);
	/* Ended inside: nothing pinned, before any other call. */
	CHECK(t, ring_flows(&h, r), "the ring is pinned by a consumer freed inside fn");
	mpmcring_consumer_free(g_c); /* its memory now: LSan sees no leak */
	g_c = NULL;
	fd = mpmcring_poller_epoll_fd(g_p);
	CHECK_EQ(t, put(&h, 16, 2), 0);
	if (!setjmp(jb))
		mpmcring_poller_consume(g_p);
	mpmcring_poller_free(g_p);
	g_p = NULL;
	CHECK(t, fcntl(fd, F_GETFD) < 0, "the poller's epoll fd %d is still open after its free",
	      fd);
	CHECK(t, ring_flows(&h, r), "the ring is pinned after the frees");
out:
	mpmcring_consumer_free(g_c);
	mpmcring_poller_free(g_p);
	if (r)
		mpmcring_close(r);
	hostring_destroy(&h);
}

/*
 * review-fix18b M2: fn frees its consumer (or poller), then closes the
 * ring, as the man page orders it (consumers first). consume must touch
 * nothing of the ring after fn returns.
 */
static struct mpmcring *g_r;

static int free_then_close(void *ctx, const struct mpmcring_record *rec)
{
	(void)rec;
	if (ctx)
		mpmcring_poller_free(g_p);
	else
		mpmcring_consumer_free(g_c);
	mpmcring_close(g_r);
	calls++;
	return 0;
}

static void t_free_then_close_in_fn(struct tap *t)
{
	struct hostring h;
	int poller;

	for (poller = 0; poller < 2; poller++) {
		if (ring(&h)) {
			CHECK(t, 0, "init");
			return;
		}
		g_r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
		CHECK(t, g_r, "ring");
		if (!g_r) {
			hostring_destroy(&h);
			return;
		}
		CHECK_EQ(t, put(&h, 16, 1), 0);
		CHECK_EQ(t, put(&h, 16, 2), 0);
		calls = 0;
		if (poller) {
			g_p = mpmcring_poller_new(NULL);
			CHECK(t,
			      g_p && mpmcring_poller_add(g_p, g_r, free_then_close, g_p, NULL) == 0,
			      "poller");
			if (g_p)
				CHECK_EQ(t, mpmcring_poller_consume(g_p), -ECANCELED);
		} else {
			g_c = mpmcring_consumer_new(g_r);
			CHECK(t, g_c, "consumer");
			if (g_c)
				CHECK_EQ(t, mpmcring_consume(g_c, 8, free_then_close, NULL),
					 -ECANCELED);
		}
		CHECK_EQ(t, calls, 1);
		hostring_destroy(&h);
	}
}

/*
 * review-fix18b M1: after a longjmp out of fn, the program frees from a
 * helper that sits deeper than consume did: taken for a free from inside.
 * The consumer ends all the same (nothing pinned); a free from the frame
 * that called consume then frees its memory (LSan).
 */
static int __attribute__((noinline)) free_in_helper(struct mpmcring_consumer *c)
{
	volatile char pad[256];

	pad[0] = 0;
	mpmcring_consumer_free(c);
	return pad[0]; /* not a tail call: its frame stays below */
}

static void t_longjmp_then_free_in_helper(struct tap *t)
{
	struct mpmcring *r;
	struct hostring h;

	if (ring(&h)) {
		CHECK(t, 0, "init");
		return;
	}
	r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	g_c = r ? mpmcring_consumer_new(r) : NULL;
	CHECK(t, g_c, "consumer");
	if (g_c) {
		CHECK_EQ(t, put(&h, 16, 1), 0);
		CHECK_EQ(t, put(&h, 16, 2), 0);
		if (!setjmp(jb))
			mpmcring_consume(g_c, 8, jump_fn, NULL);
		free_in_helper(g_c);
		CHECK(t, ring_flows(&h, r), "the ring is pinned after a free from a helper");
		mpmcring_consumer_free(g_c);
	}
	if (r)
		mpmcring_close(r);
	hostring_destroy(&h);
}

static int g_freed_other = -1;

static int free_other_fn(void *ctx, const struct mpmcring_record *rec)
{
	(void)ctx;
	(void)rec;
	if (calls++ == 0) {
		errno = 0;
		mpmcring_consumer_free(mpmcring_poller_consumer(g_p, 1));
		g_freed_other = errno;
	}
	return 0;
}

/* Ring 0's fn frees the poller's consumer of ring 1: refused, EINVAL. */
static void t_poller_consumer_free_refused(struct tap *t)
{
	struct hostring h[2];
	struct mpmcring *r[2] = { NULL, NULL };
	int i;

	if (!two_rings(t, h, r))
		return;
	g_p = mpmcring_poller_new(NULL);
	CHECK(t, g_p, "poller");
	for (i = 0; g_p && i < 2; i++) {
		CHECK(t, r[i] && mpmcring_poller_add(g_p, r[i], free_other_fn, NULL, NULL) == i,
		      "ring %d", i);
		CHECK_EQ(t, put(&h[i], 16, 1), 0);
	}
	if (!g_p || !r[0] || !r[1])
		goto out;
	calls = 0;
	CHECK_EQ(t, mpmcring_poller_consume(g_p), 2);
	CHECK_EQ(t, g_freed_other, EINVAL);
	CHECK(t, mpmcring_poller_consumer(g_p, 1), "ring 1's consumer");
	CHECK_EQ(t, mpmcring_poller_ring_gone(g_p, 1), 0);
out:
	mpmcring_poller_free(g_p);
	two_rings_close(h, r);
}

/*
 * review-fix18c M1, S1: the program consumes a poller's consumer by hand
 * (mpmcring_poller_consumer()), and its fn removes that ring (then frees
 * the poller, or adds a ring that reuses the entry), or frees the poller
 * (then returns, or leaves by longjmp and frees the consumer). The
 * consume's return must not write into a freed or reused entry, and a
 * consumer whose poller is gone is the program's to free.
 */
static struct mpmcring *g_r2;
static int g_mode, g_rm, g_add;

static int nop_fn(void *ctx, const struct mpmcring_record *rec)
{
	(void)ctx;
	(void)rec;
	return 0;
}

static int hand_fn(void *ctx, const struct mpmcring_record *rec)
{
	(void)ctx;
	(void)rec;
	switch (g_mode) {
	case 1: /* remove, then free the poller */
		g_rm = mpmcring_poller_remove(g_p, 0, NULL);
		mpmcring_poller_free(g_p);
		g_p = NULL;
		break;
	case 2: /* remove, then add another ring (entry 0 again) */
		g_rm = mpmcring_poller_remove(g_p, 0, NULL);
		g_add = mpmcring_poller_add(g_p, g_r2, nop_fn, NULL, NULL);
		break;
	case 3: /* free the poller */
		mpmcring_poller_free(g_p);
		g_p = NULL;
		break;
	case 4: /* free the poller, then longjmp */
		mpmcring_poller_free(g_p);
		g_p = NULL;
		longjmp(jb, 1);
	}
	return 0;
}

static void hand_consume(struct tap *t, int mode)
{
	struct mpmcring *r[2] = { NULL, NULL };
	struct mpmcring_consumer *volatile c;
	struct hostring h[2];

	if (!two_rings(t, h, r))
		return;
	g_r2 = r[1];
	g_p = mpmcring_poller_new(NULL);
	CHECK(t, r[0] && r[1] && g_p && mpmcring_poller_add(g_p, r[0], nop_fn, NULL, NULL) == 0,
	      "setup");
	if (!r[0] || !r[1] || !g_p)
		goto out;
	CHECK_EQ(t, put(&h[0], 16, 1), 0);
	CHECK_EQ(t, put(&h[1], 16, 2), 0);
	c = mpmcring_poller_consumer(g_p, 0);
	g_mode = mode;
	g_rm = g_add = -99;
	if (!setjmp(jb))
		CHECK_EQ(t, mpmcring_consume(c, 8, hand_fn, NULL), -ECANCELED);
	if (mode == 1 || mode == 2)
		CHECK_EQ(t, g_rm, 0);
	if (mode == 4)
		mpmcring_consumer_free(c); /* after the longjmp: its memory (LSan) */
	if (mode == 2) {
		CHECK_EQ(t, g_add, 0);
		CHECK(t, mpmcring_poller_consumer(g_p, 0) != NULL,
		      "the re-added ring lost its consumer: the hand consume's return cleared it");
		if (mpmcring_poller_consumer(g_p, 0))
			CHECK_EQ(t, mpmcring_poller_consume(g_p), 1);
	}
out:
	mpmcring_poller_free(g_p);
	two_rings_close(h, r);
}

static void t_hand_consume_remove_then_free_poller(struct tap *t)
{
	hand_consume(t, 1);
}

static void t_hand_consume_remove_then_add(struct tap *t)
{
	hand_consume(t, 2);
}

static void t_hand_consume_free_poller(struct tap *t)
{
	hand_consume(t, 3);
}

static void t_hand_consume_free_poller_then_longjmp(struct tap *t)
{
	hand_consume(t, 4);
}

/* One test a line. */
/* clang-format off */
static const struct tap_test tests[] = {
	TAP_TEST(t_consumer_free_in_consume_fn),
	TAP_TEST(t_poller_free_in_poller_consume_fn),
	TAP_TEST(t_poller_free_in_poller_poll_fn),
	TAP_TEST(t_free_after_longjmp),
	TAP_TEST(t_free_in_fn_then_longjmp),
	TAP_TEST(t_free_then_close_in_fn),
	TAP_TEST(t_longjmp_then_free_in_helper),
	TAP_TEST(t_poller_consumer_free_refused),
	TAP_TEST(t_hand_consume_remove_then_free_poller),
	TAP_TEST(t_hand_consume_remove_then_add),
	TAP_TEST(t_hand_consume_free_poller),
	TAP_TEST(t_hand_consume_free_poller_then_longjmp),
};
/* clang-format on */

int main(void)
{
	return tap_run(tests, (int)(sizeof(tests) / sizeof(tests[0])));
}
