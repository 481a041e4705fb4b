// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring_events: real kernel events into an mpmcring ring, through the
 * exported API only, as any subsystem would produce into one.
 *
 *   insmod mpmcring_events.ko [ring=events create=1 size=4M]
 *          [proc=exec,fork,exit] [syscalls=openat,connect,execve,...]
 *          [catchall=1] [prio=open=low,...] [max_path=256]
 *
 * Something must be recorded: proc=none with syscalls=none and no
 * catchall=1 is refused.
 * Probes go on kernel tracepoints found by name at load time
 * (sched_process_exec/fork/exit, raw_syscalls sys_exit): they are
 * not exported to modules, for_each_kernel_tracepoint() finds them. Records:
 * uapi/linux/mpmcring_events.h. Counters by type in
 * /sys/kernel/debug/mpmcring_events/stats.
 */
#include <linux/module.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/tracepoint.h>
#include <trace/events/sched.h>
#include <trace/events/syscalls.h>

#include "events.h"

struct ev_tracepoint {
	const char *name;
	void *probe;
	struct tracepoint *tp;
	bool want;
	bool registered;
};

static struct ev_tracepoint ev_tps[] = {
	{ .name = "sched_process_exec", .probe = ev_probe_exec },
	{ .name = "sched_process_fork", .probe = ev_probe_fork },
	{ .name = "sched_process_exit", .probe = ev_probe_exit },
	{ .name = "sys_exit", .probe = ev_probe_sys_exit },
};

/*
 * The tracepoints are found by name and their probes registered through
 * void pointers: nothing at run time checks that a probe takes what the
 * tracepoint passes. The kernel's headers can, at build time: a kernel
 * that changed a prototype fails to build this module instead of handing
 * its probes the wrong arguments.
 */
static void __maybe_unused ev_check_probe_types(void)
{
	check_trace_callback_type_sched_process_exec(ev_probe_exec);
	check_trace_callback_type_sched_process_fork(ev_probe_fork);
	check_trace_callback_type_sched_process_exit(ev_probe_exit);
	check_trace_callback_type_sys_exit(ev_probe_sys_exit);
}

static bool ev_ring_created;
static struct dentry *ev_debugfs;

static void ev_find_tracepoint(struct tracepoint *tp, void *priv)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ev_tps); i++)
		if (!strcmp(tp->name, ev_tps[i].name))
			ev_tps[i].tp = tp;
}

static void ev_unregister_all(void)
{
	unsigned int i;
	bool any = false;

	for (i = 0; i < ARRAY_SIZE(ev_tps); i++) {
		if (!ev_tps[i].registered)
			continue;
		tracepoint_probe_unregister(ev_tps[i].tp, ev_tps[i].probe, NULL);
		ev_tps[i].registered = false;
		any = true;
	}
	/* No probe runs past this: only then may its memory go. */
	if (any)
		tracepoint_synchronize_unregister();
}

static int ev_register_all(void)
{
	unsigned int i;
	int err;

	ev_tps[0].want = ev_cfg.proc[MPMCRING_EV_EXEC];
	ev_tps[1].want = ev_cfg.proc[MPMCRING_EV_FORK];
	ev_tps[2].want = ev_cfg.proc[MPMCRING_EV_EXIT];
	ev_tps[3].want = ev_cfg.want_sys_exit;
	for_each_kernel_tracepoint(ev_find_tracepoint, NULL);
	for (i = 0; i < ARRAY_SIZE(ev_tps); i++) {
		if (ev_tps[i].want && !ev_tps[i].tp) {
			pr_err("mpmcring_events: no tracepoint %s in this kernel (CONFIG_TRACEPOINTS, syscall tracepoints)\n",
			       ev_tps[i].name);
			return -ENOENT;
		}
	}
	for (i = 0; i < ARRAY_SIZE(ev_tps); i++) {
		if (!ev_tps[i].want)
			continue;
		/* Publishes ev_cfg to the probe (an RCU assignment). */
		err = tracepoint_probe_register(ev_tps[i].tp, ev_tps[i].probe,
						NULL);
		if (err) {
			pr_err("mpmcring_events: registering a probe on %s failed (%d)\n",
			       ev_tps[i].name, err);
			ev_unregister_all();
			return err;
		}
		ev_tps[i].registered = true;
	}
	return 0;
}

static int ev_stats_show(struct seq_file *m, void *unused)
{
	static const char *const prio_names[MPMCRING_NR_PRIO] = {
		"low", "normal", "critical",
	};
	struct ev_counts c;
	unsigned int t;

	ev_read_counts(&c);
	seq_puts(m, "# type class emitted dropped\n");
	for (t = 1; t < MPMCRING_EV_NR_TYPES; t++)
		seq_printf(m, "%s %s %llu %llu\n", ev_type_name(t),
			   prio_names[ev_cfg.prio[t]], c.emitted[t], c.dropped[t]);
	seq_printf(m, "# of those dropped, refused by a ring its owner destroyed: %llu\n",
		   c.ring_gone);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ev_stats);

static void ev_put_ring(void)
{
	if (ev_ring_created)
		mpmcring_destroy(ev_cfg.ring);
	else
		mpmcring_put(ev_cfg.ring);
	ev_cfg.ring = NULL;
}

static int __init ev_init(void)
{
	int err = ev_parse_params();

	if (err)
		return err;
	ev_cfg.ring = ev_get_ring(&ev_ring_created);
	if (IS_ERR(ev_cfg.ring))
		return PTR_ERR(ev_cfg.ring);
	err = ev_check_ring_fits(ev_cfg.ring);
	if (err)
		goto put_ring;
	err = ev_probes_init();
	if (err)
		goto put_ring;
	ev_debugfs = debugfs_create_dir("mpmcring_events", NULL);
	debugfs_create_file("stats", 0400, ev_debugfs, NULL, &ev_stats_fops);
	/* Last: from here on, probes run on every CPU. */
	err = ev_register_all();
	if (err)
		goto free_probes;
	return 0;
free_probes:
	debugfs_remove_recursive(ev_debugfs);
	ev_probes_exit();
put_ring:
	ev_put_ring();
	return err;
}

static void __exit ev_exit(void)
{
	ev_unregister_all();
	debugfs_remove_recursive(ev_debugfs);
	ev_probes_exit();
	ev_put_ring();
}

module_init(ev_init);
module_exit(ev_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Kernel events (exec, fork, exit, open, connect, syscalls) into an mpmcring ring");
