/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * libmpmcring internals: the handle types and the entry points the host
 * harness, the fuzzer and the tests use to run the library over plain memory.
 */
#ifndef MPMCRING_LIB_INTERNAL_H
#define MPMCRING_LIB_INTERNAL_H

#include <stdbool.h>
#include "mpmcring.h"
#include "mpmcring_proto.h"

struct mpmcring {
	int fd; /* -1 for a ring over plain memory */
	bool rdonly;
	struct mpmcring_layout layout;
	void *cons_map;
	void *ro_map;
	bool mapped; /* cons_map/ro_map are ours to munmap */
	struct mpr_view v;
	unsigned int mem_slots; /* slots handed out (plain-memory rings) */
};

struct mpmcring_consumer {
	struct mpmcring *r;
	struct mpmcring_slot *slot;
	unsigned int idx;
	/* The three flags the entry points test first, side by side. */
	bool holding; /* the slot holds a claim */
	bool pending; /* [pend_cur, pend_end) claimed, not delivered */
	/* fn of mpmcring_consume() runs: read, read_batch, commit and consume
	 * on this consumer would take or release records under it. */
	bool in_consume;
	/* Held records went to the caller by read or read_batch: only the
	 * caller may commit them, mpmcring_consume() must not. */
	bool handed_out;
	__u64 claim_start; /* where it begins: our copy, the slot's is shared */
	uint64_t held_records;
	uint64_t held_bytes;
	__u64 gen; /* claim generation: bumped by each commit, ends batches */
	__u64 pend_cur, pend_end;
	struct mpmcring_lost lost;
	__u64 prod_seen;       /* a prod_pos loaded before (see mpr_claim_one()) */
	uint64_t seen_dropped; /* loss totals at the last look */
	uint64_t seen_overwritten;
	bool lost_records; /* MPMCRING_CONSUMER_LOST_RECORDS */
	/* consume's last call only committed a claim fn had stopped at the
	 * end of (it returned 0 with records perhaps ready: the poller goes
	 * on with the ring). */
	bool stop_committed;
	/* Freed from inside consume's fn: ended (claim released, slot
	 * detached); consume frees the memory when fn returns. */
	bool ended;
	/* A poller's (mpmcring_poller_add()): only the poller frees it. */
	bool poller_owned;
	/* Where the poller keeps it: cleared when consume frees it ended. */
	struct mpmcring_consumer **owner_slot;
	/* mpmcring_consume()'s frame while it runs: a free from a deeper
	 * frame is inside fn; from one at or above it, after a longjmp out
	 * (mpr_consumer_free()). */
	const void *consume_frame;
};

/*
 * The entry points whose frames tell a call from inside a callback from
 * one after a longjmp out of it (mpr_consumer_free()): each must keep a
 * frame of its own, never inlined into its caller or cloned for a
 * callback (GCC's noipa; clang neither clones nor has it).
 */
#if defined(__GNUC__) && !defined(__clang__)
#define MPR_ENTRY_FRAME __attribute__((noinline, noipa))
#else
#define MPR_ENTRY_FRAME __attribute__((noinline))
#endif

#define MPR_STR2(x) #x
#define MPR_STR(x) MPR_STR2(x)
#define MPMCRING_VERSION_STRING         \
	MPR_STR(MPMCRING_VERSION_MAJOR) \
	"." MPR_STR(MPMCRING_VERSION_MINOR) "." MPR_STR(MPMCRING_VERSION_PATCH)

/* Sets the calling thread's error message; returns -err. */
int mpr_lib_error(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * The same with a constant message: no formatting, one thread-local store,
 * for the failures of the fast path that every idle loop sees (-EAGAIN).
 */
int mpr_lib_fail(int err, const char *msg);
#define MPR_MSG_EMPTY \
	"no record is ready: wait (mpmcring_wait(), or poll on mpmcring_fd()) and claim again"

/* Fills a record the caller sees; the reserved fields are 0. */
static inline void mpr_lib_fill_record(struct mpmcring_record *rec, const void *data,
				       const struct mpr_rec *r, __u64 pos)
{
	*rec = (struct mpmcring_record){
		.data = data, .len = r->len, .prio = r->prio, .flags = r->flags, .pos = pos
	};
}

/*
 * Checks an options struct: 0, or -EINVAL (errno, message) when its sz is
 * too small or it sets bytes past the known size (a newer caller's fields).
 */
int mpr_lib_opts_check(const void *opts, size_t known, const char *what);
/* 0, or -EINVAL (errno, message) when an options struct's reserved is set. */
int mpr_lib_opts_reserved(unsigned int reserved, const char *what);

/* Checks a layout for the sanity the library's own safety relies on. */
int mpr_lib_check_layout(const struct mpmcring_layout *l);
/* The longest mapping this process can make (SIZE_MAX; tests lower it). */
extern uint64_t mpr_lib_max_mapping;
/* Records one ring gives per poller pass (poll.c); tests lower it. */
extern unsigned int mpr_lib_poll_ring_max;
/* -EBUSY retries per ring per poller pass (poll.c); tests lower it. */
extern unsigned int mpr_lib_poll_busy_tries;

/* Releases every record the consumer holds, delivered or not (what
 * mpmcring_commit() refuses after a stopped consume; the consumer's end). */
int mpr_lib_commit(struct mpmcring_consumer *c);
/* The consumer's end: commits what it delivered and leaves what a stopped
 * consume did not deliver to be counted as abandoned (consume.c). */
void mpr_lib_end(struct mpmcring_consumer *c);
/* The first committed record past the shared head (consume.c). */
int mpr_lib_look(const struct mpr_view *v, struct mpmcring_record *rec);
/* mpmcring_consumer_free() without the refusal of a poller's consumer;
 * here: the frame of the public function called (open.c). Whether the
 * memory went (false: its consume frees it when the callback returns). */
bool mpr_consumer_free(struct mpmcring_consumer *c, const void *here);

/* Hands the losses not yet reported to fn as one MPMCRING_REC_LOST record;
 * returns fn's value (0 when there were none). */
int mpr_lib_lost_record(struct mpmcring_consumer *c, mpmcring_record_fn fn, void *ctx);
/* 0 when lost->sz is one mpmcring_take_lost() takes, else -EINVAL, the
 * message naming call. */
int mpr_lib_lost_size_check(const struct mpmcring_lost *lost, const char *call);

/* A ring over memory the caller owns (tests, fuzzer, host harness). */
struct mpmcring *mpmcring__open_memory(void *cons, void *ro, const struct mpmcring_layout *l);

#endif /* MPMCRING_LIB_INTERNAL_H */
