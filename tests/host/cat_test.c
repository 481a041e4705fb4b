// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring cat's consume loop, cat_run(), over a host ring: the returns
 * of a claim and a wait that end or break the stream for other tools.
 */
#include "../../userspace/tools/cat.c"

#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <signal.h>
#include <fcntl.h>

#include "tap.h"
#include "hostring.h"
#include "internal.h"
#include "revoker.h"

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

/*
 * The ring's statistics, for --peek's drop reports: a host ring has no
 * device to ask. Each call returns the next of g_drops' counts (the last
 * one again once they run out), all in one reason and class; none: 0.
 */
static const uint64_t *g_drops;
static unsigned int g_ndrops, g_stats_calls;
static bool g_stats_fail;

int __wrap_mpmcring_get_stats(struct mpmcring *r, struct mpmcring_stats *st);
int __wrap_mpmcring_get_stats(struct mpmcring *r, struct mpmcring_stats *st)
{
	unsigned int i = g_stats_calls < g_ndrops ? g_stats_calls : g_ndrops - 1;

	(void)r;
	if (g_stats_fail)
		return mpr_lib_error(ENOTTY, "reading statistics: no such ioctl (test)");
	memset(st, 0, sizeof(*st));
	if (g_ndrops)
		st->dropped[MPMCRING_DROP_FULL][MPMCRING_PRIO_LOW] = g_drops[i];
	g_stats_calls++;
	return 0;
}

/*
 * cat's clock (the peek's once-a-second drop look): the real one, or, with
 * g_clock_step set, one that moves that far at every read.
 */
double __real_now_s(void);
double __wrap_now_s(void);
static double g_clock, g_clock_step;

double __wrap_now_s(void)
{
	if (!g_clock_step)
		return __real_now_s();
	return g_clock += g_clock_step;
}

/* Reads what fd holds from its start into a NUL-terminated string. */
static char *slurp(int fd)
{
	size_t len = 0;
	char *s = NULL, buf[4096];
	FILE *m = open_memstream(&s, &len);
	ssize_t got;

	lseek(fd, 0, SEEK_SET);
	while ((got = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)got, m);
	fclose(m);
	return s;
}

static void show(const char *what, const char *text)
{
	printf("# %s:\n", what);
	for (const char *s = text, *e; *s; s = *e ? e + 1 : e) {
		e = strchrnul(s, '\n');
		printf("#   %.*s\n", (int)(e - s), s);
	}
}

/* How many times w occurs in s. */
static int words(const char *s, const char *w)
{
	int n = 0;

	for (; (s = strstr(s, w)); s++)
		n++;
	return n;
}

/* cat_capture() into one file, as 2>&1 does: *out both, *err empty. */
static bool g_capture_merged;

/*
 * Runs cat_run() (cat_peek() for k->peek) with its stdout and stderr caught in *out and *err
 * (NUL-terminated, to be freed); its code.
 */
static int cat_capture(struct tap *t, struct cat *k, struct mpmcring *r,
		       struct mpmcring_consumer *c, char **out, char **err)
{
	FILE *o = tmpfile(), *e = g_capture_merged ? o : tmpfile();
	int code, saved_out, saved_err;

	CHECK(t, o && e, "tmpfile");
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(1);
	saved_err = dup(2);
	dup2(fileno(o), 1);
	dup2(fileno(e), 2);
	code = k->peek ? cat_peek(k, "(host)", r) : cat_run(k, "(host)", r, c);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	*out = slurp(fileno(o));
	*err = g_capture_merged ? strdup("") : slurp(fileno(e));
	fclose(o);
	if (e != o)
		fclose(e);
	printf("# cat_run returned %d\n", code);
	show("its stdout", *out);
	show("its stderr", *err);
	return code;
}

/*
 * A 4 KiB host ring (*h) opened as *r, and a consumer of it; NULL after a
 * failed check when the set-up failed.
 */
static struct mpmcring_consumer *host_consumer(struct tap *t, struct hostring *h,
					       struct mpmcring **r)
{
	struct mpmcring_consumer *c;

	*r = NULL;
	if (hostring_init(h, &(struct hostring_params){ .size = 4096, .producers = 1 })) {
		CHECK(t, 0, "hostring_init");
		return NULL;
	}
	*r = mpmcring__open_memory(h->cons, h->ro, &h->layout);
	c = *r ? mpmcring_consumer_new(*r) : NULL;
	CHECK(t, c, "consumer: %s", mpmcring_errmsg());
	return c;
}

