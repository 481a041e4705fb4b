// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring(1): look at rings, read them, benchmark them. This file only
 * picks the subcommand; each one lives in its own file.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *what;
} cli_cmds[] = {
	{ "stat", cmd_stat, "layout, fill level and counters of a ring" },
	{ "cat", cmd_cat, "consume records and print them (text, hex, JSON)" },
	{ "list", cmd_list, "the rings here: size, mode, fill, consumers and their pids" },
	{ "bench", cmd_bench, "load the load generator and measure a ring (root)" },
};

static void cli_help(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: %s COMMAND [RING] [OPTIONS]\n"
		"       %s COMMAND --help\n\n"
		"Shared multi-producer multi-consumer record rings (/dev/mpmcring*).\n\n"
		"Commands:\n",
		CLI_NAME, CLI_NAME);
	for (i = 0; i < sizeof(cli_cmds) / sizeof(cli_cmds[0]); i++)
		fprintf(f, "  %-7s %s\n", cli_cmds[i].name, cli_cmds[i].what);
	fprintf(f, "\nRING: omitted or \"default\" is /dev/mpmcring, a bare NAME is\n"
		   "/dev/mpmcring-NAME, anything with a slash is a path.\n\n"
		   "Exit status: 0 success, 1 runtime error, 2 usage error,\n"
		   "3 ring not found.\n\n"
		   "Options:\n"
		   "  -h, --help     this help\n"
		   "  -V, --version  the version\n\n"
		   "See mpmcring(1), libmpmcring(3), mpmcring(4).\n");
}

/*
 * Whether a bundle of short options ("-j", "-jf", "-fj") holds -j. The
 * letters that take a value (-n 5, -b 64, -i 1, -c 2, -w) end the scan:
 * the rest of the bundle is that value ("-n5j" has no -j).
 */
static bool cli_bundle_has_j(const char *a)
{
	if (a[0] != '-' || a[1] == '-')
		return false;
	for (a++; *a && !strchr("nbicw", *a); a++)
		if (*a == 'j')
			return true;
	return false;
}

/*
 * Whether a is --json as getopt_long() takes it: any unambiguous prefix
 * ("--js"), which it accepts as the whole option name.
 */
static bool cli_long_json(const char *a)
{
	size_t n = strlen(a);

	return n >= 3 && !strncmp(a, "--json", n);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;
	size_t i;

	if (!cmd) {
		cli_help(stderr);
		return CLI_USAGE;
	}
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		cli_help(stdout);
		return CLI_OK;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("%s %s (ABI %u.%u)\n", CLI_NAME, CLI_VERSION,
		       (unsigned int)MPMCRING_ABI_MAJOR, (unsigned int)MPMCRING_ABI_MINOR);
		return CLI_OK;
	}
	/* Known before any option is parsed, so that every error is JSON. */
	for (i = 2; i < (size_t)argc && strcmp(argv[i], "--"); i++)
		if (cli_long_json(argv[i]) || cli_bundle_has_j(argv[i]))
			cli_json = true;
	if (cli_json)
		opterr = 0; /* getopt's own messages would be text */
	for (i = 0; i < sizeof(cli_cmds) / sizeof(cli_cmds[0]); i++)
		if (!strcmp(cmd, cli_cmds[i].name))
			return cli_cmds[i].fn(argc - 1, argv + 1);
	/* With --json too on standard output, as every other error. */
	if (cli_json)
		return cli_fail(NULL, CLI_USAGE, "unknown %s '%s': see '%s --help'",
				cmd[0] == '-' ? "option" : "command", cmd, CLI_NAME);
	if (cmd[0] == '-')
		fprintf(stderr, "%s: unknown option '%s'\n", CLI_NAME, cmd);
	else
		fprintf(stderr, "%s: unknown command '%s'\n", CLI_NAME, cmd);
	fprintf(stderr, "Try '%s --help'.\n", CLI_NAME);
	return CLI_USAGE;
}
