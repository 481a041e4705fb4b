/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * Self-checking test records: what the load generator, the KUnit suites and
 * the host harness produce, and what every test consumer verifies byte for
 * byte. A record carries its producer, a per-producer sequence number and a
 * checksum over filler bytes derived from both, so a torn, stale, duplicated
 * or misframed record is caught wherever it lands.
 */
#ifndef MPMCRING_TESTREC_H
#define MPMCRING_TESTREC_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#endif

#define MPR_TESTREC_MAGIC	0x7e57a3c1u

/* Where a record was produced. */
enum {
	MPR_CTX_TASK = 0,
	MPR_CTX_SOFTIRQ,
	MPR_CTX_HARDIRQ,
	MPR_CTX_NMI,
	MPR_CTX_USER,
	MPR_NR_CTX
};

struct mpr_testrec {
	__u32 magic;
	__u16 producer;
	__u8 ctx;
	__u8 prio;
	__u64 seq;
	__u32 len;	/* whole payload, this header included */
	__u32 csum;	/* over the filler that follows */
};

#define MPR_TESTREC_MIN	((__u32)sizeof(struct mpr_testrec))

static inline __u32 mpr_testrec_mix(__u32 x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

/*
 * The load generator's payload length of record seq of producer, in
 * [len_min, len_max]: a function of both, so that a consumer can tell
 * what the load generator wrote without reading it (tests/vm/write.c).
 */
static inline __u32 mpr_testrec_len(__u16 producer, __u64 seq, __u32 len_min,
				    __u32 len_max)
{
	return len_min + mpr_testrec_mix((__u32)seq ^ ((__u32)producer << 24)) %
			 (len_max - len_min + 1);
}

static inline __u8 mpr_testrec_byte(__u16 producer, __u64 seq, __u32 i)
{
	return (__u8)mpr_testrec_mix((__u32)seq * 2654435761u ^
				     ((__u32)producer << 20) ^ i);
}

/* Fills buf (len >= MPR_TESTREC_MIN bytes) with record seq of producer. */
static inline void mpr_testrec_fill(void *buf, __u32 len, __u16 producer,
				    __u8 ctx, __u8 prio, __u64 seq)
{
	struct mpr_testrec *r = (struct mpr_testrec *)buf;
	unsigned char *fill = (unsigned char *)buf + sizeof(*r);
	__u32 i, sum = 0x12345678u;

	for (i = 0; i < len - sizeof(*r); i++) {
		fill[i] = mpr_testrec_byte(producer, seq, i);
		sum = (sum ^ fill[i]) * 16777619u;
	}
	r->magic = MPR_TESTREC_MAGIC;
	r->producer = producer;
	r->ctx = ctx;
	r->prio = prio;
	r->seq = seq;
	r->len = len;
	r->csum = sum;
}

/*
 * Checks a record of len bytes: header, length and every filler byte.
 * Returns 0, or a small positive code saying what is wrong.
 */
static inline int mpr_testrec_check(const void *buf, __u32 len)
{
	const struct mpr_testrec *r = (const struct mpr_testrec *)buf;
	const unsigned char *fill = (const unsigned char *)buf + sizeof(*r);
	__u32 i, sum = 0x12345678u;

	if (len < sizeof(*r))
		return 1;
	if (r->magic != MPR_TESTREC_MAGIC)
		return 2;
	if (r->len != len)
		return 3;
	for (i = 0; i < len - sizeof(*r); i++) {
		if (fill[i] != mpr_testrec_byte(r->producer, r->seq, i))
			return 4;
		sum = (sum ^ fill[i]) * 16777619u;
	}
	if (sum != r->csum)
		return 5;
	return 0;
}

#endif /* MPMCRING_TESTREC_H */
