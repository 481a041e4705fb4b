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
 *   storm     one process on CPU 0: fork, exec the marker, wait, K times;
 *             a process made before any ring is mapped (spawn.c)
 *   flood     one thread per vCPU: getppid() flat out (catch-all on: one
 *             low-priority event each), the marker exec'd every 10 ms; the
 *             consumers do an agent's work per event (a hash loop of
 *             MPMCRING_EVB_FLOOD_WORK rounds), so that they cannot keep up
 *   drain     N open events into a ring nobody reads, then the consumers
 *             drain it: records/s of consumption alone
 *
 * Every operation of a workload is timed on its own (an openat+close, a
 * fork+exec+wait, a chunk of 64 flood syscalls; 256 events of a draining
 * consumer), and each traced run is paired with an untraced run just before
 * it: on a host shared with other work, a vCPU is now and then descheduled
 * for milliseconds, which the median operation does not see and the total
 * time does. Repetitions run every transport in an order that changes (the
 * host benchmark's, bench/host/order.c); the tables give medians (min to
 * max) over repetitions, ratios taken within a repetition.
 *
 *   evbench [-r REPS] [-n SYSCALLS] [-k STORM] [-d FLOOD_S]
 *           [-D DRAIN_EVENTS] [-p PARTS]     PARTS: syscalls,storm,flood,drain
 *
 * Defaults from the environment (the guest's kernel command line):
 * MPMCRING_EVB_REPS, _SYSCALLS, _STORM, _FLOOD_S, _DRAIN, _PARTS; _PROFILE=1
 * marks each workload for bench/tcgprof/insn_prof.so (prof.c).
 * Output: tables, and one "BENCH {json}" line per run and per summary row.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evbench.h"
#include "order.h"

enum part { SYSCALLS, STORM, FLOOD, DRAIN, NR_PARTS };
static const char *const part_names[NR_PARTS] = { "syscalls", "storm", "flood", "drain" };

#define MAX_REPS 28 /* a whole block of the order (bench/host/order.c) for 14 transports */
#define NR_TR 14

/* NULL: untraced. */
static const struct transport *const transports[NR_TR] = {
	NULL,
	&tr_ring1_eager,
	&tr_ring1,
	&tr_ring2,
	&tr_ring4,
	&tr_bpf_ring1,
	&tr_bpf_ring2,
	&tr_bpf_ringbuf,
	&tr_bpf_ringbuf_batch,
	&tr_bpf_query,
	&tr_bpf_perf,
	&tr_bpf_perf_batch,
	&tr_bpf_ring1_admit,
	&tr_ring1_chunked,
};
enum {
	T_NONE,
	T_RING1E,
	T_RING1,
	T_RING2,
	T_RING4,
	T_BRING1,
	T_BRING2,
	T_RB,
	T_RBB,
	T_RBQ,
	T_PERF,
	T_PERFB,
	T_BADM1,
	T_RING1C,
};
_Static_assert(T_RING1C + 1 == NR_TR, "a transport without its T_ name, or the other way");
/* MPMCRING_EVB_TRANSPORTS: which run (names of the table rows, by the
 * short names below; default all). */
static const char *const tr_short[NR_TR] = {
	"untraced", "ring1e", "ring1", "ring2", "ring4", "bpfring1", "bpfring2",
	"rb",	    "rbb",    "rbq",   "perf",	"perfb", "bpfadm1",  "ring1c",
};
static const char *tr_only;

static unsigned int reps = 7;
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
	struct lat base_lat, base_ctl;
	double t;	/* workload seconds (drain: consume seconds) */
	double fill_t;	/* drain: seconds of the openat loop that filled it */
	struct lat lat; /* the workload's operations (drain: the fill's) */
	struct lat ctl; /* syscalls, drain: the interleaved open(2) calls */
	uint64_t work;	/* syscalls, execs, flood syscalls, events */
	unsigned int markers_run, markers_got;
	struct tr_stats st;
};

static struct result res[NR_PARTS][NR_TR][MAX_REPS];

static const char *tr_name(int i)
{
	return transports[i] ? transports[i]->name : "untraced";
}

