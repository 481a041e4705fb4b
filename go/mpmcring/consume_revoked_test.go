// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

// Consume checks the lease before each record, a new claim's first too
// (the C library's mpmcring_consume() hands that one out as its claim's
// walk saw it; lib_test's t_consume_revoked_*): a claim revoked while fn
// runs, or between two calls, hands out nothing more, and the call says
// ErrStale.

import (
	"bytes"
	"errors"
	"sync/atomic"
	"testing"
)

// lib_test's t_consume_revoked_midway: fn's first call sees the claim
// revoked and reclaimed and producers write over it; Consume hands fn
// nothing more and returns ErrStale.
func TestConsumeRevokedMidway(t *testing.T) {
	for _, newLen := range []int{248, 100, 60} {
		h := newTestRing(t, ringParams{size: 4096})
		r := h.ring(t)
		c := newConsumer(t, r)
		for i := 0; i < 8; i++ {
			mustProduce(t, h, payload(i, 248), PrioCritical)
		}
		calls, foreign := 0, 0
		_, err := c.Consume(64, func(rec Record) error {
			if !bytes.Equal(rec.Data, payload(calls, 248)) {
				foreign++
			}
			if calls == 0 {
				for {
					s := atomic.LoadUint64(c.start)
					if atomic.CompareAndSwapUint64(c.start, s, s|slotRevoked) {
						break
					}
				}
				h.reclaim()
				for i := 0; i < 40 && h.produce(payload(1000+i, newLen), PrioCritical); i++ {
				}
			}
			calls++
			return nil
		})
		if !errors.Is(err, ErrStale) || calls != 1 || foreign != 0 {
			t.Errorf("newLen %d: Consume: %v, fn called %d times (want 1), %d records the claim never held",
				newLen, err, calls, foreign)
		}
	}
}

// lib_test's t_consume_revoked_between_calls: a Consume stopped by fn
// keeps the rest of its claim; revoked before the next Consume, that one
// hands out nothing and returns ErrStale.
func TestConsumeRevokedBetweenCalls(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	c := newConsumer(t, r)
	for i := 0; i < 8; i++ {
		mustProduce(t, h, payload(i, 248), PrioCritical)
	}
	calls := 0
	stop := errors.New("stop")
	fn := func(Record) error {
		calls++
		if calls == 1 {
			return stop
		}
		return nil
	}
	if _, err := c.Consume(64, fn); err != stop {
		t.Fatal(err)
	}
	s := atomic.LoadUint64(c.start)
	atomic.StoreUint64(c.start, s|slotRevoked)
	h.reclaim()
	n, err := c.Consume(64, fn)
	if !errors.Is(err, ErrStale) || calls != 1 {
		t.Errorf("second Consume: %d, %v; fn called %d times, want 1 and ErrStale", n, err, calls)
	}
}

// After a revocation the claim's space is written over while the stamps
// of its old records stay: a walk on from the second record would trust
// the old stamp there and read a header from a producer's payload (here:
// 5 bytes, critical, flags 0, chosen by whoever wrote that payload).
// Consume hands fn nothing after the revocation.
func TestConsumeRevokedNeverTakesPayloadForHeader(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	c := newConsumer(t, r)
	for i := 0; i < 8; i++ {
		mustProduce(t, h, payload(i, 248), PrioCritical)
	}
	var got []Record
	calls := 0
	_, err := c.Consume(64, func(rec Record) error {
		calls++
		if calls > 1 {
			got = append(got, Record{Data: append([]byte(nil), rec.Data...), Prio: rec.Prio, Flags: rec.Flags, Pos: rec.Pos})
			return nil
		}
		s := atomic.LoadUint64(c.start)
		atomic.CompareAndSwapUint64(c.start, s, s|slotRevoked)
		h.reclaim()
		for i := 0; i < 8; i++ { // fill up to one lap past the claim
			mustProduce(t, h, payload(100+i, 248), PrioNormal)
		}
		// The record at the claim's first position, one lap on: its
		// payload covers the second claimed record's old header.
		evil := make([]byte, 300)
		copy(evil[248:], []byte{5, 0, 0, 0, PrioCritical, 0, 0, 0})
		mustProduce(t, h, evil, PrioNormal)
		return nil
	})
	if len(got) != 0 {
		t.Errorf("fn was handed %d records after the revocation: first %+v (Consume: %v)", len(got), got[0], err)
	}
	if !errors.Is(err, ErrStale) {
		t.Errorf("Consume: %v, want ErrStale", err)
	}
}

