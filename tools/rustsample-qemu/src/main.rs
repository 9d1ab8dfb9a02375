//! rustsample-qemu: the offline build-and-boot loop for rustsample.
//!
//! Builds a minimal kernel from the board fragments with `module/` in-tree (as the Buildroot
//! tree ships it) and out-of-tree (as Yocto builds it), a busybox guest with the project's
//! init script, an initramfs and a U-Boot-bootable `sdcard.img`, and boots them in QEMU.

mod deps;
mod kernel;
mod qemu;
mod rootfs;
mod source;
mod step;
mod suite;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Arch {
    Arm64,
    Riscv64,
    /// ARM64 on QEMU's Raspberry Pi 4 B machine: the board's device tree, the root filesystem on
    /// its SD card.
    Raspi4b,
    /// The x86_64 PC, under KVM where the host allows it: benchmarks on real silicon.
    X86_64,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::Arm64 => "arm64",
            Arch::Riscv64 => "riscv64",
            Arch::Raspi4b => "raspi4b",
            Arch::X86_64 => "x86_64",
        }
    }
    /// The kernel build a target boots: the QEMU `virt` and Raspberry Pi 4 targets share one
    /// arm64 kernel with both boards' drivers, as a distribution's arm64 kernel would.
    pub fn kernel_name(self) -> &'static str {
        match self {
            Arch::Arm64 | Arch::Raspi4b => "arm64",
            other => other.name(),
        }
    }
    /// The Debian architecture of its userland.
    pub fn deb_arch(self) -> &'static str {
        match self {
            Arch::Arm64 | Arch::Raspi4b => "arm64",
            Arch::Riscv64 => "riscv64",
            Arch::X86_64 => "amd64",
        }
    }
    pub fn kernel_arch(self) -> &'static str {
        match self {
            Arch::Arm64 | Arch::Raspi4b => "arm64",
            Arch::Riscv64 => "riscv",
            Arch::X86_64 => "x86_64",
        }
    }
    pub fn board_dir(self) -> &'static str {
        match self {
            Arch::Arm64 => "board/qemu-aarch64-virt",
            Arch::Riscv64 => "board/qemu-riscv64-virt",
            Arch::Raspi4b => "board/raspberrypi4-64",
            Arch::X86_64 => "board/qemu-x86_64",
        }
    }
    /// The board fragments on top of `board/common/linux-rustsample.fragment`.
    pub fn fragments(self) -> &'static [&'static str] {
        match self {
            Arch::Arm64 | Arch::Raspi4b => &[
                "board/qemu-aarch64-virt/linux.fragment",
                "board/raspberrypi4-64/linux-minimal.fragment",
            ],
            Arch::Riscv64 => &["board/qemu-riscv64-virt/linux.fragment"],
            Arch::X86_64 => &["board/qemu-x86_64/linux.fragment"],
        }
    }
    /// The make target of the boot image, and where the build puts it.
    pub fn image_target(self) -> &'static str {
        match self {
            Arch::X86_64 => "bzImage",
            _ => "Image",
        }
    }
    pub fn image_path(self) -> &'static str {
        match self {
            Arch::Arm64 | Arch::Raspi4b => "arch/arm64/boot/Image",
            Arch::Riscv64 => "arch/riscv/boot/Image",
            Arch::X86_64 => "arch/x86/boot/bzImage",
        }
    }
    pub fn gnu_triple(self) -> &'static str {
        match self {
            Arch::Arm64 | Arch::Raspi4b => "aarch64-linux-gnu",
            Arch::Riscv64 => "riscv64-linux-gnu",
            Arch::X86_64 => "x86_64-linux-gnu",
        }
    }
    pub fn console(self) -> &'static str {
        match self {
            Arch::Arm64 | Arch::Raspi4b => "ttyAMA0",
            Arch::Riscv64 | Arch::X86_64 => "ttyS0",
        }
    }
    pub fn u_boot(self) -> &'static str {
        match self {
            Arch::Arm64 | Arch::Raspi4b => "qemu_arm64/u-boot.bin",
            Arch::Riscv64 => "qemu-riscv64_smode/u-boot.bin",
            Arch::X86_64 => "qemu-x86_64/u-boot.rom",
        }
    }
    /// The device trees the kernel build makes: the Raspberry Pi 4's, for the shared arm64
    /// kernel.
    pub fn dtbs(self) -> &'static [&'static str] {
        match self {
            Arch::Arm64 | Arch::Raspi4b => &["broadcom/bcm2711-rpi-4-b.dtb"],
            _ => &[],
        }
    }
    /// The device tree the target boots with, where QEMU does not make one.
    pub fn dtb(self) -> Option<&'static str> {
        match self {
            Arch::Raspi4b => Some("broadcom/bcm2711-rpi-4-b.dtb"),
            _ => None,
        }
    }
    pub(crate) fn parse(s: &str) -> Option<Arch> {
        match s {
            "arm64" | "aarch64" => Some(Arch::Arm64),
            "riscv64" | "riscv" => Some(Arch::Riscv64),
            "raspi4b" => Some(Arch::Raspi4b),
            "x86_64" | "amd64" => Some(Arch::X86_64),
            _ => None,
        }
    }
}

