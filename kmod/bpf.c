// SPDX-License-Identifier: GPL-2.0-only
/*
 * BPF programs as producers: kfuncs registered for the tracing program
 * types (fentry, fexit, fmod_ret, tp_btf, LSM; on 6.12 also tracepoint,
 * perf_event and kprobe programs, not on 6.1; raw_tracepoint programs on
 * neither). Which types may call them is the kernel's choice, by its kfunc
 * hooks: see mpmcring_bpf_init().
 *
 *   mpmcring_bpf_output(id, data, size, flags)     copy one record in
 *   mpmcring_bpf_admit(id, len, flags)             ask first (counts a no)
 *   mpmcring_bpf_reserve(id, len, flags)           KF_ACQUIRE | KF_RET_NULL
 *   mpmcring_bpf_write(rsv, off, data, size)       fill the reservation
 *   mpmcring_bpf_commit(rsv) (int), mpmcring_bpf_discard(rsv)   KF_RELEASE
 *
 * A ring is named by its id (layout.id: MPMCRING_IOC_INFO or the meta page
 * of any mapping of it), a plain number a loader puts into the program's
 * read-only data: the verifier needs nothing more, and the kfunc finds the
 * ring under RCU without a lock, from any context.
 *
 * Why reserve hands out an opaque handle and not the record's memory: on
 * every kernel we support, the verifier lets an acquiring kfunc return only
 * a pointer to a struct (PTR_TO_BTF_ID), which tracing programs may read
 * but not write. So the reservation is a handle the verifier tracks (a
 * program that can leave without commit or discard on some path is
 * rejected), and the program writes its record into it in pieces with
 * mpmcring_bpf_write(), each a bounded copy.
 *
 * The handle is a staging buffer, not space in the ring: the program's
 * own code runs between reserve and commit, and it may sleep there
 * (sleepable programs fault on user memory for as long as that memory's
 * owner likes) or be preempted (PREEMPT_RT, preempt=full). Space held in
 * the ring across that would stop reclaim, and so every producer of the
 * ring, for as long. So reserve only checks the ring and the length and
 * hands out a buffer; commit is one mpmcring_output() of it, under RCU,
 * start to end inside the kfunc. Nothing of the ring is held between
 * kfuncs, which also means destroy waits for one RCU grace period only.
 * Buffers come from a per-CPU pool of MPMCRING_BPF_POOL, each
 * MPMCRING_BPF_MAX_RESERVE bytes, shared by every program and ring. A
 * program that may sleep holds one for as long as anyone likes (a
 * sleepable program faulting on user memory: as long as that memory's
 * owner likes), so such programs may hold only some of them; task context
 * that cannot sleep may hold some more, and the rest are kept for programs
 * in interrupts, which give theirs back before they return
 * (mpmcring_bpf_slots_here()). A reservation that finds no buffer its
 * context may take is refused and counted as no_buffer, and, when the
 * caller is known to be one that may sleep, also as no_buffer_sleep, so
 * that an operator sees whether a program that cannot sleep lost records
 * (no_buffer - no_buffer_sleep). So sleepers can hold up the reservations
 * of other sleepers on their CPU; programs that cannot sleep keep 4
 * buffers per CPU that no sleeper can take (more held at once may be
 * refused while sleepers hold theirs), and output is never held up.
 * Sleepable programs are not refused reserve outright: 6.12 could (a
 * kfunc set filter on prog->sleepable), 6.1 cannot, and the same program
 * should load on both; sleeping with a record open is also what reserve
 * is for.
 * The ring refuses a record (full, priority) at commit, which returns why.
 *
 * Everything a program passes is checked as if hostile: flags must be a
 * priority class and nothing else, a record at least one byte long, data
 * not NULL (-EINVAL or NULL), and the id must name a ring (-ENOENT or
 * NULL). A call refused for these has no ring to count its loss in, so it
 * is counted module-wide, by reason, in
 * /sys/module/mpmcring/parameters/bpf_refused (mpmcring stat shows it): a
 * program holding a stale id loses records visibly. Lengths go through
 * mpmcring_reserve() (too big: -EMSGSIZE, counted by the ring); a write
 * must lie inside its reservation (-E2BIG). The verifier checks that each
 * data pointer covers its size.
 *
 * BPF programs produce in any class, critical included: loading a tracing
 * program takes CAP_BPF and CAP_PERFMON, which already read all kernel
 * memory, so they rank with kernel producers, not with write(2).
 *
 * A ring's memory stays valid for a kfunc that found it: mpmcring_destroy()
 * unpublishes the id, then waits for every kfunc that may have looked it
 * up (a grace period) before consumers are told the end, so no record
 * lands after they stopped. A reservation that outlives its ring fails at
 * commit, counted (ring_gone). The module cannot go while a loaded program
 * calls its kfuncs: the verifier holds a reference on the module that owns
 * their BTF for the program's lifetime.
 */
#include <linux/module.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <kunit/visibility.h>

#include "internal.h"
#include "mpmcring_bpf_refusal.h"

