// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

// A ring in ordinary Go memory and a producer for it, for tests only: the
// producer half of the protocol (proto/mpmcring_produce.h: reserve, write,
// publish, reclaim with leases, overwrite) transcribed step by step, so
// that the consumer runs against the protocol it meets in the kernel, under
// the race detector (the ring lives on the Go heap, where the detector
// sees every access).
//
// The kernel maps the data twice, back to back; here the second copy is
// kept by the producer, which writes every byte to both copies. Consumers
// read the second copy only for the tail of a record that wraps, which its
// producer wrote before publishing it.

import (
	"sync/atomic"
	"testing"
	"unsafe"
)

type ringParams struct {
	size         uint64 // data bytes, a power of two
	gshift       uint32 // 0: 3
	mode         uint32
	maxConsumers uint32 // 0: 8
	initialPos   uint64
	claimTimeout uint32 // ms, 0: never
	watermarks   *[NumPrio]uint64
}

// testRing is struct hostring in Go.
type testRing struct {
	l    rawLayout
	cons []byte
	ro   []byte
	v    *view

	reclaimLock int32
	leases      []lease // under reclaimLock
	nowMs       func() uint64

	overwrittenRecords uint64 // atomic
	repairs            uint64
	revokedClaims      uint64
	revokedRecords     uint64
	produced           uint64
	dropped            [NumDrop]uint64
}

// lease is struct mpr_lease.
type lease struct {
	seen    uint64
	sinceMs uint64
	head    uint64 // the head when seen changed (idle: never)
}

// alignedBytes is n bytes on the Go heap, 8-byte aligned (atomics need it).
func alignedBytes(n uint64) []byte {
	w := make([]uint64, (n+7)/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), n)
}

func roundPage(x uint64) uint64 { return (x + 4095) &^ 4095 }

func testLayout(p ringParams) rawLayout {
	g := p.gshift
	if g == 0 {
		g = 3
	}
	mc := p.maxConsumers
	if mc == 0 {
		mc = 8
	}
	l := rawLayout{
		Magic:        abiMagic,
		ABIMajor:     ABIMajor,
		ABIMinor:     ABIMinor,
		LayoutSize:   layoutSize,
		DataSize:     p.size,
		GranuleShift: g,
		MaxRecord:    uint32(p.size/2 - hdrSize),
		MaxConsumers: mc,
		Mode:         p.mode,
		UserMaxPrio:  PrioNormal,
		MaxPerFile:   16,
	}
	if p.mode == ModeOverwrite {
		l.Features |= featOverwrite
	}
	if p.claimTimeout != 0 {
		l.Features |= featLease
		l.ClaimTimeoutMs = p.claimTimeout
	}
	l.ConsSize = roundPage(consHdrSize + uint64(mc)*slotSize)
	l.SlotInfoOffset = roundPage(metaSize)
	l.StampsOffset = l.SlotInfoOffset + roundPage(uint64(mc)*slotInfoSize)
	l.DataOffset = l.StampsOffset + roundPage(p.size>>g*8)
	l.ROSize = l.DataOffset + 2*p.size
	if p.watermarks != nil {
		copy(l.Watermark[:], p.watermarks[:])
	} else {
		l.Watermark = [4]uint64{p.size / 2, p.size / 8, 0}
	}
	copy(l.Name[:], "gotest")
	return l
}

// newTestRing is hostring_init + mpr_ring_init.
func newTestRing(t testing.TB, p ringParams) *testRing {
	t.Helper()
	h := &testRing{l: testLayout(p)}
	h.cons = alignedBytes(h.l.ConsSize)
	h.ro = alignedBytes(h.l.ROSize)
	copy(h.ro, h.l.bytes())
	if err := checkLayout(&h.l); err != nil {
		t.Fatalf("test layout: %v", err)
	}
	h.v = newView(&h.l, h.cons, h.ro)
	h.leases = make([]lease, h.l.MaxConsumers)
	for i := range h.leases {
		h.leases[i] = lease{seen: slotIdle, head: slotIdle}
		atomic.StoreUint64(h.v.slotWord(uint32(i), slotStart), slotIdle)
		atomic.StoreUint64(h.v.slotInfoWord(uint32(i), slotInfoRevoked), slotIdle)
	}
	atomic.StoreUint64(word(h.ro, metaProdPos), p.initialPos)
	atomic.StoreUint64(word(h.ro, metaReclaimPos), p.initialPos)
	atomic.StoreUint64(h.v.head(), p.initialPos)
	h.nowMs = func() uint64 { return 0 }
	return h
}

// ring opens the package's Ring over the test ring's memory.
func (h *testRing) ring(t testing.TB) *Ring {
	t.Helper()
	r, err := openMemory(h.cons, h.ro, &h.l)
	if err != nil {
		t.Fatalf("openMemory: %v", err)
	}
	return r
}

func (h *testRing) prodPos() uint64    { return atomic.LoadUint64(word(h.ro, metaProdPos)) }
func (h *testRing) reclaimPos() uint64 { return atomic.LoadUint64(word(h.ro, metaReclaimPos)) }

