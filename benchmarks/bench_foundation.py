"""Foundation benchmarks, measured side by side in one run (not timed tests).

1. Cost of ``dgn`` against ``lif`` on the same network: 10,000 neurons, ~100 Poisson
   input synapses each, 10 s at dt = 0.1 ms, cpp_standalone, network time of the binary
   (its own clock, without the build). Also the DGN with Brian2's ``exponential_euler`` and
   ``euler``, and both models with float32 state (``dtype=numpy.float32``). Each contender is
   built once into its own binary; then the binaries run in rounds, every contender once per
   round in turn, and the median network time per contender gives the ratios to LIF.
2. Neuron-steps per second against an estimate of this machine's limit: the bytes that the
   generated neuron loops (state update and threshold) move per neuron and step, read from
   the generated C++, against the memory bandwidth of a small C loop (in cache, at the size
   of the neuron arrays, and from main memory).
3. A second run of a built network with new parameter values against a cold build.
4. cpp_standalone against the runtime target (numpy) on the same (smaller) network.

Writes benchmarks/results/foundation.json and .md. Usage:
``python benchmarks/bench_foundation.py [--quick] [--rounds R]``; ``--profile``: only Brian2's
per-code-object timers of LIF and DGN (2 s runs), to foundation_profile.json and .md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from brian2 import Hz, SpikeMonitor, mV, second

import dgnsim
from dgnsim.io import write_json, write_text

RESULTS = Path(__file__).resolve().parent / "results"
#: Weights that give both models a few Hz under the common drive (mean input 15-20 mV).
SYNAPSE = {"lif": {"w": 3.0 * mV}, "dgn": {"w": 4.0 * mV, "c": 0.1}}
#: label -> (model, integration method or None for the model's own, dtype or None for float64,
#: threshold: "block" for dgnsim's vectorised template, "brian2" for Brian2's own)
CONTENDERS = {
    "lif": ("lif", None, None, "block"),
    "dgn": ("dgn", None, None, "block"),
    "dgn_exponential_euler": ("dgn", "exponential_euler", None, "block"),
    "dgn_euler": ("dgn", "euler", None, "block"),
    "lif_float32": ("lif", None, np.float32, "block"),
    "dgn_float32": ("dgn", None, np.float32, "block"),
    "lif_brian2_threshold": ("lif", None, None, "brian2"),
    "dgn_brian2_threshold": ("dgn", None, None, "brian2"),
}
#: Bytes of the C++ types in the generated code.
_SIZES = {"double": 8, "float": 4, "char": 1, "int32_t": 4, "int64_t": 8, "bool": 1}


def network(sim, model, n, duration, method=None, rate=10 * Hz, dtype=None):
    grp = sim.add(
        dgnsim.make_group(model, n, {"I_ext": np.full(n, 0.0) * mV}, method=method, name="neurons", dtype=dtype)
    )
    src = sim.add(dgnsim.poisson_input(400, rate, duration, seed=1, name="input"))
    sim.add(dgnsim.connect(src, grp, p=0.25, seed=2, name="syn", dtype=dtype, **SYNAPSE[model]))
    spikes = sim.add(SpikeMonitor(grp, name="spikes"))
    return grp, spikes


def build_binary(model, n, duration, method=None, dtype=None, threshold="block", profile=False) -> dict:
    """Build one contender (cold), run it once for its rate; its directory for the timed runs.

    ``threshold``: "block" (what ``make_group`` gives on cpp_standalone) or "brian2" (Brian2's
    own threshold template). ``profile``: Brian2's per-code-object timers in the binary
    (``profiling_info.txt``)."""
    from brian2 import get_device

    with dgnsim.Simulation("cpp_standalone", seed=0) as sim:
        if profile:
            get_device().build_options["profile"] = True
        grp, spikes = network(sim, model, n, duration, method, dtype=dtype)
        if threshold == "brian2":
            for thresholder in grp.thresholder.values():
                thresholder.codeobj_class = None
        start = time.perf_counter()
        sim.build(duration)
        build_s = time.perf_counter() - start
        sim.run()
        rate = len(spikes.i[:]) / (n * float(duration))
        directory = sim.directory
    return {"directory": directory, "build_s": build_s, "rate_hz": rate}


def run_binary(directory: Path, profile: dict | None = None) -> float:
    """Run a built binary as Brian2 does (``main --results_dir``); its own network time (s).

    ``profile``: a dict that gets the seconds of each code object appended (a profiled build)."""
    results = directory / "results" / "bench"
    results.mkdir(parents=True, exist_ok=True)
    subprocess.run(["./main", "--results_dir", f"{results}/"], cwd=directory, check=True, stdout=subprocess.DEVNULL)
    seconds = float((results / "last_run_info.txt").read_text().split()[0])
    if profile is not None:
        for line in (results / "profiling_info.txt").read_text().splitlines():
            name, value = line.split()
            name = re.sub(r"_codeobject(_\d+)?$", "", name).removeprefix("neurons_")
            profile.setdefault(name, []).append(float(value))
    shutil.rmtree(results, ignore_errors=True)
    return seconds


def profile_main(rounds: int) -> int:
    """Where the DGN spends more than the LIF: Brian2's per-code-object timers, 10,000 neurons, 2 s.

    Writes benchmarks/results/foundation_profile.json and .md."""
    n, duration = 10_000, 2 * second
    build_dir = Path(tempfile.mkdtemp(prefix="dgnsim-bench-"))
    os.environ["DGNSIM_BUILD_DIR"] = str(build_dir)
    labels = ("lif", "dgn")
    built = {label: build_binary(label, n, duration, profile=True) for label in labels}
    totals: dict[str, list[float]] = {label: [] for label in labels}
    parts: dict[str, dict[str, list[float]]] = {label: {} for label in labels}
    for r in range(rounds):
        for label, b in built.items():
            totals[label].append(run_binary(b["directory"], parts[label]))
        print(
            f"   round {r + 1}/{rounds}: " + ", ".join(f"{k} {v[-1]:.3f}" for k, v in totals.items()), file=sys.stderr
        )
    med = {label: {k: statistics.median(v) for k, v in parts[label].items()} for label in labels}
    total = {label: statistics.median(v) for label, v in totals.items()}
    steps = round(float(duration) / 1e-4)
    result = {
        "network": {"neurons": n, "duration_s": float(duration), "rounds": rounds},
        "network_s": total,
        "ratio_dgn_lif": total["dgn"] / total["lif"],
        "code_objects_s": med,
        "rate_hz": {label: b["rate_hz"] for label, b in built.items()},
        "loop_bytes_per_neuron_step": {label: loop_bytes(b["directory"])["total_bytes"] for label, b in built.items()},
    }
    names = sorted(set(med["lif"]) | set(med["dgn"]), key=lambda k: -med["dgn"].get(k, 0))
    lines = [
        "# Where the DGN spends more than the LIF (cpp_standalone, Brian2's per-code-object timers)",
        "",
        f"{n} neurons, ~100 Poisson synapses each, {duration}, dt 0.1 ms (the foundation network, 2 s); "
        f"{rounds} rounds, both binaries once per round in turn; medians (s).",
        "",
        "| code object | LIF (s) | DGN (s) | DGN - LIF (s) | DGN / LIF | ns per neuron-step (LIF, DGN) |",
        "|---|---|---|---|---|---|",
        *[
            f"| {k} | {med['lif'].get(k, 0):.4f} | {med['dgn'].get(k, 0):.4f} | "
            f"{med['dgn'].get(k, 0) - med['lif'].get(k, 0):+.4f} | "
            f"{med['dgn'].get(k, 0) / max(med['lif'].get(k, 0), 1e-12):.2f} | "
            f"{med['lif'].get(k, 0) / (n * steps) * 1e9:.3f}, {med['dgn'].get(k, 0) / (n * steps) * 1e9:.3f} |"
            for k in names
        ],
        f"| network (binary's clock) | {total['lif']:.4f} | {total['dgn']:.4f} | "
        f"{total['dgn'] - total['lif']:+.4f} | {total['dgn'] / total['lif']:.2f} | |",
        "",
        f"Rates: LIF {built['lif']['rate_hz']:.1f} Hz, DGN {built['dgn']['rate_hz']:.1f} Hz.",
        "",
    ]
    shutil.rmtree(build_dir, ignore_errors=True)
    write_json(RESULTS / "foundation_profile.json", result)
    write_text(RESULTS / "foundation_profile.md", "\n".join(lines))
    print(f"wrote {RESULTS}/foundation_profile.json and .md", file=sys.stderr)
    return 0


def loop_bytes(directory: Path) -> dict:
    """Bytes per neuron and step that the generated neuron loops read and write (per-neuron arrays).

    Read from the C++ of the state updater (every array it loads and stores at ``_idx``) and
    of the threshold (its loads; its stores happen only on a spike).
    """
    out = {}
    for kind in ("stateupdater", "spike_thresholder"):
        path = next((directory / "code_objects").glob(f"neurons_{kind}_codeobject*.cpp"))
        code = path.read_text()
        loads = dict(
            (name, _SIZES[ctype])
            for ctype, name in re.findall(r"(?:const )?(\w+) \w+ = _ptr_array_neurons_(\w+)\[_idx\];", code)
        )
        stores = set(re.findall(r"^\s*_ptr_array_neurons_(\w+)\[_idx\] = ", code, flags=re.M))
        if kind == "spike_thresholder":
            stores = set()
        sizes = {**loads}
        for name in stores:
            if name not in sizes:  # a store of an array the loop does not load: its type from the pointer
                match = re.search(rf"(\w+)\*\s*(?:__restrict)?\s*_ptr_array_neurons_{name}\b", code)
                sizes[name] = _SIZES[match.group(1)] if match else 8
        out[kind] = {
            "loads": sorted(loads),
            "stores": sorted(stores),
            "bytes": sum(loads.values()) + sum(sizes[name] for name in stores),
        }
    out["total_bytes"] = sum(v["bytes"] for v in out.values())
    return out


#: A copy-and-add loop (``y[i] += a*x[i]``: two loads and a store of doubles per element), the
#: memory traffic of a neuron loop without its arithmetic; compiled as Brian2 compiles the loops.
_BANDWIDTH_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
int main(int argc, char **argv) {
    long n = atol(argv[1]); int reps = atoi(argv[2]); long inner = 200000000L / (24 * n) + 1;
    double *x = aligned_alloc(64, n * sizeof(double) + 64), *y = aligned_alloc(64, n * sizeof(double) + 64);
    for (long i = 0; i < n; i++) { x[i] = 1e-9 * i; y[i] = 0; }
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        for (long k = 0; k < inner; k++) {
            for (long i = 0; i < n; i++) y[i] += 0.999 * x[i];
            __asm__ volatile("" : : "r"(y) : "memory");
        }
        double t = (now() - t0) / inner; if (t < best) best = t;
    }
    printf("%.9e %g\\n", best, y[n / 2]);
    return 0;
}
"""


