// SPDX-License-Identifier: GPL-2.0-only
/*
 * Chunked reservation (proto/mpmcring_chunk.h) on one thread, where every
 * position is known: records of a chunk move prod_pos once; the rest of a
 * closed chunk is one discarded record consumers pass over; a record a
 * chunk does not suit goes alone after the chunk is closed, so one
 * producer's records keep their order; chunks open only within the lowest
 * class limit, where records of every class share them, and past it every
 * record goes alone, so every byte of a chunk was admitted within every
 * class's limit (an opening past it as reclaim last left the ring
 * reclaims once first); chunks refuse nothing a reservation per record
 * would take. stress_test -K/-X runs the same path on threads, with a
 * closer racing the producers.
 */
#include <errno.h>
#include <string.h>

#include "tap.h"
#include "hostring.h"
#include "internal.h"

#define KB 1024

struct fix {
	struct hostring h;
	struct mpmcring *r;
	struct mpmcring_consumer *c;
};

static bool setup(struct tap *t, struct fix *f, uint64_t size, uint64_t chunk, uint64_t initial_pos,
		  const uint64_t *wm)
{
	struct hostring_params p = { .size = size,
				     .producers = 1,
				     .max_consumers = 2,
				     .initial_pos = initial_pos,
				     .chunk_bytes = chunk,
				     .watermarks = true };

	if (wm)
		memcpy(p.wm, wm, sizeof(p.wm));
	memset(f, 0, sizeof(*f));
	CHECK(t, !hostring_init(&f->h, &p), "hostring_init");
	if (t->failed)
		return false;
	f->r = mpmcring__open_memory(f->h.cons, f->h.ro, &f->h.layout);
	f->c = f->r ? mpmcring_consumer_new(f->r) : NULL;
	CHECK(t, f->c, "attach: %s", mpmcring_errmsg());
	return !t->failed;
}

static void teardown(struct fix *f)
{
	mpmcring_consumer_free(f->c);
	mpmcring_close(f->r);
	hostring_destroy(&f->h);
}

static uint64_t prod_pos(struct fix *f)
{
	return f->h.v.meta->prod_pos;
}

/* The record reserved at pos, len bytes, holding seq: committed. */
static void commit_seq(struct fix *f, uint64_t pos, uint32_t len, uint32_t seq)
{
	memset(hostring_payload(&f->h, pos), 0, len);
	memcpy(hostring_payload(&f->h, pos), &seq, sizeof(seq));
	hostring_commit(&f->h, 0, pos, len);
}

/* Reserves and commits one record of len bytes holding seq; its position. */
static uint64_t put(struct tap *t, struct fix *f, uint32_t len, unsigned int prio, uint32_t seq)
{
	uint64_t pos = 0;
	int ret = hostring_reserve_chunked(&f->h, 0, len, prio, &pos);

	CHECK(t, ret == 0, "reserve %u bytes: %d", len, ret);
	if (ret)
		return 0;
	commit_seq(f, pos, len, seq);
	return pos;
}

/* Reads every claimable record: each must carry the next seq. */
static unsigned int drain(struct tap *t, struct fix *f, uint32_t *seq)
{
	struct mpmcring_record rec;
	unsigned int n = 0;
	uint32_t got;

	while (mpmcring_read(f->c, &rec) == 0) {
		memcpy(&got, rec.data, sizeof(got));
		CHECK(t, got == *seq, "record %u where %u was next", got, *seq);
		(*seq)++;
		n++;
		mpmcring_commit(f->c);
	}
	return n;
}

/* The chunk size a ring of size bytes gives producers asking for want. */
static uint64_t chunk_size(uint64_t size, unsigned int producers, uint64_t want)
{
	struct hostring h;
	uint64_t got;

	if (hostring_init(&h, &(struct hostring_params){
				      .size = size, .producers = producers, .chunk_bytes = want }))
		return (uint64_t)-1;
	got = h.chunk_bytes;
	hostring_destroy(&h);
	return got;
}

