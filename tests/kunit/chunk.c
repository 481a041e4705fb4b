// SPDX-License-Identifier: GPL-2.0-only
/*
 * Chunked reservation in the module (kmod/chunk.c, kmod/produce.c): a
 * context's records fill its CPU's chunk for its interrupt level, one step
 * on prod_pos per chunk, through mpmcring_reserve() and mpmcring_output();
 * what records wait for behind an open chunk, the
 * tick's close (mpmcring_chunks_close()) frees, and so do the unpin scans
 * (mpmcring_chunks_unpin(): a refusal for room, a chunk quiet for two
 * jiffies); the statistics count the fillers; a ring too small for its
 * chunks is refused.
 * tests/host/chunk_test.c has the protocol's own cases.
 */
#include "util.h"

#define KT_CHUNK 1024

/* A ring with chunks of KT_CHUNK: room for every possible CPU's four. */
static struct mpmcring *kt_chunk_ring(struct kunit *test, u64 initial_pos)
{
	struct mpmcring_params p = {
		.size = kt_chunked_size(KT_CHUNK),
		.chunk_bytes = KT_CHUNK,
		.initial_pos = initial_pos,
	};

	return kt_ring(test, &p);
}

static void chunk_records_share_one_step(struct kunit *test)
{
	struct mpmcring *ring = kt_chunk_ring(test, 0);
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	struct mpmcring_rsv rsv[3];
	struct mpmcring_stats *st;
	char buf[64];
	struct kc c;
	int i;

	st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, st);
	KUNIT_ASSERT_EQ(test, ring->chunk_bytes, (u32)KT_CHUNK);
	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	/* One context, preemption off across the three as for any holder. */
	for (i = 0; i < 3; i++)
		KUNIT_ASSERT_EQ(test, mpmcring_reserve(ring, 56, 0, &rsv[i]), 0);
	for (i = 0; i < 3; i++) {
		KUNIT_EXPECT_EQ(test, rsv[i].pos, (u64)64 * i);
		mpr_testrec_fill(rsv[i].data, 56, 1, MPR_CTX_TASK, 0, i);
		mpmcring_commit(&rsv[i]);
	}
	KUNIT_EXPECT_EQ(test, READ_ONCE(v->meta->prod_pos), (u64)KT_CHUNK);
	for (i = 0; i < 3; i++) {
		KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), 56);
		KUNIT_EXPECT_EQ(test, ((struct mpr_testrec *)buf)->seq, (u64)i);
	}
	KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), -EAGAIN);
	/* The rest of the chunk, closed, is passed over: nothing is read. */
	KUNIT_EXPECT_EQ(test, mpmcring_chunks_close(ring), 1U);
	KUNIT_EXPECT_EQ(test, mpmcring_chunks_close(ring), 0U);
	KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), -EAGAIN);
	KUNIT_EXPECT_EQ(test, READ_ONCE(v->cons->head), (u64)KT_CHUNK);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->produced_records, 3ULL);
	KUNIT_EXPECT_EQ(test, st->in_ring_records, 0ULL);
	kc_detach(&c);
	mpmcring_destroy(ring);
}

/*
 * mpmcring_output() (and so BPF's kfuncs) on a chunked ring: the records
 * of one context share its chunk as reserved ones do, the first opening
 * it, the others taken inline (mpr_chunk_take()).
 */
static void chunk_output_fills_the_chunk(struct kunit *test)
{
	struct mpmcring *ring = kt_chunk_ring(test, 0);
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	char buf[64];
	struct kc c;
	int i, ret[3];

	KUNIT_ASSERT_EQ(test, ring->chunk_bytes, (u32)KT_CHUNK);
	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	/* One CPU for the three: a chunk is per CPU. */
	preempt_disable();
	for (i = 0; i < 3; i++)
		ret[i] = kt_output(ring, 56, 0, 1, MPR_CTX_TASK, i);
	preempt_enable();
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, ret[i], 0);
	KUNIT_EXPECT_EQ(test, READ_ONCE(v->meta->prod_pos), (u64)KT_CHUNK);
	for (i = 0; i < 3; i++) {
		KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), 56);
		KUNIT_EXPECT_EQ(test, ((struct mpr_testrec *)buf)->seq, (u64)i);
	}
	KUNIT_EXPECT_EQ(test, mpmcring_chunks_close(ring), 1U);
	KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), -EAGAIN);
	KUNIT_EXPECT_EQ(test, READ_ONCE(v->cons->head), (u64)KT_CHUNK);
	kc_detach(&c);
	mpmcring_destroy(ring);
}

struct kt_there {
	struct mpmcring *ring;
	int ret;
	u64 pos;
};

/*
 * On another CPU, in its IPI (hardirq; from its idle loop when it was
 * polling): one record, its chunk left open.
 */
