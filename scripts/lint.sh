#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Static checks (make lint; make check runs each as a lint/<check> test):
#
#   scripts/lint.sh checkpatch      checkpatch.pl --no-tree -f on the kernel code
#   scripts/lint.sh kernel-doc      kernel-doc -Werror on the exported API, and
#                                   docs/kernel-api.rst as it generates it now
#   scripts/lint.sh sparse-6.1      sparse (C=2) + W=1 against stock 6.1 headers
#   scripts/lint.sh sparse-6.12     ... and 6.12
#   scripts/lint.sh clang-format    the userspace C matches .clang-format
#   scripts/lint.sh cppcheck        cppcheck on the userspace C
#   scripts/lint.sh [all]           every one; exits non-zero if any failed
#
# Kernel code (kmod/, proto/, uapi/, tests/kunit/) follows the kernel's
# style and checkpatch; userspace code (userspace/, tests/host/, tests/vm/,
# bench/host/, examples/) follows .clang-format. proto/ is both sides' code
# and is held to checkpatch. checkpatch and kernel-doc come from Debian's
# linux-source-6.1 (extracted once into the cache).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$REPO"

kernel_files() {
	git ls-files 'kmod/*.[ch]' 'proto/*.h' 'uapi/*.h' 'tests/kunit/*.[ch]' 2>/dev/null ||
		find kmod proto uapi tests/kunit -name '*.[ch]'
}

user_files() {
	{ git ls-files -co --exclude-standard 'userspace/*.[ch]' 'tests/host/*.[ch]' \
		'tests/vm/*.[ch]' 'bench/*.[ch]' 'examples/*.[ch]' 2>/dev/null ||
		find userspace tests/host tests/vm bench examples -name '*.[ch]'; } | LC_ALL=C sort -u
}

lint_checkpatch() {
	local src bad=0 f out ignore
	src=$(linux_source_dir)
	while IFS= read -r f; do
		# --no-tree: we are not in a kernel tree; SPDX on headers is
		# the kernel's /* */ form, which checkpatch knows.
		ignore=FILE_PATH_CHANGES
		# The event probes look at syscalls' return values: their
		# ENOSYS (ev_connect(): an x32 number refused) is the one
		# checkpatch allows, a bad syscall number.
		[ "$f" = kmod/events/probes.c ] && ignore+=,ENOSYS
		out=$(perl "$src/scripts/checkpatch.pl" --no-tree --quiet --show-types \
			--ignore "$ignore" -f "$f" 2>&1) || { printf '%s\n' "$out"; bad=1; }
	done < <(kernel_files)
	return $bad
}

lint_kernel_doc() {
	local src
	src=$(linux_source_dir)
	perl "$src/scripts/kernel-doc" -none -Werror kmod/mpmcring.h kmod/*.c
	# Every exported symbol has kernel-doc above its definition.
	local sym missing=0
	for sym in $(sed -n 's/^EXPORT_SYMBOL_GPL(\(.*\));/\1/p' kmod/*.c); do
		perl "$src/scripts/kernel-doc" -rst -function "$sym" kmod/*.c 2>/dev/null |
			grep -q "$sym" || { echo "no kernel-doc for exported $sym"; missing=1; }
	done
	# docs/kernel-api.rst is generated from these comments: it must be
	# what they give now (scripts/kernel-api-doc.sh regenerates it).
	"$REPO/scripts/kernel-api-doc.sh" --check || missing=1
	return $missing
}

lint_sparse() {
	local kid=$1 rel
	rel=$(stock_release "$kid")
	[ -n "$rel" ] || die "$kid is not installed (scripts/deps.sh)"
	MPMCRING_SPARSE=1 "$REPO/scripts/build-modules.sh" "$kid" "/lib/modules/$rel/build" \
		"$REPO/build/lint/sparse-$kid" >/dev/null
}

lint_clang_format() {
	local f bad=0
	while IFS= read -r f; do
		clang-format --dry-run -Werror "$f" 2>&1 | head -n 20 || true
		clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad=1
	done < <(user_files)
	[ $bad = 0 ] || echo "fix with: clang-format -i <file> (style: .clang-format)"
	return $bad
}

lint_cppcheck() {
	# tests/vm is left out: cppcheck cannot parse the kselftest harness's
	# macros; those programs build with -Wall -Wextra -Werror instead.
	# impl_ck.c instantiates ck_ring through ck's own macros, which
	# cppcheck cannot expand without the system headers. BPF programs
	# (*.bpf.c) use libbpf's SEC() and friends from bpf_helpers.h, built
	# only by clang -target bpf (-Wall -Werror) and checked by the verifier.
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--std=c11 --inline-suppr -D__x86_64__ -D_GNU_SOURCE \
		-Iuserspace/include -Iuapi -Iproto -Iuserspace/lib -Iuserspace/harness \
		-Ibench/host --suppress=unknownMacro:bench/host/impl_ck.c \
		--suppress='unknownMacro:*.bpf.c' \
		userspace tests/host bench/host examples
}

run_one() {
	case "$1" in
	checkpatch) lint_checkpatch ;;
	kernel-doc) lint_kernel_doc ;;
	sparse-6.1) lint_sparse stock-6.1 ;;
	sparse-6.12) lint_sparse stock-6.12 ;;
	clang-format) lint_clang_format ;;
	cppcheck) lint_cppcheck ;;
	*) die "unknown check '$1' (checkpatch kernel-doc sparse-6.1 sparse-6.12 clang-format cppcheck)" ;;
	esac
}

CHECKS=(checkpatch kernel-doc sparse-6.1 sparse-6.12 clang-format cppcheck)
if [ $# -eq 0 ] || [ "$1" = all ]; then
	failed=0
	for c in "${CHECKS[@]}"; do
		if (run_one "$c"); then echo "ok     lint/$c"; else echo "FAIL   lint/$c"; failed=1; fi
	done
	exit $failed
fi
run_one "$1"
