#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Model-checks the protocol (tests/model/mpmcring.pml) with spin: builds one
# verifier for the safety searches and one for the non-progress search, runs
# each configuration below to the end of its state space, and prints TAP on
# stdout, one test per configuration (and one for the markers check). Exit
# status non-zero when any test fails.
#
#   tests/model/run.sh              the bounded run (make check; about 130 s
#                                   on 2 busy cores, 75 s once built)
#   tests/model/run.sh --full       the larger run (make model-full)
#   tests/model/run.sh NAME...      only these configurations (either set)
#
# A failed search prints the violated property and the interleaving that
# violates it (the TRAIL lines of the counterexample) as TAP diagnostics; the
# whole replay is in build/model/<set>/<name>.trail.txt.
#
# Known protocol findings (docs/model.md, "Known findings") run as pairs: finding-N
# expects the protocol as written to violate its property (the test fails if
# the counterexample is gone: then the proto fix landed and the model must
# follow it), finding-N-fixed expects the proposed fix to hold. With
# MODEL_STRICT=1, finding-N fails instead: make check stays red until fixed.
#
# Environment: MODEL_DIR (the folder holding mpmcring.pml; default: this
# one), MODEL_OUT (build folder; default build/model/<set>), MODEL_MEM (MiB a
# search may use; 2048, --full 8192), MODEL_OPT (the verifier's cc
# optimisation; -O2), MODEL_STRICT.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
src=${MODEL_DIR:-$here}

set_name=bounded
if [ "${1:-}" = --full ]; then
	set_name=full
	shift
fi
only=("$@")
out=${MODEL_OUT:-$top/build/model/$set_name}
mem=${MODEL_MEM:-$([ $set_name = full ] && echo 8192 || echo 2048)}
hash=$([ $set_name = full ] && echo 28 || echo 24)
mkdir -p "$out"

