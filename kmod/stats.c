// SPDX-License-Identifier: GPL-2.0-only
/*
 * Statistics: per-CPU counters summed on demand, plus what only a walk of
 * the ring can tell (records waiting), bounded to MPMCRING_STATS_WALK
 * records. Reading them changes nothing: no reclaim, no repair, so files
 * opened read-only can. Exposed by the STATS and CONSUMERS ioctls and in
 * debugfs as /sys/kernel/debug/mpmcring/<name>/{stats,layout,consumers}.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/bitmap.h>
#include <linux/sort.h>

#include "internal.h"

static struct dentry *mpmcring_debugfs_root;

/* An open chunk's unfilled rest, [fill, end), as distances from the head. */
struct mpmcring_gap {
	u64 from;
	u64 to;
};

static int mpmcring_gap_cmp(const void *a, const void *b)
{
	const struct mpmcring_gap *x = a, *y = b;

	return x->from < y->from ? -1 : x->from > y->from;
}

/*
 * The unfilled rests of the open chunks inside [head, prod), sorted: a
 * walk of the waiting records stops at each, and records committed past
 * one wait all the same (until a close frames it as a filler). A look,
 * not a lock: a chunk filled or closed after it is a count that moved,
 * as a producer's commit during the walk is. A chunk's (fill, end) read
 * while it opens is passed over as mpr_chunk_close() passes it over; the
 * walk steps over a rest only where it stopped at its fill. Pairs with
 * nothing. Returns how many, or -ENOMEM.
 */
static int mpmcring_open_gaps(struct mpmcring *ring, const struct mpr_pos *s,
			      struct mpmcring_gap **gaps)
{
	unsigned int max = num_possible_cpus() * MPMCRING_NR_LEVELS;
	u64 span = s->prod - s->head;
	unsigned int cpu, level, n = 0;
	struct mpmcring_gap *g;
	struct mpr_chunk *c;

	/* Its failure is handled (PARTIAL): no warning a reader could provoke. */
	g = kvmalloc_array(max, sizeof(*g), GFP_KERNEL | __GFP_NOWARN);
	if (!g)
		return -ENOMEM;
	mpmcring_for_each_chunk(ring, cpu, level, c) {
		u64 f = READ_ONCE(c->fill), end = READ_ONCE(c->end);

		if (n == max)
			break;
		if (f == end || end - f >= ring->chunk_bytes ||
		    f - s->head >= span || end - s->head > span)
			continue;
		g[n].from = f - s->head;
		g[n].to = end - s->head;
		n++;
	}
	sort(g, n, sizeof(*g), mpmcring_gap_cmp, NULL);
	*gaps = g;
	return (int)n;
}

/*
 * Counts committed, unclaimed records from the head on, at most
 * MPMCRING_STATS_WALK of them, stepping over open chunks' unfilled rests.
 * Returns false when it stopped short: at the limit, or, with no memory
 * for the chunks' look, at an unfinished record of a chunked ring.
 */
static bool mpmcring_count_waiting(struct mpmcring *ring, u64 *records,
				   u64 *bytes)
{
	const struct mpr_view *v = &ring->view;
	struct mpmcring_gap *gaps = NULL;
	u64 left = MPMCRING_STATS_WALK;
	struct mpr_rec rec;
	struct mpr_pos s;
	int st, i = 0, n = 0;
	bool complete;
	u64 at;

	*records = 0;
	*bytes = 0;
	mpr_positions(v, &s);
	/* user-writable: the head is used only once it is sane. */
	if (!mpr_head_sane(v, &s))
		return true;
	if (ring->chunks)
		n = mpmcring_open_gaps(ring, &s, &gaps);
	at = s.head;
	/* Bounded: each round but the last steps over one of n rests. */
	for (;;) {
		at = mpr_count_records(v, at, s.prod, &left, records, bytes);
		if (at == s.prod) {
			complete = true;
			break;
		}
		/* At the limit, or at an unfinished record. */
		st = mpr_record_at(v, at, s.prod, &rec);
		if (st == MPR_REC_COMMITTED || st == MPR_REC_DISCARDED) {
			complete = false;
			break;
		}
		/* A chunk's rest or a record being written: cannot tell. */
		if (n < 0) {
			complete = false;
			break;
		}
		while (i < n && gaps[i].from < at - s.head)
			i++;
		if (i == n || gaps[i].from != at - s.head) {
			complete = true;	/* a record being written */
			break;
		}
		at = s.head + gaps[i++].to;
	}
	kvfree(gaps);
	return complete;
}

