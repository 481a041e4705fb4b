// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

// roomWanted (mpr_room_wanted): after a commit, whether the consumer asks
// the kernel for room (MPMCRING_IOC_ROOM). Only where the meta page's
// room_at says a writer waits for room the claim held: room_at set, the
// claim beginning before it, the head at or past it. Anything else would
// cost consumers a system call per commit, or leave the writer to the tick.

import (
	"errors"
	"sync/atomic"
	"syscall"
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

// A claim of discarded records only hands nothing over and no commit
// follows: the claim itself asks for room (tests/host/commit_room_test.c:
// the library's), where a commit of the same span would. Each way to
// take records: Read, ReadBatch, Consume.
func TestClaimOfDiscardsOnlyAsksForRoom(t *testing.T) {
	h, c, roomAt, asks := roomAsks(t, 4096)
	takes := []struct {
		name string
		take func() (int, error)
	}{
		{"Read", func() (int, error) {
			if _, err := c.Read(); err != nil {
				return 0, err
			}
			return 1, c.Commit()
		}},
		{"ReadBatch", func() (int, error) {
			b, err := c.ReadBatch(4, 1<<20)
			if err != nil {
				return 0, err
			}
			n := 0
			for _, ok := b.Next(); ok; _, ok = b.Next() {
				n++
			}
			return n, c.Commit()
		}},
		{"Consume", func() (int, error) {
			return c.Consume(4, func(Record) error { return nil })
		}},
	}
	discardTwo := func() uint64 {
		start := h.prodPos()
		for i := 0; i < 2; i++ {
			if !h.discard(24) {
				t.Fatal("discard: ring full")
			}
		}
		return start
	}
	for _, tk := range takes {
		for _, tc := range []struct {
			name string
			off  int64 // room_at - the first discarded record's start
			none bool  // room_at 0: no writer ever waited
			want int
		}{
			{"nobody waits", 0, true, 0},
			{"inside the span", 8, false, 1},
			{"at its end, the head", 64, false, 1},
			{"past the head", 72, false, 0},
			{"at its start", 0, false, 0},
			{"before it", -8, false, 0},
		} {
			start := discardTwo()
			at := start + uint64(tc.off)
			if tc.none {
				at = 0
			}
			atomic.StoreUint64(roomAt, at)
			*asks = 0
			n, err := tk.take()
			if n != 0 || (err != nil && !errors.Is(err, ErrNoRecord)) {
				t.Fatalf("%s, %s: took %d, %v; want nothing", tk.name, tc.name, n, err)
			}
			if head := atomic.LoadUint64(h.v.head()); head != start+64 {
				t.Fatalf("%s, %s: head %d, want %d (past the discarded records)",
					tk.name, tc.name, head, start+64)
			}
			if *asks != tc.want {
				t.Errorf("%s, %s: room_at start%+d, head start+64: %d asks, want %d",
					tk.name, tc.name, tc.off, *asks, tc.want)
			}
			atomic.StoreUint64(roomAt, 0)
		}
		// Discards, then a record: one claim of both; its commit asks, once.
		start := discardTwo()
		mustProduce(t, h, payload(0, 24), PrioNormal)
		atomic.StoreUint64(roomAt, start+8)
		*asks = 0
		if n, err := tk.take(); n != 1 || err != nil {
			t.Fatalf("%s: took %d, %v; want the record", tk.name, n, err)
		}
		if *asks != 1 {
			t.Errorf("%s: discards then a record, room_at inside the discards: %d asks, want 1", tk.name, *asks)
		}
		atomic.StoreUint64(roomAt, 0)
	}
}

// More discarded records than one claim walks past, then a record: Read's
// first attempt claims discarded records only, its next one the rest and
// the record. A target in the first span is asked for at once; one in the
// second lies in the claim, and its commit asks: one ask either way.
func TestSkipThenClaimAsksOnce(t *testing.T) {
	h, c, roomAt, asks := roomAsks(t, 1<<17)
	for _, inClaim := range []bool{false, true} {
		start := h.prodPos()
		for i := 0; i < claimWalk+100; i++ {
			if !h.discard(8) {
				t.Fatal("discard: ring full")
			}
		}
		recPos := h.prodPos()
		mustProduce(t, h, payload(0, 24), PrioNormal)
		at := start + 8 // in the first attempt's span
		if inClaim {
			at = recPos // the claim's record: past the first span
		}
		atomic.StoreUint64(roomAt, at)
		*asks = 0
		rec, err := c.Read()
		if err != nil || rec.Pos != recPos {
			t.Fatalf("in claim %v: read %v at %d, want the record at %d", inClaim, err, rec.Pos, recPos)
		}
		readAsks := *asks
		if err := c.Commit(); err != nil {
			t.Fatal(err)
		}
		if *asks != 1 {
			t.Errorf("target in the claim %v: %d asks (%d at the read), want 1", inClaim, *asks, readAsks)
		}
		atomic.StoreUint64(roomAt, 0)
	}
}

// A claim attempt that moved the head over discarded records only, then
// later attempts of the same call that fail (other consumers keep winning
// the head: EBUSY; a co-tenant scribbles on it: EBADMSG, no kernel to
// repair it): the call returns an error and no commit follows, so the skip
// is asked for before it returns (the kernel's read(2) once lost it on
// such a return). The hook stands for the others: after the first
// attempt's compare-and-swap it moves the head before each.
func TestSkipThenFailureStillAsks(t *testing.T) {
	for _, tc := range []struct {
		name string
		move func(h *testRing)
		want syscall.Errno
	}{
		{"busy", func(h *testRing) { atomic.AddUint64(h.v.head(), 16) }, syscall.EBUSY},
		{"corrupt", func(h *testRing) { atomic.AddUint64(h.v.head(), 4) }, syscall.EBADMSG},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, c, roomAt, asks := roomAsks(t, 1<<17)
			start := h.prodPos()
			// A first span of claimWalk discarded records, then enough
			// for every later attempt to find one more (16 bytes each).
			for i := 0; i < claimWalk+claimTries+100; i++ {
				if !h.discard(8) {
					t.Fatal("discard: ring full")
				}
			}
			mustProduce(t, h, payload(0, 24), PrioNormal)
			atomic.StoreUint64(roomAt, start+16) // in the first span
			cas := 0
			testHookClaimCAS = func() {
				if cas++; cas > 1 {
					tc.move(h)
				}
			}
			t.Cleanup(func() { testHookClaimCAS = nil })
			*asks = 0
			if _, err := c.Read(); err == nil || errnoOf(err) != tc.want {
				t.Fatalf("read: %v, want %v", err, tc.want)
			}
			if *asks != 1 {
				t.Errorf("read failed (%v) after skipping discarded records past room_at: %d asks, want 1",
					tc.want, *asks)
			}
		})
	}
}

// roomAsks: a ring of size bytes in memory, a consumer of it, its meta
// page's room_at, and the count of the consumer's asks for room (there is
// no kernel to ask: testHookRoom counts them, until the test ends).
func roomAsks(t *testing.T, size uint64) (*testRing, *Consumer, *uint64, *int) {
	h := newTestRing(t, ringParams{size: size})
	c := newConsumer(t, h.ring(t))
	asks := new(int)
	testHookRoom = func() { *asks++ }
	t.Cleanup(func() { testHookRoom = nil })
	return h, c, word(h.ro, metaRoomAt), asks
}
