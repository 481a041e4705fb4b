// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

// Package testrec reads and writes the self-checking test records of
// proto/mpmcring_testrec.h: what the load generator, the KUnit suites and
// the host harness produce, and what every test consumer verifies byte for
// byte. A record carries its producer, a per-producer sequence number and
// a checksum over filler bytes derived from both, so a torn, stale,
// duplicated or misframed record is caught wherever it lands.
package testrec

import (
	"encoding/binary"
	"unsafe"
)

// Magic starts every test record.
const Magic = 0x7e57a3c1

// Min is the size of the record header: the shortest test record.
const Min = 24

// Contexts a record was produced in (MPR_CTX_*).
const (
	CtxTask = iota
	CtxSoftirq
	CtxHardirq
	CtxNMI
	CtxUser
)

// Rec is struct mpr_testrec.
type Rec struct {
	Producer uint16
	Ctx      uint8
	Prio     uint8
	Seq      uint64
	Len      uint32
}

// The kernel writes records in the machine's byte order.
var order binary.ByteOrder = func() binary.ByteOrder {
	x := uint16(1)
	if *(*byte)(unsafe.Pointer(&x)) == 1 {
		return binary.LittleEndian
	}
	return binary.BigEndian
}()

func mix(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	x ^= x >> 16
	return x
}

func fillByte(producer uint16, seq uint64, i uint32) byte {
	return byte(mix(uint32(seq)*2654435761 ^ uint32(producer)<<20 ^ i))
}

// Fill writes record seq of producer into buf (len(buf) >= Min).
func Fill(buf []byte, producer uint16, ctx, prio uint8, seq uint64) {
	sum := uint32(0x12345678)
	for i := range buf[Min:] {
		b := fillByte(producer, seq, uint32(i))
		buf[Min+i] = b
		sum = (sum ^ uint32(b)) * 16777619
	}
	order.PutUint32(buf[0:], Magic)
	order.PutUint16(buf[4:], producer)
	buf[6] = ctx
	buf[7] = prio
	order.PutUint64(buf[8:], seq)
	order.PutUint32(buf[16:], uint32(len(buf)))
	order.PutUint32(buf[20:], sum)
}

// Check verifies a record: header, length and every filler byte. It
// returns the header and 0, or a small positive code saying what is wrong
// (the C function's codes).
func Check(buf []byte) (Rec, int) {
	if len(buf) < Min {
		return Rec{}, 1
	}
	r := Rec{
		Producer: order.Uint16(buf[4:]),
		Ctx:      buf[6],
		Prio:     buf[7],
		Seq:      order.Uint64(buf[8:]),
		Len:      order.Uint32(buf[16:]),
	}
	if order.Uint32(buf[0:]) != Magic {
		return r, 2
	}
	if int(r.Len) != len(buf) {
		return r, 3
	}
	sum := uint32(0x12345678)
	for i, b := range buf[Min:] {
		if b != fillByte(r.Producer, r.Seq, uint32(i)) {
			return r, 4
		}
		sum = (sum ^ uint32(b)) * 16777619
	}
	if sum != order.Uint32(buf[20:]) {
		return r, 5
	}
	return r, 0
}
