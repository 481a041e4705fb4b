#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Every code example a user can copy works as written:
# - each C program (a block with main()) in README.md and in the man pages'
#   EXAMPLES is extracted and compiled with -Wall -Wextra -Werror against
#   the library, as a user would build it;
# - the README's consumer is examples/consumer.c, word for word, and so is
#   libmpmcring(3)'s first example (that file is also built by pkg-config
#   in install_test.sh and run in a guest by tests/vm/example.c); it holds
#   no claim while it writes, checks commit's -ESTALE and reports revoked;
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
# libmpmcring(3)'s first example is the same program (indented by 4 spaces).
man_consumer=$(grep -l 'mpmcring_read_batch' "$out"/man-libmpmcring.3-*.txt | head -1)
[ -n "$man_consumer" ] || fail "no consumer in libmpmcring(3)'s EXAMPLES"
diff -u <(sed -n '/^#include/,$p' "$top/examples/consumer.c" | sed 's/\t/    /g') "$man_consumer" ||
	fail "libmpmcring(3)'s consumer differs from examples/consumer.c"
# What users copy holds no claim across a write that can block, throws away
# a copy whose claim was revoked, and reports every kind of loss: nothing
# from the first record of a batch to the commit writes to a file.
held=$(sed -n '/mpmcring_batch_next/,/mpmcring_commit/p' "$top/examples/consumer.c")
[ -n "$held" ] || fail "examples/consumer.c: no mpmcring_batch_next ... mpmcring_commit"
if grep -nE '\b(f?write|f?printf|fputs|puts|putchar|fputc|fflush|send|dprintf)\(' <<<"$held"; then
	fail "examples/consumer.c writes output while it holds a claim (above): copy, commit, then write"
fi
grep -qE '(if|=|==|!=|return).*mpmcring_commit\(|mpmcring_commit\([^)]*\) *(==|!=|<)' \
	"$top/examples/consumer.c" ||
	fail "examples/consumer.c ignores mpmcring_commit()'s -ESTALE (a revoked claim: the copy may be torn)"
grep -q 'lost\.revoked' "$top/examples/consumer.c" ||
	fail "examples/consumer.c does not report lost.revoked"
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

# The README's Go blocks: each is the body of a function returning error,
# in a package of its own that imports the repository's module (offline, no
# cgo), then gofmt and go vet. Free names a snippet may use: ctx, handle(),
# undo(). Not checked: the ```sh blocks (commands that need a built tree,
# root or a loaded module; tests/host/install_test.sh and the guests run
# what they do) and the kernel API snippet (names only, below: compiling
# it needs a kernel build).
gos=0
if command -v go >/dev/null; then
	awk -v out="$out" '
		/^```go$/ { n++; f = sprintf("%s/readme-go-%d.txt", out, n); inb = 1; next }
		/^```$/ && inb { inb = 0; close(f); next }
		inb { print > f }
	' "$top/README.md"
	for f in "$out"/readme-go-*.txt; do
		[ -f "$f" ] || continue
		gos=$((gos + 1))
		# vet does not see a dropped error: a bare Wait() spins once the
		# ring is gone or ctx is done (it returns at once from then on).
		if grep -nE '^[[:space:]]*[A-Za-z_.]+\.(Wait|Commit|ReadBatch|Read)\(' "$f"; then
			fail "README.md's Go block $gos ignores an error (above)"
		fi
		pkg="$out/go/snippet$gos"
		mkdir -p "$pkg"
		{
			printf 'package snippet%d\n\nimport (\n\t"context"\n\t"errors"\n\n' "$gos"
			printf '\t"mpmcring.dev/go/mpmcring"\n)\n\n'
			printf 'var _ = errors.Is\n\nfunc handle([]byte) {}\nfunc undo()         {}\n\n'
			printf '// Snippet is README.md'"'"'s Go block %d.\n' "$gos"
			printf 'func Snippet(ctx context.Context) error {\n'
			sed 's/^\(.\)/\t\1/' "$f"
			printf '}\n'
		} >"$pkg/snippet.go"
		[ -z "$(gofmt -l "$pkg")" ] ||
			fail "README.md's Go block $gos is not gofmt'ed:"$'\n'"$(gofmt -d "$pkg")"
	done
	if [ "$gos" -gt 0 ]; then
		printf 'module readme.test\n\ngo 1.19\n\nrequire mpmcring.dev/go v0.0.0\n\nreplace mpmcring.dev/go => %s\n' \
			"$top/go" >"$out/go/go.mod"
		(cd "$out/go" && GOPROXY=off GOFLAGS=-mod=mod CGO_ENABLED=0 go vet ./... >"$out/go/vet.log" 2>&1) ||
			fail "README.md's Go block does not build or vet:"$'\n'"$(cat "$out/go/vet.log")"
	fi
	[ "$gos" -ge 1 ] || fail "no Go block in README.md"
else
	echo "doc_examples: no go toolchain: README.md's Go block not checked" >&2
fi

# mpmcring(1)'s jq filters over cat --json output that starts with a loss.
stream='{"lost":{"dropped":2,"overwritten":0,"revoked":0}}
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
echo "doc_examples: $programs programs compiled, README and man consumer match, $gos Go blocks vetted, $jqs jq examples decode"
