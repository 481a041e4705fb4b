// SPDX-License-Identifier: GPL-2.0-only
/*
 * The tracepoint probes: each turns one kernel event into one record.
 *
 * Probes run in the context of the task the event is about, never from an
 * interrupt. 6.1 and 6.12 call them with preemption disabled; kernels whose
 * syscall tracepoints may fault (raw_syscalls probes under tasks-trace RCU,
 * preemptible) call the sys_exit probe with preemption on, so the probe
 * that uses the per-CPU scratch buffer disables it itself.
 * User memory is read only with the _nofault helpers and before a
 * reservation is made, so that nothing slow sits between reserve and
 * commit. Events are built outside the ring, small ones on the stack and
 * those with a string in a per-CPU scratch buffer (a path is more than a
 * probe's stack should hold, and a user string's length is known only once
 * it is copied), then copied in by mpmcring_output(), which reserves,
 * copies and commits without the per-context count a reservation left open
 * across its caller's writes needs (bench/RESULTS.md, "Where an event's
 * instructions go"). The catch-all syscall event alone is written in place:
 * a flood of it is mostly refused, and reserving first refuses before its
 * header is built. The scratch buffer is safe to share per CPU: with
 * preemption off, and no probe here fired from an interrupt, one probe at a
 * time runs on a CPU.
 */
#include <linux/binfmts.h>
#include <linux/compat.h>
#include <linux/cred.h>
#include <linux/fcntl.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/mm.h>
#include <linux/net.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/signal.h>
#include <linux/socket.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/uidgid.h>
#include <asm/syscall.h>

#include "events.h"
#include "strings.h"

/*
 * User strings are read this many bytes at a time (at most), into the
 * stack: a multiple of the word size.
 */
#define EV_STR_CHUNK	64

static DEFINE_PER_CPU(struct ev_counts, ev_counts);

/* Room for the largest event with a string, the string and two bytes more. */
static void __percpu *ev_scratch;
static size_t ev_scratch_size;

/**
 * ev_probes_init() - allocate what the probes need
 *
 * Return: 0 or -ENOMEM.
 */
int ev_probes_init(void)
{
	/* The uapi layout: no hidden padding, sizes every decoder checks. */
	BUILD_BUG_ON(sizeof(struct mpmcring_ev_hdr) != 48);
	BUILD_BUG_ON(sizeof(struct mpmcring_ev_exec) != 56);
	BUILD_BUG_ON(sizeof(struct mpmcring_ev_fork) != 56);
	BUILD_BUG_ON(sizeof(struct mpmcring_ev_exit) != 56);
	BUILD_BUG_ON(sizeof(struct mpmcring_ev_open) != 80);
	BUILD_BUG_ON(sizeof(struct mpmcring_ev_connect) != 88);
	BUILD_BUG_ON(sizeof(struct mpmcring_ev_execve) != 72);
	BUILD_BUG_ON(sizeof(struct mpmcring_ev_syscall) != 64);
	/* The scratch buffer is sized for the largest event with a string. */
	BUILD_BUG_ON(sizeof(struct mpmcring_ev_execve) >
		     sizeof(struct mpmcring_ev_open));
	BUILD_BUG_ON(sizeof(struct mpmcring_ev_exec) >
		     sizeof(struct mpmcring_ev_open));
	/* Event sizes and string lengths are 16-bit. */
	BUILD_BUG_ON(sizeof(struct mpmcring_ev_open) + EV_MAX_PATH_LIMIT + 2 >
		     U16_MAX);
	ev_scratch_size = sizeof(struct mpmcring_ev_open) + ev_cfg.max_path + 2;
	ev_scratch = __alloc_percpu(ev_scratch_size, 8);
	return ev_scratch ? 0 : -ENOMEM;
}

/**
 * ev_probes_exit() - free it; only once no probe can run any more
 */
void ev_probes_exit(void)
{
	free_percpu(ev_scratch);
	ev_scratch = NULL;
}

/**
 * ev_read_counts() - the per-type counters, summed over CPUs
 * @sum: filled
 */
