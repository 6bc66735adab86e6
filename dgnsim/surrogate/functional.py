"""The surrogate's time step as a pure function (in the style of Norse's ``*_step`` functions).

:func:`step` takes this step's input, the state record and the parameters, and returns the
spikes and the new state. It is the only copy of the per-step logic:
:meth:`~dgnsim.surrogate.SpikingLayer.run` calls it in its time loop, and so does the
gradient bridge (:func:`dgnsim.interop.bridge.run_torch`) and the readout's kernels.

Per step, in ``order="brian"``: the input of this step jumps the input targets
(``I += W x_t``, plus ``z_{t-1} R`` in a recurrent layer), every variable takes one
'sequential' step (a variable flagged ``(unless refractory)`` keeps its value while
the neuron is refractory), spikes are detected (none while refractory) and spiking
neurons reset. This is Brian2's order when the input synapses are scheduled before the
groups. ``order="paper"`` is paper A's discrete form (see :mod:`dgnsim.surrogate.layers`).

Refractoriness follows Brian2 exactly: a neuron that spiked at step s is refractory at
step s + m while ``m < n_ref``, ``n_ref = timestep(tau_ref, dt)`` (Brian2's
``not_refractory = timestep(t - lastspike, dt) >= timestep(refractory, dt)``), and the
clamp is Brian2's ``v = nr*v_new + (1 - nr)*v_old``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dgnsim.surrogate.program import StepProgram
from dgnsim.surrogate.spikes import spike_fn

__all__ = ["ORDERS", "StepParameters", "StepState", "initial_state", "refractory_steps", "step"]

ORDERS = ("brian", "paper")


@dataclass(frozen=True)
class StepParameters:
    """Everything a step needs besides its input and state (constant over a sequence).

    The fields after ``clamped`` are the layer's options of the same names
    (:class:`~dgnsim.surrogate.SpikingLayer`).

    Parameters
    ----------
    program : StepProgram
        The model's compiled step.
    params : dict of str to torch.Tensor
        Neuron parameters in mV-ms numbers, broadcastable to (batch, n).
    invariants : dict of str to torch.Tensor
        ``program.prepare(params, dt)``: the values hoisted out of the time loop.
    recurrent : dict of str to torch.Tensor
        The (n, n) recurrent weights by synapse parameter (empty for a feed-forward layer).
    refractory : torch.Tensor or None
        Brian2's ``timestep(tau_ref, dt)`` per neuron (int), or None when it is below 2 (then
        no step is ever refractory).
    clamped : frozenset of str
        The variables flagged ``(unless refractory)``.
    order : {"brian", "paper"}
        Brian2's order of a step, or paper A's discrete form.
    spiking : bool
        False for a non-spiking layer (no threshold, no reset).
    surrogate : str
        The spike function's surrogate derivative (a key of :data:`~dgnsim.surrogate.SURROGATES`).
    width : float (mV)
        The surrogate's width.
    detach_reset : bool
        The reset is a constant of the backward pass.
    detach_recurrent : bool
        The recurrent spikes are constants of the backward pass.
    """

    program: StepProgram
    params: dict
    invariants: dict
    recurrent: dict
    refractory: torch.Tensor | None = None
    clamped: frozenset = frozenset()
    order: str = "brian"
    spiking: bool = True
    surrogate: str = "fast_sigmoid"
    width: float = 1.0
    detach_reset: bool = True
    detach_recurrent: bool = True


@dataclass(frozen=True)
class StepState:
    """The state between two steps.

    Parameters
    ----------
    variables : dict of str to torch.Tensor
        The model's state variables, (batch, n) each, in mV-ms numbers.
    z : torch.Tensor
        The spikes of the last step (the recurrent input of the next one), (batch, n).
    refractory : torch.Tensor or None
        Steps of refractoriness left per neuron (int), None without a refractory period.
    distance : torch.Tensor or None
        Not an input but a record: the distance to threshold (mV) on which ``z`` was
        decided, before the reset (None for a non-spiking layer or an initial state).
    """

    variables: dict
    z: torch.Tensor
    refractory: torch.Tensor | None = None
    distance: torch.Tensor | None = None


def refractory_steps(tau_ref: torch.Tensor, dt: float) -> torch.Tensor | None:
    """Brian2's ``timestep(tau_ref, dt) = int((tau_ref + 1e-3 dt)/dt)``, or None if below 2.

    A period under two steps has no effect in Brian2: a neuron that spiked at step s is
    free again at step s + 1 whenever ``timestep(tau_ref, dt) <= 1``.

    Parameters
    ----------
    tau_ref : torch.Tensor (ms)
        The refractory period, per neuron or shared.
    dt : float (ms)
        The time step.

    Returns
    -------
    torch.Tensor or None
        The period in whole steps (int64), or None if no neuron's is 2 or more.
    """
    steps = torch.floor((tau_ref.detach().double() + 1e-3 * dt) / dt).to(torch.int64)
    return steps if bool(torch.any(steps >= 2)) else None


def initial_state(p: StepParameters, batch: int, n: int, dtype: torch.dtype) -> StepState:
    """The model's initial values for ``batch`` copies of ``n`` neurons, no spikes, none refractory.

    Parameters
    ----------
    p : StepParameters
        The step's constant inputs (the initial values may read the parameters).
    batch : int
        Copies of the layer.
    n : int
        Neurons.
    dtype : torch.dtype
        The floating type of the state.

    Returns
    -------
    StepState
        The state before the first step.
    """
    device = next(iter(p.params.values())).device
    variables = {
        var: torch.zeros(batch, n, dtype=dtype, device=device) + p.program.initial[var](p.params)
        for var in p.program.state_vars
    }
    refractory = None if p.refractory is None else torch.zeros(batch, n, dtype=torch.int64, device=device)
    return StepState(variables, torch.zeros(batch, n, dtype=dtype, device=device), refractory)


def step(jumps: dict, state: StepState, p: StepParameters) -> tuple[torch.Tensor, StepState]:
    """One time step: ``(z, new_state)`` for the input ``jumps`` of this step.

    Pure: neither ``state`` nor ``p`` is changed.

    Parameters
    ----------
    jumps : dict of str to torch.Tensor
        Per input target variable (e.g. ``"I"``, ``"g"``), its feed-forward jump this step,
        (batch, n) in mV-ms numbers (the layer's
        :meth:`~dgnsim.surrogate.SpikingLayer.input_drive` at one step).
    state : StepState
        The record returned by the previous step (or :func:`initial_state`).
    p : StepParameters
        The step's constant inputs.

    Returns
    -------
    z : torch.Tensor
        Spikes (batch, n), 0/1.
    new_state : StepState
        The state after the step, with the distance ``z`` was decided on.

    Raises
    ------
    ValueError
        A refractory period with ``order="paper"``.
    """
    program, params = p.program, p.params
    variables, z = dict(state.variables), state.z
    free, countdown = None, state.refractory
    if countdown is not None:  # Brian2's not_refractory, recomputed before the state update
        if p.order != "brian":
            raise ValueError("refractory: a refractory period needs order='brian' (paper A's form has none)")
        countdown = torch.clamp(countdown - 1, min=0)
        free = (countdown == 0).to(z.dtype)
    if p.order == "brian":
        _add_input(variables, jumps, p, z)
        _advance(variables, program.state_vars, p, free)
        z, distance = _threshold(variables, p, free)
        variables = program.reset(variables, z, params, differentiable=not p.detach_reset)
    else:  # paper A: traces decay, input, membrane, reset of the previous spikes, threshold
        targets = set(program.input_targets.values())
        _advance(variables, [v for v in program.state_vars if v in targets], p, free)
        _add_input(variables, jumps, p, z)
        _advance(variables, [v for v in program.state_vars if v not in targets], p, free)
        variables = program.reset(variables, z, params, differentiable=not p.detach_reset)
        z, distance = _threshold(variables, p, free)
    if countdown is not None and p.refractory is not None:
        countdown = torch.where(z > 0, p.refractory, countdown)
    return z, StepState(variables, z, countdown, distance)


def _add_input(variables, jumps, p, z):
    if p.recurrent and p.detach_recurrent:
        z = z.detach()
    for syn_name, target in p.program.input_targets.items():
        value = variables[target] + jumps[target]
        if syn_name in p.recurrent:
            value = value + z @ p.recurrent[syn_name]
        variables[target] = value


def _advance(variables, names, p, free):
    for var in names:
        new = p.program.advance[var](variables, p.params, p.invariants)
        if free is not None and var in p.clamped:  # Brian2: v = nr*_v + (1 - nr)*v
            new = free * new + (1 - free) * variables[var]
        variables[var] = new


def _threshold(variables, p, free):
    if not p.spiking:
        return torch.zeros_like(variables[p.program.state_vars[-1]]), None
    distance = p.program.distance(variables, p.params, p.invariants)
    x = distance
    if p.program.inclusive:  # '>=': a spike exactly at threshold (tiny: the smallest normal of the dtype)
        x = torch.where(x == 0, torch.full_like(x, torch.finfo(x.dtype).tiny), x)
    z = spike_fn(x, p.surrogate, p.width)
    return (z if free is None else z * free), distance
