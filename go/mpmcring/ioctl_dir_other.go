// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

//go:build linux && (mips || mipsle || mips64 || mips64le || ppc64 || ppc64le || sparc64)

package mpmcring

// MIPS, PowerPC and SPARC: three direction bits at 29, thirteen size bits.
const (
	iocNone      = 1
	iocRead      = 2
	iocWrite     = 4
	iocDirShift  = 29
	iocSizeShift = 16
)