void ev_read_counts(struct ev_counts *sum)
{
	int cpu, t;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		const struct ev_counts *c = per_cpu_ptr(&ev_counts, cpu);

		for (t = 0; t < MPMCRING_EV_NR_TYPES; t++) {
			sum->emitted[t] += READ_ONCE(c->emitted[t]);
			sum->dropped[t] += READ_ONCE(c->dropped[t]);
		}
		sum->ring_gone += READ_ONCE(c->ring_gone);
	}
}

static void ev_fill_hdr(struct mpmcring_ev_hdr *h, u16 type, u32 size, u8 flags)
{
	struct task_struct *t = current;

	h->magic = MPMCRING_EV_MAGIC;
	h->type = type;
	h->size = size;
	h->version = MPMCRING_EV_VERSION;
	h->flags = flags;
	h->cpu = raw_smp_processor_id();
	h->pid = t->pid;
	h->ts_ns = ktime_get_mono_fast_ns();
	h->tgid = t->tgid;
	h->uid = from_kuid_munged(&init_user_ns, current_uid());
	/* As bpf_get_current_comm(): no task_lock, a sleeping lock on RT. */
	strscpy_pad(h->comm, t->comm, sizeof(h->comm));
}

static void ev_counted(u16 type, int err)
{
	if (!err) {
		this_cpu_inc(ev_counts.emitted[type]);
		return;
	}
	this_cpu_inc(ev_counts.dropped[type]);
	/*
	 * The ring's owner destroyed it (create=0): every event from now on
	 * is refused. Said once, and counted apart, so that it is not taken
	 * for an overloaded ring.
	 */
	if (unlikely(err == -EPIPE)) {
		this_cpu_inc(ev_counts.ring_gone);
		pr_warn_once("mpmcring_events: ring %s was destroyed by its owner: every event is refused from now on (counted as dropped); unload this module\n",
			     mpmcring_layout(ev_cfg.ring)->name);
	}
}

/* Reserves a fixed-size event in place; NULL (counted) when refused. */
static void *ev_reserve(u16 type, u32 size, u8 flags, struct mpmcring_rsv *rsv)
{
	int err = mpmcring_reserve(ev_cfg.ring, size,
				   MPMCRING_F_PRIO(ev_cfg.prio[type]), rsv);

	if (err) {
		ev_counted(type, err);
		return NULL;
	}
	ev_fill_hdr(rsv->data, type, size, flags);
	return rsv->data;
}

static void ev_commit(u16 type, struct mpmcring_rsv *rsv)
{
	mpmcring_commit(rsv);
	ev_counted(type, 0);
}

/*
 * Fills the header of an event built outside the ring (on the stack or in
 * the scratch buffer), of size bytes in all, and copies it in: the header
 * says the size sent, by construction. h is the start of the whole event
 * (the header is every event's first member); size bytes from it are sent.
 * Call with preemption off: the scratch buffer is one CPU's, and the
 * header's cpu must be the CPU that reserves.
 */
static void ev_send(struct mpmcring_ev_hdr *h, u16 type, u32 size, u8 flags)
{
	ev_fill_hdr(h, type, size, flags);
	ev_counted(type, mpmcring_output(ev_cfg.ring, h, size,
					 MPMCRING_F_PRIO(ev_cfg.prio[type])));
}

/*
 * Copies a user string into dst, which has room for max_path + 2 bytes;
 * returns its length, at most max_path, NUL-terminated. Reading max_path + 1
 * bytes tells a string of exactly max_path bytes (kept) from a longer one
 * (cut, flagged). The kernel exports no nofault string copy to modules, so
 * this reads with copy_from_user_nofault() in chunks that never cross a
 * page: a fault then means that the string itself runs into memory that
 * cannot be read now, and what came before it is kept, flagged.
 *
 * Each chunk is read into the stack, then copied to dst: hardened usercopy
 * passes a stack object after a bounds check, where the per-CPU dst costs
 * it a walk to the page behind it (about 120 instructions an event, by
 * bench/tcgprof's count; a 64-byte copy is a tenth of that).
 */