/*
 * The kfuncs are built where BPF programs can call them (module BTF), and
 * on KUnit kernels, whose KUnit suites call them directly: the test
 * kernels have no BPF, and would otherwise run this file under none of
 * their detectors (KASAN, KCSAN, lockdep). They are registered with BPF
 * only where the module has BTF.
 */
#if IS_ENABLED(CONFIG_DEBUG_INFO_BTF_MODULES) || IS_ENABLED(CONFIG_KUNIT)

/* Buffers one CPU's pool hands out at once (sleeping programs included). */
#define MPMCRING_BPF_POOL	16
/*
 * How many of them each context may hold: a context takes slots 0 to its
 * limit - 1, so what lies above a context's limit is kept for the
 * contexts that interrupt it. Contexts nest task -> softirq -> hardirq ->
 * NMI on a CPU, mostly one deep each: softirqs do not nest on a CPU (on
 * PREEMPT_RT, as of 6.12, the per-CPU softirq lock serializes them),
 * handlers run with interrupts off, NMIs do not nest. But in_nmi() is
 * also true in the NMI-like exceptions (int3, #DB, #MC), which may come
 * inside an NMI, and kprobe programs can run in int3: such a program
 * shares the NMI's slot, and if it is taken, its reservation is refused
 * and counted (no_buffer). Bits are taken and given back atomically, so
 * nesting deeper than planned can only refuse, never hand a slot out
 * twice. Only a program that may sleep holds a buffer for as long as
 * someone else decides: a sleepable program, whose user copy an
 * unprivileged user can keep waiting (a FUSE mount that never answers,
 * userfaultfd), on a CPU they pin threads to. Contexts that may sleep
 * (mpmcring_bpf_may_sleep()): 8, room for that many sleepers per CPU.
 * Task context that cannot sleep: 4 more, so that sleepers cannot take
 * the last 4 that tp_btf, LSM and fentry programs on task paths (the exec
 * example's), the most tracing there is in task context, can use. Such a
 * program holds its buffer until it returns; it may be preempted on the
 * way (preemptible RCU: preempt=full, PREEMPT_RT, where threaded interrupt
 * handlers run as tasks too), which a user who can deprioritise the task
 * (SCHED_IDLE, CPU hogs pinned there) can stretch to seconds, not stop. Softirq: 2 more,
 * because there the most tracing runs (network, timers, block) and on
 * PREEMPT_RT it runs in a thread a task may preempt. Hardirq and NMI: 1
 * more each, a program with one reservation open: they are short and
 * nothing above them preempts them for long.
 */
#define MPMCRING_BPF_POOL_NMI		MPMCRING_BPF_POOL
#define MPMCRING_BPF_POOL_HARDIRQ	(MPMCRING_BPF_POOL_NMI - 1)
#define MPMCRING_BPF_POOL_SOFTIRQ	(MPMCRING_BPF_POOL_HARDIRQ - 1)
#define MPMCRING_BPF_POOL_TASK		(MPMCRING_BPF_POOL_SOFTIRQ - 2)
#define MPMCRING_BPF_POOL_SLEEP		(MPMCRING_BPF_POOL_TASK - 4)
/*
 * Largest reservation a program may ask for: the buffer is zeroed at
 * reserve and copied at commit, maybe in NMI, so its cost is bounded; and
 * a pool holds MPMCRING_BPF_POOL of them per CPU.
 */
#define MPMCRING_BPF_MAX_RESERVE	4096U
/*
 * Largest record mpmcring_bpf_output() copies: the copy runs with
 * preemption off (from the reservation to its commit), maybe in NMI, and a
 * ring's max_record may be half a GiB; the bound write(2) has for the same
 * reason.
 */
#define MPMCRING_BPF_MAX_OUTPUT		MPMCRING_WRITE_MAX

struct mpmcring_bpf_pool;

/**
 * struct mpmcring_bpf_rsv - what a BPF program sees of its reservation
 * @len: payload bytes reserved
 * @pool: the pool the slot belongs to (a &struct mpmcring_bpf_pool)
 *
 * The verifier types the handle by this struct, and tracing programs may
 * load any field of it without a probe read: so it holds @len, and of the
 * rest of the slot (which ring, and the bytes the slot staged for
 * whichever program and ring used it last) nothing, reached by the kfuncs
 * only (mpmcring_bpf_slot_of()), and no layout of ours becomes ABI
 * through CO-RE.
 *
 * @pool is here because it is a pointer: this struct must not be one of
 * scalars only. For such a struct the verifier (6.1
 * btf_check_func_arg_match(), 6.12 get_kfunc_ptr_arg_type()) takes any
 * memory of its size that the program owns as the kfuncs' handle (stack,
 * a map value, a ringbuf sample, on 6.1 even NULL), and the kfuncs would
 * container_of() into it and write through it. With a pointer member it
 * takes only a PTR_TO_BTF_ID of this type, which programs get only from
 * mpmcring_bpf_reserve(), referenced. Not a flexible array, which would
 * let programs read past @len again; and void, so a program loading it
 * gets a number, not a pointer into the pool it could read slots through.
 */
