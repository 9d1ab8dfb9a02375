#!/usr/bin/env bash
# Lint the Yocto layer meta-rustsample with oelint-adv.
#
# Installs a pinned oelint-adv into a venv outside the repository (cached
# between runs), lints every recipe, append, include and class of the layer
# against each release in LAYERSERIES_COMPAT, and checks that the layer's
# kernel fragment agrees with the shared Buildroot one. Exits non-zero on
# any finding. Waivers: inline "# nooelint: <id> - reason" comments or
# meta-rustsample/.oelint.cfg, always with a reason.
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
    -o -name '*.inc' -o -name '*.bbclass' \) -not -path './build*' | sort)
[ "${#files[@]}" -gt 0 ] || { echo "oelint: no recipes found in $layer"; exit 1; }

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

# The layer's kernel fragment must be the shared Buildroot fragment minus
# CONFIG_RUST_SAMPLE (the in-tree symbol; Yocto builds the module out of tree).
shared="$top/board/common/linux-rustsample.fragment"
local_cfg="$layer/recipes-kernel/linux/linux-yocto/rustsample.cfg"
if [ -f "$shared" ]; then
    norm() { grep -E '^(CONFIG_[A-Za-z0-9_]+=|# CONFIG_[A-Za-z0-9_]+ is not set)' "$1" | sed 's/[[:space:]]*$//' | sort -u; }
    if ! diff -u <(norm "$shared" | grep -v '^CONFIG_RUST_SAMPLE=') <(norm "$local_cfg"); then
        echo "oelint: $local_cfg does not match $shared (minus CONFIG_RUST_SAMPLE)"
        failed=1
    fi
else
    echo "oelint: $shared missing, fragment consistency not checked"
    failed=1
fi

if [ "$failed" -ne 0 ]; then
    echo "oelint: FAILED"
    exit 1
fi
echo "oelint: clean"
