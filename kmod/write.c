// SPDX-License-Identifier: GPL-2.0-only
/*
 * write(2) and writev(2): userspace producers. One record per call (an
 * io_uring write from a fixed buffer too), or one per segment with writev,
 * all or nothing, in the file's priority class (MPMCRING_IOC_SET_PRIO,
 * capped by the ring's user_max_prio).
 *
 * The payload is copied into kernel memory first: a reservation holds up
 * reclaim for everyone, so it must not wait on page faults; and the copy
 * into the ring runs with preemption off, so one call carries at most
 * MPMCRING_WRITE_MAX bytes. A blocking writer waits for space, woken by the
 * housekeeping tick (consumers free space with plain stores, which nothing
 * else tells the kernel about), by a consumer's commit that asks for it
 * (read(2), MPMCRING_IOC_ROOM where room_at says so: room.c), or by the
 * ring's destruction.
 *
 * Errors: EMSGSIZE a record that can never fit (too big, over
 * MPMCRING_WRITE_MAX, or more than its class may ever use), EINVAL more
 * than MPMCRING_WRITEV_MAX segments or an empty segment (a record carries
 * at least one byte), EAGAIN non-blocking and no room now (full, or races
 * lost to other producers after the retries below), EPIPE the ring was
 * destroyed, EINTR a signal while waiting, EFAULT a bad buffer. A refused
 * write is the caller's to handle (it still holds the data, and may try
 * again): it is not a loss of the ring's, so no drop counter moves.
 */
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/sched/signal.h>
#include <kunit/visibility.h>

#include "internal.h"
#include "compat.h"

/*
 * Whether @from is one record whatever its segments: one user buffer, or
 * kernel memory (io_uring's fixed buffers, IORING_OP_WRITE_FIXED: one user
 * buffer's pinned pages in a bio_vec array, cut at page boundaries;
 * kernel_write()). Linux 6.15's IORING_OP_WRITEV_FIXED joins its user
 * segments into one such array: one record too, where writev(2) makes one
 * per segment; the segments are not told apart here.
 */
static bool mpmcring_write_one_record(const struct iov_iter *from)
{
	return iter_is_ubuf(from) || iov_iter_is_bvec(from) ||
	       iov_iter_is_kvec(from);
}

/*
 * Payload length of each record a write carries: one per segment of user
 * iovecs, else one.
 */
static int mpmcring_write_lens(struct iov_iter *from, u32 *lens,
			       unsigned long n)
{
	size_t left = iov_iter_count(from), skip = from->iov_offset, len;
	const struct iovec *iov;
	unsigned long i;

	if (mpmcring_write_one_record(from)) {
		lens[0] = left;
		return 1;
	}
	iov = mpmcring_iter_iov(from);
	/*
	 * The iterator may start inside its first segment, at iov_offset.
	 * Every segment is a record, the empty ones after the data too: they
	 * are refused, not dropped from the batch.
	 */
	for (i = 0; i < n; i++, skip = 0) {
		len = min(iov[i].iov_len - skip, left);
		lens[i] = len;
		left -= len;
	}
	return i;
}

/*
 * One try: reserve, copy and commit inside one RCU read-side section that
 * starts by looking at @closing. [D4] pairs with [D3] in
 * mpmcring_destroy(): a write that found the ring open has committed
 * before the destroy's grace period ends, so before @dead is set and a
 * consumer takes "dead, then empty" as the end; a write that looks after
 * the grace period began may see @closing and writes nothing (EPIPE).
 */
static int mpmcring_write_try(struct mpmcring *ring, const u32 *lens,
			      unsigned long n, u32 prio, const u8 *src,
			      struct mpmcring_rsv *rsv)
{
	unsigned long i;
	int ret = -EPIPE;

	/* [M:write-closing] the model's step (tests/model). */
	rcu_read_lock();
	if (!READ_ONCE(ring->closing)) {
		/* A refusal is the caller's errno, never a counted drop. */
		ret = mpmcring_reserve_prio(ring, lens, n, prio,
					    MPMCRING_REC_FROM_USER, false, rsv);
		for (i = 0; !ret && i < n; src += lens[i], i++) {
			memcpy(rsv[i].data, src, lens[i]);
			mpmcring_commit(&rsv[i]);
		}
	}
	rcu_read_unlock();
	return ret;
}

