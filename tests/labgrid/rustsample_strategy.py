"""RustsampleStrategy: from power-on to a shell on a rustsample image.

States: off, uboot, shell. On the way to the shell it records what the
boot printed that the tests need: the U-Boot banner (where the target has
a UBootDriver) and the init script's "Loading rust_sample: OK" line.

Works for
- QEMU targets (QEMUDriver is power and console at once),
- boards in a lab: a power driver, a serial console, and optionally an SD
  mux (USBSDMuxDriver + USBStorageDriver) through which the card is
  written once, with bmaptool, before the first power-on,
- boards that boot without U-Boot (the Raspberry Pi's firmware starts the
  kernel itself): then the target has no UBootDriver and the strategy
  goes from power-on straight to the kernel.

UBootStrategy of labgrid waits for `systemctl is-system-running`, which a
busybox image does not have; this one waits for the project's init script.
"""

import enum
import re

import attr
from pexpect import TIMEOUT

from labgrid.factory import target_factory
from labgrid.step import step
from labgrid.strategy import Strategy, StrategyError, never_retry


class Status(enum.Enum):
    unknown = 0
    off = 1
    uboot = 2
    shell = 3


@target_factory.reg_driver
@attr.s(eq=False)
class RustsampleStrategy(Strategy):
    """Power, U-Boot (when there is one), then the shell of a rustsample image.

    Args:
        boot_timeout (int): seconds from power-on (or U-Boot's boot command)
            to the init script's line
        uboot_banner (str): regex of U-Boot's first line
        init_line (str): regex of the init script's line; group 1 is the verdict
    """

    bindings = {
        "power": "PowerProtocol",
        "console": "ConsoleProtocol",
        "uboot": {"UBootDriver", None},
        "shell": "ShellDriver",
        "sdmux": {"USBSDMuxDriver", None},
        "storage": {"USBStorageDriver", None},
    }

    status = attr.ib(default=Status.unknown)
    boot_timeout = attr.ib(default=300, validator=attr.validators.instance_of(int))
    uboot_banner = attr.ib(default=r"U-Boot (SPL )?20\d\d\.\d\d[^\r\n]*",
                           validator=attr.validators.instance_of(str))
    init_line = attr.ib(default=r"Loading rust_sample:\s*(OK|FAIL)",
                        validator=attr.validators.instance_of(str))

    def __attrs_post_init__(self):
        super().__attrs_post_init__()
        self.flashed = False
        # What the last boot printed, for the tests.
        self.uboot_version = None
        self.init_result = None

    @step()
    def flash(self):
        """Writes the SD card through the SD mux with bmaptool, once per session."""
        if self.flashed or self.storage is None:
            return
        if self.sdmux is None:
            raise StrategyError("the target has a USBStorageDriver but no USBSDMuxDriver")
        from labgrid.driver.usbstoragedriver import Mode
        self.target.activate(self.sdmux)
        self.sdmux.set_mode("host")
        self.target.activate(self.storage)
        self.storage.write_image(mode=Mode.BMAPTOOL)
        self.target.deactivate(self.storage)
        self.sdmux.set_mode("dut")
        self.flashed = True

    def _expect(self, pattern, timeout, what):
        try:
            _, _, match, _ = self.console.expect(pattern, timeout=timeout)
        except TIMEOUT as e:
            raise StrategyError(f"no {what} on the console within {timeout} s") from e
        return match

    def _power_on_to_uboot(self):
        self.transition(Status.off)
        self.flash()
        self.target.activate(self.console)
        self.power.on()
        if self.uboot is not None:
            m = self._expect(self.uboot_banner, 120, "U-Boot banner")
            self.uboot_version = m.group(0).decode(errors="replace").strip()
            self.target.activate(self.uboot)

    def _boot_to_init(self):
        if self.uboot is not None:
            self.uboot.boot("")
            self.uboot.await_boot()
        else:
            self._expect(r"Linux version \d", self.boot_timeout, "kernel banner")
        m = self._expect(self.init_line, self.boot_timeout, "line from the init script")
        self.init_result = m.group(0).decode(errors="replace").strip()

    @never_retry
    @step(args=["status"])
    def transition(self, status):
        if not isinstance(status, Status):
            status = Status[status]
        if status == Status.unknown:
            raise StrategyError(f"can not transition to {status}")
        if status == self.status:
            return
        if status == Status.off:
            self.target.deactivate(self.console)
            self.target.activate(self.power)
            self.power.off()
        elif status == Status.uboot:
            if self.uboot is None:
                raise StrategyError("this target boots without U-Boot")
            self._power_on_to_uboot()
        elif status == Status.shell:
            self._power_on_to_uboot()
            self._boot_to_init()
            self.target.activate(self.shell)
            # Kernel messages on the console would split the output of commands.
            self.shell.run_check("dmesg -n 1")
        else:
            raise StrategyError(f"no transition found from {self.status} to {status}")
        self.status = status

    @never_retry
    def force(self, status):
        if not isinstance(status, Status):
            status = Status[status]
        if status == Status.off:
            self.target.activate(self.power)
        elif status == Status.uboot and self.uboot is not None:
            self.target.activate(self.uboot)
        elif status == Status.shell:
            self.target.activate(self.shell)
        else:
            raise StrategyError(f"can not force state {status}")
        self.status = status


def parse_bench(lines):
    """The BENCH lines of `devcheck bench DEV REF` as dicts."""
    rows = []
    read = re.compile(
        r"BENCH read=(?P<size>\d+) reps=(?P<reps>\d+) (?P<dev>\S+)=(?P<dev_mbs>[\d.]+)MB/s "
        r"(?P<ref>\S+)=(?P<ref_mbs>[\d.]+)MB/s ratio=(?P<ratio>[\d.]+) "
        r"\(min (?P<min>[\d.]+) max (?P<max>[\d.]+)\)")
    chacha = re.compile(r"BENCH chacha20 reps=(?P<reps>\d+) (?P<mbs>[\d.]+)MB/s "
                        r"(?P<ns>[\d.]+)ns/byte")
    for line in lines:
        m = read.search(line)
        if m:
            rows.append({"kind": "read", **m.groupdict()})
            continue
        m = chacha.search(line)
        if m:
            rows.append({"kind": "chacha20", **m.groupdict()})
    return rows
