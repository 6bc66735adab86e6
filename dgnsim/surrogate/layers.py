"""Torch layers built from a model of ``equations/`` and its compiled step.

A layer runs a time loop over a whole input sequence (feed-forward input is projected
for all steps by one matrix product before the loop); each step is
:func:`dgnsim.surrogate.functional.step`, the one copy of the per-step logic. Per step, in
the default ``order="brian"``: the synaptic input of this step jumps the input targets
(``I += W z_in``, and ``g += C z_in`` for the DGN family), the state takes one
'sequential' step, spikes are detected, and spiking neurons reset; a refractory period
(the model's ``refractory`` entry, e.g. ``tau_ref``) holds the ``(unless refractory)``
variables and suppresses spikes as in Brian2. Brian2 runs the same order when the input
synapses are scheduled before the groups (the bridge does this).

``order="paper"`` is paper A's discrete form: traces decay, then the input is added
(``D[t] = a D[t-1] + z[t]``), the membrane steps with the new traces, and the reset of
the *previous* step's spikes is applied after the decay (``V[t] = rho V[t-1] + ... -
theta z[t-1]``, with ``reset="soft"``). It has no Brian2 counterpart.

Gradients: the spike function's surrogate derivative is the only path from a spike back
to the membrane. The reset (``detach_reset``) and, in a recurrent layer, the recurrent
spikes (``detach_recurrent``) are constants in the backward pass by default: the
recurrent weights learn from their effect on the next step, but no gradient travels
back in time through the recurrent loop. With that path open, back-propagation through
the 100 steps of an FSDD sample exploded (gradient norms from 1e1 to 1e8 and Inf within
the first epochs, for ``lif`` and ``dgn``) and recurrent networks stayed at 30-70 %.
Neither flag changes the forward pass.
"""

from __future__ import annotations

import math
import types
import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any, cast

import torch
from brian2 import ms
from torch import nn

from dgnsim.core.models import MIN_STEPS_PER_TIME_CONSTANT, load_model
from dgnsim.core.units import mv_ms_value, parse_unit, require_quantity
from dgnsim.surrogate.functional import ORDERS, StepParameters, StepState, initial_state, refractory_steps, step
from dgnsim.surrogate.program import compile_model


def input_delays(delays, dt: float) -> tuple[tuple[float, ...], tuple[int, ...]]:
    """Checked input delays: (delays in ms, in whole steps of ``dt``).

    Each input channel reaches each neuron through one synapse per delay, with its own
    weights (a fixed set of axonal delays, as Brian2's per-synapse ``delay``).

    Parameters
    ----------
    delays : sequence of float (ms)
        Distinct, non-negative whole multiples of ``dt``.
    dt : float (ms)
        The time step.

    Returns
    -------
    delays : tuple of float
        The delays (ms).
    steps : tuple of int
        The delays in steps.

    Raises
    ------
    ValueError
        Delays that are not numbers, none, negative, repeated or not whole multiples of dt.
    """
    try:
        values = tuple(float(d) for d in delays)
    except (TypeError, ValueError):
        raise ValueError(f"delays: a list of numbers in ms, got {delays!r}") from None
    if not values or not all(math.isfinite(d) and d >= 0 for d in values):
        raise ValueError(f"delays (ms): at least one, each finite and >= 0, got {list(delays)}")
    if len(set(values)) != len(values):
        raise ValueError(f"delays (ms): must be distinct, got {list(values)}")
    steps = tuple(round(d / dt) for d in values)
    if any(abs(s * dt - d) > 1e-9 * max(1.0, d) for s, d in zip(steps, values)):
        raise ValueError(f"delays (ms): whole multiples of dt = {dt} ms, got {list(values)}")
    return values, steps


