// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

import (
	"sync"
	"sync/atomic"
	"testing"
)

// takeLost raced: losses added to the total while three consumers take
// them must each be taken exactly once. A consumer that read the total
// before another moved taken past it must not move taken back (the
// next consumer would take those losses again).
func TestTakeLostRacedTakesEachLossOnce(t *testing.T) {
	adds := 1000000
	if testing.Short() {
		adds = 200000
	}
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
	}
	atomic.StoreInt32(&done, 1)
	wg.Wait()
	sum += takeLost(&total, &taken)
	if sum != total {
		t.Fatalf("%d losses added, %d taken", total, sum)
	}
}
