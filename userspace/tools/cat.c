// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring cat: consume records as one consumer of the ring and print them
 * as escaped text, hex dumps or JSON lines. Each batch is formatted into
 * memory, committed, and only then written: a reader that stops reading
 * (a pager, Ctrl-S, a full pipe) blocks cat, never the ring. With --peek,
 * cat consumes nothing: it copies records as a monitor (mpmcring_snoop()).
 * Kernel events (mpmcring_events.ko) are decoded by the library and printed
 * field by field; records written by userspace are never decoded as events.
 */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char cat_usage[] =
	"Usage: mpmcring cat [RING] [--text|--hex|--json] [--raw] [--follow]\n"
	"                    [--peek] [--count N] [--batch N]\n\n"
	"Consumes records from a ring and prints them. Each record goes to one\n"
	"consumer only: records cat prints are gone from the ring, and records\n"
	"another consumer takes are not printed (cat says when others are\n"
	"attached). With --peek it takes nothing. cat commits each batch before\n"
	"writing it, so a slow reader (a pager, a full pipe) never holds the ring.\n\n"
	"  -t, --text      the payload as one line, non-printable bytes escaped\n"
	"                  (\\\\ \\n \\r \\t \\xHH) (default)\n"
	"  -x, --hex       a header line (length, class, flags), then a hex dump\n"
	"  -j, --json      one JSON object per line:\n"
	"                  {\"len\":N,\"prio\":\"normal\",\"flags\":N,\"pos\":N,\"data_b64\":\"...\"}\n"
	"                  (flags 1: written with write(2), never taken for an event;\n"
	"                  pos: the record's ring position, growing in ring order);\n"
	"                  errors too: {\"error\":{\"command\":..,\"message\":..,\"exit\":N}}\n"
	"                  (one of --text, --hex, --json)\n"
	"  -r, --raw       print kernel events as the other records, undecoded\n"
	"  -f, --follow    wait for new records instead of stopping when the ring\n"
	"                  is empty (until it is destroyed)\n"
	"  -p, --peek      monitor: copy records without consuming them (read-only;\n"
	"                  consumers still get every record; a peek that falls\n"
	"                  behind misses records and says so)\n"
	"  -n, --count N   stop after N records\n"
	"  -b, --batch N   records claimed at a time (default 64, 1-65536; at most\n"
	"                  1 MiB of payload, or one larger record)\n"
	"  -h, --help      this help\n\n"
	"Losses (records dropped or overwritten before any consumer saw them, and\n"
	"records cat held past the ring's claim timeout, or stood still past it\n"
	"while claiming: revoked, not printed) are\n"
	"reported as {\"lost\":{\"dropped\":N,\"overwritten\":M,\"revoked\":R}}\n"
	"lines with --json, else on stderr, always after the batch is committed;\n"
	"each loss is told to one consumer, so with other consumers attached cat\n"
	"sees only its share. --peek reports records it missed as\n"
	"{\"missed\":{\"from\":POS,\"to\":POS}}; no loss is told to a peek, so it reports\n"
	"the records the ring itself dropped (never written, seen by no one) since\n"
	"it last said, at most once a second and at its end (unless its output\n"
	"failed), as {\"dropped\":N} (else on stderr). SIGINT, SIGTERM, a closed\n"
	"output pipe and a destroyed ring end cat cleanly.\n\n"
	"Kernel events (from mpmcring_events.ko, e.g. in /dev/mpmcring-events) are\n"
	"decoded: with --text one line each (time cpu type pid= ... fields), with\n"
	"--json objects such as\n"
	"  {\"type\":\"exec\",\"ts\":NS,\"cpu\":0,\"pid\":N,\"tgid\":N,\"uid\":0,\n"
	"   \"prio\":\"critical\",\"comm\":\"sh\",\"filename\":\"/bin/ls\",\"old_pid\":N}\n"
	"Records written with write(2) are never taken for kernel events; a record\n"
	"that claims to be one but is malformed is printed raw (--json: with\n"
	"\"bad_event\":\"why\").\n\n"
	"RING: omitted or \"default\" is /dev/mpmcring, NAME is /dev/mpmcring-NAME,\n"
	"anything with a slash is a path.\n"
	"Exit status: 0 success (SIGINT or SIGTERM too), 1 runtime error, 2 usage error,\n"
	"3 ring not found, 128+N a signal N a second or more after a first that\n"
	"did not end it (the output blocked).\n";

