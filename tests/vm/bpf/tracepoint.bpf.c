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

#include "mpmcring.bpf.h"
#include "bpf_test.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 ring_id;
const volatile __u32 tgid;
const volatile __u64 nonce;

/* Calls seen with op BT_TRACEPOINT, records the ring took, and refused. */
__u64 hits, ok, failed;

/* rec through reserve, write and commit. */
static __always_inline int reserve_commit(const struct bt_rec *rec)
{
	struct mpmcring_bpf_rsv *r;
	int err, sent;

	r = mpmcring_bpf_reserve(ring_id, sizeof(*rec), MPMCRING_BPF_NORMAL);
	if (!r)
		return -1;
	err = mpmcring_bpf_write(r, 0, rec, sizeof(*rec));
	sent = mpmcring_bpf_commit(r);
	return err ? err : sent;
}

SEC("tracepoint/raw_syscalls/sys_enter")
int bt_tracepoint(struct trace_event_raw_sys_enter *ctx)
{
	struct bt_rec rec = {};
	int err;

	if (bpf_get_current_pid_tgid() >> 32 != tgid)
		return 0;
	if (ctx->id != BT_SYSCALL || ctx->args[0] != BT_TRACEPOINT)
		return 0;
	__sync_fetch_and_add(&hits, 1);
	rec.nonce = nonce;
	rec.cpu = bpf_get_smp_processor_id();
	rec.seq = ctx->args[1];
	rec.thread = rec.seq & 1;
	rec.op = BT_TRACEPOINT;
	if (rec.thread)
		err = reserve_commit(&rec);
	else
		err = mpmcring_bpf_output(ring_id, &rec, sizeof(rec), MPMCRING_BPF_NORMAL);
	if (err)
		__sync_fetch_and_add(&failed, 1);
	else
		__sync_fetch_and_add(&ok, 1);
	return 0;
}
