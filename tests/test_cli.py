"""The command line: models listing, simulate outputs, and clean failures."""

import json
import subprocess
import sys

import numpy as np
import pytest


def dgnsim(*args, **kw):
    return subprocess.run([sys.executable, "-m", "dgnsim", *args], capture_output=True, text=True, **kw)


def test_models_lists_every_model_with_units():
    res = dgnsim("models", "--json")
    assert res.returncode == 0, res.stderr
    records = {r["name"]: r for r in json.loads(res.stdout)}
    assert {"lif", "dgn", "sdgn", "dgn_activity", "alif", "multiscale", "lnm"} <= set(records)
    assert records["dgn"]["parameters"]["tau_mem"] == {
        "default": 20.0, "unit": "ms", "scope": "shared",
        "doc": records["dgn"]["parameters"]["tau_mem"]["doc"]}
    assert set(records["dgn"]["synapse"]["parameters"]) == {"w", "c"}


def test_simulate_writes_consistent_outputs(tmp_path):
    out = tmp_path / "run"
    res = dgnsim("simulate", "--model", "dgn", "--neurons", "10", "--duration", "200ms", "--input-rate", "30Hz",
                 "--w", "4mV", "--device", "numpy", "--seed", "3", "--out", str(out), "--json")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    data = np.load(out / "simulation.npz")
    assert summary["spikes"] == len(data["spike_i"]) > 0
    assert data["trace_v"].shape == (3, 2000)
    assert np.all((data["spike_t_s"] >= 0) & (data["spike_t_s"] < 0.2))
    assert (out / "raster.pdf").stat().st_size > 0 and (out / "raster.png").stat().st_size > 0
    # the same seed gives the same spikes
    res2 = dgnsim("simulate", "--model", "dgn", "--neurons", "10", "--duration", "200ms", "--input-rate", "30Hz",
                  "--w", "4mV", "--device", "numpy", "--seed", "3", "--out", str(tmp_path / "again"))
    assert res2.returncode == 0
    np.testing.assert_array_equal(np.load(tmp_path / "again" / "simulation.npz")["spike_i"], data["spike_i"])


@pytest.mark.parametrize("args, message", [
    (["--model", "nope"], "unknown model"),
    (["--model", "lif", "--duration", "1"], "bare number"),
    (["--model", "lif", "--input-rate", "20mV"], "input-rate"),
    (["--model", "lif", "--dt", "5ms"], "too coarse"),
    (["--model", "lif", "--c", "0.1"], "no gate conductance"),
])
def test_simulate_bad_input_fails_cleanly(tmp_path, args, message):
    out = tmp_path / "out"
    res = dgnsim("simulate", *args, "--device", "numpy", "--out", str(out))
    assert res.returncode == 2
    assert message in res.stderr
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("args, message", [
    (["--augment", "warp:3"], "unknown kind 'warp'"),
    (["--augment", "shift:-2"], "shift:N"),
    (["--label-smoothing", "1.5"], "label_smoothing must be in [0, 1)"),
    (["--model", "nope"], "unknown model"),
    (["--model", "lif", "--reset", "soft"], "has no reset 'soft'"),
    (["--delays", "0,ten"], "--delays: comma-separated numbers in ms"),
    (["--delays", "0,-5"], "each finite and >= 0"),
    (["--delays", "0,2.5"], "whole multiples of dt"),
    (["--delays", "0,5,5"], "must be distinct"),
])
def test_train_bad_recipe_fails_before_training(tmp_path, args, message):
    out = tmp_path / "run"
    res = dgnsim("train", *(["--model", "dgn"] if "--model" not in args else []), *args, "--epochs", "1",
                 "--out", str(out))
    assert res.returncode == 2, res.stderr
    assert message in res.stderr
    assert not out.exists()


def test_robustness_bad_delays_fail_before_training(tmp_path):
    out = tmp_path / "table"
    res = dgnsim("robustness", "--models", "lif", "--recurrent", "", "--delays", "0,1.5", "--seeds", "1",
                 "--epochs", "1", "--out", str(out))
    assert res.returncode == 2, res.stderr
    assert "whole multiples of dt" in res.stderr
    assert not out.exists()
