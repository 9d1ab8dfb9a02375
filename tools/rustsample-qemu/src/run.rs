//! The main job (`run`): build, boot and show /dev/rust-sample.

use crate::arch::Arch;
use crate::deps::{self, Apt};
use crate::images::{boot, build, media, Built, Choice, DEFAULT_SERIES};
use crate::qemu;
use crate::source::{KernelSpec, Source};
use crate::step::{fail, Result, Step};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
