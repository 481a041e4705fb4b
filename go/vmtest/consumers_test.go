// SPDX-License-Identifier: GPL-2.0-only

//go:build mpmcring_vm

package vmtest

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"mpmcring.dev/go/internal/testrec"
	"mpmcring.dev/go/mpmcring"
)

// seen is exactly-once bookkeeping: deliveries per (producer, seq).
type seen struct {
	perProducer uint64
	counts      []uint32 // 64 producers at most
	bad         atomic.Int64
	order       atomic.Int64
	delivered   atomic.Int64
}

func newSeen(perProducer uint64) *seen {
	return &seen{perProducer: perProducer, counts: make([]uint32, 64*perProducer)}
}

// record checks one record; last is the consumer's own per-producer view
// (each consumer sees a producer's records in order).
func (s *seen) record(data []byte, last []int64) {
	r, bad := testrec.Check(data)
	if bad != 0 || r.Producer >= 64 || r.Seq >= s.perProducer {
		s.bad.Add(1)
		return
	}
	if int64(r.Seq) <= last[r.Producer] {
		s.order.Add(1)
	}
	last[r.Producer] = int64(r.Seq)
	atomic.AddUint32(&s.counts[uint64(r.Producer)*s.perProducer+r.Seq], 1)
	s.delivered.Add(1)
}

func newLast() []int64 {
	l := make([]int64, 64)
	for i := range l {
		l[i] = -1
	}
	return l
}

// check: every record the producers committed arrived exactly once.
func (s *seen) check(t *testing.T, lg lgStats) {
	t.Helper()
	var dup, missing, committed uint64
	for p := range lg.committed {
		var got uint64
		for q := uint64(0); q < s.perProducer; q++ {
			c := atomic.LoadUint32(&s.counts[uint64(p)*s.perProducer+q])
			if c > 1 {
				dup++
			}
			if c > 0 {
				got++
			}
		}
		committed += lg.committed[p]
		missing += lg.committed[p] - got
	}
	if s.bad.Load() != 0 || s.order.Load() != 0 || dup != 0 || missing != 0 ||
		uint64(s.delivered.Load()) != committed {
		t.Errorf("%d corrupt, %d out of order, %d duplicated, %d missing, %d delivered of %d committed",
			s.bad.Load(), s.order.Load(), dup, missing, s.delivered.Load(), committed)
	}
}

// catLine is one line of mpmcring cat --json.
type catLine struct {
	Len  int    `json:"len"`
	Data string `json:"data_b64"`
	Lost *struct {
		Dropped     uint64 `json:"dropped"`
		Overwritten uint64 `json:"overwritten"`
	} `json:"lost"`
}

// cConsumer is a C consumer in another process: the mpmcring tool (linked
// with libmpmcring) printing records as JSON lines.
type cConsumer struct {
	cmd       *exec.Cmd
	done      chan struct{}
	delivered atomic.Int64
	errs      []string
}

func startCat(t *testing.T, ring string, s *seen) *cConsumer {
	t.Helper()
	tool, err := exec.LookPath("mpmcring")
	if err != nil {
		t.Fatalf("the mpmcring tool is not in PATH (the harness puts it in the guest's /bin): %v", err)
	}
	c := &cConsumer{cmd: exec.Command(tool, "cat", ring, "--json", "--follow", "--batch", "32"),
		done: make(chan struct{})}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.cmd.Stderr = os.Stderr
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", tool, err)
	}
	go func() {
		defer close(c.done)
		last := newLast()
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			var l catLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				c.errs = append(c.errs, fmt.Sprintf("bad line %q: %v", sc.Text(), err))
				continue
			}
			if l.Lost != nil {
				continue
			}
			data, err := base64.StdEncoding.DecodeString(l.Data)
			if err != nil || len(data) != l.Len {
				c.errs = append(c.errs, fmt.Sprintf("bad record %q", sc.Text()))
				s.bad.Add(1)
				continue
			}
			s.record(data, last)
			c.delivered.Add(1)
		}
		io.Copy(io.Discard, out)
	}()
	return c
}

// stop ends cat cleanly (SIGTERM: it prints and commits the batch it holds
// first) and waits for its output.
func (c *cConsumer) stop(t *testing.T) {
	t.Helper()
	c.cmd.Process.Signal(syscall.SIGTERM)
	<-c.done
	if err := c.cmd.Wait(); err != nil {
		t.Errorf("mpmcring cat: %v", err)
	}
	for _, e := range c.errs {
		t.Error(e)
	}
}

