"""NIR in and out: chains of Linear/Affine and CubaLIF/CubaLI (``lif``) or LIF/IF/LI (``lif_delta``) nodes.

Conventions (NIR itself is unitless): voltages in mV, time constants in seconds, a spike
is the value 1 in the step it occurs. NIR's CubaLIF is
``tau_syn dI/dt = -I + w_in s``, ``tau_mem dv/dt = (v_leak - v) + r I``, spike if
``v > v_threshold``, then ``v = v_reset``; CubaLI is the same without spikes. Our ``lif``
model is the same pair of ODEs (I in mV, ``v_rest = v_leak``); per input spike its current
jumps by ``w`` (mV), and it is advanced by exact decay of I, then an exponential-Euler
step of v, then the threshold and a hard reset.

Two discretisations on import (``discretisation=``):

- ``"snntorch"`` (default): NIR's ODEs advanced by one forward-Euler step of the graph's
  own ``dt`` (metadata ``dt`` in seconds, else snnTorch's 1e-4 s) per Brian2 step: the
  discrete form of snnTorch's ``Synaptic`` and ``Leaky`` neurons, and what Norse's
  ``from_nir`` computes at its ``dt``. snnTorch's NIR export writes ``Synaptic`` as
  ``tau = dt/(1-alpha)``, ``r = tau_mem/dt``, ``w_in = tau_syn/dt`` with ``dt = 1e-4 s``:
  ``syn = alpha syn + W s``, ``mem = beta mem + syn``. We set
  ``alpha = 1 - dt/tau_syn``, ``beta = 1 - dt/tau_mem``,
  ``tau_syn' = -dt/ln(alpha)``, ``tau_mem' = -dt/ln(beta)`` and scale the weights so the
  discrete updates coincide: identical up to floating-point rounding (~1e-16 relative), so
  spikes agree except where the membrane lies within rounding of threshold. snnTorch's
  reset must be ``reset_mechanism="zero", reset_delay=False`` (reset right after the
  spike, like ours); its default (``reset_delay=True``: reset applied a step later,
  'subtract' after the decay) has no counterpart in our ``lif`` and NIR does not record it.
- ``"exact"``: NIR's continuous ODEs, integrated with our scheme (what :func:`export_nir`
  writes); a spike adds ``r dt w_in W / tau_syn`` to our current (the Euler step's
  increment). Export then import gives the same network.

LIF, IF and LI nodes (no synaptic current: the input jumps the membrane directly) become
groups of the ``lif_delta`` model (``v_post += w``, ``tau_mem dv/dt = v_rest + I_ext - v``,
exponential-Euler step, no refractoriness). A jump arrives at the start of a step and decays
with the membrane in that step, so:

- ``"snntorch"``: snnTorch's ``Leaky`` (``mem = beta mem + W x``) is exported as NIR LIF with
  ``tau = dt/(1-beta)``, ``r = tau/dt``, ``v_leak = 0``, ``v_reset = 0`` (``dt = 1e-4 s``). We set
  ``beta = 1 - dt/tau``, ``tau_mem = -dt'/ln(beta)`` and weights ``W dt r/(tau beta)`` (the
  ``1/beta`` undoes the decay of the jump in its own step): the discrete updates coincide up
  to floating-point rounding. A zero reset (``reset_mechanism="zero"``) gives the same spikes
  with or without snnTorch's ``reset_delay`` (the membrane is 0 before the next input either
  way). ``"subtract"`` is not recorded by NIR (snnTorch writes ``v_reset = 0`` for every
  mechanism), so such a network is imported with a zero reset and its spikes differ.
- ``"exact"``: one step's input (value 1 for a spike) enters as the Euler increment
  ``r dt W / tau`` (IF: ``r dt W``) at the start of the step, the leak is then integrated
  exactly over the step (as for the CubaLIF current above).

IF (``dv/dt = r I``, no leak) gets ``tau_mem`` = :data:`IF_TAU_STEPS` time steps: ``dt/tau_mem =
1e-20`` is below half an ulp of 1, so ``exp(-dt/tau_mem)`` is exactly 1.0 in float64 and the
membrane does not leak at all (no discretisation error beyond the rounding of the sums). LI is
``lif_delta`` with the threshold at :data:`~dgnsim.interop.bridge.READOUT_V_TH` (never spikes); a
non-spiking node (LI, CubaLI) must be the last neuron node, as its output is a voltage.

An Affine bias ``b`` is an input of value 1 in every step through weights ``b`` (snnTorch's
``nn.Linear`` adds it to the input current every step). For LIF and LI it is folded into
``I_ext`` (the membrane's constant drive; exact with either discretisation). For CubaLIF and
CubaLI it enters the synaptic current: per step the current gets the jump ``d`` that a
spike through weight ``b`` would give and decays by ``a``, so after step ``t`` it holds
``S (1 - a^(t+1))`` with ``S = d a/(1-a)``, since snnTorch's ``syn`` starts at 0. We set
``I_ext = S`` (a constant drive of v) and start the current at ``I = -S``, which decays
with ``I``: the same sum, exactly, without extra synapses. IF has no leak to carry a
constant drive (its membrane does not move under ``I_ext``), so an IF bias is refused.

Recurrence: a spiking node (CubaLIF, LIF, IF) may feed itself through one Linear/Affine node
whose only input and only output is that node -- ``lif -> w_rec -> lif``, the flat form
snnTorch 1.0.0's ``export_to_nir`` writes for ``RSynaptic`` / ``RLeaky`` (its ``w_rec`` is
an Affine). The recurrent weights get the same per-neuron scaling as the layer's
feed-forward weights (both are inputs to the same node), an Affine bias on them adds to the
feed-forward bias, and they deliver the previous step's spikes at the start of the step
(``s_{t-1}``, like snnTorch's ``recurrent(self.spk)`` and the surrogate's ``z_{t-1} R``): the
Brian2 synapses run before the layer's state update, at the schedule of
:mod:`dgnsim.interop.bridge`'s recurrent synapses. Any other cycle is refused.
snnTorch's RSynaptic cannot be matched spike for spike: with a zero reset it applies the reset
a step late by discarding that step's membrane update (``reset_delay=True``; its
``reset_delay=False`` branch does not reset ``self.mem`` in snnTorch 1.0.0), unlike our
``lif``; RLeaky with ``reset_mechanism="zero", reset_delay=False`` matches exactly.

Refused with an explanation: unknown nodes, nonzero Affine biases before IF,
branches and cycles other than the recurrence above. The DGN has no NIR node (its conductance gate g multiplies the
membrane's distance to E_gate): exporting it is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from brian2 import Quantity, SpikeGeneratorGroup, SpikeMonitor, StateMonitor, ms, mV, second

from dgnsim.brian.backend import Simulation
from dgnsim.brian.network import connect, make_group
from dgnsim.core.models import MIN_STEPS_PER_TIME_CONSTANT
from dgnsim.core.units import require_quantity
from dgnsim.interop.bridge import READOUT_V_TH, RECURRENT_SCHEDULE, BridgeError, check_input, dense_pairs

DISCRETISATIONS = ("snntorch", "exact")
#: Brian2 slot of recurrent synapses onto the first layer: :func:`dgnsim.interop.bridge.build`'s schedule
#: (after the input generator, order 0, and the input synapses, order 1): they deliver the previous
#: step's spikes at the start of the step, as the surrogate's ``z_{t-1} R``.
#: An IF node's membrane time constant, in time steps: exp(-1e-20) == 1.0 in float64 (no leak).
IF_TAU_STEPS = 1e20


def spiking_node(node) -> bool:
    """Whether a NIR node is one of the spiking neuron nodes that import as a layer.

    Parameters
    ----------
    node : nir.NIRNode
        A node of a NIR graph.

    Returns
    -------
    bool
        True for ``CubaLIF``, ``LIF`` and ``IF`` (not for ``CubaLI``, ``LI`` or ``Linear``).
    """
    import nir

    return isinstance(node, (nir.CubaLIF, nir.LIF, nir.IF))


@dataclass(frozen=True)
class NirLayer:
    """One imported layer: incoming weights in mV per spike and our model's parameters.

    Parameters
    ----------
    weights_mv : ndarray of float (mV), shape (n_in, n)
        The jump of the target variable per input spike.
    params : dict of str to Quantity
        The model's parameters (``tau_mem``, ``v_th`` ...).
    spiking : bool
        Whether the layer spikes (False for a final ``CubaLI`` or ``LI``).
    model : {"lif", "lif_delta"}
        The model of its neurons.
    recurrent_mv : ndarray of float (mV), shape (n, n), optional
        Recurrent weights, carrying the previous step's spikes.
    initial : dict of str to Quantity
        Initial values of state variables (Brian2 quantities), e.g. ``I`` started at ``-bias``
        for an Affine bias.
    name : str, optional
        The node's name in the graph.
    """

    weights_mv: np.ndarray
    params: dict  # model parameters as Brian2 quantities (per-neuron arrays)
    spiking: bool
    model: str = "lif"  # "lif" (CubaLIF, CubaLI: w jumps the current) or "lif_delta" (LIF, IF, LI: w jumps v)
    recurrent_mv: np.ndarray | None = None  # (n, n) recurrent weights, mV per spike of the previous step
    initial: dict = field(default_factory=dict)  # initial state variables (Brian2 quantities), e.g. I of a bias
    name: str | None = None  # the NIR node's name


def _recurrent_loops(graph) -> dict:
    """``{neuron: (weight name, weight node)}`` for every ``neuron -> Linear/Affine -> neuron`` loop."""
    import nir

    nodes, edges = graph.nodes, list(graph.edges)
    loops = {}
    for k, node in nodes.items():
        if not isinstance(node, (nir.Linear, nir.Affine)):
            continue
        ins, outs = [a for a, b in edges if b == k], [b for a, b in edges if a == k]
        if len(ins) == 1 and ins == outs:
            target = ins[0]
            if not spiking_node(nodes[target]):
                raise BridgeError(
                    f"NIR graph: recurrent weights {k!r} around {target!r} "
                    f"({type(nodes[target]).__name__}); only a spiking node (CubaLIF, LIF, IF) "
                    "may feed its own spikes back"
                )
            if target in loops:
                raise BridgeError(
                    f"NIR graph: node {target!r} has two recurrent weight nodes "
                    f"({loops[target][0]!r}, {k!r}); one is supported"
                )
            loops[target] = (k, node)
    return loops


def _find_cycle(edges):
    """One cycle of ``edges`` as a list of node names, or None."""
    succ = {}
    for a, b in edges:
        succ.setdefault(a, []).append(b)
    state, stack = {}, []

    def visit(k):
        state[k], stack[len(stack) :] = 1, [k]
        for b in succ.get(k, ()):
            if state.get(b) == 1:
                return stack[stack.index(b) :] + [b]
            if b not in state and (c := visit(b)):
                return c
        state[k] = 2
        stack.pop()
        return None

    for k in list(succ):
        if k not in state and (c := visit(k)):
            return c
    return None


def _chain(graph):
    """The graph as a chain Input -> ... -> Output, and its recurrent loops (see :func:`_recurrent_loops`)."""
    import nir

    nodes = graph.nodes
    loops = _recurrent_loops(graph)
    loop_edges = {e for tgt, (w, _) in loops.items() for e in ((tgt, w), (w, tgt))}
    edges = [tuple(e) for e in graph.edges if tuple(e) not in loop_edges]
    cycle = _find_cycle(edges)
    if cycle is not None:
        raise BridgeError(
            f"NIR graph: a cycle {' -> '.join(map(str, cycle))} is not supported; the only "
            "supported cycle is a spiking node's own recurrent weights (neuron -> Linear/Affine "
            "-> the same neuron, the weight node having no other edge)"
        )
    out_of = {}
    for a, b in edges:
        if a in out_of:
            raise BridgeError(f"NIR graph: node {a!r} has more than one outgoing edge (branches are not supported)")
        out_of[a] = b
    inputs = [k for k, n in nodes.items() if isinstance(n, nir.Input)]
    if len(inputs) != 1:
        raise BridgeError(f"NIR graph: expected one Input node, found {len(inputs)}")
    order, k = [], inputs[0]
    while k in out_of:
        k = out_of[k]
        order.append(k)
    if len(order) + len(loops) != len(nodes) - 1:
        raise BridgeError("NIR graph: not a single chain from Input to Output")
    return inputs[0], [nodes[k] for k in order], list(order), loops


def _recurrent_weights(name, w_name, w_node, n):
    """NIR recurrent weight node -> ((n, n) weights, ours (in, out) layout; (n,) bias)."""
    r = np.asarray(w_node.weight, dtype=float)
    if r.shape != (n, n) or not np.all(np.isfinite(r)):
        raise BridgeError(
            f"NIR node {w_name!r}: recurrent weights of {name!r} must be a finite ({n}, {n}) array, got shape {r.shape}"
        )
    return r.T, _bias(w_name, w_node, n)


def _bias(name, node, n):
    """The (n,) bias of a weight node: an Affine's, finite; zeros for a Linear."""
    import nir

    if not isinstance(node, nir.Affine):
        return np.zeros(n)
    bias = np.broadcast_to(np.asarray(node.bias, dtype=float), (n,)).copy()
    if not np.all(np.isfinite(bias)):
        raise BridgeError(f"NIR node {name!r}: bias contains NaN or Inf")
    return bias


