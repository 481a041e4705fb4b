// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

// The model's findings 5 and 6 (docs/model.md; C: f483eda): a revocation
// between a claim's won compare-and-swap and its claim-passed check, and a
// consumer that holds a claim below the first one it made.

import (
	"bytes"
	"errors"
	"sync/atomic"
	"testing"
)

// The kernel revokes a's claim between its compare-and-swap and its
// claim-passed check (here: before the compare-and-swap, which the written-
// back head lets succeed; the revoked mark is in the announce either way).
// The claim-passed release must see the mark (an exchange, not a store),
// report ErrStale and count the records the head moved over as revoked:
// the kernel counted them, so they are lost, not silently skipped.
func TestClaimRevokedWhileMadeIsStale(t *testing.T) {
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
		// a has walked 3 records from pos0 and announced pos0. b takes
		// those 3, reclaim frees them (a's announce not yet seen), the
		// co-tenant writes the head back, and the kernel revokes a's
		// announce as its compare-and-swap on the start would.
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
		h.setHead(pos0)
		atomic.StoreUint64(a.start, pos0|slotRevoked)
	}
	defer func() { testHookClaimCAS = nil }()
	_, err := a.ReadBatch(3, 0)
	if !fired {
		t.Fatal("the hook never ran")
	}
	if !errors.Is(err, ErrStale) {
		t.Fatalf("ReadBatch revoked while made: %v, want ErrStale", err)
	}
	if a.holding || atomic.LoadUint64(a.start) != slotIdle {
		t.Fatalf("a holds (%v) or announces %#x after a stale claim", a.holding, atomic.LoadUint64(a.start))
	}
	if l := a.Lost(); l.Revoked != 3 {
		t.Fatalf("Lost().Revoked %d, want the 3 records the head moved over", l.Revoked)
	}
	// The caller may claim again: the next records are there.
	rec, err := a.Read()
	if err != nil {
		t.Fatalf("Read after ErrStale: %v", err)
	}
	if !bytes.Equal(rec.Data, payload(3, 64)) {
		t.Fatalf("Read after ErrStale gave %x..., want record 3", rec.Data[:4])
	}
	if err := a.Commit(); err != nil {
		t.Fatalf("Commit after a stale claim: %v", err)
	}
}

// Go's t_claim_below_held_start: a co-tenant writes the head back below a
// claim a holds; a claims again (records it gets a second time) and
// reclaim, which sees only a's first start, frees the second claim's
// space. The commit must check the oldest start a holds.
func TestClaimBelowHeldStart(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	a, b := newConsumer(t, r), newConsumer(t, r)
	for i := 0; i < 8; i++ {
		mustProduce(t, h, payload(i, 56), PrioCritical)
	}
	claim := func(c *Consumer, who string) {
		t.Helper()
		if bt, err := c.ReadBatch(2, 0); err != nil || bt.Records != 2 {
			t.Fatalf("%s's claim: %d records, %v", who, bt.Records, err)
		}
	}
	claim(b, "b")
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	h2 := atomic.LoadUint64(h.v.head())
	claim(b, "b")
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	claim(a, "a") // records 4, 5
	h.setHead(h2) // the co-tenant
	claim(a, "a") // 2, 3 again
	h.reclaim()
	if !before(h2, h.reclaimPos()) {
		t.Fatalf("reclaim did not pass the second claim's start %#x: %#x", h2, h.reclaimPos())
	}
	if err := a.Validate(); !errors.Is(err, ErrStale) {
		t.Fatalf("Validate: %v, want ErrStale", err)
	}
	if err := a.Commit(); !errors.Is(err, ErrStale) {
		t.Fatalf("Commit: %v, want ErrStale", err)
	}
}
