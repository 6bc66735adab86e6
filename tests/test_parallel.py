"""The one dispatcher (dgnsim.core.parallel.map_points) and the analyses that use it: through a
real LocalCluster of 2 processes and through an external `dask scheduler` / `dask worker`, the
results equal the serial (in-process) results point for point; the sweep store keeps what it
flushed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from brian2 import Hz, ms, mV

from dgnsim.core.parallel import map_points

pytest.importorskip("dask.distributed")


def _square_batch(offset: int, batch: list) -> list:
    """A picklable batch function whose results name their point and the batch they ran in."""
    return [(x * x + offset, batch[0]) for x in batch]


def _fails_on_three(batch: list) -> list:
    if 3 in batch:
        raise RuntimeError("point 3 is bad")
    return list(batch)


# ------------------------------------------------------------------------------- map_points here
def test_serial_batches_in_point_order_and_callbacks():
    seen, bar = [], type("Bar", (), {"n": 0, "update": lambda self, k: setattr(self, "n", self.n + k)})()
    out = map_points(
        partial(_square_batch, 1), range(7), batch=3, on_result=lambda i, r, c: seen.append((i, c)), progress=bar
    )
    assert [r[0] for r in out] == [x * x + 1 for x in range(7)]
    assert [r[1] for r in out] == [0, 0, 0, 3, 3, 3, 6]  # contiguous batches of 3
    assert seen == [(i, None) for i in range(7)] and bar.n == 7
    assert [r[1] for r in map_points(partial(_square_batch, 0), range(5))] == [0] * 5  # default: one batch here
    assert map_points(partial(_square_batch, 0), [], workers=2) == []  # nothing to run: no cluster started


def test_a_failing_batch_raises_or_is_recorded():
    with pytest.raises(RuntimeError, match="point 3"):
        map_points(_fails_on_three, range(5), batch=2)
    out = map_points(_fails_on_three, range(5), batch=2, on_error=lambda i, exc: f"failed {i}: {exc}")
    assert out == [0, 1, "failed 2: point 3 is bad", "failed 3: point 3 is bad", 4]


@pytest.mark.parametrize(
    "kwargs, option",
    [
        ({"workers": 0}, "workers"),
        ({"workers": 2.0}, "workers"),
        ({"workers": 2, "scheduler": "tcp://x:1"}, "scheduler"),
        ({"scheduler": ""}, "scheduler"),
        ({"batch": 0}, "batch"),
    ],
)
def test_bad_options_are_refused_naming_them(kwargs, option):
    with pytest.raises(ValueError, match=rf"^{option}:"):
        map_points(partial(_square_batch, 0), range(3), **kwargs)


# ------------------------------------------------------------------------------- a LocalCluster
@pytest.fixture(scope="module")
def client():
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with Client(cluster) as c:
        yield c
    cluster.close()


@pytest.mark.slow
def test_map_points_on_the_cluster_equals_serial(client):
    serial = map_points(partial(_square_batch, 5), range(11), batch=2)
    assert map_points(partial(_square_batch, 5), range(11), batch=2, client=client) == serial
    spread = map_points(partial(_square_batch, 5), range(11), client=client)  # default: one batch per worker
    assert [r[0] for r in spread] == [r[0] for r in serial]
    assert sorted({r[1] for r in spread}) == [0, 6]
    out = map_points(_fails_on_three, range(5), batch=2, client=client, on_error=lambda i, exc: "failed")
    assert out == [0, 1, "failed", "failed", 4]


def _same(a, b):
    """Two analysis records (dataclasses of arrays and scalars) hold identical values."""
    for name, x in vars(a).items():
        y = getattr(b, name)
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=name)
        else:
            assert x == y or (x != x and y != y), name


@pytest.mark.slow
def test_gating_analyses_on_the_cluster_equal_serial(client):
    from dgnsim.analysis.gating import fi_curve, gate_dynamics, step_response

    step = dict(gates=(0.0, 1.0, 4.0, 9.0), drive=10 * mV)
    _same(step_response("dgn", **step), step_response("dgn", **step, client=client))
    fi = dict(drives=np.array([14.0, 20.0, 30.0]) * mV, gates=(0.0, 1.0), duration=300 * ms)
    serial, spread = fi_curve("lif", **fi), fi_curve("lif", **fi, client=client)
    _same(serial, spread)
    assert np.all(serial.rate_noise_sim > 0)  # the noisy neurons fired: spike trains went both ways
    _same(gate_dynamics("dgn", n_bursts=2), gate_dynamics("dgn", n_bursts=2, client=client))


@pytest.mark.slow
def test_rate_response_on_the_cluster_equals_serial(client):
    from dgnsim.analysis.gating_rate import rate_response

    kw = dict(rates=(0, 50, 100) * Hz, trials=4, period=40 * ms, settle=40 * ms, cycles=1, bootstrap=20)
    _same(rate_response("dgn", **kw), rate_response("dgn", **kw, client=client))


@pytest.mark.slow
def test_monte_carlo_chunks_on_the_cluster_equal_serial(client):
    from dgnsim.analysis.stability import monte_carlo

    params = {"tau_mem": np.array([10.0, 15.0, 20.0, 25.0, 30.0]) * ms, "noise_sigma": 1 * mV, "v_th": 0 * mV}
    kw = dict(trials=6, burn_in=20 * ms, spacing=10 * ms, samples=3)
    serial = monte_carlo("lif", params, chunk=2, **kw)
    spread = monte_carlo("lif", params, chunk=2, client=client, **kw)
    np.testing.assert_array_equal(serial.samples, spread.samples)
    np.testing.assert_array_equal(serial.v_star, spread.v_star)
    np.testing.assert_array_equal(serial.stats.variance, spread.stats.variance)
    assert serial.timings["runs"] == spread.timings["runs"] == 3
    # one chunk of every set is the unchunked Monte-Carlo; chunks draw other noise than one run
    whole = monte_carlo("lif", params, **kw)
    np.testing.assert_array_equal(monte_carlo("lif", params, chunk=5, **kw).samples, whole.samples)
    assert not np.any(serial.samples[2:] == whole.samples[2:])
    with pytest.raises(ValueError, match="^chunk:"):
        monte_carlo("lif", params, client=client, **kw)


# ---------------------------------------------------------------- an external scheduler and workers
@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """`dask scheduler` and `dask worker` (2 processes, 1 thread each) started as subprocesses; the address."""
    dask = Path(sys.executable).with_name("dask")
    folder = tmp_path_factory.mktemp("dask")
    file = folder / "scheduler.json"
    procs = [
        subprocess.Popen(
            [str(dask), "scheduler", "--scheduler-file", str(file), "--port", "0", "--no-dashboard"],
            stdout=subprocess.DEVNULL,
            stderr=open(folder / "scheduler.log", "w"),  # noqa: SIM115 - closed with the process
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(file.read_text())["address"]
        procs.append(
            subprocess.Popen(
                [str(dask), "worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard"],
                stdout=subprocess.DEVNULL,
                stderr=open(folder / "worker.log", "w"),  # noqa: SIM115
                cwd=folder,
            )
        )
        from dask.distributed import Client

        with Client(address) as c:
            c.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.mark.slow
def test_an_analysis_on_an_external_scheduler_equals_serial(scheduler):
    from dgnsim.analysis.gating import step_response

    step = dict(gates=(0.0, 2.0, 9.0), drive=10 * mV)
    _same(step_response("dgn", **step), step_response("dgn", **step, scheduler=scheduler))


@pytest.mark.slow
@pytest.mark.standalone
def test_a_sweep_on_an_external_scheduler_equals_serial_runs(scheduler, tmp_path):
    pytest.importorskip("xarray")
    from test_sweep import BASE, reference

    from dgnsim.sweep import open_sweep, parse_spec, run_sweep

    raw = {**BASE, "grid": {"c": [0.0, 0.05, 0.1], "tau_mem": ["15 ms", "25 ms"]}}
    spec = parse_spec(raw)
    summary = run_sweep(spec, tmp_path / "s.zarr", scheduler=scheduler, progress=False)
    assert (summary.ran, summary.done_total, summary.failed) == (6, 6, 0)
    ds = open_sweep(tmp_path / "s.zarr").load()
    for point in spec.points:
        where = dict(c=float(point["c"]), tau_mem=float(point["tau_mem"] / ms))
        for name, value in reference(spec, point).items():
            assert float(ds[name].sel(where)) == pytest.approx(value, rel=1e-9), (name, where)
    # the command line on the same scheduler writes the same store
    toml = tmp_path / "s.toml"
    toml.write_text(_toml(raw))
    proc = subprocess.run(
        [sys.executable, "-m", "dgnsim", "sweep", str(toml), "--out", str(tmp_path / "cli.zarr"), "--json"]
        + ["--scheduler", scheduler],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["ran"] == 6
    cli = open_sweep(tmp_path / "cli.zarr").load()
    for name in ("rate", "v_mean", "cv_isi", "status"):
        np.testing.assert_array_equal(cli[name].values, ds[name].values)


def _toml(raw: dict) -> str:
    """A flat TOML writer for the sweep spec's two levels (tomllib only reads)."""

    def value(v):
        return json.dumps(v)

    lines = [f"{k} = {value(v)}" for k, v in raw.items() if not isinstance(v, dict)]
    for table, items in raw.items():
        if isinstance(items, dict):
            lines += [f"[{table}]"] + [f"{k} = {value(v)}" for k, v in items.items()]
    return "\n".join(lines) + "\n"


