#
# SPDX-License-Identifier: MIT
#
# Runtime tests for the rust_sample kernel module and /dev/rust-sample.
# Run with: IMAGE_CLASSES += "testimage" and
#   bitbake core-image-rustsample -c testimage
#

from oeqa.runtime.case import OERuntimeTestCase
from oeqa.core.decorator.depends import OETestDepends
from oeqa.runtime.decorator.package import OEHasPackage

DEVICE = '/dev/rust-sample'


class RustSampleTest(OERuntimeTestCase):

    def run_ok(self, cmd):
        status, output = self.target.run(cmd)
        self.assertEqual(status, 0, msg='"%s" failed: %s' % (cmd, output))
        return output

    def read_bytes(self, count=64):
        # dd rather than "head -c": the default busybox has no FANCY_HEAD.
        output = self.run_ok('dd if=%s bs=%d count=1 2>/dev/null | od -An -v -tx1'
                             % (DEVICE, count))
        data = output.split()
        self.assertEqual(len(data), count,
                         msg='short read from %s: %s' % (DEVICE, output))
        return data

    @OETestDepends(['ssh.SSHTest.test_ssh'])
    @OEHasPackage(['rust-sample'])
    def test_module_loaded(self):
        # Autoloaded at boot from modules-load.d; no manual modprobe here.
        output = self.run_ok('lsmod')
        names = [line.split()[0] for line in output.splitlines() if line.strip()]
        self.assertIn('rust_sample', names,
                      msg='rust_sample not loaded at boot, lsmod: %s' % output)

    @OETestDepends(['rustsample.RustSampleTest.test_module_loaded'])
    def test_device_permissions(self):
        output = self.run_ok('ls -lL %s' % DEVICE)
        mode = output.split()[0]
        # character device, 0444 (udev rule 50-rust-sample.rules)
        self.assertEqual(mode, 'cr--r--r--',
                         msg='unexpected mode for %s: %s' % (DEVICE, output))

    @OETestDepends(['rustsample.RustSampleTest.test_module_loaded'])
    def test_read_random(self):
        first = self.read_bytes()
        second = self.read_bytes()
        self.assertGreater(len(set(first)), 1,
                           msg='constant bytes from %s: %s' % (DEVICE, ' '.join(first)))
        self.assertGreater(len(set(second)), 1,
                           msg='constant bytes from %s: %s' % (DEVICE, ' '.join(second)))
        self.assertNotEqual(first, second,
                            msg='two reads from %s returned the same bytes' % DEVICE)

    @OETestDepends(['rustsample.RustSampleTest.test_module_loaded'])
    def test_read_as_user(self):
        # 0444 means an unprivileged user can read it too.
        status, _ = self.target.run('command -v su')
        if status != 0:
            self.skipTest('no su on the target')
        output = self.run_ok('su -s /bin/sh nobody -c "dd if=%s bs=16 count=1 2>/dev/null | od -An -v -tx1"'
                             % DEVICE)
        self.assertEqual(len(output.split()), 16,
                         msg='unprivileged read failed: %s' % output)

    @OETestDepends(['rustsample.RustSampleTest.test_read_random',
                    'rustsample.RustSampleTest.test_device_permissions',
                    'rustsample.RustSampleTest.test_read_as_user'])
    def test_unload_reload(self):
        self.run_ok('rmmod rust_sample')
        status, _ = self.target.run('test -e %s' % DEVICE)
        self.assertNotEqual(status, 0, msg='%s still present after rmmod' % DEVICE)
        self.run_ok('modprobe rust_sample')
        self.run_ok('for i in 1 2 3 4 5 6 7 8 9 10; do [ -c %s ] && break; sleep 1; done; [ -c %s ]'
                    % (DEVICE, DEVICE))
        self.assertEqual(len(self.read_bytes(16)), 16)
