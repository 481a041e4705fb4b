/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * evbench: the same kernel events captured three ways, side by side in one
 * guest: mpmcring (mpmcring_events.ko, 1-4 zero-copy consumer threads), a
 * BPF ring buffer (reserve/submit, libbpf ring_buffer__poll) and a perf
 * buffer (bpf_perf_event_output, perf_buffer__poll). See evbench.c.
 */
#ifndef MPMCRING_EVBENCH_H
#define MPMCRING_EVBENCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

#include "mpmcring.h"
#include "mpmcring_events.h"

/* Where the guest has the marker; a test builds work.c with its own. */
#ifndef MARKER_PATH
#define MARKER_PATH "/bin/evmarker"
#endif
#define MAX_CONSUMERS 8
#define PID_BITS (1u << 22) /* pid_max's ceiling */

/* How a transport is set up for one run. */
struct tr_cfg {
	bool catchall;		/* every syscall, as low-priority events */
	uint64_t ring_bytes;	/* ring, ring buffer, or perf buffers in all */
	unsigned int consumers; /* consumer threads (mpmcring) */
	bool deferred;		/* start consumers later (tr_consume) */
	int consumer_cpu;	/* >= 0: consumers stay off CPUs below it */
};

/* What one consumer thread saw; summed over threads at the end. */
#define CHUNK 256	/* events per timed chunk of a consumer */
#define MAX_CHUNKS 2048 /* timed chunks kept per consumer */
struct cons_acc {
	uint64_t delivered;
	uint64_t per_type[MPMCRING_EV_NR_TYPES];
	uint64_t bad;	  /* did not decode */
	uint64_t revoked; /* read, then its claim was revoked (mpmcring) */
	uint64_t markers;
	double cpu_s;
	/* ns per event of each chunk of CHUNK events (the drain's consumers
	 * never sleep, so a chunk's time is its consumption) */
	double chunk_t0;
	unsigned int nchunks;
	float chunk_ns[MAX_CHUNKS];
};

/*
 * Latency of the last workload: every operation (an openat+close, a
 * fork+exec+wait, a chunk of flood syscalls) timed on its own. On a shared
 * host a vCPU thread is now and then descheduled for milliseconds; the
 * median operation does not see that, the total time does.
 */
struct lat {
	double med_ns;	 /* median operation */
	double tmean_ns; /* mean of the fastest 95%: counts rarer costs
			  * (wakeups) that the median skips */
};
extern struct lat work_lat;
/* work_syscalls(): the interleaved open(2) calls, recorded by nobody. */
extern struct lat work_lat_ctl;
void lat_of(double *v, size_t n, struct lat *l);

/* The result of one run of a transport. */
struct tr_stats {
	struct cons_acc acc;
	uint64_t dropped;      /* refused by the buffer */
	uint64_t shed;	       /* dropped by the BPF program's own policy */
	uint64_t dropped_low;  /* of which low priority (mpmcring) */
	uint64_t dropped_crit; /* of which critical (mpmcring) */
	const char *who;       /* who counted the drops */
};

struct tr;
struct transport {
	const char *name;
	int (*start)(struct tr *t);   /* load, attach, consumers unless deferred */
	int (*consume)(struct tr *t); /* deferred: consume until empty, return */
	void (*stop)(struct tr *t, struct tr_stats *st); /* drain, detach, unload */
	int bpf_mode;					 /* BPF transports: enum evb_mode */
	unsigned int consumers;				 /* mpmcring transports */
	unsigned int wake_bytes;			 /* consumers' wakeup watermark, 0: none */
	bool bpf_producer;	  /* mpmcring: events.bpf.c produces (kfuncs), not the module */
	unsigned int chunk_bytes; /* mpmcring_events' chunk_bytes=, 0: one reservation per event */
};

struct tr {
	const struct transport *ops;
	struct tr_cfg cfg;
	void *priv;
};

extern const struct transport tr_ring1_eager, tr_ring1, tr_ring2, tr_ring4, tr_ring1_chunked;
extern const struct transport tr_bpf_ringbuf, tr_bpf_query, tr_bpf_perf;
extern const struct transport tr_bpf_ringbuf_batch, tr_bpf_perf_batch;
extern const struct transport tr_bpf_ring1, tr_bpf_ring2, tr_bpf_ring1_admit;

/* tr_bpf.c: events.bpf.c producing into an mpmcring ring (its kfuncs). */
void *bpf_producer_start(const struct tr_cfg *cfg, unsigned int ring_id, int mode);
void bpf_producer_stop(void *producer);

/* The batched wakeup every transport can have: a sleeping consumer is
 * woken once 16 KiB wait (mpmcring's watermark, a BPF ring buffer program
 * submitting with BPF_RB_NO_WAKEUP/FORCE_WAKEUP, a perf buffer's
 * wakeup_watermark), or after BATCH_WAIT_MS. */
#define WAKE_BYTES (16 << 10)
#define BATCH_WAIT_MS 20

/* consume.c: what every consumer does with an event, and the markers.
 * acc_work: rounds of stand-in agent work per event (0: none). */
extern unsigned int acc_work;
void acc_event(struct cons_acc *a, const struct mpmcring_event *ev);
void acc_add(struct cons_acc *sum, const struct cons_acc *a);
void markers_reset(void);
bool marker_seen(pid_t pid);
double thread_cpu_s(void);

/* Module loading (tr_ring.c). */
int ev_insmod(const char *name, const char *params);
int ev_rmmod(const char *name);

/* work.c: workloads. Each returns its wall time in seconds. */
double now_s(void);
void pin_to_cpu(int cpu);
/* Keeps the calling thread on CPUs from first on (if there are any). */
void pin_from_cpu(int first);
double work_syscalls(uint64_t iterations);
/* Runs the marker; its pid once it exited 0, else -1 (said on stderr). */
pid_t run_marker(void);
double work_storm(unsigned int n);
struct flood_result {
	double seconds;
	uint64_t syscalls;    /* flood syscalls made */
	unsigned int markers; /* marker execs run */
	bool failed;	      /* a marker exec failed: the run is void */
	pid_t pids[4096];
};
void work_flood(unsigned int threads, double seconds, struct flood_result *r);

/* spawn.c: the workloads' forks, from a process that maps no ring (why:
 * spawn.c). spawn_storm() is work_storm() there, < 0 when it failed;
 * spawn_marker() is run_marker() there. */
int spawn_start(void);
double spawn_storm(unsigned int n);
pid_t spawn_marker(void);
pid_t spawn_pid(void); /* the spawner's, for tests */
void spawn_stop(void);

/* prof.c: instruction-count windows under bench/tcgprof/insn_prof.so. */
extern bool prof_on;
void prof_open(void);
unsigned int prof_close(const char *part, const char *transport, unsigned int rep,
			const char *stretch, uint64_t work);
void prof_ksyms(unsigned int window);

#endif /* MPMCRING_EVBENCH_H */
