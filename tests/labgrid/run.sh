#!/usr/bin/env bash
# The labgrid tests (tests/labgrid/) on the offline loop's QEMU images.
#
#   tests/labgrid/run.sh                  arm64 and riscv64, QEMU started by labgrid
#   tests/labgrid/run.sh --remote         the same through a loopback lab: a labgrid
#                                         coordinator, an exporter and two QEMU boards
#                                         (serial console on TCP, network power switch),
#                                         all on 127.0.0.1, the tests in a client that
#                                         acquires each board's place
#   tests/labgrid/run.sh --all            both (--local: the first; options add up)
#   tests/labgrid/run.sh --check-envs     load the lab board environments (Raspberry Pi
#                                         4 and 5, VisionFive 2) against a loopback
#                                         coordinator and exporter, without hardware
#   tests/labgrid/run.sh --board rpi4     a board in a real lab (rpi4, rpi5, visionfive2):
#                                         acquires its place on the coordinator
#                                         LG_COORDINATOR (host:port), writes the card,
#                                         runs the tests, releases the place (docs/lab.md)
#   --arch arm64|riscv64                  one architecture only (repeatable)
#   --cache-images                        the Linux 7.3 images in the cache, even where
#                                         output/<arch>/ has some (for `./rustsample-qemu test`)
#   -- ARGS                               passed to pytest (e.g. -k bench, -x)
#
# Images: output/<arch>/sdcard.img and u-boot.bin as `./rustsample-qemu run
# --arch <arch>` writes them, else the last ones `./rustsample-qemu test` or
# `run` built in the cache (Linux 7.3). They are copied to
# output/labgrid/<local|remote>-<arch>.images/ first: the tests write to the
# card. Results: output/labgrid/<local|remote>-<arch>.xml or board-<board>.xml
# (JUnit, with the benchmark figures as properties), the console logs next
# to them (<...>.log/).
#
# labgrid and pytest (tests/labgrid/requirements.txt) are installed into
# $RUSTSAMPLE_CACHE/labgrid-venv (default /var/cache/rustsample) the first time.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
cache="${RUSTSAMPLE_CACHE:-/var/cache/rustsample}"
venv="$cache/labgrid-venv"
out="$top/output/labgrid"
series=7.3

die() { echo "lab: error: $*" >&2; exit 1; }

local_run='' remote_run='' check_envs='' board='' cache_images='' arches=() pytest_args=()
while [ $# -gt 0 ]; do
    case $1 in
    --local) local_run=1 ;;
    --remote) remote_run=1 ;;
    --all) local_run=1 remote_run=1 ;;
    --check-envs) check_envs=1 ;;
    --cache-images) cache_images=1 ;;
    --board)
        [ $# -ge 2 ] || die "--board needs rpi4, rpi5 or visionfive2"
        [ -f "$here/env/$2.yaml" ] || die "--board: no environment tests/labgrid/env/$2.yaml (rpi4, rpi5, visionfive2)"
        board=$2
        shift ;;
    --arch)
        [ $# -ge 2 ] || die "--arch needs arm64 or riscv64"
        case $2 in arm64 | riscv64) arches+=("$2") ;; *) die "--arch: arm64 or riscv64, not '$2'" ;; esac
        shift ;;
    --) shift; pytest_args=("$@"); break ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
    shift
done
[ ${#arches[@]} -gt 0 ] || arches=(arm64 riscv64)
# Without a choice: QEMU started by labgrid.
[ -n "$local_run$remote_run$check_envs$board" ] || local_run=1

# ---- labgrid, pinned, in a venv in the cache ---------------------------------
want=$(grep -v '^#' "$here/requirements.txt" | xargs)
if [ "$(cat "$venv/.pinned" 2>/dev/null)" != "$want" ]; then
    echo "lab: installing $want into $venv"
    command -v python3 >/dev/null || die "python3 is missing (Debian: apt-get install python3-venv)"
    rm -rf "$venv"
    mkdir -p "$cache"
    python3 -m venv "$venv" || die "cannot make a venv (Debian: apt-get install python3-venv)"
    # shellcheck disable=SC2086
    "$venv/bin/pip" install --quiet --disable-pip-version-check $want ||
        die "cannot install $want from PyPI into $venv"
    echo "$want" > "$venv/.pinned"
fi
[ -x "$venv/bin/labgrid-client" ] || die "labgrid is missing from $venv: remove $venv/.pinned and run again"
export PYTHONDONTWRITEBYTECODE=1

# ---- images ------------------------------------------------------------------
u_boot_of() { case $1 in arm64) echo qemu_arm64/u-boot.bin ;; riscv64) echo qemu-riscv64_smode/u-boot.bin ;; esac; }
qemu_of() { case $1 in arm64) echo qemu-system-aarch64 ;; riscv64) echo qemu-system-riscv64 ;; esac; }
OPENSBI=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin

# Copies the image and U-Boot of $1 to $2.
stage_images() {
    local arch=$1 dest=$2 img ub
    if [ -z "$cache_images" ] && [ -f "$top/output/$arch/sdcard.img" ] && [ -f "$top/output/$arch/u-boot.bin" ]; then
        img=$top/output/$arch/sdcard.img ub=$top/output/$arch/u-boot.bin
    else
        img=$cache/guest/image-$arch-$series/image/images/sdcard.img
        ub=$cache/u-boot/usr/lib/u-boot/$(u_boot_of "$arch")
    fi
    local also=", nor in output/$arch/"
    [ -z "$cache_images" ] || also=''
    [ -f "$img" ] || die "no sdcard.img for $arch ($img$also): run ./rustsample-qemu run --arch $arch first"
    [ -f "$ub" ] || die "no U-Boot for $arch ($ub): run ./rustsample-qemu run --arch $arch first"
    command -v "$(qemu_of "$arch")" >/dev/null || die "$(qemu_of "$arch") is missing: run ./rustsample-qemu setup"
    if [ "$arch" = riscv64 ] && [ ! -f "$OPENSBI" ]; then
        die "$OPENSBI is missing (Debian package opensbi): run ./rustsample-qemu setup"
    fi
    mkdir -p "$dest"
    cp "$img" "$dest/sdcard.img"
    cp "$ub" "$dest/u-boot.bin"
    echo "lab: $arch: $img ($(date -u -r "$img" '+%F %H:%M UTC'))"
}

# The QEMU command line of tools/rustsample-qemu/src/qemu.rs for sdcard.img
# through U-Boot (Media::Disk), for images in $2.
qemu_cmd() {
    local arch=$1 dir=$2
    case $arch in
    arm64) echo qemu-system-aarch64 -M virt -cpu cortex-a57 -bios "$dir/u-boot.bin" ;;
    riscv64) echo qemu-system-riscv64 -M virt -bios "$OPENSBI" -kernel "$dir/u-boot.bin" ;;
    esac
    echo -smp 2 -m 1024 -nic none -device virtio-rng-device \
        -drive "file=$dir/sdcard.img,if=none,format=raw,id=hd0" -device virtio-blk-device,drive=hd0
}

results=()
failed=0
run_pytest() {
    local what=$1 arch=$2 env=$3 start rc=0 secs
    shift 3
    rm -rf "$out/$what-$arch.log" "$out/$what-$arch.xml"
    start=$(date +%s)
    echo "==> labgrid tests, $what, $arch ($(basename "$env"))"
    (cd "$here" && "$@" "$venv/bin/pytest" --lg-env "$env" --lg-log "$out/$what-$arch.log" \
        --junitxml="$out/$what-$arch.xml" -o junit_suite_name="rustsample-$what-$arch" \
        -v "${pytest_args[@]}") || rc=$?
    secs=$(($(date +%s) - start))
    results+=("$what $arch: $(summary "$out/$what-$arch.xml") in ${secs}s (exit $rc)")
    [ "$rc" -eq 0 ] || failed=1
}

summary() {
    python3 - "$1" <<'EOF'
import sys, xml.etree.ElementTree as ET
try:
    s = ET.parse(sys.argv[1]).getroot()
    s = s if s.tag == "testsuite" else s.find("testsuite")
    t, f, e, k = (int(s.get(x, 0)) for x in ("tests", "failures", "errors", "skipped"))
    print(f"{t - f - e - k} passed, {f + e} failed, {k} skipped")
except Exception as exc:
    print(f"no report ({exc})")
EOF
}

# ---- the loopback lab --------------------------------------------------------
pids=()
cleanup() {
    local i pid
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        pid=${pids[i]}
        kill -TERM "$pid" 2>/dev/null || continue
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    pids=()
}
release_board=''
trap '[ -z "$release_board" ] || lgc -p "$board" release; cleanup' EXIT
trap 'exit 130' INT TERM

