// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The system-call side of the library: sleeping until records are ready,
 * per-handle settings, copying producers and statistics.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"

int mpmcring_wait(struct mpmcring *r, int timeout_ms)
{
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
	int n;

	if (r->fd < 0)
		return mpr_lib_error(EBADF, "this ring has no file to wait on");
	n = poll(&pfd, 1, timeout_ms < 0 ? -1 : timeout_ms);
	if (n < 0)
		return mpr_lib_error(errno, "poll: %s", strerror(errno));
	if (n == 0)
		return 0;
	if (pfd.revents & POLLIN)
		return 1;
	if (pfd.revents & POLLHUP) {
		struct mpmcring_record rec;

		/*
		 * Destroyed (poll loads dead before it says POLLHUP, [D2]
		 * with [D1]: every commit landed), then our look, as a claim would look: a module of
		 * ABI 1.2 or older hangs up without POLLIN while records below
		 * the watermark remain (review-gopoll18 S1; the poller drains
		 * such a ring too). Only a record a claim can take (or a
		 * corruption a claim reports) is "ready": anything else would
		 * make a wait-then-read loop spin (review-fix18 S1).
		 */
		if (mpr_lib_look(&r->v, &rec) != -EAGAIN)
			return 1;
		return mpr_lib_error(EPIPE, "the ring was destroyed and is empty");
	}
	return mpr_lib_error(EIO, "poll reported %#x", pfd.revents);
}

static int mpr_lib_ioctl(struct mpmcring *r, unsigned long cmd, void *arg, const char *what)
{
	if (r->fd < 0)
		return mpr_lib_error(EBADF, "this ring has no device file");
	if (ioctl(r->fd, cmd, arg) < 0)
		return mpr_lib_error(errno, "%s: %s", what, strerror(errno));
	return 0;
}

int mpmcring_set_watermark(struct mpmcring *r, uint64_t bytes)
{
	__u64 v = bytes;

	return mpr_lib_ioctl(r, MPMCRING_IOC_SET_WATERMARK, &v, "setting the wakeup watermark");
}

int mpmcring_set_prio(struct mpmcring *r, unsigned int prio)
{
	__u32 v = prio;

	if (r->fd < 0)
		return mpr_lib_error(EBADF, "this ring has no device file");
	if (!ioctl(r->fd, MPMCRING_IOC_SET_PRIO, &v))
		return 0;
	if (errno == EPERM)
		return mpr_lib_error(
			EPERM,
			r->rdonly
				? "setting the write priority: the ring was opened read-only"
				: "setting the write priority: class %u is above what userspace may write on this ring (user_max_prio=%u)",
			prio, r->layout.user_max_prio);
	return mpr_lib_error(errno, "setting the write priority: %s", strerror(errno));
}

int mpmcring_get_stats(struct mpmcring *r, struct mpmcring_stats *st)
{
	return mpr_lib_ioctl(r, MPMCRING_IOC_STATS, st, "reading statistics");
}

int mpmcring_list_consumers(struct mpmcring *r, struct mpmcring_consumer_info *info,
			    unsigned int max)
{
	struct mpmcring_consumers req = { .max = max, .info = (uintptr_t)info };
	int err = mpr_lib_ioctl(r, MPMCRING_IOC_CONSUMERS, &req, "listing the consumers");

	return err ? err : (int)req.count;
}

static int mpr_lib_write_error(int err)
{
	switch (err) {
	case EMSGSIZE:
		return mpr_lib_error(
			err,
			"record can never be written: larger than the ring's max_record, than %u bytes per call, or than its class may use of the ring",
			MPMCRING_WRITE_MAX);
	case EINVAL:
		return mpr_lib_error(err,
				     "write: more than %u records in one call, or bad arguments",
				     MPMCRING_WRITEV_MAX);
	case EAGAIN:
		return mpr_lib_error(err, "ring full (non-blocking write)");
	case EPIPE:
		return mpr_lib_error(err, "the ring was destroyed");
	default:
		return mpr_lib_error(err, "write: %s", strerror(err));
	}
}

int mpmcring_write(struct mpmcring *r, const void *data, size_t len)
{
	ssize_t n;

	if (r->fd < 0)
		return mpr_lib_error(EBADF, "this ring has no device file");
	/* write(2) of nothing returns 0 and writes no record: not a success. */
	if (!len)
		return mpr_lib_error(EINVAL, "an empty record: a record carries at least one byte");
	n = write(r->fd, data, len);
	return n < 0 ? mpr_lib_write_error(errno) : 0;
}

int mpmcring_writev(struct mpmcring *r, const struct iovec *iov, int n)
{
	int i;

	if (r->fd < 0)
		return mpr_lib_error(EBADF, "this ring has no device file");
	/*
	 * The module refuses an empty record among others, but a writev of
	 * nothing but empty ones is a write(2) of nothing: 0, no record.
	 * Refused here wherever it is, one rule (the Go package's too).
	 */
	for (i = 0; iov && i < n; i++)
		if (!iov[i].iov_len)
			return mpr_lib_error(
				EINVAL,
				"record %d of %d in a writev is empty: a record carries at least one byte",
				i, n);
	return writev(r->fd, iov, n) < 0 ? mpr_lib_write_error(errno) : 0;
}
