// SPDX-License-Identifier: GPL-2.0-only
/*
 * What every subcommand needs: the RING argument, opening a ring with
 * messages that say what to do, usage errors, signals, numbers and time.
 */
#include <ctype.h>
#include <dirent.h>
#include <getopt.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

volatile sig_atomic_t cli_stop;
bool cli_json;

int ring_path(const char *arg, char *buf, size_t len)
{
	int n;

	if (!arg || !strcmp(arg, "default"))
		n = snprintf(buf, len, "%s", MPMCRING_DEFAULT_PATH);
	else if (!*arg)
		return -1;
	else if (strchr(arg, '/'))
		n = snprintf(buf, len, "%s", arg);
	else
		n = snprintf(buf, len, "%s-%s", MPMCRING_DEFAULT_PATH, arg);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Lists the rings in /dev, to help when the one asked for is not there. */
static void ring_list(FILE *f)
{
	DIR *d = opendir("/dev");
	struct dirent *e;
	int n = 0;

	if (!d)
		return;
	while ((e = readdir(d))) {
		const char *name = e->d_name;

		if (strcmp(name, "mpmcring") && strncmp(name, "mpmcring-", 9))
			continue;
		fprintf(f, "%s %s", n++ ? "," : "rings here:", name[8] ? name + 9 : "default");
	}
	closedir(d);
	if (n)
		fputc('\n', f);
	else
		fprintf(f, "no /dev/mpmcring* here: is the module loaded? modprobe mpmcring\n");
}

struct mpmcring *ring_open(const char *cmd, const char *path, int flags, int *code)
{
	struct mpmcring *r = mpmcring_open(path, flags);
	int err = errno;

	if (r)
		return r;
	switch (err) {
	case ENOENT:
		*code = cli_fail(cmd, CLI_NORING, "%s", mpmcring_errmsg());
		ring_list(stderr);
		break;
	case ENODEV:
	case ENXIO:
		/* A device node with no ring behind it (destroyed). */
		*code = cli_fail(cmd, CLI_NORING,
				 "%s: no ring behind this device file: was it destroyed?", path);
		break;
	default:
		*code = cli_fail(cmd, CLI_ERROR, "%s", mpmcring_errmsg());
	}
	return NULL;
}

static int cli_vfail(const char *cmd, int code, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "%s%s%s: %s\n", CLI_NAME, cmd ? " " : "", cmd ? cmd : "", msg);
	if (cli_json) {
		/* After whatever output came before it, on its own line. */
		fputs("{\"error\":{\"command\":", stdout);
		out_json_string(stdout, cmd ? cmd : "");
		fputs(",\"message\":", stdout);
		out_json_string(stdout, msg);
		printf(",\"exit\":%d}}\n", code);
		fflush(stdout);
	}
	return code;
}

int cli_fail(const char *cmd, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vfail(cmd, code, fmt, ap);
	va_end(ap);
	return code;
}

int cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vfail(cmd, CLI_ERROR, fmt, ap);
	va_end(ap);
	return CLI_ERROR;
}

/*
 * Whether arg ("--name" or "--name=value") is a long option of longopts
 * whose letter is val: getopt_long() takes any unambiguous prefix of a
 * name, so a name that starts with arg's does.
 */
static bool cli_long_of(const struct option *longopts, const char *arg, int val)
{
	size_t n;

	if (strncmp(arg, "--", 2))
		return false;
	n = strcspn(arg + 2, "=");
	if (!n)
		return false;
	for (; longopts && longopts->name; longopts++)
		if (longopts->val == val && !strncmp(longopts->name, arg + 2, n))
			return true;
	return false;
}

int cli_try_help(const char *cmd, const struct option *longopts, char *const argv[])
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";
	/*
	 * optopt holds the letter of a short option that failed, or of a
	 * long one given a value it takes none of ("--json=1") or missing
	 * its value. argv[optind - 1] is that long option; for a short one
	 * it is its bundle, or, when the letter is not its bundle's last
	 * (getopt stays on the bundle), the argument before: so the letter
	 * names it unless argv[optind - 1] is the long option of that
	 * letter.
	 */
	bool letter = optopt > 0 && optopt < 128 && !cli_long_of(longopts, arg, optopt);

	if (cli_json && letter)
		return cli_fail(cmd, CLI_USAGE,
				"option '-%c' is unknown or needs a value: see '%s %s --help'",
				optopt, CLI_NAME, cmd);
	if (cli_json)
		return cli_fail(cmd, CLI_USAGE,
				"option '%s' is unknown or needs a value: see '%s %s --help'", arg,
				CLI_NAME, cmd);
	fprintf(stderr, "Try '%s %s --help'.\n", CLI_NAME, cmd);
	return CLI_USAGE;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vfail(cmd, CLI_USAGE, fmt, ap);
	va_end(ap);
	if (!cli_json)
		fprintf(stderr, "Try '%s %s --help'.\n", CLI_NAME, cmd);
	return CLI_USAGE;
}

/* Whether a later signal ends the program at once (cli_signals()). */
static volatile sig_atomic_t cli_forceable;
/* Records taken from the ring and not written; losses taken, not reported. */
static volatile sig_atomic_t cli_held_records, cli_held_losses;
/*
 * When the first signal came: the handler's own, in a forceable program
 * (one thread: the handlers mask each other, so they do not nest).
 */
static struct timespec cli_first_signal;

/* Appends s at *p, within end; for the handler, which has no stdio. */
static char *cli_put(char *p, const char *end, const char *s)
{
	while (*s && p < end)
		*p++ = *s++;
	return p;
}

