"""Sweep specifications: one network, a set of points, the quantities measured at each.

A spec is a TOML file (see ``examples/sweeps/``) or the same table in Python. Every key
is checked here, before anything is built, and a bad one raises ValueError naming it
(``grid.tau_mem: ...``), so that a sweep of hours never fails after its first build.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

from brian2 import Hz, Quantity, second

from dgnsim.core.models import NeuronModel, load_model
from dgnsim.core.quantities import parse_quantity

__all__ = ["MEASURES", "SweepSpec", "Varied", "load_spec", "parse_spec"]

#: What a sweep can measure at each point: name -> (unit text, what it is).
MEASURES = {
    "rate": ("Hz", "mean firing rate per neuron"),
    "v_mean": ("mV", "membrane potential, mean over neurons and time steps"),
    "v_var": ("mV^2", "membrane potential, variance over neurons and time steps"),
    "g_mean": ("1", "gate, mean over neurons and time steps (models with a gate g)"),
    "cv_isi": ("1", "coefficient of variation of the inter-spike intervals, mean over neurons with >= 3 spikes"),
}
DEVICES = ("cpp_standalone", "numpy", "cython", "runtime")
_TOP = {
    "model",
    "neurons",
    "duration",
    "dt",
    "device",
    "seed",
    "input",
    "synapse",
    "params",
    "grid",
    "points",
    "measure",
}
_INPUT = {"sources", "rate", "p"}
_MEASURE = {"quantities"}


@dataclass(frozen=True)
class Varied:
    """One parameter a sweep varies: where it lives, its unit.

    Parameters
    ----------
    name : str
        The parameter.
    owner : str
        ``"neurons"`` (a neuron parameter) or ``"synapses"`` (a parameter of the input synapses).
    unit : Quantity
        Its unit.
    unit_text : str
        The unit as written in the store's ``units`` attribute.
    """

    name: str
    owner: str  # "neurons" (a neuron parameter) or "synapses" (a synapse parameter)
    unit: Quantity
    unit_text: str


@dataclass(frozen=True)
class SweepSpec:
    """A checked sweep specification (:func:`parse_spec`).

    ``shape``: the grid's shape (one axis per entry of ``varied``, in order) or ``(len(points),)``
    for a list of points (``grid`` False); ``dims``: the names of its axes.

    Parameters
    ----------
    model : NeuronModel
        The neuron model.
    neurons : int
        Neurons of the population.
    duration : Quantity (time)
        Simulated time per point.
    dt : Quantity (time)
        Time step.
    device : str
        Brian2 device (``cpp_standalone``, or a runtime device).
    seed : int
        Seed of the connectivity, the input and the simulation.
    sources : int
        Poisson sources of the input.
    input_rate : Quantity (1/time)
        Their rate.
    p : float
        Connection probability from the sources.
    synapse : dict
        Synapse parameters (quantities) that are not varied.
    params : dict
        Neuron parameters (quantities) that are not varied.
    varied : tuple of Varied
        The varied parameters, in axis order.
    values : dict
        Name -> list of values along its axis (grid), or along ``point``.
    grid : bool
        True for a grid (every combination), False for a list of points.
    points : tuple of dict
        One dict per point: parameter name -> Brian2 quantity.
    measure : tuple of str
        The measured quantities (keys of :data:`MEASURES`).
    canonical : str
        The spec as canonical JSON, with the model file's hash.
    digest : str
        Hash of ``canonical``: a store records it and is never resumed by another spec.
    """

    model: NeuronModel
    neurons: int
    duration: Quantity
    dt: Quantity
    device: str
    seed: int
    sources: int
    input_rate: Quantity
    p: float
    synapse: dict
    params: dict
    varied: tuple[Varied, ...]
    values: dict  # name -> list of values along its axis (grid), or along "point"
    grid: bool
    points: tuple[dict, ...]
    measure: tuple[str, ...]
    canonical: str
    digest: str

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(self.values[v.name]) for v in self.varied) if self.grid else (len(self.points),)

    @property
    def dims(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.varied) if self.grid else ("point",)


def load_spec(path) -> SweepSpec:
    """Read and check the TOML spec at ``path``.

    Parameters
    ----------
    path : str or pathlib.Path
        The spec; a model path in it is relative to the spec's folder.

    Returns
    -------
    SweepSpec
        The checked spec.

    Raises
    ------
    ValueError
        Invalid TOML, or a bad key (see :func:`parse_spec`).
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    return parse_spec(raw, base=path.parent)


