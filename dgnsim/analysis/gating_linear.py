"""Linearisation of a model from its ``equations/`` file: the analytic side of the gating analyses.

Nothing here writes a model equation a second time. The continuous right-hand sides
come from :meth:`NeuronModel.equations`; the one-step map of a discrete scheme comes
from the abstract code of Brian2's state updater (``sequential``: :func:`dgnsim.core.integration.step_code`,
or any Brian2 method such as ``exponential_euler``), run here on floats in SI units by
:mod:`dgnsim.core.expressions`. Around a fixed point both are linearised by central differences:

- continuous: ``dx/dt = J x + b u + n xi`` (``u`` = the ``I_ext`` input in volts,
  ``xi`` white noise of unit intensity);
- discrete:   ``x[k+1] = A x[k] + B u[k] + N eta[k]`` (``eta`` standard normal per step).

From these: the effective time constant (slowest eigenvalue), the steady state, the
transfer function (continuous ``H(s)``, or the discrete ``H(z)`` of the scheme that
Brian2 runs, which matches a simulation to rounding), and the stationary variance
(Lyapunov equations). A state variable listed in ``frozen`` is held at its value (a
trace whose time constant is made very long: see :mod:`dgnsim.analysis.gating`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize
from brian2 import Quantity, StateUpdateMethod, second, volt

from dgnsim.core import integration
from dgnsim.core.expressions import (
    STATEMENT_OPS,
    apply_statements,
    compile_expression,
    evaluate,
    model_origin,
    parse_statements,
)
from dgnsim.core.models import NeuronModel, load_model
from dgnsim.core.units import require_quantity

__all__ = ["LinearModel", "linearise", "step_map"]


@dataclass(frozen=True)
class LinearModel:
    """A model linearised around a fixed point (SI units: volt, second).

    Parameters
    ----------
    model : str
        The model's name.
    method : str
        Integration scheme of the discrete map.
    dt : float (s)
        Its time step.
    states : tuple of str
        The dynamic state variables, in order.
    x0 : ndarray
        The fixed point (``v`` absolute, in volts).
    J : ndarray (1/s)
        Continuous Jacobian.
    b : ndarray (1/s)
        Continuous input vector, per volt of ``I_ext``.
    n : ndarray
        Continuous noise vector.
    A : ndarray
        One step's Jacobian.
    B : ndarray
        One step's input vector.
    N : ndarray
        One step's noise vector.
    """

    model: str
    method: str
    dt: float
    states: tuple[str, ...]
    x0: np.ndarray
    J: np.ndarray
    b: np.ndarray
    n: np.ndarray
    A: np.ndarray
    B: np.ndarray
    N: np.ndarray

    @property
    def v_index(self) -> int:
        return self.states.index("v")

    @property
    def v_ss(self) -> float:
        """Steady-state membrane potential (V, absolute)."""
        return float(self.x0[self.v_index])

    def tau(self) -> float:
        """Effective time constant of the continuous model: -1/(slowest eigenvalue) (s)."""
        return float(-1.0 / np.max(np.linalg.eigvals(self.J).real))

    def tau_discrete(self) -> float:
        """Effective time constant of the discrete scheme: ``-dt/ln(abs(slowest eigenvalue))`` (s).

        Returns
        -------
        float
            The time constant (s).
        """
        lam = np.max(np.abs(np.linalg.eigvals(self.A)))
        return float(-self.dt / np.log(lam))

    def transfer(self, freq_hz) -> np.ndarray:
        """Continuous transfer function from ``I_ext`` to ``v``.

        Parameters
        ----------
        freq_hz : float or array_like (Hz)
            Frequencies.

        Returns
        -------
        numpy.ndarray
            Complex gains (V/V), one per frequency.
        """
        f = np.atleast_1d(np.asarray(freq_hz, dtype=float))
        eye = np.eye(len(self.states))
        return np.array([np.linalg.solve(2j * np.pi * fk * eye - self.J, self.b)[self.v_index] for fk in f])

    def transfer_discrete(self, freq_hz) -> np.ndarray:
        """Transfer function ``H(z)`` of the discrete scheme, ``z = exp(2j pi f dt)``.

        Convention: ``v[k]`` is recorded at ``t_k`` before the step that uses ``u[k]``, so
        ``v[k] = A v[k-1] + B u[k-1]`` and ``H(z) = e_v (z - A)^-1 B``.

        Parameters
        ----------
        freq_hz : float or array_like (Hz)
            Frequencies.

        Returns
        -------
        numpy.ndarray
            Complex gains (V/V), one per frequency.
        """
        f = np.atleast_1d(np.asarray(freq_hz, dtype=float))
        eye = np.eye(len(self.states))
        z = np.exp(2j * np.pi * f * self.dt)
        return np.array([np.linalg.solve(zk * eye - self.A, self.B)[self.v_index] for zk in z])

    def variance(self) -> float:
        """Stationary variance of ``v`` of the continuous model (V^2)."""
        P = scipy.linalg.solve_continuous_lyapunov(self.J, -np.outer(self.n, self.n))
        return float(P[self.v_index, self.v_index])

    def variance_discrete(self) -> float:
        """Stationary variance of ``v`` of the discrete scheme (V^2)."""
        P = scipy.linalg.solve_discrete_lyapunov(self.A, np.outer(self.N, self.N))
        return float(P[self.v_index, self.v_index])


def _si(value) -> float | np.ndarray:
    return np.asarray(value, dtype=float)  # a Quantity gives its SI value


def _namespace(model: NeuronModel, params: dict) -> dict:
    """The parameters' values (SI floats), checked against their units."""
    ns = {}
    for name, p in model.parameters.items():
        value = params.get(name, p.default)
        require_quantity(name, value, p.unit, p.unit_text)
        ns[name] = float(np.asarray(value))
    return ns


