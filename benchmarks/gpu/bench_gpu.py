"""GPU benchmark: the foundation network (DGN and LIF) on cuda_standalone against cpp_standalone.

The network is ``benchmarks/bench_foundation.py``'s ``network()`` (400 Poisson sources at
10 Hz, each target neuron connected with p = 0.25, i.e. ~100 synapses per neuron, and a
spike monitor), at 10^4 ... 10^7 neurons. For each size, model and device it records

* the build: constructing the network in Python, code generation, and the compiler
  (``nvcc`` or ``g++``), via ``dgnsim.Simulation`` (so the CUDA set-up is the backend's);
  the builds of one size run in parallel processes (``concurrent_builds`` says how many);
* the run, without the build: the binary's own clock for the simulation loop
  (``network_s``, as ``bench_foundation``) and the wall time of the whole binary
  (``process_s``: loading arrays, making the synapses, the CUDA context, writing results);
  the runs are one at a time.

cpp_standalone runs at most ``--cpu-max-neuron-steps`` (its duration is cut to fit), so
times are also given per second of biological time. An internal time budget
(``--budget-s``) skips what would not fit, with the reason; so do the memory and disk
estimates (10^7 neurons are 10^9 synapses). The JSON is rewritten after every step, so a
run that is cut short still leaves its results. Plot: PDF and PNG, if matplotlib is there.

Usage::

    python benchmarks/gpu/bench_gpu.py --out OUT [--sizes 10000 100000] [--duration 1s]
    python benchmarks/gpu/bench_gpu.py --cpu-only --sizes 1000 --duration 20ms --out /tmp/b
    python benchmarks/gpu/bench_gpu.py --plot-only OUT/gpu_bench.json

Exit status 1 if a build or a run failed (or was cut by its timeout); skips are not failures.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import multiprocessing
import os
import platform
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # benchmarks/: bench_foundation's network

JSON_NAME = "gpu_bench.json"
PLOT_NAME = "gpu_bench"
DEVICES = ("cuda_standalone", "cpp_standalone")
#: Host memory per neuron to construct the network in Python (a dense 400 x n draw in
#: dgnsim.connect, the synapse indices), used before a smaller size has measured it.
BYTES_PER_NEURON_GUESS = 8_000
#: Disk per synapse: a build's static arrays (the indices), and one run's results (indices,
#: weights, delays, counts); the builds of one size are there at once, the runs one at a time.
BUILD_BYTES_PER_SYNAPSE = 8
RUN_BYTES_PER_SYNAPSE = 40
SYNAPSES_PER_NEURON = 100  # bench_foundation: 400 sources, p = 0.25


# -- small helpers -------------------------------------------------------------------------


class Clock:
    """Seconds since the start, and what is left of the budget."""

    def __init__(self, budget_s: float):
        self.start = time.perf_counter()
        self.budget_s = budget_s

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def left(self) -> float:
        return self.budget_s - self.elapsed()


def log(clock: Clock, message: str) -> None:
    print(f"[{clock.elapsed():6.1f} s] {message}", flush=True)


def parse_duration(text: str) -> float:
    """'1s', '200ms', '0.5' (seconds) -> seconds."""
    text = text.strip()
    for suffix, factor in (("ms", 1e-3), ("s", 1.0)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def write_json(path: Path, data: dict) -> None:
    """Atomic write (a reader never sees half a file)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def command_output(args: list[str]) -> str | None:
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def mem_available_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def gpu_info() -> dict:
    """What nvidia-smi and nvcc say (empty fields where they are missing)."""
    info: dict = {"nvidia_smi": shutil.which("nvidia-smi")}
    query = command_output(
        ["nvidia-smi", "--query-gpu=index,name,memory.total,driver_version,compute_cap", "--format=csv,noheader"]
    )
    if query:
        info["gpus"] = [
            dict(zip(["index", "name", "memory", "driver", "compute_capability"], (f.strip() for f in line.split(","))))
            for line in query.splitlines()
        ]
    nvcc = shutil.which("nvcc") or (
        os.path.join(os.environ["CUDA_PATH"], "bin", "nvcc") if os.environ.get("CUDA_PATH") else None
    )
    info["nvcc"] = nvcc
    version = command_output([nvcc, "--version"]) if nvcc else None
    info["nvcc_version"] = version.splitlines()[-1] if version else None
    info["cuda_path"] = os.environ.get("CUDA_PATH")
    return info


