//! The main job (`run`) and the test suite (`test`).

use crate::deps::{self, Apt};
use crate::kernel::{
    install_in_tree, Kernel, Purpose, Toolchain, KERNEL_BENCH_FILES, MODULE_FILES,
};
use crate::qemu::{self, Guest, Media};
use crate::rootfs::{self, Rootfs};
use crate::source::{KernelSpec, Source};
use crate::step::{fail, run_logged, Result, Step};
use crate::Arch;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Everything one kernel series on one architecture boots with.
struct Built {
    arch: Arch,
    series: String,
    debug: bool,
    kernel: Kernel,
    /// The board's device tree, where QEMU does not make one.
    dtb: Option<PathBuf>,
    initrd: PathBuf,
    sdcard: PathBuf,
    u_boot: PathBuf,
    out_of_tree_warnings: Vec<String>,
    clippy_warnings: Vec<String>,
    /// `tests/kernel-bench/` built against this kernel (not on debug kernels).
    kernel_bench: Option<Result<()>>,
}

/// What the user chose: the kernel source (Debian's 7.3 when not given) and bindgen.
pub struct Choice {
    pub kernel: Option<KernelSpec>,
    pub bindgen: Option<String>,
}

fn build(
    repo: &Path,
    cache: &Path,
    apt: &mut Apt,
    arch: Arch,
    source: &Source,
    bindgen: &deps::Bindgen,
    debug: bool,
) -> Result<Built> {
    install_in_tree(repo, &source.tree)?;
    let purpose = if debug {
        Purpose::Debug
    } else {
        Purpose::Image
    };
    let series = source.label.as_str();
    let toolchain = Toolchain::debian(bindgen.clone());
    let kernel = Kernel::new(repo, cache, source, arch, toolchain, purpose)?;
    kernel.configure()?;
    let mut targets = vec![arch.image_target(), "modules"];
    targets.extend(arch.dtbs());
    kernel.build(&targets)?;
    let step = Step::new(format!(
        "Building the guest for {} with Linux {series}",
        arch.name()
    ));
    let ko = kernel.build_external(repo, "out-of-tree", &[])?;
    let out_of_tree_warnings = kernel.rust_warnings("out-of-tree");
    // Clippy on every kernel built: each takes one of the module's two registrations.
    kernel.build_external(
        repo,
        "clippy",
        &[
            "CLIPPY=1",
            &format!("CLIPPY_DRIVER={}", deps::CLIPPY_DRIVER),
        ],
    )?;
    let clippy_warnings = kernel.rust_warnings("clippy");
    let kernel_bench = (!debug).then(|| kernel.build_kernel_bench(repo));
    let busybox = deps::busybox(apt, cache, arch.deb_arch())?;
    let guest = cache
        .join("guest")
        .join(format!("{}-{}-{series}", purpose.name(), arch.name()));
    let devcheck = guest.join("devcheck");
    rootfs::build_devcheck(repo, arch, &devcheck)?;
    let root = Rootfs::stage(repo, &guest.join("rootfs"), &busybox, &devcheck, &ko)?;
    kernel.modules_install(&root.dir)?;
    let initrd = guest.join("initramfs.cpio.gz");
    root.initramfs(&initrd)?;
    let sdcard = root.disk_image(repo, arch, &kernel.image(), &guest.join("image"))?;
    let u_boot = deps::u_boot(apt, cache)?.join(arch.u_boot());
    let dtb = kernel.dtb();
    step.done();
    Ok(Built {
        arch,
        dtb,
        series: series.to_string(),
        debug,
        kernel,
        initrd,
        sdcard,
        u_boot,
        out_of_tree_warnings,
        clippy_warnings,
        kernel_bench,
    })
}

