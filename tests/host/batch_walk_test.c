// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring_batch_next()'s two walks, on real rings (hostring, the library
 * attached to its memory): the dense step (mpr_lib_next_dense(): a batch
 * whose claim took no discarded record, headers only) against the stamp
 * walk every batch took before it (mpr_lib_next(): the same batch with
 * priv[0] cleared). Random records (committed, discarded, one left
 * unfinished; lengths up to max_record; granules of 8 to 64 bytes),
 * positions low, random and wrapping past 2^64, random claim limits.
 *
 * On every batch: read_batch marks it dense exactly when no discarded
 * record lies in [cur, end) (the producer side knows where they are), and
 * both walks hand out the same records, byte for byte, as many as the
 * batch says, their payload bytes adding up to its bytes. Then, on some,
 * what a revoked claim can meet: header words scribbled over with garbage
 * (lengths zero, fitting, too long, huge), stamps made stale (not forged:
 * only the kernel writes stamps), and both walks forced over the same range (the dense one over discards
 * too): each must hand out only records that start inside [cur, end),
 * each after the last, no longer than max_record, payload inside the data
 * area's two mappings, no more than the batch's count, and end. After a
 * head a co-tenant could write (any word, off the granule, written back
 * onto an earlier record, reclaim_pos, prod_pos), a batch the claim
 * hands out is stepped through alike both ways. And mpmcring_consume()
 * with claims past the 64 records it keeps, whose rest it walks again,
 * stopped by its callback at random and finished by mpmcring_read():
 * every record the producer's next committed one, its length and payload
 * as written. A fixed seed: every run makes the same rings. Exits
 * non-zero on any difference.
 *
 *   batch_walk_test [rounds]   (default 3000)
 */
#include <errno.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostring.h"
#include "internal.h"
#include "mpmcring.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static unsigned long failures, batches, dense_batches, scribbled;

/* The first 20 failures are told (one out of step makes many more). */
#define FAIL(...)                                                         \
	do {                                                              \
		if (failures++ < 20) {                                    \
			fprintf(stderr, "batch_walk_test: " __VA_ARGS__); \
			fputc('\n', stderr);                              \
		}                                                         \
	} while (0)

/* Discarded records' positions not yet consumed, oldest first. */
#define MAX_DISCARDS 4096
static uint64_t discards[MAX_DISCARDS];
static unsigned int ndiscards;

static bool discard_in(uint64_t from, uint64_t to)
{
	unsigned int i;

	for (i = 0; i < ndiscards; i++)
		if (discards[i] - from < to - from)
			return true;
	return false;
}

/* Forgets the discards before pos (consumed). */
static void discards_drop_before(uint64_t pos)
{
	unsigned int i, k = 0;

	for (i = 0; i < ndiscards; i++)
		if ((int64_t)(discards[i] - pos) >= 0)
			discards[k++] = discards[i];
	ndiscards = k;
}

/*
 * One walk over a batch, checking only what must hold whatever the ring
 * holds: every record inside [cur, end) of the batch as it started, each
 * after the last, its payload inside the data's two mappings; no more
 * records than the batch says it holds (callers size arrays by it: the
 * stamp walk can only find records the claim took, so it never gave
 * more), nor more payload bytes (callers size buffers by them).
 */
static unsigned int walk_safe(struct hostring *h, struct mpmcring_batch *b, const char *what)
{
	const unsigned char *lo = h->v.data, *hi = h->v.data + 2 * h->layout.data_size;
	uint64_t start = b->cur, end = b->end, last = 0, bytes = 0;
	struct mpmcring_record rec;
	unsigned int n = 0, bound = b->records;

	while (mpmcring_batch_next(b, &rec)) {
		bytes += rec.len;
		if (bytes > b->bytes) {
			FAIL("%s: %llu payload bytes handed out, the batch holds %llu", what,
			     (unsigned long long)bytes, (unsigned long long)b->bytes);
			break;
		}
		if (rec.pos - start >= end - start || (n && rec.pos - start <= last - start))
			FAIL("%s: record at %#llx outside [%#llx, %#llx) or not after the last",
			     what, (unsigned long long)rec.pos, (unsigned long long)start,
			     (unsigned long long)end);
		if ((const unsigned char *)rec.data < lo ||
		    (const unsigned char *)rec.data + rec.len > hi)
			FAIL("%s: payload of %u bytes at %p outside the data [%p, %p)", what,
			     rec.len, rec.data, (const void *)lo, (const void *)hi);
		if (rec.len > h->v.max_record)
			FAIL("%s: len %u past max_record %u", what, rec.len, h->v.max_record);
		if (rec.reserved || rec.reserved2[0] || rec.reserved2[1])
			FAIL("%s: reserved fields not 0", what);
		last = rec.pos;
		if (++n > bound) {
			FAIL("%s: more than the %u records the batch holds", what, bound);
			break;
		}
	}
	return n;
}

