#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Installs the Debian packages a target needs when one is missing, and says
# what it will install, and why, before it does:
#
#   scripts/deps.sh [demo|kernels|check]      (default: check)
#
# demo: what `make demo` needs: a compiler, the stock 6.1 kernel (Debian
# 12's own) and its headers, qemu and a static busybox. The kernel image is
# installed on the host (the guest boots it from /boot): where the host
# runs another flavour or an older 6.1, it becomes GRUB's default too (see
# the note printed). kernels: what scripts/build-test-kernel.sh needs (a
# compiler and the two linux-source packages: .ci/run starts the test
# kernels' build with these, while the rest installs). check: everything
# `make check` and the benchmarks need, including the 6.12 and 6.12-rt
# kernel images (for their guests), which become the host's default boot
# entry when installed (GRUB boots the newest kernel; see the note printed).
# Idempotent and quiet: with everything installed it only asks dpkg and
# prints nothing. Needs root (or sudo) only when something is missing.
# MPMCRING_DEPS_DRY_RUN=1 prints the list and installs nothing.
set -euo pipefail

what=${1:-check}
DEMO=(
	build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils kmod
	dwarves qemu-system-x86 busybox-static python3
	linux-image-amd64 linux-headers-amd64
)
KERNELS=(
	build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils kmod patch
	linux-source-6.1 linux-source-6.12
)
case $what in
demo) PACKAGES=("${DEMO[@]}") ;;
kernels) PACKAGES=("${KERNELS[@]}") ;;
check)
	PACKAGES=(
		"${DEMO[@]}"
		linux-source-6.1 linux-source-6.12
		linux-image-6.12-amd64 linux-headers-6.12-amd64
		linux-image-6.12-rt-amd64 linux-headers-6.12-rt-amd64
		dkms sparse clang libclang-rt-14-dev gnuplot-nox
		libdpdk-dev libck-dev libconcurrentqueue-dev pkg-config
		valgrind cppcheck clang-format patch liburing-dev
		libbpf-dev bpftool llvm zlib1g-dev jq
		golang-go golang-github-cilium-ebpf-dev golang-golang-x-sys-dev
		dpkg-dev debhelper dh-dkms lintian
		spin
	)
	;;
*)
	echo "usage: deps.sh [demo|kernels|check]" >&2
	exit 2
	;;
esac

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

# In a container (a CI runner), the kernel images installed for the guests
# are never booted, and the guests boot our own initramfs
# (scripts/build-initramfs.sh): there, Debian's initramfs for each image is
# a minute of CPU for nothing (59 of the 90 s an image took to install on
# our 2-core machine), so the images' postinst hook is told to skip it
# (INITRD=No, /etc/kernel/postinst.d/initramfs-tools). Only a container
# known as one: on any other host the newest image becomes the boot
# loader's default, and without its initramfs it would not boot.
# MPMCRING_DEPS_CONTAINER=1 or 0 decides instead (for the tests of this).
in_container() {
	case ${MPMCRING_DEPS_CONTAINER:-} in
	1) return 0 ;;
	0) return 1 ;;
	esac
	[ -e /.dockerenv ] || [ -e /run/.containerenv ] && return 0
	command -v systemd-detect-virt >/dev/null 2>&1 && systemd-detect-virt --container -q
}
initrd=
if in_container; then
	initrd=INITRD=No
fi
echo "==> make $what needs ${#missing[@]} package(s) not installed here: ${missing[*]}" >&2
for p in "${missing[@]}"; do
	case $p in
	linux-image-*)
		if [ -n "$initrd" ]; then
			echo "    note: in a container: the kernel images get no initramfs of" >&2
			echo "    their own (the guests boot ours; INITRD=No)" >&2
			break
		fi
		echo "    note: $p is a kernel image for the guests, installed on this host;" >&2
		echo "    once installed," >&2
		echo "    GRUB boots it by default (newest first). To keep booting your kernel," >&2
		echo "    set GRUB_DEFAULT in /etc/default/grub and run update-grub." >&2
		break
		;;
	esac
done
if [ "${MPMCRING_DEPS_DRY_RUN:-0}" = 1 ]; then
	echo "==> MPMCRING_DEPS_DRY_RUN=1: installing nothing" >&2
	exit 0
fi
echo "==> installing them with apt-get (MPMCRING_DEPS=0 skips this step)" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/mpmcring-deps.XXXXXX)
trap 'rm -f "$log"' EXIT
if ! { $SUDO apt-get update -q &&
	$SUDO env DEBIAN_FRONTEND=noninteractive $initrd apt-get install -y -q \
		--no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
	tail -n 40 "$log" >&2
	echo "error: apt-get failed installing: ${missing[*]}" >&2
	exit 1
fi
echo "==> installed: ${missing[*]}" >&2
