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
#include <linux/timer.h>
#include <asm/local64.h>

#include "mpmcring.h"

#include "mpmcring_proto.h"

#define MPMCRING_MIN_SIZE	(4ULL << 10)	/* or PAGE_SIZE, if larger */
#define MPMCRING_MAX_SIZE	(1ULL << 30)
#define MPMCRING_MAX_CONSUMERS	1022
#define MPMCRING_DEF_CONSUMERS	62
#define MPMCRING_DEF_PER_FILE	16
#define MPMCRING_DEF_CLAIM_TIMEOUT_MS	5000
#define MPMCRING_MAX_CLAIM_TIMEOUT_MS	(3600U * 1000)
/* Interrupt context levels: task, softirq, hardirq, NMI. */
#define MPMCRING_NR_LEVELS	4
/* A reclaim that would find what the last one found waits this long. */
#define MPMCRING_RECLAIM_GAP_NS	(20 * NSEC_PER_USEC)
/* The housekeeping tick while files are open: leases, backstop wakeups. */
#define MPMCRING_TICK_MS	100

/*
 * Per-CPU counters, summed by mpmcring_get_stats(). local64_t: an update is
 * one instruction (or an atomic) on its CPU, so an NMI in the middle of a
 * task's update cannot tear it.
 */
struct mpmcring_pcpu_stats {
	local64_t produced_records;
	local64_t produced_bytes;
	local64_t discarded_records;
	local64_t dropped[MPMCRING_NR_DROP][MPMCRING_NR_PRIO];
	local64_t overwritten_records;
	local64_t overwritten_bytes;
	local64_t wakeups;
	local64_t head_repairs;
	local64_t read_faults;
	local64_t room_wakeups;
	local64_t chunk_filler_bytes;
};

/* Adds to this CPU's counter; any context. */
#define mpmcring_count(ring, field, n) do {				\
	struct mpmcring_pcpu_stats *__s = get_cpu_ptr((ring)->stats);	\
	local64_add((n), &__s->field);					\
	put_cpu_ptr((ring)->stats);					\
} while (0)

struct mpmcring {
	struct mpr_view view;		/* the kernel's own view: trusted sizes */
	/*
	 * mpr_reserve_limit() per class, from layout.watermark[] and .mode,
	 * set once in mpmcring_alloc() before the ring is published. Whoever
	 * makes the class watermark or the mode mutable must recompute it
	 * under the same rules (and mind reservations racing with that).
	 */
	u64 reserve_limit[MPMCRING_NR_PRIO];
	/*
	 * Destroy began: producers refuse (-EPIPE). Next to reserve_limit,
	 * which every reservation reads too.
	 */
	bool closing;
	/*
	 * Chunked reservation (kmod/chunk.c): the chunk size, 0 for one
	 * reservation per record; MPMCRING_NR_LEVELS chunks per CPU.
	 */
	u32 chunk_bytes;
	/* The lowest of reserve_limit[]: chunks open only within it. */
	u64 chunk_open_max;
	void __percpu *chunks;		/* MPR_CHUNK_STRIDE apart */
	struct mpmcring_layout layout;	/* kernel copy; the meta page is a mirror */

	struct page **pages;		/* cons, meta, slot info, stamps, data x2 */
	unsigned int nr_pages;		/* entries in pages[] */
	unsigned int nr_cons_pages;
	unsigned int nr_alloc_pages;	/* distinct pages (data counted once) */
	void *vaddr;			/* vmap of pages[] */

	struct mpmcring_pcpu_stats __percpu *stats;
	/* Records each (CPU, level) has reserved and not finished. */
	unsigned int __percpu *depth;	/* [MPMCRING_NR_LEVELS] */

	/*
	 * Reclaim: one at a time, never waited for by a producer; only
	 * process context waits a bounded time for one: an O_NONBLOCK
	 * write(2) whose overwrite reservation found the bit taken
	 * (kmod/write.c), and mpmcring_reclaim_after() (a writer after
	 * asking for room, the room kick).
	 */
	unsigned long reclaim_lock;	/* bit 0: running; +1 at take and at let go */
	u64 reclaim_head;		/* the head the last reclaim saw */
	u64 reclaim_ns;			/* and when (ktime_get_mono_fast_ns) */
	bool reclaim_more;		/* it stopped at its walk bound */
	struct mpr_lease *leases;	/* per slot, under reclaim_lock */
	struct mpr_floor floor;		/* the floor lease, likewise */

