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
 * bt_task (tp_btf/sys_enter, getppid(2) from the test's process),
 * bt_softirq (tp_btf/softirq_entry: serving a softirq) and bt_hardirq
 * (tp_btf/local_timer_entry: the local APIC timer interrupt), the last two
 * on the test's CPU while irq_armed: reserve and commit at once.
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

__u32 park_armed;
__u32 irq_armed;
__u64 user_ptr;
__u64 parked, park_refused, park_committed;
__u64 got[BT_NR_CTX], refused[BT_NR_CTX];

static __always_inline bool ours(void)
{
	return bpf_get_current_pid_tgid() >> 32 == tgid;
}

/* Reserve, write, commit at once; counts whether reserve gave a buffer. */
static __always_inline void reserve_here(int ctx)
{
	struct mpmcring_bpf_rsv *r;
	__u64 v = ctx;

	r = mpmcring_bpf_reserve(ring_id, sizeof(v), MPMCRING_BPF_NORMAL);
	if (!r) {
		__sync_fetch_and_add(&refused[ctx], 1);
		return;
	}
	__sync_fetch_and_add(&got[ctx], 1);
	mpmcring_bpf_write(r, 0, &v, sizeof(v));
	mpmcring_bpf_commit(r);
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
		reserve_here(BT_CTX_TASK);
	return 0;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(bt_softirq, unsigned int vec)
{
	if (irq_armed && bpf_get_smp_processor_id() == cpu)
		reserve_here(BT_CTX_SOFTIRQ);
	return 0;
}

SEC("tp_btf/local_timer_entry")
int BPF_PROG(bt_hardirq, int vector)
{
	if (irq_armed && bpf_get_smp_processor_id() == cpu)
		reserve_here(BT_CTX_HARDIRQ);
	return 0;
}
