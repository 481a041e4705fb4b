// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

// The Go consumer against the C protocol: the module's own producer code
// (proto/mpmcring_produce.h, through userspace/harness/hostring.c) runs in
// a child process, tests/host/go_cproducer.c, over memfds this process maps
// with the device's layout. The other host tests produce with a Go
// transcription of that code (producer_test.go); a divergence between the
// two is caught here, not only in the guest. The package stays free of
// cgo: the C side is another program.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"mpmcring.dev/go/internal/testrec"
)

// cProducerPath builds the helper (or takes MPMCRING_CPRODUCER, what
// tests/host/run.sh built with the sanitizers).
func cProducerPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("MPMCRING_CPRODUCER"); p != "" {
		return p
	}
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) to build tests/host/go_cproducer.c with")
	}
	_, self, _, _ := runtime.Caller(0)
	top := filepath.Join(filepath.Dir(self), "..", "..")
	out := filepath.Join(t.TempDir(), "go_cproducer")
	args := []string{"-std=c11", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-pthread", "-D_GNU_SOURCE"}
	for _, d := range []string{"userspace/include", "userspace/lib", "userspace/harness", "uapi", "proto", "tests/host"} {
		args = append(args, "-I"+filepath.Join(top, d))
	}
	args = append(args, "-o", out, filepath.Join(top, "tests/host/go_cproducer.c"),
		filepath.Join(top, "userspace/harness/hostring.c"))
	if b, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		t.Fatalf("building the C producer: %v\n%s", err, b)
	}
	return out
}

// cRing is a ring the C helper produces into, mapped here as the device
// maps it: the consumer area read-write, the rest read-only with the data
// twice back to back.
type cRing struct {
	l    rawLayout
	cons []byte
	ro   []byte
	sock int // the test's end of the helper's fd 3
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan error // the helper's exit
}

func mmapFixed(at []byte, off, n uint64, fd int) error {
	_, _, e := syscall.Syscall6(syscall.SYS_MMAP, uintptr(unsafe.Pointer(&at[off])), uintptr(n),
		syscall.PROT_READ, syscall.MAP_SHARED|syscall.MAP_FIXED, uintptr(fd), 0)
	if e != 0 {
		return e
	}
	return nil
}

func startCProducer(t *testing.T, args ...string) *cRing {
	t.Helper()
	bin := cProducerPath(t)
	sp, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	child := os.NewFile(uintptr(sp[1]), "go_cproducer socket")
	h := &cRing{sock: sp[0], done: make(chan error, 1)}
	h.cmd = exec.Command(bin, args...)
	h.cmd.ExtraFiles = []*os.File{child} // fd 3
	h.cmd.Stdout = &h.out
	h.cmd.Stderr = os.Stderr
	if err := h.cmd.Start(); err != nil {
		syscall.Close(sp[0])
		child.Close()
		t.Fatalf("starting %s: %v", bin, err)
	}
	child.Close()
	go func() { h.done <- h.cmd.Wait() }()
	t.Cleanup(func() {
		syscall.Close(h.sock) // a helper still waiting for the start exits
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			h.cmd.Process.Kill()
			<-h.done
		}
		// Unmapped after every consumer is closed (t.Cleanup runs
		// last-in first-out: the consumers' cleanups come later).
		if h.cons != nil {
			syscall.Munmap(h.cons)
		}
		if h.ro != nil {
			syscall.Munmap(h.ro)
		}
	})

	buf := make([]byte, layoutSize+1)
	oob := make([]byte, syscall.CmsgSpace(3*4))
	n, oobn, _, _, err := syscall.Recvmsg(h.sock, buf, oob, 0)
	if err != nil || n != int(layoutSize) {
		t.Fatalf("receiving the ring from the helper: %d bytes, %v (its stderr above)", n, err)
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		t.Fatalf("the helper's control message: %v (%d)", err, len(msgs))
	}
	fds, err := syscall.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 3 {
		t.Fatalf("the helper's memfds: %v (%d)", err, len(fds))
	}
	defer func() {
		for _, fd := range fds {
			syscall.Close(fd)
		}
	}()
	copy(h.l.bytes(), buf[:layoutSize])
	if err := checkLayout(&h.l); err != nil {
		t.Fatalf("the C ring's layout: %v", err)
	}
	h.cons, err = syscall.Mmap(fds[0], 0, int(h.l.ConsSize), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	h.ro, err = syscall.Mmap(-1, 0, int(h.l.ROSize), syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		off, n uint64
		fd     int
	}{
		{0, h.l.DataOffset, fds[1]},
		{h.l.DataOffset, h.l.DataSize, fds[2]},
		{h.l.DataOffset + h.l.DataSize, h.l.DataSize, fds[2]},
	} {
		if err := mmapFixed(h.ro, m.off, m.n, m.fd); err != nil {
			t.Fatalf("mapping the C ring at %d: %v", m.off, err)
		}
	}
	if !bytes.Equal(h.ro[:layoutSize], h.l.bytes()) {
		t.Fatal("the mapped meta page does not hold the layout the helper sent")
	}
	return h
}

