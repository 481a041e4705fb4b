// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
)

func newConsumer(t *testing.T, r *Ring) *Consumer {
	t.Helper()
	c, err := r.NewConsumer()
	if err != nil {
		t.Fatalf("NewConsumer: %v", err)
	}
	return c
}

func payload(i, n int) []byte {
	b := make([]byte, n)
	for j := range b {
		b[j] = byte(i*31 + j)
	}
	return b
}

func mustProduce(t *testing.T, h *testRing, b []byte, prio uint8) {
	t.Helper()
	if !h.produce(b, prio) {
		t.Fatalf("produce %d bytes: dropped (prod %d reclaim %d)", len(b), h.prodPos(), h.reclaimPos())
	}
}

func TestReadCommitInOrder(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	c := newConsumer(t, r)
	for i := 0; i < 5; i++ {
		mustProduce(t, h, payload(i, 10+i), PrioCritical)
	}
	for i := 0; i < 5; i++ {
		rec, err := c.Read()
		if err != nil {
			t.Fatalf("Read %d: %v", i, err)
		}
		if !bytes.Equal(rec.Data, payload(i, 10+i)) || rec.Prio != PrioCritical || rec.Flags != 0 {
			t.Fatalf("record %d: got %x prio %d flags %d", i, rec.Data, rec.Prio, rec.Flags)
		}
		if cap(rec.Data) != len(rec.Data) {
			t.Fatalf("record %d: capacity %d past its length %d: append would write the ring", i, cap(rec.Data), len(rec.Data))
		}
		if err := c.Commit(); err != nil {
			t.Fatalf("Commit: %v", err)
		}
	}
	if _, err := c.Read(); !errors.Is(err, ErrNoRecord) || !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("Read on an empty ring: %v, want ErrNoRecord (EAGAIN)", err)
	}
	if got := atomic.LoadUint64(h.v.slotWord(0, slotConsumedRecords)); got != 5 {
		t.Fatalf("slot consumed_records %d, want 5", got)
	}
	if got := atomic.LoadUint64(h.v.slotWord(0, slotStart)); got != slotIdle {
		t.Fatalf("slot start %#x after commit, want idle", got)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

// A consumer holds its claim until it commits: reclaim stops at its start.
func TestClaimHoldsSpaceUntilCommit(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	c := newConsumer(t, h.ring(t))
	start := h.prodPos()
	mustProduce(t, h, payload(1, 100), PrioCritical)
	mustProduce(t, h, payload(2, 100), PrioCritical)
	if _, err := c.Read(); err != nil {
		t.Fatal(err)
	}
	if got := atomic.LoadUint64(c.start); got != start {
		t.Fatalf("slot start %#x while holding, want the claim's start %#x", got, start)
	}
	if got := atomic.LoadUint64(h.v.slotWord(0, slotHeldRecords)); got != 1 {
		t.Fatalf("held_records %d, want 1", got)
	}
	h.reclaim()
	if h.reclaimPos() != start {
		t.Fatalf("reclaim passed a held claim: %#x, start %#x", h.reclaimPos(), start)
	}
	if err := c.Commit(); err != nil {
		t.Fatal(err)
	}
	h.reclaim()
	if want := start + h.v.recSize(100); h.reclaimPos() != want {
		t.Fatalf("reclaim after commit %#x, want %#x (up to the head)", h.reclaimPos(), want)
	}
}

func TestBatchLimits(t *testing.T) {
	h := newTestRing(t, ringParams{size: 8192})
	c := newConsumer(t, h.ring(t))
	for i := 0; i < 10; i++ {
		mustProduce(t, h, payload(i, 100), PrioCritical)
	}
	b, err := c.ReadBatch(4, 0)
	if err != nil || b.Records != 4 || b.Bytes != 400 {
		t.Fatalf("ReadBatch(4): %d records %d bytes, %v", b.Records, b.Bytes, err)
	}
	i := 0
	for rec, ok := b.Next(); ok; rec, ok = b.Next() {
		if !bytes.Equal(rec.Data, payload(i, 100)) {
			t.Fatalf("batch record %d wrong", i)
		}
		i++
	}
	if i != 4 {
		t.Fatalf("batch delivered %d records, want 4", i)
	}
	// A second claim before the commit: the slot's start stays the first.
	first := atomic.LoadUint64(c.start)
	b, err = c.ReadBatch(100, 250)
	if err != nil || b.Records != 2 || b.Bytes != 200 {
		t.Fatalf("ReadBatch(100, 250 bytes): %d records %d bytes, %v", b.Records, b.Bytes, err)
	}
	if atomic.LoadUint64(c.start) != first {
		t.Fatal("a second claim moved the held start")
	}
	// The first record of a batch is claimed whatever its size.
	b, err = c.ReadBatch(100, 1)
	if err != nil || b.Records != 1 {
		t.Fatalf("ReadBatch(100, 1 byte): %d records, %v", b.Records, err)
	}
	if err := c.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := atomic.LoadUint64(h.v.slotWord(0, slotConsumedRecords)); got != 7 {
		t.Fatalf("consumed_records %d, want 7", got)
	}
	if _, err := c.ReadBatch(0, 0); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("ReadBatch(0): %v, want EINVAL", err)
	}
}