def _check_decay(name, label, decay):
    """Refuse a decay per step whose time constant is under the models' minimum number of steps.

    ``tau' = -dt/ln(decay)`` is that many steps whatever ``dt``, and :func:`make_group` refuses
    fewer than :data:`~dgnsim.core.models.MIN_STEPS_PER_TIME_CONSTANT`: say so at import, in
    snnTorch's terms.
    """
    low = np.exp(-1.0 / MIN_STEPS_PER_TIME_CONSTANT)
    if np.any(decay < low):
        raise BridgeError(
            f"NIR node {name!r}: {label} = {np.min(decay):.4g} per step is below "
            f"exp(-1/{MIN_STEPS_PER_TIME_CONSTANT}) = {low:.4f}: its time constant would be under "
            f"{MIN_STEPS_PER_TIME_CONSTANT} time steps (at any dt), which dgnsim's models refuse"
        )


def _vec(value, n):
    a = np.asarray(value, dtype=float).reshape(-1)
    if a.size == 1:
        a = np.full(n, float(a[0]))
    if a.shape != (n,):
        raise BridgeError(f"NIR node parameter of {a.size} values for {n} neurons")
    if not np.all(np.isfinite(a)):
        raise BridgeError("NIR node parameter contains NaN or Inf")
    return a


