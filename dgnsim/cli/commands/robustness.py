"""``dgnsim robustness``: paper A's robustness table on FSDD (train clean, test perturbed)."""

from __future__ import annotations

import json

from dgnsim.cli.options import check, check_writable, count

NAME = "robustness"
HELP = "train each model for several seeds and tabulate clean and perturbed test accuracy (CSV, Markdown)"


def add_arguments(parser) -> None:
    parser.add_argument(
        "--models", default="lif,alif,multiscale,lnm,sdgn,dgn,dgn_activity", help="comma-separated feed-forward models"
    )
    parser.add_argument(
        "--recurrent", default="lif,dgn", help="comma-separated models also run recurrent ('' for none)"
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds per model (default 3)")
    parser.add_argument("--epochs", type=int, default=30, help="training epochs (default 30)")
    parser.add_argument(
        "--delays",
        action="append",
        default=None,
        help="input delays in ms, e.g. 0,10,20 (rows named <model>_dl0-10-20; default 0: "
        "none); give it twice (--delays 0 --delays 0,10,20) for rows with each",
    )
    parser.add_argument(
        "--curves",
        action="store_true",
        help="also accuracy against strength for every perturbation (noise p from 0 to 0.3, "
        "attack budgets doubling until accuracy < 20 %%): robustness_curves.json/.csv/.md",
    )
    parser.add_argument("--data", default=None, help="FSDD folder")
    parser.add_argument("--threads", type=int, default=2, help="torch threads per training (default 2)")
    parser.add_argument("--out", required=True, help="output directory (runs/, robustness.csv/.md/.json)")
    parser.add_argument("--json", action="store_true", help="print the table as JSON")


def run(args) -> int:
    from dgnsim.core.models import load_model
    from dgnsim.fsdd.robustness import robustness
    from dgnsim.fsdd.train import parse_delays
    from dgnsim.surrogate.layers import input_delays

    ff = [m for m in args.models.split(",") if m]
    rec = [m for m in args.recurrent.split(",") if m]
    check("--models", bool(ff + rec), "at least one model (with --recurrent)", args.models)
    for m in ff + rec:
        load_model(m)  # unknown model: fail before any training
    for option in ("seeds", "epochs", "threads"):
        count(f"--{option}", getattr(args, option))
    delay_sets = [input_delays(parse_delays(text), 1.0)[0] for text in args.delays or ["0"]]  # fail before training
    check_writable(args.out)
    rows = [
        (m, recurrent, delays)
        for delays in delay_sets
        for recurrent, models in ((False, ff), (True, rec))
        for m in models
    ]
    report = robustness(
        rows, args.seeds, args.out, epochs=args.epochs, data=args.data, threads=args.threads, curves=args.curves
    )
    if args.json:
        print(json.dumps(report, indent=2))
    return 0
