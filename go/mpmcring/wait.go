// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

// Waiting through the runtime's poller. Each consumer that waits opens the
// ring's device once more, read-only (a file of its own: its deadline and
// its watermark are its own, and goroutines waiting on different consumers
// do not queue behind one another on one file's read lock). The runtime
// registers that file with its epoll, edge-triggered, and parks the
// goroutine, not a thread.
//
// Edge-triggered waiting is sound here because the kernel decides wakeups
// at commit time (kmod/wait.c): a commit wakes when the consumers had caught
// up with it, whatever the sleeper last saw through ->poll. The one race,
// a record committed between our look at the ring and the park, is closed
// by the runtime: RawConn.Read resets the file's ready state before it
// calls check the first time, and a wakeup that arrives after the reset
// (before or during the park) makes the park return at once.

import (
	"context"
	"errors"
	"math/bits"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

type waiter struct {
	f     *os.File
	rc    syscall.RawConn
	class uint32 // watermark class: wake at 2^class bytes (0: any record)
}

func (w *waiter) close() { w.f.Close() }

func (c *Consumer) getWaiter() (*waiter, error) {
	if c.closed {
		return nil, errConsumerClosed
	}
	if c.waiter != nil {
		return c.waiter, nil
	}
	f, err := c.r.reopen()
	if err != nil {
		return nil, err
	}
	rc, err := f.SyscallConn()
	if err == nil {
		// Deadlines work only on files the poller took.
		err = f.SetReadDeadline(time.Time{})
	}
	if err != nil {
		f.Close()
		return nil, errorf(syscall.EIO, "%s: the runtime's poller cannot wait on the device: %v", c.r.path, err)
	}
	c.waiter = &waiter{f: f, rc: rc}
	return c.waiter, nil
}

// PrepareWait opens now the file Wait (and SetWatermark) sleep on, which
// they otherwise open on first use. The open checks the device's
// permissions again: a process that opens rings as root and then drops
// privileges calls PrepareWait before dropping them.
func (c *Consumer) PrepareWait() error {
	_, err := c.getWaiter()
	return err
}

// waiterIoctl is the ioctl on a waiter's file: tests whose "device" is a
// pipe (a memory ring, under the race detector) stand in for the module's
// side of SetWatermark here.
var waiterIoctl = ioctl

// SetWatermark makes Wait sleep until at least bytes are reserved past the
// head and a finished record waits there (0: any record). The kernel rounds
// it down to a power of two; at most half the ring's DataSize (EINVAL).
func (c *Consumer) SetWatermark(bytes uint64) error {
	w, err := c.getWaiter()
	if err != nil {
		return err
	}
	var sysErr error
	err = w.rc.Control(func(fd uintptr) {
		sysErr = waiterIoctl(int(fd), iocSetWatermark, unsafe.Pointer(&bytes))
	})
	if err == nil {
		err = sysErr
	}
	if err != nil {
		return errorf(errnoOf(err), "%s: setting the wakeup watermark to %d bytes: %v", c.r.path, bytes, err)
	}
	w.class = 0
	if bytes > 1 {
		w.class = uint32(bits.Len64(bytes) - 1)
	}
	return nil
}

// ready is mpmcring_ready (kmod/wait.c) seen from the mapping: a finished
// record waits at the head with 2^class bytes reserved from there, or the
// head is corrupt (the caller wakes and meets the error).
func (c *Consumer) ready(class uint32) bool {
	if c.pendingLeft() {
		return true
	}
	v := c.v
	s := v.positions()
	if !v.headSane(s) {
		return true
	}
	if s.head == s.prod || s.prod-s.head < 1<<class {
		return false
	}
	var r rec
	return v.recordAt(s.head, s.prod, &r) != recNone
}

// pollNow asks the kernel for the file's state without waiting.
func pollNow(fd uintptr) (int16, error) {
	pfd := struct {
		fd      int32
		events  int16
		revents int16
	}{int32(fd), pollIn, 0}
	var ts syscall.Timespec
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1,
			uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return pfd.revents, nil
	}
}

const (
	pollIn  = 0x1
	pollErr = 0x8
	pollHup = 0x10
)

// deadAfterGone bounds how long Wait waits for a ring whose device is
// gone to be marked dead: the destroy's wait for its producers (an RCU
// grace period) lies between the two, milliseconds even on a loaded
// machine.
var deadAfterGone = 5 * time.Second

// isGoneDevice says whether a reopen failed because the device is gone
// (ENODEV; ENXIO for a file that was no device at all).
func isGoneDevice(err error) bool {
	e := errnoOf(err)
	return e == syscall.ENODEV || e == syscall.ENXIO
}

// awaitDead waits, sleeping, until the ring's meta page says dead, ctx is
// done (its error) or deadAfterGone passed (nil: the caller reports its
// own error then).
func (c *Consumer) awaitDead(ctx context.Context) error {
	t := time.NewTimer(deadAfterGone)
	defer t.Stop()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !c.v.dead() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		case <-tick.C:
		}
	}
	return nil
}

