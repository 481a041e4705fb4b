// SPDX-License-Identifier: GPL-2.0-only
/*
 * evbench: real kernel events captured three ways in the same kernel, side
 * by side in one run (make bench-events runs it in a qemu guest):
 *
 *   mpmcring             mpmcring_events.ko into a ring, 1, 2 or 4 zero-copy
 *                        consumer threads (batch claim, one commit)
 *   BPF ringbuf          events.bpf.c, reserve/submit, ring_buffer__poll()
 *   BPF ringbuf + query  ... dropping low-priority events itself when
 *                        bpf_ringbuf_query() says the ring is filling
 *   perf buffer          events.bpf.c, bpf_perf_event_output(), perf_buffer__poll()
 *
 * on the same tracepoints, in the same record layout, with the same work per
 * event in every consumer (decode, count, note marker execs). Workloads,
 * each with an untraced baseline in the same repetition:
 *
 *   syscalls  one thread: openat + close, N times (one open event each)
 *   storm     one thread per vCPU: fork, exec the marker, wait, K times
 *   flood     one thread per vCPU: getppid() flat out (catch-all on: one
 *             low-priority event each), the marker exec'd every 10 ms; the
 *             consumers do an agent's work per event (a hash loop of
 *             MPMCRING_EVB_FLOOD_WORK rounds), so that they cannot keep up
 *   drain     N open events into a ring nobody reads, then the consumers
 *             drain it: records/s of consumption alone
 *
 * Repetitions run every transport in an order that rotates; the tables
 * give medians and the median of same-repetition ratios.
 *
 *   evbench [-r REPS] [-n SYSCALLS] [-k STORM_PER_CPU] [-d FLOOD_S]
 *           [-D DRAIN_EVENTS] [-p PARTS]     PARTS: syscalls,storm,flood,drain
 *
 * Defaults from the environment (the guest's kernel command line):
 * MPMCRING_EVB_REPS, _SYSCALLS, _STORM, _FLOOD_S, _DRAIN, _PARTS.
 * Output: tables, and one "BENCH {json}" line per run and per summary row.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evbench.h"

enum part { SYSCALLS, STORM, FLOOD, DRAIN, NR_PARTS };
static const char *const part_names[NR_PARTS] = { "syscalls", "storm", "flood", "drain" };

#define MAX_REPS 15
#define NR_TR 8

/* NULL: untraced. */
static const struct transport *const transports[NR_TR] = {
	NULL,	   &tr_ring1_eager, &tr_ring1,	   &tr_ring2,
	&tr_ring4, &tr_bpf_ringbuf, &tr_bpf_query, &tr_bpf_perf,
};
enum { T_NONE, T_RING1E, T_RING1, T_RING2, T_RING4, T_RB, T_RBQ, T_PERF };

static unsigned int reps = 5;
static uint64_t n_syscalls = 20000;
static unsigned int n_storm = 100;
static double flood_s = 3.0;
static uint64_t n_drain = 100000;
static unsigned int flood_work = 2000;
static unsigned int ncpu;

struct result {
	bool ok;
	double base_t; /* the same workload untraced, just before */
	uint64_t base_work;
	double t;      /* workload seconds (drain: consume seconds) */
	double fill_t; /* drain: seconds of the openat loop that filled it */
	uint64_t work; /* syscalls, execs, flood syscalls, events */
	unsigned int markers_run, markers_got;
	struct tr_stats st;
};

static struct result res[NR_PARTS][NR_TR][MAX_REPS];

static const char *tr_name(int i)
{
	return transports[i] ? transports[i]->name : "untraced";
}

static bool part_runs(enum part p, int i)
{
	/* Draining: no producer runs, wakeups and policies play no part. */
	if (p == DRAIN)
		return i != T_NONE && i != T_RBQ && i != T_RING1E;
	return true;
}

/* The workload of a part; returns seconds, sets *work. */
static double workload(enum part p, uint64_t *work, struct flood_result *fr)
{
	double t;

	switch (p) {
	case SYSCALLS:
		*work = n_syscalls;
		return work_syscalls(n_syscalls);
	case STORM:
		*work = (uint64_t)ncpu * n_storm;
		return work_storm(ncpu, n_storm);
	case FLOOD:
		work_flood(ncpu, flood_s, fr);
		*work = fr->syscalls;
		return fr->seconds;
	default:
		t = work_syscalls(n_drain);
		*work = n_drain;
		return t;
	}
}