/*
 * A reservation that lost races is not a full ring: -EBUSY when an
 * overwrite ring's last round found the reclaim bit taken (the tick's
 * reclaim, read(2)'s, another producer's eviction: room is likely being
 * made), -EAGAIN when every compare-and-swap lost or its room was taken.
 * POLLOUT says writable then, so an O_NONBLOCK write(2) tries again rather
 * than say EAGAIN: after -EBUSY up to MPMCRING_WRITE_BUSY_RETRIES times,
 * each after sleeping while the bit is taken (a few tens of microseconds at
 * a time), all the waits of one call together at most
 * MPMCRING_WRITE_BUSY_WAIT_NS, and not past a signal; after -EAGAIN once,
 * at once. The holder has preemption off and bounded work (tens of
 * microseconds), and this task is preemptible, so it is not the holder;
 * the time bound is for a holder whose CPU a hypervisor put aside, as the
 * test VMs do. Past it the answer is EAGAIN, as for any lost race. The
 * sleep is TASK_IDLE (not counted as load). IOCB_NOWAIT (RWF_NOWAIT,
 * io_uring's inline try) does not wait: it gets EAGAIN (io_uring then
 * waits for POLLOUT and tries again).
 * Kernel and BPF producers never wait (any context): theirs is a drop
 * counted as contention.
 */
bool mpmcring_write_retry(struct mpmcring *ring, int err,
			  struct mpmcring_write_tries *r)
{
	u64 t0;

	/* Both counts held at their bounds: asked again, the answer stays no. */
	if (err == -EAGAIN) {
		if (r->again)
			return false;
		r->again = 1;
		return true;
	}
	if (err != -EBUSY || r->busy >= MPMCRING_WRITE_BUSY_RETRIES)
		return false;
	r->busy++;
	/* A hint, no order needed: the retry's reservation takes the bit. */
	t0 = ktime_get_ns();
	while (test_bit(0, &ring->reclaim_lock) && !signal_pending(current) &&
	       r->waited_ns + ktime_get_ns() - t0 < MPMCRING_WRITE_BUSY_WAIT_NS)
		usleep_idle_range(20, 50);
	r->waited_ns += ktime_get_ns() - t0;
	return !signal_pending(current);
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_write_retry);

/*
 * Writes the records, waiting for space unless non-blocking (@nowait: not
 * even for the reclaim bit).
 */
static int mpmcring_write_records(struct mpmcring_file *mf, const u32 *lens,
				  unsigned long n, u32 prio, u64 need,
				  bool nonblock, bool nowait, const u8 *src,
				  struct mpmcring_rsv *rsv)
{
	struct mpmcring_write_tries retry = { 0 };
	struct mpmcring *ring = mf->ring;
	int ret, looked = 0;
	long t;

	for (;;) {
		/*
		 * [M:write-retry] the model's step (tests/model): every attempt
		 * is a whole mpmcring_write_try(), which looks at @closing in
		 * its own section; the wait and the reclaim are outside it.
		 */
		ret = mpmcring_write_try(ring, lens, n, prio, src, rsv);
		if (ret != -ENOSPC && ret != -EAGAIN && ret != -EBUSY)
			return ret;
		if (nonblock && !nowait && mpmcring_write_retry(ring, ret, &retry))
			continue;
		/*
		 * Edge-triggered POLLOUT waiters hear from the tick (or a
		 * commit: room_at). Room found on the look after asking
		 * ([W5]): another attempt, not EAGAIN with room there; after
		 * MPMCRING_WRITE_LOOKS of them, EAGAIN with the target set
		 * last (the looks' room went to other producers), and its
		 * look too: room found then wakes POLLOUT, as a commit's kick
		 * would, rather than leave a commit that came before the
		 * target to the tick. EAGAIN even then, on purpose: the
		 * looks are spent, and the wakeup says try again.
		 */
		if (nonblock) {
			if (looked++ < MPMCRING_WRITE_LOOKS &&
			    mpmcring_want_room_or_room(ring, prio, need, nowait))
				continue;
			if (looked > MPMCRING_WRITE_LOOKS)
				mpmcring_want_room_or_room(ring, prio, need,
							   nowait);
			return -EAGAIN;
		}
		/*
		 * Woken at @dead, after @closing and a grace period. A wakeup
		 * for a smaller record took the class's bit: asked again.
		 */
		t = wait_event_interruptible_timeout(ring->wq_out,
				READ_ONCE(ring->closing) ||
				mpmcring_room_or_want(ring, prio, need),
				msecs_to_jiffies(MPMCRING_TICK_MS));
		if (t < 0 || signal_pending(current))
			return -ERESTARTSYS;
		/* Room but a lost race (contention): do not spin. */
		cond_resched();
		mpmcring_reclaim(ring);
	}
}