def import_nir(graph, dt=1 * ms, discretisation: str = "snntorch") -> list[NirLayer]:
    """Translate a NIR graph (or a path to a ``.nir`` file) into layers of ``lif`` / ``lif_delta``.

    Parameters
    ----------
    graph : nir.NIRGraph or path
        A chain Input -> (Linear/Affine -> neuron node)... -> Output (see the module docstring).
    dt : Quantity
        The Brian2 time step. With ``"snntorch"`` the graph's own step (metadata ``dt`` in
        seconds, else snnTorch's 1e-4 s) sets the decays per step, and one graph step becomes
        one Brian2 step of ``dt``.
    discretisation : {"snntorch", "exact"}
        Forward Euler at the graph's step (snnTorch, Norse) or our exact-decay scheme.

    Returns
    -------
    list of NirLayer
        One per neuron node, in order; a graph that cannot be carried across raises
        :class:`~dgnsim.interop.bridge.BridgeError` saying why.
    """
    import nir

    if discretisation not in DISCRETISATIONS:
        raise BridgeError(f"discretisation: one of {DISCRETISATIONS}, not {discretisation!r}")
    dt_s = float(require_quantity("dt", dt, second, "ms"))
    if not dt_s > 0:
        raise BridgeError(f"dt: must be positive, got {dt!r}")
    if not isinstance(graph, nir.NIRGraph):
        try:
            graph = nir.read(str(graph))
        except Exception as exc:  # truncated or not HDF5
            raise BridgeError(f"{graph}: not a readable NIR file ({type(exc).__name__}: {exc})") from None
    _, chain, names, loops = _chain(graph)
    nir_dt = float(graph.metadata.get("dt", 1e-4)) if discretisation == "snntorch" else dt_s
    layers, pending, bias = [], None, None
    for name, node in zip(names, chain):
        if layers and not layers[-1].spiking and not isinstance(node, nir.Output):
            raise BridgeError(
                f"NIR node {name!r}: follows a non-spiking node (LI/CubaLI), whose output is a "
                "voltage, not spikes; a non-spiking node must be the last neuron node"
            )
        if isinstance(node, (nir.Linear, nir.Affine)):
            if pending is not None:
                raise BridgeError(f"NIR node {name!r}: two weight nodes in a row")
            w = np.asarray(node.weight, dtype=float)
            if w.ndim != 2 or not np.all(np.isfinite(w)):
                raise BridgeError(f"NIR node {name!r}: weight must be a finite 2-d array, got shape {w.shape}")
            bias = _bias(name, node, w.shape[0])
            pending = w.T  # NIR weight is (out, in); ours (in, out)
        elif isinstance(node, (nir.CubaLIF, nir.CubaLI)):
            if pending is None:
                raise BridgeError(f"NIR node {name!r}: a neuron node must follow a Linear/Affine node")
            n, n_ff = pending.shape[1], pending.shape[0]
            if name in loops:  # recurrent weights: scaled like the feed-forward ones (same node's input)
                rec, rec_bias = _recurrent_weights(name, *loops[name], n)
                pending, bias = np.vstack([pending, rec]), bias + rec_bias
            tau_s, tau_m = _vec(node.tau_syn, n), _vec(node.tau_mem, n)
            r, v_leak, w_in = _vec(node.r, n), _vec(node.v_leak, n), _vec(node.w_in, n)
            if np.any(tau_s <= 0) or np.any(tau_m <= 0):
                raise BridgeError(f"NIR node {name!r}: time constants must be positive")
            gain_s = nir_dt * w_in / tau_s  # increment of the NIR current per spike (Euler step)
            if discretisation == "snntorch":
                alpha, beta = 1 - nir_dt / tau_s, 1 - nir_dt / tau_m
                if np.any(alpha <= 0) or np.any(beta <= 0):
                    raise BridgeError(f"NIR node {name!r}: tau <= dt gives alpha or beta <= 0")
                _check_decay(name, "alpha", alpha)
                _check_decay(name, "beta", beta)
                gain_m = nir_dt * r / tau_m
                scale = gain_s * gain_m / (alpha * (1 - beta))
                tau_syn, tau_mem = -dt_s / np.log(alpha), -dt_s / np.log(beta)
            else:
                scale = r * gain_s
                tau_syn, tau_mem = tau_s, tau_m
            w = pending * scale[None, :]
            # the bias, an input of 1 in every step through weights b: its current sums to
            # drive (1 - a^(t+1)) after step t (a: our decay of I per step), i.e. I_ext = drive
            # with the current starting at -drive
            drive = bias * scale * np.exp(-dt_s / tau_syn) / -np.expm1(-dt_s / tau_syn)
            spiking = isinstance(node, nir.CubaLIF)
            # NIR states no initial membrane: metadata "v_init" (our export writes it), else v_reset
            # (snnTorch starts at 0 = v_reset), else v_leak. lif starts at v_rest, so v_rest = v_init and
            # v_leak = v_rest + I_ext (the same ODE).
            meta = getattr(node, "metadata", None) or {}
            v0 = meta.get("v_init", node.v_reset if spiking_node(node) and node.v_reset is not None else v_leak)
            v0 = float(np.asarray(v0, dtype=float).reshape(-1)[0])
            params = {
                "tau_syn": tau_syn * second,
                "tau_mem": tau_mem * second,
                "v_rest": v0 * mV,
                "I_ext": (v_leak - v0 + drive) * mV,
            }
            if spiking:
                params["v_th"] = _vec(node.v_threshold, n) * mV
                v_reset = node.v_reset if node.v_reset is not None else v_leak
                params["v_reset"] = _vec(v_reset, n) * mV
            initial = {"I": -drive * mV} if np.any(drive != 0) else {}
            if not np.all(np.isfinite(w)) or not np.all(np.isfinite(drive)):
                raise BridgeError(f"NIR node {name!r} ({type(node).__name__}): weights or bias overflow")
            layers.append(
                NirLayer(w[:n_ff], params, spiking, "lif", w[n_ff:] if name in loops else None, initial, name)
            )
            pending = None
        elif isinstance(node, nir.Output):
            if pending is not None:
                raise BridgeError("NIR graph: weights straight into the Output (no neuron node after them)")
        elif isinstance(node, (nir.LIF, nir.IF, nir.LI)):
            if pending is None:
                raise BridgeError(f"NIR node {name!r}: a neuron node must follow a Linear/Affine node")
            n, n_ff = pending.shape[1], pending.shape[0]
            if name in loops:
                rec, rec_bias = _recurrent_weights(name, *loops[name], n)
                pending, bias = np.vstack([pending, rec]), bias + rec_bias
            layer = replace(_delta_layer(name, node, pending, bias, discretisation, nir_dt, dt_s), name=name)
            if name in loops:
                layer = replace(layer, weights_mv=layer.weights_mv[:n_ff], recurrent_mv=layer.weights_mv[n_ff:])
            layers.append(layer)
            pending = None
        else:
            raise BridgeError(
                f"NIR node {name!r}: unsupported node type {type(node).__name__} "
                "(supported: Input, Linear, Affine, CubaLIF, CubaLI, LIF, IF, LI, Output)"
            )
    if not layers:
        raise BridgeError("NIR graph: no neuron layer")
    return layers


