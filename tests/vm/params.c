// SPDX-License-Identifier: GPL-2.0-only
/*
 * Module parameters of the default ring: a bad value fails insmod with
 * EINVAL and a kernel log line that names the parameter and says why; good
 * ones (with K/M/G suffixes) give the ring they ask for.
 */
#include "kselftest_harness.h"
#include "vmtest.h"

#include <linux/mpmcring.h>

static const struct {
	const char *params, *says;
} bad[] = {
	{ "size=12K", "size=12288: must be a power of two" },
	{ "size=2K", "size=2048: must be a power of two" },
	{ "size=lots", "invalid for parameter `size'" },
	{ "mode=fast", "mode=fast: must be drop or overwrite" },
	{ "granule=12", "granule=12: must be 8, 16, 32 or 64" },
	{ "max_consumers=0", "max_consumers=0: at least one" },
	{ "max_consumers=100000", "max_consumers=100000: at most" },
	{ "wm_low_pct=100", "wm_low_pct=100: must be 0-99" },
	{ "wm_normal_pct=60", "wm_normal_pct=60: must not exceed wm_low_pct=50" },
	{ "initial_pos=3", "initial_pos=3: must be a multiple of the granule" },
	{ "chunk_bytes=8", "chunk_bytes=8: at least 64" },
	{ "mode=overwrite chunk_bytes=4096", "chunk_bytes=4096: not with mode=overwrite" },
};

TEST(bad_values_fail_insmod_naming_the_parameter)
{
	unsigned int i;

	ASSERT_EQ(0, vm_rmmod("mpmcring"))
	TH_LOG("the default module must be unloadable here (nothing may use it)");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = vm_kmsg_open_at_end();

		ASSERT_GE(fd, 0);
		EXPECT_EQ(-EINVAL, vm_insmod("mpmcring", bad[i].params))
		TH_LOG("insmod mpmcring %s", bad[i].params);
		EXPECT_TRUE(vm_kmsg_has(fd, bad[i].says))
		TH_LOG("insmod mpmcring %s: no kernel log line saying \"%s\"", bad[i].params,
		       bad[i].says);
		close(fd);
		EXPECT_NE(0, access("/dev/mpmcring", F_OK));
	}
	ASSERT_EQ(0, vm_insmod("mpmcring", NULL));
}

TEST(good_values_make_the_ring_asked_for)
{
	struct mpmcring_layout l;
	int fd;

	ASSERT_EQ(0, vm_rmmod("mpmcring"));
	ASSERT_EQ(0, vm_insmod("mpmcring", "size=256K mode=overwrite granule=16 max_consumers=5 "
					   "wm_low_pct=40 wm_normal_pct=10 wm_critical_pct=1"));
	fd = open("/dev/mpmcring", O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, ioctl(fd, MPMCRING_IOC_INFO, &l));
	EXPECT_EQ(256 << 10, l.data_size);
	EXPECT_EQ(MPMCRING_MODE_OVERWRITE, l.mode);
	EXPECT_EQ(4, l.granule_shift);
	EXPECT_EQ(5, l.max_consumers);
	/* Each class's free-space watermark: its percentage of the size. */
	EXPECT_EQ((256 << 10) * 40 / 100, l.watermark[0]);
	EXPECT_EQ((256 << 10) * 10 / 100, l.watermark[1]);
	EXPECT_EQ((256 << 10) * 1 / 100, l.watermark[2]);
	close(fd);
	EXPECT_EQ(0, vm_rmmod("mpmcring"));
	/* Chunked reservation loads on a ring of the default size. */
	EXPECT_EQ(0, vm_insmod("mpmcring", "chunk_bytes=4096"));
	EXPECT_EQ(0, vm_rmmod("mpmcring"));
	/* Back to the defaults for the programs that come after. */
	ASSERT_EQ(0, vm_insmod("mpmcring", NULL));
}

TEST_HARNESS_MAIN
