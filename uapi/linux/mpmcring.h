/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mpmcring: shared multi-producer multi-consumer rings of variable-length
 * records, produced in the kernel and consumed zero-copy from userspace.
 *
 * This header is the whole ABI between the module and its users: the layout
 * of the shared memory, the record framing, the mmap offsets and the ioctls.
 * docs/protocol.md describes the protocol that runs over it.
 *
 * Positions are 64-bit byte counters that only grow. A position p lives at
 * byte (p & (data_size - 1)) of the data area. Every comparison of positions
 * is a wrap-safe subtraction (b - a as __u64), never a comparison of offsets.
 */
#ifndef _UAPI_LINUX_MPMCRING_H
#define _UAPI_LINUX_MPMCRING_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define MPMCRING_MAGIC		0x474e49524d43504dULL	/* "MPMCRING" */
#define MPMCRING_ABI_MAJOR	1	/* bumped on incompatible changes */
#define MPMCRING_ABI_MINOR	6	/* bumped on compatible additions */

/*
 * Features a ring may have; a consumer refuses a ring with unknown bits set,
 * because each one changes what a consumer must do. An addition a consumer
 * may ignore is not a feature (a bit old consumers would refuse): it comes
 * with an ABI minor, which tells a newer consumer whether the kernel
 * maintains it (ABI 1.3: mpmcring_meta.state).
 */
#define MPMCRING_FEAT_OVERWRITE	(1ULL << 0)	/* overwrite-oldest mode */
#define MPMCRING_FEAT_LEASE	(1ULL << 1)	/* claims can be revoked: check */
#define MPMCRING_FEAT_KNOWN	(MPMCRING_FEAT_OVERWRITE | MPMCRING_FEAT_LEASE)

/* Ring modes, chosen when the ring is created. */
#define MPMCRING_MODE_DROP_NEWEST	0	/* full: the new record is dropped */
#define MPMCRING_MODE_OVERWRITE		1	/* full: oldest unclaimed records go */

/*
 * Priority classes: in drop-newest mode, under pressure, lower classes are
 * refused first (each class has a watermark of free space it must leave).
 * Overwrite mode keeps the newest window of records whatever their class.
 */
#define MPMCRING_PRIO_LOW	0
#define MPMCRING_PRIO_NORMAL	1
#define MPMCRING_PRIO_CRITICAL	2
#define MPMCRING_NR_PRIO	3

/* Why a record was dropped (index into mpmcring_stats.dropped). */
#define MPMCRING_DROP_FULL		0	/* not enough free space */
#define MPMCRING_DROP_PRIORITY		1	/* free space under the class watermark */
#define MPMCRING_DROP_CONTENTION	2	/* lost races, or the reclaim bit taken */
/*
 * Longer than max_record, or than a BPF kfunc's own bound: 4 KiB for
 * mpmcring_bpf_reserve(), 64 KiB (MPMCRING_WRITE_MAX) for
 * mpmcring_bpf_output() and mpmcring_bpf_admit().
 */
#define MPMCRING_DROP_TOO_BIG		3
#define MPMCRING_NR_DROP		4

/* Cache line size the layout pads hot fields to. */
#define MPMCRING_CACHELINE	64

/*
 * Framing. Records start at granule-aligned positions (granule = 1 <<
 * granule_shift, at least 8). Each record starts with this header, followed
 * by len payload bytes, padded to the granule:
 *   size = (MPMCRING_HDR_SIZE + len + granule - 1) & ~(granule - 1)
 */
struct mpmcring_rec_hdr {
	__u32 len;	/* payload bytes */
	__u8 prio;	/* MPMCRING_PRIO_* the producer gave */
	__u8 flags;	/* MPMCRING_REC_* */
	__u16 reserved;
};
#define MPMCRING_HDR_SIZE	8
#define MPMCRING_REC_FROM_USER	0x01	/* written through write(2) */

/*
 * write(2) copies a record into the ring with preemption off, so one call
 * carries at most this many payload bytes (all its records together).
 */
#define MPMCRING_WRITE_MAX	(64U << 10)
/* Records (segments) one writev(2) carries at most, all or nothing. */
#define MPMCRING_WRITEV_MAX	64