	/* Consumer slots attached, and accounting of those that went away. */
	spinlock_t slots_lock;
	unsigned long *slots_used;
	unsigned long *read_slots;	/* slots read(2) claims through */
	u64 *read_claims;		/* their claims: kernel memory */
	struct pid **slot_pids;		/* who attached each: the list's pids */
	unsigned long *lease_fresh;	/* slots attached since their lease */
	atomic64_t abandoned_claims;
	atomic64_t abandoned_records;
	atomic64_t revoked_claims;
	atomic64_t revoked_records;

	/*
	 * Wakeups. The files that wait for records (poll, epoll, io_uring
	 * and read(2) on a file opened for reading) are on wq; each such
	 * file's watermark class k (wake at 2^k bytes) is counted in
	 * wake_refs[k], and wake_mask has bit k while wake_refs[k] > 0.
	 * Writers with no records to wait for (a blocked write(2), the poll
	 * of a write-only file) are on wq_out, below.
	 */
	wait_queue_head_t wq;
	struct irq_work wake_work;
	u64 wake_mask;
	u32 wake_refs[64];
	spinlock_t wake_lock;		/* wake_mask, wake_refs */
	int wake_missed;		/* a commit found sleepers, woke none */
	/*
	 * Set for good once an exclusive waiter that asks for neither POLLIN
	 * nor POLLRDNORM (EPOLLEXCLUSIVE, or io_uring's, on a file that
	 * reads: a read-write file waiting for room, say) is queued on wq:
	 * readers' wakeups are keyed EPOLLIN from then on
	 * (mpmcring_wake_readers()). Any file that reads may set it.
	 */
	int keyed_wakeups;
	unsigned long lowered_woke;	/* jiffies: a lowered watermark's last wake */
	unsigned long unpinned;		/* jiffies: the last chunk unpin scan */
	/*
	 * The housekeeping tick's own (mpmcring_backstop()): the head it saw
	 * last, and the head it last woke readers at.
	 */
	u64 tick_head;
	u64 woke_head;
	/*
	 * The head when a record was last refused for room (mpmcring_ready()).
	 * Its own line: refusing CPUs write it once per head, and the line
	 * before (wake_mask, wake_missed) is read by every commit.
	 */
	u64 refused_head ____cacheline_aligned_in_smp;
	/*
	 * reclaim_pos when a reservation was last refused for room (odd
	 * until one is): a stalled claim holds producers back while it is
	 * where reclaim starts (mpr_env_refused_at()).
	 */
	u64 refused_reclaim;
	/* reclaim_pos at the last unpin scan of a stuck head (odd: none yet) */
	u64 unpin_pos;
	unsigned long out_waiters ____cacheline_aligned_in_smp; /* bit per class: a writer wants room */
	/*
	 * Commits look at wq only: a writer asleep here costs them nothing,
	 * and the tick sends (and counts) it no consumer wakeup. Room
	 * wakeups go to both queues (a read-write file polls on wq). Apart
	 * from wq's line, which every commit reads.
	 */
	wait_queue_head_t wq_out;

	/* The housekeeping tick runs while files are open. */
	struct timer_list tick;
	struct mutex open_lock;		/* nr_open, starting/stopping tick */
	unsigned int nr_open;

	struct kref ref;
	struct miscdevice misc;
	char devname[48];
	bool registered;
	bool dead;			/* destroyed: no new data will come */
	struct list_head node;		/* in the registry */
	struct dentry *debugfs;
};

/* One open file: the consumer slots it attached and its settings. */
struct mpmcring_file {
	struct mpmcring *ring;
	struct mutex lock;	/* slots, nr_slots, read_slot; serialises read(2) */
	unsigned long *slots;	/* slots ATTACH attached */
	unsigned int nr_slots;	/* those and read(2)'s: at most max_per_file */
	/*
	 * The slot read(2) uses, -1 until needed; never in @slots (DETACH
	 * refuses it), counted in @nr_slots, freed when the file is.
	 */
	int read_slot;
	u32 wake_class;		/* wakes once 2^wake_class bytes are ready */
	u32 prio;
	/*
	 * What POLLOUT promises room for: the bytes the file's last write(2)
	 * needed if it said EAGAIN, else 0 (the smallest record); reset by
	 * SET_PRIO. One value for every thread and process using the file.
	 */
	u64 out_need;
	/*
	 * Waits for records, on the readers' queue, its watermark counted:
	 * opened for reading, or for neither (ioctl only). Not a write-only
	 * file: it cannot read, and a commit must not look for it.
	 */
	bool reader;
	bool writable;		/* opened for writing: may write(2), SET_PRIO */
	bool consumer;		/* opened read-write: may ATTACH and consume */
};

