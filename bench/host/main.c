// SPDX-License-Identifier: GPL-2.0-only
/*
 * hostbench: throughput of mpmcring (hostring producers + library consumers)
 * against the rings users run today, interleaved round by round.
 *
 *   hostbench [-m MIXES] [-s SIZES] [-M single,batch] [-r ROUNDS] [-i IMPLS]
 *             [-w WARM_MS] [-t RUN_MS] [-e IDLE_NS] [-W BUSY_PCT [-X WAIT_S]]
 *             [-R RING_BYTES] [-C]
 *             [-o DIR] [-q] [-l]
 *   hostbench -1 IMPL [-n RECORDS] [-s SIZE] [-b]
 *   hostbench -I [-i IMPLS] [-n RECORDS] [-s SIZE]      (under callgrind)
 *
 * MIXES is a list of PxC (default: see plan.c; -q: 1x1,2x2). Every
 * configuration gets ROUNDS rounds; in each round every implementation runs
 * once, in an order that changes with the round (order.c: over a block of
 * rounds, every place and every neighbour equally often; the default
 * rounds are whole blocks, and -r says so when its count is not). The rounds go in
 * sweeps, each its own process (this program again, with -k r): round r of
 * every configuration, then round r + 1 of every one. What holds for a
 * process and moves the rings' rates unequally is then drawn anew in each
 * round: most likely the physical lines the rings' shared words land on
 * (on the Intel Xeon of bench/RESULTS.md, "Each line its own transfer
 * cost", a line passes between two cores at a cost of its own, and a
 * ring's rate follows its lines' in part), and states of the machine that
 * last a while. Hence many short rounds by default (42 of 15 + 35 ms), so
 * a configuration's median is over 42 such draws. -C runs every round of
 * a configuration in a row in one process, configuration after
 * configuration (the order before 2026-12-06). -k is the sweeps' own
 * option. A run is a fixed time: WARM_MS unmeasured, then RUN_MS
 * measured (run.c). A consumer that finds nothing waits IDLE_NS before
 * it looks again (bench.h, hb_idle(); default HB_IDLE_NS, 0: spin with
 * exponential backoff). -W: before each round, wait until the rest of the
 * machine uses at most BUSY_PCT percent of it (machine.c): WAIT_S seconds
 * (default 60) shared equally by the rounds of a sweep (with -C: of a
 * configuration), each round's share at least one look. Rows go to
 * DIR/runs.csv as runs end (out.c); bench/report/ computes the medians,
 * spreads and ratios. Afterwards the machine's limits (limits.c) and the
 * reservation rate of 1, 2, 4 ... producers (scale.c); -l skips both.
 *
 * -1 runs IMPL on one thread, each record produced then consumed (-b: 32 at
 * a time, consumed in batches); IMPL "none" does only the benchmark's own
 * work on each record. -I counts the instructions per record of
 * each implementation under callgrind (ipr.c).
 *
 * Exit status: 0, 1 when a record was lost, duplicated or damaged, 2 on a
 * setup failure.
 */
#include <getopt.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "order.h"

static struct {
	struct hb_plan plan;
	unsigned int warm_ms, run_ms;
	unsigned int idle_ns;		      /* -e */
	unsigned int quiet_pct, quiet_wait_s; /* -W, -X */
	uint64_t records;		      /* -1, -I */
	uint64_t ring_bytes;
	const char *out;
	bool quick, no_limits;
	bool in_a_row; /* -C */
	int sweep;     /* -k: this process runs that sweep only; -1: all */
	const char *single;
	bool single_batch, ipr;
	char *impls;
} opt = {
	.ring_bytes = 1 << 20,
	.idle_ns = HB_IDLE_NS,
	.sweep = -1,
	.out = "results",
};

