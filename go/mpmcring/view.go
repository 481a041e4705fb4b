// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

// The consumer half of the protocol (proto/mpmcring_proto.h), over a ring's
// two pieces of shared memory: the consumer area (read-write) and the
// read-only area (meta page, slot info, stamps, data mapped twice). The
// functions follow the C ones step by step and keep their names in the
// comments, with the barrier pairs lettered as there.
//
// Every shared word is read and written with sync/atomic. Go's atomics are
// sequentially consistent, which is at least the acquire and release the
// C code asks for at each site. Every position and length read from shared
// memory is checked before it is used, and every address is either a Go
// slice index or, on the per-record path, a position masked to the stamp
// array or the data (stamp, hdr) or a length checked against max_record
// (payload): inside the areas checkLayout proved lie in the mapping. So a
// corrupt ring is an error, never an access outside the mapping (the fuzz
// target checks every record it is handed).

import (
	"sync/atomic"
	"unsafe"
)

// view is struct mpr_view: where one ring's pieces are.
type view struct {
	cons []byte // consumer area
	ro   []byte // meta page, slot info, stamps, data twice

	slotInfo     uint64 // offsets inside ro
	stamps       uint64
	data         uint64
	dataSize     uint64
	dataMask     uint64
	stampMask    uint64 // stamps - 1
	gmask        uint64 // granule - 1
	gshift       uint32
	maxRecord    uint32
	maxConsumers uint32
	mode         uint32
	claimTimeout uint32 // ms; 0: claims never expire

	// The hot words and the bases of the stamp array and the data,
	// found once: see stamp and hdr for why indexing from them stays
	// inside the mapping.
	headP, prodP, reclaimP, roomAtP *uint64
	stampsBase, dataBase            unsafe.Pointer
	// The meta page's state word (ABI 1.3); nil from an older module,
	// which leaves it 0 and tells the end only by a hangup.
	stateP *uint64
}

// newView is mpr_view_init: the layout must have passed checkLayout, and
// cons and ro must be at least cons_size and ro_size bytes long.
func newView(l *rawLayout, cons, ro []byte) *view {
	v := &view{
		cons:         cons,
		ro:           ro,
		slotInfo:     l.SlotInfoOffset,
		stamps:       l.StampsOffset,
		data:         l.DataOffset,
		dataSize:     l.DataSize,
		dataMask:     l.DataSize - 1,
		stampMask:    l.DataSize>>l.GranuleShift - 1,
		gmask:        1<<l.GranuleShift - 1,
		gshift:       l.GranuleShift,
		maxRecord:    l.MaxRecord,
		maxConsumers: l.MaxConsumers,
		mode:         l.Mode,
	}
	if l.Features&featLease != 0 {
		v.claimTimeout = l.ClaimTimeoutMs
	}
	v.headP = word(cons, consHead)
	v.prodP = word(ro, metaProdPos)
	v.reclaimP = word(ro, metaReclaimPos)
	v.roomAtP = word(ro, metaRoomAt)
	if l.ABIMinor >= ABIMinorState {
		v.stateP = word(ro, metaState)
	}
	v.stampsBase = unsafe.Pointer(&ro[l.StampsOffset])
	v.dataBase = unsafe.Pointer(&ro[l.DataOffset])
	return v
}

// word is the shared 64-bit word at off in b. The slice index checks off
// against the mapping; every offset used is a multiple of 8 and every
// piece's length too, so the whole word lies inside.
func word(b []byte, off uint64) *uint64 {
	return (*uint64)(unsafe.Pointer(&b[off]))
}

func (v *view) head() *uint64 { return v.headP }

func (v *view) slotWord(idx uint32, field uint64) *uint64 {
	return word(v.cons, consSlots+uint64(idx)*slotSize+field)
}

func (v *view) slotInfoWord(idx uint32, field uint64) *uint64 {
	return word(v.ro, v.slotInfo+uint64(idx)*slotInfoSize+field)
}

