// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

import (
	"context"
	"syscall"
	"testing"
)

// BenchmarkWritePaths (review-16c S8) writes 64-byte records into a ring
// with room, one call per record, three ways, in one run:
//
//	write:          Write (the ring's own blocking file)
//	ctx-background: WriteContext with a context that is never done
//	ctx-cancel:     WriteContext with a cancellable context (a goroutine,
//	                two channels and a deadline reset per call)
//
// The "device" is a pipe that a reader drains, so what differs between the
// three is the package's own cost around one write(2): compare them by
// their ratio within a run (go test -bench WritePaths -count N).
func BenchmarkWritePaths(b *testing.B) {
	for _, mode := range []string{"write", "ctx-background", "ctx-cancel"} {
		b.Run(mode, func(b *testing.B) { benchWritePath(b, mode) })
	}
}

func benchWritePath(b *testing.B, mode string) {
	w := newWritePipe(b)
	rd, err := syscall.Dup(w.rd)
	if err != nil {
		b.Fatal(err)
	}
	syscall.SetNonblock(rd, false)
	go func() { // drains until the test's cleanups close every write end
		defer syscall.Close(rd)
		buf := make([]byte, 1<<16)
		for {
			if n, err := syscall.Read(rd, buf); n <= 0 && err != syscall.EINTR {
				return
			}
		}
	}()
	ctx := context.Background()
	if mode == "ctx-cancel" {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
	}
	p := make([]byte, 64)
	b.SetBytes(int64(len(p)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if mode == "write" {
			_, err = w.r.Write(p)
		} else {
			_, err = w.r.WriteContext(ctx, p)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}
