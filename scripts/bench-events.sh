#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench-events: the same kernel events captured three ways in one
# qemu guest on Debian's stock kernel, side by side: mpmcring
# (mpmcring_events.ko, 1/2/4 zero-copy consumers), a BPF ring buffer
# (reserve/submit, libbpf ring_buffer__poll, with and without a
# bpf_ringbuf_query() priority policy) and a perf buffer
# (bpf_perf_event_output, perf_buffer__poll); workloads: an openat loop, a
# fork+exec storm, a syscall flood with marker execs, and draining a full
# buffer (bench/events/evbench.c). TCG emulates the CPU: read the ratios.
#
#   scripts/bench-events.sh
#
# Knobs: MPMCRING_BENCH_KERNEL (stock-6.1; stock-6.12 works too),
# MPMCRING_BENCH_CPUS (vCPUs, default 2), MPMCRING_EVB_REPS (7),
# MPMCRING_EVB_SYSCALLS (20000 openat per run), MPMCRING_EVB_STORM (100
# fork+exec+wait per run, on CPU 0), MPMCRING_EVB_FLOOD_S (3),
# MPMCRING_EVB_FLOOD_WORK (2000 rounds of agent work per event in the
# flood's consumers), MPMCRING_EVB_DRAIN
# (100000 events), MPMCRING_EVB_PARTS (syscalls,storm,flood,drain),
# MPMCRING_EVB_TRANSPORTS (e.g. ring1,ring1c,bpfring1,bpfring2,rbb,perf: the rows
# to run, by evbench.c's short names; untraced and BPF ringbuf always run,
# the ratios need them), MPMCRING_BENCH_TIMEOUT (seconds, default 2400),
# MPMCRING_EVB_RESULTS (the results folder's name, default the kernel's: a
# partial run elsewhere), MPMCRING_EVB_PROFILE=1 (count the guest's
# instructions in each workload with bench/tcgprof/insn_prof.so and name
# where they go: profile.txt; the timings of such a run are the plugin's,
# not the transports').
# Output: the tables on stdout; bench/results/events/<kernel>/{output.txt,
# bench.jsonl, console.log[, insn_prof.txt, profile.txt]}.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KID=${MPMCRING_BENCH_KERNEL:-stock-6.1}
CPUS=${MPMCRING_BENCH_CPUS:-2}
TIMEOUT=${MPMCRING_BENCH_TIMEOUT:-2400}
[[ $KID == stock-* ]] || die "MPMCRING_BENCH_KERNEL=$KID: the race needs a stock kernel (BTF, BPF, JIT)"
release=$(stock_release "$KID") || true
[ -n "$release" ] || die "the $KID kernel is not installed (scripts/deps.sh installs it)"
kdir=/lib/modules/$release/build image=/boot/vmlinuz-$release
out="$REPO/bench/results/events/${MPMCRING_EVB_RESULTS:-$KID}"
[[ ${MPMCRING_EVB_RESULTS:-$KID} =~ ^[A-Za-z0-9._-]+$ ]] || die "MPMCRING_EVB_RESULTS: a folder name"
work="$REPO/build/bench-events-vm/$KID"
mkdir -p "$out" "$work"

[ "${MPMCRING_DEPS:-1}" = 0 ] || "$REPO/scripts/deps.sh"
say "modules for $KID"
mapfile -t kos < <("$REPO/scripts/build-modules.sh" "$KID" "$kdir" "$REPO/build/modules/$KID")
say "evbench and its BPF programs (CO-RE, vmlinux.h from $release's BTF; static)"
make -s -C "$REPO/bench/events" BPF_KERNEL="$release" >/dev/null
args=()
for ko in "${kos[@]}"; do args+=(-m "$ko"); done
"$REPO/scripts/build-initramfs.sh" -o "$work/initramfs.cpio.gz" \
	-i "$REPO/tests/harness/init.sh" "${args[@]}" \
	-t "$REPO/build/bench-events/evbench" -b "$REPO/build/bench-events/evmarker"

# init.sh runs every program in /tests; settings reach evbench through the
# environment (the kernel hands name=value words to init).
envs=()
for v in REPS SYSCALLS STORM FLOOD_S FLOOD_WORK DRAIN PARTS TRANSPORTS PROFILE; do
	n=MPMCRING_EVB_$v
	[ -n "${!n:-}" ] && envs+=("$n=${!n}")
done
plugin=()
if [ "${MPMCRING_EVB_PROFILE:-0}" = 1 ]; then
	say "insn_prof (TCG plugin)"
	make -s -C "$REPO/bench/tcgprof" >/dev/null
	plugin=(-plugin "$REPO/build/tcgprof/insn_prof.so,out=$work/insn_prof.txt")
fi
say "booting $KID ($release) with $CPUS vCPUs (TCG); evbench ${envs[*]:-with its defaults}"
rm -f "$work/console.log" "$work/results.log" "$work/insn_prof.txt"
status=0
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 -accel tcg,thread=multi -smp "$CPUS" -m 2G \
	-nodefaults -display none -no-reboot -kernel "$image" -initrd "$work/initramfs.cpio.gz" \
	-append "console=ttyS0 $GUEST_CMDLINE_COMMON $GUEST_CMDLINE_TSC panic=-1 quiet mpmcring_test_timeout=$TIMEOUT ${envs[*]:-}" \
	-serial "file:$work/console.log" -serial "file:$work/results.log" "${plugin[@]}" </dev/null ||
	status=$?
[ "$status" -ne 124 ] || die "the guest did not finish in ${TIMEOUT}s (MPMCRING_BENCH_TIMEOUT)"

# The evbench section of the results port.
awk '/^@@MPMCRING BEGIN vm evbench/ { on = 1; next } /^@@MPMCRING END vm evbench/ { on = 0; print; next } on' \
	"$work/results.log" | tr -d '\r' >"$out/output.txt"
cp "$work/console.log" "$out/console.log"
grep -v '^BENCH \|^@@' "$out/output.txt" || true
sed -n 's/^BENCH //p' "$out/output.txt" >"$out/bench.jsonl"
grep -q '^@@MPMCRING END vm evbench rc=0 ' "$out/output.txt" ||
	die "evbench failed in the guest (see $out/output.txt and $out/console.log)"
if [ ${#plugin[@]} -gt 0 ]; then
	cp "$work/insn_prof.txt" "$out/insn_prof.txt"
	python3 "$REPO/bench/tcgprof/report.py" --windows "$out/insn_prof.txt" \
		--output "$out/output.txt" --binary "$REPO/build/bench-events/evbench" | tee "$out/profile.txt"
fi
say "results: ${out#"$REPO"/}/output.txt, bench.jsonl${plugin:+, profile.txt}"