def compute_capability(gpu: dict, requested: float | None) -> float | None:
    """--compute-capability, else $DGNSIM_CUDA_COMPUTE_CAPABILITY, else nvidia-smi's first GPU."""
    if requested is not None:
        return requested
    if os.environ.get("DGNSIM_CUDA_COMPUTE_CAPABILITY"):
        return float(os.environ["DGNSIM_CUDA_COMPUTE_CAPABILITY"])
    try:
        return float(gpu["gpus"][0]["compute_capability"])
    except (KeyError, IndexError, ValueError):
        return None  # dgnsim's default (8.0; runs on newer GPUs through the PTX JIT)


def cpu_duration(duration_s: float, size: int, dt_s: float, max_neuron_steps: float) -> float:
    """cpp_standalone's duration: at most max_neuron_steps, whole ms, at least 10 ms."""
    capped = max_neuron_steps * dt_s / size
    if capped >= duration_s:
        return duration_s
    return max(0.01, math.floor(capped * 1000) / 1000)


# -- the build, in a process of its own ----------------------------------------------------


def _device_prefs(device: str, settings: dict) -> None:
    """Preferences on top of dgnsim's: make -jN, the GPU's compute capability, OpenMP."""
    from brian2 import prefs

    prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{settings['jobs']}"]
    if device == "cuda_standalone":
        cb = prefs.devices.cuda_standalone.cuda_backend
        if settings["compute_capability"] is not None:
            cb.compute_capability = float(settings["compute_capability"])
        cb.gpu_id = int(settings["gpu_id"])
    elif settings["cpp_threads"] > 1:
        prefs.devices.cpp_standalone.openmp_threads = int(settings["cpp_threads"])


