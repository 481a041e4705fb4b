// SPDX-License-Identifier: GPL-2.0-only

//go:build mpmcring_vm

package vmtest

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"mpmcring.dev/go/internal/testrec"
	"mpmcring.dev/go/mpmcring"
)

// Far longer than any wakeup takes: a Wait that reaches it with a record
// waiting lost its wakeup.
const lostAfter = 5 * time.Second

// drainDefault empties the default ring of what earlier programs left.
func drainDefault(t *testing.T, r *mpmcring.Ring) {
	t.Helper()
	c, err := r.NewConsumer()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for {
		n, err := c.Consume(1024, func(mpmcring.Record) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// Ping-pong through the ring: each record is written only after the
// consumer read the previous one, so the consumer goes back to sleep in
// the runtime's poller (epoll, edge-triggered) between records and every
// record races its sleep.
func TestWaitWritePingPong(t *testing.T) {
	cycles := 20000
	if v, err := strconv.Atoi(os.Getenv("MPMCRING_WAKE_CYCLES")); err == nil && v < cycles {
		cycles = v
	}
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
	var acked atomic.Int64
	// The writer blocks on acks (no spinning: a goroutine spinning on
	// the run queue keeps the scheduler from polling, and the wakeup
	// would wait for sysmon's 10 ms poll instead of the kernel's edge).
	acks := make(chan struct{}, 1)
	var sleeps, lost, bad int
	done := make(chan struct{})
	go func() {
		defer close(done)
		for next := uint64(0); next < uint64(cycles); {
			rec, err := c.Read()
			if err == nil {
				if len(rec.Data) != 8 || binary.LittleEndian.Uint64(rec.Data) != next ||
					rec.Flags&mpmcring.RecFromUser == 0 {
					bad++
				}
				if c.Commit() != nil {
					bad++
				}
				next++
				acked.Store(int64(next))
				acks <- struct{}{}
				continue
			}
			if !errors.Is(err, mpmcring.ErrNoRecord) {
				bad++
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), lostAfter)
			err = c.Wait(ctx)
			cancel()
			switch {
			case err == nil:
				sleeps++
			case errors.Is(err, context.DeadlineExceeded) && r.AvailableBytes() > 0:
				lost++
			case !errors.Is(err, context.DeadlineExceeded):
				bad++
				return
			}
		}
	}()
	buf := make([]byte, 8)
	for i := 0; i < cycles; i++ {
		binary.LittleEndian.PutUint64(buf, uint64(i))
		if _, err := r.Write(buf); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		select {
		case <-acks:
		case <-done:
			// The consumer acks the last record, then ends: both
			// cases can be ready, and select picks either. Only a
			// consumer that ended before acking this record failed.
			if acked.Load() != int64(i+1) {
				t.Fatalf("the consumer stopped after %d records: %d bad", acked.Load(), bad)
			}
			<-acks // the ack is in the buffer: it was sent before done closed
		}
	}
	<-done
	c.Close()
	t.Logf("%d records, the consumer slept %d times", cycles, sleeps)
	if lost != 0 || bad != 0 || acked.Load() != int64(cycles) || sleeps == 0 {
		t.Errorf("%d lost wakeups, %d bad, %d of %d read, %d sleeps", lost, bad, acked.Load(), cycles, sleeps)
	}
}

// owedSlice is how often a wait of waitKernelProducers looks whether the
// producers finished.
const owedSlice = 100 * time.Millisecond

// errNotOwed ends a waitOwed once no wakeup can be owed.
var errNotOwed = errors.New("the producers finished below the threshold: no wakeup owed")

// lgFinished says whether every producer attempted its count (false when
// the stats cannot be read: the test's own readLG reports that).
func lgFinished() bool {
	b, err := os.ReadFile(lgStatsF)
	return err == nil && strings.Contains("\n"+string(b), "\nfinished 1\n")
}

// waitOwed is one sleep of waitKernelProducers' consumer: c.Wait for up
// to lostAfter, which a watcher ends early (errNotOwed) once the producers
// have finished (every commit done: the load generator stores each
// producer's count with release after its commits) with fewer than want
// bytes ready. No commit comes after that and only this consumer moves the
// head, so the ring stays below want: no wakeup is owed, and the Wait would
// have run out its lostAfter to find fewer than want bytes ready, which is
// no lost wakeup either. (With a watermark the last records never reach
// it: that was 5 s of every run.) With want bytes ready the Wait runs to
// lostAfter as before, and a wakeup that never comes is still lost. One
// Wait, not slices of it: each Wait begins with a look at the ring, which
// would take a lost wakeup's records for a wakeup.
func waitOwed(c *mpmcring.Consumer, r *mpmcring.Ring, want uint64) error {
	ctx, cancel := context.WithTimeout(context.Background(), lostAfter)
	defer cancel()
	var notOwed atomic.Bool
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		tick := time.NewTicker(owedSlice)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if lgFinished() && r.AvailableBytes() < want {
				notOwed.Store(true)
				cancel()
				return
			}
		}
	}()
	err := c.Wait(ctx)
	close(stop)
	<-watched
	if errors.Is(err, context.Canceled) && notOwed.Load() {
		return errNotOwed
	}
	return err
}

