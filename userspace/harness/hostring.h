/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * hostring: an mpmcring in plain process memory, with producers that run the
 * very protocol code the module runs (proto/mpmcring_produce.h). The host
 * tests drive it with threads under ThreadSanitizer and AddressSanitizer,
 * and the benchmarks measure it on real cores. Consumers are the library's,
 * attached with mpmcring__open_memory().
 *
 * One producer index per thread: each keeps its own counters.
 */
#ifndef MPMCRING_HOSTRING_H
#define MPMCRING_HOSTRING_H

#include <stdbool.h>
#include <stdint.h>
#include "mpmcring_proto.h"

struct hostring_params {
	uint64_t size;		    /* data bytes, power of two */
	unsigned int gshift;	    /* log2 granule, 3..6 (0: 3) */
	unsigned int mode;	    /* MPMCRING_MODE_* */
	unsigned int max_consumers; /* 0: 62 */
	unsigned int producers;	    /* producer indexes */
	uint64_t initial_pos;
	bool watermarks; /* use wm[], else 1/2, 1/8, 0 */
	uint64_t wm[MPMCRING_NR_PRIO];
	unsigned int claim_timeout_ms; /* 0: claims never expire */
	bool yield_in_reserve;	       /* yield between reading prod_pos and
					* the cmpxchg: makes lost races likely
					*/
	/* Back every area by a memfd another process can map (fd[]), as
	 * the device file lets it. */
	bool shareable;
	/* 0: every reclaim a producer asks for is due (what the tests want).
	 * Else the module's throttle (kmod/env.h): with the head unmoved
	 * and the walk not stopped at its bound, a reclaim is due only this
	 * long after the last one. */
	uint64_t reclaim_gap_ns;
	/* Chunked reservation (proto/mpmcring_chunk.h) with chunks of this
	 * many bytes, capped by mpr_chunk_bytes(); 0: one reservation per
	 * record. Only hostring_reserve_chunked() uses them. */
	uint64_t chunk_bytes;
};

/*
 * Per producer: its own counters (one writer). produced and produced_bytes
 * are not side by side: a commit adds to both, and GCC's -O2 then makes
 * the two adds one vector add (six instructions, where two scalar adds
 * are two), which the module's per-CPU counters never do.
 */
struct hostring_producer {
	uint64_t produced;
	uint64_t discarded;
	uint64_t produced_bytes;
	uint64_t dropped[MPMCRING_NR_DROP][MPMCRING_NR_PRIO];
	uint64_t dropped_retried; /* drops the caller retried (tests) */
} __attribute__((aligned(64)));

struct hostring {
	struct mpmcring_layout layout;
	void *cons;
	void *ro;
	struct mpr_view v;
	unsigned int nproducers;
	bool yield_in_reserve;
	struct hostring_producer *prod;
	/* Per producer, a line each; chunk_bytes 0: none. */
	struct mpr_chunk *chunks;
	uint64_t chunk_bytes;
	uint64_t chunk_fillers;		  /* chunks closed with space left (atomic) */
	uint64_t limit[MPMCRING_NR_PRIO]; /* in use a class may fill to (mpr_reserve_limit()) */
	uint64_t chunk_open_max;	  /* the lowest of limit[]: chunks open within it */
	/* What hostring_reserve()'s inline first attempt takes for limit[]:
	 * the same, or 0 with yield_in_reserve (then every reservation goes
	 * the whole way, where the hook yields), so that the fast path does
	 * not test the hook itself: the module's has no hook to test. */
	uint64_t fast_limit[MPMCRING_NR_PRIO];
	unsigned long reclaim_lock;
	/* Written under reclaim_lock. */
	struct mpr_lease *leases; /* per slot */
	struct mpr_floor floor;	  /* the ring's floor lease */
	uint64_t overwritten_records;
	uint64_t overwritten_bytes;
	uint64_t repairs;
	uint64_t revoked_claims;
	uint64_t revoked_records;
	/* The throttle (reclaim_gap_ns, 0: off): the last reclaim's head,
	 * whether it stopped at its walk bound, and its time. The tests may
	 * change the gap between reservations. */
	uint64_t reclaim_gap_ns;
	uint64_t reclaim_head;
	uint64_t reclaim_ns;
	bool reclaim_more;
	uint64_t due_checks; /* producers that asked whether a reclaim is due */
	/* reclaim_pos at the last refusal for room (odd: none): the leases'
	 * pressure, as the module's refused_reclaim. */
	__u64 refused_reclaim;
	/* One-thread tests only: called before each try for the reclaim bit
	 * and after each release of it (a reservation's, hostring_reclaim()'s,
	 * hostring_admit()'s), to do what other producers and consumers could
	 * do right then; each is off while it runs. The benchmarks pay a load
	 * and a branch for each (the slow path's). */
	void (*before_lock)(struct hostring *h, void *arg);
	void (*after_unlock)(struct hostring *h, void *arg);
	/* One-thread tests only: called where a reservation closed its own
	 * chunk (the module's wake check for the filler runs there) and
	 * between reading prod_pos and its compare-and-swap, to re-enter the
	 * reservation as a program traced there would. */
	void (*reenter)(struct hostring *h, void *arg);
	void *hook_arg;
	/* With shareable: the consumer area, the read-only area's first
	 * data_offset bytes (meta, slot info, stamps), the data (mapped twice
	 * after them); -1 otherwise. Closed by hostring_destroy. */
	bool shared;
	int fd[3];
};

