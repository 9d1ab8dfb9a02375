//! Where a kernel tree comes from: Debian's `linux-source-<series>` (the offline default), a
//! kernel.org release checked against the sha256 pins the Buildroot tree ships in
//! `board/common/patches/linux/linux.hash`, or a tree the user already has.

use crate::deps::{self, Apt};
use crate::step::{fail, output, Context, Error, Result, Step};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The pins of kernel.org tarballs, shared with the Buildroot tree.
pub const PINS: &str = "board/common/patches/linux/linux.hash";

/// Where kernel.org releases are downloaded from (`RUSTSAMPLE_KERNEL_MIRROR` overrides it).
const KERNEL_ORG: &str = "https://cdn.kernel.org/pub/linux/kernel";

/// The oldest kernel whose Rust misc-device abstraction has `read_iter`.
const OLDEST: (u32, u32) = (6, 18);

/// What the user asked for on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelSpec {
    /// `--kernel 7.3`: Debian's `linux-source-7.3`.
    Debian(String),
    /// `--kernel 7.1.9` or `--kernel 6.18.y`: a kernel.org tarball.
    Release(String),
    /// `--kernel-src DIR`: an unpacked tree of any version.
    Tree(PathBuf),
}

impl KernelSpec {
    /// `X.Y` is a Debian series, `X.Y.Z` or `X.Y.y` a kernel.org release.
    pub fn parse(arg: &str) -> Option<KernelSpec> {
        let parts: Vec<&str> = arg.split('.').collect();
        let num = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        match parts[..] {
            [a, b] if num(a) && num(b) => Some(KernelSpec::Debian(arg.to_string())),
            [a, b, c] if num(a) && num(b) && (num(c) || c == "y") => {
                Some(KernelSpec::Release(arg.to_string()))
            }
            _ => None,
        }
    }
}

/// A kernel tree ready to build.
#[derive(Clone, Debug)]
pub struct Source {
    pub tree: PathBuf,
    /// How it is named in progress lines, test names and cache directories.
    pub label: String,
    /// Added to the build cache key (empty for Debian's trees, whose keys predate it).
    pub key: String,
}

impl Source {
    pub fn get(spec: &KernelSpec, repo: &Path, cache: &Path, apt: &mut Apt) -> Result<Source> {
        let source = match spec {
            KernelSpec::Debian(series) => Source {
                tree: deps::kernel_source(apt, cache, series)?,
                label: series.clone(),
                key: String::new(),
            },
            KernelSpec::Release(version) => {
                let pins = fs::read_to_string(repo.join(PINS)).context(|| PINS.to_string())?;
                let mirror =
                    std::env::var("RUSTSAMPLE_KERNEL_MIRROR").unwrap_or(KERNEL_ORG.to_string());
                release(&pins, version, &mirror, cache)?
            }
            KernelSpec::Tree(dir) => tree(dir)?,
        };
        supported(&source.tree)?;
        Ok(source)
    }
}

/// The module needs a kernel whose Rust misc-device abstraction has `read_iter`.
fn supported(tree: &Path) -> Result<()> {
    let (major, minor, _) = version(tree)?;
    if (major, minor) < OLDEST {
        return fail(format!(
            "{} is Linux {major}.{minor}: rust_sample needs {}.{} or later (the Rust \
             misc-device read_iter API)",
            tree.display(),
            OLDEST.0,
            OLDEST.1
        ));
    }
    Ok(())
}

/// `VERSION`, `PATCHLEVEL` and `SUBLEVEL` of a kernel tree's top Makefile.
pub fn version(tree: &Path) -> Result<(u32, u32, u32)> {
    let makefile = tree.join("Makefile");
    let text = fs::read_to_string(&makefile)
        .context(|| format!("{} is not a kernel tree", tree.display()))?;
    let get = |key: &str| -> Option<u32> {
        text.lines()
            .take(10)
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| k.trim() == key)
            .and_then(|(_, v)| v.trim().parse().ok())
    };
    match (get("VERSION"), get("PATCHLEVEL"), get("SUBLEVEL")) {
        (Some(a), Some(b), Some(c)) => Ok((a, b, c)),
        _ => fail(format!(
            "{} has no VERSION/PATCHLEVEL/SUBLEVEL: not a kernel tree",
            makefile.display()
        )),
    }
}

