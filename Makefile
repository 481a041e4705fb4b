# SPDX-License-Identifier: GPL-2.0-only
# mpmcring: the kernel module (Kbuild builds it in the tree), the userspace
# library and tool, the tests, the benchmarks.
#
#   make [all]          modules for KDIR and the userspace library and tool
#   make modules        KDIR=/lib/modules/<release>/build to pick a kernel
#   make modules_install  the product's modules into /lib/modules/<release>/updates,
#                       then depmod (MPMCRING_LOADGEN_MODULE=1: the load generator too)
#   make userspace      libmpmcring and the mpmcring tool (userspace/Makefile)
#   make install        library, headers, pkg-config, tool, man pages, udev
#                       rule, modprobe.d example (PREFIX, DESTDIR; see below)
#   make uninstall
#   make dkms-src       the module sources DKMS needs, and only those, into
#                       $(DESTDIR)/usr/src/mpmcring-<version>
#   make dkms-install   dkms-src, then dkms add/build/install (root)
#   make check          every test: deps (says what it installs first), host tests, static checks, test
#                       kernels, modules for five kernels, DKMS, KUnit and VM
#                       tests in qemu, all checked against tests/inventory.txt
#   make check-harness  the runner's unit tests, then faults planted in
#                       scratch copies: the runner must fail for each;
#                       and every bug planted in the protocol model
#   make model-full     the protocol model's larger configurations (spin)
#   make lint           the static checks alone (scripts/lint.sh)
#   make demo           boots the stock 6.1 kernel with the module loaded
#   make bench          host benchmarks, full (bench/Makefile); bench-quick
#   make bench-vm       in-kernel producer benchmarks in a qemu guest
#   make bench-vm-ab    bench-vm on two revisions, rounds alternating (AB="BEFORE AFTER")
#   make bench-go       the Go package: host, and against the C library in qemu
#   make bench-events   real kernel events: mpmcring vs BPF ringbuf vs perf
#                       buffer in one qemu guest (scripts/bench-events.sh)
#   make clean
#
# make check knobs: MPMCRING_KERNELS=debug,kcsan-6.12,stock-6.1,...
# MPMCRING_VM_TESTS=<prog,...> MPMCRING_HOST=0 MPMCRING_LINT=0 MPMCRING_DEPS=0
# MPMCRING_VM_TIMEOUT=<s> (see tests/harness/run.py); a subset is checked
# against the inventory as a subset.
#
# make install knobs: PREFIX (/usr/local), DESTDIR, MPMCRING_GROUP (the
# group of the device nodes, default root) and MPMCRING_MODE (default 0600,
# 0660 when a group is given), UDEVRULESDIR (/etc/udev/rules.d),
# MODPROBEDIR (/etc/modprobe.d). The udev rule and the modprobe.d file go
# where udev and modprobe look for them, not under PREFIX. Installing to
# the live system (no DESTDIR) then runs ldconfig and has udev reload its
# rules and re-apply them to existing /dev/mpmcring* nodes; with DESTDIR
# (packages, staging) nothing outside DESTDIR is touched. MPMCRING_LIVE=0
# skips those steps, MPMCRING_LIVE=1 forces them. A file already under
# /etc that differs from this version's is kept, with a message: the
# modprobe.d file always (an admin's module options), the udev rule unless
# MPMCRING_GROUP or MPMCRING_MODE is given (then it is what was asked for).
# make uninstall leaves a changed modprobe.d file in place.

KDIR ?= /lib/modules/$(shell uname -r)/build
PYTHON ?= python3
PREFIX ?= /usr/local
MPMCRING_GROUP ?= root
MPMCRING_MODE ?= $(if $(filter root,$(MPMCRING_GROUP)),0600,0660)
# Given on the command line or in the environment: the udev rule follows it
# even over an existing one; else an existing rule is kept.
MPMCRING_ACCESS_ASKED := $(if $(filter command environment,$(foreach v,MPMCRING_GROUP MPMCRING_MODE,$(firstword $(origin $(v))))),1,0)
UDEVRULESDIR ?= /etc/udev/rules.d
MODPROBEDIR ?= /etc/modprobe.d
MPMCRING_LIVE ?= $(if $(DESTDIR),0,1)
DKMS_NAME := $(shell sed -n 's/^PACKAGE_NAME="\(.*\)"/\1/p' dkms.conf)
DKMS_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
DKMS_SRC ?= /usr/src/$(DKMS_NAME)-$(DKMS_VERSION)
export PREFIX

all: modules userspace

check-kdir:
	@test -f "$(KDIR)/Makefile" || { \
		echo "error: no kernel build tree at KDIR=$(KDIR)" >&2; \
		echo "       (the running kernel's headers are not installed here);" >&2; \
		echo "       build against another one with: make modules KDIR=/lib/modules/<release>/build" >&2; \
		exit 1; }

# Module BTF, which BPF programs need to call the module's kfuncs, is added
# after the build: Debian's headers packages have no vmlinux for Kbuild to
# make it from (scripts/module-btf.sh; MPMCRING_BTF=0 skips it).
modules: check-kdir
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)" W=1 modules
	bash scripts/module-btf.sh "$(KDIR)" *.ko

# The product's modules only: the KUnit suites and the load generator are
# test tools (MPMCRING_LOADGEN_MODULE=1 installs the load generator too).
# From a filtered copy of modules.order, out of the tree: a build of
# another module list would rewrite the tree's build files (as root,
# under sudo) for the next make to trip on.
modules_install: modules
	order=$$(mktemp) && \
	grep -v -e '/mpmcring_test\.[ko]*$$' \
		$(if $(filter 1,$(MPMCRING_LOADGEN_MODULE)),,-e '/mpmcring_loadgen\.[ko]*$$') \
		-e '^mpmcring_test\.[ko]*$$' \
		$(if $(filter 1,$(MPMCRING_LOADGEN_MODULE)),,-e '^mpmcring_loadgen\.[ko]*$$') \
		modules.order >"$$order" && \
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)" INSTALL_MOD_DIR=updates MODORDER="$$order" \
		modules_install; \
	rc=$$?; rm -f "$$order"; exit $$rc