// put writes b at data offset off (< data size, 8-aligned) into both
// copies, one atomic word at a time, zero-padded to a word. Atomic because
// walkers read headers speculatively (one atomic word) at positions whose
// space a producer may be reusing: the protocol lets them, and discards
// what they read when their claim fails; the race detector would report
// such a read against a plain write.
func (h *testRing) put(off uint64, b []byte) {
	ds, d := h.l.DataSize, h.l.DataOffset
	for i := 0; i < len(b); i += 8 {
		var w [8]byte
		copy(w[:], b[i:])
		x := *(*uint64)(unsafe.Pointer(&w[0]))
		o := off + uint64(i)
		atomic.StoreUint64(word(h.ro, d+o), x)
		if o < ds {
			atomic.StoreUint64(word(h.ro, d+o+ds), x)
		} else {
			atomic.StoreUint64(word(h.ro, d+o-ds), x)
		}
	}
}

// Failures of reserve (MPR_FAIL_*).
const (
	failFull = iota + 1
	failPriority
	failContention
	failBusy
)

const reserveTries = 128

// heldCapped is mpr_held_capped: what a consumer says it held, capped by
// the granules its span from s to bound (the head) can hold.
func (h *testRing) heldCapped(held, s, bound uint64) uint64 {
	if !before(s, bound) {
		return 0
	}
	if max := (bound - s) >> h.v.gshift; held > max {
		return max
	}
	return held
}

// claimsFloor is mpr_claims_floor: the oldest claim still held, revoking
// (one compare-and-swap setting the revoked bit in the start) a claim that
// stood still past the timeout with half the ring behind it.
func (h *testRing) claimsFloor(r0, p, bound, lo uint64) uint64 {
	v := h.v
	now := h.nowMs()
	holds := func(s uint64) bool {
		return s&(slotIdle|slotRevoked) == 0 && v.aligned(s) && between(r0, s, p)
	}
	for i := uint32(0); i < v.maxConsumers; i++ {
		start := v.slotWord(i, slotStart)
		ls := &h.leases[i]
		// [R4] pairs with [C3]. user-writable: clamped to [r0, p].
		s := atomic.LoadUint64(start)
		if !holds(s) {
			ls.seen = slotIdle
			continue
		}
		if s != ls.seen {
			// A new claim only when not behind the last head.
			if ls.head == slotIdle || !before(s, ls.head) {
				ls.sinceMs = now
			}
			ls.seen, ls.head = s, bound
		}
		if v.claimTimeout != 0 && now-ls.sinceMs >= uint64(v.claimTimeout) &&
			p-s > v.dataSize/2 && before(s, bound) {
			// [R6] pairs with [C4]: before [R5] frees the space.
			if atomic.CompareAndSwapUint64(start, s, s|slotRevoked) {
				atomic.StoreUint64(v.slotInfoWord(i, slotInfoRevoked), s)
				rv := v.slotInfoWord(i, slotInfoRevocations)
				atomic.StoreUint64(rv, atomic.LoadUint64(rv)+1)
				atomic.AddUint64(&h.revokedClaims, 1)
				atomic.AddUint64(&h.revokedRecords,
					h.heldCapped(atomic.LoadUint64(v.slotWord(i, slotHeldRecords)), s, bound))
				ls.seen = slotIdle
				continue
			}
			// The consumer moved first: honour what it holds now.
			if s = atomic.LoadUint64(start); !holds(s) {
				continue
			}
		}
		if before(s, lo) {
			lo = s
		}
	}
	return lo
}

// reclaim is mpr_reclaim; the caller holds reclaimLock.
// reclaimLocked is mpr_reclaim: true when its freeing stopped at the walk
// bound short of the oldest claim.
func (h *testRing) reclaimLocked() bool {
	v := h.v
	s := v.positions()
	r0, hd, p := s.reclaim, s.head, s.prod
	headOK := v.headSane(s)
	b := p
	if headOK {
		b = hd
	}
	lo := h.claimsFloor(r0, p, b, b)
	to := lo
	var r rec
	if headOK && hd != lo && hd != p && v.recordAt(hd, p, &r) == recNone {
		to = hd
	}
	var fix uint64
	e, freed := r0, r0
	walked := 0
	for ; e != to && walked < 2048; walked++ {
		st := v.recordAt(e, p, &r)
		if st != recCommitted && st != recDiscarded {
			break
		}
		if r.size > to-e {
			if headOK && to == hd {
				fix = e + r.size
			}
			break
		}
		e += r.size
		if !before(lo, e) {
			freed = e
		}
	}
	if freed != r0 {
		// [R5] pairs with [P4].
		atomic.StoreUint64(word(h.ro, metaReclaimPos), freed)
	}
	if !headOK {
		fix = p
	}
	if fix != 0 && atomic.CompareAndSwapUint64(v.head(), hd, fix) {
		atomic.AddUint64(&h.repairs, 1)
	}
	return walked == 2048 && e == freed && freed != lo
}

func (h *testRing) reclaim() {
	if atomic.CompareAndSwapInt32(&h.reclaimLock, 0, 1) {
		h.reclaimLocked()
		atomic.StoreInt32(&h.reclaimLock, 0)
	}
}

