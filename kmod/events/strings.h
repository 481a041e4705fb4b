/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The end of a string read from the user in chunks (probes.c), apart so
 * that the test module can try it on bytes no user string could leave.
 */
#ifndef MPMCRING_EVENTS_STRINGS_H
#define MPMCRING_EVENTS_STRINGS_H

#include <linux/kernel.h>
#include <linux/types.h>
#include <asm/word-at-a-time.h>

/*
 * The index of the first NUL in the n bytes at w, or n; a word at a time
 * (a byte loop costs about 6 instructions a byte). The bytes of the last
 * word past n are not the string's (the kernel may have zeroed them, or a
 * previous chunk left its bytes there): taken as non-zero, so that the
 * index is never past n, which the caller's copy relies on.
 */
static inline u32 ev_nul_at(const unsigned long *w, u32 n)
{
	const struct word_at_a_time zero = WORD_AT_A_TIME_CONSTANTS;
	unsigned long v, bits, past;
	u32 i;

	for (i = 0; i < n; i += sizeof(v)) {
		v = w[i / sizeof(v)];
		if (n - i < sizeof(v)) {
			past = ~0UL;
			if (IS_ENABLED(CONFIG_CPU_BIG_ENDIAN))
				past >>= 8 * (n - i);
			else
				past <<= 8 * (n - i);
			v |= past;
		}
		if (has_zero(v, &bits, &zero)) {
			bits = prep_zero_mask(v, bits, &zero);
			return i + find_zero(create_zero_mask(bits));
		}
	}
	return n;
}

#endif
