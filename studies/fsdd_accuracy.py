"""Clean FSDD accuracy of one model over several seeds, at a chosen training length and recipe.

Usage: ``python studies/fsdd_accuracy.py --model dgn [--recurrent] [--dropout P] [--augment SPEC]
[--label-smoothing E] [--delays MS,MS,...] [--split validation] --epochs 60 --seeds 3``.
Each seed is trained into runs/accuracy/<name>_e<epochs>/seed<k> (name: the model, with
``_rec`` when recurrent and a suffix for each recipe change from the defaults of ``dgnsim train``,
e.g. ``_do0.3``, ``_aug-shift4-timemask10``, ``_ls0.1``, ``_dl0-10-20``, ``_val`` for the validation split;
resumable; a finished seed is read back, not retrained), one hidden layer of 128.
Writes results/accuracy_<name>_e<epochs>.json and .md; with ``--robustness`` also
results/robustness_<name>_e<epochs>.json and .md: each seed under the perturbations of the
robustness table (``dgnsim.fsdd.robustness.PERTURBATIONS``). Choose recipes on ``--split validation``
(index 5-9 of the training files held out), then measure the chosen one on the official split.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from dgnsim.fsdd.augment import format_augment, parse_augment
from dgnsim.fsdd.robustness import PERTURBATIONS, delays_suffix, evaluate_run
from dgnsim.fsdd.train import parse_delays, train
from dgnsim.io import write_json, write_text

ROOT = Path(__file__).resolve().parent.parent


def recipe_of(args) -> tuple[dict, str, str]:
    """(keyword arguments of ``train``, name suffix, words) for the recipe changes asked for."""
    recipe, suffix, words = {}, "", []
    if args.dropout is not None:
        recipe["dropout"], suffix = args.dropout, suffix + f"_do{args.dropout}"
        words.append(f"dropout {args.dropout}")
    if args.augment:
        spec = format_augment(parse_augment(args.augment))
        recipe["augment"] = spec
        suffix += "_aug-" + spec.replace(":", "").replace(",", "-")
        words.append(f"input augmentation {spec}")
    if args.label_smoothing:
        recipe["label_smoothing"], suffix = args.label_smoothing, suffix + f"_ls{args.label_smoothing}"
        words.append(f"label smoothing {args.label_smoothing}")
    if args.delays:
        delays = parse_delays(args.delays)
        recipe["delays"] = delays
        suffix += delays_suffix(delays)
        words.append("input delays " + ", ".join(f"{d:g}" for d in delays) + " ms")
    if args.split != "official":
        recipe["split"] = args.split
        suffix += "_val" if args.split == "validation" else "_" + args.split.replace(":", "-")
    return recipe, suffix, ("default recipe but " + ", ".join(words)) if words else "default recipe"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="dgn")
    parser.add_argument("--recurrent", action="store_true", help="a recurrent hidden layer")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--dropout", type=float, default=None, help="dropout (default: that of dgnsim train)")
    parser.add_argument("--augment", default="", help="training-time input augmentation (dgnsim.fsdd.augment)")
    parser.add_argument("--label-smoothing", type=float, default=0.0, help="label smoothing of the loss")
    parser.add_argument("--delays", default="", help="input delays in ms, e.g. 0,10,20 (default: none)")
    parser.add_argument("--split", default="official", help="official (default) or validation")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument(
        "--robustness",
        action="store_true",
        help="also evaluate each seed under the robustness table's perturbations (official split)",
    )
    args = parser.parse_args(argv)
    if args.robustness and args.split != "official":
        parser.error("--robustness evaluates on the official test split; leave --split out")
    recipe, suffix, words = recipe_of(args)
    label = (f"{args.model}_rec" if args.recurrent else args.model) + suffix
    layer = (
        f"one recurrent hidden layer of 128 ({args.model})"
        if args.recurrent
        else f"{args.model}, one hidden layer of 128"
    )
    runs = ROOT / "runs" / "accuracy" / f"{label}_e{args.epochs}"
    accuracy = []
    for seed in range(args.seeds):
        print(f"== {label}, seed {seed}, {args.epochs} epochs", file=sys.stderr)
        accuracy.append(
            train(
                args.model,
                runs / f"seed{seed}",
                recurrent=args.recurrent,
                epochs=args.epochs,
                seed=seed,
                threads=args.threads,
                **recipe,
            ).test_accuracy
        )
    pct = 100 * np.array(accuracy)
    name = f"accuracy_{label}_e{args.epochs}"
    held_out = {
        "official": "Clean FSDD test accuracy (%), official split",
        "validation": "Clean FSDD accuracy (%) on the validation files (index 5-9 of the official "
        "training files; trained on index 10-49)",
    }
    held_out = held_out.get(args.split, f"Clean FSDD test accuracy (%), {args.split} split")
    write_json(
        ROOT / "results" / f"{name}.json",
        {
            "model": args.model,
            "recurrent": args.recurrent,
            "epochs": args.epochs,
            "split": args.split,
            **recipe,
            "test_accuracy": accuracy,
            "mean": float(pct.mean()),
            "std": float(pct.std()),
        },
    )
    write_text(
        ROOT / "results" / f"{name}.md",
        f"{held_out}, {layer}, "
        f"{args.epochs} epochs, {words}.\n\n| seed | "
        + " | ".join(map(str, range(args.seeds)))
        + " | mean ± std |\n|---|"
        + "---|" * (args.seeds + 1)
        + "\n| accuracy | "
        + " | ".join(f"{a:.1f}" for a in pct)
        + f" | {pct.mean():.2f} ± {pct.std():.2f} |\n",
    )
    print(f"{label}, {args.epochs} epochs: {pct.mean():.2f} ± {pct.std():.2f} % over {args.seeds} seeds")
    if args.robustness:
        write_robustness(label, args, words, [evaluate_run(runs / f"seed{seed}", seed) for seed in range(args.seeds)])
    return 0


def write_robustness(label: str, args, words: str, per_seed: list[dict]) -> None:
    """results/robustness_<label>_e<epochs>.json and .md: one row, the table's columns."""
    acc = 100 * np.array([[a[p or "clean"] for p in PERTURBATIONS.values()] for a in per_seed])
    name = f"robustness_{label}_e{args.epochs}"
    write_json(
        ROOT / "results" / f"{name}.json",
        {
            "label": label,
            "epochs": args.epochs,
            "recipe": words,
            "strengths": PERTURBATIONS,
            "columns": list(PERTURBATIONS),
            "per_seed": acc.tolist(),
            "mean": acc.mean(0).tolist(),
            "std": acc.std(0).tolist(),
        },
    )
    strengths = "; ".join(f"{k}: {v}" for k, v in PERTURBATIONS.items() if v)
    write_text(
        ROOT / "results" / f"{name}.md",
        f"Test accuracy (%) on FSDD (official split) under the robustness table's perturbations, "
        f"{label}, {args.epochs} epochs, {words}; mean ± std over {len(per_seed)} seeds. "
        f"Strengths: {strengths}.\n\n| model | "
        + " | ".join(PERTURBATIONS)
        + " |\n|---|"
        + "---|" * len(PERTURBATIONS)
        + f"\n| {label} | "
        + " | ".join(f"{m:.2f} ± {s:.2f}" for m, s in zip(acc.mean(0), acc.std(0)))
        + " |\n",
    )


if __name__ == "__main__":
    sys.exit(main())