#define mpmcring_sum(field) ({					\
	u64 __n = 0;							\
	int __cpu;							\
	for_each_possible_cpu(__cpu)					\
		__n += local64_read(&per_cpu_ptr(ring->stats, __cpu)->field); \
	__n; })

/**
 * mpmcring_get_stats() - read a ring's statistics
 * @ring: the ring
 * @stats: filled with counters summed over CPUs
 *
 * Exact at a quiescent point (no reservation outstanding, no claim moving)
 * for the counters; in_ring_records is a lower bound when
 * %MPMCRING_STATS_IN_RING_PARTIAL is set in @stats->flags. Records
 * committed past an open chunk's unfilled rest count as waiting: they
 * are, until the chunk closes. consumed_records
 * is derived: produced - overwritten - waiting in the ring, 0 when counts
 * that moved between the sums make that negative, too high when the walk
 * was partial. Changes
 * nothing in the ring. Process context (it may sleep: a chunked ring's
 * look at its open chunks allocates); bounded work.
 */
void mpmcring_get_stats(struct mpmcring *ring, struct mpmcring_stats *stats)
{
	const struct mpr_view *v = &ring->view;
	u64 left;
	int i, j;

	/* Every ring, so that a caller that may not sleep is told on any. */
	might_sleep();
	memset(stats, 0, sizeof(*stats));
	stats->produced_records = mpmcring_sum(produced_records);
	stats->produced_bytes = mpmcring_sum(produced_bytes);
	stats->discarded_records = mpmcring_sum(discarded_records);
	for (i = 0; i < MPMCRING_NR_DROP; i++)
		for (j = 0; j < MPMCRING_NR_PRIO; j++)
			stats->dropped[i][j] = mpmcring_sum(dropped[i][j]);
	stats->overwritten_records = mpmcring_sum(overwritten_records);
	stats->overwritten_bytes = mpmcring_sum(overwritten_bytes);
	stats->wakeups = mpmcring_sum(wakeups);
	stats->head_repairs = mpmcring_sum(head_repairs);
	stats->read_faults = mpmcring_sum(read_faults);
	stats->room_wakeups = mpmcring_sum(room_wakeups);
	stats->chunk_bytes = ring->chunk_bytes;
	stats->chunk_filler_bytes = mpmcring_sum(chunk_filler_bytes);
	if (!mpmcring_count_waiting(ring, &stats->in_ring_records,
				    &stats->in_ring_bytes))
		stats->flags |= MPMCRING_STATS_IN_RING_PARTIAL;
	/*
	 * The sums are taken one after another, produced first on purpose:
	 * a producer publishes before it counts, so produced summed last
	 * would miss records the walk saw and a ring nobody reads would
	 * report some consumed. The other way round, while producers run,
	 * what was overwritten or waiting when summed later can outnumber
	 * what had been produced: then 0, not a wrapped count. A partial
	 * walk (IN_RING_PARTIAL) counts the waiting records it did not
	 * reach as consumed.
	 */
	left = stats->overwritten_records + stats->in_ring_records;
	stats->consumed_records = stats->produced_records > left ?
				  stats->produced_records - left : 0;
	stats->consumers = mpmcring_slots_attached(ring);
	stats->abandoned_claims = atomic64_read(&ring->abandoned_claims);
	stats->abandoned_records = atomic64_read(&ring->abandoned_records);
	stats->revoked_claims = atomic64_read(&ring->revoked_claims);
	stats->revoked_records = atomic64_read(&ring->revoked_records);
	stats->prod_pos = READ_ONCE(v->meta->prod_pos);
	/* user-writable: reported as found, never used. */
	stats->head = READ_ONCE(v->cons->head);
	stats->reclaim_pos = READ_ONCE(v->meta->reclaim_pos);
}
EXPORT_SYMBOL_GPL(mpmcring_get_stats);

/*
 * Who attached slot i: the thread group as @ns sees it, 0 where it is not
 * visible there or is gone (a file passed on outlives its opener; a pid
 * that lives on only as a process group or session id leads no thread
 * group), and the slot's flags, both of one attachment (attach and detach
 * set them under this lock). The slot holds the process's struct pid, not
 * its number: a number reused since by another process does not name it.
 */
static void mpmcring_slot_owner(struct mpmcring *ring, unsigned int i,
				struct pid_namespace *ns,
				struct mpmcring_consumer_info *c)
{
	struct pid *pid;

