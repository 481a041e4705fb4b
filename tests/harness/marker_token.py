# SPDX-License-Identifier: GPL-2.0-only
"""The per-boot token that init.sh writes into every results-port marker,
so that the parser (parse.py) can tell init's markers from lines a test
program prints that look like them (its own section's END, DONE).

How it reaches init, and why that way: the host makes a fresh random
token for each boot and packs it as one file, /mpmcring-token, in a small
uncompressed cpio put in front of the guest's initramfs (the kernel
unpacks concatenated archives, as Debian's early microcode does). init.sh
reads the file and deletes it before it runs anything else. Not the kernel
command line: every program in the guest can read /proc/cmdline, and init's
environment in /proc/1/environ. After init deleted the file the token lives
only in init's shell (not exported: no program inherits it) and on the
results port, which the guest writes but cannot read back. What it does
not stop: a program that sets out to attack the runner, as root, can still
read init's memory (/proc/1/mem); the token stops a program that prints
marker lines, whether by accident, by echoing what it read, or on purpose
without that digging.

The token is kept next to the guest's logs (build/logs/<k>/token) for
judge.py and inventory_lines.py; on the host it is no secret."""
import os
import secrets
import shutil
import sys

TOKEN_FILE = "token"
GUEST_PATH = "mpmcring-token"  # at the root of the guest's rootfs


def new_token():
    return secrets.token_hex(16)


def write_token(logdir, token):
    with open(os.path.join(logdir, TOKEN_FILE), "w") as f:
        f.write(token + "\n")


def read_token(logdir):
    """The token of the guest whose logs are in logdir; "" when there is
    none (the guest never booted): then no line counts as a marker."""
    try:
        with open(os.path.join(logdir, TOKEN_FILE)) as f:
            return f.read().strip()
    except OSError:
        return ""


def _newc_entry(name, mode, data):
    """One entry of a newc ("070701") cpio archive, padded to 4 bytes."""
    name_b = name.encode() + b"\0"
    fields = [0, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0]
    head = b"070701" + b"".join(b"%08X" % v for v in fields) + name_b
    head += b"\0" * (-len(head) % 4)
    return head + data + b"\0" * (-len(data) % 4)


def token_cpio(token):
    """An uncompressed cpio holding only the token file (0400, root's),
    padded to 512 bytes: the next archive starts 4-byte aligned, as the
    kernel's unpacker requires of an uncompressed one (a compressed one
    may start anywhere)."""
    data = _newc_entry(GUEST_PATH, 0o100400, (token + "\n").encode())
    data += _newc_entry("TRAILER!!!", 0, b"")
    return data + b"\0" * (-len(data) % 512)


def initrd_with_token(initrd, token, dst):
    """Writes dst: the token's cpio, then the initramfs as it is."""
    with open(dst, "wb") as out:
        out.write(token_cpio(token))
        with open(initrd, "rb") as f:
            shutil.copyfileobj(f, out, 1 << 20)
    return dst


def main(argv):
    """marker_token.py <initrd> <token file> <out>: the initrd a judged
    boot had (boot.py's qemu.cmd says so), to boot it again by hand."""
    if len(argv) != 4:
        print("usage: %s <initrd> <token file> <out>" % argv[0], file=sys.stderr)
        return 2
    try:
        with open(argv[2]) as f:
            token = f.read().strip()
    except OSError as e:
        print("%s: %s" % (argv[0], e), file=sys.stderr)
        return 1
    if not token:
        print("%s: no token in %s" % (argv[0], argv[2]), file=sys.stderr)
        return 1
    initrd_with_token(argv[1], token, argv[3])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
