"""Effective time constant and steady state of the input-driven gate against input rate.

Setting (paper A's DGN, ``shared/papers.md`` A): each neuron receives ``N`` independent
Poisson trains at rate ``r``; every spike jumps the synapse's traces (``g`` by ``c``,
``I`` by ``w``, as the model's ``on_pre`` says), so the gate and the current are shot
noise with total rate ``lam = N r``. The membrane (``x = v - v_rest``) is read from the
model file, not rewritten: its right-hand side is evaluated numerically and must be

    dx/dt = -(a0 + a1 g) x + a1 (E - v_rest) g + bI I + be I_ext,

(``a0 = 1/tau_mem``, ``a1 = 1/tau_mem`` for dgn/sdgn, ``E`` = E_gate or E_rev; lif has
no gate, ``a1 = 0``). Three predictions, per rate:

- mean gate: ``<g> = lam c tau_syn`` — exact for shot noise (and the discrete scheme's
  exact value ``lam dt c/(1 - exp(-dt/tau_syn))`` as recorded, see :func:`shot_noise_theory`);
- mean field (the gate replaced by its mean): ``tau_eff = 1/(a0 + a1 <g>)``, steady
  state ``x = (a1 (E - v_rest) <g> + bI <I> + be I_ext) tau_eff``, small-step gain
  ``be tau_eff``;
- exact (continuous time, Poisson shot noise): ``x(t) = int_0^inf exp(-a0 T - G_T) (drive at t-T) dT``
  with ``G_T = a1 int_{t-T}^t g``. Its mean follows from the Laplace functional of the
  Poisson process, ``L(T) = <exp(-G_T)> = exp(-lam int (1 - exp(-f_T(s))) ds)``, and
  Mecke's formula for ``<g(t-T) exp(-G_T)>``; the mean step response to ``I_ext += dI``
  is ``R(t) = be dI int_0^t exp(-a0 T) L(T) dT`` exactly (given g, v is linear in I_ext).
  Because ``<g v> != <g><v>``, mean field overestimates the leak: the exact mean
  response is slower and larger than mean field says (Jensen: ``<exp(-G)> >= exp(-<G>)``).

Simulation (:func:`rate_response`): ONE build; for each rate ``trials`` neuron pairs,
each pair with its own ``N`` Poisson trains (``dgnsim.poisson_input``, one generator per
rate) shared by the two twins. One twin of each pair gets a square-wave probe in
``I_ext`` (``probe`` mV, on/off every ``period``) from a 2-d TimedArray; the other none.
The twins' difference is exactly the response to the probe under that pair's gate
(the input noise cancels); it is averaged over pairs and folded over cycles. The
unprobed twins give the stationary mean gate and mean ``v`` (time average per neuron;
95 % intervals from the spread across independent neurons). The time constant is the
integral one, ``tau = int_0^P (1 - y(s)) ds`` of the normalised mean step response
``y`` (equal to tau for an exponential); theory curves go through the same folding
and integral, so only the dynamics differ. Spikes are switched off (threshold raised).

Discretisation: the default 'sequential' method takes forward-Euler steps of the gated
membrane and Bernoulli input (one spike per source and step at most), so the continuous
theory is off by O(dt/tau_eff) and O(dt/tau_syn) (about 1-2 % at dt = 0.1 ms, tau_eff >= 3 ms).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
from brian2 import Hz, StateMonitor, TimedArray, ms, mV, second, volt

from dgnsim.brian.backend import BRIAN2_LOCK, Simulation
from dgnsim.brian.network import connect, make_group, poisson_input
from dgnsim.core.expressions import compile_expression, model_origin, synapse_jumps
from dgnsim.core.models import NeuronModel, load_model
from dgnsim.core.parallel import map_points
from dgnsim.core.units import require_quantity

__all__ = ["RATE_MODELS", "Membrane", "RateResult", "membrane", "rate_response", "shot_noise_theory"]

#: Models with an input-driven gate (and lif, the reference without one).
RATE_MODELS = ("lif", "dgn", "sdgn")
#: Threshold used to switch spiking off.
NO_SPIKE_THRESHOLD = 1e4 * mV
_GL_Y, _GL_W = np.polynomial.legendre.leggauss(64)
_GL_Y, _GL_W = 0.5 * (_GL_Y + 1), 0.5 * _GL_W  # nodes and weights on [0, 1]


@dataclass(frozen=True)
class Membrane:
    """Coefficients of the membrane equation (SI), derived numerically from the model file.

    Parameters
    ----------
    model : str
        The model's name.
    a0 : float (1/s)
        Leak rate at zero gate.
    a1 : float (1/s)
        Leak rate per unit gate (0 without a gate).
    drive_g : float (V/s)
        ``a1 (E - v_rest)``, per unit gate.
    b_I : float (1/s)
        Drive per volt of the synaptic trace ``I``.
    b_ext : float (1/s)
        Drive per volt of ``I_ext``.
    jumps : dict
        Trace -> the synapse parameter that it jumps by.
    tau : dict
        Trace -> its decay time constant (s).
    v_rest : float (V)
        Resting potential.
    """

    model: str
    a0: float
    a1: float
    drive_g: float
    b_I: float
    b_ext: float
    jumps: dict
    tau: dict
    v_rest: float

    @property
    def gate(self) -> str | None:
        return "g" if "g" in self.jumps else None


def _model(model) -> NeuronModel:
    model = model if isinstance(model, NeuronModel) else load_model(model)
    if model.name not in RATE_MODELS:
        raise ValueError(f"no rate analysis for model {model.name!r}; choose from {', '.join(RATE_MODELS)}")
    return model


def membrane(model, params: dict | None = None) -> Membrane:
    """Read the gated linear membrane of ``model`` from its equations (see the module docstring).

    Parameters
    ----------
    model : str or NeuronModel
        One of :data:`RATE_MODELS` (or a model of the same form).
    params : dict, optional
        Parameter values (quantities) other than the defaults.

    Returns
    -------
    Membrane
        The coefficients.

    Raises
    ------
    ValueError
        If ``dv/dt`` is not affine in ``v`` and the traces as assumed.
    """
    model = _model(model)
    params = dict(params or {})
    where = model_origin(model)
    ns = {}
    for name, p in model.parameters.items():
        value = params.get(name, p.default)
        require_quantity(name, value, p.unit, p.unit_text)
        ns[name] = float(np.asarray(value))
    eqs = model.equations()
    rhs = {
        n: compile_expression(e.code, f"{where}: right-hand side of d{n}/dt", system="si")
        for n, e in eqs.get_substituted_expressions(None)
    }
    states = list(model.update_order)
    v_rest = ns["v_rest"]

    def f(name, **x):
        e = dict(ns)
        e.update({s: 0.0 for s in states})
        e["v"] = v_rest
        e.update(x)
        return float(rhs[name](e))

    jumps = synapse_jumps(model.synapse.on_pre, f"{where}: synapse on_pre")
    tau = {s: -1.0 / f(s, **{s: 1.0}) for s in jumps}
    h = 1e-3
    a0 = -(f("v", v=v_rest + h) - f("v")) / h
    a1 = -(f("v", v=v_rest + h, g=1.0) - f("v", g=1.0)) / h - a0 if "g" in jumps else 0.0
    drive_g = f("v", g=1.0) - f("v") if "g" in jumps else 0.0
    b_I = (f("v", I=h) - f("v")) / h if "I" in jumps else 0.0
    b_ext = (f("v", I_ext=ns["I_ext"] + h) - f("v")) / h
    m = Membrane(model.name, a0, a1, drive_g, b_I, b_ext, jumps, tau, v_rest)
    # check the assumed affine form at a few random points
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = {"v": v_rest + rng.normal() * 0.02, "I_ext": rng.normal() * 0.01}
        if "g" in jumps:
            x["g"] = abs(rng.normal()) * 3
        if "I" in jumps:
            x["I"] = rng.normal() * 0.01
        g, i_ = x.get("g", 0.0), x.get("I", 0.0)
        want = -(a0 + a1 * g) * (x["v"] - v_rest) + drive_g * g + b_I * i_ + b_ext * x["I_ext"] + f("v", I_ext=0.0)
        if not np.isclose(f("v", **x), want, rtol=1e-6, atol=1e-9):
            raise ValueError(f"{model.name}: dv/dt is not of the gated linear form this analysis assumes")
    if set(jumps) - {"g", "I"}:
        raise ValueError(f"{model.name}: synapse jumps {sorted(jumps)}; expected g and/or I")
    return m


def _levels(name, values, unit, display) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(require_quantity(name, values, unit, display), dtype=float))
    if arr.size == 0 or np.any(arr < 0):
        raise ValueError(f"{name}: give at least one non-negative value")
    return arr


def shot_noise_theory(
    model,
    rates,
    *,
    n_inputs: int = 10,
    c: float = 0.5,
    w=1 * mV,
    probe=1 * mV,
    params: dict | None = None,
    dt=0.1 * ms,
    t_max=None,
    t_step=None,
) -> dict:
    """Mean-field and exact (shot-noise) predictions at each input rate.

    Parameters
    ----------
    model : str or NeuronModel
        One of :data:`RATE_MODELS`.
    rates : Quantity (frequency)
        Rate of each input train.
    n_inputs : int
        Poisson trains per neuron.
    c : float
        The synapse's gate jump.
    w : Quantity (voltage)
        The synapse's current jump.
    probe : Quantity (voltage)
        The step in ``I_ext`` of the step response.
    params : dict, optional
        Parameter values (quantities) other than the defaults.
    dt : Quantity (time)
        Time step of the discrete trace's mean.
    t_max : float (s), optional
        End of the response grid (default: 20 effective time constants).
    t_step : float (s), optional
        Its step (default: ``dt``).

    Returns
    -------
    dict
        Arrays, one value per rate (potentials in volts relative to rest, times in seconds):
        ``gate_mf`` = lam c tau_g, ``gate_discrete`` (the discrete trace's exact mean as recorded
        at the start of a step), ``I_mf`` = lam w tau_I, ``tau_mf``, ``v_mf``, ``gain_mf`` (mean
        field), ``v_exact``, ``gain_exact``, ``tau_exact`` (integral time constant of the exact
        mean step response), the exact mean step response ``R`` (rates x T) on the grid ``T``
        (s), the Laplace functional ``L`` = <exp(-G_T)> and ``gL`` = <g(t-T) exp(-G_T)>
        (rates x T), ``G_T = a1 int_{t-T}^t g``, and ``membrane`` (:class:`Membrane`).
    """
    mem = membrane(model, params)
    rates = _levels("rates", rates, Hz, "Hz")
    if int(n_inputs) != n_inputs or n_inputs < 1:
        raise ValueError(f"n_inputs: a positive integer, got {n_inputs!r}")
    if c < 0:
        raise ValueError(f"c: a conductance must not be negative, got {c!r}")
    w = float(require_quantity("w", w, volt, "mV"))
    dI = float(require_quantity("probe", probe, volt, "mV"))
    dt = float(require_quantity("dt", dt, second, "ms"))
    params = dict(params or {})
    i_ext = float(np.asarray(params.get("I_ext", 0.0 * mV)))
    lam = n_inputs * rates
    tI = mem.tau.get("I", mem.tau.get("g"))
    tg = mem.tau.get("g", tI)
    cg = c if mem.gate else 0.0
    wI = w if "I" in mem.jumps else 0.0
    gate_mf = lam * cg * tg
    gate_disc = lam * dt * cg / (1 - np.exp(-dt / tg))
    I_mf = lam * wI * tI
    rate_mf = mem.a0 + mem.a1 * gate_mf
    tau_mf = 1.0 / rate_mf
    v_mf = (mem.drive_g * gate_mf + mem.b_I * I_mf + mem.b_ext * i_ext) / rate_mf
    gain_mf = mem.b_ext / rate_mf
    # exact: kernel K(T) = exp(-a0 T) L(T) on a fine grid
    t_max = 20.0 / mem.a0 if t_max is None else float(t_max)
    t_step = min(dt / 4, 0.02 / mem.a0) if t_step is None else float(t_step)
    T = np.arange(0.0, t_max + t_step / 2, t_step)
    kappa = mem.a1 * cg * tg  # G contributed by one spike over all time
    a = 1 - np.exp(-T / tg)
    # int_0^T (1 - exp(-kappa (1 - e^{-s/tg}))) ds, cumulative trapezoid on the grid
    inner = 1 - np.exp(-kappa * a)
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (inner[1:] + inner[:-1]) * t_step)])
    # spikes before the window: tg * Ein(kappa a), Ein(z) = int_0^1 (1 - e^{-z y})/y dy
    z = kappa * a
    ein = np.array([np.sum(_GL_W * (-np.expm1(-zk * _GL_Y)) / _GL_Y) for zk in z])
    # Mecke: <g(0) e^{-G}> / L = lam c tg int_0^1 e^{-z y} dy ; <I(0) e^{-G}> / L similarly (tI/tg power)
    phi_g = np.array([np.sum(_GL_W * np.exp(-zk * _GL_Y)) for zk in z])
    p = tg / tI
    phi_I = np.array([np.sum(_GL_W * _GL_Y ** (p - 1) * np.exp(-zk * _GL_Y)) for zk in z])

    def trapz(y):
        return np.sum(0.5 * (y[..., 1:] + y[..., :-1]), axis=-1) * t_step

    L = np.exp(-lam[:, None] * (tg * ein[None, :] + cum[None, :]))
    K = np.exp(-mem.a0 * T)[None, :] * L
    drive = (
        mem.drive_g * lam[:, None] * cg * tg * phi_g[None, :]
        + mem.b_I * lam[:, None] * wI * tg * phi_I[None, :]
        + mem.b_ext * i_ext
    )
    v_exact = trapz(K * drive)
    gain_exact = mem.b_ext * trapz(K)
    tau_exact = trapz(K * T[None, :]) / trapz(K)
    R = (
        mem.b_ext
        * dI
        * np.concatenate([np.zeros((len(rates), 1)), np.cumsum(0.5 * (K[:, 1:] + K[:, :-1]), axis=1) * t_step], axis=1)
    )
    return {
        "membrane": mem,
        "rates": rates,
        "lam": lam,
        "gate_mf": gate_mf,
        "gate_discrete": gate_disc,
        "I_mf": I_mf,
        "tau_mf": tau_mf,
        "v_mf": v_mf,
        "gain_mf": gain_mf,
        "v_exact": v_exact,
        "gain_exact": gain_exact,
        "tau_exact": tau_exact,
        "T": T,
        "R": R,
        "L": L,
        "gL": L * lam[:, None] * cg * tg * phi_g[None, :],
    }


@dataclass(frozen=True)
class RateResult:
    """Mean gate, effective time constant and steady state against input rate.

    Per rate (arrays of length ``rate_hz``): ``*_mf`` mean field, ``*_exact`` the exact
    shot-noise mean (continuous time), ``*_sim`` simulated, ``*_ci`` the half-width of its
    95 % interval.

    Parameters
    ----------
    model : str
        The model's name.
    device : str
        The Brian2 device it ran on.
    dt_ms : float (ms)
        The time step.
    n_inputs : int
        Poisson trains per neuron.
    c : float
        The synapse's gate jump (0 without a gate).
    w_mV : float (mV)
        The synapse's current jump (0 without a current trace).
    probe_mV : float (mV)
        The ``I_ext`` probe step.
    trials : int
        Neuron pairs per rate.
    rate_hz : ndarray (Hz)
        Rate of each input train.
    gate_mf : ndarray
        Mean gate, mean field.
    gate_discrete : ndarray
        The discrete trace's exact mean (what the simulation should match to statistical error).
    gate_sim : ndarray
        Simulated mean gate.
    gate_ci : ndarray
        Half-width of its 95 % interval.
    v_mf_mV : ndarray (mV)
        Mean ``v - v_rest``, mean field.
    v_exact_mV : ndarray (mV)
        Mean ``v - v_rest``, exact shot-noise mean.
    v_sim_mV : ndarray (mV)
        Simulated.
    v_ci_mV : ndarray (mV)
        Half-width of its 95 % interval.
    tau_mf_ms : ndarray (ms)
        Integral time constant of the mean step response, mean field.
    tau_exact_ms : ndarray (ms)
        The same, exact.
    tau_sim_ms : ndarray (ms)
        The same, simulated.
    tau_ci_ms : ndarray (ms)
        Half-width of its 95 % bootstrap interval.
    gain_mf : ndarray
        Small-step gain from ``I_ext`` to mean ``v`` (mV/mV), mean field.
    gain_exact : ndarray
        The same, exact.
    gain_sim : ndarray
        The same, simulated.
    gain_ci : ndarray
        Half-width of its 95 % bootstrap interval.
    t_ms : ndarray (ms)
        Times of the step responses.
    step_mf : ndarray
        Normalised mean step responses (rates x times), mean field.
    step_exact : ndarray
        The same, exact.
    step_sim : ndarray
        The same, simulated.
    """

    model: str
    device: str
    dt_ms: float
    n_inputs: int
    c: float
    w_mV: float
    probe_mV: float
    trials: int
    rate_hz: np.ndarray
    gate_mf: np.ndarray
    gate_discrete: np.ndarray
    gate_sim: np.ndarray
    gate_ci: np.ndarray
    v_mf_mV: np.ndarray
    v_exact_mV: np.ndarray
    v_sim_mV: np.ndarray
    v_ci_mV: np.ndarray
    tau_mf_ms: np.ndarray
    tau_exact_ms: np.ndarray
    tau_sim_ms: np.ndarray
    tau_ci_ms: np.ndarray
    gain_mf: np.ndarray
    gain_exact: np.ndarray
    gain_sim: np.ndarray
    gain_ci: np.ndarray
    t_ms: np.ndarray
    step_mf: np.ndarray
    step_exact: np.ndarray
    step_sim: np.ndarray


def _fold(d: np.ndarray, start: int, half: int, cycles: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean on- and off-segments (last axis: samples) of a square-wave response."""
    on = np.mean([d[..., start + 2 * k * half : start + (2 * k + 1) * half + 1] for k in range(cycles)], axis=0)
    off = np.mean([d[..., start + (2 * k + 1) * half : start + (2 * k + 2) * half + 1] for k in range(cycles)], axis=0)
    return on, off


