#!/usr/bin/env bash
#
# Post-image script of rustsample_raspberrypi4_64_defconfig, called by
# Buildroot from its top directory: writes sdcard.img from genimage.cfg
# with Buildroot's genimage wrapper, which also writes sdcard.img.bmap
# (BR2_PACKAGE_HOST_BMAP_TOOLS). The Pi 5's command line is not one the
# rpi-firmware package installs, so it is copied here. Then start-qemu.sh,
# which boots the card in QEMU's Raspberry Pi 4 B (raspi4b).

set -euo pipefail

# QEMU runs no boot firmware: it loads the kernel and the device tree
# itself, with the command line of cmdline.txt. A copy of the device tree
# leaves out what QEMU does not model:
# - the HDMI block (the 0x7ef0xxxx nodes: its interrupt controller and
#   DDC buses fault at probe);
# - the SD card's regulators, whose GPIOs are on the firmware's expander:
#   without them the SD host never probes and root never appears;
# - the Bluetooth on the PL011, so that it is a tty again.
# The console moves from the mini UART (its interrupt never clears in
# QEMU, and CPU 0 stalls as soon as it opens) to the PL011, ttyAMA0, the
# first serial port. An SD card's size must be a power of two: writes go
# to a 1 GiB overlay, sdcard.img stays as built.
gen_start_qemu() {
    "$(dirname "$0")/../common/write-start-qemu.sh" "$1" <<-'END'
	for tool in fdtget fdtput qemu-img qemu-system-aarch64; do
	    command -v "$tool" >/dev/null && continue
	    echo "start-qemu.sh: $tool not found (apt-get install device-tree-compiler qemu-utils qemu-system-arm)" >&2
	    exit 1
	done
	cp bcm2711-rpi-4-b.dtb qemu-raspi4b.dtb
	for node in $(fdtget -l qemu-raspi4b.dtb /soc | grep '@7ef0'); do
	    fdtput -t s qemu-raspi4b.dtb "/soc/$node" status disabled
	done
	fdtput -d qemu-raspi4b.dtb /emmc2bus/mmc@7e340000 vqmmc-supply
	fdtput -d qemu-raspi4b.dtb /emmc2bus/mmc@7e340000 vmmc-supply
	fdtput -r qemu-raspi4b.dtb /soc/serial@7e201000/bluetooth
	qemu-img create -q -f qcow2 -F raw -b sdcard.img qemu-sdcard.qcow2 1G
	exec qemu-system-aarch64 -M raspi4b -display none -serial mon:stdio \
	    -kernel Image.gz -dtb qemu-raspi4b.dtb \
	    -append "$(sed s/ttyS1/ttyAMA0/ rpi-firmware/cmdline.txt)" \
	    -drive file=qemu-sdcard.qcow2,if=none,format=qcow2,id=sdcard \
	    -device sd-card,drive=sdcard,bus=/generic-sdhci/sd-bus \
	    "$@"
	END
}

install -m 0644 "$(dirname "$0")/cmdline-pi5.txt" "${BINARIES_DIR}/cmdline-pi5.txt"

support/scripts/genimage.sh -c "$(dirname "$0")/genimage.cfg"

gen_start_qemu "${BINARIES_DIR}"
