#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Proves that the model run goes red on a protocol bug: plants each bug
# below into a scratch copy of the model, runs tests/model/run.sh on it, and
# requires the run to fail with the expected property violated and a
# counterexample trail. For make check-harness.
#
#   reclaim-ignores-slots  reclaim's floor skips the consumer slots (the
#                          claim check)
#   announce-after-cas     the claim announces its start after the cmpxchg
#   commit-plain-store     the commit looks at its start, then stores idle
#                          (a load and a plain store, not one exchange)
#   revoke-plain-store     the revocation stores start | REVOKED over what
#                          it loaded (no compare-and-swap)
#   walk-past-unfinished   reclaim's walk steps over a granule whose stamp
#                          says nothing is finished there
#   positions-order        reclaim loads prod_pos before the head (the bug
#                          that once moved the head backwards)
#   claim-ignores-passed   the claim keeps a start reclaim has passed (no
#                          [M:claim-passed] check after the cmpxchg)
#   commit-ignores-passed  the commit does not look at reclaim_pos (no
#                          [M:commit-passed] check, [C5])
#   claim-passed-store     [M:claim-passed] releases the announce with a
#                          plain store and retries: a REVOKED mark there
#                          goes unread (finding 5, before f483eda)
#   commit-first-start     a consumer commits with the start of its first
#                          claim, not the oldest it holds (finding 6,
#                          before f483eda)
#   reclaim-never-frees    reclaim walks but never stores reclaim_pos (the
#                          ring only fills up: no safety property sees it);
#                          -np: the same, caught by the non-progress search
#   claim-cas-split        the claim's cmpxchg on the head is a load, then
#                          a store (two consumers take the same records)
#   reserve-cas-split      the reservation's cmpxchg on prod_pos is a load,
#                          then a store (two producers get the same space)
#   prod-seen-unchecked    mpr_claim_one() uses its cached prod_pos without
#                          checking that the head lies below it
#   reserve-full-at-limit  the full check takes a ring with exactly the
#                          space needed left as full (>= for >): a drop
#                          with room (only drop_justified sees it)
#   reserve-skips-reclaim  a producer that finds the ring full takes the
#                          reclaim bit but does not reclaim, then drops
#                          (only drop_justified sees it)
#   reclaim-ignores-head   reclaim's floor starts at prod_pos, not the head:
#                          it frees committed records nobody claimed
#                          (checked with group 4 alone, reclaim_maximal
#                          taken out: those trip first; no_lost must see
#                          it by itself)
#   overwrite-cas-split    eviction's cmpxchg on the head is a load, then a
#                          store: it evicts records a consumer just claimed
#   release-count-uncapped a dead consumer's held count is taken as it
#                          stands (no mpr_held_capped() at release)
#   lease-no-half-ring     a timed-out claim is revoked though it holds no
#                          producer back (no p - s > size/2, no refusal
#                          for room at r0)
#   lease-any-refusal      a refusal for room at any reclaim position counts
#                          as pressure (not only one where reclaim stands)
#   lease-empty-claim      a timed-out claim is revoked when its start is
#                          the head (it holds nothing yet; no s < head)
#   priority-drop-as-full  a drop the watermark refused is reported as
#                          full (the class compared with the limit, not
#                          the data size): drop_justified
#   overwrite-busy-as-full an overwrite reservation that gave up on lost
#                          races (the bit taken, its room taken) reports
#                          full: drop_justified (full only when its own
#                          last eviction left no room)
#   overwrite-skips-bit    an overwrite producer never takes the bit (never
#                          evicts, never reclaims): with the free choice
#                          held to a taken bit it blocks, an invalid end
#                          state (run.sh's "invalid end state"); this tests
#                          the model's own guard, no property
#   overwrite-stuck-always every overwrite round counts as stuck: a lost
#                          race (its room taken) reported full:
#                          drop_justified (the reclaim's floor was not short)
#   overwrite-stuck-never  no overwrite round counts as stuck: a pinned ring
#                          reported as a lost race: drop_justified
#   (Three more stay green in the bounded configurations, too small to
#   reach them, and are not listed: stuck as the plain difference p +
#   need - reclaim_pos, which wraps only once the ring went round under a
#   delayed producer (lib_test's t_overwrite_not_full has it); a walk at
#   its bound counted as stuck (its freeing leg never meets the bound in
#   rings this small; t_overwrite_not_full and t_overwrite_pinned_far
#   have both sides); and an eviction that lost the head to a claim short
#   of the room taken as no lost race, which needs a consumer to claim in
#   both rounds.)
#   destroy-no-sync        mpmcring_destroy() does not wait for the kfuncs
#                          that found the ring (no grace period): the
#                          memory goes under a BPF output
#   bpf-unlock-early       a kfunc ends its RCU section right after
#                          idr_find() and then reserves and commits: the
#                          grace period does not wait for the writes
#   put-before-sync        mpmcring_destroy() drops the creator's
#                          reference before the grace period: with every
#                          file closed it is the last, the memory goes
#                          under a kfunc that found the ring
#   put-before-dead        mpmcring_destroy() drops the creator's
#                          reference before storing @dead and waking the
#                          consumers: with every file closed, the destroy
#                          itself stores and takes the wait queue's lock
#                          in freed memory
#   unpublish-after-sync   the id is unpublished after the grace period: a
#                          kfunc that finds the ring after the grace period
#                          began commits behind a consumer's end, or
#                          (a consumer closed early) into freed memory
#   write-checks-once      write(2) looks at @closing on entry only and
#                          reserves and commits outside an RCU section
#                          (finding 7 before the fix): the grace period
#                          does not wait for it, a record after the end
#   write-retry-unchecked  write(2) woken on a full ring tries again
#                          without looking at @closing (only the first try
#                          looks): the destroy's own wakeup, the consumer
#                          drains and is told the end, the writer commits
#   destroy-no-closing     the destroy never sets @closing ([D3] gone): a
#                          write(2) section that begins after the grace
#                          period finds the ring open, a record after the end
#   sync-only-with-bpf     the grace period only where BPF kfuncs are
#                          registered (the old mpmcring_bpf_sync()): with
#                          write(2) alone it waits for nothing
#   end-not-told           read(2) (or poll) on a destroyed, empty ring
#                          does not report the end: the consumer sleeps
#   lease-since-always     reclaim restarts a lease for any start it has
#                          not seen, also one behind the head it saw when
#                          the lease began (a consumer, or a co-tenant,
#                          rewriting its slot keeps its lease young)
#
# Barriers: spin is sequentially consistent, so a barrier's absence is
# planted as the reordering it allows (docs/model.md, "Memory ordering"):
#   publish-stamp-first    [P2] gone: the stamp is visible before the
#                          header (producer's store-release)
#   record-at-header-first [C1] gone: a walker's header load is satisfied
#                          before its stamp load (consumer's load-acquire)
#   commit-passed-early    [C5] gone: the commit's reclaim_pos load is
#                          satisfied before the record reads (the acquire
#                          fence in mpr_commit())
#   destroy-dead-early     [D1] broken: @dead is stored before the grace
#                          period (the BPF commits are not ordered before
#                          it): a consumer told the end, a record after
#   end-look-first         [D2] gone: a consumer's @dead load is satisfied
#                          after its look at the ring: an empty look, a
#                          commit, the end: a record left behind the end
#
# Usage: tests/model/plant.sh [PLANT...]   (default: all)
# Prints one line per plant, then "N passed, N failed"; exits non-zero when
# a plant stayed green or went red for another reason. The scratch copies
# and logs: build/model/plant/<plant>/. MODEL_PLANT_JOBS plants run at once
# (default: one per CPU).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
base=$top/build/model/plant

