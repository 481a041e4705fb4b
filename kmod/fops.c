// SPDX-License-Identifier: GPL-2.0-only
/*
 * The device file of a ring: what userspace sees of it.
 *
 *   mmap   MPMCRING_OFF_CONS: the consumer area, the only writable memory
 *          MPMCRING_OFF_RO:   meta page, stamps and data (twice), read-only
 *          Anything else fails: -EINVAL for a wrong offset, length or a
 *          private mapping, -EPERM for write or exec on read-only memory.
 *   ioctl  setup and statistics; -ENOTTY for unknown commands
 *   poll   readable when a finished record waits (per-file watermark)
 *   read   copies one record per call (a consumer like any other)
 *   write  one record per call; writev: one record per segment, all or
 *          nothing; -EMSGSIZE too big, -EAGAIN full and non-blocking
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/sched/signal.h>
#include <linux/bitmap.h>
#include <linux/compat.h>

#include "internal.h"
#include "compat.h"

/* One open file: the consumer slots it attached and its settings. */
struct mpmcring_file {
	struct mpmcring *ring;
	struct mutex lock;	/* slots, read_slot; serialises read(2) */
	unsigned long *slots;	/* slots this file attached */
	int read_slot;		/* the slot read(2) uses, -1 until needed */
	u64 watermark;
	u32 prio;
};

static int mpmcring_open(struct inode *inode, struct file *file)
{
	struct miscdevice *misc = file->private_data;
	struct mpmcring *ring = container_of(misc, struct mpmcring, misc);
	struct mpmcring_file *mf;

	mf = kzalloc(sizeof(*mf), GFP_KERNEL_ACCOUNT);
	if (!mf)
		return -ENOMEM;
	mf->slots = bitmap_zalloc(ring->layout.max_consumers, GFP_KERNEL_ACCOUNT);
	if (!mf->slots) {
		kfree(mf);
		return -ENOMEM;
	}
	/* misc_open() holds the misc lock: the ring cannot be destroyed yet. */
	mpmcring_ring_get(ring);
	mf->ring = ring;
	mutex_init(&mf->lock);
	mf->read_slot = -1;
	mf->prio = MPMCRING_PRIO_NORMAL;
	file->private_data = mf;
	return stream_open(inode, file);
}

static int mpmcring_release_file(struct inode *inode, struct file *file)
{
	struct mpmcring_file *mf = file->private_data;
	unsigned int i;

	for_each_set_bit(i, mf->slots, mf->ring->layout.max_consumers)
		mpmcring_slot_detach(mf->ring, i);
	mpmcring_put(mf->ring);
	bitmap_free(mf->slots);
	kfree(mf);
	return 0;
}

static int mpmcring_file_attach(struct mpmcring_file *mf)
{
	int slot = mpmcring_slot_attach(mf->ring);

	if (slot >= 0)
		set_bit(slot, mf->slots);
	return slot;
}

static long mpmcring_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	struct mpmcring_file *mf = file->private_data;
	struct mpmcring *ring = mf->ring;
	void __user *uarg = (void __user *)arg;
	struct mpmcring_stats *stats;
	u64 val64;
	u32 val;
	int ret;

	switch (cmd) {
	case MPMCRING_IOC_INFO:
		if (copy_to_user(uarg, &ring->layout, sizeof(ring->layout)))
			return -EFAULT;
		return 0;
	case MPMCRING_IOC_ATTACH:
		mutex_lock(&mf->lock);
		ret = mpmcring_file_attach(mf);
		mutex_unlock(&mf->lock);
		if (ret < 0)
			return ret;
		if (put_user((u32)ret, (u32 __user *)uarg)) {
			mutex_lock(&mf->lock);
			clear_bit(ret, mf->slots);
			mpmcring_slot_detach(ring, ret);
			mutex_unlock(&mf->lock);
			return -EFAULT;
		}
		return 0;
	case MPMCRING_IOC_DETACH:
		if (get_user(val, (u32 __user *)uarg))
			return -EFAULT;
		mutex_lock(&mf->lock);
		ret = -EINVAL;
		if (val < ring->layout.max_consumers &&
		    test_and_clear_bit(val, mf->slots)) {
			mpmcring_slot_detach(ring, val);
			if (mf->read_slot == val)
				mf->read_slot = -1;
			ret = 0;
		}
		mutex_unlock(&mf->lock);
		return ret;
	case MPMCRING_IOC_STATS:
		stats = kzalloc(sizeof(*stats), GFP_KERNEL);
		if (!stats)
			return -ENOMEM;
		mpmcring_get_stats(ring, stats);
		ret = copy_to_user(uarg, stats, sizeof(*stats)) ? -EFAULT : 0;
		kfree(stats);
		return ret;
	case MPMCRING_IOC_SET_WATERMARK:
		if (get_user(val64, (u64 __user *)uarg))
			return -EFAULT;
		if (val64 > ring->layout.data_size)
			return -EINVAL;
		WRITE_ONCE(mf->watermark, val64);
		return 0;
	case MPMCRING_IOC_SET_PRIO:
		if (get_user(val, (u32 __user *)uarg))
			return -EFAULT;
		if (val >= MPMCRING_NR_PRIO)
			return -EINVAL;
		WRITE_ONCE(mf->prio, val);
		return 0;
	default:
		return -ENOTTY;
	}
}

