// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

import "testing"

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