// stamp is the stamp word of the granule of pos. Inside the mapping
// whatever pos is: the index is masked to the stamp array, which
// checkLayout proved lies inside the read-only area.
func (v *view) stamp(pos uint64) *uint64 {
	return (*uint64)(unsafe.Add(v.stampsBase, (pos>>v.gshift&v.stampMask)*8))
}

// hdr is the header word of a record at pos: the offset is masked to the
// data (inside the mapping, checkLayout), and 8-aligned because pos is
// granule-aligned wherever a header is read.
func (v *view) hdr(pos uint64) *uint64 {
	return (*uint64)(unsafe.Add(v.dataBase, pos&v.dataMask))
}

// payload is the record's payload, in place: len bytes after the header
// of the record at pos. len <= maxRecord <= dataSize/2 (checkLayout), and
// the data is mapped twice, so the slice lies inside the mapping even when
// the record wraps. Its capacity ends with it: append copies.
func (v *view) payload(pos uint64, n uint32) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(v.dataBase, pos&v.dataMask+hdrSize)), n)
}

// dead is the load of the meta page's state word ([D6], pairs with [D5]
// in the kernel's mpmcring_destroy()): true once the ring is destroyed,
// every record committed before published. Only a look at the ring made
// after it returned true can tell the end ("dead, then empty").
func (v *view) dead() bool {
	return v.stateP != nil && atomic.LoadUint64(v.stateP)&stateDead != 0
}

// between is mpr_between: lo <= x <= hi on the position circle.
func between(lo, x, hi uint64) bool { return x-lo <= hi-lo }

// before is mpr_before: a comes before b (positions < 2^63 apart).
func before(a, b uint64) bool { return int64(a-b) < 0 }

func (v *view) aligned(pos uint64) bool { return pos&v.gmask == 0 }

func (v *view) recSize(n uint32) uint64 {
	return (hdrSize + uint64(n) + v.gmask) &^ v.gmask
}

// positions is struct mpr_pos.
type positions struct {
	reclaim uint64
	head    uint64 // user-writable: check with headSane
	prod    uint64
}

// positions is mpr_positions: oldest first, so that they stay ordered
// unless the head is corrupt.
func (v *view) positions() positions {
	var s positions
	s.reclaim = atomic.LoadUint64(v.reclaimP) // pairs with [R5]
	s.head = atomic.LoadUint64(v.headP)       // pairs with [C2]
	s.prod = atomic.LoadUint64(v.prodP)       // pairs with [P1]
	return s
}

// headSane is mpr_head_sane: a head outside [reclaim, prod], or between
// granules, is corrupt.
func (v *view) headSane(s positions) bool {
	return v.aligned(s.head) && between(s.reclaim, s.head, s.prod)
}

// copyPayload copies the payload of the record at pos (n bytes, checked
// against the record's size by recordAt) out of space it has not claimed,
// which producers may be rewriting: one atomic load per word, so the
// copy races with nothing (the race detector agrees), and intact says
// afterwards whether to keep it. The payload starts 8-aligned, and its
// words up to the granule round-up lie inside the record's space.
func (v *view) copyPayload(pos uint64, n uint32) []byte {
	words := (uint64(n) + 7) / 8
	dst := make([]uint64, words)
	src := unsafe.Add(v.dataBase, pos&v.dataMask+hdrSize)
	for i := range dst {
		dst[i] = atomic.LoadUint64((*uint64)(unsafe.Add(src, i*8)))
	}
	if words == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), words*8)[:n:n]
}

// intact is mpr_snoop_intact: true while the space at pos can still hold
// what was written there, since producers reuse only space behind
// reclaim_pos. [M1] pairs with [P4]: the copy, then readFence, then
// reclaim_pos; a producer that wrote over the copied bytes loaded a
// reclaim_pos past pos before writing, so this load sees it past pos too.
// Distances count from seen, the reclaim_pos the walk started from (as
// headSane does), so positions far apart on a corrupt ring cannot pass
// for intact through signed wrap.
func (v *view) intact(pos, seen uint64, fenceWord *uint32) bool {
	readFence(fenceWord)
	return atomic.LoadUint64(v.reclaimP)-seen <= pos-seen
}

