/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Minimal TAP for the host tests: each test is a function; CHECK() records
 * a failure with its location and keeps going (REQUIRE() returns); the runner prints one
 * "ok"/"not ok" line per test and exits non-zero if any failed.
 */
#ifndef MPMCRING_TAP_H
#define MPMCRING_TAP_H

#include <stdio.h>
#include <stdlib.h>

struct tap {
	int failed;
};

/* One failure's line: where, what kind, the condition's text, then why. */
#define TAP_FAIL_(t, kind, cond_text, ...)                                        \
	do {                                                                      \
		(t)->failed = 1;                                                  \
		printf("# %s:%d: %s: %s: ", __FILE__, __LINE__, kind, cond_text); \
		printf(__VA_ARGS__);                                              \
		printf("\n");                                                     \
	} while (0)

#define CHECK(t, cond, ...)                                               \
	do {                                                              \
		if (!(cond))                                              \
			TAP_FAIL_(t, "check failed", #cond, __VA_ARGS__); \
	} while (0)

/*
 * REQUIRE(): a check the rest of the test cannot go on without (a fixture's
 * set-up): records the failure like CHECK() and returns from the function
 * it is in, so only in a test function itself, with nothing to undo.
 * cond is evaluated once.
 */
#define REQUIRE(t, cond, ...)                                                      \
	do {                                                                       \
		if (!(cond)) {                                                     \
			TAP_FAIL_(t, "required check failed", #cond, __VA_ARGS__); \
			return;                                                    \
		}                                                                  \
	} while (0)

/* Each side evaluated once: a failure's message shows what was compared. */
#define CHECK_EQ(t, a, b)                                                                   \
	do {                                                                                \
		long long a_ = (long long)(a), b_ = (long long)(b);                         \
		if (a_ != b_)                                                               \
			TAP_FAIL_(t, "check failed", #a " == " #b, "%lld != %lld", a_, b_); \
	} while (0)

struct tap_test {
	const char *name;
	void (*fn)(struct tap *t);
};

static inline int tap_run(const struct tap_test *tests, int n)
{
	int i, bad = 0;

	printf("1..%d\n", n);
	for (i = 0; i < n; i++) {
		struct tap t = { 0 };

		fflush(stdout);
		tests[i].fn(&t);
		printf("%s %d %s\n", t.failed ? "not ok" : "ok", i + 1, tests[i].name);
		/* On the record even if a leak report ends the run at exit. */
		fflush(stdout);
		bad += t.failed;
	}
	return bad ? 1 : 0;
}

#define TAP_TEST(fn)    \
	{               \
#fn, fn \
	}

#endif /* MPMCRING_TAP_H */