enum cat_fmt { CAT_TEXT, CAT_HEX, CAT_JSON };

/*
 * Payload bytes one batch claims at most (the first record whatever its
 * size): formatting (hex is 4.5 bytes a byte) happens with the batch
 * claimed, and must end well within the ring's claim timeout.
 */
#define CAT_BATCH_BYTES (1U << 20)

struct cat {
	enum cat_fmt fmt;
	bool fmt_set;
	bool follow;
	bool raw; /* do not decode kernel events */
	bool peek;
	uint64_t count; /* 0: no limit */
	unsigned int batch;
	uint64_t done; /* records printed */
};

/* Prints rec as a kernel event; false when it is not one. */
static bool cat_event(struct cat *k, FILE *f, const struct mpmcring_record *rec, const char **bad)
{
	struct mpmcring_event ev;
	int ret;

	*bad = NULL;
	if (k->raw || k->fmt == CAT_HEX)
		return false;
	ret = mpmcring_event_decode(rec, &ev);
	if (ret == -EPROTO)
		*bad = mpmcring_errmsg();
	if (ret)
		return false;
	if (k->fmt == CAT_JSON)
		out_event_json(f, &ev, rec);
	else
		out_event_text(f, &ev);
	return true;
}

static void cat_record(struct cat *k, FILE *f, const struct mpmcring_record *rec)
{
	const char *bad;

	if (cat_event(k, f, rec, &bad)) {
		k->done++;
		return;
	}
	switch (k->fmt) {
	case CAT_JSON:
		fprintf(f, "{\"len\":%u,\"prio\":\"%s\",\"flags\":%u,\"pos\":%llu,", rec->len,
			prio_name(rec->prio), rec->flags, (unsigned long long)rec->pos);
		if (bad) {
			fputs("\"bad_event\":", f);
			out_json_string(f, bad);
			fputc(',', f);
		}
		fputs("\"data_b64\":\"", f);
		out_base64(f, rec->data, rec->len);
		fputs("\"}\n", f);
		break;
	case CAT_HEX:
		fprintf(f, "record %llu: len %u, prio %s, flags 0x%02x%s, pos %llu\n",
			(unsigned long long)k->done, rec->len, prio_name(rec->prio), rec->flags,
			rec->flags & MPMCRING_REC_FROM_USER ? " (from user)" : "",
			(unsigned long long)rec->pos);
		out_hexdump(f, rec->data, rec->len);
		break;
	case CAT_TEXT:
		out_escaped(f, rec->data, rec->len);
		fputc('\n', f);
		break;
	}
	k->done++;
}

/* Adds the losses the library has for c to *lost; writes nothing. */
static void cat_take_lost(struct mpmcring_consumer *c, struct mpmcring_lost *lost)
{
	struct mpmcring_lost more = MPMCRING_OPTS(mpmcring_lost);

	mpmcring_take_lost(c, &more);
	lost->dropped += more.dropped;
	lost->overwritten += more.overwritten;
	lost->revoked += more.revoked;
	/* Taken: said by a forced end until cat_lost() has written them. */
	cli_hold_losses(lost->dropped + lost->overwritten + lost->revoked);
}

/*
 * Reports losses: with --json a line on stdout, in order with the records,
 * else on stderr. Both may block (a pager, 2>&1 into a full pipe, Ctrl-S),
 * so this is never called while a claim is held.
 */
static void cat_lost(struct cat *k, const struct mpmcring_lost *lost)
{
	if (!lost->dropped && !lost->overwritten && !lost->revoked)
		return;
	if (k->fmt == CAT_JSON) {
		printf("{\"lost\":{\"dropped\":%llu,\"overwritten\":%llu,\"revoked\":%llu}}\n",
		       (unsigned long long)lost->dropped, (unsigned long long)lost->overwritten,
		       (unsigned long long)lost->revoked);
		/* Written, not only buffered, before they stop being held. */
		fflush(stdout);
		cli_hold_losses(0);
		return;
	}
	/* In order with the records before it. */
	fflush(stdout);
	fprintf(stderr,
		"mpmcring cat: lost %llu records (dropped %llu, overwritten %llu, revoked %llu)\n",
		(unsigned long long)(lost->dropped + lost->overwritten + lost->revoked),
		(unsigned long long)lost->dropped, (unsigned long long)lost->overwritten,
		(unsigned long long)lost->revoked);
	cli_hold_losses(0);
}

