/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A farm of producers in every context (a kthread per CPU, an hrtimer and a
 * softirq timer per CPU) and of verifying consumers (kthreads running the
 * library's claim/commit protocol), for the concurrency and trust suites.
 *
 * Every record is checked byte for byte and marked in a per-producer bitmap
 * (a second delivery is a failure), each consumer checks each producer's
 * order, and a shadow bitmap of in-flight granules catches any two
 * reservations that overlap.
 */
#ifndef MPMCRING_KUNIT_FARM_H
#define MPMCRING_KUNIT_FARM_H

#include <linux/hrtimer.h>
#include <linux/timer.h>
#include <linux/kthread.h>

#include "util.h"

#define FARM_MAX_PRODUCERS	32
#define FARM_MAX_CONSUMERS	4

struct farm;

struct farm_producer {
	struct farm *farm;
	u16 id;
	u8 ctx;
	int cpu;
	u64 seq, attempted, committed, dropped;
	bool done;
	bool in_rsv;	/* between reserve and commit (task context only) */
	struct task_struct *task;
	struct hrtimer hrt;
	struct timer_list tl;
};

struct farm_consumer {
	struct farm *farm;
	struct kc kc;
	struct task_struct *task;
	u64 records;
	u64 last[FARM_MAX_PRODUCERS];	/* seq + 1 of each producer's last */
};

struct farm {
	struct mpmcring *ring;
	const struct mpr_view *v;
	u64 per_producer;		/* records each producer attempts */
	u32 len_min, len_max;
	u32 batch;			/* consumer claim size */
	unsigned int nprod, ncons;
	struct farm_producer prod[FARM_MAX_PRODUCERS];
	struct farm_consumer cons[FARM_MAX_CONSUMERS];
	unsigned long *seen[FARM_MAX_PRODUCERS];	/* delivered seqs */
	unsigned long *inflight;	/* granules reserved, not committed */
	atomic_t producers_left;
	atomic64_t bad, duplicates, out_of_order, overlaps, ghosts, corrupt;
	unsigned long *committed_map[FARM_MAX_PRODUCERS];
	bool stop;
	/* Optional hook between reserve and commit of kthread producer 0. */
	void (*stall)(struct farm *f, struct farm_producer *p, u64 pos);
	u64 stall_violations;	/* the stall hook's own findings */
	/* The stall hook's own counts: its stops, and how each was used. */
	u64 stall_stops, stall_seen, stall_alone;
	/*
	 * The timer producers close every chunk of the ring at each run, as
	 * the ring's tick does from a timer: an interrupt on the CPU whose
	 * task-level producer may be inside its chunk's reservation. Each
	 * run closes possible CPUs times four chunks at most. Counted: the
	 * runs whose own close closed this CPU's task-level chunk while its
	 * producer was between reserve and commit (which every 16th record
	 * of a task-level producer makes longer than the hrtimer's period).
	 */
	bool close_in_timers;
	atomic64_t timer_closes_in_rsv;
	/*
	 * Garbage flies in the consumer area: the claims that keep producers
	 * off what consumers read can be forged, so a consumer may read a
	 * payload a producer is rewriting. That is the design (a consumer
	 * that corrupts its own area hurts only consumers), so the consumers
	 * read as userspace would: not instrumented by KCSAN.
	 */
	bool consumer_area_attacked;
	struct mpmcring_stats base;	/* ring counters when the farm began */
	/* Ring counters when producers stopped, before farm_finish()'s close. */
	struct mpmcring_stats at_finish;
};

int farm_init(struct kunit *test, struct farm *f, struct mpmcring *ring,
	      u64 per_producer, bool timers);
void farm_start_consumers(struct farm *f, unsigned int n);
void farm_start_producers(struct farm *f);
/* Waits for producers, then until consumers drained the ring, and stops. */
void farm_finish(struct farm *f);
/* Checks every invariant; a test failure names what broke. */
void farm_check(struct kunit *test, struct farm *f, bool exact_delivery);
void farm_cleanup(struct farm *f);

#endif /* MPMCRING_KUNIT_FARM_H */
