//! Progress output, errors and running commands with their output in log files.

use std::fmt;
use std::fs::{self, File};
use std::io;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A failure with a one-line reason, optionally followed by context lines.
#[derive(Debug)]
pub struct Error(pub String);

pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error(e.to_string())
    }
}

pub fn fail<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error(msg.into()))
}

/// Adds what was being done to an I/O error.
pub trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error(format!("{}: {e}", what())))
    }
}

pub fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// A named step of a long job: announced when it starts, timed when it ends.
pub struct Step {
    name: String,
    start: Instant,
}

impl Step {
    pub fn new(name: impl Into<String>) -> Step {
        let name = name.into();
        println!("==> {name}");
        Step {
            name,
            start: Instant::now(),
        }
    }

    pub fn done(self) {
        println!(
            "    {} done in {}",
            self.name,
            elapsed(self.start.elapsed())
        );
    }
}

/// The last `n` lines of a text file, for error messages.
pub fn tail(path: &Path, n: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args().take(6) {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs `cmd` with its output appended to `log`. While it runs, prints how many lines it has
/// written every `every` (with a percentage when `expected` lines are known). Returns the
/// number of lines in the log.
pub fn run_logged(
    cmd: &mut Command,
    log: &Path,
    what: &str,
    expected: Option<usize>,
) -> Result<usize> {
    if let Some(dir) = log.parent() {
        fs::create_dir_all(dir)?;
    }
    let out = File::options().create(true).append(true).open(log)?;
    let start = Instant::now();
    let before = count_lines(log);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .context(|| format!("{what}: cannot run {}", describe(cmd)))?;
    let every = Duration::from_secs(30);
    let mut next = every;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        thread::sleep(Duration::from_millis(250));
        if start.elapsed() >= next {
            next += every;
            let lines = count_lines(log) - before;
            let pct = expected
                .filter(|&e| e > 0)
                .map(|e| format!(", about {}%", (lines * 100 / e).min(99)))
                .unwrap_or_default();
            println!(
                "    {what}: {} so far, {lines} lines of output{pct}",
                elapsed(start.elapsed())
            );
        }
    };
    if !status.success() {
        return fail(format!(
            "{what} failed ({status}); full log: {}\n{}",
            log.display(),
            tail(log, 15)
        ));
    }
    Ok(count_lines(log) - before)
}

fn count_lines(path: &Path) -> usize {
    fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

/// Runs `cmd` and returns its standard output; on failure the error carries its stderr.
pub fn output(cmd: &mut Command) -> Result<String> {
    let what = describe(cmd);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .context(|| format!("cannot run {what}"))?;
    if !out.status.success() {
        return fail(format!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// FNV-1a: a stable hash for cache keys (not for security).
pub fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_known_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn elapsed_formats_minutes() {
        assert_eq!(elapsed(Duration::from_secs(75)), "1m15s");
        assert_eq!(elapsed(Duration::from_millis(2500)), "2.5s");
    }
}
