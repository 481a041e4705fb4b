// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring cat: consume records as one consumer of the ring and print them
 * as escaped text, hex dumps or JSON lines. Records are printed straight
 * from the ring (zero-copy) and committed once their batch is printed.
 * Kernel events (mpmcring_events.ko) are decoded by the library and printed
 * field by field; records written by userspace are never decoded as events.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <string.h>

#include "cli.h"

static const char cat_usage[] =
	"Usage: mpmcring cat [RING] [--text|--hex|--json] [--raw] [--follow]\n"
	"                    [--count N] [--batch N]\n\n"
	"Consumes records from a ring and prints them. Each record goes to one\n"
	"consumer only: records cat prints are gone from the ring.\n\n"
	"  -t, --text      the payload as one line, non-printable bytes escaped\n"
	"                  (\\\\ \\n \\r \\t \\xHH) (default)\n"
	"  -x, --hex       a header line (length, class, flags), then a hex dump\n"
	"  -j, --json      one JSON object per line:\n"
	"                  {\"len\":N,\"prio\":\"normal\",\"flags\":N,\"data_b64\":\"...\"}\n"
	"                  (flags 1: written with write(2), never taken for an event)\n"
	"  -r, --raw       print kernel events as the other records, undecoded\n"
	"  -f, --follow    wait for new records instead of stopping when the ring\n"
	"                  is empty\n"
	"  -n, --count N   stop after N records\n"
	"  -b, --batch N   records claimed at a time (default 64, 1-65536)\n"
	"  -h, --help      this help\n\n"
	"Losses (records dropped or overwritten before any consumer saw them) are\n"
	"reported as {\"lost\":{\"dropped\":N,\"overwritten\":M}} lines with --json,\n"
	"else on stderr. SIGINT, SIGTERM and a closed output pipe end cat cleanly.\n\n"
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
	"Exit status: 0 success, 1 runtime error, 2 usage error, 3 ring not found.\n";

enum cat_fmt { CAT_TEXT, CAT_HEX, CAT_JSON };

struct cat {
	enum cat_fmt fmt;
	bool follow;
	bool raw;	/* do not decode kernel events */
	uint64_t count; /* 0: no limit */
	unsigned int batch;
	uint64_t done; /* records printed */
};

/* Prints rec as a kernel event; false when it is not one. */
static bool cat_event(struct cat *k, const struct mpmcring_record *rec, const char **bad)
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
		out_event_json(stdout, &ev, rec->prio);
	else
		out_event_text(stdout, &ev);
	return true;
}

static void cat_record(struct cat *k, const struct mpmcring_record *rec)
{
	const char *bad;

	if (cat_event(k, rec, &bad)) {
		k->done++;
		return;
	}
	switch (k->fmt) {
	case CAT_JSON:
		printf("{\"len\":%u,\"prio\":\"%s\",\"flags\":%u,", rec->len, prio_name(rec->prio),
		       rec->flags);
		if (bad) {
			fputs("\"bad_event\":", stdout);
			out_json_string(stdout, bad);
			fputc(',', stdout);
		}
		fputs("\"data_b64\":\"", stdout);
		out_base64(stdout, rec->data, rec->len);
		fputs("\"}\n", stdout);
		break;
	case CAT_HEX:
		printf("record %llu: len %u, prio %s, flags 0x%02x%s\n",
		       (unsigned long long)k->done, rec->len, prio_name(rec->prio), rec->flags,
		       rec->flags & MPMCRING_REC_FROM_USER ? " (from user)" : "");
		out_hexdump(stdout, rec->data, rec->len);
		break;
	case CAT_TEXT:
		out_escaped(stdout, rec->data, rec->len);
		putchar('\n');
		break;
	}
	k->done++;
}

static void cat_lost(struct cat *k, struct mpmcring_consumer *c)
{
	struct mpmcring_lost lost;

	mpmcring_lost(c, &lost);
	if (!lost.dropped && !lost.overwritten)
		return;
	if (k->fmt == CAT_JSON) {
		printf("{\"lost\":{\"dropped\":%llu,\"overwritten\":%llu}}\n",
		       (unsigned long long)lost.dropped, (unsigned long long)lost.overwritten);
		return;
	}
	/* In order with the records before it. */
	fflush(stdout);
	fprintf(stderr, "mpmcring cat: lost %llu records (dropped %llu, overwritten %llu)\n",
		(unsigned long long)(lost.dropped + lost.overwritten),
		(unsigned long long)lost.dropped, (unsigned long long)lost.overwritten);
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

/* Consumes until the ring is empty (or forever with --follow). */
static int cat_run(struct cat *k, const char *path, struct mpmcring *r, struct mpmcring_consumer *c)
{
	struct mpmcring_record rec;
	struct mpmcring_batch b;
	int n, ret;

	while (!cli_stop && (!k->count || k->done < k->count)) {
		unsigned int max = k->batch;

		/* Never claim more than --count lets us print. */
		if (k->count && k->count - k->done < max)
			max = (unsigned int)(k->count - k->done);
		n = mpmcring_read_batch(c, &b, max, SIZE_MAX);
		if (n == -EAGAIN) {
			cat_lost(k, c);
			if (!k->follow)
				break;
			ret = cat_flush();
			if (ret)
				return ret < 0 ? CLI_OK : ret;
			/* A bounded wait: a signal just before it costs 250 ms. */
			n = mpmcring_wait(r, 250);
			if (n < 0 && n != -EINTR)
				return cli_error("cat", "%s: %s", path, mpmcring_errmsg());
			continue;
		}
		if (n == -EBUSY) { /* claim contention: try again */
			sched_yield();
			continue;
		}
		if (n < 0)
			return cli_error("cat", "%s: %s", path, mpmcring_errmsg());
		cat_lost(k, c);
		while (mpmcring_batch_next(&b, &rec))
			cat_record(k, &rec);
		/* Written out (not left in stdio's buffer) before release. */
		ret = cat_flush();
		mpmcring_commit(c);
		if (ret)
			return ret < 0 ? CLI_OK : ret;
	}
	ret = cat_flush();
	return ret < 0 ? CLI_OK : ret;
}

int cmd_cat(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "text", no_argument, NULL, 't' },
		{ "hex", no_argument, NULL, 'x' },
		{ "json", no_argument, NULL, 'j' },
		{ "raw", no_argument, NULL, 'r' },
		{ "follow", no_argument, NULL, 'f' },
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
	while ((opt = getopt_long(argc, argv, "htxjrfn:b:", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			k.fmt = CAT_TEXT;
			break;
		case 'x':
			k.fmt = CAT_HEX;
			break;
		case 'j':
			k.fmt = CAT_JSON;
			break;
		case 'r':
			k.raw = true;
			break;
		case 'f':
			k.follow = true;
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
			return cli_try_help("cat");
		}
	}
	if (argc - optind > 1)
		return cli_usage("cat", "one RING at most (got '%s' and '%s')", argv[optind],
				 argv[optind + 1]);
	if (ring_path(optind < argc ? argv[optind] : NULL, path, sizeof(path)))
		return cli_usage("cat", "bad RING '%s'", argv[optind]);

	cli_signals();
	r = ring_open("cat", path, 0, &code);
	if (!r)
		return code;
	c = mpmcring_consumer_new(r);
	if (!c) {
		code = cli_error("cat", "%s: %s", path, mpmcring_errmsg());
	} else {
		code = cat_run(&k, path, r, c);
		mpmcring_consumer_free(c);
	}
	mpmcring_close(r);
	return code;
}