static void kt_produce_there(void *arg)
{
	struct kt_there *t = arg;
	struct mpmcring_rsv rsv;

	t->ret = mpmcring_reserve(t->ring, 56, 0, &rsv);
	if (t->ret)
		return;
	t->pos = rsv.pos;
	mpr_testrec_fill(rsv.data, 56, 2, MPR_CTX_HARDIRQ, 0, 0);
	mpmcring_commit(&rsv);
}

/*
 * Preemption off: one record made in another CPU's IPI (hardirq), its
 * chunk left open; t->ret says how that went.
 */
static void kt_there_produce(struct kt_there *t)
{
	int err = smp_call_function_single(cpumask_any_but(cpu_online_mask,
							   smp_processor_id()),
					   kt_produce_there, t, 1);

	if (err)
		t->ret = err;
}

/*
 * What c reads with another CPU's record first, that CPU's chunk open
 * behind it, and this CPU's two records (seq 0, 1) after: the other's
 * record, then nothing until the tick's close (which must close `closes`
 * chunks), then this CPU's records in order, then nothing.
 */
static void kt_read_past_the_other_chunk(struct kunit *test, struct kc *c,
					 struct mpmcring *ring, unsigned int closes)
{
	char buf[64];
	int i;

	KUNIT_EXPECT_EQ(test, kc_read(c, buf, sizeof(buf)), 56);
	KUNIT_EXPECT_EQ(test, ((struct mpr_testrec *)buf)->producer, 2);
	KUNIT_EXPECT_EQ(test, kc_read(c, buf, sizeof(buf)), -EAGAIN);
	KUNIT_EXPECT_EQ(test, mpmcring_chunks_close(ring), closes);
	for (i = 0; i < 2; i++) {
		KUNIT_EXPECT_EQ(test, kc_read(c, buf, sizeof(buf)), 56);
		KUNIT_EXPECT_EQ(test, ((struct mpr_testrec *)buf)->producer, 1);
		KUNIT_EXPECT_EQ(test, ((struct mpr_testrec *)buf)->seq, (u64)i);
	}
	KUNIT_EXPECT_EQ(test, kc_read(c, buf, sizeof(buf)), -EAGAIN);
}

/*
 * c attached to ring, one record made on another CPU (its chunk left open)
 * and read by c: the head then waits at that chunk's unfilled rest.
 */
static void kt_read_the_other_cpus_record(struct kunit *test, struct kc *c,
					  struct mpmcring *ring)
{
	struct kt_there there = { .ring = ring };
	char buf[64];

	KUNIT_ASSERT_EQ(test, kc_attach(c, ring), 0);
	get_cpu();
	kt_there_produce(&there);
	put_cpu();
	KUNIT_ASSERT_EQ(test, there.ret, 0);
	KUNIT_ASSERT_EQ(test, kc_read(c, buf, sizeof(buf)), 56);
}

/*
 * Records committed here, past another CPU's open chunk, wait for it: the
 * tick's close (mpmcring_chunks_close()) lets them through. Positions run
 * through 2^64 on the way.
 */
static void chunk_close_frees_records_behind(struct kunit *test)
{
	struct mpmcring *ring;
	struct kt_there there;
	struct mpmcring_rsv rsv[2];
	struct kc c;
	int i, ret[2];

	if (num_online_cpus() < 2)
		kunit_skip(test, "one CPU online");
	ring = kt_chunk_ring(test, (u64)0 - 1536);
	there = (struct kt_there){ .ring = ring };

	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	get_cpu();
	kt_there_produce(&there);
	for (i = 0; i < 2; i++) {
		ret[i] = mpmcring_reserve(ring, 56, 0, &rsv[i]);
		if (!ret[i]) {
			mpr_testrec_fill(rsv[i].data, 56, 1, MPR_CTX_TASK, 0, i);
			mpmcring_commit(&rsv[i]);
		}
	}
	put_cpu();
	KUNIT_ASSERT_EQ(test, there.ret, 0);
	KUNIT_ASSERT_EQ(test, ret[0], 0);
	KUNIT_ASSERT_EQ(test, ret[1], 0);
	KUNIT_EXPECT_EQ(test, there.pos, (u64)0 - 1536);
	KUNIT_EXPECT_EQ(test, rsv[0].pos, there.pos + KT_CHUNK);
	KUNIT_EXPECT_EQ(test, rsv[1].pos, rsv[0].pos + 64);
	/* The other CPU's record; then its chunk's unfilled rest. */
	/* Both chunks closed: this CPU's records come through, in order. */
	kt_read_past_the_other_chunk(test, &c, ring, 2);
	kc_detach(&c);
	mpmcring_destroy(ring);
}

/*
 * The statistics count records committed past another CPU's open chunk as
 * waiting, the chunk's unfilled rest stepped over: the walk stops there,
 * as claims do, and before, consumed_records = produced - waiting said 2
 * of 3 were consumed with nothing read and no PARTIAL flag. No file is
 * open, so no tick closes the chunks behind the test. Positions run
 * through 2^64 on the way.
 */
