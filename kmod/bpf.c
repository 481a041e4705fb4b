// SPDX-License-Identifier: GPL-2.0-only
/*
 * BPF programs as producers: kfuncs registered for the tracing program
 * types (fentry, fexit, fmod_ret, tp_btf, LSM; on kernels that allow it
 * also tracepoint, perf_event and kprobe programs).
 *
 *   mpmcring_bpf_output(id, data, size, flags)     copy one record in
 *   mpmcring_bpf_reserve(id, len, flags)           KF_ACQUIRE | KF_RET_NULL
 *   mpmcring_bpf_write(rsv, off, data, size)       fill the reservation
 *   mpmcring_bpf_commit(rsv), mpmcring_bpf_discard(rsv)   KF_RELEASE
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
 * mpmcring_bpf_write(), each a bounded copy. Handles come from a small
 * per-CPU pool; an empty pool is a dropped record, counted as contention.
 *
 * Everything a program passes is checked as if hostile: flags must be a
 * priority class and nothing else, and a record at least one byte long
 * (-EINVAL or NULL, before any ring is looked up, not counted: they are
 * the program's errors, as for every producer); ids are looked up
 * (unknown: -ENOENT or NULL); lengths go through mpmcring_reserve() (too
 * big: -EMSGSIZE, counted); a write must lie inside its reservation
 * (-E2BIG). The verifier checks that each data pointer covers its size.
 *
 * BPF programs produce in any class, critical included: loading a tracing
 * program takes CAP_BPF and CAP_PERFMON, which already read all kernel
 * memory, so they rank with kernel producers, not with write(2).
 *
 * A ring's memory stays valid for a program between reserve and commit:
 * mpmcring_destroy() unpublishes the id, then waits for every program that
 * may have looked it up (mpmcring_bpf_sync()). The module cannot go while
 * a loaded program calls its kfuncs: the verifier holds a reference on the
 * module that owns their BTF for the program's lifetime.
 */
#include <linux/module.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/rcupdate_trace.h>
#include <linux/string.h>

#include "internal.h"

#if IS_ENABLED(CONFIG_DEBUG_INFO_BTF_MODULES)

/* Reservations one CPU's pool hands out at once (tasks preempted included). */
#define MPMCRING_BPF_POOL	16
/*
 * Largest reservation a program may ask for: it is zeroed in the kfunc,
 * maybe in NMI, so its cost must be bounded (write(2)'s bound too).
 */
#define MPMCRING_BPF_MAX_RESERVE	MPMCRING_WRITE_MAX

struct mpmcring_bpf_pool;

/**
 * struct mpmcring_bpf_rsv - a reservation held by a BPF program
 * @len: payload bytes reserved (programs may read it)
 * @rsv: the reservation in the ring
 * @pool: the pool the handle belongs to
 * @index: its bit in @pool->used
 */
struct mpmcring_bpf_rsv {
	u32 len;
	struct mpmcring_rsv rsv;
	struct mpmcring_bpf_pool *pool;
	unsigned int index;
};

struct mpmcring_bpf_pool {
	unsigned long used;	/* bit i: slot[i] is held */
	struct mpmcring_bpf_rsv slot[MPMCRING_BPF_POOL];
};

static struct mpmcring_bpf_pool __percpu *mpmcring_bpf_pools;
static bool mpmcring_bpf_ready;

/* Flags a program may pass: one priority class, nothing else. */
static bool mpmcring_bpf_flags_ok(u64 flags)
{
	return !(flags & ~(u64)MPMCRING_F_PRIO_MASK) &&
	       MPMCRING_F_PRIO(flags) < MPMCRING_NR_PRIO;
}

static struct mpmcring_bpf_rsv *mpmcring_bpf_get_handle(void)
{
	struct mpmcring_bpf_pool *pool;
	unsigned int i;

	/*
	 * This CPU's pool, so that CPUs do not share its word; a handle is
	 * given back from whichever CPU the program ends on.
	 */
	pool = get_cpu_ptr(mpmcring_bpf_pools);
	put_cpu_ptr(mpmcring_bpf_pools);
	for (i = 0; i < MPMCRING_BPF_POOL; i++) {
		/*
		 * [B1] acquire: pairs with [B2] in mpmcring_bpf_put_handle(),
		 * so the last holder's use of the slot is over.
		 */
		if (!test_and_set_bit_lock(i, &pool->used))
			return &pool->slot[i];
	}
	return NULL;
}

