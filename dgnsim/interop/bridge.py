"""The gradient bridge: a network trained in PyTorch runs in Brian2, spike for spike, and back.

A :class:`~dgnsim.surrogate.Classifier` (input -> hidden layer of a model of
``equations/`` -> ``lif`` readout) becomes a Brian2 network of this package's groups
(:func:`dgnsim.make_group`, :func:`dgnsim.connect`) with the surrogate's discretisation:

=====================  ===========================  =====================================
object                 Brian2 schedule               surrogate step
=====================  ===========================  =====================================
input neurons          ``before_groups``, order 0    x_t
input synapses         ``before_groups``, order 1    I += x_t W (and g += x_t C)
recurrent synapses     ``before_groups``, order 2    I += z_{t-1} R (last step's spikes)
hidden state update    ``groups``                    'sequential' step of the model
hidden threshold       ``thresholds``                z_t = H(distance)
hidden -> readout      ``synapses``                  readout I += z_t W_out (this step)
readout state update   ``after_synapses``            readout lif step
hidden reset           ``resets``                    reset where z_t
readout v monitor      ``end``                       logits = pool_t (v - v_rest)
=====================  ===========================  =====================================

``pool_t`` is the readout's ``pool``: the mean or the maximum over the steps. A refractory
period (``tau_ref``) is Brian2's in both (the surrogate holds the ``(unless refractory)``
variables and suppresses spikes as Brian2 does). All in float64. The readout never spikes
(its threshold is set to :data:`READOUT_V_TH`).

A network trained with ``order="paper"`` (paper A's discrete form: the traces decay, then
take this step's input, and the reset of the *previous* step's spikes follows the membrane's
step) changes two rows, both by Brian2's schedule alone: the input traces take their part of
the model's 'sequential' step in a ``run_regularly`` at ``before_groups``, order -1 (before
the input synapses; the group's own state updater advances the other variables), and the
reset runs at ``after_groups``, where Brian2's spike space still holds the previous step's
spikes.

Two layouts put B samples into one build (one compile in standalone): ``"copies"`` (the
default), B copies of the network in one group (neuron ``b*n + k``); ``"serial"``, one copy
that runs the samples one after another, sample b at steps ``b*P + 1 .. b*P + T``
(:class:`Layout`). Before each sample, a step sets every state variable to the model's
``initial`` values (after its state update, so nothing spikes) and a gap as long as the
longest input delay lets the delayed spikes of the sample before arrive. The serial layout
has B times fewer synapses, which makes a run of a wide batch much cheaper (perturbation
studies, :mod:`dgnsim.interop.study`).

The input neurons spike where the bits of an input table (:func:`input_table`: one row per
step, the spikes of 48 input neurons in each float64) are set. In cpp_standalone,
:func:`run_brian2` builds with an empty table and gives the inputs to each run as a run
argument, written with numpy; the build depends on the shape of the inputs only, and a
second call in the same process with the same network and input shape runs the binary
directly (no Brian2 objects, no code generation) and reads its monitors with numpy.

Parameter values travel in the surrogate's mV-ms number system (see
:func:`dgnsim.core.units.mv_ms_value`); they are turned back into quantities by dividing by
the unit's power of 1000. The reverse direction (:func:`to_surrogate`) reads groups and
synapses made with this package into a float64 Classifier, remembering the exact Brian2
values: a round trip Brian2 -> PyTorch -> Brian2 in which no tensor changed gives back
every value bit for bit (exp(log(x)) and x*1000/1000 alone would not).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from brian2 import NeuronGroup, Quantity, SpikeMonitor, StateMonitor, TimedArray, get_dimensions, ms, mV

from dgnsim.brian.backend import BackendError, Simulation
from dgnsim.brian.network import connect, make_group, model_of
from dgnsim.core.units import mv_ms_value
from dgnsim.io.checkpoint import load as load_checkpoint
from dgnsim.sweep.engine import standalone_plan
from dgnsim.sweep.worker import RunPlan, run_point

__all__ = [
    "INPUT_BITS",
    "LAYOUTS",
    "READOUT_V_TH",
    "RECURRENT_SCHEDULE",
    "Agreement",
    "BridgeError",
    "ForwardRecord",
    "Layout",
    "SampleAgreement",
    "brian2_values",
    "build",
    "check_input",
    "compare",
    "dense_pairs",
    "from_surrogate_groups",
    "input_table",
    "load_surrogate",
    "readout_logits",
    "readout_v_rest",
    "run_brian2",
    "run_torch",
    "to_surrogate",
]

#: Threshold given to the readout in Brian2: it never spikes (the surrogate's readout has no spikes).
READOUT_V_TH = 1e9 * mV
#: Memo attribute on a Classifier made by :func:`to_surrogate`: the exact Brian2 values.
_EXACT = "_bridge_exact"

#: (when, order) of recurrent synapses: they deliver the previous step's spikes at the start of a step.
RECURRENT_SCHEDULE = ("before_groups", 2)
#: How the samples of a batch share one network: side by side (``copies``) or one after another (``serial``).
LAYOUTS = ("copies", "serial")
#: Brian2's initial ``lastspike`` (NeuronGroup sets it to -1e4 s): no spike in the past.
_NO_SPIKE_YET = "-1e4*second"


class BridgeError(ValueError):
    """A network that cannot be carried across (bad file, shape, value, or a model the bridge lacks)."""


# ----------------------------------------------------------------------------- loading


def load_surrogate(path, *, model: str | None = None, **config):
    """A trained Classifier in float64 and its manifest (or None).

    ``path``: a directory with ``model.safetensors`` + ``manifest.json`` (checked by
    :func:`dgnsim.io.checkpoint.load`: corrupt files, shapes, NaN/Inf, equations hash), or a
    file with a plain PyTorch ``state_dict`` of a Classifier (``torch.save``), or the
    ``checkpoint.pt`` that ``dgnsim train`` writes. A plain state_dict carries no model
    name: give ``model`` (sizes and recurrence are read from the tensor shapes; other
    Classifier options through ``config``, input delays included: a state_dict does not
    record them, and a delayed network read without ``delays=...`` would load as an
    undelayed one with K times the inputs). No equations hash is stored in a state_dict, so
    that check is not possible there.

    Parameters
    ----------
    path : str or pathlib.Path
        The checkpoint directory or file.
    model : str, optional
        The hidden model's name (needed for a plain state_dict).
    **config
        Other Classifier options for a plain state_dict (e.g. ``delays``).

    Returns
    -------
    tuple of (dgnsim.surrogate.Classifier, dict or None)
        The network in float64 and the manifest (None for a file).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    BridgeError
        If the file is not a readable Classifier, or its tensors do not fit.
    """
    import torch

    from dgnsim.surrogate import Classifier

    path = Path(path)
    if path.is_dir():
        net, manifest = load_checkpoint(path)
        return net.double(), manifest
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file or directory")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, not a torch file, pickle error
        raise BridgeError(f"{path}: not a readable PyTorch file ({type(exc).__name__}: {exc})") from None
    if isinstance(obj, dict) and "net" in obj and "run_config" in obj:
        cfg = {
            k: v
            for k, v in obj["run_config"].items()
            if k
            in (
                "model",
                "n_in",
                "n_hidden",
                "n_out",
                "recurrent",
                "dt",
                "surrogate",
                "width",
                "reset",
                "order",
                "seed",
                "weight_scale",
                "bias",
                "pool",
                "delays",
            )
        }
        state = obj["net"]
    elif isinstance(obj, dict) and all(isinstance(v, torch.Tensor) for v in obj.values()):
        if model is None:
            raise BridgeError(f"{path}: a plain state_dict names no model; pass model=...")
        state = obj
        try:
            w = state["hidden.W_w"] if "hidden.W_w" in state else state["hidden.W_c"]
            cfg = dict(
                model=model,
                n_in=w.shape[0] // len(config.get("delays", (0,))),
                n_hidden=w.shape[1],
                n_out=state["readout.W_w"].shape[1],
                recurrent=any(k.startswith("hidden.R_") for k in state),
            )
        except (KeyError, IndexError) as exc:
            raise BridgeError(f"{path}: not a Classifier state_dict (missing {exc})") from None
        cfg.update(config)
    else:
        raise BridgeError(f"{path}: neither a Classifier state_dict nor a dgnsim training checkpoint")
    try:
        net = Classifier(**cfg)
    except (TypeError, ValueError) as exc:
        raise BridgeError(f"{path}: {exc}") from None
    expected = net.state_dict()
    missing, extra = set(expected) - set(state), set(state) - set(expected)
    if missing or extra:
        raise BridgeError(f"{path}: tensors missing {sorted(missing)}, unexpected {sorted(extra)}")
    for key, value in state.items():
        if tuple(value.shape) != tuple(expected[key].shape):
            raise BridgeError(f"{path}: {key} has shape {tuple(value.shape)}, expected {tuple(expected[key].shape)}")
        if not torch.isfinite(value).all():
            raise BridgeError(f"{path}: {key} contains NaN or Inf")
    net.load_state_dict(state)
    return net.double(), None


# ----------------------------------------------------------------------------- values


def _scale(unit: Quantity) -> float:
    """mV-ms numbers per SI number for ``unit``'s dimensions (an integer power of 1000)."""
    return float(mv_ms_value(Quantity(1.0, dim=unit.dim)))


