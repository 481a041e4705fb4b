/* SPDX-License-Identifier: MIT */
/*
 * mpmcring for BPF programs: the kfuncs the module offers to tracing
 * programs (fentry, fexit, fmod_ret, tp_btf, LSM; on 6.12 also tracepoint,
 * perf_event and kprobe programs, which 6.1's verifier refuses; raw
 * tracepoint programs on neither). Include after vmlinux.h (or the kernel's
 * types) and <bpf/bpf_helpers.h>. The program must be GPL-compatible, and
 * the module must be loaded, with BTF, before the program is.
 *
 * A ring is named by its id: a loader reads it from the ring's layout
 * (mpmcring_get_layout(r)->id in the library, or MPMCRING_IOC_INFO) and
 * sets it in the program's read-only data before loading.
 *
 * Two ways to produce:
 *
 *   err = mpmcring_bpf_output(id, &ev, sizeof(ev), MPMCRING_BPF_NORMAL);
 *
 * copies one record of up to MPMCRING_BPF_MAX_OUTPUT bytes and the ring's
 * max_record (0, or -ENOENT, -EINVAL, -EMSGSIZE, -ENOSPC, -EAGAIN; the
 * last three are counted as drops of the ring: -EMSGSIZE as too big). The
 * data must be memory the program may write (its stack, a map value): the
 * verifier refuses read-only memory there (.rodata). A program whose
 * record costs more to build than to refuse asks first:
 *   if (mpmcring_bpf_admit(id, sizeof(ev), MPMCRING_BPF_LOW))
 *           return 0;              (refused: counted as a drop, see below)
 * is 0 when the ring would take a record of that length and class now
 * (its watermark and a reclaim included), and otherwise counts the record
 * as dropped by the ring (-ENOSPC, -EMSGSIZE; -ENOENT and -EINVAL as
 * output's), so on any non-zero the program must not produce it. Pass the
 * record's length or less, never more (a longer one can be refused where
 * the record fits), and ask only for a record the program will produce
 * when told 0; the output after a 0 may still be refused, and counts
 * that. A program that calls it loads only on a module that has it.
 *
 *   struct mpmcring_bpf_rsv *r = mpmcring_bpf_reserve(id, len, flags);
 *   if (!r)
 *           return 0;              (refused: counted, see below)
 *   if (mpmcring_bpf_write(r, 0, &hdr, sizeof(hdr)) ||
 *       mpmcring_bpf_write(r, sizeof(hdr), buf, n)) {
 *           mpmcring_bpf_discard(r);       (-E2BIG: a piece outside it)
 *           return 0;
 *   }
 *   err = mpmcring_bpf_commit(r);  (as output's, or -ENOENT: ring gone)
 *
 * builds a record of up to MPMCRING_BPF_MAX_RESERVE bytes in pieces (bytes
 * not written are zero; a longer length is refused, NULL, and counted as
 * too big: output takes more; on 6.1 a write's data must not be a
 * referenced object itself, such as a BPF ring buffer sample: "more than
 * one arg with ref_obj_id", beside the handle) in
 * a staging buffer, and commit sends it whole: nothing of the ring is held
 * in between, so the program may sleep there. The buffer is one of its
 * CPU's 16, of which callers that may sleep (sleepable programs) hold 8
 * at most, task context that cannot sleep 12: a program that sleeps
 * holding one keeps it from other sleepable programs on that CPU (reserve
 * returns NULL, counted as no_buffer and its part no_buffer_sleep);
 * programs that cannot sleep keep 4 of the CPU's buffers that no sleeper
 * can take. A sleepable program that reserves inside bpf_rcu_read_lock()
 * or bpf_preempt_disable() counts as one that cannot sleep: it must not
 * sleep holding the reservation after it unlocks.
 * Every refusal is counted. What a ring refuses (too big, full, priority)
 * is a drop of that ring, told to its consumers. The rest is counted
 * module-wide, by reason, in /sys/module/mpmcring/parameters/bpf_refused
 * (and by mpmcring stat): an unknown id or one whose ring is being
 * destroyed (-ENOENT, NULL: no_ring), flags
 * other than one class, a zero length (records are never empty) or NULL
 * data (-EINVAL, NULL), a commit whose ring was destroyed since reserve
 * (-ENOENT: ring_gone), no free buffer (NULL: no_buffer, and of those
 * no_buffer_sleep where the caller may sleep), and a write
 * outside its reservation or from NULL (-E2BIG, -EINVAL: bad_write).
 * The verifier refuses a program that can return holding a reservation.
 */
#ifndef MPMCRING_BPF_H
#define MPMCRING_BPF_H

/* The longest record reserve stages, and output copies (the module's bounds). */
#define MPMCRING_BPF_MAX_RESERVE 4096
#define MPMCRING_BPF_MAX_OUTPUT (64 << 10)

/* Priority classes for the flags argument (MPMCRING_PRIO_* in the uapi). */
#define MPMCRING_BPF_LOW 0
#define MPMCRING_BPF_NORMAL 1
#define MPMCRING_BPF_CRITICAL 2

/*
 * A reservation; programs may read len. The kernel's struct has more
 * (a pointer, so that the verifier takes only handles from reserve where
 * a handle goes): CO-RE finds len wherever it lies.
 */
struct mpmcring_bpf_rsv {
	__u32 len;
} __attribute__((preserve_access_index));

extern int mpmcring_bpf_output(__u32 ring_id, const void *data, __u32 data__sz, __u64 flags) __ksym;
extern int mpmcring_bpf_admit(__u32 ring_id, __u32 len, __u64 flags) __ksym;
extern struct mpmcring_bpf_rsv *mpmcring_bpf_reserve(__u32 ring_id, __u32 len, __u64 flags) __ksym;
extern int mpmcring_bpf_write(struct mpmcring_bpf_rsv *rsv, __u32 off, const void *data,
			      __u32 data__sz) __ksym;
extern int mpmcring_bpf_commit(struct mpmcring_bpf_rsv *rsv) __ksym;
extern void mpmcring_bpf_discard(struct mpmcring_bpf_rsv *rsv) __ksym;

#endif /* MPMCRING_BPF_H */
