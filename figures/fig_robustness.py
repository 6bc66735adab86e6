"""Robustness table of paper A on FSDD as a figure: test accuracy per perturbation and model.

Reads the committed results of ``dgnsim robustness`` (results/robustness.json; regenerate
them with ``dgnsim robustness --seeds 3 --out runs/robustness`` and copy the three
robustness.* files into results/). Error bars: standard deviation over seeds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from dgnsim.viz.plots import plt, robustness_bars, save_figure

RESULTS = Path(__file__).resolve().parent.parent / "results" / "robustness.json"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    if not RESULTS.exists():
        raise FileNotFoundError(f"{RESULTS}: no robustness results; run 'dgnsim robustness' first")
    report = json.loads(RESULTS.read_text())
    columns, table = report["columns"], report["table"]
    fig, ax = plt.subplots(figsize=(9, 3.6))
    colors = plt.cm.tab10(np.linspace(0, 1, 10))
    robustness_bars(
        ax,
        columns,
        report["strengths"],
        [
            (f"{name} (n={table[name]['seeds']})", table[name]["mean"], table[name]["std"], colors[k % 10])
            for k, name in enumerate(table)
        ],
    )
    ax.axhline(10, color="0.6", lw=0.6, ls=":")
    ax.set_title(
        f"FSDD, trained on clean data ({report['epochs']} epochs); strengths under the labels "
        "(probability per channel and step, or fraction of entries flipped)",
        fontsize=8,
    )
    ax.legend(ncol=5, fontsize=7, frameon=False, loc="upper right", bbox_to_anchor=(1, 1.02))
    fig.tight_layout()
    return save_figure(fig, Path(out_dir) / "robustness")


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "out"))