static u16 ev_user_str(char *dst, unsigned long uaddr, u8 *flags)
{
	unsigned long chunk[EV_STR_CHUNK / sizeof(unsigned long)];
	u32 want = ev_cfg.max_path + 1, got = 0, len;

	while (got < want) {
		unsigned long at = uaddr + got;
		u32 n = min3(want - got, (u32)sizeof(chunk),
			     (u32)(PAGE_SIZE - offset_in_page(at)));

		if (copy_from_user_nofault(chunk, (const void __user *)at, n)) {
			dst[got] = 0;
			*flags |= MPMCRING_EVF_FAULT;
			return got;
		}
		len = ev_nul_at(chunk, n);
		memcpy(dst + got, chunk, len);
		if (len < n) {
			dst[got + len] = 0;
			return got + len;
		}
		got += n;
	}
	dst[ev_cfg.max_path] = 0;
	*flags |= MPMCRING_EVF_TRUNCATED;
	return ev_cfg.max_path;
}

/**
 * ev_probe_exec() - sched_process_exec: the task runs a new program
 * @data: unused
 * @p: the task (current)
 * @old_pid: its thread id before exec
 * @bprm: the exec; its file name is kernel memory
 */
void ev_probe_exec(void *data, struct task_struct *p, pid_t old_pid,
		   struct linux_binprm *bprm)
{
	struct mpmcring_ev_exec *ev;
	u32 cap = ev_cfg.max_path;
	size_t n = strnlen(bprm->filename, cap + 1);
	u8 flags = 0;
	u32 size;

	if (n > cap) {
		n = cap;
		flags |= MPMCRING_EVF_TRUNCATED;
	}
	size = sizeof(*ev) + n + 1;
	/* The per-CPU scratch buffer: one user at a time per CPU. */
	preempt_disable_notrace();
	ev = this_cpu_ptr(ev_scratch);
	ev->old_pid = old_pid;
	ev->filename.off = sizeof(*ev);
	ev->filename.len = n;
	memcpy(ev + 1, bprm->filename, n);
	((char *)(ev + 1))[n] = 0;
	ev_send(&ev->hdr, MPMCRING_EV_EXEC, size, flags);
	preempt_enable_notrace();
}

/**
 * ev_probe_fork() - sched_process_fork: current created child
 * @data: unused
 * @parent: the creating task (current)
 * @child: the new task
 */
void ev_probe_fork(void *data, struct task_struct *parent,
		   struct task_struct *child)
{
	struct mpmcring_ev_fork ev;

	ev.child_pid = child->pid;
	ev.child_tgid = child->tgid;
	ev_send(&ev.hdr, MPMCRING_EV_FORK, sizeof(ev), 0);
}

/**
 * ev_probe_exit() - sched_process_exit: the task exits
 * @data: unused
 * @p: the task (current)
 */
void ev_probe_exit(void *data, struct task_struct *p)
{
	struct mpmcring_ev_exit ev;
	u8 flags = 0;

	ev.exit_code = p->exit_code;
	ev.reserved = 0;
	/*
	 * do_exit() took this thread off signal->live before the
	 * tracepoint: none left is the end of the process (as group_dead).
	 * SIGNAL_GROUP_EXIT and the group's status are set by then
	 * (synchronize_group_exit(), by the thread that ended the quick
	 * threads): wait(2) reports that status, whichever thread leaves
	 * last (an io_uring worker leaves with its own 0).
	 */
	if (!atomic_read(&p->signal->live)) {
		flags = MPMCRING_EVF_GROUP_DEAD;
		if (READ_ONCE(p->signal->flags) & SIGNAL_GROUP_EXIT)
			ev.exit_code = READ_ONCE(p->signal->group_exit_code);
	}
	ev_send(&ev.hdr, MPMCRING_EV_EXIT, sizeof(ev), flags);
}

/*
 * Whether the failed exec kills the task. Past its point of no return an
 * exec has replaced the caller's memory, so a failure there (the new
 * image could not be set up) cannot return to the caller: fs/exec.c
 * forces SIGSEGV (default action, unblocked), unless a fatal signal was
 * already pending. Either way, the caller's memory may be the new
 * program's. Lockless looks at the task's own signal state, about to be
 * acted on as it returns (siglock is a sleeping lock on PREEMPT_RT, and
 * this probe may run with preemption off). It cannot tell a SIGSEGV the
 * exec forced from one sent otherwise (a tracer's, which the tracer may
 * then cancel): such an exec is flagged too, its name not read, as the
 * uapi says; a wrong answer costs a file name, never a forged one.
 */
