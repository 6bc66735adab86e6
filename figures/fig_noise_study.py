"""Accuracy against membrane noise for the trained DGN and LIF, with and without input delays.

Each network (checkpoints/dgn, dgn_nodelay, lif, lif_delays; missing ones are left out) is
bridged to Brian2 once and every noise level and seed is a run of that one build
(:func:`dgnsim.interop.study.study_test_split`). Bands: 95 % bootstrap intervals over the
test samples and the noise seeds. quick: the numpy target on 10 samples, 3 levels, 1 seed;
full: cpp_standalone on the 300 test samples, 7 levels (0 to 32 mV), 3 seeds (from seed 0).
"""

from __future__ import annotations

import sys
from pathlib import Path

from brian2 import mV

from dgnsim.interop.study import study_test_split
from dgnsim.io.files import write_json
from dgnsim.viz.plots import plt, save_figure

ROOT = Path(__file__).resolve().parent.parent
NETWORKS = {
    "dgn": ("DGN, delays 0/10/20 ms", "C0", "-"),
    "dgn_nodelay": ("DGN, no delays", "C0", "--"),
    "lif_delays": ("LIF, delays 0/10/20 ms", "C1", "-"),
    "lif": ("LIF, no delays", "C1", "--"),
}


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    levels = [0, 4, 16] if quick else [0, 1, 2, 4, 8, 16, 32]  # mV
    options = dict(
        noise=[s * mV for s in levels],
        noise_seeds=1 if quick else 3,
        seed=0,
        progress=False,
        device="numpy" if quick else "cpp_standalone",
        limit=10 if quick else None,
    )
    found = {
        name: ROOT / "checkpoints" / name
        for name in NETWORKS
        if (ROOT / "checkpoints" / name / "manifest.json").exists()
    }
    if not found:
        raise FileNotFoundError(f"no trained networks in {ROOT / 'checkpoints'} ({', '.join(NETWORKS)})")
    reports = {name: study_test_split(path, **options).report() for name, path in found.items()}
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for name, report in reports.items():
        label, color, style = NETWORKS[name]
        rows = report["noise"]
        x = [r["sigma_mV"] for r in rows]
        ax.fill_between(
            x,
            [100 * r["ci95"][0] for r in rows],
            [100 * r["ci95"][1] for r in rows],
            color=color,
            alpha=0.15 if style == "-" else 0.08,
            lw=0,
        )
        ax.plot(x, [100 * r["accuracy"] for r in rows], style, marker="o", ms=3, color=color, lw=1.2, label=label)
    some = next(iter(reports.values()))
    lowest = min(100 * r["ci95"][0] for report in reports.values() for r in report["noise"])
    ax.set_xlabel("membrane noise amplitude sigma (mV)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(max(0.0, 10 * (lowest // 10) - 5), 100.5)
    seeds = some["noise_seeds"]
    ax.set_title(
        f"FSDD test split: {some['samples']} samples, {seeds} noise seed{'s' if seeds > 1 else ''} "
        f"per level, Brian2 {some['device']}",
        fontsize=8,
    )
    ax.legend(fontsize=7, frameon=False, loc="lower left")
    fig.tight_layout()
    out = Path(out_dir)
    stem = out / "noise_study"
    write_json(stem.with_suffix(".json"), {"levels_mV": levels, "networks": reports})
    return [stem.with_suffix(".json"), *save_figure(fig, stem)]


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "out", quick="--quick" in sys.argv))
