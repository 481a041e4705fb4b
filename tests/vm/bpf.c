// SPDX-License-Identifier: GPL-2.0-only
/*
 * BPF programs as producers (kmod/bpf.c): the verifier accepts the example
 * and refuses programs that misuse reservations; hostile ids, flags,
 * lengths and offsets fail cleanly; records from BPF on every CPU arrive
 * exactly once across several consumers, and every refused one is counted;
 * the module cannot be unloaded while a program uses its kfuncs.
 *
 * The programs (tests/vm/bpf/, examples/bpf/exec.bpf.c) run on
 * sys_enter; the producer acts on getppid(2) from this process only.
 * Needs a kernel with BTF and module BTF: the stock kernels.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <bpf/libbpf.h>

#include "kselftest_harness.h"
#include "mpmcring.h"
#include "vmtest.h"
#include "bpf_test.h"
#include "produce.skel.h"
#include "rejected.skel.h"
#include "exec.skel.h"
#include "nullmem.skel.h"
#include "exec_event.h"

#define CONSUMERS 3

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
		"leak_on_a_path", "write_after_commit",	      "commit_twice",
		"no_null_check",  "commit_not_a_reservation", "variable_sized_write_past_buffer",
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
		bool leak_said;
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
		/* The verifier's verdict: its last line but the summary. */
		last = vlog;
		for (line = strtok_r(vlog, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (strncmp(line, "processed ", 10) &&
			    strncmp(line, "verification time", 17))
				last = line;
		EXPECT_NE(0, err) TH_LOG("the verifier accepted %s", names[i]);
		fprintf(stderr, "# %s: refused (%d): %s\n", names[i], err, last);
		if (!strcmp(names[i], "leak_on_a_path"))
			EXPECT_TRUE(leak_said)
		TH_LOG("leak refused, but not for the leak");
		rejected_bpf__destroy(bad);
	}
}

