#!/usr/bin/env bash
#
# Post-image script of the rustsample defconfigs, called by Buildroot
# from its top directory with the images directory as first argument.
#
# Writes sdcard.img, laid out by board/common/genimage.cfg (the same
# layout as the offline QEMU loop), then start-qemu.sh, which boots it
# through U-Boot in QEMU's "virt" machine.

set -euo pipefail

BOARD_COMMON_DIR="$(dirname "$0")"

# The architecture of the configuration, as in the board directory
# names (board/qemu-<arch>-virt).
config_arch() {
    if grep -q '^BR2_aarch64=y$' "${BR2_CONFIG}"; then
        echo aarch64
    elif grep -q '^BR2_RISCV_64=y$' "${BR2_CONFIG}"; then
        echo riscv64
    else
        echo "post-image.sh: no QEMU board for this architecture" >&2
        return 1
    fi
}

# The QEMU command line for the architecture, one group of options per
# line, with paths relative to the images directory. U-Boot finds
# extlinux/extlinux.conf on the first partition of the virtio disk. On
# riscv64 it loads files above the 128 MiB that QEMU gives by default.
qemu_cmd_line() {
    case "$1" in
    aarch64)
        cat <<-'END'
		qemu-system-aarch64 -M virt -cpu cortex-a53 -smp 1 -m 512 -nographic
		-bios u-boot.bin
		END
        ;;
    riscv64)
        cat <<-'END'
		qemu-system-riscv64 -M virt -smp 1 -m 512 -nographic
		-bios fw_jump.bin -kernel u-boot.bin
		END
        ;;
    esac
    cat <<-'END'
	-drive file=sdcard.img,if=none,format=raw,id=hd0
	-device virtio-blk-device,drive=hd0
	-netdev user,id=eth0 -device virtio-net-device,netdev=eth0
	"$@"
	END
}

# sdcard.img: the kernel and the board's extlinux.conf on a vfat boot
# partition, then rootfs.ext4. Buildroot's genimage.sh takes its inputs
# from, and writes to, the images directory.
gen_sdcard_img() {
    local binaries_dir="$1"
    local arch="$2"

    cp "${BOARD_COMMON_DIR}/../qemu-${arch}-virt/extlinux.conf" \
        "${binaries_dir}/extlinux.conf"
    BINARIES_DIR="${binaries_dir}" support/scripts/genimage.sh \
        -c "${BOARD_COMMON_DIR}/genimage.cfg"
}

# start-qemu.sh: extra arguments are given to QEMU.
gen_start_qemu() {
    local binaries_dir="$1"
    local arch="$2"

    qemu_cmd_line "${arch}" | sed -e '1s/^/exec /' -e '$!s/$/ \\/' -e '2,$s/^/    /' |
        "${BOARD_COMMON_DIR}/write-start-qemu.sh" "${binaries_dir}"
}

main() {
    local binaries_dir="$1"
    local arch

    arch="$(config_arch)"
    gen_sdcard_img "${binaries_dir}" "${arch}"
    gen_start_qemu "${binaries_dir}" "${arch}"
}

main "$@"