// Kernel producers in hardirq and NMI context wake a goroutine asleep in
// Wait; with a watermark, never before that many bytes are ready.
func waitKernelProducers(t *testing.T, watermark uint64) {
	startLG(t, "gwake", "size=1048576 threads=0 hrtimer=1 nmi=1 count=1500 "+
		"timer_ns=300000 timer_batch=1 autostart=0")
	r, err := mpmcring.Open("gwake")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, err := r.NewConsumer()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if watermark&(watermark-1) != 0 {
		// The kernel wakes at the watermark rounded down to a power of
		// two; the checks below use the watermark itself.
		t.Fatalf("watermark %d is not a power of two", watermark)
	}
	if watermark != 0 {
		if err := c.SetWatermark(watermark); err != nil {
			t.Fatal(err)
		}
	}
	lgCommand(t, "start")
	want := watermark
	if want == 0 {
		want = 1
	}
	var got, wakes, lost, short uint64
	finished := false
	for {
		for {
			rec, err := c.Read()
			if errors.Is(err, mpmcring.ErrNoRecord) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, bad := testrec.Check(rec.Data); bad != 0 {
				t.Errorf("corrupt record (%d)", bad)
			}
			got++
			if err := c.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		if finished {
			break
		}
		// Done producing: one more drain takes what is left.
		if finished = readLG(t).finished; finished {
			continue
		}
		err := waitOwed(c, r, want)
		switch {
		case errors.Is(err, errNotOwed):
		case err == nil:
			wakes++
			if watermark != 0 && r.AvailableBytes() < watermark {
				short++
			}
		case errors.Is(err, context.DeadlineExceeded):
			if r.AvailableBytes() >= want {
				lost++
			}
		default:
			t.Fatal(err)
		}
	}
	lg := readLG(t)
	t.Logf("committed %d, read %d, woken %d times", lg.total, got, wakes)
	if lost != 0 || short != 0 || got != lg.total || wakes == 0 {
		t.Errorf("%d lost wakeups, %d short wakes, read %d of %d, %d wakes", lost, short, got, lg.total, wakes)
	}
}

func TestWaitKernelProducersEdgeTriggered(t *testing.T) { waitKernelProducers(t, 0) }

func TestWaitWatermarkHoldsSleep(t *testing.T) { waitKernelProducers(t, 8192) }

// Cancelling the context ends a Wait at once, and the next Wait still
// works.
func TestWaitCancel(t *testing.T) {
	startLG(t, "gcancel", "size=65536 threads=1 count=10 autostart=0")
	r, err := mpmcring.Open("gcancel")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, err := r.NewConsumer()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Wait(ctx) }()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait after cancel: %v, want context.Canceled", err)
	}
	lgCommand(t, "start")
	waitLG(t)
	ctx, cancel = context.WithTimeout(context.Background(), lostAfter)
	defer cancel()
	if err := c.Wait(ctx); err != nil {
		t.Fatalf("Wait with records ready: %v", err)
	}
	if _, err := c.Read(); err != nil {
		t.Fatal(err)
	}
}