def bandwidth(working_set_bytes: int, repeats: int = 5) -> float:
    """Bytes per second (loaded + stored) of ``y[i] += a*x[i]`` over two arrays of ``working_set_bytes`` in all.

    Compiled with gcc ``-O3 -march=native`` (Brian2's flags for the loops); best of ``repeats``.
    """
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = Path(tmp) / "bw.c", Path(tmp) / "bw"
        src.write_text(_BANDWIDTH_C)
        subprocess.run(["gcc", "-O3", "-march=native", "-o", str(exe), str(src)], check=True)
        n = max(1, working_set_bytes // 16)
        out = subprocess.run([str(exe), str(n), str(repeats)], check=True, capture_output=True, text=True).stdout
    return 24 * n / float(out.split()[0])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (default 5, quick 2)")
    parser.add_argument(
        "--profile", action="store_true", help="only the per-code-object profile of LIF and DGN (foundation_profile.*)"
    )
    args = parser.parse_args(argv)
    if args.profile:
        return profile_main(args.rounds or 7)
    n, duration = (2000, 1 * second) if args.quick else (10_000, 10 * second)
    rounds = args.rounds or (2 if args.quick else 5)
    build_dir = Path(tempfile.mkdtemp(prefix="dgnsim-bench-"))
    os.environ["DGNSIM_BUILD_DIR"] = str(build_dir)  # cold builds
    steps = round(float(duration) / 1e-4)
    results = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "network": {
            "neurons": n,
            "duration_s": float(duration),
            "dt_ms": 0.1,
            "synapses_per_neuron": 100,
            "input_rate_hz": 10,
        },
        "method": f"each contender built once; {rounds} rounds, every binary once per round in turn; "
        "median of the binary's own network time",
    }
    print(f"1/4 build {len(CONTENDERS)} contenders: {n} neurons, {duration}, cpp_standalone", file=sys.stderr)
    built = {
        label: build_binary(model, n, duration, method, dtype, threshold)
        for label, (model, method, dtype, threshold) in CONTENDERS.items()
    }
    times: dict[str, list[float]] = {label: [] for label in CONTENDERS}
    for r in range(rounds):
        for label, b in built.items():
            times[label].append(run_binary(b["directory"]))
        print(f"   round {r + 1}/{rounds}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in times.items()), file=sys.stderr)
    print("2/4 bandwidth and bytes per neuron-step", file=sys.stderr)
    neuron_bytes = {label: loop_bytes(b["directory"]) for label, b in built.items()}
    in_cache = bandwidth(6 * n * 8)  # the size of the DGN's neuron arrays (the LIF's are smaller)
    memory = bandwidth(800_000_000, 3)
    cost = {}
    lif_median = statistics.median(times["lif"])
    lif32_median = statistics.median(times["lif_float32"])
    for label, b in built.items():
        med = statistics.median(times[label])
        per_step = neuron_bytes[label]["total_bytes"]
        cost[label] = {
            "network_s": med,
            "min_network_s": min(times[label]),
            "ratio_to_lif_min": min(times[label]) / min(times["lif"]),
            "all_network_s": times[label],
            "build_s": b["build_s"],
            "rate_hz": b["rate_hz"],
            "ratio_to_lif": med / lif_median,
            "ratio_to_lif_same_dtype": med / (lif32_median if CONTENDERS[label][2] is not None else lif_median),
            "neuron_steps_per_s": n * steps / med,
            "loop_bytes_per_neuron_step": per_step,
            "loops": neuron_bytes[label],
            "limit_neuron_steps_per_s_in_cache": in_cache / per_step,
            "limit_neuron_steps_per_s_memory": memory / per_step,
        }
    results["dgn_vs_lif"] = {
        **cost,
        "ratio_dgn_sequential": cost["dgn"]["ratio_to_lif"],
        "ratio_dgn_exponential_euler": cost["dgn_exponential_euler"]["ratio_to_lif"],
        "ratio_dgn_euler": cost["dgn_euler"]["ratio_to_lif"],
        "ratio_dgn_float32_to_lif_float32": cost["dgn_float32"]["ratio_to_lif_same_dtype"],
        "ratio_dgn_brian2_threshold_to_lif_brian2_threshold": cost["dgn_brian2_threshold"]["network_s"]
        / cost["lif_brian2_threshold"]["network_s"],
        "ratio_dgn_to_lif_brian2_threshold": cost["dgn"]["network_s"] / cost["lif_brian2_threshold"]["network_s"],
        "speedup_block_threshold_lif": cost["lif_brian2_threshold"]["network_s"] / cost["lif"]["network_s"],
        "speedup_block_threshold_dgn": cost["dgn_brian2_threshold"]["network_s"] / cost["dgn"]["network_s"],
    }
    results["bandwidth"] = {"copy_in_cache_bytes_per_s": in_cache, "copy_memory_bytes_per_s": memory}
    print("3/4 warm rerun with new parameters vs cold build", file=sys.stderr)
    small_n, small_t = 1000, 1 * second
    shutil.rmtree(build_dir, ignore_errors=True)
    with dgnsim.Simulation("cpp_standalone", seed=0) as sim:
        grp, _spikes = network(sim, "dgn", small_n, small_t)
        start = time.perf_counter()
        sim.build(small_t)
        sim.run()
        cold = time.perf_counter() - start
        start = time.perf_counter()
        sim.run({grp.I_ext: np.full(small_n, 3.0) * mV})
        warm = time.perf_counter() - start
    results["rerun_vs_cold_build"] = {
        "neurons": small_n,
        "duration_s": 1.0,
        "cold_build_and_run_s": cold,
        "warm_run_with_new_values_s": warm,
        "ratio_cold_over_warm": cold / warm,
    }
    print(f"   cold {cold:.2f} s, warm {warm:.3f} s", file=sys.stderr)
    print("4/4 cpp_standalone vs runtime (numpy)", file=sys.stderr)
    rt, cpp = _small_run("numpy", small_n, small_t), _small_run("cpp_standalone", small_n, small_t)
    results["cpp_vs_runtime"] = {
        "neurons": small_n,
        "duration_s": 1.0,
        "numpy_run_s": rt,
        "cpp_run_s": cpp,
        "speedup": rt / cpp,
    }
    shutil.rmtree(build_dir, ignore_errors=True)
    name = "foundation_quick" if args.quick else "foundation"
    write_json(RESULTS / f"{name}.json", results)
    write_text(RESULTS / f"{name}.md", _markdown(results, cost, args.quick, n, duration, rounds, in_cache, memory))
    print(f"wrote {RESULTS / name}.json and .md", file=sys.stderr)
    return 0


def _small_run(device, n, duration) -> float:
    with dgnsim.Simulation(device, seed=0) as sim:
        network(sim, "dgn", n, duration)
        sim.build(duration)
        start = time.perf_counter()
        sim.run()
        return sim.timings.get("network_s", time.perf_counter() - start)


def _markdown(results, cost, quick, n, duration, rounds, in_cache, memory) -> str:
    rr, cr, d = results["rerun_vs_cold_build"], results["cpp_vs_runtime"], results["dgn_vs_lif"]
    return "\n".join(
        [
            f"# Foundation benchmarks ({'quick' if quick else 'full'})",
            f"Machine: {os.cpu_count()} cores, {platform.platform()}.",
            f"Network: {n} neurons, ~100 Poisson synapses each (400 sources at 10 Hz), {duration}, dt 0.1 ms, "
            f"cpp_standalone. Each contender built once; {rounds} rounds, every binary run once per round in turn; "
            "the median of the binary's own network time (without the build); 'fastest rounds': each contender's "
            "fastest round over the LIF's (on a shared machine the least disturbed round).",
            "",
            "| model / method | state | threshold | network time (s), median | all rounds (s) | rate (Hz) "
            "| ratio to LIF | ratio to LIF, same dtype | ratio to LIF, fastest rounds | neuron-steps/s "
            "| loop bytes per neuron-step | limit in cache (neuron-steps/s) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
            *[
                f"| {k} | {'float32' if CONTENDERS[k][2] is not None else 'float64'} | "
                f"{'Brian2' if CONTENDERS[k][3] == 'brian2' else 'block'} | {v['network_s']:.2f} | "
                f"{', '.join(f'{t:.2f}' for t in v['all_network_s'])} | {v['rate_hz']:.1f} | {v['ratio_to_lif']:.3f} | "
                f"{v['ratio_to_lif_same_dtype']:.3f} | {v['ratio_to_lif_min']:.3f} | {v['neuron_steps_per_s']:.3g} | "
                f"{v['loop_bytes_per_neuron_step']} | {v['limit_neuron_steps_per_s_in_cache']:.3g} |"
                for k, v in cost.items()
            ],
            "",
            f"Threshold: 'block' is dgnsim's vectorised template (what `make_group` gives on cpp_standalone), "
            f"'Brian2' is Brian2's own loop; the same spikes (tests/test_block_threshold.py). The block threshold "
            f"makes the LIF {d['speedup_block_threshold_lif']:.2f}x and the DGN "
            f"{d['speedup_block_threshold_dgn']:.2f}x faster; with Brian2's threshold on both, DGN/LIF is "
            f"{d['ratio_dgn_brian2_threshold_to_lif_brian2_threshold']:.3f}; the DGN with the block threshold "
            f"against the LIF with Brian2's: {d['ratio_dgn_to_lif_brian2_threshold']:.3f}.",
            "",
            f"Bandwidth of `y[i] += a*x[i]` in C (gcc -O3 -march=native, bytes loaded + stored): "
            f"{in_cache / 1e9:.0f} GB/s at the size of six neuron arrays ({6 * n * 8 // 1000} kB, in cache), "
            f"{memory / 1e9:.0f} GB/s from main memory (800 MB). "
            "Loop bytes: the per-neuron arrays that the generated state update loads and stores and that the "
            "threshold loads, per neuron and step (from code_objects/*.cpp); the limit is the in-cache bandwidth "
            "over them, for the neuron loops alone (the synaptic events, the spike monitor and the per-step "
            "overhead come on top).",
            "",
            f"Warm rerun with new parameter values: {rr['warm_run_with_new_values_s']:.3f} s against a cold build "
            f"and run: {rr['cold_build_and_run_s']:.1f} s (ratio {rr['ratio_cold_over_warm']:.0f}x; "
            f"{rr['neurons']} neurons, 1 s).",
            f"cpp_standalone against runtime numpy: {cr['numpy_run_s']:.2f} s vs {cr['cpp_run_s']:.3f} s "
            f"(speed-up {cr['speedup']:.1f}x; {cr['neurons']} DGN neurons, 1 s).",
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
