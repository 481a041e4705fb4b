// SPDX-License-Identifier: GPL-2.0-only
/*
 * The device file of a ring: what userspace sees of it.
 *
 *   mmap   MPMCRING_OFF_CONS: the consumer area, the only writable memory
 *          MPMCRING_OFF_RO:   meta page, slot info, stamps and data
 *                             (twice), read-only
 *          Anything else fails: -EINVAL for a wrong offset, length or a
 *          private mapping, -EPERM for write or exec on read-only memory.
 *   ioctl  setup and statistics (ioctl.c); -ENOTTY for unknown commands
 *   poll   readable when a finished record waits (per-file watermark),
 *          writable when a record of this file's class fits
 *   read   copies one record per call (read.c); readv and io_uring's
 *          reads too, into one segment (-EINVAL for room in several)
 *   write  one record per call; writev: one record per segment (write.c)
 *
 * A file opened read-only observes: it can map (read-only), poll, read the
 * layout and the statistics, and nothing else. Consuming changes what other
 * consumers get, so it takes a read-write file.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/bitmap.h>
#include <kunit/visibility.h>

#include "internal.h"
#include "compat.h"

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
	mf->prio = min_t(u32, MPMCRING_PRIO_NORMAL, ring->layout.user_max_prio);
	mf->writable = file->f_mode & FMODE_WRITE;
	mf->reader = (file->f_mode & FMODE_READ) || !mf->writable;
	/*
	 * A consumer maps the ring, which takes FMODE_READ: a write-only
	 * file would take slots it can never consume from.
	 */
	mf->consumer = (file->f_mode & (FMODE_READ | FMODE_WRITE)) ==
		       (FMODE_READ | FMODE_WRITE);
	mpmcring_object_add(mf, sizeof(*mf), "file", ring->layout.name);
	mpmcring_object_add(mf->slots, BITS_TO_LONGS(ring->layout.max_consumers) *
			    sizeof(unsigned long), "file-slots", ring->layout.name);
	if (mf->reader)
		mpmcring_wake_class_get(ring, 0);
	mpmcring_tick_start(ring);
	file->private_data = mf;
	/*
	 * Reads and writes honour IOCB_NOWAIT (read.c, write.c): with
	 * FMODE_NOWAIT, RWF_NOWAIT is accepted, and io_uring makes each try
	 * itself and waits in ->poll between them, instead of handing a read
	 * or write to a worker thread that may sleep in it (it still does
	 * after many wakes that found nothing for that request: its retry
	 * bound).
	 */
	file->f_mode |= FMODE_NOWAIT;
	return stream_open(inode, file);
}

/**
 * mpmcring_file_attach() - attach a consumer slot for an open file
 * @mf: the file, its lock held
 * @read_slot: the slot is for read(2), not for ATTACH
 *
 * ATTACH and read(2) both come here, so that one count covers both: a
 * file that reads and maps cannot hold more than max_per_file slots and
 * lock other consumers out (docs/trust.md, item 10).
 *
 * Return: the slot's index, -EDQUOT when the file holds max_per_file
 * slots already, or mpmcring_slot_attach()'s error (-EUSERS).
 */
int mpmcring_file_attach(struct mpmcring_file *mf, bool read_slot)
{
	int slot;

	lockdep_assert_held(&mf->lock);
	if (mf->nr_slots >= mf->ring->layout.max_per_file)
		return -EDQUOT;
	slot = mpmcring_slot_attach(mf->ring, read_slot);
	if (slot >= 0)
		mf->nr_slots++;
	return slot;
}

