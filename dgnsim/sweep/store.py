"""The Zarr store of a sweep: one xarray Dataset, written point by point as points finish.

Layout: the grid parameters are the dimensions and coordinates (a list of points: one
dimension ``point``, the parameters as coordinates along it), in their model units
(``units`` attribute); one float variable per measured quantity (``units``); ``status``
per point (0 pending, 1 done, 2 failed; CF ``flag_values``/``flag_meanings``), the failure
``message`` and ``run_s``. Finished points are kept in memory and written together
(:meth:`SweepStore.flush`: every :data:`FLUSH_POINTS` points or :data:`FLUSH_S` seconds,
and when the sweep ends or is interrupted), a chunk at a time (up to :data:`CHUNK_POINTS`
points along the first dimension); Zarr replaces each chunk file atomically and the
status is written last, so a point counts as done only once its values are on disk, and
what was flushed is never lost: a killed sweep loses at most its unflushed points, which
the next run runs again. The store is created in a scratch folder and renamed into place,
and records the spec and its digest: it is never resumed by another spec.
"""

from __future__ import annotations

import math
import os
import shutil
import time
import uuid
from pathlib import Path

import numpy as np

from dgnsim.core.extras import require_extra
from dgnsim.sweep.spec import MEASURES, SweepSpec

__all__ = ["DONE", "FAILED", "PENDING", "SweepStore", "open_sweep"]

PENDING, DONE, FAILED = 0, 1, 2
STATUS = {"done": DONE, "failed": FAILED}
MESSAGE_CHARS = 400
#: A flush writes the finished points at least this often (seconds) ...
FLUSH_S = 1.0
#: ... or when this many are waiting.
FLUSH_POINTS = 64
#: Most points in one chunk of the store (the chunks split the first dimension).
CHUNK_POINTS = 4096


def _dataset(spec: SweepSpec):
    require_extra("sweep", "xarray", "zarr")
    import xarray as xr

    shape, dims = spec.shape, spec.dims
    coords = {}
    for v in spec.varied:
        numbers = [float(q / v.unit) for q in spec.values[v.name]]
        coords[v.name] = ((v.name,) if spec.grid else ("point",), numbers, {"units": v.unit_text, "owner": v.owner})
    if not spec.grid:
        coords["point"] = ("point", np.arange(shape[0]))
    data = {
        name: (dims, np.full(shape, np.nan), {"units": MEASURES[name][0], "long_name": MEASURES[name][1]})
        for name in spec.measure
    }
    data["status"] = (
        dims,
        np.zeros(shape, np.int8),
        {"flag_values": [PENDING, DONE, FAILED], "flag_meanings": "pending done failed"},
    )
    data["message"] = (dims, np.full(shape, "", dtype=f"<U{MESSAGE_CHARS}"), {"long_name": "why the point failed"})
    data["run_s"] = (dims, np.full(shape, np.nan), {"units": "s", "long_name": "wall time of the point on its worker"})
    attrs = {
        "dgnsim_sweep": 1,
        "spec": spec.canonical,
        "spec_digest": spec.digest,
        "model": spec.model.name,
        "device": spec.device,
        "neurons": spec.neurons,
        "duration": str(spec.duration),
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)


class SweepStore:
    """A sweep's Zarr store, opened for writing points (created on first use).

    Parameters
    ----------
    path : str or pathlib.Path
        The store (``DIR.zarr``).
    spec : SweepSpec
        The sweep it holds.

    Raises
    ------
    ValueError
        Naming ``--out``, when ``path`` holds something else, or a store made by another spec.
    """

    def __init__(self, path, spec: SweepSpec):
        require_extra("sweep", "xarray", "zarr")
        import zarr

        self.path = Path(path)
        self.spec = spec
        if not self.path.exists():
            self._create()
        group = zarr.open_group(str(self.path), mode="r+")
        if group.attrs.get("dgnsim_sweep") != 1:
            raise ValueError(f"--out: {self.path} exists and is not a dgnsim sweep store")
        if group.attrs.get("spec_digest") != spec.digest:
            raise ValueError(
                f"--out: {self.path} was made by another spec (digest {group.attrs.get('spec_digest')}, "
                f"this spec {spec.digest}); give a new --out, or the spec it was made with"
            )
        self._group = group
        self._names = [*spec.measure, "message", "run_s", "status"]  # status last
        self._data = {name: np.asarray(group[name][...]) for name in self._names}
        self._dirty: set[int] = set()  # rows (first-dimension indices) with kept points
        self._kept = 0
        self._flushed = time.monotonic()

    def _create(self) -> None:
        scratch = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}")
        ds = _dataset(self.spec)
        shape = self.spec.shape
        inner = math.prod(shape[1:])
        chunks = (max(1, min(shape[0], CHUNK_POINTS // max(inner, 1))), *shape[1:])
        try:
            ds.to_zarr(
                str(scratch),
                mode="w-",
                consolidated=False,
                encoding={name: {"chunks": chunks} for name in ds.data_vars},
            )
            os.rename(scratch, self.path)  # atomic; fails if another process created it first
        except OSError:
            if not self.path.exists():
                raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def status(self) -> np.ndarray:
        """The status of every point, flat (C order over the grid's dimensions), written or not.

        Returns
        -------
        numpy.ndarray
            int8 codes: 0 pending, 1 done, 2 failed.
        """
        return self._data["status"].reshape(-1).copy()

    def write(self, index: int, record: dict) -> None:
        """Keep one finished point (a record of :func:`dgnsim.sweep.worker.run_point`) for the next flush.

        Flushes when :data:`FLUSH_POINTS` points wait or :data:`FLUSH_S` seconds have passed.

        Parameters
        ----------
        index : int
            The point's flat index (C order over the grid's dimensions).
        record : dict
            Its ``status`` ("done" or "failed"), ``message``, ``values`` and ``run_s``.
        """
        where = np.unravel_index(index, self.spec.shape)
        for name in self.spec.measure:
            self._data[name][where] = record["values"].get(name, np.nan)
        self._data["message"][where] = record["message"][:MESSAGE_CHARS]
        self._data["run_s"][where] = record.get("run_s", np.nan)
        self._data["status"][where] = STATUS[record["status"]]
        self._dirty.add(int(where[0]))
        self._kept += 1
        if self._kept >= FLUSH_POINTS or time.monotonic() - self._flushed >= FLUSH_S:
            self.flush()

    def flush(self) -> None:
        """Write the kept points: each chunk that holds one, whole, array by array, status last."""
        if self._dirty:
            size = self._group["status"].chunks[0]
            starts = sorted({row // size * size for row in self._dirty})
            for name in self._names:
                array = self._group[name]
                for start in starts:
                    array[start : start + size] = self._data[name][start : start + size]
            self._dirty.clear()
            self._kept = 0
        self._flushed = time.monotonic()


def open_sweep(path):
    """The sweep at ``path`` as an xarray Dataset (lazy; ``.load()`` reads it).

    Parameters
    ----------
    path : str or pathlib.Path
        The store.

    Returns
    -------
    xarray.Dataset
        The measured quantities over the grid (or the points), with ``status``, ``message``, ``run_s``.
    """
    require_extra("sweep", "xarray", "zarr")
    import xarray as xr

    return xr.open_zarr(str(path), consolidated=False)
