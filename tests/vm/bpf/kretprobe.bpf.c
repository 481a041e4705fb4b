// SPDX-License-Identifier: GPL-2.0-only
/*
 * A kretprobe program (BPF_PROG_TYPE_KPROBE on a function's return) as a
 * producer (tests/vm/bpf.c, kretprobe_program_produces_or_refused_on_6_1):
 * on each return of getppid(2) in the test's process it produces one
 * record whose seq is the run's number, 0, 1, ..., as perf.bpf.c does (an
 * even seq through mpmcring_bpf_output(), an odd one through reserve,
 * write and commit). A return probe has no arguments to read (the
 * registers hold the return), so the test makes only its own getppid
 * calls while the program is attached; the program holds the return
 * against the parent's pid the test gave it (wrong_ret). The module
 * registers its kfuncs for BPF_PROG_TYPE_KPROBE: 6.12 must accept the
 * calls, 6.1 (no kfunc hook for kprobe programs) must refuse them.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bt_produce.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 ring_id;
const volatile __u32 tgid;
const volatile __u32 ppid;
const volatile __u64 nonce;

/* Returns seen, records the ring took, refused, and returns not ppid. */
__u64 hits, ok, failed, wrong_ret;

SEC("kretprobe/__x64_sys_getppid")
int BPF_KRETPROBE(bt_kretprobe, long ret)
{
	if (bpf_get_current_pid_tgid() >> 32 != tgid)
		return 0;
	if (ret != ppid)
		__sync_fetch_and_add(&wrong_ret, 1);
	bt_produce(ring_id, nonce, __sync_fetch_and_add(&hits, 1), BT_KRETPROBE, &ok, &failed);
	return 0;
}
