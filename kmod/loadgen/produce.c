// SPDX-License-Identifier: GPL-2.0-only
/*
 * What every load-generator producer does, whatever its context: reserve,
 * fill a self-checking record (producer id, sequence, checksum), commit
 * (or, every discard_every-th reservation, discard); or, every
 * output_every-th burst, build each record in a buffer and send it with
 * mpmcring_output().
 */
#include <linux/delay.h>
#include <linux/kernel.h>
#include <linux/preempt.h>
#include <linux/timekeeping.h>

#include "loadgen.h"

/* Deterministic per (producer, seq): consumers recompute it. */
static u32 lg_len(const struct lg_producer *p, u64 seq)
{
	return mpr_testrec_len(p->id, seq, lg_cfg.len_min, lg_cfg.len_max);
}

static u32 lg_prio(u64 seq)
{
	u32 x = mpr_testrec_mix((u32)seq * 7 + 1) % 100;

	if (x < lg_cfg.prio_pct[MPMCRING_PRIO_LOW])
		return MPMCRING_PRIO_LOW;
	if (x < lg_cfg.prio_pct[MPMCRING_PRIO_LOW] + lg_cfg.prio_pct[MPMCRING_PRIO_NORMAL])
		return MPMCRING_PRIO_NORMAL;
	return MPMCRING_PRIO_CRITICAL;
}

/* Any context may ask about any producer (the NMI kicker, the stats file). */
/*
 * attempted counts attempts that are over, their records committed or
 * dropped and counted: a producer reported finished has final counters.
 */
bool lg_producer_finished(const struct lg_producer *p)
{
	/* Pairs with the smp_store_release() of attempted in lg_produce(). */
	return lg_cfg.count && smp_load_acquire(&p->attempted) >= lg_cfg.count;
}

/*
 * Timestamps for the elapsed time a benchmark reads. ktime_get_ns() spins
 * on the timekeeping seqcount, which an NMI may have interrupted on its own
 * CPU: NMI producers take the NMI-safe fast accessor instead. Its latch
 * reads are not annotated for KCSAN on 6.1, so every other context keeps
 * the ordinary clock.
 */
static u64 lg_now(void)
{
	return in_nmi() ? ktime_get_mono_fast_ns() : ktime_get_ns();
}

/* A burst of n sent record by record: what a copy-out producer does. */
static void lg_output(struct lg_producer *p, unsigned int n, u32 prio)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		u64 seq = p->seq + i;

		mpr_testrec_fill(p->out_buf, p->lens[i], p->id, p->ctx, prio, seq);
		if (mpmcring_output(lg_cfg.ring, p->out_buf, p->lens[i],
				    MPMCRING_F_PRIO(prio)))
			WRITE_ONCE(p->dropped, p->dropped + 1);
		else
			WRITE_ONCE(p->committed, p->committed + 1);
	}
	WRITE_ONCE(p->outputs, p->outputs + n);
	WRITE_ONCE(p->seq, p->seq + n);
	WRITE_ONCE(p->t_last, lg_now());
}

void lg_produce(struct lg_producer *p, unsigned int n)
{
	struct mpmcring_rsv *rsv = p->rsv;
	u32 *lens = p->lens;
	u32 prio = lg_prio(p->seq);
	unsigned int i;
	int err;

	WRITE_ONCE(p->active, 1);
	/* Pairs with smp_mb() in lg_quiesce(): it sees us, or we see it. */
	smp_mb();
	n = clamp_t(unsigned int, n, 1, LG_MAX_BATCH);
	if (lg_cfg.count)
		n = min_t(u64, n, lg_cfg.count - p->attempted);
	if (!n || !READ_ONCE(lg_running))
		goto out;
	if (!p->t_first)
		WRITE_ONCE(p->t_first, lg_now());
	for (i = 0; i < n; i++)
		lens[i] = lg_len(p, p->seq + i);
	if (lg_cfg.output_every && p->calls++ % lg_cfg.output_every == 0) {
		lg_output(p, n, prio);
		goto done;
	}
	/* A batch shares one class: the class of its first record. */
	err = n == 1 ? mpmcring_reserve(lg_cfg.ring, lens[0], MPMCRING_F_PRIO(prio), rsv) :
		       mpmcring_reserve_batch(lg_cfg.ring, lens, n, MPMCRING_F_PRIO(prio), rsv);
	if (err) {
		WRITE_ONCE(p->dropped, p->dropped + n);
		WRITE_ONCE(p->seq, p->seq + n);
		WRITE_ONCE(p->t_last, lg_now());
		goto done;
	}
	for (i = 0; i < n; i++)
		mpr_testrec_fill(rsv[i].data, lens[i], p->id, p->ctx, prio, p->seq + i);
	if (lg_cfg.stall_every && p->id == 0 && p->seq % lg_cfg.stall_every == 0)
		udelay(lg_cfg.stall_us);	/* a producer caught mid-record */
	if (lg_cfg.discard_every && p->reserves++ % lg_cfg.discard_every == 0) {
		/* Records nobody will see: what a producer that gave up leaves. */
		for (i = 0; i < n; i++)
			mpmcring_discard(&rsv[i]);
		WRITE_ONCE(p->discarded, p->discarded + n);
	} else {
		for (i = 0; i < n; i++)
			mpmcring_commit(&rsv[i]);
		WRITE_ONCE(p->committed, p->committed + n);
	}
	WRITE_ONCE(p->seq, p->seq + n);
	WRITE_ONCE(p->t_last, lg_now());
done:
	/*
	 * Last: finished (attempted reaching count) must not be seen before
	 * the batch's commits and counts; pairs with lg_producer_finished().
	 */
	smp_store_release(&p->attempted, p->attempted + n);
out:
	/* Pairs with smp_load_acquire() in lg_quiesce(): counters first. */
	smp_store_release(&p->active, 0);
}

void lg_quiesce(struct lg_producer *producers, unsigned int n)
{
	unsigned int i, tries;

	/* Pairs with smp_mb() in lg_produce(). */
	smp_mb();
	for (i = 0; i < n; i++) {
		/* Pairs with smp_store_release() of active in lg_produce(). */
		for (tries = 0; smp_load_acquire(&producers[i].active) && tries < 10000;
		     tries++)
			usleep_range(100, 200);
	}
}