/* One thread: the setup, then n records through the ring. */
static int run_single(void)
{
	const struct hb_impl *im = hb_impl_named(opt.single);
	struct hb_cfg cfg = {
		.producers = 1,
		.consumers = 1,
		.size = opt.plan.nsizes ? opt.plan.sizes[0] : 64,
		.batch = opt.single_batch,
		.ring_bytes = opt.ring_bytes,
	};
	uint64_t n = opt.records ? opt.records : 100000;
	struct hb_seen *seen;
	void *ring;
	int rc = 2;

	seen = calloc(1, sizeof(*seen));
	if (seen && !strcmp(opt.single, "none")) {
		/* The baseline: the records' own work, no ring. */
		hb_none_loop(cfg.size, n, seen);
		rc = hb_verify("none", 1, &seen, 1, &n) ? 1 : 0;
		free(seen);
		return rc;
	}
	if (!im) {
		fprintf(stderr, "hostbench: no implementation named %s\n", opt.single);
		free(seen);
		return 2;
	}
	if (!seen || !(ring = im->create(&cfg))) {
		fprintf(stderr, "hostbench: %s: ring setup failed\n", im->name);
		free(seen);
		return 2;
	}
	rc = im->single(ring, n, cfg.batch, seen) || hb_verify(im->name, 1, &seen, 1, &n);
	im->destroy(ring);
	free(seen);
	return rc;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: hostbench [-m PxC,...] [-s SIZES] [-M single,batch] [-r ROUNDS] [-i IMPLS]\n"
		"                 [-w WARM_MS] [-t RUN_MS] [-e IDLE_NS] [-W BUSY_PCT [-X WAIT_S]]\n"
		"                 [-R RING_BYTES] [-C]\n"
		"                 [-o DIR] [-q] [-l]\n"
		"       hostbench -1 IMPL [-n RECORDS] [-s SIZE] [-b]\n"
		"       hostbench -I [-i IMPLS] [-n RECORDS] [-s SIZE]   (under valgrind --tool=callgrind)\n");
	exit(2);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The progress line of a configuration (stderr): medians only. */
static void progress(const struct hb_cfg *cfg, const struct hb_result *res, unsigned int n,
		     unsigned int done, unsigned int total)
{
	const struct hb_plan *p = &opt.plan;
	unsigned int i, k, m;
	double v[128];

	fprintf(stderr, "[%3u/%u] %3uP%uC %5uB %-6s", done, total, cfg->producers, cfg->consumers,
		cfg->size, cfg->batch ? "batch" : "single");
	for (i = 0; i < p->nimpls; i++) {
		for (k = 0, m = 0; k < n && m < 128; k++)
			if (res[k].impl == p->impls[i]->name)
				v[m++] = res[k].rate;
		qsort(v, m, sizeof(*v), cmp_double);
		fprintf(stderr, " %s %.2f", p->impls[i]->name,
			m ? (m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2) / 1e6 : 0.0);
	}
	/* The rounds' line transfer: whether the vCPUs' placement moved. */
	for (k = 0, m = 0; k < n && m < 128; k += p->nimpls)
		v[m++] = res[k].noise.transfer_ns;
	qsort(v, m, sizeof(*v), cmp_double);
	fprintf(stderr, " Mrec/s (load %.1f, line %.0f ns)\n", hb_loadavg1(),
		m ? (m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2) : 0.0);
}

/* Each round's share of WAIT_S: set per sweep (-C: per configuration). */
static double quiet_share;
static bool said_busy;

