// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

// Records carry at least one byte: the module refuses empty ones now
// (reserve and write(2): EINVAL; read(2) would return 0, end of file). A
// zero-length header can still be in a ring (a module from before, or a
// corrupt one): the consumer takes it as an empty record, never as an
// error or a stall, and its walk stays bounded.

import (
	"bytes"
	"errors"
	"syscall"
	"testing"
)

func TestZeroLengthRecordRead(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	c := newConsumer(t, h.ring(t))
	mustProduce(t, h, nil, PrioCritical)
	mustProduce(t, h, payload(1, 8), PrioCritical)
	mustProduce(t, h, nil, PrioCritical)
	rec, err := c.Peek()
	if err != nil || len(rec.Data) != 0 {
		t.Fatalf("Peek of an empty record: %d bytes, %v", len(rec.Data), err)
	}
	rec, err = c.Read()
	if err != nil || len(rec.Data) != 0 || rec.Prio != PrioCritical {
		t.Fatalf("Read of an empty record: %d bytes, prio %d, %v", len(rec.Data), rec.Prio, err)
	}
	b, err := c.ReadBatch(8, 0)
	if err != nil || b.Records != 2 || b.Bytes != 8 {
		t.Fatalf("ReadBatch: %d records, %d bytes, %v", b.Records, b.Bytes, err)
	}
	var lens []int
	for r, ok := b.Next(); ok; r, ok = b.Next() {
		lens = append(lens, len(r.Data))
	}
	if len(lens) != 2 || lens[0] != 8 || lens[1] != 0 {
		t.Fatalf("batch lengths %v, want [8 0]", lens)
	}
	if err := c.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(); !errors.Is(err, ErrNoRecord) {
		t.Fatalf("after the empty records: %v", err)
	}
}

// A ring full of empty records (each one granule) is consumed in bounded
// steps, records counted one each.
func TestZeroLengthRecordsFillRing(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	c := newConsumer(t, h.ring(t))
	n := 0
	for h.produce(nil, PrioCritical) {
		n++
	}
	if n != 4096>>3 {
		t.Fatalf("%d empty records fit, want one per granule (%d)", n, 4096>>3)
	}
	got := 0
	for {
		k, err := c.Consume(100, func(r Record) error {
			if len(r.Data) != 0 {
				t.Fatalf("record of %d bytes", len(r.Data))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			break
		}
		got += k
	}
	if got != n {
		t.Fatalf("consumed %d of %d empty records", got, n)
	}
}

// Writev refuses an empty slice itself, wherever it is (the module refuses
// one before the last non-empty segment and ignores ones after it): no
// record, and the reason in the error, before any system call.
func TestWritevRefusesEmptyRecords(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	for _, recs := range [][][]byte{
		{[]byte("two"), {}, []byte("four")},
		{[]byte("two"), nil},
		{{}},
	} {
		err := r.Writev(recs...)
		if !errors.Is(err, syscall.EINVAL) || !bytes.Contains([]byte(err.Error()), []byte("empty")) {
			t.Errorf("Writev(%q): %v, want EINVAL saying a record is empty", recs, err)
		}
	}
	if h.prodPos() != 0 {
		t.Fatal("a refused Writev produced")
	}
}