def _to_quantity(values: np.ndarray, unit: Quantity) -> Quantity:
    s = _scale(unit)
    return Quantity(values / s if s >= 1 else values * (1.0 / s), dim=unit.dim)


def _exact(net, key: str, tensor):
    """The remembered Brian2 value of ``key`` if ``tensor`` is unchanged since :func:`to_surrogate`."""
    import torch

    memo = getattr(net, _EXACT, {})
    if key in memo:
        raw, value = memo[key]
        if raw.shape == tensor.shape and raw.dtype == tensor.dtype and torch.equal(raw, tensor.detach()):
            return value
    return None


def brian2_values(net) -> dict:
    """Parameters and weights of a Classifier as Brian2 quantities.

    Returns ``{"hidden": {param: Quantity}, "readout": {...}, "W": {syn_param: (n_in, H)},
    "R": {...} or {}, "W_out": {"w": (H, n_out)}}``; per-neuron parameters are arrays,
    shared ones scalars. ``noise_sigma`` is left out (giving it would switch noise on).

    Parameters
    ----------
    net : dgnsim.surrogate.Classifier
        The network.

    Returns
    -------
    dict
    """
    out = {}
    for prefix, layer in (("hidden", net.hidden), ("readout", net.readout)):
        params = {}
        for name, p in layer.spec.parameters.items():
            if name == "noise_sigma":
                continue
            raw = getattr(layer, f"p_{name}")
            exact = _exact(net, f"{prefix}.p_{name}", raw)
            if exact is not None:
                params[name] = exact
                continue
            value = layer.neuron_params()[name].detach().double().numpy()
            q = _to_quantity(value, p.unit)
            params[name] = q[0] if p.scope == "shared" or value.size == 1 else q
        out[prefix] = params
    for key, layer, kind in (("W", net.hidden, "W"), ("R", net.hidden, "R"), ("W_out", net.readout, "W")):
        mats: dict[str, np.ndarray] = {}
        if kind == "R" and not layer.recurrent:
            out[key] = mats
            continue
        prefix = "hidden" if layer is net.hidden else "readout"
        for name, w in layer.weights(kind).items():
            exact = _exact(net, f"{prefix}.{kind}_{name}", w)
            unit = layer.spec.synapse.parameters[name].unit
            mats[name] = exact if exact is not None else _to_quantity(w.detach().double().numpy(), unit)
        out[key] = mats
    return out


# ----------------------------------------------------------------------------- Brian2 network