struct mpmcring_bpf_rsv {
	u32 len;
	void *pool;
};

/**
 * struct mpmcring_bpf_slot - a staging buffer of a pool
 * @rsv: the part the program sees; the handle points here
 * @ring_id: the ring the record goes to, looked up again at commit
 * @prio: its class
 * @index: its bit in the pool's used word
 * @data: the record, staged
 */
struct mpmcring_bpf_slot {
	struct mpmcring_bpf_rsv rsv;
	u32 ring_id;
	u32 prio;
	unsigned int index;
	u8 data[MPMCRING_BPF_MAX_RESERVE];
};

struct mpmcring_bpf_pool {
	unsigned long used;	/* bit i: slot[i] is held */
	struct mpmcring_bpf_slot slot[MPMCRING_BPF_POOL];
};

/*
 * A pointer, so the verifier takes only reserve's handles as one (see
 * struct mpmcring_bpf_rsv); void, so programs cannot walk into the pool.
 */
static_assert(__builtin_types_compatible_p(typeof_member(struct mpmcring_bpf_rsv, pool),
					   void *));
/* The length check at reserve is all that keeps a program inside @data. */
static_assert(sizeof_field(struct mpmcring_bpf_slot, data) ==
	      MPMCRING_BPF_MAX_RESERVE);
static_assert(sizeof_field(struct mpmcring_bpf_pool, used) * BITS_PER_BYTE >=
	      MPMCRING_BPF_POOL);
/* Each context's share holds the one below it, and sleepers get some. */
static_assert(MPMCRING_BPF_POOL_SLEEP > 0 &&
	      MPMCRING_BPF_POOL_SLEEP < MPMCRING_BPF_POOL_TASK);

/*
 * Per CPU, each pool on its CPU's node: too big for alloc_percpu(), and
 * vmalloc'd, 17 pages (16 x 4128 bytes + the word; 68 KiB per possible
 * CPU), so that no high-order allocation is asked for at load.
 */
static DEFINE_PER_CPU(struct mpmcring_bpf_pool *, mpmcring_bpf_pools);

/*
 * Calls refused where no ring counts them, by reason: the reasons and
 * their names are proto/mpmcring_bpf_refusal.h's, shared with the readers.
 * Per CPU: programs run on every CPU at once, in any context (NMI too).
 * Each refusal is counted once, under one reason: [NO_BUFFER] counts only
 * the callers not known to sleep, and no_buffer, the total, is printed
 * with [NO_BUFFER_SLEEP] added (mpmcring_bpf_refused_get()).
 */
static DEFINE_PER_CPU(unsigned long, mpmcring_bpf_refused[MPR_BPF_REFUSED_NR]);

/*
 * The id of the last call refused as no_ring (0 before any; but 0 is
 * also the id of a program whose loader never set it, so readers take it
 * as an id once no_ring is not 0).
 * With several loaders on a machine, it tells the operator whose id is
 * stale: ids are never reused, so it matches one loader's configuration.
 * A plain store, safe from any context; racing stores leave one of them.
 */
static u32 mpmcring_bpf_last_no_ring;

static void mpmcring_bpf_refuse(enum mpr_bpf_refusal why)
{
	/* One instruction on x86: safe against interrupts and NMIs. */
	this_cpu_inc(mpmcring_bpf_refused[why]);
}

static void mpmcring_bpf_refuse_id(u32 ring_id)
{
	mpmcring_bpf_refuse(MPR_BPF_REFUSED_NO_RING);
	WRITE_ONCE(mpmcring_bpf_last_no_ring, ring_id);
}

/*
 * A ring found by its id refuses a record once its destroy began (-EPIPE:
 * [D4] in kmod/produce.c, between the lookup and the reservation). To a
 * program that is no ring, as a lookup a moment later would say: -ENOENT,
 * counted where its caller counts a ring not found.
 */
static int mpmcring_bpf_gone(int err)
{
	return err == -EPIPE ? -ENOENT : err;
}

/*
 * "no_ring=N bad_flags=N ... bad_write=N last_no_ring_id=ID": the counts
 * summed over CPUs, then the id of the last no_ring refusal (meaningful
 * only while no_ring is not 0: an id of 0 is a program's unset id).
 * no_buffer is every refusal for want of a buffer, as it was before
 * no_buffer_sleep existed, so that a reader that knows only no_buffer
 * still counts them all; no_buffer_sleep is the part of it whose caller
 * may sleep. Both come from the same sums, so in one line the part never
 * exceeds the total, however the counters move while they are read.
 */
static int mpmcring_bpf_refused_get(char *buf, const struct kernel_param *kp)
{
	unsigned long n[MPR_BPF_REFUSED_NR] = {};
	int cpu, i, len = 0;

	for (i = 0; i < MPR_BPF_REFUSED_NR; i++)
		for_each_possible_cpu(cpu)
			n[i] += per_cpu(mpmcring_bpf_refused[i], cpu);
	n[MPR_BPF_REFUSED_NO_BUFFER] += n[MPR_BPF_REFUSED_NO_BUFFER_SLEEP];
	for (i = 0; i < MPR_BPF_REFUSED_NR; i++)
		len += sysfs_emit_at(buf, len, "%s%s=%lu", i ? " " : "",
				     mpr_bpf_refusal_name(i), n[i]);
	len += sysfs_emit_at(buf, len, " last_no_ring_id=%u\n",
			     READ_ONCE(mpmcring_bpf_last_no_ring));
	return len;
}

