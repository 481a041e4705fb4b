/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which x86 instructions insn_prof counts as locked: those that take a
 * cache line's ownership on hardware and a helper call under TCG. A LOCK
 * prefix among the legacy prefixes, or xchg (0x86/0x87) with a memory
 * operand, locked without a prefix. xchg between registers (ModRM mod 3,
 * the markers among them) is not.
 */
#ifndef TCGPROF_LOCKED_H
#define TCGPROF_LOCKED_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

static inline bool insn_is_locked(const unsigned char *p, size_t len)
{
	/* The legacy prefixes other than LOCK (0xf0). */
	static const char prefixes[] = "\x66\x67\x2e\x3e\x26\x64\x65\x36\xf2\xf3";
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == 0xf0)
			return true;
		/* strchr() finds the terminator: 0x00 is an opcode, not a prefix. */
		if (!p[i] || !strchr(prefixes, p[i]))
			break;
	}
	if (i < len && (p[i] & 0xf0) == 0x40) /* REX */
		i++;
	return i + 1 < len && (p[i] == 0x86 || p[i] == 0x87) && (p[i + 1] >> 6) != 3;
}

#endif
