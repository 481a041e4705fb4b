// SPDX-License-Identifier: MIT
/*
 * A complete mpmcring consumer: reads records in place, in batches, prints
 * them, reports losses, sleeps when the ring is empty and stops when the
 * ring is destroyed. Run several (threads or processes): each record
 * reaches exactly one. The README shows this file from its includes on;
 * make check compiles it and runs it in a guest.
 *
 *   cc consumer.c $(pkg-config --cflags --libs mpmcring) -o consumer
 */
#include <errno.h>
#include <stdio.h>
#include <mpmcring.h> /* cc consumer.c $(pkg-config --cflags --libs mpmcring) */

int main(int argc, char **argv)
{
	struct mpmcring *r = mpmcring_open(argc > 1 ? argv[1] : NULL, 0); /* /dev/mpmcring */
	struct mpmcring_consumer *c = r ? mpmcring_consumer_new(r) : NULL;
	struct mpmcring_batch b;
	struct mpmcring_record rec;
	struct mpmcring_lost lost;
	int n;

	if (!c)
		return fprintf(stderr, "%s\n", mpmcring_errmsg()), 1;
	for (;;) {
		n = mpmcring_read_batch(c, &b, 64, 1 << 20);
		if (n == -EBUSY) /* records are there, other consumers were quicker */
			continue;
		if (n == -EAGAIN) { /* empty: sleep until a record is ready */
			fflush(stdout);
			n = mpmcring_wait(r, -1);
			if (n == -EINTR || n >= 0)
				continue;
			break; /* -EPIPE: the ring was destroyed, and is empty */
		}
		if (n < 0) /* a corrupt ring, say: the message tells */
			break;
		while (mpmcring_batch_next(&b, &rec)) /* in place, zero-copy */
			fwrite(rec.data, 1, rec.len, stdout);
		mpmcring_commit(c);	      /* one store, no syscall */
		mpmcring_take_lost(c, &lost); /* each drop told to one consumer */
		if (lost.dropped || lost.overwritten)
			fprintf(stderr, "lost %llu dropped, %llu overwritten\n",
				(unsigned long long)lost.dropped,
				(unsigned long long)lost.overwritten);
	}
	fprintf(stderr, "%s\n", mpmcring_errmsg());
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	return n == -EPIPE ? 0 : 1;
}
