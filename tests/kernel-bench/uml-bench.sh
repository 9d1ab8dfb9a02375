#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The host-CPU benchmark (docs/benchmark.md): User-mode Linux runs the
# kernel's code natively, so rust_sample, c_reference and urandom are
# compared on the host CPU with devcheck (read(2)) and read_bench (the
# driver alone), side by side in one boot.
#
#   tests/kernel-bench/uml-bench.sh [LINUX_SOURCE_TREE]
#
# Uses what `./rustsample-qemu test --only "x86_64 7.3 initramfs"` leaves
# in the cache: Debian's Linux 7.3 source, the toolchain, a static x86_64
# busybox and devcheck. Builds into $RUSTSAMPLE_CACHE/uml-bench.
set -eu

repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${RUSTSAMPLE_CACHE:-/var/cache/rustsample}
src=${1:-$cache/src/linux-source-7.3}
out=$cache/uml-bench
busybox=$cache/busybox/amd64/bin/busybox
devcheck=$cache/guest/image-x86_64-7.3/devcheck
bindgen=$HOME/.cargo/bin/bindgen

die() { echo "uml-bench: $*" >&2; exit 1; }
need() { [ -e "$1" ] || die "$1 is missing: $2"; }

[ "$(uname -m)" = x86_64 ] || die "User-mode Linux runs here only on an x86_64 host"
need "$src/Makefile" "give a Linux source tree, or run ./rustsample-qemu test first"
need "$busybox" "run ./rustsample-qemu test --only \"x86_64 7.3 initramfs\" first"
need "$devcheck" "run ./rustsample-qemu test --only \"x86_64 7.3 initramfs\" first"
need /usr/bin/rustc "Debian's rustc-web and rust-web-src; ./rustsample-qemu test installs them"
need /usr/lib/rustlib/src/rust/library "Debian's rust-web-src; ./rustsample-qemu test installs it"
need "$bindgen" "cargo install --locked bindgen-cli"
need /usr/lib/llvm-19/bin/clang "Debian's clang-19 lld-19 llvm-19; ./rustsample-qemu test installs them"

export PATH=/usr/lib/llvm-19/bin:$PATH
make=(make -C "$src" O="$out/linux" ARCH=um LLVM=1 RUSTC=/usr/bin/rustc
      HOSTRUSTC=/usr/bin/rustc BINDGEN="$bindgen"
      RUST_LIB_SRC=/usr/lib/rustlib/src/rust/library)

mkdir -p "$out/linux"
if [ ! -f "$out/linux/.config" ]; then
	"${make[@]}" defconfig >/dev/null
	# Modules, as the firmware ships rust_sample; no module versions, so
	# that out-of-tree modules load without Module.symvers CRCs.
	"$src/scripts/config" --file "$out/linux/.config" -d MODVERSIONS -e RUST \
		-e BLK_DEV_INITRD -e RD_GZIP -e DEVTMPFS -e DEVTMPFS_MOUNT
fi
# UML's defconfig optimises for size, which builds Rust at opt-level=s: small
# kernel-crate functions (Kiocb::as_raw(), KVec::with_capacity(), ...) stay
# calls there, where the -O2 of every other kernel (arm64, riscv64, x86_64,
# Debian's, Buildroot's, Yocto's) inlines them. Measure the code users run.
"$src/scripts/config" --file "$out/linux/.config" \
	-e CC_OPTIMIZE_FOR_PERFORMANCE -d CC_OPTIMIZE_FOR_SIZE
"${make[@]}" olddefconfig >/dev/null
grep -q '^CONFIG_CC_OPTIMIZE_FOR_PERFORMANCE=y' "$out/linux/.config" ||
	die "CONFIG_CC_OPTIMIZE_FOR_PERFORMANCE=y did not survive olddefconfig"
grep -q '^CONFIG_RUST=y' "$out/linux/.config" ||
	die "CONFIG_RUST=y did not survive olddefconfig: see '${make[*]} rustavailable'"
echo "uml-bench: building User-mode Linux in $out/linux" >&2
"${make[@]}" -j"$(nproc)" linux modules_prepare >"$out/build.log" 2>&1 ||
	die "the kernel build failed: see $out/build.log"

root=$out/root
rm -rf "$root" "$out/module" "$out/kernel-bench"
mkdir -p "$root/bin" "$root/proc" "$root/dev"
for dir in module tests/kernel-bench; do
	cp -r "$repo/$dir" "$out/"
	"${make[@]}" M="$out/$(basename "$dir")" KBUILD_MODPOST_WARN=1 modules \
		>>"$out/build.log" 2>&1 || die "building $dir failed: see $out/build.log"
	cp "$out/$(basename "$dir")"/*.ko "$root/"
done

cp "$busybox" "$devcheck" "$root/bin/"
for applet in sh mount insmod poweroff; do
	ln -s busybox "$root/bin/$applet"
done
# read_bench refuses to stay loaded (-EAGAIN) once it has measured; busybox
# insmod then retries through the other system call, so each line runs twice.
cat >"$root/init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t devtmpfs dev /dev
insmod /rust_sample.ko
insmod /c_reference.ko
devcheck bench /dev/rust-sample /dev/urandom
devcheck bench /dev/c-reference /dev/urandom
insmod /read_bench.ko
insmod /read_bench.ko dev=/dev/urandom ref=/dev/rust-sample
insmod /read_bench.ko ref=/dev/c-reference
insmod /read_bench.ko dev=/dev/c-reference
insmod /read_bench.ko dev=/dev/urandom ref=/dev/urandom
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip) >"$out/initramfs.cpio.gz"

echo "uml-bench: booting; the runs take about four minutes" >&2
"$out/linux/linux" mem=512M initrd="$out/initramfs.cpio.gz" con0=fd:0,fd:1 \
	con=null rdinit=/init </dev/null 2>&1 | tee "$out/boot.log" |
	grep -E 'BENCH|read_bench:' | sed 's/^read_bench: //'
grep -q 'read_bench: read=1048576 /dev/urandom=.* /dev/urandom=' "$out/boot.log" ||
	die "the benchmark did not finish: see $out/boot.log"
