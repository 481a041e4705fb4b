// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * hostring: the module's producer environment rebuilt in userspace. The
 * memory has the module's layout (consumer area; meta page, stamps, data
 * mapped twice) so the library consumes it unchanged; producers call the
 * shared protocol functions with a userspace mpr_env.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "hostring.h"

struct mpr_env {
	struct hostring *h;
	/* The single-record fast path: no test hooks (they take the other). */
	bool fast;
};

static inline bool mpr_env_trylock(struct mpr_env *e)
{
	struct hostring *h = e->h;
	void (*hook)(struct hostring *, void *) = h->before_lock;

	/* A test's: off while it runs (it may reserve). */
	if (hook) {
		h->before_lock = NULL;
		hook(h, h->hook_arg);
		h->before_lock = hook;
	}
	return !__atomic_exchange_n(&h->reclaim_lock, 1, __ATOMIC_ACQUIRE);
}

static inline void mpr_env_unlock(struct mpr_env *e)
{
	struct hostring *h = e->h;
	void (*hook)(struct hostring *, void *) = h->after_unlock;

	__atomic_store_n(&h->reclaim_lock, 0, __ATOMIC_RELEASE);
	/* A test's: off while it runs (it may reserve). */
	if (hook) {
		h->after_unlock = NULL;
		hook(h, h->hook_arg);
		h->after_unlock = hook;
	}
}

static inline uint64_t hostring_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/*
 * With no gap (the tests' default) every reclaim is due. With one, the
 * module's throttle (kmod/env.h), with its plain loads and stores.
 */
static inline bool mpr_env_reclaim_due(struct mpr_env *e, __u64 head)
{
	struct hostring *h = e->h;
	uint64_t gap = MPR_READ_ONCE(h->reclaim_gap_ns), last;

	if (!gap)
		return true;
	__atomic_fetch_add(&h->due_checks, 1, __ATOMIC_RELAXED);
	if (MPR_READ_ONCE(h->reclaim_more) || head != MPR_READ_ONCE(h->reclaim_head))
		return true;
	last = MPR_READ_ONCE(h->reclaim_ns);
	return hostring_now_ns() - last >= gap;
}

static inline void mpr_env_reclaimed(struct mpr_env *e, __u64 head, bool more)
{
	struct hostring *h = e->h;

	if (!MPR_READ_ONCE(h->reclaim_gap_ns))
		return;
	MPR_WRITE_ONCE(h->reclaim_head, head);
	MPR_WRITE_ONCE(h->reclaim_more, more);
	MPR_WRITE_ONCE(h->reclaim_ns, hostring_now_ns());
}

/* A refusal for room at reclaim_pos r: the module's mpmcring_refused_at(). */
static inline void mpr_env_refused(struct mpr_env *e, __u64 r)
{
	mpr_refusal_note(&e->h->refused_reclaim, r);
}

static inline bool mpr_env_refused_at(struct mpr_env *e, __u64 r)
{
	return MPR_READ_ONCE(e->h->refused_reclaim) == r;
}

/* Idle slots are skipped by value; every slot may be in use here. */
static inline unsigned int mpr_env_next_slot(struct mpr_env *e, unsigned int i)
{
	(void)e;
	return i;
}

/* The host harness has no read(2): every claim is in a mapped slot. */
static inline __u64 *mpr_env_kernel_claim(struct mpr_env *e, unsigned int i)
{
	(void)e;
	(void)i;
	return NULL;
}

static inline struct mpr_lease *mpr_env_lease(struct mpr_env *e, unsigned int i)
{
	return &e->h->leases[i];
}

static inline struct mpr_floor *mpr_env_floor(struct mpr_env *e)
{
	return &e->h->floor;
}

static inline __u64 mpr_env_now_ms(struct mpr_env *e)
{
	struct timespec ts;

	(void)e;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + (__u64)ts.tv_nsec / 1000000;
}

static inline void mpr_env_revoked(struct mpr_env *e, unsigned int i, __u64 records)
{
	(void)i;
	/* Under the reclaim lock: one writer, racing readers. */
	MPR_WRITE_ONCE(e->h->revoked_claims, e->h->revoked_claims + 1);
	MPR_WRITE_ONCE(e->h->revoked_records, e->h->revoked_records + records);
}

static inline void mpr_env_overwritten(struct mpr_env *e, __u64 records, __u64 bytes)
{
	MPR_WRITE_ONCE(e->h->overwritten_records, e->h->overwritten_records + records);
	MPR_WRITE_ONCE(e->h->overwritten_bytes, e->h->overwritten_bytes + bytes);
}

