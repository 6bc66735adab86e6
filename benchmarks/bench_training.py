"""Training speed of the surrogate against snnTorch, Norse and SpikingJelly, interleaved in rounds.

The same 40-128-10 network for every contender: T = 100 steps, batch 64, float32, 2 threads,
one training iteration = forward + cross-entropy + backward + Adam step, on fixed random
input spikes (rate 0.2). Peers: a linear layer, their LIF neuron over the T steps, a linear
readout of the time-mean of the hidden spikes (the cheapest readout: it gives the peers
their best case). snnTorch ``Leaky`` and SpikingJelly ``LIFNode`` have one state variable;
Norse ``LIF``, like dgnsim's ``lif``, a synaptic current and a membrane. dgnsim:
``Classifier("lif")``, ``Classifier("dgn")``, the DGN with input delays (0, 10, 20) ms, and
the FSDD network as :func:`dgnsim.fsdd.train.train` builds it (dgn, 320-128-10, width 4,
dropout 0.2, its regularizer and projection in every iteration); each eager and with the
time loop compiled (``compile_loop=True``), Norse eager and under ``torch.compile``.

Protocol: every network is built once and warmed up (its first iteration, which holds the
compilation for compiled ones, is timed apart, with a fresh inductor cache unless
``--warm-cache``); then in each round every network runs ``iterations`` iterations back to
back, in an order rotated from round to round; its rate in a round is the batch times the
iterations over the round's wall time; the result is the median over rounds. Ratios are to
the fastest peer's median. Writes benchmarks/results/training.json and .md
(``training_quick.*`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from dgnsim.io import write_json, write_text
from dgnsim.surrogate import Classifier

RESULTS = Path(__file__).resolve().parent / "results"
T, B, N_IN, N_HID, N_OUT, RATE = 100, 64, 40, 128, 10, 0.2
THREADS = 2
FSDD_CHANNELS = 320  # 40 bands x 8 levels (dgnsim.fsdd.data)
REGULARIZER_WEIGHT = 1e-3  # dgnsim.fsdd.train's


class _MeanReadout(nn.Module):
    """The peers' readout: a linear layer on the time-mean of the hidden spikes (B, T, H) -> (B, out)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(N_HID, N_OUT)

    def forward(self, spikes_bth):
        return self.fc(spikes_bth.mean(dim=1))


def snntorch_net() -> nn.Module:
    import snntorch as snn
    from snntorch import surrogate

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.readout = nn.Linear(N_IN, N_HID), _MeanReadout()
            self.lif = snn.Leaky(beta=math.exp(-1 / 20), spike_grad=surrogate.fast_sigmoid())

        def forward(self, x):  # (B, T, C)
            mem, spikes = self.lif.init_leaky(), []
            # one projection for all steps, unbound once (indexing per step costs O(T^2) in backward)
            for current in self.fc1(x).transpose(0, 1).unbind(0):
                spk, mem = self.lif(current, mem)
                spikes.append(spk)
            return self.readout(torch.stack(spikes, dim=1))

    return Net()


def norse_net() -> nn.Module:
    import norse.torch as norse

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.lif, self.readout = nn.Linear(N_IN, N_HID), norse.LIF(), _MeanReadout()

        def forward(self, x):  # (B, T, C); Norse's modules loop over the first dimension
            spikes, _ = self.lif(self.fc1(x).transpose(0, 1))
            return self.readout(spikes.transpose(0, 1))

    return Net()


def spikingjelly_net() -> nn.Module:
    from spikingjelly.activation_based import functional, neuron, surrogate

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.readout = nn.Linear(N_IN, N_HID), _MeanReadout()
            self.lif = neuron.LIFNode(tau=20.0, surrogate_function=surrogate.Sigmoid(), step_mode="m")

        def forward(self, x):  # (B, T, C); multi-step mode takes (T, B, ...)
            functional.reset_net(self)
            spikes = self.lif(self.fc1(x).transpose(0, 1))
            return self.readout(spikes.transpose(0, 1))

    return Net()


class Contender:
    """One network with its optimiser and data: :meth:`iterate` runs training iterations."""

    def __init__(self, label: str, peer: bool, net: nn.Module, n_in: int = N_IN, fsdd: bool = False):
        self.label, self.peer, self.net, self.fsdd = label, peer, net, fsdd
        self.opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        gen = torch.Generator().manual_seed(0)
        self.x = (torch.rand(B, T, n_in, generator=gen) < RATE).float()
        self.y = torch.randint(0, N_OUT, (B,), generator=gen)
        self.rates: list[float] = []
        self.first_s = math.nan

    def iterate(self, n: int) -> float:
        """Wall seconds of ``n`` iterations."""
        start = time.perf_counter()
        for _ in range(n):
            loss = F.cross_entropy(self.net(self.x), self.y)
            if self.fsdd:  # as dgnsim.fsdd.train's epoch
                loss = loss + REGULARIZER_WEIGHT * self.net.regularizer()
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            if self.fsdd:
                self.net.project()
        return time.perf_counter() - start


