// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

import (
	"fmt"
	"math"
	"sync/atomic"
	"syscall"
)

// Record is one record, read in place. Data points into the ring's
// read-only mapping: it stays valid until the consumer that read it
// commits, and must not be written (the mapping is read-only: a write
// faults). Copy what must outlive the commit.
type Record struct {
	Data  []byte
	Prio  uint8 // Prio* class the producer gave
	Flags uint8 // RecFromUser for records written through write(2)
	// Pos is where the record starts in the ring: it grows in ring order
	// and no two records of one ring share it (until 2^64 bytes passed),
	// so it tells which record Peek saw and orders records across
	// consumers.
	Pos uint64
}

// Lost counts records a consumer learned were lost since it last asked.
type Lost struct {
	Dropped     uint64 // refused by the ring (full, priority, ...)
	Overwritten uint64 // evicted unread (overwrite mode)
	Revoked     uint64 // this consumer's own: held past the claim timeout
}

// Consumer is one consumer of a ring: a slot in the ring and the records it
// holds. Every record goes to exactly one consumer. A Consumer is used by
// one goroutine at a time; give each goroutine its own (NewConsumer).
type Consumer struct {
	r     *Ring
	v     *view
	idx   uint32
	start *uint64 // the slot's start: the claim announce and the commit

	holding    bool   // the slot holds a claim
	claimStart uint64 // where it begins: our copy, the slot's is shared
	held       uint64 // records claimed since the last commit
	heldBytes  uint64
	pending    bool // [pendCur, pendEnd) claimed, not yet delivered
	// handedOut: held records went to the caller through Read or
	// ReadBatch; only the caller's Commit may release them, not Consume's.
	handedOut bool
	// inConsume: Consume's fn (or ConsumeLost's lost) runs; Read,
	// ReadBatch, Commit, Consume and Close on this consumer would take or
	// release records under it.
	inConsume bool
	pendCur   uint64
	pendEnd   uint64

	lost            Lost
	seenDropped     uint64 // loss totals at the last look
	seenOverwritten uint64

	fenceWord uint32 // target of readFence's read-modify-write (not on x86)
	waiter    *waiter
	closed    bool
	gen       uint64 // claim generation: bumped when what it held is let go
}

// NewConsumer attaches a consumer to the ring (a slot of its own). One
// Ring attaches at most Layout.MaxPerFile consumers (EDQUOT past that:
// Open the ring again for more); the ring has Layout.MaxConsumers slots in
// all (EUSERS).
func (r *Ring) NewConsumer() (*Consumer, error) {
	idx, err := r.attach()
	if err != nil {
		return nil, err
	}
	return &Consumer{r: r, v: r.v, idx: idx, start: r.v.slotWord(idx, slotStart)}, nil
}

// Slot is the consumer's slot index in the ring.
func (c *Consumer) Slot() int { return int(c.idx) }

// Close commits what the consumer delivered and detaches it. It is the
// consumer's end: the records a stopped Consume claimed and did not
// deliver are let go unread (Commit refuses that). They are not counted
// in the consumer's own slot (its consumed_records); as for a consumer
// that died holding them, the kernel counts them in the ring's Stats
// (AbandonedRecords, one AbandonedClaims). The ring's ConsumedRecords
// counts every record that left the ring through a claim, so they are
// among those too: AbandonedRecords says how many of them nobody read.
// Other consumers do not get them: take them with Read before Close to act
// on them. Its result is the commit's (ErrStale when the claim it held was
// revoked), else the detach's: a slot the kernel did not detach stays
// attached to the ring's file until it is closed. EINVAL, and nothing
// done, from inside Consume's fn.
func (c *Consumer) Close() error {
	if c.closed {
		return nil
	}
	if c.inConsume {
		return errInConsume("Close")
	}
	err := c.end()
	if c.waiter != nil {
		c.waiter.close()
		c.waiter = nil
	}
	c.closed = true
	c.gen++
	if derr := c.r.detach(c.idx); err == nil {
		err = derr
	}
	return err
}

var errConsumerClosed = errorf(syscall.EPIPE, "the consumer is closed")