static int mpmcring_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct mpmcring_file *mf = file->private_data;
	struct mpmcring *ring = mf->ring;
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;
	unsigned long len = vma->vm_end - vma->vm_start;
	unsigned long clear = VM_MAYEXEC;
	unsigned long npages;
	struct page **pages;

	/*
	 * A private mapping would copy on write: consumers would not share.
	 * VM_MAYSHARE, not VM_SHARED: the mm clears VM_SHARED for MAP_SHARED
	 * of a file opened read-only, which is a fine way to monitor a ring.
	 */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	if (off == MPMCRING_OFF_CONS) {
		if (len != ring->layout.cons_size)
			return -EINVAL;
		pages = ring->pages;
		npages = ring->nr_cons_pages;
	} else if (off == MPMCRING_OFF_RO) {
		if (len != ring->layout.ro_size)
			return -EINVAL;
		if (vma->vm_flags & VM_WRITE)
			return -EPERM;
		/* mprotect() must not be able to make it writable either. */
		clear |= VM_MAYWRITE;
		pages = ring->pages + ring->nr_cons_pages;
		npages = ring->nr_pages - ring->nr_cons_pages;
	} else {
		return -EINVAL;
	}
	mpmcring_vm_flags_mod(vma, VM_DONTEXPAND | VM_DONTDUMP, clear);
	return vm_insert_pages(vma, vma->vm_start, pages, &npages);
}

static u64 mpmcring_free_bytes(struct mpmcring *ring)
{
	struct mpr_pos s;

	mpr_positions(&ring->view, &s);
	return ring->view.data_size - (s.prod - s.reclaim);
}

