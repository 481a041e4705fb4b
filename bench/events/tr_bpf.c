// SPDX-License-Identifier: GPL-2.0-only
/*
 * The BPF transports of the race: events.bpf.c on the same tracepoints as
 * the module, loaded through its libbpf skeleton (CO-RE against the
 * running kernel's BTF), consumed by one thread, the only way each can be:
 *   BPF ring buffer      reserve/submit, ring_buffer__poll()
 *   ... with query       the program drops low-priority events itself when
 *                        bpf_ringbuf_query() says the ring is filling
 *   perf buffer          bpf_perf_event_output(), perf_buffer__poll()
 * and, for tr_ring.c, the same program into an mpmcring ring (kfuncs).
 * Each run loads a fresh object (fresh maps and counters), as each
 * mpmcring run loads the module.
 *
 * Wakeups: libbpf's defaults wake the consumer for every record (the ring
 * buffer when its consumer had caught up, the perf buffer for every sample,
 * even with nobody waiting: an irq_work each). The "woken per 16 KiB"
 * transports give both the batched wakeup mpmcring's watermark gives its
 * consumers: the program submits with BPF_RB_NO_WAKEUP until 16 KiB wait,
 * the perf buffer's events have a 16 KiB wakeup_watermark.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>

#include "evbench.h"
#include "evbench_bpf.h"
#include "events.skel.h"

struct bpf_priv {
	struct events_bpf *skel;
	struct ring_buffer *rb;
	struct perf_buffer *pb;
	pthread_t th;
	bool thread;
	volatile int stopping;
	struct cons_acc acc;
	uint64_t lost; /* perf's LOST records */
	int cpu;
	int poll_ms;
};

static void bpf_event(struct bpf_priv *p, const void *data, size_t len)
{
	struct mpmcring_event ev;

	if (mpmcring_event_decode_bytes(data, len, &ev))
		p->acc.bad++;
	else
		acc_event(&p->acc, &ev);
}

static int rb_sample(void *ctx, void *data, size_t len)
{
	bpf_event(ctx, data, len);
	return 0;
}

static void pb_sample(void *ctx, int cpu, void *data, __u32 len)
{
	(void)cpu;
	bpf_event(ctx, data, len);
}

static void pb_lost(void *ctx, int cpu, __u64 n)
{
	(void)cpu;
	((struct bpf_priv *)ctx)->lost += n;
}

/* perf_buffer__new_raw()'s callback: what pb_sample and pb_lost get from
 * perf_buffer__new(), taken from the perf records themselves. */
static enum bpf_perf_event_ret pb_raw(void *ctx, int cpu, struct perf_event_header *e)
{
	if (e->type == PERF_RECORD_SAMPLE) {
		const struct {
			struct perf_event_header h;
			__u32 size;
			char data[];
		} *s = (const void *)e;

		pb_sample(ctx, cpu, (void *)s->data, s->size);
	} else if (e->type == PERF_RECORD_LOST) {
		const struct {
			struct perf_event_header h;
			__u64 id;
			__u64 lost;
		} *l = (const void *)e;

		pb_lost(ctx, cpu, l->lost);
	}
	return LIBBPF_PERF_EVENT_CONT;
}

/* The perf buffer as perf_buffer__new() opens it, but woken per
 * wake_bytes instead of per sample. */
static struct perf_buffer *pb_new_batched(struct bpf_priv *p, size_t pages, unsigned int wake_bytes)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_BPF_OUTPUT,
		.sample_type = PERF_SAMPLE_RAW,
		.sample_period = 1,
		.watermark = 1,
		.wakeup_watermark = wake_bytes,
	};

	attr.size = sizeof(attr);
	return perf_buffer__new_raw(bpf_map__fd(p->skel->maps.pb), pages, &attr, pb_raw, p, NULL);
}

/* Until told to stop; then what is left, and the thread ends. */
static void *bpf_consumer(void *arg)
{
	struct bpf_priv *p = arg;

	pin_from_cpu(p->cpu);
	while (!p->stopping) {
		if (p->rb)
			ring_buffer__poll(p->rb, p->poll_ms);
		else
			perf_buffer__poll(p->pb, p->poll_ms);
	}
	if (p->rb)
		while (ring_buffer__consume(p->rb) > 0)
			;
	else
		while (perf_buffer__consume(p->pb) > 0)
			;
	p->acc.cpu_s = thread_cpu_s();
	return NULL;
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* The module's classification of the syscalls the race records (as
 * tr_ring.c loads it: open(2) is the uninstrumented control). */