static void chunk_stats_count_past_open_chunks(struct kunit *test)
{
	struct mpmcring_stats *st;
	struct mpmcring *ring;
	struct kt_there there;
	char buf[64];
	struct kc c;
	int i, ret[2];

	if (num_online_cpus() < 2)
		kunit_skip(test, "one CPU online");
	st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, st);
	ring = kt_chunk_ring(test, (u64)0 - 1536);
	there = (struct kt_there){ .ring = ring };
	c.idx = -1;
	KUNIT_EXPECT_EQ(test, kc_attach(&c, ring), 0);
	get_cpu();
	kt_there_produce(&there);
	for (i = 0; i < 2; i++)
		ret[i] = kt_produce(ring, 56, 0, 1, MPR_CTX_TASK, i);
	put_cpu();
	KUNIT_EXPECT_EQ(test, there.ret, 0);
	KUNIT_EXPECT_EQ(test, ret[0], 0);
	KUNIT_EXPECT_EQ(test, ret[1], 0);
	KUNIT_EXPECT_EQ(test, READ_ONCE(ring->nr_open), 0U);
	if (test->status == KUNIT_FAILURE)
		goto out;

	/* Each step stops the case when it fails: 6.1 keeps 512 bytes of log. */
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->produced_records, 3ULL);
	KUNIT_EXPECT_EQ(test, st->in_ring_records, 3ULL);
	KUNIT_EXPECT_EQ(test, st->consumed_records, 0ULL);
	if (test->status == KUNIT_FAILURE)
		goto out;
	KUNIT_EXPECT_EQ(test, st->in_ring_bytes, 3ULL * 56);
	KUNIT_EXPECT_EQ(test, st->flags, 0ULL);

	/* The other CPU's record read; the head waits at its chunk's rest. */
	KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), 56);
	KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), -EAGAIN);
	if (test->status == KUNIT_FAILURE)
		goto out;
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->in_ring_records, 2ULL);
	KUNIT_EXPECT_EQ(test, st->consumed_records, 1ULL);
	KUNIT_EXPECT_EQ(test, st->flags, 0ULL);
	if (test->status == KUNIT_FAILURE)
		goto out;

	/* Closed, the rests are fillers: the same counts. */
	KUNIT_EXPECT_EQ(test, mpmcring_chunks_close(ring), 2U);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->in_ring_records, 2ULL);
	KUNIT_EXPECT_EQ(test, st->consumed_records, 1ULL);
	if (test->status == KUNIT_FAILURE)
		goto out;
	for (i = 0; i < 2; i++)
		KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), 56);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->in_ring_records, 0ULL);
	KUNIT_EXPECT_EQ(test, st->consumed_records, 3ULL);
	KUNIT_EXPECT_EQ(test, st->flags, 0ULL);
out:
	kc_detach(&c);
	mpmcring_destroy(ring);
}

/*
 * A ring filled behind another CPU's open chunk: the producer refused for
 * room closes the chunk that holds the head (mpmcring_chunks_unpin()), and
 * consumers get past it without waiting for the tick.
 */
static void chunk_refusal_unpins(struct kunit *test)
{
	struct mpmcring *ring;
	unsigned int n;
	char buf[64];
	struct kc c;
	int ret = 0;

	if (num_online_cpus() < 2)
		kunit_skip(test, "one CPU online");
	ring = kt_chunk_ring(test, 0);
	/* Its one record; the head now waits at its chunk's unfilled rest. */
	kt_read_the_other_cpus_record(test, &c, ring);
	for (n = 0; n < ring->view.data_size / 64 + 1; n++) {
		ret = kt_produce(ring, 56, MPMCRING_PRIO_CRITICAL, 1, MPR_CTX_TASK, n);
		if (ret)
			break;
	}
	KUNIT_EXPECT_EQ(test, ret, -ENOSPC);
	KUNIT_EXPECT_GT(test, n, 0U);
	/* The refusal closed the other CPU's chunk: this one's records come. */
	KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), 56);
	KUNIT_EXPECT_EQ(test, ((struct mpr_testrec *)buf)->producer, 1);
	KUNIT_EXPECT_EQ(test, ((struct mpr_testrec *)buf)->seq, 0ULL);
	kc_detach(&c);
	mpmcring_destroy(ring);
}

/* The first open chunk of any CPU and level (NULL: none), and how many. */
static struct mpr_chunk *kt_open_chunk(struct mpmcring *ring, unsigned int *n)
{
	struct mpr_chunk *open = NULL, *c;
	unsigned int cpu, level;

	*n = 0;
	mpmcring_for_each_chunk(ring, cpu, level, c) {
		if (READ_ONCE(c->fill) == READ_ONCE(c->end))
			continue;
		open = open ?: c;
		(*n)++;
	}
	return open;
}

