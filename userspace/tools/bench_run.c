// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring bench: consumer threads, each with its own consumer, drain the
 * ring while the load generator's producers fill it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

struct bench_consumer {
	pthread_t th;
	bool started;
	struct mpmcring *r;
	struct mpmcring_consumer *c;
	unsigned int batch;
	atomic_bool *drain;
	_Atomic uint64_t records, bytes;
	double last; /* when it last consumed, monotonic s */
	int err;
	char errmsg[256];
};

static void *bench_consume(void *arg)
{
	struct bench_consumer *bc = arg;
	struct mpmcring_record rec;
	struct mpmcring_batch b;
	unsigned char sink = 0;

	for (;;) {
		/* Read before the claim: drain is set once nothing more comes,
		 * so an empty ring after it was seen set stays empty. */
		bool last = atomic_load(bc->drain);
		int n = mpmcring_read_batch(bc->c, &b, bc->batch, SIZE_MAX);

		if (n > 0) {
			/* Touch every record, as a real consumer would. */
			while (mpmcring_batch_next(&b, &rec))
				sink ^= rec.len ? *(const volatile unsigned char *)rec.data : 0;
			/* Revoked (held past the claim timeout): not consumed;
			 * lost, counted at the end. */
			if (mpmcring_commit(bc->c) == -ESTALE)
				continue;
			atomic_fetch_add_explicit(&bc->records, b.records, memory_order_relaxed);
			atomic_fetch_add_explicit(&bc->bytes, b.bytes, memory_order_relaxed);
			bc->last = now_s();
			continue;
		}
		if (n == -EBUSY)
			continue;
		/* Revoked while it was made: lost (counted at the end). A
		 * commit lets go of anything still held. */
		if (n == -ESTALE) {
			mpmcring_commit(bc->c);
			continue;
		}
		if (n != -EAGAIN) {
			bc->err = n;
			snprintf(bc->errmsg, sizeof(bc->errmsg), "%s", mpmcring_errmsg());
			break;
		}
		/* Empty: done once the producers have stopped for good. */
		if (last)
			break;
		n = mpmcring_wait(bc->r, 20);
		if (n < 0 && n != -EINTR) {
			bc->err = n;
			snprintf(bc->errmsg, sizeof(bc->errmsg), "%s", mpmcring_errmsg());
			break;
		}
	}
	(void)sink;
	return NULL;
}

static uint64_t bench_sum(struct bench_consumer *bc, unsigned int n, bool bytes)
{
	uint64_t s = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		s += atomic_load_explicit(bytes ? &bc[i].bytes : &bc[i].records,
					  memory_order_relaxed);
	return s;
}

/*
 * The ring opened once more for every max_per_file consumers past r's:
 * one open file holds that many slots at most. h[0] is r; h has nh.
 */
static int bench_handles(struct mpmcring *r, struct mpmcring **h, unsigned int nh, unsigned int per)
{
	unsigned int k;

	h[0] = r;
	for (k = 1; k < nh; k++) {
		h[k] = mpmcring_open(BENCH_DEV, 0);
		if (!h[k])
			return cli_error("bench", "%s: opening it again for consumers past %u: %s",
					 BENCH_DEV, k * per, mpmcring_errmsg());
	}
	return CLI_OK;
}