def _step_code(model: NeuronModel, method: str, noise: bool) -> str:
    eqs = model.equations(noise=noise)
    if method == "sequential":
        return integration.step_code(eqs, None, model.update_order)
    code = StateUpdateMethod.apply_stateupdater(eqs, {}, method=method)
    return code


def step_map(model, method: str | None = None, noise: bool = False):
    """One step of ``model``'s discrete scheme, as a function of a dict of SI values.

    Parameters
    ----------
    model : str or NeuronModel
        The model.
    method : str, optional
        Integration scheme (default: the model's).
    noise : bool
        Include the model's white-noise term.

    Returns
    -------
    callable
        ``step(values) -> values``: ``values`` holds numbers or arrays for the state variables,
        the parameters, ``dt``, ``not_refractory`` and ``_randn`` (the standard normal sample of
        the noise term; 0 for none); it returns the dict after the step.
    """
    model = model if isinstance(model, NeuronModel) else load_model(model)
    method = method or model.method
    where = model_origin(model)
    code = parse_statements(
        _step_code(model, method, noise).replace("randn()", "_randn"), f"{where}: {method} step", STATEMENT_OPS
    )
    return lambda values: apply_statements(code, values, system="si", where=f"{where}: {method} step")


def linearise(
    model,
    params: dict | None = None,
    frozen: dict | None = None,
    *,
    method: str | None = None,
    dt: Quantity = 0.1e-3 * second,
    noise: bool = False,
    guess: dict | None = None,
) -> LinearModel:
    """Linearise ``model`` around its fixed point.

    Parameters
    ----------
    model : str or NeuronModel
    params : dict of Quantity
        Parameter values (defaults from the model file otherwise); ``I_ext`` sets the
        operating point's constant input (V).
    frozen : dict
        State variables held constant, with their values (Quantity or number). The
        discrete map holds them only if their time constants are made very long in
        ``params`` too (a trace decays inside the step before the membrane reads it).
    method : str
        Integration scheme of the discrete map (default: the model's own).
    dt : Quantity
        Time step of the discrete map (s).
    noise : bool
        Include the model's white-noise term (needs ``noise_sigma`` in ``params``).
    guess : dict
        Starting point for the fixed-point search (default: the model's initial state).
    """
    model = model if isinstance(model, NeuronModel) else load_model(model)
    params = dict(params or {})
    frozen = {k: float(_si(v)) for k, v in (frozen or {}).items()}
    dt = float(require_quantity("dt", dt, second, "ms"))
    method = method or model.method
    ns = _namespace(model, params)
    ns["dt"] = dt
    unknown = set(frozen) - set(model.update_order)
    if unknown:
        raise ValueError(f"frozen: {sorted(unknown)} are not state variables of {model.name}")
    states = tuple(s for s in model.update_order if s not in frozen)
    if "v" not in states:
        raise ValueError("the membrane potential v cannot be frozen")
    eqs = model.equations(noise=noise)
    where = model_origin(model)
    rhs = {
        name: compile_expression(expr.code, f"{where}: right-hand side of d{name}/dt", system="si")
        for name, expr in eqs.get_substituted_expressions(None)
    }
    one_step = step_map(model, method, noise)

    def env(x, u, xi):
        e = dict(ns)
        e.update(frozen)
        e.update(zip(states, x))
        e["I_ext"] = ns["I_ext"] + u
        e["xi"] = xi
        e["_randn"] = xi
        e["not_refractory"] = True  # linearised away from spikes
        return e

    def f(x, u=0.0, xi=0.0):
        e = env(x, u, xi)
        return np.array([rhs[s](e) for s in states])

    def step(x, u=0.0, eta=0.0):
        e = one_step(env(x, u, eta))
        return np.array([e[s] for s in states])

    scale = np.array([1e-3 if eqs[s].dim == volt.dim else 1.0 for s in states])
    x_init = np.array([_initial(model, s, ns, (guess or {}).get(s)) for s in states])
    sol = scipy.optimize.root(
        lambda y: f(y * scale) / scale * 1e-2, x_init / scale, method="hybr", options={"xtol": 1e-13}
    )
    if not np.all(np.abs(f(sol.x * scale) / scale * 1e-2) < 1e-9):
        raise ValueError(f"{model.name}: no fixed point found at this operating point ({sol.message})")
    x0 = sol.x * scale

    def jac(func):
        cols, in_col, noise_col = [], None, None
        for k in range(len(states)):
            h = 1e-6 * scale[k]
            e = np.zeros(len(states))
            e[k] = h
            cols.append((func(x0 + e) - func(x0 - e)) / (2 * h))
        h = 1e-6
        in_col = (func(x0, h) - func(x0, -h)) / (2 * h)
        noise_col = (func(x0, 0.0, 1.0) - func(x0, 0.0, -1.0)) / 2.0
        return np.array(cols).T, in_col, noise_col

    J, b, n = jac(f)
    A, B, N = jac(step)
    return LinearModel(model.name, method, dt, states, x0, J, b, n, A, B, N)


def _initial(model: NeuronModel, state: str, ns: dict, given) -> float:
    if given is not None:
        return float(_si(given))
    return float(
        evaluate(model.initial[state], ns, system="si", where=f"{model_origin(model)}: initial value of {state}")
    )