static void set_kinds(struct events_bpf *s)
{
	__u8 *k = s->rodata->evb_sys_kind;

	k[SYS_openat] = EVK_OPENAT;
	k[SYS_connect] = EVK_CONNECT;
	k[SYS_execve] = EVK_EXECVE;
	k[SYS_execveat] = EVK_EXECVEAT;
}

/* The object for a mode, opened and configured, not loaded. */
static struct events_bpf *evb_open(int mode, const struct tr_cfg *cfg)
{
	uint64_t size = cfg->ring_bytes;
	struct events_bpf *s;

	libbpf_set_print(libbpf_quiet);
	s = events_bpf__open();
	if (!s)
		return NULL;
	s->rodata->evb_mode = mode;
	s->rodata->evb_catchall = cfg->catchall;
	set_kinds(s);
	/* The module's default classes and watermarks (1/2 and 12%). */
	s->rodata->evb_prio[MPMCRING_EV_EXEC] = MPMCRING_PRIO_CRITICAL;
	s->rodata->evb_prio[MPMCRING_EV_FORK] = MPMCRING_PRIO_CRITICAL;
	s->rodata->evb_prio[MPMCRING_EV_EXIT] = MPMCRING_PRIO_CRITICAL;
	s->rodata->evb_prio[MPMCRING_EV_CONNECT] = MPMCRING_PRIO_NORMAL;
	s->rodata->evb_prio[MPMCRING_EV_EXECVE] = MPMCRING_PRIO_NORMAL;
	s->rodata->evb_prio[MPMCRING_EV_OPEN] = MPMCRING_PRIO_NORMAL;
	s->rodata->evb_prio[MPMCRING_EV_SYSCALL] = MPMCRING_PRIO_LOW;
	s->rodata->evb_rb_size = size;
	s->rodata->evb_wm[MPMCRING_PRIO_LOW] = size / 2;
	s->rodata->evb_wm[MPMCRING_PRIO_NORMAL] = size * 12 / 100;
	bpf_map__set_max_entries(s->maps.rb,
				 mode == EVB_RINGBUF || mode == EVB_RINGBUF_QUERY ? size : 4096);
	return s;
}

/* events.bpf.c into mpmcring ring ring_id, loaded and attached; consumed
 * by tr_ring.c's consumers. */
void *bpf_producer_start(const struct tr_cfg *cfg, unsigned int ring_id, int mode)
{
	struct events_bpf *s = evb_open(mode, cfg);
	int err = s ? 0 : -errno;

	if (s) {
		s->rodata->evb_ring_id = ring_id;
		err = events_bpf__load(s);
		if (!err)
			err = events_bpf__attach(s);
	}
	if (err) {
		fprintf(stderr, "evbench: BPF -> mpmcring: %s\n", strerror(-err));
		events_bpf__destroy(s);
		return NULL;
	}
	return s;
}

void bpf_producer_stop(void *producer)
{
	events_bpf__detach(producer);
	events_bpf__destroy(producer);
}

static int bpf_start(struct tr *t)
{
	struct bpf_priv *p = calloc(1, sizeof(*p));
	int mode = t->ops->bpf_mode, err, ncpu;
	uint64_t size = t->cfg.ring_bytes;

	if (!p)
		return -ENOMEM;
	p->skel = evb_open(mode, &t->cfg);
	if (!p->skel) {
		err = -errno;
		goto fail;
	}
	/* Woken per wake_bytes: the ring buffer program's own choice (the
	 * perf buffer's is its events' wakeup_watermark, below). */
	p->skel->rodata->evb_wake_bytes = mode == EVB_PERF ? 0 : t->ops->wake_bytes;
	p->poll_ms = t->ops->wake_bytes ? BATCH_WAIT_MS : 100;
	err = events_bpf__load(p->skel);
	if (err)
		goto fail;
	if (mode == EVB_PERF) {
		ncpu = libbpf_num_possible_cpus();
		/* The same bytes in all: split over the CPUs' buffers. */
		size_t pages = size / 4096 / (ncpu > 0 ? ncpu : 1);

		if (t->ops->wake_bytes)
			p->pb = pb_new_batched(p, pages, t->ops->wake_bytes);
		else
			p->pb = perf_buffer__new(bpf_map__fd(p->skel->maps.pb), pages, pb_sample,
						 pb_lost, p, NULL);
		err = p->pb ? 0 : -errno;
	} else {
		p->rb = ring_buffer__new(bpf_map__fd(p->skel->maps.rb), rb_sample, p, NULL);
		err = p->rb ? 0 : -errno;
	}
	if (err)
		goto fail;
	err = events_bpf__attach(p->skel);
	if (err)
		goto fail;
	p->cpu = t->cfg.consumer_cpu;
	t->priv = p;
	if (!t->cfg.deferred) {
		pthread_create(&p->th, NULL, bpf_consumer, p);
		p->thread = true;
	}
	return 0;
fail:
	fprintf(stderr, "evbench: BPF %s: %s\n", t->ops->name, strerror(-err));
	ring_buffer__free(p->rb);
	perf_buffer__free(p->pb);
	events_bpf__destroy(p->skel);
	free(p);
	return err ? err : -EINVAL;
}

