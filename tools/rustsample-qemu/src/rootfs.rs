//! The guest's root filesystem: static busybox, the project's init script and permission rule,
//! the modules, and the test program; packed as an initramfs or as a bootable disk image.

use crate::arch::Arch;
use crate::step::{fail, output, run_logged, Context, Result};
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Rootfs {
    pub dir: PathBuf,
}

fn copy_exec(from: &Path, to: &Path, mode: u32) -> Result<()> {
    if let Some(d) = to.parent() {
        fs::create_dir_all(d)?;
    }
    fs::copy(from, to).map_err(|e| crate::step::Error(format!("{}: {e}", from.display())))?;
    fs::set_permissions(to, fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// Cross-compiles the static guest test program with clang and lld (bookworm's riscv64
/// binutils crash on static links), against Debian's cross C libraries.
pub fn build_devcheck(repo: &Path, arch: Arch, out: &Path) -> Result<()> {
    if let Some(d) = out.parent() {
        fs::create_dir_all(d)?;
    }
    output(
        Command::new(format!("{}/clang", crate::deps::LLVM_BIN))
            .arg(format!("--target={}", arch.gnu_triple()))
            .args([
                "-fuse-ld=lld",
                "-static",
                "-O2",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-o",
            ])
            .arg(out)
            .arg(repo.join("tests/guest/devcheck.c"))
            .args(["-lm", "-lpthread"]),
    )?;
    Ok(())
}

impl Rootfs {
    /// Lays out the root filesystem in `dir` (recreated).
    pub fn stage(
        repo: &Path,
        dir: &Path,
        busybox: &Path,
        devcheck: &Path,
        out_of_tree_ko: &Path,
    ) -> Result<Rootfs> {
        let _ = fs::remove_dir_all(dir);
        for d in [
            "proc",
            "sys",
            "dev",
            "tmp",
            "root",
            "etc/init.d",
            "usr/bin",
            "usr/lib/rustsample/out-of-tree",
            "lib/modules",
            "sbin",
        ] {
            fs::create_dir_all(dir.join(d))?;
        }
        copy_exec(busybox, &dir.join("bin/busybox"), 0o755)?;
        symlink("busybox", dir.join("bin/sh"))?;
        symlink("../bin/busybox", dir.join("sbin/init"))?;
        symlink("sbin/init", dir.join("init"))?;
        let guest = repo.join("tools/rustsample-qemu/guest");
        copy_exec(&guest.join("inittab"), &dir.join("etc/inittab"), 0o644)?;
        copy_exec(&guest.join("rcS"), &dir.join("etc/init.d/rcS"), 0o755)?;
        // The same init script and permission rule the Buildroot package installs.
        let pkg = repo.join("package/rustsample");
        copy_exec(
            &pkg.join("S50rustsample"),
            &dir.join("etc/init.d/S50rustsample"),
            0o755,
        )?;
        copy_exec(
            &pkg.join("mdev-rust-sample.conf"),
            &dir.join("etc/mdev.conf"),
            0o644,
        )?;
        copy_exec(devcheck, &dir.join("usr/bin/devcheck"), 0o755)?;
        copy_exec(
            &repo.join("tests/guest/guest-tests.sh"),
            &dir.join("usr/lib/rustsample/guest-tests.sh"),
            0o755,
        )?;
        copy_exec(
            out_of_tree_ko,
            &dir.join("usr/lib/rustsample/out-of-tree/rust_sample.ko"),
            0o644,
        )?;
        Ok(Rootfs {
            dir: dir.to_path_buf(),
        })
    }

    /// A gzip-compressed newc cpio archive, owned by root.
    pub fn initramfs(&self, out: &Path) -> Result<()> {
        let script = format!(
            "cd '{}' && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -9 > '{}'",
            self.dir.display(),
            out.display()
        );
        output(Command::new("sh").arg("-c").arg(script))?;
        Ok(())
    }

    /// `sdcard.img`: a partitioned disk with a boot partition (kernel + extlinux.conf, found by
    /// U-Boot's distro boot) and an ext4 root partition, laid out by the board's genimage.cfg.
    pub fn disk_image(
        &self,
        repo: &Path,
        arch: Arch,
        kernel_image: &Path,
        work: &Path,
    ) -> Result<PathBuf> {
        let _ = fs::remove_dir_all(work);
        let images = work.join("images");
        fs::create_dir_all(&images)?;
        let board = repo.join(arch.board_dir());
        for (from, to) in [
            (kernel_image.to_path_buf(), "Image"),
            (board.join("extlinux.conf"), "extlinux.conf"),
        ] {
            fs::copy(&from, images.join(to)).context(|| from.display().to_string())?;
        }
        let log = work.join("genimage.log");
        // rootfs.ext4 as Buildroot makes it: mkfs.ext4 -d from the staged tree.
        let rootfs = images.join("rootfs.ext4");
        run_logged(
            Command::new("mkfs.ext4")
                .args(["-q", "-F", "-L", "rootfs", "-E", "root_owner=0:0", "-d"])
                .arg(&self.dir)
                .arg(&rootfs)
                .arg("64M"),
            &log,
            "mkfs.ext4",
            None,
        )?;
        run_logged(
            Command::new("genimage")
                .arg("--rootpath")
                .arg(&self.dir)
                .arg("--tmppath")
                .arg(work.join("tmp"))
                .arg("--inputpath")
                .arg(&images)
                .arg("--outputpath")
                .arg(&images)
                .arg("--config")
                .arg(repo.join("board/common/genimage.cfg")),
            &log,
            "genimage",
            None,
        )?;
        let img = images.join("sdcard.img");
        if !img.exists() {
            return fail(format!(
                "genimage wrote no sdcard.img; see {}",
                log.display()
            ));
        }
        if arch == Arch::Raspi4b {
            // QEMU's SD cards must be a power of two in size, as real ones roughly are.
            let f = fs::OpenOptions::new().write(true).open(&img)?;
            f.set_len(f.metadata()?.len().next_power_of_two())?;
        }
        Ok(img)
    }
}
