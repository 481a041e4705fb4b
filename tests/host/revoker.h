/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Makes a host ring's next claim revoked while it is made (f483eda, the
 * model's finding 5), in one thread: the stamps are mapped PROT_NONE, so
 * the claim's walk faults (the claim has read the positions, not yet
 * announced); the handler maps the meta page PROT_NONE instead. The next
 * fault is the claim-passed load of reclaim_pos, after the won
 * compare-and-swap: there the handler plays reclaim revoking the announced
 * claim of consumer slot 0 ([M:lease-revoke]), as for a consumer stopped
 * there past the claim timeout.
 *
 * How reclaim got past the claim's start, two ways. REVOKE_AND_RECLAIM: as
 * in life, reclaim passes the revoked claim (up to the head the claim
 * moved); the ring is whole after it. REVOKE_AFTER_COTENANT: at the first
 * fault a co-tenant moves the head on, lets reclaim free everything and
 * writes the head back, so the compare-and-swap succeeds on freed space
 * (the revocation then lands between it and the look); what follows the
 * claim in the ring is freed space.
 *
 * For a single-threaded test whose claim is the next thing to touch the
 * stamps: revoker_arm(), the claim, revoker_disarm(). addr[] says where
 * the two faults were (the second must be &meta->reclaim_pos).
 */
#ifndef MPMCRING_TEST_REVOKER_H
#define MPMCRING_TEST_REVOKER_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hostring.h"

enum revoker_way { REVOKE_AND_RECLAIM, REVOKE_AFTER_COTENANT };

static struct {
	struct hostring *h;
	enum revoker_way way;
	unsigned char *stamps, *meta;
	size_t stamps_len, meta_len;
	uint64_t head; /* where the co-tenant wrote the head back */
	void *addr[2]; /* the faults seen */
	int faults;
	struct sigaction old;
} revoker;

/* Whether a lies in [p, p + len). */
static int revoker_in(const void *a, const unsigned char *p, size_t len)
{
	return (const unsigned char *)a >= p && (const unsigned char *)a < p + len;
}

static void revoker_fault(int sig, siginfo_t *si, void *uc)
{
	struct mpmcring_cons_area *cons = revoker.h->v.cons;
	uint64_t h = revoker.head;

	(void)sig;
	(void)uc;
	/*
	 * A fault not of the plan (a third, elsewhere, not a protection
	 * fault) or a signal sent: a real one. The old handler back, the
	 * same access faults again (a sent signal is raised again) and ends
	 * the test.
	 */
	if (revoker.faults >= 2 || si->si_code != SEGV_ACCERR ||
	    !revoker_in(si->si_addr, revoker.faults ? revoker.meta : revoker.stamps,
			revoker.faults ? revoker.meta_len : revoker.stamps_len)) {
		sigaction(SIGSEGV, &revoker.old, NULL);
		if (si->si_code <= 0) /* sent, not a fault: nothing repeats it */
			raise(SIGSEGV);
		return;
	}
	revoker.addr[revoker.faults] = si->si_addr;
	if (revoker.faults++ == 0) {
		mprotect(revoker.stamps, revoker.stamps_len, PROT_READ | PROT_WRITE);
		if (revoker.way == REVOKE_AFTER_COTENANT) {
			revoker.head = h = cons->head;
			cons->head = revoker.h->v.meta->prod_pos;
			hostring_reclaim(revoker.h);
			cons->head = h;
		}
		mprotect(revoker.meta, revoker.meta_len, PROT_NONE);
		return;
	}
	mprotect(revoker.meta, revoker.meta_len, PROT_READ | PROT_WRITE);
	if (revoker.way == REVOKE_AND_RECLAIM)
		revoker.head = h = __atomic_load_n(&cons->slots[0].start, __ATOMIC_SEQ_CST);
	__atomic_compare_exchange_n(&cons->slots[0].start, &h, h | MPMCRING_SLOT_REVOKED, false,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	if (revoker.way == REVOKE_AND_RECLAIM)
		hostring_reclaim(revoker.h);
}

/* 0, or -1 when the ring's layout or the system refused (errno). */
static int revoker_arm(struct hostring *h, enum revoker_way way)
{
	struct sigaction sa = { .sa_sigaction = revoker_fault, .sa_flags = SA_SIGINFO };
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	revoker.h = h;
	revoker.way = way;
	revoker.faults = 0;
	revoker.addr[0] = revoker.addr[1] = NULL;
	revoker.meta = h->ro;
	revoker.meta_len = h->layout.slot_info_offset;
	revoker.stamps = (unsigned char *)h->ro + h->layout.stamps_offset;
	revoker.stamps_len = h->layout.data_offset - h->layout.stamps_offset;
	/* Only the meta page may go: the slot info after it is read too. */
	if (revoker.meta_len % page) {
		errno = EINVAL;
		return -1;
	}
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &revoker.old))
		return -1;
	if (mprotect(revoker.stamps, revoker.stamps_len, PROT_NONE)) {
		sigaction(SIGSEGV, &revoker.old, NULL);
		return -1;
	}
	return 0;
}

/* After the claim: everything mapped as it was, the old handler back. */
static void revoker_disarm(void)
{
	mprotect(revoker.stamps, revoker.stamps_len, PROT_READ | PROT_WRITE);
	mprotect(revoker.meta, revoker.meta_len, PROT_READ | PROT_WRITE);
	sigaction(SIGSEGV, &revoker.old, NULL);
}

#endif