// overwriteLocked is mpr_overwrite: true when it stopped at its walk
// bound short of want, or lost the head to a consumer.
func (h *testRing) overwriteLocked(want uint64) bool {
	v := h.v
	s := v.positions()
	if !v.headSane(s) {
		return false
	}
	hd, p := s.head, s.prod
	e := hd
	var records uint64
	var r rec
	walked, bounded := 0, false
	for ; before(e, want) && e != p; walked++ {
		if walked == 4096 {
			bounded = true
			break
		}
		st := v.recordAt(e, p, &r)
		if st != recCommitted && st != recDiscarded {
			break
		}
		if st == recCommitted {
			records++
		}
		e += r.size
	}
	if e != hd && !atomic.CompareAndSwapUint64(v.head(), hd, e) {
		// A consumer moved the head: a lost race if short of want.
		return before(atomic.LoadUint64(v.head()), want)
	}
	if records != 0 {
		atomic.AddUint64(word(h.ro, metaLostOverwritten), records)
		atomic.AddUint64(&h.overwrittenRecords, records)
	}
	return bounded
}

// reserve is mpr_reserve.
func (h *testRing) reserve(need, wm uint64) (uint64, int) {
	v := h.v
	limit := v.dataSize - wm
	rounds := 0
	stuck, busy := false, false
	for tries := 0; tries < reserveTries; tries++ {
		// [P4] pairs with [R5]; read before p so that r <= p.
		r := atomic.LoadUint64(word(h.ro, metaReclaimPos))
		p := atomic.LoadUint64(word(h.ro, metaProdPos))
		if p+need-r > limit {
			if rounds == 2 {
				// mpr_overwrite_fail: full only when its own
				// last eviction left no room.
				if v.mode == ModeOverwrite {
					if stuck {
						return 0, failFull
					}
					if busy {
						return 0, failBusy
					}
					return 0, failContention
				}
				if p+need-r > v.dataSize {
					return 0, failFull
				}
				return 0, failPriority
			}
			rounds++
			busy = false
			if atomic.CompareAndSwapInt32(&h.reclaimLock, 0, 1) {
				want := p + need - limit
				more := v.mode == ModeOverwrite && h.overwriteLocked(want)
				more = h.reclaimLocked() || more
				stuck = v.mode == ModeOverwrite && !more &&
					before(atomic.LoadUint64(word(h.ro, metaReclaimPos)), want)
				atomic.StoreInt32(&h.reclaimLock, 0)
			} else {
				busy = v.mode == ModeOverwrite
			}
			tries--
			continue
		}
		if atomic.CompareAndSwapUint64(word(h.ro, metaProdPos), p, p+need) {
			return p, 0
		}
	}
	return 0, failContention
}

// writeRecord writes the header (one atomic word: walkers read it while
// racing) and the payload of the record at pos.
func (h *testRing) writeRecord(pos uint64, payload []byte, prio uint8) {
	v := h.v
	off := pos & v.dataMask
	var hb [8]byte
	*(*uint64)(unsafe.Pointer(&hb[0])) = joinHeader(uint32(len(payload)), prio, 0)
	h.put(off, hb[:])
	h.put(off+hdrSize, payload)
}

// publish is mpr_publish: [P2] pairs with [C1] and [R2].
func (h *testRing) publish(pos, state uint64) {
	atomic.StoreUint64(h.v.stamp(pos), pos|state)
}

// produce writes one record in class prio: true, or false when dropped
// (counted, and added to the ring's lost_dropped total as the module does).
func (h *testRing) produce(payload []byte, prio uint8) bool {
	if uint32(len(payload)) > h.v.maxRecord {
		h.drop(DropTooBig)
		return false
	}
	wm := h.l.Watermark[prio]
	if h.v.mode == ModeOverwrite {
		wm = 0
	}
	pos, fail := h.reserve(h.v.recSize(uint32(len(payload))), wm)
	switch fail {
	case failFull:
		h.drop(DropFull)
		return false
	case failPriority:
		h.drop(DropPriority)
		return false
	case failContention, failBusy:
		h.drop(DropContention)
		return false
	}
	h.writeRecord(pos, payload, prio)
	h.publish(pos, stampCommitted)
	atomic.AddUint64(&h.produced, 1)
	return true
}

// discard reserves a record and discards it.
func (h *testRing) discard(n int) bool {
	pos, fail := h.reserve(h.v.recSize(uint32(n)), 0)
	if fail != 0 {
		return false
	}
	h.writeRecord(pos, make([]byte, n), 0)
	h.publish(pos, stampDiscarded)
	return true
}

func (h *testRing) drop(reason int) {
	atomic.AddUint64(&h.dropped[reason], 1)
	atomic.AddUint64(word(h.ro, metaLostDropped), 1)
}

func (h *testRing) droppedTotal() uint64 {
	var n uint64
	for i := range h.dropped {
		n += atomic.LoadUint64(&h.dropped[i])
	}
	return n
}

// setHead and setProd scribble on positions, as a corrupt co-tenant would.
func (h *testRing) setHead(x uint64) { atomic.StoreUint64(h.v.head(), x) }
