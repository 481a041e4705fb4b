// SPDX-License-Identifier: GPL-2.0-only
/*
 * Programs the verifier must refuse (tests/vm/bpf.c loads each alone): a
 * reservation leaked on one path, used after its commit, committed twice,
 * used without the NULL check, a pointer that is no reservation handed
 * to commit, a write of a size the verifier cannot bound, and a read of
 * the handle past what it shows (len).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "mpmcring.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 ring_id;

SEC("tp_btf/sys_enter")
int BPF_PROG(leak_on_a_path, struct pt_regs *regs, long id)
{
	struct mpmcring_bpf_rsv *r = mpmcring_bpf_reserve(ring_id, 8, 0);

	if (!r)
		return 0;
	if (id == 110)
		mpmcring_bpf_commit(r);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(write_after_commit, struct pt_regs *regs, long id)
{
	struct mpmcring_bpf_rsv *r = mpmcring_bpf_reserve(ring_id, 8, 0);

	if (!r)
		return 0;
	mpmcring_bpf_commit(r);
	mpmcring_bpf_write(r, 0, &id, sizeof(id));
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(commit_twice, struct pt_regs *regs, long id)
{
	struct mpmcring_bpf_rsv *r = mpmcring_bpf_reserve(ring_id, 8, 0);

	if (!r)
		return 0;
	mpmcring_bpf_commit(r);
	mpmcring_bpf_commit(r);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(no_null_check, struct pt_regs *regs, long id)
{
	struct mpmcring_bpf_rsv *r = mpmcring_bpf_reserve(ring_id, 8, 0);

	mpmcring_bpf_write(r, 0, &id, sizeof(id));
	mpmcring_bpf_commit(r);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(commit_not_a_reservation, struct pt_regs *regs, long id)
{
	struct mpmcring_bpf_rsv *r = mpmcring_bpf_reserve(ring_id, 8, 0);

	if (!r)
		return 0;
	mpmcring_bpf_commit((struct mpmcring_bpf_rsv *)regs);
	mpmcring_bpf_discard(r);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(variable_sized_write_past_buffer, struct pt_regs *regs, long id)
{
	struct mpmcring_bpf_rsv *r = mpmcring_bpf_reserve(ring_id, 64, 0);
	char buf[8] = {};

	if (!r)
		return 0;
	/* A size the verifier cannot bound by buf. */
	mpmcring_bpf_write(r, 0, buf, regs->si);
	mpmcring_bpf_discard(r);
	return 0;
}

__u32 peeked;

/*
 * The handle shows len and nothing else. 64 bytes in lay, while the
 * handle's struct was the whole slot, the staged bytes of whichever record
 * the slot held last (any program's, for any ring), readable without a
 * probe read.
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(read_past_len, struct pt_regs *regs, long id)
{
	struct mpmcring_bpf_rsv *r = mpmcring_bpf_reserve(ring_id, 8, 0);

	if (!r)
		return 0;
	peeked = *(volatile __u32 *)((void *)r + 64);
	mpmcring_bpf_discard(r);
	return 0;
}