/* Garbage where a revoked claim's space may be rewritten: headers, stamps. */
static void scribble(struct hostring *h, uint64_t start, uint64_t end)
{
	uint64_t gran = 1ULL << h->v.gshift, span = (end - start) >> h->v.gshift;
	unsigned int i, k = 1 + rnd() % 6;

	/*
	 * No forged stamps (one vouching for a garbage header): only the
	 * kernel writes stamps, and a stamp walk that believes them could
	 * hand out more records than the batch's count.
	 */

	for (i = 0; i < k; i++) {
		uint64_t pos = start + (rnd() % span) * gran, w;
		uint64_t *hdr = (uint64_t *)(h->v.data + (pos & h->v.data_mask));

		switch (rnd() % 6) {
		case 5: /* a length that fits the claim's span: more than its bytes */
			w = end - pos - MPMCRING_HDR_SIZE;
			if (w > h->v.max_record)
				w = h->v.max_record;
			w = (*hdr & ~0xffffffffULL) | (w - rnd() % (w + 1) / 4);
			break;
		case 0: /* any word */
			w = rnd();
			break;
		case 1: /* a length just too long */
			w = (*hdr & ~0xffffffffULL) | (h->v.max_record + 1 + rnd() % 64);
			break;
		case 2: /* a length that fits the ring, not the claim */
			w = (*hdr & ~0xffffffffULL) | (uint32_t)(end - pos + rnd() % 256);
			break;
		case 3: /* zero */
			w = 0;
			break;
		default: /* a stale stamp: an earlier lap's */
			h->v.stamps[(pos & h->v.data_mask) >> h->v.gshift] =
				(pos - h->layout.data_size) | MPMCRING_STAMP_COMMITTED;
			continue;
		}
		*hdr = w;
	}
	scribbled++;
}

/*
 * The shared head, user-writable, set to what a co-tenant might write:
 * any word, off the granule, back onto an earlier record still in the
 * ring (back), reclaim_pos, prod_pos.
 */
static void garbage_head(struct hostring *h, uint64_t back)
{
	__u64 *head = &h->v.cons->head;
	uint64_t v;

	switch (rnd() % 5) {
	case 0:
		v = rnd();
		break;
	case 1:
		v = *head + 1 + rnd() % ((1u << h->v.gshift) - 1);
		break;
	case 2:
		v = back;
		break;
	case 3:
		v = h->v.meta->reclaim_pos;
		break;
	default:
		v = h->v.meta->prod_pos;
		break;
	}
	*head = v;
}

/* The dense step and the stamp walk over one batch: the same records. */
static unsigned int same_walks(struct mpmcring_batch *b, const char *how)
{
	struct mpmcring_batch ref = *b;
	struct mpmcring_record r1, r2;
	unsigned int k = 0;

	ref.priv[0] = 0; /* the stamp walk */
	for (;;) {
		int a = mpmcring_batch_next(b, &r1), c = mpmcring_batch_next(&ref, &r2);

		if (a != c) {
			FAIL("%s: record %u: batch_next %d, stamp walk %d", how, k, a, c);
			return k;
		}
		if (!a)
			break;
		if (memcmp(&r1, &r2, sizeof(r1)))
			FAIL("%s: record %u at %#llx differs (len %u / %u, data %p / %p)", how, k,
			     (unsigned long long)r2.pos, r1.len, r2.len, r1.data, r2.data);
		k++;
	}
	if (b->cur != ref.cur)
		FAIL("%s: ended at %#llx, the stamp walk at %#llx", how, (unsigned long long)b->cur,
		     (unsigned long long)ref.cur);
	return k;
}

static unsigned long heads, head_batches;

