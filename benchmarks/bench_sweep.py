"""Benchmark of the sweep engine: one build and many runs, against a build per point.

A 1,000-neuron DGN population under Poisson input for 1 s, over 200 points (20 gate
conductances c x 10 membrane time constants), measuring the firing rate, four ways:

(a) a loop that builds the network for each point (its values set at construction, so each
    point's generated data differ and the binary is compiled again);
(b) one build, then the points run one after another with run arguments (``Simulation.run``);
(c) the engine (``dgnsim.sweep.run_sweep``) with 1 and with 2 Dask workers, each call
    starting its own LocalCluster (as ``dgnsim sweep --workers N`` does), so its time holds
    the cluster's start-up and shut-down;
(d) the engine with 1 and with 2 workers on a running cluster (``client=`` of a LocalCluster
    started once before the rounds, as on a cluster that is up), its steady state.

The contenders are interleaved in rounds: the points are split into ``--rounds`` parts and
every contender runs its share of each round, one after the other; (a) runs
``--rebuild-points`` points in all (a build costs the same for every point), and is
reported per point. Reported: (a)/(b) per point, 2 workers against 1 (running cluster, and
with start-up), the engine's overhead per point beyond the worker's run of the binary, and
the start-up and shut-down of a cluster per sweep. As a control, each round also times a
CPU-bound Python loop on one process and split over two: what the machine's two cores gave
in that round (other work on a shared machine takes its share). Writes benchmarks/results/sweep.json and
sweep.md. Usage: python benchmarks/bench_sweep.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

import dgnsim
from dgnsim.io import write_json, write_text
from dgnsim.sweep import build_network, open_sweep, parse_spec, run_sweep

OUT = Path(__file__).parent / "results"


def _spec(neurons: int, duration: str, points: list[dict] | None = None, grid: dict | None = None) -> dict:
    spec = {
        "model": "dgn",
        "neurons": neurons,
        "duration": duration,
        "device": "cpp_standalone",
        "seed": 11,
        "input": {"sources": 100, "rate": "30 Hz", "p": 0.3},
        "synapse": {"w": "6 mV"},
        "measure": {"quantities": ["rate"]},
    }
    spec.update({"points": points} if points is not None else {"grid": grid})
    return spec


def _grid(quick: bool) -> list[dict]:
    cs = np.round(np.linspace(0.0, 0.38, 4 if quick else 20), 4)
    taus = np.linspace(10, 30, 5 if quick else 10)
    return [{"c": float(c), "tau_mem": f"{t:g} ms"} for c in cs for t in taus]


def _rates(sim, objects, spec) -> float:
    return objects["spikes"].num_spikes / (spec.neurons * float(spec.duration))


def build_per_point(raw: dict, build_dir: Path) -> tuple[float, list[float]]:
    """(a): a new build for each point, in an empty build folder (nothing reused); seconds and rates."""
    spec = parse_spec(raw)
    before = os.environ.get("DGNSIM_BUILD_DIR")
    os.environ["DGNSIM_BUILD_DIR"] = str(build_dir)
    try:
        start, rates = time.perf_counter(), []
        for point in spec.points:
            with dgnsim.Simulation("cpp_standalone", dt=spec.dt, seed=spec.seed) as sim:
                objects = build_network(spec, point)
                sim.add(*objects.values())
                sim.build(spec.duration)
                sim.run()
                rates.append(_rates(sim, objects, spec))
        return time.perf_counter() - start, rates
    finally:
        if before is None:
            os.environ.pop("DGNSIM_BUILD_DIR")
        else:
            os.environ["DGNSIM_BUILD_DIR"] = before


def _defaults(spec) -> dict:
    """The varied parameters at the model's defaults: the point (b) is built at, as the engine is."""
    tables = {"neurons": spec.model.parameters, "synapses": spec.model.synapse.parameters}
    return {v.name: tables[v.owner][v.name].default for v in spec.varied}


def one_build_serial(raw: dict) -> tuple[float, list[float], float]:
    """(b): one build, every point a run with run arguments; seconds (runs only), rates, build seconds."""
    spec = parse_spec(raw)
    with dgnsim.Simulation("cpp_standalone", dt=spec.dt, seed=spec.seed) as sim:
        objects = build_network(spec, _defaults(spec))
        sim.add(*objects.values())
        t0 = time.perf_counter()
        sim.build(spec.duration)
        build_s = time.perf_counter() - t0
        owners = {"neurons": objects["neurons"], "synapses": objects["input_synapses"]}
        start, rates = time.perf_counter(), []
        for point in spec.points:
            sim.run({getattr(owners[v.owner], v.name): point[v.name] for v in spec.varied})
            rates.append(_rates(sim, objects, spec))
        return time.perf_counter() - start, rates, build_s


