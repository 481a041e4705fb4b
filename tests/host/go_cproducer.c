// SPDX-License-Identifier: GPL-2.0-only
/*
 * go_cproducer: the module's producer code (proto/mpmcring_produce.h, run by
 * hostring) in a process of its own, for the Go package's host test
 * (go/mpmcring/cproducer_test.go). The Go consumer runs in the test's
 * process, under its race detector, against the C protocol itself rather
 * than the Go transcription the other host tests use; no cgo.
 *
 *   go_cproducer [-p producers] [-n records/producer] [-s ring bytes]
 *                [-o] (overwrite mode) [-r] (retry a full ring)
 *                [-l min len] [-L max len] [-S stall every N records]
 *                [-T ms] (claims are leases of ms)
 *
 * fd 3 is a SOCK_SEQPACKET socket to the test. On it the helper sends the
 * layout (struct mpmcring_layout) with the ring's three memfds (consumer
 * area; meta, slot info and stamps; data) as SCM_RIGHTS, waits for one
 * byte, produces, and prints one line of totals on stdout:
 *
 *   produced N dropped N overwritten N revoked_claims N revoked_records N
 *
 * Records are self-checking (proto/mpmcring_testrec.h): producer index,
 * sequence number 0..records-1, filler with a checksum.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hostring.h"
#include "mpmcring_testrec.h"

#define SOCK_FD 3

static struct {
	unsigned int producers, stall_every, lease_ms;
	uint64_t records, size;
	uint32_t min_len, max_len;
	bool overwrite, retry;
} opt = {
	.producers = 3,
	.records = 20000,
	.size = 1 << 16,
	.min_len = 24,
	.max_len = 300,
};

static struct hostring ring;

static uint32_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)*s;
}

static void *producer(void *arg)
{
	unsigned int idx = (unsigned int)(uintptr_t)arg;
	uint64_t s = 88172645463325252ULL + idx, seq, pos;
	struct timespec stall = { 0, 20000 };

	for (seq = 0; seq < opt.records; seq++) {
		uint32_t len = opt.min_len + rnd(&s) % (opt.max_len - opt.min_len + 1);

		if (hostring_reserve(&ring, idx, len, MPMCRING_PRIO_CRITICAL, &pos)) {
			if (opt.retry) {
				/* Counted as a drop (the consumers see it in
				 * Lost), and tried again. */
				seq--;
				sched_yield();
			}
			continue;
		}
		mpr_testrec_fill(hostring_payload(&ring, pos), len, (__u16)idx, MPR_CTX_USER,
				 MPMCRING_PRIO_CRITICAL, seq);
		if (opt.stall_every && seq % opt.stall_every == 0)
			nanosleep(&stall, NULL);
		hostring_commit(&ring, idx, pos, len);
	}
	return NULL;
}

static void send_ring(void)
{
	char cbuf[CMSG_SPACE(sizeof(ring.fd))];
	struct iovec iov = { &ring.layout, sizeof(ring.layout) };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	memset(cbuf, 0, sizeof(cbuf));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(ring.fd));
	memcpy(CMSG_DATA(cm), ring.fd, sizeof(ring.fd));
	if (sendmsg(SOCK_FD, &msg, 0) != (ssize_t)sizeof(ring.layout)) {
		perror("go_cproducer: sending the ring to the test (fd 3)");
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct hostring_params p = { .shareable = true };
	pthread_t *th;
	unsigned int i;
	char go;
	int c;

	while ((c = getopt(argc, argv, "p:n:s:orl:L:S:T:")) != -1) {
		switch (c) {
		case 'p':
			opt.producers = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'n':
			opt.records = strtoull(optarg, NULL, 0);
			break;
		case 's':
			opt.size = strtoull(optarg, NULL, 0);
			break;
		case 'o':
			opt.overwrite = true;
			break;
		case 'r':
			opt.retry = true;
			break;
		case 'l':
			opt.min_len = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'L':
			opt.max_len = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'S':
			opt.stall_every = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'T':
			opt.lease_ms = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: see the comment at the top of go_cproducer.c\n");
			return 2;
		}
	}
	if (!opt.producers || opt.producers > 0xffff || opt.min_len < MPR_TESTREC_MIN ||
	    opt.max_len < opt.min_len) {
		fprintf(stderr, "go_cproducer: bad producers or lengths\n");
		return 2;
	}
	p.size = opt.size;
	p.producers = opt.producers;
	p.mode = opt.overwrite ? MPMCRING_MODE_OVERWRITE : MPMCRING_MODE_DROP_NEWEST;
	p.claim_timeout_ms = opt.lease_ms;
	if (hostring_init(&ring, &p)) {
		fprintf(stderr, "go_cproducer: hostring_init failed\n");
		return 2;
	}
	send_ring();
	if (read(SOCK_FD, &go, 1) != 1) {
		fprintf(stderr, "go_cproducer: the test went away before the start\n");
		return 2;
	}
	th = calloc(opt.producers, sizeof(*th));
	if (!th)
		return 2;
	for (i = 0; i < opt.producers; i++)
		if (pthread_create(&th[i], NULL, producer, (void *)(uintptr_t)i)) {
			fprintf(stderr, "go_cproducer: pthread_create failed\n");
			return 2;
		}
	for (i = 0; i < opt.producers; i++)
		pthread_join(th[i], NULL);
	printf("produced %llu dropped %llu overwritten %llu revoked_claims %llu revoked_records %llu\n",
	       (unsigned long long)hostring_produced(&ring),
	       (unsigned long long)hostring_dropped(&ring),
	       (unsigned long long)__atomic_load_n(&ring.overwritten_records, __ATOMIC_RELAXED),
	       (unsigned long long)__atomic_load_n(&ring.revoked_claims, __ATOMIC_RELAXED),
	       (unsigned long long)__atomic_load_n(&ring.revoked_records, __ATOMIC_RELAXED));
	free(th);
	hostring_destroy(&ring);
	return 0;
}
