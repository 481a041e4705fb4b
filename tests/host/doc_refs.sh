#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The documentation a user gets refers only to files the user has: every
# repository path the README, docs/ and bench/RESULTS.md name (in a
# markdown link or in backquotes) exists in the tree, and none points
# outside it (../, the developers' shared design notes).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "doc_refs: $*" >&2; exit 1; }
cd "$top"
docs=(README.md docs/*.md docs/*.rst bench/RESULTS.md)
bad=$(grep -n 'DESIGN\.md\|\.\./shared\|/work/' "${docs[@]}" || true)
[ -z "$bad" ] || fail "refers to files outside the repository:"$'\n'"$bad"
n=0
for doc in "${docs[@]}"; do
	# [text](path) links, and `dir/...` paths under the tree's top folders.
	for ref in $(grep -o '](\([^)#:]*\))' "$doc" | sed 's/^](\(.*\))$/\1/';
		     grep -o '`\(kmod\|uapi\|proto\|userspace\|tests\|bench\|docs\|scripts\|packaging\|examples\|debian\)/[A-Za-z0-9_./-]*`' "$doc" |
		     tr -d '`'); do
		case $ref in *'*'* | *'<'*) continue ;; esac
		# What builds and runs make (ignored by git) is not shipped.
		git check-ignore -q "$ref" 2>/dev/null && continue
		n=$((n + 1))
		# Links are relative to the document; paths in backquotes to the top.
		[ -e "$ref" ] || [ -e "$(dirname "$doc")/$ref" ] || fail "$doc names $ref, which is not in the tree"
	done
done
# Every function the documents call name() exists in a header.
for fn in $(grep -oh '\bmpmcring_[a-z_]*()' "${docs[@]}" | tr -d '()' | sort -u); do
	grep -qE "\b$fn\(" userspace/include/*.h kmod/*.h uapi/linux/*.h ||
		fail "the documentation names $fn(), which no header declares"
done
[ "$n" -ge 20 ] || fail "found only $n references: is the pattern still right?"
echo "doc_refs: $n references, all in the tree"