static void check_batch(struct hostring *h, struct mpmcring_batch *b, int n, bool adversarial)
{
	struct mpmcring_batch ref = *b, forced;
	struct mpmcring_record r1, r2;
	uint64_t bytes = 0;
	unsigned int k = 0;
	bool dense = !discard_in(b->cur, b->end);

	batches++;
	/* The caller's batch was filled with 0xa5 first: none of it left. */
	if (b->reserved || b->reserved2[0] || b->reserved2[1] || b->priv[2] != b->bytes ||
	    b->priv[3])
		FAIL("reserved fields or priv[3] not 0, or priv[2] not the bytes: %#x %#llx %#llx %#llx %#llx",
		     b->reserved, (unsigned long long)b->reserved2[0],
		     (unsigned long long)b->reserved2[1], (unsigned long long)b->priv[2],
		     (unsigned long long)b->priv[3]);
	if (b->records != (uint32_t)n)
		FAIL("records %u, read_batch returned %d", b->records, n);
	if ((b->priv[0] == 1) != dense)
		FAIL("batch [%#llx, %#llx) marked %s, holds %s discarded record",
		     (unsigned long long)b->cur, (unsigned long long)b->end,
		     b->priv[0] == 1 ? "dense" : "not dense", dense ? "no" : "a");
	dense_batches += b->priv[0] == 1;
	if (adversarial) {
		scribble(h, b->cur, b->end);
		forced = *b;
		forced.priv[0] = 1; /* the dense step, discards or not */
		ref.priv[0] = 0;
		walk_safe(h, &forced, "dense step over garbage");
		walk_safe(h, &ref, "stamp walk over garbage");
		b->cur = b->end;
		return;
	}
	ref.priv[0] = 0; /* the stamp walk */
	for (;;) {
		int a = mpmcring_batch_next(b, &r1), c = mpmcring_batch_next(&ref, &r2);

		if (a != c) {
			FAIL("record %u: batch_next %d, stamp walk %d", k, a, c);
			return;
		}
		if (!a)
			break;
		if (memcmp(&r1, &r2, sizeof(r1)))
			FAIL("record %u at %#llx differs (len %u / %u, data %p / %p)", k,
			     (unsigned long long)r2.pos, r1.len, r2.len, r1.data, r2.data);
		bytes += r2.len;
		k++;
	}
	if (k != (unsigned int)n || bytes != ref.bytes)
		FAIL("walked %u records, %llu bytes; the batch says %d, %llu", k,
		     (unsigned long long)bytes, n, (unsigned long long)ref.bytes);
	if (b->cur != ref.cur)
		FAIL("ended at %#llx, the stamp walk at %#llx", (unsigned long long)b->cur,
		     (unsigned long long)ref.cur);
}

/*
 * A ring as hp says, opened through the library as a mapping would be, with
 * one consumer; false (counted as a failure) if any step fails.
 */
static bool ring_attach(struct hostring *h, const struct hostring_params *hp, struct mpmcring **lib,
			struct mpmcring_consumer **c)
{
	if (hostring_init(h, hp)) {
		FAIL("hostring_init");
		return false;
	}
	*lib = mpmcring__open_memory(h->cons, h->ro, &h->layout);
	*c = *lib ? mpmcring_consumer_new(*lib) : NULL;
	if (!*c) {
		FAIL("attach: %s", mpmcring_errmsg());
		if (*lib)
			mpmcring_close(*lib);
		hostring_destroy(h);
		return false;
	}
	return true;
}