/*
 * Stamps. Which positions hold a finished record is told by the stamp array,
 * one __u64 per granule, which only the kernel writes and no payload reaches:
 * the stamp of the granule of position p equals (p | MPMCRING_STAMP_COMMITTED)
 * once the record starting at p is committed, (p | MPMCRING_STAMP_DISCARDED)
 * once it is discarded. Any other value means "no finished record starts at
 * p": not written yet, or a stamp left over from an earlier lap (it carries a
 * different full 64-bit position, so it can never match). Payload bytes cannot
 * forge a record because consumers never look for framing in the data area
 * before the stamp says a header is there.
 */
#define MPMCRING_STAMP_COMMITTED	1ULL
#define MPMCRING_STAMP_DISCARDED	2ULL
#define MPMCRING_STAMP_STATE_MASK	7ULL

/*
 * Consumer slots. Each attached consumer owns one slot in the consumer area.
 * start holds the position of the oldest record it has claimed and not yet
 * committed, or any odd value (MPMCRING_SLOT_IDLE) when it holds nothing.
 * Producers never reuse space at or after a held start, unless the claim is
 * revoked (MPMCRING_FEAT_LEASE): then the kernel sets MPMCRING_SLOT_REVOKED
 * in start with one compare-and-swap, before it frees any of that space. A
 * consumer commits with an atomic exchange of start to MPMCRING_SLOT_IDLE
 * and learns from the old value whether its claim was revoked; one word
 * decides it, so the kernel counts a revocation exactly when the consumer
 * sees it. The other fields are informational, written by the library:
 * the kernel uses held_records only to count what a consumer lost, capped
 * by the granules its claimed span can hold.
 */
#define MPMCRING_SLOT_IDLE	1ULL
#define MPMCRING_SLOT_REVOKED	2ULL
struct mpmcring_slot {
	__u64 start;		/* oldest held claim, or odd when idle */
	__u64 held_records;	/* records claimed since the last commit */
	__u64 consumed_records;	/* records this consumer has committed */
	__u64 consumed_bytes;	/* their payload bytes */
	__u64 reserved[4];
};

/*
 * Consumer area: the only memory userspace may write. Mapped read-write at
 * MPMCRING_OFF_CONS, cons_size bytes.
 */
struct mpmcring_cons_area {
	/*
	 * Claim position: consumers (and overwriting producers) move it with
	 * compare-and-swap over finished records.
	 */
	__u64 head;
	__u64 pad0[7];
	/*
	 * Loss reporting: each drop or overwrite is handed to exactly one
	 * consumer, which moves *_taken up to the totals in the meta page.
	 */
	__u64 lost_dropped_taken;
	__u64 lost_overwritten_taken;
	__u64 pad1[6];
	struct mpmcring_slot slots[];	/* max_consumers of them */
};
#define MPMCRING_CONS_HDR_SIZE	128

/*
 * Layout: identity and geometry of a ring, fixed at creation. Returned by
 * MPMCRING_IOC_INFO and found at the start of the meta page.
 */
struct mpmcring_layout {
	__u64 magic;		/* MPMCRING_MAGIC */
	__u16 abi_major;	/* MPMCRING_ABI_MAJOR */
	__u16 abi_minor;
	__u32 layout_size;	/* sizeof(struct mpmcring_layout) of the kernel */
	__u64 features;		/* MPMCRING_FEAT_* */
	__u64 data_size;	/* bytes, a power of two */
	__u32 granule_shift;	/* record alignment is 1 << granule_shift */
	__u32 max_record;	/* largest payload, bytes */
	__u32 max_consumers;	/* slots in the consumer area */
	__u32 mode;		/* MPMCRING_MODE_* */
	__u64 cons_size;	/* bytes to map at MPMCRING_OFF_CONS */
	__u64 ro_size;		/* bytes to map at MPMCRING_OFF_RO */
	__u64 stamps_offset;	/* stamp array, inside the read-only mapping */
	__u64 data_offset;	/* data, inside it, mapped twice back to back */
	__u64 watermark[4];	/* per class: free bytes that must remain */
	char name[32];		/* ring name, NUL-terminated */
	/* ABI 1.1: */
	__u64 slot_info_offset;	/* struct mpmcring_slot_info[max_consumers],
				 * inside the read-only mapping
				 */
	__u32 claim_timeout_ms;	/* a claim unmoved this long is revoked
				 * (MPMCRING_FEAT_LEASE; 0: never)
				 */
	__u32 user_max_prio;	/* highest class write(2) may use */
	__u32 max_per_file;	/* consumer slots one open file may hold */
	/* ABI 1.2: */
	__u32 id;		/* the ring's number for BPF producers (the
				 * mpmcring_bpf_* kfuncs): never 0, handed out
				 * cyclically, so a gone ring's id is not soon
				 * reused
				 */
	__u64 reserved[5];
};

