// SPDX-License-Identifier: GPL-2.0-only
/*
 * A map lookup that finds nothing, passed straight to the kfuncs with a
 * size: a verifier that lets it through (6.1 does, for a pointer that may
 * be NULL) leaves the kfunc a NULL pointer to check (tests/vm/bpf.c).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "mpmcring.bpf.h"
#include "bpf_test.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 ring_id;
const volatile __u32 tgid;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bt_rec);
} empty SEC(".maps");

__s64 out_ret = 1, write_ret = 1;

SEC("tp_btf/sys_enter")
int BPF_PROG(null_data, struct pt_regs *regs, long id)
{
	struct mpmcring_bpf_rsv *r;
	struct bt_rec *v;
	__u32 key = 7;

	if (id != BT_SYSCALL || bpf_get_current_pid_tgid() >> 32 != tgid)
		return 0;
	v = bpf_map_lookup_elem(&empty, &key);
	out_ret = mpmcring_bpf_output(ring_id, v, sizeof(*v), MPMCRING_BPF_NORMAL);
	r = mpmcring_bpf_reserve(ring_id, sizeof(*v), MPMCRING_BPF_NORMAL);
	if (!r)
		return 0;
	write_ret = mpmcring_bpf_write(r, 0, v, sizeof(*v));
	mpmcring_bpf_discard(r);
	return 0;
}