/// A tree the user unpacked. It must be clean: a tree configured in place refuses `O=` builds.
fn tree(dir: &Path) -> Result<Source> {
    let dir = dir
        .canonicalize()
        .context(|| format!("--kernel-src {}", dir.display()))?;
    let (a, b, c) = version(&dir)?;
    if dir.join(".config").exists() || dir.join("include/config").exists() {
        return fail(format!(
            "{} has been configured or built in place, and kernel builds with O= need a clean \
             source tree: run `make -C {} mrproper` (it removes that build) or pass a fresh copy",
            dir.display(),
            dir.display()
        ));
    }
    let key = dir.display().to_string();
    Ok(Source {
        label: format!(
            "{a}.{b}.{c}-{:06x}",
            crate::step::fnv1a(key.as_bytes()) as u32 >> 8
        ),
        tree: dir,
        key,
    })
}

/// Reads `sha256  <hash>  <file>` lines.
fn pinned_hash<'a>(pins: &'a str, file: &str) -> Option<&'a str> {
    pins.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|w| w.len() == 3 && w[0] == "sha256" && w[2] == file)
        .map(|w| w[1])
}

/// `6.18.y` becomes the newest 6.18 release with a pin.
fn resolve(pins: &str, version: &str) -> Option<String> {
    let Some(series) = version.strip_suffix(".y") else {
        return Some(version.to_string());
    };
    let prefix = format!("linux-{series}.");
    pins.lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .filter_map(|f| f.strip_prefix(&prefix)?.strip_suffix(".tar.xz"))
        .filter_map(|s| s.parse::<u32>().ok())
        .max()
        .map(|s| format!("{series}.{s}"))
}

/// Downloads (once) and unpacks a kernel.org release into the cache, checking its pinned
/// sha256. A failed or mismatching download leaves nothing behind.
pub fn release(pins: &str, version: &str, mirror: &str, cache: &Path) -> Result<Source> {
    let Some(version) = resolve(pins, version) else {
        return fail(format!(
            "no Linux {version} is pinned in {PINS}: add its sha256 line from kernel.org's \
             sha256sums.asc, or unpack a tree yourself and pass --kernel-src DIR"
        ));
    };
    let file = format!("linux-{version}.tar.xz");
    let Some(sha256) = pinned_hash(pins, &file) else {
        return fail(format!(
            "{file} has no sha256 in {PINS}: add its line from kernel.org's sha256sums.asc, \
             or unpack a tree yourself and pass --kernel-src DIR"
        ));
    };
    let src_dir = cache.join("src");
    let tree = src_dir.join(format!("linux-{version}"));
    let source = Source {
        tree: tree.clone(),
        label: version.clone(),
        key: file.clone(),
    };
    if tree.join("Makefile").exists() {
        return Ok(source);
    }
    let tarball = cache.join("dl").join(&file);
    if !tarball.exists() {
        let major = version.split('.').next().unwrap_or("");
        download(&format!("{mirror}/v{major}.x/{file}"), &tarball, sha256)?;
    }
    let step = Step::new(format!("Unpacking {file}"));
    let partial = src_dir.join(format!(".unpacking-linux-{version}"));
    let _ = fs::remove_dir_all(&partial);
    fs::create_dir_all(&partial)?;
    let r = output(
        Command::new("tar")
            .arg("-xf")
            .arg(&tarball)
            .arg("-C")
            .arg(&partial)
            .arg("--strip-components=1"),
    );
    if let Err(e) = r.and_then(|_| version_of(&partial, &version)) {
        let _ = fs::remove_dir_all(&partial);
        return Err(e);
    }
    fs::rename(&partial, &tree)?;
    step.done();
    Ok(source)
}

/// The unpacked tree must be the release its file name says.
fn version_of(tree: &Path, want: &str) -> Result<()> {
    let (a, b, c) = version(tree)?;
    let got = format!("{a}.{b}.{c}");
    if got != want && format!("{a}.{b}") != want {
        return fail(format!("the tarball of Linux {want} holds Linux {got}"));
    }
    Ok(())
}