static bool ev_exec_kills(void)
{
	struct task_struct *t = current;
	/* Only the task itself replaces its sighand (at exec). */
	struct sighand_struct *sh = rcu_dereference_protected(t->sighand, 1);

	/* data_race: another task may send a signal meanwhile; see above. */
	return data_race(fatal_signal_pending(t) ||
			 (sigismember(&t->pending.signal, SIGSEGV) &&
			  !sigismember(&t->blocked, SIGSEGV) &&
			  sh->action[SIGSEGV - 1].sa.sa_handler == SIG_DFL));
}

/*
 * execve and execveat that failed, at exit: the file name is still in the
 * caller's memory, just read by the kernel. At entry it may not be: a page
 * a forked child has not touched yet has no page-table entry, and a nofault
 * read cannot fault it in. A successful exec is the exec event. One that
 * kills the task is read nothing from: whoever wrote the binary chose what
 * the name's address holds in its memory (uapi: MPMCRING_EVF_KILLED).
 */
static void ev_execve(u8 kind, long nr, long ret, const unsigned long *args,
		      u8 flags)
{
	struct mpmcring_ev_execve *ev = this_cpu_ptr(ev_scratch);
	bool at = kind == EVK_EXECVEAT;
	u16 n = 0;

	if (ev_exec_kills()) {
		flags |= MPMCRING_EVF_KILLED;
		((char *)(ev + 1))[0] = 0;
	} else {
		n = ev_user_str((char *)(ev + 1), at ? args[1] : args[0],
				&flags);
	}
	ev->ret = ret;
	ev->nr = nr;
	ev->dirfd = at ? (int)args[0] : AT_FDCWD;
	ev->flags = at ? (u32)args[4] : 0;
	ev->filename.off = sizeof(*ev);
	ev->filename.len = n;
	ev_send(&ev->hdr, MPMCRING_EV_EXECVE, sizeof(*ev) + n + 1, flags);
}

/* open, openat, openat2, creat, at exit: the path is still in place. */
static void ev_open(u8 kind, long nr, long ret, const unsigned long *args,
		    u8 flags)
{
	struct mpmcring_ev_open *ev = this_cpu_ptr(ev_scratch);
	unsigned long path;
	u16 n;

	ev->dirfd = AT_FDCWD;
	ev->mode = 0;
	switch (kind) {
	case EVK_OPEN:
		path = args[0];
		ev->flags = args[1];
		ev->mode = args[2];
		break;
	case EVK_CREAT:
		path = args[0];
		ev->flags = O_CREAT | O_WRONLY | O_TRUNC;
		ev->mode = args[1];
		break;
	case EVK_OPENAT2: {
		/* struct open_how's first version: flags, mode, resolve */
		u64 how[3] = { 0, 0, 0 };

		BUILD_BUG_ON(sizeof(how) != OPEN_HOW_SIZE_VER0);
		path = args[1];
		ev->dirfd = (int)args[0];
		/*
		 * args[3] is the caller's size. The kernel reads the struct
		 * only for a size from its first version to a page (EINVAL
		 * under, E2BIG over): outside that, flags and mode stay 0
		 * and nothing faulted. Inside, the first version is what is
		 * read (the kernel also reads the rest, which must be 0).
		 */
		if (args[3] >= OPEN_HOW_SIZE_VER0 && args[3] <= PAGE_SIZE &&
		    copy_from_user_nofault(how, (const void __user *)args[2],
					   sizeof(how)))
			flags |= MPMCRING_EVF_FAULT;
		ev->flags = how[0];
		ev->mode = how[1];
		break;
	}
	default:		/* EVK_OPENAT */
		path = args[1];
		ev->dirfd = (int)args[0];
		ev->flags = args[2];
		ev->mode = args[3];
		break;
	}
	n = ev_user_str((char *)(ev + 1), path, &flags);
	ev->ret = ret;
	ev->nr = nr;
	ev->path.off = sizeof(*ev);
	ev->path.len = n;
	ev->reserved = 0;
	ev_send(&ev->hdr, MPMCRING_EV_OPEN, sizeof(*ev) + n + 1, flags);
}

