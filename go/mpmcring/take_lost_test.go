// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// takeLost raced: losses added to the total while three consumers take
// them must each be taken exactly once. A consumer that read the total
// before another moved taken past it must not move taken back (the
// next consumer would take those losses again). Several rounds: one
// round of the old order missed the race now and then on two cores.
func TestTakeLostRacedTakesEachLossOnce(t *testing.T) {
	adds, rounds := 200000, 5
	if testing.Short() { // -race: its yields cost more than the adds
		adds, rounds = 50000, 5
	}
	for r := 0; r < rounds; r++ {
		if total, sum := takeLostRound(adds); sum != total {
			t.Fatalf("round %d: %d losses added, %d taken", r, total, sum)
		}
	}
}

// takeLostRound: (losses added, losses taken) of one round from zero.
func takeLostRound(adds int) (uint64, uint64) {
	var total, taken, sum uint64
	var done int32
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var got uint64
			for atomic.LoadInt32(&done) == 0 {
				got += takeLost(&total, &taken)
			}
			got += takeLost(&total, &taken)
			atomic.AddUint64(&sum, got)
		}()
	}
	for i := 0; i < adds; i++ {
		atomic.AddUint64(&total, uint64(1+i&3))
		if i&1023 == 0 {
			runtime.Gosched() // the takers race each other meanwhile
		}
	}
	atomic.StoreInt32(&done, 1)
	wg.Wait()
	return total, sum + takeLost(&total, &taken)
}

// Lost after its take gave up: other consumers won every swap on the
// taken counter (the hook takes one loss before each swap) and left
// losses behind. The next Lost takes them, though the total has not
// moved: the winners may never ask again. Before the fix Lost waited
// for the total to move (seen: 0 dropped, want the 744 left). Both
// counters, dropped and overwritten.
func TestLostAfterTakeGaveUpTakesTheRest(t *testing.T) {
	const total = 1000
	for _, k := range []struct {
		name         string
		total, taken uint64
		of           func(Lost) uint64
	}{
		{"dropped", metaLostDropped, consLostDroppedTaken, func(l Lost) uint64 { return l.Dropped }},
		{"overwritten", metaLostOverwritten, consLostOverwrittenTaken, func(l Lost) uint64 { return l.Overwritten }},
	} {
		h := newTestRing(t, ringParams{size: 4096})
		c := newConsumer(t, h.ring(t))
		atomic.StoreUint64(word(h.ro, k.total), total)
		taken := word(h.cons, k.taken)
		var others uint64
		testHookTakeLost = func(p *uint64) {
			if atomic.LoadUint64(p) < total {
				atomic.AddUint64(p, 1)
				others++
			}
		}
		if l := c.Lost(); k.of(l) != 0 || others != claimTries {
			testHookTakeLost = nil
			t.Fatalf("%s: first Lost: %d with %d swaps lost, want 0 with %d", k.name, k.of(l), others, claimTries)
		}
		testHookTakeLost = nil // the others are gone
		if l := c.Lost(); k.of(l) != total-others {
			t.Fatalf("%s: second Lost: %d, want the %d the others left", k.name, k.of(l), total-others)
		}
		if got := atomic.LoadUint64(taken); got != total {
			t.Fatalf("%s: taken %d, want %d", k.name, got, total)
		}
		if l := c.Lost(); k.of(l) != 0 {
			t.Fatalf("%s: third Lost: %d, want 0: each loss told once", k.name, k.of(l))
		}
	}
}
