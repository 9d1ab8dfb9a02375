//! rustsample-qemu: the offline build-and-boot loop for rustsample.
//!
//! Builds a minimal kernel from the board fragments with `module/` in-tree (as the Buildroot
//! tree ships it) and out-of-tree (as Yocto builds it), a busybox guest with the project's
//! init script, an initramfs and a U-Boot-bootable `sdcard.img`, and boots them in QEMU.
//!
//! Modules import only those below them: `cli`, `run` (the `run` command) and `suite` (the
//! `test` command) use `images` (build and boot one target), which uses `kernel`, `rootfs`,
//! `qemu`, `source` and `deps`; `arch` and `step` are at the bottom.

mod arch;
mod cli;
mod deps;
mod images;
mod kernel;
mod lab;
mod qemu;
mod rootfs;
mod run;
mod script;
mod source;
mod step;
mod suite;

use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
            run::run_demo(&repo, &cache, a.arch, &a.kernel.choice(), a.initramfs)
        }
        cli::Command::Test(a) => {
            suite::run_tests(&repo, &cache, &a.kernel.choice(), a.only.as_deref())
        }
        cli::Command::Setup => deps::ensure_host(&mut deps::Apt::new(&cache)),
        cli::Command::Buildroot(a) => script::exec(&repo, "support/testing/build-offline.sh", &a),
        cli::Command::Lab(a) => script::exec(&repo, "tests/labgrid/run.sh", &a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
