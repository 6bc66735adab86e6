"""Noise study on one build: 6 noise levels x 3 noise seeds on the 300 FSDD test samples, total wall time.

Acceptance (issue 14): on the committed DGN, one build and under 90 s in total (loading the
checkpoint and the data, the PyTorch reference, the build with its compile, every run);
at sigma 0 the spikes equal PyTorch's on 300/300 samples. Each network gets a fresh build
folder, so its binary is compiled (not taken from the cache); the binaries compiled are
counted there, independently of the study's own count. Writes benchmarks/results/study.json
and study.md.

Run: python benchmarks/bench_study.py [--models dgn lif ...] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch
from brian2 import mV

from dgnsim.io import write_json, write_text

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
NOISE = [0, 0.5, 1, 2, 4, 8]  # mV
SEEDS = 3


def measure(path: Path, workers: int | None) -> dict:
    from dgnsim.interop.study import study_test_split

    with tempfile.TemporaryDirectory(prefix="bench-study-builds-") as builds:
        os.environ["DGNSIM_BUILD_DIR"] = builds
        start = time.perf_counter()
        result = study_test_split(
            path, noise=[s * mV for s in NOISE], noise_seeds=SEEDS, workers=workers, progress=False
        )
        total = time.perf_counter() - start
        compiled_here = len(list(Path(builds).glob("cpp_standalone-*")))
    report = result.report()
    zero = report["noise"][0]
    return {
        "checkpoint": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
        "model": report["model"],
        "samples": report["samples"],
        "levels_mV": NOISE,
        "noise_seeds": SEEDS,
        "runs": report["runs"],
        "workers": workers,
        "total_s": total,
        "builds": report["builds"],
        "compiled": report["compiled"],
        "binaries_in_build_folder": compiled_here,
        "timings": report["timings"],
        "sigma0_spike_identical": zero["spike_identical"],
        "sigma0_runs": zero["runs"],
        "torch_accuracy": report["torch_accuracy"],
        "noise": [
            {
                k: r[k]
                for k in (
                    "sigma_mV",
                    "runs",
                    "accuracy",
                    "ci95",
                    "rate_hz",
                    "agreement",
                    "spike_overlap",
                    "class_agreement",
                )
            }
            for r in report["noise"]
        ],
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["dgn"], help="checkpoints/<name> to measure (default: dgn)")
    parser.add_argument("--workers", type=int, default=None, help="also measure on a Dask LocalCluster of N workers")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    rows = []
    for name in args.models:
        for workers in [None] + ([args.workers] if args.workers else []):
            rows.append(measure(ROOT / "checkpoints" / name, workers))
            print(rows[-1]["checkpoint"], workers, f"{rows[-1]['total_s']:.1f} s", flush=True)
    result = {"benchmark": "study", "machine": "2 cores (this machine), shared", "rows": rows}
    write_json(RESULTS / "study.json", result)
    lines = [
        "# Noise study on one build: 6 levels x 3 noise seeds, FSDD test split, cpp_standalone",
        "",
        f"Levels {', '.join(f'{s:g}' for s in NOISE)} mV; a level without noise runs once (its spikes do not "
        "depend on the seed). Total: checkpoint and data loaded, PyTorch reference, build with compile "
        "(fresh build folder), every run. Workers: serial in this process, or a Dask LocalCluster.",
        "",
        "| checkpoint | samples | runs | workers | builds | compiled | total (s) | build (s) | runs (s) "
        "| s/run | sigma 0: identical spikes | accuracy at 0 / 2 / 8 mV (%) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        acc = {row["sigma_mV"]: row["accuracy"] for row in r["noise"]}
        t = r["timings"]
        lines.append(
            f"| {r['checkpoint']} | {r['samples']} | {r['runs']} | {r['workers'] or 'serial'} | {r['builds']} "
            f"| {r['binaries_in_build_folder']} | {r['total_s']:.1f} | {t['build_s']:.1f} | {t['runs_s']:.1f} "
            f"| {t['run_s_mean']:.2f} | {r['sigma0_spike_identical']}/{r['samples']} "
            f"| {100 * acc[0]:.1f} / {100 * acc[2]:.1f} / {100 * acc[8]:.1f} |"
        )
    write_text(RESULTS / "study.md", "\n".join(lines) + "\n")
    return result


if __name__ == "__main__":
    main()
