"""Stochastic stability of the DGN: paper A's linear-noise formulas, the seed's bound,
and their Monte-Carlo check in Brian2.

Analytic side (pure functions of Brian2 quantities; paper A's units: ``V`` measured
from rest, inputs ``I_i = mu_i + sigma_i xi_i`` dimensionless, ``xi`` white noise in
1/sqrt(s), so ``sigma_i`` is in sqrt(s); ``W_i`` in V/s, ``C_i`` and ``g_l`` in 1/s):

- :func:`linear_noise_dgn`, :func:`linear_noise_lif`: steady state, effective leak,
  stationary variance (paper A's two formulas), for one shared noise or independent
  noises, with the exact stationary variance of the linear Ito SDE beside it;
- :func:`seed_bound`: E[(v - v*)^2] <= sigma^2/(2 lambda_eff), lambda_eff = lambda_0 + g,
  for a constant or a time-varying gate (then the smallest gate seen);
- :func:`noise_compensation`, :func:`variance_ratio`;
- :func:`discrete_variance_dgn_diffusion`, :func:`discrete_variance_lif`: the exact
  stationary variance of the discrete schemes that Brian2 runs (the O(dt) bias).

Numerical side: :func:`monte_carlo` runs K independent trials as K neurons of one
group, for S parameter sets at once (S*K neurons, one build), samples v at a few
well-separated times after a burn-in, and gives intervals from the spread *across
trials* (each trial's samples are averaged first, so correlation between one trial's
samples never enters the interval's validity). :func:`check` draws parameter sets in
a stated regime and compares (:mod:`dgnsim.cli.commands.stability` is its command line).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from brian2 import Quantity, SpikeMonitor, StateMonitor, ms, mV, second, volt
from scipy import stats

from dgnsim.brian.backend import BRIAN2_LOCK, Simulation
from dgnsim.brian.network import connect, make_group, poisson_input
from dgnsim.core.models import NeuronModel, load_model
from dgnsim.core.parallel import cluster_options, map_points
from dgnsim.core.units import magnitude, require_quantity

__all__ = [
    "MAX_LEAK_STEP",
    "NOISE_CONVENTIONS",
    "REGIMES",
    "BoundRow",
    "CheckReport",
    "CheckRow",
    "LinearNoise",
    "MonteCarlo",
    "TrialStatistics",
    "autocorrelation_time",
    "check",
    "check_bound",
    "chunk_seed",
    "diffusion_parameters",
    "discrete_variance_dgn_diffusion",
    "discrete_variance_lif",
    "draw_parameter_sets",
    "linear_noise_dgn",
    "linear_noise_lif",
    "monte_carlo",
    "noise_compensation",
    "seed_bound",
    "stack_parameters",
    "trial_statistics",
    "variance_ratio",
]

NOISE_CONVENTIONS = ("shared", "independent")
#: Largest effective-leak step G0*dt accepted (forward Euler needs << 1 for a small bias).
MAX_LEAK_STEP = 0.1
_SQRT_S = second**0.5


# --------------------------------------------------------------------------- analytic
@dataclass(frozen=True)
class LinearNoise:
    """Linear-noise approximation around the steady state (paper A).

    Parameters
    ----------
    v_ss : Quantity (volt)
        Steady state V, from rest.
    G0 : Quantity (1/second)
        Effective leak.
    variance : Quantity (volt**2)
        Paper A's stationary variance, the linear-noise value.
    variance_ito : Quantity (volt**2)
        The exact stationary variance of the linear Ito SDE that the inputs define (the
        multiplicative gate noise widens it: ``variance * 2 G0 / (2 G0 - q^2)``).
    noise : str
        The noise convention used.
    q2 : Quantity (1/second)
        The gate-noise rate q^2.
    """

    v_ss: Quantity
    G0: Quantity
    variance: Quantity
    variance_ito: Quantity
    noise: str
    q2: Quantity

    @property
    def std(self) -> Quantity:
        return np.sqrt(self.variance)

    @property
    def weak_noise(self) -> float:
        """q^2/(2 G0): the relative error of the linear-noise variance (0 for the LIF)."""
        return float(self.q2 / (2 * self.G0))


def _inputs(mu, sigma, W, C, g_l):
    mu = np.atleast_1d(np.asarray(require_quantity("mu", mu, Quantity(1.0), "1"), dtype=float))
    sigma_q = require_quantity("sigma", sigma, _SQRT_S, "second**0.5")
    W_q = require_quantity("W", W, volt / second, "volt/second")
    C_q = require_quantity("C", C, 1 / second, "1/second")
    g_q = require_quantity("g_l", g_l, 1 / second, "1/second")
    s = np.atleast_1d(magnitude(sigma_q, _SQRT_S))
    w = np.atleast_1d(magnitude(W_q, volt / second))
    c = np.atleast_1d(magnitude(C_q, 1 / second))
    gl = float(magnitude(g_q, 1 / second))
    n = max(len(mu), len(s), len(w), len(c))
    try:
        mu, s, w, c = (np.broadcast_to(x, (n,)).astype(float) for x in (mu, s, w, c))
    except ValueError:
        raise ValueError(
            f"mu, sigma, W, C: one value per input, got lengths {len(mu)}, {len(s)}, {len(w)}, {len(c)}"
        ) from None
    if np.any(s < 0):
        raise ValueError(f"sigma: noise amplitudes must not be negative, got {sigma!r}")
    if gl <= 0:
        raise ValueError(f"g_l: the leak conductance must be positive, got {g_l!r}")
    return mu, s, w, c, gl


def linear_noise_dgn(mu, sigma, W, C, g_l, noise: str = "shared") -> LinearNoise:
    """Paper A's linear-noise approximation of the DGN.

    Inputs ``I_i = mu_i + sigma_i xi_i`` drive ``dV/dt = -(g_l + sum C_i I_i) V + sum W_i I_i``;
    ``G0 = g_l + sum C_i mu_i``, ``V_ss = sum W_i mu_i / G0``, and

    - ``noise="shared"`` (one xi for all inputs; the convention of paper A's formula):
      ``<dV^2> = [sum_i sigma_i (W_i - C_i V_ss)]^2 / (2 G0)``;
    - ``noise="independent"`` (independent xi_i):
      ``<dV^2> = sum_i sigma_i^2 (W_i - C_i V_ss)^2 / (2 G0)``.

    Parameters
    ----------
    mu : array_like
        Input means (dimensionless), one per input.
    sigma : Quantity (second**0.5)
        Input noise amplitudes, one per input (or one for all).
    W : Quantity (volt/second)
        Input weights on the membrane, one per input.
    C : Quantity (1/second)
        Input conductances of the gate, one per input.
    g_l : Quantity (1/second)
        Leak conductance (1/tau_mem).
    noise : str
        ``"shared"`` (one xi for all inputs, paper A's convention) or ``"independent"``.

    Returns
    -------
    LinearNoise
        Steady state, effective leak and variances.

    Raises
    ------
    ValueError
        ``G0 <= 0`` (no stable steady state), negative amplitudes, inconsistent lengths.
    """
    if noise not in NOISE_CONVENTIONS:
        raise ValueError(f"noise: one of {NOISE_CONVENTIONS}, not {noise!r}")
    mu, s, w, c, gl = _inputs(mu, sigma, W, C, g_l)
    G0 = gl + float(np.sum(c * mu))
    if G0 <= 0:
        raise ValueError(
            f"the effective leak G0 = g_l + sum C_i mu_i = {G0:g}/s is not positive: no stable steady state"
        )
    v_ss = float(np.sum(w * mu)) / G0
    if noise == "shared":
        a2 = float(np.sum(s * (w - c * v_ss))) ** 2
        q2 = float(np.sum(s * c)) ** 2
    else:
        a2 = float(np.sum(s**2 * (w - c * v_ss) ** 2))
        q2 = float(np.sum(s**2 * c**2))
    var = a2 / (2 * G0)
    var_ito = a2 / (2 * G0 - q2) if q2 < 2 * G0 else np.inf
    return LinearNoise(
        v_ss=v_ss * volt,
        G0=G0 / second,
        variance=var * volt**2,
        variance_ito=var_ito * volt**2,
        noise=noise,
        q2=q2 / second,
    )


def linear_noise_lif(mu, sigma, W, g_l, noise: str = "shared") -> LinearNoise:
    """The same for a LIF with the same ``W_i`` and ``sigma_i`` (no gate, ``C_i = 0``).

    Shared xi: ``<dV^2> = [sum_i W_i sigma_i]^2 / (2 g_l)`` (paper A); independent xi_i:
    ``sum_i W_i^2 sigma_i^2 / (2 g_l)``. Exact for the LIF.

    Parameters
    ----------
    mu : array_like
        Input means (dimensionless), one per input.
    sigma : Quantity (second**0.5)
        Input noise amplitudes.
    W : Quantity (volt/second)
        Input weights.
    g_l : Quantity (1/second)
        Leak conductance.
    noise : str
        ``"shared"`` (one xi for all inputs, paper A's convention) or ``"independent"``.

    Returns
    -------
    LinearNoise
        Steady state, leak and variance.
    """
    W_q = require_quantity("W", W, volt / second, "volt/second")
    return linear_noise_dgn(mu, sigma, W, np.zeros(np.size(W_q)) / second, g_l, noise)


@dataclass(frozen=True)
class Compensation:
    """Noise compensation (paper A): ``C_i`` with the sign of ``W_i`` makes the terms
    ``sigma_i (W_i - C_i V_ss)`` partly cancel (for ``V_ss`` of the same sign).

    ``per_input``: the condition per input; ``holds``: for every input."""

    per_input: np.ndarray
    holds: bool


def noise_compensation(W, C) -> Compensation:
    """Whether each ``C_i`` has the sign of ``W_i`` (paper A's noise compensation; zero weights are ignored).

    Parameters
    ----------
    W : Quantity (volt/second)
        Input weights.
    C : Quantity (1/second)
        Input conductances of the gate.

    Returns
    -------
    Compensation
        ``per_input`` (bool array) and ``holds`` (for every input).
    """
    w = np.atleast_1d(magnitude(require_quantity("W", W, volt / second, "volt/second"), volt / second))
    c = np.atleast_1d(magnitude(require_quantity("C", C, 1 / second, "1/second"), 1 / second))
    ok = (np.sign(c) == np.sign(w)) | (w == 0)
    return Compensation(per_input=ok, holds=bool(np.all(ok)))


def variance_ratio(mu, sigma, W, C, g_l, noise: str = "shared") -> float:
    """Stationary variance of the DGN over that of the LIF with the same ``W_i``, ``sigma_i``.

    Linear-noise values; below 1 the gate removes noise.

    Parameters
    ----------
    mu : array_like
        Input means (dimensionless), one per input.
    sigma : Quantity (second**0.5)
        Input noise amplitudes, one per input (or one for all).
    W : Quantity (volt/second)
        Input weights on the membrane, one per input.
    C : Quantity (1/second)
        Input conductances of the gate, one per input.
    g_l : Quantity (1/second)
        Leak conductance (1/tau_mem).
    noise : str
        ``"shared"`` (one xi for all inputs, paper A's convention) or ``"independent"``.

    Returns
    -------
    float
        The ratio (infinite when the LIF's variance is 0).
    """
    dgn = linear_noise_dgn(mu, sigma, W, C, g_l, noise)
    lif = linear_noise_lif(mu, sigma, W, g_l, noise)
    return float(dgn.variance / lif.variance) if float(lif.variance) > 0 else float("inf")


def seed_bound(sigma, lambda0, gate) -> Quantity:
    """The seed's bound ``E[(v - v*)^2] <= sigma^2 / (2 lambda_eff)``, ``lambda_eff = lambda0 + g``.

    Exact for a constant gate and additive noise (the stationary variance of an
    Ornstein-Uhlenbeck process); for a gate that varies independently of the noise,
    ``E[dv^2]`` obeys ``d/dt E = -2 lambda(t) E + sigma^2 <= -2 lambda_min E + sigma^2``, hence
    the bound. In dgnsim units (noise term ``noise_sigma*sqrt(2/tau_mem)*xi``, gate g in units
    of the leak): ``seed_bound(noise_sigma*sqrt(2/tau_mem), 1/tau_mem, g/tau_mem) =
    noise_sigma^2/(1 + g_min)``.

    Parameters
    ----------
    sigma : Quantity (volt/second**0.5)
        Noise intensity (``dv = ... dt + sigma dW``).
    lambda0 : Quantity (1/second)
        The leak rate.
    gate : Quantity (1/second)
        The gate's extra decay rate: one value (a constant gate) or the values seen (a
        time-varying gate: the bound uses the smallest).

    Returns
    -------
    Quantity (volt**2)
        The bound.
    """
    s = float(magnitude(require_quantity("sigma", sigma, volt / _SQRT_S, "volt/second**0.5"), volt / _SQRT_S))
    lam = float(magnitude(require_quantity("lambda0", lambda0, 1 / second, "1/second"), 1 / second))
    g = np.atleast_1d(magnitude(require_quantity("gate", gate, 1 / second, "1/second"), 1 / second))
    if s < 0:
        raise ValueError(f"sigma: must not be negative, got {sigma!r}")
    lam_eff = lam + float(np.min(g))
    if lam_eff <= 0:
        raise ValueError(f"lambda_eff = lambda0 + min(gate) = {lam_eff:g}/s is not positive: no bound")
    return s**2 / (2 * lam_eff) * volt**2


def diffusion_parameters(mu, sigma, W, C, g_l, noise: str = "shared") -> dict:
    """Parameters of ``equations/dgn_diffusion.toml`` for these inputs (see that file).

    For independent noises the diffusion coefficient ``sum sigma_i^2 (W_i - C_i V)^2`` is
    written ``(p - q V)^2 + r^2``.

    Parameters
    ----------
    mu : array_like
        Input means (dimensionless), one per input.
    sigma : Quantity (second**0.5)
        Input noise amplitudes, one per input (or one for all).
    W : Quantity (volt/second)
        Input weights on the membrane, one per input.
    C : Quantity (1/second)
        Input conductances of the gate, one per input.
    g_l : Quantity (1/second)
        Leak conductance (1/tau_mem).
    noise : str
        ``"shared"`` (one xi for all inputs, paper A's convention) or ``"independent"``.

    Returns
    -------
    dict
        ``tau_mem``, ``g_mean``, ``I_mean``, ``noise_sigma``, ``noise_gate``, ``noise_indep`` (quantities).
    """
    if noise not in NOISE_CONVENTIONS:
        raise ValueError(f"noise: one of {NOISE_CONVENTIONS}, not {noise!r}")
    mu, s, w, c, gl = _inputs(mu, sigma, W, C, g_l)
    tau = 1 / gl
    if noise == "shared":
        p, q, r = float(np.sum(s * w)), float(np.sum(s * c)), 0.0
    else:
        A, B, Q = float(np.sum(s**2 * w**2)), float(np.sum(s**2 * w * c)), float(np.sum(s**2 * c**2))
        q = np.sqrt(Q)
        p = B / q if q > 0 else np.sqrt(A)
        r = np.sqrt(max(A - p**2, 0.0)) if q > 0 else 0.0
    k = np.sqrt(tau / 2)
    return {
        "tau_mem": tau * second,
        "g_mean": tau * float(np.sum(c * mu)),
        "I_mean": tau * float(np.sum(w * mu)) * volt,
        "noise_sigma": k * p * volt,
        "noise_gate": k * q,
        "noise_indep": k * r * volt,
    }


def stack_parameters(sets: list[dict]) -> dict:
    """Parameter dicts of several sets as one dict of per-set arrays, for :func:`monte_carlo`.

    Parameters
    ----------
    sets : list of dict
        One dict per set (e.g. from :func:`diffusion_parameters`), with the same keys.

    Returns
    -------
    dict
        Name -> array of one value per set (a Quantity where the values have units).
    """
    out = {}
    for k in sets[0]:
        if isinstance(sets[0][k], Quantity) and sets[0][k].dim is not Quantity(1.0).dim:
            out[k] = Quantity(np.array([float(d[k]) for d in sets]), dim=sets[0][k].dim)
        else:
            out[k] = np.array([float(d[k]) for d in sets])
    return out


def discrete_variance_dgn_diffusion(tau_mem, g_mean, I_mean, noise_sigma, noise_gate, noise_indep, dt) -> Quantity:
    """Exact stationary variance of the Euler-Maruyama scheme that Brian2 runs for ``dgn_diffusion``.

    Second-moment recursion of the linear update, clipping ignored. Compare with
    :func:`linear_noise_dgn` (continuous time): the difference is the O(dt) discretisation
    bias, about ``G0 dt / 2`` relative. Arrays broadcast.

    Parameters
    ----------
    tau_mem : Quantity (time)
        Membrane time constant.
    g_mean : float or array_like
        Mean gate (dimensionless).
    I_mean : Quantity (volt)
        Mean drive.
    noise_sigma : Quantity (volt)
        Additive noise term ``p``.
    noise_gate : float or array_like
        Gate noise term ``q`` (dimensionless).
    noise_indep : Quantity (volt)
        Independent noise term ``r``.
    dt : Quantity (time)
        Time step.

    Returns
    -------
    Quantity (volt**2)
        The stationary variance.
    """
    tau = magnitude(require_quantity("tau_mem", tau_mem, second, "ms"), second)
    h = float(magnitude(require_quantity("dt", dt, second, "ms"), second))
    G0 = (1 + np.asarray(g_mean, dtype=float)) / tau
    b = magnitude(require_quantity("I_mean", I_mean, volt, "mV"), volt) / tau
    k2 = 2 / tau
    p, q = magnitude(noise_sigma, volt), np.asarray(noise_gate, dtype=float)
    r = magnitude(noise_indep, volt)
    P2, PQ, Q2, R2 = k2 * p**2, k2 * p * q, k2 * q**2, k2 * r**2
    m1 = b / G0
    rho = 1 - G0 * h
    m2 = (2 * rho * b * h * m1 + (b * h) ** 2 + h * (P2 + R2 - 2 * PQ * m1)) / (1 - rho**2 - Q2 * h)
    return (m2 - m1**2) * volt**2


def discrete_variance_lif(noise_sigma, tau_mem, dt) -> Quantity:
    """Exact stationary variance of the exponential-Euler LIF step Brian2 runs for ``lif``.

    It is ``noise_sigma^2 (2/h) tanh(h/2)``, ``h = dt/tau_mem`` (continuous value: ``noise_sigma^2``).

    Parameters
    ----------
    noise_sigma : Quantity (volt)
        Stationary std of the continuous model.
    tau_mem : Quantity (time)
        Membrane time constant.
    dt : Quantity (time)
        Time step.

    Returns
    -------
    Quantity (volt**2)
        The stationary variance.
    """
    s = magnitude(require_quantity("noise_sigma", noise_sigma, volt, "mV"), volt)
    h = magnitude(require_quantity("dt", dt, second, "ms"), second) / magnitude(
        require_quantity("tau_mem", tau_mem, second, "ms"), second
    )
    return s**2 * (2 / h) * np.tanh(h / 2) * volt**2


# ------------------------------------------------------------------------ statistics
@dataclass(frozen=True)
class TrialStatistics:
    """Per-set estimates from K independent trials (arrays of length S; volts).

    Intervals from the spread across trials (normal interval of the per-trial averages).

    Parameters
    ----------
    mean : ndarray (volt)
        Stationary mean.
    mean_ci : ndarray (volt)
        Its (S, 2) interval at ``level``.
    variance : ndarray (volt**2)
        Stationary variance.
    variance_ci : ndarray (volt**2)
        Its (S, 2) interval.
    msd : ndarray (volt**2)
        ``E[(v - v*)^2]``, v* the reference (e.g. the noise-free trajectory).
    msd_ci : ndarray (volt**2)
        Its (S, 2) interval.
    level : float
        Level of the intervals.
    trials : int
        Trials K.
    samples_per_trial : int
        Samples T per trial.
    """

    mean: np.ndarray
    mean_ci: np.ndarray
    variance: np.ndarray
    variance_ci: np.ndarray
    msd: np.ndarray
    msd_ci: np.ndarray
    level: float
    trials: int
    samples_per_trial: int


def trial_statistics(v: np.ndarray, reference: np.ndarray | None = None, level: float = 0.99) -> TrialStatistics:
    """Estimates and intervals from samples ``v`` of shape (S sets, K trials, T times).

    Each trial's T samples are averaged first (``(v - mean_t)^2`` averaged over t), so the K
    per-trial numbers are independent and their spread gives a valid interval whatever the
    correlation between one trial's samples; well-separated samples only make it narrower.

    Parameters
    ----------
    v : numpy.ndarray
        Samples (sets, trials, times).
    reference : numpy.ndarray, optional
        (S, T) values v* for ``E[(v - v*)^2]`` (default: the across-trial mean).
    level : float
        Level of the intervals, in (0, 1).

    Returns
    -------
    TrialStatistics
        Means, variances, mean squared deviations and their intervals.
    """
    v = np.asarray(v, dtype=float)
    if v.ndim != 3:
        raise ValueError(f"v: expected shape (sets, trials, times), got {v.shape}")
    _S, K, T = v.shape
    if K < 2:
        raise ValueError(f"trials: at least 2 independent trials are needed for an interval, got {K}")
    if not 0 < level < 1:
        raise ValueError(f"level: a probability in (0, 1), got {level!r}")
    z = stats.norm.ppf(0.5 + level / 2)
    m_t = v.mean(axis=1, keepdims=True)  # (S, 1, T): across-trial mean at each time
    x = v.mean(axis=2)  # per-trial time average
    y = ((v - m_t) ** 2).mean(axis=2) * K / (K - 1)  # unbiased per-trial squared deviations
    ref = m_t if reference is None else np.asarray(reference, dtype=float)[:, None, :]
    d = ((v - ref) ** 2).mean(axis=2)

    def est(a):
        m = a.mean(axis=1)
        se = a.std(axis=1, ddof=1) / np.sqrt(K)
        return m, np.stack([m - z * se, m + z * se], axis=1)

    mean, mean_ci = est(x)
    var, var_ci = est(y)
    msd, msd_ci = est(d)
    return TrialStatistics(mean, mean_ci, var, var_ci, msd, msd_ci, level, K, T)


def autocorrelation_time(v: np.ndarray, times) -> float:
    """Autocorrelation time of a stationary process from K trials sampled at ``times``.

    Fits ``corr(v(t_i), v(t_j)) = exp(-abs(t_i - t_j)/tau)`` by least squares on
    log-correlations across trials (pairs with corr > 0.05).

    Parameters
    ----------
    v : numpy.ndarray
        Samples (K trials, T times).
    times : Quantity (time)
        The T sample times.

    Returns
    -------
    float
        The time constant (s).
    """
    v = np.asarray(v, dtype=float)
    t = magnitude(require_quantity("times", times, second, "ms"), second)
    if v.ndim != 2 or v.shape[1] != len(t) or v.shape[0] < 2:
        raise ValueError("v: expected (trials >= 2, len(times)) samples")
    c = np.corrcoef(v.T)
    lags, logs = [], []
    for i in range(len(t)):
        for j in range(i + 1, len(t)):
            if c[i, j] > 0.05:
                lags.append(abs(t[j] - t[i]))
                logs.append(np.log(c[i, j]))
    if not lags:
        raise ValueError("no positive correlation between the sample times: sample more densely")
    lags, logs = np.array(lags), np.array(logs)
    return float(-np.sum(lags * lags) / np.sum(lags * logs))


# ----------------------------------------------------------------------- Monte-Carlo
@dataclass(frozen=True)
class MonteCarlo:
    """Monte-Carlo result for S parameter sets of one model (see :func:`monte_carlo`).

    Parameters
    ----------
    model : str
        The model's name.
    device : str
        The Brian2 device it ran on.
    dt : float (s)
        The time step.
    stats : TrialStatistics
        Statistics of v - v_rest (volts).
    v_star : ndarray (volt)
        (S, T) the noise-free reference trajectory at the sample times, from rest.
    samples : ndarray (volt)
        (S, K, T) raw samples, from rest.
    sample_times : ndarray (s)
        The sample times.
    gate_min : ndarray or None
        Smallest gate g seen per set (models with a gate).
    spiking_trials : ndarray
        Per set, trials that crossed the threshold.
    neuron_steps : int
        Neurons times steps simulated.
    timings : dict
        Seconds: ``build_s`` and ``run_s`` (summed over the runs), ``total_s`` (wall), and ``runs``.
    """

    model: str
    device: str
    dt: float
    stats: TrialStatistics
    v_star: np.ndarray
    samples: np.ndarray
    sample_times: np.ndarray
    gate_min: np.ndarray | None
    spiking_trials: np.ndarray
    neuron_steps: int
    timings: dict = field(default_factory=dict)


def _check_leak_step(model: NeuronModel, values: dict, dt: Quantity) -> None:
    """Refuse a dt too coarse for the effective leak (1 + g)/tau_mem."""
    if "tau_mem" not in model.parameters:
        return
    tau = magnitude(values.get("tau_mem", model.parameters["tau_mem"].default), second)
    g = np.asarray(values.get("g_mean", 0.0), dtype=float)
    if np.any(1 + g <= 0):
        raise ValueError("g_mean: the effective leak (1 + g_mean)/tau_mem must be positive")
    step = float(np.max((1 + g) / tau) * float(dt))
    if step > MAX_LEAK_STEP:
        raise ValueError(
            f"dt={dt!r} is too coarse for the effective leak: G0*dt = {step:.3g} > "
            f"{MAX_LEAK_STEP} (use dt <= {MAX_LEAK_STEP / step * float(dt / ms):.3g} ms)"
        )


def monte_carlo(
    model,
    params: dict,
    trials: int,
    *,
    burn_in: Quantity = 100 * ms,
    spacing: Quantity = 40 * ms,
    samples: int = 4,
    dt: Quantity = 0.1 * ms,
    device: str = "numpy",
    seed: int = 0,
    level: float = 0.99,
    initial_v=None,
    initial: dict | None = None,
    drive: dict | None = None,
    gate_trials: int = 20,
    chunk: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
) -> MonteCarlo:
    """Estimate the stationary mean, variance and ``E[(v - v*)^2]`` of ``model`` under noise.

    Each set gets ``trials`` noisy trials plus one noise-free reference trial (v*), all
    neurons of one group, so one build serves every set; per-neuron parameter values go in as
    run arguments, so a standalone binary is reused for any values with the same shapes. v is
    sampled at ``samples`` times ``burn_in + k*spacing`` (choose ``spacing`` a few correlation
    times, ``burn_in`` several). The sets can be split into runs of ``chunk`` sets, which go to
    Dask workers with ``workers``, ``scheduler`` or ``client``: run ``k`` (its first set
    ``first``) draws its noise from :func:`chunk_seed` ``(seed, first)``, so the results depend
    on ``seed`` and ``chunk``, never on where the runs go, and one run of every set (the default)
    is the unchunked Monte-Carlo.

    Parameters
    ----------
    model : str or NeuronModel
        The model.
    params : dict
        Model parameters, each one value or one per parameter set (S values); ``noise_sigma``
        must be given (it switches the white noise on). The threshold is as given (put it far
        away to stay subthreshold; trials that cross it are counted).
    trials : int
        Independent noisy trials per set (at least 2).
    burn_in : Quantity (time)
        Time before the first sample (a multiple of ``dt``).
    spacing : Quantity (time)
        Time between samples (a multiple of ``dt``).
    samples : int
        Samples per trial.
    dt : Quantity (time)
        Time step.
    device : str
        Brian2 device.
    seed : int
        Seed of the noise.
    level : float
        Level of the intervals (:func:`trial_statistics`).
    initial_v : Quantity (volt), optional
        Starting v (from rest), one or S values, e.g. the steady state.
    initial : dict, optional
        Other state variables' starting values ``{name: one or S values}`` (e.g. a gate g and
        current I that stay constant when ``tau_syn`` is very long: a constant gate).
    drive : dict, optional
        Frozen Poisson input shared by every trial and run, ``{"rate": Hz, "sources": n,
        "seed": s, **synapse weights}`` (a time-varying gate for dgn/sdgn; ``seed`` defaults to ``seed``).
    gate_trials : int
        Trials per set whose gate is recorded at every step (for ``gate_min``).
    chunk : int, optional
        Parameter sets per run (default: all in one run).
    workers : int, optional
        Run the runs on an embedded Dask LocalCluster of this many processes (needs ``chunk``).
    scheduler : str, optional
        Run them on the Dask scheduler at this address (needs ``chunk``).
    client : dask.distributed.Client, optional
        Run them on this client's cluster (needs ``chunk``).

    Returns
    -------
    MonteCarlo
        Samples, statistics, gate minima, spiking trials, timings.

    Raises
    ------
    ValueError
        Naming the bad argument (also ``chunk`` when a cluster is given without it).
    """
    model = model if isinstance(model, NeuronModel) else load_model(model)
    if not isinstance(trials, (int, np.integer)) or trials < 2:
        raise ValueError(f"trials: at least 2 independent trials are needed, got {trials!r}")
    if not isinstance(samples, (int, np.integer)) or samples < 1:
        raise ValueError(f"samples: a positive integer, got {samples!r}")
    if "noise_sigma" not in params:
        raise ValueError("params: give noise_sigma (the white-noise amplitude)")
    dt = require_quantity("dt", dt, second, "ms")
    burn_in = require_quantity("burn_in", burn_in, second, "ms")
    spacing = require_quantity("spacing", spacing, second, "ms")
    if float(burn_in) < 0 or float(spacing) <= 0:
        raise ValueError("burn_in must not be negative and spacing must be positive")
    n_spacing = int(round(float(spacing / dt)))
    n_burn = int(round(float(burn_in / dt)))
    if abs(n_spacing * float(dt) - float(spacing)) > 1e-9 or abs(n_burn * float(dt) - float(burn_in)) > 1e-9:
        raise ValueError("burn_in and spacing must be whole multiples of dt")
    # lengths: S sets
    S = 1
    for name, value in params.items():
        if np.ndim(value) == 1:
            if S not in (1, len(value)):
                raise ValueError(f"{name}: {len(value)} values, but another parameter has {S}")
            S = len(value)
    checked = {}
    for name, value in params.items():
        if name not in model.parameters:
            raise ValueError(f"model {model.name!r} has no parameter {name!r}")
        p = model.parameters[name]
        q = require_quantity(name, value, p.unit, p.unit_text)
        if p.positive and np.any(np.asarray(q) <= 0):
            raise ValueError(f"{name}: must be positive, got {value!r}")
        if name == "noise_sigma" and model.name != "dgn_diffusion" and np.any(np.asarray(q) < 0):
            raise ValueError(f"noise_sigma: must not be negative, got {value!r}")
        if name in ("noise_indep",) and np.any(np.asarray(q) < 0):
            raise ValueError(f"{name}: must not be negative, got {value!r}")
        checked[name] = q
    _check_leak_step(model, checked, dt)
    noise_names = [n for n in ("noise_sigma", "noise_gate", "noise_indep") if n in model.parameters]
    if "noise_sigma" in checked and model.name != "dgn_diffusion" and np.any(np.asarray(checked["noise_sigma"]) < 0):
        raise ValueError("noise_sigma: must not be negative")
    if initial_v is not None:
        initial_v = magnitude(require_quantity("initial_v", initial_v, volt, "mV"), volt) * np.ones(S)
    initial = dict(initial or {})
    for var, value in initial.items():
        if var not in model.state_variables or var == "v":
            raise ValueError(f"initial: {var!r} is not a state variable of {model.name} other than v")
        initial[var] = (value if isinstance(value, Quantity) else np.asarray(value, dtype=float)) * np.ones(S)
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1):
        raise ValueError(f"chunk: a positive number of parameter sets per run, got {chunk!r}")
    if cluster_options(workers, scheduler, client) and chunk is None:
        raise ValueError(
            "chunk: give the number of parameter sets per run to spread the Monte-Carlo over workers "
            "(the results depend on seed and chunk, never on where the runs go)"
        )
    first = int(np.ceil(n_burn / n_spacing))  # the monitor samples at multiples of spacing
    duration = (first + samples - 1) * spacing + dt
    if drive is not None:
        drive = dict(drive)
        drive.setdefault("seed", seed)  # one frozen drive for every set and every chunk
    common = {
        "model": model,
        "checked": checked,
        "trials": trials,
        "noise_names": noise_names,
        "initial_v": initial_v,
        "initial": initial,
        "drive": drive,
        "dt": dt,
        "spacing": spacing,
        "first": first,
        "duration": duration,
        "device": device,
        "seed": seed,
        "gate_trials": gate_trials,
    }
    start = time.perf_counter()
    runs = map_points(
        partial(_mc_batch, common),
        list(range(S)),
        batch=None if chunk is None else int(chunk),
        workers=workers,
        scheduler=scheduler,
        client=client,
        name=f"dgnsim-mc-{model.name}",
    )
    timings = {
        "build_s": sum(r["build_s"] for r in runs),
        "run_s": sum(r["run_s"] for r in runs),
        "runs": len({r["seed"] for r in runs}),
        "total_s": time.perf_counter() - start,
    }
    v = np.array([r["v"] for r in runs])
    t = runs[0]["t"]
    gate_min = np.array([r["gate_min"] for r in runs]) if runs[0]["gate_min"] is not None else None
    spiking = np.array([r["spiking"] for r in runs], dtype=int)
    N = S * (trials + 1)
    st = trial_statistics(v[:, 1:, :], reference=v[:, 0, :], level=level)
    return MonteCarlo(
        model=model.name,
        device=device,
        dt=float(dt),
        stats=st,
        v_star=v[:, 0, :],
        samples=v[:, 1:, :],
        sample_times=t,
        gate_min=gate_min,
        spiking_trials=spiking,
        neuron_steps=int(N * round(float(duration / dt))),
        timings=timings,
    )


# ------------------------------------------------------------------- theorem check
#: Regimes of :func:`draw_parameter_sets`: "weak" is the stated regime of the check
#: (subthreshold, weak noise); the others leave it on purpose.
REGIMES = ("weak", "strong_noise", "weak_gate", "near_threshold")
THRESHOLD_DISTANCE = 15 * mV  # v_th - v_rest of the models


def draw_parameter_sets(n: int, seed: int, regime: str = "weak", noise: str = "shared") -> list[dict]:
    """``n`` random input configurations ``{mu, sigma, W, C, g_l}`` (quantities) in ``regime``.

    - weak: 2-5 inputs, tau = 1/g_l in [10, 30] ms, mu_i in [0.2, 2], ``abs(w_i) = abs(W_i) tau``
      in [0.5, 4] mV, c_i = C_i tau in [0, 1] with the sign of W_i for 80 % of inputs (never
      letting G0 < g_l/2), sigma_i in [0.05, 0.4] sqrt(ms): the gate-noise ratio q^2/(2 G0)
      stays below about 1 % and ``abs(V_ss)`` + 6 std below the threshold distance.
    - strong_noise: sigma_i 10-30 times larger (q^2/(2 G0) of order 0.1-1).
    - weak_gate: the gate's mean cancels most of the leak (G0 down to 0.1 g_l, tau up to
      30 ms), so the gate noise dominates the leak.
    - near_threshold: V_ss 0.5-2 std below the threshold distance (the real threshold then
      resets some trials).

    Parameters
    ----------
    n : int
        Parameter sets.
    seed : int
        Seed of the draw.
    regime : str
        One of :data:`REGIMES`.
    noise : str
        ``"shared"`` or ``"independent"``: the convention the std checks use.

    Returns
    -------
    list of dict
        The sets, as keyword arguments of :func:`linear_noise_dgn`.
    """
    if regime not in REGIMES:
        raise ValueError(f"regime: one of {REGIMES}, not {regime!r}")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"samples: a positive integer, got {n!r}")
    rng = np.random.default_rng(seed)
    sets = []
    while len(sets) < n:
        m = int(rng.integers(2, 6))
        tau = rng.uniform(10, 30)  # ms
        mu = rng.uniform(0.2, 2.0, m)
        w = rng.uniform(0.5, 4.0, m) * rng.choice([-1, 1], m, p=[0.3, 0.7])
        c = rng.uniform(0.0, 1.0, m) * np.where(rng.random(m) < 0.8, np.sign(w), -np.sign(w))
        sig = rng.uniform(0.05, 0.4, m)
        if regime == "strong_noise":
            sig = sig * rng.uniform(10, 30)
        if regime == "weak_gate":
            target = rng.uniform(-0.9, -0.6)  # sum c_i mu_i: G0 = (1 + target)/tau
            c = c - (np.sum(c * mu) - target) / (m * mu)
        W, C = w / tau, c / tau  # mV/ms, 1/ms
        G0 = 1 / tau + np.sum(C * mu)
        if (0.05 if regime == "weak_gate" else 0.5) / tau > G0:
            continue
        v_ss = np.sum(W * mu) / G0
        a2 = np.sum(sig * (W - C * v_ss)) ** 2 if noise == "shared" else np.sum(sig**2 * (W - C * v_ss) ** 2)
        std = np.sqrt(a2 / (2 * G0))
        if std < 0.05:
            continue
        if regime == "near_threshold":
            # shift the means so V_ss sits 0.5-2 std below the threshold distance
            goal = 15.0 - rng.uniform(0.5, 2.0) * std
            if v_ss <= 0:
                continue
            mu = mu * goal / v_ss
            G0 = 1 / tau + np.sum(C * mu)
            if 0.5 / tau > G0:
                continue
            v_ss = np.sum(W * mu) / G0
        elif abs(v_ss) + 6 * std > 15.0:
            continue
        sets.append({"mu": mu, "sigma": sig * ms**0.5, "W": W * mV / ms, "C": C / ms, "g_l": 1 / (tau * ms)})
    return sets


@dataclass(frozen=True)
class CheckRow:
    """One parameter set of the check: analytic values, estimate, interval, verdict.

    Parameters
    ----------
    index : int
        The set.
    model : str
        ``lif`` or ``dgn``.
    v_ss_mv : float (mV)
        Steady state, from rest.
    analytic_var : float (mV**2)
        Linear-noise (continuous) variance.
    analytic_ito_var : float (mV**2)
        Exact Ito variance.
    discrete_var : float (mV**2)
        Exact variance of the discrete scheme.
    estimate_var : float (mV**2)
        Monte-Carlo estimate.
    ci_low : float (mV**2)
        Lower end of its interval.
    ci_high : float (mV**2)
        Upper end.
    passed : bool
        The analytic variance lies in the interval.
    rel_error : float
        (estimate - analytic)/analytic.
    weak_noise : float
        q^2/(2 G0).
    estimate_mean_mv : float (mV)
        Estimated mean, from rest.
    mean_ci : tuple (mV)
        Its interval.
    spiking_trials : int
        Trials that crossed the threshold.
    """

    index: int
    model: str
    v_ss_mv: float
    analytic_var: float
    analytic_ito_var: float
    discrete_var: float
    estimate_var: float
    ci_low: float
    ci_high: float
    passed: bool
    rel_error: float
    weak_noise: float
    estimate_mean_mv: float
    mean_ci: tuple
    spiking_trials: int


@dataclass(frozen=True)
class CheckReport:
    """The check's rows per model and its summary (fraction passed per model).

    Parameters
    ----------
    regime : str
        The regime of the drawn sets.
    noise : str
        The noise convention.
    seed : int
        The seed.
    trials : int
        Trials per set.
    level : float
        Level of the intervals.
    dt_ms : float (ms)
        The time step used.
    device : str
        The Brian2 device.
    rows : list of CheckRow
        One row per set and model.
    summary : dict
        Per model: sets, passed, fraction, errors, sets with spikes.
    timings : dict
        Per model: seconds and neuron steps per second.
    """

    regime: str
    noise: str
    seed: int
    trials: int
    level: float
    dt_ms: float
    device: str
    rows: list
    summary: dict
    timings: dict


def _rows(model, lna, disc, mc, offset=0):
    st = mc.stats
    rows = []
    for s, ln in enumerate(lna):
        a = float(ln.variance / mV**2)
        est, lo, hi = st.variance[s] * 1e6, st.variance_ci[s, 0] * 1e6, st.variance_ci[s, 1] * 1e6
        rows.append(
            CheckRow(
                index=s + offset,
                model=model,
                v_ss_mv=float(ln.v_ss / mV),
                analytic_var=a,
                analytic_ito_var=float(ln.variance_ito / mV**2),
                discrete_var=float(disc[s]),
                estimate_var=est,
                ci_low=lo,
                ci_high=hi,
                passed=bool(lo <= a <= hi),
                rel_error=(est - a) / a,
                weak_noise=ln.weak_noise,
                estimate_mean_mv=st.mean[s] * 1e3,
                mean_ci=(st.mean_ci[s, 0] * 1e3, st.mean_ci[s, 1] * 1e3),
                spiking_trials=int(mc.spiking_trials[s]),
            )
        )
    return rows


def check(
    samples: int = 200,
    seed: int = 0,
    *,
    regime: str = "weak",
    noise: str = "shared",
    trials: int = 2000,
    dt: Quantity = 0.05 * ms,
    device: str = "cpp_standalone",
    level: float = 0.99,
    models=("lif", "dgn"),
    chunk: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
) -> CheckReport:
    """Check paper A's stationary variances against Brian2 Monte-Carlo estimates.

    Draws ``samples`` parameter sets (:func:`draw_parameter_sets`) and for each model in
    ``models`` runs all sets as one group of samples*(trials+1) neurons (one build; or runs of
    ``chunk`` sets, here or on Dask workers): "dgn" simulates ``equations/dgn_diffusion.toml``
    (multiplicative gate noise, Ito) and compares with :func:`linear_noise_dgn`; "lif" simulates
    ``equations/lif.toml`` with the same W_i, sigma_i (additive noise) and compares with
    :func:`linear_noise_lif`. A set passes when the analytic (continuous-time) variance lies in
    the ``level`` interval of the estimate. ``dt`` is lowered (to a multiple of 0.01 ms) where a
    drawn set's effective leak needs it (G0 dt <= 0.05); the report gives the dt used. The
    threshold is 15 mV above rest for "near_threshold", else 1 V away.

    Parameters
    ----------
    samples : int
        Parameter sets.
    seed : int
        Seed of the draw (and, shifted, of the noise).
    regime : str
        One of :data:`REGIMES`.
    noise : str
        ``"shared"`` or ``"independent"``.
    trials : int
        Trials per set.
    dt : Quantity (time)
        Largest time step.
    device : str
        Brian2 device.
    level : float
        Level of the intervals.
    models : tuple of str
        ``"lif"`` and/or ``"dgn"``.
    chunk : int, optional
        Parameter sets per Monte-Carlo run (default: all in one run; see :func:`monte_carlo`).
    workers : int, optional
        Run the runs on an embedded Dask LocalCluster of this many processes (needs ``chunk``).
    scheduler : str, optional
        Run them on the Dask scheduler at this address (needs ``chunk``).
    client : dask.distributed.Client, optional
        Run them on this client's cluster (needs ``chunk``).

    Returns
    -------
    CheckReport
        Rows, summary and timings.
    """
    dt = require_quantity("dt", dt, second, "ms")
    where = {"chunk": chunk, "workers": workers, "scheduler": scheduler, "client": client}
    sets = draw_parameter_sets(samples, seed, regime, noise)
    th = (THRESHOLD_DISTANCE if regime == "near_threshold" else 1000 * mV) - 65 * mV
    rows, timings = [], {}
    tau_max = max(float(1 / (s["g_l"] + np.sum(s["C"] * s["mu"]))) for s in sets)
    tau_min = min(float(1 / (s["g_l"] + np.sum(s["C"] * s["mu"]))) for s in sets)
    if float(dt) > 0.05 * tau_min:  # keep G0*dt <= 0.05 (bias <= 2.5 %) for every drawn set
        dt = np.floor(0.05 * tau_min / 1e-5) * 1e-5 * second
    # v starts at V_ss, so the burn-in only lets the variance settle (rate 2 G0): after
    # 4 tau_max it is within e^-8 of its limit; samples one tau_max apart (correlation of
    # v e^-1, of (v - m)^2 e^-2) are averaged per trial before the interval is formed.
    spacing = np.ceil(tau_max / float(dt)) * dt
    burn_in = 4 * spacing
    for name in models:
        if name == "dgn":
            lna = [linear_noise_dgn(**s, noise=noise) for s in sets]
            dp = [diffusion_parameters(**s, noise=noise) for s in sets]
            params = stack_parameters(dp)
            params["v_th"] = th
            disc = np.asarray(
                discrete_variance_dgn_diffusion(
                    params["tau_mem"],
                    params["g_mean"],
                    params["I_mean"],
                    params["noise_sigma"],
                    params["noise_gate"],
                    params["noise_indep"],
                    dt,
                )
                / mV**2
            )
            v0 = Quantity([float(ln.v_ss) for ln in lna], dim=volt.dim)
            mc = monte_carlo(
                "dgn_diffusion",
                params,
                trials,
                burn_in=burn_in,
                spacing=spacing,
                dt=dt,
                device=device,
                seed=seed + 1,
                level=level,
                initial_v=v0,
                **where,
            )
        elif name == "lif":
            lna = [linear_noise_lif(s["mu"], s["sigma"], s["W"], s["g_l"], noise=noise) for s in sets]
            tau = Quantity([float(1 / s["g_l"]) for s in sets], dim=second.dim)
            sig = Quantity([float(ln.std) for ln in lna], dim=volt.dim)
            v0 = Quantity([float(ln.v_ss) for ln in lna], dim=volt.dim)
            params = {"tau_mem": tau, "I_ext": v0, "noise_sigma": sig, "v_th": th * np.ones(len(sets))}
            disc = np.asarray(discrete_variance_lif(sig, tau, dt) / mV**2)
            mc = monte_carlo(
                "lif",
                params,
                trials,
                burn_in=burn_in,
                spacing=spacing,
                dt=dt,
                device=device,
                seed=seed + 2,
                level=level,
                initial_v=v0,
                **where,
            )
        else:
            raise ValueError(f"models: 'lif' or 'dgn', not {name!r}")
        rows += _rows(name, lna, disc, mc)
        timings[name] = {
            **mc.timings,
            "neuron_steps": mc.neuron_steps,
            "neuron_steps_per_s": mc.neuron_steps / mc.timings["run_s"],
        }
    summary = {}
    for name in models:
        r = [x for x in rows if x.model == name]
        summary[name] = {
            "sets": len(r),
            "passed": sum(x.passed for x in r),
            "fraction": sum(x.passed for x in r) / len(r),
            "median_abs_rel_error": float(np.median([abs(x.rel_error) for x in r])),
            "max_abs_rel_error": float(np.max([abs(x.rel_error) for x in r])),
            "sets_with_spikes": sum(x.spiking_trials > 0 for x in r),
        }
    return CheckReport(
        regime=regime,
        noise=noise,
        seed=seed,
        trials=trials,
        level=level,
        dt_ms=float(dt / ms),
        device=device,
        rows=rows,
        summary=summary,
        timings=timings,
    )


# ----------------------------------------------------- the seed's bound, dgn_activity
@dataclass(frozen=True)
class BoundRow:
    """One dgn_activity set: ``E[(v - v*)^2]`` with its interval, and the seed's bound.

    A bound is violated when the interval's lower end lies above it.

    Parameters
    ----------
    index : int
        The set.
    msd : float (mV**2)
        Estimated ``E[(v - v*)^2]``.
    ci_low : float (mV**2)
        Lower end of its interval.
    ci_high : float (mV**2)
        Upper end.
    gate_min : float
        Smallest gate seen.
    bound_seed : float (mV**2)
        The seed's bound with the smallest gate, noise_sigma^2/(1 + g_min).
    bound_leak : float (mV**2)
        The bound with the leak alone, noise_sigma^2.
    margin_seed : float
        bound_seed/estimate - 1.
    margin_leak : float
        bound_leak/estimate - 1.
    holds_seed : bool
        The seed's bound is not rejected.
    holds_leak : bool
        The leak-only bound is not rejected.
    v_star_mv : float (mV)
        Mean of the noise-free trajectory, from rest.
    """

    index: int
    msd: float
    ci_low: float
    ci_high: float
    gate_min: float
    bound_seed: float
    bound_leak: float
    margin_seed: float
    margin_leak: float
    holds_seed: bool
    holds_leak: bool
    v_star_mv: float


def _activity_fixed_point(I0, alpha, beta, gamma):
    """Noise-free steady state (V from rest, mV; gate) of dgn_activity with constant I (mV)."""
    v = np.array(I0, dtype=float)
    for _ in range(200):  # damped fixed-point iteration
        g = alpha * np.clip(np.tanh(beta * v - gamma), 0, 1)
        v = 0.5 * v + 0.5 * I0 / (1 + g)
    return v, alpha * np.clip(np.tanh(beta * v - gamma), 0, 1)


def check_bound(
    samples: int = 200,
    seed: int = 0,
    *,
    trials: int = 2000,
    dt: Quantity = 0.1 * ms,
    device: str = "cpp_standalone",
    level: float = 0.99,
    chunk: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
) -> tuple[list, dict]:
    """The seed's bound ``E[(v - v*)^2] <= sigma^2/(2 lambda_eff)`` for the activity-gated DGN.

    Draws ``samples`` sets of ``dgn_activity`` (tau_mem 10-30 ms, tau_g 50-150 ms, alpha 0.5-2,
    beta 0.2-1 /mV, gamma 0-1, a constant synaptic input I 4-12 mV held by tau_syn = 10^4 s,
    noise_sigma 0.3-1.5 mV, threshold 1 V away), starts each at its noise-free fixed point v*,
    and compares ``E[(v - v*)^2]`` with the bound for lambda_eff = (1 + g_min)/tau_mem (the seed)
    and lambda_eff = 1/tau_mem (the leak alone: in this divisive form the gate scales the
    input, it adds no leak).

    Parameters
    ----------
    samples : int
        Parameter sets.
    seed : int
        Seed of the draw (and, shifted, of the noise).
    trials : int
        Trials per set.
    dt : Quantity (time)
        Time step.
    device : str
        Brian2 device.
    level : float
        Level of the intervals.
    chunk : int, optional
        Parameter sets per Monte-Carlo run (default: all in one run; see :func:`monte_carlo`).
    workers : int, optional
        Run the runs on an embedded Dask LocalCluster of this many processes (needs ``chunk``).
    scheduler : str, optional
        Run them on the Dask scheduler at this address (needs ``chunk``).
    client : dask.distributed.Client, optional
        Run them on this client's cluster (needs ``chunk``).

    Returns
    -------
    tuple of (list of BoundRow, dict)
        The rows and a summary (bounds held, margins, timings).
    """
    dt = require_quantity("dt", dt, second, "ms")
    rng = np.random.default_rng(seed)
    n = samples
    tau_m, tau_g = rng.uniform(10, 30, n), rng.uniform(50, 150, n)
    alpha, beta, gamma = rng.uniform(0.5, 2, n), rng.uniform(0.2, 1, n), rng.uniform(0, 1, n)
    I0, sig = rng.uniform(4, 12, n), rng.uniform(0.3, 1.5, n)
    v0, g0 = _activity_fixed_point(I0, alpha, beta, gamma)
    params = {
        "tau_mem": tau_m * ms,
        "tau_g": tau_g * ms,
        "alpha": alpha,
        "beta": beta / mV,
        "gamma": gamma,
        "noise_sigma": sig * mV,
        "tau_syn": 1e4 * second,
        "v_th": 1 * volt,
    }
    mc = monte_carlo(
        "dgn_activity",
        params,
        trials,
        burn_in=400 * ms,
        spacing=50 * ms,
        dt=dt,
        device=device,
        seed=seed + 3,
        level=level,
        initial_v=v0 * mV,
        initial={"I": I0 * mV, "g": g0},
        chunk=chunk,
        workers=workers,
        scheduler=scheduler,
        client=client,
    )
    st = mc.stats
    rows = []
    for s in range(n):
        msd, lo, hi = st.msd[s] * 1e6, st.msd_ci[s, 0] * 1e6, st.msd_ci[s, 1] * 1e6
        b_seed = sig[s] ** 2 / (1 + mc.gate_min[s])
        b_leak = sig[s] ** 2
        rows.append(
            BoundRow(
                index=s,
                msd=msd,
                ci_low=lo,
                ci_high=hi,
                gate_min=float(mc.gate_min[s]),
                bound_seed=b_seed,
                bound_leak=b_leak,
                margin_seed=b_seed / msd - 1,
                margin_leak=b_leak / msd - 1,
                holds_seed=bool(lo <= b_seed),
                holds_leak=bool(lo <= b_leak),
                v_star_mv=float(mc.v_star[s].mean() * 1e3),
            )
        )
    summary = {
        "sets": n,
        "holds_seed": sum(r.holds_seed for r in rows),
        "holds_leak": sum(r.holds_leak for r in rows),
        "min_margin_seed": min(r.margin_seed for r in rows),
        "min_margin_leak": min(r.margin_leak for r in rows),
        "median_margin_leak": float(np.median([r.margin_leak for r in rows])),
        "timings": {
            **mc.timings,
            "neuron_steps": mc.neuron_steps,
            "neuron_steps_per_s": mc.neuron_steps / mc.timings["run_s"],
        },
    }
    return rows, summary


def chunk_seed(seed: int, first: int) -> int:
    """The Brian2 seed of the run whose first parameter set is ``first``: ``seed`` itself for the
    first run (so one run of every set is the unchunked Monte-Carlo), an independent seed
    drawn from ``(seed, first)`` for the others.

    Parameters
    ----------
    seed : int
        The Monte-Carlo's seed.
    first : int
        Index of the run's first parameter set.

    Returns
    -------
    int
        A seed in ``[0, 2**31)``.
    """
    if first == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), int(first)]).generate_state(1)[0] % 2**31)


def _mc_batch(common: dict, sets: list) -> list[dict]:
    """One run of the parameter sets ``sets`` (indices, consecutive) of :func:`monte_carlo`; per set
    its samples (trials + 1, times), smallest gate and spiking trials."""
    with BRIAN2_LOCK:
        model, trials, dt, spacing = common["model"], common["trials"], common["dt"], common["spacing"]
        first, duration, seed = common["first"], common["duration"], chunk_seed(common["seed"], sets[0])
        idx = np.asarray(sets)
        S, K1 = len(sets), trials + 1  # trial 0 of each set: the noise-free reference
        N = S * K1
        checked = {n: (v[idx] if np.ndim(v) == 1 else v) for n, v in common["checked"].items()}
        noise_names = common["noise_names"]

        def per_neuron(name, value):
            unit = model.parameters[name].unit
            arr = np.asarray(value / unit, dtype=float)
            full = np.repeat(np.broadcast_to(arr, (S,)), K1).reshape(S, K1).copy()
            if name in noise_names:
                full[:, 0] = 0.0
            return full.ravel() * unit

        varying = {n for n, v in checked.items() if np.ndim(v) == 1 or n in noise_names}
        shared_params = {n: v for n, v in checked.items() if n not in varying}
        placeholders = {
            n: np.full(N, float(model.parameters[n].default / model.parameters[n].unit)) * model.parameters[n].unit
            for n in varying
        }
        run_values = {n: per_neuron(n, checked[n]) for n in varying}
        v_rest = float(checked.get("v_rest", model.parameters["v_rest"].default) / volt)
        start = time.perf_counter()
        with Simulation(common["device"], dt=dt, seed=seed) as sim:
            group = make_group(
                model, N, {**shared_params, **placeholders}, per_neuron=tuple(varying), dt=dt, name="mc_group"
            )
            sim.add(group)
            has_gate = "g" in model.state_variables
            mon = sim.add(
                StateMonitor(group, ["v", "g"] if has_gate else "v", record=True, dt=spacing, name="mc_samples")
            )
            gate_idx = np.concatenate(
                [np.arange(s * K1, s * K1 + min(K1, common["gate_trials"] + 1)) for s in range(S)]
            )
            gmon = sim.add(StateMonitor(group, "g", record=gate_idx, name="mc_gate")) if has_gate else None
            spikes = sim.add(SpikeMonitor(group, name="mc_spikes"))
            if common["drive"] is not None:
                drive = dict(common["drive"])
                rate, n_src, dseed = drive.pop("rate"), int(drive.pop("sources")), int(drive.pop("seed"))
                src = sim.add(poisson_input(n_src, rate, duration, dseed, dt=dt, name="mc_drive"))
                ii, jj = np.meshgrid(np.arange(n_src), np.arange(N), indexing="ij")
                sim.add(connect(src, group, i=ii.ravel(), j=jj.ravel(), name="mc_drive_syn", **drive))
            sim.build(duration)
            build_s = time.perf_counter() - start
            run_args = {getattr(group, n): v for n, v in run_values.items()}
            if common["initial_v"] is not None:
                run_args[group.v] = (np.repeat(common["initial_v"][idx], K1) + v_rest) * volt
            for var, value in common["initial"].items():
                value = value[idx]
                unit = Quantity(1.0, dim=getattr(group, var).dim) if hasattr(getattr(group, var), "dim") else 1.0
                arr = np.asarray(value / unit, dtype=float) if isinstance(value, Quantity) else np.asarray(value, float)
                run_args[getattr(group, var)] = np.repeat(arr, K1) * unit
            t0 = time.perf_counter()
            sim.run(run_args=run_args)
            run_s = time.perf_counter() - t0
            t = np.asarray(mon.t / second)
            keep = t >= first * float(spacing) - 0.5 * float(dt)
            v = (np.asarray(mon.v / volt)[:, keep] - v_rest).reshape(S, K1, -1)
            gate_min = [None] * S
            if has_gate:
                g_samples = np.asarray(mon.g)[:, keep].reshape(S, K1, -1).min(axis=(1, 2))
                tg = np.asarray(gmon.t / second) >= first * float(spacing) - 0.5 * float(dt)
                g_fine = np.asarray(gmon.g)[:, tg].reshape(S, -1)
                gate_min = np.minimum(g_samples, g_fine.min(axis=1))
            spk = np.asarray(spikes.i)
            spiking = np.zeros(S, dtype=int)
            if len(spk):
                np.add.at(spiking, np.unique(spk) // K1, 1)
        return [
            {
                "v": v[s],
                "t": t[keep],
                "gate_min": gate_min[s],
                "spiking": int(spiking[s]),
                "seed": seed,
                "build_s": build_s if s == 0 else 0.0,
                "run_s": run_s if s == 0 else 0.0,
            }
            for s in range(S)
        ]
