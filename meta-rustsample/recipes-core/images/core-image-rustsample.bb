# nooelint: oelint.var.suggestedvar.SECTION - images have no package section
SUMMARY = "Minimal image with the rust_sample kernel module"
DESCRIPTION = "core-image-minimal plus the rust_sample Rust kernel module, \
               loaded at boot, with /dev/rust-sample readable by everyone, \
               and an SSH server for the rustsample runtime tests."
LICENSE = "MIT"

SKIP_RECIPE[core-image-rustsample] = "${@bb.utils.contains('KERNEL_FEATURES', 'rust', '', 'kernel Rust support is off: add rust to KERNEL_FEATURES in local.conf, distro or machine configuration (see meta-rustsample/README.md)', d)}"

# nooelint: oelint.file.requirenotfound - core-image-minimal.bb is in openembedded-core (BBPATH), not in this layer
require recipes-core/images/core-image-minimal.bb

IMAGE_INSTALL += "rust-sample"

# testimage talks to the target over SSH.
# nooelint: oelint.vars.outofcontext - this is an image, via core-image-minimal.bb
IMAGE_FEATURES += "ssh-server-dropbear"

TEST_SUITES = "ping ssh rustsample"