TEST_F_TIMEOUT(bpf, hostile_arguments_fail_cleanly, 120)
{
	const struct mpmcring_layout *l = mpmcring_get_layout(self->r);
	const __u64 bad_ids[] = { 0, self->id + 1000, 0x7fffffff, 0x80000000, 0xffffffff };
	const __u64 bad_flags[] = { 3, 4, 0x100, 1ULL << 32, ~0ULL };
	const __u64 bad_lens[] = { (__u64)l->max_record + 1, (64 << 10) + 1, 0x7fffffff,
				   0xffffffff };
	struct mpmcring_stats before, after;
	struct produce_bpf *p;
	unsigned int i;

	NEED_KFUNCS();
	ASSERT_EQ(0, ring_stats(mpmcring_fd(self->r), &before));
	p = producer(self->id, self->nonce);
	ASSERT_NE(NULL, p);
	for (i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		p->bss->out.ret = 1;
		p->bss->out.got = 1;
		bt_call(BT_BAD_ID, bad_ids[i], 0, 0);
		EXPECT_EQ(-ENOENT, p->bss->out.ret)
		TH_LOG("id %llu", (unsigned long long)bad_ids[i]);
		EXPECT_EQ(0, p->bss->out.got) TH_LOG("id %llu", (unsigned long long)bad_ids[i]);
	}
	for (i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
		p->bss->out.ret = 1;
		p->bss->out.got = 1;
		bt_call(BT_BAD_FLAGS, bad_flags[i], 0, 0);
		EXPECT_EQ(-EINVAL, p->bss->out.ret)
		TH_LOG("flags %#llx", (unsigned long long)bad_flags[i]);
		EXPECT_EQ(0, p->bss->out.got);
	}
	for (i = 0; i < sizeof(bad_lens) / sizeof(bad_lens[0]); i++) {
		p->bss->out.got = 1;
		bt_call(BT_BAD_LEN, bad_lens[i], 0, 0);
		EXPECT_EQ(0, p->bss->out.got) TH_LOG("len %llu", (unsigned long long)bad_lens[i]);
	}
	/* Lengths that fit are fine. */
	p->bss->out.got = 0;
	bt_call(BT_BAD_LEN, 4096, 0, 0);
	EXPECT_EQ(1, p->bss->out.got);
	/*
	 * Zero: no record is empty (read(2) returns 0 only at end of file).
	 * Both kfuncs refuse it, the length known only at run time, and do
	 * not count it: it is the program's error. One byte is a record.
	 */
	p->bss->out.ret = 1;
	p->bss->out.got = 1;
	bt_call(BT_SMALL_LEN, 0, 0, 0);
	EXPECT_EQ(-EINVAL, p->bss->out.ret) TH_LOG("output of 0 bytes");
	EXPECT_EQ(0, p->bss->out.got) TH_LOG("reserve of 0 bytes");
	p->bss->out.ret = 1;
	p->bss->out.got = 0;
	bt_call(BT_SMALL_LEN, 1, 0, 0);
	EXPECT_EQ(0, p->bss->out.ret) TH_LOG("output of 1 byte");
	EXPECT_EQ(1, p->bss->out.got) TH_LOG("reserve of 1 byte");
	/* Writes: inside the 16 reserved bytes or nothing. */
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
			EXPECT_EQ(1, p->bss->out.got);
			EXPECT_EQ((__s64)cases[i][2], p->bss->out.ret)
			TH_LOG("write %llu bytes at %llu", (unsigned long long)cases[i][1],
			       (unsigned long long)cases[i][0]);
		}
	}
	produce_bpf__destroy(p);
	/* NULL with a size: refused by the verifier, or by the kfuncs. */
	{
		struct nullmem_bpf *nm = nullmem_bpf__open();

		ASSERT_NE(NULL, nm);
		nm->rodata->ring_id = self->id;
		nm->rodata->tgid = getpid();
		if (nullmem_bpf__load(nm) || nullmem_bpf__attach(nm)) {
			fprintf(stderr, "# NULL memory with a size: refused by the verifier\n");
		} else {
			bt_call(0, 0, 0, 0);
			EXPECT_EQ(-EINVAL, nm->data->out_ret);
			EXPECT_EQ(-EINVAL, nm->data->write_ret);
			fprintf(stderr,
				"# NULL memory with a size: loaded; the kfuncs said %lld, %lld\n",
				(long long)nm->data->out_ret, (long long)nm->data->write_ret);
		}
		nullmem_bpf__destroy(nm);
	}
	ASSERT_EQ(0, ring_stats(mpmcring_fd(self->r), &after));
	/*
	 * Lengths too big are counted; ids and flags name no ring to count
	 * in, and a zero length is no drop: nothing else is counted.
	 */
	EXPECT_EQ(sizeof(bad_lens) / sizeof(bad_lens[0]),
		  after.dropped[MPMCRING_DROP_TOO_BIG][MPMCRING_PRIO_NORMAL] -
			  before.dropped[MPMCRING_DROP_TOO_BIG][MPMCRING_PRIO_NORMAL]);
	EXPECT_EQ(sizeof(bad_lens) / sizeof(bad_lens[0]),
		  stats_dropped(&after) - stats_dropped(&before));
	/* The one-byte output is the only record produced. */
	EXPECT_EQ(before.produced_records + 1, after.produced_records);
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
		op = seq % 10 == 9 && !a->flood ? BT_DISCARD : seq % 2 ? BT_RESERVE : BT_OUTPUT;
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
	struct mpmcring_lost l;

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
 * threads producers (one pinned to each CPU in turn) of n records each;
 * consumers run during production (flood == 0) or only after it (flood:
 * that many low and normal records into a ring nobody drains, then
 * critical ones, which must all fit in the reserve).
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
	volatile int stop = 0;
	struct produce_bpf *p;
	struct mpmcring_consumer *c0;
	struct mpmcring_lost l0;
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
	produce_bpf__destroy(p);
	fprintf(stderr, "# %u producers x %llu: %llu delivered, %llu refused, %llu discarded\n",
		threads, (unsigned long long)n, (unsigned long long)s.delivered,
		(unsigned long long)failed, (unsigned long long)discards);
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

TEST_F_TIMEOUT(bpf, rmmod_refused_while_program_holds_kfuncs, 120)
{
	struct produce_bpf *p;
	uint64_t n;
	int ms;

	NEED_KFUNCS();
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