// start lets the helper's producers go.
func (h *cRing) start(t *testing.T) {
	if _, err := syscall.Write(h.sock, []byte{1}); err != nil {
		t.Fatal(err)
	}
}

type cTotals struct{ produced, dropped, overwritten, revokedClaims, revokedRecords uint64 }

func (h *cRing) totals(t *testing.T) cTotals {
	var c cTotals
	_, err := fmt.Sscanf(h.out.String(), "produced %d dropped %d overwritten %d revoked_claims %d revoked_records %d",
		&c.produced, &c.dropped, &c.overwritten, &c.revokedClaims, &c.revokedRecords)
	if err != nil {
		t.Fatalf("the helper's totals %q: %v", h.out.String(), err)
	}
	return c
}

// testRec is what a consumer learned from one record (checked with
// internal/testrec, mpr_testrec_check): ok false when torn or foreign.
type testRec struct {
	producer uint16
	seq      uint64
	ok       bool
}

func checkTestRec(d []byte, producers int, records uint64) testRec {
	h, bad := testrec.Check(d)
	return testRec{producer: h.Producer, seq: h.Seq,
		ok: bad == 0 && int(h.Producer) < producers && h.Seq < records && h.Prio == PrioCritical && h.Ctx == testrec.CtxUser}
}

type cRun struct {
	args      []string
	producers int
	records   uint64
	consumers int
	holdEvery int           // a ReadBatch consumer stalls mid-batch every Nth batch
	hold      time.Duration // for this long
	// lossFirst, when not 0, is a loss counter of the meta page
	// (metaLostDropped, metaLostOverwritten): the consumers start only
	// once it has moved, or the helper has ended.
	lossFirst uint64
}

type cResult struct {
	delivered, bad, outOfOrder, dup uint64
	lost                            Lost
	stale                           uint64 // commits that found the claim revoked
	unrevokedHolds                  uint64 // holdClaim gave up waiting for the revocation
	seen                            [][]uint32
}

// holdUnrevokedAfter bounds holdClaim's wait for the revocation: 2000
// leases of 5 ms, far beyond any machine's scheduling delay.
const holdUnrevokedAfter = 10 * time.Second