static void t_chunk_bytes_capped(struct tap *t)
{
	CHECK_EQ(t, chunk_size(64 * KB, 1, 4 * KB), 4 * KB);
	/* A quarter of the ring over all producers' chunks. */
	CHECK_EQ(t, chunk_size(64 * KB, 16, 4 * KB), 1 * KB);
	/* Granule-aligned. */
	CHECK_EQ(t, chunk_size(64 * KB, 1, 1000), 1000 & ~7);
	/* A filler is one record the walkers take: max_record (half the
	 * ring here) plus its header at most. */
	CHECK_EQ(t, chunk_size(64 * KB, 1, 1 << 20), 16 * KB);
	/* Too small to pay: none (reservations per record). */
	CHECK_EQ(t, chunk_size(64 * KB, 1024, 4 * KB), 0);
}

static void t_records_of_a_chunk_move_prod_pos_once(struct tap *t, uint64_t initial)
{
	struct fix f;
	uint32_t seq = 0, i;
	uint64_t pos, first = 0;
	struct mpr_rec rec = { 0 };

	if (!setup(t, &f, 64 * KB, 1 * KB, initial, NULL))
		return;
	for (i = 0; i < 10; i++) {
		pos = put(t, &f, 56, MPMCRING_PRIO_NORMAL, i);
		if (!i)
			first = pos;
		CHECK(t, pos == first + 64 * i, "record %u at +%llu", i,
		      (unsigned long long)(pos - first));
		CHECK(t, prod_pos(&f) == initial + 1 * KB, "prod_pos +%llu after %u records",
		      (unsigned long long)(prod_pos(&f) - initial), i + 1);
	}
	CHECK_EQ(t, first, initial);
	/* The committed records are claimable while the chunk is open. */
	CHECK_EQ(t, drain(t, &f, &seq), 10);
	CHECK_EQ(t, hostring_waiting(&f.h), 0);
	/* Its rest, closed, is one discarded record of exactly that size. */
	CHECK(t, hostring_chunk_close(&f.h, 0), "the open chunk did not close");
	CHECK(t, !hostring_chunk_close(&f.h, 0), "a closed chunk closed again");
	CHECK_EQ(t, f.h.chunk_fillers, 1);
	CHECK_EQ(t, mpr_record_at(&f.h.v, first + 640, prod_pos(&f), &rec), MPR_REC_DISCARDED);
	CHECK_EQ(t, rec.size, 1 * KB - 640);
	/* The next record opens a chunk after it; consumers pass over the
	 * filler to it. */
	pos = put(t, &f, 56, MPMCRING_PRIO_NORMAL, 10);
	CHECK(t, pos == initial + 1 * KB, "the next chunk starts at +%llu",
	      (unsigned long long)(pos - initial));
	CHECK_EQ(t, drain(t, &f, &seq), 1);
	CHECK_EQ(t, seq, 11);
	teardown(&f);
}

static void t_chunk_records(struct tap *t)
{
	t_records_of_a_chunk_move_prod_pos_once(t, 0);
}

/* The same across the wrap of the 64-bit positions, mid-chunk. */
static void t_chunk_records_across_the_wrap(struct tap *t)
{
	t_records_of_a_chunk_move_prod_pos_once(t, (uint64_t)-320);
}

