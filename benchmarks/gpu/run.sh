#!/usr/bin/env bash
# The GPU run, in one go, on a machine with an NVIDIA GPU and no package index:
#
#   benchmarks/gpu/run.sh OUT_DIR             # install, gpu tests, benchmark (< 8 min)
#   benchmarks/gpu/run.sh --dry-run OUT_DIR   # the same without CUDA: cpp_standalone only
#
# 1. finds the GPU (nvidia-smi: name, compute capability) and the CUDA toolkit (nvcc);
# 2. makes a venv that reuses the machine's numpy/scipy/torch and installs what it lacks
#    from benchmarks/gpu/wheels (fetch_wheels.sh fills it, where an index works), and
#    dgnsim from this checkout (install.sh);
# 3. runs the gpu-marked tests: cuda_standalone against cpp_standalone, spike for spike;
# 4. runs bench_gpu.py: DGN and LIF, 10^4 ... 10^7 neurons, cuda_standalone against
#    cpp_standalone, into OUT_DIR/gpu_bench.{json,png,pdf}.
# Every step logs to OUT_DIR/logs/ and prints progress; OUT_DIR/run.json records each
# step's status and time (written even when a step fails). Exit status: 0 when every
# step passed, else 1 (the message says which).
#
# Environment: PYTHON (the machine's Python 3, default python3), TIME_BUDGET_S (default
# 480), DGNSIM_GPU_STATE (scratch: venv and builds, default ${TMPDIR:-/tmp}/dgnsim-gpu),
# BENCH_ARGS (extra arguments for bench_gpu.py, e.g. "--sizes 10000 100000"),
# DGNSIM_CUDA_GPU_ID (default 0), CUDA_PATH (default: found from nvcc).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DRY=0
if [[ "${1:-}" == "--dry-run" ]]; then DRY=1; shift; fi
OUT=${1:?usage: benchmarks/gpu/run.sh [--dry-run] OUT_DIR}
mkdir -p "$OUT/logs"
OUT=$(cd "$OUT" && pwd)
BUDGET=${TIME_BUDGET_S:-480}
STATE=${DGNSIM_GPU_STATE:-${TMPDIR:-/tmp}/dgnsim-gpu}
VENV="$STATE/venv"
export PYTHON=${PYTHON:-python3}
START=$SECONDS
STEPS="$OUT/logs/steps.tsv"   # step, status, seconds, message: run.json is made from it
: > "$STEPS"
FAILED=()

elapsed() { echo $((SECONDS - START)); }
left() { echo $((BUDGET - (SECONDS - START))); }
say() { printf '[%4d s] %s\n' "$(elapsed)" "$*"; }
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4//$'\t'/ }" >> "$STEPS"; }

# run.json from the steps, whatever happens (a failed step, a signal)
finish() {
    local rc=$?
    "$PYTHON" - "$STEPS" "$OUT/run.json" "$DRY" "$(elapsed)" "$rc" <<'EOF' || true
import json, sys
steps_file, out, dry, elapsed, rc = sys.argv[1:]
steps = []
for line in open(steps_file):
    name, status, seconds, message = (line.rstrip("\n").split("\t") + [""] * 4)[:4]
    steps.append({"step": name, "status": status, "seconds": int(seconds or 0), "message": message})
json.dump({"dry_run": dry == "1", "elapsed_s": int(elapsed), "exit_status": int(rc),
           "passed": int(rc) == 0, "steps": steps}, open(out, "w"), indent=2)
EOF
    if [[ $rc == 0 ]]; then say "run.sh: all steps passed ($(elapsed) s); results in $OUT"
    else say "run.sh: FAILED (exit $rc) after $(elapsed) s: ${FAILED[*]:-interrupted}; partial results in $OUT"; fi
}
trap finish EXIT

say "run.sh: $([[ $DRY == 1 ]] && echo 'DRY RUN (no CUDA), ' || true)output $OUT, budget ${BUDGET} s, scratch $STATE"
mkdir -p "$STATE"