/* One record of its bytes (a C string, NUL left out). */
static int put_rec(struct hostring *h, const char *bytes)
{
	uint32_t len = (uint32_t)strlen(bytes);
	uint64_t pos;
	int err = hostring_reserve(h, 0, len, MPMCRING_PRIO_NORMAL, &pos);

	if (err)
		return err;
	memcpy(hostring_payload(h, pos), bytes, len);
	hostring_commit(h, 0, pos, len);
	return 0;
}

/*
 * mpmcring cat --follow's end (review-gopoll18 S3): the ring's "device" is
 * a pipe (its hangup: the write end closed), with poll(2) wrapped
 * (-Wl,--wrap=poll). The first wait cat makes after its last empty look is
 * where a producer's drop (TOO_BIG on the empty ring: no record, no
 * wakeup) and then the destroy land. The drop is counted in the meta page
 * before the destroy; cat must report it ({"lost":...} with --json) before
 * it ends. It did not: it took losses only before waiting.
 */
static void t_cat_follow_reports_losses_before_the_end(struct tap *t)
{
	struct cat k = { .fmt = CAT_JSON, .batch = 64, .follow = true };
	struct mpmcring_consumer *c;
	struct hostring h;
	char *out = NULL, *err = NULL;
	int fds[2], code;
	uint64_t pos;

	c = host_consumer(t, &h, &g_r);
	if (!c)
		return;
	CHECK_EQ(t, pipe(fds), 0);
	g_r->fd = fds[0];
	g_wfd = fds[1];
	CHECK_EQ(t, hostring_reserve(&h, 0, 3, MPMCRING_PRIO_NORMAL, &pos), 0);
	memcpy(hostring_payload(&h, pos), "one", 3);
	hostring_commit(&h, 0, pos, 3);
	code = cat_capture(t, &k, g_r, c, &out, &err);
	printf("# after %d poll(s)\n", g_polls);
	CHECK_EQ(t, code, 0);
	CHECK(t, g_polls >= 1, "cat never waited");
	CHECK(t, strstr(out, "\"data_b64\":\"b25l\""), "the record before the end is missing");
	CHECK(t, strstr(out, "{\"lost\":{\"dropped\":1"),
	      "the drop counted before the destroy was never reported");
	free(out);
	free(err);
	mpmcring_consumer_free(c);
	g_r->fd = -1;
	close(fds[0]);
	mpmcring_close(g_r);
	g_r = NULL;
	hostring_destroy(&h);
}

/*
 * cat --follow whose wait fails (here: a ring with no file to wait on)
 * ends with the wait's error, exit 1, after the record and the loss
 * counted before it (stdout and stderr in one file, as 2>&1 has them);
 * it neither exits 0 nor loops on the failing wait.
 */
static void t_cat_follow_failed_wait_ends_with_its_error(struct tap *t)
{
	struct cat k = { .fmt = CAT_JSON, .batch = 64, .follow = true };
	const char *e1, *e2, *e3;
	struct mpmcring_consumer *c;
	struct mpmcring *r;
	struct hostring h;
	char *out = NULL, *err = NULL;
	int code;

	c = host_consumer(t, &h, &r);
	if (!c)
		return;
	REQUIRE(t, r->fd < 0, "a host ring has no file");
	CHECK_EQ(t, put_rec(&h, "one"), 0);
	__atomic_fetch_add(&h.v.meta->lost_dropped, 1, __ATOMIC_RELEASE);
	g_capture_merged = true;
	code = cat_capture(t, &k, r, c, &out, &err);
	g_capture_merged = false;
	CHECK_EQ(t, code, CLI_ERROR);
	CHECK_EQ(t, words(out, "{\"lost\":"), 1);
	e1 = strstr(out, "\"data_b64\":\"b25l\"");
	e2 = strstr(out, "{\"lost\":{\"dropped\":1,");
	e3 = strstr(out, "this ring has no file to wait on");
	CHECK(t, e1 && e2 && e3 && e1 < e3 && e2 < e3,
	      "not the record and the loss, then the wait's error: %s", out);
	free(out);
	free(err);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	hostring_destroy(&h);
}

/*
 * An error that ends cat (here -EBADMSG: a head off the granule on a ring
 * with no device to repair it) reports the losses not reported yet, before
 * its message: after it, nobody would (helper-241). It returned the error
 * alone: the 2 drops never reached the stream.
 */
