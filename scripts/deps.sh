#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Installs every Debian package the project needs (build, test kernels,
# qemu guests, benchmarks, linters) when one is missing. Idempotent and quiet:
# with everything installed it only asks dpkg and prints nothing.
# Needs root (or sudo) only when something is missing.
set -euo pipefail

PACKAGES=(
	build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils kmod
	dwarves qemu-system-x86 busybox-static python3
	linux-source-6.1 linux-source-6.12
	linux-image-amd64 linux-headers-amd64
	linux-image-6.12-amd64 linux-headers-6.12-amd64
	linux-image-6.12-rt-amd64 linux-headers-6.12-rt-amd64
	dkms sparse clang libclang-rt-14-dev gnuplot-nox
	libdpdk-dev libck-dev libconcurrentqueue-dev pkg-config
	valgrind cppcheck clang-format patch liburing-dev
	libbpf-dev bpftool llvm zlib1g-dev
)

command -v dpkg-query >/dev/null 2>&1 ||
	{ echo "error: dpkg-query not found: this script wants Debian 12" >&2; exit 1; }

missing=()
# One dpkg-query call for all; a package dpkg never heard of prints nothing.
status=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null || true)
for p in "${PACKAGES[@]}"; do
	if ! grep -qE "^$(printf '%s' "$p" | sed 's/[.+]/\\&/g') ii" <<<"$status"; then
		missing+=("$p")
	fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 ||
		{ echo "error: missing packages (${missing[*]}) and not root" >&2; exit 1; }
	SUDO=sudo
fi

echo "==> installing ${#missing[@]} missing package(s): ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/mpmcring-deps.XXXXXX)
trap 'rm -f "$log"' EXIT
if ! { $SUDO apt-get update -q &&
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
	tail -n 40 "$log" >&2
	echo "error: apt-get failed installing: ${missing[*]}" >&2
	exit 1
fi
echo "==> installed: ${missing[*]}" >&2
