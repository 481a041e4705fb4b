// SPDX-License-Identifier: GPL-2.0-only
/*
 * libmpmcring's surface over host rings: errno on every error return, a
 * newer kernel's larger layout accepted, options structs that carry their
 * size, the run-time version, losses in the record stream and the
 * multi-ring poller.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "hostring.h"
#include "internal.h"

static int put(struct hostring *h, uint32_t len, unsigned int prio, unsigned char fill)
{
	uint64_t pos;
	int err = hostring_reserve(h, 0, len, prio, &pos);

	if (err)
		return err;
	memset(hostring_payload(h, pos), fill, len);
	hostring_commit(h, 0, pos, len);
	return 0;
}

static int ring(struct hostring *h, uint64_t size)
{
	return hostring_init(h, &(struct hostring_params){ .size = size, .producers = 1 });
}

/* A -errno return leaves errno == errno, also on the fast paths. */
static void t_errno_set(struct tap *t)
{
	struct mpmcring_record rec;
	struct mpmcring_batch b;
	struct hostring h;
	struct mpmcring *r;
	struct mpmcring_consumer *c;

	CHECK(t, !ring(&h, 4096), "init");
	r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	c = r ? mpmcring_consumer_new(r) : NULL;
	CHECK(t, c, "consumer");
	if (!c)
		return;
	errno = 0;
	CHECK_EQ(t, mpmcring_read(c, &rec), -EAGAIN);
	CHECK_EQ(t, errno, EAGAIN);
	errno = 0;
	CHECK_EQ(t, mpmcring_read_batch(c, &b, 8, 1 << 20), -EAGAIN);
	CHECK_EQ(t, errno, EAGAIN);
	errno = 0;
	CHECK_EQ(t, mpmcring_read_batch(c, &b, 0, 1 << 20), -EINVAL);
	CHECK_EQ(t, errno, EINVAL);
	errno = 0;
	CHECK_EQ(t, mpmcring_peek(c, &rec), -EAGAIN);
	CHECK_EQ(t, errno, EAGAIN);
	errno = 0;
	CHECK_EQ(t, mpmcring_wait(r, 0), -EBADF); /* no file behind a memory ring */
	CHECK_EQ(t, errno, EBADF);
	errno = 0;
	CHECK_EQ(t, mpmcring_get_stats(r, &(struct mpmcring_stats){ 0 }), -EBADF);
	CHECK_EQ(t, errno, EBADF);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	hostring_destroy(&h);
}

/* A kernel with ABI 1.2 appends fields: this library must still read it. */
static void t_layout_grows(struct tap *t)
{
	struct mpmcring_layout l;
	struct hostring h;
	struct mpmcring *r;

	CHECK(t, !ring(&h, 4096), "init");
	l = h.layout;
	l.layout_size += 16;
	l.abi_minor++;
	r = mpmcring__open_memory(h.cons, h.ro, &l);
	CHECK(t, r, "a larger, newer-minor layout refused: %s", mpmcring_errmsg());
	mpmcring_close(r);
	l.layout_size = sizeof(l) - 8; /* older than the fields the library reads */
	errno = 0;
	CHECK(t, !mpmcring__open_memory(h.cons, h.ro, &l), "a short layout accepted");
	CHECK_EQ(t, errno, EPROTO);
	l.layout_size = 4096; /* beyond the meta page's layout part */
	CHECK(t, !mpmcring__open_memory(h.cons, h.ro, &l), "a huge layout accepted");
	l = h.layout;
	l.abi_major++;
	errno = 0;
	CHECK(t, !mpmcring__open_memory(h.cons, h.ro, &l), "another ABI major accepted");
	CHECK_EQ(t, errno, EPROTONOSUPPORT);
	hostring_destroy(&h);
}

/*
 * A ring larger than the process can map (a 32-bit process: mmap takes a
 * size_t) is refused with EFBIG before anything is mapped short. The bound
 * is lowered to stand in for one, as Go's maxMapping is.
 */
static void t_layout_too_large_to_map(struct tap *t)
{
	struct mpmcring_layout l;
	struct hostring h;
	struct mpmcring *r;
	uint64_t saved = mpr_lib_max_mapping, stamps;

	CHECK(t, !ring(&h, 4096), "init");
	/* A consistent 2 GiB ring: stamps, data offset and sizes agree. */
	l = h.layout;
	l.data_size = 1ULL << 31;
	stamps = (l.data_size >> l.granule_shift) * sizeof(uint64_t);
	l.data_offset = (l.stamps_offset + stamps + 4095) & ~4095ULL;
	l.ro_size = l.data_offset + 2 * l.data_size;
	CHECK_EQ(t, mpr_lib_check_layout(&l), sizeof(size_t) > 4 ? 0 : -EFBIG);
	mpr_lib_max_mapping = UINT32_MAX; /* a 32-bit size_t */
	errno = 0;
	CHECK_EQ(t, mpr_lib_check_layout(&l), -EFBIG);
	CHECK_EQ(t, errno, EFBIG);
	CHECK(t, strstr(mpmcring_errmsg(), "64-bit build"), "message: %s", mpmcring_errmsg());
	r = mpmcring__open_memory(h.cons, h.ro, &l);
	CHECK(t, !r, "a 4 GiB mapping accepted");
	mpmcring_close(r);
	/* Each mapping fits, both together do not. */
	l = h.layout;
	mpr_lib_max_mapping = l.ro_size + l.cons_size - 1;
	CHECK_EQ(t, mpr_lib_check_layout(&l), -EFBIG);
	mpr_lib_max_mapping = l.ro_size + l.cons_size;
	CHECK_EQ(t, mpr_lib_check_layout(&l), 0);
	mpr_lib_max_mapping = saved;
	hostring_destroy(&h);
}

/* sz: smaller is an older caller (defaults), larger a newer one (zeros). */
static void t_opts_size(struct tap *t)
{
	struct {
		struct mpmcring_consumer_opts o;
		unsigned int newer_field;
	} big = { .o = { .sz = sizeof(big) } };
	struct mpmcring_consumer_opts old = { .sz = sizeof(size_t) };
	struct mpmcring_consumer *c;
	struct hostring h;
	struct mpmcring *r;

	CHECK(t, !ring(&h, 4096), "init");
	r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	CHECK(t, r, "open");
	if (!r)
		return;
	c = mpmcring_consumer_new_opts(r, &big.o);
	CHECK(t, c, "a larger struct with its new fields 0 refused: %s", mpmcring_errmsg());
	mpmcring_consumer_free(c);
	big.newer_field = 1;
	errno = 0;
	CHECK(t, !mpmcring_consumer_new_opts(r, &big.o), "an unknown field set accepted");
	CHECK_EQ(t, errno, EINVAL);
	CHECK(t, strstr(mpmcring_errmsg(), "upgrade the library"), "message: %s",
	      mpmcring_errmsg());
	c = mpmcring_consumer_new_opts(r, &old);
	CHECK(t, c, "an older, smaller struct refused: %s", mpmcring_errmsg());
	mpmcring_consumer_free(c);
	old.sz = 0;
	errno = 0;
	CHECK(t, !mpmcring_consumer_new_opts(r, &old), "sz 0 accepted");
	CHECK_EQ(t, errno, EINVAL);
	errno = 0;
	CHECK(t,
	      !mpmcring_consumer_new_opts(
		      r, &MPMCRING_OPTS(mpmcring_consumer_opts, .flags = 0x80000000u)),
	      "unknown flags accepted");
	CHECK_EQ(t, errno, EINVAL);
	errno = 0;
	CHECK(t, !mpmcring_open_opts("/nonexistent/ring", &MPMCRING_OPTS(mpmcring_open_opts)),
	      "opened a ring that is not there");
	CHECK_EQ(t, errno, ENOENT);
	errno = 0;
	CHECK(t, !mpmcring_open_opts(NULL, &MPMCRING_OPTS(mpmcring_open_opts, .flags = 0x100)),
	      "unknown open flags accepted");
	CHECK_EQ(t, errno, EINVAL);
	/* A failed open's NULL, passed on: an error, not a crash. */
	errno = 0;
	CHECK(t, !mpmcring_consumer_new(NULL), "a consumer of no ring");
	CHECK_EQ(t, errno, EINVAL);
	mpmcring_close(r);
	hostring_destroy(&h);
}

static void t_version(struct tap *t)
{
	char want[32];

	CHECK_EQ(t, mpmcring_version(),
		 MPMCRING_VERSION_CODE(MPMCRING_VERSION_MAJOR, MPMCRING_VERSION_MINOR,
				       MPMCRING_VERSION_PATCH));
	snprintf(want, sizeof(want), "%d.%d.%d", MPMCRING_VERSION_MAJOR, MPMCRING_VERSION_MINOR,
		 MPMCRING_VERSION_PATCH);
	CHECK(t, !strcmp(mpmcring_version_string(), want), "%s", mpmcring_version_string());
}

struct seen {
	unsigned int records, lost_records, stop_after;
	uint64_t lost, last_pos;
	unsigned char fill[64];
	int bad;
};

static int seen_fn(void *ctx, const struct mpmcring_record *rec)
{
	struct seen *s = ctx;
	const struct mpmcring_lost *l = rec->data;

	if (rec->flags & MPMCRING_REC_LOST) {
		if (rec->len != sizeof(*l))
			s->bad = 1;
		s->lost_records++;
		s->lost += l->dropped + l->overwritten;
		return 0;
	}
	if (s->records && rec->pos <= s->last_pos)
		s->bad = 1; /* positions grow in ring order */
	s->last_pos = rec->pos;
	if (s->records < sizeof(s->fill))
		s->fill[s->records] = *(const unsigned char *)rec->data;
	s->records++;
	return s->stop_after && s->records == s->stop_after ? -ECANCELED : 0;
}

/* MPMCRING_CONSUMER_LOST_RECORDS: each loss once, in the stream, first. */
static void t_lost_in_stream(struct tap *t)
{
	struct seen s = { 0 };
	struct hostring h;
	struct mpmcring *r;
	struct mpmcring_consumer *c;
	struct mpmcring_lost lost = MPMCRING_OPTS(mpmcring_lost);
	int i, dropped = 0;

	CHECK(t, !ring(&h, 4096), "init");
	r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	c = r ? mpmcring_consumer_new_opts(r,
					   &MPMCRING_OPTS(mpmcring_consumer_opts,
							  .flags = MPMCRING_CONSUMER_LOST_RECORDS))
	      : NULL;
	CHECK(t, c, "consumer: %s", mpmcring_errmsg());
	if (!c)
		return;
	/* Fill the ring until it refuses: the refusals are the losses. */
	for (i = 0; i < 200; i++)
		if (put(&h, 100, MPMCRING_PRIO_CRITICAL, (unsigned char)i))
			dropped++;
	CHECK(t, dropped > 0, "nothing dropped");
	CHECK(t, mpmcring_consume(c, 1000, seen_fn, &s) > 0, "consume");
	CHECK_EQ(t, s.lost_records, 1);
	CHECK_EQ(t, s.lost, dropped);
	CHECK_EQ(t, s.records, 200 - dropped);
	CHECK_EQ(t, s.bad, 0);
	/* Told once: neither the stream nor mpmcring_take_lost() repeats it. */
	CHECK_EQ(t, mpmcring_consume(c, 1000, seen_fn, &s), 0);
	CHECK_EQ(t, s.lost_records, 1);
	mpmcring_take_lost(c, &lost);
	CHECK_EQ(t, lost.dropped + lost.overwritten, 0);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	hostring_destroy(&h);
}