def _tau_gain(on: np.ndarray, off: np.ndarray, dt: float, probe: float, window: np.ndarray):
    """Normalised step response, time constant (s) and gain from folded segments.

    ``D = on - off`` has the mean ``2 R(s) - R(inf)``; its plateau ``Dp`` (mean over the
    last quarter of the half period) estimates ``R(inf)``, so ``y = (D + Dp)/(2 Dp)``
    rises from 0 to 1 and the gain is ``Dp/probe``. Time constant: the integral
    ``int_0^W (1 - y) ds`` over ``W = window`` (one per row: 10 mean-field time
    constants, enough for an exponential to within e^-10, short enough to keep the
    plateau's noise out).
    """
    D = on - off
    q = D.shape[-1] - D.shape[-1] // 4
    Dp = D[..., q:].mean(axis=-1, keepdims=True)
    y = (D + Dp) / (2 * Dp)
    s = np.arange(D.shape[-1]) * dt
    u = np.where(s[None, :] <= window[:, None], 1 - y, 0.0)
    tau = np.sum(0.5 * (u[..., 1:] + u[..., :-1]), axis=-1) * dt
    return y, tau, Dp[..., 0] / probe


def _square_wave_response(
    R: np.ndarray, T: np.ndarray, t: np.ndarray, start: float, period: float, cycles: int
) -> np.ndarray:
    """Mean response on times ``t`` to the probe switched on at start + 2k period, off at +period."""
    out = np.zeros((R.shape[0], t.size))
    for k in range(2 * cycles):
        t0 = start + k * period
        s = t - t0
        m = s > 0
        out[:, m] += (-1) ** k * np.array([np.interp(s[m], T, row) for row in R])
    return out


