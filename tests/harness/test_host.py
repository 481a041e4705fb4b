# SPDX-License-Identifier: GPL-2.0-only
"""host.niced(): the host tests and checks at MPMCRING_HOST_NICE."""
import os
import unittest
from unittest import mock

import host


class Niced(unittest.TestCase):
    def test_the_runners_own_by_default(self):
        with mock.patch.dict(os.environ, {}, clear=False):
            os.environ.pop("MPMCRING_HOST_NICE", None)
            self.assertEqual(host.niced(["tests/host/run.sh"]), ["tests/host/run.sh"])

    def test_as_asked(self):
        with mock.patch.dict(os.environ, {"MPMCRING_HOST_NICE": "5"}):
            self.assertEqual(host.niced(["a", "b"]), ["nice", "-n", "5", "a", "b"])

    def test_not_a_niceness_stops_the_run(self):
        for bad in ("-1", "20", "ten", " 5"):
            with mock.patch.dict(os.environ, {"MPMCRING_HOST_NICE": bad}):
                with self.assertRaises(SystemExit) as e:
                    host.niced(["a"])
                self.assertIn("not a niceness from 0 to 19", str(e.exception.code))

    def test_zero_is_the_runners_own(self):
        with mock.patch.dict(os.environ, {"MPMCRING_HOST_NICE": "0"}):
            self.assertEqual(host.niced(["a"]), ["a"])


if __name__ == "__main__":
    unittest.main()
