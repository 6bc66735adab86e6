"""Clean FSDD test accuracy of one model over several seeds, at a chosen training length.

Usage: ``python studies/fsdd_accuracy.py --model dgn [--recurrent] [--dropout P] --epochs 60 --seeds 3``.
Each seed is trained into runs/accuracy/<name>_e<epochs>/seed<k> (name: the model, with
``_rec`` when recurrent and ``_do<P>`` for a dropout other than the default; resumable; a finished
seed is read back, not retrained) with the default recipe of ``dgnsim train`` (official
split, one hidden layer of 128). Writes results/accuracy_<name>_e<epochs>.json and .md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from dgnsim.io import write_json, write_text
from dgnsim.train import train

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="dgn")
    parser.add_argument("--recurrent", action="store_true", help="a recurrent hidden layer")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--dropout", type=float, default=None, help="dropout (default: that of dgnsim train)")
    args = parser.parse_args(argv)
    label = (f"{args.model}_rec" if args.recurrent else args.model) + (f"_do{args.dropout}" if args.dropout is not None else "")
    recipe = {} if args.dropout is None else {"dropout": args.dropout}
    layer = f"one recurrent hidden layer of 128 ({args.model})" if args.recurrent else f"{args.model}, one hidden layer of 128"
    runs = ROOT / "runs" / "accuracy" / f"{label}_e{args.epochs}"
    accuracy = []
    for seed in range(args.seeds):
        out = runs / f"seed{seed}"
        print(f"== {label}, seed {seed}, {args.epochs} epochs", file=sys.stderr)
        accuracy.append(train(args.model, out, recurrent=args.recurrent, epochs=args.epochs, seed=seed,
                              **recipe).test_accuracy)
    pct = 100 * np.array(accuracy)
    name = f"accuracy_{label}_e{args.epochs}"
    write_json(ROOT / "results" / f"{name}.json", {"model": args.model, "recurrent": args.recurrent,
                                                    "epochs": args.epochs, **recipe,
                                                    "test_accuracy": accuracy, "mean": float(pct.mean()),
                                                    "std": float(pct.std())})
    write_text(ROOT / "results" / f"{name}.md",
               f"Clean FSDD test accuracy (%), official split, {layer}, "
               f"{args.epochs} epochs, default recipe" + (f" but dropout {args.dropout}" if recipe else "") + ".\n\n| seed | " + " | ".join(map(str, range(args.seeds)))
               + " | mean ± std |\n|---|" + "---|" * (args.seeds + 1) + "\n| accuracy | "
               + " | ".join(f"{a:.1f}" for a in pct) + f" | {pct.mean():.1f} ± {pct.std():.1f} |\n")
    print(f"{label}, {args.epochs} epochs: {pct.mean():.2f} ± {pct.std():.2f} % over {args.seeds} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
