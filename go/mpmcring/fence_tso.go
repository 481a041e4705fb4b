// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

//go:build 386 || amd64

package mpmcring

// readFence orders the caller's earlier reads of records (plain loads of
// the mapping) before its next atomic load: the look at its slot's revoked
// mark ([C4]) and at reclaim_pos ([C5]). x86 never reorders a load with an
// older load, and the Go compiler moves no memory access across an atomic
// operation: nothing to do here.
func readFence(*uint32) {}
