#!/usr/bin/env bash
#
# Post-image script of rustsample_raspberrypi4_64_defconfig, called by
# Buildroot from its top directory: writes sdcard.img from genimage.cfg
# with Buildroot's genimage wrapper, which also writes sdcard.img.bmap
# (BR2_PACKAGE_HOST_BMAP_TOOLS).

set -euo pipefail

support/scripts/genimage.sh -c "$(dirname "$0")/genimage.cfg"
