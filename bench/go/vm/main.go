// SPDX-License-Identifier: GPL-2.0-only

// Command gobench measures the Go package in a qemu guest, on a ring the
// load generator fills (scripts/bench-go.sh boots it). Under TCG the CPU
// is emulated: only ratios taken in the same run mean anything, so every
// comparison refills the same ring and alternates its variants.
//
// Per record size (64 B, 1 KiB, 4 KiB), per repetition, a full ring of N
// records is drained by, in a balanced order (order.go):
//
//	go-zerocopy   Go: ReadBatch(64), read in place, one Commit per batch
//	go-copy       Go: Read, copy the payload out, Commit, per record
//	go-read2      Go: read(2) on the device (the kernel copies)
//	c-zerocopy    the C library (cdrain): read_batch(64), one commit
//	bpf-readinto  cilium/ebpf's ringbuf.Reader.ReadInto (one reused
//	              buffer) draining a BPF ring buffer of N records of the
//	              same size (bench/go/ringbuf/fill.bpf.c fills it)
//	bpf-read      the same with Reader.Read (a new buffer per record)
//
// mpmcring rings are filled by the load generator, the BPF ring buffer by
// a BPF program on the benchmark's own getppid() calls: the producers
// differ, the drains are of the same number of records of the same size
// from a full ring of the same size. Every variant touches every payload
// word. Each drain is timed in pieces of 256 records; its rate is the
// median piece's (see chunk). Output: a table of medians over the
// repetitions and same-repetition ratios (median, min-max), after each
// size and again at the end, and "BENCH {json}" lines.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"mpmcring.dev/go/mpmcring"
)

// The ring: big enough that even 4 KiB drains last long enough to time.
const ringSize = 128 << 20

const (
	ring      = "gobench"
	lgName    = "mpmcring_loadgen"
	lgControl = "/sys/kernel/debug/mpmcring_loadgen/control"
	lgStats   = "/sys/kernel/debug/mpmcring_loadgen/stats"
)

var variants = []string{"go-zerocopy", "go-copy", "go-read2", "c-zerocopy", "bpf-readinto", "bpf-read"}

func die(f string, a ...any) {
	fmt.Printf("gobench: "+f+"\n", a...)
	os.Exit(1)
}

func insmod(params string) error {
	dir := os.Getenv("MPMCRING_MODDIR")
	if dir == "" {
		dir = "/lib/mpmcring"
	}
	f, err := os.Open(filepath.Join(dir, lgName+".ko"))
	if err != nil {
		return err
	}
	defer f.Close()
	p, _ := syscall.BytePtrFromString(params)
	if _, _, e := syscall.Syscall(313, f.Fd(), uintptr(unsafe.Pointer(p)), 0); e != 0 {
		return e
	}
	return nil
}

