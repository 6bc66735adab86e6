"""``dgnsim check-model``: the generic checks on a model file (a user's own, or a built-in)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

NAME = "check-model"
HELP = (
    "check a model file: it loads, runtime == cpp_standalone, one torch step == one Brian2 step, "
    "a bridged network is spike-exact; exits 1 if a check fails"
)


def add_arguments(parser) -> None:
    parser.add_argument("model", help="path to a model file (.toml), or a model name")
    parser.add_argument(
        "--device",
        default="cpp_standalone",
        choices=("cpp_standalone", "cython", "numpy"),
        help="the target compared with numpy, and the bridge's (default cpp_standalone)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the networks' random draws (default 0)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args) -> int:
    from dgnsim.interop.model_check import check_model

    looks_like_path = args.model.endswith(".toml") or "/" in args.model
    if looks_like_path and not Path(args.model).is_file():
        raise FileNotFoundError(f"model: no such file {args.model}")
    results = check_model(args.model, device=args.device, seed=args.seed)
    passed = all(r.passed for r in results) and len(results) == 4
    if args.json:
        print(json.dumps({"model": args.model, "passed": passed, "checks": [r.__dict__ for r in results]}, indent=2))
    else:
        for r in results:
            print(f"{'PASS' if r.passed else 'FAIL'}  {r.name:<10} {r.detail}  ({r.seconds:.1f} s)")
        if len(results) < 4:
            print("the other checks need a model that loads", file=sys.stderr)
        print(f"dgnsim check-model: {args.model}: {'all checks pass' if passed else 'FAILED'}", file=sys.stderr)
    return 0 if passed else 1
