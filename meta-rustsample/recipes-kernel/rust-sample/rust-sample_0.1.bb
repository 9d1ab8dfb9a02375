SUMMARY = "Rust kernel module providing /dev/rust-sample"
DESCRIPTION = "rust_sample is a Rust-for-Linux kernel module that registers \
the misc device /dev/rust-sample, which returns random bytes from the kernel \
CRNG like /dev/urandom. Built out of tree against the target kernel; the \
module is loaded at boot and the device is made world-readable (0444)."
SECTION = "kernel"
LICENSE = "GPL-2.0-only"
# module/ is GPL-2.0 (SPDX headers); use the canonical licence text.
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/GPL-2.0-only;md5=801f80980d171dd6425610833a22dbe6"

# Give a precise reason instead of the generic one from module-rust.bbclass.
SKIP_RECIPE[rust-sample] = "${@bb.utils.contains('KERNEL_FEATURES', 'rust', '', 'kernel Rust support is off: add rust to KERNEL_FEATURES in local.conf, distro or machine configuration (see meta-rustsample/README.md)', d)}"

inherit module-rust

# Single source of truth: the module sources and the udev rule are taken
# from the repository this layer lives in (RUSTSAMPLE_TOPDIR, layer.conf).
FILESEXTRAPATHS:prepend := "${RUSTSAMPLE_TOPDIR}:"

SRC_URI = "file://module/ \
           file://package/rustsample/50-rust-sample.rules \
           "

S = "${UNPACKDIR}/module"

# module/Makefile wraps "make -C $(KDIR) M=$(PWD)". CONFIG_RUST_SAMPLE is
# the Kconfig symbol of the in-tree variant; out of tree it is forced to m.
EXTRA_OEMAKE += "KDIR=${STAGING_KERNEL_DIR} CONFIG_RUST_SAMPLE=m"

do_install:append() {
    install -d ${D}${nonarch_base_libdir}/udev/rules.d
    install -m 0644 ${UNPACKDIR}/package/rustsample/50-rust-sample.rules \
        ${D}${nonarch_base_libdir}/udev/rules.d/50-rust-sample.rules
}

# Load at boot: kernel-module-split writes rust_sample.conf to modules-load.d,
# read by systemd-modules-load and by sysvinit's modutils.sh alike.
KERNEL_MODULE_AUTOLOAD += "rust_sample"

FILES:${PN} += "${nonarch_base_libdir}/udev/rules.d/50-rust-sample.rules"

# The module.bbclass split package is kernel-module-rust-sample-<kver>.
RPROVIDES:${PN} += "kernel-module-rust-sample"