/* 0 to go on, -1 at a clean end (closed pipe), else an exit code. */
static int cat_flush(void)
{
	if (!fflush(stdout) && !ferror(stdout))
		return 0;
	if (errno == EPIPE)
		return -1;
	return cli_error("cat", "writing the output: %s", strerror(errno));
}

/* Writes what a batch produced, then flushes: 0, -1 (closed pipe) or a code. */
static int cat_write(const char *buf, size_t len)
{
	if (len && fwrite(buf, 1, len, stdout) != len && errno == EPIPE)
		return -1;
	return cat_flush();
}

/*
 * Waits for records, bounded so that a signal just before the wait costs
 * 250 ms: 0 to go on, -1 when the ring was destroyed and is empty (the
 * end: cat_end()), 1 when the wait failed (mpmcring_errmsg() says why).
 */
static int cat_wait(struct mpmcring *r)
{
	int n = mpmcring_wait(r, 250);

	if (n == -EPIPE)
		return -1;
	return n < 0 && n != -EINTR;
}

/* Says which other consumers share the ring: cat sees only its share. */
static void cat_others(const char *path, struct mpmcring *r)
{
	/* Room for every slot the ring has: the warning names them all. */
	unsigned int max = mpmcring_get_layout(r)->max_consumers;
	struct mpmcring_consumer_info *info = calloc(max ? max : 1, sizeof(*info));
	int i, n = info ? mpmcring_list_consumers(r, info, max) : -1, others = 0;
	pid_t self = getpid();

	for (i = 0; i < n; i++)
		others += info[i].pid != (uint32_t)self;
	if (!others) {
		free(info);
		return;
	}
	fprintf(stderr, "mpmcring cat: %s: %d other consumer%s attached (pid", path, others,
		others > 1 ? "s" : "");
	for (i = 0; i < n; i++)
		if (info[i].pid != (uint32_t)self) {
			if (info[i].pid)
				fprintf(stderr, " %u", info[i].pid);
			else /* outside this pid namespace, or gone */
				fputs(" ?", stderr);
		}
	fprintf(stderr, "): each record goes to one consumer, so cat prints only the ones it "
			"wins; --peek shows all without taking any\n");
	free(info);
}

/*
 * The end of a consume (the ring destroyed and drained, a signal, --count
 * reached, or the ring empty without --follow): losses counted since the
 * last report are reported now, or never would be (review-gopoll18 S3: a
 * drop on an empty ring wakes nobody, and the destroy can follow it), then
 * the destroy's message, after them. 0, or an exit code.
 */
static int cat_end(struct cat *k, const char *path, struct mpmcring_consumer *c, bool destroyed)
{
	struct mpmcring_lost last = MPMCRING_OPTS(mpmcring_lost);
	int ret;

	cat_take_lost(c, &last);
	cat_lost(k, &last);
	ret = cat_flush();
	if (destroyed)
		fprintf(stderr,
			"mpmcring cat: %s: the ring was destroyed and no record is left in it (what other consumers took is theirs; losses are reported above)\n",
			path);
	return ret < 0 ? CLI_OK : ret;
}

/*
 * An error that ends cat: the losses not reported yet first (after it,
 * nobody would), then the message. The message is formatted before the
 * take, which may set the library's.
 */
static int __attribute__((format(printf, 3, 4)))
cat_fail(struct cat *k, struct mpmcring_consumer *c, const char *fmt, ...)
{
	struct mpmcring_lost lost = MPMCRING_OPTS(mpmcring_lost);
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cat_take_lost(c, &lost);
	cat_lost(k, &lost);
	fflush(stdout);
	return cli_error("cat", "%s", msg);
}

/*
 * Consumes until the ring is empty (or forever with --follow). Each batch
 * is formatted into memory and committed before anything is written: no
 * output (records, loss lines, messages) is written while a claim is
 * held, so a blocked stdout or stderr never pins the ring.
 */
