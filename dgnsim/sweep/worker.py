"""What a worker does for one point: run the built binary, read its results, reduce them.

Workers are other processes (other machines, on a cluster) without Brian2's device
state, so everything they need is in a small picklable :class:`RunPlan` made by the
client: the binary, its folder, the command-line arguments of each point, and which raw
result file holds which monitored array. :func:`run_point` is pure apart from its own
scratch folder, which it always removes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["REDUCTIONS", "ArrayFile", "RunPlan", "reduce", "run_batch", "run_point"]


@dataclass(frozen=True)
class ArrayFile:
    """A monitored array as the binary writes it.

    Parameters
    ----------
    filename : str
        File name in the results folder.
    dtype : str
        Its numpy dtype.
    columns : int
        Columns per row (a StateMonitor writes time steps x recorded neurons, row by row; 1 otherwise).
    """

    filename: str
    dtype: str
    columns: int = 1  # a StateMonitor writes (time steps x recorded neurons), row by row


@dataclass(frozen=True)
class RunPlan:
    """Everything a worker needs to run points of a built sweep (picklable, small).

    Parameters
    ----------
    binary : str
        The compiled binary.
    cwd : str
        Its folder (where it finds its static arrays).
    arrays : dict
        Key (``"spike_i"``, ``"spike_t"``, ``"v"``, ``"g"``, ...) -> :class:`ArrayFile`.
    n_neurons : int
        Neurons of the population (for rates).
    duration_s : float (s)
        Simulated time per point.
    measure : tuple of str
        The measured quantities (keys of :data:`REDUCTIONS`).
    env : dict
        Environment variables of the binary.
    scratch : str, optional
        Where results folders are made (default: the system's temp folder).
    timeout_s : float (s), optional
        A point running longer fails.
    reducer : callable, optional
        Instead of ``measure``: a picklable ``reducer(arrays) -> {name: value}`` (arrays in SI
        units), for networks other than a sweep spec's (e.g. the bridged network's perturbation studies).
    """

    binary: str
    cwd: str
    arrays: dict  # "spike_i", "spike_t", "v", "g" -> ArrayFile
    n_neurons: int
    duration_s: float
    measure: tuple
    env: dict = field(default_factory=dict)
    scratch: str | None = None  # where results folders are made (default: the system's temp folder)
    timeout_s: float | None = None
    #: Instead of ``measure``: a picklable ``reducer(arrays) -> {name: value}`` (arrays in SI units),
    #: for networks other than a sweep spec's (e.g. the bridged network's perturbation studies).
    reducer: object = None


def _rate(a, plan):
    return len(a["spike_i"]) / (plan.n_neurons * plan.duration_s), None


def _v_mean(a, plan):
    return float(np.mean(a["v"])) * 1e3, None


def _v_var(a, plan):
    return float(np.var(a["v"])) * 1e6, None


def _g_mean(a, plan):
    return float(np.mean(a["g"])), None


def _cv_isi(a, plan):
    order = np.lexsort((a["spike_t"], a["spike_i"]))
    i, t = a["spike_i"][order], a["spike_t"][order]
    cvs = []
    for n in np.unique(i):
        isi = np.diff(t[i == n])
        if len(isi) >= 2 and np.mean(isi) > 0:
            cvs.append(np.std(isi) / np.mean(isi))
    if not cvs:
        return float("nan"), "cv_isi is undefined: no neuron fired 3 spikes"
    return float(np.mean(cvs)), None


#: name -> (function of the arrays (SI units) and the plan -> (value, why NaN), arrays it needs).
REDUCTIONS = {
    "rate": (_rate, ("spike_i",)),
    "v_mean": (_v_mean, ("v",)),
    "v_var": (_v_var, ("v",)),
    "g_mean": (_g_mean, ("g",)),
    "cv_isi": (_cv_isi, ("spike_i", "spike_t")),
}


def reduce(arrays: dict, plan: RunPlan) -> dict:
    """The measured quantities of one point from its monitored arrays.

    A NaN in an array or a quantity fails the point, with a message naming it. A plan with a
    ``reducer`` gets that function's values (any picklable values) instead.

    Parameters
    ----------
    arrays : dict
        The monitored arrays by key, in SI units.
    plan : RunPlan
        The plan, with ``measure`` or ``reducer``.

    Returns
    -------
    dict
        ``{"status": "done" or "failed", "message": str, "values": {name: float}}``.
    """
    for name, array in arrays.items():
        if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
            return _failed(f"NaN or infinite values in the monitored {name}", plan)
    if plan.reducer is not None:
        return {"status": "done", "message": "", "values": plan.reducer(arrays)}
    values = {}
    for name in plan.measure:
        value, why = REDUCTIONS[name][0](arrays, plan)
        if not np.isfinite(value):
            return _failed(why or f"{name} is NaN", plan, values)
        values[name] = float(value)
    return {"status": "done", "message": "", "values": values}


def _failed(message: str, plan: RunPlan, values: dict | None = None) -> dict:
    values = dict(values or {})
    return {
        "status": "failed",
        "message": message,
        "values": {name: values.get(name, float("nan")) for name in plan.measure},
    }


def _read(folder: str, spec: ArrayFile) -> np.ndarray:
    path = os.path.join(folder, spec.filename)
    data = np.fromfile(path, dtype=spec.dtype) if os.path.exists(path) else np.array([], dtype=spec.dtype)
    return data.reshape(-1, spec.columns) if spec.columns > 1 else data


def _network_time(folder: str) -> float | None:
    """The binary's own clock for its network run (Brian2's ``last_run_info.txt``), if it wrote one."""
    path = os.path.join(folder, "last_run_info.txt")
    if not os.path.exists(path):
        return None
    with open(path) as info:
        return float(info.read().split()[0])


def run_point(plan: RunPlan, index: int, args: tuple) -> dict:
    """Run the binary for one point and reduce its results.

    Every failure of the point (a non-zero exit, a time-out, a NaN) is returned as a failed
    record with its message, so that the other points go on; the raw results are removed.

    Parameters
    ----------
    plan : RunPlan
        The binary and its reduction.
    index : int
        The point's index (recorded).
    args : tuple of str
        Its ``owner.var=value`` command-line arguments.

    Returns
    -------
    dict
        The record of :func:`reduce` with ``index``, ``run_s`` (seconds on the worker) and, for a
        run that finished, ``network_s`` (the binary's own clock for the network run).
    """
    start = time.perf_counter()
    folder = tempfile.mkdtemp(prefix=f"dgnsim-sweep-{index}-", dir=plan.scratch)
    try:
        try:
            proc = subprocess.run(
                [plan.binary, "--results_dir", folder + os.sep, *args],
                cwd=plan.cwd,
                env={**os.environ, **plan.env},
                capture_output=True,
                text=True,
                timeout=plan.timeout_s,
            )
        except subprocess.TimeoutExpired:
            record = _failed(f"the binary ran longer than {plan.timeout_s} s", plan)
        except OSError as exc:
            record = _failed(f"cannot run the binary {plan.binary}: {exc}", plan)
        else:
            if proc.returncode != 0:
                tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-3:]
                record = _failed(
                    f"the binary exited with status {proc.returncode}" + (f": {' | '.join(tail)}" if tail else ""), plan
                )
            else:
                record = reduce({k: _read(folder, f) for k, f in plan.arrays.items()}, plan)
                record["network_s"] = _network_time(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    record["index"] = index
    record["run_s"] = time.perf_counter() - start
    return record


def run_batch(plan: RunPlan, batch: list) -> list[dict]:
    """Run several points one after another on this worker (one Dask task); their records.

    Parameters
    ----------
    plan : RunPlan
        The binary and its reduction.
    batch : list of tuple
        ``(index, args)`` pairs: each point's index in the sweep and its command-line arguments.

    Returns
    -------
    list of dict
        The records of :func:`run_point`, in the order of ``batch``.
    """
    return [run_point(plan, index, args) for index, args in batch]
