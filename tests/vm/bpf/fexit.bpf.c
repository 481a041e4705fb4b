// SPDX-License-Identifier: GPL-2.0-only
/*
 * An fexit program (BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT) as a producer
 * (tests/vm/bpf.c, fexit_program_produces): on ioctl(fd, BT_IOCTL_CMD,
 * seq) from the test's process it produces one record with that seq, as
 * kprobe.bpf.c does (an even seq through mpmcring_bpf_output(), an odd one
 * through reserve, write and commit), after security_file_ioctl() returned.
 * Tracing programs have a kfunc hook on 6.1 and 6.12 alike: the verifier
 * must accept the calls on both.
 *
 * security_file_ioctl(), not a syscall's function: fexit needs the
 * function's BTF, which the x86-64 syscall wrappers (__x64_sys_*) lack;
 * security_ functions are ordinary ones, called on every ioctl(2) with its
 * command and argument, and fmod_ret.bpf.c may attach to them too. The
 * return the program sees is the security modules' verdict: 0 for the
 * test's ioctl on /dev/null (no module there refuses ioctls); any other is
 * counted in wrong_ret.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bt_produce.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 ring_id;
const volatile __u32 tgid;
const volatile __u64 nonce;

/* Calls seen with BT_IOCTL_CMD, records the ring took, refused; returns not 0. */
__u64 hits, ok, failed, wrong_ret;

SEC("fexit/security_file_ioctl")
int BPF_PROG(bt_fexit, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	if (bpf_get_current_pid_tgid() >> 32 != tgid || cmd != BT_IOCTL_CMD)
		return 0;
	__sync_fetch_and_add(&hits, 1);
	if (ret)
		__sync_fetch_and_add(&wrong_ret, 1);
	bt_produce(ring_id, nonce, arg, BT_FEXIT, &ok, &failed);
	return 0;
}
