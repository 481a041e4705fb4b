// SPDX-License-Identifier: GPL-2.0-only
/*
 * Output helpers: names of classes and reasons, byte counts for people,
 * JSON strings, base64, escaped text and hex dumps.
 */

#include <string.h>

#include "cli.h"

const char *prio_name(unsigned int prio)
{
	static const char *const names[MPMCRING_NR_PRIO] = {
		"low",
		"normal",
		"critical",
	};

	return prio < MPMCRING_NR_PRIO ? names[prio] : "invalid";
}

const char *drop_name(unsigned int reason)
{
	static const char *const names[MPMCRING_NR_DROP] = {
		"full",
		"priority",
		"contention",
		"too_big",
	};

	return reason < MPMCRING_NR_DROP ? names[reason] : "invalid";
}

const char *mode_name(unsigned int mode)
{
	switch (mode) {
	case MPMCRING_MODE_DROP_NEWEST:
		return "drop"; /* as the module's mode= parameter spells it */
	case MPMCRING_MODE_OVERWRITE:
		return "overwrite";
	default:
		return "unknown";
	}
}

const char *human_bytes(uint64_t v, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double x = (double)v;
	unsigned int u = 0;

	while (x >= 1024 && u < 4) {
		x /= 1024;
		u++;
	}
	if (!u || x == (double)(uint64_t)x)
		snprintf(buf, len, "%llu %s", (unsigned long long)x, units[u]);
	else
		snprintf(buf, len, "%.1f %s", x, units[u]);
	return buf;
}

void out_json_bytes(FILE *f, const char *s, size_t len)
{
	size_t i;

	fputc('"', f);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		/*
		 * Bytes from 0x7f up as \u00XX too: a path or comm need not be
		 * UTF-8, and raw, it would not be valid JSON.
		 */
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void out_json_string(FILE *f, const char *s)
{
	out_json_bytes(f, s, strlen(s));
}

void out_base64(FILE *f, const void *data, size_t len)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	char q[4];

	for (; len >= 3; p += 3, len -= 3) {
		q[0] = b64[p[0] >> 2];
		q[1] = b64[(p[0] & 3) << 4 | p[1] >> 4];
		q[2] = b64[(p[1] & 15) << 2 | p[2] >> 6];
		q[3] = b64[p[2] & 63];
		fwrite(q, 1, 4, f);
	}
	if (len) {
		q[0] = b64[p[0] >> 2];
		q[1] = b64[(p[0] & 3) << 4 | (len > 1 ? p[1] >> 4 : 0)];
		q[2] = len > 1 ? b64[(p[1] & 15) << 2] : '=';
		q[3] = '=';
		fwrite(q, 1, 4, f);
	}
}

static void out_escaped_as(FILE *f, const void *data, size_t len, bool field)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		/* In a key=value line a value's space or '=' would forge a field. */
		if (field && (p[i] == ' ' || p[i] == '=')) {
			fprintf(f, "\\x%02x", p[i]);
			continue;
		}
		switch (p[i]) {
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (p[i] >= 0x20 && p[i] < 0x7f)
				fputc(p[i], f);
			else
				fprintf(f, "\\x%02x", p[i]);
		}
	}
}

void out_escaped(FILE *f, const void *data, size_t len)
{
	out_escaped_as(f, data, len, false);
}

void out_escaped_field(FILE *f, const void *data, size_t len)
{
	out_escaped_as(f, data, len, true);
}

void out_hexdump(FILE *f, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t off, i;

	for (off = 0; off < len; off += 16) {
		size_t n = len - off < 16 ? len - off : 16;

		fprintf(f, "%08zx ", off);
		for (i = 0; i < 16; i++) {
			if (i == 8)
				fputc(' ', f);
			if (i < n)
				fprintf(f, " %02x", p[off + i]);
			else
				fputs("   ", f);
		}
		fputs("  |", f);
		for (i = 0; i < n; i++)
			fputc(p[off + i] >= 0x20 && p[off + i] < 0x7f ? p[off + i] : '.', f);
		fputs("|\n", f);
	}
}