static int cli_clamp(uint64_t n)
{
	return n > INT_MAX ? INT_MAX : (int)n;
}

void cli_hold_records(unsigned int records)
{
	cli_held_records = cli_clamp(records);
}

void cli_hold_losses(uint64_t losses)
{
	cli_held_losses = cli_clamp(losses);
}

/* Appends n in decimal at *p, within end. */
static char *cli_put_num(char *p, const char *end, int n)
{
	char num[16];
	int i = sizeof(num);

	num[--i] = 0;
	do
		num[--i] = (char)('0' + n % 10);
	while ((n /= 10) && i);
	return cli_put(p, end, num + i);
}

/*
 * A signal a second or more after the first, which did not end the
 * program (its output blocked, writes restart): ends it now.
 * Async-signal-safe only (poll, write, _exit): the message only if
 * stderr takes it now, for stderr may be the pipe that blocked.
 */
static volatile sig_atomic_t cli_forced_sig;

/* The forced end's message blocked after all: the same status. */
static void cli_on_alarm(int sig)
{
	(void)sig;
	_exit(128 + cli_forced_sig);
}

static void cli_forced_end(int sig, int records, int losses)
{
	struct sigaction sa = { .sa_handler = cli_on_alarm };
	sigset_t alrm;
	char msg[320], *p = msg, *end = msg + sizeof(msg);
	struct pollfd pfd = { .fd = 2, .events = POLLOUT };
	ssize_t n = 0;

	p = cli_put(
		p, end,
		"mpmcring: a later signal, the first not having ended it (its output blocked?): ending now");
	if (records) {
		p = cli_put(p, end, "; up to ");
		p = cli_put_num(p, end, records);
		p = cli_put(p, end, " records it had taken from the ring were not written: lost");
	}
	if (losses) {
		p = cli_put(p, end, "; ");
		p = cli_put_num(p, end, losses);
		p = cli_put(p, end,
			    " lost records it had counted were not reported, or not in full");
	}
	p = cli_put(p, end, "\n");
	/*
	 * Room now is not room for all of it: a write that blocks after all
	 * ends a second on, with the same status (a handler of our own: the
	 * default action's status would be SIGALRM's, and an ignored or
	 * blocked SIGALRM is inherited across exec).
	 */
	cli_forced_sig = sig;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_UNBLOCK, &alrm, NULL);
	alarm(1);
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLOUT))
		n = write(2, msg, (size_t)(p - msg));
	(void)n;
	_exit(128 + sig);
}

static void cli_on_signal(int sig)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now); /* async-signal-safe */
	if (!cli_stop) {
		cli_first_signal = now;
		cli_stop = 1;
		return;
	}
	/*
	 * Within a second of the first: the same request (coreutils timeout
	 * signals the child, then its group; a double key press).
	 */
	if (cli_forceable && (now.tv_sec - cli_first_signal.tv_sec) * 1000000000LL +
					     (now.tv_nsec - cli_first_signal.tv_nsec) >=
				     1000000000LL)
		cli_forced_end(sig, cli_held_records, cli_held_losses);
}

void cli_signals(bool forceable)
{
	struct sigaction sa = { .sa_handler = cli_on_signal };

	cli_forceable = forceable;
	/*
	 * SA_RESTART: stdio writes carry on; poll() and nanosleep() return
	 * EINTR whatever the flag says, so waits end at once. Each masks
	 * the other: the handler's time is its own.
	 */
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * Decimal, or hex after 0x; a leading zero is not octal (010 is ten). A
 * digit first: strtoull() would skip spaces and take a sign (' -1' is
 * 2^64 - 1).
 */
bool parse_u64(const char *s, bool suffixes, uint64_t *v)
{
	bool hex = s && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	unsigned long long x;
	unsigned int shift = 0;
	char *end;

	if (hex)
		s += 2;
	/* strtoull() would take a second 0x too. */
	if (!s || !(hex ? isxdigit((unsigned char)*s) : isdigit((unsigned char)*s)) ||
	    (hex && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')))
		return false;
	errno = 0;
	x = strtoull(s, &end, hex ? 16 : 10);
	if (errno || end == s)
		return false;
	if (suffixes && *end) {
		switch (*end) {
		case 'k':
		case 'K':
			shift = 10;
			break;
		case 'm':
		case 'M':
			shift = 20;
			break;
		case 'g':
		case 'G':
			shift = 30;
			break;
		default:
			return false;
		}
		end++;
		if (*end == 'i' && end[1] == 'B')
			end += 2;
		else if (*end == 'B')
			end++;
	}
	if (*end || (shift && x > (UINT64_MAX >> shift)))
		return false;
	*v = (uint64_t)x << shift;
	return true;
}

bool parse_seconds(const char *s, double *v)
{
	char *end;
	double x;

	if (!s || !*s)
		return false;
	errno = 0;
	x = strtod(s, &end);
	if (errno || end == s || *end || !(x > 0) || x > 1e6)
		return false;
	*v = x;
	return true;
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

bool sleep_s(double s)
{
	double end = now_s() + s;

	/* Short steps: a signal between the check and the sleep costs 100 ms. */
	while (!cli_stop) {
		double left = end - now_s();
		struct timespec ts;

		if (left <= 0)
			return true;
		if (left > 0.1)
			left = 0.1;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(left * 1e9);
		nanosleep(&ts, NULL);
	}
	return false;
}
