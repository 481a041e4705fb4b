// SPDX-License-Identifier: GPL-2.0-only

//go:build mpmcring_vm

package vmtest

// The load generator (kmod/loadgen): loaded with finit_module, driven
// through /sys/kernel/debug/mpmcring_loadgen/{control,stats}, as
// tests/vm/vmtest.h does for the C tests.

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"mpmcring.dev/go/mpmcring"
)

const (
	lgName    = "mpmcring_loadgen"
	lgControl = "/sys/kernel/debug/mpmcring_loadgen/control"
	lgStatsF  = "/sys/kernel/debug/mpmcring_loadgen/stats"
)

func modDir() string {
	if d := os.Getenv("MPMCRING_MODDIR"); d != "" {
		return d
	}
	return "/lib/mpmcring"
}

func insmod(name, params string) error {
	f, err := os.Open(filepath.Join(modDir(), name+".ko"))
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := syscall.BytePtrFromString(params)
	if err != nil {
		return err
	}
	_, _, e := syscall.Syscall(sysFinitModule, f.Fd(), uintptr(unsafe.Pointer(p)), 0)
	if e != 0 {
		return e
	}
	return nil
}

func rmmod(name string) error {
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return err
	}
	_, _, e := syscall.Syscall(syscall.SYS_DELETE_MODULE, uintptr(unsafe.Pointer(p)), syscall.O_NONBLOCK, 0)
	if e != 0 {
		return e
	}
	return nil
}

// startLG loads the load generator creating ring name with params, and
// unloads it when the test ends.
func startLG(t *testing.T, ring, params string) {
	t.Helper()
	all := fmt.Sprintf("ring=%s create=1 %s", ring, params)
	if err := insmod(lgName, all); err != nil {
		t.Fatalf("insmod %s %s: %v", lgName, all, err)
	}
	t.Cleanup(func() {
		// Unloading waits for no file of the ring to be open: the
		// test closed its own; helper processes were reaped.
		var err error
		for i := 0; i < 100; i++ {
			if err = rmmod(lgName); err != syscall.EAGAIN && err != syscall.EBUSY {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			t.Errorf("rmmod %s: %v", lgName, err)
		}
	})
}

func lgCommand(t *testing.T, cmd string) {
	t.Helper()
	if err := os.WriteFile(lgControl, []byte(cmd), 0); err != nil {
		t.Fatalf("load generator %s: %v", cmd, err)
	}
}

// lgStats are the load generator's counters, per producer and in total.
type lgStats struct {
	ctx                       []string
	committed                 []uint64
	attempted, total, dropped uint64
	finished                  bool
}

func readLG(t *testing.T) lgStats {
	t.Helper()
	f, err := os.Open(lgStatsF)
	if err != nil {
		t.Fatalf("load generator stats: %v", err)
	}
	defer f.Close()
	var s lgStats
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := strings.Fields(sc.Text())
		var id, cpu, done int
		var a, c, d uint64
		var ctx string
		switch {
		case len(w) == 0 || strings.HasPrefix(w[0], "#"):
		case len(w) >= 7 && w[0] != "total":
			if _, err := fmt.Sscan(strings.Join(w[:7], " "), &id, &ctx, &cpu, &a, &c, &d, &done); err != nil {
				t.Fatalf("load generator stats line %q: %v", sc.Text(), err)
			}
			for len(s.committed) <= id {
				s.committed = append(s.committed, 0)
				s.ctx = append(s.ctx, "")
			}
			s.committed[id], s.ctx[id] = c, ctx
		case len(w) == 4 && w[0] == "total":
			fmt.Sscan(strings.Join(w[1:], " "), &s.attempted, &s.total, &s.dropped)
		case len(w) == 2 && w[0] == "finished":
			s.finished = w[1] == "1"
		}
	}
	return s
}

// waitLG waits until every producer attempted its count (a handshake with
// a generous bound, not a timing assertion).
func waitLG(t *testing.T) lgStats {
	t.Helper()
	deadline := time.Now().Add(240 * time.Second)
	for {
		s := readLG(t)
		if s.finished {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("the load generator did not finish: %+v", s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lgRing is the load generator loaded with a ring of its own, count
// records to commit once started (autostart=0: lgCommand "start"), opened
// with one consumer. The test's cleanup closes the consumer and the ring
// (after the test's own deferred calls: a goroutine the test stops in a
// defer never races the Close) and unloads the generator unless destroy
// did.
type lgRing struct {
	r      *mpmcring.Ring
	c      *mpmcring.Consumer
	loaded bool
}

func newLGRing(t *testing.T, ring string, count int) *lgRing {
	t.Helper()
	params := "ring=" + ring + " create=1 size=65536 threads=1 count=" +
		strconv.Itoa(count) + " autostart=0"
	if err := insmod(lgName, params); err != nil {
		t.Fatalf("insmod %s %s: %v", lgName, params, err)
	}
	l := &lgRing{loaded: true}
	t.Cleanup(func() {
		if l.loaded {
			rmmod(lgName)
		}
	})
	r, err := mpmcring.Open(ring)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	c, err := r.NewConsumer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	l.r, l.c = r, c
	return l
}

// destroy unloads the generator, which destroys its ring.
func (l *lgRing) destroy() error {
	if err := rmmod(lgName); err != nil {
		return err
	}
	l.loaded = false
	return nil
}
