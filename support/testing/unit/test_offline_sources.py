"""Unit tests of support/testing/offline-sources.py: how it picks Debian's
version and what it writes for Buildroot. No network: nothing here
downloads.

    python3 -m unittest discover -s support/testing/unit
"""

import importlib.util
import json
import os
import tempfile
import types
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = importlib.util.spec_from_file_location(
    "offline_sources", os.path.join(HERE, "..", "offline-sources.py"))
offline_sources = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(offline_sources)


class UpstreamVersion(unittest.TestCase):
    def test_epoch_revision_and_repack_go(self):
        self.assertEqual(offline_sources.upstream_version("1:2.6.0-1"), "2.6.0")
        self.assertEqual(offline_sources.upstream_version("2:3.8.2+dfsg-1"), "3.8.2")
        self.assertEqual(offline_sources.upstream_version("1.20260408+ds-1"), "1.20260408")
        self.assertEqual(offline_sources.upstream_version("20241016-3"), "20241016")

    def test_really_keeps_the_real_version(self):
        self.assertEqual(offline_sources.upstream_version("4.8+really4.7.5-1"), "4.7.5")


class PatchesGiven(unittest.TestCase):
    def test_named_after_buildroots_patches(self):
        entry = {"patches": "applied here; fix-b.patch (given); fix-a.patch (given)"}
        self.assertEqual(offline_sources.patches_given(entry), ["fix-a.patch", "fix-b.patch"])

    def test_none_for_a_tree_made_without(self):
        self.assertEqual(offline_sources.patches_given({"patches": "by Buildroot"}), [])


class DebianCandidates(unittest.TestCase):
    def test_the_same_version_comes_first(self):
        got = offline_sources.debian_candidates(["2.46-2", "2.45.1-1", "2.44-3"], "2.45.1")
        self.assertEqual(got[0], "2.45.1-1")

    def test_then_the_nearest_release(self):
        got = offline_sources.debian_candidates(["2.46-2", "2.40-1", "2.45.50.20251125-1"], "2.45.1")
        self.assertEqual(got, ["2.46-2", "2.40-1"])

    def test_a_backport_of_the_same_series_is_nearest(self):
        got = offline_sources.debian_candidates(
            ["7.1.8-2", "6.12.117-1", "6.18.15-1~bpo13+1", "6.19.14-1~bpo13+1"], "6.18.45")
        self.assertEqual(got[:2], ["6.18.15-1~bpo13+1", "6.19.14-1~bpo13+1"])

    def test_a_date_version_without_dots_is_the_same(self):
        got = offline_sources.debian_candidates(["20220903-1", "20241016-3"], "2024.10.16")
        self.assertEqual(got[0], "20241016-3")


class KnownHashes(unittest.TestCase):
    def test_only_sha256_lines_of_that_file(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "foo.hash")
            with open(path, "w") as f:
                f.write("# comment\nsha256  aa  foo-1.0.tar.xz\nmd5  bb  foo-1.0.tar.xz\n"
                        "sha256  cc  COPYING\n")
            self.assertEqual(offline_sources.known_hashes(d, [path], "foo-1.0.tar.xz"), ["aa"])


class OverrideFile(unittest.TestCase):
    """Each output directory gets its own local.mk, with only its own
    packages: two defconfigs may take two versions of one package."""

    def assembler(self, work, out, state):
        os.makedirs(out)
        with open(os.path.join(out, ".config"), "w") as f:
            f.write("BR2_KERNEL_HEADERS_AS_KERNEL=y\n")
        with open(os.path.join(work, "provenance.json"), "w") as f:
            json.dump(state, f)
        args = types.SimpleNamespace(buildroot=work, output=out, work=work, git=[], tarball=[],
                                     patch=[])
        return offline_sources.Assembler(args)

    def test_only_the_packages_of_that_output(self):
        state = {
            "linux/linux-6.18.45.tar.xz": {"packages": ["linux", "linux-headers"],
                                           "override": "/src/linux-6.18.35"},
            "linux/linux-7.1.9.tar.xz": {"packages": ["linux", "linux-headers"],
                                         "override": "/src/linux-7.1.8"},
            "busybox/busybox-1.38.0.tar.bz2": {"packages": ["busybox"], "override": None},
            "python3/Python-3.14.7.tar.xz": {"packages": ["host-python3"],
                                             "override": "/src/python3-3.13.15"},
        }
        with tempfile.TemporaryDirectory() as work:
            out = os.path.join(work, "out")
            a = self.assembler(work, out, state)
            pkgs = [{"dl_dir": "linux", "source": "linux-7.1.9.tar.xz"},
                    {"dl_dir": "busybox", "source": "busybox-1.38.0.tar.bz2"}]
            path = a.write_override_file(pkgs)
            self.assertEqual(path, os.path.join(out, "local.mk"))
            lines = offline_sources.read(path).splitlines()
        self.assertIn("LINUX_OVERRIDE_SRCDIR = /src/linux-7.1.8", lines)
        self.assertFalse([line for line in lines if "6.18" in line])
        # linux-headers takes linux's source: naming it too would build it twice
        self.assertFalse([line for line in lines if line.startswith("LINUX_HEADERS_")])
        self.assertFalse([line for line in lines if "PYTHON3" in line])

    def one_package(self, key, override):
        """The override file's lines for one package standing in."""
        dl_dir, source = key.split("/")
        state = {key: {"packages": ["host-" + dl_dir], "override": override}}
        with tempfile.TemporaryDirectory() as work:
            a = self.assembler(work, os.path.join(work, "out"), state)
            path = a.write_override_file([{"dl_dir": dl_dir, "source": source}])
            return offline_sources.read(path).splitlines()

    def test_swig_version_follows_the_tree_standing_in(self):
        lines = self.one_package("swig/swig-4.1.1.tar.gz", "/src/swig-4.1.0")
        self.assertIn("HOST_SWIG_OVERRIDE_SRCDIR = /src/swig-4.1.0", lines)
        self.assertIn("override SWIG_VERSION = 4.1.0", lines)

    def test_python_series_follows_the_tree_standing_in(self):
        lines = self.one_package("python3/Python-3.14.7.tar.xz", "/src/python3-3.13.15")
        self.assertIn("HOST_PYTHON3_OVERRIDE_SRCDIR = /src/python3-3.13.15", lines)
        self.assertIn("override PYTHON3_VERSION_MAJOR = 3.13", lines)


if __name__ == "__main__":
    unittest.main()
