/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * libmpmcring: consume mpmcring rings zero-copy, from many threads and
 * processes at once.
 *
 *   struct mpmcring *r = mpmcring_open(NULL, 0);         // /dev/mpmcring
 *   struct mpmcring_consumer *c = mpmcring_consumer_new(r);
 *   struct mpmcring_record rec;
 *   while (mpmcring_read(c, &rec) == 0) {
 *           use(rec.data, rec.len);   // in place, valid until commit
 *           if (mpmcring_commit(c))   // one store, no system call (*)
 *                   undo_use();       // -ESTALE: held too long, revoked
 *   }
 *
 * (*) But for one ioctl when a userspace writer waits for the room the
 * commit frees: see mpmcring_commit(). A read that moves past discarded
 * records only (nothing to commit) makes the same ioctl in the commit's
 * place, on the same condition.
 *
 * Every record goes to exactly one consumer. A consumer is used by one
 * thread at a time; give each thread its own. Functions returning int give
 * 0 or a count on success and a negative errno on failure, and set errno to
 * that errno too; functions returning a pointer give NULL and set errno.
 * mpmcring_errmsg() says more about the last failure of the calling thread.
 *
 * Empty and busy: a claim returns -EAGAIN when no record is ready (then
 * wait: mpmcring_wait() or poll on mpmcring_fd()) and -EBUSY when records
 * are ready but other consumers won the race for them every time it tried,
 * or it passed a long run of discarded records (more than 256 rounds of
 * 1024) before any (then call again at once: waiting would sleep while
 * records are ready).
 *
 * Extensible calls take an options struct whose first field, sz, is its
 * size as the caller was compiled (MPMCRING_OPTS()): a newer library reads
 * only the fields the caller knows, an older one refuses non-zero fields it
 * does not know (-EINVAL). NULL options mean the defaults. No options
 * struct has padding: where the compiler would pad, a field named reserved
 * stands, which must be 0 (-EINVAL), so a newer caller's field placed there
 * (inside this version's sizeof, where sz cannot tell) is refused, never
 * silently ignored. MPMCRING_OPTS() leaves it 0.
 */
#ifndef MPMCRING_LIB_H
#define MPMCRING_LIB_H

#include <stddef.h>
#include <stdint.h>
#include <linux/mpmcring.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MPMCRING_DEFAULT_PATH "/dev/mpmcring"

/* The library this header belongs to; mpmcring_version() is the one loaded. */
#define MPMCRING_VERSION_MAJOR 2
#define MPMCRING_VERSION_MINOR 0
#define MPMCRING_VERSION_PATCH 0
#define MPMCRING_VERSION_CODE(major, minor, patch) ((major) << 16 | (minor) << 8 | (patch))

/* Options struct of this header's size, the named fields set, the rest 0. */
#define MPMCRING_OPTS(type, ...) ((struct type){ .sz = sizeof(struct type), __VA_ARGS__ })

/* A ring mapped into this process (shared by its consumers). */
struct mpmcring;
/* One consumer: a slot in the ring and the records it holds. */
struct mpmcring_consumer;

/*
 * A record, read in place. data stays valid until the consumer commits.
 * The caller allocates it and the library fills it on the fast path, so it
 * has no sz: it has a fixed size with room (reserved, reserved2) where later
 * versions put fields. This library writes them 0; a later field is defined
 * so that 0 means "not known" (what an older library leaves).
 */
struct mpmcring_record {
	const void *data;
	uint32_t len;
	uint8_t prio;  /* MPMCRING_PRIO_* */
	uint8_t flags; /* MPMCRING_REC_* */
	uint16_t reserved;
	uint64_t pos; /* where it starts in the ring: grows with every record
		       * (ring order), unique among records of one ring */
	uint64_t reserved2[3];
};

/*
 * Set in mpmcring_record.flags by the library, never by a ring: not a record
 * of the ring but a loss report (MPMCRING_CONSUMER_LOST_RECORDS); data
 * points to a struct mpmcring_lost, len (and its sz) is its size: a field
 * past len is not there (an older library).
 */
#define MPMCRING_REC_LOST 0x80

/*
 * Records claimed together; step through them with mpmcring_batch_next().
 * A batch ends at the consumer's commit: mpmcring_batch_next() gives no
 * record after it. Fixed size with room for later fields, as a record.
 */
struct mpmcring_batch {
	uint32_t records; /* committed records in the batch */
	uint32_t reserved;
	uint64_t bytes; /* their payload bytes */
	uint64_t reserved2[2];
	/* private */
	struct mpmcring_consumer *c;
	__u64 cur, end, gen;
	uint64_t priv[4];
};

/*
 * Records lost since a consumer last asked (each loss told to one consumer).
 * Grows like an options struct: sz first, set by the caller
 * (MPMCRING_OPTS(mpmcring_lost)); the library fills only the fields that
 * both it and the caller know, and never writes past sz.
 */
struct mpmcring_lost {
	size_t sz;	      /* sizeof(struct mpmcring_lost) */
	uint64_t dropped;     /* refused by the ring: full, priority, ... */
	uint64_t overwritten; /* evicted unread (overwrite mode) */
	uint64_t revoked;     /* this consumer's own: held past the claim
			       * timeout (its commit returned -ESTALE) or
			       * revoked while claimed (a claim returned it) */
};

/* Open flags. */
#define MPMCRING_OPEN_RDONLY 0x1 /* monitor: map read-only, no consumers */

struct mpmcring *mpmcring_open(const char *path, int flags);

struct mpmcring_open_opts {
	size_t sz;	       /* sizeof(struct mpmcring_open_opts) */
	unsigned int flags;    /* MPMCRING_OPEN_* */
	unsigned int reserved; /* 0 (a later field's place: -EINVAL if set) */
	uint64_t watermark;    /* as mpmcring_set_watermark(), at open (0: any record) */
};
/* mpmcring_open() with options; NULL opts: mpmcring_open(path, 0). */
struct mpmcring *mpmcring_open_opts(const char *path, const struct mpmcring_open_opts *opts);
void mpmcring_close(struct mpmcring *r);
int mpmcring_fd(const struct mpmcring *r);
const struct mpmcring_layout *mpmcring_get_layout(const struct mpmcring *r);

struct mpmcring_consumer *mpmcring_consumer_new(struct mpmcring *r);

/* Consumer flags. LOST_RECORDS: mpmcring_consume() and pollers hand losses
 * to the callback as MPMCRING_REC_LOST records. */
#define MPMCRING_CONSUMER_LOST_RECORDS 0x1
struct mpmcring_consumer_opts {
	size_t sz;	       /* sizeof(struct mpmcring_consumer_opts) */
	unsigned int flags;    /* MPMCRING_CONSUMER_* */
	unsigned int reserved; /* 0 (a later field's place: -EINVAL if set) */
};
/* mpmcring_consumer_new() with options; NULL opts: the defaults. */
struct mpmcring_consumer *mpmcring_consumer_new_opts(struct mpmcring *r,
						     const struct mpmcring_consumer_opts *opts);
/* Commits what the consumer delivered, gives its slot back, frees it. It is
 * the consumer's end: records a stopped mpmcring_consume() claimed and did
 * not deliver are let go unread, as if the consumer had died holding them:
 * other consumers never get them. They are not counted in the consumer's
 * own slot (struct mpmcring_slot's consumed_records); in the ring's
 * statistics (mpmcring_get_stats()) they are among consumed_records, which
 * counts every record that left the ring through a claim, and
 * abandoned_records (abandoned_claims) says how many of those nobody read.
 * From inside mpmcring_consume()'s callback on c (on the thread running
 * it): c ends at once (the record fn holds is not valid any more), fn is
 * not called again, and consume frees c's memory when fn returns and
 * returns -ECANCELED, touching nothing of the ring. A poller's consumer is
 * refused (errno EINVAL; the poller frees it). */
void mpmcring_consumer_free(struct mpmcring_consumer *c);

/*
 * Claims one record (first the records a stopped mpmcring_consume() left
 * undelivered). Returns 0, -EAGAIN (none ready), -EBUSY (others won the
 * race: again at once), -EBADMSG (corrupt ring), -ESTALE (the consumer's
 * claim was revoked: commit, then claim again), -EINVAL (called from inside
 * mpmcring_consume()'s callback on the consumer it feeds).
 */
int mpmcring_read(struct mpmcring_consumer *c, struct mpmcring_record *rec);
/* Claims up to max_records records with one atomic step; the first record
 * is claimed whatever its size, the others only while the payload stays
 * within max_bytes. Returns the number of records; -EINVAL while records a
 * stopped mpmcring_consume() claimed are undelivered (take them first: a
 * new claim starts past them; with mpmcring_read() once the consumer also
 * holds records from read or read_batch) or from inside consume's callback;
 * -EAGAIN, -EBUSY, -EBADMSG, -ESTALE as mpmcring_read() (-ESTALE, not
 * -EINVAL, once the claim holding a stopped consume's records was
 * revoked: commit, then read again).
 */
int mpmcring_read_batch(struct mpmcring_consumer *c, struct mpmcring_batch *b,
			unsigned int max_records, size_t max_bytes);
/* Returns 1 and the next record of the batch, or 0 at its end (and after
 * the consumer's commit: the records are no longer its own). Never more
 * records than the batch's records, nor more payload bytes in all than its
 * bytes, whatever a revoked claim's space holds by then. */
int mpmcring_batch_next(struct mpmcring_batch *b, struct mpmcring_record *rec);
/*
 * Claims like mpmcring_read_batch() and fills recs[] with every record
 * claimed at once: the records of the claim without a call per record.
 * Returns the number of records, at most max_records (> 0), or an error as
 * mpmcring_read_batch() (-EINVAL while records a stopped mpmcring_consume()
 * claimed are undelivered, -ESTALE once their claim was revoked). They
 * stay valid until mpmcring_commit().
 */
int mpmcring_read_many(struct mpmcring_consumer *c, struct mpmcring_record *recs,
		       unsigned int max_records, size_t max_bytes);
/*
 * Releases every record the consumer holds: one store into shared memory,
 * and one ioctl (MPMCRING_IOC_ROOM) when a userspace writer waited for
 * room these records held back (the meta page's room_at says so): it
 * wakes the writer now rather than at the kernel's next tick, and its
 * errors change nothing (errno included). Kernel producers never wait.
 * Returns 0, or -ESTALE when the claim was revoked because the consumer
 * held it longer than the ring's claim timeout (layout.claim_timeout_ms):
 * the records may have been overwritten while it read them, so whatever it
 * did with them must be undone or thrown away. They count as lost
 * (mpmcring_take_lost(): revoked). Healthy consumers never see it.
 * -EINVAL, and nothing released, while records a stopped mpmcring_consume()
 * claimed are undelivered (a commit would release them unread: take them
 * with mpmcring_consume() or mpmcring_read() first; mpmcring_consumer_free()
 * lets them go, counted as abandoned; a revoked claim is committed all the same: -ESTALE, its
 * records all counted as revoked), and from inside consume's callback.
 */
int mpmcring_commit(struct mpmcring_consumer *c);
/*
 * Checks, without committing, that what the consumer read from the records
 * it holds was not revoked meanwhile: 0, or -ESTALE (as for commit). Read,
 * validate, then act on what you read.
 */
int mpmcring_validate(struct mpmcring_consumer *c);

/*
 * Reads up to max records, calls fn for each in ring order, then commits.
 * If fn returns a negative value, consumption stops there: that record
 * counts as consumed, the rest of the claim stays held (reclaim waits for
 * it: call again soon) and is delivered first by the next call (consume or
 * mpmcring_read(); mpmcring_commit() refuses meanwhile), and the return
 * value is fn's, as it is: it may equal a library errno (-EPIPE, -ESTALE),
 * so a program that must tell them apart keeps its own note of why fn
 * stopped; errno is -value and mpmcring_errmsg() says the callback returned
 * it. fn's 0 and positive values go on. fn must not call mpmcring_read(),
 * mpmcring_read_batch(), mpmcring_read_many(), mpmcring_commit() or
 * mpmcring_consume() on c: they would take or release records under
 * consume (-EINVAL).
 * mpmcring_consumer_free() on c from fn: see there (-ECANCELED). fn runs
 * about 2.3 KiB deeper in the stack than the call (consume keeps the first
 * 64 records of its claim there). fn must return: leaving it by longjmp
 * (or an exception through the library's frames) leaves the consumer
 * good only for mpmcring_consumer_free(): its calls that take or release
 * records (read, read_batch, read_many, commit, consume) return -EINVAL;
 * peek, validate and take_lost, which take nothing, still answer. Returns the
 * number of records consumed (0 when none was ready, or see below), or -ESTALE when the commit
 * found the claim revoked: what fn saw since consume last returned >= 0
 * must be thrown away (a call that fn stopped leaves its claim held, and
 * the call that finishes it answers for it too). The call after fn stopped
 * at its claim's last record only commits that claim, without calling fn:
 * 0 (what fn saw is confirmed; records may be ready: call again before
 * waiting) or -ESTALE; so no call holds more than one claim. With
 * MPMCRING_CONSUMER_LOST_RECORDS, losses not yet reported come first as
 * one MPMCRING_REC_LOST record (not counted in the return value).
 * -EINVAL while the consumer holds records from mpmcring_read(),
 * mpmcring_read_many() or mpmcring_read_batch(): commit them first (consume
 * commits all it holds); -ESTALE instead when that claim was revoked.
 */
typedef int (*mpmcring_record_fn)(void *ctx, const struct mpmcring_record *rec);
int mpmcring_consume(struct mpmcring_consumer *c, unsigned int max, mpmcring_record_fn fn,
		     void *ctx);

/* Looks at the next record without claiming it: first the records a
 * stopped mpmcring_consume() left undelivered, as mpmcring_read() (and,
 * as it does, -ESTALE once their claim is revoked: commit, then read
 * again). In overwrite mode or once another consumer claims it, its bytes
 * may change: copy, then check with mpmcring_read() which record you
 * really got. */
int mpmcring_peek(struct mpmcring_consumer *c, struct mpmcring_record *rec);
/*
 * Monitors read without consuming (read-only handles too): a cursor of the
 * caller's, from mpmcring_snoop_start() (the oldest unconsumed record).
 * mpmcring_snoop() copies the next record at or after *pos into buf (cap
 * bytes), fills rec (data = buf) and moves *pos past it: 0; -EAGAIN when
 * nothing new is finished; -ESTALE when the cursor fell behind and the
 * records it had not read were reused (*pos moves to the oldest left: call
 * again); -EMSGSIZE for a record longer than cap (rec->len says how long;
 * skipped); -EBADMSG for a corrupt ring. Consumers still get every record.
 */
uint64_t mpmcring_snoop_start(const struct mpmcring *r);
int mpmcring_snoop(const struct mpmcring *r, uint64_t *pos, void *buf, size_t cap,
		   struct mpmcring_record *rec);
/* Bytes reserved past the head (records finished or being written). */
uint64_t mpmcring_avail_bytes(const struct mpmcring *r);
/* Takes the losses not yet reported to any consumer: each drop or
 * overwrite is told to exactly one caller of this function. lost->sz must
 * be set (MPMCRING_OPTS(mpmcring_lost)): 0, or -EINVAL when it is smaller
 * than this version's first struct (then nothing is taken). */
int mpmcring_take_lost(struct mpmcring_consumer *c, struct mpmcring_lost *lost);

/* Sleeps until a record is ready (or the ring's watermark is reached):
 * 1 when ready, 0 on timeout (timeout_ms < 0 waits forever), -EINTR on a
 * signal, -EPIPE once the ring was destroyed and is empty (stop: it will
 * never have records again). It looks at the ring, not at a consumer:
 * records a stopped mpmcring_consume() left undelivered to one are not
 * "ready" here (take them first). Before waiting, drain: claim until a claim
 * returns -EAGAIN (mpmcring_consume() with no record limit does). This
 * matters for edge-triggered epoll and io_uring multishot on
 * mpmcring_fd(): a record committed while a claim walked past it wakes
 * nobody, and only the kernel's 100 ms tick would report it. */
int mpmcring_wait(struct mpmcring *r, int timeout_ms);
/* Wake this ring handle only once this many bytes are reserved past the
 * head (0: for any record). */
int mpmcring_set_watermark(struct mpmcring *r, uint64_t bytes);

/* Userspace producers (copying): one record per call, or one per iovec.
 * A record carries at least one byte: an empty one is refused (-EINVAL),
 * and nothing is written. */
struct iovec;
int mpmcring_write(struct mpmcring *r, const void *data, size_t len);
int mpmcring_writev(struct mpmcring *r, const struct iovec *iov, int n);
int mpmcring_set_prio(struct mpmcring *r, unsigned int prio);

int mpmcring_get_stats(struct mpmcring *r, struct mpmcring_stats *st);
/* Fills info with up to max attached consumers (slot, pid, records held,
 * how long the oldest claim has stood still); returns how many. */
int mpmcring_list_consumers(struct mpmcring *r, struct mpmcring_consumer_info *info,
			    unsigned int max);

/* What went wrong with the calling thread's last failed call. */
const char *mpmcring_errmsg(void);

/* The library loaded at run time: MPMCRING_VERSION_CODE() of it, and
 * "major.minor.patch". */
uint32_t mpmcring_version(void);
const char *mpmcring_version_string(void);

/*
 * A poller: several rings, one consumer in each, one epoll descriptor
 * (like libbpf's ring_buffer). mpmcring_poller_poll() sleeps until a ring
 * has records, then consumes from every ring that has, calling each ring's
 * fn (mpmcring_consume() rules: a negative return stops there, that record
 * consumed, and is what the poll returns, as it is: it may equal -EPIPE, so
 * tell the end by mpmcring_poller_ring_gone()). Rings stay the caller's:
 * close them after the poller is freed (or the ring removed). fn may call
 * mpmcring_poller_add() on its own poller (the ring is consumed from then
 * on, in this pass or the next); mpmcring_poller_poll(),
 * mpmcring_poller_consume() and mpmcring_poller_remove() on it return
 * -EINVAL there. mpmcring_poller_free() on it from fn: its consumers end
 * at once (records they hold are not valid any more), no callback runs
 * after this one, and when it returns the running poll or consume frees
 * the poller's memory and returns -ECANCELED. fn must return: after a longjmp out of
 * it only mpmcring_poller_free() is left.
 */
struct mpmcring_poller;
struct mpmcring_poller_opts {
	size_t sz;	       /* sizeof(struct mpmcring_poller_opts) */
	unsigned int batch;    /* records claimed at a time (0: 64) */
	unsigned int reserved; /* 0 (a later field's place: -EINVAL if set) */
};
struct mpmcring_poller *mpmcring_poller_new(const struct mpmcring_poller_opts *opts);
/* Attaches a consumer (with opts) to r; returns its index in the poller. */
int mpmcring_poller_add(struct mpmcring_poller *p, struct mpmcring *r, mpmcring_record_fn fn,
			void *ctx, const struct mpmcring_consumer_opts *opts);
/* Waits up to timeout_ms (< 0: forever) for records (a poller with no
 * ring added waits the same: the whole timeout, or until a signal,
 * -EINTR), then consumes what is ready in every ring,
 * up to 65536 records per ring whatever the batch; returns the records
 * consumed (0: timeout). -ESTALE: a ring's claim was revoked while fn read
 * its last batch (mpmcring_errmsg() names the ring): those records may
 * have been overwritten (one poller per ring tells which). A ring
 * destroyed and drained is dropped from the set; once all are (or were
 * removed), -EPIPE (as
 * mpmcring_wait(): stop, no record will ever come). A ring whose consume
 * fails does not stop the others: every ready ring is consumed, then the
 * first error comes back (errno, and mpmcring_errmsg() names the ring),
 * also when a later callback stops the pass. The
 * ring stays in the set, so the error comes back at each call until the
 * program mends it or takes it out (mpmcring_poller_remove()). */
int mpmcring_poller_poll(struct mpmcring_poller *p, int timeout_ms);
/* Consumes what is ready in every ring, without waiting; returns the
 * records consumed. When none was ready it looks for rings destroyed and
 * drained (the meta page's state word; an epoll call with zero timeout
 * for rings of modules older than ABI 1.3), drops them from the set, and
 * once all are
 * (or were removed), returns -EPIPE: a program that waits on mpmcring_poller_epoll_fd() in its
 * own loop and never calls mpmcring_poller_poll() sees the end too. A
 * ring's error: as mpmcring_poller_poll(). */
int mpmcring_poller_consume(struct mpmcring_poller *p);
/* The epoll descriptor: readable when a ring may have records (or was
 * destroyed: the next mpmcring_poller_consume() drops it). Not for the
 * records a stopped callback left claimed: after a callback's stop, call
 * mpmcring_poller_consume() again before waiting on it. */
int mpmcring_poller_epoll_fd(const struct mpmcring_poller *p);
/* The consumer the poller attached to ring idx (for mpmcring_take_lost());
 * NULL (EINVAL) for no such ring or one removed. */
struct mpmcring_consumer *mpmcring_poller_consumer(struct mpmcring_poller *p, unsigned int idx);
/* 1 once ring idx was destroyed and drained or removed (it left the set:
 * no record will come from it again), else 0; -EINVAL for no such ring. */
int mpmcring_poller_ring_gone(const struct mpmcring_poller *p, unsigned int idx);
/* Takes ring idx out of the poller (a ring whose consume keeps failing,
 * or one the program is done with), before the ring is closed: its
 * consumer is freed as mpmcring_consumer_free() (pointers to it dangle),
 * after its losses not yet reported go to *lost (lost->sz set; NULL: they
 * go unreported), a claim it still held counted as revoked if it was. The other rings keep their indexes; a later add may
 * reuse idx. -EINVAL for no such ring, one already removed, or from a
 * callback of this poller. */
int mpmcring_poller_remove(struct mpmcring_poller *p, unsigned int idx, struct mpmcring_lost *lost);
/* Frees the consumers and the poller (not the rings), each as
 * mpmcring_consumer_free(): what a callback that stopped left undelivered
 * is let go unread, counted as abandoned. A consumer the program is
 * consuming by hand (mpmcring_poller_consumer()) ends, and its consume
 * frees it on return; after a longjmp out of that consume's callback, it
 * is the program's to free (mpmcring_consumer_free()). */
void mpmcring_poller_free(struct mpmcring_poller *p);

#ifdef __cplusplus
}
#endif
#endif /* MPMCRING_LIB_H */
