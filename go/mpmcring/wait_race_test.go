// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

// Wait, SetWatermark, reopen and Close with a waiter open, on the host
// under the race detector (review-16 item 9). The ring is in Go memory,
// produced by the Go test producer; its "device" is a pipe: a byte
// written to it is the kernel's wakeup, and the test drains it before it
// looks at the ring again (the kernel's poll is level: ready while records
// wait; a pipe is ready while bytes wait).

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

type pipeRing struct {
	h     *testRing
	r     *Ring
	fd    int      // the ring's "device": the pipe's read end
	drain int      // another read end, non-blocking: the test's
	pw    *os.File // the wakeup
}

// newPipeRing makes the ring and n consumers of it (attached before the
// pipe stands in for the device: a pipe has no slots to attach).
func newPipeRing(t *testing.T, size uint64, n int) (*pipeRing, []*Consumer) {
	t.Helper()
	p := &pipeRing{h: newTestRing(t, ringParams{size: size})}
	p.r = p.h.ring(t)
	cs := make([]*Consumer, n)
	for i := range cs {
		cs[i] = newConsumer(t, p.r)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.pw = pw
	if p.fd, err = syscall.Dup(int(pr.Fd())); err != nil {
		t.Fatal(err)
	}
	if p.drain, err = syscall.Dup(int(pr.Fd())); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	if err := syscall.SetNonblock(p.drain, true); err != nil {
		t.Fatal(err)
	}
	p.r.fd = p.fd
	t.Cleanup(func() {
		p.noDevice()
		syscall.Close(p.fd)
		syscall.Close(p.drain)
		pw.Close()
	})
	return p, cs
}

// noDevice takes the pipe away from the ring before its consumers close:
// a pipe has no consumer slot to detach (ENOTTY).
func (p *pipeRing) noDevice() {
	p.r.fdMu.Lock()
	p.r.fd = -1
	p.r.fdMu.Unlock()
}

func (p *pipeRing) wake() error {
	_, err := p.pw.Write([]byte{1})
	return err
}

func (p *pipeRing) drainWakeups() {
	var b [64]byte
	for {
		if n, err := syscall.Read(p.drain, b[:]); n <= 0 || err != nil {
			return
		}
	}
}

// A producer goroutine commits records and wakes; the consumer drains the
// wakeups, reads what is there, and Waits, under deadlines and cancellable
// contexts, while other goroutines look at the ring (Stats, AvailableBytes,
// Fd) and a second consumer Peeks and takes losses. Every record arrives,
// in order, and no Wait runs into its 10 s deadline.
func TestWaitWithProducerUnderRace(t *testing.T) {
	p, cs := newPipeRing(t, 4096, 2)
	c, c2 := cs[0], cs[1]
	n := 3000
	if testing.Short() {
		n = 1000
	}
	var parks atomic.Int64
	testHookPark = func() { parks.Add(1) }
	defer func() { testHookPark = nil }()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var prodErr atomic.Value
	wg.Add(2)
	go func() { // the producer
		defer wg.Done()
		for i := 0; i < n; {
			b := payload(i, 8+i%40)
			b[0], b[1] = byte(i), byte(i>>8)
			if !p.h.produce(b, PrioCritical) {
				time.Sleep(10 * time.Microsecond) // full: the consumer is behind
				continue
			}
			// Now and then the consumer catches up and parks:
			// a park counted after the last record was made.
			before := parks.Load()
			if err := p.wake(); err != nil {
				prodErr.Store(err)
				return
			}
			i++
			if i%100 == 0 && i < n {
				for deadline := time.Now().Add(10 * time.Second); parks.Load() == before; {
					if time.Now().After(deadline) {
						prodErr.Store(errors.New("the consumer never parked"))
						return
					}
					time.Sleep(50 * time.Microsecond)
				}
			}
		}
	}()
	go func() { // onlookers
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			p.r.Stats() // ENOTTY from the pipe: only the locking matters
			p.r.AvailableBytes()
			p.r.Fd()
			if _, err := c2.Peek(); err != nil && !errors.Is(err, ErrNoRecord) && !errors.Is(err, ErrBusy) {
				prodErr.Store(err)
				return
			}
			c2.Lost()
			time.Sleep(50 * time.Microsecond)
		}
	}()
	got := 0
	for round := 0; got < n; round++ {
		p.drainWakeups()
		for {
			rec, err := c.Read()
			if errors.Is(err, ErrNoRecord) {
				break
			}
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if seq := int(rec.Data[0]) | int(rec.Data[1])<<8; seq != got&0xffff || len(rec.Data) != 8+got%40 {
				t.Fatalf("record %d: seq %d, %d bytes", got, seq, len(rec.Data))
			}
			got++
			if err := c.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		if got == n {
			break
		}
		// Deadline only, deadline and cancel, cancel only.
		var ctx context.Context
		var cancel context.CancelFunc
		switch round % 3 {
		case 0:
			ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
		case 1:
			outer, cancelOuter := context.WithTimeout(context.Background(), 10*time.Second)
			var cancelInner context.CancelFunc
			ctx, cancelInner = context.WithCancel(outer)
			cancel = func() { cancelInner(); cancelOuter() }
		default:
			ctx, cancel = context.WithCancel(context.Background())
			time.AfterFunc(10*time.Second, cancel)
		}
		err := c.Wait(ctx)
		cancel()
		if err != nil {
			t.Fatalf("Wait with %d of %d records taken: %v", got, n, err)
		}
		if e := prodErr.Load(); e != nil {
			t.Fatal(e)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d records, %d parks", n, parks.Load())
	if e := prodErr.Load(); e != nil {
		t.Fatal(e)
	}
	p.noDevice()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}
}

// SetWatermark asks the kernel (here a stand-in for its ioctl) and makes
// Wait's own look hold out for the watermark: one small record does not end
// a Wait under a 512-byte watermark, enough bytes do without any wakeup from
// the kernel, a refused watermark changes nothing, and 0 is any record.
func TestSetWatermarkHoldsWait(t *testing.T) {
	p, cs := newPipeRing(t, 4096, 1)
	c := cs[0]
	var asked []uint64
	waiterIoctl = func(fd int, req uintptr, arg unsafe.Pointer) error {
		if req != iocSetWatermark {
			return syscall.ENOTTY
		}
		v := *(*uint64)(arg)
		asked = append(asked, v)
		if v > p.h.l.DataSize/2 {
			return syscall.EINVAL // what the module says
		}
		return nil
	}
	defer func() { waiterIoctl = ioctl }()

	if err := c.SetWatermark(1000); err != nil {
		t.Fatalf("SetWatermark(1000): %v", err)
	}
	mustProduce(t, p.h, payload(0, 10), PrioCritical)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	err := c.Wait(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait under a 1000-byte watermark (512 after rounding) with one 24-byte record: %v, want DeadlineExceeded", err)
	}
	// 24 bytes a record: 22 of them pass 512 bytes reserved.
	for i := 1; i < 22; i++ {
		mustProduce(t, p.h, payload(i, 10), PrioCritical)
	}
	if err := waitWithin(c, 10*time.Second); err != nil {
		t.Fatalf("Wait with the watermark reached (no wakeup written): %v", err)
	}
	err = c.SetWatermark(p.h.l.DataSize)
	if !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("SetWatermark above half the ring: %v, want EINVAL", err)
	}
	if c.waiter.class != 9 {
		t.Fatalf("a refused watermark changed the class: %d, want 9", c.waiter.class)
	}
	if err := c.SetWatermark(0); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 21; i++ {
		if _, err := c.Read(); err != nil {
			t.Fatal(err)
		}
	}
	c.Commit()
	if err := waitWithin(c, 10*time.Second); err != nil {
		t.Fatalf("Wait with watermark 0 and one record left: %v", err)
	}
	if len(asked) != 3 || asked[0] != 1000 || asked[1] != p.h.l.DataSize || asked[2] != 0 {
		t.Fatalf("the kernel was asked for %v, want [1000 %d 0]", asked, p.h.l.DataSize)
	}
	p.noDevice()
	c.Close()
}

func waitWithin(c *Consumer, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return c.Wait(ctx)
}

// Close of the ring while a consumer's Wait is parked is refused (EBUSY)
// and leaves the Wait alone; the Wait still ends on the next wakeup. Then
// the consumer's Close closes its waiter's file, and Wait, SetWatermark and
// PrepareWait after it are ErrClosed; the ring then closes.
func TestCloseWithWaiterOpen(t *testing.T) {
	p, cs := newPipeRing(t, 4096, 1)
	c := cs[0]
	parked := make(chan struct{}, 1)
	testHookPark = func() {
		select {
		case parked <- struct{}{}:
		default:
		}
	}
	defer func() { testHookPark = nil }()
	errc := make(chan error, 1)
	go func() { errc <- waitWithin(c, 10*time.Second) }()
	select {
	case <-parked:
	case err := <-errc:
		t.Fatalf("Wait returned before it parked: %v", err)
	}
	var wg sync.WaitGroup
	closeErrs := make([]error, 4)
	for i := range closeErrs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			closeErrs[i] = p.r.Close()
			p.r.Stats()
		}(i)
	}
	wg.Wait()
	for _, err := range closeErrs {
		if !errors.Is(err, syscall.EBUSY) {
			t.Fatalf("Ring.Close with a consumer waiting: %v, want EBUSY", err)
		}
	}
	mustProduce(t, p.h, payload(1, 10), PrioCritical)
	if err := p.wake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("the parked Wait after a refused Ring.Close and a wakeup: %v", err)
	}
	testHookPark = nil

	f := c.waiter.f
	p.noDevice()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Stat(); err == nil {
		t.Fatalf("the waiter's file after Consumer.Close: %v, want closed", err)
	}
	if err := c.Wait(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait after Close: %v, want ErrClosed", err)
	}
	if err := c.SetWatermark(64); !errors.Is(err, ErrClosed) {
		t.Fatalf("SetWatermark after Close: %v, want ErrClosed", err)
	}
	if err := c.PrepareWait(); !errors.Is(err, ErrClosed) {
		t.Fatalf("PrepareWait after Close: %v, want ErrClosed", err)
	}
	if err := p.r.Close(); err != nil {
		t.Fatalf("Ring.Close after its consumer closed: %v", err)
	}
}
