// SPDX-License-Identifier: GPL-2.0-only
/*
 * The spawner: a process forked when evbench starts, before any transport
 * maps a ring, that runs every fork of a workload on request: the storm's
 * fork+exec+wait loop and the flood's marker execs.
 *
 * A fork copies the page tables of every page-by-page (VM_MIXEDMAP)
 * mapping of the forking process and write-protects its memory, and both
 * mpmcring's and BPF ringbuf's consumers map their buffers that way: forked
 * from evbench, each child would pay for copying and tearing down the
 * tables of the ring it is traced into (mpmcring's 1.5x BPF ringbuf's
 * pages, its stamps included), and each fork would interrupt the vCPUs of
 * evbench's other threads to flush their TLBs. That is what a fork costs
 * in the consumer's own process, not what tracing costs a workload (an
 * agent's workload is other processes). The spawner maps nothing a
 * transport sets up, so every transport's children fork the same small
 * address space.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evbench.h"

enum spawn_kind { SPAWN_STORM, SPAWN_MARKER };

struct spawn_req {
	unsigned int kind; /* enum spawn_kind */
	unsigned int n;	   /* the storm's fork+exec+wait count */
};

struct spawn_reply {
	double seconds; /* the storm's; < 0: a marker failed */
	struct lat lat; /* the storm's operations */
	int pid;	/* the marker's; -1: it failed */
};

static int chan = -1; /* evbench's end of the socket pair */
static pid_t spawner = -1;

/* MSG_NOSIGNAL: a peer gone is an error here, not a SIGPIPE. */
static bool full_io(int fd, void *buf, size_t len, bool wr)
{
	char *p = buf;

	while (len) {
		ssize_t n = wr ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static void __attribute__((noreturn)) spawner_loop(int fd)
{
	struct spawn_req rq;
	struct spawn_reply rp = { 0 };

	while (full_io(fd, &rq, sizeof(rq), false)) {
		if (rq.kind == SPAWN_STORM) {
			rp.seconds = work_storm(rq.n);
			rp.lat = work_lat;
		} else {
			rp.pid = run_marker();
		}
		if (!full_io(fd, &rp, sizeof(rp), true))
			break;
	}
	_exit(0);
}

int spawn_start(void)
{
	int sv[2];

	/* Close-on-exec: no marker holds them, so a peer's end is seen at once. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		perror("evbench: spawner socket pair");
		return -1;
	}
	fflush(NULL);
	spawner = fork();
	if (spawner < 0) {
		perror("evbench: fork spawner");
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (spawner == 0) {
		close(sv[0]);
		spawner_loop(sv[1]);
	}
	close(sv[1]);
	chan = sv[0];
	return 0;
}

pid_t spawn_pid(void)
{
	return spawner;
}

static bool spawn_ask(unsigned int kind, unsigned int n, struct spawn_reply *rp)
{
	struct spawn_req rq = { kind, n };

	if (chan < 0 || !full_io(chan, &rq, sizeof(rq), true) ||
	    !full_io(chan, rp, sizeof(*rp), false)) {
		fprintf(stderr, "evbench: the spawner (pid %d) is gone\n", (int)spawner);
		return false;
	}
	return true;
}

double spawn_storm(unsigned int n)
{
	struct spawn_reply rp;

	if (!spawn_ask(SPAWN_STORM, n, &rp))
		return -1;
	work_lat = rp.lat;
	return rp.seconds;
}

pid_t spawn_marker(void)
{
	struct spawn_reply rp;

	return spawn_ask(SPAWN_MARKER, 0, &rp) ? rp.pid : -1;
}

void spawn_stop(void)
{
	if (chan < 0)
		return;
	close(chan);
	chan = -1;
	waitpid(spawner, NULL, 0);
}
