// SPDX-License-Identifier: GPL-2.0-only
/*
 * The README's consumer (examples/consumer.c), built the way a user builds
 * it (pkg-config against a `make install` tree, here linked statically for
 * the guest) and run as a user would: records written to /dev/mpmcring come
 * out of its stdout, each once, in order. The program is
 * $MPMCRING_EXAMPLE (default /bin/mpmcring-consumer-example).
 */
#include <signal.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "vmtest.h"

#define NREC 500

static const char *example_path(void)
{
	const char *p = getenv("MPMCRING_EXAMPLE");

	return p && *p ? p : "/bin/mpmcring-consumer-example";
}

TEST(example_consumer_prints_every_record_once)
{
	static char want[NREC * 32], got[NREC * 32 + 64];
	size_t wantlen = 0, gotlen, extra;
	int out[2], fd, i, status;
	pid_t pid;

	ASSERT_EQ(0, access(example_path(), X_OK))
	TH_LOG("no example consumer at %s: set MPMCRING_EXAMPLE", example_path());
	/* Whatever earlier tests left in the default ring goes first. */
	fd = open("/dev/mpmcring", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	while (read(fd, got, sizeof(got)) > 0)
		;
	close(fd);
	ASSERT_EQ(0, pipe(out));
	pid = vm_spawn((const char *const[]){ example_path(), NULL }, out[1], -1, out[0]);
	ASSERT_GE(pid, 0);
	close(out[1]);

	/* Records through write(2), one per call, as a userspace producer. */
	fd = open("/dev/mpmcring", O_WRONLY | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	for (i = 0; i < NREC; i++) {
		char rec[32];
		int len = snprintf(rec, sizeof(rec), "record %05d\n", i);

		ASSERT_EQ(len, write(fd, rec, len));
		memcpy(want + wantlen, rec, len);
		wantlen += len;
	}
	close(fd);

	gotlen = vm_read_until(out[0], got, wantlen, 10000);
	EXPECT_EQ(wantlen, gotlen);
	EXPECT_EQ(0, memcmp(want, got, wantlen < gotlen ? wantlen : gotlen));
	/* Nothing more: each record was printed once. */
	extra = vm_read_until(out[0], got, 64, 300);
	EXPECT_EQ(0, extra);

	/* It was waiting for more, not dead. */
	EXPECT_EQ(0, waitpid(pid, &status, WNOHANG));
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(out[0]);
}

/*
 * A ring destroyed under the example: its wait returns -EPIPE, and the
 * example must stop (exit 0), not spin claiming and waiting forever.
 */
TEST(example_consumer_stops_when_its_ring_is_destroyed)
{
	const char *ring = "/dev/mpmcring-example";
	int status = 0, fd, out[2];
	bool exited;
	pid_t pid;
	char got[4];

	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen",
			       "ring=example create=1 size=65536 threads=0 autostart=0"));
	fd = open(ring, O_WRONLY | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(4, write(fd, "one\n", 4));
	close(fd);
	ASSERT_EQ(0, pipe(out));
	pid = vm_spawn((const char *const[]){ example_path(), ring, NULL }, out[1], -1, out[0]);
	ASSERT_GE(pid, 0);
	close(out[1]);
	/*
	 * It printed the record: it has the ring open and goes on to wait.
	 * A handshake, not a sleep: a fixed sleep could end before a slow
	 * guest had even started it, and the destroy would then fail its
	 * open instead of ending its wait.
	 */
	ASSERT_EQ(sizeof(got), vm_read_until(out[0], got, sizeof(got), 10000))
	TH_LOG("the example printed no record in 10 s");
	EXPECT_EQ(0, memcmp(got, "one\n", sizeof(got)));
	/* The destroy wakes it in its wait: it is seen asleep there first. */
	EXPECT_TRUE(vm_wait_proc_asleep(pid, vm_deadline_ms(10000)))
	TH_LOG("the example never slept in its wait in 10 s (spinning?)");
	EXPECT_EQ(0, waitpid(pid, &status, WNOHANG));
	ASSERT_EQ(0, vm_rmmod("mpmcring_loadgen")); /* destroys the ring */
	/*
	 * Bounded: one that never stops spins, however fast the guest. The
	 * bounds here (10 s each) fit inside the harness's 30 s default for
	 * a TEST, so that it fails by name, not by the harness's timeout.
	 */
	exited = vm_wait_exit(pid, &status, vm_deadline_ms(10000));
	close(out[0]);
	ASSERT_TRUE(exited) TH_LOG("still running 10 s after its ring was destroyed (spinning?)");
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
	TH_LOG("status %#x", status);
}

/*
 * ./consumer | less, with less not reading: the example blocks writing its
 * stdout, and must hold no claim meanwhile (it copies, commits, then
 * writes), or reclaim stops at its claim and the whole ring drops.
 */
TEST(example_consumer_blocked_on_output_holds_no_claim)
{
	const char *ring = "/dev/mpmcring-example";
	struct mpmcring_consumer_info ci = { 0 };
	int out[2], fd, status;
	char rec[1000];
	pid_t pid;

	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen",
			       "ring=example create=1 size=65536 threads=0 autostart=0"));
	fd = open(ring, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, pipe(out));
	pid = vm_spawn((const char *const[]){ example_path(), ring, NULL }, out[1], -1, out[0]);
	ASSERT_GE(pid, 0);
	close(out[1]);
	/*
	 * Write until it is blocked, not slow: asleep while the ring it reads
	 * is full, it can only be in its write to the full pipe. (After a
	 * fixed sleep, an example the guest had not run for that long could
	 * be caught between its claim and its commit, and the test failed
	 * with nothing wrong.) 20 s: inside the harness's 30 s for a TEST.
	 */
	memset(rec, 'e', sizeof(rec));
	EXPECT_TRUE(vm_fill_until_blocked(fd, rec, sizeof(rec), pid, vm_deadline_ms(20000)))
	TH_LOG("it did not block with the ring full behind it in 20 s (errno %d): is its output not blocked?",
	       errno);
	EXPECT_TRUE(vm_consumer_slot(fd, pid, &ci)) TH_LOG("the example has no consumer slot");
	EXPECT_TRUE(ci.start & MPMCRING_SLOT_IDLE)
	TH_LOG("the example holds a claim (%llu records) while its stdout is blocked",
	       (unsigned long long)ci.held_records);
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	close(out[0]);
	close(fd);
	EXPECT_EQ(0, vm_rmmod("mpmcring_loadgen"));
}

TEST_HARNESS_MAIN
