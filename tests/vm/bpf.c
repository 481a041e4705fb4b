// SPDX-License-Identifier: GPL-2.0-only
/*
 * BPF programs as producers (kmod/bpf.c): the verifier accepts the example
 * and refuses programs that misuse reservations; hostile ids, flags,
 * lengths and offsets fail cleanly; records from BPF on every CPU arrive
 * exactly once across several consumers, and every refused one is counted;
 * the module cannot be unloaded while a program uses its kfuncs; each
 * program type the README names (kprobe, kretprobe, uprobe, tracepoint,
 * perf_event, fexit, fmod_ret besides tp_btf and LSM) produces where the
 * kernel has a kfunc hook for it and is refused where it has none.
 *
 * The programs (tests/vm/bpf/, examples/bpf/exec.bpf.c) run on
 * sys_enter, most of them; the producer acts on getppid(2) from this
 * process only.
 * Needs a kernel with BTF and module BTF: the stock kernels.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/perf_event.h>
#include <linux/userfaultfd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kselftest_harness.h"
#include "mpmcring.h"
#include "vmtest.h"
#include "bpf_test.h"
#include "bpf_refused.h"
#include "produce.skel.h"
#include "rejected.skel.h"
#include "exec.skel.h"
#include "nullmem.skel.h"
#include "badmem.skel.h"
#include "destroy.skel.h"
#include "sleep.skel.h"
#include "pool.skel.h"
#include "kprobe.skel.h"
#include "tracepoint.skel.h"
#include "perf.skel.h"
#include "kretprobe.skel.h"
#include "uprobe.skel.h"
#include "fexit.skel.h"
#include "fmod_ret.skel.h"
#include "exec_event.h"

#define CONSUMERS 3

/* The ring destroy_while_producing produces into (0: none). */
static unsigned int destroy_ring_id;

static char vlog[1 << 16];

/* libbpf's messages: its warnings only (refused programs are expected). */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN && !getenv("BT_QUIET") ? vfprintf(stderr, fmt, ap) : 0;
}

static long bt_call(__u64 op, __u64 a, __u64 b, __u64 c)
{
	return syscall(SYS_getppid, op, a, b, c);
}

static unsigned int ring_id(struct mpmcring *r)
{
	return mpmcring_get_layout(r)->id;
}

/* The producer, loaded and attached for ring id; NULL with a message. */
static struct produce_bpf *producer(unsigned int id, __u64 nonce)
{
	struct produce_bpf *p = produce_bpf__open();

	if (!p)
		return NULL;
	p->rodata->ring_id = id;
	p->rodata->tgid = getpid();
	p->rodata->nonce = nonce;
	if (produce_bpf__load(p) || produce_bpf__attach(p)) {
		fprintf(stderr, "# loading the producer failed: %s\n", strerror(errno));
		produce_bpf__destroy(p);
		return NULL;
	}
	return p;
}

static uint64_t module_refcnt(void)
{
	FILE *f = fopen("/sys/module/mpmcring/refcnt", "r");
	unsigned long long n = ~0ULL;

	if (f) {
		if (fscanf(f, "%llu", &n) != 1)
			n = ~0ULL;
		fclose(f);
	}
	return n;
}

/*
 * Calls of the kfuncs refused where no ring counts them (before a ring was
 * found, or for the module's reasons): the module counts them
 * (/sys/module/mpmcring/parameters/bpf_refused). Read by name (mpmcring
 * stat's reader); every reason and the id must be there.
 */
static int bpf_refused(struct bpf_refused *b)
{
	if (bpf_refused_read(b) || b->have != (1U << MPR_BPF_REFUSED_NR) - 1 || !b->have_last_id)
		return -1;
	return 0;
}