/* One write(2) or writev(2); *need is the bytes its records take. */
static ssize_t mpmcring_write_call(struct kiocb *iocb, struct iov_iter *from,
				   u64 *need_out)
{
	struct mpmcring_file *mf = iocb->ki_filp->private_data;
	struct mpmcring *ring = mf->ring;
	bool nonblock = (iocb->ki_flags & IOCB_NOWAIT) ||
			(iocb->ki_filp->f_flags & O_NONBLOCK);
	size_t total = iov_iter_count(from);
	u32 prio = READ_ONCE(mf->prio), lens[MPMCRING_WRITEV_MAX];
	struct mpmcring_rsv *rsv = NULL;
	unsigned long i, n;
	u8 *buf = NULL;
	u64 need = 0;
	ssize_t ret;

	if (!mpmcring_write_one_record(from) && !iter_is_iovec(from))
		return -EINVAL;
	/*
	 * [M:write-entry] Spares the copy once the destroy began; the look
	 * that keeps a record from landing behind the end is [D4]'s.
	 */
	if (READ_ONCE(ring->closing))
		return -EPIPE;

	if (!total)
		return 0;
	BUILD_BUG_ON(MPMCRING_WRITEV_MAX > MPMCRING_BATCH_MAX);
	n = mpmcring_write_one_record(from) ? 1 : from->nr_segs;
	if (n > MPMCRING_WRITEV_MAX)
		return -EINVAL;
	n = mpmcring_write_lens(from, lens, n);
	for (i = 0; i < n; i++) {
		if (!lens[i])
			return -EINVAL;
		need += mpr_rec_size(&ring->view, lens[i]);
	}
	*need_out = need;
	for (i = 0; i < n && lens[i] <= ring->layout.max_record; i++)
		;
	if (i < n || total > MPMCRING_WRITE_MAX ||
	    need > ring->reserve_limit[prio]) {
		/*
		 * Could never be written: refused now, not waited for. The
		 * reservation's own bound (at most the ring's size), so that
		 * "could never fit" and "does not fit" cannot disagree.
		 */
		return -EMSGSIZE;
	}
	rsv = kmalloc_array(n, sizeof(*rsv), GFP_KERNEL_ACCOUNT);
	buf = kvmalloc(total, GFP_KERNEL_ACCOUNT);
	ret = -ENOMEM;
	if (!rsv || !buf)
		goto out;
	ret = -EFAULT;
	if (copy_from_iter(buf, total, from) != total)
		goto out;

	ret = mpmcring_write_records(mf, lens, n, prio, need, nonblock,
				     iocb->ki_flags & IOCB_NOWAIT, buf, rsv);
	if (!ret)
		ret = total;
out:
	kvfree(buf);
	kfree(rsv);
	return ret;
}

ssize_t mpmcring_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct mpmcring_file *mf = iocb->ki_filp->private_data;
	u64 need = 0;
	ssize_t ret = mpmcring_write_call(iocb, from, &need);

	/*
	 * What POLLOUT promises this file room for (fops.c): the records of
	 * a write refused for room, until its next write ends otherwise.
	 * Only non-blocking writes say EAGAIN.
	 */
	if (ret == -EAGAIN)
		WRITE_ONCE(mf->out_need, need);
	else if (READ_ONCE(mf->out_need))
		WRITE_ONCE(mf->out_need, 0);
	return ret;
}
