/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The handful of memory-model primitives the protocol uses, mapped onto the
 * kernel's (READ_ONCE, smp_load_acquire, cmpxchg) or onto C11/GCC __atomic
 * builtins in userspace, so that the very same protocol code runs in the
 * module, in the library and under ThreadSanitizer in the host harness.
 *
 * Every access to shared protocol memory goes through these macros: marked
 * accesses keep KCSAN and TSan quiet about the speculative reads the protocol
 * makes on purpose (and validates afterwards), and make the compiler keep
 * each load and store exactly once.
 */
#ifndef MPMCRING_ATOMIC_H
#define MPMCRING_ATOMIC_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/atomic.h>
#include <asm/barrier.h>
#include <linux/errno.h>

/* Plain wrappers: every use site names the barrier it pairs with. */
#define MPR_READ_ONCE(x)		READ_ONCE(x)
#define MPR_WRITE_ONCE(x, v)		WRITE_ONCE(x, v)
/* Acquire load; the pair is named where it is used. */
#define MPR_LOAD_ACQUIRE(p)		smp_load_acquire(p)
/* Release store; the pair is named where it is used. */
#define MPR_STORE_RELEASE(p, v)		smp_store_release(p, v)
/* Loads before it are ordered before loads after it. */
#define MPR_ACQUIRE_FENCE()		smp_rmb()
/*
 * A load after every access before it, stores included, in one total
 * order with other such accesses and full barriers: the second half of
 * a store-buffering pair.
 */
#define MPR_LOAD_SEQ_CST(p)		({ smp_mb(); READ_ONCE(*(p)); })
#define mpr_likely(x)			likely(x)
#define mpr_unlikely(x)			unlikely(x)
/* For the per-record paths: inlined where they are used, constants folded. */
#define MPR_ALWAYS_INLINE		__always_inline
/* For what the per-record paths call only when something is unusual. */
#define MPR_SLOW_PATH			noinline
/* A loop in a function of its own: its values get the registers. */
#define MPR_OWN_FRAME			noinline

/* Fully ordered compare-and-swap; returns the value found. */
static __always_inline __u64 mpr_cmpxchg(__u64 *p, __u64 old, __u64 new)
{
	return cmpxchg(p, old, new);
}

/* Fully ordered exchange; returns the value found. */
static __always_inline __u64 mpr_xchg(__u64 *p, __u64 new)
{
	return xchg(p, new);
}

/*
 * A read that may race with a producer writing the same bytes on purpose:
 * a walker looks at records it has not claimed yet. The value is bounds
 * checked, and the claim's cmpxchg fails (discarding it) whenever the bytes
 * could have changed. KCSAN is told so; real races elsewhere still report.
 */
#define MPR_READ_SPECULATIVE(x)		data_race(READ_ONCE(x))

#else /* userspace */
#include <linux/types.h>
#include <errno.h>
#include <stdbool.h>

#define MPR_READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define MPR_WRITE_ONCE(x, v)		__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define MPR_LOAD_ACQUIRE(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define MPR_STORE_RELEASE(p, v)		__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define MPR_LOAD_SEQ_CST(p)		__atomic_load_n((p), __ATOMIC_SEQ_CST)
#ifdef __SANITIZE_THREAD__
/*
 * ThreadSanitizer does not take fences; its builds run on x86, where loads
 * are not reordered with older loads, so keeping the compiler's order is
 * what the fence does there.
 */
#define MPR_ACQUIRE_FENCE()		__atomic_signal_fence(__ATOMIC_SEQ_CST)
#else
#define MPR_ACQUIRE_FENCE()		__atomic_thread_fence(__ATOMIC_ACQUIRE)
#endif
#define mpr_likely(x)			__builtin_expect(!!(x), 1)
#define mpr_unlikely(x)			__builtin_expect(!!(x), 0)
/*
 * The kernel's attributes without a libc's own names for them (glibc has
 * __always_inline and __attribute_noinline__ in sys/cdefs.h, musl has
 * neither): noinline in GCC's and clang's syntax, through MPR_GCC_ATTR()
 * because the kernel's noinline macro does not exist here. __always_inline
 * where the libc defines it (every glibc header includes sys/cdefs.h),
 * else plain inline: the same code wherever the compiler inlines anyway,
 * and it builds.
 */
#define MPR_GCC_ATTR(a)			__attribute__((a))
#ifdef __always_inline
#define MPR_ALWAYS_INLINE		__always_inline
#else
#define MPR_ALWAYS_INLINE		inline
#endif
#define MPR_SLOW_PATH			MPR_GCC_ATTR(__noinline__)
#define MPR_OWN_FRAME			MPR_GCC_ATTR(__noinline__)

static inline __u64 mpr_cmpxchg(__u64 *p, __u64 old, __u64 new)
{
	__atomic_compare_exchange_n(p, &old, new, 0, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
	return old;
}

static inline __u64 mpr_xchg(__u64 *p, __u64 new)
{
	return __atomic_exchange_n(p, new, __ATOMIC_SEQ_CST);
}

/* See the kernel's definition above; this tells ThreadSanitizer. */
#ifdef __SANITIZE_THREAD__
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
#define MPR_READ_SPECULATIVE(x) (__extension__ ({			\
	__typeof__(+(x)) mpr_v_;					\
	AnnotateIgnoreReadsBegin(__FILE__, __LINE__);			\
	mpr_v_ = __atomic_load_n(&(x), __ATOMIC_RELAXED);		\
	AnnotateIgnoreReadsEnd(__FILE__, __LINE__);			\
	mpr_v_; }))
#else
#define MPR_READ_SPECULATIVE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#endif
#endif

/*
 * Adds to a shared 64-bit counter: one atomic add (wait-free where the CPU
 * has one), usable in NMI context.
 */
#ifdef __KERNEL__
static __always_inline void mpr_atomic_add(__u64 *p, __u64 v)
{
	/* atomic64_t is one naturally aligned 64-bit counter. */
	atomic64_add(v, (atomic64_t *)p);
}
#else
static inline void mpr_atomic_add(__u64 *p, __u64 v)
{
	__atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}
#endif

#endif /* MPMCRING_ATOMIC_H */
