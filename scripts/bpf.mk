# SPDX-License-Identifier: GPL-2.0-only
# Building BPF programs the way BPF projects do, from Debian's packages
# (clang, libbpf-dev, bpftool): CO-RE objects against a vmlinux.h made from
# a stock kernel's BTF (scripts/bpf-vmlinux.sh), libbpf skeletons, and
# loaders linked statically so they run in the busybox guests.
#
# Include it after setting:
#   BPF_OUT       where objects, skeletons and vmlinux.h go
#   BPF_KERNEL    the kernel release whose BTF vmlinux.h comes from
#                 (default: the installed stock 6.1, scripts/lib.sh)
# It gives:
#   $(BPF_OUT)/vmlinux.h
#   $(BPF_OUT)/NAME.bpf.o     from NAME.bpf.c in the including directory
#   $(BPF_OUT)/NAME.skel.h    bpftool gen skeleton, struct NAME_bpf
#   BPF_LOADER_LIBS           libbpf and what it needs, static
BPF_TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
BPF_CLANG ?= clang
BPFTOOL ?= bpftool
BPF_STRIP ?= llvm-strip
BPF_KERNEL ?= $(shell bash -c '. "$(BPF_TOP)/scripts/lib.sh"; stock_release stock-6.1')
BPF_ARCH := $(shell uname -m | sed 's/x86_64/x86/; s/aarch64/arm64/')
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Wall -Werror \
	      -I$(BPF_OUT) -I$(BPF_TOP)/uapi -I.
BPF_LOADER_LIBS := -lbpf -lelf -lz

$(BPF_OUT)/vmlinux.h: $(BPF_TOP)/scripts/bpf-vmlinux.sh
	@test -n "$(BPF_KERNEL)" || { echo "error: no stock 6.1 kernel installed; set BPF_KERNEL=<release>" >&2; exit 1; }
	@mkdir -p $(BPF_OUT)
	cp "$$(bash $(BPF_TOP)/scripts/bpf-vmlinux.sh $(BPF_KERNEL))" $@

# DWARF stripped (the BTF stays): the skeleton embeds the object.
$(BPF_OUT)/%.bpf.o: %.bpf.c $(BPF_OUT)/vmlinux.h $(wildcard *.h) $(wildcard $(BPF_TOP)/uapi/linux/*.h)
	$(BPF_CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(BPF_STRIP) -g $@.tmp
	mv $@.tmp $@

$(BPF_OUT)/%.skel.h: $(BPF_OUT)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst .,_,$*)_bpf > $@.tmp
	mv $@.tmp $@