/* How many more calls @after counts than @before as MPR_BPF_REFUSED_@why. */
#define REFUSED_MORE(after, before, why) \
	((after).count[MPR_BPF_REFUSED_##why] - (before).count[MPR_BPF_REFUSED_##why])

/*
 * Reads the kernel log from fd on and copies into out the last message
 * that starts with prefix (without its record header); whether one did.
 * *other says whether a message held other_has.
 */
static bool kmsg_last(int fd, const char *prefix, char *out, size_t size, const char *other_has,
		      bool *other)
{
	char rec[2048], *msg;
	bool found = false;

	*other = false;
	while ((msg = vm_kmsg_next(fd, rec, sizeof(rec)))) {
		if (strstr(msg, other_has))
			*other = true;
		if (!strncmp(msg, prefix, strlen(prefix))) {
			snprintf(out, size, "%s", msg);
			found = true;
		}
	}
	return found;
}

#define KFUNCS_SAID                                                                               \
	"mpmcring: BPF kfunc registrations accepted for: tracing lsm (and tracepoint perf_event " \
	"where the kernel gives them the tracing hook)"

/*
 * The module's load says what its kfunc registrations got (kmod/bpf.c,
 * mpmcring_bpf_init()): the tracing hook wherever the module has BTF;
 * kprobe on 6.12, refused on 6.1, which has no kfunc hook for the type
 * (kernel/bpf/btf.c, bpf_prog_type_to_kfunc_hook(): -EINVAL), and the
 * load goes on. Without module BTF it says that BPF cannot produce. First
 * in the file: no program of this file holds the module yet, so it can be
 * loaded again here.
 */
TEST(load_says_what_the_kfuncs_got)
{
	char line[512] = "";
	struct utsname u;
	bool said, no_btf_said;
	int fd;

	ASSERT_EQ(0, uname(&u));
	vm_rmmod("mpmcring_loadgen");
	ASSERT_EQ(0, vm_rmmod("mpmcring"))
	TH_LOG("the default module must be unloadable here (nothing may use it)");
	fd = vm_kmsg_open_at_end();
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, vm_insmod("mpmcring", NULL));
	said = kmsg_last(fd, "mpmcring: BPF kfunc registrations", line, sizeof(line),
			 "BPF programs cannot produce into rings", &no_btf_said);
	close(fd);
	if (access("/sys/kernel/btf/mpmcring", F_OK)) {
		EXPECT_TRUE(no_btf_said) TH_LOG("no module BTF, and the load did not say so");
		EXPECT_FALSE(said) TH_LOG("no module BTF, yet: %s", line);
		return;
	}
	ASSERT_TRUE(said) TH_LOG("the load said nothing of the kfuncs");
	fprintf(stderr, "# %s: %s\n", u.release, line);
	if (!strncmp(u.release, "6.1.", 4)) {
		EXPECT_STREQ(KFUNCS_SAID "; refused: kprobe (-22)", line);
	} else {
		EXPECT_STREQ(KFUNCS_SAID " kprobe; refused: none", line);
	}
}

FIXTURE(bpf)
{
	struct mpmcring *r;
	unsigned int id;
	__u64 nonce;
	int kfuncs; /* the module has BTF, so its kfuncs are registered */
};

/* (6.1's harness runs the test even when its setup skipped.) */
#define NEED_KFUNCS()                                                                   \
	do {                                                                            \
		if (!self->kfuncs)                                                      \
			SKIP(return, "no module BTF here (/sys/kernel/btf/mpmcring): "  \
				     "the kernel lacks BTF or BPF, no kfuncs to test"); \
	} while (0)

FIXTURE_SETUP(bpf)
{
	self->r = mpmcring_open(NULL, 0);
	ASSERT_NE(NULL, self->r) TH_LOG("%s", mpmcring_errmsg());
	self->id = ring_id(self->r);
	ASSERT_NE(0, self->id) TH_LOG("the ring has no id: an ABI 1.2 module is needed");
	self->nonce = ((__u64)getpid() << 32) ^ (__u64)time(NULL) ^ 0x6270660000000000ULL;
	self->kfuncs = !access("/sys/kernel/btf/mpmcring", F_OK);
	libbpf_set_print(libbpf_print);
}

FIXTURE_TEARDOWN(bpf)
{
	if (self->r)
		mpmcring_close(self->r);
}

/* Consumes everything that waits, for up to ms after the last record. */
static void drain(struct mpmcring_consumer *c, int ms, void (*fn)(void *, const struct bt_rec *),
		  void *ctx, __u64 nonce)
{
	struct mpmcring_batch b;
	struct mpmcring_record rec;
	int idle = 0, n;

	while (idle < ms) {
		n = mpmcring_read_batch(c, &b, 64, 1 << 16);
		if (n <= 0) {
			vm_sleep_ms(1);
			idle++;
			continue;
		}
		idle = 0;
		while (mpmcring_batch_next(&b, &rec))
			if (rec.len == sizeof(struct bt_rec) &&
			    ((const struct bt_rec *)rec.data)->nonce == nonce)
				fn(ctx, rec.data);
		mpmcring_commit(c);
	}
}

TEST_F_TIMEOUT(bpf, example_accepted_and_delivers, 120)
{
	struct mpmcring_consumer *c;
	struct mpmcring_record rec;
	int found = 0, tries, status;
	struct exec_bpf *e;
	pid_t pid;

	NEED_KFUNCS();
	c = mpmcring_consumer_new(self->r);
	e = exec_bpf__open();
	ASSERT_NE(NULL, c);
	ASSERT_NE(NULL, e);
	e->rodata->ring_id = self->id;
	ASSERT_EQ(0, exec_bpf__load(e)) TH_LOG("the verifier refused examples/bpf/exec.bpf.c");
	ASSERT_EQ(0, exec_bpf__attach(e));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	for (tries = 0; tries < 2000 && !found; tries++) {
		if (mpmcring_read(c, &rec)) {
			vm_sleep_ms(1);
			continue;
		}
		if (rec.len > sizeof(struct exec_event)) {
			const struct exec_event *ev = rec.data;

			if (ev->pid == (__u32)pid && ev->filename_len < rec.len &&
			    !strncmp((const char *)rec.data + sizeof(*ev), "/bin/true",
				     ev->filename_len))
				found = 1;
		}
		mpmcring_commit(c);
	}
	EXPECT_TRUE(found) TH_LOG("no exec record for pid %d", pid);
	exec_bpf__destroy(e);
	mpmcring_consumer_free(c);
}

TEST_F_TIMEOUT(bpf, misused_reservations_rejected, 120)
{
	const char *names[] = {
		"leak_on_a_path",
		"write_after_commit",
		"commit_twice",
		"no_null_check",
		"commit_not_a_reservation",
		"variable_sized_write_past_buffer",
		"read_past_len",
		"forged_from_stack",
		"forged_from_map_value",
		"commit_a_ringbuf_sample",
		"discard_a_ringbuf_sample",
		"write_to_null",
		"handle_from_fexit",
	};
	struct produce_bpf *good;
	unsigned int i, j;

	NEED_KFUNCS();
	/* The control: the kfuncs are there and a correct program loads. */
	good = producer(self->id, self->nonce);
	ASSERT_NE(NULL, good);
	produce_bpf__destroy(good);

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		LIBBPF_OPTS(bpf_object_open_opts, o, .kernel_log_buf = vlog,
			    .kernel_log_size = sizeof(vlog), .kernel_log_level = 1);
		struct rejected_bpf *bad = rejected_bpf__open_opts(&o);
		struct bpf_program *p;
		char *last, *line, *save;
		bool leak_said, beyond_said, unref_said, forged, forged_said;
		int err;

		ASSERT_NE(NULL, bad);
		bad->rodata->ring_id = self->id;
		j = 0;
		bpf_object__for_each_program(p, bad->obj)
		{
			bpf_program__set_autoload(p, !strcmp(bpf_program__name(p), names[i]));
			j += !strcmp(bpf_program__name(p), names[i]);
		}
		ASSERT_EQ(1, j) TH_LOG("no program %s", names[i]);
		vlog[0] = 0;
		setenv("BT_QUIET", "1", 1);
		err = rejected_bpf__load(bad);
		unsetenv("BT_QUIET");
		leak_said = strstr(vlog, "Unreleased reference") != NULL;
		beyond_said = strstr(vlog, "access beyond struct") != NULL;
		unref_said = strstr(vlog, "R1 must be referenced") != NULL;
		/*
		 * A forged handle must be refused for that argument: as
		 * memory where the struct is no struct of scalars (6.1,
		 * 6.12), or as NULL where a trusted one goes (6.12).
		 */
		forged = !strncmp(names[i], "forged_", 7) || strstr(names[i], "ringbuf_sample") ||
			 !strcmp(names[i], "write_to_null");
		forged_said =
			strstr(vlog, "arg#0 pointer type STRUCT mpmcring_bpf_rsv must point to "
				     "scalar, or struct with scalar") ||
			(!strcmp(names[i], "write_to_null") &&
			 strstr(vlog, "Possibly NULL pointer passed to trusted arg0"));
		/* The verifier's verdict: its last line but the summary. */
		last = vlog;
		for (line = strtok_r(vlog, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (strncmp(line, "processed ", 10) &&
			    strncmp(line, "verification time", 17))
				last = line;
		EXPECT_NE(0, err) TH_LOG("the verifier accepted %s", names[i]);
		fprintf(stderr, "# %s: %s (%d): %s\n", names[i], err ? "refused" : "ACCEPTED", err,
			last);
		if (!strcmp(names[i], "leak_on_a_path"))
			EXPECT_TRUE(leak_said)
		TH_LOG("leak refused, but not for the leak");
		if (!strcmp(names[i], "read_past_len"))
			EXPECT_TRUE(beyond_said)
		TH_LOG("read past len refused, but not for reading past the struct");
		if (forged)
			EXPECT_TRUE(forged_said)
		TH_LOG("forged handle refused, but not for the handle");
		if (!strcmp(names[i], "handle_from_fexit"))
			EXPECT_TRUE(unref_said)
		TH_LOG("a handle not from reserve refused, but not as unreferenced");
		rejected_bpf__destroy(bad);
	}
}

TEST_F_TIMEOUT(bpf, hostile_arguments_fail_cleanly, 120)
{
	const struct mpmcring_layout *l = mpmcring_get_layout(self->r);
	const __u64 bad_ids[] = { 0, self->id + 1000, 0x7fffffff, 0x80000000, 0xffffffff };
	const __u64 bad_flags[] = { 3, 4, 0x100, 1ULL << 32, ~0ULL };
	/*
	 * BT_MAX_RESERVE + 1: one past the staging buffer, the check that
	 * keeps a program's length inside it (the ring's max_record is
	 * larger: asserted below).
	 */
	const __u64 bad_lens[] = { (__u64)l->max_record + 1, BT_MAX_RESERVE + 1, BT_MAX_OUTPUT + 1,
				   0x7fffffff, 0xffffffff };
	struct mpmcring_stats before, after;
	struct bpf_refused rbefore, rafter;
	struct produce_bpf *p;
	unsigned int i, null_refused = 0, bad_writes = 0, admit_too_big = 0;

	NEED_KFUNCS();
	ASSERT_GT(l->max_record, BT_MAX_RESERVE)
	TH_LOG("4097 would test max_record, not the buffer");
	ASSERT_EQ(0, ring_stats(mpmcring_fd(self->r), &before));
	ASSERT_EQ(0, bpf_refused(&rbefore))
	TH_LOG("no bpf_refused counters in /sys/module/mpmcring");
	p = producer(self->id, self->nonce);
	ASSERT_NE(NULL, p);
	for (i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		p->bss->out.ret = 1;
		p->bss->out.got = 1;
		p->bss->out.admit = 1;
		bt_call(BT_BAD_ID, bad_ids[i], 0, 0);
		EXPECT_EQ(-ENOENT, p->bss->out.ret)
		TH_LOG("id %llu", (unsigned long long)bad_ids[i]);
		EXPECT_EQ(-ENOENT, p->bss->out.admit)
		TH_LOG("admit, id %llu", (unsigned long long)bad_ids[i]);
		EXPECT_EQ(0, p->bss->out.got) TH_LOG("id %llu", (unsigned long long)bad_ids[i]);
	}
	for (i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
		p->bss->out.ret = 1;
		p->bss->out.got = 1;
		p->bss->out.admit = 1;
		bt_call(BT_BAD_FLAGS, bad_flags[i], 0, 0);
		EXPECT_EQ(-EINVAL, p->bss->out.ret)
		TH_LOG("flags %#llx", (unsigned long long)bad_flags[i]);
		EXPECT_EQ(-EINVAL, p->bss->out.admit)
		TH_LOG("admit, flags %#llx", (unsigned long long)bad_flags[i]);
		EXPECT_EQ(0, p->bss->out.got);
	}
	for (i = 0; i < sizeof(bad_lens) / sizeof(bad_lens[0]); i++) {
		/* admit knows no staging buffer: max_record and output's bound. */
		bool too_big = bad_lens[i] > l->max_record || bad_lens[i] > BT_MAX_OUTPUT;

		p->bss->out.got = 1;
		p->bss->out.admit = 1;
		bt_call(BT_BAD_LEN, bad_lens[i], 0, 0);
		EXPECT_EQ(0, p->bss->out.got) TH_LOG("len %llu", (unsigned long long)bad_lens[i]);
		EXPECT_EQ(too_big ? -EMSGSIZE : 0, p->bss->out.admit)
		TH_LOG("admit, len %llu", (unsigned long long)bad_lens[i]);
		admit_too_big += too_big;
	}
	ASSERT_GT(admit_too_big, 0);
	/* Lengths that fit are fine. */
	p->bss->out.got = 0;
	p->bss->out.admit = 1;
	bt_call(BT_BAD_LEN, BT_MAX_RESERVE, 0, 0);
	EXPECT_EQ(1, p->bss->out.got);
	EXPECT_EQ(0, p->bss->out.admit);
	/*
	 * Zero: no record is empty (read(2) returns 0 only at end of file).
	 * Both kfuncs refuse it, the length known only at run time, and do
	 * not count it: it is the program's error. One byte is a record.
	 */
	p->bss->out.ret = 1;
	p->bss->out.got = 1;
	p->bss->out.admit = 1;
	bt_call(BT_SMALL_LEN, 0, 0, 0);
	EXPECT_EQ(-EINVAL, p->bss->out.ret) TH_LOG("output of 0 bytes");
	EXPECT_EQ(0, p->bss->out.got) TH_LOG("reserve of 0 bytes");
	EXPECT_EQ(-EINVAL, p->bss->out.admit) TH_LOG("admit of 0 bytes");
	p->bss->out.ret = 1;
	p->bss->out.got = 0;
	p->bss->out.admit = 1;
	bt_call(BT_SMALL_LEN, 1, 0, 0);
	EXPECT_EQ(0, p->bss->out.ret) TH_LOG("output of 1 byte");
	EXPECT_EQ(1, p->bss->out.got) TH_LOG("reserve of 1 byte");
	EXPECT_EQ(0, p->bss->out.admit) TH_LOG("admit of 1 byte");
	/* Writes: inside the 16 reserved bytes or nothing (counted: bad_write). */
	{
		const __u64 cases[][3] = {
			{ 0, 8, 0 },
			{ 8, 8, 0 },
			{ 16, 0, 0 },
			{ 9, 8, -E2BIG },
			{ 16, 1, -E2BIG },
			{ 17, 0, -E2BIG },
			{ 0xfffffff8, 8, -E2BIG },
			{ 0xffffffff, 1, -E2BIG },
		};

		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			p->bss->out.ret = 1;
			bt_call(BT_BAD_WRITE, cases[i][0], cases[i][1], 0);
			bad_writes += cases[i][2] != 0;
			EXPECT_EQ(1, p->bss->out.got);
			EXPECT_EQ((__s64)cases[i][2], p->bss->out.ret)
			TH_LOG("write %llu bytes at %llu", (unsigned long long)cases[i][1],
			       (unsigned long long)cases[i][0]);
		}
	}
	produce_bpf__destroy(p);
	/*
	 * NULL with a size: refused by the verifier, or by the kfuncs. 6.1's
	 * verifier lets it through (a maybe-NULL map value with its size):
	 * there the kfuncs' own NULL checks are what stands, so the program
	 * must load and be refused at run time, or the test would pass with
	 * those checks gone.
	 */
	{
		struct nullmem_bpf *nm = nullmem_bpf__open();
		struct utsname u;
		bool lets_null_through;

		ASSERT_EQ(0, uname(&u));
		lets_null_through = !strncmp(u.release, "6.1.", 4);
		ASSERT_NE(NULL, nm);
		nm->rodata->ring_id = self->id;
		nm->rodata->tgid = getpid();
		if (nullmem_bpf__load(nm) || nullmem_bpf__attach(nm)) {
			fprintf(stderr, "# NULL memory with a size: refused by the verifier\n");
			EXPECT_FALSE(lets_null_through)
			TH_LOG("6.1's verifier used to load nullmem.bpf.c: the kfuncs' NULL checks go untested");
		} else {
			bt_call(0, 0, 0, 0);
			EXPECT_EQ(-EINVAL, nm->data->out_ret);
			EXPECT_EQ(-EINVAL, nm->data->write_ret);
			null_refused = 1; /* output's null_data, and write's bad_write */
			fprintf(stderr,
				"# NULL memory with a size: loaded; the kfuncs said %lld, %lld\n",
				(long long)nm->data->out_ret, (long long)nm->data->write_ret);
		}
		nullmem_bpf__destroy(nm);
	}
	/*
	 * An untrusted kernel pointer (walked from the task: may be NULL or
	 * freed) with a size: the verifier must refuse it, on every kernel
	 * (6.1 and 6.12 alike: a BTF pointer where the kfunc takes void *),
	 * since the kfuncs copy from their memory arguments with a plain
	 * memcpy(). For that reason, not another: the verifier's log says
	 * it. Loaded only, never attached: were it accepted, the kfuncs
	 * would need a copy that cannot fault.
	 */
	{
		LIBBPF_OPTS(bpf_object_open_opts, o, .kernel_log_buf = vlog,
			    .kernel_log_size = sizeof(vlog), .kernel_log_level = 1);
		struct badmem_bpf *bm = badmem_bpf__open_opts(&o);

		ASSERT_NE(NULL, bm);
		bm->rodata->ring_id = self->id;
		bm->rodata->tgid = getpid();
		vlog[0] = 0;
		EXPECT_NE(0, badmem_bpf__load(bm))
		TH_LOG("the verifier loaded badmem.bpf.c: an untrusted kernel pointer reaches the kfuncs' memcpy()");
		EXPECT_NE(NULL, strstr(vlog, "call mpmcring_bpf_output"))
		TH_LOG("badmem.bpf.c refused before its kfunc call: %.300s", vlog);
		EXPECT_NE(NULL, strstr(vlog, "pointer type UNKNOWN  is not supported"))
		TH_LOG("badmem.bpf.c refused for another reason: %.300s",
		       strstr(vlog, "call mpmcring_bpf_output") ?: vlog);
		badmem_bpf__destroy(bm);
	}
	ASSERT_EQ(0, ring_stats(mpmcring_fd(self->r), &after));
	/*
	 * Lengths too big are counted (reserve's, and admit's over
	 * max_record or output's bound); ids and flags name no ring to count in, and a zero
	 * length is no drop: nothing else is counted.
	 */
	EXPECT_EQ(sizeof(bad_lens) / sizeof(bad_lens[0]) + admit_too_big,
		  after.dropped[MPMCRING_DROP_TOO_BIG][MPMCRING_PRIO_NORMAL] -
			  before.dropped[MPMCRING_DROP_TOO_BIG][MPMCRING_PRIO_NORMAL]);
	EXPECT_EQ(sizeof(bad_lens) / sizeof(bad_lens[0]) + admit_too_big,
		  stats_dropped(&after) - stats_dropped(&before));
	/* The one-byte output is the only record produced. */
	EXPECT_EQ(before.produced_records + 1, after.produced_records);
	/*
	 * What found no ring to count it in is counted by the module: each
	 * bad id and each bad flags value three times (output, admit and
	 * reserve), the zero length three times, the NULL data once where
	 * the verifier let it through.
	 */
	ASSERT_EQ(0, bpf_refused(&rafter));
	EXPECT_EQ(3 * sizeof(bad_ids) / sizeof(bad_ids[0]), REFUSED_MORE(rafter, rbefore, NO_RING));
	/* ... and the operator is told the last unknown id: the last tried. */
	EXPECT_EQ(0xffffffffU, rafter.last_no_ring_id);
	EXPECT_EQ(3 * sizeof(bad_flags) / sizeof(bad_flags[0]),
		  REFUSED_MORE(rafter, rbefore, BAD_FLAGS));
	EXPECT_EQ(3, REFUSED_MORE(rafter, rbefore, ZERO_LEN));
	EXPECT_EQ(null_refused, REFUSED_MORE(rafter, rbefore, NULL_DATA));
	/* Each write refused, out of its reservation or from NULL. */
	EXPECT_EQ(bad_writes + null_refused, REFUSED_MORE(rafter, rbefore, BAD_WRITE));
	/* Nothing here is a commit after destroy or a shortage of buffers. */
	EXPECT_EQ(0, REFUSED_MORE(rafter, rbefore, RING_GONE));
	EXPECT_EQ(0, REFUSED_MORE(rafter, rbefore, NO_BUFFER));
	EXPECT_EQ(0, REFUSED_MORE(rafter, rbefore, NO_BUFFER_SLEEP));
}

/* The bound the module applies (kmod/bpf.c: MPMCRING_BPF_MAX_OUTPUT). */
_Static_assert(BT_MAX_OUTPUT == MPMCRING_WRITE_MAX, "output's bound is write(2)'s");

static void ignore_rec(void *ctx, const struct bt_rec *r)
{
	(void)ctx;
	(void)r;
}

/*
 * Output copies with preemption off, maybe in NMI: at most BT_MAX_OUTPUT
 * bytes, whatever the ring's max_record. One more is too big: -EMSGSIZE,
 * counted as the ring's drop, and admit says the same; at the bound both
 * take it. (helper-265: output had no bound but max_record, up to half
 * a GiB copied with preemption off.)
 */
TEST_F_TIMEOUT(bpf, output_copies_at_most_64_kib, 120)
{
	const struct mpmcring_layout *l = mpmcring_get_layout(self->r);
	struct mpmcring_stats before, after;
	struct mpmcring_consumer *c;
	struct produce_bpf *p;

	NEED_KFUNCS();
	ASSERT_GT(l->max_record, BT_MAX_OUTPUT + 1)
	TH_LOG("the ring's max_record would refuse it, not output's bound");
	c = mpmcring_consumer_new(self->r);
	ASSERT_NE(NULL, c);
	drain(c, 20, ignore_rec, NULL, 0); /* room: what other tests left */
	p = producer(self->id, self->nonce);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, ring_stats(mpmcring_fd(self->r), &before));
	p->bss->out.ret = 1;
	p->bss->out.admit = 1;
	bt_call(BT_BIG_OUTPUT, BT_MAX_OUTPUT + 1, 0, 0);
	EXPECT_EQ(-EMSGSIZE, p->bss->out.admit);
	EXPECT_EQ(-EMSGSIZE, p->bss->out.ret);
	p->bss->out.ret = 1;
	p->bss->out.admit = 1;
	bt_call(BT_BIG_OUTPUT, BT_MAX_OUTPUT, 0, 0);
	EXPECT_EQ(0, p->bss->out.admit);
	EXPECT_EQ(0, p->bss->out.ret);
	ASSERT_EQ(0, ring_stats(mpmcring_fd(self->r), &after));
	EXPECT_EQ(2, after.dropped[MPMCRING_DROP_TOO_BIG][MPMCRING_PRIO_NORMAL] -
			     before.dropped[MPMCRING_DROP_TOO_BIG][MPMCRING_PRIO_NORMAL]);
	EXPECT_EQ(2, stats_dropped(&after) - stats_dropped(&before));
	EXPECT_EQ(before.produced_records + 1, after.produced_records);
	produce_bpf__destroy(p);
	drain(c, 20, ignore_rec, NULL, 0);
	mpmcring_consumer_free(c);
}