static void one_ring(unsigned int round)
{
	static const uint64_t starts[] = { 0, 1ULL << 40, 0 /* near 2^64 */, 0 /* random */ };
	struct hostring_params hp = { 0 };
	struct hostring h;
	struct mpmcring *lib;
	struct mpmcring_consumer *c;
	unsigned int it, gshift = 3 + round % 4;
	uint64_t gran = 1ULL << gshift, held = 0, back = 0;
	uint32_t held_len = 0;
	bool have_held = false;

	hp.size = 4096ULL << (round % 3);
	hp.gshift = gshift;
	hp.mode = MPMCRING_MODE_DROP_NEWEST;
	hp.max_consumers = 2;
	hp.producers = 1;
	hp.watermarks = true;
	hp.initial_pos = starts[round % 4];
	if (round % 4 == 2)
		hp.initial_pos = -(hp.size * (1 + rnd() % 3)) + (rnd() % (hp.size / gran)) * gran;
	else if (round % 4 == 3)
		hp.initial_pos = (rnd() >> 1) & ~(gran - 1);
	if (!ring_attach(&h, &hp, &lib, &c))
		return;
	ndiscards = 0;
	for (it = 0; it < 60; it++) {
		unsigned int i, k = 1 + rnd() % 24, maxlen = h.v.max_record;
		struct mpmcring_batch b;
		uint64_t pos;
		int n;

		for (i = 0; i < k; i++) {
			uint32_t len = rnd() % 4 ? rnd() % 200 : rnd() % (maxlen + 1);

			if (len > maxlen)
				len = maxlen;
			if (hostring_reserve(&h, 0, len, MPMCRING_PRIO_NORMAL, &pos))
				break;
			memset(hostring_payload(&h, pos), (int)(pos >> gshift), len);
			if (rnd() % 8 == 0)
				back = pos;
			if (!have_held && rnd() % 16 == 0) {
				/* unfinished until after the next claim */
				held = pos;
				held_len = len;
				have_held = true;
				break;
			}
			if (rnd() % 4 == 0) {
				if (ndiscards < MAX_DISCARDS)
					discards[ndiscards++] = pos;
				hostring_discard(&h, 0, pos);
			} else {
				hostring_commit(&h, 0, pos, len);
			}
		}
		if (it && rnd() % 16 == 0) {
			/*
			 * A head a co-tenant wrote: whatever the claim makes of
			 * it, a batch it hands out is stepped through alike
			 * both ways (the ring is left behind after).
			 */
			garbage_head(&h, back);
			heads++;
			n = mpmcring_read_batch(c, &b, 1 + rnd() % 40, SIZE_MAX);
			if (n > 0) {
				head_batches++;
				if (same_walks(&b, "after a garbage head") != (unsigned int)n)
					FAIL("after a garbage head: a batch of %d records walked "
					     "otherwise",
					     n);
				mpmcring_commit(c);
			}
			break;
		}
		memset(&b, 0xa5, sizeof(b));
		n = mpmcring_read_batch(c, &b, 1 + rnd() % 40,
					rnd() % 3 ? SIZE_MAX : (size_t)(rnd() % 2000));
		if (n > 0) {
			bool adversarial = rnd() % 8 == 0;

			check_batch(&h, &b, n, adversarial);
			discards_drop_before(b.end);
			mpmcring_commit(c);
			if (adversarial)
				break; /* the ring is garbage now */
		} else if (n != -EAGAIN && n != -EBUSY) {
			FAIL("read_batch: %d (%s)", n, mpmcring_errmsg());
			break;
		}
		if (have_held && rnd() % 2) {
			hostring_commit(&h, 0, held, held_len);
			have_held = false;
		}
	}
	if (have_held)
		hostring_discard(&h, 0, held);
	mpmcring_consumer_free(c);
	mpmcring_close(lib);
	hostring_destroy(&h);
}

/*
 * mpmcring_consume(): claims of up to 300 records, the rest past the 64 it
 * keeps walked again, sometimes stopped by fn and finished by
 * mpmcring_read(). Every record must be the producer's next committed one,
 * in order, its length and payload as written.
 */
#define LOG_MAX 65536
struct plog {
	uint64_t pos[LOG_MAX];
	uint32_t len[LOG_MAX];
	unsigned char state[LOG_MAX]; /* 0 unfinished, 1 committed, 2 discarded */
	unsigned int head, tail;      /* [head, tail): not consumed yet */
	unsigned int stop_after;      /* fn stops after this many (0: never) */
	unsigned int got;
	unsigned long consumed, stopped;
};

static struct plog plog;

/* The record a consumer must see next: the first committed one. */
static int expect(struct plog *l, const struct mpmcring_record *rec, const char *how)
{
	const unsigned char *p = rec->data;
	uint32_t i;

	while (l->head < l->tail && l->state[l->head] == 2)
		l->head++;
	if (l->head == l->tail || l->state[l->head] != 1) {
		FAIL("%s: record at %#llx, none committed expected", how,
		     (unsigned long long)rec->pos);
		return -1;
	}
	if (rec->pos != l->pos[l->head] || rec->len != l->len[l->head]) {
		FAIL("%s: record at %#llx len %u, expected %#llx len %u", how,
		     (unsigned long long)rec->pos, rec->len, (unsigned long long)l->pos[l->head],
		     l->len[l->head]);
		l->head++;
		return -1;
	}
	for (i = 0; i < rec->len; i++)
		if (p[i] != (unsigned char)(rec->pos >> 3)) {
			FAIL("%s: payload of %#llx differs at %u", how,
			     (unsigned long long)rec->pos, i);
			break;
		}
	l->head++;
	l->consumed++;
	return 0;
}

