// SPDX-License-Identifier: GPL-2.0-only
/*
 * The load generator module as mpmcring bench drives it: found where DKMS
 * or the test VMs put it, loaded with finit_module(), started and watched
 * through its debugfs files, unloaded with delete_module().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "loadgen.h"

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

static const char *const lg_ctx_names[] = {
	"task", "softirq", "hardirq", "nmi", "other",
};

const char *lg_ctx_name(unsigned int i)
{
	return i < 5 ? lg_ctx_names[i] : "other";
}

static bool lg_try(char *path, size_t len, const char *dir)
{
	static const char *const exts[] = { "", ".xz", ".zst", ".gz" };
	size_t i;

	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		int n = snprintf(path, len, "%s/%s.ko%s", dir, LG_NAME, exts[i]);

		if (n > 0 && (size_t)n < len && !access(path, R_OK))
			return true;
	}
	return false;
}

int lg_find(char *path, size_t len, char *looked, size_t looked_len)
{
	static const char *const subdirs[] = { "updates/dkms", "updates", "extra", "" };
	const char *moddir = getenv("MPMCRING_MODDIR");
	struct utsname u;
	char dir[512];
	size_t i, used = 0;

	looked[0] = 0;
	if (moddir && *moddir) {
		if (lg_try(path, len, moddir))
			return 0;
		used += snprintf(looked, looked_len, "%s", moddir);
	}
	if (uname(&u))
		return -errno;
	for (i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		snprintf(dir, sizeof(dir), "/lib/modules/%s%s%s", u.release, *subdirs[i] ? "/" : "",
			 subdirs[i]);
		if (lg_try(path, len, dir))
			return 0;
		if (used < looked_len)
			used += snprintf(looked + used, looked_len - used, "%s%s", used ? ", " : "",
					 dir);
	}
	return -ENOENT;
}

int lg_load(const char *path, const char *params)
{
	size_t n = strlen(path);
	unsigned int flags = 0;
	int fd, ret;

	if ((n > 3 && !strcmp(path + n - 3, ".xz")) || (n > 4 && !strcmp(path + n - 4, ".zst")) ||
	    (n > 3 && !strcmp(path + n - 3, ".gz")))
		flags |= MODULE_INIT_COMPRESSED_FILE;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, flags) ? -errno : 0;
	close(fd);
	return ret;
}

int lg_unload(void)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	int i;

	for (i = 0; i < 50; i++) {
		if (!syscall(SYS_delete_module, LG_NAME, O_NONBLOCK))
			return 0;
		if (errno != EAGAIN && errno != EBUSY)
			return -errno;
		nanosleep(&ts, NULL);
	}
	return -EBUSY;
}

int lg_control(const char *cmd)
{
	int fd = open(LG_DEBUGFS "/control", O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, cmd, strlen(cmd));
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

static unsigned int lg_ctx_index(const char *ctx)
{
	unsigned int i;

	for (i = 0; i < 4; i++)
		if (!strcmp(ctx, lg_ctx_names[i]))
			return i;
	return 4;
}

int lg_read(struct lg_totals *t)
{
	FILE *f = fopen(LG_DEBUGFS "/stats", "re");
	char line[256], ctx[16];
	unsigned long long a, c, d, e;
	unsigned int id;
	int cpu, done;

	if (!f)
		return -errno;
	memset(t, 0, sizeof(*t));
	/* "id ctx cpu attempted committed dropped done elapsed_ns", then
	 * "total attempted committed dropped" and "finished 0|1". */
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%u %15s %d %llu %llu %llu %d %llu", &id, ctx, &cpu, &a, &c, &d,
			   &done, &e) == 8) {
			t->producers++;
			t->by_ctx[lg_ctx_index(ctx)]++;
			if (e > t->max_elapsed_ns)
				t->max_elapsed_ns = e;
		} else if (sscanf(line, "total %llu %llu %llu", &a, &c, &d) == 3) {
			t->attempted = a;
			t->committed = c;
			t->dropped = d;
		} else {
			sscanf(line, "finished %d", &t->finished);
		}
	}
	fclose(f);
	return 0;
}

bool lg_param(const char *name, char *buf, size_t len)
{
	char path[256];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s", LG_NAME, name);
	f = fopen(path, "re");
	if (!f)
		return false;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = 0;
	return ok;
}