static int cat_run(struct cat *k, const char *path, struct mpmcring *r, struct mpmcring_consumer *c)
{
	struct mpmcring_record rec;
	struct mpmcring_batch b;
	char *buf = NULL;
	size_t len = 0;
	int n, ret;

	while (!cli_stop && (!k->count || k->done < k->count)) {
		struct mpmcring_lost lost = MPMCRING_OPTS(mpmcring_lost);
		unsigned int max = k->batch;
		uint64_t before = k->done;
		bool stale;
		FILE *m;

		/* Never claim more than --count lets us print. */
		if (k->count && k->count - k->done < max)
			max = (unsigned int)(k->count - k->done);
		/* Bounded bytes too: the claim lasts while the batch is formatted. */
		n = mpmcring_read_batch(c, &b, max, CAT_BATCH_BYTES);
		if (n == -EBUSY) /* records are there; other consumers were quicker */
			continue;
		if (n == -EAGAIN) {
			cat_take_lost(c, &lost);
			cat_lost(k, &lost);
			ret = cat_flush();
			if (ret) /* stdout closed (-1), or an exit code */
				return ret < 0 ? CLI_OK : ret;
			if (!k->follow)
				return CLI_OK;
			ret = cat_wait(r);
			if (ret < 0) /* destroyed and drained: the totals are final */
				return cat_end(k, path, c, true);
			if (ret)
				return cat_fail(k, c, "%s: %s", path, mpmcring_errmsg());
			continue;
		}
		if (n == -ESTALE) {
			/*
			 * Revoked while it was made (cat stood still past the
			 * claim timeout mid-claim): its records are lost,
			 * counted as revoked. The commit lets go of anything
			 * still held (a claim revoked while held says -ESTALE
			 * too; cat commits every claim, so there is none).
			 */
			mpmcring_commit(c);
			cat_take_lost(c, &lost);
			cat_lost(k, &lost); /* the count, with any others */
			ret = cat_flush();
			if (ret) /* stdout closed (-1), or an exit code */
				return ret < 0 ? CLI_OK : ret;
			/* None when the claim covered only discarded records. */
			if (lost.revoked)
				fprintf(stderr,
					"mpmcring cat: %s: cat stood still past the ring's claim timeout (%u ms) while claiming (stopped, traced, or starved of CPU): the records it claimed were revoked, not printed; reading on\n",
					path, mpmcring_get_layout(r)->claim_timeout_ms);
			continue;
		}
		if (n < 0)
			return cat_fail(k, c, "%s: %s", path, mpmcring_errmsg());
		/* Claimed: from here to the commit, nothing is written to any fd. */
		cli_hold_records((unsigned int)n);
		cat_take_lost(c, &lost);
		m = open_memstream(&buf, &len);
		if (!m) {
			/* Nowhere to format them: the claimed records are lost. */
			mpmcring_commit(c);
			cli_hold_records(0); /* said by cat_fail() below */
			cat_lost(k, &lost);
			return cat_fail(
				k, c,
				"%s: out of memory for a batch: its %d claimed records are lost, not printed",
				path, n);
		}
		while (mpmcring_batch_next(&b, &rec))
			cat_record(k, m, &rec);
		fclose(m);
		stale = mpmcring_commit(c) == -ESTALE;
		if (stale) {
			/* Held past the claim timeout: the copy may be torn. */
			k->done = before;
			len = 0;
			cli_hold_records(0);	 /* reported below, as revoked */
			cat_take_lost(c, &lost); /* the revoked records */
		}
		/* Committed: output may block now (a second signal ends it). */
		cat_lost(k, &lost);
		if (stale)
			fprintf(stderr, "mpmcring cat: %s: %s; not printed\n", path,
				mpmcring_errmsg());
		ret = cat_write(buf, len);
		cli_hold_records(0);
		free(buf);
		buf = NULL;
		if (ret)
			return ret < 0 ? CLI_OK : ret;
	}
	/* A signal or --count: what was lost meanwhile is said too. */
	return cat_end(k, path, c, false);
}

/* True once the ring was destroyed (its file reports POLLHUP); no wait. */
static bool cat_ring_gone(struct mpmcring *r)
{
	struct pollfd pfd = { .fd = mpmcring_fd(r), .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLHUP);
}

/* Every record the ring refused (dropped), by any reason and class. */
static int cat_ring_dropped(struct mpmcring *r, uint64_t *n)
{
	struct mpmcring_stats st;
	unsigned int i, j;

	if (mpmcring_get_stats(r, &st))
		return -1;
	*n = 0;
	for (i = 0; i < MPMCRING_NR_DROP; i++)
		for (j = 0; j < MPMCRING_NR_PRIO; j++)
			*n += st.dropped[i][j];
	return 0;
}

