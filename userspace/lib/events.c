// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Decoding of kernel event records (<linux/mpmcring_events.h>). The bytes
 * may come from anyone who can write to the ring, so nothing in them is
 * believed before it is checked against the record's length: the fixed part
 * is copied out only once the record holds it, a string only once its
 * offset, length and terminating NUL lie inside the event.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "internal.h"
#include "mpmcring_events.h"

/* Bytes of each type's fixed part (header included); 0: no such type. */
static const uint16_t ev_fixed_size[MPMCRING_EV_NR_TYPES] = {
	[MPMCRING_EV_EXEC] = sizeof(struct mpmcring_ev_exec),
	[MPMCRING_EV_FORK] = sizeof(struct mpmcring_ev_fork),
	[MPMCRING_EV_EXIT] = sizeof(struct mpmcring_ev_exit),
	[MPMCRING_EV_OPEN] = sizeof(struct mpmcring_ev_open),
	[MPMCRING_EV_CONNECT] = sizeof(struct mpmcring_ev_connect),
	[MPMCRING_EV_EXECVE] = sizeof(struct mpmcring_ev_execve),
	[MPMCRING_EV_SYSCALL] = sizeof(struct mpmcring_ev_syscall),
};

static const char *const ev_names[MPMCRING_EV_NR_TYPES] = {
	[MPMCRING_EV_EXEC] = "exec",	   [MPMCRING_EV_FORK] = "fork",
	[MPMCRING_EV_EXIT] = "exit",	   [MPMCRING_EV_OPEN] = "open",
	[MPMCRING_EV_CONNECT] = "connect", [MPMCRING_EV_EXECVE] = "execve",
	[MPMCRING_EV_SYSCALL] = "syscall",
};

/* The union of fixed parts comes first: decoding copies into it. */
_Static_assert(offsetof(struct mpmcring_event, hdr) == 0, "union first");
_Static_assert(sizeof(struct mpmcring_ev_hdr) == 48, "uapi: header of 48 bytes");
/* The uapi layout, as the module checks it: no padding that differs
 * between ABIs (i386 aligns 64-bit integers to 4). */
_Static_assert(sizeof(struct mpmcring_ev_exec) == 56, "uapi: exec event");
_Static_assert(sizeof(struct mpmcring_ev_fork) == 56, "uapi: fork event");
_Static_assert(sizeof(struct mpmcring_ev_exit) == 56, "uapi: exit event");
_Static_assert(sizeof(struct mpmcring_ev_open) == 80, "uapi: open event");
_Static_assert(sizeof(struct mpmcring_ev_connect) == 88, "uapi: connect event");
_Static_assert(sizeof(struct mpmcring_ev_execve) == 72, "uapi: execve event");
_Static_assert(sizeof(struct mpmcring_ev_syscall) == 64, "uapi: syscall event");
_Static_assert(offsetof(struct mpmcring_ev_hdr, ts_ns) == 16, "uapi: header time");
_Static_assert(offsetof(struct mpmcring_ev_open, ret) == 48, "uapi: open ret");
_Static_assert(offsetof(struct mpmcring_ev_connect, addr) == 72, "uapi: connect addr");

const char *mpmcring_event_type_name(unsigned int type)
{
	return type < MPMCRING_EV_NR_TYPES ? ev_names[type] : NULL;
}

/* The string descriptor of the types that carry one, else NULL. */
static const struct mpmcring_ev_str *ev_string(const struct mpmcring_event *ev)
{
	switch (ev->hdr.type) {
	case MPMCRING_EV_EXEC:
		return &ev->exec.filename;
	case MPMCRING_EV_OPEN:
		return &ev->open.path;
	case MPMCRING_EV_EXECVE:
		return &ev->execve.filename;
	default:
		return NULL;
	}
}

int mpmcring_event_decode_bytes(const void *data, size_t len, struct mpmcring_event *ev)
{
	const unsigned char *p = data;
	const struct mpmcring_ev_str *s;
	struct mpmcring_ev_hdr h;
	size_t fixed, end;

	memset(ev, 0, sizeof(*ev));
	ev->str = "";
	if (!data || len < sizeof(h))
		return -ENOMSG;
	memcpy(&h, p, sizeof(h));
	if (h.magic != MPMCRING_EV_MAGIC)
		return -ENOMSG;
	if (h.version < 1)
		return mpr_lib_error(EPROTO, "event version %u: no such version", h.version);
	fixed = h.type < MPMCRING_EV_NR_TYPES ? ev_fixed_size[h.type] : 0;
	if (!fixed)
		return mpr_lib_error(EPROTO, "event type %u: not a type this library knows",
				     h.type);
	if (h.size > len)
		return mpr_lib_error(EPROTO, "%s event of %u bytes in a record of %zu",
				     ev_names[h.type], h.size, len);
	if (h.size < fixed)
		return mpr_lib_error(EPROTO, "%s event of %u bytes: its fixed part takes %zu",
				     ev_names[h.type], h.size, fixed);
	/* The fixed part is in the record: copy it, then check its string.
	 * The header is the copy checked above, not a second read of the
	 * record: a revoked record can be rewritten by the kernel while it is
	 * decoded, and a type or size read twice could disagree with the
	 * checks (a type without a name, a string of another type). */
	memcpy(ev, p, fixed);
	ev->hdr = h;
	s = ev_string(ev);
	if (s) {
		end = (size_t)s->off + s->len; /* both 16-bit: no overflow */
		if (s->off < fixed || end >= h.size)
			return mpr_lib_error(EPROTO,
					     "%s event: string at %u+%u outside the event's %zu-%u",
					     ev_names[h.type], s->off, s->len, fixed, h.size);
		if (p[end])
			return mpr_lib_error(EPROTO, "%s event: string at %u+%u not terminated",
					     ev_names[h.type], s->off, s->len);
		ev->str = (const char *)p + s->off;
		ev->str_len = s->len;
	}
	memcpy(ev->comm, h.comm, sizeof(h.comm));
	ev->comm[sizeof(h.comm)] = 0;
	return 0;
}

int mpmcring_event_decode(const struct mpmcring_record *rec, struct mpmcring_event *ev)
{
	if (rec->flags & MPMCRING_REC_FROM_USER) {
		memset(ev, 0, sizeof(*ev));
		ev->str = "";
		return mpr_lib_error(EPERM, "a record written by userspace: not a kernel event");
	}
	return mpmcring_event_decode_bytes(rec->data, rec->len, ev);
}
