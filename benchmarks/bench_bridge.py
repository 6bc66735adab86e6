"""Bridge throughput: the 300 FSDD test samples in Brian2 cpp_standalone vs PyTorch on the same CPU.

For the committed checkpoints (checkpoints/dgn, checkpoints/lif; else a small network is
trained first: hidden=32, 2 epochs, 600 samples): one cold build per model and layout, then
rounds in which every contender runs once in turn (medians):

- Brian2, reused build, the serial layout (what :func:`dgnsim.interop.bridge.run_test_split`
  uses): wall time of :func:`~dgnsim.interop.bridge.run_brian2`, the network's own run (the
  binary's clock), and the overhead: everything else (making the Brian2 objects, code
  generation, writing the inputs, starting the binary, reading the monitors, building the
  arrays) as a fraction of the wall time;
- the same with the copies layout (one copy of the network per sample; the layout before);
- PyTorch: the float32 forward pass (inference) and the float64 reference pass with the
  distance to threshold (:func:`~dgnsim.interop.bridge.run_torch`), 2 threads.

Spike-for-spike agreement (Brian2 against the float64 PyTorch pass) is checked on every
Brian2 run. Writes benchmarks/results/bridge.json and bridge.md. Run:
``python benchmarks/bench_bridge.py [--rounds R] [--limit N]``.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch

from dgnsim.fsdd.data import load_fsdd
from dgnsim.interop import bridge
from dgnsim.io import write_json, write_text

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
LAYOUTS = ("serial", "copies")
#: Brian2 contenders: label -> (layout, as in a new process)
BRIAN2 = {"serial": ("serial", False), "serial_new_process": ("serial", True), "copies": ("copies", False)}


def _network(model: str, scratch: Path) -> Path:
    path = ROOT / "checkpoints" / model
    if (path / "manifest.json").exists():
        return path
    from dgnsim.fsdd.train import train

    train(model, scratch / model, hidden=32, epochs=2, limit=600, progress=False)
    return scratch / model


def _brian2(net, x, reference, layout: str, new_process: bool = False) -> dict:
    """One Brian2 run; ``new_process``: as a new process would run it (Brian2 makes the objects and
    generates the code again, the compiled binary is reused)."""
    rec = bridge.run_brian2(net, x, "cpp_standalone", layout=layout, record_state=False, reuse_build=not new_process)
    agreement = bridge.compare(reference, rec)
    t = rec.timings
    return {
        "seconds": rec.seconds,
        "network_s": t["network_s"],
        "overhead_s": rec.seconds - t["network_s"],
        "overhead_fraction": (rec.seconds - t["network_s"]) / rec.seconds,
        "compiled": not t.get("reused", False),
        "compile_s": t.get("compile_s", 0.0),
        "phases": {k: v for k, v in t.items() if k not in ("reused", "in_process")},
        "spike_identical": agreement.spike_identical,
        "class_identical": agreement.class_identical,
    }


def _torch_float32(fnet, x) -> float:
    """Wall time of the float32 forward pass of ``fnet`` (a float32 copy of the network) on ``x``."""
    xt = torch.as_tensor(x, dtype=torch.float32)
    start = time.perf_counter()
    with torch.no_grad():
        fnet(xt)
    return time.perf_counter() - start


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (default 3)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N test samples")
    parser.add_argument("--out", default="bridge", help="results name (benchmarks/results/<out>.json/.md)")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    builds = tempfile.mkdtemp(prefix="dgnsim-bench-bridge-")
    os.environ["DGNSIM_BUILD_DIR"] = builds  # cold builds
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        nets = {}
        for model in ("dgn", "lif"):
            path = _network(model, Path(tmp))
            net, manifest = bridge.load_surrogate(path)
            ds = load_fsdd(None, split=(manifest or {}).get("split", "official"))
            x = ds.test_x[: args.limit]
            reference = bridge.run_torch(net, x)
            cold = {layout: _brian2(net, x, reference, layout) for layout in LAYOUTS}
            for layout, c in cold.items():
                print(f"{model} {layout}: cold build and run {c['seconds']:.1f} s", flush=True)
            fnet = copy.deepcopy(net).float()  # a copy: converting ``net`` itself would change its float64 weights
            _torch_float32(fnet, x)  # warm-up (first call: the float32 step is generated)
            nets[model] = (path, net, x, reference, cold, fnet)
        times: dict = {m: {**{k: [] for k in BRIAN2}, "torch_float32_s": [], "torch_float64_s": []} for m in nets}
        for r in range(args.rounds):
            for model, (_path, net, x, reference, _cold, fnet) in nets.items():
                for label, (layout, new_process) in BRIAN2.items():
                    times[model][label].append(_brian2(net, x, reference, layout, new_process))
                times[model]["torch_float32_s"].append(_torch_float32(fnet, x))
                times[model]["torch_float64_s"].append(bridge.run_torch(net, x).seconds)
            print(
                f"round {r + 1}/{args.rounds}: "
                + ", ".join(
                    f"{m} serial {t['serial'][-1]['seconds']:.2f} s (network {t['serial'][-1]['network_s']:.2f}), "
                    f"copies {t['copies'][-1]['seconds']:.2f} s, torch {t['torch_float32_s'][-1]:.3f} s"
                    for m, t in times.items()
                ),
                flush=True,
            )
    for model, (path, net, x, _reference, cold, _fnet) in nets.items():
        t = times[model]
        n = len(x)
        row = {
            "model": model,
            "checkpoint": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else "fresh (hidden=32)",
            "hidden": net.hidden.n_out,
            "samples": n,
        }
        for label, (layout, _new) in BRIAN2.items():
            runs = t[label]
            med = {k: statistics.median(r[k] for r in runs) for k in ("seconds", "network_s", "overhead_s")}
            row[label] = {
                "cold_build_and_run_s": cold[layout]["seconds"],
                "compile_s": cold[layout]["compile_s"],
                "reused_build_s": med["seconds"],
                "network_s": med["network_s"],
                "overhead_s": med["overhead_s"],
                "overhead_fraction": statistics.median(r["overhead_fraction"] for r in runs),
                "samples_per_s": n / med["seconds"],
                "phases_median": {
                    k: statistics.median(r["phases"][k] for r in runs) for k in runs[0]["phases"] if k != "compile_s"
                },
                "spike_identical": min(r["spike_identical"] for r in runs),
                "class_identical": min(r["class_identical"] for r in runs),
                "all_seconds": [r["seconds"] for r in runs],
            }
        row["torch_float32_s"] = statistics.median(t["torch_float32_s"])
        row["torch_float32_samples_per_s"] = n / row["torch_float32_s"]
        row["torch_float64_reference_s"] = statistics.median(t["torch_float64_s"])
        row["torch_float64_samples_per_s"] = n / row["torch_float64_reference_s"]
        rows.append(row)
    result = {
        "benchmark": "bridge",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "torch_threads": 2},
        "method": f"one cold build per model and layout, then {args.rounds} rounds (every contender once per "
        "round in turn); medians. Brian2 with a reused build; overhead = wall time of run_brian2 minus the "
        "binary's own network time.",
        "rows": rows,
    }
    shutil.rmtree(builds, ignore_errors=True)
    write_json(RESULTS / f"{args.out}.json", result)
    write_text(RESULTS / f"{args.out}.md", _markdown(rows, args.rounds))
    return result


def _markdown(rows, rounds) -> str:
    lines = [
        "# Bridge: FSDD test split in Brian2 cpp_standalone vs PyTorch (same CPU)",
        "",
        f"Machine: {os.cpu_count()} cores; PyTorch with 2 threads. One cold build per model and layout, then "
        f"{rounds} rounds, every contender once per round in turn; medians. Brian2 with the build reused: wall "
        "time of `run_brian2` (making the Brian2 objects, code generation, writing the inputs, the binary, "
        "reading the monitors, building the arrays); network: the binary's own clock; overhead: the rest. "
        "`serial` (one copy of the network, the samples one after another) is what `run_test_split` uses, "
        "here with the build made earlier in this process (inputs written as a bit-packed table with numpy, "
        "monitors read with numpy); `serial_new_process`: the same as the first call of a new process makes "
        "it (Brian2 objects and code generation again, the compiled binary reused); `copies` (one copy of "
        "the network per sample) was the layout before.",
        "",
        "| model | layout | samples | cold build + run (s) | reused build (s) | network (s) | overhead (s) "
        "| overhead fraction | Brian2 samples/s | PyTorch float32 samples/s | identical spikes | same class |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        for label in BRIAN2:
            b = r[label]
            lines.append(
                f"| {r['model']} | {label} | {r['samples']} | {b['cold_build_and_run_s']:.1f} | "
                f"{b['reused_build_s']:.2f} | {b['network_s']:.2f} | {b['overhead_s']:.2f} | "
                f"{b['overhead_fraction']:.0%} | {b['samples_per_s']:.0f} | {r['torch_float32_samples_per_s']:.0f} | "
                f"{b['spike_identical']}/{r['samples']} | {b['class_identical']}/{r['samples']} |"
            )
    lines += ["", "Phases (medians, s):", ""]
    for r in rows:
        for label in BRIAN2:
            ph = r[label]["phases_median"]
            lines.append(f"- {r['model']} {label}: " + ", ".join(f"{k} {v:.3f}" for k, v in ph.items()))
    lines += [
        "",
        "PyTorch float64 reference pass (with the distance to threshold): "
        + ", ".join(f"{r['model']} {r['torch_float64_reference_s']:.2f} s" for r in rows)
        + ".",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