static void t_record_that_does_not_fit_closes_the_chunk(struct tap *t)
{
	struct fix f;
	uint32_t seq = 0;
	uint64_t a, b, c;
	struct mpr_rec rec = { 0 };

	if (!setup(t, &f, 64 * KB, 1 * KB, 0, NULL))
		return;
	/* 3 x 296 bytes = 888 of 1024: the fourth does not fit. */
	a = put(t, &f, 288, MPMCRING_PRIO_NORMAL, 0);
	put(t, &f, 288, MPMCRING_PRIO_NORMAL, 1);
	b = put(t, &f, 288, MPMCRING_PRIO_NORMAL, 2);
	c = put(t, &f, 288, MPMCRING_PRIO_NORMAL, 3);
	CHECK_EQ(t, b, a + 2 * 296);
	CHECK_EQ(t, c, a + 1 * KB);
	CHECK_EQ(t, f.h.chunk_fillers, 0); /* closed in the reservation: not counted */
	CHECK_EQ(t, mpr_record_at(&f.h.v, a + 3 * 296, c, &rec), MPR_REC_DISCARDED);
	CHECK_EQ(t, rec.size, 1 * KB - 3 * 296);
	/* A record that fits the rest goes there, whatever its size. */
	CHECK_EQ(t, put(t, &f, 400, MPMCRING_PRIO_NORMAL, 4), c + 296);
	/* Over half a chunk and not fitting the rest: alone, after the
	 * chunk is closed. */
	b = put(t, &f, 760, MPMCRING_PRIO_NORMAL, 5);
	CHECK_EQ(t, b, a + 2 * KB);
	CHECK_EQ(t, prod_pos(&f), a + 2 * KB + 768);
	CHECK_EQ(t, mpr_record_at(&f.h.v, c + 296 + 408, b, &rec), MPR_REC_DISCARDED);
	CHECK_EQ(t, rec.size, 1 * KB - 296 - 408);
	/* And the next small one opens a new chunk past it. */
	CHECK_EQ(t, put(t, &f, 56, MPMCRING_PRIO_NORMAL, 6), b + 768);
	CHECK_EQ(t, prod_pos(&f), b + 768 + 1 * KB);
	hostring_chunk_close(&f.h, 0);
	CHECK_EQ(t, drain(t, &f, &seq), 7);
	CHECK_EQ(t, hostring_waiting(&f.h), 0);
	teardown(&f);
}

/* n records of 56 bytes, one reservation each (no chunk). */
static void put_alone(struct tap *t, struct fix *f, unsigned int n, uint32_t *seq)
{
	uint64_t pos;

	while (n--) {
		CHECK(t, !hostring_reserve(&f->h, 0, 56, MPMCRING_PRIO_CRITICAL, &pos), "reserve");
		commit_seq(f, pos, 56, (*seq)++);
	}
}

/*
 * A chunk opens only within the lowest class limit: there records of every
 * class share it, and past it every record goes alone, so no class's
 * reserve above the low watermark goes to a chunk's unfilled rest (a low
 * record closing a critical chunk, once per critical record, spent it).
 */
static void t_chunks_open_within_every_class_limit(struct tap *t)
{
	/* Low may use half the ring, normal and critical all of it. */
	uint64_t wm[MPMCRING_NR_PRIO] = { [MPMCRING_PRIO_LOW] = 32 * KB };
	struct fix f;
	uint32_t seq = 0, i = 0;
	uint64_t a;
	int ret;

	if (!setup(t, &f, 64 * KB, 1 * KB, 0, wm))
		return;
	CHECK_EQ(t, f.h.chunk_open_max, 32 * KB);
	/* A critical record opens a chunk a low one may fill, and back. */
	a = put(t, &f, 56, MPMCRING_PRIO_CRITICAL, i++);
	CHECK_EQ(t, put(t, &f, 56, MPMCRING_PRIO_LOW, i++), a + 64);
	CHECK_EQ(t, put(t, &f, 56, MPMCRING_PRIO_CRITICAL, i++), a + 128);
	CHECK_EQ(t, prod_pos(&f), a + 1 * KB);
	CHECK(t, hostring_chunk_close(&f.h, 0), "close");
	/* To 128 bytes short of low's limit: no chunk fits there, two low
	 * records alone do. */
	put_alone(t, &f, (32 * KB - 128 - prod_pos(&f)) / 64, &i);
	CHECK_EQ(t, prod_pos(&f), 32 * KB - 128);
	CHECK_EQ(t, put(t, &f, 56, MPMCRING_PRIO_LOW, i++), 32 * KB - 128);
	CHECK_EQ(t, put(t, &f, 56, MPMCRING_PRIO_LOW, i++), 32 * KB - 64);
	CHECK_EQ(t, prod_pos(&f), 32 * KB);
	/* Then refused by priority, as without chunks. */
	ret = hostring_reserve_chunked(&f.h, 0, 56, MPMCRING_PRIO_LOW, &a);
	CHECK_EQ(t, ret, -ENOSPC);
	CHECK_EQ(t, f.h.prod[0].dropped[MPMCRING_DROP_PRIORITY][MPMCRING_PRIO_LOW], 1);
	/* Critical has the other half, a record at a time: no chunk opens
	 * past the low limit, and no filler takes its reserve. */
	CHECK_EQ(t, put(t, &f, 56, MPMCRING_PRIO_CRITICAL, i++), 32 * KB);
	CHECK_EQ(t, put(t, &f, 56, MPMCRING_PRIO_CRITICAL, i++), 32 * KB + 64);
	CHECK_EQ(t, prod_pos(&f), 32 * KB + 128);
	CHECK(t, !hostring_chunk_close(&f.h, 0), "no chunk open");
	CHECK_EQ(t, drain(t, &f, &seq), i);
	teardown(&f);
}

