//! Installs what the offline loop needs from Debian's archive and with `cargo install`.
//!
//! The machine's apt sources are never changed: a private apt state under the cache lists the
//! extra suites (bookworm-backports, bookworm-security, trixie, trixie-backports) on the
//! machine's own Debian mirror. Packages are asked for by name, so apt picks the newest
//! revision of a series and verifies it.

use crate::step::{fail, output, run_logged, Context, Result, Step};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Host packages installed with apt, and what they are for.
const HOST_PACKAGES: &[(&str, &str)] = &[
    ("make", "kernel build"),
    ("flex", "kernel build"),
    ("bison", "kernel build"),
    ("bc", "kernel build"),
    ("libelf-dev", "kernel build"),
    ("libssl-dev", "kernel build"),
    ("cpio", "initramfs"),
    ("kmod", "depmod"),
    ("dwarves", "kernel build"),
    ("clang-19", "LLVM=1 kernel build"),
    ("lld-19", "LLVM=1 kernel build"),
    ("llvm-19", "LLVM=1 kernel build"),
    ("libclang-19-dev", "bindgen"),
    ("rustc-web", "rustc for the kernel"),
    ("gcc-aarch64-linux-gnu", "guest test program (arm64)"),
    ("gcc-riscv64-linux-gnu", "guest test program (riscv64)"),
    ("libc6-dev-arm64-cross", "guest test program (arm64)"),
    ("libc6-dev-riscv64-cross", "guest test program (riscv64)"),
    ("libc6-dev", "guest test program (x86_64)"),
    ("genimage", "disk image"),
    ("dosfstools", "disk image boot partition"),
    ("mtools", "disk image boot partition"),
    ("e2fsprogs", "disk image root partition"),
];

/// From bookworm-backports: bookworm's QEMU 7.2 conflicts with the preinstalled qemu-utils 10.
const BACKPORTS_PACKAGES: &[&str] = &[
    "qemu-system-arm",
    "qemu-system-riscv",
    "qemu-system-x86",
    "opensbi",
];

pub const LLVM_BIN: &str = "/usr/lib/llvm-19/bin";
pub const RUSTC: &str = "/usr/bin/rustc";
pub const RUST_LIB_SRC: &str = "/usr/lib/rustlib/src/rust/library";
/// clippy-driver of rustc-web (rust-web-clippy): clippy must match the rustc that built the
/// kernel's crates.
pub const CLIPPY_DRIVER: &str = "/usr/bin/clippy-driver";

pub fn cargo_bin(name: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".cargo")
        });
    home.join("bin").join(name)
}

fn is_root() -> bool {
    output(Command::new("id").arg("-u"))
        .map(|s| s.trim() == "0")
        .unwrap_or(false)
}

fn installed(pkg: &str) -> bool {
    output(Command::new("dpkg-query").args(["-W", "-f=${Status}", pkg]))
        .map(|s| s.contains("install ok installed"))
        .unwrap_or(false)
}

/// The private apt state: sources derived from the machine's, lists and archives in the cache.
pub struct Apt {
    dir: PathBuf,
    updated: bool,
}

impl Apt {
    pub fn new(cache: &Path) -> Apt {
        Apt {
            dir: cache.join("apt"),
            updated: false,
        }
    }

    fn opts(&self) -> Vec<String> {
        let d = self.dir.display();
        vec![
            format!("-oDir::Etc::SourceList={d}/sources.list"),
            format!("-oDir::Etc::SourceParts={d}/sources.list.d"),
            format!("-oDir::State::Lists={d}/lists"),
            format!("-oDir::Cache={d}/cache"),
            "-oDir::Etc::Preferences=/dev/null".into(),
            "-oAPT::Architectures=amd64,arm64,riscv64".into(),
            "-oAcquire::Retries=3".into(),
        ]
    }

