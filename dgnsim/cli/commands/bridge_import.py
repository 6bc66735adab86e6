"""``dgnsim import``: run a trained network in Brian2 and compare it with PyTorch, spike for spike."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path


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


def run(args) -> int:
    from dgnsim.interop.bridge import run_test_split
    from dgnsim.viz.rasters import bridge_rasters
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
        bridge_rasters(result, sample, scratch / "rasters")
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
