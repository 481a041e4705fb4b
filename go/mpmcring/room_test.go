// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

// roomWanted (mpr_room_wanted): after a commit, whether the consumer asks
// the kernel for room (MPMCRING_IOC_ROOM). Only where the meta page's
// room_at says a writer waits for room the claim held: room_at set, the
// claim beginning before it, the head at or past it. Anything else would
// cost consumers a system call per commit, or leave the writer to the tick.

import (
	"sync/atomic"
	"testing"
)

func TestRoomWantedOnlyWhereTheClaimHeldIt(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	c := newConsumer(t, r)
	roomAt := word(h.ro, metaRoomAt)
	for _, tc := range []struct {
		name string
		off  int64 // room_at - the claim's start
		none bool  // room_at 0: no writer ever waited
		want bool
	}{
		{"nobody waits", 0, true, false},
		{"inside the claim", 8, false, true},
		{"at its end, the head", 32, false, true},
		{"past the head", 40, false, false},
		{"at its start", 0, false, false},
		{"before it", -8, false, false},
	} {
		mustProduce(t, h, payload(0, 24), PrioNormal)
		rec, err := c.Read()
		if err != nil {
			t.Fatal(err)
		}
		start := rec.Pos
		at := start + uint64(tc.off)
		if tc.none {
			at = 0
		}
		atomic.StoreUint64(roomAt, at)
		if err := c.Commit(); err != nil {
			t.Fatal(err)
		}
		if got := c.v.roomWanted(start); got != tc.want {
			t.Errorf("%s: room_at start%+d, head start+32: roomWanted %v, want %v",
				tc.name, tc.off, got, tc.want)
		}
		atomic.StoreUint64(roomAt, 0)
	}
}
