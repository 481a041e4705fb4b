/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The module's count of BPF kfunc calls refused where no ring counts them
 * (/sys/module/mpmcring/parameters/bpf_refused), read by name: a line of
 * "name=value" words. Words may be added anywhere in the line by a newer
 * module and be missing in an older one, so a reader takes the names it
 * knows, skips the rest, and says which it found.
 */
#ifndef MPMCRING_BPF_REFUSED_H
#define MPMCRING_BPF_REFUSED_H

#include <stdbool.h>
#include <stdio.h>

#include "mpmcring_bpf_refusal.h"

#define BPF_REFUSED_PATH "/sys/module/mpmcring/parameters/bpf_refused"

/* By reason: the module's (proto/mpmcring_bpf_refusal.h), in its order. */
struct bpf_refused {
	unsigned long long count[MPR_BPF_REFUSED_NR];
	unsigned int have;	      /* bit i: count[i] was in the line */
	unsigned int last_no_ring_id; /* the id of the last no_ring refusal */
	bool have_last_id;	      /* last_no_ring_id was in the line */
};

/*
 * Fills @b from one line of the parameter. Unknown names and words that
 * are not name=decimal are skipped. 0, or -ENODATA when the line has no
 * name this reader knows.
 */
int bpf_refused_parse(const char *line, struct bpf_refused *b);

/* Reads and parses BPF_REFUSED_PATH: 0 or a negative errno. */
int bpf_refused_read(struct bpf_refused *b);

/*
 * mpmcring stat's line ("BPF refused   ...\n") and JSON member
 * (",\"bpf_refused\":{...}"): the reasons @b has, none it lacks; the last
 * unknown id once no_ring is not 0 ("none", null, before: an id of 0 is
 * what a loader that never set its id passes).
 */
void bpf_refused_text(FILE *f, const struct bpf_refused *b);
void bpf_refused_json(FILE *f, const struct bpf_refused *b);

#endif /* MPMCRING_BPF_REFUSED_H */
