/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mpmcring kernel API: what other kernel code (producers, subsystems that
 * own rings) includes. Every function here is exported with
 * EXPORT_SYMBOL_GPL and documented where it is defined.
 */
#ifndef _MPMCRING_KAPI_H
#define _MPMCRING_KAPI_H

#include <linux/types.h>
#include <linux/mpmcring.h>

struct mpmcring;

/* mpmcring_params.flags: use the watermarks given, not the defaults. */
#define MPMCRING_CREATE_WATERMARKS	0x1
/* mpmcring_params.flags: use @user_max_prio (else %MPMCRING_PRIO_NORMAL). */
#define MPMCRING_CREATE_USER_PRIO	0x2
/* mpmcring_params.flags: claims never expire (@claim_timeout_ms ignored). */
#define MPMCRING_CREATE_NO_LEASE	0x4

/**
 * struct mpmcring_params - how to create a ring
 * @name: ring name, 1-31 characters of [a-zA-Z0-9_.-]; the device node is
 *	/dev/mpmcring-<name>
 * @size: data bytes, a power of two from 4 KiB to 1 GiB
 * @granule: record alignment in bytes (8, 16, 32 or 64; 0 means 8); the
 *	stamp array takes 8 bytes per granule of data
 * @mode: %MPMCRING_MODE_DROP_NEWEST or %MPMCRING_MODE_OVERWRITE
 * @max_consumers: consumer slots, 1-1022 (0 means 62)
 * @flags: %MPMCRING_CREATE_WATERMARKS to use @watermark
 * @watermark: per priority class, the free bytes a reservation must leave
 *	(drop-newest mode); without %MPMCRING_CREATE_WATERMARKS the classes
 *	get 1/2, 1/8 and 0 of @size
 * @initial_pos: position the ring starts at, granule-aligned; lets tests
 *	start next to 2^64 and prove every comparison is wrap-safe
 * @dev_mode: permissions of the device node (0 means 0600); a udev rule
 *	may set others (the packaged one sets every ring's)
 * @claim_timeout_ms: a consumer claim that stands still this long is
 *	revoked, so a stopped consumer cannot stop collection (0 means 5000;
 *	at most an hour; %MPMCRING_CREATE_NO_LEASE turns revocation off)
 * @user_max_prio: highest class userspace may write(2) with, with
 *	%MPMCRING_CREATE_USER_PRIO (otherwise %MPMCRING_PRIO_NORMAL, so that
 *	userspace cannot take the critical reserve from kernel producers)
 * @max_per_file: consumer slots one open file may hold, read(2)'s
 *	included (0 means 16)
 * @chunk_bytes: chunked reservation (docs/scaling.md), for rings that many
 *	CPUs write at once: each CPU's producers take this many bytes of the
 *	ring with one atomic step on the shared position, per interrupt
 *	level, and fill them with their records (0: one step per record).
 *	Capped at a quarter of @size over every possible CPU's four levels,
 *	at a record's largest size and at a quarter of what the lowest
 *	class may fill (@size less its watermark: chunks open only within
 *	it); granule-aligned; refused when a cap leaves less than four
 *	records of the granule. Records are then in
 *	order per CPU and interrupt level, not across CPUs (a task that
 *	migrates between two records can find them out of order), and a
 *	record can wait to be claimable behind another CPU's chunk until
 *	that CPU fills it, the housekeeping tick closes it
 *	(MPMCRING_TICK_MS while files are open; destroy closes all) or a
 *	producer refused for room does; not with %MPMCRING_MODE_OVERWRITE
 */
struct mpmcring_params {
	const char *name;
	u64 size;
	u32 granule;
	u32 mode;
	u32 max_consumers;
	u32 flags;
	u64 watermark[MPMCRING_NR_PRIO];
	u64 initial_pos;
	umode_t dev_mode;
	u32 claim_timeout_ms;
	u32 user_max_prio;
	u32 max_per_file;
	u32 chunk_bytes;
};

/**
 * struct mpmcring_rsv - a reservation, filled by mpmcring_reserve()
 * @data: where to write the payload, @len bytes, contiguous
 * @len: payload bytes
 * @level: the reserving context's interrupt level, kept on kernels with
 *	CONFIG_DEBUG_PREEMPT to check that the commit comes from it (private)
 * @ring: the ring (private)
 * @pos: position of the record (private)
 */
struct mpmcring_rsv {
	void *data;
	u32 len;
	u8 level;
	struct mpmcring *ring;
	u64 pos;
};

/* Most records one mpmcring_reserve_batch() call reserves. */
#define MPMCRING_BATCH_MAX	64

/* Flags for reservations: the priority class sits in the low two bits. */
#define MPMCRING_F_PRIO_MASK	0x3
#define MPMCRING_F_PRIO(p)	((p) & MPMCRING_F_PRIO_MASK)

struct mpmcring *mpmcring_create(const struct mpmcring_params *params);
void mpmcring_destroy(struct mpmcring *ring);
struct mpmcring *mpmcring_get_default(void);
struct mpmcring *mpmcring_get_by_name(const char *name);
void mpmcring_put(struct mpmcring *ring);

int mpmcring_reserve(struct mpmcring *ring, u32 len, u32 flags,
		     struct mpmcring_rsv *rsv);
int mpmcring_reserve_batch(struct mpmcring *ring, const u32 *lens,
			   unsigned int n, u32 flags, struct mpmcring_rsv *rsv);
void mpmcring_commit(struct mpmcring_rsv *rsv);
void mpmcring_discard(struct mpmcring_rsv *rsv);
int mpmcring_output(struct mpmcring *ring, const void *data, u32 len,
		    u32 flags);
int mpmcring_admit(struct mpmcring *ring, u32 len, u32 flags);
void mpmcring_get_stats(struct mpmcring *ring, struct mpmcring_stats *stats);
const struct mpmcring_layout *mpmcring_layout(struct mpmcring *ring);

#endif /* _MPMCRING_KAPI_H */
