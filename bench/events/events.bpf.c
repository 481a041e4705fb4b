// SPDX-License-Identifier: GPL-2.0-only
/*
 * The BPF side of the events race (make bench-events): the events of
 * mpmcring_events.ko (exec, fork, exit, open, connect, failed execve, any
 * syscall) taken on the same tracepoints, written in the same record layout
 * (<linux/mpmcring_events.h>) into a BPF ring buffer with reserve/submit,
 * or into a perf buffer with bpf_perf_event_output(), as BPF agents do.
 *
 * One object, five modes fixed at load time (read-only data, so the
 * verifier drops the others' code):
 *   EVB_RINGBUF        reserve/submit; a failed reservation is counted here
 *                      (the ring buffer has no drop counter of its own)
 *   EVB_RINGBUF_QUERY  the same, and before reserving, an event of a class
 *                      whose watermark bpf_ringbuf_query() says is crossed
 *                      is dropped here and counted: the best a BPF agent can
 *                      do for priorities, with mpmcring's watermarks
 *   EVB_PERF           bpf_perf_event_output() of the exact size from a
 *                      per-CPU scratch buffer; perf counts what it loses
 *   EVB_MPMCRING       mpmcring_bpf_output() of the exact size from the same
 *                      scratch buffer into an mpmcring ring (the module's
 *                      kfuncs), in the event's class; the ring counts what
 *                      it refuses, by reason and class
 *   EVB_MPMCRING_ADMIT the same, and before anything is spent on an event of
 *                      a class with a watermark, mpmcring_bpf_admit() asks
 *                      the ring whether it takes it (counted as a drop of
 *                      the ring when not): the query mode's policy, decided
 *                      by the ring's own watermark
 *
 * A ring buffer reservation has a size known to the verifier: events with
 * a string reserve room for the longest one (EVB_MAX_PATH) and say their
 * real size in the header, as BPF agents' fixed-size event structs do. The
 * module reserves each event's exact size.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* vmlinux.h has the kernel's types: keep the system's <linux/types.h> out. */
#define _LINUX_TYPES_H
#include <linux/mpmcring_events.h>

#include "mpmcring.bpf.h"
#include "evbench_bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 evb_mode = EVB_RINGBUF;
const volatile __u32 evb_catchall;
const volatile __u8 evb_sys_kind[EVB_NR_SYSCALLS]; /* enum evb_sys_kind by number */
const volatile __u8 evb_prio[MPMCRING_EV_NR_TYPES];
const volatile __u64 evb_rb_size;
const volatile __u64 evb_wm[EVB_NR_PRIO]; /* free bytes each class needs (query mode) */
const volatile __u64 evb_wake_bytes;	  /* ring buffer: wake the consumer only once this waits */
const volatile __u32 evb_ring_id;	  /* EVB_MPMCRING(_ADMIT): the ring's id */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096); /* the loader sets the size */
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} pb SEC(".maps");

/* An event with a string, as reserved: the fixed part, then the room. */
struct evb_exec {
	struct mpmcring_ev_exec e;
	char s[EVB_STR_ROOM];
};
struct evb_open {
	struct mpmcring_ev_open e;
	char s[EVB_STR_ROOM];
};
struct evb_execve {
	struct mpmcring_ev_execve e;
	char s[EVB_STR_ROOM];
};

union evb_scratch {
	struct evb_exec exec;
	struct evb_open open;
	struct evb_execve execve;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, union evb_scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct evb_counts);
} counts SEC(".maps");

static __always_inline void count(int what, __u16 type)
{
	__u32 zero = 0;
	struct evb_counts *c = bpf_map_lookup_elem(&counts, &zero);

	if (!c || type >= MPMCRING_EV_NR_TYPES)
		return;
	if (what == EVB_EMITTED)
		c->emitted[type]++;
	else if (what == EVB_DROPPED)
		c->dropped[type]++;
	else
		c->shed[type]++;
}