/* connect, at exit: the address the caller gave, read before reserving. */
static void ev_connect(long nr, long ret, const unsigned long *args, u8 flags)
{
	struct sockaddr_in6 sa = { };	/* the largest the record keeps */
	struct mpmcring_ev_connect ev;
	u32 addrlen = args[2];

	/*
	 * addrlen is the caller's: clamped to the buffer, never trusted, and
	 * nothing read where the kernel read nothing (move_addr_to_kernel():
	 * EINVAL for a length under 0 or over a sockaddr_storage; EBADF comes
	 * before it; an x32 number's ENOSYS: it never ran, x32 is off. Not
	 * every ENOSYS: a cgroup BPF program or an LSM may answer a connect
	 * with it after the address was read. Where x32 is on, such an
	 * answer to an x32 connect loses its address here: whether x32 is
	 * on is not exported to modules).
	 */
	if (ret != -EBADF &&
	    !(ret == -ENOSYS && (flags & MPMCRING_EVF_X32)) &&
	    addrlen >= sizeof(sa.sin6_family) &&
	    addrlen <= sizeof(struct sockaddr_storage) &&
	    copy_from_user_nofault(&sa, (const void __user *)args[1],
				   min_t(u32, addrlen, sizeof(sa)))) {
		memset(&sa, 0, sizeof(sa));
		flags |= MPMCRING_EVF_FAULT;
	}
	ev.ret = ret;
	ev.nr = nr;
	ev.fd = (int)args[0];
	ev.family = sa.sin6_family;
	ev.addrlen = addrlen;
	ev.port = 0;
	memset(ev.addr, 0, sizeof(ev.addr));
	if (sa.sin6_family == AF_INET &&
	    addrlen >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const void *)&sa;

		ev.port = ntohs(in->sin_port);
		memcpy(ev.addr, &in->sin_addr, sizeof(in->sin_addr));
	} else if (sa.sin6_family == AF_INET6 &&
		   addrlen >= offsetofend(struct sockaddr_in6, sin6_addr)) {
		ev.port = ntohs(sa.sin6_port);
		memcpy(ev.addr, &sa.sin6_addr, sizeof(sa.sin6_addr));
	}
	/* On one CPU from its header's cpu to its reservation. */
	preempt_disable_notrace();
	ev_send(&ev.hdr, MPMCRING_EV_CONNECT, sizeof(ev), flags);
	preempt_enable_notrace();
}

/* Not inlined: its reservation's frame would give the probe a stack canary. */
static noinline void ev_syscall(long nr, long ret, u8 flags)
{
	struct mpmcring_ev_syscall *ev;
	struct mpmcring_rsv rsv;

	ev = ev_reserve(MPMCRING_EV_SYSCALL, sizeof(*ev), flags, &rsv);
	if (!ev)
		return;
	ev->ret = ret;
	ev->nr = nr;
	ev->reserved = 0;
	ev_commit(MPMCRING_EV_SYSCALL, &rsv);
}

/*
 * ia32 socketcall(call, args): a connect when call is SYS_CONNECT, its
 * three arguments 32-bit words in the caller's memory (read without
 * faulting; the kernel just read them). False for any other call.
 */
static bool ev_socketcall_connect(unsigned long *args, u8 *flags)
{
	u32 a[3];

	if (args[0] != SYS_CONNECT)
		return false;
	if (copy_from_user_nofault(a, (const void __user *)args[1],
				   sizeof(a))) {
		memset(a, 0, sizeof(a));
		*flags |= MPMCRING_EVF_FAULT;
	}
	args[0] = a[0];
	args[1] = a[1];
	args[2] = a[2];
	return true;
}

/*
 * The configured syscall kind at exit, from its arguments. A frame of its
 * own: the arguments' array is zeroed on entry (the kernel initialises
 * stack variables) and the frame has a stack canary, costs the probe's
 * every other syscall need not pay (bench/tcgprof: about 20 instructions
 * each).
 */
