"""Perturbation studies of a bridged network on one build: membrane noise and parameter values.

The trained network is built once in Brian2 (:func:`dgnsim.interop.bridge.build`, serial
layout, with the model's noise term at ``noise_sigma = 0 mV``) and every point of a study is
a run of that one binary with run arguments: the noise amplitude ``noise_sigma``, a hidden
parameter's value, and the noise seed. The points run through the sweep engine
(:func:`dgnsim.sweep.run_points`): one after another in this process by default, on a Dask
``LocalCluster`` with ``workers=N``, or on a cluster of your own (``scheduler=``, ``client=``);
each run is reduced on its worker to per-sample results (class, whether the hidden spike train
equals the noiseless PyTorch run, spike count) and its raw results are removed.

Per level: the accuracy over samples and noise seeds with a 95 % interval (a bootstrap that
resamples the samples and the seeds), the spike rate per layer, and the agreement with the
noiseless PyTorch run (:func:`dgnsim.interop.bridge.run_torch`): the fraction of runs (sample
and seed) whose hidden spike train equals PyTorch's (``agreement``), the spikes shared with
PyTorch's over those in either (``spike_overlap``), and the fraction with PyTorch's class
(``class_agreement``). A level without noise runs once: its spikes do not depend
on the seed. Varied parameters run without noise, each value replacing the trained value(s)
of every hidden neuron.

Noise seeds: a standalone binary seeds its random generators with a number written into its
code (``brian2.seed``), so here the seed is a run argument: a one-neuron group holds it
(``noise_seed``), and code inserted into the binary's ``main`` after the run arguments are
applied seeds every generator from it. On the runtime devices a network operation at the
first step calls ``brian2.seed`` with it. Equal seeds give equal noise on one device.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from brian2 import NeuronGroup, Quantity, get_device, ms, mV, network_operation, prefs
from brian2 import seed as brian_seed
from brian2.utils.stringtools import get_identifiers

from dgnsim.brian.backend import STANDALONE, Simulation
from dgnsim.brian.network import check_time_step
from dgnsim.core.units import require_quantity
from dgnsim.interop.bridge import (
    READOUT_V_TH,
    BridgeError,
    Layout,
    build,
    check_input,
    readout_logits,
    readout_v_rest,
    run_torch,
)

__all__ = [
    "SEED_GROUP",
    "Level",
    "Study",
    "bootstrap_ci",
    "check_noise",
    "check_vary",
    "membrane_runs",
    "study",
    "study_test_split",
]

#: Name of the group that holds the noise seed (run argument ``bridge_noise_seed.noise_seed=K``).
SEED_GROUP = "bridge_noise_seed"
#: Bootstrap resamples of the 95 % intervals.
BOOTSTRAP = 2000


# ----------------------------------------------------------------------------- checks (before building)


def _one_value(option: str, q: Quantity) -> Quantity:
    if np.ndim(q) != 0:
        raise ValueError(f"{option}: one value per level, got {q!r}")
    return q


def _distinct(option: str, values: list) -> None:
    numbers = [float(q) for q in values]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"{option}: values repeat")


def check_noise(values, option: str = "noise") -> list[Quantity]:
    """Noise amplitudes as voltages, each finite and >= 0, checked before anything is built.

    Parameters
    ----------
    values : iterable of Quantity (voltage)
        The amplitudes (``noise_sigma``), e.g. ``[0*mV, 2*mV]``.
    option : str
        How messages name them.

    Returns
    -------
    list of Quantity (voltage)
        The amplitudes.

    Raises
    ------
    ValueError
        Naming ``option``: no value, a quantity of another unit, a negative or non-finite value,
        a non-scalar, or repeated values.
    TypeError
        Naming ``option``: a bare number or a string.
    """
    values = list(values)
    if not values:
        raise ValueError(f"{option}: give at least one noise amplitude, e.g. 0*mV")
    out = []
    for k, value in enumerate(values):
        q = _one_value(f"{option}[{k}]", require_quantity(f"{option}[{k}]", value, mV, "mV"))
        if not float(q) >= 0:
            raise ValueError(f"{option}[{k}]: a noise amplitude must not be negative, got {q!r}")
        out.append(q)
    _distinct(option, out)
    return out


def _read_while_running(spec) -> set:
    """Names the running network reads: equations (noise term included), threshold, resets, refractoriness."""
    names = set()
    for eq in spec.equations(noise=True).values():
        if eq.expr is not None:
            names |= set(eq.expr.identifiers)
    for code in (spec.threshold, spec.reset, *spec.resets.values(), spec.refractory):
        names |= set(get_identifiers(code))
    return names


def check_vary(net, name: str, values, option: str | None = None) -> list[Quantity]:
    """Values of the hidden parameter ``name`` to run, checked before anything is built.

    Parameters
    ----------
    net : dgnsim.surrogate.Classifier
        The trained network.
    name : str
        A parameter of its hidden layer's model (``"tau_mem"``).
    values : iterable of Quantity
        The values to run, in the parameter's unit.
    option : str, optional
        How messages name them (default ``vary[name]``).

    Returns
    -------
    list of Quantity
        The values.

    Raises
    ------
    ValueError
        Naming ``option``: an unknown parameter; ``noise_sigma`` (give noise levels); a parameter
        the running network does not read, or one that sets an initial value (``v_rest`` sets
        ``v``'s when the network is built, which a run argument cannot change); no value; a sign
        the model forbids; a time constant too short for the time step; a quantity of another
        unit; NaN; repeated values.
    TypeError
        Naming ``option``: a bare number where a unit is meant, or a string.
    """
    option = option or f"vary[{name}]"
    spec = net.hidden.spec
    if name not in spec.parameters:
        raise ValueError(
            f"{option}: model {spec.name!r} has no parameter {name!r}; its parameters: "
            f"{', '.join(p for p in spec.parameters if p != 'noise_sigma')}"
        )
    if name == "noise_sigma":
        raise ValueError(f"{option}: noise_sigma is the noise amplitude; give it as noise levels instead")
    initial = [var for var, expr in spec.initial.items() if name in get_identifiers(expr)]
    if initial:
        raise ValueError(
            f"{option}: {name} sets the initial value of {', '.join(initial)} when the network is "
            "built, so it cannot be varied through run arguments"
        )
    if name not in _read_while_running(spec):
        raise ValueError(
            f"{option}: the running network does not read {name}, so it cannot be varied through run arguments"
        )
    p = spec.parameters[name]
    values = list(values)
    if not values:
        raise ValueError(f"{option}: give at least one value")
    out = []
    for k, value in enumerate(values):
        where = f"{option}[{k}]"
        q = _one_value(where, require_quantity(where, value, p.unit, p.unit_text))
        for flag, ok, text in (
            ("positive", float(q) > 0, "positive"),
            ("nonnegative", float(q) >= 0, "not negative"),
            ("nonpositive", float(q) <= 0, "not positive"),
        ):
            if getattr(p, flag) and not ok:
                raise ValueError(f"{where}: {name} must be {text}, got {q!r}")
        try:
            check_time_step(spec, {name: q}, net.hidden.dt * ms)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        out.append(q)
    _distinct(option, out)
    return out


# ----------------------------------------------------------------------------- the one build


def _seed_holder(sim: Simulation, duration: Quantity) -> NeuronGroup:
    """A group whose ``noise_seed`` (a run argument) seeds each run's noise (see the module docstring)."""
    holder = sim.add(NeuronGroup(1, "noise_seed : integer (shared)", name=SEED_GROUP))
    if sim.device in STANDALONE:
        dev = get_device()
        dev.apply_run_args()  # the run arguments are applied here, after every set-up statement ...
        threads = max(1, int(prefs.devices.cpp_standalone.openmp_threads))
        array = dev.get_array_name(holder.variables["noise_seed"])
        dev.insert_code(
            "main",
            f"for (int _i=0; _i<{threads}; _i++) "  # ... and the generators seeded from them
            f"brian::_random_generators[_i].seed((unsigned long) brian::{array}[0] + _i);",
        )
    else:

        @network_operation(dt=duration, when="start", order=-100, name="bridge_noise_reseed")
        def reseed():  # once, at the first step (after Simulation.run restored the random state)
            brian_seed(int(holder.variables["noise_seed"].get_value()[0]))

        sim.add(reseed)
    return holder


@dataclass(frozen=True)
class _Reduction:
    """What a worker keeps of one run (picklable; arrays in SI units): per sample the class, whether
    the hidden spike train equals the reference, the hidden spike count, and the spikes (neuron and
    step) in both this run and the reference, and in either."""

    layout: Layout
    dt_s: float
    n_hidden: int
    v_rest_mv: np.ndarray
    pool: str
    reference: np.ndarray  # packed bits of the reference spike trains, (samples, bytes)

    def __call__(self, arrays: dict) -> dict:
        step = np.round(np.asarray(arrays["spike_t"]) / self.dt_s).astype(np.int64)
        spikes = self.layout.spikes(arrays["spike_i"], step, self.n_hidden)
        logits = readout_logits(self.layout, np.asarray(arrays["v"]) * 1e3, self.v_rest_mv, self.pool)
        packed = np.packbits(spikes.reshape(spikes.shape[0], -1), axis=1)
        both = np.bitwise_count(packed & self.reference).sum(axis=1)
        either = np.bitwise_count(packed | self.reference).sum(axis=1)
        return {
            "class": logits.argmax(1),
            "identical": np.all(packed == self.reference, axis=1),
            "hidden_spikes": spikes.sum(axis=(1, 2)),
            "shared_spikes": both,
            "union_spikes": either,
        }


@dataclass(frozen=True)
class _Trace:
    """A worker's reduction for :func:`membrane_runs`: the hidden membrane (samples, steps, H) in mV."""

    layout: Layout
    n_hidden: int

    def __call__(self, arrays: dict) -> dict:
        return {"v": self.layout.trace(np.asarray(arrays["hidden_v"]) * 1e3, self.n_hidden)}


@dataclass(frozen=True)
class _PlanLike:
    """The fields of :class:`dgnsim.sweep.RunPlan` that :func:`dgnsim.sweep.reduce` reads."""

    reducer: object
    measure: tuple = ()


class _Built:
    """The study's one built network; :meth:`run` runs points of run arguments on it through the sweep engine."""

    def __init__(self, sim: Simulation, bn, record: dict, reduction):
        self.sim, self.bn, self.record, self.reduction = sim, bn, record, reduction

    def run(self, points: list, *, workers=None, scheduler=None, client=None, progress=True, desc="study") -> list:
        """Records of ``points`` (each ``{(owner, variable): value in SI units, or an int}``), in order."""
        from dgnsim.sweep import reduce, run_arg, run_points, standalone_plan

        if self.sim.device in STANDALONE:
            plan = standalone_plan(
                self.sim,
                {key: (obj.variables[var], columns) for key, (obj, var, columns) in self.record.items()},
                n_neurons=len(self.bn.hidden),
                reducer=self.reduction,
            )
            args = [tuple(run_arg(owner, var, value) for (owner, var), value in point.items()) for point in points]
            return run_points(
                plan, args, workers=workers, scheduler=scheduler, client=client, progress=progress, desc=desc
            )
        if workers is not None or scheduler is not None or client is not None:
            raise ValueError(
                f"workers: the {self.sim.device} device runs its points in this process; "
                "use device='cpp_standalone' to run them on Dask"
            )
        from dgnsim.io.progress import progress_bar

        objects = {obj.name: obj for obj in self.sim.network.objects}
        records = []
        for k, point in enumerate(progress_bar(points, desc=desc, unit="point", enabled=progress)):
            start = time.perf_counter()
            self.sim.run(
                {
                    getattr(objects[owner], var): _runtime_value(objects[owner], var, value)
                    for (owner, var), value in point.items()
                }
            )
            arrays = {key: np.asarray(getattr(obj, f"{var}_")[:]) for key, (obj, var, _) in self.record.items()}
            record = reduce({key: a.T if a.ndim == 2 else a for key, a in arrays.items()}, _PlanLike(self.reduction))
            records.append({**record, "index": k, "run_s": time.perf_counter() - start})
        return records


def _runtime_value(obj, var: str, value):
    """A run argument (SI number, or an int) as the runtime device takes it: a quantity with the variable's unit."""
    v = obj.variables[var]
    return int(value) if np.dtype(v.dtype).kind in "iu" else Quantity(value, dim=v.dim)


def _build(net, x, sim: Simulation, reference: np.ndarray | None, *, membrane: bool = False) -> _Built:
    """Build ``net`` for ``x`` in ``sim`` once: serial layout, noise term at 0 mV, a run-argument seed."""
    bn = build(net, x, sim, record_state=membrane, noise=True, layout="serial")
    duration = bn.layout.total_steps * sim.dt
    _seed_holder(sim, duration)
    sim.build(duration)
    if membrane:
        var = net.hidden.spec.noise_variable
        if var not in bn.hidden_state.record_variables:
            raise BridgeError(f"{net.hidden.model_name}: the noise variable {var} is not recorded")
        return _Built(
            sim, bn, {"hidden_v": (bn.hidden_state, var, len(bn.hidden))}, _Trace(bn.layout, net.hidden.n_out)
        )
    reduction = _Reduction(
        bn.layout,
        float(sim.dt),
        net.hidden.n_out,
        readout_v_rest(net),
        net.readout.pool,
        np.packbits(reference.reshape(reference.shape[0], -1), axis=1),
    )
    record = {"spike_i": (bn.spikes, "i", 1), "spike_t": (bn.spikes, "t", 1), "v": (bn.readout_v, "v", len(bn.readout))}
    return _Built(sim, bn, record, reduction)


# ----------------------------------------------------------------------------- results


@dataclass
class Level:
    """One level of a study: a noise amplitude or a parameter value, over its runs (noise seeds).

    Failed runs are left out of the arrays and named in ``failed``.

    Parameters
    ----------
    study : str
        ``"noise"`` or the varied parameter's name.
    value : Quantity
        The level: the noise amplitude (voltage) or the parameter's value.
    unit : Quantity
        The unit ``value`` is reported in.
    unit_text : str
        That unit as text (``"mV"``).
    seeds : tuple of int
        The noise seeds of the runs that finished.
    correct : ndarray of bool, shape (runs, samples), or None
        Class == label (None without labels).
    identical : ndarray of bool, shape (runs, samples)
        The hidden spike train equals the noiseless PyTorch run's.
    same_class : ndarray of bool, shape (runs, samples)
        The class equals PyTorch's.
    hidden_spikes : ndarray of int, shape (runs, samples)
        Hidden spikes per run and sample.
    shared_spikes, union_spikes : ndarray of int, shape (runs, samples)
        Spikes (neuron and step) in both this run and the PyTorch run, and in either.
    failed : list of str
        ``"seed S: message"`` of each failed run.
    """

    study: str  # "noise", or the varied parameter's name
    value: Quantity
    unit: Quantity
    unit_text: str
    seeds: tuple
    correct: np.ndarray | None
    identical: np.ndarray
    same_class: np.ndarray
    hidden_spikes: np.ndarray
    shared_spikes: np.ndarray
    union_spikes: np.ndarray
    failed: list = field(default_factory=list)

    @property
    def number(self) -> float:
        """The level's value in ``unit_text``."""
        return float(self.value / self.unit)

    @property
    def accuracy(self) -> float | None:
        return None if self.correct is None or not self.correct.size else float(self.correct.mean())

    def summary(self, hidden_rate_per_spike: float, input_rate_hz: float, seed: int) -> dict:
        """The level as the JSON report gives it.

        Parameters
        ----------
        hidden_rate_per_spike : float (Hz)
            The hidden rate one spike per sample makes: 1 / (hidden neurons x duration in s).
        input_rate_hz : float (Hz)
            The mean input rate per channel.
        seed : int
            Seed of the bootstrap interval.

        Returns
        -------
        dict
            The value, runs, seeds, accuracy and its 95 % interval, rates and agreements.
        """
        ci = None if self.accuracy is None else list(bootstrap_ci(self.correct, seed=seed))
        out = {"sigma_mV": self.number} if self.study == "noise" else {"value": self.number, "unit": self.unit_text}
        ok = self.identical.size > 0
        out.update(
            runs=int(self.identical.shape[0]),
            seeds=list(self.seeds),
            accuracy=self.accuracy,
            ci95=ci,
            rate_hz={
                "input": input_rate_hz,
                "hidden": float(self.hidden_spikes.mean()) * hidden_rate_per_spike if ok else None,
            },
            agreement=float(self.identical.mean()) if ok else None,
            spike_identical=int(self.identical.sum()),
            spike_overlap=float(self.shared_spikes.sum() / max(1, self.union_spikes.sum())) if ok else None,
            class_agreement=float(self.same_class.mean()) if ok else None,
            failed=list(self.failed),
        )
        return out


def bootstrap_ci(correct: np.ndarray, *, level: float = 0.95, resamples: int = BOOTSTRAP, seed: int = 0) -> tuple:
    """Percentile interval of the accuracy ``correct.mean()`` by a two-way bootstrap.

    The runs (noise seeds) and the samples are resampled independently, with replacement. With
    one run it is the samples' bootstrap; with a few seeds it is conservative (resampling both
    ways counts the run-to-run scatter twice: about 1.5 times the binomial width for 3 seeds of
    independent errors).

    Parameters
    ----------
    correct : ndarray of bool, shape (runs, samples)
        Whether each run classified each sample correctly.
    level : float
        The interval's probability, in (0, 1).
    resamples : int
        Bootstrap resamples.
    seed : int
        Seed of the resampling.

    Returns
    -------
    tuple of float
        ``(low, high)``, accuracies in [0, 1].
    """
    correct = np.asarray(correct, dtype=float)
    runs, samples = correct.shape
    rng = np.random.default_rng(seed)
    r = rng.integers(runs, size=(resamples, runs))
    s = rng.integers(samples, size=(resamples, samples))
    means = np.stack([correct[r[k]][:, s[k]].mean() for k in range(resamples)])
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


@dataclass
class Study:
    """The result of :func:`study`: its levels, how it ran, and its outputs (:meth:`report`, :meth:`write`).

    Parameters
    ----------
    model : str
        The hidden layer's model, as the report names it.
    device : str
        The Brian2 device the runs used.
    samples : int
        Input samples per run.
    steps : int
        Time steps per sample.
    dt_ms : float (ms)
        The time step.
    n_hidden : int
        Hidden neurons.
    noise_seeds : int
        Noise seeds per non-zero amplitude.
    seed : int
        The first noise seed (and the bootstrap's seed).
    levels : list of Level
        The levels, in the order run.
    torch_accuracy : float or None
        The noiseless PyTorch run's accuracy (None without labels).
    input_rate_hz : float (Hz)
        The mean input rate per channel.
    builds : int
        Networks built (1).
    compiled : int or None
        Binaries compiled (0: reused from the build cache; None on a runtime device).
    timings : dict
        Seconds of each phase (``torch_s``, ``build_s``, ``runs_s``, ``run_s_mean``, ``backend``).
    wall_s : float (s)
        Wall time of the study.
    """

    model: str
    device: str
    samples: int
    steps: int
    dt_ms: float
    n_hidden: int
    noise_seeds: int
    seed: int
    levels: list
    torch_accuracy: float | None
    input_rate_hz: float
    builds: int
    compiled: int | None
    timings: dict
    wall_s: float

    def by_study(self) -> dict:
        """``{"noise": [Level, ...], parameter: [...]}`` in the order given."""
        out: dict = {}
        for level in self.levels:
            out.setdefault(level.study, []).append(level)
        return out

    def report(self) -> dict:
        """The JSON report: how the study ran, and a list of level summaries per study."""
        per_spike = 1.0 / (self.n_hidden * self.steps * self.dt_ms * 1e-3)
        out = {
            "model": self.model,
            "device": self.device,
            "samples": self.samples,
            "steps": self.steps,
            "noise_seeds": self.noise_seeds,
            "seed": self.seed,
            "builds": self.builds,
            "compiled": self.compiled,
            "runs": sum(int(lv.identical.shape[0]) + len(lv.failed) for lv in self.levels),
            "wall_s": self.wall_s,
            "timings": self.timings,
            "torch_accuracy": self.torch_accuracy,
        }
        for name, levels in self.by_study().items():
            out[name] = [lv.summary(per_spike, self.input_rate_hz, self.seed) for lv in levels]
        return out

    def csv(self, report: dict | None = None) -> str:
        """One row per level: study, value, unit, runs, accuracy, interval, rates, agreements.

        Parameters
        ----------
        report : dict, optional
            :meth:`report`'s result, if already made.

        Returns
        -------
        str
            CSV text with a header line.
        """
        report = report or self.report()
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(
            [
                "study",
                "value",
                "unit",
                "runs",
                "accuracy",
                "ci95_low",
                "ci95_high",
                "rate_input_hz",
                "rate_hidden_hz",
                "agreement",
                "spike_identical",
                "spike_overlap",
                "class_agreement",
                "failed",
            ]
        )
        for name in self.by_study():
            for row in report[name]:
                ci = row["ci95"] or [None, None]
                writer.writerow(
                    [
                        name,
                        row.get("sigma_mV", row.get("value")),
                        row.get("unit", "mV"),
                        row["runs"],
                        row["accuracy"],
                        ci[0],
                        ci[1],
                        row["rate_hz"]["input"],
                        row["rate_hz"]["hidden"],
                        row["agreement"],
                        row["spike_identical"],
                        row["spike_overlap"],
                        row["class_agreement"],
                        len(row["failed"]),
                    ]
                )
        return buf.getvalue()

    def write(self, out_dir) -> list[Path]:
        """Write ``study.json``, ``study.csv`` and the figure ``study.pdf``/``.png``, atomically.

        Parameters
        ----------
        out_dir : str or path-like
            The output folder (created if missing).

        Returns
        -------
        list of pathlib.Path
            The files written.
        """
        from dgnsim.io.files import write_json, write_text

        out = Path(out_dir)
        report = self.report()
        write_json(out / "study.json", report)
        write_text(out / "study.csv", self.csv(report))
        return [out / "study.json", out / "study.csv", *plot_study(self, out / "study", report)]


def plot_study(result: Study, stem, report: dict | None = None) -> list[Path]:
    """Accuracy against noise amplitude (and against each varied parameter), with the 95 % intervals.

    Parameters
    ----------
    result : Study
        The study.
    stem : str or pathlib.Path
        Where to write the figure (``stem.pdf`` and ``stem.png``).
    report : dict, optional
        :meth:`Study.report`'s result, if already made.

    Returns
    -------
    list of pathlib.Path
        The PDF and the PNG.
    """
    from dgnsim.viz.plots import plt, save_figure

    report = report or result.report()
    names = list(result.by_study())
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.0), squeeze=False)
    for ax, name in zip(axes[0], names):
        levels = result.by_study()[name]
        rows = report[name]
        x = [lv.number for lv in levels]
        acc = [100 * (r["accuracy"] if r["accuracy"] is not None else np.nan) for r in rows]
        lo = [100 * r["ci95"][0] if r["ci95"] else np.nan for r in rows]
        hi = [100 * r["ci95"][1] if r["ci95"] else np.nan for r in rows]
        ax.fill_between(x, lo, hi, color="C0", alpha=0.25, lw=0, label="95 % interval")
        ax.plot(x, acc, "o-", color="C0", ms=4, label="Brian2")
        if result.torch_accuracy is not None:
            ax.axhline(100 * result.torch_accuracy, color="0.5", ls="--", lw=0.8, label="PyTorch, no noise")
        ax.set_xlabel("membrane noise sigma (mV)" if name == "noise" else f"{name} ({levels[0].unit_text})")
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(0, 100)
        ax.set_title(
            f"{result.model}: {result.samples} samples, {result.noise_seeds} seeds"
            if name == "noise"
            else f"{result.model}: {name}",
            fontsize=9,
        )
        ax.legend(fontsize=7, frameon=False, loc="lower left")
    fig.tight_layout()
    return save_figure(fig, stem)


