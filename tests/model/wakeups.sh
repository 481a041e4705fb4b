#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Model-checks the wakeups with spin, each in its own small model on a
# memory that reorders stores: consumers waiting for records
# (tests/model/wake.pml: a blocking read(2), poll, an edge-triggered
# epoll waiter and two with EPOLLEXCLUSIVE, with and without a watermark)
# and writers waiting for room
# (tests/model/room.pml: one that looks again after asking, one that does
# not). None may be left asleep with nobody to wake it, and each bug
# planted below must be caught, with the interleaving that shows it.
# Prints TAP; exit status non-zero when any test fails. About a minute
# on 2 cores, most of it compiling; up to 550 MB (wake-epoll-et-3p).
# plant-mixed-classes plants a misuse rather than a bug: the contract
# docs/trust.md states for EPOLLEXCLUSIVE, shown to be needed.
#
#   tests/model/wakeups.sh
#
# Environment: MODEL_OUT (build folder; default build/model/wakeups).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${MODEL_OUT:-$top/build/model/wakeups}

# name | model | spin -D flags | expected: pass, or what spin must report | what
# shellcheck disable=SC2034 # read by small_models_run
configs=(
"wake-read|wake||pass|read(2): two producers finish out of order; the consumer takes both, woken for the record at the head, whichever finishes last"
"wake-read-watermark|wake|-DK=1|pass|the same with a watermark of 2 granules: woken once the head record is finished and 2 granules are reserved"
"wake-read-3p|wake|-DNP=3 -DK=2|pass|three producers, a watermark of 4 granules: records finished inside the window that are neither the head's nor the crossing one"
"wake-poll|wake|-DPOLL|pass|poll(2) and level-triggered epoll: queued by each ->poll, mpmcring_poll()'s barrier"
"wake-poll-watermark|wake|-DPOLL -DK=1|pass|the same with a watermark"
"wake-poll-3p|wake|-DPOLL -DNP=3 -DK=2|pass|the same with three producers"
"wake-epoll-et|wake|-DET|pass|an edge-triggered epoll waiter that stays queued and drains through the mapping: the claim's compare-and-swap is its barrier"
"wake-epoll-et-watermark|wake|-DET -DK=1|pass|the same with a watermark"
"wake-epoll-et-3p|wake|-DET -DNP=3 -DK=2|pass|the same with three producers"
"wake-epoll-exclusive|wake|-DEXCL|pass|two edge-triggered EPOLLEXCLUSIVE waiters of one class, in the order they were queued: the wakeup stops after the first whose epoll had a thread waiting; their claims race"
"wake-epoll-exclusive-watermark|wake|-DEXCL -DK=1|pass|the same with a watermark"
"plant-no-w1|wake|-DPLANT_NO_W1|assertion violated|no [W1] barrier: the producer misses the sleeper, the sleeper the stamp"
"plant-no-w1-poll|wake|-DPOLL -DPLANT_NO_W1|assertion violated|the same for poll(2)"
"plant-no-w2|wake|-DPLANT_NO_W2|assertion violated|no [W2] barrier in read(2)'s wait: the sleeper looks before it is on the queue"
"plant-no-w2-poll|wake|-DPOLL -DPLANT_NO_W2|assertion violated|no smp_mb() in mpmcring_poll(): the same for poll(2)"
"plant-no-w2-epoll|wake|-DET -DPLANT_NO_W2|assertion violated|the same for the edge-triggered waiter's first ->poll"
"plant-claim-relaxed|wake|-DET -DPLANT_CLAIM_RELAXED|assertion violated|the claim's compare-and-swap relaxed: the producer reads the head from before it, and its record is no edge"
"plant-head-only|wake|-DK=1 -DPLANT_HEAD_ONLY|assertion violated|only a record at the head is an edge: the one that crosses the watermark behind a finished head record wakes nobody"
"plant-head-only-et|wake|-DET -DK=1 -DPLANT_HEAD_ONLY|assertion violated|the same for the epoll waiter"
"plant-no-reserved|wake|-DK=1 -DPLANT_NO_RESERVED|assertion violated|the watermark measured to the record's end, not to prod_pos: the head record finished last wakes nobody"
"plant-mixed-classes|wake|-DEXCL -DPLANT_MIXED_CLASSES|assertion violated|exclusive waiters of two watermarks (a misuse docs/trust.md forbids, not a module bug): the wakeup stops at the larger's, queued first and not ready for it; the other sleeps with a record ready"
"room|room||pass|a writer that asked and looked again (blocking, or a poller) is woken or finds the room, with a reclaim of someone else's running at any moment"
"room-standing|room|-DSTANDING|pass|the same with an earlier target standing in room_at: nothing stored, the writer's barriers order its bit"
"plant-reclaim-best-effort|room|-DPLANT_RECLAIM_BEST_EFFORT|invalid end state|the writer's reclaim gives up while another runs (that one read the slot before the commit): the module before room.pml"
"plant-after-running|room|-DPLANT_AFTER_RUNNING|invalid end state|mpmcring_reclaim_after() takes the end of the reclaim running when it looked, which began before it ([W8])"
"plant-kick-best-effort|room|-DPLANT_KICK_BEST_EFFORT|invalid end state|the kick's reclaim gives up while the writer's own runs"
"plant-c6-release|room|-DPLANT_C6_RELEASE|invalid end state|the commit a store-release: [C6]'s load of room_at passes it"
"plant-no-ask|room|-DPLANT_NO_ASK|invalid end state|the consumer never asks: only the tick would wake the writer"
"plant-standing-no-w5-w7|room|-DSTANDING -DPLANT_NO_W5 -DPLANT_NO_W7|invalid end state|with a target standing, neither [W5] nor [W7]: the bit reaches memory after the consumer's kick looked"
)

# shellcheck source=tests/model/small-models.sh
. "$here/small-models.sh"
small_models_run "$here" "$out" "-O2 -DSAFETY" "-m100000"
