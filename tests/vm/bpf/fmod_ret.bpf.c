// SPDX-License-Identifier: GPL-2.0-only
/*
 * An fmod_ret program (BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN) as a
 * producer (tests/vm/bpf.c, fmod_ret_program_produces): on ioctl(fd,
 * BT_IOCTL_CMD, seq) from the test's process it produces one record with
 * that seq, as kprobe.bpf.c does (an even seq through
 * mpmcring_bpf_output(), an odd one through reserve, write and commit),
 * and returns -BT_FMOD_RET_ERRNO, which security_file_ioctl() then returns
 * in place of the security modules' verdict, failing the ioctl: the test
 * sees that each of its calls went through the program. Every other ioctl
 * is left alone (0: the function runs). Tracing programs have a kfunc
 * hook on 6.1 and 6.12 alike: the verifier must accept the calls on both.
 *
 * The verifier lets fmod_ret attach to functions on the error-injection
 * list or named security_* (kernel/bpf/verifier.c,
 * check_attach_modify_return()). Debian's kernels are built without
 * FUNCTION_ERROR_INJECTION, so the list is empty: a security_ function it
 * is, security_file_ioctl(), which the test calls with ioctl(2) on
 * /dev/null.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bt_produce.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 ring_id;
const volatile __u32 tgid;
const volatile __u64 nonce;

/* Calls seen with BT_IOCTL_CMD, records the ring took, and refused. */
__u64 hits, ok, failed;

SEC("fmod_ret/security_file_ioctl")
int BPF_PROG(bt_fmod_ret, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	if (bpf_get_current_pid_tgid() >> 32 != tgid || cmd != BT_IOCTL_CMD)
		return 0;
	__sync_fetch_and_add(&hits, 1);
	bt_produce(ring_id, nonce, arg, BT_FMOD_RET, &ok, &failed);
	return -BT_FMOD_RET_ERRNO;
}
