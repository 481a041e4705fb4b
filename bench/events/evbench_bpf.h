/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the BPF side of the events race (events.bpf.c) and its loader
 * (evbench) share: modes, sizes, the syscall classification (the same as
 * the module's for native syscalls, kmod/events/events.h; the module's
 * 32-bit table is left out: the race makes no 32-bit syscalls) and the
 * counters. Includes nothing:
 * the BPF side has vmlinux.h's types, userspace <linux/types.h>'s.
 */
#ifndef MPMCRING_EVBENCH_BPF_H
#define MPMCRING_EVBENCH_BPF_H

enum evb_mode { EVB_RINGBUF, EVB_RINGBUF_QUERY, EVB_PERF, EVB_MPMCRING, EVB_MPMCRING_ADMIT };

/* As the module's default max_path: strings of up to 256 bytes are kept. */
#define EVB_MAX_PATH 256
#define EVB_STR_ROOM (EVB_MAX_PATH + 2)
#define EVB_NR_SYSCALLS 512
#define EVB_NR_PRIO 3

/* How a syscall is recorded, as in the module. */
enum evb_sys_kind {
	EVK_NONE,
	EVK_OPEN,
	EVK_OPENAT,
	EVK_OPENAT2,
	EVK_CREAT,
	EVK_CONNECT,
	EVK_EXECVE,
	EVK_EXECVEAT,
	EVK_GENERIC,
};

enum { EVB_EMITTED, EVB_DROPPED, EVB_SHED };

/* Per CPU, by event type: submitted, refused by the buffer (in admit mode
 * also by mpmcring_bpf_admit()), dropped by the program's own priority
 * policy (query mode). */
struct evb_counts {
	__u64 emitted[8];
	__u64 dropped[8];
	__u64 shed[8];
};

#endif /* MPMCRING_EVBENCH_BPF_H */