/* A counter, not a setting: insmod calls .set unchecked, so it must exist. */
static int mpmcring_bpf_refused_set(const char *val,
				    const struct kernel_param *kp)
{
	pr_warn("mpmcring: bpf_refused is a counter and cannot be set\n");
	return -EPERM;
}

static const struct kernel_param_ops mpmcring_bpf_refused_ops = {
	.set = mpmcring_bpf_refused_set,
	.get = mpmcring_bpf_refused_get,
};
module_param_cb(bpf_refused, &mpmcring_bpf_refused_ops, NULL, 0444);
MODULE_PARM_DESC(bpf_refused,
		 "read-only: BPF kfunc calls refused where no ring counts them, by reason (no_ring: unknown id or a ring being destroyed, bad_flags, zero_len: empty record, null_data, ring_gone: destroyed before commit, no_buffer: no staging buffer free on the CPU for the caller, no_buffer_sleep: the part of no_buffer whose caller may sleep, bad_write: write outside the reservation; README, BPF producers), and the last unknown id");

/* Flags a program may pass: one priority class, nothing else. */
static bool mpmcring_bpf_flags_ok(u64 flags)
{
	return !(flags & ~(u64)MPMCRING_F_PRIO_MASK) &&
	       MPMCRING_F_PRIO(flags) < MPMCRING_NR_PRIO;
}

/*
 * The checks every producing call makes before it looks for a ring; a
 * refusal is counted here, since no ring can count it.
 */
static bool mpmcring_bpf_args_ok(u64 flags, u32 len)
{
	if (!mpmcring_bpf_flags_ok(flags)) {
		mpmcring_bpf_refuse(MPR_BPF_REFUSED_BAD_FLAGS);
		return false;
	}
	/* Records are never empty: read(2) returns 0 only at end of file. */
	if (!len) {
		mpmcring_bpf_refuse(MPR_BPF_REFUSED_ZERO_LEN);
		return false;
	}
	return true;
}

/*
 * Whether the caller, in task context, may sleep holding a buffer; asked
 * before the kfunc takes rcu_read_lock() itself, which would hide it.
 * A sleepable program runs under rcu_read_lock_trace() and
 * migrate_disable() only (neither touches preempt_count()): preemptible,
 * and no RCU read lock. A non-sleepable one runs under rcu_read_lock()
 * (BPF trampoline, raw tracepoint, iterator, uprobe; tracepoints also
 * disable preemption), which either disables preemption (no PREEMPT_RCU)
 * or shows in rcu_preempt_depth() (PREEMPT_RCU). The same holds on
 * PREEMPT_RT: rcu_read_lock() is preemptible there but counted in
 * rcu_preempt_depth(), so RT's non-sleepable programs, those in threaded
 * interrupt handlers and softirq threads included, are not taken for
 * sleepers. Interrupts or bottom halves off, or a spinlock held, say "no"
 * too. Without PREEMPT_COUNT, preemptible() is always 0 and
 * preempt_disable() marks nothing, so a sleeper cannot be told from the
 * rest: all task context is then taken to sleep, and gets the sleepers'
 * share (sleepers never reach the rest; the others lose their 4), but
 * its refusals count as no_buffer only, never as no_buffer_sleep
 * (mpmcring_bpf_slots_here()). Every kernel we support has PREEMPT_COUNT
 * (Debian's 6.1, 6.12 and 6.12-rt; the test kernels are CONFIG_PREEMPT).
 * It is the program that decides, not the user it serves: a sleepable
 * program that reserves inside bpf_rcu_read_lock() or
 * bpf_preempt_disable() (6.12) counts as one that cannot sleep, and may
 * sleep with the buffer once it unlocks; its loader chose that.
 */
static bool mpmcring_bpf_may_sleep(void)
{
	if (!IS_ENABLED(CONFIG_PREEMPT_COUNT))
		return true;
	return preemptible() && !rcu_preempt_depth();
}

/*
 * How many of the pool's slots the context the caller runs in may take;
 * before the kfunc's own rcu_read_lock() (mpmcring_bpf_may_sleep()).
 * @sleeper: set when the caller is known to be one that may sleep, so
 * that its refusal counts in no_buffer_sleep. Without PREEMPT_COUNT no
 * caller is known to: all of task context gets the sleepers' share, but
 * a refusal there may be a program that cannot sleep losing records, so
 * it is counted as no_buffer only (a false alarm at worst, never a loss
 * hidden among the sleepers').
 */