def _build_worker(cfg: dict, settings: dict, log_path: str, results: multiprocessing.Queue) -> None:
    """Build one network (in a process group of its own, so that a timeout can stop nvcc too)."""
    os.setpgrp()
    with open(log_path, "w") as fh:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)
    try:
        import resource

        from bench_foundation import network
        from brian2 import ms, second

        import dgnsim

        start = time.perf_counter()
        with dgnsim.Simulation(cfg["device"], seed=0, dt=settings["dt_ms"] * ms) as sim:
            _device_prefs(cfg["device"], settings)
            network(sim, cfg["model"], cfg["size"], cfg["duration_s"] * second)
            made = time.perf_counter()
            sim.build(cfg["duration_s"] * second)
            done = time.perf_counter()
            out = {
                "directory": str(sim.directory),
                "network_setup_s": made - start,
                "codegen_s": sim.timings.get("codegen_s"),
                "compile_s": sim.timings.get("compile_s"),
                "reused": sim.timings.get("reused"),
                "build_s": done - start,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        results.put(("ok", out))
    except BaseException as exc:  # reported to the parent, with the log's tail
        traceback.print_exc()
        results.put(("failed", f"{type(exc).__name__}: {exc}"))


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def build_all(
    configs: list[dict], settings: dict, concurrency: int, timeout_s: float, logs: Path, clock: Clock
) -> dict[int, tuple[str, object]]:
    """Build configs in parallel processes (at most ``concurrency`` at once); index -> result."""
    ctx = multiprocessing.get_context("spawn")
    pending = list(enumerate(configs))
    running: dict[int, tuple] = {}
    done: dict[int, tuple[str, object]] = {}
    deadline = time.perf_counter() + timeout_s
    try:
        _build_loop(configs, settings, concurrency, deadline, logs, clock, ctx, pending, running, done)
    finally:  # interrupted: no compiler left behind
        for proc, *_ in running.values():
            _kill_group(proc.pid)
    return done


def _build_loop(configs, settings, concurrency, deadline, logs, clock, ctx, pending, running, done) -> None:
    while pending or running:
        while pending and len(running) < concurrency:
            index, cfg = pending.pop(0)
            log_path = logs / f"build-{cfg['size']}-{cfg['model']}-{cfg['device']}.log"
            results = ctx.Queue()
            proc = ctx.Process(target=_build_worker, args=(cfg, settings, str(log_path), results))
            proc.start()
            running[index] = (proc, results, log_path, time.perf_counter())
        for index, (proc, results, log_path, started) in list(running.items()):
            try:
                status, out = results.get_nowait()
            except queue.Empty:
                if proc.is_alive() and time.perf_counter() < deadline:
                    continue
                if proc.is_alive():  # over time: stop it and its compilers
                    _kill_group(proc.pid)
                    status, out = "timeout", f"build stopped after {time.perf_counter() - started:.0f} s (time budget)"
                else:
                    try:  # it may have just finished: its answer can trail its exit
                        status, out = results.get(timeout=2)
                    except queue.Empty:
                        status, out = "failed", f"build process died (exit {proc.exitcode})"
            proc.join(timeout=30)
            if status == "failed" and isinstance(out, str):
                out = f"{out}\n--- {log_path.name} ---\n{_tail(log_path)}"
            if status == "ok":
                out["concurrent_builds"] = concurrency
            done[index] = (status, out)
            del running[index]
            cfg = configs[index]
            what = f"{out['build_s']:.1f} s (compile {out['compile_s']:.1f} s)" if status == "ok" else status
            log(clock, f"  built {cfg['device']:15s} {cfg['model']:4s} n={cfg['size']:>9,}: {what}")
        time.sleep(0.2)


class Terminated(Exception):
    """SIGTERM arrived."""


def _terminated(signum, frame):
    raise Terminated(f"signal {signum}")


def _kill_group(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)


# -- the run: the built binary, as Brian2's device.run() starts it -------------------------


def _num(value, fmt: str) -> str:
    return "?" if value is None else format(value, fmt)


def _read_int(directory: Path, pattern: str) -> int | None:
    import numpy as np

    files = sorted(directory.glob(pattern))
    return int(np.fromfile(files[0], dtype=np.int32)[0]) if files else None


def _count(directory: Path, pattern: str) -> int | None:
    """Entries of a written int32 array (the monitor's neuron indices: one per spike)."""
    files = sorted(directory.glob(pattern))
    return files[0].stat().st_size // 4 if files else None


def run_binary(directory: str, timeout_s: float) -> dict:
    """Run ``./main`` of a build; the binary's own loop time, its wall time, spikes, synapses."""
    results = Path(directory) / "results" / f"bench-{uuid.uuid4().hex}"
    results.mkdir(parents=True)
    env = {**os.environ, "LD_BIND_NOW": "1"}  # as Brian2's run_environment_variables
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            ["./main", "--results_dir", f"{results}/"],
            cwd=directory,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
            last = next((line for line in reversed(lines) if "error" in line.lower()), lines[-1] if lines else "")
            tail = "\n".join(lines[-15:])
            raise RuntimeError(f"binary exited with {proc.returncode}: {last.strip()}\n{tail}")
        info = results / "last_run_info.txt"
        network_s, fraction = (float(x) for x in info.read_text().split()) if info.exists() else (None, None)
        return {
            "network_s": network_s,
            "process_s": wall,
            "completed_fraction": fraction,
            "spikes": _read_int(results, "_array_spikes_N_*")
            if any(results.glob("_array_spikes_N_*"))
            else _count(results, "_dynamic_array_spikes_i_*"),
            "synapses": _read_int(results, "_array_syn_N_*"),
        }
    finally:
        shutil.rmtree(results, ignore_errors=True)


# -- the benchmark ---------------------------------------------------------------------------


class Report:
    """The JSON: rewritten after every step."""

    def __init__(self, out: Path, data: dict):
        self.path = out / JSON_NAME
        self.data = data
        self.failed = False

    def save(self, clock: Clock, status: str = "running") -> None:
        self.data["status"] = status
        self.data["elapsed_s"] = round(clock.elapsed(), 2)
        self.data["speedup"] = speedups(self.data["results"])
        write_json(self.path, self.data)

    def skip(self, reason: str, size: int, model: str | None = None, device: str | None = None) -> None:
        entry = {"size": size, "reason": reason}
        if model:
            entry["model"] = model
        if device:
            entry["device"] = device
        self.data["skipped"].append(entry)

    def error(self, message: str) -> None:
        self.failed = True
        self.data["errors"].append(message)


def speedups(results: list[dict]) -> list[dict]:
    """cpp time per biological second over cuda's, for each size and model with both."""
    per = {}
    for r in results:
        if r.get("status") == "ok" and r["run"].get("network_s_per_bio_s"):
            per[(r["size"], r["model"], r["device"])] = r["run"]["network_s_per_bio_s"]
    out = []
    for (size, model, device), value in sorted(per.items()):
        if device == "cuda_standalone" and (size, model, "cpp_standalone") in per:
            cpp = per[(size, model, "cpp_standalone")]
            out.append(
                {
                    "size": size,
                    "model": model,
                    "cpp_s_per_bio_s": cpp,
                    "cuda_s_per_bio_s": value,
                    "cuda_speedup": cpp / value,
                }
            )
    return out


def predict_size(previous: list[dict], configs: list[dict]) -> tuple[float, float] | None:
    """Seconds that ``configs`` (one size) would take, from the last size measured: (build, runs).

    Build: the compile as measured (it hardly depends on n) plus network construction and
    code generation, linear in n; the builds run in parallel, so the longest counts. Runs:
    the set-up part of the process (loading, making synapses) linear in n; the loop linear
    in neuron-steps on the CPU, and as the square root of the growth on the GPU (a small
    network leaves it mostly idle). Rough, and meant to be: a run that overshoots is
    stopped by the budget and recorded, not counted as a failure.
    """
    ok = {(r["model"], r["device"]): r for r in previous if r.get("status") == "ok"}
    if not ok:
        return None
    builds, runs = [], 0.0
    for cfg in configs:
        r = ok.get((cfg["model"], cfg["device"])) or next(iter(ok.values()))
        factor = cfg["size"] / r["size"]
        b = r["build"]
        builds.append((b["compile_s"] or 0) + (b["network_setup_s"] + (b["codegen_s"] or 0)) * factor)
        loop = r["run"]["network_s"] or 0.0
        steps = factor * cfg["duration_s"] / r["duration_s"]
        growth = steps if cfg["device"] == "cpp_standalone" else math.sqrt(factor) * cfg["duration_s"] / r["duration_s"]
        runs += (r["run"]["process_s"] - loop) * factor + loop * growth
    return max(builds), runs


def bench(args, report: Report, clock: Clock) -> None:
    """Fill ``report`` (and save it after every step)."""
    import brian2

    gpu = gpu_info()
    cc = compute_capability(gpu, args.compute_capability)
    devices = ["cpp_standalone"] if args.cpu_only else list(args.devices)
    settings = {
        "dt_ms": args.dt_ms,
        "jobs": args.jobs,
        "cpp_threads": args.cpp_threads,
        "compute_capability": cc,
        "gpu_id": args.gpu_id,
    }
    try:
        import brian2cuda

        brian2cuda_version = brian2cuda.__version__
    except ImportError:
        brian2cuda_version = None
    out = report.path.parent
    report.data.update(
        {
            "benchmark": "foundation network, cuda_standalone against cpp_standalone",
            "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "command": sys.argv,
            "settings": {
                "sizes": args.sizes,
                "models": args.models,
                "devices": devices,
                "duration_s": args.duration,
                "dt_ms": args.dt_ms,
                "cpu_max_neuron_steps": args.cpu_max_neuron_steps,
                "budget_s": args.budget_s,
                "run_timeout_s": args.run_timeout_s,
                "make_jobs": args.jobs,
                "cpp_openmp_threads": args.cpp_threads,
                "compute_capability": cc,
                "gpu_id": args.gpu_id,
                "network": "benchmarks/bench_foundation.py network(): 400 Poisson sources at 10 Hz, "
                "p = 0.25 (~100 synapses per neuron), dgnsim.connect, SpikeMonitor",
            },
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "brian2": brian2.__version__,
                "brian2cuda": brian2cuda_version,
                "mem_available_gb": round((mem_available_bytes() or 0) / 2**30, 1),
            },
            "gpu": gpu,
        }
    )
    report.data["notes"] = ["--cpu-only (dry run): cpp_standalone only, no CUDA"] if args.cpu_only else []
    report.save(clock)
    log(
        clock,
        f"bench: sizes {args.sizes}, models {args.models}, devices {devices}, "
        f"{args.duration:g} s at {args.dt_ms:g} ms, budget {args.budget_s:.0f} s, compute capability {cc}",
    )
    own_root = not os.environ.get("DGNSIM_BUILD_DIR")  # else: builds go where that says
    build_root = Path(os.environ.get("DGNSIM_BUILD_DIR") or tempfile.mkdtemp(prefix="dgnsim-gpu-bench-"))
    os.environ["DGNSIM_BUILD_DIR"] = str(build_root)  # the build processes inherit it
    build_root.mkdir(parents=True, exist_ok=True)
    try:
        _bench_sizes(args, report, clock, devices, settings, build_root, out / "logs")
    finally:
        if own_root and not args.keep_builds:
            shutil.rmtree(build_root, ignore_errors=True)