// errInConsume is what a call on the consumer says from inside the fn of
// its own Consume.
func errInConsume(call string) error {
	return errorf(syscall.EINVAL,
		"%s: called from inside Consume's fn (or ConsumeLost's lost) on the consumer that feeds it: return from it (an error stops the call) and call this then", call)
}

// roomSkipped: after a claim that returned n and moved the head over
// discarded records only on its way, a writer may wait for the room they
// held, which no commit asks for: asked for here, as a commit would
// (MPMCRING_IOC_ROOM). When the same call then claimed records, a target
// past their start lies in that claim, whose commit asks: not twice.
func (c *Consumer) roomSkipped(cl *claimResult, n int) {
	if !cl.skippedAny {
		return
	}
	if n > 0 && before(cl.start, atomic.LoadUint64(c.v.roomAtP)) {
		return
	}
	if c.v.roomWanted(cl.skipped) {
		c.r.room()
	}
}

// claimInto claims into the consumer; on a corrupt ring it asks the kernel
// to repair the head (bounded work) and tries once more.
func (c *Consumer) claimInto(maxRecs uint32, maxBytes uint64, cl *claimResult) (int, error) {
	if c.closed {
		return 0, errConsumerClosed
	}
	// A revoked or passed claim protects nothing: what it would cover is
	// not ours.
	if c.holding {
		if err := c.heldStale("commit before reading more"); err != nil {
			return 0, err
		}
	}
	n := c.v.claim(c.start, c.holding, maxRecs, maxBytes, false, cl)
	c.roomSkipped(cl, n)
	if n == claimCorrupt && c.r.repair() {
		n = c.v.claim(c.start, c.holding, maxRecs, maxBytes, false, cl)
		c.roomSkipped(cl, n)
	}
	switch n {
	case claimEmpty:
		return 0, ErrNoRecord
	case claimBusy:
		return 0, errorf(syscall.EBUSY, "other consumers kept winning the race for the head: try again")
	case claimTooBig:
		return 0, ErrTooBig
	case claimCorrupt:
		if c.r.fd >= 0 {
			return 0, errorf(syscall.EBADMSG,
				"%s: the ring's consumer state is corrupt (head outside the ring or a record that does not fit), and the kernel's repair did not help: another process is likely writing the consumer area; find it with `mpmcring stat` or ListConsumers (pid per slot)",
				c.r.path)
		}
		return 0, errorf(syscall.EBADMSG,
			"the ring's consumer state is corrupt (head outside the ring or a record that does not fit)")
	case claimRevoked:
		c.lost.Revoked += uint64(cl.records)
		return 0, errorf(syscall.ESTALE,
			"the consumer's claim was revoked while it was being made (the consumer stood still past the ring's claim timeout, %d ms): its %d records are lost, counted as revoked; claim again",
			c.v.claimTimeout, cl.records)
	}
	// The oldest start of what it holds: see view.claim.
	if !c.holding || before(cl.start, c.claimStart) {
		c.claimStart = cl.start
	}
	c.holding = true
	c.held += uint64(n)
	c.heldBytes += cl.bytes
	// Informational: the kernel counts these if this process dies.
	atomic.StoreUint64(c.v.slotWord(c.idx, slotHeldRecords), c.held)
	return n, nil
}

func (c *Consumer) record(r *rec) Record {
	return Record{Data: c.v.payload(r.pos, r.len), Prio: r.prio, Flags: r.flags, Pos: r.pos}
}

func (c *Consumer) nextPending() (Record, bool) {
	var r rec
	if c.pending && c.v.claimNext(&c.pendCur, c.pendEnd, &r) {
		return c.record(&r), true
	}
	c.pending = false
	return Record{}, false
}

// pendingLeft tells whether a claimed, undelivered record remains.
func (c *Consumer) pendingLeft() bool {
	var r rec
	cur := c.pendCur
	return c.pending && c.v.claimNext(&cur, c.pendEnd, &r)
}

