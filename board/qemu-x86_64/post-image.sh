#!/usr/bin/env bash
#
# Post-image script of rustsample_x86_64_defconfig, called by Buildroot
# with the images directory as first argument: writes start-qemu.sh,
# which boots bzImage with rootfs.ext2 as a virtio disk in QEMU's "pc"
# machine, as Buildroot's qemu_x86_64_defconfig does (no bootloader,
# no disk image).

set -euo pipefail

# Extra arguments are given to QEMU (e.g. -enable-kvm).
main() {
    "$(dirname "$0")/../common/write-start-qemu.sh" "$1" <<-'END'
	exec qemu-system-x86_64 -M pc -smp 1 -m 512 -nographic \
	    -kernel bzImage -append "rootwait root=/dev/vda console=ttyS0" \
	    -drive file=rootfs.ext2,if=virtio,format=raw \
	    -netdev user,id=eth0 -device virtio-net-pci,netdev=eth0 \
	    "$@"
	END
}

main "$@"
