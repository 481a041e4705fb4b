// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

// The ABI of uapi/linux/mpmcring.h, transcribed: constants, the structures
// the ioctls copy, and the offsets of the shared words. The structures are
// Go mirrors with the same field order, sizes and alignment as the C ones
// (abi_test.go compiles the header and compares every offset); they are
// read and written in the machine's byte order, as the kernel writes them.

import "unsafe"

const (
	abiMagic = 0x474e49524d43504d // "MPMCRING"
	// ABIMajor and ABIMinor are the ABI version this package implements.
	ABIMajor = 1
	ABIMinor = 6
	// ABIMinorState is the first ABI minor whose module keeps the meta
	// page's state word (mpmcring_meta.state); older ones leave it 0:
	// compare Layout().ABIMinor with it, not with ABIMinor.
	// MPMCRING_ABI_MINOR_STATE in the uapi header (abi_test.go compares).
	ABIMinorState = 3
	// ABIMinorRoomWakeups is the first ABI minor whose module counts
	// Stats.RoomWakeups (the room wakeups the housekeeping tick sent to
	// writers waiting for room); an older one reads 0 there.
	// MPMCRING_ABI_MINOR_ROOM_WAKEUPS in the uapi header.
	ABIMinorRoomWakeups = 4
	// ABIMinorRoomAt is the first ABI minor whose module keeps the meta
	// page's room_at word and knows MPMCRING_IOC_ROOM: a Commit that
	// may have freed the room a waiting writer wants tells the kernel.
	// An older module leaves the word 0 ("no writer ever waited"), so Commit needs
	// no check. MPMCRING_ABI_MINOR_ROOM_AT in the uapi header.
	ABIMinorRoomAt = 5
	// ABIMinorChunks is the first ABI minor whose module reports chunked
	// reservation in Stats (ChunkBytes, ChunkFillerBytes); an older one
	// reads 0 there even on a ring with chunks.
	// MPMCRING_ABI_MINOR_CHUNKS in the uapi header.
	ABIMinorChunks = 6
	stateDead      = 1 << 0 // MPMCRING_STATE_DEAD: destroyed

	featOverwrite = 1 << 0
	featLease     = 1 << 1
	featKnown     = featOverwrite | featLease

	hdrSize          = 8
	stampCommitted   = 1
	stampDiscarded   = 2
	slotIdle         = 1
	slotRevoked      = 2
	consHdrSize      = 128
	slotSize         = 64
	slotInfoSize     = 32
	metaSize         = 704
	layoutSize       = 208
	writeMaxBytes    = 64 << 10
	writevMaxRecords = 64

	offCons = 0x0
	offRO   = 0x100000000
)

// Record flags (Record.Flags).
const (
	// RecFromUser marks a record written through write(2).
	RecFromUser = 0x01
)

// Ring modes (Layout.Mode).
const (
	ModeDropNewest = 0 // full: the new record is dropped
	ModeOverwrite  = 1 // full: the oldest unclaimed records go
)

// Priority classes of records (Record.Prio, Ring.SetWritePriority). Under
// pressure, lower classes are refused first.
const (
	PrioLow      = 0
	PrioNormal   = 1
	PrioCritical = 2
	NumPrio      = 3
)

// Why records were dropped: the first index of Stats.Dropped.
const (
	DropFull       = 0 // not enough free space
	DropPriority   = 1 // free space under the class watermark
	DropContention = 2 // lost races (overwrite mode: also the reclaim bit taken)
	DropTooBig     = 3 // longer than max_record, or a BPF kfunc's bound (reserve 4 KiB, output 64 KiB)
	NumDrop        = 4
)

// Slot flags (ConsumerInfo.Flags).
const (
	SlotAttached = 0x1 // in use
	SlotRead     = 0x2 // used by read(2): its claims live in the kernel
)

// StatsInRingPartial is set in Stats.Flags when InRingRecords and
// InRingBytes are lower bounds (the kernel stopped walking the records).
const StatsInRingPartial = 0x1

// rawLayout is struct mpmcring_layout.
type rawLayout struct {
	Magic          uint64
	ABIMajor       uint16
	ABIMinor       uint16
	LayoutSize     uint32
	Features       uint64
	DataSize       uint64
	GranuleShift   uint32
	MaxRecord      uint32
	MaxConsumers   uint32
	Mode           uint32
	ConsSize       uint64
	ROSize         uint64
	StampsOffset   uint64
	DataOffset     uint64
	Watermark      [4]uint64
	Name           [32]byte
	SlotInfoOffset uint64
	ClaimTimeoutMs uint32
	UserMaxPrio    uint32
	MaxPerFile     uint32
	ID             uint32 // ABI 1.2; 0 from an older kernel
	Reserved       [5]uint64
}

