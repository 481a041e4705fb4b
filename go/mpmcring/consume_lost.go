// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

import "syscall"

// ConsumeLost is Consume with the losses in the stream, as the C library's
// MPMCRING_CONSUMER_LOST_RECORDS mode gives them (one MPMCRING_REC_LOST
// record first): losses not yet reported to any consumer, and this
// consumer's revoked records (Lost), go to lost before the records, when
// there are any; then Consume(max, fn). A program that handles records
// through callbacks learns of losses in order with them, without polling
// Lost. If lost returns an error, the losses count as reported, no record
// is read, and the error is returned. While a stopped Consume's records
// remain, they come first and lost waits for the next call. The refusals
// and results are Consume's, and a refused call takes no losses; the count
// excludes the loss report. lost runs as fn does: Read, ReadBatch,
// Commit, Consume and Close on c are refused inside it (EINVAL). A nil
// lost is refused (EINVAL): Consume reads without a loss report, and Lost
// tells the losses.
func (c *Consumer) ConsumeLost(max int, fn func(Record) error, lost func(Lost) error) (int, error) {
	if lost == nil {
		return 0, errorf(syscall.EINVAL, "ConsumeLost: lost is nil (Consume reads without a loss report; Lost tells the losses)")
	}
	// Only where Consume would start a claim: not before the rest of a
	// stopped one, not where it only commits a claim fn stopped at the
	// last record of (it claims nothing then), not where it refuses
	// (what Lost takes would be lost).
	if !c.closed && !c.inConsume && !c.handedOut && !c.holding && !c.pendingLeft() && max > 0 {
		if l := c.Lost(); l != (Lost{}) {
			if err := c.reportLost(lost, l); err != nil {
				return 0, err
			}
		}
	}
	return c.Consume(max, fn)
}

// reportLost runs lost as Consume runs fn: Read, ReadBatch, Commit,
// Consume and Close on c are refused inside it (EINVAL), as the C
// library's loss record reaches fn inside consume. Taking records there
// would make the Consume that follows refuse, the losses already taken.
func (c *Consumer) reportLost(lost func(Lost) error, l Lost) error {
	c.inConsume = true
	defer func() { c.inConsume = false }() // lost may panic
	return lost(l)
}
