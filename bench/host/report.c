// SPDX-License-Identifier: GPL-2.0-only
/*
 * Results: every run is kept; per configuration and implementation the
 * median records/s with min and max over repetitions, and the ratio
 * ours/peer: median, min and max over repetitions of the ratio of the two
 * runs of the same repetition. Also table.md, the tables in Markdown. Written as runs.csv, summary.csv, results.json and a
 * table (printed, and table.txt).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/utsname.h>

#include "bench.h"

static struct hb_result *res;
static size_t nres, capres;

void hb_report_add(const struct hb_result *r)
{
	if (nres == capres) {
		capres = capres ? 2 * capres : 1024;
		res = realloc(res, capres * sizeof(*res));
		if (!res) {
			fprintf(stderr, "hostbench: out of memory for results\n");
			exit(2);
		}
	}
	res[nres++] = *r;
}

static bool same_cfg(const struct hb_cfg *a, const struct hb_cfg *b)
{
	return a->producers == b->producers && a->consumers == b->consumers && a->size == b->size &&
	       a->batch == b->batch;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stat3 {
	double med, min, max;
	unsigned int n;
};

static struct stat3 stat_of(double *v, unsigned int n)
{
	struct stat3 s = { 0, 0, 0, n };

	if (!n)
		return s;
	qsort(v, n, sizeof(*v), cmp_double);
	s.min = v[0];
	s.max = v[n - 1];
	s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return s;
}

/* Rates of one implementation at one configuration, by repetition. */
static unsigned int rates(const char *impl, const struct hb_cfg *cfg, double *v, unsigned int *reps,
			  unsigned int max)
{
	unsigned int n = 0;
	size_t i;

	for (i = 0; i < nres && n < max; i++) {
		if (strcmp(res[i].impl, impl) || !same_cfg(&res[i].cfg, cfg))
			continue;
		if (reps)
			reps[n] = res[i].rep;
		v[n++] = res[i].rate;
	}
	return n;
}

#define MAXREP 256

static struct stat3 impl_stat(const char *impl, const struct hb_cfg *cfg)
{
	double v[MAXREP];
	unsigned int n = rates(impl, cfg, v, NULL, MAXREP);

	return stat_of(v, n);
}

/*
 * ours/peer: within each repetition the two ran side by side, seconds
 * apart, so their ratio is what survives a drift of the machine; the
 * median, min and max over repetitions of that ratio.
 */
static struct stat3 ratio_stat(const char *ours, const char *peer, const struct hb_cfg *cfg)
{
	double a[MAXREP], b[MAXREP], r[MAXREP];
	unsigned int ra[MAXREP], rb[MAXREP], na, nb, i, j, n = 0;

	na = rates(ours, cfg, a, ra, MAXREP);
	nb = rates(peer, cfg, b, rb, MAXREP);
	for (i = 0; i < na; i++)
		for (j = 0; j < nb; j++)
			if (ra[i] == rb[j] && b[j] > 0)
				r[n++] = a[i] / b[j];
	return stat_of(r, n);
}

static void mix_name(char *buf, size_t len, const struct hb_cfg *c)
{
	snprintf(buf, len, "%uP%uC", c->producers, c->consumers);
}

void hb_report_config_line(const struct hb_impl *const *impls, unsigned int nimpls,
			   const struct hb_cfg *cfg, unsigned int done, unsigned int total)
{
	char mix[32];
	unsigned int i;

	mix_name(mix, sizeof(mix), cfg);
	fprintf(stderr, "[%3u/%u] %-6s %5uB %-6s", done, total, mix, cfg->size,
		cfg->batch ? "batch" : "single");
	for (i = 0; i < nimpls; i++)
		fprintf(stderr, " %s %.2f", impls[i]->name,
			impl_stat(impls[i]->name, cfg).med / 1e6);
	fprintf(stderr, " Mrec/s");
	for (i = 1; i < nimpls; i++)
		fprintf(stderr, " | /%s %.2fx", impls[i]->name,
			ratio_stat(impls[0]->name, impls[i]->name, cfg).med);
	fprintf(stderr, "\n");
}

