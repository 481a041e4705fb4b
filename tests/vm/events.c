// SPDX-License-Identifier: GPL-2.0-only
/*
 * The event source module (mpmcring_events.ko) on a real kernel: commands
 * with known effects (an exec of a known path, an open of a known file, a
 * connect to 127.0.0.1:port) produce exactly those events with the right
 * fields; parameters choose what is recorded and are checked; critical
 * events all arrive while a catch-all flood is refused and counted, and
 * while a user floods calls that fail (kept out of the critical class); the
 * module loads and unloads cleanly while events fire on every CPU; a record
 * written with write(2) is never taken for a kernel event.
 */
#define _GNU_SOURCE /* setresuid, setresgid */
#include <arpa/inet.h>
#include <elf.h>
#include <grp.h>
#include <linux/openat2.h>
#include <linux/perf_event.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "vmtest.h"
#include "mpmcring.h"
#include "mpmcring_events.h"

#define RING_NAME "evtest"
#define RING "/dev/mpmcring-" RING_NAME
#define EV_STATS "/sys/kernel/debug/mpmcring_events/stats"

static int ev_load(const char *params)
{
	char all[512];

	snprintf(all, sizeof(all), "ring=" RING_NAME " %s", params);
	return vm_insmod("mpmcring_events", all);
}

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* The loopback interface is down in a fresh initramfs. */
static void lo_up(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;
	strcpy(ifr.ifr_name, "lo");
	if (!ioctl(s, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
}

/* ---- what came out of the ring ---- */

struct got_ev {
	struct mpmcring_event ev; /* ev.str cleared: the string is in path */
	uint8_t prio;
	char path[512];
};

struct got {
	struct got_ev *e; /* every event but syscall ones not flagged x32 */
	size_t n, cap;
	uint64_t per_type[MPMCRING_EV_NR_TYPES];
	uint64_t not_events, bad, records;
	uint64_t revoked; /* commits that said -ESTALE (a test fails on any) */
	uint64_t getpids; /* syscall events of getpid */
};

/* What no syscall has: a negative number (-1 a tracer's skip). */
#define NO_SUCH_SYSCALL (-2L)

static void got_free(struct got *g)
{
	free(g->e);
	memset(g, 0, sizeof(*g));
}

static void got_record(struct got *g, const struct mpmcring_record *rec)
{
	struct mpmcring_event ev;
	struct got_ev *x;
	int ret = mpmcring_event_decode(rec, &ev);

	g->records++;
	if (ret == -ENOMSG || ret == -EPERM) {
		g->not_events++;
		return;
	}
	if (ret) {
		g->bad++;
		return;
	}
	g->per_type[ev.hdr.type]++;
	if (ev.hdr.type == MPMCRING_EV_SYSCALL) {
		g->getpids += ev.syscall.nr == SYS_getpid;
		/* Kept: x32 ones and negative numbers, few. */
		if (!(ev.hdr.flags & MPMCRING_EVF_X32) && (int32_t)ev.syscall.nr >= 0)
			return;
	}
	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 1024;
		g->e = realloc(g->e, g->cap * sizeof(*g->e));
		if (!g->e)
			abort();
	}
	x = &g->e[g->n++];
	x->ev = ev;
	x->prio = rec->prio;
	snprintf(x->path, sizeof(x->path), "%.*s", (int)ev.str_len, ev.str);
	x->ev.str = NULL; /* in the ring: gone after the commit; use path */
}

/* Reads until the ring stays empty (or is gone); returns records read. */
static uint64_t drain(struct mpmcring_consumer *c, struct got *g)
{
	struct mpmcring_record rec;
	struct mpmcring_batch b;
	uint64_t before = g->records;
	int idle = 0, n;

	while (idle < 5) {
		n = mpmcring_read_batch(c, &b, 256, SIZE_MAX);
		if (n == -EBUSY)
			continue;
		if (n < 0) {
			idle++;
			vm_sleep_ms(20);
			continue;
		}
		idle = 0;
		while (mpmcring_batch_next(&b, &rec))
			got_record(g, &rec);
		if (mpmcring_commit(c))
			g->revoked++;
	}
	return g->records - before;
}

/* How many events of type by task pid satisfy the caller's test. */
#define COUNT_WHERE(g, type_, pid_, cond)                                                         \
	({                                                                                        \
		size_t _n = 0;                                                                    \
		for (size_t _i = 0; _i < (g)->n; _i++) {                                          \
			const struct got_ev *x = &(g)->e[_i];                                     \
			struct mpmcring_event _e = x->ev;                                         \
			const struct mpmcring_event *ev = &_e;                                    \
			_e.str = x->path; /* the array may have moved since */                    \
			(void)x;                                                                  \
			if (ev->hdr.type == (type_) && ev->hdr.pid == (uint32_t)(pid_) && (cond)) \
				_n++;                                                             \
		}                                                                                 \
		_n;                                                                               \
	})

/* The per-type counters of the module: emitted and dropped. */
static int ev_read_stats(uint64_t *emitted, uint64_t *dropped, char (*cls)[16])
{
	FILE *f = fopen(EV_STATS, "r");
	char line[256], name[32], c[16];
	unsigned long long e, d;
	unsigned int t;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%31s %15s %llu %llu", name, c, &e, &d) != 4)
			continue;
		for (t = 1; t < MPMCRING_EV_NR_TYPES; t++) {
			if (strcmp(name, mpmcring_event_type_name(t)))
				continue;
			emitted[t] = e;
			dropped[t] = d;
			if (cls)
				snprintf(cls[t], sizeof(cls[t]), "%s", c);
		}
	}
	fclose(f);
	return 0;
}

/* Of the module's drops, those a ring its owner destroyed refused; -1: none said. */
static long long ev_read_ring_gone(void)
{
	static const char say[] = "# of those dropped, refused by a ring its owner destroyed: %llu";
	FILE *f = fopen(EV_STATS, "r");
	unsigned long long n;
	long long got = -1;
	char line[256];

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, say, &n) == 1)
			got = (long long)n;
	fclose(f);
	return got;
}

/* A child that execs path with argv; returns its pid after it ended. */
static pid_t run_exec(const char *path, char *const argv[], int *status)
{
	pid_t pid = fork();

	if (pid == 0) {
		execv(path, argv);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, status, 0);
	return pid;
}

FIXTURE(ev)
{
	struct mpmcring *r;
	struct mpmcring_consumer *c;
	struct got g;
	pid_t flood; /* a flood process to kill, when a test fails first */
};

FIXTURE_SETUP(ev)
{
	lo_up();
	vm_rmmod("mpmcring_events");
	memset(&self->g, 0, sizeof(self->g));
	self->r = NULL;
	self->c = NULL;
	self->flood = 0;
}

FIXTURE_TEARDOWN(ev)
{
	if (self->flood > 0) {
		kill(self->flood, SIGKILL);
		waitpid(self->flood, NULL, 0);
	}
	if (self->c)
		mpmcring_consumer_free(self->c);
	if (self->r)
		mpmcring_close(self->r);
	vm_rmmod("mpmcring_events");
	vm_rmmod("mpmcring_loadgen");
	got_free(&self->g);
}

static int ev_attach(struct __test_metadata *_metadata, FIXTURE_DATA(ev) * self)
{
	self->r = mpmcring_open(RING, 0);
	if (!self->r) {
		TH_LOG("open %s: %s", RING, mpmcring_errmsg());
		return -1;
	}
	self->c = mpmcring_consumer_new(self->r);
	if (!self->c) {
		TH_LOG("consumer: %s", mpmcring_errmsg());
		return -1;
	}
	return 0;
}

TEST_F_TIMEOUT(ev, bad_params_fail_insmod_naming_them, 120)
{
	static const struct {
		const char *params, *says;
		int err;
	} bad[] = {
		{ "syscalls=openat,frobnicate",
		  "syscalls=openat,frobnicate: unknown syscall 'frobnicate'", -EINVAL },
		{ "syscalls=100000", "unknown syscall '100000'", -EINVAL },
		{ "proc=exec,clone", "proc=exec,clone: unknown process event 'clone'", -EINVAL },
		{ "prio=open=high", "class 'high' of open must be low, normal or critical",
		  -EINVAL },
		{ "prio=read=low", "'read' is not TYPE=CLASS", -EINVAL },
		{ "prio=exec", "'exec' is not TYPE=CLASS", -EINVAL },
		/* Nothing to probe: a typo, never a module that loads and records nothing. */
		{ "proc=none syscalls=none",
		  "proc=none syscalls=none and no catchall=1: nothing to record", -EINVAL },
		{ "proc= syscalls=,", "proc= syscalls=, and no catchall=1: nothing to record",
		  -EINVAL },
		{ "max_path=0", "max_path=0: must be 1-4000", -EINVAL },
		{ "max_path=5000", "max_path=5000: must be 1-4000", -EINVAL },
		/* A 4 KiB ring's records hold 2040 bytes; an open event 81 and its path. */
		{ "size=4K max_path=4000",
		  "max_path=4000: the ring's records hold at most 2040 bytes, so max_path may be at most 1959",
		  -EINVAL },
		{ "wm_low_pct=10 wm_normal_pct=20", "need wm_normal_pct <= wm_low_pct", -EINVAL },
		{ "size=12K", "size=12288: must be a power of two", -EINVAL },
		{ "create=0 ring=nosuchring", "ring=nosuchring create=0: no such ring", -ENOENT },
		{ "create=0 ring=nosuchring chunk_bytes=4096",
		  "chunk_bytes=4096 create=0: chunks are chosen where a ring is created", -EINVAL },
		/* What only a created ring takes is refused, not left unused. */
		{ "create=0 ring=default size=1M",
		  "size= create=0: it sets up a ring this module creates, and ring=default is created elsewhere",
		  -EINVAL },
		{ "create=0 ring=default wm_low_pct=60", "wm_low_pct= create=0: it sets up a ring",
		  -EINVAL },
		{ "wm_normal_pct=5 create=0 ring=default",
		  "wm_normal_pct= create=0: it sets up a ring", -EINVAL },
		/* Refused by mpmcring_create(), both modules saying why. */
		{ "chunk_bytes=8", "chunk_bytes=8: at least 64", -EINVAL },
		{ "chunk_bytes=8",
		  "ring=events size=4194304 chunk_bytes=8: creating the ring failed", -EINVAL },
	};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = vm_kmsg_open_at_end();
		char p[256];

		ASSERT_GE(fd, 0);
		snprintf(p, sizeof(p), "%s", bad[i].params);
		EXPECT_EQ(bad[i].err, vm_insmod("mpmcring_events", p))
		TH_LOG("insmod mpmcring_events %s", p);
		EXPECT_TRUE(vm_kmsg_has(fd, bad[i].says))
		TH_LOG("insmod mpmcring_events %s: no kernel log line saying \"%s\"", p,
		       bad[i].says);
		close(fd);
	}
	/* ring=default create=1 would take mpmcring.ko's ring. */
	EXPECT_EQ(-EINVAL, vm_insmod("mpmcring_events", "ring=default"));
	/* And nothing was left loaded by a failed insmod. */
	EXPECT_EQ(-ENOENT, vm_rmmod("mpmcring_events"));
	EXPECT_NE(0, access(RING, F_OK));
}

