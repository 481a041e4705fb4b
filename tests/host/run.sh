#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Host tests, as TAP on stdout: the library's unit tests and the protocol
# stress test, each built plain, with ASan+UBSan and with TSan; and the
# consumer fuzzer (libFuzzer, ASan+UBSan) for a fixed number of inputs; the
# Go package's vet, race-detector tests and fuzzer (go_test.sh); and the spin
# model of the protocol (tests/model).
# Build output and sanitizer logs go to build/host/. Exit status non-zero
# when any test fails.
#
# Two lanes, each one test at a time: the second (the packaging test, the
# model, the Go package: about half the time, none of them built here)
# starts at once, while the first builds the C tests three ways and runs
# them. make check runs this beside the guests; one lane was the last
# thing running, with a CPU idle, for minutes after the guests were done.
# The lanes share nothing a test writes (the packaging test works in a
# copy of the tree, the model in build/model, Go in its own caches). The
# TAP comes at the end, in one order.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out="$top/build/host"
mkdir -p "$out"

# children_cpu <scratch file> <variable>: sets the variable to the CPU
# seconds (user + system) of this shell's finished children. Not through
# $(...): a subshell's times are its own children's.
children_cpu() {
	local t a b c d
	times >"$1"
	t=$(tail -n 1 "$1")
	t=${t//m/ }
	t=${t//s/}
	t=${t//,/.}	# a locale's decimal comma
	read -r a b c d <<<"$t"
	printf -v "$2" '%s' "$(awk -v a="$a" -v b="$b" -v c="$c" -v d="$d" \
		'BEGIN { printf "%.2f", a * 60 + b + c * 60 + d }')"
}

# run_lane <results file> <name|command>...: each in turn, "rc name" lines;
# each test's wall and CPU seconds in <results file>.times, for sizing CI
# (printed, never judged).
run_lane() {
	local res=$1 t name cmd t0 c0 c1
	shift
	: >"$res"
	: >"$res.times"
	for t in "$@"; do
		name=${t%%|*}
		cmd=${t#*|}
		t0=$(date +%s.%N)
		children_cpu "$res.cpu" c0
		# A deadlocked test must not hang make check without its summary:
		# each test gets MPMCRING_HOST_TEST_TIMEOUT seconds (default 900;
		# the slowest, the fuzzers and the model, take a few minutes on 2
		# busy cores), then it and its children are killed (--kill-after).
		TSAN_OPTIONS="halt_on_error=1 exitcode=66" \
			UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1" \
			ASAN_OPTIONS="detect_leaks=1" \
			timeout --kill-after=10 "${MPMCRING_HOST_TEST_TIMEOUT:-900}" $cmd \
			>"$out/${name//\//_}.log" 2>&1
		echo "$? $name" >>"$res"
		children_cpu "$res.cpu" c1
		awk -v n="$name" -v t0="$t0" -v t1="$(date +%s.%N)" -v c0="$c0" -v c1="$c1" \
			'BEGIN { printf "%s %.1f %.1f\n", n, t1 - t0, c1 - c0 }' >>"$res.times"
	done
}

lane2=()
add2() { lane2+=("$1|$2"); }	# name|command

# The Debian packages, built, linted, installed and used in a copy of this
# root (deb_test.sh says how).
add2 "packaging/deb_build_lintian_use" "$here/deb_test.sh"

# The protocol model (spin): every interleaving of a small ring must keep
# the safety properties; the markers tying the model to proto/ must catch
# drift. The bugs planted in the model (tests/model/plant.sh), which
# prove the run goes red with a counterexample, run in make check-harness
# (CI runs both): here they doubled about 5 CPU-minutes of every CI run.
model="$top/tests/model"
add2 "model/bounded" "$model/run.sh"
add2 "model/markers_selftest" "$model/markers-selftest.sh"
# The wakeups, each in its own small model, their plants with them (20 s).
add2 "model/wakeups" "$model/wakeups.sh"
# Chunked reservation's own small model, its plants with it (2 CPU-minutes).
add2 "model/chunks" "$model/chunks.sh"

# The Go package (go/): vet, the tests under the race detector, the fuzzer.
add2 "go/vet" "$here/go_test.sh vet"
add2 "go/test_race" "$here/go_test.sh race"
add2 "go/test" "$here/go_test.sh test"
add2 "go/fuzz_consumer_300k_inputs" "$here/go_test.sh fuzz 300000"

run_lane "$out/lane2.results" "${lane2[@]}" &
lane2_pid=$!

tests=()
add() { tests+=("$1|$2"); }	# name|command
# A test that may skip: kselftest's exit 4, its reason on a "# SKIP" line
# (the inventory still says where a skip is allowed).
declare -A may_skip=()
add_may_skip() { add "$1" "$2"; may_skip[$1]=1; }

for san in plain asan tsan; do
	if ! make -s -C "$here" SAN=$san >"$out/build-$san.log" 2>&1; then
		add "build/$san" "false"
		continue
	fi
	b="$out/$san"
	add "$san/lib_test" "$b/lib_test"
	add "$san/api_test" "$b/api_test"
	# A callback freeing the consumer or poller that runs it.
	add "$san/free_in_cb_test" "$b/free_in_cb_test"
	add "$san/free_in_cb_lto" "$b/free_in_cb_lto"
	# mpmcring cat: losses after its last look reported, a claim revoked
	# while it was made reported and read past.
	add "$san/cat_test" "$b/cat_test"
	add "$san/events_test" "$b/events_test"
	add "$san/bpf_refused_test" "$b/bpf_refused_test"
	# mpmcring stat: no room wakeup count from a module older than ABI
	# 1.4, no chunk statistics from one older than 1.6.
	add "$san/stat_abi_test" "$b/stat_abi_test"
	# mpr_reclaim_walk() against the single loop the model checks.
	add "$san/reclaim_walk_test" "$b/reclaim_walk_test $([ $san = tsan ] && echo 100000)"
	# mpr_take_lost() raced by three consumers: each loss taken once.
	add "$san/lost_take_test" "$b/lost_take_test"
	# consume and the poller after a callback stopped a consume.
	add "$san/stopped_consume_test" "$b/stopped_consume_test"
	# take_lost after its take gave up to other consumers takes again.
	# A breakpoint's signal stands in for them: TSan delays it past the
	# swap, so no TSan run.
	[ $san = tsan ] || add_may_skip "$san/lost_gave_up_test" "$b/lost_gave_up_test"
	# mpmcring_open() unmaps what it mapped when a later mapping fails.
	add "$san/open_fail_test" "$b/open_fail_test"
	# The commit asks the kernel for room only where room_at says so.
	add "$san/commit_room_test" "$b/commit_room_test"
	# mpmcring_batch_next()'s dense step against the stamp walk, and both
	# over garbage headers and stale stamps. One thread: no TSan run. The
	# dense step under races is stress_test's: every third claim is a
	# mpmcring_read_batch() (of -b records, 16 unless told) stepped through
	# by mpmcring_batch_next(), in every stress run below, TSan included.
	[ $san = tsan ] || add "$san/batch_walk_test" "$b/batch_walk_test"
	# Chunked reservation's positions, fillers and classes, one thread.
	[ $san = tsan ] || add "$san/chunk_test" "$b/chunk_test"
	# Producers that retry (full delivery), that drop, in overwrite mode,
	# with stalls between reserve and commit, with big records.
	n=200000
	[ $san = tsan ] && n=30000
	add "$san/stress_retry" "$b/stress_test -r -n $n"
	add "$san/stress_drop" "$b/stress_test -n $n -p 4 -c 2"
	# The module's reclaim throttle, half the records low-priority: drops
	# (mostly full, some by priority) while reclaim is often not due, each
	# counted once (issue 12).
	add "$san/stress_drop_throttled" "$b/stress_test -n $n -p 4 -c 2 -G 20000 -M"
	# Four consumers racing for claims of a few records: claims that lose
	# the race and start over (mpmcring_read_many() refills its array).
	add "$san/stress_claim_races" "$b/stress_test -r -n $((n / 2)) -p 1 -c 4 -b 4"
	# One record per claim: mpr_claim_one(), mpmcring_read()'s path, raced
	# by four consumers on a small ring where reclaim runs all the time (an
	# announce moved after the head's cmpxchg loses records here in most
	# runs; lib_test's t_announce_before_head catches it every time), and
	# with leases revoked under it.
	add "$san/stress_single" "$b/stress_test -r -n $((n * 5)) -p 2 -c 4 -b 1 -s 4096"
	add "$san/stress_single_leases" "$b/stress_test -r -n $((n / 10)) -p 2 -c 3 -b 1 -T 5 -H 40 -s 16384"
	# Overwrite mode runs reclaim on nearly every reservation: the place
	# where a head/prod_pos load-order bug once moved the head backwards.
	add "$san/stress_overwrite" "$b/stress_test -o -s 8192 -r -n $((n < 100000 ? 100000 : n))"
	add "$san/stress_overwrite_tiny" "$b/stress_test -o -s 4096 -r -n $n -p 3 -c 3"
	add "$san/stress_stall" "$b/stress_test -S 500 -r -n $((n / 4)) -c 4"
	# Chunked reservation (proto/mpmcring_chunk.h): each producer fills
	# its chunk while a thread closes chunks under them as the module's
	# tick does; and with every other record low-priority (a chunk closed
	# and reopened at each change of class). Overwrite rings take no
	# chunks (chunk_test).
	add "$san/stress_chunks" "$b/stress_test -r -n $n -p 3 -c 3 -K 1024 -X"
	add "$san/stress_chunks_mixed" "$b/stress_test -n $n -p 4 -c 2 -G 20000 -M -K 2048 -X"
	add "$san/stress_big_records" "$b/stress_test -r -n $((n / 10)) -l 500 -L 2000 -s 16384 -b 4"
	add "$san/stress_contention" "$b/stress_test_contention -r -n $((n / 10)) -p 4 -c 2 -C"
	# Consumers stall past their lease while producers need the space.
	add "$san/stress_leases" "$b/stress_test -r -n $((n / 4)) -T 5 -H 40 -s 16384"
	add "$san/stress_leases_overwrite" "$b/stress_test -o -r -n $((n / 4)) -T 5 -H 40 -s 16384"
	# Claims of up to 100 records, revoked under stalled consumers:
	# mpmcring_consume() hands out 64 from its claim's walk (checking the
	# lease between them) and walks the rest again.
	add "$san/stress_long_claims_leases" "$b/stress_test -r -n $((n / 4)) -T 5 -H 40 -s 65536 -b 100"
done

fuzz="$out/fuzz_consumer"
if command -v clang >/dev/null &&
   clang -std=c11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -I"$top/userspace/include" -I"$top/userspace/lib" \
	-I"$top/uapi" -I"$top/proto" -o "$fuzz" "$here/fuzz_consumer.c" \
	"$top/userspace/lib/open.c" "$top/userspace/lib/consume.c" \
	"$top/userspace/lib/io.c" >"$out/build-fuzz.log" 2>&1; then
	add "fuzz/consumer_1m_inputs" "$fuzz -runs=1000000 -seed=1 -max_len=4096"
else
	add "build/fuzz" "false"
fi

fuzz_ev="$out/fuzz_events"
if command -v clang >/dev/null &&
   clang -std=c11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -I"$top/userspace/include" -I"$top/userspace/lib" \
	-I"$top/uapi" -I"$top/proto" -o "$fuzz_ev" "$here/fuzz_events.c" \
	"$top/userspace/lib/events.c" "$top/userspace/lib/open.c" \
	"$top/userspace/lib/consume.c" "$top/userspace/lib/io.c" \
	>"$out/build-fuzz-events.log" 2>&1; then
	add "fuzz/events_1m_inputs" "$fuzz_ev -runs=1000000 -seed=1 -max_len=512"
else
	add "build/fuzz_events" "false"
fi

add "install/destdir_pkgconfig_uninstall" "$here/install_test.sh"
add "docs/examples_compile" "$here/doc_examples.sh"
add "install/side_effects" "$here/install_side_effects.sh"
add "docs/references_in_tree" "$here/doc_refs.sh"
add "packaging/module_btf_failures_keep_modules" "$here/module_btf_test.sh"
add "packaging/kbuild_refuses_32bit" "$here/kbuild_64bit_test.sh"
# Which old test kernels and source trees the cache drops (scripts/lib.sh).
add "scripts/cache_prune" "$here/cache_prune_test.sh"
# This runner's own reading of a test's cases (cases.sh).
add "host_runner/cases_by_name" "$here/cases_test.sh"

# bench/tcgprof/report.py (MPMCRING_EVB_PROFILE=1's numbers) on a
# made-up profile whose answer is known.
add "bench/tcgprof_report" "python3 $top/bench/tcgprof/test_report.py"
# The host benchmark's statistics and two-run comparison (bench/report/)
# on made-up rounds whose answer is known.
add "bench/report_stats" "python3 $top/bench/report/test_report.py"
# The host benchmark's order of implementations within rounds: every
# place and every neighbour equally often (bench/host/order.c).
add "bench/host_order" "make -s -C $top/bench check-order"
# The same for the Go guest benchmark's variants (bench/go/vm/order.go).
add "bench/go_order" "$here/go_test.sh bench"
# Which instructions the plugin counts as locked (bench/tcgprof/locked.h).
add "bench/tcgprof_locked" "make -s -C $top/bench/tcgprof check-locked"
# The events race's spawner: its storm and markers fail loudly, never as
# timed operations (bench/events/spawn.c).
add "bench/events_spawn" "make -s -C $top/bench/events check-spawn"

# The Go consumer against the C producer in a process of its own, the
# producer built with ASan+UBSan (go_test.sh race runs it too, built plain).
add "go/c_producer_asan" "$here/go_test.sh cproducer $out/asan/go_cproducer"

# In a subshell of its own, as lane 2 is: a shell's children times take in
# every child it reaps, and this one reaps lane 2.
(run_lane "$out/lane1.results" "${tests[@]}")
wait "$lane2_pid"

# cases <test> <log>: the cases inside a test (tests/host/cases.sh).
. "$here/cases.sh"

all=("${tests[@]}" "${lane2[@]}")
declare -A rcs=()
while read -r rc name; do
	rcs[$name]=$rc
done < <(cat "$out/lane1.results" "$out/lane2.results")
report=()
i=0 fail=0
for t in "${all[@]}"; do
	i=$((i + 1))
	name=${t%%|*}
	log="$out/${name//\//_}.log"
	rc=${rcs[$name]:-none}
	skip=
	[ "$rc" = 4 ] && [ -n "${may_skip[$name]:-}" ] &&
		skip=$(grep -m1 '^# SKIP ' "$log" | cut -c8-)
	if [ "$rc" = 0 ]; then
		report+=("ok $i $name")
	elif [ -n "$skip" ]; then
		report+=("ok $i $name # SKIP $skip")
	else
		report+=("not ok $i $name")
		fail=1
		[ "$rc" = 124 ] || [ "$rc" = 137 ] &&
			report+=("# timed out after ${MPMCRING_HOST_TEST_TIMEOUT:-900}s (MPMCRING_HOST_TEST_TIMEOUT), at niceness $(nice) (MPMCRING_HOST_NICE)")
		[ "$rc" = none ] && report+=("# no result recorded (its lane died)")
		[ "$rc" = 4 ] && report+=("# exit 4 (skip) without a '# SKIP <reason>' line$([ -n "${may_skip[$name]:-}" ] || echo ', and this test may not skip')")
		# go test -v's progress lines would push its failures out of
		# the tail. No tail for a test that did not run: its log, if
		# any, is an earlier run's.
		[ "$rc" = none ] ||
			mapfile -t -O "${#report[@]}" report < <(grep -v -E '^[[:space:]]*(=== (RUN|PAUSE|CONT)|--- PASS)' "$log" |
				sed 's/^/# /' | tail -n 30)
	fi
	# A lane that died left this test's log of an earlier run, if any.
	[ "$rc" != none ] && [ -f "$log" ] || continue
	# One that skipped as a whole ran none of its cases: the inventory
	# lets them be missing where it allows that skip.
	[ -z "$skip" ] || continue
	while read -r st c; do
		i=$((i + 1))
		[ "$st" = ok ] || { st="not ok" c=${c#ok }; fail=1; }
		report+=("$st $i $name/$c")
	done < <(cases "$name" "$log")
done
echo "1..$i"
printf '%s\n' "${report[@]}"
# For sizing CI, never judged: where the host tests' CPU goes.
echo "# the ten tests that took the most CPU (wall s, CPU s; all: $out/lane*.results.times):"
sort -k3,3nr "$out/lane1.results.times" "$out/lane2.results.times" | head -n 10 | sed 's/^/#   /'
exit $fail
