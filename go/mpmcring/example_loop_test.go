// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring_test

import (
	"context"
	"errors"
	"log"
	"os/signal"
	"syscall"

	"mpmcring.dev/go/mpmcring"
)

// readLoop is the package doc's loop: claim a batch, read it in place,
// commit; wait when there is nothing. It returns when waiting or claiming
// fails for good (ctx done, the ring destroyed: ErrClosed, a corrupt ring)
// and never spins on an error; ErrBusy, records there and other consumers
// quicker, is tried again at once. TestReadLoopReturnsOnErrors and
// TestReadLoopRetriesBusy run it.
func readLoop(ctx context.Context, c *mpmcring.Consumer, use func([]byte), undo func()) error {
	for {
		b, err := c.ReadBatch(64, 0) // one claim
		switch {
		case errors.Is(err, mpmcring.ErrNoRecord):
			if err := c.Wait(ctx); err != nil {
				return err // ctx done, or the ring destroyed
			}
			continue
		case errors.Is(err, mpmcring.ErrStale):
			// Revoked, counted in Lost().Revoked: let it go, claim again.
			if err := c.Commit(); err != nil && !errors.Is(err, mpmcring.ErrStale) {
				return err
			}
			continue
		case errors.Is(err, mpmcring.ErrBusy):
			// Records are there; other consumers kept winning the head.
			continue
		case err != nil:
			return err
		}
		for rec, ok := b.Next(); ok; rec, ok = b.Next() {
			use(rec.Data) // in the ring, valid until Commit
		}
		if err := c.Commit(); errors.Is(err, mpmcring.ErrStale) {
			undo() // revoked: held too long, what use did must go
		} else if err != nil {
			return err
		}
	}
}

// One consumer reading until SIGINT or the ring's destruction.
func ExampleConsumer_Wait() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT)
	defer stop()
	r, err := mpmcring.Open("events") // /dev/mpmcring-events
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	c, err := r.NewConsumer() // one per goroutine
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	err = readLoop(ctx, c, func(p []byte) { log.Printf("%d bytes", len(p)) }, func() {})
	if !errors.Is(err, context.Canceled) {
		log.Print(err)
	}
}
