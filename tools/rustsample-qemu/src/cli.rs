//! The command line: `run`, `test` and `setup` with their options.

use crate::arch::Arch;
use crate::images::Choice;
use crate::source::KernelSpec;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// The `--arch` values, for the help and for errors. A new `Arch` is listed here too (the test
/// `every_arch_is_listed` fails to build until it is).
const ARCH_VALUES: &[&str] = &["arm64", "riscv64", "raspi4b", "x86_64"];

#[derive(Parser, Debug)]
#[command(
    name = "rustsample-qemu",
    version,
    about = "Builds the rustsample kernel, module and guest images offline and boots them in QEMU",
    after_help = "Downloads, kernel trees and builds are kept in /var/cache/rustsample \
                  (or $RUSTSAMPLE_CACHE).\n\
                  `rustsample-qemu COMMAND --help` shows the options of a command.",
    // As before: an option given twice takes the last value.
    args_override_self = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// build the kernel, module, initramfs and sdcard.img, boot the disk image through U-Boot
    /// in QEMU and show /dev/rust-sample working
    ///
    /// Writes Image, initramfs.cpio.gz, sdcard.img, u-boot.bin and start-qemu.sh to
    /// output/<arch>/; start-qemu.sh boots the same image interactively afterwards.
    Run(RunArgs),
    /// the whole test suite: the host tool's unit tests and the Yocto layer lint, then
    /// in-guest tests on every target and the module's lints
    ///
    /// With --kernel or --kernel-src it boots that kernel instead of the default targets, on
    /// arm64 and riscv64, from the initramfs and from sdcard.img, and on x86_64 with and
    /// without the debug options. It ends with `N passed, N
    /// failed` and exits non-zero on any failure.
    Test(TestArgs),
    /// only install what is missing
    Setup,
    /// on request: build a defconfig of this tree with a Buildroot checkout, without download
    /// sites, and run its runtime test (support/testing/build-offline.sh)
    ///
    /// For example `buildroot --buildroot ../buildroot --defconfig rustsample_defconfig
    /// --rust-toolchain host`. The sources come from Debian's archive, PyPI and git trees
    /// (support/testing/offline-sources.py prints where each came from). On two cores with
    /// `--rust-toolchain host`, a first build of rustsample_defconfig took 63 minutes; the board
    /// defconfigs, whose kernels build the whole architecture defconfig, about 3 hours with
    /// other builds sharing the cores; a rebuild after touching module/rust_sample.rs, under 3
    /// minutes. It runs in the background at low priority, and running the same command again
    /// continues it. `buildroot --help-script` lists the script's options (docs/buildroot.md).
    Buildroot(ScriptArgs),
    /// the labgrid tests (tests/labgrid/run.sh): the suite and the benchmark on QEMU boards
    /// through U-Boot, locally or through a loopback lab, or on boards in a lab
    ///
    /// `lab --help-script` lists the script's options (docs/lab.md).
    Lab(ScriptArgs),
}

/// Arguments handed to a script of the repository as they are.
#[derive(Args, Debug)]
pub struct ScriptArgs {
    /// show the script's own options
    #[arg(long)]
    pub help_script: bool,
    /// the script's arguments
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[arg(
        long,
        value_name = "ARCH",
        help = format!(
            "the target: {} (arm64 is the default; raspi4b: QEMU's Raspberry Pi 4 B; x86_64: under KVM where /dev/kvm works)",
            ARCH_VALUES.join(", ")
        ),
        default_value = "arm64",
        hide_default_value = true,
        value_parser = parse_arch
    )]
    pub arch: Arch,
    /// boot with -kernel/-initrd instead of the disk image
    #[arg(long)]
    pub initramfs: bool,
    #[command(flatten)]
    pub kernel: KernelArgs,
}

#[derive(Args, Debug)]
pub struct TestArgs {
    /// run only the targets whose name contains NAME ("riscv64", "debug", "lint",
    /// "arm64 7.3 initramfs"); a filter also matches the debug kernels left out of the full
    /// run (arm64 and riscv64 7.2, x86_64 and arm64 7.3)
    #[arg(long, value_name = "NAME")]
    pub only: Option<String>,
    #[command(flatten)]
    pub kernel: KernelArgs,
}