// Record states (MPR_REC_*).
const (
	recNone = iota
	recCommitted
	recDiscarded
	recBad
)

// rec is struct mpr_rec.
type rec struct {
	pos   uint64
	size  uint64
	len   uint32
	prio  uint8
	flags uint8
	state int
}

// recordAt is mpr_record_at: the record that starts at pos, if a finished
// one does, ending at or before bound. The header is read only after the
// stamp vouches for it; it is read as one word (the space may be reused
// under a walker that has not claimed it yet: the claim's compare-and-swap
// then fails), and its length is checked before anything uses it.
func (v *view) recordAt(pos, bound uint64, r *rec) int {
	// [C1] pairs with [P2]: the header and payload are visible.
	stamp := atomic.LoadUint64(v.stamp(pos))
	r.pos = pos
	switch stamp {
	case pos | stampCommitted:
		r.state = recCommitted
	case pos | stampDiscarded:
		r.state = recDiscarded
	default:
		r.state = recNone
		return recNone
	}
	n, prio, flags := splitHeader(atomic.LoadUint64(v.hdr(pos)))
	size := (hdrSize + uint64(n) + v.gmask) &^ v.gmask
	if n > v.maxRecord || size > bound-pos {
		r.state = recBad
		return recBad
	}
	r.len, r.prio, r.flags, r.size = n, prio, flags, size
	return r.state
}

// claimResult is struct mpr_claim.
type claimResult struct {
	start   uint64
	end     uint64
	records uint32
	bytes   uint64
	first   rec
	// skipped: where the first claim of discarded records only that
	// this call made began (skippedAny): the head moved over them and
	// nothing was handed over, so no commit asks for the room they held.
	skipped    uint64
	skippedAny bool
}

// claim tries (MPR_CLAIM_TRIES), and the records one claim walks past
// what it may take (MPR_CLAIM_WALK: discarded ones).
const (
	claimTries = 256
	claimWalk  = 1024
)

// Results of claim besides a count of records.
const (
	claimEmpty   = -1 // -EAGAIN
	claimTooBig  = -2 // -EMSGSIZE
	claimCorrupt = -3 // -EBADMSG
	claimBusy    = -4 // -EBUSY
	claimRevoked = -5 // -ESTALE: revoked while made; records says how many
)

// testHookClaimCAS, when set (by tests only, before any consumer runs),
// is called by claim just before its compare-and-swap on the head: where
// other consumers, reclaim and a co-tenant scribbling on the shared state
// can act between a claim's walk and its compare-and-swap. One nil check
// per claim attempt, off the per-record path.
var testHookClaimCAS func()

// testHookClaimWon, when set (by tests only, before any consumer runs), is
// called by claim after a won compare-and-swap of a consumer that held
// nothing, with its announce, before the claim-passed look: where a
// consumer that stands still has its claim revoked while it is made. One
// nil check per won claim.
var testHookClaimWon func(announce *uint64)

