"""``dgnsim train``: train a surrogate classifier on FSDD (clean data), resumable."""

from __future__ import annotations

import json

from dgnsim.cli.options import check, check_writable, count

NAME = "train"
HELP = "train a surrogate network on FSDD; checkpoints each epoch, resumes after an interruption"


def add_arguments(parser) -> None:
    parser.add_argument(
        "--model", required=True, help="hidden-layer model: a name (see 'dgnsim models') or a path to a model file"
    )
    parser.add_argument("--hidden", type=int, default=128, help="hidden neurons (default 128)")
    parser.add_argument("--recurrent", action="store_true", help="recurrent hidden layer")
    parser.add_argument("--epochs", type=int, default=30, help="epochs (default 30)")
    parser.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate (default 1e-2, cosine decay)")
    parser.add_argument("--surrogate", default="fast_sigmoid", help="fast_sigmoid, gaussian or arctan")
    parser.add_argument("--width", type=float, default=4.0, help="surrogate width in mV (default 4)")
    parser.add_argument(
        "--dropout",
        type=float,
        default=0.2,
        help="dropout of hidden spikes before the readout, training only (default 0.2)",
    )
    parser.add_argument(
        "--augment",
        default="",
        help="training-time input augmentation, e.g. shift:4,timemask:10,bandmask:4 (default none)",
    )
    parser.add_argument(
        "--label-smoothing", type=float, default=0.0, help="label smoothing of the cross-entropy loss (default 0)"
    )
    parser.add_argument(
        "--reset", default=None, help="a reset variant of the model file, e.g. soft (default: the model's reset)"
    )
    parser.add_argument(
        "--delays",
        default="0",
        help="input delays in ms, e.g. 0,10,20: each input reaches each hidden neuron through "
        "one synapse per delay (default 0: none)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed (training is deterministic for it)")
    parser.add_argument(
        "--split",
        default="official",
        help="official, validation (index 5-9 of the training files held out), or speaker:NAME",
    )
    parser.add_argument("--data", default=None, help="FSDD folder (default $DGNSIM_FSDD or ../shared/data/fsdd)")
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="train on a random subset of N training samples (quick trials; default all)",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument(
        "--compile",
        action="store_true",
        help="the time loop under torch.compile: 2-4x faster training after 10-20 s of compilation",
    )
    parser.add_argument("--out", required=True, help="output directory (checkpoint, model.safetensors, manifest.json)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")


def run(args) -> int:
    from dgnsim.fsdd.train import parse_delays, train
    from dgnsim.surrogate import SURROGATES

    for option in ("hidden", "epochs", "batch", "threads", "limit"):
        count(f"--{option}", getattr(args, option))
    check("--lr", args.lr > 0, "positive", args.lr)
    check("--surrogate", args.surrogate in SURROGATES, f"one of {', '.join(SURROGATES)}", args.surrogate)
    check("--width", args.width > 0, "positive (mV)", args.width)
    check("--dropout", 0 <= args.dropout < 1, "in [0, 1)", args.dropout)
    check("--label-smoothing", 0 <= args.label_smoothing < 1, "in [0, 1)", args.label_smoothing)
    delays = parse_delays(args.delays)
    check_writable(args.out)
    result = train(
        args.model,
        args.out,
        hidden=args.hidden,
        recurrent=args.recurrent,
        epochs=args.epochs,
        batch=args.batch,
        lr=args.lr,
        seed=args.seed,
        data=args.data,
        split=args.split,
        surrogate=args.surrogate,
        width=args.width,
        threads=args.threads,
        dropout=args.dropout,
        augment=args.augment,
        label_smoothing=args.label_smoothing,
        reset=args.reset,
        delays=delays,
        limit=args.limit,
        compile_loop=args.compile,
    )
    summary = {
        "out": str(result.directory),
        "model": args.model,
        "epochs": result.epochs,
        "test_accuracy": result.test_accuracy,
        "train_accuracy": result.train_accuracy,
        "seconds": result.seconds,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    return 0
