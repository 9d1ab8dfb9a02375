#
# SPDX-License-Identifier: MIT
#
# Runtime tests for the rust_sample kernel module and /dev/rust-sample.
# Run with: IMAGE_CLASSES += "testimage" and
#   bitbake core-image-rustsample -c testimage
#
# Only busybox applets of core-image-minimal are needed (dd, od, wc, md5sum,
# sort, stat, lsmod, rmmod, modprobe); su and python3 widen the coverage
# when the image has them.
#

from oeqa.runtime.case import OERuntimeTestCase
from oeqa.core.decorator.depends import OETestDepends
from oeqa.runtime.decorator.package import OEHasPackage

DEVICE = '/dev/rust-sample'
MODULE = 'rust_sample'
SYSFS = '/sys/module/%s' % MODULE

# Sizes of one read(2): a byte, a word batch, the 96 bytes of one ChaCha
# block with the key erasure, the largest stack buffer and one beyond, a
# page and one beyond, and 1 MiB (which loops over pages in the module).
READ_SIZES = (1, 16, 96, 256, 257, 4096, 4097, 1048576)

# Sizes of one write(2): up to, at and beyond one 64-byte mixing block and
# one page.
WRITE_SIZES = (1, 64, 65, 4096, 65536)


class RustSampleTest(OERuntimeTestCase):

    def run_ok(self, cmd):
        status, output = self.target.run(cmd)
        self.assertEqual(status, 0, msg='"%s" failed: %s' % (cmd, output))
        return output

    def has_command(self, name):
        status, _ = self.target.run('command -v %s' % name)
        return status == 0

    def read_bytes(self, count=64):
        # dd rather than "head -c": the default busybox has no FANCY_HEAD.
        output = self.run_ok('dd if=%s bs=%d count=1 2>/dev/null | od -An -v -tx1'
                             % (DEVICE, count))
        data = output.split()
        self.assertEqual(len(data), count,
                         msg='short read from %s: %s' % (DEVICE, output))
        return data

    def dd_records(self, args, direction):
        # dd's "records in/out" line: "1+0" is one full block, "0+1" a
        # short one, so one read(2) or write(2) returned the whole count.
        output = self.run_ok('dd %s 2>&1 >/dev/null' % args)
        for line in output.splitlines():
            if line.endswith('records %s' % direction):
                return line.split()[0]
        self.fail('no "records %s" from dd %s: %s' % (direction, args, output))

    @OETestDepends(['ssh.SSHTest.test_ssh'])
    @OEHasPackage(['rust-sample'])
    def test_module_loaded(self):
        # Autoloaded at boot from modules-load.d; no manual modprobe here.
        output = self.run_ok('lsmod')
        names = [line.split()[0] for line in output.splitlines() if line.strip()]
        self.assertIn(MODULE, names,
                      msg='%s not loaded at boot, lsmod: %s' % (MODULE, output))
        self.assertEqual(self.run_ok('cat %s/initstate' % SYSFS).strip(), 'live')
        self.run_ok('ls /etc/modules-load.d/%s.conf /usr/lib/modules-load.d/%s.conf 2>/dev/null'
                    ' | grep -q .' % (MODULE, MODULE))

    @OETestDepends(['rustsample.RustSampleTest.test_module_loaded'])
    def test_device_node(self):
        # A misc device: character device, major 10, owned by root.
        output = self.run_ok('stat -L -c "%%F %%t %%U" %s' % DEVICE)
        self.assertEqual(output.strip(), 'character special file a root',
                         msg='unexpected node %s: %s' % (DEVICE, output))

    @OETestDepends(['rustsample.RustSampleTest.test_device_node'])
    def test_device_permissions(self):
        # 0444 comes from the udev rule 50-rust-sample.rules (systemd-udevd
        # or eudev); busybox mdev does not read it.
        if not self.has_command('udevadm'):
            self.skipTest('no udev on the target: 50-rust-sample.rules does not apply')
        output = self.run_ok('stat -L -c %%a %s' % DEVICE)
        self.assertEqual(output.strip(), '444',
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
    def test_read_sizes(self):
        for size in READ_SIZES:
            # One read(2) of size bytes returns them all.
            self.assertEqual(self.dd_records('if=%s of=/dev/null bs=%d count=1'
                                             % (DEVICE, size), 'in'), '1+0',
                             msg='short read(2) of %d bytes' % size)
            output = self.run_ok('dd if=%s bs=%d count=1 2>/dev/null | wc -c'
                                 % (DEVICE, size))
            self.assertEqual(int(output), size, msg='read of %d bytes' % size)
        # 1 MiB in page-sized reads, as a reader loop would do it.
        self.assertEqual(self.dd_records('if=%s of=/dev/null bs=4096 count=256' % DEVICE, 'in'),
                         '256+0')

    @OETestDepends(['rustsample.RustSampleTest.test_read_sizes'])
    def test_read_large_random(self):
        # Beyond the stack buffer the module fills a heap buffer page by
        # page: (almost) every byte value shows up, and two 1 MiB reads
        # differ.
        for size in (4097, 65536):
            output = self.run_ok('dd if=%s bs=%d count=1 2>/dev/null | od -An -v -tx1'
                                 ' | tr -s " " "\\n" | grep . | sort -u | wc -l'
                                 % (DEVICE, size))
            self.assertGreaterEqual(int(output), 250,
                                    msg='%d bytes from %s hold only %s byte values'
                                    % (size, DEVICE, output.strip()))
        sums = [self.run_ok('dd if=%s bs=1048576 count=1 2>/dev/null | md5sum' % DEVICE).split()[0]
                for _ in range(2)]
        self.assertNotEqual(sums[0], sums[1],
                            msg='two 1 MiB reads from %s returned the same bytes' % DEVICE)

    @OETestDepends(['rustsample.RustSampleTest.test_module_loaded'])
    def test_read_write_zero(self):
        # dd cannot issue a read(2) or write(2) of 0 bytes.
        if not self.has_command('python3'):
            self.skipTest('no python3 on the target for read(2) and write(2) of 0 bytes')
        output = self.run_ok('python3 -c "import os; fd = os.open(\'%s\', os.O_RDWR); '
                             'print(len(os.read(fd, 0)), os.write(fd, b\'\'))"' % DEVICE)
        self.assertEqual(output.split(), ['0', '0'])

    @OETestDepends(['rustsample.RustSampleTest.test_module_loaded'])
    def test_write(self):
        # Root may write despite 0444: the bytes are mixed into the pool
        # (no entropy credited) and write(2) returns the whole count.
        for size in WRITE_SIZES:
            self.assertEqual(self.dd_records('if=/dev/zero of=%s bs=%d count=1'
                                             % (DEVICE, size), 'out'), '1+0',
                             msg='short write(2) of %d bytes' % size)
        self.run_ok('echo rustsample > %s' % DEVICE)
        # Reads still work after writes.
        self.assertEqual(len(self.read_bytes(64)), 64)

    @OETestDepends(['rustsample.RustSampleTest.test_device_permissions'])
    def test_access_as_user(self):
        # 0444: an unprivileged user can read, and cannot write.
        if not self.has_command('su'):
            self.skipTest('no su on the target')
        output = self.run_ok('su -s /bin/sh nobody -c "dd if=%s bs=16 count=1 2>/dev/null | od -An -v -tx1"'
                             % DEVICE)
        self.assertEqual(len(output.split()), 16,
                         msg='unprivileged read failed: %s' % output)
        status, output = self.target.run('su -s /bin/sh nobody -c "echo x > %s"' % DEVICE)
        self.assertNotEqual(status, 0, msg='unprivileged write succeeded: %s' % output)

    @OETestDepends(['rustsample.RustSampleTest.test_module_loaded'])
    def test_rmmod_while_open(self):
        # The module sets fops.owner: the VFS holds a reference while the
        # device is open, so rmmod is refused until the last close().
        output = self.run_ok('exec 3<%s; cat %s/refcnt; rmmod %s; echo "rmmod=$?"; exec 3<&-'
                             % (DEVICE, SYSFS, MODULE))
        words = output.split()
        self.assertNotIn('rmmod=0', words, msg='rmmod succeeded while open: %s' % output)
        self.assertGreaterEqual(int(words[0]), 1, msg='refcnt while open: %s' % output)
        self.run_ok('test -d %s' % SYSFS)
        self.assertEqual(self.run_ok('cat %s/refcnt' % SYSFS).strip(), '0')

    # Last: it depends on the tests that always run; those that may be
    # skipped (test_access_as_user, test_read_write_zero) sort before it.
    @OETestDepends(['rustsample.RustSampleTest.test_read_random',
                    'rustsample.RustSampleTest.test_read_large_random',
                    'rustsample.RustSampleTest.test_write',
                    'rustsample.RustSampleTest.test_rmmod_while_open'])
    def test_unload_reload(self):
        self.run_ok('rmmod %s' % MODULE)
        status, _ = self.target.run('test -e %s' % DEVICE)
        self.assertNotEqual(status, 0, msg='%s still present after rmmod' % DEVICE)
        self.run_ok('modprobe %s' % MODULE)
        self.run_ok('for i in 1 2 3 4 5 6 7 8 9 10; do [ -c %s ] && break; sleep 1; done; [ -c %s ]'
                    % (DEVICE, DEVICE))
        self.assertEqual(len(self.read_bytes(16)), 16)
