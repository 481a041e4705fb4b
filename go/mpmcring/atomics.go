// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

import (
	"runtime"
	"runtime/debug"
	"syscall"
)

// sharedAtomicsError says why 64-bit atomics of this build do not work on
// memory shared with the kernel and other processes, or nil. On 32-bit MIPS,
// and on 32-bit ARM built for GOARM below 7, Go emulates 64-bit Load,
// CompareAndSwap and Swap under a lock that exists only inside this process:
// the head's compare-and-swap would not be atomic against other consumers,
// the commit's exchange could miss the kernel's revocation, positions could
// be read torn. goarm is the build's GOARM ("" when unknown: refused, as a
// build that cannot say it has LDREXD).
func sharedAtomicsError(goarch, goarm string) error {
	switch goarch {
	case "mips", "mipsle":
		return errorf(syscall.ENOTSUP,
			"GOARCH=%s: Go's 64-bit atomics there are a lock inside this process, not atomic on memory the kernel and other processes share; use the C library (libmpmcring) on this machine", goarch)
	case "arm":
		if goarm < "7" {
			return errorf(syscall.ENOTSUP,
				"GOARCH=arm with GOARM=%q: Go's 64-bit atomics there are a lock inside this process, not atomic on memory the kernel and other processes share; build with GOARM=7 (ARMv7's LDREXD/STREXD)", goarm)
		}
	}
	return nil
}

// buildGOARM is the GOARM this binary was built with, from its build
// information; "" when it has none.
func buildGOARM() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "GOARM" {
				return s.Value
			}
		}
	}
	return ""
}

// checkSharedAtomics is sharedAtomicsError for this process. gccgo's
// 64-bit atomics on ARM are libatomic's (the kernel's cmpxchg64 helper
// below ARMv7: atomic across processes), and it records no GOARM.
func checkSharedAtomics() error {
	if runtime.GOARCH == "arm" && runtime.Compiler == "gccgo" {
		return nil
	}
	if runtime.GOARCH != "arm" {
		return sharedAtomicsError(runtime.GOARCH, "")
	}
	return sharedAtomicsError(runtime.GOARCH, buildGOARM())
}
