// SPDX-License-Identifier: GPL-2.0-only
/*
 * Lifetimes seen from userspace: the module cannot be unloaded while a
 * ring is open or mapped; a named ring destroyed under a mapping stays
 * readable until the last unmap, its sleepers see POLLHUP and its readers
 * end-of-file once it is drained; a poller driven from the program's own
 * epoll loop (mpmcring_poller_consume() only) sees the end too; a
 * consumer freed after a stopped consume leaves the rest counted as
 * abandoned.
 */
#include <poll.h>
#include <sys/epoll.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "mpmcring.h"
#include "vmtest.h"

FIXTURE(lt)
{
	int unused;
};

FIXTURE_SETUP(lt)
{
}

FIXTURE_TEARDOWN(lt)
{
	vm_rmmod("mpmcring_loadgen");
	/* Leave the module loaded for the tests that follow. */
	vm_insmod("mpmcring", NULL);
}

TEST_F(lt, module_stays_while_open_or_mapped)
{
	struct mpmcring_layout l;
	void *ro;
	int fd = open("/dev/mpmcring", O_RDWR | O_CLOEXEC);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, ioctl(fd, MPMCRING_IOC_INFO, &l));
	EXPECT_NE(0, vm_rmmod("mpmcring")); /* open: refused */
	ro = mmap(NULL, l.ro_size, PROT_READ, MAP_SHARED, fd, MPMCRING_OFF_RO);
	ASSERT_NE(MAP_FAILED, ro);
	close(fd);
	EXPECT_NE(0, vm_rmmod("mpmcring")); /* mapped: refused */
	EXPECT_EQ(MPMCRING_MAGIC, ((const struct mpmcring_meta *)ro)->layout.magic);
	munmap(ro, l.ro_size);
	EXPECT_EQ(0, vm_rmmod("mpmcring")); /* neither: gone */
	EXPECT_NE(0, access("/dev/mpmcring", F_OK));
	EXPECT_EQ(0, vm_insmod("mpmcring", NULL));
}

