// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring cat --follow's end (review-gopoll18 S3): cat_run() over a host
 * ring whose "device" is a pipe (its hangup: the write end closed), with
 * poll(2) wrapped (-Wl,--wrap=poll). The first wait cat makes after its
 * last empty look is where a producer's drop (TOO_BIG on the empty ring:
 * no record, no wakeup) and then the destroy land. The drop is counted in
 * the meta page before the destroy; cat must report it ({"lost":...} with
 * --json) before it ends. It did not: it took losses only before waiting.
 */
#include "../../userspace/tools/cat.c"

#include <stdatomic.h>

#include "tap.h"
#include "hostring.h"
#include "internal.h"

int __real_poll(struct pollfd *fds, nfds_t n, int timeout);

static struct mpmcring *g_r;
static int g_wfd = -1;
static int g_polls;

int __wrap_poll(struct pollfd *fds, nfds_t n, int timeout)
{
	/* The ring's own wait (mpmcring_wait()), the first time only. */
	if (g_r && n == 1 && fds[0].fd == g_r->fd && g_polls++ == 0) {
		/* A TOO_BIG drop on the empty ring, then the destroy. */
		__atomic_fetch_add(&g_r->v.meta->lost_dropped, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&g_r->v.meta->state, MPMCRING_STATE_DEAD, __ATOMIC_RELEASE);
		close(g_wfd);
		g_wfd = -1;
	}
	return __real_poll(fds, n, timeout);
}

static void t_cat_follow_reports_losses_before_the_end(struct tap *t)
{
	struct cat k = { .fmt = CAT_JSON, .batch = 64, .follow = true };
	struct mpmcring_consumer *c;
	struct hostring h;
	char *out = NULL;
	size_t outlen = 0;
	int fds[2], code, saved;
	uint64_t pos;
	FILE *m;

	CHECK(t, !hostring_init(&h, &(struct hostring_params){ .size = 4096, .producers = 1 }),
	      "init");
	CHECK_EQ(t, pipe(fds), 0);
	g_r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	c = g_r ? mpmcring_consumer_new(g_r) : NULL;
	CHECK(t, c, "consumer");
	if (!c)
		return;
	g_r->fd = fds[0];
	g_wfd = fds[1];
	CHECK_EQ(t, hostring_reserve(&h, 0, 3, MPMCRING_PRIO_NORMAL, &pos), 0);
	memcpy(hostring_payload(&h, pos), "one", 3);
	hostring_commit(&h, 0, pos, 3);
	/* cat_run prints to stdout: catch it. */
	fflush(stdout);
	m = open_memstream(&out, &outlen);
	saved = dup(1);
	{
		int p[2];
		CHECK_EQ(t, pipe(p), 0);
		dup2(p[1], 1);
		close(p[1]);
		code = cat_run(&k, "(host)", g_r, c);
		fflush(stdout);
		dup2(saved, 1);
		close(saved);
		{
			char buf[4096];
			ssize_t got;

			while ((got = read(p[0], buf, sizeof(buf))) > 0)
				fwrite(buf, 1, (size_t)got, m);
		}
		close(p[0]);
	}
	fclose(m);
	printf("# cat_run returned %d after %d poll(s); its stdout:\n", code, g_polls);
	for (char *s = strtok(out, "\n"); s; s = strtok(NULL, "\n"))
		printf("#   %s\n", s);
	CHECK_EQ(t, code, 0);
	CHECK(t, g_polls >= 1, "cat never waited");
	/* strtok cut it: look at the record and the loss line separately. */
	CHECK(t, strstr(out, "\"data_b64\":\"b25l\""), "the record before the end is missing");
	{
		bool lost = false;
		char *s = out;
		size_t i;

		for (i = 0; i < outlen; i++)
			if (!strncmp(s + i, "{\"lost\":{\"dropped\":1", 20))
				lost = true;
		CHECK(t, lost, "the drop counted before the destroy was never reported");
	}
	free(out);
	mpmcring_consumer_free(c);
	g_r->fd = -1;
	close(fds[0]);
	mpmcring_close(g_r);
	g_r = NULL;
	hostring_destroy(&h);
}

static const struct tap_test tests[] = {
	TAP_TEST(t_cat_follow_reports_losses_before_the_end),
};

int main(void)
{
	return tap_run(tests, (int)(sizeof(tests) / sizeof(tests[0])));
}
