// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring bench: its options, checked before anything is loaded.
 */
#include <getopt.h>

#include "bench.h"

static const char bench_usage[] =
	"Usage: mpmcring bench [--threads N] [--hrtimer] [--softirq] [--nmi]\n"
	"                      [--size BYTES] [--len-min B] [--len-max B] [--count N]\n"
	"                      [--consumers N] [--batch N] [--module PATH]\n\n"
	"Loads the load generator (mpmcring_loadgen.ko) with a new ring, " BENCH_DEV ",\n"
	"consumes it from N threads while the kernel produces, then unloads it and\n"
	"prints produced, consumed and dropped records and the throughput.\n"
	"Needs root, the mpmcring module loaded and debugfs mounted.\n\n"
	"  --threads N      kthread producers, one per CPU in turn\n"
	"                   (default: one per online CPU)\n"
	"  --hrtimer        add an hrtimer (hardirq) producer per CPU\n"
	"  --softirq        add a timer (softirq) producer per CPU\n"
	"  --nmi            add an NMI producer per CPU (x86)\n"
	"  --size BYTES     ring size, a power of two, 4K to 1G; K, M, G\n"
	"                   suffixes (default 1M)\n"
	"  --len-min B      smallest payload, at least 24 (default 24)\n"
	"  --len-max B      largest payload (default 256)\n"
	"  --count N        records each producer attempts (default 100000;\n"
	"                   0: until interrupted)\n"
	"  --consumers N    consumer threads, 1 to 62 (default 1)\n"
	"  --batch N        records a consumer claims at a time (default 64)\n"
	"  --module PATH    the load generator module (default: mpmcring_loadgen.ko\n"
	"                   in $MPMCRING_MODDIR, else /lib/modules/$(uname -r)/\n"
	"                   updates/dkms, updates, extra)\n"
	"  -h, --help       this help\n\n"
	"Progress goes to stderr once a second, the summary to stdout. Ctrl-C stops\n"
	"the producers early; the summary still follows.\n"
	"Exit status: 0 success, 1 runtime error, 2 usage error.\n";

static bool bench_opt_u64(const char *name, const char *arg, bool suffixes, uint64_t min,
			  uint64_t max, uint64_t *v)
{
	if (parse_u64(arg, suffixes, v) && *v >= min && *v <= max)
		return true;
	cli_usage("bench", "--%s %s: want %llu to %llu", name, arg, (unsigned long long)min,
		  (unsigned long long)max);
	return false;
}

int bench_parse(int argc, char **argv, struct bench_opts *o)
{
	static const struct option opts[] = {
		{ "threads", required_argument, NULL, 'T' },
		{ "hrtimer", no_argument, NULL, 'H' },
		{ "softirq", no_argument, NULL, 'S' },
		{ "nmi", no_argument, NULL, 'N' },
		{ "size", required_argument, NULL, 's' },
		{ "len-min", required_argument, NULL, 'l' },
		{ "len-max", required_argument, NULL, 'L' },
		{ "count", required_argument, NULL, 'c' },
		{ "consumers", required_argument, NULL, 'C' },
		{ "batch", required_argument, NULL, 'b' },
		{ "module", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	argv[0] = "mpmcring bench";
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		bool ok = true;

		switch (c) {
		case 'T':
			ok = bench_opt_u64("threads", optarg, false, 0, 4096, &o->threads);
			break;
		case 'H':
			o->hrtimer = true;
			break;
		case 'S':
			o->softirq = true;
			break;
		case 'N':
			o->nmi = true;
			break;
		case 's':
			ok = bench_opt_u64("size", optarg, true, 4096, 1ULL << 30, &o->size);
			if (ok && (o->size & (o->size - 1)))
				return cli_usage("bench", "--size %s: must be a power of two",
						 optarg);
			break;
		case 'l':
			ok = bench_opt_u64("len-min", optarg, true, 24, UINT32_MAX, &o->len_min);
			break;
		case 'L':
			ok = bench_opt_u64("len-max", optarg, true, 24, UINT32_MAX, &o->len_max);
			break;
		case 'c':
			ok = bench_opt_u64("count", optarg, false, 0, UINT64_MAX >> 1, &o->count);
			break;
		case 'C':
			ok = bench_opt_u64("consumers", optarg, false, 1, BENCH_MAX_CONSUMERS,
					   &o->consumers);
			break;
		case 'b':
			ok = bench_opt_u64("batch", optarg, false, 1, 65536, &o->batch);
			break;
		case 'm':
			o->module = optarg;
			break;
		case 'h':
			fputs(bench_usage, stdout);
			return -1;
		default:
			return cli_try_help("bench", opts, argv);
		}
		if (!ok)
			return CLI_USAGE;
	}
	if (optind < argc)
		return cli_usage("bench",
				 "unexpected argument '%s' (bench always uses " BENCH_DEV ")",
				 argv[optind]);
	/* Either one alone against the other's default (the module's 24, 256). */
	if ((o->len_min ? o->len_min : 24) > (o->len_max ? o->len_max : 256))
		return cli_usage("bench", "--len-min %llu is above --len-max %llu%s",
				 (unsigned long long)(o->len_min ? o->len_min : 24),
				 (unsigned long long)(o->len_max ? o->len_max : 256),
				 o->len_max ? "" : " (its default: give --len-max too)");
	if (!o->threads && !o->hrtimer && !o->softirq && !o->nmi)
		return cli_usage("bench",
				 "no producers: --threads 0 needs --hrtimer, --softirq or --nmi");
	return 0;
}
