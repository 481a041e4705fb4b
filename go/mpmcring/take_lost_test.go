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
