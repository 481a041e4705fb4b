// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// The Go mirrors of the uapi structures and the ioctl numbers, against
// what a C compiler makes of uapi/linux/mpmcring.h: every size, offset and
// request number the package uses.
func TestABIMatchesUapiHeader(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) to read the uapi header with")
	}
	_, self, _, _ := runtime.Caller(0)
	uapi := filepath.Join(filepath.Dir(self), "..", "..", "uapi")
	if _, err := os.Stat(filepath.Join(uapi, "linux", "mpmcring.h")); err != nil {
		t.Fatalf("uapi header not found next to the package: %v", err)
	}

	var l rawLayout
	var st Stats
	var ci ConsumerInfo
	var cs rawConsumers
	type item struct {
		c   string
		val uint64
	}
	items := []item{
		{"sizeof(struct mpmcring_layout)", uint64(unsafe.Sizeof(l))},
		{"offsetof(struct mpmcring_layout, layout_size)", uint64(unsafe.Offsetof(l.LayoutSize))},
		{"offsetof(struct mpmcring_layout, features)", uint64(unsafe.Offsetof(l.Features))},
		{"offsetof(struct mpmcring_layout, data_size)", uint64(unsafe.Offsetof(l.DataSize))},
		{"offsetof(struct mpmcring_layout, granule_shift)", uint64(unsafe.Offsetof(l.GranuleShift))},
		{"offsetof(struct mpmcring_layout, max_record)", uint64(unsafe.Offsetof(l.MaxRecord))},
		{"offsetof(struct mpmcring_layout, max_consumers)", uint64(unsafe.Offsetof(l.MaxConsumers))},
		{"offsetof(struct mpmcring_layout, mode)", uint64(unsafe.Offsetof(l.Mode))},
		{"offsetof(struct mpmcring_layout, cons_size)", uint64(unsafe.Offsetof(l.ConsSize))},
		{"offsetof(struct mpmcring_layout, ro_size)", uint64(unsafe.Offsetof(l.ROSize))},
		{"offsetof(struct mpmcring_layout, stamps_offset)", uint64(unsafe.Offsetof(l.StampsOffset))},
		{"offsetof(struct mpmcring_layout, data_offset)", uint64(unsafe.Offsetof(l.DataOffset))},
		{"offsetof(struct mpmcring_layout, watermark)", uint64(unsafe.Offsetof(l.Watermark))},
		{"offsetof(struct mpmcring_layout, name)", uint64(unsafe.Offsetof(l.Name))},
		{"offsetof(struct mpmcring_layout, slot_info_offset)", uint64(unsafe.Offsetof(l.SlotInfoOffset))},
		{"offsetof(struct mpmcring_layout, claim_timeout_ms)", uint64(unsafe.Offsetof(l.ClaimTimeoutMs))},
		{"offsetof(struct mpmcring_layout, user_max_prio)", uint64(unsafe.Offsetof(l.UserMaxPrio))},
		{"offsetof(struct mpmcring_layout, max_per_file)", uint64(unsafe.Offsetof(l.MaxPerFile))},
		{"offsetof(struct mpmcring_layout, id)", uint64(unsafe.Offsetof(l.ID))},
		{"sizeof(struct mpmcring_stats)", uint64(unsafe.Sizeof(st))},
		{"offsetof(struct mpmcring_stats, dropped)", uint64(unsafe.Offsetof(st.Dropped))},
		{"offsetof(struct mpmcring_stats, overwritten_records)", uint64(unsafe.Offsetof(st.OverwrittenRecords))},
		{"offsetof(struct mpmcring_stats, wakeups)", uint64(unsafe.Offsetof(st.Wakeups))},
		{"offsetof(struct mpmcring_stats, abandoned_claims)", uint64(unsafe.Offsetof(st.AbandonedClaims))},
		{"offsetof(struct mpmcring_stats, abandoned_records)", uint64(unsafe.Offsetof(st.AbandonedRecords))},
		{"offsetof(struct mpmcring_stats, reclaim_pos)", uint64(unsafe.Offsetof(st.ReclaimPos))},
		{"offsetof(struct mpmcring_stats, revoked_claims)", uint64(unsafe.Offsetof(st.RevokedClaims))},
		{"offsetof(struct mpmcring_stats, revoked_records)", uint64(unsafe.Offsetof(st.RevokedRecords))},
		{"offsetof(struct mpmcring_stats, read_faults)", uint64(unsafe.Offsetof(st.ReadFaults))},
		{"offsetof(struct mpmcring_stats, flags)", uint64(unsafe.Offsetof(st.Flags))},
		{"offsetof(struct mpmcring_stats, room_wakeups)", uint64(unsafe.Offsetof(st.RoomWakeups))},
		{"offsetof(struct mpmcring_stats, chunk_bytes)", uint64(unsafe.Offsetof(st.ChunkBytes))},
		{"offsetof(struct mpmcring_stats, chunk_filler_bytes)", uint64(unsafe.Offsetof(st.ChunkFillerBytes))},
		{"sizeof(struct mpmcring_consumer_info)", uint64(unsafe.Sizeof(ci))},
		{"offsetof(struct mpmcring_consumer_info, start)", uint64(unsafe.Offsetof(ci.Start))},
		{"offsetof(struct mpmcring_consumer_info, held_records)", uint64(unsafe.Offsetof(ci.HeldRecords))},
		{"offsetof(struct mpmcring_consumer_info, claim_age_ms)", uint64(unsafe.Offsetof(ci.ClaimAgeMs))},
		{"offsetof(struct mpmcring_consumer_info, revocations)", uint64(unsafe.Offsetof(ci.Revocations))},
		{"sizeof(struct mpmcring_consumers)", uint64(unsafe.Sizeof(cs))},
		{"offsetof(struct mpmcring_consumers, info)", uint64(unsafe.Offsetof(cs.Info))},
		{"sizeof(struct mpmcring_meta)", metaSize},
		{"offsetof(struct mpmcring_meta, prod_pos)", metaProdPos},
		{"offsetof(struct mpmcring_meta, reclaim_pos)", metaReclaimPos},
		{"offsetof(struct mpmcring_meta, room_at)", metaRoomAt},
		{"offsetof(struct mpmcring_meta, lost_dropped)", metaLostDropped},
		{"offsetof(struct mpmcring_meta, lost_overwritten)", metaLostOverwritten},
		{"offsetof(struct mpmcring_meta, state)", metaState},
		{"MPMCRING_STATE_DEAD", stateDead},
		{"offsetof(struct mpmcring_cons_area, head)", consHead},
		{"offsetof(struct mpmcring_cons_area, lost_dropped_taken)", consLostDroppedTaken},
		{"offsetof(struct mpmcring_cons_area, lost_overwritten_taken)", consLostOverwrittenTaken},
		{"offsetof(struct mpmcring_cons_area, slots)", consSlots},
		{"MPMCRING_CONS_HDR_SIZE", consHdrSize},
		{"sizeof(struct mpmcring_slot)", slotSize},
		{"offsetof(struct mpmcring_slot, held_records)", slotHeldRecords},
		{"offsetof(struct mpmcring_slot, consumed_records)", slotConsumedRecords},
		{"offsetof(struct mpmcring_slot, consumed_bytes)", slotConsumedBytes},
		{"sizeof(struct mpmcring_slot_info)", slotInfoSize},
		{"offsetof(struct mpmcring_slot_info, revoked)", slotInfoRevoked},
		{"offsetof(struct mpmcring_slot_info, revocations)", slotInfoRevocations},
		{"MPMCRING_HDR_SIZE", hdrSize},
		{"MPMCRING_WRITE_MAX", writeMaxBytes},
		{"MPMCRING_WRITEV_MAX", writevMaxRecords},
		{"MPMCRING_IOC_INFO", uint64(iocInfo)},
		{"MPMCRING_IOC_ATTACH", uint64(iocAttach)},
		{"MPMCRING_IOC_DETACH", uint64(iocDetach)},
		{"MPMCRING_IOC_STATS", uint64(iocStats)},
		{"MPMCRING_IOC_SET_WATERMARK", uint64(iocSetWatermark)},
		{"MPMCRING_IOC_SET_PRIO", uint64(iocSetPrio)},
		{"MPMCRING_IOC_CONSUMERS", uint64(iocConsumers)},
		{"MPMCRING_IOC_REPAIR", uint64(iocRepair)},
		{"MPMCRING_IOC_ROOM", uint64(iocRoom)},
		{"MPMCRING_MAGIC", abiMagic},
		{"MPMCRING_ABI_MAJOR", ABIMajor},
		{"MPMCRING_ABI_MINOR", ABIMinor},
		{"MPMCRING_ABI_MINOR_STATE", ABIMinorState},
		{"MPMCRING_ABI_MINOR_ROOM_WAKEUPS", ABIMinorRoomWakeups},
		{"MPMCRING_ABI_MINOR_ROOM_AT", ABIMinorRoomAt},
		{"MPMCRING_ABI_MINOR_CHUNKS", ABIMinorChunks},
		{"MPMCRING_FEAT_KNOWN", featKnown},
		{"MPMCRING_SLOT_IDLE", slotIdle},
		{"MPMCRING_SLOT_REVOKED", slotRevoked},
		{"MPMCRING_STAMP_COMMITTED", stampCommitted},
		{"MPMCRING_STAMP_DISCARDED", stampDiscarded},
		{"(unsigned long long)MPMCRING_OFF_RO", offRO},
		{"MPMCRING_REC_FROM_USER", RecFromUser},
		{"MPMCRING_MODE_OVERWRITE", ModeOverwrite},
		{"MPMCRING_PRIO_CRITICAL", PrioCritical},
		{"MPMCRING_NR_PRIO", NumPrio},
		{"MPMCRING_NR_DROP", NumDrop},
		{"MPMCRING_DROP_TOO_BIG", DropTooBig},
		{"MPMCRING_SLOTF_READ", SlotRead},
		{"MPMCRING_STATS_IN_RING_PARTIAL", StatsInRingPartial},
	}
	var src strings.Builder
	src.WriteString("#include <stdio.h>\n#include <stddef.h>\n#include <linux/mpmcring.h>\nint main(void)\n{\n")
	for _, it := range items {
		fmt.Fprintf(&src, "\tprintf(\"%%llu\\n\", (unsigned long long)(%s));\n", it.c)
	}
	src.WriteString("\treturn 0;\n}\n")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "abi.c"), []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "abi")
	if out, err := exec.Command(cc, "-I"+uapi, "-o", bin, filepath.Join(dir, "abi.c")).CombinedOutput(); err != nil {
		t.Fatalf("compiling against the uapi header: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != len(items) {
		t.Fatalf("%d values from C, want %d", len(lines), len(items))
	}
	for i, it := range items {
		if want := fmt.Sprint(it.val); lines[i] != want {
			t.Errorf("%s: C says %s, Go has %s", it.c, lines[i], want)
		}
	}
}

