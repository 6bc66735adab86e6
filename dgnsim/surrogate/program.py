"""Compile a model of ``equations/`` into the torch functions of one time step.

The statements are those of Brian2's 'sequential' state updater
(:func:`dgnsim.core.integration.step_statements`), so a torch step and a Brian2 step compute
the same numbers. Expressions that depend only on parameters and ``dt`` (decay factors
such as ``exp(-dt/tau_syn)``) are hoisted out of the time loop, as Brian2 hoists them
out of the neuron loop. Units are dropped in one place: parameters enter as floats in
the mV-ms system (:func:`dgnsim.core.units.mv_ms_value`). Thresholds, resets, initial
values and the synapse are read, and evaluated, by :mod:`dgnsim.core.expressions`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp
import torch
from brian2.parsing.sympytools import str_to_sympy, sympy_to_str

from dgnsim.core.expressions import (
    Expression,
    compile_expression,
    model_origin,
    namespace,
    parse_statements,
    parse_threshold,
    synapse_jumps,
)
from dgnsim.core.integration import step_statements
from dgnsim.core.models import NeuronModel, load_model
from dgnsim.core.units import mv_ms_value


@dataclass(frozen=True)
class StepProgram:
    """One model's time step as torch functions over dicts of tensors (mV, ms).

    Made by :func:`compile_model`.

    Parameters
    ----------
    model : NeuronModel
        The model.
    state_vars : tuple of str
        The state variables, in update order.
    input_targets : dict of str to str
        Synapse parameter to the state variable it jumps (``w`` to ``I``).
    inclusive : bool
        The threshold is ``>=`` (else ``>``).
    source : str
        The generated Python, for inspection.
    prepare : callable
        ``(params, dt)`` to the invariants hoisted out of the time loop.
    advance : dict of str to callable
        Per variable, ``(state, params, invariants)`` to its value after one step.
    distance : callable
        ``(state, params, invariants)`` to the distance to threshold (mV).
    reset_statements : tuple of (str, str, callable)
        ``(target, op, expr)``: the reset's statements, ``expr`` a function of
        ``(state, params)``.
    initial : dict of str to Expression
        Per variable, its initial value as a function of the parameters.
    membrane : str
        The variable on the left of the threshold.
    """

    model: NeuronModel
    state_vars: tuple[str, ...]  # in update order
    input_targets: dict[str, str]  # synapse parameter -> state variable it jumps (w -> I)
    inclusive: bool  # threshold is '>=' (else '>')
    source: str  # generated Python, for inspection
    prepare: Callable  # (params, dt) -> hoisted invariants
    advance: dict[str, Callable]  # variable -> (state, params, inv) -> new value(s) of state
    distance: Callable  # (state, params, inv) -> distance to threshold (mV)
    reset_statements: tuple[tuple[str, str, Callable], ...]  # (target, op, expr(state, params))
    initial: dict[str, Expression]  # variable -> (params) -> initial value
    membrane: str = "v"  # the variable on the left of the threshold

    def reset(self, state: dict, spikes: torch.Tensor, params: dict, differentiable: bool = False) -> dict:
        """Apply the reset where ``spikes`` is 1, exactly as Brian2's reset.

        Increments of variables other than the membrane (an adaptive threshold's ``a += 1``)
        keep their gradient either way.

        Parameters
        ----------
        state : dict of str to torch.Tensor
            The state variables (mV-ms numbers); not changed.
        spikes : torch.Tensor
            0/1 per neuron.
        params : dict of str to torch.Tensor
            The neuron parameters (mV-ms numbers).
        differentiable : bool
            Write ``v = z*v_reset + (1-z)*v`` (exact for z in {0, 1}) so the gradient flows
            through the spikes. Otherwise the membrane's reset is a constant of the backward
            pass: a cheaper ``where`` for ``v = ...``, and the spikes detached for a soft
            reset ``v -= ...`` (with them attached, the gradient through 100 soft resets of
            an FSDD sample overflowed to NaN in the first batch).

        Returns
        -------
        dict of str to torch.Tensor
            The state after the reset.
        """
        state = dict(state)
        fired = spikes > 0
        for target, op, expr in self.reset_statements:
            value = expr(state, params)
            z = spikes.detach() if target == self.membrane and not differentiable else spikes
            if op == "=" and not differentiable:
                state[target] = torch.where(fired, value, state[target])
            elif op == "=":
                state[target] = spikes * value + (1 - spikes) * state[target]
            elif op == "+=":
                state[target] = state[target] + z * value
            else:
                state[target] = state[target] - z * value
        return state


def parameter_values(model: NeuronModel) -> dict[str, float]:
    """Every parameter's default in the mV-ms system.

    Parameters
    ----------
    model : NeuronModel
        The model.

    Returns
    -------
    dict of str to float
        Parameter name to its default (mV, ms).
    """
    return {n: float(mv_ms_value(p.default)) for n, p in model.parameters.items()}


def compile_model(model, reset: str | None = None) -> StepProgram:
    """Compile ``model`` with its default reset or a named variant.

    Parameters
    ----------
    model : str or NeuronModel
        A model name (or path, as :func:`~dgnsim.core.models.load_model` takes) or record.
    reset : str or None
        A reset variant of the model file (``resets``); None or ``"default"``: its ``reset``.

    Returns
    -------
    StepProgram
        The step's torch functions.

    Raises
    ------
    ValueError
        A noise term in a step, a reset of something not a state variable or naming an
        unknown name, a synapse that jumps a refractory-clamped variable.
    """
    model = model if isinstance(model, NeuronModel) else load_model(model)
    where = model_origin(model)
    blocks = step_statements(model.equations(), None, model.update_order, refractory=False)
    params = set(model.parameters)
    state = list(model.update_order)
    hoisted: dict[sp.Expr, sp.Symbol] = {}
    invariant = params | {"dt"}

    def hoist(expr):
        names = {s.name for s in expr.free_symbols}
        if not expr.is_Atom and names and names <= invariant:
            if expr not in hoisted:
                hoisted[expr] = sp.Symbol(f"_inv{len(hoisted)}", real=True)
            return hoisted[expr]
        if expr.is_Atom or not expr.args:
            return expr
        if isinstance(expr, (sp.Mul, sp.Add)):  # group the invariant factors or terms
            inv = [a for a in expr.args if {s.name for s in a.free_symbols} <= invariant]
            if len(inv) > 1:
                rest = [hoist(a) for a in expr.args if a not in inv]
                return expr.func(hoist(expr.func(*inv)), *rest)
        return expr.func(*[hoist(a) for a in expr.args])

    def statements(lines):
        out = []
        for target, _, expr in parse_statements("\n".join(lines), f"{where}: step of {model.name}", ("=",)):
            if "randn" in expr:
                raise ValueError(f"{where}: the surrogate has no noise term (leave noise_sigma out)")
            out.append((target, sympy_to_str(hoist(str_to_sympy(expr)))))
        return out

    sources, advance = [], {}
    scope = namespace()  # the model language's functions (torch for tensors), constants and mV-ms units
    for var, lines in blocks:
        body = statements(lines)
        sources.append(_function(f"_advance_{var}", body, [var], state, params))
    threshold = parse_threshold(model.threshold, f"{where}: threshold")
    sources.append(_function("_distance", [("_x", sympy_to_str(hoist(threshold.distance)))], ["_x"], state, params))
    inv_lines = [(str(sym), sympy_to_str(expr)) for expr, sym in hoisted.items()]
    sources.insert(0, _prepare_function(inv_lines, params))
    source = "\n".join(sources)
    exec(compile(source, f"<dgnsim step of {model.name}>", "exec"), scope)
    for var, _ in blocks:
        advance[var] = scope[f"_advance_{var}"]
    label = f"{where}: reset" if reset in (None, "default") else f"{where}: reset {reset!r}"
    reset_sources, reset_ops = [], []
    for k, (target, op, expr) in enumerate(parse_statements(model.reset_code(reset), label)):
        if target not in state:
            raise ValueError(f"{label}: {target} {op} {expr}: {target!r} is not a state variable of {model.name}")
        checked = compile_expression(expr, f"{label}: {target} {op} {expr}")  # refuses what does not parse
        unknown = checked.names - set(state) - params - set(scope)
        if unknown:
            raise ValueError(f"{label}: {target} {op} {expr}: unknown name(s) {sorted(unknown)}")
        # generated like the step (no eval per step: torch.compile traces it)
        reset_sources.append(_reset_function(f"_reset_{k}", expr.strip(), state, params))
        reset_ops.append((target, op))
    reset_source = "\n".join(reset_sources)
    exec(compile(reset_source, f"<dgnsim reset of {model.name}>", "exec"), scope)
    resets = [(target, op, scope[f"_reset_{k}"]) for k, (target, op) in enumerate(reset_ops)]
    source = source + "\n" + reset_source
    initial = {v: compile_expression(e, f"{where}: initial value of {v}") for v, e in model.initial.items()}
    return StepProgram(
        model=model,
        state_vars=tuple(state),
        input_targets=_input_targets(model, where),
        inclusive=threshold.inclusive,
        source=source,
        prepare=scope["_prepare"],
        advance=advance,
        distance=scope["_distance"],
        reset_statements=tuple(resets),
        initial=initial,
        membrane=threshold.variable or "v",
    )


def _reset_function(name, expr, state, params):
    """``expr`` as a function of (state, params), the state shadowing the parameters."""
    used = set(re.findall(r"[A-Za-z_]\w*", expr))
    lines = [f"def {name}(_state, _params):"]
    lines += _unpack(set(params) - set(state), "_params", used) + _unpack(state, "_state", used)
    lines.append(f"    return {expr}")
    return "\n".join(lines) + "\n"


def _input_targets(model, where) -> dict[str, str]:
    targets = {}
    for var, param in synapse_jumps(model.synapse.on_pre, f"{where}: synapse on_pre").items():
        if var in model.clamped:
            raise ValueError(
                f"{where}: its synapse jumps {var}, which is clamped while refractory; Brian2 "
                "drops such input in the step after a spike, which the surrogate does not model"
            )
        targets[param] = var
    return targets


# The generated functions take dicts named _state, _params, _inv: Brian2 names never start
# with an underscore, so no model variable can shadow them.
def _unpack(names, source_dict, used):
    return [f"    {n} = {source_dict}[{n!r}]" for n in sorted(names) if n in used]


def _function(name, body, outputs, state, params):
    used = set(re.findall(r"[A-Za-z_]\w*", " ".join(e for _, e in body)))
    lines = [f"def {name}(_state, _params, _inv):"]
    lines += _unpack(state, "_state", used) + _unpack(params, "_params", used)
    lines += [f"    {n} = _inv[{n!r}]" for n in sorted(used) if n.startswith("_inv") or n == "dt"]
    lines += [f"    {t} = {e}" for t, e in body]
    lines.append(f"    return {outputs[0]}")
    return "\n".join(lines) + "\n"


def _prepare_function(inv_lines, params):
    used = set(re.findall(r"[A-Za-z_]\w*", " ".join(e for _, e in inv_lines)))
    lines = ["def _prepare(_params, dt):"] + _unpack(params, "_params", used)
    lines += [f"    {t} = {e}" for t, e in inv_lines]
    lines.append("    return {'dt': dt, " + ", ".join(f"{t!r}: {t}" for t, _ in inv_lines) + "}")
    return "\n".join(lines) + "\n"