// Read claims the next record (first the records a stopped Consume left
// undelivered; a Batch's records stay the Batch's). The record stays valid
// until Commit. ErrNoRecord when none is ready; ErrStale when the claim
// the consumer holds was revoked (Commit, then read again); EINVAL from
// inside Consume's fn.
func (c *Consumer) Read() (Record, error) {
	if c.inConsume {
		return Record{}, errInConsume("Read")
	}
	// The rest of a stopped Consume, after the lease is checked as
	// Consume checks it: revoked, its space may be written over while the
	// old stamps stay, and the walk could take a payload for a header.
	if c.pending && c.holding {
		if err := c.heldStale("commit before reading more"); err != nil {
			return Record{}, err
		}
	}
	if rec, ok := c.nextPending(); ok {
		c.handedOut = true
		return rec, nil
	}
	var cl claimResult
	if _, err := c.claimInto(1, math.MaxUint64, &cl); err != nil {
		return Record{}, err
	}
	c.handedOut = true
	// One record claimed: the claim already read its header.
	return c.record(&cl.first), nil
}

// Batch is records claimed together with one compare-and-swap; step
// through them with Next. They stay valid until the consumer commits.
type Batch struct {
	Records int    // committed records in the batch
	Bytes   uint64 // their payload bytes
	c       *Consumer
	gen     uint64 // the consumer's claim generation when claimed
	cur     uint64
	end     uint64
	left    uint64 // payload bytes Next may still hand out
}

// Next gives the batch's next record, or false at its end. A batch ends
// when the consumer commits (Commit, Consume, Close): its space is the
// producers' again. Never more than Records records, nor more than Bytes
// payload bytes in all, whatever a revoked claim's space holds by then
// (a record's stamp stays while a later record's payload is written over
// its header).
func (b *Batch) Next() (Record, bool) {
	var r rec
	if b.c == nil || b.c.gen != b.gen || b.c.closed {
		return Record{}, false
	}
	v := b.c.v
	// claimNext, by hand: this is the loop every record goes through.
	for b.cur != b.end {
		st := v.recordAt(b.cur, b.end, &r)
		if st != recCommitted && st != recDiscarded {
			return Record{}, false
		}
		b.cur += r.size
		if st == recCommitted {
			if uint64(r.len) > b.left {
				b.cur = b.end // garbage: the batch ends for good
				return Record{}, false
			}
			b.left -= uint64(r.len)
			return Record{Data: v.payload(r.pos, r.len), Prio: r.prio, Flags: r.flags, Pos: r.pos}, true
		}
	}
	return Record{}, false
}

// ReadBatch claims up to maxRecords records with one atomic step: the
// first whatever its size, the others while their payload stays within
// maxBytes in all (0: no limit). ErrNoRecord when none is ready. EINVAL
// while records a Consume left undelivered remain: finish them with
// Consume or Read first (a claim past them would commit them unseen; with
// Read once Read handed out records too); and from inside Consume's fn.
// ErrStale once the claim holding those records (or any the consumer
// holds) was revoked: Commit, then read again.
func (c *Consumer) ReadBatch(maxRecords int, maxBytes uint64) (Batch, error) {
	if c.closed {
		return Batch{}, errConsumerClosed
	}
	if maxRecords <= 0 {
		return Batch{}, errorf(syscall.EINVAL, "ReadBatch: maxRecords must be positive")
	}
	if c.inConsume {
		return Batch{}, errInConsume("ReadBatch")
	}
	if c.pending {
		// Revoked, a stopped Consume's records are lost: ErrStale, as
		// Read says there, before a walk of their space (which may hold
		// other records now).
		if c.holding {
			if err := c.heldStale("commit before reading more"); err != nil {
				return Batch{}, err
			}
		}
		if c.handedOut && c.pendingLeft() {
			return Batch{}, errorf(syscall.EINVAL,
				"ReadBatch: records of an earlier Consume are still undelivered: take them with Read (the consumer also holds records from Read, so Consume is refused), then Commit")
		}
		if c.pendingLeft() {
			return Batch{}, errorf(syscall.EINVAL,
				"ReadBatch: records of an earlier Consume are still undelivered: finish them with Consume or Read first")
		}
		c.pending = false
	}
	nrec := uint32(math.MaxUint32)
	if uint64(maxRecords) < math.MaxUint32 {
		nrec = uint32(maxRecords)
	}
	if maxBytes == 0 {
		maxBytes = math.MaxUint64
	}
	var cl claimResult
	n, err := c.claimInto(nrec, maxBytes, &cl)
	if err != nil {
		return Batch{}, err
	}
	c.handedOut = true
	return Batch{Records: n, Bytes: cl.bytes, c: c, gen: c.gen, cur: cl.start, end: cl.end,
		left: cl.bytes}, nil
}