# plant | configuration run.sh runs | properties any of which must be violated
plants=(
"reclaim-ignores-slots|core-2p1c|held_not_freed honest_not_clobbered reclaim_maximal"
"commit-plain-store|lease-1p1c|revoke_reported"
"revoke-plain-store|lease-1p1c|revoke_live revoke_reported"
"announce-after-cas|core-2p1c|held_not_freed honest_not_clobbered"
"walk-past-unfinished|hostile-kernel-tick|reclaim_finished no_overlap"
"positions-order|core-2p1c|head_sane head_monotone"
"claim-ignores-passed|hostile-head-1p1c|claim_live"
"commit-ignores-passed|hostile-head-1p1c|stale_reported"
"claim-passed-store|lease-1p1c|revoke_reported"
"commit-first-start|hostile-head-1p1c|stale_reported"
"reclaim-never-frees|core-2p1c|reclaim_maximal"
"reclaim-never-frees-np|liveness-2p1c|non_progress_cycle"
"publish-stamp-first|core-2p1c|reclaim_finished exactly_once claim_live"
"record-at-header-first|core-1p2c|exactly_once"
"commit-passed-early|hostile-head-1p1c|stale_reported"
"claim-cas-split|core-1p2c|exactly_once"
"reserve-cas-split|core-2p1c|no_overlap"
"prod-seen-unchecked|core-1p2c|head_sane"
"reserve-full-at-limit|core-2p1c|drop_justified"
"reserve-skips-reclaim|core-2p1c|drop_justified"
"reclaim-ignores-head|core-2p1c|no_lost"
"overwrite-cas-split|overwrite-2p1c|evict_unclaimed"
"release-count-uncapped|count-hostile|count_capped"
"lease-no-half-ring|lease-1p1c|revoke_justified"
"lease-any-refusal|lease-1p1c|revoke_justified"
"lease-empty-claim|lease-1p1c|revoke_justified"
"priority-drop-as-full|core-2p1c|drop_justified"
"overwrite-busy-as-full|overwrite-2p1c-p3|drop_justified"
"overwrite-skips-bit|overwrite-2p1c-p3|invalid"
"overwrite-stuck-always|overwrite-2p1c-p3|drop_justified"
"overwrite-stuck-never|overwrite-2p1c|drop_justified"
"destroy-dead-early|destroy-bpf-1p1c|end_complete"
"end-look-first|destroy-bpf-1p1c|end_complete"
"destroy-no-sync|destroy-bpf-1p1c-mem|mem_valid"
"bpf-unlock-early|destroy-bpf-1p1c-mem|mem_valid"
"put-before-sync|destroy-bpf-1p1c|mem_valid"
"put-before-dead|destroy-bpf-1p1c|mem_valid"
"unpublish-after-sync|destroy-bpf-1p1c|end_complete mem_valid"
"write-checks-once|destroy-write2|end_complete"
"destroy-no-closing|destroy-write2|end_complete"
"write-retry-unchecked|destroy-write2|end_complete"
"sync-only-with-bpf|destroy-write2|end_complete"
"end-not-told|destroy-bpf-1p1c|end_told"
"lease-since-always|lease-slot-hostile|lease_since"
)