/* What a callback that reads from its own consumer saw. */
struct lost_reader {
	struct seen s;
	struct mpmcring_consumer *c;
	/* What each entry point returned inside the loss record's fn. */
	int read, read_many, read_batch, commit, consume;
};

static int lost_reader_fn(void *ctx, const struct mpmcring_record *rec)
{
	struct lost_reader *lr = ctx;
	struct mpmcring_record r2[4];
	struct mpmcring_batch b;

	if (rec->flags & MPMCRING_REC_LOST) {
		lr->read = mpmcring_read(lr->c, &r2[0]);
		lr->read_many = mpmcring_read_many(lr->c, r2, 4, 4096);
		lr->read_batch = mpmcring_read_batch(lr->c, &b, 4, 4096);
		lr->commit = mpmcring_commit(lr->c);
		lr->consume = mpmcring_consume(lr->c, 4, seen_fn, &lr->s);
	}
	return seen_fn(&lr->s, rec);
}

/*
 * The loss record comes before consume claims anything: a read, read_many
 * or read_batch from its callback would take the fast path (the consumer
 * holds nothing) and claim records consume then delivers again; a commit or
 * a nested consume would release or deliver under consume. Each is refused
 * like any call from fn, and every record still reaches fn once.
 */
static void t_lost_record_callback_cannot_read(struct tap *t)
{
	struct lost_reader lr = {
		.read = 1, .read_many = 1, .read_batch = 1, .commit = 1, .consume = 1
	};
	struct hostring h;
	struct mpmcring *r;
	struct mpmcring_consumer *c;
	int i, dropped = 0;

	CHECK(t, !ring(&h, 4096), "init");
	r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	c = r ? mpmcring_consumer_new_opts(r,
					   &MPMCRING_OPTS(mpmcring_consumer_opts,
							  .flags = MPMCRING_CONSUMER_LOST_RECORDS))
	      : NULL;
	CHECK(t, c, "consumer: %s", mpmcring_errmsg());
	if (!c)
		return;
	lr.c = c;
	for (i = 0; i < 200; i++)
		if (put(&h, 100, MPMCRING_PRIO_CRITICAL, (unsigned char)i))
			dropped++;
	CHECK(t, dropped > 0, "nothing dropped");
	CHECK(t, mpmcring_consume(c, 1000, lost_reader_fn, &lr) > 0, "consume");
	CHECK_EQ(t, lr.read, -EINVAL);
	CHECK_EQ(t, lr.read_many, -EINVAL);
	CHECK_EQ(t, lr.read_batch, -EINVAL);
	CHECK_EQ(t, lr.commit, -EINVAL);
	CHECK_EQ(t, lr.consume, -EINVAL);
	CHECK_EQ(t, lr.s.lost_records, 1);
	CHECK_EQ(t, lr.s.records, 200 - dropped);
	CHECK_EQ(t, lr.s.bad, 0);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	hostring_destroy(&h);
}

/* One poller, three rings: every record of each reaches that ring's fn. */
static void t_poller(struct tap *t)
{
	struct seen s[3] = { { 0 } };
	struct hostring h[3];
	struct mpmcring *r[3] = { 0 };
	struct mpmcring_poller *p;
	int i, j, n, idx;

	p = mpmcring_poller_new(&MPMCRING_OPTS(mpmcring_poller_opts, .batch = 4));
	CHECK(t, p, "poller: %s", mpmcring_errmsg());
	if (!p)
		return;
	CHECK(t, mpmcring_poller_epoll_fd(p) >= 0, "epoll fd");
	/* Nothing added: a poll is a timeout, not an error. */
	CHECK_EQ(t, mpmcring_poller_poll(p, 0), 0);
	for (i = 0; i < 3; i++) {
		CHECK(t, !ring(&h[i], 4096), "init");
		r[i] = mpmcring__open_memory(h[i].cons, h[i].ro, &h[i].layout);
		idx = mpmcring_poller_add(p, r[i], seen_fn, &s[i], NULL);
		CHECK_EQ(t, idx, i);
		for (j = 0; j < 10 * (i + 1); j++)
			CHECK_EQ(t,
				 put(&h[i], 16, MPMCRING_PRIO_NORMAL, (unsigned char)(16 * i + j)),
				 0);
	}
	CHECK(t, mpmcring_poller_consumer(p, 2), "consumer 2");
	errno = 0;
	CHECK(t, !mpmcring_poller_consumer(p, 3), "consumer 3 of 3");
	CHECK_EQ(t, errno, EINVAL);
	CHECK_EQ(t, mpmcring_poller_add(p, NULL, seen_fn, NULL, NULL), -EINVAL);
	n = mpmcring_poller_poll(p, 100);
	CHECK_EQ(t, n, 60);
	for (i = 0; i < 3; i++) {
		CHECK_EQ(t, s[i].records, 10 * (i + 1));
		CHECK_EQ(t, s[i].bad, 0);
		for (j = 0; j < 10 * (i + 1); j++)
			CHECK_EQ(t, s[i].fill[j], (unsigned char)(16 * i + j));
	}
	CHECK_EQ(t, mpmcring_poller_consume(p), 0);
	/* A callback's negative value stops the poll and comes back. */
	s[1].stop_after = s[1].records + 2;
	for (j = 0; j < 5; j++)
		CHECK_EQ(t, put(&h[1], 16, MPMCRING_PRIO_NORMAL, 0), 0);
	n = mpmcring_poller_consume(p);
	CHECK_EQ(t, n, -ECANCELED);
	CHECK_EQ(t, s[1].records, 22);
	n = mpmcring_poller_consume(p);
	CHECK_EQ(t, n, 3);
	mpmcring_poller_free(p);
	for (i = 0; i < 3; i++) {
		mpmcring_close(r[i]);
		hostring_destroy(&h[i]);
	}
}

/* A monitor sees every record, takes none, and is told when it fell behind. */
static void t_snoop(struct tap *t)
{
	struct mpmcring_record rec;
	struct hostring h;
	struct mpmcring *r;
	struct mpmcring_consumer *c;
	unsigned char buf[256];
	uint64_t pos, seen = 0;
	int i, ret, stale = 0;

	CHECK(t, !ring(&h, 4096), "init");
	r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	c = r ? mpmcring_consumer_new(r) : NULL;
	CHECK(t, c, "consumer");
	if (!c)
		return;
	pos = mpmcring_snoop_start(r);
	CHECK_EQ(t, mpmcring_snoop(r, &pos, buf, sizeof(buf), &rec), -EAGAIN);
	for (i = 0; i < 5; i++)
		CHECK_EQ(t, put(&h, 40, MPMCRING_PRIO_NORMAL, (unsigned char)i), 0);
	for (i = 0; i < 5; i++) {
		CHECK_EQ(t, mpmcring_snoop(r, &pos, buf, sizeof(buf), &rec), 0);
		CHECK_EQ(t, rec.len, 40);
		CHECK_EQ(t, buf[0], i);
		CHECK(t, rec.data == buf, "data is the copy");
	}
	CHECK_EQ(t, mpmcring_snoop(r, &pos, buf, sizeof(buf), &rec), -EAGAIN);
	/* Nothing was taken: the consumer still gets all five. */
	for (i = 0; i < 5; i++) {
		CHECK_EQ(t, mpmcring_read(c, &rec), 0);
		CHECK_EQ(t, *(const unsigned char *)rec.data, i);
	}
	mpmcring_commit(c);
	/* Too big for the buffer: said, and skipped. */
	CHECK_EQ(t, put(&h, 100, MPMCRING_PRIO_NORMAL, 7), 0);
	CHECK_EQ(t, mpmcring_snoop(r, &pos, buf, 50, &rec), -EMSGSIZE);
	CHECK_EQ(t, rec.len, 100);
	CHECK_EQ(t, mpmcring_snoop(r, &pos, buf, 50, &rec), -EAGAIN);
	/* Lapped: many rings' worth consumed while the monitor slept. */
	for (i = 0; i < 400; i++) {
		CHECK_EQ(t, put(&h, 40, MPMCRING_PRIO_NORMAL, (unsigned char)i), 0);
		CHECK_EQ(t, mpmcring_read(c, &rec), 0);
		mpmcring_commit(c);
	}
	while ((ret = mpmcring_snoop(r, &pos, buf, sizeof(buf), &rec)) != -EAGAIN) {
		if (ret == -ESTALE)
			stale++;
		else if (ret == 0)
			seen++;
		else
			CHECK(t, 0, "snoop: %d", ret);
		if (stale > 1 || seen > 400)
			break;
	}
	CHECK_EQ(t, stale, 1);
	CHECK(t, seen < 400, "saw %llu records of a lapped ring", (unsigned long long)seen);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	hostring_destroy(&h);
}

/*
 * A newer caller's options struct: this library's, plus a 4-byte knob.
 * Where this library's struct ended in padding, the knob lands inside its
 * sizeof, sz does not grow, and only an explicit zero-checked field there
 * lets this library refuse it instead of ignoring it.
 */
struct newer_consumer_opts {
	size_t sz;
	unsigned int flags;
	unsigned int new_knob;
};
struct newer_poller_opts {
	size_t sz;
	unsigned int batch;
	unsigned int new_knob;
};
struct newer_open_opts {
	size_t sz;
	unsigned int flags;
	unsigned int new_knob;
	uint64_t watermark;
};

#define OFFSETOF_END(type, f) (offsetof(type, f) + sizeof(((type *)0)->f))

static void t_opts_no_hidden_padding(struct tap *t)
{
	struct newer_consumer_opts co = { .sz = sizeof(co), .new_knob = 7 };
	struct newer_poller_opts po = { .sz = sizeof(po), .new_knob = 7 };
	struct newer_open_opts oo = { .sz = sizeof(oo), .new_knob = 7 };
	struct mpmcring_poller *p;
	struct hostring h;
	struct mpmcring *r;

	/* No padding anywhere in them: every byte is a field the library checks. */
	CHECK_EQ(t, sizeof(struct mpmcring_consumer_opts),
		 OFFSETOF_END(struct mpmcring_consumer_opts, reserved));
	CHECK_EQ(t, sizeof(struct mpmcring_poller_opts),
		 OFFSETOF_END(struct mpmcring_poller_opts, reserved));
	CHECK_EQ(t, sizeof(struct mpmcring_open_opts),
		 OFFSETOF_END(struct mpmcring_open_opts, watermark));
	CHECK_EQ(t, offsetof(struct mpmcring_open_opts, watermark),
		 OFFSETOF_END(struct mpmcring_open_opts, reserved));
	CHECK_EQ(t, sizeof(co), sizeof(struct mpmcring_consumer_opts));
	CHECK_EQ(t, sizeof(po), sizeof(struct mpmcring_poller_opts));

	CHECK(t, !ring(&h, 4096), "init");
	r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	CHECK(t, r, "open");
	if (!r)
		return;
	errno = 0;
	CHECK(t, !mpmcring_consumer_new_opts(r, (const struct mpmcring_consumer_opts *)&co),
	      "consumer: a newer knob in the padding accepted (silently ignored)");
	CHECK_EQ(t, errno, EINVAL);
	errno = 0;
	p = mpmcring_poller_new((const struct mpmcring_poller_opts *)&po);
	CHECK(t, !p, "poller: a newer knob in the padding accepted (silently ignored)");
	CHECK_EQ(t, errno, EINVAL);
	if (p)
		mpmcring_poller_free(p);
	errno = 0;
	CHECK(t, !mpmcring_open_opts("/nonexistent/ring", (const struct mpmcring_open_opts *)&oo),
	      "open: a newer knob in the padding accepted");
	CHECK_EQ(t, errno, EINVAL);
	/* Zero there is what every caller of this version sends: accepted. */
	co.new_knob = 0;
	mpmcring_consumer_free(
		mpmcring_consumer_new_opts(r, (const struct mpmcring_consumer_opts *)&co));
	po.new_knob = 0;
	p = mpmcring_poller_new((const struct mpmcring_poller_opts *)&po);
	CHECK(t, p, "poller with zero padding: %s", mpmcring_errmsg());
	if (p)
		mpmcring_poller_free(p);
	mpmcring_close(r);
	hostring_destroy(&h);
}

