// SPDX-License-Identifier: GPL-2.0-only
/* Reading the module's bpf_refused parameter by name (bpf_refused.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf_refused.h"

/* One bit of struct bpf_refused's have per reason. */
_Static_assert(MPR_BPF_REFUSED_NR <= 8 * sizeof(((struct bpf_refused *)0)->have),
	       "have needs a bit per reason");

/* A decimal number filling [s, end), no sign, no overflow: 0 or -1. */
static int bpf_refused_number(const char *s, const char *end, unsigned long long *v)
{
	char *stop;

	if (s == end || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &stop, 10);
	return errno || stop != end ? -1 : 0;
}

int bpf_refused_parse(const char *line, struct bpf_refused *b)
{
	const char *w = line, *end, *eq;
	unsigned long long v;
	bool known = false;
	size_t n;
	int i;

	memset(b, 0, sizeof(*b));
	for (;;) {
		w += strspn(w, " \t\n");
		if (!*w)
			break;
		end = w + strcspn(w, " \t\n");
		eq = memchr(w, '=', end - w);
		if (eq && !bpf_refused_number(eq + 1, end, &v)) {
			n = eq - w;
			for (i = 0; i < MPR_BPF_REFUSED_NR; i++) {
				const char *name = mpr_bpf_refusal_name(i);

				if (strlen(name) == n && !memcmp(w, name, n)) {
					b->count[i] = v;
					b->have |= 1U << i;
					known = true;
				}
			}
			if (n == strlen("last_no_ring_id") && !memcmp(w, "last_no_ring_id", n) &&
			    v <= 0xffffffffULL) {
				b->last_no_ring_id = (unsigned int)v;
				b->have_last_id = true;
				known = true;
			}
		}
		w = end;
	}
	return known ? 0 : -ENODATA;
}

int bpf_refused_read(struct bpf_refused *b)
{
	char line[4096]; /* a sysfs read is a page at most */
	FILE *f = fopen(BPF_REFUSED_PATH, "r");
	int err = 0;

	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f))
		err = ferror(f) ? -EIO : -ENODATA;
	fclose(f);
	return err ? err : bpf_refused_parse(line, b);
}

/* The last unknown id means something only once one was refused. */
static bool bpf_refused_last_id(const struct bpf_refused *b)
{
	return b->have_last_id && (b->have & 1U << MPR_BPF_REFUSED_NO_RING) &&
	       b->count[MPR_BPF_REFUSED_NO_RING];
}

/*
 * no_buffer_sleep is a part of no_buffer (proto/mpmcring_bpf_refusals.h),
 * and its text says whose: it is shown inside the total's, "N no staging
 * buffer (M of them for callers that may sleep)", so that it does not read
 * as a reason of its own; alone only in a line without no_buffer, which
 * no module prints.
 */
#define BPF_REFUSED_TOTAL MPR_BPF_REFUSED_NO_BUFFER
#define BPF_REFUSED_PART MPR_BPF_REFUSED_NO_BUFFER_SLEEP

static bool bpf_refused_has(const struct bpf_refused *b, int i)
{
	return b->have & 1U << i;
}

void bpf_refused_text(FILE *f, const struct bpf_refused *b)
{
	const char *sep = "";
	int i;

	fputs("BPF refused   ", f);
	for (i = 0; i < MPR_BPF_REFUSED_NR; i++) {
		if (!bpf_refused_has(b, i) ||
		    (i == BPF_REFUSED_PART && bpf_refused_has(b, BPF_REFUSED_TOTAL)))
			continue;
		fprintf(f, "%s%llu ", sep, b->count[i]);
		sep = ", ";
		if (i == BPF_REFUSED_PART)
			fprintf(f, "%s ", mpr_bpf_refusal_what(BPF_REFUSED_TOTAL));
		fputs(mpr_bpf_refusal_what(i), f);
		if (i == BPF_REFUSED_TOTAL && bpf_refused_has(b, BPF_REFUSED_PART))
			fprintf(f, " (%llu of them %s)", b->count[BPF_REFUSED_PART],
				mpr_bpf_refusal_what(BPF_REFUSED_PART));
		if (i != MPR_BPF_REFUSED_NO_RING || !b->have_last_id)
			continue;
		if (bpf_refused_last_id(b))
			fprintf(f, " (last: %u)", b->last_no_ring_id);
		else
			fputs(" (last: none)", f);
	}
	fputs(" (all rings: module-wide)\n", f);
}

void bpf_refused_json(FILE *f, const struct bpf_refused *b)
{
	const char *sep = "";
	int i;

	fputs(",\"bpf_refused\":{", f);
	for (i = 0; i < MPR_BPF_REFUSED_NR; i++) {
		if (!(b->have & 1U << i))
			continue;
		fprintf(f, "%s\"%s\":%llu", sep, mpr_bpf_refusal_name(i), b->count[i]);
		sep = ",";
	}
	if (bpf_refused_last_id(b))
		fprintf(f, "%s\"last_no_ring_id\":%u", sep, b->last_no_ring_id);
	else if (b->have_last_id)
		fprintf(f, "%s\"last_no_ring_id\":null", sep);
	fputc('}', f);
}