int bench_run(const struct bench_opts *o, struct mpmcring *r, struct bench_result *res)
{
	const struct mpmcring_layout *l = mpmcring_get_layout(r);
	unsigned int per = l->max_per_file ? l->max_per_file : 1;
	/* Open files the consumers need: one per max_per_file of them. */
	unsigned int nh = (unsigned int)((o->consumers + per - 1) / per);
	struct bench_consumer *bc;
	struct mpmcring **h;
	atomic_bool drain = false;
	bool tty = isatty(STDERR_FILENO);
	double t0, next = 1;
	unsigned int i;
	int code = CLI_OK, err;

	if (o->consumers > l->max_consumers)
		return cli_usage(
			"bench",
			"--consumers %llu: the load generator's ring has %u consumer slots",
			(unsigned long long)o->consumers, l->max_consumers);
	bc = calloc(o->consumers, sizeof(*bc));
	h = calloc(nh, sizeof(*h));
	if (!bc || !h) {
		free(bc);
		free(h);
		return cli_error("bench", "out of memory");
	}
	code = bench_handles(r, h, nh, per);
	if (code)
		goto out;
	if (!lg_param("len_min", res->len_min, sizeof(res->len_min)))
		strcpy(res->len_min, "?");
	if (!lg_param("len_max", res->len_max, sizeof(res->len_max)))
		strcpy(res->len_max, "?");
	for (i = 0; i < o->consumers; i++) {
		bc[i].r = h[i / per];
		bc[i].batch = (unsigned int)o->batch;
		bc[i].drain = &drain;
		bc[i].c = mpmcring_consumer_new(bc[i].r);
		if (!bc[i].c) {
			code = cli_error("bench", "%s: consumer %u: %s", BENCH_DEV, i,
					 mpmcring_errmsg());
			goto out;
		}
	}
	t0 = now_s();
	for (i = 0; i < o->consumers; i++) {
		bc[i].last = t0;
		err = pthread_create(&bc[i].th, NULL, bench_consume, &bc[i]);
		if (err) {
			code = cli_error("bench", "starting a consumer thread: %s", strerror(err));
			goto stop;
		}
		bc[i].started = true;
	}
	err = lg_control("start");
	if (err) {
		code = cli_error("bench", "%s/control: %s", LG_DEBUGFS, strerror(-err));
		goto stop;
	}
	for (;;) {
		double t = now_s() - t0;
		/* Consumed first: read after the producers' counters it could
		 * pass them, and the line would show more out than in. */
		uint64_t consumed = bench_sum(bc, o->consumers, false);

		err = lg_read(&res->lt);
		if (err) {
			code = cli_error("bench", "%s/stats: %s", LG_DEBUGFS, strerror(-err));
			break;
		}
		if (res->lt.finished || cli_stop)
			break;
		if (t >= next) {
			bench_progress(t, &res->lt, consumed, tty, false);
			next += 1;
		}
		sleep_s(0.05);
	}
	res->interrupted = cli_stop;
stop:
	/* Returns once no producer is mid-record: nothing more will come. */
	lg_control("stop");
	atomic_store(&drain, true);
	for (i = 0; i < o->consumers; i++) {
		if (!bc[i].started)
			continue;
		pthread_join(bc[i].th, NULL);
		if (bc[i].err && code == CLI_OK)
			code = cli_error("bench", "%s: consumer %u: %s", BENCH_DEV, i,
					 bc[i].errmsg);
		if (bc[i].last - t0 > res->elapsed)
			res->elapsed = bc[i].last - t0;
	}
	for (i = 0; i < o->consumers; i++) {
		struct mpmcring_lost lost = MPMCRING_OPTS(mpmcring_lost);

		/* Each thread's own count: the ring's misses claims revoked
		 * while they were made. */
		if (bc[i].c && !mpmcring_take_lost(bc[i].c, &lost))
			res->revoked += lost.revoked;
	}
	res->records = bench_sum(bc, o->consumers, false);
	res->bytes = bench_sum(bc, o->consumers, true);
	if (!lg_read(&res->lt) && code == CLI_OK)
		bench_progress(now_s() - t0, &res->lt, res->records, tty, true);
	if (mpmcring_get_stats(r, &res->st) && code == CLI_OK)
		code = cli_error("bench", "%s: %s", BENCH_DEV, mpmcring_errmsg());
out:
	for (i = 0; i < o->consumers; i++)
		mpmcring_consumer_free(bc[i].c);
	for (i = 1; i < nh; i++)
		mpmcring_close(h[i]);
	free(h);
	free(bc);
	return code;
}
