"""Gating-response figures, one per analysis, LIF and DGN forms side by side.

tau, step, freq, gate, fi, snr: each panel shows simulation (markers/solid) against the
analytic value (dashed/lines). Each analysis of each model is one Brian2 build.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from brian2 import Hz, mV, second

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dgnsim.analysis import gating as G
from dgnsim.viz.plots import save_figure

MODELS = ("lif", "dgn", "sdgn", "dgn_activity")


def _row(n):
    return plt.subplots(1, n, figsize=(3.0 * n, 2.8), squeeze=False)[1][0]


def main(out_dir: Path = Path("figures/out"), quick: bool = False) -> list[Path]:
    out_dir = Path(out_dir)
    paths = []
    models = MODELS[:2] if quick else MODELS
    ee = "exponential_euler"
    # tau and steady state against the gate
    fig, ax = plt.subplots(1, 2, figsize=(7, 2.8))
    markers = dict(zip(MODELS, ("o", "s", "^", "D")))  # dgn and sdgn share their tau curve
    for m in models:
        r = G.time_constants(m, method=ee if m != "dgn_activity" else None)
        style = dict(marker=markers.get(m, "o"), ls="none", mfc="none", ms=7 if m == "dgn" else 5, label=m)
        ax[0].plot(r.gate, r.tau_ms, "--", color="0.6")
        ax[0].plot(r.gate, r.tau_step_ms, **style)
        ax[1].plot(r.gate, r.v_ss_mV, "--", color="0.6")
        ax[1].plot(r.gate, r.v_ss_sim_mV, **style)
    ax[0].set(xlabel="gate level g (x leak)", ylabel="effective tau (ms)", title="time constant (dashed: analytic)")
    ax[1].set(xlabel="gate level g (x leak)", ylabel="steady state v - v_rest (mV)", title="steady state, 10 mV drive")
    ax[0].legend(frameon=False, fontsize=7)
    fig.tight_layout()
    paths += save_figure(fig, out_dir / "fig_gating_tau")
    # step and impulse
    axs = _row(len(models))
    for a, m in zip(axs, models):
        r = G.step_response(m, gates=(0.0, 1.0, 4.0), method=ee if m != "dgn_activity" else None)
        for k, g in enumerate(r.gate):
            a.plot(r.t_ms, r.step_sim_mV[k], label=f"g={g:g}")
            a.plot(r.t_ms, r.step_analytic_mV[k], "k--", lw=0.7)
        a.set(xlim=(0, 100), xlabel="time (ms)", ylabel="v - v_rest (mV)", title=f"{m}: step (dashed: analytic)")
    axs[0].legend(frameon=False, fontsize=7)
    fig = axs[0].figure
    fig.tight_layout()
    paths += save_figure(fig, out_dir / "fig_gating_step")
    # frequency response
    fig, ax = plt.subplots(2, len(models), figsize=(3.0 * len(models), 4.5), sharex=True, squeeze=False)
    for c, m in enumerate(models):
        kw = dict(drive=np.array([0.5, 2.0, 4.0]) * mV) if m == "dgn_activity" else dict(method=ee)
        r = G.frequency_response(m, gates=(0.0, 1.0, 4.0), window=0.5 * second if quick else 1 * second, **kw)
        for k in range(r.gate.size):
            lab = f"g={r.gate_ss[k]:.2g}"
            ax[0, c].loglog(r.freq_hz, r.gain_sim[k], "o", ms=3, label=lab)
            ax[0, c].loglog(r.freq_hz, r.gain_analytic[k], "k--", lw=0.7)
            ax[1, c].semilogx(r.freq_hz, r.phase_sim_deg[k], "o", ms=3)
            ax[1, c].semilogx(r.freq_hz, r.phase_analytic_deg[k], "k--", lw=0.7)
        ax[0, c].set(title=m, ylabel="gain (mV/mV)")
        ax[1, c].set(xlabel="frequency (Hz)", ylabel="phase (deg)")
        ax[0, c].legend(frameon=False, fontsize=7)
    fig.tight_layout()
    paths += save_figure(fig, out_dir / "fig_gating_freq")
    # gate dynamics
    fig, ax = plt.subplots(2, 1, figsize=(6.5, 4.5), sharex=True)
    for m in ("dgn", "sdgn", "dgn_activity")[: 1 if quick else 3]:
        r = G.gate_dynamics(m)
        in_mv = r.strength_name == "w"
        strength = f"{r.strength[-1] * (1e3 if in_mv else 1):g}{' mV' if in_mv else ''}"
        ax[0].plot(r.t_ms, r.gate_sim[-1], label=f"{m} ({r.strength_name}={strength})")
        ax[1].plot(r.t_ms, r.v_sim_mV[-1], label=m)
    r = G.gate_dynamics("lif")
    ax[1].plot(r.t_ms, r.v_sim_mV[-1], label="lif (w=10 mV)")
    ax[0].set(ylabel="gate g", title="gate under bursts of 10 spikes at 200 Hz (dgn and sdgn gates coincide)")
    ax[1].set(xlabel="time (ms)", ylabel="v - v_rest (mV)")
    ax[0].legend(frameon=False, fontsize=7)
    ax[1].legend(frameon=False, fontsize=7)
    fig.tight_layout()
    paths += save_figure(fig, out_dir / "fig_gating_gate")
    # f-I
    axs = _row(len(models))
    for a, m in zip(axs, models):
        r = G.fi_curve(
            m, drives=np.linspace(0, 60, 7 if quick else 25) * mV, duration=0.5 * second if quick else 2 * second
        )
        for k, g in enumerate(r.gate):
            (line,) = a.plot(r.drive_mV, r.rate_sim[k], "-", label=f"g={g:g}")
            a.plot(r.drive_mV, r.rate_noise_sim[k], ":", color=line.get_color())
            a.plot(r.drive_mV, r.rate_noise_analytic[k], "x", ms=3, color=line.get_color())
        a.set(xlabel="drive (mV)", ylabel="rate (Hz)", title=m)
    axs[0].legend(frameon=False, fontsize=7)
    fig = axs[0].figure
    fig.suptitle("f-I curves: solid without noise, dotted with noise (x: Siegert formula)", fontsize=9)
    fig.tight_layout()
    paths += save_figure(fig, out_dir / "fig_gating_fi")
    # SNR
    fig, ax = plt.subplots(1, 2, figsize=(7, 2.8))
    for c, f in enumerate((10, 100)):
        for m in models:
            r = G.snr_transfer(m, gates=(4.0,), signal=f * Hz, replicas=4 if quick else 10)
            ax[c].plot(r.snr_in_db, r.snr_out_sim_db[0], "o-", label=m if m == "lif" else f"{m} (gate held at 4)")
            ax[c].plot(r.snr_in_db, r.snr_out_discrete_db[0], "k--", lw=0.7)
        ax[c].set(xlabel="input SNR (dB)", ylabel="output SNR (dB)", title=f"signal {f} Hz, white input noise")
    ax[0].legend(frameon=False, fontsize=7)
    fig.tight_layout()
    paths += save_figure(fig, out_dir / "fig_gating_snr")
    return paths


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    for p in main(Path(__file__).resolve().parent / "out", quick):
        print(p)