# -- 1. GPU and CUDA toolkit ------------------------------------------------------------------
t0=$SECONDS
GPU_ID=${DGNSIM_CUDA_GPU_ID:-0}
export DGNSIM_CUDA_GPU_ID=$GPU_ID
cuda_ok=1
if [[ $DRY == 0 ]]; then
    if nvidia-smi -L > /dev/null 2>&1; then
        gpu=$(nvidia-smi -i "$GPU_ID" --query-gpu=name,memory.total,driver_version --format=csv,noheader || true)
        cc=$(nvidia-smi -i "$GPU_ID" --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | tr -d ' ' || true)
        say "GPU $GPU_ID: $gpu, compute capability ${cc:-unknown}"
    else
        say "ERROR: nvidia-smi lists no GPU"; cuda_ok=0; gpu=""; cc=""
    fi
    # The toolkit: $CUDA_PATH, $CUDA_HOME, /usr/local/cuda, or nvcc's own folder (nvcc on
    # PATH may be a wrapper script, so each candidate must hold bin/nvcc and the headers).
    nvcc_bin=$(command -v nvcc || true)
    CUDA_FOUND=""
    for c in "${CUDA_PATH:-}" "${CUDA_HOME:-}" /usr/local/cuda \
             "$( [[ -n "$nvcc_bin" ]] && dirname "$(dirname "$(readlink -f "$nvcc_bin")")")"; do
        if [[ -n "$c" && -x "$c/bin/nvcc" && -f "$c/include/cuda_runtime.h" ]]; then CUDA_FOUND=$c; break; fi
    done
    if [[ -n "$CUDA_FOUND" ]]; then
        export CUDA_PATH=$CUDA_FOUND
        export PATH="$CUDA_PATH/bin:$PATH"
        say "CUDA toolkit $CUDA_PATH: $("$CUDA_PATH/bin/nvcc" --version | tail -n 1)"
        # no compute capability from nvidia-smi (old driver): ask the toolkit's device query
        if [[ -z "$cc" && -x "$CUDA_PATH/bin/__nvcc_device_query" ]]; then
            q=$("$CUDA_PATH/bin/__nvcc_device_query" 2>/dev/null | tr ',' '\n' | sed -n "$((GPU_ID + 1))p" || true)
            [[ "$q" =~ ^[0-9]+$ ]] && cc="${q:0:${#q}-1}.${q: -1}"
        fi
    else
        say "ERROR: no CUDA toolkit (nvcc and headers) in \$CUDA_PATH, \$CUDA_HOME, /usr/local/cuda or on PATH"
        cuda_ok=0
    fi
    if [[ -n "$cc" ]]; then
        export DGNSIM_CUDA_COMPUTE_CAPABILITY=$cc
    else
        say "WARNING: compute capability unknown: building for dgnsim's default (8.0, PTX JIT on newer GPUs)"
    fi
    if [[ $cuda_ok == 1 ]]; then
        record detect ok $((SECONDS - t0)) "GPU: $gpu; compute capability ${cc:-default}; CUDA $CUDA_PATH"
    else
        record detect failed $((SECONDS - t0)) "no GPU or no CUDA toolkit: the benchmark runs cpp_standalone only"
        FAILED+=(detect)
    fi
else
    record detect skipped 0 "dry run: no CUDA"
fi

# -- 2. Install ---------------------------------------------------------------------------------
t0=$SECONDS
say "install: venv $VENV from ${WHEELS:-$HERE/wheels}"
install_args=("$VENV")
[[ $DRY == 1 || $cuda_ok == 0 ]] && install_args+=(--no-cuda)
if timeout 240 "$HERE/install.sh" "${install_args[@]}" 2>&1 | tee "$OUT/logs/install.log"; then
    record install ok $((SECONDS - t0)) "$(grep -c '^Processing' "$OUT/logs/install.log" || true) wheels installed"