def _fail(key: str, message: str):
    raise ValueError(f"{key}: {message}")


def _unknown(table: dict, allowed: set, where: str) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        _fail(f"{where}{extra[0]}", f"unknown key; expected one of {', '.join(sorted(allowed))}")


def _integer(key: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        _fail(key, f"an integer >= {minimum}, got {value!r}")
    return value


def _quantity(key: str, value, unit: Quantity, display: str, sign: str | None = None) -> Quantity:
    """A value of the spec as a quantity; text carries its unit, a bare number only if dimensionless."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = repr(float(value))  # parse_quantity refuses a bare number where a unit is needed
    if not isinstance(value, str):
        _fail(key, f'a quantity such as "10 {display}", got {value!r}')
    return parse_quantity(key, value, unit, display, sign)


def _parameter(model: NeuronModel, key: str, name: str) -> Varied:
    """Where parameter ``name`` lives: a neuron or a synapse parameter of ``model`` (not both)."""
    neuron, synapse = model.parameters.get(name), model.synapse.parameters.get(name)
    if name == "noise_sigma":
        _fail(key, "noise is not supported in sweeps (the network is built without the noise term)")
    if neuron is None and synapse is None:
        _fail(
            key,
            f"model {model.name!r} has no parameter {name!r}; neuron parameters: "
            f"{', '.join(model.parameters)}; synapse parameters: {', '.join(model.synapse.parameters)}",
        )
    if neuron is not None and synapse is not None:
        _fail(key, f"{name!r} is both a neuron and a synapse parameter of {model.name!r}")
    p = neuron or synapse
    return Varied(name, "neurons" if neuron is not None else "synapses", p.unit, p.unit_text)


def _checked(model: NeuronModel, key: str, varied: Varied, value) -> Quantity:
    p = (model.parameters if varied.owner == "neurons" else model.synapse.parameters)[varied.name]
    sign = "positive" if p.positive else "non-negative" if p.nonnegative else None
    return _quantity(key, value, p.unit, p.unit_text, sign)


def parse_spec(raw: dict, base: Path | None = None) -> SweepSpec:
    """Check a spec table (as read from TOML) and return it as a :class:`SweepSpec`.

    Parameters
    ----------
    raw : dict
        The table (keys as in ``examples/sweeps/*.toml``).
    base : pathlib.Path, optional
        Folder that a relative model path is relative to.

    Returns
    -------
    SweepSpec
        The checked spec.

    Raises
    ------
    ValueError
        Naming the first bad key: unknown keys, an unknown model or parameter, a bare number
        where a unit is needed, a negative duration, an empty grid.
    """
    if not isinstance(raw, dict):
        raise ValueError(f"spec: a table of keys, got {type(raw).__name__}")
    _unknown(raw, _TOP, "")
    if "model" not in raw:
        _fail("model", "missing; a model name (see 'dgnsim models') or a path to a model file")
    model_ref = raw["model"]
    if not isinstance(model_ref, str):
        _fail("model", f"a model name or path, got {model_ref!r}")
    if base is not None and model_ref.endswith(".toml") and not Path(model_ref).is_absolute():
        model_ref = str(base / model_ref)
    try:
        model = load_model(model_ref)
    except (ValueError, FileNotFoundError) as exc:
        raise ValueError(f"model: {exc}") from None
    neurons = _integer("neurons", raw.get("neurons", 100), 1)
    duration = _quantity("duration", raw.get("duration", "1 s"), second, "ms", "positive")
    dt = _quantity("dt", raw.get("dt", "0.1 ms"), second, "ms", "positive")
    device = raw.get("device", "cpp_standalone")
    if device not in DEVICES:
        _fail("device", f"one of {', '.join(DEVICES)}, got {device!r}")
    seed = _integer("seed", raw.get("seed", 0), 0)
    inp = raw.get("input", {})
    if not isinstance(inp, dict):
        _fail("input", "a table with sources, rate, p")
    _unknown(inp, _INPUT, "input.")
    sources = _integer("input.sources", inp.get("sources", 100), 1)
    input_rate = _quantity("input.rate", inp.get("rate", "20 Hz"), Hz, "Hz", "non-negative")
    p = inp.get("p", 0.25)
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        _fail("input.p", f"a connection probability in [0, 1], got {p!r}")
    fixed = {}
    for table, where in ((raw.get("synapse", {}), "synapse"), (raw.get("params", {}), "params")):
        if not isinstance(table, dict):
            _fail(where, "a table of parameter = value")
        for name, value in table.items():
            v = _parameter(model, f"{where}.{name}", name)
            if (v.owner == "synapses") != (where == "synapse"):
                _fail(
                    f"{where}.{name}",
                    f"a {v.owner[:-1]} parameter; give it in [{'synapse' if v.owner == 'synapses' else 'params'}]",
                )
            fixed[name] = (v, _checked(model, f"{where}.{name}", v, value))
    grid, points_raw = raw.get("grid"), raw.get("points")
    if (grid is None) == (points_raw is None):
        _fail("grid", "give either [grid] (every combination) or [[points]] (a list of points), not both or neither")
    if grid is not None:
        if not isinstance(grid, dict) or not grid:
            _fail("grid", "empty; give at least one parameter with a list of values")
        varied = tuple(_parameter(model, f"grid.{name}", name) for name in grid)
        values = {}
        for v in varied:
            vals = grid[v.name]
            if not isinstance(vals, list) or not vals:
                _fail(f"grid.{v.name}", f"a non-empty list of values, got {vals!r}")
            values[v.name] = [_checked(model, f"grid.{v.name}[{k}]", v, x) for k, x in enumerate(vals)]
            numbers = [float(q / v.unit) for q in values[v.name]]
            if len(set(numbers)) != len(numbers):
                _fail(f"grid.{v.name}", "values repeat")
        points = tuple(dict(zip(values, combo)) for combo in itertools.product(*values.values()))
    else:
        if not isinstance(points_raw, list) or not points_raw or not all(isinstance(t, dict) for t in points_raw):
            _fail("points", "empty; give [[points]] tables of parameter = value")
        names = list(points_raw[0])
        if not names:
            _fail("points[0]", "empty table")
        varied = tuple(_parameter(model, f"points[0].{name}", name) for name in names)
        points = []
        for k, table in enumerate(points_raw):
            if set(table) != set(names):
                _fail(f"points[{k}]", f"every point sets the same parameters ({', '.join(names)}), got {sorted(table)}")
            points.append({v.name: _checked(model, f"points[{k}].{v.name}", v, table[v.name]) for v in varied})
        points = tuple(points)
        values = {v.name: [pt[v.name] for pt in points] for v in varied}
    clash = sorted(set(fixed) & {v.name for v in varied})
    if clash:
        _fail(f"grid.{clash[0]}", "also given a fixed value in [synapse] or [params]")
    measure = raw.get("measure", {"quantities": ["rate"]})
    if not isinstance(measure, dict):
        _fail("measure", "a table with quantities = [...]")
    _unknown(measure, _MEASURE, "measure.")
    quantities = measure.get("quantities", ["rate"])
    if not isinstance(quantities, list) or not quantities:
        _fail("measure.quantities", f"a non-empty list of {', '.join(MEASURES)}")
    for q in quantities:
        if q not in MEASURES:
            _fail("measure.quantities", f"unknown quantity {q!r}; one of {', '.join(MEASURES)}")
    if "g_mean" in quantities and "g" not in (*model.update_order, *model.state_variables):
        _fail("measure.quantities", f"g_mean: model {model.name!r} has no gate g")
    canonical = json.dumps({"spec": _canonical(raw), "model_sha256": model.sha256}, sort_keys=True)
    return SweepSpec(
        model=model,
        neurons=neurons,
        duration=duration,
        dt=dt,
        device=device,
        seed=seed,
        sources=sources,
        input_rate=input_rate,
        p=float(p),
        synapse={n: q for n, (v, q) in fixed.items() if v.owner == "synapses"},
        params={n: q for n, (v, q) in fixed.items() if v.owner == "neurons"},
        varied=varied,
        values=values,
        grid=grid is not None,
        points=points,
        measure=tuple(dict.fromkeys(quantities)),
        canonical=canonical,
        digest=hashlib.sha256(canonical.encode()).hexdigest()[:16],
    )


def _canonical(value):
    """The spec as plain JSON values (the model path as given: its file's hash is recorded beside)."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value
