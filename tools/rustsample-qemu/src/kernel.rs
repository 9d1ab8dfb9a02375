//! Kernel builds: the module put in-tree as `drivers/rust_sample`, a configuration made from the
//! board fragments on top of `allnoconfig`, and a cached build directory per source version,
//! architecture, fragments and toolchain.

use crate::arch::Arch;
use crate::deps::{LLVM_BIN, RUSTC, RUST_LIB_SRC};
use crate::source::Source;
use crate::step::{fail, fnv1a, output, run_logged, Result, Step};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The module files that go into the kernel tree (everything Kbuild needs).
pub const MODULE_FILES: &[&str] = &["Kconfig", "Kbuild", "rust_sample.rs", "own_fops.rs"];
/// The benchmark modules in `tests/kernel-bench/`.
pub const KERNEL_BENCH_FILES: &[&str] = &["Kbuild", "read_bench.c", "c_reference.c"];

/// Which Rust toolchain builds the kernel.
#[derive(Clone)]
pub struct Toolchain {
    pub rustc: PathBuf,
    pub lib_src: PathBuf,
    pub bindgen: crate::deps::Bindgen,
}

impl Toolchain {
    /// Debian's rustc-web with its own rust-web-src.
    pub fn debian(bindgen: crate::deps::Bindgen) -> Toolchain {
        Toolchain {
            rustc: RUSTC.into(),
            lib_src: RUST_LIB_SRC.into(),
            bindgen,
        }
    }

    fn version(&self) -> Result<String> {
        output(Command::new(&self.rustc).arg("--version")).map(|s| s.trim().to_string())
    }
}

pub struct Kernel {
    pub arch: Arch,
    pub src: PathBuf,
    pub out: PathBuf,
    pub series: String,
    toolchain: Toolchain,
    fragment: String,
}

/// Parses `CONFIG_X=v` and `# CONFIG_X is not set` lines.
pub fn parse_config(text: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("# ") {
            if let Some(sym) = rest.strip_suffix(" is not set") {
                map.insert(sym.to_string(), "n".to_string());
            }
        } else if let Some((k, v)) = line.split_once('=') {
            if k.starts_with("CONFIG_") {
                map.insert(k.to_string(), v.to_string());
            }
        }
    }
    map
}

/// What the final `.config` must keep of the fragments: every requested value, and above all
/// `CONFIG_RUST=y` and `CONFIG_RUST_SAMPLE`, which `olddefconfig` drops without a word when
/// rustc, bindgen or the Rust library source are missing or unusable.
pub fn check_config(fragment: &str, config: &str) -> std::result::Result<(), String> {
    let want = parse_config(fragment);
    let have = parse_config(config);
    let get = |k: &str| have.get(k).map(String::as_str).unwrap_or("n");
    if get("CONFIG_RUST") != "y" {
        return Err(
            "the kernel .config lost CONFIG_RUST=y: Rust support is unavailable to this kernel \
                    (see `make rustavailable`), so the image would have no rust_sample module"
                .into(),
        );
    }
    if !matches!(get("CONFIG_RUST_SAMPLE"), "m" | "y") {
        return Err("the kernel .config has no CONFIG_RUST_SAMPLE: drivers/rust_sample is not in the tree or its Kconfig was not sourced".into());
    }
    let lost: Vec<String> = want
        .iter()
        .filter(|(k, v)| get(k) != v.as_str())
        .map(|(k, v)| format!("{k}={v} (got {})", get(k)))
        .collect();
    if !lost.is_empty() {
        return Err(format!(
            "the kernel .config does not keep these fragment values: {}",
            lost.join(", ")
        ));
    }
    Ok(())
}