static noinline void ev_record_args(u8 kind, long nr, long ret,
				    struct pt_regs *regs, u8 flags)
{
	unsigned long args[6];
	unsigned int i;

	syscall_get_arguments(current, regs, args);
	/*
	 * A 32-bit syscall's arguments are 32-bit: the upper halves of the
	 * registers are not the caller's (int $0x80 from a 64-bit task leaves
	 * whatever was there), and the kernel ignores them too.
	 */
	if (flags & MPMCRING_EVF_COMPAT)
		for (i = 0; i < ARRAY_SIZE(args); i++)
			args[i] = (u32)args[i];
	if (kind == EVK_SOCKETCALL) {
		if (!ev_socketcall_connect(args, &flags)) {
			if (ev_cfg.catchall)
				ev_syscall(nr, ret, flags);
			return;
		}
		kind = EVK_CONNECT;
	}
	switch (kind) {
	case EVK_CONNECT:
		ev_connect(nr, ret, args, flags);
		return;
	case EVK_EXECVE:
	case EVK_EXECVEAT:
		/* The per-CPU scratch buffer: one user at a time per CPU. */
		preempt_disable_notrace();
		ev_execve(kind, nr, ret, args, flags);
		preempt_enable_notrace();
		return;
	default:
		preempt_disable_notrace();
		ev_open(kind, nr, ret, args, flags);
		preempt_enable_notrace();
		return;
	}
}

/*
 * x86-64's x32 numbers: the native table's with __X32_SYSCALL_BIT, and
 * 512-547 for the syscalls x32 enters through compat code (execve 520,
 * execveat 545, ioctl 514, ...). Any 64-bit task can make them, x32
 * enabled or not (then they fail with ENOSYS), so every one is looked up
 * as the native syscall it runs: a task must not open, connect or make a
 * syscall asked for by number unseen by numbering it the x32 way. Records
 * of them are flagged MPMCRING_EVF_X32 and keep the number as made; their
 * arguments are 64-bit registers, as native ones. An ia32 syscall with
 * the bit set is the compat table's (out of its range).
 */
#ifdef CONFIG_X86_64
static __always_inline bool ev_x32_call(long nr)
{
	return (nr & __X32_SYSCALL_BIT) && !in_ia32_syscall();
}

/*
 * A 32-bit task's syscall. Not in_compat_syscall(), which takes a number
 * with the x32 bit for an x32 call: every negative number has it.
 */
static __always_inline bool ev_ia32_call(void)
{
	return in_ia32_syscall();
}

/* x32's own numbers (512-547, unistd_64_x32.h) and the syscalls they run. */
static const struct {
	u16 x32, nr;
} ev_x32_own[] = {
	{ __NR_x32_rt_sigaction, __NR_rt_sigaction },
	{ __NR_x32_rt_sigreturn, __NR_rt_sigreturn },
	{ __NR_x32_ioctl, __NR_ioctl },
	{ __NR_x32_readv, __NR_readv },
	{ __NR_x32_writev, __NR_writev },
	{ __NR_x32_recvfrom, __NR_recvfrom },
	{ __NR_x32_sendmsg, __NR_sendmsg },
	{ __NR_x32_recvmsg, __NR_recvmsg },
	{ __NR_x32_execve, __NR_execve },
	{ __NR_x32_ptrace, __NR_ptrace },
	{ __NR_x32_rt_sigpending, __NR_rt_sigpending },
	{ __NR_x32_rt_sigtimedwait, __NR_rt_sigtimedwait },
	{ __NR_x32_rt_sigqueueinfo, __NR_rt_sigqueueinfo },
	{ __NR_x32_sigaltstack, __NR_sigaltstack },
	{ __NR_x32_timer_create, __NR_timer_create },
	{ __NR_x32_mq_notify, __NR_mq_notify },
	{ __NR_x32_kexec_load, __NR_kexec_load },
	{ __NR_x32_waitid, __NR_waitid },
	{ __NR_x32_set_robust_list, __NR_set_robust_list },
	{ __NR_x32_get_robust_list, __NR_get_robust_list },
	{ __NR_x32_vmsplice, __NR_vmsplice },
	{ __NR_x32_move_pages, __NR_move_pages },
	{ __NR_x32_preadv, __NR_preadv },
	{ __NR_x32_pwritev, __NR_pwritev },
	{ __NR_x32_rt_tgsigqueueinfo, __NR_rt_tgsigqueueinfo },
	{ __NR_x32_recvmmsg, __NR_recvmmsg },
	{ __NR_x32_sendmmsg, __NR_sendmmsg },
	{ __NR_x32_process_vm_readv, __NR_process_vm_readv },
	{ __NR_x32_process_vm_writev, __NR_process_vm_writev },
	{ __NR_x32_setsockopt, __NR_setsockopt },
	{ __NR_x32_getsockopt, __NR_getsockopt },
	{ __NR_x32_io_setup, __NR_io_setup },
	{ __NR_x32_io_submit, __NR_io_submit },
	{ __NR_x32_execveat, __NR_execveat },
	{ __NR_x32_preadv2, __NR_preadv2 },
	{ __NR_x32_pwritev2, __NR_pwritev2 },
};