/*
 * Per-slot state the kernel keeps where consumers can read it but not write
 * it (read-only mapping, at layout.slot_info_offset): who attached the slot
 * and what the kernel revoked there.
 *
 * With MPMCRING_FEAT_LEASE, a claim whose start has not moved for
 * claim_timeout_ms while it holds producers back (more than half the ring
 * lies behind it, or a producer was refused for room, or a writer waits
 * for room, since reclaim last moved) is revoked:
 * reclaim stops honouring it and producers may overwrite the records it
 * covers. The consumer finds MPMCRING_SLOT_REVOKED in its slot's start (see
 * struct mpmcring_slot): at commit, or earlier by loading its start after
 * an acquire fence ("validate"); either way after reading the records and
 * before trusting what it read. Set means the records may have been
 * overwritten while it read them. The library's commit returns -ESTALE.
 * revoked here is the start of the last revoked claim (MPMCRING_SLOT_IDLE:
 * none since attach), for the record.
 */
struct mpmcring_slot_info {
	__u64 revoked;		/* start of the last revoked claim */
	__u64 revocations;	/* claims revoked since attach */
	__u32 pid;		/* thread group that attached it (initial pid namespace),
				 * a number a later process may have taken since
				 * (MPMCRING_IOC_CONSUMERS says who); 0: free
				 */
	__u32 flags;		/* MPMCRING_SLOTF_* */
	__u64 reserved;
};
#define MPMCRING_SLOTF_ATTACHED	0x1	/* in use */
#define MPMCRING_SLOTF_READ	0x2	/* used by read(2): claims held in the
					 * kernel, the consumer-area slot unused
					 */

/*
 * Meta page: first page of the read-only mapping at MPMCRING_OFF_RO, then
 * the slot info pages, the stamps and the data. The kernel writes them;
 * userspace can only read them.
 */
struct mpmcring_meta {
	struct mpmcring_layout layout;
	__u8 pad0[512 - sizeof(struct mpmcring_layout)];
	/* Reservation position: producers move it with compare-and-swap. */
	__u64 prod_pos;
	__u64 pad1[7];
	/* Everything before reclaim_pos is free space; never decreases. */
	__u64 reclaim_pos;
	/* ABI 1.5 (MPMCRING_ABI_MINOR_ROOM_AT): */
	__u64 room_at;		/* where a writer that waited wants
				 * reclaim_pos: see MPMCRING_IOC_ROOM
				 */
	__u64 pad2[6];
	/* Totals of records lost since creation, for exactly-once reporting. */
	__u64 lost_dropped;
	__u64 lost_overwritten;
	/* ABI 1.3: */
	__u64 state;		/* MPMCRING_STATE_* */
	__u64 pad3[5];
};

/*
 * Ring states (mpmcring_meta.state, ABI 1.3; a module of an older ABI
 * leaves the word 0 and tells a destroyed ring only through POLLHUP: a
 * consumer checks layout.abi_minor against MPMCRING_ABI_MINOR_STATE, below,
 * before it trusts a 0 here).
 *
 * MPMCRING_STATE_DEAD: the ring was destroyed. The kernel sets it with a
 * store-release once every write(2) and BPF commit has landed, before poll
 * reports POLLHUP. (A kernel module producing into a ring it did not
 * create must stop before its owner destroys it: what it commits after
 * that is not seen by a consumer that already saw the end.) A consumer that load-acquires the
 * word, finds DEAD, and then finds no finished record at the head has seen
 * the end: "dead, then empty", in that order (an empty look before the
 * load proves nothing). Nothing about the ring's memory changes: files and
 * mappings stay valid until closed, and the records still there are
 * consumed as before.
 */
