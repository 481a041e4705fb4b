// SPDX-License-Identifier: GPL-2.0-only
/*
 * The BPF ring buffer side of the Go drain benchmark (bench/go/vm): each
 * getppid() of one process (the benchmark, told by its tgid) reserves and
 * submits one record of rec_size bytes, so that a full BPF ring buffer of
 * N records can be drained by cilium/ebpf's reader while a full mpmcring
 * of N records of the same size is drained by the Go package.
 *
 * A kprobe on getppid's own entry, not the raw tracepoint sys_enter:
 * attaching to sys_enter rewrites a jump in the syscall entry that every
 * thread runs, and with it the guest benchmark hung in soft lockups in
 * syscall_trace_enter (qemu's TCG, the Go runtime's threads in system
 * calls on both vCPUs; bench/RESULTS.md, and tests/vm/events.c on
 * patching call sites under TCG). Nothing else in the guest
 * calls getppid(), so attaching rewrites no code another thread runs.
 *
 *   clang -O2 -g -target bpf -c fill.bpf.c -o fill.bpf.o
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_tgid;
const volatile __u32 rec_size; /* 64, 1024 or 4096 */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096); /* the loader sets the size */
} rb SEC(".maps");

/* One object: the loader reads it whole (separate globals may be laid out
 * in any order).
 */
struct {
	__u64 seq;
	__u64 dropped;
} counts;

/* A record of exactly n bytes: the reservation size must be a constant. */
#define FILL(n)                                                   \
	do {                                                      \
		__u64 *r = bpf_ringbuf_reserve(&rb, (n), 0);      \
		if (!r) {                                         \
			__sync_fetch_and_add(&counts.dropped, 1); \
			return 0;                                 \
		}                                                 \
		r[0] = __sync_fetch_and_add(&counts.seq, 1);      \
		bpf_ringbuf_submit(r, 0);                         \
	} while (0)

SEC("kprobe/__x64_sys_getppid")
int fill(void *ctx)
{
	if (bpf_get_current_pid_tgid() >> 32 != target_tgid)
		return 0;
	if (rec_size == 64)
		FILL(64);
	else if (rec_size == 1024)
		FILL(1024);
	else
		FILL(4096);
	return 0;
}
