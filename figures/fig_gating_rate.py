"""Input-driven gate: effective time constant and steady state against input rate.

LIF (no gate) and DGN side by side, plus the s-DGN's steady state (its gate is also its
drive). Lines: mean field (dashed) and the exact shot-noise mean (solid); markers:
Brian2 simulation with 95 % intervals (one build per model; ``n_inputs`` Poisson trains
per neuron, see :mod:`dgnsim.analysis.gating_rate`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from brian2 import Hz, mV

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dgnsim.analysis.gating_rate import rate_response, shot_noise_theory
from dgnsim.viz.plots import save_figure

N_IN, C, W = 10, 0.5, 1 * mV


def main(out_dir: Path = Path("figures/out"), quick: bool = False) -> list[Path]:
    out_dir = Path(out_dir)
    rates = np.array([0, 25, 50, 100, 200]) if quick else np.array([0, 12.5, 25, 50, 75, 100, 150, 200, 300])
    trials = 40 if quick else 200
    fine = np.linspace(0, rates.max(), 41) * Hz
    models = ("lif", "dgn", "sdgn")
    res = {m: rate_response(m, rates * Hz, n_inputs=N_IN, c=C, w=W, trials=trials, seed=1) for m in models}
    th = {m: shot_noise_theory(m, fine, n_inputs=N_IN, c=C, w=W) for m in models}
    fig, ax = plt.subplots(1, 4, figsize=(13, 3.1))
    colors = {"lif": "C0", "dgn": "C3", "sdgn": "C2"}
    for m in ("lif", "dgn"):
        r, t = res[m], th[m]
        ax[0].plot(t["rates"], t["tau_mf"] * 1e3, "--", color=colors[m], lw=1)
        ax[0].plot(t["rates"], t["tau_exact"] * 1e3, "-", color=colors[m], lw=1)
        ax[0].errorbar(r.rate_hz, r.tau_sim_ms, r.tau_ci_ms, fmt="o", ms=3.5, capsize=2, color=colors[m], label=m)
        ax[1].plot(t["rates"], t["v_mf"] * 1e3, "--", color=colors[m], lw=1)
        ax[1].plot(t["rates"], t["v_exact"] * 1e3, "-", color=colors[m], lw=1)
        ax[1].errorbar(r.rate_hz, r.v_sim_mV, r.v_ci_mV, fmt="o", ms=3.5, capsize=2, color=colors[m], label=m)
    r, t = res["sdgn"], th["sdgn"]
    ax[2].plot(t["rates"], t["v_mf"] * 1e3, "--", color=colors["sdgn"], lw=1, label="mean field")
    ax[2].plot(t["rates"], t["v_exact"] * 1e3, "-", color=colors["sdgn"], lw=1, label="exact (shot noise)")
    ax[2].errorbar(
        r.rate_hz, r.v_sim_mV, r.v_ci_mV, fmt="o", ms=3.5, capsize=2, color=colors["sdgn"], label="Brian2 (95 % CI)"
    )
    ax2 = ax[2].twinx()
    ax2.plot(t["rates"], t["gate_mf"], ":", color="0.4", lw=1)
    ax2.errorbar(r.rate_hz, r.gate_sim, r.gate_ci, fmt="s", ms=3, color="0.4", capsize=2)
    ax2.set_ylabel("mean gate <g> (grey squares)")
    ax2.spines["right"].set_visible(True)
    ax[0].set(
        xlabel="input rate per train (Hz)", ylabel="effective tau (ms)", title=f"time constant ({N_IN} trains, c={C:g})"
    )
    ax[1].set(
        xlabel="input rate per train (Hz)",
        ylabel="mean v - v_rest (mV)",
        title=f"steady state (w={float(W / mV):g} mV per spike)",
    )
    ax[2].set(xlabel="input rate per train (Hz)", ylabel="mean v - v_rest (mV)", title="s-DGN steady state and gate")
    # how far mean field is off: relative to the exact shot-noise mean, simulation beside it
    for m, key, mk in (("dgn", "tau", "o"), ("dgn", "v", "^"), ("sdgn", "v", "s")):
        r, t = res[m], th[m]
        mf, ex = t[f"{key}_mf"], t[f"{key}_exact"]
        ok = ex > 0
        sim_ex = getattr(r, f"{key}_exact_{'ms' if key == 'tau' else 'mV'}")
        sim = getattr(r, f"{key}_sim_{'ms' if key == 'tau' else 'mV'}")
        ci = getattr(r, f"{key}_ci_{'ms' if key == 'tau' else 'mV'}")
        keep = sim_ex > 0
        (line,) = ax[3].plot(t["rates"][ok], 100 * (mf[ok] / ex[ok] - 1), "--", lw=1)
        ax[3].errorbar(
            r.rate_hz[keep] * (1 + 0.02 * (mk == "s")),
            100 * (sim[keep] / sim_ex[keep] - 1),
            100 * ci[keep] / sim_ex[keep],
            fmt=mk,
            ms=3.5,
            capsize=2,
            color=line.get_color(),
            label=f"{m} {'tau' if key == 'tau' else 'mean v'}",
        )
    ax[3].axhline(0, color="0.5", lw=0.6)
    ax[3].set(
        xlabel="input rate per train (Hz)", ylabel="deviation from exact (%)", title="vs exact (dashed: mean field)"
    )
    ax[3].set_ylim(-12, 12)
    ax[3].legend(frameon=False, fontsize=7)
    ax[0].legend(
        frameon=False, fontsize=7, title="solid: exact, dashed: mean field", title_fontsize=7, loc="center right"
    )
    ax[1].legend(frameon=False, fontsize=7)
    ax[2].legend(frameon=False, fontsize=7, loc="center right")
    fig.tight_layout()
    return save_figure(fig, out_dir / "fig_gating_rate")


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    for p in main(Path(__file__).resolve().parent / "out", quick):
        print(p)