/* Whether an event was taken on cpu between t0 and t1 (CLOCK_MONOTONIC). */
static bool in_place(const struct mpmcring_event *ev, int cpu, uint64_t t0, uint64_t t1)
{
	return ev->hdr.cpu == (uint32_t)cpu && ev->hdr.ts_ns >= t0 && ev->hdr.ts_ns <= t1;
}

/* Logs where and when parent's fork of child and child's events were taken. */
static void log_where_when(struct __test_metadata *_metadata, const struct got *g, pid_t parent,
			   pid_t child)
{
	for (size_t i = 0; i < g->n; i++) {
		const struct mpmcring_event *ev = &g->e[i].ev;

		if ((ev->hdr.type == MPMCRING_EV_FORK && ev->hdr.pid == (uint32_t)parent &&
		     ev->fork.child_pid == (uint32_t)child) ||
		    ev->hdr.pid == (uint32_t)child)
			TH_LOG("  %s: cpu %u, ts_ns %llu", mpmcring_event_type_name(ev->hdr.type),
			       ev->hdr.cpu, (unsigned long long)ev->hdr.ts_ns);
	}
}

TEST_F_TIMEOUT(ev, exec_of_a_known_path, 120)
{
	char *argv[] = { "sh", "-c", "exit 7", NULL };
	char *argv_missing[] = { "nothing", NULL };
	pid_t me = gettid_(), child, failed;
	int status = 0, cpu;
	cpu_set_t was, one;
	uint64_t t0, t1;

	ASSERT_EQ(0, ev_load(""));
	ASSERT_EQ(0, ev_attach(_metadata, self));
	/* On one CPU, between two clock readings: the header's cpu and
	 * ts_ns (CLOCK_MONOTONIC) are known for the fork, exec and exit.
	 * The highest CPU this thread may use, not 0: a CPU field left 0 is
	 * caught wherever there are two. */
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(was), &was));
	for (cpu = CPU_SETSIZE - 1; cpu > 0 && !CPU_ISSET(cpu, &was); cpu--)
		;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
	t0 = vm_now_ns();
	child = run_exec("/bin/sh", argv, &status);
	t1 = vm_now_ns();
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(was), &was));
	ASSERT_GT(child, 0);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 7);
	failed = run_exec("/tmp/evtest-no-such-program", argv_missing, &status);
	ASSERT_GT(failed, 0);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 127);
	drain(self->c, &self->g);
	EXPECT_EQ(0, self->g.bad);
	EXPECT_EQ(0, self->g.revoked);

	/* Exactly one of each, with the right fields. */
	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_FORK, me,
				 ev->fork.child_pid == (uint32_t)child &&
					 ev->fork.child_tgid == (uint32_t)child &&
					 ev->hdr.tgid == (uint32_t)getpid() &&
					 x->prio == MPMCRING_PRIO_CRITICAL));
	EXPECT_EQ(1,
		  COUNT_WHERE(&self->g, MPMCRING_EV_EXEC, child,
			      !strcmp(ev->str, "/bin/sh") && !strcmp(ev->comm, "sh") &&
				      ev->exec.old_pid == (uint32_t)child &&
				      ev->hdr.tgid == (uint32_t)child && ev->hdr.uid == getuid() &&
				      x->prio == MPMCRING_PRIO_CRITICAL));
	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_EXIT, child,
				 ev->exit.exit_code == 7 << 8 && !strcmp(ev->comm, "sh")));
	/* Where and when: the pinned CPU, between the clock readings. */
	if (COUNT_WHERE(&self->g, MPMCRING_EV_FORK, me,
			ev->fork.child_pid == (uint32_t)child && in_place(ev, cpu, t0, t1)) != 1 ||
	    COUNT_WHERE(&self->g, MPMCRING_EV_EXEC, child, in_place(ev, cpu, t0, t1)) != 1 ||
	    COUNT_WHERE(&self->g, MPMCRING_EV_EXIT, child, in_place(ev, cpu, t0, t1)) != 1) {
		TH_LOG("the child's fork, exec and exit should be on CPU %d between %llu and %llu ns:",
		       cpu, (unsigned long long)t0, (unsigned long long)t1);
		log_where_when(_metadata, &self->g, me, child);
		EXPECT_TRUE(0);
	}
	/* A successful exec is the exec event only; a failed one the execve
	 * event, with its errno and the name the caller gave. */
	EXPECT_EQ(0, COUNT_WHERE(&self->g, MPMCRING_EV_EXECVE, child, 1));
	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_EXECVE, failed,
				 !strcmp(ev->str, "/tmp/evtest-no-such-program") &&
					 ev->execve.ret == -ENOENT && ev->execve.nr == SYS_execve &&
					 ev->execve.dirfd == AT_FDCWD &&
					 x->prio == MPMCRING_PRIO_NORMAL));
	EXPECT_EQ(0, COUNT_WHERE(&self->g, MPMCRING_EV_EXEC, failed, 1));
	EXPECT_EQ(1,
		  COUNT_WHERE(&self->g, MPMCRING_EV_EXIT, failed, ev->exit.exit_code == 127 << 8));
	for (size_t i = 0; i < self->g.n; i++) {
		const struct mpmcring_event *a = &self->g.e[i].ev;

		EXPECT_EQ(MPMCRING_EV_MAGIC, a->hdr.magic);
		EXPECT_EQ(MPMCRING_EV_VERSION, a->hdr.version);
		EXPECT_LT(a->hdr.cpu, (unsigned int)sysconf(_SC_NPROCESSORS_CONF));
	}
}

/*
 * An ELF executable the kernel gives up on past its point of no return:
 * the first segment maps (at FORGE_AT, where the caller kept the file
 * name, with FORGED there), the second cannot (in the kernel's half of
 * the address space). The caller's memory is then the new program's, and the task is
 * killed with SIGSEGV.
 */
#define FORGE_AT 0x10000000UL
#define FORGE_OFF 256
#define FORGED "/forged/by-the-binary"

static int write_no_return_elf(const char *path)
{
	unsigned char img[FORGE_OFF + sizeof(FORGED)] = { 0 };
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(*eh));
	int fd, ok;

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = FORGE_AT;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	/*
	 * Writable, with a tail to zero: 6.7+ zero it as they map it, which
	 * makes the page present (a nofault read can take it).
	 */
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD,
			      .p_flags = PF_R | PF_W,
			      .p_vaddr = FORGE_AT,
			      .p_paddr = FORGE_AT,
			      .p_filesz = sizeof(img),
			      .p_memsz = sizeof(img) + 64,
			      .p_align = 4096 };
	ph[1] = ph[0];
	ph[1].p_vaddr = ph[1].p_paddr = 1UL << 63; /* past any TASK_SIZE, LA57's too */
	memcpy(img + FORGE_OFF, FORGED, sizeof(FORGED));
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0755);
	if (fd < 0)
		return -1;
	ok = write(fd, img, sizeof(img)) == (ssize_t)sizeof(img);
	return close(fd) || !ok ? -1 : 0;
}

/* How the last thread ends: its pipe, and exit(2)'s status if it ends alone. */
struct last_how {
	int fd;
	int thread_exit; /* -1: exit_group(2) with status 3 */
};

/*
 * The last thread of a process whose main thread ended first: sends its
 * tid once the leader has gone through do_exit() (its task says Z), or
 * -1 if it never did (the test fails on that, not on a race), then ends
 * the process with status 3, or only itself with how->thread_exit.
 */
static void *last_thread(void *arg)
{
	const struct last_how *how = arg;
	int fd = how->fd;
	pid_t tid = -1;

	for (int i = 0; i < 30000; i++) {
		char path[64], st = 0;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)getpid());
		f = fopen(path, "r");
		if (!f) {
			tid = -2; /* its /proc entry unreadable */
			break;
		}
		if (fscanf(f, "%*d (%*[^)]) %c", &st) == 1 && st == 'Z')
			tid = gettid_();
		fclose(f);
		if (tid > 0)
			break;
		usleep(1000);
	}
	if (write(fd, &tid, sizeof(tid)) != sizeof(tid))
		syscall(SYS_exit_group, 90);
	if (how->thread_exit >= 0)
		syscall(SYS_exit, how->thread_exit);
	syscall(SYS_exit_group, 3);
	return NULL;
}

/*
 * A process whose main thread ends first, by pthread_exit() or, with
 * leader_status >= 0, by exit(2) alone; its other thread then ends as
 * thread_exit says (last_thread()). Waits for it: *child, the last
 * thread's *tid, wait(2)'s *status.
 */
static void main_thread_first(struct __test_metadata *_metadata, int leader_status, int thread_exit,
			      pid_t *child, pid_t *tid, int *status)
{
	int fds[2];

	*tid = 0;
	ASSERT_EQ(0, pipe(fds));
	*child = fork();
	ASSERT_GE(*child, 0);
	if (*child == 0) {
		static struct last_how how;
		pthread_t th;

		close(fds[0]);
		how.fd = fds[1];
		how.thread_exit = thread_exit;
		if (pthread_create(&th, NULL, last_thread, &how))
			_exit(91);
		if (leader_status >= 0)
			syscall(SYS_exit, leader_status);
		pthread_exit(NULL);
	}
	close(fds[1]);
	ASSERT_EQ((ssize_t)sizeof(*tid), read(fds[0], tid, sizeof(*tid)));
	close(fds[0]);
	ASSERT_EQ(*child, waitpid(*child, status, 0));
	ASSERT_NE(-2, *tid) TH_LOG("the leader's /proc/self/task entry could not be read");
	ASSERT_GT(*tid, 0) TH_LOG("the leader never showed as exited (Z) in 30 s");
}

/*
 * Exits come one per thread, and pid == tgid does not say the process
 * ended: here the main thread ends first (pthread_exit()), the other
 * thread later with status 3 (exit_group(2)). Only the last one's exit says so
 * (MPMCRING_EVF_GROUP_DEAD), with the process's status.
 */
TEST_F_TIMEOUT(ev, exit_of_the_last_thread_ends_the_process, 120)
{
	pid_t child, tid;
	int status = 0;

	ASSERT_EQ(0, ev_load("proc=exit syscalls=none"));
	ASSERT_EQ(0, ev_attach(_metadata, self));
	main_thread_first(_metadata, -1, -1, &child, &tid, &status);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	ASSERT_NE(child, tid);
	drain(self->c, &self->g);
	EXPECT_EQ(0, self->g.bad);
	/* The leader's exit: the process lives on in its other thread. */
	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_EXIT, child,
				 ev->hdr.tgid == (uint32_t)child &&
					 !(ev->hdr.flags & MPMCRING_EVF_GROUP_DEAD)));
	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_EXIT, tid,
				 ev->hdr.tgid == (uint32_t)child &&
					 (ev->hdr.flags & MPMCRING_EVF_GROUP_DEAD) &&
					 ev->exit.exit_code == 3 << 8));
}

