// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

// SetWritePriority and WriteContext's pooled files on the host
// (review-16c S4, S5): the module's SET_PRIO ioctl is stood in for by a
// recorder, since the "device" is a pipe.

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"unsafe"
)

// prioRecorder records the class each file descriptor was given, and
// refuses it (EIO) to the descriptors in refuse.
type prioRecorder struct {
	mu     sync.Mutex
	prio   map[int]uint32
	refuse map[int]bool
}

func recordPrio(t *testing.T) *prioRecorder {
	t.Helper()
	rec := &prioRecorder{prio: map[int]uint32{}, refuse: map[int]bool{}}
	deviceIoctl = func(fd int, req uintptr, arg unsafe.Pointer) error {
		if req != iocSetPrio {
			return ioctl(fd, req, arg)
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if rec.refuse[fd] {
			return syscall.EIO
		}
		rec.prio[fd] = *(*uint32)(arg)
		return nil
	}
	t.Cleanup(func() { deviceIoctl = ioctl })
	return rec
}

func (rec *prioRecorder) of(fd int) (uint32, bool) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	p, ok := rec.prio[fd]
	return p, ok
}

// fdOf is f's descriptor, without f.Fd() (which makes the file blocking).
func fdOf(t *testing.T, f *os.File) int {
	t.Helper()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fd := -1
	rc.Control(func(d uintptr) { fd = int(d) })
	return fd
}

// poolWithBusy leaves w's ring with two idle writer files and a third that
// a WriteContext call parked on the full pipe holds; it returns the three
// descriptors (idle, idle, busy) and ends the call with the returned func.
// The pool keeps GOMAXPROCS idle files: at least 4 for the test.
func poolWithBusy(t *testing.T, w *writePipe) ([3]int, func() error) {
	t.Helper()
	if procs := runtime.GOMAXPROCS(0); procs < 4 {
		runtime.GOMAXPROCS(4)
		t.Cleanup(func() { runtime.GOMAXPROCS(procs) })
	}
	var fds [3]int
	a, err := w.r.takeWriter()
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.r.takeWriter()
	if err != nil {
		t.Fatal(err)
	}
	c, err := w.r.takeWriter()
	if err != nil {
		t.Fatal(err)
	}
	fds[0], fds[1], fds[2] = fdOf(t, a), fdOf(t, b), fdOf(t, c)
	w.r.putWriter(c) // taken first below: the pool is a stack
	w.r.putWriter(b)
	w.r.putWriter(a)
	w.fill(t)
	parked, unhook := parkedOnce()
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { _, err := w.r.WriteContext(ctx, []byte("x")); res <- err }()
	<-parked
	unhook()
	w.r.wmu.Lock()
	for f := range w.r.writersBusy {
		if fdOf(t, f) != fds[0] {
			t.Errorf("the parked call holds fd %d, want %d", fdOf(t, f), fds[0])
		}
	}
	w.r.wmu.Unlock()
	fds[0], fds[2] = fds[2], fds[0]
	return fds, func() error {
		cancel()
		if err := <-res; !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	}
}

// Every writer file gets the ring's class: idle, busy, and opened later.
func TestSetWritePriorityReclassesPooledWriters(t *testing.T) {
	w := newWritePipe(t)
	rec := recordPrio(t)
	fds, end := poolWithBusy(t, w)
	if err := w.r.SetWritePriority(2); err != nil {
		t.Fatalf("SetWritePriority(2): %v", err)
	}
	if p, ok := rec.of(w.r.fd); !ok || p != 2 {
		t.Fatalf("the ring's own file: class %d (set %v), want 2", p, ok)
	}
	for i, fd := range fds {
		if p, ok := rec.of(fd); !ok || p != 2 {
			t.Errorf("writer file %d (fd %d, busy %v): class %d (set %v), want 2", i, fd, i == 2, p, ok)
		}
	}
	if err := end(); err != nil {
		t.Fatalf("the parked WriteContext, cancelled: %v", err)
	}
	w.r.wmu.Lock()
	idle := len(w.r.writers)
	w.r.wmu.Unlock()
	if idle != 3 {
		t.Fatalf("%d idle writer files after the call returned, want all 3 kept", idle)
	}
	// A file opened after SetWritePriority gets the class when opened.
	var taken []*os.File
	for i := 0; i < 4; i++ {
		f, err := w.r.takeWriter()
		if err != nil {
			t.Fatal(err)
		}
		taken = append(taken, f)
	}
	fresh := fdOf(t, taken[3])
	if p, ok := rec.of(fresh); !ok || p != 2 {
		t.Errorf("a writer file opened after SetWritePriority (fd %d): class %d (set %v), want 2", fresh, p, ok)
	}
	for _, f := range taken {
		w.r.putWriter(f)
	}
}

// A file that cannot take the class leaves the pool (an idle one at once,
// a busy one when its call returns): no pooled file writes in the old one.
func TestSetWritePriorityDropsWritersThatRefuseIt(t *testing.T) {
	w := newWritePipe(t)
	rec := recordPrio(t)
	fds, end := poolWithBusy(t, w)
	rec.mu.Lock()
	rec.refuse[fds[1]], rec.refuse[fds[2]] = true, true // one idle, the busy one
	rec.mu.Unlock()
	if err := w.r.SetWritePriority(1); err != nil {
		t.Fatalf("SetWritePriority(1) with two writer files refusing it: %v, want nil (the ring took it)", err)
	}
	w.r.wmu.Lock()
	var idle []int
	for _, f := range w.r.writers {
		idle = append(idle, fdOf(t, f))
	}
	w.r.wmu.Unlock()
	if len(idle) != 1 || idle[0] != fds[0] {
		t.Fatalf("idle writer files %v after SetWritePriority, want only fd %d (fd %d refused the class)",
			idle, fds[0], fds[1])
	}
	if err := end(); err != nil {
		t.Fatalf("the parked WriteContext, cancelled: %v", err)
	}
	w.r.wmu.Lock()
	defer w.r.wmu.Unlock()
	if len(w.r.writers) != 1 {
		t.Fatalf("%d idle writer files after the busy call returned, want 1: the busy file refused the class and must not be pooled",
			len(w.r.writers))
	}
	for _, f := range w.r.writers {
		if p, ok := rec.of(fdOf(t, f)); !ok || p != 1 {
			t.Fatalf("a pooled writer file (fd %d) has class %d (set %v), want 1", fdOf(t, f), p, ok)
		}
	}
}

// The module refuses SET_PRIO on a file not open for writing (EPERM), as
// it refuses a class above user_max_prio: on a ring opened read-only the
// message says the former, as the C library's does (helper-261).
func TestSetWritePriorityOnAReadOnlyRingSaysSo(t *testing.T) {
	var p [2]int
	if err := syscall.Pipe(p[:]); err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(p[0])
	defer syscall.Close(p[1])
	r := &Ring{fd: p[0], path: "/dev/mpmcring-ro", rdonly: true}
	old := deviceIoctl
	deviceIoctl = func(fd int, req uintptr, arg unsafe.Pointer) error {
		if req == iocSetPrio {
			return syscall.EPERM // the module's answer to a read-only file
		}
		return old(fd, req, arg)
	}
	defer func() { deviceIoctl = old }()
	err := r.SetWritePriority(0)
	if !errors.Is(err, syscall.EPERM) || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("SetWritePriority on a read-only ring: %v, want EPERM naming read-only", err)
	}
}
