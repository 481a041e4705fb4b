// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the event decoder on arbitrary records. The first input
 * byte picks the record header's flags, the rest is the payload, copied into
 * a buffer of exactly its length (ASan sees any read past it). A decoded
 * event must keep its string, and the NUL after it, inside the record.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpmcring_events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mpmcring_record rec = { 0 };
	struct mpmcring_event ev;
	volatile uint8_t sink = 0;
	uint8_t *copy;
	uint32_t i;

	if (!size)
		return 0;
	rec.flags = data[0] & MPMCRING_REC_FROM_USER;
	rec.len = (uint32_t)(size - 1);
	copy = malloc(rec.len ? rec.len : 1);
	memcpy(copy, data + 1, rec.len);
	rec.data = copy;
	if (mpmcring_event_decode(&rec, &ev) == 0) {
		const uint8_t *s = (const uint8_t *)ev.str;

		if (ev.str_len) {
			if (s < copy || s + ev.str_len >= copy + rec.len)
				abort(); /* a string outside the record */
		}
		for (i = 0; i <= ev.str_len; i++)
			sink ^= s[i];
		if (s[ev.str_len] || ev.hdr.size > rec.len || rec.flags)
			abort();
		sink ^= (uint8_t)strlen(ev.comm);
	}
	(void)sink;
	free(copy);
	return 0;
}
