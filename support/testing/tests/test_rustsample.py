"""Runtime tests of the rustsample br2-external tree.

TestRustSample*: build a defconfig of this tree, with the in-guest test
suite of the project added (rustsample-tests), boot it in QEMU as its
start-qemu.sh does (sdcard.img through U-Boot; bzImage and rootfs.ext2
on x86_64), and run the suite.

TestLinuxKernelRust: the kernel Rust option alone, without rustsample:
configure the kernel and check that CONFIG_RUST=y survived.

Buildroot's run-tests only looks for tests in its own tree; run them
with this directory in PYTHONPATH:

  PYTHONPATH=$BR2_EXTERNAL/support/testing/tests \\
      support/testing/run-tests -d dl -o output \\
      test_rustsample.TestRustSampleAarch64

RUSTSAMPLE_BR2_CONFIG may name a file of configuration lines that this
machine needs on top of each test's (for example the kernel's Rust
toolchain from the build machine): support/testing/build-offline.sh writes one.
"""

import glob
import os
import re

import infra.basetest

BR2_EXTERNAL = os.path.realpath(
    os.path.join(os.path.dirname(__file__), "..", "..", ".."))

# Added to the defconfigs: the test suite, and no DHCP on a guest
# booted without a network card.
TEST_CONFIG = """
BR2_PACKAGE_RUSTSAMPLE_TESTS=y
BR2_SYSTEM_DHCP=""
"""


def machine_config():
    path = os.environ.get("RUSTSAMPLE_BR2_CONFIG")
    if not path:
        return ""
    with open(path) as f:
        return f.read()


def symbol(line):
    m = re.match(r"^(?:# )?(BR2_\w+)(?:=| is not set)", line.strip())
    return m and m.group(1)


def merge(*configs):
    """One configuration, a later line replacing an earlier one of the
    same option: run-tests wants every line in the final .config."""
    lines = {}
    for config in configs:
        for line in config.splitlines():
            sym = symbol(line)
            if not sym:
                continue
            if line.startswith("#"):
                # its sub-options (BR2_FOO_BAR for BR2_FOO) go with it
                for other in [s for s in lines if s.startswith(sym + "_")]:
                    del lines[other]
            lines.pop(sym, None)
            lines[sym] = line.strip()
    return "\n".join(lines.values()) + "\n"


def defconfig(name):
    with open(os.path.join(BR2_EXTERNAL, "configs", name)) as f:
        return merge(f.read(), TEST_CONFIG, machine_config())


class RustSampleTestBase(infra.basetest.BRTest):
    br2_external = [BR2_EXTERNAL]

    def image(self, name):
        return os.path.join(self.builddir, "images", name)

    def options(self):
        # start-qemu.sh's machine, without its network card
        return ["-smp", "1", "-m", "512",
                "-drive", "file={},if=none,format=raw,id=hd0".format(
                    self.image("sdcard.img")),
                "-device", "virtio-blk-device,drive=hd0"]

    def check_rust_sample(self):
        self.emulator.login(timeout=120)

        # Loaded at boot by S50rustsample
        self.assertRunOk("grep -q '^rust_sample ' /proc/modules")

        # The project's guest suite: one "ok - NAME" or "not ok - NAME"
        # line per check. It reads and times up to 1 GiB, and loads the
        # module 20 times.
        out, status = self.emulator.run("/usr/lib/rustsample/guest-tests.sh",
                                        timeout=900)
        results = {}
        for line in out:
            m = re.match(r"^(not ok|ok) - (.*)$", line)
            if m:
                results[m.group(2)] = m.group(1) == "ok"
        log = "\n".join(out)
        self.assertIn("/dev/rust-sample is a 0444 character device",
                      results, log)
        self.assertIn("devcheck signal", results, log)
        self.assertIn("rmmod is refused while the device is open",
                      results, log)
        failed = {name for name, ok in results.items() if not ok}
        self.assertEqual(failed, set(), log)
        self.assertEqual(status, 0, log)


class TestRustSampleAarch64(RustSampleTestBase):
    config = defconfig("rustsample_defconfig")

    def test_run(self):
        self.emulator.boot(
            arch="aarch64",
            options=["-M", "virt", "-cpu", "cortex-a53",
                     "-bios", self.image("u-boot.bin")] + self.options())
        self.check_rust_sample()


class TestRustSampleRiscv64(RustSampleTestBase):
    config = defconfig("rustsample_riscv64_defconfig")

    def test_run(self):
        self.emulator.boot(
            arch="riscv64",
            kernel=self.image("u-boot.bin"),
            options=["-M", "virt",
                     "-bios", self.image("fw_jump.bin")] + self.options())
        self.check_rust_sample()


class TestRustSampleX86_64(RustSampleTestBase):
    config = defconfig("rustsample_x86_64_defconfig")

    def test_run(self):
        # start-qemu.sh's machine, without its network card
        self.emulator.boot(
            arch="x86_64",
            kernel=self.image("bzImage"),
            kernel_cmdline=["rootwait", "root=/dev/vda", "console=ttyS0"],
            options=["-M", "pc", "-smp", "1", "-m", "512", "-nic", "none",
                     "-drive", "file={},if=virtio,format=raw".format(
                         self.image("rootfs.ext2"))])
        self.check_rust_sample()


class TestLinuxKernelRust(infra.basetest.BRHostPkgTest):
    """BR2_LINUX_KERNEL_RUST without any Rust module: the kernel
    configuration keeps CONFIG_RUST=y."""
    br2_external = [BR2_EXTERNAL]
    config = """
        BR2_aarch64=y
        BR2_TOOLCHAIN_EXTERNAL=y
        BR2_TOOLCHAIN_EXTERNAL_BOOTLIN=y
        BR2_GLOBAL_PATCH_DIR="$(BR2_EXTERNAL_RUSTSAMPLE_PATH)/board/common/patches"
        BR2_LINUX_KERNEL=y
        BR2_LINUX_KERNEL_CUSTOM_VERSION=y
        BR2_LINUX_KERNEL_CUSTOM_VERSION_VALUE="7.1.9"
        BR2_LINUX_KERNEL_USE_ARCH_DEFAULT_CONFIG=y
        BR2_LINUX_KERNEL_RUST=y
        # BR2_TARGET_ROOTFS_TAR is not set
        """
    hostpkgs = ["linux-configure"]

    def test_run(self):
        linux_dir = os.path.join(self.builddir, "build", "linux-7.1.9")
        with open(os.path.join(linux_dir, ".config")) as f:
            dot_config = f.read().splitlines()
        self.assertIn("CONFIG_RUST=y", dot_config)
        self.assertFalse(os.path.exists(
            os.path.join(linux_dir, "drivers", "rust_sample")))
        self.assertEqual(glob.glob(os.path.join(self.builddir, "build",
                                                "rustsample-*")), [])
