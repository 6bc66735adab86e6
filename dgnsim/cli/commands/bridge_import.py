"""``dgnsim import``: run a trained network in Brian2 and compare it with PyTorch, spike for spike.

With ``--noise`` and/or ``--vary`` it runs a perturbation study on one build instead
(:mod:`dgnsim.interop.study`): every noise level, noise seed and parameter value is a run of
the same binary with run arguments.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from dgnsim.brian.backend import DEVICES
from dgnsim.cli.options import UsageError, check, check_writable, count, quantity

NAME = "import"
HELP = (
    "run a trained surrogate network on the FSDD test split in Brian2; accuracy and agreement with PyTorch "
    "(with --noise/--vary: a noise and parameter study on one build)"
)


def add_arguments(parser) -> None:
    parser.add_argument(
        "directory",
        help="a trained network (model.safetensors + manifest.json), or a "
        "state_dict / checkpoint.pt file (then give --model)",
    )
    parser.add_argument("--device", default="cpp_standalone", choices=DEVICES, help="backend (default cpp_standalone)")
    parser.add_argument("--data", default=None, help="FSDD folder (default: $DGNSIM_FSDD or shared/data/fsdd)")
    parser.add_argument(
        "--out",
        required=True,
        help="output directory: report.json and the raster figure (a study: study.json, study.csv and its figure)",
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N test samples")
    parser.add_argument("--model", default=None, help="model name, for a plain state_dict file")
    parser.add_argument(
        "--sample",
        type=int,
        default=None,
        help="test sample whose rasters are drawn (default: the first that differs, else 0)",
    )
    parser.add_argument("--json", action="store_true", help="print the JSON report (without per-sample rows)")
    study = parser.add_argument_group("perturbation study (one build; every level is a run with run arguments)")
    study.add_argument(
        "--noise",
        default=None,
        metavar="SIGMAS",
        help="membrane noise amplitudes, e.g. 0mV,1mV,2mV,4mV,8mV (each with its unit)",
    )
    study.add_argument("--noise-seeds", type=int, default=3, metavar="K", help="noise seeds per amplitude (default 3)")
    study.add_argument(
        "--vary",
        action="append",
        default=[],
        metavar="PARAM=V1,V2,...",
        help="hidden parameter values to run without noise, e.g. v_th=-52mV,-50mV,-48mV (repeatable)",
    )
    study.add_argument("--seed", type=int, default=0, help="first noise seed (default 0)")
    study.add_argument(
        "--workers",
        type=int,
        default=None,
        help="run the points on a Dask LocalCluster of N processes (default: one after another here)",
    )
    study.add_argument("--scheduler", default=None, help="address of a running Dask scheduler to run the points on")


def _noise(text: str) -> list:
    from brian2 import mV

    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise UsageError(f"--noise: a comma-separated list of amplitudes such as 0mV,2mV, got {text!r}")
    values = [quantity("--noise", item, mV, "mV", "non-negative") for item in items]
    if len({float(v) for v in values}) != len(values):
        raise UsageError(f"--noise: values repeat in {text!r}")
    return values


def _vary(texts: list, spec) -> dict:
    out = {}
    for text in texts:
        name, sep, values = text.partition("=")
        name = name.strip()
        if not sep or not name or not values.strip():
            raise UsageError(f"--vary: write PARAM=V1,V2,... (e.g. v_th=-52mV,-50mV), got {text!r}")
        if name not in spec.parameters or name == "noise_sigma":
            known = ", ".join(p for p in spec.parameters if p != "noise_sigma")
            hint = "give noise amplitudes with --noise" if name == "noise_sigma" else f"its parameters: {known}"
            raise UsageError(f"--vary: model {spec.name!r} has no parameter {name!r} to vary; {hint}")
        if name in out:
            raise UsageError(f"--vary: {name} given twice")
        p = spec.parameters[name]
        sign = "positive" if p.positive else "non-negative" if p.nonnegative else None
        out[name] = [quantity(f"--vary {name}", item.strip(), p.unit, p.unit_text, sign) for item in values.split(",")]
    return out


def _write_atomically(out: Path, write) -> None:
    """Write into a scratch folder beside ``out``; its files replace OUT's only when all are complete."""
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        write(scratch)
        out.mkdir(parents=True, exist_ok=True)
        for f in sorted(scratch.iterdir()):
            f.replace(out / f.name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _study(args) -> int:
    from dgnsim.interop.bridge import load_surrogate
    from dgnsim.interop.study import check_noise, check_vary, study_test_split

    count("--noise-seeds", args.noise_seeds)
    count("--seed", args.seed, minimum=0)
    count("--workers", args.workers)
    if args.workers is not None and args.scheduler is not None:
        raise UsageError("--workers: give --workers (a local cluster) or --scheduler (an existing one), not both")
    if (args.workers is not None or args.scheduler is not None) and args.device != "cpp_standalone":
        raise UsageError(f"--workers: points run on Dask only with --device cpp_standalone, not {args.device}")
    if args.sample is not None:
        raise UsageError("--sample: rasters are drawn without --noise/--vary only")
    noise = _noise(args.noise) if args.noise is not None else None
    net, _ = load_surrogate(args.directory, model=args.model)  # the model names the parameters --vary may set
    vary = _vary(args.vary, net.hidden.spec)
    try:  # the checks the study makes before building, here so that they name the options
        if noise is not None:
            check_noise(noise, "--noise")
        for name, values in vary.items():
            check_vary(net, name, values, f"--vary {name}")
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    check_writable(args.out)
    result = study_test_split(
        args.directory,
        data=args.data,
        limit=args.limit,
        model=args.model,
        noise=noise,
        noise_seeds=args.noise_seeds,
        vary=vary,
        device=args.device,
        workers=args.workers,
        scheduler=args.scheduler,
        seed=args.seed,
    )
    out = Path(args.out)
    _write_atomically(out, result.write)
    report = result.report()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{result.model}: {result.samples} test samples, {report['runs']} runs of {report['builds']} build "
            f"({args.device}), {report['wall_s']:.1f} s"
        )
        for name in result.by_study():
            for row in report[name]:
                value = (
                    f"sigma {row['sigma_mV']:g} mV" if name == "noise" else f"{name} = {row['value']:g} {row['unit']}"
                )
                acc = "-" if row["accuracy"] is None else f"{100 * row['accuracy']:.1f} %"
                ci = "" if row["ci95"] is None else f" [{100 * row['ci95'][0]:.1f}, {100 * row['ci95'][1]:.1f}]"
                print(
                    f"  {value}: accuracy {acc}{ci}, hidden {row['rate_hz']['hidden']:.1f} Hz, "
                    f"spike trains as PyTorch without noise {row['spike_identical']}/{row['runs'] * result.samples}"
                )
        print(
            f"wrote {out / 'study.json'}, {out / 'study.csv'}, {out / 'study.pdf'}, {out / 'study.png'}",
            file=sys.stderr,
        )
    return 0