/*
 * The structs the caller allocates and the library fills can grow without
 * writing past an older caller's: lost carries sz (refused when unset, never
 * written past, nothing taken on refusal); records and batches have room
 * the library writes 0.
 */
static void t_filled_structs_grow(struct tap *t)
{
	struct {
		struct mpmcring_lost l;
		uint64_t later_field; /* a newer caller's field */
	} big = { .l = MPMCRING_OPTS(mpmcring_lost), .later_field = 0x5a5a };
	struct mpmcring_lost unset = { 0 };
	struct mpmcring_record rec, many[4];
	struct mpmcring_batch b;
	struct hostring h;
	struct mpmcring *r;
	struct mpmcring_consumer *c;
	unsigned int i, j, k;
	int n;

	CHECK(t, !ring(&h, 4096), "init");
	r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	c = r ? mpmcring_consumer_new(r) : NULL;
	CHECK(t, c, "consumer");
	if (!c)
		return;
	for (i = 0; i < 100; i++)
		put(&h, 100, MPMCRING_PRIO_CRITICAL, 1);
	CHECK_EQ(t, mpmcring_take_lost(c, &unset), -EINVAL);
	CHECK(t, strstr(mpmcring_errmsg(), "MPMCRING_OPTS(mpmcring_lost)"), "message: %s",
	      mpmcring_errmsg());
	CHECK_EQ(t, unset.dropped, 0);
	/* Nothing was taken by the refused call. */
	big.l.sz = sizeof(big);
	CHECK_EQ(t, mpmcring_take_lost(c, &big.l), 0);
	CHECK(t, big.l.dropped > 0, "the losses were taken by the refused call");
	CHECK_EQ(t, big.l.sz, sizeof(big));
	CHECK_EQ(t, big.later_field, 0x5a5a);

	memset(&rec, 0xff, sizeof(rec));
	CHECK_EQ(t, mpmcring_read(c, &rec), 0);
	CHECK_EQ(t, rec.reserved, 0);
	for (i = 0; i < sizeof(rec.reserved2) / sizeof(rec.reserved2[0]); i++)
		CHECK_EQ(t, rec.reserved2[i], 0);
	CHECK_EQ(t, mpmcring_commit(c), 0);
	memset(&b, 0xff, sizeof(b));
	CHECK(t, mpmcring_read_batch(c, &b, 4, SIZE_MAX) > 0, "batch");
	CHECK_EQ(t, b.reserved, 0);
	CHECK_EQ(t, b.reserved2[0] | b.reserved2[1], 0);
	CHECK_EQ(t, mpmcring_commit(c), 0);
	/* mpmcring_read_many(): holding nothing (one record, then several),
	 * then holding (the whole way). */
	for (k = 0; k < 3; k++) {
		memset(many, 0xff, sizeof(many));
		n = mpmcring_read_many(c, many, k ? 4 : 1, SIZE_MAX);
		CHECK(t, n > 0, "read_many %u: %d", k, n);
		for (j = 0; j < (unsigned int)(n > 0 ? n : 0); j++) {
			CHECK_EQ(t, many[j].reserved, 0);
			for (i = 0; i < sizeof(rec.reserved2) / sizeof(rec.reserved2[0]); i++)
				CHECK_EQ(t, many[j].reserved2[i], 0);
		}
		if (k != 1)
			CHECK_EQ(t, mpmcring_commit(c), 0);
	}
	/* The room is there: no field ends where the struct ends. */
	CHECK_EQ(t, sizeof(rec), offsetof(struct mpmcring_record, reserved2) + 24);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	hostring_destroy(&h);
}

/*
 * Once every ring of a poller is destroyed and drained, polling must say so
 * (-EPIPE), as mpmcring_wait() does, not sleep on an empty epoll set. A
 * pipe whose writer is closed stands in for the destroyed device: EPOLLHUP
 * without EPOLLIN.
 */
static void t_poller_all_rings_gone(struct tap *t)
{
	struct seen s = { 0 };
	struct hostring h;
	struct mpmcring *r;
	struct mpmcring_poller *p;
	int fds[2], n;

	CHECK(t, !ring(&h, 4096), "init");
	CHECK_EQ(t, pipe(fds), 0);
	r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	p = mpmcring_poller_new(NULL);
	CHECK(t, r && p, "ring and poller");
	if (!r || !p)
		return;
	/* Attached as a memory ring, then registered as the device would be. */
	CHECK_EQ(t, mpmcring_poller_add(p, r, seen_fn, &s, NULL), 0);
	CHECK_EQ(t, mpmcring_poller_ring_gone(p, 0), 0);
	CHECK_EQ(t, mpmcring_poller_ring_gone(p, 1), -EINVAL);
	r->fd = fds[0]; /* mpmcring_close() closes it */
	CHECK_EQ(t,
		 epoll_ctl(mpmcring_poller_epoll_fd(p), EPOLL_CTL_ADD, fds[0],
			   &(struct epoll_event){ .events = EPOLLIN, .data.u32 = 0 }),
		 0);
	CHECK_EQ(t, put(&h, 16, MPMCRING_PRIO_NORMAL, 7), 0);
	close(fds[1]);
	/* The last records still come; then the ring is gone. */
	n = mpmcring_poller_poll(p, 1000);
	CHECK_EQ(t, n, 1);
	CHECK_EQ(t, s.records, 1);
	n = mpmcring_poller_poll(p, 200);
	if (n == 0) /* the drain and the hangup may come in two polls */
		n = mpmcring_poller_poll(p, 200);
	CHECK_EQ(t, n, -EPIPE);
	CHECK_EQ(t, errno, EPIPE);
	CHECK(t, strstr(mpmcring_errmsg(), "destroyed"), "message: %s", mpmcring_errmsg());
	CHECK_EQ(t, mpmcring_poller_ring_gone(p, 0), 1);
	CHECK_EQ(t, mpmcring_poller_poll(p, -1), -EPIPE);
	CHECK_EQ(t, mpmcring_poller_consume(p), -EPIPE);
	mpmcring_poller_free(p);
	mpmcring_close(r);
	hostring_destroy(&h);
}

/*
 * The libbpf-style loop: the program waits on mpmcring_poller_epoll_fd() in
 * its own epoll set and calls only mpmcring_poller_consume(), never
 * mpmcring_poller_poll(). A destroyed, drained ring keeps that descriptor
 * readable (EPOLLHUP, level-triggered), so consume itself must notice the
 * end and end with -EPIPE, or the program spins forever. The destroy of a
 * module of ABI 1.3 sets the meta page's state word, then hangs up; an
 * older one (old_abi: the ring says ABI 1.2) only hangs up, and consume
 * must still hear it from its epoll set.
 */
static void poller_consume_sees_rings_gone(struct tap *t, bool old_abi)
{
	struct seen s = { 0 };
	struct mpmcring_layout l;
	struct hostring h;
	struct mpmcring *r;
	struct mpmcring_poller *p;
	struct epoll_event ev;
	int fds[2], outer, n = 0, calls, records = 0;

	CHECK(t, !ring(&h, 4096), "init");
	CHECK_EQ(t, pipe(fds), 0);
	l = h.layout;
	if (old_abi)
		l.abi_minor = 2;
	r = mpmcring__open_memory(h.cons, h.ro, &l);
	p = mpmcring_poller_new(NULL);
	outer = epoll_create1(EPOLL_CLOEXEC);
	CHECK(t, r && p && outer >= 0, "ring, poller and outer epoll");
	if (!r || !p || outer < 0)
		return;
	CHECK_EQ(t, mpmcring_poller_add(p, r, seen_fn, &s, NULL), 0);
	r->fd = fds[0]; /* as in t_poller_all_rings_gone; mpmcring_close() closes it */
	CHECK_EQ(t,
		 epoll_ctl(mpmcring_poller_epoll_fd(p), EPOLL_CTL_ADD, fds[0],
			   &(struct epoll_event){ .events = EPOLLIN, .data.u32 = 0 }),
		 0);
	CHECK_EQ(t,
		 epoll_ctl(outer, EPOLL_CTL_ADD, mpmcring_poller_epoll_fd(p),
			   &(struct epoll_event){ .events = EPOLLIN }),
		 0);
	CHECK_EQ(t, put(&h, 16, MPMCRING_PRIO_NORMAL, 7), 0);
	if (!old_abi)
		hostring_end(&h);
	close(fds[1]);
	/* Each wakeup of the program's loop: one consume. Bounded. */
	for (calls = 0; calls < 8; calls++) {
		if (epoll_wait(outer, &ev, 1, 1000) != 1)
			break; /* not readable: the loop would sleep forever */
		n = mpmcring_poller_consume(p);
		if (n < 0)
			break;
		records += n;
	}
	CHECK_EQ(t, n, -EPIPE);
	CHECK(t, calls < 8, "consume never said -EPIPE in %d wakeups", calls);
	CHECK_EQ(t, records, 1);
	CHECK_EQ(t, s.records, 1);
	CHECK_EQ(t, mpmcring_poller_ring_gone(p, 0), 1);
	CHECK(t, strstr(mpmcring_errmsg(), "destroyed"), "message: %s", mpmcring_errmsg());
	/* Out of the set: the program's descriptor no longer wakes it. */
	CHECK_EQ(t, epoll_wait(outer, &ev, 1, 0), 0);
	CHECK_EQ(t, mpmcring_poller_consume(p), -EPIPE);
	CHECK_EQ(t, mpmcring_poller_poll(p, -1), -EPIPE);
	close(outer);
	mpmcring_poller_free(p);
	mpmcring_close(r);
	hostring_destroy(&h);
}

static void t_poller_consume_sees_rings_gone(struct tap *t)
{
	poller_consume_sees_rings_gone(t, false);
}

static void t_poller_consume_sees_rings_gone_abi_1_2(struct tap *t)
{
	poller_consume_sees_rings_gone(t, true);
}

/*
 * Why the child of idle_consume_without_syscalls() could not install its
 * filter (its result 99): the call that failed and its errno.
 */
static char seccomp_why[256];