class SpikingLayer(nn.Module):
    """``n_out`` neurons of ``model`` fed by ``n_in`` inputs (and themselves if ``recurrent``).

    A nonzero refractory period (``params={"tau_ref": ...}``) needs ``order="brian"``.

    Parameters
    ----------
    model : str or NeuronModel
        The neuron model (a name or path, as :func:`~dgnsim.core.models.load_model` takes).
    n_in : int
        Input channels.
    n_out : int
        Neurons.
    recurrent : bool
        Recurrent weights (the previous step's spikes jump the input targets).
    dt : float (ms)
        The time step.
    params : dict of str to Quantity, optional
        Parameter values other than the model file's defaults, with their units (scalars,
        or one value per neuron for per-neuron parameters).
    reset : str, optional
        A reset variant of the model file (e.g. ``"soft"``); None: its default reset.
    surrogate : str
        The spike function's surrogate derivative (a key of :data:`~dgnsim.surrogate.SURROGATES`).
    width : float (mV)
        The surrogate's width.
    order : {"brian", "paper"}
        Brian2's order of a step, or paper A's discrete form (see the module).
    detach_reset : bool
        The reset is a constant of the backward pass.
    spiking : bool
        False: no threshold and no reset (a leaky integrator, as the readout).
    detach_recurrent : bool
        The recurrent spikes are constants of the backward pass.
    delays : sequence of float (ms)
        Input delays: one synapse per input channel, neuron and delay (see :func:`input_delays`).
    compile_loop : bool
        Run the time loop under ``torch.compile`` while gradients are on (training), in
        chunks of :data:`COMPILE_STEPS` steps; the first batch then takes seconds to compile
        (a batch of another size, once more). Evaluation, and every run without gradients,
        stays eager. Falls back to eager, with a warning, where compilation fails.

    Raises
    ------
    ValueError
        An unknown order or parameter, sizes below 1, a parameter value of the wrong unit
        or shape, a positive parameter that is not, a refractory period with ``order="paper"``.
    """

    def __init__(
        self,
        model: str,
        n_in: int,
        n_out: int,
        *,
        recurrent: bool = False,
        dt: float = 1.0,
        params: dict | None = None,
        reset: str | None = None,
        surrogate: str = "fast_sigmoid",
        width: float = 1.0,
        order: str = "brian",
        detach_reset: bool = True,
        spiking: bool = True,
        detach_recurrent: bool = True,
        delays=(0.0,),
        compile_loop: bool = False,
    ):
        super().__init__()
        if order not in ORDERS:
            raise ValueError(f"order: one of {ORDERS}, not {order!r}")
        if n_in < 1 or n_out < 1:
            raise ValueError(f"layer sizes must be positive, got {n_in} -> {n_out}")
        self.spec = load_model(model)
        self.program = compile_model(self.spec, reset)
        self.model_name, self.n_in, self.n_out, self.recurrent = self.spec.name, n_in, n_out, recurrent
        self.reset_variant, self.order, self.detach_reset, self.spiking = reset, order, detach_reset, spiking
        self.detach_recurrent = detach_recurrent
        self.surrogate, self.width, self.dt = surrogate, float(width), float(dt)
        self.delays, self.delay_steps = input_delays(delays, self.dt)
        if not isinstance(compile_loop, bool):
            raise ValueError(f"compile_loop: True or False, got {compile_loop!r}")
        self.compile_loop, self._compile_failed = compile_loop, False
        self._compiled_loop: Callable | None = None
        self.register_buffer("_dt", torch.tensor(float(dt), dtype=torch.float64), persistent=False)
        # variables Brian2 holds while refractory
        self._clamped = frozenset(self.spec.clamped)
        if order == "paper":
            targets = list(self.program.input_targets.values())
            if list(self.spec.update_order[: len(targets)]) != sorted(targets, key=self.spec.update_order.index):
                raise ValueError(f"{model}: order='paper' needs the input traces first in update_order")
        # neuron parameters (mV-ms numbers); positive ones learn their logarithm
        self._positive = {n for n, p in self.spec.parameters.items() if p.positive}
        overrides = dict(params or {})
        unknown = set(overrides) - set(self.spec.parameters)
        if unknown:
            raise ValueError(f"model {model!r} has no parameter(s) {sorted(unknown)}")
        for name, p in self.spec.parameters.items():
            value = require_quantity(name, overrides.get(name, p.default), p.unit, p.unit_text)
            array = torch.as_tensor(mv_ms_value(value), dtype=torch.float32)
            if p.positive and torch.any(array <= 0):
                raise ValueError(f"{name}: must be positive, got {value!r}")
            shape = (n_out,) if p.scope == "neuron" else (1,)
            array = array.expand(shape).clone() if array.ndim == 0 or array.numel() == 1 else array
            if array.shape != shape:
                raise ValueError(f"{name}: expected {shape[0]} values, got {tuple(array.shape)}")
            raw = self.to_raw(name, array)
            if p.learnable:
                self.register_parameter(f"p_{name}", nn.Parameter(raw))
            else:
                self.register_buffer(f"p_{name}", raw)
        # synaptic weights: one matrix per synapse parameter (w in mV, c dimensionless); with
        # input delays, rows k*n_in .. (k+1)*n_in - 1 are the synapses of delay delays[k]
        for syn_name in self.program.input_targets:
            self.register_parameter(f"W_{syn_name}", nn.Parameter(torch.zeros(len(self.delay_steps) * n_in, n_out)))
            if recurrent:
                self.register_parameter(f"R_{syn_name}", nn.Parameter(torch.zeros(n_out, n_out)))
        self.step_parameters()  # refuses a refractory period with order='paper' now, not at the first run

    # -- parameters -----------------------------------------------------------------
    @property
    def positive_parameters(self) -> frozenset:
        """Names of the parameters that must be positive (stored, and learned, as their logarithm)."""
        return frozenset(self._positive)

    def to_raw(self, name: str, value: torch.Tensor) -> torch.Tensor:
        """The stored (learned) form of a parameter value: log for positive ones, value/scale if scaled.

        Parameters
        ----------
        name : str
            The parameter.
        value : torch.Tensor
            Its value in mV-ms numbers.

        Returns
        -------
        torch.Tensor
            The stored form.
        """
        p = self.spec.parameters[name]
        if name in self._positive:
            return torch.log(value)
        return value / p.learn_scale if p.learn_scale else value

    def from_raw(self, name: str, raw: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`to_raw`: the parameter value in mV-ms numbers.

        Parameters
        ----------
        name : str
            The parameter.
        raw : torch.Tensor
            Its stored form.

        Returns
        -------
        torch.Tensor
            Its value in mV-ms numbers.
        """
        p = self.spec.parameters[name]
        if name in self._positive:
            return torch.exp(raw)
        return raw * p.learn_scale if p.learn_scale else raw

    def neuron_params(self) -> dict[str, torch.Tensor]:
        """Every neuron parameter in mV-ms numbers, broadcastable to (batch, n_out)."""
        return {name: self.from_raw(name, getattr(self, f"p_{name}")) for name in self.spec.parameters}

    def weights(self, kind: str = "W") -> dict[str, torch.Tensor]:
        """Input (``"W"``) or recurrent (``"R"``) weight matrices by synapse parameter.

        Parameters
        ----------
        kind : {"W", "R"}
            Input weights, (K n_in, n_out) with K delays, or recurrent ones, (n_out, n_out).

        Returns
        -------
        dict of str to torch.nn.Parameter
            Synapse parameter (``w``, ``c``) to its matrix.
        """
        return {n: getattr(self, f"{kind}_{n}") for n in self.program.input_targets}

    def project(self) -> None:
        """Keep trained values where Brian2 accepts them; called after each optimiser step.

        Synaptic parameters declared non-negative (the DGN's conductances c) are clamped at
        0: a negative conductance can make the gated leak negative and the membrane run
        away. Time constants are clamped at two steps, the coarsest step
        :func:`dgnsim.brian.network.make_group` accepts; parameters with a sign in the model file
        (``nonnegative``, ``nonpositive``) are clamped to it.
        """
        with torch.no_grad():
            floor = math.log(MIN_STEPS_PER_TIME_CONSTANT * self.dt)
            for name in self._positive:  # time constants stay resolvable by the step (as make_group demands)
                if self.spec.parameters[name].unit_text == "ms":
                    getattr(self, f"p_{name}").clamp_(min=floor)
            for name, p in self.spec.parameters.items():  # sign constraints of the model file
                if p.nonpositive:
                    getattr(self, f"p_{name}").clamp_(max=0)
                if p.nonnegative and name not in self._positive:
                    getattr(self, f"p_{name}").clamp_(min=0)
            for kind in ("W", "R") if self.recurrent else ("W",):
                for name, w in self.weights(kind).items():
                    if self.spec.synapse.parameters[name].nonnegative:
                        w.clamp_(min=0)

    def regularizer(self) -> torch.Tensor:
        """Penalty that keeps parameters away from unstable ranges (the seed's guideline 4).

        The projection (:meth:`project`) enforces the hard limits; this soft penalty starts
        before them: time constants below four steps, and for ``lnm`` a leak a1 weaker than
        1/(200 ms) (the rest state is about to lose its stability).
        """
        p = self.neuron_params()
        penalty = torch.zeros((), dtype=next(self.parameters()).dtype)
        for name in self._positive:
            if self.spec.parameters[name].unit_text == "ms":
                penalty = penalty + torch.relu(4 * self.dt - p[name]).pow(2).sum()
        if self.model_name == "lnm":
            penalty = penalty + (torch.relu(p["a1"] + 1 / 200.0) * 200.0).pow(2).sum()
        return penalty

    # -- simulation -----------------------------------------------------------------
    def refractory_period(self) -> torch.Tensor | None:
        """The model's ``refractory`` entry in ms (a parameter such as ``tau_ref``, or a time), or None.

        A condition (Brian2 also takes ``refractory = "v > ..."``) has no counterpart here and
        is refused.
        """
        entry = self.spec.refractory.strip()
        if entry in self.spec.parameters:
            return self.from_raw(entry, getattr(self, f"p_{entry}"))
        try:
            value = parse_unit(entry)
            return torch.as_tensor(float(mv_ms_value(require_quantity("refractory", value, ms, "ms"))))
        except (TypeError, ValueError):
            raise ValueError(
                f"{self.spec.name}: refractory = {entry!r}: the surrogate takes a refractory "
                "period (a parameter or a time), not a condition"
            ) from None

    def step_parameters(self, dtype: torch.dtype | None = None) -> StepParameters:
        """The constant inputs of :func:`~dgnsim.surrogate.functional.step` for this layer.

        Parameters
        ----------
        dtype : torch.dtype, optional
            The floating type of the run (default: the layer's); the neuron parameters,
            ``dt`` and the invariants hoisted out of the loop are in it.

        Returns
        -------
        StepParameters
            The step's constant inputs.

        Raises
        ------
        ValueError
            A refractory period with ``order="paper"``.
        """
        params = self.neuron_params()
        dtype = dtype or params[next(iter(params))].dtype
        params = {k: v.to(dtype) for k, v in params.items()}
        period = self.refractory_period()
        refractory = None if period is None or not self.spiking else refractory_steps(period, self.dt)
        if period is not None and refractory is not None and self.order != "brian":
            raise ValueError(
                f"{self.spec.refractory.strip()}: a refractory period of {float(period.max())} ms "
                "needs order='brian' "
                f"(paper A's discrete form has none), got order={self.order!r}"
            )
        return StepParameters(
            program=self.program,
            params=params,
            invariants=self.program.prepare(params, self._dt.to(dtype)),
            recurrent=self.weights("R") if self.recurrent else {},
            refractory=refractory,
            clamped=self._clamped,
            order=self.order,
            spiking=self.spiking,
            surrogate=self.surrogate,
            width=self.width,
            detach_reset=self.detach_reset,
            detach_recurrent=self.detach_recurrent,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Spikes (T, B, n_out) for input spikes ``x`` (T, B, n_in).

        Parameters
        ----------
        x : torch.Tensor
            Input spikes, (T, B, n_in).

        Returns
        -------
        torch.Tensor
            Spikes, (T, B, n_out), 0/1.
        """
        return self.run(x)[0]

    def run(self, x: torch.Tensor, record: bool = False):
        """Spikes, and with ``record`` the state after each step.

        Parameters
        ----------
        x : torch.Tensor
            Input spikes, (T, B, n_in).
        record : bool
            Also return the state variables after each step.

        Returns
        -------
        spikes : torch.Tensor
            (T, B, n_out), 0/1.
        traces : dict of str to torch.Tensor or None
            With ``record``, each state variable after each step, (T, B, n_out) in mV-ms
            numbers; else None.

        Raises
        ------
        ValueError
            Input of another shape.
        """
        if x.ndim != 3 or x.shape[2] != self.n_in:
            raise ValueError(f"input must be (time, batch, {self.n_in}), got {tuple(x.shape)}")
        p = self.step_parameters(x.dtype)
        drive = self.input_drive(x)
        state = initial_state(p, x.shape[1], self.n_out, x.dtype)
        if self.compile_loop and torch.is_grad_enabled() and not self._compile_failed:
            try:
                return self._run_compiled(drive, state, p, record)
            except Exception as exc:  # no C++ compiler, unsupported platform: eager, with the reason
                self._compile_failed = True
                warnings.warn(f"{self.model_name}: torch.compile failed, running eager: {exc}", stacklevel=2)
        spikes, traces, _ = time_loop(drive, state, p, record)
        return spikes, traces

    def _run_compiled(self, drive: dict, state, p: StepParameters, record: bool):
        """:func:`time_loop` compiled, in chunks of :data:`COMPILE_STEPS` steps (the rest eager)."""
        if self._compiled_loop is None:
            # a copy of the loop's code per layer: dynamo keeps its compiled graphs (and its
            # limit of recompilations) per code object, so layers do not evict each other's
            fresh = types.FunctionType(time_loop.__code__.replace(), time_loop.__globals__, "time_loop")
            self._compiled_loop = torch.compile(fresh)
        steps = len(next(iter(drive.values())))
        spikes, traces = [], []
        for start in range(0, steps, COMPILE_STEPS):
            chunk = {target: d[start : start + COMPILE_STEPS] for target, d in drive.items()}
            loop = self._compiled_loop if start + COMPILE_STEPS <= steps else time_loop
            z, trace, state = loop(chunk, _uniform(state), p, record)
            spikes.append(z)
            traces.append(trace)
        out = torch.cat(spikes)
        return out, ({v: torch.cat([tr[v] for tr in traces]) for v in traces[0]} if record else None)

    def delayed_input(self, x: torch.Tensor) -> torch.Tensor:
        """Input spikes as the synapses deliver them.

        Parameters
        ----------
        x : torch.Tensor
            Input spikes, (T, B, n_in).

        Returns
        -------
        torch.Tensor
            (T, B, K n_in): block k is ``x`` delayed by ``delay_steps[k]`` steps (silent
            before), the rows of ``W`` in the same order.
        """
        if self.delay_steps == (0,):
            return x
        steps = x.shape[0]
        blocks = [
            x if d == 0 else torch.cat([x.new_zeros((min(d, steps),) + x.shape[1:]), x[: max(steps - d, 0)]])
            for d in self.delay_steps
        ]
        return torch.cat(blocks, dim=2)

    def input_drive(self, x: torch.Tensor) -> dict:
        """Per input target (e.g. ``I``, ``g``): its jump at each step.

        Parameters
        ----------
        x : torch.Tensor
            Input spikes, (T, B, n_in).

        Returns
        -------
        dict of str to tuple of torch.Tensor
            Per input target, T tensors (B, n_out) in mV-ms numbers.
        """
        # one product for all steps; unbind once (indexing per step would cost O(T^2) backward)
        xd = self.delayed_input(x)
        return {self.program.input_targets[n]: (xd @ w).unbind(0) for n, w in self.weights("W").items()}


def _uniform(state: StepState) -> StepState:
    """``state`` as every chunk of the compiled loop sees it, so that one graph serves them all.

    The distance (a record, not an input) is dropped, and the floating tensors are made to
    require a gradient: the initial state does not, the state after a chunk does, and dynamo
    would compile a second graph for the first. Tensors that did not require a gradient
    have no path back to a parameter, so making them leaves changes no gradient.
    """

    def leaf(x):
        return x if x.requires_grad else x.detach().requires_grad_()

    return StepState({k: leaf(v) for k, v in state.variables.items()}, leaf(state.z), state.refractory)


#: Steps per call of the compiled time loop (:attr:`SpikingLayer.compile_loop`): torch.compile unrolls
#: the loop, so its compile time grows with the chunk; 10 steps run at nearly the speed of a
#: whole compiled sequence of 100 for a fraction of its compile time.
COMPILE_STEPS = 10


def time_loop(drive: dict, state: StepState, p: StepParameters, record: bool = False):
    """The layer's time loop: :func:`~dgnsim.surrogate.functional.step` once per step of ``drive``.

    Parameters
    ----------
    drive : dict of str to sequence of torch.Tensor
        Per input target, its jump at each step (T tensors of shape (B, n), mV-ms numbers).
    state : StepState
        The state before the first step.
    p : StepParameters
        The step's constant inputs.
    record : bool
        Also return the state variables after each step.

    Returns
    -------
    spikes : torch.Tensor
        (T, B, n), 0/1.
    traces : dict of str to torch.Tensor or None
        With ``record``, each state variable after each step, (T, B, n); else None.
    state : StepState
        The state after the last step.
    """
    spikes: list[torch.Tensor] = []
    traces: dict[str, list[torch.Tensor]] = {v: [] for v in state.variables}
    for t in range(len(next(iter(drive.values())))):
        z, state = step({target: d[t] for target, d in drive.items()}, state, p)
        spikes.append(z)
        if record:
            for var, value in state.variables.items():
                traces[var].append(value)
    out = torch.stack(spikes)
    return out, ({v: torch.stack(tr) for v, tr in traces.items()} if record else None), state


POOLS = ("mean", "max")


class Readout(SpikingLayer):
    """Non-spiking leaky integrators (the ``lif`` model without threshold).

    Logits: v - v_rest (mV) pooled over time, by its mean or its maximum.

    Parameters
    ----------
    n_in : int
        Inputs (the hidden neurons).
    n_out : int
        Outputs (the classes).
    dt : float (ms)
        The time step.
    params : dict of str to Quantity, optional
        ``lif`` parameter values other than the defaults.
    pool : {"mean", "max"}
        How the logits pool v - v_rest over time.

    Raises
    ------
    ValueError
        An unknown pool.
    """

    W_w: nn.Parameter  # registered by SpikingLayer: the readout's synapse parameter is w

    def __init__(self, n_in: int, n_out: int, *, dt: float = 1.0, params: dict | None = None, pool: str = "mean"):
        if pool not in POOLS:
            raise ValueError(f"readout pool: one of {POOLS}, not {pool!r}")
        super().__init__("lif", n_in, n_out, dt=dt, params=params, spiking=False)
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, n_out): v - v_rest (mV) pooled over time.

        Parameters
        ----------
        x : torch.Tensor
            Hidden spikes, (T, B, n_in).

        Returns
        -------
        torch.Tensor
            Logits, (B, n_out).
        """
        if self.pool == "mean":
            return self.mean_response(x)
        _, traces = self.run(x, record=True)
        return pool_logits(traces["v"] - self.neuron_params()["v_rest"], self.pool)

    def mean_response(self, x: torch.Tensor) -> torch.Tensor:
        """Time-mean of v - v_rest, computed as a linear filter of the input.

        The readout is affine in its input and in I_ext, so the mean over the T steps
        equals sum_t K[t] (x_t @ W) + K_ext I_ext, with K and K_ext the responses of the
        step-by-step loop (:meth:`run`) to unit jumps; they depend only on the time
        constants and T, and are cached. Equal to the loop up to rounding, and one
        time loop cheaper in training.

        Parameters
        ----------
        x : torch.Tensor
            Hidden spikes, (T, B, n_in).

        Returns
        -------
        torch.Tensor
            The time-mean of v - v_rest (mV), (B, n_out).
        """
        steps = x.shape[0]
        kernel, k_ext = self._kernels(steps, x.dtype)
        drive = x @ self.W_w  # (T, B, n_out)
        return torch.einsum("tbn,tn->bn", drive, kernel) + k_ext * self.neuron_params()["I_ext"]

    def _kernels(self, steps: int, dtype):
        params = {k: v.detach().to(dtype) for k, v in self.neuron_params().items() if k != "I_ext"}
        key = (steps, dtype, tuple(float(v.sum()) for v in params.values()))
        if getattr(self, "_kernel_cache", (None,))[0] != key:
            with torch.no_grad():
                n, base = self.n_out, self.step_parameters(dtype)
                target = self.program.input_targets["w"]

                def response(i_ext, batch, jump):  # sum over the steps of v - v_rest, I_ext given
                    probe = dict(params, I_ext=i_ext)
                    p = replace(base, params=probe, invariants=self.program.prepare(probe, self._dt.to(dtype)))
                    state, total = initial_state(p, batch, n, dtype), torch.zeros(batch, n, dtype=dtype)
                    for t in range(steps):
                        _, state = step({target: jump(t)}, state, p)
                        total += state.variables["v"] - probe["v_rest"]
                    return total

                # batch k: a unit jump of I at step k; then no input and I_ext = 1
                kernel = (
                    response(
                        torch.zeros(n, dtype=dtype), steps, lambda t: (torch.arange(steps) == t).to(dtype)[:, None]
                    )
                    / steps
                )
                ext = response(torch.ones(n, dtype=dtype), 1, lambda t: torch.zeros(1, n, dtype=dtype))[0]
            self._kernel_cache = (key, kernel, ext / steps)
        return self._kernel_cache[1], self._kernel_cache[2]


def pool_logits(v: torch.Tensor, pool: str) -> torch.Tensor:
    """Logits from readout potentials: their mean or maximum over time.

    Parameters
    ----------
    v : torch.Tensor (mV)
        Readout potentials less rest, (T, B, n).
    pool : {"mean", "max"}
        How to pool over time.

    Returns
    -------
    torch.Tensor
        Logits, (B, n).
    """
    return v.mean(dim=0) if pool == "mean" else v.max(dim=0).values


class Classifier(nn.Module):
    """Input spikes -> one hidden layer of ``model`` (optionally recurrent) -> readout logits.

    ``config`` records the constructor's arguments (JSON; the model by name), all but
    ``compile_loop``, which changes how the network runs, not what it computes.

    Parameters
    ----------
    model : str, path-like or NeuronModel
        The hidden layer's model (as :func:`~dgnsim.core.models.load_model` takes);
        ``config["model"]`` records its name.
    n_in : int
        Input channels.
    n_hidden : int
        Hidden neurons.
    n_out : int
        Classes (readout neurons).
    recurrent : bool
        Recurrent hidden weights.
    dt : float (ms)
        The time step.
    surrogate : str
        The spike function's surrogate derivative (a key of :data:`~dgnsim.surrogate.SURROGATES`).
    width : float (mV)
        The surrogate's width.
    reset : str, optional
        A reset variant of the model file; None: its default reset.
    order : {"brian", "paper"}
        The hidden layer's order of a step (see :class:`SpikingLayer`).
    seed : int
        Seed of the initial weights.
    weight_scale : float
        Factor on the initial weights.
    bias : float (mV)
        The hidden neurons' initial ``I_ext``.
    pool : {"mean", "max"}
        How the readout pools over time.
    dropout : float
        Probability that a hidden spike is dropped on its way to the readout in training.
    delays : sequence of float (ms)
        The hidden layer's input delays.
    compile_loop : bool
        Compile the hidden layer's time loop for training (see :class:`SpikingLayer`).

    Raises
    ------
    ValueError
        A dropout outside [0, 1), and what :class:`SpikingLayer` and :class:`Readout` refuse.
    """

    config: dict[str, Any]  # JSON: the constructor's arguments, the model by name

    def __init__(
        self,
        model: str,
        n_in: int,
        n_hidden: int,
        n_out: int,
        *,
        recurrent: bool = False,
        dt: float = 1.0,
        surrogate: str = "fast_sigmoid",
        width: float = 1.0,
        reset: str | None = None,
        order: str = "brian",
        seed: int = 0,
        weight_scale: float = 1.0,
        bias: float = 12.0,
        pool: str = "mean",
        dropout: float = 0.0,
        delays=(0.0,),
        compile_loop: bool = False,
    ):
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.hidden = SpikingLayer(
            model,
            n_in,
            n_hidden,
            recurrent=recurrent,
            dt=dt,
            surrogate=surrogate,
            width=width,
            reset=reset,
            order=order,
            delays=delays,
            compile_loop=compile_loop,
        )
        # the model's name, not the path or record given (that went to the layer): the config stays JSON
        self.config = dict(
            model=self.hidden.spec.name,
            n_in=n_in,
            n_hidden=n_hidden,
            n_out=n_out,
            recurrent=recurrent,
            dt=dt,
            surrogate=surrogate,
            width=width,
            reset=reset,
            order=order,
            seed=seed,
            weight_scale=weight_scale,
            bias=bias,
            pool=pool,
            dropout=dropout,
            delays=list(self.hidden.delays),
        )
        self.readout = Readout(n_hidden, n_out, dt=dt, pool=pool)
        self.init_weights(seed, weight_scale)

    def init_weights(self, seed: int, scale: float = 1.0) -> None:
        """Gaussian weights scaled by fan-in (w: mV; one input per channel and delay), small
        positive gate conductances (c), and hidden neurons biased towards threshold (I_ext =
        ``bias`` mV).

        Parameters
        ----------
        seed : int
            Seed of the weights' generator.
        scale : float
            Factor on the weights.
        """
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            cast(nn.Parameter, self.hidden.p_I_ext).fill_(self.config["bias"])  # registered by name
            for layer in (self.hidden, self.readout):
                for name, w in layer.weights("W").items():
                    fan_in = w.shape[0]
                    if name == "c":  # s-DGN: the gate is also the drive, so start it weaker
                        c_max = 0.01 if layer.model_name == "sdgn" else 0.05
                        w.copy_(torch.rand(w.shape, generator=gen) * c_max * scale)
                    else:
                        w.copy_(torch.randn(w.shape, generator=gen) * scale * 20.0 / math.sqrt(fan_in))
                if layer.recurrent:
                    for name, w in layer.weights("R").items():
                        w.copy_(
                            torch.randn(w.shape, generator=gen) * (0.01 if name == "c" else 2.0 / math.sqrt(w.shape[0]))
                        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, n_out) for input spikes ``x`` (B, T, n_in).

        In training mode, hidden spikes reach the readout through dropout (probability
        ``dropout``, survivors scaled by 1/(1 - dropout)); in evaluation mode, and so in
        Brian2, every spike passes unchanged.

        Parameters
        ----------
        x : torch.Tensor
            Input spikes, (B, T, n_in).

        Returns
        -------
        torch.Tensor
            Logits, (B, n_out).
        """
        h = self.hidden(x.transpose(0, 1))
        if self.training and self.config["dropout"]:
            h = torch.nn.functional.dropout(h, self.config["dropout"])
        return self.readout(h)

    def hidden_spikes(self, x: torch.Tensor) -> torch.Tensor:
        """The hidden layer's spikes.

        Parameters
        ----------
        x : torch.Tensor
            Input spikes, (B, T, n_in).

        Returns
        -------
        torch.Tensor
            Hidden spikes, (T, B, n_hidden), 0/1.
        """
        return self.hidden(x.transpose(0, 1))

    def regularizer(self) -> torch.Tensor:
        """The hidden layer's and the readout's :meth:`SpikingLayer.regularizer`, summed.

        Returns
        -------
        torch.Tensor
            A scalar penalty.
        """
        return self.hidden.regularizer() + self.readout.regularizer()

    def project(self) -> None:
        """The hidden layer's :meth:`SpikingLayer.project` (call after each optimiser step)."""
        self.hidden.project()
