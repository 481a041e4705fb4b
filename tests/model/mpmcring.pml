/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A Promela model of the mpmcring protocol (proto/mpmcring_proto.h,
 * proto/mpmcring_produce.h, and the slot attach/release in kmod/slots.c),
 * for spin. tests/model/run.sh checks it; docs/model.md has what is modelled and the results.
 *
 * Processes: Producer(0), Producer(1) reserve, write and publish records
 * (and reclaim, or evict in overwrite mode, when the ring looks full);
 * Consumer(0), Consumer(1) claim (consumer 0 batches of up to 2, consumer 1
 * single records; either may claim again while holding; a mapped consumer
 * taking one record while holding nothing tries mpr_claim_one() first, with
 * its cached prod_pos), commit, check the
 * lease, die at any point of a claim and come back as a new consumer on the
 * same slot; Tick is the housekeeping reclaim (and the REPAIR ioctl), Clock
 * ends a slot's claim timeout at any moment, Hostile writes anything into
 * the consumer area, Quiet marks quiescence for the non-progress search
 * (and runs a reclaim then, which must free everything), Destroy is
 * mpmcring_destroy() (a producer may then be a BPF program, which looks the
 * ring up under RCU, or write(2), which looks at @closing under RCU;
 * consumers are told the end and close their files, or close them before
 * it).
 * Which of them run, and how much they do, is the configuration (knobs).
 *
 * Traceability: every modeled step carries the marker of the code it stands
 * for; the same marker is at that code (check-markers.sh fails when they
 * disagree, or when docs/protocol.md's table lacks one).
 *
 *   marker                code                                  model
 *   [M:positions]         mpr_positions(): reclaim, head, prod   three loads, that order;
 *                         mpr_claim_one(): prod_seen for prod     ps while reclaim <= head < ps
 *   [M:head-sane]         mpr_head_sane()                        SANE()
 *   [M:record-at]         mpr_walk_at(): stamp, then header      record_at(): two steps
 *   [M:stamp-finished]    mpr_stamp_finished(): committed or     stamp_st 1 or 2 at pos
 *                         discarded at pos
 *   [M:claim-announce]    mpr_claim_attempt(): announce h if      ANNOUNCE() (plain store),
 *                         !holding, after the walk                after the walk
 *   [M:claim-walk]        mpr_claim_attempt(): walk records       walk loop; mpr_claim_one():
 *                                                                 one record, or the whole way
 *   [M:claim-recheck]     mpr_claim_attempt(): head re-read       head != h
 *                         before EAGAIN
 *   [M:claim-release]     mpr_claim_from(): announce := IDLE      ANNOUNCE(c, IDLE)
 *   [M:claim-discards]    mpr_claim_attempt(): discarded records  ANNOUNCE(c, IDLE) (the model
 *                         only: announce := IDLE by an exchange   is SC); the room ask that
 *                         (then room_at: [C6]), skipped := h      follows is not modelled
 *   [M:claim-cas]         mpr_claim_attempt(): cmpxchg(head,      [C2]; the caller's
 *                         h, e)                                   claim_start: the oldest
 *                                                                 start it holds (library)
 *   [M:claim-passed]      mpr_claim_drop_passed(): h before       xchg(announce, IDLE):
 *                         reclaim_pos after a won cmpxchg (a      REVOKED -ESTALE, else retry
 *                         head written back)
 *   [M:commit-passed]     mpr_commit(): reclaim_pos after the      [C5]: passed
 *                         reads, before the exchange
 *   [M:commit]            mpr_commit(): xchg(start, IDLE)         [C3] [C4], says REVOKED
 *   [M:lease-check]       mpr_claim_revoked(): before a claim     -ESTALE while holding
 *                         made while holding (library): REVOKED
 *                         or passed
 *   [M:floor-lease]       mpr_floor_lease(): top, a new floor     fl_top, fl_mark; Clock:
 *                         lease once reclaim reached the mark     fl_exp
 *   [M:floor-bound]       a head written back behind a run-out    moved first, then reclaim
 *                         mark                                    goes by the head as it stands
 *   [M:claims-floor]      mpr_claims_floor()                      the slot loop
 *   [M:lease-reset]       mpr_env_lease(): a slot attached since   lease_fresh[]
 *                         the last reclaim starts a new lease
 *   [M:floor-slot]        slot load, clamp (idle, revoked): a     [R4]
 *                         mapped slot's start or read(2)'s
 *                         kernel word, the same path
 *   [M:lease-since]       since_ms = now only if not behind       ls_exp[] = 0
 *                         lease.head
 *   [M:lease-expired]     timed out, pressure, s < head          ls_exp[] (Clock)
 *                         (p - s > size/2, or refused at r0)
 *   [M:lease-revoke]      cmpxchg(start, s, s | REVOKED)          [R6]
 *   [M:revoke-lost]       the consumer moved first                its new start, clamped
 *   [M:revoke-count]      held_records, mpr_held_capped()         count_capped
 *   [M:reclaim-to-head]   walk on to an unproved head             to = h
 *   [M:reclaim-walk]      the stamp walk from reclaim_pos         [R2]
 *   [M:reclaim-straddle]  a head inside a record: fix = its end
 *   [M:reclaim-store]     reclaim_pos store-release               [R5]
 *   [M:reclaim-repair]    a garbage head goes to prod (cmpxchg)
 *   [M:floor-head]        mpr_floor_head(): cmpxchg(head, h,      forward only, 2 tries
 *                         mark), following a claim's move
 *   [M:overwrite-walk]    mpr_overwrite(): walk from the head
 *   [M:overwrite-cas]     mpr_overwrite(): cmpxchg(head, h, e)
 *   [M:reserve-load]      mpr_reserve(): reclaim_pos, then prod   [P4]
 *   [M:reserve-full]      the full / priority check
 *   [M:reserve-busy]      overwrite: full only if its own last    stuck, busy
 *                         eviction left no room, else lost races
 *   [M:reserve-reclaim]   reclaim due, trylock, evict, reclaim
 *   [M:reserve-cas]       cmpxchg(prod_pos, p, p + need)
 *   [M:publish-hdr]       mpr_write_hdr() and the payload
 *   [M:publish-stamp]     mpr_publish()                           [P2]
 *   [M:detach]            mpmcring_slot_detach() (kmod/slots.c)   xchg(start, IDLE)
 *   [M:attach]            mpmcring_slot_attach() (kmod/slots.c)   sets lease_fresh
 *   [M:bpf-lookup]        mpmcring_bpf_output(): rcu_read_lock(),  in_rcu[], published
 *                         mpmcring_find_id(), the output in the section
 *   [M:write-entry]       mpmcring_write_call(): @closing, -EPIPE  found = !closing
 *   [M:write-closing]     mpmcring_write_try(): rcu_read_lock(),   in_rcu[], !closing
 *                         @closing [D4], reserve, copy, commit
 *                         in the section
 *   [M:write-retry]       mpmcring_write_records(): full: the     in_rcu[] = 0, then
 *                         section ends, wait, a whole new try     [M:write-closing]
 *   [M:end-read]          mpmcring_read_buf(): @dead [D2], claim dd, then the claim: the end
 *   [M:read-end]          mpmcring_read_buf(): 0 only for @dead    dd && cret == C_EAGAIN
 *                         and an empty claim
 *   [M:end-poll]          mpmcring_poll(): @dead [D2], ready       the same step
 *   [M:destroy-unpublish] mpmcring_destroy(): idr_remove(), out of  published = 0
 *                         the id cache
 *   [M:destroy-closing]   WRITE_ONCE(closing) [D3]                 closing = 1
 *   [M:destroy-sync]      synchronize_rcu(), always                waits for each in_rcu[]
 *   [M:destroy-dead]      smp_store_release(meta->state) [D5],     dead = 1
 *                         then smp_store_release(dead) [D1]        (both flags)
 *   [M:destroy-put]       mpmcring_put(): the creator's ref        refs, gone
 *
 * Memory model: spin interleaves whole steps, so the model is sequentially
 * consistent. Each step is one access to shared memory as the code makes it
 * (a marked load, store or cmpxchg), with the purely local computation
 * around it. So the model proves the protocol's logic over every
 * interleaving of those accesses; it does not prove that the barriers make
 * the hardware keep their order. That rests on the barrier pairs ([P2]..[R6]
 * in proto/ and docs/protocol.md's table, each a message-passing or
 * store-buffering argument), on KCSAN in the kernel suites (tests/kunit
 * under the kcsan kernel) and on ThreadSanitizer in tests/host (the same
 * proto/ code). The revocation and the commit decide on one word (the
 * revocation's cmpxchg, the commit's exchange, both fully ordered, on the
 * slot's start), so coherence orders them; the cmpxchg on the head is
 * fully ordered, which is what [C2]/[R3] rely on.
 *
 * What is abstracted, and why:
 * - Positions are 8-bit counters in quarter-granule units: bit 0 set is
 *   MPMCRING_SLOT_IDLE, bit 1 MPMCRING_SLOT_REVOKED, either makes a
 *   position unaligned, as in the code (granules are at least 8 bytes). The ring is NG granules
 *   (data_size 2 * NG units) and starts one ring below 2^8, so every run
 *   wraps the counter through 0 and the wrap-safe comparisons are used
 *   across it. Runs travel far less than 128 units, so no honest comparison
 *   spans half the circle and no stamp is 256 units old: what 64-bit
 *   positions guarantee forever, the bounded runs guarantee by their length.
 * - A record is 1 or 2 granules; its header is one word, its size (3: longer
 *   than max_record); prio, flags and byte lengths are not modeled, nor
 *   max_bytes (-EMSGSIZE) nor batch reservations (reserve_batch: several
 *   records under one cmpxchg). The payload in a record's second granule is
 *   a forged header (producer 0: a plausible one, producer 1: an oversized
 *   one), which is what a walker reads if it takes payload for framing.
 * - Producer 0 writes low-priority records (a one-granule watermark),
 *   producer 1 critical ones; overwrite mode has no watermark.
 * - Retry and walk bounds are small (MPR_RESERVE_TRIES, MPR_CLAIM_TRIES:
 *   RT, CT = 2; walks: 4): running out returns -EBUSY or a contention drop,
 *   and the caller retries, so the shared effects are those of more tries.
 * - "Reclaim due" is a free choice; so is whether the reclaim bit is free.
 * - Time is one event per slot: "the lease has timed out", possible at
 *   any moment once a lease started (lease.head set), undone when reclaim
 *   restarts the lease (since_ms = now). The lease reset (seen and head
 *   idle, at the first reclaim after an attach) leaves it as it is: with
 *   lease.head idle the next start restarts the lease, as in the code.
 * - slot_info.revoked and .revocations are statistics nobody acts on (the
 *   consumer learns of a revocation from its own start): not modeled.
 * - held_records: honest consumers' writes are left out (they only feed a
 *   count that is capped); the hostile process writes 255.
 * - Wakeups, loss counters (mpr_take_lost), statistics: not modeled.
 * - A consumer dies right after its announce, right after its won head
 *   cmpxchg (before [M:claim-passed]), or while holding; its file's
 *   release (detach) then runs with no more steps of the dead consumer, and
 *   a new consumer attaches the same slot (ATTACH takes the lowest free one).
 *   Dying between [M:commit-passed] and [M:commit] is not a separate point:
 *   commit-passed only loads reclaim_pos into private memory, so the shared
 *   state is that of dying just before it, while holding.
 * - read(2) is a consumer whose announce is in kernel memory: one record
 *   per claim, never holding, never dying (its file's release is the mapped
 *   consumer's detach), leased and revocable like a mapped one (held count
 *   1); the co-tenant cannot write its announce, but can write the head.
 * - Producers stop after K records each. PREFILL records may be in the ring
 *   at the start: committed by one producer alone, an ordinary reachable
 *   state, so fewer concurrent records still make the ring wrap.
 *
 * Reductions (each keeps every behaviour of the shared memory):
 * - Local computation is folded into the step with the access before it.
 * - reclaim_pos is written only under the reclaim bit: its holder reads it
 *   together with the head.
 * - A walker holding the reclaim bit reads [reclaim_pos, prod_pos]: no
 *   producer can reserve there, so a header it reads after a matching stamp
 *   is stable, and each stamp there only goes from "no record" to
 *   "finished". A walk of such reads sees what one walk at the moment of its
 *   last read sees: those walks (reclaim's, eviction's, the head check) are
 *   one step.
 * - With the tick running, producers do not run reclaim themselves: a
 *   producer's reclaim is the same code under the same bit, so the tick
 *   reclaiming at that moment has the same effect.
 * - Once the hostile process is done (or without one), a consumer does not
 *   start a claim while head == prod_pos. Such a claim only stores IDLE
 *   over IDLE; and a head equal to prod_pos then stays until prod_pos moves
 *   (no honest write moves it), so the claim that starts once it differs
 *   reads the same head, and a reclaim_pos it reads later passes the same
 *   sanity check.
 * - Without leases (claim_timeout_ms 0) reclaim's lease bookkeeping
 *   (seen, head, since) has no effect: not kept then.
 * - Knobs are copied into each process as constant locals, so that
 *   partial-order reduction still sees purely local steps.
 *
 * Properties (REQUIRE(); the CHECK knob picks the groups):
 *   1 kernel   no_overlap: a reservation never overlaps space not yet freed
 *              (so two live reservations never overlap); reclaim_finished:
 *              reclaim frees only finished records; reclaim_monotone;
 *              drop_justified: a producer drops a record as full (or
 *              priority) only when the ring was: every granule its last
 *              check counted (from the reclaim_pos it loaded to the
 *              prod_pos it loaded after) was in use at some moment between
 *              those two loads (ghost: g_busy at the first, and every
 *              reservation made until the second), and only after two
 *              reclaim rounds that each ran mpr_reclaim() or were skipped
 *              by the free choice (not due, or the bit taken); and
 *              reported as full (MPR_FAIL_FULL, not _PRIORITY) exactly
 *              when those granules left no room in the data area itself,
 *              not just under the watermark; in overwrite mode, full only
 *              when its own last eviction and reclaim (under the bit) left
 *              no room, otherwise it gives up on lost races (contention);
 *              mem_valid: a producer that
 *              found the ring (a kfunc's lookup, a write(2) that found it
 *              open, the caller's own) finds its memory there up to its
 *              last access (the stamp, or the drop), and so does the
 *              destroy up to its wake (the dead step);
 *              lease_since: a lease restarts only for a start not behind
 *              the head reclaim saw when it began (unless the hostile
 *              wrote the head). No one
 *              moment need be full: reclaim may free, and others reserve,
 *              between the loads (seen: the one-moment version fails in
 *              lease-1p1c, the tick freeing in between). With
 *              reclaim_maximal, each round that ran freed all it could.
 *   2 consumer honest_not_clobbered: space an honest consumer holds (or has
 *              claimed) is never reused before it has read it, unless its
 *              claim was revoked, the hostile process wrote its slot, or the
 *              hostile has written the head (then reclaim may pass claims
 *              and the protocol promises detection only: claim_live,
 *              stale_reported); held_not_freed: reclaim
 *              never frees a record a consumer holds, same exceptions;
 *              claim_live: a claim mpr_claim() hands over (not one made
 *              while holding) covers no space reclaim has freed, and is
 *              framed as written;
 *              stale_reported: a consumer (mapped or read(2)) whose records
 *              were reused under it before it read them is told at commit
 *              (REVOKED or passed; unless the hostile wrote its slot);
 *              revoke_reported: the commit's (or detach's) exchange finds
 *              REVOKED exactly when reclaim revoked that claim, and without
 *              the hostile the commit reports a loss (revoked or passed)
 *              exactly then: the bit that decides whether the kernel
 *              and the library count a claim revoked or consumed/abandoned
 *              agrees on both sides (the counts themselves, held_records
 *              and the library's lost.revoked, are not modelled);
 *              revoke_live: a revocation hits the claim the consumer
 *              announced, not one it already committed.
 *   4 delivery (without the hostile process) exactly_once: a claim takes
 *              only committed, unclaimed records that start where it thinks
 *              and have the size it thinks (no misframing, nothing
 *              unfinished, nothing twice);
 *              revoke_justified: a revocation hits only a claim that
 *              holds producers back (the lease policy; nothing else sees
 *              it): it claimed something (its start is before the head)
 *              and more than half the ring lies between it and prod_pos,
 *              or a producer was refused for room since reclaim_pos last
 *              moved;
 *              floor_justified: the floor lease revokes only a claim
 *              announced before that lease began, or an announce that
 *              holds nothing and never will;
 *              reclaim_maximal: a reclaim (unless its walk ran out of
 *              steps) leaves reclaim_pos at the first record from it that
 *              is unfinished or that a live (announced, unrevoked) claim it
 *              looked at starts at, or at the head: it frees all it may;
 *              no_lost: reclaim frees no committed record that was never
 *              claimed (with overwrite: evicted; with leases: revoked;
 *              with deaths: abandoned: each counted); evict_unclaimed;
 *              head_monotone: every head write moves it forward; head_sane:
 *              nobody ever sees a corrupt head;
 *              end_complete: a consumer told the end of a destroyed ring
 *              leaves no committed record unclaimed, and none is
 *              committed after ([D1]/[D2]); end_told: every consumer
 *              that did not close its file first is told the end.
 *   8 count    count_capped: what a revocation or a release counts as lost
 *              is at most what the claimed span [start, head) can hold.
 *  16 repair   a head that cannot be a record boundary gets its repair.
 *   progress   no livelock (non-progress cycles under weak fairness): every
 *              infinite run passes a reservation, a claim or quiescence
 *              (progress_* labels); quiescence counts only once a reclaim
 *              run then has freed everything (reclaim_pos == head).
 */

/* ================================================================ knobs */
/*
 * The configuration, read at the start of each run from the environment
 * (MODEL_<NAME>=<value>; run.sh sets them), so that one compiled verifier
 * checks every configuration. Constant during a run.
 */
#ifndef NG
#define NG 4		/* granules in the ring: 4 or 8 (a power of two; compile time) */
#endif
byte cfg_K;			/* records each producer tries to write (2) */
byte cfg_PREFILL;		/* committed one-granule records in the ring at the start (0) */
byte cfg_NPROD;		/* producer processes, 1 or 2 (2) */
byte cfg_NCONS;		/* consumer processes, 1 or 2 (2) */
byte cfg_SIZES;		/* producers that write 1- or 2-granule records; others 1 (2) */
byte cfg_DISCARD;		/* producers that may discard: 0, 1 (producer 1) or 2 (1) */
byte cfg_RT;		/* MPR_RESERVE_TRIES (2) */
byte cfg_CT;		/* MPR_CLAIM_TRIES (2) */
byte cfg_RWALK;		/* MPR_RECLAIM_WALK (4) */
byte cfg_OWALK;		/* MPR_OVERWRITE_WALK (4) */
byte cfg_BATCH;		/* records consumer 0 claims at most at once; consumer 1: 1 (2) */
bit cfg_HOLD;		/* a mapped consumer may claim again before it commits (1) */
byte cfg_DEATHS;		/* times each mapped consumer dies and a new one attaches (0) */
bit cfg_LEASE;		/* claims are leases: claim_timeout_ms != 0 (0) */
bit cfg_TICK;		/* the housekeeping tick reclaims at any moment (LEASE) */
bit cfg_PRODUCER_RECLAIM;	/* producers reclaim when the ring looks full (!TICK) */
bit cfg_OVERWRITE;		/* MPMCRING_MODE_OVERWRITE (0) */
byte cfg_READ2;		/* consumers that are read(2), a bit each: their claims live in kernel memory (0) */
byte cfg_HOSTILE;		/* writes a hostile co-tenant makes into the consumer area (0) */
byte cfg_HTARGET;		/* what it writes, a bit each: head, slot 0, slot 1, held 0, held 1 (31) */
byte cfg_HVALUES;		/* 0: any value near the ring; 1: aligned ones, one odd, one far;
				 * 2: as 0, without the aligned ones ahead of prod_pos (0) */
byte cfg_CHECK;		/* property groups checked, a bit each (see REQUIRE) (31) */
bit cfg_LIVENESS;		/* run the quiescence monitor, for the non-progress search (0) */
bit cfg_FIX_REPAIR;		/* the fix proposed for finding 4 (0) */
bit cfg_DESTROY;		/* mpmcring_destroy() runs once the caller's producers are done (0) */
byte cfg_BPF;		/* producers that are BPF programs (kfuncs), a bit each (0) */
byte cfg_WRITE2;		/* producers that are write(2) on an open file, a bit each (0) */

c_decl {
	static int mpr_knob(const char *name, int dflt)
	{
		char var[64];
		const char *v;

		snprintf(var, sizeof(var), "MODEL_%s", name);
		v = getenv(var);
		return v && *v ? atoi(v) : dflt;
	}
}

/* Each process keeps a copy: constant locals keep partial-order reduction. */
#define KNOBS \
	byte K = cfg_K;\
	byte PREFILL = cfg_PREFILL;\
	byte NPROD = cfg_NPROD;\
	byte NCONS = cfg_NCONS;\
	byte SIZES = cfg_SIZES;\
	byte DISCARD = cfg_DISCARD;\
	byte RT = cfg_RT;\
	byte CT = cfg_CT;\
	byte RWALK = cfg_RWALK;\
	byte OWALK = cfg_OWALK;\
	byte BATCH = cfg_BATCH;\
	byte HOLD = cfg_HOLD;\
	byte DEATHS = cfg_DEATHS;\
	byte LEASE = cfg_LEASE;\
	byte TICK = cfg_TICK;\
	byte PRODUCER_RECLAIM = cfg_PRODUCER_RECLAIM;\
	byte OVERWRITE = cfg_OVERWRITE;\
	byte READ2 = cfg_READ2;\
	byte HOSTILE = cfg_HOSTILE;\
	byte HTARGET = cfg_HTARGET;\
	byte HVALUES = cfg_HVALUES;\
	byte CHECK = cfg_CHECK;\
	byte LIVENESS = cfg_LIVENESS;\
	byte FIX_REPAIR = cfg_FIX_REPAIR;\
	byte DESTROY = cfg_DESTROY;\
	byte BPF = cfg_BPF;\
	byte WRITE2 = cfg_WRITE2;

inline read_knobs()
{
	c_code {
		now.cfg_K = mpr_knob("K", 2);
		now.cfg_PREFILL = mpr_knob("PREFILL", 0);
		now.cfg_NPROD = mpr_knob("NPROD", 2);
		now.cfg_NCONS = mpr_knob("NCONS", 2);
		now.cfg_SIZES = mpr_knob("SIZES", 2);
		now.cfg_DISCARD = mpr_knob("DISCARD", 1);
		now.cfg_RT = mpr_knob("RT", 2);
		now.cfg_CT = mpr_knob("CT", 2);
		now.cfg_RWALK = mpr_knob("RWALK", 4);
		now.cfg_OWALK = mpr_knob("OWALK", 4);
		now.cfg_BATCH = mpr_knob("BATCH", 2);
		now.cfg_HOLD = mpr_knob("HOLD", 1);
		now.cfg_DEATHS = mpr_knob("DEATHS", 0);
		now.cfg_LEASE = mpr_knob("LEASE", 0);
		now.cfg_TICK = mpr_knob("TICK", now.cfg_LEASE);
		now.cfg_PRODUCER_RECLAIM = mpr_knob("PRODUCER_RECLAIM", !now.cfg_TICK);
		now.cfg_OVERWRITE = mpr_knob("OVERWRITE", 0);
		now.cfg_READ2 = mpr_knob("READ2", 0);
		now.cfg_HOSTILE = mpr_knob("HOSTILE", 0);
		now.cfg_HTARGET = mpr_knob("HTARGET", 31);
		now.cfg_HVALUES = mpr_knob("HVALUES", 0);
		now.cfg_CHECK = mpr_knob("CHECK", 31);
		now.cfg_LIVENESS = mpr_knob("LIVENESS", 0);
		now.cfg_FIX_REPAIR = mpr_knob("FIX_REPAIR", 0);
		now.cfg_DESTROY = mpr_knob("DESTROY", 0);
		now.cfg_BPF = mpr_knob("BPF", 0);
		now.cfg_WRITE2 = mpr_knob("WRITE2", 0);
	}
}

/* ================================================================ positions */
#define NP 2		/* producer slots in the ghost bookkeeping */
#define NC 2		/* consumer slots (max_consumers) */
#define G 4		/* position units per granule: bits 0-1 are below the granule */
#define RS (NG * G)	/* data_size */
#define IDLE 1		/* MPMCRING_SLOT_IDLE: any odd value is idle */
#define RV 2		/* MPMCRING_SLOT_REVOKED: set in a start by a revocation */
#define MAXREC 2	/* max_record, in granules */
#define INIT_POS (256 - RS)	/* the counter wraps through 0 in every run */
/* Positions are 8-bit counters: u64 arithmetic modulo 2^8 (see the header). */
#define W(x) ((x) & 255)
#define BEFORE(a, b) (W((a) - (b)) >= 128)			/* mpr_before */
#define BETWEEN(lo, x, hi) (W((x) - (lo)) <= W((hi) - (lo)))	/* mpr_between */
#define ALIGNED(x) (((x) & (G - 1)) == 0)			/* mpr_aligned */
#define SANE(r, h, p) (ALIGNED(h) && BETWEEN(r, h, p))		/* mpr_head_sane */
#define GRAN(x) (((x) / G) % NG)				/* mpr_stamp's index */
#define GBIT(x) (1 << GRAN(x))
#define MASK(x, sz) (GBIT(x) | ((sz) == 2 -> GBIT(W((x) + G)) : 0))
/* granules in a mask (NG is at most 8) */
#define NBITS(m) (((m) & 1) + (((m) >> 1) & 1) + (((m) >> 2) & 1) + (((m) >> 3) & 1) + \
		  (((m) >> 4) & 1) + (((m) >> 5) & 1) + (((m) >> 6) & 1) + (((m) >> 7) & 1))
#define IS_READ(c) ((READ2 >> (c)) & 1)
#define IS_BPF(q) ((BPF >> (q)) & 1)
#define IS_WRITE2(q) ((WRITE2 >> (q)) & 1)
/* granules of [s, bound) when bound is in [s, p], else none */
#define SPAN(s, bound, p) (BETWEEN(s, bound, p) -> W((bound) - (s)) / G : 0)

/* mpr_record_at() results */
#define REC_NONE 0
#define REC_C 1
#define REC_D 2
#define REC_BAD 3

/* mpr_claim() results other than a record count */
#define C_EAGAIN 100
#define C_EBUSY 101
#define C_EBADMSG 102
#define C_ESTALE 103	/* revoked while claiming ([M:claim-passed]) */

/* ================================================================ shared memory */
/* meta page (kernel-only) */
byte prod_pos = INIT_POS;
byte reclaim_pos = INIT_POS;
/* kernel memory: reclaim_pos at the last refusal for room (odd: none yet;
 * mpr_env_refused()), the leases' pressure */
byte refused_r = IDLE;
/* consumer area (user-writable) */
byte head = INIT_POS;
byte slot[NC];		/* slots[i].start */
byte held[NC];		/* slots[i].held_records */
/* slot info (read-only to users): revoked and revocations are statistics
 * nobody acts on: not modeled */
/* stamps (read-only to users): the position and the state bits of each */
byte stamp_pos[NG];
byte stamp_st[NG];	/* 0: zero (no position's stamp), 1: COMMITTED, 2: DISCARDED */
/* data: the first word of each granule: a header's length as a record size
 * in granules (3: longer than max_record), or payload */
byte hdr[NG];
/* kernel memory */
bit rlock;		/* the reclaim bit */
bit attached[NC];	/* slots_used */
byte kclaim[NC];	/* read_claims[i] */
byte ls_seen[NC];	/* struct mpr_lease, per slot: seen */
byte ls_head[NC];	/* head */
bit ls_exp[NC];		/* now - since_ms >= claim_timeout_ms */
byte fl_top = IDLE;	/* struct mpr_floor: top (the highest head reclaim went by) */
byte fl_mark = IDLE;	/* mark (top when this floor lease began) */
bit fl_exp;		/* now - since_ms >= claim_timeout_ms, for the floor lease */
bit lease_fresh[NC];	/* attached since the last reclaim: the lease restarts */
/* the ring's life (kmod/ring.c): its id in the IDR, @dead, the kref */
bit published = 1;	/* the id finds the ring (mpmcring_find_id) */
bit closing;		/* ring->closing: the destroy began, write(2) refuses */
bit dead;		/* ring->dead: destroyed, no new data will come */
byte refs;		/* the kref: the creator's, and one per open file */
bit gone;		/* the last reference went: the memory is freed */
bit in_rcu[NP];		/* producer q (kfunc, write(2)) is inside its rcu_read_lock() section */

/* ================================================================ ghosts */
/* What really happened, for the properties only: no protocol step reads it. */
byte g_busy;		/* granules reserved and not yet freed by reclaim */
byte g_rs[NG];		/* state of the record whose header is in granule g */
byte g_rp[NG];		/* its position */
byte g_rsz[NG];		/* its size in granules */
byte g_rown[NG];	/* the consumer that claimed it */
byte g_hmask[NC];	/* granules of the records consumer c holds */
byte g_cstart[NC];	/* consumer c's claim_start (its private memory) */
bit g_hwrote;		/* the hostile has written the head: from then on the
			 * protocol promises detection (claim_live,
			 * stale_reported), not protection */
bit g_clob[NC];		/* c's held records were reused under it */
bit g_read[NC];		/* c has read its records: later reuse cannot hurt it */
bit g_touched[NC];	/* the hostile wrote c's slot during its hold */
byte g_ann[NC];		/* the start c announced for its current claim (IDLE: none) */
bit g_fold[NC];		/* c announced its current claim before the floor lease began */
bit g_rvk[NC];		/* reclaim revoked c's current claim */
/* lease_since: the head reclaim saw when slot i's lease (since_ms) last
 * began (IDLE: none yet) */
byte g_lh[NC];
/* drop_justified: the granules in use at some moment since producer q's
 * last reclaim_pos load (g_busy then, and every reservation made since) */
byte g_seen[NP];
bit g_watch[NP];	/* producer q is between its two loads */
byte pdone;		/* producers finished */
byte kdone;		/* of them, the caller's own (kernel) producers */
byte nkern;		/* the caller's own producers (neither BPF nor write(2)) */
bit g_ended;		/* a consumer was told the end (read(2) 0, POLLHUP alone) */
byte g_nended;		/* consumers told the end */
byte g_nleft;		/* consumers that closed their file before the end */
byte hbudget;

#define R_FREE 0
#define R_RSV 1
#define R_PUBC 2
#define R_PUBD 3
#define R_CLAIMED 4
#define R_DONE 5
#define R_GONE 6

/* reclaim revoked consumer c's current claim */
#define REVOKED(c) (g_rvk[c])

mtype = { no_overlap, reclaim_finished, reclaim_monotone, head_monotone,
	  head_sane, honest_not_clobbered, held_not_freed, stale_reported,
	  exactly_once, no_lost, evict_unclaimed, count_capped, repair,
	  revoke_reported, revoke_live, claim_live, reclaim_maximal,
	  drop_justified, revoke_justified, end_complete, end_told, mem_valid, lease_since,
	  floor_justified,
	  producer0, producer1, tick, quiet };	/* the last four: who reclaims, in trails */
mtype violated;

/* The properties by group (the CHECK knob says which groups are checked). */
#define GROUP_no_overlap 1		/* kernel safety: holds whatever userspace writes */
#define GROUP_reclaim_finished 1
#define GROUP_reclaim_monotone 1
#define GROUP_drop_justified 1
#define GROUP_honest_not_clobbered 2	/* an honest consumer's reads */
#define GROUP_held_not_freed 2
#define GROUP_stale_reported 2
#define GROUP_revoke_reported 2
#define GROUP_revoke_live 2
#define GROUP_claim_live 2
#define GROUP_exactly_once 4		/* delivery, without the hostile process */
#define GROUP_no_lost 4
#define GROUP_evict_unclaimed 4
#define GROUP_head_monotone 4
#define GROUP_head_sane 4
#define GROUP_reclaim_maximal 4
#define GROUP_revoke_justified 4
#define GROUP_floor_justified 4
#define GROUP_end_complete 4
#define GROUP_end_told 4
#define GROUP_mem_valid 1
#define GROUP_lease_since 1
#define GROUP_count_capped 8		/* counts of what consumers lost */
#define GROUP_repair 16			/* a head that cannot be right is repaired */

#define REQUIRE(cond, prop) \
	if \
	:: (!(CHECK & GROUP_##prop) || (cond)) -> skip \
	:: else -> violated = prop; \
		   printf("MODEL: property "); printm(prop); printf(" violated\n"); \
		   assert(cond) \
	fi

#define HEAD_FORWARD(old, new) REQUIRE(HOSTILE > 0 || BEFORE(old, new), head_monotone)

/* a plain store of the announce; the ghost starts (or ends) a claim */
#define ANNOUNCE(c, v) \
	if \
	:: IS_READ(c) -> kclaim[c] = v \
	:: else -> slot[c] = v \
	fi; \
	g_ann[c] = v; g_rvk[c] = 0; g_fold[c] = 0

/* ================================================================ mpr_record_at */
/* Sets st and sz (granules) for the record at pos, ending by bound:
 * the stamp is one step, the header (read only if the stamp vouches) another. */
inline record_at(pos, bound)
{
	atomic {	/* [M:record-at] [C1]: the stamp */
		if	/* [M:stamp-finished] */
		:: stamp_pos[GRAN(pos)] == pos && stamp_st[GRAN(pos)] == 1 -> st = REC_C
		:: stamp_pos[GRAN(pos)] == pos && stamp_st[GRAN(pos)] == 2 -> st = REC_D
		:: else -> st = REC_NONE
		fi
	}
	if
	:: st != REC_NONE ->
		atomic {	/* the header, MPR_READ_SPECULATIVE */
			sz = hdr[GRAN(pos)];
			if
			:: sz > MAXREC || sz * G > W(bound - pos) -> st = REC_BAD; sz = 0
			:: else -> skip
			fi
		}
	:: else -> sz = 0
	fi
}

/*
 * The same for a walker that holds the reclaim bit, over [reclaim_pos,
 * prod_pos]: one step (Reductions, in the header).
 */
inline record_at_locked(pos, bound)
{
	if
	:: stamp_pos[GRAN(pos)] == pos && stamp_st[GRAN(pos)] == 1 -> st = REC_C
	:: stamp_pos[GRAN(pos)] == pos && stamp_st[GRAN(pos)] == 2 -> st = REC_D
	:: else -> st = REC_NONE
	fi;
	if
	:: st != REC_NONE ->
		sz = hdr[GRAN(pos)];
		if
		:: sz > MAXREC || sz * G > W(bound - pos) -> st = REC_BAD; sz = 0
		:: else -> skip
		fi
	:: else -> sz = 0
	fi
}

/* ================================================================ reclaim */
#define RECLAIM_LOCALS \
	mtype actor; \
	byte r0, h, p, lo, e, to, freed, fix, walked, i, s, bound, st, sz, x, y, glo, gv, gfl; \
	bit head_ok, ign, pub, wantfix, ran, wbound, gflv, gfp, fout, wb, gpress

/* The ghost side of the reclaim_pos store: what [from, upto) held. */
inline ghost_free(from, upto)
{
	x = from;
	do
	:: x != upto ->
		y = GRAN(x);
		REQUIRE(g_rp[y] == x && g_rs[y] != R_RSV && g_rs[y] != R_FREE, reclaim_finished);
		/* once the hostile wrote the head, reclaim may pass a claim
		 * (it saw a head written back, or one not sane): the claim
		 * check refuses it, or the commit must say so */
		REQUIRE(g_rs[y] != R_CLAIMED || REVOKED(g_rown[y]) || g_touched[g_rown[y]] ||
			g_hwrote, held_not_freed);
		REQUIRE(HOSTILE > 0 || g_rs[y] != R_PUBC, no_lost);
		g_busy = g_busy & ~MASK(x, g_rsz[y]);
		g_rs[y] = R_FREE;
		x = W(x + g_rsz[y] * G)
	:: else -> break
	od;
	x = 0; y = 0
}

/* mpr_reclaim() with mpr_claims_floor(); the caller holds the reclaim bit. */
inline mpr_reclaim()
{
	/* [M:positions] reclaim_pos: written only under the bit held here */
	atomic { r0 = reclaim_pos; h = head }	/* [R3] */
	atomic {
		p = prod_pos;
		head_ok = SANE(r0, h, p);
		REQUIRE(HOSTILE > 0 || head_ok, head_sane);
		bound = (head_ok -> h : p);
		i = 0;
		/* [M:floor-lease] mpr_floor_lease(), kernel memory under the bit:
		 * top follows the head reclaim goes by (never behind
		 * reclaim_pos); a new floor lease once reclaim reached the mark;
		 * out once timed out */
		if
		:: LEASE ->
			if
			:: fl_top == IDLE || BEFORE(fl_top, r0) -> fl_top = r0
			:: else -> skip
			fi;
			if
			:: BEFORE(fl_top, bound) -> fl_top = bound
			:: else -> skip
			fi;
			if
			:: fl_mark == IDLE || !BEFORE(r0, fl_mark) ->
				fl_mark = fl_top; fl_exp = 0;
				/* ghost: the claims announced before this lease began */
				for (x : 0 .. NC - 1) {
					g_fold[x] = (g_ann[x] != IDLE && !g_rvk[x])
				}
				x = 0
			:: else -> skip
			fi;
			fout = fl_exp
		:: else -> skip
		fi;
		wb = (fout && head_ok && BEFORE(h, fl_mark))
	}
	/* [M:floor-bound] a head written back behind the mark of a floor lease
	 * that ran out: moved to the mark first, and reclaim goes by the head as
	 * it then stands. [M:floor-head] mpr_floor_head(): cmpxchg(head, h,
	 * mark), following a claim that moved the head while it stays sane and
	 * behind the mark; 2 tries here (the code's 4: more tries are the same
	 * steps again) */
	if
	:: wb ->
		REQUIRE(HOSTILE > 0, head_sane);	/* an honest head only moves on */
		x = 0;
		do
		:: x < 2 ->
			atomic {
				if
				:: head == h ->
					HEAD_FORWARD(h, fl_mark);
					printf("TRAIL "); printm(actor);
					printf(": the floor lease moves the head %d -> %d\n", h, fl_mark);
					head = fl_mark; h = fl_mark; x = 2
				:: else ->
					h = head;
					if
					:: !ALIGNED(h) || !BETWEEN(r0, h, fl_mark) || h == fl_mark -> x = 2
					:: else -> x++
					fi
				fi
			}
		:: else -> break
		od;
		/* prod_pos again, after the head, as [M:positions] */
		atomic { p = prod_pos; head_ok = SANE(r0, h, p); bound = (head_ok -> h : p); x = 0; wb = 0 }
	:: else -> skip
	fi;
	atomic {
		lo = bound;
		glo = bound	/* ghost: the oldest live claim reclaim looks at */
	}
	/* [M:claims-floor] */
	do
	:: i < NC ->
		if
		:: attached[i] ->
			if
			:: LEASE && DEATHS > 0 ->
				/* [M:lease-reset] mpr_env_lease(): a slot attached since the
				 * last reclaim (test_and_clear_bit) starts a new lease; its
				 * own step, as in the code: a detach and an attach may come
				 * between it and the slot load. (Without deaths nobody
				 * attaches after the start: the bit stays clear.) */
				atomic {
					if
					:: lease_fresh[i] ->
						lease_fresh[i] = 0; ls_seen[i] = IDLE; ls_head[i] = IDLE;
						g_lh[i] = IDLE	/* a new consumer: no lease began yet */
					:: else -> skip
					fi
				}
			:: else -> skip
			fi;
			/* [M:floor-slot] [R4]: a mapped slot's start (user-writable:
			 * clamped) or read(2)'s kernel word, the same path; the lease
			 * is kernel memory under the bit */
			atomic {
				s = (IS_READ(i) -> kclaim[i] : slot[i]);
				gv = (g_rvk[i] -> IDLE : g_ann[i]);	/* ghost: the claim there */
				if
				:: (s & (IDLE | RV)) || !ALIGNED(s) || !BETWEEN(r0, s, p) ->
					ign = 1;	/* holds nothing */
					if
					:: LEASE -> ls_seen[i] = IDLE
					:: else -> skip	/* (Reductions) */
					fi
				:: else ->
					if
					:: LEASE && s != ls_seen[i] ->
						/* [M:lease-since] a new claim only when not behind the last head */
						if
						:: ls_head[i] == IDLE || !BEFORE(s, ls_head[i]) -> ls_exp[i] = 0;
							/* lease_since: not for a start behind the
							 * head this lease began with (ghost) */
							printf("TRAIL "); printm(actor);
							printf(": slot %d's lease starts at %d (head %d)\n", i, s, bound);
							REQUIRE(g_hwrote || g_lh[i] == IDLE || !BEFORE(s, g_lh[i]),
								lease_since);
							g_lh[i] = bound
						:: else -> skip
						fi;
						ls_seen[i] = s; ls_head[i] = bound
					:: else -> skip
					fi;
					/* [M:lease-expired] claim_timeout_ms != 0, timed out, it
					 * holds producers back (half the ring behind it, or a
					 * refusal for room at r0), and something claimed */
					if
					:: LEASE && (W(p - s) > RS / 2 || refused_r == r0) && BEFORE(s, bound) &&
					   (ls_exp[i] || (fout && BEFORE(s, fl_mark))) ->
						pub = 1;
						/* ghost: the refusal it went by (another
						 * drop may move refused_r before the revoke) */
						gpress = (refused_r == r0)
					:: else -> skip
					fi
				fi
			}
			if
			:: pub ->
				atomic {	/* [M:lease-revoke] [R6]: cmpxchg(start, s, s | REVOKED) */
					if
					:: (IS_READ(i) -> kclaim[i] : slot[i]) == s ->
						if
						:: IS_READ(i) -> kclaim[i] = s | RV
						:: else -> slot[i] = s | RV
						fi;
						printf("TRAIL "); printm(actor); printf(": reclaim revokes slot %d's claim at %d\n", i, s);
						/* the claim it revokes is the one the consumer announced */
						REQUIRE(HOSTILE > 0 || g_ann[i] == s, revoke_live);
						/* and only one that holds producers back: it has
						 * claimed something, and more than half the ring
						 * lies between it and prod_pos (both only grow
						 * since reclaim loaded them), or a producer was
						 * refused for room at the reclaim_pos this
						 * reclaim began from, which it has not moved
						 * (it holds the bit) */
						REQUIRE(HOSTILE > 0 || ((W(prod_pos - g_ann[i]) > RS / 2 ||
							(gpress && r0 == reclaim_pos)) &&
							BEFORE(g_ann[i], head)), revoke_justified);
						/* a floor lease revokes only what it began with (a
						 * claim announced before it began: at least its
						 * timeout old), or an announce that holds nothing
						 * and never will (its head moved on) */
						REQUIRE(HOSTILE > 0 || ls_exp[i] || g_fold[i] || g_hmask[i] == 0,
							floor_justified);
						g_rvk[i] = 1; gv = IDLE;
						ls_seen[i] = IDLE; ign = 1
					:: else ->
						/* [M:revoke-lost] the consumer moved first */
						s = (IS_READ(i) -> kclaim[i] : slot[i]); pub = 0;
						gv = (g_rvk[i] -> IDLE : g_ann[i]);
						if
						:: (s & (IDLE | RV)) || !ALIGNED(s) || !BETWEEN(r0, s, p) -> ign = 1
						:: else -> skip
						fi
					fi
				}
			:: else -> skip
			fi;
			if
			:: pub ->
				atomic {	/* [M:revoke-count] mpr_held_capped(); read(2): 1 */
					x = (IS_READ(i) -> 1 : held[i]);
					if
					:: !BEFORE(s, bound) -> x = 0
					:: BEFORE(s, bound) && x > W(bound - s) / G -> x = W(bound - s) / G
					:: else -> skip
					fi;
					REQUIRE(x <= SPAN(s, bound, p), count_capped);
					x = 0; pub = 0
				}
			:: else -> skip
			fi;
			atomic {
				if
				:: !ign && BEFORE(s, lo) -> lo = s
				:: else -> skip
				fi;
				if
				:: !(gv & (IDLE | RV)) && BETWEEN(r0, gv, p) && BEFORE(gv, glo) -> glo = gv
				:: else -> skip
				fi;
				ign = 0; s = 0; gv = 0; gpress = 0; i++
			}
		:: else -> i++
		fi
	:: else -> break
	od;
	/* [M:reclaim-to-head] on to a head nothing proves a record boundary */
	atomic {
		to = lo;
		if
		:: head_ok && h != lo && h != p ->
			record_at_locked(h, p);
			if
			:: st == REC_NONE -> to = h
			:: else -> skip
			fi
		:: else -> skip
		fi;
		e = r0; freed = r0; walked = 0;
		/*
		 * [M:reclaim-walk] [R2]. One loop, lo compared per record; the
		 * code (mpr_reclaim_walk) runs it as two legs: up to lo, all
		 * freed, then on to to, none freed, a record straddling lo
		 * read again against to. With r0 <= lo <= to the two decide
		 * every record alike and stop alike (same end, freed, walked,
		 * stop); tests/host/reclaim_walk_test.c compares them.
		 */
		do
		:: e != to && walked < RWALK ->
			record_at_locked(e, p);
			if
			:: st != REC_C && st != REC_D -> break
			:: else -> skip
			fi;
			if
			:: sz * G > W(to - e) ->
				/* [M:reclaim-straddle] a head inside a record */
				if
				:: head_ok && to == h -> fix = W(e + sz * G); wantfix = 1
				:: else -> skip
				fi;
				break
			:: else ->
				e = W(e + sz * G);
				if
				:: !BEFORE(lo, e) -> freed = e
				:: else -> skip
				fi;
				walked++
			fi
		:: else -> break
		od;
		/*
		 * Ghost: unless the walk ran out of steps, where reclaim_pos must
		 * be once this reclaim is done (reclaim_maximal, checked after
		 * the store): past every finished record from reclaim_pos up to
		 * the first one that is unfinished, or that a live claim reclaim
		 * looked at (announced, not revoked) starts at, and at most to
		 * the head. (A reclaim that frees less than it may breaks no
		 * other safety property: the ring only fills up.)
		 */
		if
		:: HOSTILE == 0 && walked < RWALK ->
			x = r0;
			do
			:: x != glo && g_rp[GRAN(x)] == x && g_rs[GRAN(x)] >= R_PUBC ->
				x = W(x + g_rsz[GRAN(x)] * G)
			:: else -> break
			od;
			glo = x; gv = 1; x = 0;
			/* pinned there (drop_justified): a live claim or an
			 * unfinished record, not a head an eviction did not move */
			gfp = (OVERWRITE && (glo != bound || (glo != p && g_rp[GRAN(glo)] == glo &&
								g_rs[GRAN(glo)] == R_RSV)))
		:: else -> glo = 0
		fi;
		/* mpr_reclaim()'s answer: it stopped at its walk bound (a
		 * producer's round reads it: stuck) */
		wbound = wbound || (OVERWRITE && (actor == producer0 || actor == producer1) &&
				    walked == RWALK && e == freed && freed != lo);
		st = 0; sz = 0; e = 0; to = 0; walked = 0; lo = 0
	}
	if
	:: freed != r0 ->
		atomic {	/* [M:reclaim-store] [R5] */
			REQUIRE(BEFORE(reclaim_pos, freed), reclaim_monotone);
			printf("TRAIL "); printm(actor);
			printf(": reclaim_pos %d -> %d (it saw head %d, prod %d)\n", reclaim_pos, freed, h, p);
			ghost_free(reclaim_pos, freed);
			reclaim_pos = freed
		}
	:: else -> skip
	fi;
	/* [M:reclaim-repair] */
	atomic {
		if
		:: !head_ok -> fix = p; wantfix = 1
		:: else -> skip
		fi;
		fout = 0;
		REQUIRE(HOSTILE > 0 || !wantfix, head_sane);
		/* reclaim_pos is written only under the bit this reclaim holds */
		REQUIRE(!gv || reclaim_pos == glo, reclaim_maximal);
		/* ghost for a producer's round (drop_justified): where this
		 * reclaim had to stop, by the records and claims it saw */
		gfl = (OVERWRITE && (actor == producer0 || actor == producer1) && gv -> glo : 0);
		gflv = (OVERWRITE && (actor == producer0 || actor == producer1) && gv && gfp);
		gfp = 0;
		r0 = 0; freed = 0; bound = 0; i = 0; glo = 0; gv = 0
	}
	if
	:: (!FIX_REPAIR && fix != 0) || (FIX_REPAIR && wantfix) ->
		atomic {
			if
			:: head == h ->
				HEAD_FORWARD(h, fix);
				printf("TRAIL "); printm(actor); printf(": reclaim repairs the head %d -> %d\n", h, fix);
				head = fix
			:: else -> skip	/* a claim moved it first */
			fi;
			wantfix = 0
		}
	:: else -> skip
	fi;
	/* a head that cannot be a record boundary gets its repair attempt */
	atomic {
		REQUIRE(!wantfix, repair); h = 0; p = 0; fix = 0; head_ok = 0; wantfix = 0;
		/* ghost: a producer's reclaim round ran (drop_justified) */
		ran = (actor == producer0 || actor == producer1)
	}
}

/* mpr_overwrite(): the caller holds the reclaim bit. */
inline mpr_overwrite(want)
{
	/* [M:positions] */
	atomic { r0 = reclaim_pos; h = head }
	atomic {
		p = prod_pos;
		REQUIRE(HOSTILE > 0 || SANE(r0, h, p), head_sane);
		e = h; walked = 0; wbound = 0;
		if
		:: SANE(r0, h, p) ->
			/* [M:overwrite-walk] */
			do
			:: BEFORE(e, want) && e != p && walked < OWALK ->
				walked++;
				record_at_locked(e, p);
				if
				:: st != REC_C && st != REC_D -> break
				:: else -> e = W(e + sz * G)
				fi
			:: BEFORE(e, want) && e != p && walked == OWALK ->
				wbound = 1;	/* mpr_overwrite()'s answer */
				break
			:: else -> break
			od
		:: else -> skip
		fi;
		r0 = 0; walked = 0; st = 0; sz = 0
	}
	if
	:: e != h ->
		atomic {	/* [M:overwrite-cas] */
			if
			:: head == h ->
				HEAD_FORWARD(h, e);
				printf("TRAIL "); printm(actor); printf(": evicts [%d,%d)\n", h, e);
				x = h;
				do
				:: x != e ->
					y = GRAN(x);
					REQUIRE(g_rp[y] == x, evict_unclaimed);
					REQUIRE(HOSTILE > 0 || g_rs[y] == R_PUBC || g_rs[y] == R_PUBD,
						evict_unclaimed);
					if
					:: g_rs[y] == R_PUBC -> g_rs[y] = R_GONE
					:: else -> skip
					fi;
					x = W(x + g_rsz[y] * G)
				:: else -> break
				od;
				x = 0; y = 0;
				head = e
			:: else -> wbound = BEFORE(head, want)	/* lost to a claim short of want */
			fi;
			h = 0; p = 0; e = 0
		}
	:: else -> atomic { h = 0; p = 0; e = 0 }
	fi
}

/* ================================================================ producers */
proctype Producer(byte me)
{
	KNOBS;
	RECLAIM_LOCALS;
	byte k, rsz, need, limit, tries, rounds, r, pp, pos, gi, m, cc;
	bit ok;
	bit found;	/* the ring is there to produce into (always, for the caller's own) */
	bit wretry;	/* write(2): this record's one wait for room and new try is spent */
	bit over;	/* the drop's class: MPR_FAIL_FULL (1) or _PRIORITY (0) */
	bit busy;	/* overwrite: the last reclaim round found the bit taken */
	bit stuck;	/* overwrite: its own last eviction left it no room */
	/* ghosts of its last own round (overwrite): the oldest record
	 * pinned (unfinished, claimed, or a claim announced at it), room
	 * made, a walk stopped at its bound */
	bit gpin, groom, gbnd;
	/* ghosts (drop_justified): the reclaim rounds this reservation had,
	 * and whether its last full check saw a ring that was really full
	 * under the producer's watermark (gfull), and beyond the data area
	 * itself (gover) */
	byte gch;
	bit gfull, gover;

	actor = (me == 0 -> producer0 : producer1);
	for (k : 1 .. K) {
		atomic {
			if
			:: rsz = 1
			:: me < SIZES -> rsz = 2
			fi;
			need = rsz * G;
			/* producer 0 writes low-priority records: one granule of watermark */
			limit = ((OVERWRITE || me == 1) -> RS : RS - G);
			tries = 0; rounds = 0; ok = 0; found = 1
		}
		/*
		 * [M:bpf-lookup] a kfunc (mpmcring_bpf_output(), and
		 * mpmcring_bpf_commit() of a staged reservation):
		 * rcu_read_lock(), then mpmcring_find_id(); the whole output runs
		 * inside that section, which ends after the stamp (or the
		 * drop); not found: -ENOENT, counted (bpf_refused). Found,
		 * then @closing seen at the reservation (every kernel
		 * reservation looks, [D4]): the same -ENOENT and count,
		 * nothing written; not modelled: the kfunc here goes on,
		 * the case that can reach the end (nor an output over the
		 * kfuncs' 64 KiB bound: @closing looked at in the section,
		 * then -ENOENT or a drop count, nothing written). A module's
		 * producer that
		 * holds the ring by name has the shape of write(2)'s section
		 * below (its preemption-off window, @closing, then reserve,
		 * copy and commit), without the entry look and the retry.
		 * write(2): [M:write-entry] @closing on entry, -EPIPE to the
		 * caller (it only spares the copy); then [M:write-closing]
		 * [D4] the same shape as a kfunc's: rcu_read_lock(), @closing
		 * (-EPIPE), and the reservation, copy and commit inside that
		 * section, which the destroy's grace period waits for. A
		 * write that finds the ring full leaves the section, waits
		 * (for room or @closing) and tries again in a new section
		 * that looks at @closing again: below, once per record (the
		 * wait itself is not modelled: the new try may come at any
		 * moment, which covers every wakeup the code may have).
		 * (Their own steps, so that the caller's own producers'
		 * first step stays local.)
		 */
		if
		:: IS_BPF(me) ->
			atomic {
				in_rcu[me] = 1; found = published; tries = (found -> 0 : RT);
				printf("TRAIL p%d: a kfunc looks the ring up (found: %d)\n", me, found)
			}
		:: IS_WRITE2(me) ->
			atomic {	/* [M:write-entry] */
				found = !closing; tries = (found -> 0 : RT);
				printf("TRAIL p%d: write(2) enters (closing: %d)\n", me, !found)
			}
			if
			:: found ->
				atomic {	/* [M:write-closing] [D4] */
					in_rcu[me] = 1; found = !closing; tries = (found -> 0 : RT);
					printf("TRAIL p%d: write(2)'s section begins (closing: %d)\n", me, !found)
				}
			:: else -> skip
			fi
		:: else -> skip
		fi;
		/* mpr_reserve() */
reserve_again:
		do
		:: tries < RT ->
			atomic {	/* [M:reserve-load] [P4]: reclaim_pos before prod_pos */
				r = reclaim_pos;
				g_seen[me] = g_busy; g_watch[me] = 1
			}
			atomic {
				pp = prod_pos;
				/*
				 * Ghost: what the full check below may honestly
				 * conclude. Between the two loads reclaim_pos may
				 * move and others reserve, so no one moment need
				 * be full; but every granule of [r, pp) was in use
				 * at some moment between them, and those are
				 * g_seen (mask full when they are more than the ring).
				 */
				gfull = (NBITS(g_seen[me]) * G + need >
					 RS - ((OVERWRITE || me == 1) -> 0 : G));
				gover = (NBITS(g_seen[me]) * G + need > RS);
				g_seen[me] = 0; g_watch[me] = 0
			}
			if
			:: W(pp + need - r) > limit ->
				/* [M:reserve-full] */
				if
				:: rounds == 2 && OVERWRITE && !stuck ->
					/* [M:reserve-busy] MPR_FAIL_BUSY (the last
					 * round found the bit taken) or _CONTENTION
					 * (its room taken, or a walk at its bound):
					 * lost races, not full; a ring its own last
					 * round found pinned, short of room with no
					 * walk at its bound, is full */
					atomic {
						printf("TRAIL p%d: gives up on lost races (last round found the bit taken: %d)\n", me, busy);
						REQUIRE(HOSTILE > 0 || !PRODUCER_RECLAIM || busy ||
							groom || gbnd || !gpin, drop_justified)
					}
					break
				:: rounds == 2 && !(OVERWRITE && !stuck) ->
					/* MPR_FAIL_FULL or MPR_FAIL_PRIORITY: only when
					 * the ring really was full and two reclaim rounds
					 * ran, or were skipped by the free choice; and
					 * FULL exactly when the data area lacked room
					 * (else only the watermark refused it) */
					atomic {
						refused_r = r;	/* mpr_env_refused() */
						over = (W(pp + need - r) > RS);
						printf("TRAIL p%d: drops as %d (1 full, 0 priority; saw reclaim_pos %d, prod_pos %d, needs %d) after %d reclaim rounds\n",
							me, over, r, pp, need, gch);
						REQUIRE(gfull && gch >= 2 && over == gover, drop_justified);
						/* overwrite: full only when its own
						 * last eviction and reclaim left no room,
						 * the oldest record pinned, no walk at its
						 * bound */
						REQUIRE(!OVERWRITE || stuck, drop_justified);
						REQUIRE(!OVERWRITE || HOSTILE > 0 || !PRODUCER_RECLAIM ||
							(gpin && !groom && !gbnd), drop_justified);
						over = 0
					}
					break
				:: else -> atomic { rounds++; gfull = 0; gover = 0; busy = 0 }
				fi;
				/* [M:reserve-reclaim] due and the bit is free, or not */
				if
				:: atomic { rlock == 0 -> rlock = 1 } ->
					if
					:: OVERWRITE -> mpr_overwrite(W(pp + need - limit))
					:: else -> skip
					fi;
					if
					:: PRODUCER_RECLAIM -> mpr_reclaim()
					:: else -> skip
					fi;
					/* ghost: a round is one where reclaim ran (with
					 * the tick, the tick's reclaim stands for it);
					 * stuck: the room it left, read under the bit */
					atomic {
						/* [M:reserve-busy]'s stuck, as the code has it */
						stuck = (OVERWRITE && !wbound &&
							 BEFORE(reclaim_pos, W(pp + need - limit)));
						/* ghosts: pinned when the reclaim had to
						 * stop short of the room (reclaim_maximal's
						 * floor: the first unfinished record or live
						 * claim it saw, at most the head the
						 * eviction left); room made; a walk bound */
						gpin = (gflv && BEFORE(gfl, W(pp + need - limit)));
						groom = (OVERWRITE && !BEFORE(reclaim_pos, W(pp + need - limit)));
						gbnd = wbound;
						wbound = 0; gfl = 0; gflv = 0;
						rlock = 0; gch = gch + (ran || !PRODUCER_RECLAIM); ran = 0
					}
				:: atomic {	/* not due, or the bit taken: the free
						 * choice; overwrite mode is always due */
					(!OVERWRITE || rlock) -> gch++; busy = OVERWRITE
				   }
				fi
			:: else ->
				atomic {	/* [M:reserve-cas] */
					if
					:: prod_pos == pp ->
						prod_pos = W(pp + need);
						ok = 1;
						pos = pp;
						printf("TRAIL p%d: reserves [%d,%d)\n", me, pp, W(pp + need));
						/* no_overlap: the space is free */
						m = MASK(pp, rsz);
						REQUIRE((g_busy & m) == 0, no_overlap);
						g_busy = g_busy | m;
						if	/* drop_justified's window of the other producer */
						:: g_watch[1 - me] -> g_seen[1 - me] = g_seen[1 - me] | m
						:: else -> skip
						fi;
						/* honest consumers' held records are not reused */
						for (cc : 0 .. NC - 1) {
							if
							:: (g_hmask[cc] & m) && !g_read[cc] ->
								REQUIRE(g_hwrote || g_touched[cc] || REVOKED(cc),
									honest_not_clobbered);
								g_clob[cc] = 1
							:: else -> skip
							fi
						}
						gi = GRAN(pp);
						g_rs[gi] = R_RSV; g_rp[gi] = pp; g_rsz[gi] = rsz; g_rown[gi] = 0;
						if
						:: rsz == 2 ->
							g_rs[GRAN(W(pp + G))] = R_FREE;
							g_rp[GRAN(W(pp + G))] = IDLE
						:: else -> skip
						fi;
						gi = 0; m = 0; cc = 0
					:: else -> tries++
					fi;
					r = 0; pp = 0; gfull = 0; gover = 0
				}
				if
				:: ok -> break
				:: else -> skip
				fi
			fi
		:: else -> break	/* MPR_FAIL_CONTENTION */
		od;
		if
		:: ok ->
progress_reserve:
			atomic {	/* [M:publish-hdr] the header, then the payload */
				hdr[GRAN(pos)] = rsz;
				/* payload that looks like a header: producer 0 forges a
				 * one-granule record, producer 1 an oversized one */
				if
				:: rsz == 2 -> hdr[GRAN(W(pos + G))] = (me == 0 -> 1 : 3)
				:: else -> skip
				fi
			}
			atomic {	/* [M:publish-stamp] [P2] */
				gi = GRAN(pos);
				stamp_pos[gi] = pos;
				if
				:: stamp_st[gi] = 1; g_rs[gi] = R_PUBC;
					printf("TRAIL p%d: commits %d\n", me, pos);
					/* no consumer was told the end before it */
					REQUIRE(!g_ended, end_complete)
				:: me >= NP - DISCARD -> stamp_st[gi] = 2; g_rs[gi] = R_PUBD;
					printf("TRAIL p%d: discards %d\n", me, pos)
				fi;
				gi = 0;
				/* the stamp step stands for the publish and what
				 * follows it in the same section (the counters,
				 * the wake check, the unpin), and the section's
				 * end is folded into it: it is the producer's
				 * last access to the ring. One that found it (a
				 * kfunc, a write(2) that found it open, the
				 * caller's own) finds its memory there still;
				 * @gone never turns back, so
				 * this covers every earlier access. (On what the
				 * producer uses, not on in_rcu[]: a section that
				 * ended too early must not make it vacuous.) */
				REQUIRE(!found || !gone, mem_valid);
				in_rcu[me] = 0
			}
		:: !ok && IS_WRITE2(me) && found && !wretry ->
			/* [M:write-retry] mpmcring_write_records(): -ENOSPC
			 * or -EAGAIN (lost races, an overwrite's bit taken),
			 * the section ends, the writer waits and tries again
			 * (a whole mpmcring_write_try(): a new section) */
			atomic {
				REQUIRE(!found || !gone, mem_valid);	/* as at the stamp */
				in_rcu[me] = 0; wretry = 1;
				printf("TRAIL p%d: write(2) finds the ring full, leaves its section and waits\n", me)
			}
			atomic {	/* [M:write-closing] [D4]: a new section, @closing again */
				in_rcu[me] = 1; found = !closing; tries = (found -> 0 : RT);
				rounds = 0; gch = 0; gfull = 0; gover = 0; busy = 0; stuck = 0;
				gpin = 0; groom = 0; gbnd = 0;
				printf("TRAIL p%d: write(2) tries again in a new section (closing: %d)\n", me, !found)
			}
			goto reserve_again
		:: !ok ->	/* (or gives up: non-blocking, a signal) */
			atomic {
				printf("TRAIL p%d: drops a record (or is refused: the ring gone %d)\n", me, !found);
				REQUIRE(!found || !gone, mem_valid);	/* as at the stamp */
				in_rcu[me] = 0
			}
		fi;
		d_step {
			found = 0; wretry = 0;
			rsz = 0; need = 0; limit = 0; tries = 0; rounds = 0; r = 0; pp = 0; pos = 0; ok = 0;
			 gch = 0; gfull = 0; gover = 0; busy = 0; stuck = 0;
			 gpin = 0; groom = 0; gbnd = 0 }
	}
	atomic {
		pdone++;
		kdone = kdone + !(IS_BPF(me) || IS_WRITE2(me));
		if	/* write(2)'s file is closed: its reference goes */
		:: IS_WRITE2(me) -> refs--; gone = (refs == 0)
		:: else -> skip
		fi
	}
}

/* ================================================================ consumers */
/* The ghost side of a successful claim: what the consumer now holds. */
inline ghost_claim(c, holding)
{
	/*
	 * The library's claim_start (kc_claim()'s start): the oldest start of
	 * the claims it holds. A head the co-tenant wrote back can give a claim
	 * made while holding a start below the first; the commit and
	 * mpr_claim_revoked() must ask about that one (finding 6, fixed in
	 * f483eda). Private memory, so it folds into this step: after a
	 * claim-passed drop the consumer holds nothing, and its next claim is
	 * not made while holding and sets it anew.
	 */
	if
	:: !holding || BEFORE(h, g_cstart[c]) -> g_cstart[c] = h
	:: else -> skip
	fi;
	x = 0;
	do
	:: x < n ->
		y = (x == 0 -> q0 : q1);
		sz = (x == 0 -> z0 : z1);
		if
		:: g_rp[GRAN(y)] == y ->
			REQUIRE(HOSTILE > 0 || g_rs[GRAN(y)] == R_PUBC, exactly_once);
			/* framed as written: the claim takes the record's size */
			REQUIRE(HOSTILE > 0 || sz == g_rsz[GRAN(y)], exactly_once);
			if
			:: g_rs[GRAN(y)] == R_PUBC -> g_rs[GRAN(y)] = R_CLAIMED; g_rown[GRAN(y)] = c
			:: else -> skip
			fi;
			g_hmask[c] = g_hmask[c] | MASK(y, sz)
		:: else ->
			/* its space was reused before the claim took it */
			REQUIRE(HOSTILE > 0, exactly_once);
			REQUIRE(g_hwrote || g_touched[c] || REVOKED(c), honest_not_clobbered);
			g_clob[c] = 1
		fi;
		x++
	:: else -> break
	od;
	x = 0; y = 0; sz = 0
}

/*
 * The ghost side of a claim that is no claim ([M:claim-passed]): the head
 * moved over its records, nobody holds them now. Without the hostile this
 * happens only to a claim reclaim revoked between the cmpxchg and the
 * check; the library writes held_records only once mpr_claim() returns, so
 * that revocation counted none of them: the consumer must hear of it
 * (finding 5, fixed in f483eda: the release is an exchange, and REVOKED
 * found there returns -ESTALE, the library counting the records revoked).
 * rep: the release found REVOKED. As at the commit, the exchange finds a
 * revocation exactly when reclaim made one.
 */
inline ghost_unclaim(c)
{
	REQUIRE(HOSTILE > 0 || g_touched[c] || rep == g_rvk[c], revoke_reported);
	for (x : 0 .. NG - 1) {
		if
		:: g_rs[x] == R_CLAIMED && g_rown[x] == c -> g_rs[x] = R_GONE
		:: else -> skip
		fi
	}
	x = 0;
	g_hmask[c] = 0; g_clob[c] = 0; g_touched[c] = 0
}

/* A claim handed over covers no space reclaim has freed, framed as written. */
inline check_claim_live(c)
{
	x = 0;
	do
	:: x < n ->
		y = (x == 0 -> q0 : q1);
		sz = (x == 0 -> z0 : z1);
		REQUIRE(g_rp[GRAN(y)] == y && g_rs[GRAN(y)] != R_FREE &&
			sz == g_rsz[GRAN(y)], claim_live);
		x++
	:: else -> break
	od;
	x = 0; y = 0; sz = 0
}

/*
 * mpr_claim(): cret is the record count, or C_*. dying: the consumer died
 * right after its announce.
 */
inline mpr_claim(c, holding, maxr)
{
	tries = 0; cret = 0;
	/* the library's single-record read holding nothing: mpr_claim_one() first */
	fast = (!holding && maxr == 1 && !IS_READ(c));
	do
	:: tries < CT ->
		/*
		 * [M:end-read] [M:end-poll] [D2]: @dead (acquire), then the
		 * ring (read(2) before its claim, poll before
		 * mpmcring_ready()); folded into the first look: @dead only
		 * turns true, so a load of it further back finds it no more
		 * set, and the end is decided only when it is.
		 */
		atomic { dd = dead; r = reclaim_pos }	/* [M:positions] [R5] */
		h = head;		/* [C2] */
		atomic {
			/*
			 * mpr_claim_one(): its own copy of a prod_pos it loaded
			 * before (ps) stands in for prod_pos while reclaim <= head
			 * < ps; otherwise a fresh load, kept.
			 */
			if
			:: fast && BEFORE(r, ps) && W(h - r) < W(ps - r) && ALIGNED(h) -> p = ps
			:: else ->
				p = prod_pos;
				if
				:: fast -> ps = p
				:: else -> skip
				fi
			fi;
			if
			:: !SANE(r, h, p) ->	/* [M:head-sane] */
				REQUIRE(HOSTILE > 0, head_sane);
				cret = C_EBADMSG
			:: else -> skip
			fi;
			r = 0
		}
		if
		:: cret == C_EBADMSG -> break
		:: cret == 0 && h == p -> break
		:: else ->
			e = h; n = 0; bad = 0;
			/* [M:claim-walk] */
			do
			:: n < maxr && e != p ->
				record_at(e, p);
				if
				:: st == REC_NONE -> break
				:: st == REC_BAD -> bad = 1; break
				:: st == REC_C ->
					if
					:: n == 0 -> q0 = e; z0 = sz
					:: else -> q1 = e; z1 = sz
					fi;
					n++;
					e = W(e + sz * G)
				:: st == REC_D && fast -> bad = 1; break
				:: st == REC_D && !fast -> e = W(e + sz * G)
				fi
			:: else -> break
			od;
			st = 0; sz = 0;
			if
			:: fast && bad -> skip	/* mpr_claim_one() gives up: the whole way */
			:: !(fast && bad) && e == h ->
				if
				:: head != h -> tries++	/* [M:claim-recheck] */
				:: else ->
					if
					:: !holding -> atomic { ANNOUNCE(c, IDLE) }	/* [M:claim-release] */
					:: else -> skip
					fi;
					cret = (bad -> C_EBADMSG : C_EAGAIN);
					break
				fi
			:: e != h ->
				/*
				 * The announce comes after the walk, just before the
				 * cmpxchg: while the head stays at h reclaim frees
				 * nothing at or after h; a head written back meanwhile
				 * is [M:claim-passed]'s to catch.
				 */
				if
				:: !holding ->
					atomic {	/* [M:claim-announce] */
						ANNOUNCE(c, h);
						g_touched[c] = 0;
						printf("TRAIL c%d: announces %d\n", c, h)
					}
				:: else -> skip
				fi;
				if
				:: !holding && deaths > 0 && !IS_READ(c) -> deaths--; dying = 1; break
				:: skip
				fi;
				atomic {	/* [M:claim-cas] [C2] */
					if
					:: head == h ->
						HEAD_FORWARD(h, e);
						printf("TRAIL c%d: claims [%d,%d), %d records\n", c, h, e, n);
						head = e;
						ok = 1;
						if
						:: n > 0 -> ghost_claim(c, holding)
						:: else -> skip
						fi
					:: else -> ok = 0
					fi
				}
				if
				:: ok && !holding && deaths > 0 && !IS_READ(c) ->
					/* it dies between its won cmpxchg and the
					 * claim-passed exchange (the detach finds the start) */
					deaths--; dying = 1; break
				:: ok && !holding ->
					/*
					 * [M:claim-passed] reclaim_pos (acquire) after the won
					 * cmpxchg: a start before it (the head was written back)
					 * is no claim; the announce's release, an exchange, is
					 * folded in: a start reclaim has passed is one every
					 * reclaim ignores. REVOKED found there: -ESTALE (the
					 * claim was revoked while it was made); else retry.
					 */
					atomic {
						if
						:: BEFORE(h, reclaim_pos) ->
							printf("TRAIL c%d: [%d,%d) is behind reclaim_pos %d: no claim\n",
								c, h, e, reclaim_pos);
							rep = (((IS_READ(c) -> kclaim[c] : slot[c]) & RV) != 0);
							ghost_unclaim(c);
							cret = (rep -> C_ESTALE : 0);
							rep = 0;
							ANNOUNCE(c, IDLE);
							ok = 0
						:: else -> check_claim_live(c)
						fi
					}
				:: else -> skip
				fi;
				if
				:: !ok && cret == C_ESTALE -> break
				:: !ok && cret == 0 -> tries++
				:: ok && n == 0 ->	/* only discarded records */
					if
					:: !holding -> atomic { ANNOUNCE(c, IDLE) }	/* [M:claim-discards] */
					:: else -> skip
					fi;
					tries++
				:: ok && n > 0 -> cret = n; break
				fi
			fi
		fi;
		atomic { h = 0; p = 0; e = 0; n = 0; bad = 0; ok = 0; q0 = 0; q1 = 0; z0 = 0; z1 = 0; fast = 0 }
	:: else -> break
	od;
	if
	:: dying || cret != 0 -> skip
	:: else ->
		if
		:: !holding -> atomic { ANNOUNCE(c, IDLE) }
		:: else -> skip
		fi;
		cret = (tries < CT -> C_EAGAIN : C_EBUSY)
	fi;
	d_step { tries = 0; r = 0; h = 0; p = 0; e = 0; n = 0; bad = 0; ok = 0;
		 q0 = 0; q1 = 0; z0 = 0; z1 = 0; st = 0; sz = 0; fast = 0 }
}

/*
 * The library's commit (and read(2)'s): mpr_commit(), reclaim_pos after the
 * reads, then one exchange of the announce to idle; it reports the claim
 * lost when the start was revoked or reclaim had passed it. start is the
 * library's copy of where the claim begins (claim_start).
 */
inline commit(c)
{
	atomic {	/* [M:commit-passed] [C5]: the reads, an acquire fence, reclaim_pos */
		stale = BEFORE(g_cstart[c], reclaim_pos);
		g_read[c] = 1	/* what reuse does from here on, it does after the reads */
	}
	atomic {	/* [M:commit] [C3] [C4]: xchg(start, IDLE) & REVOKED */
		if
		:: IS_READ(c) -> x = kclaim[c]; kclaim[c] = IDLE
		:: else -> x = slot[c]; slot[c] = IDLE
		fi;
		rep = ((x & RV) != 0);
		printf("TRAIL c%d: commits (revoked: %d, passed: %d)\n", c, rep, stale);
		/* the exchange finds a revocation exactly when reclaim made one;
		 * and without the hostile, passed says nothing more: no loss is
		 * reported that reclaim did not count as revoked */
		REQUIRE(HOSTILE > 0 || g_touched[c] || rep == g_rvk[c], revoke_reported);
		REQUIRE(HOSTILE > 0 || g_touched[c] || !stale || rep, revoke_reported);
		/* records reused under the consumer before it read them: it learns
		 * here (the library: -ESTALE; read(2) drops its copy) */
		REQUIRE(!g_clob[c] || rep || stale || g_touched[c], stale_reported);
		for (x : 0 .. NG - 1) {
			if
			:: g_rs[x] == R_CLAIMED && g_rown[x] == c -> g_rs[x] = R_DONE	/* consumed, or counted revoked */
			:: else -> skip
			fi
		}
		x = 0; rep = 0; stale = 0;
		g_hmask[c] = 0; g_read[c] = 0; g_clob[c] = 0; g_touched[c] = 0;
		g_ann[c] = IDLE; g_rvk[c] = 0
	}
}

/* The release of a dead consumer's file, then a new consumer's ATTACH. */
inline detach_attach(c)
{
	/* [M:detach] mpr_positions() */
	r = reclaim_pos;
	h = head;
	p = prod_pos;
	atomic {	/* held_records, then [C3] for the departed consumer: xchg(start, IDLE) */
		x = (IS_READ(c) -> 1 : held[c]);
		if
		:: IS_READ(c) -> s = kclaim[c]; kclaim[c] = IDLE
		:: else -> s = slot[c]; slot[c] = IDLE
		fi;
		printf("TRAIL c%d: dies; the kernel detaches slot %d (start %d)\n", c, c, s);
		/* revoked or abandoned: the one word decides, never both */
		REQUIRE(HOSTILE > 0 || g_touched[c] || ((s & RV) != 0) == g_rvk[c], revoke_reported);
		for (y : 0 .. NG - 1) {
			if
			:: g_rs[y] == R_CLAIMED && g_rown[y] == c -> g_rs[y] = R_GONE	/* abandoned or revoked */
			:: else -> skip
			fi
		}
		y = 0;
		g_hmask[c] = 0; g_clob[c] = 0; g_touched[c] = 0; g_read[c] = 0;
		g_ann[c] = IDLE; g_rvk[c] = 0
	}
	atomic {	/* counted as abandoned: a start before the bound holds something */
		y = (SANE(r, h, p) -> h : p);	/* the bound */
		if
		:: !(s & (IDLE | RV)) && ALIGNED(s) && BETWEEN(r, s, p) && BEFORE(s, y) ->
			if
			:: x > W(y - s) / G -> x = W(y - s) / G	/* mpr_held_capped() */
			:: else -> skip
			fi;
			REQUIRE(x <= SPAN(s, y, p), count_capped)
		:: else -> skip
		fi;
		x = 0; y = 0; r = 0; h = 0; p = 0; s = 0
	}
	/* (a read(2) slot's mapped word goes idle too: nobody writes it here) */
	attached[c] = 0;
	/* [M:attach] the slot idle, the lease marked fresh (the next reclaim
	 * resets it: [M:lease-reset]), then the slot counts for reclaimers */
	atomic { slot[c] = IDLE; held[c] = 0; kclaim[c] = IDLE; lease_fresh[c] = LEASE }
	atomic { attached[c] = 1; ps = prod_pos; printf("TRAIL c%d: a new consumer attaches slot %d\n", c, c) }
}

proctype Consumer(byte c)
{
	KNOBS;
	byte r, h, p, e, n, tries, st, sz, q0, q1, z0, z1, cret, x, y, s, deaths, maxr;
	byte ps;	/* the library's prod_seen: a prod_pos of the past */
	bit bad, ok, dying, stale, rep, fast;
	bit dd;		/* @dead as the last claim attempt loaded it */
	bit asleep;	/* waits for a wakeup that will not come (end_told) */

	atomic {
		deaths = (IS_READ(c) -> 0 : DEATHS);
		maxr = (c == 0 -> BATCH : 1);
		ps = prod_pos
	}
end_idle:
	do
	:: atomic { DESTROY && !dead -> g_nleft++;
		printf("TRAIL c%d: closes its file early (before the end)\n", c) } ->
		/*
		 * A file can be released at any time; with the destroy, a
		 * consumer (holding nothing here) may close before @dead, so
		 * that the creator's put can be the last one, as for a ring
		 * with no reader left. (Not after @dead: the memory can then
		 * only go after the grace period whatever the close does.
		 * No re-attach: a destroyed ring's device node is gone.)
		 */
		break
	:: (hbudget > 0 || head != prod_pos || (dead && !asleep)) ->	/* (Reductions); woken by the end */
		mpr_claim(c, 0, maxr);
		if
		:: dying ->
			dying = 0;
			detach_attach(c)
		:: !dying && dd && cret == C_EAGAIN ->
			/*
			 * [M:read-end]
			 * Destroyed, then nothing at the head: the end (read(2)
			 * returns 0; poll says POLLHUP without POLLIN, the library
			 * -EPIPE). Every record committed before it is claimed,
			 * and none comes after (checked at each commit).
			 */
			atomic {
				printf("TRAIL c%d: told the end (destroyed, then empty)\n", c);
				for (x : 0 .. NG - 1) {
					REQUIRE(g_rs[x] != R_PUBC, end_complete)
				}
				x = 0;
				g_ended = 1; g_nended++
			}
			break
		:: !dying && cret < C_EAGAIN ->
progress_claim:
			if
			:: HOLD && !IS_READ(c) ->
				/* a second claim while holding: the slot keeps the first
				 * start; the library first asks whether it was revoked or
				 * passed (mpr_claim_revoked(): then -ESTALE, no claim).
				 * Two loads as one step: both answers only ever turn true
				 * while c holds (but for the hostile's writes to the slot),
				 * so the pair reads as one of the two moments. */
				atomic { x = ((slot[c] & RV) != 0 || BEFORE(g_cstart[c], reclaim_pos)) }	/* [M:lease-check] [C4] [C5] */
				if
				:: x == 0 -> mpr_claim(c, 1, maxr)
				:: else -> x = 0
				fi
			:: skip
			fi;
			if
			:: deaths > 0 -> deaths--; detach_attach(c)
			:: commit(c)
			fi
		:: else ->	/* -EAGAIN, -EBUSY, -EBADMSG, -ESTALE: the caller tries again */
			/* but one that found the ring empty after it saw @dead,
			 * and was not told the end, sleeps for good (end_told) */
			asleep = (dd && cret == C_EAGAIN)
		fi;
		cret = 0
	od;
	/* the file is closed: its reference goes */
	atomic {
		cret = 0; dd = 0; refs--; gone = (refs == 0);
		printf("TRAIL c%d: closes its file (%d references left)\n", c, refs)
	}
}

/* ================================================================ the kernel */
/* The housekeeping tick (and the REPAIR ioctl): a reclaim at any moment. */
proctype Tick()
{
	KNOBS;
	RECLAIM_LOCALS;

	actor = tick;
end_tick:
	do
	:: atomic { rlock == 0 -> rlock = 1 };
		mpr_reclaim();
		rlock = 0
	od
}

/*
 * Time: the claim timeout since a slot's lease started (since_ms) may end at
 * any moment once reclaim has started one (lease.head set); it keeps
 * running while the slot is idle, until a new claim restarts it.
 */
proctype Clock()
{
	KNOBS;
end_clock:
	do
	:: atomic { fl_mark != IDLE && !fl_exp -> fl_exp = 1;
		    printf("TRAIL clock: the floor lease (mark %d) times out\n", fl_mark) }
	:: atomic { ls_head[0] != IDLE && !ls_exp[0] -> ls_exp[0] = 1;
		    printf("TRAIL clock: slot 0's lease (seen %d) times out\n", ls_seen[0]) }
	:: atomic { ls_head[1] != IDLE && !ls_exp[1] -> ls_exp[1] = 1;
		    printf("TRAIL clock: slot 1's lease (seen %d) times out\n", ls_seen[1]) }
	od
}

/* A co-tenant that writes anything into the consumer area, HOSTILE times. */
proctype Hostile()
{
	KNOBS;
	byte v, k;

	do
	:: hbudget > 0 ->
		atomic {
			hbudget--;
			/* any position from a lap behind reclaim_pos to just past
			 * prod_pos, aligned or not; an aligned one further ahead,
			 * up to two laps past reclaim_pos (HVALUES 0; 2: not those,
			 * to keep the largest --full configuration in 8 GiB); or the far
			 * side of the circle */
			if
			:: HVALUES == 0 || HVALUES == 2 ->
				select(k : 0 .. W(prod_pos - reclaim_pos) + RS + 2);
				v = W(reclaim_pos - RS + k)
			:: HVALUES == 0 ->
				/* aligned, ahead of prod_pos up to two rings past
				 * reclaim_pos: sane once producers catch up */
				select(k : 1 .. W(reclaim_pos + 2 * RS - prod_pos) / G);
				v = W(prod_pos + k * G)
			:: HVALUES == 1 ->
				select(k : 0 .. (W(prod_pos - reclaim_pos) + RS) / G);
				v = W(reclaim_pos - RS + k * G)
			:: HVALUES == 1 -> v = W(reclaim_pos + 1)
			:: v = W(reclaim_pos + 128)
			fi;
			if
			:: HTARGET & 1 ->
				/* a write that leaves the head as it was changes nothing:
				 * the exemptions start only with one that moves it */
				if
				:: v != head -> g_hwrote = 1
				:: else -> skip
				fi;
				head = v; printf("TRAIL hostile: head = %d\n", v)
			:: (HTARGET & 2) && !IS_READ(0) -> slot[0] = v; g_touched[0] = 1;
				printf("TRAIL hostile: slot 0 start = %d\n", v)
			:: (HTARGET & 4) && !IS_READ(1) -> slot[1] = v; g_touched[1] = 1;
				printf("TRAIL hostile: slot 1 start = %d\n", v)
			:: HTARGET & 8 -> held[0] = 255; printf("TRAIL hostile: slot 0 held_records = 255\n")
			:: HTARGET & 16 -> held[1] = 255; printf("TRAIL hostile: slot 1 held_records = 255\n")
			fi;
			v = 0; k = 0
		}
	:: else -> break
	od
}

/*
 * mpmcring_destroy() (kmod/ring.c), called once the caller's own producers
 * are done: unpublish the id, [D3] set @closing, wait for every kfunc that
 * may have found the ring and every write(2) that found it open (a grace
 * period, whether or not BPF is there), then [D1] @dead, then the
 * creator's reference goes. Files still open (consumers, write(2)) keep
 * the memory.
 */
proctype Destroy()
{
	KNOBS;

	(kdone == nkern);	/* the caller's program order */
	/* [M:destroy-unpublish] idr_remove(), and the ring taken out of its
	 * id cache slot: lookups from now on find nothing */
	atomic { published = 0; printf("TRAIL destroy: the id is unpublished\n") }
	/* [M:destroy-closing] [D3]: write(2) sections from now on refuse */
	atomic { closing = 1; printf("TRAIL destroy: closing\n") }
	/*
	 * [M:destroy-sync] synchronize_rcu(), unconditional: every section
	 * that began before it has ended. Waiting on each producer's section
	 * in turn waits for those (one that begins later finds nothing, or
	 * @closing, and touches no ring). One wait per producer slot: NP
	 * is 2, and init refuses to start otherwise.
	 */
	(in_rcu[0] == 0);
	(in_rcu[1] == 0);
	/* [M:destroy-dead] [D1]: store-release of @dead, consumers woken.
	 * dead stands for the meta page's state word ([D5], stored just
	 * before @dead, in the same place after the grace period) too: the
	 * library's poller looks at that one, read(2) and poll at @dead, and
	 * no consumer decides anything on the two together.
	 * The destroy's last access to the ring (the wait queue's lock): the
	 * creator's reference, dropped only after it, keeps the memory */
	atomic { REQUIRE(!gone, mem_valid); dead = 1; printf("TRAIL destroy: dead\n") }
	/* [M:destroy-put] the creator's reference */
	atomic {
		refs--; gone = (refs == 0);
		printf("TRAIL destroy: the creator's reference goes (%d left)\n", refs)
	}
	/* ghost: every consumer is told the end: once nothing else can move,
	 * each has been */
	if
	:: g_nended + g_nleft == NCONS -> skip
	:: timeout -> REQUIRE(g_nended + g_nleft == NCONS, end_told)
	fi
}

/*
 * Everything written was taken and committed, and a reclaim then frees all
 * of it (reclaim_pos reaches the head): progress by definition. A reclaim
 * that never frees makes this a cycle without progress.
 */
proctype Quiet()
{
	KNOBS;
	RECLAIM_LOCALS;

	actor = quiet;
end_quiet:
	do
	:: atomic { pdone == NP && head == prod_pos && g_hmask[0] == 0 && g_hmask[1] == 0 &&
		    rlock == 0 -> rlock = 1 };
		mpr_reclaim();
		rlock = 0;
		if
		:: reclaim_pos == head ->
progress_quiet:
			skip
		:: else -> skip
		fi
	od
}

init
{
	byte j;

	atomic {
		read_knobs();
		/* Destroy waits on in_rcu[0] and [1] by name; a producer is
		 * a kfunc or write(2), not both; only producers that run
		 * have a kind (else its reference would never go) */
		assert(NP == 2);
		assert((cfg_BPF & cfg_WRITE2) == 0);
		assert((cfg_BPF | cfg_WRITE2) < (1 << cfg_NPROD));
		hbudget = cfg_HOSTILE;
		for (j : 0 .. NC - 1) {
			slot[j] = IDLE;
			kclaim[j] = IDLE;
			ls_seen[j] = IDLE;
			ls_head[j] = IDLE;
			g_ann[j] = IDLE;
			g_lh[j] = IDLE;
			attached[j] = 1
		}
		for (j : 0 .. NG - 1) {
			hdr[j] = 1
		}
		/* records written and published before anyone else came */
		for (j : 1 .. cfg_PREFILL) {
			stamp_pos[GRAN(prod_pos)] = prod_pos;
			stamp_st[GRAN(prod_pos)] = 1;
			g_rs[GRAN(prod_pos)] = R_PUBC;
			g_rp[GRAN(prod_pos)] = prod_pos;
			g_rsz[GRAN(prod_pos)] = 1;
			g_busy = g_busy | GBIT(prod_pos);
			prod_pos = W(prod_pos + G)
		}
		j = 0;
		run Producer(0);
		if
		:: cfg_NPROD > 1 -> run Producer(1)
		:: else -> pdone++
		fi;
		run Consumer(0);
		if
		:: cfg_NCONS > 1 -> run Consumer(1)
		:: else -> skip
		fi;
		if
		:: cfg_TICK -> run Tick()
		:: else -> skip
		fi;
		if
		:: cfg_LEASE -> run Clock()
		:: else -> skip
		fi;
		if
		:: cfg_HOSTILE > 0 -> run Hostile()
		:: else -> skip
		fi;
		if
		:: cfg_LIVENESS -> run Quiet()
		:: else -> skip
		fi;
		/* references: the creator's, and each consumer's and writer's file */
		refs = 1 + cfg_NCONS + ((cfg_WRITE2 & 1) + ((cfg_WRITE2 >> 1) & 1));
		nkern = cfg_NPROD - ((cfg_BPF | cfg_WRITE2) & 1) - (cfg_NPROD > 1 && ((cfg_BPF | cfg_WRITE2) & 2));
		if
		:: cfg_DESTROY -> run Destroy()
		:: else -> skip
		fi
	}
}