// Stats are a ring's statistics (MPMCRING_IOC_STATS), summed over CPUs.
// The field order is the kernel's: the ioctl fills this struct directly.
type Stats struct {
	ProducedRecords    uint64                   // committed by producers
	ProducedBytes      uint64                   // their payload bytes
	DiscardedRecords   uint64                   // reserved, then discarded
	Dropped            [NumDrop][NumPrio]uint64 // by reason (Drop*), class (Prio*)
	OverwrittenRecords uint64                   // evicted unclaimed (overwrite mode)
	OverwrittenBytes   uint64
	ConsumedRecords    uint64 // left the ring through a claim (derived; 0 rather than negative)
	InRingRecords      uint64 // committed, not yet claimed
	InRingBytes        uint64
	Wakeups            uint64 // wakeups sent to sleeping consumers
	Consumers          uint64 // slots attached now
	AbandonedClaims    uint64 // consumers that exited holding records
	AbandonedRecords   uint64 // records those consumers held
	HeadRepairs        uint64 // corrupt claim positions reset
	ProdPos            uint64
	Head               uint64
	ReclaimPos         uint64
	RevokedClaims      uint64 // claims revoked for standing still
	RevokedRecords     uint64 // records those claims held
	ReadFaults         uint64 // records read(2) consumed but could not copy out
	Flags              uint64 // StatsInRingPartial
	RoomWakeups        uint64 // room wakeups sent by the housekeeping tick, or by a commit while writers waited (ABI 1.4, ABIMinorRoomWakeups)
	ChunkBytes         uint64 // the size of the chunk each CPU and interrupt level reserves at once, 0 when each record is reserved alone (ABI 1.6, ABIMinorChunks)
	ChunkFillerBytes   uint64 // ring space the chunks' unfilled rests took, headers included: no record's (ABI 1.6, ABIMinorChunks)
	reserved           [1]uint64
}

// DroppedTotal is the sum of Dropped over every reason and class.
func (s *Stats) DroppedTotal() uint64 {
	var n uint64
	for r := range s.Dropped {
		for c := range s.Dropped[r] {
			n += s.Dropped[r][c]
		}
	}
	return n
}

// ConsumerInfo describes one attached consumer (MPMCRING_IOC_CONSUMERS).
type ConsumerInfo struct {
	Slot        uint32
	Pid         uint32 // thread group that attached it, as this process's pid namespace sees it (0: outside it, or gone)
	Flags       uint32 // Slot* flags
	pad         uint32
	Start       uint64 // held claim start, or odd (1) when idle
	HeldRecords uint64 // as the consumer reports it
	ClaimAgeMs  uint64 // how long Start has stood still (0: idle or just moved)
	Revocations uint64
}

// rawConsumers is struct mpmcring_consumers.
type rawConsumers struct {
	Max   uint32
	Count uint32
	Info  uint64
}

// Offsets of the shared words: inside the consumer area...
const (
	consHead                 = 0
	consLostDroppedTaken     = 64
	consLostOverwrittenTaken = 72
	consSlots                = consHdrSize
	slotStart                = 0
	slotHeldRecords          = 8
	slotConsumedRecords      = 16
	slotConsumedBytes        = 24
)

// ...and inside the read-only area (meta page, slot info).
const (
	metaProdPos         = 512
	metaReclaimPos      = 576
	metaRoomAt          = 584 // ABI 1.5
	metaLostDropped     = 640
	metaLostOverwritten = 648
	metaState           = 656 // ABI 1.3
	slotInfoRevoked     = 0
	slotInfoRevocations = 8
)

// The sizes are part of the ABI: a mismatch fails the build.
var (
	_ [unsafe.Sizeof(rawLayout{}) - layoutSize]byte
	_ [layoutSize - unsafe.Sizeof(rawLayout{})]byte
	_ [unsafe.Sizeof(Stats{}) - 288]byte
	_ [288 - unsafe.Sizeof(Stats{})]byte
	_ [unsafe.Sizeof(ConsumerInfo{}) - 48]byte
	_ [48 - unsafe.Sizeof(ConsumerInfo{})]byte
	_ [unsafe.Sizeof(rawConsumers{}) - 16]byte
	_ [16 - unsafe.Sizeof(rawConsumers{})]byte
)
