// SPDX-License-Identifier: GPL-2.0-only
/*
 * Planted by tests/harness/selfcheck.sh: a program that would pass, packed
 * without its exec bit. init.sh must report it as not run (exit status 126)
 * and the runner fail it, not pass over it.
 */
#include "kselftest_harness.h"

TEST(plant_runs)
{
	volatile int one = 1;

	ASSERT_EQ(1, one);
}

TEST_HARNESS_MAIN
