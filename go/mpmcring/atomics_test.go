// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

import (
	"errors"
	"syscall"
	"testing"
)

// Builds whose 64-bit atomics are a lock inside the process are refused
// by Open with ENOTSUP: 32-bit MIPS always, 32-bit ARM below GOARM=7 (or
// with no GOARM recorded). This machine's build is accepted.
func TestSharedAtomicsRefusesProcessLocalEmulation(t *testing.T) {
	for _, c := range []struct {
		goarch, goarm string
		ok            bool
	}{
		{"amd64", "", true}, {"arm64", "", true}, {"386", "", true},
		{"arm", "7", true}, {"arm", "6", false}, {"arm", "5", false}, {"arm", "", false},
		{"mips", "", false}, {"mipsle", "", false},
	} {
		err := sharedAtomicsError(c.goarch, c.goarm)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, syscall.ENOTSUP)) {
			t.Errorf("GOARCH=%s GOARM=%q: %v, want ok=%v (ENOTSUP otherwise)", c.goarch, c.goarm, err, c.ok)
		}
	}
	if err := checkSharedAtomics(); err != nil {
		t.Fatalf("this build: %v", err)
	}
}
