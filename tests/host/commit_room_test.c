// SPDX-License-Identifier: GPL-2.0-only
/*
 * The library's commit asks the kernel for room (MPMCRING_IOC_ROOM)
 * exactly when the meta page's room_at says a writer waits for room the
 * claim held back: room_at set, the claim beginning before it, the head
 * at or past it. Never otherwise (a call per commit would cost consumers
 * a system call per record), and never with errno changed. The device is
 * /dev/null with ioctl and mmap wrapped (-Wl,--wrap: Makefile), mapping a
 * hostring's areas; the test sets room_at as the kernel would.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "tap.h"
#include "hostring.h"
#include "internal.h"

static struct hostring H;
static unsigned int room_calls;
static bool armed; /* mmap answers with the hostring's areas */

int __real_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (req == MPMCRING_IOC_INFO) {
		memcpy(arg, &H.layout, sizeof(H.layout));
		return 0;
	}
	if (req == MPMCRING_IOC_ATTACH) {
		*(uint32_t *)arg = 0;
		return 0;
	}
	if (req == MPMCRING_IOC_DETACH)
		return 0;
	if (req == MPMCRING_IOC_ROOM) {
		room_calls++;
		errno = ENOTTY; /* an error must not reach the caller */
		return -1;
	}
	return __real_ioctl(fd, req, arg);
}

void *__real_mmap(void *a, size_t len, int prot, int fl, int fd, off_t off);
void *__wrap_mmap(void *a, size_t len, int prot, int fl, int fd, off_t off)
{
	if (!armed)
		return __real_mmap(a, len, prot, fl, fd, off);
	return off == MPMCRING_OFF_CONS ? H.cons : H.ro;
}

int __real_munmap(void *a, size_t len);
int __wrap_munmap(void *a, size_t len)
{
	if (a == H.cons || a == H.ro)
		return 0; /* the hostring's: it frees them */
	return __real_munmap(a, len);
}

/*
 * A ring of size bytes over the hostring (from initial_pos on), opened by
 * the library through the wrapped calls, and a consumer of it; NULL (a
 * check failed) when any of that fails.
 */
static struct mpmcring_consumer *open_over(struct tap *t, size_t size, uint64_t initial_pos,
					   struct mpmcring **rp)
{
	struct mpmcring_consumer *c;

	*rp = NULL;
	if (hostring_init(&H, &(struct hostring_params){ .size = size,
							 .producers = 1,
							 .max_consumers = 2,
							 .initial_pos = initial_pos })) {
		CHECK(t, false, "init");
		return NULL;
	}
	armed = true;
	*rp = mpmcring_open("/dev/null", 0);
	armed = false;
	CHECK(t, *rp, "open: %s", mpmcring_errmsg());
	c = *rp ? mpmcring_consumer_new(*rp) : NULL;
	CHECK(t, c, "consumer: %s", mpmcring_errmsg());
	return c;
}

/* One 24-byte record: 32 bytes of ring with its header. */
static void produce(void)
{
	uint64_t pos;

	if (hostring_reserve(&H, 0, 24, MPMCRING_PRIO_NORMAL, &pos))
		abort();
	memset(hostring_payload(&H, pos), 0x5a, 24);
	hostring_commit(&H, 0, pos, 24);
}

/*
 * Claims the record at the head (it begins at start, the head then at
 * start + 32) with room_at set to start + at_off (0: none), commits, and
 * returns how many times the commit asked for room.
 */
static unsigned int commit_with_room_at(struct tap *t, struct mpmcring_consumer *c, int64_t at_off,
					bool none)
{
	struct mpmcring_record rec;
	uint64_t start;

	produce();
	if (mpmcring_read(c, &rec)) {
		CHECK(t, false, "read: %s", mpmcring_errmsg());
		return UINT_MAX;
	}
	start = rec.pos;
	H.v.meta->room_at = none ? 0 : start + (uint64_t)at_off;
	room_calls = 0;
	errno = EXDEV;
	CHECK_EQ(t, mpmcring_commit(c), 0);
	CHECK_EQ(t, errno, EXDEV);
	H.v.meta->room_at = 0;
	return room_calls;
}

