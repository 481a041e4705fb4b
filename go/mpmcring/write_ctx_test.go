// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

// WriteContext on the host under the race detector: the ring's device is a
// pipe's write end (a full pipe refuses a non-blocking write with EAGAIN
// and polls writable once drained, as a full ring does).

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

type writePipe struct {
	r  *Ring
	rd int // the pipe's read end, non-blocking
}

func newWritePipe(t testing.TB) *writePipe {
	t.Helper()
	h := newTestRing(t, ringParams{size: 4096})
	w := &writePipe{r: h.ring(t)}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pr.Close(); pw.Close() })
	if w.rd, err = syscall.Dup(int(pr.Fd())); err != nil {
		t.Fatal(err)
	}
	if err := syscall.SetNonblock(w.rd, true); err != nil {
		t.Fatal(err)
	}
	fd, err := syscall.Dup(int(pw.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	w.r.fd = fd
	t.Cleanup(func() { w.r.Close(); syscall.Close(w.rd) })
	return w
}

// fill fills the pipe to the brim through a file of its own.
func (w *writePipe) fill(t *testing.T) int {
	t.Helper()
	filled := 0
	f, err := os.OpenFile("/proc/self/fd/"+itoa(w.r.fd), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rc, _ := f.SyscallConn()
	buf := make([]byte, 4096)
	rc.Control(func(fd uintptr) {
		syscall.SetNonblock(int(fd), true)
		for {
			n, err := syscall.Write(int(fd), buf)
			if err != nil {
				return
			}
			filled += n
		}
	})
	return filled
}

func itoa(i int) string { return strconv.Itoa(i) }

// drain reads the pipe empty and returns what it read.
func (w *writePipe) drain() []byte {
	var out []byte
	b := make([]byte, 1<<16)
	for {
		n, err := syscall.Read(w.rd, b)
		if n <= 0 || err != nil {
			return out
		}
		out = append(out, b[:n]...)
	}
}

func parkedOnce() (chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	testHookWritePark = func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	return ch, func() { testHookWritePark = nil }
}

func TestWriteContextParksAndIsCancelled(t *testing.T) {
	w := newWritePipe(t)
	filled := w.fill(t)
	parked, unhook := parkedOnce()
	defer unhook()
	p := payload(7, 100)

	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() {
		n, err := w.r.WriteContext(ctx, p)
		if err == nil || n != 0 {
			err = errors.New("wrote into a full ring")
		}
		res <- err
	}()
	<-parked
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Fatalf("WriteContext cancelled while parked: %v, want Canceled", err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if n, err := w.r.WriteContext(ctx2, p); n != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WriteContext past its deadline: %d, %v, want DeadlineExceeded", n, err)
	}

	// The same file again (pooled), no late deadline: room ends the park.
	select {
	case <-parked: // the parks above
	default:
	}
	done := make(chan error, 1)
	go func() {
		n, err := w.r.WriteContext(context.Background(), p)
		if err == nil && n != len(p) {
			err = errors.New("short write")
		}
		done <- err
	}()
	<-parked
	got := w.drain() // the writer may wake and write while this drains
	if err := <-done; err != nil {
		t.Fatalf("WriteContext once there was room: %v", err)
	}
	got = append(got, w.drain()...)
	if len(got) != filled+len(p) || !bytes.HasSuffix(got, p) {
		t.Fatalf("the pipe got %d bytes, want the %d it was filled with and then the one record of %d",
			len(got), filled, len(p))
	}
	if len(w.r.writers) != 1 {
		t.Fatalf("%d writer files kept, want the one reused", len(w.r.writers))
	}
}

func TestWriteContextEndedByClose(t *testing.T) {
	w := newWritePipe(t)
	w.fill(t)
	parked, unhook := parkedOnce()
	defer unhook()
	res := make(chan error, 1)
	go func() {
		_, err := w.r.WriteContext(context.Background(), payload(1, 10))
		res <- err
	}()
	<-parked
	if err := w.r.Close(); err != nil {
		t.Fatalf("Ring.Close with a WriteContext parked: %v", err)
	}
	select {
	case err := <-res:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("WriteContext ended by Close: %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Ring.Close did not end a parked WriteContext")
	}
	if _, err := w.r.WriteContext(context.Background(), payload(1, 10)); !errors.Is(err, ErrClosed) {
		t.Fatalf("WriteContext after Close: %v, want ErrClosed", err)
	}
	if len(w.r.writers) != 0 || len(w.r.writersBusy) != 0 {
		t.Fatalf("writer files left after Close: %d idle, %d busy", len(w.r.writers), len(w.r.writersBusy))
	}
}

// Writers on many goroutines, each with its own file, while a reader
// drains: every byte arrives, records whole.
func TestWriteContextConcurrent(t *testing.T) {
	w := newWritePipe(t)
	const writers, each, size = 6, 200, 1000
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			b := bytes.Repeat([]byte{byte('a' + g)}, size)
			for i := 0; i < each; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				n, err := w.r.WriteContext(ctx, b)
				cancel()
				if err != nil || n != size {
					errc <- err
					return
				}
			}
		}(g)
	}
	stop := make(chan struct{})
	var got []byte
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			got = append(got, w.drain()...)
			select {
			case <-stop:
				got = append(got, w.drain()...)
				return
			default:
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-readerDone
	close(errc)
	for err := range errc {
		t.Fatalf("WriteContext: %v", err)
	}
	if len(got) != writers*each*size {
		t.Fatalf("read %d bytes, want %d", len(got), writers*each*size)
	}
	// Records of 1000 bytes (< PIPE_BUF) land whole: runs of one letter.
	for i := 0; i < len(got); i += size {
		if c := bytes.Count(got[i:i+size], got[i:i+1]); c != size {
			t.Fatalf("record at %d torn", i)
		}
	}
	if len(w.r.writers) > writers {
		t.Fatalf("%d writer files for %d goroutines", len(w.r.writers), writers)
	}
}
