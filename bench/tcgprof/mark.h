/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The window markers of insn_prof.c: no-ops everywhere, and under
 * qemu -plugin insn_prof.so the start and end of a counted stretch.
 */
#ifndef MPMCRING_TCGPROF_MARK_H
#define MPMCRING_TCGPROF_MARK_H

/* xchg %rbx,%rbx and xchg %rcx,%rcx, as bytes: the assembler's encoding
 * of them is not promised to be the one insn_prof.c looks for. */
static inline void tcgprof_open(void)
{
	__asm__ volatile(".byte 0x48, 0x87, 0xdb" ::: "memory");
}

static inline void tcgprof_close(void)
{
	__asm__ volatile(".byte 0x48, 0x87, 0xc9" ::: "memory");
}

#endif
