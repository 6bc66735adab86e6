"""Paper A's claim on a trained network: does the gate suppress membrane noise?

For each hidden neuron of a trained feed-forward network (DGN or LIF), the stationary
variance that membrane noise of amplitude ``sigma`` gives its membrane, predicted and
measured:

- **operating point**: the time average, over the test samples and the analysis window,
  of the neuron's input traces (the variables its input synapses jump: ``I`` and the gate
  ``g`` of the DGN, ``I`` of the LIF), from the noiseless float64 surrogate run (which
  Brian2 reproduces spike for spike). By linearity this is the traces' response to the
  test set's mean input rates through the trained weights and conductances.
- **prediction**: the linear-noise approximation of the model's own discrete step at that
  operating point, with the traces held (the step from
  :func:`dgnsim.analysis.gating_linear.step_map`; its stationary variance ``b^2/(1 - a^2)``,
  the stability analysis's discrete formula applied to the trained parameters). For the DGN it
  is ``sigma^2 2h / (1 - (1 - h(1 + g0))^2)``,
  ``h = dt/tau_mem``; for the LIF ``sigma^2 (2/h) tanh(h/2)``, whatever its input.
- **measurement**: Brian2 with the model's noise term and the threshold lifted (no spikes,
  no resets), ``seeds`` noise seeds on the same samples; the noise-driven part of the
  membrane, ``u = v(sigma) - v(0)``, is exactly linear in the noise given the inputs, so
  its mean square over the window is the noise-induced variance. Each seed is one trial;
  the 99 % interval comes from the spread across seeds.

The gap between the two is the approximation's: the gate fluctuates with the input
(``E[1/(1+g)] > 1/(1 + E[g])``), and the window starts before the variance has settled
for the slowest neurons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from brian2 import Quantity, ms, mV, second
from scipy import stats

from dgnsim.analysis.gating import FROZEN_TAU
from dgnsim.analysis.gating_linear import step_map
from dgnsim.core.units import require_quantity
from dgnsim.interop.bridge import BridgeError, brian2_values, check_input

__all__ = ["NoiseTheory", "input_traces", "noise_theory", "operating_point", "predicted_variance", "resolved_variance"]


def _trace_time_constants(spec, traces) -> list[str]:
    """Parameters (of time dimension) in the traces' equations: made very long to hold the
    traces at the operating point. Refused if one also enters the noisy variable's equation."""
    eqs = spec.equations(noise=True)
    names = lambda var: eqs[var].identifiers  # noqa: E731
    times = {p for p, q in spec.parameters.items() if q.unit.dim == second.dim}
    held = sorted({p for var in traces for p in names(var) & times})
    shared = set(held) & names(spec.noise_variable)
    if shared:
        raise BridgeError(
            f"{spec.name}: {sorted(shared)} set the time constant of both the membrane and an "
            "input trace, so the traces cannot be held at the operating point"
        )
    return held


def input_traces(net, x: np.ndarray) -> dict[str, np.ndarray]:
    """Each input trace of the hidden layer, from the noiseless float64 surrogate run on ``x``.

    These are the values the membrane's step reads. The traces are input-driven only (a
    feed-forward layer), so spikes do not change them.

    Parameters
    ----------
    net : dgnsim.surrogate.Classifier
        A trained feed-forward network.
    x : ndarray, shape (B, T, n_in)
        Input spikes, 0/1.

    Returns
    -------
    dict of str to ndarray
        Trace name (``"I"``, ``"g"`` ...) -> its values, shape (B, T, H), in mV-ms numbers.

    Raises
    ------
    BridgeError
        For a recurrent hidden layer or bad input spikes.
    """
    import torch

    from dgnsim.surrogate import initial_state, step

    if net.hidden.recurrent:
        raise BridgeError(
            "noise theory: a recurrent hidden layer's traces depend on its own spikes; "
            "only feed-forward networks are analysed"
        )
    x = check_input(x, net.hidden.n_in)
    layer = net.double().hidden
    targets = sorted(set(layer.program.input_targets.values()))
    traces = {t: [] for t in targets}
    with torch.no_grad():
        p = layer.step_parameters(torch.float64)
        xt = torch.as_tensor(x, dtype=torch.float64).transpose(0, 1)
        drive = layer.input_drive(xt)
        state = initial_state(p, xt.shape[1], layer.n_out, torch.float64)
        for k in range(xt.shape[0]):
            _, state = step({target: d[k] for target, d in drive.items()}, state, p)
            for t in targets:
                traces[t].append(state.variables[t])
    return {t: torch.stack(v, dim=1).numpy() for t, v in traces.items()}