static unsigned int mpmcring_bpf_slots_here(bool *sleeper)
{
	*sleeper = false;
	if (in_nmi())
		return MPMCRING_BPF_POOL_NMI;
	if (in_hardirq())
		return MPMCRING_BPF_POOL_HARDIRQ;
	if (in_serving_softirq())
		return MPMCRING_BPF_POOL_SOFTIRQ;
	if (mpmcring_bpf_may_sleep()) {
		*sleeper = IS_ENABLED(CONFIG_PREEMPT_COUNT);
		return MPMCRING_BPF_POOL_SLEEP;
	}
	return MPMCRING_BPF_POOL_TASK;
}

static struct mpmcring_bpf_slot *mpmcring_bpf_slot_of(struct mpmcring_bpf_rsv *rsv)
{
	return container_of(rsv, struct mpmcring_bpf_slot, rsv);
}

/* A free slot among the first @slots of this CPU's pool, or NULL. */
static struct mpmcring_bpf_slot *mpmcring_bpf_get_handle(unsigned int slots)
{
	struct mpmcring_bpf_pool *pool;
	unsigned int i;

	/*
	 * This CPU's pool, so that CPUs do not share its word; a handle is
	 * given back from whichever CPU the program ends on.
	 */
	pool = this_cpu_read(mpmcring_bpf_pools);
	for (i = 0; i < slots; i++) {
		/*
		 * [B1] acquire: pairs with [B2] in mpmcring_bpf_put_handle(),
		 * so the last holder's use of the slot is over.
		 */
		if (!test_and_set_bit_lock(i, &pool->used))
			return &pool->slot[i];
	}
	return NULL;
}

static void mpmcring_bpf_put_handle(struct mpmcring_bpf_slot *h)
{
	struct mpmcring_bpf_pool *pool = h->rsv.pool;

	h->rsv.len = 0;
	/* [B2] release: pairs with [B1] in mpmcring_bpf_get_handle(). */
	clear_bit_unlock(h->index, &pool->used);
}

/* kfuncs: global and kept, so that BTF names them (internal.h declares them). */
#ifndef __bpf_kfunc
#define __bpf_kfunc noinline
#endif

/**
 * mpmcring_bpf_output() - copy one record into a ring, from BPF
 * @ring_id: the ring's id (&struct mpmcring_layout.id)
 * @data: the payload
 * @data__sz: its bytes; the verifier checks that @data covers them
 * @flags: MPMCRING_F_PRIO(class) and nothing else
 *
 * Return: 0; -EINVAL for bad @flags, a zero @data__sz (records are never
 * empty) or a NULL @data with a size; -ENOENT when no ring has @ring_id
 * or its destroy began (these four counted in the module's bpf_refused,
 * the last two as no_ring); -EMSGSIZE for @data__sz over
 * MPMCRING_WRITE_MAX (64 KiB: the copy runs with preemption off) or the
 * ring's max_record; otherwise as mpmcring_output() (-ENOSPC, -EAGAIN).
 * The ring's refusals are counted as its drops (-EMSGSIZE: too big).
 */
__bpf_kfunc int mpmcring_bpf_output(u32 ring_id, const void *data,
				    u32 data__sz, u64 flags)
{
	struct mpmcring *ring;
	int err = -ENOENT;

	if (!mpmcring_bpf_args_ok(flags, data__sz))
		return -EINVAL;
	/*
	 * The verifier lets a pointer that may be NULL through with its size
	 * (a map lookup passed straight on): nothing to copy from then.
	 */
	if (!data) {
		mpmcring_bpf_refuse(MPR_BPF_REFUSED_NULL_DATA);
		return -EINVAL;
	}
	/*
	 * [M:bpf-lookup] Lookup and output in one section: the destroy's
	 * grace period waits for it (mpmcring_bpf_commit() the same).
	 */
	rcu_read_lock();
	ring = mpmcring_find_id(ring_id);
	if (ring && data__sz > MPMCRING_BPF_MAX_OUTPUT)
		err = mpmcring_bpf_gone(mpmcring_refuse_too_big(ring,
							MPMCRING_F_PRIO(flags)));
	else if (ring)
		err = mpmcring_bpf_gone(mpmcring_output(ring, data, data__sz,
							(u32)flags));
	if (err == -ENOENT)
		mpmcring_bpf_refuse_id(ring_id);
	rcu_read_unlock();
	return err;
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_bpf_output);

/**
 * mpmcring_bpf_admit() - would a ring take a record now, from BPF
 * @ring_id: the ring's id
 * @len: payload bytes of the record the program would build
 * @flags: MPMCRING_F_PRIO(class) and nothing else
 *
 * Asked before the program spends anything on the record (helper calls,
 * user memory reads): mpmcring_admit()'s answer, for mpmcring_bpf_output()
 * (its 64 KiB bound included; a reservation has its 4 KiB limit). A
 * refusal is counted as a drop of the ring, so on any non-zero return the
 * program must not produce the record; @len must be the record's length
 * or less, never more (a longer one could be refused, and counted, where the record
 * fits); a 0 promises nothing (the output after it may still be refused,
 * and counts that).
 *
 * Return: 0; -ENOSPC (class watermark or ring full) and -EMSGSIZE, both
 * counted as drops of the ring; -EINVAL for bad @flags or a zero @len and
 * -ENOENT when no ring has @ring_id or its destroy began (counted in the
 * module's bpf_refused, the last as no_ring).
 */
