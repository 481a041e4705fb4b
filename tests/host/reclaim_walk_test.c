// SPDX-License-Identifier: GPL-2.0-only
/*
 * The reclaim walk, mpr_reclaim_walk() (proto/mpmcring_produce.h), against
 * the single loop that the model's [M:reclaim-walk] step describes
 * (tests/model/mpmcring.pml): both run on the same random rings (committed,
 * discarded, unfinished and oversized records; positions low and near
 * 2^64; lo and to on record boundaries, inside records and at prod_pos,
 * lo <= to) and must agree on everything the caller uses: the end, what is
 * freed, the records walked and where and why the walk stopped. A fixed
 * seed, so every run walks the same rings. Exits non-zero on any
 * difference.
 *
 *   reclaim_walk_test [walks]   (default 200000)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpmcring_proto.h"

/* The walk needs none of the environment: stubs for the header's calls. */
struct mpr_env {
	int unused;
};

static inline bool mpr_env_trylock(struct mpr_env *e)
{
	(void)e;
	return true;
}
static inline void mpr_env_unlock(struct mpr_env *e)
{
	(void)e;
}
static inline bool mpr_env_reclaim_due(struct mpr_env *e, __u64 h)
{
	(void)e;
	(void)h;
	return true;
}
static inline void mpr_env_reclaimed(struct mpr_env *e, __u64 h, bool m)
{
	(void)e;
	(void)h;
	(void)m;
}
static inline unsigned int mpr_env_next_slot(struct mpr_env *e, unsigned int i)
{
	(void)e;
	return i;
}
static inline __u64 *mpr_env_kernel_claim(struct mpr_env *e, unsigned int i)
{
	(void)e;
	(void)i;
	return NULL;
}
static inline struct mpr_lease *mpr_env_lease(struct mpr_env *e, unsigned int i)
{
	(void)e;
	(void)i;
	return NULL;
}
static inline struct mpr_floor *mpr_env_floor(struct mpr_env *e)
{
	static struct mpr_floor floor = { MPMCRING_SLOT_IDLE, MPMCRING_SLOT_IDLE, 0 };

	(void)e;
	return &floor;
}
static inline __u64 mpr_env_now_ms(struct mpr_env *e)
{
	(void)e;
	return 0;
}
static inline void mpr_env_revoked(struct mpr_env *e, unsigned int i, __u64 r)
{
	(void)e;
	(void)i;
	(void)r;
}
static inline void mpr_env_overwritten(struct mpr_env *e, __u64 r, __u64 b)
{
	(void)e;
	(void)r;
	(void)b;
}
static inline void mpr_env_repaired(struct mpr_env *e)
{
	(void)e;
}
static inline void mpr_env_racing(struct mpr_env *e)
{
	(void)e;
}
static inline void mpr_env_refused(struct mpr_env *e, __u64 r)
{
	(void)e;
	(void)r;
}
static inline bool mpr_env_refused_at(struct mpr_env *e, __u64 r)
{
	(void)e;
	(void)r;
	return false;
}

#include "mpmcring_produce.h"

/*
 * THE REFERENCE: the walk as it was before 735f45c (one loop, lo compared
 * per record), which is the walk the model's [M:reclaim-walk] step checks
 * (mpmcring.pml: `walked < RWALK`, `!BEFORE(lo, e) -> freed = e`). Keep it
 * as it is: the code's walk may change, this copy may not, unless the
 * model's step changes with it.
 */
static MPR_OWN_FRAME __u64 ref_reclaim_walk(const struct mpr_view *v, __u64 r0, __u64 to, __u64 lo,
					    __u64 *freed, unsigned int *walked,
					    struct mpr_rec *stop)
{
	__u64 e, f, room = to - r0;
	struct mpr_walker w;
	unsigned int n = 0;
	struct mpr_rec rec;

	mpr_walker_init(&w, v);
	stop->state = MPR_REC_NONE;
	for (e = f = r0; room && n < MPR_RECLAIM_WALK; n++) {
		int st = mpr_walk_at(&w, e, room, &rec);

		if (st != MPR_REC_COMMITTED && st != MPR_REC_DISCARDED) {
			stop->state = st;
			if (st == MPR_REC_BAD) {
				stop->len = rec.len;
				stop->size = rec.size;
			}
			break;
		}
		e += rec.size;
		room -= rec.size;
		if (!mpr_before(lo, e))
			f = e; /* e <= lo */
	}
	*freed = f;
	*walked = n;
	return e;
}

#define SZ 65536ULL
#define NSTARTS (SZ / 8 + 2)

static uint64_t rs = 88172645463325252ULL; /* fixed seed */

static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

/* A position in [from, p], 8-aligned relative to from. */
static __u64 pick(__u64 from, __u64 p)
{
	__u64 x = from + ((rnd() % (p - from + 8)) & ~7ULL);

	return x - from > p - from ? p : x;
}

