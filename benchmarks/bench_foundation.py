"""Foundation benchmarks, measured side by side in one run (not timed tests).

1. Cost of ``dgn`` against ``lif`` on the same network: 10,000 neurons, ~100 Poisson
   input synapses each, 10 s at dt = 0.1 ms, cpp_standalone, simulation time of the
   binary without the build. Also the DGN with Brian2's ``exponential_euler`` and
   ``euler`` for reference.
2. A second run of a built network with new parameter values against a cold build.
3. cpp_standalone against the runtime target (numpy) on the same (smaller) network.

Writes benchmarks/results/foundation.json and .md. Usage:
``python benchmarks/bench_foundation.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
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


def network(sim, model, n, duration, method=None, rate=10 * Hz):
    grp = sim.add(dgnsim.make_group(model, n, {"I_ext": np.full(n, 0.0) * mV}, method=method, name="neurons"))
    src = sim.add(dgnsim.poisson_input(400, rate, duration, seed=1, name="input"))
    sim.add(dgnsim.connect(src, grp, p=0.25, seed=2, name="syn", **SYNAPSE[model]))
    spikes = sim.add(SpikeMonitor(grp, name="spikes"))
    return grp, spikes


def timed_run(device, model, n, duration, method=None, repeats=1):
    """Best network time over ``repeats`` runs of one build, the build time and the rate."""
    with dgnsim.Simulation(device, seed=0) as sim:
        _grp, spikes = network(sim, model, n, duration, method)
        start = time.perf_counter()
        sim.build(duration)
        build_s = time.perf_counter() - start
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            sim.run()
            wall = time.perf_counter() - start
            times.append(sim.timings.get("network_s", wall))
        rate = len(spikes.i[:]) / (n * float(duration))
    return {"network_s": min(times), "all_network_s": times, "build_s": build_s, "rate_hz": rate}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    args = parser.parse_args(argv)
    n, duration, repeats = (2000, 1 * second, 1) if args.quick else (10_000, 10 * second, 3)
    build_dir = Path(tempfile.mkdtemp(prefix="dgnsim-bench-"))
    os.environ["DGNSIM_BUILD_DIR"] = str(build_dir)  # cold builds
    results = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "network": {
            "neurons": n,
            "duration_s": float(duration),
            "dt_ms": 0.1,
            "synapses_per_neuron": 100,
            "input_rate_hz": 10,
        },
    }
    print(f"1/3 DGN vs LIF: {n} neurons, {duration}, cpp_standalone, {repeats} runs each", file=sys.stderr)
    cost = {}
    for label, model, method in [
        ("lif", "lif", None),
        ("dgn", "dgn", None),
        ("dgn_exponential_euler", "dgn", "exponential_euler"),
        ("dgn_euler", "dgn", "euler"),
    ]:
        cost[label] = timed_run("cpp_standalone", model, n, duration, method, repeats)
        print(f"   {label}: {cost[label]['network_s']:.2f} s ({cost[label]['rate_hz']:.1f} Hz)", file=sys.stderr)
    results["dgn_vs_lif"] = {
        **cost,
        "ratio_dgn_sequential": cost["dgn"]["network_s"] / cost["lif"]["network_s"],
        "ratio_dgn_exponential_euler": cost["dgn_exponential_euler"]["network_s"] / cost["lif"]["network_s"],
        "ratio_dgn_euler": cost["dgn_euler"]["network_s"] / cost["lif"]["network_s"],
    }
    print("2/3 warm rerun with new parameters vs cold build", file=sys.stderr)
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
    print("3/3 cpp_standalone vs runtime (numpy)", file=sys.stderr)
    rt = timed_run("numpy", "dgn", small_n, small_t)
    cpp = timed_run("cpp_standalone", "dgn", small_n, small_t)
    results["cpp_vs_runtime"] = {
        "neurons": small_n,
        "duration_s": 1.0,
        "numpy_run_s": rt["network_s"],
        "cpp_run_s": cpp["network_s"],
        "speedup": rt["network_s"] / cpp["network_s"],
    }
    shutil.rmtree(build_dir, ignore_errors=True)
    name = "foundation_quick" if args.quick else "foundation"
    write_json(RESULTS / f"{name}.json", results)
    d = results["dgn_vs_lif"]
    write_text(
        RESULTS / f"{name}.md",
        "\n".join(
            [
                f"# Foundation benchmarks ({'quick' if args.quick else 'full'})",
                f"Machine: {os.cpu_count()} cores, {platform.platform()}.",
                f"Network: {n} neurons, ~100 Poisson synapses each (400 sources at 10 Hz), {duration}, dt 0.1 ms, "
                "cpp_standalone; times are the binary's own network time, best of the runs.",
                "",
                "| model / method | network time (s) | rate (Hz) | ratio to LIF |",
                "|---|---|---|---|",
                *[
                    f"| {k} | {v['network_s']:.2f} | {v['rate_hz']:.1f} | "
                    f"{v['network_s'] / d['lif']['network_s']:.3f} |"
                    for k, v in cost.items()
                ],
                "",
                f"Warm rerun with new parameter values: {warm:.3f} s against a cold build and run: {cold:.1f} s "
                f"(ratio {cold / warm:.0f}x; {small_n} neurons, 1 s).",
                f"cpp_standalone against runtime numpy: {rt['network_s']:.2f} s vs {cpp['network_s']:.3f} s "
                f"(speed-up {rt['network_s'] / cpp['network_s']:.1f}x; {small_n} DGN neurons, 1 s).",
                "",
            ]
        ),
    )
    print(f"wrote {RESULTS / name}.json and .md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