def engine(raw: dict, store: Path, **where) -> tuple[float, list[float], float]:
    """(c), (d): the engine (``where``: workers= or client=); seconds, rates (in point order),
    mean time of a point on its worker (the binary's run, reading and removing its results)."""
    spec = parse_spec(raw)
    start = time.perf_counter()
    run_sweep(spec, store, progress=False, **where)
    wall = time.perf_counter() - start
    ds = open_sweep(store)
    return wall, [float(x) for x in np.asarray(ds.rate).ravel()], float(np.asarray(ds.run_s).mean())


def spin(n: int) -> float:
    """A CPU-bound loop (the machine's own 2-against-1 scaling, timed beside the engine); seconds."""
    start, x = time.perf_counter(), 0
    for i in range(n):
        x += i * i
    return time.perf_counter() - start


def machine_scaling(pool, n: int = 4_000_000) -> float:
    """The same work on one process and split over two: how much faster two cores made it."""
    start = time.perf_counter()
    pool.map(spin, [n])
    one = time.perf_counter() - start
    start = time.perf_counter()
    pool.map(spin, [n // 2, n // 2])
    return one / (time.perf_counter() - start)


ENGINES = {
    "c_engine_1_worker": {"workers": 1},
    "c_engine_2_workers": {"workers": 2},
    "d_running_1_worker": {"client": 1},
    "d_running_2_workers": {"client": 2},
}


def main(quick: bool, rounds: int, rebuild_points: int) -> dict:
    from dask.distributed import Client, LocalCluster

    neurons, duration = (200, "200 ms") if quick else (1000, "1 s")
    points = _grid(quick)
    shares = [points[r::rounds] for r in range(rounds)]
    rebuild = [points[k * len(points) // rebuild_points] for k in range(rebuild_points)]
    rebuild_shares = [rebuild[r::rounds] for r in range(rounds)]
    times = {"a_build_per_point": [], "b_one_build_serial": [], **{k: [] for k in ENGINES}}
    counts = {k: [] for k in times}
    run_s = {k: [] for k in ENGINES}
    agree, build_s, machine = True, [], []
    scratch = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    clusters, clients = [], {}
    pool = get_context("spawn").Pool(2)
    try:
        pool.map(spin, [10, 10])
        # warm-up: compile the one binary of (b), (c) and (d) (built at the defaults), so none of them pays for it
        one_build_serial(_spec(neurons, duration, points=shares[0][:1]))
        for n in (1, 2):
            clusters.append(LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None))
            clients[n] = Client(clusters[-1])
            run_sweep(
                parse_spec(_spec(neurons, duration, points=shares[0][:2])),
                scratch / f"warm{n}.zarr",
                client=clients[n],
                progress=False,
            )  # the workers import dgnsim once
        for r in range(rounds):
            share = shares[r]
            t, rates_b, b = one_build_serial(_spec(neurons, duration, points=share))
            times["b_one_build_serial"].append(t)
            counts["b_one_build_serial"].append(len(share))
            build_s.append(b)
            for key, where in ENGINES.items():
                where = {"client": clients[where["client"]]} if "client" in where else where
                t, rates_c, mean_run = engine(
                    _spec(neurons, duration, points=share), scratch / f"r{r}_{key}.zarr", **where
                )
                times[key].append(t)
                counts[key].append(len(share))
                run_s[key].append(mean_run)
                agree &= bool(np.allclose(rates_b, rates_c, rtol=0, atol=1e-12))
            if rebuild_shares[r]:
                t, _ = build_per_point(_spec(neurons, duration, points=rebuild_shares[r]), scratch / f"builds{r}")
                times["a_build_per_point"].append(t)
                counts["a_build_per_point"].append(len(rebuild_shares[r]))
            machine.append(machine_scaling(pool))
            print(f"round {r + 1}/{rounds} done", flush=True)
    finally:
        pool.terminate()
        for c in [*clients.values(), *clusters]:
            c.close()
        shutil.rmtree(scratch, ignore_errors=True)
    per_point = {k: float(np.median(np.array(times[k]) / np.array(counts[k]))) for k in times}
    # a cluster's start-up and shut-down per sweep: an engine call that starts its own, minus one on a running one
    startup = {
        n: float(
            np.median(
                np.array(times[f"c_engine_{n}_worker{'s' if n > 1 else ''}"])
                - np.array(times[f"d_running_{n}_worker{'s' if n > 1 else ''}"])
            )
        )
        for n in (1, 2)
    }
    point_on_worker = float(np.median(run_s["d_running_1_worker"]))
    res = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "network": {
            "model": "dgn",
            "neurons": neurons,
            "duration": duration,
            "points": len(points),
            "rebuild_points": rebuild_points,
            "rounds": rounds,
        },
        "seconds_per_point": per_point,
        "rounds": times,
        "points_per_round": counts,
        "point_on_worker_s": {k: float(np.median(v)) for k, v in run_s.items()},
        "build_s": float(np.median(build_s)),
        "engine_equals_serial": agree,
        "ratio_build_per_point_vs_one_build": per_point["a_build_per_point"] / per_point["b_one_build_serial"],
        "ratio_2_workers_vs_1_running": per_point["d_running_1_worker"] / per_point["d_running_2_workers"],
        "ratio_2_workers_vs_1_with_startup": per_point["c_engine_1_worker"] / per_point["c_engine_2_workers"],
        "engine_overhead_per_point_s": per_point["d_running_1_worker"] - point_on_worker,
        "cluster_startup_s": startup,
        "machine_2_vs_1_cpu_loop": float(np.median(machine)),
        "machine_2_vs_1_cpu_loop_rounds": machine,
    }
    return res


def report(res: dict) -> str:
    p = res["seconds_per_point"]
    n = res["network"]
    w = res["point_on_worker_s"]
    per_round = n["points"] // n["rounds"]
    return "\n".join(
        [
            "# Sweep engine benchmark (C++ standalone)",
            "",
            f"Machine: {res['machine']['cpus']} cores. {n['points']} points of a {n['neurons']}-neuron DGN for "
            f"{n['duration']} (rate measured); contenders interleaved in {n['rounds']} rounds of {per_round} points; "
            f"the build-per-point loop on {n['rebuild_points']} points. Medians per point.",
            "",
            "| contender | s per point |",
            "|---|---|",
            f"| (a) a build per point | {p['a_build_per_point']:.2f} |",
            f"| (b) one build, serial run arguments | {p['b_one_build_serial']:.4f} |",
            f"| (c) engine, 1 worker, starting its cluster | {p['c_engine_1_worker']:.4f} |",
            f"| (c) engine, 2 workers, starting its cluster | {p['c_engine_2_workers']:.4f} |",
            f"| (d) engine, 1 worker, running cluster | {p['d_running_1_worker']:.4f} |",
            f"| (d) engine, 2 workers, running cluster | {p['d_running_2_workers']:.4f} |",
            "",
            f"- (a)/(b): **{res['ratio_build_per_point_vs_one_build']:.1f}x** (target >= 20x).",
            f"- engine 2 workers against 1 on a running cluster: **{res['ratio_2_workers_vs_1_running']:.2f}x** "
            f"(target >= 1.7x on 2 cores); with each sweep starting its own cluster "
            f"({per_round} points): {res['ratio_2_workers_vs_1_with_startup']:.2f}x. The machine itself, in the "
            f"same rounds: a CPU-bound Python loop split over 2 processes ran "
            f"{res['machine_2_vs_1_cpu_loop']:.2f}x faster than on 1 (the cores are shared with other work).",
            f"- a point on its worker (the binary's run, reading and removing its results) "
            f"{w['d_running_1_worker']:.4f} s; the engine's overhead beyond it (1 worker, running cluster: "
            f"dispatch, transfer, store) {res['engine_overhead_per_point_s']:.4f} s per point.",
            f"- starting and closing a LocalCluster per sweep: {res['cluster_startup_s'][1]:.1f} s (1 worker), "
            f"{res['cluster_startup_s'][2]:.1f} s (2 workers) (worker processes start and import dgnsim).",
            f"- the engine's rates equal the serial run's at every point: {res['engine_equals_serial']}.",
            f"- one build: {res['build_s']:.1f} s (reused where the binary exists).",
            "",
        ]
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 neurons, 200 ms, 20 points")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--rebuild-points", type=int, default=4)
    args = parser.parse_args()
    result = main(args.quick, args.rounds, args.rebuild_points)
    name = "sweep_quick" if args.quick else "sweep"
    write_json(OUT / f"{name}.json", result)
    write_text(OUT / f"{name}.md", report(result))
    print(report(result))