static __poll_t mpmcring_poll(struct file *file, poll_table *pt)
{
	struct mpmcring_file *mf = file->private_data;
	struct mpmcring *ring = mf->ring;
	u64 wm = READ_ONCE(mf->watermark);
	__poll_t mask = 0;

	poll_wait(file, &ring->wq, pt);
	if (!mpmcring_ready(ring, wm)) {
		mpmcring_arm_wakeup(ring, wm);
		if (!mpmcring_ready(ring, wm))
			goto no_input;
	}
	mask |= EPOLLIN | EPOLLRDNORM;
no_input:
	if (READ_ONCE(ring->dead))
		mask |= EPOLLHUP;
	if (mpmcring_free_bytes(ring) >
	    ring->layout.watermark[READ_ONCE(mf->prio)] + MPMCRING_HDR_SIZE)
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

/* Sleeps until mpmcring_ready() or the ring dies; -ERESTARTSYS on signal. */
static int mpmcring_wait_readable(struct mpmcring *ring, u64 wm)
{
	DEFINE_WAIT(wait);
	int ret = 0;

	for (;;) {
		prepare_to_wait(&ring->wq, &wait, TASK_INTERRUPTIBLE);
		if (mpmcring_ready(ring, wm) || READ_ONCE(ring->dead))
			break;
		mpmcring_arm_wakeup(ring, wm);
		if (mpmcring_ready(ring, wm))
			break;
		if (signal_pending(current)) {
			ret = -ERESTARTSYS;
			break;
		}
		schedule();
	}
	finish_wait(&ring->wq, &wait);
	return ret;
}

/* Claims one record of at most count bytes for read(2). Locked. */
static int mpmcring_read_claim(struct mpmcring_file *mf, size_t count,
			       bool nonblock, struct mpr_claim *c)
{
	struct mpmcring *ring = mf->ring;
	struct mpmcring_slot *slot;
	int ret;

	if (mf->read_slot < 0) {
		ret = mpmcring_file_attach(mf);
		if (ret < 0)
			return ret;
		mf->read_slot = ret;
	}
	slot = &ring->view.cons->slots[mf->read_slot];
	for (;;) {
		ret = mpr_claim(&ring->view, slot, false, 1, count, true, c);
		if (ret == -EBADMSG) {
			/* The reclaim repairs a head that cannot be right. */
			mpmcring_reclaim(ring);
			ret = mpr_claim(&ring->view, slot, false, 1, count, true, c);
		}
		if (ret != -EAGAIN)
			return ret;
		if (READ_ONCE(ring->dead))
			return 0;
		if (nonblock)
			return -EAGAIN;
		ret = mpmcring_wait_readable(ring, READ_ONCE(mf->watermark));
		if (ret)
			return ret;
	}
}

static ssize_t mpmcring_read(struct file *file, char __user *buf,
			     size_t count, loff_t *ppos)
{
	struct mpmcring_file *mf = file->private_data;
	const struct mpr_view *v = &mf->ring->view;
	struct mpmcring_slot *slot;
	struct mpr_claim c;
	struct mpr_rec rec;
	u64 cur;
	ssize_t ret;

	if (!count)
		return 0;
	if (mutex_lock_interruptible(&mf->lock))
		return -ERESTARTSYS;
	ret = mpmcring_read_claim(mf, count, file->f_flags & O_NONBLOCK, &c);
	if (ret <= 0)
		goto out;
	slot = &v->cons->slots[mf->read_slot];
	cur = c.start;
	if (WARN_ON_ONCE(!mpr_claim_next(v, &cur, c.end, &rec))) {
		ret = -EBADMSG;
	} else {
		/* Claimed: the record cannot change until the commit below. */
		ret = copy_to_user(buf, mpr_payload(v, rec.pos), rec.len) ?
		      -EFAULT : rec.len;
		/* user-writable, informational only */
		WRITE_ONCE(slot->consumed_records, slot->consumed_records + 1);
		WRITE_ONCE(slot->consumed_bytes, slot->consumed_bytes + rec.len);
	}
	mpr_commit(slot);
out:
	mutex_unlock(&mf->lock);
	return ret;
}

/* Payload length of each record a write carries: one per segment. */
static int mpmcring_write_lens(struct iov_iter *from, u32 *lens,
			       unsigned long n, u32 max_record)
{
	const struct iovec *iov;
	unsigned long i;

	if (iter_is_ubuf(from)) {
		if (iov_iter_count(from) > max_record)
			return -EMSGSIZE;
		lens[0] = iov_iter_count(from);
		return 0;
	}
	iov = mpmcring_iter_iov(from);
	for (i = 0; i < n; i++) {
		if (iov[i].iov_len > max_record)
			return -EMSGSIZE;
		lens[i] = iov[i].iov_len;
	}
	return 0;
}

/* Reserves the records, waiting for space unless non-blocking. */
static int mpmcring_write_reserve(struct mpmcring_file *mf, const u32 *lens,
				  unsigned long n, bool nonblock,
				  struct mpmcring_rsv *rsv)
{
	long delay = 1;
	int ret;

	for (;;) {
		ret = mpmcring_reserve_prio(mf->ring, lens, n, READ_ONCE(mf->prio),
					    MPMCRING_REC_FROM_USER, nonblock, rsv);
		if (ret != -ENOSPC && ret != -EAGAIN)
			return ret;
		if (nonblock)
			return -EAGAIN;
		/*
		 * Consumers free space with plain stores, not system calls:
		 * nobody can wake us, so look again after a short sleep.
		 */
		if (schedule_timeout_interruptible(delay))
			return -ERESTARTSYS;
		if (signal_pending(current))
			return -ERESTARTSYS;
		delay = min_t(long, delay * 2, HZ / 10 + 1);
	}
}

static ssize_t mpmcring_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct mpmcring_file *mf = iocb->ki_filp->private_data;
	struct mpmcring *ring = mf->ring;
	bool nonblock = (iocb->ki_flags & IOCB_NOWAIT) ||
			(iocb->ki_filp->f_flags & O_NONBLOCK);
	size_t total = iov_iter_count(from);
	unsigned long i, n;
	struct mpmcring_rsv *rsv = NULL;
	u32 *lens = NULL;
	u8 *buf = NULL, *src;
	u64 need = 0;
	ssize_t ret;

	if (!iter_is_ubuf(from) && !iter_is_iovec(from))
		return -EINVAL;
	if (READ_ONCE(ring->dead))
		return -EPIPE;
	if (!total)
		return 0;
	n = iter_is_ubuf(from) ? 1 : from->nr_segs;
	lens = kvmalloc_array(n, sizeof(*lens), GFP_KERNEL);
	rsv = kvmalloc_array(n, sizeof(*rsv), GFP_KERNEL);
	ret = -ENOMEM;
	if (!lens || !rsv)
		goto out;
	ret = mpmcring_write_lens(from, lens, n, ring->layout.max_record);
	for (i = 0; !ret && i < n; i++)
		need += mpr_rec_size(&ring->view, lens[i]);
	if (ret || need > ring->layout.data_size) {
		this_cpu_add(ring->stats->dropped[MPMCRING_DROP_TOO_BIG][READ_ONCE(mf->prio)], n);
		mpr_atomic_add(&ring->view.meta->lost_dropped, n);
		ret = -EMSGSIZE;
		goto out;
	}
	/* Copied in first: a reservation must not wait on page faults. */
	buf = kvmalloc(total, GFP_KERNEL);
	ret = -ENOMEM;
	if (!buf)
		goto out;
	ret = -EFAULT;
	if (copy_from_iter(buf, total, from) != total)
		goto out;

	ret = mpmcring_write_reserve(mf, lens, n, nonblock, rsv);
	if (ret)
		goto out;
	for (i = 0, src = buf; i < n; src += lens[i], i++) {
		memcpy(rsv[i].data, src, lens[i]);
		mpmcring_commit(&rsv[i]);
	}
	ret = total;
out:
	kvfree(buf);
	kvfree(rsv);
	kvfree(lens);
	return ret;
}

const struct file_operations mpmcring_fops = {
	.owner		= THIS_MODULE,
	.open		= mpmcring_open,
	.release	= mpmcring_release_file,
	.unlocked_ioctl	= mpmcring_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= mpmcring_mmap,
	.poll		= mpmcring_poll,
	.read		= mpmcring_read,
	.write_iter	= mpmcring_write_iter,
};
