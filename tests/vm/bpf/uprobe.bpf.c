// SPDX-License-Identifier: GPL-2.0-only
/*
 * A uprobe program (BPF_PROG_TYPE_KPROBE on a user function) as a
 * producer (tests/vm/bpf.c, uprobe_program_produces_or_refused_on_6_1):
 * the test attaches it to bt_uprobed(op, seq), a function of its own
 * binary, and on a call with op BT_UPROBE from the test's process it
 * produces one record with that seq, as kprobe.bpf.c does (an even seq
 * through mpmcring_bpf_output(), an odd one through reserve, write and
 * commit), in the calling task's context. The arguments are the user's
 * registers, the program's context. The module registers its kfuncs for
 * BPF_PROG_TYPE_KPROBE: 6.12 must accept the calls, 6.1 (no kfunc hook
 * for kprobe programs) must refuse them.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bt_produce.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 ring_id;
const volatile __u32 tgid;
const volatile __u64 nonce;

/* Calls seen with op BT_UPROBE, records the ring took, and refused. */
__u64 hits, ok, failed;

/* No target: the test attaches it (bpf_program__attach_uprobe_opts()). */
SEC("uprobe")
int BPF_KPROBE(bt_uprobe, __u64 op, __u64 seq)
{
	if (bpf_get_current_pid_tgid() >> 32 != tgid || op != BT_UPROBE)
		return 0;
	__sync_fetch_and_add(&hits, 1);
	bt_produce(ring_id, nonce, seq, BT_UPROBE, &ok, &failed);
	return 0;
}