/* ring.c */
int mpmcring_ring_register(struct mpmcring *ring);
void mpmcring_ring_get(struct mpmcring *ring);
int mpmcring_validate_params(const struct mpmcring_params *p);
u64 mpmcring_min_size(unsigned long page_size);
void mpmcring_registry_exit(void);
struct mpmcring *mpmcring_find_id(u32 id);
/* mpmcring_find_id()'s first-look slots (ring.c), id modulo this. */
#define MPMCRING_ID_CACHE 64
extern struct mutex mpmcring_registry_lock;

/* Test hooks (exported only to KUnit tests). */
extern atomic_long_t mpmcring_live_pages;
struct mpr_view *mpmcring_kunit_view(struct mpmcring *ring);
struct mpmcring *mpmcring_id_cached(u32 id);

/* slots.c */
int mpmcring_slot_attach(struct mpmcring *ring, bool read_slot);
void mpmcring_slot_detach(struct mpmcring *ring, unsigned int slot);

/*
 * The next attached slot at or after i (max_consumers when none). Attach
 * and detach set and clear slots_used bits while reclaim and the consumer
 * list scan it, without a lock: each word is loaded once, marked, so the
 * scan sees every word as it was at one moment (find_next_bit()'s plain
 * loads race with them: KCSAN saw it, detach against list_consumers). At
 * most max_consumers / BITS_PER_LONG words.
 */
static inline unsigned int mpmcring_next_slot(const struct mpmcring *ring,
					      unsigned int i)
{
	unsigned int n = ring->layout.max_consumers;
	unsigned long w;

	while (i < n) {
		w = READ_ONCE(ring->slots_used[BIT_WORD(i)]) >>
		    (i % BITS_PER_LONG);
		if (w)
			return min(i + (unsigned int)__ffs(w), n);
		i = round_down(i, BITS_PER_LONG) + BITS_PER_LONG;
	}
	return n;
}

/*
 * How many slots are attached, for the statistics: the words loaded as
 * mpmcring_next_slot() loads them (bitmap_weight()'s plain loads raced
 * with attach and detach: KCSAN). Bits past max_consumers are never set;
 * masked all the same, as bitmap_weight() does.
 */
static inline unsigned int mpmcring_slots_attached(const struct mpmcring *ring)
{
	unsigned int n = ring->layout.max_consumers, i, count = 0;
	unsigned long w;

	for (i = 0; i < n; i += BITS_PER_LONG) {
		w = READ_ONCE(ring->slots_used[BIT_WORD(i)]);
		if (n - i < BITS_PER_LONG)
			w &= BITMAP_LAST_WORD_MASK(n);
		count += hweight_long(w);
	}
	return count;
}

/*
 * produce.c. mpmcring_reserve_prio() says -EBUSY where the exported calls
 * say -EAGAIN (an overwrite ring's reclaim bit taken: write(2) waits for
 * it); a caller that hands its errno to userspace turns it into -EAGAIN.
 */
int mpmcring_reserve_prio(struct mpmcring *ring, const u32 *lens,
			  unsigned int n, u32 prio, u8 rec_flags,
			  bool count_drops, struct mpmcring_rsv *rsv);
void mpmcring_count_drop(struct mpmcring *ring, int reason, u32 prio,
			 unsigned int n);
int mpmcring_refuse_too_big(struct mpmcring *ring, u32 prio);

/* bpf.c; the kfuncs are called by BPF programs, and by the KUnit suites. */
struct mpmcring_bpf_rsv;
int mpmcring_bpf_output(u32 ring_id, const void *data, u32 data__sz, u64 flags);
int mpmcring_bpf_admit(u32 ring_id, u32 len, u64 flags);
struct mpmcring_bpf_rsv *mpmcring_bpf_reserve(u32 ring_id, u32 len, u64 flags);
int mpmcring_bpf_write(struct mpmcring_bpf_rsv *rsv, u32 off, const void *data,
		       u32 data__sz);
