/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * libmpmcring: decoding the kernel events mpmcring_events.ko writes (the
 * layout is in <linux/mpmcring_events.h>), so that consumers need not parse
 * bytes by hand.
 *
 *   struct mpmcring_event ev;
 *   while (mpmcring_batch_next(&b, &rec)) {
 *           if (mpmcring_event_decode(&rec, &ev) == 0 && ev.hdr.type == MPMCRING_EV_EXEC)
 *                   printf("%u ran %.*s\n", ev.hdr.pid, (int)ev.str_len, ev.str);
 *   }
 *
 * Every length and offset is checked against the record's length: a record
 * of any content decodes to an error, never to an out-of-bounds read. The
 * fixed fields are copied out (any alignment is fine); the string stays in
 * the record (str: valid until the consumer commits, like the record).
 */
#ifndef MPMCRING_EVENTS_LIB_H
#define MPMCRING_EVENTS_LIB_H

#include <stddef.h>
#include <stdint.h>
#include <linux/mpmcring_events.h>

#include "mpmcring.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A decoded event. */
struct mpmcring_event {
	/* The event's fixed part, copied: hdr is every type's header; the
	 * member named after hdr.type holds the rest. Fields a (newer, longer)
	 * event has beyond these are ignored. */
	union {
		struct mpmcring_ev_hdr hdr;
		struct mpmcring_ev_exec exec;
		struct mpmcring_ev_fork fork;
		struct mpmcring_ev_exit exit;
		struct mpmcring_ev_open open;
		struct mpmcring_ev_connect connect;
		struct mpmcring_ev_execve execve;
		struct mpmcring_ev_syscall syscall;
	};
	/* exec and execve: the file name; open: the path; others: "".
	 * In the record: NUL-terminated at str[str_len] when decoded, but
	 * read it by str_len: a record whose claim was revoked may be
	 * rewritten while it is held, NUL included (the commit then says
	 * -ESTALE), and strlen() could run off the record. */
	const char *str;
	uint32_t str_len;
	/* hdr.comm, always NUL-terminated. */
	char comm[MPMCRING_EV_COMM_LEN + 1];
};

/*
 * Decodes a record read from a ring. Returns 0; -ENOMSG when the record is
 * not an event (no event magic, too short for a header); -EPERM when it was
 * written by userspace through write(2) (MPMCRING_REC_FROM_USER): it may
 * imitate any event, so it is not decoded; -EPROTO when it claims to be an
 * event but a length, offset, type or version is wrong (mpmcring_errmsg()
 * says which).
 */
int mpmcring_event_decode(const struct mpmcring_record *rec, struct mpmcring_event *ev);

/*
 * The same for event bytes that did not come through a ring record (from a
 * BPF ring buffer, a file): the caller vouches for where they came from.
 */
int mpmcring_event_decode_bytes(const void *data, size_t len, struct mpmcring_event *ev);

/* "exec", "fork", "exit", "open", "connect", "execve", "syscall"; NULL for
 * a type this library does not know. */
const char *mpmcring_event_type_name(unsigned int type);

#ifdef __cplusplus
}
#endif
#endif /* MPMCRING_EVENTS_LIB_H */