/*
 * Query and admit modes: false (counted) when the event's class must make
 * way, asked before anything is spent on the event, for the classes with
 * a watermark (critical events go straight on in both). Query mode asks
 * the BPF ring buffer how full it is; admit mode asks the mpmcring ring
 * whether it takes least bytes of the class now (mpmcring_bpf_admit():
 * the ring's own watermark, and it counts the refusal as a drop of the
 * ring; the program counts it as a refused output). least is the event's
 * size, or for an event with a string its fixed part: never more than
 * the record will be, or a record that fits could be refused.
 */
static __always_inline bool admit(__u16 type, __u32 least)
{
	__u32 prio = evb_prio[type & (MPMCRING_EV_NR_TYPES - 1)];
	__u64 wm, used;

	if ((evb_mode != EVB_RINGBUF_QUERY && evb_mode != EVB_MPMCRING_ADMIT) ||
	    prio >= EVB_NR_PRIO)
		return true;
	wm = evb_wm[prio];
	if (!wm)
		return true;
	if (evb_mode == EVB_MPMCRING_ADMIT) {
		if (!mpmcring_bpf_admit(evb_ring_id, least, prio))
			return true;
		count(EVB_DROPPED, type);
		return false;
	}
	used = bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA);
	if (used < evb_rb_size && evb_rb_size - used >= wm)
		return true;
	count(EVB_SHED, type);
	return false;
}

static __always_inline void fill_hdr(struct mpmcring_ev_hdr *h, __u16 type, __u32 size, __u8 flags)
{
	__u64 pt = bpf_get_current_pid_tgid();

	h->magic = MPMCRING_EV_MAGIC;
	h->type = type;
	h->size = size;
	h->version = MPMCRING_EV_VERSION;
	h->flags = flags;
	h->cpu = bpf_get_smp_processor_id();
	h->pid = (__u32)pt;
	h->ts_ns = bpf_ktime_get_ns();
	h->tgid = pt >> 32;
	h->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

/* Where an event is built: reserved in the ring (room bytes), or in the
 * scratch buffer; least: its size at least (admit mode). */
static __always_inline void *begin(__u16 type, __u32 room, __u32 least)
{
	__u32 zero = 0;
	void *e;

	if (!admit(type, least))
		return NULL;
	if (evb_mode == EVB_PERF || evb_mode == EVB_MPMCRING || evb_mode == EVB_MPMCRING_ADMIT)
		return bpf_map_lookup_elem(&scratch, &zero);
	e = bpf_ringbuf_reserve(&rb, room, 0);
	if (!e)
		count(EVB_DROPPED, type);
	return e;
}

/*
 * 0: the ring buffer's own adaptive wakeup (the consumer is woken when it
 * had caught up, so a consumer that keeps up is woken for every record).
 * With evb_wake_bytes, no wakeup until that many bytes wait, then a forced
 * one: the policy of mpmcring's watermark, as agents batch their wakeups.
 */
static __always_inline __u64 wake_flags(void)
{
	if (!evb_wake_bytes)
		return 0;
	return bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA) >= evb_wake_bytes ? BPF_RB_FORCE_WAKEUP
									   : BPF_RB_NO_WAKEUP;
}

static __always_inline void finish(void *ctx, void *e, __u16 type, __u32 size)
{
	if (evb_mode == EVB_MPMCRING || evb_mode == EVB_MPMCRING_ADMIT) {
		if (size > sizeof(union evb_scratch))
			size = sizeof(union evb_scratch);
		count(mpmcring_bpf_output(evb_ring_id, e, size,
					  evb_prio[type & (MPMCRING_EV_NR_TYPES - 1)])
			      ? EVB_DROPPED
			      : EVB_EMITTED,
		      type);
		return;
	}
	if (evb_mode == EVB_PERF) {
		if (size > sizeof(union evb_scratch))
			size = sizeof(union evb_scratch);
		count(bpf_perf_event_output(ctx, &pb, BPF_F_CURRENT_CPU, e, size) ? EVB_DROPPED
										  : EVB_EMITTED,
		      type);
		return;
	}
	bpf_ringbuf_submit(e, wake_flags());
	count(EVB_EMITTED, type);
}

/* A string's length after a read of EVB_MAX_PATH + 2 bytes returned n:
 * n counts the NUL, so n == EVB_MAX_PATH + 2 means a longer string. */
