//! The test suite (`test`).

use crate::arch::Arch;
use crate::deps::{self, Apt};
use crate::images::{boot, build, media, Built, Choice, DEFAULT_SERIES};
use crate::kernel::{KERNEL_BENCH_FILES, MODULE_FILES};
use crate::qemu;
use crate::source::{KernelSpec, Source};
use crate::step::{fail, run_logged, Result, Step};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

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

/// The unit tests of the host tool and of the Buildroot scripts, and the Yocto layer lint
/// (oelint-adv, pinned, in a venv in the cache): they need no kernel, so they come first, whatever `--only` says.
fn host_checks(repo: &Path, logs: &Path, results: &mut Results) {
    let step = Step::new("Host checks: unit tests and the Yocto layer lint");
    // The host tool's tests, then the Buildroot scripts' own logic (no network, no Buildroot).
    let mut cargo_test = Command::new("cargo");
    cargo_test
        .args(["test", "--release", "--manifest-path"])
        .arg(repo.join("tools/rustsample-qemu/Cargo.toml"));
    let mut unittest = Command::new("python3");
    unittest
        .args(["-m", "unittest", "discover", "-s"])
        .arg(repo.join("support/testing/unit"));
    for (name, mut cmd, log) in [
        (
            "tools/rustsample-qemu: unit tests (cargo test --release)",
            cargo_test,
            "host-unit-tests.log",
        ),
        (
            "support/testing: unit tests of offline-sources.py (python3 -m unittest)",
            unittest,
            "support-testing-unit.log",
        ),
    ] {
        let r = logged(&mut cmd, &logs.join(log), name);
        results.record_result(name, r);
    }

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