#define MPMCRING_STATE_DEAD	(1ULL << 0)

/*
 * The first ABI minor (of MPMCRING_ABI_MAJOR 1) whose module keeps
 * mpmcring_meta.state. A consumer compares layout.abi_minor with this, not
 * with MPMCRING_ABI_MINOR (the newest minor it was built with, which a
 * later header raises): at or above it, a 0 in the word means the ring
 * lives; below it, the word is padding, always 0, and the end comes only
 * through poll's POLLHUP (or read(2)'s end of file).
 *
 * The rule for such names: an addition gets one only when nothing else
 * tells a consumer that the kernel maintains it. The additions of ABI 1.1
 * and 1.2 are fields of struct mpmcring_layout, which a consumer finds
 * present from layout_size (fields past it read as zeros);
 * the meta page's state word took padding that an older kernel also maps,
 * so only the minor can tell (as for the statistics' room_wakeups, ABI
 * 1.4: reserved words an older kernel copies out as zeros).
 */
#define MPMCRING_ABI_MINOR_STATE	3

/*
 * The first ABI minor whose module counts mpmcring_stats.room_wakeups. The
 * field took reserved space that an older module also copies out (as 0),
 * so only the minor tells a 0 there ("no writer was woken") from "not
 * counted".
 */
#define MPMCRING_ABI_MINOR_ROOM_WAKEUPS	4

/*
 * The first ABI minor whose module keeps mpmcring_meta.room_at and knows
 * MPMCRING_IOC_ROOM. An older module leaves the word 0 (padding), which
 * asks nothing: a consumer needs no check of the minor.
 */
#define MPMCRING_ABI_MINOR_ROOM_AT	5

/*
 * The first ABI minor whose module reports chunked reservation in its
 * statistics: mpmcring_stats.chunk_bytes and .chunk_filler_bytes took
 * reserved words that an older module copies out as 0, which would read
 * as "no chunks" on a ring that has them.
 */
#define MPMCRING_ABI_MINOR_CHUNKS	6

/* mmap offsets. */
#define MPMCRING_OFF_CONS	0x0ULL		/* consumer area, RW (or RO) */
#define MPMCRING_OFF_RO		0x100000000ULL	/* meta, stamps, data: RO */