def _delta_layer(name, node, pending, bias, discretisation, nir_dt, dt_s) -> NirLayer:
    """A NIR LIF, IF or LI node after weights ``pending`` (n_in, n) and ``bias`` (n,): a lif_delta layer."""
    import nir

    n = pending.shape[1]
    kind = type(node).__name__
    r = _vec(node.r, n)
    step = nir_dt if discretisation == "snntorch" else dt_s
    if isinstance(node, nir.IF):
        if np.any(bias != 0):
            raise BridgeError(
                f"NIR node {name!r}: a nonzero Affine bias before an IF node (no leak to turn a "
                "constant input into a resting level) is not supported"
            )
        w = pending * (step * r)[None, :]
        tau_mem = np.full(n, IF_TAU_STEPS * dt_s)
        v0 = _vec(node.v_reset, n)
        v_target = v0
    else:
        tau, v_leak = _vec(node.tau, n), _vec(node.v_leak, n)
        if np.any(tau <= 0):
            raise BridgeError(f"NIR node {name!r}: time constants must be positive")
        gain = step * r / tau  # the jump of v per unit of input (Euler increment over one step)
        if discretisation == "snntorch":
            beta = 1 - nir_dt / tau
            if np.any(beta <= 0):
                raise BridgeError(f"NIR node {name!r}: tau <= dt gives beta <= 0")
            _check_decay(name, "beta", beta)
            w = pending * (gain / beta)[None, :]
            tau_mem = -dt_s / np.log(beta)
            v_target = v_leak + gain * bias / (1 - beta)  # (1-beta) v_target = (1-beta) v_leak + gain b
        else:
            w = pending * gain[None, :]
            tau_mem = tau
            v_target = v_leak + r * bias  # constant input r b, integrated exactly
        v0 = _vec(node.v_reset, n) if isinstance(node, nir.LIF) else v_leak
    meta = getattr(node, "metadata", None) or {}
    if "v_init" in meta:
        v0 = _vec(meta["v_init"], n)
    params = {"tau_mem": tau_mem * second, "v_rest": v0 * mV, "I_ext": (v_target - v0) * mV}
    spiking = not isinstance(node, nir.LI)
    if spiking:
        params["v_th"] = _vec(node.v_threshold, n) * mV
        params["v_reset"] = _vec(node.v_reset, n) * mV
    if not np.all(np.isfinite(w)):
        raise BridgeError(f"NIR node {name!r} ({kind}): weights overflow")
    return NirLayer(w, params, spiking, "lif_delta")


