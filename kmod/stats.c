// SPDX-License-Identifier: GPL-2.0-only
/*
 * Statistics: per-CPU counters summed on demand, plus what only a walk of
 * the ring can tell (records waiting). Exposed by the STATS ioctl and in
 * debugfs as /sys/kernel/debug/mpmcring/<name>/{stats,layout}.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/sched.h>
#include <linux/bitmap.h>

#include "internal.h"

static struct dentry *mpmcring_debugfs_root;

/* Counts committed, unclaimed records from the head on. May sleep. */
static void mpmcring_count_waiting(struct mpmcring *ring, u64 *records,
				   u64 *bytes)
{
	const struct mpr_view *v = &ring->view;
	struct mpr_pos s;
	u64 n, b, stop, h, p;

	*records = 0;
	*bytes = 0;
	mpr_positions(v, &s);
	/* user-writable: the head is used only once it is sane. */
	if (!mpr_head_sane(v, &s))
		return;
	h = s.head;
	p = s.prod;
	do {
		stop = mpr_count_records(v, h, p, 65536, &n, &b);
		*records += n;
		*bytes += b;
		if (stop == h)
			break;
		h = stop;
		cond_resched();
	} while (h != p);
}

/**
 * mpmcring_get_stats() - read a ring's statistics
 * @ring: the ring
 * @stats: filled with counters summed over CPUs
 *
 * Exact at a quiescent point (no reservation outstanding, no claim moving).
 * consumed_records is derived: produced - overwritten - waiting in the
 * ring. May sleep: it walks the records waiting in the ring.
 */
void mpmcring_get_stats(struct mpmcring *ring, struct mpmcring_stats *stats)
{
	const struct mpr_view *v = &ring->view;
	int cpu, i, j;

	memset(stats, 0, sizeof(*stats));
	for_each_possible_cpu(cpu) {
		const struct mpmcring_pcpu_stats *s = per_cpu_ptr(ring->stats, cpu);

		stats->produced_records += READ_ONCE(s->produced_records);
		stats->produced_bytes += READ_ONCE(s->produced_bytes);
		stats->discarded_records += READ_ONCE(s->discarded_records);
		for (i = 0; i < MPMCRING_NR_DROP; i++)
			for (j = 0; j < MPMCRING_NR_PRIO; j++)
				stats->dropped[i][j] += READ_ONCE(s->dropped[i][j]);
		stats->overwritten_records += READ_ONCE(s->overwritten_records);
		stats->overwritten_bytes += READ_ONCE(s->overwritten_bytes);
		stats->wakeups += READ_ONCE(s->wakeups);
		stats->head_repairs += READ_ONCE(s->head_repairs);
	}
	/* Also repairs a head that cannot be right before we count from it. */
	mpmcring_reclaim(ring);
	mpmcring_count_waiting(ring, &stats->in_ring_records,
			       &stats->in_ring_bytes);
	stats->consumed_records = stats->produced_records -
				  stats->overwritten_records -
				  stats->in_ring_records;
	stats->consumers = bitmap_weight(ring->slots_used,
					 ring->layout.max_consumers);
	stats->abandoned_claims = atomic64_read(&ring->abandoned_claims);
	stats->abandoned_records = atomic64_read(&ring->abandoned_records);
	stats->prod_pos = READ_ONCE(v->meta->prod_pos);
	stats->head = READ_ONCE(v->cons->head);
	stats->reclaim_pos = READ_ONCE(v->meta->reclaim_pos);
}
EXPORT_SYMBOL_GPL(mpmcring_get_stats);

static const char *const mpmcring_drop_names[MPMCRING_NR_DROP] = {
	"full", "priority", "contention", "too_big",
};
static const char *const mpmcring_prio_names[MPMCRING_NR_PRIO] = {
	"low", "normal", "critical",
};

static int mpmcring_stats_show(struct seq_file *m, void *unused)
{
	struct mpmcring *ring = m->private;
	struct mpmcring_stats *s;
	int i, j;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	mpmcring_get_stats(ring, s);
	seq_printf(m, "produced_records %llu\nproduced_bytes %llu\n",
		   s->produced_records, s->produced_bytes);
	seq_printf(m, "discarded_records %llu\n", s->discarded_records);
	for (i = 0; i < MPMCRING_NR_DROP; i++)
		for (j = 0; j < MPMCRING_NR_PRIO; j++)
			seq_printf(m, "dropped_%s_%s %llu\n", mpmcring_drop_names[i],
				   mpmcring_prio_names[j], s->dropped[i][j]);
	seq_printf(m, "overwritten_records %llu\noverwritten_bytes %llu\n",
		   s->overwritten_records, s->overwritten_bytes);
	seq_printf(m, "consumed_records %llu\n", s->consumed_records);
	seq_printf(m, "in_ring_records %llu\nin_ring_bytes %llu\n",
		   s->in_ring_records, s->in_ring_bytes);
	seq_printf(m, "wakeups %llu\nconsumers %llu\n", s->wakeups, s->consumers);
	seq_printf(m, "abandoned_claims %llu\nabandoned_records %llu\n",
		   s->abandoned_claims, s->abandoned_records);
	seq_printf(m, "head_repairs %llu\n", s->head_repairs);
	seq_printf(m, "prod_pos %llu\nhead %llu\nreclaim_pos %llu\n",
		   s->prod_pos, s->head, s->reclaim_pos);
	kfree(s);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mpmcring_stats);

static int mpmcring_layout_show(struct seq_file *m, void *unused)
{
	struct mpmcring *ring = m->private;
	const struct mpmcring_layout *l = &ring->layout;

	seq_printf(m, "name %s\ndevice /dev/%s\nabi %u.%u\n", l->name,
		   ring->devname, l->abi_major, l->abi_minor);
	seq_printf(m, "data_size %llu\ngranule %u\nmax_record %u\n",
		   l->data_size, 1U << l->granule_shift, l->max_record);
	seq_printf(m, "max_consumers %u\nmode %s\n", l->max_consumers,
		   l->mode == MPMCRING_MODE_OVERWRITE ? "overwrite" : "drop-newest");
	seq_printf(m, "watermark_low %llu\nwatermark_normal %llu\nwatermark_critical %llu\n",
		   l->watermark[0], l->watermark[1], l->watermark[2]);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mpmcring_layout);

void mpmcring_debugfs_add(struct mpmcring *ring)
{
	/* debugfs is optional: without it the ioctl still tells everything. */
	if (IS_ERR_OR_NULL(mpmcring_debugfs_root))
		return;
	ring->debugfs = debugfs_create_dir(ring->layout.name,
					   mpmcring_debugfs_root);
	debugfs_create_file("stats", 0400, ring->debugfs, ring,
			    &mpmcring_stats_fops);
	debugfs_create_file("layout", 0400, ring->debugfs, ring,
			    &mpmcring_layout_fops);
}

void mpmcring_debugfs_remove(struct mpmcring *ring)
{
	debugfs_remove_recursive(ring->debugfs);
	ring->debugfs = NULL;
}

int mpmcring_debugfs_init(void)
{
	mpmcring_debugfs_root = debugfs_create_dir("mpmcring", NULL);
	return 0;
}

void mpmcring_debugfs_exit(void)
{
	debugfs_remove_recursive(mpmcring_debugfs_root);
}
