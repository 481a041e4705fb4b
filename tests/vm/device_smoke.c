// SPDX-License-Identifier: GPL-2.0-only
/*
 * device_smoke: the device file of the default ring, as userspace sees it
 * (kmod/fops.c): the INFO ioctl, the two mappings and every way of asking
 * for more than they allow, and one record through write(2) and read(2).
 * Runs in the test guest with mpmcring.ko loaded (default ring, default
 * parameters).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/mpmcring.h>

#include "kselftest_harness.h"

#define DEV_PATH "/dev/mpmcring"

FIXTURE(dev)
{
	int fd;
	long page;
	struct mpmcring_layout info;
};

FIXTURE_SETUP(dev)
{
	self->page = sysconf(_SC_PAGESIZE);
	self->fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", DEV_PATH, strerror(errno));
	memset(&self->info, 0xa5, sizeof(self->info));
	ASSERT_EQ(0, ioctl(self->fd, MPMCRING_IOC_INFO, &self->info))
	TH_LOG("MPMCRING_IOC_INFO: %s", strerror(errno));
}

FIXTURE_TEARDOWN(dev)
{
	if (self->fd >= 0)
		close(self->fd);
}

static int is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/* mmap() that returns the errno of a failure, 0 (and unmaps) on success. */
static int try_mmap(int fd, size_t len, int prot, int flags, uint64_t off)
{
	void *p = mmap(NULL, len, prot, flags, fd, (off_t)off);

	if (p == MAP_FAILED)
		return errno;
	munmap(p, len);
	return 0;
}

/* Reads (non-blocking) and throws away whatever the ring holds. */
static int drain(int fd, size_t cap)
{
	char *buf = malloc(cap);
	int flags = fcntl(fd, F_GETFL);
	int i, err = 0;

	if (!buf || flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK))
		err = ENOMEM;
	for (i = 0; !err && i < 1000000; i++) {
		if (read(fd, buf, cap) < 0) {
			if (errno != EAGAIN)
				err = errno;
			break;
		}
	}
	free(buf);
	return err;
}

static void fill(unsigned char *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 8));
}

TEST_F(dev, info)
{
	const struct mpmcring_layout *l = &self->info;

	EXPECT_EQ(MPMCRING_MAGIC, l->magic);
	EXPECT_EQ(MPMCRING_ABI_MAJOR, l->abi_major);
	EXPECT_EQ(sizeof(struct mpmcring_layout), l->layout_size);
	EXPECT_TRUE(is_pow2(l->data_size))
	TH_LOG("data_size %llu", (unsigned long long)l->data_size);
	EXPECT_EQ(0, l->features & ~MPMCRING_FEAT_KNOWN);
	EXPECT_LE(3, l->granule_shift);
	EXPECT_LT(0, l->max_record);
	EXPECT_LE((uint64_t)l->max_record + MPMCRING_HDR_SIZE, l->data_size);
	EXPECT_LT(0, l->max_consumers);
	EXPECT_EQ(0, l->cons_size % self->page);
	EXPECT_EQ(0, l->ro_size % self->page);
	EXPECT_LE(MPMCRING_CONS_HDR_SIZE + l->max_consumers * sizeof(struct mpmcring_slot),
		  l->cons_size);
	/* The data area is mapped twice, back to back, at the end. */
	EXPECT_EQ(l->ro_size, l->data_offset + 2 * l->data_size);
	EXPECT_LE(sizeof(struct mpmcring_meta), l->stamps_offset);
	EXPECT_LE(l->stamps_offset, l->data_offset);
	EXPECT_EQ(0, strcmp(l->name, "default"));
}

TEST_F(dev, unknown_ioctl_enotty)
{
	uint64_t arg[16] = { 0 };

	EXPECT_EQ(-1, ioctl(self->fd, _IO(MPMCRING_IOC_TYPE, 0x7f), arg));
	EXPECT_EQ(ENOTTY, errno);
	/* INFO's number with the wrong direction is another command. */
	EXPECT_EQ(-1, ioctl(self->fd, _IOW(MPMCRING_IOC_TYPE, 0xa0, struct mpmcring_layout), arg));
	EXPECT_EQ(ENOTTY, errno);
}

/* INFO or STATS (nr) asked for size bytes into buf (filled with 0xa5 first). */
static int ioc_sized(int fd, unsigned int nr, unsigned int size, unsigned char *buf, size_t cap)
{
	memset(buf, 0xa5, cap);
	return ioctl(fd, _IOC(_IOC_READ, MPMCRING_IOC_TYPE, nr, size), buf) ? errno : 0;
}

static size_t count_byte(const unsigned char *p, size_t len, unsigned char b)
{
	size_t n = 0;

	while (len--)
		n += *p++ == b;
	return n;
}

/*
 * A library built against another version of the header asks INFO and
 * STATS with its own struct size (it is in the command number): an older,
 * smaller one gets the fields it knows and nothing written past them; a
 * newer, larger one gets the kernel's struct and zeros after it; one below
 * the first published size is refused.
 */
