// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring_events module parameters: which events, which syscalls, which
 * priority class each type gets, and the ring. Every one is checked before
 * anything is registered; a bad one fails insmod with EINVAL and a line
 * naming it.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "events.h"

static char *ring = "events";
static bool create = true;
static unsigned long long size = 4 << 20;
static unsigned int wm_low_pct = 50;
static unsigned int wm_normal_pct = 12;
static char *proc = "exec,fork,exit";
static char *syscalls = "open,openat,openat2,creat,connect,execve,execveat";
static bool catchall;
static char *prio = "";
static unsigned int max_path = 256;
static unsigned int chunk_bytes;

/*
 * The last of size, wm_low_pct and wm_normal_pct given, or NULL: they set
 * up the ring this module creates, and create=0 refuses them rather than
 * leave them unused.
 */
static const char *ev_ring_param_given;

/* size= takes a byte count with an optional K, M or G suffix. */
static int ev_param_set_size(const char *val, const struct kernel_param *kp)
{
	char *end;
	unsigned long long v = memparse(val, &end);

	if (end == val || (*end && *end != '\n'))
		return -EINVAL;
	*(unsigned long long *)kp->arg = v;
	ev_ring_param_given = kp->name;
	return 0;
}

static int ev_param_get_size(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%llu\n", *(unsigned long long *)kp->arg);
}

static const struct kernel_param_ops ev_size_ops = {
	.set = ev_param_set_size,
	.get = ev_param_get_size,
};

static int ev_param_set_ring_uint(const char *val,
				  const struct kernel_param *kp)
{
	int err = param_set_uint(val, kp);

	if (!err)
		ev_ring_param_given = kp->name;
	return err;
}

static const struct kernel_param_ops ev_ring_uint_ops = {
	.set = ev_param_set_ring_uint,
	.get = param_get_uint,
};

module_param(ring, charp, 0444);
MODULE_PARM_DESC(ring, "ring to write into: created as /dev/mpmcring-NAME (create=1), or an existing one by name (\"default\": /dev/mpmcring) (default events)");
module_param(create, bool, 0444);
MODULE_PARM_DESC(create, "create the ring (size, wm_*_pct) and destroy it on unload (default 1)");
module_param_cb(size, &ev_size_ops, &size, 0444);
MODULE_PARM_DESC(size, "data bytes of a created ring: power of two, 4K to 1G (default 4M)");
module_param_cb(wm_low_pct, &ev_ring_uint_ops, &wm_low_pct, 0444);
MODULE_PARM_DESC(wm_low_pct, "created ring: percent that must stay free to admit a low-priority event (default 50)");
module_param_cb(wm_normal_pct, &ev_ring_uint_ops, &wm_normal_pct, 0444);
MODULE_PARM_DESC(wm_normal_pct, "created ring: percent that must stay free for a normal one (default 12)");
module_param(proc, charp, 0444);
MODULE_PARM_DESC(proc, "process events: a list of exec, fork, exit, or none (default exec,fork,exit; with no process event, no syscall and no catchall=1 there is nothing to record, and the load is refused)");
module_param(syscalls, charp, 0444);
MODULE_PARM_DESC(syscalls, "syscalls recorded with their own record (open, openat, openat2, creat, connect, execve, execveat; 32-bit ones too; one the architecture lacks, such as open on arm64, records nothing) or, by native number, as syscall records; none for no syscall (default: all the named ones; with none here, no process event and no catchall=1, the load is refused)");
module_param(catchall, bool, 0444);
MODULE_PARM_DESC(catchall, "record every other syscall as a syscall record (default 0; catchall=1 alone is something to record)");
module_param(prio, charp, 0444);
MODULE_PARM_DESC(prio, "priority classes by type, e.g. open=low,syscall=normal (classes low, normal, critical; default exec, fork, exit critical; open, connect, execve normal: any user can loop those; syscall low)");
module_param(chunk_bytes, uint, 0444);
MODULE_PARM_DESC(chunk_bytes, "created ring: chunked reservation, each CPU takes this many bytes of the ring at once while it is filled below wm_low_pct (events alone above it; capped to a quarter of the ring over every possible CPU's four interrupt levels and to a quarter of the ring below wm_low_pct; mpmcring stat shows the size it got), for many CPUs producing at once; events then in order per CPU only (a task's fork and exit may come in either order), and claimable up to a tick (100 ms) late (default 0: off)");
module_param(max_path, uint, 0444);
MODULE_PARM_DESC(max_path, "longest file name or path kept, bytes; longer ones are cut and flagged (default 256, 1-4000)");

struct ev_config ev_cfg;