int mpmcring_bpf_commit(struct mpmcring_bpf_rsv *rsv);
void mpmcring_bpf_discard(struct mpmcring_bpf_rsv *rsv);
bool mpmcring_bpf_ready(void);
int mpmcring_bpf_init(void);
void mpmcring_bpf_exit(void);

/* reclaim.c */
void mpmcring_reclaim(struct mpmcring *ring);
/* How long mpmcring_reclaim_after() waits for a reclaim begun after it. */
#define MPMCRING_RECLAIM_WAIT_NS	(100 * NSEC_PER_USEC)
bool mpmcring_reclaim_after(struct mpmcring *ring);
bool mpmcring_repair(struct mpmcring *ring);
u64 mpmcring_claim_age_ms(struct mpmcring *ring, unsigned int slot, u64 start);
/* A CPU's chunk for an interrupt level, from that CPU's chunk area. */
static inline struct mpr_chunk *mpmcring_chunk_at(void *area, unsigned int level)
{
	return (struct mpr_chunk *)((u8 *)area + level * MPR_CHUNK_STRIDE);
}

/*
 * Every chunk of a chunked ring, c: each possible CPU's, one for each
 * interrupt level, in one loop (a break leaves it). Bounded by possible
 * CPUs times levels. The arguments are evaluated on every pass: plain
 * variables, no side effects.
 */
#define mpmcring_for_each_chunk(ring, cpu, level, c)			\
	for ((cpu) = cpumask_first(cpu_possible_mask), (level) = 0;	\
	     (cpu) < nr_cpu_ids &&					\
	     ((c) = mpmcring_chunk_at(per_cpu_ptr((ring)->chunks, (cpu)), \
				      (level)), true);			\
	     (level) = ((level) + 1) % MPMCRING_NR_LEVELS,		\
	     (cpu) = (level) ? (cpu) : cpumask_next((cpu), cpu_possible_mask))

int mpmcring_chunks_init(struct mpmcring *ring, u32 want);
#if IS_ENABLED(CONFIG_KUNIT)
bool mpmcring_chunk_close(struct mpmcring *ring, struct mpr_chunk *c);
bool mpmcring_unpin_stuck(struct mpmcring *ring, u64 r, u64 head);
#endif
unsigned int mpmcring_chunks_close(struct mpmcring *ring);
unsigned int mpmcring_chunks_unpin(struct mpmcring *ring);
void mpmcring_tick_start(struct mpmcring *ring);
void mpmcring_tick_stop(struct mpmcring *ring);
void mpmcring_tick_init(struct mpmcring *ring);

/* wait.c */
void mpmcring_wake_work(struct irq_work *work);
void mpmcring_wake_check(struct mpmcring *ring, u64 pos);
#if IS_ENABLED(CONFIG_KUNIT)
bool mpmcring_wake_due(u64 d0, u64 d1, u64 mask);
#endif

/*
 * A producer was refused for room while reclaim_pos was r (or a writer
 * waits for room there): the leases' pressure (mpr_claims_floor(): a
 * timed-out claim is revoked while reclaim still starts at r), noted as
 * mpr_refusal_note() says. A refusal reclaim sees late is seen by the
 * next; an older position left by racing stores is put right by the next
 * refusal or the tick (while writers wait). Any context.
 */
static inline void mpmcring_refused_at(struct mpmcring *ring, u64 r)
{
	mpr_refusal_note(&ring->refused_reclaim, r);
}

/*
 * After a commit or discard, wakes who needs it; any context. While nobody
 * sleeps: one full barrier and one load, inline in the commit.
 */
static inline void mpmcring_maybe_wake(struct mpmcring *ring, u64 pos)
{
	/* [W1] pairs with [W2]: the stamp before the look at the queue. */
	if (wq_has_sleeper(&ring->wq))
		mpmcring_wake_check(ring, pos);
}

/*
 * A chunk's rest closed as a filler of bytes at pos, by whoever won the
 * close (a reservation, the tick, destroy, an unpin scan): counted, and
 * checked for wakeups as a commit is. Any context.
 */
