// SPDX-License-Identifier: GPL-2.0-only
/*
 * What every consumer of the race does with each event, whatever the
 * transport: decode it (checked, in place), count it by type, and note a
 * marker program's exec. The same work per event for every transport.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evbench.h"

static uint64_t marker_bits[PID_BITS / 64];
unsigned int acc_work;

void markers_reset(void)
{
	memset(marker_bits, 0, sizeof(marker_bits));
}

bool marker_seen(pid_t pid)
{
	uint32_t p = (uint32_t)pid % PID_BITS;

	return __atomic_load_n(&marker_bits[p / 64], __ATOMIC_RELAXED) & (1ULL << (p % 64));
}

/* An agent's own processing of an event (parsing, rules, shipping),
 * stood in for by a hash loop of acc_work rounds over its header. */
static void agent_work(const struct mpmcring_event *ev)
{
	uint64_t h = ev->hdr.ts_ns ^ ev->hdr.pid;
	unsigned int i;

	for (i = 0; i < acc_work; i++)
		h = (h ^ (h >> 29)) * 0xbf58476d1ce4e5b9ULL + i;
	__asm__ volatile("" : : "r"(h));
}

void acc_event(struct cons_acc *a, const struct mpmcring_event *ev)
{
	if (acc_work)
		agent_work(ev);
	if (!(a->delivered % CHUNK)) {
		struct timespec ts;
		double t;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		t = ts.tv_sec * 1e9 + ts.tv_nsec;
		if (a->chunk_t0 > 0 && a->nchunks < MAX_CHUNKS)
			a->chunk_ns[a->nchunks++] = (float)((t - a->chunk_t0) / CHUNK);
		a->chunk_t0 = t;
	}
	a->delivered++;
	a->per_type[ev->hdr.type]++;
	if (ev->hdr.type == MPMCRING_EV_EXEC && ev->str_len == sizeof(MARKER_PATH) - 1 &&
	    !memcmp(ev->str, MARKER_PATH, sizeof(MARKER_PATH) - 1)) {
		uint32_t p = ev->hdr.pid % PID_BITS;

		__atomic_fetch_or(&marker_bits[p / 64], 1ULL << (p % 64), __ATOMIC_RELAXED);
		a->markers++;
	}
}

void acc_add(struct cons_acc *sum, const struct cons_acc *a)
{
	unsigned int t;

	sum->delivered += a->delivered;
	sum->bad += a->bad;
	sum->revoked += a->revoked;
	sum->markers += a->markers;
	sum->cpu_s += a->cpu_s;
	for (t = 0; t < a->nchunks && sum->nchunks < MAX_CHUNKS; t++)
		sum->chunk_ns[sum->nchunks++] = a->chunk_ns[t];
	for (t = 0; t < MPMCRING_EV_NR_TYPES; t++)
		sum->per_type[t] += a->per_type[t];
}

double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct lat work_lat;

void lat_of(double *v, size_t n, struct lat *l)
{
	size_t i, keep;
	double sum = 0;

	l->med_ns = l->tmean_ns = 0;
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_double);
	l->med_ns = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	keep = n - n / 20;
	for (i = 0; i < keep; i++)
		sum += v[i];
	l->tmean_ns = sum / keep;
}
