// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reservation scaling, producers only: P threads (1, 2, 4 ... every CPU)
 * run the module's producer path (hostring: reserve, copy, commit) into
 * one big ring with no consumer, each until the ring is full; records/s
 * from the first start to the last reservation. What it measures is the
 * shared reservation line (prod_pos) under P producers plus each
 * producer's own work: the quantity docs/scaling.md models from the
 * machine's line-transfer and CAS costs (limits.csv). Written to
 * DIR/scale.csv; bench/report/ prints the model next to it.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "hostring.h"

#define SCALE_REPS 5
#define SCALE_CHUNK 4096 /* impl_ours.c's ours_chunk */

struct scale_thread {
	struct hostring *h;
	unsigned int idx;
	uint32_t size;
	bool chunked;
	pthread_barrier_t *bar;
	uint64_t records;
	double t0, t1;
} __attribute__((aligned(HB_CACHELINE)));

static void *scale_producer(void *arg)
{
	struct scale_thread *t = arg;
	unsigned char *src = aligned_alloc(HB_CACHELINE, t->size);
	cpu_set_t set;
	uint64_t pos;

	if (!src)
		exit(2);
	hb_rec_init(src, t->size);
	CPU_ZERO(&set);
	CPU_SET(hb_cpu(t->idx) < 0 ? 0 : hb_cpu(t->idx), &set);
	if (hb_cpu(t->idx) >= 0)
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	pthread_barrier_wait(t->bar);
	t->t0 = hb_now();
	for (;;) {
		hb_rec_fill(src, t->size, t->idx, t->records);
		if (t->chunked
			    ? hostring_reserve_chunked(t->h, t->idx, t->size,
						       MPMCRING_PRIO_CRITICAL, &pos)
			    : hostring_reserve(t->h, t->idx, t->size, MPMCRING_PRIO_CRITICAL, &pos))
			break; /* full: this producer is done */
		memcpy(hostring_payload(t->h, pos), src, t->size);
		hostring_commit(t->h, t->idx, pos, t->size);
		t->records++;
	}
	t->t1 = hb_now();
	hostring_chunk_close(t->h, t->idx);
	free(src);
	return NULL;
}

/* Records/s of p producers filling a ring of ring_bytes (chunk_bytes:
 * chunked reservation, 0: one reservation per record). */
static double scale_once(unsigned int p, uint32_t size, uint64_t ring_bytes, uint64_t chunk_bytes)
{
	struct hostring_params hp = { .size = ring_bytes,
				      .gshift = 3,
				      .producers = p,
				      .max_consumers = 1,
				      .watermarks = true,
				      .chunk_bytes = chunk_bytes };
	struct scale_thread *t = aligned_alloc(HB_CACHELINE, p * sizeof(*t));
	pthread_t *th = calloc(p, sizeof(*th));
	struct hostring h;
	pthread_barrier_t bar;
	double t0 = 0, t1 = 0;
	uint64_t n = 0;
	unsigned int i;

	if (!t || !th || hostring_init(&h, &hp)) {
		fprintf(stderr, "hostbench: scale: setup failed\n");
		exit(2);
	}
	/* Fault the stamps' and the data's pages in: the measurement is of
	 * the protocol, not of page faults. Zero is no position's stamp. */
	memset(h.v.stamps, 0, (ring_bytes >> hp.gshift) * sizeof(uint64_t));
	memset(h.v.data, 0, ring_bytes);
	pthread_barrier_init(&bar, NULL, p);
	for (i = 0; i < p; i++) {
		t[i] = (struct scale_thread){
			.h = &h, .idx = i, .size = size, .chunked = chunk_bytes, .bar = &bar
		};
		if (pthread_create(&th[i], NULL, scale_producer, &t[i]))
			exit(2);
	}
	for (i = 0; i < p; i++) {
		pthread_join(th[i], NULL);
		if (!i || t[i].t0 < t0)
			t0 = t[i].t0;
		if (t[i].t1 > t1)
			t1 = t[i].t1;
		n += t[i].records;
	}
	if (n != hostring_produced(&h)) {
		fprintf(stderr, "hostbench: scale: %llu records counted, %llu produced\n",
			(unsigned long long)n, (unsigned long long)hostring_produced(&h));
		exit(1);
	}
	pthread_barrier_destroy(&bar);
	hostring_destroy(&h);
	free(t);
	free(th);
	return n / (t1 - t0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void hb_scale(const char *dir, bool quick)
{
	uint64_t ring = quick ? 8 << 20 : 32 << 20;
	double v[SCALE_REPS], med;
	unsigned int p, k, c, cpus = hb_ncpus();
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/scale.csv", dir);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(2);
	}
	fprintf(f, "impl,producers,size,records_per_s\n");
	printf("\nReservation scaling, producers only (64 B records, median of %d):\n", SCALE_REPS);
	for (p = 1;; p = 2 * p > cpus ? cpus : 2 * p) {
		/* One reservation per record, then 4 KiB chunks. */
		for (c = 0; c < 2; c++) {
			for (k = 0; k < SCALE_REPS; k++)
				v[k] = scale_once(p, 64, ring, c ? SCALE_CHUNK : 0);
			qsort(v, SCALE_REPS, sizeof(*v), cmp_double);
			med = v[SCALE_REPS / 2];
			printf("  %2u producer%s%s: %.1f Mrecords/s (%.1f per producer)\n", p,
			       p > 1 ? "s" : " ", c ? ", chunks" : "        ", med / 1e6,
			       med / 1e6 / p);
			fprintf(f, "%s,%u,64,%.0f\n", c ? "ours_chunk" : "ours", p, med);
		}
		if (p == cpus)
			break;
	}
	fclose(f);
	fflush(stdout);
}