struct seen {
	pthread_mutex_t lock;
	unsigned int threads;
	__u64 per_thread;
	__u8 *count; /* [thread][seq] */
	__u64 wrong_cpu, bad, delivered, discarded_seen;
	__u64 by_prio[MPMCRING_NR_PRIO];
};

static void seen_rec(void *ctx, const struct bt_rec *r)
{
	struct seen *s = ctx;

	pthread_mutex_lock(&s->lock);
	if (r->thread >= s->threads || r->seq >= s->per_thread) {
		s->bad++;
	} else {
		if (s->count[r->thread * s->per_thread + r->seq] < 255)
			s->count[r->thread * s->per_thread + r->seq]++;
		if (r->cpu != r->thread % (unsigned int)sysconf(_SC_NPROCESSORS_ONLN))
			s->wrong_cpu++;
		if (r->op == BT_DISCARD)
			s->discarded_seen++;
		s->delivered++;
	}
	pthread_mutex_unlock(&s->lock);
}

struct prod_arg {
	unsigned int thread;
	__u64 n;
	__u64 flood; /* this many low and normal records, then critical ones */
	__u64 discards;
	__u8 *outcome; /* [seq]: 1 ok, 2 failed, 3 discarded */
	struct produce_bpf *p;
};

static void *prod_main(void *arg)
{
	struct prod_arg *a = arg;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;
	__u64 seq, before_ok, before_failed;
	__u64 op, flags;

	CPU_ZERO(&set);
	CPU_SET(a->thread % ncpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return (void *)1;
	for (seq = 0; seq < a->n; seq++) {
		op = seq % 10 == 9 && !a->flood ? BT_DISCARD
		     : seq % 3 == 2		? BT_ADMIT
		     : seq % 2			? BT_RESERVE
						: BT_OUTPUT;
		flags = !a->flood	 ? MPMCRING_PRIO_NORMAL
			: seq < a->flood ? seq % 2 /* low, normal */
					 : MPMCRING_PRIO_CRITICAL;
		before_ok = __atomic_load_n(&a->p->bss->out.ok[a->thread], __ATOMIC_RELAXED);
		before_failed =
			__atomic_load_n(&a->p->bss->out.failed[a->thread], __ATOMIC_RELAXED);
		bt_call(op, a->thread, seq, flags);
		if (__atomic_load_n(&a->p->bss->out.failed[a->thread], __ATOMIC_RELAXED) !=
		    before_failed)
			a->outcome[seq] = 2;
		else if (__atomic_load_n(&a->p->bss->out.ok[a->thread], __ATOMIC_RELAXED) !=
			 before_ok)
			a->outcome[seq] = 1;
		else
			a->outcome[seq] = 3;
		if (a->outcome[seq] == 3)
			a->discards++;
	}
	return NULL;
}

struct cons_arg {
	struct mpmcring *r;
	struct seen *s;
	__u64 nonce;
	volatile int *stop;
	struct mpmcring_lost lost;
};

static void *cons_main(void *arg)
{
	struct cons_arg *a = arg;
	struct mpmcring_consumer *c = mpmcring_consumer_new(a->r);
	struct mpmcring_lost l = MPMCRING_OPTS(mpmcring_lost);

	if (!c)
		return (void *)1;
	while (!*a->stop)
		drain(c, 5, seen_rec, a->s, a->nonce);
	drain(c, 200, seen_rec, a->s, a->nonce);
	mpmcring_take_lost(c, &l);
	a->lost = l;
	mpmcring_consumer_free(c);
	return NULL;
}

/*
 * threads producers (one pinned to each CPU in turn) of n records each,
 * by output, by admit then output, and by reserve, write and commit (or
 * discard) in turn; consumers run during production (flood == 0) or only
 * after it (flood: that many low and normal records into a ring nobody
 * drains, then critical ones, which must all fit in the reserve).
 */
static void run_producers(struct __test_metadata *_metadata, struct mpmcring *r, unsigned int id,
			  __u64 nonce, unsigned int threads, __u64 n, __u64 flood)
{
	struct mpmcring_stats before, after;
	struct prod_arg pa[BT_MAX_THREADS];
	struct cons_arg ca[CONSUMERS];
	pthread_t pt[BT_MAX_THREADS], ct[CONSUMERS];
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER, .threads = threads, .per_thread = n };
	__u64 ok = 0, failed = 0, discards = 0, lost = 0, missing = 0, dup = 0, ghost = 0;
	__u64 admit_refused;
	volatile int stop = 0;
	struct produce_bpf *p;
	struct mpmcring_consumer *c0;
	struct mpmcring_lost l0 = MPMCRING_OPTS(mpmcring_lost);
	unsigned int i;
	__u64 k;

	/* Losses from earlier tests are taken first: what is left is ours. */
	c0 = mpmcring_consumer_new(r);
	ASSERT_NE(NULL, c0);
	drain(c0, 50, seen_rec, &s, ~nonce);
	mpmcring_take_lost(c0, &l0);
	mpmcring_consumer_free(c0);

	s.count = calloc(threads * n, 1);
	ASSERT_NE(NULL, s.count);
	p = producer(id, nonce);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, ring_stats(mpmcring_fd(r), &before));
	for (i = 0; i < CONSUMERS; i++) {
		ca[i] = (struct cons_arg){ .r = r, .s = &s, .nonce = nonce, .stop = &stop };
		if (!flood)
			ASSERT_EQ(0, pthread_create(&ct[i], NULL, cons_main, &ca[i]));
	}
	for (i = 0; i < threads; i++) {
		pa[i] = (struct prod_arg){ .thread = i, .n = n, .flood = flood, .p = p };
		pa[i].outcome = calloc(n, 1);
		ASSERT_NE(NULL, pa[i].outcome);
		ASSERT_EQ(0, pthread_create(&pt[i], NULL, prod_main, &pa[i]));
	}
	for (i = 0; i < threads; i++)
		ASSERT_EQ(NULL, ({
				  void *rv;
				  pthread_join(pt[i], &rv);
				  rv;
			  }));
	ASSERT_EQ(0, ring_stats(mpmcring_fd(r), &after));
	if (flood)
		for (i = 0; i < CONSUMERS; i++)
			ASSERT_EQ(0, pthread_create(&ct[i], NULL, cons_main, &ca[i]));
	stop = 1;
	for (i = 0; i < CONSUMERS; i++) {
		ASSERT_EQ(NULL, ({
				  void *rv;
				  pthread_join(ct[i], &rv);
				  rv;
			  }));
		lost += ca[i].lost.dropped;
	}
	for (i = 0; i < threads; i++) {
		ok += p->bss->out.ok[i];
		failed += p->bss->out.failed[i];
		discards += pa[i].discards;
		EXPECT_EQ(n, p->bss->out.ok[i] + p->bss->out.failed[i] + pa[i].discards);
		for (k = 0; k < n; k++) {
			__u8 got = s.count[i * n + k];

			if (pa[i].outcome[k] == 1 && got == 0)
				missing++;
			else if (got > 1)
				dup++;
			else if (pa[i].outcome[k] != 1 && got)
				ghost++;
		}
		free(pa[i].outcome);
	}
	admit_refused = p->bss->out.admit_refused;
	produce_bpf__destroy(p);
	fprintf(stderr,
		"# %u producers x %llu: %llu delivered, %llu refused (%llu by admit), %llu discarded\n",
		threads, (unsigned long long)n, (unsigned long long)s.delivered,
		(unsigned long long)failed, (unsigned long long)admit_refused,
		(unsigned long long)discards);
	EXPECT_EQ(0, missing);
	EXPECT_EQ(0, dup);
	EXPECT_EQ(0, ghost);
	EXPECT_EQ(0, s.bad);
	EXPECT_EQ(0, s.wrong_cpu);
	EXPECT_EQ(0, s.discarded_seen);
	EXPECT_EQ(ok, s.delivered);
	/* Every refusal the programs saw is a drop the ring counted, and told once. */
	EXPECT_EQ(ok, after.produced_records - before.produced_records);
	EXPECT_EQ(discards, after.discarded_records - before.discarded_records);
	EXPECT_EQ(failed, stats_dropped(&after) - stats_dropped(&before));
	EXPECT_EQ(failed, lost);
	if (flood) {
		EXPECT_GT(failed, 0) TH_LOG("the flood never filled the ring");
		/* Some refusals were admit's, counted by the ring as above. */
		EXPECT_GT(admit_refused, 0) TH_LOG("admit refused nothing in the flood");
		/* Critical records keep their reserve: none refused. */
		EXPECT_EQ(0,
			  after.dropped[MPMCRING_DROP_FULL][MPMCRING_PRIO_CRITICAL] +
				  after.dropped[MPMCRING_DROP_PRIORITY][MPMCRING_PRIO_CRITICAL] -
				  before.dropped[MPMCRING_DROP_FULL][MPMCRING_PRIO_CRITICAL] -
				  before.dropped[MPMCRING_DROP_PRIORITY][MPMCRING_PRIO_CRITICAL]);
		EXPECT_GT(after.dropped[MPMCRING_DROP_PRIORITY][MPMCRING_PRIO_LOW],
			  before.dropped[MPMCRING_DROP_PRIORITY][MPMCRING_PRIO_LOW]);
	}
	free(s.count);
}

TEST_F_TIMEOUT(bpf, every_cpu_exactly_once_across_consumers, 300)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	NEED_KFUNCS();
	run_producers(_metadata, self->r, self->id, self->nonce,
		      ncpu * 2 > BT_MAX_THREADS ? BT_MAX_THREADS : ncpu * 2, 5000, 0);
}

TEST_F_TIMEOUT(bpf, flood_counts_every_loss_keeps_critical, 300)
{
	const struct mpmcring_layout *l = mpmcring_get_layout(self->r);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int threads = ncpu > BT_MAX_THREADS ? BT_MAX_THREADS : ncpu;
	__u64 rec = sizeof(struct bt_rec) + MPMCRING_HDR_SIZE;
	/* Low and normal: twice what the ring holds; critical: 3/4 of its reserve. */
	__u64 flood = 2 * (l->data_size / rec) / threads;
	__u64 crit = l->watermark[MPMCRING_PRIO_NORMAL] * 3 / 4 / rec / threads;

	NEED_KFUNCS();
	ASSERT_GT(crit, 0);
	run_producers(_metadata, self->r, self->id, self->nonce, threads, flood + crit, flood);
}

