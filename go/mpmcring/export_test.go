// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

import (
	"sync/atomic"
	"testing"
)

// NewMemoryRingForTest gives the external tests (the examples' loops) a
// ring in memory with n records of 64 bytes in it: Wait on it is EBADF
// (no file to wait on).
func NewMemoryRingForTest(t *testing.T, n int) *Ring {
	h := newTestRing(t, ringParams{size: 4096})
	for i := 0; i < n; i++ {
		mustProduce(t, h, payload(i, 64), PrioCritical)
	}
	return h.ring(t)
}

// ContendForTest makes the next n claim attempts (any consumer's: the
// hook is the package's, and these tests run one at a time) lose their
// compare-and-swap on r's head, as when other consumers keep winning it:
// the head moves one record of NewMemoryRingForTest's (64 bytes and the
// header) on and back by turns, so after an even n it is where it was.
// It returns how many attempts it has made lose so far.
func ContendForTest(t *testing.T, r *Ring, n int) func() int {
	h0 := atomic.LoadUint64(r.v.head())
	var tries atomic.Int64
	testHookClaimCAS = func() {
		if tries.Load() >= int64(n) {
			return
		}
		tries.Add(1)
		if atomic.LoadUint64(r.v.head()) == h0 {
			atomic.StoreUint64(r.v.head(), h0+72)
		} else {
			atomic.StoreUint64(r.v.head(), h0)
		}
	}
	t.Cleanup(func() { testHookClaimCAS = nil })
	return func() int { return int(tries.Load()) }
}

// ClaimTriesForTest is how many lost compare-and-swaps make a claim ErrBusy.
const ClaimTriesForTest = claimTries
