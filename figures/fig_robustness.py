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

from dgnsim.plots import plt, save_figure

RESULTS = Path(__file__).resolve().parent.parent / "results" / "robustness.json"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    if not RESULTS.exists():
        raise FileNotFoundError(f"{RESULTS}: no robustness results; run 'dgnsim robustness' first")
    report = json.loads(RESULTS.read_text())
    columns, table = report["columns"], report["table"]
    names = list(table)
    fig, ax = plt.subplots(figsize=(9, 3.6))
    width = 0.8 / len(names)
    x = np.arange(len(columns))
    colors = plt.cm.tab10(np.linspace(0, 1, 10))
    for k, name in enumerate(names):
        row = table[name]
        ax.bar(x + (k - (len(names) - 1) / 2) * width, row["mean"], width, yerr=row["std"],
               label=f"{name} (n={row['seeds']})", color=colors[k % 10], capsize=1.5, error_kw={"lw": 0.6})
    labels = [c if not report["strengths"].get(c) else f"{c}\n{report['strengths'][c].split(':')[1]}"
              for c in columns]
    ax.set_xticks(x, labels)
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 118)  # room for the legend above the bars
    ax.set_yticks(range(0, 101, 20))
    ax.axhline(10, color="0.6", lw=0.6, ls=":")
    ax.set_title(f"FSDD, trained on clean data ({report['epochs']} epochs); strengths under the labels "
                 "(probability per channel and step, or fraction of entries flipped)", fontsize=8)
    ax.legend(ncol=5, fontsize=7, frameon=False, loc="upper right", bbox_to_anchor=(1, 1.02))
    fig.tight_layout()
    return save_figure(fig, Path(out_dir) / "robustness")


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "out"))
