// SPDX-License-Identifier: GPL-2.0-only
/*
 * The workloads of the events race, each timed the same way whatever
 * traces it: (i) an openat/close loop, (ii) a fork+exec storm, (iii) a flood
 * of cheap syscalls on every vCPU with a marker program exec'd every 10 ms.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
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

/* (i) One thread on CPU 0: openat + close, one open event each. */
double work_syscalls(uint64_t iterations)
{
	uint64_t i;
	double t0;
	int fd = open(WORK_FILE, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);

	if (fd >= 0)
		close(fd);
	pin_to_cpu(0);
	t0 = now_s();
	for (i = 0; i < iterations; i++) {
		fd = openat(AT_FDCWD, WORK_FILE, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
	}
	t0 = now_s() - t0;
	unpin();
	return t0;
}

/* Runs the marker program; returns its pid once it has ended. */
static pid_t run_marker(void)
{
	static char *const argv[] = { "evmarker", NULL };
	static char *const envp[] = { NULL };
	pid_t pid = fork();

	if (pid == 0) {
		execve(MARKER_PATH, argv, envp);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return pid;
}

struct storm_arg {
	unsigned int n, cpu;
};

static void *storm_thread(void *p)
{
	const struct storm_arg *a = p;
	unsigned int i;

	pin_to_cpu((int)a->cpu);
	for (i = 0; i < a->n; i++)
		run_marker();
	return NULL;
}

/* (ii) threads spawners, one per vCPU: fork, exec the marker, wait. */
double work_storm(unsigned int threads, unsigned int per_thread)
{
	struct storm_arg args[64];
	pthread_t th[64];
	unsigned int i;
	double t0 = now_s();

	if (threads > 64)
		threads = 64;
	for (i = 0; i < threads; i++) {
		args[i].n = per_thread;
		args[i].cpu = i;
		pthread_create(&th[i], NULL, storm_thread, &args[i]);
	}
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	return now_s() - t0;
}

struct flood_arg {
	volatile int *stop;
	unsigned int cpu;
	uint64_t calls;
};

static void *flood_thread(void *p)
{
	struct flood_arg *a = p;
	uint64_t n = 0;

	pin_to_cpu((int)a->cpu);
	while (!*a->stop) {
		syscall(SYS_getppid);
		n++;
	}
	a->calls = n;
	return NULL;
}

/*
 * (iii) One flood thread per vCPU making getppid() calls as fast as it can,
 * while this thread execs the marker every 10 ms (the period is kept from
 * the start, not from each exec's end).
 */
void work_flood(unsigned int threads, double seconds, struct flood_result *r)
{
	struct flood_arg args[64];
	pthread_t th[64];
	volatile int stop = 0;
	unsigned int i;
	double t0, next;

	if (threads > 64)
		threads = 64;
	r->markers = 0;
	r->syscalls = 0;
	for (i = 0; i < threads; i++) {
		args[i].stop = &stop;
		args[i].cpu = i;
		args[i].calls = 0;
		pthread_create(&th[i], NULL, flood_thread, &args[i]);
	}
	t0 = now_s();
	next = t0;
	while (now_s() - t0 < seconds && r->markers < sizeof(r->pids) / sizeof(r->pids[0])) {
		struct timespec ts;
		double wait;

		r->pids[r->markers++] = run_marker();
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
	}
	r->seconds = now_s() - t0;
}
