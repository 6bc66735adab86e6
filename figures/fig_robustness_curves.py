"""Robustness curves on FSDD: test accuracy against perturbation strength, per network.

Reads the committed results of ``dgnsim robustness --curves`` (results/robustness_curves.json;
regenerate them with ``dgnsim robustness --models dgn,lif --recurrent '' --delays 0
--delays 0,10,20 --epochs 60 --curves --out runs/curves`` and copy the robustness_curves.*
files into results/). Lines: mean over seeds; bands: one standard deviation.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from matplotlib.ticker import NullFormatter

from dgnsim.viz.plots import plt, save_figure

RESULTS = Path(__file__).resolve().parent.parent / "results" / "robustness_curves.json"
TITLES = {
    "additive": "additive noise",
    "subtractive": "subtractive noise",
    "mixed": "mixed noise",
    "fgsm": "FGSM",
    "pgd": "PGD",
    "bim": "BIM",
}
NOISE_LABEL = "spike probability per channel and step"
ATTACK_LABEL = "budget (fraction of input entries flipped;\nbudget 0 drawn at half the first budget)"


def main(out_dir: Path, quick: bool = False, results: Path = RESULTS) -> list[Path]:
    if not results.exists():
        raise FileNotFoundError(f"{results}: no robustness curves; run 'dgnsim robustness --curves' first")
    rows = json.loads(results.read_text())["rows"]
    fig, axes = plt.subplots(2, 3, figsize=(10, 5.6), sharey=True)
    colors = plt.cm.tab10.colors
    for ax, kind in zip(axes.flat, TITLES):
        attack = kind not in ("additive", "subtractive", "mixed")
        for k, (name, row) in enumerate(rows.items()):
            curve = row["curves"][kind]
            x = [s if s > 0 or not attack else curve["strength"][1] / 2 for s in curve["strength"]]
            mean = [100 * m for m in curve["mean"]]
            std = [100 * s for s in curve["std"]]
            ax.plot(x, mean, "-o", ms=2.5, lw=1.1, color=colors[k % 10], label=f"{name} (n={row['seeds']})")
            ax.fill_between(
                x,
                [m - s for m, s in zip(mean, std)],
                [m + s for m, s in zip(mean, std)],
                color=colors[k % 10],
                alpha=0.2,
                lw=0,
            )
        if attack:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.axhline(50, color="0.6", lw=0.6, ls=":")
        ax.set_title(TITLES[kind])
        ax.set_xlabel(ATTACK_LABEL if attack else NOISE_LABEL, fontsize=8)
        ax.set_ylim(0, 102)
    for ax in axes[:, 0]:
        ax.set_ylabel("test accuracy (%)")
    axes[0, 0].legend(fontsize=7, frameon=False, loc="lower left")
    fig.suptitle(
        "FSDD, trained on clean data: accuracy against perturbation strength (mean ± std over seeds)", fontsize=9
    )
    fig.tight_layout()
    return save_figure(fig, Path(out_dir) / "robustness_curves")


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "out"))
