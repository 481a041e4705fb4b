// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring stat: a ring's layout, fill level and counters, once or every
 * few seconds with rates. Opens the ring read-only: it never consumes.
 */
#include <errno.h>
#include <poll.h>
#include <getopt.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bpf_refused.h"
#include "cli.h"

static const char stat_usage[] =
	"Usage: mpmcring stat [RING] [--json] [--interval SECONDS [--count N]]\n\n"
	"Shows a ring's layout, fill level and counters. Opens the ring read-only:\n"
	"it consumes nothing and needs only read access to the device.\n\n"
	"  -j, --json                one JSON object (with --interval: one per line);\n"
	"                            errors too: {\"error\":{\"command\":..,\"message\":..}}\n"
	"  -i, --interval SECONDS    refresh every SECONDS (fractions allowed, down to\n"
	"                            0.01) with\n"
	"                            rates per second, until interrupted\n"
	"  -c, --count N             with --interval: stop after N samples\n"
	"  -h, --help                this help\n\n"
	"RING: omitted or \"default\" is /dev/mpmcring, NAME is /dev/mpmcring-NAME,\n"
	"anything with a slash is a path.\n"
	"Exit status: 0 success (SIGINT or SIGTERM too), 1 runtime error, 2 usage error,\n"
	"3 ring not found (or destroyed under --interval), 128+N a signal N a\n"
	"second or more after a first that did not end it (the output blocked).\n";

/* Consumers listed at most (the ring's max_consumers is 1022 at most). */
#define STAT_MAX_CONSUMERS 1022

struct stat_sample {
	struct mpmcring_stats st;
	struct mpmcring_consumer_info cons[STAT_MAX_CONSUMERS];
	int ncons;
	uint64_t fill; /* bytes reserved past the head */
	double t;      /* monotonic seconds */
	double wall;   /* seconds since the epoch */
};

static uint64_t stat_dropped(const struct mpmcring_stats *st, int reason, int prio)
{
	uint64_t n = 0;
	int i, j;

	for (i = 0; i < MPMCRING_NR_DROP; i++)
		for (j = 0; j < MPMCRING_NR_PRIO; j++)
			if ((reason < 0 || reason == i) && (prio < 0 || prio == j))
				n += st->dropped[i][j];
	return n;
}

static int stat_read(struct mpmcring *r, struct stat_sample *s)
{
	struct timespec ts;
	int err = mpmcring_get_stats(r, &s->st);

	if (err)
		return err;
	s->ncons = mpmcring_list_consumers(r, s->cons, STAT_MAX_CONSUMERS);
	if (s->ncons < 0)
		return s->ncons;
	s->fill = mpmcring_avail_bytes(r);
	s->t = now_s();
	clock_gettime(CLOCK_REALTIME, &ts);
	s->wall = ts.tv_sec + ts.tv_nsec / 1e9;
	return 0;
}

/*
 * The module's count of BPF kfunc calls refused where no ring counts them:
 * before a ring was found (a stale or wrong ring id, bad flags, an empty
 * record, NULL data), or for the module's reasons (the ring destroyed
 * between reserve and commit, no staging buffer free on the CPU, and how
 * many of those the callers that may sleep had, a write outside its
 * reservation), and the last unknown id, so that an operator
 * with several loaders can tell whose id is stale. Module-wide; absent
 * without BPF support. Read by name (bpf_refused.c): a reason the module
 * does not report (an older module) is left out, not shown as 0, and one
 * this tool does not know (a newer module) is skipped.
 */
static void stat_bpf_refused_text(FILE *f)
{
	struct bpf_refused b;

	if (!bpf_refused_read(&b))
		bpf_refused_text(f, &b);
}

static void stat_bpf_refused_json(FILE *f)
{
	struct bpf_refused b;

	if (!bpf_refused_read(&b))
		bpf_refused_json(f, &b);
}

/* Counter increase per second between two samples. */
static double stat_rate(uint64_t now, uint64_t before, double dt)
{
	int64_t d = (int64_t)(now - before);

	return d > 0 && dt > 0 ? d / dt : 0;
}