static void skip_rec(void *ctx, const struct bt_rec *r)
{
	(void)ctx;
	(void)r;
}

/*
 * Waits (10 s at most) until the ring is empty: everything produced
 * consumed and reclaimed (the module's tick reclaims while files are
 * open). Its in-use bytes are then exactly what is produced from here on.
 */
static int settled(int fd)
{
	struct mpmcring_stats st;
	int i;

	for (i = 0; i < 1000; i++) {
		if (ring_stats(fd, &st))
			return -1;
		if (st.reclaim_pos == st.head && st.head == st.prod_pos)
			return 0;
		vm_sleep_ms(10);
	}
	return -1;
}

/*
 * The admit kfunc says what the ring would do, and counts what it
 * refuses once: into an empty ring nobody drains, low records by admit
 * then output until admit refuses one, which is exactly the first that
 * the low class's watermark keeps out; then the classes above still get
 * 0, nothing more counted, and once the ring is drained, low gets 0 again.
 */
TEST_F_TIMEOUT(bpf, admit_answers_as_the_ring_would, 120)
{
	const struct mpmcring_layout *l = mpmcring_get_layout(self->r);
	__u64 rs = (sizeof(struct bt_rec) + MPMCRING_HDR_SIZE + (1ULL << l->granule_shift) - 1) &
		   ~((1ULL << l->granule_shift) - 1);
	__u64 fit = (l->data_size - l->watermark[MPMCRING_PRIO_LOW]) / rs, k;
	struct mpmcring_stats before, after;
	struct mpmcring_consumer *c;
	struct produce_bpf *p;

	NEED_KFUNCS();
	/* Low refused by its watermark (PRIORITY), normal's well above it. */
	ASSERT_GT(l->watermark[MPMCRING_PRIO_LOW], l->watermark[MPMCRING_PRIO_NORMAL] + 2 * rs);
	c = mpmcring_consumer_new(self->r);
	ASSERT_NE(NULL, c);
	drain(c, 50, skip_rec, NULL, 0);
	ASSERT_EQ(0, settled(mpmcring_fd(self->r))) TH_LOG("the ring's reclaim never caught up");
	p = producer(self->id, self->nonce);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, ring_stats(mpmcring_fd(self->r), &before));
	p->bss->out.admit = 1;
	bt_call(BT_ADMIT_ONLY, sizeof(struct bt_rec), MPMCRING_PRIO_LOW, 0);
	EXPECT_EQ(0, p->bss->out.admit);
	for (k = 0; k <= fit + 1; k++) {
		bt_call(BT_ADMIT, 0, k, MPMCRING_PRIO_LOW);
		if (p->bss->out.failed[0])
			break;
	}
	EXPECT_EQ(1, p->bss->out.admit_refused);
	EXPECT_EQ(k, p->bss->out.ok[0]);
	EXPECT_EQ(fit, k)
	TH_LOG("%llu low records admitted; %llu fit under the watermark", (unsigned long long)k,
	       (unsigned long long)fit);
	p->bss->out.admit = 1;
	bt_call(BT_ADMIT_ONLY, sizeof(struct bt_rec), MPMCRING_PRIO_NORMAL, 0);
	EXPECT_EQ(0, p->bss->out.admit);
	p->bss->out.admit = 1;
	bt_call(BT_ADMIT_ONLY, sizeof(struct bt_rec), MPMCRING_PRIO_CRITICAL, 0);
	EXPECT_EQ(0, p->bss->out.admit);
	ASSERT_EQ(0, ring_stats(mpmcring_fd(self->r), &after));
	EXPECT_EQ(k, after.produced_records - before.produced_records);
	EXPECT_EQ(1, after.dropped[MPMCRING_DROP_PRIORITY][MPMCRING_PRIO_LOW] -
			     before.dropped[MPMCRING_DROP_PRIORITY][MPMCRING_PRIO_LOW]);
	EXPECT_EQ(1, stats_dropped(&after) - stats_dropped(&before));
	drain(c, 50, skip_rec, NULL, 0);
	EXPECT_EQ(0, settled(mpmcring_fd(self->r)));
	p->bss->out.admit = 1;
	bt_call(BT_ADMIT_ONLY, sizeof(struct bt_rec), MPMCRING_PRIO_LOW, 0);
	EXPECT_EQ(0, p->bss->out.admit);
	produce_bpf__destroy(p);
	mpmcring_consumer_free(c);
}

/*
 * Destroying a ring while a program produces into it: every record the
 * program committed reaches the consumers, which read until the ring says
 * "destroyed and empty" (read(2) returns 0, the library -EPIPE), and every
 * refusal is counted, by the ring or (ring gone) by the module. The
 * program (destroy.bpf.c) runs on the last CPU, the consumers and the
 * destroy on CPU 0, so the consumers run as soon as they are woken. Each
 * of its commits spends 5 ms inside mpmcring_output() (an fentry program
 * spins there), within the kfunc's RCU section: a destroy almost always
 * lands while a commit is under way, the window mpmcring_destroy() must
 * wait out (its grace period) before it tells consumers the end. With
 * that wait moved after wake_up_all(), consumers saw the end and stopped
 * before the record landed: committed > delivered. A destroy that lands
 * between reserve and commit (a 0.5 ms hold) makes the commit find no
 * ring: counted, ring_gone.
 */
#define DESTROY_RING "bpfdestroy"
#define DESTROY_CYCLES 8

static int pin_to(long cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

struct destroy_prod {
	volatile int stop;
	__u64 calls;
	struct destroy_bpf *p;
};

static void *destroy_prod_main(void *arg)
{
	struct destroy_prod *a = arg;

	if (pin_to(sysconf(_SC_NPROCESSORS_ONLN) - 1))
		return (void *)1;
	/* Its commits, and only its, spin inside mpmcring_output(). */
	__atomic_store_n(&a->p->bss->spin_tid, (__u32)syscall(SYS_gettid), __ATOMIC_RELAXED);
	while (!a->stop)
		bt_call(__atomic_load_n(&destroy_ring_id, __ATOMIC_RELAXED), 0, a->calls++, 0);
	return NULL;
}

struct destroy_cons {
	struct mpmcring *r; /* the library's consumer; else read(2) on fd */
	int fd;
	__u64 nonce, delivered, foreign;
	int end; /* what ended it: -EPIPE (library) or 0 bytes read (read(2)) */
	struct mpmcring_lost lost;
};

static void destroy_count(struct destroy_cons *a, const void *data, size_t len)
{
	if (len == sizeof(struct bt_rec) && ((const struct bt_rec *)data)->nonce == a->nonce)
		a->delivered++;
	else
		a->foreign++;
}

/* Reads until the ring is destroyed and empty, as a consumer should. */
static void *destroy_cons_main(void *arg)
{
	struct destroy_cons *a = arg;
	struct mpmcring_consumer *c = NULL;
	struct mpmcring_batch b;
	struct mpmcring_record rec;
	char buf[256];
	ssize_t n;
	int i;

	if (pin_to(0))
		return (void *)1;
	if (a->r) {
		c = mpmcring_consumer_new(a->r);
		if (!c)
			return (void *)1;
	}
	a->end = 1;
	for (i = 0; i < 1000000 && a->end == 1; i++) {
		if (!c) {
			/* Blocking read(2): 0 is the end of file. */
			n = read(a->fd, buf, sizeof(buf));
			if (n > 0)
				destroy_count(a, buf, n);
			else
				a->end = n ? -errno : 0;
			continue;
		}
		n = mpmcring_read_batch(c, &b, 64, 1 << 16);
		if (n > 0) {
			while (mpmcring_batch_next(&b, &rec))
				destroy_count(a, rec.data, rec.len);
			mpmcring_commit(c);
			continue;
		}
		n = mpmcring_wait(a->r, 10000);
		if (n < 0)
			a->end = n;
	}
	if (c) {
		mpmcring_take_lost(c, &a->lost);
		mpmcring_consumer_free(c);
	}
	return NULL;
}

TEST_F_TIMEOUT(bpf, destroy_while_producing_loses_nothing_silently, 300)
{
	struct destroy_cons ca[2];
	struct destroy_prod pa;
	struct bpf_refused rb, ra;
	struct destroy_bpf *p;
	__u64 delivered, short_total = 0;
	unsigned int cycle, i;
	pthread_t pt, ct[2];
	__u64 deadline;
	void *rv;

	NEED_KFUNCS();
	vm_rmmod("mpmcring_loadgen");
	ASSERT_EQ(0, pin_to(0));
	p = destroy_bpf__open();
	ASSERT_NE(NULL, p);
	p->rodata->tgid = getpid();
	ASSERT_EQ(0, destroy_bpf__load(p)) TH_LOG("the verifier refused destroy.bpf.c");
	ASSERT_EQ(0, destroy_bpf__attach(p));
	p->bss->hold_ns = 500000;
	p->bss->spin_ns = 5000000;
	for (cycle = 0; cycle < DESTROY_CYCLES; cycle++) {
		struct mpmcring *r;
		int fd;

		ASSERT_EQ(0, vm_insmod("mpmcring_loadgen",
				       "ring=" DESTROY_RING
				       " create=1 size=1048576 threads=0 autostart=0"));
		r = mpmcring_open("/dev/mpmcring-" DESTROY_RING, 0);
		ASSERT_NE(NULL, r) TH_LOG("%s", mpmcring_errmsg());
		/* read(2) consumes: a read-only file may not. */
		fd = open("/dev/mpmcring-" DESTROY_RING, O_RDWR | O_CLOEXEC);
		ASSERT_GE(fd, 0);
		p->bss->nonce = self->nonce + cycle;
		p->bss->committed[0] = 0;
		p->bss->refused[0] = 0;
		ASSERT_EQ(0, bpf_refused(&rb));
		ca[0] = (struct destroy_cons){ .r = r, .nonce = self->nonce + cycle };
		ca[1] = (struct destroy_cons){ .fd = fd, .nonce = self->nonce + cycle };
		for (i = 0; i < 2; i++)
			ASSERT_EQ(0, pthread_create(&ct[i], NULL, destroy_cons_main, &ca[i]));
		__atomic_store_n(&destroy_ring_id, ring_id(r), __ATOMIC_RELAXED);
		pa = (struct destroy_prod){ .stop = 0, .p = p };
		ASSERT_EQ(0, pthread_create(&pt, NULL, destroy_prod_main, &pa));
		vm_sleep_ms(100 + 7 * cycle);
		/*
		 * At least one commit landed first (committed > 0 is asserted
		 * below): waited for, with a bound no guest comes near, since
		 * on a slow one the producer thread may not have committed
		 * anything within the sleep above, which only spreads where
		 * the destroy lands. A cycle with no commit ends the test
		 * (below), so that a program that never commits costs one
		 * 60 s wait, not one a cycle past the test's timeout.
		 */
		deadline = vm_now_ns() + 60 * 1000000000ULL;
		while (!__atomic_load_n(&p->bss->committed[0], __ATOMIC_RELAXED) &&
		       vm_now_ns() < deadline)
			vm_sleep_ms(10);
		/* Destroys the ring, almost always while a commit is under way. */
		ASSERT_EQ(0, vm_rmmod("mpmcring_loadgen"));
		for (i = 0; i < 2; i++) {
			ASSERT_EQ(0, pthread_join(ct[i], &rv));
			ASSERT_EQ(NULL, rv);
		}
		pa.stop = 1;
		ASSERT_EQ(0, pthread_join(pt, &rv));
		ASSERT_EQ(NULL, rv);
		ASSERT_EQ(0, bpf_refused(&ra));
		delivered = ca[0].delivered + ca[1].delivered;
		fprintf(stderr,
			"# cycle %u: %llu committed, %llu delivered (%llu library, %llu read(2)), %llu refused: %llu counted lost by the ring, %llu no ring, %llu ring gone at commit\n",
			cycle, (unsigned long long)p->bss->committed[0],
			(unsigned long long)delivered, (unsigned long long)ca[0].delivered,
			(unsigned long long)ca[1].delivered, (unsigned long long)p->bss->refused[0],
			(unsigned long long)ca[0].lost.dropped, REFUSED_MORE(ra, rb, NO_RING),
			REFUSED_MORE(ra, rb, RING_GONE));
		EXPECT_EQ(-EPIPE, ca[0].end) TH_LOG("the library consumer did not see the end");
		EXPECT_EQ(0, ca[1].end) TH_LOG("read(2) did not see the end of file");
		EXPECT_EQ(0, ca[0].foreign + ca[1].foreign);
		EXPECT_GT(p->bss->committed[0], 0)
		TH_LOG("cycle %u: no commit in 60 s before the destroy", cycle);
		/* Every record the program committed was read before the end. */
		EXPECT_EQ(p->bss->committed[0], delivered) TH_LOG("cycle %u", cycle);
		if (p->bss->committed[0] > delivered)
			short_total += p->bss->committed[0] - delivered;
		/* Every refusal is counted: by the ring, or (gone) by the module. */
		EXPECT_EQ(p->bss->refused[0], ca[0].lost.dropped + REFUSED_MORE(ra, rb, NO_RING) +
						      REFUSED_MORE(ra, rb, RING_GONE));
		EXPECT_EQ(0, REFUSED_MORE(ra, rb, BAD_FLAGS) + REFUSED_MORE(ra, rb, ZERO_LEN));
		/* The calls after the destroy name the destroyed ring's id. */
		if (REFUSED_MORE(ra, rb, NO_RING))
			EXPECT_EQ(ring_id(r), ra.last_no_ring_id);
		close(fd);
		mpmcring_close(r);
		/* Failed by name above; the next cycles would only wait again. */
		if (!p->bss->committed[0])
			break;
	}
	__atomic_store_n(&destroy_ring_id, 0, __ATOMIC_RELAXED);
	p->bss->spin_tid = 0;
	fprintf(stderr, "# records committed but never delivered: %llu\n",
		(unsigned long long)short_total);
	destroy_bpf__destroy(p);
}

/*
 * A sleepable program that sleeps between reserve and commit (here in a
 * userfaultfd fault the test answers when it likes; an unprivileged user
 * can do the same with a FUSE-backed page) holds up no producer: while it
 * sleeps, write(2) pushes three times the ring's size through the ring
 * with a consumer draining, none refused. When the fault is answered, the
 * program's record still arrives. (When reservations held ring space,
 * reclaim stopped at the sleeping program's record and the writes were
 * refused once the ring was full.)
 */
#define SLEEP_RING "bpfsleep"
#define SLEEP_RING_SIZE 65536

/* Arms the program for this thread, then opens a file: its trigger. */
static void *sleeper_main(void *arg)
{
	struct sleep_bpf *p = arg;
	int fd;

	__atomic_store_n(&p->bss->armed_tid, (__u32)syscall(SYS_gettid), __ATOMIC_RELEASE);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	return NULL;
}

TEST_F_TIMEOUT(bpf, sleeping_program_holds_up_no_producer, 120)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	long page = sysconf(_SC_PAGESIZE);
	unsigned int i, written = 0, refused = 0, delivered = 0, mine = 0;
	const __u64 value = 0x736c65657079ULL;
	struct mpmcring_consumer *c;
	struct mpmcring_record rec;
	struct uffdio_copy cp;
	struct uffd_msg msg;
	struct pollfd pfd;
	struct sleep_bpf *p;
	struct mpmcring *r;
	char buf[1024];
	__u64 *src;
	void *area;
	int uffd, wfd;
	pthread_t t;

	NEED_KFUNCS();
	vm_rmmod("mpmcring_loadgen");
	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen", "ring=" SLEEP_RING " create=1 size=65536 "
						   "threads=0 autostart=0"));
	r = mpmcring_open("/dev/mpmcring-" SLEEP_RING, 0);
	ASSERT_NE(NULL, r) TH_LOG("%s", mpmcring_errmsg());
	c = mpmcring_consumer_new(r);
	ASSERT_NE(NULL, c);
	wfd = open("/dev/mpmcring-" SLEEP_RING, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_GE(wfd, 0);

	uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	ASSERT_GE(uffd, 0) TH_LOG("userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	area = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	reg.range.start = (uintptr_t)area;
	reg.range.len = page;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));

	p = sleep_bpf__open();
	ASSERT_NE(NULL, p);
	p->rodata->ring_id = ring_id(r);
	ASSERT_EQ(0, sleep_bpf__load(p)) TH_LOG("the verifier refused sleep.bpf.c");
	ASSERT_EQ(0, sleep_bpf__attach(p));
	p->bss->user_ptr = (uintptr_t)area;
	ASSERT_EQ(0, pthread_create(&t, NULL, sleeper_main, p));

	/* The program reserved and now sleeps in the fault. */
	pfd = (struct pollfd){ .fd = uffd, .events = POLLIN };
	ASSERT_EQ(1, poll(&pfd, 1, 10000)) TH_LOG("the program never faulted on the page");
	ASSERT_EQ(sizeof(msg), read(uffd, &msg, sizeof(msg)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	EXPECT_EQ(1, p->bss->reserved) TH_LOG("the program got no reservation");

	for (i = 0; i < 3 * SLEEP_RING_SIZE / sizeof(buf); i++) {
		memset(buf, i, sizeof(buf));
		if (write(wfd, buf, sizeof(buf)) == sizeof(buf))
			written++;
		else
			refused++;
		while (!mpmcring_read(c, &rec)) {
			delivered += rec.len == sizeof(buf);
			mpmcring_commit(c);
		}
	}
	EXPECT_EQ(0, refused) TH_LOG("writes refused while a program slept with a reservation");
	EXPECT_EQ(written, delivered);

	/* Answer the fault: the program copies, writes and commits. */
	src = aligned_alloc(page, page);
	ASSERT_NE(NULL, src);
	memset(src, 0, page);
	*src = value;
	cp = (struct uffdio_copy){ .dst = (uintptr_t)area, .src = (uintptr_t)src, .len = page };
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_COPY, &cp));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, p->data->copied);
	EXPECT_EQ(value, p->bss->value);
	for (i = 0; i < 1000 && !mine; i++) {
		if (mpmcring_read(c, &rec)) {
			vm_sleep_ms(1);
			continue;
		}
		mine += rec.len == sizeof(value) && !memcmp(rec.data, &value, sizeof(value));
		mpmcring_commit(c);
	}
	EXPECT_EQ(1, mine) TH_LOG("the sleeping program's record did not arrive");

	sleep_bpf__destroy(p);
	free(src);
	munmap(area, page);
	close(uffd);
	close(wfd);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	EXPECT_EQ(0, vm_rmmod("mpmcring_loadgen"));
}

