// SPDX-License-Identifier: GPL-2.0-only
/*
 * A sleepable program that sleeps between reserve and commit: on
 * getcwd(buf, 0) from the test's process (the syscall itself then fails
 * with ERANGE without touching buf) it reserves a critical record, then
 * copies 8 bytes from buf, which the test made a userfaultfd page: the
 * copy sleeps until the test answers the fault (tests/vm/bpf.c,
 * sleeping_program_holds_up_no_producer). Sleepable fentry needs a function
 * that allows error injection and has BTF: syscalls with arguments do
 * (getppid has no BTF on the Debian kernels).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "mpmcring.bpf.h"
#include "bpf_test.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 tgid;
const volatile __u32 ring_id;

__s64 reserved, copied = 1;
__u64 value;

SEC("fentry.s/__x64_sys_getcwd")
int BPF_PROG(bt_sleep, const struct pt_regs *regs)
{
	struct mpmcring_bpf_rsv *r;
	__u64 v = 0;

	if (bpf_get_current_pid_tgid() >> 32 != tgid || regs->si)
		return 0;
	r = mpmcring_bpf_reserve(ring_id, sizeof(v), MPMCRING_BPF_CRITICAL);
	if (!r)
		return 0;
	reserved = 1;
	/* Sleeps in the fault until the test answers it. */
	copied = bpf_copy_from_user(&v, sizeof(v), (void *)regs->di);
	value = v;
	mpmcring_bpf_write(r, 0, &v, sizeof(v));
	mpmcring_bpf_commit(r);
	return 0;
}
