#!/usr/bin/env bash
# Download, here (where the package index works), the wheels that benchmarks/gpu/run.sh
# installs on a GPU machine that has no package index.
#
#   benchmarks/gpu/fetch_wheels.sh            # into benchmarks/gpu/wheels/ (git-ignored)
#
# The lists are requirements.txt (needed), requirements-plot.txt (the plot; optional on the
# machine) and requirements-bootstrap.txt (pip, only for a Python without it). For each
# requirement a pure-Python wheel is taken where one exists, else one binary wheel per
# Python version in PYTHON_VERSIONS (the target's version is unknown; brian2 2.10.1 needs
# >= 3.12, so cp311 is pointless) for Linux x86_64 with glibc >= 2.28 (manylinux tags up to
# 2_28; pip does not widen a --platform tag by itself, so they are all listed). The folder must stay under MAX_MB: it travels with the checkout.
#
# Environment: PYTHON_VERSIONS (default "3.12 3.13"), PLATFORMS, WHEELS (folder), MAX_MB (default 60),
# PIP (the pip command; default: the checkout's .venv, else python3 -m pip).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WHEELS=${WHEELS:-$HERE/wheels}
PYTHON_VERSIONS=${PYTHON_VERSIONS:-"3.12 3.13"}
MAX_MB=${MAX_MB:-60}
PLATFORMS=${PLATFORMS:-"manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64"}
platform_args=()
for p in $PLATFORMS; do platform_args+=(--platform "$p"); done
if [[ -z "${PIP:-}" ]]; then
    if [[ -x "$REPO/.venv/bin/python" ]]; then PIP="$REPO/.venv/bin/python -m pip"; else PIP="python3 -m pip"; fi
fi
read -r -a PIP_CMD <<< "$PIP"

# The requirement lines of a list: comments and blank lines dropped.
requirements() { sed -e 's/#.*//' -e 's/[[:space:]]*$//' "$1" | grep -v '^$' || true; }

rm -rf "$WHEELS"
mkdir -p "$WHEELS"
download() {  # download <requirement> <pip options...>; quiet, with pip's last line on failure
    local req=$1; shift
    local log
    if ! log=$("${PIP_CMD[@]}" download --disable-pip-version-check --no-deps --only-binary=:all: \
               --dest "$WHEELS" "$@" "$req" 2>&1); then
        echo "$log" | tail -n 3 >&2
        return 1
    fi
}

for list in requirements.txt requirements-plot.txt requirements-bootstrap.txt; do
    while read -r req; do
        # a pure-Python wheel serves every Python version
        if download "$req" --platform any --python-version "${PYTHON_VERSIONS%% *}" 2>/dev/null; then
            echo "pure    $req"
            continue
        fi
        for py in $PYTHON_VERSIONS; do
            if ! download "$req" "${platform_args[@]}" --implementation cp --python-version "$py"; then
                echo "fetch_wheels: no wheel of '$req' for CPython $py on $PLATFORMS" >&2
                exit 1
            fi
        done
        echo "binary  $req (CPython $PYTHON_VERSIONS)"
    done < <(requirements "$HERE/$list")
done

# A manifest (name, bytes, sha256), and the size limit.
(cd "$WHEELS" && for f in *.whl; do printf '%s %s %s\n' "$f" "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -d' ' -f1)"; done) \
    > "$WHEELS/MANIFEST.txt"
total=$(awk '{s += $2} END {print s}' "$WHEELS/MANIFEST.txt")
mb=$(awk -v b="$total" 'BEGIN {printf "%.1f", b / 1048576}')
echo "fetch_wheels: $(wc -l < "$WHEELS/MANIFEST.txt") wheels, $mb MiB in $WHEELS"
if awk -v b="$total" -v m="$MAX_MB" 'BEGIN {exit !(b > m * 1048576)}'; then
    echo "fetch_wheels: $mb MiB is over the limit of $MAX_MB MiB (fewer PYTHON_VERSIONS?)" >&2
    exit 1
fi
