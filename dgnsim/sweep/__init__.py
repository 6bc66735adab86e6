"""Parameter sweeps: one built network, many points, run on Dask and written to Zarr as they finish.

:func:`run_sweep` runs a :class:`SweepSpec` (:func:`load_spec` reads one from TOML) into a
Zarr store, which :func:`open_sweep` reads as an xarray Dataset. Other networks use the
same machinery: :func:`standalone_plan` (a built binary and its reduction), :func:`run_arg`
and :func:`run_points` (serially here, or on Dask), as the bridged network's perturbation
studies do (:mod:`dgnsim.interop.study`). Running on Dask and writing the store need the
``sweep`` extra (dask[distributed], xarray, zarr); a build and its points run in this
process (:func:`standalone_plan`, :func:`run_point`, as the bridge uses them) need only
the core install, so importing this package never requires the extra.
"""

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
