// SPDX-License-Identifier: GPL-2.0-only
/*
 * The BPF producer of tests/vm/bpf.c: on getppid(2) from the test's process,
 * produce a record (output, admit then output, or reserve, write and
 * commit or discard), or call a kfunc with what the test chose (ids, flags,
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

/* The tests' bounds are the header's (and bpf.c's, MPMCRING_WRITE_MAX's). */
_Static_assert(BT_MAX_OUTPUT == MPMCRING_BPF_MAX_OUTPUT, "output's bound");
_Static_assert(BT_MAX_RESERVE == MPMCRING_BPF_MAX_RESERVE, "reserve's bound");

/* BT_BIG_OUTPUT's payload: more than output copies (BT_MAX_OUTPUT). */
struct big_value {
	char b[BT_MAX_OUTPUT + 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct big_value);
} big SEC(".maps");

/* admit, then output, n bytes of the big map's value. */
static __always_inline int big_output(__u64 n)
{
	__u32 zero = 0;
	struct big_value *v = bpf_map_lookup_elem(&big, &zero);

	if (!v || n > sizeof(v->b))
		return 0;
	out.admit = mpmcring_bpf_admit(ring_id, n, MPMCRING_BPF_NORMAL);
	out.ret = mpmcring_bpf_output(ring_id, v->b, n, MPMCRING_BPF_NORMAL);
	return 0;
}

/*
 * Each reservation is tested for NULL once, and the NULL path leaves at
 * once, as examples/bpf/exec.bpf.c does. 6.1's verifier does not know that
 * a pointer it has seen non-NULL stays so: code that tests the same
 * pointer twice (out.got = r != NULL; if (r) ...) has a path, impossible
 * but explored, that returns holding the reservation ("Unreleased
 * reference"). 6.12 prunes that path; 6.1 refuses the program.
 */

/* Counts what the program saw for thread: refused, produced or discarded. */
static __always_inline void tally(__u64 thread, __u64 op, int err)
{
	thread &= BT_MAX_THREADS - 1;
	out.ret = err;
	if (err)
		__sync_fetch_and_add(&out.failed[thread], 1);
	else if (op != BT_DISCARD)
		__sync_fetch_and_add(&out.ok[thread], 1);
}

/* rec through reserve, write, then commit or discard. */
static __always_inline int reserve_write(const struct bt_rec *rec, __u64 flags)
{
	struct mpmcring_bpf_rsv *r;
	int err, sent;

	r = mpmcring_bpf_reserve(ring_id, sizeof(*rec), flags);
	if (!r)
		return -1;
	err = mpmcring_bpf_write(r, 0, rec, sizeof(*rec));
	if (rec->op == BT_DISCARD) {
		mpmcring_bpf_discard(r);
		return err;
	}
	/* The ring takes the record (or refuses it) only here. */
	sent = mpmcring_bpf_commit(r);
	return err ? err : sent;
}

static __always_inline int produce(__u64 op, __u64 thread, __u64 seq, __u64 flags)
{
	struct bt_rec rec = {
		.nonce = nonce,
		.thread = thread,
		.cpu = bpf_get_smp_processor_id(),
		.seq = seq,
		.op = op,
	};

	int err;

	if (op == BT_ADMIT) {
		/* A refusal here is counted by the ring: no output then. */
		err = mpmcring_bpf_admit(ring_id, sizeof(rec), flags);
		if (err)
			__sync_fetch_and_add(&out.admit_refused, 1);
		else
			err = mpmcring_bpf_output(ring_id, &rec, sizeof(rec), flags);
		tally(thread, op, err);
	} else if (op == BT_OUTPUT) {
		tally(thread, op, mpmcring_bpf_output(ring_id, &rec, sizeof(rec), flags));
	} else {
		tally(thread, op, reserve_write(&rec, flags));
	}
	return 0;
}

/* A reservation into ring id with flags and len; reports whether it came. */
static __always_inline void try_reserve(__u32 id, __u32 len, __u64 flags)
{
	struct mpmcring_bpf_rsv *r;

	out.got = 0;
	r = mpmcring_bpf_reserve(id, len, flags);
	if (!r)
		return;
	out.got = 1;
	mpmcring_bpf_discard(r);
}

/* Reserves 16 bytes and writes n bytes of buf at off into them. */
static __always_inline void try_write(__u32 off, __u32 n)
{
	struct mpmcring_bpf_rsv *r;
	char buf[16] = {};

	out.got = 0;
	r = mpmcring_bpf_reserve(ring_id, sizeof(buf), MPMCRING_BPF_NORMAL);
	if (!r)
		return;
	out.got = 1;
	/* n & 15: the verifier wants the bytes inside buf. */
	out.ret = mpmcring_bpf_write(r, off, buf, n & (sizeof(buf) - 1));
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
	case BT_ADMIT:
		return produce(op, a, b, c);
	case BT_BAD_ID:
		out.ret = mpmcring_bpf_output(a, buf, sizeof(buf), MPMCRING_BPF_NORMAL);
		out.admit = mpmcring_bpf_admit(a, sizeof(buf), MPMCRING_BPF_NORMAL);
		try_reserve(a, sizeof(buf), MPMCRING_BPF_NORMAL);
		return 0;
	case BT_BAD_FLAGS:
		out.ret = mpmcring_bpf_output(ring_id, buf, sizeof(buf), a);
		out.admit = mpmcring_bpf_admit(ring_id, sizeof(buf), a);
		try_reserve(ring_id, sizeof(buf), a);
		return 0;
	case BT_ADMIT_ONLY:
		out.admit = mpmcring_bpf_admit(ring_id, a, b);
		return 0;
	case BT_BIG_OUTPUT:
		return big_output(a);
	case BT_BAD_LEN:
		out.admit = mpmcring_bpf_admit(ring_id, a, MPMCRING_BPF_NORMAL);
		try_reserve(ring_id, a, MPMCRING_BPF_NORMAL);
		return 0;
	case BT_SMALL_LEN:
		/* A length known only at run time, as a program computes one. */
		out.ret = mpmcring_bpf_output(ring_id, buf, a & (sizeof(buf) - 1),
					      MPMCRING_BPF_NORMAL);
		out.admit = mpmcring_bpf_admit(ring_id, a & (sizeof(buf) - 1), MPMCRING_BPF_NORMAL);
		try_reserve(ring_id, a & (sizeof(buf) - 1), MPMCRING_BPF_NORMAL);
		return 0;
	case BT_BAD_WRITE:
		try_write(a, b);
		return 0;
	}
	return 0;
}
