// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring list: every ring on this machine (the /dev/mpmcring* device
 * files), with its size, mode, fill level and the consumers attached to it,
 * as bpftool map list does for BPF maps. Opens each ring read-only: it
 * consumes nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char list_usage[] =
	"Usage: mpmcring list [--json]\n\n"
	"Lists the rings here (/dev/mpmcring*): name, device, size, mode, fill\n"
	"level, records dropped, and the consumers attached with their pids.\n"
	"Opens each ring read-only: it consumes nothing.\n\n"
	"  -j, --json   one JSON array of objects:\n"
	"               [{\"name\":..,\"device\":..,\"size\":N,\"mode\":\"drop\",\n"
	"                 \"max_record\":N,\"fill_percent\":F,\"produced\":N,\"dropped\":N,\n"
	"                 \"consumers\":[{\"slot\":N,\"pid\":N,\"holding\":B}]}]\n"
	"               (a ring that cannot be opened: {\"name\":..,\"device\":..,\"error\":..})\n"
	"  -h, --help   this help\n\n"
	"Exit status: 0 success (also with no rings), 1 runtime error, 2 usage error.\n";

#define LIST_MAX_CONSUMERS 1022

static int list_filter(const struct dirent *e)
{
	return !strcmp(e->d_name, "mpmcring") || !strncmp(e->d_name, "mpmcring-", 9);
}

static uint64_t list_dropped(const struct mpmcring_stats *st)
{
	uint64_t n = 0;
	int i, j;

	for (i = 0; i < MPMCRING_NR_DROP; i++)
		for (j = 0; j < MPMCRING_NR_PRIO; j++)
			n += st->dropped[i][j];
	return n;
}

/*
 * One ring: a JSON object or a text line; false if it could not be read,
 * but for one that went away since /dev was read (ENOENT, ENODEV: no
 * ring behind the name any more), which is churn, not a failure.
 */
static bool list_ring(const char *name, const char *dev, bool json, bool first,
		      struct mpmcring_consumer_info *info)
{
	const char *ringname = name[8] ? name + 9 : "default";
	const struct mpmcring_layout *l;
	struct mpmcring_stats st;
	struct mpmcring *r;
	char h[32];
	int i, n;

	r = mpmcring_open(dev, MPMCRING_OPEN_RDONLY);
	n = r && !mpmcring_get_stats(r, &st) ? mpmcring_list_consumers(r, info, LIST_MAX_CONSUMERS)
					     : -1;
	if (n < 0) {
		bool gone = errno == ENOENT || errno == ENODEV;
		const char *msg = mpmcring_errmsg();

		if (json) {
			fputs(first ? "" : ",", stdout);
			fputs("{\"name\":", stdout);
			out_json_string(stdout, ringname);
			fputs(",\"device\":", stdout);
			out_json_string(stdout, dev);
			fputs(",\"error\":", stdout);
			out_json_string(stdout, msg);
			fputc('}', stdout);
		} else {
			printf("%-12s %-24s error: %s\n", ringname, dev, msg);
		}
		mpmcring_close(r);
		return gone;
	}
	l = mpmcring_get_layout(r);
	if (json) {
		fputs(first ? "" : ",", stdout);
		fputs("{\"name\":", stdout);
		out_json_string(stdout, ringname);
		fputs(",\"device\":", stdout);
		out_json_string(stdout, dev);
		printf(",\"size\":%llu,\"mode\":\"%s\",\"max_record\":%u,\"max_consumers\":%u,"
		       "\"fill_percent\":%.2f,\"produced\":%llu,\"dropped\":%llu,"
		       "\"overwritten\":%llu,\"consumers\":[",
		       (unsigned long long)l->data_size, mode_name(l->mode), l->max_record,
		       l->max_consumers, 100.0 * mpmcring_avail_bytes(r) / l->data_size,
		       (unsigned long long)st.produced_records,
		       (unsigned long long)list_dropped(&st),
		       (unsigned long long)st.overwritten_records);
		for (i = 0; i < n; i++)
			printf("%s{\"slot\":%u,\"pid\":%u,\"holding\":%s,\"read\":%s}",
			       i ? "," : "", info[i].slot, info[i].pid,
			       info[i].start & MPMCRING_SLOT_IDLE ? "false" : "true",
			       info[i].flags & MPMCRING_SLOTF_READ ? "true" : "false");
		fputs("]}", stdout);
	} else {
		printf("%-12s %-24s %10s  %-9s %5.1f%% %10llu  %d", ringname, dev,
		       human_bytes(l->data_size, h, sizeof(h)), mode_name(l->mode),
		       100.0 * mpmcring_avail_bytes(r) / l->data_size,
		       (unsigned long long)list_dropped(&st), n);
		for (i = 0; i < n; i++)
			printf("%s%u", i ? "," : " (pid ", info[i].pid);
		fputs(n ? ")\n" : "\n", stdout);
	}
	mpmcring_close(r);
	return true;
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mpmcring_consumer_info *info;
	struct dirent **names;
	bool json = false;
	int c, i, n, failed = 0, out_err = 0;

	argv[0] = "mpmcring list";
	signal(SIGPIPE, SIG_IGN); /* a closed pipe is told by errno, below */
	while ((c = getopt_long(argc, argv, "hj", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(list_usage, stdout);
			return CLI_OK;
		default:
			return cli_try_help("list", opts, argv);
		}
	}
	if (optind < argc)
		return cli_usage("list", "no arguments, please (got '%s')", argv[optind]);
	n = scandir("/dev", &names, list_filter, alphasort);
	if (n < 0)
		return cli_error("list", "/dev: %s", strerror(errno));
	info = calloc(LIST_MAX_CONSUMERS, sizeof(*info));
	if (!info)
		return cli_error("list", "out of memory");
	if (json)
		putchar('[');
	else if (n)
		printf("%-12s %-24s %10s  %-9s %6s %10s  %s\n", "RING", "DEVICE", "SIZE", "MODE",
		       "FILL", "DROPPED", "CONSUMERS");
	else
		fprintf(stderr,
			"no /dev/mpmcring* here: is the module loaded? modprobe mpmcring\n");
	for (i = 0; i < n; i++) {
		char dev[300];

		snprintf(dev, sizeof(dev), "/dev/%s", names[i]->d_name);
		if (!out_err)
			failed += !list_ring(names[i]->d_name, dev, json, i == 0, info);
		/* Each ring's errno is the flush's own: later calls change it. */
		if (!out_err && fflush(stdout))
			out_err = errno;
		free(names[i]);
	}
	free(names);
	free(info);
	if (json && !out_err)
		puts("]");
	if (!out_err && fflush(stdout))
		out_err = errno;
	/* A closed pipe (list | head) is the reader's choice, as for stat. */
	if (out_err && out_err != EPIPE)
		return cli_error("list", "writing the output: %s", strerror(out_err));
	/* Listed with their errors: a script must not take them for fine. */
	return failed ? CLI_ERROR : CLI_OK;
}
