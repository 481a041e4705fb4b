// SPDX-License-Identifier: GPL-2.0-only
/*
 * A tracepoint program (BPF_PROG_TYPE_TRACEPOINT) as a producer
 * (tests/vm/bpf.c, tracepoint_program_produces_or_refused_on_6_1): on
 * getppid(2) from the test's process, it produces one record whose seq is
 * the syscall's second argument, an even seq through mpmcring_bpf_output(),
 * an odd one through reserve, write and commit (thread says which: 0 or 1),
 * as kprobe.bpf.c does. 6.12 maps tracepoint programs to the kfunc hook of
 * tracing programs, which the module registers (kmod/bpf.c), so the
 * verifier must accept the calls; 6.1 has no kfunc hook for them and must
 * refuse.
 *
 * raw_syscalls/sys_enter, a classic (perf) tracepoint, not
 * syscalls/sys_enter_getppid: its record carries the syscall's number and
 * all six argument registers, which getppid's own event does not (getppid
 * takes none). The program reads the record directly, as tracepoint
 * programs may.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "bt_produce.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 ring_id;
const volatile __u32 tgid;
const volatile __u64 nonce;

/* Calls seen with op BT_TRACEPOINT, records the ring took, and refused. */
__u64 hits, ok, failed;

SEC("tracepoint/raw_syscalls/sys_enter")
int bt_tracepoint(struct trace_event_raw_sys_enter *ctx)
{
	if (bpf_get_current_pid_tgid() >> 32 != tgid)
		return 0;
	if (ctx->id != BT_SYSCALL || ctx->args[0] != BT_TRACEPOINT)
		return 0;
	__sync_fetch_and_add(&hits, 1);
	bt_produce(ring_id, nonce, ctx->args[1], BT_TRACEPOINT, &ok, &failed);
	return 0;
}
