// SPDX-License-Identifier: GPL-2.0-only
/*
 * The raw output of a benchmark, for bench/report/ to read:
 *
 *   runs.csv      one row per run, written as each run ends (a run cut
 *                 short keeps what it had): the configuration, the round
 *                 and the place in it, the window, records/s, and what the
 *                 machine did meanwhile (machine.c)
 *   machine.json  the machine, the command, when, and the load before
 *
 * No statistics here: medians, spreads and ratios are the report's job.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"

static FILE *runs;

static FILE *open_out(const char *dir, const char *name, const char *mode)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, mode);
	if (!f) {
		perror(path);
		exit(2);
	}
	return f;
}

void hb_out_open(const char *dir, const char *cmdline, const struct hb_plan *plan, bool quick,
		 unsigned int idle_ns, const char *order)
{
	char mach[512], when[64];
	time_t now = time(NULL);
	unsigned int i;
	FILE *f;

	hb_machine_describe(mach, sizeof(mach));
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S%z", localtime(&now));
	f = open_out(dir, "machine.json", "w");
	fprintf(f,
		"{\n  \"machine\": \"%s\",\n  \"cpus\": %u,\n  \"command\": \"%s\",\n  \"date\": \"%s\",\n  \"load1_before\": %.2f,\n  \"quick\": %s,\n  \"idle_ns\": %u,\n  \"order\": \"%s\",\n  \"impl_order\": \"williams\",\n  \"implementations\": [",
		mach, hb_ncpus(), cmdline, when, hb_loadavg1(), quick ? "true" : "false", idle_ns,
		order);
	for (i = 0; i < plan->nimpls; i++)
		fprintf(f, "%s\n    {\"name\": \"%s\", \"what\": \"%s\"}", i ? "," : "",
			plan->impls[i]->name, plan->impls[i]->desc);
	fprintf(f, "\n  ]\n}\n");
	fclose(f);

	runs = open_out(dir, "runs.csv", "w");
	fprintf(runs,
		"impl,producers,consumers,size,mode,ring_bytes,warm_ms,run_ms,round,slot,seconds,"
		"records_per_s,records,full_tries,empty_tries,load1,cpu_share,other_busy,steal,"
		"nivcsw,transfer_ns,idle_ns\n");
	fflush(runs);
}

/* A process that runs one sweep of a run hb_out_open() began: its rows. */
void hb_out_append(const char *dir)
{
	runs = open_out(dir, "runs.csv", "a");
}

void hb_out_run(const struct hb_result *r)
{
	fprintf(runs,
		"%s,%u,%u,%u,%s,%llu,%u,%u,%u,%u,%.6f,%.0f,%llu,%llu,%llu,%.2f,%.4f,%.4f,%.4f,%llu,%.1f,%u\n",
		r->impl, r->cfg.producers, r->cfg.consumers, r->cfg.size,
		r->cfg.batch ? "batch" : "single", (unsigned long long)r->cfg.ring_bytes,
		r->cfg.warm_ms, r->cfg.run_ms, r->round, r->slot, r->seconds, r->rate,
		(unsigned long long)r->records, (unsigned long long)r->full_tries,
		(unsigned long long)r->empty_tries, r->noise.load1, r->noise.cpu_share,
		r->noise.other_busy, r->noise.steal, (unsigned long long)r->noise.nivcsw,
		r->noise.transfer_ns, r->cfg.idle_ns);
	fflush(runs);
}

void hb_out_close(void)
{
	if (runs)
		fclose(runs);
	runs = NULL;
}
