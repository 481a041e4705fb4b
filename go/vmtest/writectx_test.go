// SPDX-License-Identifier: GPL-2.0-only

//go:build mpmcring_vm

package vmtest

import (
	"bytes"
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"mpmcring.dev/go/mpmcring"
)

// fillWithWriteContext writes records of n bytes until the ring is full
// for the write class (the default, normal; the raw file below has it
// too): a WriteContext finds no room within 200 ms, and a plain
// non-blocking write(2) of the same record, 250 ms later (any reclaim
// lag cleared by the module's tick), is refused too. The second look is
// needed: WriteContext also returns DeadlineExceeded without writing at
// all when its deadline passed before its first write(2), which a slow
// guest's pause of the goroutine can make happen with the ring far from
// full. That is rare: more than twice in one fill, or a fill that
// WriteContext took no part in, is a WriteContext that waited with room
// it was not woken for, and fails.
func fillWithWriteContext(t *testing.T, r *mpmcring.Ring, n int) int {
	t.Helper()
	rec := bytes.Repeat([]byte{'f'}, n)
	fd, err := syscall.Open(mpmcring.DefaultPath, syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("opening the default ring to check it is full: %v", err)
	}
	defer syscall.Close(fd)
	probed := 0
	for k := 0; ; k++ {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := r.WriteContext(ctx, rec)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			time.Sleep(250 * time.Millisecond)
			if _, err := syscall.Write(fd, rec); err != nil {
				if !errors.Is(err, syscall.EAGAIN) {
					t.Fatalf("write(2) checking the ring is full, record %d: %v", k, err)
				}
				if k == probed {
					t.Fatalf("WriteContext wrote none of the %d records that filled the ring", k)
				}
				return k
			}
			probed++
			t.Logf("record %d: WriteContext's deadline passed, yet a write(2) found room", k)
			if probed > 2 {
				t.Fatalf("WriteContext gave up %d times with room a write(2) then took: not woken?", probed)
			}
			continue
		}
		if err != nil {
			t.Fatalf("WriteContext while filling, record %d: %v", k, err)
		}
	}
}

// WriteContext on the device: it parks on a full ring and the module's tick
// wakes it once a consumer made room; a cancel ends the park; the class set
// with SetWritePriority reaches the pooled writer files; Close ends a
// parked call with ErrClosed.
func TestWriteContextDevice(t *testing.T) {
	r, err := mpmcring.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	drainDefault(t, r)
	c, err := r.NewConsumer()
	if err != nil {
		t.Fatal(err)
	}
	size := 4000
	if m := int(r.Layout().MaxRecord); m < size {
		size = m
	}
	k := fillWithWriteContext(t, r, size)
	if k == 0 {
		t.Fatal("the ring took no record")
	}
	// Records of the size that found no room (a smaller one may fit).
	sized := func(tag string) []byte {
		b := bytes.Repeat([]byte{'.'}, size)
		copy(b, tag)
		return b
	}

	// Cancelled while waiting for room.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, err := r.WriteContext(ctx, sized("cancelled")); !errors.Is(err, context.Canceled) {
		t.Fatalf("WriteContext on a full ring, cancelled: %v, want Canceled", err)
	}

	// Woken by room: the consumer takes everything.
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, err := r.WriteContext(ctx, sized("last"))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("WriteContext on a full ring returned: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	read := 0
	var last []byte
	for {
		n, err := c.Consume(64, func(rec mpmcring.Record) error {
			read++
			last = append(last[:0], rec.Data...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("WriteContext once the consumer made room: %v", err)
	}
	if read == k { // "last" came after the drain
		if err := c.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		c.Consume(64, func(rec mpmcring.Record) error {
			read++
			last = append(last[:0], rec.Data...)
			return nil
		})
	}
	if read != k+1 || !bytes.Equal(last, sized("last")) {
		t.Fatalf("read %d records, the last %d bytes, want %d ending with the %d-byte \"last\"",
			read, len(last), k+1, size)
	}

	// The class reaches the writer files already open.
	if err := r.SetWritePriority(mpmcring.PrioLow); err != nil {
		t.Fatal(err)
	}
	if _, err := r.WriteContext(context.Background(), []byte("low")); err != nil {
		t.Fatal(err)
	}
	rec, err := c.Read()
	if err != nil || string(rec.Data) != "low" || rec.Prio != mpmcring.PrioLow ||
		rec.Flags&mpmcring.RecFromUser == 0 {
		t.Fatalf("WriteContext after SetWritePriority(PrioLow): %q class %d flags %#x, %v",
			rec.Data, rec.Prio, rec.Flags, err)
	}
	c.Commit()
	if err := r.SetWritePriority(mpmcring.PrioNormal); err != nil {
		t.Fatal(err)
	}

	// Close ends a parked WriteContext.
	fillWithWriteContext(t, r, size)
	go func() {
		_, err := r.WriteContext(context.Background(), sized("never"))
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, mpmcring.ErrClosed) {
			t.Fatalf("WriteContext ended by Close: %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Ring.Close did not end a parked WriteContext")
	}
	r2, err := mpmcring.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	drainDefault(t, r2)
}
