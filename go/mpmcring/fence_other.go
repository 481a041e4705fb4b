// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

//go:build !(386 || amd64)

package mpmcring

import "sync/atomic"

// readFence orders the caller's earlier reads of records (plain loads of
// the mapping) before its next atomic load: the look at its slot's revoked
// mark ([C4]) and at reclaim_pos ([C5]). Go has no standalone fence, and a
// sequentially consistent load orders only what comes after it (LDAR on
// arm64): an atomic read-modify-write on a word of the consumer's own is
// the fence. On arm64 it is LDADDAL with LSE (acquire and release), or
// LDAXR/STLXR without: the store-release comes after the reads, and the
// load-acquire that follows (Go's atomic load, LDAR) is never reordered
// before a store-release.
func readFence(w *uint32) { atomic.AddUint32(w, 1) }
