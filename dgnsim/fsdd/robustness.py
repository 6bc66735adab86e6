"""Paper A's robustness protocol on FSDD: train on clean data, test under perturbations.

Each (model, recurrent, seed) is trained into its own folder (resumable; a finished run
is not trained again) and evaluated once (cached in ``eval.json``; evaluated again when
the strengths in ``PERTURBATIONS`` change). The table gives the
mean and standard deviation over seeds of the test accuracy (%) per perturbation.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import numpy as np

from dgnsim.fsdd.evaluate import evaluate_dir
from dgnsim.fsdd.train import train
from dgnsim.io.files import write_json, write_text

#: Perturbation strengths of the table (stated in its header).
PERTURBATIONS = {
    "clean": None,
    "additive": "additive:0.02",  # a spike inserted with p = 0.02 per channel and step (~ +8 % spikes)
    "subtractive": "subtractive:0.2",  # each input spike deleted with p = 0.2
    "mixed": "mixed:0.02",  # both, p = 0.02 each
    "FGSM": "fgsm:0.001",  # 0.1 % of the input entries flipped (32 of 100 x 320, ~0.5 % of the spikes)
    "PGD": "pgd:0.001",  # same budget, random start + 5 steps
    "BIM": "bim:0.001",  # same budget, 5 steps
}


def delays_suffix(delays) -> str:
    """The suffix of a row's name for its input delays.

    Parameters
    ----------
    delays : iterable of float (ms)
        The input delays.

    Returns
    -------
    str
        ``"_dl0-10-20"`` for delays 0, 10, 20 ms; ``""`` for none (``(0,)``).
    """
    delays = [float(d) for d in delays]
    return "" if delays == [0.0] else "_dl" + "-".join(f"{d:g}" for d in delays)


def run_name(model: str, recurrent: bool, delays=(0.0,)) -> str:
    """The row name: ``dgn``, ``dgn_rec``; with input delays e.g. ``dgn_dl0-10-20``.

    Parameters
    ----------
    model : str
        The model's name.
    recurrent : bool
        Whether the hidden layer is recurrent.
    delays : iterable of float (ms)
        The input delays.

    Returns
    -------
    str
        The name.
    """
    return (f"{model}_rec" if recurrent else model) + delays_suffix(delays)


def _evaluated(evaluation: Path) -> bool:
    """Whether ``evaluation`` holds results for the current ``PERTURBATIONS`` (else: evaluate again)."""
    if not evaluation.exists():
        return False
    return json.loads(evaluation.read_text()).get("perturbations") == PERTURBATIONS


def evaluate_run(directory, seed: int, *, data=None, progress: bool = True) -> dict:
    """Accuracy of a trained network under every one of ``PERTURBATIONS``, cached.

    The result is cached in ``directory/eval.json`` and evaluated again when
    ``PERTURBATIONS`` change.

    Parameters
    ----------
    directory : str or path-like
        The trained network's folder.
    seed : int
        Seed of the random perturbations.
    data : str or path-like, optional
        The FSDD folder.
    progress : bool
        Say on stderr when it evaluates.

    Returns
    -------
    dict of str to float
        Perturbation (``"clean"`` for none) -> accuracy in [0, 1].
    """
    evaluation = Path(directory) / "eval.json"
    if not _evaluated(evaluation):
        if progress:
            print(f"== {directory}: evaluating", file=sys.stderr)
        acc = evaluate_dir(directory, list(PERTURBATIONS.values()), data=data, seed=seed)
        write_json(evaluation, {"accuracy": acc, "perturbations": PERTURBATIONS})
    return json.loads(evaluation.read_text())["accuracy"]


def robustness(
    configs,
    seeds: int,
    out,
    *,
    epochs: int = 30,
    data=None,
    threads: int = 2,
    progress: bool = True,
    delays=(0.0,),
    curves: bool = False,
) -> dict:
    """Train and evaluate every row of ``configs`` for ``seeds`` seeds.

    Writes ``robustness.json``, ``.csv`` and ``.md`` to ``out``; the runs go to
    ``out/runs/<row>/seed<k>``.

    Parameters
    ----------
    configs : iterable of tuple
        Rows ``(model, recurrent)``, trained with ``delays``, or ``(model, recurrent, delays)``
        with their own.
    seeds : int
        Seeds per row (0 .. seeds - 1).
    out : str or path-like
        The output folder.
    epochs : int
        Training epochs of each run.
    data : str or path-like, optional
        The FSDD folder.
    threads : int
        Torch's CPU threads.
    progress : bool
        Show progress on stderr.
    delays : sequence of float (ms)
        Input delays of the rows that give none (:class:`~dgnsim.surrogate.SpikingLayer`).
    curves : bool
        Also accuracy against strength for every perturbation, on the same networks
        (:func:`dgnsim.fsdd.curves.robustness_curves`; its 50 % strengths go into the report).

    Returns
    -------
    dict
        The report: ``columns``, ``strengths``, ``epochs``, ``table`` (per row: mean and std of
        the accuracy in % per column, and the number of seeds), and ``half_strength`` with
        ``curves``.
    """
    out = Path(out)
    results, runs = {}, {}
    for model, recurrent, row_delays in ((c[0], c[1], c[2] if len(c) > 2 else delays) for c in configs):
        name = run_name(model, recurrent, row_delays)
        for seed in range(seeds):
            directory = out / "runs" / name / f"seed{seed}"
            if not _evaluated(directory / "eval.json"):
                if progress:
                    print(f"== {name} seed {seed}: training (or reading back a finished run)", file=sys.stderr)
                train(
                    model,
                    directory,
                    recurrent=recurrent,
                    epochs=epochs,
                    seed=seed,
                    data=data,
                    threads=threads,
                    progress=progress,
                    delays=row_delays,
                )
            acc = evaluate_run(directory, seed, data=data, progress=progress)
            results.setdefault(name, []).append([acc[p or "clean"] for p in PERTURBATIONS.values()])
            runs.setdefault(name, []).append((directory, seed))
    table = {
        name: {"mean": (100 * np.mean(r, axis=0)).tolist(), "std": (100 * np.std(r, axis=0)).tolist(), "seeds": len(r)}
        for name, r in results.items()
    }
    report = {"columns": list(PERTURBATIONS), "strengths": PERTURBATIONS, "epochs": epochs, "table": table}
    write_json(out / "robustness.json", report)
    write_text(out / "robustness.csv", to_csv(report))
    write_text(out / "robustness.md", to_markdown(report))
    if curves:
        from dgnsim.fsdd.curves import robustness_curves

        rows = robustness_curves(runs, out, data=data, progress=progress)["rows"]
        report["half_strength"] = {
            name: {kind: c["half_strength"] for kind, c in row["curves"].items()} for name, row in rows.items()
        }
    return report


def to_csv(report: dict) -> str:
    """The robustness table as CSV: one line per row, mean and std (%) per perturbation.

    Parameters
    ----------
    report : dict
        As :func:`robustness` returns it.

    Returns
    -------
    str
        CSV text with a header line.
    """
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["model", "seeds"] + [f"{c}_{s}" for c in report["columns"] for s in ("mean", "std")])
    for name, row in report["table"].items():
        writer.writerow([name, row["seeds"]] + [f"{v:.2f}" for pair in zip(row["mean"], row["std"]) for v in pair])
    return buf.getvalue()


def to_markdown(report: dict) -> str:
    """The robustness table as Markdown, with a sentence on its protocol.

    Parameters
    ----------
    report : dict
        As :func:`robustness` returns it.

    Returns
    -------
    str
        The table (mean ± std in % per perturbation).
    """
    cols = report["columns"]
    lines = ["| model | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for name, row in report["table"].items():
        lines.append(f"| {name} | " + " | ".join(f"{m:.1f} ± {s:.1f}" for m, s in zip(row["mean"], row["std"])) + " |")
    strengths = "; ".join(f"{k}: {v}" for k, v in report["strengths"].items() if v)
    return (
        f"Test accuracy (%) on FSDD (official split), mean ± std over seeds, {report['epochs']} epochs, "
        f"trained on clean data only. Strengths: {strengths}.\n\n" + "\n".join(lines) + "\n"
    )
