"""Regenerate every figure: runs ``main(out_dir, quick)`` of each ``figures/fig_*.py``.

Usage: ``python figures/make_all.py [--out DIR] [--quick] [--only SUBSTRING]``.
Each figure is written atomically (PDF and PNG); a failing figure stops the run with
a non-zero exit, and the figures finished before it are kept.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def figure_scripts(only: str | None = None) -> list[Path]:
    return [p for p in sorted(HERE.glob("fig_*.py")) if only is None or only in p.stem]


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "out", help="output directory (default figures/out)")
    parser.add_argument("--quick", action="store_true", help="small, fast versions (smoke test)")
    parser.add_argument("--only", default=None, help="only scripts whose name contains this")
    args = parser.parse_args(argv)
    scripts = figure_scripts(args.only)
    if not scripts:
        print("make_all: no figure script matches", file=sys.stderr)
        return 2
    for k, path in enumerate(scripts, 1):
        start = time.perf_counter()
        print(f"[{k}/{len(scripts)}] {path.stem} ...", file=sys.stderr, flush=True)
        written = load(path).main(args.out, args.quick)
        print(
            f"[{k}/{len(scripts)}] {path.stem}: {len(written)} files in {time.perf_counter() - start:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    print(f"make_all: {len(scripts)} figure scripts done; output in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
