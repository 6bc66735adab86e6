"""Training speed of the surrogate against snnTorch, side by side in one run.

The same 40-128-10 network of LIF neurons, T = 100 steps, batch 64, float32, 2 threads,
forward + backward + Adam step on random input spikes at rate 0.2. snnTorch: two
``nn.Linear`` layers and ``snn.Leaky`` neurons (beta = exp(-1/20)), the output layer's
membrane summed over time, its usual tutorial loop. dgnsim: ``Classifier("lif", ...)``
(current-based LIF with a synaptic trace, i.e. more state per neuron than snnTorch's
Leaky), ``Classifier("dgn", ...)`` and the DGN with input delays 0, 10, 20 ms (three
synapses per input and neuron). Writes benchmarks/results/training.json and .md.
"""

from __future__ import annotations

import math
import os
import platform
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from dgnsim.io import write_json, write_text
from dgnsim.surrogate import Classifier

RESULTS = Path(__file__).resolve().parent / "results"
T, B, N_IN, N_HID, N_OUT = 100, 64, 40, 128, 10


def snntorch_net():
    import snntorch as snn
    from snntorch import surrogate

    beta = math.exp(-1 / 20)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(N_IN, N_HID), nn.Linear(N_HID, N_OUT)
            self.lif1 = snn.Leaky(beta=beta, spike_grad=surrogate.fast_sigmoid())
            self.lif2 = snn.Leaky(beta=beta, spike_grad=surrogate.fast_sigmoid())

        def forward(self, x):  # x: (B, T, C)
            mem1, mem2 = self.lif1.init_leaky(), self.lif2.init_leaky()
            out = 0
            for t in range(x.shape[1]):
                spk1, mem1 = self.lif1(self.fc1(x[:, t]), mem1)
                _, mem2 = self.lif2(self.fc2(spk1), mem2)
                out = out + mem2
            return out / x.shape[1]

    return Net()


def samples_per_second(net, repeats: int) -> float:
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(B, T, N_IN, generator=gen) < 0.2).float()
    y = torch.randint(0, N_OUT, (B,), generator=gen)
    times = []
    for k in range(repeats + 2):
        start = time.perf_counter()
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if k >= 2:  # the first two are warm-up
            times.append(time.perf_counter() - start)
    return B / (sorted(times)[len(times) // 2])


def main(argv=None) -> int:
    quick = "--quick" in (argv or sys.argv[1:])
    repeats = 5 if quick else 30
    torch.set_num_threads(2)
    torch.manual_seed(0)
    rates = {}
    for label, make in [
        ("snntorch_leaky", snntorch_net),
        ("dgnsim_lif", lambda: Classifier("lif", N_IN, N_HID, N_OUT)),
        ("dgnsim_dgn", lambda: Classifier("dgn", N_IN, N_HID, N_OUT)),
        ("dgnsim_dgn_delays_0_10_20", lambda: Classifier("dgn", N_IN, N_HID, N_OUT, delays=(0, 10, 20))),
    ]:
        rates[label] = samples_per_second(make(), repeats)
        print(f"{label}: {rates[label]:.0f} samples/s", file=sys.stderr)
    result = {
        "samples_per_second": rates,
        "repeats": repeats,
        "threads": 2,
        "T": T,
        "batch": B,
        "sizes": [N_IN, N_HID, N_OUT],
        "torch": torch.__version__,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "ratio_lif_over_snntorch": rates["dgnsim_lif"] / rates["snntorch_leaky"],
        "ratio_dgn_over_snntorch": rates["dgnsim_dgn"] / rates["snntorch_leaky"],
    }
    name = "training_quick" if quick else "training"
    write_json(RESULTS / f"{name}.json", result)
    write_text(
        RESULTS / f"{name}.md",
        "\n".join(
            [
                "# Training speed (forward + backward + Adam, float32, 2 threads)",
                f"40-128-10, T = {T}, batch {B}; median of {repeats} iterations after 2 warm-up.",
                "",
                "| network | samples/s | ratio to snnTorch |",
                "|---|---|---|",
                *[f"| {k} | {v:.0f} | {v / rates['snntorch_leaky']:.2f} |" for k, v in rates.items()],
                "",
            ]
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
