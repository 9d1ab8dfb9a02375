#!/usr/bin/env python3
"""Boot a built image with the start-qemu.sh that its post-image script
wrote, as a user would, and check the device from the guest's shell.

    boot-start-qemu.py IMAGES_DIR

Logs in as root on the serial console, then checks that rust_sample is
loaded, that /dev/rust-sample hands out 4096 bytes that are not all
zero, and, when the image carries rustsample-tests, that every check of
the guest suite passes. The console goes to standard output. The exit
status is 0 only if every check passed. Needs pexpect.
"""

import os
import re
import sys

import pexpect

PROMPT = "# "


def run(qemu, cmd, timeout=60):
    """CMD's output lines and exit status, through the serial console."""
    qemu.sendline(f"{cmd}; echo \"status=$?\"")
    qemu.expect(r"status=(\d+)\r*\n", timeout=timeout)
    status = int(qemu.match.group(1))
    lines = qemu.before.replace("\r", "").split("\n")[1:]  # without the echoed command
    qemu.expect_exact(PROMPT)
    return lines, status


def number(lines):
    """The first line that is a number (wc's answer), else 0."""
    return next((int(x) for x in lines if x.strip().isdigit()), 0)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.split("\n\n")[1].strip())
    script = os.path.join(sys.argv[1], "start-qemu.sh")
    if not os.access(script, os.X_OK):
        sys.exit(f"{script}: not found (is this an images directory of a QEMU defconfig?)")
    # No network card: nothing in the checks needs one.
    qemu = pexpect.spawn(script, ["-nic", "none"], encoding="utf-8",
                         codec_errors="replace", timeout=300, logfile=sys.stdout)
    failed = []

    def check(name, ok):
        print(f"\n{'ok' if ok else 'not ok'} - {name}", flush=True)
        if not ok:
            failed.append(name)

    try:
        qemu.expect("login:", timeout=600)
        qemu.sendline("root")
        qemu.expect_exact(PROMPT)
        _, status = run(qemu, "grep -q '^rust_sample ' /proc/modules")
        check("rust_sample is loaded at boot", status == 0)
        out, status = run(qemu, "head -c 4096 /dev/rust-sample | od -An -v -tx1 | tr -d ' \\n' | wc -c")
        check("4096 bytes from /dev/rust-sample", status == 0 and number(out) == 2 * 4096)
        out, status = run(qemu, "head -c 4096 /dev/rust-sample | tr -d '\\000' | wc -c")
        check("they are not all zero", status == 0 and number(out) > 0)
        _, status = run(qemu, "test -x /usr/lib/rustsample/guest-tests.sh")
        if status == 0:
            out, status = run(qemu, "/usr/lib/rustsample/guest-tests.sh", timeout=1800)
            results = [m.group(1) == "ok" for m in
                       (re.match(r"^(not ok|ok) - ", line) for line in out) if m]
            check(f"the guest suite: {results.count(True)} passed, {results.count(False)} failed",
                  status == 0 and results and all(results))
        qemu.sendline("poweroff")
        qemu.expect(pexpect.EOF, timeout=120)
    except (pexpect.TIMEOUT, pexpect.EOF) as e:
        check(f"the guest answers ({type(e).__name__})", False)
        qemu.terminate(force=True)
    print(f"\n{script}: {'all checks passed' if not failed else 'failed: ' + ', '.join(failed)}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
