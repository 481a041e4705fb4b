// SPDX-License-Identifier: GPL-2.0-only
/*
 * A sleepable program that sleeps between reserve and commit: when the
 * thread the test armed opens a file, it reserves a critical record, then
 * copies 8 bytes from user_ptr, which the test made a userfaultfd page: the
 * copy sleeps until the test answers the fault (tests/vm/bpf.c,
 * sleeping_program_holds_up_no_producer). lsm.s/file_open: the Debian
 * kernels have no function error injection, so no sleepable fentry, and
 * their BPF LSM is on by default (CONFIG_LSM lists bpf).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "mpmcring.bpf.h"
#include "bpf_test.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 ring_id;

__u32 armed_tid;
__u64 user_ptr;
__s64 reserved, copied = 1;
__u64 value;

SEC("lsm.s/file_open")
int BPF_PROG(bt_sleep, struct file *file)
{
	struct mpmcring_bpf_rsv *r;
	__u64 v = 0;

	if (!armed_tid || (__u32)bpf_get_current_pid_tgid() != armed_tid)
		return 0;
	armed_tid = 0;
	r = mpmcring_bpf_reserve(ring_id, sizeof(v), MPMCRING_BPF_CRITICAL);
	if (!r)
		return 0;
	reserved = 1;
	/* Sleeps in the fault until the test answers it. */
	copied = bpf_copy_from_user(&v, sizeof(v), (void *)user_ptr);
	value = v;
	mpmcring_bpf_write(r, 0, &v, sizeof(v));
	mpmcring_bpf_commit(r);
	return 0;
}