func rmmod() {
	p, _ := syscall.BytePtrFromString(lgName)
	for i := 0; i < 200; i++ {
		_, _, e := syscall.Syscall(syscall.SYS_DELETE_MODULE, uintptr(unsafe.Pointer(p)), syscall.O_NONBLOCK, 0)
		if e == 0 || e == syscall.ENOENT {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	die("rmmod %s failed", lgName)
}

// fill creates the ring and has one kthread fill it with n records of
// size bytes; returns how many it committed.
func fill(size, n int) int {
	params := fmt.Sprintf("ring=%s create=1 size=%d threads=1 count=%d len_min=%d len_max=%d "+
		"prio_mix=0:0:100 autostart=0", ring, ringSize, n, size, size)
	if err := insmod(params); err != nil {
		die("insmod %s: %v", params, err)
	}
	if err := os.WriteFile(lgControl, []byte("start"), 0); err != nil {
		die("start: %v", err)
	}
	for i := 0; i < 12000; i++ {
		b, err := os.ReadFile(lgStats)
		if err != nil {
			die("stats: %v", err)
		}
		var committed int
		finished := false
		for _, l := range strings.Split(string(b), "\n") {
			w := strings.Fields(l)
			if len(w) == 4 && w[0] == "total" {
				committed, _ = strconv.Atoi(w[2])
			}
			if len(w) == 2 && w[0] == "finished" && w[1] == "1" {
				finished = true
			}
		}
		if finished {
			return committed
		}
		time.Sleep(50 * time.Millisecond)
	}
	die("the load generator did not finish")
	return 0
}

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

var sink uint64

// chunk is how many records each timed piece of a drain holds. A drain is
// timed piece by piece and its rate is taken from the median piece, as
// bench-events does: under TCG on a shared host a vCPU descheduled for a
// few milliseconds stretches a whole-drain time by any amount, but moves
// the median of a few hundred pieces little.
const chunk = 256

// chunkTimer times a drain in pieces of chunk records.
type chunkTimer struct {
	t0, last time.Time
	done     int       // records so far
	mark     int       // records at last
	perRec   []float64 // seconds per record of each piece
}

func newChunkTimer() *chunkTimer {
	now := time.Now()
	return &chunkTimer{t0: now, last: now}
}

// add counts k more records; a piece ends once chunk records have passed.
func (c *chunkTimer) add(k int) {
	c.done += k
	if c.done-c.mark >= chunk {
		now := time.Now()
		c.perRec = append(c.perRec, now.Sub(c.last).Seconds()/float64(c.done-c.mark))
		c.last, c.mark = now, c.done
	}
}

// rates: records per second from the median piece, and over the whole drain.
func (c *chunkTimer) rates() drainRate {
	whole := float64(c.done) / time.Since(c.t0).Seconds()
	if len(c.perRec) == 0 {
		return drainRate{whole, whole}
	}
	return drainRate{1 / median(c.perRec), whole}
}

// drainRate is a drain's records per second: from the median piece (what
// the tables and ratios use) and over the whole drain (for the record).
type drainRate struct{ median, whole float64 }

// drain consumes n records one way; returns its rates.
func drain(variant string, n, size int) drainRate {
	if strings.HasPrefix(variant, "bpf-") {
		return drainBPF(variant == "bpf-read", n)
	}
	if variant == "c-zerocopy" {
		out, err := exec.Command("cdrain", mpmcring.Path(ring), strconv.Itoa(n)).Output()
		if err != nil {
			die("cdrain: %v (%s)", err, out)
		}
		var got int
		var secs, perRec float64
		if _, err := fmt.Sscanf(string(out), "cdrain %d %g %g", &got, &secs, &perRec); err != nil ||
			got != n || secs <= 0 || perRec <= 0 {
			die("cdrain said %q", out)
		}
		return drainRate{1 / perRec, float64(n) / secs}
	}
	if variant == "go-read2" {
		fd, err := syscall.Open(mpmcring.Path(ring), syscall.O_RDWR|syscall.O_NONBLOCK, 0)
		if err != nil {
			die("open: %v", err)
		}
		defer syscall.Close(fd)
		buf := make([]byte, size+64)
		ct := newChunkTimer()
		for got := 0; got < n; got++ {
			k, err := syscall.Read(fd, buf)
			if err != nil || k != size {
				die("read(2): %d, %v after %d records", k, err, got)
			}
			sink += sumWords(buf[:k])
			ct.add(1)
		}
		return ct.rates()
	}
	r, err := mpmcring.Open(ring)
	if err != nil {
		die("%v", err)
	}
	defer r.Close()
	c, err := r.NewConsumer()
	if err != nil {
		die("%v", err)
	}
	defer c.Close()
	buf := make([]byte, size)
	got := 0
	ct := newChunkTimer()
	for got < n {
		if variant == "go-copy" {
			rec, err := c.Read()
			if err != nil {
				die("Read after %d: %v", got, err)
			}
			k := copy(buf, rec.Data)
			if err := c.Commit(); err != nil {
				die("Commit: %v", err)
			}
			sink += sumWords(buf[:k])
			got++
			ct.add(1)
			continue
		}
		b, err := c.ReadBatch(64, 0)
		if err != nil {
			if errors.Is(err, mpmcring.ErrBusy) {
				continue
			}
			die("ReadBatch after %d: %v", got, err)
		}
		for rec, ok := b.Next(); ok; rec, ok = b.Next() {
			sink += sumWords(rec.Data)
		}
		got += b.Records
		if err := c.Commit(); err != nil {
			die("Commit: %v", err)
		}
		ct.add(b.Records)
	}
	return ct.rates()
}

// ratio is one same-repetition ratio over the repetitions.
type ratio struct {
	name string
	v    []float64
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minmax(v []float64) (float64, float64) {
	lo, hi := v[0], v[0]
	for _, x := range v {
		if x < lo {
			lo = x
		}
		if x > hi {
			hi = x
		}
	}
	return lo, hi
}

// memAvailable is the guest's MemAvailable line, for the log: rings of
// 128 MiB come and go all run long.
func memAvailable() string {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "MemAvailable:") {
			return strings.Join(strings.Fields(l), " ")
		}
	}
	return "MemAvailable: ?"
}

func envStr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func main() {
	reps := flag.Int("r", envInt("MPMCRING_GOBENCH_REPS", 0), "repetitions (0: whole blocks of the order, at least 6)")
	records := flag.Int("n", envInt("MPMCRING_GOBENCH_RECORDS", 200000), "records per drain (at most what the ring holds)")
	flag.StringVar(&bpfObject, "bpf", os.Getenv("MPMCRING_GOBENCH_BPF"), "the compiled fill.bpf.c (none: no BPF variants)")
	sizesFlag := flag.String("sizes", envStr("MPMCRING_GOBENCH_SIZES", "64,1024,4096"), "record sizes")
	only := flag.String("variants", envStr("MPMCRING_GOBENCH_VARIANTS", ""), "only these variants (comma list)")
	flag.Parse()
	var sizes []int
	for _, f := range strings.Split(*sizesFlag, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 8 {
			die("bad size %q", f)
		}
		sizes = append(sizes, n)
	}
	if *only != "" {
		keep := map[string]bool{}
		for _, v := range strings.Split(*only, ",") {
			keep[v] = true
		}
		var vs []string
		for _, v := range variants {
			if keep[v] {
				vs = append(vs, v)
			}
		}
		variants = vs
	}
	// The variants that run: the order balances these.
	if bpfObject == "" {
		var vs []string
		for _, v := range variants {
			if !strings.HasPrefix(v, "bpf-") {
				vs = append(vs, v)
			}
		}
		variants = vs
	}
	if len(variants) == 0 {
		die("no variants to run")
	}
	block := orderBlock(len(variants))
	if *reps <= 0 {
		*reps = (6 + block - 1) / block * block
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	emit := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(out, "BENCH %s\n", b)
	}
	fmt.Fprintf(out, "== drain a full ring (records/s), %d repetitions, variants in a balanced order (a block: %d repetitions) ==\n", *reps, block)
	if *reps%block != 0 {
		fmt.Fprintf(out, "note: %d repetitions are not whole blocks of %d: the order is balanced only within whole blocks\n", *reps, block)
	}
	fmt.Fprintf(out, "%6s", "bytes")
	for _, v := range variants {
		fmt.Fprintf(out, " %13s", v)
	}
	fmt.Fprintln(out)
	var ratios [][]ratio
	for _, size := range sizes {
		n := ringSize / (size + 8) * 9 / 10
		if n > *records {
			n = *records
		}
		rate := map[string][]float64{}
		var zcCopy, goC, goBPF, goBPFRead, copyBPF []float64
		for rep := 0; rep < *reps; rep++ {
			this := map[string]float64{}
			for k := range variants {
				v := variants[orderAt(len(variants), rep, k)]
				// Said before it runs: a guest that dies says where.
				fmt.Fprintf(out, "# %s %d B rep %d (%s)\n", v, size, rep, memAvailable())
				out.Flush()
				var got int
				var dr drainRate
				step := func(what string) {
					fmt.Fprintf(out, "#   %s\n", what)
					out.Flush()
				}
				if strings.HasPrefix(v, "bpf-") {
					got = fillBPF(size, n)
					step("filled; draining")
					dr = drain(v, got, size)
					step("drained; closing the BPF ring buffer")
					closeBPF()
				} else {
					got = fill(size, n)
					step("filled; draining")
					dr = drain(v, got, size)
					step("drained; unloading the load generator")
					rmmod()
				}
				this[v] = dr.median
				rate[v] = append(rate[v], this[v])
				emit(map[string]any{"part": "drain", "bytes": size, "rep": rep, "variant": v,
					"records": got, "rps": dr.median, "rps_whole": dr.whole})
			}
			// Same-repetition ratios, of the variants that ran.
			ratioOf := func(dst *[]float64, a, b string) {
				if this[a] > 0 && this[b] > 0 {
					*dst = append(*dst, this[a]/this[b])
				}
			}
			ratioOf(&zcCopy, "go-zerocopy", "go-copy")
			ratioOf(&goC, "go-zerocopy", "c-zerocopy")
			ratioOf(&goBPF, "go-zerocopy", "bpf-readinto")
			ratioOf(&goBPFRead, "go-zerocopy", "bpf-read")
			ratioOf(&copyBPF, "go-copy", "bpf-readinto")
		}
		fmt.Fprintf(out, "%6d", size)
		med := map[string]float64{}
		for _, v := range variants {
			if len(rate[v]) == 0 {
				fmt.Fprintf(out, " %13s", "-")
				continue
			}
			med[v] = median(rate[v])
			fmt.Fprintf(out, " %13.0f", med[v])
		}
		fmt.Fprintln(out)
		rs := []ratio{{"go zero-copy / go copy", zcCopy}, {"go zero-copy / C zero-copy", goC},
			{"go zero-copy / cilium ReadInto", goBPF}, {"go zero-copy / cilium Read", goBPFRead},
			{"go copy / cilium ReadInto", copyBPF}}
		ratios = append(ratios, rs)
		summary := map[string]any{"part": "drain-summary", "bytes": size, "median_rps": med}
		for _, r := range rs {
			if len(r.v) == 0 {
				continue
			}
			lo, hi := minmax(r.v)
			summary[r.name] = map[string]float64{"median": median(r.v), "min": lo, "max": hi}
		}
		emit(summary)
		// The ratios now, not only at the end: a run cut short keeps them.
		printRatios(out, size, rs)
		out.Flush()
	}
	fmt.Fprintf(out, "\n== same-repetition ratios, median (min-max) ==\n")
	for i, size := range sizes {
		printRatios(out, size, ratios[i])
	}
}

func printRatios(out *bufio.Writer, size int, rs []ratio) {
	for _, r := range rs {
		if len(r.v) == 0 {
			continue
		}
		lo, hi := minmax(r.v)
		fmt.Fprintf(out, "%6d  %-32s %6.2fx (%.2f-%.2f)\n", size, r.name, median(r.v), lo, hi)
	}
}