def _bench_sizes(args, report: Report, clock: Clock, devices, settings, build_root: Path, logs: Path) -> None:
    logs.mkdir(parents=True, exist_ok=True)
    previous: list[dict] = []
    memory: list[tuple[int, float]] = []  # (neurons, peak RSS in bytes) of the builds
    for position, size in enumerate(sorted(args.sizes)):
        remaining_sizes = sorted(args.sizes)[position:]
        configs = []
        for device in devices:
            for model in args.models:
                duration = (
                    args.duration
                    if device == "cuda_standalone"
                    else cpu_duration(args.duration, size, args.dt_ms * 1e-3, args.cpu_max_neuron_steps)
                )
                configs.append({"size": size, "model": model, "device": device, "duration_s": duration})
        # -- what fits: time, memory, disk ----------------------------------------------
        left = clock.left()
        prediction = predict_size(previous, configs)
        if prediction and sum(prediction) > left:
            reason = (
                f"time budget: predicted {prediction[0]:.0f} s to build and {prediction[1]:.0f} s to run "
                f"(from n={previous[0]['size']:,}), {left:.0f} s left"
            )
            for s in remaining_sizes:
                report.skip(reason if s == size else f"time budget (n={size:,} did not fit)", s)
            log(clock, f"skip n>={size:,}: {reason}")
            break
        if left < args.min_size_s:
            for s in remaining_sizes:
                report.skip(f"time budget: {left:.0f} s left (< {args.min_size_s:.0f} s)", s)
            log(clock, f"skip n>={size:,}: {left:.0f} s left")
            break
        per_neuron = BYTES_PER_NEURON_GUESS
        sizes_seen = sorted({n for n, _ in memory})
        if len(sizes_seen) >= 2:  # the slope between the two largest sizes built (no fixed overhead)
            (n1, r1), (n2, r2) = [(n, max(r for m, r in memory if m == n)) for n in sizes_seen[-2:]]
            per_neuron = max(per_neuron, (r2 - r1) / (n2 - n1))
        need = per_neuron * size
        avail = mem_available_bytes() or need * len(configs)
        concurrency = min(len(configs), int(0.6 * avail // need))
        disk_need = SYNAPSES_PER_NEURON * size * (BUILD_BYTES_PER_SYNAPSE * max(1, concurrency) + RUN_BYTES_PER_SYNAPSE)
        disk_free = shutil.disk_usage(build_root).free
        if concurrency < 1 or disk_need > 0.8 * disk_free:
            reason = (
                f"memory: ~{need / 2**30:.0f} GB to construct one network, {avail / 2**30:.0f} GB available"
                if concurrency < 1
                else f"disk: ~{disk_need / 2**30:.0f} GB of arrays, {disk_free / 2**30:.0f} GB free"
            )
            for s in remaining_sizes:
                report.skip(reason if s == size else f"{reason.split(':')[0]} (n={size:,} did not fit)", s)
            log(clock, f"skip n>={size:,}: {reason}")
            break
        # -- build (parallel), then run (one at a time) -----------------------------------
        log(
            clock,
            f"n={size:,}: building {len(configs)} networks, {concurrency} at once"
            + (
                f" (predicted {prediction[0]:.0f} s + {prediction[1]:.0f} s to run, {left:.0f} s left)"
                if prediction
                else ""
            ),
        )
        built = build_all(configs, settings, concurrency, max(10.0, clock.left() - 10), logs, clock)
        this_size = []
        for index, cfg in enumerate(configs):
            status, out_b = built[index]
            entry = {**cfg, "status": status}
            if status == "timeout":  # the time budget ran out: not a failure
                entry["reason"] = out_b
                report.skip(out_b, size, cfg["model"], cfg["device"])
                report.data["results"].append(entry)
                continue
            if status != "ok":
                entry["reason"] = out_b
                report.error(f"n={size} {cfg['model']} {cfg['device']}: build {status}: {out_b}")
                report.data["results"].append(entry)
                continue
            entry["build"] = {k: v for k, v in out_b.items() if k != "directory"}
            memory.append((size, out_b["peak_rss_mb"] * 2**20))
            left = clock.left()
            if left < 5:
                entry.update(status="skipped", reason=f"time budget: {left:.0f} s left to run")
                report.skip(entry["reason"], size, cfg["model"], cfg["device"])
                report.data["results"].append(entry)
                continue
            timeout = min(args.run_timeout_s, left - 3)
            try:
                run = run_binary(out_b["directory"], timeout)
            except subprocess.TimeoutExpired:  # the budget or the cap: recorded, not a failure
                cause = "run timeout cap" if timeout >= args.run_timeout_s else "time budget"
                entry.update(status="timeout", reason=f"run stopped after {timeout:.0f} s ({cause})")
                report.skip(entry["reason"], size, cfg["model"], cfg["device"])
            except Exception as exc:
                entry.update(status="failed", reason=str(exc))
                report.error(f"n={size} {cfg['model']} {cfg['device']}: run failed: {exc}")
            else:
                loop = run["network_s"] if run["network_s"] is not None else run["process_s"]
                steps = round(cfg["duration_s"] / (args.dt_ms * 1e-3))
                run["network_s_per_bio_s"] = loop / cfg["duration_s"]
                run["neuron_steps_per_s"] = size * steps / loop if loop > 0 else None
                run["rate_hz"] = run["spikes"] / (size * cfg["duration_s"]) if run["spikes"] is not None else None
                entry["run"] = run
                this_size.append(entry)
            report.data["results"].append(entry)
            report.save(clock)
            what = (
                f"network {_num(entry['run']['network_s'], '.3f')} s, process {entry['run']['process_s']:.1f} s, "
                f"{_num(entry['run']['rate_hz'], '.1f')} Hz"
                if entry["status"] == "ok"
                else f"{entry['status']}: {(entry['reason'].splitlines() or [''])[0]}"
            )
            log(clock, f"  ran   {cfg['device']:15s} {cfg['model']:4s} n={size:>9,} ({cfg['duration_s']:g} s): {what}")
        if not args.keep_builds:
            for status, out_b in built.values():
                if status == "ok":
                    shutil.rmtree(out_b["directory"], ignore_errors=True)
        previous = this_size or previous
        report.save(clock)


# -- the plot ------------------------------------------------------------------------------


def plot(data: dict, out: Path) -> dict:
    """Three panels against the number of neurons: run time per biological second, build time,
    speed-up. Returns where the files are, or why there is no plot."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        return {"skipped": f"no matplotlib ({exc}); make it elsewhere with --plot-only"}
    ok = [r for r in data["results"] if r.get("status") == "ok"]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), constrained_layout=True)
    colors = {"cuda_standalone": "tab:green", "cpp_standalone": "tab:blue"}
    styles = {"lif": ("o", "--"), "dgn": ("s", "-")}
    for device in DEVICES:
        for model in ("lif", "dgn"):
            rows = sorted((r for r in ok if r["device"] == device and r["model"] == model), key=lambda r: r["size"])
            if not rows:
                continue
            marker, line = styles.get(model, ("^", ":"))
            x = [r["size"] for r in rows]
            kw = {"color": colors[device], "marker": marker, "linestyle": line, "label": f"{model}, {device}"}
            axes[0].plot(x, [r["run"]["network_s_per_bio_s"] for r in rows], **kw)
            axes[1].plot(x, [r["build"]["build_s"] for r in rows], **kw)
    for s in ("lif", "dgn"):
        rows = [r for r in data.get("speedup", []) if r["model"] == s]
        if rows:
            marker, line = styles[s]
            axes[2].plot(
                [r["size"] for r in rows],
                [r["cuda_speedup"] for r in rows],
                color="k",
                marker=marker,
                linestyle=line,
                label=s,
            )
    axes[0].set(
        xscale="log",
        yscale="log",
        xlabel="neurons",
        ylabel="simulation time per biological second (s/s)",
        title="run (binary's own loop time, no build)",
    )
    axes[1].set(
        xscale="log",
        yscale="log",
        xlabel="neurons",
        ylabel="build time (s)",
        title="build (network + codegen + compile)",
    )
    axes[2].set(
        xscale="log", xlabel="neurons", ylabel="speed-up, cpp / cuda time (x)", title="cuda_standalone speed-up"
    )
    axes[2].axhline(1.0, color="0.5", linewidth=0.8)
    if not data.get("speedup"):
        axes[2].text(0.5, 0.5, "no CUDA results", transform=axes[2].transAxes, ha="center", va="center")
    sizes = [r["size"] for r in data["results"] if r.get("size")] or [1]
    for ax in axes:
        _decades(ax.xaxis, sizes)
        if ax is not axes[2]:
            _decades(ax.yaxis, [v for line in ax.get_lines() for v in line.get_ydata() if v > 0])
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    gpus = data.get("gpu", {}).get("gpus") or [{}]
    skipped = sorted({s["size"] for s in data.get("skipped", []) if s.get("size")})
    fig.suptitle(
        f"dgnsim foundation network, dt {data['settings']['dt_ms']} ms; GPU: {gpus[0].get('name', 'none')}; "
        f"{data['machine']['cpus']} CPUs"
        + (f"; skipped n = {', '.join(f'{s:,}' for s in skipped)}" if skipped else ""),
        fontsize=10,
    )
    paths = {}
    for ext in ("pdf", "png"):
        path = out / f"{PLOT_NAME}.{ext}"
        fig.savefig(path, dpi=120)
        paths[ext] = str(path)
    plt.close(fig)
    return paths


def _decades(axis, values, pad: float = 0.25) -> None:
    """Limits on whole decades, ``pad`` decades clear of ``values`` (so each has labelled
    major ticks and no point on the frame), no minor labels."""
    from matplotlib.ticker import NullFormatter

    if not values:
        return
    lo = math.floor(math.log10(min(values)) - pad)
    hi = math.ceil(math.log10(max(values)) + pad)
    if hi == lo:
        hi += 1
    (axis.axes.set_xlim if axis is axis.axes.xaxis else axis.axes.set_ylim)(10.0**lo, 10.0**hi)
    axis.set_minor_formatter(NullFormatter())


# -- command line --------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("gpu-bench-out"), help="folder for the JSON, plot and logs")
    parser.add_argument(
        "--sizes",
        type=lambda s: int(float(s)),
        nargs="+",
        default=[10_000, 100_000, 1_000_000, 10_000_000],
        help="numbers of neurons",
    )
    parser.add_argument("--models", nargs="+", default=["lif", "dgn"])
    parser.add_argument("--duration", type=parse_duration, default=1.0, help="biological time, e.g. 1s or 200ms")
    parser.add_argument("--dt-ms", type=float, default=0.1)
    parser.add_argument("--devices", nargs="+", choices=DEVICES, default=list(DEVICES))
    parser.add_argument("--cpu-only", action="store_true", help="cpp_standalone only (the dry run; no GPU needed)")
    parser.add_argument(
        "--cpu-max-neuron-steps",
        type=float,
        default=2e9,
        help="cap for cpp_standalone: neurons x steps (its duration is cut to fit)",
    )
    parser.add_argument("--budget-s", type=float, default=330.0, help="time for the whole benchmark")
    parser.add_argument("--run-timeout-s", type=float, default=150.0, help="cap for one binary run")
    parser.add_argument("--min-size-s", type=float, default=20.0, help="do not start a size with less time left")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="make -jN for each build")
    parser.add_argument("--cpp-threads", type=int, default=1, help="OpenMP threads of cpp_standalone")
    parser.add_argument(
        "--compute-capability",
        type=float,
        default=None,
        help="default: $DGNSIM_CUDA_COMPUTE_CAPABILITY, else nvidia-smi",
    )
    parser.add_argument("--gpu-id", type=int, default=int(os.environ.get("DGNSIM_CUDA_GPU_ID", "0")))
    parser.add_argument("--keep-builds", action="store_true")
    parser.add_argument("--plot-only", type=Path, default=None, metavar="JSON", help="only (re)make the plot")
    args = parser.parse_args(argv)

    if args.plot_only:
        data = json.loads(args.plot_only.read_text())
        print(json.dumps(plot(data, args.plot_only.parent)))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    clock = Clock(args.budget_s)
    report = Report(args.out, {"results": [], "skipped": [], "errors": []})
    signal.signal(signal.SIGTERM, _terminated)  # e.g. run.sh's timeout: still write the JSON
    try:
        bench(args, report, clock)
    except (Exception, Terminated) as exc:  # still leave a JSON saying so
        traceback.print_exc()
        report.data.setdefault("settings", {"dt_ms": args.dt_ms})
        report.data.setdefault("machine", {"cpus": os.cpu_count()})
        report.error(f"benchmark stopped: {type(exc).__name__}: {exc}")
    report.data["plot"] = plot(report.data, args.out) if report.data.get("results") else {"skipped": "no results"}
    status = "failed" if report.failed else ("partial" if report.data["skipped"] else "complete")
    report.save(clock, status)
    for row in report.data.get("speedup", []):
        log(clock, f"speed-up n={row['size']:>9,} {row['model']}: cuda {row['cuda_speedup']:.1f}x cpp")
    for message in report.data["errors"]:
        print(f"bench_gpu: ERROR: {message}", file=sys.stderr)
    log(
        clock,
        f"bench: {status}; wrote {report.path}"
        + (f" and {report.data['plot'].get('png')}" if "png" in report.data["plot"] else ""),
    )
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