// claim is mpr_claim: claims up to maxRecs records holding at most
// maxBytes of payload (the first whatever its size unless hardBytes),
// starting at the head, with one compare-and-swap. announce is the
// consumer's slot start; holding says it holds an older claim already.
// Returns the number of records, or one of the claim* codes. A caller
// that holds older claims keeps the oldest start of all it holds as the
// one it commits with: a head a co-tenant wrote back can give a later
// claim a start below the first.
func (v *view) claim(announce *uint64, holding bool, maxRecs uint32, maxBytes uint64,
	hardBytes bool, c *claimResult) int {
	headp := v.head()
	tries := 0
	announced := false // announce holds a start an attempt here wrote
	c.skippedAny = false
	for ; tries < claimTries; tries++ {
		s := v.positions()
		if !v.headSane(s) {
			// An earlier attempt's announce goes, as mpr_claim_from()
			// releases it: left, it would hold reclaim at a start
			// this consumer does not claim.
			if announced {
				atomic.StoreUint64(announce, slotIdle)
			}
			return claimCorrupt
		}
		h, p := s.head, s.prod
		e := h
		if h == p {
			break
		}
		if !holding {
			atomic.StoreUint64(announce, h)
			announced = true
		}
		var (
			n           uint32
			bytes       uint64
			tooBig, bad bool
			r           rec
			// mpr_claim walks at most maxRecs+claimWalk records,
			// discarded ones included. The first claimWalk discarded
			// ones use up slack; each one after that lowers take, so
			// the committed records' path checks n < take alone.
			take  = maxRecs
			slack = uint32(claimWalk)
		)
		for n < take && e != p {
			st := v.recordAt(e, p, &r)
			if st == recNone {
				break
			}
			if st == recBad {
				bad = true
				break
			}
			if st == recCommitted {
				if bytes+uint64(r.len) > maxBytes && (n > 0 || hardBytes) {
					tooBig = n == 0
					break
				}
				if n == 0 {
					c.first = r
				}
				n++
				bytes += uint64(r.len)
			} else if slack > 0 {
				slack--
			} else {
				take-- // n < take held before this record: no wrap
			}
			e += r.size
		}
		if e == h {
			// Nothing here; report only what a stable head shows.
			if atomic.LoadUint64(headp) != h {
				continue
			}
			if !holding {
				atomic.StoreUint64(announce, slotIdle)
			}
			if bad {
				return claimCorrupt
			}
			if tooBig {
				return claimTooBig
			}
			return claimEmpty
		}
		if testHookClaimCAS != nil {
			testHookClaimCAS()
		}
		// [C2] pairs with [R3]: the announce is visible to anyone who
		// sees this claim.
		if !atomic.CompareAndSwapUint64(headp, h, e) {
			continue
		}
		if testHookClaimWon != nil && !holding {
			testHookClaimWon(announce)
		}
		// [M:claim-passed] A head a co-tenant wrote back over space
		// reclaim has freed makes the compare-and-swap succeed there:
		// that is no claim. The commit looks again ([C5]) for a
		// reclaim that passes the claim later.
		if !holding && before(h, atomic.LoadUint64(v.reclaimP)) {
			// An exchange, not a store: a revocation between the
			// compare-and-swap and here marked the announce and
			// counted a claim this consumer must hear of. The
			// records the head moved over are gone.
			if atomic.SwapUint64(announce, slotIdle)&slotRevoked != 0 {
				c.records = n
				return claimRevoked
			}
			continue
		}
		if n == 0 {
			// Only discarded records: nothing to hand over, and no
			// commit that would ask for the room they held. A
			// caller that holds a claim asks at its commit: that
			// claim begins before these.
			if !holding {
				atomic.StoreUint64(announce, slotIdle)
				if !c.skippedAny {
					c.skipped, c.skippedAny = h, true
				}
			}
			continue
		}
		c.start, c.end, c.records, c.bytes = h, e, n, bytes
		return int(n)
	}
	if !holding {
		atomic.StoreUint64(announce, slotIdle)
	}
	if tries < claimTries {
		return claimEmpty
	}
	return claimBusy
}

// claimNext is mpr_claim_next: the next committed record in [*cur, end).
// Claimed records cannot change while the lease holds, so this re-reads
// what claim checked; a revoked claim may find garbage, which stops it.
func (v *view) claimNext(cur *uint64, end uint64, r *rec) bool {
	for *cur != end {
		st := v.recordAt(*cur, end, r)
		if st != recCommitted && st != recDiscarded {
			return false
		}
		*cur += r.size
		if st == recCommitted {
			return true
		}
	}
	return false
}

// Why a claim is stale: what claimStale and commit report.
const (
	staleNot     = iota // neither: what was read is intact
	staleRevoked        // the kernel revoked it (held past the timeout)
	stalePassed         // reclaim freed its space without revoking it
)

// claimPassed is mpr_claim_passed: whether reclaim has freed the space at
// start, where the claim a consumer holds begins (the consumer's own copy:
// the announce is user-writable). Then producers may have written over
// what was read from it. A healthy claim is never passed: reclaim stops
// at its announce. One is, without any revocation, when a co-tenant moved
// the announce or wrote the head back. [C5] pairs with [R5] through [P4]:
// the caller's reads of the records come before this load (readFence), and
// a producer writes into space only after it saw reclaim_pos pass it.
func (v *view) claimPassed(start uint64) bool {
	return before(start, atomic.LoadUint64(v.reclaimP))
}

