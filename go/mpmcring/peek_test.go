// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

import (
	"bytes"
	"errors"
	"syscall"
	"testing"
)

// Peek claims nothing: another consumer may take the record, commit it and
// have its space rewritten while the caller still looks at what Peek gave.
// What Peek gives must stay what was in the record.
func TestPeekIsACopy(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	c := newConsumer(t, r)
	other := newConsumer(t, r)
	mustProduce(t, h, payload(1, 100), PrioNormal)
	p, err := c.Peek()
	if err != nil || !bytes.Equal(p.Data, payload(1, 100)) {
		t.Fatalf("Peek: %v", err)
	}
	// The other consumer takes it; the space is reclaimed and reused.
	last := p.Pos
	for i := 0; i < 60; i++ {
		got, err := other.Read()
		if err != nil {
			t.Fatalf("Read %d: %v", i, err)
		}
		if i == 0 && got.Pos != p.Pos {
			t.Fatalf("Read gave the record at %#x, Peek saw %#x", got.Pos, p.Pos)
		}
		if i > 0 && !before(last, got.Pos) {
			t.Fatalf("Pos %#x after %#x: not in ring order", got.Pos, last)
		}
		last = got.Pos
		if err := other.Commit(); err != nil {
			t.Fatalf("Commit %d: %v", i, err)
		}
		mustProduce(t, h, payload(2+i, 100), PrioNormal)
	}
	if !bytes.Equal(p.Data, payload(1, 100)) {
		t.Fatal("the record Peek gave changed under the caller (an alias of space producers reused)")
	}
}

// reuseUnderPeek makes the record Peek is about to copy (at pos) another
// consumer's, commits it, lets reclaim pass it and rewrites its payload, as
// a producer reusing the space would: what Peek copies next is torn.
func reuseUnderPeek(t *testing.T, h *testRing, other *Consumer, pos uint64) {
	got, err := other.Read()
	if err != nil || got.Pos != pos {
		t.Fatalf("the other consumer's Read: %v at %#x, Peek is at %#x", err, got.Pos, pos)
	}
	if err := other.Commit(); err != nil {
		t.Fatal(err)
	}
	h.reclaim()
	if before(h.reclaimPos(), pos+1) {
		t.Fatalf("reclaim at %#x did not pass %#x", h.reclaimPos(), pos)
	}
	h.put(pos&(h.l.DataSize-1)+hdrSize, bytes.Repeat([]byte{0xee}, len(got.Data)))
}

// A record reused while Peek copies it: the copy is thrown away (intact
// says the space was reclaimed since the walk) and Peek looks again,
// giving the next record, never the rewritten bytes.
func TestPeekRetriesWhenReusedUnderTheCopy(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	c := newConsumer(t, r)
	other := newConsumer(t, r)
	mustProduce(t, h, payload(1, 100), PrioNormal)
	mustProduce(t, h, payload(2, 100), PrioNormal)
	calls := 0
	testHookPeekCopy = func(pos uint64) {
		if calls++; calls == 1 {
			reuseUnderPeek(t, h, other, pos)
		}
	}
	defer func() { testHookPeekCopy = nil }()
	p, err := c.Peek()
	if err != nil {
		t.Fatalf("Peek: %v", err)
	}
	if calls != 2 || !bytes.Equal(p.Data, payload(2, 100)) {
		t.Fatalf("Peek after its first copy was reused: %d copies, data %x..., want the next record", calls, p.Data[:8])
	}
}

// Reused under every copy: ErrBusy after peekTries looks, never a torn
// record.
func TestPeekBusyWhenAlwaysReused(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	c := newConsumer(t, r)
	other := newConsumer(t, r)
	for i := 0; i < peekTries+2; i++ {
		mustProduce(t, h, payload(i, 100), PrioNormal)
	}
	calls := 0
	testHookPeekCopy = func(pos uint64) {
		calls++
		reuseUnderPeek(t, h, other, pos)
	}
	defer func() { testHookPeekCopy = nil }()
	p, err := c.Peek()
	if !errors.Is(err, syscall.EBUSY) || calls != peekTries {
		t.Fatalf("Peek with every copy reused: %v after %d copies (data %x), want ErrBusy after %d", err, calls, p.Data, peekTries)
	}
}

// After a stopped Consume the shared head is past the undelivered rest of
// its claim: Peek must show this consumer's next record, the one Read
// delivers, not ErrNoRecord over records only this consumer can read.
func TestPeekAfterStoppedConsume(t *testing.T) {
	h := newTestRing(t, ringParams{size: 8192})
	c := newConsumer(t, h.ring(t))
	for i := 0; i < 10; i++ {
		mustProduce(t, h, payload(i, 40), PrioCritical)
	}
	stop := errors.New("stop")
	n := 0
	if got, err := c.Consume(64, func(Record) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	}); got != 3 || err != stop {
		t.Fatalf("Consume: %d, %v", got, err)
	}
	for i := 3; i < 10; i++ {
		p, err := c.Peek()
		if err != nil || !bytes.Equal(p.Data, payload(i, 40)) {
			t.Fatalf("Peek %d after the stop: %v", i, err)
		}
		got, err := c.Read()
		if err != nil || !bytes.Equal(got.Data, payload(i, 40)) {
			t.Fatalf("Read %d after the stop: %v", i, err)
		}
		if got.Pos != p.Pos {
			t.Fatalf("Read gave the record at %#x, Peek saw %#x", got.Pos, p.Pos)
		}
	}
	if _, err := c.Peek(); err != ErrNoRecord {
		t.Fatalf("Peek with nothing left: %v", err)
	}
	if err := c.Commit(); err != nil {
		t.Fatal(err)
	}
	mustProduce(t, h, payload(10, 40), PrioCritical)
	p, err := c.Peek()
	if err != nil || !bytes.Equal(p.Data, payload(10, 40)) {
		t.Fatalf("Peek at the head again: %v", err)
	}
	if got, err := c.Read(); err != nil || got.Pos != p.Pos {
		t.Fatalf("Read after Peek at the head: %v", err)
	}
}