/*
 * Every thread ended by exit(2), none by exit_group(2): the main thread with
 * 7, the last with 5. wait(2) reports the status of the thread that ended
 * the process's last quick thread (the kernel makes that a group exit), and
 * the exit that says the process ended must say the same. (The last
 * thread's own status and the group's are both 5 here: this pins the
 * promise against the main thread's, not which word the probe reads.)
 */
TEST_F_TIMEOUT(ev, exit_status_of_threads_that_end_alone_is_what_wait_says, 120)
{
	pid_t child, tid;
	int status = 0;

	ASSERT_EQ(0, ev_load("proc=exit syscalls=none"));
	ASSERT_EQ(0, ev_attach(_metadata, self));
	main_thread_first(_metadata, 7, 5, &child, &tid, &status);
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("status %#x", status);
	drain(self->c, &self->g);
	EXPECT_EQ(0, self->g.bad);
	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_EXIT, child,
				 !(ev->hdr.flags & MPMCRING_EVF_GROUP_DEAD) &&
					 ev->exit.exit_code == 7 << 8));
	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_EXIT, tid,
				 (ev->hdr.flags & MPMCRING_EVF_GROUP_DEAD) &&
					 ev->exit.exit_code == (status & 0xffff)))
	TH_LOG("the process's end did not say wait(2)'s status %#x", status);
}

/*
 * A failed exec past its point of no return: the event says the task is
 * killed and names no file, rather than a name read from memory that is no
 * longer the caller's (here, one the binary put there).
 */
TEST_F_TIMEOUT(ev, exec_failed_past_no_return_reads_nothing, 120)
{
	char path[64];
	int status = 0;
	pid_t child;

	snprintf(path, sizeof(path), "/tmp/evtest-noreturn-%d", (int)getpid());
	ASSERT_EQ(0, write_no_return_elf(path));
	ASSERT_EQ(0, ev_load(""));
	ASSERT_EQ(0, ev_attach(_metadata, self));
	child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		struct rlimit no_core = { 0, 0 };
		char *at = mmap((void *)FORGE_AT, 4096, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		char *argv[] = { "noreturn", NULL };

		setrlimit(RLIMIT_CORE, &no_core);
		if (at != (char *)FORGE_AT)
			_exit(3);
		strcpy(at + FORGE_OFF, path);
		execv(at + FORGE_OFF, argv);
		_exit(4); /* before the point of no return */
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	unlink(path);
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV)
	TH_LOG("the exec did not fail past its point of no return (status %#x)", status);
	drain(self->c, &self->g);
	EXPECT_EQ(0, self->g.bad);
	EXPECT_EQ(0, COUNT_WHERE(&self->g, MPMCRING_EV_EXEC, child, 1));
	EXPECT_EQ(0, COUNT_WHERE(&self->g, MPMCRING_EV_EXECVE, child, !strcmp(ev->str, FORGED)))
	TH_LOG("the failed exec was reported with the file name the binary wrote");
	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_EXECVE, child,
				 (ev->hdr.flags & MPMCRING_EVF_KILLED) && ev->str[0] == 0 &&
					 ev->execve.filename.len == 0 && ev->execve.ret < 0 &&
					 ev->execve.nr == SYS_execve &&
					 !strncmp(ev->comm, "evtest-noreturn", 15)));
	for (size_t i = 0; i < self->g.n; i++) {
		const struct got_ev *x = &self->g.e[i];

		if (x->ev.hdr.type == MPMCRING_EV_EXECVE && x->ev.hdr.pid == (uint32_t)child)
			TH_LOG("execve event: flags %#x ret %lld comm %.16s filename \"%s\"",
			       x->ev.hdr.flags, (long long)x->ev.execve.ret, x->ev.comm, x->path);
	}
	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_EXIT, child,
				 (ev->exit.exit_code & 0x7f) == SIGSEGV));
}

TEST_F_TIMEOUT(ev, open_of_a_known_file, 120)
{
	char path[64], missing[64];
	pid_t me = gettid_();
	int fd, fd2;

	snprintf(path, sizeof(path), "/tmp/evtest-known-%d", (int)getpid());
	snprintf(missing, sizeof(missing), "/tmp/evtest-missing-%d", (int)getpid());
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ASSERT_GE(fd, 0);
	close(fd);

	ASSERT_EQ(0, ev_load(""));
	ASSERT_EQ(0, ev_attach(_metadata, self));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	fd2 = openat(AT_FDCWD, missing, O_RDONLY);
	ASSERT_EQ(-1, fd2);
	drain(self->c, &self->g);
	EXPECT_EQ(0, self->g.bad);
	EXPECT_EQ(0, self->g.revoked);

	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_OPEN, me,
				 !strcmp(ev->str, path) && ev->open.ret == fd &&
					 (ev->open.flags & O_ACCMODE) == O_RDONLY &&
					 (ev->open.flags & O_CLOEXEC) &&
					 ev->open.nr == SYS_openat && ev->open.dirfd == AT_FDCWD &&
					 ev->hdr.tgid == (uint32_t)getpid() &&
					 x->prio == MPMCRING_PRIO_NORMAL &&
					 !(ev->hdr.flags & MPMCRING_EVF_TRUNCATED)));
	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_OPEN, me,
				 !strcmp(ev->str, missing) && ev->open.ret == -ENOENT));
	/* Nothing else opened the path. */
	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_OPEN, me, !strcmp(ev->str, path)));
	/* Catch-all is off by default: no syscall records at all. */
	EXPECT_EQ(0, self->g.per_type[MPMCRING_EV_SYSCALL]);
	close(fd);
	unlink(path);
}

/*
 * openat2: its flags and mode come from the caller's struct open_how. A
 * size the kernel refuses before reading it (under the struct's first
 * version: EINVAL; over a page: E2BIG) leaves them 0 and is no fault, the
 * how unreadable or not; a how the kernel could not read (EFAULT) is
 * flagged fault.
 */
TEST_F_TIMEOUT(ev, openat2_fields_from_its_open_how, 120)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC };
	long pg = sysconf(_SC_PAGESIZE);
	pid_t me = gettid_();
	char path[64];
	void *gone;
	long fd, small, bad;
	const struct {
		size_t size;
		int err;
	} refused[] = { { 8, EINVAL }, { 16, EINVAL }, { 23, EINVAL }, { (size_t)pg + 1, E2BIG } };
	size_t i;

	snprintf(path, sizeof(path), "/tmp/evtest-openat2-%d", (int)getpid());
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ASSERT_GE(fd, 0);
	close((int)fd);
	gone = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, gone);

	ASSERT_EQ(0, ev_load(""));
	ASSERT_EQ(0, ev_attach(_metadata, self));
	fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	ASSERT_GE(fd, 0);
	/* Refused before the struct is read: under its first version, over a page. */
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		small = syscall(SYS_openat2, AT_FDCWD, path, gone, refused[i].size);
		EXPECT_EQ(-1, small);
		EXPECT_EQ(refused[i].err, errno) TH_LOG("size %zu", refused[i].size);
	}
	bad = syscall(SYS_openat2, AT_FDCWD, path, gone, sizeof(how));
	EXPECT_EQ(-1, bad);
	EXPECT_EQ(EFAULT, errno);
	drain(self->c, &self->g);
	EXPECT_EQ(0, self->g.bad);

	EXPECT_EQ(1,
		  COUNT_WHERE(&self->g, MPMCRING_EV_OPEN, me,
			      !strcmp(ev->str, path) && ev->open.ret == fd &&
				      ev->open.nr == SYS_openat2 && ev->open.dirfd == AT_FDCWD &&
				      ev->open.flags == (O_RDONLY | O_CLOEXEC) &&
				      ev->open.mode == 0 && !(ev->hdr.flags & MPMCRING_EVF_FAULT)));
	EXPECT_EQ(3, COUNT_WHERE(&self->g, MPMCRING_EV_OPEN, me,
				 !strcmp(ev->str, path) && ev->open.ret == -EINVAL &&
					 ev->open.nr == SYS_openat2 && ev->open.flags == 0 &&
					 !(ev->hdr.flags & MPMCRING_EVF_FAULT)));
	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_OPEN, me,
				 !strcmp(ev->str, path) && ev->open.ret == -E2BIG &&
					 ev->open.nr == SYS_openat2 && ev->open.flags == 0 &&
					 !(ev->hdr.flags & MPMCRING_EVF_FAULT)));
	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_OPEN, me,
				 !strcmp(ev->str, path) && ev->open.ret == -EFAULT &&
					 ev->open.nr == SYS_openat2 && ev->open.flags == 0 &&
					 (ev->hdr.flags & MPMCRING_EVF_FAULT)));
	close((int)fd);
	munmap(gone, pg);
	unlink(path);
}

/*
 * User strings the probes cannot read whole: a path that runs into an
 * unmapped page is kept up to the page's end and flagged "fault"; one that
 * merely crosses into the next (mapped) page is kept whole; a NULL or
 * kernel pointer gives an empty, flagged path; an unreadable sockaddr a
 * zeroed, flagged address. The probes read user memory without faulting,
 * in page-bounded chunks: these are the edges of that loop.
 */
TEST_F_TIMEOUT(ev, unreadable_user_strings_are_cut_and_flagged, 120)
{
	static const char prefix[] = "/tmp/evtest-fault-prefix";
	long pg = sysconf(_SC_PAGESIZE);
	char *map, *cross, *edge;
	char want[128];
	pid_t me = gettid_();
	struct sockaddr *kernel_ptr = (struct sockaddr *)0xffffffff81000000UL;
	size_t plen = sizeof(prefix) - 1;

	map = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	/* Crossing: the path's first 10 bytes at the end of page one. */
	snprintf(want, sizeof(want), "/tmp/evtest-cross-%d", (int)getpid());
	cross = map + pg - 10;
	memcpy(cross, want, strlen(want) + 1);
	ASSERT_EQ(0, ev_load(""));
	ASSERT_EQ(0, ev_attach(_metadata, self));
	EXPECT_EQ(-1, openat(AT_FDCWD, cross, O_RDONLY));
	EXPECT_EQ(ENOENT, errno);
	/* Unterminated at the end of page one, page two unmapped. */
	edge = map + pg - plen;
	memcpy(edge, prefix, plen);
	ASSERT_EQ(0, munmap(map + pg, pg));
	EXPECT_EQ(-1, openat(AT_FDCWD, edge, O_RDONLY));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, (int)syscall(SYS_openat, AT_FDCWD, NULL, O_RDONLY));
	EXPECT_EQ(-1, (int)syscall(SYS_openat, AT_FDCWD, (char *)kernel_ptr, O_RDONLY));
	EXPECT_EQ(-1, (int)syscall(SYS_connect, 0, NULL, 16));
	EXPECT_EQ(-1, (int)syscall(SYS_connect, 0, kernel_ptr, 16));
	drain(self->c, &self->g);
	EXPECT_EQ(0, self->g.bad);
	EXPECT_EQ(0, self->g.revoked);

	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_OPEN, me,
				 !strcmp(ev->str, want) && ev->open.ret == -ENOENT &&
					 !(ev->hdr.flags &
					   (MPMCRING_EVF_FAULT | MPMCRING_EVF_TRUNCATED))));
	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_OPEN, me,
				 ev->str_len == plen && !memcmp(ev->str, prefix, plen) &&
					 ev->open.ret == -EFAULT &&
					 (ev->hdr.flags & MPMCRING_EVF_FAULT) &&
					 !(ev->hdr.flags & MPMCRING_EVF_TRUNCATED)));
	/* NULL and a kernel address: nothing read, flagged. */
	EXPECT_EQ(2, COUNT_WHERE(&self->g, MPMCRING_EV_OPEN, me,
				 ev->str_len == 0 && ev->open.ret == -EFAULT &&
					 (ev->hdr.flags & MPMCRING_EVF_FAULT)));
	EXPECT_EQ(2, COUNT_WHERE(&self->g, MPMCRING_EV_CONNECT, me,
				 ev->connect.family == 0 && ev->connect.port == 0 &&
					 ev->connect.addrlen == 16 &&
					 (ev->hdr.flags & MPMCRING_EVF_FAULT)));
	munmap(map, pg);
}

