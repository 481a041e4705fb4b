// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

// The API around the protocol (review-16, must-fix 1-5): batch lifetimes,
// mixing calls on one consumer, calls after Close, Close against writers,
// and Wait on a destroyed ring.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A Batch's records stop at the commit: after it their space goes back to
// the producers, so Next must not hand out what is left.
func TestBatchNextAfterCommit(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	c := newConsumer(t, r)
	for i := 0; i < 4; i++ {
		mustProduce(t, h, payload(i, 64), PrioCritical)
	}
	b, err := c.ReadBatch(4, 0)
	if err != nil || b.Records != 4 {
		t.Fatalf("ReadBatch: %d, %v", b.Records, err)
	}
	if _, ok := b.Next(); !ok {
		t.Fatal("first Next")
	}
	if err := c.Commit(); err != nil {
		t.Fatal(err)
	}
	h.reclaim()
	n := 0
	for _, ok := b.Next(); ok; _, ok = b.Next() {
		n++
	}
	if n != 0 {
		t.Fatalf("Batch.Next gave %d records after Commit and reclaim", n)
	}
	// Committed, it stays over whatever the consumer claims next.
	mustProduce(t, h, payload(8, 64), PrioCritical)
	b, err = c.ReadBatch(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Commit(); err != nil {
		t.Fatal(err)
	}
	mustProduce(t, h, payload(9, 64), PrioCritical)
	if _, err := c.Consume(1, func(Record) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Next(); ok {
		t.Fatal("Batch.Next after a later Consume")
	}
}

// Consume leaves records pending when fn fails; ReadBatch must not claim
// past them (their commit would count them consumed, never delivered).
func TestConsumeThenReadBatchLosesNothing(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	c := newConsumer(t, r)
	for i := 0; i < 6; i++ {
		mustProduce(t, h, payload(i, 64), PrioCritical)
	}
	var got [][]byte
	keep := func(rec Record) error {
		got = append(got, append([]byte(nil), rec.Data...))
		return nil
	}
	stop := errors.New("stop")
	n, err := c.Consume(3, func(rec Record) error { keep(rec); return stop })
	if n != 1 || err != stop {
		t.Fatalf("Consume: %d, %v", n, err)
	}
	if _, err := c.ReadBatch(3, 0); !errors.Is(err, ErrBusy) {
		t.Fatalf("ReadBatch with Consume's records pending: %v, want ErrBusy", err)
	}
	for len(got) < 6 {
		n, err := c.Consume(3, keep)
		if err != nil || n == 0 {
			t.Fatalf("Consume: %d, %v after %d records", n, err, len(got))
		}
	}
	for i := range got {
		if !bytes.Equal(got[i], payload(i, 64)) {
			t.Fatalf("record %d out of order or wrong", i)
		}
	}
}

// A Batch not yet walked: Consume must not commit it under its reader.
func TestReadBatchThenConsumeLosesNothing(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	c := newConsumer(t, r)
	for i := 0; i < 6; i++ {
		mustProduce(t, h, payload(i, 64), PrioCritical)
	}
	b, err := c.ReadBatch(3, 0)
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.Consume(3, func(Record) error { return nil })
	if !errors.Is(err, ErrBusy) || n != 0 {
		t.Fatalf("Consume while a batch is held: %d, %v, want ErrBusy", n, err)
	}
	for i := 0; i < 3; i++ {
		rec, ok := b.Next()
		if !ok || !bytes.Equal(rec.Data, payload(i, 64)) {
			t.Fatalf("batch record %d lost after the refused Consume", i)
		}
	}
	if err := c.Commit(); err != nil {
		t.Fatal(err)
	}
}

// Every method after Close: ErrClosed, no touch of the mapping.
func TestMethodsAfterClose(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	c := newConsumer(t, r)
	for i := 0; i < 4; i++ {
		mustProduce(t, h, payload(i, 64), PrioCritical)
	}
	b, err := c.ReadBatch(2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	closed := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", what, err)
		}
	}
	if _, ok := b.Next(); ok {
		t.Error("Batch.Next after Close gave a record")
	}
	_, err = c.Peek()
	closed("Peek", err)
	_, err = c.Read()
	closed("Read", err)
	_, err = c.ReadBatch(1, 0)
	closed("ReadBatch", err)
	closed("Validate", c.Validate())
	closed("Commit", c.Commit())
	_, err = c.Consume(1, func(Record) error { return nil })
	closed("Consume", err)
	closed("Wait", c.Wait(context.Background()))
	closed("SetWatermark", c.SetWatermark(0))
	if l := c.Lost(); l != (Lost{}) {
		t.Errorf("Lost after Close: %+v", l)
	}
	if n := r.AvailableBytes(); n != 0 {
		t.Errorf("AvailableBytes after Close: %d", n)
	}
	_, err = r.Stats()
	closed("Stats", err)
	_, err = r.ListConsumers()
	closed("ListConsumers", err)
	closed("SetWritePriority", r.SetWritePriority(0))
	_, err = r.Write([]byte{1})
	closed("Write", err)
	closed("Writev", r.Writev([]byte{1}))
}

// Close against writers: the fd must not be read while Close sets it
// (race detector), and a write after Close is ErrClosed, never a write to
// whatever file took the number.
func TestRingCloseRacesWrite(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	fd, err := syscall.Dup(int(pw.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	pw.Close()
	r.fd = fd // a ring whose device file is the pipe
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, err := pr.Read(buf); err != nil {
				return
			}
		}
	}()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 1000; i++ {
			if _, err := r.Write([]byte{1, 2, 3}); err != nil {
				if !errors.Is(err, ErrClosed) {
					t.Errorf("Write racing Close: %v, want nil or ErrClosed", err)
				}
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		time.Sleep(time.Millisecond)
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	wg.Wait()
	if _, err := r.Write([]byte{1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close: %v, want ErrClosed", err)
	}
}

// The ring's destruction reaches the poller once (a hangup). When a Wait
// before found records without parking, that edge is spent; the next Wait
// must still see the hangup (one look at the kernel before it parks)
// instead of sleeping forever. A pipe whose writer is gone stands in for
// the destroyed device: it reports POLLHUP.
func TestWaitSeesHangupBeforeParking(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	c := newConsumer(t, r)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := pr.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	c.waiter = &waiter{f: pr, rc: rc}
	pw.Close()                        // destroyed: the hangup edge fires
	time.Sleep(50 * time.Millisecond) // the poller takes it, no one waits
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Wait(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait on a destroyed, empty ring: %v, want ErrClosed (EPIPE)", err)
	}
}