/*
 * Runs calls idle mpmcring_poller_consume() calls in a child process that a
 * seccomp filter kills (SIGSYS) at its first system call, exit_group
 * aside: deterministic, no timing, and it catches every system call, not
 * only the ones a hook would count. Returns 0 when every call returned 0
 * without a system call; IDLE_SIGNAL + the signal that ended the child;
 * 100 + the index of a call that returned something else (at most 200);
 * 99 when the filter could not be installed (seccomp_why says which call
 * failed, and how); -1 with errno when this process's pipe, fork or
 * waitpid failed.
 */
#define IDLE_SIGNAL 1000

static int idle_consume_without_syscalls(struct mpmcring_poller *p, int calls)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit_group, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	int i, st, why[2];
	ssize_t n;
	pid_t pid;

	seccomp_why[0] = 0;
	if (pipe(why))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		int err = errno;

		close(why[0]);
		close(why[1]);
		errno = err;
		return -1;
	}
	if (!pid) {
		const char *call = "prctl(PR_SET_NO_NEW_PRIVS)";

		close(why[0]);
		if (!prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
			call = "seccomp(SECCOMP_SET_MODE_FILTER)";
			if (!syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
				call = NULL;
		}
		if (call) {
			dprintf(why[1], "%s: %s", call, strerror(errno));
			syscall(SYS_exit_group, 99);
		}
		for (i = 0; i < calls; i++)
			if (mpmcring_poller_consume(p) != 0)
				syscall(SYS_exit_group, 100 + (i < 100 ? i : 100));
		syscall(SYS_exit_group, 0);
	}
	close(why[1]);
	n = read(why[0], seccomp_why, sizeof(seccomp_why) - 1);
	seccomp_why[n > 0 ? n : 0] = 0;
	close(why[0]);
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFSIGNALED(st) ? IDLE_SIGNAL + WTERMSIG(st) : WEXITSTATUS(st);
}

/*
 * What a result of idle_consume_without_syscalls() means, for the failure
 * message.
 *
 * No filter (99) fails the test, on purpose, where the VM twin
 * (tests/vm/lifetime.c) skips: the guest's skip is allowed only on the
 * tinyconfig test kernels, by name in tests/inventory.txt, and the
 * inventory fails it on the stock kernels, so no run takes it silently.
 * The host's cases are listed by name too, but tap.h has no skip: a skip
 * here would be an "ok" line that make check, and CI, pass without the
 * check ever running. And
 * this is the host's only proof that an idle mpmcring_poller_consume()
 * makes no system call (issue 18). Debian's kernels have seccomp filters;
 * what takes them away is a sandbox (a container whose runtime forbids
 * seccomp(2) or no_new_privs, or a kernel built without
 * CONFIG_SECCOMP_FILTER): run the host tests outside it.
 */
static const char *idle_result(int ret)
{
	static char msg[sizeof(seccomp_why) + 512];
	static bool explained;

	if (ret == -1) {
		snprintf(msg, sizeof(msg), "the test's own pipe, fork or waitpid failed: %s",
			 strerror(errno));
		return msg;
	}
	if (ret == IDLE_SIGNAL + SIGSYS)
		return "killed at a system call";
	if (ret > IDLE_SIGNAL) {
		snprintf(msg, sizeof(msg), "the child was killed by signal %d", ret - IDLE_SIGNAL);
		return msg;
	}
	if (ret >= 100)
		return "a call did not return 0";
	if (ret != 99) {
		snprintf(msg, sizeof(msg), "the child exited with status %d", ret);
		return msg;
	}
	/* The whole explanation once per binary: run.sh shows a log's tail. */
	snprintf(msg, sizeof(msg), "no seccomp filter, so nothing could be checked: %s%s",
		 seccomp_why[0] ? seccomp_why : "the child said nothing",
		 explained ? " (see the first such failure)"
			   : ". This test fails rather than skips (see idle_result() in "
			     "tests/host/api_test.c): run the host tests where seccomp(2) filters "
			     "work (a kernel with CONFIG_SECCOMP_FILTER, outside a container or "
			     "sandbox that forbids seccomp(2) or no_new_privs)");
	explained = true;
	return msg;
}

/* A memory ring that poses as a device: a pipe in the epoll set (its
 * writer stays open: it never hangs up until the test closes fds[1]). */
static struct mpmcring *ring_with_pipe(struct tap *t, struct hostring *h,
				       const struct mpmcring_layout *l, struct mpmcring_poller *p,
				       struct seen *s, int fds[2])
{
	struct mpmcring *r;
	int idx;

	fds[0] = fds[1] = -1;
	if (pipe(fds)) {
		CHECK(t, 0, "pipe: %s", strerror(errno));
		fds[0] = fds[1] = -1;
		return NULL;
	}
	r = mpmcring__open_memory(h->cons, h->ro, l);
	CHECK(t, r, "ring");
	if (!r) {
		close(fds[0]);
		close(fds[1]);
		fds[0] = fds[1] = -1;
		return NULL;
	}
	idx = mpmcring_poller_add(p, r, seen_fn, s, NULL);
	CHECK(t, idx >= 0, "poller_add: %d", idx);
	if (idx < 0) {
		mpmcring_close(r);
		close(fds[0]);
		close(fds[1]);
		fds[0] = fds[1] = -1;
		return NULL;
	}
	r->fd = fds[0]; /* as in t_poller_all_rings_gone; mpmcring_close() closes it */
	CHECK_EQ(t,
		 epoll_ctl(mpmcring_poller_epoll_fd(p), EPOLL_CTL_ADD, fds[0],
			   &(struct epoll_event){ .events = EPOLLIN, .data.u32 = (uint32_t)idx }),
		 0);
	return r;
}

/* Two rings, or none (review N3: the second is not used uninitialised). */
static bool two_rings(struct tap *t, struct hostring *a, struct hostring *b)
{
	if (ring(a, 4096)) {
		CHECK(t, 0, "init of the first ring");
		return false;
	}
	if (ring(b, 4096)) {
		CHECK(t, 0, "init of the second ring");
		hostring_destroy(a);
		return false;
	}
	return true;
}

/* What the poller tests below made, freed on every path. */
static void poller_test_free(struct mpmcring_poller *p, struct mpmcring_poller *p2,
			     struct mpmcring *r, struct mpmcring *r2, int fd, int fd2,
			     struct hostring *h, struct hostring *h2)
{
	if (p)
		mpmcring_poller_free(p);
	if (p2)
		mpmcring_poller_free(p2);
	if (r)
		mpmcring_close(r); /* and its pipe's read end */
	if (r2)
		mpmcring_close(r2);
	if (fd >= 0)
		close(fd);
	if (fd2 >= 0)
		close(fd2);
	hostring_destroy(h);
	hostring_destroy(h2);
}

/*
 * Issue 18: an idle mpmcring_poller_consume() made one epoll_wait(2) per
 * call, only to tell a destroyed ring from an idle one. With a ring of
 * ABI 1.3 the meta page's state word tells it ([D6]): an idle call makes
 * no system call at all. A ring of ABI 1.2 (the word is not kept) still
 * asks epoll: the child is killed there, which also shows the filter
 * catches the call.
 */
static void t_poller_idle_consume_no_syscall(struct tap *t)
{
	struct seen s = { 0 }, s_old = { 0 };
	struct mpmcring_layout old;
	struct hostring h, h_old;
	struct mpmcring *r = NULL, *r_old = NULL;
	struct mpmcring_poller *p, *p_old;
	int fds[2] = { -1, -1 }, fds_old[2] = { -1, -1 }, ret;

	if (!two_rings(t, &h, &h_old))
		return;
	p = mpmcring_poller_new(NULL);
	p_old = mpmcring_poller_new(NULL);
	CHECK(t, p && p_old, "pollers");
	if (!p || !p_old)
		goto out;
	CHECK_EQ(t, h.layout.abi_minor >= MPMCRING_ABI_MINOR_STATE, 1);
	r = ring_with_pipe(t, &h, &h.layout, p, &s, fds);
	old = h_old.layout;
	old.abi_minor = 2; /* a module of ABI 1.2: no state word */
	r_old = ring_with_pipe(t, &h_old, &old, p_old, &s_old, fds_old);
	if (!r || !r_old)
		goto out;
	CHECK_EQ(t, put(&h, 16, MPMCRING_PRIO_NORMAL, 1), 0);
	CHECK_EQ(t, mpmcring_poller_consume(p), 1);
	CHECK_EQ(t, mpmcring_poller_consume(p), 0);
	ret = idle_consume_without_syscalls(p, 1000);
	CHECK(t, ret == 0, "idle consume of an ABI 1.3 ring: %d (%s)", ret, idle_result(ret));
	ret = idle_consume_without_syscalls(p_old, 1);
	CHECK(t, ret == IDLE_SIGNAL + SIGSYS,
	      "idle consume of an ABI 1.2 ring: %d, not SIGSYS (it must ask epoll): %s", ret,
	      ret ? idle_result(ret) : "no system call");
	/* Still idle, still there. */
	CHECK_EQ(t, mpmcring_poller_consume(p), 0);
	CHECK_EQ(t, mpmcring_poller_ring_gone(p, 0), 0);
out:
	poller_test_free(p, p_old, r, r_old, fds[1], fds_old[1], &h, &h_old);
}

/*
 * Review N7: one poller holding a ring of ABI 1.2 (no state word: only its
 * file's hangup, EPOLLHUP, tells its end) and one of ABI 1.3 at once. While
 * the 1.2 ring is there, an idle consume must still ask epoll (the child
 * dies at the call); its word, even set, is not believed; its hangup ends
 * it and takes it out of the set while the 1.3 ring goes on. From then on
 * an idle consume makes no system call at all, and the 1.3 ring ends
 * through its word alone (its pipe never hangs up).
 */