/// What a target boots from: the initramfs, or the disk image (through U-Boot, or on the
/// Raspberry Pi's SD card with the kernel loaded by QEMU).
fn media<'a>(b: &'a Built, kernel: &'a Path, disk: bool) -> Media<'a> {
    match (disk, &b.dtb) {
        (false, dtb) => Media::Initramfs {
            kernel,
            initrd: &b.initrd,
            dtb: dtb.as_deref(),
        },
        (true, Some(dtb)) => Media::SdCard {
            kernel,
            dtb,
            image: &b.sdcard,
        },
        (true, None) => Media::Disk {
            image: &b.sdcard,
            u_boot: &b.u_boot,
        },
    }
}

/// Boots until the init scripts have run, checking that ours loaded the module, and for a
/// disk boot that the root filesystem came from the disk (through U-Boot for `Media::Disk`).
fn boot(args: &[String], log: &Path, media: &Media) -> Result<Guest> {
    let disk = !matches!(media, Media::Initramfs { .. });
    let u_boot_expected = matches!(media, Media::Disk { .. });
    let mut guest = Guest::boot(args, log)?;
    let mut init_line = None;
    let mut u_boot = false;
    let mut root_mounted = false;
    guest.wait_for(
        "the end of the boot (\"rustsample: boot complete\")",
        Duration::from_secs(300),
        |l| {
            u_boot |= l.starts_with("U-Boot ");
            root_mounted |= l.contains("VFS: Mounted root (ext4");
            // Kernel messages printed while the module loads (KUnit's report) can split the
            // script's "Loading rust_sample: OK" line: the verdict may come on a later line.
            match &mut init_line {
                None if l.starts_with("Loading rust_sample:") => init_line = Some(l.to_string()),
                Some(line) if !line.ends_with("OK") && !line.ends_with("FAIL") => {
                    if matches!(l.trim(), "OK" | "FAIL") {
                        line.push_str(&format!(" ... {}", l.trim()));
                    }
                }
                _ => {}
            }
        },
        |l| l.contains("rustsample: boot complete"),
    )?;
    if u_boot_expected && !u_boot {
        return fail(format!(
            "the disk boot did not go through U-Boot; console log {}",
            log.display()
        ));
    }
    if disk && !root_mounted {
        return fail(format!(
            "the root filesystem was not mounted from the disk; console log {}",
            log.display()
        ));
    }
    match init_line {
        Some(l) if l.ends_with("OK") => {}
        Some(l) => {
            return fail(format!(
                "the init script failed to load the module: {l}; console log {}",
                log.display()
            ))
        }
        None => {
            return fail(format!(
                "the init script did not run; console log {}",
                log.display()
            ))
        }
    }
    guest.wait_for_shell(Duration::from_secs(60))?;
    Ok(guest)
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    fs::copy(from, to).map_err(|e| crate::step::Error(format!("{}: {e}", from.display())))?;
    Ok(())
}

