"""``dgnsim import``: run a trained network in Brian2 and compare it with PyTorch, spike for spike."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from dgnsim.brian.backend import DEVICES
from dgnsim.cli.options import check, check_writable, count

NAME = "import"
HELP = "run a trained surrogate network on the FSDD test split in Brian2; accuracy and agreement with PyTorch"


def add_arguments(parser) -> None:
    parser.add_argument("directory", help="a trained network (model.safetensors + manifest.json), or a "
                                          "state_dict / checkpoint.pt file (then give --model)")
    parser.add_argument("--device", default="cpp_standalone", choices=DEVICES, help="backend (default cpp_standalone)")
    parser.add_argument("--data", default=None, help="FSDD folder (default: $DGNSIM_FSDD or shared/data/fsdd)")
    parser.add_argument("--out", required=True, help="output directory: report.json and the raster figure")
    parser.add_argument("--limit", type=int, default=None, help="only the first N test samples")
    parser.add_argument("--model", default=None, help="model name, for a plain state_dict file")
    parser.add_argument("--sample", type=int, default=None,
                        help="test sample whose rasters are drawn (default: the first that differs, else 0)")
    parser.add_argument("--json", action="store_true", help="print the JSON report (without per-sample rows)")


def draw_rasters(run, sample: int, stem) -> list[Path]:
    """Hidden-layer rasters of one sample, PyTorch beside Brian2, differing spikes marked."""
    from dgnsim.viz.plots import plt, save_figure

    a, b = run.torch.spikes[sample], run.brian2.spikes[sample]
    dt = float((run.manifest or {}).get("dt_ms", 1.0))
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.4), sharey=True, gridspec_kw={"width_ratios": [1, 1, 1]})
    for ax, s, title in ((axes[0], a, "PyTorch surrogate (float64)"), (axes[1], b, f"Brian2 {run.device}")):
        t, n = np.nonzero(s)
        ax.plot(t * dt, n, "|", ms=3, color="k")
        ax.set_title(title)
        ax.set_xlabel("time (ms)")
    diff = a != b
    t, n = np.nonzero(diff)
    t2, n2 = np.nonzero(a & b)
    axes[2].plot(t2 * dt, n2, "|", ms=3, color="0.75", label="both")
    axes[2].plot(t, n, "x", ms=5, color="C3", label=f"differ ({int(diff.sum())})")
    axes[2].set_title("overlay")
    axes[2].set_xlabel("time (ms)")
    axes[2].legend(loc="upper right", fontsize=7, frameon=False)
    axes[0].set_ylabel("hidden neuron")
    steps = a.shape[0]
    for ax in axes:
        ax.set_xlim(-1, steps * dt)
        ax.set_ylim(-1, a.shape[1])
    s = run.agreement.samples[sample]
    label = "" if s.label is None else f", digit {s.label}"
    verdict = "identical spike trains" if s.identical else f"first difference at step {s.first_step}"
    fig.suptitle(f"test sample {sample}{label}: {verdict}; class PyTorch {s.torch_class}, Brian2 {s.brian2_class}")
    fig.tight_layout()
    return save_figure(fig, stem)


def run(args) -> int:
    from dgnsim.interop.bridge import run_test_split
    from dgnsim.io.files import write_json

    count("--limit", args.limit)
    check("--sample", args.sample is None or args.sample >= 0, "an index >= 0", args.sample)
    check_writable(args.out)
    result = run_test_split(args.directory, args.device, data=args.data, limit=args.limit, model=args.model)
    a = result.agreement
    sample = args.sample
    if sample is None:
        sample = next((s.index for s in a.samples if not s.identical), 0)
    if not 0 <= sample < a.n:
        raise ValueError(f"--sample must be in [0, {a.n}), got {sample}")
    report = result.report()
    report["directory"] = str(args.directory)
    report["raster_sample"] = sample
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # everything goes into a scratch folder first; it replaces OUT's files only when complete
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        write_json(scratch / "report.json", report)
        draw_rasters(result, sample, scratch / "rasters")
        out.mkdir(parents=True, exist_ok=True)
        for f in sorted(scratch.iterdir()):
            f.replace(out / f.name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    summary = {k: v for k, v in report.items() if k != "agreement"}
    summary["agreement"] = {k: v for k, v in a.as_dict().items() if k != "samples"}
    summary["differing_samples"] = [s.__dict__ for s in a.samples if not s.identical]
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{a.n} test samples, Brian2 {args.device}: accuracy {100 * a.brian2_accuracy:.2f} % "
              f"(PyTorch {100 * a.torch_accuracy:.2f} %)")
        print(f"identical spike trains: {a.spike_identical}/{a.n}; same class: {a.class_identical}/{a.n}")
        for s in a.samples:
            if not s.identical:
                print(f"  sample {s.index}: first difference at step {s.first_step}, neurons {list(s.neurons)}, "
                      f"|distance to threshold| PyTorch {s.torch_distance_mv:.3g} mV, Brian2 {s.brian2_distance_mv:.3g} mV")
        print(f"wrote {out / 'report.json'}, {out / 'rasters.pdf'}, {out / 'rasters.png'}", file=sys.stderr)
    return 0