static bool tr_selected(int i)
{
	char key[32];

	if (!tr_only || !*tr_only)
		return true;
	snprintf(key, sizeof(key), ",%s,", tr_short[i]);
	return strstr(tr_only, key) != NULL;
}

static bool part_runs(enum part p, int i)
{
	if (!tr_selected(i))
		return false;
	/* Draining: no consumer while filling, so wakeup policies play no
	 * part but perf's (it queues a wakeup per sample with no one
	 * waiting); no policy either. */
	if (p == DRAIN)
		return i != T_NONE && i != T_RBQ && i != T_BADM1 && i != T_RING1E && i != T_RBB;
	/* The BPF transports woken per 16 KiB answer the per-event cost
	 * question (syscalls, storm; drain's fill); the flood is decided by
	 * other things. */
	if (i == T_RBB || i == T_PERFB)
		return p == SYSCALLS || p == STORM;
	return true;
}

/* The workload of a part; returns seconds, sets *work and *l. */
static double workload(enum part p, uint64_t *work, struct lat *l, struct lat *ctl,
		       struct flood_result *fr)
{
	double t;

	switch (p) {
	case SYSCALLS:
		*work = n_syscalls;
		t = work_syscalls(n_syscalls);
		break;
	case STORM:
		*work = n_storm;
		t = spawn_storm(n_storm);
		break;
	case FLOOD:
		work_flood(ncpu, flood_s, fr);
		*work = fr->syscalls;
		t = fr->failed ? -1 : fr->seconds;
		break;
	default:
		t = work_syscalls(n_drain);
		*work = n_drain;
		break;
	}
	*l = work_lat;
	*ctl = work_lat_ctl;
	return t;
}

static double median_chunk(const struct cons_acc *a)
{
	double v[MAX_CHUNKS];
	struct lat l;
	unsigned int i;

	for (i = 0; i < a->nchunks; i++)
		v[i] = a->chunk_ns[i];
	lat_of(v, a->nchunks, &l);
	return a->nchunks ? l.med_ns : NAN;
}

