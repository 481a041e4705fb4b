#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Model-checks chunked reservation (proto/mpmcring_chunk.h) with spin, in
# its own small model (tests/model/chunk.pml): owners filling chunks, a
# same-level re-entry at any step of the first owner's, closers at any
# moment, a producer reserving alone, positions that wrap. No two
# reservations or fillers share a granule, none lies past the ring, and
# once destroy has closed the chunks every granule up to prod_pos is
# framed. Each bug planted below must be caught, with the interleaving
# that shows it. Prints TAP; exit status non-zero when any test fails.
# About 2 minutes of CPU; up to 1 GB (chunk-1-owner-full). The no-bug
# rows show which tests are redundant under the rules: should one fail,
# a change made that test load-bearing, and the comments that call it
# redundant (chunk.pml, docs/model.md) are wrong.
#
#   tests/model/chunks.sh
#
# Environment: MODEL_OUT (build folder; default build/model/chunks).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${MODEL_OUT:-$top/build/model/chunks}

one="-DNOWN=1 -DRECS=2 -DCLOSES=2 -DALONE=1"
small="-DNOWN=1 -DRECS=2 -DCLOSES=1 -DALONE=1"
# name | model | spin -D flags | expected: pass, or what spin must report | what
# shellcheck disable=SC2034 # read by small_models_run
configs=(
"chunk-1-owner|chunk|$one -DK_ANY_ORDER|pass|one owner's two records of 1-3 granules (over half a chunk goes alone), its re-entry at any step, two closes at any moment, a producer alone; end and fill stored and loaded in either order"
"chunk-1-owner-full|chunk|$one -DCAP=7 -DK_ANY_ORDER|pass|the same on a ring with room for one chunk: the second opening finds no room and the record goes alone"
"chunk-2-owners|chunk|-DNOWN=2 -DRECS=1 -DRECS1=1 -DCLOSES=1 -DMAXNEED=2 -DK_ANY_ORDER|pass|two owners open chunks side by side, the first one's re-entry, a close at any moment"
"plant-close-all|chunk|$one -DPLANT_CLOSE_ALL|assertion violated|a closer without the pass-over: an old fill with the new end frames the opener's record as its filler"
"plant-no-busy|chunk|$one -DPLANT_NO_BUSY|assertion violated|no busy word (nor its test in the first look): a re-entry opens a chunk inside the owner's opening, whose stores then leave its rest unframed for good"
"no-bug-look-not-busy|chunk|$small -DPLANT_LOOK_NOT_BUSY|pass|the first look without its busy test alone is no bug: its room test keeps a re-entry out of the opener's window"
"no-bug-look-any-room|chunk|$small -DPLANT_LOOK_ANY_ROOM|pass|the first look without its room test alone is no bug: its busy test keeps a re-entry out"
"no-bug-open-open|chunk|$small -DPLANT_OPEN_OPEN|pass|opening without the \"closed\" test is no bug under the rules: the close before it always closes (the test stays for callers that break them)"
"plant-look-any|chunk|$one -DPLANT_LOOK_ANY_ROOM -DPLANT_LOOK_NOT_BUSY|assertion violated|the first look neither keeps off a busy chunk nor off room of a chunk or more: a re-entry in the opener's window takes the opener's record (either test alone keeps it out)"
)

# shellcheck source=tests/model/small-models.sh
. "$here/small-models.sh"
small_models_run "$here" "$out" "-O2 -DSAFETY -DCOLLAPSE -DMEMLIM=1500" "-m100000 -w24"
