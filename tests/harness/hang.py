# SPDX-License-Identifier: GPL-2.0-only
"""Where a stuck guest was: the qemu monitor's registers and local APICs of
each vCPU, and the instruction pointers named with the kernel's System.map
(or, for Debian's kernels, whose System.map is a placeholder, with
/proc/kallsyms of a second short boot). Guests boot with nokaslr."""
import gzip
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

from common import GUEST_CMDLINE_COMMON, GUEST_CPUS, guest_tsc_words, read_lines


def monitor_dump(sock_path, out_path):
    """Asks a hung guest's qemu monitor where its vCPUs are and what their
    local APICs hold; writes it all to out_path, returns the RIPs."""
    cmds = ["info registers -a"] + ["info lapic %d" % i for i in range(GUEST_CPUS)]
    data = b""

    def read_prompts(s, want):
        # Until the monitor has printed `want` prompts in all: one on
        # connecting, then one after each answer.
        nonlocal data
        end = time.monotonic() + 5
        while time.monotonic() < end and data.count(b"(qemu)") < want:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return
            if not chunk:
                return
            data += chunk

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(sock_path)
            read_prompts(s, 1)
            for i, cmd in enumerate(cmds):
                s.sendall(cmd.encode() + b"\n")
                read_prompts(s, i + 2)
    except OSError as e:
        data += ("\n(monitor: %s)\n" % e).encode()
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", data.decode("utf-8", "replace"))
    with open(out_path, "w") as f:
        f.write(text)
    return re.findall(r"RIP=([0-9a-f]{16})", text)


def symbolize(addrs, system_map):
    """Names kernel addresses with System.map (guests boot with nokaslr)."""
    syms = []
    try:
        with open(system_map) as f:
            for line in f:
                a, t, name = line.split()[:3]
                if t in "tTwW":
                    syms.append((int(a, 16), name))
    except (OSError, ValueError):
        syms = []
    if len(syms) < 1000:  # Debian's stock System.map is a placeholder
        return ["%s (no System.map to name it)" % a for a in addrs]
    syms.sort()
    out = []
    for a in addrs:
        v = int(a, 16)
        lo, hi = 0, len(syms)
        while lo < hi:
            mid = (lo + hi) // 2
            if syms[mid][0] <= v:
                lo = mid + 1
            else:
                hi = mid
        if lo and v - syms[lo - 1][0] < 0x100000 and v < 0xffffffffa0000000:
            out.append("%s <%s+0x%x>" % (a, syms[lo - 1][1], v - syms[lo - 1][0]))
        elif v >= 0xffffffffa0000000:
            out.append("%s <in a module>" % a)
        else:
            out.append("%s <user space>" % a if v < 0x800000000000 else a)
    return out


KALLSYMS_INIT = r"""#!/bin/busybox sh
/bin/busybox mkdir -p /proc
/bin/busybox mount -t proc proc /proc
for a in $(echo "$ADDRS" | /bin/busybox tr , " "); do
    /bin/busybox awk -v a="$a" '$1 <= a && $2 ~ /^[tTwW]$/ && $1 > b { b = $1; n = $3 }
        END { print "SYM", a, b, n }' /proc/kallsyms
done
/bin/busybox reboot -f
"""


def kallsyms_lookup(image, addrs, workdir):
    """Names kernel addresses for a kernel without a real System.map (Debian's
    stock ones) by booting it once more, with nokaslr as the tests did, and
    asking its /proc/kallsyms. Only on a hang; a few seconds."""
    stage = tempfile.mkdtemp(prefix="mpr-ksyms.", dir=workdir)
    try:
        initrd = os.path.join(stage, "initrd.cpio.gz")
        root = os.path.join(stage, "root")
        os.makedirs(os.path.join(root, "bin"))
        shutil.copy("/bin/busybox", os.path.join(root, "bin", "busybox"))
        with open(os.path.join(root, "init"), "w") as f:
            f.write(KALLSYMS_INIT)
        os.chmod(os.path.join(root, "init"), 0o755)
        cpio = subprocess.run("find . | cpio -o -H newc --quiet", shell=True, cwd=root,
                              stdout=subprocess.PIPE, check=True).stdout
        with gzip.open(initrd, "wb", compresslevel=1) as f:
            f.write(cpio)
        out = os.path.join(stage, "out.log")
        subprocess.run(["qemu-system-x86_64", "-accel", "tcg,thread=multi", "-smp", "1",
                        "-m", "512M", "-nodefaults", "-display", "none", "-no-reboot",
                        "-kernel", image, "-initrd", initrd, "-append",
                        " ".join(["console=ttyS0", "nokaslr", "quiet"] + GUEST_CMDLINE_COMMON
                                 + guest_tsc_words() + ["ADDRS=%s" % ",".join(addrs)]),
                        "-serial", "file:" + out], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        names = {}
        for line in read_lines(out):
            w = line.split()
            if len(w) == 4 and w[0] == "SYM":
                names[w[1]] = "%s+0x%x" % (w[3], int(w[1], 16) - int(w[2], 16))
        return names
    except (OSError, subprocess.SubprocessError, ValueError):
        return {}
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def where_stuck(sock_path, logdir, image, system_map):
    """The places of a stuck guest's vCPUs, named where possible; the
    monitor's dump goes to <logdir>/hang-registers.txt."""
    rips = monitor_dump(sock_path, os.path.join(logdir, "hang-registers.txt"))
    named = symbolize(rips, system_map) if system_map else rips
    if any("no System.map" in n for n in named):
        kernel_rips = sorted(set(r for r in rips if r.startswith("ffffffff8")))
        syms = kallsyms_lookup(image, kernel_rips, logdir) if kernel_rips else {}
        named = ["%s <%s>" % (r, syms[r]) if r in syms else r for r in rips]
    return ["vCPU%d at %s" % (i, w) for i, w in enumerate(named)]