/// Copies the module into `drivers/rust_sample` and hooks it into `drivers/Kconfig` and
/// `drivers/Makefile`, the same two lines the Buildroot linux extension adds. Files are only
/// rewritten when their content changed, so make rebuilds nothing else.
pub fn install_in_tree(repo: &Path, src: &Path) -> Result<()> {
    let dir = src.join("drivers/rust_sample");
    fs::create_dir_all(&dir)?;
    for f in MODULE_FILES {
        let new = fs::read(repo.join("module").join(f))?;
        if fs::read(dir.join(f)).ok().as_deref() != Some(&new[..]) {
            fs::write(dir.join(f), new)?;
        }
    }
    let kconfig = src.join("drivers/Kconfig");
    let text = fs::read_to_string(&kconfig)?;
    if !text.contains("drivers/rust_sample/Kconfig") {
        let Some(end) = text.rfind("endmenu") else {
            return fail(format!("{} has no endmenu", kconfig.display()));
        };
        fs::write(
            &kconfig,
            format!(
                "{}source \"drivers/rust_sample/Kconfig\"\n\n{}",
                &text[..end],
                &text[end..]
            ),
        )?;
    }
    let makefile = src.join("drivers/Makefile");
    let text = fs::read_to_string(&makefile)?;
    if !text.contains("rust_sample/") {
        fs::write(
            &makefile,
            format!("{text}obj-$(CONFIG_RUST_SAMPLE)\t\t+= rust_sample/\n"),
        )?;
    }
    Ok(())
}

/// What a kernel build is for: it names the cache directory and picks the fragments.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Purpose {
    /// The board kernel the guests boot.
    Image,
    /// The board kernel plus `tests/linux-kunit.fragment` (the module's KUnit suite runs at
    /// load) and `tests/linux-debug.fragment` (KASAN, lockdep, kmemleak, UBSAN, failslab).
    Debug,
}

impl Purpose {
    pub fn name(self) -> &'static str {
        match self {
            Purpose::Image => "image",
            Purpose::Debug => "debug",
        }
    }

    fn fragments(self, arch: Arch) -> Vec<&'static str> {
        let mut f = vec!["board/common/linux-rustsample.fragment"];
        f.extend(arch.fragments());
        if self == Purpose::Debug {
            f.extend(["tests/linux-kunit.fragment", "tests/linux-debug.fragment"]);
        }
        f
    }
}

impl Kernel {
    /// `repo` is the project checkout, where the fragments of `purpose` are read.
    pub fn new(
        repo: &Path,
        cache: &Path,
        source: &Source,
        arch: Arch,
        toolchain: Toolchain,
        purpose: Purpose,
    ) -> Result<Kernel> {
        let mut fragment = String::new();
        for f in purpose.fragments(arch) {
            fragment += &fs::read_to_string(repo.join(f))
                .map_err(|e| crate::step::Error(format!("{f}: {e}")))?;
        }
        // The options the fragments set, not their text: a comment edit rebuilds nothing.
        let options: String = parse_config(&fragment)
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        let key = format!(
            "{options}{}{}{}",
            toolchain.version()?,
            source.key,
            toolchain.bindgen.pin
        );
        let series = &source.label;
        let out = cache.join("build").join(format!(
            "{}-{}-{series}-{:08x}",
            purpose.name(),
            arch.kernel_name(),
            fnv1a(key.as_bytes()) as u32
        ));
        Ok(Kernel {
            arch,
            src: source.tree.clone(),
            out,
            series: series.to_string(),
            toolchain,
            fragment,
        })
    }

    fn make(&self) -> Command {
        let path = format!("{LLVM_BIN}:{}", std::env::var("PATH").unwrap_or_default());
        let mut cmd = Command::new("make");
        cmd.arg("-C")
            .arg(&self.src)
            .arg(format!("O={}", self.out.display()))
            .arg(format!("ARCH={}", self.arch.kernel_arch()))
            .arg("LLVM=1")
            .arg(format!("RUSTC={}", self.toolchain.rustc.display()))
            .arg(format!("HOSTRUSTC={}", self.toolchain.rustc.display()))
            .arg(format!("BINDGEN={}", self.toolchain.bindgen.path.display()))
            .arg(format!("RUST_LIB_SRC={}", self.toolchain.lib_src.display()))
            .env("PATH", path);
        cmd
    }

    /// `make -jN` with one job per CPU.
    fn make_parallel(&self) -> Command {
        let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
        let mut cmd = self.make();
        cmd.arg(format!("-j{jobs}"));
        cmd
    }

    fn log(&self, what: &str) -> PathBuf {
        self.out.join(format!("rustsample-{what}.log"))
    }

