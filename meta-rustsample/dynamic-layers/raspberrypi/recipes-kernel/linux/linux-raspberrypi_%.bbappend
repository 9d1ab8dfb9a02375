# linux-raspberrypi (meta-raspberrypi) with kernel Rust support: the same
# gate as linux-yocto_%.bbappend. With "rust" in KERNEL_FEATURES,
# kernel-yocto.bbclass (which linux-raspberrypi uses through linux-yocto.inc)
# adds the kernel's Rust feature and toolchain; this append adds the options
# of the rust_sample module and what the Raspberry Pi defconfigs need for
# Rust. Without it, nothing in the kernel recipe changes.
require ${@bb.utils.contains('KERNEL_FEATURES', 'rust', 'linux-yocto-rustsample.inc linux-raspberrypi-rustsample.inc', '', d)}
