#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# scripts/lib.sh's cache_prune on a made-up cache: which old test kernels
# and extracted source trees go, and which stay (this run's entry, the one
# used last before it, a tree a kept kernel was built from, anything still
# being made, other kinds of entry).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
present() { [ -d "$1" ] || fail "removed, should stay: ${1#"$t"/}"; }
gone() { [ ! -e "$1" ] || fail "kept, should go: ${1#"$t"/}"; }

export MPMCRING_CACHE=$t/cache
# shellcheck source=../../scripts/lib.sh
. "$here/../../scripts/lib.sh"

# entry <path> <marker|-> <age>: a cache entry last used <age> ago.
entry() {
	mkdir -p "$1"
	if [ "$2" != - ]; then
		touch -d "$3 ago" "$1/$2"
	fi
}

k=$MPMCRING_CACHE/kernels
entry "$k/debug-cur" .mpmcring-done "3 days"
entry "$k/debug-recent" .mpmcring-done "1 day"
entry "$k/debug-older" .mpmcring-done "2 days"
entry "$k/debug-oldest" .mpmcring-done "9 days"
entry "$k/debug-building" - "9 days"
entry "$k/debug-x.tmp" .mpmcring-done "9 days"
entry "$k/kcsan-6.12-old" .mpmcring-done "9 days"
entry "$k/kcsan-6.12-older" .mpmcring-done "10 days"
entry "$k/debug-cut.pruning" - "9 days"	# a removal cut short
cache_prune "$k" debug- .mpmcring-done 1 "$k/debug-cur" 2>/dev/null
present "$k/debug-cur"
present "$k/debug-recent"
gone "$k/debug-older"
gone "$k/debug-oldest"
gone "$k/debug-older.pruning"
gone "$k/debug-oldest.pruning"
gone "$k/debug-cut.pruning"
present "$k/debug-building"
present "$k/debug-x.tmp"
present "$k/kcsan-6.12-old"
present "$k/kcsan-6.12-older"

# linux_source_dir: the package's tree made already (no tarball needed),
# its older trees pruned but for one a kernel links to; none spared for
# being recent (a tree is needed only by this run or a kept kernel).
pkg_version() { echo 1.0; }
kernel_patches() { :; }
pkg=linux-source-6.1
s=$MPMCRING_CACHE/src
cur=$s/$pkg-1.0-p$(printf '' | sha256sum | cut -c1-12)
entry "$cur" .mpmcring-extracted "5 days"
entry "$s/$pkg-0.9-pbuilt" .mpmcring-extracted "8 days"
entry "$s/$pkg-0.9-precent" .mpmcring-extracted "1 day"
entry "$s/$pkg-0.9-pold" .mpmcring-extracted "7 days"
entry "$s/$pkg-0.9-pgoing" - "7 days"
entry "$s/$pkg-1.0-pnew.tmp" .mpmcring-extracted "7 days"
entry "$s/linux-source-6.12-1.0-pany" .mpmcring-extracted "9 days"
ln -s "$s/$pkg-0.9-pbuilt" "$k/debug-recent/source"
got=$(linux_source_dir "$pkg" 2>/dev/null) || fail "linux_source_dir failed"
[ "$got" = "$cur" ] || fail "linux_source_dir printed '$got', not $cur"
[ "$cur/.mpmcring-extracted" -nt "$s/$pkg-0.9-precent/.mpmcring-extracted" ] ||
	fail "linux_source_dir did not mark its tree used"
present "$cur"
present "$s/$pkg-0.9-pbuilt"
gone "$s/$pkg-0.9-precent"
gone "$s/$pkg-0.9-pold"
gone "$s/$pkg-0.9-pold.pruning"
present "$s/$pkg-0.9-pgoing"
present "$s/$pkg-1.0-pnew.tmp"
present "$s/linux-source-6.12-1.0-pany"

# Nothing to prune, and no directory at all: no error.
cache_prune "$t/none" debug- .mpmcring-done 1 "$t/none/debug-x" ||
	fail "cache_prune failed on a missing directory"

if [ "$fails" -ne 0 ]; then
	echo "$fails failed"
	exit 1
fi
echo "cache_prune: every entry as expected"
