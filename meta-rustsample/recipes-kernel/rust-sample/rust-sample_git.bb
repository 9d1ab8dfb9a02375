# nooelint: oelint.var.mandatoryvar.HOMEPAGE,oelint.var.bbclassextend - the module lives in this repository (no upstream homepage) and a kernel module is target-only
SUMMARY = "Rust kernel module providing /dev/rust-sample"
DESCRIPTION = "rust_sample is a Rust-for-Linux kernel module that registers \
               the misc device /dev/rust-sample, which returns random bytes \
               from the kernel CRNG like /dev/urandom. It is built out of \
               tree against the target kernel, loaded at boot, and the \
               device is made world-readable (0444) by a udev rule."
SECTION = "kernel"
LICENSE = "GPL-2.0-only"
# module/ carries SPDX GPL-2.0 tags and no licence file of its own.
LIC_FILES_CHKSUM = "file://rust_sample.rs;beginline=1;endline=1;md5=50d2ba0afecd20f74c12a4bdbcfcfe61"

# Give a precise reason instead of the generic one from module-rust.bbclass.
SKIP_RECIPE[rust-sample] = "${@bb.utils.contains('KERNEL_FEATURES', 'rust', '', 'kernel Rust support is off: add rust to KERNEL_FEATURES in local.conf, distro or machine configuration (see meta-rustsample/README.md)', d)}"

inherit module-rust

# Single source of truth: the module sources and the udev rule are taken
# from the repository this layer lives in (RUSTSAMPLE_TOPDIR, layer.conf),
# shared with the Buildroot external tree.
# nooelint: oelint.vars.fileextrapaths,oelint.vars.outofcontext - sources come from the repository root, not from a files directory of this layer
FILESEXTRAPATHS:prepend := "${RUSTSAMPLE_TOPDIR}:"

SRC_URI = "file://module/ \
           file://package/rustsample/50-rust-sample.rules \
           "

S = "${UNPACKDIR}/module"

# module/Makefile wraps "make -C $(KDIR) M=$(CURDIR)"; module/Kbuild
# defaults CONFIG_RUST_SAMPLE to m for such out-of-tree builds.
EXTRA_OEMAKE += "KDIR=${STAGING_KERNEL_DIR}"

do_install:append() {
    install -d ${D}${nonarch_base_libdir}/udev/rules.d
    install -m 0644 ${UNPACKDIR}/package/rustsample/50-rust-sample.rules \
        ${D}${nonarch_base_libdir}/udev/rules.d/50-rust-sample.rules
}

# Load at boot: kernel-module-split writes rust_sample.conf to modules-load.d,
# read by systemd-modules-load and by sysvinit's modutils.sh alike.
KERNEL_MODULE_AUTOLOAD += "rust_sample"

FILES:${PN} += "${nonarch_base_libdir}/udev/rules.d/50-rust-sample.rules"

# The module itself is in the split package kernel-module-rust-sample-<kver>.
RPROVIDES:${PN} += "kernel-module-rust-sample"
