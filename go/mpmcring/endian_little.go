// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

//go:build 386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm

package mpmcring

// splitHeader splits a record header word (struct mpmcring_rec_hdr, in the
// machine's byte order: len, prio, flags, reserved) into its fields.
func splitHeader(h uint64) (n uint32, prio, flags uint8) {
	return uint32(h), uint8(h >> 32), uint8(h >> 40)
}

// joinHeader is its inverse (the tests' producer writes headers with it).
func joinHeader(n uint32, prio, flags uint8) uint64 {
	return uint64(n) | uint64(prio)<<32 | uint64(flags)<<40
}
