"""``dgnsim evaluate``: test accuracy of a trained network, clean or perturbed."""

from __future__ import annotations

import json

from dgnsim.cli.options import check

NAME = "evaluate"
HELP = "accuracy of a trained network on the FSDD test split, clean or under perturbations"


def add_arguments(parser) -> None:
    parser.add_argument("directory", help="a trained network (model.safetensors + manifest.json)")
    parser.add_argument(
        "--perturb",
        action="append",
        default=[],
        help="KIND:STRENGTH, e.g. additive:0.01, subtractive:0.1, mixed:0.01, fgsm:0.001 "
        "(repeatable; clean accuracy is always reported)",
    )
    parser.add_argument("--data", default=None, help="FSDD folder")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random perturbations")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args) -> int:
    from dgnsim.fsdd.evaluate import evaluate_dir, parse

    for p in args.perturb:  # refuse bad input before any work
        strength = parse(p)[1]
        check(
            f"--perturb {p!r}",
            0 <= strength <= 1,
            "a strength in [0, 1] (a fraction of input entries or a probability)",
            strength,
        )
    result = evaluate_dir(args.directory, [None, *args.perturb], data=args.data, seed=args.seed)
    if args.json:
        print(json.dumps({"directory": args.directory, "accuracy": result}, indent=2))
    else:
        for k, v in result.items():
            print(f"{k:20s} {100 * v:6.2f} %")
    return 0