/* Ring statistics, summed over CPUs. */
struct mpmcring_stats {
	__u64 produced_records;		/* committed by producers */
	__u64 produced_bytes;		/* their payload bytes */
	__u64 discarded_records;	/* reserved, then discarded */
	__u64 dropped[MPMCRING_NR_DROP][MPMCRING_NR_PRIO];	/* by reason, class */
	__u64 overwritten_records;	/* evicted unclaimed (overwrite mode) */
	__u64 overwritten_bytes;
	/*
	 * Left the ring through a claim: produced - overwritten - in ring,
	 * 0 where counts moving between the sums make that negative; too
	 * high by what the walk did not count when IN_RING_PARTIAL is set.
	 */
	__u64 consumed_records;
	__u64 in_ring_records;		/* committed, not yet claimed */
	__u64 in_ring_bytes;
	__u64 wakeups;			/* wakeups sent to sleeping consumers */
	__u64 consumers;		/* slots attached now */
	__u64 abandoned_claims;		/* consumers that exited holding records */
	__u64 abandoned_records;	/* records those consumers held */
	__u64 head_repairs;		/* corrupt claim positions reset */
	__u64 prod_pos;
	__u64 head;
	__u64 reclaim_pos;
	/* ABI 1.1: */
	__u64 revoked_claims;		/* claims revoked for standing still */
	__u64 revoked_records;		/* records those claims held */
	__u64 read_faults;		/* records read(2) consumed but could
					 * not hand over: EFAULT (the buffer),
					 * or ENOMEM (no memory to copy the
					 * record aside); that read(2) fails
					 * with the errno and the record is
					 * gone, counted here
					 */
	__u64 flags;			/* MPMCRING_STATS_* */
	/* ABI 1.4 (MPMCRING_ABI_MINOR_ROOM_WAKEUPS): */
	__u64 room_wakeups;		/* room wakeups sent by the
					 * housekeeping tick, or by a
					 * commit while writers waited
					 * (read(2), MPMCRING_IOC_ROOM,
					 * DETACH, a file's release), or
					 * a writer that found room on its
					 * own look: one per call
					 * that found a class a writer
					 * polled full (POLLOUT) with room
					 * again; it may find no sleeper,
					 * or wake several writers
					 */
	/* ABI 1.6 (MPMCRING_ABI_MINOR_CHUNKS): */
	__u64 chunk_bytes;		/* the size of the chunk each CPU
					 * and interrupt level reserves at
					 * once (chunked reservation), 0
					 * when each record is reserved
					 * alone
					 */
	__u64 chunk_filler_bytes;	/* ring space the chunks' unfilled
					 * rests took, headers included:
					 * closed as fillers, no record's,
					 * claimed and freed with the
					 * records around them
					 */
	__u64 reserved[1];
};
/*
 * in_ring_records/bytes come from a walk of the records waiting at the head,
 * stepping over open chunks' unfilled rests, which stops after
 * MPMCRING_STATS_WALK records: then they are lower bounds and this flag is
 * set (also when the module had no memory to find the open chunks and
 * stopped at one).
 */
#define MPMCRING_STATS_IN_RING_PARTIAL	0x1
#define MPMCRING_STATS_WALK		(1U << 16)

/* One attached consumer, as MPMCRING_IOC_CONSUMERS reports it. */
struct mpmcring_consumer_info {
	__u32 slot;
	__u32 pid;		/* thread group that attached it, as the caller's pid
				 * namespace sees it; 0: not visible there, or gone
				 */
	__u32 flags;		/* MPMCRING_SLOTF_* */
	__u32 pad;
	__u64 start;		/* held claim start, or MPMCRING_SLOT_IDLE;
				 * MPMCRING_SLOT_REVOKED set: revoked
				 */
	__u64 held_records;	/* as the consumer reports it */
	__u64 claim_age_ms;	/* how long start has stood still, as the
				 * kernel saw it (0: idle or just moved)
				 */
	__u64 revocations;
};

/* Argument of MPMCRING_IOC_CONSUMERS. */
struct mpmcring_consumers {
	__u32 max;		/* entries the array holds */
	__u32 count;		/* out: entries filled (attached slots, <= max) */
	__u64 info;		/* pointer to struct mpmcring_consumer_info[max] */
};

/*
 * ioctls: setup and statistics only. Unknown commands fail with ENOTTY.
 * Files opened read-only observe: ATTACH, DETACH, REPAIR, ROOM, SET_PRIO and
 * read(2) fail with EPERM there; INFO, STATS, CONSUMERS, SET_WATERMARK and poll work.
 * Files opened write-only write: ATTACH, DETACH, REPAIR and ROOM fail with
 * EPERM there (a consumer maps the ring, which takes a read-write file).
 *
 * Growing structs. struct mpmcring_layout and struct mpmcring_stats only
 * ever grow at the end, and INFO and STATS take the caller's size from the
 * command number (_IOC_SIZE): the kernel matches them on direction, type and
 * number, copies the first min(caller's size, its own) bytes, and zeroes any
 * bytes the caller asked for beyond its own struct. A library built against
 * an older header keeps working on a newer kernel (it gets the fields it
 * knows), a newer one on an older kernel reads zeros past the kernel's
 * layout_size. A size below the first published one (*_SIZE_VER0, ABI 1.0)
 * fails with EINVAL.
 */