static inline void mpr_env_repaired(struct mpr_env *e)
{
	MPR_WRITE_ONCE(e->h->repairs, e->h->repairs + 1);
}

/* Tests that want lost races ask for a yield inside the window. */
static inline void mpr_env_racing(struct mpr_env *e)
{
	if (!e->fast && e->h->yield_in_reserve)
		sched_yield();
	if (!e->fast && e->h->reenter)
		e->h->reenter(e->h, e->h->hook_arg);
}

/* Nothing sleeps on a host ring: fillers need no wakeup. The test hook
 * stands in for what a traced wake check could run. */
static inline void mpr_env_chunk_closed(struct mpr_env *e, __u64 pos, __u64 bytes)
{
	(void)pos;
	(void)bytes;
	if (e->h->reenter)
		e->h->reenter(e->h, e->h->hook_arg);
}

#include "mpmcring_chunk.h"

static uint64_t round_page(uint64_t x)
{
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);

	return (x + pg - 1) & ~(pg - 1);
}

static void hostring_layout(struct hostring *h, const struct hostring_params *p)
{
	struct mpmcring_layout *l = &h->layout;
	unsigned int g = p->gshift ? p->gshift : 3;
	unsigned int i;

	memset(l, 0, sizeof(*l));
	l->magic = MPMCRING_MAGIC;
	l->abi_major = MPMCRING_ABI_MAJOR;
	l->abi_minor = MPMCRING_ABI_MINOR;
	l->layout_size = sizeof(*l);
	l->features = p->mode == MPMCRING_MODE_OVERWRITE ? MPMCRING_FEAT_OVERWRITE : 0;
	if (p->claim_timeout_ms) {
		l->features |= MPMCRING_FEAT_LEASE;
		l->claim_timeout_ms = p->claim_timeout_ms;
	}
	l->user_max_prio = MPMCRING_PRIO_NORMAL;
	l->max_per_file = 16;
	l->data_size = p->size;
	l->granule_shift = g;
	l->max_record = p->size / 2 - MPMCRING_HDR_SIZE;
	l->max_consumers = p->max_consumers ? p->max_consumers : 62;
	l->mode = p->mode;
	l->cons_size = round_page(MPMCRING_CONS_HDR_SIZE +
				  l->max_consumers * sizeof(struct mpmcring_slot));
	l->slot_info_offset = round_page(sizeof(struct mpmcring_meta));
	l->stamps_offset = l->slot_info_offset +
			   round_page(l->max_consumers * sizeof(struct mpmcring_slot_info));
	l->data_offset = l->stamps_offset + round_page((p->size >> g) * sizeof(uint64_t));
	l->ro_size = l->data_offset + 2 * p->size;
	for (i = 0; i < MPMCRING_NR_PRIO; i++)
		l->watermark[i] = p->watermarks ? p->wm[i]
				  : i == 0	? p->size / 2
				  : i == 1	? p->size / 8
						: 0;
	memcpy(l->name, "hostring", 9);
}

/*
 * Maps len read-write bytes at addr (MAP_FIXED; anywhere if NULL): shared
 * anonymous memory, or with share a memfd kept in h->fd[which] for
 * another process to map.
 */
