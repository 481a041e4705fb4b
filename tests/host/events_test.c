// SPDX-License-Identifier: GPL-2.0-only
/*
 * The event decoder (userspace/lib/events.c) on well-formed, truncated,
 * forged and hostile records. Records are copied into buffers of exactly
 * their length, so that under ASan any read past a record is a crash.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpmcring_events.h"
#include "tap.h"

/* An event as the module writes it: fixed part, then the string. */
static size_t build(void *buf, unsigned int type, const char *str)
{
	static const size_t fixed[] = {
		[MPMCRING_EV_EXEC] = sizeof(struct mpmcring_ev_exec),
		[MPMCRING_EV_FORK] = sizeof(struct mpmcring_ev_fork),
		[MPMCRING_EV_EXIT] = sizeof(struct mpmcring_ev_exit),
		[MPMCRING_EV_OPEN] = sizeof(struct mpmcring_ev_open),
		[MPMCRING_EV_CONNECT] = sizeof(struct mpmcring_ev_connect),
		[MPMCRING_EV_EXECVE] = sizeof(struct mpmcring_ev_execve),
		[MPMCRING_EV_SYSCALL] = sizeof(struct mpmcring_ev_syscall),
	};
	struct mpmcring_ev_hdr *h = buf;
	struct mpmcring_ev_str *s = NULL;
	size_t size = fixed[type], n = str ? strlen(str) : 0;

	memset(buf, 0, 512);
	if (type == MPMCRING_EV_EXEC)
		s = &((struct mpmcring_ev_exec *)buf)->filename;
	else if (type == MPMCRING_EV_OPEN)
		s = &((struct mpmcring_ev_open *)buf)->path;
	else if (type == MPMCRING_EV_EXECVE)
		s = &((struct mpmcring_ev_execve *)buf)->filename;
	if (s) {
		s->off = (uint16_t)size;
		s->len = (uint16_t)n;
		memcpy((char *)buf + size, str, n + 1);
		size += n + 1;
	}
	h->magic = MPMCRING_EV_MAGIC;
	h->type = (uint16_t)type;
	h->size = (uint16_t)size;
	h->version = MPMCRING_EV_VERSION;
	h->pid = 4242;
	h->tgid = 4240;
	h->uid = 1000;
	h->ts_ns = 123456789012ULL;
	memcpy(h->comm, "sh", 3);
	return size;
}

/* Decodes len bytes from an exact-size heap copy (ASan sees over-reads). */
static int decode_exact(const void *bytes, size_t len, uint8_t rec_flags, struct mpmcring_event *ev,
			char **keep)
{
	struct mpmcring_record rec = { .len = (uint32_t)len, .flags = rec_flags };
	char *copy = malloc(len ? len : 1);
	int ret;

	memcpy(copy, bytes, len);
	rec.data = copy;
	ret = mpmcring_event_decode(&rec, ev);
	if (keep)
		*keep = copy; /* ev->str points into it */
	else
		free(copy);
	return ret;
}

static void test_each_type_decodes(struct tap *t)
{
	unsigned char buf[512];
	struct mpmcring_event ev;
	unsigned int type;
	char *keep;

	for (type = 1; type < MPMCRING_EV_NR_TYPES; type++) {
		const char *str = type == MPMCRING_EV_EXEC || type == MPMCRING_EV_EXECVE ? "/bin/ls"
				  : type == MPMCRING_EV_OPEN ? "/etc/passwd"
							     : NULL;
		size_t len = build(buf, type, str);

		CHECK_EQ(t, 0, decode_exact(buf, len, 0, &ev, &keep));
		CHECK_EQ(t, type, ev.hdr.type);
		CHECK_EQ(t, 4242, ev.hdr.pid);
		CHECK_EQ(t, 4240, ev.hdr.tgid);
		CHECK_EQ(t, 1000, ev.hdr.uid);
		CHECK(t, !strcmp(ev.comm, "sh"), "comm '%s'", ev.comm);
		CHECK(t, mpmcring_event_type_name(type) != NULL, "type %u has no name", type);
		if (str) {
			CHECK_EQ(t, strlen(str), ev.str_len);
			CHECK(t, !strcmp(ev.str, str), "string '%s'", ev.str);
		} else {
			CHECK_EQ(t, 0, ev.str_len);
			CHECK(t, ev.str && !*ev.str, "no string must read as \"\"");
		}
		free(keep);
	}
	CHECK(t, mpmcring_event_type_name(0) == NULL, "type 0");
	CHECK(t, mpmcring_event_type_name(MPMCRING_EV_NR_TYPES) == NULL, "type past the end");
}

