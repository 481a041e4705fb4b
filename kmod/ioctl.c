// SPDX-License-Identifier: GPL-2.0-only
/*
 * ioctls of the device file: setup and statistics only; consuming happens
 * in shared memory. INFO and STATS answer callers built against any
 * version of the uapi header (their struct size is in the command). A file opened read-only observes: it may ask for the
 * layout, the statistics and the list of consumers and set its wakeup
 * watermark; choosing a write class needs a file opened for writing, and
 * attaching, detaching, repairing and ROOM, which are consumers' calls, a
 * read-write file (EPERM).
 */
#include <linux/build_bug.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/bitmap.h>
#include <linux/log2.h>
#include <linux/pid_namespace.h>
#include <linux/poll.h>

#include "internal.h"

static long mpmcring_ioc_attach(struct mpmcring_file *mf, u32 __user *uarg)
{
	struct mpmcring *ring = mf->ring;
	int slot;

	if (mutex_lock_killable(&mf->lock))
		return -EINTR;
	slot = mpmcring_file_attach(mf, false);
	if (slot >= 0)
		set_bit(slot, mf->slots);
	mutex_unlock(&mf->lock);
	if (slot < 0)
		return slot;
	if (put_user((u32)slot, uarg)) {
		/*
		 * Give it back, unless another thread of this file detached it
		 * meanwhile (then the index may be someone else's by now).
		 */
		if (mutex_lock_killable(&mf->lock))
			return -EFAULT;	/* released with the file, then */
		if (test_and_clear_bit(slot, mf->slots)) {
			mf->nr_slots--;
			mpmcring_slot_detach(ring, slot);
		}
		mutex_unlock(&mf->lock);
		return -EFAULT;
	}
	return 0;
}

static long mpmcring_ioc_detach(struct mpmcring_file *mf, u32 __user *uarg)
{
	struct mpmcring *ring = mf->ring;
	long ret = -EINVAL;
	u32 slot;

	if (get_user(slot, uarg))
		return -EFAULT;
	if (mutex_lock_killable(&mf->lock))
		return -EINTR;
	if (slot < ring->layout.max_consumers &&
	    test_and_clear_bit(slot, mf->slots)) {
		mf->nr_slots--;
		mpmcring_slot_detach(ring, slot);
		ret = 0;
	}
	mutex_unlock(&mf->lock);
	if (!ret)
		mpmcring_room_kick(ring);	/* a claim it held let go */
	return ret;
}

/* The command bits that name a sized ioctl, whatever its size. */
#define MPMCRING_IOC_NOSIZE(cmd)	((cmd) & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT))

static_assert(offsetof(struct mpmcring_layout, slot_info_offset) ==
	      MPMCRING_LAYOUT_SIZE_VER0);
static_assert(offsetof(struct mpmcring_stats, revoked_claims) ==
	      MPMCRING_STATS_SIZE_VER0);

/*
 * Copies a struct that grows at its end to a caller that asked for usize
 * bytes of it (the size in its command number, so of its header's
 * version): the first min(usize, ksize) bytes, then zeros up to usize.
 * usize is bounded by the command encoding (_IOC_SIZEMASK).
 */
static long mpmcring_copy_sized(void __user *uarg, unsigned int usize,
				const void *kbuf, size_t ksize)
{
	size_t n = min_t(size_t, usize, ksize);

	if (copy_to_user(uarg, kbuf, n))
		return -EFAULT;
	if (usize > n && clear_user(uarg + n, usize - n))
		return -EFAULT;
	return 0;
}

static long mpmcring_ioc_info(struct mpmcring *ring, void __user *uarg,
			      unsigned int usize)
{
	if (usize < MPMCRING_LAYOUT_SIZE_VER0)
		return -EINVAL;
	return mpmcring_copy_sized(uarg, usize, &ring->layout,
				   sizeof(ring->layout));
}

static long mpmcring_ioc_stats(struct mpmcring *ring, void __user *uarg,
			       unsigned int usize)
{
	struct mpmcring_stats *stats;
	long ret;

	if (usize < MPMCRING_STATS_SIZE_VER0)
		return -EINVAL;
	stats = kzalloc(sizeof(*stats), GFP_KERNEL);
	if (!stats)
		return -ENOMEM;
	mpmcring_get_stats(ring, stats);
	ret = mpmcring_copy_sized(uarg, usize, stats, sizeof(*stats));
	kfree(stats);
	return ret;
}

