/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The reasons of bpf_refused, in the order the module prints them: the
 * list alone, each MPR_BPF_REFUSAL(ID, "name", "what mpmcring stat says
 * after the count"). proto/mpmcring_bpf_refusal.h includes it, with
 * MPR_BPF_REFUSAL defined, once for each table it builds (as the kernel's
 * bpf_types.h is), so it has no include guard; included alone, it
 * stops the build.
 *
 * no_ring: no ring has the id (stale or wrong).
 * bad_flags: flags other than one priority class.
 * zero_len: an empty record.
 * null_data: output from a NULL pointer.
 * ring_gone: commit, the ring destroyed since reserve.
 * no_buffer: reserve, no staging buffer free for the caller's context,
 *	whatever that context is (sleepers included, as before
 *	no_buffer_sleep was added).
 * no_buffer_sleep: the part of no_buffer whose caller may sleep: the
 *	share those may take is in use, mostly by other sleepers, which hold
 *	theirs for as long as whoever makes them sleep likes. Never more than
 *	no_buffer in one line; no_buffer - no_buffer_sleep is what callers
 *	that cannot sleep lost. A reader that does not know it still counts
 *	these refusals in no_buffer. mpmcring stat shows it inside
 *	no_buffer's text, "N no staging buffer (M of them for callers that
 *	may sleep)".
 * bad_write: a write outside its reservation, or from NULL.
 */
#ifndef MPR_BPF_REFUSAL
#error "include mpmcring_bpf_refusal.h, not this list"
#endif
MPR_BPF_REFUSAL(NO_RING, "no_ring", "unknown ring id")
MPR_BPF_REFUSAL(BAD_FLAGS, "bad_flags", "bad flags")
MPR_BPF_REFUSAL(ZERO_LEN, "zero_len", "empty")
MPR_BPF_REFUSAL(NULL_DATA, "null_data", "NULL data")
MPR_BPF_REFUSAL(RING_GONE, "ring_gone", "ring destroyed before commit")
MPR_BPF_REFUSAL(NO_BUFFER, "no_buffer", "no staging buffer")
MPR_BPF_REFUSAL(NO_BUFFER_SLEEP, "no_buffer_sleep", "for callers that may sleep")
MPR_BPF_REFUSAL(BAD_WRITE, "bad_write", "bad writes")