func TestDiscardedRecordsSkipped(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	c := newConsumer(t, h.ring(t))
	h.discard(40)
	mustProduce(t, h, payload(7, 33), PrioNormal)
	h.discard(8)
	rec, err := c.Peek()
	if err != nil || !bytes.Equal(rec.Data, payload(7, 33)) {
		t.Fatalf("Peek past a discarded record: %v", err)
	}
	rec, err = c.Read()
	if err != nil || !bytes.Equal(rec.Data, payload(7, 33)) {
		t.Fatalf("Read past a discarded record: %v", err)
	}
	c.Commit()
	// Only a discarded record left: nothing to read, and the head moves
	// past it (no one needs to walk it again).
	if _, err := c.Read(); !errors.Is(err, ErrNoRecord) {
		t.Fatalf("Read with only a discard left: %v", err)
	}
	if atomic.LoadUint64(h.v.head()) != h.prodPos() {
		t.Fatal("the head did not move over the discarded record")
	}
}

// A claim's work is bounded as mpr_claim bounds it: each attempt walks at
// most maxRecs+claimWalk records (discarded ones) before its compare-and-
// swap, and it gives up after claimTries attempts (ErrBusy), with the head
// moved past what it walked. A run of discards longer than that takes a
// second call; the record after them is then read.
func TestClaimWalkBounded(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4 << 20})
	c := newConsumer(t, h.ring(t))
	h0 := h.prodPos()
	const perTry = 1 + claimWalk // maxRecs of Read is 1
	for i := 0; i < claimTries*perTry+5; i++ {
		if !h.discard(0) {
			t.Fatalf("discard %d refused", i)
		}
	}
	mustProduce(t, h, payload(3, 40), PrioNormal)
	if _, err := c.Read(); !errors.Is(err, ErrBusy) {
		t.Fatalf("Read over %d discarded records: %v, want ErrBusy after %d attempts of %d records",
			claimTries*perTry+5, err, claimTries, perTry)
	}
	if got, want := atomic.LoadUint64(h.v.head())-h0, uint64(claimTries*perTry*8); got != want {
		t.Fatalf("the head moved %d bytes over discards, want %d (%d attempts of %d records)",
			got, want, claimTries, perTry)
	}
	rec, err := c.Read()
	if err != nil || !bytes.Equal(rec.Data, payload(3, 40)) {
		t.Fatalf("Read after the discards: %v", err)
	}
	if err := c.Commit(); err != nil {
		t.Fatal(err)
	}

	// Committed records count in the walk too: a batch of up to 64 that
	// meets 30 records, then 1,100 discards, stops after 64+1024 records
	// in all (30 taken, 1,058 discards walked), and the next batch takes
	// the 40 records after the rest of the discards.
	for i := 0; i < 30; i++ {
		mustProduce(t, h, payload(i, 8), PrioNormal)
	}
	for i := 0; i < 1100; i++ {
		h.discard(0)
	}
	for i := 0; i < 40; i++ {
		mustProduce(t, h, payload(100+i, 8), PrioNormal)
	}
	h1 := atomic.LoadUint64(h.v.head())
	b, err := c.ReadBatch(64, 0)
	if err != nil || b.Records != 30 {
		t.Fatalf("ReadBatch(64) over 30 records and 1,100 discards: %d records, %v; want 30", b.Records, err)
	}
	if got, want := atomic.LoadUint64(h.v.head())-h1, uint64(30*16+(64+claimWalk-30)*8); got != want {
		t.Fatalf("the batch moved the head %d bytes, want %d (64+%d records walked)", got, want, claimWalk)
	}
	c.Commit()
	if b, err = c.ReadBatch(64, 0); err != nil || b.Records != 40 {
		t.Fatalf("the next ReadBatch(64): %d records, %v; want the 40 after the discards", b.Records, err)
	}
	for i := 0; i < 40; i++ {
		if rec, ok := b.Next(); !ok || !bytes.Equal(rec.Data, payload(100+i, 8)) {
			t.Fatalf("record %d of the second batch is not the one produced", i)
		}
	}
	c.Commit()
}

