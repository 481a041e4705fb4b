// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

import (
	"fmt"
	"testing"
	"unsafe"
)

// sumWords touches every 8-byte word of a payload, as a consumer that
// reads what it gets does (both ways of reading pay it alike).
func sumWords(d []byte) uint64 {
	if len(d) < 8 {
		return 0
	}
	var s uint64
	for _, w := range unsafe.Slice((*uint64)(unsafe.Pointer(&d[0])), len(d)/8) {
		s += w
	}
	return s
}

var benchSink uint64

// BenchmarkConsume drains a full ring (8 MiB, filled by the test producer
// with the clock stopped) one of two ways, per record:
//
//	zerocopy-batch: ReadBatch of 64, read in place, one Commit per batch
//	copy:           Read, copy the payload out, Commit, one record at a time
//
// Both touch every payload word. bench/go/report.py turns repeated runs
// into medians and same-run ratios.
func BenchmarkConsume(b *testing.B) {
	for _, size := range []int{64, 1024, 4096} {
		for _, mode := range []string{"zerocopy-batch", "copy"} {
			b.Run(fmt.Sprintf("%s/%d", mode, size), func(b *testing.B) {
				benchConsume(b, size, mode == "copy")
			})
		}
	}
}

func benchConsume(b *testing.B, size int, copying bool) {
	h := newTestRing(b, ringParams{size: 8 << 20})
	r := h.ring(b)
	c, err := r.NewConsumer()
	if err != nil {
		b.Fatal(err)
	}
	p := make([]byte, size)
	for i := range p {
		p[i] = byte(i)
	}
	buf := make([]byte, size)
	perFill := int(h.l.DataSize / h.v.recSize(uint32(size)) * 9 / 10)
	b.SetBytes(int64(size))
	b.ResetTimer()
	var sum uint64
	for done := 0; done < b.N; {
		b.StopTimer()
		n := perFill
		if n > b.N-done {
			n = b.N - done
		}
		for i := 0; i < n; i++ {
			if !h.produce(p, PrioCritical) {
				b.Fatalf("the producer found the ring full after %d records", i)
			}
		}
		b.StartTimer()
		if copying {
			sum += drainCopy(b, c, n, buf)
		} else {
			sum += drainZeroCopy(b, c, n)
		}
		done += n
	}
	benchSink = sum
}

// The drains are functions of their own, kept out of line, so that
// callgrind can count their instructions alone (scripts/bench-go.sh, ipr).

//go:noinline
func drainZeroCopy(b *testing.B, c *Consumer, n int) uint64 {
	var sum uint64
	for got := 0; got < n; {
		bt, err := c.ReadBatch(64, 0)
		if err != nil {
			b.Fatal(err)
		}
		for rec, ok := bt.Next(); ok; rec, ok = bt.Next() {
			sum += sumWords(rec.Data)
		}
		got += bt.Records
		if err := c.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	return sum
}

//go:noinline
func drainCopy(b *testing.B, c *Consumer, n int, buf []byte) uint64 {
	var sum uint64
	for got := 0; got < n; got++ {
		rec, err := c.Read()
		if err != nil {
			b.Fatal(err)
		}
		k := copy(buf, rec.Data)
		if err := c.Commit(); err != nil {
			b.Fatal(err)
		}
		sum += sumWords(buf[:k])
	}
	return sum
}