/*
 * One record made on another CPU, its chunk (the one open chunk of the
 * ring) left open with its fill at 64; that chunk.
 */
static struct mpr_chunk *kt_the_other_cpus_chunk(struct kunit *test,
						 struct mpmcring *ring)
{
	struct kt_there there = { .ring = ring };
	struct mpr_chunk *c;
	unsigned int open;

	get_cpu();
	kt_there_produce(&there);
	put_cpu();
	KUNIT_ASSERT_EQ(test, there.ret, 0);
	c = kt_open_chunk(ring, &open);
	KUNIT_ASSERT_EQ(test, open, 1U);
	KUNIT_ASSERT_EQ(test, READ_ONCE(c->fill), (u64)64);
	return c;
}

/*
 * The head stopped at another CPU's open chunk, and reclaim caught up with
 * it, within one jiffy of the last scan: the next refusal for room closes
 * the chunk at once (mpmcring_chunks_unpin(): reclaim and the head at an
 * unfinished granule), not a jiffy later. Built with the ring full and
 * the head at 0, on the other CPU's finished record (no early close: its
 * stamp is there), then that record read, so that a reservation's
 * reclaim brings reclaim_pos to the chunk. Checked within the jiffy when
 * the calls stayed in one (nearly always: a few calls). That a second
 * refusal at the position closes nothing early is not checked here: by
 * then the chunk's filler, finished, is what stands there
 * (chunk_stuck_rule_once_per_position checks the gate itself).
 */
static void chunk_stuck_head_unpinned_at_once(struct kunit *test)
{
	struct mpmcring *ring;
	unsigned long from, to;
	struct mpr_chunk *c;
	unsigned int n;
	char buf[64];
	struct kc k;
	int ret = 0;

	if (num_online_cpus() < 2)
		kunit_skip(test, "one CPU online");
	/* The case's own kthread: the pin ends with it. */
	KUNIT_ASSERT_EQ(test, set_cpus_allowed_ptr(current,
						   cpumask_of(raw_smp_processor_id())), 0);
	ring = kt_chunk_ring(test, 0);
	KUNIT_ASSERT_EQ(test, kc_attach(&k, ring), 0);
	c = kt_the_other_cpus_chunk(test, ring);
	for (n = 0; n < ring->view.data_size / 64 + 1; n++) {
		ret = kt_produce(ring, 56, MPMCRING_PRIO_CRITICAL, 1, MPR_CTX_TASK, n);
		if (ret)
			break;
	}
	KUNIT_ASSERT_EQ(test, ret, -ENOSPC);
	/* Full, reclaim and the head at 0: the chunk stays open. */
	KUNIT_ASSERT_EQ(test, READ_ONCE(c->fill), (u64)64);
	KUNIT_ASSERT_EQ(test, kc_read(&k, buf, sizeof(buf)), 56);
	KUNIT_ASSERT_EQ(test, ((struct mpr_testrec *)buf)->producer, 2);

	from = jiffies;
	WRITE_ONCE(ring->unpinned, from);
	/* The first may take the room that record freed; one more is refused. */
	for (n = 0; n < 3; n++) {
		ret = kt_produce(ring, 56, MPMCRING_PRIO_CRITICAL, 1, MPR_CTX_TASK, 0);
		if (ret)
			break;
	}
	to = jiffies;
	KUNIT_EXPECT_EQ(test, ret, -ENOSPC);
	KUNIT_EXPECT_EQ(test, READ_ONCE(ring->view.meta->reclaim_pos), (u64)64);
	if (from == to)
		KUNIT_EXPECT_EQ(test, READ_ONCE(c->fill), READ_ONCE(c->end));
	else
		kunit_info(test, "a jiffy passed: the closing rule not told apart");

	/* Closed by whichever rule: this CPU's first record comes. */
	KUNIT_EXPECT_EQ(test, kc_read(&k, buf, sizeof(buf)), 56);
	KUNIT_EXPECT_EQ(test, ((struct mpr_testrec *)buf)->producer, 1);
	KUNIT_EXPECT_EQ(test, ((struct mpr_testrec *)buf)->seq, 0ULL);
	kc_detach(&k);
	mpmcring_destroy(ring);
}

/* A scan now, whatever the last one's jiffy; the jiffies it ran across. */
static unsigned int kt_unpin_scan(struct mpmcring *ring, unsigned long *from,
				  unsigned long *to)
{
	unsigned int n;

	*from = jiffies;
	WRITE_ONCE(ring->unpinned, *from - 1);
	n = mpmcring_chunks_unpin(ring);
	*to = jiffies;
	return n;
}