/*
 * Sleeping programs cannot starve programs that never sleep of staging
 * buffers (kmod/bpf.c: a CPU's pool of 16; contexts that may sleep hold 8
 * at most, task context that cannot sleep 12, softirq 14, hardirq 15).
 * 16 threads on the last CPU each park a sleepable program holding a
 * reservation in a userfaultfd fault: 8 get a buffer, 8 are refused and
 * counted in no_buffer, all refusals for want of a buffer, and in its
 * part no_buffer_sleep, so that no_buffer - no_buffer_sleep stays what
 * programs that cannot sleep lost. Programs that never sleep, in task
 * context on that CPU, still hold 4 at once (a tp_btf program,
 * preemption off; a non-sleepable LSM program, under rcu_read_lock()
 * only), refused one each (no_buffer only), and programs in softirq and
 * hardirq there hold 6 and 7, their shares' rest, one after the other
 * (fentry programs on mpmcring_loadgen's timer and hrtimer producers),
 * refused one each too.
 * (With one share for all of task context, the sleepers took all 12 and
 * the task-context programs on that CPU got nothing until they woke; with
 * one pool for all contexts, interrupts got nothing either.) NMI is not
 * tried: TCG guests have no PMU to raise one.
 *
 * The interrupt programs attach where nothing runs until the test starts
 * the load generator. On tracepoints of the kernel's own softirqs and
 * timer interrupt (softirq_entry, local_timer_entry), as they were, the
 * attach and detach patched code that every vCPU runs all the time, and
 * qemu 7.2's multi-threaded TCG can run an int3 that Linux has already
 * patched away (tests/harness/boot.py, stale_int3_before_init()): the
 * stock 6.12-rt guest died so in CI (an "Oops: int3" during this test),
 * and a guest attaching and detaching those two programs in a loop, its
 * CPUs busy in user space, died of it too (docs/testing.md).
 */
#define POOL_PARKERS 16
#define POOL_LG_RING "bpfpool"
/*
 * The interrupt programs' functions: its hrtimer producers, each 1 ms, and
 * timer producers, each jiffy (4 ms at HZ=250), 7000 calls each (4 records
 * a call), then they stop by themselves. The hrtimer's 7 s outlive both of
 * the test's waits for them (POOL_IRQ_WAIT_MS each), and the timer's end
 * 28 s after the start at the earliest (late ticks stretch it): a test
 * killed at its timeout (120 s) detaches its programs with nothing running
 * there unless it started them in its last 28 s or so.
 */
#define POOL_LG_ARGS                                                                           \
	"ring=" POOL_LG_RING " create=1 size=65536 threads=0 softirq=1 hrtimer=1 count=28000 " \
	"autostart=0 timer_ns=1000000"
#define POOL_IRQ_WAIT_MS 3000
#define POOL_SLEEP 8	/* kmod/bpf.c: MPMCRING_BPF_POOL_SLEEP */
#define POOL_TASK 12	/* kmod/bpf.c: MPMCRING_BPF_POOL_TASK */
#define POOL_SOFTIRQ 14 /* kmod/bpf.c: MPMCRING_BPF_POOL_SOFTIRQ */
#define POOL_HARDIRQ 15 /* kmod/bpf.c: MPMCRING_BPF_POOL_HARDIRQ */
static_assert(BT_POOL_BURST == POOL_HARDIRQ - POOL_SLEEP + 1, "the burst asks one past hardirq");
static_assert(BT_POOL_BURST <= POOL_TASK, "with nobody asleep, task context holds a whole burst");
static_assert(POOL_PARKERS > POOL_SLEEP, "the sleepers must be refused some");

struct pool_arg {
	struct pool_bpf *p;
	long cpu;
};