/*
 * Paths of every length around the edges of the probe's string reading:
 * each word (the NUL is looked for 8 bytes at a time, a short last word
 * masked), each 64-byte chunk (the path is read from the user 64 bytes at
 * a time, never across a page) and max_path (the default, 256: longer is
 * cut and flagged). Each path is opened twice: from a buffer where the
 * bytes after its NUL are not zero, so that a length read past the NUL
 * would show; and with its NUL the last byte of a page whose next page is
 * unmapped, so that a NUL missed in a short last word would read on and
 * fault.
 */
TEST_F_TIMEOUT(ev, paths_of_lengths_around_word_and_chunk_edges, 180)
{
	static const unsigned int lens[] = { 1,	  2,   7,   8,	 9,   15,  16,	17,  55,  56,
					     57,  63,  64,  65,	 71,  72,  73,	127, 128, 129,
					     191, 192, 193, 254, 255, 256, 257, 258, 300 };
	long pg = sysconf(_SC_PAGESIZE);
	char buf[400], *map, *at;
	pid_t me = gettid_();
	unsigned int i, len, kept;

	map = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, munmap(map + pg, pg));
	ASSERT_EQ(0, ev_load(""));
	ASSERT_EQ(0, ev_attach(_metadata, self));
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		/* 'a' + i: each length its own letter, so that its events are
		 * found by their path; 'Z's after the NUL. */
		len = lens[i];
		memset(buf, 'Z', sizeof(buf));
		memset(buf, 'a' + (int)i, len);
		buf[len] = 0;
		EXPECT_EQ(-1, openat(AT_FDCWD, buf, O_RDONLY));
		at = map + pg - (len + 1);
		memcpy(at, buf, len + 1);
		EXPECT_EQ(-1, openat(AT_FDCWD, at, O_RDONLY));
	}
	drain(self->c, &self->g);
	EXPECT_EQ(0, self->g.bad);
	EXPECT_EQ(0, self->g.revoked);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		len = lens[i];
		kept = len > 256 ? 256 : len;
		memset(buf, 'a' + (int)i, kept);
		buf[kept] = 0;
		EXPECT_EQ(2, COUNT_WHERE(&self->g, MPMCRING_EV_OPEN, me,
					 ev->str_len == kept && !strcmp(ev->str, buf) &&
						 !(ev->hdr.flags & MPMCRING_EVF_FAULT) &&
						 !!(ev->hdr.flags & MPMCRING_EVF_TRUNCATED) ==
							 (len > 256)))
		{
			TH_LOG("a path of %u bytes", len);
		}
	}
	munmap(map, pg);
}

static int listener(int family, uint16_t *port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -1;
	if (family == AF_INET) {
		struct sockaddr_in *in = (void *)&ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (void *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		len = sizeof(*in6);
	}
	if (bind(s, (void *)&ss, len) || listen(s, 4) || getsockname(s, (void *)&ss, &len)) {
		close(s);
		return -1;
	}
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return s;
}

TEST_F_TIMEOUT(ev, connect_to_loopback, 120)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	uint8_t lo4[4] = { 127, 0, 0, 1 };
	pid_t me = gettid_();
	uint16_t port = 0, port6 = 0;
	int l, c, l6, c6 = -1;

	l = listener(AF_INET, &port);
	ASSERT_GE(l, 0);
	ASSERT_EQ(0, ev_load(""));
	ASSERT_EQ(0, ev_attach(_metadata, self));
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_GE(c, 0);
	to.sin_port = htons(port);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_EQ(0, connect(c, (void *)&to, sizeof(to)));
	/* IPv6 where the kernel has it (the stock ones do). */
	l6 = listener(AF_INET6, &port6);
	if (l6 >= 0) {
		struct sockaddr_in6 to6 = { .sin6_family = AF_INET6,
					    .sin6_port = htons(port6),
					    .sin6_addr = IN6ADDR_LOOPBACK_INIT };

		c6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ASSERT_GE(c6, 0);
		ASSERT_EQ(0, connect(c6, (void *)&to6, sizeof(to6)));
	}
	drain(self->c, &self->g);
	EXPECT_EQ(0, self->g.bad);
	EXPECT_EQ(0, self->g.revoked);
	EXPECT_EQ(1,
		  COUNT_WHERE(&self->g, MPMCRING_EV_CONNECT, me,
			      ev->connect.fd == c && ev->connect.ret == 0 &&
				      ev->connect.family == AF_INET && ev->connect.port == port &&
				      !memcmp(ev->connect.addr, lo4, 4) &&
				      ev->connect.addrlen == sizeof(to) &&
				      ev->connect.nr == SYS_connect &&
				      x->prio == MPMCRING_PRIO_NORMAL));
	if (l6 >= 0) {
		EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_CONNECT, me,
					 ev->connect.fd == c6 && ev->connect.ret == 0 &&
						 ev->connect.family == AF_INET6 &&
						 ev->connect.port == port6 &&
						 !memcmp(ev->connect.addr, &in6addr_loopback, 16)));
	} else {
		TH_LOG("no IPv6 in this kernel: only the IPv4 connect checked");
	}
	/* A refused connect is recorded with its error. */
	close(l);
	close(c);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_EQ(-1, connect(c, (void *)&to, sizeof(to)));
	ASSERT_EQ(ECONNREFUSED, errno);
	drain(self->c, &self->g);
	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_CONNECT, me,
				 ev->connect.fd == c && ev->connect.ret == -ECONNREFUSED &&
					 x->prio == MPMCRING_PRIO_NORMAL));
	/*
	 * A length the kernel refuses before it reads the address (negative,
	 * or over a sockaddr_storage): no address in the record either. It
	 * once read what the kernel never did, and decoded it.
	 */
	ASSERT_EQ(-1, syscall(SYS_connect, c, &to, -1));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, syscall(SYS_connect, c, &to, sizeof(struct sockaddr_storage) + 1));
	ASSERT_EQ(EINVAL, errno);
	/* A file that is none: EBADF before the address is read. */
	ASSERT_EQ(-1, connect(-1, (void *)&to, sizeof(to)));
	ASSERT_EQ(EBADF, errno);
	drain(self->c, &self->g);
	EXPECT_EQ(2, COUNT_WHERE(&self->g, MPMCRING_EV_CONNECT, me,
				 ev->connect.fd == c && ev->connect.ret == -EINVAL &&
					 ev->connect.family == 0 && ev->connect.port == 0 &&
					 !(ev->hdr.flags & MPMCRING_EVF_FAULT)));
	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_CONNECT, me,
				 ev->connect.fd == -1 && ev->connect.ret == -EBADF &&
					 ev->connect.family == 0 && ev->connect.port == 0));
	close(c);
	if (l6 >= 0) {
		close(l6);
		close(c6);
	}
}

/* ---- 32-bit syscalls ---- */

/* The ia32 table's numbers (arch/x86/entry/syscalls/syscall_32.tbl). */
#define IA32_EXECVE 11
#define IA32_GETPID 20
#define IA32_SOCKETCALL 102
#define IA32_OPENAT 295
#define IA32_CONNECT 362
#define SOCKETCALL_CONNECT 3

/*
 * A 32-bit syscall from this 64-bit program: int $0x80 takes the ia32
 * table's numbers and 32-bit arguments, and the kernel ignores the upper
 * halves of the argument registers (a probe must too). On return the
 * kernel has zeroed r8-r15.
 */
static long int80(long nr, uint64_t a, uint64_t b, uint64_t c)
{
	long ret;

	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c)
			 : "memory", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15");
	return ret;
}

/* Whether this kernel takes 32-bit syscalls (IA32_EMULATION): its sysctl
 * abi/vsyscall32 exists only then (elsewhere int $0x80 is a general
 * protection fault, logged on the console); then tried in a child, since
 * the emulation can also be off at boot (ia32_emulation=0). */