# -------------------------------------------------------------------------- the sweep store's flushes
def test_the_store_keeps_what_it_flushed(tmp_path):
    pytest.importorskip("zarr")
    import zarr
    from test_sweep import BASE

    from dgnsim.sweep import SweepStore, parse_spec

    spec = parse_spec({**BASE, "grid": {"c": [0.0, 0.1, 0.2], "tau_mem": ["15 ms", "25 ms"]}})
    store = SweepStore(tmp_path / "s.zarr", spec)
    done = {"status": "done", "message": "", "values": {"rate": 4.0, "v_mean": -60.0, "cv_isi": 0.5}, "run_s": 0.1}
    store.write(1, done)
    store.write(4, {**done, "status": "failed", "message": "boom"})
    assert store.status().tolist() == [0, 1, 0, 0, 2, 0]  # kept here at once ...
    on_disk = lambda: zarr.open_group(str(tmp_path / "s.zarr"), mode="r")["status"][...].ravel().tolist()  # noqa: E731
    assert on_disk() == [0] * 6  # ... written by the next flush only (a killed sweep reruns them)
    store.flush()
    assert on_disk() == [0, 1, 0, 0, 2, 0]
    again = SweepStore(tmp_path / "s.zarr", spec)  # what was flushed is never lost
    assert again.status().tolist() == [0, 1, 0, 0, 2, 0]
    ds = zarr.open_group(str(tmp_path / "s.zarr"), mode="r")
    assert ds["rate"][0, 1] == 4.0 and ds["message"][2, 0] == "boom" and np.isnan(ds["rate"][0, 0])