free_ports() {
    python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

wait_port() {
    for _ in $(seq 100); do
        python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$1" \
            2>/dev/null && return 0
        sleep 0.1
    done
    die "nothing answers on 127.0.0.1:$1 ($2); see $3"
}

# Fails unless every TCP listener of the processes started here is on the loopback.
check_loopback_only() {
    local pid all=() p
    for pid in "${pids[@]}"; do
        all+=("$pid")
        for p in $(pgrep -P "$pid" || true); do all+=("$p"); done
    done
    local re; re=$(printf 'pid=%s,|' "${all[@]}"); re=${re%|}
    local listeners; listeners=$(ss -Hltnp | grep -E "$re" || true)
    echo "lab: listening:"
    echo "$listeners" | awk '{print "lab:   " $4}'
    if echo "$listeners" | awk '{print $4}' | grep -qvE '^(127\.0\.0\.1|\[::ffff:127\.0\.0\.1\]|\[::1\]):[0-9]+$'; then
        die "a process of the loopback lab listens beyond 127.0.0.1"
    fi
}

# Starts the coordinator; sets $lab and $coord.
start_coordinator() {
    local cport
    lab=$out/lab
    rm -rf "$lab" && mkdir -p "$lab/coordinator"
    read -r cport <<<"$(free_ports 1)"
    coord=127.0.0.1:$cport
    # The coordinator keeps its state (places.yaml) in its working directory.
    (cd "$lab/coordinator" && exec "$venv/bin/labgrid-coordinator" -l "$coord") \
        >"$lab/coordinator.log" 2>&1 &
    pids+=($!)
    wait_port "$cport" coordinator "$lab/coordinator.log"
    echo "lab: coordinator on $coord"
}

# Starts an exporter named "loopback" with the resource configuration $1.
start_exporter() {
    "$venv/bin/labgrid-exporter" -c "$coord" -n loopback --hostname 127.0.0.1 "$1" \
        >"$lab/exporter.log" 2>&1 &
    pids+=($!)
}

lgc() { "$venv/bin/labgrid-client" -x "$coord" "$@"; }

# Waits until the exporter offers the resource group $1.
wait_group() {
    for _ in $(seq 100); do
        lgc resources 2>/dev/null | grep -q "^loopback/$1/" && return 0
        sleep 0.2
    done
    die "the exporter did not offer $1; see $lab/exporter.log"
}

# A place named $1 with the resources of the exporter's group $1.
make_place() {
    lgc -p "$1" create
    lgc -p "$1" add-match "loopback/$1/*"
}

remote() {
    local arch sport pport
    start_coordinator
    for arch in "${arches[@]}"; do
        stage_images "$arch" "$out/remote-$arch.images"
        read -r sport pport <<<"$(free_ports 2)"
        export "LG_LOOPBACK_${arch^^}_SERIAL=$sport" "LG_LOOPBACK_${arch^^}_POWER=$pport"
        # shellcheck disable=SC2046 # the command line is split on purpose
        python3 "$here/lab/qemu-board.py" --serial-port "$sport" --power-port "$pport" \
            --log "$out/remote-$arch.board-console.log" --lifetime 3600 \
            -- $(qemu_cmd "$arch" "$out/remote-$arch.images") >"$lab/board-$arch.log" 2>&1 &
        pids+=($!)
        wait_port "$sport" "the $arch board's serial console" "$lab/board-$arch.log"
        wait_port "$pport" "the $arch board's power switch" "$lab/board-$arch.log"
        echo "lab: $arch board: serial console 127.0.0.1:$sport, power http://127.0.0.1:$pport/power/0"
    done
    export LG_LOOPBACK_ARCHES="${arches[*]}"
    start_exporter "$here/lab/exporter-loopback.yaml"
    for arch in "${arches[@]}"; do
        wait_group "loopback-$arch"
        make_place "loopback-$arch"
    done
    check_loopback_only
    for arch in "${arches[@]}"; do
        lgc -p "loopback-$arch" acquire
        run_pytest remote "$arch" env/loopback.yaml env LG_PLACE="loopback-$arch" LG_COORDINATOR="$coord"
        lgc -p "loopback-$arch" release
    done
    cleanup
}

# The lab board environments against a loopback coordinator, whose exporter
# offers lab/exporter-boards.yaml (the example lab host) without hardware.
check_envs() {
    local board env boards=(rpi4 rpi5 visionfive2) envs=() rc=0 start
    start=$(date +%s)
    echo "==> lab board environments (${boards[*]}) against a loopback coordinator"
    start_coordinator
    start_exporter "$here/lab/exporter-boards.yaml"
    for board in "${boards[@]}"; do
        wait_group "$board"
        make_place "$board"
        lgc -p "$board" acquire
        envs+=("env/$board.yaml")
    done
    check_loopback_only
    # One process per file: each imports the strategy, which registers once.
    for env in "${envs[@]}"; do
        (cd "$here" && LG_COORDINATOR=$coord "$venv/bin/python" lab/check_envs.py "$env" |
            sed 's/^/    /'; exit "${PIPESTATUS[0]}") || rc=$?
    done
    for board in "${boards[@]}"; do lgc -p "$board" release; done
    cleanup
    results+=("board environments ${boards[*]}: $([ "$rc" -eq 0 ] && echo loaded || echo FAILED) in $(($(date +%s) - start))s")
    [ "$rc" -eq 0 ] || failed=1
}

# A board in a real lab: its place is named as the board (env/$board.yaml).
lab_board() {
    [ -n "${LG_COORDINATOR:-}" ] || die "--board needs the lab's coordinator: LG_COORDINATOR=host:port"
    coord=$LG_COORDINATOR
    lgc -p "$board" acquire || die "cannot acquire the place '$board' on $coord (labgrid-client -x $coord places)"
    release_board=1
    run_pytest board "$board" "env/$board.yaml" env
    lgc -p "$board" release
    release_board=''
}

local_qemu() {
    local arch
    for arch in "${arches[@]}"; do
        stage_images "$arch" "$out/local-$arch.images"
        run_pytest local "$arch" "env/qemu-$arch.yaml" env LG_IMAGES="$out/local-$arch.images"
    done
}

mkdir -p "$out"
[ -z "$local_run" ] || local_qemu
[ -z "$remote_run" ] || remote
[ -z "$check_envs" ] || check_envs
[ -z "$board" ] || lab_board
echo "==> labgrid tests"
for r in "${results[@]}"; do echo "    $r"; done
exit "$failed"
