// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

import (
	"syscall"
	"unsafe"
)

// ioctl request numbers, encoded as <linux/ioctl.h> does (the direction
// bits differ between architectures: ioctl_dir_*.go).
const iocType = 'R'

func ioc(dir, nr, size uintptr) uintptr {
	return dir<<iocDirShift | size<<iocSizeShift | iocType<<8 | nr
}

var (
	iocInfo         = ioc(iocRead, 0xa0, unsafe.Sizeof(rawLayout{}))
	iocAttach       = ioc(iocRead, 0xa1, 4)
	iocDetach       = ioc(iocWrite, 0xa2, 4)
	iocStats        = ioc(iocRead, 0xa3, unsafe.Sizeof(Stats{}))
	iocSetWatermark = ioc(iocWrite, 0xa4, 8)
	iocSetPrio      = ioc(iocWrite, 0xa5, 4)
	iocConsumers    = ioc(iocRead|iocWrite, 0xa6, unsafe.Sizeof(rawConsumers{}))
	iocRepair       = ioc(iocNone, 0xa7, 0)
	iocRoom         = ioc(iocNone, 0xa8, 0)
)

// ioctl makes one ioctl call, retried when a signal interrupts it.
func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		return nil
	}
}
