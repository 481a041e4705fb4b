// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring: shared multi-producer multi-consumer rings of variable-length
 * records. Module entry: parameters of the default ring behind
 * /dev/mpmcring, checked before anything is created.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/kernel.h>
#include <linux/string.h>

#include "internal.h"

static unsigned long long ring_size = 1 << 20;
static char *mode = "drop";
static unsigned int granule = 8;
static unsigned int max_consumers = MPMCRING_DEF_CONSUMERS;
static unsigned int wm_low_pct = 50;
static unsigned int wm_normal_pct = 12;
static unsigned int wm_critical_pct;
static unsigned long long initial_pos;
static unsigned int claim_timeout_ms = MPMCRING_DEF_CLAIM_TIMEOUT_MS;
static char *user_max_prio = "normal";
static unsigned int max_per_file = MPMCRING_DEF_PER_FILE;
static unsigned int chunk_bytes;

/* size= takes a byte count with an optional K, M or G suffix. */
static int mpmcring_param_set_size(const char *val,
				   const struct kernel_param *kp)
{
	char *end;
	unsigned long long v = memparse(val, &end);

	if (end == val || (*end && *end != '\n'))
		return -EINVAL;
	*(unsigned long long *)kp->arg = v;
	return 0;
}

static int mpmcring_param_get_size(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%llu\n", *(unsigned long long *)kp->arg);
}

static const struct kernel_param_ops mpmcring_size_ops = {
	.set = mpmcring_param_set_size,
	.get = mpmcring_param_get_size,
};

module_param_cb(size, &mpmcring_size_ops, &ring_size, 0444);
MODULE_PARM_DESC(size, "data bytes of the default ring: power of two, 4K to 1G (default 1M)");
module_param(mode, charp, 0444);
MODULE_PARM_DESC(mode, "when the default ring is full: drop (the newest record) or overwrite (the oldest unclaimed)");
module_param(granule, uint, 0444);
MODULE_PARM_DESC(granule, "record alignment in bytes: 8, 16, 32 or 64 (default 8)");
module_param(max_consumers, uint, 0444);
MODULE_PARM_DESC(max_consumers, "consumer slots of the default ring, 1-1022 (default 62)");
module_param(wm_low_pct, uint, 0444);
MODULE_PARM_DESC(wm_low_pct, "percent of the ring that must stay free to admit a low-priority record (default 50)");
module_param(wm_normal_pct, uint, 0444);
MODULE_PARM_DESC(wm_normal_pct, "percent that must stay free for a normal record (default 12)");
module_param(wm_critical_pct, uint, 0444);
MODULE_PARM_DESC(wm_critical_pct, "percent that must stay free for a critical record (default 0)");
module_param(initial_pos, ullong, 0444);
MODULE_PARM_DESC(initial_pos, "starting position, for testing wrap-around near 2^64 (default 0)");
module_param(claim_timeout_ms, uint, 0444);
MODULE_PARM_DESC(claim_timeout_ms, "a consumer claim that stands still this long is revoked, so a stopped consumer cannot stop collection; 0 never (default 5000, at most 3600000)");
module_param(user_max_prio, charp, 0444);
MODULE_PARM_DESC(user_max_prio, "highest class userspace may write(2) with: low, normal or critical (default normal)");
module_param(max_per_file, uint, 0444);
MODULE_PARM_DESC(max_per_file, "consumer slots one open file may hold, read(2)'s included, 1-1022 (default 16)");
module_param(chunk_bytes, uint, 0444);
MODULE_PARM_DESC(chunk_bytes, "chunked reservation: each CPU's producers take this many bytes of the ring at once while it is filled below the low class's watermark (records alone above it; capped to a quarter of that room and of the ring over every possible CPU's four levels); records then in order per CPU only, claimable up to about two ticks (100 ms each) late (default 0: off)");

static struct mpmcring *mpmcring_default_ring;