// testHookPark, when set (by tests only, before any consumer waits), is
// called each time Wait is about to park: where a test cancels a Wait that
// is really parked, not one that has not started. One nil check per park.
var testHookPark func()

// Wait sleeps until a record is ready for this consumer (or its watermark
// is reached): it returns nil then, ctx.Err() once ctx is done, ErrClosed
// when the ring was destroyed and is empty. The goroutine parks in the
// runtime's poller; no thread blocks. The kernel's wakeup reaches it as
// soon as the runtime polls: at once while some P is idle; in a process
// whose every P stays busy (goroutines spinning on runtime.Gosched, say)
// within the 10 ms of the runtime's background poll.
func (c *Consumer) Wait(ctx context.Context) error {
	w, err := c.getWaiter()
	if err != nil {
		// A record in the mapping is ready whatever the device says
		// (review-gopoll18 S2: a destroyed ring of ABI 1.2 kept its
		// records behind the reopen's error).
		if !c.closed && c.ready(0) {
			return nil
		}
		// A ring destroyed before this consumer's first park: its
		// device cannot be opened again (ENODEV), and the meta page
		// (ABI 1.3) tells the end: dead first, then the look. The
		// destroy removes the device before it marks the ring dead
		// (it waits for producers in between), so a reopen can fail
		// while the word still says alive: wait for the word.
		if !c.closed && c.v.stateP != nil && isGoneDevice(err) {
			if e := c.awaitDead(ctx); e != nil {
				return e
			}
		}
		if !c.closed && c.v.dead() {
			if c.ready(0) {
				return nil
			}
			return errorf(syscall.EPIPE, "%s: the ring was destroyed and is empty", c.r.path)
		}
		// A module before ABI 1.3 keeps no word: the ring's own file,
		// still open, hangs up once the ring is destroyed, after every
		// record committed before the destroy landed ([D2]): the look
		// after the hangup is the end.
		if !c.closed && c.v.stateP == nil && isGoneDevice(err) && c.r.hungUp() {
			if c.ready(0) {
				return nil
			}
			return errorf(syscall.EPIPE, "%s: the ring was destroyed and is empty", c.r.path)
		}
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok {
		w.f.SetReadDeadline(d)
	} else {
		w.f.SetReadDeadline(time.Time{})
	}
	// A context that can be cancelled ends the park through the deadline.
	var stop chan struct{}
	var cancelled atomic.Bool
	if done := ctx.Done(); done != nil {
		stop = make(chan struct{})
		exited := make(chan struct{})
		go func() {
			defer close(exited)
			select {
			case <-done:
				cancelled.Store(true)
				w.f.SetReadDeadline(time.Unix(1, 0))
			case <-stop:
			}
		}()
		defer func() {
			close(stop)
			<-exited // no late deadline lands on the next Wait
		}()
	}

	var waitErr error
	first := true
	err = w.rc.Read(func(fd uintptr) bool {
		if first {
			// The fast path: no system call when records are there.
			first = false
			if c.ready(w.class) {
				return true
			}
			// The end, told by the meta page without a system
			// call (ABI 1.3): dead first, then the look, as the
			// kernel's poll does; once dead, any record is ready
			// (no more will come to fill a watermark).
			if c.v.dead() {
				if c.ready(0) {
					return true
				}
				waitErr = errorf(syscall.EPIPE, "%s: the ring was destroyed and is empty", c.r.path)
				return true
			}
			// Before parking, the kernel's look once: the ring's
			// destruction wakes once (a hangup), and that edge may
			// have been spent while no one waited (the reset before
			// this check drops it). Without this look the park would
			// never end.
		}
		// The kernel's own look, which also tells destruction.
		ev, e := pollNow(fd)
		switch {
		case e != nil:
			waitErr = errorf(errnoOf(e), "%s: poll: %v", c.r.path, e)
			return true
		case ev&pollIn != 0:
			return true
		case ev&pollHup != 0:
			// Dead (poll loaded it), then our look: a module before
			// ABI 1.3 may hang up without POLLIN below the watermark
			// (review-gopoll18 S1; the C poller's d06e31e).
			if c.ready(0) {
				return true
			}
			waitErr = errorf(syscall.EPIPE, "%s: the ring was destroyed and is empty", c.r.path)
			return true
		case ev&pollErr != 0:
			waitErr = errorf(syscall.EIO, "%s: poll reported an error on the waiter's file (POLLERR; the module itself never sets it, so the file is not the ring's device any more): close the ring and open it again", c.r.path)
			return true
		}
		if testHookPark != nil {
			testHookPark()
		}
		return false
	})
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if cancelled.Load() {
				return ctx.Err()
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return context.DeadlineExceeded
		}
		return errorf(errnoOf(err), "%s: waiting: %v", c.r.path, err)
	}
	return waitErr
}
