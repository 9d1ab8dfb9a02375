#!/usr/bin/env bash
# Lint the Yocto layer meta-rustsample with oelint-adv.
#
# Installs a pinned oelint-adv into a venv outside the repository (cached
# between runs), lints every recipe, append, include, class and configuration
# file (conf/layer.conf) of the layer against each release in
# LAYERSERIES_COMPAT, checks that the shared Buildroot kernel fragment asks
# for nothing linux-yocto lacks, and notes a stale rust-sample SRCREV. Exits
# non-zero on any finding. Waivers: inline "# nooelint: <id> - reason"
# comments or meta-rustsample/.oelint.cfg, always with a reason.
set -euo pipefail

OELINT_ADV_VERSION=9.11.2
OELINT_PARSER_VERSION=8.13.2
OELINT_DATA_VERSION=1.5.26

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
layer="$top/meta-rustsample"
cache="${RUSTSAMPLE_CACHE:-/var/cache/rustsample}"
venv="$cache/venv-oelint"

want="oelint-adv==$OELINT_ADV_VERSION oelint-parser==$OELINT_PARSER_VERSION oelint-data==$OELINT_DATA_VERSION"
if [ "$(cat "$venv/.pinned" 2>/dev/null)" != "$want" ]; then
    echo "oelint: installing $want into $venv"
    rm -rf "$venv"
    mkdir -p "$cache"
    python3 -m venv "$venv"
    # shellcheck disable=SC2086
    "$venv/bin/pip" install --quiet --disable-pip-version-check $want
    echo "$want" > "$venv/.pinned"
fi

releases=$(sed -n 's/^LAYERSERIES_COMPAT_rustsample *= *"\(.*\)"/\1/p' "$layer/conf/layer.conf")
[ -n "$releases" ] || { echo "oelint: no LAYERSERIES_COMPAT_rustsample in layer.conf"; exit 1; }

mapfile -t files < <(cd "$layer" && find . -type f \( -name '*.bb' -o -name '*.bbappend' \
    -o -name '*.inc' -o -name '*.bbclass' -o -name '*.conf' \) -not -path './build*' | sort)
[ "${#files[@]}" -gt 0 ] || { echo "oelint: no recipes or configuration found in $layer"; exit 1; }

failed=0
for release in $releases; do
    echo "oelint: oelint-adv $OELINT_ADV_VERSION --release $release on ${#files[@]} files"
    # oelint-adv exits non-zero when it reports anything (info included).
    if ! (cd "$layer" && OELINT_CONFIG="$layer/.oelint.cfg" \
            "$venv/bin/oelint-adv" --release "$release" --quiet --nobackup "${files[@]}"); then
        echo "oelint: findings for $release"
        failed=1
    fi
done

# The layer adds no kernel options to linux-yocto: every option of the shared
# Buildroot fragment, less CONFIG_RUST_SAMPLE (the in-tree symbol; Yocto
# builds the module out of tree), must be one that linux-yocto already sets
# with "rust" in KERNEL_FEATURES (see "Kernel configuration" in
# meta-rustsample/README.md). A new option there needs the layer's attention.
linux_yocto_sets="CONFIG_MODULES=y CONFIG_MODULE_UNLOAD=y CONFIG_RUST=y"
shared="$top/board/common/linux-rustsample.fragment"
if [ -f "$shared" ]; then
    norm() { grep -E '^(CONFIG_[A-Za-z0-9_]+=|# CONFIG_[A-Za-z0-9_]+ is not set)' "$1" | sed 's/[[:space:]]*$//' | sort -u; }
    if ! diff -u <(norm "$shared" | grep -v '^CONFIG_RUST_SAMPLE=') <(printf '%s\n' $linux_yocto_sets | sort -u); then
        echo "oelint: $shared (minus CONFIG_RUST_SAMPLE) is not what meta-rustsample expects linux-yocto to set"
        failed=1
    fi
else
    echo "oelint: $shared missing, kernel options not checked"
    failed=1
fi

# rust-sample builds module/ at its SRCREV: report when module/ or the udev
# rule changed since (a reminder to bump it; not an error, the recipe builds).
recipe="$layer/recipes-kernel/rust-sample/rust-sample_git.bb"
srcrev=$(sed -n 's/^SRCREV = "\([0-9a-f]*\)"/\1/p' "$recipe")
if [ -z "$srcrev" ]; then
    echo "oelint: no SRCREV in $recipe"
    failed=1
elif git -C "$top" cat-file -e "$srcrev^{commit}" 2>/dev/null; then
    changed=$(git -C "$top" diff --name-only "$srcrev" HEAD -- module package/rustsample/50-rust-sample.rules)
    if [ -n "$changed" ]; then
        echo "oelint: note: changed since rust-sample's SRCREV $srcrev, bump it:" $changed
    fi
else
    echo "oelint: note: rust-sample's SRCREV $srcrev is not in this clone, not compared"
fi

if [ "$failed" -ne 0 ]; then
    echo "oelint: FAILED"
    exit 1
fi
echo "oelint: clean"