/*
 * A chunk its CPU stopped filling where neither the head nor reclaim
 * stopped (nothing claimed): the unpin scans note its fill as it moves,
 * at most one scan a jiffy for the ring (a call in the jiffy of the last
 * scan notes nothing), and close it once its fill has stood for two
 * jiffies, not after one. Jiffies tick on under the test: a check that
 * needs a call to stay within one jiffy is made when it did (a call takes
 * microseconds: nearly always).
 */
static void chunk_quiet_is_closed(struct kunit *test)
{
	unsigned long from, to, last;
	struct mpmcring *ring;
	struct mpr_chunk *c;
	unsigned int n, open;
	u64 end;

	if (num_online_cpus() < 2)
		kunit_skip(test, "one CPU online");
	ring = kt_chunk_ring(test, 0);
	c = kt_the_other_cpus_chunk(test, ring);
	end = READ_ONCE(c->end);

	/* Seen moving: noted, not closed; the scan's jiffy kept. */
	KUNIT_EXPECT_EQ(test, kt_unpin_scan(ring, &from, &to), 0U);
	KUNIT_EXPECT_EQ(test, READ_ONCE(c->seen), (u64)64);
	KUNIT_EXPECT_TRUE(test, READ_ONCE(c->seen_at) - from <= to - from);
	last = READ_ONCE(ring->unpinned);
	KUNIT_EXPECT_TRUE(test, last - from <= to - from);

	/*
	 * As if it had moved since: a call in the jiffy of that scan does
	 * not scan (seen stays), one in a later jiffy notes the fill.
	 */
	WRITE_ONCE(c->seen, 0);
	from = jiffies;
	KUNIT_EXPECT_EQ(test, mpmcring_chunks_unpin(ring), 0U);
	to = jiffies;
	if (!time_after(to, last))
		KUNIT_EXPECT_EQ(test, READ_ONCE(c->seen), 0ULL);
	else if (time_after(from, last))
		KUNIT_EXPECT_EQ(test, READ_ONCE(c->seen), (u64)64);

	/* Standing for one jiffy, as the scans saw it: not closed. */
	last = jiffies;
	WRITE_ONCE(c->seen, 64);
	WRITE_ONCE(c->seen_at, last - 1);
	n = kt_unpin_scan(ring, &from, &to);
	if (to == last)
		KUNIT_EXPECT_EQ(test, n, 0U);

	/* Two jiffies: the next scan closes it (or the one above did). */
	while (!n && time_before(jiffies, (unsigned long)READ_ONCE(c->seen_at) + 2))
		schedule_timeout_uninterruptible(1);
	/* Neither of the other rules could close it. */
	KUNIT_EXPECT_NE(test, READ_ONCE(ring->view.meta->reclaim_pos), (u64)64);
	KUNIT_EXPECT_NE(test, READ_ONCE(ring->view.cons->head), (u64)64);
	if (!n)
		n = kt_unpin_scan(ring, &from, &to);
	KUNIT_EXPECT_EQ(test, n, 1U);
	KUNIT_EXPECT_TRUE(test, !kt_open_chunk(ring, &open));
	KUNIT_EXPECT_EQ(test, open, 0U);
	KUNIT_EXPECT_EQ(test, READ_ONCE(c->fill), end);
	mpmcring_destroy(ring);
}

/*
 * One record of len on this CPU, committed; its position, or all ones when
 * refused. No assertion here: callers run it with preemption off.
 */
static u64 kt_chunk_record(struct mpmcring *ring, u32 len, u64 seq)
{
	struct mpmcring_rsv rsv;

	if (mpmcring_reserve(ring, len, 0, &rsv))
		return ~0ULL;
	mpr_testrec_fill(rsv.data, len, 1, MPR_CTX_TASK, 0, seq);
	mpmcring_commit(&rsv);
	return rsv.pos;
}

/*
 * The stuck-head rule's gate (mpmcring_unpin_stuck()): true only where
 * reclaim and the head stand together on an unfinished granule, and for
 * one caller per such position, moving forward only, across the wrap; a
 * finished record there (committed or discarded), or a head elsewhere
 * (behind: corrupt; ahead: a claim held), neither passes nor uses up the
 * position. On a ring starting just below 2^64 with this CPU's chunk
 * open: a committed record at the first position, a discarded one after
 * it, the rest of the chunk unfilled (unfinished), and past the chunk
 * space not reserved. The positions are the gate's arguments: the ring's
 * own reclaim and head are not moved.
 */
