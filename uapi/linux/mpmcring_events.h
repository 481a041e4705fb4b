/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mpmcring events: the records the event source module (mpmcring_events.ko)
 * writes into a ring, one record payload per event. The same layout is what
 * the BPF programs of the benchmark write (bench/events/), so one decoder
 * reads all of them.
 *
 * Every event starts with struct mpmcring_ev_hdr; the type says which
 * struct the whole event is. All integers are in the host's byte order.
 * Strings (file names, paths) follow the fixed part; a struct mpmcring_ev_str
 * gives their offset from the start of the event and their length without
 * the terminating NUL, which is always there (at off + len).
 *
 * Compatibility: version 1 is this layout. A later compatible version only
 * appends fields to the fixed parts and keeps every offset here; a consumer
 * accepts an event longer than it knows and ignores the tail. An
 * incompatible change gets a new magic.
 *
 * What the syscall events say: open, connect and failed execve are read
 * from the caller's registers and memory at the syscall's exit. The path
 * or address is what the caller's memory held then: another thread of the
 * caller can rewrite it between the kernel's own read and this one, so a
 * path names what the caller asked for, not for certain the file opened.
 * exec events carry the file name the kernel kept (kernel memory): the
 * name as the caller gave it (relative names stay relative, symlinks are
 * not followed), or /dev/fd/N[/name] for an execveat from a directory fd
 * or of the fd itself. A syscall's ret is its value at the exit: a call
 * a signal interrupted may show the kernel's restart codes (-512 to -516,
 * ERESTARTSYS and the like), and one restarted after the signal handler
 * is recorded again when it ends. Tasks the kernel creates without a fork
 * tracepoint (io_uring's workers) have an exit event but no fork. 32-bit
 * syscalls on x86-64 are recorded too, flagged MPMCRING_EVF_COMPAT, with
 * the 32-bit table's numbers, and so are x32-numbered ones (any 64-bit
 * task can make them; without x32 support they fail with ENOSYS), flagged
 * MPMCRING_EVF_X32, nr as made. On x86-64, an exec that set up the new
 * program's ABI (SET_PERSONALITY, past its point of no return: one that
 * succeeded, or failed setting up the program after that) has had its
 * syscall number and 32-bit state replaced by the kernel with those of
 * execve for that ABI: it is recorded at its exit as execve (59; 11 with
 * MPMCRING_EVF_COMPAT for a 32-bit program; 520 with MPMCRING_EVF_X32 for
 * an x32 one), whichever exec call it was. So the catch-all (execve not
 * listed) shows a successful execveat as execve, and syscalls=execveat
 * without execve misses an execveat that failed that late; the exec event
 * is the record of a successful exec. Syscalls that
 * never pass the syscall exit (io_uring's open and connect) are not seen.
 *
 * Trust: a ring's records can also come from userspace write(2) (their
 * record header carries MPMCRING_REC_FROM_USER): such a record may look like
 * an event but says nothing about the kernel. Decoders must check that flag
 * and bound every length and offset by the record's length.
 */
#ifndef _UAPI_LINUX_MPMCRING_EVENTS_H
#define _UAPI_LINUX_MPMCRING_EVENTS_H

#include <linux/types.h>

#define MPMCRING_EV_MAGIC	0x5645524dU	/* "MREV" in memory on little-endian */
#define MPMCRING_EV_VERSION	1

/* Event types (mpmcring_ev_hdr.type). */
#define MPMCRING_EV_EXEC	1	/* sched_process_exec: a new program runs */
#define MPMCRING_EV_FORK	2	/* sched_process_fork: a task was created */
#define MPMCRING_EV_EXIT	3	/* sched_process_exit: a task exits */
#define MPMCRING_EV_OPEN	4	/* open, openat, openat2, creat: at exit */
#define MPMCRING_EV_CONNECT	5	/* connect: at exit */
#define MPMCRING_EV_EXECVE	6	/* execve, execveat that failed: at exit */
#define MPMCRING_EV_SYSCALL	7	/* any other syscall (catch-all): at exit */
#define MPMCRING_EV_NR_TYPES	8

/* Header flags (mpmcring_ev_hdr.flags). */
#define MPMCRING_EVF_TRUNCATED	0x01	/* a string was cut at the module's max_path */
/*
 * MPMCRING_EVF_FAULT: user memory was unreadable without faulting: a string
 * cut there; a connect's address (family 0) or an openat2's open_how
 * (flags and mode 0) not read; for socketcall's connect, its argument
 * block, so fd and addrlen are 0 too. (A connect the kernel refused before
 * it read the address, EBADF, an x32 number's ENOSYS (x32 off) or a
 * length out of range, has family 0 and no FAULT: nothing was read. An
 * x32 connect that a BPF program or LSM refused with ENOSYS, on a kernel
 * with x32 on, has family 0 too.)
 */
#define MPMCRING_EVF_FAULT	0x02
#define MPMCRING_EVF_COMPAT	0x04	/* a 32-bit (compat) syscall: nr is the 32-bit table's */
#define MPMCRING_EVF_KILLED	0x08	/* a failed exec kills the task: no string read (execve) */
#define MPMCRING_EVF_X32	0x10	/* an x32-numbered syscall (x86-64): nr as made, 0x40000000 set */
#define MPMCRING_EVF_GROUP_DEAD	0x20	/* exit: no thread of the process was left running */

#define MPMCRING_EV_COMM_LEN	16