static void t_cat_error_reports_losses_first(struct tap *t)
{
	struct cat k = { .fmt = CAT_JSON, .batch = 64 };
	struct mpmcring_consumer *c;
	struct mpmcring *r;
	struct hostring h;
	char *out = NULL, *err = NULL;
	int code;

	c = host_consumer(t, &h, &r);
	if (!c)
		return;
	CHECK_EQ(t, put_rec(&h, "one"), 0);
	h.v.meta->lost_dropped = 2;
	h.v.cons->head += 3; /* a co-tenant's garbage */
	code = cat_capture(t, &k, r, c, &out, &err);
	CHECK_EQ(t, code, CLI_ERROR);
	CHECK(t, strstr(out, "{\"lost\":{\"dropped\":2,"), "the 2 drops were not reported");
	CHECK(t, strstr(err, "mpmcring cat: (host): "), "no error message");
	free(out);
	free(err);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	hostring_destroy(&h);
}

/* Whether holds() comes true of /proc/PID/<file> within 5 s. */
static bool proc_until(pid_t pid, const char *file, bool (*holds)(FILE *f))
{
	char path[64];
	int i;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	for (i = 0; i < 500; i++) {
		FILE *f = fopen(path, "r");
		bool yes = f && holds(f);

		if (f)
			fclose(f);
		if (yes)
			return true;
		usleep(10000);
	}
	return false;
}

/* /proc/PID/syscall: in write(2). */
static bool in_write(FILE *f)
{
	char line[64];

	return fgets(line, sizeof(line), f) && atoi(line) == SYS_write;
}

/* /proc/PID/status: no SIGINT pending, to the thread or the process. */
static bool no_sigint_pending(FILE *f)
{
	char line[128];
	bool pending = false;

	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "SigPnd:", 7) || !strncmp(line, "ShdPnd:", 7))
			pending |= strtoull(line + 7, NULL, 16) & (1ULL << (SIGINT - 1));
	return !pending;
}

/*
 * A later SIGINT ends cat at once when the first could not: cat blocked
 * writing into a pipe nobody reads (Ctrl-C on "mpmcring cat --follow |
 * less" with less stopped). The handler is installed with SA_RESTART, so
 * the write restarted after every signal, and cat ran on for as long as
 * the reader kept still (helper-241; before: still running 5 s after the
 * signals). One within a second of the first is the same request
 * (coreutils timeout signals the child, then its group) and changes
 * nothing; one a second or more after it ends cat: status 128 + SIGINT,
 * and the batch it had taken and could not write said lost.
 */
static void t_cat_second_signal_ends_a_blocked_write(struct tap *t)
{
	struct mpmcring_consumer *c;
	struct mpmcring *r;
	struct hostring h;
	int out[2], ready[2], err[2], status = 0, i;
	double t_first, t0;
	char fill[4096], said[256] = "", b;
	ssize_t n;
	pid_t pid;

#if defined(__SANITIZE_THREAD__)
	/* TSan holds a signal that lands in a blocked write(2) for its next
	 * interceptor: the write restarts first, the handler never runs.
	 * The plain and ASan builds run it. */
	printf("# not under TSan: it defers signals in a blocked write(2)\n");
	return;
#endif
	c = host_consumer(t, &h, &r);
	if (!c)
		return;
	for (i = 0; i < 10; i++)
		CHECK_EQ(t, put_rec(&h, "a record cat cannot write"), 0);
	REQUIRE(t, !pipe(out) && !pipe(ready) && !pipe(err), "pipes");
	/* The pipe full: cat's first write blocks. */
	fcntl(out[1], F_SETPIPE_SZ, 4096);
	fcntl(out[1], F_SETFL, O_NONBLOCK);
	memset(fill, 'x', sizeof(fill));
	while (write(out[1], fill, sizeof(fill)) > 0)
		;
	fcntl(out[1], F_SETFL, 0);
	fflush(stdout);
	pid = fork();
	REQUIRE(t, pid >= 0, "fork");
	if (!pid) {
		struct cat k = { .fmt = CAT_TEXT, .batch = 64, .follow = true };

		dup2(out[1], 1);
		dup2(err[1], 2);
		cli_signals(true);
		b = 1;
		if (write(ready[1], &b, 1) != 1)
			_exit(99);
		_exit(cat_run(&k, "(host)", r, c));
	}
	close(out[1]);
	close(ready[1]);
	close(err[1]);
	CHECK_EQ(t, read(ready[0], &b, 1), 1);
	/* Both signals once it is blocked in write(2): a first one before
	 * its loop's first look would end it cleanly. */
	CHECK(t, proc_until(pid, "syscall", in_write), "cat never blocked in write(2)");
	t_first = now_s(); /* at or before the first's handler takes its time */
	kill(pid, SIGINT);
	/* Delivered before the next: two pending ones are one. */
	CHECK(t, proc_until(pid, "status", no_sigint_pending), "the first SIGINT stayed pending");
	t0 = now_s(); /* at or after it */
	kill(pid, SIGINT);
	CHECK(t, proc_until(pid, "status", no_sigint_pending), "the second SIGINT stayed pending");
	usleep(200000);
	/* Unless this machine stalled a second between the two. */
	if (now_s() - t_first < 0.9)
		CHECK_EQ(t, waitpid(pid, &status, WNOHANG), 0);
	else
		printf("# the second SIGINT came %.1f s after the first: not a double press\n",
		       now_s() - t_first);
	while (now_s() - t0 < 1.5)
		usleep(10000);
	kill(pid, SIGINT);
	for (i = 0; i < 500 && !waitpid(pid, &status, WNOHANG); i++)
		usleep(10000);
	if (i == 500) {
		CHECK(t, 0,
		      "cat still running 5 s after a SIGINT 1.5 s after the first, blocked in its write");
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	} else {
		CHECK(t, WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGINT,
		      "cat ended with status 0x%x, want exit %d", status, 128 + SIGINT);
		n = read(err[0], said, sizeof(said) - 1);
		said[n > 0 ? n : 0] = 0;
		CHECK(t,
		      strstr(said, "a later signal, the first not having ended it") &&
			      strstr(said,
				     "; up to 10 records it had taken from the ring were not written: lost"),
		      "it did not say why it ended, and what it lost: '%s'", said);
	}
	close(out[0]);
	close(ready[0]);
	close(err[0]);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	hostring_destroy(&h);
}