/* Round r of one configuration: every implementation once; res gets them. */
static void run_round(const struct hb_cfg *cfg, unsigned int r, struct hb_result *res)
{
	const struct hb_plan *p = &opt.plan;
	unsigned int slot;
	double xfer;

	/*
	 * Each look twice one run, within 100-500 ms: make bench's 42 rounds
	 * of 40 configurations made half-second looks 14 minutes of a run.
	 * Each round waits its equal share of WAIT_S: 60 s a round was 28
	 * hours of a busy machine's make bench, and one budget spent first
	 * come would leave the same late configurations unchecked in every
	 * sweep. other_busy (runs.csv) says how busy a round's run found it.
	 */
	if (opt.quiet_pct) {
		unsigned int window = opt.run_ms * 2;

		window = window < 100 ? 100 : window > 500 ? 500 : window;
		if (hb_wait_quiet(opt.quiet_pct / 100.0, quiet_share, window) >
			    opt.quiet_pct / 100.0 &&
		    !said_busy) {
			fprintf(stderr,
				"hostbench: the rest of the machine stayed above %u%% busy for a round's %.1f s of waiting (-X %u shared by the rounds): rounds go on; runs.csv's other_busy says how busy each found it\n",
				opt.quiet_pct, quiet_share, opt.quiet_wait_s);
			said_busy = true;
		}
	}
	xfer = hb_transfer_ns();
	for (slot = 0; slot < p->nimpls; slot++) {
		hb_run_once(hb_plan_order(p, r, slot), cfg, r, slot, &res[slot]);
		res[slot].noise.transfer_ns = xfer;
		hb_out_run(&res[slot]);
	}
}

/* The plan's configurations, in the order they are run within a sweep. */
static unsigned int plan_cfgs(struct hb_cfg *cfgs)
{
	const struct hb_plan *p = &opt.plan;
	unsigned int m, s, md, n = 0;

	for (m = 0; m < p->nmix; m++)
		for (s = 0; s < p->nsizes; s++)
			for (md = 0; md < 2; md++) {
				if (!p->modes[md])
					continue;
				cfgs[n] = (struct hb_cfg){
					.producers = p->np[m],
					.consumers = p->nc[m],
					.size = p->sizes[s],
					.batch = md,
					.ring_bytes = opt.ring_bytes,
					.warm_ms = opt.warm_ms,
					.run_ms = opt.run_ms,
					.idle_ns = opt.idle_ns,
				};
				if (cfgs[n].ring_bytes / cfgs[n].size < 4 * HB_BATCH)
					usage();
				n++;
			}
	return n;
}

/*
 * The command line this process was started with, as the kernel keeps it:
 * a loader in front (scaling.sh runs the bundled ld.so with its library
 * path, and /proc/self/exe is then the loader) included. Read before the
 * options are parsed: parsing cuts lists in place, in that same memory.
 * argv gets at most max - 3 words, room left for -k r and NULL.
 */
static unsigned int own_cmdline(char *buf, size_t size, char **argv, unsigned int max)
{
	FILE *f = fopen("/proc/self/cmdline", "r");
	size_t len = f ? fread(buf, 1, size, f) : 0, i;
	unsigned int n = 0;

	if (f)
		fclose(f);
	if (!len || len == size || buf[len - 1]) {
		fprintf(stderr, "hostbench: cannot read this process's command line\n");
		exit(2);
	}
	for (i = 0; i < len; i += strlen(buf + i) + 1) {
		if (n == max - 3) {
			fprintf(stderr, "hostbench: a command line of more than %u words\n",
				max - 3);
			exit(2);
		}
		argv[n++] = buf + i;
	}
	return n;
}

static char sweep_cmd[16384], *sweep_argv[256];
static unsigned int sweep_argc;

