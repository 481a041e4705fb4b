// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring: the module's producer code over process memory (hostring:
 * reserve, copy the payload in, commit), consumed by the library attached
 * to the same memory, zero-copy: mpmcring_read() + mpmcring_commit() for one
 * record at a time, mpmcring_read_many() + one mpmcring_commit() for a
 * batch (the records of one claim, filled in at once). Records are read where they lie.
 *
 * The data area is cfg->ring_bytes; a record takes its size plus the 8-byte
 * header, rounded to the granule (8 bytes, the module's default).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "hostring.h"
#include "internal.h"

/*
 * ours_chunk: the same ring with chunked reservation (proto/mpmcring_chunk.h,
 * docs/scaling.md): each producer takes this much of the ring at once
 * (capped to a quarter of the ring over all producers) and fills it
 * with its records, so prod_pos moves once per chunk.
 */
#define OURS_CHUNK_BYTES 4096

struct ours {
	struct hostring h;
	struct mpmcring *lib;
	struct mpmcring_consumer *warm; /* the main thread's consumer */
	uint32_t size;
	unsigned int producers;
};

static void *ours_create_with(const struct hb_cfg *cfg, uint64_t chunk_bytes)
{
	struct hostring_params hp = { 0 };
	struct ours *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	hp.size = cfg->ring_bytes;
	hp.gshift = 3;
	hp.mode = MPMCRING_MODE_DROP_NEWEST;
	/* A slot per consumer thread, and one for the warm-up. */
	hp.max_consumers = cfg->consumers + 1;
	hp.producers = cfg->producers;
	/* The whole ring for every class: the same capacity as the peers. */
	hp.watermarks = true;
	hp.chunk_bytes = chunk_bytes;
	if (hostring_init(&o->h, &hp) || (chunk_bytes && !o->h.chunk_bytes)) {
		if (chunk_bytes)
			fprintf(stderr,
				"hostbench: ours_chunk: no chunks in a ring of %llu bytes\n",
				(unsigned long long)cfg->ring_bytes);
		free(o);
		return NULL;
	}
	o->lib = mpmcring__open_memory(o->h.cons, o->h.ro, &o->h.layout);
	o->warm = o->lib ? mpmcring_consumer_new(o->lib) : NULL;
	if (!o->warm) {
		fprintf(stderr, "hostbench: ours: attach: %s\n", mpmcring_errmsg());
		mpmcring_close(o->lib);
		hostring_destroy(&o->h);
		free(o);
		return NULL;
	}
	o->size = cfg->size;
	o->producers = cfg->producers;
	return o;
}

static void *ours_create(const struct hb_cfg *cfg)
{
	return ours_create_with(cfg, 0);
}

static void *ours_chunk_create(const struct hb_cfg *cfg)
{
	return ours_create_with(cfg, OURS_CHUNK_BYTES);
}

static void ours_destroy(void *ring)
{
	struct ours *o = ring;

	mpmcring_consumer_free(o->warm);
	mpmcring_close(o->lib);
	hostring_destroy(&o->h);
	free(o);
}

static int ours_consumer_init(void *ring, struct hb_worker *w)
{
	struct ours *o = ring;

	w->priv = mpmcring_consumer_new(o->lib);
	return w->priv ? 0 : -errno;
}

static void ours_consumer_fini(void *ring, struct hb_worker *w)
{
	(void)ring;
	mpmcring_consumer_free(w->priv);
}

/* Reserve (through producer idx's chunk when chunked), copy the payload
 * in, commit: what a kernel producer does. */
HB_INLINE bool ours_send_with(void *ring, unsigned int idx, const unsigned char *src, uint32_t size,
			      bool chunked)
{
	struct ours *o = ring;
	uint64_t pos;
	int err;

	if (chunked)
		err = hostring_reserve_chunked(&o->h, idx, size, MPMCRING_PRIO_NORMAL, &pos);
	else
		err = hostring_reserve(&o->h, idx, size, MPMCRING_PRIO_NORMAL, &pos);
	if (err)
		return false;
	memcpy(hostring_payload(&o->h, pos), src, size);
	hostring_commit(&o->h, idx, pos, size);
	return true;
}

HB_INLINE bool ours_send(void *ring, unsigned int idx, const unsigned char *src, uint32_t size)
{
	return ours_send_with(ring, idx, src, size, false);
}

HB_INLINE bool ours_chunk_send(void *ring, unsigned int idx, const unsigned char *src,
			       uint32_t size)
{
	return ours_send_with(ring, idx, src, size, true);
}

/* Reads in place (cs is the consumer), then one commit. */
HB_INLINE unsigned int ours_take(void *ring, void *cs, bool batch, struct hb_seen *seen,
				 uint32_t size)
{
	struct ours *o = ring;
	struct mpmcring_consumer *c = cs;
	struct mpmcring_record rec;
	int n;

	if (!batch) {
		n = mpmcring_read(c, &rec);
		if (n == 0) {
			if (rec.len != size)
				seen->bad++;
			hb_rec_take(seen, rec.data, size, o->producers);
			mpmcring_commit(c);
			return 1;
		}
	} else {
		struct mpmcring_record recs[HB_BATCH];
		int i;

		n = mpmcring_read_many(c, recs, HB_BATCH, SIZE_MAX);
		if (n > 0) {
			for (i = 0; i < n; i++) {
				if (recs[i].len != size)
					seen->bad++;
				hb_rec_take(seen, recs[i].data, size, o->producers);
			}
			mpmcring_commit(c);
			return n;
		}
	}
	if (n != -EAGAIN && n != -EBUSY) {
		fprintf(stderr, "hostbench: ours: read: %d (%s)\n", n, mpmcring_errmsg());
		exit(1);
	}
	return 0;
}

static void ours_produce(void *ring, struct hb_worker *w)
{
	hb_produce_loop(ring, w, ((struct ours *)ring)->size, ours_send);
}

static void ours_consume(void *ring, struct hb_worker *w, bool batch)
{
	hb_consume_loop(ring, w, batch, ((struct ours *)ring)->size, ours_take);
}

static int ours_single(void *ring, uint64_t n, bool batch, struct hb_seen *seen)
{
	struct ours *o = ring;

	return hb_single_loop("ours", ring, o->warm, n, batch, seen, o->size, ours_send, ours_take);
}

const struct hb_impl hb_ours = {
	.name = "ours",
	.desc = "mpmcring: hostring producers (module code), library consumers, zero-copy",
	.create = ours_create,
	.destroy = ours_destroy,
	.consumer_init = ours_consumer_init,
	.consumer_fini = ours_consumer_fini,
	.produce = ours_produce,
	.consume = ours_consume,
	.single = ours_single,
};

/* Its last chunk closed when it stops: nothing else would. */
static void ours_chunk_produce(void *ring, struct hb_worker *w)
{
	hb_produce_loop(ring, w, ((struct ours *)ring)->size, ours_chunk_send);
	hostring_chunk_close(&((struct ours *)ring)->h, w->idx);
}

static int ours_chunk_single(void *ring, uint64_t n, bool batch, struct hb_seen *seen)
{
	struct ours *o = ring;

	return hb_single_loop("ours_chunk", ring, o->warm, n, batch, seen, o->size, ours_chunk_send,
			      ours_take);
}

const struct hb_impl hb_ours_chunk = {
	.name = "ours_chunk",
	.desc = "mpmcring with chunked reservation: 4 KiB of the ring per producer at once",
	.create = ours_chunk_create,
	.destroy = ours_destroy,
	.consumer_init = ours_consumer_init,
	.consumer_fini = ours_consumer_fini,
	.produce = ours_chunk_produce,
	.consume = ours_consume,
	.single = ours_chunk_single,
};
