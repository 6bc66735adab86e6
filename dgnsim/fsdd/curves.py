"""Robustness curves: test accuracy against perturbation strength, per trained network.

The robustness table (:mod:`dgnsim.fsdd.robustness`) gives one strength per
perturbation; whether a model's advantage holds, grows or vanishes with the strength needs
the whole curve. For the random perturbations (:func:`dgnsim.fsdd.data.perturb`) the
strengths are the fixed grids :data:`NOISE_GRIDS` (probability per channel and step). For
the attacks (:mod:`dgnsim.fsdd.attacks`) the budget (fraction of entries flipped) doubles
from :data:`ATTACK_START` until the mean accuracy of a row's seeds falls below
:data:`ATTACK_FLOOR` (or the budget reaches :data:`ATTACK_MAX`), so each row's curve runs
until the attack has won.

Each network's accuracies are cached in its folder (``curves.json``, written after every
strength), so an interrupted run loses at most one evaluation and a repeated run evaluates
nothing. The row's curve is the mean and standard deviation over its seeds; the strength at
which the mean falls to 50 % is interpolated linearly between grid points (in the logarithm
of the budget for the attacks).
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np

from dgnsim.fsdd.evaluate import evaluate, load_for_evaluation
from dgnsim.io.files import write_json, write_text
from dgnsim.io.progress import progress_bar

#: Strength grids of the random perturbations (probability per channel and step).
NOISE_GRIDS = {
    "additive": [0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3],
    "subtractive": [0.0, 0.1, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95],
    "mixed": [0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3],
}
#: The attacks, their first nonzero budget, its growth factor, the largest budget tried and
#: the accuracy below which a row's budgets stop growing.
ATTACKS = ("fgsm", "pgd", "bim")
ATTACK_START, ATTACK_FACTOR, ATTACK_MAX, ATTACK_FLOOR = 0.00025, 2.0, 0.256, 0.2
#: The accuracy whose crossing the summary table reports.
HALF = 0.5

CACHE = "curves.json"


def _key(value: float) -> str:
    return f"{value:.6g}"


class _Network:
    """One trained network, loaded once, with its cache of accuracies per (kind, strength)."""

    def __init__(self, directory: Path, seed: int, data):
        self.directory, self.seed, self._data = directory, seed, data
        self._net = self._ds = None
        path = directory / CACHE
        self.cache = json.loads(path.read_text()) if path.exists() else {}

    def accuracy(self, kind: str, strength: float) -> float:
        values = self.cache.setdefault(kind, {})
        if _key(strength) not in values:
            if self._net is None:
                self._net, self._ds = load_for_evaluation(self.directory, self._data)
            perturbation = f"{kind}:{strength:.6g}" if strength > 0 else None
            values[_key(strength)] = evaluate(self._net, self._ds.test_x, self._ds.test_y, perturbation, self.seed)
            write_json(self.directory / CACHE, self.cache)  # after every strength: an interruption loses one
        return values[_key(strength)]


def attack_budgets() -> list[float]:
    """0, then :data:`ATTACK_START` doubling up to :data:`ATTACK_MAX`."""
    count = int(round(math.log(ATTACK_MAX / ATTACK_START, ATTACK_FACTOR))) + 1
    return [0.0] + [ATTACK_START * ATTACK_FACTOR**k for k in range(count)]


def _row_curve(networks: list[_Network], kind: str, bar) -> tuple[list[float], np.ndarray]:
    """Strengths and accuracies (seeds x strengths) of one row under ``kind``."""
    if kind in NOISE_GRIDS:
        grid = NOISE_GRIDS[kind]
        acc = np.array([[n.accuracy(kind, s) for s in grid] for n in networks])
        bar.update(1)
        return grid, acc
    grid, columns = [], []
    for strength in attack_budgets():
        grid.append(strength)
        columns.append([n.accuracy(kind, strength) for n in networks])
        if np.mean(columns[-1]) < ATTACK_FLOOR:
            break
    bar.update(1)
    return grid, np.array(columns).T


def crossing(strengths, mean, level: float = HALF, log: bool = False) -> float | None:
    """The strength at which ``mean`` first falls to ``level``, interpolated linearly.

    Parameters
    ----------
    strengths : array_like of float
        The grid of strengths, increasing.
    mean : array_like of float
        The mean accuracy (in [0, 1]) at each strength.
    level : float
        The accuracy whose crossing is sought.
    log : bool
        Interpolate in log-strength (for the attacks' doubling budgets).

    Returns
    -------
    float or None
        The strength, or None if ``mean`` never falls to ``level`` on the grid.
    """
    s, m = np.asarray(strengths, float), np.asarray(mean, float)
    below = np.nonzero(m <= level)[0]
    if below.size == 0:
        return None
    k = int(below[0])
    if k == 0:
        return float(s[0])
    x0, x1 = (np.log(s[k - 1]), np.log(s[k])) if log and s[k - 1] > 0 else (s[k - 1], s[k])
    x = x0 + (m[k - 1] - level) / (m[k - 1] - m[k]) * (x1 - x0)
    return float(np.exp(x) if log and s[k - 1] > 0 else x)


def robustness_curves(rows: dict, out, *, data=None, progress: bool = True) -> dict:
    """Accuracy against strength for every perturbation, per row of trained networks.

    Writes ``robustness_curves.json``, ``.csv`` and ``.md`` to ``out``; each network's
    accuracies are cached in its folder (``curves.json``).

    Parameters
    ----------
    rows : dict
        ``{name: [(directory, seed), ...]}``: the trained networks of each row and the seed of
        their perturbations.
    out : str or path-like
        The folder of the report.
    data : str or path-like, optional
        The FSDD folder.
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    dict
        The report: ``protocol`` and, per row, each perturbation's strengths, mean, std and
        per-seed accuracies and its 50 % strength.
    """
    kinds = [*NOISE_GRIDS, *ATTACKS]
    networks = {name: [_Network(Path(d), seed, data) for d, seed in runs] for name, runs in rows.items()}
    report = {
        "protocol": {
            "noise_grids": NOISE_GRIDS,
            "attack_budgets": "0, then %g doubling up to %g, until the "
            "mean accuracy is below %g" % (ATTACK_START, ATTACK_MAX, ATTACK_FLOOR),
            "half": HALF,
        },
        "rows": {},
    }
    with progress_bar(desc="robustness curves", unit="curve", total=len(rows) * len(kinds), enabled=progress) as bar:
        for name, nets in networks.items():
            report["rows"][name] = row = {"seeds": len(nets), "curves": {}}
            for kind in kinds:
                grid, acc = _row_curve(nets, kind, bar)
                mean = acc.mean(axis=0)
                row["curves"][kind] = {
                    "strength": grid,
                    "mean": mean.tolist(),
                    "std": acc.std(axis=0).tolist(),
                    "per_seed": acc.tolist(),
                    "half_strength": crossing(grid, mean, log=kind in ATTACKS),
                }
    out = Path(out)
    write_json(out / "robustness_curves.json", report)
    write_text(out / "robustness_curves.csv", curves_csv(report))
    write_text(out / "robustness_curves.md", curves_markdown(report))
    return report


def curves_csv(report: dict) -> str:
    """One line per (row, perturbation, strength): mean and std of the accuracy over seeds.

    Parameters
    ----------
    report : dict
        As :func:`robustness_curves` returns it.

    Returns
    -------
    str
        CSV text with a header line.
    """
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["model", "perturbation", "strength", "accuracy_mean", "accuracy_std", "seeds"])
    for name, row in report["rows"].items():
        for kind, curve in row["curves"].items():
            for s, m, sd in zip(curve["strength"], curve["mean"], curve["std"]):
                writer.writerow([name, kind, f"{s:.6g}", f"{m:.4f}", f"{sd:.4f}", row["seeds"]])
    return buf.getvalue()


def curves_markdown(report: dict) -> str:
    """The strength at which each row's mean accuracy falls to 50 %, per perturbation.

    Parameters
    ----------
    report : dict
        As :func:`robustness_curves` returns it.

    Returns
    -------
    str
        A Markdown table with a sentence on how to read it.
    """
    kinds = list(next(iter(report["rows"].values()))["curves"]) if report["rows"] else []
    lines = ["| model | " + " | ".join(kinds) + " |", "|---|" + "---|" * len(kinds)]
    for name, row in report["rows"].items():
        cells = []
        for kind in kinds:
            curve = row["curves"][kind]
            half = curve["half_strength"]
            cells.append(f"{half:.3g}" if half is not None else f"> {curve['strength'][-1]:.3g}")
        lines.append(f"| {name} (n={row['seeds']}) | " + " | ".join(cells) + " |")
    return (
        "Strength at which the mean test accuracy (FSDD, official split) falls to 50 %: probability per "
        "channel and step for additive, subtractive and mixed noise; fraction of input entries flipped for "
        "the attacks. Linear interpolation between grid points (log budget for attacks); '> x': still above "
        "50 % at the largest strength x tried.\n\n" + "\n".join(lines) + "\n"
    )
