#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Every code example a user can copy works as written:
# - each C program (a block with main()) in README.md and in the man pages'
#   EXAMPLES is extracted and compiled with -Wall -Wextra -Werror against
#   the library, as a user would build it;
# - the README's consumer is examples/consumer.c, word for word (that file
#   is also built by pkg-config in install_test.sh and run in a guest by
#   tests/vm/example.c);
# - the kernel API snippet names only what kmod/mpmcring.h declares;
# - the jq filters of mpmcring(1) give the record, not null, when cat's
#   first line is a loss report.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out="$top/build/host/doc_examples"
rm -rf "$out" && mkdir -p "$out"
fail() { echo "doc_examples: $*" >&2; exit 1; }

make -s -C "$top/userspace" lib >/dev/null
cflags=(-std=c11 -Wall -Wextra -Werror -I"$top/userspace/include" -I"$top/uapi")
libs=("$top/userspace/lib/libmpmcring.a" -pthread)

# README: ```c blocks, numbered.
awk -v out="$out" '
	/^```c$/ { n++; f = sprintf("%s/readme-%d.c", out, n); inb = 1; next }
	/^```$/ && inb { inb = 0; close(f); next }
	inb { print > f }
' "$top/README.md"
# Man pages: .EX/.EE blocks, roff escapes undone.
for page in "$top"/docs/man/*.[0-9]; do
	awk -v out="$out" -v base="$(basename "$page")" '
		/^\.EX$/ { n++; f = sprintf("%s/man-%s-%d.txt", out, base, n); inb = 1; next }
		/^\.EE$/ && inb { inb = 0; close(f); next }
		inb {
			gsub(/\\-/, "-"); gsub(/\\\(dq/, "\""); gsub(/\\e/, "\\");
			print > f
		}
	' "$page"
done

programs=0
for f in "$out"/readme-*.c "$out"/man-*.txt; do
	[ -f "$f" ] || continue
	grep -q '^int main' "$f" || continue
	src=${f%.txt}
	[ "$src" = "$f" ] || cp "$f" "$src.c"
	src=${src%.c}.c
	cc "${cflags[@]}" -o "${src%.c}" "$src" "${libs[@]}" >"${src%.c}.log" 2>&1 ||
		fail "$(basename "$src") does not compile:"$'\n'"$(cat "${src%.c}.log")"
	programs=$((programs + 1))
done
[ "$programs" -ge 3 ] || fail "found $programs C programs in README.md and the man pages, want 3 or more"

# The README's consumer is examples/consumer.c from its first #include on.
readme_consumer=$(grep -l 'mpmcring_read_batch' "$out"/readme-*.c | head -1)
[ -n "$readme_consumer" ] || fail "no consumer in README.md"
diff -u <(sed -n '/^#include/,$p' "$top/examples/consumer.c") "$readme_consumer" ||
	fail "README.md's consumer differs from examples/consumer.c"
# Its heading tells its length.
lines=$(wc -l <"$readme_consumer")
grep -q "^## A consumer in $lines lines" "$top/README.md" ||
	fail "README.md's consumer is $lines lines; its heading says: $(grep '^## A consumer' "$top/README.md")"

# The kernel snippet: every mpmcring_*/MPMCRING_* name it uses exists.
kernel=$(grep -l 'mpmcring_reserve' "$out"/readme-*.c | head -1)
[ -n "$kernel" ] || fail "no kernel API snippet in README.md"
for name in $(grep -o '\b\(mpmcring\|MPMCRING\)_[A-Za-z0-9_]*' "$kernel" | sort -u); do
	grep -qw "$name" "$top/kmod/mpmcring.h" "$top/uapi/linux/mpmcring.h" ||
		fail "the README's kernel snippet uses $name, which kmod/mpmcring.h does not declare"
done

# mpmcring(1)'s jq filters over cat --json output that starts with a loss.
stream='{"lost":{"dropped":2,"overwritten":0}}
{"len":5,"prio":"normal","flags":1,"pos":0,"data_b64":"aGVsbG8="}'
jqs=0
while IFS= read -r line; do
	filter=$(printf '%s\n' "$line" | sed -n "s/.*mpmcring cat.*| jq -r '\([^']*\)' | base64 -d.*/\1/p")
	[ -n "$filter" ] || continue
	got=$(printf '%s\n' "$stream" | jq -r "$filter" | base64 -d)
	[ "$got" = hello ] || fail "mpmcring(1): jq -r '$filter' gives '$got' when a loss line comes first"
	jqs=$((jqs + 1))
done < <(cat "$out"/man-mpmcring.1-*.txt)
[ "$jqs" -ge 1 ] || fail "no 'mpmcring cat ... | jq -r '...' | base64 -d' example in mpmcring(1)"
echo "doc_examples: $programs programs compiled, README consumer matches, $jqs jq examples decode"