else
    record install failed $((SECONDS - t0)) "$(grep 'ERROR' "$OUT/logs/install.log" | tail -n 1)"
    FAILED+=(install)
    say "ERROR: install failed (see $OUT/logs/install.log): nothing else can run"
    exit 1
fi
VPY="$VENV/bin/python"
export DGNSIM_BUILD_DIR="$STATE/builds"   # cold builds, away from the checkout
rm -rf "$DGNSIM_BUILD_DIR"

# -- 3. The gpu-marked tests ---------------------------------------------------------------------
# Only the test files with gpu-marked tests: the others need packages the machine lacks.
t0=$SECONDS
mapfile -t gpu_tests < <(cd "$REPO" && grep -l 'pytest.mark.gpu' tests/test_*.py)
say "tests: pytest -m gpu ${gpu_tests[*]}"
test_limit=$(( $(left) - 150 < 240 ? $(left) - 150 : 240 ))   # leave the benchmark >= 150 s
(( test_limit < 60 )) && test_limit=60
set +e
(cd "$REPO" && timeout "$test_limit" "$VPY" -m pytest -m gpu -rA -p no:cacheprovider "${gpu_tests[@]}") \
    2>&1 | tee "$OUT/logs/pytest-gpu.log"
rc=${PIPESTATUS[0]}
set -e
summary=$(grep -E '^=+ .*(passed|failed|skipped|error).* =+$' "$OUT/logs/pytest-gpu.log" | tail -n 1 | tr -d '=' | xargs || true)
if [[ $rc == 0 ]]; then
    if [[ $DRY == 0 ]] && ! grep -qE '[0-9]+ passed' <<< "$summary"; then
        record tests failed $((SECONDS - t0)) "no gpu test ran: $summary"; FAILED+=(tests)
    else
        record tests ok $((SECONDS - t0)) "$summary"
    fi
else
    [[ $rc == 124 ]] && summary="stopped after ${test_limit} s (time budget); $summary"
    record tests failed $((SECONDS - t0)) "pytest exit $rc: $summary"; FAILED+=(tests)
    say "ERROR: gpu tests failed (exit $rc), see $OUT/logs/pytest-gpu.log; the benchmark still runs"
fi

# -- 4. The benchmark ----------------------------------------------------------------------------
t0=$SECONDS
bench_budget=$(( $(left) - 25 ))   # the plot, run.json, margin
(( bench_budget < 30 )) && bench_budget=30
bench_args=(--out "$OUT" --budget-s "$bench_budget")
if [[ $DRY == 1 ]]; then
    # small enough for a 2-core laptop; override with BENCH_ARGS
    bench_args+=(--cpu-only --sizes 10000 100000 --duration 200ms)
elif [[ $cuda_ok == 0 ]]; then
    bench_args+=(--cpu-only)
fi
read -r -a extra <<< "${BENCH_ARGS:-}"
say "bench: bench_gpu.py ${bench_args[*]} ${extra[*]:-} (budget ${bench_budget} s)"
set +e
(cd "$REPO" && timeout --kill-after=10 $((bench_budget + 15)) "$VPY" "$HERE/bench_gpu.py" "${bench_args[@]}" ${extra[@]+"${extra[@]}"}) \
    2>&1 | tee "$OUT/logs/bench.log"
rc=${PIPESTATUS[0]}
set -e
status=$("$VPY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("status"), len(d.get("results", [])), "results,", len(d.get("skipped", [])), "skipped")' \
         "$OUT/gpu_bench.json" 2>/dev/null || echo "no JSON")
if [[ $rc == 0 ]]; then
    record bench ok $((SECONDS - t0)) "$status"
else
    record bench failed $((SECONDS - t0)) "exit $rc: $status"; FAILED+=(bench)
    say "ERROR: benchmark failed (exit $rc), see $OUT/logs/bench.log"
fi

[[ ${#FAILED[@]} == 0 ]] || exit 1