static bool ia32_available(void)
{
	int status;
	pid_t pid;

	if (access("/proc/sys/abi/vsyscall32", F_OK))
		return false;
	pid = fork();

	if (pid == 0)
		_exit(int80(IA32_GETPID, 0, 0, 0) == getpid() ? 0 : 1);
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

/*
 * A 32-bit program's open, connect (direct, and through socketcall as
 * i386 glibc makes it) and failed execve are the same events as a 64-bit
 * one's, flagged compat, with the 32-bit table's numbers: the default
 * configuration must not be blind to them. The arguments carry garbage in
 * their registers' upper halves, as int $0x80 from a 64-bit task can.
 */
TEST_F_TIMEOUT(ev, ia32_syscalls_are_recorded, 120)
{
	const uint64_t hi = 0xdead0000ULL << 32;
	long pg = sysconf(_SC_PAGESIZE);
	pid_t me = gettid_();
	struct sockaddr_in *to;
	uint32_t *sockargs, *argv32;
	char *low, *path, *missing;
	uint16_t port = 0;
	int l, s, s2, fd;

	if (!ia32_available())
		SKIP(return, "this kernel takes no 32-bit syscalls (IA32_EMULATION)");
	/* Everything a 32-bit call points to lies below 4 GiB. */
	low = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1,
		   0);
	ASSERT_NE(MAP_FAILED, low);
	ASSERT_LT((uintptr_t)low, 1ULL << 32);
	path = low;
	missing = low + 64;
	to = (void *)(low + 128);
	sockargs = (void *)(low + 192);
	argv32 = (void *)(low + 256); /* a 32-bit argv: { missing, NULL } */
	snprintf(path, 64, "/tmp/evtest-ia32-%d", (int)getpid());
	snprintf(missing, 64, "/tmp/evtest-ia32-missing-%d", (int)getpid());
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ASSERT_GE(fd, 0);
	close(fd);
	l = listener(AF_INET, &port);
	ASSERT_GE(l, 0);
	to->sin_family = AF_INET;
	to->sin_port = htons(port);
	to->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	s2 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_GE(s, 0);
	ASSERT_GE(s2, 0);
	sockargs[0] = (uint32_t)s2;
	sockargs[1] = (uint32_t)(uintptr_t)to;
	sockargs[2] = sizeof(*to);
	argv32[0] = (uint32_t)(uintptr_t)missing;
	argv32[1] = 0;

	ASSERT_EQ(0, ev_load(""));
	ASSERT_EQ(0, ev_attach(_metadata, self));
	fd = (int)int80(IA32_OPENAT, hi | (uint32_t)AT_FDCWD, hi | (uintptr_t)path, hi | O_RDONLY);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(-ENOENT, int80(IA32_EXECVE, hi | (uintptr_t)missing, hi | (uintptr_t)argv32, 0));
	EXPECT_EQ(0, int80(IA32_CONNECT, hi | (uint32_t)s, hi | (uintptr_t)to, hi | sizeof(*to)));
	EXPECT_EQ(0, int80(IA32_SOCKETCALL, hi | SOCKETCALL_CONNECT, hi | (uintptr_t)sockargs, 0));
	drain(self->c, &self->g);
	EXPECT_EQ(0, self->g.bad);
	EXPECT_EQ(0, self->g.revoked);

	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_OPEN, me,
				 !strcmp(ev->str, path) && ev->open.ret == fd &&
					 ev->open.nr == IA32_OPENAT && ev->open.dirfd == AT_FDCWD &&
					 (ev->open.flags & O_ACCMODE) == O_RDONLY &&
					 (ev->hdr.flags & MPMCRING_EVF_COMPAT) &&
					 !(ev->hdr.flags & MPMCRING_EVF_FAULT)));
	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_EXECVE, me,
				 !strcmp(ev->str, missing) && ev->execve.ret == -ENOENT &&
					 ev->execve.nr == IA32_EXECVE &&
					 (ev->hdr.flags & MPMCRING_EVF_COMPAT)));
	EXPECT_EQ(1,
		  COUNT_WHERE(&self->g, MPMCRING_EV_CONNECT, me,
			      ev->connect.fd == s && ev->connect.ret == 0 &&
				      ev->connect.family == AF_INET && ev->connect.port == port &&
				      ev->connect.addrlen == sizeof(*to) &&
				      ev->connect.nr == IA32_CONNECT &&
				      (ev->hdr.flags & MPMCRING_EVF_COMPAT) &&
				      !(ev->hdr.flags & MPMCRING_EVF_FAULT)));
	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_CONNECT, me,
				 ev->connect.fd == s2 && ev->connect.ret == 0 &&
					 ev->connect.port == port &&
					 ev->connect.nr == IA32_SOCKETCALL &&
					 (ev->hdr.flags & MPMCRING_EVF_COMPAT)));
	/* Catch-all off: none of them is a syscall record. */
	EXPECT_EQ(0, self->g.per_type[MPMCRING_EV_SYSCALL]);
	close(fd);
	close(s);
	close(s2);
	close(l);
	unlink(path);
	munmap(low, pg);
}

/*
 * The same syscalls numbered the x32 way (0x40000000 | nr; execve 520,
 * ioctl 514), made by this 64-bit task: recorded as open, connect and
 * execve events, and ioctl, asked for by its native number, as a syscall
 * record, each flagged x32 with the number as made. Where the kernel
 * takes x32 calls (stock 6.12 here boots with syscall.x32=y) they open,
 * connect and ioctl; elsewhere they fail with ENOSYS, recorded all the
 * same. Before, they fell to catch-all (off by default): a task could
 * open and connect unseen by numbering its syscalls so. An ia32 call with
 * the bit set is no x32 call: nothing is recorded for it.
 */
#define X32_BIT 0x40000000L
#define X32_EXECVE 520
#define X32_IOCTL 514

static long x32_call(long nr, long a, long b, long c)
{
	long r = syscall(X32_BIT | nr, a, b, c);

	return r < 0 ? -errno : r;
}

/* Whether this kernel takes x32 syscalls (Debian's syscall.x32=). */
static bool x32_enabled(void)
{
	char c = 'N';
	int fd = open("/sys/module/syscall/parameters/x32", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, &c, 1) != 1)
			c = 'N';
		close(fd);
	}
	return c == 'Y';
}

TEST_F_TIMEOUT(ev, x32_numbered_syscalls_are_recorded, 120)
{
	long pg = sysconf(_SC_PAGESIZE), fd, ex, cn, io;
	bool taken = x32_enabled();
	pid_t me = gettid_();
	struct sockaddr_in to = { .sin_family = AF_INET };
	uint32_t *argv32;
	char *low, *path, *missing, params[128];
	uint16_t port = 0;
	int l, s;

	/* x32 pointers lie below 4 GiB: execve's argv is 32-bit. */
	low = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1,
		   0);
	ASSERT_NE(MAP_FAILED, low);
	path = low;
	missing = low + 64;
	argv32 = (void *)(low + 128); /* { missing, NULL } */
	snprintf(path, 64, "/tmp/evtest-x32-%d", (int)getpid());
	snprintf(missing, 64, "/tmp/evtest-x32-missing-%d", (int)getpid());
	argv32[0] = (uint32_t)(uintptr_t)missing;
	argv32[1] = 0;
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ASSERT_GE(fd, 0);
	close((int)fd);
	l = listener(AF_INET, &port);
	ASSERT_GE(l, 0);
	to.sin_port = htons(port);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_GE(s, 0);

	snprintf(params, sizeof(params), "syscalls=openat,connect,execve,%d", __NR_ioctl);
	ASSERT_EQ(0, ev_load(params));
	ASSERT_EQ(0, ev_attach(_metadata, self));
	fd = x32_call(__NR_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC);
	ex = x32_call(X32_EXECVE, (long)missing, (long)argv32, 0);
	cn = x32_call(__NR_connect, s, (long)&to, sizeof(to));
	io = x32_call(X32_IOCTL, s, FIONREAD, (long)(low + 192)); /* an int, below 4 GiB */
	if (ia32_available()) /* ia32's openat is 295: 257 is out of its table */
		EXPECT_EQ(-ENOSYS, int80(X32_BIT | __NR_openat, (uint32_t)AT_FDCWD,
					 (uintptr_t)missing, O_RDONLY));
	TH_LOG("x32 %s: openat %ld, execve %ld, connect %ld, ioctl %ld",
	       taken ? "taken" : "refused", fd, ex, cn, io);
	if (taken) {
		EXPECT_TRUE(fd >= 0 && ex == -ENOENT && cn == 0 && io == 0);
	} else {
		EXPECT_TRUE(fd == -ENOSYS && ex == -ENOSYS && cn == -ENOSYS && io == -ENOSYS);
	}
	drain(self->c, &self->g);
	EXPECT_EQ(0, self->g.bad);
	EXPECT_EQ(0, self->g.revoked);

	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_OPEN, me,
				 !strcmp(ev->str, path) && ev->open.ret == fd &&
					 ev->open.nr == (uint32_t)(X32_BIT | __NR_openat) &&
					 ev->open.dirfd == AT_FDCWD &&
					 (ev->open.flags & O_ACCMODE) == O_RDONLY &&
					 (ev->hdr.flags & MPMCRING_EVF_X32) &&
					 !(ev->hdr.flags &
					   (MPMCRING_EVF_COMPAT | MPMCRING_EVF_FAULT))));
	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_EXECVE, me,
				 !strcmp(ev->str, missing) && ev->execve.ret == ex &&
					 ev->execve.nr == (uint32_t)(X32_BIT | X32_EXECVE) &&
					 (ev->hdr.flags & MPMCRING_EVF_X32)));
	/* Refused (ENOSYS), it never ran: no address read, as the kernel read none. */
	EXPECT_EQ(1,
		  COUNT_WHERE(
			  &self->g, MPMCRING_EV_CONNECT, me,
			  ev->connect.fd == s && ev->connect.ret == cn &&
				  (taken ? ev->connect.family == AF_INET && ev->connect.port == port
					 : ev->connect.family == 0 && ev->connect.port == 0) &&
				  ev->connect.nr == (uint32_t)(X32_BIT | __NR_connect) &&
				  (ev->hdr.flags & MPMCRING_EVF_X32) &&
				  !(ev->hdr.flags & MPMCRING_EVF_FAULT)));
	/* The ioctl by its x32 number, as syscalls= asked for native ioctl. */
	EXPECT_EQ(1,
		  COUNT_WHERE(&self->g, MPMCRING_EV_SYSCALL, me,
			      ev->syscall.nr == (uint32_t)(X32_BIT | X32_IOCTL) &&
				      ev->syscall.ret == io && (ev->hdr.flags & MPMCRING_EVF_X32)));
	/* Nothing else flagged x32, and nothing for the ia32 call. */
	EXPECT_EQ(1,
		  COUNT_WHERE(&self->g, MPMCRING_EV_SYSCALL, me, ev->hdr.flags & MPMCRING_EVF_X32));
	EXPECT_EQ(0, COUNT_WHERE(&self->g, MPMCRING_EV_OPEN, me, !strcmp(ev->str, missing)));
	if (fd >= 0)
		close((int)fd);
	close(s);
	close(l);
	unlink(path);
	munmap(low, pg);
}

/*
 * The catch-all takes every syscall a task asks for, a number no syscall
 * has included (a fuzzer's, an exploit probing): it fails with ENOSYS,
 * and before it was not recorded. -1 is what a tracer leaves for a
 * syscall it skipped (and every rt_sigreturn shows): never recorded.
 */
TEST_F_TIMEOUT(ev, catchall_records_numbers_no_syscall_has, 120)
{
	pid_t me = gettid_();
	bool ia32;
	int i;

	ASSERT_EQ(0, ev_load("proc=none syscalls=none catchall=1"));
	ASSERT_EQ(0, ev_attach(_metadata, self));
	for (i = 0; i < 3; i++) {
		errno = 0;
		EXPECT_EQ(-1, syscall(NO_SUCH_SYSCALL));
		EXPECT_EQ(ENOSYS, errno);
	}
	EXPECT_EQ(-1, syscall(-1L));
	/* A 32-bit task's: eax is zero-extended, and read back as an int. */
	ia32 = ia32_available();
	if (ia32)
		EXPECT_EQ(-ENOSYS, int80((uint32_t)NO_SUCH_SYSCALL, 0, 0, 0));
	/* The drain's own syscalls are events too: the probes go first. */
	ASSERT_EQ(0, vm_rmmod("mpmcring_events"));
	drain(self->c, &self->g);
	EXPECT_EQ(0, self->g.bad);
	EXPECT_EQ(0, self->g.revoked);
	EXPECT_EQ(3,
		  COUNT_WHERE(&self->g, MPMCRING_EV_SYSCALL, me,
			      (int32_t)ev->syscall.nr == NO_SUCH_SYSCALL &&
				      ev->syscall.ret == -ENOSYS &&
				      !(ev->hdr.flags & (MPMCRING_EVF_X32 | MPMCRING_EVF_COMPAT))));
	EXPECT_EQ(ia32 ? 1 : 0, COUNT_WHERE(&self->g, MPMCRING_EV_SYSCALL, me,
					    (int32_t)ev->syscall.nr == NO_SUCH_SYSCALL &&
						    ev->syscall.ret == -ENOSYS &&
						    (ev->hdr.flags & MPMCRING_EVF_COMPAT) &&
						    !(ev->hdr.flags & MPMCRING_EVF_X32)));
	EXPECT_EQ(0, COUNT_WHERE(&self->g, MPMCRING_EV_SYSCALL, me, (int32_t)ev->syscall.nr == -1));
}

