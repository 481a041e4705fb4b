/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mpmcring_loadgen: producers in every context, using only the exported
 * mpmcring API as any kernel subsystem would.
 */
#ifndef _MPMCRING_LOADGEN_H
#define _MPMCRING_LOADGEN_H

#include <linux/hrtimer.h>
#include <linux/timer.h>
#include <linux/sched.h>

#include "mpmcring.h"
#include "mpmcring_testrec.h"

#define LG_MAX_BATCH 16
#define LG_OUT_MAX 65536	/* output_every's buffer: len_max at most */

/* One producer and its counters; only its own context writes them. */
struct lg_producer {
	u16 id;
	u8 ctx;			/* MPR_CTX_* */
	int cpu;
	u64 seq;		/* next sequence number */
	u64 attempted;
	u64 committed;
	u64 discarded;		/* reserved, then discarded (discard_every) */
	u64 dropped;		/* reserve failed: counted by the ring too */
	int active;		/* inside lg_produce(), see lg_quiesce() */
	u64 t_first, t_last;	/* first and last record (NMI-safe clock) */
	struct task_struct *task;	/* kthread producers */
	struct hrtimer hrt;		/* hardirq producers */
	struct timer_list tl;		/* softirq producers */
	/* Scratch for one batch: kept here, off the (interrupt) stack. */
	struct mpmcring_rsv rsv[LG_MAX_BATCH];
	u32 lens[LG_MAX_BATCH];
	u64 calls;		/* lg_produce() calls that produced */
	u64 reserves;		/* of them, reservations made (discard_every) */
	u64 outputs;		/* records attempted with mpmcring_output() */
	void *out_buf;		/* len_max bytes, when output_every is set */
};

struct lg_config {
	struct mpmcring *ring;
	u64 count;		/* per producer; 0: until stopped */
	u32 len_min, len_max;
	u32 prio_pct[MPMCRING_NR_PRIO];	/* share of each class, sums to 100 */
	u32 batch;		/* records per reservation (kthreads) */
	u64 rate;		/* records/s per kthread; 0: flat out */
	u64 timer_ns;		/* timer producers' period */
	u32 timer_batch;	/* records per timer tick */
	u32 stall_every;	/* kthread 0 stalls every N records ... */
	u32 stall_us;		/* ... this long between reserve and commit */
	u32 output_every;	/* every Nth call sends through mpmcring_output() */
	u32 discard_every;	/* every Nth reservation is discarded */
};

extern struct lg_config lg_cfg;
extern bool lg_running;

/* Produces one record (or a batch) for p in the current context. */
void lg_produce(struct lg_producer *p, unsigned int n);
/* After lg_running went false: waits until no producer is mid-record. */
void lg_quiesce(struct lg_producer *producers, unsigned int n);
bool lg_producer_finished(const struct lg_producer *p);

int lg_nmi_start(struct lg_producer *producers, unsigned int n);
void lg_nmi_stop(void);

#endif /* _MPMCRING_LOADGEN_H */