# Applies one plant to the model at $1: every replacement must match once.
apply() {
	python3 - "$1" "$2" <<'EOF'
import sys
path, plant = sys.argv[1], sys.argv[2]
s = open(path).read()
P = {
 "reclaim-ignores-slots": [
  ("\t\t\t\t:: !ign && BEFORE(s, lo) -> lo = s\n",
   "\t\t\t\t:: false -> lo = s\t/* PLANTED: the slots are ignored */\n"),
 ],
 "announce-after-cas": [
  ("""				if
				:: !holding ->
					atomic {	/* [M:claim-announce] */
						ANNOUNCE(c, h);
						g_touched[c] = 0;
						printf("TRAIL c%d: announces %d\\n", c, h)
					}
				:: else -> skip
				fi;
""", "\t\t\t\tskip;\t/* PLANTED: no announce before the cmpxchg */\n"),
  ("""				if
				:: !ok && cret == C_ESTALE -> break
				:: !ok && cret == 0 -> tries++
				:: ok && n == 0 ->""",
   """				if	/* PLANTED: the announce, after the cmpxchg */
				:: ok && !holding ->
					atomic {	/* [M:claim-announce] */
						 ANNOUNCE(c, h); g_touched[c] = 0;
						 printf("TRAIL c%d: announces %d (after its claim)\\n", c, h) }
				:: else -> skip
				fi;
				if
				:: !ok && cret == C_ESTALE -> break
				:: !ok && cret == 0 -> tries++
				:: ok && n == 0 ->"""),
 ],
 "commit-plain-store": [
  ("""		:: else -> x = slot[c]; slot[c] = IDLE
		fi;
		rep = ((x & RV) != 0);""",
   """		:: else -> x = slot[c]
		fi;
		rep = ((x & RV) != 0)
	}
	atomic {	/* PLANTED: the store, a step after the look */
		if
		:: IS_READ(c) -> skip
		:: else -> slot[c] = IDLE
		fi;"""),
 ],
 "revoke-plain-store": [
  ("""					:: (IS_READ(i) -> kclaim[i] : slot[i]) == s ->
						if""",
   """					:: true ->	/* PLANTED: a plain store, no compare */
						if"""),
 ],
 "claim-ignores-passed": [
  ("""						:: BEFORE(h, reclaim_pos) ->
							printf("TRAIL c%d: [%d,%d) is behind""",
   """						:: false ->	/* PLANTED: no claim-passed check */
							printf("TRAIL c%d: [%d,%d) is behind"""),
 ],
 "commit-ignores-passed": [
  ("""		stale = BEFORE(g_cstart[c], reclaim_pos);""",
   """		stale = 0;	/* PLANTED: reclaim_pos not looked at */"""),
 ],
 "claim-passed-store": [
  ("""							rep = (((IS_READ(c) -> kclaim[c] : slot[c]) & RV) != 0);""",
   """							rep = 0;	/* PLANTED: a plain store, REVOKED unread */"""),
 ],
 "prod-seen-unchecked": [
  ("""			:: fast && BEFORE(r, ps) && W(h - r) < W(ps - r) && ALIGNED(h) -> p = ps""",
   """			:: fast -> p = ps	/* PLANTED: the cached prod_pos, unchecked */"""),
 ],
 "commit-first-start": [
  ("""	:: !holding || BEFORE(h, g_cstart[c]) -> g_cstart[c] = h""",
   """	:: !holding -> g_cstart[c] = h	/* PLANTED: the first claim's start */"""),
 ],
 "walk-past-unfinished": [
  ("""			record_at_locked(e, p);
			if
			:: st != REC_C && st != REC_D -> break
			:: else -> skip
			fi;""",
   """			record_at_locked(e, p);
			if
			:: st == REC_NONE -> sz = 1	/* PLANTED: steps over it */
			:: st == REC_BAD -> break
			:: else -> skip
			fi;"""),
 ],
 "positions-order": [
  ("""	atomic { r0 = reclaim_pos; h = head }	/* [R3] */
	atomic {
		p = prod_pos;
		head_ok""",
   """	p = prod_pos;	/* PLANTED: prod_pos before the head */
	atomic { r0 = reclaim_pos; h = head }	/* [R3] */
	atomic {
		head_ok"""),
 ],
}
HDR = """			atomic {	/* [M:publish-hdr] the header, then the payload */
				hdr[GRAN(pos)] = rsz;
				/* payload that looks like a header: producer 0 forges a
				 * one-granule record, producer 1 an oversized one */
				if
				:: rsz == 2 -> hdr[GRAN(W(pos + G))] = (me == 0 -> 1 : 3)
				:: else -> skip
				fi
			}
"""
STAMP = """			atomic {	/* [M:publish-stamp] [P2] */
				gi = GRAN(pos);
				stamp_pos[gi] = pos;
				if
				:: stamp_st[gi] = 1; g_rs[gi] = R_PUBC;
					printf("TRAIL p%d: commits %d\\n", me, pos);
					/* no consumer was told the end before it */
					REQUIRE(!g_ended, end_complete)
				:: me >= NP - DISCARD -> stamp_st[gi] = 2; g_rs[gi] = R_PUBD;
					printf("TRAIL p%d: discards %d\\n", me, pos)
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
"""
NEVER = [("""	:: freed != r0 ->
		atomic {	/* [M:reclaim-store] [R5] */""",
	"""	:: false ->	/* PLANTED: reclaim_pos is never stored */
		atomic {	/* [M:reclaim-store] [R5] */""")]
P["reclaim-never-frees"] = NEVER
P["reclaim-never-frees-np"] = NEVER
P["publish-stamp-first"] = [(HDR + STAMP, "\t\t\t/* PLANTED: the stamp first */\n" + STAMP + HDR)]
P["record-at-header-first"] = [
 ("""	atomic {	/* [M:record-at] [C1]: the stamp */
""", """	sz = hdr[GRAN(pos)];	/* PLANTED: the header load first */
	atomic {	/* [M:record-at] [C1]: the stamp */
"""),
 ("""		atomic {	/* the header, MPR_READ_SPECULATIVE */
			sz = hdr[GRAN(pos)];
""", """		atomic {	/* the header, MPR_READ_SPECULATIVE */
"""),
]
P["commit-passed-early"] = [
 ("""		stale = BEFORE(g_cstart[c], reclaim_pos);
		g_read[c] = 1""", """		stale = BEFORE(g_cstart[c], reclaim_pos)
	}
	atomic {	/* PLANTED: the reads after the reclaim_pos load */
		g_read[c] = 1"""),
]
P["claim-cas-split"] = [
 ("""				atomic {	/* [M:claim-cas] [C2] */
					if
					:: head == h ->""", """				ok = (head == h);	/* PLANTED: the compare, a step before the store */
				atomic {	/* [M:claim-cas] [C2] */
					if
					:: ok ->"""),
]
P["reserve-cas-split"] = [
 ("""				atomic {	/* [M:reserve-cas] */
					if
					:: prod_pos == pp ->""", """				ok = (prod_pos == pp);	/* PLANTED: the compare, a step before the store */
				atomic {	/* [M:reserve-cas] */
					if
					:: ok ->"""),
]
P["reserve-full-at-limit"] = [
 ("""			:: W(pp + need - r) > limit ->
				/* [M:reserve-full] */""", """			:: W(pp + need - r) >= limit ->	/* PLANTED: full with need left */
				/* [M:reserve-full] */"""),
]
P["overwrite-busy-as-full"] = [
 ("""				:: rounds == 2 && OVERWRITE && !stuck ->""",
  """				:: false ->	/* PLANTED: lost races reported as full */"""),
 ("""				:: rounds == 2 && !(OVERWRITE && !stuck) ->""",
  """				:: rounds == 2 ->"""),
]
P["overwrite-stuck-always"] = [
 ("""						stuck = (OVERWRITE && !wbound &&
							 BEFORE(reclaim_pos, W(pp + need - limit)));""",
  """						stuck = OVERWRITE;	/* PLANTED */"""),
]
P["overwrite-stuck-never"] = [
 ("""						stuck = (OVERWRITE && !wbound &&
							 BEFORE(reclaim_pos, W(pp + need - limit)));""",
  """						stuck = 0;	/* PLANTED */"""),
]
P["overwrite-skips-bit"] = [
 ("""				:: atomic { rlock == 0 -> rlock = 1 } ->""",
  """				:: atomic { rlock == 0 && !OVERWRITE -> rlock = 1 } ->	/* PLANTED */"""),
]
P["reserve-skips-reclaim"] = [
 ("""					:: PRODUCER_RECLAIM -> mpr_reclaim()
""", """					:: PRODUCER_RECLAIM -> skip	/* PLANTED: the bit, but no reclaim */
"""),
]
P["reclaim-ignores-head"] = [
 ("""		lo = bound;
""", """		lo = p;	/* PLANTED: the head is no floor */
"""),
 # it frees claims too: held_not_freed, revoke_reported and reclaim_maximal
 # (an equality) trip first; with group 4 alone and reclaim_maximal
 # taken out, no_lost must see it by itself
 ("""	byte CHECK = cfg_CHECK;\
""", """	byte CHECK = cfg_CHECK & 4;\
"""),
 ("""		REQUIRE(!gv || reclaim_pos == glo, reclaim_maximal);
""", """		skip;	/* PLANTED: reclaim_maximal not checked */
"""),
]
P["overwrite-cas-split"] = [
 ("""		atomic {	/* [M:overwrite-cas] */
			if
			:: head == h ->""", """		atomic {	/* [M:overwrite-cas] */
			if
			:: true ->	/* PLANTED: a plain store, no compare */"""),
]
P["release-count-uncapped"] = [
 ("""			:: x > W(y - s) / G -> x = W(y - s) / G	/* mpr_held_capped() */""", """			:: false -> skip	/* PLANTED: the count as it stands */"""),
]
P["lease-no-half-ring"] = [
 (""":: LEASE && (W(p - s) > RS / 2 || refused_r == r0) && BEFORE(s, bound) &&""", """:: LEASE && BEFORE(s, bound) &&	/* PLANTED: no pressure */"""),
]
P["lease-any-refusal"] = [
 (""":: LEASE && (W(p - s) > RS / 2 || refused_r == r0) && BEFORE(s, bound) &&""", """:: LEASE && (W(p - s) > RS / 2 || refused_r != IDLE) && BEFORE(s, bound) &&	/* PLANTED: any refusal */"""),
]
P["lease-empty-claim"] = [
 (""":: LEASE && (W(p - s) > RS / 2 || refused_r == r0) && BEFORE(s, bound) &&""", """:: LEASE && (W(p - s) > RS / 2 || refused_r == r0) &&	/* PLANTED: an empty claim too */"""),
]
P["priority-drop-as-full"] = [
 ("""over = (W(pp + need - r) > RS);""", """over = (W(pp + need - r) > limit);	/* PLANTED: the limit, not the size */"""),
]
DWAIT = """	(in_rcu[0] == 0);
	(in_rcu[1] == 0);
"""
DDEAD = """	/* [M:destroy-dead] [D1]: store-release of @dead, consumers woken.
	 * dead stands for the meta page's state word ([D5], stored just
	 * before @dead, in the same place after the grace period) too: the
	 * library's poller looks at that one, read(2) and poll at @dead, and
	 * no consumer decides anything on the two together.
	 * The destroy's last access to the ring (the wait queue's lock): the
	 * creator's reference, dropped only after it, keeps the memory */
	atomic { REQUIRE(!gone, mem_valid); dead = 1; printf("TRAIL destroy: dead\\n") }
"""
P["destroy-dead-early"] = [(DWAIT + DDEAD, "\t/* PLANTED: @dead before the grace period */\n" + DDEAD + DWAIT)]
P["end-look-first"] = [
 ("""		atomic { dd = dead; r = reclaim_pos }	/* [M:positions] [R5] */
""", """		r = reclaim_pos;	/* [M:positions] [R5] (PLANTED: @dead not loaded first) */
"""),
 ("""		mpr_claim(c, 0, maxr);
		if
		:: dying ->""", """		mpr_claim(c, 0, maxr);
		dd = dead;	/* PLANTED: @dead after the look */
		if
		:: dying ->"""),
]
P["destroy-no-sync"] = [
 ("""	(in_rcu[0] == 0);
	(in_rcu[1] == 0);
""", """	skip;	/* PLANTED: no grace period */
"""),
]
P["bpf-unlock-early"] = [
 ("""				in_rcu[me] = 1; found = published; tries = (found -> 0 : RT);
""", """				in_rcu[me] = 1; found = published; tries = (found -> 0 : RT);
				in_rcu[me] = 0;	/* PLANTED: rcu_read_unlock() right after idr_find() */
"""),
]
DPUT = """	/* [M:destroy-put] the creator's reference */
	atomic {
		refs--; gone = (refs == 0);
		printf("TRAIL destroy: the creator's reference goes (%d left)\\n", refs)
	}
"""
DSYNC = DWAIT + DDEAD
P["put-before-sync"] = [(DSYNC + DPUT, "\t/* PLANTED: the creator's put before the grace period */\n" + DPUT + DSYNC)]
P["put-before-dead"] = [(DDEAD + DPUT, "\t/* PLANTED: the creator's put before @dead and the wakeup */\n" + DPUT + DDEAD)]
DUNP = """	atomic { published = 0; printf("TRAIL destroy: the id is unpublished\\n") }
"""
P["unpublish-after-sync"] = [
 (DUNP, ""),
 ("""	(in_rcu[1] == 0);
""", """	(in_rcu[1] == 0);
""" + "\t/* PLANTED: unpublished after the grace period */\n" + DUNP),
]
P["write-checks-once"] = [
 ("""				atomic {	/* [M:write-closing] [D4] */
					in_rcu[me] = 1; found = !closing; tries = (found -> 0 : RT);
					printf("TRAIL p%d: write(2)'s section begins (closing: %d)\\n", me, !found)
""", """				atomic {	/* [M:write-closing] [D4] */
					/* PLANTED: no section, no second look: the entry's alone */
					printf("TRAIL p%d: write(2) reserves outside any RCU section\\n", me)
"""),
]
P["write-retry-unchecked"] = [
 ("""				in_rcu[me] = 1; found = !closing; tries = (found -> 0 : RT);
				rounds = 0;""", """				in_rcu[me] = 1; found = 1; tries = 0;	/* PLANTED: the retry does not look at @closing */
				rounds = 0;"""),
]
P["destroy-no-closing"] = [
 ("""	atomic { closing = 1; printf("TRAIL destroy: closing\\n") }
""", """	skip;	/* PLANTED: @closing is never set */
"""),
]
P["sync-only-with-bpf"] = [
 ("""	(in_rcu[0] == 0);
	(in_rcu[1] == 0);
""", """	if	/* PLANTED: a grace period only with BPF kfuncs registered */
	:: BPF -> (in_rcu[0] == 0); (in_rcu[1] == 0)
	:: else -> skip
	fi;
"""),
]
P["end-not-told"] = [
 (""":: !dying && dd && cret == C_EAGAIN ->""", """:: false ->	/* PLANTED: no end of file */"""),
]
P["lease-since-always"] = [
 ("""						:: ls_head[i] == IDLE || !BEFORE(s, ls_head[i]) ->""",
  """						:: true ->	/* PLANTED: any new start restarts it */"""),
]
if plant not in P:
    sys.exit("unknown plant: " + plant)
for old, new in P[plant]:
    if s.count(old) != 1:
        sys.exit("%s: the model text to plant into is not there once (%d): the model changed; update plant.sh" % (plant, s.count(old)))
    s = s.replace(old, new)
open(path, "w").write(s)
EOF
}

