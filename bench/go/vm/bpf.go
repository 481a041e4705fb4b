// SPDX-License-Identifier: GPL-2.0-only

package main

// The BPF ring buffer side: fill.bpf.c (loaded with cilium/ebpf) turns
// each getppid() of this process into one record of the benchmark's size;
// cilium/ebpf's ringbuf.Reader drains them.

import (
	"errors"
	"syscall"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
)

var bpfObject string // the compiled fill.bpf.c; "": no BPF variants

type bpfRing struct {
	coll *ebpf.Collection
	rd   *ringbuf.Reader
}

var curBPF *bpfRing

// fillBPF loads the program with a ring buffer as big as the mpmcring
// rings, makes n records of size bytes and detaches: the ring is full and
// quiet. Returns how many records it holds.
func fillBPF(size, n int) int {
	if err := rlimit.RemoveMemlock(); err != nil {
		die("memlock: %v", err)
	}
	spec, err := ebpf.LoadCollectionSpec(bpfObject)
	if err != nil {
		die("%s: %v", bpfObject, err)
	}
	spec.Maps["rb"].MaxEntries = ringSize
	if err := spec.RewriteConstants(map[string]interface{}{
		"target_tgid": uint32(syscall.Getpid()),
		"rec_size":    uint32(size),
	}); err != nil {
		die("rewriting constants: %v", err)
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		die("loading %s: %v", bpfObject, err)
	}
	// A kprobe on getppid alone: see fill.bpf.c for why not sys_enter.
	lnk, err := link.Kprobe("__x64_sys_getppid", coll.Programs["fill"], nil)
	if err != nil {
		die("attaching a kprobe to __x64_sys_getppid: %v", err)
	}
	for i := 0; i < n; i++ {
		syscall.RawSyscall(syscall.SYS_GETPPID, 0, 0, 0)
	}
	lnk.Close()
	var bss struct{ Seq, Dropped uint64 } // struct counts, the only object in .bss
	if err := coll.Maps[".bss"].Lookup(uint32(0), &bss); err != nil {
		die("reading the program's counters: %v", err)
	}
	if bss.Dropped != 0 || bss.Seq != uint64(n) {
		die("the BPF ring buffer took %d of %d records (%d dropped)", bss.Seq, n, bss.Dropped)
	}
	rd, err := ringbuf.NewReader(coll.Maps["rb"])
	if err != nil {
		die("ringbuf reader: %v", err)
	}
	curBPF = &bpfRing{coll: coll, rd: rd}
	return n
}

func closeBPF() {
	curBPF.rd.Close()
	curBPF.coll.Close()
	curBPF = nil
}

// drainBPF reads n records with cilium/ebpf's reader: one reused buffer
// (ReadInto), or a new one per record (Read).
func drainBPF(alloc bool, n int) drainRate {
	rd := curBPF.rd
	var rec ringbuf.Record
	var want uint64
	ct := newChunkTimer()
	for got := 0; got < n; got++ {
		var err error
		if alloc {
			rec, err = rd.Read()
		} else {
			err = rd.ReadInto(&rec)
		}
		if err != nil {
			if errors.Is(err, ringbuf.ErrClosed) {
				die("ringbuf closed after %d", got)
			}
			die("ringbuf read after %d: %v", got, err)
		}
		if len(rec.RawSample) < 8 {
			die("a short BPF record: %d bytes", len(rec.RawSample))
		}
		sink += sumWords(rec.RawSample)
		if first := sumWords(rec.RawSample[:8]); first != want {
			die("BPF record %d carries sequence %d", want, first)
		}
		want++
		ct.add(1)
	}
	return ct.rates()
}