static void test_fields_copied(struct tap *t)
{
	unsigned char buf[512];
	struct mpmcring_ev_connect *c = (void *)buf;
	struct mpmcring_event ev;
	size_t len = build(buf, MPMCRING_EV_CONNECT, NULL);

	c->ret = -111;
	c->fd = 7;
	c->family = 2;
	c->port = 8080;
	memcpy(c->addr, "\x7f\0\0\x01", 4);
	CHECK_EQ(t, 0, decode_exact(buf, len, 0, &ev, NULL));
	CHECK_EQ(t, -111, ev.connect.ret);
	CHECK_EQ(t, 7, ev.connect.fd);
	CHECK_EQ(t, 8080, ev.connect.port);
	CHECK(t, !memcmp(ev.connect.addr, "\x7f\0\0\x01", 4), "address");
}

static void test_from_user_never_decoded(struct tap *t)
{
	unsigned char buf[512];
	struct mpmcring_event ev;
	size_t len = build(buf, MPMCRING_EV_EXEC, "/bin/ls");

	CHECK_EQ(t, -EPERM, decode_exact(buf, len, MPMCRING_REC_FROM_USER, &ev, NULL));
	CHECK_EQ(t, 0, ev.hdr.type);
	/* decode_bytes is for bytes the caller vouches for. */
	CHECK_EQ(t, 0, mpmcring_event_decode_bytes(buf, len, &ev));
}

static void test_not_events(struct tap *t)
{
	unsigned char buf[512];
	struct mpmcring_event ev;
	size_t len = build(buf, MPMCRING_EV_FORK, NULL);

	CHECK_EQ(t, -ENOMSG, decode_exact("hello", 5, 0, &ev, NULL));
	CHECK_EQ(t, -ENOMSG, decode_exact(buf, 0, 0, &ev, NULL));
	CHECK_EQ(t, -ENOMSG, decode_exact(buf, sizeof(struct mpmcring_ev_hdr) - 1, 0, &ev, NULL));
	buf[0] ^= 1;
	CHECK_EQ(t, -ENOMSG, decode_exact(buf, len, 0, &ev, NULL));
	CHECK_EQ(t, -ENOMSG, mpmcring_event_decode_bytes(NULL, 100, &ev));
}

/* Every prefix of every event type fails; none reads past its end. */
static void test_every_truncation_fails(struct tap *t)
{
	unsigned char buf[512];
	struct mpmcring_event ev;
	unsigned int type;
	size_t len, cut;

	for (type = 1; type < MPMCRING_EV_NR_TYPES; type++) {
		len = build(buf, type, "/some/path");
		for (cut = 0; cut < len; cut++) {
			int ret = decode_exact(buf, cut, 0, &ev, NULL);

			CHECK(t, ret == -ENOMSG || ret == -EPROTO, "type %u cut at %zu of %zu: %d",
			      type, cut, len, ret);
		}
	}
}

