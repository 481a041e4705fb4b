# SPDX-License-Identifier: GPL-2.0-only
"""host.niced(): the host tests and checks run below the guests' priority."""
import os
import unittest
from unittest import mock

import host


class Niced(unittest.TestCase):
    def test_below_the_guests_by_default(self):
        with mock.patch.dict(os.environ, {}, clear=False):
            os.environ.pop("MPMCRING_HOST_NICE", None)
            self.assertEqual(host.niced(["tests/host/run.sh"]),
                             ["nice", "-n", "10", "tests/host/run.sh"])

    def test_as_asked(self):
        with mock.patch.dict(os.environ, {"MPMCRING_HOST_NICE": "5"}):
            self.assertEqual(host.niced(["a", "b"]), ["nice", "-n", "5", "a", "b"])

    def test_zero_is_the_runners_own(self):
        with mock.patch.dict(os.environ, {"MPMCRING_HOST_NICE": "0"}):
            self.assertEqual(host.niced(["a"]), ["a"])


if __name__ == "__main__":
    unittest.main()