// consumeTries counts what a goConsume loop's claims came to, for the
// log of a consumer that delivered nothing: starved by the scheduler (few
// tries), beaten to the head every time (busy), or told there was nothing
// (empty) while others were taking records.
type consumeTries struct {
	batches, busy, empty, waits atomic.Int64
}

func (c *consumeTries) String() string {
	return fmt.Sprintf("%d batches, %d busy, %d empty, %d waits",
		c.batches.Load(), c.busy.Load(), c.empty.Load(), c.waits.Load())
}

// goConsume consumes in batches until done says the producers finished
// and the ring is empty; the goroutine sleeps in Wait when there is
// nothing.
func goConsume(r *mpmcring.Ring, s *seen, finished *atomic.Bool, delivered *atomic.Int64,
	tries *consumeTries) error {
	c, err := r.NewConsumer()
	if err != nil {
		return err
	}
	defer c.Close()
	last := newLast()
	for {
		done := finished.Load()
		b, err := c.ReadBatch(32, 0)
		if err == nil {
			for rec, ok := b.Next(); ok; rec, ok = b.Next() {
				s.record(rec.Data, last)
			}
			delivered.Add(int64(b.Records))
			tries.batches.Add(1)
			if err := c.Commit(); err != nil {
				return err
			}
			continue
		}
		if errors.Is(err, mpmcring.ErrBusy) {
			tries.busy.Add(1)
			continue
		}
		if !errors.Is(err, mpmcring.ErrNoRecord) {
			return err
		}
		tries.empty.Add(1)
		if done {
			return nil
		}
		tries.waits.Add(1)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		err = c.Wait(ctx)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	}
}

// Three goroutine consumers here and two C consumers (libmpmcring, in
// other processes) race producers in kthreads, softirq, hardirq and NMI
// context: every committed record reaches exactly one of them, intact and
// in its producer's order, and every consumer of both kinds takes part.
func TestGoAndCConsumersExactlyOnce(t *testing.T) {
	const count = 4000
	// 32 MiB holds every record even with no consumer: every producer's
	// every record must arrive (drops under load are overload.c's). No
	// leases: exact delivery must not depend on the guest scheduling
	// every consumer within a claim timeout (leases are TestRevoked...'s
	// and tests/vm/stall.c's).
	startLG(t, "gvm", fmt.Sprintf("size=33554432 no_lease=1 threads=2 hrtimer=1 softirq=1 nmi=1 count=%d "+
		"len_max=300 timer_ns=100000 timer_batch=16 autostart=0", count))
	s := newSeen(count)
	r, err := mpmcring.Open("gvm")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cats := []*cConsumer{startCat(t, "gvm", s), startCat(t, "gvm", s)}
	defer func() {
		for _, c := range cats {
			c.cmd.Process.Kill()
		}
	}()
	// The C consumers are attached before anything is produced.
	waitConsumers(t, r, 2)

	var finished atomic.Bool
	var wg sync.WaitGroup
	delivered := make([]atomic.Int64, 3)
	tries := make([]consumeTries, 3)
	errs := make([]error, 3)
	for i := range delivered {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = goConsume(r, s, &finished, &delivered[i], &tries[i])
		}(i)
	}
	waitConsumers(t, r, 5)
	lgCommand(t, "start")
	lg := waitLG(t)
	finished.Store(true)
	wg.Wait()
	for _, c := range cats {
		c.stop(t)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("Go consumer %d: %v", i, err)
		}
	}
	for i := range delivered {
		t.Logf("Go consumer %d delivered %d (%v)", i, delivered[i].Load(), &tries[i])
		if delivered[i].Load() == 0 {
			t.Errorf("Go consumer %d delivered nothing (%v)", i, &tries[i])
		}
	}
	for i, c := range cats {
		t.Logf("C consumer %d (pid %d) delivered %d", i, c.cmd.Process.Pid, c.delivered.Load())
		if c.delivered.Load() == 0 {
			t.Errorf("C consumer %d delivered nothing", i)
		}
	}
	t.Logf("%d producers: attempted %d committed %d dropped %d delivered %d",
		len(lg.committed), lg.attempted, lg.total, lg.dropped, s.delivered.Load())
	s.check(t, lg)
	if lg.dropped != 0 {
		t.Errorf("%d records dropped in a ring that holds them all", lg.dropped)
	}
	for p, c := range lg.committed {
		if c != count {
			t.Errorf("producer %d (%s) committed %d of %d", p, lg.ctx[p], c, count)
		}
	}
	st, err := r.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.ProducedRecords != lg.total || st.ConsumedRecords != lg.total || st.InRingRecords != 0 {
		t.Errorf("ring counters: produced %d consumed %d in ring %d, producers committed %d",
			st.ProducedRecords, st.ConsumedRecords, st.InRingRecords, lg.total)
	}
}

