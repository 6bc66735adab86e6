"""The ``sequential`` integration method: one time step as the paper's discrete form.

State variables are advanced one after another in the model's ``update_order``; each
uses the already-advanced values of the variables before it. Writing each equation
as ``dx/dt = A x + B`` (noise included in ``B``):

- ``A`` free of state variables (a trace, the LIF membrane): exponential Euler,
  ``x <- (x + B/A) exp(A dt) - B/A``; exact for a trace, and with shared time
  constants Brian2 computes the exponential once per step, not once per neuron;
- ``A`` depends on the state (the DGN membrane, whose leak is gated): forward Euler
  with the decay factor clipped at zero, ``x <- x max(0, 1 + A dt) + B dt`` (paper A's
  ``rho = phi(1 - g_l dt - dt sum C_i D_i)``; no exponential per neuron and step);
- ``x`` not linear in itself (the polynomial membrane): forward Euler.

White noise ``xi`` is held for the step as a standard normal sample divided by
``sqrt(dt)`` (so forward-Euler variables get the Euler-Maruyama increment).
Variables flagged ``(unless refractory)`` keep their value while refractory.

:func:`step_code` returns Brian2 abstract code; the PyTorch surrogate executes the same
code, so both take the same step.
"""

from __future__ import annotations

import sympy as sp
from brian2 import StateUpdateMethod
from brian2.parsing.sympytools import str_to_sympy, sympy_to_str
from brian2.stateupdaters.base import UnsupportedEquationsException, extract_method_options

__all__ = ["SequentialStateUpdater", "step_code", "step_statements"]

NOT_REFRACTORY = "not_refractory"


def _strip_refractory(expr: sp.Expr) -> sp.Expr:
    """Remove Brian2's ``int(not_refractory)*(...)`` factor (we handle it per variable)."""
    factors = [a for a in expr.atoms(sp.Function) if any(s.name == NOT_REFRACTORY for s in a.free_symbols)]
    return expr.xreplace({f: sp.Integer(1) for f in factors}) if factors else expr


def step_code(equations, variables=None, order=None, refractory: bool = True) -> str:
    """Brian2 abstract code for one ``sequential`` step of ``equations`` (see the module docstring).

    Parameters
    ----------
    equations : brian2.Equations
        The model's equations (the noise term included, if any).
    variables : dict, optional
        Brian2's variables of the group, to substitute subexpressions and read units.
    order : sequence of str, optional
        The update order, each state variable once (default: alphabetical).
    refractory : bool
        Whether variables flagged ``(unless refractory)`` are held while refractory (False
        leaves out the clamp; the surrogate has none).

    Returns
    -------
    str
        One statement per line.
    """
    return "\n".join(line for _, lines in step_statements(equations, variables, order, refractory) for line in lines)


def step_statements(equations, variables=None, order=None, refractory: bool = True):
    """The step of :func:`step_code` as ``[(variable, [statements])]`` in update order.

    Parameters
    ----------
    equations : brian2.Equations
        The model's equations.
    variables : dict, optional
        Brian2's variables of the group.
    order : sequence of str, optional
        The update order, each state variable once (default: alphabetical).
    refractory : bool
        Whether the refractory clamp is included.

    Returns
    -------
    list of tuple of (str, list of str)

    Raises
    ------
    UnsupportedEquationsException
        If ``order`` does not list each state variable once.
    """
    state = set(equations.diff_eq_names)
    order = list(order) if order is not None else sorted(state)
    if set(order) != state or len(order) != len(state):
        raise UnsupportedEquationsException(
            f"'sequential' needs an order listing each state variable {sorted(state)} once, got {order}"
        )
    clamped = {n for n, eq in equations.items() if refractory and "unless refractory" in eq.flags}
    exprs = dict(equations.get_substituted_expressions(variables))
    dt = sp.Symbol("dt", real=True)
    blocks = []
    noise_symbols = {}
    for name in order:
        code = []
        x = sp.Symbol(name, real=True)
        f = _strip_refractory(str_to_sympy(exprs[name].code, variables))
        for s in sorted(f.free_symbols, key=str):
            if s.name == "xi" or s.name.startswith("xi_"):
                if s.name not in noise_symbols:
                    noise_symbols[s.name] = sp.Symbol(f"_noise_{s.name}", real=True)
                    code.append(f"_noise_{s.name} = randn()/sqrt(dt)")
                f = f.xreplace({s: noise_symbols[s.name]})
        A = sp.diff(f, x)
        if A.has(x) or A == 0:
            new = x + dt * f  # not linear in x (or a pure integrator): forward Euler
        else:
            B = f.subs(x, 0)  # f is linear in x
            if A.free_symbols & {sp.Symbol(s, real=True) for s in state}:
                # max(0, rho) written branch-free as (rho + |rho|)/2 (exact in floating
                # point), so the compiler can vectorise the loop over neurons.
                rho = sp.Symbol(f"_rho_{name}", real=True)
                code.append(f"_rho_{name} = {sympy_to_str(1 + A * dt)}")
                new = x * (rho + sp.Abs(rho)) / 2 + B * dt
            elif B == 0:
                new = x * sp.exp(A * dt)
            else:
                ba = sp.Symbol(f"_BA_{name}", real=True)
                code.append(f"_BA_{name} = {sympy_to_str(B / A)}")
                new = (x + ba) * sp.exp(A * dt) - ba
        if name in clamped:
            code.append(f"_{name} = {sympy_to_str(new)}")
            code.append(f"{name} = int({NOT_REFRACTORY})*_{name} + (1 - int({NOT_REFRACTORY}))*{name}")
        else:
            code.append(f"{name} = {sympy_to_str(new)}")
        blocks.append((name, code))
    return blocks


class SequentialStateUpdater(StateUpdateMethod):
    """Brian2 state updater for :func:`step_code`; option ``order``: the update order."""

    def __call__(self, equations, variables=None, method_options=None):
        options = extract_method_options(method_options, {"order": None})
        return step_code(equations, variables, options["order"])


if "sequential" not in StateUpdateMethod.stateupdaters:
    StateUpdateMethod.register("sequential", SequentialStateUpdater())
