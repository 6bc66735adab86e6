"""``dgnsim sweep``: run a parameter sweep (a TOML spec) on Dask into a Zarr store, resumably."""

from __future__ import annotations

import json
import sys

from dgnsim.cli.options import UsageError, count
from dgnsim.core.extras import require_extra

NAME = "sweep"
HELP = "run a parameter sweep from a TOML spec on Dask; results go to a Zarr store as points finish (resumable)"


def add_arguments(parser) -> None:
    parser.add_argument("spec", help="the sweep spec (TOML; see examples/sweeps/)")
    parser.add_argument("--out", required=True, help="the Zarr store (DIR.zarr); an existing one is resumed")
    parser.add_argument(
        "--workers", type=int, default=None, help="worker processes of the local cluster (default: CPUs)"
    )
    parser.add_argument(
        "--scheduler", default=None, help="address of a running Dask scheduler (instead of a local cluster)"
    )
    parser.add_argument("--limit", type=int, default=None, help="run at most this many of the missing points")
    parser.add_argument("--retry-failed", action="store_true", help="run the points that failed before again")
    parser.add_argument("--json", action="store_true", help="print a JSON summary (ran, skipped, failed) to stdout")


def run(args) -> int:
    count("--workers", args.workers)
    count("--limit", args.limit, minimum=0)
    if args.workers is not None and args.scheduler is not None:
        raise UsageError("--workers: give --workers (a local cluster) or --scheduler (an existing one), not both")
    try:
        require_extra("sweep", "dask", "distributed", "xarray", "zarr")
    except ImportError as exc:
        raise UsageError(f"sweep: {exc}") from None
    from dgnsim.sweep import load_spec, run_sweep

    spec = load_spec(args.spec)
    if not args.out.rstrip("/").endswith(".zarr"):
        raise UsageError(f"--out: a Zarr store named DIR.zarr, got {args.out!r}")
    try:
        summary = run_sweep(
            spec,
            args.out,
            workers=args.workers,
            scheduler=args.scheduler,
            limit=args.limit,
            retry_failed=args.retry_failed,
        )
    except KeyboardInterrupt:
        raise KeyboardInterrupt(
            f"interrupted; finished points are in {args.out}: run the same command to resume"
        ) from None
    print(
        f"dgnsim sweep: ran {summary.ran} points ({summary.failed} failed), skipped {summary.skipped}; "
        f"{summary.done_total}/{summary.points} done in {args.out}",
        file=sys.stderr,
    )
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2))
    return 0
