// SPDX-License-Identifier: GPL-2.0-only
/*
 * free_in_cb_test's first case in the shape an optimizing build inlines:
 * the callback, mpmcring_consume() and mpmcring_consumer_free() in one
 * program built with -O3 -flto (the Makefile), so that GCC may inline them
 * all into main. The library tells a free from inside the callback by the
 * entry points' frames (MPR_ENTRY_FRAME keeps one each); inlined, the
 * frames coincide and consume went on with the freed consumer
 * (review-fix18 M1: "consume=1" and ASan's heap-use-after-free with GCC
 * 12 -O3 -flto).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hostring.h"
#include "internal.h"

static struct mpmcring_consumer *g_c;
static int calls;

static int free_fn(void *ctx, const struct mpmcring_record *rec)
{
	(void)ctx;
	(void)rec;
	if (calls++ == 0)
		mpmcring_consumer_free(g_c);
	return 0;
}

/* All in main, no test framework between: the shape GCC inlines. */
int main(void)
{
	struct hostring h;
	struct mpmcring *r;
	uint64_t pos;
	int i, n;

	printf("1..1\n");
	if (hostring_init(&h, &(struct hostring_params){ .size = 4096, .producers = 1 }))
		return 2;
	r = mpmcring__open_memory(h.cons, h.ro, &h.layout);
	g_c = r ? mpmcring_consumer_new(r) : NULL;
	if (!g_c)
		return 2;
	for (i = 0; i < 3; i++) {
		if (hostring_reserve(&h, 0, 16, MPMCRING_PRIO_NORMAL, &pos))
			return 2;
		memset(hostring_payload(&h, pos), i, 16);
		hostring_commit(&h, 0, pos, 16);
	}
	n = mpmcring_consume(g_c, 8, free_fn, NULL);
	mpmcring_close(r);
	hostring_destroy(&h);
	if (n == -ECANCELED && calls == 1) {
		printf("ok 1 consumer_free_in_fn_inlined\n");
		return 0;
	}
	printf("# consume returned %d after %d calls of fn, want %d after 1\n", n, calls,
	       -ECANCELED);
	printf("not ok 1 consumer_free_in_fn_inlined\n");
	return 1;
}