    fn write_sources(&self) -> Result<()> {
        let (archive, security) = machine_mirrors()?;
        let key = "signed-by=/usr/share/keyrings/debian-archive-keyring.gpg";
        // Each suite only for the architectures taken from it: a failing index of an
        // unneeded architecture would hide the whole suite.
        let list = format!(
            "deb [arch=amd64,arm64 {key}] {archive} bookworm main\n\
             deb [arch=amd64 {key}] {archive} bookworm-updates main\n\
             deb [arch=amd64 {key}] {security} bookworm-security main\n\
             deb [arch=amd64 {key}] {archive} bookworm-backports main\n\
             deb [arch=amd64 {key}] {archive} trixie-backports main\n\
             deb [arch=riscv64 {key}] {archive} trixie main\n"
        );
        for sub in ["sources.list.d", "lists/partial", "cache/archives/partial"] {
            fs::create_dir_all(self.dir.join(sub))?;
        }
        fs::write(self.dir.join("sources.list"), list)?;
        Ok(())
    }

    fn update(&mut self) -> Result<()> {
        if self.updated {
            return Ok(());
        }
        if !is_root() {
            return fail("missing packages must be installed as root: run this command with sudo");
        }
        self.write_sources()?;
        let log = self.dir.join("update.log");
        let mut last = None;
        // Mirrors in sync answer "File has unexpected size": try again.
        for _ in 0..3 {
            match run_logged(
                Command::new("apt-get").args(self.opts()).arg("update"),
                &log,
                "apt-get update",
                None,
            ) {
                Ok(_) => {
                    self.updated = true;
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("three attempts"))
    }

    fn install(&mut self, pkgs: &[String], release: Option<&str>) -> Result<()> {
        self.update()?;
        let mut cmd = Command::new("apt-get");
        cmd.args(self.opts())
            .args(["install", "-y", "--no-install-recommends"]);
        if let Some(r) = release {
            cmd.args(["-t", r]);
        }
        cmd.args(pkgs).env("DEBIAN_FRONTEND", "noninteractive");
        run_logged(
            &mut cmd,
            &self.dir.join("install.log"),
            &format!("apt-get install {}", pkgs.join(" ")),
            None,
        )?;
        Ok(())
    }

    /// Downloads `spec` (`name`, `name:arch` or `name=version`) and unpacks it into `dest`.
    pub fn unpack(&mut self, spec: &str, dest: &Path) -> Result<()> {
        self.update()?;
        let debs = self.dir.join("debs");
        let _ = fs::remove_dir_all(&debs);
        fs::create_dir_all(&debs)?;
        run_logged(
            Command::new("apt-get")
                .args(self.opts())
                .args(["download", spec])
                .current_dir(&debs),
            &self.dir.join("download.log"),
            &format!("apt-get download {spec}"),
            None,
        )?;
        let deb = fs::read_dir(&debs)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
            .ok_or_else(|| {
                crate::step::Error(format!("apt-get download {spec} produced no .deb"))
            })?;
        fs::create_dir_all(dest)?;
        output(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(dest))?;
        fs::remove_dir_all(&debs)?;
        Ok(())
    }
}

/// The machine's Debian archive and security mirrors, from its own apt sources.
fn machine_mirrors() -> Result<(String, String)> {
    let mut entries = Vec::new(); // (uri, suites)
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = fs::read_dir("/etc/apt/sources.list.d") {
        files.extend(dir.filter_map(|e| e.ok().map(|e| e.path())));
    }
    for file in files {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        let name = file.to_string_lossy();
        if name.ends_with(".sources") {
            for stanza in text.split("\n\n") {
                let field = |key: &str| {
                    stanza
                        .lines()
                        .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
                        .unwrap_or_default()
                };
                for uri in field("URIs:").split_whitespace() {
                    entries.push((uri.to_string(), field("Suites:")));
                }
            }
        } else if name.ends_with(".list") {
            for line in text.lines().filter(|l| l.starts_with("deb ")) {
                let words: Vec<&str> = line
                    .split_whitespace()
                    .filter(|w| !w.starts_with('['))
                    .collect();
                if words.len() >= 3 {
                    entries.push((words[1].to_string(), words[2].to_string()));
                }
            }
        }
    }
    let find = |suite: &str| {
        entries
            .iter()
            .find(|(_, suites)| suites.split_whitespace().any(|s| s == suite))
            .map(|(uri, _)| uri.trim_end_matches('/').to_string())
    };
    match (find("bookworm"), find("bookworm-security")) {
        (Some(a), Some(s)) => Ok((a, s)),
        _ => fail("no Debian bookworm and bookworm-security sources found in /etc/apt: this tool expects a Debian 12 machine"),
    }
}

/// Makes sure every host tool is installed. Cheap when everything is there.
pub fn ensure_host(apt: &mut Apt) -> Result<()> {
    let missing: Vec<String> = HOST_PACKAGES
        .iter()
        .filter(|(p, _)| !installed(p))
        .map(|(p, _)| p.to_string())
        .collect();
    let missing_bpo: Vec<String> = BACKPORTS_PACKAGES
        .iter()
        .filter(|p| !installed(p))
        .map(|p| p.to_string())
        .collect();
    let src_missing = !Path::new(RUST_LIB_SRC).join("core").is_dir();
    let clippy_missing = !Path::new(CLIPPY_DRIVER).exists();
    if !missing.is_empty() || !missing_bpo.is_empty() || src_missing || clippy_missing {
        let step = Step::new("Installing host packages");
        if !missing.is_empty() {
            println!("    missing: {}", missing.join(" "));
            apt.install(&missing, None)?;
        }
        if !missing_bpo.is_empty() {
            println!(
                "    missing (bookworm-backports): {}",
                missing_bpo.join(" ")
            );
            apt.install(&missing_bpo, Some("bookworm-backports"))?;
        }
        if src_missing || clippy_missing {
            // rust-web-src and rust-web-clippy must be those of exactly the installed rustc-web.
            let v = output(Command::new("dpkg-query").args(["-W", "-f=${Version}", "rustc-web"]))?;
            apt.install(
                &[format!("rust-web-src={v}"), format!("rust-web-clippy={v}")],
                None,
            )?;
        }
        step.done();
    }
    let bindgen = cargo_bin("bindgen");
    if output(Command::new(&bindgen).arg("--version")).is_err() {
        let step = Step::new("Installing bindgen-cli with cargo install");
        run_logged(
            Command::new("cargo").args(["install", "--locked", "bindgen-cli"]),
            &apt.dir.join("../logs/cargo-install-bindgen.log"),
            "cargo install bindgen-cli",
            None,
        )?;
        step.done();
    }
    check_tools()
}

/// The bindgen the kernel builds with: `cargo install`'s default, or a pinned version.
#[derive(Clone, Debug)]
pub struct Bindgen {
    pub path: PathBuf,
    /// Empty for the default; otherwise part of the build cache key.
    pub pin: String,
}

/// `--bindgen VERSION` installs that bindgen-cli with `cargo install --locked --version` into
/// the cache (once); without it, the default one `ensure_host` installed.
pub fn bindgen(cache: &Path, version: Option<&str>) -> Result<Bindgen> {
    let Some(version) = version else {
        return Ok(Bindgen {
            path: cargo_bin("bindgen"),
            pin: String::new(),
        });
    };
    let root = cache.join("bindgen").join(version);
    let path = root.join("bin/bindgen");
    let have = output(Command::new(&path).arg("--version")).unwrap_or_default();
    if !have.split_whitespace().any(|w| w == version) {
        let step = Step::new(format!(
            "Installing bindgen-cli {version} with cargo install"
        ));
        run_logged(
            Command::new("cargo")
                .args([
                    "install",
                    "--locked",
                    "--force",
                    "--version",
                    version,
                    "--root",
                ])
                .arg(&root)
                .arg("bindgen-cli"),
            &cache.join(format!("logs/cargo-install-bindgen-{version}.log")),
            &format!("cargo install bindgen-cli {version}"),
            None,
        )?;
        step.done();
    }
    Ok(Bindgen {
        path,
        pin: format!("bindgen {version}"),
    })
}

/// A clear message for anything still missing, naming the package that brings it.
fn check_tools() -> Result<()> {
    let tools: &[(&str, &str)] = &[
        (RUSTC, "rustc-web (bookworm-security)"),
        (CLIPPY_DRIVER, "rust-web-clippy (bookworm-security)"),
        ("/usr/lib/llvm-19/bin/clang", "clang-19"),
        ("/usr/lib/llvm-19/bin/ld.lld", "lld-19"),
        (
            "/usr/bin/qemu-system-aarch64",
            "qemu-system-arm (bookworm-backports)",
        ),
        (
            "/usr/bin/qemu-system-riscv64",
            "qemu-system-riscv (bookworm-backports)",
        ),
        (
            "/usr/bin/qemu-system-x86_64",
            "qemu-system-x86 (bookworm-backports)",
        ),
        ("/usr/bin/genimage", "genimage"),
    ];
    for (path, pkg) in tools {
        if !Path::new(path).exists() {
            return fail(format!("{path} is missing: install the package {pkg}"));
        }
    }
    if !Path::new(RUST_LIB_SRC).join("core/src/lib.rs").exists() {
        return fail(format!(
            "{RUST_LIB_SRC} is missing: install rust-web-src of the same version as rustc-web"
        ));
    }
    if !cargo_bin("bindgen").exists() {
        return fail("bindgen is missing: cargo install --locked bindgen-cli");
    }
    Ok(())
}

/// Unpacks the newest `linux-source-<series>` into `cache/src` and returns the source tree.
pub fn kernel_source(apt: &mut Apt, cache: &Path, series: &str) -> Result<PathBuf> {
    let tree = cache.join("src").join(format!("linux-source-{series}"));
    if tree.join("Makefile").exists() {
        return Ok(tree);
    }
    let step = Step::new(format!("Fetching linux-source-{series}"));
    let pkg = cache.join("src").join(format!("pkg-{series}"));
    apt.unpack(&format!("linux-source-{series}"), &pkg)
        .context(|| format!("linux-source-{series} (trixie-backports or sid) is needed"))?;
    let tarball = pkg.join(format!("usr/src/linux-source-{series}.tar.xz"));
    output(
        Command::new("tar")
            .arg("-xf")
            .arg(&tarball)
            .arg("-C")
            .arg(cache.join("src")),
    )?;
    fs::remove_dir_all(&pkg)?;
    if !tree.join("Makefile").exists() {
        return fail(format!(
            "{} did not unpack to {}",
            tarball.display(),
            tree.display()
        ));
    }
    step.done();
    Ok(tree)
}

/// A static busybox for `deb_arch` (arm64 and amd64 from bookworm, riscv64 from trixie).
pub fn busybox(apt: &mut Apt, cache: &Path, deb_arch: &str) -> Result<PathBuf> {
    let dir = cache.join("busybox").join(deb_arch);
    let find = || {
        ["bin/busybox", "usr/bin/busybox"]
            .iter()
            .map(|p| dir.join(p))
            .find(|p| p.exists())
    };
    if let Some(p) = find() {
        return Ok(p);
    }
    apt.unpack(&format!("busybox-static:{deb_arch}"), &dir)?;
    find().ok_or_else(|| {
        crate::step::Error(format!("busybox-static:{deb_arch} has no busybox binary"))
    })
}

/// U-Boot builds for QEMU (u-boot-qemu, arch all), unpacked; returns `usr/lib/u-boot`.
pub fn u_boot(apt: &mut Apt, cache: &Path) -> Result<PathBuf> {
    let dir = cache.join("u-boot");
    let lib = dir.join("usr/lib/u-boot");
    if !lib.join("qemu_arm64/u-boot.bin").exists() {
        apt.unpack("u-boot-qemu", &dir)?;
    }
    Ok(lib)
}
