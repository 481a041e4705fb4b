# SPDX-License-Identifier: GPL-2.0-only
"""Everything that is built before a guest boots: packages, test kernels,
the modules for each kernel (W=1), DKMS installs for the stock kernels (in
a private DKMS tree), the VM test programs, the static tools, one initramfs
per kernel.

Each step is a result: deps, build/kernel-<k>, build/<k>, <k>/dkms,
build/vm/<prog>, build/vm/mpmcring-cli, build/vm/consumer-example,
build/vm/go-example,
<k>/initramfs (only when it fails)."""
import os
import subprocess

from common import (BUILD, LOGS, R, REPO, TEST_KERNELS, env_list, progress, run,
                    tail)


def stage_deps():
    if os.environ.get("MPMCRING_DEPS", "1") == "0":
        progress("deps: skipped (MPMCRING_DEPS=0)")
        return True
    progress("deps: scripts/deps.sh")
    rc, out = run(["bash", os.path.join(REPO, "scripts/deps.sh")],
                  log=os.path.join(LOGS, "deps.log"))
    if rc != 0:
        R.add("deps", "fail", tail(out), [os.path.join(LOGS, "deps.log")])
        return False
    return True


def stock_release(kid):
    rc, out = run(["bash", "-c", '. "$1/scripts/lib.sh"; stock_release "$2"', "-", REPO, kid])
    return out.strip() if rc == 0 else ""