static void stat_layout_text(FILE *f, const char *path, const struct mpmcring_layout *l)
{
	char name[sizeof(l->name) + 1] = { 0 }, h[32];

	memcpy(name, l->name, sizeof(l->name));
	fprintf(f, "ring          %s (name %s, id %u for BPF programs, ABI %u.%u)\n", path, name,
		l->id, l->abi_major, l->abi_minor);
	fprintf(f, "size          %llu bytes (%s), granule %u, max record %u bytes\n",
		(unsigned long long)l->data_size, human_bytes(l->data_size, h, sizeof(h)),
		1U << l->granule_shift, l->max_record);
	fprintf(f, "mode          %s, max consumers %u (%u per open file)\n", mode_name(l->mode),
		l->max_consumers, l->max_per_file);
	if (l->features & MPMCRING_FEAT_LEASE)
		fprintf(f, "claims        revoked after standing still %u ms\n",
			l->claim_timeout_ms);
	else
		fprintf(f, "claims        never revoked\n");
	fprintf(f, "user writes   up to class %s\n", prio_name(l->user_max_prio));
	fprintf(f,
		"watermarks    low %llu, normal %llu, critical %llu (free bytes a record of the class needs)\n",
		(unsigned long long)l->watermark[MPMCRING_PRIO_LOW],
		(unsigned long long)l->watermark[MPMCRING_PRIO_NORMAL],
		(unsigned long long)l->watermark[MPMCRING_PRIO_CRITICAL]);
}

static void stat_consumers_text(FILE *f, const struct stat_sample *s)
{
	int i;

	if (!s->ncons)
		return;
	fprintf(f, "\n  slot      pid  holds   records  claim age  revoked\n");
	for (i = 0; i < s->ncons; i++) {
		const struct mpmcring_consumer_info *c = &s->cons[i];
		bool held = !(c->start & MPMCRING_SLOT_IDLE);

		fprintf(f, "  %4u %8u  %-5s %9llu %8.1fs %8llu%s\n", c->slot, c->pid,
			held ? "yes" : "no", (unsigned long long)(held ? c->held_records : 0),
			c->claim_age_ms / 1000.0, (unsigned long long)c->revocations,
			c->flags & MPMCRING_SLOTF_READ ? "  (read(2))" : "");
	}
}

static void stat_text(FILE *f, const char *path, const struct mpmcring_layout *l,
		      const struct stat_sample *s, const struct stat_sample *prev)
{
	const struct mpmcring_stats *st = &s->st;
	char h[32];
	int i, j;

	stat_layout_text(f, path, l);
	fprintf(f, "fill          %.1f%% (%llu of %llu bytes reserved past the head)\n\n",
		100.0 * s->fill / l->data_size, (unsigned long long)s->fill,
		(unsigned long long)l->data_size);
	fprintf(f, "produced      %llu records, %llu bytes\n",
		(unsigned long long)st->produced_records, (unsigned long long)st->produced_bytes);
	fprintf(f, "consumed      %llu records\n", (unsigned long long)st->consumed_records);
	/* The kernel's walk stops at MPMCRING_STATS_WALK: then a lower bound. */
	if (st->flags & MPMCRING_STATS_IN_RING_PARTIAL)
		fprintf(f, "in ring       at least %llu records, %llu bytes (counted up to %u)\n",
			(unsigned long long)st->in_ring_records,
			(unsigned long long)st->in_ring_bytes, MPMCRING_STATS_WALK);
	else
		fprintf(f, "in ring       %llu records, %llu bytes\n",
			(unsigned long long)st->in_ring_records,
			(unsigned long long)st->in_ring_bytes);
	fprintf(f, "discarded     %llu records\n", (unsigned long long)st->discarded_records);
	fprintf(f, "dropped       %llu records\n", (unsigned long long)stat_dropped(st, -1, -1));
	fprintf(f, "                       low     normal   critical\n");
	for (i = 0; i < MPMCRING_NR_DROP; i++) {
		fprintf(f, "  %-12s", drop_name(i));
		for (j = 0; j < MPMCRING_NR_PRIO; j++)
			fprintf(f, " %10llu", (unsigned long long)st->dropped[i][j]);
		fputc('\n', f);
	}
	fprintf(f, "overwritten   %llu records, %llu bytes\n",
		(unsigned long long)st->overwritten_records,
		(unsigned long long)st->overwritten_bytes);
	fprintf(f, "wakeups       %llu\n", (unsigned long long)st->wakeups);
	/* A module older than ABI 1.4 copies the reserved word out as 0. */
	if (l->abi_minor >= MPMCRING_ABI_MINOR_ROOM_WAKEUPS)
		fprintf(f, "room wakeups  %llu (sent to writers waiting for room)\n",
			(unsigned long long)st->room_wakeups);
	else
		fprintf(f, "room wakeups  n/a (module ABI %u.%u)\n", l->abi_major, l->abi_minor);
	fprintf(f, "consumers     %llu attached\n", (unsigned long long)st->consumers);
	fprintf(f, "abandoned     %llu claims, %llu records\n",
		(unsigned long long)st->abandoned_claims,
		(unsigned long long)st->abandoned_records);
	fprintf(f, "revoked       %llu claims, %llu records (held past the claim timeout)\n",
		(unsigned long long)st->revoked_claims, (unsigned long long)st->revoked_records);
	fprintf(f, "read faults   %llu records read(2) could not copy out\n",
		(unsigned long long)st->read_faults);
	fprintf(f, "head repairs  %llu\n", (unsigned long long)st->head_repairs);
	/* A module older than ABI 1.6 copies both words out as 0. */
	if (l->abi_minor < MPMCRING_ABI_MINOR_CHUNKS)
		fprintf(f, "chunks        n/a (module ABI %u.%u; 1.6 reports them)\n", l->abi_major,
			l->abi_minor);
	else if (!st->chunk_bytes)
		fprintf(f, "chunks        off (each record reserved alone)\n");
	else
		fprintf(f,
			"chunks        %llu bytes (one per CPU and interrupt level), %llu bytes closed as fillers\n",
			(unsigned long long)st->chunk_bytes,
			(unsigned long long)st->chunk_filler_bytes);
	stat_bpf_refused_text(f);
	stat_consumers_text(f, s);
	if (prev) {
		const struct mpmcring_stats *p = &prev->st;
		double dt = s->t - prev->t;

		fprintf(f,
			"\nper second    produced %.0f records (%s), consumed %.0f, dropped %.0f, overwritten %.0f, wakeups %.0f\n",
			stat_rate(st->produced_records, p->produced_records, dt),
			human_bytes((uint64_t)stat_rate(st->produced_bytes, p->produced_bytes, dt),
				    h, sizeof(h)),
			stat_rate(st->consumed_records, p->consumed_records, dt),
			stat_rate(stat_dropped(st, -1, -1), stat_dropped(p, -1, -1), dt),
			stat_rate(st->overwritten_records, p->overwritten_records, dt),
			stat_rate(st->wakeups, p->wakeups, dt));
	}
}