# plant_one <name> <config> <properties>: plants one bug in its own copy of
# the model (build/model/plant/<name>), runs its configuration, and prints
# its result line (and the run's tail when it is not red as planted) into
# <that folder>/result; exit status 0 when red as planted.
plant_one() {
	local name=$1 config=$2 props=$3 d=$base/$1 msg rc=0 viol trail t0=$SECONDS
	rm -rf "$d"
	mkdir -p "$d"
	cp "$here/mpmcring.pml" "$d/"
	if ! msg=$(apply "$d/mpmcring.pml" "$name" 2>&1); then
		printf 'FAIL   %-22s could not be planted: %s\n' "$name" "$msg" >"$d/result"
		return 1
	fi
	MODEL_OPT=-O0 MODEL_DIR=$d MODEL_OUT=$d/out bash "$here/run.sh" "$config" >"$d/run.log" 2>&1 || rc=$?
	viol=$(grep -oE '^# violated: [a-z_]+' "$d/run.log" | head -n 1 | awk '{print $3}')
	trail=$(grep -cE '^#   TRAIL' "$d/run.log")
	if [ "$rc" -ne 0 ] && grep -q "^not ok .* - $config:" "$d/run.log" &&
		[[ " $props " == *" $viol "* ]] && [ "$trail" -gt 0 ]; then
		printf 'ok     %-22s red as planted: %s violated in %s, %d-step trail [%ds]\n' \
			"$name" "$viol" "$config" "$trail" $((SECONDS - t0)) >"$d/result"
		return 0
	fi
	{
		printf 'FAIL   %-22s run.sh exit %d, violated "%s" (want one of: %s), %d trail lines\n' \
			"$name" "$rc" "$viol" "$props" "$trail"
		sed 's/^/       | /' "$d/run.log" | tail -n 20
	} >"$d/result"
	return 1
}

