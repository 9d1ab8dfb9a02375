//! `buildroot` and `lab`: scripts of the repository, run with the arguments given.

use crate::cli::ScriptArgs;
use crate::step::{fail, Result};
use std::path::Path;
use std::process::Command;

pub fn exec(repo: &Path, script: &str, a: &ScriptArgs) -> Result<()> {
    let mut args = a.args.clone();
    if a.help_script {
        args.push("--help".into());
    }
    let status = Command::new(repo.join(script))
        .args(&args)
        .status()
        .or_else(|e| fail(format!("{script}: {e}")))?;
    // --help of the scripts exits 2 with the usage
    match status.code() {
        Some(0) => Ok(()),
        Some(2) if a.help_script => Ok(()),
        _ => fail(format!("{script} failed ({status})")),
    }
}
