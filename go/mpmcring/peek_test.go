// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

import (
	"bytes"
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
