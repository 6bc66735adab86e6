"""Speaker-independent FSDD accuracy: train on five speakers, test on the sixth.

Usage: ``python studies/fsdd_speaker_holdout.py [--models dgn,lif,dgn_rec,lif_rec,dgn_dl] [--speakers theo,...]
[--epochs 30] [--delays 0,10,20]`` (default: every speaker; a ``_rec`` suffix means a recurrent
hidden layer, a ``_dl`` suffix input delays ``--delays`` ms). Each (model, speaker) is trained
into runs/speaker/<model>-<speaker> (resumable) and the table is written to
results/speaker_holdout.json and .md; rows of other models already there (same epochs and
seed) are kept. Reads FSDD from the usual path.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dgnsim.fsdd.data import SPEAKERS
from dgnsim.fsdd.train import parse_delays, train
from dgnsim.io import write_json, write_text

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="dgn,lif,dgn_rec,lif_rec")
    parser.add_argument("--speakers", default=",".join(SPEAKERS))
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--delays", default="0,10,20", help="input delays (ms) of the _dl rows (default 0,10,20)")
    args = parser.parse_args(argv)
    results = ROOT / "results" / "speaker_holdout.json"
    rows = {}
    if results.exists():  # keep the other models' rows of the same protocol
        old = json.loads(results.read_text())
        if (old["epochs"], old["seed"]) == (args.epochs, args.seed):
            rows = {m: r for m, r in old["accuracy"].items() if set(r) >= set(args.speakers.split(","))}
    delays = parse_delays(args.delays)
    for model in args.models.split(","):
        rows.pop(model, None)
        for speaker in args.speakers.split(","):
            out = ROOT / "runs" / "speaker" / f"{model}-{speaker}"
            print(f"== {model}, {speaker} held out", file=sys.stderr)
            base = model.removesuffix("_dl")
            acc = train(
                base.removesuffix("_rec"),
                out,
                recurrent=base.endswith("_rec"),
                epochs=args.epochs,
                seed=args.seed,
                split=f"speaker:{speaker}",
                delays=delays if model.endswith("_dl") else (0.0,),
            ).test_accuracy
            rows.setdefault(model, {})[speaker] = acc
    write_json(results, {"epochs": args.epochs, "seed": args.seed, "delays_of_dl_rows": delays, "accuracy": rows})
    speakers = args.speakers.split(",")
    lines = [
        "| model | " + " | ".join(f"{s} held out" for s in speakers) + " | mean |",
        "|---|" + "---|" * (len(speakers) + 1),
    ]
    lines += [
        f"| {m} | "
        + " | ".join(f"{100 * r[s]:.1f}" for s in speakers)
        + f" | {100 * sum(r[s] for s in speakers) / len(speakers):.1f} |"
        for m, r in rows.items()
    ]
    write_text(
        ROOT / "results" / "speaker_holdout.md",
        f"Speaker-independent test accuracy (%) on FSDD, {args.epochs} epochs, seed {args.seed}, "
        "one hidden layer of 128, trained on the other five speakers; `_rec`: recurrent, `_dl`: input "
        f"delays {', '.join(f'{d:g}' for d in delays)} ms.\n\n" + "\n".join(lines) + "\n",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
