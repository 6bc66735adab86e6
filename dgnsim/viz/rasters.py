"""Raster plots: a bridged network's hidden spikes, PyTorch beside Brian2."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dgnsim.viz.plots import plt, save_figure


def bridge_rasters(run, sample: int, stem) -> list[Path]:
    """Hidden-layer rasters of one sample, PyTorch beside Brian2, differing spikes marked.

    Parameters
    ----------
    run : dgnsim.interop.bridge.BridgeRun
        A bridged run with the hidden spikes of both simulators.
    sample : int
        The index of the sample in ``run``.
    stem : str or pathlib.Path
        Where to write the figure (``stem.pdf`` and ``stem.png``).

    Returns
    -------
    list of pathlib.Path
        The PDF and the PNG.
    """

    a, b = run.torch.spikes[sample], run.brian2.spikes[sample]
    dt = float((run.manifest or {}).get("dt_ms", 1.0))
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.4), sharey=True, gridspec_kw={"width_ratios": [1, 1, 1]})
    for ax, s, title in ((axes[0], a, "PyTorch surrogate (float64)"), (axes[1], b, f"Brian2 {run.device}")):
        t, n = np.nonzero(s)
        ax.plot(t * dt, n, "|", ms=3, color="k")
        ax.set_title(title)
        ax.set_xlabel("time (ms)")
    diff = a != b
    t, n = np.nonzero(diff)
    t2, n2 = np.nonzero(a & b)
    axes[2].plot(t2 * dt, n2, "|", ms=3, color="0.75", label="both")
    axes[2].plot(t, n, "x", ms=5, color="C3", label=f"differ ({int(diff.sum())})")
    axes[2].set_title("overlay")
    axes[2].set_xlabel("time (ms)")
    axes[2].legend(loc="upper right", fontsize=7, frameon=False)
    axes[0].set_ylabel("hidden neuron")
    steps = a.shape[0]
    for ax in axes:
        ax.set_xlim(-1, steps * dt)
        ax.set_ylim(-1, a.shape[1])
    s = run.agreement.samples[sample]
    label = "" if s.label is None else f", digit {s.label}"
    verdict = "identical spike trains" if s.identical else f"first difference at step {s.first_step}"
    fig.suptitle(f"test sample {sample}{label}: {verdict}; class PyTorch {s.torch_class}, Brian2 {s.brian2_class}")
    fig.tight_layout()
    return save_figure(fig, stem)
