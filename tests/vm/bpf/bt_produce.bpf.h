/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The producing half of kprobe.bpf.c, kretprobe.bpf.c, uprobe.bpf.c,
 * tracepoint.bpf.c, perf.bpf.c, fexit.bpf.c and fmod_ret.bpf.c:
 * one record per call, its seq given by the program, an even seq through
 * mpmcring_bpf_output(), an odd one through reserve, write and commit
 * (thread says which: 0 or 1), so both paths run in the program's context;
 * counted in the program's ok or failed.
 */
#ifndef MPMCRING_BT_PRODUCE_BPF_H
#define MPMCRING_BT_PRODUCE_BPF_H

#include "mpmcring.bpf.h"
#include "bpf_test.h"

/* rec through reserve, write and commit. */
static __always_inline int bt_reserve_commit(__u32 ring, const struct bt_rec *rec)
{
	struct mpmcring_bpf_rsv *r;
	int err, sent;

	r = mpmcring_bpf_reserve(ring, sizeof(*rec), MPMCRING_BPF_NORMAL);
	if (!r)
		return -1;
	err = mpmcring_bpf_write(r, 0, rec, sizeof(*rec));
	sent = mpmcring_bpf_commit(r);
	return err ? err : sent;
}

static __always_inline void bt_produce(__u32 ring, __u64 nonce, __u64 seq, __u64 op, __u64 *ok,
				       __u64 *failed)
{
	struct bt_rec rec = {};
	int err;

	rec.nonce = nonce;
	rec.cpu = bpf_get_smp_processor_id();
	rec.seq = seq;
	rec.thread = seq & 1;
	rec.op = op;
	if (rec.thread)
		err = bt_reserve_commit(ring, &rec);
	else
		err = mpmcring_bpf_output(ring, &rec, sizeof(rec), MPMCRING_BPF_NORMAL);
	if (err)
		__sync_fetch_and_add(failed, 1);
	else
		__sync_fetch_and_add(ok, 1);
}

#endif
