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
// only what a commit confirms counts. Another stalls now and then inside
// its claim, after the compare-and-swap: revoked while it is made,
// ReadBatch says ErrStale and it claims again. Every record is delivered
// exactly once or revoked, and the revoked ones add up.
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
	// A consumer that failed: the producers stop, as a full ring with no
	// one left to drain it would keep them retrying until go test's
	// timeout, and the failure is reported below.
	var failed atomic.Bool
	var produced atomic.Int64 // records committed so far
	for p := 0; p < producers; p++ {
		producing.Add(1)
		go func(p int) {
			defer producing.Done()
			buf := make([]byte, 200)
			for s := 0; s < perProducer; s++ {
				n := testrec.Min + (s*5+p)%150
				testrec.Fill(buf[:n], uint16(p), testrec.CtxUser, PrioCritical, uint64(s))
				for !committed[p][s] {
					if failed.Load() {
						return
					}
					if committed[p][s] = h.produce(buf[:n], PrioCritical); !committed[p][s] {
						runtime.Gosched()
					}
					if committed[p][s] {
						produced.Add(1)
					}
				}
			}
		}(p)
	}

	type result struct {
		stale, staleClaims, bad uint64
		lost                    Lost
		err                     error
	}
	results := make([]result, consumers)
	cs := make([]*Consumer, consumers)
	for i := range cs {
		cs[i] = newConsumer(t, r)
	}
	// Consumer 1 stands still in its first few won claims made while
	// less than half the records are in, between the compare-and-swap and
	// its claim-passed look, until reclaim has revoked the claim and
	// passed it: a handshake, not a sleep. The producers, with more than
	// a ringful left to write, must run reclaim past it, so each ends so.
	// It starts alone, so it wins a claim; the others start once it
	// stands still in it (firstStall).
	const stallsWanted = 4
	var stalls, stallsRevoked uint64 // consumer 1's goroutine only
	firstStall := make(chan struct{})
	testHookClaimWon = func(announce *uint64) {
		if announce != cs[1].start || stalls == stallsWanted ||
			produced.Load() >= producers*perProducer/2 {
			return
		}
		if stalls++; stalls == 1 {
			close(firstStall)
		}
		h0 := atomic.LoadUint64(announce)
		for t0 := time.Now(); ; time.Sleep(time.Millisecond) {
			if atomic.LoadUint64(announce)&slotRevoked != 0 && before(h0, h.reclaimPos()) {
				stallsRevoked++
				return
			}
			if time.Since(t0) > 10*time.Second {
				t.Errorf("a claim of consumer 1 stood still 10 s unrevoked (announce %#x, reclaim_pos %#x)",
					atomic.LoadUint64(announce), h.reclaimPos())
				return
			}
		}
	}
	defer func() { testHookClaimWon = nil }()
	// Consumer 0 starts next, beside consumer 1 only, and stands still in
	// its first won batch (firstWin) and every seventh after; consumer 2
	// starts after that first batch.
	firstWin := make(chan struct{})
	var consuming sync.WaitGroup
	start := func(i int) {
		c := cs[i]
		consuming.Add(1)
		go func(i int, c *Consumer) {
			defer consuming.Done()
			res := &results[i]
			type key struct {
				p uint16
				s uint64
			}
			var batch []key
			wins := 0
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
				if errors.Is(err, ErrStale) {
					res.staleClaims++ // lost, in Lost().Revoked
					c.Commit()        // lets go of anything held
					continue
				}
				if err != nil {
					res.err = err
					failed.Store(true)
					return
				}
				if wins++; i == 0 && wins == 1 {
					close(firstWin)
				}
				batch = batch[:0]
				k := 0
				for rec, ok := b.Next(); ok; rec, ok = b.Next() {
					// Consumer 0 stalls mid-batch now and then while
					// the producers fill the ring behind it, until the
					// lease ends (a handshake, not a sleep) or the
					// producers are done (their last records may fit
					// without passing it).
					if i == 0 && wins%7 == 1 && k == 0 && !done.Load() {
						for t0 := time.Now(); c.v.claimStale(c.start, c.claimStart) == staleNot && !done.Load() && time.Since(t0) < 10*time.Second; {
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
					failed.Store(true)
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
	await := func(ch chan struct{}, what string) {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not come in 10 s", what)
		}
	}
	start(1)
	await(firstStall, "consumer 1's first stall")
	start(0)
	await(firstWin, "consumer 0's first batch")
	start(2)
	producing.Wait()
	done.Store(true)
	consuming.Wait()

	var stale, staleClaims, revokedSeen uint64
	for i, res := range results {
		if res.err != nil || res.bad != 0 {
			t.Errorf("consumer %d: %v, %d corrupt records in confirmed claims", i, res.err, res.bad)
		}
		stale += res.stale
		staleClaims += res.staleClaims
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
	t.Logf("%d produced: %d delivered, %d revoked in %d claims (%d stale commits, %d claims revoked while made)",
		producers*perProducer, delivered, h.revokedRecords, h.revokedClaims, stale, staleClaims)
	if dup != 0 {
		t.Fatalf("%d records confirmed twice", dup)
	}
	// A consumer stopped between its announce and its claim's
	// compare-and-swap (bound to fail) can be revoked too: a claim of
	// nothing, which no commit or claim reports. So: at most as many
	// stale commits and claims.
	if stale == 0 || stale+staleClaims > h.revokedClaims {
		t.Fatalf("%d claims revoked; %d commits and %d claims said so (each must have)",
			h.revokedClaims, stale, staleClaims)
	}
	// Each stall the hook ended with the claim revoked and passed is a
	// claim revoked while made (others may be too, by chance).
	if stallsRevoked == 0 || stallsRevoked != stalls || staleClaims < stallsRevoked {
		t.Fatalf("consumer 1 stood still in %d claims, %d revoked and passed; ReadBatch said ErrStale %d times",
			stalls, stallsRevoked, staleClaims)
	}
	// The consumers know exactly what they lost. The ring counts a
	// revoked claim's records from its slot's held count, written only
	// once the claim is made: a claim revoked while made counts less
	// there, never more (as in cproducer_test.go).
	// Consumer 0's stalls come after its claims were made: counted there.
	if missing != revokedSeen || h.revokedRecords > revokedSeen || h.revokedRecords == 0 {
		t.Fatalf("revoked: the consumers counted %d records, the ring %d (at most theirs); %d records never confirmed",
			revokedSeen, h.revokedRecords, missing)
	}
}