def rate_response(
    model,
    rates=(0, 25, 50, 100, 200) * Hz,
    *,
    n_inputs: int = 10,
    c: float = 0.5,
    w=1 * mV,
    trials: int = 100,
    probe=1 * mV,
    period=200 * ms,
    cycles: int = 2,
    settle=200 * ms,
    params: dict | None = None,
    device: str = "numpy",
    dt=0.1 * ms,
    seed: int = 0,
    bootstrap: int = 300,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
) -> RateResult:
    """Simulate the gate, mean ``v`` and effective time constant at each input rate.

    The rates are the operating points: each has its own Poisson inputs (seeded by ``seed`` and
    its index), so the points can run in batches, here or on Dask workers, with the same
    results. See the module docstring for the protocol and the theory. 95 % intervals: mean
    gate and v from the spread across unprobed neurons (independent inputs), tau and gain from
    ``bootstrap`` resamples of the pairs.

    Parameters
    ----------
    model : str or NeuronModel
        One of :data:`RATE_MODELS`.
    rates : Quantity (frequency)
        Rate of each of the ``n_inputs`` Poisson trains per neuron.
    n_inputs : int
        Poisson trains per neuron.
    c : float
        The synapse's gate jump (ignored by lif).
    w : Quantity (voltage)
        The synapse's current jump (ignored by sdgn).
    trials : int
        Neuron pairs per rate (one probed, one not).
    probe : Quantity (voltage)
        The ``I_ext`` step: a square wave of half period ``period``.
    period : Quantity (time)
        Half period of the probe.
    cycles : int
        Probe cycles after ``settle``.
    settle : Quantity (time)
        Time before the probe (a multiple of ``period``).
    params : dict, optional
        Parameter values (quantities) other than the defaults.
    device : str
        Brian2 device (numpy, cython, cpp_standalone).
    dt : Quantity (time)
        Time step.
    seed : int
        Seed of the inputs, the simulation and the bootstrap.
    bootstrap : int
        Bootstrap resamples for the intervals of tau and gain.
    workers : int, optional
        Run the rates on an embedded Dask LocalCluster of this many processes.
    scheduler : str, optional
        Run them on the Dask scheduler at this address instead.
    client : dask.distributed.Client, optional
        Run them on this client's cluster instead (default: one network, in this process).

    Returns
    -------
    RateResult
        Theory and simulation per rate.
    """
    model = _model(model)
    rates_hz = _levels("rates", rates, Hz, "Hz")
    trials = int(trials)
    if trials < 2:
        raise ValueError(f"trials: at least 2 neuron pairs per rate, got {trials}")
    if int(cycles) != cycles or cycles < 1:
        raise ValueError(f"cycles: a positive integer, got {cycles!r}")
    dt_s = float(require_quantity("dt", dt, second, "ms"))
    P = float(require_quantity("period", period, second, "ms"))
    S = float(require_quantity("settle", settle, second, "ms"))
    dI = float(require_quantity("probe", probe, volt, "mV"))
    if dI == 0:
        raise ValueError("probe: must not be zero")
    half, start = int(round(P / dt_s)), int(round(S / dt_s))
    if abs(half * dt_s - P) > 1e-9 * P or abs(start * dt_s - S) > 1e-9 * max(S, dt_s) or half < 10:
        raise ValueError("period and settle must be multiples of dt (and period >= 10 dt)")
    if S % P > 1e-12 and P - S % P > 1e-12:
        raise ValueError("settle must be a multiple of period (the probe table has period-long rows)")
    params = dict(params or {})
    # R(t) beyond the grid (20 tau_mem) is its plateau (np.interp holds the last value)
    th = shot_noise_theory(model, rates_hz * Hz, n_inputs=n_inputs, c=c, w=w, probe=probe, params=params, dt=dt)
    mem = th["membrane"]
    K, n_pairs = rates_hz.size, trials
    duration = S + 2 * cycles * P + dt_s
    p = dict(params, v_th=NO_SPIKE_THRESHOLD)
    rows = int(round(S / P))
    syn_w = {"c": c} if mem.gate else {}
    if "I" in mem.jumps:
        syn_w["w"] = w
    common = {
        "model": model,
        "params": p,
        "n_pairs": n_pairs,
        "n_inputs": int(n_inputs),
        "probe": dI,
        "settle_rows": rows,
        "cycles": int(cycles),
        "period": P,
        "duration": duration,
        "device": device,
        "dt": dt,
        "seed": seed,
        "synapse": syn_w,
        "v_rest": mem.v_rest,
        "gate": bool(mem.gate),
        "current": "I" in mem.jumps,
    }
    points = [
        {
            "k": k,
            "rate": float(r),
            "v_mf": float(th["v_mf"][k]),
            "gate_mf": float(th["gate_mf"][k]) if mem.gate else 0.0,
            "I_mf": float(th["I_mf"][k]) if "I" in mem.jumps else 0.0,
        }
        for k, r in enumerate(rates_hz)
    ]
    runs = map_points(
        partial(_rate_batch, common),
        points,
        workers=workers,
        scheduler=scheduler,
        client=client,
        name=f"dgnsim-rate-{model.name}",
    )
    t = runs[0]["t"]
    v = np.array([r["v"] for r in runs])
    gate = np.array([r["gate"] for r in runs]) if mem.gate else None
    v = v.reshape(K, 2, n_pairs, -1)
    steady = slice(start, None)
    vm = v[:, 0, :, steady].mean(axis=-1)  # (K, pairs), independent across pairs
    ci = lambda x: 1.96 * x.std(axis=-1, ddof=1) / np.sqrt(x.shape[-1])  # noqa: E731
    if mem.gate:
        gm = gate[:, :, steady].mean(axis=-1)
        gate_sim, gate_ci = gm.mean(axis=1), ci(gm)
    else:
        gate_sim = gate_ci = np.zeros(K)
    d = v[:, 1] - v[:, 0]  # (K, pairs, time): response to the probe under each pair's gate
    on, off = _fold(d, start, half, cycles)
    win = np.minimum(10 * th["tau_mf"], 0.75 * P)
    y_sim, tau_sim, gain_sim = _tau_gain(on.mean(axis=1), off.mean(axis=1), dt_s, dI, win)
    rng = np.random.default_rng(seed + 1)
    boot_tau, boot_gain = [], []
    for _ in range(bootstrap):
        idx = rng.integers(0, n_pairs, n_pairs)
        _, tb, gb = _tau_gain(on[:, idx].mean(axis=1), off[:, idx].mean(axis=1), dt_s, dI, win)
        boot_tau.append(tb)
        boot_gain.append(gb)
    tau_ci = 1.96 * np.std(boot_tau, axis=0, ddof=1)
    gain_ci = 1.96 * np.std(boot_gain, axis=0, ddof=1)
    # theory through the same protocol: exact and mean-field mean responses on the recorded times
    R_mf = mem.b_ext * dI * th["tau_mf"][:, None] * (1 - np.exp(-th["T"][None, :] / th["tau_mf"][:, None]))
    curves = {}
    for name, R in (("exact", th["R"]), ("mf", R_mf)):
        resp = _square_wave_response(R, th["T"], t, S, P, cycles)
        curves[name] = _tau_gain(*_fold(resp, start, half, cycles), dt_s, dI, win)
    return RateResult(
        model.name,
        device,
        dt_s * 1e3,
        int(n_inputs),
        float(c if mem.gate else 0.0),
        float(require_quantity("w", w, volt, "mV")) * 1e3 if "I" in mem.jumps else 0.0,
        dI * 1e3,
        n_pairs,
        rates_hz,
        th["gate_mf"],
        th["gate_discrete"] if mem.gate else np.zeros(K),
        gate_sim,
        gate_ci,
        th["v_mf"] * 1e3,
        th["v_exact"] * 1e3,
        vm.mean(axis=1) * 1e3,
        ci(vm) * 1e3,
        th["tau_mf"] * 1e3,
        curves["exact"][1] * 1e3,
        tau_sim * 1e3,
        tau_ci * 1e3,
        th["gain_mf"],
        curves["exact"][2],
        gain_sim,
        gain_ci,
        np.arange(half + 1) * dt_s * 1e3,
        curves["mf"][0],
        curves["exact"][0],
        y_sim,
    )