__bpf_kfunc int mpmcring_bpf_admit(u32 ring_id, u32 len, u64 flags)
{
	struct mpmcring *ring;
	int err = -ENOENT;

	if (!mpmcring_bpf_args_ok(flags, len))
		return -EINVAL;
	/* As output's: one RCU section, which a destroy waits out. */
	rcu_read_lock();
	ring = mpmcring_find_id(ring_id);
	if (ring && len > MPMCRING_BPF_MAX_OUTPUT)
		err = mpmcring_bpf_gone(mpmcring_refuse_too_big(ring,
							MPMCRING_F_PRIO(flags)));
	else if (ring)
		err = mpmcring_bpf_gone(mpmcring_admit(ring, len, (u32)flags));
	if (err == -ENOENT)
		mpmcring_bpf_refuse_id(ring_id);
	rcu_read_unlock();
	return err;
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_bpf_admit);

/**
 * mpmcring_bpf_reserve() - reserve a record in a ring, from BPF
 * @ring_id: the ring's id
 * @len: payload bytes, 1 to the ring's max_record and
 *	%MPMCRING_BPF_MAX_RESERVE
 * @flags: MPMCRING_F_PRIO(class) and nothing else
 *
 * The program must end the reservation with mpmcring_bpf_commit() or
 * mpmcring_bpf_discard() on every path; the verifier refuses it otherwise.
 * The payload is whatever mpmcring_bpf_write() put there: bytes not
 * written are zero. Nothing is taken from the ring until commit: the
 * program may sleep in between without holding up any producer.
 *
 * Return: the reservation, or NULL: bad @flags, a zero @len, an unknown
 * @ring_id or a ring whose destroy began (counted in the module's
 * bpf_refused), a @len over the bound or the ring's max_record (too big:
 * counted as a drop of the ring), or no buffer free
 * on this CPU for the caller's context (counted in bpf_refused as
 * no_buffer, and also as no_buffer_sleep for a caller that may sleep: of
 * a CPU's 16 buffers, callers that may sleep take 8 at most, task context
 * that cannot sleep 12, softirq 14, hardirq 15, NMI 16).
 */
__bpf_kfunc struct mpmcring_bpf_rsv *mpmcring_bpf_reserve(u32 ring_id,
							  u32 len, u64 flags)
{
	struct mpmcring_bpf_slot *h = NULL;
	struct mpmcring *ring;
	unsigned int slots;
	bool sleeper;

	if (!mpmcring_bpf_args_ok(flags, len))
		return NULL;
	/* The caller's context, before rcu_read_lock() changes what it shows. */
	slots = mpmcring_bpf_slots_here(&sleeper);
	rcu_read_lock();
	ring = mpmcring_find_id(ring_id);
	if (!ring) {
		mpmcring_bpf_refuse_id(ring_id);
		goto out;
	}
	/*
	 * The program's length: it must fit a buffer (the memset below and
	 * every write rely on it) and the ring's records.
	 */
	if (len > sizeof_field(struct mpmcring_bpf_slot, data) ||
	    len > ring->layout.max_record) {
		/* Not a drop of a ring whose destroy began: no_ring, as output. */
		if (mpmcring_refuse_too_big(ring, MPMCRING_F_PRIO(flags)) ==
		    -EPIPE)
			mpmcring_bpf_refuse_id(ring_id);
		goto out;
	}
	/*
	 * No buffer is the module's shortage, not the ring's: counted where
	 * an operator tells it from contention on the ring. A known sleeper
	 * under its own counter, which no_buffer includes when printed, so
	 * that sleepers refusing each other do not hide a program that
	 * cannot sleep losing records.
	 */
	h = mpmcring_bpf_get_handle(slots);
	if (!h) {
		mpmcring_bpf_refuse(sleeper ? MPR_BPF_REFUSED_NO_BUFFER_SLEEP :
				    MPR_BPF_REFUSED_NO_BUFFER);
		goto out;
	}
	/* What the program does not write must not show an older record. */
	memset(h->data, 0, len);
	h->rsv.len = len;
	h->ring_id = ring_id;
	h->prio = MPMCRING_F_PRIO(flags);	/* the flags output takes */
out:
	rcu_read_unlock();
	return h ? &h->rsv : NULL;
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_bpf_reserve);

/**
 * mpmcring_bpf_write() - copy bytes into a reservation, from BPF
 * @rsv: a reservation from mpmcring_bpf_reserve(), not yet ended
 * @off: where in the payload
 * @data: the bytes
 * @data__sz: how many; the verifier checks that @data covers them
 *
 * Return: 0; -E2BIG when the bytes would not lie inside the payload, or
 * -EINVAL for a NULL @data with a size (nothing is written then; both
 * counted in the module's bpf_refused, bad_write: a program that commits
 * anyway sends zeros there).
 */
