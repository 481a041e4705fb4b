// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"mpmcring.dev/go/mpmcring"
)

// readLoopOver runs readLoop on c with a cancelled context and returns
// how many records it saw and how it ended; a loop still running after
// 5 s fails the test (it spins on an error).
func readLoopOver(t *testing.T, c *mpmcring.Consumer) (int, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	seen := 0
	done := make(chan error, 1)
	go func() { done <- readLoop(ctx, c, func([]byte) { seen++ }, func() {}) }()
	select {
	case err := <-done:
		return seen, err
	case <-time.After(5 * time.Second):
		t.Fatal("the loop spins on an error (still running after 5 s)")
		return 0, nil
	}
}

// A consumer of a ring in memory with 5 records, closed with the test.
func consumerOf5(t *testing.T) (*mpmcring.Ring, *mpmcring.Consumer) {
	t.Helper()
	r := mpmcring.NewMemoryRingForTest(t, 5)
	c, err := r.NewConsumer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return r, c
}

// The loop drains what is there, then returns Wait's error (here: a ring
// in memory has no file to wait on; on a device, a cancelled context or a
// destroyed ring) instead of spinning on it.
func TestReadLoopReturnsOnErrors(t *testing.T) {
	_, c := consumerOf5(t)
	seen, err := readLoopOver(t, c)
	if err == nil {
		t.Fatal("the loop ended without an error")
	}
	if seen != 5 {
		t.Fatalf("the loop saw %d records, want 5", seen)
	}
}

// Other consumers win every compare-and-swap of one claim (ErrBusy): the
// records are there, and the loop claims again rather than return.
func TestReadLoopRetriesBusy(t *testing.T) {
	r, c := consumerOf5(t)
	lost := mpmcring.ContendForTest(t, r, mpmcring.ClaimTriesForTest)
	seen, err := readLoopOver(t, c)
	if errors.Is(err, mpmcring.ErrBusy) || seen != 5 {
		t.Fatalf("the loop ended with %v after %d records, want all 5 read and Wait's error", err, seen)
	}
	if n := lost(); n != mpmcring.ClaimTriesForTest {
		t.Fatalf("%d claim attempts lost, want %d (one claim's every attempt: ErrBusy)", n, mpmcring.ClaimTriesForTest)
	}
}