/*
 * A claim revoked while cat made it (cat stopped past the claim timeout
 * between its claim's steps: SIGSTOP, a debugger, a paused VM; revoker.h
 * plays it): mpmcring_read_batch() says -ESTALE, the records the head
 * moved over lost and counted as revoked. cat must report them in the
 * stream and go on with the records after them, as it does when its
 * commit says -ESTALE. It ended with an error instead ("the consumer's
 * claim was revoked while it was being made ...", status 1). With --json
 * the loss is a line on stdout; in text, one on stderr before cat's word.
 */
static void cat_claim_revoked_while_made(struct tap *t, enum cat_fmt fmt)
{
	/* Their base64 in cat's JSON. */
	static const char *const b64[8] = { "cmVjMA==", "cmVjMQ==", "cmVjMg==", "cmVjMw==",
					    "cmVjNA==", "cmVjNQ==", "cmVjNg==", "cmVjNw==" };
	static const char lost_text[] = "lost 4 records (dropped 0, overwritten 0, revoked 4)";
	struct cat k = { .fmt = fmt, .batch = 4 };
	struct mpmcring_consumer *c;
	struct mpmcring *r;
	struct hostring h;
	char *out = NULL, *err = NULL, want[64];
	uint64_t pos;
	int i, code;

	c = host_consumer(t, &h, &r);
	if (!c)
		return;
	for (i = 0; i < 8; i++) {
		CHECK_EQ(t, hostring_reserve(&h, 0, 4, MPMCRING_PRIO_CRITICAL, &pos), 0);
		snprintf(want, sizeof(want), "rec%d", i);
		memcpy(hostring_payload(&h, pos), want, 4);
		hostring_commit(&h, 0, pos, 4);
	}
	if (revoker_arm(&h, REVOKE_AND_RECLAIM)) {
		CHECK(t, false, "arming the revoker: %s", strerror(errno));
		return;
	}
	code = cat_capture(t, &k, r, c, &out, &err);
	revoker_disarm();
	/* The window was hit: both faults, the second at the claim's look. */
	CHECK_EQ(t, revoker.faults, 2);
	CHECK(t, revoker.addr[1] == (void *)&h.v.meta->reclaim_pos,
	      "second fault at %p, not reclaim_pos", revoker.addr[1]);
	CHECK_EQ(t, code, 0);
	if (fmt == CAT_JSON) {
		CHECK(t, strstr(out, "{\"lost\":{\"dropped\":0,\"overwritten\":0,\"revoked\":4}}"),
		      "the 4 revoked records were not reported");
		/* One loss line for the one loss. */
		CHECK(t,
		      strstr(out, "{\"lost\"") &&
			      !strstr(strstr(out, "{\"lost\"") + 1, "{\"lost\""),
		      "not exactly one loss line");
	} else {
		char *l = strstr(err, lost_text);

		CHECK(t, l && !strstr(l + 1, "lost "), "not exactly one loss line on stderr");
		CHECK(t, l && strstr(err, "reading on") > l,
		      "the loss line is not before cat's word");
	}
	/* Said where the user looks, in cat's words: it reads on. */
	CHECK(t,
	      strstr(err, "cat stood still past the ring's claim timeout") &&
		      strstr(err, "revoked, not printed; reading on"),
	      "no message on stderr for the revoked claim");
	for (i = 0; i < 8; i++) {
		if (fmt == CAT_JSON)
			snprintf(want, sizeof(want), "\"data_b64\":\"%s\"", b64[i]);
		else
			snprintf(want, sizeof(want), "rec%d\n", i);
		if (i < 4)
			CHECK(t, !strstr(out, want), "revoked record %d printed", i);
		else
			CHECK(t, strstr(out, want), "record %d, after the revoked claim, missing",
			      i);
	}
	free(out);
	free(err);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	hostring_destroy(&h);
}

