// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

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

// The host tests' "devices" are pipes and regular files, which no INFO
// ioctl can identify: reopened, they pass as the ring's; a character
// device is checked.
func standInIsRing(f *os.File, l *rawLayout) bool {
	if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice == 0 {
		return true
	}
	return sameRing(f, l)
}

func init() { reopenedIsRing = standInIsRing }

// Opened again, a file that is not the ring's (here a pipe, which answers
// no INFO) is refused as a gone device: WriteContext says the ring's end
// (EPIPE), as after a destroy whose device number went to another ring.
func TestReopenOfAFileNotTheRingsIsRefused(t *testing.T) {
	_, r, _ := waitRing(t)
	r.rdonly = false
	reopenedIsRing = sameRing
	t.Cleanup(func() { reopenedIsRing = standInIsRing })
	if _, err := r.reopen(); !isGoneDevice(err) {
		t.Fatalf("reopen of a pipe as the ring's device: %v, want ENODEV", err)
	}
	if _, err := r.WriteContext(context.Background(), []byte("x")); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("WriteContext whose reopen found another device: %v, want EPIPE", err)
	}
}

// waitRing is a ring in memory whose "device" is a pipe's read end: a
// pollable file that never becomes readable while the test holds the
// writer, so Wait parks in the runtime's poller on the host, under the
// race detector.
func waitRing(t *testing.T) (*testRing, *Ring, *Consumer) {
	t.Helper()
	return waitRingABI(t, ABIMinor)
}

// waitRingABI is waitRing as a module of ABI 1.minor describes it.
func waitRingABI(t *testing.T, minor uint16) (*testRing, *Ring, *Consumer) {
	t.Helper()
	h, r, c, _ := waitRingPipe(t, minor)
	return h, r, c
}