static void t_poller_mixed_abi_ends(struct tap *t)
{
	struct seen s = { 0 }, s_old = { 0 };
	struct mpmcring_layout old;
	struct hostring h, h_old;
	struct mpmcring *r = NULL, *r_old = NULL;
	struct mpmcring_poller *p;
	int fds[2] = { -1, -1 }, fds_old[2] = { -1, -1 }, ret;

	if (!two_rings(t, &h, &h_old))
		return;
	p = mpmcring_poller_new(NULL);
	CHECK(t, p, "poller");
	if (!p)
		goto out;
	r = ring_with_pipe(t, &h, &h.layout, p, &s, fds); /* ring 0: ABI 1.3 */
	old = h_old.layout;
	old.abi_minor = 2; /* ring 1: a module of ABI 1.2, no state word */
	r_old = ring_with_pipe(t, &h_old, &old, p, &s_old, fds_old);
	if (!r || !r_old)
		goto out;
	CHECK_EQ(t, h.layout.abi_minor >= MPMCRING_ABI_MINOR_STATE, 1);
	CHECK_EQ(t, put(&h, 16, MPMCRING_PRIO_NORMAL, 1), 0);
	CHECK_EQ(t, put(&h_old, 16, MPMCRING_PRIO_NORMAL, 1), 0);
	CHECK_EQ(t, mpmcring_poller_consume(p), 2);
	CHECK_EQ(t, mpmcring_poller_consume(p), 0);
	ret = idle_consume_without_syscalls(p, 1);
	CHECK(t, ret == IDLE_SIGNAL + SIGSYS,
	      "idle consume with an ABI 1.2 ring: %d, not SIGSYS (it must ask epoll): %s", ret,
	      ret ? idle_result(ret) : "no system call");

	/* The 1.2 ring's word says DEAD: padding there, not believed. */
	CHECK_EQ(t, put(&h_old, 16, MPMCRING_PRIO_NORMAL, 2), 0);
	hostring_end(&h_old);
	CHECK_EQ(t, mpmcring_poller_consume(p), 1);
	CHECK_EQ(t, mpmcring_poller_consume(p), 0);
	CHECK_EQ(t, mpmcring_poller_ring_gone(p, 1), 0);
	/* Its hangup is: gone and out of the set, the 1.3 ring still there. */
	close(fds_old[1]);
	fds_old[1] = -1;
	CHECK_EQ(t, mpmcring_poller_consume(p), 0);
	CHECK_EQ(t, mpmcring_poller_ring_gone(p, 1), 1);
	CHECK_EQ(t, mpmcring_poller_ring_gone(p, 0), 0);
	ret = epoll_ctl(mpmcring_poller_epoll_fd(p), EPOLL_CTL_DEL, fds_old[0], NULL);
	CHECK(t, ret == -1 && errno == ENOENT, "the 1.2 ring is still in the epoll set: %d %d", ret,
	      errno);

	/* Only the 1.3 ring is left: an idle consume makes no system call. */
	ret = idle_consume_without_syscalls(p, 1000);
	CHECK(t, ret == 0, "idle consume once the ABI 1.2 ring is gone: %d (%s)", ret,
	      idle_result(ret));

	/* Its end through the word alone: its pipe never hangs up. */
	CHECK_EQ(t, put(&h, 16, MPMCRING_PRIO_NORMAL, 2), 0);
	hostring_end(&h);
	CHECK_EQ(t, mpmcring_poller_consume(p), 1);
	CHECK_EQ(t, mpmcring_poller_consume(p), -EPIPE);
	CHECK_EQ(t, mpmcring_poller_ring_gone(p, 0), 1);
	CHECK_EQ(t, s.records, 2);
	CHECK_EQ(t, s_old.records, 2);
	CHECK_EQ(t, s.bad + s_old.bad, 0);
out:
	poller_test_free(p, NULL, r, r_old, fds[1], fds_old[1], &h, &h_old);
}

/*
 * helper-241: the cap of records per ring per call held only between
 * consumes: a batch above it delivered a whole batch (here 16 with the
 * cap at 4; 65536 stands in for it). One consume never takes more than
 * the cap leaves.
 */
static void t_poller_cap_holds_within_a_batch(struct tap *t)
{
	unsigned int saved = mpr_lib_poll_ring_max;
	struct seen s = { 0 };
	struct mpmcring_poller *p;
	struct hostring h;
	struct mpmcring *r;
	int i;

	CHECK(t, !ring(&h, 4096), "init");
	r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	p = mpmcring_poller_new(&MPMCRING_OPTS(mpmcring_poller_opts, .batch = 16));
	CHECK(t, r && p, "ring and poller");
	if (!r || !p)
		return;
	CHECK_EQ(t, mpmcring_poller_add(p, r, seen_fn, &s, NULL), 0);
	for (i = 0; i < 20; i++)
		CHECK_EQ(t, put(&h, 16, MPMCRING_PRIO_NORMAL, (unsigned char)i), 0);
	mpr_lib_poll_ring_max = 4;
	CHECK_EQ(t, mpmcring_poller_consume(p), 4);
	CHECK_EQ(t, mpmcring_poller_poll(p, 0), 4);
	mpr_lib_poll_ring_max = saved;
	CHECK_EQ(t, s.records, 8);
	CHECK_EQ(t, mpmcring_poller_consume(p), 12);
	CHECK_EQ(t, s.bad, 0);
	mpmcring_poller_free(p);
	mpmcring_close(r);
	hostring_destroy(&h);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/*
 * helper-241: a poller with no ring returned 0 at once, whatever the
 * timeout, so a loop around mpmcring_poller_poll(p, -1) spun. It waits
 * now, as over idle rings: here until a signal (EINTR), without
 * SA_RESTART. Before: 0.
 */
static void t_poller_without_rings_waits(struct tap *t)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	/* Every 30 ms: one that fires before the wait begins is not the last. */
	struct itimerval it = { .it_value = { .tv_usec = 30000 },
				.it_interval = { .tv_usec = 30000 } };
	const struct itimerval off = { 0 };
	struct mpmcring_poller *p = mpmcring_poller_new(NULL);

	CHECK(t, p, "poller");
	if (!p)
		return;
	CHECK_EQ(t, sigaction(SIGALRM, &sa, &old), 0);
	CHECK_EQ(t, setitimer(ITIMER_REAL, &it, NULL), 0);
	CHECK_EQ(t, mpmcring_poller_poll(p, -1), -EINTR);
	CHECK_EQ(t, errno, EINTR);
	/* The timer off before the default action is back. */
	CHECK_EQ(t, setitimer(ITIMER_REAL, &off, NULL), 0);
	CHECK_EQ(t, mpmcring_poller_poll(p, 0), 0);
	CHECK_EQ(t, sigaction(SIGALRM, &old, NULL), 0);
	mpmcring_poller_free(p);
}

/*
 * helper-241: mpmcring_poller_remove() took the ring's losses, then
 * failed to take the ring out of the epoll set: the caller, told that
 * nothing happened, dropped them, and nobody got them again. A refused
 * remove now takes nothing: the consumer still has the loss. Before: 0.
 */
static void t_poller_refused_remove_keeps_the_losses(struct tap *t)
{
	struct mpmcring_lost lost = MPMCRING_OPTS(mpmcring_lost);
	struct seen s = { 0 };
	struct mpmcring_poller *p;
	struct hostring h;
	struct mpmcring *r;
	int fds[2];

	CHECK(t, !ring(&h, 4096), "init");
	p = mpmcring_poller_new(NULL);
	CHECK(t, p, "poller");
	if (!p)
		return;
	r = ring_with_pipe(t, &h, &h.layout, p, &s, fds);
	if (!r)
		return;
	h.v.meta->lost_dropped = 1;
	/* Closed before the remove: EPOLL_CTL_DEL fails (EBADF). */
	close(fds[0]);
	CHECK_EQ(t, mpmcring_poller_remove(p, 0, &lost), -EBADF);
	CHECK_EQ(t, lost.dropped, 0);
	lost.dropped = 0;
	CHECK_EQ(t, mpmcring_take_lost(mpmcring_poller_consumer(p, 0), &lost), 0);
	CHECK_EQ(t, lost.dropped, 1);
	/* A size the library does not take: refused, nothing removed. */
	lost.sz = 8;
	CHECK_EQ(t, mpmcring_poller_remove(p, 0, &lost), -EINVAL);
	CHECK_EQ(t, mpmcring_poller_ring_gone(p, 0), 0);
	r->fd = -1; /* closed above */
	mpmcring_poller_free(p);
	mpmcring_close(r);
	close(fds[1]);
	hostring_destroy(&h);
}

/*
 * review-dead18 S1: mpmcring_poller_poll() gave a destroyed ring a pass
 * after reading its state word, and then another for the ring's epoll
 * event (a dead ring with records is readable): twice the cap of records
 * per ring per call. One pass per ring per call.
 */
static void t_poller_poll_dead_ring_keeps_the_cap(struct tap *t)
{
	unsigned int saved = mpr_lib_poll_ring_max;
	struct seen s = { 0 };
	struct mpmcring_poller *p;
	struct hostring h;
	struct mpmcring *r;
	int fds[2], i;

	CHECK(t, !ring(&h, 4096), "init");
	p = mpmcring_poller_new(&MPMCRING_OPTS(mpmcring_poller_opts, .batch = 1));
	CHECK(t, p, "poller");
	if (!p)
		return;
	r = ring_with_pipe(t, &h, &h.layout, p, &s, fds);
	if (!r)
		return;
	for (i = 0; i < 20; i++)
		CHECK_EQ(t, put(&h, 16, MPMCRING_PRIO_NORMAL, (unsigned char)i), 0);
	hostring_end(&h);
	/* The device says EPOLLIN, as for a dead ring that holds records. */
	CHECK_EQ(t, write(fds[1], "x", 1), 1);
	mpr_lib_poll_ring_max = 4;
	CHECK_EQ(t, mpmcring_poller_poll(p, 0), 4);
	CHECK_EQ(t, mpmcring_poller_consume(p), 4);
	mpr_lib_poll_ring_max = saved;
	CHECK_EQ(t, s.records, 8);
	mpmcring_poller_free(p);
	mpmcring_close(r);
	close(fds[1]);
	hostring_destroy(&h);
}

/*
 * The end through the meta page alone: the pipe that poses as the device
 * never hangs up, so only the state word can tell the poller. Records
 * committed before the end and after the poller went idle all come, then
 * -EPIPE, the ring is out of the epoll set, and mpmcring_poller_poll()
 * says -EPIPE too instead of sleeping. A ring of ABI 1.2 whose word reads
 * DEAD is not believed (an older module never writes it; the word is
 * padding there): it ends at its hangup.
 */
static void t_poller_consume_sees_state_dead(struct tap *t)
{
	struct seen s = { 0 }, s_old = { 0 };
	struct mpmcring_layout old;
	struct hostring h, h_old;
	struct mpmcring *r, *r_old;
	struct mpmcring_poller *p, *p_old;
	int fds[2], fds_old[2], i, n = 0, records = 0;

	CHECK(t, !ring(&h, 4096) && !ring(&h_old, 4096), "init");
	p = mpmcring_poller_new(&MPMCRING_OPTS(mpmcring_poller_opts, .batch = 2));
	p_old = mpmcring_poller_new(NULL);
	CHECK(t, p && p_old, "pollers");
	if (!p || !p_old)
		return;
	r = ring_with_pipe(t, &h, &h.layout, p, &s, fds);
	old = h_old.layout;
	old.abi_minor = 2;
	r_old = ring_with_pipe(t, &h_old, &old, p_old, &s_old, fds_old);
	if (!r || !r_old)
		return;
	for (i = 0; i < 5; i++)
		CHECK_EQ(t, put(&h, 16, MPMCRING_PRIO_NORMAL, (unsigned char)i), 0);
	CHECK_EQ(t, mpmcring_poller_consume(p), 5);
	CHECK_EQ(t, mpmcring_poller_consume(p), 0);
	/* Idle; then records, then the end, before the next call. */
	for (i = 5; i < 8; i++)
		CHECK_EQ(t, put(&h, 16, MPMCRING_PRIO_NORMAL, (unsigned char)i), 0);
	hostring_end(&h);
	for (i = 0; i < 8; i++) {
		n = mpmcring_poller_consume(p);
		if (n < 0)
			break;
		records += n;
	}
	CHECK_EQ(t, n, -EPIPE);
	CHECK_EQ(t, errno, EPIPE);
	CHECK(t, strstr(mpmcring_errmsg(), "destroyed"), "message: %s", mpmcring_errmsg());
	CHECK_EQ(t, records, 3);
	CHECK_EQ(t, s.records, 8);
	CHECK_EQ(t, s.fill[7], 7);
	CHECK_EQ(t, s.bad, 0);
	CHECK_EQ(t, mpmcring_poller_ring_gone(p, 0), 1);
	/* The poller took it out of its epoll set. */
	i = epoll_ctl(mpmcring_poller_epoll_fd(p), EPOLL_CTL_DEL, fds[0], NULL);
	CHECK(t, i == -1 && errno == ENOENT, "still in the epoll set: %d %d", i, errno);
	if (n == -EPIPE) /* never sleep forever on a poller that did not see it */
		CHECK_EQ(t, mpmcring_poller_poll(p, -1), -EPIPE);
	CHECK_EQ(t, mpmcring_poller_consume(p), -EPIPE);

	/* ABI 1.2: the word is not believed; the hangup is. */
	CHECK_EQ(t, put(&h_old, 16, MPMCRING_PRIO_NORMAL, 1), 0);
	hostring_end(&h_old);
	CHECK_EQ(t, mpmcring_poller_consume(p_old), 1);
	CHECK_EQ(t, mpmcring_poller_consume(p_old), 0);
	CHECK_EQ(t, mpmcring_poller_ring_gone(p_old, 0), 0);
	close(fds_old[1]);
	CHECK_EQ(t, mpmcring_poller_consume(p_old), -EPIPE);
	CHECK_EQ(t, mpmcring_poller_ring_gone(p_old, 0), 1);
	CHECK_EQ(t, s_old.records, 1);
	close(fds[1]);
	mpmcring_poller_free(p);
	mpmcring_poller_free(p_old);
	mpmcring_close(r);
	mpmcring_close(r_old);
	hostring_destroy(&h);
	hostring_destroy(&h_old);
}

