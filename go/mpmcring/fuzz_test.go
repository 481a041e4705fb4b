// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

import (
	"errors"
	"syscall"
	"testing"
	"unsafe"
)

// fuzzInput hands out the fuzzer's bytes, zeros once they run out.
type fuzzInput []byte

func (in *fuzzInput) take(n int) uint64 {
	var v uint64
	for i := 0; i < n; i++ {
		v <<= 8
		if len(*in) > 0 {
			v |= uint64((*in)[0])
			*in = (*in)[1:]
		}
	}
	return v
}

// corruptAtHead is an oracle written apart from the package's code (the
// C fuzzer's): a head outside [reclaim_pos, prod_pos] or between granules,
// or a committed record at the head whose header does not fit, is
// corruption a consumer must report as EBADMSG (a ring in memory has no
// kernel to repair it).
func corruptAtHead(l *rawLayout, ro, cons []byte) bool {
	r := *word(ro, metaReclaimPos)
	h := *word(cons, consHead)
	p := *word(ro, metaProdPos)
	g := uint64(1) << l.GranuleShift
	if h&(g-1) != 0 || h-r > p-r {
		return true
	}
	idx := h >> l.GranuleShift & (l.DataSize>>l.GranuleShift - 1)
	if h == p || *word(ro, l.StampsOffset+idx*8) != h|stampCommitted {
		return false
	}
	// The header's first field, len, in the machine's byte order.
	n := uint64(*(*uint32)(unsafe.Pointer(&ro[l.DataOffset+h&(l.DataSize-1)])))
	size := (hdrSize + n + g - 1) &^ (g - 1)
	return n > uint64(l.MaxRecord) || size > p-h
}