static void *hostring_map(struct hostring *h, bool share, void *addr, uint64_t len,
			  unsigned int which)
{
	int flags = MAP_SHARED | (addr ? MAP_FIXED : 0);

	if (!share)
		return mmap(addr, len, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
	h->fd[which] = memfd_create("hostring", MFD_CLOEXEC);
	if (h->fd[which] < 0 || ftruncate(h->fd[which], (off_t)len))
		return MAP_FAILED;
	return mmap(addr, len, PROT_READ | PROT_WRITE, flags, h->fd[which], 0);
}

int hostring_init(struct hostring *h, const struct hostring_params *p)
{
	struct mpmcring_layout *l = &h->layout;
	unsigned char *ro;
	unsigned int i;
	int fd;

	if (!p->size || (p->size & (p->size - 1)) || p->size < 4096 || !p->producers)
		return -EINVAL;
	memset(h, 0, sizeof(*h));
	h->shared = p->shareable;
	for (i = 0; i < 3; i++)
		h->fd[i] = -1;
	hostring_layout(h, p);
	h->nproducers = p->producers;
	h->yield_in_reserve = p->yield_in_reserve;
	h->reclaim_gap_ns = p->reclaim_gap_ns;
	h->reclaim_head = MPMCRING_SLOT_IDLE;	 /* no reclaim yet: the first is due */
	h->refused_reclaim = MPMCRING_SLOT_IDLE; /* no refusal yet */
	h->prod = aligned_alloc(64, sizeof(*h->prod) * p->producers);
	if (!h->prod)
		return -ENOMEM;
	memset(h->prod, 0, sizeof(*h->prod) * p->producers);
	/* Zeroed chunks are closed ones (fill == end). A line each: a
	 * producer's fill word is written per record. */
	h->chunks = aligned_alloc(MPR_CHUNK_STRIDE, MPR_CHUNK_STRIDE * p->producers);
	if (!h->chunks)
		goto fail;
	memset(h->chunks, 0, MPR_CHUNK_STRIDE * p->producers);
	h->leases = calloc(l->max_consumers, sizeof(*h->leases));
	if (!h->leases)
		goto fail;
	for (i = 0; i < l->max_consumers; i++) {
		h->leases[i].seen = MPMCRING_SLOT_IDLE;
		h->leases[i].head = MPMCRING_SLOT_IDLE;
	}
	h->floor.top = MPMCRING_SLOT_IDLE;
	h->floor.mark = MPMCRING_SLOT_IDLE;

	h->cons = hostring_map(h, p->shareable, NULL, l->cons_size, 0);
	if (h->cons == MAP_FAILED)
		goto fail;
	/* Reserve the read-only area's addresses, then fill them in. */
	ro = mmap(NULL, l->ro_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ro == MAP_FAILED)
		goto fail;
	h->ro = ro;
	if (hostring_map(h, p->shareable, ro, l->data_offset, 1) == MAP_FAILED)
		goto fail;
	fd = memfd_create("hostring", MFD_CLOEXEC);
	if (fd < 0)
		goto fail;
	if (p->shareable)
		h->fd[2] = fd;
	if (ftruncate(fd, p->size) ||
	    mmap(ro + l->data_offset, p->size, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_SHARED, fd,
		 0) == MAP_FAILED ||
	    mmap(ro + l->data_offset + p->size, p->size, PROT_READ | PROT_WRITE,
		 MAP_FIXED | MAP_SHARED, fd, 0) == MAP_FAILED) {
		if (!p->shareable)
			close(fd);
		goto fail;
	}
	if (!p->shareable)
		close(fd);

	mpr_view_init(&h->v, l, h->cons, ro);
	mpr_ring_init(&h->v, l, p->initial_pos);
	for (i = 0; i < MPMCRING_NR_PRIO; i++) {
		h->limit[i] = mpr_reserve_limit(&h->v, l, i);
		h->fast_limit[i] = h->yield_in_reserve ? 0 : h->limit[i];
		if (!i || h->limit[i] < h->chunk_open_max)
			h->chunk_open_max = h->limit[i];
	}
	h->chunk_bytes = p->chunk_bytes ? mpr_chunk_bytes(&h->v, p->chunk_bytes, p->producers) : 0;
	for (i = 0; i < p->producers; i++)
		mpr_chunk_init(hostring_chunk(h, i), p->initial_pos);
	return 0;
fail:
	hostring_destroy(h);
	return -ENOMEM;
}

void hostring_destroy(struct hostring *h)
{
	unsigned int i;

	if (h->cons && h->cons != MAP_FAILED)
		munmap(h->cons, h->layout.cons_size);
	if (h->ro)
		munmap(h->ro, h->layout.ro_size);
	free(h->prod);
	free(h->chunks);
	free(h->leases);
	for (i = 0; h->shared && i < 3; i++)
		if (h->fd[i] >= 0)
			close(h->fd[i]);
	memset(h, 0, sizeof(*h));
}

void hostring_end(struct hostring *h)
{
	/* [D5] pairs with [D6]: every commit before it, then the word. */
	MPR_STORE_RELEASE(&h->v.meta->state, MPMCRING_STATE_DEAD);
}

static int hostring_count_drop(struct hostring *h, unsigned int idx, int reason, unsigned int prio,
			       unsigned int n)
{
	h->prod[idx].dropped[reason][prio] += n;
	mpr_atomic_add(&h->v.meta->lost_dropped, n);
	switch (reason) {
	case MPMCRING_DROP_TOO_BIG:
		return -EMSGSIZE;
	case MPMCRING_DROP_CONTENTION:
		return -EAGAIN;
	default:
		return -ENOSPC;
	}
}

static int hostring_count_fail(struct hostring *h, unsigned int idx, int fail, unsigned int prio,
			       unsigned int n)
{
	/* The bit taken (overwrite mode): contention, told apart as the
	 * module tells write(2). */
	if (fail == MPR_FAIL_BUSY) {
		hostring_count_drop(h, idx, MPMCRING_DROP_CONTENTION, prio, n);
		return -EBUSY;
	}
	return hostring_count_drop(h, idx,
				   fail == MPR_FAIL_FULL       ? MPMCRING_DROP_FULL
				   : fail == MPR_FAIL_PRIORITY ? MPMCRING_DROP_PRIORITY
							       : MPMCRING_DROP_CONTENTION,
				   prio, n);
}

/*
 * Reserves n records; lost is the races the caller's own first attempt
 * lost (-1: it made none).
 */
static int hostring_reserve_from(struct hostring *h, unsigned int idx, const uint32_t *lens,
				 unsigned int n, unsigned int prio, uint64_t *pos, int lost)
{
	struct mpr_env env = { .h = h };
	__u64 need = 0, p;
	unsigned int i;
	int ret;

	if (!n || prio >= MPMCRING_NR_PRIO)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (lens[i] > h->v.max_record)
			return hostring_count_drop(h, idx, MPMCRING_DROP_TOO_BIG, prio, n);
		need += mpr_rec_size(&h->v, lens[i]);
	}
	if (lost < 0)
		ret = mpr_reserve(&h->v, &env, need, h->limit[prio], &p);
	else
		ret = mpr_reserve_slow(&h->v, &env, need, h->limit[prio], &p, lost);
	if (ret)
		return hostring_count_fail(h, idx, ret, prio, n);
	for (i = 0; i < n; i++) {
		mpr_write_hdr(&h->v, p, lens[i], prio, 0);
		pos[i] = p;
		p += mpr_rec_size(&h->v, lens[i]);
	}
	return 0;
}