static __always_inline __u32 str_len(char *s, long n, __u8 *flags)
{
	if (n <= 0) {
		s[0] = 0;
		*flags |= MPMCRING_EVF_FAULT;
		return 0;
	}
	if (n > EVB_MAX_PATH + 1) {
		s[EVB_MAX_PATH] = 0;
		*flags |= MPMCRING_EVF_TRUNCATED;
		return EVB_MAX_PATH;
	}
	return n - 1;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(evb_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct evb_exec *x = begin(MPMCRING_EV_EXEC, sizeof(*x), sizeof(x->e));
	__u8 flags = 0;
	__u32 n;

	if (!x)
		return 0;
	n = str_len(x->s, bpf_probe_read_kernel_str(x->s, EVB_MAX_PATH + 2, bprm->filename),
		    &flags);
	x->e.old_pid = old_pid;
	x->e.filename.off = sizeof(x->e);
	x->e.filename.len = n;
	fill_hdr(&x->e.hdr, MPMCRING_EV_EXEC, sizeof(x->e) + n + 1, flags);
	finish(ctx, x, MPMCRING_EV_EXEC, sizeof(x->e) + n + 1);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(evb_fork, struct task_struct *parent, struct task_struct *child)
{
	struct mpmcring_ev_fork *e = begin(MPMCRING_EV_FORK, sizeof(*e), sizeof(*e));

	if (!e)
		return 0;
	fill_hdr(&e->hdr, MPMCRING_EV_FORK, sizeof(*e), 0);
	e->child_pid = child->pid;
	e->child_tgid = child->tgid;
	finish(ctx, e, MPMCRING_EV_FORK, sizeof(*e));
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(evb_exit, struct task_struct *p)
{
	struct mpmcring_ev_exit *e = begin(MPMCRING_EV_EXIT, sizeof(*e), sizeof(*e));

	if (!e)
		return 0;
	fill_hdr(&e->hdr, MPMCRING_EV_EXIT, sizeof(*e), 0);
	e->exit_code = p->exit_code;
	e->reserved = 0;
	finish(ctx, e, MPMCRING_EV_EXIT, sizeof(*e));
	return 0;
}

static __always_inline int emit_open(void *ctx, __u8 kind, long nr, long ret, struct pt_regs *regs)
{
	struct evb_open *x = begin(MPMCRING_EV_OPEN, sizeof(*x), sizeof(x->e));
	unsigned long path;
	__u8 flags = 0;
	__u32 n;

	if (!x)
		return 0;
	x->e.dirfd = -100; /* AT_FDCWD */
	x->e.mode = 0;
	if (kind == EVK_OPEN) {
		path = regs->di;
		x->e.flags = regs->si;
		x->e.mode = regs->dx;
	} else if (kind == EVK_CREAT) {
		path = regs->di;
		x->e.flags = 01101; /* O_CREAT | O_WRONLY | O_TRUNC */
		x->e.mode = regs->si;
	} else if (kind == EVK_OPENAT2) {
		__u64 how[2] = { 0, 0 };

		path = regs->si;
		x->e.dirfd = regs->di;
		if (regs->r10 < sizeof(how) ||
		    bpf_probe_read_user(how, sizeof(how), (void *)regs->dx))
			flags |= MPMCRING_EVF_FAULT;
		x->e.flags = how[0];
		x->e.mode = how[1];
	} else {
		path = regs->si;
		x->e.dirfd = regs->di;
		x->e.flags = regs->dx;
		x->e.mode = regs->r10;
	}
	n = str_len(x->s, bpf_probe_read_user_str(x->s, EVB_MAX_PATH + 2, (void *)path), &flags);
	x->e.ret = ret;
	x->e.nr = nr;
	x->e.path.off = sizeof(x->e);
	x->e.path.len = n;
	x->e.reserved = 0;
	fill_hdr(&x->e.hdr, MPMCRING_EV_OPEN, sizeof(x->e) + n + 1, flags);
	finish(ctx, x, MPMCRING_EV_OPEN, sizeof(x->e) + n + 1);
	return 0;
}

static __always_inline int emit_execve(void *ctx, __u8 kind, long nr, long ret,
				       struct pt_regs *regs)
{
	struct evb_execve *x;
	__u8 flags = 0;
	bool at = kind == EVK_EXECVEAT;
	__u32 n;

	if (ret >= 0) /* a successful exec is the exec event */
		return 0;
	x = begin(MPMCRING_EV_EXECVE, sizeof(*x), sizeof(x->e));
	if (!x)
		return 0;
	n = str_len(
		x->s,
		bpf_probe_read_user_str(x->s, EVB_MAX_PATH + 2, (void *)(at ? regs->si : regs->di)),
		&flags);
	x->e.ret = ret;
	x->e.nr = nr;
	x->e.dirfd = at ? (int)regs->di : -100;
	x->e.flags = at ? (__u32)regs->r8 : 0;
	x->e.filename.off = sizeof(x->e);
	x->e.filename.len = n;
	fill_hdr(&x->e.hdr, MPMCRING_EV_EXECVE, sizeof(x->e) + n + 1, flags);
	finish(ctx, x, MPMCRING_EV_EXECVE, sizeof(x->e) + n + 1);
	return 0;
}

static __always_inline int emit_connect(void *ctx, long nr, long ret, struct pt_regs *regs)
{
	struct mpmcring_ev_connect *e;
	struct {
		__u16 family;
		__u16 port;
		__u32 flowinfo_or_v4;
		__u8 v6[16];
		__u32 scope;
	} sa = {};
	__u32 addrlen = regs->dx, len = addrlen;
	__u8 flags = 0;

	/* The caller's length: clamped to what is read. */
	if (len > sizeof(sa))
		len = sizeof(sa);
	if (len >= 2 && bpf_probe_read_user(&sa, len & 31, (void *)regs->si)) {
		__builtin_memset(&sa, 0, sizeof(sa));
		flags |= MPMCRING_EVF_FAULT;
	}
	e = begin(MPMCRING_EV_CONNECT, sizeof(*e), sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, MPMCRING_EV_CONNECT, sizeof(*e), flags);
	e->ret = ret;
	e->nr = nr;
	e->fd = regs->di;
	e->family = sa.family;
	e->addrlen = addrlen;
	e->port = 0;
	__builtin_memset(e->addr, 0, sizeof(e->addr));
	if (sa.family == 2 /* AF_INET */ && addrlen >= 16) {
		e->port = __builtin_bswap16(sa.port);
		__builtin_memcpy(e->addr, &sa.flowinfo_or_v4, 4);
	} else if (sa.family == 10 /* AF_INET6 */ && addrlen >= 24) {
		e->port = __builtin_bswap16(sa.port);
		__builtin_memcpy(e->addr, sa.v6, 16);
	}
	finish(ctx, e, MPMCRING_EV_CONNECT, sizeof(*e));
	return 0;
}

static __always_inline int emit_syscall(void *ctx, long nr, long ret, __u8 flags)
{
	struct mpmcring_ev_syscall *e = begin(MPMCRING_EV_SYSCALL, sizeof(*e), sizeof(*e));

	if (!e)
		return 0;
	fill_hdr(&e->hdr, MPMCRING_EV_SYSCALL, sizeof(*e), flags);
	e->ret = ret;
	e->nr = nr;
	e->reserved = 0;
	finish(ctx, e, MPMCRING_EV_SYSCALL, sizeof(*e));
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(evb_sys_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *t = bpf_get_current_task_btf();
	long nr = regs->orig_ax;
	bool compat = t->thread_info.status & 0x2; /* TS_COMPAT */
	__u8 kind = EVK_NONE;

	if (nr < 0)
		return 0;
	if (!compat && nr < EVB_NR_SYSCALLS)
		kind = evb_sys_kind[nr];
	switch (kind) {
	case EVK_NONE:
		if (evb_catchall)
			emit_syscall(ctx, nr, ret, compat ? MPMCRING_EVF_COMPAT : 0);
		return 0;
	case EVK_EXECVE:
	case EVK_EXECVEAT:
		return emit_execve(ctx, kind, nr, ret, regs);
	case EVK_GENERIC:
		return emit_syscall(ctx, nr, ret, 0);
	case EVK_CONNECT:
		return emit_connect(ctx, nr, ret, regs);
	default:
		return emit_open(ctx, kind, nr, ret, regs);
	}
}
