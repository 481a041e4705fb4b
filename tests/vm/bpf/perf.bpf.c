// SPDX-License-Identifier: GPL-2.0-only
/*
 * A perf_event program (BPF_PROG_TYPE_PERF_EVENT) as a producer
 * (tests/vm/bpf.c, perf_event_program_produces_or_refused_on_6_1): the
 * test attaches it to a software cpu-clock event on CPU 0, whose samples
 * come from an hrtimer, in hardirq context (on PREEMPT_RT too: a hard
 * hrtimer). Each run produces one record whose seq is the run's
 * number, 0, 1, ..., an even seq through mpmcring_bpf_output(), an odd one
 * through reserve, write and commit (thread says which: 0 or 1). Every run
 * is one of the test's event's samples (the program is attached to
 * nothing else), so the test holds hits against the records: each seq
 * below hits exactly once. 6.12 maps perf_event programs to the kfunc hook
 * of tracing programs, which the module registers (kmod/bpf.c); 6.1 has
 * no kfunc hook for them and must refuse the calls.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "bt_produce.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 ring_id;
const volatile __u64 nonce;

/* Runs (samples), records the ring took, and refused. */
__u64 hits, ok, failed;

SEC("perf_event")
int bt_perf(struct bpf_perf_event_data *ctx)
{
	bt_produce(ring_id, nonce, __sync_fetch_and_add(&hits, 1), BT_PERF, &ok, &failed);
	return 0;
}