    /// Configures the tree (once per cache key) and checks the result.
    pub fn configure(&self) -> Result<()> {
        fs::create_dir_all(&self.out)?;
        let config = self.out.join(".config");
        if !config.exists() {
            let step = Step::new(format!(
                "Configuring Linux {} for {} (allnoconfig + board fragments)",
                self.series,
                self.arch.name()
            ));
            let frag = self.out.join("rustsample.fragment");
            fs::write(&frag, &self.fragment)?;
            let mut cmd = self.make();
            cmd.arg(format!("KCONFIG_ALLCONFIG={}", frag.display()))
                .arg("allnoconfig");
            if let Err(e) = run_logged(&mut cmd, &self.log("config"), "kernel configuration", None)
            {
                let _ = fs::remove_file(&config);
                return Err(e);
            }
            step.done();
        }
        self.verify_config()
    }

    /// Fails loudly when the configuration lost Rust or the module.
    pub fn verify_config(&self) -> Result<()> {
        let config = fs::read_to_string(self.out.join(".config"))?;
        if let Err(why) = check_config(&self.fragment, &config) {
            let mut cmd = self.make();
            cmd.arg("rustavailable");
            let detail = match output(&mut cmd) {
                Ok(_) => "make rustavailable: Rust is available".to_string(),
                Err(e) => e.0,
            };
            return fail(format!(
                "{why}\n  config: {}\n  {detail}",
                self.out.join(".config").display()
            ));
        }
        Ok(())
    }

    /// Builds the kernel image and modules with progress; make's output goes to a log.
    pub fn build(&self, targets: &[&str]) -> Result<()> {
        let step = Step::new(format!(
            "Building Linux {} for {} ({})",
            self.series,
            self.arch.name(),
            targets.join(" ")
        ));
        let counter = self.out.join("rustsample-build.lines");
        let expected = fs::read_to_string(&counter)
            .ok()
            .and_then(|s| s.trim().parse().ok());
        let mut cmd = self.make_parallel();
        cmd.args(targets);
        let log = self.log("build");
        let _ = fs::remove_file(&log);
        let lines = run_logged(&mut cmd, &log, "kernel build", expected)?;
        if expected.is_none_or(|e| lines > e / 2) {
            fs::write(&counter, lines.to_string())?;
        }
        self.verify_config()?;
        step.done();
        Ok(())
    }

    /// Warnings from rustc or clippy in the last build log.
    pub fn rust_warnings(&self, log_name: &str) -> Vec<String> {
        let text = fs::read_to_string(self.log(log_name)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.starts_with("warning:") || l.starts_with("error"))
            .map(|(i, l)| format!("{l} {}", lines.get(i + 1).unwrap_or(&"").trim()))
            .collect()
    }

    pub fn image(&self) -> PathBuf {
        self.out.join(self.arch.image_path())
    }

    /// The board's device tree, for boards where QEMU does not make one.
    pub fn dtb(&self) -> Option<PathBuf> {
        let arch = self.arch.kernel_arch();
        self.arch
            .dtb()
            .map(|d| self.out.join("arch").join(arch).join("boot/dts").join(d))
    }

    pub fn release(&self) -> Result<String> {
        let mut cmd = self.make();
        cmd.arg("-s").arg("kernelrelease");
        output(&mut cmd).map(|s| s.trim().to_string())
    }

    /// `make modules_install` into a staging root (runs depmod).
    pub fn modules_install(&self, root: &Path) -> Result<()> {
        let mut cmd = self.make();
        cmd.arg(format!("INSTALL_MOD_PATH={}", root.display()))
            .arg("modules_install");
        run_logged(
            &mut cmd,
            &self.log("modules-install"),
            "modules_install",
            None,
        )?;
        Ok(())
    }

    /// Builds `module/` out of tree (`make M=`), the way Yocto's module-rust and a
    /// user's `make KDIR=` do, from a fresh copy so the repository stays clean. Returns the
    /// `.ko`. `extra` adds make arguments (`CLIPPY=1`).
    pub fn build_external(&self, repo: &Path, name: &str, extra: &[&str]) -> Result<PathBuf> {
        let files: Vec<&str> = MODULE_FILES.iter().copied().chain(["Makefile"]).collect();
        let dir = self.build_copy(&repo.join("module"), &files, name, extra)?;
        Ok(dir.join("rust_sample.ko"))
    }

