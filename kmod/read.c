// SPDX-License-Identifier: GPL-2.0-only
/*
 * read(2): a consumer like any other, one record per call, copied out.
 *
 * Its claims live in kernel memory (ring->read_claims[slot]), not in the
 * consumer area, so a co-tenant cannot write them. They are leased like a
 * mapped consumer's (the task may be preempted or throttled while it holds
 * one), and a co-tenant that writes the head back can make reclaim pass
 * one: either way the commit says so, the copy is dropped and the next
 * record tried (-ESTALE). A claim is held as briefly as possible: the part
 * of the buffer the record needs is faulted in first, the claim takes a
 * record no longer than that, and the copy runs with page faults off. If
 * the buffer faults anyway (another thread unmapped it meanwhile), the
 * record is copied aside without sleeping, the claim ends, and the copy to
 * the caller happens after, with no lock held. It never copies more than
 * the caller asked for. A record that cannot be copied out is consumed and
 * counted (read_faults), not lost silently. io_uring's fixed buffers are
 * pinned pages: nothing to fault in, and the copy cannot fault.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/sched/signal.h>
#include <linux/uio.h>
#include <kunit/visibility.h>

#include "compat.h"
#include "internal.h"

/* Room wakeups (EPOLLOUT alone) are for writers: a reader sleeps on. */
static int mpmcring_read_wake(struct wait_queue_entry *wq_entry,
			      unsigned int mode, int sync, void *key)
{
	if (key && !(key_to_poll(key) & (EPOLLIN | EPOLLRDNORM | EPOLLHUP)))
		return 0;
	return autoremove_wake_function(wq_entry, mode, sync, key);
}

/*
 * Sleeps until mpmcring_ready() for the file's watermark (as it is now: it
 * may change while we sleep) or the ring dies; -ERESTARTSYS on signal.
 */
