// SPDX-License-Identifier: GPL-2.0-only
/*
 * The workloads of the events race, each timed the same way whatever
 * traces it: (i) an openat/close loop, (ii) a fork+exec storm, (iii) a flood
 * of cheap syscalls on every vCPU with a marker program exec'd every 10 ms.
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "evbench.h"

#define WORK_FILE "/tmp/evbench-file"

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

void pin_from_cpu(int first)
{
	cpu_set_t set;
	long i, n = sysconf(_SC_NPROCESSORS_ONLN);

	if (first < 0 || first >= n)
		return;
	CPU_ZERO(&set);
	for (i = first; i < n; i++)
		CPU_SET(i, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void unpin(void)
{
	cpu_set_t set;
	long i, n = sysconf(_SC_NPROCESSORS_ONLN);

	CPU_ZERO(&set);
	for (i = 0; i < n; i++)
		CPU_SET(i, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

struct lat work_lat_ctl;

#define SYS_BLOCK 64

/*
 * (i) One thread on CPU 0: openat + close, one open event each, in blocks
 * of 64 that alternate with blocks of open(2) + close on the same file.
 * Both are traced on sys_exit, but open(2) is not in the recorded set of
 * any transport (tr_ring.c, tr_bpf.c): the median openat minus the median
 * open, taken in the same run microseconds apart, is what one event costs
 * to produce; open(2) alone, against an untraced run, is what having a
 * probe on every syscall costs.
 */
double work_syscalls(uint64_t iterations)
{
	double *v = malloc(2 * iterations * sizeof(*v)), *w, t0, a, b;
	uint64_t i, j;
	int fd = open(WORK_FILE, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);

	if (fd >= 0)
		close(fd);
	if (!v)
		abort();
	w = v + iterations;
	pin_to_cpu(0);
	t0 = now_s();
	a = t0;
	for (i = 0; i < iterations; i += SYS_BLOCK) {
		for (j = i; j < i + SYS_BLOCK && j < iterations; j++) {
			fd = openat(AT_FDCWD, WORK_FILE, O_RDONLY | O_CLOEXEC);
			if (fd >= 0)
				close(fd);
			b = now_s();
			v[j] = (b - a) * 1e9;
			a = b;
		}
		for (j = i; j < i + SYS_BLOCK && j < iterations; j++) {
			fd = (int)syscall(SYS_open, WORK_FILE, O_RDONLY | O_CLOEXEC);
			if (fd >= 0)
				close(fd);
			b = now_s();
			w[j] = (b - a) * 1e9;
			a = b;
		}
	}
	t0 = now_s() - t0;
	unpin();
	lat_of(v, iterations, &work_lat);
	lat_of(w, iterations, &work_lat_ctl);
	free(v);
	return t0;
}

/*
 * Runs the marker program; returns its pid once it has ended, or -1 when
 * it could not be forked or did not exit 0 (a failed exec exits 127).
 */
pid_t run_marker(void)
{
	static char *const argv[] = { "evmarker", NULL };
	static char *const envp[] = { NULL };
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		execve(MARKER_PATH, argv, envp);
		_exit(127);
	}
	if (pid < 0) {
		perror("evbench: fork");
		return -1;
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "evbench: %s (pid %d) did not exit 0 (status 0x%x)\n", MARKER_PATH,
			(int)pid, status);
		return -1;
	}
	return pid;
}

/*
 * (ii) n fork+exec+wait on CPU 0, each timed; the consumers run on the
 * others, as for (i); run by the spawner (spawn.c). One process forks:
 * with several of one mm on several vCPUs, each fork's write-protect of
 * the mm interrupts the others to flush their TLBs, and several execs of
 * one program contend on its mapping's lock; both are costs of the
 * storm's shape that follow the scheduling, not the tracing. Returns
 * seconds, or -1 when the anchor (below) or a marker failed.
 */
