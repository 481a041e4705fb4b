// SPDX-License-Identifier: GPL-2.0-only
/*
 * A kprobe program as a producer (tests/vm/bpf.c,
 * kprobe_program_produces_or_is_refused): on getppid(2) from the test's
 * process, it produces one record whose seq is the syscall's second
 * argument, so that the test tells each call's record apart: an even seq
 * through mpmcring_bpf_output(), an odd one through reserve, write and
 * commit (thread says which: 0 or 1), so both paths run in a kprobe
 * program's context. The module
 * registers its kfuncs for BPF_PROG_TYPE_KPROBE; 6.1's verifier has no
 * kfunc hook for kprobe programs and must refuse the call, 6.12's must
 * accept it.
 *
 * A kprobe on the syscall's entry function, not a tracepoint: the x86-64
 * wrapper gets the user's registers as its one argument, read here with a
 * probe read (kprobe programs may not dereference them directly).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "bt_produce.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 ring_id;
const volatile __u32 tgid;
const volatile __u64 nonce;

/* Calls seen with op BT_KPROBE, records the ring took, and refused. */
__u64 hits, ok, failed;

SEC("kprobe/__x64_sys_getppid")
int BPF_KPROBE(bt_kprobe, struct pt_regs *uregs)
{
	if (bpf_get_current_pid_tgid() >> 32 != tgid)
		return 0;
	if (BPF_CORE_READ(uregs, di) != BT_KPROBE)
		return 0;
	__sync_fetch_and_add(&hits, 1);
	bt_produce(ring_id, nonce, BPF_CORE_READ(uregs, si), BT_KPROBE, &ok, &failed);
	return 0;
}
