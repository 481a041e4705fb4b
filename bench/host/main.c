// SPDX-License-Identifier: GPL-2.0-only
/*
 * hostbench: throughput of mpmcring (hostring producers + library consumers)
 * against DPDK rte_ring, ck_ring and a Vyukov queue, in one run.
 *
 *   hostbench [-m MIXES] [-s SIZES] [-M single,batch] [-r REPS] [-n RECORDS]
 *             [-R RING_BYTES] [-o DIR] [-q] [-v] [-l]
 *   hostbench -1 IMPL [-n RECORDS] [-s SIZE] [-b]
 *
 * MIXES is a list of PxC (default 1x1,1x2,2x1,2x2, then NxN up to the CPU
 * count; -q: 1x1,2x2; see default_mixes()). Every configuration runs REPS times; within a repetition every
 * implementation runs once, in an order that rotates with the repetition, so
 * a drift of the machine touches them all alike. RECORDS is per run (default:
 * by record size, see records_for()). -q: the quick set for CI. -v: a line
 * per run. Afterwards the machine's limits are measured (limits.c); -l
 * skips them.
 *
 * -1 runs IMPL on one thread, each record produced then consumed (-b: 32 at
 * a time, one batch), for instruction counts under callgrind; IMPL "none"
 * does only the benchmark's own work on each record (the baseline).
 *
 * Exit status: 0, 1 when a record was lost, duplicated or damaged, 2 on a
 * setup failure.
 */
#include <getopt.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

static const struct hb_impl *const impls[] = { &hb_ours, &hb_rte, &hb_ck, &hb_vyukov };
#define NIMPLS (sizeof(impls) / sizeof(impls[0]))

#define MAXLIST 32

static struct {
	unsigned int np[MAXLIST], nc[MAXLIST], nmix;
	uint32_t sizes[MAXLIST];
	unsigned int nsizes;
	bool modes[2]; /* [0] single, [1] batch */
	unsigned int reps;
	uint64_t records; /* 0: by size */
	uint64_t ring_bytes;
	const char *out;
	bool quick, verbose, no_limits;
	const char *single;
	bool single_batch;
} opt = {
	.reps = 7,
	.ring_bytes = 1 << 20,
	.out = "results",
};

/* Fixed per configuration: 256 MiB of records, within 512 Ki - 4 Mi records
 * (an eighth of that for -q). */
static uint64_t records_for(uint32_t size)
{
	uint64_t n = (256ULL << 20) / size;

	if (opt.records)
		return opt.records;
	n = n < (512 << 10) ? (512 << 10) : n > (4 << 20) ? (4 << 20) : n;
	return opt.quick ? n / 8 : n;
}

/*
 * The four small mixes, then NxN up to the CPU count. A mix that needs two
 * threads of one role on one CPU is left out: rte_ring and ck_ring make a
 * thread wait, spinning, for an earlier thread of its role, and with both
 * on one CPU every record waits for a time slice (see run.c).
 */
static void default_mixes(void)
{
	static const unsigned int base[][2] = { { 1, 1 }, { 1, 2 }, { 2, 1 }, { 2, 2 } };
	unsigned int i, n;

	for (i = 0; i < 4; i++) {
		if (opt.quick && base[i][0] != base[i][1])
			continue; /* -q: 1x1 and 2x2 */
		if (base[i][0] > hb_ncpus() || base[i][1] > hb_ncpus()) {
			fprintf(stderr,
				"hostbench: %uP%uC left out: more threads of one role than CPUs\n",
				base[i][0], base[i][1]);
			continue;
		}
		opt.np[opt.nmix] = base[i][0];
		opt.nc[opt.nmix++] = base[i][1];
	}
	for (n = 4; !opt.quick && 2 * n <= hb_ncpus() && opt.nmix < MAXLIST; n *= 2) {
		opt.np[opt.nmix] = n;
		opt.nc[opt.nmix++] = n;
	}
	/* An odd core count: fill every CPU once as well. */
	n = hb_ncpus() / 2;
	if (!opt.quick && n > 2 && (n & (n - 1)) && opt.nmix < MAXLIST) {
		opt.np[opt.nmix] = n;
		opt.nc[opt.nmix++] = n;
	}
}