// FuzzConsumer: consumers over a ring whose shared memory holds arbitrary
// bytes (a hostile or corrupt producer side and consumer area). Whatever
// the contents, every call returns, nothing panics, every record handed
// out lies inside the ring's data, and corruption at the head is reported
// as EBADMSG. The input builds the ring: layout choices, positions, then
// per granule a byte that says whether its stamp is well formed for its
// own position (so the fuzzer reaches deep into framing) or raw input,
// header and payload bytes, and finally the calls to make.
func FuzzConsumer(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6})
	f.Add([]byte{1, 1, 1, 1, 0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 2, 0, 0, 1, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x60, 0x08, 0x10, 0x00, 0x20})
	f.Add([]byte("\x02\x03\x01\x01\x00\x80\x00\x00\x00\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x02\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01\x00\x90\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := fuzzInput(data)
		l := rawLayout{
			Magic:        abiMagic,
			ABIMajor:     ABIMajor,
			ABIMinor:     ABIMinor,
			LayoutSize:   layoutSize,
			DataSize:     4096 << (in.take(1) % 3),
			GranuleShift: uint32(3 + in.take(1)%4),
			MaxConsumers: 2,
			Mode:         uint32(in.take(1) & 1),
		}
		l.MaxRecord = uint32(l.DataSize/2 - hdrSize)
		if l.Mode != 0 {
			l.Features = featOverwrite
		}
		if in.take(1)&1 != 0 {
			l.Features |= featLease
			l.ClaimTimeoutMs = uint32(1 + in.take(2))
		}
		nstamps := l.DataSize >> l.GranuleShift
		l.ConsSize = 4096
		l.SlotInfoOffset = 4096
		l.StampsOffset = 8192
		l.DataOffset = 8192 + roundPage(nstamps*8)
		l.ROSize = l.DataOffset + 2*l.DataSize
		ro := alignedBytes(l.ROSize)
		cons := alignedBytes(l.ConsSize)
		copy(ro, l.bytes())

		g := uint64(1) << l.GranuleShift
		base := in.take(8) &^ (g - 1)
		pick := func(raw bool, v uint64) uint64 {
			if raw {
				return in.take(8)
			}
			return v
		}
		*word(ro, metaReclaimPos) = pick(in.take(1)&0x80 != 0, base)
		*word(ro, metaProdPos) = pick(in.take(1)&0x80 != 0, base+in.take(2)*g)
		*word(cons, consHead) = pick(in.take(1)&0x80 != 0, base+in.take(1)*g)
		*word(ro, metaLostDropped) = in.take(2)
		*word(cons, consLostDroppedTaken) = in.take(2)
		*word(cons, consSlots+slotStart) = slotIdle
		if in.take(1)&1 != 0 {
			*word(cons, consSlots+slotStart) = in.take(8)
		}
		*word(cons, consSlots+slotSize+slotStart) = slotIdle
		// Revocations: none, of a plausible start, or raw garbage.
		for i := uint64(0); i < 2; i++ {
			how := in.take(1)
			rv := uint64(slotIdle)
			switch {
			case how >= 0xc0:
				rv = in.take(8)
			case how >= 0x80:
				rv = base + in.take(1)*g
			}
			*word(ro, l.SlotInfoOffset+i*slotInfoSize+slotInfoRevoked) = rv
		}
		for i := uint64(0); i < nstamps && len(in) > 0; i++ {
			pos := base + i*g
			how := in.take(1)
			var st uint64
			switch {
			case how < 0x60:
				st = pos | stampCommitted
			case how < 0x70:
				st = pos | stampDiscarded
			case how < 0x80:
				st = (pos - l.DataSize) | stampCommitted
			default:
				st = in.take(8)
			}
			*word(ro, l.StampsOffset+(pos>>l.GranuleShift&(nstamps-1))*8) = st
			if how < 0x70 {
				// Lengths mostly plausible, sometimes wild.
				n := in.take(1) % (g * 4)
				if how&8 != 0 {
					n = in.take(4)
				}
				*word(ro, l.DataOffset+pos&(l.DataSize-1)) = joinHeader(uint32(n), 0, 0)
			}
		}
		// Whatever is left becomes payload; then the double mapping.
		dat := ro[l.DataOffset:]
		if len(in) > 16 {
			for i := uint64(0); i < l.DataSize; i += 8 {
				j := i % uint64(len(in)-8)
				copy(dat[i:i+8], in[j:j+8])
			}
		}
		copy(dat[l.DataSize:], dat[:l.DataSize])

		r, err := openMemory(cons, ro, &l)
		if err != nil {
			t.Fatalf("a valid layout refused: %v", err)
		}
		c := [2]*Consumer{}
		for i := range c {
			if c[i], err = r.NewConsumer(); err != nil {
				t.Fatal(err)
			}
		}
		// The first slot keeps the garbage start the input gave it.
		dataLo := l.DataOffset + hdrSize
		dataHi := l.DataOffset + 2*l.DataSize
		touch := func(rec Record) error {
			if uint32(len(rec.Data)) > l.MaxRecord {
				t.Fatalf("a record of %d bytes, max %d", len(rec.Data), l.MaxRecord)
			}
			if len(rec.Data) > 0 {
				off := uint64(uintptrOf(rec.Data) - uintptrOf(ro))
				if off < dataLo || off+uint64(len(rec.Data)) > dataHi {
					t.Fatalf("a record at %d..%d outside the data %d..%d", off, off+uint64(len(rec.Data)), dataLo, dataHi)
				}
			}
			var sink byte
			for _, b := range rec.Data {
				sink ^= b
			}
			_ = sink
			return nil
		}
		if corruptAtHead(&l, ro, cons) {
			if _, err := c[0].Read(); !errors.Is(err, syscall.EBADMSG) {
				t.Fatalf("corrupt head: Read %v, want EBADMSG", err)
			}
			if _, err := c[1].Peek(); !errors.Is(err, syscall.EBADMSG) {
				t.Fatalf("corrupt head: Peek %v, want EBADMSG", err)
			}
		}
		calls := 0
		stopSometimes := func(rec Record) error {
			touch(rec)
			calls++
			if calls%4 == 3 {
				return errors.New("stop")
			}
			return nil
		}
		for op := 0; op < 24; op++ {
			cc := c[op&1]
			sel := op
			if len(data) > 0 {
				sel = int(data[op%len(data)])
			}
			switch sel % 7 {
			case 0:
				if rec, err := cc.Read(); err == nil {
					touch(rec)
				}
			case 1:
				if b, err := cc.ReadBatch(1+op%9, uint64(64*(op+1))); err == nil {
					n := 0
					for rec, ok := b.Next(); ok; rec, ok = b.Next() {
						touch(rec)
						n++
					}
					if n > b.Records {
						t.Fatalf("batch of %d gave %d records", b.Records, n)
					}
				}
			case 2:
				cc.Consume(1+op%5, stopSometimes)
			case 3:
				if rec, err := cc.Peek(); err == nil {
					touch(rec)
				}
			case 4:
				if op&2 != 0 {
					cc.Validate()
				} else {
					cc.Commit()
				}
			case 5:
				cc.Lost()
				r.AvailableBytes()
			default:
				// A producer moved on meanwhile.
				*word(ro, metaProdPos) += g * uint64(op%4)
			}
		}
		for _, cc := range c {
			cc.Close()
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

func uintptrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }
