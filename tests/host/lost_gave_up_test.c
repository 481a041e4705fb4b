// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring_take_lost() after its take of the shared loss counter gave up:
 * other consumers won every compare-and-swap on the "taken" counter, and
 * the losses they left must reach this consumer at its next call. Before
 * the fix it set its "last seen" total all the same and did not look again
 * until the total moved: with no new drop, and the winners gone, those
 * losses were never reported (seen: 0 at the second call, want 1000 less
 * the others' takes).
 *
 * The other consumers are a hardware breakpoint on the counter: every
 * access of this thread's take traps, and the signal handler takes one
 * loss as another consumer would, so each swap loses. Deterministic, one
 * thread (the signal goes to it: F_OWNER_TID). Needs perf_event_open()
 * breakpoints (root, or kernel.perf_event_paranoid <= 2, and debug
 * registers); when perf_event_open() says they cannot be had, or a probe
 * breakpoint it accepted never fires (a hypervisor that accepts debug
 * registers and does not trap: seen on a Firecracker guest, 0 signals),
 * the test says SKIP (exit 4); any other failure of its set-up fails it.
 * Not run
 * under TSan: it delays asynchronous signals to its next interceptor,
 * past the swap.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tap.h"
#include "hostring.h"
#include "internal.h"

#define TOTAL 1000

static int bp_fd = -1;
static __u64 *bp_taken, *bp_total;
/* Written in the handler: sig_atomic_t, as C11 allows there. */
static volatile sig_atomic_t bp_hits, bp_others, bp_armed;

/*
 * Another consumer's take of one loss, with the breakpoint off for it; on
 * again only while armed, so that a late signal cannot arm it for the
 * second take.
 */
static void on_access(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	(void)sig;
	(void)si;
	(void)uc;
	ioctl(bp_fd, PERF_EVENT_IOC_DISABLE, 0);
	bp_hits++;
	if (__atomic_load_n(bp_taken, __ATOMIC_RELAXED) < *bp_total) {
		__atomic_fetch_add(bp_taken, 1, __ATOMIC_RELAXED);
		bp_others++;
	}
	if (bp_armed)
		ioctl(bp_fd, PERF_EVENT_IOC_ENABLE, 0);
	errno = saved;
}

/* What perf_event_open() says when this machine or user cannot have one. */
static bool bp_unavailable(int err)
{
	return err == EACCES || err == EPERM || err == ENOENT || err == ENODEV ||
	       err == EOPNOTSUPP || err == ENOSYS;
}

/*
 * A breakpoint on *taken whose signal goes to this thread: 0, the errno
 * of perf_event_open() (> 0), or -1 when the rest of the set-up failed
 * (a failure of the test, not of the machine).
 */
static int bp_arm(__u64 *taken, __u64 *total)
{
	struct f_owner_ex owner = { .type = F_OWNER_TID, .pid = (pid_t)syscall(SYS_gettid) };
	struct perf_event_attr a;
	struct sigaction sa;

	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_BREAKPOINT;
	a.size = sizeof(a);
	a.bp_type = HW_BREAKPOINT_RW; /* x86 has no read-only data breakpoint */
	a.bp_addr = (uintptr_t)taken;
	a.bp_len = HW_BREAKPOINT_LEN_8;
	a.sample_period = 1;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	a.disabled = 1;
	bp_taken = taken;
	bp_total = total;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_access;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGIO, &sa, NULL))
		return -1;
	bp_fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
	if (bp_fd < 0)
		return errno;
	if (fcntl(bp_fd, F_SETFL, O_ASYNC) || fcntl(bp_fd, F_SETSIG, SIGIO) ||
	    fcntl(bp_fd, F_SETOWN_EX, &owner)) {
		close(bp_fd);
		bp_fd = -1;
		return -1;
	}
	return 0;
}

/*
 * Whether a breakpoint fires here (*fired): one access to a probe word,
 * whose signal comes on the way back from the trap (100 ms allowed), with
 * nothing for the handler to take (taken == total). Returns as bp_arm()
 * does for the probe; leaves no breakpoint and the counts at 0.
 */
static int bp_probe(bool *fired)
{
	static __u64 probe_taken, probe_total;
	volatile __u64 *word = &probe_taken;
	int err = bp_arm(&probe_taken, &probe_total), i;

	*fired = false;
	if (err)
		return err;
	bp_armed = 1;
	ioctl(bp_fd, PERF_EVENT_IOC_ENABLE, 0);
	(void)*word;
	for (i = 0; i < 100 && !bp_hits; i++)
		usleep(1000);
	bp_armed = 0;
	ioctl(bp_fd, PERF_EVENT_IOC_DISABLE, 0);
	close(bp_fd);
	bp_fd = -1;
	*fired = bp_hits > 0;
	bp_hits = 0;
	bp_others = 0;
	return 0;
}

static void t_gave_up_takes_again(struct tap *t)
{
	struct mpmcring_lost first = MPMCRING_OPTS(mpmcring_lost);
	struct mpmcring_lost second = MPMCRING_OPTS(mpmcring_lost);
	struct mpmcring_consumer *c;
	struct mpmcring *r;
	struct hostring h;
	__u64 *taken;
	bool fired;
	int err;

	REQUIRE(t, !hostring_init(&h, &(struct hostring_params){ .size = 4096, .producers = 1 }),
		"hostring_init");
	r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	c = r ? mpmcring_consumer_new(r) : NULL;
	if (!c) {
		CHECK(t, 0, "attach: %s", mpmcring_errmsg());
		goto out;
	}
	/* TOTAL drops, as the kernel counts them; none taken yet. */
	h.v.meta->lost_dropped = TOTAL;
	taken = &h.v.cons->lost_dropped_taken;
	err = bp_probe(&fired);
	if (!err && fired)
		err = bp_arm(taken, &h.v.meta->lost_dropped);
	if ((!err && !fired) || (err > 0 && bp_unavailable(err))) {
		if (err)
			printf("# SKIP perf_event_open breakpoint: %s (needs root or kernel.perf_event_paranoid <= 2, and hardware breakpoints)\n",
			       strerror(err));
		else
			printf("# SKIP perf_event_open breakpoint: accepted, but its probe access trapped 0 times in 100 ms (a CPU or hypervisor without working debug registers)\n");
		mpmcring_consumer_free(c);
		mpmcring_close(r);
		hostring_destroy(&h);
		exit(4);
	}
	if (err) {
		CHECK(t, 0, "breakpoint set-up: %s",
		      err > 0 ? strerror(err) : "sigaction or fcntl");
		goto out;
	}
	bp_armed = 1;
	ioctl(bp_fd, PERF_EVENT_IOC_ENABLE, 0);
	CHECK_EQ(t, 0, mpmcring_take_lost(c, &first));
	bp_armed = 0;
	ioctl(bp_fd, PERF_EVENT_IOC_DISABLE, 0);
	/* The take lost every swap: the trap came before each. */
	CHECK(t, bp_hits >= 2 * MPR_CLAIM_TRIES,
	      "%d breakpoint signals, want at least %d: not delivered at once", (int)bp_hits,
	      2 * MPR_CLAIM_TRIES);
	CHECK_EQ(t, first.dropped, 0);
	CHECK(t, *taken < TOTAL, "taken %llu: the others took everything",
	      (unsigned long long)*taken);
	/* The others are gone and the total has not moved: the rest is ours. */
	CHECK_EQ(t, mpmcring_take_lost(c, &second), 0);
	CHECK_EQ(t, second.dropped, TOTAL - bp_others);
	CHECK_EQ(t, *taken, TOTAL);
	/* Told once: nothing more. */
	second.dropped = 1;
	CHECK_EQ(t, mpmcring_take_lost(c, &second), 0);
	CHECK_EQ(t, second.dropped, 0);
out:
	if (bp_fd >= 0)
		close(bp_fd);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	hostring_destroy(&h);
}

int main(void)
{
	static const struct tap_test tests[] = {
		TAP_TEST(t_gave_up_takes_again),
	};

	return tap_run(tests, (int)(sizeof(tests) / sizeof(tests[0])));
}