def operating_point(net, x: np.ndarray, window: tuple[int, int]) -> dict[str, np.ndarray]:
    """Time average of each input trace per hidden neuron over the samples and a window of steps.

    Parameters
    ----------
    net : dgnsim.surrogate.Classifier
        A trained feed-forward network.
    x : ndarray, shape (B, T, n_in)
        Input spikes, 0/1.
    window : tuple of int
        ``(first, end)``: the steps averaged over.

    Returns
    -------
    dict of str to ndarray
        Trace name -> its average per neuron, shape (H,), in mV-ms numbers (:func:`input_traces`).
    """
    first, end = window
    return {t: v[:, first:end].mean(axis=(0, 1)) for t, v in input_traces(net, x).items()}


def _si_scale(spec, name: str) -> float:
    """mV-ms number -> SI for a state variable (volt or dimensionless)."""
    return 1e-3 if spec.equations()[name].dim == mV.dim else 1.0


class _HeldStep:
    """The hidden model's step with its input traces held (their time constants made very long),
    as the slopes of the membrane's update in itself and in the noise sample."""

    def __init__(self, net, sigma: Quantity, traces):
        spec = net.hidden.spec
        others = set(spec.update_order) - {spec.noise_variable} - set(traces)
        if others:
            raise BridgeError(
                f"{spec.name}: state variable(s) {sorted(others)} are neither the membrane nor an "
                "input trace; the noise theory holds only input traces"
            )
        held = _trace_time_constants(spec, traces)
        params = {k: np.asarray(v, dtype=float) for k, v in brian2_values(net)["hidden"].items()}
        params.update(
            {p: float(FROZEN_TAU) for p in held}, noise_sigma=float(sigma), dt=net.hidden.dt * 1e-3, not_refractory=True
        )
        self.params, self.var = params, spec.noise_variable
        self.scale = {t: _si_scale(spec, t) for t in traces}
        self.one_step = step_map(spec, noise=True)

    def slopes(self, traces: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """``(a, b)`` of ``v' = a v + c + b n`` (n standard normal), with the traces (mV-ms numbers) held."""
        env = dict(self.params, **{t: x * self.scale[t] for t, x in traces.items()})
        shape = np.shape(next(iter(traces.values())))

        def at(v0, n):
            return self.one_step(dict(env, **{self.var: np.full(shape, v0), "_randn": n}))[self.var]

        base = at(0.0, 0.0)
        return at(1.0, 0.0) - base, at(0.0, 1.0) - base


def resolved_variance(net, traces: dict[str, np.ndarray], sigma: Quantity, window: tuple[int, int]) -> np.ndarray:
    """Noise-induced membrane variance per hidden neuron from the model's step, step by step.

    The input traces are taken as they are at every step: the recursion
    ``Var[t] = a[t]^2 Var[t-1] + b[t]^2`` from ``Var = 0`` before the first step, with ``a``,
    ``b`` the step's slope in the membrane and in the noise sample, averaged over the samples
    and the ``window``. Exact for a membrane whose step is linear in itself (the DGN while its
    decay factor is positive, the LIF): it checks the measurement, and its distance from the
    operating-point prediction is what the gate's fluctuations do.

    Parameters
    ----------
    net : dgnsim.surrogate.Classifier
        A trained feed-forward network.
    traces : dict of str to ndarray
        The input traces, shape (B, T, H) (:func:`input_traces`).
    sigma : Quantity (voltage)
        The membrane noise amplitude.
    window : tuple of int
        ``(first, end)``: the steps averaged over.

    Returns
    -------
    ndarray of float (mV^2), shape (H,)
        The variance per neuron.
    """
    sigma = require_quantity("sigma", sigma, mV, "mV")
    step = _HeldStep(net, sigma, traces)
    shape = next(iter(traces.values())).shape
    var, acc = np.zeros((shape[0], shape[2])), np.zeros((shape[0], shape[2]))
    first, end = window
    for k in range(end):
        a, b = step.slopes({t: x[:, k] for t, x in traces.items()})
        var = a**2 * var + b**2
        if k >= first:
            acc += var
    return acc.mean(axis=0) / (end - first) * 1e6  # V^2 -> mV^2


def predicted_variance(net, point: dict[str, np.ndarray], sigma: Quantity) -> np.ndarray:
    """Linear-noise stationary variance of each hidden neuron's membrane, the traces held.

    The fixed point ``b^2 / (1 - a^2)`` of the step's variance recursion
    (:func:`resolved_variance`), with the input traces held at ``point``.

    Parameters
    ----------
    net : dgnsim.surrogate.Classifier
        A trained feed-forward network.
    point : dict of str to ndarray
        Each input trace per neuron, shape (H,), in mV-ms numbers (:func:`operating_point`).
    sigma : Quantity (voltage)
        The membrane noise amplitude.

    Returns
    -------
    ndarray of float (mV^2), shape (H,)
        The variance per neuron.
    """
    sigma = require_quantity("sigma", sigma, mV, "mV")
    a, b = _HeldStep(net, sigma, point).slopes(point)
    return b**2 / (1 - a**2) * 1e6  # V^2 -> mV^2


@dataclass(frozen=True)
class NoiseTheory:
    """Predicted against measured noise-induced membrane variance, per hidden neuron (mV^2).

    For the DGN, ``predicted / free`` is the gate's predicted variance reduction.

    Parameters
    ----------
    model : str
        The hidden layer's model, as the report names it.
    sigma_mV : float (mV)
        The membrane noise amplitude.
    window_steps : tuple of int
        The analysis window ``(first, end)`` in steps.
    samples : int
        Input samples.
    seeds : int
        Noise seeds of the measurement.
    level : float
        The probability of the measured intervals.
    point : dict of str to ndarray
        The operating point: each time-averaged input trace per neuron (mV-ms numbers, shape (H,)).
    predicted : ndarray of float (mV^2), shape (H,)
        The linear-noise prediction at the operating point.
    free : ndarray of float (mV^2), shape (H,)
        The prediction with the traces at zero (the ungated membrane).
    measured : ndarray of float (mV^2), shape (H,)
        The measured variance, mean over seeds.
    ci : ndarray of float (mV^2), shape (H, 2)
        Its interval at ``level``.
    resolved : ndarray of float (mV^2), shape (H,)
        :func:`resolved_variance` (the traces as they are at every step).
    """

    model: str
    sigma_mV: float
    window_steps: tuple[int, int]
    samples: int
    seeds: int
    level: float
    point: dict
    predicted: np.ndarray
    free: np.ndarray
    measured: np.ndarray
    ci: np.ndarray
    resolved: np.ndarray

    @property
    def inside(self) -> np.ndarray:
        """Whether each neuron's prediction lies inside its measured interval."""
        return (self.predicted >= self.ci[:, 0]) & (self.predicted <= self.ci[:, 1])

    @property
    def fraction_inside(self) -> float:
        """Fraction of neurons whose operating-point prediction lies inside the measured interval."""
        return float(np.mean(self.inside))

    @property
    def resolved_fraction_inside(self) -> float:
        """The same for the step-resolved variance (:func:`resolved_variance`)."""
        return float(np.mean((self.resolved >= self.ci[:, 0]) & (self.resolved <= self.ci[:, 1])))

    @property
    def reduction(self) -> np.ndarray:
        """Predicted variance over that of the ungated membrane (1 for the LIF)."""
        return self.predicted / self.free

    def summary(self) -> dict:
        """The result in a few numbers, as the JSON report gives it.

        Returns
        -------
        dict
            The set-up (model, sigma, samples, seeds, window, neurons, level), the fractions of
            neurons whose prediction lies inside the measured interval, the medians of the
            predicted and measured variances (mV^2) and of their relative errors, and the mean
            predicted and measured reductions.
        """
        rel = self.measured / self.predicted - 1
        return {
            "model": self.model,
            "sigma_mV": self.sigma_mV,
            "samples": self.samples,
            "seeds": self.seeds,
            "window_steps": list(self.window_steps),
            "neurons": int(self.predicted.size),
            "level": self.level,
            "fraction_inside": self.fraction_inside,
            "resolved_fraction_inside": self.resolved_fraction_inside,
            "resolved_relative_error_median": float(np.median(self.measured / self.resolved - 1)),
            "predicted_mV2_median": float(np.median(self.predicted)),
            "measured_mV2_median": float(np.median(self.measured)),
            "relative_error_median": float(np.median(rel)),
            "relative_error_p90": float(np.quantile(np.abs(rel), 0.9)),
            "predicted_reduction_mean": float(np.mean(self.reduction)),
            "measured_reduction_mean": float(np.mean(self.measured / self.free)),
        }


def _interval(trials: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean over trials (axis 0) and its normal interval at ``level``."""
    k = trials.shape[0]
    mean = trials.mean(axis=0)
    half = stats.norm.ppf(0.5 + level / 2) * trials.std(axis=0, ddof=1) / np.sqrt(k)
    return mean, np.stack([mean - half, mean + half], axis=1)


def noise_theory(
    net,
    x: np.ndarray,
    sigma: Quantity,
    *,
    seeds: int = 8,
    burn_in: Quantity = 40 * ms,
    level: float = 0.99,
    device: str = "cpp_standalone",
    model: str | None = None,
) -> NoiseTheory:
    """Predict and measure the noise-induced membrane variance of every hidden neuron of ``net``.

    See the module docstring for the prediction and the measurement.

    Parameters
    ----------
    net : dgnsim.surrogate.Classifier
        A trained feed-forward network (DGN or LIF).
    x : ndarray, shape (B, T, n_in)
        Input spikes, 0/1.
    sigma : Quantity (voltage)
        The membrane noise amplitude; positive.
    seeds : int
        Noise seeds of the measurement, >= 2 (the interval comes from their spread).
    burn_in : Quantity (time)
        The start of the analysis window (the noise-driven part starts at 0).
    level : float
        The probability of the measured intervals, in (0, 1).
    device : str
        The Brian2 device of the measurement.
    model : str, optional
        How the report names the model (default: the hidden layer's model name).

    Returns
    -------
    NoiseTheory
        Prediction and measurement per neuron.

    Raises
    ------
    ValueError
        For a non-positive ``sigma``, ``seeds`` < 2, ``level`` outside (0, 1), a ``burn_in``
        that leaves no window, a recurrent network or bad input spikes.
    TypeError
        For ``sigma`` or ``burn_in`` without a unit.
    """
    from dgnsim.interop.study import membrane_runs

    sigma = require_quantity("sigma", sigma, mV, "mV")
    burn_in = require_quantity("burn_in", burn_in, ms, "ms")
    if not float(sigma) > 0:
        raise ValueError(f"sigma: must be positive, got {sigma!r}")
    if seeds < 2:
        raise ValueError(f"seeds: at least 2 (the interval comes from their spread), got {seeds}")
    if not 0 < level < 1:
        raise ValueError(f"level: a probability in (0, 1), got {level!r}")
    x = check_input(x, net.hidden.n_in)
    first = int(round(float(burn_in / (net.hidden.dt * ms))))
    steps = x.shape[1]
    if not 0 <= first < steps - 1:
        raise ValueError(f"burn_in: {burn_in} leaves no window in {steps} steps of {net.hidden.dt} ms")
    window = (first, steps)
    traces = input_traces(net, x)
    point = {t: v[:, first:].mean(axis=(0, 1)) for t, v in traces.items()}
    predicted = predicted_variance(net, point, sigma)
    resolved = resolved_variance(net, traces, sigma, window)
    free = predicted_variance(net, {t: np.zeros_like(v) for t, v in point.items()}, sigma)
    v = membrane_runs(net, x, sigma, seeds, device=device)  # (seeds + 1, B, T, H) mV, run 0 noiseless
    u = v[1:, :, first:, :] - v[:1, :, first:, :]
    measured, ci = _interval((u**2).mean(axis=(1, 2)), level)
    return NoiseTheory(
        model or net.hidden.model_name,
        float(sigma / mV),
        window,
        x.shape[0],
        seeds,
        level,
        point,
        predicted,
        free,
        measured,
        ci,
        resolved,
    )