// staleError says why the claim is stale (staleRevoked, stalePassed), and
// then what follows.
func (c *Consumer) staleError(why int, counted bool, then string) error {
	msg := fmt.Sprintf("the consumer held its records longer than the ring's claim timeout (%d ms): they were revoked and may have been overwritten",
		c.v.claimTimeout)
	if why == stalePassed {
		msg = "the ring reclaimed the records the consumer held without a revocation (something else that maps the ring wrote its head or this consumer's slot): they may have been overwritten"
	}
	if counted {
		msg += "; counted as lost (revoked)"
	}
	if then != "" {
		msg += ": " + then
	}
	return errorf(syscall.ESTALE, "%s", msg)
}

// Validate checks, without committing, that the records the consumer holds
// were not revoked, nor reclaimed under it, while it read them: nil, or
// ErrStale. Read, validate, then act on what was read.
func (c *Consumer) Validate() error {
	if c.closed {
		return errConsumerClosed
	}
	if !c.holding {
		return nil
	}
	return c.heldStale("")
}

// heldStale is ErrStale (then: what the caller should do, or "") when
// the claim the consumer holds was revoked or passed, else nil. The reads
// of its records come before the looks at the start ([C4]) and at
// reclaim_pos ([C5]).
func (c *Consumer) heldStale(then string) error {
	readFence(&c.fenceWord)
	if why := c.v.claimStale(c.start, c.claimStart); why != staleNot {
		return c.staleError(why, false, then)
	}
	return nil
}

// Commit releases every record the consumer holds with one atomic
// exchange of its slot's start: no system call, but when a write(2)
// producer sleeps for the room those records held back (then one ioctl,
// MPMCRING_IOC_ROOM, wakes it now rather than at the kernel's next tick;
// kernel producers never wait). ErrStale when the kernel
// revoked the claim because the consumer held it past the ring's claim
// timeout (then whatever was done with those records must be thrown away;
// they count as lost, Revoked). Also ErrStale when the ring reclaimed the
// records without a revocation, which only another process scribbling on
// the ring's shared consumer state can cause. Healthy consumers never see
// it.
//
// EINVAL, and nothing released, while records a stopped Consume claimed
// are undelivered: one head cannot release only the records delivered so
// far, and the rest would go unread and uncounted. Take them with Consume
// or Read (only Read once Read handed out records too), then Commit; Close
// lets them go, counted as abandoned. A revoked claim is committed all the
// same (ErrStale: its records are lost anyway, all counted as Revoked).
// EINVAL too from inside Consume's fn.
func (c *Consumer) Commit() error {
	if c.closed {
		return errConsumerClosed
	}
	if c.inConsume {
		return errInConsume("Commit")
	}
	// Revoked, they are lost anyway: the commit counts them all (Revoked).
	if c.pendingLeft() && !c.staleNow() {
		if c.handedOut {
			return errorf(syscall.EINVAL,
				"Commit: records a stopped Consume claimed are undelivered, and a commit would release them unread: take them with Read (the consumer also holds records from Read, so Consume is refused), then Commit")
		}
		return errorf(syscall.EINVAL,
			"Commit: records a stopped Consume claimed are undelivered, and a commit would release them unread: take them with Consume or Read, then Commit")
	}
	return c.commit()
}

// staleNow tells whether the claim the consumer holds was revoked or
// passed (after the reads of its records: see Validate).
func (c *Consumer) staleNow() bool {
	readFence(&c.fenceWord)
	return c.v.claimStale(c.start, c.claimStart) != staleNot
}