static void mpmcring_bpf_put_handle(struct mpmcring_bpf_rsv *h)
{
	h->rsv.ring = NULL;
	h->len = 0;
	/* [B2] release: pairs with [B1] in mpmcring_bpf_get_handle(). */
	clear_bit_unlock(h->index, &h->pool->used);
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
 * empty) or a NULL @data with a size; -ENOENT when no ring has @ring_id;
 * otherwise as mpmcring_output() (-EMSGSIZE, -ENOSPC, -EAGAIN: counted as
 * drops of the ring).
 */
__bpf_kfunc int mpmcring_bpf_output(u32 ring_id, const void *data,
				    u32 data__sz, u64 flags)
{
	struct mpmcring *ring;
	int err = -ENOENT;

	/*
	 * The verifier lets a pointer that may be NULL through with its size
	 * (a map lookup passed straight on): nothing to copy from then.
	 */
	if (!mpmcring_bpf_flags_ok(flags) || !data__sz || !data)
		return -EINVAL;
	rcu_read_lock();
	ring = mpmcring_find_id(ring_id);
	if (ring)
		err = mpmcring_output(ring, data, data__sz, (u32)flags);
	rcu_read_unlock();
	return err;
}

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
 * written are zero.
 *
 * Return: the reservation, or NULL: bad @flags or a zero @len (not
 * counted), unknown @ring_id, or a reservation the ring refused (counted
 * as a drop by reason and class).
 */
__bpf_kfunc struct mpmcring_bpf_rsv *mpmcring_bpf_reserve(u32 ring_id,
							  u32 len, u64 flags)
{
	struct mpmcring_bpf_rsv *h = NULL;
	struct mpmcring *ring;

	/* Records are never empty: read(2) returns 0 only at end of file. */
	if (!mpmcring_bpf_flags_ok(flags) || !len)
		return NULL;
	rcu_read_lock();
	ring = mpmcring_find_id(ring_id);
	if (!ring)
		goto out;
	/* The program's length: the reservation is zeroed, so it is bounded. */
	if (len > MPMCRING_BPF_MAX_RESERVE) {
		mpmcring_count_drop(ring, MPMCRING_DROP_TOO_BIG,
				    MPMCRING_F_PRIO(flags), 1);
		goto out;
	}
	h = mpmcring_bpf_get_handle();
	if (!h) {
		mpmcring_count_drop(ring, MPMCRING_DROP_CONTENTION,
				    MPMCRING_F_PRIO(flags), 1);
		goto out;
	}
	if (mpmcring_reserve_unpinned(ring, len, MPMCRING_F_PRIO(flags),
				      &h->rsv)) {
		mpmcring_bpf_put_handle(h);
		h = NULL;
		goto out;
	}
	/* Space the program does not write must not show old records. */
	memset(h->rsv.data, 0, len);
	h->len = len;
out:
	rcu_read_unlock();
	return h;
}

/**
 * mpmcring_bpf_write() - copy bytes into a reservation, from BPF
 * @rsv: a reservation from mpmcring_bpf_reserve(), not yet ended
 * @off: where in the payload
 * @data: the bytes
 * @data__sz: how many; the verifier checks that @data covers them
 *
 * Return: 0; -E2BIG when the bytes would not lie inside the payload, or
 * -EINVAL for a NULL @data with a size (nothing is written then).
 */
__bpf_kfunc int mpmcring_bpf_write(struct mpmcring_bpf_rsv *rsv, u32 off,
				   const void *data, u32 data__sz)
{
	/* A pointer that may be NULL gets through the verifier (see above). */
	if (!data && data__sz)
		return -EINVAL;
	/* Lengths from the program: both checked against what was reserved. */
	if (!rsv->rsv.ring || off > rsv->len || data__sz > rsv->len - off)
		return -E2BIG;
	memcpy((u8 *)rsv->rsv.data + off, data, data__sz);
	return 0;
}

/**
 * mpmcring_bpf_commit() - publish a reservation, from BPF
 * @rsv: a reservation from mpmcring_bpf_reserve(); it ends here
 */
