"""``dgnsim simulate``: a population driven by Poisson input; spikes, traces and a figure."""

from __future__ import annotations

import json
import sys
import time

from brian2 import Hz, mV, second

from dgnsim.brian.backend import DEVICES
from dgnsim.brian.simulate import simulate
from dgnsim.cli.options import check_writable, count, number, quantity
from dgnsim.core.models import load_model
from dgnsim.io.files import write_json, write_npz
from dgnsim.viz.plots import raster_and_trace, save_figure

NAME = "simulate"
HELP = "simulate a population of one model under Poisson input; write spikes, traces and a figure"


def add_arguments(parser) -> None:
    parser.add_argument("--model", required=True, help="a model name (see 'dgnsim models') or a path to a model file")
    parser.add_argument("--neurons", type=int, default=100, help="population size (default 100)")
    parser.add_argument("--duration", default="1s", help="simulated time, e.g. 1s or 500ms (default 1s)")
    parser.add_argument("--input-rate", default="20Hz", help="rate of each Poisson source (default 20Hz)")
    parser.add_argument("--inputs", type=int, default=100, help="input synapses per neuron, about (default 100)")
    parser.add_argument("--w", default=None, help="synaptic weight w, e.g. 2mV (default: the model's)")
    parser.add_argument("--c", default=None, help="synaptic gate conductance c (dimensionless; DGN family)")
    parser.add_argument("--noise", default=None, help="membrane noise amplitude, e.g. 1mV (default: off)")
    parser.add_argument("--dt", default="0.1ms", help="time step (default 0.1ms)")
    parser.add_argument("--device", default="cpp_standalone", choices=DEVICES, help="backend (default cpp_standalone)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--json", action="store_true", help="print a JSON summary to stdout")


def run(args) -> int:
    model = load_model(args.model)
    count("--neurons", args.neurons)
    count("--inputs", args.inputs)
    duration = quantity("--duration", args.duration, second, "s", "positive")
    rate = quantity("--input-rate", args.input_rate, Hz, "Hz", "non-negative")
    dt = quantity("--dt", args.dt, second, "ms", "positive")
    synapse = {}
    if args.w is not None:
        if "w" not in model.synapse.parameters:
            raise ValueError(
                f"--w: the {model.name} synapse has no weight w (it has {sorted(model.synapse.parameters)})"
            )
        synapse["w"] = quantity("--w", args.w, mV, "mV")
    if args.c is not None:
        if "c" not in model.synapse.parameters:
            raise ValueError(f"--c: the {model.name} synapse has no gate conductance c")
        synapse["c"] = number("--c", args.c, minimum=0)
    params = {"noise_sigma": quantity("--noise", args.noise, mV, "mV", "non-negative")} if args.noise else {}
    out = check_writable(args.out)
    started = time.perf_counter()
    print(f"dgnsim simulate: {args.neurons} x {model.name} for {duration} on {args.device} ...", file=sys.stderr)
    result = simulate(
        model,
        args.neurons,
        duration,
        rate,
        device=args.device,
        seed=args.seed,
        dt=dt,
        inputs_per_neuron=args.inputs,
        synapse=synapse,
        params=params,
        progress=True,
    )
    print("dgnsim simulate: writing results ...", file=sys.stderr)
    write_npz(
        out / "simulation.npz",
        spike_i=result.spike_i,
        spike_t_s=result.spike_t_s,
        trace_t_s=result.trace_t_s,
        recorded=result.recorded,
        **{f"trace_{k}": v for k, v in result.traces.items()},
    )
    summary = {
        "model": model.name,
        "equations_sha256": model.sha256,
        "device": args.device,
        "seed": args.seed,
        "neurons": args.neurons,
        "duration_s": result.duration_s,
        "dt_s": result.dt_s,
        "input_rate_hz": float(rate / Hz),
        "inputs_per_neuron": args.inputs,
        "synapse": {k: str(v) for k, v in synapse.items()},
        "noise": args.noise,
        "spikes": len(result.spike_i),
        "mean_rate_hz": result.mean_rate_hz,
        "trace_units": result.trace_units,
        "timings_s": result.timings,
        "wall_s": time.perf_counter() - started,
        "files": ["simulation.npz", "simulation.json", "raster.pdf", "raster.png"],
    }
    fig = raster_and_trace(
        result.spike_t_s * 1e3,
        result.spike_i,
        result.trace_t_s * 1e3,
        result.traces["v"] * 1e3,
        n_neurons=args.neurons,
        title=f"{model.name}: {args.neurons} neurons, input {rate}, seed {args.seed}",
        threshold_mv=_threshold_mv(model),
    )
    save_figure(fig, out / "raster")
    write_json(out / "simulation.json", summary)
    print(
        f"dgnsim simulate: {summary['spikes']} spikes ({summary['mean_rate_hz']:.2f} Hz per neuron); wrote {out}",
        file=sys.stderr,
    )
    if args.json:
        print(json.dumps(summary, indent=2))
    return 0


def _threshold_mv(model) -> float | None:
    p = model.parameters.get("v_th")
    return float(p.default / mV) if p is not None else None