/*
 * Past the lowest limit as reclaim last left the ring: a critical record
 * alone would not reclaim until its own limit. While the consumers have not
 * claimed that backlog no reclaim could make room, and the record goes
 * alone; once they have, the opening reclaims once and the chunk opens.
 */
static void t_chunk_opening_reclaims_below_the_record_limit(struct tap *t)
{
	uint64_t wm[MPMCRING_NR_PRIO] = { [MPMCRING_PRIO_LOW] = 32 * KB };
	struct fix f;
	uint32_t seq = 0, i = 0;

	if (!setup(t, &f, 64 * KB, 1 * KB, 0, wm))
		return;
	/* The throttle on, a second apart: each question it is asked counts. */
	f.h.reclaim_gap_ns = 1000000000;
	put_alone(t, &f, (32 * KB - 512) / 64, &i);
	CHECK_EQ(t, put(t, &f, 56, MPMCRING_PRIO_CRITICAL, i++), 32 * KB - 512);
	CHECK_EQ(t, f.h.v.meta->reclaim_pos, 0);
	CHECK_EQ(t, f.h.due_checks, 0); /* not even asked: nothing to gain */
	CHECK_EQ(t, prod_pos(&f), 32 * KB - 448);
	CHECK_EQ(t, drain(t, &f, &seq), i);
	CHECK_EQ(t, put(t, &f, 56, MPMCRING_PRIO_CRITICAL, i++), 32 * KB - 448);
	CHECK_EQ(t, f.h.due_checks, 1); /* due: the head moved */
	CHECK_EQ(t, f.h.v.meta->reclaim_pos, 32 * KB - 448);
	CHECK_EQ(t, prod_pos(&f), 32 * KB - 448 + 1 * KB);
	CHECK(t, hostring_chunk_close(&f.h, 0), "close");
	CHECK_EQ(t, drain(t, &f, &seq), 1);
	teardown(&f);
}

/* Near full: what a record alone would get, a chunk does not refuse. */
static void t_full_ring_falls_back_to_one_record(struct tap *t)
{
	struct fix f;
	uint32_t seq = 0, i = 0;
	uint64_t pos;
	int ret;

	if (!setup(t, &f, 16 * KB, 1 * KB, 0, NULL))
		return;
	put_alone(t, &f, (16 * KB - 128) / 64, &i);
	CHECK_EQ(t, put(t, &f, 56, MPMCRING_PRIO_CRITICAL, i++), 16 * KB - 128);
	CHECK_EQ(t, put(t, &f, 56, MPMCRING_PRIO_CRITICAL, i++), 16 * KB - 64);
	ret = hostring_reserve_chunked(&f.h, 0, 56, MPMCRING_PRIO_CRITICAL, &pos);
	CHECK_EQ(t, ret, -ENOSPC);
	CHECK_EQ(t, f.h.prod[0].dropped[MPMCRING_DROP_FULL][MPMCRING_PRIO_CRITICAL], 1);
	/* Consumed, the space comes back: the reservation of a record
	 * alone reclaims it (a chunk's never does), then chunks again. */
	CHECK_EQ(t, drain(t, &f, &seq), i);
	CHECK_EQ(t, put(t, &f, 56, MPMCRING_PRIO_CRITICAL, i++), 16 * KB);
	CHECK_EQ(t, prod_pos(&f), 16 * KB + 64);
	CHECK_EQ(t, put(t, &f, 56, MPMCRING_PRIO_CRITICAL, i++), 16 * KB + 64);
	CHECK_EQ(t, prod_pos(&f), 17 * KB + 64);
	teardown(&f);
}

