// SPDX-License-Identifier: GPL-2.0-only
/*
 * Programs the verifier must refuse (tests/vm/bpf.c loads each alone): a
 * reservation leaked on one path, used after its commit, committed twice,
 * used without the NULL check, a pointer that is no reservation handed
 * to commit, a write of a size the verifier cannot bound, a read of the
 * handle past what it shows (len), handles the program forges from
 * memory of its own (stack, map value, ringbuf sample, NULL), and one of
 * the right type it did not get from reserve (an fexit's argument).
 *
 * Loaded only, never attached: were one accepted, it must not run.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "mpmcring.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 ring_id;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} arr SEC(".maps");

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

/*
 * Forged handles: memory the program owns, passed where a reservation
 * goes. The kfuncs container_of() the handle to its slot and write
 * through it (write: at the slot's data + off, bounded by the forged len;
 * commit and discard: clear a bit in the forged pool), so the verifier
 * must take nothing but a handle from mpmcring_bpf_reserve(). It does so
 * only while struct mpmcring_bpf_rsv is not a struct of scalars only:
 * for one, 6.1 and 6.12 accept any memory of its size here.
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(forged_from_stack, struct pt_regs *regs, long id)
{
	struct {
		__u32 len;
	} fake = { .len = 8 };

	mpmcring_bpf_write((struct mpmcring_bpf_rsv *)&fake, 0, &id, sizeof(id));
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(forged_from_map_value, struct pt_regs *regs, long id)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&arr, &k);

	if (!v)
		return 0;
	*v = 8;
	mpmcring_bpf_write((struct mpmcring_bpf_rsv *)v, 0, &id, sizeof(id));
	return 0;
}

/* A ringbuf sample is an acquired reference: it would satisfy KF_RELEASE. */
SEC("tp_btf/sys_enter")
int BPF_PROG(commit_a_ringbuf_sample, struct pt_regs *regs, long id)
{
	__u64 *s = bpf_ringbuf_reserve(&rb, 64, 0);

	if (!s)
		return 0;
	mpmcring_bpf_commit((struct mpmcring_bpf_rsv *)s);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(discard_a_ringbuf_sample, struct pt_regs *regs, long id)
{
	__u64 *s = bpf_ringbuf_reserve(&rb, 64, 0);

	if (!s)
		return 0;
	mpmcring_bpf_discard((struct mpmcring_bpf_rsv *)s);
	return 0;
}

/* 6.1 takes a NULL constant as memory of any size; 6.12 refuses it. */
SEC("tp_btf/sys_enter")
int BPF_PROG(write_to_null, struct pt_regs *regs, long id)
{
	mpmcring_bpf_write((struct mpmcring_bpf_rsv *)0, 0, &id, sizeof(id));
	return 0;
}

/*
 * A handle of the right type the program did not get from reserve: fexit
 * sees commit's argument after its slot was freed. Only
 * mpmcring_bpf_write()'s KF_TRUSTED_ARGS refuses it (6.1: "must be
 * referenced"; 6.12: "must be referenced or trusted"): without the flag the
 * type alone would match, and the write land in a freed or other's slot.
 */
SEC("fexit/mpmcring_bpf_commit")
int BPF_PROG(handle_from_fexit, struct mpmcring_bpf_rsv *r, int ret)
{
	mpmcring_bpf_write(r, 0, &ret, sizeof(ret));
	return 0;
}