int hostring_init(struct hostring *h, const struct hostring_params *p);
void hostring_destroy(struct hostring *h);

/* Reserves len payload bytes for producer idx; 0 or -ENOSPC, -EAGAIN,
 * -EBUSY (overwrite mode, the reclaim bit taken: contention), -EMSGSIZE
 * (counted as drops). On success *pos names the record. */
int hostring_reserve(struct hostring *h, unsigned int idx, uint32_t len, unsigned int prio,
		     uint64_t *pos);
/* Reserves n records with one compare-and-swap; pos[i] for each. */
int hostring_reserve_batch(struct hostring *h, unsigned int idx, const uint32_t *lens,
			   unsigned int n, unsigned int prio, uint64_t *pos);
/*
 * hostring_reserve() through producer idx's chunk (chunk_bytes set): the
 * shared prod_pos moves once per chunk. Producer idx's records are not
 * claimable past its open chunk's unfilled end until the chunk fills or
 * hostring_chunk_close() closes it: the producer calls that when it stops,
 * and any thread may call it at any time, as the module's tick would.
 */
int hostring_reserve_chunked(struct hostring *h, unsigned int idx, uint32_t len, unsigned int prio,
			     uint64_t *pos);
/* Closes producer idx's chunk if open; whether this call closed it. */
bool hostring_chunk_close(struct hostring *h, unsigned int idx);
/* Producer idx's chunk, for tests that set its state by hand. */
static inline struct mpr_chunk *hostring_chunk(struct hostring *h, unsigned int idx)
{
	return (struct mpr_chunk *)((char *)h->chunks + MPR_CHUNK_STRIDE * (size_t)idx);
}
/* Whether the ring would take the record now: 0, or -ENOSPC, -EMSGSIZE
 * counted as hostring_reserve() counts them (overwrite mode: 0). */
int hostring_admit(struct hostring *h, unsigned int idx, uint32_t len, unsigned int prio);
static inline void *hostring_payload(struct hostring *h, uint64_t pos)
{
	return mpr_payload(&h->v, pos);
}

void hostring_commit(struct hostring *h, unsigned int idx, uint64_t pos, uint32_t len);
void hostring_discard(struct hostring *h, unsigned int idx, uint64_t pos);
/* Runs a reclaim now (what the kernel's statistics call does). */
void hostring_reclaim(struct hostring *h);
/*
 * The ring's end as mpmcring_destroy() publishes it in the meta page:
 * MPMCRING_STATE_DEAD, with a store-release ([D5]). The caller's producers
 * are done (their commits come before it); the memory stays.
 */
void hostring_end(struct hostring *h);

/* Totals over producers. */
uint64_t hostring_produced(const struct hostring *h);
uint64_t hostring_dropped(const struct hostring *h);
/*
 * Committed records waiting between the head and prod_pos, up to the first
 * unfinished record (an open chunk's rest stops it: the tests close their
 * chunks first).
 */
uint64_t hostring_waiting(const struct hostring *h);

#endif /* MPMCRING_HOSTRING_H */
