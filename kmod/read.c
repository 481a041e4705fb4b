// SPDX-License-Identifier: GPL-2.0-only
/*
 * read(2): a consumer like any other, one record per call, copied out.
 *
 * Its claims live in kernel memory (ring->read_claims[slot]), not in the
 * consumer area: nothing a co-tenant writes can end a claim under it, so the
 * record it copies cannot be reused while it copies. It never copies more
 * than the caller asked for, and it holds a claim only for a bounded time:
 * the copy runs with page faults off (the buffer is faulted in first); if
 * the buffer still faults, the record is copied aside, the claim ends, and
 * the copy to the caller happens after. A record that cannot be copied out
 * at all is consumed and counted (read_faults), not lost silently.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/sched/signal.h>

#include "internal.h"

/* Sleeps until mpmcring_ready() or the ring dies; -ERESTARTSYS on signal. */
int mpmcring_wait_readable(struct mpmcring *ring, u32 wake_class)
{
	DEFINE_WAIT(wait);
	int ret = 0;

	for (;;) {
		/* [W2] pairs with [W1]: set_current_state() is a full barrier. */
		prepare_to_wait(&ring->wq, &wait, TASK_INTERRUPTIBLE);
		if (mpmcring_ready(ring, wake_class) || READ_ONCE(ring->dead))
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

/* Faults in the part of buf the next record will need, without writing it. */
static void mpmcring_read_prefault(struct mpmcring *ring, char __user *buf,
				   size_t count)
{
	const struct mpr_view *v = &ring->view;
	struct mpr_rec rec;
	struct mpr_pos s;

	mpr_positions(v, &s);
	/* user-writable: a peek only; a wrong guess costs the slow copy. */
	if (mpr_head_sane(v, &s) &&
	    mpr_record_at(v, s.head, s.prod, &rec) == MPR_REC_COMMITTED)
		fault_in_safe_writeable(buf, min_t(size_t, count, rec.len));
}

/* Claims, copies and commits one record; mf->lock held. */
static ssize_t mpmcring_read_one(struct mpmcring_file *mf, char __user *buf,
				 size_t count)
{
	struct mpmcring *ring = mf->ring;
	const struct mpr_view *v = &ring->view;
	u64 *claim = &ring->read_claims[mf->read_slot];
	void *bounce = NULL;
	unsigned long left;
	struct mpr_claim c;
	const void *src;
	size_t len;
	int n;

	n = mpr_claim(v, claim, false, 1, count, true, &c);
	if (n == -EBADMSG) {
		mpmcring_repair(ring);
		n = mpr_claim(v, claim, false, 1, count, true, &c);
	}
	if (n < 0)
		return n;
	/* The claim checked the length against count; never copy more. */
	len = min_t(size_t, c.first.len, count);
	src = mpr_payload(v, c.first.pos);
	pagefault_disable();
	left = __copy_to_user_inatomic(buf, src, len);
	pagefault_enable();
	if (left) {
		/* Copied aside while the record is still ours. */
		bounce = kvmalloc(len, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		if (bounce)
			memcpy(bounce, src, len);
	}
	mpr_commit(claim);
	if (!left)
		return len;
	if (bounce && !copy_to_user(buf, bounce, len)) {
		kvfree(bounce);
		return len;
	}
	kvfree(bounce);
	mpmcring_count(ring, read_faults, 1);
	return -EFAULT;
}

ssize_t mpmcring_read(struct file *file, char __user *buf, size_t count,
		      loff_t *ppos)
{
	struct mpmcring_file *mf = file->private_data;
	struct mpmcring *ring = mf->ring;
	ssize_t ret;
	int slot;

	if (!mf->writable)
		return -EPERM;	/* a read-only file observes, it does not consume */
	if (!count)
		return 0;
	for (;;) {
		mpmcring_read_prefault(ring, buf, count);
		if (mutex_lock_interruptible(&mf->lock))
			return -ERESTARTSYS;
		ret = 0;
		if (mf->read_slot < 0) {
			slot = mpmcring_slot_attach(ring, true);
			if (slot < 0)
				ret = slot;
			else
				mf->read_slot = slot;
		}
		if (!ret)
			ret = mpmcring_read_one(mf, buf, count);
		mutex_unlock(&mf->lock);
		if (ret != -EAGAIN && ret != -EBUSY)
			return ret;
		if (READ_ONCE(ring->dead) && ret == -EAGAIN)
			return 0;	/* end of file: destroyed and drained */
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		if (ret == -EBUSY) {
			/* Other consumers kept winning: try again. */
			if (signal_pending(current))
				return -ERESTARTSYS;
			cond_resched();
			continue;
		}
		ret = mpmcring_wait_readable(ring, READ_ONCE(mf->wake_class));
		if (ret)
			return ret;
	}
}