func TestConsumeStopsAndResumes(t *testing.T) {
	h := newTestRing(t, ringParams{size: 8192})
	c := newConsumer(t, h.ring(t))
	for i := 0; i < 6; i++ {
		mustProduce(t, h, payload(i, 16), PrioCritical)
	}
	var seen []int
	stop := errors.New("stop")
	n, err := c.Consume(10, func(rec Record) error {
		seen = append(seen, int(rec.Data[0]))
		if len(seen) == 2 {
			return stop
		}
		return nil
	})
	if n != 2 || err != stop {
		t.Fatalf("Consume stopped by fn: %d, %v", n, err)
	}
	if !c.holding {
		t.Fatal("the rest of the claim was released")
	}
	// The rest comes first, through Consume.
	n, err = c.Consume(1, func(rec Record) error {
		seen = append(seen, int(rec.Data[0]))
		return nil
	})
	if n != 1 || err != nil {
		t.Fatalf("Consume of the next one: %d, %v", n, err)
	}
	// And through Read; then Consume must not commit Read's record under
	// its reader (TestReadAfterStoppedConsumeThenConsume): Read the rest.
	for i := 3; i < 6; i++ {
		rec, err := c.Read()
		if err != nil || !bytes.Equal(rec.Data, payload(i, 16)) {
			t.Fatalf("Read %d after a stopped Consume: %v", i, err)
		}
		seen = append(seen, int(rec.Data[0]))
	}
	if err := c.Commit(); err != nil || c.holding {
		t.Fatalf("Commit: %v", err)
	}
	want := []int{0, 31, 2 * 31, 3 * 31, 4 * 31, 5 * 31}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("Consume saw %v, want %v", seen, want)
	}
	n, err = c.Consume(10, func(Record) error { t.Fatal("called on an empty ring"); return nil })
	if n != 0 || err != nil {
		t.Fatalf("Consume on an empty ring: %d, %v", n, err)
	}
}

// Records that wrap the end of the data area are contiguous (the double
// mapping), and positions wrap past 2^64.
func TestWrapAroundAndPositionWrap(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096, initialPos: 1<<64 - 3000})
	c := newConsumer(t, h.ring(t))
	for i := 0; i < 200; i++ {
		p := payload(i, 100+i%300)
		mustProduce(t, h, p, PrioCritical)
		rec, err := c.Read()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !bytes.Equal(rec.Data, p) {
			t.Fatalf("record %d at %#x torn", i, h.prodPos())
		}
		if err := c.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if h.prodPos() > 1<<20 {
		t.Fatalf("positions did not wrap past 2^64: %#x", h.prodPos())
	}
}

