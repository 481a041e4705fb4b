#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The Go package's host checks, one per call (tests/host/run.sh runs each
# as a test), offline: the module needs nothing outside the standard
# library.
#
#   go_test.sh vet     go vet of every Go module here (guest tests too; the
#                      package also for 32-bit big-endian MIPS and arm64)
#   go_test.sh race    go test -race -short -v of the package (unit, stress,
#                      ABI, examples, the fuzz target's seeds), each test
#                      named in the output for run.sh
#   go_test.sh test    go test of the package at full size, the lease
#                      stress too (it cannot run under the race detector)
#   go_test.sh fuzz    the fuzz target over N generated inputs
#   go_test.sh bench   go test of the benchmark's own code (bench/go: the
#                      guest benchmark's order of variants)
#   go_test.sh cproducer HELPER
#                      the Go consumer under the race detector against the
#                      C producer (TestCProducer), at full size, with HELPER
#                      as the producer (tests/host/go_cproducer.c, built
#                      with the sanitizers by the host Makefile)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
export GOPROXY=off GOFLAGS=-mod=mod
command -v go >/dev/null || { echo "no go toolchain (golang-go: scripts/deps.sh)" >&2; exit 1; }

case "${1:-}" in
vet)
	(cd "$top/go" && go vet ./... && go vet -tags mpmcring_vm ./...)
	# The package builds where syscall's types differ: 32-bit big-endian
	# MIPS (Stat_t.Rdev is uint32 there), arm64 (its own ioctl numbers).
	(cd "$top/go" && GOARCH=mips go vet ./mpmcring && GOARCH=arm64 go vet ./mpmcring)
	(cd "$top/examples/go" && go vet ./...)
	(cd "$top/bench/go" && go vet ./...)
	;;
race)
	# -v: run.sh reads each top-level test's result and skip from it.
	cd "$top/go" && go test -race -short -count=1 -v ./...
	;;
test)
	cd "$top/go" && go test -count=1 ./...
	;;
cproducer)
	[ -x "${2:-}" ] || { echo "go_test.sh cproducer: no helper at '${2:-}'" >&2; exit 2; }
	cd "$top/go" && MPMCRING_CPRODUCER=$2 go test -race -count=1 -v -run '^TestCProducer$' ./mpmcring
	;;
fuzz)
	cd "$top/go" && go test -run '^$' -fuzz FuzzConsumer -fuzztime "${2:-300000}x" ./mpmcring
	;;
bench)
	cd "$top/bench/go" && go test -race -count=1 ./...
	;;
*)
	echo "usage: go_test.sh vet|race|test|fuzz [inputs]|bench|cproducer HELPER" >&2
	exit 2
	;;
esac