TEST_F(lt, destroyed_named_ring_lives_until_last_unmap)
{
	struct mpmcring *r;
	struct mpmcring_consumer *c;
	struct mpmcring_record rec;
	struct pollfd pfd;
	struct lg_stats lg;
	uint64_t got = 0;
	char buf[512];
	int fd;

	ASSERT_EQ(0,
		  vm_insmod("mpmcring_loadgen", "ring=lt create=1 size=65536 threads=1 count=200 "
						"prio_mix=0:0:100 len_max=200"));
	ASSERT_TRUE(lg_wait_finished(100));
	ASSERT_EQ(0, lg_read_stats(&lg));
	r = mpmcring_open("/dev/mpmcring-lt", 0);
	ASSERT_NE(NULL, r);
	fd = open("/dev/mpmcring-lt", O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	c = mpmcring_consumer_new(r);
	ASSERT_NE(NULL, c);
	/* Read one record through each interface, then destroy the ring. */
	ASSERT_EQ(0, mpmcring_read(c, &rec));
	got++;
	mpmcring_commit(c);
	ASSERT_GT(read(fd, buf, sizeof(buf)), 0);
	got++;
	ASSERT_EQ(0, vm_rmmod("mpmcring_loadgen"));
	EXPECT_NE(0, access("/dev/mpmcring-lt", F_OK));

	/* Still mapped and intact: the rest of the records are there. */
	while (mpmcring_read(c, &rec) == 0) {
		EXPECT_EQ(0, mpr_testrec_check(rec.data, rec.len));
		got++;
		mpmcring_commit(c);
	}
	EXPECT_EQ(lg.total_committed, got);
	/* Drained and destroyed: sleepers hear a hangup, readers get EOF. */
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	EXPECT_EQ(1, poll(&pfd, 1, 1000));
	EXPECT_TRUE(pfd.revents & POLLHUP);
	EXPECT_EQ(0, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(-EPIPE, mpmcring_wait(r, 1000));
	EXPECT_EQ(-1, write(fd, buf, 8));
	EXPECT_EQ(EPIPE, errno);
	close(fd);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
}

static int lt_count(void *ctx, const struct mpmcring_record *rec)
{
	uint64_t *got = ctx;

	if (mpr_testrec_check(rec->data, rec->len))
		return -EBADMSG;
	++*got;
	return 0;
}

/*
 * The libbpf-style loop: the program waits on mpmcring_poller_epoll_fd() in
 * its own epoll set and calls mpmcring_poller_consume() per wakeup, never
 * mpmcring_poller_poll(). Once the ring is destroyed and drained, consume
 * must say -EPIPE and the descriptor must stop waking the program, or it
 * spins for ever.
 */
TEST_F(lt, poller_consume_ends_when_ring_destroyed)
{
	struct mpmcring_poller *p;
	struct epoll_event ev;
	struct mpmcring *r;
	struct lg_stats lg;
	uint64_t got = 0;
	int outer, i, n = 0;

	ASSERT_EQ(0,
		  vm_insmod("mpmcring_loadgen", "ring=lt create=1 size=65536 threads=1 count=200 "
						"prio_mix=0:0:100 len_max=200"));
	ASSERT_TRUE(lg_wait_finished(100));
	ASSERT_EQ(0, lg_read_stats(&lg));
	r = mpmcring_open("/dev/mpmcring-lt", 0);
	ASSERT_NE(NULL, r);
	p = mpmcring_poller_new(NULL);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, mpmcring_poller_add(p, r, lt_count, &got, NULL));
	outer = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_GE(outer, 0);
	ASSERT_EQ(0, epoll_ctl(outer, EPOLL_CTL_ADD, mpmcring_poller_epoll_fd(p),
			       &(struct epoll_event){ .events = EPOLLIN }));
	ASSERT_EQ(0, vm_rmmod("mpmcring_loadgen"));
	/* Bounded: 200 records come in one or two consumes, then the end. */
	for (i = 0; i < 50; i++) {
		if (epoll_wait(outer, &ev, 1, 1000) != 1)
			break; /* not readable: the program would sleep for ever */
		n = mpmcring_poller_consume(p);
		if (n < 0)
			break;
	}
	EXPECT_EQ(-EPIPE, n) TH_LOG("after %d wakeups: %d, %s", i, n, mpmcring_errmsg());
	EXPECT_EQ(lg.total_committed, got);
	EXPECT_EQ(1, mpmcring_poller_ring_gone(p, 0));
	/* Out of the set: nothing wakes the program any more. */
	EXPECT_EQ(0, epoll_wait(outer, &ev, 1, 0));
	EXPECT_EQ(-EPIPE, mpmcring_poller_poll(p, -1));
	close(outer);
	mpmcring_poller_free(p);
	mpmcring_close(r);
}

static int lt_stop_at_3(void *ctx, const struct mpmcring_record *rec)
{
	int *seen = ctx;

	(void)rec;
	return ++*seen == 3 ? -ECANCELED : 0;
}

/*
 * A consumer's end after a stopped consume (a shutdown: fn sees a stop
 * flag, the program frees the consumer): the records the consume claimed
 * and did not deliver are gone for everyone, so the kernel counts them as
 * abandoned at the detach (the library leaves their count in the slot's
 * held_records), as for a consumer that died holding them.
 */
TEST_F(lt, consumer_freed_after_stopped_consume_abandons_the_rest)
{
	struct mpmcring_consumer *a, *b;
	struct mpmcring_record rec;
	struct mpmcring_stats st;
	struct lg_stats lg;
	struct mpmcring *r;
	int seen = 0;

	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen",
			       "ring=lt create=1 size=65536 threads=1 count=10 prio_mix=0:0:100"));
	ASSERT_TRUE(lg_wait_finished(100));
	ASSERT_EQ(0, lg_read_stats(&lg));
	ASSERT_EQ(10, lg.total_committed);
	r = mpmcring_open("/dev/mpmcring-lt", 0);
	ASSERT_NE(NULL, r) TH_LOG("%s", mpmcring_errmsg());
	a = mpmcring_consumer_new(r);
	ASSERT_NE(NULL, a);
	ASSERT_EQ(-ECANCELED, mpmcring_consume(a, 64, lt_stop_at_3, &seen));
	ASSERT_EQ(3, seen);
	mpmcring_consumer_free(a);
	ASSERT_EQ(0, mpmcring_get_stats(r, &st));
	EXPECT_EQ(1, st.abandoned_claims);
	EXPECT_EQ(7, st.abandoned_records);
	/* Gone for everyone: not handed to the next consumer. */
	b = mpmcring_consumer_new(r);
	ASSERT_NE(NULL, b);
	EXPECT_EQ(-EAGAIN, mpmcring_read(b, &rec));
	mpmcring_consumer_free(b);
	mpmcring_close(r);
}

TEST_HARNESS_MAIN
