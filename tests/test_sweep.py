"""dgnsim.sweep: a grid on a real LocalCluster equals a serial run point for point; resume,
re-run, failed points, a killed worker; bad specs are refused before anything is built."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("dask.distributed")
pytest.importorskip("xarray")
pytest.importorskip("zarr")

from brian2 import mV, second

from dgnsim import Simulation
from dgnsim.sweep import open_sweep, parse_spec, run_point, run_sweep
from dgnsim.sweep.engine import build_network

# Every standalone test varies c and tau_mem of one network: they share one binary.
BASE = dict(
    model="dgn",
    neurons=20,
    duration="200 ms",
    device="cpp_standalone",
    seed=3,
    input=dict(sources=60, rate="40 Hz", p=0.3),
    synapse=dict(w="8 mV"),
    measure=dict(quantities=["rate", "v_mean", "cv_isi"]),
)


def spec_of(**grid):
    return parse_spec({**BASE, "grid": grid})


@pytest.fixture(scope="module")
def client():
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with Client(cluster) as c:
        yield c
    cluster.close()


def reference(spec, point):
    """The point built on its own (values set at construction) on the numpy runtime, reduced here."""
    with Simulation("numpy", dt=spec.dt, seed=spec.seed, namespace={}) as sim:
        objects = build_network(spec, point)
        sim.add(*objects.values())
        sim.build(spec.duration)
        sim.run()
        i, t = np.asarray(objects["spikes"].i[:]), np.asarray(objects["spikes"].t[:] / second)
        v = np.asarray(objects["states"].v[:] / mV)
    cvs = [np.std(d) / np.mean(d) for d in (np.diff(np.sort(t[i == n])) for n in np.unique(i)) if len(d) >= 2]
    return {
        "rate": len(i) / (spec.neurons * float(spec.duration)),
        "v_mean": float(v.mean()),
        "cv_isi": float(np.mean(cvs)) if cvs else np.nan,
    }


@pytest.mark.standalone
@pytest.mark.slow
def test_grid_equals_serial_runs_resumes_and_reruns_nothing(client, tmp_path):
    spec = spec_of(c=[0.0, 0.05], tau_mem=["15 ms", "25 ms"])
    out = tmp_path / "grid.zarr"
    first = run_sweep(spec, out, client=client, limit=2, progress=False)  # an interrupted sweep
    assert (first.ran, first.skipped) == (2, 0)
    assert (open_sweep(out).status.values.ravel() == [1, 1, 0, 0]).all()
    resumed = run_sweep(spec, out, client=client, progress=False)
    assert (resumed.ran, resumed.skipped, resumed.failed) == (2, 2, 0)
    assert run_sweep(spec, out, client=client, progress=False).ran == 0
    ds = open_sweep(out).load()
    assert ds.tau_mem.attrs["units"] == "ms" and ds.rate.attrs["units"] == "Hz"
    for _k, point in enumerate(spec.points):
        where = dict(c=float(point["c"]), tau_mem=float(point["tau_mem"] / (0.001 * second)))
        ref = reference(spec, point)
        assert int(ds.status.sel(where)) == 1, str(ds.message.sel(where).values)
        for name, value in ref.items():
            assert float(ds[name].sel(where)) == pytest.approx(value, rel=1e-9), (name, where)
    assert len({round(float(x), 6) for x in ds.rate.values.ravel()}) > 1  # the points differ


@pytest.mark.standalone
@pytest.mark.slow
def test_failed_point_is_recorded_and_the_rest_complete(client, tmp_path):
    spec = spec_of(c=[0.0, 50.0], tau_mem=["20 ms"])  # a huge gate: no spikes, cv_isi undefined
    summary = run_sweep(spec, tmp_path / "f.zarr", client=client, progress=False)
    assert (summary.ran, summary.failed, summary.done_total) == (2, 1, 1)
    ds = open_sweep(tmp_path / "f.zarr").load()
    assert ds.status.values.ravel().tolist() == [1, 2]
    assert "cv_isi" in str(ds.message.values.ravel()[1])


def test_a_binary_that_fails_is_a_failed_record(tmp_path):
    from dgnsim.sweep.worker import RunPlan

    plan = RunPlan(
        binary=sys.executable,
        cwd=str(tmp_path),
        arrays={},
        n_neurons=1,
        duration_s=1.0,
        measure=("rate",),
        scratch=str(tmp_path),
    )
    record = run_point(replace(plan, binary="/bin/false"), 0, ())
    assert record["status"] == "failed" and "status 1" in record["message"]
    assert os.listdir(tmp_path) == []  # its results folder is gone


@pytest.mark.standalone
@pytest.mark.slow
def test_a_killed_worker_loses_nothing(client, tmp_path):
    spec = spec_of(c=[0.0, 0.02, 0.04, 0.06, 0.08, 0.1], tau_mem=["15 ms", "20 ms", "25 ms"])
    pids = client.run(os.getpid)
    killed = []

    def kill_one(index, record, dask_client):
        if not killed:
            busy = [w for w, keys in dask_client.processing().items() if keys and w in pids]
            if busy:
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(busy[0])

    summary = run_sweep(spec, tmp_path / "k.zarr", client=client, on_result=kill_one, progress=False)
    assert killed and summary.done_total == summary.points == 18 and summary.failed == 0
    calm = run_sweep(spec, tmp_path / "calm.zarr", client=client, progress=False)
    assert calm.done_total == 18
    a, b = open_sweep(tmp_path / "k.zarr").load(), open_sweep(tmp_path / "calm.zarr").load()
    np.testing.assert_array_equal(a.rate.values, b.rate.values)
    np.testing.assert_array_equal(a.v_mean.values, b.v_mean.values)


@pytest.mark.parametrize(
    "change, key",
    [
        ({"colour": 1}, "colour"),
        ({"model": "no_such_model"}, "model"),
        ({"grid": {"tau_nope": ["1 ms"]}}, "grid.tau_nope"),
        ({"grid": {"tau_mem": [15]}}, "grid.tau_mem[0]"),
        ({"duration": "-1 ms"}, "duration"),
        ({"grid": {}}, "grid"),
        ({"measure": {"quantities": ["power"]}}, "measure.quantities"),
        ({"input": {"rate": 30}}, "input.rate"),
        ({"grid": {"c": [0.1], "input_rate": ["3 Hz"]}}, "grid.input_rate"),
    ],
)
def test_bad_specs_are_refused_naming_the_key(change, key):
    raw = {**BASE, "grid": {"c": [0.1]}, **change}
    with pytest.raises(ValueError, match=rf"^{key.replace('[', '\\[').replace(']', '\\]')}:"):
        parse_spec(raw)


@pytest.mark.slow
def test_cli_bad_spec_exits_2(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('model = "dgn"\nduration = "-5 ms"\n[grid]\nc = [0.1]\n')
    proc = subprocess.run(
        [sys.executable, "-m", "dgnsim", "sweep", str(spec), "--out", str(tmp_path / "o.zarr")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "duration" in proc.stderr
    assert not (tmp_path / "o.zarr").exists()


def test_a_store_of_another_spec_is_refused(tmp_path):
    from dgnsim.sweep import SweepStore

    SweepStore(tmp_path / "s.zarr", spec_of(c=[0.0]))
    with pytest.raises(ValueError, match="--out: .*another spec"):
        SweepStore(tmp_path / "s.zarr", spec_of(c=[0.1]))