// Each loss is reported to exactly one consumer.
func TestLostExactlyOnce(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	a, b := newConsumer(t, r), newConsumer(t, r)
	for h.produce(make([]byte, 500), PrioCritical) {
	}
	h.produce(make([]byte, 500), PrioCritical)
	if h.droppedTotal() != 2 {
		t.Fatalf("dropped %d, want 2", h.droppedTotal())
	}
	la := a.Lost()
	lb := b.Lost()
	if la.Dropped+lb.Dropped != 2 || la.Dropped != 2 {
		t.Fatalf("losses reported %d + %d, want 2 + 0", la.Dropped, lb.Dropped)
	}
	if l := a.Lost(); l != (Lost{}) {
		t.Fatalf("losses reported twice: %+v", l)
	}
	// Garbage in the shared counter: taken past the total reports none.
	atomic.StoreUint64(word(h.cons, consLostDroppedTaken), 1<<40)
	h.drop(DropFull)
	if l := b.Lost(); l.Dropped != 0 {
		t.Fatalf("a corrupt taken counter reported %d losses", l.Dropped)
	}
}

func TestOverwriteLossesReported(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096, mode: ModeOverwrite})
	c := newConsumer(t, h.ring(t))
	for i := 0; i < 100; i++ {
		p := make([]byte, 200)
		p[0], p[1] = byte(i), byte(i>>8)
		mustProduce(t, h, p, PrioLow)
	}
	if h.overwrittenRecords == 0 {
		t.Fatal("nothing overwritten")
	}
	got, last := 0, -1
	for {
		rec, err := c.Read()
		if errors.Is(err, ErrNoRecord) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		i := int(rec.Data[0]) | int(rec.Data[1])<<8
		if i <= last {
			t.Fatalf("record %d after %d", i, last)
		}
		last = i
		got++
		c.Commit()
	}
	l := c.Lost()
	if last != 99 || l.Overwritten != h.overwrittenRecords || uint64(got)+l.Overwritten != 100 {
		t.Fatalf("read %d (last %d), overwritten %d (ring says %d): want the newest, 100 in all",
			got, last, l.Overwritten, h.overwrittenRecords)
	}
}