# ----------------------------------------------------------------------------- the study


def _points(noise, seeds, vary, spec, hidden: str) -> tuple[list, list]:
    """Run arguments of every point, and (study, value, unit, unit text, seed) of each."""
    points, where = [], []
    for sigma in noise:
        for s in seeds if float(sigma) > 0 else seeds[:1]:
            points.append({(hidden, "noise_sigma"): float(sigma), (SEED_GROUP, "noise_seed"): s})
            where.append(("noise", sigma, mV, "mV", s))
    for name, values in vary.items():
        p = spec.parameters[name]
        for value in values:
            points.append({(hidden, name): float(value), (SEED_GROUP, "noise_seed"): seeds[0]})
            where.append((name, value, p.unit, p.unit_text, seeds[0]))
    return points, where


def study(
    net,
    x: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    noise=None,
    noise_seeds: int = 3,
    vary: dict | None = None,
    device: str = "cpp_standalone",
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    seed: int = 0,
    progress: bool = True,
    model: str | None = None,
) -> Study:
    """Noise and parameter study of the bridged ``net`` on the inputs ``x``, on one build.

    Parameters
    ----------
    net : Classifier
        A trained network (float64; :func:`dgnsim.interop.bridge.load_surrogate`).
    x : ndarray, shape (B, T, n_in)
        Input spikes, 0/1.
    labels : array of int, optional
        The samples' classes (for the accuracy; without them only the agreement is measured).
    noise : sequence of Quantity (voltage)
        Membrane noise amplitudes (``noise_sigma`` of the model's noise term), e.g. ``[0*mV, 2*mV]``.
    noise_seeds : int
        Noise seeds per non-zero amplitude (``seed``, ``seed + 1``, ...).
    vary : dict, optional
        ``{parameter: [Quantity, ...]}``: hidden parameters to set, one value per run, without noise.
    device : str
        ``cpp_standalone`` (one binary) or a runtime device (``numpy``, ``cython``: one network).
    workers, scheduler, client
        Where the points run (:func:`dgnsim.sweep.run_points`): serially in this process by
        default, on a Dask LocalCluster of ``workers`` processes, or on an existing cluster.
    seed : int
        The first noise seed, the simulation's seed and the bootstrap's; >= 0.
    progress : bool
        Show a progress bar on stderr.
    model : str, optional
        How the report names the model (default: the hidden layer's model name).

    Returns
    -------
    Study
        The levels and how they ran.

    Raises
    ------
    ValueError
        For bad ``noise``, ``vary``, ``noise_seeds``, ``seed``, ``labels`` or input spikes, or
        neither noise levels nor parameter values.
    TypeError
        For a noise level or parameter value without its unit.
    """
    started = time.perf_counter()
    x = check_input(x, net.hidden.n_in)
    noise = check_noise(noise) if noise is not None else []
    vary = {name: check_vary(net, name, values) for name, values in (vary or {}).items()}
    if not noise and not vary:
        raise ValueError("noise: give noise levels (e.g. [0*mV, 2*mV]) or parameter values to vary")
    if isinstance(noise_seeds, bool) or not isinstance(noise_seeds, (int, np.integer)) or noise_seeds < 1:
        raise ValueError(f"noise_seeds: an integer >= 1, got {noise_seeds!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: an integer >= 0, got {seed!r}")
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (x.shape[0],):
            raise ValueError(f"labels: one per sample ({x.shape[0]}), got shape {labels.shape}")
    seeds = tuple(range(seed, seed + int(noise_seeds)))
    start = time.perf_counter()
    ref = run_torch(net, x)
    timings = {"torch_s": time.perf_counter() - start}
    builds = 0
    with Simulation(device, dt=net.hidden.dt * ms, seed=seed) as sim:
        start = time.perf_counter()
        built = _build(net, x, sim, ref.spikes)
        builds += 1
        timings["build_s"] = time.perf_counter() - start
        compiled = None if device not in STANDALONE else int(not sim.timings.get("reused", False))
        points, where = _points(noise, seeds, vary, net.hidden.spec, built.bn.hidden.name)
        start = time.perf_counter()
        records = built.run(points, workers=workers, scheduler=scheduler, client=client, progress=progress)
        timings["runs_s"] = time.perf_counter() - start
        timings["backend"] = {k: v for k, v in sim.timings.items() if k in ("codegen_s", "compile_s", "reused")}
    timings["run_s_mean"] = float(np.mean([r["run_s"] for r in records]))
    torch_class = ref.logits.argmax(1)
    groups: dict = {}
    for (name, value, unit, text, s), record in zip(where, records):
        groups.setdefault((name, float(value)), (name, value, unit, text, []))[4].append((s, record))
    levels = []
    for name, value, unit, text, runs in groups.values():
        ok = [(s, r["values"]) for s, r in runs if r["status"] == "done"]
        classes = np.array([v["class"] for _, v in ok]).reshape(len(ok), x.shape[0])
        levels.append(
            Level(
                name,
                value,
                unit,
                text,
                tuple(s for s, _ in ok),
                None if labels is None else classes == labels[None, :],
                np.array([v["identical"] for _, v in ok], dtype=bool).reshape(len(ok), -1),
                classes == torch_class[None, :],
                *(
                    np.array([v[k] for _, v in ok]).reshape(len(ok), -1)
                    for k in ("hidden_spikes", "shared_spikes", "union_spikes")
                ),
                [f"seed {s}: {r['message']}" for s, r in runs if r["status"] != "done"],
            )
        )
    dt_s = net.hidden.dt * 1e-3
    return Study(
        model or net.hidden.model_name,
        device,
        x.shape[0],
        x.shape[1],
        net.hidden.dt,
        net.hidden.n_out,
        int(noise_seeds),
        seed,
        levels,
        None if labels is None else float(np.mean(torch_class == labels)),
        float(x.sum() / (x.shape[0] * x.shape[1] * x.shape[2] * dt_s)),
        builds,
        compiled,
        timings,
        time.perf_counter() - started,
    )


