// SPDX-License-Identifier: GPL-2.0-only
/*
 * spawn.c and work.c's storm and flood on the host (make -C bench/events
 * check-spawn): the storm and the flood's markers run in the spawner; a
 * marker that fails voids the storm, the flood and the marker request
 * instead of being timed or counted as one; a spawner that dies, in a storm
 * or idle, is an error at once, not a SIGPIPE or a wait for ever. work.c is built with MARKER_PATH at a path this
 * test fills: the real marker, then a program that exits 3.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evbench.h"

static int failed;

#define CHECK(cond)                                                                \
	do {                                                                       \
		if (!(cond)) {                                                     \
			fprintf(stderr, "test_spawn.c:%d: %s\n", __LINE__, #cond); \
			failed = 1;                                                \
		}                                                                  \
	} while (0)

/* Puts src at MARKER_PATH whole: a copy beside it, renamed over it. */
static void install(const char *src)
{
	static const char tmp[] = MARKER_PATH ".new";
	char buf[65536];
	ssize_t n;
	int in = open(src, O_RDONLY), out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0755);

	if (in < 0 || out < 0) {
		perror("test_spawn: install");
		exit(1);
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			perror("test_spawn: install");
			exit(1);
		}
	if (n < 0 || close(out) || rename(tmp, MARKER_PATH)) {
		perror("test_spawn: install");
		exit(1);
	}
	close(in);
}

static void *kill_spawner_soon(void *arg)
{
	(void)arg;
	usleep(300000);
	if (kill(spawn_pid(), SIGKILL))
		perror("test_spawn: kill");
	return NULL;
}

int main(int argc, char **argv)
{
	static struct flood_result fr;
	pthread_t killer;
	double t;
	pid_t pid;

	if (argc != 3) {
		fprintf(stderr, "usage: test_spawn GOOD_MARKER FAILING_MARKER\n");
		return 2;
	}
	install(argv[1]);
	CHECK(spawn_start() == 0);

	/* The storm: every operation timed, a median among them. */
	work_lat.med_ns = -1;
	t = spawn_storm(20);
	CHECK(t > 0);
	CHECK(work_lat.med_ns > 0 && work_lat.med_ns <= t * 1e9);
	pid = spawn_marker();
	CHECK(pid > 0 && pid != getpid() && pid != spawn_pid());
	/* The flood: its markers run (by the spawner) and are counted. */
	work_flood(1, 0.1, &fr);
	CHECK(!fr.failed && fr.markers > 0 && fr.syscalls > 0);
	CHECK(fr.pids[0] > 0 && fr.pids[0] != getpid());

	/* A marker that fails is no operation: each of them fails. */
	install(argv[2]);
	CHECK(spawn_storm(5) < 0);
	CHECK(spawn_marker() < 0);
	work_flood(1, 0.1, &fr);
	CHECK(fr.failed);
	/* ...and the spawner lives on. */
	install(argv[1]);
	CHECK(spawn_storm(3) > 0);

	/* A spawner killed in the middle of a storm: an error at once (its
	 * children hold none of its ends), not a wait for ever. */
	alarm(60);
	CHECK(pthread_create(&killer, NULL, kill_spawner_soon, NULL) == 0);
	CHECK(spawn_storm(1000000) < 0);
	pthread_join(killer, NULL);
	alarm(0);
	/* ...and after: errors, and this process is still here to say so. */
	CHECK(spawn_storm(3) < 0);
	CHECK(spawn_marker() < 0);
	spawn_stop();
	unlink(MARKER_PATH);
	printf("test_spawn: %s\n", failed ? "FAILED" : "ok");
	return failed;
}
