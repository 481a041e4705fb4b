// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring bench: progress while it runs, the summary table at the end.
 */
#include "bench.h"

void bench_progress(double t, const struct lg_totals *lt, uint64_t consumed, bool tty, bool last)
{
	fprintf(stderr, "%s%7.1f s  produced %llu  consumed %llu  dropped %llu%s", tty ? "\r" : "",
		t, (unsigned long long)lt->committed, (unsigned long long)consumed,
		(unsigned long long)lt->dropped, tty && !last ? "   " : "\n");
}

void bench_summary(const struct bench_opts *o, const struct bench_result *res)
{
	const struct mpmcring_stats *st = &res->st;
	uint64_t dropped = 0, reason;
	char ctx[128] = "";
	double secs = res->elapsed > 0 ? res->elapsed : 1e-9;
	unsigned int i, j, n = 0;

	for (i = 0; i < 5; i++)
		if (res->lt.by_ctx[i])
			n += snprintf(ctx + n, sizeof(ctx) - n, "%s%u %s", n ? ", " : "",
				      res->lt.by_ctx[i], lg_ctx_name(i));
	printf("mpmcring bench: ring %llu bytes, %u producers (%s), %llu consumers, batch %llu, records %s-%s bytes%s\n\n",
	       (unsigned long long)o->size, res->lt.producers, ctx,
	       (unsigned long long)o->consumers, (unsigned long long)o->batch, res->len_min,
	       res->len_max, res->interrupted ? " (interrupted)" : "");
	for (i = 0; i < MPMCRING_NR_DROP; i++)
		for (j = 0; j < MPMCRING_NR_PRIO; j++)
			dropped += st->dropped[i][j];
	printf("%-14s %14s %16s\n", "", "records", "bytes");
	printf("%-14s %14llu %16llu\n", "produced", (unsigned long long)st->produced_records,
	       (unsigned long long)st->produced_bytes);
	printf("%-14s %14llu %16llu\n", "consumed", (unsigned long long)res->records,
	       (unsigned long long)res->bytes);
	printf("%-14s %14llu\n", "dropped", (unsigned long long)dropped);
	for (i = 0; i < MPMCRING_NR_DROP; i++) {
		for (reason = 0, j = 0; j < MPMCRING_NR_PRIO; j++)
			reason += st->dropped[i][j];
		printf("  %-12s %14llu\n", drop_name(i), (unsigned long long)reason);
	}
	printf("%-14s %14llu %16llu\n", "overwritten", (unsigned long long)st->overwritten_records,
	       (unsigned long long)st->overwritten_bytes);
	printf("%-14s %14llu\n", "revoked", (unsigned long long)res->revoked);
	printf("%-14s %14.3f s (producers busy %.3f s)\n", "elapsed", res->elapsed,
	       res->lt.max_elapsed_ns / 1e9);
	printf("%-14s %14.0f records/s %8.2f MB/s\n", "throughput", res->records / secs,
	       res->bytes / secs / 1e6);
	printf("%-14s %14llu\n", "wakeups", (unsigned long long)st->wakeups);
}