/*
 * Rings over plain memory (no file; consumed at every call) end through
 * the state word too: once every one is destroyed and drained, consume and
 * poll say -EPIPE; before, they never ended.
 */
static void t_poller_memory_ring_ends(struct tap *t)
{
	struct seen s = { 0 };
	struct hostring h;
	struct mpmcring *r;
	struct mpmcring_poller *p;

	CHECK(t, !ring(&h, 4096), "init");
	r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	p = mpmcring_poller_new(NULL);
	CHECK(t, r && p, "ring and poller");
	if (!r || !p)
		return;
	CHECK_EQ(t, mpmcring_poller_add(p, r, seen_fn, &s, NULL), 0);
	CHECK_EQ(t, put(&h, 16, MPMCRING_PRIO_NORMAL, 1), 0);
	CHECK_EQ(t, mpmcring_poller_consume(p), 1);
	CHECK_EQ(t, put(&h, 16, MPMCRING_PRIO_NORMAL, 2), 0);
	hostring_end(&h);
	CHECK_EQ(t, mpmcring_poller_poll(p, 0), 1);
	CHECK_EQ(t, mpmcring_poller_poll(p, 0), -EPIPE);
	CHECK_EQ(t, mpmcring_poller_consume(p), -EPIPE);
	CHECK_EQ(t, mpmcring_poller_ring_gone(p, 0), 1);
	CHECK_EQ(t, s.records, 2);
	mpmcring_poller_free(p);
	mpmcring_close(r);
	hostring_destroy(&h);
}

/*
 * A destroyed ring of an older module hangs up without EPOLLIN while it
 * holds less than its watermark, however many records that is (current
 * ones set EPOLLIN on a dead ring holding any record). A pass cut short by the cap on
 * records per ring must not take it out of the set: every record still
 * comes, and only then -EPIPE. The cap is lowered so that a few records
 * stand for more than 65536.
 */
static void t_poller_hangup_below_watermark_drains(struct tap *t)
{
	unsigned int saved = mpr_lib_poll_ring_max;
	struct seen s = { 0 };
	struct hostring h;
	struct mpmcring *r;
	struct mpmcring_poller *p;
	int fds[2], i, n = 0, calls, records = 0;

	CHECK(t, !ring(&h, 4096), "init");
	CHECK_EQ(t, pipe(fds), 0);
	r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	p = mpmcring_poller_new(&MPMCRING_OPTS(mpmcring_poller_opts, .batch = 4));
	CHECK(t, r && p, "ring and poller");
	if (!r || !p)
		return;
	CHECK_EQ(t, mpmcring_poller_add(p, r, seen_fn, &s, NULL), 0);
	r->fd = fds[0]; /* as in t_poller_all_rings_gone; mpmcring_close() closes it */
	CHECK_EQ(t,
		 epoll_ctl(mpmcring_poller_epoll_fd(p), EPOLL_CTL_ADD, fds[0],
			   &(struct epoll_event){ .events = EPOLLIN, .data.u32 = 0 }),
		 0);
	for (i = 0; i < 40; i++)
		CHECK_EQ(t, put(&h, 16, MPMCRING_PRIO_NORMAL, 7), 0);
	close(fds[1]); /* EPOLLHUP alone: dead, below the watermark */
	mpr_lib_poll_ring_max = 8;
	for (calls = 0; calls < 20; calls++) {
		n = mpmcring_poller_poll(p, 0);
		if (n < 0)
			break;
		records += n;
	}
	mpr_lib_poll_ring_max = saved;
	CHECK_EQ(t, n, -EPIPE);
	CHECK_EQ(t, records, 40);
	CHECK_EQ(t, s.records, 40);
	CHECK_EQ(t, mpmcring_avail_bytes(r), 0);
	CHECK_EQ(t, mpmcring_poller_ring_gone(p, 0), 1);
	mpmcring_poller_free(p);
	mpmcring_close(r);
	hostring_destroy(&h);
}

/*
 * A pass that gave up after -EBUSY (records there, the claims kept coming
 * back empty-handed) did not find the ring drained: a destroyed ring stays
 * in the set, and leaves only after a pass that found nothing. Consume
 * returns -EBUSY here for a run of discarded records longer than a claim's
 * retries walk; the poller's own retries are lowered to none so that one
 * such run is enough.
 */
static void t_poller_hangup_busy_stays(struct tap *t)
{
	unsigned int saved = mpr_lib_poll_busy_tries;
	struct seen s = { 0 };
	struct hostring h;
	struct mpmcring *r;
	struct mpmcring_poller *p;
	int fds[2], i, n = 0, calls, records = 0, discards = 0;
	uint64_t pos;

	CHECK(t, !ring(&h, 8U << 20), "init");
	CHECK_EQ(t, pipe(fds), 0);
	r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	p = mpmcring_poller_new(&MPMCRING_OPTS(mpmcring_poller_opts, .batch = 4));
	CHECK(t, r && p, "ring and poller");
	if (!r || !p)
		return;
	CHECK_EQ(t, mpmcring_poller_add(p, r, seen_fn, &s, NULL), 0);
	r->fd = fds[0]; /* as in t_poller_all_rings_gone; mpmcring_close() closes it */
	CHECK_EQ(t,
		 epoll_ctl(mpmcring_poller_epoll_fd(p), EPOLL_CTL_ADD, fds[0],
			   &(struct epoll_event){ .events = EPOLLIN, .data.u32 = 0 }),
		 0);
	/* More discarded records than one consume walks past (256 x 1024). */
	for (i = 0; i < 300000; i++) {
		if (hostring_reserve(&h, 0, 1, MPMCRING_PRIO_CRITICAL, &pos))
			break;
		hostring_discard(&h, 0, pos);
		discards++;
	}
	CHECK_EQ(t, discards, 300000);
	for (i = 0; i < 5; i++)
		CHECK_EQ(t, put(&h, 16, MPMCRING_PRIO_CRITICAL, 7), 0);
	close(fds[1]); /* EPOLLHUP: destroyed */
	mpr_lib_poll_busy_tries = 0;
	/* The first pass gets -EBUSY: nothing consumed, not drained. */
	CHECK_EQ(t, mpmcring_poller_poll(p, 0), 0);
	CHECK_EQ(t, mpmcring_poller_ring_gone(p, 0), 0);
	for (calls = 0; calls < 20; calls++) {
		n = mpmcring_poller_poll(p, 0);
		if (n < 0)
			break;
		records += n;
	}
	mpr_lib_poll_busy_tries = saved;
	CHECK_EQ(t, n, -EPIPE);
	CHECK_EQ(t, records, 5);
	CHECK_EQ(t, s.records, 5);
	CHECK_EQ(t, mpmcring_avail_bytes(r), 0);
	CHECK_EQ(t, mpmcring_poller_ring_gone(p, 0), 1);
	mpmcring_poller_free(p);
	mpmcring_close(r);
	hostring_destroy(&h);
}

/*
 * A control ring whose records announce rings, and a callback that adds
 * them to its own poller (review-18c S3-S2): enough adds to grow the
 * poller's arrays under the running pass, once from the memory-ring pass
 * and once from an epoll event. The added rings are consumed afterwards,
 * and poll, consume and the consumer's own calls from the callback are
 * refused.
 */
struct adder {
	struct mpmcring_poller *p;
	struct mpmcring *rings[6];
	struct seen s[6];
	unsigned int added;
	int add_err, poll_err, consume_err, remove_err;
};

static int adder_fn(void *ctx, const struct mpmcring_record *rec)
{
	struct adder *a = ctx;
	unsigned int k = a->added;
	int idx;

	(void)rec;
	a->poll_err = mpmcring_poller_poll(a->p, 0);
	a->consume_err = mpmcring_poller_consume(a->p);
	a->remove_err = mpmcring_poller_remove(a->p, 0, NULL);
	if (k >= 6)
		return -E2BIG;
	idx = mpmcring_poller_add(a->p, a->rings[k], seen_fn, &a->s[k], NULL);
	if (idx < 0) {
		a->add_err = idx;
		return idx;
	}
	a->added++;
	return 0;
}

