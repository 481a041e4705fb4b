// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

//go:build linux && !(mips || mipsle || mips64 || mips64le || ppc64 || ppc64le || sparc64)

package mpmcring

// asm-generic/ioctl.h: two direction bits at 30, fourteen size bits at 16.
const (
	iocNone      = 0
	iocWrite     = 1
	iocRead      = 2
	iocDirShift  = 30
	iocSizeShift = 16
)