/* The native table's number for x32 number @nr, or -1 when it has none. */
static long ev_x32_native(long nr)
{
	long n = nr & ~(long)__X32_SYSCALL_BIT;
	unsigned int i;

	BUILD_BUG_ON(ARRAY_SIZE(ev_x32_own) !=
		     __NR_x32_pwritev2 - __NR_x32_rt_sigaction + 1);
	if (n >= __NR_x32_rt_sigaction && n <= __NR_x32_pwritev2) {
		for (i = 0; i < ARRAY_SIZE(ev_x32_own); i++)	/* 36 */
			if (ev_x32_own[i].x32 == n)
				return ev_x32_own[i].nr;
		return -1;
	}
	return n < EV_NR_SYSCALLS ? n : -1;
}
#else
static __always_inline bool ev_x32_call(long nr)
{
	return false;
}

static __always_inline bool ev_ia32_call(void)
{
	return in_compat_syscall();
}

static long ev_x32_native(long nr)
{
	return -1;
}
#endif

/**
 * ev_probe_sys_exit() - raw_syscalls:sys_exit: the configured syscalls
 *	and, with catchall, every other one
 * @data: unused
 * @regs: the task's registers; the arguments are still in them
 * @ret: the return value
 */
void ev_probe_sys_exit(void *data, struct pt_regs *regs, long ret)
{
	long nr = syscall_get_nr(current, regs);
	u8 kind, flags = 0;

	/*
	 * -1: no syscall number to give. A tracer's skip; and every
	 * rt_sigreturn (x86, arm64) and a uretprobe's return (x86) set it,
	 * having run. Recorded by none, as before.
	 */
	if (nr == -1)
		return;
	/*
	 * No syscall has a number below 0, but the task (or a tracer) asked
	 * for it: the catch-all's. Before the x32 look: its bit is set in
	 * every negative number, and its tables are indexed by what is left.
	 */
	if (unlikely(nr < 0)) {
		if (ev_cfg.catchall)
			ev_syscall(nr, ret, ev_ia32_call() ?
				   MPMCRING_EVF_COMPAT : 0);
		return;
	}
	if (unlikely(ev_x32_call(nr))) {
		long n = ev_x32_native(nr);

		flags = MPMCRING_EVF_X32;
		kind = n >= 0 ? ev_cfg.sys_kind[n] : EVK_NONE;
	} else if (!in_compat_syscall()) {
		kind = nr < EV_NR_SYSCALLS ? ev_cfg.sys_kind[nr] : EVK_NONE;
	} else {
		flags = MPMCRING_EVF_COMPAT;
		kind = EV_COMPAT_IA32 && nr < EV_NR_COMPAT_SYSCALLS ?
		       ev_cfg.compat_kind[nr] : EVK_NONE;
	}
	if (kind == EVK_NONE || kind == EVK_GENERIC) {
		if (kind == EVK_GENERIC || ev_cfg.catchall)
			ev_syscall(nr, ret, flags);
		return;
	}
	/* After a successful exec the registers are the new program's. */
	if ((kind == EVK_EXECVE || kind == EVK_EXECVEAT) && ret >= 0)
		return;
	ev_record_args(kind, nr, ret, regs, flags);
}
