// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring_open() when mapping the ring's read-only part fails (ENOMEM,
 * e.g. RLIMIT_AS and a large ring): the consumer area it had mapped goes
 * too. It used to stay mapped, and with it a reference to the device file,
 * one more at every retry (helper-171's review, 2026-12-04). The device is
 * /dev/null with ioctl and mmap wrapped (-Wl,--wrap: Makefile).
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
	return __real_ioctl(fd, req, arg);
}

void *__real_mmap(void *a, size_t len, int prot, int fl, int fd, off_t off);
void *__wrap_mmap(void *a, size_t len, int prot, int fl, int fd, off_t off)
{
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
	return __real_munmap(a, len);
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

int main(void)
{
	static const struct tap_test tests[] = { TAP_TEST(t_open_ro_map_fails) };

	return tap_run(tests, 1);
}