TEST_F(dev, info_and_stats_take_the_callers_size)
{
	static const struct {
		unsigned int nr, ver0, size;
	} ioc[] = {
		{ 0xa0, MPMCRING_LAYOUT_SIZE_VER0, sizeof(struct mpmcring_layout) },
		{ 0xa3, MPMCRING_STATS_SIZE_VER0, sizeof(struct mpmcring_stats) },
	};
	unsigned char buf[1024];
	struct mpmcring_layout *l = (struct mpmcring_layout *)buf;
	unsigned int i;

	for (i = 0; i < 2; i++) {
		unsigned int small = ioc[i].ver0, big = ioc[i].size + 64;

		ASSERT_EQ(0, ioc_sized(self->fd, ioc[i].nr, small, buf, sizeof(buf)))
		TH_LOG("nr %#x, %u bytes (an older library): %s", ioc[i].nr, small,
		       strerror(errno));
		EXPECT_EQ(sizeof(buf) - small, count_byte(buf + small, sizeof(buf) - small, 0xa5))
		TH_LOG("nr %#x wrote past the %u bytes asked for", ioc[i].nr, small);
		if (ioc[i].nr == 0xa0) {
			EXPECT_EQ(0, memcmp(buf, &self->info, small));
		} else {
			/* produced_records; the ring is quiet during the test */
			EXPECT_NE(0xa5a5a5a5a5a5a5a5ULL, *(uint64_t *)buf);
		}
		ASSERT_EQ(0, ioc_sized(self->fd, ioc[i].nr, big, buf, sizeof(buf)))
		TH_LOG("nr %#x, %u bytes (a newer library): %s", ioc[i].nr, big, strerror(errno));
		EXPECT_EQ(64, count_byte(buf + ioc[i].size, 64, 0))
		TH_LOG("nr %#x: the bytes past the kernel's struct are not zeroed", ioc[i].nr);
		EXPECT_EQ(sizeof(buf) - big, count_byte(buf + big, sizeof(buf) - big, 0xa5));
		if (ioc[i].nr == 0xa0)
			EXPECT_EQ(0, memcmp(buf, &self->info, sizeof(self->info)));
		EXPECT_EQ(EINVAL, ioc_sized(self->fd, ioc[i].nr, small - 8, buf, sizeof(buf)))
		TH_LOG("nr %#x, %u bytes: under the first published size", ioc[i].nr, small - 8);
	}
	/* The older library sees the kernel's own size and can tell. */
	ASSERT_EQ(0, ioc_sized(self->fd, 0xa0, MPMCRING_LAYOUT_SIZE_VER0, buf, sizeof(buf)));
	EXPECT_EQ(sizeof(struct mpmcring_layout), l->layout_size);
}

TEST_F(dev, mmap_layout_matches_info)
{
	const struct mpmcring_layout *l = &self->info;
	const struct mpmcring_meta *meta;
	void *cons, *ro;

	cons = mmap(NULL, l->cons_size, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
		    MPMCRING_OFF_CONS);
	ASSERT_NE(MAP_FAILED, cons) TH_LOG("mmap cons: %s", strerror(errno));
	ro = mmap(NULL, l->ro_size, PROT_READ, MAP_SHARED, self->fd, (off_t)MPMCRING_OFF_RO);
	ASSERT_NE(MAP_FAILED, ro) TH_LOG("mmap ro: %s", strerror(errno));

	meta = ro;
	EXPECT_EQ(0, memcmp(&meta->layout, l, sizeof(*l)));
	EXPECT_EQ(MPMCRING_MAGIC, meta->layout.magic);
	/* Positions in a sane order: reclaim <= head <= prod. */
	{
		const struct mpmcring_cons_area *ca = cons;
		uint64_t r = __atomic_load_n(&meta->reclaim_pos, __ATOMIC_ACQUIRE);
		uint64_t h = __atomic_load_n(&ca->head, __ATOMIC_ACQUIRE);
		uint64_t p = __atomic_load_n(&meta->prod_pos, __ATOMIC_ACQUIRE);

		EXPECT_LE(h - r, p - r);
		EXPECT_LE(p - r, l->data_size);
	}
	EXPECT_EQ(0, munmap(ro, l->ro_size));
	EXPECT_EQ(0, munmap(cons, l->cons_size));
}

TEST_F(dev, mmap_ro_writable_eperm)
{
	EXPECT_EQ(EPERM, try_mmap(self->fd, self->info.ro_size, PROT_READ | PROT_WRITE, MAP_SHARED,
				  MPMCRING_OFF_RO));
	EXPECT_EQ(EPERM, try_mmap(self->fd, self->info.ro_size, PROT_READ | PROT_EXEC, MAP_SHARED,
				  MPMCRING_OFF_RO));
}

