#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench-go: the Go package's benchmarks (bench/RESULTS.md, "Go").
#
#   1. host: BenchmarkConsume (go/mpmcring/bench_test.go), zero-copy batches
#      vs copying one record at a time over a ring in memory filled by the
#      test producer, and bench/go/chost.c, the C library measured the same
#      way; MPMCRING_GOBENCH_HOST_RUNS runs (default 7), each measuring
#      every variant, reduced by bench/go/report.py to medians and same-run
#      ratios;
#   2. ipr: instructions per record of each drain (callgrind, Go and C);
#   3. guest: bench/go/vm (gobench) in a stock-6.1 qemu guest with the load
#      generator: Go zero-copy, Go copying, read(2) and the C library
#      (bench/go/cdrain.c) draining the same refilled ring, and
#      cilium/ebpf's ringbuf reader draining a BPF ring buffer of as many
#      records of the same size (bench/go/ringbuf/fill.bpf.c). Each drain
#      is timed in pieces of 256 records and rated by its median piece;
#      ratios are taken within a repetition, then their median and range.
#      The guest is a qemu run: where others share the machine, run this
#      under their VM lock (flock /tmp/mpmcring-vm.lock make bench-go).
#
# Knobs: MPMCRING_GOBENCH_HOST_RUNS, MPMCRING_GOBENCH_REPS (guest
# repetitions; default whole blocks of the variants' balanced order,
# bench/go/vm/order.go: 6), MPMCRING_GOBENCH_RECORDS (default 200000),
# MPMCRING_GOBENCH_SIZES (guest record sizes, default 64,1024,4096),
# MPMCRING_GOBENCH_VARIANTS (guest variants, default all),
# MPMCRING_GOBENCH_PARTS (host,ipr,vm), MPMCRING_GOBENCH_IPR_RECORDS
# (default 50000), MPMCRING_BENCH_TIMEOUT (default 1500).
# Output: bench/results/go/{host.txt,host.json,ipr.txt,vm.txt,vm.jsonl}.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out="$REPO/bench/results/go"
work="$REPO/build/bench-go"
mkdir -p "$out" "$work"
PARTS=${MPMCRING_GOBENCH_PARTS:-host,ipr,vm}
export GOPROXY=off GOFLAGS=-mod=mod

if [[ ,$PARTS, == *,host,* ]]; then
	runs=${MPMCRING_GOBENCH_HOST_RUNS:-7}
	say "host: chost (the C library, measured the same way)"
	gcc -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -I"$REPO/uapi" -I"$REPO/proto" \
		-I"$REPO/userspace/include" -I"$REPO/userspace/lib" -I"$REPO/userspace/harness" \
		-o "$work/chost" "$REPO/bench/go/chost.c" "$REPO/userspace/harness/hostring.c" \
		"$REPO/userspace/lib/open.c" "$REPO/userspace/lib/consume.c" "$REPO/userspace/lib/io.c" \
		-pthread
	(cd "$REPO/go" && go test -c -o "$work/mpmcring.test" ./mpmcring)
	say "host: $runs runs, each of BenchmarkConsume, chost and BenchmarkWritePaths"
	: >"$out/host-runs.txt"
	for i in $(seq 1 "$runs"); do
		echo "=== gobench run $i" >>"$out/host-runs.txt"
		"$work/mpmcring.test" -test.run '^$' -test.bench Consume -test.benchtime 400000x \
			>>"$out/host-runs.txt"
		"$work/chost" 400000 >>"$out/host-runs.txt"
		"$work/mpmcring.test" -test.run '^$' -test.bench WritePaths -test.benchtime 200000x \
			>>"$out/host-runs.txt"
	done
	python3 "$REPO/bench/go/report.py" "$out/host-runs.txt" "$out/host.json" | tee "$out/host.txt"
fi

# Instructions per record of the drain alone (callgrind counts only inside
# drainZeroCopy/drainCopy and drain_zero_copy/drain_copy): repeatable on a
# machine whose clock is shared with others.
if [[ ,$PARTS, == *,ipr,* ]]; then
	n=${MPMCRING_GOBENCH_IPR_RECORDS:-50000}
	[ -x "$work/chost" ] && [ -x "$work/mpmcring.test" ] ||
		die "the ipr part needs the host part's binaries: MPMCRING_GOBENCH_PARTS=host,ipr"
	say "ipr: callgrind, $n records per size and mode"
	printf '%6s %-15s %10s %10s %8s\n' bytes mode "Go Ir/rec" "C Ir/rec" "Go/C" | tee "$out/ipr.txt"
	for size in 64 1024 4096; do
		for mode in zerocopy-batch copy; do
			gofn=drainZeroCopy cfn=drain_zero_copy
			[ $mode = copy ] && gofn=drainCopy cfn=drain_copy
			GODEBUG=asyncpreemptoff=1 valgrind -q --tool=callgrind --callgrind-out-file="$work/cg.go" \
				--toggle-collect="*$gofn*" "$work/mpmcring.test" -test.run '^$' \
				-test.bench "Consume/$mode/$size\$" -test.benchtime "${n}x" >/dev/null
			valgrind -q --tool=callgrind --callgrind-out-file="$work/cg.c" \
				--toggle-collect="$cfn" "$work/chost" "$n" "$size" "$mode" >/dev/null
			# go test runs a benchmark once with b.N=1 before b.N=n.
			gi=$(sed -n 's/^summary: //p' "$work/cg.go") ci=$(sed -n 's/^summary: //p' "$work/cg.c")
			awk -v s=$size -v m=$mode -v g="$gi" -v c="$ci" -v n="$n" 'BEGIN {
				printf "%6d %-15s %10.0f %10.0f %7.2fx\n", s, m, g / (n + 1), c / n, (g / (n + 1)) / (c / n) }'
		done
	done | tee -a "$out/ipr.txt"
