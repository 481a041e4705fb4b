// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

// WriteContext: a write that waits for room in the runtime's poller, so
// that it holds no thread and a context ends it. The ring's own file is
// blocking (Write's), so each WriteContext in flight writes through a
// non-blocking file of its own, opened from the ring's (reopen) and kept
// for reuse: a file's deadline is the one call's. The module wakes POLLOUT
// waiters from its tick once their class has room (kmod/fops.c,
// mpmcring_room_backstop), after a write that found none asked for it.

import (
	"context"
	"errors"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// deviceIoctl is the ioctl on the ring's and the writers' files (tests
// stand in for the module here when the "device" is a pipe).
var deviceIoctl = ioctl

// testHookWritePark, when set (by tests only), runs each time WriteContext
// is about to park for room.
var testHookWritePark func()

// WriteContext is Write that waits for room without holding a thread: the
// goroutine parks in the runtime's poller until the ring has room for the
// record's class, ctx is done (ctx.Err()), or the ring is closed
// (ErrClosed). One call, one record; an empty p writes nothing (0, nil).
// The class is the ring's (SetWritePriority). Each call in flight uses a
// file of its own on the device, reused: at most GOMAXPROCS idle ones stay
// open between calls (each is woken with the ring's waiters), the rest
// are closed (PrepareWriteContext opens one before a process drops
// privileges). The kernel's wakeup says the class has room for a small
// record; a larger record that still does not fit parks again until the
// next of the module's ticks.
//
// Retrying: an error (ctx's, ErrClosed or another) means the record was
// not written, so a caller that retries only on an error writes it once;
// (n, nil) means it was written, even if ctx was done or Close had begun
// by the time the call returned. Once Close begins, calls return
// ErrClosed without waiting for the Writes that Close waits for; a call
// already inside write(2) is not waited for, and its record can land (and
// be reported written) after Close returned.
func (r *Ring) WriteContext(ctx context.Context, p []byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	f, err := r.takeWriter()
	if err != nil {
		return 0, err
	}
	n, err := r.writeOn(ctx, f, p)
	r.putWriter(f)
	return n, err
}

// PrepareWriteContext opens a file for WriteContext now, which it otherwise
// opens on first use: the open checks the device's permissions again.
func (r *Ring) PrepareWriteContext() error {
	f, err := r.takeWriter()
	if err != nil {
		return err
	}
	r.putWriter(f)
	return nil
}

func (r *Ring) writeOn(ctx context.Context, f *os.File, p []byte) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, errorf(syscall.EIO, "%s: the runtime's poller cannot wait on the device: %v", r.path, err)
	}
	if d, ok := ctx.Deadline(); ok {
		f.SetWriteDeadline(d)
	} else {
		f.SetWriteDeadline(time.Time{})
	}
	// A Close that ended this file's wait before the line above: its past
	// deadline was just overwritten.
	if r.closing.Load() {
		return 0, r.closedError()
	}
	var cancelled atomic.Bool
	if done := ctx.Done(); done != nil {
		stop, exited := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(exited)
			select {
			case <-done:
				cancelled.Store(true)
				f.SetWriteDeadline(time.Unix(1, 0))
			case <-stop:
			}
		}()
		defer func() {
			close(stop)
			<-exited // the file goes back to the pool with no late deadline
		}()
	}
	var n int
	var werr syscall.Errno
	err = rc.Write(func(fd uintptr) bool {
		for {
			var e error
			n, e = syscall.Write(int(fd), p)
			switch e {
			case nil:
				return true
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				if testHookWritePark != nil {
					testHookWritePark()
				}
				return false
			}
			n, werr = 0, errnoOf(e)
			return true
		}
	})
	switch {
	case err == nil && werr != 0:
		return 0, r.writeError(werr)
	case err == nil:
		return n, nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		if r.closing.Load() {
			return 0, r.closedError()
		}
		if cancelled.Load() || ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, context.DeadlineExceeded
	case errors.Is(err, os.ErrClosed):
		return 0, r.closedError()
	default:
		return 0, errorf(errnoOf(err), "%s: write: %v", r.path, err)
	}
}

