// SPDX-License-Identifier: GPL-2.0-only
/*
 * An independent consumer written from uapi/linux/mpmcring.h alone: its own
 * mapping code and its own claim and commit with C11 atomics, no library
 * and no shared protocol code. It races library consumers on one ring fed
 * by kernel producers; together they must deliver every record exactly
 * once. Then, alone, it tells the ring's end from the meta page's state
 * word (ABI 1.3, MPMCRING_ABI_MINOR_STATE). If the ABI header left out
 * anything a consumer needs, this fails.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "mpmcring.h"
#include "vmtest.h"

#define RING "/dev/mpmcring-uapi"
#define NPROD 8
#define PER_PROD 8000
#define NUAPI 2 /* independent consumers */
#define NLIB 2	/* library consumers */

static uint8_t seen[NPROD][PER_PROD];
static uint64_t bad, dups, delivered;
static uint64_t by_uapi, by_lib; /* who delivered them */
/* Diagnostics only (logged): how the race after the gates went. */
static uint64_t lib_after_gates, lib_woken, lib_timeouts;
static int producers_done;
static int uapi_left, lib_left; /* consumers of each kind out of their loop */

static void note(const void *data, uint32_t len)
{
	const struct mpr_testrec *r = data;

	if (mpr_testrec_check(data, len) || r->producer >= NPROD || r->seq >= PER_PROD) {
		__atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
		return;
	}
	if (__atomic_fetch_add(&seen[r->producer][r->seq], 1, __ATOMIC_RELAXED))
		__atomic_fetch_add(&dups, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&delivered, 1, __ATOMIC_RELAXED);
}

/* ---- the independent consumer: only the uapi header ---- */

struct uring {
	int fd;
	struct mpmcring_layout l;
	struct mpmcring_cons_area *cons;
	const struct mpmcring_meta *meta;
	const uint64_t *stamps;
	const unsigned char *data;
	struct mpmcring_slot *slot;
};

static uint64_t revoked; /* claims the kernel revoked (none expected) */

static int uring_open(struct uring *u)
{
	uint32_t idx;
	void *c, *ro;

	u->fd = open(RING, O_RDWR | O_CLOEXEC);
	if (u->fd < 0 || ioctl(u->fd, MPMCRING_IOC_INFO, &u->l) || u->l.magic != MPMCRING_MAGIC ||
	    u->l.abi_major != MPMCRING_ABI_MAJOR || u->l.abi_minor < 1 ||
	    (u->l.features & ~MPMCRING_FEAT_KNOWN) || ioctl(u->fd, MPMCRING_IOC_ATTACH, &idx))
		return -1;
	c = mmap(NULL, u->l.cons_size, PROT_READ | PROT_WRITE, MAP_SHARED, u->fd,
		 MPMCRING_OFF_CONS);
	ro = mmap(NULL, u->l.ro_size, PROT_READ, MAP_SHARED, u->fd, MPMCRING_OFF_RO);
	if (c == MAP_FAILED || ro == MAP_FAILED)
		return -1;
	u->cons = c;
	u->meta = ro;
	u->stamps = (const uint64_t *)((const char *)ro + u->l.stamps_offset);
	u->data = (const unsigned char *)ro + u->l.data_offset;
	u->slot = &u->cons->slots[idx];
	return 0;
}

#define LOAD_ACQ(p) atomic_load_explicit((_Atomic uint64_t *)(p), memory_order_acquire)

