"""Theory against the trained network: predicted against measured noise-induced membrane variance.

Reads results/noise_theory.json (``python studies/noise_theory.py``). One point per hidden
neuron; left, the linear-noise prediction at the neuron's operating point (time-averaged input
traces); right, the prediction step by step (the traces as they are). Error bars: the 99 %
interval of the measurement (spread over noise seeds).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from matplotlib.ticker import NullFormatter

from dgnsim.viz.plots import plt, save_figure

RESULTS = Path(__file__).resolve().parent.parent / "results" / "noise_theory.json"


def main(out_dir: Path, quick: bool = False, results: Path = RESULTS) -> list[Path]:
    if not results.exists():
        raise FileNotFoundError(f"{results}: no results; run 'python studies/noise_theory.py' first")
    report = json.loads(results.read_text())
    rows = {r["network"]: r for r in report["rows"]}
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), sharex=True, sharey=True)
    colors = plt.cm.tab10.colors
    values = np.concatenate(
        [np.ravel(d[k]) for d in report["per_neuron"].values() for k in ("predicted", "resolved", "ci")]
    )
    lim = [0.8 * values[values > 0].min(), 1.25 * values.max()]
    for ax, key, title in (
        (axes[0], "predicted", "operating point (time-averaged gate)"),
        (axes[1], "resolved", "step by step (the gate as it is)"),
    ):
        for k, (name, d) in enumerate(report["per_neuron"].items()):
            x, y, ci = np.asarray(d[key]), np.asarray(d["measured"]), np.asarray(d["ci"])
            inside = rows[name]["fraction_inside" if key == "predicted" else "resolved_fraction_inside"]
            ax.errorbar(
                x,
                y,
                yerr=[y - ci[:, 0], ci[:, 1] - y],
                fmt="o",
                ms=2.5,
                lw=0.5,
                color=colors[k],
                alpha=0.7,
                label=f"{name}: {100 * inside:.0f} % inside",
            )
        ax.plot(lim, lim, color="0.4", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ticks = [t for t in (0.2, 0.3, 0.5, 1, 2, 3, 5, 10) if lim[0] <= t <= lim[1]]
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_minor_formatter(NullFormatter())
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
        ax.set_xlim(lim)
        ax.set_ylim(lim)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("predicted variance (mV$^2$)")
        ax.legend(fontsize=7, frameon=False, loc="upper left")
    axes[0].set_ylabel("measured variance in Brian2 (mV$^2$)")
    sigma = report["rows"][0]["sigma_mV"]
    fig.suptitle(
        f"Noise-induced membrane variance per hidden neuron, sigma = {sigma:g} mV (FSDD test split, threshold lifted)",
        fontsize=9,
    )
    fig.tight_layout()
    return save_figure(fig, Path(out_dir) / "noise_theory")


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "out"))