/* Two discarded 24-byte records, 64 bytes of ring: returns where they begin. */
static uint64_t discard_two(void)
{
	uint64_t pos, first = 0;
	int i;

	for (i = 0; i < 2; i++) {
		if (hostring_reserve(&H, 0, 24, MPMCRING_PRIO_NORMAL, &pos))
			abort();
		if (!i)
			first = pos;
		hostring_discard(&H, 0, pos);
	}
	return first;
}

/* How a consumer takes what is at the head: each entry point that claims. */
enum take_way { TAKE_READ, TAKE_READ_MANY, TAKE_READ_BATCH, TAKE_CONSUME, TAKE_WAYS };

static const char *const take_names[TAKE_WAYS] = { "read", "read_many", "read_batch", "consume" };

/* CHECK_EQ() naming the way. */
#define CHECK_WAY(t, way, a, b)                                                         \
	CHECK(t, (long long)(a) == (long long)(b), "%s: %lld != %lld", take_names[way], \
	      (long long)(a), (long long)(b))

static int take_count(void *ctx, const struct mpmcring_record *rec)
{
	(void)rec;
	++*(unsigned int *)ctx;
	return 0;
}

/* Takes what there is the given way: records taken (and committed), or -errno. */
static int take(struct mpmcring_consumer *c, enum take_way way)
{
	struct mpmcring_record recs[4];
	struct mpmcring_batch b;
	unsigned int n = 0;
	int ret;

	switch (way) {
	case TAKE_READ:
		ret = mpmcring_read(c, recs);
		ret = ret ? ret : 1;
		break;
	case TAKE_READ_MANY:
		ret = mpmcring_read_many(c, recs, 4, SIZE_MAX);
		break;
	case TAKE_READ_BATCH:
		ret = mpmcring_read_batch(c, &b, 4, SIZE_MAX);
		break;
	default:
		ret = mpmcring_consume(c, 4, take_count, &n);
		return ret < 0 ? ret : (int)n; /* it commits itself */
	}
	if (ret > 0 && mpmcring_commit(c))
		return -EIO;
	return ret;
}

/*
 * Discarded records at the head and nothing after (start the first's
 * position, the head then start + 64), room_at at start + at_off (0:
 * none): a claim of discarded records only hands nothing over and no
 * commit follows, so the claim itself asks for room where a commit of the
 * same span would. Returns how many times it asked.
 */
static unsigned int skip_with_room_at(struct tap *t, struct mpmcring_consumer *c, enum take_way way,
				      int64_t at_off, bool none)
{
	uint64_t start = discard_two();

	H.v.meta->room_at = none ? 0 : start + (uint64_t)at_off;
	room_calls = 0;
	errno = EXDEV;
	CHECK_WAY(t, way, take(c, way), way == TAKE_CONSUME ? 0 : -EAGAIN);
	CHECK_WAY(t, way, H.v.cons->head, start + 64);
	CHECK(t, errno != ENOTTY, "%s: the ioctl's error reached the caller", take_names[way]);
	H.v.meta->room_at = 0;
	return room_calls;
}

static void skip_asks_for_room(struct tap *t, uint64_t initial_pos)
{
	struct mpmcring_consumer *c;
	struct mpmcring *r;
	enum take_way way;
	uint64_t start;

	c = open_over(t, 4096, initial_pos, &r);
	REQUIRE(t, c, "set-up");

	for (way = 0; way < TAKE_WAYS; way++) {
		CHECK_WAY(t, way, skip_with_room_at(t, c, way, 0, true), 0);  /* nobody waits */
		CHECK_WAY(t, way, skip_with_room_at(t, c, way, 8, false), 1); /* inside the span */
		CHECK_WAY(t, way, skip_with_room_at(t, c, way, 64, false),
			  1); /* at its end, the head */
		CHECK_WAY(t, way, skip_with_room_at(t, c, way, 72, false), 0); /* past the head */
		CHECK_WAY(t, way, skip_with_room_at(t, c, way, 0, false), 0);  /* at its start */
		CHECK_WAY(t, way, skip_with_room_at(t, c, way, -8, false), 0); /* before it */

		/* Discards, then a record: one claim of both; its commit asks, once. */
		start = discard_two();
		produce();
		H.v.meta->room_at = start + 8;
		room_calls = 0;
		CHECK_WAY(t, way, take(c, way), 1);
		CHECK_WAY(t, way, room_calls, 1);
		H.v.meta->room_at = 0;
	}

	mpmcring_consumer_free(c);
	mpmcring_close(r);
	hostring_destroy(&H);
}