/* Claims and delivers up to 16 records; returns how many, 0 when none. */
static int uring_consume(struct uring *u)
{
	uint64_t g = 1ULL << u->l.granule_shift, dmask = u->l.data_size - 1;
	uint64_t smask = (u->l.data_size >> u->l.granule_shift) - 1;

	for (;;) {
		uint64_t h = LOAD_ACQ(&u->cons->head);
		uint64_t p = LOAD_ACQ(&u->meta->prod_pos), e = h;
		int n = 0;

		if (h == p)
			return 0;
		/* Announce before claiming: producers keep off from h on. */
		atomic_store_explicit((_Atomic uint64_t *)&u->slot->start, h, memory_order_relaxed);
		while (n < 16 && e != p) {
			uint64_t st = LOAD_ACQ(&u->stamps[(e >> u->l.granule_shift) & smask]);
			const struct mpmcring_rec_hdr *hdr = (const void *)(u->data + (e & dmask));
			uint32_t len;
			uint64_t size;

			if (st != (e | MPMCRING_STAMP_COMMITTED) &&
			    st != (e | MPMCRING_STAMP_DISCARDED))
				break;
			len = atomic_load_explicit((_Atomic uint32_t *)&hdr->len,
						   memory_order_relaxed);
			size = (MPMCRING_HDR_SIZE + len + g - 1) & ~(g - 1);
			if (len > u->l.max_record || size > p - e)
				break;
			e += size;
			n++;
		}
		if (e == h) {
			atomic_store_explicit((_Atomic uint64_t *)&u->slot->start,
					      MPMCRING_SLOT_IDLE, memory_order_release);
			return 0;
		}
		if (!atomic_compare_exchange_strong((_Atomic uint64_t *)&u->cons->head, &h, e))
			continue;
		/* Claimed [h, e): read in place, then commit with one store. */
		for (n = 0; h != e;) {
			const struct mpmcring_rec_hdr *hdr = (const void *)(u->data + (h & dmask));
			uint64_t st = LOAD_ACQ(&u->stamps[(h >> u->l.granule_shift) & smask]);

			if (st == (h | MPMCRING_STAMP_COMMITTED)) {
				note(hdr + 1, hdr->len);
				__atomic_fetch_add(&by_uapi, 1, __ATOMIC_RELAXED);
				n++;
			}
			h += (MPMCRING_HDR_SIZE + hdr->len + g - 1) & ~(g - 1);
		}
		/*
		 * Commit: one exchange. With leases, the old value says
		 * whether the kernel revoked the claim while we read.
		 */
		if (atomic_exchange((_Atomic uint64_t *)&u->slot->start, MPMCRING_SLOT_IDLE) &
		    MPMCRING_SLOT_REVOKED)
			__atomic_fetch_add(&revoked, 1, __ATOMIC_RELAXED);
		return n;
	}
}

static void *uapi_consumer(void *arg)
{
	struct uring u;

	(void)arg;
	if (uring_open(&u)) {
		__atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&uapi_left, 1, __ATOMIC_RELEASE);
		return NULL;
	}
	/*
	 * Let a library consumer take the first record: these loops poll
	 * every 100 us and the library consumers sleep in poll, so on a
	 * slow guest the pollers alone could empty the ring every time and
	 * the library path would go untested. The records wait for them:
	 * the gate ends when one was taken or the library consumers left
	 * (only once the producers are done and they found nothing).
	 */
	while (!__atomic_load_n(&by_lib, __ATOMIC_RELAXED) &&
	       __atomic_load_n(&lib_left, __ATOMIC_ACQUIRE) < NLIB)
		usleep(100);
	for (;;) {
		int done = __atomic_load_n(&producers_done, __ATOMIC_ACQUIRE);

		if (uring_consume(&u))
			continue;
		if (done)
			break;
		usleep(100);
	}
	__atomic_fetch_add(&uapi_left, 1, __ATOMIC_RELEASE);
	close(u.fd);
	return NULL;
}

/* ---- the library consumer beside it ---- */

static void *lib_consumer(void *arg)
{
	struct mpmcring *r = mpmcring_open(RING, 0);
	struct mpmcring_consumer *c = r ? mpmcring_consumer_new(r) : NULL;
	struct mpmcring_record rec;

	(void)arg;
	if (!c) {
		__atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&lib_left, 1, __ATOMIC_RELEASE);
		return NULL;
	}
	for (;;) {
		int done = __atomic_load_n(&producers_done, __ATOMIC_ACQUIRE);

		/*
		 * After its first record each library consumer waits for
		 * an independent consumer to take one (or for all of them
		 * to leave), so that neither kind can take everything, on
		 * any guest. After that they race; who wins is
		 * logged, not judged (on a slow guest the pollers may win
		 * every time): exactly once is what is asserted.
		 */
		if (__atomic_load_n(&by_lib, __ATOMIC_RELAXED) &&
		    !__atomic_load_n(&by_uapi, __ATOMIC_RELAXED) &&
		    __atomic_load_n(&uapi_left, __ATOMIC_ACQUIRE) < NUAPI) {
			usleep(100);
			continue;
		}
		if (mpmcring_read(c, &rec) == 0) {
			note(rec.data, rec.len);
			if (__atomic_fetch_add(&by_lib, 1, __ATOMIC_RELAXED) &&
			    __atomic_load_n(&by_uapi, __ATOMIC_RELAXED))
				__atomic_fetch_add(&lib_after_gates, 1, __ATOMIC_RELAXED);
			if (mpmcring_commit(c))
				__atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
			continue;
		}
		if (done)
			break;
		if (mpmcring_wait(r, 10) > 0)
			__atomic_fetch_add(&lib_woken, 1, __ATOMIC_RELAXED);
		else
			__atomic_fetch_add(&lib_timeouts, 1, __ATOMIC_RELAXED);
	}
	__atomic_fetch_add(&lib_left, 1, __ATOMIC_RELEASE);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	return NULL;
}

FIXTURE(uapi)
{
	int unused;
};

FIXTURE_SETUP(uapi)
{
}