/// The kernel and bindgen to build with, for `run` and `test`.
#[derive(Args, Debug)]
pub struct KernelArgs {
    /// a Debian linux-source series (7.3, the default, or 7.2), or a kernel.org release (7.1.9,
    /// 6.18.y) downloaded and checked against the sha256 pinned in
    /// board/common/patches/linux/linux.hash
    #[arg(long, value_name = "VERSION", value_parser = parse_kernel, conflicts_with = "kernel_src")]
    pub kernel: Option<KernelSpec>,
    /// an unpacked kernel tree of any version (6.18 or later), with no build in it: the build
    /// goes to the cache with O=
    #[arg(long, value_name = "DIR")]
    pub kernel_src: Option<PathBuf>,
    /// build the kernel with that bindgen-cli version (cargo install --locked)
    #[arg(long, value_name = "VERSION")]
    pub bindgen: Option<String>,
}

impl KernelArgs {
    pub fn choice(self) -> Choice {
        Choice {
            kernel: self.kernel.or(self.kernel_src.map(KernelSpec::Tree)),
            bindgen: self.bindgen,
        }
    }
}

fn parse_arch(s: &str) -> Result<Arch, String> {
    Arch::parse(s).ok_or_else(|| format!("expected one of {}", ARCH_VALUES.join(", ")))
}