def _rate_batch(common: dict, batch: list) -> list[dict]:
    """One network for the rates in ``batch`` (see :func:`rate_response`); per rate its traces.

    Neuron index within the network: (rate k, twin b, pair j) -> (k * 2 + b) * pairs + j, b=1
    probed. Each rate's inputs are drawn from its own seed, so a rate's traces do not depend
    on which other rates share its network.
    """
    with BRIAN2_LOCK:
        model, n_pairs, n_inputs, K = common["model"], common["n_pairs"], common["n_inputs"], len(batch)
        n = 2 * K * n_pairs
        p, duration, seed = common["params"], common["duration"], common["seed"]
        probed = np.tile(np.repeat([0.0, 1.0], n_pairs), K) * common["probe"]
        rows = common["settle_rows"]
        table = np.zeros((rows + 2 * common["cycles"], n))
        table[rows::2] = probed
        unprobed = (np.arange(n) // n_pairs) % 2 == 0
        with Simulation(common["device"], dt=common["dt"], seed=seed) as sim:
            group = make_group(model, n, p, per_neuron=("I_ext",), name="rate_group")
            group.v = (common["v_rest"] + np.repeat([b["v_mf"] for b in batch], 2 * n_pairs)) * volt
            if common["gate"]:
                group.g = np.repeat([b["gate_mf"] for b in batch], 2 * n_pairs)
            if common["current"]:
                group.I = np.repeat([b["I_mf"] for b in batch], 2 * n_pairs) * volt
            base = float(np.asarray(p.get("I_ext", 0 * mV)))
            group.namespace["rate_probe"] = TimedArray(
                table * volt + base * volt, dt=common["period"] * second, name="rate_probe"
            )
            group.run_regularly("I_ext = rate_probe(t, i)", when="before_groups", name="rate_probe_op")
            objs = [group]
            for slot, b in enumerate(batch):
                k = b["k"]
                src = poisson_input(
                    n_inputs * n_pairs,
                    b["rate"] * Hz,
                    duration * second,
                    seed=seed * 7919 + k + 1,
                    name=f"rate_input_{k}",
                )
                i = np.tile(np.arange(n_inputs * n_pairs), 2)
                j = slot * 2 * n_pairs + np.concatenate(
                    [np.repeat(np.arange(n_pairs), n_inputs), n_pairs + np.repeat(np.arange(n_pairs), n_inputs)]
                )
                objs += [src, connect(src, group, i=i, j=j, name=f"rate_syn_{k}", **common["synapse"])]
            mon = StateMonitor(group, "v", record=True, name="rate_v")
            objs.append(mon)
            if common["gate"]:
                gmon = StateMonitor(group, "g", record=np.flatnonzero(unprobed), name="rate_g")
                objs.append(gmon)
            sim.add(*objs)
            sim.build(duration * second)
            sim.run()
            t = np.array(mon.t[:], dtype=float)
            v = (np.array(mon.v[:], dtype=float) - common["v_rest"]).reshape(K, 2, n_pairs, -1)
            gate = np.array(gmon.g[:], dtype=float).reshape(K, n_pairs, -1) if common["gate"] else [None] * K
        return [{"t": t, "v": v[slot], "gate": gate[slot]} for slot in range(K)]
