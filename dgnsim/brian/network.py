"""Groups and synapses of the models in ``equations/``, built for any backend.

All randomness that shapes a network (connectivity, weights, Poisson input trains,
frozen noise) is drawn here in numpy from an explicit seed, so the runtime target and
the standalone targets simulate the same network and give the same spikes.
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Callable

import numpy as np
from brian2 import Hz, NeuronGroup, Quantity, SpikeGeneratorGroup, Synapses, TimedArray, defaultclock, second

from dgnsim.brian.codeobject import use_block_threshold
from dgnsim.core import integration  # noqa: F401  (registers the 'sequential' method)
from dgnsim.core.models import MIN_STEPS_PER_TIME_CONSTANT, NeuronModel, load_model
from dgnsim.core.units import require_quantity

__all__ = ["check_time_step", "connect", "frozen_noise", "make_group", "model_of", "poisson_input"]

_MODEL_OF: weakref.WeakKeyDictionary[NeuronGroup, NeuronModel] = weakref.WeakKeyDictionary()
#: Largest frozen-noise table (values); beyond it use the backend's own noise.
MAX_FROZEN_NOISE_VALUES = 50_000_000
#: Largest (steps x sources) table drawn densely for Poisson input; beyond it, per source.
MAX_DENSE_POISSON = 20_000_000


def _as_model(model) -> NeuronModel:
    return model if isinstance(model, NeuronModel) else load_model(model)


class ModelGroup(NeuronGroup):
    """A NeuronGroup of one model; refuses to set ``noise_sigma`` when made without noise.

    Without noise the model's noise term is not in the equations, so a value set later
    would change nothing; say how to switch it on instead.
    """

    _dgnsim_noise = True  # class default, so attribute access works during NeuronGroup.__init__

    def __setattr__(self, key, value, level=0):
        if key == "noise_sigma" and not self._dgnsim_noise:
            raise AttributeError(
                f"group {self.name!r} was made without noise, so noise_sigma would change nothing: "
                "give noise_sigma= (e.g. noise_sigma=0*mV) to make_group to include the noise term, "
                "then set or vary it (also as a run argument)"
            )
        super().__setattr__(key, value, level=level + 1)


def model_of(group: NeuronGroup) -> NeuronModel:
    """The model a group made by :func:`make_group` was built from.

    Parameters
    ----------
    group : brian2.NeuronGroup
        A group made by :func:`make_group`.

    Returns
    -------
    NeuronModel

    Raises
    ------
    ValueError
        If ``group`` was not made by :func:`make_group`.
    """
    try:
        return _MODEL_OF[group]
    except KeyError:
        raise ValueError(f"group {group.name!r} was not made by dgnsim.make_group") from None


def check_time_step(model: NeuronModel, values: dict, dt: Quantity) -> None:
    """Refuse a time step too coarse for the model's fastest time constant.

    Parameters
    ----------
    model : NeuronModel
        The model.
    values : dict
        Its parameter values (Brian2 quantities, one value or one per neuron).
    dt : Quantity (time)
        The time step.

    Raises
    ------
    ValueError
        If ``dt`` is longer than the shortest time constant over
        ``MIN_STEPS_PER_TIME_CONSTANT``.
    """
    for name, value in values.items():
        p = model.parameters[name]
        if p.positive and p.unit.dim == second.dim:
            fastest = np.min(np.asarray(value))
            if float(dt) * MIN_STEPS_PER_TIME_CONSTANT > fastest:
                raise ValueError(
                    f"time step dt={dt!r} is too coarse for {model.name}.{name}="
                    f"{fastest * second!r}: use dt <= {name}/{MIN_STEPS_PER_TIME_CONSTANT}"
                )


def _check_values(model: NeuronModel, n: int, params: dict) -> dict:
    """Defaults overridden by ``params``, each checked for unit, sign and shape."""
    unknown = set(params) - set(model.parameters)
    if unknown:
        raise ValueError(
            f"model {model.name!r} has no parameter(s) {sorted(unknown)}; its parameters: {', '.join(model.parameters)}"
        )
    values = {}
    for name, p in model.parameters.items():
        value = require_quantity(name, params.get(name, p.default), p.unit, p.unit_text)
        array = np.asarray(value)
        if array.ndim > 1 or (array.ndim == 1 and array.shape[0] != n):
            raise ValueError(f"{name}: expected one value or {n} values, got shape {array.shape}")
        if p.positive and np.any(array <= 0):
            raise ValueError(f"{name}: must be positive, got {value!r}")
        if p.nonnegative and np.any(array < 0):
            raise ValueError(f"{name}: must not be negative, got {value!r}")
        if p.nonpositive and np.any(array > 0):
            raise ValueError(f"{name}: must not be positive, got {value!r}")
        values[name] = value
    return values


def make_group(
    model,
    n: int,
    params: dict | None = None,
    *,
    per_neuron=(),
    reset: str | None = None,
    method: str | Callable | None = None,
    noise_table: TimedArray | None = None,
    dt: Quantity | None = None,
    name: str | None = None,
    events: dict | None = None,
    dtype=None,
) -> NeuronGroup:
    """A group of ``n`` neurons of ``model`` (a name or a :class:`NeuronModel`).

    ``params`` overrides defaults with Brian2 quantities; a parameter given as ``n``
    values, or named in ``per_neuron``, is stored per neuron, the others once for the
    group. Giving ``noise_sigma`` (even 0 mV) adds the model's white-noise term; its
    source is the backend's random generator (Brian2 ``xi``), or ``noise_table``
    (from :func:`frozen_noise`), which makes the noise identical on every backend.
    ``reset`` picks a reset variant of the model file (e.g. ``"soft"``); ``method``
    overrides the model's integration method (a name such as ``"exponential_euler"``, or a
    Brian2 state updater). On cpp_standalone the group's thresholds are generated in
    vectorised blocks (:func:`dgnsim.brian.codeobject.use_block_threshold`): Brian2's
    spikes, about 1.5x faster networks.

    Parameters
    ----------
    model : str or NeuronModel
        The model: a name of ``equations/``, a path, or a loaded model.
    n : int
        Number of neurons.
    params : dict, optional
        ``{parameter: Quantity}`` overriding the model's defaults; one value, or ``n``.
    per_neuron : sequence of str
        Parameters to store per neuron even when given one value (so that a run argument
        can give them one value per neuron).
    reset : str, optional
        A reset variant of the model file (e.g. ``"soft"``); default: the model's reset.
    method : str or callable, optional
        The integration method (default: the model's).
    noise_table : brian2.TimedArray, optional
        Frozen noise from :func:`frozen_noise` (needs ``noise_sigma`` in ``params``).
    dt : Quantity (time), optional
        The group's time step (default: the default clock's).
    name : str, optional
        The group's Brian2 name.
    events : dict, optional
        Custom events besides the spike, ``{name: condition}`` as Brian2's
        ``NeuronGroup(events=...)``.
    dtype : numpy floating-point type, optional
        The type of the group's state variables and parameters (e.g. ``numpy.float32``,
        which halves the bytes a standalone loop moves per neuron and step); default
        float64. Spike times (``lastspike``) stay float64, as the clock.

    Returns
    -------
    brian2.NeuronGroup

    Raises
    ------
    ValueError
        On a bad ``n``, an unknown parameter, a value of the wrong sign or shape, a ``dt``
        too coarse for the model, or a ``noise_table`` without ``noise_sigma``.
    TypeError
        If ``dtype`` is not a floating-point type.
    """
    model = _as_model(model)
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n: the number of neurons must be a positive integer, got {n!r}")
    float_type = _float_dtype(dtype)
    params = dict(params or {})
    values = _check_values(model, int(n), params)
    dt = require_quantity("dt", dt if dt is not None else defaultclock.dt, second, "ms")
    check_time_step(model, values, dt)
    varying = {k for k, v in values.items() if np.asarray(v).ndim == 1} | set(per_neuron)
    noise = "noise_sigma" in params
    if noise_table is not None and not noise:
        raise ValueError("noise_table given but no noise_sigma: give noise_sigma to switch noise on")
    eqs = model.equations(per_neuron=varying, noise=noise)
    namespace = {}
    if noise_table is not None:
        if noise_table.values.shape[1] != n:
            raise ValueError(f"noise_table has {noise_table.values.shape[1]} columns for {n} neurons")
        eqs = _freeze(eqs, noise_table.name)
        namespace[noise_table.name] = noise_table
    method = method or model.method
    options = {"order": list(model.update_order)} if method == "sequential" else None
    group = ModelGroup(
        int(n),
        eqs,
        threshold=model.threshold,
        reset=model.reset_code(reset),
        refractory=model.refractory,
        method=method,
        method_options=options,
        namespace=namespace,
        dt=None if dt == defaultclock.dt else dt,
        name=name or f"{model.name}*",
        events=dict(events or {}),
        dtype=_float_variables(eqs, float_type),
    )
    for pname, value in values.items():
        if pname == "noise_sigma" and not noise:
            continue  # declared (so it can be read) but not settable without the noise term
        setattr(group, pname, value)
    for var, expr in model.initial.items():
        setattr(group, var, expr)
    object.__setattr__(group, "_dgnsim_noise", noise)
    use_block_threshold(group)
    _MODEL_OF[group] = model
    return group


def _float_dtype(dtype):
    """``dtype`` checked: None (Brian2's default, float64) or a numpy floating-point type."""
    if dtype is None:
        return None
    try:
        kind = np.dtype(dtype)
    except TypeError:
        kind = None
    if kind is None or kind.kind != "f":
        raise TypeError(f"dtype: a numpy floating-point type such as numpy.float32, not {dtype!r}")
    if kind.itemsize < 8:
        # Brian2 checks each state array with `np.abs(v) > 1e50` before a run; for a float32
        # array numpy casts 1e50 to float32 (inf) and warns of an overflow each time. The
        # check itself stays right (nothing finite exceeds inf), so only that warning goes.
        warnings.filterwarnings(
            "ignore", message="overflow encountered in cast", category=RuntimeWarning, module=r"brian2\.groups\.group"
        )
    return kind


def _float_variables(eqs, dtype) -> dict | None:
    """Brian2's ``dtype`` argument: ``dtype`` for every floating-point variable of ``eqs``.

    A dict (not one dtype for the group), so that Brian2 keeps ``lastspike`` in the
    clock's float64: a spike time in float32 would lose whole steps after a few seconds.
    """
    if dtype is None:
        return None
    from brian2.equations.equations import FLOAT

    return {name: dtype for name, eq in eqs.items() if eq.var_type == FLOAT}


def _freeze(eqs, table_name: str):
    """Equations with white noise ``xi`` read from a frozen table (same on every backend)."""
    import re

    from brian2.equations.equations import Equations, Expression, SingleEquation

    new = []
    for eq in eqs.values():
        if eq.expr is not None and "xi" in eq.expr.identifiers:
            code = re.sub(r"\bxi\b", f"({table_name}(t, i)/sqrt(dt))", eq.expr.code)
            eq = SingleEquation(
                eq.type, eq.varname, eq.dim, var_type=eq.var_type, expr=Expression(code), flags=eq.flags
            )
        new.append(eq)
    return Equations(new)


def frozen_noise(n: int, duration: Quantity, dt: Quantity, seed: int, name: str = "noise_table") -> TimedArray:
    """A table of standard normal samples, one per neuron and step, drawn from ``seed``.

    Parameters
    ----------
    n : int
        Number of neurons (columns).
    duration : Quantity (time)
        The time the table covers.
    dt : Quantity (time)
        The time step (one row per step).
    seed : int
        Seed of numpy's generator.
    name : str
        The TimedArray's name in the equations.

    Returns
    -------
    brian2.TimedArray

    Raises
    ------
    ValueError
        If the table would hold more than ``MAX_FROZEN_NOISE_VALUES`` values.
    """
    duration = require_quantity("duration", duration, second, "ms")
    dt = require_quantity("dt", dt, second, "ms")
    steps = int(np.ceil(float(duration / dt))) + 1
    if steps * n > MAX_FROZEN_NOISE_VALUES:
        raise ValueError(
            f"frozen noise for {n} neurons x {steps} steps is too large "
            f"(> {MAX_FROZEN_NOISE_VALUES} values); use the backend's noise (no noise_table)"
        )
    values = np.random.default_rng(seed).standard_normal((steps, n))
    return TimedArray(values, dt=dt, name=name)


def poisson_input(
    n: int, rate: Quantity, duration: Quantity, seed: int, dt: Quantity | None = None, name: str = "poisson_input*"
) -> SpikeGeneratorGroup:
    """``n`` independent Poisson trains at ``rate``, drawn in numpy (same on every backend).

    At most one spike per source and step (probability ``rate*dt``).

    Parameters
    ----------
    n : int
        Number of sources.
    rate : Quantity (frequency)
        The rate of each source.
    duration : Quantity (time)
        How long the trains last.
    seed : int
        Seed of numpy's generator.
    dt : Quantity (time), optional
        The time step (default: the default clock's).
    name : str
        The group's Brian2 name.

    Returns
    -------
    brian2.SpikeGeneratorGroup

    Raises
    ------
    ValueError
        If ``rate`` is negative or gives more than one spike per step.
    """
    rate = require_quantity("rate", rate, Hz, "Hz")
    duration = require_quantity("duration", duration, second, "ms")
    dt = require_quantity("dt", dt if dt is not None else defaultclock.dt, second, "ms")
    if float(rate) < 0:
        raise ValueError(f"rate: must not be negative, got {rate!r}")
    p = float(rate * dt)
    if p > 1:
        raise ValueError(f"rate {rate!r} gives more than one spike per step at dt={dt!r}")
    steps = int(round(float(duration / dt)))
    rng = np.random.default_rng(seed)
    step_idx, src = (
        np.nonzero(rng.random((steps, n)) < p) if steps * n <= MAX_DENSE_POISSON else _sparse(rng, steps, n, p)
    )
    return SpikeGeneratorGroup(n, src, step_idx * dt, dt=None if dt == defaultclock.dt else dt, name=name)


def _sparse(rng, steps, n, p):
    """Bernoulli spikes without a dense (steps x n) table, for long or wide inputs."""
    counts = rng.binomial(steps, p, size=n)
    src = np.repeat(np.arange(n), counts)
    step_idx = (
        np.concatenate([np.sort(rng.choice(steps, c, replace=False)) for c in counts]) if n else np.array([], int)
    )
    order = np.lexsort((src, step_idx))
    return step_idx[order], src[order]


def connect(
    source,
    target: NeuronGroup,
    *,
    p: float | None = None,
    i=None,
    j=None,
    seed: int | None = None,
    delay: Quantity | None = None,
    name: str | None = None,
    dtype=None,
    **weights,
) -> Synapses:
    """Synapses from ``source`` to ``target`` with the target model's synapse.

    Connectivity: explicit ``i``/``j`` index arrays, or each pair with probability
    ``p`` (drawn in numpy from ``seed``; no self-connections when ``source`` is
    ``target``, i.e. recurrent).

    Parameters
    ----------
    source : brian2.Group
        The presynaptic group (any Brian2 group with spikes).
    target : brian2.NeuronGroup
        The postsynaptic group, made by :func:`make_group`.
    p : float, optional
        Connection probability of each pair (with ``seed``).
    i : array of int, optional
        Presynaptic indices (with ``j``).
    j : array of int, optional
        Postsynaptic indices (with ``i``).
    seed : int, optional
        Seed of the random connectivity (needed with ``p``).
    delay : Quantity (time), optional
        One delay, or one per synapse.
    name : str, optional
        The synapses' Brian2 name.
    dtype : numpy floating-point type, optional
        The type of the synapse parameters (e.g. ``numpy.float32``); default float64.
    **weights : Quantity
        The synapse parameters of the model (``w``, and ``c`` for the DGN family), each
        one value or one per synapse.

    Returns
    -------
    brian2.Synapses

    Raises
    ------
    ValueError
        On unknown synapse parameters, both or neither of ``p`` and ``i``/``j``, indices
        outside the groups, a negative or non-finite delay, or a negative conductance.
    TypeError
        If ``dtype`` is not a floating-point type.
    """
    model = model_of(target)
    syn = model.synapse
    float_type = _float_dtype(dtype)
    unknown = set(weights) - set(syn.parameters)
    if unknown:
        raise ValueError(
            f"the {model.name} synapse has no parameter(s) {sorted(unknown)}; it has {sorted(syn.parameters)}"
        )
    if (p is None) == (i is None):
        raise ValueError("give either p (connection probability) or i and j (index arrays)")
    if p is not None:
        if not 0 <= p <= 1:
            raise ValueError(f"p: a probability in [0, 1], got {p!r}")
        if seed is None:
            raise ValueError("seed: random connectivity needs a seed (so every backend gets the same network)")
        mask = np.random.default_rng(seed).random((len(source), len(target))) < p
        if source is target:
            np.fill_diagonal(mask, False)
        i, j = np.nonzero(mask)
    i, j = np.asarray(i, dtype=int), np.asarray(j, dtype=int)
    if i.shape != j.shape or i.ndim != 1:
        raise ValueError(f"i and j must be 1-d arrays of one length, got {i.shape} and {j.shape}")
    if len(i) and (i.min() < 0 or i.max() >= len(source) or j.min() < 0 or j.max() >= len(target)):
        raise ValueError("i or j index outside the source or target group")
    if delay is not None:
        delay = require_quantity("delay", delay, second, "ms")
        if np.any(np.asarray(delay) < 0) or not np.all(np.isfinite(np.asarray(delay))):
            raise ValueError(f"delay: must be finite and not negative, got {delay!r}")
        if np.ndim(delay) == 1 and len(delay) != len(i):
            raise ValueError(f"delay: {len(delay)} values for {len(i)} synapses")
    synapses = Synapses(
        source,
        target,
        model=syn.model,
        on_pre=syn.on_pre,
        name=name or f"{model.name}_synapses*",
        dtype=None if float_type is None else dict.fromkeys(syn.parameters, float_type),
        **({"delay": delay} if delay is not None and np.ndim(delay) == 0 else {}),
    )
    synapses.connect(i=i, j=j)
    if delay is not None and np.ndim(delay) == 1:  # one per synapse: set once the synapses exist
        synapses.delay = delay
    for pname, par in syn.parameters.items():
        value = require_quantity(pname, weights.get(pname, par.default), par.unit, par.unit_text)
        if np.asarray(value).ndim == 1 and len(value) != len(i):
            raise ValueError(f"{pname}: {len(value)} values for {len(i)} synapses")
        if par.nonnegative and np.any(np.asarray(value) < 0):
            raise ValueError(f"{pname}: a conductance must not be negative")
        setattr(synapses, pname, value)
    return synapses
