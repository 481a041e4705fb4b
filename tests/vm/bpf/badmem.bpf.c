// SPDX-License-Identifier: GPL-2.0-only
/*
 * A kernel pointer the verifier does not trust, passed to the kfuncs with
 * a size: walked from the task (task->pi_blocked_on, NULL while the task
 * is not blocked on an rt_mutex). The kfuncs copy their memory arguments
 * with memcpy(), so the verifier must refuse it; tests/vm/bpf.c checks
 * that it does, on every kernel. Loaded only, never attached.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "mpmcring.bpf.h"
#include "bpf_test.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 ring_id;
const volatile __u32 tgid;

__s64 out_ret = 1, write_ret = 1;

SEC("tp_btf/sys_enter")
int BPF_PROG(untrusted_data, struct pt_regs *regs, long id)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct mpmcring_bpf_rsv *r;
	struct rt_mutex_waiter *w;

	if (id != BT_SYSCALL || bpf_get_current_pid_tgid() >> 32 != tgid)
		return 0;
	w = t->pi_blocked_on;
	out_ret = mpmcring_bpf_output(ring_id, w, 16, MPMCRING_BPF_NORMAL);
	r = mpmcring_bpf_reserve(ring_id, 16, MPMCRING_BPF_NORMAL);
	if (!r)
		return 0;
	write_ret = mpmcring_bpf_write(r, 0, w, 16);
	mpmcring_bpf_discard(r);
	return 0;
}