userspace:
	$(MAKE) -C userspace

install:
	$(MAKE) -C userspace install
	install -d "$(DESTDIR)$(UDEVRULESDIR)" "$(DESTDIR)$(MODPROBEDIR)"
	rule=$$(mktemp) && \
	sed -e 's|@GROUP@|$(MPMCRING_GROUP)|g; s|@MODE@|$(MPMCRING_MODE)|g' \
		packaging/99-mpmcring.rules >"$$rule" && \
	bash scripts/install-etc.sh "$$rule" "$(DESTDIR)$(UDEVRULESDIR)/99-mpmcring.rules" \
		$(MPMCRING_ACCESS_ASKED) "to set the group: make install MPMCRING_GROUP=<group>"; \
	rc=$$?; rm -f "$$rule"; exit $$rc
	bash scripts/install-etc.sh packaging/mpmcring.modprobe.conf \
		"$(DESTDIR)$(MODPROBEDIR)/mpmcring.conf" 0 \
		"this version's is packaging/mpmcring.modprobe.conf"
ifeq ($(MPMCRING_LIVE),1)
	-ldconfig
	-if command -v udevadm >/dev/null && udevadm control --reload; then \
		udevadm trigger --action=change --sysname-match='mpmcring*'; fi
endif

# The files DKMS builds the modules from (scripts/lib.sh module_sources),
# not the tree: no build/, no .git, no tests beyond the KUnit sources.
dkms-src:
	@test -n "$(DKMS_VERSION)" || { echo "error: no PACKAGE_VERSION in dkms.conf" >&2; exit 1; }
	rm -rf "$(DESTDIR)$(DKMS_SRC)"
	install -d "$(DESTDIR)$(DKMS_SRC)"
	bash -c '. scripts/lib.sh && dkms_sources' | \
		xargs cp --parents -t "$(DESTDIR)$(DKMS_SRC)"

dkms-install: dkms-src
	-dkms remove "$(DKMS_NAME)/$(DKMS_VERSION)" --all 2>/dev/null
	dkms add "$(DKMS_NAME)/$(DKMS_VERSION)"
	dkms install "$(DKMS_NAME)/$(DKMS_VERSION)"

uninstall:
	$(MAKE) -C userspace uninstall
	@rules="$(DESTDIR)$(UDEVRULESDIR)/99-mpmcring.rules"; \
	if [ -e "$$rules" ] && ! sed -e 's|GROUP="[^"]*"|GROUP="@GROUP@"|g; s|MODE="[^"]*"|MODE="@MODE@"|g' \
		"$$rules" | cmp -s - packaging/99-mpmcring.rules; then \
		echo "make uninstall: kept $$rules: it is not what make install writes, whatever the group and mode (an admin's rule)" >&2; \
	else rm -f "$$rules"; fi
	@conf="$(DESTDIR)$(MODPROBEDIR)/mpmcring.conf"; \
	if [ -e "$$conf" ] && ! cmp -s packaging/mpmcring.modprobe.conf "$$conf"; then \
		echo "make uninstall: kept $$conf: it holds changes (an admin's module options)" >&2; \
	else rm -f "$$conf"; fi

check:
	@if [ "$(MPMCRING_DEPS)" = 0 ]; then echo "deps: skipped (MPMCRING_DEPS=0)"; \
	else bash scripts/deps.sh check; fi
	$(PYTHON) tests/harness/run.py

check-harness:
	bash tests/harness/check-harness.sh

# The protocol model's larger configurations (spin; minutes, GiBs).
model-full:
	bash tests/model/run.sh --full

lint:
	bash scripts/lint.sh

demo:
	bash scripts/demo.sh

bench bench-quick:
	$(MAKE) -C bench $@

bench-vm:
	bash scripts/bench-vm.sh

# Two revisions' bench-vm alternately (scripts/bench-vm-ab.sh; default c21c3e0 vs HEAD).
bench-vm-ab:
	bash scripts/bench-vm-ab.sh $(AB)

bench-go:
	bash scripts/bench-go.sh

bench-events:
	bash scripts/bench-events.sh

# Kbuild's clean deletes every *.mod file under the tree, the Go modules'
# go.mod files too: they are kept aside and put back.
GO_MODS = $(shell find go examples bench -name go.mod 2>/dev/null)
# The module build's output only (DKMS's CLEAN: its source tree has no
# userspace, bench or Go modules for clean to handle).
clean-modules: check-kdir
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)" clean

clean:
	@gomods=$$(mktemp) && tar -cf "$$gomods" $(GO_MODS) && \
	if [ -f "$(KDIR)/Makefile" ]; then $(MAKE) -C "$(KDIR)" M="$(CURDIR)" clean; \
	else find . -path ./build -prune -o -path ./.git -prune -o -type f \( -name '*.o' \
		-o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' -o -name '.*.cmd' \
		-o -name modules.order -o -name Module.symvers \) -print | xargs rm -f; fi; \
	tar -xf "$$gomods"; rc=$$?; rm -f "$$gomods"; exit $$rc
	$(MAKE) -C userspace clean
	$(MAKE) -C bench clean
	rm -rf build

.PHONY: all check-kdir modules modules_install userspace install uninstall dkms-src dkms-install check \
	clean-modules \
	check-harness model-full lint demo bench bench-quick bench-vm bench-vm-ab bench-go bench-events clean
