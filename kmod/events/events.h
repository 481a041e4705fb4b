/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mpmcring_events: kernel events (exec, fork, exit, open, connect, execve,
 * any syscall) from tracepoints into an mpmcring ring, through the exported
 * API only. Record layout: uapi/linux/mpmcring_events.h.
 */
#ifndef _MPMCRING_EVENTS_H
#define _MPMCRING_EVENTS_H

#include <linux/types.h>
#include <linux/mpmcring_events.h>
#include <asm/unistd.h>

#include "mpmcring.h"

/* How a syscall in the configured set is recorded (ev_config.sys_kind). */
enum ev_sys_kind {
	EVK_NONE = 0,		/* not in the set: catch-all, if on */
	EVK_OPEN,		/* open(path, flags, mode) */
	EVK_OPENAT,		/* openat(dirfd, path, flags, mode) */
	EVK_OPENAT2,		/* openat2(dirfd, path, how, size) */
	EVK_CREAT,		/* creat(path, mode) */
	EVK_CONNECT,		/* connect(fd, addr, addrlen) */
	EVK_EXECVE,		/* execve(path, argv, envp): failed ones */
	EVK_EXECVEAT,		/* execveat(dirfd, path, argv, envp, flags) */
	EVK_GENERIC,		/* asked for by number: a syscall record */
	EVK_SOCKETCALL,		/* ia32 socketcall(call, args): connect's */
};

/* Syscalls the table covers: the native table; anything else is catch-all. */
#define EV_NR_SYSCALLS		NR_syscalls

/*
 * 32-bit syscalls on a 64-bit x86 kernel (ia32 emulation: 32-bit programs,
 * and int $0x80 from 64-bit ones) have a table of their own, with the
 * 32-bit numbers of the named syscalls; records of them are flagged
 * MPMCRING_EVF_COMPAT. Other architectures' compat syscalls are catch-all
 * only; x32's are looked up in the native table (probes.c).
 */
#if defined(CONFIG_X86_64) && defined(CONFIG_IA32_EMULATION)
#define EV_COMPAT_IA32		1
#define EV_NR_COMPAT_SYSCALLS	IA32_NR_syscalls
#else
#define EV_COMPAT_IA32		0
#define EV_NR_COMPAT_SYSCALLS	1	/* never looked up */
#endif

/* Longest string the module copies (max_path's upper bound). */
#define EV_MAX_PATH_LIMIT	4000

/*
 * The configuration the probes read, written once before the first probe
 * is registered and never again (tracepoint_probe_register() publishes it).
 */
struct ev_config {
	struct mpmcring *ring;
	u32 prio[MPMCRING_EV_NR_TYPES];		/* MPMCRING_PRIO_* by type */
	bool proc[MPMCRING_EV_NR_TYPES];	/* exec, fork, exit wanted */
	bool catchall;				/* every other syscall, too */
	bool want_sys_exit;			/* anything recorded at exit */
	u32 max_path;				/* longest string kept */
	u8 sys_kind[EV_NR_SYSCALLS];		/* enum ev_sys_kind by number */
	u8 compat_kind[EV_NR_COMPAT_SYSCALLS];	/* the same, 32-bit numbers */
};

extern struct ev_config ev_cfg;

struct task_struct;
struct linux_binprm;
struct pt_regs;

/* Per-CPU counters by event type: emitted, and refused by the ring. */
struct ev_counts {
	u64 emitted[MPMCRING_EV_NR_TYPES];
	u64 dropped[MPMCRING_EV_NR_TYPES];
	/* Of those dropped: refused by a ring its owner destroyed. */
	u64 ring_gone;
};

/* params.c: the module parameters into ev_cfg, naming what is wrong. */
int ev_parse_params(void);
const char *ev_type_name(unsigned int type);
/* The ring the parameters ask for: created (ev_ring_created) or found. */
struct mpmcring *ev_get_ring(bool *created);
int ev_check_ring_fits(struct mpmcring *r);

/* probes.c */
int ev_probes_init(void);		/* per-CPU scratch for strings */
void ev_probes_exit(void);		/* after the probes are gone */
void ev_read_counts(struct ev_counts *sum);
void ev_probe_exec(void *data, struct task_struct *p, pid_t old_pid,
		   struct linux_binprm *bprm);
void ev_probe_fork(void *data, struct task_struct *parent,
		   struct task_struct *child);
void ev_probe_exit(void *data, struct task_struct *p);
void ev_probe_sys_exit(void *data, struct pt_regs *regs, long ret);

#endif /* _MPMCRING_EVENTS_H */
