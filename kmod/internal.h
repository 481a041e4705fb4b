/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mpmcring internals shared by the module's files.
 */
#ifndef _MPMCRING_INTERNAL_H
#define _MPMCRING_INTERNAL_H

#include <linux/types.h>
#include <linux/kref.h>
#include <linux/irq_work.h>
#include <linux/wait.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/miscdevice.h>
#include <linux/percpu.h>
#include <linux/list.h>
#include <linux/bitops.h>
#include <linux/preempt.h>

#include "mpmcring.h"

#include "mpmcring_proto.h"

#define MPMCRING_MIN_SIZE	(4ULL << 10)
#define MPMCRING_MAX_SIZE	(1ULL << 30)
#define MPMCRING_MAX_CONSUMERS	1022
#define MPMCRING_DEF_CONSUMERS	62
/* Interrupt context levels: task, softirq, hardirq, NMI. */
#define MPMCRING_NR_LEVELS	4

/* Per-CPU counters; summed by mpmcring_get_stats(). */
struct mpmcring_pcpu_stats {
	u64 produced_records;
	u64 produced_bytes;
	u64 discarded_records;
	u64 dropped[MPMCRING_NR_DROP][MPMCRING_NR_PRIO];
	u64 overwritten_records;
	u64 overwritten_bytes;
	u64 wakeups;
	u64 head_repairs;
};

struct mpmcring {
	struct mpr_view view;		/* the kernel's own view: trusted sizes */
	struct mpmcring_layout layout;	/* kernel copy; the meta page is a mirror */

	struct page **pages;		/* cons, meta, stamps, data, data again */
	unsigned int nr_pages;		/* entries in pages[] */
	unsigned int nr_cons_pages;
	unsigned int nr_alloc_pages;	/* distinct pages (data counted once) */
	void *vaddr;			/* vmap of pages[] */

	struct mpr_inflight __percpu *inflight;	/* [MPMCRING_NR_LEVELS] */
	struct mpmcring_pcpu_stats __percpu *stats;
	unsigned long reclaim_lock;	/* bit 0: a reclaim is running */

	/* Consumer slots attached, and accounting of those that went away. */
	spinlock_t slots_lock;
	unsigned long *slots_used;
	atomic64_t abandoned_claims;
	atomic64_t abandoned_records;

	/* Wakeups: pollers arm, producers fire through irq_work. */
	wait_queue_head_t wq;
	struct irq_work wake_work;
	int wake_armed;			/* someone sleeps; producers check it */
	u64 wake_bytes;			/* smallest watermark among them */
	spinlock_t wake_lock;

	struct kref ref;
	struct miscdevice misc;
	char devname[48];
	bool registered;
	bool dead;			/* destroyed: no new data will come */
	struct list_head node;		/* in the registry */
	struct dentry *debugfs;
};

/* The producer environment the protocol code runs in (see proto header). */
struct mpr_env {
	struct mpmcring *ring;
};

static inline unsigned int mpr_env_ninflight(struct mpr_env *e)
{
	return nr_cpu_ids * MPMCRING_NR_LEVELS;
}

static inline struct mpr_inflight *mpr_env_inflight(struct mpr_env *e,
						    unsigned int i)
{
	unsigned int cpu = i / MPMCRING_NR_LEVELS;

	if (!cpu_possible(cpu))
		return NULL;
	return per_cpu_ptr(e->ring->inflight, cpu) + i % MPMCRING_NR_LEVELS;
}

static inline bool mpr_env_slot_active(struct mpr_env *e, unsigned int i)
{
	return test_bit(i, e->ring->slots_used);
}

static inline bool mpr_env_trylock(struct mpr_env *e)
{
	return !test_and_set_bit_lock(0, &e->ring->reclaim_lock);
}

static inline void mpr_env_unlock(struct mpr_env *e)
{
	clear_bit_unlock(0, &e->ring->reclaim_lock);
}

static inline void mpr_env_overwritten(struct mpr_env *e, u64 records,
				       u64 bytes)
{
	this_cpu_add(e->ring->stats->overwritten_records, records);
	this_cpu_add(e->ring->stats->overwritten_bytes, bytes);
}

static inline void mpr_env_repaired(struct mpr_env *e)
{
	this_cpu_inc(e->ring->stats->head_repairs);
}

#include "mpmcring_produce.h"

/* ring.c */
int mpmcring_ring_register(struct mpmcring *ring);
void mpmcring_ring_get(struct mpmcring *ring);
int mpmcring_validate_params(const struct mpmcring_params *p);
void mpmcring_registry_exit(void);
extern struct mutex mpmcring_registry_lock;

/* Test hooks (exported only to KUnit tests). */
extern atomic_long_t mpmcring_live_pages;
struct mpr_view *mpmcring_kunit_view(struct mpmcring *ring);

/* slots.c */
int mpmcring_slot_attach(struct mpmcring *ring);
void mpmcring_slot_detach(struct mpmcring *ring, unsigned int slot);

/* produce.c */
void mpmcring_reclaim(struct mpmcring *ring);
int mpmcring_reserve_prio(struct mpmcring *ring, const u32 *lens,
			  unsigned int n, u32 prio, u8 rec_flags,
			  bool count_drops, struct mpmcring_rsv *rsv);

/* wait.c */
void mpmcring_wake_work(struct irq_work *work);
bool mpmcring_ready(struct mpmcring *ring, u64 watermark);
void mpmcring_arm_wakeup(struct mpmcring *ring, u64 watermark);

/* fops.c */
extern const struct file_operations mpmcring_fops;

/* stats.c */
void mpmcring_debugfs_add(struct mpmcring *ring);
void mpmcring_debugfs_remove(struct mpmcring *ring);
int mpmcring_debugfs_init(void);
void mpmcring_debugfs_exit(void);

#endif /* _MPMCRING_INTERNAL_H */
