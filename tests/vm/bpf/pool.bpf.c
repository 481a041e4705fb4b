// SPDX-License-Identifier: GPL-2.0-only
/*
 * The programs of tests/vm/bpf.c's pool test: the per-CPU staging buffers
 * of kmod/bpf.c, which task context may fill only so far, so that
 * programs in interrupts still reserve when sleepers hold the rest.
 *
 * bt_park (lsm.s/file_open): while park_armed, when the test's process
 * opens /dev/null, reserve, then copy 8 bytes from user_ptr, a
 * userfaultfd page: the copy sleeps, the buffer held, until the test
 * answers the fault; then write and commit.
 * Programs that never sleep, in task context: bt_task (tp_btf/sys_enter,
 * getppid(2) from the test's process; tracepoints run with preemption off)
 * and bt_task_rcu (lsm/file_open of /dev/full by the test's process, not
 * sleepable: under rcu_read_lock() only, so preemptible() is true there on
 * kernels with preemptible RCU, and only rcu_preempt_depth() tells it from
 * a sleeper). Each holds up to BT_POOL_BURST reservations at once and
 * says how many it got (held[]): the share its context has left.
 * bt_softirq (fentry/lg_timer_fn: mpmcring_loadgen's timer producer, in
 * softirq) and bt_hardirq (fentry/lg_hrtimer_fn: its hrtimer producer, in
 * hardirq), on the test's CPU, once each time the test arms them
 * (softirq_armed, hardirq_armed): the same burst. The test arms hardirq
 * first, then softirq once hardirq's burst is over: a softirq cannot
 * interrupt a hardirq, and the hardirq program is no longer armed when
 * its interrupt comes in the middle of the softirq's burst.
 * Not tracepoints of the kernel's own softirqs and timer interrupt:
 * attaching to those patches code every vCPU runs all the time, and
 * qemu 7.2's multi-threaded TCG can then run a stale int3 there (the
 * test's note); the load generator's functions run only once the test
 * starts it, after the attach.
 * Each counts what reserve gave it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "mpmcring.bpf.h"
#include "bpf_test.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 ring_id;
const volatile __u32 tgid;
const volatile __u32 cpu;
const volatile __u64 null_ino;
const volatile __u32 full_rdev; /* the kernel's dev_t: major << 20 | minor */

__u32 park_armed;
__u32 softirq_armed, hardirq_armed; /* disarmed once the burst they arm is over */
__u64 user_ptr;
__u64 parked, park_refused, park_committed;
__u64 got[BT_NR_CTX], refused[BT_NR_CTX], held[BT_NR_CTX];

static __always_inline bool ours(void)
{
	return bpf_get_current_pid_tgid() >> 32 == tgid;
}

static __always_inline void send(struct mpmcring_bpf_rsv *r, __u64 v)
{
	mpmcring_bpf_write(r, 0, &v, sizeof(v));
	mpmcring_bpf_commit(r);
}

/*
 * Holds up to BT_POOL_BURST reservations at once, stops at the first
 * refusal, then commits what it holds; held[ctx] says how many it got.
 * Each handle is tested for NULL once, and each path leaves with what it
 * holds (6.1's verifier). The test runs one burst at a time on its CPU,
 * and nothing else of it reserves there meanwhile, so the count is exact.
 */
static __always_inline void hold_burst(int ctx)
{
	struct mpmcring_bpf_rsv *r0, *r1, *r2, *r3, *r4, *r5, *r6, *r7;
	__u64 n = 0;

	r0 = mpmcring_bpf_reserve(ring_id, 8, MPMCRING_BPF_NORMAL);
	if (!r0)
		goto out;
	n++;
	r1 = mpmcring_bpf_reserve(ring_id, 8, MPMCRING_BPF_NORMAL);
	if (!r1)
		goto out0;
	n++;
	r2 = mpmcring_bpf_reserve(ring_id, 8, MPMCRING_BPF_NORMAL);
	if (!r2)
		goto out1;
	n++;
	r3 = mpmcring_bpf_reserve(ring_id, 8, MPMCRING_BPF_NORMAL);
	if (!r3)
		goto out2;
	n++;
	r4 = mpmcring_bpf_reserve(ring_id, 8, MPMCRING_BPF_NORMAL);
	if (!r4)
		goto out3;
	n++;
	r5 = mpmcring_bpf_reserve(ring_id, 8, MPMCRING_BPF_NORMAL);
	if (!r5)
		goto out4;
	n++;
	r6 = mpmcring_bpf_reserve(ring_id, 8, MPMCRING_BPF_NORMAL);
	if (!r6)
		goto out5;
	n++;
	r7 = mpmcring_bpf_reserve(ring_id, 8, MPMCRING_BPF_NORMAL);
	if (!r7)
		goto out6;
	n++;
	send(r7, ctx);
out6:
	send(r6, ctx);
out5:
	send(r5, ctx);
out4:
	send(r4, ctx);
out3:
	send(r3, ctx);
out2:
	send(r2, ctx);
out1:
	send(r1, ctx);
out0:
	send(r0, ctx);
out:
	held[ctx] = n;
	__sync_fetch_and_add(&got[ctx], n);
	if (n < BT_POOL_BURST)
		__sync_fetch_and_add(&refused[ctx], 1);
}

SEC("lsm.s/file_open")
int BPF_PROG(bt_park, struct file *file)
{
	struct mpmcring_bpf_rsv *r;
	__u64 v = 0;

	if (!park_armed || !ours() || file->f_inode->i_ino != null_ino)
		return 0;
	r = mpmcring_bpf_reserve(ring_id, sizeof(v), MPMCRING_BPF_CRITICAL);
	if (!r) {
		__sync_fetch_and_add(&park_refused, 1);
		return 0;
	}
	__sync_fetch_and_add(&parked, 1);
	/* Sleeps in the fault until the test answers it. */
	bpf_copy_from_user(&v, sizeof(v), (void *)user_ptr);
	mpmcring_bpf_write(r, 0, &v, sizeof(v));
	if (!mpmcring_bpf_commit(r))
		__sync_fetch_and_add(&park_committed, 1);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(bt_task, struct pt_regs *regs, long id)
{
	if (id == BT_SYSCALL && ours())
		hold_burst(BT_CTX_TASK);
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(bt_task_rcu, struct file *file)
{
	if (ours() && file->f_inode->i_rdev == full_rdev)
		hold_burst(BT_CTX_TASK_RCU);
	return 0;
}

SEC("fentry/lg_timer_fn")
int BPF_PROG(bt_softirq, struct timer_list *t)
{
	if (softirq_armed && bpf_get_smp_processor_id() == cpu) {
		hold_burst(BT_CTX_SOFTIRQ);
		softirq_armed = 0;
	}
	return 0;
}

SEC("fentry/lg_hrtimer_fn")
int BPF_PROG(bt_hardirq, struct hrtimer *t)
{
	if (hardirq_armed && bpf_get_smp_processor_id() == cpu) {
		hold_burst(BT_CTX_HARDIRQ);
		hardirq_armed = 0;
	}
	return 0;
}
