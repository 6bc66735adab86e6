"""Run a picklable function over points: in this process, or on a Dask cluster.

The one dispatcher of dgnsim: the sweep engine (:mod:`dgnsim.sweep`), the stability
Monte-Carlo and the gating analyses (:mod:`dgnsim.analysis`) and the bridged network's
perturbation studies all hand their points to :func:`map_points`. The points are cut
into contiguous batches; ``function(batch)`` returns one result per point of its batch.
By default the batches run one after another in this process; ``workers=N`` starts an
embedded Dask ``LocalCluster`` of N processes (one thread each), ``scheduler=ADDRESS``
connects to a running scheduler (``dask scheduler`` / ``dask worker``, dask-jobqueue's
``SLURMCluster``, ...) and ``client=`` uses a ``dask.distributed.Client`` as it is. A
batch whose worker is lost runs again; the results come back in point order. Dask is
imported only when a cluster is used.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any

from dgnsim.core.extras import require_extra

__all__ = ["cluster_options", "map_points"]

#: How many times a batch is submitted before its points count as failed when workers keep dying.
TRIES = 3


def cluster_options(workers: int | None = None, scheduler: str | None = None, client: Any = None) -> bool:
    """Check where points should run; True when on a Dask cluster, False when in this process.

    Parameters
    ----------
    workers : int, optional
        Worker processes of an embedded ``LocalCluster`` (a positive integer).
    scheduler : str, optional
        Address of a running Dask scheduler, e.g. ``"tcp://10.0.0.5:8786"``.
    client : dask.distributed.Client, optional
        A client of a running cluster.

    Returns
    -------
    bool
        True when one of the three is given.

    Raises
    ------
    ValueError
        When more than one is given, or ``workers`` is not a positive integer (the
        message names the option).
    """
    given = [name for name, x in (("workers", workers), ("scheduler", scheduler), ("client", client)) if x is not None]
    if len(given) > 1:
        raise ValueError(f"{given[1]}: give one of workers, scheduler or client, not {' and '.join(given)}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers: a positive number of worker processes, got {workers!r}")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler):
        raise ValueError(f"scheduler: the address of a Dask scheduler (e.g. tcp://host:8786), got {scheduler!r}")
    return bool(given)


def _batches(n: int, size: int) -> list[range]:
    return [range(start, min(start + size, n)) for start in range(0, n, size)]


def map_points(
    function: Callable[[list], Sequence],
    points: Sequence,
    *,
    batch: int | Callable[[int, int | None], int] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    on_result: Callable[[int, Any, Any], None] | None = None,
    on_error: Callable[[int, BaseException], Any] | None = None,
    progress: Any = None,
    name: str = "dgnsim",
) -> list:
    """Run ``function`` over ``points`` in contiguous batches; the results in point order.

    Parameters
    ----------
    function : callable
        ``function(batch)``, ``batch`` a list of consecutive points, returns a sequence of
        as many results. On a cluster it must be picklable (a module-level function, or a
        ``functools.partial`` of one) and so must the points and the results.
    points : sequence
        The points, each a picklable value.
    batch : int or callable, optional
        Points per batch (each batch is one Dask task). A callable gets ``(number of
        points, number of workers)`` (``None`` workers in this process) and returns it.
        Default: one batch per worker (in this process: one batch of all points).
    workers : int, optional
        Run on an embedded ``LocalCluster`` of this many processes, one thread each,
        closed at the end.
    scheduler : str, optional
        Run on the cluster of the Dask scheduler at this address.
    client : dask.distributed.Client, optional
        Run on this client's cluster (left open).
    on_result : callable, optional
        ``on_result(index, result, client)`` in this process as each point's result
        arrives (``client`` is None in this process), e.g. to write it to a store.
    on_error : callable, optional
        ``on_error(index, exception)`` returns the result of a point whose batch raised
        (or whose workers kept dying); by default the exception propagates.
    progress : object, optional
        A progress bar (anything with ``update(n)``, e.g. tqdm), advanced by one per point.
    name : str
        Prefix of the Dask task keys (seen on the dashboard).

    Returns
    -------
    list
        One result per point, in the order of ``points``.

    Raises
    ------
    ValueError
        When the options are inconsistent (:func:`cluster_options`), ``batch`` is not a
        positive integer, or ``function`` returns the wrong number of results.
    """
    distributed = cluster_options(workers, scheduler, client)
    points = list(points)
    results: list = [None] * len(points)

    def size_of(n_workers: int | None) -> int:
        if batch is None:
            size = math.ceil(len(points) / (n_workers or 1))
        else:
            size = batch(len(points), n_workers) if callable(batch) else batch
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"batch: a positive number of points per batch, got {size!r}")
        return size

    def record(index: int, result: Any, dask_client: Any) -> None:
        results[index] = result
        if on_result is not None:
            on_result(index, result, dask_client)
        if progress is not None:
            progress.update(1)

    def deliver(part: range, values: Any, dask_client: Any) -> None:
        values = list(values)
        if len(values) != len(part):
            raise ValueError(f"function: returned {len(values)} results for a batch of {len(part)} points")
        for index, value in zip(part, values, strict=True):
            record(index, value, dask_client)

    def fail(part: range, exc: BaseException, dask_client: Any) -> None:
        if on_error is None:
            raise exc
        for index in part:
            record(index, on_error(index, exc), dask_client)

    if not points:
        return results
    if not distributed:
        for part in _batches(len(points), size_of(None)):
            try:
                values = function([points[k] for k in part])
            except Exception as exc:
                fail(part, exc, None)
            else:
                deliver(part, values, None)
        return results

    require_extra("sweep", "dask", "distributed")
    from dask.distributed import Client, LocalCluster, as_completed

    owned: list = []
    try:
        if client is None:
            if scheduler is not None:
                client = Client(scheduler)
            else:
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
                owned.append(cluster)
                client = Client(cluster)
            owned.append(client)
        n_workers = workers or len(client.scheduler_info(n_workers=-1).get("workers", {})) or 1
        parts = _batches(len(points), size_of(n_workers))
        tag = os.urandom(4).hex()
        tries = [0] * len(parts)

        def submit(k: int):
            tries[k] += 1
            batch_points = [points[i] for i in parts[k]]
            return client.submit(function, batch_points, key=f"{name}-{tag}-{k}-{tries[k]}", pure=False)

        futures = {submit(k): k for k in range(len(parts))}
        pending = as_completed(list(futures))
        try:
            for future in pending:
                k = futures.pop(future)
                try:
                    values = future.result()
                except Exception as exc:
                    if future.status != "error" and tries[k] < TRIES:  # lost with its worker: run it again
                        again = submit(k)
                        futures[again] = k
                        pending.add(again)
                        continue
                    fail(parts[k], exc, client)
                else:
                    deliver(parts[k], values, client)
        except BaseException:
            client.cancel(list(futures))
            raise
    finally:
        for obj in reversed(owned):
            obj.close()
    return results