// commit releases every record the consumer holds, delivered or not.
func (c *Consumer) commit() error {
	if c.closed {
		return errConsumerClosed
	}
	if !c.holding {
		return nil
	}
	v := c.v
	// The reads of the records come before the commit's look at
	// reclaim_pos ([C5]). The exchange before the held count: a
	// revocation reads held_records to count what the claim held, so it
	// stays set until the claim is gone.
	readFence(&c.fenceWord)
	why := v.commit(c.start, c.claimStart)
	revoked := why != staleNot
	// A revoked claim held no room: reclaim had passed it.
	if !revoked && v.roomWanted(c.claimStart) {
		c.r.room()
	}
	// Own cache line, informational.
	atomic.StoreUint64(v.slotWord(c.idx, slotHeldRecords), 0)
	if revoked {
		c.lost.Revoked += c.held
	} else {
		atomic.AddUint64(v.slotWord(c.idx, slotConsumedRecords), c.held)
		atomic.AddUint64(v.slotWord(c.idx, slotConsumedBytes), c.heldBytes)
	}
	c.held, c.heldBytes = 0, 0
	c.holding, c.pending, c.handedOut = false, false, false
	c.gen++ // outstanding batches end here
	if revoked {
		return c.staleError(why, true, "")
	}
	return nil
}

// end is the consumer's end (Close). What it delivered counts as
// consumed. What a stopped Consume left undelivered was read by nobody:
// abandoned, never in the slot's consumed_records (the ring's
// ConsumedRecords, derived from the positions, has them all the same). On
// a device the claim stays for the detach, with held_records saying how
// many of its records are undelivered: the kernel counts them in
// abandoned_records. Over memory, with no kernel, the claim is released
// here and the slot's held_records keeps the count (the slot is never
// attached again).
func (c *Consumer) end() error {
	var left, leftBytes uint64
	var r rec
	// Bounded by the claim: each step moves cur toward pendEnd.
	for cur := c.pendCur; c.pending && c.v.claimNext(&cur, c.pendEnd, &r); {
		left++
		leftBytes += uint64(r.len)
	}
	if !c.holding || left == 0 || left > c.held || leftBytes > c.heldBytes {
		return c.commit() // nothing undelivered: a plain commit
	}
	v := c.v
	// held_records first: a revocation that reads it from now on counts
	// only the undelivered ones as revoked. One already under way may have
	// read the old count (reclaim reads held_records before its CAS on
	// start): it then counts the delivered ones as revoked too, while they
	// are added to consumed_records below. That window over-counts
	// RevokedRecords by at most what was delivered (the kernel caps the
	// count by the claim's span); it never under-counts.
	atomic.StoreUint64(v.slotWord(c.idx, slotHeldRecords), left)
	if c.staleNow() {
		return c.commit() // counted as revoked already: ErrStale
	}
	atomic.AddUint64(v.slotWord(c.idx, slotConsumedRecords), c.held-left)
	atomic.AddUint64(v.slotWord(c.idx, slotConsumedBytes), c.heldBytes-leftBytes)
	if c.r.fd < 0 && v.commit(c.start, c.claimStart) != staleNot {
		atomic.StoreUint64(v.slotWord(c.idx, slotHeldRecords), 0) // revoked meanwhile
	}
	c.held, c.heldBytes = 0, 0
	c.holding, c.pending, c.handedOut = false, false, false
	c.gen++
	return nil
}

