//! Boots a guest in QEMU and drives it over its serial console, the way a person at the
//! console would: wait for the boot to finish, type commands, read what they print.

use crate::arch::Arch;
use crate::step::{fail, Result};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

pub const OPENSBI: &str = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin";

/// What the guest boots from.
pub enum Media<'a> {
    /// `-kernel` + `-initrd` (+ `-dtb` where QEMU makes no device tree), no bootloader.
    Initramfs {
        kernel: &'a Path,
        initrd: &'a Path,
        dtb: Option<&'a Path>,
    },
    /// The disk image as the Raspberry Pi 4's SD card (EMMC2), with the kernel and device tree
    /// loaded by QEMU as the board's firmware would: QEMU cannot run that firmware.
    SdCard {
        kernel: &'a Path,
        dtb: &'a Path,
        image: &'a Path,
    },
    /// The disk image on virtio-blk, started by U-Boot (on riscv64 under OpenSBI).
    Disk { image: &'a Path, u_boot: &'a Path },
}

/// The QEMU command line; also written into `start-qemu.sh` for people.
pub fn command_line(arch: Arch, media: &Media) -> Vec<String> {
    let mut a: Vec<String> = match arch {
        Arch::Arm64 => vec!["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a57"],
        Arch::Riscv64 => vec!["qemu-system-riscv64", "-M", "virt", "-bios", OPENSBI],
        // The board's fixed 4 CPUs and 2 GiB; no network or virtio devices.
        Arch::Raspi4b => vec!["qemu-system-aarch64", "-M", "raspi4b"],
        // `-cpu host` alone aborts on hosts whose KVM refuses the ARCH_CAPABILITIES MSR.
        Arch::X86_64 if kvm() => vec![
            "qemu-system-x86_64",
            "-M",
            "pc",
            "-accel",
            "kvm",
            "-cpu",
            "host,-arch-capabilities",
        ],
        Arch::X86_64 => vec!["qemu-system-x86_64", "-M", "pc", "-cpu", "max"],
    }
    .into_iter()
    .map(String::from)
    .collect();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    if arch != Arch::Raspi4b {
        a.extend(s(&["-smp", "2", "-m", "1024", "-nic", "none"]));
        a.extend(s(&["-device", &virtio(arch, "virtio-rng")]));
    }
    match media {
        Media::Initramfs {
            kernel,
            initrd,
            dtb,
        } => {
            a.extend(s(&[
                "-kernel",
                &kernel.to_string_lossy(),
                "-initrd",
                &initrd.to_string_lossy(),
            ]));
            if let Some(dtb) = dtb {
                a.extend(s(&["-dtb", &dtb.to_string_lossy()]));
            }
            a.extend(s(&[
                "-append",
                &format!("console={} panic=-1", arch.console()),
            ]));
        }
        Media::SdCard { kernel, dtb, image } => {
            a.extend(s(&[
                "-kernel",
                &kernel.to_string_lossy(),
                "-dtb",
                &dtb.to_string_lossy(),
                "-drive",
                &format!("file={},if=none,format=raw,id=sdcard", image.display()),
                // The first SDHCI of the machine is EMMC2, the Pi 4's SD slot (`-sd` would
                // put the card on the SDIO controller that the Wi-Fi uses on the board).
                "-device",
                "sd-card,drive=sdcard,bus=/generic-sdhci/sd-bus",
                "-append",
                &format!(
                    "console={} root=/dev/mmcblk0p2 rootwait rw panic=-1",
                    arch.console()
                ),
            ]));
        }
        Media::Disk { image, u_boot } => {
            match arch {
                Arch::Riscv64 => a.extend(s(&["-kernel", &u_boot.to_string_lossy()])),
                _ => a.extend(s(&["-bios", &u_boot.to_string_lossy()])),
            }
            a.extend(s(&[
                "-drive",
                &format!("file={},if=none,format=raw,id=hd0", image.display()),
                "-device",
                &format!("{},drive=hd0", virtio(arch, "virtio-blk")),
            ]));
        }
    }
    a
}

/// A virtio device on the board's transport: PCI on the PC, MMIO on the `virt` boards.
fn virtio(arch: Arch, device: &str) -> String {
    match arch {
        Arch::X86_64 => format!("{device}-pci"),
        _ => format!("{device}-device"),
    }
}

/// Whether x86_64 guests run under KVM, probed once. That `/dev/kvm` opens is not enough: a
/// host may emulate KVM in software, slower than TCG. So a tiny firmware counts down from 2^24
/// (milliseconds on hardware) and exits QEMU through `isa-debug-exit`; it must end within
/// `KVM_PROBE_LIMIT`. Otherwise x86_64 guests run under TCG, said once.
pub fn kvm() -> bool {
    static KVM: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *KVM.get_or_init(|| match kvm_probe() {
        Ok(()) => true,
        Err(why) => {
            println!("note: {why}: x86_64 guests run under TCG (emulated, slow)");
            false
        }
    })
}