// A ring larger than the process can map (a 32-bit GOARCH: Mmap takes an
// int) is refused with EFBIG before anything is mapped short.
func TestLayoutTooLargeToMap(t *testing.T) {
	l := testLayout(ringParams{size: 1 << 20})
	if err := checkLayout(&l); err != nil {
		t.Fatalf("layout: %v", err)
	}
	saved := maxMapping
	defer func() { maxMapping = saved }()
	// Each mapping fits, the two together do not (as the C check says).
	maxMapping = l.ROSize
	if err := checkLayout(&l); !errors.Is(err, syscall.EFBIG) {
		t.Fatalf("%d + %d bytes with a %d-byte limit: %v, want EFBIG", l.ROSize, l.ConsSize,
			maxMapping, err)
	}
	maxMapping = 1<<31 - 1 // a 32-bit int
	// A consistent 2 GiB ring: stamps, data offset and sizes agree.
	l.DataSize = 1 << 31
	stamps := (l.DataSize >> l.GranuleShift) * 8
	l.DataOffset = (l.StampsOffset + stamps + 4095) &^ 4095
	l.ROSize = l.DataOffset + 2*l.DataSize
	if err := checkLayout(&l); !errors.Is(err, syscall.EFBIG) {
		t.Fatalf("a %d-byte mapping with 32-bit ints: %v, want EFBIG", l.ROSize, err)
	}
}

