#!/usr/bin/env bash
# The wheel, installed into a fresh venv in a temporary folder away from the checkout:
# models listed, `dgnsim models`, `dgnsim simulate` on numpy and cpp_standalone, a user's
# model from a path. Fails if the wheel lacks a subpackage or a model file, or if anything
# is imported from the checkout.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$repo/.venv/bin/python}"
base="$(command -v python3.12 || pyenv which python3.12)"
work="$(mktemp -d "${TMPDIR:-/tmp}/dgnsim-smoke.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "wheel smoke: building the wheel"
"$python" -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" "$repo" 2> >(grep -v "WARNING: Location" >&2)
wheel="$(ls "$work"/dist/dgnsim-*.whl)"
echo "wheel smoke: $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KB); fresh venv in $work"
"$base" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet "$wheel" 2> >(grep -v "WARNING: Location" >&2)
cp "$repo/.ci/wheel_smoke.py" "$work/"
cd "$work"
env -u PYTHONPATH DGNSIM_BUILD_DIR="$work/builds" PATH="$work/venv/bin:$PATH" \
    "$work/venv/bin/python" wheel_smoke.py "$repo" "$wheel"