static void run_one(enum part p, int ti, unsigned int rep)
{
	const struct transport *ops = transports[ti];
	struct result *r = &res[p][ti][rep];
	struct tr t = { .ops = ops };
	static struct flood_result fr;
	unsigned int i;
	double t0;

	memset(r, 0, sizeof(*r));
	t.cfg.catchall = p == FLOOD;
	/* The flood gets 1 MiB buffers: a burst a consumer cannot absorb
	 * must show; the others 4 MiB; draining 64 MiB. */
	t.cfg.ring_bytes = p == DRAIN ? 64ULL << 20 : p == FLOOD ? 1ULL << 20 : 4ULL << 20;
	t.cfg.deferred = p == DRAIN;
	/* The openat loop runs on CPU 0, its consumers on the others. */
	t.cfg.consumer_cpu = p == SYSCALLS && ncpu > 1 ? 1 : -1;
	/* Each traced run is paired with an untraced one just before it:
	 * on a shared host, the pair sees the same load. */
	if (ops)
		r->base_t = workload(p, &r->base_work, &fr);
	markers_reset();
	acc_work = p == FLOOD ? flood_work : 0;
	if (ops && ops->start(&t))
		return;
	if (p == DRAIN) {
		r->fill_t = workload(p, &r->work, &fr);
		t0 = now_s();
		ops->consume(&t);
		r->t = now_s() - t0;
	} else {
		r->t = workload(p, &r->work, &fr);
		if (!ops) {
			r->base_t = r->t;
			r->base_work = r->work;
		}
		if (p == FLOOD)
			r->markers_run = fr.markers;
	}
	if (ops)
		ops->stop(&t, &r->st);
	if (p == FLOOD)
		for (i = 0; i < fr.markers; i++)
			r->markers_got += marker_seen(fr.pids[i]);
	r->ok = true;
	printf("BENCH {\"kind\":\"run\",\"part\":\"%s\",\"transport\":\"%s\",\"rep\":%u,"
	       "\"seconds\":%.6f,\"untraced_seconds\":%.6f,\"untraced_work\":%llu,"
	       "\"fill_seconds\":%.6f,\"work\":%llu,\"delivered\":%llu,\"bad\":%llu,"
	       "\"dropped\":%llu,\"shed\":%llu,\"dropped_low\":%llu,\"dropped_critical\":%llu,"
	       "\"consumer_cpu_s\":%.6f,\"markers_run\":%u,\"markers_delivered\":%u}\n",
	       part_names[p], tr_name(ti), rep, r->t, r->base_t, (unsigned long long)r->base_work,
	       r->fill_t, (unsigned long long)r->work, (unsigned long long)r->st.acc.delivered,
	       (unsigned long long)r->st.acc.bad, (unsigned long long)r->st.dropped,
	       (unsigned long long)r->st.shed, (unsigned long long)r->st.dropped_low,
	       (unsigned long long)r->st.dropped_crit, r->st.acc.cpu_s, r->markers_run,
	       r->markers_got);
	fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median, min and max of n values (NaN when none). */
struct spread {
	double med, min, max;
	unsigned int n;
};

static struct spread spread_of(double *v, unsigned int n)
{
	struct spread s = { NAN, NAN, NAN, n };

	if (!n)
		return s;
	qsort(v, n, sizeof(*v), cmp_double);
	s.min = v[0];
	s.max = v[n - 1];
	s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return s;
}

/* A value per repetition where both runs of that repetition worked. */
typedef double (*metric_fn)(enum part p, int ti, unsigned int rep);

static struct spread over_reps(enum part p, int ti, metric_fn f)
{
	double v[MAX_REPS];
	unsigned int rep, n = 0;

	for (rep = 0; rep < reps; rep++) {
		double x;

		if (!res[p][ti][rep].ok)
			continue;
		x = f(p, ti, rep);
		if (!isnan(x))
			v[n++] = x;
	}
	return spread_of(v, n);
}

static double m_time(enum part p, int ti, unsigned int rep)
{
	return res[p][ti][rep].t;
}

static double m_slowdown(enum part p, int ti, unsigned int rep)
{
	const struct result *r = &res[p][ti][rep];

	return r->base_t > 0 ? r->t / r->base_t : NAN;
}

/* Flood: syscalls per second, relative to untraced (below 1: slowed). */
static double m_flood_rate(enum part p, int ti, unsigned int rep)
{
	const struct result *r = &res[p][ti][rep];

	if (!r->base_work || r->t <= 0 || r->base_t <= 0)
		return NAN;
	return (r->work / r->t) / (r->base_work / r->base_t);
}

/* ns each event added to the workload: (traced - untraced) / events. */
static double m_overhead_ns(enum part p, int ti, unsigned int rep)
{
	const struct result *r = &res[p][ti][rep];
	uint64_t events = r->st.acc.delivered + r->st.dropped + r->st.shed;

	if (!events || r->base_t <= 0)
		return NAN;
	return (r->t - r->base_t) * 1e9 / events;
}

static double m_overhead_vs_rb(enum part p, int ti, unsigned int rep)
{
	double o = m_overhead_ns(p, ti, rep), rb;

	if (!res[p][T_RB][rep].ok)
		return NAN;
	rb = m_overhead_ns(p, T_RB, rep);
	return rb > 0 ? o / rb : NAN;
}

/* Drain: what each event added to the openat loop that filled the
 * buffer, with no consumer running: the producer's cost alone. */
static double m_fill_ns(enum part p, int ti, unsigned int rep)
{
	const struct result *r = &res[p][ti][rep];

	if (!r->st.acc.delivered || r->base_t <= 0)
		return NAN;
	return (r->fill_t - r->base_t) * 1e9 / r->st.acc.delivered;
}

static double m_fill_vs_rb(enum part p, int ti, unsigned int rep)
{
	double rb;

	if (!res[p][T_RB][rep].ok)
		return NAN;
	rb = m_fill_ns(p, T_RB, rep);
	return rb > 0 ? m_fill_ns(p, ti, rep) / rb : NAN;
}

static double m_delivered_per_s(enum part p, int ti, unsigned int rep)
{
	const struct result *r = &res[p][ti][rep];

	return r->t > 0 ? r->st.acc.delivered / r->t : NAN;
}

static double m_drain_vs_rb(enum part p, int ti, unsigned int rep)
{
	double rb;

	if (!res[p][T_RB][rep].ok)
		return NAN;
	rb = m_delivered_per_s(p, T_RB, rep);
	return rb > 0 ? m_delivered_per_s(p, ti, rep) / rb : NAN;
}

static double m_delivered(enum part p, int ti, unsigned int rep)
{
	return res[p][ti][rep].st.acc.delivered;
}

static double m_dropped(enum part p, int ti, unsigned int rep)
{
	return res[p][ti][rep].st.dropped + res[p][ti][rep].st.shed;
}

static double m_dropped_crit(enum part p, int ti, unsigned int rep)
{
	return res[p][ti][rep].st.dropped_crit;
}

static double m_cpu_ms(enum part p, int ti, unsigned int rep)
{
	return res[p][ti][rep].st.acc.cpu_s * 1e3;
}

/* Consumer CPU per thousand events delivered, microseconds. */
static double m_cpu_per_kev(enum part p, int ti, unsigned int rep)
{
	const struct result *r = &res[p][ti][rep];

	return r->st.acc.delivered ? r->st.acc.cpu_s * 1e9 / r->st.acc.delivered : NAN;
}

static double m_survival(enum part p, int ti, unsigned int rep)
{
	const struct result *r = &res[p][ti][rep];

	return r->markers_run ? 100.0 * r->markers_got / r->markers_run : NAN;
}

static double m_bad(enum part p, int ti, unsigned int rep)
{
	return res[p][ti][rep].st.acc.bad;
}

static void cell(const struct spread *s, const char *fmt, bool range)
{
	char a[32], b[32], c[32];

	if (!s->n || isnan(s->med)) {
		printf(" | -");
		return;
	}
	snprintf(a, sizeof(a), fmt, s->med);
	if (!range || s->n < 2) {
		printf(" | %s", a);
		return;
	}
	snprintf(b, sizeof(b), fmt, s->min);
	snprintf(c, sizeof(c), fmt, s->max);
	printf(" | %s (%s-%s)", a, b, c);
}

static void json_spread(const char *key, const struct spread *s)
{
	if (!s->n || isnan(s->med))
		printf(",\"%s\":null", key);
	else
		printf(",\"%s\":{\"median\":%.6g,\"min\":%.6g,\"max\":%.6g}", key, s->med, s->min,
		       s->max);
}

static const char *who(enum part p, int ti)
{
	unsigned int rep;

	for (rep = 0; rep < reps; rep++)
		if (res[p][ti][rep].ok && res[p][ti][rep].st.who)
			return res[p][ti][rep].st.who;
	return "-";
}

static void report(enum part p)
{
	int ti;

	printf("\n## %s", part_names[p]);
	switch (p) {
	case SYSCALLS:
		printf(" (openat+close x %llu on one thread; medians of %u, min-max)\n\n",
		       (unsigned long long)n_syscalls, reps);
		printf("| transport | time ms | slowdown | ns/event added | vs BPF ringbuf | "
		       "events/s | dropped | consumer CPU ms | bad |\n");
		printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
		break;
	case STORM:
		printf(" (fork+exec+wait x %u on each of %u threads)\n\n", n_storm, ncpu);
		printf("| transport | time ms | slowdown | ns/event added | vs BPF ringbuf | "
		       "events/s | dropped | consumer CPU ms | bad |\n");
		printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
		break;
	case FLOOD:
		printf(" (getppid flat out on %u threads, catch-all on, marker exec every 10 ms, "
		       "%.1f s, 1 MiB buffers, %u rounds of agent work per event)\n\n",
		       ncpu, flood_s, flood_work);
		printf("| transport | marker execs delivered %% | flood rate vs untraced | "
		       "events/s | dropped (who counted) | critical dropped | "
		       "consumer CPU ms | us CPU / 1k events |\n");
		printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
		break;
	case DRAIN:
		printf(" (%llu open events in a 64 MiB buffer, then consumed)\n\n",
		       (unsigned long long)n_drain);
		printf("| transport | events/s drained | vs BPF ringbuf (1 thread) | "
		       "delivered | us CPU / 1k events | producer ns/event added, no consumer | "
		       "vs BPF ringbuf |\n");
		printf("|---|---:|---:|---:|---:|---:|---:|\n");
		break;
	default:
		break;
	}
	for (ti = 0; ti < NR_TR; ti++) {
		struct spread s;

		if (!part_runs(p, ti))
			continue;
		printf("| %s", tr_name(ti));
		if (p == SYSCALLS || p == STORM) {
			s = over_reps(p, ti, m_time);
			s.med *= 1e3, s.min *= 1e3, s.max *= 1e3;
			cell(&s, "%.0f", true);
			s = over_reps(p, ti, m_slowdown);
			cell(&s, "%.3f", true);
			s = ti ? over_reps(p, ti, m_overhead_ns)
			       : (struct spread){ NAN, NAN, NAN, 0 };
			cell(&s, "%.0f", true);
			s = ti ? over_reps(p, ti, m_overhead_vs_rb)
			       : (struct spread){ NAN, NAN, NAN, 0 };
			cell(&s, "%.2fx", true);
			s = over_reps(p, ti, m_delivered_per_s);
			cell(&s, "%.0f", false);
			s = over_reps(p, ti, m_dropped);
			cell(&s, "%.0f", false);
			s = over_reps(p, ti, m_cpu_ms);
			cell(&s, "%.0f", false);
			s = over_reps(p, ti, m_bad);
			cell(&s, "%.0f", false);
		} else if (p == FLOOD) {
			s = ti ? over_reps(p, ti, m_survival) : (struct spread){ NAN, NAN, NAN, 0 };
			cell(&s, "%.1f", true);
			s = over_reps(p, ti, m_flood_rate);
			cell(&s, "%.3f", true);
			s = over_reps(p, ti, m_delivered_per_s);
			cell(&s, "%.0f", false);
			s = over_reps(p, ti, m_dropped);
			cell(&s, "%.0f", false);
			if (ti)
				printf(" %s", who(p, ti));
			s = over_reps(p, ti, m_dropped_crit);
			cell(&s, "%.0f", false);
			s = over_reps(p, ti, m_cpu_ms);
			cell(&s, "%.0f", false);
			s = over_reps(p, ti, m_cpu_per_kev);
			cell(&s, "%.0f", false);
		} else {
			s = over_reps(p, ti, m_delivered_per_s);
			cell(&s, "%.0f", true);
			s = over_reps(p, ti, m_drain_vs_rb);
			cell(&s, "%.2fx", true);
			s = over_reps(p, ti, m_delivered);
			cell(&s, "%.0f", false);
			s = over_reps(p, ti, m_cpu_per_kev);
			cell(&s, "%.0f", false);
			s = over_reps(p, ti, m_fill_ns);
			cell(&s, "%.0f", true);
			s = over_reps(p, ti, m_fill_vs_rb);
			cell(&s, "%.2fx", true);
		}
		printf(" |\n");
	}
	/* The same, as JSON: one summary line per transport. */
	for (ti = 0; ti < NR_TR; ti++) {
		struct spread s;

		if (!part_runs(p, ti))
			continue;
		printf("BENCH {\"kind\":\"summary\",\"part\":\"%s\",\"transport\":\"%s\"",
		       part_names[p], tr_name(ti));
		s = over_reps(p, ti, m_time);
		json_spread("seconds", &s);
		s = over_reps(p, ti, m_slowdown);
		json_spread("slowdown", &s);
		s = over_reps(p, ti, m_overhead_ns);
		json_spread("overhead_ns_per_event", &s);
		s = over_reps(p, ti, m_overhead_vs_rb);
		json_spread("overhead_vs_bpf_ringbuf", &s);
		s = over_reps(p, ti, m_delivered_per_s);
		json_spread("delivered_per_s", &s);
		s = over_reps(p, ti, m_drain_vs_rb);
		json_spread("drain_vs_bpf_ringbuf", &s);
		s = over_reps(p, ti, m_fill_ns);
		json_spread("producer_only_ns_per_event", &s);
		s = over_reps(p, ti, m_fill_vs_rb);
		json_spread("producer_only_vs_bpf_ringbuf", &s);
		s = over_reps(p, ti, m_dropped);
		json_spread("dropped", &s);
		s = over_reps(p, ti, m_dropped_crit);
		json_spread("dropped_critical", &s);
		s = over_reps(p, ti, m_survival);
		json_spread("marker_survival_pct", &s);
		s = over_reps(p, ti, m_flood_rate);
		json_spread("flood_rate_vs_untraced", &s);
		s = over_reps(p, ti, m_cpu_ms);
		json_spread("consumer_cpu_ms", &s);
		printf(",\"who_counted_drops\":\"%s\"}\n", ti ? who(p, ti) : "-");
	}
	fflush(stdout);
}

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

int main(int argc, char **argv)
{
	const char *parts = env_or("MPMCRING_EVB_PARTS", "syscalls,storm,flood,drain");
	unsigned int rep, k;
	int opt, p;

	reps = (unsigned int)atoi(env_or("MPMCRING_EVB_REPS", "5"));
	n_syscalls = strtoull(env_or("MPMCRING_EVB_SYSCALLS", "20000"), NULL, 0);
	n_storm = (unsigned int)atoi(env_or("MPMCRING_EVB_STORM", "100"));
	flood_s = atof(env_or("MPMCRING_EVB_FLOOD_S", "3"));
	n_drain = strtoull(env_or("MPMCRING_EVB_DRAIN", "100000"), NULL, 0);
	flood_work = (unsigned int)atoi(env_or("MPMCRING_EVB_FLOOD_WORK", "2000"));
	while ((opt = getopt(argc, argv, "r:n:k:d:D:p:")) != -1) {
		switch (opt) {
		case 'r':
			reps = (unsigned int)atoi(optarg);
			break;
		case 'n':
			n_syscalls = strtoull(optarg, NULL, 0);
			break;
		case 'k':
			n_storm = (unsigned int)atoi(optarg);
			break;
		case 'd':
			flood_s = atof(optarg);
			break;
		case 'D':
			n_drain = strtoull(optarg, NULL, 0);
			break;
		case 'p':
			parts = optarg;
			break;
		default:
			fprintf(stderr, "usage: evbench [-r REPS] [-n SYSCALLS] [-k STORM] "
					"[-d FLOOD_S] [-D DRAIN] [-p PARTS]\n");
			return 2;
		}
	}
	if (!reps || reps > MAX_REPS) {
		fprintf(stderr, "evbench: repetitions must be 1-%d\n", MAX_REPS);
		return 2;
	}
	ncpu = (unsigned int)sysconf(_SC_NPROCESSORS_ONLN);
	printf("evbench: %u vCPUs, %u repetitions, parts %s\n", ncpu, reps, parts);
	for (p = 0; p < NR_PARTS; p++) {
		if (!strstr(parts, part_names[p]))
			continue;
		for (rep = 0; rep < reps; rep++) {
			printf("# %s: repetition %u of %u\n", part_names[p], rep + 1, reps);
			fflush(stdout);
			/* Every transport once, in an order that rotates. */
			for (k = 0; k < NR_TR; k++) {
				int ti = (int)((k + rep) % NR_TR);

				if (part_runs((enum part)p, ti))
					run_one((enum part)p, ti, rep);
			}
		}
		report((enum part)p);
	}
	for (p = 0; p < NR_PARTS; p++)
		for (k = 0; k < NR_TR; k++)
			for (rep = 0; rep < reps; rep++)
				if (strstr(parts, part_names[p]) &&
				    part_runs((enum part)p, (int)k) && !res[p][k][rep].ok) {
					fprintf(stderr, "evbench: %s with %s failed\n",
						part_names[p], tr_name((int)k));
					return 1;
				}
	return 0;
}