/* Turns the module parameters into ring parameters, naming what is wrong. */
static int mpmcring_default_params(struct mpmcring_params *p)
{
	const unsigned int pct[MPMCRING_NR_PRIO] = {
		wm_low_pct, wm_normal_pct, wm_critical_pct,
	};
	static const char *const pct_names[MPMCRING_NR_PRIO] = {
		"wm_low_pct", "wm_normal_pct", "wm_critical_pct",
	};
	static const char *const prio_names[MPMCRING_NR_PRIO] = {
		"low", "normal", "critical",
	};
	int i;

	memset(p, 0, sizeof(*p));
	p->name = "default";
	p->size = ring_size;
	p->granule = granule;
	p->max_consumers = max_consumers;
	p->initial_pos = initial_pos;
	if (!strcmp(mode, "drop")) {
		p->mode = MPMCRING_MODE_DROP_NEWEST;
	} else if (!strcmp(mode, "overwrite")) {
		p->mode = MPMCRING_MODE_OVERWRITE;
	} else {
		pr_err("mpmcring: mode=%s: must be drop or overwrite\n", mode);
		return -EINVAL;
	}
	if (!max_consumers) {
		pr_err("mpmcring: max_consumers=0: at least one consumer slot is needed\n");
		return -EINVAL;
	}
	if (!max_per_file) {
		pr_err("mpmcring: max_per_file=0: a file must be able to attach a consumer\n");
		return -EINVAL;
	}
	p->max_per_file = max_per_file;
	p->chunk_bytes = chunk_bytes;
	p->claim_timeout_ms = claim_timeout_ms;
	if (!claim_timeout_ms)
		p->flags |= MPMCRING_CREATE_NO_LEASE;
	p->flags |= MPMCRING_CREATE_USER_PRIO;
	for (i = 0; i < MPMCRING_NR_PRIO; i++)
		if (!strcmp(user_max_prio, prio_names[i]))
			break;
	if (i == MPMCRING_NR_PRIO) {
		pr_err("mpmcring: user_max_prio=%s: must be low, normal or critical\n",
		       user_max_prio);
		return -EINVAL;
	}
	p->user_max_prio = i;
	for (i = 0; i < MPMCRING_NR_PRIO; i++) {
		if (pct[i] > 99) {
			pr_err("mpmcring: %s=%u: must be 0-99\n", pct_names[i], pct[i]);
			return -EINVAL;
		}
		if (i && pct[i] > pct[i - 1]) {
			pr_err("mpmcring: %s=%u: must not exceed %s=%u (a more essential class cannot need more free space)\n",
			       pct_names[i], pct[i], pct_names[i - 1], pct[i - 1]);
			return -EINVAL;
		}
		/* Checked by mpmcring_validate_params() if size is bad. */
		p->watermark[i] = div_u64(ring_size * pct[i], 100);
	}
	p->flags |= MPMCRING_CREATE_WATERMARKS;
	return mpmcring_validate_params(p);
}

static int __init mpmcring_init(void)
{
	struct mpmcring_params p;
	int err;

	err = mpmcring_default_params(&p);
	if (err)
		return err;
	/* The objects list first: it notes every object from the first on. */
	mpmcring_objects_init(mpmcring_debugfs_init());
	mpmcring_default_ring = mpmcring_create(&p);
	if (IS_ERR(mpmcring_default_ring)) {
		err = PTR_ERR(mpmcring_default_ring);
		pr_err("mpmcring: creating the default ring failed: %d\n", err);
		mpmcring_debugfs_exit();
		mpmcring_objects_exit();
		return err;
	}
	pr_info("mpmcring: /dev/mpmcring ready: %llu bytes, %s mode, %u consumer slots\n",
		p.size, mode, mpmcring_default_ring->layout.max_consumers);
	return mpmcring_bpf_init();
}

static void __exit mpmcring_exit(void)
{
	mpmcring_destroy(mpmcring_default_ring);
	mpmcring_registry_exit();
	/* The objects file goes (its readers waited for) before its list. */
	mpmcring_debugfs_exit();
	mpmcring_objects_exit();
	mpmcring_bpf_exit();
}

module_init(mpmcring_init);
module_exit(mpmcring_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("mpmcring developers");
MODULE_DESCRIPTION("Shared multi-producer multi-consumer record rings with zero-copy userspace consumers");
MODULE_VERSION("0.1.0");