def stage_kernels(kernels):
    """KDIR and image of each kernel; a kernel that cannot be had is a failure."""
    found = {}
    for kid in kernels:
        if kid in TEST_KERNELS:
            progress("test kernel %s: scripts/build-test-kernel.sh %s (cached after the first build)"
                     % (kid, kid))
            log = os.path.join(LOGS, kid, "kernel-build.log")
            p = subprocess.run(["bash", os.path.join(REPO, "scripts/build-test-kernel.sh"), kid],
                               cwd=REPO, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            err = p.stderr.decode("utf-8", "replace")
            os.makedirs(os.path.dirname(log), exist_ok=True)
            with open(log, "w") as f:
                f.write(err)
            kdir = p.stdout.decode().strip().splitlines()[-1] if p.stdout.strip() else ""
            image = os.path.join(kdir, "arch/x86/boot/bzImage")
            if p.returncode != 0 or not os.path.isfile(image):
                R.add("build/kernel-%s" % kid, "fail", tail(err), [log])
                continue
            R.add("build/kernel-%s" % kid, "pass")
            found[kid] = (kdir, image)
        else:
            release = stock_release(kid)
            kdir = "/lib/modules/%s/build" % release
            image = "/boot/vmlinuz-%s" % release
            if not release or not os.path.isfile(image) or not os.path.isdir(kdir):
                R.add("build/kernel-%s" % kid, "fail",
                      "stock kernel %s: image or headers not installed (scripts/deps.sh)" % kid)
                continue
            progress("stock kernel %s: %s" % (kid, release))
            found[kid] = (kdir, image)
    return found


def stage_modules(kernels):
    """Every module of the top-level Kbuild, W=1, for each kernel."""
    mods = {}
    for kid, (kdir, _) in kernels.items():
        out = os.path.join(BUILD, "modules", kid)
        progress("modules for %s (W=1): scripts/build-modules.sh" % kid)
        rc, text = run(["bash", os.path.join(REPO, "scripts/build-modules.sh"), kid, kdir, out])
        log = os.path.join(out, "build.log")
        if rc != 0:
            R.add("build/%s" % kid, "fail", tail(text, 60), [log])
            continue
        kos = [l.strip() for l in text.splitlines() if l.strip().endswith(".ko")]
        R.add("build/%s" % kid, "pass")
        mods[kid] = kos
    return mods


def stage_dkms(kernels, mods):
    """Stock kernels boot the modules DKMS installed, as a user's machine
    would: <k>/dkms is dkms add/build/install against that kernel's headers,
    in a private DKMS tree under build/dkms/<k> (the host's DKMS, /usr/src
    and /lib/modules are only read), taking back only the modules dkms.conf
    names. When DKMS fails the guest still boots the modules built above."""
    for kid in kernels:
        if kid in TEST_KERNELS or kid not in mods:
            continue
        release = stock_release(kid)
        out = os.path.join(BUILD, "dkms", kid)
        log = os.path.join(LOGS, kid, "dkms.log")
        progress("DKMS for %s: scripts/dkms-install.sh %s" % (kid, release))
        rc, text = run(["bash", os.path.join(REPO, "scripts/dkms-install.sh"), release, out],
                       log=log)
        kos = [l.strip() for l in text.splitlines() if l.strip().endswith(".ko")]
        if rc != 0 or not kos:
            R.add("%s/dkms" % kid, "fail", tail(text, 40), [log])
            continue
        R.add("%s/dkms" % kid, "pass")
        mods[kid] = kos


def vm_programs():
    """The VM test programs in the tree: tests/vm/<prog>.c, and "go", the
    Go package's guest tests (go/vmtest, built by tests/vm/Makefile)."""
    srcdir = os.path.join(REPO, "tests/vm")
    if not os.path.isdir(srcdir):
        return []
    progs = sorted(f[:-2] for f in os.listdir(srcdir) if f.endswith(".c"))
    if os.path.isfile(os.path.join(REPO, "go", "go.mod")):
        progs.append("go")
    return progs


def stage_vm_tests():
    """Builds the VM test programs (all, or MPMCRING_VM_TESTS); returns
    the binaries. A program asked for that is not in the tree is left to
    the inventory check, which names it."""
    srcdir = os.path.join(REPO, "tests/vm")
    progs = vm_programs()
    only = env_list("MPMCRING_VM_TESTS")
    if only:
        progs = [p for p in progs if p in only]
    progress("VM test programs: make -C tests/vm (%s)" % (", ".join(progs) or "none"))
    built = []
    for prog in progs:
        binary = os.path.join(BUILD, "vm", "bin", prog)
        log = os.path.join(LOGS, "vm-build", prog + ".log")
        rc, out = run(["make", "-C", srcdir, "--no-print-directory", binary], log=log)
        if rc != 0 or not os.path.isfile(binary):
            R.add("build/vm/%s" % prog, "fail", tail(out, 40), [log])
            continue
        R.add("build/vm/%s" % prog, "pass")
        built.append(binary)
    return built


def stage_cli():
    """Programs for the guests' /bin, linked statically for busybox: the
    mpmcring tool (tests/vm/cli.c runs it) and the README's consumer,
    examples/consumer.c, built with pkg-config against a `make install`
    tree as a user would (tests/vm/example.c runs it); the Go example,
    examples/go, built offline as a user would (go/vmtest runs it)."""
    out = os.path.join(BUILD, "static-cli")
    binary = os.path.join(out, "tools", "mpmcring")
    log = os.path.join(LOGS, "vm-build", "mpmcring-cli.log")
    progress("the mpmcring tool and the example consumer, static")
    built = []
    rc, text = run(["make", "-C", os.path.join(REPO, "userspace"), "--no-print-directory",
                    "BUILD=" + out, "TOOLS_STATIC=1", "tools"], log=log)
    if rc != 0 or not os.path.isfile(binary):
        R.add("build/vm/mpmcring-cli", "fail", tail(text, 40), [log])
    else:
        R.add("build/vm/mpmcring-cli", "pass")
        built.append(binary)

    dest = os.path.join(BUILD, "static-install")
    example = os.path.join(out, "mpmcring-consumer-example")
    log = os.path.join(LOGS, "vm-build", "consumer-example.log")
    script = (
        'set -e; rm -rf "$1"; make -s -C "$2/userspace" install DESTDIR="$1" PREFIX=/usr; '
        'export PKG_CONFIG_SYSROOT_DIR="$1" PKG_CONFIG_LIBDIR="$1/usr/lib/pkgconfig"; '
        'cc -std=c11 -O2 -Wall -Wextra -Werror -static -o "$3" "$2/examples/consumer.c" '
        '$(pkg-config --cflags --libs --static mpmcring)')
    rc, text = run(["bash", "-c", script, "-", dest, REPO, example], log=log)
    if rc != 0 or not os.path.isfile(example):
        R.add("build/vm/consumer-example", "fail", tail(text, 40), [log])
    else:
        R.add("build/vm/consumer-example", "pass")
        built.append(example)

    gox = os.path.join(out, "mpmcring-jsonl")
    log = os.path.join(LOGS, "vm-build", "go-example.log")
    rc, text = run(["go", "build", "-o", gox, "."], log=log, cwd=os.path.join(REPO, "examples/go"),
                   env=dict(os.environ, CGO_ENABLED="0", GOPROXY="off"))
    if rc != 0 or not os.path.isfile(gox):
        R.add("build/vm/go-example", "fail", tail(text, 40), [log])
    else:
        R.add("build/vm/go-example", "pass")
        built.append(gox)
    return built


def stage_initramfs(kid, kos, progs, tools=()):
    out = os.path.join(BUILD, "initramfs", kid + ".cpio.gz")
    cmd = ["bash", os.path.join(REPO, "scripts/build-initramfs.sh"), "-o", out,
           "-i", os.path.join(REPO, "tests/harness/init.sh")]
    for k in kos:
        cmd += ["-m", k]
    for p in progs:
        cmd += ["-t", p]
    for p in tools:
        cmd += ["-b", p]
    rc, text = run(cmd)
    if rc != 0:
        R.add("%s/initramfs" % kid, "fail", tail(text))
        return None
    return out