static void t_cat_claim_revoked_while_made_json(struct tap *t)
{
	cat_claim_revoked_while_made(t, CAT_JSON);
}

static void t_cat_claim_revoked_while_made_text(struct tap *t)
{
	cat_claim_revoked_while_made(t, CAT_TEXT);
}

/*
 * mpmcring cat --peek | head -1: its output closed while records remain.
 * cat must end at the first failed write, not go on copying into the
 * closed pipe: it flushed, and so saw the closed pipe, only when it found
 * nothing new, which a busy ring never offers (here: a full ring's worth
 * of records, so that the copy counts how far it went).
 */
static void t_cat_peek_ends_when_its_output_closes(struct tap *t)
{
	struct cat k = { .fmt = CAT_TEXT, .peek = true };
	struct mpmcring *r;
	struct hostring h;
	unsigned int n = 0;
	int fds[2], saved, code;
	uint64_t pos;

	REQUIRE(t, !hostring_init(&h, &(struct hostring_params){ .size = 1 << 20, .producers = 1 }),
		"init");
	while (!hostring_reserve(&h, 0, 16, MPMCRING_PRIO_NORMAL, &pos)) {
		memset(hostring_payload(&h, pos), 'p', 16);
		hostring_commit(&h, 0, pos, 16);
		n++;
	}
	r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	REQUIRE(t, r, "open");
	REQUIRE(t, !pipe(fds), "pipe");
	close(fds[0]); /* the reader is gone */
	signal(SIGPIPE, SIG_IGN);
	fflush(stdout);
	saved = dup(1);
	dup2(fds[1], 1);
	code = cat_peek(&k, "(host)", r);
	clearerr(stdout);
	dup2(saved, 1);
	close(saved);
	close(fds[1]);
	printf("# cat --peek returned %d after %llu of %u records\n", code,
	       (unsigned long long)k.done, n);
	CHECK_EQ(t, code, CLI_OK);
	CHECK(t, k.done < n / 2, "cat --peek copied on into a closed pipe: %llu of %u records",
	      (unsigned long long)k.done, n);
	mpmcring_close(r);
	hostring_destroy(&h);
}

/* A 4 KiB host ring (*h) holding three records "rec", opened as *r. */
static bool peek_ring(struct tap *t, struct hostring *h, struct mpmcring **r)
{
	uint64_t pos;
	int i;

	if (hostring_init(h, &(struct hostring_params){ .size = 4096, .producers = 1 })) {
		CHECK(t, false, "hostring_init");
		return false;
	}
	for (i = 0; i < 3; i++) {
		if (hostring_reserve(h, 0, 4, MPMCRING_PRIO_NORMAL, &pos)) {
			CHECK(t, false, "hostring_reserve");
			return false;
		}
		memcpy(hostring_payload(h, pos), "rec", 4);
		hostring_commit(h, 0, pos, 4);
	}
	*r = mpmcring__open_memory(h->cons, h->ro, &h->layout);
	return *r != NULL;
}

/*
 * A peek of r with the ring's drop count reading 7, then 12 (5 more), and
 * the clock moving step seconds at each read: cat's exit code, and what it
 * wrote (g_stats_calls counts the looks).
 */
