/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mpmcring(1): what the subcommands share. Exit codes, the RING argument,
 * error reporting, option parsing helpers and output formatting.
 */
#ifndef MPMCRING_CLI_H
#define MPMCRING_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mpmcring.h"
#include "mpmcring_events.h"

struct option; /* getopt.h */

/* Exit codes a script can rely on (mpmcring(1), EXIT STATUS). */
#define CLI_OK 0     /* success */
#define CLI_ERROR 1  /* runtime error */
#define CLI_USAGE 2  /* bad command line */
#define CLI_NORING 3 /* the ring does not exist */

#define CLI_NAME "mpmcring"
#define CLI_VERSION "0.1.0"

/* Set by SIGINT/SIGTERM (cli_signals()); every loop checks it. */
extern volatile sig_atomic_t cli_stop;
/* --json was given: errors go to stdout as {"error":{...}} lines too. */
extern bool cli_json;

/* Subcommands: argv[0] is the subcommand's name. */
int cmd_stat(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_list(int argc, char **argv);

/* ring.c: the RING argument, opening a ring, errors, signals. */
/* NULL or "default": /dev/mpmcring; NAME: /dev/mpmcring-NAME; a/b: a/b. */
int ring_path(const char *arg, char *buf, size_t len);
/* Opens the ring or prints why not; *code gets the exit code on failure. */
struct mpmcring *ring_open(const char *cmd, const char *path, int flags, int *code);
/* Prints "mpmcring CMD: message" on stderr (with --json, also as
 * {"error":{"command":CMD,"message":...,"exit":CODE}} on stdout); returns
 * code. */
int cli_fail(const char *cmd, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* cli_fail() with CLI_ERROR. */
int cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the message and a pointer to --help; returns CLI_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * After getopt_long() returned '?': the pointer to --help (getopt said
 * what was wrong), or with --json (getopt silenced) a JSON error naming
 * the option from optopt or argv[optind - 1] (longopts: the command's
 * table, to tell a long option's letter from a short one's); CLI_USAGE.
 */
int cli_try_help(const char *cmd, const struct option *longopts, char *const argv[]);
/*
 * SIGINT/SIGTERM set cli_stop; SIGPIPE is ignored (writes fail, EPIPE).
 * Writes restart after a signal (SA_RESTART), so the first cannot end a
 * program blocked writing to a reader that stopped reading; forceable:
 * a later SIGINT/SIGTERM, a second or more after the first, ends it at
 * once (status 128 + the signal), saying so on stderr when stderr takes
 * it without blocking, with the records cli_hold_records() last said.
 */
void cli_signals(bool forceable);
/* Records taken from the ring and not written yet (lost by such an end). */
void cli_hold_records(unsigned int records);
/* Lost records counted and not reported yet (said by such an end). */
void cli_hold_losses(uint64_t losses);
/* Unsigned decimal (or 0x hex); with suffixes, K/M/G multiply by 1024^n. */
bool parse_u64(const char *s, bool suffixes, uint64_t *v);
/* Seconds as a positive decimal fraction ("0.5"). */
bool parse_seconds(const char *s, double *v);
/* Monotonic seconds. */
double now_s(void);
/* Sleeps; returns early (false) once cli_stop is set. */
bool sleep_s(double s);

/* out.c: formatting. */
const char *prio_name(unsigned int prio);
const char *drop_name(unsigned int reason);
const char *mode_name(unsigned int mode);
/* "1048576 (1 MiB)"-style helper: only the part in parentheses. */
const char *human_bytes(uint64_t v, char *buf, size_t len);
/* A JSON string of len bytes: control characters, quotes, backslashes and
 * bytes outside ASCII escaped (\u00XX: the output stays valid UTF-8). */
void out_json_bytes(FILE *f, const char *s, size_t len);
void out_json_string(FILE *f, const char *s);
void out_base64(FILE *f, const void *data, size_t len);
/* Printable ASCII as is, \\ \n \r \t, anything else \xHH. */
void out_escaped(FILE *f, const void *data, size_t len);
/* out_escaped() of a key=value line's value: space and '=' as \x20, \x3d. */
void out_escaped_field(FILE *f, const void *data, size_t len);
/* hexdump -C style lines: offset, 16 bytes, |ascii|. */
void out_hexdump(FILE *f, const void *data, size_t len);

/* event_out.c: decoded kernel events, one line each. */
void out_event_text(FILE *f, const struct mpmcring_event *ev);
/* rec: the record it was decoded from (class, position). */
void out_event_json(FILE *f, const struct mpmcring_event *ev, const struct mpmcring_record *rec);

#endif /* MPMCRING_CLI_H */
