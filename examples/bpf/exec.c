// SPDX-License-Identifier: MIT
/*
 * mpmcring-exec: a BPF program (exec.bpf.c) writes every exec into an
 * mpmcring ring; this loads it and consumes the ring with libmpmcring. Run
 * it several times at once: each record reaches exactly one of them.
 *
 *   mpmcring-exec [-n COUNT] [RING]      RING: /dev/mpmcring by default
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>
#include <bpf/libbpf.h>
#include <mpmcring.h>

#include "exec_event.h"
#include "exec.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Every loss, by cause: refused, evicted, or revoked from this program. */
static void report_lost(struct mpmcring_consumer *c)
{
	struct mpmcring_lost lost = MPMCRING_OPTS(mpmcring_lost);

	if (mpmcring_take_lost(c, &lost) || !(lost.dropped || lost.overwritten || lost.revoked))
		return;
	fflush(stdout);
	fprintf(stderr, "lost %llu records (dropped %llu, overwritten %llu, revoked %llu)\n",
		(unsigned long long)(lost.dropped + lost.overwritten + lost.revoked),
		(unsigned long long)lost.dropped, (unsigned long long)lost.overwritten,
		(unsigned long long)lost.revoked);
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	long count = -1;
	struct mpmcring *r;
	struct mpmcring_consumer *c;
	struct mpmcring_record rec;
	struct exec_bpf *skel;
	int opt, err, n;
	char line[512]; /* the fields and a file name of up to 255 bytes */

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n')
			return fprintf(stderr, "usage: %s [-n COUNT] [RING]\n", argv[0]), 2;
		count = strtol(optarg, NULL, 0);
	}
	if (optind < argc)
		path = argv[optind];

	r = mpmcring_open(path, 0);
	c = r ? mpmcring_consumer_new(r) : NULL;
	if (!c)
		return fprintf(stderr, "%s\n", mpmcring_errmsg()), 1;

	skel = exec_bpf__open();
	if (!skel)
		return fprintf(stderr, "opening the BPF object: %s\n", strerror(errno)), 1;
	/* The ring is named by its id, which its layout tells. */
	skel->rodata->ring_id = mpmcring_get_layout(r)->id;
	err = exec_bpf__load(skel);
	if (err)
		return fprintf(stderr,
			       "loading the BPF program: %s (is the module loaded, with BTF? see README)\n",
			       strerror(-err)),
		       1;
	err = exec_bpf__attach(skel);
	if (err)
		return fprintf(stderr, "attaching: %s\n", strerror(-err)), 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("%-7s %-7s %-6s %-16s %s\n", "PID", "PPID", "UID", "COMM", "FILENAME");

	while (!stop && count != 0) {
		n = mpmcring_read(c, &rec);
		if (n == -EBUSY) /* other consumers won the race: again */
			continue;
		if (n == -ESTALE) { /* revoked as claimed: counted, again */
			mpmcring_commit(c);
			continue;
		}
		if (n == -EAGAIN) {
			report_lost(c); /* a drop wakes nobody: said now */
			n = mpmcring_wait(r, 100);
			if (n < 0 && n != -EINTR) /* -EPIPE: the ring is gone */
				break;
			continue;
		}
		if (n) {
			fprintf(stderr, "reading: %s\n", mpmcring_errmsg());
			break;
		}
		/*
		 * Formatted into line[], then committed, then written: a stdout
		 * that blocks (a pipe no one reads) must not hold the claim.
		 */
		line[0] = '\0';
		if (rec.len >= sizeof(struct exec_event)) {
			const struct exec_event *ev = rec.data;
			unsigned int n = ev->filename_len;

			if (n > rec.len - sizeof(*ev))
				n = rec.len - sizeof(*ev);
			snprintf(line, sizeof(line), "%-7u %-7u %-6u %-16.16s %.*s\n", ev->pid,
				 ev->ppid, ev->uid, ev->comm, (int)n, (const char *)(ev + 1));
		}
		/* -ESTALE: revoked while read, what line[] holds may be torn. */
		if (mpmcring_commit(c) == 0 && line[0]) {
			fputs(line, stdout);
			if (count > 0)
				count--;
		}
		report_lost(c);
	}
	report_lost(c);
	fflush(stdout);
	/* What the program could not send (a refused reservation, a bad piece). */
	if (skel->bss->not_sent)
		fprintf(stderr, "the BPF program could not send %llu records\n",
			(unsigned long long)skel->bss->not_sent);
	exec_bpf__destroy(skel);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	return 0;
}
