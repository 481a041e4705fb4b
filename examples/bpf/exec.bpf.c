// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every exec(2) into an mpmcring ring, from the sched_process_exec
 * tracepoint (tp_btf: BTF-typed, CO-RE). The record is built in the ring in
 * two pieces: the fixed part, then the file name at its real length.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "mpmcring.bpf.h"
#include "exec_event.h"

char LICENSE[] SEC("license") = "GPL";

/* The ring's id: the loader reads it from the ring's layout. */
const volatile __u32 ring_id;

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct exec_event ev = {};
	struct mpmcring_bpf_rsv *r;
	char name[256];
	long n;

	n = bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(bprm, filename));
	if (n <= 0)
		n = 1;
	ev.pid = p->tgid;
	ev.ppid = BPF_CORE_READ(p, real_parent, tgid);
	ev.uid = (__u32)bpf_get_current_uid_gid();
	ev.filename_len = n - 1;
	bpf_get_current_comm(ev.comm, sizeof(ev.comm));

	r = mpmcring_bpf_reserve(ring_id, sizeof(ev) + ev.filename_len, MPMCRING_BPF_NORMAL);
	if (!r)
		return 0; /* refused: the ring counts it, consumers are told */
	mpmcring_bpf_write(r, 0, &ev, sizeof(ev));
	mpmcring_bpf_write(r, sizeof(ev), name, ev.filename_len & (sizeof(name) - 1));
	mpmcring_bpf_commit(r);
	return 0;
}
