// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

// Claims reclaim passed without revoking them ([M:claim-passed],
// [M:commit-passed], [C5]). Every consumer of a ring can write the whole
// consumer area: a co-tenant can write the head back over space reclaim
// freed, or set another consumer's start idle or forward, and reclaim then
// frees what that consumer reads without marking anything revoked. The
// consumer must not take such space as a claim, and must hear at Validate
// and Commit that what it read may have been overwritten.

import (
	"bytes"
	"errors"
	"sync/atomic"
	"syscall"
	"testing"
)

// A won compare-and-swap on a head a co-tenant wrote back over freed space
// is no claim: the record there was consumed already and its space given
// back to the producers.
func TestClaimOnHeadWrittenBackIsRefused(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	a, b := newConsumer(t, r), newConsumer(t, r)
	pos0 := h.prodPos()
	for i := 0; i < 6; i++ {
		mustProduce(t, h, payload(i, 64), PrioCritical)
	}
	fired := false
	testHookClaimCAS = func() {
		if fired {
			return
		}
		fired = true
		// a has walked from pos0 and announced it; its announce is not
		// visible yet when b claims and reclaim runs (a co-tenant's
		// idle there does the same here).
		atomic.StoreUint64(a.start, slotIdle)
		bt, err := b.ReadBatch(3, 0)
		if err != nil || bt.Records != 3 {
			t.Errorf("b's claim: %d records, %v", bt.Records, err)
		}
		if err := b.Commit(); err != nil {
			t.Errorf("b's commit: %v", err)
		}
		h.reclaim()
		if !before(pos0, h.reclaimPos()) {
			t.Errorf("reclaim did not pass %#x: reclaim_pos %#x", pos0, h.reclaimPos())
		}
		// The co-tenant writes the head back; a's announce lands.
		h.setHead(pos0)
		atomic.StoreUint64(a.start, pos0)
	}
	defer func() { testHookClaimCAS = nil }()
	rec, err := a.Read()
	if !fired {
		t.Fatal("the hook never ran")
	}
	if err == nil {
		t.Fatalf("a claimed a record (%d bytes, first byte %#x) on space reclaim had freed: b consumed it already (the first of %x)",
			len(rec.Data), rec.Data[0], payload(0, 64)[:4])
	}
	// The head is behind reclaim now, by a's compare-and-swap on the
	// written-back head: corrupt, and so reported.
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Read: %v, want ErrCorrupt", err)
	}
	if a.holding || atomic.LoadUint64(a.start) != slotIdle {
		t.Fatalf("a holds (%v) or announces %#x after a refused claim", a.holding, atomic.LoadUint64(a.start))
	}
	if err := a.Commit(); err != nil {
		t.Fatalf("a's commit of nothing: %v", err)
	}
	if got := atomic.LoadUint64(h.v.slotWord(uint32(a.Slot()), slotConsumedRecords)); got != 0 {
		t.Fatalf("a counted %d records consumed", got)
	}
}

// A claim reclaim passed because a co-tenant set the holder's start idle:
// no revoked mark anywhere, and the producers write over what the holder
// reads. Validate, reads past it, and Commit say ErrStale.
func TestCommitSeesReclaimPass(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	a, b := newConsumer(t, r), newConsumer(t, r)
	for i := 0; i < 8; i++ {
		mustProduce(t, h, payload(i, 64), PrioCritical)
	}
	bt, err := a.ReadBatch(4, 0)
	if err != nil || bt.Records != 4 {
		t.Fatalf("a's claim: %d records, %v", bt.Records, err)
	}
	first, _ := bt.Next()
	if !bytes.Equal(first.Data, payload(0, 64)) {
		t.Fatal("a's first record")
	}
	if err := a.Validate(); err != nil {
		t.Fatalf("Validate before anything happened: %v", err)
	}
	atomic.StoreUint64(a.start, slotIdle) // the co-tenant
	for {
		if _, err := b.Read(); err != nil {
			break
		}
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	h.reclaim()
	filled := 0
	for h.produce(payload(100+filled, 64), PrioCritical) {
		filled++
	}
	if filled == 0 || bytes.Equal(first.Data, payload(0, 64)) {
		t.Fatalf("the producers did not write over a's records (%d records written)", filled)
	}
	if err := a.Validate(); !errors.Is(err, ErrStale) || !errors.Is(err, syscall.ESTALE) {
		t.Fatalf("Validate after reclaim passed the claim: %v, want ErrStale", err)
	}
	if !a.holding {
		t.Fatal("Validate committed")
	}
	if _, err := a.Read(); !errors.Is(err, ErrStale) {
		t.Fatalf("Read on a passed claim: %v, want ErrStale", err)
	}
	if err := a.Commit(); !errors.Is(err, ErrStale) {
		t.Fatalf("Commit of a passed claim: %v, want ErrStale", err)
	}
	if got := atomic.LoadUint64(h.v.slotWord(uint32(a.Slot()), slotConsumedRecords)); got != 0 {
		t.Fatalf("a passed claim counted as consumed: %d", got)
	}
	if l := a.Lost(); l.Revoked != 4 {
		t.Fatalf("Lost().Revoked %d, want the 4 records a held", l.Revoked)
	}
	// The next claim stands on its own.
	if _, err := a.Read(); err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(); err != nil {
		t.Fatalf("a fresh claim after a passed one: %v", err)
	}
}

// While holding, the claim starts where the first one did: a co-tenant
// moving the holder's start forward lets reclaim free the first records,
// and that must be seen even though the later claim's start is intact.
func TestCommitChecksFirstClaimStart(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	a := newConsumer(t, r)
	for i := 0; i < 4; i++ {
		mustProduce(t, h, payload(i, 64), PrioCritical)
	}
	if _, err := a.Read(); err != nil {
		t.Fatal(err)
	}
	pos1 := atomic.LoadUint64(h.v.head())
	if _, err := a.Read(); err != nil {
		t.Fatal(err)
	}
	atomic.StoreUint64(a.start, pos1) // the co-tenant
	h.reclaim()
	if h.reclaimPos() != pos1 {
		t.Fatalf("reclaim_pos %#x, want %#x (up to the moved start)", h.reclaimPos(), pos1)
	}
	if err := a.Validate(); !errors.Is(err, ErrStale) {
		t.Fatalf("Validate: %v, want ErrStale", err)
	}
	if err := a.Commit(); !errors.Is(err, ErrStale) {
		t.Fatalf("Commit: %v, want ErrStale", err)
	}
	if l := a.Lost(); l.Revoked != 2 {
		t.Fatalf("Lost().Revoked %d, want 2", l.Revoked)
	}
}

// A healthy claim is never reported passed: reclaim stops at its start,
// and the commit's look at reclaim_pos comes before the exchange that lets
// reclaim go on.
func TestHealthyClaimNotPassed(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	a, b := newConsumer(t, r), newConsumer(t, r)
	for i := 0; i < 8; i++ {
		mustProduce(t, h, payload(i, 64), PrioCritical)
	}
	if _, err := a.ReadBatch(2, 0); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := b.Read(); err != nil {
			break
		}
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	h.reclaim()
	for h.produce(payload(1, 64), PrioCritical) {
	}
	if err := a.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if err := a.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if got := atomic.LoadUint64(h.v.slotWord(uint32(a.Slot()), slotConsumedRecords)); got != 2 {
		t.Fatalf("consumed %d, want 2", got)
	}
}
