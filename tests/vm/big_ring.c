// SPDX-License-Identifier: GPL-2.0-only
/*
 * The largest ring: 1 GiB of data (granule 64, so 128 MiB of stamps),
 * starting 8 KiB before 2^64 so that the first records both wrap the end of
 * the data area and carry positions across 2^64. Mapped by the library
 * (2 GiB of data view) and consumed with every record checked.
 */
#include "kselftest_harness.h"
#include "mpmcring.h"
#include "vmtest.h"

static long mem_total_kb(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	long kb = 0;

	if (f) {
		if (fscanf(f, "MemTotal: %ld kB", &kb) != 1)
			kb = 0;
		fclose(f);
	}
	return kb;
}

FIXTURE(big)
{
	int unused;
};

FIXTURE_SETUP(big)
{
}

FIXTURE_TEARDOWN(big)
{
	vm_rmmod("mpmcring_loadgen");
}

TEST_F_TIMEOUT(big, one_gib_ring_wraps_and_crosses_2_64, 600)
{
	struct mpmcring *r;
	struct mpmcring_consumer *c;
	struct mpmcring_record rec;
	const struct mpmcring_layout *l;
	struct lg_stats lg;
	uint64_t got = 0, next = 0;

	/* 1 GiB + 128 MiB of ring, plus the guest's own needs. */
	if (mem_total_kb() < 1800 * 1024)
		SKIP(return, "the guest has %ld MiB; a 1 GiB ring needs about 1.8 GiB",
			   mem_total_kb() / 1024);
	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen",
			       "ring=big create=1 size=1073741824 granule=64 "
			       "initial_pos=18446744073709543424 threads=1 count=3000 "
			       "len_min=24 len_max=8000 prio_mix=0:0:100 autostart=0"));
	r = mpmcring_open("/dev/mpmcring-big", 0);
	ASSERT_NE(NULL, r) TH_LOG("%s", mpmcring_errmsg());
	l = mpmcring_get_layout(r);
	EXPECT_EQ(1ULL << 30, l->data_size);
	EXPECT_EQ(6, l->granule_shift);
	EXPECT_EQ(l->data_offset + (2ULL << 30), l->ro_size);
	c = mpmcring_consumer_new(r);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, lg_control("start"));
	ASSERT_TRUE(lg_wait_finished(500));
	while (mpmcring_read(c, &rec) == 0) {
		const struct mpr_testrec *t = rec.data;

		ASSERT_EQ(0, mpr_testrec_check(rec.data, rec.len));
		ASSERT_EQ(next, t->seq);
		next++;
		got++;
		mpmcring_commit(c);
	}
	ASSERT_EQ(0, lg_read_stats(&lg));
	/* Nothing dropped: 3000 records of at most 8 KiB fit in 1 GiB. */
	EXPECT_EQ(3000, lg.total_committed);
	EXPECT_EQ(3000, got);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
}

TEST_HARNESS_MAIN
