// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel events (mpmcring_events.ko) as text lines and JSON objects, for
 * mpmcring cat. The events come decoded and checked by the library
 * (mpmcring_event_decode()); strings are printed with their length, never
 * trusted to stop at a NUL.
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "cli.h"

static const char *family_name(unsigned int family, char *buf, size_t len)
{
	if (family == AF_INET)
		return "inet";
	if (family == AF_INET6)
		return "inet6";
	if (family == AF_UNIX)
		return "unix";
	snprintf(buf, len, "%u", family);
	return buf;
}

/* The address of a connect event, or "" when its family has none we show. */
static const char *connect_addr(const struct mpmcring_ev_connect *c, char *buf, size_t len)
{
	int af = c->family == AF_INET6 ? AF_INET6 : AF_INET;

	if ((c->family != AF_INET && c->family != AF_INET6) || !inet_ntop(af, c->addr, buf, len))
		return "";
	return buf;
}

static const char *const flag_names[] = { "truncated", "fault", "compat",
					  "killed",    "x32",	"group_dead" };

void out_event_text(FILE *f, const struct mpmcring_event *ev)
{
	const struct mpmcring_ev_hdr *h = &ev->hdr;
	char buf[INET6_ADDRSTRLEN + 8];
	unsigned int i;

	fprintf(f, "%llu.%09llu cpu%u %s pid=%u tgid=%u uid=%u comm=",
		(unsigned long long)(h->ts_ns / 1000000000),
		(unsigned long long)(h->ts_ns % 1000000000), h->cpu,
		mpmcring_event_type_name(h->type), h->pid, h->tgid, h->uid);
	out_escaped_field(f, ev->comm, strlen(ev->comm));
	switch (h->type) {
	case MPMCRING_EV_EXEC:
		fputs(" filename=", f);
		out_escaped_field(f, ev->str, ev->str_len);
		fprintf(f, " old_pid=%u", ev->exec.old_pid);
		break;
	case MPMCRING_EV_FORK:
		fprintf(f, " child_pid=%u child_tgid=%u", ev->fork.child_pid, ev->fork.child_tgid);
		break;
	case MPMCRING_EV_EXIT:
		fprintf(f, " exit_code=%d", ev->exit.exit_code);
		break;
	case MPMCRING_EV_OPEN:
		fputs(" path=", f);
		out_escaped_field(f, ev->str, ev->str_len);
		fprintf(f, " flags=%#o mode=%#o dirfd=%d ret=%lld nr=%u", ev->open.flags,
			ev->open.mode, ev->open.dirfd, (long long)ev->open.ret, ev->open.nr);
		break;
	case MPMCRING_EV_CONNECT:
		fprintf(f, " fd=%d family=%s", ev->connect.fd,
			family_name(ev->connect.family, buf, sizeof(buf)));
		if (*connect_addr(&ev->connect, buf, sizeof(buf)))
			fprintf(f, " addr=%s port=%u", buf, ev->connect.port);
		fprintf(f, " ret=%lld nr=%u", (long long)ev->connect.ret, ev->connect.nr);
		break;
	case MPMCRING_EV_EXECVE:
		fputs(" filename=", f);
		out_escaped_field(f, ev->str, ev->str_len);
		fprintf(f, " dirfd=%d flags=%#x nr=%u", ev->execve.dirfd, ev->execve.flags,
			ev->execve.nr);
		break;
	case MPMCRING_EV_SYSCALL:
		/* Signed: a number no syscall has is negative (-2, not 4294967294). */
		fprintf(f, " nr=%d ret=%lld", (int32_t)ev->syscall.nr, (long long)ev->syscall.ret);
		break;
	}
	for (i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		if (h->flags & (1u << i))
			fprintf(f, " %s", flag_names[i]);
	fputc('\n', f);
}

void out_event_json(FILE *f, const struct mpmcring_event *ev, const struct mpmcring_record *rec)
{
	const struct mpmcring_ev_hdr *h = &ev->hdr;
	char buf[INET6_ADDRSTRLEN + 8];
	unsigned int i;

	fprintf(f,
		"{\"type\":\"%s\",\"pos\":%llu,\"ts\":%llu,\"cpu\":%u,\"pid\":%u,\"tgid\":%u,"
		"\"uid\":%u,\"prio\":\"%s\",\"comm\":",
		mpmcring_event_type_name(h->type), (unsigned long long)rec->pos,
		(unsigned long long)h->ts_ns, h->cpu, h->pid, h->tgid, h->uid,
		prio_name(rec->prio));
	out_json_bytes(f, ev->comm, strlen(ev->comm));
	switch (h->type) {
	case MPMCRING_EV_EXEC:
		fputs(",\"filename\":", f);
		out_json_bytes(f, ev->str, ev->str_len);
		fprintf(f, ",\"old_pid\":%u", ev->exec.old_pid);
		break;
	case MPMCRING_EV_FORK:
		fprintf(f, ",\"child_pid\":%u,\"child_tgid\":%u", ev->fork.child_pid,
			ev->fork.child_tgid);
		break;
	case MPMCRING_EV_EXIT:
		fprintf(f, ",\"exit_code\":%d", ev->exit.exit_code);
		break;
	case MPMCRING_EV_OPEN:
		fputs(",\"path\":", f);
		out_json_bytes(f, ev->str, ev->str_len);
		fprintf(f, ",\"flags\":%u,\"mode\":%u,\"dirfd\":%d,\"ret\":%lld,\"nr\":%u",
			ev->open.flags, ev->open.mode, ev->open.dirfd, (long long)ev->open.ret,
			ev->open.nr);
		break;
	case MPMCRING_EV_CONNECT:
		fprintf(f, ",\"fd\":%d,\"family\":\"%s\"", ev->connect.fd,
			family_name(ev->connect.family, buf, sizeof(buf)));
		if (*connect_addr(&ev->connect, buf, sizeof(buf)))
			fprintf(f, ",\"addr\":\"%s\",\"port\":%u", buf, ev->connect.port);
		fprintf(f, ",\"ret\":%lld,\"nr\":%u", (long long)ev->connect.ret, ev->connect.nr);
		break;
	case MPMCRING_EV_EXECVE:
		fputs(",\"filename\":", f);
		out_json_bytes(f, ev->str, ev->str_len);
		fprintf(f, ",\"dirfd\":%d,\"flags\":%u,\"nr\":%u", ev->execve.dirfd,
			ev->execve.flags, ev->execve.nr);
		break;
	case MPMCRING_EV_SYSCALL:
		fprintf(f, ",\"nr\":%d,\"ret\":%lld", (int32_t)ev->syscall.nr,
			(long long)ev->syscall.ret);
		break;
	}
	for (i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		if (h->flags & (1u << i))
			fprintf(f, ",\"%s\":true", flag_names[i]);
	fputs("}\n", f);
}