/// Where downloads, kernel trees and builds are kept between runs (outside the repository).
pub fn cache_dir() -> PathBuf {
    std::env::var_os("RUSTSAMPLE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/rustsample"))
}

fn repo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository directory")
}

const USAGE: &str = "usage: rustsample-qemu COMMAND [OPTIONS]

commands:
  run    build the kernel, module, initramfs and sdcard.img, boot the disk image
         through U-Boot in QEMU and show /dev/rust-sample working
  test   the whole test suite: lints, then in-guest tests on every target
  setup  only install what is missing

options:
  --arch arm64|riscv64|raspi4b|x86_64
                         target of `run` (default arm64; raspi4b: QEMU's Raspberry Pi 4 B;
                         x86_64: under KVM where /dev/kvm works)
  --kernel VERSION       a Debian linux-source series (7.3, the default, or 7.2), or a
                         kernel.org release (7.1.9, 6.18.y) downloaded and checked against
                         the sha256 pinned in board/common/patches/linux/linux.hash
  --kernel-src DIR       an unpacked kernel tree of any version (6.18 or later); `test`
                         then boots it on arm64 and riscv64 instead of the default targets
  --bindgen VERSION      build the kernel with that bindgen-cli (cargo install --locked)
  --initramfs            `run`: boot with -kernel/-initrd instead of the disk image
  --only NAME            `test`: run only the targets whose name contains NAME
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut arch = Arch::Arm64;
    let mut choice = suite::Choice {
        kernel: None,
        bindgen: None,
    };
    let mut initramfs = false;
    let mut only = None;
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--arch" => match it.next().and_then(|s| Arch::parse(s)) {
                Some(a) => arch = a,
                None => return usage_error("--arch takes arm64, riscv64, raspi4b or x86_64"),
            },
            "--kernel" => match it.next().and_then(|s| source::KernelSpec::parse(s)) {
                Some(k) => choice.kernel = Some(k),
                None => return usage_error(
                    "--kernel takes a Debian series (7.3) or a kernel.org release (7.1.9, 6.18.y)",
                ),
            },
            "--kernel-src" => match it.next() {
                Some(d) => choice.kernel = Some(source::KernelSpec::Tree(d.into())),
                None => return usage_error("--kernel-src takes a kernel source directory"),
            },
            "--bindgen" => match it.next() {
                Some(v) => choice.bindgen = Some(v.clone()),
                None => return usage_error("--bindgen takes a bindgen-cli version such as 0.72.1"),
            },
            "--initramfs" => initramfs = true,
            "--only" => only = it.next().cloned(),
            other => return usage_error(&format!("unknown option {other}")),
        }
    }
    let repo = repo_dir();
    let cache = cache_dir();
    let result = match args.first().map(String::as_str) {
        Some("run") => suite::run_demo(&repo, &cache, arch, &choice, initramfs),
        Some("test") => suite::run_tests(&repo, &cache, &choice, only.as_deref()),
        Some("setup") => deps::ensure_host(&mut deps::Apt::new(&cache)),
        _ => return usage_error("a command is needed"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("error: {msg}\n\n{USAGE}");
    ExitCode::from(2)
}
