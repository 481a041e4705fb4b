// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

// Not under the race detector: a revoked claim's records are overwritten
// while their consumer reads them. That is the protocol working (the
// commit says so and the reads are thrown away), and exactly what the
// detector reports.

//go:build !race

package mpmcring

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mpmcring.dev/go/internal/testrec"
)

// Consumers that stall mid-batch past their lease while producers wait on
// a full ring: the stalled claims are revoked and overwritten, and still
// only what a commit confirms counts. Every record is delivered exactly
// once or revoked, and the revoked ones add up on both sides.
func TestStressLeases(t *testing.T) {
	const (
		producers   = 2
		consumers   = 3
		perProducer = 20000
	)
	h := newTestRing(t, ringParams{size: 16384, claimTimeout: 5, initialPos: 1<<64 - 20000})
	t0 := time.Now()
	h.nowMs = func() uint64 { return uint64(time.Since(t0).Milliseconds()) }
	r := h.ring(t)

	committed := make([][]bool, producers)
	confirmed := make([][]uint32, producers)
	for p := range committed {
		committed[p] = make([]bool, perProducer)
		confirmed[p] = make([]uint32, perProducer)
	}
	var producing sync.WaitGroup
	var done atomic.Bool
	for p := 0; p < producers; p++ {
		producing.Add(1)
		go func(p int) {
			defer producing.Done()
			buf := make([]byte, 200)
			for s := 0; s < perProducer; s++ {
				n := testrec.Min + (s*5+p)%150
				testrec.Fill(buf[:n], uint16(p), testrec.CtxUser, PrioCritical, uint64(s))
				for !committed[p][s] {
					if committed[p][s] = h.produce(buf[:n], PrioCritical); !committed[p][s] {
						runtime.Gosched()
					}
				}
			}
		}(p)
	}

	type result struct {
		stale, bad uint64
		lost       Lost
		err        error
	}
	results := make([]result, consumers)
	var consuming sync.WaitGroup
	for i := 0; i < consumers; i++ {
		c := newConsumer(t, r)
		consuming.Add(1)
		go func(i int, c *Consumer) {
			defer consuming.Done()
			res := &results[i]
			type key struct {
				p uint16
				s uint64
			}
			var batch []key
			for round := 0; ; round++ {
				finished := done.Load()
				b, err := c.ReadBatch(1+round%16, 0)
				if errors.Is(err, ErrNoRecord) || errors.Is(err, ErrBusy) {
					if finished && errors.Is(err, ErrNoRecord) {
						break
					}
					runtime.Gosched()
					continue
				}
				if err != nil {
					res.err = err
					return
				}
				batch = batch[:0]
				k := 0
				for rec, ok := b.Next(); ok; rec, ok = b.Next() {
					// Consumer 0 stalls mid-batch now and then while
					// the producers fill the ring behind it, until the
					// lease ends (a handshake, not a sleep: the
					// producers cannot finish past a claim that pins
					// the ring, so it ends).
					if i == 0 && round%7 == 3 && k == 0 && !done.Load() {
						for t0 := time.Now(); c.v.claimStale(c.start, c.claimStart) == staleNot && time.Since(t0) < 10*time.Second; {
							time.Sleep(time.Millisecond)
						}
					}
					k++
					hdr, bad := testrec.Check(rec.Data)
					if bad != 0 || int(hdr.Producer) >= producers || hdr.Seq >= perProducer {
						batch = append(batch, key{0xffff, 0})
						continue
					}
					batch = append(batch, key{hdr.Producer, hdr.Seq})
				}
				err = c.Commit()
				if errors.Is(err, ErrStale) {
					res.stale++ // what it read counts for nothing
					continue
				}
				if err != nil {
					res.err = err
					return
				}
				for _, k := range batch {
					if k.p == 0xffff {
						res.bad++ // a confirmed claim read garbage
						continue
					}
					atomic.AddUint32(&confirmed[k.p][k.s], 1)
				}
			}
			res.lost = c.Lost()
			res.err = c.Close()
		}(i, c)
	}
	producing.Wait()
	done.Store(true)
	consuming.Wait()

	var stale, revokedSeen uint64
	for i, res := range results {
		if res.err != nil || res.bad != 0 {
			t.Errorf("consumer %d: %v, %d corrupt records in confirmed claims", i, res.err, res.bad)
		}
		stale += res.stale
		revokedSeen += res.lost.Revoked
	}
	var delivered, missing, dup uint64
	for p := range confirmed {
		for s := range confirmed[p] {
			switch atomic.LoadUint32(&confirmed[p][s]) {
			case 0:
				missing++
			case 1:
				delivered++
			default:
				dup++
			}
		}
	}
	t.Logf("%d produced: %d delivered, %d revoked in %d claims (%d stale commits)",
		producers*perProducer, delivered, h.revokedRecords, h.revokedClaims, stale)
	if dup != 0 {
		t.Fatalf("%d records confirmed twice", dup)
	}
	// A consumer stopped between its announce and its claim's
	// compare-and-swap (bound to fail) can be revoked too: a claim of
	// nothing, which no commit reports. So: at most as many stale commits.
	if stale == 0 || stale > h.revokedClaims {
		t.Fatalf("%d claims revoked, %d commits said so", h.revokedClaims, stale)
	}
	if revokedSeen != h.revokedRecords || missing != h.revokedRecords {
		t.Fatalf("revoked: the ring counted %d records, the consumers %d; %d records never confirmed",
			h.revokedRecords, revokedSeen, missing)
	}
}
