#!/bin/bash
# Build one of this tree's defconfigs with a Buildroot checkout on a
# machine that reaches no download site, and run its runtime test.
#
# offline-sources.py assembles the sources (Debian's archive, PyPI, local
# git trees); then, for a QEMU defconfig, Buildroot's run-tests builds and
# boots the image of test_rustsample.py (the defconfig plus the in-guest
# suite) and runs the suite, and boot-start-qemu.py boots it once more
# with its start-qemu.sh; for a board defconfig, make builds its images.
# Both run at low priority, in the background unless --foreground, with
# their logs in the output directory. Running it again
# continues where the last run stopped (run-tests -k and Buildroot's
# stamps).
set -eu

usage() {
	cat <<EOF
usage: $0 --buildroot DIR [options]
  --buildroot DIR       a Buildroot checkout (nothing is written into it)
  --defconfig NAME      a defconfig of configs/ (default: rustsample_defconfig)
  --rust-toolchain T    the kernel's Rust toolchain: 'buildroot' (host-rustc,
                        host-llvm...; the default) or 'host' (the build
                        machine's rustc, bindgen and LLVM)
  --git PKG=REPO@REF    take PKG's source from a git repository (repeatable)
  --tarball PKG=FILE    take PKG's source from a local tarball (repeatable)
  --patch PKG=FILE      apply FILE (patch -p1) to PKG's overridden tree (repeatable)
  --without-host-qemu   do not build host-qemu (start-qemu.sh and run-tests
                        then boot with the system's QEMU)
  --sources-only        assemble the sources and stop
  --foreground          wait for the build and the test
Output, downloads and sources: \${RUSTSAMPLE_CACHE:-/var/cache/rustsample}/buildroot.
On two cores with --rust-toolchain host, a first build took 1 to 3 hours
(docs/buildroot.md); running the same command again continues it.
EOF
	exit 2
}

here=$(cd "$(dirname "$0")" && pwd)
tree=$(cd "$here/../.." && pwd)
buildroot='' defconfig=rustsample_defconfig toolchain=buildroot foreground='' git=() host_qemu=y
sources_only=
while [ $# -gt 0 ]; do
	case $1 in
	--buildroot) buildroot=$(cd "$2" && pwd); shift 2 ;;
	--defconfig) defconfig=$2; shift 2 ;;
	--rust-toolchain) toolchain=$2; shift 2 ;;
	--git) git+=(--git "$2"); shift 2 ;;
	--tarball) git+=(--tarball "$2"); shift 2 ;;
	--patch) git+=(--patch "$2"); shift 2 ;;
	--without-host-qemu) host_qemu=; shift ;;
	--foreground) foreground=1; shift ;;
	--sources-only) sources_only=1; shift ;;
	*) usage ;;
	esac
done
[ -n "$buildroot" ] && [ -f "$buildroot/support/testing/run-tests" ] || usage
[ -f "$tree/configs/$defconfig" ] || { echo "no configs/$defconfig" >&2; exit 2; }
case $toolchain in host | buildroot) ;; *) usage ;; esac
# Buildroot's host requirements (its manual's "System requirements"),
# cmake and flex (recent enough, Buildroot then builds no host-cmake or
# host-flex), and lzip, git and autoreconf for offline-sources.py.
missing=
for tool in make gcc g++ patch rsync bc cpio unzip file wget perl python3 cmake flex bison \
	lzip git autoreconf automake libtoolize pkg-config autopoint makeinfo; do
	command -v $tool >/dev/null || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "missing:$missing (apt-get install$missing)" >&2
		exit 1
	fi
	missing=$(echo "$missing" | sed 's/autoreconf/autoconf/; s/libtoolize/libtool/; s/makeinfo/texinfo/')
	# shellcheck disable=SC2086 # one word per package
	apt-get install -y -q $missing python3-venv >/dev/null
fi

cache=${RUSTSAMPLE_CACHE:-/var/cache/rustsample}/buildroot
work=$cache/work
base=$cache/$toolchain
mkdir -p "$work" "$base"

# What this machine adds to every configuration: the kernel's Rust
# toolchain. The sources are in BR2_DL_DIR and in the output directory's
# local.mk (offline-sources.py).
machine=$base/machine.config
{
	[ -n "$host_qemu" ] || echo "# BR2_PACKAGE_HOST_QEMU is not set"
	if [ "$toolchain" = host ]; then
		# Debian's rustc-web has the library sources; rustup's rustc may not.
		rustc=rustc
		[ -x /usr/bin/rustc ] && rustc=/usr/bin/rustc
		llvm=1
		for v in 22 21 20 19; do
			if [ -x /usr/lib/llvm-$v/bin/clang ]; then llvm=/usr/lib/llvm-$v/bin/; break; fi
		done
		# cargo install puts bindgen in root's home, which the build
		# user cannot enter (see below): a copy.
		bindgen=$(command -v bindgen || true)
		if [ "$(id -u)" = 0 ] && [ -n "$bindgen" ]; then
			install -D -m 0755 "$bindgen" "$cache/bin/bindgen"
			echo "BR2_LINUX_KERNEL_RUST_HOST_BINDGEN=\"$cache/bin/bindgen\""
		fi
		echo "BR2_LINUX_KERNEL_RUST_TOOLCHAIN_HOST=y"
		echo "BR2_LINUX_KERNEL_RUST_HOST_RUSTC=\"$rustc\""
		echo "BR2_LINUX_KERNEL_RUST_HOST_LLVM=\"$llvm\""
	fi
} >"$machine"

