// SPDX-License-Identifier: GPL-2.0-only
/*
 * The BPF producer of tests/vm/bpf.c: on getppid(2) from the test's process,
 * produce a record, or call a kfunc with what the test chose (ids, flags,
 * lengths, offsets a hostile program could pass) and report the result.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "mpmcring.bpf.h"
#include "bpf_test.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 ring_id;
const volatile __u32 tgid;
const volatile __u64 nonce;

struct bt_out out;

static __always_inline int produce(__u64 op, __u64 thread, __u64 seq, __u64 flags)
{
	struct mpmcring_bpf_rsv *r;
	struct bt_rec rec = {
		.nonce = nonce,
		.thread = thread,
		.cpu = bpf_get_smp_processor_id(),
		.seq = seq,
		.op = op,
	};
	int err;

	thread &= BT_MAX_THREADS - 1;
	if (op == BT_OUTPUT) {
		err = mpmcring_bpf_output(ring_id, &rec, sizeof(rec), flags);
	} else {
		r = mpmcring_bpf_reserve(ring_id, sizeof(rec), flags);
		if (!r) {
			err = -1;
		} else {
			err = mpmcring_bpf_write(r, 0, &rec, sizeof(rec));
			if (op == BT_DISCARD)
				mpmcring_bpf_discard(r);
			else
				mpmcring_bpf_commit(r);
		}
	}
	out.ret = err;
	if (err)
		__sync_fetch_and_add(&out.failed[thread], 1);
	else if (op != BT_DISCARD)
		__sync_fetch_and_add(&out.ok[thread], 1);
	return 0;
}

/* A reservation into ring id with flags and len; reports whether it came. */
static __always_inline void try_reserve(__u32 id, __u32 len, __u64 flags)
{
	struct mpmcring_bpf_rsv *r = mpmcring_bpf_reserve(id, len, flags);

	out.got = r != NULL;
	if (r)
		mpmcring_bpf_discard(r);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(bt_produce, struct pt_regs *regs, long id)
{
	__u64 op, a, b, c;
	char buf[16] = {};

	if (id != BT_SYSCALL || bpf_get_current_pid_tgid() >> 32 != tgid)
		return 0;
	op = regs->di;
	a = regs->si;
	b = regs->dx;
	c = regs->r10;
	switch (op) {
	case BT_OUTPUT:
	case BT_RESERVE:
	case BT_DISCARD:
		return produce(op, a, b, c);
	case BT_BAD_ID:
		out.ret = mpmcring_bpf_output(a, buf, sizeof(buf), MPMCRING_BPF_NORMAL);
		try_reserve(a, sizeof(buf), MPMCRING_BPF_NORMAL);
		return 0;
	case BT_BAD_FLAGS:
		out.ret = mpmcring_bpf_output(ring_id, buf, sizeof(buf), a);
		try_reserve(ring_id, sizeof(buf), a);
		return 0;
	case BT_BAD_LEN:
		try_reserve(ring_id, a, MPMCRING_BPF_NORMAL);
		return 0;
	case BT_BAD_WRITE: {
		struct mpmcring_bpf_rsv *r = mpmcring_bpf_reserve(ring_id, 16, MPMCRING_BPF_NORMAL);

		out.got = r != NULL;
		if (!r)
			return 0;
		/* b bytes of buf: the verifier wants them inside buf. */
		out.ret = mpmcring_bpf_write(r, a, buf, b & 15);
		mpmcring_bpf_discard(r);
		return 0;
	}
	}
	return 0;
}
