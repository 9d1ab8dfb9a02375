SUMMARY = "Minimal image with the rust_sample kernel module"
DESCRIPTION = "core-image-minimal plus the rust_sample Rust kernel module, \
loaded at boot, with /dev/rust-sample readable by everyone, and an SSH \
server so that testimage can run the rustsample runtime tests."
LICENSE = "MIT"

SKIP_RECIPE[core-image-rustsample] = "${@bb.utils.contains('KERNEL_FEATURES', 'rust', '', 'kernel Rust support is off: add rust to KERNEL_FEATURES in local.conf, distro or machine configuration (see meta-rustsample/README.md)', d)}"

require recipes-core/images/core-image-minimal.bb

IMAGE_INSTALL += "rust-sample"

# testimage talks to the target over SSH.
IMAGE_FEATURES += "ssh-server-dropbear"

TEST_SUITES = "ping ssh rustsample"
