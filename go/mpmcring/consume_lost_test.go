// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

import (
	"errors"
	"fmt"
	"syscall"
	"testing"
)

// ConsumeLost reports losses before the records, once, never between a
// stopped Consume and the rest of its records, and never where Consume
// refuses (the losses would be taken and then not reported).
func TestConsumeLostReportsLossesInTheStream(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	c := newConsumer(t, r)
	var events []string
	fn := func(rec Record) error {
		events = append(events, fmt.Sprintf("rec %d", rec.Data[0]))
		return nil
	}
	lost := func(l Lost) error {
		events = append(events, fmt.Sprintf("lost %d/%d/%d", l.Dropped, l.Overwritten, l.Revoked))
		return nil
	}
	expect := func(what string, want ...string) {
		t.Helper()
		if fmt.Sprint(events) != fmt.Sprint(want) {
			t.Fatalf("%s: %v, want %v", what, events, want)
		}
		events = nil
	}

	// A full ring drops: the losses come first, once.
	n, drops := 0, 0
	for drops < 3 {
		if h.produce(tagged(n, 200), PrioCritical) {
			n++
		} else {
			drops++
		}
	}
	got, err := c.ConsumeLost(1000, fn, lost)
	if err != nil || got != n {
		t.Fatalf("ConsumeLost: %d, %v; want %d records", got, err, n)
	}
	if len(events) != n+1 || events[0] != "lost 3/0/0" || events[1] != "rec 0" {
		t.Fatalf("ConsumeLost after 3 drops: %v, want the losses then %d records", events, n)
	}
	events = nil
	if got, err := c.ConsumeLost(10, fn, lost); got != 0 || err != nil {
		t.Fatalf("ConsumeLost of an empty ring: %d, %v", got, err)
	}
	expect("nothing new")

	// A stopped Consume's rest comes before losses that happened since.
	for i := 0; i < 3; i++ {
		mustProduce(t, h, tagged(10+i, 20), PrioCritical)
	}
	stop := errors.New("stop")
	got, err = c.ConsumeLost(10, func(rec Record) error { fn(rec); return stop }, lost)
	if got != 1 || err != stop {
		t.Fatalf("ConsumeLost stopped by fn: %d, %v", got, err)
	}
	expect("stopped", "rec 10")
	h.drop(DropFull)
	if got, err := c.ConsumeLost(10, fn, lost); got != 2 || err != nil {
		t.Fatalf("ConsumeLost of a stopped claim's rest: %d, %v", got, err)
	}
	expect("the rest before the loss", "rec 11", "rec 12")
	if got, err := c.ConsumeLost(10, fn, lost); got != 0 || err != nil {
		t.Fatalf("ConsumeLost after the rest: %d, %v", got, err)
	}
	expect("the loss, next call", "lost 1/0/0")

	// lost's error stops the call before any record; the losses were
	// reported (Lost has nothing), the record comes next time.
	h.drop(DropFull)
	mustProduce(t, h, tagged(20, 20), PrioCritical)
	got, err = c.ConsumeLost(10, fn, func(l Lost) error { lost(l); return stop })
	if got != 0 || err != stop {
		t.Fatalf("ConsumeLost with lost failing: %d, %v", got, err)
	}
	expect("lost failing", "lost 1/0/0")
	if l := c.Lost(); l != (Lost{}) {
		t.Fatalf("losses after lost returned an error: %+v, want reported", l)
	}
	if got, err := c.ConsumeLost(10, fn, lost); got != 1 || err != nil {
		t.Fatalf("ConsumeLost after lost failed: %d, %v", got, err)
	}
	expect("the record after", "rec 20")

	// fn stopped at its claim's last record: the next call only commits
	// (Consume claims nothing then), so the losses wait for the call
	// after, which claims. Before, the commit-only call took them.
	mustProduce(t, h, tagged(25, 20), PrioCritical)
	mustProduce(t, h, tagged(26, 20), PrioCritical)
	seen := 0
	got, err = c.ConsumeLost(10, func(rec Record) error {
		fn(rec)
		if seen++; seen == 2 {
			return stop
		}
		return nil
	}, lost)
	if got != 2 || err != stop || !c.holding || c.pendingLeft() {
		t.Fatalf("ConsumeLost stopped at the last record: %d, %v (holding %v)", got, err, c.holding)
	}
	expect("stopped at the last record", "rec 25", "rec 26")
	h.drop(DropFull)
	if got, err := c.ConsumeLost(10, fn, lost); got != 0 || err != nil || c.holding {
		t.Fatalf("ConsumeLost that commits only: %d, %v (holding %v)", got, err, c.holding)
	}
	expect("the commit only")
	mustProduce(t, h, tagged(27, 20), PrioCritical)
	if got, err := c.ConsumeLost(10, fn, lost); got != 1 || err != nil {
		t.Fatalf("ConsumeLost after the commit-only call: %d, %v", got, err)
	}
	expect("the loss with the next claim", "lost 1/0/0", "rec 27")

	// Where Consume refuses (records from Read held), the losses stay.
	mustProduce(t, h, tagged(30, 20), PrioCritical)
	mustProduce(t, h, tagged(31, 20), PrioCritical)
	if _, err := c.Read(); err != nil {
		t.Fatal(err)
	}
	h.drop(DropFull)
	if _, err := c.ConsumeLost(10, fn, lost); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("ConsumeLost holding a Read record: %v, want EINVAL", err)
	}
	expect("refused")
	if err := c.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, err := c.ConsumeLost(10, fn, lost); got != 1 || err != nil {
		t.Fatalf("ConsumeLost after the commit: %d, %v", got, err)
	}
	expect("after the refusal", "lost 1/0/0", "rec 31")

	c.Close()
	if _, err := c.ConsumeLost(10, fn, lost); !errors.Is(err, ErrClosed) {
		t.Fatalf("ConsumeLost after Close: %v, want ErrClosed", err)
	}
	expect("closed")
}

