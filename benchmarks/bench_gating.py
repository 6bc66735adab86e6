"""Time to regenerate the whole gating figure set (figures/fig_gating_responses.py, full size).

Acceptance: under 5 minutes here. Writes benchmarks/results/gating.json and gating.md.
"""

import importlib.util
import os
import platform
import tempfile
import time
from pathlib import Path

from dgnsim.io import write_json, write_text

ROOT = Path(__file__).resolve().parent.parent


def main():
    spec = importlib.util.spec_from_file_location("fig", ROOT / "figures" / "fig_gating_responses.py")
    fig = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fig)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for quick in (True, False):
            start = time.perf_counter()
            paths = fig.main(Path(tmp), quick)
            out["quick" if quick else "full"] = {"seconds": round(time.perf_counter() - start, 2), "files": len(paths)}
    out["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "device": "numpy (runtime)"}
    write_json(ROOT / "benchmarks" / "results" / "gating.json", out)
    write_text(
        ROOT / "benchmarks" / "results" / "gating.md",
        "# Gating figure set\n\n| run | seconds | files |\n|---|---|---|\n"
        + "".join(f"| {k} | {v['seconds']} | {v['files']} |\n" for k, v in out.items() if k != "machine")
        + f"\nMachine: {out['machine']['cpus']} CPUs, Brian2 runtime (numpy). Limit: 300 s.\n",
    )
    print(out)


if __name__ == "__main__":
    main()