/*
 * More discarded records than one claim walks past (MPR_CLAIM_WALK), then
 * a record: the call's first attempt claims discarded records only, its
 * next one the rest and the record. A target in the first span is asked
 * for at once; one in the second lies in the claim, and its commit asks:
 * one call either way.
 */
static void t_skip_then_claim_asks_once(struct tap *t)
{
	struct mpmcring_consumer *c;
	struct mpmcring_record rec;
	unsigned int i, k;
	uint64_t start, pos, second;
	struct mpmcring *r;

	c = open_over(t, 1 << 17, 0, &r);
	REQUIRE(t, c, "set-up");
	for (k = 0; k < 2; k++) {
		start = 0;
		for (i = 0; i < MPR_CLAIM_WALK + 100; i++) {
			if (hostring_reserve(&H, 0, 8, MPMCRING_PRIO_NORMAL, &pos))
				abort();
			if (!i)
				start = pos;
			hostring_discard(&H, 0, pos);
		}
		produce();
		/* 16 bytes a discarded record: the first attempt's span ends here. */
		second = start + 16 * MPR_CLAIM_WALK;
		H.v.meta->room_at = k ? second + 8 : second - 8;
		room_calls = 0;
		CHECK_EQ(t, mpmcring_read(c, &rec), 0);
		CHECK_EQ(t, rec.pos, start + 16 * (MPR_CLAIM_WALK + 100));
		CHECK_EQ(t, room_calls, k ? 0 : 1);
		CHECK_EQ(t, mpmcring_commit(c), 0);
		CHECK(t, room_calls == 1, "target %s: %u calls", k ? "in the claim" : "in the skip",
		      room_calls);
		H.v.meta->room_at = 0;
	}
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	hostring_destroy(&H);
}

/* Positions from initial_pos on: the decisions must not change across 2^64. */
static void commit_asks_for_room(struct tap *t, uint64_t initial_pos)
{
	struct mpmcring_consumer *c;
	struct mpmcring *r;

	c = open_over(t, 4096, initial_pos, &r);
	REQUIRE(t, c, "set-up");

	CHECK_EQ(t, commit_with_room_at(t, c, 0, true), 0);   /* nobody waits */
	CHECK_EQ(t, commit_with_room_at(t, c, 8, false), 1);  /* inside the claim */
	CHECK_EQ(t, commit_with_room_at(t, c, 32, false), 1); /* at its end, the head */
	CHECK_EQ(t, commit_with_room_at(t, c, 40, false), 0); /* past the head */
	CHECK_EQ(t, commit_with_room_at(t, c, 0, false), 0);  /* at its start */
	CHECK_EQ(t, commit_with_room_at(t, c, -8, false), 0); /* before it */

	mpmcring_consumer_free(c);
	mpmcring_close(r);
	hostring_destroy(&H);
}

static void t_commit_asks_for_room_only_where_it_held_it(struct tap *t)
{
	commit_asks_for_room(t, 0);
}

/* The first record's claim spans the wrap: 16 bytes before, 16 after. */
static void t_commit_asks_for_room_across_the_wrap(struct tap *t)
{
	commit_asks_for_room(t, UINT64_MAX - 15);
}

static void t_claim_of_discards_only_asks_for_room_where_it_held_it(struct tap *t)
{
	skip_asks_for_room(t, 0);
}

/* The discarded records span the wrap: 16 bytes before, 48 after. */
static void t_claim_of_discards_only_asks_for_room_across_the_wrap(struct tap *t)
{
	skip_asks_for_room(t, UINT64_MAX - 15);
}

int main(void)
{
	static const struct tap_test tests[] = {
		TAP_TEST(t_commit_asks_for_room_only_where_it_held_it),
		TAP_TEST(t_commit_asks_for_room_across_the_wrap),
		TAP_TEST(t_claim_of_discards_only_asks_for_room_where_it_held_it),
		TAP_TEST(t_claim_of_discards_only_asks_for_room_across_the_wrap),
		TAP_TEST(t_skip_then_claim_asks_once),
	};

	return tap_run(tests, 5);
}