// A Wait asleep when its ring is destroyed ends with EPIPE once the ring
// is empty, and only then: the records committed before the destroy are
// read first, and a Wait on the drained, destroyed ring does not sleep
// until its deadline (the library's "destroyed and empty", POLLHUP without
// POLLIN).
func TestWaitEndsWithEPIPEWhenDestroyed(t *testing.T) {
	const count = 5
	fx := newLGRing(t, "gdestroy", count)
	c := fx.c
	lgCommand(t, "start")
	waitLG(t)

	// The consumer reads and waits until Wait fails; the destroy comes
	// once it drained the ring: asleep in a Wait, or on its way there.
	// Every wait here ends: the consumer's Waits at 4*lostAfter, the
	// test's at 5*lostAfter, and the consumer is stopped (and waited
	// for, so the deferred Close never races it) when the test gives up.
	type end struct {
		read int
		err  error
	}
	drained, stop := make(chan struct{}), make(chan struct{})
	done := make(chan end, 1)
	go func() {
		read, told := 0, false
		for {
			select {
			case <-stop: // a Wait that keeps returning nil: the test failed
				done <- end{read, errors.New("stopped by the test")}
				return
			default:
			}
			n, err := c.Consume(count, func(mpmcring.Record) error { return nil })
			if err != nil {
				done <- end{read, err}
				return
			}
			read += n
			if read == count && !told {
				close(drained)
				told = true
			}
			ctx, cancel := context.WithTimeout(context.Background(), 4*lostAfter)
			err = c.Wait(ctx)
			cancel()
			if err != nil {
				done <- end{read, err}
				return
			}
		}
	}()
	giveUp := func() end {
		close(stop)
		return <-done
	}
	select {
	case <-drained:
	case e := <-done:
		t.Fatalf("the consumer ended after %d of %d records: %v", e.read, count, e.err)
	case <-time.After(5 * lostAfter):
		e := giveUp()
		t.Fatalf("the consumer did not read the %d records in %v (%d read, %v)", count, 5*lostAfter, e.read, e.err)
	}
	if err := fx.destroy(); err != nil {
		giveUp()
		t.Fatalf("rmmod %s: %v", lgName, err)
	}
	var e end
	select {
	case e = <-done:
	case <-time.After(5 * lostAfter):
		e = giveUp()
		t.Fatalf("the consumer's Waits did not end in %v after the destroy (%d read, %v)", 5*lostAfter, e.read, e.err)
	}
	if e.read != count {
		t.Errorf("read %d records, %d were committed before the destroy", e.read, count)
	}
	if !errors.Is(e.err, syscall.EPIPE) {
		t.Errorf("Wait on the destroyed, empty ring: %v, want EPIPE", e.err)
	}
}

// Review N7: the state-word path of Wait on a real destroy, taken
// deterministically. The consumer never waited before the destroy, so
// Wait has no file of its own and cannot open one (the device went with
// the ring): only the meta page's state word (ABI 1.3) can tell it the
// end. The records committed before the destroy come first (Wait returns
// nil while any is left), then EPIPE. Before the fix (f693321) that Wait
// said ENODEV: "opening the device again to wait on it".
func TestWaitStateWordAfterDestroyBeforeFirstWait(t *testing.T) {
	const count = 5
	fx := newLGRing(t, "gstate", count)
	r, c := fx.r, fx.c
	if r.Layout().ABIMinor < mpmcring.ABIMinorState {
		t.Fatalf("the module says ABI 1.%d: this test needs the state word (1.3)", r.Layout().ABIMinor)
	}
	lgCommand(t, "start")
	if lg := waitLG(t); lg.total != count {
		t.Fatalf("%d records committed, want %d", lg.total, count)
	}
	read := 0
	consume := func(max int) {
		n, err := c.Consume(max, func(mpmcring.Record) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		read += n
	}
	consume(2)
	if read != 2 {
		t.Fatalf("read %d records before the destroy, want 2", read)
	}
	if err := fx.destroy(); err != nil {
		t.Fatalf("rmmod %s: %v", lgName, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), lostAfter)
	defer cancel()
	if err := c.Wait(ctx); err != nil {
		t.Fatalf("Wait on the destroyed ring with %d records left: %v, want nil", count-read, err)
	}
	consume(count)
	if read != count {
		t.Errorf("read %d records, %d were committed before the destroy", read, count)
	}
	err := c.Wait(ctx)
	if !errors.Is(err, syscall.EPIPE) || !errors.Is(err, mpmcring.ErrClosed) {
		t.Fatalf("Wait on the destroyed, drained ring: %v, want EPIPE (ErrClosed)", err)
	}
}