/* Sweep r in a process of its own (fresh pages for its rings): -k r. */
static void run_sweep_process(unsigned int r)
{
	char arg[16], *argv[256];
	pid_t pid, parent = getpid();
	unsigned int n;
	int status;

	/* Options after the program's own: main() takes no other words. */
	for (n = 0; n < sweep_argc; n++)
		argv[n] = sweep_argv[n];
	snprintf(arg, sizeof(arg), "%u", r);
	argv[n++] = "-k";
	argv[n++] = arg;
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		/* A run cut short (timeout(1) stops this process) stops it too. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(2);
		execv("/proc/self/exe", argv);
		perror("hostbench: exec for a sweep");
		_exit(2);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		perror("hostbench: sweep");
		exit(2);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "hostbench: sweep %u failed (status %#x)\n", r + 1, status);
		exit(WIFEXITED(status) ? WEXITSTATUS(status) : 2);
	}
}

static void run_plan(const char *cmdline)
{
	const struct hb_plan *p = &opt.plan;
	unsigned int c, r, total, per = p->rounds * p->nimpls;
	struct hb_result *res;
	struct hb_cfg *cfgs;

	cfgs = calloc((size_t)p->nmix * p->nsizes * 2, sizeof(*cfgs));
	if (!cfgs)
		exit(2);
	total = plan_cfgs(cfgs);
	res = calloc((size_t)total * per, sizeof(*res));
	if (!res)
		exit(2);
	if (opt.sweep >= 0) {
		/* One sweep, in a process the run started (below). */
		r = opt.sweep;
		quiet_share = (double)opt.quiet_wait_s / total;
		hb_out_append(opt.out);
		fprintf(stderr,
			"hostbench: sweep %u/%u, a process of its own (the lines below: this round's rates)\n",
			r + 1, p->rounds);
		for (c = 0; c < total; c++) {
			run_round(&cfgs[c], r, &res[c * per]);
			progress(&cfgs[c], &res[c * per], p->nimpls, c + 1, total);
		}
		hb_out_close();
		free(res);
		free(cfgs);
		return;
	}
	hb_out_open(opt.out, cmdline, p, opt.quick, opt.idle_ns,
		    opt.in_a_row ? "in_a_row" : "sweeps");
	fprintf(stderr,
		"hostbench: %u configurations x %u rounds x %u implementations, %u + %u ms each, %u CPUs, ring %llu bytes, consumers wait %u ns when empty, rounds %s\n",
		total, p->rounds, p->nimpls, opt.warm_ms, opt.run_ms, hb_ncpus(),
		(unsigned long long)opt.ring_bytes, opt.idle_ns,
		opt.in_a_row ? "of a configuration in a row (-C)"
			     : "in sweeps over the configurations, a process each");
	if (opt.in_a_row) {
		quiet_share = (double)opt.quiet_wait_s / p->rounds;
		for (c = 0; c < total; c++) {
			for (r = 0; r < p->rounds; r++)
				run_round(&cfgs[c], r, &res[c * per + r * p->nimpls]);
			progress(&cfgs[c], &res[c * per], per, c + 1, total);
		}
	}
	/* The header is out before any sweep appends to the file. */
	hb_out_close();
	for (r = 0; !opt.in_a_row && r < p->rounds; r++)
		run_sweep_process(r);
	free(res);
	free(cfgs);
}