const KVM_PROBE_LIMIT: Duration = Duration::from_secs(3);

fn kvm_probe() -> std::result::Result<(), String> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .map_err(|e| format!("/dev/kvm: {e}"))?;
    let rom = std::env::temp_dir().join(format!("rustsample-kvm-probe-{}.rom", std::process::id()));
    std::fs::write(&rom, kvm_probe_firmware()).map_err(|e| format!("{}: {e}", rom.display()))?;
    let started = Instant::now();
    let child = Command::new("qemu-system-x86_64")
        .args([
            "-M",
            "pc",
            "-accel",
            "kvm",
            "-cpu",
            "host,-arch-capabilities",
        ])
        .args(["-nodefaults", "-display", "none", "-bios"])
        .arg(&rom)
        .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=1"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let outcome = match child {
        Err(e) => Err(format!("qemu-system-x86_64: {e}")),
        Ok(mut child) => loop {
            match child.try_wait() {
                // The firmware writes 1: QEMU exits with (1 << 1) | 1.
                Ok(Some(status)) if status.code() == Some(3) => break Ok(()),
                Ok(Some(status)) => {
                    let mut err = String::new();
                    if let Some(mut e) = child.stderr.take() {
                        let _ = std::io::Read::read_to_string(&mut e, &mut err);
                    }
                    break Err(format!("QEMU under KVM: {status}: {}", err.trim()));
                }
                Ok(None) if started.elapsed() > KVM_PROBE_LIMIT => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(format!(
                        "/dev/kvm opens, but a 2^24-step loop did not end within {}s under KVM \
                         (hardware takes milliseconds)",
                        KVM_PROBE_LIMIT.as_secs()
                    ));
                }
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                Err(e) => break Err(format!("qemu-system-x86_64: {e}")),
            }
        },
    };
    let _ = std::fs::remove_file(&rom);
    outcome
}

/// A 64 KiB PC firmware in 16-bit real mode: from the reset vector (F000:FFF0) it jumps to
/// F000:0000, counts ECX down from 2^24, writes 1 to port 0xf4 and halts.
fn kvm_probe_firmware() -> Vec<u8> {
    let code = [
        0x66, 0xb9, 0x00, 0x00, 0x00, 0x01, // mov ecx, 0x1000000
        0x66, 0x49, // dec ecx
        0x75, 0xfc, // jnz (the dec)
        0xb0, 0x01, // mov al, 1
        0xe6, 0xf4, // out 0xf4, al
        0xf4, // hlt
        0xeb, 0xfd, // jmp (the hlt)
    ];
    let mut rom = vec![0u8; 0x10000];
    rom[..code.len()].copy_from_slice(&code);
    rom[0xfff0..0xfff5].copy_from_slice(&[0xea, 0x00, 0x00, 0x00, 0xf0]); // jmp F000:0000
    rom
}

/// A running guest whose console output is logged and searchable line by line.
pub struct Guest {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    seen: Vec<String>,
    pub log: PathBuf,
}