// A consumer whose Consume fn stopped at the last record of its claim,
// the ring empty after it.
func stoppedAtClaimEnd(t *testing.T) (*testRing, *Consumer) {
	h := newTestRing(t, ringParams{size: 4096})
	c := newConsumer(t, h.ring(t))
	mustProduce(t, h, payload(0, 16), PrioCritical)
	stop := errors.New("stop")
	if _, err := c.Consume(1, func(Record) error { return stop }); err != stop {
		t.Fatalf("first Consume: %v", err)
	}
	return h, c
}

// fn stops Consume at its claim's last record, and another record is
// ready: the next Consume commits that claim (0, fn not called), the one
// after delivers the record ready (it used to say 0 at every call), as
// the C library's does (tests/host/stopped_consume_test.c).
func TestConsumeAfterStopAtClaimEnd(t *testing.T) {
	h, c := stoppedAtClaimEnd(t)
	mustProduce(t, h, payload(1, 16), PrioCritical)
	var got [][]byte
	fn := func(rec Record) error {
		got = append(got, append([]byte(nil), rec.Data...))
		return nil
	}
	if n, err := c.Consume(1, fn); n != 0 || err != nil || len(got) != 0 {
		t.Fatalf("second Consume: %d, %v, records %q; want the stopped claim committed: 0, nil, none", n, err, got)
	}
	if consumed := atomic.LoadUint64(c.v.slotWord(c.idx, slotConsumedRecords)); consumed != 1 {
		t.Errorf("consumed_records %d after the second Consume, want 1", consumed)
	}
	n, err := c.Consume(1, fn)
	if n != 1 || err != nil || len(got) != 1 || !bytes.Equal(got[0], payload(1, 16)) {
		t.Fatalf("third Consume: %d, %v, records %q; want the record ready", n, err, got)
	}
	if consumed := atomic.LoadUint64(c.v.slotWord(c.idx, slotConsumedRecords)); consumed != 2 {
		t.Errorf("consumed_records %d, want 2", consumed)
	}
}

// fn stops at the end of every claim, call after call: each claim is
// committed by the call after its stop, so the slot's consumed count
// keeps up (and reclaim with it). Claiming anew while holding the
// stopped claim, Consume never committed: collection stalled until the
// lease threw it all away (helper-176's review; stopped_consume_test's
// t_consume_stopping_at_every_claim_end_commits).
func TestConsumeStoppingAtEveryClaimEndCommits(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	c := newConsumer(t, h.ring(t))
	for i := 0; i < 100; i++ {
		mustProduce(t, h, payload(i, 16), PrioCritical)
	}
	stop := errors.New("stop")
	seen, stops, lag := 0, 0, 0
	lastStopped := false
	fn := func(Record) error {
		seen++
		if seen%4 == 0 {
			return stop
		}
		return nil
	}
	for calls := 0; calls < 1000; calls++ {
		before := seen
		n, err := c.Consume(4, fn)
		consumed := int(atomic.LoadUint64(c.v.slotWord(c.idx, slotConsumedRecords)))
		limit := 0
		if err == stop {
			stops++
			limit = 4
		} else if err != nil {
			t.Fatalf("Consume: %v", err)
		}
		if seen-consumed > limit {
			lag++
		}
		// A 0 after a stop only committed; a 0 after a 0 is none ready.
		if err == nil && n == 0 && seen == before && calls > 0 && !lastStopped {
			break
		}
		lastStopped = err == stop
	}
	if seen != 100 || stops != 25 || lag != 0 {
		t.Fatalf("fn saw %d records, stopped %d times; %d calls returned with more uncommitted than one claim", seen, stops, lag)
	}
	if consumed := atomic.LoadUint64(c.v.slotWord(c.idx, slotConsumedRecords)); consumed != 100 {
		t.Errorf("consumed_records %d, want 100", consumed)
	}
}

