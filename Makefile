# SPDX-License-Identifier: GPL-2.0-only
# mpmcring: the kernel module (Kbuild builds it in the tree), the userspace
# library and tool, the tests, the benchmarks.
#
#   make [all]          modules for KDIR and the userspace library and tool
#   make modules        KDIR=/lib/modules/<release>/build to pick a kernel
#   make modules_install  into /lib/modules/<release>/updates, then depmod
#   make userspace      libmpmcring and the mpmcring tool (userspace/Makefile)
#   make install        library, headers, pkg-config, tool, man pages, udev
#                       rule, modprobe.d example (PREFIX, DESTDIR; see below)
#   make uninstall
#   make check          every test: deps, host tests, static checks, test
#                       kernels, modules for six kernels, DKMS, KUnit and VM
#                       tests in qemu, all checked against tests/inventory.txt
#   make check-harness  the runner's unit tests, then faults planted in
#                       scratch copies: the runner must fail for each
#   make lint           the static checks alone (scripts/lint.sh)
#   make demo           boots the stock 6.1 kernel with the module loaded
#   make bench          host benchmarks, full (bench/Makefile); bench-quick
#   make bench-vm       in-kernel producer benchmarks in a qemu guest
#   make bench-events   real kernel events: mpmcring vs BPF ringbuf vs perf
#                       buffer in one qemu guest (scripts/bench-events.sh)
#   make clean
#
# make check knobs: MPMCRING_KERNELS=debug,kcsan,debug-6.12,stock-6.1,...
# MPMCRING_VM_TESTS=<prog,...> MPMCRING_HOST=0 MPMCRING_LINT=0 MPMCRING_DEPS=0
# MPMCRING_VM_TIMEOUT=<s> (see tests/harness/run.py); a subset is checked
# against the inventory as a subset.
#
# make install knobs: PREFIX (/usr/local), DESTDIR, MPMCRING_GROUP (the
# group of the device nodes, default root) and MPMCRING_MODE (default 0600,
# 0660 when a group is given), UDEVRULESDIR (/etc/udev/rules.d),
# MODPROBEDIR (/etc/modprobe.d). The udev rule and the modprobe.d file go
# where udev and modprobe look for them, not under PREFIX.

KDIR ?= /lib/modules/$(shell uname -r)/build
PYTHON ?= python3
PREFIX ?= /usr/local
MPMCRING_GROUP ?= root
MPMCRING_MODE ?= $(if $(filter root,$(MPMCRING_GROUP)),0600,0660)
UDEVRULESDIR ?= /etc/udev/rules.d
MODPROBEDIR ?= /etc/modprobe.d
export PREFIX

all: modules userspace

check-kdir:
	@test -f "$(KDIR)/Makefile" || { \
		echo "error: no kernel build tree at KDIR=$(KDIR)" >&2; \
		echo "       (the running kernel's headers are not installed here);" >&2; \
		echo "       build against another one with: make modules KDIR=/lib/modules/<release>/build" >&2; \
		exit 1; }

modules: check-kdir
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)" W=1 modules

modules_install: modules
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)" INSTALL_MOD_DIR=updates modules_install

userspace:
	$(MAKE) -C userspace

install:
	$(MAKE) -C userspace install
	install -d "$(DESTDIR)$(UDEVRULESDIR)" "$(DESTDIR)$(MODPROBEDIR)"
	sed -e 's|@GROUP@|$(MPMCRING_GROUP)|g; s|@MODE@|$(MPMCRING_MODE)|g' \
		packaging/99-mpmcring.rules >"$(DESTDIR)$(UDEVRULESDIR)/99-mpmcring.rules"
	install -m 0644 packaging/mpmcring.modprobe.conf "$(DESTDIR)$(MODPROBEDIR)/mpmcring.conf"

uninstall:
	$(MAKE) -C userspace uninstall
	rm -f "$(DESTDIR)$(UDEVRULESDIR)/99-mpmcring.rules" "$(DESTDIR)$(MODPROBEDIR)/mpmcring.conf"

check:
	bash scripts/deps.sh
	$(PYTHON) tests/harness/run.py

check-harness:
	bash tests/harness/selfcheck.sh

lint:
	bash scripts/lint.sh

demo:
	bash scripts/demo.sh

bench bench-quick:
	$(MAKE) -C bench $@

bench-vm:
	bash scripts/bench-vm.sh

bench-events:
	bash scripts/bench-events.sh

clean:
	@if [ -f "$(KDIR)/Makefile" ]; then $(MAKE) -C "$(KDIR)" M="$(CURDIR)" clean; \
	else find . -path ./build -prune -o -path ./.git -prune -o -type f \( -name '*.o' \
		-o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' -o -name '.*.cmd' \
		-o -name modules.order -o -name Module.symvers \) -print | xargs rm -f; fi
	$(MAKE) -C userspace clean
	$(MAKE) -C bench clean
	rm -rf build

.PHONY: all check-kdir modules modules_install userspace install uninstall check \
	check-harness lint demo bench bench-quick bench-vm bench-events clean