/*
 * A closer (the module's tick) that reads a chunk while its owner opens
 * the next one can see the new end with the old fill, the closed chunk's
 * end. That pair must not be closed: [fill, new end) holds other
 * producers' records and then the new chunk's first.
 */
static void t_closer_passes_over_a_chunk_being_opened(struct tap *t)
{
	struct fix f;
	struct mpr_chunk *c;
	struct mpr_rec rec = { 0 };
	uint32_t seq = 0;
	uint64_t a;

	if (!setup(t, &f, 64 * KB, 1 * KB, 0, NULL))
		return;
	a = put(t, &f, 56, MPMCRING_PRIO_NORMAL, 0);
	c = hostring_chunk(&f.h, 0);
	CHECK_EQ(t, c->fill, a + 64);
	CHECK_EQ(t, c->end, a + 1 * KB);
	/* Closed at a + 1 KiB; the owner has stored the next chunk's end
	 * (a + 2 KiB: another producer's chunk between) but not its fill. */
	c->fill = c->end;
	c->end = a + 3 * KB;
	CHECK(t, !hostring_chunk_close(&f.h, 0), "closed over a chunk being opened");
	CHECK_EQ(t, mpr_record_at(&f.h.v, a + 1 * KB, a + 3 * KB, &rec), MPR_REC_NONE);
	/* The same end with the new chunk's fill: an open chunk, closed. */
	c->fill = a + 2 * KB + 64;
	CHECK(t, hostring_chunk_close(&f.h, 0), "the open chunk did not close");
	CHECK_EQ(t, mpr_record_at(&f.h.v, a + 2 * KB + 64, a + 3 * KB, &rec), MPR_REC_DISCARDED);
	CHECK_EQ(t, rec.size, 1 * KB - 64);
	CHECK_EQ(t, drain(t, &f, &seq), 1);
	teardown(&f);
}

/*
 * The owner's first look, run by a program probed between an opener's two
 * stores at the same level, sees the new end with the old fill: room far
 * larger than an open chunk has. It must not take [old fill, ...), other
 * producers' records, but go the slow way.
 */
static void t_first_look_passes_over_a_chunk_being_opened(struct tap *t)
{
	struct fix f;
	struct mpr_chunk *c;
	uint32_t seq = 0;
	uint64_t a, b, pos;

	if (!setup(t, &f, 64 * KB, 1 * KB, 0, NULL))
		return;
	put(t, &f, 56, MPMCRING_PRIO_NORMAL, 0);
	CHECK(t, hostring_chunk_close(&f.h, 0), "close");
	/* Two records alone at 1 KiB: another producer's, say. */
	CHECK_EQ(t, hostring_reserve(&f.h, 0, 56, MPMCRING_PRIO_NORMAL, &a), 0);
	CHECK_EQ(t, hostring_reserve(&f.h, 0, 56, MPMCRING_PRIO_NORMAL, &b), 0);
	CHECK_EQ(t, a, 1 * KB);
	/* The opener of the next chunk stored its end, not yet its fill
	 * (busy: it is in its slow path; either tells the look to keep off). */
	c = hostring_chunk(&f.h, 0);
	CHECK_EQ(t, c->fill, 1 * KB);
	c->end = b + 64 + 1 * KB;
	c->busy = 1;
	CHECK_EQ(t, hostring_reserve_chunked(&f.h, 0, 56, MPMCRING_PRIO_NORMAL, &pos), 0);
	CHECK(t, pos != a, "took %llu, where another producer's record is", (unsigned long long)a);
	CHECK_EQ(t, pos, b + 64);
	c->busy = 0;
	commit_seq(&f, a, 56, 1);
	commit_seq(&f, b, 56, 2);
	commit_seq(&f, pos, 56, 3);
	hostring_chunk_close(&f.h, 0);
	CHECK_EQ(t, drain(t, &f, &seq), 4);
	teardown(&f);
}

/*
 * A ring that starts just below 2^64: its chunks start closed at the first
 * position, not at zero, which would be ahead of the first chunk; a closer
 * seeing that chunk's end with the fill before it would frame [0, end),
 * the opener's records, as its filler.
 */