/// The main job: build, write `output/<arch>/` with `start-qemu.sh`, boot and show the device.
pub fn run_demo(
    repo: &Path,
    cache: &Path,
    arch: Arch,
    choice: &Choice,
    initramfs: bool,
) -> Result<()> {
    let mut apt = Apt::new(cache);
    deps::ensure_host(&mut apt)?;
    let spec = choice
        .kernel
        .clone()
        .unwrap_or(KernelSpec::Debian(DEFAULT_SERIES.into()));
    let source = Source::get(&spec, repo, cache, &mut apt)?;
    let bindgen = deps::bindgen(cache, choice.bindgen.as_deref())?;
    let b = build(repo, cache, &mut apt, arch, &source, &bindgen, false)?;
    let series = source.label.as_str();
    let out = repo.join("output").join(arch.name());
    fs::create_dir_all(&out)?;
    copy(&b.kernel.image(), &out.join("Image"))?;
    copy(&b.initrd, &out.join("initramfs.cpio.gz"))?;
    copy(&b.sdcard, &out.join("sdcard.img"))?;
    copy(&b.u_boot, &out.join("u-boot.bin"))?;
    let release = b.kernel.release()?;
    // start-qemu.sh runs in `out`, with these names.
    let local = Built {
        dtb: b
            .dtb
            .as_ref()
            .map(|d| PathBuf::from(d.file_name().unwrap_or_default())),
        initrd: "initramfs.cpio.gz".into(),
        sdcard: "sdcard.img".into(),
        u_boot: "u-boot.bin".into(),
        ..b
    };
    if let (Some(from), Some(to)) = (&b.dtb, &local.dtb) {
        copy(from, &out.join(to))?;
    }
    let disk = !initramfs;
    let media = media(&local, Path::new("Image"), disk);
    let args = qemu::command_line(arch, &media);
    let script = out.join("start-qemu.sh");
    fs::write(
        &script,
        qemu::start_script(&args).replace("exec ", "cd \"$(dirname \"$0\")\"\nexec "),
    )?;
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755))?;

    let how = if initramfs {
        "kernel + initramfs"
    } else {
        "sdcard.img through U-Boot"
    };
    let step = Step::new(format!(
        "Booting {} Linux {series} ({how}) in QEMU",
        arch.name()
    ));
    std::env::set_current_dir(&out)?;
    let mut guest = boot(&args, &out.join("console.log"), &media)?;
    for l in fs::read_to_string(out.join("console.log"))?
        .lines()
        .filter(|l| {
            l.starts_with("U-Boot ")
                || l.contains("Linux version")
                || l.starts_with("Loading rust_sample")
        })
    {
        println!("  | {}", l.trim_end());
    }
    let mut shown = Vec::new();
    for cmd in [
        "uname -sr",
        "lsmod",
        "ls -l /dev/rust-sample",
        "head -c 32 /dev/rust-sample | od -An -tx1",
        "head -c 32 /dev/rust-sample | od -An -tx1",
    ] {
        let (lines, status) = guest.run(cmd, Duration::from_secs(60), |_| {})?;
        println!("  # {cmd}");
        for l in &lines {
            println!("  {l}");
        }
        if status != 0 {
            return fail(format!("`{cmd}` failed in the guest (exit {status})"));
        }
        shown.push(lines.join("\n"));
    }
    if !shown[1].contains("rust_sample") {
        return fail("rust_sample is not loaded in the guest");
    }
    if shown[3] == shown[4] || shown[3].split_whitespace().count() != 32 {
        return fail("/dev/rust-sample did not return 32 fresh random bytes");
    }
    guest.power_off()?;
    step.done();
    println!(
        "/dev/rust-sample works on {} with Linux {}.",
        arch.name(),
        release
    );
    println!("Images and start-qemu.sh are in {}", out.display());
    Ok(())
}

#[derive(Default)]
struct Results {
    passed: usize,
    failed: Vec<String>,
    bench: Vec<String>,
}

impl Results {
    fn record(&mut self, name: &str, ok: bool, detail: &str) {
        if ok {
            println!("  ok      {name}");
            self.passed += 1;
        } else {
            println!("  FAILED  {name}");
            for l in detail.lines() {
                println!("          {l}");
            }
            self.failed
                .push(format!("{name}: {}", detail.lines().next().unwrap_or("")));
        }
    }

    fn record_result(&mut self, name: &str, r: Result<()>) {
        match r {
            Ok(()) => self.record(name, true, ""),
            Err(e) => self.record(name, false, &e.0),
        }
    }

    /// Takes the guest suite's "ok - X" / "not ok - X" lines and benchmark lines.
    fn parse_guest(&mut self, label: &str, lines: &[String]) -> usize {
        let mut count = 0;
        let mut i = 0;
        while i < lines.len() {
            let l = lines[i].trim();
            let detail: Vec<&str> = lines[i + 1..]
                .iter()
                .map(|d| d.trim())
                .take_while(|d| d.starts_with('#'))
                .map(|d| d.trim_start_matches('#').trim())
                .collect();
            if let Some(name) = l.strip_prefix("not ok - ") {
                self.record(&format!("{label}: {name}"), false, &detail.join("\n"));
                count += 1;
            } else if let Some(name) = l.strip_prefix("ok - ") {
                self.record(&format!("{label}: {name}"), true, "");
                count += 1;
            } else if let Some(bench) = l.strip_prefix("BENCH ") {
                println!("  {l}");
                self.bench.push(format!("{label}: {bench}"));
            }
            i += 1;
        }
        count
    }
}