static const char *const ev_type_names[MPMCRING_EV_NR_TYPES] = {
	[MPMCRING_EV_EXEC] = "exec",
	[MPMCRING_EV_FORK] = "fork",
	[MPMCRING_EV_EXIT] = "exit",
	[MPMCRING_EV_OPEN] = "open",
	[MPMCRING_EV_CONNECT] = "connect",
	[MPMCRING_EV_EXECVE] = "execve",
	[MPMCRING_EV_SYSCALL] = "syscall",
};

static const u32 ev_default_prio[MPMCRING_EV_NR_TYPES] = {
	[MPMCRING_EV_EXEC] = MPMCRING_PRIO_CRITICAL,
	[MPMCRING_EV_FORK] = MPMCRING_PRIO_CRITICAL,
	[MPMCRING_EV_EXIT] = MPMCRING_PRIO_CRITICAL,
	[MPMCRING_EV_OPEN] = MPMCRING_PRIO_NORMAL,
	/*
	 * Not critical by default, though the process events are: any user
	 * can loop a connect (a UDP socket's, or connect(-1, NULL, 0)) or a
	 * failed exec in a microsecond or less, and in the critical class
	 * such a loop fills the ring's critical reserve and keeps exec, fork
	 * and exit out (tests/vm/events.c, failed_calls_of_a_user_...).
	 */
	[MPMCRING_EV_CONNECT] = MPMCRING_PRIO_NORMAL,
	[MPMCRING_EV_EXECVE] = MPMCRING_PRIO_NORMAL,
	[MPMCRING_EV_SYSCALL] = MPMCRING_PRIO_LOW,
};

static const char *const ev_prio_names[MPMCRING_NR_PRIO] = {
	"low", "normal", "critical",
};

/* A named syscall's 32-bit number, or -1 where there is no such table. */
#if EV_COMPAT_IA32
#define EV_IA32(nr)	(nr)
#else
#define EV_IA32(nr)	(-1)
#endif

/*
 * Syscalls an architecture may lack (arm64 and riscv have openat alone):
 * their names stay known, so the default syscalls= loads everywhere, and
 * record nothing natively there (-1).
 */
#ifdef __NR_open
#define EV_NR_OPEN	__NR_open
#else
#define EV_NR_OPEN	(-1)
#endif
#ifdef __NR_creat
#define EV_NR_CREAT	__NR_creat
#else
#define EV_NR_CREAT	(-1)
#endif
#ifdef __NR_openat2
#define EV_NR_OPENAT2	__NR_openat2
#else
#define EV_NR_OPENAT2	(-1)
#endif

/*
 * The syscalls known by name, by their native and 32-bit numbers (-1:
 * none); the others are asked for by number (native ones only). A 32-bit
 * connect can also be socketcall(SYS_CONNECT, ...), as i386 glibc makes it.
 */
static const struct {
	const char *name;
	int nr, compat_nr;
	u8 kind;
} ev_sys_names[] = {
	{ "open", EV_NR_OPEN, EV_IA32(__NR_ia32_open), EVK_OPEN },
	{ "openat", __NR_openat, EV_IA32(__NR_ia32_openat), EVK_OPENAT },
	{ "openat2", EV_NR_OPENAT2, EV_IA32(__NR_ia32_openat2), EVK_OPENAT2 },
	{ "creat", EV_NR_CREAT, EV_IA32(__NR_ia32_creat), EVK_CREAT },
	{ "connect", __NR_connect, EV_IA32(__NR_ia32_connect), EVK_CONNECT },
	{ "connect", -1, EV_IA32(__NR_ia32_socketcall), EVK_SOCKETCALL },
	{ "execve", __NR_execve, EV_IA32(__NR_ia32_execve), EVK_EXECVE },
	{ "execveat", __NR_execveat, EV_IA32(__NR_ia32_execveat), EVK_EXECVEAT },
};

/**
 * ev_type_name() - the name of an event type, as the parameters spell it
 * @type: MPMCRING_EV_*
 *
 * Return: the name, or "?" for a type that does not exist.
 */
const char *ev_type_name(unsigned int type)
{
	return type < MPMCRING_EV_NR_TYPES && ev_type_names[type] ?
	       ev_type_names[type] : "?";
}

static int ev_type_by_name(const char *s)
{
	int t;

	for (t = 1; t < MPMCRING_EV_NR_TYPES; t++)
		if (!strcmp(s, ev_type_names[t]))
			return t;
	return -1;
}

static int ev_add_proc(char *w)
{
	int t = ev_type_by_name(w);

	if (t != MPMCRING_EV_EXEC && t != MPMCRING_EV_FORK &&
	    t != MPMCRING_EV_EXIT) {
		pr_err("mpmcring_events: proc=%s: unknown process event '%s' (exec, fork, exit, or none)\n",
		       proc, w);
		return -EINVAL;
	}
	ev_cfg.proc[t] = true;
	return 0;
}