/* The distinct configurations, in the order they ran. */
static unsigned int configs(struct hb_cfg *out, unsigned int max)
{
	unsigned int n = 0, j;
	size_t i;

	for (i = 0; i < nres; i++) {
		for (j = 0; j < n; j++)
			if (same_cfg(&out[j], &res[i].cfg))
				break;
		if (j == n && n < max)
			out[n++] = res[i].cfg;
	}
	return n;
}

static void machine(char *buf, size_t len)
{
	char line[256], model[200] = "unknown CPU";
	struct utsname u;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (f) {
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
				snprintf(model, sizeof(model), "%s", strchr(line, ':') + 2);
				model[strcspn(model, "\n")] = 0;
				break;
			}
		fclose(f);
	}
	if (uname(&u))
		memset(&u, 0, sizeof(u));
	snprintf(buf, len, "%s, %s, %u CPUs usable, Linux %s", u.machine, model, hb_ncpus(),
		 u.release);
}

static FILE *open_out(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(2);
	}
	return f;
}

/* The tables, as aligned text (table.txt) or Markdown (table.md, for
 * bench/RESULTS.md). */
static void table(FILE *f, const struct hb_impl *const *impls, unsigned int nimpls,
		  const struct hb_cfg *cf, unsigned int ncf, bool md)
{
	unsigned int m, k, i;
	char mix[32];

	for (m = 0; m < 2; m++) {
		bool any = false;

		for (k = 0; k < ncf; k++)
			any |= cf[k].batch == m;
		if (!any)
			continue;
		fprintf(f,
			"\n%s consume: median Mrecords/s [min-max over repetitions]; ours/peer = median [min-max] over repetitions of the ratio within the repetition\n%s",
			m ? "Batched (32)" : "Single-record", md ? "\n" : "");
		fprintf(f, md ? "| mix | size |" : "%-6s %5s", "mix", "size");
		for (i = 0; i < nimpls; i++)
			fprintf(f, md ? " %s |" : " | %-21s", impls[i]->name);
		for (i = 1; i < nimpls; i++)
			fprintf(f, md ? " ours/%s |" : " | ours/%-15s", impls[i]->name);
		if (md) {
			fprintf(f, "\n|---|---:|");
			for (i = 1; i < 2 * nimpls; i++)
				fprintf(f, "---:|");
		}
		fprintf(f, "\n");
		for (k = 0; k < ncf; k++) {
			if (cf[k].batch != m)
				continue;
			mix_name(mix, sizeof(mix), &cf[k]);
			fprintf(f, md ? "| %s | %u |" : "%-6s %4uB", mix, cf[k].size);
			for (i = 0; i < nimpls; i++) {
				struct stat3 s = impl_stat(impls[i]->name, &cf[k]);

				fprintf(f, md ? " %.1f [%.1f-%.1f] |" : " | %6.2f [%6.2f-%6.2f]",
					s.med / 1e6, s.min / 1e6, s.max / 1e6);
			}
			for (i = 1; i < nimpls; i++) {
				struct stat3 s = ratio_stat(impls[0]->name, impls[i]->name, &cf[k]);
				const char *slower = md && s.med < 1 ? "*" : "";

				fprintf(f,
					md ? " %s%.2fx%s [%.2f-%.2f] |"
					   : " | %s%5.2fx%s [%5.2f-%5.2f]",
					slower, s.med, slower, s.min, s.max);
			}
			fprintf(f, "\n");
		}
	}
	if (md)
		fprintf(f, "\n(*...*: ours slower)\n");
}