static int bpf_consume(struct tr *t)
{
	struct bpf_priv *p = t->priv;

	p->stopping = 1;
	pthread_create(&p->th, NULL, bpf_consumer, p);
	pthread_join(p->th, NULL);
	return 0;
}

static void bpf_stop(struct tr *t, struct tr_stats *st)
{
	struct bpf_priv *p = t->priv;
	int ncpu = libbpf_num_possible_cpus(), i, ty;
	struct evb_counts *c = calloc(ncpu > 0 ? ncpu : 1, sizeof(*c));
	__u32 zero = 0;

	/* Detached first: what is in the buffers now is all there will be. */
	events_bpf__detach(p->skel);
	if (p->thread) {
		p->stopping = 1;
		pthread_join(p->th, NULL);
	}
	memset(st, 0, sizeof(*st));
	st->acc = p->acc;
	if (c && !bpf_map_lookup_elem(bpf_map__fd(p->skel->maps.counts), &zero, c)) {
		for (i = 0; i < ncpu; i++) {
			for (ty = 0; ty < MPMCRING_EV_NR_TYPES; ty++) {
				st->dropped += c[i].dropped[ty];
				st->shed += c[i].shed[ty];
				if (ty == MPMCRING_EV_SYSCALL)
					st->dropped_low += c[i].dropped[ty] + c[i].shed[ty];
				if (ty == MPMCRING_EV_EXEC || ty == MPMCRING_EV_FORK ||
				    ty == MPMCRING_EV_EXIT)
					st->dropped_crit += c[i].dropped[ty];
			}
		}
	}
	free(c);
	if (t->ops->bpf_mode == EVB_PERF) {
		/* Perf counts what it loses; our failed outputs are the same
		 * events seen from the program. */
		st->dropped = p->lost;
		st->who = "perf (LOST records)";
	} else if (t->ops->bpf_mode == EVB_RINGBUF_QUERY) {
		st->who = "the BPF program (failed reserve; shed by its policy)";
	} else {
		st->who = "the BPF program (failed reserve)";
	}
	ring_buffer__free(p->rb);
	perf_buffer__free(p->pb);
	events_bpf__destroy(p->skel);
	free(p);
	t->priv = NULL;
}

const struct transport tr_bpf_ringbuf = {
	.name = "BPF ringbuf",
	.start = bpf_start,
	.consume = bpf_consume,
	.stop = bpf_stop,
	.bpf_mode = EVB_RINGBUF,
};

const struct transport tr_bpf_query = {
	.name = "BPF ringbuf + query",
	.start = bpf_start,
	.consume = bpf_consume,
	.stop = bpf_stop,
	.bpf_mode = EVB_RINGBUF_QUERY,
};

const struct transport tr_bpf_perf = {
	.name = "perf buffer",
	.start = bpf_start,
	.consume = bpf_consume,
	.stop = bpf_stop,
	.bpf_mode = EVB_PERF,
};

const struct transport tr_bpf_ringbuf_batch = {
	.name = "BPF ringbuf, woken per 16 KiB",
	.start = bpf_start,
	.consume = bpf_consume,
	.stop = bpf_stop,
	.bpf_mode = EVB_RINGBUF,
	.wake_bytes = WAKE_BYTES,
};

const struct transport tr_bpf_perf_batch = {
	.name = "perf buffer, woken per 16 KiB",
	.start = bpf_start,
	.consume = bpf_consume,
	.stop = bpf_stop,
	.bpf_mode = EVB_PERF,
	.wake_bytes = WAKE_BYTES,
};
