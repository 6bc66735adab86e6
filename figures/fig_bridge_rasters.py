"""Hidden-layer rasters of one FSDD test sample: the PyTorch surrogate beside Brian2 (the gradient bridge).

Uses checkpoints/dgn (trains a small network into a temporary folder if it is missing).
quick: Brian2 runtime (numpy) on 3 samples; full: cpp_standalone on the 300 test samples.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from dgnsim.interop.bridge import run_test_split
from dgnsim.viz.rasters import bridge_rasters

ROOT = Path(__file__).resolve().parent.parent


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    path = ROOT / "checkpoints" / "dgn"
    with tempfile.TemporaryDirectory() as tmp:
        if not (path / "manifest.json").exists():
            from dgnsim.fsdd.train import train

            train("dgn", Path(tmp) / "dgn", hidden=32, epochs=2, limit=600, progress=False)
            path = Path(tmp) / "dgn"
        run = run_test_split(path, "numpy" if quick else "cpp_standalone", limit=3 if quick else None)
    sample = next((s.index for s in run.agreement.samples if not s.identical), 0)
    return bridge_rasters(run, sample, Path(out_dir) / "bridge_rasters")


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "out"))