def contenders() -> list[tuple[str, bool, Callable[[], Contender]]]:
    def dgnsim(label, model, compile_loop, **options):
        return (
            label,
            False,
            lambda: Contender(
                label, False, Classifier(model, N_IN, N_HID, N_OUT, compile_loop=compile_loop, **options)
            ),
        )

    def fsdd(label, compile_loop):
        def make():
            net = Classifier("dgn", FSDD_CHANNELS, N_HID, N_OUT, width=4.0, dropout=0.2, compile_loop=compile_loop)
            return Contender(label, False, net, n_in=FSDD_CHANNELS, fsdd=True)

        return label, False, make

    return [
        ("snntorch_leaky", True, lambda: Contender("snntorch_leaky", True, snntorch_net())),
        ("spikingjelly_lifnode", True, lambda: Contender("spikingjelly_lifnode", True, spikingjelly_net())),
        ("norse_lif", True, lambda: Contender("norse_lif", True, norse_net())),
        ("norse_lif_compiled", True, lambda: Contender("norse_lif_compiled", True, torch.compile(norse_net()))),
        dgnsim("dgnsim_lif", "lif", False),
        dgnsim("dgnsim_lif_compiled", "lif", True),
        dgnsim("dgnsim_dgn", "dgn", False),
        dgnsim("dgnsim_dgn_compiled", "dgn", True),
        dgnsim("dgnsim_dgn_delays_0_10_20", "dgn", False, delays=(0, 10, 20)),
        dgnsim("dgnsim_dgn_delays_0_10_20_compiled", "dgn", True, delays=(0, 10, 20)),
        fsdd("dgnsim_fsdd_320_128_10", False),
        fsdd("dgnsim_fsdd_320_128_10_compiled", True),
    ]


def profile(nets: list[Contender], iterations: int) -> dict:
    """Where an iteration's time goes (torch.profiler, CPU time of the main thread's ops).

    Regions: the forward pass, of which the hidden layer's :meth:`SpikingLayer.run` (input
    projection, step parameters, time loop); the backward pass, of which the spike
    function's surrogate derivative; the Adam step. The spike function's forward is the
    ``_Spike`` op. Compiled networks show their graphs as ``CompiledFunction`` (forward) and
    ``CompiledFunctionBackward``.
    """
    from torch.profiler import ProfilerActivity, record_function
    from torch.profiler import profile as torch_profile

    from dgnsim.surrogate import SpikingLayer

    plain_run = SpikingLayer.run

    def run(self, x, record=False):
        with record_function("hidden_layer_run"):
            return plain_run(self, x, record)

    SpikingLayer.run = run  # type: ignore[method-assign]
    out = {}
    try:
        for net in nets:

            def iterate(net=net):
                with record_function("forward"):
                    loss = F.cross_entropy(net.net(net.x), net.y)
                net.opt.zero_grad()
                with record_function("backward"):
                    loss.backward()
                with record_function("adam"):
                    net.opt.step()

            iterate()
            with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
                start = time.perf_counter()
                for _ in range(iterations):
                    iterate()
                wall = (time.perf_counter() - start) / iterations
            totals: dict[str, float] = {}
            for event in prof.key_averages():
                totals[event.key] = totals.get(event.key, 0.0) + event.cpu_time_total / 1e3 / iterations
            keys = {
                "forward": "forward",
                "hidden_layer_run": "hidden_layer_run",
                "spike_fn_forward": "_Spike",
                "compiled_forward_graphs": "CompiledFunction",
                "backward": "backward",
                "spike_fn_backward": "_SpikeBackward",
                "compiled_backward_graphs": "CompiledFunctionBackward",
                "adam": "adam",
            }
            row = {"iteration_ms_wall_profiled": wall * 1e3}
            row.update({name: totals.get(key, 0.0) for name, key in keys.items()})
            row["top_ops_self_ms"] = {
                e.key: e.self_cpu_time_total / 1e3 / iterations
                for e in sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:12]
            }
            out[net.label] = row
            print(f"{net.label}: " + ", ".join(f"{k} {v:.1f}" for k, v in row.items() if k != "top_ops_self_ms"))
    finally:
        SpikingLayer.run = plain_run  # type: ignore[method-assign]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds of 3 iterations (development)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 5; quick 2)")
    parser.add_argument("--iterations", type=int, default=None, help="iterations per round (default 10; quick 3)")
    parser.add_argument("--warm-cache", action="store_true", help="keep the inductor cache (compile times then low)")
    parser.add_argument("--only", default="", help="comma-separated labels to run (development)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead of timing: profile the dgnsim 40-128-10 networks (training_profile.json/.md)",
    )
    args = parser.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 5)
    iterations = args.iterations or (3 if args.quick else 10)
    if rounds < 1 or iterations < 1:
        parser.error("--rounds and --iterations must be positive")
    if not args.warm_cache:  # cold compile times, as a user's first run sees them
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="dgnsim-bench-inductor-")
    torch.set_num_threads(THREADS)
    only = {s for s in args.only.split(",") if s}
    if args.profile and not only:
        only = {"dgnsim_lif", "dgnsim_lif_compiled", "dgnsim_dgn", "dgnsim_dgn_compiled"}
    nets: list[Contender] = []
    for label, _, make in contenders():
        if only and label not in only:
            continue
        torch.manual_seed(0)
        net = make()
        net.first_s = net.iterate(1)  # the first iteration: compilation, caches
        net.iterate(2)  # warm-up
        print(f"{label}: first iteration {net.first_s:.2f} s", file=sys.stderr)
        nets.append(net)
    if args.profile:
        return _write_profile(profile([n for n in nets if not n.peer and "fsdd" not in n.label], iterations), args)
    for r in range(rounds):
        order = nets[r % len(nets) :] + nets[: r % len(nets)]
        for net in order:
            net.rates.append(B * iterations / net.iterate(iterations))
        print(f"round {r + 1}/{rounds}", file=sys.stderr)
    medians = {n.label: statistics.median(n.rates) for n in nets}
    peers = {n.label: medians[n.label] for n in nets if n.peer}
    fastest = max(peers, key=peers.__getitem__) if peers else None
    rows = {}
    for n in nets:
        per_iteration = B / medians[n.label]
        rows[n.label] = {
            "samples_per_second": medians[n.label],
            "rounds": n.rates,
            "peer": n.peer,
            "ratio_to_fastest_peer": medians[n.label] / peers[fastest] if fastest else None,
            "first_iteration_s": n.first_s,
            # the first iteration less an ordinary one: compilation and first-call costs
            "first_call_overhead_s": n.first_s - per_iteration,
        }
    result = {
        "networks": rows,
        "fastest_peer": fastest,
        "rounds": rounds,
        "iterations_per_round": iterations,
        "threads": THREADS,
        "T": T,
        "batch": B,
        "sizes": [N_IN, N_HID, N_OUT],
        "fsdd_sizes": [FSDD_CHANNELS, N_HID, N_OUT],
        "input_rate": RATE,
        "inductor_cache": "warm" if args.warm_cache else "cold (fresh directory)",
        "torch": torch.__version__,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }
    name = "training_quick" if args.quick else "training"
    write_json(RESULTS / f"{name}.json", result)
    write_text(RESULTS / f"{name}.md", markdown(result))
    return 0