// waitRingPipe is waitRingABI with the pipe's write end: closing it is the
// device's hangup (POLLHUP without POLLIN). The cleanup closes it again,
// harmlessly.
func waitRingPipe(t *testing.T, minor uint16) (*testRing, *Ring, *Consumer, *os.File) {
	t.Helper()
	h := newTestRing(t, ringParams{size: 4096})
	h.l.ABIMinor = minor
	r := h.ring(t)
	c := newConsumer(t, r)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fd, err := syscall.Dup(int(pr.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	pr.Close()
	r.fd = fd
	t.Cleanup(func() {
		if c.waiter != nil {
			c.waiter.close()
			c.waiter = nil
		}
		r.fd = -1 // the pipe is not a ring: nothing to detach
		c.Close()
		syscall.Close(fd)
		pw.Close()
		r.Close()
	})
	return h, r, c, pw
}

// A Wait cancelled while it is parked returns Canceled, and leaves no
// deadline behind: the next Wait with a record ready returns nil.
func TestWaitCancelledWhileParked(t *testing.T) {
	h, _, c := waitRing(t)
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	parks := 0
	testHookPark = func() {
		parks++
		once.Do(cancel)
	}
	defer func() { testHookPark = nil }()
	errc := make(chan error, 1)
	go func() { errc <- c.Wait(ctx) }()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait cancelled while parked: %v, want Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait cancelled while parked did not return")
	}
	if parks == 0 {
		t.Fatal("Wait never parked: the cancel path was not exercised")
	}
	testHookPark = nil
	mustProduce(t, h, payload(1, 10), PrioNormal)
	if err := c.Wait(context.Background()); err != nil {
		t.Fatalf("Wait with a record ready after a cancelled Wait: %v", err)
	}
	// And a Wait with a deadline and nothing ready ends at the deadline.
	if _, err := c.Read(); err != nil {
		t.Fatal(err)
	}
	c.Commit()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if err := c.Wait(ctx2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait past its deadline: %v, want DeadlineExceeded", err)
	}
}

// The end told by the meta page's state word alone (ABI 1.3): the pipe
// that stands for the device never hangs up. A record committed before the
// end is still ready; once the ring is drained, Wait says ErrClosed at
// once instead of parking until its deadline. A module of ABI 1.2 leaves
// the word as padding: a DEAD there is not believed, Wait parks.
func TestWaitEndsOnStateDead(t *testing.T) {
	h, _, c := waitRing(t)
	mustProduce(t, h, payload(1, 10), PrioNormal)
	atomic.StoreUint64(word(h.ro, metaState), stateDead)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Wait(ctx); err != nil {
		t.Fatalf("Wait with a record left in a dead ring: %v, want nil", err)
	}
	if _, err := c.Read(); err != nil {
		t.Fatal(err)
	}
	c.Commit()
	if err := c.Wait(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait on a dead, drained ring: %v, want ErrClosed (EPIPE)", err)
	}

	h2, _, c2 := waitRingABI(t, 2)
	atomic.StoreUint64(word(h2.ro, metaState), stateDead)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if err := c2.Wait(ctx2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait on an ABI 1.2 ring whose padding reads DEAD: %v, want DeadlineExceeded", err)
	}
}

// goneDeviceRing is waitRingABI whose "device" cannot be opened again
// (a socket: ENXIO), as a destroyed ring's between the device's removal
// and the dead mark. hangUp makes the ring's own file report a hangup,
// as the destroy does (the socket's peer closed: POLLHUP).
func goneDeviceRing(t *testing.T, minor uint16) (h *testRing, c *Consumer, hangUp func()) {
	t.Helper()
	h, r, c := waitRingABI(t, minor)
	sv, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	pipeFd := r.fd
	r.fd = sv[0]
	peer := sv[1]
	t.Cleanup(func() {
		syscall.Close(sv[0])
		if peer >= 0 {
			syscall.Close(peer)
		}
		r.fd = pipeFd
	})
	return h, c, func() { syscall.Close(peer); peer = -1 }
}

// The destroy removes the device, waits for its producers, then marks the
// ring dead: a first Wait in between cannot open the device again and
// must wait for the mark, not fail with the reopen's error.
func TestWaitDeviceGoneBeforeDeadMark(t *testing.T) {
	h, c, _ := goneDeviceRing(t, ABIMinor)
	go func() {
		time.Sleep(30 * time.Millisecond)
		atomic.StoreUint64(word(h.ro, metaState), stateDead)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Wait(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("first Wait while the device is gone and the mark comes later: %v, want ErrClosed", err)
	}

	// Not marked within the context: the context's error, not the
	// reopen's.
	_, c2, _ := goneDeviceRing(t, ABIMinor)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if err := c2.Wait(ctx2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait, device gone, never marked: %v, want DeadlineExceeded", err)
	}

	// ABI 1.2 has no mark to wait for: while its file has not hung up,
	// the reopen's error at once.
	_, c3, _ := goneDeviceRing(t, 2)
	if err := c3.Wait(context.Background()); errnoOf(err) != syscall.ENXIO {
		t.Fatalf("Wait on an ABI 1.2 ring whose device is gone: %v, want ENXIO", err)
	}
}

// review-gopoll18 S2: a ring of ABI 1.2 destroyed after the consumer's
// last empty look, its device gone. A record committed before the
// destroy is still in the mapping: Wait says so (nil), not the reopen's
// error, which a Wait-then-read loop would return with the record unread.
// Once the ring is drained and its own file hung up, Wait says ErrClosed,
// the end, not an error a program cannot tell from a failure.
func TestWaitGoneDeviceABI12(t *testing.T) {
	h, c, hangUp := goneDeviceRing(t, 2)
	mustProduce(t, h, payload(1, 10), PrioNormal)
	hangUp()
	if err := c.Wait(context.Background()); err != nil {
		t.Fatalf("Wait, ABI 1.2, device gone, a record in the mapping: %v, want nil", err)
	}
	if _, err := c.Read(); err != nil {
		t.Fatal(err)
	}
	c.Commit()
	if err := c.Wait(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait, ABI 1.2, device gone, drained, its file hung up: %v, want ErrClosed", err)
	}
}

// review-gopoll18 S1: a module of ABI 1.2 from before 4de2b4d hangs up
// without POLLIN on a dead ring that holds records below the file's
// watermark (the C poller drains such a ring since d06e31e, api_test
// t_poller_hangup_below_watermark_drains). Wait said "destroyed and is
// empty" with the record unread. The pipe's write end closed is that
// hangup: POLLHUP, no POLLIN.
func TestWaitHangupBelowWatermarkABI12(t *testing.T) {
	h, _, c, pw := waitRingPipe(t, 2)
	old := waiterIoctl
	waiterIoctl = func(int, uintptr, unsafe.Pointer) error { return nil }
	defer func() { waiterIoctl = old }()
	if err := c.SetWatermark(1024); err != nil {
		t.Fatal(err)
	}
	mustProduce(t, h, payload(1, 10), PrioNormal) // 10 bytes: below 1024
	pw.Close()                                    // the destroy's hangup, without POLLIN
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Wait(ctx); err != nil {
		t.Fatalf("Wait on a hung-up ABI 1.2 ring holding a record below the watermark: %v, want nil", err)
	}
	if _, err := c.Read(); err != nil {
		t.Fatalf("the record Wait's error left behind: Read %v", err)
	}
	c.Commit()
	if err := c.Wait(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait on the hung-up, drained ABI 1.2 ring: %v, want ErrClosed", err)
	}
}

// The sysfs look before INFO: a character device named otherwise
// (/dev/null here) is not a ring, and gets no ring ioctl.
func TestMiscNamedRingRefusesAnotherDevice(t *testing.T) {
	if _, err := os.Stat("/sys/dev/char"); err != nil {
		t.Skip("no /sys/dev/char here: INFO alone decides")
	}
	fi, err := os.Stat("/dev/null")
	st, ok := sysStat(fi, err)
	if !ok {
		t.Fatalf("stat /dev/null: %v", err)
	}
	if miscNamedRing(uint64(st.Rdev)) {
		t.Fatalf("/dev/null (%#x) passed as a ring's device", st.Rdev)
	}
}

// The device number as the kernel encodes it (minors past 255 in the high
// bits: 6.12's dynamic misc minors start at 256), read back through a
// sysfs of the test's own.
func TestMiscNamedRingDecodesTheNumber(t *testing.T) {
	dir := t.TempDir()
	old := sysDevChar
	sysDevChar = dir + "/"
	t.Cleanup(func() { sysDevChar = old })
	for _, l := range []struct{ num, target string }{
		{"10:300", "../../devices/virtual/misc/mpmcring-x"},
		{"10:301", "../../devices/virtual/misc/fuse"},
		{"10:62", "../../devices/virtual/misc/mpmcring"},
	} {
		if err := os.Symlink(l.target, dir+"/"+l.num); err != nil {
			t.Fatal(err)
		}
	}
	mkdev := func(major, minor uint64) uint64 {
		return minor&0xff | (major&0xfff)<<8 | (minor&^0xff)<<12 | (major&^0xfff)<<32
	}
	for _, c := range []struct {
		major, minor uint64
		ring         bool
	}{
		{10, 300, true}, {10, 301, false}, {10, 62, true},
		{10, 302, true}, // no name: INFO decides
	} {
		if got := miscNamedRing(mkdev(c.major, c.minor)); got != c.ring {
			t.Errorf("%d:%d: %v, want %v", c.major, c.minor, got, c.ring)
		}
	}
}
