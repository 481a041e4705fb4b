// SPDX-License-Identifier: MIT
/*
 * A complete mpmcring consumer: reads records in place, in batches, prints
 * them, reports losses. Run several (threads or processes): each record
 * reaches exactly one.
 *
 *   cc consumer.c $(pkg-config --cflags --libs mpmcring) -o consumer
 */
#include <stdio.h>
#include <mpmcring.h>

int main(void)
{
	struct mpmcring *r = mpmcring_open(NULL, 0); /* /dev/mpmcring */
	struct mpmcring_consumer *c = r ? mpmcring_consumer_new(r) : NULL;
	struct mpmcring_batch b;
	struct mpmcring_record rec;
	struct mpmcring_lost lost;

	if (!c)
		return fprintf(stderr, "%s\n", mpmcring_errmsg()), 1;
	for (;;) {
		if (mpmcring_read_batch(c, &b, 64, 1 << 20) <= 0) {
			mpmcring_wait(r, -1); /* sleeps; no lost wakeups */
			continue;
		}
		while (mpmcring_batch_next(&b, &rec)) /* in place, zero-copy */
			fwrite(rec.data, 1, rec.len, stdout);
		mpmcring_commit(c);	 /* one store, no syscall */
		mpmcring_lost(c, &lost); /* each loss told once */
		if (lost.dropped || lost.overwritten)
			fprintf(stderr, "lost %llu\n", (unsigned long long)lost.dropped);
	}
}
