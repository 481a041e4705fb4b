// SPDX-License-Identifier: GPL-2.0-only
/*
 * The plan of a benchmark: which thread mixes, record sizes and consume
 * modes, which implementations, how many rounds, and in what order the
 * implementations run within a round.
 *
 * Default mixes: 1P1C, 1P2C, 2P1C, 2P2C, then NPNC for N = 4, 8, 16 ...
 * while 2N threads fit the CPUs, and the whole machine (N = CPUs / 2) when
 * that is not a power of two: `make bench` on a bigger machine measures
 * scaling without a change. Any mix up to HB_MAX_THREADS threads can be
 * asked for with -m.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "order.h"

/* "all" is the first NDEFAULT; the rest run when named (-i). */
static const struct hb_impl *const all_impls[] = { &hb_ours,  &hb_rte,	 &hb_ck,	&hb_vyukov,
						   &hb_bpfrb, &hb_falco, &hb_ours_chunk };
#define NALL (sizeof(all_impls) / sizeof(all_impls[0]))
#define NDEFAULT 6

static void add_mix(struct hb_plan *p, unsigned int np, unsigned int nc)
{
	unsigned int i;

	if (p->nmix == sizeof(p->np) / sizeof(p->np[0]))
		return;
	for (i = 0; i < p->nmix; i++)
		if (p->np[i] == np && p->nc[i] == nc)
			return;
	p->np[p->nmix] = np;
	p->nc[p->nmix++] = nc;
}

void hb_plan_default_mixes(struct hb_plan *p, bool quick)
{
	unsigned int n, cpus = hb_ncpus();

	add_mix(p, 1, 1);
	if (!quick) {
		add_mix(p, 1, 2);
		add_mix(p, 2, 1);
	}
	add_mix(p, 2, 2);
	if (quick)
		return;
	for (n = 4; 2 * n <= cpus; n *= 2)
		add_mix(p, n, n);
	if (cpus / 2 > 2)
		add_mix(p, cpus / 2, cpus / 2);
}

int hb_plan_parse_mixes(struct hb_plan *p, char *s)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned int np, nc;

		if (sscanf(tok, "%ux%u", &np, &nc) != 2 || !np || !nc || np + nc > HB_MAX_THREADS)
			return -1;
		add_mix(p, np, nc);
	}
	return p->nmix ? 0 : -1;
}

int hb_plan_parse_sizes(struct hb_plan *p, char *s)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned long v = strtoul(tok, NULL, 0);

		/* Powers of two from 16: equal byte capacity in every ring. */
		if (v < 16 || v > 65536 || (v & (v - 1)) ||
		    p->nsizes == sizeof(p->sizes) / sizeof(p->sizes[0]))
			return -1;
		p->sizes[p->nsizes++] = v;
	}
	return p->nsizes ? 0 : -1;
}

const struct hb_impl *hb_impl_named(const char *name)
{
	unsigned int i;

	for (i = 0; i < NALL; i++)
		if (!strcmp(all_impls[i]->name, name))
			return all_impls[i];
	return NULL;
}

static bool hb_impl_in(const struct hb_plan *p, const struct hb_impl *im)
{
	unsigned int i;

	for (i = 0; i < p->nimpls; i++)
		if (p->impls[i] == im)
			return true;
	return false;
}

/* A list of names; "all" in it: every peer (not ours_chunk, which runs
 * when named). ours always runs, first in the list: every
 * ratio is ours/peer within a round. */
int hb_plan_parse_impls(struct hb_plan *p, char *s)
{
	char *tok, *save = NULL;
	unsigned int i;

	p->nimpls = 0;
	p->impls[p->nimpls++] = &hb_ours;
	if (!s) {
		for (i = 1; i < NDEFAULT; i++)
			p->impls[p->nimpls++] = all_impls[i];
		return 0;
	}
	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const struct hb_impl *im = hb_impl_named(tok);

		if (!strcmp(tok, "all")) {
			for (i = 1; i < NDEFAULT; i++)
				if (!hb_impl_in(p, all_impls[i]))
					p->impls[p->nimpls++] = all_impls[i];
			continue;
		}
		if (!im)
			return -1;
		for (i = 0; i < p->nimpls; i++)
			if (p->impls[i] == im)
				break;
		if (i == p->nimpls)
			p->impls[p->nimpls++] = im;
	}
	return 0;
}

/*
 * Round r's order: a Williams design (order.c), so that a machine that
 * drifts, or a run that leaves something behind for the next, touches
 * every implementation and every ratio alike over a block of rounds; a
 * ratio is taken between runs of the same round, seconds apart.
 */
const struct hb_impl *hb_plan_order(const struct hb_plan *p, unsigned int r, unsigned int slot)
{
	return p->impls[hb_order_at(p->nimpls, r, slot)];
}