static void poller_add_from_callback(struct tap *t, bool by_event)
{
	struct adder a = { 0 };
	struct hostring ctl, h[6];
	struct mpmcring *r;
	int fds[2] = { -1, -1 }, i, j, n, total = 0;

	CHECK(t, !ring(&ctl, 8192), "init");
	r = mpmcring__open_memory(ctl.cons, ctl.ro, &ctl.layout);
	a.p = mpmcring_poller_new(NULL);
	CHECK(t, r && a.p, "ring and poller");
	if (!r || !a.p)
		return;
	for (i = 0; i < 6; i++) {
		CHECK(t, !ring(&h[i], 4096), "init");
		a.rings[i] = mpmcring__open_memory(h[i].cons, h[i].ro, &h[i].layout);
		CHECK(t, a.rings[i], "ring %d", i);
		for (j = 0; j < 3; j++)
			CHECK_EQ(t, put(&h[i], 16, MPMCRING_PRIO_NORMAL, (unsigned char)(i + j)),
				 0);
	}
	CHECK_EQ(t, mpmcring_poller_add(a.p, r, adder_fn, &a, NULL), 0);
	if (by_event) {
		/* A readable pipe stands for the device file (as below). */
		CHECK_EQ(t, pipe(fds), 0);
		CHECK_EQ(t, write(fds[1], "x", 1), 1);
		r->fd = fds[0];
		CHECK_EQ(t,
			 epoll_ctl(mpmcring_poller_epoll_fd(a.p), EPOLL_CTL_ADD, fds[0],
				   &(struct epoll_event){ .events = EPOLLIN, .data.u32 = 0 }),
			 0);
	}
	for (i = 0; i < 6; i++)
		CHECK_EQ(t, put(&ctl, 16, MPMCRING_PRIO_CRITICAL, (unsigned char)i), 0);
	for (i = 0; i < 4; i++) {
		n = by_event ? mpmcring_poller_poll(a.p, 0) : mpmcring_poller_consume(a.p);
		CHECK(t, n >= 0, "pass %d: %d %s", i, n, mpmcring_errmsg());
		if (n > 0)
			total += n;
	}
	CHECK_EQ(t, a.added, 6);
	CHECK_EQ(t, a.add_err, 0);
	CHECK_EQ(t, a.poll_err, -EINVAL);
	CHECK_EQ(t, a.consume_err, -EINVAL);
	CHECK_EQ(t, a.remove_err, -EINVAL);
	CHECK_EQ(t, total, 6 + 6 * 3);
	for (i = 0; i < 6; i++) {
		CHECK_EQ(t, a.s[i].records, 3);
		CHECK_EQ(t, a.s[i].bad, 0);
		CHECK_EQ(t, a.s[i].fill[2], (unsigned char)(i + 2));
		CHECK(t, mpmcring_poller_consumer(a.p, (unsigned int)i + 1), "consumer %d", i + 1);
	}
	/* The refusals left the poller usable: a new record reaches ring 3. */
	CHECK_EQ(t, put(&h[3], 16, MPMCRING_PRIO_NORMAL, 0x55), 0);
	n = mpmcring_poller_consume(a.p);
	CHECK_EQ(t, n, 1);
	CHECK_EQ(t, a.s[3].records, 4);
	CHECK_EQ(t, a.s[3].fill[3], 0x55);
	mpmcring_poller_free(a.p);
	mpmcring_close(r); /* closes fds[0] */
	if (fds[1] >= 0)
		close(fds[1]);
	for (i = 0; i < 6; i++) {
		mpmcring_close(a.rings[i]);
		hostring_destroy(&h[i]);
	}
	hostring_destroy(&ctl);
}

static void t_poller_add_from_callback(struct tap *t)
{
	poller_add_from_callback(t, false);
	poller_add_from_callback(t, true);
}

/*
 * A ring whose consume keeps failing (here -EINVAL: the program took a
 * record from the poller's consumer with mpmcring_read()) must not starve
 * the others (review-18d D-S9): every ring is consumed, then the first
 * error comes back with its own message.
 */
static void t_poller_error_does_not_starve(struct tap *t)
{
	struct seen s[2] = { { 0 } };
	struct hostring h[2];
	struct mpmcring *r[2] = { 0 };
	struct mpmcring_record rec;
	struct mpmcring_poller *p;
	int i, j, n;

	p = mpmcring_poller_new(&MPMCRING_OPTS(mpmcring_poller_opts, .batch = 4));
	CHECK(t, p, "poller: %s", mpmcring_errmsg());
	if (!p)
		return;
	for (i = 0; i < 2; i++) {
		CHECK(t, !ring(&h[i], 4096), "init");
		r[i] = mpmcring__open_memory(h[i].cons, h[i].ro, &h[i].layout);
		CHECK_EQ(t, mpmcring_poller_add(p, r[i], seen_fn, &s[i], NULL), i);
		for (j = 0; j < 10; j++)
			CHECK_EQ(t, put(&h[i], 16, MPMCRING_PRIO_NORMAL, (unsigned char)j), 0);
	}
	CHECK_EQ(t, mpmcring_read(mpmcring_poller_consumer(p, 0), &rec), 0);
	for (i = 0; i < 3; i++) {
		errno = 0;
		n = mpmcring_poller_consume(p);
		CHECK_EQ(t, n, -EINVAL);
		CHECK_EQ(t, errno, EINVAL);
		CHECK(t,
		      strstr(mpmcring_errmsg(), "ring 0") &&
			      strstr(mpmcring_errmsg(), "mpmcring_commit() them first"),
		      "message: %s", mpmcring_errmsg());
	}
	CHECK_EQ(t, s[0].records, 0);
	CHECK_EQ(t, s[1].records, 10);
	CHECK_EQ(t, s[1].bad, 0);
	n = mpmcring_poller_poll(p, 0);
	CHECK_EQ(t, n, -EINVAL);
	/* A later callback's stop does not hide the earlier ring's error. */
	for (j = 0; j < 2; j++)
		CHECK_EQ(t, put(&h[1], 16, MPMCRING_PRIO_NORMAL, 0x77), 0);
	s[1].stop_after = 11;
	n = mpmcring_poller_consume(p);
	CHECK_EQ(t, n, -EINVAL);
	CHECK(t, strstr(mpmcring_errmsg(), "ring 0"), "message: %s", mpmcring_errmsg());
	CHECK_EQ(t, s[1].records, 11);
	/* Once the program commits, the ring is consumed again. */
	CHECK_EQ(t, mpmcring_commit(mpmcring_poller_consumer(p, 0)), 0);
	n = mpmcring_poller_consume(p);
	CHECK_EQ(t, n, 10);
	CHECK_EQ(t, s[0].records, 9);
	CHECK_EQ(t, s[1].records, 12);
	mpmcring_poller_free(p);
	for (i = 0; i < 2; i++) {
		mpmcring_close(r[i]);
		hostring_destroy(&h[i]);
	}
}

/*
 * mpmcring_poller_remove() takes a ring whose consume keeps failing out of
 * the poller (before it, the error came back from every call until the
 * program freed the poller): out of the epoll set, its losses handed over,
 * its consumer freed, the ring then closable, the other ring consumed as
 * before. ring_gone says 1 for it, and once every ring is removed a poll
 * says -EPIPE (review-lead-1304 M1, M2, S2).
 */
static void t_poller_remove(struct tap *t)
{
	struct mpmcring_lost lost = MPMCRING_OPTS(mpmcring_lost);
	struct seen s[2] = { { 0 } };
	struct hostring h[2];
	struct mpmcring *r[2] = { 0 };
	struct mpmcring_record rec;
	struct mpmcring_poller *p;
	struct epoll_event ev;
	int fds[2] = { -1, -1 }, i, j, n;

	p = mpmcring_poller_new(NULL);
	CHECK(t, p, "poller: %s", mpmcring_errmsg());
	if (!p)
		return;
	for (i = 0; i < 2; i++) {
		CHECK(t, !ring(&h[i], 4096), "init");
		r[i] = mpmcring__open_memory(h[i].cons, h[i].ro, &h[i].layout);
		CHECK_EQ(t, mpmcring_poller_add(p, r[i], seen_fn, &s[i], NULL), i);
		for (j = 0; j < 10; j++)
			CHECK_EQ(t, put(&h[i], 16, MPMCRING_PRIO_NORMAL, (unsigned char)j), 0);
	}
	/* A readable pipe stands for ring 0's device file in the epoll set. */
	CHECK_EQ(t, pipe(fds), 0);
	CHECK_EQ(t, write(fds[1], "x", 1), 1);
	r[0]->fd = fds[0];
	CHECK_EQ(t,
		 epoll_ctl(mpmcring_poller_epoll_fd(p), EPOLL_CTL_ADD, fds[0],
			   &(struct epoll_event){ .events = EPOLLIN, .data.u32 = 0 }),
		 0);
	/* Ring 0 fails: the program holds a record of the poller's consumer. */
	CHECK_EQ(t, mpmcring_read(mpmcring_poller_consumer(p, 0), &rec), 0);
	CHECK_EQ(t, mpmcring_poller_consume(p), -EINVAL);
	CHECK_EQ(t, s[1].records, 10);
	/* Its consumer has losses to report: the full ring drops records. */
	for (j = 0; j < 1000 && !put(&h[0], 16, MPMCRING_PRIO_NORMAL, 0); j++)
		;
	CHECK(t, hostring_dropped(&h[0]) > 0, "no drop");

	lost.sz = 1;
	CHECK_EQ(t, mpmcring_poller_remove(p, 0, &lost), -EINVAL);
	CHECK(t, mpmcring_poller_consumer(p, 0), "a refused remove removed the ring");
	lost.sz = sizeof(lost);
	CHECK_EQ(t, mpmcring_poller_remove(p, 0, &lost), 0);
	CHECK_EQ(t, lost.dropped, hostring_dropped(&h[0]));
	CHECK_EQ(t, epoll_wait(mpmcring_poller_epoll_fd(p), &ev, 1, 0), 0);
	errno = 0;
	CHECK(t, !mpmcring_poller_consumer(p, 0), "the consumer of a removed ring");
	CHECK_EQ(t, errno, EINVAL);
	CHECK(t, strstr(mpmcring_errmsg(), "ring 0 was removed"), "message: %s", mpmcring_errmsg());
	CHECK_EQ(t, mpmcring_poller_ring_gone(p, 0), 1);
	CHECK_EQ(t, mpmcring_poller_remove(p, 0, NULL), -EINVAL);
	CHECK_EQ(t, mpmcring_poller_remove(p, 2, NULL), -EINVAL);
	CHECK(t, strstr(mpmcring_errmsg(), "no ring 2"), "message: %s", mpmcring_errmsg());
	/* The consumer was freed: its slot is free and its held record abandoned. */
	CHECK_EQ(t, h[0].v.cons->slots[0].start, MPMCRING_SLOT_IDLE);
	/* The ring is the caller's again: closed, the poller never touches it. */
	mpmcring_close(r[0]); /* closes fds[0] */
	r[0] = NULL;

	for (j = 0; j < 3; j++)
		CHECK_EQ(t, put(&h[1], 16, MPMCRING_PRIO_NORMAL, 0x41), 0);
	n = mpmcring_poller_consume(p);
	CHECK_EQ(t, n, 3);
	CHECK_EQ(t, mpmcring_poller_poll(p, 0), 0);
	CHECK_EQ(t, s[0].records, 0);
	CHECK_EQ(t, s[1].records, 13);
	CHECK_EQ(t, s[1].bad, 0);
	CHECK_EQ(t, mpmcring_poller_ring_gone(p, 1), 0);

	/* Every ring removed: nothing will come, as when all are gone. */
	CHECK_EQ(t, mpmcring_poller_remove(p, 1, NULL), 0);
	CHECK_EQ(t, mpmcring_poller_poll(p, -1), -EPIPE);
	CHECK_EQ(t, mpmcring_poller_consume(p), -EPIPE);
	CHECK_EQ(t, mpmcring_poller_ring_gone(p, 0) + mpmcring_poller_ring_gone(p, 1), 2);

	/*
	 * Rings that come and go reuse the entries: the poller stays small.
	 * (Over plain memory a freed consumer's slot stays taken: 30 rounds.)
	 */
	for (j = 0; j < 30; j++) {
		n = mpmcring_poller_add(p, r[1], seen_fn, &s[1], NULL);
		if (n < 0 || n > 1 || mpmcring_poller_remove(p, (unsigned int)n, NULL)) {
			CHECK(t, false, "add/remove %d: index %d: %s", j, n, mpmcring_errmsg());
			break;
		}
	}
	CHECK_EQ(t, mpmcring_poller_add(p, r[1], seen_fn, &s[1], NULL), 0);
	CHECK_EQ(t, put(&h[1], 16, MPMCRING_PRIO_NORMAL, 0x42), 0);
	CHECK_EQ(t, mpmcring_poller_consume(p), 1);
	CHECK_EQ(t, s[1].records, 14);
	mpmcring_poller_free(p);
	mpmcring_close(r[1]);
	for (i = 0; i < 2; i++)
		hostring_destroy(&h[i]);
	close(fds[1]);
}