double work_storm(unsigned int n)
{
	double *v = calloc(n + 1, sizeof(*v)), t0, t1, start;
	unsigned int i;
	pid_t anchor;

	if (!v)
		abort();
	pin_to_cpu(0);
	/*
	 * A child that sleeps through the storm, holding a pid above every
	 * task's before it. Without it, an untraced run has no live task
	 * with a pid in the pid IDR's top level once pids pass 4096, so
	 * each of its forks grows the IDR by a level and each reap shrinks
	 * it again (with an RCU free and slab work, about 1000 instructions
	 * an operation), while a traced run's consumer threads hold such
	 * pids and its forks pay none of that: the baseline would be the
	 * dearer. With the anchor both keep the same levels.
	 */
	anchor = fork();
	if (anchor == 0) {
		/* Nothing of the spawner's held (its socket end: evbench must
		 * see EOF when the spawner dies), and gone with it. */
		close_range(3, ~0U, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(0);
		pause();
		_exit(0);
	}
	if (anchor < 0) {
		perror("evbench: fork the storm's anchor");
		t0 = -1;
		goto out;
	}
	start = t0 = now_s();
	for (i = 0; i < n; i++) {
		if (run_marker() < 0) {
			t0 = -1;
			goto out;
		}
		t1 = now_s();
		v[i] = (t1 - t0) * 1e9;
		t0 = t1;
	}
	t0 = now_s() - start;
	lat_of(v, n, &work_lat);
out:
	if (anchor > 0) {
		kill(anchor, SIGKILL);
		waitpid(anchor, NULL, 0);
	}
	unpin();
	free(v);
	return t0;
}

#define FLOOD_CHUNK 64
#define FLOOD_SAMPLES 65536

struct flood_arg {
	volatile int *stop;
	unsigned int cpu;
	uint64_t calls;
	double *v; /* ns per syscall of each chunk of FLOOD_CHUNK */
	size_t nv;
};

static void *flood_thread(void *p)
{
	struct flood_arg *a = p;
	uint64_t n = 0;
	double t0 = now_s(), t1;
	int i;

	pin_to_cpu((int)a->cpu);
	while (!*a->stop) {
		for (i = 0; i < FLOOD_CHUNK; i++)
			syscall(SYS_getppid);
		n += FLOOD_CHUNK;
		t1 = now_s();
		if (a->nv < FLOOD_SAMPLES)
			a->v[a->nv++] = (t1 - t0) * 1e9 / FLOOD_CHUNK;
		t0 = t1;
	}
	a->calls = n;
	return NULL;
}

/*
 * (iii) One flood thread per vCPU making getppid() calls as fast as it can,
 * while this thread has the spawner (spawn.c) exec the marker every 10 ms
 * (the period is kept from the start, not from each exec's end).
 */
void work_flood(unsigned int threads, double seconds, struct flood_result *r)
{
	struct flood_arg args[64];
	pthread_t th[64];
	volatile int stop = 0;
	unsigned int i;
	double t0, next, *v;
	size_t nv = 0;

	if (threads > 64)
		threads = 64;
	r->markers = 0;
	r->syscalls = 0;
	r->failed = false;
	v = calloc((size_t)threads * FLOOD_SAMPLES, sizeof(*v));
	for (i = 0; i < threads; i++) {
		args[i].stop = &stop;
		args[i].cpu = i;
		args[i].calls = 0;
		args[i].v = v + (size_t)i * FLOOD_SAMPLES;
		args[i].nv = 0;
		pthread_create(&th[i], NULL, flood_thread, &args[i]);
	}
	t0 = now_s();
	next = t0;
	while (now_s() - t0 < seconds && r->markers < sizeof(r->pids) / sizeof(r->pids[0])) {
		struct timespec ts;
		double wait;

		pid_t pid = spawn_marker();

		if (pid < 0) {
			r->failed = true;
			break;
		}
		r->pids[r->markers++] = pid;
		next += 0.010;
		wait = next - now_s();
		if (wait > 0) {
			ts.tv_sec = 0;
			ts.tv_nsec = (long)(wait * 1e9);
			nanosleep(&ts, NULL);
		}
	}
	stop = 1;
	for (i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		r->syscalls += args[i].calls;
		/* Packed to the front for one sort. */
		memmove(v + nv, args[i].v, args[i].nv * sizeof(*v));
		nv += args[i].nv;
	}
	r->seconds = now_s() - t0;
	lat_of(v, nv, &work_lat);
	free(v);
}
