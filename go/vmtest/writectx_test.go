// SPDX-License-Identifier: GPL-2.0-only

//go:build mpmcring_vm

package vmtest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

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

// metaWords maps the ring's read-only area and returns its meta page's
// reclaim_pos and room_at (ABI 1.5: a reclaim_pos a writer waiting for
// room wants reached; waiting while reclaim_pos is short of it).
func metaWords(t *testing.T, r *mpmcring.Ring) (reclaim, roomAt *uint64) {
	t.Helper()
	fd, err := syscall.Open(mpmcring.DefaultPath, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	ro, err := syscall.Mmap(fd, 0x100000000, int(r.Layout().ReadOnlyArea), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatalf("mapping the read-only area: %v", err)
	}
	t.Cleanup(func() { syscall.Munmap(ro) })
	// offsetof(struct mpmcring_meta, reclaim_pos), (..., room_at)
	return (*uint64)(unsafe.Pointer(&ro[576])), (*uint64)(unsafe.Pointer(&ro[584]))
}

// A Consumer's Commit that frees the room a parked WriteContext waits for
// asks the kernel to wake it (MPMCRING_IOC_ROOM, where room_at says so):
// the room wakeup is counted by the time Commit returns, not at the next
// tick. Commits over 20 ms decide nothing (a tick may land in them), nor
// does the first (the fill's target stands then); of the first five
// others, at least three must count it. Without the ask,
// none does but for a tick in the same window.
func TestCommitWakesWriteContextAtOnce(t *testing.T) {
	r, err := mpmcring.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Layout().ABIMinor < mpmcring.ABIMinorRoomAt {
		t.Fatalf("ABI 1.%d: no room_at", r.Layout().ABIMinor)
	}
	drainDefault(t, r)
	c, err := r.NewConsumer()
	if err != nil {
		t.Fatal(err)
	}
	size := 4000
	if m := int(r.Layout().MaxRecord); m < size {
		size = m
	}
	if fillWithWriteContext(t, r, size) == 0 {
		t.Fatal("the ring took no record")
	}
	reclaim, roomAt := metaWords(t, r)
	waiting := func() bool {
		at := atomic.LoadUint64(roomAt)
		return at != 0 && int64(atomic.LoadUint64(reclaim)-at) < 0
	}
	roomWakeups := func() uint64 {
		st, err := r.Stats()
		if err != nil {
			t.Fatal(err)
		}
		return st.RoomWakeups
	}
	decided, woke, rounds := 0, 0, 0
	for ; rounds < 20 && decided < 5; rounds++ {
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := r.WriteContext(ctx, bytes.Repeat([]byte{'w'}, size))
			done <- err
		}()
		// Its write(2) was refused and put a target reclaim has not
		// reached in room_at (the previous round's was passed when its
		// writer got in; in round 0 the fill's last refused write's
		// stands, for the same record).
		deadline := time.Now().Add(10 * time.Second)
		for !waiting() && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if !waiting() {
			t.Fatalf("round %d: no writer ever waited (room_at %#x, reclaim_pos %#x)",
				rounds, atomic.LoadUint64(roomAt), atomic.LoadUint64(reclaim))
		}
		c0 := roomWakeups()
		t0 := time.Now()
		rec, err := c.Read()
		if err != nil || len(rec.Data) != size {
			t.Fatalf("round %d: read: %d bytes, %v", rounds, len(rec.Data), err)
		}
		if err := c.Commit(); err != nil {
			t.Fatalf("round %d: commit: %v", rounds, err)
		}
		fast := time.Since(t0) <= 20*time.Millisecond
		c1 := roomWakeups()
		if err := <-done; err != nil {
			t.Fatalf("round %d: WriteContext once the commit made room: %v", rounds, err)
		}
		// Round 0's target was the fill's: its commit may come before
		// the writer waits. It decides nothing.
		if !fast || rounds == 0 {
			continue
		}
		decided++
		if c1 > c0 {
			woke++
		}
	}
	if decided < 5 {
		t.Fatalf("only %d commits of %d took under 20 ms", decided, rounds)
	}
	if woke < 3 {
		t.Fatalf("%d of %d commits that freed room for a parked WriteContext counted a wakeup", woke, decided)
	}
	drainDefault(t, r)
}

// A ring destroyed, and another created that takes its device's minor
// number: the old Ring's WriteContext opens the device again
// (/proc/self/fd/N), which now reaches the new ring. It must say the old
// ring's end (EPIPE), not write to the new ring (helper-261). A consumer's
// first Wait says EPIPE too, but by the old ring's dead word, read before
// any reopen: the window where the reopen alone decides (after the device
// went, before the word) is not reached here.
func TestReopenAfterDestroyDoesNotReachANewRing(t *testing.T) {
	fx := newLGRing(t, "greuse", 1) // never started: empty
	old, err := os.Stat("/dev/mpmcring-greuse")
	if err != nil {
		t.Fatal(err)
	}
	if err := fx.destroy(); err != nil {
		t.Fatalf("rmmod %s: %v", lgName, err)
	}
	startLG(t, "greuse2", "size=65536 threads=1 count=1 autostart=0")
	cur, err := os.Stat("/dev/mpmcring-greuse2")
	if err != nil {
		t.Fatal(err)
	}
	if cur.Sys().(*syscall.Stat_t).Rdev != old.Sys().(*syscall.Stat_t).Rdev {
		t.Fatalf("the new ring did not take the destroyed one's device number (%#x, %#x): nothing to test",
			cur.Sys().(*syscall.Stat_t).Rdev, old.Sys().(*syscall.Stat_t).Rdev)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := fx.r.WriteContext(ctx, []byte("to the old ring")); !errors.Is(err, syscall.EPIPE) {
		t.Errorf("WriteContext on the destroyed ring: %v, want EPIPE", err)
	}
	if err := fx.c.Wait(ctx); !errors.Is(err, syscall.EPIPE) {
		t.Errorf("Wait on the destroyed, empty ring: %v, want EPIPE", err)
	}
	r2, err := mpmcring.OpenReadOnly("greuse2")
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	st, err := r2.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.ProducedRecords != 0 {
		t.Errorf("the new ring got %d records meant for the destroyed one", st.ProducedRecords)
	}
}