int main(int argc, char **argv)
{
	char cmdline[1024] = "", sizes_q[] = "64,1024", sizes_all[] = "16,64,256,1024,4096";
	size_t len = 0;
	unsigned int i, block;
	int ch;

	for (i = 0; i < (unsigned int)argc; i++)
		for (const char *p = argv[i]; *p && len < sizeof(cmdline) - 3; p++) {
			if (*p == '"' || *p == '\\')
				cmdline[len++] = '\\';
			cmdline[len++] = *p;
			if (!p[1] && i + 1 < (unsigned int)argc)
				cmdline[len++] = ' ';
		}
	sweep_argc = own_cmdline(sweep_cmd, sizeof(sweep_cmd), sweep_argv, 256);
	while ((ch = getopt(argc, argv, "m:s:M:r:i:w:t:e:W:X:n:R:o:qlCk:1:bI")) != -1) {
		switch (ch) {
		case 'm':
			if (hb_plan_parse_mixes(&opt.plan, optarg))
				usage();
			break;
		case 's':
			if (hb_plan_parse_sizes(&opt.plan, optarg))
				usage();
			break;
		case 'M':
			opt.plan.modes[0] = strstr(optarg, "single") != NULL;
			opt.plan.modes[1] = strstr(optarg, "batch") != NULL;
			break;
		case 'r':
			opt.plan.rounds = atoi(optarg);
			break;
		case 'i':
			opt.impls = optarg;
			break;
		case 'w':
			opt.warm_ms = atoi(optarg);
			break;
		case 't':
			opt.run_ms = atoi(optarg);
			break;
		case 'e': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*optarg < '0' || *optarg > '9' || *end || v > HB_IDLE_MAX_NS) {
				fprintf(stderr,
					"hostbench: -e %s: want nanoseconds, 0 to %u (a longer wait measures the wait and the ring's capacity, not the ring)\n",
					optarg, HB_IDLE_MAX_NS);
				exit(2);
			}
			opt.idle_ns = v;
			break;
		}
		case 'W':
			opt.quiet_pct = atoi(optarg);
			break;
		case 'X':
			opt.quiet_wait_s = atoi(optarg);
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
		case 'l':
			opt.no_limits = true;
			break;
		case 'C':
			opt.in_a_row = true;
			break;
		case 'k': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*optarg < '0' || *optarg > '9' || *end || v > 100)
				usage();
			opt.sweep = v;
			break;
		}
		case '1':
			opt.single = optarg;
			break;
		case 'b':
			opt.single_batch = true;
			break;
		case 'I':
			opt.ipr = true;
			break;
		default:
			usage();
		}
	}
	/* No other words: a sweep's -k goes after the options (own_cmdline). */
	if (optind < argc || opt.ring_bytes < 65536 || (opt.ring_bytes & (opt.ring_bytes - 1)) ||
	    opt.plan.rounds > 100 || hb_plan_parse_impls(&opt.plan, opt.impls))
		usage();

	if ((opt.single || opt.ipr) && opt.idle_ns)
		fprintf(stderr,
			"hostbench: -e has no effect with -1 or -I (one thread, no waits)\n");
	if (opt.single)
		return run_single();
	if (opt.ipr)
		return hb_ipr(&opt.plan, opt.plan.nsizes ? opt.plan.sizes[0] : 64,
			      opt.records ? opt.records : 50000);

	if (!opt.plan.nmix)
		hb_plan_default_mixes(&opt.plan, opt.quick);
	if (!opt.plan.nsizes && hb_plan_parse_sizes(&opt.plan, opt.quick ? sizes_q : sizes_all))
		usage();
	if (!opt.plan.modes[0] && !opt.plan.modes[1])
		opt.plan.modes[0] = opt.plan.modes[1] = true;
	block = hb_order_block(opt.plan.nimpls);
	/* 42 for the six implementations by default: 7 blocks. */
	if (!opt.plan.rounds)
		opt.plan.rounds = opt.quick ? block : (42 + block - 1) / block * block;
	if (opt.plan.rounds % block && opt.sweep < 0)
		fprintf(stderr,
			"hostbench: note: %u rounds are not a whole number of blocks of %u (order.c): some implementations run at some places, or after some others, more often\n",
			opt.plan.rounds, block);
	if (opt.sweep >= (int)opt.plan.rounds || (opt.sweep >= 0 && opt.in_a_row))
		usage();
	if (!opt.warm_ms)
		opt.warm_ms = opt.quick ? 20 : 15;
	if (!opt.run_ms)
		opt.run_ms = opt.quick ? 80 : 35;
	if (!opt.quiet_wait_s)
		opt.quiet_wait_s = 60;

	if (mkdir(opt.out, 0755) && errno != EEXIST) {
		fprintf(stderr, "hostbench: cannot create %s: %s\n", opt.out, strerror(errno));
		return 2;
	}
	run_plan(cmdline);
	if (!opt.no_limits && opt.sweep < 0) {
		hb_limits(opt.out, opt.quick);
		hb_scale(opt.out, opt.quick);
	}
	return 0;
}
