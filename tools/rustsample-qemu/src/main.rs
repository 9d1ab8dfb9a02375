//! rustsample-qemu: the offline build-and-boot loop for rustsample.
//!
//! Builds a minimal kernel from the board fragments with `module/` in-tree (as the Buildroot
//! tree ships it) and out-of-tree (as Yocto builds it), a busybox guest with the project's
//! init script, an initramfs and a U-Boot-bootable `sdcard.img`, and boots them in QEMU.

mod cli;
mod deps;
mod kernel;
mod lab;
mod qemu;
mod rootfs;
mod source;
mod step;
mod suite;

use clap::Parser;
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

fn main() -> ExitCode {
    // Usage errors and --help end here (exit 2 and 0), before any work.
    let cli = cli::Cli::parse();
    let repo = repo_dir();
    let cache = cache_dir();
    let result = match cli.command {
        cli::Command::Run(a) => {
            suite::run_demo(&repo, &cache, a.arch, &a.kernel.choice(), a.initramfs)
        }
        cli::Command::Test(a) => {
            suite::run_tests(&repo, &cache, &a.kernel.choice(), a.only.as_deref())
        }
        cli::Command::Setup => deps::ensure_host(&mut deps::Apt::new(&cache)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