static void stat_json_dropped(FILE *f, const struct mpmcring_stats *st)
{
	int i, j;

	fprintf(f, "\"dropped\":{\"records\":%llu,\"by_reason\":{",
		(unsigned long long)stat_dropped(st, -1, -1));
	for (i = 0; i < MPMCRING_NR_DROP; i++)
		fprintf(f, "%s\"%s\":%llu", i ? "," : "", drop_name(i),
			(unsigned long long)stat_dropped(st, i, -1));
	fputs("},\"by_class\":{", f);
	for (j = 0; j < MPMCRING_NR_PRIO; j++)
		fprintf(f, "%s\"%s\":%llu", j ? "," : "", prio_name(j),
			(unsigned long long)stat_dropped(st, -1, j));
	fputs("},\"detail\":{", f);
	for (i = 0; i < MPMCRING_NR_DROP; i++) {
		fprintf(f, "%s\"%s\":{", i ? "," : "", drop_name(i));
		for (j = 0; j < MPMCRING_NR_PRIO; j++)
			fprintf(f, "%s\"%s\":%llu", j ? "," : "", prio_name(j),
				(unsigned long long)st->dropped[i][j]);
		fputc('}', f);
	}
	fputs("}}", f);
}

static void stat_json(FILE *f, const char *path, const struct mpmcring_layout *l,
		      const struct stat_sample *s, const struct stat_sample *prev)
{
	const struct mpmcring_stats *st = &s->st;
	char name[sizeof(l->name) + 1] = { 0 };
	int i;

	memcpy(name, l->name, sizeof(l->name));
	fputs("{\"ring\":", f);
	out_json_string(f, path);
	fputs(",\"name\":", f);
	out_json_string(f, name);
	fprintf(f, ",\"id\":%u", l->id);
	fprintf(f, ",\"time\":%.3f", s->wall);
	fprintf(f,
		",\"layout\":{\"abi\":\"%u.%u\",\"size\":%llu,\"granule\":%u,"
		"\"max_record\":%u,\"mode\":\"%s\",\"max_consumers\":%u,"
		"\"max_per_file\":%u,\"claim_timeout_ms\":%u,\"user_max_prio\":\"%s\","
		"\"watermarks\":{\"low\":%llu,\"normal\":%llu,\"critical\":%llu}}",
		l->abi_major, l->abi_minor, (unsigned long long)l->data_size,
		1U << l->granule_shift, l->max_record, mode_name(l->mode), l->max_consumers,
		l->max_per_file, (l->features & MPMCRING_FEAT_LEASE) ? l->claim_timeout_ms : 0,
		prio_name(l->user_max_prio), (unsigned long long)l->watermark[MPMCRING_PRIO_LOW],
		(unsigned long long)l->watermark[MPMCRING_PRIO_NORMAL],
		(unsigned long long)l->watermark[MPMCRING_PRIO_CRITICAL]);
	fprintf(f, ",\"fill\":{\"bytes\":%llu,\"percent\":%.2f}", (unsigned long long)s->fill,
		100.0 * s->fill / l->data_size);
	fprintf(f, ",\"produced\":{\"records\":%llu,\"bytes\":%llu}",
		(unsigned long long)st->produced_records, (unsigned long long)st->produced_bytes);
	fprintf(f, ",\"consumed\":{\"records\":%llu}", (unsigned long long)st->consumed_records);
	fprintf(f, ",\"in_ring\":{\"records\":%llu,\"bytes\":%llu,\"partial\":%s}",
		(unsigned long long)st->in_ring_records, (unsigned long long)st->in_ring_bytes,
		st->flags & MPMCRING_STATS_IN_RING_PARTIAL ? "true" : "false");
	fprintf(f, ",\"discarded\":{\"records\":%llu},", (unsigned long long)st->discarded_records);
	stat_json_dropped(f, st);
	fprintf(f, ",\"overwritten\":{\"records\":%llu,\"bytes\":%llu}",
		(unsigned long long)st->overwritten_records,
		(unsigned long long)st->overwritten_bytes);
	fprintf(f, ",\"wakeups\":%llu", (unsigned long long)st->wakeups);
	/* null, not a 0 the module never counted, before ABI 1.4 */
	if (l->abi_minor >= MPMCRING_ABI_MINOR_ROOM_WAKEUPS)
		fprintf(f, ",\"room_wakeups\":%llu", (unsigned long long)st->room_wakeups);
	else
		fputs(",\"room_wakeups\":null", f);
	fprintf(f, ",\"consumers\":%llu", (unsigned long long)st->consumers);
	fprintf(f, ",\"abandoned\":{\"claims\":%llu,\"records\":%llu}",
		(unsigned long long)st->abandoned_claims,
		(unsigned long long)st->abandoned_records);
	fprintf(f, ",\"head_repairs\":%llu", (unsigned long long)st->head_repairs);
	fprintf(f, ",\"revoked\":{\"claims\":%llu,\"records\":%llu}",
		(unsigned long long)st->revoked_claims, (unsigned long long)st->revoked_records);
	fprintf(f, ",\"read_faults\":%llu", (unsigned long long)st->read_faults);
	/* null, not a 0 that would read as "no chunks", before ABI 1.6 */
	if (l->abi_minor >= MPMCRING_ABI_MINOR_CHUNKS)
		fprintf(f, ",\"chunks\":{\"bytes\":%llu,\"filler_bytes\":%llu}",
			(unsigned long long)st->chunk_bytes,
			(unsigned long long)st->chunk_filler_bytes);
	else
		fputs(",\"chunks\":null", f);
	stat_bpf_refused_json(f);
	fputs(",\"consumer_list\":[", f);
	for (i = 0; i < s->ncons; i++) {
		const struct mpmcring_consumer_info *c = &s->cons[i];
		bool held = !(c->start & MPMCRING_SLOT_IDLE);

		fprintf(f,
			"%s{\"slot\":%u,\"pid\":%u,\"holding\":%s,\"held_records\":%llu,"
			"\"claim_age_ms\":%llu,\"revocations\":%llu,\"read\":%s}",
			i ? "," : "", c->slot, c->pid, held ? "true" : "false",
			(unsigned long long)(held ? c->held_records : 0),
			(unsigned long long)c->claim_age_ms, (unsigned long long)c->revocations,
			c->flags & MPMCRING_SLOTF_READ ? "true" : "false");
	}
	fputc(']', f);
	fprintf(f, ",\"positions\":{\"prod\":%llu,\"head\":%llu,\"reclaim\":%llu}",
		(unsigned long long)st->prod_pos, (unsigned long long)st->head,
		(unsigned long long)st->reclaim_pos);
	if (prev) {
		const struct mpmcring_stats *p = &prev->st;
		double dt = s->t - prev->t;

		fprintf(f,
			",\"rates\":{\"interval_s\":%.3f,\"produced_records\":%.1f,"
			"\"produced_bytes\":%.1f,\"consumed_records\":%.1f,"
			"\"dropped_records\":%.1f,\"overwritten_records\":%.1f,"
			"\"wakeups\":%.1f}",
			dt, stat_rate(st->produced_records, p->produced_records, dt),
			stat_rate(st->produced_bytes, p->produced_bytes, dt),
			stat_rate(st->consumed_records, p->consumed_records, dt),
			stat_rate(stat_dropped(st, -1, -1), stat_dropped(p, -1, -1), dt),
			stat_rate(st->overwritten_records, p->overwritten_records, dt),
			stat_rate(st->wakeups, p->wakeups, dt));
	}
	fputs("}\n", f);
}

