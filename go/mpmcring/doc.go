// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

// Package mpmcring consumes mpmcring rings zero-copy from Go, with many
// consumers at once, without cgo.
//
// An mpmcring ring is filled by producers in the Linux kernel (any
// context, NMI included) and by write(2), and mapped by consumers through
// its device, /dev/mpmcring or /dev/mpmcring-NAME. Every record goes to
// exactly one consumer. A consumer claims a record, or a batch of them,
// with one compare-and-swap on the ring's shared head, reads the records
// in place, and commits with one atomic operation on its own slot (an
// exchange, so that the same word tells it whether the kernel revoked the
// claim): no system call on the way (but one ioctl when a write(2) producer waits for
// the room a commit frees: Commit; or that a read moving past discarded records only,
// with nothing to commit, frees). Consumers may be goroutines of one process, other
// processes, or the C library (libmpmcring), all on the same ring.
//
//	r, err := mpmcring.Open("events")    // /dev/mpmcring-events
//	c, err := r.NewConsumer()             // one per goroutine
//	for {
//		b, err := c.ReadBatch(64, 0)       // one claim
//		switch {
//		case errors.Is(err, mpmcring.ErrNoRecord):
//			if err := c.Wait(ctx); err != nil {
//				return err             // ctx done, ring destroyed
//			}
//			continue
//		case errors.Is(err, mpmcring.ErrStale):
//			c.Commit()                 // revoked while claimed: again
//			continue
//		case errors.Is(err, mpmcring.ErrBusy):
//			continue                   // other consumers were quicker
//		case err != nil:
//			return err                 // corrupt, closed, ...
//		}
//		for rec, ok := b.Next(); ok; rec, ok = b.Next() {
//			use(rec.Data)              // in the ring, valid until Commit
//		}
//		if err := c.Commit(); errors.Is(err, mpmcring.ErrStale) {
//			undo()                     // revoked: held too long
//		} else if err != nil {
//			return err
//		}
//	}
//
// (the Consumer.Wait example has it whole; the package's tests run it).
//
// # Records are valid until commit, if commit says so
//
// Record.Data is a slice of the ring's read-only mapping. It stays valid
// until the consumer commits; keep a copy of what must live longer. A claim
// is a lease (rings with a claim timeout, Layout.ClaimTimeout): a consumer
// that holds records longer than that, while half the ring waits behind
// them or producers are refused for room, loses them to the producers,
// and its Commit, or Validate before it, returns ErrStale (reading more
// before that commit is refused). What it read from them may have been
// overwritten meanwhile: read, Validate,
// then act. With the default timeout of seconds, healthy consumers never
// see it. Commit and Validate also look at how far the ring has reclaimed:
// a claim the ring reclaimed without revoking it (only a process scribbling
// on the shared consumer state can make it do that) is ErrStale too.
//
// # A corrupt ring is an error, never a crash
//
// The consumer area is writable by every process that maps the ring. Every
// position and length this package reads from shared memory is checked
// before use, exactly as the C library checks them: a head outside the
// ring or a record that does not fit gives ErrCorrupt (EBADMSG) after the
// package has asked the kernel once to repair the head
// (MPMCRING_IOC_REPAIR); every loop is bounded. The package's tests fuzz it
// with arbitrary shared-memory contents.
//
// # Memory ordering
//
// Every access to a shared word goes through sync/atomic (LoadUint64,
// StoreUint64, SwapUint64, CompareAndSwapUint64 on the mapping). Go's atomics are
// sequentially consistent (the Go memory model), which is at least the
// acquire and release the C library uses at each site of the protocol
// (proto/mpmcring_proto.h names the pairs; the Go code names them too).
// The one fence the protocol needs after plain reads (a consumer's reads
// of its records before it looks at its slot for a revocation and at
// reclaim_pos, in Validate and Commit) is nothing on x86, which never
// reorders a load with an older one, and an atomic read-modify-write on a
// word of the consumer's own elsewhere (fence_*.go).
//
// # Waiting
//
// Consumer.Wait parks the goroutine in the runtime's poller (epoll,
// edge-triggered) until records are ready or its context is done. Each
// waiting consumer opens the device once more, read-only, so that its
// deadline and watermark (Consumer.SetWatermark) are its own. The kernel
// decides wakeups when records are committed, so edge-triggered waiting
// loses none.
//
// # Errors
//
// Errors are *Error values: an errno and a message that says what to do.
// Test them with errors.Is against the sentinels (ErrNoRecord, ErrStale,
// ErrCorrupt, ...) or against the errno (syscall.ESTALE).
//
// # Concurrency
//
// A Ring is safe for concurrent use. A Consumer is used by one goroutine
// at a time: give each goroutine its own. Close consumers before their
// ring.
package mpmcring
