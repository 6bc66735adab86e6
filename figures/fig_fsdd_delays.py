"""Input delays on FSDD: clean accuracy per seed and robustness, DGN and LIF, with and without delays.

Reads the committed results of ``studies/fsdd_accuracy.py`` at 60 epochs
(results/accuracy_<label>_e60.json and, with ``--robustness``, robustness_<label>_e60.json)
for the DGN and the LIF, each without and with input delays 0, 10, 20 ms, and the GRU
reference (results/reference_gru.json). Left: clean test accuracy, one dot per seed, bar =
mean. Right: mean ± std over seeds under the robustness table's perturbations.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from dgnsim.viz.plots import plt, robustness_bars, save_figure

RESULTS = Path(__file__).resolve().parent.parent / "results"
#: (label in the result files, legend text)
NETWORKS = [
    ("lif", "LIF"),
    ("lif_dl0-10-20", "LIF, delays 0/10/20 ms"),
    ("dgn", "DGN"),
    ("dgn_dl0-10-20", "DGN, delays 0/10/20 ms"),
]


def _read(name: str) -> dict:
    path = RESULTS / name
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; run studies/fsdd_accuracy.py (see README, Results on FSDD)")
    return json.loads(path.read_text())


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    accuracy = {label: 100 * np.array(_read(f"accuracy_{label}_e60.json")["test_accuracy"]) for label, _ in NETWORKS}
    robust = {label: _read(f"robustness_{label}_e60.json") for label, _ in NETWORKS}
    gru = _read("reference_gru.json")
    colors = ["#9ecae1", "#3182bd", "#fdae6b", "#e6550d"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1, 2.4]})
    for k, (label, _text) in enumerate(NETWORKS):
        acc = accuracy[label]
        ax1.bar(k, acc.mean(), 0.7, color=colors[k])
        ax1.plot(np.full(len(acc), k) + np.linspace(-0.15, 0.15, len(acc)), acc, "k.", ms=4)
    ax1.axhline(gru["mean"], color="0.3", lw=0.8, ls="--")
    ax1.text(-0.4, gru["mean"] + 0.05, f"GRU-128 (non-spiking) {gru['mean']:.1f} %", fontsize=7, color="0.3")
    ax1.axhline(98.5, color="tab:red", lw=0.6, ls=":")
    ax1.text(-0.4, 98.55, "target 98.5 %", fontsize=7, color="tab:red")
    ax1.set_xticks(
        range(len(NETWORKS)),
        [
            t.split(",")[0] + ("\n+ delays" if "," in t else "\n") + f"\n(n={len(accuracy[label])})"
            for label, t in NETWORKS
        ],
        fontsize=7,
    )
    ax1.set_ylim(94, 100.4)
    ax1.set_ylabel("clean test accuracy (%)")
    ax1.set_title("official split, 60 epochs, one hidden layer of 128", fontsize=8)
    columns = robust[NETWORKS[0][0]]["columns"]
    strengths = robust[NETWORKS[0][0]]["strengths"]
    rows = []
    for k, (label, text) in enumerate(NETWORKS):
        row = robust[label]
        if row["columns"] != columns or row["strengths"] != strengths:
            raise ValueError(f"robustness_{label}_e60.json: other columns or strengths than {NETWORKS[0][0]}'s")
        rows.append((f"{text} (n={len(row['per_seed'])})", row["mean"], row["std"], colors[k]))
    robustness_bars(ax2, columns, strengths, rows)
    ax2.set_title(
        "trained on clean data; strengths under the labels (probability per channel and step,\n"
        "or fraction of input entries flipped); mean ± std over seeds",
        fontsize=8,
    )
    ax2.legend(ncol=2, fontsize=7, frameon=False, loc="upper right", bbox_to_anchor=(1, 1.03))
    fig.tight_layout()
    return save_figure(fig, Path(out_dir) / "fsdd_delays")


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "out"))