static void chunk_stuck_rule_once_per_position(struct kunit *test)
{
	u64 first = (u64)0 - 512, at, gone = first - 1;
	struct mpmcring_rsv rsv;
	struct mpmcring *ring;
	unsigned int open;
	int ret;

	ring = kt_chunk_ring(test, first);
	get_cpu();
	at = kt_chunk_record(ring, 56, 0);
	ret = mpmcring_reserve(ring, 56, 0, &rsv);
	if (!ret)
		mpmcring_discard(&rsv);
	put_cpu();
	KUNIT_EXPECT_EQ(test, at, first);
	KUNIT_EXPECT_EQ(test, ret, 0);
	if (at != first || ret)
		goto out;
	KUNIT_EXPECT_EQ(test, rsv.pos, first + 64);
	/* The chunk took its space in one step and is the one open. */
	KUNIT_EXPECT_EQ(test, READ_ONCE(ring->view.meta->prod_pos), first + KT_CHUNK);
	KUNIT_EXPECT_PTR_NE(test, kt_open_chunk(ring, &open), NULL);
	KUNIT_EXPECT_EQ(test, open, 1U);

	/* Finished records: nothing to unpin, and the position not used. */
	KUNIT_EXPECT_FALSE(test, mpmcring_unpin_stuck(ring, first, first));
	KUNIT_EXPECT_FALSE(test, mpmcring_unpin_stuck(ring, first + 64, first + 64));
	KUNIT_EXPECT_EQ(test, READ_ONCE(ring->unpin_pos), gone);
	/* The head behind reclaim (corrupt) or ahead of it (a claim held). */
	KUNIT_EXPECT_FALSE(test, mpmcring_unpin_stuck(ring, first + 128, first));
	KUNIT_EXPECT_FALSE(test, mpmcring_unpin_stuck(ring, first + 128, first + 256));
	KUNIT_EXPECT_EQ(test, READ_ONCE(ring->unpin_pos), gone);
	/* The chunk's unfilled rest: one caller, then none. */
	KUNIT_EXPECT_TRUE(test, mpmcring_unpin_stuck(ring, first + 128, first + 128));
	KUNIT_EXPECT_EQ(test, READ_ONCE(ring->unpin_pos), first + 128);
	KUNIT_EXPECT_FALSE(test, mpmcring_unpin_stuck(ring, first + 128, first + 128));
	/* Past the chunk and the wrap: forward. */
	KUNIT_EXPECT_TRUE(test, mpmcring_unpin_stuck(ring, first + KT_CHUNK,
						     first + KT_CHUNK));
	/* Behind the last one: not again. */
	KUNIT_EXPECT_FALSE(test, mpmcring_unpin_stuck(ring, first + 192, first + 192));
	KUNIT_EXPECT_EQ(test, READ_ONCE(ring->unpin_pos), first + KT_CHUNK);
out:
	mpmcring_destroy(ring);
}

/*
 * A reader asleep at another CPU's open chunk, with a record committed
 * behind it: the commit cannot wake it (nothing it can claim), and the
 * close is the commit that must. Checked before any backstop runs: the
 * tick's backstop would wake it anyway, and so hide a close that does not
 * (the VM ping-pongs on chunked rings cannot tell the two apart). No file
 * is open, so no tick runs; the test's thread stays on its CPU, so its
 * record goes to this CPU's chunk, not the other's.
 */
static void chunk_close_wakes_a_reader_behind_it(struct kunit *test)
{
	struct mpmcring *ring;
	struct mpmcring_rsv rsv;
	struct kt_sleeper s;
	char buf[64];
	struct kc c;
	int woken;

	if (num_online_cpus() < 2)
		kunit_skip(test, "one CPU online");
	/* The case's own kthread: the pin ends with it. */
	KUNIT_ASSERT_EQ(test, set_cpus_allowed_ptr(current,
						   cpumask_of(raw_smp_processor_id())), 0);
	ring = kt_chunk_ring(test, 0);
	/* Its record read: the head waits at its chunk's unfilled rest. */
	kt_read_the_other_cpus_record(test, &c, ring);
	KUNIT_EXPECT_EQ(test, READ_ONCE(ring->nr_open), 0U);
	kt_sleep(&s, ring, 0);
	KUNIT_ASSERT_EQ(test, mpmcring_reserve(ring, 56, 0, &rsv), 0);
	KUNIT_EXPECT_EQ(test, rsv.pos, (u64)KT_CHUNK);
	mpr_testrec_fill(rsv.data, 56, 1, MPR_CTX_TASK, 0, 0);
	mpmcring_commit(&rsv);
	woken = kt_wakes(&s);
	KUNIT_EXPECT_FALSE(test, mpmcring_ready(ring, 0));
	/* The two chunks closed (the tick's close): the reader is woken. */
	KUNIT_EXPECT_EQ(test, mpmcring_chunks_close(ring), 2U);
	KUNIT_EXPECT_TRUE(test, mpmcring_ready(ring, 0));
	KUNIT_EXPECT_GT_MSG(test, kt_wakes(&s), woken,
			    "the close that made the reader ready woke nobody");
	kt_wake_up(&s);
	/* And the record behind is the one it gets. */
	KUNIT_EXPECT_EQ(test, kc_read(&c, buf, sizeof(buf)), 56);
	KUNIT_EXPECT_EQ(test, ((struct mpr_testrec *)buf)->producer, 1);
	kc_detach(&c);
	mpmcring_destroy(ring);
}

