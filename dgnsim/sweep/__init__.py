"""Parameter sweeps: one built network, many points, run on Dask and written to Zarr as they finish.

:func:`run_sweep` runs a :class:`SweepSpec` (:func:`load_spec` reads one from TOML) into a
Zarr store, which :func:`open_sweep` reads as an xarray Dataset. Other networks use the
same machinery: :func:`standalone_plan` (a built binary and its reduction), :func:`run_arg`
and :func:`run_points` (serially here, or on Dask), as the bridged network's perturbation
studies do (:mod:`dgnsim.interop.study`). Needs the ``sweep`` extra (dask[distributed],
xarray, zarr).
"""

from importlib.util import find_spec

from dgnsim.sweep.engine import (
    SweepSummary,
    build_network,
    check_points,
    run_arg,
    run_points,
    run_sweep,
    standalone_plan,
    unread_variables,
)
from dgnsim.sweep.spec import MEASURES, SweepSpec, load_spec, parse_spec
from dgnsim.sweep.store import SweepStore, open_sweep
from dgnsim.sweep.worker import RunPlan, reduce, run_batch, run_point

# found, not imported: a worker process imports this package to run its points, and needs
# neither xarray nor zarr (the client imports them where it writes and reads the store)
_missing = [name for name in ("dask", "distributed", "xarray", "zarr") if find_spec(name) is None]
if _missing:  # pragma: no cover - exercised without the extra only
    raise ImportError(
        f"dgnsim.sweep needs the 'sweep' extra: pip install 'dgnsim[sweep]' (missing: {', '.join(_missing)})"
    )

__all__ = [
    "MEASURES",
    "RunPlan",
    "SweepSpec",
    "SweepStore",
    "SweepSummary",
    "build_network",
    "check_points",
    "load_spec",
    "open_sweep",
    "parse_spec",
    "reduce",
    "run_arg",
    "run_batch",
    "run_point",
    "run_points",
    "run_sweep",
    "standalone_plan",
    "unread_variables",
]
