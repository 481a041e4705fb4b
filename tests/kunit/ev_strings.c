// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring_ev_strings: ev_nul_at(), the end of a user string chunk the
 * events module reads (kmod/events/strings.h). The tail of the chunk's
 * last word is not the string's: a zero there must not end it, and the
 * index is never past the chunk, which the copy after it relies on. The
 * VM tests cannot reach this: the kernels here zero stack variables, so
 * the tail a user string leaves is always zero at the chunk's end.
 */
#include <kunit/test.h>
#include <linux/string.h>

#include "events/strings.h"

#define KT_CHUNK 64

/* Every NUL position in every chunk length, the rest of the buffer 'x'. */
static void ev_strings_first_nul(struct kunit *test)
{
	unsigned long w[KT_CHUNK / sizeof(long) + 1];
	char *b = (char *)w;
	u32 n, p;

	for (n = 1; n <= KT_CHUNK; n++)
		for (p = 0; p < n; p++) {
			memset(w, 'x', sizeof(w));
			b[p] = 0;
			if (p + 1 < n)
				b[p + 1] = 0; /* a second NUL after the first */
			KUNIT_EXPECT_EQ_MSG(test, ev_nul_at(w, n), p, "n=%u", n);
		}
}

/*
 * No NUL in the n bytes; past them a non-zero byte and then zeros, as a
 * chunk's word could hold: the answer is n, never an index past it.
 */
static void ev_strings_tail_past_n_ignored(struct kunit *test)
{
	unsigned long w[KT_CHUNK / sizeof(long) + 1];
	char *b = (char *)w;
	u32 n, k;

	for (n = 1; n <= KT_CHUNK; n++)
		for (k = n; k < n + sizeof(long) && k < sizeof(w); k++) {
			memset(w, 0, sizeof(w));
			memset(b, 'x', k);
			KUNIT_EXPECT_EQ_MSG(test, ev_nul_at(w, n), n, "n=%u, zeros from %u", n, k);
		}
}

/* A NUL at 0, and the highest bytes: every value but zero is no end. */
static void ev_strings_byte_values(struct kunit *test)
{
	unsigned long w[KT_CHUNK / sizeof(long)];
	unsigned char *b = (unsigned char *)w;
	unsigned int v;

	for (v = 1; v < 256; v++) {
		memset(w, v, sizeof(w));
		KUNIT_EXPECT_EQ_MSG(test, ev_nul_at(w, KT_CHUNK), KT_CHUNK, "byte %u", v);
		b[9] = 0;
		KUNIT_EXPECT_EQ_MSG(test, ev_nul_at(w, KT_CHUNK), 9, "byte %u", v);
	}
}

static struct kunit_case ev_strings_cases[] = {
	KUNIT_CASE(ev_strings_first_nul),
	KUNIT_CASE(ev_strings_tail_past_n_ignored),
	KUNIT_CASE(ev_strings_byte_values),
	{}
};

static struct kunit_suite ev_strings_suite = {
	.name = "mpmcring_ev_strings",
	.test_cases = ev_strings_cases,
};
kunit_test_suite(ev_strings_suite);