# (Two producers with two consumers and a fuller ring, holding, deaths or
# overwrite, and leases with the co-tenant, go past 50 million states and
# 6 GiB: not in either set.)
# name | search | environment | expected: pass, or the property a known
# finding violates | what it shows
bounded=(
"core-2p1c|safety|K=1 PREFILL=2 NPROD=2 NCONS=1|pass|two producers race for space, commit out of order; batch and holding claims; every property"
"core-1p2c|safety|K=1 PREFILL=2 NPROD=1 NCONS=2|pass|two consumers race for records (batch of 2, single, holding); every property"
"detach-2p1c|safety|K=1 PREFILL=2 NPROD=2 NCONS=1 DEATHS=1|pass|a consumer dies anywhere in a claim or while holding; a new one attaches"
"overwrite-2p1c|safety|K=1 PREFILL=2 NPROD=2 NCONS=1 OVERWRITE=1|pass|overwrite mode: producers evict unclaimed records, the newest window stays"
"overwrite-2p1c-p3|safety|K=1 PREFILL=3 NPROD=2 NCONS=1 OVERWRITE=1|pass|overwrite mode on a fuller ring: both producers evict at once; one whose last round found the bit taken, or whose room the other took, gives up on lost races, full only when its own last eviction was stuck"
"lease-1p1c|safety|K=1 PREFILL=3 NPROD=1 NCONS=1 LEASE=1|pass|leases: the tick, timeouts at any moment, revocation by cmpxchg, the commit reports it; a claim revoked while it is made returns -ESTALE"
"lease-detach-1p1c-p2|safety|K=1 PREFILL=2 NPROD=1 NCONS=1 LEASE=1 DEATHS=1|pass|leases and deaths: revoked or abandoned, never both; a new consumer's lease reset at the next reclaim (2 prefilled records; 3: --full)"
"lease-read2-1p1c|safety|K=1 PREFILL=3 NPROD=1 NCONS=1 READ2=1 LEASE=1|pass|read(2) claims are leased: revoked by cmpxchg on the kernel word, the commit reports it"
"read2-1p2c|safety|K=1 PREFILL=2 NPROD=1 NCONS=2 READ2=2|pass|a mapped consumer and read(2) (claims in kernel memory)"
"hostile-head-1p1c|safety|K=1 PREFILL=3 NPROD=1 NCONS=1 HOSTILE=1 HTARGET=1 CHECK=2|pass|a co-tenant writes the head (back): a claim on passed space is none, a claim passed later is reported at commit, also a claim made while holding below the held start (the commit asks about the oldest start)"
"hostile-head-read2|safety|K=1 PREFILL=3 NPROD=1 NCONS=1 READ2=1 HOSTILE=1 HTARGET=1 CHECK=2|pass|the same for read(2): it drops a copy of passed space"
"core-2p2c-s1|safety|K=1 PREFILL=1 NPROD=2 NCONS=2 SIZES=1 DISCARD=0 HOLD=0|pass|two producers and two consumers, one-granule records, no discards, no holding; every property"
"hostile-kernel-p2|safety|K=1 PREFILL=2 NPROD=1 NCONS=1 HOSTILE=1 CHECK=1|pass|kernel safety with the co-tenant: one write of any value into the head, a slot or a held count (2 prefilled records; 3: --full)"
"destroy-bpf-1p1c|safety|K=2 PREFILL=1 NPROD=1 NCONS=1 BPF=1 DESTROY=1|pass|mpmcring_destroy() racing a BPF producer (kfunc lookups under RCU) and a consumer: the memory outlives every kfunc that found the ring, no record commits after a consumer was told the end, none is left behind it, every consumer is told it"
"destroy-2p1c|safety|K=1 PREFILL=1 NPROD=2 NCONS=1 BPF=2 DESTROY=1|pass|the destroy after the caller's own producer is done, racing a BPF producer and a consumer"
"destroy-overwrite|safety|K=2 PREFILL=1 NPROD=1 NCONS=1 BPF=1 DESTROY=1 OVERWRITE=1|pass|the destroy in overwrite mode: the BPF producer evicts, the end still leaves no committed record unclaimed behind it (evicted ones are counted)"
"destroy-read2|safety|K=2 PREFILL=1 NPROD=1 NCONS=1 READ2=1 BPF=1 DESTROY=1|pass|the same with a read(2) consumer: 0 only once destroyed and drained"
"lease-slot-hostile|safety|K=0 PREFILL=3 NPROD=1 NCONS=1 LEASE=1 HOSTILE=1 HTARGET=2 HVALUES=1 HOLD=0 CHECK=1|pass|leases with a co-tenant writing the consumer's own slot (an older start): the lease restarts only for a start not behind the head it began with (lease_since)"
"destroy-write2|safety|K=2 PREFILL=1 NPROD=1 NCONS=1 WRITE2=1 DESTROY=1|pass|the destroy racing two write(2) calls and a consumer: each write looks at @closing in the RCU section that holds its reservation and commit, the grace period waits for it, so none commits after a consumer was told the end (finding 7, fixed)"
"lease-hostile-head|safety|K=0 PREFILL=2 NPROD=1 NCONS=1 LEASE=1 HOSTILE=1 HTARGET=1 HVALUES=1 HOLD=0 BATCH=1 CHECK=3|pass|leases with a co-tenant writing the head (back): the floor lease's head move and reclaim going by the moved head keep the kernel's and the consumer's properties (claims on freed space refused or reported)"
"liveness-2p1c|np|K=1 PREFILL=2 NPROD=2 NCONS=1 LIVENESS=1 CHECK=0|pass|no livelock: under weak fairness every cycle passes a reservation, a claim or quiescence after which reclaim frees everything"
)
full=(
"core-1p2c-p3|safety|K=1 PREFILL=3 NPROD=1 NCONS=2|pass|two consumers, a fuller ring"
"core-2p2c|safety|K=1 PREFILL=1 HOLD=0|pass|two producers and two consumers; every property"
"lease-2p1c|safety|K=1 PREFILL=2 NPROD=2 NCONS=1 LEASE=1|pass|leases with two producers"
"lease-detach-1p1c|safety|K=1 PREFILL=3 NPROD=1 NCONS=1 LEASE=1 DEATHS=1|pass|leases and deaths with a fuller ring (3 prefilled records): revoked or abandoned, never both; the lease reset at the next reclaim"
"read2-1p2c-p3|safety|K=1 PREFILL=3 NPROD=1 NCONS=2 READ2=2|pass|read(2) and a mapped consumer, a fuller ring"
"hostile-kernel|safety|K=1 PREFILL=3 NPROD=1 NCONS=1 HOSTILE=1 CHECK=1|pass|a co-tenant writes any value into the head, a slot or a held count: reservations still never overlap"
"hostile-kernel-tick|safety|K=1 PREFILL=3 NPROD=1 NCONS=1 TICK=1 HOSTILE=1 HVALUES=1 CHECK=1|pass|one co-tenant write with the tick reclaiming at any moment: reclaim never passes a record being written"
"hostile-head-tick|safety|K=1 PREFILL=3 NPROD=1 NCONS=1 TICK=1 HOSTILE=1 HTARGET=1 HVALUES=2 CHECK=2|pass|the head written back with the tick reclaiming at any moment: every claim reclaim passes is refused or reported"
"count-hostile|safety|K=1 PREFILL=3 NPROD=1 NCONS=1 DEATHS=1 HOSTILE=2 HTARGET=10 HVALUES=1 CHECK=8|pass|what a release counts as lost is capped by the claimed span, whatever the slot says"
"liveness-1p2c|np|K=1 PREFILL=2 NPROD=1 NCONS=2 LIVENESS=1 CHECK=0|pass|no livelock with two consumers racing"
"lease-1p1c-single|safety|K=1 PREFILL=3 NPROD=1 NCONS=1 LEASE=1 BATCH=1|pass|leases with a consumer of single records: mpr_claim_one() (cached prod_pos) revoked while it claims returns -ESTALE"
"hostile-head-single|safety|K=1 PREFILL=3 NPROD=1 NCONS=1 HOSTILE=1 HTARGET=1 CHECK=2 BATCH=1|pass|the head written back under a consumer of single records: mpr_claim_one()'s claims on passed space are none"
"finding-4|safety|K=1 PREFILL=3 NPROD=1 NCONS=1 TICK=1 HOSTILE=1 HTARGET=1 CHECK=16|repair|a corrupt head is not repaired when prod_pos is 0"
"destroy-bpf-1p1c-mem|safety|K=2 PREFILL=1 NPROD=1 NCONS=1 BPF=1 DESTROY=1 CHECK=1|pass|destroy-bpf-1p1c with the kernel group alone (mem_valid among it): the configuration the memory plants run, so that end_complete does not trip first and the plant is the code change alone"
"destroy-lease|safety|K=2 PREFILL=1 NPROD=1 NCONS=1 BPF=1 DESTROY=1 LEASE=1|pass|the destroy with leases (the clock running: end_told is vacuous, the clock can always move)"
"destroy-lease-read2|safety|K=2 PREFILL=1 NPROD=1 NCONS=1 READ2=1 BPF=1 DESTROY=1 LEASE=1|pass|the destroy with a leased read(2) consumer"
"destroy-write2-bpf|safety|K=1 PREFILL=1 NPROD=2 NCONS=1 WRITE2=1 BPF=2 DESTROY=1|pass|the destroy racing a write(2) and a BPF producer at once: one grace period waits for both kinds of section"
"destroy-1p2c|safety|K=1 PREFILL=1 NPROD=1 NCONS=2 BPF=1 DESTROY=1|pass|the destroy with two consumers racing for the last records: each is told the end, none before the last record is claimed"
"hostile-head-2w|safety|K=1 PREFILL=2 NPROD=1 NCONS=1 HOSTILE=2 HTARGET=1 CHECK=2|pass|two co-tenant writes to the head (back, then forward again, or the other way): claims on passed space are none or reported"
)
if [ $set_name = full ]; then configs=("${full[@]}"); else configs=("${bounded[@]}"); fi
if [ ${#only[@]} -gt 0 ]; then
	sel=()
	for c in "${bounded[@]}" "${full[@]}"; do
		for n in "${only[@]}"; do [ "${c%%|*}" = "$n" ] && sel+=("$c"); done
	done
	[ ${#sel[@]} -eq ${#only[@]} ] || { echo "Bail out! unknown configuration in: ${only[*]}"; exit 2; }
	configs=("${sel[@]}")
fi

echo "1..$((${#configs[@]} + 1))"
n=0 failed=0
t_start=$SECONDS

# ---- the markers: the model and the code name the same steps
n=$((n + 1))
if msg=$(bash "$here/check-markers.sh" "$src/mpmcring.pml" 2>&1); then
	echo "ok $n - markers: $msg"
else
	echo "not ok $n - markers: the model and proto/ or docs/protocol.md disagree"
	printf '%s\n' "$msg" | sed 's/^/# /'
	failed=1
fi

# ---- build: one verifier per kind of search
# (kept between runs, keyed by the model, the flags and spin's version)
build() {	# build <dir> <cflags...>
	local d=$1 key
	shift
	mkdir -p "$d"
	key=$({ cat "$src/mpmcring.pml"; echo "${MODEL_OPT:--O2} $mem $*"; spin -V; } 2>&1 |
		sha1sum | cut -c1-16)
	[ -x "$d/pan" ] && [ "$(cat "$d/key" 2>/dev/null)" = "$key" ] && return 0
	rm -f "$d/key"
	cp "$src/mpmcring.pml" "$d/" || return 1
	(cd "$d" && spin -a mpmcring.pml >spin.log 2>&1 &&
		cc -w "${MODEL_OPT:--O2}" -DCOLLAPSE -DMEMLIM="$mem" "$@" -o pan pan.c >cc.log 2>&1) &&
		echo "$key" >"$d/key"
}
t0=$SECONDS
ok_s=0 ok_n=0 pid_s= pid_n=
kinds=$(printf '%s\n' "${configs[@]}" | cut -d'|' -f2 | sort -u)
if grep -qx safety <<<"$kinds"; then
	build "$out/safety" -DSAFETY &
	pid_s=$!
fi
if grep -qx np <<<"$kinds"; then
	build "$out/np" -DNP -DNFAIR=4 &
	pid_n=$!
fi
[ -n "$pid_s" ] && wait "$pid_s" && ok_s=1
[ -n "$pid_n" ] && wait "$pid_n" && ok_n=1
echo "# built the verifiers in $((SECONDS - t0)) s (spin $(spin -V 2>/dev/null | awk '{print $3}'))"

run_one() {	# run_one <name> <search> <env> <expect> <what>
	local name=$1 search=$2 envs=$3 expect=$4 what=$5 d log res states time viol
	n=$((n + 1))
	d=$out/$search
	log=$out/$name.log
	if { [ "$search" = safety ] && [ $ok_s = 0 ]; } || { [ "$search" = np ] && [ $ok_n = 0 ]; }; then
		echo "not ok $n - $name: the verifier did not build"
		sed 's/^/# /' "$d/spin.log" "$d/cc.log" 2>/dev/null | tail -n 20
		failed=1
		return
	fi
	local flags=(-m200000 -w$hash)
	[ "$search" = np ] && flags+=(-l -f)
	# shellcheck disable=SC2086 # envs is words on purpose
	(cd "$d" && rm -f mpmcring.pml.trail &&
		env $(printf 'MODEL_%s ' $envs) ./pan "${flags[@]}") >"$log" 2>&1
	states=$(awk '/states, stored/ {print $1; exit}' "$log")
	time=$(grep -oE 'elapsed time [0-9.]+' "$log" | awk '{print $3}')
	viol=$(grep -oE 'MODEL: property [a-z_]+ violated' "$log" | head -n 1 | awk '{print $3}')
	local errors complete=1
	errors=$(grep -oE 'errors: [0-9]+' "$log" | awk '{print $2}')
	grep -qE 'reached -DMEMLIM|max search depth too small|Search not completed' "$log" && complete=0
	if [ -f "$d/mpmcring.pml.trail" ]; then
		cp "$d/mpmcring.pml.trail" "$out/$name.trail"
		# the replay needs the same configuration
		# shellcheck disable=SC2086
		(cd "$d" && env $(printf 'MODEL_%s ' $envs) ./pan -r) >"$out/$name.trail.txt" 2>&1
		[ -z "$viol" ] && viol=$(grep -oE 'MODEL: property [a-z_]+ violated' \
			"$out/$name.trail.txt" | head -n 1 | awk '{print $3}')
		[ -z "$viol" ] && [ "$search" = np ] && viol=non_progress_cycle
		[ -z "$viol" ] && viol=$(grep -oE 'invalid end state|assertion violated' "$log" | head -n 1)
	fi
	res="${states:-?} states, ${time:-?} s"
	if [ "$expect" = pass ]; then
		if [ "${errors:-1}" = 0 ] && [ $complete = 1 ]; then
			echo "ok $n - $name: $what ($res)"
			return
		fi
		echo "not ok $n - $name: $what (${viol:-incomplete search}; $res)"
	else
		if [ "$viol" = "$expect" ] && [ "${MODEL_STRICT:-0}" != 1 ]; then
			echo "ok $n - $name: known protocol finding reproduces: $what ($expect violated; $res; trail in $out/$name.trail.txt)"
			return
		fi
		if [ "$viol" = "$expect" ]; then
			echo "not ok $n - $name: protocol finding: $what ($expect violated; MODEL_STRICT=1)"
		else
			echo "not ok $n - $name: expected the known violation of $expect, got ${viol:-none} ($res): if proto/ was fixed, update the model and run.sh"
		fi
	fi
	failed=1
	[ -n "$viol" ] && echo "# violated: $viol ($envs)"
	if [ -f "$out/$name.trail.txt" ]; then
		echo "# the interleaving (whole replay: $out/$name.trail.txt):"
		grep -E '^ *(TRAIL|MODEL)' "$out/$name.trail.txt" | sed 's/^ */#   /' | tail -n 40
	else
		grep -E 'error|MEMLIM|depth' "$log" | sed 's/^/# /' | tail -n 5
	fi
}

for c in "${configs[@]}"; do
	IFS='|' read -r name search envs expect what <<<"$c"
	run_one "$name" "$search" "$envs" "$expect" "$what"
done
echo "# $set_name model run: $((SECONDS - t_start)) s"
exit $failed
