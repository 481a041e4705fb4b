/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What tests/vm/bpf.c and its BPF programs (tests/vm/bpf/NAME.bpf.c) share.
 * The programs run on sys_enter of getppid(2) in the test's own process;
 * the test passes what to do in the syscall's argument registers, which
 * getppid ignores: syscall(SYS_getppid, op, a, b, c).
 */
#ifndef MPMCRING_BPF_TEST_H
#define MPMCRING_BPF_TEST_H

#define BT_SYSCALL 110 /* __NR_getppid on x86-64 */
#define BT_MAX_THREADS 64
#define BT_MAX_RESERVE 4096	 /* kmod/bpf.c: MPMCRING_BPF_MAX_RESERVE */
#define BT_MAX_OUTPUT (64 << 10) /* kmod/bpf.c: MPMCRING_BPF_MAX_OUTPUT */

/* op: what the program does. */
#define BT_OUTPUT 1	 /* a: thread, b: seq, c: flags; output kfunc */
#define BT_RESERVE 2	 /* the same through reserve, write, commit */
#define BT_DISCARD 3	 /* reserve, write, discard */
#define BT_BAD_ID 4	 /* output, admit and reserve into ring a */
#define BT_BAD_FLAGS 5	 /* output, admit and reserve with flags a */
#define BT_BAD_LEN 6	 /* admit and reserve a bytes */
#define BT_BAD_WRITE 7	 /* reserve 16 bytes, write b bytes at a */
#define BT_SMALL_LEN 8	 /* output, admit, reserve a & 15 bytes (0: refused) */
#define BT_KPROBE 9	 /* kprobe.bpf.c: a record with seq a (odd: reserved) */
#define BT_ADMIT 16	 /* as BT_OUTPUT, output only if the admit kfunc says 0 */
#define BT_ADMIT_ONLY 17 /* admit a bytes with flags b, nothing else */
#define BT_BIG_OUTPUT 18 /* admit, then output, a bytes of a map value */

/* The op in the records of tracepoint.bpf.c and perf.bpf.c. */
#define BT_TRACEPOINT 10 /* tracepoint.bpf.c: as BT_KPROBE, from a tracepoint */
#define BT_PERF 11	 /* perf.bpf.c: one per sample of a perf event */

/* ... of fexit.bpf.c, fmod_ret.bpf.c, kretprobe.bpf.c and uprobe.bpf.c. */
#define BT_FEXIT 12	/* fexit.bpf.c: on ioctl(fd, BT_IOCTL_CMD, seq) */
#define BT_FMOD_RET 13	/* fmod_ret.bpf.c: the same, and fails the ioctl */
#define BT_KRETPROBE 14 /* kretprobe.bpf.c: one per getppid(2) return */
#define BT_UPROBE 15	/* uprobe.bpf.c: on bt_uprobed(BT_UPROBE, seq) */

/*
 * The ioctl(2) command fexit.bpf.c and fmod_ret.bpf.c act on (on
 * /dev/null, which has no ioctls: ENOTTY), and the error fmod_ret.bpf.c
 * makes security_file_ioctl() return instead (EBADMSG; vmlinux.h has no
 * errno values).
 */
#define BT_IOCTL_CMD 0x62740d13U
#define BT_FMOD_RET_ERRNO 74

/* Contexts pool.bpf.c reserves in (kmod/bpf.c: the pool's limits). */
#define BT_CTX_TASK 0 /* tp_btf in task context: preemption off */
#define BT_CTX_SOFTIRQ 1
#define BT_CTX_HARDIRQ 2
#define BT_CTX_TASK_RCU 3 /* non-sleepable LSM: rcu_read_lock(), maybe preemptible */
#define BT_NR_CTX 4

/*
 * Reservations a program of pool.bpf.c holds at once, at most: one more
 * than hardirq has beyond the sleepers' share (kmod/bpf.c:
 * MPMCRING_BPF_POOL_HARDIRQ - MPMCRING_BPF_POOL_SLEEP), so that what a
 * burst holds while they sleep tells hardirq's share (7) from softirq's
 * (6) and task context's (4); no more than task context's whole share, so
 * that with nobody sleeping a task-context burst holds all of it.
 */
#define BT_POOL_BURST 8

/* A record the programs write. */
struct bt_rec {
	__u64 nonce; /* this run's, so records of other runs are told apart */
	__u32 thread;
	__u32 cpu;
	__u64 seq;
	__u64 op;
};

/* What the programs report (the skeleton's .bss). */
struct bt_out {
	__s64 ret;	     /* output's return, or the write's */
	__s64 got;	     /* reserve gave a reservation: 1, else 0 */
	__s64 admit;	     /* admit's return (BT_BAD_*, BT_SMALL_LEN) */
	__u64 admit_refused; /* BT_ADMIT records admit refused (not output) */
	__u64 ok[BT_MAX_THREADS];
	__u64 failed[BT_MAX_THREADS];
};

#endif /* MPMCRING_BPF_TEST_H */
