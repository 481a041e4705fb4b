/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Callgrind's client requests where valgrind's header is installed, and
 * no-ops where it is not: the instruction counters (ipr.c, refuse_ipr.c)
 * then build and run, counting nothing.
 */
#ifndef MPMCRING_BENCH_CALLGRIND_SHIM_H
#define MPMCRING_BENCH_CALLGRIND_SHIM_H

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HAVE_CALLGRIND 1
#endif
#endif

#ifndef HAVE_CALLGRIND
#define RUNNING_ON_VALGRIND 0
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS_AT(s) ((void)(s))
#endif

#endif