static int peek_with_drops(struct tap *t, struct cat *k, struct mpmcring *r, double step,
			   char **out, char **err)
{
	static const uint64_t drops[] = { 7, 12 };
	int code;

	g_drops = drops;
	g_ndrops = 2;
	g_stats_calls = 0;
	g_clock_step = step;
	code = cat_capture(t, k, r, NULL, out, err);
	g_clock_step = 0;
	g_ndrops = 0;
	return code;
}

/*
 * --peek takes nothing, so no consumer's loss report reaches it: it says
 * what the ring's drop count grew by while it copied (7 before it began,
 * 12 at the next look), once, in either format. Before, a monitor saw a
 * ring dropping records as a quiet one. The count is an ioctl over every
 * CPU: within a second (the clock moving 1 ms a read, so that a stalled
 * CI machine cannot make a second pass) it is asked at the start and at
 * the end only, so the report comes last.
 */
static void cat_peek_reports_drops(struct tap *t, enum cat_fmt fmt)
{
	struct cat k = { .fmt = fmt, .peek = true };
	struct mpmcring *r;
	struct hostring h;
	char *out, *err;

	REQUIRE(t, peek_ring(t, &h, &r), "open");
	CHECK_EQ(t, peek_with_drops(t, &k, r, 0.001, &out, &err), CLI_OK);
	CHECK_EQ(t, (int)k.done, 3);
	CHECK_EQ(t, (int)g_stats_calls, 2);
	if (fmt == CAT_JSON) {
		/* Once, after the three records. */
		CHECK_EQ(t, words(out, "dropped"), 1);
		CHECK_EQ(t, words(out, "\n"), 4);
		CHECK(t, strlen(out) >= 14 && !strcmp(out + strlen(out) - 14, "{\"dropped\":5}\n"),
		      "no {\"dropped\":5} line last: %s", out);
	} else {
		CHECK_EQ(t, words(err, "(host): the ring dropped 5 records"), 1);
		CHECK_EQ(t, words(out, "rec"), 3);
	}
	free(out);
	free(err);
	mpmcring_close(r);
	hostring_destroy(&h);
}

/*
 * A second or more between looks (the clock moves 2 s at every read): the
 * drops are said while it copies, after the record that was copied when
 * they were seen, not held back to its end: a peek that never catches up
 * says them too.
 */
static void t_cat_peek_reports_drops_while_copying(struct tap *t)
{
	struct cat k = { .fmt = CAT_JSON, .peek = true };
	struct mpmcring *r;
	struct hostring h;
	char *out, *err, *nl;

	REQUIRE(t, peek_ring(t, &h, &r), "open");
	CHECK_EQ(t, peek_with_drops(t, &k, r, 2, &out, &err), CLI_OK);
	CHECK_EQ(t, (int)k.done, 3);
	CHECK_EQ(t, words(out, "dropped"), 1);
	nl = strchr(out, '\n');
	CHECK(t, nl && !strncmp(nl + 1, "{\"dropped\":5}\n", 14),
	      "the drops not right after the first record: %s", out);
	free(out);
	free(err);
	mpmcring_close(r);
	hostring_destroy(&h);
}

/*
 * --peek --count 2: it ends before it ever catches up, and still says
 * what the ring dropped meanwhile, after the records.
 */
static void t_cat_peek_reports_drops_at_its_end(struct tap *t)
{
	struct cat k = { .fmt = CAT_JSON, .peek = true, .count = 2 };
	struct mpmcring *r;
	struct hostring h;
	char *out, *err;

	REQUIRE(t, peek_ring(t, &h, &r), "open");
	CHECK_EQ(t, peek_with_drops(t, &k, r, 0.001, &out, &err), CLI_OK);
	CHECK_EQ(t, (int)k.done, 2);
	CHECK_EQ(t, (int)g_stats_calls, 2);
	CHECK_EQ(t, words(out, "{\"dropped\":5}\n"), 1);
	CHECK(t, strlen(out) >= 14 && !strcmp(out + strlen(out) - 14, "{\"dropped\":5}\n"),
	      "no {\"dropped\":5} line last: %s", out);
	free(out);
	free(err);
	mpmcring_close(r);
	hostring_destroy(&h);
}

/*
 * A ring whose framing is corrupt (the third record's header claims more
 * than a record may hold) ends the peek with an error: after the records
 * before it and the drops seen meanwhile, as a consumer's error comes
 * after its losses (stdout and stderr in one file, as 2>&1 has them).
 * Before, the drops went unsaid and the records copied could still sit
 * in stdio's buffer behind the message.
 */
