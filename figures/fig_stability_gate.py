"""Stationary variance against gate strength, DGN and LIF (paper A's linear-noise setting).

Two inputs with fixed means, weights and noise; the conductances C_i = k c_i (with the
sign of W_i: noise compensation) scale with the gate strength k. Lines: paper A's
formulas (shared noise; dashed: independent noises); points: Brian2 Monte-Carlo of
dgn_diffusion with 99 % intervals. The LIF (k = 0 for every point) does not depend on k.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from brian2 import ms, mV, volt

from dgnsim.analysis.stability import (
    diffusion_parameters,
    linear_noise_dgn,
    linear_noise_lif,
    monte_carlo,
    stack_parameters,
)
from dgnsim.viz.plots import plt, save_figure

TAU = 20.0  # ms
MU = np.array([1.0, 1.5])
W = np.array([3.0, 2.0]) / TAU * mV / ms
C0 = np.array([0.4, 0.3]) / TAU / ms
SIGMA = np.array([0.4, 0.3]) * ms**0.5


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    ks_line = np.linspace(0, 4, 81)
    ks = np.array([0, 0.5, 1, 2, 3, 4]) if not quick else np.array([0, 1, 4])
    g_l = 1 / (TAU * ms)
    lif = float(linear_noise_lif(MU, SIGMA, W, g_l).variance / mV**2)
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for noise, ls in (("shared", "-"), ("independent", "--")):
        dgn = [float(linear_noise_dgn(MU, SIGMA, W, k * C0, g_l, noise).variance / mV**2) for k in ks_line]
        ax.plot(ks_line, dgn, color="C3", ls=ls, lw=1, label=f"DGN, analytic ({noise} xi)")
        ax.axhline(
            float(linear_noise_lif(MU, SIGMA, W, g_l, noise).variance / mV**2),
            color="C0",
            ls=ls,
            lw=1,
            label=f"LIF, analytic ({noise} xi)",
        )
    sets = [diffusion_parameters(MU, SIGMA, W, k * C0, g_l) for k in ks]
    lnas = [linear_noise_dgn(MU, SIGMA, W, k * C0, g_l) for k in ks]
    params = {**stack_parameters(sets), "v_th": 1 * volt}
    mc = monte_carlo(
        "dgn_diffusion",
        params,
        300 if quick else 3000,
        burn_in=80 * ms,
        spacing=20 * ms,
        samples=4,
        dt=0.05 * ms,
        device="numpy" if quick else "cpp_standalone",
        seed=1,
        initial_v=[float(x.v_ss) for x in lnas] * volt,
    )
    v, ci = mc.stats.variance * 1e6, mc.stats.variance_ci * 1e6
    ax.errorbar(ks, v, yerr=[v - ci[:, 0], ci[:, 1] - v], fmt="o", color="C3", ms=4, label="DGN, Brian2 (99 % CI)")
    ax.set_yscale("log")
    ax.set_xlabel("gate strength k (C_i = k c_i / tau_mem, c = [0.4, 0.3])")
    ax.set_ylabel("stationary variance of v (mV$^2$)")
    ax.set_title(
        f"The gate removes noise: DGN/LIF = {v[-1] / lif:.2f} at k = {ks[-1]:g} (tau_mem = {TAU:g} ms)", fontsize=9
    )
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return save_figure(fig, Path(out_dir) / "fig_stability_gate")


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "out", "--quick" in sys.argv))
