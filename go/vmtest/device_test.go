// SPDX-License-Identifier: GPL-2.0-only

//go:build mpmcring_vm

package vmtest

import (
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"mpmcring.dev/go/mpmcring"
)

// A claim that stands still past the ring's claim timeout, with the ring
// full behind it, is revoked by the kernel: Validate and Commit say
// ErrStale (ESTALE), reading more before the commit is refused, the records
// count as revoked on both sides, and the next claim is a fresh lease.
func TestRevokedClaimIsStale(t *testing.T) {
	// 1000 records fill the 64 KiB ring: the claim at its head holds
	// the producers back, which is what makes a stalled claim revocable.
	startLG(t, "glease", "size=65536 threads=1 count=1000 claim_timeout_ms=300 prio_mix=0:0:100")
	waitLG(t)
	r, err := mpmcring.Open("glease")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := r.Layout().ClaimTimeout; got != 300*time.Millisecond {
		t.Fatalf("layout claim timeout %v, want 300ms", got)
	}
	c, err := r.NewConsumer()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, err := c.ReadBatch(64, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Hold it: the kernel's housekeeping tick revokes it after the
	// timeout (waited for through the counters, not a sleep).
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := r.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if st.RevokedClaims == 1 {
			if st.RevokedRecords != uint64(b.Records) {
				t.Errorf("the ring counted %d revoked records, the claim held %d", st.RevokedRecords, b.Records)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the claim was never revoked: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cs, err := r.ListConsumers()
	if err != nil || len(cs) != 1 || cs[0].Slot != uint32(c.Slot()) || cs[0].Revocations != 1 ||
		cs[0].Pid != uint32(os.Getpid()) || cs[0].Start&2 == 0 {
		t.Errorf("ListConsumers: %+v, %v (want the revoked bit, 2, in Start)", cs, err)
	}
	err = c.Validate()
	if !errors.Is(err, mpmcring.ErrStale) || !errors.Is(err, syscall.ESTALE) {
		t.Fatalf("Validate after revocation: %v", err)
	}
	if _, err := c.Read(); !errors.Is(err, mpmcring.ErrStale) {
		t.Fatalf("Read on a revoked claim: %v, want ErrStale (commit first)", err)
	}
	err = c.Commit()
	if !errors.Is(err, mpmcring.ErrStale) || !strings.Contains(err.Error(), "300 ms") {
		t.Fatalf("Commit after revocation: %v", err)
	}
	if l := c.Lost(); l.Revoked != uint64(b.Records) {
		t.Errorf("Lost().Revoked %d, want %d", l.Revoked, b.Records)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate holding nothing: %v", err)
	}
	if _, err := c.Read(); err != nil {
		t.Fatal(err)
	}
	if err := c.Commit(); err != nil {
		t.Errorf("a fresh claim after a revoked one: %v", err)
	}
}

// Write and Writev produce records a consumer reads back, flagged as
// written by userspace; errors say what went wrong.
func TestDeviceWriteReadBack(t *testing.T) {
	r, err := mpmcring.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	drainDefault(t, r)
	l := r.Layout()
	if l.ABIMajor != mpmcring.ABIMajor || l.ABIMinor < 1 || l.DataSize == 0 || l.MaxConsumers == 0 {
		t.Fatalf("layout %+v", l)
	}
	c, err := r.NewConsumer()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n, err := r.Write([]byte("one")); err != nil || n != 3 {
		t.Fatalf("Write: %d, %v", n, err)
	}
	// Records carry at least one byte: an empty one refuses the call.
	if err := r.Writev([]byte("two"), []byte{}, []byte("four")); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("Writev with an empty record: %v, want EINVAL", err)
	}
	if n, err := r.Write(nil); n != 0 || err != nil {
		t.Fatalf("Write of nothing: %d, %v, want 0 and no record", n, err)
	}
	if err := r.Writev([]byte("two"), []byte("four")); err != nil {
		t.Fatalf("Writev: %v", err)
	}
	b, err := c.ReadBatch(10, 0)
	if err != nil || b.Records != 3 {
		t.Fatalf("ReadBatch: %d records, %v", b.Records, err)
	}
	var got []string
	for rec, ok := b.Next(); ok; rec, ok = b.Next() {
		if rec.Flags&mpmcring.RecFromUser == 0 || rec.Prio != mpmcring.PrioNormal {
			t.Errorf("record %q: flags %#x class %d", rec.Data, rec.Flags, rec.Prio)
		}
		got = append(got, string(rec.Data))
	}
	if strings.Join(got, ",") != "one,two,four" {
		t.Errorf("read back %q", got)
	}
	if err := c.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Write(make([]byte, l.MaxRecord+1)); !errors.Is(err, mpmcring.ErrTooBig) {
		t.Errorf("Write of max_record+1 bytes: %v, want ErrTooBig", err)
	}
	if err := r.SetWritePriority(mpmcring.PrioCritical); l.UserMaxPrio < mpmcring.PrioCritical &&
		!errors.Is(err, syscall.EPERM) {
		t.Errorf("SetWritePriority above the ring's limit: %v, want EPERM", err)
	}
	cs, err := r.ListConsumers()
	if err != nil || len(cs) == 0 {
		t.Fatalf("ListConsumers: %v, %v", cs, err)
	}
	st, err := r.Stats()
	if err != nil || st.Consumers == 0 || st.ProducedRecords < 3 {
		t.Errorf("Stats: %+v, %v", st, err)
	}
}

func TestDeviceOpenErrors(t *testing.T) {
	_, err := mpmcring.Open("no-such-ring")
	if !errors.Is(err, syscall.ENOENT) || !strings.Contains(err.Error(), "/dev/mpmcring-no-such-ring") ||
		!strings.Contains(err.Error(), "modprobe") {
		t.Errorf("Open of a missing ring: %v", err)
	}
	_, err = mpmcring.Open("/dev/null")
	if !errors.Is(err, syscall.ENOTTY) || !strings.Contains(err.Error(), "not an mpmcring device") {
		t.Errorf("Open of /dev/null: %v", err)
	}
	ro, err := mpmcring.OpenReadOnly("")
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.NewConsumer(); !errors.Is(err, syscall.EBADF) {
		t.Errorf("NewConsumer on a read-only ring: %v", err)
	}
	if _, err := ro.Stats(); err != nil {
		t.Errorf("Stats on a read-only ring: %v", err)
	}
}

// A corrupt head written by a co-tenant: the package asks the kernel to
// repair it (MPMCRING_IOC_REPAIR) and reads on, once.
func TestCorruptHeadRepaired(t *testing.T) {
	startLG(t, "grepair", "size=65536 threads=1 count=50 prio_mix=0:0:100")
	lg := waitLG(t)
	r, err := mpmcring.Open("grepair")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	l := r.Layout()
	cons, err := syscall.Mmap(r.Fd(), 0, int(l.ConsumerArea), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(cons)
	head := (*uint64)(unsafe.Pointer(&cons[0]))
	before, err := r.Stats()
	if err != nil {
		t.Fatal(err)
	}
	atomic.StoreUint64(head, before.ProdPos+3) // past the ring, between granules
	c, err := r.NewConsumer()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Read(); !errors.Is(err, mpmcring.ErrNoRecord) {
		t.Fatalf("Read over a corrupt head: %v, want the repair then no record", err)
	}
	after, err := r.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if after.HeadRepairs != before.HeadRepairs+1 || after.Head != after.ProdPos {
		t.Errorf("repairs %d -> %d, head %#x prod %#x", before.HeadRepairs, after.HeadRepairs, after.Head, after.ProdPos)
	}
	if lg.total == 0 {
		t.Fatal("nothing produced")
	}
}