TEST_F_TIMEOUT(ev, params_choose_what_is_recorded, 180)
{
	char longpath[300], params[128];
	pid_t me = gettid_();
	int fd;

	/* Only openat, as a critical event, and getpid by number (decimal,
	 * a leading 0 too: 039 was once octal, and refused); no process
	 * events; paths cut at 8 bytes. */
	snprintf(params, sizeof(params),
		 "proc=none syscalls=openat,0%d prio=open=critical max_path=8", SYS_getpid);
	ASSERT_EQ(0, ev_load(params));
	ASSERT_EQ(0, ev_attach(_metadata, self));
	memset(longpath, 'a', sizeof(longpath));
	memcpy(longpath, "/tmp/", 5);
	longpath[sizeof(longpath) - 1] = 0;
	fd = open(longpath, O_RDONLY); /* ENAMETOOLONG: a component over 255 */
	EXPECT_EQ(-1, fd);
	fd = open("/tmp/abc", O_RDONLY); /* exactly max_path: kept whole */
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(getpid(), (pid_t)syscall(SYS_getpid));
	if (fork() == 0)
		_exit(0);
	wait(NULL);
	drain(self->c, &self->g);
	EXPECT_EQ(0, self->g.bad);
	EXPECT_EQ(0, self->g.revoked);
	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_OPEN, me,
				 !strcmp(ev->str, "/tmp/aaa") && ev->str_len == 8 &&
					 ev->open.ret == -ENAMETOOLONG &&
					 (ev->hdr.flags & MPMCRING_EVF_TRUNCATED) &&
					 x->prio == MPMCRING_PRIO_CRITICAL));
	EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_OPEN, me,
				 !strcmp(ev->str, "/tmp/abc") && ev->open.ret == -ENOENT &&
					 !(ev->hdr.flags & MPMCRING_EVF_TRUNCATED)));
	EXPECT_EQ(0, self->g.per_type[MPMCRING_EV_FORK] + self->g.per_type[MPMCRING_EV_EXIT] +
			     self->g.per_type[MPMCRING_EV_EXEC]);
	/* getpid as a syscall record, and nothing else: catch-all is off. */
	EXPECT_GE(self->g.per_type[MPMCRING_EV_SYSCALL], 1);
	EXPECT_EQ(self->g.per_type[MPMCRING_EV_SYSCALL], self->g.getpids);
	mpmcring_consumer_free(self->c);
	mpmcring_close(self->r);
	self->c = NULL;
	self->r = NULL;
	ASSERT_EQ(0, vm_rmmod("mpmcring_events"));

	/* Into an existing ring by name: the load generator's, made idle. */
	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen",
			       "ring=evexisting create=1 size=65536 threads=0 autostart=0"));
	ASSERT_EQ(0,
		  vm_insmod("mpmcring_events", "ring=evexisting create=0 proc=exec syscalls=none"));
	self->r = mpmcring_open("/dev/mpmcring-evexisting", 0);
	ASSERT_NE(NULL, self->r);
	self->c = mpmcring_consumer_new(self->r);
	ASSERT_NE(NULL, self->c);
	{
		char *argv[] = { "true", NULL };
		int status;
		pid_t child = run_exec("/bin/true", argv, &status);

		got_free(&self->g);
		drain(self->c, &self->g);
		EXPECT_EQ(1, COUNT_WHERE(&self->g, MPMCRING_EV_EXEC, child,
					 !strcmp(ev->str, "/bin/true")));
		EXPECT_EQ(0, self->g.per_type[MPMCRING_EV_OPEN]);
	}
	/* The events module does not own that ring: it outlives the module. */
	ASSERT_EQ(0, vm_rmmod("mpmcring_events"));
	EXPECT_EQ(0, access("/dev/mpmcring-evexisting", F_OK));
}

/*
 * The module writes into a ring another module owns (create=0), and the
 * owner destroys it: the module keeps its reference and its probes, and
 * from then on every event is refused and counted as dropped, none counted
 * as sent into a ring whose consumers were told the end ([D4] in
 * kmod/produce.c). Before, each went on being committed behind that end
 * and counted as emitted.
 */
TEST_F_TIMEOUT(ev, a_ring_its_owner_destroyed_takes_no_more_events, 120)
{
	uint64_t emitted[MPMCRING_EV_NR_TYPES] = { 0 }, dropped[MPMCRING_EV_NR_TYPES] = { 0 };
	uint64_t emitted2[MPMCRING_EV_NR_TYPES] = { 0 }, dropped2[MPMCRING_EV_NR_TYPES] = { 0 };
	struct mpmcring_stats st, st2;
	struct mpmcring_batch b;
	char *argv[] = { "true", NULL };
	int i, status, kmsg;

	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen",
			       "ring=evgone create=1 size=65536 threads=0 autostart=0"));
	ASSERT_EQ(0, vm_insmod("mpmcring_events", "ring=evgone create=0 proc=exec syscalls=none"));
	self->r = mpmcring_open("/dev/mpmcring-evgone", 0);
	ASSERT_NE(NULL, self->r);
	self->c = mpmcring_consumer_new(self->r);
	ASSERT_NE(NULL, self->c);
	kmsg = vm_kmsg_open_at_end();
	ASSERT_LE(0, kmsg);
	/* The owner goes: the ring with it, and its consumers see the end. */
	ASSERT_EQ(0, vm_rmmod("mpmcring_loadgen"));
	EXPECT_NE(0, access("/dev/mpmcring-evgone", F_OK));
	drain(self->c, &self->g);
	ASSERT_EQ(-EPIPE, mpmcring_wait(self->r, 1000));

	ASSERT_EQ(0, ev_read_stats(emitted, dropped, NULL));
	ASSERT_EQ(0, mpmcring_get_stats(self->r, &st));
	for (i = 0; i < 20; i++) {
		ASSERT_GT(run_exec("/bin/true", argv, &status), 0);
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("/bin/true did not run: status %#x", status);
	}
	ASSERT_EQ(0, ev_read_stats(emitted2, dropped2, NULL));
	ASSERT_EQ(0, mpmcring_get_stats(self->r, &st2));
	/* Told apart from an overloaded ring: counted, and said once. */
	EXPECT_GE(ev_read_ring_gone(),
		  (long long)(dropped2[MPMCRING_EV_EXEC] - dropped[MPMCRING_EV_EXEC]));
	EXPECT_TRUE(vm_kmsg_has(kmsg, "ring evgone was destroyed by its owner"));
	close(kmsg);
	TH_LOG("exec events after the destroy: %llu emitted, %llu dropped",
	       (unsigned long long)(emitted2[MPMCRING_EV_EXEC] - emitted[MPMCRING_EV_EXEC]),
	       (unsigned long long)(dropped2[MPMCRING_EV_EXEC] - dropped[MPMCRING_EV_EXEC]));
	EXPECT_EQ(emitted[MPMCRING_EV_EXEC], emitted2[MPMCRING_EV_EXEC]);
	EXPECT_GE(dropped2[MPMCRING_EV_EXEC] - dropped[MPMCRING_EV_EXEC], 20);
	EXPECT_EQ(st.produced_records, st2.produced_records);
	/* Nothing behind the end. */
	EXPECT_EQ(-EPIPE, mpmcring_wait(self->r, 1000));
	EXPECT_EQ(-EAGAIN, mpmcring_read_batch(self->c, &b, 256, SIZE_MAX));
	EXPECT_EQ(0, vm_rmmod("mpmcring_events"));
}

/* A write(2) producer imitating an exec event is never decoded as one. */
TEST_F_TIMEOUT(ev, user_written_event_is_not_trusted, 120)
{
	struct {
		struct mpmcring_ev_exec e;
		char name[8];
	} forged = { 0 };
	struct mpmcring_record rec;
	struct mpmcring_event ev;
	char params[64];
	int ret;

	/* A quiet ring: one syscall nothing in the guest calls (the guest runs
	 * the tests alone: no getty, no login). */
	snprintf(params, sizeof(params), "proc=none syscalls=%d", SYS_vhangup);
	ASSERT_EQ(0, ev_load(params));
	ASSERT_EQ(0, ev_attach(_metadata, self));
	forged.e.hdr.magic = MPMCRING_EV_MAGIC;
	forged.e.hdr.type = MPMCRING_EV_EXEC;
	forged.e.hdr.size = sizeof(forged);
	forged.e.hdr.version = MPMCRING_EV_VERSION;
	forged.e.hdr.pid = 1;
	forged.e.filename.off = sizeof(forged.e);
	forged.e.filename.len = 7;
	memcpy(forged.name, "/sbin/x", 8);
	/* Well-formed: the bytes decode when the caller vouches for them. */
	ASSERT_EQ(0, mpmcring_event_decode_bytes(&forged, sizeof(forged), &ev));
	ASSERT_EQ((ssize_t)sizeof(forged), write(mpmcring_fd(self->r), &forged, sizeof(forged)));
	ASSERT_EQ(0, mpmcring_read(self->c, &rec));
	EXPECT_TRUE(rec.flags & MPMCRING_REC_FROM_USER);
	ret = mpmcring_event_decode(&rec, &ev);
	EXPECT_EQ(-EPERM, ret);
	EXPECT_EQ(0, mpmcring_commit(self->c));
}

/* ---- the flood ---- */

struct flood {
	volatile int stop;
	uint64_t calls;
};

static void *flood_thread(void *p)
{
	struct flood *f = p;
	uint64_t n = 0;

	while (!f->stop) {
		syscall(SYS_getppid);
		n++;
	}
	__atomic_add_fetch(&f->calls, n, __ATOMIC_RELAXED);
	return NULL;
}

#define MARKERS 50

/* MARKERS execs of /bin/true from this thread, 10 ms apart: their pids. */
static void run_markers(struct __test_metadata *_metadata, pid_t *markers)
{
	char *argv[] = { "true", NULL };
	int i, status;

	for (i = 0; i < MARKERS; i++) {
		markers[i] = run_exec("/bin/true", argv, &status);
		ASSERT_GT(markers[i], 0);
		vm_sleep_ms(10);
	}
}

