// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

// The bound Write and Writev document (review-16 item 11): a write that
// waits for room is a blocking write(2); nothing but room ends it, and
// Ring.Close waits for it rather than closing the file under it; after
// Close they return ErrClosed. The "device" is a full pipe's write end,
// which blocks write(2) the way a full ring does.

import (
	"errors"
	"os"
	"syscall"
	"testing"
	"time"
)

// fullPipeRing is a ring in memory whose device file is the write end of
// a pipe filled to the brim; drain empties it.
func fullPipeRing(t *testing.T) (*Ring, func()) {
	t.Helper()
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pr.Close(); pw.Close() })
	fill, err := syscall.Dup(int(pw.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fill)
	if err := syscall.SetNonblock(fill, true); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		if _, err := syscall.Write(fill, buf); err == syscall.EAGAIN {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	// The ring's own descriptor, blocking (the pipe's file status flags
	// are shared by every dup: set them back).
	fd, err := syscall.Dup(int(pw.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		t.Fatal(err)
	}
	r.fd = fd
	rd := int(pr.Fd()) // once: Fd makes the file blocking again
	drain := func() {
		b := make([]byte, 1<<16)
		syscall.SetNonblock(rd, true)
		for {
			if n, err := syscall.Read(rd, b); n <= 0 || err != nil {
				return
			}
		}
	}
	return r, drain
}

// notYet fails if ch is ready within a moment: what must still be blocked.
// (It can miss an early return on a slow machine, never report a false one.)
func notYet(t *testing.T, ch chan error, what string) {
	t.Helper()
	select {
	case err := <-ch:
		t.Fatalf("%s returned (%v) while the ring was full", what, err)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestWriteBlocksUntilRoomAndCloseWaits(t *testing.T) {
	for _, call := range []struct {
		name  string
		write func(r *Ring) error
	}{
		{"Write", func(r *Ring) error {
			n, err := r.Write(payload(1, 100))
			if err == nil && n != 100 {
				err = errors.New("short write")
			}
			return err
		}},
		{"Writev", func(r *Ring) error { return r.Writev(payload(1, 50), payload(2, 60)) }},
	} {
		t.Run(call.name, func(t *testing.T) {
			r, drain := fullPipeRing(t)
			wrote := make(chan error, 1)
			go func() { wrote <- call.write(r) }()
			notYet(t, wrote, call.name)
			closed := make(chan error, 1)
			go func() { closed <- r.Close() }()
			// Close waits for the write: it does not close the file
			// under it, nor does it end it.
			notYet(t, closed, "Ring.Close with a "+call.name+" blocked")
			notYet(t, wrote, call.name+" after Ring.Close began")
			drain() // room
			select {
			case err := <-wrote:
				if err != nil {
					t.Fatalf("%s once there was room: %v", call.name, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s still blocked after the drain", call.name)
			}
			select {
			case err := <-closed:
				if err != nil {
					t.Fatalf("Ring.Close after the write: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Ring.Close still waiting after the write returned")
			}
			if err := call.write(r); !errors.Is(err, ErrClosed) {
				t.Fatalf("%s after Close: %v, want ErrClosed", call.name, err)
			}
		})
	}
}