static long mpmcring_ioc_consumers(struct mpmcring *ring,
				   struct mpmcring_consumers __user *uarg)
{
	struct mpmcring_consumer_info *info;
	struct mpmcring_consumers req;
	unsigned int max;
	long ret = 0;
	int n;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	/* Attached slots never exceed max_consumers: no need for more. */
	max = min(req.max, ring->layout.max_consumers);
	info = kvcalloc(max ?: 1, sizeof(*info), GFP_KERNEL_ACCOUNT);
	if (!info)
		return -ENOMEM;
	/* Pids as the caller's namespace sees them (0: not there, gone). */
	n = mpmcring_list_consumers(ring, info, max,
				    task_active_pid_ns(current));
	if (copy_to_user(u64_to_user_ptr(req.info), info, n * sizeof(*info)) ||
	    put_user((u32)n, &uarg->count))
		ret = -EFAULT;
	kvfree(info);
	return ret;
}

static long mpmcring_ioc_watermark(struct mpmcring_file *mf, u64 __user *uarg)
{
	struct mpmcring *ring = mf->ring;
	bool lowered;
	u64 wm;
	u32 k;

	if (get_user(wm, uarg))
		return -EFAULT;
	/* More could never be ready at once with records of half the ring. */
	if (wm > ring->layout.data_size / 2)
		return -EINVAL;
	k = mpmcring_wake_class(wm);
	/*
	 * A write-only file waits for no records: no class of its own in
	 * the ring's mask, which every commit and tick reads.
	 */
	if (!mf->reader)
		return 0;
	if (mutex_lock_killable(&mf->lock))
		return -EINTR;
	lowered = k < mf->wake_class;
	if (k != mf->wake_class) {
		/* Counted in before out: the mask never lacks a live class. */
		mpmcring_wake_class_get(ring, k);
		mpmcring_wake_class_put(ring, mf->wake_class);
		WRITE_ONCE(mf->wake_class, k);
	}
	mutex_unlock(&mf->lock);
	/*
	 * A lower watermark can make this file ready with no commit to say
	 * so; sleepers that will not poll again (edge-triggered) need a wake.
	 * Only then, and rate-limited: the wakeup reaches every waiter on the
	 * ring, and a caller (read-only files may set their watermark) must
	 * not wake them all at will.
	 */
	if (lowered && mpmcring_ready(ring, k))
		mpmcring_wake_lowered(ring);
	return 0;
}

static long mpmcring_ioc_prio(struct mpmcring_file *mf, u32 __user *uarg)
{
	u32 prio;

	if (get_user(prio, uarg))
		return -EFAULT;
	if (prio >= MPMCRING_NR_PRIO)
		return -EINVAL;
	if (prio > mf->ring->layout.user_max_prio)
		return -EPERM;
	WRITE_ONCE(mf->prio, prio);
	/* A refused write's need was its old class's (fops.c). */
	WRITE_ONCE(mf->out_need, 0);
	return 0;
}

long mpmcring_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct mpmcring_file *mf = file->private_data;
	struct mpmcring *ring = mf->ring;
	void __user *uarg = (void __user *)arg;

	/*
	 * INFO and STATS match whatever size the caller's header gave them
	 * (the uapi's "growing structs" rule): an older library on a newer
	 * kernel must not meet ENOTTY.
	 */
	switch (MPMCRING_IOC_NOSIZE(cmd)) {
	case MPMCRING_IOC_NOSIZE(MPMCRING_IOC_INFO):
		return mpmcring_ioc_info(ring, uarg, _IOC_SIZE(cmd));
	case MPMCRING_IOC_NOSIZE(MPMCRING_IOC_STATS):
		return mpmcring_ioc_stats(ring, uarg, _IOC_SIZE(cmd));
	}
	switch (cmd) {
	case MPMCRING_IOC_CONSUMERS:
		return mpmcring_ioc_consumers(ring, uarg);
	case MPMCRING_IOC_SET_WATERMARK:
		return mpmcring_ioc_watermark(mf, uarg);
	case MPMCRING_IOC_ATTACH:
	case MPMCRING_IOC_DETACH:
	case MPMCRING_IOC_REPAIR:
	case MPMCRING_IOC_ROOM:
		if (!mf->consumer)
			return -EPERM;
		break;
	case MPMCRING_IOC_SET_PRIO:
		if (!mf->writable)
			return -EPERM;
		break;
	default:
		return -ENOTTY;
	}
	switch (cmd) {
	case MPMCRING_IOC_ATTACH:
		return mpmcring_ioc_attach(mf, uarg);
	case MPMCRING_IOC_DETACH:
		return mpmcring_ioc_detach(mf, uarg);
	case MPMCRING_IOC_REPAIR:
		return mpmcring_repair(ring) ? 1 : 0;
	case MPMCRING_IOC_ROOM:
		mpmcring_room_kick(ring);
		return 0;
	default:
		return mpmcring_ioc_prio(mf, uarg);
	}
}