/*
 * After a flood: the module's counts, then the ring's (the ring's can only
 * be larger); then the module unloaded, so that what the ring holds is
 * final, and all of it read: every record good, no claim revoked.
 */
static void final_counts(struct __test_metadata *_metadata, FIXTURE_DATA(ev) * self,
			 uint64_t *emitted, uint64_t *dropped, struct mpmcring_stats *st)
{
	ASSERT_EQ(0, ev_read_stats(emitted, dropped, NULL));
	ASSERT_EQ(0, mpmcring_get_stats(self->r, st));
	ASSERT_EQ(0, vm_rmmod("mpmcring_events"));
	drain(self->c, &self->g);
	EXPECT_EQ(0, self->g.bad);
	EXPECT_EQ(0, self->g.revoked);
}

/* The markers whose fork, exec and exit did not each arrive once (logged). */
static int markers_missing(struct __test_metadata *_metadata, const struct got *g,
			   const pid_t *markers)
{
	int i, lost = 0;

	for (i = 0; i < MARKERS; i++) {
		size_t e =
			COUNT_WHERE(g, MPMCRING_EV_EXEC, markers[i], !strcmp(ev->str, "/bin/true"));
		size_t x = COUNT_WHERE(g, MPMCRING_EV_EXIT, markers[i], 1);
		size_t k = COUNT_WHERE(g, MPMCRING_EV_FORK, gettid_(),
				       ev->fork.child_pid == (uint32_t)markers[i]);

		if (e != 1 || x != 1 || k != 1) {
			TH_LOG("marker %d (pid %d): %zu fork, %zu exec, %zu exit events", i,
			       (int)markers[i], k, e, x);
			lost++;
		}
	}
	return lost;
}

/* The CPUs the kernel counts as possible ("0-3,8-11"); -1 unreadable. */
static long possible_cpus(void)
{
	char buf[256], *p = buf, *end;
	long n = 0, a, b;
	FILE *f = fopen("/sys/devices/system/cpu/possible", "r");

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	while (*p >= '0' && *p <= '9') {
		a = strtol(p, &end, 10);
		b = a;
		if (*end == '-') {
			p = end + 1;
			if (*p < '0' || *p > '9')
				return -1; /* "0-": malformed */
			b = strtol(p, &end, 10);
		}
		if (b < a)
			return -1;
		n += b - a + 1;
		if (*end != ',')
			break;
		p = end + 1;
	}
	return n ? n : -1;
}

/*
 * A catch-all flood of low-priority syscall events on every CPU into a ring
 * nobody reads while it lasts: the flood stops at its watermark (refused,
 * counted), and every critical event of 50 marker execs gets in. Then the
 * module goes (probes gone, ring destroyed but still mapped here) and the
 * ring is read to its end. params: the module's; out: the ring's
 * statistics just before the unload.
 */
static void catchall_flood(struct __test_metadata *_metadata, FIXTURE_DATA(ev) * self,
			   const char *params, struct mpmcring_stats *out)
{
	uint64_t emitted[MPMCRING_EV_NR_TYPES] = { 0 }, dropped[MPMCRING_EV_NR_TYPES] = { 0 };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t th[16];
	struct flood f = { 0 };
	struct mpmcring_stats st;
	pid_t markers[MARKERS];
	int i;
	uint64_t low_refused = 0, crit_refused = 0;
	uint64_t deadline;

	if (ncpu > 16)
		ncpu = 16;
	ASSERT_EQ(0, ev_load(params));
	ASSERT_EQ(0, ev_attach(_metadata, self));
	for (i = 0; i < ncpu; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, flood_thread, &f));
	/*
	 * The markers run once the flood has met its watermark: the ring
	 * refused a low event. Waited for, not slept for: a fixed sleep
	 * could end before a slow guest's flood got there, and the markers
	 * would then not race a full ring (and the drops asserted below
	 * might never come). Bounded far beyond any guest's need.
	 */
	deadline = vm_now_ns() + 60 * 1000000000ULL;
	do {
		ASSERT_EQ(0, mpmcring_get_stats(self->r, &st));
		if (st.dropped[MPMCRING_DROP_PRIORITY][MPMCRING_PRIO_LOW])
			break;
		vm_sleep_ms(10);
	} while (vm_now_ns() < deadline);
	ASSERT_GT(st.dropped[MPMCRING_DROP_PRIORITY][MPMCRING_PRIO_LOW], 0)
	TH_LOG("the flood never reached its watermark in 60 s");
	run_markers(_metadata, markers);
	f.stop = 1;
	for (i = 0; i < ncpu; i++)
		pthread_join(th[i], NULL);
	final_counts(_metadata, self, emitted, dropped, &st);

	for (int r = 0; r < MPMCRING_NR_DROP; r++) {
		low_refused += st.dropped[r][MPMCRING_PRIO_LOW];
		crit_refused += st.dropped[r][MPMCRING_PRIO_CRITICAL];
	}
	TH_LOG("flood: %llu syscalls, %llu syscall events in, %llu refused by the ring",
	       (unsigned long long)f.calls, (unsigned long long)emitted[MPMCRING_EV_SYSCALL],
	       (unsigned long long)low_refused);
	/* The flood was refused and counted, by the ring and by the module. */
	EXPECT_GT(st.dropped[MPMCRING_DROP_PRIORITY][MPMCRING_PRIO_LOW], 0);
	EXPECT_GT(dropped[MPMCRING_EV_SYSCALL], 0);
	EXPECT_LE(dropped[MPMCRING_EV_SYSCALL], low_refused);
	/* No critical event was refused... */
	EXPECT_EQ(0, crit_refused);
	EXPECT_EQ(0, dropped[MPMCRING_EV_EXEC] + dropped[MPMCRING_EV_FORK] +
			     dropped[MPMCRING_EV_EXIT] + dropped[MPMCRING_EV_EXECVE]);
	/* ...and every marker's fork, exec and exit arrived, once. */
	EXPECT_EQ(0, markers_missing(_metadata, &self->g, markers));
	/* Every critical event the module had counted in came out of the ring
	 * (and those of tasks that ended between its count and the unload). */
	EXPECT_GE(self->g.per_type[MPMCRING_EV_EXEC], emitted[MPMCRING_EV_EXEC]);
	EXPECT_GE(self->g.per_type[MPMCRING_EV_EXIT], emitted[MPMCRING_EV_EXIT]);
	EXPECT_GE(self->g.per_type[MPMCRING_EV_EXEC], MARKERS);
	/* The flood had the low half of the ring (64 B events). */
	EXPECT_GE(self->g.per_type[MPMCRING_EV_SYSCALL], 500);
	*out = st;
}

TEST_F_TIMEOUT(ev, critical_events_survive_a_catchall_flood, 400)
{
	struct mpmcring_stats st;

	catchall_flood(_metadata, self, "catchall=1 size=131072", &st);
	EXPECT_EQ(0, st.chunk_bytes);
}

/*
 * The same with chunked reservation: each CPU fills a chunk of its own,
 * opened only within the low class's limit, where events of every class
 * share it; past it every event goes alone. So the critical reserve is
 * spent event by event: it went on fillers when a refused low event closed
 * the chunk a critical one had opened (120 critical events refused, 40
 * marker execs lost). The unload's destroy closes the chunks left open, so
 * the drain gets every event.
 */
TEST_F_TIMEOUT(ev, critical_events_survive_a_catchall_flood_chunked, 400)
{
	struct mpmcring_stats st;
	long possible = possible_cpus();
	uint64_t cap;

	ASSERT_GT(possible, 0) TH_LOG("/sys/devices/system/cpu/possible unreadable");
	/* 2048 unless the cap is lower: a quarter of the ring over every
	 * possible CPU's four levels, down to the module's granule (8);
	 * the other cap, the largest record, is half of this ring. Under
	 * the least chunk, four records of a granule (64), no chunks. */
	cap = 131072 / 4 / (possible * 4) & ~7ULL;
	if (cap < 64)
		SKIP(return, "%ld possible CPUs: a 128 KiB ring has no room for their chunks",
			   possible);
	catchall_flood(_metadata, self, "catchall=1 size=131072 chunk_bytes=2048", &st);
	EXPECT_EQ(cap < 2048 ? cap : 2048, st.chunk_bytes);
	EXPECT_GT(st.chunk_filler_bytes, 0);
}

/*
 * A connect, or an exec that fails, costs its caller a microsecond or less,
 * and any user may loop them: a UDP socket connected again and again,
 * connect(-1, NULL, 0), an execve of a missing file. Their records are
 * normal by default (exec, fork and exit are the critical ones), so such a
 * flood, run by an unprivileged user on every CPU with nobody reading,
 * fills the ring only to the normal class's watermark: it is refused and
 * counted there, and every marker's fork, exec and exit still gets in.
 * With connect and execve critical (the defaults before), the flood filled
 * the whole ring and the markers' events were all refused.
 */
#define NOBODY 65534
/* In the root directory: searchable by anyone, unlike a private /tmp. */
#define NO_SUCH_PROGRAM "/evtest-no-such-program"

static void *failing_calls_thread(void *p)
{
	char *argv[] = { "x", NULL }, *envp[] = { NULL };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	(void)p;
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (;;) {
		connect(u, (void *)&to, sizeof(to)); /* succeeds: UDP sends nothing */
		connect(-1, NULL, 0);
		execve(NO_SUCH_PROGRAM, argv, envp);
	}
	return NULL;
}

/* A process of user nobody looping failed calls on ncpu threads until killed. */
static pid_t failing_calls_flood(long ncpu)
{
	pid_t parent = getpid(), pid = fork();
	pthread_t th;
	long i;

	if (pid)
		return pid;
	/* The death signal after the new credentials, which clear it: a
	 * test killed for its time leaves no flood behind. */
	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY) || prctl(PR_SET_PDEATHSIG, SIGKILL) ||
	    getppid() != parent)
		_exit(2);
	for (i = 1; i < ncpu; i++)
		if (pthread_create(&th, NULL, failing_calls_thread, NULL))
			_exit(3);
	failing_calls_thread(NULL);
	_exit(0);
}