def run(args) -> int:
    from dgnsim.interop.bridge import run_test_split
    from dgnsim.io.files import write_json
    from dgnsim.viz.rasters import bridge_rasters

    count("--limit", args.limit)
    if args.noise is not None or args.vary:
        return _study(args)
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

    def write(folder: Path) -> None:
        write_json(folder / "report.json", report)
        bridge_rasters(result, sample, folder / "rasters")

    _write_atomically(out, write)
    summary = {k: v for k, v in report.items() if k != "agreement"}
    summary["agreement"] = {k: v for k, v in a.as_dict().items() if k != "samples"}
    summary["differing_samples"] = [s.__dict__ for s in a.samples if not s.identical]
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"{a.n} test samples, Brian2 {args.device}: accuracy {100 * a.brian2_accuracy:.2f} % "
            f"(PyTorch {100 * a.torch_accuracy:.2f} %)"
        )
        print(f"identical spike trains: {a.spike_identical}/{a.n}; same class: {a.class_identical}/{a.n}")
        for s in a.samples:
            if not s.identical:
                print(
                    f"  sample {s.index}: first difference at step {s.first_step}, neurons {list(s.neurons)}, "
                    f"|distance to threshold| PyTorch {s.torch_distance_mv:.3g} mV, "
                    f"Brian2 {s.brian2_distance_mv:.3g} mV"
                )
        print(f"wrote {out / 'report.json'}, {out / 'rasters.pdf'}, {out / 'rasters.png'}", file=sys.stderr)
    return 0
