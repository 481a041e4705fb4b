// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

// Calls that would release a stopped Consume's undelivered records unread,
// or take and release records under a running Consume (review-18b
// should-fix 1, 1b, 4): refused with EINVAL, and every record still comes
// once. Close, the consumer's end, still releases everything, and counts
// what nobody read as abandoned, not consumed (review-18c S3-M2).

import (
	"bytes"
	"errors"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

func wantEINVAL(t *testing.T, what string, err error, says string) {
	t.Helper()
	if !errors.Is(err, syscall.EINVAL) || !strings.Contains(err.Error(), says) {
		t.Fatalf("%s: %v, want EINVAL saying %q", what, err, says)
	}
}

func TestCommitAfterStoppedConsumeRefused(t *testing.T) {
	h := newTestRing(t, ringParams{size: 8192})
	c := newConsumer(t, h.ring(t))
	for i := 0; i < 10; i++ {
		mustProduce(t, h, payload(i, 40), PrioCritical)
	}
	var got [][]byte
	stop := errors.New("stop")
	keep := func(rec Record) error {
		got = append(got, append([]byte(nil), rec.Data...))
		if len(got) == 3 {
			return stop
		}
		return nil
	}
	if n, err := c.Consume(64, keep); n != 3 || err != stop {
		t.Fatalf("Consume: %d, %v", n, err)
	}
	wantEINVAL(t, "Commit after a stopped Consume", c.Commit(), "undelivered")
	if !c.holding || atomic.LoadUint64(c.start)&1 != 0 {
		t.Fatal("the refused Commit released the claim")
	}
	if n, err := c.Consume(64, keep); n != 7 || err != nil {
		t.Fatalf("Consume of the rest: %d, %v", n, err)
	}
	for i := 0; i < 10; i++ {
		if i >= len(got) || !bytes.Equal(got[i], payload(i, 40)) {
			t.Fatalf("record %d lost or out of order (%d records)", i, len(got))
		}
	}

	// One of the rest taken by Read: only Read can take the others, and
	// ReadBatch and Commit say so.
	for i := 10; i < 14; i++ {
		mustProduce(t, h, payload(i, 40), PrioCritical)
	}
	if n, err := c.Consume(64, func(Record) error { return stop }); n != 1 || err != stop {
		t.Fatalf("Consume: %d, %v", n, err)
	}
	if rec, err := c.Read(); err != nil || !bytes.Equal(rec.Data, payload(11, 40)) {
		t.Fatalf("Read after the stop: %v", err)
	}
	_, err := c.ReadBatch(4, 0)
	wantEINVAL(t, "ReadBatch after Read of a stopped Consume's record", err, "with Read")
	if strings.Contains(err.Error(), "with Consume") {
		t.Fatalf("ReadBatch sends the caller to Consume, which refuses: %v", err)
	}
	wantEINVAL(t, "Commit after Read of a stopped Consume's record", c.Commit(), "with Read")
	for i := 12; i < 14; i++ {
		if rec, err := c.Read(); err != nil || !bytes.Equal(rec.Data, payload(i, 40)) {
			t.Fatalf("Read %d: %v", i, err)
		}
	}
	if err := c.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(); err != ErrNoRecord {
		t.Fatalf("Read on the drained ring: %v", err)
	}

	// Revoked meanwhile: the rest is lost anyway; Commit releases it and
	// counts it.
	for i := 14; i < 18; i++ {
		mustProduce(t, h, payload(i, 40), PrioCritical)
	}
	if n, err := c.Consume(64, func(Record) error { return stop }); n != 1 || err != stop {
		t.Fatalf("Consume: %d, %v", n, err)
	}
	for {
		s := atomic.LoadUint64(c.start)
		if atomic.CompareAndSwapUint64(c.start, s, s|slotRevoked) {
			break
		}
	}
	if err := c.Commit(); !errors.Is(err, ErrStale) {
		t.Fatalf("Commit of a revoked, stopped Consume: %v, want ErrStale", err)
	}
	if l := c.Lost(); l.Revoked != 4 {
		t.Fatalf("revoked %d, want the 4 records of the claim", l.Revoked)
	}
	if _, err := c.Read(); err != ErrNoRecord {
		t.Fatalf("Read after the revoked claim's commit: %v", err)
	}

	// Close is the consumer's end: it releases what a stopped Consume left.
	for i := 18; i < 22; i++ {
		mustProduce(t, h, payload(i, 40), PrioCritical)
	}
	if n, err := c.Consume(64, func(Record) error { return stop }); n != 1 || err != stop {
		t.Fatalf("Consume: %d, %v", n, err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close after a stopped Consume: %v", err)
	}
	if atomic.LoadUint64(c.start)&1 != 1 {
		t.Fatal("Close left the stopped Consume's claim held")
	}
}

// Close after a stopped Consume: what fn saw, and what Read took after the
// stop, counts as consumed; the rest, read by nobody, is abandoned as if
// the consumer had died, never consumed. On a device the detach adds the
// slot's held_records to AbandonedRecords; over memory the slot keeps the
// count. Either way the claim ends.
func TestCloseAfterStoppedConsumeAbandons(t *testing.T) {
	h := newTestRing(t, ringParams{size: 8192})
	r := h.ring(t)
	stop := errors.New("stop")
	stopAt3 := func() func(Record) error {
		n := 0
		return func(Record) error {
			if n++; n == 3 {
				return stop
			}
			return nil
		}
	}
	slot := func(c *Consumer, w uint64) uint64 { return atomic.LoadUint64(c.v.slotWord(c.idx, w)) }
	check := func(what string, c *Consumer, consumed, held uint64) {
		t.Helper()
		if atomic.LoadUint64(c.start)&1 != 1 {
			t.Fatalf("%s: Close left the claim held", what)
		}
		if got := slot(c, slotConsumedRecords); got != consumed {
			t.Fatalf("%s: consumed_records %d, want %d", what, got, consumed)
		}
		if got := slot(c, slotConsumedBytes); got != consumed*40 {
			t.Fatalf("%s: consumed_bytes %d, want %d", what, got, consumed*40)
		}
		if got := slot(c, slotHeldRecords); got != held {
			t.Fatalf("%s: held_records (abandoned) %d, want %d", what, got, held)
		}
	}

	c := newConsumer(t, r)
	for i := 0; i < 10; i++ {
		mustProduce(t, h, payload(i, 40), PrioCritical)
	}
	if n, err := c.Consume(64, stopAt3()); n != 3 || err != stop {
		t.Fatalf("Consume: %d, %v", n, err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close after a stopped Consume: %v", err)
	}
	check("stopped at 3 of 10", c, 3, 7)

	c = newConsumer(t, r)
	for i := 10; i < 20; i++ {
		mustProduce(t, h, payload(i, 40), PrioCritical)
	}
	if n, err := c.Consume(64, stopAt3()); n != 3 || err != stop {
		t.Fatalf("Consume: %d, %v", n, err)
	}
	if rec, err := c.Read(); err != nil || !bytes.Equal(rec.Data, payload(13, 40)) {
		t.Fatalf("Read after the stop: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close after a stopped Consume and a Read: %v", err)
	}
	check("stopped at 3 of 10, one Read", c, 4, 6)

	// Nothing undelivered (read, not committed): all consumed.
	c = newConsumer(t, r)
	for i := 20; i < 22; i++ {
		mustProduce(t, h, payload(i, 40), PrioCritical)
	}
	if _, err := c.Read(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	check("read, not committed", c, 1, 0)
	c = newConsumer(t, r)
	if rec, err := c.Read(); err != nil || !bytes.Equal(rec.Data, payload(21, 40)) {
		t.Fatalf("the next consumer's Read: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	// Revoked between the stop and Close (the consumer stood still past
	// the claim timeout): the revocation counted the whole claim,
	// held_records = 10, as revoked. Close must not add the three
	// delivered to consumed_records as well, and leaves nothing held for
	// the detach to count as abandoned.
	c = newConsumer(t, r)
	for i := 30; i < 40; i++ {
		mustProduce(t, h, payload(i, 40), PrioCritical)
	}
	if n, err := c.Consume(64, stopAt3()); n != 3 || err != stop {
		t.Fatalf("Consume: %d, %v", n, err)
	}
	consumed := slot(c, slotConsumedRecords)
	if got := slot(c, slotHeldRecords); got != 10 {
		t.Fatalf("held_records before the revocation %d, want 10", got)
	}
	for {
		s := atomic.LoadUint64(c.start)
		if atomic.CompareAndSwapUint64(c.start, s, s|slotRevoked) {
			break
		}
	}
	if err := c.Close(); !errors.Is(err, ErrStale) {
		t.Fatalf("Close of a revoked, stopped Consume: %v, want ErrStale", err)
	}
	if s := atomic.LoadUint64(c.start); s != slotIdle {
		t.Fatalf("start %#x after Close, want idle", s)
	}
	if got := slot(c, slotConsumedRecords); got != consumed {
		t.Fatalf("revoked: consumed_records %d, want %d (counted as revoked)", got, consumed)
	}
	if got := slot(c, slotHeldRecords); got != 0 {
		t.Fatalf("revoked: held_records %d, want 0", got)
	}
}

// fn calling Read, ReadBatch, Commit, Consume or Close on the consumer that
// feeds it would take records Consume then commits under their reader, or
// release the rest of the claim.
func TestCallsFromConsumeCallbackRefused(t *testing.T) {
	h := newTestRing(t, ringParams{size: 8192})
	c := newConsumer(t, h.ring(t))
	for i := 0; i < 4; i++ {
		mustProduce(t, h, payload(i, 40), PrioCritical)
	}
	var got [][]byte
	var errs []error
	n, err := c.Consume(64, func(rec Record) error {
		got = append(got, append([]byte(nil), rec.Data...))
		if len(got) > 1 {
			return nil
		}
		_, err := c.Read()
		errs = append(errs, err)
		_, err = c.ReadBatch(4, 0)
		errs = append(errs, err)
		errs = append(errs, c.Commit())
		_, err = c.Consume(4, func(Record) error { return nil })
		errs = append(errs, err)
		errs = append(errs, c.Close())
		return nil
	})
	if n != 4 || err != nil {
		t.Fatalf("Consume: %d, %v", n, err)
	}
	for i, what := range []string{"Read", "ReadBatch", "Commit", "Consume", "Close"} {
		wantEINVAL(t, what+" from fn", errs[i], "inside Consume")
	}
	for i := 0; i < 4; i++ {
		if i >= len(got) || !bytes.Equal(got[i], payload(i, 40)) {
			t.Fatalf("record %d lost or out of order (%d records)", i, len(got))
		}
	}
	if c.holding || c.closed {
		t.Fatalf("after Consume: holding %v, closed %v", c.holding, c.closed)
	}
	// Outside fn the calls work again.
	mustProduce(t, h, payload(4, 40), PrioCritical)
	if rec, err := c.Read(); err != nil || !bytes.Equal(rec.Data, payload(4, 40)) {
		t.Fatalf("Read after Consume: %v", err)
	}
	if err := c.Commit(); err != nil {
		t.Fatal(err)
	}
}
