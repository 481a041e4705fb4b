// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mpmcring transport of the race: mpmcring_events.ko writing into its
 * own ring, consumed by 1, 2 or 4 threads, each a zero-copy consumer that
 * claims a batch (mpmcring_read_many(): the claim's one walk hands out
 * every record), decodes every event in place and commits the batch with
 * one store. Drops are counted by the ring, by reason and class.
 *
 * The same with BPF producers: events.bpf.c writes the same events into a
 * ring through the module's kfuncs (mpmcring_bpf_output); the ring comes
 * from mpmcring_loadgen.ko (create=1, no producers of its own) with the
 * events module's size and watermarks.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "evbench.h"
#include "evbench_bpf.h"

#define RING_PATH "/dev/mpmcring-evb"
#define BATCH 256

struct ring_priv {
	struct mpmcring *r;
	int wait_ms; /* longest sleep: bounds the latency a watermark adds */
	int cpu;
	pthread_t th[MAX_CONSUMERS];
	struct cons_acc acc[MAX_CONSUMERS];
	unsigned int n;
	void *bpf;	       /* the BPF producer, when it is the one */
	volatile int stopping; /* drain what is there, then end */
};

struct ring_thread {
	struct ring_priv *p;
	unsigned int i;
};

static struct ring_thread ring_threads[MAX_CONSUMERS];

int ev_insmod(const char *name, const char *params)
{
	const char *dir = getenv("MPMCRING_MODDIR");
	char path[256];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s.ko", dir ? dir : "/lib/mpmcring", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, 0) ? -errno : 0;
	close(fd);
	return ret;
}