#define MPMCRING_LAYOUT_SIZE_VER0	144	/* up to name[] */
#define MPMCRING_STATS_SIZE_VER0	224	/* up to reclaim_pos */
#define MPMCRING_IOC_TYPE	'R'
/* Copy the ring's layout. */
#define MPMCRING_IOC_INFO	_IOR(MPMCRING_IOC_TYPE, 0xa0, struct mpmcring_layout)
/*
 * Attach a consumer slot to this open file; returns its index. EUSERS: every
 * slot of the ring is taken; EDQUOT: this file has max_per_file of them
 * (the one its read(2) uses included).
 */
#define MPMCRING_IOC_ATTACH	_IOR(MPMCRING_IOC_TYPE, 0xa1, __u32)
/* Detach a slot this file attached. */
#define MPMCRING_IOC_DETACH	_IOW(MPMCRING_IOC_TYPE, 0xa2, __u32)
/* Read the statistics. */
#define MPMCRING_IOC_STATS	_IOR(MPMCRING_IOC_TYPE, 0xa3, struct mpmcring_stats)
/*
 * poll/read wake this file once a finished record waits at the head and
 * the watermark is reserved past it (0: any record), or the ring refused a
 * record for room while the head stood where it is (a watermark its
 * records cannot reach never keeps the file asleep). The watermark is the
 * value rounded down to a power of two; at most data_size / 2 (EINVAL).
 * Files that wait with EPOLLEXCLUSIVE on one ring must share a watermark:
 * an exclusive wakeup goes to one of them, whether or not it is ready.
 * io_uring's and aio's polls keep the watermark too, until any file that
 * reads queues an exclusive waiter asking for neither POLLIN nor
 * POLLRDNORM (EPOLLEXCLUSIVE for POLLOUT on a read-write file, say): from
 * then on, for the ring's life, such a poll may complete as soon as any
 * reader file's watermark is reached (the wakeups carry POLLIN, which
 * they post without asking the file).
 */
#define MPMCRING_IOC_SET_WATERMARK _IOW(MPMCRING_IOC_TYPE, 0xa4, __u64)
/* Priority class of records this file writes with write(2): at most
 * layout.user_max_prio (EPERM above it).
 */
#define MPMCRING_IOC_SET_PRIO	_IOW(MPMCRING_IOC_TYPE, 0xa5, __u32)
/* List the attached consumers (struct mpmcring_consumers). */
#define MPMCRING_IOC_CONSUMERS	_IOWR(MPMCRING_IOC_TYPE, 0xa6, struct mpmcring_consumers)
/*
 * Ask the kernel to check the claim position now: one that cannot be a
 * record boundary is moved to one (counted in head_repairs). For consumers
 * that met -EBADMSG; bounded work, needs a read-write file.
 */
#define MPMCRING_IOC_REPAIR	_IO(MPMCRING_IOC_TYPE, 0xa7)
/*
 * Tell the kernel that a commit may have freed room a writer waits for
 * (ABI 1.5): it reclaims and wakes the writers whose class has room now.
 * Consumers commit with a plain store, which the kernel does not see; a
 * writer that finds no room (write(2), a poller for POLLOUT) puts in
 * mpmcring_meta.room_at the reclaim_pos at which its record would fit,
 * unless an earlier target stands there that reclaim has not reached.
 * The word is never cleared (0: no writer ever waited): a target
 * reclaim_pos has passed asks nothing. A consumer that has just committed
 * a claim beginning before room_at, with the head at or past room_at,
 * calls this: its commit may be the last one holding the room back. So
 * does a consumer whose claim moved the head over discarded records only,
 * from before room_at to at or past it, releasing its announce with
 * nothing to commit (it holds that room as a commit would). The load of
 * room_at must come after the commit's exchange (or that announce's
 * release) in a single total order (both sequentially consistent, or a
 * full fence between): the kernel stores room_at, then issues a full
 * barrier, then reclaims, so either the writer's reclaim sees the commit
 * or the consumer sees room_at. Best effort: the housekeeping tick wakes
 * writers all the same (every 100 ms). Bounded work, needs a read-write
 * file; returns 0.
 */
#define MPMCRING_IOC_ROOM	_IO(MPMCRING_IOC_TYPE, 0xa8)

#endif /* _UAPI_LINUX_MPMCRING_H */