/* Whether the ring behind r was destroyed: its file hangs up. */
static bool stat_destroyed(struct mpmcring *r)
{
	struct pollfd p = { .fd = mpmcring_fd(r) };

	return p.fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLHUP);
}

int cmd_stat(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		/* Gone: "--watch 2" read "2" as the RING. Said so, not guessed. */
		{ "watch", optional_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct stat_sample s[2];
	const struct mpmcring_layout *l;
	bool json = false, watch = false, clear;
	uint64_t count = 0;
	double every = 1;
	char path[4096];
	struct mpmcring *r;
	int c, code = CLI_OK, n;

	argv[0] = "mpmcring stat";
	while ((c = getopt_long(argc, argv, "hji:c:w::", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'i':
			watch = true;
			/* Each sample sums every CPU's counters: not a busy loop. */
			if (!parse_seconds(optarg, &every) || every < 0.01)
				return cli_usage("stat", "--interval %s: want 0.01 seconds or more",
						 optarg);
			break;
		case 'c':
			if (!parse_u64(optarg, false, &count) || !count)
				return cli_usage("stat", "--count %s: want a positive number",
						 optarg);
			break;
		case 'w':
			return cli_usage("stat", "--watch is gone: use --interval SECONDS");
		case 'h':
			fputs(stat_usage, stdout);
			return CLI_OK;
		default:
			return cli_try_help("stat", opts, argv);
		}
	}
	if (count && !watch)
		return cli_usage("stat", "--count needs --interval");
	if (argc - optind > 1)
		return cli_usage("stat", "one RING at most (got '%s' and '%s')", argv[optind],
				 argv[optind + 1]);
	if (ring_path(optind < argc ? argv[optind] : NULL, path, sizeof(path)))
		return cli_usage("stat", "bad RING '%s'", argv[optind]);

	cli_signals(true);
	r = ring_open("stat", path, MPMCRING_OPEN_RDONLY, &code);
	if (!r)
		return code;
	l = mpmcring_get_layout(r);
	clear = watch && !json && isatty(STDOUT_FILENO);
	for (n = 0; !cli_stop; n++) {
		struct stat_sample *cur = &s[n & 1], *prev = n ? &s[!(n & 1)] : NULL;
		int err = stat_read(r, cur);

		if (err) {
			code = cli_error("stat", "%s: %s", path, mpmcring_errmsg());
			break;
		}
		if (clear)
			printf("\033[H\033[2JEvery %gs, Ctrl-C to stop\n\n", every);
		else if (n && !json)
			putchar('\n');
		if (json)
			stat_json(stdout, path, l, cur, prev);
		else
			stat_text(stdout, path, l, cur, prev);
		if (fflush(stdout) || ferror(stdout)) {
			/* A closed pipe (stat | head) is the reader's choice. */
			if (errno != EPIPE)
				code = cli_error("stat", "writing the output: %s", strerror(errno));
			break;
		}
		/*
		 * A destroyed ring's counters stand still: a watch that went
		 * on would show a live ring at rest. Its file hangs up.
		 */
		if (watch && stat_destroyed(r)) {
			code = cli_fail("stat", CLI_NORING,
					"%s: the ring was destroyed: those were its last counters",
					path);
			break;
		}
		if (!watch || (count && (uint64_t)n + 1 >= count) || !sleep_s(every))
			break;
	}
	mpmcring_close(r);
	return code;
}