void hb_report_write(const char *dir, const struct hb_impl *const *impls, unsigned int nimpls,
		     const char *cmdline)
{
	struct hb_cfg *cf = calloc(nres ? nres : 1, sizeof(*cf));
	unsigned int ncf, k, i;
	char mach[512], mix[32];
	FILE *f;
	size_t r;

	if (!cf)
		exit(2);
	ncf = configs(cf, nres);
	machine(mach, sizeof(mach));

	f = open_out(dir, "runs.csv");
	fprintf(f,
		"impl,producers,consumers,size,mode,records,ring_bytes,rep,seconds,records_per_s,full_tries,empty_tries\n");
	for (r = 0; r < nres; r++)
		fprintf(f, "%s,%u,%u,%u,%s,%llu,%llu,%u,%.6f,%.0f,%llu,%llu\n", res[r].impl,
			res[r].cfg.producers, res[r].cfg.consumers, res[r].cfg.size,
			res[r].cfg.batch ? "batch" : "single",
			(unsigned long long)res[r].cfg.records,
			(unsigned long long)res[r].cfg.ring_bytes, res[r].rep, res[r].seconds,
			res[r].rate, (unsigned long long)res[r].full_tries,
			(unsigned long long)res[r].empty_tries);
	fclose(f);

	f = open_out(dir, "summary.csv");
	fprintf(f,
		"mix,producers,consumers,size,mode,impl,reps,median_rps,min_rps,max_rps,ours_over_impl,ratio_min,ratio_max\n");
	for (k = 0; k < ncf; k++) {
		mix_name(mix, sizeof(mix), &cf[k]);
		for (i = 0; i < nimpls; i++) {
			struct stat3 s = impl_stat(impls[i]->name, &cf[k]);
			struct stat3 q = ratio_stat(impls[0]->name, impls[i]->name, &cf[k]);

			fprintf(f, "%s,%u,%u,%u,%s,%s,%u,%.0f,%.0f,%.0f,%.4f,%.4f,%.4f\n", mix,
				cf[k].producers, cf[k].consumers, cf[k].size,
				cf[k].batch ? "batch" : "single", impls[i]->name, s.n, s.med, s.min,
				s.max, q.med, q.min, q.max);
		}
	}
	fclose(f);

	f = open_out(dir, "results.json");
	fprintf(f, "{\n  \"machine\": \"%s\",\n  \"command\": \"%s\",\n  \"implementations\": [",
		mach, cmdline);
	for (i = 0; i < nimpls; i++)
		fprintf(f, "%s\n    {\"name\": \"%s\", \"what\": \"%s\"}", i ? "," : "",
			impls[i]->name, impls[i]->desc);
	fprintf(f, "\n  ],\n  \"runs\": [");
	for (r = 0; r < nres; r++)
		fprintf(f,
			"%s\n    {\"impl\": \"%s\", \"producers\": %u, \"consumers\": %u, \"size\": %u, \"mode\": \"%s\", \"records\": %llu, \"ring_bytes\": %llu, \"rep\": %u, \"seconds\": %.6f, \"records_per_s\": %.0f, \"full_tries\": %llu, \"empty_tries\": %llu}",
			r ? "," : "", res[r].impl, res[r].cfg.producers, res[r].cfg.consumers,
			res[r].cfg.size, res[r].cfg.batch ? "batch" : "single",
			(unsigned long long)res[r].cfg.records,
			(unsigned long long)res[r].cfg.ring_bytes, res[r].rep, res[r].seconds,
			res[r].rate, (unsigned long long)res[r].full_tries,
			(unsigned long long)res[r].empty_tries);
	fprintf(f, "\n  ],\n  \"summary\": [");
	for (k = 0, r = 0; k < ncf; k++) {
		mix_name(mix, sizeof(mix), &cf[k]);
		for (i = 0; i < nimpls; i++, r++) {
			struct stat3 s = impl_stat(impls[i]->name, &cf[k]);
			struct stat3 q = ratio_stat(impls[0]->name, impls[i]->name, &cf[k]);

			fprintf(f,
				"%s\n    {\"mix\": \"%s\", \"size\": %u, \"mode\": \"%s\", \"impl\": \"%s\", \"reps\": %u, \"median_rps\": %.0f, \"min_rps\": %.0f, \"max_rps\": %.0f, \"ours_over_impl\": %.4f, \"ratio_min\": %.4f, \"ratio_max\": %.4f}",
				r ? "," : "", mix, cf[k].size, cf[k].batch ? "batch" : "single",
				impls[i]->name, s.n, s.med, s.min, s.max, q.med, q.min, q.max);
		}
	}
	fprintf(f, "\n  ]\n}\n");
	fclose(f);

	f = open_out(dir, "table.txt");
	fprintf(f, "machine: %s\ncommand: %s\n", mach, cmdline);
	table(f, impls, nimpls, cf, ncf, false);
	fclose(f);
	f = open_out(dir, "table.md");
	fprintf(f, "machine: %s\n", mach);
	table(f, impls, nimpls, cf, ncf, true);
	fclose(f);
	printf("machine: %s\n", mach);
	table(stdout, impls, nimpls, cf, ncf, false);
	fflush(stdout);
	free(cf);
}
