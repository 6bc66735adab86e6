"""Speaker-independent FSDD accuracy: train on five speakers, test on the sixth.

Usage: ``python studies/fsdd_speaker_holdout.py [--models dgn,lif,dgn_rec,lif_rec] [--speakers theo,...]
[--epochs 30]`` (default: every speaker; a ``_rec`` suffix means a recurrent hidden layer).
Each (model, speaker) is trained into runs/speaker/<model>-<speaker> (resumable) and the
table is written to results/speaker_holdout.json and .md. Reads FSDD from the usual path.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dgnsim.data import SPEAKERS
from dgnsim.io import write_json, write_text
from dgnsim.train import train

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="dgn,lif,dgn_rec,lif_rec")
    parser.add_argument("--speakers", default=",".join(SPEAKERS))
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rows = {}
    for model in args.models.split(","):
        for speaker in args.speakers.split(","):
            out = ROOT / "runs" / "speaker" / f"{model}-{speaker}"
            print(f"== {model}, {speaker} held out", file=sys.stderr)
            acc = train(model.removesuffix("_rec"), out, recurrent=model.endswith("_rec"), epochs=args.epochs,
                        seed=args.seed, split=f"speaker:{speaker}").test_accuracy
            rows.setdefault(model, {})[speaker] = acc
    write_json(ROOT / "results" / "speaker_holdout.json", {"epochs": args.epochs, "seed": args.seed, "accuracy": rows})
    speakers = args.speakers.split(",")
    lines = ["| model | " + " | ".join(f"{s} held out" for s in speakers) + " | mean |",
             "|---|" + "---|" * (len(speakers) + 1)]
    lines += [f"| {m} | " + " | ".join(f"{100 * r[s]:.1f}" for s in speakers)
              + f" | {100 * sum(r[s] for s in speakers) / len(speakers):.1f} |" for m, r in rows.items()]
    write_text(ROOT / "results" / "speaker_holdout.md",
               f"Speaker-independent test accuracy (%) on FSDD, {args.epochs} epochs, seed {args.seed}, "
               "one hidden layer of 128, trained on the other five speakers.\n\n" + "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
