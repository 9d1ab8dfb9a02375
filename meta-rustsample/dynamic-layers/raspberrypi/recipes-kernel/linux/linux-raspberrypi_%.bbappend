# linux-raspberrypi (meta-raspberrypi) with the kernel options Rust needs on
# the Raspberry Pi defconfigs. Changes the kernel recipe only when the
# distro opts in with "rustsample" in DISTRO_FEATURES (a switch of this
# layer; see the layer README) and kernel Rust support is on.
require ${@bb.utils.contains('DISTRO_FEATURES', 'rustsample', bb.utils.contains('KERNEL_FEATURES', 'rust', 'linux-raspberrypi-rustsample.inc', '', d), '', d)}