// A claim that stands still past the timeout, with half the ring behind
// it, is revoked: Validate and Commit say ErrStale (ESTALE), claiming more
// on it is refused, the records count as lost (revoked), and producers get
// the space back.
func TestRevokedClaimIsStale(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096, claimTimeout: 100})
	var now uint64
	h.nowMs = func() uint64 { return now }
	c := newConsumer(t, h.ring(t))
	for i := 0; i < 3; i++ {
		mustProduce(t, h, payload(i, 64), PrioCritical)
	}
	b, err := c.ReadBatch(3, 0)
	if err != nil || b.Records != 3 {
		t.Fatalf("ReadBatch: %v", err)
	}
	start := atomic.LoadUint64(c.start)
	// Half the ring behind the claim: it is what holds producers back.
	for i := 0; i < 30; i++ {
		mustProduce(t, h, payload(i, 64), PrioCritical)
	}
	h.reclaim() // the lease starts
	now = 99
	h.reclaim()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate before the timeout: %v", err)
	}
	now = 100
	h.reclaim()
	if h.revokedClaims != 1 || h.revokedRecords != 3 {
		t.Fatalf("revoked %d claims %d records, want 1 and 3", h.revokedClaims, h.revokedRecords)
	}
	if atomic.LoadUint64(c.start) != start|slotRevoked {
		t.Fatalf("slot start %#x, want the revoked bit on %#x", atomic.LoadUint64(c.start), start)
	}
	if h.reclaimPos() == start {
		t.Fatal("a revoked claim still holds space")
	}
	err = c.Validate()
	if !errors.Is(err, ErrStale) || !errors.Is(err, syscall.ESTALE) {
		t.Fatalf("Validate after revocation: %v, want ErrStale", err)
	}
	if !c.holding {
		t.Fatal("Validate committed")
	}
	// Claims on a revoked claim would be unprotected: refused, by every
	// way of reading, and nothing is claimed.
	mustProduce(t, h, payload(99, 64), PrioCritical)
	head := atomic.LoadUint64(h.v.head())
	if _, err := c.Read(); !errors.Is(err, ErrStale) {
		t.Fatalf("Read on a revoked claim: %v, want ErrStale", err)
	}
	if _, err := c.ReadBatch(8, 0); !errors.Is(err, ErrStale) {
		t.Fatalf("ReadBatch on a revoked claim: %v, want ErrStale", err)
	}
	if n, err := c.Consume(8, func(Record) error { return nil }); n != 0 || !errors.Is(err, ErrStale) {
		t.Fatalf("Consume on a revoked claim: %d, %v, want 0 and ErrStale", n, err)
	}
	if atomic.LoadUint64(h.v.head()) != head {
		t.Fatal("a read on a revoked claim moved the head")
	}
	err = c.Commit()
	if !errors.Is(err, ErrStale) || !errors.Is(err, syscall.ESTALE) {
		t.Fatalf("Commit after revocation: %v, want ErrStale", err)
	}
	if got := atomic.LoadUint64(h.v.slotWord(0, slotConsumedRecords)); got != 0 {
		t.Fatalf("revoked records counted as consumed: %d", got)
	}
	if l := c.Lost(); l.Revoked != 3 {
		t.Fatalf("Lost().Revoked %d, want 3", l.Revoked)
	}
	// The next claim is a new lease.
	if _, err := c.Read(); err != nil {
		t.Fatal(err)
	}
	if err := c.Commit(); err != nil {
		t.Fatalf("a fresh claim after a revoked one: %v", err)
	}
}

// A claim past the timeout is left alone while the ring is not under
// pressure (less than half of it behind the claim), and without leases
// always.
func TestNoRevocationWithoutPressureOrLease(t *testing.T) {
	for _, timeout := range []uint32{100, 0} {
		h := newTestRing(t, ringParams{size: 4096, claimTimeout: timeout})
		var now uint64
		h.nowMs = func() uint64 { return now }
		c := newConsumer(t, h.ring(t))
		for i := 0; i < 3; i++ {
			mustProduce(t, h, payload(i, 64), PrioCritical)
		}
		if _, err := c.ReadBatch(3, 0); err != nil {
			t.Fatal(err)
		}
		if timeout == 0 {
			for i := 0; i < 30; i++ {
				mustProduce(t, h, payload(i, 64), PrioCritical)
			}
		}
		h.reclaim()
		now = 1000
		h.reclaim()
		if h.revokedClaims != 0 {
			t.Fatalf("timeout %d: a claim revoked", timeout)
		}
		if err := c.Commit(); err != nil {
			t.Fatalf("timeout %d: Commit %v", timeout, err)
		}
	}
}

// The revocation word in the slot info is for the record: only the slot's
// own start decides.
func TestSlotInfoRevokedIsInformational(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096, claimTimeout: 100})
	c := newConsumer(t, h.ring(t))
	start := h.prodPos()
	mustProduce(t, h, payload(1, 8), PrioCritical)
	c.Read()
	atomic.StoreUint64(h.v.slotInfoWord(0, slotInfoRevoked), start)
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if err := c.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