static int ev_add_syscall(char *w)
{
	unsigned int i, nr;
	bool named = false, here = false;

	for (i = 0; i < ARRAY_SIZE(ev_sys_names); i++) {
		int cnr = ev_sys_names[i].compat_nr;

		if (strcmp(w, ev_sys_names[i].name))
			continue;
		named = true;
		if (ev_sys_names[i].nr >= 0) {
			ev_cfg.sys_kind[ev_sys_names[i].nr] = ev_sys_names[i].kind;
			here = true;
		}
		if (cnr >= 0 && cnr < EV_NR_COMPAT_SYSCALLS) {
			ev_cfg.compat_kind[cnr] = ev_sys_names[i].kind;
			here = true;
		}
	}
	if (named && !here)
		pr_info("mpmcring_events: syscalls=: this architecture has no %s syscall: none will be recorded\n",
			w);
	if (named)
		return 0;
	/* Decimal only: a leading 0 is no octal here (0101 is 101). */
	if (kstrtouint(w, 10, &nr) || nr >= EV_NR_SYSCALLS) {
		pr_err("mpmcring_events: syscalls=%s: unknown syscall '%s' (open, openat, openat2, creat, connect, execve, execveat, a number 0-%d, or none)\n",
		       syscalls, w, EV_NR_SYSCALLS - 1);
		return -EINVAL;
	}
	/* A number names a syscall with its own record: that record wins. */
	if (!ev_cfg.sys_kind[nr])
		ev_cfg.sys_kind[nr] = EVK_GENERIC;
	return 0;
}

static int ev_set_prio(char *w)
{
	char *cls = strchr(w, '=');
	unsigned int p;
	int t;

	if (cls)
		*cls++ = 0;
	t = ev_type_by_name(w);
	if (t < 0 || !cls) {
		pr_err("mpmcring_events: prio=%s: '%s' is not TYPE=CLASS with TYPE one of exec, fork, exit, open, connect, execve, syscall\n",
		       prio, w);
		return -EINVAL;
	}
	for (p = 0; p < MPMCRING_NR_PRIO; p++) {
		if (!strcmp(cls, ev_prio_names[p])) {
			ev_cfg.prio[t] = p;
			return 0;
		}
	}
	pr_err("mpmcring_events: prio=%s: class '%s' of %s must be low, normal or critical\n",
	       prio, cls, w);
	return -EINVAL;
}

enum ev_list { EV_LIST_PROC, EV_LIST_SYSCALLS, EV_LIST_PRIO };

/*
 * Hands each comma-separated word of a list parameter (empty words skipped)
 * to its parser; stops at the first error. "none" alone is the empty list.
 */