/*
 * The consumers' head is user-writable, and the unpin scan closes every
 * chunk whose fill it names: a head written onto this CPU's chunk's fill,
 * past records nobody read, has that chunk closed at the next scan. That
 * costs the chunk's rest (a filler), nothing else: the head written back,
 * every record is read whole and in order.
 */
static void chunk_hostile_head_closes_only_that_chunk(struct kunit *test)
{
	const struct mpr_view *v;
	struct mpmcring *ring;
	struct kt_there there;
	struct mpmcring_rsv rsv;
	unsigned long from, to;
	struct mpr_chunk *mine;
	struct kc c;
	int i, ret[2] = { 0, 0 };
	u64 head;

	if (num_online_cpus() < 2)
		kunit_skip(test, "one CPU online");
	ring = kt_chunk_ring(test, 0);
	v = mpmcring_kunit_view(ring);
	there = (struct kt_there){ .ring = ring };
	KUNIT_ASSERT_EQ(test, kc_attach(&c, ring), 0);
	get_cpu();
	kt_there_produce(&there);
	/* No assertion with preemption off: results checked after. */
	for (i = 0; i < 2; i++) {
		ret[i] = mpmcring_reserve(ring, 56, 0, &rsv);
		if (ret[i])
			break;
		mpr_testrec_fill(rsv.data, 56, 1, MPR_CTX_TASK, 0, i);
		mpmcring_commit(&rsv);
	}
	mine = mpmcring_chunk_at(this_cpu_ptr(ring->chunks), 0);
	put_cpu();
	KUNIT_ASSERT_EQ(test, there.ret, 0);
	KUNIT_ASSERT_EQ(test, ret[0], 0);
	KUNIT_ASSERT_EQ(test, ret[1], 0);
	KUNIT_ASSERT_EQ(test, READ_ONCE(mine->fill), (u64)KT_CHUNK + 128);

	head = READ_ONCE(v->cons->head);
	WRITE_ONCE(v->cons->head, KT_CHUNK + 128);
	KUNIT_EXPECT_EQ(test, kt_unpin_scan(ring, &from, &to), 1U);
	KUNIT_EXPECT_EQ(test, READ_ONCE(mine->fill), READ_ONCE(mine->end));
	WRITE_ONCE(v->cons->head, head);

	/* The other CPU's record; its chunk is still open, so nothing more. */
	kt_read_past_the_other_chunk(test, &c, ring, 1);
	kc_detach(&c);
	mpmcring_destroy(ring);
}

/*
 * The statistics account for every byte prod_pos moved: the records'
 * spans and the fillers, those a reservation closed (mpr_env_chunk_closed())
 * and those the tick's close did (mpmcring_chunks_close()).
 */
static void chunk_fillers_counted(struct kunit *test)
{
	struct mpmcring *ring = kt_chunk_ring(test, 0);
	const struct mpr_view *v = mpmcring_kunit_view(ring);
	struct mpmcring_stats *st;
	u64 pos[5];
	int i;

	st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, st);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->chunk_bytes, (u64)KT_CHUNK);
	KUNIT_EXPECT_EQ(test, st->chunk_filler_bytes, 0ULL);
	/* One CPU's chunk throughout. */
	get_cpu();
	for (i = 0; i < 3; i++)
		pos[i] = kt_chunk_record(ring, 56, i);
	/*
	 * 900 bytes (912 with the header) do not fit the 832 left, and are
	 * over half a chunk: the reservation closes the chunk, then takes
	 * its record alone, where the next chunk opens after it.
	 */
	pos[3] = kt_chunk_record(ring, 900, 3);
	pos[4] = kt_chunk_record(ring, 56, 4);
	put_cpu();
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, pos[i], (u64)64 * i);
	KUNIT_EXPECT_EQ(test, pos[3], (u64)KT_CHUNK);
	KUNIT_EXPECT_EQ(test, pos[4], (u64)KT_CHUNK + 912);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->chunk_filler_bytes, (u64)KT_CHUNK - 3 * 64);
	KUNIT_EXPECT_EQ(test, mpmcring_chunks_close(ring), 1U);
	mpmcring_get_stats(ring, st);
	KUNIT_EXPECT_EQ(test, st->chunk_filler_bytes, (u64)KT_CHUNK - 3 * 64 + KT_CHUNK - 64);
	/* Every byte behind prod_pos: four 64-byte records, one of 912. */
	KUNIT_EXPECT_EQ(test, READ_ONCE(v->meta->prod_pos), 4 * 64 + 912 + st->chunk_filler_bytes);
	KUNIT_EXPECT_EQ(test, st->produced_records, 5ULL);
	mpmcring_destroy(ring);
}

