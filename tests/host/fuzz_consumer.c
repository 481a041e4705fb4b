// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the library consuming a ring whose shared memory holds
 * arbitrary bytes (a hostile or corrupted producer side and consumer area).
 * Whatever the contents, every call must return, within bounds, without
 * crashing, and report corruption as an error (ASan/UBSan watch).
 *
 * The input builds the ring: layout choices, positions, then per granule a
 * byte that decides whether its stamp is a well-formed one for its own
 * position (so the fuzzer reaches deep into framing) or raw input, then
 * header and payload bytes, then a list of library calls to make.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct input {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct input *in, unsigned int bytes)
{
	uint64_t v = 0;

	while (bytes--) {
		v = v << 8 | (in->n ? *in->p : 0);
		if (in->n) {
			in->p++;
			in->n--;
		}
	}
	return v;
}

static int record_cb(void *ctx, const struct mpmcring_record *rec)
{
	volatile uint8_t sink = 0;
	uint32_t i;

	/* Touch every byte the library says belongs to the record. */
	for (i = 0; i < rec->len; i++)
		sink ^= ((const uint8_t *)rec->data)[i];
	(void)sink;
	return (*(int *)ctx)++ == 3; /* stop early now and then */
}

/*
 * An oracle written apart from the protocol code: a head outside
 * [reclaim_pos, prod_pos] or between granules, or a committed record at the
 * head whose header does not fit, is corruption the library must report as
 * -EBADMSG (a memory ring has no kernel to repair it). Returns whether the
 * ring, as built, is corrupt that way.
 */
