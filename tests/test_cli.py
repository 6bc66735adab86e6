"""The command line: models listing, simulate outputs, and clean failures."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from run_cli import in_process, in_subprocess

dgnsim = in_subprocess


def test_models_lists_every_model_with_units():
    res = dgnsim("models", "--json")
    assert res.returncode == 0, res.stderr
    records = {r["name"]: r for r in json.loads(res.stdout)}
    assert {"lif", "dgn", "sdgn", "dgn_activity", "alif", "multiscale", "lnm"} <= set(records)
    assert records["dgn"]["parameters"]["tau_mem"] == {
        "default": 20.0,
        "unit": "ms",
        "scope": "shared",
        "doc": records["dgn"]["parameters"]["tau_mem"]["doc"],
    }
    assert set(records["dgn"]["synapse"]["parameters"]) == {"w", "c"}


@pytest.mark.slow
def test_simulate_writes_consistent_outputs(tmp_path):
    out = tmp_path / "run"
    res = dgnsim(
        "simulate",
        "--model",
        "dgn",
        "--neurons",
        "10",
        "--duration",
        "200ms",
        "--input-rate",
        "30Hz",
        "--w",
        "4mV",
        "--device",
        "numpy",
        "--seed",
        "3",
        "--out",
        str(out),
        "--json",
    )
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    data = np.load(out / "simulation.npz")
    assert summary["spikes"] == len(data["spike_i"]) > 0
    assert data["trace_v"].shape == (3, 2000)
    assert np.all((data["spike_t_s"] >= 0) & (data["spike_t_s"] < 0.2))
    assert (out / "raster.pdf").stat().st_size > 0 and (out / "raster.png").stat().st_size > 0
    # the same seed gives the same spikes
    res2 = in_process(
        "simulate",
        "--model",
        "dgn",
        "--neurons",
        "10",
        "--duration",
        "200ms",
        "--input-rate",
        "30Hz",
        "--w",
        "4mV",
        "--device",
        "numpy",
        "--seed",
        "3",
        "--out",
        str(tmp_path / "again"),
    )
    assert res2.returncode == 0
    np.testing.assert_array_equal(np.load(tmp_path / "again" / "simulation.npz")["spike_i"], data["spike_i"])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "nope"], "unknown model"),
        (["--model", "lif", "--duration", "1"], "bare number"),
        (["--model", "lif", "--input-rate", "20mV"], "input-rate"),
        (["--model", "lif", "--dt", "5ms"], "too coarse"),
        (["--model", "lif", "--c", "0.1"], "no gate conductance"),
    ],
)
def test_simulate_bad_input_fails_cleanly(tmp_path, args, message):
    out = tmp_path / "out"
    res = in_process("simulate", *args, "--device", "numpy", "--out", str(out))
    assert res.returncode == 2
    assert message in res.stderr
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(
    "args, message",
    [
        (["--augment", "warp:3"], "unknown kind 'warp'"),
        (["--augment", "shift:-2"], "shift:N"),
        (["--label-smoothing", "1.5"], "--label-smoothing: must be in [0, 1), got 1.5"),
        (["--model", "nope"], "unknown model"),
        (["--model", "lif", "--reset", "soft"], "has no reset 'soft'"),
        (["--delays", "0,ten"], "--delays: comma-separated numbers in ms"),
        (["--delays", "0,-5"], "each finite and >= 0"),
        (["--delays", "0,2.5"], "whole multiples of dt"),
        (["--delays", "0,5,5"], "must be distinct"),
    ],
)
def test_train_bad_recipe_fails_before_training(tmp_path, args, message):
    out = tmp_path / "run"
    res = in_process(
        "train", *(["--model", "dgn"] if "--model" not in args else []), *args, "--epochs", "1", "--out", str(out)
    )
    assert res.returncode == 2, res.stderr
    assert message in res.stderr
    assert not out.exists()


def test_robustness_bad_delays_fail_before_training(tmp_path):
    out = tmp_path / "table"
    res = in_process(
        "robustness",
        "--models",
        "lif",
        "--recurrent",
        "",
        "--delays",
        "0,1.5",
        "--seeds",
        "1",
        "--epochs",
        "1",
        "--out",
        str(out),
    )
    assert res.returncode == 2, res.stderr
    assert "whole multiples of dt" in res.stderr
    assert not out.exists()


# ---------------------------------------------------------------- bad input against bugs


def _last_error_line(capsys) -> str:
    return capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "args, message",
    [
        (["simulate", "--model", "lif", "--duration=-1s"], "--duration: must be positive (in s, e.g. 1s), got '-1s'"),
        (
            ["simulate", "--model", "lif", "--duration", "1"],
            "--duration: a bare number (1) where a quantity in s is needed; write e.g. 1s",
        ),
        (["simulate", "--model", "lif", "--inputs", "0"], "--inputs: must be an integer >= 1, got 0"),
        (["simulate", "--model", "lif", "--neurons", "0"], "--neurons: must be an integer >= 1, got 0"),
        (
            ["simulate", "--model", "lif", "--input-rate=-5Hz"],
            "--input-rate: must be positive or zero (in Hz), got '-5Hz'",
        ),
        (["simulate", "--model", "lif", "--dt", "0ms"], "--dt: must be positive (in ms, e.g. 1ms), got '0ms'"),
        (["simulate", "--model", "lif", "--noise=-1mV"], "--noise: must be positive or zero (in mV), got '-1mV'"),
        (["simulate", "--model", "dgn", "--c", "abc"], "--c: must be a number, got 'abc'"),
        (["simulate", "--model", "dgn", "--c=-0.1"], "--c: must be >= 0, got '-0.1'"),
        (["train", "--model", "lif", "--hidden", "0"], "--hidden: must be an integer >= 1, got 0"),
        (["train", "--model", "lif", "--epochs", "0"], "--epochs: must be an integer >= 1, got 0"),
        (["train", "--model", "lif", "--batch", "0"], "--batch: must be an integer >= 1, got 0"),
        (["train", "--model", "lif", "--threads", "0"], "--threads: must be an integer >= 1, got 0"),
        (["train", "--model", "lif", "--limit", "0"], "--limit: must be an integer >= 1, got 0"),
        (["train", "--model", "lif", "--lr", "0"], "--lr: must be positive, got 0.0"),
        (["train", "--model", "lif", "--width=-1"], "--width: must be positive (mV), got -1.0"),
        (["train", "--model", "lif", "--dropout", "1"], "--dropout: must be in [0, 1), got 1.0"),
        (
            ["train", "--model", "lif", "--surrogate", "relu"],
            "--surrogate: must be one of fast_sigmoid, gaussian, arctan, got 'relu'",
        ),
        (
            ["robustness", "--models", "", "--recurrent", ""],
            "--models: must be at least one model (with --recurrent), got ''",
        ),
        (
            ["robustness", "--models", "lif", "--recurrent", "", "--epochs", "0"],
            "--epochs: must be an integer >= 1, got 0",
        ),
        (
            ["robustness", "--models", "lif", "--recurrent", "", "--threads", "0"],
            "--threads: must be an integer >= 1, got 0",
        ),
        (
            ["stability", "--model", "lif", "--noise", "1mV", "--dt=-1ms"],
            "--dt: must be positive (in ms, e.g. 1ms), got '-1ms'",
        ),
        (["stability", "--model", "lif", "--noise", "1mV", "--gate", "x"], "--gate: must be a number, got 'x'"),
        (["stability", "check", "--samples", "0"], "--samples: must be an integer >= 1, got 0"),
        (
            ["gating", "--model", "lif", "--analysis", "tau", "--method", "eular"],
            "--method: must be an integration method "
            "(euler, exact, exponential_euler, gsl, gsl_rk2, gsl_rk4, gsl_rk8pd, gsl_rkck, gsl_rkf45, heun, "
            "independent, linear, milstein, rk2, rk4, sequential), got 'eular'",
        ),
        (
            ["evaluate", "nowhere", "--perturb", "fgsm:-0.1"],
            "--perturb 'fgsm:-0.1': must be a strength in [0, 1] "
            "(a fraction of input entries or a probability), got -0.1",
        ),
        (["import", "nowhere", "--sample=-1"], "--sample: must be an index >= 0, got -1"),
    ],
)
def test_bad_option_is_named_in_one_line_before_any_work(tmp_path, capsys, args, message):
    from dgnsim.cli import main

    out = tmp_path / "out"
    out_args = [] if args[0] == "evaluate" else ["--out", str(out)]
    assert main([*args, *out_args]) == 2
    assert _last_error_line(capsys) == f"dgnsim {args[0]}: error: {message}"
    assert not out.exists()


@pytest.mark.parametrize(
    "command",
    [
        ["simulate", "--model", "lif", "--duration", "10ms", "--device", "numpy"],
        ["train", "--model", "lif"],
        ["robustness", "--models", "lif", "--recurrent", ""],
        ["stability", "--model", "lif", "--noise", "1mV"],
        ["gating", "--model", "lif", "--analysis", "tau"],
        ["import", "nowhere"],
    ],
)
def test_unwritable_out_fails_before_any_work(tmp_path, capsys, command):
    from dgnsim.cli import main

    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert main([*command, "--out", str(blocker / "out")]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        f"dgnsim {command[0]}: error: --out: cannot create or write the folder {blocker / 'out'}: Not a directory"
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_read_only_out_fails_before_the_simulation(tmp_path, capsys):
    from dgnsim.cli import main

    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert (
        main(["simulate", "--model", "lif", "--duration", "10ms", "--device", "numpy", "--out", str(locked / "run")])
        == 2
    )
    assert capsys.readouterr().err.strip() == (
        f"dgnsim simulate: error: --out: cannot create or write the folder {locked / 'run'}: Permission denied"
    )


def test_check_writable_leaves_nothing_behind(tmp_path):
    from dgnsim.cli.options import check_writable

    assert check_writable(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "kept").mkdir()
    check_writable(tmp_path / "kept")
    assert list((tmp_path / "kept").iterdir()) == []


@pytest.mark.parametrize("error", [KeyError("v_th"), TypeError("unsupported operand"), AttributeError("x")])
def test_internal_error_is_reported_as_a_bug_with_its_traceback(monkeypatch, capsys, error):
    from dgnsim.cli import main
    from dgnsim.cli.commands import models

    def broken(name):
        raise error

    monkeypatch.setattr(models, "describe", broken)
    assert main(["models", "lif"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "dgnsim models: internal error, a bug in dgnsim (not in your input); please report it "
        "with this traceback:\nTraceback (most recent call last):\n"
    )
    assert err.rstrip().endswith(f"{type(error).__name__}: {error}") and "in broken" in err


@pytest.mark.parametrize(
    "error",
    [
        __import__("dgnsim").ModelError("bad model file"),
        FileNotFoundError("no such folder: x"),
        PermissionError("x: not permitted"),
    ],
)
def test_bad_input_errors_exit_2_in_one_line(monkeypatch, capsys, error):
    from dgnsim.cli import main
    from dgnsim.cli.commands import models

    def refused(name):
        raise error

    monkeypatch.setattr(models, "describe", refused)
    assert main(["models", "lif"]) == 2
    assert capsys.readouterr().err == f"dgnsim models: error: {error}\n"


# ---------------------------------------------------------------- Ctrl-C during training

TRAIN = ["train", "--model", "lif", "--hidden", "16", "--epochs", "4", "--batch", "50", "--limit", "200", "--seed", "3"]


def _expected_interrupt(checkpoint, saved: int, epochs: int = 4) -> str:
    if saved < epochs:
        return (
            f"dgnsim train: interrupted in epoch {saved + 1} of {epochs}; epoch {saved} is saved in {checkpoint}: "
            "run the same command again to resume from it"
        )
    return (
        f"dgnsim train: interrupted while writing the trained network; all {epochs} epochs are saved in "
        f"{checkpoint}: run the same command again to finish"
    )


def _train_and_interrupt(out, ignore_sigint: bool):
    """Start ``dgnsim train``, send SIGINT once epoch 1 is saved; (exit status, stderr, saved epoch)."""
    import signal
    import time

    import torch

    proc = subprocess.Popen(
        [sys.executable, "-m", "dgnsim", *TRAIN, "--out", str(out)],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_sigint else None,
    )
    try:
        while not (out / "checkpoint.pt").exists() and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    return proc.returncode, err, torch.load(out / "checkpoint.pt", weights_only=False)["epoch"]


@pytest.fixture(scope="module")
def fsdd_present():
    from dgnsim.fsdd.data import resolve_data_path

    return resolve_data_path()  # FileNotFoundError, naming where it looked, if FSDD is absent


@pytest.mark.slow
@pytest.mark.parametrize("ignore_sigint", [False, True], ids=["sigint", "sigint_ignored_at_start"])
def test_ctrl_c_in_training_says_what_is_saved_and_resuming_gives_the_same_network(
    tmp_path, fsdd_present, ignore_sigint
):
    """SIGINT ignored at start (a background job): brian2's handler then failed with a TypeError,
    reported as "unsupported operand type(s) for /: 'float' and 'Tensor'" and exit status 2."""
    import torch

    out = tmp_path / "split"
    rc, err, saved = _train_and_interrupt(out, ignore_sigint)
    assert rc == 130, err
    assert err.rstrip().splitlines()[-1] == _expected_interrupt(out / "checkpoint.pt", saved)
    assert "\r" not in err  # stderr is a pipe here: progress comes as plain lines
    assert not (out / "manifest.json").exists()
    if ignore_sigint:
        return
    resumed = dgnsim(*TRAIN, "--out", str(out), "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming from epoch {saved}" in resumed.stderr
    whole = dgnsim(*TRAIN, "--out", str(tmp_path / "whole"), "--json")
    assert whole.returncode == 0, whole.stderr
    assert json.loads(resumed.stdout)["test_accuracy"] == json.loads(whole.stdout)["test_accuracy"]
    a = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=False)
    b = torch.load(out / "checkpoint.pt", weights_only=False)
    assert [h["loss"] for h in a["history"]] == [h["loss"] for h in b["history"]]
    assert a["net"].keys() == b["net"].keys() and all(torch.equal(a["net"][k], b["net"][k]) for k in a["net"])