/* Eviction stops at a chunk's unfilled space: overwrite rings take none. */
static void chunk_overwrite_refused(struct kunit *test)
{
	struct mpmcring_params p = {
		.name = "kunit",
		.size = 65536,
		.mode = MPMCRING_MODE_OVERWRITE,
		.chunk_bytes = 1024,
		.flags = MPMCRING_CREATE_NO_LEASE,
	};

	KUNIT_EXPECT_EQ(test, PTR_ERR(mpmcring_create(&p)), -EINVAL);
}

static void chunk_ring_too_small_refused(struct kunit *test)
{
	struct mpmcring_params p = {
		.name = "kunit",
		.size = 4096,
		.chunk_bytes = 4096,
		.flags = MPMCRING_CREATE_NO_LEASE,
	};
	struct mpmcring *ring;
	u32 cap = (4096 / 4 / (4 * num_possible_cpus())) & ~7U;

	/*
	 * A quarter of the ring over every possible CPU's four levels, and
	 * at least 64 bytes (four 8-byte headers and granules).
	 */
	ring = mpmcring_create(&p);
	if (cap < 64) {
		KUNIT_EXPECT_EQ(test, PTR_ERR(ring), -EINVAL);
		return;
	}
	KUNIT_ASSERT_FALSE(test, IS_ERR(ring));
	KUNIT_EXPECT_EQ(test, ring->chunk_bytes, cap);
	mpmcring_destroy(ring);
}

/*
 * A chunk opens only within the lowest class's limit: chunk_bytes is
 * capped at a quarter of it, so that chunks open while the ring is below
 * three quarters of that room. Before, a chunk above the limit was taken
 * and never opened, every record going alone through the slow path while
 * the statistics reported chunks. A cap under four records is refused.
 */
static void chunk_capped_by_lowest_limit(struct kunit *test)
{
	u64 size = max_t(u64, roundup_pow_of_two(16ULL * KT_CHUNK * num_possible_cpus()),
			 65536);
	struct mpmcring_params p = {
		.name = "kunit",
		.size = size,
		.chunk_bytes = KT_CHUNK,
		.flags = MPMCRING_CREATE_NO_LEASE | MPMCRING_CREATE_WATERMARKS,
	};
	struct mpmcring *ring;
	int i, ret[2];
	u64 prod;

	/* The low class may fill 2048 bytes: chunks of 512. */
	p.watermark[MPMCRING_PRIO_LOW] = size - 2048;
	ring = mpmcring_create(&p);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ring));
	KUNIT_EXPECT_EQ(test, ring->chunk_bytes, 512U);
	/* A failed step ends the case: 6.1 keeps 512 bytes of its log. */
	if (test->status == KUNIT_FAILURE) {
		mpmcring_destroy(ring);
		return;
	}
	/* And they open: one step on prod_pos for two records (one CPU). */
	preempt_disable();
	for (i = 0; i < 2; i++)
		ret[i] = kt_output(ring, 56, MPMCRING_PRIO_LOW, 1, MPR_CTX_TASK, i);
	preempt_enable();
	KUNIT_EXPECT_EQ(test, ret[0], 0);
	KUNIT_EXPECT_EQ(test, ret[1], 0);
	prod = READ_ONCE(ring->view.meta->prod_pos);
	KUNIT_EXPECT_EQ(test, prod, 512ULL);
	mpmcring_chunks_close(ring);
	mpmcring_destroy(ring);

	/* 200 bytes: a quarter is under four records of the granule. */
	p.watermark[MPMCRING_PRIO_LOW] = size - 200;
	ring = mpmcring_create(&p);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(ring), -EINVAL);
	/* Taken after all: out of the way of later cases. */
	if (!IS_ERR(ring))
		mpmcring_destroy(ring);
}

static struct kunit_case chunk_cases[] = {
	KUNIT_CASE(chunk_records_share_one_step),
	KUNIT_CASE(chunk_output_fills_the_chunk),
	KUNIT_CASE(chunk_close_frees_records_behind),
	KUNIT_CASE(chunk_stats_count_past_open_chunks),
	KUNIT_CASE(chunk_refusal_unpins),
	KUNIT_CASE(chunk_quiet_is_closed),
	KUNIT_CASE(chunk_stuck_head_unpinned_at_once),
	KUNIT_CASE(chunk_stuck_rule_once_per_position),
	KUNIT_CASE(chunk_close_wakes_a_reader_behind_it),
	KUNIT_CASE(chunk_hostile_head_closes_only_that_chunk),
	KUNIT_CASE(chunk_fillers_counted),
	KUNIT_CASE(chunk_overwrite_refused),
	KUNIT_CASE(chunk_ring_too_small_refused),
	KUNIT_CASE(chunk_capped_by_lowest_limit),
	{}
};

static struct kunit_suite chunk_suite = {
	.name = "mpmcring_chunk",
	.test_cases = chunk_cases,
};
kunit_test_suite(chunk_suite);
