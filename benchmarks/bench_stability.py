"""Benchmark and acceptance run of the stability check (C++ standalone, 2 cores).

Runs, side by side in one process: the theorem check (200 sets x 2000 trials, LIF and
DGN, stated regime), the seed's bound for dgn_activity (200 sets x 2000 trials), and
the check outside the regime (50 sets each: strong noise, weak gate, near threshold).
Writes benchmarks/results/stability.json (every row) and stability.md (the summary).
Usage: python benchmarks/bench_stability.py [--quick]
"""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

from brian2 import ms

from dgnsim.analysis.stability import check, check_bound
from dgnsim.io import write_json, write_text

OUT = Path(__file__).parent / "results"


def main(quick: bool = False) -> dict:
    n, trials, n_out = (20, 500, 10) if quick else (200, 2000, 50)
    res = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()}, "device": "cpp_standalone"}
    t0 = time.perf_counter()
    rep = check(n, seed=0, trials=trials, dt=0.05 * ms, device="cpp_standalone")
    res["check"] = {
        "wall_s": time.perf_counter() - t0,
        "sets": n,
        "trials": trials,
        "dt_ms": rep.dt_ms,
        "summary": rep.summary,
        "timings": rep.timings,
        "rows": [asdict(r) for r in rep.rows],
    }
    t0 = time.perf_counter()
    rows, summary = check_bound(n, seed=0, trials=trials, dt=0.1 * ms, device="cpp_standalone")
    res["bound_dgn_activity"] = {
        "wall_s": time.perf_counter() - t0,
        "summary": summary,
        "rows": [asdict(r) for r in rows],
    }
    write_json(OUT / "stability.json", res)
    res["outside"] = {}
    for regime in ("strong_noise", "weak_gate", "near_threshold"):
        t0 = time.perf_counter()
        r = check(n_out, seed=1, regime=regime, trials=trials, dt=0.05 * ms, device="cpp_standalone")
        res["outside"][regime] = {
            "wall_s": time.perf_counter() - t0,
            "summary": r.summary,
            "dt_ms": r.dt_ms,
            "rows": [asdict(x) for x in r.rows],
        }
        write_json(OUT / "stability.json", res)  # after each part: nothing lost if a later part fails
        write_text(OUT / "stability.md", _markdown(res))
    return res


def _markdown(res) -> str:
    c = res["check"]
    lines = [
        "# Stability check benchmark (C++ standalone)",
        "",
        f"Machine: {res['machine']['cpus']} cores. Theorem check: {c['sets']} parameter sets x {c['trials']} "
        f"trials per model, dt = {c['dt_ms']} ms, one build per model (all sets in one group).",
        "",
        "| part | sets passed (99 % CI contains analytic) | median / max abs. rel. error | wall (s) | run (s) "
        "| neuron-steps/s |",
        "|---|---|---|---|---|---|",
    ]
    for m, s in c["summary"].items():
        t = c["timings"][m]
        lines.append(
            f"| {m} (stated regime) | {s['passed']}/{s['sets']} | {s['median_abs_rel_error']:.3f} / "
            f"{s['max_abs_rel_error']:.3f} | {t['total_s']:.0f} | {t['run_s']:.0f} | {t['neuron_steps_per_s']:.2e} |"
        )
    lines += ["", f"Whole theorem check: {c['wall_s']:.0f} s wall.", ""]
    b = res["bound_dgn_activity"]["summary"]
    lines += [
        "## Seed's bound, dgn_activity (constant synaptic input, additive noise)",
        "",
        f"- lambda_eff = lambda0 + g_min (the seed): not rejected for {b['holds_seed']}/{b['sets']} sets; "
        f"min margin {b['min_margin_seed']:+.3f} (negative: E|v - v*|^2 above the bound).",
        f"- lambda_eff = lambda0 (leak alone): not rejected for {b['holds_leak']}/{b['sets']} sets; "
        f"min margin {b['min_margin_leak']:+.3f}, median {b['median_margin_leak']:+.3f}.",
        f"- wall {res['bound_dgn_activity']['wall_s']:.0f} s, {b['timings']['neuron_steps_per_s']:.2e} neuron-steps/s.",
        "",
        "## Outside the stated regime",
        "",
        "| regime | model | passed | median / max abs. rel. error | sets with spikes |",
        "|---|---|---|---|---|",
    ]
    for regime, r in res["outside"].items():
        for m, s in r["summary"].items():
            lines.append(
                f"| {regime} | {m} | {s['passed']}/{s['sets']} | {s['median_abs_rel_error']:.3f} / "
                f"{s['max_abs_rel_error']:.3f} | {s['sets_with_spikes']} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    r = main("--quick" in sys.argv)
    print((OUT / "stability.md").read_text())
