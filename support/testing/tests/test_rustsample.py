"""Runtime tests of the rustsample defconfigs.

The tests build a defconfig of this br2-external tree as it is, boot its
sdcard.img through U-Boot in QEMU and check that the init script loaded
rust_sample and that /dev/rust-sample serves random bytes. Buildroot's
run-tests only looks for tests in its own tree; run them with this
directory in PYTHONPATH:

  PYTHONPATH=$BR2_EXTERNAL/support/testing/tests \\
      support/testing/run-tests -d dl -o output \\
      test_rustsample.TestRustSampleAarch64
"""

import os

import infra.basetest

BR2_EXTERNAL = os.path.realpath(
    os.path.join(os.path.dirname(__file__), "..", "..", ".."))

READ_SIZE = 256


def defconfig(name):
    with open(os.path.join(BR2_EXTERNAL, "configs", name)) as f:
        return f.read()


class RustSampleTestBase(infra.basetest.BRTest):
    br2_external = [BR2_EXTERNAL]

    def image(self, name):
        return os.path.join(self.builddir, "images", name)

    def disk(self):
        # sdcard.img, booted by U-Boot from extlinux/extlinux.conf on
        # its first partition, as start-qemu.sh does
        return ["-drive", "file={},if=none,format=raw,id=hd0".format(
                    self.image("sdcard.img")),
                "-device", "virtio-blk-device,drive=hd0"]

    def read_device(self):
        cmd = "dd if=/dev/rust-sample bs={} count=1 2>/dev/null" \
              " | od -An -v -tx1".format(READ_SIZE)
        out, exit_code = self.emulator.run(cmd)
        self.assertEqual(exit_code, 0, "\n".join(out))
        return bytes.fromhex(" ".join(out))

    def check_rust_sample(self):
        self.emulator.login(timeout=120)

        # Loaded at boot by S50rustsample
        self.assertRunOk("lsmod | grep -w rust_sample")

        # A character device, readable by everyone (mdev.conf line)
        out, exit_code = self.emulator.run("ls -l /dev/rust-sample")
        self.assertEqual(exit_code, 0, "\n".join(out))
        self.assertTrue(out[0].startswith("cr--r--r--"), out[0])

        # Random bytes: a full read, not one value repeated, and
        # another read gives other bytes
        first = self.read_device()
        second = self.read_device()
        self.assertEqual(len(first), READ_SIZE)
        self.assertEqual(len(second), READ_SIZE)
        self.assertGreater(len(set(first)), 1)
        self.assertNotEqual(first, second)


class TestRustSampleAarch64(RustSampleTestBase):
    config = defconfig("rustsample_defconfig")

    def boot(self):
        self.emulator.boot(
            arch="aarch64",
            options=["-M", "virt", "-cpu", "cortex-a53", "-smp", "1",
                     "-bios", self.image("u-boot.bin")] + self.disk())

    def test_run(self):
        self.boot()
        self.check_rust_sample()


class TestRustSampleRiscv64(RustSampleTestBase):
    config = defconfig("rustsample_riscv64_defconfig")

    def boot(self):
        self.emulator.boot(
            arch="riscv64",
            kernel=self.image("u-boot.bin"),
            options=["-M", "virt", "-smp", "1",
                     "-bios", self.image("fw_jump.bin")] + self.disk())

    def test_run(self):
        self.boot()
        self.check_rust_sample()