def markdown(result: dict) -> str:
    """The results table of ``result`` (as :func:`main` writes it to JSON) with its protocol lines."""
    rows, fastest = result["networks"], result["fastest_peer"]
    lines = [
        "# Training speed (forward + backward + Adam, float32, 2 threads)",
        f"40-128-10 (FSDD: 320-128-10), T = {result['T']}, batch {result['batch']}; median over "
        f"{result['rounds']} interleaved rounds of {result['iterations_per_round']} iterations; "
        f"ratio to the fastest peer ({fastest}).",
        "",
        "| network | samples/s | ratio to fastest peer | first iteration (s) |",
        "|---|---|---|---|",
    ]
    for label, row in rows.items():
        ratio = f"{row['ratio_to_fastest_peer']:.2f}" if fastest else "-"
        lines.append(f"| {label} | {row['samples_per_second']:.0f} | {ratio} | {row['first_iteration_s']:.1f} |")
    lines += [
        "",
        "Peers: a linear layer, their LIF neuron, a linear readout of the time-mean spikes. `_compiled`: "
        "dgnsim with `compile_loop=True` (the time loop under torch.compile in chunks of 10 steps), "
        "Norse under `torch.compile`. First iteration: its wall time, compilation included "
        f"(inductor cache {result['inductor_cache']}; the delay network reuses the DGN's graphs of the "
        "same run).",
        "",
    ]
    return "\n".join(lines)


def _write_profile(rows: dict, args) -> int:
    name = "training_profile_quick" if args.quick else "training_profile"
    write_json(RESULTS / f"{name}.json", {"networks": rows, "threads": THREADS, "torch": torch.__version__})
    cols = [
        ("iteration_ms_wall_profiled", "iteration"),
        ("forward", "forward"),
        ("hidden_layer_run", "of which hidden layer"),
        ("spike_fn_forward", "spike fn fwd"),
        ("backward", "backward"),
        ("spike_fn_backward", "spike fn bwd"),
        ("adam", "Adam"),
    ]
    lines = [
        "# Where a training iteration's time goes (ms per iteration, torch.profiler, 2 threads)",
        "40-128-10, T = 100, batch 64, float32; CPU time of the regions (the profiler's overhead included).",
        "",
        "| network | " + " | ".join(c for _, c in cols) + " |",
        "|---|" + "---|" * len(cols),
    ]
    for label, row in rows.items():
        lines.append(f"| {label} | " + " | ".join(f"{row[k]:.1f}" for k, _ in cols) + " |")
    write_text(RESULTS / f"{name}.md", "\n".join([*lines, ""]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