static int parse_mixes(char *s)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned int p, c;

		if (sscanf(tok, "%ux%u", &p, &c) != 2 || !p || !c || p + c > HB_MAX_THREADS ||
		    p > HB_MAX_THREADS / 2 || opt.nmix == MAXLIST)
			return -1;
		opt.np[opt.nmix] = p;
		opt.nc[opt.nmix++] = c;
	}
	return opt.nmix ? 0 : -1;
}

static int parse_sizes(char *s)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned long v = strtoul(tok, NULL, 0);

		/* Powers of two from 16: equal byte capacity in every ring. */
		if (v < 16 || v > 65536 || (v & (v - 1)) || opt.nsizes == MAXLIST)
			return -1;
		opt.sizes[opt.nsizes++] = v;
	}
	return opt.nsizes ? 0 : -1;
}

static const struct hb_impl *impl_named(const char *name)
{
	unsigned int i;

	for (i = 0; i < NIMPLS; i++)
		if (!strcmp(impls[i]->name, name))
			return impls[i];
	return NULL;
}

/* The work of the benchmark itself, without a ring: fill, look, count. */
static int run_none(const struct hb_cfg *cfg, struct hb_seen *seen)
{
	unsigned char *buf = aligned_alloc(HB_CACHELINE, cfg->size);
	uint64_t seq;

	if (!buf)
		return 2;
	hb_rec_init(buf, cfg->size);
	for (seq = 0; seq < cfg->records; seq++) {
		hb_rec_fill(buf, cfg->size, 0, seq);
		/* Keeps the compiler from folding fill into take. */
		__asm__ __volatile__("" : : "r"(buf) : "memory");
		hb_rec_take(seen, buf, cfg->size, 1);
	}
	free(buf);
	return hb_verify("none", cfg, &seen, 1, &cfg->records);
}

/* One thread, for callgrind: the setup, then n records through the ring.
 * IMPL "none" is the baseline: the records' own work without any ring. */
static int run_single(void)
{
	const struct hb_impl *im = impl_named(opt.single);
	struct hb_cfg cfg = {
		.producers = 1,
		.consumers = 1,
		.size = opt.nsizes ? opt.sizes[0] : 64,
		.batch = opt.single_batch,
		.records = opt.records ? opt.records : 100000,
		.ring_bytes = opt.ring_bytes,
	};
	struct hb_seen *seen;
	void *ring;
	int rc = 2;

	if (strcmp(opt.single, "none") && !im) {
		fprintf(stderr, "hostbench: no implementation named %s\n", opt.single);
		return 2;
	}
	seen = calloc(1, sizeof(*seen));
	if (!seen) {
		fprintf(stderr, "hostbench: out of memory\n");
		return 2;
	}
	if (!im) {
		rc = run_none(&cfg, seen) ? 1 : 0;
	} else if (!(ring = im->create(&cfg))) {
		fprintf(stderr, "hostbench: %s: ring setup failed\n", im->name);
	} else {
		rc = im->single(ring, cfg.records, cfg.batch, seen) ||
		     hb_verify(im->name, &cfg, &seen, 1, &cfg.records);
		im->destroy(ring);
	}
	free(seen);
	return rc;
}