/// Boots one target and runs the in-guest suite in it.
fn guest_suite(
    b: &Built,
    disk: bool,
    bench: bool,
    label: &str,
    logs: &Path,
    results: &mut Results,
) -> Result<()> {
    let kernel = b.kernel.image();
    let media = media(b, &kernel, disk);
    let args = qemu::command_line(b.arch, &media);
    let log = logs.join(format!("{}.console.log", label.replace(' ', "-")));
    let mut guest = boot(&args, &log, &media)?;
    results.record(
        &format!("{label}: boots and the init script loads rust_sample"),
        true,
        "",
    );
    let mut cmd = "sh /usr/lib/rustsample/guest-tests.sh".to_string();
    if bench {
        cmd += " --bench";
    }
    if b.debug {
        cmd += " --kunit --debug";
        // What TCG cannot afford: thousands of reloads, 20,000 stress operations per thread.
        if b.arch == Arch::X86_64 && qemu::kvm() {
            cmd += " --stress";
        }
    }
    let (lines, status) = guest.run(&cmd, Duration::from_secs(1800), |_| {})?;
    let count = results.parse_guest(label, &lines);
    guest.power_off()?;
    if count == 0 || (status != 0 && results.failed.is_empty()) {
        return fail(format!(
            "the guest suite gave no results (exit {status}); console log {}",
            log.display()
        ));
    }
    Ok(())
}

/// rustfmt and checkpatch.pl --strict on the module's files, with the kernel tree's own
/// configuration and script (clippy runs with every kernel build).
fn lint(repo: &Path, results: &mut Results, source: &Source) {
    let src = &source.tree;
    let files: Vec<PathBuf> = MODULE_FILES
        .iter()
        .chain(["Makefile"].iter())
        .map(|f| repo.join("module").join(f))
        .collect();
    let rustfmt = Command::new(deps::cargo_bin("rustfmt"))
        .args(["--check", "--edition", "2021", "--config-path"])
        .arg(src.join(".rustfmt.toml"))
        .args(
            files
                .iter()
                .filter(|f| f.extension().is_some_and(|e| e == "rs")),
        )
        .output();
    let r = match rustfmt {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => fail(format!(
            "rustfmt --check: {}",
            String::from_utf8_lossy(&o.stdout)
        )),
        Err(e) => fail(format!("cannot run rustfmt: {e}")),
    };
    results.record_result("module/*.rs are rustfmt-clean (kernel .rustfmt.toml)", r);
    let bench: Vec<PathBuf> = KERNEL_BENCH_FILES
        .iter()
        .filter(|f| f.ends_with(".c"))
        .map(|f| repo.join("tests/kernel-bench").join(f))
        .collect();
    for (what, files) in [("module/", &files), ("tests/kernel-bench/", &bench)] {
        let checkpatch = Command::new("perl")
            .arg(src.join("scripts/checkpatch.pl"))
            .args(["--strict", "--no-tree", "--terse", "-f"])
            .args(files)
            .output();
        let r = match checkpatch {
            Ok(o) if o.status.success() => Ok(()),
            Ok(o) => fail(String::from_utf8_lossy(&o.stdout).into_owned()),
            Err(e) => fail(format!("cannot run checkpatch.pl: {e}")),
        };
        results.record_result(
            &format!(
                "checkpatch.pl --strict finds nothing in {what} (Linux {})",
                source.label
            ),
            r,
        );
    }
}