__bpf_kfunc int mpmcring_bpf_write(struct mpmcring_bpf_rsv *rsv, u32 off,
				   const void *data, u32 data__sz)
{
	struct mpmcring_bpf_slot *h = mpmcring_bpf_slot_of(rsv);

	/* A pointer that may be NULL gets through the verifier (see above). */
	if (!data && data__sz) {
		mpmcring_bpf_refuse(MPR_BPF_REFUSED_BAD_WRITE);
		return -EINVAL;
	}
	/* Lengths from the program: both checked against what was reserved. */
	if (off > h->rsv.len || data__sz > h->rsv.len - off) {
		mpmcring_bpf_refuse(MPR_BPF_REFUSED_BAD_WRITE);
		return -E2BIG;
	}
	memcpy(h->data + off, data, data__sz);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_bpf_write);

/**
 * mpmcring_bpf_commit() - send a reservation to its ring, from BPF
 * @rsv: a reservation from mpmcring_bpf_reserve(); it ends here
 *
 * One mpmcring_output() of the staged record, whole or not at all.
 *
 * Return: 0; -ENOENT when the ring was destroyed since the reservation
 * (counted in the module's bpf_refused, ring_gone: the id was valid at
 * reserve, so this is no stale id); otherwise as mpmcring_output()
 * (-ENOSPC, -EAGAIN: counted as drops of the ring).
 */
__bpf_kfunc int mpmcring_bpf_commit(struct mpmcring_bpf_rsv *rsv)
{
	struct mpmcring_bpf_slot *h = mpmcring_bpf_slot_of(rsv);
	struct mpmcring *ring;
	int err = -ENOENT;

	rcu_read_lock();
	ring = mpmcring_find_id(h->ring_id);
	if (ring)
		err = mpmcring_bpf_gone(mpmcring_output(ring, h->data,
							h->rsv.len, h->prio));
	if (err == -ENOENT)
		mpmcring_bpf_refuse(MPR_BPF_REFUSED_RING_GONE);
	rcu_read_unlock();
	mpmcring_bpf_put_handle(h);
	return err;
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_bpf_commit);

/**
 * mpmcring_bpf_discard() - give a reservation up, from BPF
 * @rsv: a reservation from mpmcring_bpf_reserve(); it ends here
 *
 * Nothing reaches the ring; the record counts there as discarded.
 */
__bpf_kfunc void mpmcring_bpf_discard(struct mpmcring_bpf_rsv *rsv)
{
	struct mpmcring_bpf_slot *h = mpmcring_bpf_slot_of(rsv);
	struct mpmcring *ring;

	rcu_read_lock();
	ring = mpmcring_find_id(h->ring_id);
	if (ring)
		mpmcring_count(ring, discarded_records, 1);
	rcu_read_unlock();
	mpmcring_bpf_put_handle(h);
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_bpf_discard);

#ifdef BTF_KFUNCS_START
BTF_KFUNCS_START(mpmcring_bpf_kfunc_ids)
#else
BTF_SET8_START(mpmcring_bpf_kfunc_ids)
#endif
BTF_ID_FLAGS(func, mpmcring_bpf_output)
BTF_ID_FLAGS(func, mpmcring_bpf_admit)
BTF_ID_FLAGS(func, mpmcring_bpf_reserve, KF_ACQUIRE | KF_RET_NULL)
BTF_ID_FLAGS(func, mpmcring_bpf_write, KF_TRUSTED_ARGS)
BTF_ID_FLAGS(func, mpmcring_bpf_commit, KF_RELEASE)
BTF_ID_FLAGS(func, mpmcring_bpf_discard, KF_RELEASE)
#ifdef BTF_KFUNCS_END
BTF_KFUNCS_END(mpmcring_bpf_kfunc_ids)
#else
BTF_SET8_END(mpmcring_bpf_kfunc_ids)
#endif

static const struct btf_kfunc_id_set mpmcring_bpf_kfunc_set = {
	.owner = THIS_MODULE,
	.set = &mpmcring_bpf_kfunc_ids,
};

static void mpmcring_bpf_free_pools(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		vfree(per_cpu(mpmcring_bpf_pools, cpu));
		per_cpu(mpmcring_bpf_pools, cpu) = NULL;
	}
}

static int mpmcring_bpf_alloc_pools(void)
{
	struct mpmcring_bpf_pool *pool;
	int cpu, i;

	for_each_possible_cpu(cpu) {
		pool = vzalloc_node(sizeof(*pool), cpu_to_node(cpu));
		if (!pool) {
			mpmcring_bpf_free_pools();
			return -ENOMEM;
		}
		per_cpu(mpmcring_bpf_pools, cpu) = pool;
		for (i = 0; i < MPMCRING_BPF_POOL; i++) {
			pool->slot[i].rsv.pool = pool;
			pool->slot[i].index = i;
		}
	}
	return 0;
}

/* Whether the kernel loaded the module with its BTF. */
static bool mpmcring_bpf_module_btf(void)
{
#if IS_ENABLED(CONFIG_DEBUG_INFO_BTF_MODULES)
	return THIS_MODULE->btf_data_size;
#else
	return false;
#endif
}