static void t_closer_passes_over_the_first_chunk_across_the_wrap(struct tap *t)
{
	const uint64_t initial = (uint64_t)-320;
	struct fix f;
	struct mpr_chunk *c;
	struct mpr_rec rec = { 0 };
	uint32_t seq = 0;

	if (!setup(t, &f, 64 * KB, 1 * KB, initial, NULL))
		return;
	c = hostring_chunk(&f.h, 0);
	CHECK_EQ(t, c->fill, initial);
	CHECK_EQ(t, c->end, initial);
	/* The opener of [initial, initial + 1 KiB) stored end, not fill. */
	c->end = initial + 1 * KB;
	CHECK(t, !hostring_chunk_close(&f.h, 0), "closed over the first chunk being opened");
	CHECK_EQ(t, mpr_record_at(&f.h.v, 0, initial + 1 * KB, &rec), MPR_REC_NONE);
	c->end = initial;
	CHECK_EQ(t, put(t, &f, 56, MPMCRING_PRIO_NORMAL, 0), initial);
	CHECK_EQ(t, drain(t, &f, &seq), 1);
	teardown(&f);
}

/* What the hook re-entered with: the inner record's position. */
struct reenter {
	struct tap *t;
	struct fix *f;
	int calls;
	uint64_t pos;
};

static void reserve_again(struct hostring *h, void *arg)
{
	struct reenter *r = arg;

	if (r->calls++)
		return;
	r->pos = put(r->t, r->f, 56, MPMCRING_PRIO_NORMAL, 100);
	(void)h;
}

/* Every position from 0 to prod_pos is a finished record. */
static void check_all_framed(struct tap *t, struct fix *f)
{
	struct mpr_rec rec = { 0 };
	uint64_t pos;
	unsigned int n = 0;
	int st;

	for (pos = 0; pos != prod_pos(f) && n < 100; pos += rec.size, n++) {
		st = mpr_record_at(&f->h.v, pos, prod_pos(f), &rec);
		if (st != MPR_REC_COMMITTED && st != MPR_REC_DISCARDED)
			break;
	}
	CHECK(t, pos == prod_pos(f), "nothing finished at %llu, prod_pos %llu",
	      (unsigned long long)pos, (unsigned long long)prod_pos(f));
}

/*
 * A reservation can be re-entered at the same level where it calls out (a
 * tracing program on the module's wake check, or on what reclaim calls,
 * producing into the same ring). Here: where it closes its chunk. This
 * one is safe without the busy word too (the outer looks at its chunk
 * again after the call); the next one is not.
 */
static void t_reentry_while_closing(struct tap *t)
{
	struct reenter r = { .t = t };
	struct fix f;
	uint64_t a, b;

	if (!setup(t, &f, 64 * KB, 1 * KB, 0, NULL))
		return;
	r.f = &f;
	a = put(t, &f, 400, MPMCRING_PRIO_NORMAL, 0);
	put(t, &f, 400, MPMCRING_PRIO_NORMAL, 1);
	f.h.reenter = reserve_again;
	f.h.hook_arg = &r;
	/* 816 of 1024 taken: this one closes the chunk, then the hook. */
	b = put(t, &f, 300, MPMCRING_PRIO_NORMAL, 2);
	f.h.reenter = NULL;
	CHECK_EQ(t, a, 0);
	CHECK_EQ(t, r.pos, 1 * KB);
	CHECK_EQ(t, b, r.pos + 64);
	hostring_chunk_close(&f.h, 0);
	check_all_framed(t, &f);
	teardown(&f);
}

/*
 * Here: while it reserves a new chunk (between reading prod_pos and the
 * compare-and-swap). The inner reservation goes alone; had it opened a
 * chunk, the outer's stores of its own chunk would overwrite that one's
 * state and leave its rest unframed for good.
 */
static void t_reentry_while_opening_reserves_alone(struct tap *t)
{
	struct reenter r = { .t = t };
	struct fix f;
	uint64_t b;

	if (!setup(t, &f, 64 * KB, 1 * KB, 0, NULL))
		return;
	r.f = &f;
	f.h.reenter = reserve_again;
	f.h.hook_arg = &r;
	b = put(t, &f, 56, MPMCRING_PRIO_NORMAL, 0);
	f.h.reenter = NULL;
	CHECK_EQ(t, r.calls, 3); /* the outer's look, the inner's, the outer's again */
	CHECK_EQ(t, r.pos, 0);
	CHECK_EQ(t, b, 64);
	CHECK_EQ(t, prod_pos(&f), 64 + 1 * KB);
	hostring_chunk_close(&f.h, 0);
	check_all_framed(t, &f);
	teardown(&f);
}

