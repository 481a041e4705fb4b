// SPDX-License-Identifier: GPL-2.0-only
/*
 * What else the machine did while a run measured: the numbers that say
 * whether a run can be trusted. On a machine shared with other work (the
 * development machine runs qemu guests and kernel builds next to the
 * benchmark) a run's threads are descheduled for other processes; on a VM
 * the hypervisor steals time. Each run records, for its window:
 *
 *   cpu_share   CPU time its threads got / (threads x window): 1.0 when each
 *               thread had a CPU to itself all along (pinned threads that
 *               spin when idle), less when something else ran there
 *   other_busy  CPU time the rest of the machine used / (CPUs x window)
 *   steal       time the hypervisor took from the VM / (CPUs x window)
 *   nivcsw      involuntary context switches of its threads
 *   load1       the 1-minute load average when it started
 *
 * hb_wait_quiet() waits, up to a limit, for the rest of the machine to
 * use less than a given share of it: runs can then be taken when other
 * work pauses, and the noise columns say which ones were not.
 */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

void hb_machine_sample(struct hb_machine_sample *s)
{
	unsigned long long v[10] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	memset(s, 0, sizeof(*s));
	s->t = hb_now();
	if (!f)
		return;
	/* cpu  user nice system idle iowait irq softirq steal guest guest_nice */
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) >= 8) {
		s->busy_ticks = v[0] + v[1] + v[2] + v[5] + v[6];
		s->steal_ticks = v[7];
	}
	fclose(f);
}

double hb_loadavg1(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

double hb_thread_cpu(pthread_t t)
{
	struct timespec ts;
	clockid_t cid;

	if (pthread_getcpuclockid(t, &cid) || clock_gettime(cid, &ts))
		return 0;
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

uint64_t hb_thread_nivcsw(pid_t tid)
{
	unsigned long long n = 0;
	char path[64], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "nonvoluntary_ctxt_switches: %llu", &n) == 1)
			break;
	fclose(f);
	return n;
}

void hb_machine_describe(char *buf, size_t len)
{
	char line[256], model[200] = "unknown CPU";
	struct utsname u;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (f) {
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
				snprintf(model, sizeof(model), "%s", strchr(line, ':') + 2);
				model[strcspn(model, "\n")] = 0;
				break;
			}
		fclose(f);
	}
	if (uname(&u))
		memset(&u, 0, sizeof(u));
	snprintf(buf, len, "%s, %s, %u CPUs usable (%ld online), Linux %s", u.machine, model,
		 hb_ncpus(), sysconf(_SC_NPROCESSORS_ONLN), u.release);
}

/* Busy fraction of all CPUs over ms milliseconds (this process idle). */
static double busy_over(unsigned int ms)
{
	struct hb_machine_sample a, b;
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	double ticks = sysconf(_SC_CLK_TCK), online = sysconf(_SC_NPROCESSORS_ONLN);

	hb_machine_sample(&a);
	nanosleep(&ts, NULL);
	hb_machine_sample(&b);
	return (b.busy_ticks - a.busy_ticks) / ticks / (online * (b.t - a.t));
}

double hb_wait_quiet(double max_busy, double max_wait_s, unsigned int window_ms)
{
	double t0 = hb_now(), busy;

	do {
		busy = busy_over(window_ms);
		if (busy <= max_busy)
			break;
	} while (hb_now() - t0 < max_wait_s);
	return busy;
}