static inline void mpmcring_filler_closed(struct mpmcring *ring, u64 pos,
					  u64 bytes)
{
	mpmcring_count(ring, chunk_filler_bytes, bytes);
	mpmcring_maybe_wake(ring, pos);
}
bool mpmcring_ready(struct mpmcring *ring, u32 wake_class);
u32 mpmcring_wake_class(u64 watermark);
void mpmcring_wake_class_get(struct mpmcring *ring, u32 k);
void mpmcring_wake_class_put(struct mpmcring *ring, u32 k);
void mpmcring_backstop(struct mpmcring *ring);
void mpmcring_wake_lowered(struct mpmcring *ring);
void mpmcring_note_waiter(struct mpmcring *ring, __poll_t events);
void mpmcring_refused_mark(struct mpmcring *ring);
void mpmcring_refused_writer_waits(struct mpmcring *ring);

struct kiocb;
struct iov_iter;

/* fops.c, read.c, write.c, ioctl.c */
extern const struct file_operations mpmcring_fops;
#if IS_ENABLED(CONFIG_KUNIT)
struct poll_table_struct;
__poll_t mpmcring_poll(struct file *file, struct poll_table_struct *pt);
#endif
int mpmcring_file_attach(struct mpmcring_file *mf, bool read_slot);
ssize_t mpmcring_read(struct file *file, char __user *buf, size_t count,
		      loff_t *ppos);
ssize_t mpmcring_read_iter(struct kiocb *iocb, struct iov_iter *to);
ssize_t mpmcring_write_iter(struct kiocb *iocb, struct iov_iter *from);
long mpmcring_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
int mpmcring_wait_readable(struct mpmcring_file *mf);

/* room.c: writers waiting for room */
u64 mpmcring_free_bytes(struct mpmcring *ring);
bool mpmcring_room(struct mpmcring *ring, u32 prio, u64 need);
u64 mpmcring_min_need(struct mpmcring *ring);
void mpmcring_want_room(struct mpmcring *ring, u32 prio, u64 need);
bool mpmcring_want_room_or_room(struct mpmcring *ring, u32 prio, u64 need,
				bool nowait);
bool mpmcring_room_or_want(struct mpmcring *ring, u32 prio, u64 need);
void mpmcring_room_backstop(struct mpmcring *ring);
void mpmcring_room_kick(struct mpmcring *ring);

/*
 * write.c: whether an O_NONBLOCK write(2) tries its reservation again
 * after @err (its bounds, and why: mpmcring_write_retry()).
 */
#define MPMCRING_WRITE_BUSY_RETRIES	8
/* Attempts a non-blocking write(2) makes on room its own look found. */
#define MPMCRING_WRITE_LOOKS		3
#define MPMCRING_WRITE_BUSY_WAIT_NS	(20 * NSEC_PER_MSEC)

struct mpmcring_write_tries {
	unsigned int busy, again;
	u64 waited_ns;
};

bool mpmcring_write_retry(struct mpmcring *ring, int err,
			  struct mpmcring_write_tries *r);

/* stats.c */
void mpmcring_debugfs_add(struct mpmcring *ring);
void mpmcring_debugfs_remove(struct mpmcring *ring);
struct dentry *mpmcring_debugfs_init(void);
void mpmcring_debugfs_exit(void);
struct pid_namespace;
int mpmcring_list_consumers(struct mpmcring *ring,
			    struct mpmcring_consumer_info *info,
			    unsigned int max, struct pid_namespace *ns);

/* objects.c */
void mpmcring_object_add(const void *start, size_t size, const char *kind,
			 const char *ring);
void mpmcring_object_del(const void *start);
void mpmcring_objects_init(struct dentry *root);
void mpmcring_objects_exit(void);
/* A list of its own, for KUnit's mpmcring_objects suite. */
struct mpmcring_objects;
struct mpmcring_objects *mpmcring_objects_new(unsigned int max);
void mpmcring_objects_free(struct mpmcring_objects *objs);
void mpmcring_objects_note_add(struct mpmcring_objects *objs,
			       const void *start, size_t size,
			       const char *kind, const char *ring);
void mpmcring_objects_note_del(struct mpmcring_objects *objs,
			       const void *start);
int mpmcring_objects_state(struct mpmcring_objects *objs, const void *start,
			   u64 *dropped, u64 *untracked);

#endif /* _MPMCRING_INTERNAL_H */
