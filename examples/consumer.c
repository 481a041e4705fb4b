// SPDX-License-Identifier: MIT
/*
 * A complete mpmcring consumer: claims records in batches, copies them out,
 * commits, then prints them; reports losses, sleeps when the ring is empty
 * and stops when the ring is destroyed. Run several (threads or processes):
 * each record reaches exactly one. The README and libmpmcring(3) show this
 * file from its includes on; make check compiles both and runs it in a guest.
 *
 *   cc consumer.c $(pkg-config --cflags --libs mpmcring) -o consumer
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mpmcring.h> /* cc consumer.c $(pkg-config --cflags --libs mpmcring) */

int main(int argc, char **argv)
{
	struct mpmcring *r = mpmcring_open(argc > 1 ? argv[1] : NULL, 0); /* /dev/mpmcring */
	struct mpmcring_consumer *c = r ? mpmcring_consumer_new(r) : NULL;
	/* A batch is at most 1 MiB of payload, or one record if that is larger. */
	size_t cap = c ? (1 << 20) + mpmcring_get_layout(r)->max_record : 0, len;
	char *buf = malloc(cap);
	struct mpmcring_batch b;
	struct mpmcring_record rec;
	struct mpmcring_lost lost = MPMCRING_OPTS(mpmcring_lost);
	int n;

	if (!c || !buf)
		return fprintf(stderr, "%s\n", c ? "out of memory" : mpmcring_errmsg()), 1;
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
		if (n == -ESTALE) /* revoked while claimed (we stood still): lost, counted */
			continue;
		if (n < 0) /* a corrupt ring, say: the message tells */
			break;
		/*
		 * While records are claimed, do nothing that can block: a write
		 * to a pipe or terminal waits for its reader, and meanwhile the
		 * ring cannot reuse the space, so producers drop. Copy, commit,
		 * then write.
		 */
		for (len = 0; mpmcring_batch_next(&b, &rec); len += rec.len)
			memcpy(buf + len, rec.data, rec.len);
		/* -ESTALE: held past the claim timeout, the copy may be torn. */
		if (mpmcring_commit(c) == -ESTALE)
			len = 0; /* thrown away; counted in lost.revoked */
		fwrite(buf, 1, len, stdout);
		mpmcring_take_lost(c, &lost); /* each loss told to one consumer */
		if (lost.dropped || lost.overwritten || lost.revoked)
			fprintf(stderr, "lost %llu dropped, %llu overwritten, %llu revoked\n",
				(unsigned long long)lost.dropped,
				(unsigned long long)lost.overwritten,
				(unsigned long long)lost.revoked);
	}
	fprintf(stderr, "%s\n", mpmcring_errmsg());
	free(buf);
	mpmcring_consumer_free(c);
	mpmcring_close(r);
	return n == -EPIPE ? 0 : 1;
}