/// Fetches `url` to `dest` through a `.part` file that only becomes `dest` when its sha256 is
/// `sha256`.
pub fn download(url: &str, dest: &Path, sha256: &str) -> Result<()> {
    let step = Step::new(format!("Downloading {url}"));
    let dir = dest.parent().expect("a file in a directory");
    fs::create_dir_all(dir)?;
    let mut part = dest.as_os_str().to_owned();
    part.push(".part");
    let part = PathBuf::from(part);
    let o = Command::new("curl")
        .args(["--fail", "--silent", "--show-error", "--location"])
        .args(["--connect-timeout", "20", "--output"])
        .arg(&part)
        .arg(url)
        .output()
        .context(|| "cannot run curl (Debian package curl)".to_string())?;
    if !o.status.success() {
        let _ = fs::remove_file(&part);
        return fail(format!(
            "cannot download {url}: {}\n  Without access to kernel.org, unpack a kernel tree \
             yourself and pass --kernel-src DIR",
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    let got = sha256_of(&part);
    if got.as_deref().ok() != Some(sha256) {
        let _ = fs::remove_file(&part);
        let got = got.unwrap_or_else(|e| e.0);
        return fail(format!(
            "{url}: sha256 {got} is not the pinned {sha256} (a truncated or altered \
             download; nothing was kept)"
        ));
    }
    fs::rename(&part, dest)?;
    step.done();
    Ok(())
}

fn sha256_of(path: &Path) -> Result<String> {
    let out = output(Command::new("sha256sum").arg(path))?;
    out.split_whitespace()
        .next()
        .map(str::to_string)
        .ok_or_else(|| Error(format!("sha256sum {}: no output", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rustsample-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A tiny "release" tarball laid out as on kernel.org: `<mirror>/v9.x/linux-9.9.9.tar.xz`.
    fn fake_release(dir: &Path) -> (Vec<u8>, String) {
        let tree = dir.join("linux-9.9.9");
        fs::create_dir_all(&tree).unwrap();
        fs::write(
            tree.join("Makefile"),
            "VERSION = 9\nPATCHLEVEL = 9\nSUBLEVEL = 9\nEXTRAVERSION =\n",
        )
        .unwrap();
        let mirror = dir.join("mirror/v9.x");
        fs::create_dir_all(&mirror).unwrap();
        let tarball = mirror.join("linux-9.9.9.tar.xz");
        output(
            Command::new("tar")
                .arg("-cJf")
                .arg(&tarball)
                .arg("-C")
                .arg(dir)
                .arg("linux-9.9.9"),
        )
        .unwrap();
        (fs::read(&tarball).unwrap(), sha256_of(&tarball).unwrap())
    }

    fn pins(hash: &str) -> String {
        format!("# kernel.org\nsha256  {hash}  linux-9.9.9.tar.xz\nsha256  00  COPYING\n")
    }

    /// Nothing of a failed download may stay in the cache.
    fn assert_nothing_kept(cache: &Path) {
        for d in ["dl", "src"] {
            let left: Vec<_> = fs::read_dir(cache.join(d))
                .map(|r| r.filter_map(|e| e.ok()).map(|e| e.path()).collect())
                .unwrap_or_default();
            assert!(left.is_empty(), "left in {d}: {left:?}");
        }
    }

    #[test]
    fn versions_select_the_source() {
        assert_eq!(
            KernelSpec::parse("7.3"),
            Some(KernelSpec::Debian("7.3".into()))
        );
        assert_eq!(
            KernelSpec::parse("7.1.9"),
            Some(KernelSpec::Release("7.1.9".into()))
        );
        assert_eq!(
            KernelSpec::parse("6.18.y"),
            Some(KernelSpec::Release("6.18.y".into()))
        );
        for bad in ["7", "7.x", "v7.3", "7.1.9.1", ""] {
            assert_eq!(KernelSpec::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn series_resolve_to_their_pinned_release() {
        let pins = "sha256 aa linux-6.18.45.tar.xz\nsha256 bb linux-6.18.9.tar.xz\n\
                    sha256 cc linux-7.1.9.tar.xz\n";
        assert_eq!(resolve(pins, "6.18.y").as_deref(), Some("6.18.45"));
        assert_eq!(resolve(pins, "7.1.y").as_deref(), Some("7.1.9"));
        assert_eq!(resolve(pins, "7.0.y"), None);
        assert_eq!(pinned_hash(pins, "linux-7.1.9.tar.xz"), Some("cc"));
    }

    #[test]
    fn the_project_pins_the_defconfig_kernels() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let pins = fs::read_to_string(repo.join(PINS)).unwrap();
        for series in ["6.18.y", "7.1.y"] {
            let v = resolve(&pins, series).expect(series);
            let hash = pinned_hash(&pins, &format!("linux-{v}.tar.xz")).unwrap();
            assert_eq!(hash.len(), 64, "{v}");
        }
    }

    #[test]
    fn a_release_is_downloaded_checked_and_unpacked() {
        let dir = scratch("release-ok");
        let (_, hash) = fake_release(&dir);
        let cache = dir.join("cache");
        let mirror = format!("file://{}/mirror", dir.display());
        let s = release(&pins(&hash), "9.9.9", &mirror, &cache).unwrap();
        assert_eq!(s.label, "9.9.9");
        assert_eq!(version(&s.tree).unwrap(), (9, 9, 9));
        assert!(cache.join("dl/linux-9.9.9.tar.xz").exists());
        assert!(!cache.join("dl/linux-9.9.9.tar.xz.part").exists());
        // A second call uses the cache, even with the mirror gone.
        fs::remove_dir_all(dir.join("mirror")).unwrap();
        assert!(release(&pins(&hash), "9.9.y", &mirror, &cache).is_ok());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_wrong_hash_keeps_nothing() {
        let dir = scratch("release-hash");
        fake_release(&dir);
        let cache = dir.join("cache");
        let mirror = format!("file://{}/mirror", dir.display());
        let wrong = "0".repeat(64);
        let e = release(&pins(&wrong), "9.9.9", &mirror, &cache).unwrap_err();
        assert!(e.0.contains("is not the pinned"), "{e}");
        assert_nothing_kept(&cache);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_truncated_file_keeps_nothing() {
        let dir = scratch("release-short");
        let (bytes, hash) = fake_release(&dir);
        let tarball = dir.join("mirror/v9.x/linux-9.9.9.tar.xz");
        fs::write(&tarball, &bytes[..bytes.len() / 2]).unwrap();
        let cache = dir.join("cache");
        let mirror = format!("file://{}/mirror", dir.display());
        let e = release(&pins(&hash), "9.9.9", &mirror, &cache).unwrap_err();
        assert!(e.0.contains("is not the pinned"), "{e}");
        assert_nothing_kept(&cache);
        fs::remove_dir_all(dir).unwrap();
    }

    /// Serves `body` once on 127.0.0.1, announcing `length` bytes.
    fn serve_once(body: Vec<u8>, length: usize) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            if let Ok((mut conn, _)) = listener.accept() {
                let mut request = [0u8; 4096];
                let _ = conn.read(&mut request);
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\n");
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(&body);
            }
        });
        format!("http://{addr}")
    }

    #[test]
    fn http_downloads_and_broken_transfers() {
        let dir = scratch("release-http");
        let (bytes, hash) = fake_release(&dir);
        let cache = dir.join("cache");
        let full = bytes.len();
        let e = release(
            &pins(&hash),
            "9.9.9",
            &serve_once(bytes[..full / 2].to_vec(), full),
            &cache,
        )
        .unwrap_err();
        assert!(e.0.contains("cannot download"), "{e}");
        assert!(e.0.contains("--kernel-src"), "{e}");
        assert_nothing_kept(&cache);
        let s = release(&pins(&hash), "9.9.9", &serve_once(bytes, full), &cache).unwrap();
        assert_eq!(version(&s.tree).unwrap(), (9, 9, 9));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn offline_fails_at_once_and_names_the_way_out() {
        let dir = scratch("release-offline");
        let cache = dir.join("cache");
        // A port nobody listens on: connection refused, as without a network.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let hash = "a".repeat(64);
        let start = std::time::Instant::now();
        let e = release(
            &pins(&hash),
            "9.9.9",
            &format!("http://127.0.0.1:{port}"),
            &cache,
        )
        .unwrap_err();
        assert!(start.elapsed().as_secs() < 10);
        assert!(e.0.contains("--kernel-src DIR"), "{e}");
        assert_nothing_kept(&cache);
        let e = release(&pins(&hash), "9.9.8", "file:///nonexistent", &cache).unwrap_err();
        assert!(
            e.0.contains("no sha256") && e.0.contains("--kernel-src"),
            "{e}"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_user_tree_must_be_clean_and_new_enough() {
        let dir = scratch("tree");
        let e = tree(&dir.join("missing")).unwrap_err();
        assert!(e.0.contains("missing"), "{e}");
        fs::write(
            dir.join("Makefile"),
            "VERSION = 6\nPATCHLEVEL = 18\nSUBLEVEL = 35\n",
        )
        .unwrap();
        let s = tree(&dir).unwrap();
        assert!(s.label.starts_with("6.18.35-"), "{}", s.label);
        assert!(supported(&dir).is_ok());
        fs::write(
            dir.join("Makefile"),
            "VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 9\n",
        )
        .unwrap();
        let e = supported(&dir).unwrap_err();
        assert!(e.0.contains("needs 6.18 or later"), "{e}");
        fs::write(dir.join(".config"), "CONFIG_RUST=y\n").unwrap();
        let e = tree(&dir).unwrap_err();
        assert!(e.0.contains("mrproper"), "{e}");
        fs::remove_dir_all(dir).unwrap();
    }
}