TEST_F(dev, mmap_bad_offset_einval)
{
	const struct mpmcring_layout *l = &self->info;

	EXPECT_EQ(EINVAL, try_mmap(self->fd, l->cons_size, PROT_READ, MAP_SHARED, self->page));
	EXPECT_EQ(EINVAL, try_mmap(self->fd, l->ro_size - self->page, PROT_READ, MAP_SHARED,
				   MPMCRING_OFF_RO + self->page));
	EXPECT_EQ(EINVAL,
		  try_mmap(self->fd, self->page, PROT_READ, MAP_SHARED, MPMCRING_OFF_RO * 2));
}

TEST_F(dev, mmap_bad_length_einval)
{
	const struct mpmcring_layout *l = &self->info;

	EXPECT_EQ(EINVAL, try_mmap(self->fd, l->cons_size + self->page, PROT_READ | PROT_WRITE,
				   MAP_SHARED, MPMCRING_OFF_CONS));
	EXPECT_EQ(EINVAL, try_mmap(self->fd, l->ro_size + self->page, PROT_READ, MAP_SHARED,
				   MPMCRING_OFF_RO));
	EXPECT_EQ(EINVAL, try_mmap(self->fd, l->ro_size - self->page, PROT_READ, MAP_SHARED,
				   MPMCRING_OFF_RO));
	if (l->cons_size > (uint64_t)self->page)
		EXPECT_EQ(EINVAL, try_mmap(self->fd, l->cons_size - self->page,
					   PROT_READ | PROT_WRITE, MAP_SHARED, MPMCRING_OFF_CONS));
}

TEST_F(dev, mmap_private_einval)
{
	const struct mpmcring_layout *l = &self->info;

	EXPECT_EQ(EINVAL, try_mmap(self->fd, l->cons_size, PROT_READ | PROT_WRITE, MAP_PRIVATE,
				   MPMCRING_OFF_CONS));
	EXPECT_EQ(EINVAL, try_mmap(self->fd, l->ro_size, PROT_READ, MAP_PRIVATE, MPMCRING_OFF_RO));
}

TEST_F(dev, mprotect_ro_eacces)
{
	const struct mpmcring_layout *l = &self->info;
	volatile const uint64_t *magic;
	void *ro;

	ro = mmap(NULL, l->ro_size, PROT_READ, MAP_SHARED, self->fd, (off_t)MPMCRING_OFF_RO);
	ASSERT_NE(MAP_FAILED, ro) TH_LOG("mmap ro: %s", strerror(errno));
	EXPECT_EQ(-1, mprotect(ro, l->ro_size, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(-1, mprotect(ro, self->page, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	/* Still mapped and readable. */
	magic = ro;
	EXPECT_EQ(MPMCRING_MAGIC, *magic);
	EXPECT_EQ(0, munmap(ro, l->ro_size));
}

TEST_F(dev, write_read_roundtrip)
{
	size_t cap = self->info.max_record, len = 100;
	unsigned char *in = malloc(len), *out = malloc(cap);
	ssize_t n;

	ASSERT_NE(NULL, in);
	ASSERT_NE(NULL, out);
	ASSERT_EQ(0, drain(self->fd, cap));
	fill(in, len, (unsigned int)getpid());
	n = write(self->fd, in, len);
	ASSERT_EQ((ssize_t)len, n) TH_LOG("write: %s", strerror(errno));
	memset(out, 0, cap);
	n = read(self->fd, out, cap);
	ASSERT_EQ((ssize_t)len, n) TH_LOG("read: %s", n < 0 ? strerror(errno) : "short");
	EXPECT_EQ(0, memcmp(in, out, len));
	/* Nothing else is there. */
	EXPECT_EQ(-1, read(self->fd, out, cap));
	EXPECT_EQ(EAGAIN, errno);
	free(in);
	free(out);
}

TEST_F(dev, read_small_buffer_emsgsize)
{
	size_t cap = self->info.max_record, len = 100;
	unsigned char *in = malloc(len), *out = malloc(cap);
	ssize_t n;

	ASSERT_NE(NULL, in);
	ASSERT_NE(NULL, out);
	ASSERT_EQ(0, drain(self->fd, cap));
	fill(in, len, (unsigned int)getpid() + 1);
	ASSERT_EQ((ssize_t)len, write(self->fd, in, len))
	TH_LOG("write: %s", strerror(errno));
	EXPECT_EQ(-1, read(self->fd, out, 10));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_EQ(-1, read(self->fd, out, len - 1));
	EXPECT_EQ(EMSGSIZE, errno);
	/* The record was not consumed by the failed reads. */
	memset(out, 0, cap);
	n = read(self->fd, out, cap);
	ASSERT_EQ((ssize_t)len, n) TH_LOG("read: %s", n < 0 ? strerror(errno) : "short");
	EXPECT_EQ(0, memcmp(in, out, len));
	free(in);
	free(out);
}

TEST_HARNESS_MAIN