def study_test_split(path, *, data=None, limit: int | None = None, model: str | None = None, **options) -> Study:
    """:func:`study` of a trained network on the test split it was trained on.

    Parameters
    ----------
    path : str or path-like
        A checkpoint folder or file, as :func:`~dgnsim.interop.bridge.load_surrogate` reads it.
    data : str or path-like, optional
        The FSDD folder.
    limit : int, optional
        Use the first ``limit`` test samples.
    model : str, optional
        The model of a plain ``state_dict`` (which records none).
    **options
        The options of :func:`study` (``noise``, ``vary``, ``device`` ...); checked before the
        data are read.

    Returns
    -------
    Study
        The result.

    Raises
    ------
    BridgeError
        For a ``limit`` below 1 or a network trained on another input encoding.
    ValueError
        For bad options (see :func:`study`).
    """
    from dgnsim.fsdd.data import load_fsdd
    from dgnsim.interop.bridge import load_surrogate

    if limit is not None and (isinstance(limit, bool) or limit < 1):
        raise BridgeError(f"limit must be positive, got {limit}")
    net, manifest = load_surrogate(path, model=model)
    options.setdefault("model", (manifest or {}).get("model"))
    for name, values in (options.get("vary") or {}).items():  # checked before the data are read
        check_vary(net, name, values)
    if options.get("noise") is not None:
        check_noise(options["noise"])
    ds = load_fsdd(data, split=(manifest or {}).get("split", "official"))
    if manifest is not None and ds.encoding_key != manifest["encoding"].get("key"):
        raise BridgeError(f"{path}: trained on a different input encoding")
    return study(net, ds.test_x[:limit], ds.test_y[:limit], **options)


