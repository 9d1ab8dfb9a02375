//! The labgrid tests in the full `test`: `tests/labgrid/run.sh --all --cache-images` boots the
//! arm64 and riscv64 `sdcard.img` of this run through U-Boot with labgrid, locally and through
//! a coordinator and an exporter on 127.0.0.1 (docs/lab.md). About two minutes on a warm run.

use crate::step::{fail, run_logged, Result, Step};
use std::fs;
use std::path::Path;
use std::process::Command;

/// Runs the labgrid tests; one result per run (local or remote, per architecture).
pub fn in_test(repo: &Path, logs: &Path) -> Vec<(String, Result<()>)> {
    let step =
        Step::new("labgrid: arm64 and riscv64 sdcard.img, locally and through a loopback lab");
    let log = logs.join("labgrid.log");
    let _ = fs::remove_file(&log);
    let script = repo.join("tests/labgrid/run.sh");
    let r = run_logged(
        Command::new(&script).args(["--all", "--cache-images"]),
        &log,
        "tests/labgrid/run.sh",
        None,
    );
    let text = fs::read_to_string(&log).unwrap_or_default();
    let mut results = runs(&text, &log);
    // A failure before or between the runs (no image, no venv) is a result of its own.
    if let Err(e) = r {
        if results.iter().all(|(_, r)| r.is_ok()) {
            results.push(("labgrid: tests/labgrid/run.sh".to_string(), Err(e)));
        }
    } else if results.is_empty() {
        let why = format!("no results; see {}", log.display());
        results.push(("labgrid: tests/labgrid/run.sh".to_string(), fail(why)));
    }
    step.done();
    results
}

/// The summary lines of run.sh: "    local arm64: 20 passed, 0 failed, 0 skipped in 17s (exit 0)",
/// or "no report (...)" in place of the counts.
fn runs(text: &str, log: &Path) -> Vec<(String, Result<()>)> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let (what, summary) = l.split_once(": ")?;
            let (mode, arch) = what.split_once(' ')?;
            if !matches!(mode, "local" | "remote") || !summary.ends_with(')') {
                return None;
            }
            let name = format!("labgrid {mode} {arch}: {}", summary.split(" in ").next()?);
            let r = if summary.ends_with("(exit 0)") {
                Ok(())
            } else {
                fail(format!("{summary}; see {}", log.display()))
            };
            Some((name, r))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_summary_of_run_sh() {
        let text = "==> labgrid tests\n    local arm64: 20 passed, 0 failed, 0 skipped in 17s (exit 0)\n    remote riscv64: 19 passed, 1 failed, 0 skipped in 30s (exit 1)\n    remote arm64: no report (no file) in 1s (exit 1)\n    board environments rpi4: loaded in 7s\n";
        let r = runs(text, Path::new("/l"));
        assert_eq!(r.len(), 3);
        assert_eq!(
            r[0].0,
            "labgrid local arm64: 20 passed, 0 failed, 0 skipped"
        );
        assert!(r[0].1.is_ok());
        assert!(r[1].1.is_err());
        assert!(r[2].1.is_err());
    }
}