/* Fills the ring from r0 with random records; returns prod_pos. */
static __u64 fill(struct mpr_view *v, __u64 r0, __u64 *starts, int *count)
{
	__u64 pos = r0;
	int n = 0, small = rnd() & 1;

	memset(v->stamps, 0xee, (SZ >> 3) * 8);
	while (pos - r0 < SZ - 64) {
		__u32 len = small ? 1 + rnd() % 24 : 1 + rnd() % 600;
		__u64 size = (len + 8 + 7) & ~7ULL, st = MPMCRING_STAMP_COMMITTED;
		union mpr_hdr_word u;
		int k = rnd() % 1000;

		if (pos + size - r0 > SZ)
			break;
		u.w = 0;
		u.h.len = len;
		if (k < 100)
			st = MPMCRING_STAMP_DISCARDED;
		if (k == 100 && (rnd() & 7) == 0)
			u.h.len = SZ; /* oversized */
		memcpy(v->data + (pos & (SZ - 1)), &u.w, 8);
		memcpy(v->data + (pos & (SZ - 1)) + SZ, &u.w, 8);
		if (!(k == 101 && (rnd() & 7) == 0)) /* else unfinished */
			v->stamps[(pos & (SZ - 1)) >> 3] = pos | st;
		starts[n++] = pos;
		pos += size;
	}
	starts[n] = pos;
	*count = n;
	return pos;
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 200000, bad = 0, it;
	long c_limit = 0, c_bad = 0, c_none = 0, c_past = 0;
	static __u64 starts[NSTARTS];
	struct mpmcring_layout l;
	struct mpr_view v;
	unsigned char *ro;

	memset(&l, 0, sizeof(l));
	l.data_size = SZ;
	l.granule_shift = 3;
	l.max_record = SZ / 2 - 8;
	l.stamps_offset = 4096;
	l.data_offset = 4096 + (SZ >> 3) * 8;
	ro = aligned_alloc(4096, l.data_offset + 2 * SZ);
	if (!ro) {
		perror("aligned_alloc");
		return 2;
	}
	memset(ro, 0, l.data_offset + 2 * SZ);
	mpr_view_init(&v, &l, NULL, ro);

	for (it = 0; it < iters; it++) {
		__u64 r0, p, lo, to, f1, f2, e1, e2;
		struct mpr_rec s1, s2;
		unsigned int w1, w2;
		int n, mode, same;

		if (rnd() & 1)
			r0 = (~0ULL - rnd() % (2 * SZ)) & ~7ULL; /* wraps */
		else
			r0 = (rnd() % (1ULL << 40)) & ~7ULL;
		p = fill(&v, r0, starts, &n);
		mode = rnd() % 4;
		if (mode == 0) {
			lo = starts[rnd() % (n + 1)];
			to = lo;
		} else if (mode == 1) {
			lo = starts[rnd() % (n + 1)];
			to = pick(lo, p);
		} else {
			lo = pick(r0, p);
			to = mode == 3 ? p : pick(lo, p);
		}
		/* the walk's precondition: r0 <= lo <= to <= prod_pos */
		if (lo - r0 > to - r0 || to - r0 > p - r0) {
			printf("not ok: bad test case lo +%llu to +%llu\n",
			       (unsigned long long)(lo - r0), (unsigned long long)(to - r0));
			return 2;
		}
		memset(&s1, 0, sizeof(s1));
		memset(&s2, 0, sizeof(s2));
		e1 = ref_reclaim_walk(&v, r0, to, lo, &f1, &w1, &s1);
		e2 = mpr_reclaim_walk(&v, r0, to, lo, &f2, &w2, &s2);
		same = e1 == e2 && f1 == f2 && w1 == w2 && s1.state == s2.state &&
		       (s1.state != MPR_REC_BAD || (s1.len == s2.len && s1.size == s2.size));
		c_limit += w1 == MPR_RECLAIM_WALK;
		c_bad += s1.state == MPR_REC_BAD;
		c_none += s1.state == MPR_REC_NONE && e1 != to;
		c_past += lo != to && f1 != e1;
		if (!same && bad++ < 10)
			printf("DIFF walk %ld mode %d r0 %llx lo +%llu to +%llu p +%llu: reference e +%llu freed +%llu walked %u stop %d | walk e +%llu freed +%llu walked %u stop %d\n",
			       it, mode, (unsigned long long)r0, (unsigned long long)(lo - r0),
			       (unsigned long long)(to - r0), (unsigned long long)(p - r0),
			       (unsigned long long)(e1 - r0), (unsigned long long)(f1 - r0), w1,
			       s1.state, (unsigned long long)(e2 - r0),
			       (unsigned long long)(f2 - r0), w2, s2.state);
	}
	printf("%ld walks (%ld to the walk limit, %ld stopped on a bad record, %ld on an unfinished one, %ld past lo): %ld differ\n",
	       iters, c_limit, c_bad, c_none, c_past, bad);
	/* the cases must all have been reached, or the comparison says little */
	if (iters >= 100000 && (!c_limit || !c_bad || !c_none || !c_past)) {
		printf("not ok: a kind of walk was never reached\n");
		return 1;
	}
	free(ro);
	return bad != 0;
}
