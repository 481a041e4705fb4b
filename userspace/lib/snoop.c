// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Reading a ring without consuming it: a monitor (mpmcring cat --peek)
 * walks records with a cursor of its own, copies each out and keeps the
 * copy only if the space was not reused meanwhile. It claims nothing and
 * writes nothing, so it works on read-only handles and can never hold the
 * producers back, however slowly it runs: falling behind costs it records,
 * never the ring.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

uint64_t mpmcring_snoop_start(const struct mpmcring *r)
{
	struct mpr_pos s;

	mpr_positions(&r->v, &s);
	return mpr_head_sane(&r->v, &s) ? s.head : s.reclaim;
}

/*
 * True while the space at pos can still hold what was written there: the
 * producers reuse only space behind reclaim_pos. [M1] pairs with [P4]: the
 * copy, then an acquire fence, then reclaim_pos; a producer that wrote over
 * the copied bytes loaded a reclaim_pos past pos before writing, so this
 * load sees it past pos too.
 */
static bool mpr_snoop_intact(const struct mpr_view *v, uint64_t pos)
{
	MPR_ACQUIRE_FENCE();
	return !mpr_before(pos, MPR_READ_ONCE(v->meta->reclaim_pos));
}

int mpmcring_snoop(const struct mpmcring *r, uint64_t *pos, void *buf, size_t cap,
		   struct mpmcring_record *rec)
{
	const struct mpr_view *v = &r->v;
	uint64_t steps = v->stamp_mask + 1;
	struct mpr_rec mr;
	struct mpr_pos s;
	uint64_t p = *pos;

	mpr_positions(v, &s);
	/* Discarded records are skipped; at most one ring's worth. */
	while (steps--) {
		int st;

		if (!mpr_between(s.reclaim, p, s.prod) || !mpr_aligned(v, p)) {
			*pos = s.reclaim;
			return mpr_lib_error(
				ESTALE,
				"the monitor fell behind: the records it had not read yet were reused (it continues with the oldest left)");
		}
		if (p == s.prod)
			break;
		st = mpr_record_at(v, p, s.prod, &mr);
		if (st == MPR_REC_NONE)
			break; /* still being written */
		if (st == MPR_REC_BAD) {
			if (!mpr_snoop_intact(v, p)) {
				mpr_positions(v, &s);
				continue; /* reused under us: resync above */
			}
			return mpr_lib_error(
				EBADMSG, "the ring's framing is corrupt (a record does not fit)");
		}
		if (st == MPR_REC_DISCARDED) {
			p += mr.size;
			*pos = p;
			continue;
		}
		memcpy(buf, mpr_payload(v, p), mr.len < cap ? mr.len : cap);
		if (!mpr_snoop_intact(v, p)) {
			mpr_positions(v, &s);
			continue;
		}
		rec->data = buf;
		rec->len = mr.len;
		rec->prio = mr.prio;
		rec->flags = mr.flags;
		rec->reserved = 0;
		rec->pos = p;
		*pos = p + mr.size;
		if (mr.len > cap)
			return mpr_lib_error(
				EMSGSIZE,
				"a record of %u bytes, larger than the %zu-byte buffer: skipped",
				mr.len, cap);
		return 0;
	}
	errno = EAGAIN;
	return -EAGAIN;
}