/**
 * mpmcring_bpf_ready() - whether the kfuncs have their buffers
 *
 * For the KUnit suites, which call the kfuncs without BPF.
 *
 * Return: true while the pools mpmcring_bpf_init() allocated are there
 * (allocated for every possible CPU, or for none).
 */
bool mpmcring_bpf_ready(void)
{
	return per_cpu(mpmcring_bpf_pools, cpumask_first(cpu_possible_mask));
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_bpf_ready);

/**
 * mpmcring_bpf_init() - register the kfuncs, when the module has BTF
 *
 * Without module BTF (built with no base BTF for this kernel, or a kernel
 * without it) the module works as ever, without BPF producers, and says
 * so once; on a KUnit kernel the kfuncs get their buffers all the same,
 * for the KUnit suites. With BTF, one line at load says what each
 * registration got: the tracing hook (the program types it serves are the
 * kernel's mapping) and kprobe, whose refusal (6.1) does not fail the
 * load.
 *
 * Return: 0; failing to offer kfuncs is not a reason to fail the module.
 */
int mpmcring_bpf_init(void)
{
	int kprobe, err;

	if (!mpmcring_bpf_module_btf()) {
		if (IS_ENABLED(CONFIG_KUNIT))
			mpmcring_bpf_alloc_pools();
		pr_info("mpmcring: built without BTF: BPF programs cannot produce into rings (see README, \"BPF producers\")%s\n",
			mpmcring_bpf_ready() ? "; the kfuncs are there for KUnit" : "");
		return 0;
	}
	if (mpmcring_bpf_alloc_pools()) {
		pr_warn("mpmcring: no memory for BPF reservation buffers: BPF kfuncs not registered\n");
		return 0;
	}
	/*
	 * A module registers its set once per kfunc hook, and the kernel
	 * maps program types to hooks (kernel/bpf/btf.c,
	 * bpf_prog_type_to_kfunc_hook()). Any refusal drops every set the
	 * module registered before it (btf_populate_kfunc_set() frees the
	 * module's table), so a type a kernel may refuse goes first.
	 *
	 * KPROBE (kprobe, kretprobe, uprobe programs): its own hook on 6.12;
	 * 6.1 has none and refuses the type (-EINVAL). Its answer is logged,
	 * not a reason to fail.
	 *
	 * TRACING (fentry, fexit, fmod_ret, tp_btf): its hook also serves LSM
	 * programs on 6.1 and 6.12, and TRACEPOINT and PERF_EVENT programs
	 * on 6.12, so those need no registration of their own, and must not
	 * have one: on 6.12 it would be a second set of this module on the
	 * same hook, refused with a WARN (and so dropping ours); 6.1 maps
	 * them to no hook and refuses them. RAW_TRACEPOINT (raw_tp, not
	 * tp_btf) has no hook of its own on either kernel; on 6.12 a set
	 * registered for BPF_PROG_TYPE_UNSPEC (the common hook, every program
	 * type, narrowed by the set's filter) would reach it. Not done: 6.1
	 * has no such hook, and a raw_tp program can be a tp_btf one.
	 */
	kprobe = register_btf_kfunc_id_set(BPF_PROG_TYPE_KPROBE,
					   &mpmcring_bpf_kfunc_set);
	err = register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING,
					&mpmcring_bpf_kfunc_set);
	if (err) {
		pr_warn("mpmcring: registering BPF kfuncs failed (%d): BPF programs cannot produce into rings\n",
			err);
		mpmcring_bpf_free_pools();
		return 0;
	}
	/*
	 * What each registration got, in one line. Which program types the
	 * tracing hook serves is the kernel's mapping, which a module cannot
	 * read; asking for TRACEPOINT or PERF_EVENT to find out would WARN
	 * on 6.12 (above), so the line names them with the hook. It says
	 * what the calls returned: a module the kernel loaded without its BTF
	 * (a BTF mismatch that CONFIG_MODULE_ALLOW_BTF_MISMATCH lets pass,
	 * with the kernel's own warning) has every call accepted and no
	 * kfuncs.
	 */
	if (kprobe)
		pr_info("mpmcring: BPF kfunc registrations accepted for: tracing lsm (and tracepoint perf_event where the kernel gives them the tracing hook); refused: kprobe (%d)\n",
			kprobe);
	else
		pr_info("mpmcring: BPF kfunc registrations accepted for: tracing lsm (and tracepoint perf_event where the kernel gives them the tracing hook) kprobe; refused: none\n");
	return 0;
}

void mpmcring_bpf_exit(void)
{
	/*
	 * No program holds a handle: each holds the module until it goes
	 * (and the KUnit suites, mpmcring_test.ko, do too).
	 */
	mpmcring_bpf_free_pools();
}

#else /* !CONFIG_DEBUG_INFO_BTF_MODULES && !CONFIG_KUNIT */

int mpmcring_bpf_init(void)
{
	pr_info("mpmcring: kernel without module BTF: BPF programs cannot produce into rings\n");
	return 0;
}

void mpmcring_bpf_exit(void)
{
}

#endif