int ev_rmmod(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

static void *ring_consumer(void *arg)
{
	struct ring_thread *rt = arg;
	struct ring_priv *p = rt->p;
	struct cons_acc *a = &p->acc[rt->i];
	struct mpmcring_consumer *c = mpmcring_consumer_new(p->r);
	struct mpmcring_record *recs = calloc(BATCH, sizeof(*recs));
	struct mpmcring_event ev;
	int i, n, empty = 0;

	if (!c || !recs) {
		fprintf(stderr, "evbench: consumer: %s\n", c ? "out of memory" : mpmcring_errmsg());
		mpmcring_consumer_free(c);
		free(recs);
		return NULL;
	}
	pin_from_cpu(p->cpu);
	for (;;) {
		/* One walk over the claim: every record handed out at once. */
		n = mpmcring_read_many(c, recs, BATCH, SIZE_MAX);
		if (n > 0) {
			empty = 0;
			for (i = 0; i < n; i++) {
				if (mpmcring_event_decode(&recs[i], &ev))
					a->bad++;
				else
					acc_event(a, &ev);
			}
			/* Held past the ring's claim timeout: what was read may
			 * have been overwritten. Counted, never expected. */
			if (mpmcring_commit(c) == -ESTALE)
				a->revoked += (uint64_t)n;
			continue;
		}
		if (n == -EBUSY) { /* another consumer won the claim: go on */
			sched_yield();
			continue;
		}
		if (p->stopping) {
			if (++empty >= 2)
				break;
			continue;
		}
		mpmcring_wait(p->r, p->wait_ms);
	}
	a->cpu_s = thread_cpu_s();
	mpmcring_consumer_free(c);
	free(recs);
	return NULL;
}

static void ring_threads_start(struct ring_priv *p)
{
	unsigned int i;

	for (i = 0; i < p->n; i++) {
		ring_threads[i].p = p;
		ring_threads[i].i = i;
		pthread_create(&p->th[i], NULL, ring_consumer, &ring_threads[i]);
	}
}

static void ring_threads_join(struct ring_priv *p)
{
	unsigned int i;

	p->stopping = 1;
	for (i = 0; i < p->n; i++)
		pthread_join(p->th[i], NULL);
}

/* Who makes the ring: the events module, or the load generator's empty one. */
static const char *ring_module(const struct tr *t)
{
	return t->ops->bpf_producer ? "mpmcring_loadgen" : "mpmcring_events";
}

static int ring_start(struct tr *t)
{
	struct ring_priv *p = calloc(1, sizeof(*p));
	char params[160];
	int err;

	if (!p)
		return -ENOMEM;
	p->n = t->ops->consumers;
	p->cpu = t->cfg.consumer_cpu;
	p->wait_ms = t->ops->wake_bytes ? BATCH_WAIT_MS : 100;
	/* open(2) is left out: work_syscalls() times it as the control. */
	if (t->ops->bpf_producer)
		snprintf(params, sizeof(params),
			 "ring=evb create=1 size=%llu threads=0 watermarks=50,12,0",
			 (unsigned long long)t->cfg.ring_bytes);
	else
		snprintf(
			params, sizeof(params),
			"ring=evb size=%llu catchall=%d syscalls=openat,connect,execve,execveat chunk_bytes=%u",
			(unsigned long long)t->cfg.ring_bytes, t->cfg.catchall,
			t->ops->chunk_bytes);
	err = ev_insmod(ring_module(t), params);
	if (err) {
		fprintf(stderr, "evbench: insmod %s %s: %s\n", ring_module(t), params,
			strerror(-err));
		free(p);
		return err;
	}
	p->r = mpmcring_open(RING_PATH, 0);
	if (!p->r) {
		fprintf(stderr, "evbench: %s: %s\n", RING_PATH, mpmcring_errmsg());
		ev_rmmod(ring_module(t));
		free(p);
		return -ENODEV;
	}
	if (t->ops->bpf_producer) {
		p->bpf = bpf_producer_start(&t->cfg, mpmcring_get_layout(p->r)->id,
					    t->ops->bpf_mode);
		if (!p->bpf) {
			mpmcring_close(p->r);
			ev_rmmod(ring_module(t));
			free(p);
			return -EINVAL;
		}
	}
	if (t->ops->chunk_bytes) {
		struct mpmcring_stats rs = { 0 };

		/* What the row's name says, or no row: the cap (a quarter of
		 * the ring over every possible CPU's levels) or a module
		 * without chunk_bytes= would make it an unchunked run. */
		if (mpmcring_get_stats(p->r, &rs) || rs.chunk_bytes != t->ops->chunk_bytes) {
			fprintf(stderr, "evbench: %s: the ring has chunks of %llu bytes, not %u\n",
				t->ops->name, (unsigned long long)rs.chunk_bytes,
				t->ops->chunk_bytes);
			mpmcring_close(p->r);
			ev_rmmod(ring_module(t));
			free(p);
			return -EINVAL;
		}
	}
	if (t->ops->wake_bytes)
		mpmcring_set_watermark(p->r, t->ops->wake_bytes);
	t->priv = p;
	if (!t->cfg.deferred)
		ring_threads_start(p);
	return 0;
}

/* Deferred: the consumers drain the ring and end. */
static int ring_consume(struct tr *t)
{
	struct ring_priv *p = t->priv;

	p->stopping = 1;
	ring_threads_start(p);
	ring_threads_join(p);
	return 0;
}

static void ring_stop(struct tr *t, struct tr_stats *st)
{
	struct ring_priv *p = t->priv;
	struct mpmcring_stats rs;
	unsigned int i, r;
	int err;

	/* Detached first: what is in the ring now is all there will be. */
	if (p->bpf)
		bpf_producer_stop(p->bpf);
	if (!t->cfg.deferred)
		ring_threads_join(p);
	memset(st, 0, sizeof(*st));
	for (i = 0; i < p->n; i++)
		acc_add(&st->acc, &p->acc[i]);
	if (!mpmcring_get_stats(p->r, &rs)) {
		for (r = 0; r < MPMCRING_NR_DROP; r++) {
			st->dropped_low += rs.dropped[r][MPMCRING_PRIO_LOW];
			st->dropped_crit += rs.dropped[r][MPMCRING_PRIO_CRITICAL];
			for (i = 0; i < MPMCRING_NR_PRIO; i++)
				st->dropped += rs.dropped[r][i];
		}
	}
	st->who = "the ring (by reason and class)";
	mpmcring_close(p->r);
	err = ev_rmmod(ring_module(t));
	if (err)
		fprintf(stderr, "evbench: rmmod %s: %s\n", ring_module(t), strerror(-err));
	free(p);
	t->priv = NULL;
}

/* Woken for every record when asleep (the library's default, as BPF
 * ring buffer consumers are when they have caught up). */
const struct transport tr_ring1_eager = {
	.name = "mpmcring 1 consumer, woken per record",
	.start = ring_start,
	.consume = ring_consume,
	.stop = ring_stop,
	.consumers = 1,
};

/* Woken once WAKE_BYTES wait (or after BATCH_WAIT_MS): the ring's watermark. */
const struct transport tr_ring1 = {
	.name = "mpmcring 1 consumer",
	.start = ring_start,
	.consume = ring_consume,
	.stop = ring_stop,
	.consumers = 1,
	.wake_bytes = WAKE_BYTES,
};

const struct transport tr_ring2 = {
	.name = "mpmcring 2 consumers",
	.start = ring_start,
	.consume = ring_consume,
	.stop = ring_stop,
	.consumers = 2,
	.wake_bytes = WAKE_BYTES,
};

const struct transport tr_ring4 = {
	.name = "mpmcring 4 consumers",
	.start = ring_start,
	.consume = ring_consume,
	.stop = ring_stop,
	.consumers = 4,
	.wake_bytes = WAKE_BYTES,
};

/*
 * The module's events through chunked reservation (each CPU and level
 * takes 4 KiB of the ring at once while the ring is below its low
 * watermark): what chunks save a producer on real events, with the events
 * module's default watermarks.
 */
const struct transport tr_ring1_chunked = {
	.name = "mpmcring 1 consumer, chunks of 4 KiB",
	.start = ring_start,
	.consume = ring_consume,
	.stop = ring_stop,
	.consumers = 1,
	.wake_bytes = WAKE_BYTES,
	.chunk_bytes = 4096,
};

/* The same events from events.bpf.c, through the module's kfuncs. */
const struct transport tr_bpf_ring1 = {
	.name = "BPF -> mpmcring 1 consumer",
	.start = ring_start,
	.consume = ring_consume,
	.stop = ring_stop,
	.consumers = 1,
	.wake_bytes = WAKE_BYTES,
	.bpf_producer = true,
	.bpf_mode = EVB_MPMCRING,
};

const struct transport tr_bpf_ring2 = {
	.name = "BPF -> mpmcring 2 consumers",
	.start = ring_start,
	.consume = ring_consume,
	.stop = ring_stop,
	.consumers = 2,
	.wake_bytes = WAKE_BYTES,
	.bpf_producer = true,
	.bpf_mode = EVB_MPMCRING,
};

/* The same, asking the ring first (mpmcring_bpf_admit()) for the classes
 * with a watermark: the BPF ringbuf + query row's policy. */
const struct transport tr_bpf_ring1_admit = {
	.name = "BPF -> mpmcring + admit, 1 consumer",
	.start = ring_start,
	.consume = ring_consume,
	.stop = ring_stop,
	.consumers = 1,
	.wake_bytes = WAKE_BYTES,
	.bpf_producer = true,
	.bpf_mode = EVB_MPMCRING_ADMIT,
};