int mpmcring_wait_readable(struct mpmcring_file *mf)
{
	struct mpmcring *ring = mf->ring;
	DEFINE_WAIT_FUNC(wait, mpmcring_read_wake);
	int ret = 0;

	for (;;) {
		/* [W2] pairs with [W1], [W3]: set_current_state() is a full barrier. */
		prepare_to_wait(&ring->wq, &wait, TASK_INTERRUPTIBLE);
		if (mpmcring_ready(ring, READ_ONCE(mf->wake_class)) ||
		    READ_ONCE(ring->dead))
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

/*
 * Faults in the part of buf the next record needs, without writing it.
 * Returns how many bytes of buf are faulted in: what the claim may take.
 */
static size_t mpmcring_read_prefault(struct mpmcring *ring, char __user *buf,
				     size_t count, bool all)
{
	const struct mpr_view *v = &ring->view;
	size_t len = min_t(size_t, count, v->max_record);
	struct mpr_rec rec;
	struct mpr_pos s;
	int st;

	mpr_positions(v, &s);
	/*
	 * user-writable: a peek only; a wrong guess costs another round. No
	 * record at the head (empty, or one being written): the first byte,
	 * not the whole buffer, for a read that will most likely wait. A
	 * discarded one: all, the claim takes what follows it.
	 */
	if (!all && mpr_head_sane(v, &s)) {
		st = s.head == s.prod ? MPR_REC_NONE :
				       mpr_record_at(v, s.head, s.prod, &rec);
		if (st == MPR_REC_COMMITTED)
			len = min_t(size_t, len, rec.len);
		else if (st == MPR_REC_NONE)
			len = 1;
	}
	/* A buffer that cannot hold it is the caller's error: nothing taken. */
	return fault_in_safe_writeable(buf, len) ? 0 : len;
}

/* What one attempt of read(2) did. */
struct mpmcring_read_out {
	ssize_t ret;
	void *bounce;	/* copied aside: copy out with no lock held */
	size_t len;
	/*
	 * It released room that a writer may wait for: a commit, a claim
	 * that moved the head over discarded records only, a repair.
	 */
	bool kick;
};

/*
 * read(2)'s result for an error of the claim. A file with no slot for
 * read(2) that can get none (-EDQUOT, -EUSERS) needs none once the ring is
 * destroyed ([D2]: @dead was loaded first) and nothing is left to claim:
 * that is its end of file, as final as the claim's. With records left the
 * error stands: they are there for a slot (docs/trust.md, 10).
 */
static ssize_t mpmcring_read_failed(struct mpmcring *ring, bool dead,
				    ssize_t ret)
{
	if (dead && (ret == -EDQUOT || ret == -EUSERS) &&
	    !mpmcring_ready(ring, 0))
		return 0;
	return ret;
}

/*
 * Where a read copies to: a user buffer, or an iterator over pinned pages
 * (io_uring's fixed buffers: ITER_BVEC), which never faults and always has
 * room for what the claim took. The iterator moves only once the record is
 * handed over (mpmcring_read_iter()).
 */
struct mpmcring_read_to {
	char __user *buf;
	struct iov_iter *kiter;
};

/*
 * Copies len bytes to @to from where it begins, page faults off; returns
 * what was not copied. Faults off for the pages too: hardened usercopy
 * then skips its lookup of the ring's vmap area, a lock (a sleeping one on
 * PREEMPT_RT) that a claim should not wait for.
 */
static size_t mpmcring_read_copy(const struct mpmcring_read_to *to,
				 const void *src, size_t len)
{
	struct iov_iter it;
	size_t left;

	pagefault_disable();
	if (to->kiter) {
		it = *to->kiter;
		left = len - copy_to_iter(src, len, &it);
	} else {
		left = __copy_to_user_inatomic(to->buf, src, len);
	}
	pagefault_enable();
	return left;
}

/*
 * Claims, copies and commits one record of at most want bytes (faulted
 * in, or pinned); mf->lock held. -EMSGSIZE when the record at the head
 * is longer.
 */
static void mpmcring_read_one(struct mpmcring_file *mf,
			      const struct mpmcring_read_to *to,
			      size_t want, struct mpmcring_read_out *out)
{
	struct mpmcring *ring = mf->ring;
	const struct mpr_view *v = &ring->view;
	u64 *claim = &ring->read_claims[mf->read_slot];
	unsigned long left;
	struct mpr_claim c;
	const void *src;
	int n;

	n = mpr_claim(v, claim, false, 1, want, true, &c);
	out->kick = c.skipped != MPMCRING_SLOT_IDLE;
	if (n == -EBADMSG) {
		/* Its reclaim may free room; no backstop of its own. */
		out->kick = true;
		mpmcring_repair(ring);
		n = mpr_claim(v, claim, false, 1, want, true, &c);
	}
	if (n < 0) {
		/*
		 * -ESTALE: revoked while claiming (this task stood still);
		 * counted by the revocation, and the caller tries the next.
		 */
		out->ret = n;
		return;
	}
	/* The claim checked the length against want; never copy more. */
	out->len = min_t(size_t, c.first.len, want);
	src = mpr_payload(v, c.first.pos);
	left = mpmcring_read_copy(to, src, out->len);
	/* Pinned pages cannot fault: nothing to copy aside for them. */
	if (left && !to->kiter) {
		/* Copied aside while the record is still ours, no sleeping. */
		out->bounce = kvmalloc(out->len, GFP_NOWAIT | __GFP_NOWARN |
				       __GFP_ACCOUNT);
		if (out->bounce)
			memcpy(out->bounce, src, out->len);
	}
	if (mpr_commit(v, claim, c.start)) {
		/*
		 * Revoked (this task stood still past the lease, preempted or
		 * throttled) or passed: the copy may be torn. Counted by the
		 * revocation; the caller tries the next record.
		 */
		kvfree(out->bounce);
		out->bounce = NULL;
		out->ret = -ESTALE;
		return;
	}
	out->kick = true;
	if (!left || out->bounce)
		out->ret = out->len;
	else
		out->ret = to->kiter ? -EFAULT : -ENOMEM;
}

/*
 * One record into buf: read(2), and each call of mpmcring_read_iter().
 * @nonblock: -EAGAIN rather than a sleep for a record; @nowait (IOCB_NOWAIT:
 * RWF_NOWAIT, io_uring's tries) also rather than a wait for the file's
 * lock (held briefly by its reads and ioctls, from any thread or process
 * that shares the open file) or another go after a revoked claim.
 */
static ssize_t mpmcring_read_buf(struct file *file,
				 const struct mpmcring_read_to *to,
				 size_t count, bool nonblock, bool nowait)
{
	struct mpmcring_file *mf = file->private_data;
	struct mpmcring *ring = mf->ring;
	struct mpmcring_read_out out;
	int slot, round = 0;
	size_t want;
	bool dead;

	if (!mf->consumer)
		return -EPERM;	/* a read-only file observes, it does not consume */
	if (!count)
		return 0;
	for (;;) {
		/*
		 * Fault in what the record at the head needs, claim no more;
		 * if another took it and a longer one came, once more, and
		 * after a few rounds fault in all the caller gave.
		 */
		want = to->kiter ? min_t(size_t, count, ring->view.max_record) :
			mpmcring_read_prefault(ring, to->buf, count, round >= 4);
		if (!want)
			return -EFAULT;
		if (nowait) {
			if (!mutex_trylock(&mf->lock))
				return -EAGAIN;
		} else if (mutex_lock_interruptible(&mf->lock)) {
			return -ERESTARTSYS;
		}
		out = (struct mpmcring_read_out){ .ret = 0 };
		if (mf->read_slot < 0) {
			slot = mpmcring_file_attach(mf, true);
			if (slot < 0)
				out.ret = slot;
			else
				mf->read_slot = slot;
		}
		/*
		 * [M:end-read] the model's step (tests/model).
		 * [D2] pairs with [D1] in mpmcring_destroy(): @dead first,
		 * then the ring. Had it been the other way round, a record
		 * committed after an empty look and before the end would be
		 * left behind an end of file.
		 */
		dead = smp_load_acquire(&ring->dead);
		if (!out.ret)
			mpmcring_read_one(mf, to, want, &out);
		mutex_unlock(&mf->lock);
		/*
		 * Writers may wait for the room this attempt released (a
		 * commit, whether its copy is done, still to come from the
		 * bounce buffer or lost to -ENOMEM; a claim of discarded
		 * records only, which no commit follows): ask now, not at the
		 * tick, before a signal or a fault below can return.
		 */
		if (out.kick)
			mpmcring_room_kick(ring);
		if (out.bounce) {
			out.ret = copy_to_user(to->buf, out.bounce, out.len) ?
				  -EFAULT : out.len;
			kvfree(out.bounce);
		}
		if (out.ret == -EFAULT || out.ret == -ENOMEM) {
			mpmcring_count(ring, read_faults, 1);	/* consumed */
			return out.ret;
		}
		/*
		 * [M:read-end] the end (0) only with @dead loaded before a
		 * claim that found nothing (-EAGAIN); a revoked claim, a
		 * lost race and a file lock not taken (IOCB_NOWAIT) are
		 * never the end.
		 */
		if (out.ret == -ESTALE) {
			/*
			 * What was copied is not handed over: the next one,
			 * on the caller's next try when it must not wait.
			 */
			if (nowait)
				return -EAGAIN;
			if (signal_pending(current))
				return -ERESTARTSYS;
			cond_resched();
			continue;
		}
		if (out.ret == -EMSGSIZE && want < count && round++ < 8)
			continue;	/* a longer record than we faulted in */
		if (out.ret != -EAGAIN && out.ret != -EBUSY)
			return mpmcring_read_failed(ring, dead, out.ret);
		if (dead && out.ret == -EAGAIN)
			return 0;	/* end of file: destroyed, then drained */
		if (nonblock)
			return -EAGAIN;
		if (signal_pending(current))
			return -ERESTARTSYS;
		if (out.ret == -EBUSY) {
			/* Other consumers kept winning: try again. */
			cond_resched();
			continue;
		}
		round = 0;
		out.ret = mpmcring_wait_readable(mf);
		if (out.ret)
			return out.ret;
	}
}

ssize_t mpmcring_read(struct file *file, char __user *buf, size_t count,
		      loff_t *ppos)
{
	struct mpmcring_read_to to = { .buf = buf };

	return mpmcring_read_buf(file, &to, count, file->f_flags & O_NONBLOCK,
				 false);
}

/*
 * The user buffer that holds all of @to's room (empty segments before it
 * passed over), or NULL when the room is in more than one segment.
 */
static char __user *mpmcring_iter_buf(const struct iov_iter *to, size_t count)
{
	const struct iovec *iov;
	size_t skip = to->iov_offset;
	unsigned long i;

	if (iter_is_ubuf(to))
		return to->ubuf + skip;
	iov = mpmcring_iter_iov(to);
	for (i = 0; i < to->nr_segs; i++, skip = 0)	/* at most UIO_MAXIOV */
		if (iov[i].iov_len > skip)
			return iov[i].iov_len - skip >= count ?
			       iov[i].iov_base + skip : NULL;
	return NULL;
}

/*
 * readv(2), preadv2(2) (at offset -1: the file has no position), Linux
 * AIO and io_uring's reads (both take ->read_iter where there is one): one
 * record per call into one buffer, as read(2).
 * With ->read alone the kernel would call it once per segment: records
 * joined, their boundaries lost, and on a blocking file a sleep for the
 * next record with one already taken. A record is not spread over user
 * segments: an iterator whose room is in more than one is refused
 * (-EINVAL), before anything is claimed. io_uring's fixed buffers
 * (IORING_OP_READ_FIXED: pinned pages in a bio_vec array, one user buffer
 * cut at page boundaries) take the record across their segments: they
 * cannot fault. (So would Linux 6.15's IORING_OP_READV_FIXED, whose user
 * segments arrive joined in one bio_vec array: nothing here tells them
 * apart.) Other kinds of iterator are refused (-EINVAL); kernel_read()
 * never comes here (the file has ->read). IOCB_NOWAIT (RWF_NOWAIT, io_uring's tries: the file
 * has FMODE_NOWAIT) reads as O_NONBLOCK does and does not wait for the
 * file's lock either: io_uring then waits for the record in ->poll, not
 * in a worker thread asleep here.
 */
ssize_t mpmcring_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	size_t count = iov_iter_count(to);
	struct mpmcring_read_to dst = { };
	ssize_t ret;

	/* Nothing asked: read(2)'s answer (EPERM, or 0). */
	if (count) {
		if (iov_iter_is_bvec(to))
			dst.kiter = to;
		else if (iter_is_ubuf(to) || iter_is_iovec(to))
			dst.buf = mpmcring_iter_buf(to, count);
		if (!dst.kiter && !dst.buf)
			return -EINVAL;
	}
	ret = mpmcring_read_buf(iocb->ki_filp, &dst, count,
				(iocb->ki_flags & IOCB_NOWAIT) ||
				(iocb->ki_filp->f_flags & O_NONBLOCK),
				iocb->ki_flags & IOCB_NOWAIT);
	if (ret > 0)
		iov_iter_advance(to, ret);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_read_iter);
