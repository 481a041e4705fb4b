// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

import (
	"bytes"
	"math"
	"syscall"
	"time"
	"unsafe"
)

// Layout is a ring's identity and geometry, fixed when it was created.
type Layout struct {
	Name           string
	ABIMajor       uint16
	ABIMinor       uint16
	Features       uint64 // bit 0: overwrite mode; bit 1: claims are leases
	DataSize       uint64 // bytes of records, a power of two
	Granule        uint32 // record alignment, bytes
	MaxRecord      uint32 // largest payload, bytes
	MaxConsumers   uint32 // consumer slots
	Mode           uint32 // ModeDropNewest or ModeOverwrite
	Watermark      [NumPrio]uint64
	ClaimTimeout   time.Duration // a claim unmoved this long is revoked (0: never)
	UserMaxPrio    uint32        // highest class Write may use
	MaxPerFile     uint32        // consumers one Ring may attach
	ID             uint32        // the ring's number for BPF producers (ABI 1.2; 0: an older kernel)
	ConsumerArea   uint64        // bytes mapped read-write
	ReadOnlyArea   uint64        // bytes mapped read-only
	StampsOffset   uint64
	DataOffset     uint64
	SlotInfoOffset uint64
}

func (l *rawLayout) public() Layout {
	name := l.Name[:]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	p := Layout{
		Name:           string(name),
		ABIMajor:       l.ABIMajor,
		ABIMinor:       l.ABIMinor,
		Features:       l.Features,
		DataSize:       l.DataSize,
		Granule:        1 << l.GranuleShift,
		MaxRecord:      l.MaxRecord,
		MaxConsumers:   l.MaxConsumers,
		Mode:           l.Mode,
		UserMaxPrio:    l.UserMaxPrio,
		MaxPerFile:     l.MaxPerFile,
		ID:             l.ID,
		ConsumerArea:   l.ConsSize,
		ReadOnlyArea:   l.ROSize,
		StampsOffset:   l.StampsOffset,
		DataOffset:     l.DataOffset,
		SlotInfoOffset: l.SlotInfoOffset,
	}
	copy(p.Watermark[:], l.Watermark[:NumPrio])
	if l.Features&featLease != 0 {
		p.ClaimTimeout = time.Duration(l.ClaimTimeoutMs) * time.Millisecond
	}
	return p
}

func (l *rawLayout) bytes() []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(l)), unsafe.Sizeof(*l))
}

func pow2(x uint64) bool { return x != 0 && x&(x-1) == 0 }

// checkLayout is mpr_lib_check_layout (userspace/lib/open.c): everything
// the consumer's memory safety relies on, checked before anything is
// mapped or indexed.
// maxMapping is the longest mapping this process can ask for: Mmap takes
// an int. A variable so that tests can stand in for a 32-bit GOARCH.
var maxMapping uint64 = math.MaxInt

func checkLayout(l *rawLayout) error {
	if l.Magic != abiMagic {
		return errorf(syscall.EPROTO, "not an mpmcring ring (bad magic)")
	}
	if l.ABIMajor != ABIMajor || l.ABIMinor < 1 {
		return errorf(syscall.EPROTONOSUPPORT,
			"ring ABI %d.%d, package ABI %d.%d: upgrade the package or the module",
			l.ABIMajor, l.ABIMinor, ABIMajor, ABIMinor)
	}
	if l.Features&^featKnown != 0 {
		return errorf(syscall.EPROTONOSUPPORT,
			"ring uses features %#x this package does not know: upgrade the package",
			l.Features&^featKnown)
	}
	// A newer kernel's layout may be larger (fields appended with an ABI
	// minor bump, inside the meta page's first 512 bytes): the package
	// reads the part it knows, as the C library does.
	if uintptr(l.LayoutSize) < unsafe.Sizeof(*l) || l.LayoutSize > metaProdPos ||
		!pow2(l.DataSize) ||
		l.DataSize < 4096 || l.DataSize > 1<<40 ||
		l.GranuleShift < 3 || l.GranuleShift > 12 ||
		uint64(l.MaxRecord) > l.DataSize/2 || l.MaxConsumers == 0 ||
		l.ConsSize < consHdrSize+uint64(l.MaxConsumers)*slotSize {
		return errorf(syscall.EPROTO, "the ring's layout is inconsistent")
	}
	stamps := (l.DataSize >> l.GranuleShift) * 8
	// Beyond the C checks: the offsets in order and small enough that no
	// sum below wraps (the ring is at most 2^40 bytes, its stamps as many).
	if l.SlotInfoOffset > l.StampsOffset || l.StampsOffset > l.DataOffset ||
		l.DataOffset > 1<<42 || l.ConsSize > 1<<32 {
		return errorf(syscall.EPROTO, "the ring's layout is inconsistent")
	}
	// The mappings' lengths are ints: on a 32-bit GOARCH a ring past 2 GiB
	// would be mapped short, and offsets into it run past the mapping.
	if l.ROSize > maxMapping || l.ConsSize > maxMapping || l.ROSize+l.ConsSize > maxMapping {
		return errorf(syscall.EFBIG,
			"the ring maps %d bytes, more than this process can (%d): too large for a 32-bit process; use a 64-bit build or a smaller ring",
			l.ROSize+l.ConsSize, maxMapping)
	}
	if l.SlotInfoOffset < metaSize || l.SlotInfoOffset%8 != 0 ||
		l.StampsOffset < l.SlotInfoOffset+uint64(l.MaxConsumers)*slotInfoSize ||
		l.StampsOffset%8 != 0 || l.DataOffset%4096 != 0 ||
		l.DataOffset < l.StampsOffset+stamps ||
		l.ROSize != l.DataOffset+2*l.DataSize {
		return errorf(syscall.EPROTO, "the ring's layout is inconsistent")
	}
	return nil
}