// takeWriter gives a writer file that no other call uses. It takes wmu,
// never mu; the open's fdMu.RLock cannot queue behind Close's fdMu.Lock:
// Close sets closing first, and takes fdMu only after wmu (closeWriters).
func (r *Ring) takeWriter() (*os.File, error) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.closing.Load() {
		return nil, r.closedError()
	}
	if r.rdonly {
		return nil, errorf(syscall.EBADF, "%s: the ring was opened read-only (OpenReadOnly): writers need Open", r.path)
	}
	var f *os.File
	if k := len(r.writers); k > 0 {
		f, r.writers = r.writers[k-1], r.writers[:k-1]
	} else {
		var err error
		// O_NONBLOCK ourselves: a file the poller refused stays as
		// opened, and must not block a thread in write(2).
		if f, err = r.reopenFlags(os.O_WRONLY|syscall.O_NONBLOCK, "to write to it"); err != nil {
			// Its device gone (or another's now): only a destroy
			// takes it away. What Write says on its own file.
			if isGoneDevice(err) {
				return nil, r.writeError(syscall.EPIPE)
			}
			return nil, err
		}
		// Deadlines work only on files the poller took: without them
		// neither ctx nor Close could end a wait.
		if err := f.SetWriteDeadline(time.Time{}); err != nil {
			f.Close()
			return nil, errorf(syscall.EIO, "%s: the runtime's poller cannot wait on the device: %v (at fs.epoll.max_user_watches?)", r.path, err)
		}
		if r.prioSet {
			if err := setFilePrio(f, r.writePrio); err != nil {
				f.Close()
				return nil, errorf(errnoOf(err), "%s: setting a writer's class to %d: %v", r.path, r.writePrio, err)
			}
		}
	}
	if r.writersBusy == nil {
		r.writersBusy = make(map[*os.File]bool)
	}
	r.writersBusy[f] = true // in the ring's class; setWritersPrio may clear it
	return f, nil
}

// maxIdleWriters bounds the idle files kept for reuse: each is on the
// ring's queue of writers (in the netpoller), and every room wakeup
// polls it.
func maxIdleWriters() int { return runtime.GOMAXPROCS(0) }

// putWriter gives the file back for reuse, or closes it after Close or
// beyond maxIdleWriters.
func (r *Ring) putWriter(f *os.File) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	inClass := r.writersBusy[f]
	delete(r.writersBusy, f)
	if !inClass || r.closing.Load() || len(r.writers) >= maxIdleWriters() {
		f.Close()
		return
	}
	r.writers = append(r.writers, f)
}

// closeWriters (Close, after it set closing) closes the idle writers and
// ends the waits of the busy ones: each closes its own file when it
// returns. A call that set its deadline after this sees closing.
func (r *Ring) closeWriters() {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	for _, f := range r.writers {
		f.Close()
	}
	r.writers = nil
	for f := range r.writersBusy {
		f.SetWriteDeadline(time.Unix(1, 0))
	}
}

// setWritersPrio (SetWritePriority, after the ring's file took prio)
// gives every writer file, and those opened later, the class. A file that
// cannot take it leaves the pool (an idle one is closed now, a busy one
// when its call returns), so that every pooled file writes in the ring's
// class; the call on a busy file began before SetWritePriority and may
// still write in the old one.
func (r *Ring) setWritersPrio(prio uint32) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.writePrio, r.prioSet = prio, true
	kept := r.writers[:0]
	for _, f := range r.writers {
		if setFilePrio(f, prio) != nil {
			f.Close()
			continue
		}
		kept = append(kept, f)
	}
	for i := len(kept); i < len(r.writers); i++ {
		r.writers[i] = nil
	}
	r.writers = kept
	for f := range r.writersBusy {
		if setFilePrio(f, prio) != nil {
			r.writersBusy[f] = false
		}
	}
}

func setFilePrio(f *os.File, prio uint32) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var sysErr error
	if err := rc.Control(func(fd uintptr) {
		sysErr = deviceIoctl(int(fd), iocSetPrio, unsafe.Pointer(&prio))
	}); err != nil {
		return err
	}
	return sysErr
}