static void t_cat_peek_error_comes_after_records_and_drops(struct tap *t)
{
	struct cat k = { .fmt = CAT_JSON, .peek = true };
	const char *e1, *e2, *e3, *e4;
	union mpr_hdr_word u;
	struct mpmcring *r;
	struct hostring h;
	char *out, *err;
	uint64_t pos = 0;
	int i;

	REQUIRE(t, !hostring_init(&h, &(struct hostring_params){ .size = 4096, .producers = 1 }),
		"init");
	for (i = 0; i < 3; i++) {
		REQUIRE(t, !hostring_reserve(&h, 0, 4, MPMCRING_PRIO_NORMAL, &pos), "reserve");
		memcpy(hostring_payload(&h, pos), "rec", 4);
		hostring_commit(&h, 0, pos, 4);
	}
	/* The last record's length: more than any record may have. */
	memcpy(&u.w, h.v.data + (pos & h.v.data_mask), sizeof(u.w));
	u.h.len = h.v.max_record + 1;
	memcpy(h.v.data + (pos & h.v.data_mask), &u.w, sizeof(u.w));
	r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	REQUIRE(t, r, "open");
	g_capture_merged = true;
	CHECK_EQ(t, peek_with_drops(t, &k, r, 0.001, &out, &err), CLI_ERROR);
	g_capture_merged = false;
	CHECK_EQ(t, (int)k.done, 2);
	CHECK_EQ(t, (int)g_stats_calls, 2);
	/* Two records, the drops, the error: in that order. */
	CHECK_EQ(t, words(out, "\n"), 4);
	e1 = strstr(out, "\"pos\"");
	e2 = e1 ? strstr(e1 + 1, "\"pos\"") : NULL;
	e3 = strstr(out, "{\"dropped\":5}\n");
	e4 = strstr(out, "framing is corrupt");
	CHECK(t, e1 && e2 && e3 && e4 && e2 < e3 && e3 < e4,
	      "not records, then drops, then the error: %s", out);
	free(out);
	free(err);
	mpmcring_close(r);
	hostring_destroy(&h);
}

/*
 * The statistics unreadable: a peek needs none to copy. It says once
 * that drops go unreported and copies on.
 */
static void t_cat_peek_copies_without_statistics(struct tap *t)
{
	struct cat k = { .fmt = CAT_JSON, .peek = true };
	struct mpmcring *r;
	struct hostring h;
	char *out, *err;

	REQUIRE(t, peek_ring(t, &h, &r), "open");
	g_stats_fail = true;
	CHECK_EQ(t, cat_capture(t, &k, r, NULL, &out, &err), CLI_OK);
	g_stats_fail = false;
	CHECK_EQ(t, (int)k.done, 3);
	CHECK_EQ(t, words(out, "\n"), 3);
	CHECK_EQ(
		t,
		words(err,
		      "(reading statistics: no such ioctl (test)): the ring's drops go unreported"),
		1);
	free(out);
	free(err);
	mpmcring_close(r);
	hostring_destroy(&h);
}

static void t_cat_peek_reports_drops_json(struct tap *t)
{
	cat_peek_reports_drops(t, CAT_JSON);
}

static void t_cat_peek_reports_drops_text(struct tap *t)
{
	cat_peek_reports_drops(t, CAT_TEXT);
}

/*
 * An event's text line is key=value words: a comm or path with a space or
 * '=' in it (any user chooses both: prctl(PR_SET_NAME), the file it opens)
 * must not forge a field. Before, "comm=a pid=1 uid=0" read as three.
 */
static void t_event_text_values_forge_no_field(struct tap *t)
{
	static const char path[] = "/tmp/x uid=0 comm=sshd";
	struct mpmcring_event ev = { 0 };
	char *line = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&line, &len);

	REQUIRE(t, m, "open_memstream");
	ev.hdr.type = MPMCRING_EV_OPEN;
	ev.hdr.pid = 7;
	ev.hdr.tgid = 7;
	ev.hdr.uid = 1000;
	snprintf(ev.comm, sizeof(ev.comm), "a pid=1 uid=0");
	ev.str = path;
	ev.str_len = sizeof(path) - 1;
	out_event_text(m, &ev);
	fclose(m);
	CHECK(t, strstr(line, " comm=a\\x20pid\\x3d1\\x20uid\\x3d0 ") != NULL, "comm: %s", line);
	CHECK(t, strstr(line, " path=/tmp/x\\x20uid\\x3d0\\x20comm\\x3dsshd ") != NULL, "path: %s",
	      line);
	/* One pid, uid and comm field each: the event's own. */
	CHECK_EQ(t, words(line, " pid="), 1);
	CHECK_EQ(t, words(line, " uid="), 1);
	CHECK_EQ(t, words(line, " comm="), 1);
	free(line);
}

