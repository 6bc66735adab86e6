"""Bridge throughput: the 300 FSDD test samples in Brian2 cpp_standalone (build included) vs PyTorch on the CPU.

Uses the committed checkpoints (checkpoints/<model>) where present, else trains a small
network first (hidden=32, 2 epochs, 600 samples). Writes benchmarks/results/bridge.json
and bridge.md. Run: python benchmarks/bench_bridge.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from dgnsim.interop import bridge
from dgnsim.io import write_json, write_text

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def _network(model: str, scratch: Path) -> Path:
    path = ROOT / "checkpoints" / model
    if (path / "manifest.json").exists():
        return path
    from dgnsim.fsdd.train import train

    train(model, scratch / model, hidden=32, epochs=2, limit=600, progress=False)
    return scratch / model


def main() -> dict:
    torch.set_num_threads(2)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in ("dgn", "lif"):
            path = _network(model, Path(tmp))
            net, _manifest = bridge.load_surrogate(path)
            start = time.perf_counter()
            run = bridge.run_test_split(path, "cpp_standalone")
            total = time.perf_counter() - start
            x = torch.as_tensor(run.inputs, dtype=torch.float32)
            fnet = net.float()
            t0 = time.perf_counter()
            with torch.no_grad():
                fnet(x)
            torch_s = time.perf_counter() - t0
            a = run.agreement
            rows.append(
                {
                    "model": model,
                    "checkpoint": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else "fresh (hidden=32)",
                    "hidden": net.hidden.n_out,
                    "samples": a.n,
                    "brian2_total_s": total,
                    "brian2_build_and_run_s": run.brian2.seconds,
                    "brian2_timings": run.brian2.timings,
                    "compiled": not run.brian2.timings.get("reused", False),
                    "brian2_samples_per_s": a.n / run.brian2.seconds,
                    "torch_cpu_float32_s": torch_s,
                    "torch_samples_per_s": a.n / torch_s,
                    "spike_identical": a.spike_identical,
                    "class_identical": a.class_identical,
                    "brian2_accuracy": a.brian2_accuracy,
                    "torch_accuracy": a.torch_accuracy,
                    "max_distance_where_differ_mv": a.max_distance_mv,
                }
            )
    result = {"benchmark": "bridge", "machine": "2 cores (this machine)", "rows": rows}
    write_json(RESULTS / "bridge.json", result)
    lines = [
        "# Bridge: FSDD test split in Brian2 cpp_standalone vs PyTorch (CPU)",
        "",
        "| model | hidden | samples | Brian2 build+run (s) | compiled | Brian2 samples/s | PyTorch samples/s "
        "| identical spikes | same class |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['hidden']} | {r['samples']} | {r['brian2_build_and_run_s']:.1f} | {r['compiled']} | "
            f"{r['brian2_samples_per_s']:.0f} | {r['torch_samples_per_s']:.0f} | "
            f"{r['spike_identical']}/{r['samples']} | {r['class_identical']}/{r['samples']} |"
        )
    write_text(RESULTS / "bridge.md", "\n".join(lines) + "\n")
    return result


if __name__ == "__main__":
    print(main())
