"""Gating-response analyses: what the gate does to what a neuron passes, analytic and simulated.

Each analysis builds ONE network (many neurons, each at its own operating point),
runs it once, and returns a small record holding the simulated values beside the
analytic ones from :mod:`dgnsim.analysis.gating_linear` (derived from the model file).

Operating points. A "gate level" is a constant value of the model's gate variable
(``g`` of dgn, sdgn, dgn_activity), held by setting that trace's initial value and
making its time constant very long (``FROZEN_TAU``); the constant drive enters as
``I_ext`` (or, for dgn_activity, whose gate shunts only the synaptic current, as the
held synaptic trace ``I``). Models without a gate (lif, alif, multiscale, lnm)
ignore the gate level: they are the reference. Spikes are switched off (threshold
raised) except in :func:`fi_curve`.

Discretisation. Two analytic values are given: the continuous model's, and the
discrete scheme's (the linearised one-step map of the method Brian2 runs). With
``method='exponential_euler'`` both agree to O(dt^2) for a held gate; the default
``'sequential'`` steps the DGN membrane by forward Euler, whose effective time
constant is ``-dt/ln(1 - dt/tau)``, so it matches the discrete values, and the
continuous ones only for dt << tau. Sinusoidal input comes from a 2-d TimedArray
written into ``I_ext`` by a ``run_regularly`` operation before each state update.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
from brian2 import Hz, SpikeGeneratorGroup, SpikeMonitor, StateMonitor, TimedArray, ms, mV, second, volt
from scipy.integrate import quad
from scipy.special import erfcx

from dgnsim.analysis.gating_linear import linearise
from dgnsim.brian.backend import BRIAN2_LOCK, Simulation
from dgnsim.brian.network import connect, make_group
from dgnsim.core.expressions import compile_expression, model_origin
from dgnsim.core.models import ModelError, NeuronModel, load_model
from dgnsim.core.parallel import map_points
from dgnsim.core.units import require_quantity

__all__ = [
    "FROZEN_TAU",
    "FIResult",
    "FreqResult",
    "GateResult",
    "GateSpec",
    "SNRResult",
    "StepResult",
    "TauResult",
    "fi_curve",
    "frequency_response",
    "gate_dynamics",
    "gate_spec",
    "siegert_rate",
    "snr_transfer",
    "step_response",
    "time_constants",
]

#: Time constant that holds a trace constant over any run here (relative drift < 1e-5).
FROZEN_TAU = 1e5 * second
#: Threshold used to switch spiking off in the subthreshold analyses.
NO_SPIKE_THRESHOLD = 1e4 * mV


@dataclass(frozen=True)
class GateSpec:
    """How to hold a model at an operating point (a model file's ``[gating]`` table).

    Parameters
    ----------
    gate : str or None
        The gate state variable (None: no gate).
    gate_tau : str or None
        The parameter that is the gate's time constant (made very long to hold it).
    drive : str
        Where the constant drive goes: ``I_ext``, or a trace held by ``drive_tau``.
    drive_tau : str or None
        The time-constant parameter of a held drive trace.
    gate_follows_v : bool
        The gate is driven by the membrane (it stays dynamic in the small-signal analysis).
    strength : str
        The synapse parameter that drives the gate (``c``, or ``w``).
    """

    gate: str | None = None
    gate_tau: str | None = None
    drive: str = "I_ext"
    drive_tau: str | None = None
    gate_follows_v: bool = False
    strength: str = "w"  # the synapse parameter that drives the gate


def gate_spec(model: NeuronModel) -> GateSpec:
    """How the analyses hold ``model``: its file's ``[gating]`` table, else an ungated neuron driven by ``I_ext``.

    Parameters
    ----------
    model : NeuronModel
        The model.

    Returns
    -------
    GateSpec
        The fields of the ``[gating]`` table.

    Raises
    ------
    ModelError
        No ``[gating]`` table and no ``I_ext``, an unknown key, or a name the model does not have.
    """
    where = model_origin(model)
    if not model.gating and "I_ext" not in model.parameters:
        raise ModelError(
            f"{where}: no [gating] table and no I_ext to drive the neuron: add a [gating] table "
            f"(keys of dgnsim.analysis.gating.GateSpec: gate, gate_tau, drive, ...)"
        )
    fields = set(GateSpec.__dataclass_fields__)
    unknown = set(model.gating) - fields
    if unknown:
        raise ModelError(f"{where}: [gating] has unknown key(s) {sorted(unknown)}; known: {sorted(fields)}")
    spec = GateSpec(**model.gating)
    names = {
        "gate": model.state_variables,
        "gate_tau": model.parameters,
        "drive": [*model.parameters, *model.state_variables],
        "drive_tau": model.parameters,
        "strength": model.synapse.parameters,
    }
    for key, known in names.items():
        value = getattr(spec, key)
        if value is not None and value not in known:
            raise ModelError(f"{where}: [gating] {key} = {value!r} names no {key.split('_')[-1]} of the model")
    return spec


def _model(model) -> NeuronModel:
    model = model if isinstance(model, NeuronModel) else load_model(model)
    gate_spec(model)  # refuse a model the analyses cannot hold, before any work
    return model


def _mv(x) -> np.ndarray:
    return np.asarray(x, dtype=float) * 1e3


def _levels(name, values, unit, display) -> np.ndarray:
    q = require_quantity(name, values, unit, display)
    arr = np.atleast_1d(np.asarray(q, dtype=float))
    if arr.size == 0:
        raise ValueError(f"{name}: give at least one value")
    return arr


def _point(
    model: NeuronModel, gate: float, drive: float, params: dict, *, dynamic_gate: bool = False, spikes: bool = False
):
    """Parameters, held states and frozen taus of one operating point (SI floats)."""
    spec = gate_spec(model)
    p = dict(params)
    if not spikes:
        p["v_th"] = NO_SPIKE_THRESHOLD
    frozen = {s: 0.0 for s in model.update_order if s != "v"}
    if "theta" in frozen:  # an adaptive threshold starts (and is held) at its initial value
        initial = compile_expression(
            model.initial["theta"], f"{model_origin(model)}: initial value of theta", system="si"
        )
        frozen["theta"] = float(
            initial(
                {
                    n: np.asarray(p.get(n, q.default), dtype=float)
                    for n, q in model.parameters.items()
                    if n in initial.names
                }
            )
        )
    if spec.gate:
        frozen[spec.gate] = gate
        p[spec.gate_tau] = FROZEN_TAU
    if spec.drive == "I_ext":
        p["I_ext"] = drive * volt
    else:
        frozen[spec.drive] = drive
        p[spec.drive_tau] = FROZEN_TAU
    if dynamic_gate and spec.gate_follows_v:
        frozen.pop(spec.gate)
        p.pop(spec.gate_tau)
    return p, frozen


def _group_params(model: NeuronModel, plist: list[dict]) -> dict:
    """Merge per-point parameter dicts into group parameters (arrays where they differ)."""
    out = {}
    for name in plist[0]:
        vals = [np.asarray(p[name], dtype=float) for p in plist]
        unit = model.parameters[name].unit
        if all(np.array_equal(v, vals[0]) for v in vals) and model.parameters[name].scope == "shared":
            out[name] = float(vals[0]) * (unit / float(unit))
        elif model.parameters[name].scope == "shared":
            raise ValueError(f"{model.name}.{name} is shared by the group but differs between points")
        else:
            out[name] = np.array([float(v) for v in vals]) * (unit / float(unit))
    if "I_ext" not in out:
        out["I_ext"] = np.zeros(len(plist)) * mV
    elif np.ndim(out["I_ext"]) == 0:
        out["I_ext"] = np.full(len(plist), float(out["I_ext"])) * volt
    return out


def _simulate(
    model,
    plist,
    init,
    duration,
    *,
    device,
    dt,
    method,
    seed,
    drive=None,
    noise=None,
    variables=("v",),
    bursts=None,
    spikes=False,
    workers=None,
    scheduler=None,
    client=None,
):
    """Run one neuron per point (``plist``: their parameters); times (s), traces (SI), spike trains.

    ``init``: initial values, one per point; ``drive``: (steps, points) input written into
    I_ext; ``noise``: (steps, points) frozen noise table; ``bursts``: ``(times (s), strength
    name, strengths)`` spikes of one source into every neuron with its own strength. The
    neurons are independent, so the points may run in batches, each batch one network
    (:func:`dgnsim.core.parallel.map_points`: here, or on Dask): the traces do not depend on
    the batches.
    """
    init_si = {
        var: (np.asarray(v / volt if _has_volt(v) else v, dtype=float).ravel(), _has_volt(v)) for var, v in init.items()
    }
    points = [
        {
            "params": p,
            "init": {var: float(arr[k]) for var, (arr, _) in init_si.items()},
            "drive": None if drive is None else np.ascontiguousarray(drive[:, k]),
            "noise": None if noise is None else np.ascontiguousarray(noise[:, k]),
            "strength": None if bursts is None else float(bursts[2][k]),
        }
        for k, p in enumerate(plist)
    ]
    common = {
        "model": model,
        "duration": duration,
        "device": device,
        "dt": dt,
        "method": method,
        "seed": seed,
        "variables": tuple(variables),
        "spikes": spikes,
        "volts": [var for var, (_, is_volt) in init_si.items() if is_volt],
        "bursts": None if bursts is None else (np.asarray(bursts[0], dtype=float), bursts[1]),
    }
    results = map_points(
        partial(_simulate_batch, common),
        points,
        workers=workers,
        scheduler=scheduler,
        client=client,
        name=f"dgnsim-gating-{model.name}",
    )
    t = results[0]["t"]
    traces = {v: np.array([r["traces"][v] for r in results]) for v in variables}
    trains = [r["train"] for r in results] if spikes else None
    return t, traces, trains


def _has_volt(value) -> bool:
    return getattr(value, "dim", None) == volt.dim


def _simulate_batch(common: dict, batch: list) -> list[dict]:
    """One network of the points in ``batch`` (see :func:`_simulate`); per point its traces and spikes."""
    with BRIAN2_LOCK:
        model, dt, n = common["model"], common["dt"], len(batch)
        params = _group_params(model, [b["params"] for b in batch])
        noise = None
        if batch[0]["noise"] is not None:
            noise = TimedArray(np.column_stack([b["noise"] for b in batch]), dt=dt, name="gating_noise")
        with Simulation(common["device"], dt=dt, seed=common["seed"]) as sim:
            group = make_group(
                model,
                n,
                params,
                per_neuron=("I_ext",),
                method=common["method"],
                noise_table=noise,
                name="gating_group",
            )
            for var in batch[0]["init"]:
                values = np.array([b["init"][var] for b in batch])
                setattr(group, var, values * volt if var in common["volts"] else values)
            objs = [group]
            if batch[0]["drive"] is not None:
                table = TimedArray(np.column_stack([b["drive"] for b in batch]) * volt, dt=dt, name="gating_drive")
                group.namespace["gating_drive"] = table
                group.run_regularly("I_ext = gating_drive(t, i)", when="before_groups", name="gating_drive_op")
            if common["bursts"] is not None:
                times, strength = common["bursts"]
                unit = model.synapse.parameters[strength].unit
                src = SpikeGeneratorGroup(1, np.zeros(times.size, int), times * second, name="gating_bursts")
                kw = {strength: np.array([b["strength"] for b in batch]) * (unit / float(unit))}
                objs += [src, connect(src, group, i=np.zeros(n, int), j=np.arange(n), name="gating_syn", **kw)]
            mon = StateMonitor(group, list(common["variables"]), record=True, name="gating_monitor")
            objs.append(mon)
            if common["spikes"]:
                spk = SpikeMonitor(group, name="gating_spikes")
                objs.append(spk)
            sim.add(*objs)
            sim.build(common["duration"])
            sim.run()
            t = np.array(mon.t[:], dtype=float, copy=True)
            traces = {v: np.array(getattr(mon, v)[:], dtype=float, copy=True) for v in common["variables"]}
            trains = list(spk.spike_trains().values()) if common["spikes"] else [None] * n
            return [
                {
                    "t": t,
                    "traces": {v: traces[v][k] for v in common["variables"]},
                    "train": None if trains[k] is None else np.array(trains[k], dtype=float, copy=True),
                }
                for k in range(n)
            ]


def _fit_tau(t: np.ndarray, r: np.ndarray) -> float:
    """Time constant of an exponential relaxation ``r(t)`` (1 at t=0) from a log-linear fit."""
    keep = (r > 1e-3) & (r < 0.95)
    if keep.sum() < 3:
        return float("nan")
    slope = np.polyfit(t[keep], np.log(r[keep]), 1)[0]
    return float(-1.0 / slope)


# --- step and impulse responses, time constants ---------------------------------------------


@dataclass(frozen=True)
class StepResult:
    """Step and impulse responses of the membrane at several gate levels.

    Step: drive switched on at t=0, ``v`` starting at rest; impulse: ``v`` kicked by
    ``kick_mV`` above its steady state at t=0 (the response to a delta input of area
    kick*tau_mem). Traces in mV relative to ``v_rest``; one row per gate level.

    Parameters
    ----------
    model : str
        The model's name.
    method : str
        The integration method.
    device : str
        The Brian2 device it ran on.
    dt_ms : float (ms)
        The time step.
    gate : ndarray
        The gate levels (in units of the leak conductance).
    drive_mV : float (mV)
        The constant drive.
    kick_mV : float (mV)
        The impulse's kick.
    t_ms : ndarray (ms)
        The sample times.
    step_sim_mV : ndarray (mV)
        Simulated step responses (gates, times).
    step_analytic_mV : ndarray (mV)
        Their continuous closed form.
    impulse_sim_mV : ndarray (mV)
        Simulated impulse responses, relative to the steady state (gates, times).
    impulse_analytic_mV : ndarray (mV)
        Their continuous closed form.
    tau_ms : ndarray (ms)
        Effective time constant per gate level (continuous model).
    tau_discrete_ms : ndarray (ms)
        The scheme's effective time constant.
    v_ss_mV : ndarray (mV)
        Steady state per gate level, relative to rest.
    """

    model: str
    method: str
    device: str
    dt_ms: float
    gate: np.ndarray
    drive_mV: float
    kick_mV: float
    t_ms: np.ndarray
    step_sim_mV: np.ndarray
    step_analytic_mV: np.ndarray
    impulse_sim_mV: np.ndarray
    impulse_analytic_mV: np.ndarray
    tau_ms: np.ndarray
    tau_discrete_ms: np.ndarray
    v_ss_mV: np.ndarray


@dataclass(frozen=True)
class TauResult:
    """Effective membrane time constant and steady state against the gate level (potentials relative to rest).

    Parameters
    ----------
    model : str
        The model's name.
    method : str
        The integration method.
    device : str
        The Brian2 device it ran on.
    dt_ms : float (ms)
        The time step.
    gate : ndarray
        The gate levels.
    drive_mV : float (mV)
        The constant drive.
    tau_ms : ndarray (ms)
        Continuous model's time constant.
    tau_discrete_ms : ndarray (ms)
        The scheme's time constant.
    tau_step_ms : ndarray (ms)
        Fitted to the simulated step response.
    tau_impulse_ms : ndarray (ms)
        Fitted to the simulated impulse response.
    v_ss_mV : ndarray (mV)
        Continuous model's steady state.
    v_ss_sim_mV : ndarray (mV)
        Simulated final value.
    """

    model: str
    method: str
    device: str
    dt_ms: float
    gate: np.ndarray
    drive_mV: float
    tau_ms: np.ndarray
    tau_discrete_ms: np.ndarray
    tau_step_ms: np.ndarray
    tau_impulse_ms: np.ndarray
    v_ss_mV: np.ndarray
    v_ss_sim_mV: np.ndarray


def step_response(
    model,
    gates=(0.0, 0.5, 1.0, 2.0, 4.0, 9.0),
    drive=10 * mV,
    *,
    kick=5 * mV,
    params: dict | None = None,
    device: str = "numpy",
    dt=0.1 * ms,
    method: str | None = None,
    seed: int = 0,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
) -> StepResult:
    """Step and impulse responses at each gate level, in one network (2 neurons per level).

    Parameters
    ----------
    model : str or NeuronModel
        The model (a name, a path, or a loaded model).
    gates : array_like
        Gate levels (dimensionless, in units of the leak conductance).
    drive : Quantity (voltage)
        The constant input (as current times membrane resistance).
    kick : Quantity (voltage)
        The impulse's kick above the steady state.
    params : dict, optional
        Model parameters (quantities) other than the defaults.
    device : str
        Brian2 device (numpy, cython, cpp_standalone).
    dt : Quantity (time)
        Time step.
    method : str, optional
        Integration method (default: the model's).
    seed : int
        Brian2 seed.
    workers : int, optional
        Run the operating points on an embedded Dask LocalCluster of this many processes.
    scheduler : str, optional
        Run them on the Dask scheduler at this address instead.
    client : dask.distributed.Client, optional
        Run them on this client's cluster instead. The neurons are independent, so the results
        equal the serial ones (default: all in one network, in this process).

    Returns
    -------
    StepResult
        Simulated and analytic responses.
    """
    model = _model(model)
    gates = _levels("gates", gates, 1, "1")
    drive = float(require_quantity("drive", drive, volt, "mV"))
    kick = float(require_quantity("kick", kick, volt, "mV"))
    method = method or model.method
    params = dict(params or {})
    v_rest = float(params.get("v_rest", model.parameters["v_rest"].default))
    plist, lins = [], []
    for g in gates:
        p, frozen = _point(model, g, drive, params)
        lins.append(linearise(model, p, frozen, method=method, dt=dt))
        plist.append((p, frozen))
    taus = np.array([L.tau() for L in lins])
    duration = 15 * taus.max() * second
    n = len(gates)
    allp = [p for p, _ in plist] * 2
    init = {"v": np.concatenate([np.full(n, v_rest), [L.v_ss + kick for L in lins]]) * volt}
    for var in plist[0][1]:
        init[var] = np.array([fr[var] for _, fr in plist] * 2) * (volt if var in ("I", "theta") else 1)
    t, traces, _ = _simulate(
        model,
        allp,
        init,
        duration,
        device=device,
        dt=dt,
        method=method,
        seed=seed,
        workers=workers,
        scheduler=scheduler,
        client=client,
    )
    x = traces["v"] - v_rest
    x_ss = np.array([L.v_ss - v_rest for L in lins])
    step_an = x_ss[:, None] * (1 - np.exp(-t[None, :] / taus[:, None]))
    imp_an = kick * np.exp(-t[None, :] / taus[:, None])
    return StepResult(
        model.name,
        method,
        device,
        float(dt / ms),
        gates,
        drive * 1e3,
        kick * 1e3,
        t * 1e3,
        _mv(x[:n]),
        _mv(step_an),
        _mv(x[n:] - x_ss[:, None]),
        _mv(imp_an),
        taus * 1e3,
        np.array([L.tau_discrete() for L in lins]) * 1e3,
        _mv(x_ss),
    )


def time_constants(model, gates=(0.0, 0.5, 1.0, 2.0, 4.0, 9.0), drive=10 * mV, **kwargs) -> TauResult:
    """Effective time constant and steady state at each gate level (see :func:`step_response`).

    Parameters
    ----------
    model : str or NeuronModel
        The model.
    gates : array_like
        Gate levels (dimensionless).
    drive : Quantity (voltage)
        The constant input.
    **kwargs
        Passed to :func:`step_response` (``kick``, ``params``, ``device``, ``dt``, ``method``,
        ``seed``, ``workers``, ``scheduler``, ``client``).

    Returns
    -------
    TauResult
        Analytic, discrete and fitted time constants.
    """
    s = step_response(model, gates, drive, **kwargs)
    t = s.t_ms
    v_end = s.step_sim_mV[:, -1]
    tau_step = np.array(
        [_fit_tau(t, (v_end[k] - s.step_sim_mV[k]) / v_end[k]) if v_end[k] else np.nan for k in range(len(s.gate))]
    )
    tau_imp = np.array(
        [_fit_tau(t, (s.impulse_sim_mV[k] - s.impulse_sim_mV[k, -1]) / s.kick_mV) for k in range(len(s.gate))]
    )
    return TauResult(
        s.model,
        s.method,
        s.device,
        s.dt_ms,
        s.gate,
        s.drive_mV,
        s.tau_ms,
        s.tau_discrete_ms,
        tau_step,
        tau_imp,
        s.v_ss_mV,
        v_end,
    )


# --- small-signal frequency response ---------------------------------------------------------


@dataclass(frozen=True)
class FreqResult:
    """Gain (mV/mV) and phase (degrees) from ``I_ext`` to ``v`` at each (gate, frequency).

    Arrays of shape (gates, freqs): ``*_analytic`` continuous linearised model, ``*_discrete``
    the scheme's H(z), ``*_sim`` fitted to the simulated response.

    Parameters
    ----------
    model : str
        The model's name.
    method : str
        The integration method.
    device : str
        The Brian2 device it ran on.
    dt_ms : float (ms)
        The time step.
    gate : ndarray
        The held gate levels.
    gate_ss : ndarray
        The gate at the operating point (differs from ``gate`` when the gate follows v, as in
        dgn_activity, where the drive sets the point).
    drive_mV : ndarray (mV)
        The constant drive per gate level.
    freq_hz : ndarray (Hz)
        The frequencies.
    amplitude_mV : float (mV)
        The sinusoid's amplitude.
    gain_analytic : ndarray
        Continuous gain.
    phase_analytic_deg : ndarray (degrees)
        Continuous phase.
    gain_discrete : ndarray
        The scheme's gain.
    phase_discrete_deg : ndarray (degrees)
        The scheme's phase.
    gain_sim : ndarray
        Simulated gain.
    phase_sim_deg : ndarray (degrees)
        Simulated phase.
    """

    model: str
    method: str
    device: str
    dt_ms: float
    gate: np.ndarray
    gate_ss: np.ndarray
    drive_mV: np.ndarray
    freq_hz: np.ndarray
    amplitude_mV: float
    gain_analytic: np.ndarray
    phase_analytic_deg: np.ndarray
    gain_discrete: np.ndarray
    phase_discrete_deg: np.ndarray
    gain_sim: np.ndarray
    phase_sim_deg: np.ndarray


def _sin_fit(t, x, f):
    """Complex amplitude ``(B + iA)`` of ``x = A cos + B sin + C`` (least squares)."""
    w = 2 * np.pi * f
    M = np.column_stack([np.cos(w * t), np.sin(w * t), np.ones_like(t)])
    coef, *_ = np.linalg.lstsq(M, x, rcond=None)
    return coef[1] + 1j * coef[0], x - M @ coef


def frequency_response(
    model,
    freqs=(2, 5, 10, 20, 50, 100, 200) * Hz,
    gates=(0.0, 1.0, 4.0),
    drive=10 * mV,
    *,
    amplitude=0.5 * mV,
    window=1 * second,
    params=None,
    device="numpy",
    dt=0.1 * ms,
    method=None,
    seed=0,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
) -> FreqResult:
    """Small-signal response to ``I_ext = I0 + amplitude sin(2 pi f t)``, all points in one network.

    The response is fitted over the last ``window`` after the onset transient (8 slowest time
    constants) has died out.

    Parameters
    ----------
    model : str or NeuronModel
        The model.
    freqs : Quantity (frequency)
        The frequencies.
    gates : array_like
        Held gate levels (dimensionless).
    drive : Quantity (voltage)
        The operating point's constant input, one value or one per gate.
    amplitude : Quantity (voltage)
        The sinusoid's amplitude.
    window : Quantity (time)
        The fitted window.
    params : dict, optional
        Model parameters (quantities) other than the defaults.
    device : str
        Brian2 device (numpy, cython, cpp_standalone).
    dt : Quantity (time)
        Time step.
    method : str, optional
        Integration method (default: the model's).
    seed : int
        Brian2 seed.
    workers : int, optional
        Run the operating points on an embedded Dask LocalCluster of this many processes.
    scheduler : str, optional
        Run them on the Dask scheduler at this address instead.
    client : dask.distributed.Client, optional
        Run them on this client's cluster instead. The neurons are independent, so the results
        equal the serial ones (default: all in one network, in this process).

    Returns
    -------
    FreqResult
        Gains and phases.
    """
    model = _model(model)
    freqs = _levels("freqs", freqs, Hz, "Hz")
    gates = _levels("gates", gates, 1, "1")
    drives = _levels("drive", drive, volt, "mV")
    if drives.size == 1:
        drives = np.full(gates.size, drives[0])
    if drives.size != gates.size:
        raise ValueError(f"drive: one value or one per gate ({gates.size}), got {drives.size}")
    amp = float(require_quantity("amplitude", amplitude, volt, "mV"))
    window = float(require_quantity("window", window, second, "s"))
    method = method or model.method
    spec = gate_spec(model)
    params = dict(params or {})
    points, lins = [], []
    for g, d in zip(gates, drives):
        p, frozen = _point(model, g, d, params, dynamic_gate=True)
        lins.append(linearise(model, p, frozen, method=method, dt=dt))
        points.append((p, frozen))
    settle = 8 * max(L.tau() for L in lins)
    duration = settle + max(window, 4 / freqs.min())
    steps = int(round(duration / float(dt))) + 1
    tk = np.arange(steps) * float(dt)
    plist, init_v, init = [], [], {}
    columns = []
    for (p, frozen), L in zip(points, lins):
        for f in freqs:
            plist.append(p)
            init_v.append(L.v_ss)
            columns.append(float(np.asarray(p.get("I_ext", 0.0))) + amp * np.sin(2 * np.pi * f * tk))
            for var, val in frozen.items():
                init.setdefault(var, []).append(val)
            for k, s in enumerate(L.states):
                if s != "v":
                    init.setdefault(s, []).append(L.x0[k])
    init = {k: np.array(v) * (volt if k in ("I", "theta") else 1) for k, v in init.items()}
    init["v"] = np.array(init_v) * volt
    t, traces, _ = _simulate(
        model,
        plist,
        init,
        duration * second,
        device=device,
        dt=dt,
        method=method,
        seed=seed,
        drive=np.array(columns).T,
        workers=workers,
        scheduler=scheduler,
        client=client,
    )
    keep = t >= t[-1] - window
    nf = freqs.size
    H_sim = np.array(
        [
            [_sin_fit(t[keep], traces["v"][a * nf + b][keep], freqs[b])[0] / amp for b in range(nf)]
            for a in range(gates.size)
        ]
    )
    H_an = np.array([L.transfer(freqs) for L in lins])
    H_d = np.array([L.transfer_discrete(freqs) for L in lins])
    gate_ss = (
        np.array([L.x0[L.states.index(spec.gate)] if spec.gate in L.states else g for L, g in zip(lins, gates)])
        if spec.gate
        else np.zeros(gates.size)
    )
    deg = lambda H: np.degrees(np.angle(H))  # noqa: E731
    return FreqResult(
        model.name,
        method,
        device,
        float(dt / ms),
        gates,
        gate_ss,
        drives * 1e3,
        freqs,
        amp * 1e3,
        np.abs(H_an),
        deg(H_an),
        np.abs(H_d),
        deg(H_d),
        np.abs(H_sim),
        deg(H_sim),
    )


# --- gate dynamics under bursts ---------------------------------------------------------------


@dataclass(frozen=True)
class GateResult:
    """The gate's trace under bursts of input spikes, one row per synaptic strength.

    Parameters
    ----------
    model : str
        The model's name.
    device : str
        The Brian2 device it ran on.
    dt_ms : float (ms)
        The time step.
    strength : ndarray
        The synaptic strengths (unit of the synapse parameter).
    strength_name : str
        The synapse parameter (``c`` or ``w``).
    spike_times_ms : ndarray (ms)
        The input spike times.
    t_ms : ndarray (ms)
        The sample times.
    gate_sim : ndarray
        Simulated gate (strengths, times).
    gate_analytic : ndarray
        dgn, sdgn: sum of exponentials, one per spike, appearing one step after the spike (Brian2
        applies synaptic effects after the state update); NaN for a membrane-driven gate
        (dgn_activity).
    v_sim_mV : ndarray (mV)
        Simulated membrane potential.
    rise_sim_ms : ndarray (ms)
        10-90 % rise time of the gate during the first burst, simulated.
    rise_analytic_ms : ndarray (ms)
        The same from ``gate_analytic``.
    decay_sim_ms : ndarray (ms)
        Time constant of the gate's decay after the last burst, fitted.
    decay_analytic_ms : float (ms)
        The gate trace's own time constant.
    """

    model: str
    device: str
    dt_ms: float
    strength: np.ndarray
    strength_name: str
    spike_times_ms: np.ndarray
    t_ms: np.ndarray
    gate_sim: np.ndarray
    gate_analytic: np.ndarray
    v_sim_mV: np.ndarray
    rise_sim_ms: np.ndarray
    rise_analytic_ms: np.ndarray
    decay_sim_ms: np.ndarray
    decay_analytic_ms: float


def _burst_times(n_bursts, n_spikes, rate, period):
    return np.concatenate([b * period + np.arange(n_spikes) / rate for b in range(n_bursts)])


def _rise(t, g, t_end):
    seg = t <= t_end
    peak = g[seg].max()
    if peak <= 0:
        return float("nan")
    return float(t[seg][np.argmax(g[seg] >= 0.9 * peak)] - t[seg][np.argmax(g[seg] >= 0.1 * peak)])


def gate_dynamics(
    model,
    strengths=None,
    *,
    n_bursts=3,
    n_spikes=10,
    burst_rate=200 * Hz,
    period=150 * ms,
    params=None,
    device="numpy",
    dt=0.1 * ms,
    seed=0,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
) -> GateResult:
    """The gate under bursts of input spikes, one neuron per synaptic strength.

    Bursts of ``n_spikes`` at ``burst_rate``, every ``period``, into neurons with per-neuron
    synaptic strength (``c`` for dgn/sdgn, ``w`` for dgn_activity and the LIF family).

    Parameters
    ----------
    model : str or NeuronModel
        The model.
    strengths : Quantity or array_like, optional
        Synaptic strengths in the unit of the synapse parameter (default: 0.1, 0.5, 1 for ``c``;
        2, 5, 10 mV for ``w``).
    n_bursts : int
        Bursts.
    n_spikes : int
        Spikes per burst.
    burst_rate : Quantity (frequency)
        Rate within a burst.
    period : Quantity (time)
        Time between burst onsets.
    params : dict, optional
        Model parameters (quantities) other than the defaults.
    device : str
        Brian2 device (numpy, cython, cpp_standalone).
    dt : Quantity (time)
        Time step.
    seed : int
        Brian2 seed.
    workers : int, optional
        Run the operating points on an embedded Dask LocalCluster of this many processes.
    scheduler : str, optional
        Run them on the Dask scheduler at this address instead.
    client : dask.distributed.Client, optional
        Run them on this client's cluster instead. The neurons are independent, so the results
        equal the serial ones (default: all in one network, in this process).

    Returns
    -------
    GateResult
        Simulated and analytic gate traces, rise and decay times.
    """
    model = _model(model)
    spec = gate_spec(model)
    syn_p = model.synapse.parameters[spec.strength]
    if strengths is None:
        strengths = np.array([0.1, 0.5, 1.0]) * syn_p.unit if spec.strength == "c" else np.array([2.0, 5.0, 10.0]) * mV
    s_arr = _levels("strengths", strengths, syn_p.unit, syn_p.unit_text)
    rate = float(require_quantity("burst_rate", burst_rate, Hz, "Hz"))
    per = float(require_quantity("period", period, second, "ms"))
    dtf = float(dt)
    times = np.round(_burst_times(n_bursts, n_spikes, rate, per) / dtf) * dtf
    duration = times[-1] + per + 0.2
    p = dict(params or {})
    p["v_th"] = NO_SPIKE_THRESHOLD
    n = s_arr.size
    plist = [p] * n

    variables = ("v", spec.gate) if spec.gate else ("v",)
    t, tr, _ = _simulate(
        model,
        plist,
        {},
        duration * second,
        device=device,
        dt=dt,
        method=model.method,
        seed=seed,
        variables=variables,
        bursts=(times, spec.strength, s_arr),
        workers=workers,
        scheduler=scheduler,
        client=client,
    )
    v_rest = float(p.get("v_rest", model.parameters["v_rest"].default))
    burst_end = times[n_spikes - 1] + dtf
    after = t > times[-1] + 2 * dtf
    if spec.gate:
        g = tr[spec.gate]
        tau_g = float(p.get(spec.gate_tau, model.parameters[spec.gate_tau].default))
        if spec.gate_follows_v:
            g_an = np.full_like(g, np.nan)
        else:
            lag = t[None, :] - times[:, None] - dtf
            kern = np.where(lag >= -1e-12, np.exp(-np.clip(lag, 0, None) / tau_g), 0.0).sum(axis=0)
            g_an = s_arr[:, None] * kern[None, :]
        # a gate that follows v tracks it first: fit only its late decay, from 50 ms after the burst
        window = t > times[-1] + 0.05 if spec.gate_follows_v else after
        decay = np.array(
            [
                _fit_tau(t[window] - t[window][0], g[k, window] / g[k, window][0]) if g[k, window][0] > 0 else np.nan
                for k in range(n)
            ]
        )
        rise = np.array([_rise(t, g[k], burst_end) for k in range(n)])
        rise_an = (
            np.array([_rise(t, g_an[k], burst_end) for k in range(n)])
            if not spec.gate_follows_v
            else np.full(n, np.nan)
        )
    else:
        g = g_an = np.full((n, t.size), np.nan)
        tau_g, decay, rise, rise_an = float("nan"), np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    return GateResult(
        model.name,
        device,
        dtf * 1e3,
        s_arr,
        spec.strength,
        times * 1e3,
        t * 1e3,
        g,
        g_an,
        _mv(tr["v"] - v_rest),
        rise * 1e3,
        rise_an * 1e3,
        decay * 1e3,
        tau_g * 1e3,
    )


# --- f-I curves --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FIResult:
    """Firing rate (Hz) against constant drive (mV) at each gate level, without and with noise.

    Arrays (gates, drives); NaN where no closed form applies (adaptive thresholds: alif, multiscale).

    Parameters
    ----------
    model : str
        The model's name.
    device : str
        The Brian2 device it ran on.
    dt_ms : float (ms)
        The time step.
    gate : ndarray
        The held gate levels.
    drive_mV : ndarray (mV)
        The constant drives.
    noise_sigma_mV : float (mV)
        Std of the free membrane under the noise.
    rate_analytic : ndarray (Hz)
        Noise-free continuous model, ``1/(tau_eff ln((x_ss - x_reset)/(x_ss - x_th)))``.
    rate_discrete : ndarray (Hz)
        The scheme's exact spike period (a whole number of steps).
    rate_sim : ndarray (Hz)
        Simulated, noise-free.
    rate_noise_analytic : ndarray (Hz)
        Siegert's formula with the linearised model's stationary std (continuous; the simulated rate
        carries an O(sqrt(dt)) threshold-crossing bias).
    rate_noise_sim : ndarray (Hz)
        Simulated with noise.
    """

    model: str
    device: str
    dt_ms: float
    gate: np.ndarray
    drive_mV: np.ndarray
    noise_sigma_mV: float
    rate_analytic: np.ndarray
    rate_discrete: np.ndarray
    rate_sim: np.ndarray
    rate_noise_analytic: np.ndarray
    rate_noise_sim: np.ndarray


def siegert_rate(tau, mu, sigma, x_th, x_reset, t_ref=0.0) -> float:
    """Mean rate of a leaky integrator with white noise (Siegert/Ricciardi), in SI units.

    Parameters
    ----------
    tau : float (s)
        Time constant.
    mu : float (V)
        Mean of the free membrane.
    sigma : float (V)
        Stationary std of the free membrane (0: the noise-free rate).
    x_th : float (V)
        Threshold.
    x_reset : float (V)
        Reset.
    t_ref : float (s)
        Refractory period.

    Returns
    -------
    float
        The rate (Hz).
    """
    if sigma <= 0:
        return float(1.0 / (t_ref + tau * np.log((mu - x_reset) / (mu - x_th)))) if mu > x_th else 0.0
    lo, hi = (x_reset - mu) / sigma, (x_th - mu) / sigma
    # integral of sqrt(pi) exp(u^2)(1 + erf u) = sqrt(pi) erfcx(-u)
    integral = quad(lambda u: np.sqrt(np.pi) * erfcx(-u), lo, hi, limit=200)[0]
    return float(1.0 / (t_ref + tau * integral))


FI_DRIVES = np.linspace(0, 40, 21) * mV  # fi_curve's default drives: 0 to 40 mV in 2 mV steps


def fi_curve(
    model,
    drives=FI_DRIVES,
    gates=(0.0, 1.0, 4.0),
    *,
    noise_sigma=2 * mV,
    duration=2 * second,
    params=None,
    device="numpy",
    dt=0.1 * ms,
    seed=0,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
) -> FIResult:
    """f-I curves at held gate levels, noise-free and with white noise, in one network.

    Noise (the model's term, std ``noise_sigma`` for a free LIF membrane) comes from a frozen
    table whose columns are zero for the noise-free neurons, so it does not depend on how the
    points are batched.

    Parameters
    ----------
    model : str or NeuronModel
        The model.
    drives : Quantity (voltage)
        The constant drives.
    gates : array_like
        Held gate levels (dimensionless).
    noise_sigma : Quantity (voltage)
        Std of the free membrane under the noise.
    duration : Quantity (time)
        Simulated time.
    params : dict, optional
        Model parameters (quantities) other than the defaults.
    device : str
        Brian2 device (numpy, cython, cpp_standalone).
    dt : Quantity (time)
        Time step.
    seed : int
        Seed of the noise table and of Brian2.
    workers : int, optional
        Run the operating points on an embedded Dask LocalCluster of this many processes.
    scheduler : str, optional
        Run them on the Dask scheduler at this address instead.
    client : dask.distributed.Client, optional
        Run them on this client's cluster instead. The neurons are independent, so the results
        equal the serial ones (default: all in one network, in this process).

    Returns
    -------
    FIResult
        Analytic, discrete and simulated rates.
    """
    model = _model(model)
    drives = _levels("drives", drives, volt, "mV")
    gates = _levels("gates", gates, 1, "1")
    sigma = float(require_quantity("noise_sigma", noise_sigma, volt, "mV"))
    dur = float(require_quantity("duration", duration, second, "s"))
    params = dict(params or {})
    get = lambda k: float(np.asarray(params.get(k, model.parameters[k].default)))  # noqa: E731
    v_th, v_reset = get("v_th"), get("v_reset")
    t_ref = get("tau_ref")
    plist, init = [], {}
    an = np.full((gates.size, drives.size), np.nan)
    disc, noisy_an = an.copy(), an.copy()
    for a, g in enumerate(gates):
        for b, d in enumerate(drives):
            p, frozen = _point(model, g, d, params, spikes=True)
            plist.append(p)
            for var, val in frozen.items():
                init.setdefault(var, []).append(val)
            if model.threshold.replace(" ", "") not in ("v>v_th", "v>=v_th"):
                continue
            L = linearise(model, {**p, "noise_sigma": sigma * volt}, frozen, dt=dt, noise=True)
            tau, mu = L.tau(), L.v_ss
            xs, xr, xt = mu, v_reset, v_th
            if mu > xt:
                an[a, b] = 1.0 / (t_ref + tau * np.log((xs - xr) / (xs - xt)))
                lam = L.A[L.v_index, L.v_index]
                k = np.arange(1, 200000)
                xk = xs + (xr - xs) * lam**k
                disc[a, b] = 1.0 / (t_ref + k[np.argmax(xk > xt)] * float(dt))
            else:
                an[a, b] = disc[a, b] = 0.0
            noisy_an[a, b] = siegert_rate(tau, mu, np.sqrt(L.variance()), xt, xr, t_ref)
    n = len(plist)
    init = {k: np.array(v * 2) * (volt if k in ("I", "theta") else 1) for k, v in init.items()}
    steps = int(np.ceil(dur / float(dt))) + 1
    scale = np.concatenate([np.zeros(n), np.ones(n)])
    table = np.random.default_rng(seed).standard_normal((steps, 2 * n)) * scale[None, :]
    plist2 = [dict(p, noise_sigma=sigma * volt) for p in plist] * 2
    _, _, trains = _simulate(
        model,
        plist2,
        init,
        duration,
        device=device,
        dt=dt,
        method=model.method,
        seed=seed,
        noise=table,
        spikes=True,
        workers=workers,
        scheduler=scheduler,
        client=client,
    )

    def rate(tr):
        if tr.size < 2:
            return tr.size / dur
        return (tr.size - 1) / (tr[-1] - tr[0])

    rates = np.array([rate(tr) for tr in trains]).reshape(2, gates.size, drives.size)
    return FIResult(
        model.name, device, float(dt / ms), gates, drives * 1e3, sigma * 1e3, an, disc, rates[0], noisy_an, rates[1]
    )


# --- noise suppression -------------------------------------------------------------------------


@dataclass(frozen=True)
class SNRResult:
    """Output SNR against input SNR at held gate levels (linear membrane, no spikes).

    Protocol: input = ``drive`` + signal ``A sin(2 pi f t)`` (in I_ext) + white noise (the
    model's noise term with std ``sigma`` for a free LIF membrane), so input SNR =
    (A^2/2)/sigma^2. Measured: the membrane ``v``; output SNR = power of the fitted sinusoid
    at f over the variance of the residual, pooled over ``replicas`` neurons with independent
    noise (signal power from the replica-averaged complex amplitude, so the noise's own share
    of it shrinks by ``replicas``). Analytic: ``abs(H(f))**2 (A^2/2) / var(v)`` of the
    linearised model, continuous and discrete (the scheme's AR(1) variance).

    Parameters
    ----------
    model : str
        The model's name.
    device : str
        The Brian2 device it ran on.
    dt_ms : float (ms)
        The time step.
    gate : ndarray
        The held gate levels.
    signal_hz : float (Hz)
        The signal's frequency.
    amplitude_mV : float (mV)
        The signal's amplitude.
    snr_in_db : ndarray (dB)
        The input SNRs.
    snr_out_analytic_db : ndarray (dB)
        Output SNR of the continuous linearised model (gates, SNRs).
    snr_out_discrete_db : ndarray (dB)
        Output SNR of the discrete scheme.
    snr_out_sim_db : ndarray (dB)
        Simulated output SNR.
    """

    model: str
    device: str
    dt_ms: float
    gate: np.ndarray
    signal_hz: float
    amplitude_mV: float
    snr_in_db: np.ndarray
    snr_out_analytic_db: np.ndarray
    snr_out_discrete_db: np.ndarray
    snr_out_sim_db: np.ndarray


def snr_transfer(
    model,
    gates=(0.0, 1.0, 4.0),
    snr_in_db=(-10, 0, 10, 20),
    *,
    signal=10 * Hz,
    amplitude=2 * mV,
    drive=10 * mV,
    replicas=10,
    window=1 * second,
    params=None,
    device="numpy",
    dt=0.1 * ms,
    seed=0,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
) -> SNRResult:
    """Output against input signal-to-noise ratio, all points in one network (see :class:`SNRResult`).

    Parameters
    ----------
    model : str or NeuronModel
        The model.
    gates : array_like
        Held gate levels (dimensionless).
    snr_in_db : array_like
        Input SNRs (dB).
    signal : Quantity (frequency)
        The signal's frequency.
    amplitude : Quantity (voltage)
        The signal's amplitude.
    drive : Quantity (voltage)
        The constant drive.
    replicas : int
        Neurons with independent noise per (gate, SNR).
    window : Quantity (time)
        The fitted window after the transient.
    params : dict, optional
        Model parameters (quantities) other than the defaults.
    device : str
        Brian2 device (numpy, cython, cpp_standalone).
    dt : Quantity (time)
        Time step.
    seed : int
        Seed of the noise table and of Brian2.
    workers : int, optional
        Run the operating points on an embedded Dask LocalCluster of this many processes.
    scheduler : str, optional
        Run them on the Dask scheduler at this address instead.
    client : dask.distributed.Client, optional
        Run them on this client's cluster instead. The neurons are independent, so the results
        equal the serial ones (default: all in one network, in this process).

    Returns
    -------
    SNRResult
        Output SNRs, analytic and simulated.
    """
    model = _model(model)
    gates = _levels("gates", gates, 1, "1")
    snr_in = np.atleast_1d(np.asarray(snr_in_db, dtype=float))
    f = float(require_quantity("signal", signal, Hz, "Hz"))
    amp = float(require_quantity("amplitude", amplitude, volt, "mV"))
    d0 = float(require_quantity("drive", drive, volt, "mV"))
    window = float(require_quantity("window", window, second, "s"))
    sig_in = amp / np.sqrt(2 * 10 ** (snr_in / 10))
    params = dict(params or {})
    lins, points = [], []
    for g in gates:
        p, frozen = _point(model, g, d0, params)
        lins.append(linearise(model, {**p, "noise_sigma": 1e-3 * volt}, frozen, dt=dt, noise=True))
        points.append((p, frozen))
    settle = 8 * max(L.tau() for L in lins)
    duration = settle + window
    steps = int(round(duration / float(dt))) + 2
    tk = np.arange(steps) * float(dt)
    plist, init, cols, scale = [], {}, [], []
    for (p, frozen), L in zip(points, lins):
        for s in sig_in:
            for _ in range(replicas):
                plist.append(dict(p, noise_sigma=1e-3 * volt))
                cols.append(float(np.asarray(p.get("I_ext", 0.0))) + amp * np.sin(2 * np.pi * f * tk))
                scale.append(s / 1e-3)
                for var, val in frozen.items():
                    init.setdefault(var, []).append(val)
                init.setdefault("v", []).append(L.v_ss)
    init = {k: np.array(v) * (volt if k in ("I", "theta", "v") else 1) for k, v in init.items()}
    table = np.random.default_rng(seed).standard_normal((steps, len(plist))) * np.array(scale)[None, :]
    t, tr, _ = _simulate(
        model,
        plist,
        init,
        duration * second,
        device=device,
        dt=dt,
        method=model.method,
        seed=seed,
        drive=np.array(cols).T,
        noise=table,
        workers=workers,
        scheduler=scheduler,
        client=client,
    )
    keep = t >= t[-1] - window
    v = tr["v"].reshape(gates.size, snr_in.size, replicas, -1)
    sim = np.zeros((gates.size, snr_in.size))
    for a in range(gates.size):
        for b in range(snr_in.size):
            cs, pn = [], []
            for r in range(replicas):
                c, res = _sin_fit(t[keep], v[a, b, r][keep], f)
                cs.append(c)
                pn.append(res.var())
            # coherent average over replicas: the noise's share of the fitted amplitude shrinks
            sim[a, b] = (abs(np.mean(cs)) ** 2 / 2) / np.mean(pn)
    sig_pow = amp**2 / 2
    an = np.array(
        [[abs(L.transfer(f)[0]) ** 2 * sig_pow / (L.variance() * (s / 1e-3) ** 2) for s in sig_in] for L in lins]
    )
    di = np.array(
        [
            [abs(L.transfer_discrete(f)[0]) ** 2 * sig_pow / (L.variance_discrete() * (s / 1e-3) ** 2) for s in sig_in]
            for L in lins
        ]
    )
    db = lambda x: 10 * np.log10(x)  # noqa: E731
    return SNRResult(model.name, device, float(dt / ms), gates, f, amp * 1e3, snr_in, db(an), db(di), db(sim))