    /// Builds the benchmark modules of `tests/kernel-bench/` out of tree with `W=1`, so they
    /// keep building against the kernels the suite covers; a warning fails like an error.
    pub fn build_kernel_bench(&self, repo: &Path) -> Result<()> {
        let name = "kernel-bench";
        let from = repo.join("tests/kernel-bench");
        self.build_copy(&from, KERNEL_BENCH_FILES, name, &["W=1"])?;
        let text = fs::read_to_string(self.log(name)).unwrap_or_default();
        let warnings: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("warning:") || l.starts_with("WARNING:"))
            .collect();
        if warnings.is_empty() {
            Ok(())
        } else {
            fail(warnings.join("\n"))
        }
    }

    /// Copies `files` from `from` into a fresh directory of the build and runs `make M=` on
    /// it, with its output in a new log `name`. Returns the directory.
    fn build_copy(
        &self,
        from: &Path,
        files: &[&str],
        name: &str,
        extra: &[&str],
    ) -> Result<PathBuf> {
        let dir = self.out.join(format!("rustsample-{name}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)?;
        for f in files {
            fs::copy(from.join(f), dir.join(f))?;
        }
        let mut cmd = self.make();
        cmd.arg(format!("M={}", dir.display()))
            .args(extra)
            .arg("modules");
        let log = self.log(name);
        let _ = fs::remove_file(&log);
        run_logged(
            &mut cmd,
            &log,
            &format!("out-of-tree module build ({name})"),
            None,
        )?;
        Ok(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAGMENT: &str = "CONFIG_RUST=y\nCONFIG_RUST_SAMPLE=m\nCONFIG_FPU=y\n";

    #[test]
    fn accepts_a_config_that_keeps_the_fragment() {
        let config = "CONFIG_RUST=y\nCONFIG_RUST_SAMPLE=m\nCONFIG_FPU=y\n# CONFIG_X is not set\n";
        assert_eq!(check_config(FRAGMENT, config), Ok(()));
    }

    #[test]
    fn names_what_the_config_lost() {
        for (config, expect) in [
            (
                "# CONFIG_RUST is not set\nCONFIG_FPU=y\n",
                "lost CONFIG_RUST=y",
            ),
            ("CONFIG_RUST=y\nCONFIG_FPU=y\n", "CONFIG_RUST_SAMPLE"),
            (
                "CONFIG_RUST=y\nCONFIG_RUST_SAMPLE=m\n# CONFIG_FPU is not set\n",
                "CONFIG_FPU=y (got n)",
            ),
        ] {
            let err = check_config(FRAGMENT, config).unwrap_err();
            assert!(err.contains(expect), "{config:?}: {err}");
        }
    }

    #[test]
    fn in_tree_install_is_idempotent() {
        let tmp = std::env::temp_dir().join(format!("rustsample-intree-{}", std::process::id()));
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let src = tmp.join("linux");
        fs::create_dir_all(src.join("drivers")).unwrap();
        fs::write(
            src.join("drivers/Kconfig"),
            "menu \"Device Drivers\"\nsource \"drivers/x/Kconfig\"\nendmenu\n",
        )
        .unwrap();
        fs::write(src.join("drivers/Makefile"), "obj-y += x/\n").unwrap();
        install_in_tree(&repo, &src).unwrap();
        install_in_tree(&repo, &src).unwrap();
        let kconfig = fs::read_to_string(src.join("drivers/Kconfig")).unwrap();
        let makefile = fs::read_to_string(src.join("drivers/Makefile")).unwrap();
        assert_eq!(kconfig.matches("drivers/rust_sample/Kconfig").count(), 1);
        assert!(kconfig.trim_end().ends_with("endmenu"));
        assert_eq!(makefile.matches("rust_sample/").count(), 1);
        assert!(src.join("drivers/rust_sample/rust_sample.rs").exists());
        fs::remove_dir_all(tmp).unwrap();
    }
}
