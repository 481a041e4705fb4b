// SPDX-License-Identifier: GPL-2.0-only
/*
 * The producer of tests/vm/bpf.c's destroy test: on getppid(2) from the
 * test's process, reserve a record in ring a (an argument, so one loaded
 * program follows the rings the test creates and destroys), hold it for
 * hold_ns, then commit. A commit the ring took counts as committed, any
 * refusal as refused.
 *
 * The window destroy must close is inside the commit: from the kfunc's
 * lookup of the ring to the end of its mpmcring_output(), a few hundred
 * ns. bt_destroy_spin (fentry on the module's mpmcring_output) widens it:
 * for calls from the thread spin_tid it spins spin_ns there, inside the
 * kfunc's RCU section, so "a commit is under way while its ring is
 * destroyed" is the common case, not a rare one.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "mpmcring.bpf.h"
#include "bpf_test.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 tgid;

__u64 nonce;
__u64 hold_ns;
__u64 spin_ns;
__u32 spin_tid;
__u64 committed[BT_MAX_THREADS];
__u64 refused[BT_MAX_THREADS];

/* bpf_loop's callback: stop once the clock passed *end. */
static long hold(__u32 i, void *ctx)
{
	return bpf_ktime_get_ns() >= *(__u64 *)ctx;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(bt_destroy, struct pt_regs *regs, long id)
{
	struct mpmcring_bpf_rsv *r;
	struct bt_rec rec = {};
	__u64 thread, end;

	if (id != BT_SYSCALL || bpf_get_current_pid_tgid() >> 32 != tgid)
		return 0;
	thread = regs->si & (BT_MAX_THREADS - 1);
	rec.nonce = nonce;
	rec.thread = thread;
	rec.cpu = bpf_get_smp_processor_id();
	rec.seq = regs->dx;
	rec.op = BT_RESERVE;
	r = mpmcring_bpf_reserve(regs->di, sizeof(rec), MPMCRING_BPF_NORMAL);
	if (!r) {
		__sync_fetch_and_add(&refused[thread], 1);
		return 0;
	}
	mpmcring_bpf_write(r, 0, &rec, sizeof(rec));
	end = bpf_ktime_get_ns() + hold_ns;
	/* At most 1 << 20 clock reads: bounded even if the clock stood still. */
	bpf_loop(1 << 20, hold, &end, 0);
	if (mpmcring_bpf_commit(r))
		__sync_fetch_and_add(&refused[thread], 1);
	else
		__sync_fetch_and_add(&committed[thread], 1);
	return 0;
}

SEC("fentry/mpmcring_output")
int BPF_PROG(bt_destroy_spin)
{
	__u64 end;

	if (!spin_tid || (__u32)bpf_get_current_pid_tgid() != spin_tid)
		return 0;
	end = bpf_ktime_get_ns() + spin_ns;
	/* Bounded as above. */
	bpf_loop(1 << 20, hold, &end, 0);
	return 0;
}