/*
 * --peek takes nothing, so no loss is told to it: it reports the ring's
 * own drop count instead, what it grew by since the last report (since
 * cat started, at first). Records dropped never entered the ring: no
 * consumer and no peek could have seen them. The count is an ioctl that
 * sums every CPU's counters: asked at most once a second, and at the end.
 */
struct cat_drops {
	uint64_t told; /* the count at the last report */
	double next_s; /* no look before then, unless forced */
	bool known;    /* false once the count could not be read */
};

static void cat_drops_lost(struct cat_drops *d, const char *path)
{
	d->known = false;
	/* In order with the records, and not after an output that failed. */
	if (fflush(stdout) || ferror(stdout))
		return;
	fprintf(stderr,
		"mpmcring cat: %s: cannot read the ring's statistics (%s): the ring's drops go unreported\n",
		path, mpmcring_errmsg());
}

static void cat_drops_begin(struct cat_drops *d, const char *path, struct mpmcring *r)
{
	d->known = true;
	d->next_s = now_s() + 1;
	if (cat_ring_dropped(r, &d->told))
		cat_drops_lost(d, path);
}

static void cat_drops_say(struct cat *k, struct cat_drops *d, const char *path, struct mpmcring *r,
			  bool force)
{
	double t = now_s();
	uint64_t now;

	if (!d->known || (!force && t < d->next_s))
		return;
	d->next_s = t + 1;
	if (cat_ring_dropped(r, &now)) {
		cat_drops_lost(d, path);
		return;
	}
	if (now == d->told)
		return;
	if (k->fmt == CAT_JSON) {
		printf("{\"dropped\":%llu}\n", (unsigned long long)(now - d->told));
	} else {
		/* In order with the records, and not after an output that failed. */
		if (fflush(stdout) || ferror(stdout))
			return;
		fprintf(stderr,
			"mpmcring cat: %s: the ring dropped %llu records (never written: no room, over their class's limit, lost races, or too big; mpmcring stat says which)\n",
			path, (unsigned long long)(now - d->told));
	}
	d->told = now;
}

/* --peek: copies records with a cursor of its own; takes none. */
static int cat_peek(struct cat *k, const char *path, struct mpmcring *r)
{
	const struct mpmcring_layout *l = mpmcring_get_layout(r);
	size_t cap = l->max_record ? l->max_record : 1;
	struct mpmcring_record rec;
	struct cat_drops drops;
	uint64_t pos, from;
	void *buf = malloc(cap);
	bool gone = false, ended = false;
	char failed[512] = "";
	int n, ret = 0;

	if (!buf)
		return cli_error("cat", "out of memory");
	/* The count first: a drop after it is reported, one before it not. */
	cat_drops_begin(&drops, path, r);
	pos = mpmcring_snoop_start(r);
	while (!cli_stop && (!k->count || k->done < k->count)) {
		from = pos;
		/*
		 * A closed or failing output ends the copy (stdio keeps its
		 * error): records may keep coming, or --peek keep falling
		 * behind, without ever an -EAGAIN below to flush at.
		 */
		if (ferror(stdout)) {
			ret = cat_flush();
			break;
		}
		n = mpmcring_snoop(r, &pos, buf, cap, &rec);
		if (!n) {
			cat_record(k, stdout, &rec);
			/* One that never catches up says too (a clock read). */
			cat_drops_say(k, &drops, path, r, false);
			continue;
		}
		if (n == -ESTALE) {
			if (k->fmt == CAT_JSON) {
				printf("{\"missed\":{\"from\":%llu,\"to\":%llu}}\n",
				       (unsigned long long)from, (unsigned long long)pos);
			} else if (!fflush(stdout) && !ferror(stdout)) {
				fprintf(stderr,
					"mpmcring cat: --peek fell behind: the records between positions %llu and %llu were reused before it read them\n",
					(unsigned long long)from, (unsigned long long)pos);
			}
			/* Behind, it may never catch up: the drops meanwhile too. */
			cat_drops_say(k, &drops, path, r, false);
			continue;
		}
		if (n != -EAGAIN) {
			/* Said after the records and drops before it (below). */
			snprintf(failed, sizeof(failed), "%s", mpmcring_errmsg());
			break;
		}
		/*
		 * Caught up: the drops meanwhile, after the records before
		 * them, and only to an output that still takes them.
		 */
		ret = cat_flush();
		if (ret || !k->follow)
			break; /* not following: the end's look below */
		cat_drops_say(k, &drops, path, r, false);
		ret = cat_flush();
		if (ret)
			break;
		/*
		 * Nothing new, and the ring was seen destroyed before this look:
		 * nothing new ever. Seen destroyed only now, one more look: a
		 * record committed just before the end may have come after the
		 * last one.
		 */
		if (gone) {
			ended = true; /* said after the last drops */
			break;
		}
		gone = cat_ring_gone(r);
		if (gone)
			continue;
		/*
		 * A monitor cannot sleep in poll(): readiness means a record waits
		 * at the head, which may be one it already copied. Short naps.
		 */
		sleep_s(0.05);
	}
	free(buf);
	/*
	 * At its end (--count, a signal, the ring's end): the last drops,
	 * to an output that still takes them, before the end is told.
	 */
	if (!ret)
		ret = cat_flush();
	if (!ret) {
		cat_drops_say(k, &drops, path, r, true);
		ret = cat_flush();
	}
	if (ended)
		fprintf(stderr, "mpmcring cat: %s: the ring was destroyed\n", path);
	if (failed[0])
		return cli_error("cat", "%s: %s", path, failed);
	return ret < 0 ? CLI_OK : ret;
}

