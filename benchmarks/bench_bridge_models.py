"""Every model through the bridge: trained networks, FSDD test split, Brian2 vs PyTorch spike for spike.

For each freshly trained network ``runs/robustness/runs/<model>[_rec]/seed0`` (written by
``dgnsim robustness``; missing ones are skipped with a note) and each committed checkpoint
(``checkpoints/<model>``), runs the 300 FSDD test samples through PyTorch (float64) and
Brian2 cpp_standalone (one build for all samples), and the first ``--runtime-samples`` (20)
through the runtime target (numpy), compared with cpp_standalone. Reports per network:
identical hidden spike trains / 300, same predicted class / 300, the largest distance to
threshold (mV) at the first differing step where spikes differ, and build+run seconds.
Writes benchmarks/results/bridge_models.json and .md (atomically, after every network).

Run: python benchmarks/bench_bridge_models.py [--runs DIR] [--limit N] [--no-committed]
With ``--network NAME=DIR`` (repeatable) only those trained networks are run, and the
results go to benchmarks/results/<--name>.json/.md (e.g. ``--name bridge_delays``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from dgnsim.interop import bridge
from dgnsim.io import write_json, write_text

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
#: The networks ``dgnsim robustness`` trains by default (feed-forward models, then recurrent ones).
EXPECTED = ["lif", "alif", "multiscale", "lnm", "sdgn", "dgn", "dgn_activity", "lif_rec", "dgn_rec"]


def _networks(runs: Path, committed: bool) -> list[tuple[str, str, Path]]:
    found, names = [], list(EXPECTED)
    if runs.is_dir():
        names += sorted(p.name for p in runs.iterdir() if p.is_dir() and p.name not in EXPECTED)
    for name in names:
        path = runs / name / "seed0"
        if (path / "manifest.json").exists() and (path / "model.safetensors").exists():
            found.append((name, "fresh (robustness seed0)", path))
        else:
            print(f"note: {path} has no trained network yet; skipped", flush=True)
    if committed:
        for path in sorted((ROOT / "checkpoints").glob("*/manifest.json")):
            found.append((path.parent.name, "committed checkpoint", path.parent))
    return found


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def measure(name: str, source: str, path: Path, limit: int | None, runtime_samples: int) -> dict:
    """One network: PyTorch vs cpp_standalone on the test split, runtime vs cpp_standalone on a subset."""
    start = time.perf_counter()
    run = bridge.run_test_split(path, "cpp_standalone", limit=limit)
    total = time.perf_counter() - start
    a = run.agreement
    net, _ = bridge.load_surrogate(path)
    k = min(runtime_samples, a.n)
    rt = bridge.run_brian2(net, run.inputs[:k], "numpy")
    rt_spikes = int(sum(np.array_equal(rt.spikes[i], run.brian2.spikes[i]) for i in range(k)))
    rt_logit = float(np.max(np.abs(rt.logits - run.brian2.logits[:k])))
    differ = [s for s in a.samples if not s.identical]
    return {
        "network": name,
        "source": source,
        "path": _rel(path),
        "model": net.hidden.model_name,
        "recurrent": net.hidden.recurrent,
        "hidden": net.hidden.n_out,
        "samples": a.n,
        "spike_identical": a.spike_identical,
        "class_identical": a.class_identical,
        "max_distance_where_differ_mv": a.max_distance_mv,
        "differing_samples": [
            {
                "index": s.index,
                "first_step": s.first_step,
                "neurons": list(s.neurons),
                "torch_distance_mv": s.torch_distance_mv,
                "brian2_distance_mv": s.brian2_distance_mv,
            }
            for s in differ
        ],
        "max_logit_difference_mv": a.max_logit_difference_mv,
        "torch_accuracy": a.torch_accuracy,
        "brian2_accuracy": a.brian2_accuracy,
        "hidden_spikes": int(run.torch.spikes.sum()),
        "cpp_build_and_run_s": run.brian2.seconds,
        "cpp_timings": run.brian2.timings,
        "total_s": total,
        "torch_float64_s": run.torch.seconds,
        "runtime_samples": k,
        "runtime_spike_identical_to_cpp": rt_spikes,
        "runtime_max_logit_difference_mv": rt_logit,
        "runtime_s": rt.seconds,
    }


def _markdown(result: dict) -> str:
    source = (
        f"`{result['runs']}/<model>/seed0` (fresh) and `checkpoints/` (committed)"
        if result["runs"]
        else "the ones named in the table"
    )
    lines = [
        "# Bridge, every model: FSDD test split, Brian2 cpp_standalone vs PyTorch (float64)",
        "",
        f"Networks: {source}. "
        "Identical = the whole hidden spike train of a sample; distance = |threshold distance| "
        "(mV) at the first differing step. Runtime = numpy target on the first "
        f"{result['runtime_samples']} samples vs cpp_standalone.",
        "",
        "| network | source | hidden | identical spikes | same class | max distance where differ (mV) | "
        "accuracy torch / Brian2 | build+run (s) | runtime = cpp |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        dist = "-" if r["max_distance_where_differ_mv"] is None else f"{r['max_distance_where_differ_mv']:.1e}"
        lines.append(
            f"| {r['network']} | {r['source']} | {r['hidden']} | {r['spike_identical']}/{r['samples']} | "
            f"{r['class_identical']}/{r['samples']} | {dist} | "
            f"{100 * r['torch_accuracy']:.1f} / {100 * r['brian2_accuracy']:.1f} % | "
            f"{r['cpp_build_and_run_s']:.1f}{' (build reused)' if r['cpp_timings'].get('reused') else ''} | "
            f"{r['runtime_spike_identical_to_cpp']}/{r['runtime_samples']} spikes, "
            f"logits within {r['runtime_max_logit_difference_mv']:.0e} mV |"
        )
    for r in result.get("refused", []):
        lines.append(f"\nRefused by the bridge: {r['network']} ({r['source']}): {r['error']}")
    if result["skipped"]:
        lines.append(f"\nNot yet trained when this ran (skipped): {', '.join(result['skipped'])}.")
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "robustness" / "runs")
    parser.add_argument("--limit", type=int, default=None, help="first N test samples (default: all 300)")
    parser.add_argument("--runtime-samples", type=int, default=20)
    parser.add_argument("--no-committed", action="store_true", help="leave out checkpoints/")
    parser.add_argument(
        "--network", action="append", default=[], metavar="NAME=DIR", help="run only this trained network (repeatable)"
    )
    parser.add_argument("--name", default="bridge_models", help="results file name (default bridge_models)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # a shared 2-core machine; the C++ build runs alongside nothing else
    if args.network:
        try:
            pairs = [n.split("=", 1) for n in args.network]
            networks = [(name, _rel(Path(path).resolve()), Path(path)) for name, path in pairs]
        except ValueError:
            parser.error("--network: NAME=DIR")
        present, runs = {n for n, _, _ in networks}, None
    else:
        networks = _networks(args.runs, not args.no_committed)
        present, runs = {n for n, s, _ in networks if s.startswith("fresh")}, _rel(args.runs)
    result = {
        "benchmark": args.name,
        "machine": "2 cores (this machine)",
        "runs": runs,
        "runtime_samples": args.runtime_samples,
        "skipped": [n for n in EXPECTED if n not in present] if not args.network else [],
        "rows": [],
    }
    for name, source, path in networks:
        print(f"== {name} ({source}): {path}", flush=True)
        try:
            row = measure(name, source, path, args.limit, args.runtime_samples)
        except (ValueError, TypeError) as exc:  # a network the bridge refuses: recorded, not fatal
            print(f"   refused: {exc}", flush=True)
            result.setdefault("refused", []).append(
                {"network": name, "source": source, "path": _rel(path), "error": f"{type(exc).__name__}: {exc}"}
            )
            write_json(RESULTS / f"{args.name}.json", result)
            write_text(RESULTS / f"{args.name}.md", _markdown(result))
            continue
        print(
            f"   identical {row['spike_identical']}/{row['samples']}, class {row['class_identical']}/{row['samples']}, "
            f"max distance {row['max_distance_where_differ_mv']}, build+run {row['cpp_build_and_run_s']:.1f} s, "
            f"runtime {row['runtime_spike_identical_to_cpp']}/{row['runtime_samples']}",
            flush=True,
        )
        result["rows"].append(row)
        write_json(RESULTS / f"{args.name}.json", result)
        write_text(RESULTS / f"{args.name}.md", _markdown(result))
    return result


if __name__ == "__main__":
    main()