static int consume_fn(void *ctx, const struct mpmcring_record *rec)
{
	struct plog *l = ctx;

	expect(l, rec, "consume");
	if (l->stop_after && ++l->got == l->stop_after) {
		l->stopped++;
		return -1;
	}
	return 0;
}

static void one_ring_consume(unsigned int round)
{
	struct hostring_params hp = { 0 };
	struct plog *l = &plog;
	struct hostring h;
	struct mpmcring *lib;
	struct mpmcring_consumer *c;
	unsigned int it, gshift = 3 + round % 2, held_i = 0;
	uint64_t gran = 1ULL << gshift;
	bool have_held = false;

	hp.size = 16384;
	hp.gshift = gshift;
	hp.mode = MPMCRING_MODE_DROP_NEWEST;
	hp.max_consumers = 2;
	hp.producers = 1;
	hp.watermarks = true;
	hp.initial_pos = round % 2 ? -(hp.size * 2) + (rnd() % (hp.size / gran)) * gran : 0;
	if (!ring_attach(&h, &hp, &lib, &c))
		return;
	memset(l, 0, offsetof(struct plog, consumed));
	for (it = 0; it < 40; it++) {
		unsigned int i, k = 1 + rnd() % 300;
		struct mpmcring_record rec;
		uint64_t pos;
		int n;

		for (i = 0; i < k && l->tail < LOG_MAX; i++) {
			uint32_t len = rnd() % 8 ? rnd() % 24 : rnd() % 300;

			if (hostring_reserve(&h, 0, len, MPMCRING_PRIO_NORMAL, &pos))
				break;
			memset(hostring_payload(&h, pos), (int)(pos >> 3), len);
			l->pos[l->tail] = pos;
			l->len[l->tail] = len;
			if (!have_held && rnd() % 32 == 0) {
				l->state[l->tail] = 0;
				held_i = l->tail++;
				have_held = true;
				continue; /* later records are finished, this one not */
			}
			/* Mostly no discards: dense claims are the common case. */
			if (rnd() % (round % 3 ? 64 : 6) == 0) {
				l->state[l->tail++] = 2;
				hostring_discard(&h, 0, pos);
			} else {
				l->state[l->tail++] = 1;
				hostring_commit(&h, 0, pos, len);
			}
		}
		l->stop_after = rnd() % 3 ? 0 : 1 + rnd() % 200;
		l->got = 0;
		n = mpmcring_consume(c, 1 + rnd() % 300, consume_fn, l);
		if (n == -1) {
			/* Stopped: the rest of its claim, by read (which may
			 * claim the next record once they are all taken). */
			while (c->pending && mpmcring_read(c, &rec) == 0)
				expect(l, &rec, "read after a stopped consume");
			if (c->holding && mpmcring_commit(c))
				FAIL("commit: %s", mpmcring_errmsg());
		} else if (n < 0 && n != -EBUSY) {
			FAIL("consume: %d (%s)", n, mpmcring_errmsg());
			break;
		}
		if (have_held && rnd() % 2) {
			l->state[held_i] = 1;
			hostring_commit(&h, 0, l->pos[held_i], l->len[held_i]);
			have_held = false;
		}
	}
	if (have_held)
		hostring_discard(&h, 0, l->pos[held_i]);
	mpmcring_consumer_free(c);
	mpmcring_close(lib);
	hostring_destroy(&h);
}

int main(int argc, char **argv)
{
	unsigned int rounds = argc > 1 ? (unsigned int)strtoul(argv[1], NULL, 0) : 3000, r;

	for (r = 0; r < rounds; r++)
		one_ring(r);
	for (r = 0; r < rounds / 10; r++)
		one_ring_consume(r);
	printf("batch_walk_test: %u rings, %lu batches (%lu dense), %lu scribbled, %lu garbage heads (%lu batches after them): %lu failures\n",
	       rounds, batches, dense_batches, scribbled, heads, head_batches, failures);
	printf("batch_walk_test: consume: %u rings, %lu records, %lu stops: %lu failures\n",
	       rounds / 10, plog.consumed, plog.stopped, failures);
	return failures ? 1 : 0;
}