# ----------------------------------------------------------------------------- membrane noise, no spikes


def _threshold_parameter(spec) -> str:
    """The parameter to lift so that the hidden neurons never spike: the threshold's one voltage parameter."""
    from dgnsim.core.expressions import parse_threshold

    names = parse_threshold(spec.threshold).names
    volts = [n for n in spec.parameters if n in names and spec.parameters[n].unit.dim == mV.dim]
    if len(volts) != 1:
        raise BridgeError(f"{spec.name}: threshold {spec.threshold!r} has no single voltage parameter to lift")
    return volts[0]


def membrane_runs(
    net,
    x: np.ndarray,
    sigma: Quantity,
    seeds: int,
    *,
    device: str = "cpp_standalone",
    seed: int = 0,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    progress: bool = False,
) -> np.ndarray:
    """The hidden membrane under noise ``sigma`` with the threshold lifted (no spikes), on one build.

    The threshold parameter (e.g. ``v_th``) is a run argument set to
    :data:`~dgnsim.interop.bridge.READOUT_V_TH`.

    Parameters
    ----------
    net : dgnsim.surrogate.Classifier
        A trained feed-forward network (float64).
    x : ndarray, shape (B, T, n_in)
        Input spikes, 0/1.
    sigma : Quantity (voltage)
        The membrane noise amplitude (``noise_sigma``).
    seeds : int
        Noise seeds, >= 1.
    device : str
        The Brian2 device.
    seed : int
        The first noise seed (runs 1..``seeds`` use ``seed .. seed + seeds - 1``).
    workers, scheduler, client
        Where the runs go, as in :func:`study`.
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    ndarray of float (mV), shape (seeds + 1, B, T, H)
        Run 0 without noise, then one run per noise seed.

    Raises
    ------
    ValueError
        For ``seeds`` < 1 or bad input spikes.
    BridgeError
        If a run failed.
    """
    x = check_input(x, net.hidden.n_in)
    (sigma,) = check_noise([sigma], "sigma")
    if isinstance(seeds, bool) or not isinstance(seeds, (int, np.integer)) or seeds < 1:
        raise ValueError(f"seeds: an integer >= 1, got {seeds!r}")
    lift = _threshold_parameter(net.hidden.spec)
    with Simulation(device, dt=net.hidden.dt * ms, seed=seed) as sim:
        built = _build(net, x, sim, None, membrane=True)
        hidden = built.bn.hidden.name
        points = [
            {(hidden, lift): float(READOUT_V_TH), (hidden, "noise_sigma"): float(s), (SEED_GROUP, "noise_seed"): k}
            for s, k in [(0 * mV, seed)] + [(sigma, seed + k) for k in range(seeds)]
        ]
        records = built.run(
            points, workers=workers, scheduler=scheduler, client=client, progress=progress, desc="membrane"
        )
    failed = [r["message"] for r in records if r["status"] != "done"]
    if failed:
        raise BridgeError(f"membrane runs failed: {failed[0]}")
    return np.stack([r["values"]["v"] for r in records])
