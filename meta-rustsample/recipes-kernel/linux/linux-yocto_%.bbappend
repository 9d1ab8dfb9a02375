# Gate: without "rust" in KERNEL_FEATURES this append changes nothing in the
# kernel recipe (no SRC_URI, no configuration, no task signature changes).
require ${@bb.utils.contains('KERNEL_FEATURES', 'rust', 'linux-yocto-rustsample.inc', '', d)}

# Parse-time hint when the layer is used without kernel Rust support; only
# logs, so it does not change the kernel recipe either.
# nooelint: oelint.task.noanonpython,oelint.vars.noncoreoverride - a parse-time message is exactly what is wanted here
python __anonymous() {
    if not bb.utils.contains('KERNEL_FEATURES', 'rust', True, False, d):
        bb.warn("meta-rustsample: 'rust' is not in KERNEL_FEATURES, so kernel Rust "
                "support is off and rust-sample/core-image-rustsample are skipped. "
                "Add KERNEL_FEATURES:append = \" rust\" to local.conf (or the "
                "distro/machine configuration); see meta-rustsample/README.md.")
}