// tagged is a payload whose first byte is i.
func tagged(i, n int) []byte {
	b := payload(i, n)
	b[0] = byte(i)
	return b
}

// ConsumeLost from inside Consume's fn is refused before it takes the
// losses (review-16c S3): they stay for the next call.
func TestConsumeLostRefusedInsideConsume(t *testing.T) {
	h := newTestRing(t, ringParams{size: 4096})
	r := h.ring(t)
	c := newConsumer(t, r)
	mustProduce(t, h, tagged(1, 20), PrioCritical)
	mustProduce(t, h, tagged(2, 20), PrioCritical)
	h.drop(DropFull)
	lostCalls := 0
	lost := func(Lost) error { lostCalls++; return nil }
	var nestedErr error
	if _, err := c.Consume(1, func(Record) error {
		_, nestedErr = c.ConsumeLost(10, func(Record) error { return nil }, lost)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if nestedErr == nil {
		t.Fatalf("ConsumeLost inside Consume's fn was not refused")
	}
	if lostCalls != 0 {
		t.Fatalf("a refused ConsumeLost called lost %d times", lostCalls)
	}
	if l := c.Lost(); l.Dropped != 1 {
		t.Fatalf("after the refused call: Lost %+v, want the drop still there", l)
	}
}

// oneRecordOneDrop is a consumer of a ring holding one record, with one
// drop not yet reported.
func oneRecordOneDrop(t *testing.T) *Consumer {
	t.Helper()
	h := newTestRing(t, ringParams{size: 4096})
	c := newConsumer(t, h.ring(t))
	mustProduce(t, h, tagged(1, 20), PrioCritical)
	h.drop(DropFull)
	return c
}

// A nil lost is refused (EINVAL), before anything is taken or read.
func TestConsumeLostNilLost(t *testing.T) {
	c := oneRecordOneDrop(t)
	read := 0
	n, err := c.ConsumeLost(10, func(Record) error { read++; return nil }, nil)
	if n != 0 || read != 0 || !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("ConsumeLost with a nil lost: %d, %v, %d read; want 0, EINVAL, none", n, err, read)
	}
	if l := c.Lost(); l.Dropped != 1 {
		t.Fatalf("after the refused call: Lost %+v, want the drop still there", l)
	}
}

// lost runs as fn does: the consumer's calls that take or release records,
// and Close, are refused inside it, so the Consume after it still reads
// (helper-261: a Read in lost claimed, and the Consume refused with the
// losses taken).
func TestConsumeLostCallbackIsGuardedAsFn(t *testing.T) {
	c := oneRecordOneDrop(t)
	var inside []error
	lost := func(Lost) error {
		_, err := c.Read()
		inside = append(inside, err)
		inside = append(inside, c.Commit())
		_, err = c.Consume(1, func(Record) error { return nil })
		inside = append(inside, err)
		inside = append(inside, c.Close())
		return nil
	}
	got, err := c.ConsumeLost(10, func(Record) error { return nil }, lost)
	if got != 1 || err != nil {
		t.Fatalf("ConsumeLost: %d, %v; want the record", got, err)
	}
	for i, e := range inside {
		if !errors.Is(e, syscall.EINVAL) {
			t.Errorf("call %d inside lost: %v, want EINVAL", i, e)
		}
	}
}
