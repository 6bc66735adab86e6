"""Empirical against analytic stationary variance over the stability check's parameter sets.

Paper A's linear-noise variance (x) against the Brian2 Monte-Carlo estimate with its
99 % interval (y), for the LIF and the DGN (dgn_diffusion: the inputs' noise also
drives the gate), in the check's stated regime (subthreshold, weak noise). Full: 200
sets x 2000 trials on C++ standalone (about 3 minutes on 2 cores); quick: 12 sets x
300 trials on the runtime target.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from brian2 import ms

from dgnsim.analysis.stability import check
from dgnsim.viz.plots import plt, save_figure


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    rep = check(
        12 if quick else 200,
        seed=0,
        trials=300 if quick else 2000,
        dt=0.1 * ms if quick else 0.05 * ms,
        device="numpy" if quick else "cpp_standalone",
    )
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.8), sharex=True, sharey=True)
    for ax, name, colour in zip(axes, ("lif", "dgn"), ("C0", "C3")):
        rows = [r for r in rep.rows if r.model == name]
        a = np.array([r.analytic_var for r in rows])
        e = np.array([r.estimate_var for r in rows])
        lo = np.array([r.ci_low for r in rows])
        hi = np.array([r.ci_high for r in rows])
        ok = np.array([r.passed for r in rows])
        ax.errorbar(
            a[ok],
            e[ok],
            yerr=[e[ok] - lo[ok], hi[ok] - e[ok]],
            fmt="o",
            ms=2.5,
            lw=0.6,
            color=colour,
            label=f"interval contains analytic ({ok.sum()}/{len(ok)})",
        )
        if (~ok).any():
            ax.errorbar(
                a[~ok],
                e[~ok],
                yerr=[e[~ok] - lo[~ok], hi[~ok] - e[~ok]],
                fmt="x",
                ms=5,
                lw=0.8,
                color="k",
                label=f"interval misses ({(~ok).sum()})",
            )
        span = np.array([min(a.min(), lo.min()) * 0.8, max(a.max(), hi.max()) * 1.2])
        ax.plot(span, span, color="0.4", lw=0.8, ls="--", label="identity")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("analytic stationary variance (mV$^2$)")
        ax.set_title({"lif": "LIF", "dgn": "DGN (gate noise included)"}[name])
        ax.legend(fontsize=7, frameon=False, loc="upper left")
    axes[0].set_ylabel(f"Monte-Carlo estimate, {rep.level:.0%} interval (mV$^2$)")
    fig.suptitle(
        f"Paper A's linear-noise variance vs Brian2 ({rep.trials} trials/set, dt = {rep.dt_ms} ms, "
        f"{rep.device}, seed {rep.seed})",
        fontsize=9,
    )
    fig.tight_layout()
    return save_figure(fig, Path(out_dir) / "fig_stability_identity")


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "out", "--quick" in sys.argv))