// commit is mpr_commit: releases everything the claim beginning at start
// holds with one exchange of the slot's start, and tells whether the claim
// was revoked (from the old value: the kernel revokes with a
// compare-and-swap on the same word) or passed by reclaim. reclaim_pos is
// looked at before the exchange: after it, reclaim may rightly pass the
// space at once. The caller has made its reads of the records come before
// ([C5], readFence); [C3] pairs with [R4], [C4] with [R6]: a sequentially
// consistent read-modify-write, nothing before it moves after it.
func (v *view) commit(announce *uint64, start uint64) int {
	passed := v.claimPassed(start)
	if atomic.SwapUint64(announce, slotIdle)&slotRevoked != 0 {
		return staleRevoked
	}
	if passed {
		return stalePassed
	}
	return staleNot
}

// roomWanted is mpr_room_wanted: after the commit of a claim that began
// at start (or a claim of discarded records only that did: claimResult's
// skipped), whether a writer may wait for room that claim held back
// (the meta page's room_at: where a waiting writer wants reclaim_pos; 0
// when no writer ever waited, and under a module older than ABI 1.5;
// kept once reached, when no claim begins before it). A claim that
// began at or past it held none of that room; with the head short of it,
// the consumer whose claim reaches it asks. The head is user-writable: it
// decides only whether to make a system call. [C6] pairs with [W5]: Go's
// atomics are sequentially consistent, so this load comes after the
// commit's exchange (or the store that released a claim of discarded
// records only) in one order with the kernel's full barrier.
func (v *view) roomWanted(start uint64) bool {
	at := atomic.LoadUint64(v.roomAtP)
	return at != 0 && before(start, at) && !before(atomic.LoadUint64(v.headP), at)
}

// claimStale is mpr_claim_revoked: whether the claim held through
// announce, beginning at start, was revoked or passed so far, without
// committing. The caller has made its reads of the records come before
// these loads ([C4], [C5]: readFence).
func (v *view) claimStale(announce *uint64, start uint64) int {
	if atomic.LoadUint64(announce)&slotRevoked != 0 {
		return staleRevoked
	}
	if v.claimPassed(start) {
		return stalePassed
	}
	return staleNot
}

// testHookTakeLost, when set (by tests only, before any consumer runs),
// is called between takeLost's loads and its compare-and-swap: where
// another consumer's take makes the swap lose.
var testHookTakeLost func(taken *uint64)

// lostSeen is the total a consumer may stop looking at: total once taken
// is at or past it, by this consumer's take or another's; else seen as
// it was. A take that lost claimTries swaps gave up, and what it left
// must be taken at the next call, not only once the total moves again:
// the consumers that won may never ask again. user-writable: taken
// garbage past the total only makes the consumer wait for the next move;
// garbage behind it is moved up by the next take.
func lostSeen(taken *uint64, total, seen uint64) uint64 {
	if before(atomic.LoadUint64(taken), total) {
		return seen
	}
	return total
}

// takeLost is mpr_take_lost: moves *taken up to *total with one
// compare-and-swap and returns the difference, so each loss reaches
// exactly one consumer.
func takeLost(total, taken *uint64) uint64 {
	for tries := 0; tries < claimTries; tries++ {
		// taken before total ([L1]/[L2], proto's mpr_take_lost): each
		// value taken holds is a total some consumer read, so the total
		// read after it is never behind it and the swap never moves it
		// back. The other order let a stale total move taken back, and
		// the next consumer took those losses again.
		k := atomic.LoadUint64(taken)
		t := atomic.LoadUint64(total)
		if t == k {
			return 0
		}
		if testHookTakeLost != nil {
			testHookTakeLost(taken)
		}
		if atomic.CompareAndSwapUint64(taken, k, t) {
			// user-writable: taken past total is garbage, 0 lost.
			if before(k, t) {
				return t - k
			}
			return 0
		}
	}
	return 0
}
