"""``dgnsim nir run``: run a NIR graph in Brian2 on input spikes; every spiking layer's spikes to one ``.npz``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from brian2 import ms, second

from dgnsim.brian.backend import DEVICES
from dgnsim.cli.options import UsageError, check_writable, quantity
from dgnsim.core.extras import require_extra
from dgnsim.interop.nir import DISCRETISATIONS

NAME = "nir"
HELP = "NIR graphs (e.g. exported by snnTorch) in Brian2: 'dgnsim nir run GRAPH.nir --input SPIKES.npy --out DIR'"
OUTPUT = "spikes.npz"


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="nir_command", required=True, metavar="{run}")
    p = sub.add_parser(
        "run",
        help="import a NIR graph, run it on input spikes, write each layer's spikes",
        description="Import a NIR graph (dgnsim.interop.nir.import_nir), run it in Brian2 on "
        f"0/1 input spikes and write DIR/{OUTPUT}: '<layer>.spikes' (bool, like the "
        "input: (time, neurons) or (batch, time, neurons)) for every spiking layer, "
        "and '<layer>.v_mV' for a final non-spiking (LI, CubaLI) layer.",
    )
    p.add_argument("graph", metavar="GRAPH", help="a .nir file (nir.write; e.g. snnTorch's export_to_nir)")
    p.add_argument(
        "--input",
        required=True,
        metavar="SPIKES.npy",
        help="input spikes: a .npy array of 0 and 1, (time, channels) or (batch, time, channels); "
        "channels = the graph's input size",
    )
    p.add_argument("--device", default="cpp_standalone", choices=DEVICES, help="backend (default cpp_standalone)")
    p.add_argument("--out", required=True, metavar="DIR", help=f"output folder ({OUTPUT} goes there)")
    p.add_argument("--dt", default="1ms", help="Brian2 time step, one graph step each (default 1ms)")
    p.add_argument(
        "--discretisation",
        default="snntorch",
        choices=DISCRETISATIONS,
        help="snntorch: forward Euler at the graph's dt (snnTorch, Norse; default); "
        "exact: NIR's ODEs with exact decay at --dt (dgnsim's export)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary (spike counts per layer)")


def run(args) -> int:
    return {"run": _run}[args.nir_command](args)


def _read_input(path: str, n_in: int) -> tuple[np.ndarray, bool]:
    """``--input`` as a bool (batch, time, n_in) array, and whether it had a batch axis."""
    if not Path(path).is_file():
        raise UsageError(f"--input: no such file {path!r}")
    try:
        x = np.load(path, allow_pickle=False)
    except Exception as exc:  # truncated, not .npy, or an object array
        raise UsageError(f"--input: {path!r} is not a readable .npy array ({type(exc).__name__}: {exc})") from None
    if not isinstance(x, np.ndarray):
        raise UsageError(f"--input: {path!r} holds several arrays (an .npz?); give one .npy array")
    if x.dtype.kind not in "biuf":
        raise UsageError(f"--input: must hold numbers 0 and 1, got dtype {x.dtype}")
    if x.ndim not in (2, 3):
        raise UsageError(f"--input: must be (time, channels) or (batch, time, channels), got shape {x.shape}")
    if x.shape[-1] != n_in:
        raise UsageError(f"--input: {x.shape[-1]} channels, but the graph's input has {n_in} (shape {x.shape})")
    if x.size == 0:
        raise UsageError(f"--input: needs at least one sample and one step, got shape {x.shape}")
    batched = x.ndim == 3
    x = x if batched else x[None]
    if np.any(np.isnan(x)):
        raise UsageError("--input: contains NaN; give 0 and 1 only")
    bad = x[(x != 0) & (x != 1)]
    if bad.size:
        raise UsageError(
            f"--input: must contain only 0 and 1 (a spike or none per channel and step), "
            f"got {bad.size} other values, e.g. {bad.flat[0].item()!r}"
        )
    return x.astype(bool), batched


def _run(args) -> int:
    from dgnsim.interop.bridge import BridgeError
    from dgnsim.interop.nir import import_nir, run_nir
    from dgnsim.io.files import write_npz

    try:
        require_extra("nir", "nir")
    except ImportError as exc:
        raise UsageError(f"dgnsim nir: {exc}") from None
    dt = quantity("--dt", args.dt, second, "ms", "positive")
    if not Path(args.graph).is_file():
        raise UsageError(f"GRAPH: no such file {args.graph!r}")
    try:
        layers = import_nir(args.graph, dt=dt, discretisation=args.discretisation)
    except BridgeError as exc:
        raise UsageError(f"GRAPH: {exc}") from None
    x, batched = _read_input(args.input, layers[0].weights_mv.shape[0])
    out = check_writable(args.out)
    result = run_nir(layers, x, device=args.device, dt=dt)
    arrays, counts = {}, {}
    for layer, spikes in zip([la for la in layers if la.spiking], result.spikes):
        arrays[f"{layer.name}.spikes"] = spikes if batched else spikes[0]
        counts[layer.name] = int(spikes.sum())
    if result.v_last is not None:
        arrays[f"{layers[-1].name}.v_mV"] = result.v_last if batched else result.v_last[0]
    write_npz(out / OUTPUT, **arrays)
    summary = {
        "graph": str(args.graph),
        "input_shape": list(x.shape if batched else x.shape[1:]),
        "device": args.device,
        "dt_ms": float(dt / ms),
        "discretisation": args.discretisation,
        "layers": [
            {
                "name": la.name,
                "model": la.model,
                "neurons": int(la.weights_mv.shape[1]),
                "spiking": la.spiking,
                "spikes": counts.get(la.name),
            }
            for la in layers
        ],
        "output": str(out / OUTPUT),
        "keys": sorted(arrays),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for la in summary["layers"]:
            what = f"{la['spikes']} spikes" if la["spiking"] else "membrane (v_mV)"
            print(f"layer {la['name']} ({la['model']}, {la['neurons']} neurons): {what}")
        print(f"wrote {out / OUTPUT}", file=sys.stderr)
    return 0
