/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mpmcring bench's handle on the load generator module (mpmcring_loadgen):
 * finding, loading and unloading it, and its debugfs control and stats.
 */
#ifndef MPMCRING_CLI_LOADGEN_H
#define MPMCRING_CLI_LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LG_NAME "mpmcring_loadgen"
#define LG_DEBUGFS "/sys/kernel/debug/" LG_NAME
#define DEBUGFS_DIR "/sys/kernel/debug"

/* What /sys/kernel/debug/mpmcring_loadgen/stats says, summed. */
struct lg_totals {
	unsigned int producers;
	unsigned int by_ctx[5]; /* task, softirq, hardirq, nmi, other */
	uint64_t attempted, committed, dropped;
	uint64_t max_elapsed_ns; /* longest producer, first to last record */
	int finished;		 /* every producer attempted its count */
};

/* Finds mpmcring_loadgen.ko: $MPMCRING_MODDIR, then the DKMS and extra
 * directories of the running kernel. 0, or -ENOENT with where it looked. */
int lg_find(char *path, size_t len, char *looked, size_t looked_len);
/* finit_module(); 0 or -errno. */
int lg_load(const char *path, const char *params);
/* delete_module(), retried for a few seconds while busy; 0 or -errno. */
int lg_unload(void);
/* Writes "start" or "stop" to the control file; 0 or -errno. */
int lg_control(const char *cmd);
int lg_read(struct lg_totals *t);
/* A parameter of the loaded module, from sysfs; false if unreadable. */
bool lg_param(const char *name, char *buf, size_t len);
/* Short names of by_ctx[]. */
const char *lg_ctx_name(unsigned int i);

#endif /* MPMCRING_CLI_LOADGEN_H */