@dataclass(frozen=True)
class Layout:
    """Where step t of sample b of a batch runs in a bridged network (see the module docstring).

    Copies: copy b, step t; serial: copy 0, step ``b*period + offset + t``. Small and
    picklable: the sweep engine's workers unpack results with it.

    Parameters
    ----------
    kind : str
        One of :data:`LAYOUTS`: ``"copies"`` or ``"serial"``.
    samples : int
        Number of samples.
    steps : int
        Steps per sample.
    copies : int
        Copies of the network in its groups.
    period : int
        Steps per sample, with the initialising step and the gap (serial).
    offset : int
        Steps before a sample's first step.
    """

    kind: str
    samples: int
    steps: int
    copies: int
    period: int
    offset: int

    @classmethod
    def make(cls, kind: str, samples: int, steps: int, gap: int = 0) -> Layout:
        """The layout of ``samples`` samples of ``steps`` steps.

        Parameters
        ----------
        kind : str
            One of :data:`LAYOUTS`.
        samples : int
            Number of samples.
        steps : int
            Steps per sample.
        gap : int
            The longest input delay (steps): the serial layout waits as long between samples.

        Returns
        -------
        Layout

        Raises
        ------
        BridgeError
            If ``kind`` is unknown.
        """
        if kind not in LAYOUTS:
            raise BridgeError(f"layout: one of {', '.join(LAYOUTS)}, not {kind!r}")
        if kind == "copies":
            return cls(kind, samples, steps, samples, steps, 0)
        return cls(kind, samples, steps, 1, steps + 1 + gap, 1)

    @property
    def total_steps(self) -> int:
        """Steps the network runs for."""
        return self.period * self.samples if self.kind == "serial" else self.steps

    def position(self, b: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(copy, Brian2 step) of sample ``b``, step ``t``.

        Parameters
        ----------
        b : numpy.ndarray
            Sample indices.
        t : numpy.ndarray
            Steps within the samples.

        Returns
        -------
        tuple of numpy.ndarray
        """
        if self.kind == "copies":
            return b, t
        return np.zeros_like(b), b * self.period + self.offset + t

    def spikes(self, i: np.ndarray, step: np.ndarray, n: int) -> np.ndarray:
        """Spikes (samples, steps, n) from Brian2's neuron indices and steps of a group of ``copies*n`` neurons.

        Spikes outside the samples (the serial layout's gaps) are left out.

        Parameters
        ----------
        i : numpy.ndarray
            Neuron index of each spike.
        step : numpy.ndarray
            Brian2 step of each spike.
        n : int
            Neurons per copy.

        Returns
        -------
        numpy.ndarray
            bool (samples, steps, n).
        """
        out = np.zeros((self.samples, self.steps, n), dtype=bool)
        i, step = np.asarray(i, dtype=np.int64), np.asarray(step, dtype=np.int64)
        if self.kind == "copies":
            out[i // n, step, i % n] = True
            return out
        b, t = np.divmod(step, self.period)
        t = t - self.offset
        keep = (t >= 0) & (t < self.steps)
        out[b[keep], t[keep], i[keep]] = True
        return out

    def trace(self, values: np.ndarray, n: int) -> np.ndarray:
        """A recorded variable (samples, steps, n) from its monitor's values.

        Parameters
        ----------
        values : numpy.ndarray
            The monitor's values, (total_steps, copies*n).
        n : int
            Neurons per copy.

        Returns
        -------
        numpy.ndarray
        """
        values = np.asarray(values)
        if self.kind == "copies":
            return values.reshape(self.steps, self.copies, n).transpose(1, 0, 2)
        return values.reshape(self.samples, self.period, n)[:, self.offset : self.offset + self.steps]


@dataclass
class BrianNetwork:
    """The Brian2 objects of a bridged Classifier (all added to a Simulation), and their :class:`Layout`."""

    layout: Layout
    input: NeuronGroup
    input_table: TimedArray
    hidden: NeuronGroup
    readout: NeuronGroup
    synapses: dict
    spikes: SpikeMonitor
    readout_v: StateMonitor
    hidden_state: StateMonitor | None

    @property
    def copies(self) -> int:
        return self.layout.copies

    @property
    def steps(self) -> int:
        return self.layout.steps


def _threshold_vars(spec) -> list[str]:
    from dgnsim.core.expressions import model_origin, parse_threshold

    names = parse_threshold(spec.threshold, f"{model_origin(spec)}: threshold").names
    return [v for v in spec.update_order if v in names]


def _like(values, q) -> Quantity:
    return Quantity(values, dim=get_dimensions(q))


def _tile(q, copies: int):
    arr = np.asarray(q)
    return _like(np.tile(arr, copies), q) if arr.ndim == 1 else q


def dense_pairs(n_src: int, n_tgt: int, copies: int) -> tuple[np.ndarray, np.ndarray]:
    """Synapse indices (i, j) connecting all to all within each of ``copies`` copies.

    Copy b has sources ``b*n_src .. (b+1)*n_src - 1`` and targets ``b*n_tgt ..``: B samples
    run as B copies of a network in one group. Pairs are in row-major (source, target)
    order, the order of a flattened (n_src, n_tgt) weight matrix, tiled over the copies.

    Parameters
    ----------
    n_src : int
        Sources per copy.
    n_tgt : int
        Targets per copy.
    copies : int
        Number of copies.

    Returns
    -------
    tuple of numpy.ndarray
    """
    i, j = np.meshgrid(np.arange(n_src), np.arange(n_tgt), indexing="ij")
    off = np.arange(copies)[:, None]
    return (off * n_src + i.ravel()).ravel(), (off * n_tgt + j.ravel()).ravel()


def _input_synapses(net, weights: dict, copies: int):
    """(i, j, delay or None, weights) of the input synapses of ``copies`` copies of ``net``.

    One synapse per input channel, hidden neuron and input delay: block k of the weight
    rows (``delays[k]``) becomes synapses with that delay.
    """
    n_in, n_h = net.hidden.n_in, net.hidden.n_out
    delays = net.hidden.delays
    i, j = dense_pairs(n_in, n_h, copies)
    blocks = {n: np.asarray(q).reshape(len(delays), n_in * n_h) for n, q in weights.items()}
    w = {
        n: _like(np.concatenate([np.tile(b[k], copies) for k in range(len(delays))]), weights[n])
        for n, b in blocks.items()
    }
    if delays == (0.0,):
        return i, j, None, w
    delay = np.repeat(np.asarray(delays), len(i)) * ms
    return np.tile(i, len(delays)), np.tile(j, len(delays)), delay, w


def check_input(x: np.ndarray, n_in: int) -> np.ndarray:
    """Input spikes ``x`` (samples, steps, ``n_in``) of 0 and 1 as a bool array.

    Parameters
    ----------
    x : array_like
        The input spikes.
    n_in : int
        Input channels.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    BridgeError
        If ``x`` has another shape or values other than 0 and 1.
    """
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[2] != n_in:
        raise BridgeError(f"input must be (samples, steps, {n_in}) spikes, got shape {x.shape}")
    if not np.all(np.isfinite(x)) or not np.all((x == 0) | (x == 1)):
        raise BridgeError("input must contain only 0 and 1 (one spike per channel and step at most)")
    return x.astype(bool)


#: Input neurons per number of the input table (bit k of number w: neuron ``INPUT_BITS*w + k``): six
#: bytes, an integer that float64 holds exactly.
INPUT_BITS = 48


def input_table(lay: Layout, x: np.ndarray) -> np.ndarray:
    """The input spikes ``x`` (B, T, n_in) as the bridge's input table, bit-packed.

    Row ``s`` holds Brian2 step ``s`` (one row more than the steps: a TimedArray holds its
    last row beyond its end); bit ``k`` of number ``w`` is input neuron ``INPUT_BITS*w + k``
    (of the ``copies*n_in`` input neurons of ``lay``). 36,300 steps of 320 channels take
    2 MB instead of 93 MB as 0/1 values.

    Parameters
    ----------
    lay : Layout
        Where the samples run.
    x : numpy.ndarray
        Input spikes (samples, steps, ``n_in``) of 0 and 1 (checked by :func:`check_input`).

    Returns
    -------
    numpy.ndarray
        float64 (``lay.total_steps + 1``, words).
    """
    samples, steps, n_in = x.shape
    n = lay.copies * n_in
    words = -(-n // INPUT_BITS)
    # one row of neurons per Brian2 step that has input: (copies: step t, all samples side by side)
    rows = x.transpose(1, 0, 2).reshape(steps, n) if lay.kind == "copies" else x.reshape(samples * steps, n)
    bits = np.zeros((len(rows), words * INPUT_BITS), dtype=bool)
    bits[:, :n] = rows
    packed = np.packbits(bits.reshape(len(rows), words, INPUT_BITS), axis=-1, bitorder="little")
    number = np.zeros((len(rows), words, 8), dtype=np.uint8)
    number[..., : INPUT_BITS // 8] = packed
    values = number.view("<u8")[..., 0].astype(np.float64)  # below 2**48: exact
    table = np.zeros((lay.total_steps + 1, words))
    if lay.kind == "copies":
        table[:steps] = values
    else:
        table[: samples * lay.period].reshape(samples, lay.period, words)[:, lay.offset : lay.offset + steps] = (
            values.reshape(samples, steps, words)
        )
    return table


def _input_group(lay: Layout, n_in: int, values: np.ndarray, dt: Quantity) -> tuple[NeuronGroup, TimedArray]:
    """The input neurons: neuron ``j`` spikes at step ``s`` where bit ``j`` of row ``s`` of the table is set.

    In the slot of a spike generator (``before_groups``, order 0), spikes in index order. Bit
    ``k`` of a number ``x`` is set where ``(x 2**-k) mod 2 >= 1``, exact in floating point."""
    n = lay.copies * n_in
    table = TimedArray(values, dt=dt, name="bridge_input_table")
    group = NeuronGroup(
        n,
        "word : integer (constant)\nscale : 1 (constant)",
        threshold="(bridge_input_table(t, word) * scale) % 2 >= 1",
        reset="",
        namespace={"bridge_input_table": table},
        name="bridge_input",
    )
    index = np.arange(n)
    group.word = index // INPUT_BITS
    group.scale = np.ldexp(1.0, -(index % INPUT_BITS))
    group.thresholder["spike"].when, group.thresholder["spike"].order = "before_groups", 0
    return group, table


@dataclass(frozen=True)
class _StepPart:
    """The model's 'sequential' step restricted to the variables ``only`` (a Brian2 state updater).

    Paper A's order splits the step: the input traces advance before the input synapses
    act, the other variables after them (:func:`build`)."""

    order: tuple
    only: tuple

    def __call__(self, equations, variables=None, method_options=None) -> str:
        return _step_code(equations, variables, self.order, self.only)


def _step_code(equations, variables, order, only) -> str:
    from dgnsim.core.integration import step_statements

    return "\n".join(
        line for var, lines in step_statements(equations, variables, order) if var in only for line in lines
    )


#: Custom event of the serial layout: the step before each sample, where the state is set to its initial values.
SAMPLE_START = "sample_start"


def _initial_code(model) -> str:
    """Abstract code that sets each state variable of ``model``'s group to its initial value.

    Refractoriness is cleared first (``(unless refractory)`` variables are written only where
    the neuron is not refractory), as in a new group."""
    lines = [f"lastspike = {_NO_SPIKE_YET}", "not_refractory = True"] if model.refractory.strip() else []
    return "\n".join(lines + [f"{var} = {expr}" for var, expr in model.initial.items()])


def _initialise_each_sample(group, model, period: int, when: str, order: int) -> None:
    """At every ``period``-th step, in slot ``when``: the group's state becomes the model's initial state.

    A custom event (:data:`SAMPLE_START`, on the group's own clock: a clock of its own would put the
    clocks' set-up in a varying order into a standalone ``main``, and so make a new binary each time)."""
    group.set_event_schedule(SAMPLE_START, when=when, order=order)
    group.run_on_event(SAMPLE_START, _initial_code(model), when=when, order=order + 1)


def _check_initial_below_threshold(net) -> None:
    """The serial layout's initialising step must not spike: the initial state is below threshold."""
    import torch

    from dgnsim.surrogate import initial_state

    p = net.hidden.step_parameters(torch.float64)
    state = initial_state(p, 1, net.hidden.n_out, torch.float64)
    with torch.no_grad():
        distance = p.program.distance(state.variables, p.params, p.invariants)
    if bool(torch.any(distance >= 0 if p.program.inclusive else distance > 0)):
        raise BridgeError(
            f"{net.hidden.model_name}: the initial state is at or above threshold, so the serial "
            "layout's initialising step would spike; use layout='copies'"
        )


def build(
    net,
    x: np.ndarray,
    sim: Simulation,
    *,
    record_state: bool = True,
    noise: bool = False,
    layout: str = "copies",
    inputs_at_run: bool = False,
) -> BrianNetwork:
    """Create and add to ``sim`` the Brian2 network of ``net`` for the inputs ``x`` (B, T, n_in).

    Parameters
    ----------
    net : dgnsim.surrogate.Classifier
        The network.
    x : numpy.ndarray
        Input spikes (samples, steps, ``n_in``) of 0 and 1.
    sim : Simulation
        With the network's time step (``net.hidden.dt`` ms).
    record_state : bool
        Record the hidden variables that enter the threshold just before the threshold
        (for the distance to threshold where spikes differ).
    noise : bool
        Include the model's noise term in the hidden group, at ``noise_sigma = 0 mV``: set
        ``noise_sigma`` later, e.g. as a run argument (:mod:`dgnsim.interop.study`).
    layout : str
        One of :data:`LAYOUTS` (see the module docstring and :class:`Layout`).
    inputs_at_run : bool
        Build with an empty input table and give the inputs to each run as a run argument
        (``{bn.input_table: input_table(layout, x)}``, standalone): then the build depends
        on the shape of ``x``, not on its spikes, and serves any input of that shape.

    Returns
    -------
    BrianNetwork

    Raises
    ------
    BridgeError
        If the input, the time step or the layout do not fit the network.
    """
    cfg = net.config
    order = cfg.get("order", "brian")
    spec = net.hidden.spec
    if order == "paper" and spec.method != "sequential":
        raise BridgeError(f"order='paper' needs the 'sequential' method; {spec.name} uses {spec.method!r}")
    if abs(float(sim.dt / ms) - net.hidden.dt) > 1e-12:
        raise BridgeError(f"the simulation's dt ({sim.dt}) differs from the network's ({net.hidden.dt} ms)")
    x = check_input(x, net.hidden.n_in)
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise BridgeError("input needs at least one sample and one step")
    lay = Layout.make(layout, x.shape[0], x.shape[1], max(net.hidden.delay_steps))
    if lay.kind == "serial":
        _check_initial_below_threshold(net)
    copies = lay.copies
    n_in, n_h, n_out = net.hidden.n_in, net.hidden.n_out, net.readout.n_out
    values = brian2_values(net)
    dt = sim.dt
    packed = input_table(lay, x)
    gen, table = _input_group(lay, n_in, np.zeros_like(packed) if inputs_at_run else packed, dt)
    hidden_params = {k: _tile(v, copies) for k, v in values["hidden"].items()}
    if noise:
        hidden_params["noise_sigma"] = 0 * mV
    method = None
    if order == "paper":
        targets = set(net.hidden.program.input_targets.values())
        method = _StepPart(tuple(spec.update_order), tuple(v for v in spec.update_order if v not in targets))
    start = {SAMPLE_START: f"timestep(t, dt) % {lay.period} == 0"} if lay.kind == "serial" else None
    hidden = make_group(
        spec, copies * n_h, hidden_params, reset=cfg.get("reset"), method=method, name="bridge_hidden", events=start
    )
    if order == "paper":
        traces = tuple(v for v in spec.update_order if v in targets)
        hidden.run_regularly(
            _step_code(hidden.equations, hidden.variables, tuple(spec.update_order), traces),
            when="before_groups",
            order=-1,
            name="bridge_hidden_traces",
        )
        hidden.resetter["spike"].when = "after_groups"  # the spike space still holds the last step's spikes
    readout_params = {k: _tile(v, copies) for k, v in values["readout"].items()}
    readout_params["v_th"] = READOUT_V_TH
    readout = make_group("lif", copies * n_out, readout_params, name="bridge_readout", events=start)
    readout.state_updater.when = "after_synapses"
    if lay.kind == "serial":  # after the hidden state update (and the paper order's reset), before the threshold
        _initialise_each_sample(hidden, spec, lay.period, "after_groups", 10)
        _initialise_each_sample(readout, model_of(readout), lay.period, "end", -10)  # after its update
    synapses = {}
    i, j, delay, w = _input_synapses(net, values["W"], copies)
    # one Synapses object per input delay: with one delay each, Brian2's spike queue copies a spike's
    # synapses in one block (measured: 60 % of a delayed DGN's run time went into per-synapse pushes)
    size = len(i) // len(net.hidden.delays)
    for k, d in enumerate(net.hidden.delays):
        part = slice(k * size, (k + 1) * size)
        key = "input" if k == 0 else f"input_{k}"
        synapses[key] = connect(
            gen,
            hidden,
            i=i[part],
            j=j[part],
            delay=None if delay is None else d * ms,
            name=f"bridge_{key}_syn",
            **{n: q[part] for n, q in w.items()},
        )
        synapses[key].pre.when, synapses[key].pre.order = "before_groups", 1
    if net.hidden.recurrent:
        i, j = dense_pairs(n_h, n_h, copies)
        r = {n: _tile(_like(np.asarray(q).ravel(), q), copies) for n, q in values["R"].items()}
        synapses["recurrent"] = connect(hidden, hidden, i=i, j=j, name="bridge_recurrent_syn", **r)
        synapses["recurrent"].pre.when, synapses["recurrent"].pre.order = RECURRENT_SCHEDULE
    i, j = dense_pairs(n_h, n_out, copies)
    wo = {n: _tile(_like(np.asarray(q).ravel(), q), copies) for n, q in values["W_out"].items()}
    synapses["output"] = connect(hidden, readout, i=i, j=j, name="bridge_output_syn", **wo)
    synapses["output"].pre.when = "synapses"  # after the hidden threshold, before the readout's update
    spikes = SpikeMonitor(hidden, name="bridge_spikes")
    readout_v = StateMonitor(readout, "v", record=True, when="end", name="bridge_readout_v")
    hidden_state = None
    if record_state:
        hidden_state = StateMonitor(
            hidden,
            _threshold_vars(net.hidden.spec),
            record=True,
            when="thresholds",
            order=-1,
            name="bridge_hidden_state",
        )
    objs = [gen, hidden, readout, *synapses.values(), spikes, readout_v] + (
        [hidden_state] if hidden_state is not None else []
    )
    sim.add(*objs)
    return BrianNetwork(lay, gen, table, hidden, readout, synapses, spikes, readout_v, hidden_state)


@dataclass
class ForwardRecord:
    """One forward pass of B samples: hidden spikes, logits, and the pre-threshold distance.

    ``spikes``: bool (B, T, H); ``logits``: (B, n_out), mV; ``distance``: (B, T, H), mV,
    the threshold expression's distance (e.g. v - v_th) just before the threshold test
    (None if not recorded); ``seconds``: wall time; ``timings``: backend detail.

    Parameters
    ----------
    spikes : numpy.ndarray
        bool (B, T, H).
    logits : numpy.ndarray
        (B, n_out), mV.
    distance : numpy.ndarray or None
        (B, T, H), mV.
    seconds : float (s)
        Wall time.
    timings : dict
        Backend detail (s).
    """

    spikes: np.ndarray
    logits: np.ndarray
    distance: np.ndarray | None
    seconds: float
    timings: dict = field(default_factory=dict)


def _distance(net, state: dict, dtype) -> np.ndarray:
    import torch

    with torch.no_grad():
        p = net.hidden.step_parameters(dtype)
        return p.program.distance(state, p.params, p.invariants).numpy()


def readout_v_rest(net) -> np.ndarray:
    """The readout's v_rest in mV (one value, or one per output neuron).

    Parameters
    ----------
    net : dgnsim.surrogate.Classifier
        The network.

    Returns
    -------
    numpy.ndarray
    """
    return np.asarray(mv_ms_value(brian2_values(net)["readout"]["v_rest"]))


def readout_logits(layout: Layout, v: np.ndarray, v_rest: np.ndarray, pool: str) -> np.ndarray:
    """Logits (B, n_out) in mV from the readout's recorded v.

    ``v - v_rest`` pooled over each sample's steps as the surrogate's readout does.

    Parameters
    ----------
    layout : Layout
        Where the samples ran.
    v : numpy.ndarray
        The readout's v (total_steps, copies*n_out), in mV.
    v_rest : numpy.ndarray
        The readout's v_rest in mV.
    pool : str
        ``"mean"`` or ``"max"``.

    Returns
    -------
    numpy.ndarray
    """
    import torch

    from dgnsim.surrogate.layers import pool_logits

    n_out = np.asarray(v).shape[1] // layout.copies
    trace = layout.trace(v, n_out) - v_rest  # (B, T, n_out)
    return pool_logits(torch.as_tensor(trace.transpose(1, 0, 2)), pool).numpy()


def run_brian2(
    net,
    x: np.ndarray,
    device: str = "cpp_standalone",
    *,
    record_state: bool = True,
    layout: str = "copies",
    reuse_build: bool = True,
) -> ForwardRecord:
    """Run ``net`` on inputs ``x`` (B, T, n_in) in Brian2 (one build for all B samples).

    The logits pool the readout's recorded v - v_rest over the steps as the surrogate's
    readout does (its ``pool``: mean or max).

    Parameters
    ----------
    net : dgnsim.surrogate.Classifier
        The network.
    x : numpy.ndarray
        Input spikes (samples, steps, ``n_in``) of 0 and 1.
    device : str
        The Brian2 backend (one of ``dgnsim.brian.backend.DEVICES``).
    record_state : bool
        Record the hidden variables of the threshold, for the distance to threshold.
    layout : str
        One of :data:`LAYOUTS` (see :class:`Layout`).
    reuse_build : bool
        In cpp_standalone, run the build that an earlier call of this process made for the same
        network and input shape directly (no Brian2 objects, no code generation). False makes
        the objects and the code again, as the first call of a new process does (the compiled
        binary is still taken from the build cache when the code is the same).

    Returns
    -------
    ForwardRecord
        Its ``timings`` hold the backend's (``network_s``: the binary's own run,
        ``codegen_s``, ``compile_s``, ``run_s``) and the wall time of the phases around
        them: ``objects_s`` (making the Brian2 objects), ``build_s`` (:meth:`Simulation.build`),
        ``read_s`` (reading the monitors), ``arrays_s`` (spikes, logits and distances
        from them).
    """
    start = time.perf_counter()
    x = check_input(x, net.hidden.n_in)
    n_h = net.hidden.n_out
    phases: dict[str, float] = {}
    if device == "cpp_standalone":
        binary, timings = _standalone_binary(net, x, device, record_state, layout, phases, reuse_build)
        lay = binary.layout
        mark = time.perf_counter()
        table = input_table(lay, x)
        phases["inputs_s"] = time.perf_counter() - mark
        idx, st, v, state, run_timings = binary.run(table, phases)
        timings = {**timings, **run_timings}
    else:
        with Simulation(device, dt=net.hidden.dt * ms) as sim:
            mark = time.perf_counter()
            bn = build(net, x, sim, record_state=record_state, layout=layout)
            lay = bn.layout
            phases["objects_s"], mark = time.perf_counter() - mark, time.perf_counter()
            sim.build(lay.total_steps * sim.dt)
            phases["build_s"] = time.perf_counter() - mark
            sim.run()
            mark = time.perf_counter()
            idx = np.array(bn.spikes.i[:])
            st = np.round(np.array(bn.spikes.t[:] / sim.dt)).astype(int)
            v = np.array(mv_ms_value(bn.readout_v.v[:])).T  # (total steps, copies*n_out)
            state = None
            if bn.hidden_state is not None:
                state = {
                    var: np.array(mv_ms_value(getattr(bn.hidden_state, var)[:])).T
                    for var in bn.hidden_state.record_variables
                }
            phases["read_s"] = time.perf_counter() - mark
            timings = dict(sim.timings)
    import torch

    mark = time.perf_counter()
    spikes = lay.spikes(idx, st, n_h)
    logits = readout_logits(lay, v, readout_v_rest(net), net.readout.pool)
    distance = None
    if state is not None:
        st_t = {k: torch.as_tensor(np.ascontiguousarray(lay.trace(a, n_h))) for k, a in state.items()}
        distance = _distance(net, st_t, torch.float64)
    phases["arrays_s"] = time.perf_counter() - mark
    return ForwardRecord(spikes, logits, distance, time.perf_counter() - start, {**timings, **phases})


def _raw_arrays(arrays: dict) -> dict:
    """The reducer of a bridged run: the monitored arrays as they are (SI units)."""
    return arrays


@dataclass(frozen=True)
class _Binary:
    """A standalone build of a bridged network, run directly through the sweep's worker
    (:func:`dgnsim.sweep.run_point`): its inputs go in as a run argument (the input table,
    written with numpy), its monitors come back as numpy arrays.

    ``plan``: the binary and its monitored arrays (keys ``i``, ``t`` (the hidden spikes),
    ``v`` (the readout) and ``state:<var>``); ``columns`` and ``units``: the neurons and the
    unit of each recorded key."""

    plan: RunPlan
    layout: Layout
    dt: float
    table: str
    table_shape: tuple
    columns: dict
    units: dict

    def run(self, table: np.ndarray, phases: dict):
        """Run once on the input ``table``; (spike indices, spike steps, readout v, hidden state, timings)."""
        import uuid

        if table.shape != self.table_shape:
            raise BridgeError(f"input table of shape {table.shape}, the build takes {self.table_shape}")
        values = Path("static_arrays") / f"bridge_input_{uuid.uuid4().hex}.dat"
        mark = time.perf_counter()
        try:
            np.ascontiguousarray(table, dtype=np.float64).tofile(Path(self.plan.cwd) / values)
            phases["write_s"] = time.perf_counter() - mark
            record = run_point(self.plan, 0, (f"{self.table}.values={values}",))
        finally:
            (Path(self.plan.cwd) / values).unlink(missing_ok=True)
        if record["status"] != "done":
            raise BackendError(f"{self.plan.binary}: {record['message']}")
        mark = time.perf_counter()
        arrays = record["values"]

        def mv_ms(key):
            return np.array(mv_ms_value(Quantity(arrays[key], dim=self.units[key]))).reshape(-1, self.columns[key])

        idx = arrays["i"].astype(np.int64)
        st = np.round(arrays["t"] / self.dt).astype(int)
        v = mv_ms("v")
        state = {key.split(":", 1)[1]: mv_ms(key) for key in arrays if key.startswith("state:")} or None
        phases["read_s"] = time.perf_counter() - mark
        return idx, st, v, state, {"network_s": record["network_s"], "run_s": record["run_s"]}


#: Standalone builds of bridged networks made in this process, by :func:`_binary_key`.
_BINARIES: dict[str, _Binary] = {}


def _binary_key(net, x: np.ndarray, device: str, record_state: bool, layout: str) -> str:
    """What a standalone build of the bridged ``net`` depends on: its Brian2 values, options and shapes."""
    import hashlib
    import json

    digest = hashlib.sha256()
    from dgnsim.brian.backend import build_root

    key = [device, record_state, layout, x.shape, net.config, str(build_root())]
    digest.update(json.dumps(key, sort_keys=True, default=str).encode())
    digest.update(net.hidden.spec.sha256.encode())
    for group, values in sorted(brian2_values(net).items()):
        for name, q in sorted(values.items()):
            a = np.ascontiguousarray(np.asarray(q), dtype=np.float64)
            digest.update(f"{group}.{name}{a.shape}{get_dimensions(q)}".encode())
            digest.update(a.tobytes())
    return digest.hexdigest()


def _standalone_binary(net, x, device, record_state, layout, phases, reuse: bool = True) -> tuple[_Binary, dict]:
    """The build for ``net`` and inputs of the shape of ``x``: from this process's earlier runs, or made."""
    key = _binary_key(net, x, device, record_state, layout)
    binary = _BINARIES.get(key) if reuse else None
    if binary is not None and Path(binary.plan.binary).exists():
        return binary, {"codegen_s": 0.0, "compile_s": 0.0, "reused": True, "in_process": True}
    with Simulation(device, dt=net.hidden.dt * ms) as sim:
        mark = time.perf_counter()
        bn = build(net, x, sim, record_state=record_state, layout=layout, inputs_at_run=True)
        phases["objects_s"], mark = time.perf_counter() - mark, time.perf_counter()
        sim.build(bn.layout.total_steps * sim.dt)
        phases["build_s"] = time.perf_counter() - mark
        monitored = {"i": (bn.spikes, "i", 1), "t": (bn.spikes, "t", 1), "v": (bn.readout_v, "v", len(bn.readout))}
        if bn.hidden_state is not None:
            for var in bn.hidden_state.record_variables:
                monitored[f"state:{var}"] = (bn.hidden_state, var, len(bn.hidden))
        variables = {key: (monitor.variables[var], columns) for key, (monitor, var, columns) in monitored.items()}
        assert sim.directory is not None
        results = Path(sim.directory) / "results"  # each run's own folder in there, removed after it
        results.mkdir(exist_ok=True)
        binary = _Binary(
            standalone_plan(sim, variables, scratch=str(results), reducer=_raw_arrays),
            bn.layout,
            float(sim.dt),
            bn.input_table.name,
            bn.input_table.values.shape,
            {key: columns for key, (_, columns) in variables.items()},
            {key: variable.dim for key, (variable, _) in variables.items()},
        )
        timings = dict(sim.timings)
    _BINARIES[key] = binary
    return binary, timings


def run_torch(net, x: np.ndarray) -> ForwardRecord:
    """The surrogate's forward pass in float64, with the pre-threshold distance of the hidden layer.

    The hidden loop calls :func:`dgnsim.surrogate.step`, the step of the layer's own
    forward pass, and records the distance each step's spikes were decided on.

    Parameters
    ----------
    net : dgnsim.surrogate.Classifier
        The network.
    x : numpy.ndarray
        Input spikes (samples, steps, ``n_in``) of 0 and 1.

    Returns
    -------
    ForwardRecord
    """
    import torch

    from dgnsim.surrogate import initial_state, step

    start = time.perf_counter()
    x = check_input(x, net.hidden.n_in)
    net = net.double()
    layer = net.hidden
    xt = torch.as_tensor(x, dtype=torch.float64).transpose(0, 1)
    with torch.no_grad():
        p = layer.step_parameters(torch.float64)
        drive = layer.input_drive(xt)
        state = initial_state(p, xt.shape[1], layer.n_out, torch.float64)
        spikes, dist = [], []
        for t in range(xt.shape[0]):
            z, state = step({target: d[t] for target, d in drive.items()}, state, p)
            assert state.distance is not None  # step() always records it
            spikes.append(z)
            dist.append(state.distance)
        h = torch.stack(spikes)
        logits = net.readout(h)
    return ForwardRecord(
        h.transpose(0, 1).numpy() > 0,
        logits.numpy(),
        torch.stack(dist).transpose(0, 1).numpy(),
        time.perf_counter() - start,
    )


# ----------------------------------------------------------------------------- agreement


@dataclass(frozen=True)
class SampleAgreement:
    """One sample: identical spike trains, or the first step where they differ.

    Parameters
    ----------
    index : int
        The sample.
    identical : bool
        Whether the hidden spike trains are identical.
    first_step : int or None
        The first step where they differ (None if identical).
    neurons : tuple of int
        Hidden neurons differing at that step.
    torch_distance_mv : float or None
        The largest ``abs(distance to threshold)`` (mV) over those neurons at that step,
        before the threshold test, in PyTorch.
    brian2_distance_mv : float or None
        The same in Brian2.
    torch_class : int
        The class PyTorch gives.
    brian2_class : int
        The class Brian2 gives.
    label : int or None
        The true class, if known.
    """

    index: int
    identical: bool
    first_step: int | None
    neurons: tuple
    torch_distance_mv: float | None
    brian2_distance_mv: float | None
    torch_class: int
    brian2_class: int
    label: int | None


@dataclass(frozen=True)
class Agreement:
    """Agreement of Brian2 with PyTorch over a set of samples.

    Parameters
    ----------
    samples : tuple of SampleAgreement
        One per sample.
    spike_identical : int
        Samples with identical hidden spikes.
    class_identical : int
        Samples given the same class.
    n : int
        Number of samples.
    torch_accuracy : float or None
        PyTorch's accuracy (with labels).
    brian2_accuracy : float or None
        Brian2's accuracy (with labels).
    max_distance_mv : float or None
        Largest distance to threshold (mV) where spikes differ, both sides.
    max_logit_difference_mv : float
        Largest difference of the logits (mV).
    """

    samples: tuple
    spike_identical: int
    class_identical: int
    n: int
    torch_accuracy: float | None
    brian2_accuracy: float | None
    max_distance_mv: float | None  # over differing samples, both sides
    max_logit_difference_mv: float

    def as_dict(self) -> dict:
        """The agreement as JSON-ready values (the samples as dicts)."""
        return {
            "n": self.n,
            "spike_identical": self.spike_identical,
            "class_identical": self.class_identical,
            "spike_identical_fraction": self.spike_identical / self.n,
            "torch_accuracy": self.torch_accuracy,
            "brian2_accuracy": self.brian2_accuracy,
            "max_distance_to_threshold_where_differ_mv": self.max_distance_mv,
            "max_logit_difference_mv": self.max_logit_difference_mv,
            "samples": [s.__dict__ for s in self.samples],
        }


def compare(reference: ForwardRecord, other: ForwardRecord, labels=None) -> Agreement:
    """Per-sample agreement of ``other`` (Brian2) with ``reference`` (PyTorch).

    Parameters
    ----------
    reference : ForwardRecord
        PyTorch's forward pass.
    other : ForwardRecord
        Brian2's.
    labels : array_like, optional
        True classes, for the accuracies.

    Returns
    -------
    Agreement

    Raises
    ------
    BridgeError
        If the records have different shapes.
    """
    if reference.spikes.shape != other.spikes.shape:
        raise BridgeError(f"records of different shapes {reference.spikes.shape} and {other.spikes.shape}")
    out, worst = [], None
    tc, bc = reference.logits.argmax(1), other.logits.argmax(1)
    for k in range(reference.spikes.shape[0]):
        diff = reference.spikes[k] != other.spikes[k]
        label = None if labels is None else int(labels[k])
        if not diff.any():
            out.append(SampleAgreement(k, True, None, (), None, None, int(tc[k]), int(bc[k]), label))
            continue
        step = int(np.nonzero(diff.any(axis=1))[0][0])
        neurons = tuple(int(n) for n in np.nonzero(diff[step])[0])
        dt_ = dbr = None
        if reference.distance is not None:
            dt_ = float(np.max(np.abs(reference.distance[k, step, list(neurons)])))
        if other.distance is not None:
            dbr = float(np.max(np.abs(other.distance[k, step, list(neurons)])))
        worst = max((d for d in (worst, dt_, dbr) if d is not None), default=None)
        out.append(SampleAgreement(k, False, step, neurons, dt_, dbr, int(tc[k]), int(bc[k]), label))
    acc = (lambda c: float(np.mean(c == np.asarray(labels)))) if labels is not None else (lambda c: None)
    return Agreement(
        tuple(out),
        sum(s.identical for s in out),
        int(np.sum(tc == bc)),
        len(out),
        acc(tc),
        acc(bc),
        worst,
        float(np.max(np.abs(reference.logits - other.logits))),
    )


# ----------------------------------------------------------------------------- reverse direction


def from_surrogate_groups(net, *, name: str = "bridged"):
    """One copy of ``net`` as Brian2 groups and synapses of this package (no input generator).

    Returns ``(hidden, readout, output_synapses, recurrent_synapses or None, weights_in)``
    where ``weights_in`` are the input weights (``{param: Quantity (n_in, H)}``), to be
    connected from any source with :func:`dgnsim.connect`. A network with input delays is
    refused here (its weights are one block per delay); :func:`build` connects those.

    Parameters
    ----------
    net : dgnsim.surrogate.Classifier
        The network.
    name : str
        Prefix of the Brian2 names.

    Returns
    -------
    tuple

    Raises
    ------
    BridgeError
        If the network has input delays.
    """
    if net.hidden.delays != (0.0,):
        raise BridgeError(
            f"input delays {list(net.hidden.delays)} ms: from_surrogate_groups returns "
            "undelayed input weights; use build() for a network with input delays"
        )
    values = brian2_values(net)
    cfg = net.config
    hidden = make_group(
        net.hidden.spec,
        net.hidden.n_out,
        values["hidden"],
        reset=cfg.get("reset"),
        per_neuron=[n for n, p in net.hidden.spec.parameters.items() if p.scope == "neuron"],
        name=f"{name}_hidden",
    )
    readout = make_group(
        "lif",
        net.readout.n_out,
        values["readout"],
        per_neuron=[n for n, p in net.readout.spec.parameters.items() if p.scope == "neuron"],
        name=f"{name}_readout",
    )
    i, j = dense_pairs(net.hidden.n_out, net.readout.n_out, 1)
    out = connect(
        hidden,
        readout,
        i=i,
        j=j,
        name=f"{name}_output_syn",
        **{n: _like(np.asarray(q).ravel(), q) for n, q in values["W_out"].items()},
    )
    rec = None
    if net.hidden.recurrent:
        i, j = dense_pairs(net.hidden.n_out, net.hidden.n_out, 1)
        rec = connect(
            hidden,
            hidden,
            i=i,
            j=j,
            name=f"{name}_recurrent_syn",
            **{n: _like(np.asarray(q).ravel(), q) for n, q in values["R"].items()},
        )
    return hidden, readout, out, rec, values["W"]


def _dense(syn, n_src: int, n_tgt: int, pname: str, delays_ms=(0.0,)) -> Quantity:
    """Synapse parameter ``pname`` as a dense (K n_src, n_tgt) matrix, block k: delay ``delays_ms[k]``."""
    i, j = np.asarray(syn.i[:]), np.asarray(syn.j[:])
    k = np.searchsorted(delays_ms, np.asarray(syn.delay[:] / ms)) if len(delays_ms) > 1 else np.zeros_like(i)
    rows = k * n_src + i
    pairs = rows * n_tgt + j
    if len(np.unique(pairs)) != len(pairs):
        raise BridgeError(
            f"{syn.name}: more than one synapse between a pair with one delay; "
            "the surrogate has one weight per pair and delay"
        )
    value = getattr(syn, pname)[:]
    dense = np.zeros((len(delays_ms) * n_src, n_tgt))
    dense[rows, j] = np.asarray(value)
    return _like(dense, value)


def to_surrogate(
    hidden,
    readout,
    input_synapses,
    output_synapses,
    recurrent_synapses=None,
    *,
    dt=None,
    reset: str | None = None,
    **options,
):
    """A float64 Classifier holding the parameters and weights of a Brian2 network of this package.

    ``hidden``: a group of any model the surrogate takes (made by :func:`dgnsim.make_group`);
    ``readout``: a ``lif`` group (its threshold is ignored: the surrogate's readout does
    not spike); synapses made by :func:`dgnsim.connect` (missing pairs become weight 0).
    Input synapses may have delays (whole steps): each distinct delay becomes one of the
    layer's input delays; output and recurrent synapses may not. ``dt``: the time step
    (default: the hidden group's clock). Read the values on the runtime device (standalone
    values are only known after a run).

    Parameters
    ----------
    hidden : brian2.NeuronGroup
        The hidden group.
    readout : brian2.NeuronGroup
        The ``lif`` readout group.
    input_synapses : brian2.Synapses
        Input -> hidden (delays allowed).
    output_synapses : brian2.Synapses
        Hidden -> readout.
    recurrent_synapses : brian2.Synapses, optional
        Hidden -> hidden.
    dt : Quantity (time), optional
        The time step (default: the hidden group's clock).
    reset : str, optional
        The hidden model's reset variant.
    **options
        Other Classifier options.

    Returns
    -------
    dgnsim.surrogate.Classifier

    Raises
    ------
    BridgeError
        If the groups and synapses do not form such a network.
    """
    import torch

    from dgnsim.surrogate import Classifier

    h_model, r_model = model_of(hidden), model_of(readout)
    if r_model.name != "lif":
        raise BridgeError(f"the readout must be a lif group, got {r_model.name}")
    if (
        input_synapses.target is not hidden
        or output_synapses.source is not hidden
        or output_synapses.target is not readout
    ):
        raise BridgeError("synapses must run input -> hidden -> readout")
    if recurrent_synapses is not None and (
        recurrent_synapses.source is not hidden or recurrent_synapses.target is not hidden
    ):
        raise BridgeError("recurrent synapses must connect the hidden group to itself")
    for syn in filter(None, (output_synapses, recurrent_synapses)):
        if np.any(np.asarray(syn.delay[:]) != 0):
            raise BridgeError(
                f"{syn.name}: synaptic delays have no counterpart in the surrogate "
                "(only the input synapses may have delays)"
            )
    dt_ms = float((dt if dt is not None else hidden.clock.dt) / ms)
    delays_ms = tuple(np.unique(np.asarray(input_synapses.delay[:] / ms))) or (0.0,)
    n_in, n_h, n_out = len(input_synapses.source), len(hidden), len(readout)
    try:
        net = Classifier(
            h_model.name,
            n_in,
            n_h,
            n_out,
            recurrent=recurrent_synapses is not None,
            dt=dt_ms,
            reset=reset,
            delays=delays_ms,
            **options,
        ).double()
    except ValueError as exc:
        raise BridgeError(f"{input_synapses.name}: {exc}") from None
    memo = {}
    with torch.no_grad():
        for prefix, layer, group in (("hidden", net.hidden, hidden), ("readout", net.readout, readout)):
            for name, p in layer.spec.parameters.items():
                raw = getattr(layer, f"p_{name}")
                q = getattr(group, name)[:]
                value = np.asarray(mv_ms_value(q), dtype=float)
                if value.ndim and value.size != raw.numel():
                    if np.all(value == value.flat[0]):
                        value = value.flat[0]
                    else:
                        raise BridgeError(
                            f"{group.name}.{name}: {value.size} values, the surrogate holds "
                            f"{raw.numel()} ({p.scope}); change its scope to 'neuron' to train it per neuron"
                        )
                t = torch.as_tensor(np.broadcast_to(value, raw.shape).copy(), dtype=torch.float64)
                raw.copy_(layer.to_raw(name, t))
                qa = np.asarray(q)
                if p.scope == "neuron" and qa.ndim == 0:
                    exact = _like(np.full(raw.numel(), float(qa)), q)
                elif p.scope == "shared" and qa.ndim:
                    exact = q[0]
                else:
                    exact = q
                memo[f"{prefix}.p_{name}"] = (raw.detach().clone(), exact)
        for prefix, layer, kind, syn, shape, delays in (
            ("hidden", net.hidden, "W", input_synapses, (n_in, n_h), net.hidden.delays),
            ("hidden", net.hidden, "R", recurrent_synapses, (n_h, n_h), (0.0,)),
            ("readout", net.readout, "W", output_synapses, (n_h, n_out), (0.0,)),
        ):
            if syn is None:
                continue
            for pname, w in layer.weights(kind).items():
                dense = _dense(syn, *shape, pname, delays)
                w.copy_(torch.as_tensor(np.asarray(mv_ms_value(dense)), dtype=torch.float64))
                memo[f"{prefix}.{kind}_{pname}"] = (w.detach().clone(), dense)
    setattr(net, _EXACT, memo)
    return net


# ----------------------------------------------------------------------------- test split


@dataclass
class BridgeRun:
    """A trained network run on the test split in PyTorch and Brian2."""

    agreement: Agreement
    torch: ForwardRecord
    brian2: ForwardRecord
    inputs: np.ndarray
    labels: np.ndarray
    manifest: dict | None
    device: str

    def report(self) -> dict:
        a = self.agreement
        return {
            "device": self.device,
            "model": (self.manifest or {}).get("model"),
            "samples": a.n,
            "brian2_accuracy": a.brian2_accuracy,
            "torch_accuracy": a.torch_accuracy,
            "spike_identical": a.spike_identical,
            "class_identical": a.class_identical,
            "torch_seconds": self.torch.seconds,
            "brian2_seconds": self.brian2.seconds,
            "brian2_timings": self.brian2.timings,
            "agreement": a.as_dict(),
        }


def run_test_split(
    path,
    device: str = "cpp_standalone",
    *,
    data=None,
    limit: int | None = None,
    model: str | None = None,
    layout: str = "auto",
) -> BridgeRun:
    """Load a trained network, run its test split (first ``limit`` samples) in PyTorch and Brian2.

    Parameters
    ----------
    path : str or pathlib.Path
        A checkpoint directory or a PyTorch file (see :func:`load_surrogate`).
    device : str
        The Brian2 backend (one of ``dgnsim.brian.backend.DEVICES``).
    data : str or pathlib.Path, optional
        The FSDD folder (default: the package's data location).
    limit : int, optional
        Run only the first ``limit`` test samples.
    model : str, optional
        The hidden model's name, for a plain ``state_dict`` (which names none).
    layout : str
        ``"auto"`` (the default): the serial layout, which holds one copy of the synapses
        instead of one per sample and so builds and runs faster, unless the network's
        initial state is at threshold, then ``"copies"``; or one of :data:`LAYOUTS`.

    Returns
    -------
    BridgeRun
        Both forward passes and their agreement.

    Raises
    ------
    BridgeError
        If ``limit`` is not positive, the layout is unknown, or the network was trained on
        another input encoding.
    """
    from dgnsim.fsdd.data import load_fsdd

    if limit is not None and limit < 1:
        raise BridgeError(f"limit must be positive, got {limit}")
    if layout not in ("auto", *LAYOUTS):
        raise BridgeError(f"layout: 'auto' or one of {', '.join(LAYOUTS)}, not {layout!r}")
    net, manifest = load_surrogate(path, model=model)
    ds = load_fsdd(data, split=(manifest or {}).get("split", "official"))
    if manifest is not None and ds.encoding_key != manifest["encoding"].get("key"):
        raise BridgeError(f"{path}: trained on a different input encoding")
    x, y = ds.test_x[:limit], ds.test_y[:limit]
    if layout == "auto":
        try:
            _check_initial_below_threshold(net)
            layout = "serial"
        except BridgeError:
            layout = "copies"
    ref = run_torch(net, x)
    other = run_brian2(net, x, device, layout=layout, record_state=False)
    differ = np.nonzero((ref.spikes != other.spikes).any(axis=(1, 2)))[0]
    if len(differ):  # the distances to threshold, only where they are reported: run those samples again
        again = run_brian2(net, x[differ], device, layout=layout)
        distance = np.full(other.spikes.shape, np.nan)
        distance[differ] = again.distance
        other = ForwardRecord(other.spikes, other.logits, distance, other.seconds + again.seconds, other.timings)
    return BridgeRun(compare(ref, other, y), ref, other, x, y, manifest, device)