__bpf_kfunc void mpmcring_bpf_commit(struct mpmcring_bpf_rsv *rsv)
{
	if (!rsv->rsv.ring)
		return;
	mpmcring_finish_unpinned(&rsv->rsv, true);
	mpmcring_bpf_put_handle(rsv);
}

/**
 * mpmcring_bpf_discard() - give a reservation up, from BPF
 * @rsv: a reservation from mpmcring_bpf_reserve(); it ends here
 *
 * Consumers skip the space; the record counts as discarded.
 */
__bpf_kfunc void mpmcring_bpf_discard(struct mpmcring_bpf_rsv *rsv)
{
	if (!rsv->rsv.ring)
		return;
	mpmcring_finish_unpinned(&rsv->rsv, false);
	mpmcring_bpf_put_handle(rsv);
}

#ifdef BTF_KFUNCS_START
BTF_KFUNCS_START(mpmcring_bpf_kfunc_ids)
#else
BTF_SET8_START(mpmcring_bpf_kfunc_ids)
#endif
BTF_ID_FLAGS(func, mpmcring_bpf_output)
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

/**
 * mpmcring_bpf_init() - register the kfuncs, when the module has BTF
 *
 * Without module BTF (built with no base BTF for this kernel) the module
 * works as ever, without BPF producers, and says so once.
 *
 * Return: 0; failing to offer kfuncs is not a reason to fail the module.
 */
int mpmcring_bpf_init(void)
{
	struct mpmcring_bpf_pool *pool;
	int cpu, i, err;

	if (!THIS_MODULE->btf_data_size) {
		pr_info("mpmcring: built without BTF: BPF programs cannot produce into rings (see README, \"BPF producers\")\n");
		return 0;
	}
	mpmcring_bpf_pools = alloc_percpu(struct mpmcring_bpf_pool);
	if (!mpmcring_bpf_pools) {
		pr_warn("mpmcring: no memory for BPF reservations: BPF kfuncs not registered\n");
		return 0;
	}
	for_each_possible_cpu(cpu) {
		pool = per_cpu_ptr(mpmcring_bpf_pools, cpu);
		for (i = 0; i < MPMCRING_BPF_POOL; i++) {
			pool->slot[i].pool = pool;
			pool->slot[i].index = i;
		}
	}
	/*
	 * kprobe programs got kfuncs in later kernels; an older one refuses
	 * the type, which must come first there: a refusal drops every set
	 * the module registered before it.
	 */
	register_btf_kfunc_id_set(BPF_PROG_TYPE_KPROBE, &mpmcring_bpf_kfunc_set);
	err = register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING,
					&mpmcring_bpf_kfunc_set);
	if (err) {
		pr_warn("mpmcring: registering BPF kfuncs failed (%d): BPF programs cannot produce into rings\n",
			err);
		free_percpu(mpmcring_bpf_pools);
		mpmcring_bpf_pools = NULL;
		return 0;
	}
	WRITE_ONCE(mpmcring_bpf_ready, true);
	pr_info("mpmcring: BPF kfuncs registered (mpmcring_bpf_output, _reserve, _write, _commit, _discard)\n");
	return 0;
}

/*
 * Waits until no BPF program can still be inside a ring it looked up
 * before its id was unpublished: non-sleepable programs run under RCU (or
 * with preemption off), sleepable ones under RCU tasks trace. May sleep.
 */
void mpmcring_bpf_sync(void)
{
	if (!READ_ONCE(mpmcring_bpf_ready))
		return;
	synchronize_rcu();
#ifdef CONFIG_TASKS_TRACE_RCU
	synchronize_rcu_tasks_trace();
#endif
}

void mpmcring_bpf_exit(void)
{
	/* No program holds a handle: each holds the module until it goes. */
	free_percpu(mpmcring_bpf_pools);
}

#else /* !CONFIG_DEBUG_INFO_BTF_MODULES */

int mpmcring_bpf_init(void)
{
	pr_info("mpmcring: kernel without module BTF: BPF programs cannot produce into rings\n");
	return 0;
}

void mpmcring_bpf_sync(void)
{
}

void mpmcring_bpf_exit(void)
{
}

#endif