/* On the test's CPU: opens /dev/null, where the program parks. */
static void *pool_parker_main(void *arg)
{
	struct pool_arg *a = arg;
	int fd;

	if (pin_to(a->cpu))
		return (void *)1;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* On the test's CPU: the task-context programs' bursts (getppid, then open /dev/full). */
static void *pool_burst_main(void *arg)
{
	struct pool_arg *a = arg;
	int fd;

	if (pin_to(a->cpu))
		return (void *)1;
	bt_call(0, 0, 0, 0);
	fd = open("/dev/full", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return (void *)2;
	close(fd);
	return NULL;
}

/* The task-context bursts, run once on the test's CPU and waited for. */
static int pool_probe(struct pool_arg *a)
{
	pthread_t t;
	void *rv;

	if (pthread_create(&t, NULL, pool_burst_main, a) || pthread_join(t, &rv))
		return -1;
	return rv ? -1 : 0;
}

/* Waits up to POOL_IRQ_WAIT_MS for an interrupt program's burst to disarm it. */
static bool pool_disarmed(__u32 *armed)
{
	uint64_t end = vm_now_ns() + POOL_IRQ_WAIT_MS * 1000000ULL;

	while (__atomic_load_n(armed, __ATOMIC_ACQUIRE)) {
		if (vm_now_ns() >= end)
			return false;
		vm_sleep_ms(1);
	}
	return true;
}

/*
 * Unloads the load generator once the programs attached to its functions
 * let it go (their release drops the reference; a busy module answers
 * EAGAIN): 0 or -errno after up to 10 s.
 */
static int pool_lg_unload(void)
{
	int i, ret = vm_rmmod("mpmcring_loadgen");

	for (i = 0; i < 1000 && ret == -EAGAIN; i++) {
		vm_sleep_ms(10);
		ret = vm_rmmod("mpmcring_loadgen");
	}
	return ret;
}

TEST_F_TIMEOUT(bpf, sleepers_leave_buffers_for_non_sleepers, 120)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	long page = sysconf(_SC_PAGESIZE);
	struct pool_arg a = { .cpu = sysconf(_SC_NPROCESSORS_ONLN) - 1 };
	pthread_t park[POOL_PARKERS];
	struct bpf_refused rb, rpark, ra;
	struct uffdio_copy cp;
	struct pool_bpf *p;
	struct stat st, full;
	unsigned int i;
	void *area, *src, *rv;
	int uffd;

	NEED_KFUNCS();
	/* The interrupt programs' functions: loaded before the programs, not started. */
	vm_rmmod("mpmcring_loadgen");
	ASSERT_EQ(0, vm_insmod("mpmcring_loadgen", POOL_LG_ARGS));
	ASSERT_EQ(0, stat("/dev/null", &st));
	ASSERT_EQ(0, stat("/dev/full", &full));
	ASSERT_TRUE(S_ISCHR(full.st_mode));
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	ASSERT_GE(uffd, 0) TH_LOG("userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	area = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	reg.range.start = (uintptr_t)area;
	reg.range.len = page;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));

	p = pool_bpf__open();
	ASSERT_NE(NULL, p);
	p->rodata->ring_id = self->id;
	p->rodata->tgid = getpid();
	p->rodata->cpu = a.cpu;
	p->rodata->null_ino = st.st_ino;
	/* The kernel's dev_t (MINORBITS 20), as struct inode holds it. */
	p->rodata->full_rdev = major(full.st_rdev) << 20 | minor(full.st_rdev);
	ASSERT_EQ(0, pool_bpf__load(p)) TH_LOG("the verifier refused pool.bpf.c");
	ASSERT_EQ(0, pool_bpf__attach(p));
	a.p = p;
	p->bss->user_ptr = (uintptr_t)area;

	/* The control: task context on that CPU holds a whole burst. */
	ASSERT_EQ(0, pool_probe(&a));
	ASSERT_EQ(BT_POOL_BURST, p->bss->held[BT_CTX_TASK])
	TH_LOG("tp_btf held %llu at once, nothing else held",
	       (unsigned long long)p->bss->held[BT_CTX_TASK]);
	ASSERT_EQ(BT_POOL_BURST, p->bss->held[BT_CTX_TASK_RCU])
	TH_LOG("lsm held %llu at once, nothing else held",
	       (unsigned long long)p->bss->held[BT_CTX_TASK_RCU]);
	ASSERT_EQ(0, p->bss->refused[BT_CTX_TASK]);
	ASSERT_EQ(0, p->bss->refused[BT_CTX_TASK_RCU]);

	ASSERT_EQ(0, bpf_refused(&rb));
	p->bss->park_armed = 1;
	for (i = 0; i < POOL_PARKERS; i++)
		ASSERT_EQ(0, pthread_create(&park[i], NULL, pool_parker_main, &a));
	/* Every parker reserved (and sleeps) or was refused. */
	for (i = 0; i < 10000; i++) {
		if (__atomic_load_n(&p->bss->parked, __ATOMIC_RELAXED) +
			    __atomic_load_n(&p->bss->park_refused, __ATOMIC_RELAXED) ==
		    POOL_PARKERS)
			break;
		vm_sleep_ms(1);
	}
	p->bss->park_armed = 0;
	fprintf(stderr, "# %llu sleeping programs hold a buffer on CPU %ld, %llu refused\n",
		(unsigned long long)p->bss->parked, a.cpu,
		(unsigned long long)p->bss->park_refused);
	EXPECT_EQ(POOL_SLEEP, p->bss->parked);
	EXPECT_EQ(POOL_PARKERS - POOL_SLEEP, p->bss->park_refused);
	/*
	 * Only sleepers were refused so far (the other programs of the test
	 * are not armed): each in no_buffer, which keeps counting every
	 * refusal for want of a buffer, and in its part no_buffer_sleep.
	 */
	ASSERT_EQ(0, bpf_refused(&rpark));
	fprintf(stderr, "# the sleepers' refusals: no_buffer +%llu, no_buffer_sleep +%llu\n",
		REFUSED_MORE(rpark, rb, NO_BUFFER), REFUSED_MORE(rpark, rb, NO_BUFFER_SLEEP));
	EXPECT_EQ(POOL_PARKERS - POOL_SLEEP, REFUSED_MORE(rpark, rb, NO_BUFFER))
	TH_LOG("sleepers' refusals left out of no_buffer: a reader of no_buffer alone misses them");
	EXPECT_EQ(POOL_PARKERS - POOL_SLEEP, REFUSED_MORE(rpark, rb, NO_BUFFER_SLEEP))
	TH_LOG("sleepable programs refused a buffer were not counted as callers that may sleep");

	/*
	 * Task context that cannot sleep, while they sleep: the rest of the
	 * task share, exactly. Nothing else of ours reserves on that CPU now
	 * (the interrupt programs are not armed), so the count does not
	 * depend on timing.
	 */
	ASSERT_EQ(0, pool_probe(&a));
	fprintf(stderr, "# while they sleep: tp_btf held %llu at once, lsm %llu\n",
		(unsigned long long)p->bss->held[BT_CTX_TASK],
		(unsigned long long)p->bss->held[BT_CTX_TASK_RCU]);
	EXPECT_EQ(POOL_TASK - POOL_SLEEP, p->bss->held[BT_CTX_TASK])
	TH_LOG("a non-sleepable tp_btf program in task context got %llu buffers with %d sleepers parked",
	       (unsigned long long)p->bss->held[BT_CTX_TASK], POOL_PARKERS);
	EXPECT_EQ(POOL_TASK - POOL_SLEEP, p->bss->held[BT_CTX_TASK_RCU])
	TH_LOG("a non-sleepable LSM program (preemptible, under rcu_read_lock) got %llu buffers with %d sleepers parked",
	       (unsigned long long)p->bss->held[BT_CTX_TASK_RCU], POOL_PARKERS);
	EXPECT_EQ(1, p->bss->refused[BT_CTX_TASK]);
	EXPECT_EQ(1, p->bss->refused[BT_CTX_TASK_RCU]);

	/*
	 * Then interrupts on that CPU, while they sleep: hardirq, then
	 * softirq, each one burst (the load generator's timers call them),
	 * each over before the next is armed (pool.bpf.c).
	 */
	ASSERT_EQ(0, lg_control("start"));
	p->bss->hardirq_armed = 1;
	EXPECT_TRUE(pool_disarmed(&p->bss->hardirq_armed))
	TH_LOG("the load generator's hrtimer on CPU %ld did not run the hardirq program", a.cpu);
	if (!p->bss->hardirq_armed) {
		p->bss->softirq_armed = 1;
		EXPECT_TRUE(pool_disarmed(&p->bss->softirq_armed))
		TH_LOG("the load generator's timer on CPU %ld did not run the softirq program",
		       a.cpu);
	}
	p->bss->hardirq_armed = 0;
	p->bss->softirq_armed = 0;
	EXPECT_EQ(0, lg_control("stop"));
	fprintf(stderr, "# while they sleep: softirq held %llu at once, hardirq %llu\n",
		(unsigned long long)p->bss->held[BT_CTX_SOFTIRQ],
		(unsigned long long)p->bss->held[BT_CTX_HARDIRQ]);
	EXPECT_EQ(POOL_SOFTIRQ - POOL_SLEEP, p->bss->held[BT_CTX_SOFTIRQ])
	TH_LOG("a softirq program (the load generator's timer) on CPU %ld got %llu buffers with %d sleepers parked",
	       a.cpu, (unsigned long long)p->bss->held[BT_CTX_SOFTIRQ], POOL_PARKERS);
	EXPECT_EQ(1, p->bss->refused[BT_CTX_SOFTIRQ]);
	EXPECT_EQ(POOL_HARDIRQ - POOL_SLEEP, p->bss->held[BT_CTX_HARDIRQ])
	TH_LOG("a hardirq program (the load generator's hrtimer) on CPU %ld got %llu buffers with %d sleepers parked",
	       a.cpu, (unsigned long long)p->bss->held[BT_CTX_HARDIRQ], POOL_PARKERS);
	EXPECT_EQ(1, p->bss->refused[BT_CTX_HARDIRQ]);
	/*
	 * The refusals are the module's: each burst's last (cannot sleep)
	 * adds to no_buffer and not to its sleepers' part.
	 */
	ASSERT_EQ(0, bpf_refused(&ra));
	fprintf(stderr, "# the bursts' refusals: no_buffer +%llu, no_buffer_sleep +%llu\n",
		REFUSED_MORE(ra, rpark, NO_BUFFER), REFUSED_MORE(ra, rpark, NO_BUFFER_SLEEP));
	EXPECT_EQ(4, REFUSED_MORE(ra, rpark, NO_BUFFER));
	EXPECT_EQ(0, REFUSED_MORE(ra, rpark, NO_BUFFER_SLEEP))
	TH_LOG("programs that cannot sleep counted as callers that may sleep");

	/* Answer the fault: the sleepers commit and give their buffers back. */
	src = aligned_alloc(page, page);
	ASSERT_NE(NULL, src);
	memset(src, 0x5a, page);
	cp = (struct uffdio_copy){ .dst = (uintptr_t)area, .src = (uintptr_t)src, .len = page };
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_COPY, &cp));
	for (i = 0; i < POOL_PARKERS; i++) {
		ASSERT_EQ(0, pthread_join(park[i], &rv));
		ASSERT_EQ(NULL, rv);
	}
	EXPECT_EQ(p->bss->parked, p->bss->park_committed);
	/* And task context holds a whole burst again. */
	ASSERT_EQ(0, pool_probe(&a));
	EXPECT_EQ(BT_POOL_BURST, p->bss->held[BT_CTX_TASK]);
	EXPECT_EQ(BT_POOL_BURST, p->bss->held[BT_CTX_TASK_RCU]);
	pool_bpf__destroy(p);
	free(src);
	munmap(area, page);
	close(uffd);
	EXPECT_EQ(0, pool_lg_unload())
	TH_LOG("the load generator stayed loaded after the programs went");
}

/*
 * Waits up to 10 s for the module's reference count to reach want; the
 * count at the end. Programs are freed asynchronously: an RCU grace
 * period, then a work item, after their last file and link are gone,
 * and only then does the verifier's module reference go (the programs
 * of the tests before this one, too).
 */
static uint64_t refcnt_settles(uint64_t want, int *ms)
{
	uint64_t n = module_refcnt();

	for (*ms = 0; *ms < 10000 && n != want; *ms += 10) {
		vm_sleep_ms(10);
		n = module_refcnt();
	}
	return n;
}

/* Calls each program-type test makes (probe_calls_arrive()), each one record. */
#define PROBE_CALLS 1000

/* Samples the perf_event test waits for, and the most it can check. */
#define PERF_SAMPLES 200
#define PERF_MAX_SEQ 65536
/* Its cpu-clock event's period: a sample per ms of CPU 0's time. */
#define PERF_PERIOD_NS 1000000
/* How long it waits for PERF_SAMPLES before it says the event is dead. */
#define PERF_WAIT_S 60

/*
 * What a test's records said: how many times each seq below n came. bad:
 * records with another op, a seq or cpu out of range, or that came the
 * wrong way (thread is seq & 1).
 */
struct calls_seen {
	__u64 op;
	__u64 n;
	__u32 cpus;
	__u64 bad;
	__u8 count[PERF_MAX_SEQ]; /* [seq] */
};

static void calls_rec(void *ctx, const struct bt_rec *r)
{
	struct calls_seen *s = ctx;

	/* Even seqs come through output, odd ones through reserve and commit. */
	if (r->op != s->op || r->seq >= s->n || r->thread != (r->seq & 1) || r->cpu >= s->cpus)
		s->bad++;
	else if (s->count[r->seq] < 255)
		s->count[r->seq]++;
}

/* Starts a count of op's records, seqs 0 to n - 1. */
static void calls_start(struct calls_seen *s, __u64 op, __u64 n)
{
	memset(s, 0, sizeof(*s));
	s->op = op;
	s->n = n;
	s->cpus = get_nprocs_conf();
}

/* Seqs below n that never came, and that came more than once. */
static void calls_tally(const struct calls_seen *s, __u64 *missing, __u64 *dup)
{
	__u64 i;

	*missing = *dup = 0;
	for (i = 0; i < s->n; i++) {
		*missing += s->count[i] == 0;
		*dup += s->count[i] > 1;
	}
}

/* The verifier's verdict in vlog: its last line but the summary. */
static const char *vlog_verdict(void)
{
	char *last = vlog, *line, *save;

	for (line = strtok_r(vlog, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "processed ", 10) && strncmp(line, "verification time", 17))
			last = line;
	return last;
}

/*
 * Whether vlog says the verifier refused a program for calling our kfuncs:
 * the first call on its path, output or reserve (6.1's verifier for
 * program types it has no kfunc hook for).
 */
static bool vlog_kfunc_not_allowed(void)
{
	return strstr(vlog, "calling kernel function mpmcring_bpf_output is not allowed") ||
	       strstr(vlog, "calling kernel function mpmcring_bpf_reserve is not allowed");
}

/*
 * A program's recursion misses (bpf_prog_info.recursion_misses): runs the
 * kernel skipped because a BPF program was running on that CPU already.
 * 6.12 counts them for kprobe and tracepoint programs (trace_call_bpf());
 * a perf_event sample skipped so is counted nowhere (bpf_overflow_handler()).
 * ~0 when the kernel does not tell.
 */
