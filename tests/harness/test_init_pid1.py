# SPDX-License-Identifier: GPL-2.0-only
"""init.sh's PID 1 block: a marker written while an orphan exits is not
lost. Run in a PID namespace of its own (unshare), with busybox sh, the
guests' shell: the pipe is filled to the byte so the marker's write
blocks, an orphan exits meanwhile and signals PID 1. As PID 1 itself the
shell loses the line (printf fails with EINTR); behind init.sh's block it
is written."""
import os
import shutil
import subprocess
import tempfile
import unittest

from common import init_block

SCENARIO = """
exec 3>&1
busybox head -c 65536 /dev/zero | busybox tr '\\0' x >&3
(busybox sleep 0.3 &)
printf '%s\\n' "@@MPMCRING BEGIN vm next" >&3
"""


def pid1_block():
    block = init_block("pid1")
    # The host's /bin/sh is not busybox's.
    return block.replace('/bin/sh "$0"', 'busybox sh "$0"')


def run_as_pid1(script):
    """script's output, run by busybox sh as PID 1 of a new PID namespace;
    read only after 3 s, so that the pipe stays full until the orphan is
    gone (it sleeps 0.3 s)."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "init")
        with open(path, "w") as f:
            f.write(script)
        p = subprocess.Popen(["unshare", "-Urpf", "busybox", "sh", path],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            subprocess.run(["sleep", "3"], check=True)
            out, _ = p.communicate(timeout=30)
        finally:
            p.kill()
            p.wait()
    return out


def usable():
    if not shutil.which("busybox") or not shutil.which("unshare"):
        return False
    r = subprocess.run(["unshare", "-Urpf", "busybox", "sh", "-c", 'test "$$" = 1'],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


@unittest.skipUnless(usable(), "needs busybox and unshare -Urpf (user and PID namespaces)")
class MarkerAsPid1(unittest.TestCase):
    def test_pid1_itself_loses_the_marker(self):
        # The failure the block prevents: if this passes, the test shows
        # nothing about the block.
        self.assertNotIn(b"@@MPMCRING BEGIN vm next", run_as_pid1(SCENARIO))

    def test_behind_the_block_it_is_written(self):
        out = run_as_pid1(pid1_block() + SCENARIO)
        self.assertIn(b"@@MPMCRING BEGIN vm next", out)


if __name__ == "__main__":
    unittest.main()