// The same claim, then Read finds nothing and the claim is revoked: one
// Consume says ErrStale (it commits the claim), the next goes on.
func TestConsumeStaleOnceAfterStop(t *testing.T) {
	h, c := stoppedAtClaimEnd(t)
	if _, err := c.Read(); !errors.Is(err, ErrNoRecord) {
		t.Fatalf("Read: %v, want ErrNoRecord", err)
	}
	for {
		s := atomic.LoadUint64(c.start)
		if atomic.CompareAndSwapUint64(c.start, s, s|slotRevoked) {
			break
		}
	}
	mustProduce(t, h, payload(1, 16), PrioCritical)
	fn := func(Record) error { return nil }
	_, err1 := c.Consume(8, fn)
	n2, err2 := c.Consume(8, fn)
	if !errors.Is(err1, ErrStale) || err2 != nil || n2 != 1 {
		t.Fatalf("Consume after the revocation: %v, then %d, %v; want ErrStale, then 1, nil",
			err1, n2, err2)
	}
}

// Read takes the rest of a stopped Consume only while the claim stands:
// revoked between the calls, it says ErrStale, as Consume does, and hands
// out nothing (it used to hand out the rest with a nil error).
func TestReadOfAStoppedConsumesRestRevokedIsStale(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	c := newConsumer(t, h.ring(t))
	for i := 0; i < 3; i++ {
		mustProduce(t, h, payload(i, 64), PrioCritical)
	}
	stop := errors.New("stop")
	if n, err := c.Consume(10, func(Record) error { return stop }); n != 1 || err != stop {
		t.Fatalf("Consume: %d, %v", n, err)
	}
	s := atomic.LoadUint64(c.start)
	atomic.StoreUint64(c.start, s|slotRevoked) // the kernel's revocation
	if rec, err := c.Read(); !errors.Is(err, ErrStale) {
		t.Fatalf("Read of the revoked claim's rest: pos %#x, %v; want ErrStale", rec.Pos, err)
	}
	if err := c.Commit(); !errors.Is(err, ErrStale) {
		t.Fatalf("Commit: %v, want ErrStale", err)
	}
}

// A revoked batch's space written over: a producer's payload lands on a
// claimed record's header while that record's stamp stays. Next hands out
// no more payload than the batch's Bytes (callers size buffers by it),
// nor more records than Records.
func TestBatchNextNeverPastItsBytes(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	c := newConsumer(t, h.ring(t))
	p0 := h.prodPos()
	for i := 0; i < 8; i++ {
		mustProduce(t, h, payload(i, 9), PrioCritical) // 24 bytes each
	}
	b, err := c.ReadBatch(64, 0)
	if err != nil || b.Records != 8 || b.Bytes != 72 {
		t.Fatalf("ReadBatch: %d records %d bytes, %v", b.Records, b.Bytes, err)
	}
	s := atomic.LoadUint64(c.start)
	atomic.StoreUint64(c.start, s|slotRevoked)
	// What a producer's payload writes over the second record's header:
	// a length that fits what is left of the claim, longer than 9.
	second := p0 + 24
	atomic.StoreUint64(word(h.ro, h.v.data+second&h.v.dataMask),
		joinHeader(uint32(p0+8*24-second-8), PrioCritical, 0))
	var n int
	var got uint64
	for rec, ok := b.Next(); ok; rec, ok = b.Next() {
		n++
		got += uint64(len(rec.Data))
	}
	if got > b.Bytes || n > b.Records {
		t.Fatalf("Next handed out %d records, %d bytes; the batch holds %d, %d",
			n, got, b.Records, b.Bytes)
	}
	if err := c.Commit(); !errors.Is(err, ErrStale) {
		t.Fatalf("Commit: %v, want ErrStale", err)
	}
}