// Consume reads up to max records, calls fn for each in ring order, then
// commits. It returns how many records fn saw (0 when none was ready). If
// fn returns an error, consumption stops there: that record counts as
// consumed, the rest of the claim stays held and is delivered first by the
// next Read or Consume (Commit refuses meanwhile), and the error is
// returned as it is (an fn that returns ErrStale, from another consumer,
// reads as this claim's: a program that must tell keeps its own note of
// why fn stopped, as in C); a panic in fn, once recovered, leaves the consumer
// the same way. ErrStale when the commit found the claim revoked: what
// fn saw since Consume last returned without an error must be thrown
// away (a call that fn stopped leaves its claim held, and the call that
// finishes it answers for it too). The call after fn stopped at its
// claim's last record only commits that claim, without calling fn: 0, nil
// (what fn saw is confirmed; records may be ready: call again before
// waiting) or ErrStale; so no call holds more than one claim. fn must not
// call Read, ReadBatch,
// Commit, Consume or Close on c: they return EINVAL there. EINVAL while
// the consumer holds records from Read or ReadBatch (Read of the rest of
// a stopped Consume included): Commit them first, after Reading the rest
// of a stopped Consume (Consume's commit would end them under their
// reader).
func (c *Consumer) Consume(max int, fn func(Record) error) (int, error) {
	if c.closed {
		return 0, errConsumerClosed
	}
	if max <= 0 {
		return 0, errorf(syscall.EINVAL, "Consume: max must be positive")
	}
	if c.inConsume {
		return 0, errInConsume("Consume")
	}
	// Its commit would release records the caller still reads in place.
	if c.handedOut {
		// A stale claim is the news that matters: commit it.
		if err := c.heldStale("commit before reading more"); err != nil {
			return 0, err
		}
		if c.pendingLeft() {
			return 0, errorf(syscall.EINVAL,
				"Consume: the consumer holds records from Read, and records a stopped Consume left undelivered: take those with Read too, then Commit")
		}
		return 0, errorf(syscall.EINVAL,
			"Consume: the consumer holds records from Read or ReadBatch: Commit them first (Consume commits all it holds)")
	}
	// A claim with nothing left to deliver (fn stopped at its last
	// record): committed now, and this call ends there (0, nil or
	// ErrStale), as the C library's does: claiming anew while holding
	// it, a callback that stops at every claim's end never committed;
	// committing it and going on, the new claim's ErrStale would cover
	// records already confirmed.
	if c.holding && !c.pendingLeft() {
		return 0, c.commit()
	}
	if !c.pending {
		nrec := uint32(math.MaxUint32)
		if uint64(max) < math.MaxUint32 {
			nrec = uint32(max)
		}
		var cl claimResult
		// Holding nothing here: the claim is the call's only one.
		_, err := c.claimInto(nrec, math.MaxUint64, &cl)
		if err == ErrNoRecord {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		c.pendCur, c.pendEnd, c.pending = cl.start, cl.end, true
	}
	done := 0
	c.inConsume = true
	defer func() { c.inConsume = false }() // fn may panic
	for done < max {
		// Before each record the lease is checked as Validate does, as
		// the C library's consume does: fn, or the caller between calls,
		// may have held the claim past its timeout. Revoked, the rest is
		// not ours: its space may be written over while old stamps stay,
		// and a walk there could take a payload for a header. Nothing
		// more is handed out, and the commit below says ErrStale. The
		// first record of a new claim too: unlike C, which hands out what
		// the claim's own walk saw, it is read again here.
		readFence(&c.fenceWord)
		if c.v.claimStale(c.start, c.claimStart) != staleNot {
			c.pending = false
			break
		}
		rec, ok := c.nextPending()
		if !ok {
			break
		}
		done++
		if err := fn(rec); err != nil {
			return done, err // the rest stays held for next time
		}
	}
	if !c.pendingLeft() {
		if err := c.commit(); err != nil {
			return done, err
		}
	}
	return done, nil
}

// testHookPeekCopy, when set (by tests only, before any consumer runs), is
// called with the record's position just before Peek copies its payload:
// a test reuses the space there to tear the copy.
var testHookPeekCopy func(pos uint64)

// peekTries bounds Peek's looks when the record it copied was reclaimed
// under it every time (other consumers taking the records fast).
const peekTries = 16

// Peek copies the next record without claiming it: first the records a
// stopped Consume left undelivered, as Read. Otherwise, since it claims
// nothing, another consumer may take the record, commit it and have its
// space reused while Peek copies: the copy is kept only if the space was
// not reclaimed meanwhile (as a monitor reads), else Peek looks again.
// Data is the caller's own copy; Pos says which record it was (compare it
// with the Pos of what Read gives). ErrNoRecord when none is ready, ErrBusy
// when the records kept being reused under it, ErrStale when the claim
// holding a stopped Consume's records was revoked (Commit, then read again).
func (c *Consumer) Peek() (Record, error) {
	if c.closed {
		return Record{}, errConsumerClosed
	}
	v := c.v
	var r rec
	// What a stopped Consume left undelivered is this consumer's next
	// record (Read delivers it first), and the shared head is already past
	// it: looking only there, Peek would say ErrNoRecord over records only
	// this consumer can read. Its claim holds them while its lease stands,
	// looked at as Read looks: before the walk, since once revoked their
	// space may be written over while the old stamps stay (the walk could
	// take a producer's payload for a header), and after the copy, which a
	// revocation during it may have torn.
	if c.pending && c.holding {
		if err := c.heldStale("commit before reading more"); err != nil {
			return Record{}, err
		}
	}
	if cur := c.pendCur; c.pending && v.claimNext(&cur, c.pendEnd, &r) {
		if testHookPeekCopy != nil {
			testHookPeekCopy(r.pos)
		}
		rec := Record{Data: v.copyPayload(r.pos, r.len), Prio: r.prio, Flags: r.flags, Pos: r.pos}
		if c.holding {
			if err := c.heldStale("commit before reading more"); err != nil {
				return Record{}, err
			}
		}
		return rec, nil
	}
	for try := 0; try < peekTries; try++ {
		s := v.positions()
		if !v.headSane(s) {
			return Record{}, errorf(syscall.EBADMSG, "the ring's consumer state is corrupt (head outside the ring)")
		}
		h := s.head
		found := false
		// Discarded records are skipped; at most one ring's worth.
		for steps := v.stampMask + 1; h != s.prod && steps > 0; steps-- {
			st := v.recordAt(h, s.prod, &r)
			if st == recDiscarded {
				h += r.size
				continue
			}
			if st == recBad && v.intact(h, s.reclaim, &c.fenceWord) {
				return Record{}, errorf(syscall.EBADMSG, "the ring's framing is corrupt (a record at the head does not fit)")
			}
			found = st == recCommitted
			break
		}
		if !found {
			if h == s.prod || v.intact(h, s.reclaim, &c.fenceWord) {
				return Record{}, ErrNoRecord
			}
			continue // reused under the walk: look again
		}
		if testHookPeekCopy != nil {
			testHookPeekCopy(h)
		}
		data := v.copyPayload(r.pos, r.len)
		if v.intact(h, s.reclaim, &c.fenceWord) {
			return Record{Data: data, Prio: r.prio, Flags: r.flags, Pos: h}, nil
		}
	}
	return Record{}, errorf(syscall.EBUSY, "other consumers kept taking the records Peek copied (their space was reused): try again")
}

// Lost takes the losses not yet reported to any consumer (each drop or
// overwrite is told to exactly one consumer that asks) and this consumer's
// revoked records, and resets them. After Close, only what the consumer
// counted itself before it closed.
func (c *Consumer) Lost() Lost {
	if c.closed {
		l := c.lost
		c.lost = Lost{}
		return l
	}
	v := c.v
	d := atomic.LoadUint64(word(v.ro, metaLostDropped))
	o := atomic.LoadUint64(word(v.ro, metaLostOverwritten))
	// Only when the totals moved since the last look (or the last take
	// gave up): the taken counters are shared, the totals read-mostly.
	if d != c.seenDropped {
		taken := word(v.cons, consLostDroppedTaken)
		c.lost.Dropped += takeLost(word(v.ro, metaLostDropped), taken)
		c.seenDropped = lostSeen(taken, d, c.seenDropped)
	}
	if o != c.seenOverwritten {
		taken := word(v.cons, consLostOverwrittenTaken)
		c.lost.Overwritten += takeLost(word(v.ro, metaLostOverwritten), taken)
		c.seenOverwritten = lostSeen(taken, o, c.seenOverwritten)
	}
	l := c.lost
	c.lost = Lost{}
	return l
}