impl Guest {
    pub fn boot(args: &[String], log: &Path) -> Result<Guest> {
        let mut child = Command::new(&args[0])
            .args(&args[1..])
            .args([
                "-display",
                "none",
                "-serial",
                "stdio",
                "-monitor",
                "none",
                "-no-reboot",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| crate::step::Error(format!("cannot start {}: {e}", args[0])))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let (tx, rx) = channel();
        let mut file = File::create(log)?;
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let err_tx = tx.clone();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
                let _ = err_tx.send(format!("qemu: {line}"));
            }
        });
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut buf = Vec::new();
            while reader
                .read_until(b'\n', &mut buf)
                .map(|n| n > 0)
                .unwrap_or(false)
            {
                let _ = file.write_all(&buf);
                let line = String::from_utf8_lossy(&buf)
                    .trim_end_matches(['\r', '\n'])
                    .to_string();
                buf.clear();
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Guest {
            child,
            stdin,
            lines: rx,
            seen: Vec::new(),
            log: log.to_path_buf(),
        })
    }

    fn last_lines(&self, n: usize) -> String {
        self.seen[self.seen.len().saturating_sub(n)..]
            .iter()
            .map(|l| format!("  | {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Reads console lines until `found` accepts one (returned); `each` sees every line.
    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        mut each: impl FnMut(&str),
        found: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    each(&line);
                    self.seen.push(line.clone());
                    if found(&line) {
                        return Ok(line);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    return fail(format!(
                    "guest timeout after {}s waiting for {what}; console log {}, last lines:\n{}",
                    timeout.as_secs(),
                    self.log.display(),
                    self.last_lines(20)
                ))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.child.wait();
                    return fail(format!(
                        "QEMU exited while waiting for {what}; console log {}, last lines:\n{}",
                        self.log.display(),
                        self.last_lines(20)
                    ));
                }
            }
        }
    }

    pub fn send(&mut self, line: &str) -> Result<()> {
        self.stdin.write_all(format!("{line}\n").as_bytes())?;
        self.stdin.flush()?;
        Ok(())
    }

    /// Waits until a shell answers on the console. The marker is computed by the shell, so
    /// the echo of the typed command does not match it.
    pub fn wait_for_shell(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            self.send("echo RSQ-$((40 + 2))")?;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return fail(format!(
                    "no shell answered on the guest console; console log {}, last lines:\n{}",
                    self.log.display(),
                    self.last_lines(20)
                ));
            }
            if self
                .wait_for(
                    "a shell",
                    left.min(Duration::from_secs(3)),
                    |_| {},
                    |l| l.trim() == "RSQ-42",
                )
                .is_ok()
            {
                return Ok(());
            }
        }
    }

    /// Runs a command in the guest shell and returns its output lines and exit status.
    pub fn run(
        &mut self,
        cmd: &str,
        timeout: Duration,
        each: impl FnMut(&str),
    ) -> Result<(Vec<String>, i32)> {
        let start = self.seen.len();
        self.send(&format!("{cmd}; echo RSQ-EXIT-$((0 + $?))"))?;
        let last = self.wait_for(&format!("`{cmd}` to finish"), timeout, each, |l| {
            l.trim()
                .strip_prefix("RSQ-EXIT-")
                .is_some_and(|n| n.parse::<i32>().is_ok())
        })?;
        let status = last.trim()["RSQ-EXIT-".len()..].parse().unwrap_or(-1);
        // Drop the echoed command line (it carries the unexpanded marker).
        let out = self.seen[start..self.seen.len() - 1]
            .iter()
            .filter(|l| !l.contains("RSQ-EXIT-$"))
            .cloned()
            .collect();
        Ok((out, status))
    }

    /// Powers the guest off and waits for QEMU to exit.
    pub fn power_off(mut self) -> Result<()> {
        let _ = self.send("poweroff -f");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            // The Raspberry Pi has no power-off: the kernel halts, and QEMU stays.
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(100)) {
                if line.contains("Power off not available: System halted") {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return Ok(());
                }
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        fail(format!(
            "the guest did not power off; console log {}",
            self.log.display()
        ))
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A shell script that boots `args` interactively (serial console on the terminal).
pub fn start_script(args: &[String]) -> String {
    let quoted: Vec<String> = args
        .iter()
        .map(|a| {
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=,:".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect();
    format!("#!/bin/sh\n# Boots the rustsample guest; quit QEMU with Ctrl-A X.\nexec {} -nographic \"$@\"\n", quoted.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn riscv_disk_boot_runs_u_boot_under_opensbi() {
        let img = Path::new("/x/sdcard.img");
        let ub = Path::new("/u/u-boot.bin");
        let args = command_line(
            Arch::Riscv64,
            &Media::Disk {
                image: img,
                u_boot: ub,
            },
        );
        let joined = args.join(" ");
        assert!(joined.contains(&format!("-bios {OPENSBI}")));
        assert!(joined.contains("-kernel /u/u-boot.bin"));
        assert!(joined.contains("file=/x/sdcard.img,if=none,format=raw,id=hd0"));
    }

    #[test]
    fn raspi4b_sd_card_is_on_emmc2() {
        let args = command_line(
            Arch::Raspi4b,
            &Media::SdCard {
                kernel: Path::new("/k/Image"),
                dtb: Path::new("/k/bcm2711-rpi-4-b.dtb"),
                image: Path::new("/x/sdcard.img"),
            },
        );
        let joined = args.join(" ");
        assert!(joined.starts_with("qemu-system-aarch64 -M raspi4b -kernel /k/Image"));
        assert!(joined.contains("-dtb /k/bcm2711-rpi-4-b.dtb"));
        assert!(joined.contains("bus=/generic-sdhci/sd-bus"));
        assert!(joined.contains("root=/dev/mmcblk0p2"));
        assert!(!joined.contains("virtio"));
    }

    #[test]
    fn start_script_quotes_the_command_line() {
        let s = start_script(&[
            "qemu-system-aarch64".into(),
            "-append".into(),
            "console=ttyAMA0 panic=-1".into(),
        ]);
        assert!(
            s.contains("exec qemu-system-aarch64 -append 'console=ttyAMA0 panic=-1' -nographic")
        );
    }
}
