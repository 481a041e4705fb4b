// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

import (
	"errors"
	"fmt"
	"syscall"
)

// Error is what this package's functions return: an errno (what went
// wrong, for programs: errors.Is(err, syscall.ESTALE)) and a message for
// people that says what to do about it.
type Error struct {
	Errno syscall.Errno
	Msg   string
}

func (e *Error) Error() string { return "mpmcring: " + e.Msg }

// Unwrap gives the errno, so errors.Is(err, syscall.EAGAIN) works.
func (e *Error) Unwrap() error { return e.Errno }

// Is makes every *Error with the same errno match the sentinels below:
// errors.Is(err, ErrStale).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Errno == e.Errno
}

// Sentinels to test errors with errors.Is. The errors returned carry a
// longer message; they match by errno.
var (
	// ErrNoRecord: nothing to read now (EAGAIN). Wait, then read again.
	ErrNoRecord = &Error{syscall.EAGAIN, "no record ready"}
	// ErrStale: the consumer held its claim longer than the ring's claim
	// timeout and the kernel revoked it (ESTALE): what it read from those
	// records may have been overwritten and must be thrown away. From
	// Read, ReadBatch or Consume without a claim held: the claim was
	// revoked while it was being made; its records are lost (counted in
	// Lost().Revoked) and the next call claims again.
	ErrStale = &Error{syscall.ESTALE, "claim revoked"}
	// ErrCorrupt: the ring's shared state is inconsistent (EBADMSG). The
	// package has already asked the kernel to repair the head once.
	ErrCorrupt = &Error{syscall.EBADMSG, "ring state corrupt"}
	// ErrBusy: other consumers kept winning the race for the head (EBUSY).
	ErrBusy = &Error{syscall.EBUSY, "claim contention"}
	// ErrTooBig: the record does not fit the ring or the call (EMSGSIZE).
	ErrTooBig = &Error{syscall.EMSGSIZE, "record too large"}
	// ErrClosed: the ring or consumer is closed, or the ring was destroyed
	// (EPIPE).
	ErrClosed = &Error{syscall.EPIPE, "closed"}
)

func errorf(errno syscall.Errno, format string, args ...any) error {
	return &Error{errno, fmt.Sprintf(format, args...)}
}

// errnoOf extracts the errno of a system call's error (EIO if none).
func errnoOf(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.EIO
}
