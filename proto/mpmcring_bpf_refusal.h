/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * Why the module refused a BPF kfunc call where no ring counts it: before
 * a ring was found, or for a reason of the module's, not the ring's. The
 * module counts each reason and prints them in
 * /sys/module/mpmcring/parameters/bpf_refused as name=value words
 * (kmod/bpf.c); mpmcring stat and the tests read that line by name
 * (userspace/tools/bpf_refused.c), taking the names they know and skipping
 * the rest. So a reason may be added anywhere in the list
 * (mpmcring_bpf_refusals.h), an older reader skips it, and a name, once
 * printed, keeps its meaning: a finer count is added as a part of the
 * reason it splits (no_buffer_sleep of no_buffer), never carved out of it,
 * so that a reader that knows only the old name still counts everything.
 */
#ifndef MPMCRING_BPF_REFUSAL_H
#define MPMCRING_BPF_REFUSAL_H

#ifdef __KERNEL__
#include <linux/stddef.h>
#else
#include <stddef.h>
#endif

enum mpr_bpf_refusal {
#define MPR_BPF_REFUSAL(id, name, what) MPR_BPF_REFUSED_##id,
#include "mpmcring_bpf_refusals.h"
#undef MPR_BPF_REFUSAL
	MPR_BPF_REFUSED_NR
};

/*
 * The name the module prints before '=', or NULL past the last reason.
 * Functions, not arrays of the header's own: an unused one costs no
 * warning (W=1 warns of an unused static const array, headers included).
 */
static inline const char *mpr_bpf_refusal_name(unsigned int why)
{
	static const char *const names[MPR_BPF_REFUSED_NR] = {
#define MPR_BPF_REFUSAL(id, name, what) \
		[MPR_BPF_REFUSED_##id] = name,
#include "mpmcring_bpf_refusals.h"
#undef MPR_BPF_REFUSAL
	};

	return why < MPR_BPF_REFUSED_NR ? names[why] : NULL;
}

/* What mpmcring stat says of it, or NULL past the last reason. */
static inline const char *mpr_bpf_refusal_what(unsigned int why)
{
	static const char *const whats[MPR_BPF_REFUSED_NR] = {
#define MPR_BPF_REFUSAL(id, name, what) \
		[MPR_BPF_REFUSED_##id] = what,
#include "mpmcring_bpf_refusals.h"
#undef MPR_BPF_REFUSAL
	};

	return why < MPR_BPF_REFUSED_NR ? whats[why] : NULL;
}

#endif /* MPMCRING_BPF_REFUSAL_H */