/// The kernel series `run` and `test` use when no other is chosen.
pub const DEFAULT_SERIES: &str = "7.3";

/// One boot of the suite: architecture, kernel series (Debian's, unless the user chose a
/// kernel), disk image boot, benchmark, debug kernel (adds `tests/linux-kunit.fragment` and
/// `tests/linux-debug.fragment`: the module's KUnit suite runs at every load, under KASAN,
/// lockdep, kmemleak, UBSAN and failslab, and the guest suite adds its debug-kernel tests).
struct Target {
    arch: Arch,
    series: &'static str,
    disk: bool,
    bench: bool,
    debug: bool,
}

const fn target(arch: Arch, series: &'static str, disk: bool, bench: bool, debug: bool) -> Target {
    Target {
        arch,
        series,
        disk,
        bench,
        debug,
    }
}

/// The full run. Where KVM runs x86_64 guests at hardware speed, the PC joins it with the
/// benchmark, and its 7.2 debug kernel (with the stress checks TCG cannot afford) stands in
/// for arm64's, so the run still builds one debug kernel.
fn full_run() -> Vec<Target> {
    let mut t = vec![
        target(Arch::Arm64, "7.3", false, true, false),
        target(Arch::Arm64, "7.3", true, false, false),
        target(Arch::Riscv64, "7.3", false, true, false),
        target(Arch::Riscv64, "7.3", true, false, false),
        // The arm64 kernel with the Raspberry Pi 4 device tree, the root filesystem on its SD
        // card.
        target(Arch::Raspi4b, "7.3", true, false, false),
    ];
    // Before 7.3 the module registers its own file operations: the riskiest code, so the
    // sanitizers watch it there.
    if qemu::kvm() {
        t.push(target(Arch::X86_64, "7.3", false, true, false));
        t.push(target(Arch::X86_64, "7.3", true, false, false));
        t.push(target(Arch::X86_64, "7.2", false, false, true));
    } else {
        t.push(target(Arch::Arm64, "7.2", false, false, true));
    }
    t
}

/// Run only when `--only` names them: x86_64 without KVM (TCG), and the debug kernels the full
/// run leaves out (riscv64's module loads with KASAN and KUnit take 10 to 15 minutes under TCG).
fn on_request() -> Vec<Target> {
    let mut t = vec![
        target(Arch::Riscv64, "7.2", false, false, true),
        target(Arch::Arm64, "7.3", false, false, true),
        target(Arch::X86_64, "7.3", false, false, true),
    ];
    if qemu::kvm() {
        t.push(target(Arch::Arm64, "7.2", false, false, true));
    } else {
        t.push(target(Arch::X86_64, "7.3", false, true, false));
        t.push(target(Arch::X86_64, "7.3", true, false, false));
        t.push(target(Arch::X86_64, "7.2", false, false, true));
    }
    t
}

/// With `--kernel`/`--kernel-src`: that kernel (in place of the series named here) on both
/// architectures, from the initramfs and from `sdcard.img`, on x86_64, and with the debug
/// options (on x86_64 under KVM, else on arm64) (filter with `--only`).
fn chosen_kernel_run() -> Vec<Target> {
    let debug = if qemu::kvm() {
        Arch::X86_64
    } else {
        Arch::Arm64
    };
    vec![
        target(Arch::Arm64, DEFAULT_SERIES, false, false, false),
        target(Arch::Arm64, DEFAULT_SERIES, true, false, false),
        target(Arch::Riscv64, DEFAULT_SERIES, false, false, false),
        target(Arch::Riscv64, DEFAULT_SERIES, true, false, false),
        target(Arch::X86_64, DEFAULT_SERIES, false, true, false),
        target(debug, DEFAULT_SERIES, false, false, true),
    ]
}