func waitConsumers(t *testing.T, r *mpmcring.Ring, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		cs, err := r.ListConsumers()
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d consumers attached, want %d", len(cs), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const (
	helperEnv     = "MPMCRING_GO_HELPER"
	helperRingEnv = "MPMCRING_GO_HELPER_RING"
)

// runHelper is the binary as a helper process of a test.
func runHelper(what string) int {
	switch what {
	case "hold":
		// Claim a batch, say how many, hold it until killed.
		r, err := mpmcring.Open(os.Getenv(helperRingEnv))
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		c, err := r.NewConsumer()
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		b, err := c.ReadBatch(50, 0)
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		fmt.Println("held", b.Records)
		// Not select{}: with nothing else to run, the runtime would
		// call that a deadlock and exit, releasing the claim.
		for {
			time.Sleep(time.Hour)
		}
	}
	fmt.Println("unknown helper", what)
	return 2
}

// A Go consumer process killed (SIGKILL) while it holds a claimed batch:
// the others carry on, producers get the space back, and the ring counts
// what it held as abandoned.
func TestGoConsumerKilledHoldingBatch(t *testing.T) {
	// No lease: the claim must pin the ring until the kill, however long
	// a slow guest takes to get there (a revocation would free it first).
	startLG(t, "gkill", "size=65536 no_lease=1 threads=1 count=3000 prio_mix=0:0:100")
	lg := waitLG(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	kid := exec.Command(self)
	kid.Env = append(os.Environ(), helperEnv+"=hold", helperRingEnv+"=gkill")
	kid.Stderr = os.Stderr
	kid.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := kid.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := kid.Start(); err != nil {
		t.Fatal(err)
	}
	defer kid.Process.Kill()
	line, _ := bufio.NewReader(out).ReadString('\n')
	exited := make(chan error, 1)
	go func() { exited <- kid.Wait() }()
	var held int
	if _, err := fmt.Sscanf(line, "held %d", &held); err != nil || held != 50 {
		t.Fatalf("the helper said %q, want it to hold 50", line)
	}

	r, err := mpmcring.Open("gkill")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, err := r.NewConsumer()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	drain := func() int {
		n := 0
		for {
			k, err := c.Consume(64, func(rec mpmcring.Record) error {
				if rec.Flags&mpmcring.RecFromUser != 0 {
					return nil // ours, below
				}
				if _, bad := testrec.Check(rec.Data); bad != 0 {
					t.Errorf("corrupt record (%d)", bad)
				}
				n++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if k == 0 {
				return n
			}
		}
	}
	// The others carry on past the held batch...
	got := drain()
	// ...but no space comes back while it holds the oldest records.
	w, err := syscall.Open(mpmcring.Path("gkill"), syscall.O_RDWR|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(w)
	buf := make([]byte, 64)
	wrote := 0
	for ; wrote < 100; wrote++ {
		if _, err := syscall.Write(w, buf); err != nil {
			if err != syscall.EAGAIN {
				t.Fatalf("write: %v", err)
			}
			break
		}
	}
	if wrote >= 4 {
		t.Errorf("%d writes found room while a claim pinned the ring", wrote)
	}

	// Still there, holding: it must die of this kill, not before.
	select {
	case err := <-exited:
		t.Fatalf("the helper ended before the kill (%v): its claim did not pin the ring", err)
	default:
	}
	kid.Process.Signal(syscall.SIGKILL)
	if err := <-exited; !killedBy(err, syscall.SIGKILL) {
		t.Errorf("the helper ended with %v, want killed by SIGKILL", err)
	}
	st, err := r.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.AbandonedClaims != 1 || st.AbandonedRecords != 50 {
		t.Errorf("abandoned %d claims, %d records; want 1 and 50", st.AbandonedClaims, st.AbandonedRecords)
	}
	// Producers regain the space.
	got += drain()
	for i := 0; i < 500; i++ {
		if _, err := syscall.Write(w, buf); err != nil {
			t.Fatalf("write %d after the killed consumer's claim ended: %v", i, err)
		}
	}
	// Load generator records: read by us, or held by the killed one.
	if uint64(got+held) != lg.total {
		t.Errorf("read %d + held %d, the load generator committed %d", got, held, lg.total)
	}
}

func killedBy(err error, sig syscall.Signal) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}
