// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

// WriteContext while a Close waits behind a Write blocked on a full ring
// (review-16c M1): the Close is pending for as long as that Write, which
// only room ends; ctx must still end WriteContext.

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"
)

// closePending starts r.Close behind a Write blocked on r's full pipe and
// returns once Close has begun (set closing) and waits for that Write.
func closePending(t *testing.T, r *Ring, drain func()) {
	t.Helper()
	wrote := make(chan error, 1)
	go func() { _, err := r.Write(payload(1, 100)); wrote <- err }()
	closed := make(chan error, 1)
	go func() {
		time.Sleep(20 * time.Millisecond) // the Write first (not required)
		closed <- r.Close()
	}()
	for !r.closing.Load() {
		time.Sleep(time.Millisecond)
	}
	t.Cleanup(func() {
		drain()
		if err := <-wrote; err != nil {
			t.Errorf("the blocked Write, after the drain: %v", err)
		}
		if err := <-closed; err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

// watchdog: long enough for any scheduler, short against "until the
// blocked Write ends" (never, here, before the cleanup drains).
const watchdog = 10 * time.Second

func TestWriteContextDeadlineWithClosePending(t *testing.T) {
	r, drain := fullPipeRing(t)
	closePending(t, r, drain)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	res := make(chan error, 1)
	go func() { _, err := r.WriteContext(ctx, []byte("x")); res <- err }()
	select {
	case err := <-res:
		// A Close in progress ends it first (ErrClosed) or ctx does.
		if !errors.Is(err, ErrClosed) && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("WriteContext with Close pending: %v, want ErrClosed or DeadlineExceeded", err)
		}
	case <-time.After(watchdog):
		t.Fatalf("WriteContext with a 50 ms deadline still blocked after %v: a pending Close holds it", watchdog)
	}
}

func TestParkedWriteContextCancelledWithClosePending(t *testing.T) {
	r, drain := fullPipeRing(t)
	parked, unhook := parkedOnce()
	defer unhook()
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { _, err := r.WriteContext(ctx, []byte("x")); res <- err }()
	<-parked
	closePending(t, r, drain)
	cancel()
	select {
	case err := <-res:
		// Close ends the parked call itself before it waits for the
		// blocked Write; the cancel may come first.
		if !errors.Is(err, ErrClosed) && !errors.Is(err, context.Canceled) {
			t.Fatalf("parked WriteContext with Close pending, cancelled: %v, want ErrClosed or Canceled", err)
		}
	case <-time.After(watchdog):
		t.Fatalf("parked WriteContext, cancelled, still blocked after %v: a pending Close holds it", watchdog)
	}
}

// A parked WriteContext is ended by a Close that is still waiting for a
// blocked Write, without its ctx.
func TestParkedWriteContextEndedByPendingClose(t *testing.T) {
	r, drain := fullPipeRing(t)
	parked, unhook := parkedOnce()
	defer unhook()
	res := make(chan error, 1)
	go func() { _, err := r.WriteContext(context.Background(), []byte("x")); res <- err }()
	<-parked
	closePending(t, r, drain)
	select {
	case err := <-res:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("parked WriteContext ended by a pending Close: %v, want ErrClosed", err)
		}
	case <-time.After(watchdog):
		t.Fatalf("parked WriteContext not ended by a pending Close after %v", watchdog)
	}
}

// A writer file the runtime's poller does not take (epoll_ctl refuses it:
// here a regular file stands in for the device) is refused with EIO, not
// used for a write that no deadline could end (review-16c S2).
func TestWriteContextRefusesNotPollableWriter(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	f, err := os.CreateTemp(t.TempDir(), "notpollable")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r.fd = int(f.Fd())
	defer func() { r.fdMu.Lock(); r.fd = -1; r.fdMu.Unlock() }()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := r.WriteContext(ctx, []byte("abc"))
	if n != 0 || !errors.Is(err, syscall.EIO) {
		t.Fatalf("WriteContext on a file the poller refused: %d, %v; want 0, EIO", n, err)
	}
	if fi, err := f.Stat(); err != nil || fi.Size() != 0 {
		t.Fatalf("the refused writer wrote: size %v, %v", fi.Size(), err)
	}
	if k := len(r.writers) + len(r.writersBusy); k != 0 {
		t.Fatalf("%d refused writer files kept", k)
	}
}

// A burst of concurrent WriteContext calls leaves at most maxIdleWriters
// files open once they return (review-16c S1): each idle file is on the
// ring's queue of writers and costs every room wakeup.
func TestWriteContextPoolBounded(t *testing.T) {
	w := newWritePipe(t)
	w.fill(t)
	fdsBefore := openFds(t)
	max := maxIdleWriters()
	n := max + 8
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() { _, err := w.r.WriteContext(ctx, []byte("x")); res <- err }()
	}
	for busy := 0; busy < n; { // all n in flight at once, each with a file
		time.Sleep(time.Millisecond)
		w.r.wmu.Lock()
		busy = len(w.r.writersBusy)
		w.r.wmu.Unlock()
	}
	cancel()
	for i := 0; i < n; i++ {
		if err := <-res; !errors.Is(err, context.Canceled) {
			t.Fatalf("WriteContext cancelled: %v", err)
		}
	}
	w.r.wmu.Lock()
	idle := len(w.r.writers)
	w.r.wmu.Unlock()
	if idle != max {
		t.Fatalf("after %d concurrent calls: %d idle writer files kept, want %d", n, idle, max)
	}
	if fds := openFds(t); fds-fdsBefore != max {
		t.Fatalf("after %d concurrent calls: %d more files open, want %d", n, fds-fdsBefore, max)
	}
}

func openFds(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
