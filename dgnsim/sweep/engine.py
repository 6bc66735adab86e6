"""The sweep engine: build one network once, run its points on Dask, write them as they finish.

The client builds the C++ standalone binary once (through :class:`dgnsim.Simulation`) and
turns every point into command-line arguments of that binary (``owner.var=value``, as
Brian2's ``run_args``); Dask workers run :func:`dgnsim.sweep.worker.run_point`, each in its
own results folder. By default the workers are an embedded ``LocalCluster`` of
processes; ``scheduler=ADDRESS`` or ``client=`` runs them on an existing cluster (e.g.
dask-jobqueue's SLURMCluster). A runtime device (numpy, cython) runs the points one by
one in this process, through the same reductions.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
from brian2 import SpikeMonitor, StateMonitor, get_device, prefs

from dgnsim.brian.backend import STANDALONE, Simulation
from dgnsim.brian.network import check_time_step, connect, make_group, poisson_input
from dgnsim.core.extras import require_extra
from dgnsim.core.parallel import cluster_options, map_points
from dgnsim.io.progress import progress_bar
from dgnsim.sweep.spec import SweepSpec, load_spec
from dgnsim.sweep.store import DONE, FAILED, PENDING, SweepStore
from dgnsim.sweep.worker import REDUCTIONS, ArrayFile, RunPlan, reduce, run_batch

__all__ = [
    "SweepSummary",
    "build_network",
    "check_points",
    "run_arg",
    "run_points",
    "run_sweep",
    "standalone_plan",
    "unread_variables",
]

#: Most points in one Dask task: a task costs the client, the scheduler and the worker a few
#: milliseconds, a point of a small network not much more; the engine's benchmark chose it.
BATCH = 8

#: Code objects that only set up the network (initial values, connections), not the run.
_SET_UP = re.compile(r"group_variable_set|synapses_create|synapses_connect")


@dataclass
class SweepSummary:
    """What one call of :func:`run_sweep` did: points run, skipped (already in the store), failed.

    Parameters
    ----------
    ran : int
        Points run by this call.
    skipped : int
        Points already finished in the store (done, or failed unless ``retry_failed``).
    failed : int
        Points of this call that failed.
    points : int
        Points of the spec.
    done_total : int
        Points done in the store after this call.
    failed_total : int
        Points failed in the store after this call.
    store : str
        The store's path.
    wall_s : float (s)
        Wall time of the call.
    """

    ran: int
    skipped: int
    failed: int
    points: int
    done_total: int
    failed_total: int
    store: str
    wall_s: float

    def as_dict(self) -> dict:
        """The summary as a plain dict (the ``--json`` output of ``dgnsim sweep``).

        Returns
        -------
        dict
            The fields by name.
        """
        return asdict(self)


def check_points(spec: SweepSpec) -> None:
    """Refuse points the network cannot run (e.g. a time constant too short for ``dt``), before building.

    Parameters
    ----------
    spec : SweepSpec
        The sweep.

    Raises
    ------
    ValueError
        Naming ``grid`` (or ``points[k]``) and the parameter.
    """
    for k, point in enumerate(spec.points):
        neuron = {v.name: point[v.name] for v in spec.varied if v.owner == "neurons"}
        try:
            check_time_step(spec.model, neuron, spec.dt)
        except ValueError as exc:
            raise ValueError(f"{'grid' if spec.grid else f'points[{k}]'}: {exc}") from None


def build_network(spec: SweepSpec, point: dict) -> dict:
    """Create the sweep's network at ``point`` in the current :class:`~dgnsim.Simulation`.

    Connectivity and input are drawn from ``spec.seed`` alone, so every point (and every
    backend) has the same network; only the varied parameters differ.

    Parameters
    ----------
    spec : SweepSpec
        The sweep.
    point : dict
        The varied parameters' values (Brian2 quantities) by name.

    Returns
    -------
    dict
        The Brian2 objects by name: ``neurons``, ``input``, ``input_synapses``, ``spikes`` and,
        when a measure needs traces, ``states``.
    """
    seeds = np.random.default_rng(spec.seed).integers(0, 2**31, size=2)
    neuron = {**spec.params, **{v.name: point[v.name] for v in spec.varied if v.owner == "neurons"}}
    synapse = {**spec.synapse, **{v.name: point[v.name] for v in spec.varied if v.owner == "synapses"}}
    group = make_group(spec.model, spec.neurons, neuron, dt=spec.dt, name="neurons")
    source = poisson_input(spec.sources, spec.input_rate, spec.duration, seed=int(seeds[0]), dt=spec.dt, name="input")
    synapses = connect(source, group, p=spec.p, seed=int(seeds[1]), name="input_synapses", **synapse)
    objects = {
        "neurons": group,
        "input": source,
        "input_synapses": synapses,
        "spikes": SpikeMonitor(group, name="spikes"),
    }
    traced = [v for v in ("v", "g") if any(v in REDUCTIONS[m][1] for m in spec.measure)]
    if traced:
        objects["states"] = StateMonitor(group, traced, record=True, name="states")
    return objects


def _defaults(spec: SweepSpec) -> dict:
    model = spec.model
    return {
        v.name: (model.parameters if v.owner == "neurons" else model.synapse.parameters)[v.name].default
        for v in spec.varied
    }


def _views(spec: SweepSpec, objects: dict, point: dict) -> dict:
    owners = {"neurons": objects["neurons"], "synapses": objects["input_synapses"]}
    return {getattr(owners[v.owner], v.name): point[v.name] for v in spec.varied}


def standalone_plan(sim: Simulation, arrays: dict, **fields) -> RunPlan:
    """The :class:`RunPlan` of the binary that ``sim`` (a built standalone Simulation) compiled.

    Parameters
    ----------
    sim : Simulation
        A standalone simulation after ``build``.
    arrays : dict
        ``{key: (Variable, columns)}``: the monitored variables a worker reads back
        (``columns``: recorded neurons of a StateMonitor, 1 for a spike monitor's arrays).
    **fields
        The other fields of :class:`RunPlan` (``n_neurons``, ``duration_s``, ``reducer``, ...).

    Returns
    -------
    RunPlan
        Picklable; what a worker needs to run a point.
    """
    dev = get_device()
    directory = Path(sim.directory)
    files = {
        key: ArrayFile(dev.get_array_filename(var), np.dtype(var.dtype).str, columns)
        for key, (var, columns) in arrays.items()
    }
    env = {**prefs["devices.cpp_standalone.run_environment_variables"], **dev.run_environment_variables}
    run_cmd = prefs.devices.cpp_standalone.run_cmd_unix
    binary = str(directory / (run_cmd if isinstance(run_cmd, str) else run_cmd[0]).lstrip("./"))
    fields.setdefault("n_neurons", 0)
    fields.setdefault("duration_s", float(sim.duration))
    fields.setdefault("measure", ())
    return RunPlan(binary=binary, cwd=str(directory), arrays=files, env={k: str(x) for k, x in env.items()}, **fields)


def unread_variables(sim: Simulation, variables: dict) -> list[str]:
    """The names in ``variables`` that no code of ``sim``'s built binary reads while it runs.

    Only set-up code (initial values, connections) reads them, so a run argument would change nothing.

    Parameters
    ----------
    sim : Simulation
        A standalone simulation after ``build``.
    variables : dict
        ``{name: Variable}``.

    Returns
    -------
    list of str
        The names not read while running.
    """
    dev = get_device()
    code = [p.read_text() for p in (Path(sim.directory) / "code_objects").glob("*.cpp") if not _SET_UP.search(p.name)]
    return [
        name
        for name, var in variables.items()
        if not any(dev.get_array_filename(var).rsplit("_", 1)[0] in text for text in code)
    ]


def run_arg(owner: str, name: str, value) -> str:
    """The binary's command-line argument ``owner.name=value``, as Brian2's ``run_args``.

    Parameters
    ----------
    owner : str
        Name of the Brian2 object (e.g. ``"neurons"``).
    name : str
        The variable.
    value : float or int
        Its value in SI units (an int stays an int).

    Returns
    -------
    str
        The argument.
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{owner}.{name}={int(value)}"
    return f"{owner}.{name}={float(np.asarray(value)).__repr__()}"


def _plan(spec: SweepSpec, sim: Simulation, objects: dict) -> RunPlan:
    """The run plan of a built standalone sweep."""
    owners = {"neurons": objects["neurons"], "synapses": objects["input_synapses"]}
    unread = unread_variables(sim, {v.name: owners[v.owner].variables[v.name] for v in spec.varied})
    if unread:
        raise ValueError(
            f"grid.{unread[0]}: the generated code does not read {unread[0]} while running, "
            "so it cannot be a run argument of the binary"
        )
    arrays = {"spike_i": (objects["spikes"].variables["i"], 1), "spike_t": (objects["spikes"].variables["t"], 1)}
    if "states" in objects:
        arrays.update(
            {name: (objects["states"].variables[name], spec.neurons) for name in objects["states"].record_variables}
        )
    return standalone_plan(sim, arrays, n_neurons=spec.neurons, duration_s=float(spec.duration), measure=spec.measure)


#: Run plans of the networks built in this process, by :func:`_network_key`: a later sweep of the
#: same network (other values of the same parameters) reuses the binary without generating it again.
_PLANS: dict[str, RunPlan] = {}


def _network_key(spec: SweepSpec) -> str:
    """What the built binary depends on: the spec without the varied values (built at the defaults)."""
    canonical = json.loads(spec.canonical)
    for key in ("grid", "points"):
        canonical["spec"].pop(key, None)
    canonical["varied"] = [(v.name, v.owner) for v in spec.varied]
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def _built_plan(spec: SweepSpec, scratch: str | None) -> RunPlan:
    """The run plan of the spec's standalone binary: built once per network and process."""
    key = _network_key(spec)
    plan = _PLANS.get(key)
    if plan is None or not os.path.exists(plan.binary):
        with Simulation(spec.device, dt=spec.dt, seed=spec.seed, namespace={}) as sim:
            # built at the model's defaults: every point is a run argument, and sweeps that vary
            # the same parameters of the same network share one binary
            objects = build_network(spec, _defaults(spec))
            sim.add(*objects.values())
            sim.build(spec.duration)
            plan = _PLANS[key] = _plan(spec, sim, objects)
    return replace(plan, scratch=scratch)


def _point_args(spec: SweepSpec) -> list[tuple[str, ...]]:
    """Each point's command-line arguments."""
    owner_names = {"neurons": "neurons", "synapses": "input_synapses"}
    return [
        tuple(
            run_arg(owner_names[v.owner], v.name, np.asarray(point[v.name] / v.unit) * float(v.unit))
            for v in spec.varied
        )
        for point in spec.points
    ]


def _batch(n_points: int, n_workers: int | None) -> int:
    """Points per Dask task: one in this process; on a cluster at most :data:`BATCH` points,
    and at least four tasks per worker (so that the last ones balance, and the bar moves)."""
    if n_workers is None:
        return 1
    return max(1, min(BATCH, n_points // (4 * n_workers)))


def _failed_task(index: int, exc: BaseException) -> dict:
    return {"status": "failed", "message": f"dask: {exc!r}", "values": {}, "index": index}


def run_points(
    plan: RunPlan,
    args: list,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    progress: bool = True,
    desc: str = "points",
) -> list[dict]:
    """Run a built binary once per point and reduce each run on its worker; the records in point order.

    Parameters
    ----------
    plan : RunPlan
        The binary and its reduction (:func:`standalone_plan`).
    args : list of tuple of str
        Each point's command-line arguments (:func:`run_arg`).
    workers : int, optional
        Run on an embedded Dask ``LocalCluster`` of that many processes (default: one
        point after another in this process).
    scheduler : str, optional
        Address of a running Dask scheduler to run on instead.
    client : dask.distributed.Client, optional
        A client of a running cluster to run on instead.
    progress : bool
        Show a progress bar on stderr.
    desc : str
        The progress bar's label.

    Returns
    -------
    list of dict
        One record per point (:func:`dgnsim.sweep.worker.run_point`), in the order of ``args``.
    """
    bar = progress_bar(desc=desc, unit="point", total=len(args), enabled=progress)
    try:
        return map_points(
            partial(run_batch, plan),
            list(enumerate(args)),
            batch=_batch,
            workers=workers,
            scheduler=scheduler,
            client=client,
            on_error=_failed_task,
            progress=bar,
            name="dgnsim-points",
        )
    finally:
        bar.close()


def run_sweep(
    spec,
    out,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    limit: int | None = None,
    retry_failed: bool = False,
    progress: bool = True,
    on_result=None,
    scratch: str | None = None,
) -> SweepSummary:
    """Run the points of ``spec`` missing from the Zarr store ``out``; the store is written as they finish.

    The client builds the C++ standalone binary once (once per network and process); Dask
    workers run its points in tasks of a few points each; finished points are flushed to the
    store every :data:`dgnsim.sweep.store.FLUSH_POINTS` points or :data:`~dgnsim.sweep.store.FLUSH_S`
    seconds and when the call ends (also by an interrupt), so a second call resumes. A runtime
    device (numpy, cython) runs the points one by one in this process.

    Parameters
    ----------
    spec : SweepSpec or str or pathlib.Path
        The sweep, or the path of its TOML spec.
    out : str or pathlib.Path
        The store (``DIR.zarr``); created, or resumed when it was made by the same spec.
    workers : int, optional
        Worker processes of an embedded LocalCluster (the default when neither ``scheduler`` nor
        ``client`` is given: as many as CPUs).
    scheduler : str, optional
        Address of a running Dask scheduler to run on instead (e.g. one of dask-jobqueue's SLURMCluster).
    client : dask.distributed.Client, optional
        A client of a running cluster to run on instead.
    limit : int, optional
        Run at most this many of the missing points (the rest stay pending).
    retry_failed : bool
        Run the points that failed before again (by default a failed point is finished).
    progress : bool
        Show a progress bar on stderr (points done, failed, rate, time left).
    on_result : callable, optional
        ``on_result(index, record, client)`` after each point is kept for the store (tests, monitoring).
    scratch : str, optional
        Folder for the points' raw results on the workers (default: the system's temp folder).

    Returns
    -------
    SweepSummary
        What this call ran, skipped and failed.

    Raises
    ------
    ValueError
        For a bad spec, a store of another spec, or a varied parameter the binary cannot take
        as a run argument (before anything runs).
    ImportError
        Without the ``sweep`` extra (Dask, xarray, Zarr), before anything runs.
    """
    started = time.perf_counter()
    require_extra("sweep", "dask", "distributed", "xarray", "zarr")
    cluster_options(workers, scheduler, client)
    if workers is None and scheduler is None and client is None:
        workers = os.cpu_count() or 1
    spec = spec if isinstance(spec, SweepSpec) else load_spec(spec)
    check_points(spec)
    store = SweepStore(out, spec)
    status = store.status()
    todo = [int(k) for k in np.flatnonzero((status == PENDING) | ((status == FAILED) & retry_failed))]
    skipped = len(status) - len(todo)
    if limit is not None:
        todo = todo[:limit]
    failed = 0
    if todo:
        bar = progress_bar(desc="sweep", unit="point", total=len(todo), enabled=progress)

        def record(index: int, result: dict, dask_client=None) -> None:
            nonlocal failed
            store.write(index, result)
            failed += result["status"] == "failed"
            bar.update(1)
            bar.set_postfix(failed=failed, refresh=False)
            if on_result is not None:
                on_result(index, result, dask_client)

        try:
            if spec.device in STANDALONE:
                plan, args = _built_plan(spec, scratch), _point_args(spec)
                map_points(
                    partial(run_batch, plan),
                    [(index, args[index]) for index in todo],
                    batch=_batch,
                    workers=workers,
                    scheduler=scheduler,
                    client=client,
                    on_result=lambda k, result, dask_client: record(todo[k], result, dask_client),
                    on_error=lambda k, exc: _failed_task(todo[k], exc),
                    name="dgnsim-sweep",
                )
            else:
                with Simulation(spec.device, dt=spec.dt, seed=spec.seed, namespace={}) as sim:
                    objects = build_network(spec, _defaults(spec))
                    sim.add(*objects.values())
                    sim.build(spec.duration)
                    _serial(spec, sim, objects, todo, record)
        finally:
            store.flush()  # also when interrupted: every point that finished is kept
            bar.close()
    final = store.status()
    return SweepSummary(
        ran=len(todo),
        skipped=skipped,
        failed=failed,
        points=len(final),
        done_total=int(np.sum(final == DONE)),
        failed_total=int(np.sum(final == FAILED)),
        store=str(out),
        wall_s=time.perf_counter() - started,
    )


def _serial(spec: SweepSpec, sim: Simulation, objects: dict, todo: list, record) -> None:
    """Run points one by one in this process (runtime devices), reduced as on a worker."""
    plan = RunPlan(
        binary="", cwd="", arrays={}, n_neurons=spec.neurons, duration_s=float(spec.duration), measure=spec.measure
    )
    for index in todo:
        start = time.perf_counter()
        sim.run(_views(spec, objects, spec.points[index]))
        spikes = objects["spikes"]
        arrays = {"spike_i": np.asarray(spikes.i[:]), "spike_t": np.asarray(spikes.t_[:])}
        if "states" in objects:
            arrays.update(
                {
                    name: np.asarray(getattr(objects["states"], f"{name}_")[:]).T
                    for name in objects["states"].record_variables
                }
            )
        result = reduce(arrays, plan)
        result.update(index=index, run_s=time.perf_counter() - start)
        record(index, result)