TEST_F_TIMEOUT(ev, failed_calls_of_a_user_leave_the_critical_reserve, 400)
{
	uint64_t emitted[MPMCRING_EV_NR_TYPES] = { 0 }, dropped[MPMCRING_EV_NR_TYPES] = { 0 };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t crit_refused = 0, deadline;
	size_t flood_conn = 0, flood_execve = 0, flood_wrong = 0;
	struct mpmcring_stats st;
	pid_t markers[MARKERS], flood;
	int status;

	if (ncpu > 16)
		ncpu = 16;
	ASSERT_EQ(0, ev_load("size=262144"));
	ASSERT_EQ(0, ev_attach(_metadata, self));
	flood = failing_calls_flood(ncpu);
	ASSERT_GT(flood, 0);
	self->flood = flood;
	/*
	 * Waited for, as in the catch-all flood: the ring refused one of the
	 * flood's events (at its watermark, or, were they critical, full).
	 */
	deadline = vm_now_ns() + 60 * 1000000000ULL;
	do {
		ASSERT_EQ(0, mpmcring_get_stats(self->r, &st));
		if (st.dropped[MPMCRING_DROP_PRIORITY][MPMCRING_PRIO_NORMAL] +
		    st.dropped[MPMCRING_DROP_FULL][MPMCRING_PRIO_CRITICAL])
			break;
		vm_sleep_ms(10);
		if (waitpid(flood, &status, WNOHANG) != 0) {
			self->flood = 0;
			ASSERT_TRUE(0) TH_LOG("the flood process ended by itself: %#x", status);
		}
	} while (vm_now_ns() < deadline);
	ASSERT_GT(st.dropped[MPMCRING_DROP_PRIORITY][MPMCRING_PRIO_NORMAL] +
			  st.dropped[MPMCRING_DROP_FULL][MPMCRING_PRIO_CRITICAL],
		  0)
	TH_LOG("the ring refused none of the failed calls in 60 s");
	run_markers(_metadata, markers);
	ASSERT_EQ(0, kill(flood, SIGKILL));
	ASSERT_EQ(flood, waitpid(flood, &status, 0));
	self->flood = 0;
	ASSERT_TRUE(WIFSIGNALED(status)) TH_LOG("the flood ended by itself: %#x", status);
	final_counts(_metadata, self, emitted, dropped, &st);

	for (int r = 0; r < MPMCRING_NR_DROP; r++)
		crit_refused += st.dropped[r][MPMCRING_PRIO_CRITICAL];
	/* The flood was refused and counted, by the ring and by the module. */
	EXPECT_GT(dropped[MPMCRING_EV_CONNECT] + dropped[MPMCRING_EV_EXECVE], 0);
	EXPECT_EQ(0, crit_refused);
	EXPECT_EQ(0, dropped[MPMCRING_EV_EXEC] + dropped[MPMCRING_EV_FORK] +
			     dropped[MPMCRING_EV_EXIT]);
	EXPECT_EQ(0, markers_missing(_metadata, &self->g, markers));
	/* What of the flood got in: its failed calls, each in the normal class. */
	for (size_t j = 0; j < self->g.n; j++) {
		const struct got_ev *x = &self->g.e[j];
		uint16_t type = x->ev.hdr.type;
		long long ret = type == MPMCRING_EV_EXECVE    ? x->ev.execve.ret
				: type == MPMCRING_EV_CONNECT ? x->ev.connect.ret
							      : 0;

		if (x->ev.hdr.uid != NOBODY || type == MPMCRING_EV_FORK || type == MPMCRING_EV_EXIT)
			continue;
		if (type == MPMCRING_EV_CONNECT && (ret == 0 || ret == -EBADF) &&
		    x->prio == MPMCRING_PRIO_NORMAL)
			flood_conn++;
		else if (type == MPMCRING_EV_EXECVE && ret < 0 &&
			 !strcmp(x->path, NO_SUCH_PROGRAM) && x->prio == MPMCRING_PRIO_NORMAL)
			flood_execve++;
		else if (!flood_wrong++)
			TH_LOG("a record of the flood not as expected: type %u, class %u, ret %lld, '%s'",
			       type, x->prio, ret, x->path);
	}
	TH_LOG("flood: %zu connects and %zu failed execs in the ring, %llu refused", flood_conn,
	       flood_execve,
	       (unsigned long long)(dropped[MPMCRING_EV_CONNECT] + dropped[MPMCRING_EV_EXECVE]));
	EXPECT_GT(flood_conn, 0);
	EXPECT_GT(flood_execve, 0);
	EXPECT_EQ(0, flood_wrong);
}

/* ---- load and unload while events fire everywhere ---- */

static void *spawner_thread(void *p)
{
	struct flood *f = p;
	char *argv[] = { "true", NULL };
	int status;

	while (!f->stop)
		run_exec("/bin/true", argv, &status);
	return NULL;
}

static void *opener_thread(void *p)
{
	struct flood *f = p;

	while (!f->stop) {
		int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);

		if (fd >= 0)
			close(fd);
		syscall(SYS_getppid);
	}
	return NULL;
}

struct reader {
	volatile int stop;
	uint64_t got;
	int err;
};

/* One consumer of the ring until told to stop (or the ring is gone). */
static void *reader_thread(void *p)
{
	struct reader *rd = p;
	struct mpmcring *r = mpmcring_open(RING, 0);
	struct mpmcring_consumer *c = r ? mpmcring_consumer_new(r) : NULL;
	struct mpmcring_record rec;
	struct mpmcring_batch b;
	struct mpmcring_event ev;
	uint64_t got = 0;

	if (!c) {
		rd->err = 1;
		if (r)
			mpmcring_close(r);
		return NULL;
	}
	while (!rd->stop) {
		int n = mpmcring_read_batch(c, &b, 128, SIZE_MAX);

		if (n > 0) {
			while (mpmcring_batch_next(&b, &rec)) {
				if (mpmcring_event_decode(&rec, &ev))
					rd->err = 2;
				got++;
			}
			if (mpmcring_commit(c))
				rd->err = 3;
			__atomic_store_n(&rd->got, got, __ATOMIC_RELAXED);
		} else if (n == -EAGAIN) {
			mpmcring_wait(r, 20);
		}
	}
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	return NULL;
}

/*
 * Holds our tracepoints' call sites still, or lets them go: two foreign
 * probes on each (a trace event through tracefs, recording off, and a perf
 * tracepoint event on CPU 0), so that our module's probes come and go as
 * the third and later ones. A tracepoint's static key switches on its first
 * probe and its static call between the probe and the iterator on its
 * first and second: with two held, our load and unload patch no kernel
 * text. Under qemu 7.2's multi-threaded TCG, Linux patching a call site
 * while another vCPU runs through it can execute a stale int3 ("int3" in
 * syscall_exit_to_user_mode_prepare or __schedule, a "Fatal exception"
 * panic): seen on 6.12 by toggling raw_syscalls/sys_exit/enable in tracefs
 * under load without this module, and on 6.1's kcsan kernel at the 1-2
 * static call switch this test caused before it held two probes. The
 * holds are taken and dropped with no load running; the rounds then
 * exercise our probes' registration and unregistration, not the kernel's
 * text patching. Returns false where tracefs or perf is missing.
 */
static const char *const held_events[] = { "raw_syscalls/sys_exit", "sched/sched_process_exec",
					   "sched/sched_process_fork", "sched/sched_process_exit" };
static int held_perf[sizeof(held_events) / sizeof(held_events[0])];

static int tracefs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

static int perf_tracepoint_open(const char *dir, const char *event)
{
	struct perf_event_attr a = { 0 };
	char path[160], buf[32] = { 0 };
	int fd;

	snprintf(path, sizeof(path), "%s/events/%s/id", dir, event);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) <= 0) {
		close(fd);
		return -1;
	}
	close(fd);
	a.type = PERF_TYPE_TRACEPOINT;
	a.size = sizeof(a);
	a.config = strtoull(buf, NULL, 10);
	a.sample_period = 1;
	return syscall(SYS_perf_event_open, &a, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
}

static bool hold_tracepoint_call_sites(bool on)
{
	const char *dir = "/sys/kernel/tracing";
	char path[160];
	unsigned int i;
	bool ok = true;

	if (access("/sys/kernel/tracing/events", F_OK))
		mount("tracefs", dir, "tracefs", 0, NULL);
	snprintf(path, sizeof(path), "%s/tracing_on", dir);
	if (tracefs_write(path, "0"))
		return false;
	for (i = 0; i < sizeof(held_events) / sizeof(held_events[0]); i++) {
		snprintf(path, sizeof(path), "%s/events/%s/enable", dir, held_events[i]);
		ok &= !tracefs_write(path, on ? "1" : "0");
		if (on) {
			held_perf[i] = perf_tracepoint_open(dir, held_events[i]);
			if (held_perf[i] < 0)
				fprintf(stderr, "# perf tracepoint %s: %s\n", held_events[i],
					strerror(errno));
			ok &= held_perf[i] >= 0;
		} else if (held_perf[i] >= 0) {
			close(held_perf[i]);
		}
	}
	return ok;
}

TEST_F_TIMEOUT(ev, unload_under_full_event_load_is_clean, 400)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct flood f = { 0 };
	pthread_t th[17];
	int i, round, nth = 0;
	uint64_t deadline;
	bool held;

	if (ncpu > 15)
		ncpu = 15;
	held = hold_tracepoint_call_sites(true);
	if (!held)
		TH_LOG("no tracefs or perf: the call sites are patched with every load and unload");
	for (i = 0; i < ncpu; i++)
		ASSERT_EQ(0, pthread_create(&th[nth++], NULL, opener_thread, &f));
	ASSERT_EQ(0, pthread_create(&th[nth++], NULL, spawner_thread, &f));
	for (round = 0; round < 8; round++) {
		struct reader rd = { 0 };
		pthread_t rt;

		/* Everything on: every tracepoint fires on every CPU. */
		ASSERT_EQ(0, ev_load("catchall=1 size=262144"));
		ASSERT_EQ(0, pthread_create(&rt, NULL, reader_thread, &rd));
		/*
		 * Events flow to the reader before the module goes: waited
		 * for (got > 0 is asserted below), with a bound no guest
		 * comes near; 5 s could pass on a slow one before the reader
		 * thread opened the ring and took its first batch. A round
		 * with no event ends the test (below), so that a reader that
		 * never gets events costs one 60 s wait, not one a round
		 * past the program's timeout.
		 */
		deadline = vm_now_ns() + 60 * 1000000000ULL;
		while (!__atomic_load_n(&rd.got, __ATOMIC_RELAXED) && vm_now_ns() < deadline)
			vm_sleep_ms(10);
		if (!__atomic_load_n(&rd.got, __ATOMIC_RELAXED))
			TH_LOG("round %d: no event reached the reader in 60 s", round);
		vm_sleep_ms(50 * round);
		/* Half the rounds unload with the reader still attached. */
		if (round % 2) {
			rd.stop = 1;
			pthread_join(rt, NULL);
		}
		EXPECT_EQ(0, vm_rmmod("mpmcring_events"))
		TH_LOG("round %d: rmmod under load", round);
		EXPECT_NE(0, access(RING, F_OK));
		if (!(round % 2)) {
			rd.stop = 1;
			pthread_join(rt, NULL);
		}
		EXPECT_EQ(0, rd.err);
		EXPECT_GT(rd.got, 0) TH_LOG("round %d: no event before the unload", round);
		/* Failed by name above; the next rounds would only wait again. */
		if (!rd.got)
			break;
	}
	f.stop = 1;
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	hold_tracepoint_call_sites(false);
}

TEST_HARNESS_MAIN
