"""``dgnsim gating``: gating-response analyses (tau, step, freq, gate, fi, snr, rate) of one model.

``rate`` (lif, dgn, sdgn): the input-driven gate under Poisson input, see
:mod:`dgnsim.analysis.gating_rate`.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
from brian2.stateupdaters.base import StateUpdateMethod

from dgnsim.analysis import gating, gating_rate
from dgnsim.cli.options import UsageError, check, check_writable, count
from dgnsim.core.models import load_model
from dgnsim.io.files import write_json, write_npz

NAME = "gating"
HELP = "Gating-response analysis of a model: analytic prediction against Brian2 simulation."
ANALYSES = {
    "tau": gating.time_constants,
    "step": gating.step_response,
    "freq": gating.frequency_response,
    "gate": gating.gate_dynamics,
    "fi": gating.fi_curve,
    "snr": gating.snr_transfer,
    "rate": gating_rate.rate_response,
}
DEVICES = ("numpy", "cython", "cpp_standalone")


def add_arguments(parser) -> None:
    parser.add_argument(
        "--model",
        required=True,
        help="a model name (see 'dgnsim models') or a path to a model file "
        "(its optional [gating] table says which variable is the gate)",
    )
    parser.add_argument("--analysis", required=True, choices=sorted(ANALYSES))
    parser.add_argument("--device", default="numpy", choices=DEVICES)
    parser.add_argument("--method", default=None, help="integration method (default: the model's)")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="run the operating points on a local Dask cluster of N processes (same results as in this process)",
    )
    parser.add_argument("--scheduler", default=None, help="run the operating points on the Dask scheduler at ADDRESS")
    parser.add_argument("--json", action="store_true", help="print a JSON summary to stdout")
    parser.add_argument("--out", default=None, help="directory for <model>_<analysis>.json/.npz")


def _summary(record) -> dict:
    """Scalars and small arrays in full; long traces only by shape (they go to the .npz)."""
    out = {}
    for f in dataclasses.fields(record):
        v = getattr(record, f.name)
        if isinstance(v, np.ndarray):
            out[f.name] = v.tolist() if v.size <= 400 else {"shape": list(v.shape)}
        else:
            out[f.name] = v
    return out


def run(args) -> int:
    func = ANALYSES[args.analysis]
    count("--workers", args.workers)
    if args.workers is not None and args.scheduler is not None:
        raise UsageError("--workers: give --workers (a local cluster) or --scheduler (a running one), not both")
    kwargs = {"device": args.device, "workers": args.workers, "scheduler": args.scheduler}
    if args.method and args.analysis in ("tau", "step", "freq"):
        methods = sorted(StateUpdateMethod.stateupdaters)
        check("--method", args.method in methods, f"an integration method ({', '.join(methods)})", args.method)
        kwargs["method"] = args.method
    elif args.method:
        raise ValueError(f"--method applies to tau, step and freq, not {args.analysis}")
    if args.out:
        check_writable(args.out)
    model = load_model(args.model)
    gating.gate_spec(model)  # a model the analyses cannot hold is refused before any work
    record = func(model, **kwargs)
    summary = {"model": model.name, "analysis": args.analysis, **_summary(record)}
    if args.out:
        out = Path(args.out)
        stem = out / f"{model.name}_{args.analysis}"
        write_json(stem.with_suffix(".json"), summary)
        write_npz(
            stem.with_suffix(".npz"),
            **{
                f.name: np.asarray(getattr(record, f.name))
                for f in dataclasses.fields(record)
                if isinstance(getattr(record, f.name), np.ndarray)
            },
        )
    if args.json:
        json.dump(summary, sys.stdout, default=lambda x: x.item() if hasattr(x, "item") else str(x))
        sys.stdout.write("\n")
    else:
        print(f"{model.name} {args.analysis}: done" + (f"; results in {args.out}" if args.out else ""))
    return 0