static void run_one(enum part p, int ti, unsigned int rep)
{
	const struct transport *ops = transports[ti];
	struct result *r = &res[p][ti][rep];
	struct tr t = { .ops = ops };
	static struct flood_result fr;
	unsigned int i, win;
	double t0;

	memset(r, 0, sizeof(*r));
	t.cfg.catchall = p == FLOOD;
	/* The flood gets 1 MiB buffers: a burst a consumer cannot absorb
	 * must show; the others 4 MiB; draining 64 MiB. */
	t.cfg.ring_bytes = p == DRAIN ? 64ULL << 20 : p == FLOOD ? 1ULL << 20 : 4ULL << 20;
	t.cfg.deferred = p == DRAIN;
	/* The openat loop and the storm run on CPU 0, their consumers on
	 * the others. */
	t.cfg.consumer_cpu = (p == SYSCALLS || p == STORM) && ncpu > 1 ? 1 : -1;
	/* Each traced run is paired with an untraced one just before it:
	 * on a shared host, the pair sees the same load. */
	if (ops) {
		prof_open();
		r->base_t = workload(p, &r->base_work, &r->base_lat, &r->base_ctl, &fr);
		prof_close(part_names[p], tr_name(ti), rep, "untraced", r->base_work);
	}
	markers_reset();
	acc_work = p == FLOOD ? flood_work : 0;
	if (ops && ops->start(&t))
		return;
	prof_open();
	if (p == DRAIN) {
		r->fill_t = workload(p, &r->work, &r->lat, &r->ctl, &fr);
		prof_ksyms(prof_close(part_names[p], tr_name(ti), rep, "traced", r->work));
		prof_open();
		t0 = now_s();
		ops->consume(&t);
		r->t = now_s() - t0;
		prof_close(part_names[p], tr_name(ti), rep, "consume", r->work);
	} else {
		r->t = workload(p, &r->work, &r->lat, &r->ctl, &fr);
		win = prof_close(part_names[p], tr_name(ti), rep, ops ? "traced" : "untraced",
				 r->work);
		if (ops)
			prof_ksyms(win);
		if (!ops) {
			r->base_t = r->t;
			r->base_work = r->work;
			r->base_lat = r->lat;
			r->base_ctl = r->ctl;
		}
		if (p == FLOOD)
			r->markers_run = fr.markers;
	}
	if (ops)
		ops->stop(&t, &r->st);
	/* A marker that failed (said above) voids the run: not ok. */
	if (r->t < 0 || r->base_t < 0)
		return;
	if (p == FLOOD)
		for (i = 0; i < fr.markers; i++)
			r->markers_got += marker_seen(fr.pids[i]);
	r->ok = true;
	printf("BENCH {\"kind\":\"run\",\"part\":\"%s\",\"transport\":\"%s\",\"rep\":%u,"
	       "\"seconds\":%.6f,\"untraced_seconds\":%.6f,\"untraced_work\":%llu,"
	       "\"op_median_ns\":%.1f,\"op_mean95_ns\":%.1f,"
	       "\"untraced_op_median_ns\":%.1f,\"untraced_op_mean95_ns\":%.1f,"
	       "\"control_median_ns\":%.1f,\"untraced_control_median_ns\":%.1f,"
	       "\"consume_chunk_median_ns\":%.1f,"
	       "\"fill_seconds\":%.6f,\"work\":%llu,\"delivered\":%llu,\"bad\":%llu,\"revoked\":%llu,"
	       "\"dropped\":%llu,\"shed\":%llu,\"dropped_low\":%llu,\"dropped_critical\":%llu,"
	       "\"consumer_cpu_s\":%.6f,\"markers_run\":%u,\"markers_delivered\":%u}\n",
	       part_names[p], tr_name(ti), rep, r->t, r->base_t, (unsigned long long)r->base_work,
	       r->lat.med_ns, r->lat.tmean_ns, r->base_lat.med_ns, r->base_lat.tmean_ns,
	       r->ctl.med_ns, r->base_ctl.med_ns, p == DRAIN ? median_chunk(&r->st.acc) : 0.0,
	       r->fill_t, (unsigned long long)r->work, (unsigned long long)r->st.acc.delivered,
	       (unsigned long long)r->st.acc.bad, (unsigned long long)r->st.acc.revoked,
	       (unsigned long long)r->st.dropped, (unsigned long long)r->st.shed,
	       (unsigned long long)r->st.dropped_low, (unsigned long long)r->st.dropped_crit,
	       r->st.acc.cpu_s, r->markers_run, r->markers_got);
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

static const struct spread no_spread = { NAN, NAN, NAN, 0 };

static struct spread spread_of(double *v, unsigned int n)
{
	struct spread s = no_spread;

	if (!n)
		return s;
	qsort(v, n, sizeof(*v), cmp_double);
	s.n = n;
	s.min = v[0];
	s.max = v[n - 1];
	s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return s;
}

/* A value per repetition where that repetition's run worked. */
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

/* The same metric over the same repetition of transport base: a ratio. */
static double vs_tr(enum part p, int base, int ti, unsigned int rep, metric_fn f)
{
	double mine, theirs;

	if (!res[p][base][rep].ok)
		return NAN;
	mine = f(p, ti, rep);
	theirs = f(p, base, rep);
	return theirs > 0 ? mine / theirs : NAN;
}

/* Against BPF ringbuf as libbpf sets it up: woken per record. */
static double vs_rb(enum part p, int ti, unsigned int rep, metric_fn f)
{
	return vs_tr(p, T_RB, ti, rep, f);
}

/*
 * Against BPF ringbuf woken per 16 KiB, as mpmcring's batched consumers
 * are: against the per-record default they look several times cheaper
 * for their wakeups alone. "-" where that row did not run.
 */
static double vs_rbb(enum part p, int ti, unsigned int rep, metric_fn f)
{
	return vs_tr(p, T_RBB, ti, rep, f);
}

static double r_events(const struct result *r)
{
	return (double)(r->st.acc.delivered + r->st.dropped + r->st.shed);
}

static double m_op_us(enum part p, int ti, unsigned int rep)
{
	return res[p][ti][rep].lat.med_ns / 1e3;
}

/* Events per operation: an openat + close has one, a fork + exec + wait
 * three (fork, exec, exit). */
static double per_op(enum part p)
{
	return p == STORM ? 3.0 : 1.0;
}

/* What tracing added to the median operation, per event. */
static double m_added_med(enum part p, int ti, unsigned int rep)
{
	const struct result *r = &res[p][ti][rep];

	return (r->lat.med_ns - r->base_lat.med_ns) / per_op(p);
}

/* ... and to the mean of the fastest 95% (wakeups included). */
static double m_added_mean(enum part p, int ti, unsigned int rep)
{
	const struct result *r = &res[p][ti][rep];

	return (r->lat.tmean_ns - r->base_lat.tmean_ns) / per_op(p);
}

static double m_added_med_vs_rb(enum part p, int ti, unsigned int rep)
{
	return vs_rb(p, ti, rep, m_added_med);
}

static double m_added_mean_vs_rb(enum part p, int ti, unsigned int rep)
{
	return vs_rb(p, ti, rep, m_added_mean);
}

static double m_added_med_vs_rbb(enum part p, int ti, unsigned int rep)
{
	return vs_rbb(p, ti, rep, m_added_med);
}

static double m_added_mean_vs_rbb(enum part p, int ti, unsigned int rep)
{
	return vs_rbb(p, ti, rep, m_added_mean);
}

/* syscalls, drain's fill: median openat minus median open(2), same run:
 * what producing one event costs. */
static double m_event_cost(enum part p, int ti, unsigned int rep)
{
	const struct result *r = &res[p][ti][rep];

	return r->ctl.med_ns > 0 ? r->lat.med_ns - r->ctl.med_ns : NAN;
}

static double m_event_cost_vs_rb(enum part p, int ti, unsigned int rep)
{
	return vs_rb(p, ti, rep, m_event_cost);
}

static double m_event_cost_vs_rbb(enum part p, int ti, unsigned int rep)
{
	return vs_rbb(p, ti, rep, m_event_cost);
}

/* syscalls: what the probe alone adds to a syscall nobody records. */
static double m_probe_cost(enum part p, int ti, unsigned int rep)
{
	const struct result *r = &res[p][ti][rep];

	return r->base_ctl.med_ns > 0 ? r->ctl.med_ns - r->base_ctl.med_ns : NAN;
}

static double m_slowdown(enum part p, int ti, unsigned int rep)
{
	const struct result *r = &res[p][ti][rep];

	return r->base_t > 0 ? r->t / r->base_t : NAN;
}

/* Flood: the median syscall's cost, relative to untraced. */
static double m_flood_cost(enum part p, int ti, unsigned int rep)
{
	const struct result *r = &res[p][ti][rep];

	return r->base_lat.med_ns > 0 ? r->lat.med_ns / r->base_lat.med_ns : NAN;
}

static double m_delivered_per_s(enum part p, int ti, unsigned int rep)
{
	const struct result *r = &res[p][ti][rep];

	return r->t > 0 ? r->st.acc.delivered / r->t : NAN;
}

static double m_drain_vs_rb(enum part p, int ti, unsigned int rep)
{
	return vs_rb(p, ti, rep, m_delivered_per_s);
}

/* Drain: ns per event a consumer thread spends, median chunk. */
static double m_consume_ns(enum part p, int ti, unsigned int rep)
{
	return median_chunk(&res[p][ti][rep].st.acc);
}

static double m_consume_vs_rb(enum part p, int ti, unsigned int rep)
{
	return vs_rb(p, ti, rep, m_consume_ns);
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

/* Consumer CPU per event delivered, microseconds. */
static double m_cpu_per_ev(enum part p, int ti, unsigned int rep)
{
	const struct result *r = &res[p][ti][rep];

	return r->st.acc.delivered ? r->st.acc.cpu_s * 1e6 / r->st.acc.delivered : NAN;
}

static double m_survival(enum part p, int ti, unsigned int rep)
{
	const struct result *r = &res[p][ti][rep];

	return r->markers_run ? 100.0 * r->markers_got / r->markers_run : NAN;
}

static double m_events(enum part p, int ti, unsigned int rep)
{
	return r_events(&res[p][ti][rep]);
}

/* Events a consumer could not use: undecodable, or read from a revoked claim. */
static double m_bad(enum part p, int ti, unsigned int rep)
{
	return res[p][ti][rep].st.acc.bad + res[p][ti][rep].st.acc.revoked;
}

static void cell(enum part p, int ti, metric_fn f, const char *fmt, bool range)
{
	struct spread s = over_reps(p, ti, f);
	char a[32], b[32], c[32];

	if (!s.n || isnan(s.med)) {
		printf(" | -");
		return;
	}
	snprintf(a, sizeof(a), fmt, s.med);
	if (!range || s.n < 2) {
		printf(" | %s", a);
		return;
	}
	snprintf(b, sizeof(b), fmt, s.min);
	snprintf(c, sizeof(c), fmt, s.max);
	printf(" | %s (%s to %s)", a, b, c);
}

static void json_spread(enum part p, int ti, const char *key, metric_fn f)
{
	struct spread s = over_reps(p, ti, f);

	if (!s.n || isnan(s.med))
		printf(",\"%s\":null", key);
	else
		printf(",\"%s\":{\"median\":%.6g,\"min\":%.6g,\"max\":%.6g}", key, s.med, s.min,
		       s.max);
}

static const char *who(enum part p, int ti)
{
	unsigned int rep;

	for (rep = 0; rep < reps; rep++)
		if (res[p][ti][rep].ok && res[p][ti][rep].st.who)
			return res[p][ti][rep].st.who;
	return "-";
}

/* What the two ratio columns compare with: vs_rb(), vs_rbb(). */
static const char vs_rb_says[] =
	"ratios against BPF ringbuf woken per record (libbpf's default) and woken "
	"per 16 KiB (as mpmcring's batched consumers are; - where that row did not run)";

static void report_header(enum part p)
{
	printf("\n## %s", part_names[p]);
	switch (p) {
	case SYSCALLS:
		printf(" (openat+close x %llu on one thread, one open event each, in blocks of 64 "
		       "alternating with open(2)+close, which nobody records)\n"
		       "medians over %u repetitions (min to max); every call timed; %s\n\n",
		       (unsigned long long)n_syscalls, reps, vs_rb_says);
		printf("| transport | median openat us | event cost ns (openat - open, same run) | "
		       "vs BPF ringbuf per record | per 16 KiB | "
		       "probe cost on an unrecorded syscall ns | "
		       "ns/event added vs untraced run (mean of fastest 95%%) | "
		       "vs BPF ringbuf per record | per 16 KiB | "
		       "events | dropped | consumer CPU us/event | bad or revoked |\n");
		printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
		break;
	case STORM:
		printf(" (fork+exec+wait x %u on CPU 0, from a process that maps no ring: "
		       "fork, exec, exit events)\n"
		       "medians over %u repetitions (min to max); every fork+exec+wait timed, "
		       "each traced run against the untraced run just before it; %s\n\n",
		       n_storm, reps, vs_rb_says);
		printf("| transport | median op us | ns/event added (median op) | "
		       "vs BPF ringbuf per record | per 16 KiB | "
		       "ns/event added (mean of fastest 95%%) | vs BPF ringbuf per record | "
		       "per 16 KiB | wall-time slowdown | events | dropped | "
		       "consumer CPU us/event | bad or revoked |\n");
		printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
		break;
	case FLOOD:
		printf(" (getppid flat out on %u threads, catch-all on, marker exec every 10 ms, "
		       "%.1f s, 1 MiB buffers, %u rounds of agent work per event)\n"
		       "medians over %u repetitions (min to max)\n\n",
		       ncpu, flood_s, flood_work, reps);
		printf("| transport | marker execs delivered %% | median syscall vs untraced | "
		       "events/s delivered | dropped | who counted | critical dropped | "
		       "consumer CPU ms |\n");
		printf("|---|---:|---:|---:|---:|---|---:|---:|\n");
		break;
	default:
		printf(" (%llu open events in a 64 MiB buffer with no consumer, then consumed)\n"
		       "medians over %u repetitions (min to max)\n\n",
		       (unsigned long long)n_drain, reps);
		printf("| transport | events/s drained (wall) | vs BPF ringbuf | "
		       "consumer ns/event (median chunk) | vs BPF ringbuf | "
		       "event cost ns while filling, no consumer (openat - open) | vs BPF ringbuf |\n");
		printf("|---|---:|---:|---:|---:|---:|---:|\n");
		break;
	}
}

static void report(enum part p)
{
	int ti;

	report_header(p);
	for (ti = 0; ti < NR_TR; ti++) {
		if (!part_runs(p, ti))
			continue;
		printf("| %s", tr_name(ti));
		if (p == SYSCALLS) {
			cell(p, ti, m_op_us, "%.1f", true);
			cell(p, ti, m_event_cost, "%.0f", true);
			if (ti) {
				cell(p, ti, m_event_cost_vs_rb, "%.2fx", true);
				cell(p, ti, m_event_cost_vs_rbb, "%.2fx", true);
				cell(p, ti, m_probe_cost, "%.0f", true);
				cell(p, ti, m_added_mean, "%.0f", true);
				cell(p, ti, m_added_mean_vs_rb, "%.2fx", true);
				cell(p, ti, m_added_mean_vs_rbb, "%.2fx", true);
			} else {
				printf(" | - | - | - | - | - | -");
			}
			cell(p, ti, m_events, "%.0f", false);
			cell(p, ti, m_dropped, "%.0f", false);
			cell(p, ti, m_cpu_per_ev, "%.1f", false);
			cell(p, ti, m_bad, "%.0f", false);
		} else if (p == STORM) {
			cell(p, ti, m_op_us, "%.1f", true);
			if (ti) {
				cell(p, ti, m_added_med, "%.0f", true);
				cell(p, ti, m_added_med_vs_rb, "%.2fx", true);
				cell(p, ti, m_added_med_vs_rbb, "%.2fx", true);
				cell(p, ti, m_added_mean, "%.0f", true);
				cell(p, ti, m_added_mean_vs_rb, "%.2fx", true);
				cell(p, ti, m_added_mean_vs_rbb, "%.2fx", true);
				cell(p, ti, m_slowdown, "%.2f", true);
			} else {
				printf(" | - | - | - | - | - | - | -");
			}
			cell(p, ti, m_events, "%.0f", false);
			cell(p, ti, m_dropped, "%.0f", false);
			cell(p, ti, m_cpu_per_ev, "%.1f", false);
			cell(p, ti, m_bad, "%.0f", false);
		} else if (p == FLOOD) {
			if (ti)
				cell(p, ti, m_survival, "%.1f", true);
			else
				printf(" | -");
			cell(p, ti, m_flood_cost, "%.2f", true);
			cell(p, ti, m_delivered_per_s, "%.0f", false);
			cell(p, ti, m_dropped, "%.0f", false);
			printf(" | %s", ti ? who(p, ti) : "-");
			cell(p, ti, m_dropped_crit, "%.0f", false);
			cell(p, ti, m_cpu_ms, "%.0f", false);
		} else {
			cell(p, ti, m_delivered_per_s, "%.0f", true);
			cell(p, ti, m_drain_vs_rb, "%.2fx", true);
			cell(p, ti, m_consume_ns, "%.0f", true);
			cell(p, ti, m_consume_vs_rb, "%.2fx", true);
			cell(p, ti, m_event_cost, "%.0f", true);
			cell(p, ti, m_event_cost_vs_rb, "%.2fx", true);
		}
		printf(" |\n");
	}
	/* The same, as JSON: one summary line per transport. */
	for (ti = 0; ti < NR_TR; ti++) {
		if (!part_runs(p, ti))
			continue;
		printf("BENCH {\"kind\":\"summary\",\"part\":\"%s\",\"transport\":\"%s\"",
		       part_names[p], tr_name(ti));
		json_spread(p, ti, "op_median_us", m_op_us);
		json_spread(p, ti, "added_ns_per_event_median_op", m_added_med);
		json_spread(p, ti, "added_median_op_vs_bpf_ringbuf", m_added_med_vs_rb);
		json_spread(p, ti, "added_median_op_vs_bpf_ringbuf_per_16k", m_added_med_vs_rbb);
		json_spread(p, ti, "added_ns_per_event_mean95", m_added_mean);
		json_spread(p, ti, "added_mean95_vs_bpf_ringbuf", m_added_mean_vs_rb);
		json_spread(p, ti, "added_mean95_vs_bpf_ringbuf_per_16k", m_added_mean_vs_rbb);
		json_spread(p, ti, "wall_slowdown", m_slowdown);
		json_spread(p, ti, "delivered_per_s", m_delivered_per_s);
		json_spread(p, ti, "drain_vs_bpf_ringbuf", m_drain_vs_rb);
		json_spread(p, ti, "consume_ns_per_event", m_consume_ns);
		json_spread(p, ti, "consume_vs_bpf_ringbuf", m_consume_vs_rb);
		json_spread(p, ti, "event_cost_ns", m_event_cost);
		json_spread(p, ti, "event_cost_vs_bpf_ringbuf", m_event_cost_vs_rb);
		json_spread(p, ti, "event_cost_vs_bpf_ringbuf_per_16k", m_event_cost_vs_rbb);
		json_spread(p, ti, "probe_cost_ns", m_probe_cost);
		json_spread(p, ti, "dropped", m_dropped);
		json_spread(p, ti, "dropped_critical", m_dropped_crit);
		json_spread(p, ti, "marker_survival_pct", m_survival);
		json_spread(p, ti, "flood_syscall_cost_vs_untraced", m_flood_cost);
		json_spread(p, ti, "consumer_cpu_ms", m_cpu_ms);
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
	unsigned int rep, k, m;
	int opt, p, runs[NR_TR];

	static char only[256];

	reps = (unsigned int)atoi(env_or("MPMCRING_EVB_REPS", "7"));
	if (getenv("MPMCRING_EVB_TRANSPORTS") && *getenv("MPMCRING_EVB_TRANSPORTS")) {
		/* Always the untraced baseline and BPF ringbuf, the ratios' base. */
		snprintf(only, sizeof(only), ",untraced,rb,%s,", getenv("MPMCRING_EVB_TRANSPORTS"));
		tr_only = only;
	}
	n_syscalls = strtoull(env_or("MPMCRING_EVB_SYSCALLS", "20000"), NULL, 0);
	n_storm = (unsigned int)atoi(env_or("MPMCRING_EVB_STORM", "100"));
	flood_s = atof(env_or("MPMCRING_EVB_FLOOD_S", "3"));
	n_drain = strtoull(env_or("MPMCRING_EVB_DRAIN", "100000"), NULL, 0);
	flood_work = (unsigned int)atoi(env_or("MPMCRING_EVB_FLOOD_WORK", "2000"));
	prof_on = atoi(env_or("MPMCRING_EVB_PROFILE", "0")) == 1;
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
	if ((strstr(parts, part_names[STORM]) || strstr(parts, part_names[FLOOD])) && spawn_start())
		return 1;
	for (p = 0; p < NR_PARTS; p++) {
		if (!strstr(parts, part_names[p]))
			continue;
		for (k = 0, m = 0; k < NR_TR; k++)
			if (part_runs((enum part)p, (int)k))
				runs[m++] = (int)k;
		if (reps % hb_order_block(m))
			printf("# %s: %u repetitions are not a whole number of blocks of %u (bench/host/order.c): some transports run at some places, or after some others, more often\n",
			       part_names[p], reps, hb_order_block(m));
		for (rep = 0; rep < reps; rep++) {
			printf("# %s: repetition %u of %u\n", part_names[p], rep + 1, reps);
			fflush(stdout);
			/*
			 * Every transport of the part once, in the host
			 * benchmark's order (bench/host/order.c): which one
			 * runs right before which changes from repetition
			 * to repetition (a rotation kept the same
			 * neighbours every time).
			 */
			for (k = 0; k < m; k++)
				run_one((enum part)p, runs[hb_order_at(m, rep, k)], rep);
		}
		report((enum part)p);
	}
	spawn_stop();
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
