"""The robustness table (dgnsim/robustness.py) on tiny networks: aggregation, caching, re-evaluation."""

import json

import numpy as np
import pytest

from dgnsim.fsdd import robustness as rb
from dgnsim.fsdd import train as training


@pytest.fixture
def tiny_train(monkeypatch):
    calls = []

    def train(model, directory, **kw):  # records the calls that train (a finished run is only read back)
        if not (directory / "manifest.json").exists():
            calls.append((model, directory.name))
        return training.train(model, directory, hidden=8, limit=100, batch=50, **kw)

    monkeypatch.setattr(rb, "train", train)
    monkeypatch.setattr(rb, "PERTURBATIONS", {"clean": None, "additive": "additive:0.05", "FGSM": "fgsm:0.001"})
    return calls


@pytest.mark.slow
def test_table_is_the_seed_statistics_and_runs_are_reused(tmp_path, tiny_train, monkeypatch):
    report = rb.robustness([("lif", False)], 2, tmp_path, epochs=1, progress=False)
    assert [c[1] for c in tiny_train] == ["seed0", "seed1"]
    per_seed = [
        json.loads((tmp_path / "runs" / "lif" / f"seed{s}" / "eval.json").read_text())["accuracy"] for s in range(2)
    ]
    values = 100 * np.array([[a["clean"], a["additive:0.05"], a["fgsm:0.001"]] for a in per_seed])
    row = report["table"]["lif"]
    np.testing.assert_allclose(row["mean"], values.mean(axis=0))
    np.testing.assert_allclose(row["std"], values.std(axis=0))
    assert row["seeds"] == 2 and report["columns"] == ["clean", "additive", "FGSM"]
    assert "| lif |" in (tmp_path / "robustness.md").read_text()
    assert (tmp_path / "robustness.csv").read_text().splitlines()[0].startswith("model,seeds,clean_mean")

    # a second call trains nothing; new strengths are evaluated again on the same networks
    monkeypatch.setattr(rb, "PERTURBATIONS", {"clean": None, "subtractive": "subtractive:0.5"})
    weights = sorted((tmp_path / "runs").glob("lif/seed*/model.safetensors"))
    written = [w.stat().st_mtime_ns for w in weights]
    again = rb.robustness([("lif", False)], 2, tmp_path, epochs=1, progress=False)
    assert len(tiny_train) == 2 and [w.stat().st_mtime_ns for w in weights] == written
    assert again["columns"] == ["clean", "subtractive"]
    assert again["table"]["lif"]["mean"][0] == pytest.approx(row["mean"][0])


def test_delayed_rows_are_named_and_trained_with_their_delays(tmp_path, tiny_train):
    report = rb.robustness([("dgn", False)], 1, tmp_path, epochs=1, progress=False, delays=(0, 5))
    assert list(report["table"]) == ["dgn_dl0-5"]
    manifest = json.loads((tmp_path / "runs" / "dgn_dl0-5" / "seed0" / "manifest.json").read_text())
    assert manifest["training"]["delays"] == [0.0, 5.0]
    assert rb.run_name("lif", True) == "lif_rec" and rb.run_name("lif", False, (0,)) == "lif"


# ----------------------------------------------------------------------------- curves
from dgnsim.fsdd import curves as cv  # noqa: E402


def test_crossing_is_the_linear_interpolation_of_the_first_fall():
    assert cv.crossing([0, 0.1, 0.2, 0.3], [0.9, 0.7, 0.3, 0.6]) == pytest.approx(0.15)
    assert cv.crossing([0, 0.1], [0.9, 0.6]) is None
    assert cv.crossing([0.0, 0.001, 0.004], [0.9, 0.8, 0.2], log=True) == pytest.approx(0.001 * 4**0.5)
    budgets = cv.attack_budgets()
    assert budgets[0] == 0 and budgets[1] == cv.ATTACK_START and budgets[-1] == pytest.approx(cv.ATTACK_MAX)
    assert np.allclose(np.diff(np.log(budgets[1:])), np.log(cv.ATTACK_FACTOR))


@pytest.mark.slow
def test_curves_follow_their_protocol_are_cached_and_survive_an_interruption(tmp_path, tiny_train, monkeypatch):
    """Two seeds of a tiny LIF network: strength 0 is the clean accuracy; the attack budgets grow
    until the mean falls below the floor and stop there; mean/std are the seeds' statistics; an
    interruption keeps what was evaluated; a repeated run evaluates nothing."""
    monkeypatch.setattr(cv, "NOISE_GRIDS", {"additive": [0.0, 0.05, 0.3]})
    monkeypatch.setattr(cv, "ATTACKS", ("fgsm",))
    monkeypatch.setattr(cv, "ATTACK_START", 0.0005)
    report = rb.robustness([("lif", False)], 2, tmp_path, epochs=1, progress=False)
    floor = 0.6 * report["table"]["lif"]["mean"][0] / 100  # below the clean accuracy of these tiny networks
    monkeypatch.setattr(cv, "ATTACK_FLOOR", floor)
    runs = {"lif": [(tmp_path / "runs" / "lif" / f"seed{s}", s) for s in range(2)]}

    calls = []
    real = cv.evaluate

    def counting(*args):
        calls.append(args[3])
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(cv, "evaluate", counting)
    with pytest.raises(KeyboardInterrupt):
        cv.robustness_curves(runs, tmp_path, progress=False)
    assert not (tmp_path / "robustness_curves.json").exists()  # nothing half-written
    kept = sum(
        len(v)
        for cache in (tmp_path / "runs").glob(f"lif/seed*/{cv.CACHE}")
        for v in json.loads(cache.read_text()).values()
    )
    assert kept == 3  # the three evaluations before the interruption

    curves = cv.robustness_curves(runs, tmp_path, progress=False)["rows"]["lif"]["curves"]
    clean = [json.loads((d / "eval.json").read_text())["accuracy"]["clean"] for d, _ in runs["lif"]]
    for kind in ("additive", "fgsm"):
        per_seed = np.array(curves[kind]["per_seed"])
        np.testing.assert_allclose(per_seed[:, 0], clean)  # strength 0: the clean accuracy
        np.testing.assert_allclose(curves[kind]["mean"], per_seed.mean(axis=0))
        np.testing.assert_allclose(curves[kind]["std"], per_seed.std(axis=0))
    mean = curves["fgsm"]["mean"]
    assert curves["fgsm"]["strength"][1] == 0.0005
    assert (
        len(mean) >= 2
        and all(m >= floor for m in mean[:-1])
        and (mean[-1] < floor or curves["fgsm"]["strength"][-1] == cv.ATTACK_MAX)
    )
    assert report["table"]["lif"]["seeds"] == 2

    evaluated = len(calls)
    again = cv.robustness_curves(runs, tmp_path, progress=False)
    assert len(calls) == evaluated  # everything read back
    md = (tmp_path / "robustness_curves.md").read_text()
    assert "| lif (n=2) |" in md
    assert (tmp_path / "robustness_curves.csv").read_text().count("\nlif,additive,") == 3
    assert again["rows"]["lif"]["curves"]["fgsm"]["half_strength"] == cv.crossing(
        curves["fgsm"]["strength"], mean, log=True
    )