int hostring_reserve_batch(struct hostring *h, unsigned int idx, const uint32_t *lens,
			   unsigned int n, unsigned int prio, uint64_t *pos)
{
	return hostring_reserve_from(h, idx, lens, n, prio, pos, -1);
}

/*
 * hostring_reserve() past its first attempt (len by value: kept off the
 * stack of the fast path). With the yield hook on, that attempt stopped
 * at fast_limit 0: the whole reservation is made here, first attempt
 * (which yields) and its lost races handed to the slow path, so the
 * contention tests run the module's fast-then-slow handoff.
 */
static MPR_SLOW_PATH int hostring_reserve_slow(struct hostring *h, unsigned int idx, uint32_t len,
					       unsigned int prio, uint64_t *pos, int lost)
{
	if (h->yield_in_reserve)
		lost = -1;
	return hostring_reserve_from(h, idx, &len, 1, prio, pos, lost);
}

/*
 * One record, the way the module's mpmcring_reserve() does it: the first
 * attempt inline; anything else (a full ring, a lost race, a bad argument,
 * the test hooks: fast_limit is 0 then) through the batch path above.
 */
int hostring_reserve(struct hostring *h, unsigned int idx, uint32_t len, unsigned int prio,
		     uint64_t *pos)
{
	struct mpr_env env = { .h = h, .fast = true };
	int lost = -1;
	__u64 p;

	if (mpr_unlikely(len > h->v.max_record || prio >= MPMCRING_NR_PRIO) ||
	    mpr_unlikely(!mpr_reserve_fast(&h->v, &env, mpr_rec_size(&h->v, len),
					   h->fast_limit[prio], &p, &lost)))
		return hostring_reserve_slow(h, idx, len, prio, pos, lost);
	mpr_write_hdr(&h->v, p, len, prio, 0);
	*pos = p;
	return 0;
}

_Static_assert(sizeof(struct mpr_chunk) <= MPR_CHUNK_STRIDE, "a chunk per line");

/*
 * hostring_reserve_chunked() past its first look at the chunk (len by
 * value, as for hostring_reserve_slow()): no chunks, a bad argument, or a
 * chunk that cannot take the record as it stands (mpr_chunk_reserve()
 * looks once more, then opens one), as the module's chunked copies of
 * mpmcring_reserve() hand over to mpmcring_reserve_from().
 */
