#!/usr/bin/env bash
# Make a virtual environment for the GPU run, with no package index: the machine's own
# packages (numpy, scipy, torch, ...) are reused, what it lacks comes from the wheel folder
# that fetch_wheels.sh filled, and dgnsim is installed from this checkout (editable).
#
#   benchmarks/gpu/install.sh VENV_DIR [--no-cuda]
#
# Environment: PYTHON (the machine's Python, default python3), WHEELS (the wheel folder,
# default benchmarks/gpu/wheels). --no-cuda skips the cuRAND set-up (the CPU dry run).
# Prints what it installs; exits non-zero, with the reason, when something is missing.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WHEELS=${WHEELS:-$HERE/wheels}
PYTHON=${PYTHON:-python3}
VENV=${1:?usage: install.sh VENV_DIR [--no-cuda]}
CUDA=1
[[ "${2:-}" == "--no-cuda" ]] && CUDA=0

# Only the wheel folder: no index, and no find-links or index from this machine's pip settings.
export PIP_CONFIG_FILE=/dev/null
unset PIP_FIND_LINKS PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_NO_INDEX PIP_REQUIRE_VIRTUALENV

say() { echo "install: $*"; }
fail() { echo "install: ERROR: $*" >&2; exit 1; }

# -- 1. The machine's Python: brian2 2.10.1 needs 3.12 or newer ---------------------------
command -v "$PYTHON" > /dev/null || fail "no Python '$PYTHON' (set PYTHON=...)"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 12))' ||
    fail "$("$PYTHON" -V 2>&1) is too old: brian2 2.10.1 needs Python >= 3.12"
ls "$WHEELS"/brian2-*.whl > /dev/null 2>&1 ||
    fail "no wheels in $WHEELS: run benchmarks/gpu/fetch_wheels.sh where the package index works"

