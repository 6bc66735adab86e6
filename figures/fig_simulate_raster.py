"""Raster and membrane traces of every model under the same Poisson drive (C++ standalone).

The main job's embedded default: 100 neurons per model, 1 s, 100 synapses per neuron
from Poisson sources at 20 Hz, seed 0. Needs no data set.
"""

from __future__ import annotations

import sys
from pathlib import Path

from brian2 import Hz, ms, mV

from dgnsim import load_model
from dgnsim.brian.simulate import simulate
from dgnsim.viz.plots import plt, save_figure

#: Synaptic weights giving each model a moderate rate under the common drive.
WEIGHTS = {"sdgn": {"c": 0.05}, "dgn": {"w": 4 * mV, "c": 0.1}}


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    models = ["lif", "alif", "multiscale", "lnm", "dgn", "sdgn", "dgn_activity"]  # the network models
    duration = (200 if quick else 1000) * ms
    n = 20 if quick else 100
    fig, axes = plt.subplots(
        len(models), 2, figsize=(9, 1.6 * len(models)), sharex=True, gridspec_kw={"width_ratios": [1.2, 1]}
    )
    for row, name in enumerate(models):
        r = simulate(
            name,
            n,
            duration,
            20 * Hz,
            device="numpy" if quick else "cpp_standalone",
            seed=0,
            synapse=WEIGHTS.get(name, {"w": 2 * mV}),
        )
        ax_r, ax_v = axes[row]
        ax_r.plot(r.spike_t_s * 1e3, r.spike_i, ".", ms=1.5, color="k")
        ax_r.set_ylabel(f"{name}\nneuron")
        ax_r.text(
            0.99,
            0.97,
            f"{r.mean_rate_hz:.1f} Hz",
            transform=ax_r.transAxes,
            ha="right",
            va="top",
            fontsize=7,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
        )
        ax_v.plot(r.trace_t_s * 1e3, r.traces["v"][0] * 1e3, lw=0.7)
        th = load_model(name).parameters.get("v_th")
        if th is not None:
            ax_v.axhline(float(th.default / mV), color="0.5", ls="--", lw=0.7)
        ax_v.set_ylabel("v (mV)")
    axes[-1, 0].set_xlabel("time (ms)")
    axes[-1, 1].set_xlabel("time (ms)")
    axes[0, 0].set_title("spikes (Poisson input, 100 synapses per neuron at 20 Hz)")
    axes[0, 1].set_title("membrane potential of neuron 0 (dashed: v_th)")
    fig.tight_layout()
    return save_figure(fig, Path(out_dir) / "simulate_raster")


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "out"))