@dataclass
class NirRun:
    """The result of :func:`run_nir`.

    Parameters
    ----------
    spikes : list of ndarray of bool, shape (B, T, n)
        The spikes of each spiking layer.
    v_last : ndarray of float (mV), shape (B, T, n), or None
        The membrane of a final ``CubaLI`` or ``LI`` layer (None if the last layer spikes).
    """

    spikes: list
    v_last: np.ndarray | None


def _tiled(value, copies):
    """A per-neuron quantity repeated for ``copies`` copies of the layer (a scalar as it is)."""
    if np.ndim(np.asarray(value)) != 1:
        return value
    return Quantity(np.tile(np.asarray(value), copies), dim=value.dim)


def run_nir(layers: list[NirLayer], x: np.ndarray, device: str = "numpy", dt=1 * ms) -> NirRun:
    """Run imported layers on input spikes in Brian2, B copies in one build.

    Within one step, spikes pass through every layer (layer k's input synapses deliver
    layer k-1's spikes of this step before layer k's state update), as in snnTorch. A
    layer's recurrent synapses deliver its own spikes of the previous step before its
    state update (layer 0: :data:`RECURRENT_SCHEDULE`, as in :func:`dgnsim.interop.bridge.build`).

    Parameters
    ----------
    layers : list of NirLayer
        As :func:`import_nir` returns them.
    x : ndarray, shape (B, T, n_in)
        Input spikes, 0/1.
    device : str
        The Brian2 device.
    dt : Quantity (time)
        The time step (the one given to :func:`import_nir`).

    Returns
    -------
    NirRun
        Spikes per spiking layer and the final non-spiking layer's membrane.

    Raises
    ------
    BridgeError
        If ``x`` is not 0/1 spikes of shape (B, T, n_in) for the first layer's inputs.
    """
    x = check_input(x, layers[0].weights_mv.shape[0])
    copies, steps = x.shape[:2]
    with Simulation(device, dt=dt) as sim:
        b, t, c = np.nonzero(x)
        n_prev = layers[0].weights_mv.shape[0]
        src = sim.add(SpikeGeneratorGroup(copies * n_prev, b * n_prev + c, t * dt, when="before_groups", order=0))
        mons, groups = [], []
        for k, layer in enumerate(layers):
            n = layer.weights_mv.shape[1]
            params = {p: _tiled(v, copies) for p, v in layer.params.items()}
            if not layer.spiking:
                params["v_th"] = READOUT_V_TH
            grp = sim.add(make_group(layer.model, copies * n, params, name=f"nir_layer{k}"))
            for var, value in layer.initial.items():
                setattr(grp, var, _tiled(value, copies))
            i, j = dense_pairs(n_prev, n, copies)
            syn = sim.add(
                connect(src, grp, i=i, j=j, name=f"nir_syn{k}", w=np.tile(layer.weights_mv.ravel(), copies) * mV)
            )
            if k == 0:
                syn.pre.when, syn.pre.order = "before_groups", 1
            else:  # after the previous layer's threshold, before this layer's update
                syn.pre.when, syn.pre.order = "thresholds", 10 * k - 8
            if layer.recurrent_mv is not None:  # the previous step's spikes, before this layer's update
                i, j = dense_pairs(n, n, copies)
                rec = sim.add(
                    connect(grp, grp, i=i, j=j, name=f"nir_rec{k}", w=np.tile(layer.recurrent_mv.ravel(), copies) * mV)
                )
                rec.pre.when, rec.pre.order = RECURRENT_SCHEDULE if k == 0 else ("thresholds", 10 * k - 7)
            grp.state_updater.when, grp.state_updater.order = ("groups", 0) if k == 0 else ("thresholds", 10 * k)
            grp.thresholder["spike"].when, grp.thresholder["spike"].order = "thresholds", 10 * k + 1
            mons.append(sim.add(SpikeMonitor(grp, name=f"nir_spikes{k}", when="thresholds", order=10 * k + 3)))
            groups.append(grp)
            src, n_prev = grp, n
        vmon = None
        if not layers[-1].spiking:
            vmon = sim.add(StateMonitor(groups[-1], "v", record=True, when="end"))
        sim.build(steps * dt)
        sim.run()
        spikes = []
        for layer, mon in zip(layers, mons):
            n = layer.weights_mv.shape[1]
            s = np.zeros((copies, steps, n), dtype=bool)
            idx, st = np.array(mon.i[:]), np.round(np.array(mon.t[:] / dt)).astype(int)
            s[idx // n, st, idx % n] = True
            spikes.append(s)
        v = None
        if vmon is not None:
            n = layers[-1].weights_mv.shape[1]
            v = (np.array(vmon.v[:]) / float(mV)).reshape(copies, n, steps).transpose(0, 2, 1)
    return NirRun([s for s, layer in zip(spikes, layers) if layer.spiking], v)


def export_nir(net, path=None):
    """A NIR graph of a ``lif`` Classifier: Linear -> CubaLIF -> Linear -> CubaLI.

    A recurrent hidden layer (weights ``R``) adds ``lif0 -> w_rec0 -> lif0`` (a Linear of
    ``R`` transposed, NIR's (out, in) layout), the flat cycle snnTorch writes for RSynaptic;
    it carries the previous step's spikes (see the module docstring).

    Written in the ``"exact"`` convention above (tau in s, v in mV, ``r = 1``,
    ``w_in = tau_syn/dt``, weights in mV, ``v_leak = v_rest + I_ext``, node metadata ``v_init`` =
    v_rest, the initial membrane, which NIR does not state), graph metadata ``dt`` in seconds.

    Parameters
    ----------
    net : dgnsim.surrogate.Classifier
        A trained network whose hidden and readout layers are ``lif``.
    path : str or path-like, optional
        Also write the graph there (``nir.write``).

    Returns
    -------
    nir.NIRGraph
        The graph.

    Raises
    ------
    BridgeError
        For the DGN family and other models (NIR has no node for them), for input delays, or
        for a nonzero ``tau_ref`` (NIR's CubaLIF has no refractory period).
    """
    import nir
    import torch

    model = net.hidden.model_name
    if model != "lif":
        raise BridgeError(
            f"NIR has no node for the {model!r} model (e.g. the DGN's conductance gate); only lif "
            "networks can be exported"
        )
    if net.hidden.delays != (0.0,):
        raise BridgeError(f"input delays {list(net.hidden.delays)} ms: export_nir writes undelayed networks only")
    period = net.hidden.refractory_period()
    if period is not None and bool(torch.any(period != 0)):
        raise BridgeError(
            f"tau_ref = {period.detach().numpy().ravel().tolist()} ms: NIR's CubaLIF has no "
            "refractory period; export_nir writes networks with tau_ref = 0 only"
        )
    dt_s = net.hidden.dt / 1000.0
    nodes = {"input": nir.Input(input_type={"input": np.array([net.hidden.n_in])})}
    edges, prev = [], "input"
    for k, layer in enumerate((net.hidden, net.readout)):
        p = {n: v.detach().double().numpy().reshape(-1) for n, v in layer.neuron_params().items()}
        n = layer.n_out
        full = {name: np.broadcast_to(v, (n,)).copy() for name, v in p.items()}
        tau_s, tau_m = full["tau_syn"] / 1000.0, full["tau_mem"] / 1000.0
        common = dict(
            tau_syn=tau_s,
            tau_mem=tau_m,
            r=np.ones(n),
            v_leak=full["v_rest"] + full["I_ext"],
            w_in=tau_s / dt_s,
            metadata={"v_init": float(full["v_rest"][0])},
        )
        nodes[f"linear{k}"] = nir.Linear(weight=layer.weights("W")["w"].detach().double().numpy().T.copy())
        if k == 0:
            nodes[f"lif{k}"] = nir.CubaLIF(v_threshold=full["v_th"], v_reset=full["v_reset"], **common)
        else:
            nodes[f"lif{k}"] = nir.CubaLI(**common)
        edges += [(prev, f"linear{k}"), (f"linear{k}", f"lif{k}")]
        if k == 0 and layer.recurrent:
            nodes["w_rec0"] = nir.Linear(weight=layer.weights("R")["w"].detach().double().numpy().T.copy())
            edges += [("lif0", "w_rec0"), ("w_rec0", "lif0")]
        prev = f"lif{k}"
    nodes["output"] = nir.Output(output_type={"output": np.array([net.readout.n_out])})
    edges.append((prev, "output"))
    graph = nir.NIRGraph(
        nodes=nodes, edges=edges, metadata={"dt": dt_s, "units": "v: mV, tau: s", "convention": "dgnsim exact"}
    )
    if path is not None:
        from dgnsim.io.files import atomic_path

        with atomic_path(path) as tmp:
            nir.write(str(tmp), graph)
    return graph