static void usage(void)
{
	fprintf(stderr, "usage: hostbench [-m PxC,...] [-s SIZES] [-M single,batch] [-r REPS]\n"
			"                 [-n RECORDS] [-R RING_BYTES] [-o DIR] [-q] [-v] [-l]\n"
			"       hostbench -1 IMPL [-n RECORDS] [-s SIZE] [-b]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	char cmdline[1024] = "", sizes_q[] = "64,1024";
	unsigned int m, s, md, rep, i, done = 0, total;
	size_t len = 0;
	int ch;

	for (i = 0; i < (unsigned int)argc; i++)
		for (const char *p = argv[i]; *p && len < sizeof(cmdline) - 3; p++) {
			if (*p == '"' || *p == '\\')
				cmdline[len++] = '\\';
			cmdline[len++] = *p;
			if (!p[1] && i + 1 < (unsigned int)argc)
				cmdline[len++] = ' ';
		}
	while ((ch = getopt(argc, argv, "m:s:M:r:n:R:o:qvl1:b")) != -1) {
		switch (ch) {
		case 'm':
			if (parse_mixes(optarg))
				usage();
			break;
		case 's':
			if (parse_sizes(optarg))
				usage();
			break;
		case 'M':
			opt.modes[0] = strstr(optarg, "single") != NULL;
			opt.modes[1] = strstr(optarg, "batch") != NULL;
			break;
		case 'r':
			opt.reps = atoi(optarg);
			break;
		case 'n':
			opt.records = strtoull(optarg, NULL, 0);
			break;
		case 'R':
			opt.ring_bytes = strtoull(optarg, NULL, 0);
			break;
		case 'o':
			opt.out = optarg;
			break;
		case 'q':
			opt.quick = true;
			break;
		case 'v':
			opt.verbose = true;
			break;
		case 'l':
			opt.no_limits = true;
			break;
		case '1':
			opt.single = optarg;
			break;
		case 'b':
			opt.single_batch = true;
			break;
		default:
			usage();
		}
	}
	if (opt.ring_bytes < 65536 || (opt.ring_bytes & (opt.ring_bytes - 1)) || !opt.reps ||
	    opt.reps > 100)
		usage();
	if (opt.single)
		return run_single();

	if (!opt.nmix)
		default_mixes();
	if (!opt.nsizes) {
		if (opt.quick) {
			parse_sizes(sizes_q);
		} else {
			static const uint32_t all[] = { 16, 64, 256, 1024, 4096 };

			memcpy(opt.sizes, all, sizeof(all));
			opt.nsizes = 5;
		}
	}
	if (!opt.modes[0] && !opt.modes[1])
		opt.modes[0] = opt.modes[1] = true;
	if (opt.quick && opt.reps == 7)
		opt.reps = 3;

	if (mkdir(opt.out, 0755) && errno != EEXIST) {
		fprintf(stderr, "hostbench: cannot create %s: %s\n", opt.out, strerror(errno));
		return 2;
	}
	total = opt.nmix * opt.nsizes * (opt.modes[0] + opt.modes[1]);
	fprintf(stderr,
		"hostbench: %u configurations x %u repetitions x %zu implementations, %u CPUs, ring %llu bytes\n",
		total, opt.reps, NIMPLS, hb_ncpus(), (unsigned long long)opt.ring_bytes);
	for (m = 0; m < opt.nmix; m++)
		for (s = 0; s < opt.nsizes; s++)
			for (md = 0; md < 2; md++) {
				struct hb_cfg cfg = {
					.producers = opt.np[m],
					.consumers = opt.nc[m],
					.size = opt.sizes[s],
					.batch = md,
					.records = records_for(opt.sizes[s]),
					.ring_bytes = opt.ring_bytes,
				};

				if (!opt.modes[md])
					continue;
				if (cfg.ring_bytes / cfg.size < 2 * HB_BATCH)
					usage();
				for (rep = 0; rep < opt.reps; rep++)
					for (i = 0; i < NIMPLS; i++) {
						struct hb_result r;

						hb_run_once(impls[(i + rep) % NIMPLS], &cfg, rep,
							    &r);
						hb_report_add(&r);
						if (opt.verbose)
							fprintf(stderr,
								"  %-8s rep %u: %.3f s, %.2f Mrec/s, %llu full, %llu empty tries\n",
								r.impl, rep, r.seconds,
								r.rate / 1e6,
								(unsigned long long)r.full_tries,
								(unsigned long long)r.empty_tries);
					}
				hb_report_config_line(impls, NIMPLS, &cfg, ++done, total);
			}
	hb_report_write(opt.out, impls, NIMPLS, cmdline);
	if (!opt.no_limits)
		hb_limits(opt.out, opt.np, opt.nmix, opt.sizes, opt.nsizes, opt.quick);
	return 0;
}
