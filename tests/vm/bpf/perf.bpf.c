// SPDX-License-Identifier: GPL-2.0-only
/*
 * A perf_event program (BPF_PROG_TYPE_PERF_EVENT) as a producer
 * (tests/vm/bpf.c, perf_event_program_produces_or_refused_on_6_1): the
 * test attaches it to a software cpu-clock event of its own thread, whose
 * samples come from an hrtimer, in hardirq context (on PREEMPT_RT too: a
 * hard hrtimer). Each run produces one record whose seq is the run's
 * number, 0, 1, ..., an even seq through mpmcring_bpf_output(), an odd one
 * through reserve, write and commit (thread says which: 0 or 1). Every run
 * is one of the test's event's samples (the program is attached to
 * nothing else), so the test holds hits against the records: each seq
 * below hits exactly once. 6.12 maps perf_event programs to the kfunc hook
 * of tracing programs, which the module registers (kmod/bpf.c); 6.1 has
 * no kfunc hook for them and must refuse the calls.
 *
 * Built with -mcpu=v3 (tests/vm/Makefile): the seq is what an atomic
 * fetch-and-add returns, which older BPF instruction sets cannot express.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "mpmcring.bpf.h"
#include "bpf_test.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 ring_id;
const volatile __u64 nonce;

/* Runs (samples), records the ring took, and refused. */
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

SEC("perf_event")
int bt_perf(struct bpf_perf_event_data *ctx)
{
	struct bt_rec rec = {};
	int err;

	rec.seq = __sync_fetch_and_add(&hits, 1);
	rec.nonce = nonce;
	rec.cpu = bpf_get_smp_processor_id();
	rec.thread = rec.seq & 1;
	rec.op = BT_PERF;
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