// A corrupt head is an error (EBADMSG), not a crash or an endless loop,
// for every way of reading; the producer side repairs it.
func TestCorruptHead(t *testing.T) {
	for _, bad := range []uint64{3, 1 << 63, 8 << 20} {
		h := newTestRing(t, ringParams{size: 4096, initialPos: 1 << 20})
		c := newConsumer(t, h.ring(t))
		mustProduce(t, h, payload(1, 8), PrioCritical)
		h.setHead(h.prodPos() + bad)
		if _, err := c.Read(); !errors.Is(err, ErrCorrupt) || !errors.Is(err, syscall.EBADMSG) {
			t.Fatalf("head +%#x: Read %v, want ErrCorrupt", bad, err)
		}
		if _, err := c.ReadBatch(8, 0); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("head +%#x: ReadBatch %v", bad, err)
		}
		if _, err := c.Consume(8, func(Record) error { return nil }); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("head +%#x: Consume %v", bad, err)
		}
		if _, err := c.Peek(); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("head +%#x: Peek %v", bad, err)
		}
		if c.holding || atomic.LoadUint64(c.start) != slotIdle {
			t.Fatal("a failed claim left the slot holding")
		}
		if h.ring(t).AvailableBytes() != 0 {
			t.Fatal("AvailableBytes with a corrupt head")
		}
		h.reclaim()
		if h.repairs != 1 {
			t.Fatalf("head +%#x: not repaired", bad)
		}
		if _, err := c.Read(); !errors.Is(err, ErrNoRecord) {
			t.Fatalf("after the repair: %v", err)
		}
	}
}

// A head that turns corrupt between two attempts of one claim (the first
// lost its compare-and-swap to a co-tenant's write) leaves the slot idle,
// as mpr_claim_from() does: the first attempt's announce would otherwise
// hold reclaim at a start no claim of this consumer's covers.
func TestCorruptHeadAfterALostAttemptLeavesTheSlotIdle(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096, initialPos: 1 << 20})
	c := newConsumer(t, h.ring(t))
	mustProduce(t, h, payload(1, 8), PrioCritical)
	mustProduce(t, h, payload(2, 8), PrioCritical)
	attempts := 0
	testHookClaimCAS = func() {
		if attempts++; attempts == 1 {
			h.setHead(h.prodPos() + 3) // the co-tenant's write
		}
	}
	defer func() { testHookClaimCAS = nil }()
	if _, err := c.Read(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Read: %v, want ErrCorrupt", err)
	}
	if attempts != 1 {
		t.Fatalf("%d attempts reached the compare-and-swap, want 1", attempts)
	}
	if s := atomic.LoadUint64(c.start); c.holding || s != slotIdle {
		t.Fatalf("the slot announces %#x after the failed claim (holding %v)", s, c.holding)
	}
	// Repaired, the ring's space comes back: nothing of this consumer's
	// holds reclaim.
	h.setHead(h.prodPos())
	h.reclaim()
	if r, p := h.reclaimPos(), h.prodPos(); r != p {
		t.Fatalf("reclaim stopped at %#x, want prod_pos %#x", r, p)
	}
}

// A stamped record whose header does not fit is corruption too.
func TestCorruptHeader(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	c := newConsumer(t, h.ring(t))
	pos := h.prodPos()
	mustProduce(t, h, payload(1, 8), PrioCritical)
	for _, n := range []uint64{4096, 1 << 31, 100} {
		atomic.StoreUint64(word(h.ro, h.v.data+pos&h.v.dataMask), joinHeader(uint32(n), 0, 0))
		if _, err := c.Read(); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("len %d: %v, want ErrCorrupt", n, err)
		}
		if _, err := c.Peek(); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("len %d: Peek %v", n, err)
		}
	}
}

// A stamp from an earlier lap or for another position is no record.
func TestStaleStampIsNoRecord(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	c := newConsumer(t, h.ring(t))
	pos := h.prodPos()
	h.writeRecord(pos, payload(1, 8), 0)
	atomic.StoreUint64(word(h.ro, metaProdPos), pos+h.v.recSize(8))
	for _, st := range []uint64{(pos - 4096) | stampCommitted, (pos + 8) | stampCommitted, pos | 4, 0} {
		atomic.StoreUint64(h.v.stamp(pos), st)
		if _, err := c.Read(); !errors.Is(err, ErrNoRecord) {
			t.Fatalf("stamp %#x: %v, want ErrNoRecord", st, err)
		}
	}
	h.publish(pos, stampCommitted)
	if _, err := c.Read(); err != nil {
		t.Fatalf("once stamped: %v", err)
	}
}