static unsigned long long recursion_misses(const struct bpf_program *prog)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
		return ~0ULL;
	return info.recursion_misses;
}

/*
 * The control for a refusal on 6.1: a tp_btf program calling the same
 * kfuncs loads, so the module registered them and a refusal of another
 * program type is the kernel's missing hook, not a module without kfuncs
 * (the verifier's message would be the same).
 */
static bool kfuncs_control_loads(unsigned int id, __u64 nonce)
{
	struct produce_bpf *p = produce_bpf__open();
	bool ok;

	if (!p)
		return false;
	p->rodata->ring_id = id;
	p->rodata->tgid = getpid();
	p->rodata->nonce = nonce;
	ok = !produce_bpf__load(p);
	produce_bpf__destroy(p);
	return ok;
}

/* The stock 6.1 kernel: no kfunc hook for kprobe, tracepoint, perf_event. */
static bool kernel_is_6_1(const struct utsname *u)
{
	return !strncmp(u->release, "6.1.", 4);
}

/*
 * Loads a program-type test's program, opened with vlog as its log (s: its
 * skeleton; what: its type, for messages). Tracing programs (fexit,
 * fmod_ret: hooked_on_6_1) have a kfunc hook on every kernel we support,
 * and must load. kprobe (kretprobe, uprobe), tracepoint and perf_event
 * programs have one on 6.12 only: there they must load; on 6.1 the
 * verifier must refuse them, for the call of our kfuncs, with EACCES,
 * while the tp_btf control loads. Each outcome checked here; true when the
 * program loaded, false when it was refused, the test to end there.
 */
static bool probe_loads(struct __test_metadata *_metadata, struct bpf_object_skeleton *s,
			const char *what, bool hooked_on_6_1, unsigned int id, __u64 nonce)
{
	struct utsname u;
	bool hooked, why;
	int err;

	ASSERT_EQ(0, uname(&u));
	hooked = hooked_on_6_1 || !kernel_is_6_1(&u);
	vlog[0] = 0;
	if (!hooked)
		setenv("BT_QUIET", "1", 1);
	err = bpf_object__load_skeleton(s);
	unsetenv("BT_QUIET");
	if (hooked) {
		ASSERT_EQ(0, err)
		TH_LOG("the verifier refused the %s program on %s: %s", what, u.release,
		       vlog_verdict());
		return true;
	}
	why = vlog_kfunc_not_allowed();
	fprintf(stderr, "# %s: %s program %s (%d): %s\n", u.release, what,
		err ? "refused" : "ACCEPTED", err, vlog_verdict());
	EXPECT_NE(0, err)
	TH_LOG("6.1 has no kfunc hook for %s programs, yet loaded one", what);
	EXPECT_TRUE(why)
	TH_LOG("the %s program was refused, but not for the kfunc call", what);
	EXPECT_EQ(-EACCES, err) TH_LOG("the verifier refuses with EACCES");
	EXPECT_TRUE(kfuncs_control_loads(id, nonce))
	TH_LOG("a tp_btf program calling the kfuncs was refused too: no kfuncs registered");
	return false;
}

/* A program-type test's program's counters (its .bss). */
struct probe_counts {
	const volatile __u64 *hits; /* runs on the test's calls */
	const volatile __u64 *ok;   /* records the ring took */
	const volatile __u64 *failed;
};

/*
 * What the test's calls return: getppid(2)'s (the parent's pid), ioctl(2)'s
 * on /dev/null (-errno), bt_uprobed()'s (0).
 */
static long call_getppid(__u64 op, __u64 seq)
{
	return bt_call(op, seq, 0, 0);
}

static_assert(BT_FMOD_RET_ERRNO == EBADMSG, "fmod_ret.bpf.c's error is EBADMSG");

static long call_ioctl(__u64 op, __u64 seq)
{
	static int fd = -1;

	(void)op;
	if (fd < 0)
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return ioctl(fd, BT_IOCTL_CMD, (unsigned long)seq) ? -errno : 0;
}

/*
 * The function uprobe.bpf.c is attached to (by name, from this binary's
 * symbols): never inlined, cloned or left out, so every call is one of
 * it, with op and seq in the first two argument registers.
 */
__attribute__((noipa, used)) long bt_uprobed(__u64 op, __u64 seq)
{
	asm volatile("" : : "r"(op), "r"(seq) : "memory");
	return 0;
}

static long call_uprobed(__u64 op, __u64 seq)
{
	return bt_uprobed(op, seq);
}

/*
 * The producing half of the program-type tests: with the program attached,
 * makes PROBE_CALLS calls, call(op, seq) for seq 0, 1, ..., each of which
 * must return want and run the program once, which produces one record
 * with op and seq (the programs that cannot see the call's seq number
 * their runs, 0, 1, ..., instead): half through output, half through
 * reserve, write and commit. Each record must arrive exactly once,
 * nothing refused, nothing dropped, nothing else produced.
 */
static void probe_calls_arrive(struct __test_metadata *_metadata, struct mpmcring *r, __u64 nonce,
			       const char *what, __u64 op, long (*call)(__u64 op, __u64 seq),
			       long want, const struct bpf_program *prog, struct probe_counts n)
{
	static struct calls_seen s;
	struct mpmcring_stats before, after;
	struct mpmcring_consumer *c;
	unsigned long long misses;
	__u64 i, missing, dup, wrong = 0;
	long got, first_wrong = 0;
	struct utsname u;

	ASSERT_EQ(0, uname(&u));
	c = mpmcring_consumer_new(r);
	ASSERT_NE(NULL, c);
	calls_start(&s, op, PROBE_CALLS);
	ASSERT_EQ(0, ring_stats(mpmcring_fd(r), &before));
	for (i = 0; i < PROBE_CALLS; i++) {
		got = call(op, i);
		if (got != want && !wrong++)
			first_wrong = got;
	}
	ASSERT_EQ(0, ring_stats(mpmcring_fd(r), &after));
	misses = recursion_misses(prog);
	drain(c, 200, calls_rec, &s, nonce);
	calls_tally(&s, &missing, &dup);
	fprintf(stderr,
		"# %s: %s program ran %llu times for %d calls: %llu produced, %llu refused; %llu recursion misses\n",
		u.release, what, (unsigned long long)*n.hits, PROBE_CALLS,
		(unsigned long long)*n.ok, (unsigned long long)*n.failed, misses);
	fprintf(stderr, "# records: %llu missing, %llu twice, %llu not ours\n",
		(unsigned long long)missing, (unsigned long long)dup, (unsigned long long)s.bad);
	EXPECT_EQ(0, wrong)
	TH_LOG("calls returned %ld, not %ld", first_wrong, want);
	EXPECT_EQ(PROBE_CALLS, *n.hits)
	TH_LOG("the %s program missed calls; its recursion misses: %llu", what, misses);
	EXPECT_EQ(*n.hits, *n.ok + *n.failed)
	TH_LOG("runs that neither produced nor were refused; recursion misses: %llu", misses);
	EXPECT_EQ(PROBE_CALLS, *n.ok)
	TH_LOG("the program's recursion misses: %llu", misses);
	EXPECT_EQ(0, *n.failed);
	EXPECT_EQ(0, missing);
	EXPECT_EQ(0, dup);
	EXPECT_EQ(0, s.bad);
	EXPECT_EQ(PROBE_CALLS, after.produced_records - before.produced_records);
	EXPECT_EQ(0, stats_dropped(&after) - stats_dropped(&before));
	mpmcring_consumer_free(c);
}

#define PROBE_COUNTS(skel) \
	((struct probe_counts){ &(skel)->bss->hits, &(skel)->bss->ok, &(skel)->bss->failed })

/*
 * kprobe programs as producers: the module registers its kfuncs for
 * BPF_PROG_TYPE_KPROBE too (kmod/bpf.c). 6.12 has a kfunc hook for kprobe
 * programs: the program must load, and each of PROBE_CALLS calls of the
 * probed function must arrive exactly once, half through output, half
 * through reserve, write and commit. 6.1 has none (the kernel
 * refuses the registration): there the verifier must refuse the call, and
 * for that reason, not another.
 */
TEST_F_TIMEOUT(bpf, kprobe_program_produces_or_refused_on_6_1, 120)
{
	LIBBPF_OPTS(bpf_object_open_opts, o, .kernel_log_buf = vlog,
		    .kernel_log_size = sizeof(vlog), .kernel_log_level = 1);
	pid_t ppid = getppid(); /* what getppid(2) returns: asked before the probe is on */
	struct kprobe_bpf *k;

	NEED_KFUNCS();
	k = kprobe_bpf__open_opts(&o);
	ASSERT_NE(NULL, k);
	k->rodata->ring_id = self->id;
	k->rodata->tgid = getpid();
	k->rodata->nonce = self->nonce;
	if (!probe_loads(_metadata, k->skeleton, "kprobe", false, self->id, self->nonce)) {
		kprobe_bpf__destroy(k);
		return;
	}
	ASSERT_EQ(0, kprobe_bpf__attach(k)) TH_LOG("attaching the kprobe: %s", strerror(errno));
	probe_calls_arrive(_metadata, self->r, self->nonce, "kprobe", BT_KPROBE, call_getppid, ppid,
			   k->progs.bt_kprobe, PROBE_COUNTS(k));
	kprobe_bpf__destroy(k);
}

/*
 * kretprobe programs (BPF_PROG_TYPE_KPROBE on a function's return) as
 * producers, on getppid(2)'s: as kprobe programs, they must load on 6.12,
 * and each of PROBE_CALLS returns must produce one record, numbered by the
 * program (a return has no arguments to tell the calls apart), each
 * number below PROBE_CALLS arriving exactly once; the program must have
 * seen getppid's return, the parent's pid, every time. 6.1: the verifier
 * must refuse the kfunc call.
 */
TEST_F_TIMEOUT(bpf, kretprobe_program_produces_or_refused_on_6_1, 120)
{
	LIBBPF_OPTS(bpf_object_open_opts, o, .kernel_log_buf = vlog,
		    .kernel_log_size = sizeof(vlog), .kernel_log_level = 1);
	pid_t ppid = getppid(); /* asked before the probe is on */
	struct kretprobe_bpf *k;

	NEED_KFUNCS();
	k = kretprobe_bpf__open_opts(&o);
	ASSERT_NE(NULL, k);
	k->rodata->ring_id = self->id;
	k->rodata->tgid = getpid();
	k->rodata->ppid = ppid;
	k->rodata->nonce = self->nonce;
	if (!probe_loads(_metadata, k->skeleton, "kretprobe", false, self->id, self->nonce)) {
		kretprobe_bpf__destroy(k);
		return;
	}
	/* From here to destroy, the test calls getppid(2) PROBE_CALLS times, nothing else. */
	ASSERT_EQ(0, kretprobe_bpf__attach(k))
	TH_LOG("attaching the kretprobe: %s", strerror(errno));
	probe_calls_arrive(_metadata, self->r, self->nonce, "kretprobe", BT_KRETPROBE, call_getppid,
			   ppid, k->progs.bt_kretprobe, PROBE_COUNTS(k));
	EXPECT_EQ(0, k->bss->wrong_ret) TH_LOG("the kretprobe saw returns other than %d", ppid);
	kretprobe_bpf__destroy(k);
}

/*
 * uprobe programs (BPF_PROG_TYPE_KPROBE on a user function) as producers,
 * attached to bt_uprobed() in this binary, found by its symbol (libbpf
 * reads /proc/self/exe's ELF; the kernel's uprobe PMU in sysfs takes the
 * path and offset). As kprobe programs: on 6.12 each of PROBE_CALLS calls
 * must arrive exactly once, half through output, half through reserve,
 * write and commit; on 6.1 the verifier must refuse the kfunc call. The
 * probe is system-wide (pid -1: libbpf opens its perf event on CPU 0, and
 * the program runs for every process's hit on any CPU; only this test
 * runs this binary): a probe of this process alone is a task perf event,
 * which patches the context switch (the perf_event test's note).
 */
