"""Relative error of paper A's linear-noise variance against the noise strength.

One DGN input configuration with every sigma_i scaled by s. The gate noise makes the
noise multiplicative; the linear-noise formula misses the factor 2 G0/(2 G0 - q^2)
(q = sum sigma_i C_i) of the exact (Ito) stationary variance, so its error grows like
q^2/(2 G0) ~ s^2. Points: Brian2 Monte-Carlo (dgn_diffusion) relative to the
linear-noise value, 99 % intervals; lines: the exact Ito value and the exact value of
the discrete scheme (dt = 0.05 ms) relative to the linear-noise value.
Caveat, visible here: the stationary law has power-law tails, its fourth moment is
infinite once q^2/(2 G0) >= 1/3 and the variance itself relaxes at rate 2 G0 - q^2, so
near the limit the Monte-Carlo interval is no longer reliable (it tends to fall short).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from brian2 import ms, mV, volt

from dgnsim.analysis.stability import (
    diffusion_parameters,
    discrete_variance_dgn_diffusion,
    linear_noise_dgn,
    monte_carlo,
    stack_parameters,
)
from dgnsim.viz.plots import plt, save_figure

TAU = 20.0
MU = np.array([1.0, 1.0])
W = np.array([2.0, 3.0]) / TAU * mV / ms
C = np.array([0.4, 0.6]) / TAU / ms
SIGMA0 = np.array([0.3, 0.3]) * ms**0.5
DT = 0.05 * ms


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    g_l = 1 / (TAU * ms)
    s_line = np.geomspace(0.3, 27, 60)  # q^2 / (2 G0) < 1: beyond it the variance is infinite
    s_pts = np.array([0.5, 2, 5, 10, 15, 20, 25]) if not quick else np.array([1, 10, 20])
    lna = [linear_noise_dgn(MU, s * SIGMA0, W, C, g_l) for s in s_line]
    ratio_ito = [float(x.variance_ito / x.variance) - 1 for x in lna]
    p_line = stack_parameters([diffusion_parameters(MU, s * SIGMA0, W, C, g_l) for s in s_line])
    disc = np.asarray(
        discrete_variance_dgn_diffusion(
            p_line["tau_mem"],
            p_line["g_mean"],
            p_line["I_mean"],
            p_line["noise_sigma"],
            p_line["noise_gate"],
            p_line["noise_indep"],
            DT,
        )
    )
    ratio_disc = disc / np.array([float(x.variance) for x in lna]) - 1
    pts = [linear_noise_dgn(MU, s * SIGMA0, W, C, g_l) for s in s_pts]
    params = {**stack_parameters([diffusion_parameters(MU, s * SIGMA0, W, C, g_l) for s in s_pts]), "v_th": 1 * volt}
    mc = monte_carlo(
        "dgn_diffusion",
        params,
        300 if quick else 4000,
        burn_in=60 * ms,
        spacing=15 * ms,
        samples=6,
        dt=DT,
        device="numpy" if quick else "cpp_standalone",
        seed=2,
        initial_v=[float(x.v_ss) for x in pts] * volt,
    )
    a = np.array([float(x.variance / volt**2) for x in pts])
    rel = mc.stats.variance / a - 1
    lo, hi = mc.stats.variance_ci[:, 0] / a - 1, mc.stats.variance_ci[:, 1] / a - 1
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.plot(s_line, ratio_ito, color="k", lw=1, label="exact Ito value (continuous time)")
    ax.plot(
        s_line, ratio_disc, color="0.5", lw=1, ls="--", label=f"exact value of the scheme (dt = {float(DT / ms)} ms)"
    )
    ax.errorbar(s_pts, rel, yerr=[rel - lo, hi - rel], fmt="o", color="C3", ms=4, label="Brian2 Monte-Carlo (99 % CI)")
    ax.axhline(0, color="0.7", lw=0.6)
    ax.set_ylim(-0.3, max(ratio_ito) * 1.1)
    ax.set_xscale("log")
    ax.set_xlabel("noise scale s (sigma_i = s x 0.3 ms$^{1/2}$)")
    ax.set_ylabel("variance / linear-noise variance - 1")
    q = [x.weak_noise for x in pts]
    ax.set_title(
        f"Where the linear-noise approximation breaks: q$^2$/(2 G0) from {q[0]:.1e} to {q[-1]:.2f}", fontsize=9
    )
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    fig.tight_layout()
    return save_figure(fig, Path(out_dir) / "fig_stability_error")


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "out", "--quick" in sys.argv))
