// SPDX-License-Identifier: MIT
/*
 * A complete mpmcring consumer: reads records in place, in batches, prints
 * them, reports losses. Run several (threads or processes): each record
 * reaches exactly one.
 *
 *   cc consumer.c $(pkg-config --cflags --libs mpmcring) -o consumer
 */
#include <errno.h>
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
		int n = mpmcring_read_batch(c, &b, 64, 1 << 20);

		if (n == -EAGAIN || n == -EBUSY) { /* empty, or others were quicker */
			fflush(stdout);
			mpmcring_wait(r, -1); /* until records wait; no lost wakeups */
			continue;
		}
		if (n < 0) /* a corrupt ring, say: the message tells */
			return fprintf(stderr, "%s\n", mpmcring_errmsg()), 1;
		while (mpmcring_batch_next(&b, &rec)) /* in place, zero-copy */
			fwrite(rec.data, 1, rec.len, stdout);
		mpmcring_commit(c);	 /* one store, no syscall */
		mpmcring_take_lost(c, &lost); /* each loss told once */
		if (lost.dropped || lost.overwritten)
			fprintf(stderr, "lost %llu dropped, %llu overwritten\n",
				(unsigned long long)lost.dropped,
				(unsigned long long)lost.overwritten);
	}
}