/*
 * A poller's consumer stopped by its callback keeps its claim. When that
 * claim was revoked meanwhile, the remove's last commit finds it so: its
 * records are lost (revoked), and go to *lost with the ring's other losses,
 * not with the freed consumer (helper-262).
 */
static void t_poller_remove_reports_a_revoked_claim(struct tap *t)
{
	struct mpmcring_lost lost = MPMCRING_OPTS(mpmcring_lost);
	struct seen s = { .stop_after = 1 };
	struct mpmcring_poller *p;
	struct hostring h;
	struct mpmcring *r;
	int j;

	p = mpmcring_poller_new(NULL);
	CHECK(t, p, "poller: %s", mpmcring_errmsg());
	if (!p)
		return;
	CHECK(t, !ring(&h, 4096), "init");
	r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	CHECK(t, r, "open: %s", mpmcring_errmsg());
	CHECK_EQ(t, mpmcring_poller_add(p, r, seen_fn, &s, NULL), 0);
	for (j = 0; j < 3; j++)
		CHECK_EQ(t, put(&h, 16, MPMCRING_PRIO_NORMAL, (unsigned char)j), 0);
	mpmcring_poller_consume(p); /* the callback stops at the first record */
	CHECK_EQ(t, s.records, 1);
	CHECK(t, !(h.v.cons->slots[0].start & MPMCRING_SLOT_IDLE), "no claim held");
	/* What the kernel's revocation does ([R6]). */
	__atomic_fetch_or(&h.v.cons->slots[0].start, MPMCRING_SLOT_REVOKED, __ATOMIC_SEQ_CST);
	CHECK_EQ(t, mpmcring_poller_remove(p, 0, &lost), 0);
	CHECK_EQ(t, lost.revoked, 3);
	CHECK_EQ(t, lost.dropped + lost.overwritten, 0);
	CHECK_EQ(t, h.v.cons->slots[0].start, MPMCRING_SLOT_IDLE);
	mpmcring_poller_free(p);
	mpmcring_close(r);
	hostring_destroy(&h);
}

/*
 * A ring whose descriptor was closed before its remove cannot leave the
 * epoll set (whose entry would wake the poller for an index a later add
 * reuses): the remove says so and leaves the ring in.
 */
static void t_poller_remove_after_close_refused(struct tap *t)
{
	struct seen s = { 0 };
	struct hostring h;
	struct mpmcring *r;
	struct mpmcring_poller *p;
	int fds[2], keep;

	p = mpmcring_poller_new(NULL);
	CHECK(t, p && !ring(&h, 4096), "poller and ring");
	if (!p)
		return;
	r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	CHECK_EQ(t, mpmcring_poller_add(p, r, seen_fn, &s, NULL), 0);
	CHECK_EQ(t, pipe(fds), 0);
	keep = dup(fds[0]); /* the open file outlives the closed descriptor */
	CHECK_EQ(t,
		 epoll_ctl(mpmcring_poller_epoll_fd(p), EPOLL_CTL_ADD, fds[0],
			   &(struct epoll_event){ .events = EPOLLIN, .data.u32 = 0 }),
		 0);
	r->fd = fds[0];
	close(fds[0]);
	CHECK_EQ(t, mpmcring_poller_remove(p, 0, NULL), -EBADF);
	CHECK(t, strstr(mpmcring_errmsg(), "remove a ring before closing it"), "message: %s",
	      mpmcring_errmsg());
	CHECK(t, mpmcring_poller_consumer(p, 0), "the refused remove removed the ring");
	CHECK_EQ(t, mpmcring_poller_ring_gone(p, 0), 0);
	r->fd = -1;
	mpmcring_poller_free(p);
	mpmcring_close(r);
	hostring_destroy(&h);
	close(keep);
	close(fds[1]);
}

/*
 * A callback that leaves consume by longjmp (review-18c S3-S3): the
 * consumer is then usable only by mpmcring_consumer_free(), and its
 * refusals say so rather than only "called from inside the callback".
 */
static jmp_buf jump_out;

static int jump_fn(void *ctx, const struct mpmcring_record *rec)
{
	(void)ctx;
	(void)rec;
	longjmp(jump_out, 1);
}

static void t_consume_longjmp_refusal_says_so(struct tap *t)
{
	struct mpmcring_record rec;
	struct hostring h;
	struct mpmcring *r;
	struct mpmcring_consumer *c;
	volatile int jumped = 0;
	int n;

	CHECK(t, !ring(&h, 4096), "init");
	r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	c = r ? mpmcring_consumer_new(r) : NULL;
	CHECK(t, c, "consumer: %s", mpmcring_errmsg());
	if (!c)
		return;
	CHECK_EQ(t, put(&h, 16, MPMCRING_PRIO_NORMAL, 1), 0);
	if (!setjmp(jump_out))
		mpmcring_consume(c, 10, jump_fn, NULL);
	else
		jumped = 1;
	CHECK_EQ(t, jumped, 1);
	n = mpmcring_read(c, &rec);
	CHECK_EQ(t, n, -EINVAL);
	CHECK(t,
	      strstr(mpmcring_errmsg(), "longjmp") &&
		      strstr(mpmcring_errmsg(), "mpmcring_consumer_free()"),
	      "message: %s", mpmcring_errmsg());
	mpmcring_consumer_free(c); /* the way out: ASan sees no leak */
	mpmcring_close(r);
	hostring_destroy(&h);
}

static void hung_up_ring_free(struct hostring *h, struct mpmcring *r, struct mpmcring_consumer *c)
{
	mpmcring_consumer_free(c);
	if (r)
		mpmcring_close(r);
	hostring_destroy(h);
}

/*
 * A memory ring with a consumer and one record of len bytes, destroyed:
 * its "device" is a pipe whose write end is closed (POLLHUP without
 * POLLIN). false, with nothing left to free, when it cannot be made.
 */
static bool hung_up_ring(struct tap *t, struct hostring *h, struct mpmcring **r,
			 struct mpmcring_consumer **c, uint32_t len)
{
	int fds[2];

	*r = NULL;
	*c = NULL;
	if (ring(h, 4096)) {
		CHECK(t, 0, "init");
		return false;
	}
	*r = mpmcring__open_memory(h->cons, h->ro, &h->layout);
	*c = *r ? mpmcring_consumer_new(*r) : NULL;
	if (!*c || pipe(fds)) {
		CHECK(t, 0, "ring, consumer and pipe");
		hung_up_ring_free(h, *r, *c);
		return false;
	}
	(*r)->fd = fds[0]; /* mpmcring_close() closes it */
	close(fds[1]);
	CHECK_EQ(t, put(h, len, MPMCRING_PRIO_NORMAL, 7), 0);
	return true;
}

/*
 * review-gopoll18 S1 (the C side): a module of ABI 1.2 from before 4de2b4d
 * hangs up without POLLIN on a dead ring that holds records below the
 * file's watermark. mpmcring_wait() said -EPIPE, "destroyed and is empty",
 * with the records unread: a Wait-then-read loop stopped short. Now 1
 * while a record is left, -EPIPE once drained.
 */
static void t_wait_hangup_below_watermark(struct tap *t)
{
	struct mpmcring_consumer *c;
	struct mpmcring_record rec;
	struct mpmcring *r;
	struct hostring h;

	if (!hung_up_ring(t, &h, &r, &c, 16))
		return;
	CHECK_EQ(t, mpmcring_wait(r, 0), 1);
	CHECK_EQ(t, mpmcring_read(c, &rec), 0);
	CHECK_EQ(t, mpmcring_commit(c), 0);
	CHECK_EQ(t, mpmcring_wait(r, 0), -EPIPE);
	hung_up_ring_free(&h, r, c);
}

/*
 * review-fix18 S1: a hung-up ring whose shared head is aligned and in
 * range but not at a record a claim can take (a misbehaving co-tenant
 * wrote it mid-record). mpmcring_wait() must not say 1 while every read
 * says -EAGAIN: a wait-then-read loop would spin for ever.
 */
static void t_wait_hangup_no_livelock(struct tap *t)
{
	struct mpmcring_consumer *c;
	struct mpmcring_record rec;
	struct mpmcring *r;
	struct hostring h;
	int i, ones = 0;

	if (!hung_up_ring(t, &h, &r, &c, 40))
		return;
	__atomic_store_n(&r->v.cons->head, r->v.cons->head + r->v.gmask + 1, __ATOMIC_RELEASE);
	for (i = 0; i < 100 && mpmcring_wait(r, 0) == 1; i++) {
		ones++;
		if (!mpmcring_read(c, &rec))
			mpmcring_commit(c);
	}
	CHECK(t, ones < 100, "wait said 1 %d times in a row over a head no claim can take", ones);
	CHECK_EQ(t, mpmcring_wait(r, 0), -EPIPE);
	/* A head outside the ring: not "destroyed and empty", the claim's
	 * -EBADMSG (review-fix18b S1). */
	__atomic_store_n(&r->v.cons->head, r->v.cons->head + (1ULL << 40), __ATOMIC_RELEASE);
	CHECK_EQ(t, mpmcring_wait(r, 0), 1);
	CHECK_EQ(t, mpmcring_read(c, &rec), -EBADMSG);
	hung_up_ring_free(&h, r, c);
}

static const struct tap_test tests[] = {
	TAP_TEST(t_wait_hangup_below_watermark),
	TAP_TEST(t_wait_hangup_no_livelock),
	TAP_TEST(t_errno_set),
	TAP_TEST(t_layout_grows),
	TAP_TEST(t_layout_too_large_to_map),
	TAP_TEST(t_opts_size),
	TAP_TEST(t_version),
	TAP_TEST(t_lost_in_stream),
	TAP_TEST(t_lost_record_callback_cannot_read),
	TAP_TEST(t_poller),
	TAP_TEST(t_snoop),
	TAP_TEST(t_opts_no_hidden_padding),
	TAP_TEST(t_filled_structs_grow),
	TAP_TEST(t_poller_all_rings_gone),
	TAP_TEST(t_poller_consume_sees_rings_gone),
	TAP_TEST(t_poller_consume_sees_rings_gone_abi_1_2),
	TAP_TEST(t_poller_idle_consume_no_syscall),
	TAP_TEST(t_poller_consume_sees_state_dead),
	TAP_TEST(t_poller_mixed_abi_ends),
	TAP_TEST(t_poller_poll_dead_ring_keeps_the_cap),
	TAP_TEST(t_poller_cap_holds_within_a_batch),
	TAP_TEST(t_poller_without_rings_waits),
	TAP_TEST(t_poller_refused_remove_keeps_the_losses),
	TAP_TEST(t_poller_memory_ring_ends),
	TAP_TEST(t_poller_hangup_below_watermark_drains),
	TAP_TEST(t_poller_hangup_busy_stays),
	TAP_TEST(t_poller_add_from_callback),
	TAP_TEST(t_poller_error_does_not_starve),
	TAP_TEST(t_poller_remove),
	TAP_TEST(t_poller_remove_after_close_refused),
	TAP_TEST(t_poller_remove_reports_a_revoked_claim),
	TAP_TEST(t_consume_longjmp_refusal_says_so),
};

int main(void)
{
	return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