static void test_malformed(struct tap *t)
{
	unsigned char buf[512];
	struct mpmcring_ev_open *o = (void *)buf;
	struct mpmcring_event ev;
	size_t len;

	len = build(buf, MPMCRING_EV_OPEN, "/x");
	o->hdr.size = (uint16_t)(len + 1); /* longer than the record */
	CHECK_EQ(t, -EPROTO, decode_exact(buf, len, 0, &ev, NULL));

	len = build(buf, MPMCRING_EV_OPEN, "/x");
	o->hdr.size = sizeof(*o) - 8; /* shorter than its fixed part */
	CHECK_EQ(t, -EPROTO, decode_exact(buf, len, 0, &ev, NULL));

	len = build(buf, MPMCRING_EV_OPEN, "/x");
	o->path.len = 2 + 1; /* NUL would sit past the event */
	CHECK_EQ(t, -EPROTO, decode_exact(buf, len, 0, &ev, NULL));

	len = build(buf, MPMCRING_EV_OPEN, "/x");
	o->path.off = 8; /* inside the fixed part */
	CHECK_EQ(t, -EPROTO, decode_exact(buf, len, 0, &ev, NULL));

	len = build(buf, MPMCRING_EV_OPEN, "/x");
	o->path.off = 0xffff;
	o->path.len = 0xffff; /* 16-bit sums must not wrap */
	CHECK_EQ(t, -EPROTO, decode_exact(buf, len, 0, &ev, NULL));

	len = build(buf, MPMCRING_EV_OPEN, "/xy");
	o->path.len = 2; /* byte at off + len is 'y', not NUL */
	CHECK_EQ(t, -EPROTO, decode_exact(buf, len, 0, &ev, NULL));

	len = build(buf, MPMCRING_EV_OPEN, "/x");
	o->hdr.type = MPMCRING_EV_NR_TYPES;
	CHECK_EQ(t, -EPROTO, decode_exact(buf, len, 0, &ev, NULL));
	o->hdr.type = 0;
	CHECK_EQ(t, -EPROTO, decode_exact(buf, len, 0, &ev, NULL));

	len = build(buf, MPMCRING_EV_OPEN, "/x");
	o->hdr.version = 0;
	CHECK_EQ(t, -EPROTO, decode_exact(buf, len, 0, &ev, NULL));
}

/* A newer version appends fields: the tail is ignored, the rest decodes. */
static void test_longer_event_and_record(struct tap *t)
{
	unsigned char buf[512];
	struct mpmcring_event ev;
	struct mpmcring_ev_hdr *h = (void *)buf;
	size_t len = build(buf, MPMCRING_EV_EXIT, NULL);

	h->size = (uint16_t)(len + 16);
	h->version = 2;
	CHECK_EQ(t, 0, decode_exact(buf, len + 16, 0, &ev, NULL));
	/* Padding after the event inside the record (a perf sample's). */
	h->size = (uint16_t)len;
	CHECK_EQ(t, 0, decode_exact(buf, len + 40, 0, &ev, NULL));
	CHECK_EQ(t, MPMCRING_EV_EXIT, ev.hdr.type);
}

/* Any alignment: the fixed part is copied, never read in place. */
static void test_misaligned(struct tap *t)
{
	unsigned char buf[512], *odd = malloc(600);
	struct mpmcring_event ev;
	size_t len = build(buf, MPMCRING_EV_EXECVE, "/bin/true");

	memcpy(odd + 3, buf, len);
	CHECK_EQ(t, 0, mpmcring_event_decode_bytes(odd + 3, len, &ev));
	CHECK(t, !strcmp(ev.str, "/bin/true"), "string '%s'", ev.str);
	free(odd);
}

/* A 16-byte comm without NUL comes out terminated. */
static void test_comm_terminated(struct tap *t)
{
	unsigned char buf[512];
	struct mpmcring_ev_hdr *h = (void *)buf;
	struct mpmcring_event ev;
	size_t len = build(buf, MPMCRING_EV_FORK, NULL);

	memset(h->comm, 'A', sizeof(h->comm));
	CHECK_EQ(t, 0, decode_exact(buf, len, 0, &ev, NULL));
	CHECK_EQ(t, 16, strlen(ev.comm));
}

int main(void)
{
	static const struct tap_test tests[] = {
		TAP_TEST(test_each_type_decodes),	TAP_TEST(test_fields_copied),
		TAP_TEST(test_from_user_never_decoded), TAP_TEST(test_not_events),
		TAP_TEST(test_every_truncation_fails),	TAP_TEST(test_malformed),
		TAP_TEST(test_longer_event_and_record), TAP_TEST(test_misaligned),
		TAP_TEST(test_comm_terminated),
	};

	return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
