#!/usr/bin/env bash
#
# Post-image script of rustsample_raspberrypi4_64_defconfig, called by
# Buildroot from its top directory: writes sdcard.img from genimage.cfg
# with Buildroot's genimage wrapper, which also writes sdcard.img.bmap
# (BR2_PACKAGE_HOST_BMAP_TOOLS). The Pi 5's command line is not one the
# rpi-firmware package installs, so it is copied here.

set -euo pipefail

install -m 0644 "$(dirname "$0")/cmdline-pi5.txt" "${BINARIES_DIR}/cmdline-pi5.txt"

support/scripts/genimage.sh -c "$(dirname "$0")/genimage.cfg"
