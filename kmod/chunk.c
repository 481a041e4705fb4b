// SPDX-License-Identifier: GPL-2.0-only
/*
 * Chunked reservation for rings created with chunk_bytes (docs/scaling.md):
 * each CPU has a chunk per interrupt level, filled by that level's
 * producers with preemption off (kmod/produce.c), and closed here, by the
 * housekeeping tick and by destroy, so that records committed behind a
 * chunk whose CPU went quiet become claimable. The steps are in
 * proto/mpmcring_chunk.h.
 */
#include <kunit/visibility.h>

#include "env.h"

/**
 * mpmcring_chunks_init() - set a new ring up for chunked reservation
 * @ring: the ring, view initialised, not yet published
 * @want: the chunk size asked for (struct mpmcring_params.chunk_bytes)
 *
 * Return: 0 (nothing to do for @want 0), -EINVAL when the ring is too small
 * for a chunk per possible CPU and interrupt level (a message says so), or
 * -ENOMEM.
 */
int mpmcring_chunks_init(struct mpmcring *ring, u32 want)
{
	unsigned int n = num_possible_cpus() * MPMCRING_NR_LEVELS;

	if (!want)
		return 0;
	ring->chunk_bytes = mpr_chunk_bytes(&ring->view, want, n);
	if (!ring->chunk_bytes) {
		pr_err("mpmcring: %s: chunk_bytes=%u: a ring of %llu bytes is too small for %u chunks (a CPU's interrupt levels, every CPU) of a quarter of it\n",
		       ring->layout.name, want, ring->view.data_size, n);
		return -EINVAL;
	}
	ring->chunks = __alloc_percpu_gfp(MPMCRING_NR_LEVELS *
					  sizeof(struct mpr_chunk),
					  __alignof__(struct mpr_chunk),
					  GFP_KERNEL_ACCOUNT);
	return ring->chunks ? 0 : -ENOMEM;
}

/**
 * mpmcring_chunks_close() - close every open chunk of a ring
 * @ring: the ring
 *
 * Each open chunk's rest becomes a discarded record, checked for wakeups
 * as a commit is. Races with producers filling their chunks are the
 * protocol's (mpr_chunk_close()). Any context that may touch every CPU's
 * memory: the tick, destroy. Bounded: possible CPUs times levels.
 *
 * Return: how many it closed.
 */
unsigned int mpmcring_chunks_close(struct mpmcring *ring)
{
	unsigned int cpu, level, n = 0;
	u64 rest;

	if (!ring->chunks)
		return 0;
	for_each_possible_cpu(cpu) {
		struct mpr_chunk *c = per_cpu_ptr(ring->chunks, cpu);

		for (level = 0; level < MPMCRING_NR_LEVELS; level++) {
			if (!mpr_chunk_close(&ring->view, c + level,
					     ring->chunk_bytes, &rest))
				continue;
			mpmcring_maybe_wake(ring, rest);
			n++;
		}
	}
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_chunks_close);