/*
 * Every header flag has its name in both formats: a flag the decoder does
 * not know would print nothing, and an exit that ended the process would
 * read as any thread's.
 */
static void t_event_flags_named(struct tap *t)
{
	struct mpmcring_record rec = { .pos = 64, .prio = MPMCRING_PRIO_CRITICAL };
	struct mpmcring_event ev = { 0 };
	char *text = NULL, *json = NULL;
	size_t len = 0, jlen = 0;
	FILE *m = open_memstream(&text, &len), *j = open_memstream(&json, &jlen);

	REQUIRE(t, m && j, "open_memstream");
	ev.hdr.type = MPMCRING_EV_EXIT;
	ev.hdr.flags = MPMCRING_EVF_GROUP_DEAD;
	ev.exit.exit_code = 3 << 8;
	out_event_text(m, &ev);
	out_event_json(j, &ev, &rec);
	fclose(m);
	fclose(j);
	CHECK(t, strstr(text, " exit_code=768 group_dead\n") != NULL, "text: %s", text);
	CHECK(t, strstr(json, "\"group_dead\":true") != NULL, "json: %s", json);
	free(text);
	free(json);
}

/*
 * Numbers the options take (ring.c parse_u64()): decimal, or hex with 0x;
 * a leading zero is no octal (010 is ten, 09 nine); no sign, no space
 * before it (strtoull skips spaces, then negates ' -1' to 2^64 - 1);
 * suffixes K, M, G only where asked (helper-268).
 */
static void t_parse_u64_reads_what_a_user_means(struct tap *t)
{
	static const struct {
		const char *s;
		bool suffixes, ok;
		uint64_t v;
	} cases[] = {
		{ "10", false, true, 10 },
		{ "010", false, true, 10 },
		{ "09", false, true, 9 },
		{ "0x10", false, true, 16 },
		{ "0", false, true, 0 },
		{ "64K", true, true, 64 << 10 },
		{ "010K", true, true, 10 << 10 },
		{ "1MiB", true, true, 1 << 20 },
		{ "64K", false, false, 0 },
		{ " -1", false, false, 0 },
		{ " 1", false, false, 0 },
		{ "-1", false, false, 0 },
		{ "+1", false, false, 0 },
		{ "1 ", false, false, 0 },
		{ "", false, false, 0 },
		{ "0x", false, false, 0 },
		{ "0x0x10", false, false, 0 },
		{ "18446744073709551616", false, false, 0 },
		{ "18446744073709551615", false, true, UINT64_MAX },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 12345;
		bool ok = parse_u64(cases[i].s, cases[i].suffixes, &v);

		CHECK(t, ok == cases[i].ok, "'%s': %s", cases[i].s, ok ? "taken" : "refused");
		if (ok && cases[i].ok)
			CHECK(t, v == cases[i].v, "'%s': %llu, want %llu", cases[i].s,
			      (unsigned long long)v, (unsigned long long)cases[i].v);
	}
}

static const struct tap_test tests[] = {
	TAP_TEST(t_parse_u64_reads_what_a_user_means),
	TAP_TEST(t_cat_follow_reports_losses_before_the_end),
	TAP_TEST(t_cat_error_reports_losses_first),
	TAP_TEST(t_cat_follow_failed_wait_ends_with_its_error),
	TAP_TEST(t_cat_second_signal_ends_a_blocked_write),
	TAP_TEST(t_cat_claim_revoked_while_made_json),
	TAP_TEST(t_cat_claim_revoked_while_made_text),
	TAP_TEST(t_event_text_values_forge_no_field),
	TAP_TEST(t_event_flags_named),
	TAP_TEST(t_cat_peek_ends_when_its_output_closes),
	TAP_TEST(t_cat_peek_reports_drops_json),
	TAP_TEST(t_cat_peek_reports_drops_text),
	TAP_TEST(t_cat_peek_reports_drops_while_copying),
	TAP_TEST(t_cat_peek_reports_drops_at_its_end),
	TAP_TEST(t_cat_peek_copies_without_statistics),
	TAP_TEST(t_cat_peek_error_comes_after_records_and_drops),
};

int main(void)
{
	return tap_run(tests, (int)(sizeof(tests) / sizeof(tests[0])));
}
