// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring_open() when mapping the ring's read-only part fails (ENOMEM,
 * e.g. RLIMIT_AS and a large ring): the consumer area it had mapped goes
 * too. It used to stay mapped, and with it a reference to the device file,
 * one more at every retry (helper-171's review, 2026-12-04). And
 * mpmcring_consumer_new() failing after its ATTACH (a slot index past the
 * ring's, no memory): the slot goes back at once (DETACH), not when the
 * file closes, else each failure keeps one of the file's max_per_file.
 * The device is /dev/null with ioctl, mmap and calloc wrapped
 * (-Wl,--wrap: Makefile); a successful open maps the hostring's areas.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "tap.h"
#include "hostring.h"
#include "internal.h"

static struct hostring H;
static void *cons_addr;
static int cons_unmapped, armed;
/* ATTACH answers attach_idx; DETACH calls are counted with their index. */
static unsigned int attach_idx, detached, detached_idx;
static int fail_calloc;

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
		*(uint32_t *)arg = attach_idx;
		return 0;
	}
	if (req == MPMCRING_IOC_DETACH) {
		detached++;
		detached_idx = *(uint32_t *)arg;
		return 0;
	}
	return __real_ioctl(fd, req, arg);
}

void *__real_mmap(void *a, size_t len, int prot, int fl, int fd, off_t off);
void *__wrap_mmap(void *a, size_t len, int prot, int fl, int fd, off_t off)
{
	if (armed == 2) /* the hostring's areas, as the device maps them */
		return off == MPMCRING_OFF_CONS ? H.cons : H.ro;
	if (!armed)
		return __real_mmap(a, len, prot, fl, fd, off);
	if (off == MPMCRING_OFF_CONS) {
		cons_addr = __real_mmap(NULL, len, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return cons_addr;
	}
	errno = ENOMEM; /* the read-only part: e.g. RLIMIT_AS on a large ring */
	return MAP_FAILED;
}

int __real_munmap(void *a, size_t len);
int __wrap_munmap(void *a, size_t len)
{
	if (a && a == cons_addr)
		cons_unmapped++;
	if (a == H.cons || a == H.ro)
		return 0; /* the hostring's: it frees them */
	return __real_munmap(a, len);
}

void *__real_calloc(size_t n, size_t sz);
void *__wrap_calloc(size_t n, size_t sz)
{
	if (fail_calloc) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_calloc(n, sz);
}

static void t_open_ro_map_fails(struct tap *t)
{
	struct mpmcring *r;

	REQUIRE(t, !hostring_init(&H, &(struct hostring_params){ .size = 4096, .producers = 1 }),
		"init");
	armed = 1;
	r = mpmcring_open("/dev/null", 0);
	armed = 0;
	CHECK(t, !r, "open succeeded");
	CHECK_EQ(t, errno, ENOMEM);
	CHECK(t, cons_addr && cons_addr != MAP_FAILED, "consumer area mapped");
	CHECK(t, cons_unmapped == 1, "consumer area left mapped after the failed open (%d)",
	      cons_unmapped);
	hostring_destroy(&H);
}

/*
 * consumer_new() on a ring opened through the device, its ATTACH answered
 * with idx; one allocation failing after it when no_memory.
 */
static void consumer_new_fails_after_attach(struct tap *t, unsigned int idx, bool no_memory,
					    int err)
{
	struct mpmcring_consumer *c;
	struct mpmcring *r;

	REQUIRE(t, !hostring_init(&H, &(struct hostring_params){ .size = 4096, .producers = 1 }),
		"init");
	armed = 2;
	r = mpmcring_open("/dev/null", 0);
	armed = 0;
	REQUIRE(t, r, "open: %s", mpmcring_errmsg());
	attach_idx = idx;
	detached = 0;
	detached_idx = ~0U;
	fail_calloc = no_memory;
	c = mpmcring_consumer_new(r);
	fail_calloc = 0;
	CHECK(t, !c, "consumer_new succeeded");
	CHECK_EQ(t, errno, err);
	CHECK(t, detached == 1, "%u DETACH calls after the failed consumer_new, not 1", detached);
	CHECK(t, detached_idx == idx, "DETACH of slot %u, not of the one attached (%u)",
	      detached_idx, idx);
	mpmcring_close(r);
	hostring_destroy(&H);
}

/* A kernel that answers a slot index past the ring's slots (never ours). */
static void t_consumer_new_bad_slot_detaches(struct tap *t)
{
	consumer_new_fails_after_attach(t, 62, false, EUSERS);
}

static void t_consumer_new_no_memory_detaches(struct tap *t)
{
	consumer_new_fails_after_attach(t, 3, true, ENOMEM);
}

int main(void)
{
	static const struct tap_test tests[] = {
		TAP_TEST(t_open_ro_map_fails),
		TAP_TEST(t_consumer_new_bad_slot_detaches),
		TAP_TEST(t_consumer_new_no_memory_detaches),
	};

	return tap_run(tests, 3);
}