/// The host tool's own unit tests and the Yocto layer lint (oelint-adv, pinned, in a venv in
/// the cache): they need no kernel, so they come first, whatever `--only` says.
fn host_checks(repo: &Path, logs: &Path, results: &mut Results) {
    let step = Step::new("Host checks: the tool's unit tests and the Yocto layer lint");
    let manifest = repo.join("tools/rustsample-qemu/Cargo.toml");
    let mut cargo_test = Command::new("cargo");
    cargo_test
        .args(["test", "--release", "--manifest-path"])
        .arg(&manifest);
    let r = logged(
        &mut cargo_test,
        &logs.join("host-unit-tests.log"),
        "cargo test",
    );
    results.record_result(
        "tools/rustsample-qemu: unit tests (cargo test --release)",
        r,
    );

    let log = logs.join("oelint.log");
    let r = logged(
        &mut Command::new(repo.join(".ci/oelint.sh")),
        &log,
        ".ci/oelint.sh",
    );
    if r.is_ok() {
        // A stale rust-sample SRCREV is a note, not a failure: show it.
        for l in fs::read_to_string(&log).unwrap_or_default().lines() {
            if l.starts_with("oelint: note:") {
                println!("    {l}");
            }
        }
    }
    results.record_result("meta-rustsample: Yocto layer lint (.ci/oelint.sh)", r);
    step.done();
}

/// Runs `cmd` with its output in `log`, a new one each time.
fn logged(cmd: &mut Command, log: &Path, what: &str) -> Result<()> {
    match fs::remove_file(log) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return fail(format!("{}: {e}", log.display()))
        }
        _ => {}
    }
    run_logged(cmd, log, what, None).map(|_| ())
}