static int cat_format(struct cat *k, enum cat_fmt fmt, const char *opt)
{
	static const char *const names[] = { "--text", "--hex", "--json" };

	if (k->fmt_set && k->fmt != fmt)
		return cli_usage("cat", "%s and %s: choose one output format", names[k->fmt], opt);
	k->fmt = fmt;
	k->fmt_set = true;
	return 0;
}

int cmd_cat(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "text", no_argument, NULL, 't' },
		{ "hex", no_argument, NULL, 'x' },
		{ "json", no_argument, NULL, 'j' },
		{ "raw", no_argument, NULL, 'r' },
		{ "follow", no_argument, NULL, 'f' },
		{ "peek", no_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "batch", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cat k = { .fmt = CAT_TEXT, .batch = 64 };
	struct mpmcring_consumer *c;
	struct mpmcring *r;
	char path[4096];
	uint64_t v;
	int opt, code = CLI_OK;

	argv[0] = "mpmcring cat";
	while ((opt = getopt_long(argc, argv, "htxjrfpn:b:", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			code = cat_format(&k, CAT_TEXT, "--text");
			break;
		case 'x':
			code = cat_format(&k, CAT_HEX, "--hex");
			break;
		case 'j':
			code = cat_format(&k, CAT_JSON, "--json");
			break;
		case 'r':
			k.raw = true;
			break;
		case 'f':
			k.follow = true;
			break;
		case 'p':
			k.peek = true;
			break;
		case 'n':
			if (!parse_u64(optarg, false, &k.count) || !k.count)
				return cli_usage("cat", "--count %s: want a positive number",
						 optarg);
			break;
		case 'b':
			if (!parse_u64(optarg, false, &v) || !v || v > 65536)
				return cli_usage("cat", "--batch %s: want 1-65536", optarg);
			k.batch = (unsigned int)v;
			break;
		case 'h':
			fputs(cat_usage, stdout);
			return CLI_OK;
		default:
			return cli_try_help("cat", opts, argv);
		}
		if (code)
			return code;
	}
	if (argc - optind > 1)
		return cli_usage("cat", "one RING at most (got '%s' and '%s')", argv[optind],
				 argv[optind + 1]);
	if (ring_path(optind < argc ? argv[optind] : NULL, path, sizeof(path)))
		return cli_usage("cat", "bad RING '%s'", argv[optind]);

	cli_signals(true);
	r = ring_open("cat", path, k.peek ? MPMCRING_OPEN_RDONLY : 0, &code);
	if (!r)
		return code;
	if (k.peek) {
		code = cat_peek(&k, path, r);
		mpmcring_close(r);
		return code;
	}
	c = mpmcring_consumer_new(r);
	if (!c) {
		code = cli_error("cat", "%s: %s", path, mpmcring_errmsg());
	} else {
		cat_others(path, r);
		code = cat_run(&k, path, r, c);
		mpmcring_consumer_free(c);
	}
	mpmcring_close(r);
	return code;
}