FIXTURE_TEARDOWN(uapi)
{
	vm_rmmod("mpmcring_loadgen");
}

TEST_F_TIMEOUT(uapi, independent_and_library_consumers_share_exactly_once, 300)
{
	pthread_t th[NUAPI + NLIB];
	struct lg_stats lg;
	uint64_t missing = 0;
	int i, s;

	ASSERT_EQ(
		0,
		vm_insmod("mpmcring_loadgen",
			  "ring=uapi create=1 no_lease=1 size=262144 threads=2 hrtimer=1 softirq=1 "
			  "nmi=1 count=8000 timer_ns=100000 timer_batch=16 autostart=0"));
	for (i = 0; i < NUAPI + NLIB; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, i < NLIB ? lib_consumer : uapi_consumer,
					    NULL));
	ASSERT_EQ(0, lg_control("start"));
	ASSERT_TRUE(lg_wait_finished(250));
	__atomic_store_n(&producers_done, 1, __ATOMIC_RELEASE);
	for (i = 0; i < NUAPI + NLIB; i++)
		pthread_join(th[i], NULL);
	ASSERT_EQ(0, lg_read_stats(&lg));
	ASSERT_EQ(NPROD, lg.producers);
	for (i = 0; i < NPROD; i++) {
		uint64_t got = 0;

		for (s = 0; s < PER_PROD; s++)
			got += seen[i][s] != 0;
		missing += lg.committed[i] - got;
	}
	TH_LOG("library consumers: %llu records after both gates opened, %llu waits woken, %llu timed out",
	       (unsigned long long)lib_after_gates, (unsigned long long)lib_woken,
	       (unsigned long long)lib_timeouts);
	TH_LOG("committed %llu, delivered %llu (%llu by the independent consumers)",
	       (unsigned long long)lg.total_committed, (unsigned long long)delivered,
	       (unsigned long long)by_uapi);
	/* Both kinds took part: the independent code path really ran. */
	EXPECT_GT(by_uapi, 0);
	EXPECT_GT(by_lib, 0);
	EXPECT_EQ(by_uapi + by_lib, delivered);
	EXPECT_EQ(0, revoked);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, dups);
	EXPECT_EQ(0, missing);
	EXPECT_EQ(lg.total_committed, delivered);
	EXPECT_EQ(0, vm_rmmod("mpmcring_loadgen"));
}

/*
 * The end from the header alone: the state word ([D6]) reads 0 while the
 * ring lives and MPMCRING_STATE_DEAD once rmmod destroyed it; the records
 * committed before the destroy are still there and come first, and "DEAD,
 * then an empty look" ends the loop, with no poll and no read(2).
 */
TEST_F_TIMEOUT(uapi, independent_consumer_ends_at_state_dead, 120)
{
	struct lg_stats lg;
	struct uring u;
	uint64_t st, got = 0;
	int n, i;

	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen",
			       "ring=uapi create=1 no_lease=1 size=262144 threads=1 count=500"));
	ASSERT_EQ(0, uring_open(&u));
	/* A module that keeps the word says so in its layout. */
	ASSERT_GE(u.l.abi_minor, MPMCRING_ABI_MINOR_STATE);
	ASSERT_TRUE(lg_wait_finished(100));
	ASSERT_EQ(0, lg_read_stats(&lg));
	ASSERT_GT(lg.total_committed, 32);
	/* Alive: the word is 0; take a few records before the end. */
	EXPECT_EQ(0, LOAD_ACQ(&u.meta->state));
	/*
	 * Two claims of up to 16 records each; uring_consume() counts only
	 * committed ones, so 32 rests on the load generator never
	 * discarding a record (it commits every one it reserves).
	 */
	for (i = 0; i < 2; i++)
		got += uring_consume(&u);
	EXPECT_EQ(32, got);
	ASSERT_EQ(0, vm_rmmod("mpmcring_loadgen")); /* destroys the ring */
	/* The word first, then the look: "DEAD, then empty" is the end. */
	for (i = 0;; i++) {
		st = LOAD_ACQ(&u.meta->state);
		n = uring_consume(&u);
		got += n;
		if (!n && (st & MPMCRING_STATE_DEAD))
			break;
		/* Every look after the destroy finds DEAD: rmmod returned
		 * after the store; a 0 here is a word the kernel did not keep. */
		ASSERT_TRUE(st & MPMCRING_STATE_DEAD)
		TH_LOG("state %llu after the destroy", (unsigned long long)st);
		ASSERT_LT(i, 1000000);
	}
	EXPECT_EQ(lg.total_committed, got);
	EXPECT_EQ(lg.total_committed, delivered);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, dups);
	EXPECT_EQ(0, revoked);
	close(u.fd);
}

TEST_HARNESS_MAIN