/*
 * The consumers' head is user-writable, and a chunked ring reads it once
 * more on the producer's path: an opening that finds no room under the
 * lowest class limit asks whether a reclaim up to the head would make
 * room, and runs one (throttled: the head is the throttle's hint too).
 * Each opening that needs that reclaim meets a head of one of eight
 * kinds, each kind with the throttle off and on in turn, until every
 * pair has come (a kind that reclaims nothing leaves the next record's
 * opening needing it again); a head moved on may cost records
 * (reclaim clamps it to where it can go: records it passes are consumed)
 * or a refusal, never an overlap: every reservation lies past the one
 * before and within the ring's window over reclaim_pos. With the head
 * sane, reclaim never passes it, and the consumer reads every record,
 * whole and in order, but those a hostile head let reclaim take. The
 * module's other read, the unpin scan, is KUnit's
 * chunk_hostile_head_closes_only_that_chunk.
 */
static void t_hostile_head_on_a_chunked_ring(struct tap *t)
{
	uint64_t wm[MPMCRING_NR_PRIO] = { [MPMCRING_PRIO_LOW] = 32 * KB };
	uint64_t sane, pos, last = 0, r, r0, before;
	uint32_t i = 0, refused = 0, k, got, next = 0, needy = 0, kind, cell = 0;
	uint32_t reclaimed[2] = { 0 }, met[16] = { 0 }, left = 16;
	struct mpmcring_record rec;
	struct mpr_chunk *ch;
	struct fix f;
	bool opens;
	int ret;

	if (!setup(t, &f, 64 * KB, 1 * KB, 0, wm))
		return;
	for (k = 0; k < 50000 && left && !t->failed; k++) {
		sane = f.h.v.cons->head;
		ch = hostring_chunk(&f.h, 0);
		/*
		 * No room for the record in the chunk, none for a chunk under
		 * the low limit: this call opens one only after a reclaim.
		 */
		opens = ch->end - ch->fill < 64 &&
			prod_pos(&f) + 1 * KB - f.h.v.meta->reclaim_pos > 32 * KB;
		cell = needy % 16;
		kind = cell % 8;
		f.h.reclaim_gap_ns = opens && cell >= 8 ? 1000000000 : 0;
		if (opens) {
			switch (kind) {
			case 0:
				f.h.v.cons->head = sane + 3;
				break;
			case 1:
				f.h.v.cons->head = prod_pos(&f) + 8 * 64 * KB;
				break;
			case 2:
				f.h.v.cons->head = prod_pos(&f) - 8;
				break;
			case 3:
				f.h.v.cons->head = ch->fill;
				break;
			case 4:
				f.h.v.cons->head = 0;
				break;
			case 5:
				f.h.v.cons->head = UINT64_MAX;
				break;
			case 6:
				f.h.v.cons->head = sane - 64 * KB;
				break;
			default:
				break;
			}
			left -= !met[cell]++;
			needy++;
		}
		r0 = f.h.v.meta->reclaim_pos;
		before = prod_pos(&f) - r0;
		ret = hostring_reserve_chunked(&f.h, 0, 56, MPMCRING_PRIO_CRITICAL, &pos);
		r = f.h.v.meta->reclaim_pos;
		/* A reclaim with room for the record alone: the opening's. */
		if (opens && r != r0 && before + 64 <= 64 * KB)
			reclaimed[cell >= 8]++;
		CHECK(t, opens || r <= sane, "reclaim_pos %llu past a sane head %llu",
		      (unsigned long long)r, (unsigned long long)sane);
		f.h.v.cons->head = sane < r ? r : sane;
		if (ret) {
			CHECK_EQ(t, ret, -ENOSPC);
			refused++;
		} else {
			CHECK(t, !i || pos >= last + 64,
			      "record %u at %llu, the one before at %llu", i,
			      (unsigned long long)pos, (unsigned long long)last);
			CHECK(t, pos >= r && pos + 64 <= r + 64 * KB,
			      "record %u at %llu, outside the window over reclaim_pos %llu", i,
			      (unsigned long long)pos, (unsigned long long)r);
			commit_seq(&f, pos, 56, i++);
			last = pos;
		}
		CHECK(t, r <= prod_pos(&f), "reclaim_pos %llu past prod_pos %llu",
		      (unsigned long long)r, (unsigned long long)prod_pos(&f));
		/* Every 100 records a consumer reads what it can: whole, in order. */
		if (k % 100 == 99) {
			while ((ret = mpmcring_read(f.c, &rec)) == 0) {
				memcpy(&got, rec.data, sizeof(got));
				CHECK(t, rec.len == 56 && got >= next && got < i,
				      "read record %u (%u bytes), %u next, %u sent", got, rec.len,
				      next, i);
				next = got + 1;
				mpmcring_commit(f.c);
			}
			CHECK_EQ(t, ret, -EAGAIN);
		}
	}
	CHECK(t, !left, "%u of 16 (head kind, throttle) pairs met no opening in %u records", left,
	      k);
	CHECK(t, i > k / 2, "only %u of %u records reserved (%u refused)", i, k, refused);
	/* The head's read reached: some openings reclaimed, throttle on and off. */
	CHECK(t, reclaimed[0] && reclaimed[1], "openings reclaimed: throttle off %u, on %u",
	      reclaimed[0], reclaimed[1]);
	CHECK(t, f.h.due_checks > 0, "the throttle was never asked");
	/* Then 50 more, all read in order. */
	hostring_chunk_close(&f.h, 0);
	while (mpmcring_read(f.c, &rec) == 0)
		mpmcring_commit(f.c);
	next = i;
	for (k = 0; k < 50; k++)
		put(t, &f, 56, MPMCRING_PRIO_CRITICAL, i++);
	hostring_chunk_close(&f.h, 0);
	CHECK_EQ(t, drain(t, &f, &next), 50);
	teardown(&f);
}