TEST_F_TIMEOUT(bpf, uprobe_program_produces_or_refused_on_6_1, 120)
{
	LIBBPF_OPTS(bpf_object_open_opts, o, .kernel_log_buf = vlog,
		    .kernel_log_size = sizeof(vlog), .kernel_log_level = 1);
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = "bt_uprobed");
	struct bpf_link *link;
	struct uprobe_bpf *p;
	char exe[4096];
	ssize_t len;

	NEED_KFUNCS();
	p = uprobe_bpf__open_opts(&o);
	ASSERT_NE(NULL, p);
	p->rodata->ring_id = self->id;
	p->rodata->tgid = getpid();
	p->rodata->nonce = self->nonce;
	if (!probe_loads(_metadata, p->skeleton, "uprobe", false, self->id, self->nonce)) {
		uprobe_bpf__destroy(p);
		return;
	}
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ASSERT_LT(0, len) TH_LOG("readlink(/proc/self/exe): %s", strerror(errno));
	exe[len] = 0;
	link = bpf_program__attach_uprobe_opts(p->progs.bt_uprobe, -1, exe, 0, &uo);
	ASSERT_NE(NULL, link)
	TH_LOG("attaching the uprobe to bt_uprobed in %s: %s", exe, strerror(errno));
	probe_calls_arrive(_metadata, self->r, self->nonce, "uprobe", BT_UPROBE, call_uprobed, 0,
			   p->progs.bt_uprobe, PROBE_COUNTS(p));
	bpf_link__destroy(link);
	uprobe_bpf__destroy(p);
}

/*
 * fexit programs (BPF_PROG_TYPE_TRACING) as producers, on
 * security_file_ioctl(), which ioctl(2) calls: tracing programs have a
 * kfunc hook on 6.1 and 6.12, so the program must load on both, and each
 * of PROBE_CALLS ioctls on /dev/null must arrive exactly once, half
 * through output, half through reserve, write and commit, after the
 * function returned 0 (the ioctl then fails with ENOTTY: /dev/null has
 * none).
 */
TEST_F_TIMEOUT(bpf, fexit_program_produces, 120)
{
	LIBBPF_OPTS(bpf_object_open_opts, o, .kernel_log_buf = vlog,
		    .kernel_log_size = sizeof(vlog), .kernel_log_level = 1);
	struct fexit_bpf *f;

	NEED_KFUNCS();
	f = fexit_bpf__open_opts(&o);
	ASSERT_NE(NULL, f);
	f->rodata->ring_id = self->id;
	f->rodata->tgid = getpid();
	f->rodata->nonce = self->nonce;
	ASSERT_TRUE(probe_loads(_metadata, f->skeleton, "fexit", true, self->id, self->nonce));
	ASSERT_EQ(0, fexit_bpf__attach(f))
	TH_LOG("attaching fexit to security_file_ioctl: %s", strerror(errno));
	probe_calls_arrive(_metadata, self->r, self->nonce, "fexit", BT_FEXIT, call_ioctl, -ENOTTY,
			   f->progs.bt_fexit, PROBE_COUNTS(f));
	EXPECT_EQ(0, f->bss->wrong_ret) TH_LOG("security_file_ioctl() refused the test's ioctls");
	fexit_bpf__destroy(f);
}

/*
 * fmod_ret programs (BPF_PROG_TYPE_TRACING) as producers, on
 * security_file_ioctl(): as fexit, they must load on 6.1 and 6.12 and
 * each of PROBE_CALLS ioctls must arrive exactly once; the program's
 * return replaces the function's, so each ioctl must fail with
 * BT_FMOD_RET_ERRNO, not ENOTTY.
 */
TEST_F_TIMEOUT(bpf, fmod_ret_program_produces, 120)
{
	LIBBPF_OPTS(bpf_object_open_opts, o, .kernel_log_buf = vlog,
		    .kernel_log_size = sizeof(vlog), .kernel_log_level = 1);
	struct fmod_ret_bpf *f;

	NEED_KFUNCS();
	f = fmod_ret_bpf__open_opts(&o);
	ASSERT_NE(NULL, f);
	f->rodata->ring_id = self->id;
	f->rodata->tgid = getpid();
	f->rodata->nonce = self->nonce;
	ASSERT_TRUE(probe_loads(_metadata, f->skeleton, "fmod_ret", true, self->id, self->nonce));
	ASSERT_EQ(0, fmod_ret_bpf__attach(f))
	TH_LOG("attaching fmod_ret to security_file_ioctl: %s", strerror(errno));
	probe_calls_arrive(_metadata, self->r, self->nonce, "fmod_ret", BT_FMOD_RET, call_ioctl,
			   -BT_FMOD_RET_ERRNO, f->progs.bt_fmod_ret, PROBE_COUNTS(f));
	fmod_ret_bpf__destroy(f);
}

/*
 * Tracepoint programs (BPF_PROG_TYPE_TRACEPOINT, SEC("tracepoint/...")) as
 * producers. 6.12 maps them to the kfunc hook of tracing programs, the one
 * the module registers for BPF_PROG_TYPE_TRACING (kmod/bpf.c): the program
 * on raw_syscalls/sys_enter must load, and each of PROBE_CALLS getppid(2)
 * calls must arrive exactly once, half through output, half through
 * reserve, write and commit. 6.1 maps them to no hook: the verifier must
 * refuse the kfunc call.
 */
TEST_F_TIMEOUT(bpf, tracepoint_program_produces_or_refused_on_6_1, 120)
{
	LIBBPF_OPTS(bpf_object_open_opts, o, .kernel_log_buf = vlog,
		    .kernel_log_size = sizeof(vlog), .kernel_log_level = 1);
	pid_t ppid = getppid(); /* what getppid(2) returns: asked before the probe is on */
	struct tracepoint_bpf *t;

	NEED_KFUNCS();
	t = tracepoint_bpf__open_opts(&o);
	ASSERT_NE(NULL, t);
	t->rodata->ring_id = self->id;
	t->rodata->tgid = getpid();
	t->rodata->nonce = self->nonce;
	if (!probe_loads(_metadata, t->skeleton, "tracepoint", false, self->id, self->nonce)) {
		tracepoint_bpf__destroy(t);
		return;
	}
	ASSERT_EQ(0, tracepoint_bpf__attach(t))
	TH_LOG("attaching to raw_syscalls/sys_enter: %s", strerror(errno));
	probe_calls_arrive(_metadata, self->r, self->nonce, "tracepoint", BT_TRACEPOINT,
			   call_getppid, ppid, t->progs.bt_tracepoint, PROBE_COUNTS(t));
	tracepoint_bpf__destroy(t);
}

/* Waits until the program ran PERF_SAMPLES times, or for PERF_WAIT_S. */
static void perf_wait(const volatile __u64 *hits)
{
	uint64_t end = vm_now_ns() + PERF_WAIT_S * 1000000000ULL;

	while (*hits < PERF_SAMPLES && vm_now_ns() < end)
		vm_sleep_ms(1);
}

/*
 * perf_event programs (BPF_PROG_TYPE_PERF_EVENT) as producers, on a
 * software event (TCG guests have no PMU): CPU 0's cpu-clock, sampled each
 * PERF_PERIOD_NS by an hrtimer, so the program runs in hardirq context.
 * CPU-wide, not this thread's: a task's perf event switches on the
 * perf_sched_events static key, which patches the context switch every
 * vCPU runs all the time (switched off again a second after the close),
 * where qemu's TCG can run a stale int3 (docs/testing.md). 6.12 maps perf_event programs to the
 * kfunc hook of tracing programs, which the module registers: the program
 * must load, run, and produce a record for each run, seq 0, 1, ... in
 * order of runs, half through output, half through reserve, write and
 * commit; the test stops the event after PERF_SAMPLES runs and holds what
 * the program counted (hits = produced + refused) against the records,
 * each seq below hits exactly once. 6.1 maps them to no hook: the
 * verifier must refuse the kfunc call.
 */
TEST_F_TIMEOUT(bpf, perf_event_program_produces_or_refused_on_6_1, 120)
{
	LIBBPF_OPTS(bpf_object_open_opts, o, .kernel_log_buf = vlog,
		    .kernel_log_size = sizeof(vlog), .kernel_log_level = 1);
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_period = PERF_PERIOD_NS,
		.disabled = 1, /* libbpf enables it once the program is attached */
	};
	static struct calls_seen s;
	struct mpmcring_stats before, after;
	__u64 hits, ok, failed, missing, dup;
	struct mpmcring_consumer *c;
	struct bpf_link *link;
	struct perf_bpf *p;
	struct utsname u;
	int pfd;

	NEED_KFUNCS();
	ASSERT_EQ(0, uname(&u));
	p = perf_bpf__open_opts(&o);
	ASSERT_NE(NULL, p);
	p->rodata->ring_id = self->id;
	p->rodata->nonce = self->nonce;
	if (!probe_loads(_metadata, p->skeleton, "perf_event", false, self->id, self->nonce)) {
		perf_bpf__destroy(p);
		return;
	}
	/* CPU 0, whatever runs there: no task event, no patched context switch. */
	pfd = syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	ASSERT_LE(0, pfd) TH_LOG("perf_event_open(cpu-clock): %s", strerror(errno));
	c = mpmcring_consumer_new(self->r);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, ring_stats(mpmcring_fd(self->r), &before));
	/* The link owns pfd from here: destroying it closes the event. */
	link = bpf_program__attach_perf_event(p->progs.bt_perf, pfd);
	ASSERT_NE(NULL, link) TH_LOG("attaching to the cpu-clock event: %s", strerror(errno));
	perf_wait(&p->bss->hits);
	/* No sample after this (the event's hrtimer is cancelled, waiting for a run). */
	ASSERT_EQ(0, ioctl(pfd, PERF_EVENT_IOC_DISABLE, 0));
	hits = p->bss->hits;
	ok = p->bss->ok;
	failed = p->bss->failed;
	ASSERT_EQ(0, ring_stats(mpmcring_fd(self->r), &after));
	ASSERT_GE(PERF_MAX_SEQ, hits) TH_LOG("more samples than the test can check");
	calls_start(&s, BT_PERF, hits);
	drain(c, 200, calls_rec, &s, self->nonce);
	calls_tally(&s, &missing, &dup);
	fprintf(stderr, "# %s: perf_event program ran %llu times: %llu produced, %llu refused\n",
		u.release, (unsigned long long)hits, (unsigned long long)ok,
		(unsigned long long)failed);
	fprintf(stderr, "# records: %llu missing, %llu twice, %llu not ours\n",
		(unsigned long long)missing, (unsigned long long)dup, (unsigned long long)s.bad);
	ASSERT_LE(PERF_SAMPLES, hits)
	TH_LOG("the cpu-clock event ran the program %llu times in %d s", (unsigned long long)hits,
	       PERF_WAIT_S);
	EXPECT_EQ(hits, ok + failed) TH_LOG("runs that neither produced nor were refused");
	EXPECT_EQ(0, failed);
	EXPECT_EQ(0, missing);
	EXPECT_EQ(0, dup);
	EXPECT_EQ(0, s.bad);
	EXPECT_EQ(ok, after.produced_records - before.produced_records);
	EXPECT_EQ(0, stats_dropped(&after) - stats_dropped(&before));
	bpf_link__destroy(link);
	perf_bpf__destroy(p);
	mpmcring_consumer_free(c);
}

TEST_F_TIMEOUT(bpf, rmmod_refused_while_program_holds_kfuncs, 120)
{
	struct produce_bpf *p;
	uint64_t n;
	int ms;

	NEED_KFUNCS();
	/* A test that failed half way may have left it, holding our module. */
	vm_rmmod("mpmcring_loadgen");
	/*
	 * Nothing may hold the module but the program: our ring file is
	 * closed, and the programs of earlier tests must be freed first
	 * (their reference lingers for a grace period after they went).
	 */
	mpmcring_close(self->r);
	self->r = NULL;
	fprintf(stderr, "# module references with no ring open: %llu\n",
		(unsigned long long)module_refcnt());
	n = refcnt_settles(0, &ms);
	ASSERT_EQ(0, n) TH_LOG("the module is held by something other than this test");
	fprintf(stderr, "# ... 0 after %d ms (earlier tests' programs freed)\n", ms);
	p = producer(self->id, self->nonce);
	ASSERT_NE(NULL, p);
	/* The verifier took one reference for the program's kfuncs. */
	EXPECT_EQ(1, module_refcnt()) TH_LOG("a program calling the kfuncs must hold the module");
	EXPECT_EQ(-EWOULDBLOCK, vm_rmmod("mpmcring"));
	/* Still there and working. */
	EXPECT_EQ(0, access("/dev/mpmcring", F_OK));
	bt_call(BT_OUTPUT, 0, 0, MPMCRING_PRIO_NORMAL);
	EXPECT_EQ(0, p->bss->out.ret);
	produce_bpf__destroy(p);
	/* Its reference goes when the program is freed, and only then. */
	n = refcnt_settles(0, &ms);
	ASSERT_EQ(0, n) TH_LOG("the program's module reference was not given back");
	fprintf(stderr, "# the program's reference given back %d ms after destroy\n", ms);
	EXPECT_EQ(0, vm_rmmod("mpmcring"));
	EXPECT_EQ(0, vm_insmod("mpmcring", NULL));
}

TEST_HARNESS_MAIN
