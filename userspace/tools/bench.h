/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mpmcring bench: what its files share. bench.c runs the command,
 * bench_opts.c parses its options, bench_run.c consumes while the load
 * generator produces, bench_out.c reports.
 */
#ifndef MPMCRING_CLI_BENCH_H
#define MPMCRING_CLI_BENCH_H

#include "cli.h"
#include "loadgen.h"

#define BENCH_RING "bench"
#define BENCH_DEV MPMCRING_DEFAULT_PATH "-" BENCH_RING
/* The load generator's ring has the module's default consumer slots. */
#define BENCH_MAX_CONSUMERS 62

struct bench_opts {
	uint64_t threads; /* UINT64_MAX: the module's default */
	bool hrtimer, softirq, nmi;
	uint64_t size, len_min, len_max, count;
	uint64_t consumers, batch;
	const char *module;
};

/* What a run measured. */
struct bench_result {
	struct mpmcring_stats st;
	struct lg_totals lt;
	uint64_t records, bytes; /* consumed by our threads */
	uint64_t revoked;	 /* records our threads lost to revoked claims */
	double elapsed;
	bool interrupted;
	char len_min[32], len_max[32]; /* as the module took them */
};

/* Parses the options: 0, -1 after --help, else an exit code. */
int bench_parse(int argc, char **argv, struct bench_opts *o);
/* Starts the producers and consumes until they are done and the ring is empty. */
int bench_run(const struct bench_opts *o, struct mpmcring *r, struct bench_result *res);
/* One progress line on stderr (overwritten in place on a terminal). */
void bench_progress(double t, const struct lg_totals *lt, uint64_t consumed, bool tty, bool last);
/* The summary table on stdout. */
void bench_summary(const struct bench_opts *o, const struct bench_result *res);

#endif /* MPMCRING_CLI_BENCH_H */