static bool corrupt_at_head(const struct mpmcring_layout *l, const struct mpmcring_meta *meta,
			    const struct mpmcring_cons_area *cons, const uint64_t *stamps,
			    const uint8_t *dat)
{
	uint64_t r = meta->reclaim_pos, h = cons->head, p = meta->prod_pos;
	uint64_t g = 1ULL << l->granule_shift, size;
	const struct mpmcring_rec_hdr *hdr;

	if ((h & (g - 1)) || h - r > p - r)
		return true;
	if (h == p || stamps[(h >> l->granule_shift) & ((l->data_size >> l->granule_shift) - 1)] !=
			      (h | MPMCRING_STAMP_COMMITTED))
		return false;
	hdr = (const void *)(dat + (h & (l->data_size - 1)));
	size = (MPMCRING_HDR_SIZE + (uint64_t)hdr->len + g - 1) & ~(g - 1);
	return hdr->len > l->max_record || size > p - h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct mpmcring_layout l = { 0 };
	struct mpmcring_meta *meta;
	struct mpmcring_cons_area *cons;
	struct mpmcring_consumer *c[2];
	struct mpmcring_record rec, recs[9];
	struct mpmcring_batch b;
	struct mpmcring_lost lost = MPMCRING_OPTS(mpmcring_lost);
	struct mpmcring *r;
	uint64_t base, g, i, nstamps;
	uint8_t *ro, *consmem, *dat;
	uint64_t *stamps;
	int ops, calls = 0, n, k;

	l.magic = MPMCRING_MAGIC;
	l.abi_major = MPMCRING_ABI_MAJOR;
	l.abi_minor = MPMCRING_ABI_MINOR;
	l.layout_size = sizeof(l);
	l.data_size = 4096ULL << (take(&in, 1) % 3);
	l.granule_shift = 3 + take(&in, 1) % 4;
	l.max_record = l.data_size / 2 - MPMCRING_HDR_SIZE;
	l.max_consumers = 2;
	l.mode = take(&in, 1) & 1;
	l.features = l.mode ? MPMCRING_FEAT_OVERWRITE : 0;
	if (take(&in, 1) & 1) {
		l.features |= MPMCRING_FEAT_LEASE;
		l.claim_timeout_ms = 1 + take(&in, 2);
	}
	l.cons_size = 4096;
	l.slot_info_offset = 4096;
	l.stamps_offset = 8192;
	nstamps = l.data_size >> l.granule_shift;
	l.data_offset = 8192 + ((nstamps * 8 + 4095) & ~4095ULL);
	l.ro_size = l.data_offset + 2 * l.data_size;

	ro = calloc(1, l.ro_size);
	consmem = calloc(1, l.cons_size);
	if (!ro || !consmem)
		abort();
	meta = (struct mpmcring_meta *)ro;
	cons = (struct mpmcring_cons_area *)consmem;
	stamps = (uint64_t *)(ro + l.stamps_offset);
	dat = ro + l.data_offset;
	meta->layout = l;

	g = 1ULL << l.granule_shift;
	base = take(&in, 8) & ~(g - 1);
	/* Positions near base, or raw garbage when the selector says so. */
	meta->reclaim_pos = take(&in, 1) & 0x80 ? take(&in, 8) : base;
	meta->prod_pos = take(&in, 1) & 0x80 ? take(&in, 8) : base + take(&in, 2) * g;
	cons->head = take(&in, 1) & 0x80 ? take(&in, 8) : base + take(&in, 1) * g;
	meta->lost_dropped = take(&in, 2);
	cons->lost_dropped_taken = take(&in, 2);
	cons->slots[0].start = take(&in, 1) & 1 ? take(&in, 8) : MPMCRING_SLOT_IDLE;
	cons->slots[1].start = MPMCRING_SLOT_IDLE;
	/* Revocations: none, of the slot's own start, or raw garbage. */
	for (i = 0; i < 2; i++) {
		struct mpmcring_slot_info *si =
			(struct mpmcring_slot_info *)(ro + l.slot_info_offset) + i;
		uint8_t how = take(&in, 1);

		si->revoked = how < 0x80   ? MPMCRING_SLOT_IDLE
			      : how < 0xc0 ? base + take(&in, 1) * g
					   : take(&in, 8);
	}
	for (i = 0; i < nstamps && in.n; i++) {
		uint64_t pos = base + i * g;
		uint8_t how = take(&in, 1);

		stamps[(pos >> l.granule_shift) & (nstamps - 1)] =
			how < 0x60   ? pos | MPMCRING_STAMP_COMMITTED
			: how < 0x70 ? pos | MPMCRING_STAMP_DISCARDED
			: how < 0x80 ? (pos - l.data_size) | MPMCRING_STAMP_COMMITTED
				     : take(&in, 8);
		if (how < 0x70) {
			struct mpmcring_rec_hdr *h = (void *)(dat + (pos & (l.data_size - 1)));

			/* Lengths mostly plausible, sometimes wild. */
			h->len = how & 8 ? take(&in, 4) : take(&in, 1) % (g * 4);
		}
	}
	/* Whatever is left becomes payload; then mirror the double mapping. */
	for (i = 0; i < l.data_size && in.n > 16; i += 8)
		memcpy(dat + i, in.p + i % (in.n - 8), 8);
	memcpy(dat + l.data_size, dat, l.data_size);

	r = mpmcring__open_memory(consmem, ro, &l);
	if (!r)
		abort(); /* the layout is valid by construction */
	c[0] = mpmcring_consumer_new(r);
	c[1] = mpmcring_consumer_new(r);
	if (!c[0] || !c[1])
		abort();
	/* Corruption at the head is reported, not read past or through. */
	if (corrupt_at_head(&l, meta, cons, stamps, dat)) {
		if (mpmcring_read(c[0], &rec) != -EBADMSG || mpmcring_peek(c[1], &rec) != -EBADMSG)
			abort();
	}
	for (ops = 0; ops < 24; ops++) {
		struct mpmcring_consumer *cc = c[ops & 1];
		unsigned int op = (unsigned int)(size ? data[ops % size] : ops) % 7;

		switch (op) {
		case 0:
			if (mpmcring_read(cc, &rec) == 0)
				record_cb(&calls, &rec);
			break;
		case 1:
			if (ops & 4) {
				/* Every record it claims at once. */
				n = mpmcring_read_many(cc, recs, 1 + ops % 9, 64 * (ops + 1));
				for (k = 0; k < n; k++)
					record_cb(&calls, &recs[k]);
			} else if (mpmcring_read_batch(cc, &b, 1 + ops % 9, 64 * (ops + 1)) > 0) {
				while (mpmcring_batch_next(&b, &rec))
					record_cb(&calls, &rec);
			}
			break;
		case 2:
			mpmcring_consume(cc, 1 + ops % 5, record_cb, &calls);
			break;
		case 3:
			if (mpmcring_peek(cc, &rec) == 0)
				record_cb(&calls, &rec);
			break;
		case 4:
			if (ops & 2)
				mpmcring_validate(cc);
			else
				mpmcring_commit(cc);
			break;
		case 5:
			mpmcring_take_lost(cc, &lost);
			(void)mpmcring_avail_bytes(r);
			break;
		default:
			/* A producer moved on meanwhile. */
			meta->prod_pos += g * (ops % 4);
			break;
		}
	}
	mpmcring_consumer_free(c[0]);
	mpmcring_consumer_free(c[1]);
	mpmcring_close(r);
	free(ro);
	free(consmem);
	return 0;
}
