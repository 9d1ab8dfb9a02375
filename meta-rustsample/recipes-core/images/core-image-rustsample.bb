# nooelint: oelint.var.suggestedvar.SECTION - images have no package section
SUMMARY = "Minimal image with the rust_sample kernel module"
DESCRIPTION = "core-image-minimal's contents plus the rust_sample Rust kernel \
               module, loaded at boot, with /dev/rust-sample readable by \
               everyone."
LICENSE = "MIT"

# rust-sample needs kernel Rust support; say so here too, the way
# module-rust.bbclass does.
# nooelint: oelint.task.noanonpython - bb.parse.SkipRecipe needs an anonymous python function
python __anonymous() {
    if not bb.utils.contains('KERNEL_FEATURES', 'rust', True, False, d):
        raise bb.parse.SkipRecipe("kernel Rust support is off: add rust to KERNEL_FEATURES (see the meta-rustsample README)")
}

# What core-image-minimal installs, plus the module.
IMAGE_INSTALL = "packagegroup-core-boot ${CORE_IMAGE_EXTRA_INSTALL} rust-sample"
# nooelint: oelint.vars.notneededspace - " " means no locales, as in core-image-minimal
IMAGE_LINGUAS = " "

inherit core-image

IMAGE_ROOTFS_SIZE ?= "8192"
IMAGE_ROOTFS_EXTRA_SPACE:append = "${@bb.utils.contains("DISTRO_FEATURES", "systemd", " + 4096", "", d)}"