func TestCloseOrder(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	c := newConsumer(t, r)
	mustProduce(t, h, payload(1, 8), PrioCritical)
	c.Read()
	if err := r.Close(); !errors.Is(err, syscall.EBUSY) {
		t.Fatalf("Ring.Close with an open consumer: %v, want EBUSY", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if atomic.LoadUint64(c.start) != slotIdle {
		t.Fatal("Close did not commit")
	}
	if _, err := c.Read(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.NewConsumer(); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewConsumer after Close: %v", err)
	}
}

func TestSlotsRunOut(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096, maxConsumers: 2})
	r := h.ring(t)
	newConsumer(t, r)
	newConsumer(t, r)
	if _, err := r.NewConsumer(); !errors.Is(err, syscall.EUSERS) {
		t.Fatalf("third consumer of two slots: %v, want EUSERS", err)
	}
}

func TestMemoryRingHasNoFile(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	c := newConsumer(t, r)
	if _, err := r.Stats(); !errors.Is(err, syscall.EBADF) {
		t.Fatalf("Stats: %v", err)
	}
	if _, err := r.Write([]byte("x")); !errors.Is(err, syscall.EBADF) {
		t.Fatalf("Write: %v", err)
	}
	if err := c.Wait(context.Background()); !errors.Is(err, syscall.EBADF) {
		t.Fatalf("Wait: %v", err)
	}
}

func TestPath(t *testing.T) {
	for in, want := range map[string]string{
		"":             "/dev/mpmcring",
		"default":      "/dev/mpmcring",
		"events":       "/dev/mpmcring-events",
		"/tmp/x":       "/tmp/x",
		"./rel/device": "./rel/device",
	} {
		if got := Path(in); got != want {
			t.Errorf("Path(%q) = %q, want %q", in, got, want)
		}
	}
}

// A panic in Consume's fn, recovered by the caller, leaves the consumer as
// an error from fn would (the record fn panicked on counts as consumed,
// the rest stays held): Consume and Read go on from the next record, and
// nothing is lost or delivered twice.
func TestConsumeAfterRecoveredPanic(t *testing.T) {
	h := newTestRing(t, ringParams{size: 8192})
	c := newConsumer(t, h.ring(t))
	for i := 0; i < 6; i++ {
		mustProduce(t, h, payload(i, 16), PrioCritical)
	}
	var seen []int
	consumePanicking := func(at int) (panicked any) {
		defer func() { panicked = recover() }()
		c.Consume(10, func(rec Record) error {
			seen = append(seen, int(rec.Data[0]))
			if len(seen) == at {
				panic("fn panicked")
			}
			return nil
		})
		return nil
	}
	if p := consumePanicking(2); p != "fn panicked" {
		t.Fatalf("Consume's fn panic came back as %v", p)
	}
	if c.inConsume {
		t.Fatal("the consumer still thinks it is inside Consume after fn's panic")
	}
	if err := c.Commit(); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("Commit with the rest of the panicked claim undelivered: %v, want EINVAL", err)
	}
	if p := consumePanicking(3); p != "fn panicked" {
		t.Fatalf("the second Consume's fn panic came back as %v", p)
	}
	for i := 3; i < 6; i++ {
		rec, err := c.Read()
		if err != nil {
			t.Fatalf("Read %d after recovered panics: %v", i, err)
		}
		seen = append(seen, int(rec.Data[0]))
	}
	if err := c.Commit(); err != nil || c.holding {
		t.Fatalf("Commit after recovered panics: %v (holding %v)", err, c.holding)
	}
	want := []int{0, 31, 2 * 31, 3 * 31, 4 * 31, 5 * 31}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("delivered %v across recovered panics, want %v", seen, want)
	}
	if _, err := c.Read(); err != ErrNoRecord {
		t.Fatalf("Read on the drained ring: %v, want ErrNoRecord", err)
	}
}
