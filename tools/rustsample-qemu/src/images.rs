//! What `run` and `test` share: building everything one kernel series on one architecture
//! boots with, and booting it to a shell.

use crate::arch::Arch;
use crate::deps::{self, Apt};
use crate::kernel::{install_in_tree, Kernel, Purpose, Toolchain};
use crate::qemu::{Guest, Media};
use crate::rootfs::{self, Rootfs};
use crate::source::{KernelSpec, Source};
use crate::step::{fail, Result, Step};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Everything one kernel series on one architecture boots with.
pub struct Built {
    pub arch: Arch,
    pub series: String,
    pub debug: bool,
    pub kernel: Kernel,
    /// The board's device tree, where QEMU does not make one.
    pub dtb: Option<PathBuf>,
    pub initrd: PathBuf,
    pub sdcard: PathBuf,
    pub u_boot: PathBuf,
    pub out_of_tree_warnings: Vec<String>,
    pub clippy_warnings: Vec<String>,
    /// `tests/kernel-bench/` built against this kernel (not on debug kernels).
    pub kernel_bench: Option<Result<()>>,
}

/// What the user chose: the kernel source (Debian's 7.3 when not given) and bindgen.
pub struct Choice {
    pub kernel: Option<KernelSpec>,
    pub bindgen: Option<String>,
}

/// The kernel series `run` and `test` use when no other is chosen.
pub const DEFAULT_SERIES: &str = "7.3";

pub fn build(
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
pub fn media<'a>(b: &'a Built, kernel: &'a Path, disk: bool) -> Media<'a> {
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
pub fn boot(args: &[String], log: &Path, media: &Media) -> Result<Guest> {
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