static int ev_parse_list(enum ev_list which, const char *list)
{
	char *copy, *rest, *w;
	int err = 0;

	if (!strcmp(list, "none"))
		return 0;
	copy = kstrdup(list, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	rest = copy;
	while (!err && (w = strsep(&rest, ","))) {
		w = strim(w);
		if (!*w)
			continue;
		if (which == EV_LIST_PROC)
			err = ev_add_proc(w);
		else if (which == EV_LIST_SYSCALLS)
			err = ev_add_syscall(w);
		else
			err = ev_set_prio(w);
	}
	kfree(copy);
	return err;
}

/**
 * ev_parse_params() - check the module parameters and fill ev_cfg
 *
 * Return: 0, or -EINVAL after a kernel log line that names the bad
 * parameter and says what it takes.
 */
int ev_parse_params(void)
{
	unsigned int nr;
	int err;

	memset(&ev_cfg, 0, sizeof(ev_cfg));
	memcpy(ev_cfg.prio, ev_default_prio, sizeof(ev_cfg.prio));
	if (!max_path || max_path > EV_MAX_PATH_LIMIT) {
		pr_err("mpmcring_events: max_path=%u: must be 1-%u\n",
		       max_path, EV_MAX_PATH_LIMIT);
		return -EINVAL;
	}
	ev_cfg.max_path = max_path;
	if (!*ring) {
		pr_err("mpmcring_events: ring=: a ring name is needed (\"default\" for /dev/mpmcring)\n");
		return -EINVAL;
	}
	if (create && !strcmp(ring, "default")) {
		pr_err("mpmcring_events: ring=default create=1: the default ring belongs to mpmcring.ko; use create=0 to write into it\n");
		return -EINVAL;
	}
	if (chunk_bytes && !create) {
		pr_err("mpmcring_events: chunk_bytes=%u create=0: chunks are chosen where a ring is created: give chunk_bytes to its creator (mpmcring.ko's for ring=default), or leave it out here\n",
		       chunk_bytes);
		return -EINVAL;
	}
	if (ev_ring_param_given && !create) {
		pr_err("mpmcring_events: %s= create=0: it sets up a ring this module creates, and ring=%s is created elsewhere: set it there, or leave it out here\n",
		       ev_ring_param_given, ring);
		return -EINVAL;
	}
	if (wm_low_pct > 99 || wm_normal_pct > wm_low_pct) {
		pr_err("mpmcring_events: wm_low_pct=%u wm_normal_pct=%u: need wm_normal_pct <= wm_low_pct <= 99\n",
		       wm_low_pct, wm_normal_pct);
		return -EINVAL;
	}
	err = ev_parse_list(EV_LIST_PROC, proc);
	if (!err)
		err = ev_parse_list(EV_LIST_SYSCALLS, syscalls);
	if (!err)
		err = ev_parse_list(EV_LIST_PRIO, prio);
	if (err)
		return err;
	ev_cfg.catchall = catchall;
	ev_cfg.want_sys_exit = catchall;
	for (nr = 0; nr < EV_NR_SYSCALLS; nr++)
		ev_cfg.want_sys_exit |= ev_cfg.sys_kind[nr] != EVK_NONE;
	for (nr = 0; nr < EV_NR_COMPAT_SYSCALLS; nr++)
		ev_cfg.want_sys_exit |= ev_cfg.compat_kind[nr] != EVK_NONE;
	/* A module that probes nothing is a mistake, never a quiet success. */
	if (!ev_cfg.want_sys_exit && !ev_cfg.proc[MPMCRING_EV_EXEC] &&
	    !ev_cfg.proc[MPMCRING_EV_FORK] && !ev_cfg.proc[MPMCRING_EV_EXIT]) {
		pr_err("mpmcring_events: proc=%s syscalls=%s and no catchall=1: nothing to record: name a process event (exec, fork, exit), a syscall, or set catchall=1\n",
		       proc, syscalls);
		return -EINVAL;
	}
	return 0;
}

/**
 * ev_check_ring_fits() - whether the largest event fits the ring's records
 * @r: the ring the events go to
 *
 * An open event with a path of max_path bytes is the largest there is; in
 * a ring whose records are shorter, every long path would be refused with
 * its whole event (counted, but lost) where a cut path was promised.
 *
 * Return: 0, or -EINVAL after a kernel log line naming max_path and the
 * largest value the ring takes.
 */
int ev_check_ring_fits(struct mpmcring *r)
{
	u32 max_rec = mpmcring_layout(r)->max_record;
	u32 fixed = sizeof(struct mpmcring_ev_open) + 1;	/* and the NUL */
	/* Every event, each path one byte long: the fixed-size ones too. */
	u32 least = max_t(u32, fixed + 1, sizeof(struct mpmcring_ev_connect));

	if (max_rec < least) {
		pr_err("mpmcring_events: ring=%s: its records hold at most %u bytes, fewer than the %u the events need\n",
		       ring, max_rec, least);
		return -EINVAL;
	}
	if (max_rec < fixed + ev_cfg.max_path) {
		pr_err("mpmcring_events: max_path=%u: the ring's records hold at most %u bytes, so max_path may be at most %u here (or give the ring more size)\n",
		       ev_cfg.max_path, max_rec, max_rec - fixed);
		return -EINVAL;
	}
	return 0;
}

/**
 * ev_get_ring() - the ring the parameters name
 * @created: set when this module created it (destroy it on unload)
 *
 * Return: the ring, or an ERR_PTR after a kernel log line saying why.
 */
struct mpmcring *ev_get_ring(bool *created)
{
	struct mpmcring_params p = {
		.name = ring,
		.size = size,
		.mode = MPMCRING_MODE_DROP_NEWEST,
		.flags = MPMCRING_CREATE_WATERMARKS,
		.chunk_bytes = chunk_bytes,
	};
	struct mpmcring *r;

	*created = false;
	if (create) {
		p.watermark[MPMCRING_PRIO_LOW] = div_u64(size * wm_low_pct, 100);
		p.watermark[MPMCRING_PRIO_NORMAL] = div_u64(size * wm_normal_pct, 100);
		r = mpmcring_create(&p);
		if (IS_ERR(r))
			pr_err("mpmcring_events: ring=%s size=%llu chunk_bytes=%u: creating the ring failed (%ld)%s\n",
			       ring, size, chunk_bytes, PTR_ERR(r),
			       PTR_ERR(r) == -EEXIST ? ": it exists; create=0 writes into it" : "");
		else
			*created = true;
		return r;
	}
	r = strcmp(ring, "default") ? mpmcring_get_by_name(ring) :
				      mpmcring_get_default();
	if (!r) {
		pr_err("mpmcring_events: ring=%s create=0: no such ring\n", ring);
		return ERR_PTR(-ENOENT);
	}
	return r;
}