fn parse_kernel(s: &str) -> Result<KernelSpec, String> {
    KernelSpec::parse(s).ok_or_else(|| {
        "expected a Debian series (7.3) or a kernel.org release (7.1.9, 6.18.y)".to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("rustsample-qemu").chain(args.iter().copied()))
    }

    fn error(args: &[&str]) -> clap::Error {
        parse(args).expect_err("a usage error")
    }

    #[test]
    fn command_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_is_not_an_error() {
        for args in [
            &["--help"][..],
            &["-h"],
            &["help"],
            &["run", "--help"],
            &["test", "--help"],
            &["setup", "--help"],
            &["help", "test"],
        ] {
            let e = error(args);
            assert_eq!(e.kind(), ErrorKind::DisplayHelp, "{args:?}");
            assert_eq!(e.exit_code(), 0, "{args:?}");
        }
    }

    #[test]
    fn help_shows_the_options() {
        let run = error(&["run", "--help"]).to_string();
        for o in [
            "--arch",
            "--initramfs",
            "--kernel",
            "--kernel-src",
            "--bindgen",
        ] {
            assert!(run.contains(o), "run --help lacks {o}");
        }
        assert!(!run.contains("--only"));
        let test = error(&["test", "--help"]).to_string();
        for o in ["--only", "--kernel", "--kernel-src", "--bindgen"] {
            assert!(test.contains(o), "test --help lacks {o}");
        }
        assert!(!test.contains("--arch") && !test.contains("--initramfs"));
    }

    #[test]
    fn a_command_is_needed() {
        let e = error(&[]);
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.kind(),
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        );
    }

    #[test]
    fn unknown_command_is_named() {
        let e = error(&["bogus"]);
        assert_eq!(e.kind(), ErrorKind::InvalidSubcommand);
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("'bogus'"), "{e}");
    }

    #[test]
    fn options_belong_to_their_command() {
        assert_eq!(
            error(&["run", "--only", "x"]).kind(),
            ErrorKind::UnknownArgument
        );
        assert_eq!(
            error(&["test", "--arch", "riscv64"]).kind(),
            ErrorKind::UnknownArgument
        );
        assert_eq!(
            error(&["setup", "--kernel", "7.3"]).kind(),
            ErrorKind::UnknownArgument
        );
    }

    #[test]
    fn run_defaults() {
        let Command::Run(r) = parse(&["run"]).unwrap().command else {
            panic!("not run")
        };
        assert_eq!(r.arch, Arch::Arm64);
        assert!(!r.initramfs);
        let c = r.kernel.choice();
        assert_eq!(c.kernel, None);
        assert_eq!(c.bindgen, None);
    }

    #[test]
    fn run_with_options() {
        let cli = parse(&["run", "--arch", "riscv64", "--initramfs", "--kernel", "7.2"]).unwrap();
        let Command::Run(r) = cli.command else {
            panic!("not run")
        };
        assert_eq!(r.arch, Arch::Riscv64);
        assert!(r.initramfs);
        assert_eq!(
            r.kernel.choice().kernel,
            Some(KernelSpec::Debian("7.2".into()))
        );
        let Command::Run(r) = parse(&["run", "--arch=raspi4b"]).unwrap().command else {
            panic!("not run")
        };
        assert_eq!(r.arch, Arch::Raspi4b);
    }

    #[test]
    fn test_with_options() {
        let Command::Test(t) = parse(&["test", "--only", "riscv64"]).unwrap().command else {
            panic!("not test")
        };
        assert_eq!(t.only.as_deref(), Some("riscv64"));
        assert_eq!(t.kernel.choice().kernel, None);
        // The invocations of docs/kernel-versions.md.
        let Command::Test(t) = parse(&["test", "--kernel-src", "/path/to/linux-6.18.35"])
            .unwrap()
            .command
        else {
            panic!("not test")
        };
        assert_eq!(
            t.kernel.choice().kernel,
            Some(KernelSpec::Tree("/path/to/linux-6.18.35".into()))
        );
        let cli = parse(&[
            "test",
            "--only",
            "arm64 7.3 initramfs",
            "--bindgen",
            "0.72.1",
        ]);
        let Command::Test(t) = cli.unwrap().command else {
            panic!("not test")
        };
        assert_eq!(t.only.as_deref(), Some("arm64 7.3 initramfs"));
        assert_eq!(t.kernel.choice().bindgen.as_deref(), Some("0.72.1"));
        let Command::Test(t) = parse(&["test", "--kernel", "6.18.y"]).unwrap().command else {
            panic!("not test")
        };
        assert_eq!(
            t.kernel.choice().kernel,
            Some(KernelSpec::Release("6.18.y".into()))
        );
    }

    #[test]
    fn documented_invocations_parse() {
        // README.md, docs/testing.md and docs/kernel-versions.md.
        for args in [
            &["run"][..],
            &["test"],
            &["setup"],
            &["run", "--arch", "riscv64"],
            &["run", "--arch", "raspi4b"],
            &["run", "--initramfs"],
            &["run", "--kernel", "7.2"],
            &["run", "--kernel", "7.1.9"],
            &["run", "--kernel", "6.18.y"],
            &["run", "--kernel-src", "/path/to/linux"],
            &["run", "--bindgen", "0.72.1"],
            &["test", "--kernel", "7.1.9"],
            &["test", "--kernel-src", "/path/to/linux-7.1.5"],
            &["test", "--only", "riscv64"],
            &["test", "--only", "debug"],
            &["test", "--only", "lint"],
            &[
                "test",
                "--only",
                "arm64 7.3 initramfs",
                "--bindgen",
                "0.72.1",
            ],
        ] {
            assert!(parse(args).is_ok(), "{args:?}");
        }
    }

    #[test]
    fn setup_takes_no_options() {
        assert!(matches!(parse(&["setup"]).unwrap().command, Command::Setup));
    }

    #[test]
    fn bad_arch_names_the_valid_ones() {
        let e = error(&["run", "--arch", "mips"]);
        assert_eq!(e.kind(), ErrorKind::ValueValidation);
        let msg = e.to_string();
        assert!(msg.contains("'mips'"), "{msg}");
        for a in ARCH_VALUES {
            assert!(msg.contains(a), "{msg}");
        }
        assert_eq!(error(&["run", "--arch"]).kind(), ErrorKind::InvalidValue);
    }

    #[test]
    fn bad_kernel_is_explained() {
        let e = error(&["test", "--kernel", "v7.3"]);
        assert_eq!(e.kind(), ErrorKind::ValueValidation);
        assert!(e.to_string().contains("kernel.org release"), "{e}");
        assert_eq!(
            error(&["test", "--kernel", "7.3", "--kernel-src", "/src"]).kind(),
            ErrorKind::ArgumentConflict
        );
    }

    #[test]
    fn last_value_wins() {
        let Command::Run(r) = parse(&["run", "--arch", "riscv64", "--arch", "arm64"])
            .unwrap()
            .command
        else {
            panic!("not run")
        };
        assert_eq!(r.arch, Arch::Arm64);
    }

    #[test]
    fn every_arch_is_listed() {
        for name in ARCH_VALUES {
            let arch = Arch::parse(name).expect(name);
            assert_eq!(arch.name(), *name);
            // A new variant does not build here until ARCH_VALUES lists it.
            match arch {
                Arch::Arm64 | Arch::Riscv64 | Arch::Raspi4b | Arch::X86_64 => {}
            }
        }
    }
}
