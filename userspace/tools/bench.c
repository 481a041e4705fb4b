// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring bench: loads the load generator with a fresh ring, consumes it
 * from N threads while kernel producers fill it, and prints what got
 * through, what was dropped and how fast. Unloads the module in every case.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "bench.h"

#define DEBUGFS_MAGIC_NR 0x64626720 /* linux/magic.h DEBUGFS_MAGIC */

/* What must hold before anything is loaded; says how to fix it. */
static int bench_preflight(void)
{
	struct statfs sfs;

	if (geteuid() != 0)
		return cli_error(
			"bench",
			"needs root: it loads the %s module (try: sudo mpmcring bench ...)",
			LG_NAME);
	if (statfs(DEBUGFS_DIR, &sfs) || sfs.f_type != DEBUGFS_MAGIC_NR)
		return cli_error("bench", "debugfs is not mounted on %s: mount -t debugfs none %s",
				 DEBUGFS_DIR, DEBUGFS_DIR);
	if (access("/sys/module/mpmcring", F_OK))
		return cli_error(
			"bench",
			"the mpmcring module is not loaded: modprobe mpmcring (or insmod mpmcring.ko)");
	if (!access("/sys/module/" LG_NAME, F_OK))
		return cli_error("bench",
				 "%s is loaded already (another bench or a test?): rmmod %s",
				 LG_NAME, LG_NAME);
	return 0;
}

static int bench_load(const struct bench_opts *o)
{
	char path[1024], looked[2048], params[512];
	int n, err;

	if (o->module) {
		snprintf(path, sizeof(path), "%s", o->module);
	} else if (lg_find(path, sizeof(path), looked, sizeof(looked))) {
		cli_error("bench", "%s.ko not found in %s", LG_NAME, looked);
		fprintf(stderr,
			"give its path with --module PATH or its directory in MPMCRING_MODDIR\n"
			"(DKMS installs it with mpmcring; a build tree has it next to mpmcring.ko)\n");
		return CLI_ERROR;
	}
	if (access(path, R_OK))
		return cli_error("bench", "%s: %s", path, strerror(errno));
	n = snprintf(params, sizeof(params), "ring=%s create=1 size=%llu autostart=0 count=%llu",
		     BENCH_RING, (unsigned long long)o->size, (unsigned long long)o->count);
	if (o->threads != UINT64_MAX)
		n += snprintf(params + n, sizeof(params) - n, " threads=%llu",
			      (unsigned long long)o->threads);
	if (o->len_min)
		n += snprintf(params + n, sizeof(params) - n, " len_min=%llu",
			      (unsigned long long)o->len_min);
	if (o->len_max)
		n += snprintf(params + n, sizeof(params) - n, " len_max=%llu",
			      (unsigned long long)o->len_max);
	snprintf(params + n, sizeof(params) - n, "%s%s%s", o->hrtimer ? " hrtimer=1" : "",
		 o->softirq ? " softirq=1" : "", o->nmi ? " nmi=1" : "");
	err = lg_load(path, params);
	switch (-err) {
	case 0:
		return 0;
	case ENOENT:
		return cli_error(
			"bench",
			"%s: unknown symbols: is the mpmcring module loaded the matching build? see dmesg",
			path);
	case EEXIST:
		return cli_error("bench",
				 "%s: a ring named '%s' or the module exists already (rmmod %s)",
				 path, BENCH_RING, LG_NAME);
	case EINVAL:
		return cli_error("bench",
				 "%s: the load generator refused its parameters (%s): see dmesg",
				 path, params);
	case ENOEXEC:
		return cli_error(
			"bench",
			"%s: not a module for this kernel (built for another one?): see dmesg",
			path);
	default:
		return cli_error("bench", "loading %s: %s: see dmesg", path, strerror(-err));
	}
}

/* The ring's device appears with the module; udev may take a moment. */
static struct mpmcring *bench_open(int *code)
{
	struct mpmcring *r;
	int i;

	for (i = 0; i < 50; i++) {
		r = mpmcring_open(BENCH_DEV, 0);
		if (r || errno != ENOENT)
			break;
		sleep_s(0.1);
	}
	if (!r) {
		*code = cli_error("bench", "%s", mpmcring_errmsg());
		return NULL;
	}
	return r;
}

int cmd_bench(int argc, char **argv)
{
	struct bench_opts o = {
		.threads = UINT64_MAX,
		.size = 1 << 20,
		.count = 100000,
		.consumers = 1,
		.batch = 64,
	};
	struct bench_result res = { 0 };
	struct mpmcring *r;
	int code, err;

	code = bench_parse(argc, argv, &o);
	if (code)
		return code < 0 ? CLI_OK : code;
	code = bench_preflight();
	if (code)
		return code;
	cli_signals(false); /* it must unload the module it loaded */
	code = bench_load(&o);
	if (code)
		return code;
	r = bench_open(&code);
	if (r) {
		code = bench_run(&o, r, &res);
		mpmcring_close(r);
	}
	err = lg_unload();
	if (err)
		code = cli_error("bench", "unloading %s: %s (rmmod %s)", LG_NAME, strerror(-err),
				 LG_NAME);
	else if (code == CLI_OK)
		bench_summary(&o, &res);
	/*
	 * The summary is the result: a failed write of it is an error. Its
	 * lines are written after the last flush (the progress goes to
	 * stderr), so the flush's errno is theirs.
	 */
	if (code == CLI_OK && fflush(stdout) && errno != EPIPE)
		code = cli_error("bench", "writing the output: %s", strerror(errno));
	return code;
}
