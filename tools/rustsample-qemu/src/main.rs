//! rustsample-qemu: the offline build-and-boot loop for rustsample.
//!
//! Builds a minimal kernel from the board fragments with `module/` in-tree (as the Buildroot
//! tree ships it) and out-of-tree (as Yocto builds it), a busybox guest with the project's
//! init script, an initramfs and a U-Boot-bootable `sdcard.img`, and boots them in QEMU.

mod cli;
mod deps;
mod kernel;
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
    /// ARM64 on QEMU's Raspberry Pi 4 B machine: the board's own kernel and device tree.
    Raspi4b,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::Arm64 => "arm64",
            Arch::Riscv64 => "riscv64",
            Arch::Raspi4b => "raspi4b",
        }
    }
    /// The Debian architecture of its userland.
    pub fn deb_arch(self) -> &'static str {
        match self {
            Arch::Arm64 | Arch::Raspi4b => "arm64",
            Arch::Riscv64 => "riscv64",
        }
    }
    pub fn kernel_arch(self) -> &'static str {
        match self {
            Arch::Arm64 | Arch::Raspi4b => "arm64",
            Arch::Riscv64 => "riscv",
        }
    }
    pub fn board_dir(self) -> &'static str {
        match self {
            Arch::Arm64 => "board/qemu-aarch64-virt",
            Arch::Riscv64 => "board/qemu-riscv64-virt",
            Arch::Raspi4b => "board/raspberrypi4-64",
        }
    }
    pub fn fragment(self) -> &'static str {
        match self {
            Arch::Arm64 => "board/qemu-aarch64-virt/linux.fragment",
            Arch::Riscv64 => "board/qemu-riscv64-virt/linux.fragment",
            Arch::Raspi4b => "board/raspberrypi4-64/linux-minimal.fragment",
        }
    }
    pub fn image_path(self) -> &'static str {
        match self {
            Arch::Arm64 | Arch::Raspi4b => "arch/arm64/boot/Image",
            Arch::Riscv64 => "arch/riscv/boot/Image",
        }
    }
    pub fn gnu_triple(self) -> &'static str {
        match self {
            Arch::Arm64 | Arch::Raspi4b => "aarch64-linux-gnu",
            Arch::Riscv64 => "riscv64-linux-gnu",
        }
    }
    pub fn console(self) -> &'static str {
        match self {
            Arch::Arm64 | Arch::Raspi4b => "ttyAMA0",
            Arch::Riscv64 => "ttyS0",
        }
    }
    pub fn u_boot(self) -> &'static str {
        match self {
            Arch::Arm64 | Arch::Raspi4b => "qemu_arm64/u-boot.bin",
            Arch::Riscv64 => "qemu-riscv64_smode/u-boot.bin",
        }
    }
    /// The device tree the kernel build makes for the board, where QEMU does not make one.
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