static MPR_SLOW_PATH int hostring_reserve_chunked_slow(struct hostring *h, unsigned int idx,
						       uint32_t len, unsigned int prio,
						       uint64_t *pos)
{
	struct mpr_env env = { .h = h };
	__u64 p;
	int ret;

	if (!h->chunk_bytes)
		return hostring_reserve(h, idx, len, prio, pos);
	if (len > h->v.max_record || prio >= MPMCRING_NR_PRIO)
		return hostring_reserve_from(h, idx, &len, 1, prio, pos, -1);
	ret = mpr_chunk_reserve(&h->v, &env, hostring_chunk(h, idx), h->chunk_bytes,
				mpr_rec_size(&h->v, len), h->limit[prio], h->chunk_open_max, &p);
	if (ret)
		return hostring_count_fail(h, idx, ret, prio, 1);
	mpr_write_hdr(&h->v, p, len, prio, 0);
	*pos = p;
	return 0;
}

/*
 * One record from producer idx's chunk: the first look inline, as the
 * module's mpmcring_reserve_chunked() makes it, and nothing kept across
 * the call that follows it when it fails (a jump: the fast path saves no
 * registers and builds no struct mpr_env).
 */
int hostring_reserve_chunked(struct hostring *h, unsigned int idx, uint32_t len, unsigned int prio,
			     uint64_t *pos)
{
	__u64 p;

	if (mpr_unlikely(!h->chunk_bytes || len > h->v.max_record || prio >= MPMCRING_NR_PRIO) ||
	    mpr_unlikely(!mpr_chunk_take(hostring_chunk(h, idx), h->chunk_bytes,
					 mpr_rec_size(&h->v, len), h->limit[prio], &p)))
		return hostring_reserve_chunked_slow(h, idx, len, prio, pos);
	mpr_write_hdr(&h->v, p, len, prio, 0);
	*pos = p;
	return 0;
}

bool hostring_chunk_close(struct hostring *h, unsigned int idx)
{
	__u64 rest;

	if (!h->chunk_bytes ||
	    !mpr_chunk_close(&h->v, hostring_chunk(h, idx), h->chunk_bytes, &rest))
		return false;
	__atomic_fetch_add(&h->chunk_fillers, 1, __ATOMIC_RELAXED);
	return true;
}

/* The module's mpmcring_admit(); refusals counted alike. */
int hostring_admit(struct hostring *h, unsigned int idx, uint32_t len, unsigned int prio)
{
	struct mpr_env env = { .h = h };
	int ret;

	if (!len || prio >= MPMCRING_NR_PRIO)
		return -EINVAL;
	if (len > h->v.max_record)
		return hostring_count_drop(h, idx, MPMCRING_DROP_TOO_BIG, prio, 1);
	ret = mpr_admit(&h->v, &env, mpr_rec_size(&h->v, len), h->limit[prio]);
	return ret ? hostring_count_fail(h, idx, ret, prio, 1) : 0;
}

void hostring_commit(struct hostring *h, unsigned int idx, uint64_t pos, uint32_t len)
{
	mpr_publish(&h->v, pos, MPMCRING_STAMP_COMMITTED);
	h->prod[idx].produced++;
	h->prod[idx].produced_bytes += len;
}

void hostring_discard(struct hostring *h, unsigned int idx, uint64_t pos)
{
	mpr_publish(&h->v, pos, MPMCRING_STAMP_DISCARDED);
	h->prod[idx].discarded++;
}

void hostring_reclaim(struct hostring *h)
{
	struct mpr_env env = { .h = h };

	if (mpr_env_trylock(&env)) {
		mpr_reclaim(&h->v, &env);
		mpr_env_unlock(&env);
	}
}

uint64_t hostring_produced(const struct hostring *h)
{
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < h->nproducers; i++)
		n += h->prod[i].produced;
	return n;
}

uint64_t hostring_dropped(const struct hostring *h)
{
	uint64_t n = 0;
	unsigned int i, r, c;

	for (i = 0; i < h->nproducers; i++)
		for (r = 0; r < MPMCRING_NR_DROP; r++)
			for (c = 0; c < MPMCRING_NR_PRIO; c++)
				n += h->prod[i].dropped[r][c];
	return n;
}

uint64_t hostring_waiting(const struct hostring *h)
{
	const struct mpr_view *v = &h->v;
	__u64 head = MPR_LOAD_ACQUIRE(&v->cons->head);
	__u64 prod = MPR_LOAD_ACQUIRE(&v->meta->prod_pos);
	__u64 records = 0, bytes = 0, left = v->stamp_mask + 1;

	mpr_count_records(v, head, prod, &left, &records, &bytes);
	return records;
}
