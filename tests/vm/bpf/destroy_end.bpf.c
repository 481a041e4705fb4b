// SPDX-License-Identifier: GPL-2.0-only
/*
 * The program of tests/vm/destroy_end.c: it holds read(2) of the armed
 * thread (cons_tid) at its first mutex_unlock(), the one after the claim
 * found the ring empty and before read(2) looks at the ring's end, until
 * another thread waits for that mutex (the test's high-priority thread,
 * which the unlock then wakes: it preempts the reader right there, outside
 * any RCU read-side section, for as long as the test likes).
 *
 * The hold is bounded (hold_max_ns) and counted when it ran out.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

__u64 hold_max_ns;
__u32 cons_tid; /* the armed thread; the hold disarms it */
__u32 cons_at_unlock, cons_ran_out;

/* PREEMPT_RT's mutex is an rt_mutex: its owner word is elsewhere. */
struct rt_mutex_base___rt {
	struct task_struct *owner;
} __attribute__((preserve_access_index));

struct mutex___rt {
	struct rt_mutex_base___rt rtmutex;
} __attribute__((preserve_access_index));

/* The owner word's "has waiters" bit (MUTEX_FLAG_WAITERS, RT_MUTEX_HAS_WAITERS). */
#define OWNER_HAS_WAITERS 1UL

struct hold_ctx {
	__u64 end;
	struct mutex *lock;
	bool waiters;
};

static __always_inline bool has_waiters(struct mutex *lock)
{
	unsigned long owner;

	if (bpf_core_field_exists(lock->owner)) {
		owner = BPF_CORE_READ(lock, owner.counter);
	} else {
		struct mutex___rt *rt = (void *)lock;

		owner = (unsigned long)BPF_CORE_READ(rt, rtmutex.owner);
	}
	return owner & OWNER_HAS_WAITERS;
}

/* bpf_loop's callback: stop once the mutex has a waiter, or at end. */
static long hold_step(__u32 i, void *arg)
{
	struct hold_ctx *h = arg;

	h->waiters = has_waiters(h->lock);
	return h->waiters || bpf_ktime_get_ns() >= h->end;
}

SEC("fentry/mutex_unlock")
int BPF_PROG(hold_read, struct mutex *lock)
{
	struct hold_ctx h = { .lock = lock };

	if (!cons_tid || (__u32)bpf_get_current_pid_tgid() != cons_tid)
		return 0;
	cons_tid = 0;
	cons_at_unlock = 1;
	h.end = bpf_ktime_get_ns() + hold_max_ns;
	/* At most 1 << 23 looks: bounded even if the clock stood still. */
	bpf_loop(1 << 23, hold_step, &h, 0);
	if (!h.waiters)
		cons_ran_out = 1;
	return 0;
}