// A newer kernel's layout may be larger (uapi: the layout grows at its end,
// inside the meta page's first 512 bytes, with an ABI minor bump): the
// package reads the part it knows, as the C library does; a size below
// what it knows, or past prod_pos, is no layout.
func TestLayoutLargerFromNewerKernel(t *testing.T) {
	for _, tc := range []struct {
		size uint32
		ok   bool
	}{
		{layoutSize, true},
		{layoutSize + 8, true},
		{metaProdPos, true},
		{layoutSize - 8, false},
		{metaProdPos + 8, false},
	} {
		l := testLayout(ringParams{size: 1 << 20})
		l.LayoutSize = tc.size
		err := checkLayout(&l)
		if tc.ok && err != nil {
			t.Errorf("layout_size %d: %v, want accepted", tc.size, err)
		}
		if !tc.ok && !errors.Is(err, syscall.EPROTO) {
			t.Errorf("layout_size %d: %v, want EPROTO", tc.size, err)
		}
	}
	h := newTestRing(t, ringParams{size: 4096})
	l := h.l
	l.LayoutSize = layoutSize + 8
	if _, err := openMemory(h.cons, h.ro, &l); err != nil {
		t.Fatalf("open with layout_size %d (a newer kernel): %v", l.LayoutSize, err)
	}
}