/*
 * struct mpmcring_ev_hdr - what every event starts with (48 bytes)
 * @magic: MPMCRING_EV_MAGIC
 * @type: MPMCRING_EV_*
 * @size: bytes of the whole event, this header and strings included
 * @version: MPMCRING_EV_VERSION
 * @flags: MPMCRING_EVF_*
 * @cpu: the CPU the event happened on
 * @pid: thread id of the task (initial pid namespace)
 * @ts_ns: CLOCK_MONOTONIC nanoseconds (as bpf_ktime_get_ns())
 * @tgid: process id (thread group id)
 * @uid: real uid (initial user namespace)
 * @comm: the task's name, NUL-padded (may lack a NUL when 16 bytes long)
 */
struct mpmcring_ev_hdr {
	__u32 magic;
	__u16 type;
	__u16 size;
	__u8 version;
	__u8 flags;
	__u16 cpu;
	__u32 pid;
	__u64 ts_ns;
	__u32 tgid;
	__u32 uid;
	char comm[MPMCRING_EV_COMM_LEN];
};

/* A string inside the event: bytes [off, off + len), NUL at off + len. */
struct mpmcring_ev_str {
	__u16 off;
	__u16 len;
};

/* MPMCRING_EV_EXEC: the header's task now runs filename. */
struct mpmcring_ev_exec {
	struct mpmcring_ev_hdr hdr;
	__u32 old_pid;			/* thread id before exec (differs when a thread execs) */
	struct mpmcring_ev_str filename;	/* the name exec kept: see above */
};

/* MPMCRING_EV_FORK: the header's task created child_pid. */
struct mpmcring_ev_fork {
	struct mpmcring_ev_hdr hdr;
	__u32 child_pid;
	__u32 child_tgid;		/* == child_pid for a new process */
};

/*
 * MPMCRING_EV_EXIT: the header's task exits, one event per thread. The
 * process has ended at the first exit with MPMCRING_EVF_GROUP_DEAD: no
 * thread of it was left running (threads that exit at the same moment may
 * both have it, so more exits of it can follow; a kernel thread's every
 * exit has it). pid == tgid is no such sign: the main thread can end
 * before the others. exit_code is status << 8 | signal: the thread's
 * own, and on an exit with MPMCRING_EVF_GROUP_DEAD the process's status
 * as wait(2) reports it, whichever thread ended last (an io_uring worker
 * leaves with 0 of its own).
 */
struct mpmcring_ev_exit {
	struct mpmcring_ev_hdr hdr;
	__s32 exit_code;
	__u32 reserved;
};

/* MPMCRING_EV_OPEN: a file was opened (or not: see ret). */
struct mpmcring_ev_open {
	struct mpmcring_ev_hdr hdr;
	__s64 ret;			/* the new fd, or -errno */
	__u32 nr;			/* syscall number */
	__s32 dirfd;			/* AT_FDCWD (-100) for open and creat */
	__u32 flags;			/* O_* (openat2: how.flags, low 32 bits) */
	__u32 mode;
	struct mpmcring_ev_str path;
	__u32 reserved;
};

/* MPMCRING_EV_CONNECT: a socket connected (or tried: see ret). */
struct mpmcring_ev_connect {
	struct mpmcring_ev_hdr hdr;
	__s64 ret;			/* 0 or -errno (-EINPROGRESS when non-blocking) */
	__u32 nr;
	__s32 fd;
	__u16 family;			/* AF_INET, AF_INET6, or what the caller gave */
	__u16 port;			/* host byte order (AF_INET, AF_INET6) */
	__u32 addrlen;			/* the length the caller passed */
	__u8 addr[16];			/* IPv4 in the first 4 bytes; network order */
};

/*
 * MPMCRING_EV_EXECVE: an exec that failed, recorded at syscall exit. A
 * successful one is an MPMCRING_EV_EXEC event (its file name as the kernel
 * resolved it; the caller's memory is gone by the syscall's exit): with both
 * types on, every execve is reported exactly once.
 *
 * An exec that fails past its point of no return (the new program's image
 * could not be set up, after the old one was discarded) kills the task; so
 * does one failing with a fatal signal pending. Such an event is flagged
 * MPMCRING_EVF_KILLED and its filename is empty: the caller's memory may
 * already be the new program's, whose bytes whoever wrote the binary chose,
 * so it is not read. The flag means a fatal signal was pending as the exec
 * failed: SIGKILL, or a SIGSEGV with its default action, which a tracer may
 * still cancel (then the task lives on, and the name was not recorded).
 * The header's comm is the new program's name when the exec got as far as
 * naming the task, the caller's before that.
 */
struct mpmcring_ev_execve {
	struct mpmcring_ev_hdr hdr;
	__s64 ret;			/* -errno */
	__u32 nr;
	__s32 dirfd;			/* execveat's, AT_FDCWD for execve */
	__u32 flags;			/* execveat's AT_* flags */
	struct mpmcring_ev_str filename;	/* as the caller gave it */
};

/*
 * MPMCRING_EV_SYSCALL: any syscall (the catch-all class, or one asked for
 * by number). nr is the number the task asked for (or a tracer put in
 * its place), a negative one (which no syscall has: -ENOSYS, unless a
 * tracer or a seccomp filter chose the return) in two's complement: read
 * it as __s32. -1 is never recorded: it is what the kernel shows for a
 * syscall a tracer skipped, and for every rt_sigreturn (x86, arm64).
 */
struct mpmcring_ev_syscall {
	struct mpmcring_ev_hdr hdr;
	__s64 ret;
	__u32 nr;
	__u32 reserved;
};

#endif /* _UAPI_LINUX_MPMCRING_EVENTS_H */