	/* Detach puts the reference after taking it out under this lock. */
	spin_lock(&ring->slots_lock);
	pid = ring->slot_pids[i];
	c->flags = READ_ONCE(ring->view.slot_info[i].flags);
	c->pid = 0;
	rcu_read_lock();
	if (pid && pid_has_task(pid, PIDTYPE_TGID))
		c->pid = pid_nr_ns(pid, ns);
	rcu_read_unlock();
	spin_unlock(&ring->slots_lock);
}

/**
 * mpmcring_list_consumers() - describe the attached consumer slots
 * @ring: the ring
 * @info: filled with one entry per attached slot, in slot order
 * @max: entries @info holds
 * @ns: the pid namespace whose numbers @info's pids are
 *
 * Return: the number of entries filled.
 */
int mpmcring_list_consumers(struct mpmcring *ring,
			    struct mpmcring_consumer_info *info,
			    unsigned int max, struct pid_namespace *ns)
{
	const struct mpr_view *v = &ring->view;
	unsigned int i, n = 0;

	for (i = mpmcring_next_slot(ring, 0); i < ring->layout.max_consumers;
	     i = mpmcring_next_slot(ring, i + 1)) {
		struct mpmcring_consumer_info *c = &info[n];

		if (n == max)
			break;
		c->slot = i;
		mpmcring_slot_owner(ring, i, ns, c);
		c->revocations = READ_ONCE(v->slot_info[i].revocations);
		/* user-writable: reported as found, never used. */
		c->start = test_bit(i, ring->read_slots) ?
			   READ_ONCE(ring->read_claims[i]) :
			   READ_ONCE(v->cons->slots[i].start);
		/* user-writable: reported as found, never used. */
		c->held_records = READ_ONCE(v->cons->slots[i].held_records);
		c->claim_age_ms = mpmcring_claim_age_ms(ring, i, c->start);
		n++;
	}
	return n;
}

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
	seq_printf(m, "wakeups %llu\nroom_wakeups %llu\nconsumers %llu\n",
		   s->wakeups, s->room_wakeups, s->consumers);
	seq_printf(m, "abandoned_claims %llu\nabandoned_records %llu\n",
		   s->abandoned_claims, s->abandoned_records);
	seq_printf(m, "head_repairs %llu\n", s->head_repairs);
	seq_printf(m, "revoked_claims %llu\nrevoked_records %llu\n",
		   s->revoked_claims, s->revoked_records);
	seq_printf(m, "read_faults %llu\nin_ring_partial %u\n", s->read_faults,
		   !!(s->flags & MPMCRING_STATS_IN_RING_PARTIAL));
	seq_printf(m, "chunk_bytes %llu\nchunk_filler_bytes %llu\n",
		   s->chunk_bytes, s->chunk_filler_bytes);
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
		   l->mode == MPMCRING_MODE_OVERWRITE ? "overwrite" : "drop");
	seq_printf(m, "watermark_low %llu\nwatermark_normal %llu\nwatermark_critical %llu\n",
		   l->watermark[0], l->watermark[1], l->watermark[2]);
	seq_printf(m, "claim_timeout_ms %u\nuser_max_prio %u\nmax_per_file %u\n",
		   l->claim_timeout_ms, l->user_max_prio, l->max_per_file);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mpmcring_layout);

static int mpmcring_consumers_show(struct seq_file *m, void *unused)
{
	struct mpmcring *ring = m->private;
	struct mpmcring_consumer_info *info;
	int i, n;

	info = kvcalloc(ring->layout.max_consumers, sizeof(*info), GFP_KERNEL);
	if (!info)
		return -ENOMEM;
	n = mpmcring_list_consumers(ring, info, ring->layout.max_consumers,
				    &init_pid_ns);
	seq_puts(m, "slot pid flags start held_records claim_age_ms revocations\n");
	for (i = 0; i < n; i++)
		seq_printf(m, "%u %u %#x %llu %llu %llu %llu\n", info[i].slot,
			   info[i].pid, info[i].flags, info[i].start,
			   info[i].held_records, info[i].claim_age_ms,
			   info[i].revocations);
	kvfree(info);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mpmcring_consumers);

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
	debugfs_create_file("consumers", 0400, ring->debugfs, ring,
			    &mpmcring_consumers_fops);
}

void mpmcring_debugfs_remove(struct mpmcring *ring)
{
	debugfs_remove_recursive(ring->debugfs);
	ring->debugfs = NULL;
}

/* Returns the module's directory (an error pointer without debugfs). */
struct dentry *mpmcring_debugfs_init(void)
{
	mpmcring_debugfs_root = debugfs_create_dir("mpmcring", NULL);
	return mpmcring_debugfs_root;
}

void mpmcring_debugfs_exit(void)
{
	debugfs_remove_recursive(mpmcring_debugfs_root);
}