fi

if [[ ,$PARTS, == *,vm,* ]]; then
	release=$(stock_release stock-6.1) || true
	[ -n "$release" ] || die "the stock-6.1 kernel is not installed (scripts/deps.sh installs it)"
	say "modules for stock-6.1"
	mapfile -t kos < <("$REPO/scripts/build-modules.sh" stock-6.1 "/lib/modules/$release/build" \
		"$REPO/build/modules/stock-6.1")
	say "gobench and cdrain (static)"
	make -s -C "$REPO/userspace" lib >/dev/null
	(cd "$REPO/bench/go" && CGO_ENABLED=0 go build -o "$work/gobench" ./vm)
	gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static -I"$REPO/uapi" -I"$REPO/userspace/include" \
		-o "$work/cdrain" "$REPO/bench/go/cdrain.c" "$REPO/userspace/lib/libmpmcring.a"
	clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -Wall -Werror \
		-c "$REPO/bench/go/ringbuf/fill.bpf.c" -o "$work/fill.bpf.o"
	args=()
	for ko in "${kos[@]}"; do args+=(-m "$ko"); done
	"$REPO/scripts/build-initramfs.sh" -o "$work/initramfs.cpio.gz" \
		-i "$REPO/tests/harness/init.sh" "${args[@]}" -t "$work/gobench" -b "$work/cdrain" -b "$work/fill.bpf.o"
	REPS=${MPMCRING_GOBENCH_REPS:-0} RECORDS=${MPMCRING_GOBENCH_RECORDS:-200000}
	TIMEOUT=${MPMCRING_BENCH_TIMEOUT:-1500}
	say "booting stock-6.1 (TCG, 2 vCPUs); gobench: $( ((REPS)) && echo "$REPS" || echo "whole blocks of") repetitions of $RECORDS records"
	knobs=""
	for k in MPMCRING_GOBENCH_SIZES MPMCRING_GOBENCH_VARIANTS; do
		[ -z "${!k:-}" ] || knobs+=" $k=${!k}"
	done
	rm -f "$work/console.log" "$work/results.log"
	# loglevel=5: warnings and the stacks under them reach the console
	# (a soft lockup says where it is), the boot's info lines do not.
	status=0
	timeout -k 5 "$TIMEOUT" qemu-system-x86_64 -accel tcg,thread=multi -smp 2 -m 2G \
		-nodefaults -display none -no-reboot -kernel "/boot/vmlinuz-$release" \
		-initrd "$work/initramfs.cpio.gz" \
		-append "console=ttyS0 $GUEST_CMDLINE_COMMON $GUEST_CMDLINE_TSC panic=-1 loglevel=5 mpmcring_test_timeout=$((TIMEOUT > 120 ? TIMEOUT - 60 : TIMEOUT)) MPMCRING_GOBENCH_REPS=$REPS MPMCRING_GOBENCH_RECORDS=$RECORDS MPMCRING_GOBENCH_BPF=/bin/fill.bpf.o$knobs" \
		-serial "file:$work/console.log" -serial "file:$work/results.log" </dev/null || status=$?
	# What the guest printed is kept even when it ran out of time: the
	# ratios of every size it finished are in it.
	awk '/^@@MPMCRING BEGIN vm gobench/ { on = 1; next } /^@@MPMCRING END vm gobench/ { on = 0; print; next } on' \
		"$work/results.log" | tr -d '\r' >"$out/vm-output.txt"
	grep -v '^BENCH \|^@@\|^# ' "$out/vm-output.txt" | tee "$out/vm.txt" || true
	sed -n 's/^BENCH //p' "$out/vm-output.txt" >"$out/vm.jsonl"
	[ "$status" -ne 124 ] || die "the guest did not finish in ${TIMEOUT}s (MPMCRING_BENCH_TIMEOUT)"
	grep -q '^@@MPMCRING END vm gobench rc=0 ' "$out/vm-output.txt" ||
		die "gobench failed in the guest (see $out/vm-output.txt and $work/console.log)"
fi