/* Overwrite rings take no chunks: eviction stops at an open one. */
static void t_overwrite_ring_takes_no_chunks(struct tap *t)
{
	struct hostring h;

	CHECK_EQ(t,
		 hostring_init(&h, &(struct hostring_params){ .size = 64 * KB,
							      .producers = 1,
							      .mode = MPMCRING_MODE_OVERWRITE,
							      .chunk_bytes = 1 * KB }),
		 0);
	CHECK_EQ(t, h.chunk_bytes, 0);
	hostring_destroy(&h);
}

int main(void)
{
	static const struct tap_test tests[] = {
		{ "chunk_bytes_capped", t_chunk_bytes_capped },
		{ "chunk_records", t_chunk_records },
		{ "chunk_records_across_the_wrap", t_chunk_records_across_the_wrap },
		{ "record_that_does_not_fit_closes_the_chunk",
		  t_record_that_does_not_fit_closes_the_chunk },
		{ "chunks_open_within_every_class_limit", t_chunks_open_within_every_class_limit },
		{ "chunk_opening_reclaims_below_the_record_limit",
		  t_chunk_opening_reclaims_below_the_record_limit },
		{ "full_ring_falls_back_to_one_record", t_full_ring_falls_back_to_one_record },
		{ "closer_passes_over_a_chunk_being_opened",
		  t_closer_passes_over_a_chunk_being_opened },
		{ "first_look_passes_over_a_chunk_being_opened",
		  t_first_look_passes_over_a_chunk_being_opened },
		{ "closer_passes_over_the_first_chunk_across_the_wrap",
		  t_closer_passes_over_the_first_chunk_across_the_wrap },
		{ "reentry_while_closing", t_reentry_while_closing },
		{ "reentry_while_opening_reserves_alone", t_reentry_while_opening_reserves_alone },
		{ "overwrite_ring_takes_no_chunks", t_overwrite_ring_takes_no_chunks },
		{ "hostile_head_on_a_chunked_ring", t_hostile_head_on_a_chunked_ring },
	};

	return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