static int mpmcring_release_file(struct inode *inode, struct file *file)
{
	struct mpmcring_file *mf = file->private_data;
	struct mpmcring *ring = mf->ring;
	unsigned int i;

	for_each_set_bit(i, mf->slots, ring->layout.max_consumers)
		mpmcring_slot_detach(ring, i);
	if (mf->read_slot >= 0)
		mpmcring_slot_detach(ring, mf->read_slot);
	mpmcring_room_kick(ring);	/* claims it held let go */
	if (mf->reader)
		mpmcring_wake_class_put(ring, mf->wake_class);
	mpmcring_tick_stop(ring);
	mpmcring_object_del(mf->slots);
	mpmcring_object_del(mf);
	mpmcring_put(ring);
	bitmap_free(mf->slots);
	kfree(mf);
	return 0;
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

/*
 * What POLLOUT promises this file room for: the write it was last refused
 * (EAGAIN), so that a writer of large records is not told "writable" and
 * then "EAGAIN" in a loop; otherwise the smallest record. A need more
 * than the class may ever use (another thread's refusal at the file's
 * old class, past SET_PRIO's reset) would keep POLLOUT off for good: the
 * smallest record then.
 */
static u64 mpmcring_out_need(struct mpmcring_file *mf, u32 prio)
{
	u64 min = mpmcring_min_need(mf->ring), need = READ_ONCE(mf->out_need);

	if (need <= min || need > mf->ring->reserve_limit[prio])
		return min;
	return need;
}

VISIBLE_IF_KUNIT __poll_t mpmcring_poll(struct file *file, poll_table *pt)
{
	struct mpmcring_file *mf = file->private_data;
	struct mpmcring *ring = mf->ring;
	u32 k = READ_ONCE(mf->wake_class), prio = READ_ONCE(mf->prio);
	__poll_t mask = 0;
	bool dead;

	/*
	 * One queue, by the file's mode, not by the events asked
	 * (EPOLL_CTL_MOD asks ->poll again without queueing): a write-only
	 * file waits for room only, away from the queue commits look at.
	 * A waiter on the readers' queue is noted first: one of them decides
	 * how readers are woken (mpmcring_wake_readers()).
	 */
	if (mf->reader && !poll_does_not_wait(pt))
		mpmcring_note_waiter(ring, poll_requested_events(pt));
	poll_wait(file, mf->reader ? &ring->wq : &ring->wq_out, pt);
	/* [W2] pairs with [W1], [W3]: on the queue before looking at the ring. */
	smp_mb();
	/*
	 * The writer's part first: the refusal it may mark for a writer
	 * about to wait (mpmcring_refused_writer_waits()) counts for this
	 * file's own POLLIN below.
	 */
	if (mf->writable) {
		u64 need = mpmcring_out_need(mf, prio);
		bool room = mpmcring_room(ring, prio, need);

		/*
		 * Consumers free space with plain stores: look, for a caller
		 * that asks about writing only (a level-triggered EPOLLIN
		 * poller looping on a full ring would hold the reclaim bit
		 * that evicting producers need); then ask to be woken, and
		 * [W5]'s one more look.
		 */
		if (!room &&
		    (poll_requested_events(pt) & (EPOLLOUT | EPOLLWRNORM))) {
			mpmcring_reclaim(ring);
			room = mpmcring_room(ring, prio, need) ||
			       mpmcring_want_room_or_room(ring, prio, need,
							  false);
		}
		if (room)
			mask |= EPOLLOUT | EPOLLWRNORM;
	}
	/*
	 * [M:end-poll] the model's step (tests/model).
	 * [D2] pairs with [D1] in mpmcring_destroy(): @dead first, then the
	 * ring, so a hangup without EPOLLIN (on a file that reads) means that
	 * every record committed before the end is consumed. Once dead, any record is ready: none
	 * will come to fill the watermark.
	 */
	dead = smp_load_acquire(&ring->dead);
	if (mf->reader && mpmcring_ready(ring, dead ? 0 : k))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (dead)
		mask |= EPOLLHUP;
	return mask;
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_poll);

const struct file_operations mpmcring_fops = {
	.owner		= THIS_MODULE,
	.open		= mpmcring_open,
	.release	= mpmcring_release_file,
	.unlocked_ioctl	= mpmcring_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= mpmcring_mmap,
	.poll		= mpmcring_poll,
	.read		= mpmcring_read,
	.read_iter	= mpmcring_read_iter,
	.write_iter	= mpmcring_write_iter,
};