# MODEL_PLANT_JOBS plants at a time (default: one per CPU, each a
# compiler, then a search, on one CPU; no more than the memory available
# holds searches of MODEL_MEM MiB, run.sh's 2048 unless told); results in
# the list's order.
if [ -z "${MODEL_PLANT_JOBS:-}" ]; then
	jobs=$(nproc)
	avail=$(awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo 2>/dev/null || true)
	if [ -n "$avail" ] && [ $((avail / ${MODEL_MEM:-2048})) -lt "$jobs" ]; then
		jobs=$((avail / ${MODEL_MEM:-2048}))
	fi
	[ "$jobs" -ge 1 ] || jobs=1
else
	jobs=$MODEL_PLANT_JOBS
fi
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "error: MODEL_PLANT_JOBS must be a positive number, not '$jobs'" >&2; exit 2; }
want=("$@")
names=()
running=0
for p in "${plants[@]}"; do
	IFS='|' read -r name config props <<<"$p"
	if [ ${#want[@]} -gt 0 ] && [[ " ${want[*]} " != *" $name "* ]]; then
		continue
	fi
	names+=("$name")
	rm -f "$base/$name/result"
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
	plant_one "$name" "$config" "$props" &
	running=$((running + 1))
done
wait
passed=0 failed=0
for name in "${names[@]}"; do
	if [ -f "$base/$name/result" ]; then
		cat "$base/$name/result"
	else
		printf 'FAIL   %-22s no result (its run died)\n' "$name"
		failed=$((failed + 1))
		continue
	fi
	if head -n 1 "$base/$name/result" | grep -q '^ok '; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
