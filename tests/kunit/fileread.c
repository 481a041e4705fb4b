// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring_fileread: read(2)'s path as io_uring drives it, ->read_iter
 * with IOCB_NOWAIT into pinned pages (a bio_vec iterator, as
 * IORING_OP_READ_FIXED gives). A try that would wait, for a record or for
 * the file's lock, must say EAGAIN at once and take nothing: io_uring then
 * waits in ->poll, not in a worker thread asleep in the read. A try that
 * slept instead would hang the suite (the harness's VM timeout says so).
 */
#include <kunit/test.h>
#include <linux/bvec.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/uio.h>

#include "util.h"

/* An open read-write file of a ring and a buffer to read into. */
struct kt_file {
	struct file f;
	struct mpmcring_file mf;
	void *buf;	/* PAGE_SIZE bytes; kmalloc aligns it to its size */
};

/*
 * What mpmcring_open() sets up that the read path uses. Made before the
 * ring, so that a failed allocation leaves no ring registered behind.
 */
static struct kt_file *kt_file_new(struct kunit *test)
{
	struct kt_file *k = kunit_kzalloc(test, sizeof(*k), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, k);
	mutex_init(&k->mf.lock);
	k->mf.read_slot = -1;
	k->mf.prio = MPMCRING_PRIO_NORMAL;
	k->mf.reader = true;
	k->mf.writable = true;
	k->mf.consumer = true;
	k->f.private_data = &k->mf;
	k->buf = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, k->buf);
	return k;
}

/* The slot read(2) attached, as mpmcring_release_file() lets it go. */
static void kt_file_close(struct kt_file *k)
{
	if (k->mf.read_slot >= 0)
		mpmcring_slot_detach(k->mf.ring, k->mf.read_slot);
	k->mf.read_slot = -1;
}

/*
 * One IOCB_NOWAIT read of up to @len bytes into the buffer. The kiocb is
 * set by hand: init_sync_kiocb() would look at the file's inode, which
 * this file has not.
 */
static ssize_t kt_read_nowait(struct kt_file *k, size_t len)
{
	struct bio_vec bv = { .bv_page = virt_to_page(k->buf), .bv_len = len,
			      .bv_offset = offset_in_page(k->buf) };
	struct kiocb iocb = { .ki_filp = &k->f, .ki_flags = IOCB_NOWAIT };
	struct iov_iter to;

	iov_iter_bvec(&to, ITER_DEST, &bv, 1, len);
	return mpmcring_read_iter(&iocb, &to);
}

/* Nothing to read: EAGAIN, and no sleep until a record comes. */
static void fileread_nowait_empty_says_eagain(struct kunit *test)
{
	struct kt_file *k = kt_file_new(test);
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);

	k->mf.ring = ring;
	KUNIT_EXPECT_EQ(test, kt_read_nowait(k, 256), (ssize_t)-EAGAIN);
	kt_file_close(k);
	mpmcring_destroy(ring);
}

/*
 * The file's lock held (another thread's read or ioctl on the same open
 * file): EAGAIN at once, nothing claimed and no slot attached; once it is
 * let go the same read takes the record whole.
 */
static void fileread_nowait_lock_held_says_eagain(struct kunit *test)
{
	struct kt_file *k = kt_file_new(test);
	struct mpmcring_params p = { .size = 4096 };
	struct mpmcring *ring = kt_ring(test, &p);
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	const u32 len = 56;
	ssize_t n;
	u64 head;

	k->mf.ring = ring;
	KUNIT_EXPECT_EQ(test, kt_produce(ring, len, MPMCRING_PRIO_NORMAL, 1, 0, 7), 0);
	if (test->status == KUNIT_FAILURE)
		goto out;

	mutex_lock(&k->mf.lock);
	n = kt_read_nowait(k, 256);
	mutex_unlock(&k->mf.lock);
	head = READ_ONCE(v->cons->head);
	KUNIT_EXPECT_EQ(test, n, (ssize_t)-EAGAIN);
	KUNIT_EXPECT_EQ(test, head, 0ULL);
	KUNIT_EXPECT_EQ(test, k->mf.read_slot, -1);
	/* A failed step ends the case: 6.1 keeps 512 bytes of its log. */
	if (test->status == KUNIT_FAILURE)
		goto out;

	n = kt_read_nowait(k, 256);
	head = READ_ONCE(v->cons->head);
	KUNIT_EXPECT_EQ(test, n, (ssize_t)len);
	if (n == len)
		KUNIT_EXPECT_EQ(test, mpr_testrec_check(k->buf, len), 0);
	KUNIT_EXPECT_EQ(test, head, (u64)mpr_rec_size(v, len));
	KUNIT_EXPECT_GE(test, k->mf.read_slot, 0);
	/* Taken, and nothing more to take: EAGAIN again, not the record twice. */
	KUNIT_EXPECT_EQ(test, kt_read_nowait(k, 256), (ssize_t)-EAGAIN);
out:
	kt_file_close(k);
	mpmcring_destroy(ring);
}

static struct kunit_case fileread_cases[] = {
	KUNIT_CASE(fileread_nowait_empty_says_eagain),
	KUNIT_CASE(fileread_nowait_lock_held_says_eagain),
	{}
};

static struct kunit_suite fileread_suite = {
	.name = "mpmcring_fileread",
	.test_cases = fileread_cases,
};
kunit_test_suite(fileread_suite);