case $defconfig in
rustsample_defconfig) test=TestRustSampleAarch64 ;;
rustsample_riscv64_defconfig) test=TestRustSampleRiscv64 ;;
rustsample_x86_64_defconfig) test=TestRustSampleX86_64 ;;
*) test= ;;
esac

# run-tests' own Python modules, in a virtual environment of the cache.
# The system's Python: the build user must be able to run it.
venv=$cache/venv
if [ ! -x "$venv/bin/nose2" ]; then
	"$(command -v /usr/bin/python3 || command -v python3)" -m venv "$venv"
	"$venv/bin/pip" install -q nose2 pexpect
fi
export PYTHONPATH="$tree/support/testing/tests:$buildroot/support/testing"
export RUSTSAMPLE_BR2_CONFIG=$machine

# The configuration that will be built: the runtime test's, or the
# defconfig's; configured here first so that the sources can be listed.
out=$base/${test:-$defconfig}
mkdir -p "$out"
if [ -n "$test" ]; then
	"$venv/bin/python3" -c "import test_rustsample as t; print(t.$test.config)" >"$out/.config"
else
	"$venv/bin/python3" -c "import test_rustsample as t; print(t.merge(open('$tree/configs/$defconfig').read(), t.machine_config()))" >"$out/.config"
fi
echo "BR2_DL_DIR=\"$work/dl\"" >>"$out/.config"
make -s -C "$buildroot" BR2_EXTERNAL="$tree" O="$out" olddefconfig

# Without some source the build still goes as far as it can, and a
# later run, with that source, continues.
# A --patch that cannot be applied stops here (status 3).
status=0
"$venv/bin/python3" "$here/offline-sources.py" --buildroot "$buildroot" \
	--output "$out" --work "$work" "${git[@]}" >"$out/provenance.md" || status=$?
case $status in
0) ;;
3) exit 1 ;;
*) echo "Some sources are missing: Buildroot stops at the first package without one." >&2 ;;
esac
echo "Sources: $out/provenance.md"
[ -z "$sources_only" ] || exit 0

# Some packages' configure scripts refuse to run as root (tar, coreutils):
# root builds as an ordinary user, who owns the output.
as_builder=()
if [ "$(id -u)" = 0 ]; then
	id rustsample-build >/dev/null 2>&1 ||
		useradd --system --no-create-home --home-dir "$cache" rustsample-build
	chown -R rustsample-build: "$cache"
	as_builder=(runuser -u rustsample-build -- env HOME="$cache" PATH="$PATH"
		PYTHONPATH="$PYTHONPATH" RUSTSAMPLE_BR2_CONFIG="$RUSTSAMPLE_BR2_CONFIG")
fi

build() {
	echo "start $(date -u +%FT%TZ) buildroot $(git -c safe.directory="*" -C "$buildroot" rev-parse --short HEAD 2>/dev/null)" >>"$out/times"
	if [ -n "$test" ]; then
		set -- nice -n 19 "${as_builder[@]}" "$venv/bin/python3" \
			"$buildroot/support/testing/run-tests" -k -d "$work/dl" -o "$base" \
			"test_rustsample.$test"
		log=$out/run-tests.log
	else
		set -- nice -n 19 "${as_builder[@]}" make -C "$buildroot" BR2_EXTERNAL="$tree" O="$out"
		log=$out/build.log
	fi
	if "$@" >>"$log" 2>&1; then
		echo "done $(date -u +%FT%TZ)" >>"$out/times"
	else
		echo "failed $(date -u +%FT%TZ)" >>"$out/times"
		return 1
	fi
	# Then as a user boots it: the start-qemu.sh of the images.
	[ -n "$test" ] || return 0
	if "${as_builder[@]}" "$venv/bin/python3" "$here/boot-start-qemu.py" "$out/images" \
		>"$out/start-qemu.log" 2>&1; then
		echo "start-qemu.sh passed $(date -u +%FT%TZ)" >>"$out/times"
	else
		echo "start-qemu.sh failed $(date -u +%FT%TZ)" >>"$out/times"
		return 1
	fi
}

if [ -n "$foreground" ]; then
	build
else
	build </dev/null >/dev/null 2>&1 &
	echo "Building in the background (pid $!); logs: $out/times, $out/*.log"
fi