pub fn run_tests(repo: &Path, cache: &Path, choice: &Choice, only: Option<&str>) -> Result<()> {
    let logs = cache.join("logs");
    fs::create_dir_all(&logs)?;
    let mut results = Results::default();
    host_checks(repo, &logs, &mut results);
    let mut apt = Apt::new(cache);
    deps::ensure_host(&mut apt)?;
    let bindgen = deps::bindgen(cache, choice.bindgen.as_deref())?;
    let chosen = match &choice.kernel {
        Some(spec) => Some(Source::get(spec, repo, cache, &mut apt)?),
        None => None,
    };
    let targets: Vec<Target> = if chosen.is_some() {
        chosen_kernel_run()
    } else if only.is_some() {
        full_run().into_iter().chain(on_request()).collect()
    } else {
        full_run()
    };
    let mut built: Vec<Built> = Vec::new();
    let mut broken: Vec<(Arch, String, bool)> = Vec::new();

    for t in &targets {
        let (arch, disk, bench, debug) = (t.arch, t.disk, t.bench, t.debug);
        let series = match &chosen {
            Some(s) => s.label.clone(),
            None => t.series.to_string(),
        };
        let media = if disk { "sdcard.img" } else { "initramfs" };
        let kind = if debug { " debug" } else { "" };
        let label = format!("{} {series}{kind} {media}", arch.name());
        if only.is_some_and(|o| !label.contains(o))
            || broken.contains(&(arch, series.clone(), debug))
        {
            continue;
        }
        let same = |b: &Built| b.arch == arch && b.series == series && b.debug == debug;
        if !built.iter().any(same) {
            let source = match &chosen {
                Some(s) => Ok(s.clone()),
                None => Source::get(&KernelSpec::Debian(series.clone()), repo, cache, &mut apt),
            };
            match source.and_then(|s| build(repo, cache, &mut apt, arch, &s, &bindgen, debug)) {
                Ok(b) => {
                    let name = format!(
                        "{} {series}{kind}: the module builds out of tree without warnings",
                        arch.name()
                    );
                    results.record(
                        &name,
                        b.out_of_tree_warnings.is_empty(),
                        &b.out_of_tree_warnings.join("\n"),
                    );
                    results.record(
                        &format!(
                            "{} {series}{kind}: the module builds with CLIPPY=1 without warnings",
                            arch.name()
                        ),
                        b.clippy_warnings.is_empty(),
                        &b.clippy_warnings.join("\n"),
                    );
                    if let Some(r) = &b.kernel_bench {
                        results.record(
                            &format!(
                                "{} {series}: tests/kernel-bench builds with W=1 without warnings",
                                arch.name()
                            ),
                            r.is_ok(),
                            r.as_ref().err().map_or("", |e| e.0.as_str()),
                        );
                    }
                    built.push(b);
                }
                Err(e) => {
                    results.record(
                        &format!("{} {series}{kind}: build", arch.name()),
                        false,
                        &e.0,
                    );
                    broken.push((arch, series.clone(), debug));
                    continue;
                }
            }
        }
        let b = built.iter().find(|b| same(b)).expect("built above");
        let step = Step::new(format!("Testing {label} in QEMU"));
        let r = guest_suite(b, disk, bench, &label, &logs, &mut results);
        if let Err(e) = r {
            results.record(&format!("{label}: guest run"), false, &e.0);
        }
        step.done();
    }

    if only.is_none_or(|o| "lint".contains(o)) {
        let step = Step::new("Lints: rustfmt and checkpatch.pl");
        let source = match &chosen {
            Some(s) => Ok(s.clone()),
            None => Source::get(
                &KernelSpec::Debian(DEFAULT_SERIES.into()),
                repo,
                cache,
                &mut apt,
            ),
        };
        match source {
            Ok(src) => lint(repo, &mut results, &src),
            Err(e) => results.record("lint: kernel source", false, &e.0),
        }
        step.done();
    }

    // The labgrid tests boot this run's sdcard.img: default kernels only.
    if chosen.is_none() && only.is_none_or(|o| "labgrid".contains(o)) {
        for (name, r) in crate::lab::in_test(repo, &logs) {
            results.record_result(&name, r);
        }
    }

    if !results.bench.is_empty() {
        println!("\nBenchmark (median of 9 alternating runs; ratio = rust-sample / urandom):");
        for b in &results.bench {
            println!("  {b}");
        }
    }
    if !results.failed.is_empty() {
        println!("\nFailed:");
        for f in &results.failed {
            println!("  {f}");
        }
    }
    println!(
        "\n{} passed, {} failed",
        results.passed,
        results.failed.len()
    );
    if results.failed.is_empty() {
        Ok(())
    } else {
        fail(format!("{} test(s) failed", results.failed.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logged_failure_names_its_log_and_the_log_is_new_each_time() {
        let dir = std::env::temp_dir().join(format!("rustsample-logged-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let log = dir.join("check.log");
        fs::write(&log, "an older run\n").unwrap();
        let e = logged(
            Command::new("sh").args(["-c", "echo finding; exit 3"]),
            &log,
            "the check",
        )
        .unwrap_err();
        assert!(e.0.starts_with("the check failed"), "{e}");
        assert!(e.0.contains(&log.display().to_string()), "{e}");
        assert!(e.0.contains("finding"), "{e}");
        assert!(logged(&mut Command::new("true"), &log, "the check").is_ok());
        assert_eq!(fs::read_to_string(&log).unwrap(), "");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn guest_lines_become_results() {
        let mut r = Results::default();
        let lines: Vec<String> = [
            "~ # sh /usr/lib/rustsample/guest-tests.sh",
            "ok - reads return random bytes",
            "not ok - devcheck fault",
            "#   FAIL: read into unmapped buffer returned 0",
            "BENCH read=16 reps=7 ratio=1.010",
            "guest: 1 passed, 1 failed",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(r.parse_guest("arm64", &lines), 2);
        assert_eq!(r.passed, 1);
        assert_eq!(
            r.failed,
            vec!["arm64: devcheck fault: FAIL: read into unmapped buffer returned 0"]
        );
        assert_eq!(r.bench, vec!["arm64: read=16 reps=7 ratio=1.010"]);
    }
}