# -- 2. The virtual environment, seeing the machine's packages ------------------------------
# --system-site-packages shows the base interpreter's packages; when $PYTHON is itself a
# virtual environment (or has user-site packages) those are elsewhere, so a .pth file adds
# the machine's own site directories after the venv's own, through site.addsitedir so that
# their .pth files work too (setuptools' distutils shim, which brian2 imports; editable installs).
if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON" -m venv --system-site-packages --without-pip "$VENV" || fail "could not make a venv in $VENV"
fi
VPY="$VENV/bin/python"
SITE=$("$VPY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
MACHINE_SITE=$("$PYTHON" - <<'EOF'
import os, site
dirs = list(site.getsitepackages()) + ([site.getusersitepackages()] if site.ENABLE_USER_SITE else [])
print(repr([d for d in dirs if os.path.isdir(d)]))
EOF
)
echo "import site; [site.addsitedir(d) for d in $MACHINE_SITE]" > "$SITE/_dgnsim_machine_site.pth"
say "venv $VENV ($("$VPY" -V 2>&1)), machine packages from: $MACHINE_SITE"

# -- 3. pip: the machine's, else run from its own wheel -------------------------------------
if ! "$VPY" -m pip --version > /dev/null 2>&1; then
    wheel=$(ls "$WHEELS"/pip-*.whl 2>/dev/null | head -n 1) || true
    [[ -n "$wheel" ]] || fail "no pip here and no pip wheel in $WHEELS"
    say "no pip: installing it from $(basename "$wheel")"
    "$VPY" "$wheel/pip" install --quiet --no-index --find-links "$WHEELS" pip
fi
PIP=("$VPY" -m pip --disable-pip-version-check --no-input)

# -- 4. What the machine lacks, from the wheels ----------------------------------------------
# --no-deps: requirements.txt lists every dependency; a requirement that the machine's
# packages already satisfy is left alone ("Requirement already satisfied").
install_list() {  # install_list FILE: the requirements that are not satisfied yet
    local out rc=0
    out=$("${PIP[@]}" install --no-index --find-links "$WHEELS" --no-deps --only-binary=:all: -r "$1" 2>&1) || rc=$?
    echo "$out" | grep -v '^Requirement already satisfied' || true
    return $rc
}
say "required packages (requirements.txt)"
install_list "$HERE/requirements.txt" || fail "the required wheels did not install (above); is there a wheel for $("$VPY" -V)?"
say "plot packages (requirements-plot.txt, optional)"
install_list "$HERE/requirements-plot.txt" || say "WARNING: matplotlib not installed: the plot will be skipped (JSON only)"

# -- 5. dgnsim from the checkout -------------------------------------------------------------
say "dgnsim from $REPO (editable, no build isolation)"
"${PIP[@]}" install --quiet --no-index --no-deps --no-build-isolation -e "$REPO" ||
    fail "dgnsim did not install from $REPO (setuptools >= 77 is needed)"

# Dependencies whose versions the machine decides: say so when they are outside brian2's pins.
"${PIP[@]}" check 2>/dev/null | grep -iE '^(brian2|brian2cuda|dgnsim|matplotlib) ' | sed 's/^/install: WARNING: /' || true

# -- 6. cuRAND where dgnsim's CUDA set-up looks for it ---------------------------------------
# dgnsim.brian.backend.configure_cuda takes cuRAND from the nvidia-curand (CUDA 13) wheel,
# i.e. from <site>/nvidia/cu13/{include,lib}. The wheel is 60 MB (too big to travel), but a
# CUDA build of torch usually brings it, and a CUDA toolkit has its own. If the wheel's
# layout is not there, the toolkit's cuRAND (or the CUDA 12 wheel's) is linked into that
# layout inside this venv (nvidia is a namespace package, so the two directories merge).
if [[ $CUDA == 1 ]]; then
    found=$("$VPY" - <<'EOF'
import glob, os
try:
    import nvidia
except ImportError:
    raise SystemExit(0)
for p in nvidia.__path__:
    if glob.glob(os.path.join(p, "cu13", "lib", "libcurand.so*")):
        print(os.path.join(p, "cu13"))
        break
EOF
)
    if [[ -n "$found" ]]; then
        say "cuRAND: $found"
    else
        src_inc="" src_lib=""
        cuda_path=${CUDA_PATH:-/usr/local/cuda}
        for lib in "$cuda_path/lib64" "$cuda_path/lib" "$cuda_path/targets/x86_64-linux/lib"; do
            if [[ -f "$cuda_path/include/curand.h" ]] && ls "$lib"/libcurand.so* > /dev/null 2>&1; then
                src_inc="$cuda_path/include" src_lib="$lib"; break
            fi
        done
        if [[ -z "$src_lib" ]]; then  # the CUDA 12 wheel: <site>/nvidia/curand/{include,lib}
            read -r src_inc src_lib < <("$VPY" - <<'EOF'
import glob, os
try:
    import nvidia
    for p in nvidia.__path__:
        if glob.glob(os.path.join(p, "curand", "lib", "libcurand.so*")):
            print(os.path.join(p, "curand", "include"), os.path.join(p, "curand", "lib"))
            break
except ImportError:
    pass
EOF
            ) || true
        fi
        [[ -n "$src_lib" ]] || fail "no cuRAND: neither the nvidia-curand wheel, nor $cuda_path/lib64/libcurand.so, nor nvidia-curand-cu12"
        shim="$SITE/nvidia/cu13"
        mkdir -p "$shim/include" "$shim/lib"
        ln -sf "$src_inc"/curand*.h "$shim/include/"
        ln -sf "$src_lib"/libcurand.so* "$shim/lib/"
        say "cuRAND: linked $src_lib and $src_inc into $shim"
    fi
fi

# -- 7. What the run will use ------------------------------------------------------------------
"$VPY" - <<'EOF'
import importlib, os
for name in ["numpy", "scipy", "sympy", "Cython", "jinja2", "brian2", "brian2cuda", "pytest", "matplotlib", "dgnsim"]:
    try:
        mod = importlib.import_module(name)
    except ImportError as exc:
        print(f"install: {name:11s} MISSING ({exc})")
        continue
    print(f"install: {name:11s} {getattr(mod, '__version__', '?'):12s} {os.path.dirname(mod.__file__)}")
EOF