# ------------------------------------------------------------------------------------ the commands
@pytest.mark.parametrize(
    "args, message",
    [
        (["stability", "check", "--workers", "2"], "--chunk: give the parameter sets per run"),
        (["stability", "check", "--chunk", "0"], "--chunk: must be an integer >= 1, got 0"),
        (["stability", "--model", "lif", "--noise", "1mV", "--chunk", "2"], "--chunk, --workers and --scheduler"),
        (["gating", "--model", "dgn", "--analysis", "tau", "--workers", "0"], "--workers: must be an integer >= 1"),
        (
            ["gating", "--model", "dgn", "--analysis", "tau", "--workers", "2", "--scheduler", "tcp://x:1"],
            "--workers: give --workers (a local cluster) or --scheduler",
        ),
    ],
)
def test_bad_cluster_options_are_named(capsys, args, message):
    from dgnsim.cli import main

    assert main(args) == 2
    assert f"dgnsim {args[0]}: error: {message}" in capsys.readouterr().err


@pytest.mark.slow
def test_gating_command_on_an_external_scheduler_prints_the_serial_result(scheduler, capsys):
    from dgnsim.cli import main

    args = ["gating", "--model", "dgn", "--analysis", "tau", "--json"]
    assert main(args) == 0
    serial = json.loads(capsys.readouterr().out)
    assert main([*args, "--scheduler", scheduler]) == 0
    assert json.loads(capsys.readouterr().out) == serial