// A consumer whose Consume fn stopped after the first of 8 records, the
// other 7 still claimed by it and undelivered.
func stoppedAfterFirst(t *testing.T) (*testRing, *Consumer) {
	h := newTestRing(t, ringParams{size: 4096})
	c := newConsumer(t, h.ring(t))
	for i := 0; i < 8; i++ {
		mustProduce(t, h, payload(i, 248), PrioCritical)
	}
	stop := errors.New("stop")
	if _, err := c.Consume(64, func(Record) error { return stop }); err != stop {
		t.Fatalf("Consume: %v, want fn's error", err)
	}
	return h, c
}

// Peek on the rest of a stopped Consume whose claim was revoked says
// ErrStale, as Read does: the space may be written over while the old
// stamps stay. It used to walk there and hand out, with a nil error,
// whatever header it found: here a producer's payload one lap on, read
// as a critical record of 5 bytes.
func TestPeekRevokedStoppedConsumeSaysStale(t *testing.T) {
	h, c := stoppedAfterFirst(t)
	if p, err := c.Peek(); err != nil || !bytes.Equal(p.Data, payload(1, 248)) {
		t.Fatalf("Peek before the revocation: %v, %x; want the second record", err, p.Data)
	}
	s := atomic.LoadUint64(c.start)
	atomic.CompareAndSwapUint64(c.start, s, s|slotRevoked)
	h.reclaim()
	for i := 0; i < 8; i++ { // up to one lap past the claim
		mustProduce(t, h, payload(100+i, 248), PrioNormal)
	}
	// The record at the claim's first position, one lap on: its payload
	// covers the second claimed record's old header, whose stamp stays.
	evil := make([]byte, 300)
	copy(evil[248:], []byte{5, 0, 0, 0, PrioCritical, 0, 0, 0})
	mustProduce(t, h, evil, PrioNormal)
	if p, err := c.Peek(); !errors.Is(err, ErrStale) {
		t.Fatalf("Peek after the revocation: %v (a record of %d bytes at %#x), want ErrStale", err, len(p.Data), p.Pos)
	}
	if _, err := c.Read(); !errors.Is(err, ErrStale) {
		t.Fatalf("Read after the revocation: %v, want ErrStale", err)
	}
}

// Revoked while Peek copies a stopped Consume's next record: the copy may
// be a producer's bytes, so ErrStale, not the copy.
func TestPeekRevokedDuringCopySaysStale(t *testing.T) {
	_, c := stoppedAfterFirst(t)
	testHookPeekCopy = func(uint64) {
		s := atomic.LoadUint64(c.start)
		atomic.CompareAndSwapUint64(c.start, s, s|slotRevoked)
	}
	defer func() { testHookPeekCopy = nil }()
	if p, err := c.Peek(); !errors.Is(err, ErrStale) {
		t.Fatalf("Peek revoked during its copy: %v (a record of %d bytes at %#x), want ErrStale", err, len(p.Data), p.Pos)
	}
}

// ReadBatch on a revoked stopped Consume's claim says ErrStale, as Read
// does (Commit, then read again); it used to say EINVAL ("finish them
// with Consume or Read first"), which led there only by way of Read.
func TestReadBatchRevokedStoppedConsumeSaysStale(t *testing.T) {
	h, c := stoppedAfterFirst(t)
	s := atomic.LoadUint64(c.start)
	atomic.CompareAndSwapUint64(c.start, s, s|slotRevoked)
	if _, err := c.ReadBatch(4, 0); !errors.Is(err, ErrStale) {
		t.Fatalf("ReadBatch after the revocation: %v, want ErrStale", err)
	}
	if err := c.Commit(); !errors.Is(err, ErrStale) {
		t.Fatalf("Commit after the revocation: %v, want ErrStale", err)
	}
	h.reclaim()
	mustProduce(t, h, payload(9, 16), PrioCritical)
	b, err := c.ReadBatch(4, 0)
	if err != nil || b.Records != 1 {
		t.Fatalf("ReadBatch after the commit: %d records, %v; want the new one", b.Records, err)
	}
}
