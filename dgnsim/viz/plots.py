"""Shared figure output: vector PDF plus PNG, written atomically, deterministic."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from dgnsim.io.files import atomic_path

STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "dgnsim",
    "pdf.compression": 6,
}
plt.rcParams.update(STYLE)


def save_figure(fig, stem: str | Path) -> list[Path]:
    """Save ``fig`` as ``stem.pdf`` and ``stem.png`` (atomically, reproducibly) and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    stem : str or pathlib.Path
        The path without suffix (its folder is created if missing).

    Returns
    -------
    list of pathlib.Path
        The PDF and the PNG.
    """
    stem = Path(stem)
    paths = []
    for suffix in (".pdf", ".png"):
        path = stem.with_suffix(suffix)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=suffix[1:], metadata={"CreationDate": None} if suffix == ".pdf" else None)
        paths.append(path)
    plt.close(fig)
    return paths


def raster_and_trace(
    spike_t_ms, spike_i, trace_t_ms, traces_mv, *, n_neurons: int, title: str, threshold_mv: float | None = None
):
    """A raster (top) and membrane traces (bottom) on a shared time axis in ms.

    Parameters
    ----------
    spike_t_ms : array_like of float (ms)
        The spike times.
    spike_i : array_like of int
        The index of the neuron of each spike.
    trace_t_ms : array_like of float (ms)
        The times of the trace samples.
    traces_mv : sequence of array_like of float (mV)
        One membrane-potential trace per plotted neuron, sampled at ``trace_t_ms``.
    n_neurons : int
        The number of neurons (the raster's height).
    title : str
        The figure's title.
    threshold_mv : float (mV), optional
        Draw the threshold as a dashed line.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (save it with :func:`save_figure`).
    """
    fig, (ax_r, ax_v) = plt.subplots(2, 1, figsize=(6.5, 4.5), sharex=True, gridspec_kw={"height_ratios": [1.3, 1]})
    ax_r.plot(spike_t_ms, spike_i, ".", ms=2, color="k")
    ax_r.set_ylabel("neuron index")
    ax_r.set_ylim(-0.5, n_neurons - 0.5)
    ax_r.set_title(title)
    for k, trace in enumerate(traces_mv):
        ax_v.plot(trace_t_ms, trace, lw=0.8, label=f"neuron {k}")
    if threshold_mv is not None:
        ax_v.axhline(threshold_mv, color="0.5", ls="--", lw=0.8, label="threshold")
    ax_v.set_xlabel("time (ms)")
    ax_v.set_ylabel("membrane potential v (mV)")
    ax_v.legend(loc="upper right", fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def robustness_bars(ax, columns, strengths: dict, rows) -> None:
    """Grouped bars of test accuracy (%), a group per perturbation column.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    columns : sequence of str
        The perturbation columns, in order (one group of bars each).
    strengths : dict of str to str
        Column -> its perturbation ``"kind:strength"``; the strength is written under the label.
    rows : sequence of tuple
        One bar per row and column: ``(label, mean, std, color)``, with ``mean`` and ``std``
        sequences of accuracies (%) over the columns; the std is drawn as an error bar.
    """
    import numpy as np

    x, width = np.arange(len(columns)), 0.8 / len(rows)
    for k, (label, mean, std, color) in enumerate(rows):
        ax.bar(
            x + (k - (len(rows) - 1) / 2) * width,
            mean,
            width,
            yerr=std,
            color=color,
            label=label,
            capsize=1.5,
            error_kw={"lw": 0.6},
        )
    ax.set_xticks(x, [c if not strengths.get(c) else f"{c}\n{strengths[c].split(':')[1]}" for c in columns])
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 118)  # room for the legend above the bars
    ax.set_yticks(range(0, 101, 20))