// holdClaim stalls a consumer half way through its claim: for d, then on
// until the claim is revoked or the helper has ended. The producers retry
// (-r), so they cannot finish past a claim that pins the ring, and revoke
// it once it has stood still a lease with half the ring behind it: the
// revocation comes however the machine runs either side, where a fixed
// stall left it to their speeds. If revocation is broken it never comes
// and the producers never finish: after holdUnrevokedAfter the claim is
// let go and holdClaim returns false, so that the run ends and the test
// fails by name instead of hanging; unrevoked counts such holds. After
// one, the later holds stall only for d: the failure is known, and a wait
// at each of a run's holds would take far longer than the test's timeout.
func holdClaim(c *Consumer, d time.Duration, finished *atomic.Bool, unrevoked *atomic.Uint64) {
	time.Sleep(d)
	if unrevoked.Load() != 0 {
		return
	}
	deadline := time.Now().Add(holdUnrevokedAfter)
	for c.Validate() == nil && !finished.Load() {
		if time.Now().After(deadline) {
			unrevoked.Add(1)
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// runCProducer starts the helper and drains its ring with Go consumers,
// one goroutine each, by ReadBatch, Consume and Read in turn. A record
// counts once its commit succeeded (what a revoked claim read is thrown
// away, as its reader must).
func runCProducer(t *testing.T, p cRun) (cResult, cTotals) {
	h := startCProducer(t, p.args...)
	r, err := openMemory(h.cons, h.ro, &h.l)
	if err != nil {
		t.Fatal(err)
	}
	res := cResult{seen: make([][]uint32, p.producers)}
	for i := range res.seen {
		res.seen[i] = make([]uint32, p.records)
	}
	cs := make([]*Consumer, p.consumers)
	for i := range cs {
		if cs[i], err = r.NewConsumer(); err != nil {
			t.Fatal(err)
		}
	}
	var finished atomic.Bool
	var unrevoked atomic.Uint64 // holds that holdClaim ended unrevoked
	var helperErr error
	h.start(t)
	go func() {
		helperErr = <-h.done
		h.done <- helperErr // for the cleanup
		finished.Store(true)
	}()

	// The loss the subtest is about happens by design, not by the race
	// between the C producers and the Go consumers (-race slows the
	// consumers, a busy machine either side): with nobody consuming, the
	// producers' records outgrow the ring at once. Then the consumers
	// race them as before, for the rest of the run.
	for p.lossFirst != 0 && atomic.LoadUint64(word(r.v.ro, p.lossFirst)) == 0 && !finished.Load() {
		time.Sleep(20 * time.Microsecond)
	}

	var wg sync.WaitGroup
	var mu sync.Mutex // res's counters
	var failure atomic.Value
	for i, c := range cs {
		wg.Add(1)
		go func(i int, c *Consumer) {
			defer wg.Done()
			last := make([]uint64, p.producers) // seq+1 of the last one seen
			var lastPos uint64
			// The header as the C producer wrote it (class
			// critical, no flags), the payload intact, and Pos
			// growing in ring order.
			look := func(rec Record) testRec {
				g := checkTestRec(rec.Data, p.producers, p.records)
				if rec.Prio != PrioCritical || rec.Flags != 0 ||
					(lastPos != 0 && !before(lastPos, rec.Pos)) {
					g.ok = false
				}
				lastPos = rec.Pos
				return g
			}
			var got []testRec
			var delivered, bad, ooo, dup, stale, batches uint64
			count := func() {
				for _, g := range got {
					if !g.ok {
						bad++
						continue
					}
					if last[g.producer] > g.seq {
						ooo++
					}
					last[g.producer] = g.seq + 1
					if atomic.AddUint32(&res.seen[g.producer][g.seq], 1) > 1 {
						dup++
					}
					delivered++
				}
			}
			for failure.Load() == nil {
				done := finished.Load()
				got = got[:0]
				var err error
				switch i % 3 {
				case 0:
					var b Batch
					b, err = c.ReadBatch(16, 0)
					if err != nil {
						break
					}
					batches++
					hold := p.holdEvery > 0 && (batches-1)%uint64(p.holdEvery) == 0
					for k := 0; ; k++ {
						rec, ok := b.Next()
						if !ok {
							break
						}
						if hold && k == b.Records/2 {
							holdClaim(c, p.hold, &finished, &unrevoked)
						}
						got = append(got, look(rec))
					}
					// A revoked claim's records may be overwritten
					// and end the batch early; the commit says so.
					short := len(got) != b.Records
					err = c.Commit()
					if short && err == nil {
						failure.Store(fmt.Sprintf("a batch of %d records gave %d, and its commit succeeded", b.Records, len(got)))
						return
					}
				case 1:
					var n int
					n, err = c.Consume(16, func(rec Record) error {
						got = append(got, look(rec))
						return nil
					})
					if err == nil && n == 0 {
						err = ErrNoRecord
					}
				case 2:
					var rec Record
					rec, err = c.Read()
					if err != nil {
						break
					}
					got = append(got, look(rec))
					err = c.Commit()
				}
				switch {
				case err == nil:
					count()
				case errors.Is(err, ErrStale):
					stale++ // what was read is not ours: thrown away
				case errors.Is(err, ErrNoRecord):
					if done {
						mu.Lock()
						res.delivered += delivered
						res.bad += bad
						res.outOfOrder += ooo
						res.dup += dup
						res.stale += stale
						mu.Unlock()
						return
					}
					time.Sleep(20 * time.Microsecond)
				case errors.Is(err, ErrBusy):
					runtime.Gosched()
				default:
					failure.Store(fmt.Sprintf("consumer %d: %v", i, err))
					return
				}
			}
		}(i, c)
	}
	wg.Wait()
	res.unrevokedHolds = unrevoked.Load()
	if f := failure.Load(); f != nil {
		t.Fatal(f)
	}
	if helperErr != nil {
		t.Fatalf("the C producer failed: %v (its stderr above)", helperErr)
	}
	for _, c := range cs {
		l := c.Lost()
		res.lost.Dropped += l.Dropped
		res.lost.Overwritten += l.Overwritten
		res.lost.Revoked += l.Revoked
		if err := c.Close(); err != nil {
			t.Fatalf("closing a consumer: %v", err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	tot := h.totals(t)
	t.Logf("C producer: %+v; Go consumers: delivered %d, lost %+v, stale commits %d",
		tot, res.delivered, res.lost, res.stale)
	if res.bad != 0 || res.outOfOrder != 0 || res.dup != 0 {
		t.Errorf("%d torn or foreign records, %d out of a producer's order, %d delivered twice",
			res.bad, res.outOfOrder, res.dup)
	}
	// Drops and evictions are counted once, alike on both sides. Revoked
	// records: the consumers know exactly what they lost; the producer
	// side counts what each consumer's slot said it held at the
	// revocation, and a claim revoked while it was being made (the
	// slot's count written only once the claim is made) counts less
	// there, never more, as tests/host/stress_test.c has it. So the exact
	// balance is the consumers'.
	if res.lost.Dropped != tot.dropped || res.lost.Overwritten != tot.overwritten ||
		res.lost.Revoked < tot.revokedRecords {
		t.Errorf("losses told to the Go consumers %+v, counted by the C producer: dropped %d, overwritten %d, revoked %d (at most the consumers')",
			res.lost, tot.dropped, tot.overwritten, tot.revokedRecords)
	}
	// Each commit that found its claim revoked is one revocation the
	// producer side made and counted (stress_test.c has the same).
	if res.stale > tot.revokedClaims {
		t.Errorf("%d commits found their claim revoked, the C producer revoked %d claims",
			res.stale, tot.revokedClaims)
	}
	if got := res.delivered + tot.overwritten + res.lost.Revoked; got != tot.produced {
		t.Errorf("delivered %d + overwritten %d + revoked %d (the consumers' count) = %d, the C producer committed %d",
			res.delivered, tot.overwritten, res.lost.Revoked, got, tot.produced)
	}
	return res, tot
}

func cRecords() uint64 {
	if testing.Short() {
		return 8000
	}
	return 40000
}

func TestCProducer(t *testing.T) {
	n := cRecords()
	ns := fmt.Sprint(n)
	t.Run("retry", func(t *testing.T) {
		// Producers retry a full ring: every record exactly once.
		res, tot := runCProducer(t, cRun{args: []string{"-r", "-p", "3", "-n", ns, "-s", "16384"},
			producers: 3, records: n, consumers: 3})
		if tot.produced != 3*n {
			t.Fatalf("the C producer committed %d of %d", tot.produced, 3*n)
		}
		for p := range res.seen {
			for s, k := range res.seen[p] {
				if k != 1 {
					t.Fatalf("producer %d record %d delivered %d times", p, s, k)
				}
			}
		}
	})
	t.Run("drop_stall", func(t *testing.T) {
		// A full ring drops; producers stall between reserve and commit,
		// so claims meet records reserved and not yet published.
		// The consumers start once the ring has dropped (lossFirst).
		_, tot := runCProducer(t, cRun{args: []string{"-p", "4", "-n", ns, "-s", "16384", "-S", "2"},
			producers: 4, records: n, consumers: 2, lossFirst: metaLostDropped})
		if tot.dropped == 0 {
			t.Fatal("nothing dropped: the run did not test drops")
		}
	})
	t.Run("overwrite", func(t *testing.T) {
		// Overwrite mode: reclaim evicts unread records past the held
		// claims on nearly every reservation.
		// The consumers start once a record was evicted (lossFirst).
		_, tot := runCProducer(t, cRun{args: []string{"-o", "-r", "-p", "3", "-n", ns, "-s", "8192", "-L", "200", "-S", "8"},
			producers: 3, records: n, consumers: 3, lossFirst: metaLostOverwritten})
		if tot.overwritten == 0 {
			t.Fatal("nothing overwritten: the run did not test eviction")
		}
	})
	t.Run("leases", func(t *testing.T) {
		// Claims are 5 ms leases; a consumer stalls in the middle of
		// every 20th batch, 3 leases and on until its claim is revoked
		// (holdClaim), while producers need the space.
		res, tot := runCProducer(t, cRun{args: []string{"-r", "-p", "3", "-n", ns, "-s", "16384", "-T", "5"},
			producers: 3, records: n, consumers: 3, holdEvery: 20, hold: 15 * time.Millisecond})
		if res.unrevokedHolds != 0 {
			t.Errorf("%d held claims were not revoked in %v while producers waited for the space",
				res.unrevokedHolds, holdUnrevokedAfter)
		}
		if tot.revokedClaims == 0 || res.stale == 0 {
			t.Fatalf("revoked claims %d, stale commits %d: the run did not test leases",
				tot.revokedClaims, res.stale)
		}
	})
}
